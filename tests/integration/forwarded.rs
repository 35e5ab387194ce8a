//! `--forward-cert`: the client certificate in a request header, encoded as a TLS-terminating front
//! end forwards it. nginx is the reference for the percent-encoded PEM (`$ssl_client_escaped_cert`,
//! which Application Gateway's `{var_client_certificate}` matches): it logs the value it computes
//! from the handshake next to the header the probe sent, and the two must be byte for byte the
//! same; curl sending that value gets the same log line. The policy is evaluated on the header.

use base64::Engine as _;

use crate::peers::{nginx, nginx_binary};
use crate::probe_peers::Material;
use crate::util::{bin, run, stdout, Dir};

/// nginx terminating mTLS (any client certificate, as a front end that leaves the judging to the
/// gateway) and logging what it computed beside what it received.
fn logging_site(m: &Material, log: &std::path::Path) -> String {
    format!(
        "log_format fwd escape=none '$ssl_client_escaped_cert|$http_x_client_cert|$http_x_arr_clientcert';\n\
         server {{\n listen 127.0.0.1:{{PORT}} ssl;\n ssl_protocols TLSv1.2 TLSv1.3;\n ssl_certificate {d}/server.pem;\n \
         ssl_certificate_key {d}/server.key;\n ssl_client_certificate {d}/client-ca.pem;\n ssl_verify_client optional_no_ca;\n \
         access_log {log} fwd;\n location / {{ return 200 \"ok\\n\"; }}\n}}\n",
        d = m.dir.tmp.path().display(),
        log = log.display()
    )
}

/// The guard a policy behind Application Gateway or nginx uses: URL-decode, drop the PEM markers,
/// base64-decode, then check the chain and the thumbprint.
fn escaped_pem_policy(header: &str, thumbprint: &str) -> String {
    format!(
        r#"<policies><inbound><choose>
  <when condition="@{{
      var h = context.Request.Headers.GetValueOrDefault(&quot;{header}&quot;, &quot;&quot;);
      if (string.IsNullOrWhiteSpace(h)) {{ return true; }}
      var pem = System.Net.WebUtility.UrlDecode(h).Replace(&quot;-----BEGIN CERTIFICATE-----&quot;, &quot;&quot;).Replace(&quot;-----END CERTIFICATE-----&quot;, &quot;&quot;);
      var cert = new X509Certificate2(Convert.FromBase64String(pem));
      return !cert.VerifyNoRevocation() || cert.Thumbprint != &quot;{thumbprint}&quot;;
  }}">
    <return-response><set-status code="403" reason="Invalid client certificate" /></return-response>
  </when>
</choose></inbound></policies>"#
    )
}

/// The App Service shape: the header is base64 of the DER.
fn base64_der_policy(header: &str, thumbprint: &str) -> String {
    format!(
        r#"<policies><inbound><choose>
  <when condition="@{{
      var h = context.Request.Headers.GetValueOrDefault(&quot;{header}&quot;, &quot;&quot;);
      if (string.IsNullOrEmpty(h)) {{ return true; }}
      var cert = new X509Certificate2(Convert.FromBase64String(h));
      return !cert.VerifyNoRevocation() || cert.Thumbprint != &quot;{thumbprint}&quot;;
  }}">
    <return-response><set-status code="403" reason="Invalid client certificate" /></return-response>
  </when>
</choose></inbound></policies>"#
    )
}

fn probe_json(port: u16, m: &Material, policy: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let d = m.dir.tmp.path();
    let url = format!("https://localhost:{port}/");
    let mut cmd = bin();
    cmd.args(["probe", &url, "--resolve", &format!("localhost:{port}:127.0.0.1")])
        .arg("--cert")
        .arg(d.join("fwd-client.pem"))
        .arg("--key")
        .arg(d.join("fwd-client.key"))
        .arg("--ca")
        .arg(d.join("server-root.pem"))
        .arg("--client-ca")
        .arg(d.join("client-ca.pem"))
        .arg("--policy")
        .arg(policy)
        .args(extra)
        .args(["--no-compare", "--timeout", "30", "--report", "json"]);
    let out = run(&mut cmd);
    let text = stdout(&out);
    let report = serde_json::from_str(&text).unwrap_or_else(|e| panic!("probe --report json: {e}\n{text}"));
    crate::report::assert_valid("probe_report", "probe --forward-cert --report json", &report);
    report
}

