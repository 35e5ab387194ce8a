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

/// The comparison completed its handshake and sent no request: a request with a body (`--data`)
/// is sent once, and `--no-http` sends none.
pub(super) fn handshake_only(p: &ProbeResult) -> bool {
    p.handshake.ok && p.http.is_none() && p.http_failure.is_none()
}

/// What the comparison probe without the certificate got, in a few words.
pub(super) fn answer_of(p: &ProbeResult) -> String {
    if handshake_only(p) {
        return "handshake completed; no request sent (a request with a body is sent once)".into();
    }
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

/// When the PHA re-run ran and the server asked nothing then either: it is not waiting for a certificate.
fn pha_changed_nothing(p: &ProbeResult) -> String {
    let offered = p.late_auth.iter().any(|r| r.offered && r.how == crate::probe::late::LateMethod::Pha);
    if offered && !p.client_cert_requested {
        " Offering TLS 1.3 post-handshake authentication (the re-run) changed nothing: the server asked for no certificate then either, so it is not waiting for one.".into()
    } else {
        String::new()
    }
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
        let got = match answered_late.and_then(|r| r.http_status) {
            Some(s) => format!("the re-run that answered the late request got HTTP {s}"),
            None => {
                "the re-run that answered the late request got no HTTP answer either (its line below says what it got)"
                    .into()
            }
        };
        format!("{peer} {ended} instead of answering because it wanted the client certificate after the handshake, which this probe (rustls) cannot give; {got}. See gateway-requested-cert-late.")
    } else if let (true, Some(s)) = (p.client_cert_sent, without_answered) {
        let layer = if tls13 {
            "A TLS 1.3 server judges the client certificate after its own Finished: either it refuses this certificate without sending an alert (or its alert was lost to the reset), or an HTTP-level rule on the certificate drops the connection (HAProxy http-request reject on ssl_c_verify, for instance)."
        } else {
            "The TLS 1.2 handshake accepted the certificate, so an HTTP-level rule on the certificate drops the connection (HAProxy http-request reject on ssl_c_verify, for instance)."
        };
        format!("{peer} {ended} after the request with the certificate, and answered HTTP {s} to the same request without it: it is the certificate that makes it hang up. {layer}")
    } else if tls13 && p.client_cert_sent {
        format!("{peer} {ended} after the request. With TLS 1.3 a server judges the client certificate after its own Finished, so a rejection of the certificate that came without an alert (or whose alert was lost to a reset) looks exactly like this; an HTTP-level rule that drops the connection does too, and these facts cannot tell the two apart (the comparison without the certificate {}).", match without { Some(w) if handshake_only(w) => "sent no request", Some(_) => "ended the same way", None => "was not run" })
    } else {
        format!("{peer} {ended} after the request although the handshake{} went through, so the TLS layer accepted the connection and something at the HTTP level dropped it without answering: a rule that closes without a response (HAProxy http-request reject or silent-drop, nginx return 444), a WAF or load balancer in front, a worker that crashed or a request it cannot parse. Which one is unknown from these facts.", if p.client_cert_sent { " with its certificate check" } else { "" }) + &pha_changed_nothing(p)
    };

    f.fix = vec![
        "Compare with `openssl s_client -connect HOST:PORT -servername NAME -cert CERT -key KEY` (add -tls1_3 -enable_pha for a server that asks after the handshake) and type the request: s_client prints an alert if the server sends one.".into(),
        "HAProxy: its log line for this request shows the rule and termination state (http-request reject, silent-drop or tcp-request content reject close without answering).".into(),
        "nginx: `return 444` closes without a response; the access log shows 444 for it.".into(),
        "Apache: a renegotiation or post-handshake authentication that fails ends the connection; its error log names the failure (AH02261 for a failed renegotiation).".into(),
    ];
    if tls13 && p.client_cert_requested {
        f.fix.insert(1, "TLS 1.3 servers (OpenSSL-based, Go, Java) that reject a certificate after Finished: check the server's log for the verification error and the client certificate against its CA file.".into());
    }
    if outbound {
        f.fix.push("API Management sees a backend that hangs up as a failed backend call and answers 502: fix the backend, then re-probe it.".into());
    }
    f.related.extend([FindingId::GatewayRequestedCertLate, FindingId::GatewayRejectedClientCert]);
    out.push(f);
}
