//! The command line: `run()` dispatches a parsed command to its runner and says which exit code it
//! ends with. `main.rs` only parses and maps the result to an exit code. Every runner is glue:
//! targets are built here and run by `crate::engine`.
//!
//! Layout: `args` (clap definitions), `inspect`, `probe` (probe and tui), `sessions` (replay, diff,
//! open), `listen`, `demo`, `watch`, `exporter`.

mod args;
mod demo;
mod exporter;
mod inspect;
mod listen;
mod meta;
mod outputs;
mod probe;
mod progress;
mod sessions;
mod stream;
mod watch;

use std::io::Write as _;
use std::path::PathBuf;

pub use args::*;
pub use demo::run_demo;
pub use exporter::run_exporter;
pub use inspect::run_inspect;
pub use listen::run_listen;
pub use meta::{run_completions, run_man};
pub use probe::{run_probe, run_tui_command};
pub use sessions::{run_diff, run_open, run_replay};
pub use watch::run_watch;

/// The runtime every command blocks on (kept here for callers of `cli::runtime`).
pub use crate::engine::runtime;
use crate::error::{Error, Result};
use crate::report::{self, Format};
use crate::session::{self, Session};
use crate::tui::TuiOptions;

/// Exit codes (documented in README): no error finding, error findings, usage or input error, and
/// (`probe`, `replay`) some targets could not be run while the others were.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_NOT_RUN: i32 = 3;

/// Write a report to `-o FILE` (atomically) or standard output.
pub fn emit(output: &OutputArgs, text: &str) -> Result<()> {
    match &output.output {
        Some(path) => write_atomically(path, text.as_bytes()),
        None => {
            emit_stdout(text.as_bytes());
            Ok(())
        }
    }
}

/// Bytes to standard output; a closed pipe is not an error worth reporting.
fn emit_stdout(bytes: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(bytes);
    let _ = stdout.flush();
}

/// Temporary file in the same directory, fsync, rename: the old file survives any failure.
pub use crate::session::write_atomically;

fn paths(v: &[PathBuf]) -> Vec<String> {
    v.iter().map(|p| p.display().to_string()).collect()
}

/// The end of every run that makes a session: redact it, print the report, save it if asked.
/// Reports and the saved file are drawn from the same redacted session.
pub fn finish(session: &Session, output: &OutputArgs, view: &ViewArgs, save: &SaveArgs) -> Result<i32> {
    let safe = session::redacted(session)?;
    let text = render(&safe, output, view)?;
    emit(output, &text)?;
    if let Some(path) = &save.save {
        session::save(&safe, path)?;
    }
    Ok(exit_code(&safe.findings().cloned().collect::<Vec<_>>()))
}

/// The session's report as `--report`, `-v` and `--summary` ask.
pub fn render(session: &Session, output: &OutputArgs, view: &ViewArgs) -> Result<String> {
    let format = output.report.unwrap_or(Format::Text);
    if view.summary && format == Format::Json {
        return Err(Error::Usage("--summary is for --report text or markdown; JSON is always the full report".into()));
    }
    Ok(report::render_session_view(session, format, view.view()))
}

/// 1 when any finding is an error, else 0.
pub fn exit_code(findings: &[crate::diagnose::Finding]) -> i32 {
    if crate::diagnose::has_errors(findings) {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// Run the parsed command line; the error path is the caller's (exit code 2).
pub fn run(cli: Cli) -> Result<i32> {
    // Read once, for the output guard and then the command: a probe's targets file (a pipe can
    // be read only once), a replayed session.
    let targets = match &cli.command {
        Some(Command::Probe(a)) => Some(probe::probe_source(a)),
        Some(Command::Tui(t)) => Some(probe::every_target_source(&t.probe)),
        Some(Command::Watch(w)) => Some(probe::every_target_source(&w.probe)),
        _ => None,
    };
    let replayed = match &cli.command {
        Some(Command::Replay(a)) => Some(session::load(&a.file)),
        _ => None,
    };
    if let Some(command) = &cli.command {
        let known = match (&targets, &replayed) {
            (Some(Ok(source)), _) => outputs::Known::Targets(source),
            (_, Some(loaded)) => outputs::Known::Session(loaded.as_ref().ok()),
            _ => outputs::Known::Unread,
        };
        outputs::check_with(command, known)?;
    }
    match cli.command {
        Some(Command::Inspect(a)) => run_inspect(&a),
        Some(Command::Probe(a)) => match targets {
            Some(source) => probe::run_probe_from(&a, source),
            None => run_probe(&a),
        },
        Some(Command::Listen(a)) => run_listen(&a),
        Some(Command::Demo(a)) => run_demo(&a, a.theme.theme.clone()),
        Some(Command::Tui(a)) => match targets {
            Some(source) => probe::run_tui_from(a.theme.theme.clone(), source),
            None => run_tui_command(&a.probe, a.theme.theme.clone()),
        },
        Some(Command::Replay(a)) => match replayed {
            Some(old) => sessions::run_replay_from(&a, old),
            None => run_replay(&a),
        },
        Some(Command::Diff(a)) => run_diff(&a),
        Some(Command::Open(a)) => run_open(&a, a.theme.theme.clone()),
        Some(Command::Completions(a)) => run_completions(&a),
        Some(Command::Man(a)) => run_man(&a),
        Some(Command::Watch(a)) => match targets {
            Some(source) => watch::run_watch_from(&a, a.theme.theme.clone(), source.map(Iterator::collect)),
            None => run_watch(&a, a.theme.theme.clone()),
        },
        Some(Command::Exporter(a)) => run_exporter(&a),
        None => {
            use std::io::IsTerminal as _;
            if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
                crate::tui::run_tui(Session::new(vec![]), TuiOptions { theme: cli.theme, ..Default::default() })
            } else {
                Err(Error::Usage("no command given and not on a terminal (try `mtls-doctor --help`)".into()))
            }
        }
    }
}

/// The terminal UI is for a person at a terminal: no --report, no -o, and stdout is a terminal.
fn interactive(output: &OutputArgs) -> bool {
    use std::io::IsTerminal as _;
    output.report.is_none() && output.output.is_none() && std::io::stdout().is_terminal()
}
