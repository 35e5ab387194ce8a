//! Probes against real peers: `openssl s_server` (which really sends the alerts) and nginx (which
//! never does: it answers HTTP 400 instead).

use mtls_doctor::cert::Certificate;
use mtls_doctor::pki::{Issued, Spec};
use mtls_doctor::probe::{
    run_probe, ClientIdentity, NotSentReason, ProbeContext, ProbeOptions, TlsFailure, TlsVersionPin,
};
use mtls_doctor::verify::TrustStore;

use crate::peers::{nginx, nginx_binary, s_server};
use crate::util::Dir;

pub struct Material {
    pub dir: Dir,
    pub server_root: Issued,
    pub _client_root: Issued,
    pub client_issuing: Issued,
    pub _server: Issued,
    pub client: Issued,
    pub rogue: Issued,
}

impl Material {
    pub fn new() -> Self {
        let dir = Dir::new();
        let server_root = Issued::self_signed(&Spec::ca("Peer Server Root")).expect("root");
        let client_root = Issued::self_signed(&Spec::ca("Peer Client Root")).expect("root");
        let client_issuing = client_root.issue(&Spec::ca("Peer Client Issuing CA")).expect("ica");
        let server =
            server_root.issue(&Spec::leaf("localhost").sans(&["localhost", "127.0.0.1"]).server_only()).expect("srv");
        let client = client_issuing.issue(&Spec::leaf("client one").client_only()).expect("client");
        let rogue_root = Issued::self_signed(&Spec::ca("Rogue Root")).expect("rogue root");
        let rogue = rogue_root.issue(&Spec::leaf("rogue client").client_only()).expect("rogue");
        dir.write_issued("server", &server);
        dir.write("server-root.pem", server_root.cert_pem());
        dir.write("client-ca.pem", format!("{}{}", client_root.cert_pem(), client_issuing.cert_pem()));
        Material { dir, server_root, _client_root: client_root, client_issuing, _server: server, client, rogue }
    }

    pub fn trust(&self) -> TrustStore {
        let root = Certificate::from_der(self.server_root.der.clone(), "server-root.pem").expect("root");
        TrustStore {
            source: "server-root.pem".into(),
            certs: vec![root].into(),
            anchors: vec![],
            prepared: Default::default(),
        }
    }

    pub fn identity(&self, leaf: &Issued, chain: &[&Issued]) -> ClientIdentity {
        let mut certs = vec![Certificate::from_der(leaf.der.clone(), "leaf").expect("leaf")];
        certs.extend(chain.iter().map(|c| Certificate::from_der(c.der.clone(), "chain").expect("chain")));
        ClientIdentity::new(certs, &leaf.private_key_der(), "test identity").expect("identity")
    }

    pub fn s_server_strict(&self, extra: &[&str]) -> crate::peers::Peer {
        let mut args = vec!["-Verify", "1", "-verify_return_error", "-www"];
        let ca = self.dir.path("client-ca.pem");
        let ca = ca.to_str().expect("utf8");
        args.extend(["-CAfile", ca]);
        args.extend(extra);
        s_server(&self.dir.path("server.pem"), &self.dir.path("server.key"), &args)
    }
}

fn opts(port: u16) -> ProbeOptions {
    let mut o = ProbeOptions::new("localhost", port);
    o.connect_to = Some(format!("127.0.0.1:{port}"));
    o
}

