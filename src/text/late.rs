//! Wording for what happens after the handshake: the late certificate request, how an HTTP
//! exchange ended without a response, and the late-authentication re-runs. Part of `text`.

use std::fmt;

use crate::probe::late::LateMethod;
use crate::probe::{HttpFailureKind, LateWhen};

impl fmt::Display for LateMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LateMethod::Renegotiation => "TLS 1.2 renegotiation",
            LateMethod::Pha => "TLS 1.3 post-handshake authentication",
        })
    }
}

impl fmt::Display for LateWhen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LateWhen::AfterHandshake => "after the handshake, before any request",
            LateWhen::AfterRequest => "after the HTTP request arrived",
        })
    }
}

impl fmt::Display for HttpFailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpFailureKind::ClosedBeforeResponse => f.write_str("closed before any response"),
            HttpFailureKind::ResetAfterRequest => f.write_str("reset after the request"),
            HttpFailureKind::Http2 { code, by_peer: true } => write!(f, "the server ended HTTP/2 with {code}"),
            HttpFailureKind::Http2 { code, by_peer: false } => write!(f, "HTTP/2 error {code}"),
            HttpFailureKind::Timeout => f.write_str("no response in time"),
            HttpFailureKind::Other => f.write_str("HTTP failed"),
        }
    }
}

/// The after-the-handshake facts of one probe as labelled lines, in the order they happened: how
/// HTTP ended when it gave no response, a stalled body, a plain-HTTP reply, the late certificate
/// request, each late-authentication re-run and the HTTP/1.1 retry. Every view prints these.
pub fn after_handshake_lines(r: &crate::probe::ProbeResult) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    if r.plain_http_reply {
        lines.push(("Plain HTTP", "the server answered in plain HTTP, not TLS, on this port".to_string()));
    }
    if let Some(kind) = &r.http_failure {
        if !matches!(kind, HttpFailureKind::Other) {
            let chain = if r.http_error_chain.len() > 1 {
                format!(" ({})", r.http_error_chain.join(": "))
            } else {
                String::new()
            };
            lines.push(("HTTP ended", format!("{kind}{chain}")));
        }
    }
    if let Some(h) = r.http.as_ref().filter(|h| h.body_cut_short.is_some()) {
        let of = match h.content_length {
            Some(n) => format!("{} of {n} bytes (Content-Length)", h.body_bytes_received),
            None => format!("after {} bytes", h.body_bytes_received),
        };
        lines.push(("Body", format!("cut short by the server: {of}")));
    }
    if let Some(h) = r.http.as_ref().filter(|h| h.body_timed_out) {
        lines.push(("Body", format!("HTTP {} arrived, then the body stalled (cut off at the time limit)", h.status)));
    }
    if let Some(late) = &r.late_cert_request {
        lines.push(("Asked late", format!("{} {}", late.how, late.when)));
    }
    for run in &r.late_auth {
        lines.push(("Re-run", rerun_text(run)));
    }
    if let Some(retry) = &r.http1_retry {
        let answer = match (&retry.http, &retry.http_error) {
            (Some(h), _) => format!("HTTP {}", h.status),
            (None, Some(e)) => e.clone(),
            (None, None) => retry.handshake.failure.as_ref().map(ToString::to_string).unwrap_or_default(),
        };
        lines.push(("HTTP/1.1", format!("retried over HTTP/1.1 as the server asked: {answer}")));
        for (label, text) in after_handshake_lines(retry) {
            lines.push((label, format!("(HTTP/1.1 retry) {text}")));
        }
    }
    lines
}

/// One late-authentication re-run in a line.
pub fn rerun_text(run: &crate::probe::late::LateAuthRun) -> String {
    if !run.offered {
        return format!("{}: not tried ({})", run.how, run.not_offered_reason.clone().unwrap_or_default());
    }
    let cert = if run.client_cert_configured { "with the certificate" } else { "without a certificate" };
    let asked = if run.late_request_seen {
        let cas = if run.acceptable_ca_names.is_empty() {
            "no CA names".to_string()
        } else {
            format!("CA names {}", run.acceptable_ca_names.join("; "))
        };
        format!("asked late ({cas}; {} signature schemes)", run.signature_schemes.len())
    } else if run.requested_in_handshake {
        "asked during the handshake".to_string()
    } else {
        "nothing asked".to_string()
    };
    let answer = match (run.http_status, &run.alert, &run.error) {
        (Some(s), _, _) => format!("HTTP {s}"),
        (None, Some(a), _) => format!("alert {a}"),
        (None, None, Some(e)) => e.clone(),
        (None, None, None) => "no answer".to_string(),
    };
    format!("{} {cert}: {asked}, {answer}", run.how)
}
