//! The watch view: `mtls-doctor watch TARGET…` on a terminal. The watch itself (runs, change
//! detection, the records and their words) is `crate::watch` and `crate::report`; this screen only
//! shows what it reports as it comes: each target's health after its latest run, and the change log
//! (time, target, what changed) growing live.

use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use tokio::sync::mpsc;

use super::terminal::{self, Event};
use super::theme::{Role, Theme};
use super::TuiOptions;
use crate::engine::{self, LoadFailure, MaterialCache, PasswordPrompt};
use crate::error::Result;
use crate::report;
use crate::session::{TargetRun, WatchRecord};
use crate::watch::{EndReason, WatchEvent, WatchOptions, Watcher};

/// What the watch task tells the screen (owned copies of [`WatchEvent`]).
#[derive(Debug, Clone)]
pub enum WatchMsg {
    RunStarted { run: u64, targets: usize },
    TargetDone { index: usize, done: usize, ok: bool },
    Record(WatchRecord),
}

impl From<WatchEvent<'_>> for WatchMsg {
    fn from(e: WatchEvent<'_>) -> Self {
        match e {
            WatchEvent::RunStarted { run, targets } => WatchMsg::RunStarted { run, targets },
            WatchEvent::TargetDone { index, done, ok, .. } => WatchMsg::TargetDone { index, done, ok },
            WatchEvent::Record(r) => WatchMsg::Record(r.clone()),
        }
    }
}

/// One row of the change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRow {
    pub time: String,
    pub target: String,
    pub what: String,
}

/// The screen's state: built only from the watch's messages.
#[derive(Debug, Default)]
pub struct WatchScreen {
    /// Each target's name and whether its latest run was healthy (`None` before its first run).
    pub targets: Vec<(String, Option<bool>)>,
    pub run: u64,
    pub done: usize,
    pub log: Vec<LogRow>,
    /// Rows scrolled back from the newest (0 follows the log as it grows).
    pub scroll: usize,
    /// The end record's words, once the watch has ended.
    pub ended: Option<String>,
    pub stopping: bool,
    pub interval: String,
}

impl WatchScreen {
    pub fn new(targets: &[TargetRun], options: &WatchOptions) -> Self {
        let until = options.until.map(|u| format!(", until {u}")).unwrap_or_default();
        WatchScreen {
            targets: targets.iter().map(|t| (t.name.clone(), None)).collect(),
            interval: format!("every {} s{until}", options.interval.as_secs_f64()),
            ..Default::default()
        }
    }

    pub fn apply(&mut self, msg: WatchMsg) {
        match msg {
            WatchMsg::RunStarted { run, .. } => {
                self.run = run;
                self.done = 0;
            }
            WatchMsg::TargetDone { index, done, ok } => {
                self.done = done;
                if let Some(t) = self.targets.get_mut(index) {
                    t.1 = Some(ok);
                }
            }
            WatchMsg::Record(r) => {
                let what = report::record_what(&r);
                if matches!(r, WatchRecord::End { .. }) {
                    self.ended = Some(what.clone());
                }
                let target = r.target().map(crate::text::clean).unwrap_or_else(|| "(watch)".into());
                self.log.push(LogRow { time: r.time().to_string(), target, what });
                if self.scroll > 0 {
                    self.scroll += 1;
                }
            }
        }
    }

    /// Keys: q / Esc / Ctrl-C stop the watch (and leave once it has ended); arrows, PgUp/PgDn,
    /// Home/End scroll the log. Returns true when the screen should close.
    pub fn key(&mut self, code: KeyCode, ctrl: bool) -> bool {
        match code {
            KeyCode::Char('q') | KeyCode::Esc => return self.stop(),
            KeyCode::Char('c') if ctrl => return self.stop(),
            KeyCode::Up | KeyCode::Char('k') => self.scroll = (self.scroll + 1).min(self.log.len().saturating_sub(1)),
            KeyCode::Down | KeyCode::Char('j') => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageUp => self.scroll = (self.scroll + 10).min(self.log.len().saturating_sub(1)),
            KeyCode::PageDown => self.scroll = self.scroll.saturating_sub(10),
            KeyCode::Home => self.scroll = self.log.len().saturating_sub(1),
            KeyCode::End => self.scroll = 0,
            _ => {}
        }
        false
    }

