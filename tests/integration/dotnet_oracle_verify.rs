//! `X509Certificate2.Verify()` and APIM's `VerifyNoRevocation()` on a real .NET (Core 3.1, Linux:
//! trust from SSL_CERT_FILE, revocation online with CRLs fetched from the distribution point)
//! against what `mtls-doctor inspect --client-ca ROOT --policy` answers for the same certificates,
//! with the CRL served from 127.0.0.1 by this test: good, revoked, unreachable, no CDP at all,
//! signed by an impostor with the CA's name, past its nextUpdate, answered 404; and an expired
//! certificate and one from a CA that is not trusted. The recorded .NET answers are checked
//! against the tool always, and against the live runtime when it is installed (always in CI).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CrlDistributionPoint, DistinguishedName,
    DnType, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason, RevokedCertParams, SerialNumber,
};
use time::OffsetDateTime;

use super::dotnet_oracle::{oracle_present, run_oracle};
use crate::util::{bin, run, stdout, Dir};

/// (path, body) pairs the server answers.
pub(super) type Routes = Vec<(String, Vec<u8>)>;

/// A loopback HTTP/1.1 server for CRLs, on its own thread; stopped and joined on drop.
pub(super) struct CrlServer {
    addr: SocketAddr,
    routes: Arc<Mutex<Routes>>,
    stop: Arc<AtomicBool>,
    pub(super) hits: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl CrlServer {
    pub(super) fn start(routes: Routes) -> CrlServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let (stop, hits) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
        let routes = Arc::new(Mutex::new(routes));
        let (stop2, hits2, routes2) = (stop.clone(), hits.clone(), routes.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    hits2.fetch_add(1, Ordering::SeqCst);
                    let routes = routes2.lock().expect("routes").clone();
                    serve(stream, &routes);
                }
            }
        });
        CrlServer { addr, routes, stop, hits, thread: Some(thread) }
    }

    /// Serve `body` at `path` from now on (for material that names the server's own port).
    pub(super) fn add(&self, path: &str, body: Vec<u8>) {
        self.routes.lock().expect("routes").push((path.to_string(), body));
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for CrlServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut stream: TcpStream, routes: &[(String, Vec<u8>)]) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
    let (status, body) = match routes.iter().find(|(p, _)| *p == path) {
        Some((_, der)) => ("200 OK", der.clone()),
        None => ("404 Not Found", Vec::new()),
    };
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/pkix-crl\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes());
    let _ = stream.write_all(&body);
}

pub(super) struct Made {
    pub(super) params: CertificateParams,
    pub(super) key: KeyPair,
    pub(super) der: Vec<u8>,
}

pub(super) fn params(cn: &str, serial: u8, ca: bool, crl: Option<&str>) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "verify oracle");
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    let now = OffsetDateTime::now_utc();
    p.not_before = now - time::Duration::days(1);
    p.not_after = now + time::Duration::days(30);
    p.serial_number = Some(SerialNumber::from_slice(&[0x20, serial]));
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    } else {
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        p.use_authority_key_identifier_extension = true;
    }
    if let Some(url) = crl {
        p.crl_distribution_points = vec![CrlDistributionPoint { uris: vec![url.to_string()] }];
    }
    p
}

pub(super) fn root(cn: &str) -> Made {
    let p = params(cn, 0x01, true, None);
    let key = KeyPair::generate().expect("key");
    let der = p.self_signed(&key).expect("self-sign").der().to_vec();
    Made { params: p, key, der }
}

fn leaf(by: &Made, cn: &str, serial: u8, crl: Option<&str>) -> Made {
    let p = params(cn, serial, false, crl);
    let key = KeyPair::generate().expect("key");
    let der = p.signed_by(&key, &Issuer::from_params(&by.params, &by.key)).expect("sign").der().to_vec();
    Made { params: p, key, der }
}

/// A CRL from `by` revoking these serials; `next_update_days` after now (negative: stale).
pub(super) fn crl(by: &Made, revoked: &[u8], next_update_days: i64) -> Vec<u8> {
    let now = OffsetDateTime::now_utc();
    CertificateRevocationListParams {
        this_update: now - time::Duration::days(2),
        next_update: now + time::Duration::days(next_update_days),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: SerialNumber::from_slice(&[0x20, *s]),
                revocation_time: now - time::Duration::hours(3),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&Issuer::from_params(&by.params, &by.key))
    .expect("sign CRL")
    .der()
    .to_vec()
}

