//! The binary end to end on the C# the header, number and extension checks use: `probe --policy`
//! with `-H` against a real `openssl s_server` that asks for a client certificate, and
//! `inspect --policy` on the same certificates. Everything on loopback; certificates are made at
//! test time; the server is stopped by its pid when the test ends.

use mtls_doctor::pki::{Issued, Spec};
use serde_json::Value;

use crate::peers::s_server;
use crate::util::{bin, run, stderr, stdout, Dir};

/// Who the client says it is (a header read as string[]), which API version (a number parsed from
/// a header), then: a client-authentication EKU, and more than a week left.
const POLICY: &str = r#"<policies>
  <inbound>
    <base />
    <choose>
      <when condition="@(context.Request.Headers["X-Client-Id"][0] != "orders-app" || int.Parse(context.Request.Headers.GetValueOrDefault("X-Api-Version", "0")) < 2)">
        <return-response><set-status code="403" reason="Unknown client" /></return-response>
      </when>
      <when condition="@(!context.Request.Certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Any(e => e.EnhancedKeyUsages.Cast<Oid>().Any(o => o.Value == "1.3.6.1.5.5.7.3.2")) || (context.Request.Certificate.NotAfter - DateTime.UtcNow).TotalDays < 7)">
        <return-response><set-status code="403" reason="Not a client certificate" /></return-response>
      </when>
    </choose>
  </inbound>
</policies>"#;

/// The certificate half only: key usage and basic constraints as a CA check reads them.
const CERT_POLICY: &str = r#"<policies><inbound><choose>
  <when condition="@{
      var ku = context.Request.Certificate.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault();
      if (ku != null &amp;&amp; !ku.KeyUsages.HasFlag(X509KeyUsageFlags.DigitalSignature)) { return true; }
      var bc = context.Request.Certificate.Extensions["2.5.29.19"] as X509BasicConstraintsExtension;
      return bc != null &amp;&amp; bc.CertificateAuthority;
    }">
    <return-response><set-status code="403" reason="Not a client certificate" /></return-response>
  </when>
</choose></inbound></policies>"#;

/// A claim from JSON a header carries (Newtonsoft's JObject.Parse).
const CLAIM_POLICY: &str = r#"<policies><inbound><choose>
  <when condition="@(JObject.Parse(context.Request.Headers.GetValueOrDefault("X-Claims", "{}"))["role"]?.ToString() != "admin")">
    <return-response><set-status code="403" reason="Not an admin" /></return-response>
  </when>
</choose></inbound></policies>"#;

struct World {
    dir: Dir,
    port: u16,
    _server: crate::peers::Peer,
}

fn world() -> World {
    let dir = Dir::new();
    let root = Issued::self_signed(&Spec::ca("Numbers Root")).expect("root");
    let server = root.issue(&Spec::leaf("localhost").sans(&["localhost"]).server_only()).expect("server");
    let client = root.issue(&Spec::leaf("orders").client_only()).expect("client");
    let (scert, skey) = dir.write_issued("server", &server);
    dir.write_issued("client", &client);
    dir.write("root.pem", root.cert_pem());
    dir.write("root-as-client.pem", root.cert_pem());
    dir.write("policy.xml", POLICY);
    dir.write("cert-policy.xml", CERT_POLICY);
    dir.write("claim-policy.xml", CLAIM_POLICY);
    let ca = dir.path("root.pem");
    let ca = ca.to_string_lossy();
    let server = s_server(&scert, &skey, &["-www", "-Verify", "1", "-CAfile", &ca]);
    World { port: server.port, _server: server, dir }
}

/// `probe --policy` with the client certificate and `headers`; the JSON report's policy outcome.
fn probe(w: &World, headers: &[&str]) -> Value {
    probe_with(w, "policy.xml", headers)
}

