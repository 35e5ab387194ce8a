//! `probe TARGET…` and `tui [probe options]`: targets from the command line and `--targets`, run
//! by the engine with a progress line on a terminal.

use super::args::{OutputArgs, SaveArgs};
use super::progress::Progress;
use super::stream::Stream;
use super::{finish, ProbeArgs};
use crate::engine::{self, LoadFailure, MaterialCache, PasswordPrompt, Prepared};
use crate::error::{Error, Result};
use crate::report::Format;
use crate::session::{Session, TargetRun};
use crate::targets;
use crate::tui::TuiOptions;

/// The targets a probe command line names: its HOST[:PORT] arguments, then its `--targets` file.
/// The first bad entry of the file is the input error.
pub(super) fn command_line_targets(args: &ProbeArgs) -> Result<Vec<TargetRun>> {
    Ok(named_targets(args, targets::BadEntry::Abort)?.into_iter().map(|(run, _)| run).collect())
}

/// The command line's targets, each with where the targets file writes it (None for a target on
/// the command line); with [`targets::BadEntry::Record`] a bad entry is a target with its error.
fn named_targets(args: &ProbeArgs, bad: targets::BadEntry) -> Result<Vec<(TargetRun, Option<String>)>> {
    let defaults = args.defaults();
    let mut out = Vec::new();
    for t in &args.targets {
        out.push((defaults.target(t)?, None));
    }
    if let Some(file) = &args.targets_file {
        out.extend(targets::read_entries(file, &defaults, bad)?.into_iter().map(|e| (e.run, Some(e.at))));
    }
    Ok(out)
}

pub fn run_probe(args: &ProbeArgs) -> Result<i32> {
    let (bad, on_failure) = if args.fail_fast {
        (targets::BadEntry::Abort, LoadFailure::Abort)
    } else {
        (targets::BadEntry::Record, LoadFailure::RecordInTarget)
    };
    let named = named_targets(args, bad)?;
    if named.is_empty() {
        return Err(Error::Usage("no targets: give HOST[:PORT] or a --targets file that lists some".into()));
    }
    let (targets, origins): (Vec<TargetRun>, Vec<Option<String>>) = named.into_iter().unzip();
    let load = Load { on_failure, origins, command_line_aborts: true };
    // A streamed report is the plain one, record by record: -v and --summary need the whole run.
    if !args.view.verbose && !args.view.summary {
        if let Some(stream) = stream_for(&args.output, targets.len())? {
            return streamed(stream, targets, load, args.jobs, args.quiet, &args.session, |s| s.with_command("probe"));
        }
    }
    let runs = run_with_progress(targets, load, args.jobs, args.quiet, |_, _| {})?;
    let session = Session::new(runs).with_command("probe");
    let code = finish(&session, &args.output, &args.view, &args.session)?;
    Ok(not_run_code(&session, code))
}

/// [`super::EXIT_NOT_RUN`] when a target could not be run (the others were), else `code`.
pub(super) fn not_run_code(session: &Session, code: i32) -> i32 {
    if session.targets.iter().any(|t| t.error.is_some()) {
        super::EXIT_NOT_RUN
    } else {
        code
    }
}

/// How a sweep loads its targets' material: stop at the first failure or record it in the target,
/// and where each target is written (a failure names its targets-file entry too).
pub(super) struct Load {
    pub on_failure: LoadFailure,
    /// `FILE:LINE` per target, in target order (empty, or None, for targets not from a file).
    pub origins: Vec<Option<String>>,
    /// Material of a target given on the command line (no origin) that does not load is the input
    /// error even when targets-file entries only record theirs: it is every such target's material.
    pub command_line_aborts: bool,
}

impl From<LoadFailure> for Load {
    fn from(on_failure: LoadFailure) -> Self {
        Load { on_failure, origins: Vec::new(), command_line_aborts: false }
    }
}