#[tokio::test]
async fn openssl_strict_server_tls13_accepts_good_cert_and_rejects_missing_one_after_handshake() {
    let m = Material::new();
    let peer = m.s_server_strict(&[]);
    let ctx = ProbeContext { identity: Some(m.identity(&m.client, &[&m.client_issuing])), trust: m.trust() };
    let r = run_probe(&opts(peer.port), &ctx).await;

    assert!(r.handshake.ok, "handshake: {:?}", r.handshake);
    assert_eq!(r.tls.version.as_deref(), Some("TLSv1.3"));
    assert!(r.client_cert_requested);
    assert!(r.client_cert_sent);
    // s_server sends the subjects of every certificate in -CAfile.
    assert_eq!(
        r.acceptable_ca_names,
        vec![
            "CN=Peer Client Root, O=mtls-doctor lab".to_string(),
            "CN=Peer Client Issuing CA, O=mtls-doctor lab".to_string()
        ]
    );
    let http = r.http.as_ref().expect("http result");
    assert_eq!(http.status, 200);
    assert!(http.body_preview.contains("s_server"), "{}", http.body_preview);
    assert_eq!(r.server_chain.len(), 1);
    assert_eq!(r.server_chain[0].subject, "CN=localhost, O=mtls-doctor lab");
    assert_eq!(r.client_chain.len(), 2);

    let without = r.compare_without_cert.as_ref().expect("compared without the certificate");
    assert!(without.client_cert_requested);
    assert!(!without.client_cert_sent);
    assert_eq!(without.client_cert_not_sent_reason, Some(NotSentReason::NoneConfigured));
    assert!(!without.handshake.ok);
    assert!(without.handshake.rejected_after_handshake, "TLS 1.3: the rejection comes on the first read");
    assert_eq!(without.handshake.alert.as_deref(), Some("certificate_required"));
    assert_eq!(without.handshake.failure, Some(TlsFailure::AlertReceived { alert: "certificate_required".into() }));
    assert!(without.http.is_none());
}

#[tokio::test]
async fn openssl_strict_server_tls12_fails_the_handshake_itself() {
    let m = Material::new();
    let peer = m.s_server_strict(&[]);
    let mut o = opts(peer.port);
    o.tls_version = Some(TlsVersionPin::Tls12);
    let ctx = ProbeContext { identity: None, trust: m.trust() };
    let r = run_probe(&o, &ctx).await;
    assert!(r.client_cert_requested);
    assert!(!r.handshake.ok);
    assert!(!r.handshake.rejected_after_handshake, "TLS 1.2: connect() itself fails");
    assert_eq!(r.handshake.alert.as_deref(), Some("handshake_failure"));
    assert!(r.compare_without_cert.is_none(), "no certificate configured: nothing to compare");
}

#[tokio::test]
async fn openssl_server_rejects_rogue_client_cert_with_unknown_ca() {
    let m = Material::new();
    let peer = m.s_server_strict(&[]);
    for pin in [TlsVersionPin::Tls13, TlsVersionPin::Tls12] {
        let mut o = opts(peer.port);
        o.tls_version = Some(pin);
        let ctx = ProbeContext { identity: Some(m.identity(&m.rogue, &[])), trust: m.trust() };
        let r = run_probe(&o, &ctx).await;
        assert!(r.client_cert_sent, "{pin:?}");
        assert!(!r.handshake.ok, "{pin:?}");
        assert_eq!(r.handshake.alert.as_deref(), Some("unknown_ca"), "{pin:?}: {:?}", r.handshake);
        assert_eq!(r.handshake.rejected_after_handshake, pin == TlsVersionPin::Tls13);
    }
}

#[tokio::test]
async fn no_http_mode_still_catches_tls13_rejection() {
    let m = Material::new();
    let peer = m.s_server_strict(&[]);
    let mut o = opts(peer.port);
    o.no_http = true;
    let ctx = ProbeContext { identity: None, trust: m.trust() };
    let r = run_probe(&o, &ctx).await;
    assert!(r.http.is_none());
    assert!(!r.handshake.ok);
    assert!(r.handshake.rejected_after_handshake);
    assert_eq!(r.handshake.alert.as_deref(), Some("certificate_required"));
}

