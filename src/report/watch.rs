//! A watch's records as lines of text (the headless `watch` without `--report json`, `open` of a
//! saved watch, and the TUI's change log all use the same words).

use crate::session::{WatchLog, WatchRecord};
use crate::text::clean;

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// What a record says, without its time and target (the TUI shows those in their own columns).
pub fn record_what(r: &WatchRecord) -> String {
    match r {
        WatchRecord::Baseline { state, .. } => {
            let mut parts = vec![format!("handshake {}", state.handshake)];
            if let Some(req) = state.client_cert_requested {
                parts.push(format!("certificate requested: {}", yes_no(req)));
            }
            if let Some(sent) = state.client_cert_sent {
                parts.push(format!("sent: {}", yes_no(sent)));
            }
            if let Some(s) = state.http_status {
                parts.push(format!("HTTP {s}"));
            }
            if let Some(e) = &state.error {
                parts.push(format!("error: {e}"));
            }
            let verdict = if state.ok { "ok" } else { "not ok" };
            clean(&format!("watching: {verdict}; {}", parts.join(", ")))
        }
        WatchRecord::Change { change, .. } => clean(&super::change_text(change)),
        WatchRecord::End { runs, reason, until, until_met, .. } => {
            let met = if until.is_some() && !until_met { " (condition not met)" } else { "" };
            let s = if *runs == 1 { "" } else { "s" };
            format!("watch ended after {runs} run{s}: {reason}{met}")
        }
    }
}

/// A record as one line of text: the time, the target and what changed.
pub fn record_text(r: &WatchRecord) -> String {
    match r.target() {
        Some(target) => format!("{}  {}  {}", r.time(), clean(target), record_what(r)),
        None => format!("{}  {}", r.time(), record_what(r)),
    }
}

/// A saved watch's change log, for `open` and the text report of a watch session.
pub fn watch_log_text(log: &WatchLog) -> String {
    let mut out = String::from("Watch change log");
    let until = log.until.map(|u| format!(", until {u}")).unwrap_or_default();
    out.push_str(&format!(" (every {} s{until}):\n", log.interval_seconds));
    if log.dropped > 0 {
        out.push_str(&format!("  ({} older records were not kept)\n", log.dropped));
    }
    if log.records.is_empty() {
        out.push_str("  no records\n");
    }
    for r in &log.records {
        out.push_str("  ");
        out.push_str(&record_text(r));
        out.push('\n');
    }
    out
}
