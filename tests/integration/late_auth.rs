//! Certificates asked for after the handshake, against real gateways: Apache's `SSLVerifyClient
//! require` inside a `<Location>` (renegotiation on TLS 1.2, PHA on TLS 1.3, HTTP_1_1_REQUIRED on
//! h2), compared with what curl and `openssl s_client -enable_pha` see.

use std::net::SocketAddr;
use std::time::Duration;

use mtls_doctor::probe::late::{run_late_auth, LateAuthRequest, LateIdentity, LateMethod};
use zeroize::Zeroizing;

use mtls_doctor::probe::{run_probe, HttpFailureKind, LateCertRequest, LateWhen, ProbeOptions, TlsVersionPin};

use crate::gateways::{
    apache, curl, http_status_in, local_opts, python_server, s_client_pha, Client, GatewayPki, PyMode,
};
use crate::util::Dir;

pub const APACHE_LATE: &str = "<Location /secure>\n  SSLVerifyClient require\n  SSLVerifyDepth 3\n</Location>";

pub fn late_request(pki: &GatewayPki, port: u16, client: Client, how: LateMethod) -> LateAuthRequest {
    let identity = match client {
        Client::Good => Some(LateIdentity {
            chain_der: vec![pki.client.der.clone(), pki.client_issuing.der.clone()],
            key_der: Zeroizing::new(pki.client.key_der()),
        }),
        Client::Rogue => {
            Some(LateIdentity { chain_der: vec![pki.rogue.der.clone()], key_der: Zeroizing::new(pki.rogue.key_der()) })
        }
        Client::Missing => None,
    };
    LateAuthRequest {
        address: SocketAddr::from(([127, 0, 0, 1], port)),
        server_name: "localhost".into(),
        authority: format!("localhost:{port}"),
        method: "GET".into(),
        path: "/secure/".into(),
        headers: vec![],
        body: None,
        how,
        identity,
        timeout: Duration::from_secs(15),
    }
}

#[test]
fn openssl_engine_answers_apache_renegotiation_like_curl() {
    let pki = GatewayPki::new();
    let gw = apache(&pki, "http/1.1", APACHE_LATE);
    let cd = Dir::new();
    pki.write_client_files(&cd);
    for client in Client::ALL {
        let run = run_late_auth(&late_request(&pki, gw.port, client, LateMethod::Renegotiation));
        let saw = curl(&cd, gw.port, "/secure/", client, false, Some("1.2"));
        assert!(run.offered);
        assert_eq!(run.tls_version.as_deref(), Some("TLSv1.2"), "{run:?}");
        assert!(run.server_renegotiated, "{client:?}: Apache renegotiates for /secure: {run:?}\n{}", gw.log());
        assert_eq!(run.http_status.unwrap_or(0), saw.status, "{client:?}: engine {run:?} vs curl {}", saw.stderr);
        if client == Client::Good {
            assert_eq!(run.http_status, Some(200), "{run:?}");
            assert_eq!(run.body_preview, "secure page\n");
        } else {
            assert_eq!(run.http_status, None, "{client:?}: Apache fails the renegotiation: {run:?}");
            assert!(run.error.is_some());
            // curl (OpenSSL too) reports the same alert on its SSL_read.
            let (alert, curl_words) = if client == Client::Missing {
                ("handshake_failure", "alert handshake failure")
            } else {
                ("unknown_ca", "alert unknown ca")
            };
            assert_eq!(run.alert.as_deref(), Some(alert), "{run:?}");
            assert!(saw.stderr.contains(curl_words), "{}", saw.stderr);
        }
    }
}

