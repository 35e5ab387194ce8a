//! `mtls-doctor watch`: probe the same targets again and again and report only what changed since
//! the previous run (the session diff, run to run), with the time it was seen. The change detection
//! lives here; the CLI writes the records as JSON Lines or text and the TUI shows them as a log.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use crate::diagnose;
use crate::engine::Loaded;
use crate::error::{Error, Result};
use crate::session::{self, Change, Session, TargetRun, TargetStatus};

/// Version of the watch JSON Lines records (`#/$defs/watch_record` in docs/report-schema.json).
pub const WATCH_SCHEMA_VERSION: u32 = 1;

/// When a watch ends by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Until {
    /// Every target is healthy: handshake done, HTTP answered, no error finding.
    Ok,
    /// Anything changed since the first run.
    Changed,
}

/// Why a watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndReason {
    UntilMet,
    MaxRuns,
    Interrupted,
}

/// How a target looks after one run: what the first record shows, before anything changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetState {
    pub handshake: String,
    pub client_cert_requested: Option<bool>,
    pub client_cert_sent: Option<bool>,
    pub http_status: Option<u16>,
    pub server_leaf_thumbprint: Option<String>,
    pub findings: Vec<String>,
    pub ok: bool,
    pub error: Option<String>,
}

impl TargetState {
    pub fn of(run: &TargetRun) -> Self {
        let p = run.probe.as_ref();
        let connected = p.is_some_and(|p| p.tcp.connected);
        TargetState {
            handshake: p.map(session::handshake_summary).unwrap_or_else(|| "not attempted".into()),
            client_cert_requested: p.filter(|_| connected).map(|p| p.client_cert_requested),
            client_cert_sent: p.filter(|_| connected).map(|p| p.client_cert_sent),
            http_status: p.and_then(|p| p.http.as_ref()).map(|h| h.status),
            server_leaf_thumbprint: p.and_then(|p| p.server_chain.first()).map(|c| c.thumbprint_sha1.clone()),
            findings: run.findings.iter().map(|f| f.id.to_string()).collect(),
            ok: run_ok(run),
            error: run.error.clone(),
        }
    }
}

/// One line of a watch's JSON Lines output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "record", rename_all = "kebab-case")]
pub enum WatchRecord {
    /// The state of a target after the first run.
    Baseline { schema_version: u32, time: String, run: u64, target: String, state: TargetState },
    /// One thing that changed for a target since the previous run.
    Change { schema_version: u32, time: String, run: u64, target: String, change: Box<Change> },
    /// The watch ended.
    End { schema_version: u32, time: String, runs: u64, reason: EndReason, until: Option<Until>, until_met: bool },
}

/// Whether a run is healthy: the handshake completed, HTTP answered (unless `no_http`), and no
/// finding is an error (the CLI's exit code 0). `--until ok` and `mtls_probe_success` both use it.
pub fn run_ok(run: &TargetRun) -> bool {
    let Some(p) = run.probe.as_ref() else { return false };
    let http_ok = p.http.is_some() || run.options.as_ref().is_some_and(|o| o.no_http);
    run.error.is_none() && p.handshake.ok && http_ok && !diagnose::has_errors(&run.findings)
}

/// The change detector: fed each run's (redacted) targets, it returns the records to show.
#[derive(Debug, Default)]
pub struct Watcher {
    previous: Option<Session>,
    runs: u64,
    until: Option<Until>,
    changed: bool,
    met: bool,
}

impl Watcher {
    pub fn new(until: Option<Until>) -> Self {
        Watcher { until, ..Default::default() }
    }

    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// Whether the `--until` condition has been met.
    pub fn until_met(&self) -> bool {
        self.met
    }

    /// The latest run, as a session.
    pub fn latest(&self) -> Option<&Session> {
        self.previous.as_ref()
    }

    /// Take one run's results (seen at `at`), return its records.
    pub fn observe(&mut self, runs: Vec<TargetRun>, at: OffsetDateTime) -> Result<Vec<WatchRecord>> {
        self.runs += 1;
        let time = crate::cert::rfc3339(at);
        let now = session::redacted(&Session::new(runs).with_command("watch"))?;
        let mut out = Vec::new();
        match &self.previous {
            None => {
                for t in &now.targets {
                    out.push(WatchRecord::Baseline {
                        schema_version: WATCH_SCHEMA_VERSION,
                        time: time.clone(),
                        run: self.runs,
                        target: t.name.clone(),
                        state: TargetState::of(t),
                    });
                }
            }
            Some(before) => {
                let d = session::diff(before, "previous run", &now, "this run");
                for t in d.targets.into_iter().filter(|t| t.status == TargetStatus::Changed) {
                    for change in t.changes {
                        self.changed = true;
                        out.push(WatchRecord::Change {
                            schema_version: WATCH_SCHEMA_VERSION,
                            time: time.clone(),
                            run: self.runs,
                            target: t.name.clone(),
                            change: Box::new(change),
                        });
                    }
                }
            }
        }
        self.met = self.met
            || match self.until {
                None => false,
                Some(Until::Changed) => self.changed,
                Some(Until::Ok) => !now.targets.is_empty() && now.targets.iter().all(run_ok),
            };
        self.previous = Some(now);
        Ok(out)
    }

