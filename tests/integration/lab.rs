//! The lab: gateway hostnames, the `/secure` policy, forwarding to backends, each backend's TLS
//! behaviour in TLS 1.2 and 1.3, the written material with real peers, and shutdown.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mtls_doctor::lab::{
    backend_host, BackendEcho, BackendFailure, Lab, LabPki, SecureAnswer, BACKENDS, HOST_DEFAULT, HOST_NEGOTIATE,
    HOST_NO_NEGOTIATE, WRONG_NAME_HOST,
};
use mtls_doctor::listen::Echo;
use mtls_doctor::pki::{Issued, Spec};
use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use rustls::{
    AlertDescription, CertificateError, ClientConfig, RootCertStore, SignatureScheme, SupportedProtocolVersion,
};
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::listen::run_peer;

const TEST_LIMIT: Duration = Duration::from_secs(120);
const STEP_LIMIT: Duration = Duration::from_secs(10);
const TLS12: &SupportedProtocolVersion = &rustls::version::TLS12;
const TLS13: &SupportedProtocolVersion = &rustls::version::TLS13;

/// A client certificate source that notes whether the server asked (rustls calls `resolve` only for a
/// CertificateRequest) and which CA names it hinted.
#[derive(Debug)]
struct RecordingResolver {
    key: Option<Arc<CertifiedKey>>,
    asked: Mutex<Option<Vec<String>>>,
}

impl ResolvesClientCert for RecordingResolver {
    fn resolve(&self, hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        let names = hints.iter().map(|h| mtls_doctor::cert::dotnet_name_from_der(h).unwrap_or_default()).collect();
        *self.asked.lock().expect("lock") = Some(names);
        self.key.clone()
    }

    // True even without a key, or rustls would not call `resolve` and the request would go unseen.
    fn has_certs(&self) -> bool {
        true
    }
}

/// Who the test client is.
struct Client<'a> {
    version: &'static SupportedProtocolVersion,
    trust: &'a Issued,
    chain: Vec<CertificateDer<'static>>,
    key: Option<&'a Issued>,
}

impl<'a> Client<'a> {
    fn anonymous(version: &'static SupportedProtocolVersion, trust: &'a Issued) -> Self {
        Client { version, trust, chain: vec![], key: None }
    }

    fn with(
        version: &'static SupportedProtocolVersion,
        trust: &'a Issued,
        chain: Vec<CertificateDer<'static>>,
        key: &'a Issued,
    ) -> Self {
        Client { version, trust, chain, key: Some(key) }
    }

    /// A lab client leaf (issued by the client issuing CA) sent with its issuing CA, trusting the
    /// lab's server root.
    fn lab(version: &'static SupportedProtocolVersion, pki: &'a LabPki, leaf: &'a Issued) -> Self {
        Client::with(version, &pki.server_root, pki.client_chain(leaf), leaf)
    }

    /// The gateway's outbound identity, as a backend sees it.
    fn gateway(version: &'static SupportedProtocolVersion, pki: &'a LabPki, trust: &'a Issued) -> Self {
        Client::with(version, trust, vec![pki.gateway_outbound.cert_der()], &pki.gateway_outbound)
    }
}

#[derive(Debug)]
struct Outcome {
    /// `Some(hinted CA names)` when the server sent a CertificateRequest.
    asked: Option<Vec<String>>,
    result: Result<(u16, String), Failure>,
}

#[derive(Debug)]
struct Failure {
    tls: Option<rustls::Error>,
    /// Shown through `Debug` in assertion messages.
    #[allow(dead_code)]
    text: String,
}

impl Outcome {
    fn ok(&self) -> (u16, &str) {
        match &self.result {
            Ok((status, body)) => (*status, body.as_str()),
            Err(f) => panic!("exchange failed: {f:?}"),
        }
    }

