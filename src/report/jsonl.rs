//! `--report jsonl`: JSON Lines a sweep writes as it goes. One `target` record per target, written
//! as soon as that target is done (its index among the targets given, its name, and everything
//! the JSON report holds for it), then one `summary` record when the sweep ends. Each line stands
//! alone: an interrupted sweep leaves whole records, and the missing summary says it was cut short.

use serde::Serialize;

use super::json::SCHEMA_VERSION;
use crate::diagnose::{ClientVerify, Finding, PolicyEvaluation, Severity};
use crate::policy::OutboundPolicy;
use crate::probe::ProbeResult;
use crate::session::{Session, TargetRun};

/// One finished target.
#[derive(Debug, Clone, Serialize)]
pub struct TargetRecord<'a> {
    /// Always `"target"`.
    pub record: &'static str,
    pub schema_version: u32,
    /// Position of the target among those given (0-based); records come in completion order.
    pub index: usize,
    /// The target's name (`host:port role`, or its name in the targets file).
    pub target: &'a str,
    pub probe: Option<&'a ProbeResult>,
    pub policy: Option<&'a PolicyEvaluation>,
    pub client_verify: Option<&'a ClientVerify>,
    /// `--forward-cert`: the certificate sent in a request header, and `Verify()` on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarded: Option<&'a crate::session::ForwardedCert>,
    /// What an outbound probe read from `--policy` (backend routing, authentication certificates), as
    /// the JSON report's evaluation carries it; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbound_policy: Option<&'a OutboundPolicy>,
    /// Why the target could not run.
    pub error: Option<&'a str>,
    /// The target's findings, most likely first.
    pub findings: &'a [Finding],
}

impl<'a> TargetRecord<'a> {
    pub fn new(index: usize, t: &'a TargetRun) -> Self {
        TargetRecord {
            record: "target",
            schema_version: SCHEMA_VERSION,
            index,
            target: &t.name,
            probe: t.probe.as_ref(),
            policy: t.policy.as_ref(),
            client_verify: t.client_verify.as_ref(),
            forwarded: t.forwarded.as_ref(),
            outbound_policy: t.outbound_policy.as_ref(),
            error: t.error.as_deref(),
            findings: &t.findings,
        }
    }

    /// The record as one line (no newline).
    pub fn line(&self) -> String {
        one_line(self)
    }
}

/// The last line of a finished sweep.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SummaryRecord {
    /// Always `"summary"`.
    pub record: &'static str,
    pub schema_version: u32,
    /// How many targets were given.
    pub targets: usize,
    /// How many target records were written.
    pub completed: usize,
    /// Targets with at least one error finding.
    pub with_error_findings: usize,
    /// Targets that could not run (their record has an `error`).
    pub failed: usize,
    /// Findings of all targets, by severity.
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    /// 3 when a target could not be run (the others were), else 1 when any finding is an error,
    /// else 0: the exit code of `probe` and `replay`.
    pub exit_code: i32,
}

impl SummaryRecord {
    pub fn new(targets: usize) -> Self {
        SummaryRecord { record: "summary", schema_version: SCHEMA_VERSION, targets, ..Default::default() }
    }

    /// Count a target whose record was written.
    pub fn add(&mut self, t: &TargetRun) {
        self.completed += 1;
        let mut has_error = false;
        for f in &t.findings {
            match f.severity {
                Severity::Error => {
                    self.errors += 1;
                    has_error = true;
                }
                Severity::Warning => self.warnings += 1,
                Severity::Info => self.infos += 1,
            }
        }
        if has_error {
            self.with_error_findings += 1;
        }
        if t.error.is_some() {
            self.failed += 1;
        }
        self.exit_code = match (self.failed, self.with_error_findings) {
            (0, 0) => 0,
            (0, _) => 1,
            _ => 3,
        };
    }

    pub fn line(&self) -> String {
        one_line(self)
    }
}

/// A whole session as JSON Lines (for `open`, `demo` and the like, which have every run at once).
pub fn session_jsonl(session: &Session) -> String {
    let mut out = String::new();
    let mut summary = SummaryRecord::new(session.targets.len());
    for (i, t) in session.targets.iter().enumerate() {
        out.push_str(&TargetRecord::new(i, t).line());
        out.push('\n');
        summary.add(t);
    }
    out.push_str(&summary.line());
    out.push('\n');
    out
}

fn one_line<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize record: {e}\"}}"))
}
