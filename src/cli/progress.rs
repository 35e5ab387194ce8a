//! The progress line of a sweep (`probe` with several targets, `replay`): targets done of the
//! total, the rate, the time left and how many targets have error findings so far. It goes to
//! standard error and only when that is a terminal (and not with `--quiet`): the report on
//! standard output or in `-o FILE` is the same bytes with or without it. It is drawn with
//! indicatif at most a few times a second, so a fast sweep pays for a redraw, not per target.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::diagnose::has_errors;
use crate::session::TargetRun;

/// How the line looks: `⠋ [=====>    ] 412/1000 targets  83.2/s  ETA 7s  3 with errors  api-17`.
const TEMPLATE: &str = "{spinner} [{bar:24}] {pos}/{len} targets  {per_sec}  ETA {eta}  {prefix}{msg}";

/// The progress of one sweep; a no-op when stderr is not a terminal or `--quiet` was given.
pub(super) struct Progress {
    bar: Option<ProgressBar>,
    errors: u64,
}

impl Progress {
    /// A progress line for `total` targets on stderr when it is a terminal and `quiet` is off.
    pub(super) fn new(total: usize, quiet: bool) -> Self {
        let shown = total > 0 && !quiet && std::io::stderr().is_terminal();
        Progress { bar: shown.then(|| bar(total as u64)), errors: 0 }
    }

    /// A target finished: `write` puts its output out first (above the line, not through it),
    /// then the line counts it.
    pub(super) fn done(&mut self, run: TargetRun, write: impl FnOnce(TargetRun)) {
        let Some(bar) = &self.bar else {
            write(run);
            return;
        };
        let failed = run.error.is_some() || has_errors(&run.findings);
        let name = crate::text::clean(&run.name);
        bar.suspend(|| write(run));
        if failed {
            self.errors += 1;
            bar.set_prefix(format!("{} with errors  ", self.errors));
        }
        bar.set_message(name);
        bar.inc(1);
    }

    /// Remove the line: the terminal is left as the report made it.
    pub(super) fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

fn bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(TEMPLATE) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
