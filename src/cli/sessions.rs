//! `replay`, `diff` and `open`: commands on saved sessions.

use std::io::IsTerminal as _;

use super::{emit, finish, interactive, DiffArgs, OpenArgs, ReplayArgs, EXIT_FINDINGS, EXIT_OK};
use crate::engine::LoadFailure;
use crate::error::{Error, Result};
use crate::probe::{self, Header};
use crate::report::{self, Format};
use crate::session::{self, Session, TargetRun};
use crate::tui::TuiOptions;

/// Secret header values were saved as `[redacted]`: take them from `-H`, else ask on the terminal
/// (once per header name), else leave the header out. Sending the placeholder would only earn a 401.
fn restore_secret_headers(run: &mut TargetRun, given: &[Header], asked: &mut Vec<Header>) -> Result<()> {
    let Some(options) = run.options.as_mut() else { return Ok(()) };
    let mut kept = Vec::new();
    for h in std::mem::take(&mut options.headers) {
        if !(probe::is_secret_header(&h.name) && h.value == session::REDACTED) {
            kept.push(h);
            continue;
        }
        let known = given.iter().chain(asked.iter()).find(|g| g.name.eq_ignore_ascii_case(&h.name));
        if let Some(g) = known {
            kept.push(Header { name: h.name, value: g.value.clone() });
        } else if std::io::stdin().is_terminal() {
            let value = rpassword::prompt_password(format!("Value of {} (saved redacted): ", h.name)).map_err(|e| {
                Error::input(format!("header {}", h.name), format!("cannot read it from the terminal ({e})"))
            })?;
            asked.push(Header { name: h.name.clone(), value: value.clone() });
            kept.push(Header { name: h.name, value });
        } else {
            eprintln!(
                "mtls-doctor: {}: header {} was saved redacted and is left out (give it with -H '{}: …')",
                crate::text::clean(&run.name),
                h.name,
                h.name
            );
        }
    }
    options.headers = kept;
    Ok(())
}

/// A session keeps a body's length and SHA-256, never its bytes: take them from `--data`, else say
/// in one line that this target's request cannot be sent (the probe then records why).
fn restore_body(run: &mut TargetRun, given: Option<&probe::body::RequestBody>) {
    let Some(options) = run.options.as_mut() else { return };
    let Some(saved) = options.body.as_ref().filter(|b| b.bytes().is_none()) else { return };
    let name = crate::text::clean(&run.name);
    match given {
        Some(body) => {
            if body != saved {
                eprintln!(
                    "mtls-doctor: {name}: --data is not the body the saved probe sent ({} bytes, SHA-256 {}); sending --data",
                    saved.len(),
                    saved.sha256()
                );
            }
            options.body = Some(body.clone());
        }
        None => eprintln!(
            "mtls-doctor: {name}: the saved probe sent a request body ({} bytes), which a session does not keep: give it again with --data (the request is not sent without it)",
            saved.len()
        ),
    }
}

/// `replay FILE`: run the saved targets again with their saved inputs. A target whose material is
/// gone reports that as its error; the others still run.
pub fn run_replay(args: &ReplayArgs) -> Result<i32> {
    run_replay_from(args, session::load(&args.file))
}

/// `replay` with its session already loaded (once: the output guard reads the material it names
/// from the same copy); a load error is this command's.
pub(super) fn run_replay_from(args: &ReplayArgs, old: Result<Session>) -> Result<i32> {
    let old = old?;
    if let Some(log) = &old.watch {
        // A replay is one run: the watch's change log belongs to the watch that made it.
        eprintln!(
            "mtls-doctor: {} is a saved watch ({} records in its change log): its targets are run once, not watched \
             (use `mtls-doctor watch` to watch them again)",
            args.file.display(),
            log.records.len()
        );
    }
    let given: Vec<Header> = args.headers.iter().map(|h| Header::parse(h)).collect::<Result<_>>()?;
    let mut asked = Vec::new();
    let mut targets = Vec::new();
    let data = args.data.as_deref().map(probe::body::RequestBody::from_arg).transpose()?;
    for t in &old.targets {
        let mut fresh = t.inputs_only();
        restore_secret_headers(&mut fresh, &given, &mut asked)?;
        restore_body(&mut fresh, data.as_ref());
        targets.push(fresh);
    }
    if let Some(stream) = super::probe::stream_for(&args.output, targets.len())? {
        let from = args.file.display().to_string();
        let targets = crate::targets::TargetSource::from_runs(targets);
        return super::probe::streamed(
            stream,
            targets,
            LoadFailure::RecordInTarget,
            args.jobs,
            args.quiet,
            &args.session,
            |s| {
                let mut s = s.with_command("replay");
                s.replayed_from = Some(from);
                s
            },
        );
    }
    let runs = super::probe::run_with_progress(
        crate::targets::TargetSource::from_runs(targets),
        LoadFailure::RecordInTarget,
        args.jobs,
        args.quiet,
        |_, _| {},
    )?;
    let mut new = Session::new(runs).with_command("replay");
    new.replayed_from = Some(args.file.display().to_string());
    let code = finish(&new, &args.output, &args.view, &args.session)?;
    Ok(super::probe::not_run_code(&new, code))
}

/// `diff A B`: exit 0 when nothing changed, 1 when something did (as diff(1) does), 2 on bad input.
pub fn run_diff(args: &DiffArgs) -> Result<i32> {
    let before = session::load(&args.before)?;
    let after = session::load(&args.after)?;
    let d = session::diff(&before, &args.before.display().to_string(), &after, &args.after.display().to_string());
    emit(&args.output, &report::render_diff(&d, args.output.report.unwrap_or(Format::Text)))?;
    Ok(if d.has_changes() { EXIT_FINDINGS } else { EXIT_OK })
}

/// `open FILE`: the session read-only, drawn only from the file (nothing is probed or read again).
pub fn run_open(args: &OpenArgs, theme: Option<String>) -> Result<i32> {
    let session = session::load(&args.file)?;
    if interactive(&args.output) {
        let opts = TuiOptions { theme, read_only: true, session_path: Some(args.file.clone()), ..Default::default() };
        return crate::tui::run_tui(session, opts);
    }
    emit(&args.output, &super::render(&session, &args.output, &args.view)?)?;
    Ok(EXIT_OK)
}
