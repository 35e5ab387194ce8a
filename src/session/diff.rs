//! Comparing two sessions target by target: what changed in the handshake, the chain, the verdicts
//! and the findings.

use serde::{Deserialize, Serialize};

use super::model::{Session, TargetRun};
use super::summary::{handshake_summary, policy_summary, verdict_summary};
use crate::cert::CertInfo;
use crate::diagnose::{Finding, Severity};
use crate::probe::ProbeResult;

/// A certificate as a diff shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    pub thumbprint_sha1: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
}

impl From<&CertInfo> for CertSummary {
    fn from(c: &CertInfo) -> Self {
        CertSummary {
            subject: c.subject.clone(),
            issuer: c.issuer.clone(),
            thumbprint_sha1: c.thumbprint_sha1.clone(),
            serial: c.serial.clone(),
            not_before: c.not_before.clone(),
            not_after: c.not_after.clone(),
        }
    }
}

/// One thing that changed for a target between two sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Change {
    /// A different certificate in the same place of a chain.
    CertificateRotated {
        chain: String,
        position: usize,
        before: CertSummary,
        after: CertSummary,
    },
    CertificateAdded {
        chain: String,
        position: usize,
        certificate: CertSummary,
    },
    CertificateRemoved {
        chain: String,
        position: usize,
        certificate: CertSummary,
    },
    /// A judgement changed: a chain verdict, the handshake, Verify(), the policy's answer.
    VerdictChanged {
        what: String,
        before: String,
        after: String,
    },
    HttpStatusChanged {
        before: Option<u16>,
        after: Option<u16>,
    },
    FindingAppeared {
        id: String,
        severity: Severity,
        title: String,
    },
    FindingResolved {
        id: String,
        severity: Severity,
        title: String,
    },
    ErrorChanged {
        before: Option<String>,
        after: Option<String>,
    },
}

/// Whether a target is in both sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetStatus {
    Changed,
    Unchanged,
    /// Only in the second session.
    Added,
    /// Only in the first session.
    Removed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetDiff {
    pub name: String,
    pub status: TargetStatus,
    pub changes: Vec<Change>,
}

/// Which session a diff side is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffSide {
    pub file: String,
    pub created_at: String,
    pub tool_version: String,
}

/// What changed between two sessions, target by target (matched by name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionDiff {
    pub schema_version: u32,
    pub before: DiffSide,
    pub after: DiffSide,
    pub targets: Vec<TargetDiff>,
}

impl SessionDiff {
    pub fn has_changes(&self) -> bool {
        self.targets.iter().any(|t| t.status != TargetStatus::Unchanged)
    }
}

/// Version of the `diff --report json` contract.
pub const DIFF_SCHEMA_VERSION: u32 = 1;

/// Compare two sessions. Targets are matched by name; a name used twice is matched in order.
pub fn diff(before: &Session, before_file: &str, after: &Session, after_file: &str) -> SessionDiff {
    let side = |s: &Session, file: &str| DiffSide {
        file: file.to_string(),
        created_at: s.created_at.clone(),
        tool_version: s.tool_version.clone(),
    };
    let mut used = vec![false; before.targets.len()];
    let mut targets = Vec::new();
    for b in &after.targets {
        let matched = before.targets.iter().enumerate().find(|(i, a)| !used[*i] && a.name == b.name).map(|(i, a)| {
            used[i] = true;
            a
        });
        match matched {
            Some(a) => {
                let changes = target_changes(a, b);
                let status = if changes.is_empty() { TargetStatus::Unchanged } else { TargetStatus::Changed };
                targets.push(TargetDiff { name: b.name.clone(), status, changes });
            }
            None => targets.push(TargetDiff { name: b.name.clone(), status: TargetStatus::Added, changes: vec![] }),
        }
    }
    for (i, a) in before.targets.iter().enumerate() {
        if !used[i] {
            targets.push(TargetDiff { name: a.name.clone(), status: TargetStatus::Removed, changes: vec![] });
        }
    }
    SessionDiff {
        schema_version: DIFF_SCHEMA_VERSION,
        before: side(before, before_file),
        after: side(after, after_file),
        targets,
    }
}

