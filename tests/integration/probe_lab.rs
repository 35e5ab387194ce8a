//! Every probe behaviour against the in-process lab, for TLS 1.2 and TLS 1.3: negotiation or not,
//! acceptable CA names, the policy-like 403, forwarding and 502, backends that require, distrust or
//! mis-serve certificates, version mismatch, HTTP/2 by ALPN.

use std::time::Duration;

use mtls_doctor::cert::Certificate;
use mtls_doctor::lab::{self, Lab};
use mtls_doctor::probe::{
    run_probe, ClientIdentity, NotSentReason, ProbeContext, ProbeOptions, ProbeResult, ProbeRole, TlsFailure,
    TlsVersionPin,
};
use mtls_doctor::verify::TrustStore;

const BOTH: [TlsVersionPin; 2] = [TlsVersionPin::Tls12, TlsVersionPin::Tls13];

fn version_name(v: TlsVersionPin) -> &'static str {
    match v {
        TlsVersionPin::Tls12 => "TLSv1.2",
        TlsVersionPin::Tls13 => "TLSv1.3",
    }
}

fn trust(lab: &Lab) -> TrustStore {
    let root = Certificate::from_der(lab.pki().server_root.der.clone(), "server root").expect("root");
    TrustStore::from_certs("lab server root", vec![root])
}

fn identity(leaf: &mtls_doctor::pki::Issued, chain: &[&mtls_doctor::pki::Issued]) -> ClientIdentity {
    let mut certs = vec![Certificate::from_der(leaf.der.clone(), "leaf").expect("leaf")];
    certs.extend(chain.iter().map(|c| Certificate::from_der(c.der.clone(), "chain").expect("chain")));
    ClientIdentity::new(certs, &leaf.private_key_der(), "lab identity").expect("identity")
}

fn gateway_opts(lab: &Lab, host: &str, path: &str, v: TlsVersionPin) -> ProbeOptions {
    let mut o = ProbeOptions::new(host, 443);
    o.connect_to = Some(lab.gateway_addr().to_string());
    o.path = path.into();
    o.tls_version = Some(v);
    o
}

fn backend_opts(lab: &Lab, name: &str, v: Option<TlsVersionPin>) -> ProbeOptions {
    let mut o = ProbeOptions::new(&lab::backend_host(name), 443);
    o.role = ProbeRole::Outbound;
    o.connect_to = Some(lab.backend_addr(name).expect("backend").to_string());
    o.tls_version = v;
    o
}

async fn probe(o: &ProbeOptions, ctx: &ProbeContext) -> ProbeResult {
    tokio::time::timeout(Duration::from_secs(30), run_probe(o, ctx)).await.expect("probe is bounded")
}

#[tokio::test]
async fn negotiating_hostname_asks_with_client_ca_names_and_passes_good_cert() {
    let lab = Lab::start().await.expect("lab");
    let pki = lab.pki();
    let ctx = ProbeContext { identity: Some(identity(&pki.client_good, &[&pki.client_issuing])), trust: trust(&lab) };
    for v in BOTH {
        let r = probe(&gateway_opts(&lab, lab::HOST_NEGOTIATE, "/secure/x", v), &ctx).await;
        assert!(r.handshake.ok, "{v:?}: {:?}", r.handshake);
        assert_eq!(r.tls.version.as_deref(), Some(version_name(v)));
        assert!(r.client_cert_requested && r.client_cert_sent, "{v:?}");
        assert!(
            r.acceptable_ca_names.iter().any(|n| n.contains("Client")),
            "{v:?}: acceptable names {:?}",
            r.acceptable_ca_names
        );
        assert_eq!(r.server_verify.as_ref().map(|s| s.code), Some(0), "{v:?}");
        assert_eq!(r.http.as_ref().map(|h| h.status), Some(200), "{v:?}");
        let without = r.compare_without_cert.as_ref().expect("compared");
        assert!(without.handshake.ok, "the gateway asks but does not require: the policy decides");
        assert_eq!(without.client_cert_not_sent_reason, Some(NotSentReason::NoneConfigured));
        assert_eq!(without.http.as_ref().map(|h| h.status), Some(403), "{v:?}");
    }
    lab.shutdown().await;
}

#[tokio::test]
async fn non_negotiating_and_default_hostnames_never_ask() {
    let lab = Lab::start().await.expect("lab");
    let pki = lab.pki();
    let ctx = ProbeContext { identity: Some(identity(&pki.client_good, &[])), trust: trust(&lab) };
    for host in [lab::HOST_NO_NEGOTIATE, lab::HOST_DEFAULT] {
        for v in BOTH {
            let r = probe(&gateway_opts(&lab, host, "/secure/x", v), &ctx).await;
            assert!(r.handshake.ok, "{host} {v:?}");
            assert!(!r.client_cert_requested, "{host} {v:?}");
            assert!(!r.client_cert_sent);
            assert_eq!(r.client_cert_not_sent_reason, Some(NotSentReason::NotRequested));
            assert!(r.compare_without_cert.is_none());
            assert_eq!(r.http.as_ref().map(|h| h.status), Some(403), "{host} {v:?}: the policy sees no certificate");
        }
    }
    lab.shutdown().await;
}

