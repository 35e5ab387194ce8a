//! Certificates asked for after the handshake, against real gateways: Apache's `SSLVerifyClient
//! require` inside a `<Location>` (renegotiation on TLS 1.2, PHA on TLS 1.3, HTTP_1_1_REQUIRED on
//! h2), compared with what curl and `openssl s_client -enable_pha` see.

use std::net::SocketAddr;
use std::time::Duration;

use mtls_doctor::probe::late::{run_late_auth, LateAuthRequest, LateIdentity, LateMethod};
use zeroize::Zeroizing;

use crate::gateways::{apache, curl, Client, GatewayPki};
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

#[test]
fn openssl_engine_says_it_cannot_offer_pha() {
    let pki = GatewayPki::new();
    let run = run_late_auth(&late_request(&pki, 9, Client::Good, LateMethod::Pha));
    assert!(!run.offered);
    assert!(run.not_offered_reason.as_deref().unwrap_or_default().contains("SSL_set_post_handshake_auth"));
    assert_eq!(run.http_status, None);
}
