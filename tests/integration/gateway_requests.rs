//! What a CertificateRequest in the handshake carries, on real peers: HAProxy `verify required`,
//! `openssl s_server -no_ca_names` and `-client_sigalgs`, with `openssl s_client` as the reference.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mtls_doctor::diagnose::{diagnose, has_errors, Observations};
use mtls_doctor::probe::{run_probe, NotSentReason};

use crate::gateways::{curl, haproxy, local_opts, s_server, Client, GatewayPki};
use crate::util::Dir;

/// `openssl s_client` with no certificate: what it printed about the server's CertificateRequest.
fn s_client_sees(port: u16) -> String {
    let mut child = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", "localhost", "-tls1_2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("s_client");
    // End of input: s_client prints the session and quits.
    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let o = child.wait_with_output().expect("s_client output");
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// HAProxy `verify required`: a missing or rogue certificate ends the handshake with an alert, the
/// good one gets 200, and the first finding names the certificate, not the network.
#[tokio::test]
async fn haproxy_verify_required_rejects_in_the_handshake() {
    let pki = GatewayPki::new();
    let gw = haproxy(&pki, "verify required ca-file {DIR}/client-ca.pem alpn h2,http/1.1", "");
    let cd = Dir::new();
    pki.write_client_files(&cd);
    for client in Client::ALL {
        for h2 in [true, false] {
            let mut o = local_opts(gw.port);
            if h2 {
                o.alpn = vec!["h2".into(), "http/1.1".into()];
            }
            let r = run_probe(&o, &pki.context(client)).await;
            let saw = curl(&cd, gw.port, "/", client, h2, None);
            assert!(r.client_cert_requested, "{client:?} h2={h2}: {:?}", r.handshake);
            assert!(r.acceptable_ca_names.iter().any(|n| n.contains("Gateway Client Root")), "{r:?}");
            if client == Client::Good {
                assert_eq!(r.http.as_ref().map(|h| h.status), Some(200), "{client:?} h2={h2}");
                assert_eq!(saw.status, 200);
                continue;
            }
            assert_eq!(r.http, None, "{client:?} h2={h2}");
            assert!(r.handshake.alert.is_some(), "{client:?} h2={h2}: the alert is named: {:?}", r.handshake);
            assert_eq!(saw.status, 0, "curl gets no response either: {}", saw.stderr);
            let probes = [r];
            let findings = diagnose(&Observations::new(&probes));
            assert!(has_errors(&findings), "{client:?} h2={h2}: {findings:?}");
            let first = findings.first().map(|f| f.id.as_str()).unwrap_or_default();
            let want: &[&str] = if client == Client::Missing {
                &["client-cert-missing", "gateway-rejected-client-cert"]
            } else {
                &["client-cert-ca-not-acceptable", "gateway-rejected-client-cert", "client-chain-untrusted"]
            };
            assert!(want.contains(&first), "{client:?} h2={h2}: first finding {first}: {findings:?}");
        }
    }
}

/// `-no_ca_names`: the request names no CA. The probe records an empty list (and still offers the
/// certificate), as s_client reports "No client certificate CA names sent".
#[tokio::test]
async fn s_server_no_ca_names_sends_an_empty_list() {
    let pki = GatewayPki::new();
    let gw = s_server(&pki, &["-verify", "1", "-CAfile", "{DIR}/client-ca.pem", "-no_ca_names"]);
    // s_client first: `s_server -www` serves one connection at a time.
    let seen = s_client_sees(gw.port);
    assert!(seen.contains("No client certificate CA names sent"), "{seen}");
    let r = run_probe(&local_opts(gw.port), &pki.context(Client::Good)).await;
    assert!(r.client_cert_requested, "{:?}", r.handshake);
    assert!(r.acceptable_ca_names.is_empty(), "{:?}", r.acceptable_ca_names);
    assert!(r.client_cert_sent, "with no names any certificate may be sent: {:?}", r.client_cert_not_sent_reason);
    assert_eq!(r.http.as_ref().map(|h| h.status), Some(200), "{:?}", r.http_error);
    // Without -no_ca_names the same server lists them, for both tools.
    let named = s_server(&pki, &["-verify", "1", "-CAfile", "{DIR}/client-ca.pem"]);
    assert!(s_client_sees(named.port).contains("Gateway Client Root"));
    let r = run_probe(&local_opts(named.port), &pki.context(Client::Good)).await;
    assert!(r.acceptable_ca_names.iter().any(|n| n.contains("Gateway Client Root")), "{:?}", r.acceptable_ca_names);
}

/// `-client_sigalgs`: the request lists only those schemes. When the client's key (ECDSA P-256)
/// can sign with none of them, the probe records why it sent no certificate.
#[tokio::test]
async fn s_server_client_sigalgs_are_the_requested_schemes() {
    let pki = GatewayPki::new();
    let only = ["-verify", "1", "-CAfile", "{DIR}/client-ca.pem", "-client_sigalgs", "RSA-PSS+SHA256:RSA+SHA384"];
    let gw = s_server(&pki, &only);
    let seen = s_client_sees(gw.port);
    assert!(seen.contains("Requested Signature Algorithms: RSA-PSS+SHA256:RSA+SHA384"), "{seen}");
    let mut o = local_opts(gw.port);
    o.tls_version = Some(mtls_doctor::probe::TlsVersionPin::Tls12);
    let r = run_probe(&o, &pki.context(Client::Good)).await;
    assert!(r.client_cert_requested, "{:?}", r.handshake);
    assert_eq!(r.requested_signature_schemes, vec!["rsa_pss_rsae_sha256", "rsa_pkcs1_sha384"]);
    assert!(!r.client_cert_sent);
    assert_eq!(r.client_cert_not_sent_reason, Some(NotSentReason::NoCommonSignatureScheme));
    let fits = s_server(&pki, &["-verify", "1", "-CAfile", "{DIR}/client-ca.pem", "-client_sigalgs", "ECDSA+SHA256"]);
    let mut o = local_opts(fits.port);
    o.tls_version = Some(mtls_doctor::probe::TlsVersionPin::Tls12);
    let r = run_probe(&o, &pki.context(Client::Good)).await;
    assert_eq!(r.requested_signature_schemes, vec!["ecdsa_secp256r1_sha256"]);
    assert!(r.client_cert_sent, "{:?}", r.client_cert_not_sent_reason);
}