#[tokio::test]
async fn gateway_forwarding_answers_200_or_502() {
    let lab = Lab::start().await.expect("lab");
    let pki = lab.pki();
    let ctx = ProbeContext { identity: Some(identity(&pki.client_good, &[])), trust: trust(&lab) };
    for v in BOTH {
        let ok = probe(&gateway_opts(&lab, lab::HOST_NEGOTIATE, "/backend/ok/orders", v), &ctx).await;
        assert_eq!(ok.http.as_ref().map(|h| h.status), Some(200), "{v:?}");
        let bad = probe(&gateway_opts(&lab, lab::HOST_NEGOTIATE, "/backend/distrusts-gateway/orders", v), &ctx).await;
        let http = bad.http.as_ref().expect("http");
        assert_eq!(http.status, 502, "{v:?}");
        assert!(http.body_preview.contains("BackendConnectionFailure"), "{}", http.body_preview);
    }
    lab.set_gateway_presents_cert(false);
    let r = probe(&gateway_opts(&lab, lab::HOST_NEGOTIATE, "/backend/ok/orders", TlsVersionPin::Tls13), &ctx).await;
    assert_eq!(r.http.as_ref().map(|h| h.status), Some(502), "no gateway certificate: 502");
    lab.shutdown().await;
}

#[tokio::test]
async fn strict_backend_rejections_per_version() {
    let lab = Lab::start().await.expect("lab");
    let pki = lab.pki();
    let gw = ProbeContext { identity: Some(identity(&pki.gateway_outbound, &[])), trust: trust(&lab) };
    let none = ProbeContext { identity: None, trust: trust(&lab) };
    for v in BOTH {
        // The gateway's certificate is accepted by `ok`.
        let r = probe(&backend_opts(&lab, "ok", Some(v)), &gw).await;
        assert!(r.handshake.ok && r.client_cert_sent, "{v:?}: {:?}", r.handshake);
        assert_eq!(r.http.as_ref().map(|h| h.status), Some(200));
        let without = r.compare_without_cert.as_ref().expect("compared");
        assert_eq!(without.handshake.alert.as_deref(), Some("certificate_required"), "{v:?}");

        // No certificate at all: refused (TLS 1.3 on the first read, TLS 1.2 in the handshake).
        let r = probe(&backend_opts(&lab, "ok", Some(v)), &none).await;
        assert!(!r.handshake.ok);
        assert_eq!(r.handshake.alert.as_deref(), Some("certificate_required"), "{v:?}");
        assert_eq!(r.handshake.rejected_after_handshake, v == TlsVersionPin::Tls13, "{v:?}");

        // A backend that trusts another CA answers unknown_ca.
        let r = probe(&backend_opts(&lab, "distrusts-gateway", Some(v)), &gw).await;
        assert!(r.client_cert_sent);
        assert_eq!(r.handshake.failure, Some(TlsFailure::AlertReceived { alert: "unknown_ca".into() }), "{v:?}");
        assert!(r.acceptable_ca_names.iter().any(|n| n.contains("Other")), "{:?}", r.acceptable_ca_names);
    }
    lab.shutdown().await;
}

#[tokio::test]
async fn backend_certificate_problems_are_verdicts_not_aborts() {
    let lab = Lab::start().await.expect("lab");
    let pki = lab.pki();
    let gw = ProbeContext { identity: Some(identity(&pki.gateway_outbound, &[])), trust: trust(&lab) };
    for v in BOTH {
        let r = probe(&backend_opts(&lab, "untrusted-cert", Some(v)), &gw).await;
        assert!(r.handshake.ok, "the probe goes on like s_client: {v:?}");
        let verdict = r.server_verify.as_ref().expect("verdict");
        assert_eq!(verdict.code, 20, "{verdict:?}");
        assert_eq!(r.http.as_ref().map(|h| h.status), Some(200));

        let r = probe(&backend_opts(&lab, "wrong-name", Some(v)), &gw).await;
        assert_eq!(r.server_verify.as_ref().map(|s| s.code), Some(62), "{v:?}");
        assert!(r.server_chain[0].sans.iter().any(|s| s.contains(lab::WRONG_NAME_HOST)));

        let r = probe(&backend_opts(&lab, "no-client-auth", Some(v)), &gw).await;
        assert!(r.handshake.ok && !r.client_cert_requested, "{v:?}");
    }
    lab.shutdown().await;
}

#[tokio::test]
async fn version_mismatch_and_http2() {
    let lab = Lab::start().await.expect("lab");
    let pki = lab.pki();
    let gw = ProbeContext { identity: Some(identity(&pki.gateway_outbound, &[])), trust: trust(&lab) };
    let r = probe(&backend_opts(&lab, "tls12-only", Some(TlsVersionPin::Tls13)), &gw).await;
    assert!(!r.handshake.ok);
    assert_eq!(r.handshake.alert.as_deref(), Some("protocol_version"), "{:?}", r.handshake);
    let r = probe(&backend_opts(&lab, "tls12-only", None), &gw).await;
    assert!(r.handshake.ok);
    assert_eq!(r.tls.version.as_deref(), Some("TLSv1.2"));

    let client = ProbeContext { identity: Some(identity(&pki.client_good, &[])), trust: trust(&lab) };
    let mut o = gateway_opts(&lab, lab::HOST_NEGOTIATE, "/echo", TlsVersionPin::Tls13);
    o.alpn = vec!["h2".into(), "http/1.1".into()];
    let r = probe(&o, &client).await;
    assert_eq!(r.tls.alpn.as_deref(), Some("h2"));
    let http = r.http.as_ref().expect("http");
    assert_eq!(http.version, "HTTP/2");
    assert_eq!(http.status, 200);
    assert!(
        http.body_preview.contains("client good") || http.body_preview.contains("client_certificate"),
        "{}",
        http.body_preview
    );
    lab.shutdown().await;
}