pub(super) fn target_changes(a: &TargetRun, b: &TargetRun) -> Vec<Change> {
    let mut out = Vec::new();
    if a.error != b.error {
        out.push(Change::ErrorChanged { before: a.error.clone(), after: b.error.clone() });
    }
    // A target that did not run (a file gone, …) observed nothing: its certificates and verdicts
    // are unknown, not removed, so the error is the one change to report.
    if a.error.is_some() || b.error.is_some() {
        return out;
    }
    let (pa, pb) = (a.probe.as_ref(), b.probe.as_ref());
    chain_changes(
        "server",
        pa.map(|p| p.server_chain.as_slice()).unwrap_or_default(),
        pb.map(|p| p.server_chain.as_slice()).unwrap_or_default(),
        &mut out,
    );
    chain_changes(
        "client",
        pa.map(|p| p.client_chain.as_slice()).unwrap_or_default(),
        pb.map(|p| p.client_chain.as_slice()).unwrap_or_default(),
        &mut out,
    );
    chain_changes(
        "inspected",
        a.inspected.as_ref().map(|i| i.certs.as_slice()).unwrap_or_default(),
        b.inspected.as_ref().map(|i| i.certs.as_slice()).unwrap_or_default(),
        &mut out,
    );
    chain_changes("uploaded CA", &a.uploaded_cas, &b.uploaded_cas, &mut out);

    let mut verdict = |what: &str, before: Option<String>, after: Option<String>| {
        if before != after {
            let none = || "-".to_string();
            out.push(Change::VerdictChanged {
                what: what.to_string(),
                before: before.unwrap_or_else(none),
                after: after.unwrap_or_else(none),
            });
        }
    };
    verdict("handshake", pa.map(handshake_summary), pb.map(handshake_summary));
    verdict(
        "server chain verdict",
        pa.and_then(|p| p.server_verify.as_ref()).map(verdict_summary),
        pb.and_then(|p| p.server_verify.as_ref()).map(verdict_summary),
    );
    verdict("client certificate sent", pa.map(|p| yes_no(p.client_cert_sent)), pb.map(|p| yes_no(p.client_cert_sent)));
    verdict(
        "handshake without the client certificate",
        pa.and_then(|p| p.compare_without_cert.as_deref()).map(handshake_summary),
        pb.and_then(|p| p.compare_without_cert.as_deref()).map(handshake_summary),
    );
    verdict(
        "inspected chain verdict",
        a.inspected.as_ref().and_then(|i| i.verdict.as_ref()).map(verdict_summary),
        b.inspected.as_ref().and_then(|i| i.verdict.as_ref()).map(verdict_summary),
    );
    verdict(
        "Verify() against uploaded CAs",
        a.client_verify.as_ref().map(|c| verdict_summary(&c.verdict)),
        b.client_verify.as_ref().map(|c| verdict_summary(&c.verdict)),
    );
    verdict("policy answer", a.policy.as_ref().map(policy_summary), b.policy.as_ref().map(policy_summary));

    let status = |p: Option<&ProbeResult>| p.and_then(|p| p.http.as_ref()).map(|h| h.status);
    if status(pa) != status(pb) {
        out.push(Change::HttpStatusChanged { before: status(pa), after: status(pb) });
    }

    let key = |f: &Finding| (f.id, f.subject.clone());
    for f in &b.findings {
        if !a.findings.iter().any(|x| key(x) == key(f)) {
            out.push(Change::FindingAppeared { id: f.id.to_string(), severity: f.severity, title: f.title.clone() });
        }
    }
    for f in &a.findings {
        if !b.findings.iter().any(|x| key(x) == key(f)) {
            out.push(Change::FindingResolved { id: f.id.to_string(), severity: f.severity, title: f.title.clone() });
        }
    }
    out
}

pub(super) fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// Position by position: a chain's leaf is what rotates; intermediates and roots renew more rarely.
pub(super) fn chain_changes(chain: &str, a: &[CertInfo], b: &[CertInfo], out: &mut Vec<Change>) {
    for i in 0..a.len().max(b.len()) {
        match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) if x.thumbprint_sha1 != y.thumbprint_sha1 => out.push(Change::CertificateRotated {
                chain: chain.to_string(),
                position: i,
                before: x.into(),
                after: y.into(),
            }),
            (None, Some(y)) => {
                out.push(Change::CertificateAdded { chain: chain.to_string(), position: i, certificate: y.into() })
            }
            (Some(x), None) => {
                out.push(Change::CertificateRemoved { chain: chain.to_string(), position: i, certificate: x.into() })
            }
            _ => {}
        }
    }
}
