//! A client that sends only its own certificate, whose issuer sits behind the certificate's
//! authorityInformationAccess caIssuers URL: .NET's `X509Chain` (default policy, downloads allowed)
//! fetches the issuer over http and builds the chain through it. The tool must answer `Verify()` and
//! `VerifyNoRevocation()` as the real runtime does for each way the URL can answer (DER, PEM, PKCS#7
//! certs-only, 404, unreachable, not a certificate, a certificate that is not the issuer, https, two
//! URLs, two missing levels), and with `--offline` say that the answer depends on the fetch.
//! The recorded .NET answers are checked against the tool always, and against the live runtime
//! when it is installed (always in CI).

use std::net::TcpListener;
use std::sync::atomic::Ordering;

use rcgen::{Issuer, KeyPair};

use super::dotnet_oracle::{oracle_present, run_oracle};
use super::dotnet_oracle_verify::{crl, params, root, tool_answers, write_verify_cases, CrlServer, Made};
use crate::util::{bin, openssl, run, stdout, Dir};

/// An authority information access extension with these caIssuers URLs, in order.
fn ca_issuers(urls: &[String]) -> rcgen::CustomExtension {
    let tlv = |tag: u8, content: &[u8]| {
        assert!(content.len() < 0x80);
        [&[tag, content.len() as u8][..], content].concat()
    };
    let method = tlv(0x06, &[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02]);
    let accesses: Vec<u8> =
        urls.iter().flat_map(|u| tlv(0x30, &[method.clone(), tlv(0x86, u.as_bytes())].concat())).collect();
    rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], tlv(0x30, &accesses))
}

fn signed(p: rcgen::CertificateParams, by: &Made) -> Made {
    let key = KeyPair::generate().expect("key");
    let der = p.signed_by(&key, &Issuer::from_params(&by.params, &by.key)).expect("sign").der().to_vec();
    Made { params: p, key, der }
}

/// A CA certificate issued by `by`, its CRL at `crl_url`, optionally with caIssuers URLs.
fn ca(by: &Made, cn: &str, serial: u8, crl_url: &str, aia: &[String]) -> Made {
    let mut p = params(cn, serial, true, Some(crl_url));
    p.use_authority_key_identifier_extension = true;
    if !aia.is_empty() {
        p.custom_extensions.push(ca_issuers(aia));
    }
    signed(p, by)
}