fn log_lines(log: &std::path::Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines().map(|l| l.split('|').map(str::to_string).collect()).collect()
}

#[test]
fn forwarded_header_is_what_nginx_computes_and_the_policy_reads_it() {
    assert!(nginx_binary().is_some(), "nginx is required for this test: apt-get install -y nginx (.ci/run does this)");
    let m = Material::new();
    m.dir.write_issued("fwd-client", &m.client);
    let ndir = Dir::new();
    let log = ndir.path("fwd.log");
    let peer = nginx(&ndir.path("run"), &logging_site(&m, &log));
    let thumbprint =
        mtls_doctor::cert::Certificate::from_der(m.client.der.clone(), "client").expect("parse").info.thumbprint_sha1;

    // Percent-encoded PEM (nginx, Application Gateway).
    let policy = m.dir.write("escaped.xml", escaped_pem_policy("X-Client-Cert", &thumbprint));
    let report = probe_json(peer.port, &m, &policy, &["--forward-cert", "X-Client-Cert=nginx"]);
    let eval = &report["evaluations"][0];
    assert_eq!(eval["policy"]["outcome"]["status"], 200, "{eval:#}");
    assert_eq!(eval["policy"]["outcome"]["determined"], true, "{eval:#}");
    let calls = eval["policy"]["outcome"]["verify_calls"].as_array().expect("verify calls");
    assert_eq!(calls[0]["forwarded"], "X-Client-Cert", "{calls:?}");
    assert_eq!(eval["forwarded"]["format"], "nginx");
    assert_eq!(eval["forwarded"]["verify"]["verdict"]["ok"], true, "{eval:#}");

    let lines = log_lines(&log);
    let ours = lines.iter().find(|l| l.len() == 3 && l[1] != "-").expect("nginx logged the probe's request").clone();
    assert_eq!(ours[0], ours[1], "the header the probe sent is nginx's own $ssl_client_escaped_cert");
    assert!(ours[1].starts_with("-----BEGIN%20CERTIFICATE-----%0A"), "{}", ours[1]);

    // curl with the same header value and the same certificate: nginx logs the same line.
    let d = m.dir.tmp.path();
    let port = peer.port;
    let out = run(std::process::Command::new("curl")
        .args(["-sS", "--max-time", "30", "--resolve", &format!("localhost:{port}:127.0.0.1")])
        .arg("--cacert")
        .arg(d.join("server-root.pem"))
        .arg("--cert")
        .arg(d.join("fwd-client.pem"))
        .arg("--key")
        .arg(d.join("fwd-client.key"))
        .args(["-H", &format!("X-Client-Cert: {}", ours[1]), &format!("https://localhost:{port}/")]));
    assert_eq!(stdout(&out), "ok\n", "curl reaches nginx");
    let lines = log_lines(&log);
    let curl_line = lines.last().expect("curl's request logged");
    assert_eq!(curl_line, &ours, "curl with the same value: the same line");

    // The same policy on the base64 format: WebUtility.UrlDecode turns each + into a space and the
    // decoded bytes are not the certificate, which the evaluator says instead of passing it.
    let report = probe_json(peer.port, &m, &policy, &["--forward-cert", "X-Client-Cert=arr"]);
    let outcome = &report["evaluations"][0]["policy"]["outcome"];
    let der_b64 = base64::engine::general_purpose::STANDARD.encode(&m.client.der);
    if der_b64.contains('+') {
        assert_ne!(outcome["status"], 200, "{outcome:#}");
    }

    // Base64 DER (App Service X-ARR-ClientCert, the default format).
    let policy = m.dir.write("arr.xml", base64_der_policy("X-ARR-ClientCert", &thumbprint));
    let report = probe_json(peer.port, &m, &policy, &["--forward-cert", "X-ARR-ClientCert"]);
    assert_eq!(report["evaluations"][0]["policy"]["outcome"]["status"], 200, "{report:#}");
    let lines = log_lines(&log);
    let arr = lines.last().expect("logged");
    assert_eq!(arr[2], der_b64, "base64 of the DER, one line");

    // The same value given with -H (no --forward-cert): the certificate in it is recognised and
    // judged, so Verify() on what the policy builds is known too.
    let header = format!("X-ARR-ClientCert: {der_b64}");
    let report = probe_json(peer.port, &m, &policy, &["-H", &header]);
    let eval = &report["evaluations"][0];
    assert_eq!(eval["policy"]["outcome"]["status"], 200, "{eval:#}");
    assert_eq!(eval["forwarded"]["header"], "X-ARR-ClientCert", "{eval:#}");
    assert_eq!(eval["policy"]["outcome"]["verify_calls"][0]["forwarded"], "X-ARR-ClientCert");
    let lines = log_lines(&log);
    assert_eq!(lines.last().expect("logged")[2], der_b64, "sent once, as given");
}

