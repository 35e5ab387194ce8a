//! `watch TARGET… [probe options]`: on a terminal the TUI's watch view; otherwise one line per
//! record (text, or JSON Lines with `--report json`) on standard output or `-o FILE`, as each is
//! seen. The change detection is `crate::watch`; this is glue.

use std::io::{IsTerminal as _, Write as _};

use super::probe::command_line_targets;
use super::{exit_code, WatchArgs, EXIT_FINDINGS, EXIT_OK};
use crate::engine::{self, LoadFailure, MaterialCache, PasswordPrompt};
use crate::error::{Error, Result};
use crate::report::{self, Format};
use crate::session::{self, TargetRun};
use crate::watch::{self, EndReason, WatchEvent, WatchOptions, Watcher};

pub fn run_watch(args: &WatchArgs, theme: Option<String>) -> Result<i32> {
    run_watch_from(args, theme, command_line_targets(&args.probe))
}

/// `watch` with its targets already read (once: the output guard saw the same copy).
pub(super) fn run_watch_from(args: &WatchArgs, theme: Option<String>, targets: Result<Vec<TargetRun>>) -> Result<i32> {
    let targets = targets?;
    if targets.is_empty() {
        return Err(Error::Usage("no targets: give HOST[:PORT] or a --targets file that lists some".into()));
    }
    let options = WatchOptions {
        interval: args.interval,
        until: args.until.map(Into::into),
        max_runs: args.max_runs,
        jobs: args.probe.jobs,
    };
    if super::interactive(&args.probe.output) && std::io::stdin().is_terminal() {
        let opts = crate::tui::TuiOptions { theme, ..Default::default() };
        let (watcher, reason) = crate::tui::run_watch_tui(targets, options.clone(), opts)?;
        // The change log stays in the terminal's scrollback once the screen is gone.
        for record in &watcher.log().records {
            println!("{}", report::record_text(record));
        }
        return finish_watch(args, &options, &watcher, reason);
    }
    let json = match args.probe.output.report {
        None | Some(Format::Text) => false,
        Some(Format::Json | Format::Jsonl) => true,
        Some(Format::Markdown) => return Err(Error::Usage("watch writes text or JSON Lines (--report json)".into())),
    };
    // Material (and PFX passwords) once, before the first run; every run reuses it.
    let mut cache = MaterialCache::new(PasswordPrompt::Terminal);
    let prepared = cache.prepare(targets, LoadFailure::Abort)?;
    let mut sink: Box<dyn std::io::Write> = match &args.probe.output.output {
        // Append, as listen does: an earlier watch's lines in the same file are the user's.
        Some(path) => {
            Box::new(std::fs::OpenOptions::new().append(true).create(true).open(path).map_err(|e| Error::io(path, e))?)
        }
        None => Box::new(std::io::stdout()),
    };
    let where_to =
        args.probe.output.output.as_ref().map(|p| p.display().to_string()).unwrap_or("standard output".into());
    // One progress line for the whole watch, updated in place: it is never drawn anew per run.
    let bar = ProgressLine::new(options.interval);
    let on_event = |event: WatchEvent<'_>| -> Result<()> {
        match event {
            WatchEvent::RunStarted { run, targets } => bar.run_started(run, targets),
            WatchEvent::TargetDone { done, targets, .. } => bar.target_done(done, targets),
            WatchEvent::Record(record) => {
                let line = if json {
                    let text = serde_json::to_string(record).map_err(|e| Error::input(&where_to, e.to_string()))?;
                    crate::text::escape_json_text(text)
                } else {
                    report::record_text(record)
                };
                bar.suspend(|| writeln!(sink, "{line}").and_then(|_| sink.flush()))
                    .map_err(|e| Error::input(&where_to, crate::text::io_error(&e)))?;
            }
        }
        Ok(())
    };
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let (watcher, reason) =
        engine::runtime()?.block_on(watch::run_watch(prepared, cache.passwords(), &options, on_event, stop))?;
    bar.clear();
    finish_watch(args, &options, &watcher, reason)
}

/// `--save` and the exit code: 0 when `--until` was met, 1 when it was not; without `--until`,
/// the latest run's findings decide as for `probe`.
fn finish_watch(args: &WatchArgs, options: &WatchOptions, watcher: &Watcher, reason: EndReason) -> Result<i32> {
    if let (Some(path), Some(saved)) = (&args.probe.session.save, watcher.saved_session()) {
        session::save(&saved, path)?;
    }
    Ok(match (options.until, reason) {
        (Some(_), EndReason::UntilMet) => EXIT_OK,
        (Some(_), _) => EXIT_FINDINGS,
        (None, _) => watcher.latest().map(|s| exit_code(&s.findings().cloned().collect::<Vec<_>>())).unwrap_or(EXIT_OK),
    })
}

/// The watch's progress on standard error (only when it is a terminal): one bar made once, reset
/// at each run and left showing when the next run starts between runs.
struct ProgressLine {
    bar: Option<indicatif::ProgressBar>,
    interval: std::time::Duration,
}

impl ProgressLine {
    fn new(interval: std::time::Duration) -> Self {
        if !std::io::stderr().is_terminal() {
            return ProgressLine { bar: None, interval };
        }
        let bar = indicatif::ProgressBar::with_draw_target(Some(0), indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template("{prefix} [{bar:20}] {pos}/{len} {msg}") {
            bar.set_style(style.progress_chars("=> "));
        }
        ProgressLine { bar: Some(bar), interval }
    }

    fn run_started(&self, run: u64, targets: usize) {
        if let Some(bar) = &self.bar {
            bar.set_prefix(format!("watch run {run}"));
            bar.set_length(targets as u64);
            bar.set_position(0);
            bar.set_message("probing");
        }
    }

    fn target_done(&self, done: usize, targets: usize) {
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
            if done == targets {
                let next = crate::cert::rfc3339(time::OffsetDateTime::now_utc() + self.interval);
                bar.set_message(format!("done; next run at {next}"));
            }
        }
    }

    fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