fn probe_with(w: &World, policy: &str, headers: &[&str]) -> Value {
    let mut cmd = bin();
    cmd.args(["probe", &format!("https://localhost:{}/", w.port)])
        .args(["--resolve", &format!("localhost:{}:127.0.0.1", w.port), "--no-compare", "--timeout", "20"])
        .arg("--ca")
        .arg(w.dir.path("root.pem"))
        .arg("--client-ca")
        .arg(w.dir.path("root.pem"))
        .arg("--cert")
        .arg(w.dir.path("client.pem"))
        .arg("--key")
        .arg(w.dir.path("client.key"))
        .arg("--policy")
        .arg(w.dir.path(policy))
        .args(["--report", "json"]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    let out = run(&mut cmd);
    assert!(matches!(out.status.code(), Some(0..=2)), "probe: {}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("probe JSON");
    crate::report::assert_valid("probe_report", "probe report with --policy and -H", &report);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("tok-secret"), "a header value never appears");
    report["evaluations"][0]["policy"]["outcome"].clone()
}

#[test]
fn probe_evaluates_header_arrays_and_numbers_from_the_request_it_sends() {
    let w = world();
    let ok = probe(&w, &["X-Client-Id: orders-app", "X-Api-Version: 2", "Authorization: Bearer tok-secret"]);
    assert_eq!((ok["status"].as_u64(), ok["determined"].as_bool()), (Some(200), Some(true)), "{ok}");

    // No X-Client-Id: the indexer throws, the gateway answers 500.
    let missing = probe(&w, &["X-Api-Version: 2"]);
    assert_eq!(missing["status"].as_u64(), Some(500), "{missing}");
    let by = missing["decided_by"].as_str().unwrap_or_default();
    assert!(by.contains("KeyNotFoundException: The given key 'X-Client-Id' was not present"), "{by}");

    // An old version: int.Parse gives 1, clause 2 refuses.
    let old = probe(&w, &["X-Client-Id: orders-app", "X-Api-Version: 1"]);
    assert_eq!(old["status"].as_u64(), Some(403), "{old}");
    assert!(old["decided_by"].as_str().unwrap_or_default().contains("clause 2"), "{old}");

    // Not a number: FormatException, without quoting the header's value.
    let bad = probe(&w, &["X-Client-Id: orders-app", "X-Api-Version: two-ish"]);
    assert_eq!(bad["status"].as_u64(), Some(500), "{bad}");
    let by = bad["decided_by"].as_str().unwrap_or_default();
    assert!(by.contains("FormatException: the header's value is not an integer") && !by.contains("two-ish"), "{by}");

    // A comma: how APIM splits it is not documented, and the version clause does not decide.
    let comma = probe(&w, &["X-Client-Id: orders-app, billing", "X-Api-Version: 2"]);
    assert_eq!(comma["determined"].as_bool(), Some(false), "{comma}");
    let why = comma["unevaluable"][0]["why"].as_str().unwrap_or_default();
    assert!(why.contains("contains a comma") && why.contains("not documented"), "{why}");
    // But a decisive later clause still decides: version 1 refuses whatever the split is.
    let decided = probe(&w, &["X-Client-Id: orders-app, billing", "X-Api-Version: 1"]);
    assert_eq!((decided["status"].as_u64(), decided["determined"].as_bool()), (Some(403), Some(true)), "{decided}");

    // A claim in a JSON header.
    let admin = probe_with(&w, "claim-policy.xml", &[r#"X-Claims: {"role":"admin","tier":3}"#]);
    assert_eq!(admin["status"].as_u64(), Some(200), "{admin}");
    let user = probe_with(&w, "claim-policy.xml", &[r#"X-Claims: {"role":"user"}"#]);
    assert_eq!(user["status"].as_u64(), Some(403), "{user}");
    let broken = probe_with(&w, "claim-policy.xml", &["X-Claims: [1]"]);
    assert!(broken["decided_by"].as_str().unwrap_or_default().contains("JsonReaderException"), "{broken}");
}

fn inspect(w: &World, cert: &str, policy: &str) -> String {
    let out = run(bin()
        .arg("inspect")
        .arg(w.dir.path(cert))
        .arg("--client-ca")
        .arg(w.dir.path("root.pem"))
        .arg("--policy")
        .arg(w.dir.path(policy)));
    stdout(&out)
}

#[test]
fn inspect_evaluates_key_usage_and_basic_constraints() {
    let w = world();
    let client = inspect(&w, "client.pem", "cert-policy.xml");
    assert!(client.contains("Answers      200 (passes the inbound policy)"), "{client}");
    // The CA certificate itself, presented as a client: basic constraints CA:TRUE, refused.
    let ca = inspect(&w, "root-as-client.pem", "cert-policy.xml");
    assert!(ca.contains("Answers      403 (the request is refused here)"), "{ca}");
    // Without headers (inspect sends no request) the header clause is unknown, with why.
    let headers = inspect(&w, "client.pem", "policy.xml");
    assert!(headers.contains("cannot be determined"), "{headers}");
    assert!(headers.contains("request headers are not known here"), "{headers}");
}