/// The Python `ssl` PHA mode (`verify_client_post_handshake` after the request): the engine offers
/// PHA, the server asks after the handshake, and the run records the late request's contents.
#[test]
fn openssl_engine_offers_pha_and_reads_the_late_request() {
    let pki = GatewayPki::new();
    let gw = python_server(&pki, PyMode::PostHandshake);
    let good = run_late_auth(&late_request(&pki, gw.port, Client::Good, LateMethod::Pha));
    assert!(good.offered, "{good:?}");
    assert_eq!(good.tls_version.as_deref(), Some("TLSv1.3"));
    assert!(!good.requested_in_handshake, "{good:?}");
    assert!(good.late_request_seen, "{good:?}\n{}", gw.log());
    assert!(!good.server_renegotiated, "TLS 1.3 never renegotiates");
    assert_eq!(good.http_status, Some(200), "{good:?}\n{}", gw.log());
    assert!(good.body_preview.contains("client one"), "{good:?}");
    // The request lists the server's signature schemes; an ECDSA P-256 client key can use one.
    assert!(good.signature_schemes.iter().any(|s| s == "ecdsa_secp256r1_sha256"), "{good:?}");
    assert!(good.shared_signature_schemes.iter().any(|s| s == "ecdsa_secp256r1_sha256"), "{good:?}");
    let missing = run_late_auth(&late_request(&pki, gw.port, Client::Missing, LateMethod::Pha));
    assert!(missing.late_request_seen, "{missing:?}");
    // Python's CERT_REQUIRED answers an empty Certificate with the certificate_required alert.
    assert_eq!(missing.http_status, None, "{missing:?}\n{}", gw.log());
    assert_eq!(missing.alert.as_deref(), Some("certificate_required"), "{missing:?}");
    // openssl s_client -enable_pha gets the same: 200 with the certificate, the alert without.
    let cd = Dir::new();
    pki.write_client_files(&cd);
    let out = s_client_pha(&cd, gw.port, "/", Client::Good, "-tls1_3");
    assert_eq!(http_status_in(&out), Some(200), "{out}");
    assert!(out.contains("client client one"), "{out}");
    let out = s_client_pha(&cd, gw.port, "/", Client::Missing, "-tls1_3");
    assert_eq!(http_status_in(&out), None, "{out}");
    assert!(out.contains("alert certificate required"), "{out}");
    // Renegotiation is not PHA: over TLS 1.2 nothing asks.
    let plain = run_late_auth(&late_request(&pki, gw.port, Client::Good, LateMethod::Renegotiation));
    assert!(!plain.late_request_seen && plain.http_status.is_none(), "the server is TLS 1.3 only: {plain:?}");
}

fn probe_opts(port: u16, pin: TlsVersionPin, alpn: &str) -> ProbeOptions {
    let mut o = local_opts(port);
    o.path = "/secure/".into();
    o.tls_version = Some(pin);
    o.alpn = alpn.split(',').map(String::from).collect();
    o
}

/// TLS 1.2 over HTTP/1.1: rustls refuses the HelloRequest and Apache fails the request; the probe
/// records the late request and the OpenSSL re-run gets what curl gets.
#[tokio::test]
async fn apache_location_require_on_tls12_is_a_late_request_and_the_rerun_matches_curl() {
    let pki = GatewayPki::new();
    let gw = apache(&pki, "h2 http/1.1", APACHE_LATE);
    let cd = Dir::new();
    pki.write_client_files(&cd);
    let r = run_probe(&probe_opts(gw.port, TlsVersionPin::Tls12, "http/1.1"), &pki.context(Client::Good)).await;
    assert_eq!(r.tls.version.as_deref(), Some("TLSv1.2"));
    assert!(!r.client_cert_requested, "nothing asked during the handshake");
    assert_eq!(
        r.late_cert_request,
        Some(LateCertRequest { how: LateMethod::Renegotiation, when: LateWhen::AfterRequest })
    );
    assert_eq!(r.handshake.alert.as_deref(), Some("handshake_failure"), "Apache's answer to no_renegotiation");
    assert_eq!(r.late_auth.len(), 1, "{:?}", r.late_auth);
    let rerun = &r.late_auth[0];
    assert!(rerun.offered && rerun.server_renegotiated, "{rerun:?}");
    let saw = curl(&cd, gw.port, "/secure/", Client::Good, false, Some("1.2"));
    assert_eq!(rerun.http_status, Some(saw.status), "curl: {}", saw.stderr);
    assert_eq!(saw.status, 200);
    let text = mtls_doctor::report::probe_text(&r);
    assert!(text.contains("Asked late  TLS 1.2 renegotiation after the HTTP request arrived"), "{text}");
    assert!(text.contains("Re-run      TLS 1.2 renegotiation with the certificate: asked late (CA names"), "{text}");
}