/// What the tool answers for `Verify()` and `VerifyNoRevocation()` on this certificate.
pub(super) fn tool_answers(dir: &Dir, name: &str, chain: &[&Made]) -> (bool, bool) {
    let pem: String = chain.iter().map(|m| mtls_doctor::cert::pem_encode(&m.der)).collect();
    let leaf = dir.write(&format!("{name}.pem"), pem);
    let policy = dir.write(
        "verify.xml",
        r#"<policies><inbound><choose><when condition="@(context.Request.Certificate.VerifyNoRevocation() &amp;&amp; !context.Request.Certificate.Verify())"><return-response><set-status code="403" reason="refused" /></return-response></when></choose></inbound></policies>"#,
    );
    let o = run(bin()
        .arg("inspect")
        .arg(&leaf)
        .arg("--client-ca")
        .arg(dir.path("root.pem"))
        .arg("--policy")
        .arg(&policy)
        .args(["--report", "json"]));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let calls = doc["policy"]["outcome"]["verify_calls"].as_array().unwrap_or_else(|| panic!("{name}: {doc}")).clone();
    let result = |method: &str| {
        calls
            .iter()
            .find(|c| c["method"] == method)
            .and_then(|c| c["result"].as_bool())
            .unwrap_or_else(|| panic!("{name}: no {method}() result in {calls:?}"))
    };
    (result("Verify"), result("VerifyNoRevocation"))
}