/// `Verify()` on a certificate the policy builds from the header, as the one the gateway would get
/// from App Service or Application Gateway: it needs the CA (root.pem) uploaded and the CRL the
/// certificate names (served on loopback).
const VERIFY_FORWARDED: &str = r#"<policies><inbound><choose>
  <when condition="@{
      var h = context.Request.Headers.GetValueOrDefault(&quot;X-ARR-ClientCert&quot;, &quot;&quot;);
      if (string.IsNullOrEmpty(h)) { return true; }
      return !new X509Certificate2(Convert.FromBase64String(h)).Verify();
  }">
    <return-response><set-status code="403" reason="Invalid client certificate" /></return-response>
  </when>
</choose></inbound></policies>"#;

/// `inspect LEAF --forward-cert X-ARR-ClientCert --client-ca root.pem --policy …`: text and JSON.
fn inspect_forwarded(
    w: &crate::revocation::World,
    name: &str,
    leaf_pem: &str,
    policy: &std::path::Path,
    offline: bool,
) -> (String, serde_json::Value) {
    let leaf = w.dir.write(&format!("{name}.pem"), leaf_pem);
    let root = w.dir.path("root.pem");
    let go = |json: bool| {
        let mut cmd = bin();
        cmd.arg("inspect").arg(&leaf).arg("--client-ca").arg(&root).arg("--policy").arg(policy);
        cmd.args(["--forward-cert", "X-ARR-ClientCert"]);
        if offline {
            cmd.arg("--offline");
        }
        if json {
            cmd.args(["--report", "json"]);
        }
        stdout(&run(&mut cmd))
    };
    let text = go(false);
    let json = go(true);
    let report = serde_json::from_str(&json).unwrap_or_else(|e| panic!("inspect --report json: {e}\n{json}"));
    crate::report::assert_valid("inspect_report", "inspect --forward-cert --report json", &report);
    (text, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_on_a_forwarded_certificate_fetches_its_crl_like_a_presented_one() {
    use crate::revocation::{issued, params, self_signed, with_urls};
    let w = crate::revocation::world().await;
    let url = w.server.url("/root.crl");
    let good = issued(with_urls(params("forwarded good", 0x01, false), Some(&url), None), &w.root);
    let revoked = issued(with_urls(params("forwarded revoked", 0x02, false), Some(&url), None), &w.root);
    let stranger_root = self_signed(params("Stranger Root", 0x01, true));
    let untrusted = issued(with_urls(params("forwarded untrusted", 0x03, false), Some(&url), None), &stranger_root);
    let policy = w.dir.write("verify-forwarded.xml", VERIFY_FORWARDED);
    let w = std::sync::Arc::new(w);
    let (w2, p2) = (w.clone(), policy.clone());
    let pems = [good.pem(), revoked.pem(), untrusted.pem()];
    let runs = tokio::task::spawn_blocking(move || {
        [
            inspect_forwarded(&w2, "good", &pems[0], &p2, false),
            inspect_forwarded(&w2, "revoked", &pems[1], &p2, false),
            inspect_forwarded(&w2, "untrusted", &pems[2], &p2, false),
            inspect_forwarded(&w2, "good-offline", &pems[0], &p2, true),
        ]
    })
    .await
    .expect("cli runs");
    let [(good_text, good_json), (revoked_text, revoked_json), (untrusted_text, untrusted_json), (offline_text, offline_json)] =
        runs;
    if std::env::var_os("SHOW_CLI").is_some() {
        eprintln!("{good_text}\n----\n{revoked_text}\n----\n{untrusted_text}\n----\n{offline_text}");
    }
    let status = |j: &serde_json::Value| j["policy"]["outcome"]["status"].clone();

    // Good: the chain builds to the uploaded root, the CRL is fetched and does not list it.
    assert_eq!(status(&good_json), 200, "{good_text}");
    assert_eq!(good_json["forwarded"]["verify"]["revocation_answer"]["answer"], "passes", "{good_json:#}");
    assert_eq!(good_json["policy"]["outcome"]["verify_calls"][0]["forwarded"], "X-ARR-ClientCert");
    assert!(good_text.contains("Forwarded in X-ARR-ClientCert (arr)"), "{good_text}");
    assert!(good_text.contains(&format!("Revocation 0 CRL {url}: good")), "{good_text}");

    // Revoked: listed in that CRL, Verify() false, the 403 says why.
    assert_eq!(status(&revoked_json), 403, "{revoked_text}");
    assert_eq!(revoked_json["forwarded"]["verify"]["revocation_answer"]["answer"], "revoked", "{revoked_json:#}");
    assert!(revoked_json["policy"]["outcome"]["verify_calls"][0]["revocation"]
        .as_str()
        .is_some_and(|r| r.contains("revoked")));
    let findings = revoked_json["findings"].as_array().expect("findings");
    let revocation: Vec<&serde_json::Value> =
        findings.iter().filter(|f| f["id"] == "policy-revocation-unknown").collect();
    assert_eq!(revocation.len(), 1, "{findings:#?}");
    let evidence = revocation[0]["evidence"].to_string();
    assert!(evidence.contains("on the certificate forwarded in X-ARR-ClientCert"), "{evidence}");
    assert!(evidence.contains(&url), "what was fetched: {evidence}");

    // Untrusted: no chain to the uploaded root; nothing to fetch, Verify() false.
    assert_eq!(status(&untrusted_json), 403, "{untrusted_text}");
    assert_eq!(untrusted_json["forwarded"]["verify"]["verdict"]["ok"], false, "{untrusted_json:#}");
    assert!(untrusted_json["forwarded"]["verify"]["revocation"].is_null(), "{untrusted_json:#}");

    // A saved session keeps the forwarded certificate and its revocation record, and still loads.
    let session = w.dir.path("forwarded-session.json");
    let out = run(bin()
        .arg("inspect")
        .arg(w.dir.path("good.pem"))
        .arg("--client-ca")
        .arg(w.dir.path("root.pem"))
        .arg("--policy")
        .arg(&policy)
        .args(["--forward-cert", "X-ARR-ClientCert", "--offline", "--save"])
        .arg(&session));
    assert!(session.exists(), "{}", crate::util::stderr(&out));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&session).expect("read session")).expect("session is JSON");
    crate::report::assert_valid("session", "a session saved with --forward-cert", &saved);
    assert_eq!(saved["targets"][0]["material"]["forward_cert"], "X-ARR-ClientCert");
    assert_eq!(saved["targets"][0]["forwarded"]["header"], "X-ARR-ClientCert");
    let replayed = stdout(&run(bin().arg("open").arg(&session).args(["--report", "text"])));
    assert!(replayed.contains("Forwarded in X-ARR-ClientCert (arr)"), "{replayed}");
    let markdown = stdout(&run(bin().arg("open").arg(&session).args(["--report", "markdown"])));
    assert!(markdown.contains("- Forwarded in `X-ARR-ClientCert` (arr): `"), "{markdown}");

    // --offline: nothing fetched, and the answer is not guessed.
    assert_eq!(offline_json["policy"]["outcome"]["determined"], false, "{offline_text}");
    assert!(offline_text.contains("not fetched (--offline)"), "{offline_text}");

    // Two inspect runs (text, JSON) of three online certificates that name the CRL, one CRL fetch
    // each for those whose chain builds (good, revoked): the presented and the forwarded check
    // share the run's cache.
    assert_eq!(w.server.routes.hits.load(std::sync::atomic::Ordering::SeqCst), 4);
}