/// TLS 1.3 over HTTP/1.1: Apache uses PHA, which rustls does not offer, so it answers 403. The
/// re-run offers PHA and gets 200 like curl and `s_client -enable_pha`, records the late request's
/// CA names (Apache's SSLCACertificateFile) and schemes, and TLS 1.2 renegotiation gets 200 too.
#[tokio::test]
async fn apache_location_require_on_tls13_answers_403_without_pha() {
    let pki = GatewayPki::new();
    let gw = apache(&pki, "h2 http/1.1", APACHE_LATE);
    let cd = Dir::new();
    pki.write_client_files(&cd);
    let r = run_probe(&probe_opts(gw.port, TlsVersionPin::Tls13, "http/1.1"), &pki.context(Client::Good)).await;
    assert_eq!(r.tls.version.as_deref(), Some("TLSv1.3"));
    assert!(!r.client_cert_requested);
    assert_eq!(r.late_cert_request, None, "a PHA request is never sent to a client that did not offer PHA");
    assert_eq!(r.http.as_ref().map(|h| h.status), Some(403));
    let how: Vec<_> = r.late_auth.iter().map(|l| (l.how, l.offered)).collect();
    assert_eq!(how, vec![(LateMethod::Pha, true), (LateMethod::Renegotiation, true)]);
    let pha = &r.late_auth[0];
    assert!(pha.late_request_seen && !pha.requested_in_handshake, "{pha:?}\n{}", gw.log());
    assert_eq!(pha.http_status, Some(200), "{pha:?}\n{}", gw.log());
    assert!(pha.acceptable_ca_names.iter().any(|n| n.contains("Gateway Client Root")), "{pha:?}");
    assert!(!pha.signature_schemes.is_empty() && !pha.shared_signature_schemes.is_empty(), "{pha:?}");
    assert_eq!(r.late_auth[1].http_status, Some(200), "{:?}", r.late_auth[1]);
    assert!(r.late_auth[1].acceptable_ca_names.iter().any(|n| n.contains("Gateway Client Root")));
    assert!(r.late_auth[1].server_renegotiated);
    let saw = curl(&cd, gw.port, "/secure/", Client::Good, false, Some("1.3"));
    assert_eq!(saw.status, 200, "curl offers PHA: {}", saw.stderr);
    let out = s_client_pha(&cd, gw.port, "/secure/", Client::Good, "-tls1_3");
    assert_eq!(http_status_in(&out), Some(200), "{out}");
    let out = s_client_pha(&cd, gw.port, "/secure/", Client::Missing, "-tls1_3");
    assert_ne!(http_status_in(&out), Some(200), "{out}");
}

/// h2: Apache ends the stream with HTTP_1_1_REQUIRED; the probe names the code and retries over
/// HTTP/1.1 (as curl does), where the renegotiation shows.
#[tokio::test]
async fn apache_location_require_on_h2_asks_for_http11_and_the_probe_retries() {
    let pki = GatewayPki::new();
    let gw = apache(&pki, "h2 http/1.1", APACHE_LATE);
    let cd = Dir::new();
    pki.write_client_files(&cd);
    let r = run_probe(&probe_opts(gw.port, TlsVersionPin::Tls12, "h2,http/1.1"), &pki.context(Client::Good)).await;
    assert_eq!(r.tls.alpn.as_deref(), Some("h2"));
    assert_eq!(r.http_failure, Some(HttpFailureKind::Http2 { code: "HTTP_1_1_REQUIRED".into(), by_peer: true }));
    assert!(r.http_error_chain.len() >= 2, "{:?}", r.http_error_chain);
    let retry = r.http1_retry.as_ref().expect("retried over HTTP/1.1");
    assert_eq!(retry.tls.alpn.as_deref(), Some("http/1.1"));
    assert_eq!(retry.late_cert_request.map(|l| l.how), Some(LateMethod::Renegotiation));
    assert_eq!(retry.late_auth.first().and_then(|l| l.http_status), Some(200));
    let saw = curl(&cd, gw.port, "/secure/", Client::Good, true, Some("1.2"));
    assert_eq!(saw.status, 200, "curl retries over HTTP/1.1 and renegotiates: {}", saw.stderr);
    // The public page is served over h2 without any of this.
    let mut o = probe_opts(gw.port, TlsVersionPin::Tls12, "h2,http/1.1");
    o.path = "/".into();
    let r = run_probe(&o, &pki.context(Client::Good)).await;
    assert_eq!(r.http.as_ref().map(|h| (h.status, h.version.as_str())), Some((200, "HTTP/2")));
    assert!(r.http1_retry.is_none() && r.late_auth.is_empty() && r.late_cert_request.is_none());
}
