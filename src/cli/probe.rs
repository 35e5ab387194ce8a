//! `probe TARGET…` and `tui [probe options]`: targets from the command line and `--targets`, run
//! by the engine with a progress line on a terminal.

use super::args::{OutputArgs, SaveArgs};
use super::progress::Progress;
use super::stream::Stream;
use super::{finish, ProbeArgs};
use crate::engine::{self, LoadFailure, MaterialCache, PasswordPrompt, SweepOptions};
use crate::error::{Error, Result};
use crate::report::Format;
use crate::session::{self, Session, TargetRun};
use crate::targets::{BadEntry, TargetSource};
use crate::tui::TuiOptions;

/// The targets a probe command line names: its HOST[:PORT] arguments, then its `--targets` file
/// (checked whole now, read again target by target as they run). With [`BadEntry::Abort`] the
/// first bad entry of the file is the input error; with [`BadEntry::Record`] it is a target that
/// carries its error.
pub(super) fn command_line_source(args: &ProbeArgs, bad: BadEntry) -> Result<TargetSource> {
    let defaults = args.defaults();
    let mut targets = Vec::new();
    for t in &args.targets {
        targets.push(defaults.target(t)?);
    }
    match &args.targets_file {
        Some(file) => TargetSource::with_file(targets, file, &defaults, bad),
        None => Ok(TargetSource::from_runs(targets)),
    }
}

/// Every target of a probe command line, built; the first bad entry of the file is the error.
pub(super) fn command_line_targets(args: &ProbeArgs) -> Result<Vec<TargetRun>> {
    Ok(command_line_source(args, BadEntry::Abort)?.collect())
}

/// What a bad targets-file entry and a target whose material does not load do: stop everything
/// with `--fail-fast`, else become that target's error.
fn on_bad(args: &ProbeArgs) -> (BadEntry, LoadFailure) {
    if args.fail_fast {
        (BadEntry::Abort, LoadFailure::Abort)
    } else {
        (BadEntry::Record, LoadFailure::RecordInTarget)
    }
}

/// The targets `probe` runs, read (and the targets file checked) once: the output guard looks at
/// the same source before the sweep takes it.
pub(super) fn probe_source(args: &ProbeArgs) -> Result<TargetSource> {
    command_line_source(args, on_bad(args).0)
}

pub fn run_probe(args: &ProbeArgs) -> Result<i32> {
    run_probe_from(args, probe_source(args))
}

