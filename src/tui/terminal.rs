//! The terminal and the event loop: one event enum, one channel, one `tokio::select!`. Probes run
//! in background tasks and report back as events; nothing here waits on the network, and with
//! nothing running and no input the loop sleeps. The loop carries out the app's effects, the
//! session file reads and writes included, and hands each outcome back to the app.

use std::collections::{HashMap, VecDeque};
use std::io::{self, IsTerminal as _, Write as _};
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Once};
use std::thread::ThreadId;
use std::time::Duration;

use futures_core::Stream;
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event as TermEvent,
    EventStream, MouseEventKind,
};
use ratatui::crossterm::terminal::{disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::crossterm::{cursor, execute};
use ratatui::layout::Rect;
use ratatui::Terminal;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::task::AbortHandle;

use super::app::{App, Effect, Status, StatusKind};
use super::theme::Theme;
use super::view::View;
use super::Runner;
use crate::error::{Error, Result};
use crate::session::{Session, TargetRun};

/// Everything the loop reacts to.
#[derive(Debug)]
pub enum Event {
    Input(TermEvent),
    /// The terminal's input failed or ended.
    InputClosed(String),
    Finished {
        id: u64,
        generation: u64,
        run: Box<TargetRun>,
    },
    /// A signal asked the TUI to end, with this exit code.
    Signal(i32),
}

/// The thread that owns the terminal while the TUI is on screen.
static UI_THREAD: Mutex<Option<ThreadId>> = Mutex::new(None);
static HOOK: Once = Once::new();

/// Put the terminal back: leave raw mode and the alternate screen, stop mouse reporting, show the
/// cursor. Safe to call more than once.
pub fn restore_terminal() {
    let _ = execute!(io::stdout(), DisableBracketedPaste, DisableMouseCapture, LeaveAlternateScreen, cursor::Show);
    let _ = disable_raw_mode();
}

/// A panic on the UI thread restores the terminal before the message is printed. A panic in a
/// background probe task is caught by tokio and shown on its target instead: restoring the
/// terminal then would wreck a screen that is still running.
fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let ui = UI_THREAD.lock().ok().and_then(|g| *g);
            match ui {
                Some(t) if t == std::thread::current().id() => {
                    restore_terminal();
                    previous(info);
                }
                Some(_) => {}
                None => previous(info),
            }
        }));
    });
}

/// Restores the terminal when dropped: normal return, error, or unwinding panic.
pub struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
        if let Ok(mut g) = UI_THREAD.lock() {
            *g = None;
        }
    }
}

pub type RealTerminal = Terminal<CrosstermBackend<io::Stdout>>;

/// Take over the terminal. The hook goes in first so that a failure half-way still restores.
pub fn setup() -> Result<(RealTerminal, TerminalGuard)> {
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return Err(Error::Usage(
            "the TUI needs a terminal on stdin and stdout (use the probe or inspect commands with --report for headless output)"
                .into(),
        ));
    }
    install_panic_hook();
    if let Ok(mut g) = UI_THREAD.lock() {
        *g = Some(std::thread::current().id());
    }
    let guard = TerminalGuard;
    let io_err = |e: io::Error| Error::io("terminal", e);
    enable_raw_mode().map_err(io_err)?;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture, EnableBracketedPaste).map_err(io_err)?;
    let terminal = Terminal::new(CrosstermBackend::new(io::stdout())).map_err(io_err)?;
    Ok((terminal, guard))
}

/// Forward terminal input into the event channel until the receiver goes away.
pub fn spawn_input(tx: UnboundedSender<Event>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut stream = EventStream::new();
        loop {
            let next = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await;
            let event = match next {
                Some(Ok(ev)) => Event::Input(ev),
                Some(Err(e)) => Event::InputClosed(e.to_string()),
                None => Event::InputClosed("end of input".into()),
            };
            let closed = matches!(event, Event::InputClosed(_));
            if tx.send(event).is_err() || closed {
                break;
            }
        }
    })
}

/// Turn SIGTERM, SIGHUP and an outside SIGINT into a clean exit (the terminal is restored).
pub fn spawn_signals(tx: UnboundedSender<Event>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut handles = Vec::new();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        for (kind, code) in
            [(SignalKind::terminate(), 143), (SignalKind::hangup(), 129), (SignalKind::interrupt(), 130)]
        {
            if let Ok(mut s) = signal(kind) {
                let tx = tx.clone();
                handles.push(tokio::spawn(async move {
                    if s.recv().await.is_some() {
                        let _ = tx.send(Event::Signal(code));
                    }
                }));
            }
        }
    }
    #[cfg(not(unix))]
    {
        let tx = tx.clone();
        handles.push(tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = tx.send(Event::Signal(130));
            }
        }));
    }
    handles
}

/// Write an OSC 52 sequence to the terminal.
pub fn osc52_to_stdout(text: &str) -> io::Result<()> {
    match super::clipboard::osc52(text) {
        Some(seq) => {
            let mut out = io::stdout().lock();
            out.write_all(seq.as_bytes())?;
            out.flush()
        }
        None => Ok(()),
    }
}

