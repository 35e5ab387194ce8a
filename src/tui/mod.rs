//! The interactive TUI: targets, handshake timeline, chains, verdicts and findings of a session,
//! with probes running in the background. The only module that touches the terminal.
//!
//! Layout of the module: `app` (state and input handling, no I/O: it returns effects),
//! `layout` (where each pane goes, shared by `app` and `view`), `view` (pure rendering, one file
//! per pane or overlay), `terminal` (terminal setup and the event loop, which carries out the
//! effects), `form`, `timeline`, `body` (the response body in the Handshake pane), `wrap`, `theme`, `clipboard`, `svg` (screenshots), `watch` (the
//! watch command's screen).

pub mod app;
pub mod body;
pub mod clipboard;
pub mod form;
pub mod layout;
pub mod svg;
pub mod terminal;
pub mod theme;
pub mod timeline;
pub mod view;
pub mod watch;
pub mod wrap;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

pub use app::App;
pub use terminal::{load_session, save_session};
pub use theme::Theme;
pub use view::View;
pub use watch::run_watch_tui;

use crate::engine;
use crate::error::Result;
use crate::material::Password;
use crate::session::{MaterialRefs, Session, TargetRun};

/// A target run in progress.
pub type RunFuture = Pin<Box<dyn Future<Output = TargetRun> + Send + 'static>>;

/// How the TUI runs a target: takes the target (inputs) and the PFX password typed for it, if
/// any, and returns it with observations and findings. Must not fail: input problems go in
/// `TargetRun::error`.
pub type Runner = Arc<dyn Fn(TargetRun, Option<Arc<Password>>) -> RunFuture + Send + Sync>;

/// How to open the TUI.
#[derive(Clone, Default)]
pub struct TuiOptions {
    /// `--theme NAME|PATH`; `None` is the default theme.
    pub theme: Option<String>,
    /// No probes, no edits: for looking at a saved session.
    pub read_only: bool,
    /// Where `s` saves (and the name shown in the header); `s` asks when `None`.
    pub session_path: Option<PathBuf>,
    /// Run every target as soon as the screen is up (`mtls-doctor tui [probe options]`, `demo`).
    pub run_on_start: bool,
    /// How targets are run; `None` is [`engine_runner`].
    pub runner: Option<Runner>,
    /// Run on this runtime (e.g. the one the demo lab lives on) instead of a new one. `run_tui`
    /// blocks on it, so it must not be called from inside that runtime's async code.
    pub runtime: Option<tokio::runtime::Handle>,
}

impl std::fmt::Debug for TuiOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TuiOptions")
            .field("theme", &self.theme)
            .field("read_only", &self.read_only)
            .field("session_path", &self.session_path)
            .field("run_on_start", &self.run_on_start)
            .field("runner", &self.runner.as_ref().map(|_| "custom"))
            .finish_non_exhaustive()
    }
}

/// Open the TUI on `session` until the user quits. Returns the exit code: 0 after `q`, 130 after
/// Ctrl-C, 143/129 after SIGTERM/SIGHUP. The terminal is restored on every path, panics included.
pub fn run_tui(session: Session, opts: TuiOptions) -> Result<i32> {
    // Everything that can fail on bad input fails before the terminal is touched.
    let theme = Theme::load(opts.theme.as_deref())?;
    match opts.runtime.clone() {
        Some(handle) => handle.block_on(run_on_terminal(session, opts, theme)),
        None => engine::runtime()?.block_on(run_on_terminal(session, opts, theme)),
    }
}

async fn run_on_terminal(session: Session, opts: TuiOptions, theme: Theme) -> Result<i32> {
    let mut app = App::new(session);
    app.read_only = opts.read_only;
    app.session_path = opts.session_path.clone();
    let initial = if opts.run_on_start && !opts.read_only { app.run_all() } else { vec![] };
    let runner = opts.runner.clone().unwrap_or_else(engine_runner);

    let (mut term, guard) = terminal::setup()?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let input = terminal::spawn_input(tx.clone());
    let signals = terminal::spawn_signals(tx.clone());
    let mut copy = terminal::osc52_to_stdout;
    let result = terminal::run_loop(&mut term, &mut app, &theme, runner, (tx, rx), initial, &mut copy).await;
    input.abort();
    signals.iter().for_each(|s| s.abort());
    drop(guard);
    result
}

/// The runner that does what the CLI does: `crate::engine` loads the target's material (with the
/// password typed in the TUI; the terminal is never prompted on) and runs it.
pub fn engine_runner() -> Runner {
    Arc::new(|run: TargetRun, password: Option<Arc<Password>>| {
        Box::pin(engine::run_target_typed(run, password)) as RunFuture
    })
}

/// The engine runner for targets whose files are shown as `{label}:{name}` for files in `dir`
/// (the demo lab's temporary directory): the run reads the real files, and what comes back
/// names them by label again, so no temporary path reaches the screen.
pub fn relabelled_runner(dir: PathBuf, label: &'static str) -> Runner {
    let engine = engine_runner();
    Arc::new(move |run: TargetRun, password: Option<Arc<Password>>| {
        let (engine, dir) = (engine.clone(), dir.clone());
        Box::pin(async move {
            let real = match crate::session::unlabel_inputs(&run, &dir, label) {
                Ok(real) => real,
                Err(e) => return TargetRun { error: Some(e.to_string()), ..run },
            };
            let done = engine(real, password).await;
            crate::session::relabel_run(&done, &dir, label)
                .unwrap_or_else(|e| TargetRun { error: Some(e.to_string()), ..run.inputs_only() })
        }) as RunFuture
    })
}

/// Load a target's material without ever prompting on the terminal (the TUI owns it): a password
/// typed in the TUI is handed to the loader directly; without one, a protected PFX is an input
/// error naming the file.
pub fn load_material(refs: &MaterialRefs, password: Option<&Password>) -> Result<engine::Loaded> {
    let typed = engine::PasswordPrompt::Typed(password.cloned().map(Arc::new));
    engine::load_with(refs, &engine::Passwords::new(typed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{Issued, Spec};

    #[test]
    fn typed_password_opens_a_protected_pfx_and_a_missing_one_is_an_input_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = Issued::self_signed(&Spec::ca("TUI Test CA")).expect("ca");
        let leaf = ca.issue(&Spec::leaf("tui client").client_only()).expect("leaf");
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("c.key"));
        std::fs::write(&cert, leaf.cert_pem()).expect("cert");
        std::fs::write(&key, leaf.key_pem()).expect("key");
        let pfx = dir.path().join("c.pfx");
        let out = std::process::Command::new("openssl")
            .args(["pkcs12", "-export", "-passout", "pass:s3cret", "-in"])
            .arg(&cert)
            .arg("-inkey")
            .arg(&key)
            .arg("-out")
            .arg(&pfx)
            .output()
            .expect("openssl");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let refs = MaterialRefs { pfx: Some(pfx.display().to_string()), ..Default::default() };

        let loaded = load_material(&refs, Some(&Password::new("s3cret"))).expect("loads with the typed password");
        let id = loaded.identity.expect("identity");
        assert_eq!(id.chain[0].info.subject, "CN=tui client, O=mtls-doctor lab");

        let e = load_material(&refs, None).expect_err("no password").to_string();
        assert!(e.contains("c.pfx"), "{e}");
        let e = load_material(&refs, Some(&Password::new("n0t-it"))).expect_err("wrong password").to_string();
        assert!(e.contains("c.pfx") && !e.contains("n0t-it") && !e.contains("s3cret"), "{e}");
    }
}