/// A policy that prefers the handshake's certificate and falls back to the header.
const EITHER: &str = r#"<policies><inbound><choose>
  <when condition="@{
      var cert = context.Request.Certificate;
      if (cert == null) {
          var h = context.Request.Headers.GetValueOrDefault(&quot;X-ARR-ClientCert&quot;, &quot;&quot;);
          if (string.IsNullOrEmpty(h)) { return true; }
          cert = new X509Certificate2(Convert.FromBase64String(h));
      }
      return !cert.VerifyNoRevocation();
  }">
    <return-response><set-status code="403" /></return-response>
  </when>
</choose></inbound></policies>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_with_a_forwarded_certificate_is_the_request_behind_the_front_end() {
    use crate::revocation::{issued, params};
    let w = crate::revocation::world().await;
    let leaf = issued(params("behind the front end", 0x01, false), &w.root);
    let policy = w.dir.write("either.xml", EITHER);
    let pem = leaf.pem();
    let (text, json) = tokio::task::spawn_blocking(move || inspect_forwarded(&w, "behind", &pem, &policy, true))
        .await
        .expect("cli runs");
    let o = &json["policy"]["outcome"];
    assert_eq!(o["status"], 200, "{text}");
    // The handshake carried no certificate (the front end ended TLS): the header branch decided.
    assert_eq!(json["policy"]["certificate"], serde_json::Value::Null, "{json:#}");
    assert_eq!(o["verify_calls"][0]["forwarded"], "X-ARR-ClientCert", "{o:#}");
    assert!(o["notes"].to_string().contains("context.Request.Certificate is null"), "{o:#}");
}