/// Write the session as JSON, atomically. Sessions hold no private keys or passwords, and secret
/// header values serialize as `[redacted]`.
pub fn save_session(session: &Session, path: &Path) -> Result<()> {
    // The session module redacts secrets, checks sizes and writes atomically.
    crate::session::save(session, path)
}

/// Read a session file (any supported version), with the session module's checks.
pub fn load_session(path: &Path) -> Result<Session> {
    crate::session::load(path)
}

/// Start a background run; the result comes back as `Event::Finished`. A panic in the run becomes
/// an error on the target rather than a lost result.
fn spawn_run(
    runner: &Runner,
    tx: &UnboundedSender<Event>,
    effect_run: Box<TargetRun>,
    id: u64,
    generation: u64,
    password: Option<Arc<crate::material::Password>>,
) -> AbortHandle {
    let fallback = (*effect_run).clone();
    let inner = tokio::spawn((runner)(*effect_run, password));
    let abort = inner.abort_handle();
    let tx = tx.clone();
    tokio::spawn(async move {
        let run = match inner.await {
            Ok(run) => run,
            Err(e) if e.is_cancelled() => return,
            Err(e) => {
                let mut f = fallback;
                let why = e.try_into_panic().ok().and_then(|p| {
                    p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                });
                f.error =
                    Some(format!("the run failed unexpectedly: {}", why.unwrap_or_else(|| "task panicked".into())));
                f
            }
        };
        let _ = tx.send(Event::Finished { id, generation, run: Box::new(run) });
    });
    abort
}

/// The loop, generic over the backend so it can be driven in tests with `TestBackend`. Returns
/// the exit code the app chose.
pub async fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    theme: &Theme,
    runner: Runner,
    (tx, mut rx): (UnboundedSender<Event>, UnboundedReceiver<Event>),
    initial: Vec<Effect>,
    clipboard: &mut dyn FnMut(&str) -> io::Result<()>,
) -> Result<i32> {
    let mut tasks: HashMap<u64, AbortHandle> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(120));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let draw_err = |e: B::Error| Error::io("terminal", io::Error::other(e.to_string()));
    let mut effects: VecDeque<Effect> = initial.into();
    let result = loop {
        // Session files are small and capped: reading or writing one here keeps its outcome in
        // order with the keys that follow.
        while let Some(effect) = effects.pop_front() {
            match effect {
                Effect::Run { id, generation, run, password } => {
                    if let Some(old) = tasks.insert(id, spawn_run(&runner, &tx, run, id, generation, password)) {
                        old.abort();
                    }
                }
                Effect::Cancel { id } => {
                    if let Some(h) = tasks.remove(&id) {
                        h.abort();
                    }
                }
                Effect::Copy { text } => {
                    if let Err(e) = clipboard(&text) {
                        app.status = Some(Status {
                            text: format!("Could not write to the terminal for the copy: {e}"),
                            kind: StatusKind::Error,
                        });
                    }
                }
                Effect::Save { path, session } => app.on_saved(&path, save_session(&session, &path)),
                Effect::Open { path } => effects.extend(app.on_opened(&path, load_session(&path))),
            }
        }
        if let Some(code) = app.exit {
            break Ok(code);
        }
        let size = terminal.size().map_err(draw_err)?;
        app.size = Rect::new(0, 0, size.width, size.height);
        terminal.draw(|f| f.render_widget(&View::new(app, theme), f.area())).map_err(draw_err)?;

        let event = tokio::select! {
            ev = rx.recv() => ev,
            _ = tick.tick(), if app.busy() => {
                app.tick();
                continue;
            }
        };
        // Input that changes nothing (mouse motion) must not cost a redraw.
        let mut event = event;
        while let Some(Event::Input(TermEvent::Mouse(m))) = &event {
            if !matches!(m.kind, MouseEventKind::Moved | MouseEventKind::Drag(_)) {
                break;
            }
            event = rx.recv().await;
        }
        match event {
            None => break Ok(0),
            Some(Event::Input(TermEvent::Key(k))) => effects = app.on_key(k).into(),
            Some(Event::Input(TermEvent::Mouse(m))) => effects = app.on_mouse(m).into(),
            Some(Event::Input(TermEvent::Paste(text))) => app.on_paste(&text),
            Some(Event::Input(_)) => {}
            Some(Event::InputClosed(why)) => {
                break Err(Error::io("terminal input", io::Error::new(io::ErrorKind::UnexpectedEof, why)))
            }
            Some(Event::Finished { id, generation, run }) => {
                app.on_finished(id, generation, *run);
                if !app.is_running_id(id) {
                    tasks.remove(&id);
                }
            }
            Some(Event::Signal(code)) => app.exit = Some(code),
        }
    };
    for (_, h) in tasks.drain() {
        h.abort();
    }
    result
}