#[tokio::test]
async fn server_that_does_not_ask_gets_no_certificate() {
    let m = Material::new();
    let peer = s_server(&m.dir.path("server.pem"), &m.dir.path("server.key"), &["-www"]);
    let ctx = ProbeContext { identity: Some(m.identity(&m.client, &[])), trust: m.trust() };
    let r = run_probe(&opts(peer.port), &ctx).await;
    assert!(r.handshake.ok);
    assert!(!r.client_cert_requested);
    assert!(!r.client_cert_sent);
    assert_eq!(r.client_cert_not_sent_reason, Some(NotSentReason::NotRequested));
    assert!(r.compare_without_cert.is_none());
    assert_eq!(r.http.as_ref().map(|h| h.status), Some(200));
}

#[tokio::test]
async fn refused_port_is_a_tcp_result_not_an_error() {
    let port = crate::peers::free_port();
    let m = Material::new();
    let ctx = ProbeContext { identity: None, trust: m.trust() };
    let r = run_probe(&opts(port), &ctx).await;
    assert!(!r.tcp.connected);
    assert_eq!(r.failed_phase, Some(mtls_doctor::probe::Phase::Tcp));
    assert_eq!(r.tcp.attempts.len(), 1);
    assert_eq!(r.tcp.attempts[0].outcome, mtls_doctor::probe::TcpOutcome::Refused);
}

fn nginx_site(m: &Material, verify_client: &str) -> String {
    format!(
        "server {{\n listen 127.0.0.1:{{PORT}} ssl;\n ssl_protocols TLSv1.2 TLSv1.3;\n ssl_certificate {d}/server.pem;\n \
         ssl_certificate_key {d}/server.key;\n ssl_client_certificate {d}/client-ca.pem;\n ssl_verify_client {verify_client};\n \
         ssl_verify_depth 3;\n location / {{\n  if ($ssl_client_verify != SUCCESS) {{ return 403 \"client cert: $ssl_client_verify\\n\"; }}\n  \
         return 200 \"hello $ssl_client_s_dn\\n\";\n }}\n}}\n",
        d = m.dir.tmp.path().display()
    )
}

#[tokio::test]
async fn nginx_verify_on_answers_400_without_an_alert() {
    assert!(nginx_binary().is_some(), "nginx is required for this test: apt-get install -y nginx (.ci/run does this)");
    let m = Material::new();
    let ndir = Dir::new();
    let peer = nginx(ndir.tmp.path(), &nginx_site(&m, "on"));
    let ctx = ProbeContext { identity: Some(m.identity(&m.client, &[&m.client_issuing])), trust: m.trust() };
    let r = run_probe(&opts(peer.port), &ctx).await;
    assert!(r.handshake.ok, "{:?}", r.handshake);
    assert!(r.client_cert_requested && r.client_cert_sent);
    assert_eq!(r.http.as_ref().map(|h| h.status), Some(200), "{:?}", r.http);
    let without = r.compare_without_cert.as_ref().expect("compare");
    assert!(without.handshake.ok, "nginx completes the handshake and answers HTTP");
    assert_eq!(without.http.as_ref().map(|h| h.status), Some(400));
}

#[tokio::test]
async fn nginx_optional_no_ca_lets_policy_answer_403() {
    assert!(nginx_binary().is_some(), "nginx is required for this test: apt-get install -y nginx (.ci/run does this)");
    let m = Material::new();
    let ndir = Dir::new();
    let peer = nginx(ndir.tmp.path(), &nginx_site(&m, "optional_no_ca"));
    let ctx = ProbeContext { identity: Some(m.identity(&m.rogue, &[])), trust: m.trust() };
    let r = run_probe(&opts(peer.port), &ctx).await;
    assert!(r.handshake.ok);
    assert!(r.client_cert_sent);
    let http = r.http.as_ref().expect("http");
    assert_eq!(http.status, 403);
    assert!(http.body_preview.starts_with("client cert: FAILED"), "{}", http.body_preview);
    let good = ProbeContext { identity: Some(m.identity(&m.client, &[&m.client_issuing])), trust: m.trust() };
    let r = run_probe(&opts(peer.port), &good).await;
    assert_eq!(r.http.as_ref().map(|h| h.status), Some(200));
    assert!(r.http.as_ref().map(|h| h.body_preview.contains("CN=client one")).unwrap_or(false));
}

