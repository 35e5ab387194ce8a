//! Rules for a client certificate asked for after the handshake: TLS 1.2 renegotiation (the API
//! Management "negotiation off" fallback, Apache's per-`<Location>` `SSLVerifyClient`), TLS 1.3
//! post-handshake authentication, and HTTP/2's refusal of both (`HTTP_1_1_REQUIRED`).

use super::catalog::finding;
use super::finding::Finding;
use super::id::FindingId;
use crate::probe::late::{LateAuthRun, LateMethod};
use crate::probe::{HttpFailureKind, ProbeResult};

/// This probe, then its HTTP/1.1 retry if the server asked for one.
fn attempts(p: &ProbeResult) -> impl Iterator<Item = &ProbeResult> {
    std::iter::once(p).chain(p.http1_retry.as_deref())
}

fn refused_h2(p: &ProbeResult) -> bool {
    matches!(&p.http_failure, Some(HttpFailureKind::Http2 { code, .. }) if code == "HTTP_1_1_REQUIRED")
}

/// Whether any attempt or re-run showed the server asking for a certificate after the handshake.
pub fn asked_late(p: &ProbeResult) -> bool {
    attempts(p).any(|a| {
        a.late_cert_request.is_some() || a.late_auth.iter().any(|r| r.server_renegotiated || r.late_request_seen)
    })
}

fn rerun_line(r: &LateAuthRun) -> String {
    if !r.offered {
        return format!("{}: not tried ({})", r.how, r.not_offered_reason.clone().unwrap_or_default());
    }
    let cert = if r.client_cert_configured { "with the client certificate" } else { "without a client certificate" };
    let asked = match (r.how, r.late_request_seen || r.server_renegotiated) {
        (LateMethod::Renegotiation, true) => "the server renegotiated and asked for a certificate".to_string(),
        (LateMethod::Renegotiation, false) => "the server did not renegotiate".to_string(),
        (LateMethod::Pha, true) => "the server asked for a certificate after the handshake".to_string(),
        (LateMethod::Pha, false) => "the server sent no post-handshake CertificateRequest".to_string(),
    };
    let contents = request_contents(r);
    let answer = match (r.http_status, &r.alert, &r.error) {
        (Some(s), _, _) => format!("HTTP {s}"),
        (None, Some(a), _) => format!("alert {a}"),
        (None, None, Some(e)) => e.clone(),
        (None, None, None) => "no answer".into(),
    };
    format!("re-run answering {} ({}), {cert}: {asked}{contents}, {answer}", r.how, r.engine)
}

/// The late CertificateRequest's contents, as the re-run read them.
fn request_contents(r: &LateAuthRun) -> String {
    if !r.late_request_seen {
        return String::new();
    }
    if let Some(why) = &r.request_contents_unknown_reason {
        return format!(" (contents unknown: {why})");
    }
    let cas = if r.acceptable_ca_names.is_empty() {
        "no acceptable CA names".to_string()
    } else {
        format!("acceptable CA names {}", r.acceptable_ca_names.join("; "))
    };
    let shared = if r.shared_signature_schemes.is_empty() && !r.signature_schemes.is_empty() {
        ", none usable with this key"
    } else {
        ""
    };
    format!(" ({cas}; signature schemes {}{shared})", r.signature_schemes.join(", "))
}

pub fn late_findings(p: &ProbeResult, subject: &str, out: &mut Vec<Finding>) {
    if !asked_late(p) {
        return;
    }
    let mut f = finding(FindingId::GatewayRequestedCertLate);
    f.subject = Some(subject.to_string());
    f.cause = format!(
        "The server on {} asks for the client certificate only after the HTTP request arrives (TLS renegotiation, or TLS 1.3 post-handshake authentication), never during the handshake. Clients that cannot answer a late request fail there: every HTTP/2 client, Go, rustls and many SDKs; large request bodies can stall it too.",
        p.target.sni
    );
    if refused_h2(p) {
        f.evidence.push(format!(
            "over HTTP/2 the server ended the request with HTTP_1_1_REQUIRED: {}",
            p.http_error_chain.join(": ")
        ));
    }
    for a in attempts(p) {
        let version = a.tls.version.clone().unwrap_or_default();
        let alpn = a.tls.alpn.clone().unwrap_or_else(|| "no ALPN".into());
        if let Some(late) = &a.late_cert_request {
            let answer = match (&a.http, &a.handshake.alert) {
                (Some(h), _) => format!("HTTP {}", h.status),
                (None, Some(al)) => format!("the server then sent the alert {al}"),
                (None, None) => a.http_error.clone().unwrap_or_else(|| "no answer".into()),
            };
            f.evidence.push(format!(
                "{version} ({alpn}): no CertificateRequest in the handshake; the server started {} {}; this probe (rustls) does not renegotiate: {answer}",
                match late.how {
                    LateMethod::Renegotiation => "a renegotiation (HelloRequest)",
                    LateMethod::Pha => "post-handshake authentication",
                },
                late.when
            ));
        } else if !a.late_auth.is_empty() {
            if let Some(h) = &a.http {
                f.evidence.push(format!(
                    "{version} ({alpn}): no CertificateRequest in the handshake and no post-handshake authentication offered (rustls cannot): HTTP {}",
                    h.status
                ));
            }
        }
        f.evidence.extend(a.late_auth.iter().map(rerun_line));
    }
    f.fix = vec![
        format!(
            "Make the server ask during the handshake on {}: in API Management tick \"Negotiate client certificate\" on that custom domain (negotiateClientCertificate=true); in Apache move SSLVerifyClient from the <Location> to the server or virtual host.",
            p.target.sni
        ),
        "Until then only HTTP/1.1 clients that answer TLS 1.2 renegotiation (curl and other OpenSSL-based clients) or offer TLS 1.3 post-handshake authentication get their certificate through.".into(),
        "Keep request bodies small on that hostname, or send a small request first: the late request waits for the body.".into(),
    ];
    f.related.extend([FindingId::GatewayDidNotRequestCert, FindingId::AzureNegotiationOff]);
    out.push(f);
}
