//! Revocation checking against a loopback HTTP server the test runs: CRLs made with rcgen, OCSP
//! answers made by the real `openssl ocsp` responder from an index file, certificates generated
//! here with CRL distribution points and OCSP URLs that point at that server.
//!
//! The .NET answers these tests hold the tool to (`X509Certificate2.Verify()`, default
//! `X509ChainPolicy`: RevocationMode.Online, RevocationFlag.ExcludeRoot, no VerificationFlags):
//! - a chain element with a reachable CRL that does not list it, signed by its issuer: no
//!   revocation status flag; `Verify()` can be true.
//! - listed in that CRL: X509ChainStatusFlags.Revoked, `Verify()` false.
//! - a CDP that cannot be fetched, or no CDP and no OCSP URL at all:
//!   X509ChainStatusFlags.RevocationStatusUnknown (Windows adds OfflineRevocation), `Verify()`
//!   false; `VerifyNoRevocation()` true. This is the case Microsoft's APIM docs point at when they
//!   recommend `VerifyNoRevocation()` for private test CAs.
//! - the self-signed root is not checked (ExcludeRoot).
//!
//! The CRL and OCSP verdicts are also checked against openssl (`openssl verify -crl_check`,
//! `openssl ocsp -url`) on the same material, so the test data is what real tools read.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use mtls_doctor::cert::Certificate;
use mtls_doctor::revocation::{
    check_chain, issuer_chain, verify_answer, FetchLimits, Fetcher, RevocationStatus, SourceKind, SourceOutcome,
    UnknownWhy, VerifyRevocationAnswer,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CrlDistributionPoint, CustomExtension,
    DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevocationReason, RevokedCertParams, SerialNumber,
};
use time::OffsetDateTime;
use x509_cert::der::asn1::Ia5String;
use x509_cert::der::Encode;

use crate::util::{openssl, Dir};

/// A generated certificate for these tests (rcgen directly: the lab's `Spec` has no CDP/AIA).
pub(crate) struct Made {
    params: CertificateParams,
    key: KeyPair,
    der: Vec<u8>,
}

impl Made {
    pub(crate) fn cert(&self) -> Certificate {
        Certificate::from_der(self.der.clone(), "test").expect("parse generated certificate")
    }
    pub(crate) fn pem(&self) -> String {
        mtls_doctor::cert::pem_encode(&self.der)
    }
    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }
}

pub(crate) fn params(cn: &str, serial: u8, ca: bool) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "revocation test");
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    let now = OffsetDateTime::now_utc();
    p.not_before = now - time::Duration::days(1);
    p.not_after = now + time::Duration::days(30);
    p.serial_number = Some(SerialNumber::from_slice(&[0x10, serial]));
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    } else {
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.use_authority_key_identifier_extension = true;
    }
    p
}

pub(crate) fn with_urls(mut p: CertificateParams, crl: Option<&str>, ocsp: Option<&str>) -> CertificateParams {
    if let Some(url) = crl {
        p.crl_distribution_points = vec![CrlDistributionPoint { uris: vec![url.to_string()] }];
    }
    if let Some(url) = ocsp {
        use x509_cert::ext::pkix::name::GeneralName;
        use x509_cert::ext::pkix::{AccessDescription, AuthorityInfoAccessSyntax};
        let aia = AuthorityInfoAccessSyntax(vec![AccessDescription {
            access_method: x509_cert::der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1"),
            access_location: GeneralName::UniformResourceIdentifier(Ia5String::new(url).expect("ia5")),
        }]);
        let der = aia.to_der().expect("encode AIA");
        p.custom_extensions.push(CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], der));
    }
    p
}

pub(crate) fn self_signed(p: CertificateParams) -> Made {
    let key = KeyPair::generate().expect("key");
    let der = p.self_signed(&key).expect("self-sign").der().to_vec();
    Made { params: p, key, der }
}

pub(crate) fn issued(p: CertificateParams, by: &Made) -> Made {
    let key = KeyPair::generate().expect("key");
    let der = p.signed_by(&key, &by.issuer()).expect("sign").der().to_vec();
    Made { params: p, key, der }
}