#[tokio::test]
async fn nginx_optional_still_answers_400_for_an_untrusted_cert() {
    assert!(nginx_binary().is_some(), "nginx is required for this test: apt-get install -y nginx (.ci/run does this)");
    let m = Material::new();
    let ndir = Dir::new();
    let peer = nginx(ndir.tmp.path(), &nginx_site(&m, "optional"));
    let rogue = ProbeContext { identity: Some(m.identity(&m.rogue, &[])), trust: m.trust() };
    let r = run_probe(&opts(peer.port), &rogue).await;
    assert!(r.handshake.ok, "nginx sends no alert: {:?}", r.handshake);
    assert!(r.client_cert_sent);
    assert_eq!(r.http.as_ref().map(|h| h.status), Some(400), "optional + untrusted = 400, not our 403");
    let none = ProbeContext { identity: None, trust: m.trust() };
    let r = run_probe(&opts(peer.port), &none).await;
    assert_eq!(r.http.as_ref().map(|h| h.status), Some(403), "optional without a certificate reaches the location");
}

/// nginx as a gateway: it presents `proxy_ssl_certificate` to an `openssl s_server` backend that
/// requires a client certificate. Without it the backend refuses and nginx answers 502.
#[tokio::test]
async fn nginx_gateway_presents_proxy_ssl_certificate_to_strict_backend() {
    assert!(nginx_binary().is_some(), "nginx is required for this test: apt-get install -y nginx (.ci/run does this)");
    let m = Material::new();
    // The backend trusts the client CA; the gateway's outbound identity is the good client.
    m.dir.write_issued("gw-out", &m.client);
    m.dir.write("gw-out-chain.pem", format!("{}{}", m.client.cert_pem(), m.client_issuing.cert_pem()));
    let backend = m.s_server_strict(&[]);
    let d = m.dir.tmp.path().display().to_string();
    let site = |with_cert: bool| {
        let cert = if with_cert {
            format!("  proxy_ssl_certificate {d}/gw-out-chain.pem;\n  proxy_ssl_certificate_key {d}/gw-out.key;\n")
        } else {
            String::new()
        };
        format!(
            "server {{\n listen 127.0.0.1:{{PORT}} ssl;\n ssl_protocols TLSv1.2 TLSv1.3;\n ssl_certificate {d}/server.pem;\n ssl_certificate_key {d}/server.key;\n location / {{\n  proxy_pass https://127.0.0.1:{port};\n  proxy_ssl_protocols TLSv1.2 TLSv1.3;\n  proxy_ssl_session_reuse off;\n{cert}  proxy_ssl_server_name on;\n  proxy_ssl_name localhost;\n }}\n}}\n",
            port = backend.port
        )
    };
    let ctx = ProbeContext { identity: None, trust: m.trust() };
    let ndir = Dir::new();
    let gw = nginx(ndir.tmp.path(), &site(true));
    let r = run_probe(&opts(gw.port), &ctx).await;
    assert_eq!(r.http.as_ref().map(|h| h.status), Some(200), "{:?} {:?}", r.http, r.http_error);
    drop(gw);
    let ndir2 = Dir::new();
    let gw = nginx(ndir2.tmp.path(), &site(false));
    let r = run_probe(&opts(gw.port), &ctx).await;
    assert_eq!(r.http.as_ref().map(|h| h.status), Some(502), "no proxy_ssl_certificate: the backend refuses");
    // And the outbound probe, standing in for the gateway, says why.
    let mut o = opts(backend.port);
    o.role = mtls_doctor::probe::ProbeRole::Outbound;
    let r = run_probe(&o, &ctx).await;
    assert!(r.client_cert_requested && !r.client_cert_sent);
    assert_eq!(r.handshake.alert.as_deref(), Some("certificate_required"));
}
