//! A server that completed the handshake, read the request and then closed or reset the connection
//! without answering (`closed-after-request`), in either role. The probe records only how it
//! ended (`HttpFailureKind::ClosedBeforeResponse` / `ResetAfterRequest`); this rule reads that with
//! what else the probe saw — the TLS version, whether a certificate was asked for and sent, the
//! late-authentication re-runs, the comparison probe without the certificate — and says which
//! of the usual reasons these facts point to, or that they cannot tell.

use super::catalog::finding;
use super::finding::{Finding, Severity, Symptom};
use super::id::FindingId;
use crate::probe::{HttpFailureKind, NotSentReason, ProbeResult, ProbeRole};

/// How the connection ended, in the words of the finding; None when it did not end this way.
fn how_it_ended(p: &ProbeResult) -> Option<&'static str> {
    match p.http_failure {
        Some(HttpFailureKind::ClosedBeforeResponse) => Some("closed the connection"),
        Some(HttpFailureKind::ResetAfterRequest) => Some("reset the connection (TCP RST)"),
        _ => None,
    }
}

/// What the comparison probe without the certificate got, in a few words.
fn answer_of(p: &ProbeResult) -> String {
    if let Some(h) = &p.http {
        return format!("HTTP {}", h.status);
    }
    if let Some(kind) = &p.http_failure {
        return kind.to_string();
    }
    match &p.handshake.failure {
        Some(f) => f.to_string(),
        None => "no answer".into(),
    }
}

/// The facts about the client certificate, as one evidence line.
fn certificate_line(p: &ProbeResult) -> String {
    if !p.client_cert_requested {
        return "no CertificateRequest in the handshake".into();
    }
    let names = p.acceptable_ca_names.len();
    if p.client_cert_sent {
        let leaf = p.client_chain.first().map(|c| c.subject.as_str()).unwrap_or("(unknown)");
        return format!("CertificateRequest in the handshake ({names} acceptable CA name(s)); sent \"{leaf}\"");
    }
    let why = match p.client_cert_not_sent_reason {
        Some(NotSentReason::NoCommonSignatureScheme) => "the key can make none of the requested signature schemes",
        _ => "none configured",
    };
    format!("CertificateRequest in the handshake ({names} acceptable CA name(s)); no certificate sent ({why})")
}

pub fn closed_after_request(p: &ProbeResult, subject: &str, out: &mut Vec<Finding>) {
    if !p.handshake.ok {
        return;
    }
    let Some(ended) = how_it_ended(p) else { return };
    let outbound = p.role == ProbeRole::Outbound;
    let peer = if outbound { "The backend" } else { "The server" };
    let version = p.tls.version.clone().unwrap_or_else(|| "TLS".into());
    let tls13 = p.tls.version.as_deref() == Some("TLSv1.3");
    let alpn = p.tls.alpn.clone().unwrap_or_else(|| "no ALPN".into());

    let mut f = finding(FindingId::ClosedAfterRequest);
    f.subject = Some(subject.to_string());
    if outbound {
        f.symptom = Symptom::BadGateway502;
    }
    f.evidence.push(format!("{version} ({alpn}): the handshake completed, the request was sent, then the server {ended} before any response byte"));
    if p.http_error_chain.len() > 1 {
        f.evidence.push(format!("HTTP error: {}", p.http_error_chain.join(": ")));
    }
    f.evidence.push(certificate_line(p));

    let answered_late = p.late_auth.iter().find(|r| r.http_status.is_some());
    let late = super::late_rules::asked_late(p);
    for run in &p.late_auth {
        f.evidence.push(format!("re-run: {}", crate::text::rerun_text(run)));
    }
    let without = p.compare_without_cert.as_deref();
    if let Some(w) = without {
        f.evidence.push(format!("the same request without the certificate: {}", answer_of(w)));
    }
    let without_answered = without.and_then(|w| w.http.as_ref()).map(|h| h.status);

    // The most specific reading these facts allow.
    f.cause = if late {
        // The late finding is the error; this one says what the drop was.
        f.severity = Severity::Warning;
        let got = answered_late.and_then(|r| r.http_status).map(|s| format!(" (it answered HTTP {s})")).unwrap_or_default();
        format!("{peer} {ended} instead of answering because it wanted the client certificate after the handshake, which this probe (rustls) cannot give; the re-run that could answer the late request got through{got}. See gateway-requested-cert-late.")
    } else if tls13 && p.client_cert_sent {
        match without_answered {
            Some(s) => format!("{peer} {ended} after the request, and answered HTTP {s} to the same request without the certificate: it is the certificate that makes it hang up. A TLS 1.3 server judges the client certificate after its own Finished; most send an alert then (certificate_required, unknown_ca, bad_certificate), but this one ends the connection without one (or its alert was lost to the reset)."),
            None => format!("{peer} {ended} after the request. With TLS 1.3 a server judges the client certificate after its own Finished, so a rejection of the certificate that came without an alert (or whose alert was lost to a reset) looks exactly like this; an HTTP-level rule that drops the connection does too, and these facts cannot tell the two apart (the comparison without the certificate {}).", if without.is_some() { "ended the same way" } else { "was not run" }),
        }
    } else if tls13 && !p.client_cert_requested && !p.late_auth.is_empty() {
        format!("{peer} asked for no certificate in the handshake and {ended} after the request. A TLS 1.3 server that wants the certificate through post-handshake authentication fails with a client that did not offer it (Python's verify_client_post_handshake raises, and the application closes); the re-runs offering late authentication got no answer either, so that is not confirmed: the reason is unknown from these facts.")
    } else {
        format!("{peer} {ended} after the request although the handshake{} went through, so the TLS layer accepted the connection and something at the HTTP level dropped it without answering: a rule that closes without a response (HAProxy http-request reject or silent-drop, nginx return 444), a WAF or load balancer in front, a worker that crashed or a request it cannot parse. Which one is unknown from these facts.", if p.client_cert_sent { " with its certificate check" } else { "" })
    };

    f.fix = vec![
        "Compare with `openssl s_client -connect HOST:PORT -servername NAME -cert CERT -key KEY` (add -tls1_3 -enable_pha for a server that asks after the handshake) and type the request: s_client prints an alert if the server sends one.".into(),
        "TLS 1.3 servers (OpenSSL-based, Go, Java) that reject a certificate after Finished: check the server's log for the verification error and the client certificate against its CA file.".into(),
        "HAProxy: its log line for this request shows the rule and termination state (http-request reject, silent-drop or tcp-request content reject close without answering).".into(),
        "nginx: `return 444` closes without a response; the access log shows 444 for it.".into(),
        "Apache: a renegotiation or post-handshake authentication that fails ends the connection; its error log names the failure (AH02261 for a failed renegotiation).".into(),
    ];
    if outbound {
        f.fix.push("API Management sees a backend that hangs up as a failed backend call and answers 502: fix the backend, then re-probe it.".into());
    }
    f.related.extend([FindingId::GatewayRequestedCertLate, FindingId::GatewayRejectedClientCert]);
    out.push(f);
}