    fn json<T: serde::de::DeserializeOwned>(&self, status: u16) -> T {
        let (got, body) = self.ok();
        assert_eq!(got, status, "{body}");
        serde_json::from_str(body).unwrap_or_else(|e| panic!("unexpected body ({e}): {body}"))
    }

    fn tls_error(&self) -> &rustls::Error {
        match &self.result {
            Err(Failure { tls: Some(e), .. }) => e,
            other => panic!("expected a TLS error, got {other:?}"),
        }
    }
}

fn failure(e: std::io::Error) -> Failure {
    let tls = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()).cloned();
    Failure { tls, text: e.to_string() }
}

/// Handshake, send `GET path`, read the whole answer: a TLS 1.3 client-certificate refusal only
/// shows on the first read, so a handshake is not called accepted before a response arrives.
async fn exchange(addr: SocketAddr, sni: &str, client: Client<'_>, path: &str) -> Outcome {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let key = client.key.map(|k| {
        Arc::new(CertifiedKey::from_der(client.chain.clone(), k.private_key_der(), &provider).expect("client key"))
    });
    let resolver = Arc::new(RecordingResolver { key, asked: Mutex::new(None) });
    let mut roots = RootCertStore::empty();
    roots.add(client.trust.cert_der()).expect("root");
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[client.version])
        .expect("versions")
        .with_root_certificates(roots)
        .with_client_cert_resolver(resolver.clone());
    config.resumption = rustls::client::Resumption::disabled();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));

    let result = async {
        let tcp = TcpStream::connect(addr).await.map_err(failure)?;
        let name = ServerName::try_from(sni.to_string()).expect("server name");
        let mut tls = connector.connect(name, tcp).await.map_err(failure)?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n");
        tls.write_all(request.as_bytes()).await.map_err(failure)?;
        let mut raw = Vec::new();
        tls.read_to_end(&mut raw).await.map_err(failure)?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        Ok((status, body.to_string()))
    };
    let result = tokio::time::timeout(STEP_LIMIT, result).await.expect("exchange within 10 s");
    let asked = resolver.asked.lock().expect("lock").clone();
    Outcome { asked, result }
}