impl Load {
    /// Every target's material, in target order (the password prompts come first, as ever). A
    /// failure names the targets-file entry and then the file and what is wrong with it.
    fn prepare(&self, cache: &mut MaterialCache, targets: Vec<TargetRun>) -> Result<Vec<Prepared>> {
        let origin = |i: usize| self.origins.get(i).cloned().flatten();
        if self.on_failure == LoadFailure::Abort {
            let mut out = Vec::with_capacity(targets.len());
            for (i, run) in targets.into_iter().enumerate() {
                let prepared = cache.prepare(vec![run], LoadFailure::Abort).map_err(|e| match origin(i) {
                    Some(at) => Error::input(at, e.to_string()),
                    None => e,
                })?;
                out.extend(prepared);
            }
            return Ok(out);
        }
        let mut prepared = Vec::with_capacity(targets.len());
        for (i, run) in targets.into_iter().enumerate() {
            let at = origin(i);
            if at.is_none() && self.command_line_aborts {
                prepared.extend(cache.prepare(vec![run], LoadFailure::Abort)?);
                continue;
            }
            let had_error = run.error.is_some();
            let mut p = cache.prepare(vec![run], LoadFailure::RecordInTarget)?;
            if let (Some(at), Some(e), false) = (at, p.first_mut().and_then(|p| p.run.error.as_mut()), had_error) {
                *e = format!("{at}: {e}");
            }
            prepared.append(&mut p);
        }
        Ok(prepared)
    }
}

/// Load every target's material (asking for passwords before anything runs), then run them all
/// with a progress line on stderr (see [`super::progress`]); results in the order given.
pub(super) fn run_with_progress(
    targets: Vec<TargetRun>,
    load: impl Into<Load>,
    jobs: usize,
    quiet: bool,
    mut on_done: impl FnMut(usize, &TargetRun),
) -> Result<Vec<TargetRun>> {
    let mut cache = MaterialCache::new(PasswordPrompt::Terminal);
    let prepared = load.into().prepare(&mut cache, targets)?;
    let mut progress = Progress::new(prepared.len(), quiet);
    let runs = engine::runtime()?.block_on(engine::run_prepared(prepared, jobs, cache.passwords(), |i, done| {
        progress.done(done, || on_done(i, done));
    }));
    progress.finish();
    Ok(runs)
}

/// How a sweep of `targets` targets writes as it goes: `--report jsonl` always; the text report of
/// several targets when it goes to standard output (`-o FILE` stays written at once, atomically).
pub(super) fn stream_for(output: &OutputArgs, targets: usize) -> Result<Option<Stream>> {
    Ok(match output.report {
        Some(Format::Jsonl) => Some(Stream::jsonl(output, targets)?),
        None | Some(Format::Text) if targets > 1 && output.output.is_none() => Some(Stream::text(targets)),
        _ => None,
    })
}

/// Run with each target's record (or text block) written as it finishes, then the summary; save
/// the session (made by `session_of` from the runs) when asked. The exit code is the report's.
pub(super) fn streamed(
    mut stream: Stream,
    targets: Vec<TargetRun>,
    load: impl Into<Load>,
    jobs: usize,
    quiet: bool,
    save: &SaveArgs,
    session_of: impl FnOnce(Session) -> Session,
) -> Result<i32> {
    stream = stream.with_secrets_of(&targets);
    let runs = run_with_progress(targets, load, jobs, quiet, |i, run| stream.target(i, run))?;
    let code = stream.finish()?;
    super::stream::save(&session_of(Session::new(runs)), save)?;
    Ok(code)
}

/// `tui [probe options]`: the TUI with the command line's targets, probing at once.
pub fn run_tui_command(args: &ProbeArgs, theme: Option<String>) -> Result<i32> {
    let targets = command_line_targets(args)?;
    let opts = TuiOptions { theme, run_on_start: !targets.is_empty(), ..Default::default() };
    crate::tui::run_tui(Session::new(targets), opts)
}