#[test]
fn verify_and_revocation_match_dotnet() {
    let dir = Dir::new();
    let trusted = root("Verify Oracle Root");
    let stranger = root("Verify Oracle Stranger");
    let dead = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    // The CRL revokes serial 0x2003; the server starts first so the leaves can name its port.
    // An impostor root with the same name but another key signs /forged.crl.
    let impostor = root("Verify Oracle Root");
    let server = CrlServer::start(vec![
        ("/root.crl".into(), crl(&trusted, &[0x03], 7)),
        ("/forged.crl".into(), crl(&impostor, &[], 7)),
        ("/stale.crl".into(), crl(&trusted, &[], -1)),
    ]);
    let url = server.url("/root.crl");
    let mut expired = leaf(&trusted, "expired", 0x06, Some(&url));
    {
        let now = OffsetDateTime::now_utc();
        expired.params.not_before = now - time::Duration::days(10);
        expired.params.not_after = now - time::Duration::days(1);
        let key = KeyPair::generate().expect("key");
        expired.der = expired
            .params
            .signed_by(&key, &Issuer::from_params(&trusted.params, &trusted.key))
            .expect("sign")
            .der()
            .to_vec();
        expired.key = key;
    }
    let dead_url = format!("http://{dead}/root.crl");
    // (name, certificate, .NET's Verify(), .NET's VerifyNoRevocation())
    let cases = [
        ("no-cdp", leaf(&trusted, "no cdp", 0x01, None), false, true),
        ("crl-good", leaf(&trusted, "crl good", 0x02, Some(&url)), true, true),
        ("crl-revoked", leaf(&trusted, "crl revoked", 0x03, Some(&url)), false, true),
        ("crl-unreachable", leaf(&trusted, "crl unreachable", 0x04, Some(&dead_url)), false, true),
        ("untrusted", leaf(&stranger, "untrusted", 0x05, Some(&url)), false, false),
        ("expired", expired, false, false),
        ("crl-forged", leaf(&trusted, "crl forged", 0x07, Some(&server.url("/forged.crl"))), false, true),
        ("crl-stale", leaf(&trusted, "crl stale", 0x08, Some(&server.url("/stale.crl"))), false, true),
        ("crl-missing", leaf(&trusted, "crl missing", 0x09, Some(&server.url("/missing.crl"))), false, true),
    ];
    let leaves: Vec<(&str, &Made)> = cases.iter().map(|(name, m, _, _)| (*name, m)).collect();
    let certs_dir = write_verify_cases(&dir, &trusted, &leaves);

    let mut wrong = Vec::new();
    if oracle_present() {
        let root_pem = dir.path("root.pem");
        let live = run_oracle(dir.tmp.path(), &[("SSL_CERT_FILE", &root_pem), ("SSL_CERT_DIR", &certs_dir)]);
        for (i, (name, _, verify, no_rev)) in cases.iter().enumerate() {
            let got = (&live[2 * i], &live[2 * i + 1]);
            let want = (if *verify { "True" } else { "False" }, if *no_rev { "True" } else { "False" });
            if (got.0.as_str(), got.1.as_str()) != want {
                wrong.push(format!(
                    "{name}: .NET now answers Verify() {}, VerifyNoRevocation() {}; recorded {want:?}",
                    got.0, got.1
                ));
            }
        }
        assert!(server.hits.load(Ordering::SeqCst) >= 1, ".NET fetched the CRL from the loopback server");
    }
    for (name, m, verify, no_rev) in &cases {
        let ours = tool_answers(&dir, name, &[m]);
        if ours != (*verify, *no_rev) {
            wrong.push(format!(
                "{name}: the tool answers Verify() {}, VerifyNoRevocation() {}; .NET answers {verify}, {no_rev}",
                ours.0, ours.1
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// An authority information access extension with one caIssuers URL.
pub(super) fn ca_issuers(url: &str) -> rcgen::CustomExtension {
    let tlv = |tag: u8, content: &[u8]| {
        assert!(content.len() < 0x80);
        [&[tag, content.len() as u8][..], content].concat()
    };
    let method = tlv(0x06, &[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02]);
    let access = tlv(0x30, &[method, tlv(0x86, url.as_bytes())].concat());
    rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], tlv(0x30, &access))
}

#[test]
fn intermediate_behind_a_ca_issuers_url_matches_dotnet() {
    // Root -> intermediate (CDP: the root's CRL) -> leaf (CDP: the intermediate's CRL, and the
    // intermediate at a caIssuers URL). .NET receives the leaf alone, as the policy's
    // context.Request.Certificate, and fetches the intermediate itself; the tool is given the
    // chain the client sends.
    let dir = Dir::new();
    let trusted = root("Verify Oracle Root");
    let server = CrlServer::start(vec![("/root.crl".into(), crl(&trusted, &[], 7))]);
    let mut int_params = params("Verify Oracle Issuing", 0x30, true, Some(&server.url("/root.crl")));
    int_params.use_authority_key_identifier_extension = true;
    let int_key = KeyPair::generate().expect("key");
    let int_der = int_params
        .signed_by(&int_key, &Issuer::from_params(&trusted.params, &trusted.key))
        .expect("sign")
        .der()
        .to_vec();
    let intermediate = Made { params: int_params, key: int_key, der: int_der };
    server.add("/int.cer", intermediate.der.clone());
    server.add("/int.crl", crl(&intermediate, &[0x32], 7));
    let with_aia = |cn: &str, serial: u8| {
        let mut p = params(cn, serial, false, Some(&server.url("/int.crl")));
        p.custom_extensions.push(ca_issuers(&server.url("/int.cer")));
        let key = KeyPair::generate().expect("key");
        let der = p
            .signed_by(&key, &Issuer::from_params(&intermediate.params, &intermediate.key))
            .expect("sign")
            .der()
            .to_vec();
        Made { params: p, key, der }
    };
    // (name, leaf, .NET's Verify(), .NET's VerifyNoRevocation())
    let cases = [
        ("int-good", with_aia("behind int good", 0x31), true, true),
        ("int-revoked", with_aia("behind int revoked", 0x32), false, true),
    ];
    let leaves: Vec<(&str, &Made)> = cases.iter().map(|(name, m, _, _)| (*name, m)).collect();
    let certs_dir = write_verify_cases(&dir, &trusted, &leaves);
    let mut wrong = Vec::new();
    if oracle_present() {
        let root_pem = dir.path("root.pem");
        let live = run_oracle(dir.tmp.path(), &[("SSL_CERT_FILE", &root_pem), ("SSL_CERT_DIR", &certs_dir)]);
        for (i, (name, _, verify, no_rev)) in cases.iter().enumerate() {
            let want = (if *verify { "True" } else { "False" }, if *no_rev { "True" } else { "False" });
            if (live[2 * i].as_str(), live[2 * i + 1].as_str()) != want {
                wrong.push(format!("{name}: .NET now answers {}, {}; recorded {want:?}", live[2 * i], live[2 * i + 1]));
            }
        }
    }
    for (name, m, verify, no_rev) in &cases {
        // With the intermediate sent, and with the leaf alone (the tool fetches it, as .NET did).
        for chain in [&[m, &intermediate][..], &[m][..]] {
            let ours = tool_answers(&dir, name, chain);
            if ours != (*verify, *no_rev) {
                wrong.push(format!(
                    "{name} ({} sent): the tool answers {ours:?}; .NET answers {verify}, {no_rev}",
                    chain.len()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Writes `root.pem` (the only CA .NET is to trust), each leaf as `NAME.der` and `cases.txt`
/// asking for `Verify()` (case 2i) and `VerifyNoRevocation()` (case 2i+1) of leaf i; returns the
/// empty directory to give .NET as `SSL_CERT_DIR`.
pub(super) fn write_verify_cases(dir: &Dir, root: &Made, leaves: &[(&str, &Made)]) -> std::path::PathBuf {
    dir.write("root.pem", mtls_doctor::cert::pem_encode(&root.der));
    let mut text = String::new();
    for (i, (name, m)) in leaves.iter().enumerate() {
        dir.write(&format!("{name}.der"), &m.der);
        for (j, method) in ["Verify", "VerifyNoRevocation"].iter().enumerate() {
            text.push_str(&format!(
                "case {}\ncert {name}.der\nexpr context.Request.Certificate.{method}()\n",
                2 * i + j
            ));
        }
    }
    dir.write("cases.txt", text);
    let certs_dir = dir.path("trust-dir");
    std::fs::create_dir_all(&certs_dir).expect("mkdir");
    certs_dir
}
