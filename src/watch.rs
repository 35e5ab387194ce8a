//! `mtls-doctor watch`: probe the same targets again and again and report only what changed since
//! the previous run (the session diff, run to run), with the time it was seen. The change detection
//! lives here; the CLI writes the records as JSON Lines or text and the TUI shows them as a log.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::engine::{self, run_ok, Passwords, Prepared};
use crate::error::{Error, Result};
use crate::session::{self, Session, TargetRun, TargetStatus};
pub use crate::session::{EndReason, TargetState, Until, WatchLog, WatchRecord, WATCH_SCHEMA_VERSION};

/// How a target looks after one run (the baseline record's state).
pub fn target_state(run: &TargetRun) -> TargetState {
    let p = run.probe.as_ref();
    let connected = p.is_some_and(|p| p.tcp.connected);
    TargetState {
        handshake: p.map(session::handshake_summary).unwrap_or_else(|| "not attempted".into()),
        client_cert_requested: p.filter(|_| connected).map(|p| p.client_cert_requested),
        client_cert_sent: p.filter(|_| connected).map(|p| p.client_cert_sent),
        http_status: p.and_then(|p| p.http.as_ref()).map(|h| h.status),
        server_leaf_thumbprint: p.and_then(|p| p.server_chain.first()).map(|c| c.thumbprint_sha1.clone()),
        findings: run.findings.iter().map(|f| f.id).collect(),
        ok: run_ok(run),
        error: run.error.clone(),
    }
}

/// The change detector: fed each run's (redacted) targets, it returns the records to show.
#[derive(Debug, Default)]
pub struct Watcher {
    previous: Option<Session>,
    runs: u64,
    until: Option<Until>,
    changed: bool,
    met: bool,
    /// Every record made so far (bounded), for `--save` and the TUI's log.
    log: WatchLog,
}

impl Watcher {
    pub fn new(until: Option<Until>) -> Self {
        Watcher { until, ..Default::default() }
    }

    /// A watcher whose saved log says it ran every `interval`.
    pub fn with_interval(until: Option<Until>, interval: Duration) -> Self {
        Watcher { until, log: WatchLog::new(interval.as_secs_f64(), until), ..Default::default() }
    }

    /// The change log so far.
    pub fn log(&self) -> &WatchLog {
        &self.log
    }

    /// The latest run as a session carrying the whole change log: what `watch --save` writes.
    pub fn saved_session(&self) -> Option<Session> {
        let mut s = self.previous.clone()?;
        s.watch = Some(self.log.clone());
        Some(s)
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
                        state: target_state(t),
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
        for r in &out {
            self.log.push(r.clone());
        }
        Ok(out)
    }

    /// The last record of a watch (kept in the log too).
    pub fn end(&mut self, reason: EndReason, at: OffsetDateTime) -> WatchRecord {
        let record = WatchRecord::End {
            schema_version: WATCH_SCHEMA_VERSION,
            time: crate::cert::rfc3339(at),
            runs: self.runs,
            reason,
            until: self.until,
            until_met: self.met,
        };
        self.log.push(record.clone());
        record
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

/// What a running watch reports, in order: a run starts, its targets finish one by one, then
/// its records (none when nothing changed).
#[derive(Debug, Clone, Copy)]
pub enum WatchEvent<'a> {
    RunStarted {
        run: u64,
        targets: usize,
    },
    /// `ok` is [`engine::run_ok`] of the finished run.
    TargetDone {
        run: u64,
        index: usize,
        done: usize,
        targets: usize,
        target: &'a str,
        ok: bool,
    },
    Record(&'a WatchRecord),
}

/// Run a watch: probe the prepared targets (material loaded once, by the caller's
/// [`engine::MaterialCache`]) every `interval`, hand each event to `on_event` as it happens, stop
/// when the condition is met, after `max_runs`, or when `stop` resolves (Ctrl-C, `q` in the TUI),
/// always ending with an `end` record. Returns the watcher: its log and latest run are what
/// `--save` writes.
pub async fn run_watch<E, S>(
    targets: Vec<Prepared>,
    passwords: Arc<Passwords>,
    options: &WatchOptions,
    mut on_event: E,
    stop: S,
) -> Result<(Watcher, EndReason)>
where
    E: FnMut(WatchEvent<'_>) -> Result<()>,
    S: Future<Output = ()>,
{
    if targets.is_empty() {
        return Err(Error::Usage("no targets to watch".into()));
    }
    tokio::pin!(stop);
    let mut watcher = Watcher::with_interval(options.until, options.interval);
    let total = targets.len();
    let reason = loop {
        let run = watcher.runs() + 1;
        on_event(WatchEvent::RunStarted { run, targets: total })?;
        let mut done = 0;
        let runs = {
            let batch = engine::run_prepared(targets.clone(), options.jobs.max(1), passwords.clone(), |index, t| {
                done += 1;
                // A progress callback cannot fail the run; a failing sink shows on the next record.
                let _ = on_event(WatchEvent::TargetDone {
                    run,
                    index,
                    done,
                    targets: total,
                    target: &t.name,
                    ok: run_ok(t),
                });
            });
            tokio::select! {
                runs = batch => runs,
                _ = &mut stop => break EndReason::Interrupted,
            }
        };
        for record in watcher.observe(runs, OffsetDateTime::now_utc())? {
            on_event(WatchEvent::Record(&record))?;
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
    let end = watcher.end(reason, OffsetDateTime::now_utc());
    on_event(WatchEvent::Record(&end))?;
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
    use crate::session::Change;

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
