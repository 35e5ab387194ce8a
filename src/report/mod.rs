//! Views that are not the TUI: the versioned JSON report, the plain-text summary and the Markdown
//! incident note, all drawn from a session (results already observed, never the network).
//!
//! `json` holds the report contract, `text` the terminal summary, `markdown` the incident note,
//! and `diff` what changed between two sessions in either form. Words shared with the other views
//! (roles, verdicts, reasons) come from [`crate::text`].

mod diff;
mod json;
mod jsonl;
mod markdown;
mod summary;
mod text;
mod watch;

pub use diff::{change_text, diff_markdown, diff_text};
pub use json::{
    target_id, to_json, Evaluation, FindingEntry, InspectReport, ProbeEntry, ProbeReport, TargetError, VerifyContext,
    SCHEMA_VERSION,
};
pub use jsonl::{session_jsonl, SummaryRecord, TargetRecord};
pub use markdown::{md_code, md_text, session_markdown};
pub use summary::{md_plain, session_summary, SUMMARY_LIMIT};
pub use text::{
    certificate_text, findings_text, inspect_text, listen_line, policy_text, probe_text, session_text,
    session_text_with, target_text, verdict_text,
};
pub use watch::{record_text, record_what, watch_log_text};

/// Kept for callers that still name them here; both moved below the views.
pub use crate::material::KeyReport;
pub use crate::text::clean;

use crate::session::{Session, SessionDiff, TargetKind};

/// Output formats for headless runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    /// JSON Lines: one record per target as soon as it is done, then a summary record.
    Jsonl,
    Text,
    /// A ready-to-paste incident note.
    Markdown,
}

/// The report of a session in the format asked for: JSON is the inspect report for a session of one
/// inspect target and the probe report otherwise.
pub fn render_session(session: &Session, format: Format) -> String {
    match format {
        Format::Json => match session.targets.as_slice() {
            [t] if t.kind == TargetKind::Inspect => to_json(&InspectReport::from_target(t)) + "\n",
            _ => to_json(&ProbeReport::from_session(session)) + "\n",
        },
        // An inspect has no sweep: its report, on one line.
        Format::Jsonl => match session.targets.as_slice() {
            [t] if t.kind == TargetKind::Inspect => {
                serde_json::to_string(&InspectReport::from_target(t)).unwrap_or_default() + "\n"
            }
            _ => session_jsonl(session),
        },
        Format::Text => match &session.watch {
            Some(log) => session_text(session) + "\n" + &watch_log_text(log),
            None => session_text(session),
        },
        Format::Markdown => session_markdown(session),
    }
}

/// How much a text or Markdown report shows: `verbose` (text) adds the HTTP exchange, `summary`
/// (text or Markdown) is the short ticket summary instead of the full report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportView {
    pub verbose: bool,
    pub summary: bool,
}

/// The report of a session in the format and view asked for (JSON has one view only).
pub fn render_session_view(session: &Session, format: Format, view: ReportView) -> String {
    match format {
        Format::Text | Format::Markdown if view.summary => session_summary(session),
        Format::Text => match &session.watch {
            Some(log) => session_text_with(session, view.verbose) + "\n" + &watch_log_text(log),
            None => session_text_with(session, view.verbose),
        },
        _ => render_session(session, format),
    }
}

/// The report of a diff in the format asked for.
pub fn render_diff(d: &SessionDiff, format: Format) -> String {
    match format {
        Format::Json => to_json(d) + "\n",
        Format::Jsonl => serde_json::to_string(d).unwrap_or_default() + "\n",
        Format::Text => diff_text(d),
        Format::Markdown => diff_markdown(d),
    }
}