/// PKCS#7 "certs-only" (DER) holding these certificates, in order, made with openssl.
fn certs_only(dir: &Dir, name: &str, certs: &[&Made]) -> Vec<u8> {
    let pem = dir.write(
        &format!("{name}.in.pem"),
        certs.iter().map(|m| mtls_doctor::cert::pem_encode(&m.der)).collect::<String>(),
    );
    let out = dir.path(&format!("{name}.p7c"));
    let (ok, text) = openssl(&[
        "crl2pkcs7",
        "-nocrl",
        "-certfile",
        pem.to_str().expect("utf-8 path"),
        "-outform",
        "DER",
        "-out",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(ok, "openssl crl2pkcs7: {text}");
    std::fs::read(out).expect("read p7c")
}

/// The tool's JSON report for the leaf `name` alone (written by `tool_answers`), with `extra` args.
fn tool_doc(dir: &Dir, name: &str, extra: &[&str]) -> serde_json::Value {
    let o = run(bin()
        .arg("inspect")
        .arg(dir.path(&format!("{name}.pem")))
        .arg("--client-ca")
        .arg(dir.path("root.pem"))
        .arg("--policy")
        .arg(dir.path("verify.xml"))
        .args(extra)
        .args(["--report", "json"]));
    serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Answered by a PEM or PKCS#7 body: .NET Core 3.1 on Linux reads PEM and builds the chain, and
/// builds none from PKCS#7; Windows CryptoAPI (the managed gateway) reads PKCS#7 certs-only, and
/// whether it reads PEM is not known. The tool says so instead of picking one.
const PLATFORM: &[&str] = &["aia-pem", "aia-p7c", "aia-p7c-pair"];

#[test]
fn leaf_only_with_ca_issuers_matches_dotnet() {
    let dir = Dir::new();
    let trusted = root("Verify Oracle Root");
    let dead = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let server = CrlServer::start(vec![("/root.crl".into(), crl(&trusted, &[], 7))]);
    let root_crl = server.url("/root.crl");
    let int = ca(&trusted, "Verify Oracle Issuing", 0x40, &root_crl, &[]);
    // A second CA with the issuing CA's name but another key: the wrong certificate at the URL.
    let lookalike = ca(&trusted, "Verify Oracle Issuing", 0x41, &root_crl, &[]);
    // Two levels missing: leaf -> lower (caIssuers: /lower.cer) -> upper (caIssuers: /upper.cer) -> root.
    let upper = ca(&trusted, "Verify Oracle Upper", 0x42, &root_crl, &[]);
    server.add("/upper.crl", crl(&upper, &[], 7));
    let lower = ca(&upper, "Verify Oracle Lower", 0x43, &server.url("/upper.crl"), &[server.url("/upper.cer")]);
    server.add("/upper.cer", upper.der.clone());
    server.add("/lower.cer", lower.der.clone());
    server.add("/lower.crl", crl(&lower, &[], 7));
    server.add("/int.cer", int.der.clone());
    server.add("/int.pem", mtls_doctor::cert::pem_encode(&int.der).into_bytes());
    server.add("/int.p7c", certs_only(&dir, "int", &[&int]));
    server.add("/pair.p7c", certs_only(&dir, "pair", &[&trusted, &int]));
    server.add("/junk.cer", b"this is not a certificate".to_vec());
    server.add("/lookalike.cer", lookalike.der.clone());
    server.add("/int.crl", crl(&int, &[0x52], 7));
    let leaf = |cn: &str, serial: u8, by: &Made, crl_path: &str, aia: &[String]| {
        let mut p = params(cn, serial, false, Some(&server.url(crl_path)));
        p.custom_extensions.push(ca_issuers(aia));
        signed(p, by)
    };
    let u = |path: &str| server.url(path);
    let expired = {
        let mut p = params("aia expired", 0x5E, false, Some(&server.url("/int.crl")));
        p.custom_extensions.push(ca_issuers(&[u("/int.cer")]));
        p.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(10);
        p.not_after = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        signed(p, &int)
    };
    let https = format!("https://{}/int.cer", server.url("").trim_start_matches("http://"));
    // (name, leaf, .NET's Verify(), .NET's VerifyNoRevocation()); the tool gives the same answers
    // except for the cases in `PLATFORM`, where it says the answer depends on the gateway.
    let cases = [
        ("aia-der", leaf("aia der", 0x51, &int, "/int.crl", &[u("/int.cer")]), true, true),
        ("aia-revoked", leaf("aia revoked", 0x52, &int, "/int.crl", &[u("/int.cer")]), false, true),
        ("aia-pem", leaf("aia pem", 0x53, &int, "/int.crl", &[u("/int.pem")]), true, true),
        ("aia-p7c", leaf("aia p7c", 0x54, &int, "/int.crl", &[u("/int.p7c")]), false, false),
        ("aia-p7c-pair", leaf("aia p7c pair", 0x55, &int, "/int.crl", &[u("/pair.p7c")]), false, false),
        (
            "aia-unreachable",
            leaf("aia unreachable", 0x56, &int, "/int.crl", &[format!("http://{dead}/int.cer")]),
            false,
            false,
        ),
        ("aia-404", leaf("aia 404", 0x57, &int, "/int.crl", &[u("/missing.cer")]), false, false),
        ("aia-junk", leaf("aia junk", 0x58, &int, "/int.crl", &[u("/junk.cer")]), false, false),
        ("aia-lookalike", leaf("aia lookalike", 0x59, &int, "/int.crl", &[u("/lookalike.cer")]), false, false),
        ("aia-https", leaf("aia https", 0x5A, &int, "/int.crl", std::slice::from_ref(&https)), false, false),
        ("aia-https-then-http", leaf("aia https http", 0x5B, &int, "/int.crl", &[https, u("/int.cer")]), true, true),
        (
            "aia-404-then-good",
            leaf("aia 404 good", 0x5C, &int, "/int.crl", &[u("/missing.cer"), u("/int.cer")]),
            false,
            false,
        ),
        ("aia-two-levels", leaf("aia two levels", 0x5D, &lower, "/lower.crl", &[u("/lower.cer")]), true, true),
        ("aia-expired", expired, false, false),
    ];
    let leaves: Vec<(&str, &Made)> = cases.iter().map(|(name, m, _, _)| (*name, m)).collect();
    let certs_dir = write_verify_cases(&dir, &trusted, &leaves);
    let mut wrong = Vec::new();
    if oracle_present() {
        let root_pem = dir.path("root.pem");
        let before = server.hits.load(Ordering::SeqCst);
        let live = run_oracle(dir.tmp.path(), &[("SSL_CERT_FILE", &root_pem), ("SSL_CERT_DIR", &certs_dir)]);
        for (i, (name, _, verify, no_rev)) in cases.iter().enumerate() {
            let want = (if *verify { "True" } else { "False" }, if *no_rev { "True" } else { "False" });
            if (live[2 * i].as_str(), live[2 * i + 1].as_str()) != want {
                wrong.push(format!("{name}: .NET now answers {}, {}; recorded {want:?}", live[2 * i], live[2 * i + 1]));
            }
        }
        assert!(server.hits.load(Ordering::SeqCst) > before, ".NET fetched from the loopback server");
    }
    for (name, m, verify, no_rev) in &cases {
        if PLATFORM.contains(name) {
            let pem = mtls_doctor::cert::pem_encode(&m.der);
            dir.write(&format!("{name}.pem"), pem);
            let doc = tool_doc(&dir, name, &[]);
            let calls = doc["policy"]["outcome"]["verify_calls"].as_array().cloned().unwrap_or_default();
            let text = doc["policy"]["outcome"].to_string();
            if !calls.is_empty() || !text.contains("managed gateway") {
                wrong.push(format!("{name}: the tool should say the answer depends on the gateway: {calls:?} {text}"));
            }
            continue;
        }
        let ours = tool_answers(&dir, name, &[m]);
        if ours != (*verify, *no_rev) {
            wrong.push(format!("{name}: the tool answers {ours:?}; .NET answers {verify}, {no_rev}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // What the tool reports for the leaf-only case: the fetch, per certificate, next to the
    // revocation fetches, and a finding that the chain was only built through AIA.
    let doc = tool_doc(&dir, "aia-der", &[]);
    crate::report::assert_valid("inspect_report", "leaf-only inspect with a caIssuers fetch", &doc);
    let cv = &doc["client_verify"];
    let fetches = cv["issuer_fetch"]["fetches"].as_array().unwrap_or_else(|| panic!("no issuer_fetch in {cv}"));
    assert_eq!(fetches.len(), 1, "{fetches:?}");
    assert_eq!(fetches[0]["url"], u("/int.cer"));
    assert_eq!(fetches[0]["outcome"]["answer"], "fetched", "{fetches:?}");
    assert_eq!(fetches[0]["outcome"]["format"], "der", "{fetches:?}");
    let findings = doc["findings"].as_array().expect("findings");
    assert!(findings.iter().any(|f| f["id"] == "client-chain-via-aia"), "{findings:?}");
    let revocation = cv["revocation"]["certificates"].as_array().expect("revocation");
    assert_eq!(revocation.len(), 3, "leaf, fetched issuing CA, root: {revocation:?}");

    // --offline: nothing is fetched; both answers are unknown and say why.
    let doc = tool_doc(&dir, "aia-der", &["--offline"]);
    crate::report::assert_valid("inspect_report", "leaf-only inspect --offline", &doc);
    let fetches = doc["client_verify"]["issuer_fetch"]["fetches"].as_array().expect("fetches offline").clone();
    assert_eq!(fetches[0]["outcome"]["answer"], "not-fetched", "{fetches:?}");
    assert_eq!(fetches[0]["outcome"]["why"]["kind"], "offline", "{fetches:?}");
    let calls = doc["policy"]["outcome"]["verify_calls"].as_array().cloned().unwrap_or_default();
    assert!(calls.is_empty(), "offline, neither call has a known result: {calls:?}");
    let text = doc["policy"]["outcome"].to_string();
    assert!(text.contains("caIssuers") && text.contains("--offline"), "{text}");

    // --offline, but the client certificate has expired: false whatever the issuer.
    let doc = tool_doc(&dir, "aia-expired", &["--offline"]);
    let calls = doc["policy"]["outcome"]["verify_calls"].as_array().cloned().unwrap_or_default();
    let results: Vec<_> = calls.iter().map(|c| (c["method"].clone(), c["result"].clone())).collect();
    assert!(
        calls.len() == 2 && calls.iter().all(|c| c["result"] == false),
        "an expired certificate is refused without fetching: {results:?}"
    );

    // validate-client-certificate builds the same chain: through the fetched issuer it passes, a
    // 404 at caIssuers is ClientCertificateNotTrusted (401), and --offline is not known.
    let validate = dir.write(
        "validate.xml",
        r#"<policies><inbound><validate-client-certificate validate-revocation="false" validate-trust="true" validate-not-before="true" validate-not-after="true" ignore-error="false" /></inbound></policies>"#,
    );
    for (name, extra, want) in
        [("aia-der", &[][..], Some(200)), ("aia-404", &[][..], Some(401)), ("aia-der", &["--offline"][..], None)]
    {
        let o = run(bin()
            .arg("inspect")
            .arg(dir.path(&format!("{name}.pem")))
            .arg("--client-ca")
            .arg(dir.path("root.pem"))
            .arg("--policy")
            .arg(&validate)
            .args(extra)
            .args(["--report", "json"]));
        let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
        let outcome = &doc["policy"]["outcome"];
        match want {
            Some(status) => {
                assert_eq!(outcome["status"], status, "{name} {extra:?}: {outcome}");
                let not_trusted = outcome.to_string().contains("ClientCertificateNotTrusted");
                assert_eq!(not_trusted, status == 401, "{name}: {outcome}");
            }
            None => {
                assert_eq!(outcome["determined"], false, "{name} {extra:?}: {outcome}");
                assert!(outcome.to_string().contains("caIssuers"), "{outcome}");
            }
        }
    }

    // Only an https caIssuers URL: not followed, and the finding says so.
    let doc = tool_doc(&dir, "aia-https", &[]);
    let f = doc["findings"].as_array().and_then(|fs| fs.iter().find(|f| f["id"] == "client-chain-via-aia").cloned());
    let f = f.unwrap_or_else(|| panic!("no client-chain-via-aia for an https caIssuers URL: {}", doc["findings"]));
    assert_eq!(f["severity"], "error", "{f}");
    assert!(f["evidence"].to_string().contains("caIssuers not followed: certificate 0 https://"), "{f}");

    // The text report lists the fetch next to the revocation lines.
    let o = run(bin()
        .arg("inspect")
        .arg(dir.path("aia-der.pem"))
        .arg("--client-ca")
        .arg(dir.path("root.pem"))
        .args(["--report", "text"]));
    let text = stdout(&o);
    assert!(text.contains("Issuer 0") && text.contains("caIssuers") && text.contains("fetched a DER"), "{text}");
}

/// Material for `findings::fires_client_chain_via_aia`: a root (written to `root.pem`), an issuing
/// CA served at `/int.cer`, and two client certificates sent alone (`good.pem`, whose caIssuers
/// URL serves the issuing CA, and `broken.pem`, whose URL answers 404). Keep the server alive.
pub(super) struct AiaFixture {
    pub(super) server: CrlServer,
    pub(super) root: std::path::PathBuf,
    pub(super) good: std::path::PathBuf,
    pub(super) broken: std::path::PathBuf,
}

pub(super) fn aia_fixture(dir: &Dir) -> AiaFixture {
    let trusted = root("AIA Finding Root");
    let server = CrlServer::start(vec![("/root.crl".into(), crl(&trusted, &[], 7))]);
    let int = ca(&trusted, "AIA Finding Issuing", 0x60, &server.url("/root.crl"), &[]);
    server.add("/int.cer", int.der.clone());
    server.add("/int.crl", crl(&int, &[], 7));
    let leaf = |cn: &str, serial: u8, path: &str| {
        let mut p = params(cn, serial, false, Some(&server.url("/int.crl")));
        p.custom_extensions.push(ca_issuers(&[server.url(path)]));
        signed(p, &int)
    };
    let good = dir.write("good.pem", mtls_doctor::cert::pem_encode(&leaf("aia finding good", 0x61, "/int.cer").der));
    let broken =
        dir.write("broken.pem", mtls_doctor::cert::pem_encode(&leaf("aia finding broken", 0x62, "/gone.cer").der));
    let root = dir.write("root.pem", mtls_doctor::cert::pem_encode(&trusted.der));
    AiaFixture { server, root, good, broken }
}

/// A front end forwards the leaf alone: `Verify…()` on the certificate the policy builds from the
/// header completes the chain from caIssuers as for a presented leaf (.NET's X509Chain is the same
/// either way), and a caIssuers URL that answers 404 leaves it untrusted.
#[test]
fn a_forwarded_leaf_is_chained_through_ca_issuers() {
    let dir = Dir::new();
    let fx = aia_fixture(&dir);
    let policy = dir.write(
        "forwarded.xml",
        r#"<policies><inbound><choose>
  <when condition="@{
      var h = context.Request.Headers.GetValueOrDefault(&quot;X-ARR-ClientCert&quot;, &quot;&quot;);
      if (string.IsNullOrEmpty(h)) { return true; }
      return !new X509Certificate2(Convert.FromBase64String(h)).VerifyNoRevocation();
  }">
    <return-response><set-status code="403" reason="Invalid client certificate" /></return-response>
  </when>
</choose></inbound></policies>"#,
    );
    for (leaf, status, answer) in [(&fx.good, 200, "fetched"), (&fx.broken, 403, "not-fetched")] {
        let o =
            run(bin().arg("inspect").arg(leaf).arg("--client-ca").arg(&fx.root).arg("--policy").arg(&policy).args([
                "--forward-cert",
                "X-ARR-ClientCert",
                "--report",
                "json",
            ]));
        let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("inspect json");
        crate::report::assert_valid("inspect_report", "inspect --forward-cert of a leaf behind caIssuers", &doc);
        assert_eq!(doc["policy"]["outcome"]["status"], status, "{}: {}", leaf.display(), doc["policy"]["outcome"]);
        let fetches = doc["forwarded"]["verify"]["issuer_fetch"]["fetches"]
            .as_array()
            .unwrap_or_else(|| panic!("no issuer_fetch on the forwarded certificate: {}", doc["forwarded"]));
        assert_eq!(fetches[0]["outcome"]["answer"], answer, "{fetches:?}");
    }
    drop(fx.server);
}
