//! `demo`: the built-in lab and its session, in the terminal UI or as a report.

use super::{finish, interactive, DemoArgs, EXIT_OK};
use crate::engine;
use crate::error::{Error, Result};
use crate::tui::TuiOptions;

/// `demo`: start the lab, run its targets, show the session.
pub fn run_demo(args: &DemoArgs, theme: Option<String>) -> Result<i32> {
    let dir = tempfile::tempdir().map_err(|e| Error::Usage(format!("cannot create a temporary directory: {e}")))?;
    let rt = engine::runtime()?;
    // A bad theme is an input error before anything starts.
    crate::tui::Theme::load(theme.as_deref())?;
    let (lab, session) = rt.block_on(crate::demo::start_demo(dir.path()))?;
    // The lab's temporary directory is named by its files (`lab:policy.xml`), never by its path,
    // inputs included (the edit form shows them); the UI's runner reads `lab:` names from `dir`.
    let interactive_run = !args.headless && args.session.save.is_none() && interactive(&args.output);
    let session = crate::session::relabel_dir(&session, dir.path(), "lab")?;
    if interactive_run {
        // The lab (and `dir`, holding its material) stays up while the UI can re-run targets.
        let runner = crate::tui::relabelled_runner(dir.path().to_path_buf(), "lab");
        let opts = TuiOptions { theme, runtime: Some(rt.handle().clone()), runner: Some(runner), ..Default::default() };
        let code = crate::tui::run_tui(session.with_command("demo"), opts);
        rt.block_on(lab.shutdown());
        return code;
    }
    let result = finish(&session.with_command("demo"), &args.output, &args.view, &args.session);
    rt.block_on(lab.shutdown());
    // The demo's findings are the point of the demo, not a failure of the run.
    result.map(|_| EXIT_OK)
}