/// HAProxy computes `%[ssl_c_der,base64]` from the handshake: the `arr` format is that text.
#[tokio::test]
async fn the_arr_format_is_what_haproxy_computes_from_the_handshake() {
    use crate::gateways::{haproxy, haproxy_binary, local_opts, Client, GatewayPki};
    use mtls_doctor::material::forward::ForwardFormat;
    assert!(
        haproxy_binary().is_some(),
        "haproxy is required for this test: apt-get install -y haproxy (.ci/run does this)"
    );
    let pki = GatewayPki::new();
    let gw = haproxy(
        &pki,
        "verify optional ca-file {DIR}/client-ca.pem crt-ignore-err all ca-ignore-err all",
        "  http-request return status 200 content-type text/plain lf-string \"%[ssl_c_der,base64]|%[req.hdr(X-ARR-ClientCert)]\"",
    );
    let mut o = local_opts(gw.port);
    let sent = ForwardFormat::Arr.encode(&pki.client.der);
    o.headers.push(mtls_doctor::probe::Header { name: "X-ARR-ClientCert".into(), value: sent.clone() });
    o.compare_without_cert = false;
    let r = mtls_doctor::probe::run_probe(&o, &pki.context(Client::Good)).await;
    let body = r.http.as_ref().map(|h| h.body_preview.clone()).unwrap_or_default();
    let (computed, received) = body.split_once('|').unwrap_or_else(|| panic!("haproxy answered {body:?}"));
    assert_eq!(computed, sent, "HAProxy's ssl_c_der,base64 is the header the probe sends");
    assert_eq!(received, sent);
}