fn crl(by: &Made, revoked_serials: &[u8], next_update_days: i64) -> Vec<u8> {
    let now = OffsetDateTime::now_utc();
    let params = CertificateRevocationListParams {
        this_update: now - time::Duration::days(2),
        next_update: now + time::Duration::days(next_update_days),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: revoked_serials
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: SerialNumber::from_slice(&[0x10, *s]),
                revocation_time: now - time::Duration::hours(5),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    params.signed_by(&by.issuer()).expect("sign CRL").der().to_vec()
}

/// What the loopback server serves. OCSP answers come from `openssl ocsp` run on each request.
pub(crate) struct Routes {
    crls: Vec<(&'static str, Vec<u8>)>,
    /// (path, responder certificate file, responder key file) for `openssl ocsp -rsigner/-rkey`.
    ocsp: Vec<(&'static str, PathBuf, PathBuf)>,
    ca_pem: PathBuf,
    index: PathBuf,
    pub(crate) hits: AtomicUsize,
}

pub(crate) struct Server {
    addr: SocketAddr,
    pub(crate) routes: Arc<Routes>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    async fn start(routes: Routes) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let routes = Arc::new(routes);
        let shared = routes.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let routes = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| answer(routes.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Server { addr, routes, task }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

async fn answer(routes: Arc<Routes>, req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    routes.hits.fetch_add(1, Ordering::SeqCst);
    let path = req.uri().path().to_string();
    let typed = |status: u16, body: Vec<u8>, content_type: &'static str| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(content_type));
        Ok(r)
    };
    let reply = |status: u16, body: Vec<u8>| typed(status, body, "application/pkix-crl");
    match path.as_str() {
        "/slow.crl" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return reply(200, Vec::new());
        }
        "/big.crl" => return reply(200, vec![0x30; 200_000]),
        _ => {}
    }
    if let Some((_, der)) = routes.crls.iter().find(|(p, _)| *p == path) {
        return reply(200, der.clone());
    }
    if let Some((_, signer, key)) = routes.ocsp.iter().find(|(p, _, _)| *p == path) {
        let body = req.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
        let (signer, key, ca, index) = (signer.clone(), key.clone(), routes.ca_pem.clone(), routes.index.clone());
        let resp = tokio::task::spawn_blocking(move || {
            let dir = tempfile::tempdir().expect("tempdir");
            let (req_path, resp_path) = (dir.path().join("req.der"), dir.path().join("resp.der"));
            std::fs::write(&req_path, body).expect("write request");
            let args = [
                "ocsp",
                "-index",
                path_str(&index),
                "-CA",
                path_str(&ca),
                "-rsigner",
                path_str(&signer),
                "-rkey",
                path_str(&key),
                "-reqin",
                path_str(&req_path),
                "-respout",
                path_str(&resp_path),
                "-ndays",
                "1",
            ];
            let (ok, out) = openssl(&args);
            assert!(ok, "openssl ocsp responder failed: {out}");
            std::fs::read(&resp_path).expect("read response")
        })
        .await
        .expect("responder task");
        return typed(200, resp, "application/ocsp-response");
    }
    reply(404, Vec::new())
}

pub(crate) fn path_str(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// openssl's index.txt line: status, expiry, revocation time, serial, file, subject.
fn index_line(status: char, serial: u8, cn: &str) -> String {
    let revoked = if status == 'R' { "250101000000Z,keyCompromise" } else { "" };
    format!("{status}\t351231235959Z\t{revoked}\t10{serial:02X}\tunknown\t/O=revocation test/CN={cn}\n")
}

pub(crate) struct World {
    pub(crate) dir: Dir,
    pub(crate) root: Made,
    pub(crate) server: Server,
    pub(crate) dead_url: String,
}

/// Root CA, its CRL (revoking serial 0x1002) at /root.crl, an impostor CRL (same name, other key)
/// at /forged.crl, a stale CRL at /stale.crl, OCSP at /ocsp (delegated responder), /ocsp-ca (the
/// CA itself) and /ocsp-rogue (a certificate without OCSPSigning), and a URL where nothing listens.
pub(crate) async fn world() -> World {
    let dir = Dir::new();
    let root = self_signed(params("Test Root", 0x01, true));
    let impostor = self_signed(params("Test Root", 0x01, true));
    let mut responder_params = params("Test OCSP", 0x50, false);
    responder_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
    let responder = issued(responder_params, &root);
    let rogue = issued(params("Test Rogue", 0x51, false), &root);
    let index = format!(
        "{}{}{}",
        index_line('V', 0x05, "ocsp good"),
        index_line('R', 0x06, "ocsp revoked"),
        index_line('V', 0x07, "ocsp ca signed")
    );
    let write = |name: &str, m: &Made| {
        (dir.write(&format!("{name}.pem"), m.pem()), dir.write(&format!("{name}.key"), m.key.serialize_pem()))
    };
    let (ca_pem, ca_key) = write("root", &root);
    let (responder_pem, responder_key) = write("responder", &responder);
    let (rogue_pem, rogue_key) = write("rogue", &rogue);
    let routes = Routes {
        crls: vec![
            ("/root.crl", crl(&root, &[0x02], 7)),
            ("/forged.crl", crl(&impostor, &[], 7)),
            ("/stale.crl", {
                // next_update must follow this_update (two days ago): one day ago is already past.
                crl(&root, &[], -1)
            }),
        ],
        ocsp: vec![
            ("/ocsp", responder_pem, responder_key),
            ("/ocsp-ca", ca_pem.clone(), ca_key),
            ("/ocsp-rogue", rogue_pem, rogue_key),
        ],
        ca_pem,
        index: dir.write("index.txt", index),
        hits: AtomicUsize::new(0),
    };
    let server = Server::start(routes).await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    World { dir, root, server, dead_url: format!("http://{dead}/root.crl") }
}

fn fetcher() -> Fetcher {
    Fetcher::new(FetchLimits { timeout: Duration::from_secs(20), max_bytes: 1024 * 1024 })
}

async fn check_leaf(w: &World, leaf: &Made, fetcher: Option<&Fetcher>) -> mtls_doctor::revocation::RevocationReport {
    let chain = issuer_chain(&leaf.cert(), &[w.root.cert()]);
    assert_eq!(chain.len(), 2, "leaf and root");
    check_chain(&chain, fetcher, OffsetDateTime::now_utc()).await
}

fn openssl_crl_verdict(w: &World, leaf: &Made, crl_der: &[u8]) -> String {
    let leaf_path = w.dir.write("leaf-under-test.pem", leaf.pem());
    let crl_path = w.dir.write("crl.der", crl_der);
    let crl_pem = w.dir.path("crl.pem");
    let (ok, out) = openssl(&["crl", "-inform", "DER", "-in", path_str(&crl_path), "-out", path_str(&crl_pem)]);
    assert!(ok, "{out}");
    let ca = w.dir.path("root.pem");
    openssl(&["verify", "-crl_check", "-CAfile", path_str(&ca), "-CRLfile", path_str(&crl_pem), path_str(&leaf_path)]).1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crl_good_and_revoked_as_openssl_reads_them_and_cached_per_run() {
    let w = world().await;
    let url = w.server.url("/root.crl");
    let good = issued(with_urls(params("crl good", 0x01, false), Some(&url), None), &w.root);
    let revoked = issued(with_urls(params("crl revoked", 0x02, false), Some(&url), None), &w.root);
    let f = fetcher();

    let report = check_leaf(&w, &good, Some(&f)).await;
    assert_eq!(report.certificates[0].status, RevocationStatus::Good, "{report:?}");
    assert_eq!(report.certificates[0].sources[0].kind, SourceKind::Crl);
    assert_eq!(report.certificates[1].status, RevocationStatus::NotCheckedRoot, "ExcludeRoot");
    assert_eq!(verify_answer(&report), VerifyRevocationAnswer::Passes);

    let report = check_leaf(&w, &revoked, Some(&f)).await;
    match &report.certificates[0].status {
        RevocationStatus::Revoked { reason, url: from, .. } => {
            assert_eq!(reason.as_deref(), Some("keyCompromise"));
            assert_eq!(from, &url);
        }
        other => panic!("expected revoked, got {other:?}"),
    }
    let answer = verify_answer(&report);
    assert_eq!(answer.passes(), Some(false));
    assert!(answer.to_string().contains("revoked"), "{answer}");
    // One CA, one CRL: the second certificate's lookup came from the run's cache.
    assert_eq!(f.requests_sent(), 1);
    assert_eq!(w.server.routes.hits.load(Ordering::SeqCst), 1);

    // The same material through openssl: it agrees on both.
    let der = w.server.routes.crls[0].1.clone();
    assert!(openssl_crl_verdict(&w, &good, &der).contains(": OK"));
    assert!(openssl_crl_verdict(&w, &revoked, &der).contains("certificate revoked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_or_absent_revocation_data_makes_verify_false() {
    let w = world().await;
    let unreachable = issued(with_urls(params("crl unreachable", 0x03, false), Some(&w.dead_url), None), &w.root);
    let none = issued(params("no cdp", 0x04, false), &w.root);
    let f = fetcher();

    let report = check_leaf(&w, &unreachable, Some(&f)).await;
    match verify_answer(&report) {
        VerifyRevocationAnswer::StatusUnknown {
            depth: 0, why: UnknownWhy::Fetch { error }, from_here: true, ..
        } => {
            assert!(error.contains("cannot connect"), "{error}")
        }
        other => panic!("expected unknown from a failed fetch, got {other:?}"),
    }

    // No CDP and no OCSP: unknown even without the network, and certain (nothing can supply it).
    for fetcher in [Some(&f), None] {
        let report = check_leaf(&w, &none, fetcher).await;
        assert!(report.certificates[0].sources.is_empty());
        let answer = verify_answer(&report);
        assert_eq!(
            answer,
            VerifyRevocationAnswer::StatusUnknown {
                depth: 0,
                subject: "CN=no cdp, O=revocation test".into(),
                why: UnknownWhy::NoSources,
                from_here: false
            }
        );
        assert_eq!(answer.passes(), Some(false));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_fetches_nothing_and_says_the_answer_depends_on_the_gateway() {
    let w = world().await;
    let url = w.server.url("/root.crl");
    let good = issued(with_urls(params("crl good", 0x01, false), Some(&url), None), &w.root);
    let report = check_leaf(&w, &good, None).await;
    assert!(!report.fetched);
    assert_eq!(report.certificates[0].sources[0].outcome, SourceOutcome::Unknown { why: UnknownWhy::Offline });
    let answer = verify_answer(&report);
    assert_eq!(answer, VerifyRevocationAnswer::NotFetched { urls: vec![url.clone()] });
    assert_eq!(answer.passes(), None);
    assert!(answer.to_string().contains(&url), "{answer}");
    assert_eq!(w.server.routes.hits.load(Ordering::SeqCst), 0, "offline must not touch the network");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crls_that_must_not_be_believed() {
    let w = world().await;
    let f = fetcher();
    let case = |path: &str, serial: u8| {
        issued(with_urls(params("crl case", serial, false), Some(&w.server.url(path)), None), &w.root)
    };
    let expect = |report: &mtls_doctor::revocation::RevocationReport| match &report.certificates[0].status {
        RevocationStatus::Unknown { why } => why.clone(),
        other => panic!("expected unknown, got {other:?}"),
    };
    assert_eq!(expect(&check_leaf(&w, &case("/forged.crl", 0x11), Some(&f)).await), UnknownWhy::BadSignature);
    assert!(matches!(expect(&check_leaf(&w, &case("/stale.crl", 0x12), Some(&f)).await), UnknownWhy::Stale { .. }));
    let missing = expect(&check_leaf(&w, &case("/missing.crl", 0x13), Some(&f)).await);
    assert_eq!(missing, UnknownWhy::Fetch { error: "HTTP status 404".into() });
    // Size cap: 200 kB body against a 64 KiB limit.
    let small = Fetcher::new(FetchLimits { timeout: Duration::from_secs(20), max_bytes: 64 * 1024 });
    let big = expect(&check_leaf(&w, &case("/big.crl", 0x14), Some(&small)).await);
    assert_eq!(big, UnknownWhy::Fetch { error: "larger than the 65536-byte limit".into() });
    // Time cap: the server sleeps 30 s; the fetch gives up after 1 s, well before.
    let quick = Fetcher::new(FetchLimits { timeout: Duration::from_secs(1), max_bytes: 64 * 1024 });
    let started = std::time::Instant::now();
    let slow = expect(&check_leaf(&w, &case("/slow.crl", 0x15), Some(&quick)).await);
    assert_eq!(slow, UnknownWhy::Fetch { error: "no complete answer within 1000 ms".into() });
    assert!(started.elapsed() < Duration::from_secs(15));
    // .NET fetches only http:// revocation URLs.
    let ldap = issued(with_urls(params("ldap", 0x16, false), Some("ldap://127.0.0.1/cn=crl"), None), &w.root);
    assert!(
        matches!(expect(&check_leaf(&w, &ldap, Some(&f)).await), UnknownWhy::Fetch { error } if error.contains("http://"))
    );
}

fn openssl_ocsp_verdict(w: &World, leaf: &Made, url: &str) -> String {
    let leaf_path = w.dir.write("ocsp-leaf.pem", leaf.pem());
    let ca = w.dir.path("root.pem");
    openssl(&["ocsp", "-issuer", path_str(&ca), "-cert", path_str(&leaf_path), "-url", url, "-CAfile", path_str(&ca)]).1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocsp_answers_from_the_openssl_responder() {
    let w = world().await;
    let f = fetcher();
    let leaf = |cn: &str, serial: u8, path: &str| {
        issued(with_urls(params(cn, serial, false), None, Some(&w.server.url(path))), &w.root)
    };
    let good = leaf("ocsp good", 0x05, "/ocsp");
    let report = check_leaf(&w, &good, Some(&f)).await;
    assert_eq!(report.certificates[0].sources[0].kind, SourceKind::Ocsp);
    assert_eq!(report.certificates[0].status, RevocationStatus::Good, "{report:?}");
    let said = openssl_ocsp_verdict(&w, &good, &w.server.url("/ocsp"));
    assert!(said.contains(": good"), "{said}");

    let revoked = leaf("ocsp revoked", 0x06, "/ocsp");
    let report = check_leaf(&w, &revoked, Some(&f)).await;
    match &report.certificates[0].status {
        RevocationStatus::Revoked { reason, revoked_at, .. } => {
            assert_eq!(reason.as_deref(), Some("keyCompromise"));
            assert_eq!(revoked_at, "2025-01-01T00:00:00Z");
        }
        other => panic!("expected revoked, got {other:?}"),
    }
    assert!(openssl_ocsp_verdict(&w, &revoked, &w.server.url("/ocsp")).contains(": revoked"));

    // Signed by the CA itself: also acceptable.
    let by_ca = leaf("ocsp ca signed", 0x07, "/ocsp-ca");
    assert_eq!(check_leaf(&w, &by_ca, Some(&f)).await.certificates[0].status, RevocationStatus::Good);

    // Not in the responder's index: openssl answers "unknown".
    let stranger = leaf("stranger", 0x08, "/ocsp");
    assert_eq!(
        check_leaf(&w, &stranger, Some(&f)).await.certificates[0].status,
        RevocationStatus::Unknown { why: UnknownWhy::ResponderSaysUnknown }
    );

    // Signed by a certificate the CA issued, but not for OCSP signing: not believed.
    let rogue = leaf("ocsp good", 0x05, "/ocsp-rogue");
    assert_eq!(
        check_leaf(&w, &rogue, Some(&f)).await.certificates[0].status,
        RevocationStatus::Unknown { why: UnknownWhy::SignerNotAllowed }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intermediate_without_revocation_data_fails_a_good_leaf() {
    let w = world().await;
    // Root -> intermediate (no CDP, no OCSP) -> leaf with a good CRL of the intermediate.
    let intermediate = issued(params("Test Issuing", 0x30, true), &w.root);
    let int_crl = crl(&intermediate, &[], 7);
    let routes = Routes {
        crls: vec![("/int.crl", int_crl)],
        ocsp: vec![],
        ca_pem: w.dir.path("root.pem"),
        index: w.dir.path("index.txt"),
        hits: AtomicUsize::new(0),
    };
    let server = Server::start(routes).await;
    let leaf = issued(
        with_urls(params("behind intermediate", 0x31, false), Some(&server.url("/int.crl")), None),
        &intermediate,
    );
    let chain = issuer_chain(&leaf.cert(), &[w.root.cert(), intermediate.cert()]);
    assert_eq!(chain.len(), 3);
    let report = check_chain(&chain, Some(&fetcher()), OffsetDateTime::now_utc()).await;
    assert_eq!(report.certificates[0].status, RevocationStatus::Good);
    assert_eq!(report.certificates[1].status, RevocationStatus::Unknown { why: UnknownWhy::NoSources });
    assert!(matches!(verify_answer(&report), VerifyRevocationAnswer::StatusUnknown { depth: 1, .. }));
}

/// `mtls-doctor inspect` end to end: the binary fetches the loopback CRL for `Verify()`.
fn inspect_cli(w: &World, leaf: &Made, policy: &std::path::Path, offline: bool) -> (i32, String) {
    let leaf_path = w.dir.write("cli-leaf.pem", leaf.pem());
    let root = w.dir.path("root.pem");
    let mut cmd = crate::util::bin();
    cmd.args(["inspect", path_str(&leaf_path), "--client-ca", path_str(&root), "--policy", path_str(policy)]);
    if offline {
        cmd.arg("--offline");
    }
    let out = crate::util::run(&mut cmd);
    (out.status.code().unwrap_or(-1), crate::util::stdout(&out))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_cli_answers_what_verify_answers_with_the_crl_it_fetches() {
    let w = world().await;
    let url = w.server.url("/root.crl");
    let good = issued(with_urls(params("cli good", 0x01, false), Some(&url), None), &w.root);
    let revoked = issued(with_urls(params("cli revoked", 0x02, false), Some(&url), None), &w.root);
    let policy = w.dir.write(
        "verify.xml",
        r#"<policies><inbound><choose>
  <when condition="@(context.Request.Certificate == null || !context.Request.Certificate.Verify())">
    <return-response><set-status code="403" reason="Invalid client certificate" /></return-response>
  </when>
</choose></inbound></policies>"#,
    );
    let (w2, good2, revoked2, policy2) = (Arc::new(w), Arc::new(good), Arc::new(revoked), policy.clone());
    let (w3, g3, r3, p3) = (w2.clone(), good2.clone(), revoked2.clone(), policy2.clone());
    let outputs = tokio::task::spawn_blocking(move || {
        [inspect_cli(&w3, &g3, &p3, false), inspect_cli(&w3, &r3, &p3, false), inspect_cli(&w3, &g3, &p3, true)]
    })
    .await
    .expect("cli runs");
    let [(_, good_out), (code, revoked_out), (_, offline_out)] = outputs;
    if std::env::var_os("SHOW_CLI").is_some() {
        eprintln!("{good_out}\n----\n{revoked_out}\n----\n{offline_out}");
    }

    assert!(good_out.contains("Answers      200 (passes the inbound policy)"), "{good_out}");
    assert!(good_out.contains(&format!("Revocation 0 CRL {url}: good")), "{good_out}");
    for line in [&good_out, &revoked_out, &offline_out]
        .iter()
        .flat_map(|o| o.lines())
        .filter(|l| l.starts_with("  Revocation") || l.starts_with("  Verify()"))
    {
        assert!(line.chars().count() <= 100, "line too wide: {line}");
    }
    assert!(good_out.contains("Verify()     true"), "{good_out}");

    assert_eq!(code, 1, "a finding of severity error: {revoked_out}");
    assert!(revoked_out.contains("Answers      403 (the request is refused here)"), "{revoked_out}");
    assert!(revoked_out.contains("revoked at"), "{revoked_out}");
    assert!(revoked_out.contains("policy-revocation-unknown"), "{revoked_out}");
    assert!(revoked_out.contains("The gateway is right to refuse this certificate"), "{revoked_out}");
    assert!(!revoked_out.contains("VerifyNoRevocation() instead"), "no advice to stop checking a revoked one");
    assert!(!revoked_out.contains("Change the failing clause"), "nor to edit the policy: {revoked_out}");

    assert!(offline_out.contains("cannot be determined"), "{offline_out}");
    assert!(offline_out.contains("not fetched (--offline)"), "{offline_out}");
    assert!(offline_out.contains(&url), "the evaluator names what the gateway would fetch: {offline_out}");
    // Two online runs, one CRL each; the offline run fetched nothing.
    assert_eq!(w2.server.routes.hits.load(Ordering::SeqCst), 2);
}

#[test]
fn recorded_urls_never_carry_credentials() {
    use mtls_doctor::revocation::without_userinfo;
    assert_eq!(without_userinfo("http://user:secret@crl.example/ca.crl"), "http://***@crl.example/ca.crl");
    assert_eq!(without_userinfo("http://crl.example/a@b.crl"), "http://crl.example/a@b.crl");
    assert_eq!(without_userinfo("http://crl.example"), "http://crl.example");
}