fn is_alert(e: &rustls::Error, alert: AlertDescription) -> bool {
    matches!(e, rustls::Error::AlertReceived(a) if *a == alert)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_gateway_hostnames_negotiate_only_on_the_negotiating_one() {
    tokio::time::timeout(TEST_LIMIT, async {
        let lab = Lab::start().await.expect("lab");
        let pki = lab.pki();
        for version in [TLS12, TLS13] {
            let out =
                exchange(lab.gateway_addr(), HOST_NEGOTIATE, Client::lab(version, pki, &pki.client_good), "/echo")
                    .await;
            let hints = out.asked.clone().expect("api.lab.test sends a CertificateRequest");
            assert!(hints.iter().any(|h| h.contains("CN=mtls-doctor Lab Client Root")), "{hints:?}");
            assert!(hints.iter().any(|h| h.contains("CN=mtls-doctor Lab Client Issuing CA")), "{hints:?}");
            let echo: Echo = out.json(200);
            assert_eq!(echo.tls.sni.as_deref(), Some(HOST_NEGOTIATE));
            assert_eq!(echo.tls.client_certificate.map(|c| c.thumbprint_sha1), Some(pki.client_good.thumbprint()));
            assert!(echo.tls.verdict.ok, "{:?}", echo.tls.verdict);

            for host in [HOST_NO_NEGOTIATE, HOST_DEFAULT] {
                let out =
                    exchange(lab.gateway_addr(), host, Client::lab(version, pki, &pki.client_good), "/echo").await;
                assert_eq!(out.asked, None, "{host} must not ask for a client certificate");
                let echo: Echo = out.json(200);
                assert_eq!(echo.tls.sni.as_deref(), Some(host));
                assert!(echo.tls.client_certificate.is_none());
            }
        }
        let out =
            exchange(lab.gateway_addr(), HOST_NEGOTIATE, Client::anonymous(TLS13, &pki.server_root), "/nowhere").await;
        assert_eq!(out.ok().0, 404);
    })
    .await
    .expect("test within time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_secure_route_allows_only_a_valid_allow_listed_certificate() {
    tokio::time::timeout(TEST_LIMIT, async {
        let lab = Lab::start().await.expect("lab");
        let pki = lab.pki();
        let gw = lab.gateway_addr();

        let out = exchange(gw, HOST_NEGOTIATE, Client::lab(TLS13, pki, &pki.client_good), "/secure/data").await;
        let answer: SecureAnswer = out.json(200);
        assert!(answer.allowed);
        assert_eq!(answer.thumbprint, Some(pki.client_good.thumbprint()));

        let out = exchange(gw, HOST_NEGOTIATE, Client::anonymous(TLS13, &pki.server_root), "/secure/data").await;
        assert!(out.asked.is_some());
        let answer: SecureAnswer = out.json(403);
        assert_eq!(answer.failed_check.as_deref(), Some("certificate-present"));

        let denied = [
            (
                Client::with(TLS12, &pki.server_root, vec![pki.client_rogue.cert_der()], &pki.client_rogue),
                &pki.client_rogue,
                "UnknownIssuer",
            ),
            (Client::lab(TLS12, pki, &pki.client_expired), &pki.client_expired, "certificate expired"),
            (Client::lab(TLS13, pki, &pki.client_server_only_eku), &pki.client_server_only_eku, "extended key usage"),
        ];
        for (client, leaf, why) in denied {
            let out = exchange(gw, HOST_NEGOTIATE, client, "/secure/x").await;
            let answer: SecureAnswer = out.json(403);
            assert_eq!(answer.failed_check.as_deref(), Some("certificate-valid"), "{answer:?}");
            assert!(answer.reason.contains(why), "{why}: {answer:?}");
            assert_eq!(answer.thumbprint, Some(leaf.thumbprint()));
        }

        let out = exchange(gw, HOST_NO_NEGOTIATE, Client::lab(TLS13, pki, &pki.client_good), "/secure/data").await;
        let answer: SecureAnswer = out.json(403);
        assert_eq!(answer.failed_check.as_deref(), Some("certificate-present"));
        assert!(answer.reason.contains("does not negotiate"), "{answer:?}");

        // Compared like C# `==`: the lowercase form of the right thumbprint does not match.
        lab.set_allowed_thumbprints([pki.client_good.thumbprint().to_lowercase()]);
        let out = exchange(gw, HOST_NEGOTIATE, Client::lab(TLS13, pki, &pki.client_good), "/secure/data").await;
        let answer: SecureAnswer = out.json(403);
        assert_eq!(answer.failed_check.as_deref(), Some("thumbprint-allowed"));

        lab.set_allowed_thumbprints([pki.client_good.thumbprint()]);
        assert_eq!(lab.allowed_thumbprints(), vec![pki.client_good.thumbprint()]);
        let out = exchange(gw, HOST_NEGOTIATE, Client::lab(TLS12, pki, &pki.client_good), "/secure").await;
        assert!(out.json::<SecureAnswer>(200).allowed);
    })
    .await
    .expect("test within time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_gateway_forwards_to_backends_and_reports_backend_failures() {
    tokio::time::timeout(TEST_LIMIT, async {
        let lab = Lab::start().await.expect("lab");
        let pki = lab.pki();
        let gw = lab.gateway_addr();
        let get =
            |path: &'static str| exchange(gw, HOST_NO_NEGOTIATE, Client::anonymous(TLS13, &pki.server_root), path);

        let echo: BackendEcho = get("/backend/ok/hello?x=1").await.json(200);
        assert_eq!(echo.backend, "ok");
        assert_eq!(echo.echo.request.path, "/hello?x=1");
        assert_eq!(echo.echo.request.header("host").unwrap_or_default(), backend_host("ok"));
        assert_eq!(
            echo.echo.tls.client_certificate.map(|c| c.thumbprint_sha1),
            Some(pki.gateway_outbound.thumbprint())
        );
        assert!(echo.echo.tls.verdict.ok);

        let failed: BackendFailure = get("/backend/distrusts-gateway/").await.json(502);
        assert_eq!(failed.error, "BackendConnectionFailure");
        assert_eq!(failed.alert.as_deref(), Some("unknown_ca"), "{failed:?}");
        assert!(failed.gateway_presented_certificate);

        let failed: BackendFailure = get("/backend/untrusted-cert/").await.json(502);
        assert_eq!(failed.stage, "tls-handshake");
        assert_eq!(failed.certificate_error.as_deref(), Some("UnknownIssuer"), "{failed:?}");

        let failed: BackendFailure = get("/backend/wrong-name/").await.json(502);
        assert_eq!(failed.stage, "tls-handshake");
        assert!(failed.certificate_error.as_deref().is_some_and(|e| e.starts_with("NotValidForName")), "{failed:?}");
        assert!(failed.detail.contains(WRONG_NAME_HOST), "{failed:?}");

        let echo: BackendEcho = get("/backend/tls12-only").await.json(200);
        assert_eq!(echo.echo.tls.tls_version, "TLSv1.2");
        assert!(echo.echo.tls.verdict.ok);

        let echo: BackendEcho = get("/backend/optional/").await.json(200);
        assert!(echo.echo.tls.verdict.ok);

        let echo: BackendEcho = get("/backend/no-client-auth/").await.json(200);
        assert!(echo.echo.tls.client_certificate.is_none());

        assert_eq!(get("/backend/nope/").await.ok().0, 404);

        // The classic Key Vault failure: the gateway has no certificate to present.
        lab.set_gateway_presents_cert(false);
        let failed: BackendFailure = get("/backend/ok/").await.json(502);
        assert!(!failed.gateway_presented_certificate);
        assert_eq!(failed.alert.as_deref(), Some("certificate_required"), "{failed:?}");
        let echo: BackendEcho = get("/backend/optional/").await.json(200);
        assert!(echo.echo.tls.client_certificate.is_none());
        lab.set_gateway_presents_cert(true);
        let _: BackendEcho = get("/backend/ok/").await.json(200);
    })
    .await
    .expect("test within time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_backends_behave_as_documented_in_tls12_and_tls13() {
    tokio::time::timeout(TEST_LIMIT, async {
        let lab = Lab::start().await.expect("lab");
        let pki = lab.pki();
        let root = &pki.server_root;
        let addr = |name: &str| lab.backend_addr(name).expect("backend");
        let other_leaf = pki.other_ca.issue(&Spec::leaf("other-ca-client").client_only()).expect("leaf");
        for version in [TLS12, TLS13] {
            let v = if version == TLS12 { "TLS 1.2" } else { "TLS 1.3" };
            let host = backend_host;

            // ok: asks with the Gateway Client CA's name, serves the gateway, refuses others with alerts.
            let out = exchange(addr("ok"), &host("ok"), Client::gateway(version, pki, root), "/").await;
            let hints = out.asked.clone().expect("ok asks");
            assert!(hints.iter().any(|h| h.contains("CN=mtls-doctor Lab Gateway Client CA")), "{v}: {hints:?}");
            assert_eq!(out.json::<BackendEcho>(200).backend, "ok");
            let out = exchange(addr("ok"), &host("ok"), Client::lab(version, pki, &pki.client_good), "/").await;
            assert!(is_alert(out.tls_error(), AlertDescription::UnknownCA), "{v}: {out:?}");
            let out = exchange(addr("ok"), &host("ok"), Client::anonymous(version, root), "/").await;
            // rustls sends certificate_required in TLS 1.2 too (where it is not formally defined).
            assert!(is_alert(out.tls_error(), AlertDescription::CertificateRequired), "{v}: {out:?}");

            // distrusts-gateway: refuses the gateway, accepts a certificate from the Other CA.
            let name = "distrusts-gateway";
            let out = exchange(addr(name), &host(name), Client::gateway(version, pki, root), "/").await;
            assert!(is_alert(out.tls_error(), AlertDescription::UnknownCA), "{v}: {out:?}");
            let out = exchange(
                addr(name),
                &host(name),
                Client::with(version, root, vec![other_leaf.cert_der()], &other_leaf),
                "/",
            )
            .await;
            assert_eq!(out.json::<BackendEcho>(200).backend, name);

            // optional: asks, but serves with or without a certificate.
            let out = exchange(addr("optional"), &host("optional"), Client::anonymous(version, root), "/").await;
            assert!(out.asked.is_some(), "{v}");
            assert!(out.json::<BackendEcho>(200).echo.tls.client_certificate.is_none());
            let out =
                exchange(addr("optional"), &host("optional"), Client::lab(version, pki, &pki.client_good), "/").await;
            let echo = out.json::<BackendEcho>(200).echo;
            assert!(echo.tls.client_certificate.is_some() && !echo.tls.verdict.ok, "{v}: {:?}", echo.tls.verdict);

            // untrusted-cert: its certificate only verifies against the untrusted root.
            let name = "untrusted-cert";
            let out = exchange(addr(name), &host(name), Client::gateway(version, pki, root), "/").await;
            assert!(
                matches!(out.tls_error(), rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)),
                "{v}: {out:?}"
            );
            let out = exchange(addr(name), &host(name), Client::gateway(version, pki, &pki.untrusted_root), "/").await;
            assert_eq!(out.json::<BackendEcho>(200).backend, name);

            // wrong-name: its certificate is for elsewhere.lab.test.
            let name = "wrong-name";
            let out = exchange(addr(name), &host(name), Client::gateway(version, pki, root), "/").await;
            assert!(
                matches!(
                    out.tls_error(),
                    rustls::Error::InvalidCertificate(
                        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
                    )
                ),
                "{v}: {out:?}"
            );
            let out = exchange(addr(name), WRONG_NAME_HOST, Client::gateway(version, pki, root), "/").await;
            assert_eq!(out.json::<BackendEcho>(200).backend, name);

            // tls12-only: refuses TLS 1.3, and still demands the gateway's certificate.
            let name = "tls12-only";
            let out = exchange(addr(name), &host(name), Client::gateway(version, pki, root), "/").await;
            if version == TLS13 {
                assert!(out.result.is_err(), "{v}: {out:?}");
            } else {
                assert_eq!(out.json::<BackendEcho>(200).echo.tls.tls_version, "TLSv1.2");
                let out = exchange(addr(name), &host(name), Client::anonymous(version, root), "/").await;
                assert!(out.result.is_err(), "{v}: {out:?}");
            }

            // no-client-auth: never asks.
            let name = "no-client-auth";
            let out = exchange(addr(name), &host(name), Client::gateway(version, pki, root), "/").await;
            assert_eq!(out.asked, None, "{v}");
            assert_eq!(out.json::<BackendEcho>(200).echo.tls.client_certificate, None);
        }
        assert!(lab.backend_addr("nope").is_err());
        for name in BACKENDS {
            assert_ne!(addr(name), lab.gateway_addr());
        }
    })
    .await
    .expect("test within time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_material_on_disk_works_with_curl_and_openssl() {
    tokio::time::timeout(TEST_LIMIT, async {
        let lab = Lab::start().await.expect("lab");
        let dir = tempfile::tempdir().expect("tempdir");
        let files = lab.write_material(&dir.path().join("material")).expect("material written");
        let key_pem = std::fs::read_to_string(&files.client_good.key).expect("key file");
        assert!(key_pem.contains("PRIVATE KEY"));
        let debug = format!("{lab:?} {:?}", lab.pki());
        assert!(
            !debug.contains("PRIVATE KEY") && !debug.contains(key_pem.lines().nth(1).expect("key body")),
            "{debug}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&files.client_good.key).expect("key file").permissions().mode();
            assert_eq!(mode & 0o077, 0, "key readable by others: {mode:o}");
        }
        let port = lab.gateway_addr().port();
        let curl = |host: &str, cert: &mtls_doctor::lab::CertKeyFiles, path: &str| {
            let mut cmd = Command::new("curl");
            cmd.args(["-sS", "--max-time", "10", "--cacert"])
                .arg(&files.server_root)
                .arg("--resolve")
                .arg(format!("{host}:{port}:127.0.0.1"))
                .arg("--cert")
                .arg(&cert.cert)
                .arg("--key")
                .arg(&cert.key)
                .arg(format!("https://{host}:{port}{path}"));
            cmd
        };
        let out = run_peer(curl(HOST_NEGOTIATE, &files.client_good, "/secure/x"), vec![]).await;
        assert!(out.success(), "{}{}", out.stdout, out.stderr);
        let answer: SecureAnswer = serde_json::from_str(&out.stdout).expect("json");
        assert!(answer.allowed, "{answer:?}");
        let out = run_peer(curl(HOST_NEGOTIATE, &files.client_rogue, "/secure/x"), vec![]).await;
        let answer: SecureAnswer = serde_json::from_str(&out.stdout).expect("json");
        assert_eq!(answer.failed_check.as_deref(), Some("certificate-valid"));
        let out = run_peer(curl(HOST_NEGOTIATE, &files.client_good, "/echo"), vec![]).await;
        let echo: Echo = serde_json::from_str(&out.stdout).expect("json");
        assert_eq!(echo.tls.alpn.as_deref(), Some("h2"), "curl negotiates HTTP/2");

        let (ok, text) = crate::util::openssl(&[
            "verify",
            "-CAfile",
            files.client_ca.to_str().expect("path"),
            files.client_good.cert.to_str().expect("path"),
        ]);
        assert!(ok, "{text}");

        for (host, asks) in [(HOST_NEGOTIATE, true), (HOST_DEFAULT, false)] {
            let mut cmd = Command::new("openssl");
            cmd.args(["s_client", "-connect", &lab.gateway_addr().to_string(), "-servername", host, "-CAfile"])
                .arg(&files.server_root);
            let out = run_peer(cmd, vec![]).await;
            let text = format!("{}{}", out.stdout, out.stderr);
            assert!(text.contains("Verify return code: 0 (ok)"), "{host}: {text}");
            assert_eq!(text.contains("Acceptable client certificate CA names"), asks, "{host}: {text}");
            assert_eq!(text.contains("No client certificate CA names sent"), !asks, "{host}: {text}");
        }
    })
    .await
    .expect("test within time limit");
}

async fn refused(addr: SocketAddr) -> bool {
    // Aborted tasks drop their listener at their next poll: allow a moment.
    for _ in 0..50 {
        if TcpStream::connect(addr).await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_shutdown_and_drop_close_every_port() {
    tokio::time::timeout(TEST_LIMIT, async {
        let lab = Lab::start().await.expect("lab");
        let mut addrs = vec![lab.gateway_addr()];
        addrs.extend(BACKENDS.iter().map(|name| lab.backend_addr(name).expect("backend")));
        assert!(TcpStream::connect(lab.gateway_addr()).await.is_ok());
        lab.shutdown().await;
        for addr in &addrs {
            assert!(TcpStream::connect(addr).await.is_err(), "{addr} still open after shutdown");
        }

        let lab = Lab::start().await.expect("lab");
        let gateway = lab.gateway_addr();
        let ok = lab.backend_addr("ok").expect("backend");
        drop(lab);
        assert!(refused(gateway).await, "gateway still open after drop");
        assert!(refused(ok).await, "backend still open after drop");
    })
    .await
    .expect("test within time limit");
}