/// `probe` with its targets already read by [`probe_source`] (an error there is this command's).
pub(super) fn run_probe_from(args: &ProbeArgs, source: Result<TargetSource>) -> Result<i32> {
    let on_failure = on_bad(args).1;
    let source = source?;
    if source.is_empty() {
        return Err(Error::Usage("no targets: give HOST[:PORT] or a --targets file that lists some".into()));
    }
    let load = Load { on_failure, command_line_aborts: true };
    // A streamed report is the plain one, record by record: -v and --summary need the whole run.
    if !args.view.verbose && !args.view.summary {
        if let Some(stream) = stream_for(&args.output, source.len())? {
            return streamed(stream, source, load, args.jobs, args.quiet, &args.session, |s| s.with_command("probe"));
        }
    }
    let runs = run_with_progress(source, load, args.jobs, args.quiet, |_, _| {})?;
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

/// How a sweep loads its targets' material: stop at the first failure, or record it in each
/// target that names it (its error then starts with the targets-file entry, `FILE:LINE`).
pub(super) struct Load {
    pub on_failure: LoadFailure,
    /// Material of a target given on the command line (no origin) that does not load is the input
    /// error even when targets-file entries only record theirs: it is every such target's material.
    pub command_line_aborts: bool,
}

impl From<LoadFailure> for Load {
    fn from(on_failure: LoadFailure) -> Self {
        Load { on_failure, command_line_aborts: false }
    }
}

impl Load {
    /// Load every distinct set of material the targets name, before anything runs (the password
    /// prompts come first, as ever). A failure that stops the run names the targets-file entry
    /// that first names the material, then the file and what is wrong with it.
    fn preload(&self, cache: &mut MaterialCache, source: &TargetSource) -> Result<()> {
        for (refs, origin) in source.materials().iter().zip(source.material_origins()) {
            let abort = self.on_failure == LoadFailure::Abort || (origin.is_none() && self.command_line_aborts);
            let mode = if abort { LoadFailure::Abort } else { LoadFailure::RecordInTarget };
            cache.preload(refs, mode).map_err(|e| match origin {
                Some(at) => Error::input(at, e.to_string()),
                None => e,
            })?;
        }
        Ok(())
    }
}

/// Load every target's material (asking for passwords before anything runs), then run them all
/// with a progress line on stderr (see [`super::progress`]); results in the order given (the
/// reports that need every run).
pub(super) fn run_with_progress(
    source: TargetSource,
    load: impl Into<Load>,
    jobs: usize,
    quiet: bool,
    mut on_done: impl FnMut(usize, &TargetRun),
) -> Result<Vec<TargetRun>> {
    let mut slots: Vec<Option<TargetRun>> = Vec::with_capacity(source.len());
    sweep_with_progress(source, load.into(), SweepOptions { jobs, window: None }, quiet, |i, run| {
        on_done(i, &run);
        if slots.len() <= i {
            slots.resize_with(i + 1, || None);
        }
        slots[i] = Some(run);
    })?;
    Ok(slots.into_iter().flatten().collect())
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
/// the session (its fields made by `session_of`) when asked. Targets are pulled from `source` as
/// slots free up and each run is dropped once written (and spooled to disk for `--save`), so the
/// memory is the concurrency's, not the number of targets'. The exit code is the report's.
pub(super) fn streamed(
    mut stream: Stream,
    source: TargetSource,
    load: impl Into<Load>,
    jobs: usize,
    quiet: bool,
    save: &SaveArgs,
    session_of: impl FnOnce(Session) -> Session,
) -> Result<i32> {
    stream = stream.with_secrets(source.secrets().to_vec());
    // In-order text holds the blocks that finished before an earlier one: at most this many.
    let window = stream.in_order().then(|| (jobs.max(1) * 4).max(16));
    let mut spool = save.save.as_deref().map(session::Spool::new).transpose()?;
    sweep_with_progress(source, load.into(), SweepOptions { jobs, window }, quiet, |i, run| {
        let safe = stream.target(i, run);
        if let Some(spool) = &mut spool {
            spool.add(i, &safe);
        }
    })?;
    let code = stream.finish()?;
    if let (Some(spool), Some(path)) = (spool, &save.save) {
        spool.finish(&session_of(Session::new(Vec::new())), path)?;
    }
    Ok(code)
}

/// Load the material every target names (asking for passwords before anything runs), then run
/// the targets as `source` yields them, with a progress line on stderr; returns how many ran.
fn sweep_with_progress(
    source: TargetSource,
    load: Load,
    options: SweepOptions,
    quiet: bool,
    mut on_done: impl FnMut(usize, TargetRun),
) -> Result<usize> {
    let mut cache = MaterialCache::new(PasswordPrompt::Terminal);
    load.preload(&mut cache, &source)?;
    let mut progress = Progress::new(source.len(), quiet);
    let n = engine::runtime_for(source.len())?.block_on(engine::run_sweep(
        source.sourced(),
        options,
        &mut cache,
        |i, done| {
            progress.done(done, |done| on_done(i, done));
        },
    ));
    progress.finish();
    Ok(n)
}

/// `tui [probe options]`: the TUI with the command line's targets, probing at once.
pub fn run_tui_command(args: &ProbeArgs, theme: Option<String>) -> Result<i32> {
    run_tui_from(theme, every_target_source(args))
}

/// Every target a `tui` or `watch` command line names, the first bad entry of its file the
/// error, read once for the output guard and then the command.
pub(super) fn every_target_source(args: &ProbeArgs) -> Result<TargetSource> {
    command_line_source(args, BadEntry::Abort)
}

/// `tui [probe options]` with its targets already read by [`every_target_source`].
pub(super) fn run_tui_from(theme: Option<String>, source: Result<TargetSource>) -> Result<i32> {
    let targets: Vec<TargetRun> = source?.collect();
    let opts = TuiOptions { theme, run_on_start: !targets.is_empty(), ..Default::default() };
    crate::tui::run_tui(Session::new(targets), opts)
}
