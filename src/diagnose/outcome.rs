//! Severity follows the outcome: a finding that predicts a refusal is an error only when the
//! server's final answer refused. Applied after every rule, before ordering.
//!
//! The rule (documented in docs/findings.md, "Severity follows the outcome"):
//! - the server answered 2xx or 3xx: findings that predict a refusal of the client certificate (or
//!   of its absence) are at most warnings — the server took the request;
//! - the server answered 401 or 403 (or nginx's 400) after a certificate was sent: a certificate
//!   whose issuer is not among the acceptable CA names is the likely reason, so an error;
//! - no HTTP answer (the handshake failed): the severities the rules chose stand.

use super::finding::{Finding, Severity};
use super::id::FindingId;
use super::probe_rules::subject_of;
use crate::probe::ProbeResult;

/// Findings that predict the server will refuse the request.
const PREDICTS_REFUSAL: &[FindingId] =
    &[FindingId::ClientCertMissing, FindingId::ClientCertCaNotAcceptable, FindingId::ClientKeySchemeMismatch];

pub fn follow_outcome(probes: &[ProbeResult], out: &mut [Finding]) {
    for p in probes {
        let Some(h) = &p.http else { continue };
        let subject = subject_of(p);
        let status = h.status;
        let accepted = (200..400).contains(&status);
        let refused = matches!(status, 401 | 403) || (status == 400 && p.client_cert_sent);
        for f in out.iter_mut().filter(|f| f.subject.as_deref() == Some(subject.as_str())) {
            if accepted && PREDICTS_REFUSAL.contains(&f.id) && f.severity == Severity::Error {
                f.severity = Severity::Warning;
                f.evidence.push(format!("the server still answered HTTP {status}: it took the request"));
            }
            if refused && p.client_cert_sent && f.id == FindingId::ClientCertCaNotAcceptable {
                if f.severity != Severity::Error {
                    f.evidence.push(format!("the server answered HTTP {status} to the request with this certificate"));
                }
                f.severity = Severity::Error;
            }
        }
    }
}
