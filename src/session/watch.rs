//! A watch's change log as data: the records `watch` writes as JSON Lines, the TUI shows as a log
//! and a saved watch keeps in its session (`watch`, additive). Deciding what changed is
//! `crate::watch`; the words are `crate::report::watch` and `crate::text`.

use serde::{Deserialize, Serialize};

use super::diff::Change;
use crate::diagnose::FindingId;

/// Version of the watch JSON Lines records (`#/$defs/watch_record` in docs/report-schema.json).
pub const WATCH_SCHEMA_VERSION: u32 = 1;

/// At most this many records are kept in memory and in a saved session; older ones are counted
/// in [`WatchLog::dropped`] (the JSON Lines output still has every one).
pub const MAX_KEPT_RECORDS: usize = 10_000;

/// When a watch ends by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Until {
    /// Every target is healthy (`engine::run_ok`).
    Ok,
    /// Anything changed since the first run.
    Changed,
}

/// Why a watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndReason {
    UntilMet,
    MaxRuns,
    Interrupted,
}

/// How a target looks after one run: what the first record shows, before anything changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetState {
    pub handshake: String,
    pub client_cert_requested: Option<bool>,
    pub client_cert_sent: Option<bool>,
    pub http_status: Option<u16>,
    pub server_leaf_thumbprint: Option<String>,
    pub findings: Vec<FindingId>,
    pub ok: bool,
    pub error: Option<String>,
}

/// One line of a watch's JSON Lines output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "kebab-case")]
pub enum WatchRecord {
    /// The state of a target after the first run.
    Baseline { schema_version: u32, time: String, run: u64, target: String, state: TargetState },
    /// One thing that changed for a target since the previous run.
    Change { schema_version: u32, time: String, run: u64, target: String, change: Box<Change> },
    /// The watch ended.
    End { schema_version: u32, time: String, runs: u64, reason: EndReason, until: Option<Until>, until_met: bool },
}

impl WatchRecord {
    /// RFC 3339 time the record was made.
    pub fn time(&self) -> &str {
        match self {
            WatchRecord::Baseline { time, .. } | WatchRecord::Change { time, .. } | WatchRecord::End { time, .. } => {
                time
            }
        }
    }

    /// The target the record is about (none for the end record).
    pub fn target(&self) -> Option<&str> {
        match self {
            WatchRecord::Baseline { target, .. } | WatchRecord::Change { target, .. } => Some(target),
            WatchRecord::End { .. } => None,
        }
    }
}

/// The change log a saved watch keeps (`Session::watch`): how it ran and its records, in order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WatchLog {
    /// Seconds between the end of one run and the start of the next.
    pub interval_seconds: f64,
    #[serde(default)]
    pub until: Option<Until>,
    #[serde(default)]
    pub records: Vec<WatchRecord>,
    /// Records left out because more than [`MAX_KEPT_RECORDS`] were made (the oldest go first).
    #[serde(default)]
    pub dropped: u64,
}

impl WatchLog {
    pub fn new(interval_seconds: f64, until: Option<Until>) -> Self {
        WatchLog { interval_seconds, until, records: Vec::new(), dropped: 0 }
    }

    /// Keep a record, dropping the oldest beyond the bound.
    pub fn push(&mut self, record: WatchRecord) {
        if self.records.len() >= MAX_KEPT_RECORDS {
            let excess = self.records.len() + 1 - MAX_KEPT_RECORDS;
            self.records.drain(..excess);
            self.dropped += excess as u64;
        }
        self.records.push(record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(runs: u64) -> WatchRecord {
        WatchRecord::End {
            schema_version: WATCH_SCHEMA_VERSION,
            time: "2026-01-01T00:00:00Z".into(),
            runs,
            reason: EndReason::MaxRuns,
            until: None,
            until_met: false,
        }
    }

    #[test]
    fn the_log_keeps_the_newest_records_and_counts_the_dropped() {
        let mut log = WatchLog::new(1.0, None);
        for i in 0..(MAX_KEPT_RECORDS as u64 + 5) {
            log.push(end(i));
        }
        assert_eq!(log.records.len(), MAX_KEPT_RECORDS);
        assert_eq!(log.dropped, 5);
        assert_eq!(log.records.first(), Some(&end(5)));
    }

    #[test]
    fn a_session_without_a_watch_section_loads_and_saves_without_one() {
        let s = crate::session::Session::new(vec![]);
        let text = serde_json::to_string(&s).expect("json");
        assert!(!text.contains("\"watch\""), "{text}");
        let back = crate::session::parse(text.as_bytes(), "test").expect("loads");
        assert_eq!(back.watch, None);
    }
}
