//! A verdict, a handshake and a policy answer in a few words, shared by the diff and the reports.

use crate::diagnose::PolicyEvaluation;
use crate::probe::ProbeResult;

pub use crate::text::verdict_summary;

/// A handshake in a few words: `ok (TLSv1.3)`, `failed: alert unknown_ca`.
pub fn handshake_summary(p: &ProbeResult) -> String {
    if p.handshake.ok {
        return format!("ok ({})", p.tls.version.as_deref().unwrap_or("?"));
    }
    if p.tcp.connected {
        let what = match (&p.handshake.alert, &p.handshake.failure) {
            (Some(alert), _) => format!("alert {alert}"),
            (None, Some(f)) => f.to_string(),
            (None, None) => p.handshake.error.clone().unwrap_or_else(|| "not attempted".into()),
        };
        let when = if p.handshake.rejected_after_handshake { " after the handshake" } else { "" };
        return format!("failed{when}: {what}");
    }
    match p.failed_phase {
        Some(crate::probe::Phase::Dns) => "not attempted: DNS failed".into(),
        Some(crate::probe::Phase::Tcp) => "not attempted: TCP failed".into(),
        _ => "not attempted".into(),
    }
}

/// The policy's answer in a few words.
pub fn policy_summary(p: &PolicyEvaluation) -> String {
    if p.outcome.determined {
        p.outcome.status.to_string()
    } else {
        "undetermined".to_string()
    }
}