    /// The last record of a watch.
    pub fn end(&self, reason: EndReason, at: OffsetDateTime) -> WatchRecord {
        WatchRecord::End {
            schema_version: WATCH_SCHEMA_VERSION,
            time: crate::cert::rfc3339(at),
            runs: self.runs,
            reason,
            until: self.until,
            until_met: self.met,
        }
    }
}

/// A record as one line of text: the time, the target and what changed.
pub fn record_text(r: &WatchRecord) -> String {
    match r {
        WatchRecord::Baseline { time, target, state, .. } => {
            let mut parts = vec![format!("handshake {}", state.handshake)];
            if let Some(req) = state.client_cert_requested {
                parts.push(format!("certificate requested: {}", if req { "yes" } else { "no" }));
            }
            if let Some(sent) = state.client_cert_sent {
                parts.push(format!("sent: {}", if sent { "yes" } else { "no" }));
            }
            if let Some(s) = state.http_status {
                parts.push(format!("HTTP {s}"));
            }
            if let Some(e) = &state.error {
                parts.push(format!("error: {e}"));
            }
            let verdict = if state.ok { "ok" } else { "not ok" };
            format!("{time}  {target}  watching: {verdict}; {}", parts.join(", "))
        }
        WatchRecord::Change { time, target, change, .. } => {
            format!("{time}  {target}  {}", crate::report::change_text(change))
        }
        WatchRecord::End { time, runs, reason, until, until_met, .. } => {
            let why = match reason {
                EndReason::UntilMet => "the --until condition was met",
                EndReason::MaxRuns => "--max-runs reached",
                EndReason::Interrupted => "interrupted",
            };
            let met = if until.is_some() && !until_met { " (condition not met)" } else { "" };
            format!("{time}  watch ended after {runs} runs: {why}{met}")
        }
    }
}

/// How a watch runs.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Pause between the end of one run and the start of the next.
    pub interval: Duration,
    pub until: Option<Until>,
    /// Stop after this many runs (none: until met or interrupted).
    pub max_runs: Option<u64>,
    /// Probes at once within a run.
    pub jobs: usize,
}

/// Run a watch: probe the prepared targets every `interval`, hand each record to `emit` as it is
/// made, stop when the condition is met, after `max_runs`, or when `stop` resolves (Ctrl-C), always
/// ending with an `end` record. Returns the watcher (its latest run is what `--save` writes).
pub async fn run_watch<E, S>(
    targets: Vec<(TargetRun, Option<Arc<Loaded>>)>,
    options: &WatchOptions,
    mut emit: E,
    stop: S,
) -> Result<(Watcher, EndReason)>
where
    E: FnMut(&WatchRecord) -> Result<()>,
    S: Future<Output = ()>,
{
    if targets.is_empty() {
        return Err(Error::Usage("no targets to watch".into()));
    }
    tokio::pin!(stop);
    let mut watcher = Watcher::new(options.until);
    let reason = loop {
        let runs = tokio::select! {
            runs = crate::cli::run_prepared(targets.clone(), options.jobs.max(1)) => runs,
            _ = &mut stop => break EndReason::Interrupted,
        };
        for record in watcher.observe(runs, OffsetDateTime::now_utc())? {
            emit(&record)?;
        }
        if watcher.until_met() {
            break EndReason::UntilMet;
        }
        if options.max_runs.is_some_and(|m| watcher.runs() >= m) {
            break EndReason::MaxRuns;
        }
        tokio::select! {
            _ = tokio::time::sleep(options.interval) => {}
            _ = &mut stop => break EndReason::Interrupted,
        }
    };
    emit(&watcher.end(reason, OffsetDateTime::now_utc()))?;
    Ok((watcher, reason))
}

/// `30s`, `2m`, `500ms`, `1h`, or a plain number of seconds.
pub fn parse_interval(text: &str) -> std::result::Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (t, 1.0)
    };
    let value: f64 =
        number.trim().parse().map_err(|_| format!("{text:?}: expected a duration like 30s, 2m or 500ms"))?;
    let secs = value * scale;
    if !(secs.is_finite() && secs > 0.0 && secs <= 7.0 * 86400.0) {
        return Err(format!("{text:?}: must be more than 0 and at most a week"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_with_units_and_refuse_nonsense() {
        assert_eq!(parse_interval("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_interval("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_interval("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_interval("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("soon").is_err());
        assert!(parse_interval("9999h").is_err());
    }

    #[test]
    fn the_first_run_is_a_baseline_and_an_unchanged_run_says_nothing() {
        let mut w = Watcher::new(Some(Until::Changed));
        let run = TargetRun { name: "gw".into(), error: Some("cannot connect".into()), ..Default::default() };
        let first = w.observe(vec![run.clone()], OffsetDateTime::UNIX_EPOCH).expect("observe");
        assert!(matches!(&first[..], [WatchRecord::Baseline { target, .. }] if target == "gw"), "{first:?}");
        assert!(w.observe(vec![run.clone()], OffsetDateTime::UNIX_EPOCH).expect("observe").is_empty());
        assert!(!w.until_met());
        let fixed = TargetRun { error: None, ..run };
        let third = w.observe(vec![fixed], OffsetDateTime::UNIX_EPOCH).expect("observe");
        assert!(
            matches!(
                &third[..],
                [WatchRecord::Change { run: 3, change, .. }] if matches!(**change, Change::ErrorChanged { after: None, .. })
            ),
            "{third:?}"
        );
        assert!(w.until_met());
    }
}