    fn stop(&mut self) -> bool {
        if self.ended.is_some() {
            return true;
        }
        self.stopping = true;
        false
    }
}

/// Draw the screen: a header, the targets with their health, the change log, the keys.
pub fn draw(f: &mut Frame, s: &WatchScreen, theme: &Theme) {
    let area = f.area();
    let target_rows = (s.targets.len() as u16 + 2).min(area.height / 3).max(3);
    let [head, targets, log, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(target_rows),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    let status = match (&s.ended, s.stopping) {
        (Some(end), _) => end.clone(),
        (None, true) => "stopping…".into(),
        (None, false) => format!("run {} · {}/{} targets done", s.run, s.done, s.targets.len()),
    };
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" mtls-doctor watch ", theme.style(Role::Accent)),
            Span::styled(format!("· {} · {status}", s.interval), theme.style(Role::Muted)),
        ])),
        head,
    );
    let rows: Vec<Line> = s
        .targets
        .iter()
        .map(|(name, ok)| {
            let (mark, role, word) = match ok {
                Some(true) => ("✔", Role::Ok, "ok"),
                Some(false) => ("✖", Role::Error, "not ok"),
                None => ("…", Role::Running, "waiting for its first run"),
            };
            Line::from(vec![
                Span::styled(format!(" {mark} "), theme.style(role)),
                Span::styled(crate::text::clean(name), theme.style(Role::Text)),
                Span::styled(format!("  {word}"), theme.style(Role::Muted)),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(rows).block(pane(&format!("Targets ({})", s.targets.len()), theme)), targets);
    draw_log(f, s, theme, log);
    let keys = if s.ended.is_some() { " q quit" } else { " q stop the watch · ↑↓ PgUp PgDn Home End scroll" };
    f.render_widget(Paragraph::new(Span::styled(keys, theme.style(Role::Key))), foot);
}

fn pane<'a>(title: &str, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Border))
        .title(Span::styled(format!(" {title} "), theme.style(Role::Title)))
}

fn draw_log(f: &mut Frame, s: &WatchScreen, theme: &Theme, area: Rect) {
    let height = area.height.saturating_sub(2) as usize;
    let end = s.log.len().saturating_sub(s.scroll);
    let start = end.saturating_sub(height);
    let width = s.log.iter().map(|r| r.target.chars().count()).max().unwrap_or(0).min(40);
    let lines: Vec<Line> = s.log[start..end]
        .iter()
        .map(|r| {
            let target: String = r.target.chars().take(width).collect();
            Line::from(vec![
                Span::styled(format!(" {}  ", r.time), theme.style(Role::Muted)),
                Span::styled(format!("{target:<width$}  "), theme.style(Role::Accent)),
                Span::styled(r.what.clone(), theme.style(Role::Text)),
            ])
        })
        .collect();
    let back = if s.scroll > 0 { format!(", {} newer below", s.scroll) } else { String::new() };
    let title = format!("Change log ({}{back})", s.log.len());
    f.render_widget(Paragraph::new(lines).block(pane(&title, theme)), area);
}

/// Run a watch on the terminal: material loaded (and PFX passwords asked) before the screen is
/// taken, then the watch runs in the background and the screen follows it until it ends and the
/// user leaves, or the user stops it. Returns the watcher (its log and latest run) and why it ended.
pub fn run_watch_tui(targets: Vec<TargetRun>, options: WatchOptions, opts: TuiOptions) -> Result<(Watcher, EndReason)> {
    let theme = Theme::load(opts.theme.as_deref())?;
    let mut cache = MaterialCache::new(PasswordPrompt::Terminal);
    let mut screen = WatchScreen::new(&targets, &options);
    let prepared = cache.prepare(targets, LoadFailure::Abort)?;
    let passwords = cache.passwords();
    engine::runtime()?.block_on(async move {
        let (mut term, guard) = terminal::setup()?;
        let (msg_tx, mut msgs) = mpsc::unbounded_channel::<WatchMsg>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let watch = tokio::spawn(async move {
            let on_event = |e: WatchEvent<'_>| {
                let _ = msg_tx.send(e.into());
                Ok(())
            };
            let stop = async {
                let _ = stop_rx.await;
            };
            crate::watch::run_watch(prepared, passwords, &options, on_event, stop).await
        });
        let (tx, mut input) = mpsc::unbounded_channel();
        let input_task = terminal::spawn_input(tx.clone());
        let signals = terminal::spawn_signals(tx);
        let mut stop_tx = Some(stop_tx);
        let io_err = |e: std::io::Error| crate::error::Error::io("terminal", e);
        let mut watch = Some(watch);
        let mut outcome = None;
        loop {
            term.draw(|f| draw(f, &screen, &theme)).map_err(io_err)?;
            let leave = tokio::select! {
                Some(msg) = msgs.recv() => { screen.apply(msg); false }
                Some(ev) = input.recv() => match ev {
                    Event::Input(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => {
                        screen.key(k.code, k.modifiers.contains(KeyModifiers::CONTROL))
                    }
                    Event::Signal(_) | Event::InputClosed(_) => { screen.stopping = true; screen.ended.is_some() }
                    _ => false,
                },
                joined = async { watch.as_mut().expect("polled only while running").await }, if watch.is_some() => {
                    watch = None;
                    outcome = Some(joined);
                    while let Ok(msg) = msgs.try_recv() {
                        screen.apply(msg);
                    }
                    false
                }
            };
            if screen.stopping {
                if let Some(tx) = stop_tx.take() {
                    let _ = tx.send(());
                }
            }
            // Stopped by the user (or a signal): leave as soon as the watch has written its end.
            if leave || (screen.stopping && watch.is_none() && screen.ended.is_some()) {
                break;
            }
        }
        if let Some(w) = watch.take() {
            outcome = Some(w.await);
        }
        input_task.abort();
        signals.iter().for_each(|s| s.abort());
        drop(term);
        drop(guard);
        match outcome {
            Some(Ok(result)) => result,
            Some(Err(e)) => Err(crate::error::Error::input("watch", format!("the watch task failed: {e}"))),
            None => Err(crate::error::Error::input("watch", "the screen closed before the watch ended")),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Change, WATCH_SCHEMA_VERSION};
    use ratatui::backend::TestBackend;

    fn change(n: u64) -> WatchMsg {
        WatchMsg::Record(WatchRecord::Change {
            schema_version: WATCH_SCHEMA_VERSION,
            time: format!("2026-01-01T00:00:{n:02}Z"),
            run: n,
            target: "gw\u{1b}[31m".into(),
            change: Box::new(Change::HttpStatusChanged { before: Some(403), after: Some(200) }),
        })
    }

    fn screen_text(s: &WatchScreen) -> String {
        let mut term = ratatui::Terminal::new(TestBackend::new(90, 16)).expect("terminal");
        term.draw(|f| draw(f, s, &Theme::builtin_default())).expect("draw");
        let buf = term.backend().buffer().clone();
        (0..buf.area.height)
            .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>() + "\n")
            .collect()
    }

    #[test]
    fn the_log_follows_new_rows_scrolls_back_and_never_prints_control_characters() {
        let options =
            WatchOptions { interval: std::time::Duration::from_secs(30), until: None, max_runs: None, jobs: 1 };
        let target = TargetRun { name: "gw\u{1b}[31m".into(), ..Default::default() };
        let mut s = WatchScreen::new(&[target], &options);
        s.apply(WatchMsg::RunStarted { run: 2, targets: 1 });
        s.apply(WatchMsg::TargetDone { index: 0, done: 1, ok: true });
        for n in 2..20 {
            s.apply(change(n));
        }
        let text = screen_text(&s);
        assert!(text.contains("✔ gw"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("00:00:19Z") && text.contains("HTTP status: 403 -> 200"), "newest shown: {text}");
        assert!(text.contains("Change log (18)"), "{text}");
        assert!(!s.key(KeyCode::PageUp, false));
        let text = screen_text(&s);
        assert!(!text.contains("00:00:19Z") && text.contains("10 newer below"), "{text}");
        // q before the end only asks the watch to stop; after the end it leaves.
        assert!(!s.key(KeyCode::Char('q'), false));
        assert!(s.stopping);
        s.ended = Some("watch ended".into());
        assert!(s.key(KeyCode::Char('q'), false));
    }
}
