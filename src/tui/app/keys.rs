//! Keyboard and paste input: the main screen's keys and each overlay's.

use std::path::PathBuf;
use std::sync::Arc;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{App, Effect, Overlay, Pane, PathPurpose, SecretInput, Side, StatusKind, PAGE};
use crate::material::Password;
use crate::text::clean;
use crate::tui::body::body_row;
use crate::tui::form::TargetForm;
use crate::tui::layout::plain_theme;

impl App {
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return vec![];
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && matches!(key.code, KeyCode::Char('c' | 'C')) {
            self.exit = Some(130);
            return vec![];
        }
        let was_quit_armed = std::mem::take(&mut self.quit_armed);
        self.status = None;
        match std::mem::replace(&mut self.overlay, Overlay::None) {
            Overlay::None => self.on_main_key(key, was_quit_armed),
            Overlay::Help { scroll } => {
                self.overlay = match key.code {
                    KeyCode::Esc | KeyCode::Char('?' | 'q') | KeyCode::Enter => Overlay::None,
                    KeyCode::Down | KeyCode::Char('j') => Overlay::Help { scroll: scroll.saturating_add(1) },
                    KeyCode::Up | KeyCode::Char('k') => Overlay::Help { scroll: scroll.saturating_sub(1) },
                    _ => Overlay::Help { scroll },
                };
                vec![]
            }
            Overlay::Detail { side, index, scroll } => self.on_detail_key(key, side, index, scroll),
            Overlay::Form(form) => self.on_form_key(key, form),
            Overlay::Password { id, file, input } => self.on_password_key(key, id, file, input),
            Overlay::Path { purpose, input } => self.on_path_key(key, purpose, input),
            Overlay::Filter => {
                self.on_filter_key(key);
                vec![]
            }
            Overlay::ConfirmDelete { id } => {
                if matches!(key.code, KeyCode::Char('y' | 'Y')) {
                    self.delete(id)
                } else {
                    self.set_status(StatusKind::Info, "Nothing deleted");
                    vec![]
                }
            }
        }
    }

    fn on_main_key(&mut self, key: KeyEvent, quit_armed: bool) -> Vec<Effect> {
        let shift = key.modifiers.contains(KeyModifiers::SHIFT);
        match key.code {
            KeyCode::Char('q') => {
                if self.dirty && !quit_armed && !self.read_only {
                    self.quit_armed = true;
                    self.set_status(StatusKind::Error, "Unsaved changes: press q again to quit, s to save");
                } else {
                    self.exit = Some(0);
                }
            }
            KeyCode::Esc if self.filter_active() => self.clear_filter(),
            KeyCode::Esc => self.focus = Pane::Targets,
            KeyCode::Char('?') | KeyCode::F(1) => self.overlay = Overlay::Help { scroll: 0 },
            KeyCode::Char('/') => self.overlay = Overlay::Filter,
            KeyCode::Char('n') => self.next_match(true),
            KeyCode::Char('N') => self.next_match(false),
            KeyCode::Char('b') => self.toggle_body(),
            KeyCode::Tab => self.focus_pane(self.focus.offset(1)),
            KeyCode::BackTab => self.focus_pane(self.focus.offset(-1)),
            KeyCode::Char(c @ '1'..='5') => {
                let i = (c as usize) - ('1' as usize);
                self.focus_pane(Pane::ALL[i]);
            }
            KeyCode::Down | KeyCode::Char('j') => self.move_in_pane(1),
            KeyCode::Up | KeyCode::Char('k') => self.move_in_pane(-1),
            KeyCode::PageDown => self.scroll_pane(PAGE as isize),
            KeyCode::PageUp => self.scroll_pane(-(PAGE as isize)),
            KeyCode::Home | KeyCode::Char('g') => self.move_in_pane(-10_000),
            KeyCode::End | KeyCode::Char('G') => self.move_in_pane(10_000),
            KeyCode::Left | KeyCode::Char('h') if self.focus == Pane::Chains => self.switch_side(Side::Server),
            KeyCode::Right | KeyCode::Char('l') if self.focus == Pane::Chains => self.switch_side(Side::Client),
            KeyCode::Enter => match self.focus {
                Pane::Chains => self.open_detail(),
                Pane::Targets => self.focus_pane(Pane::Findings),
                _ => {}
            },
            KeyCode::Char('r') => return self.run_selected(),
            KeyCode::Char('R') => return self.run_all(),
            KeyCode::Char('c') => return self.cancel_selected(),
            KeyCode::Char('C') => return self.cancel_all(),
            KeyCode::Char('e') => self.edit(),
            KeyCode::Char('a') => self.add(),
            KeyCode::Char('d') => self.duplicate(),
            KeyCode::Char('x') | KeyCode::Delete => self.confirm_delete(),
            KeyCode::Char('s') if !shift => match self.session_path.clone() {
                Some(p) => return self.save(&p),
                None => self.prompt_path(PathPurpose::Save),
            },
            KeyCode::Char('S') => self.prompt_path(PathPurpose::Save),
            KeyCode::Char('o') => self.prompt_path(PathPurpose::Open),
            KeyCode::Char('y') => return self.copy_in_pane(),
            _ => {}
        }
        vec![]
    }

    pub(super) fn focus_pane(&mut self, pane: Pane) {
        self.focus = pane;
        if pane != Pane::Targets {
            self.narrow_pane = pane;
        }
    }

    pub(super) fn switch_side(&mut self, side: Side) {
        self.chain_side = side;
        let len = self.chain_len(side);
        self.chain_index = self.chain_index.min(len.saturating_sub(1));
    }

    pub(super) fn chain_len(&self, side: Side) -> usize {
        let (s, c) = self.chains();
        match side {
            Side::Server => s.len(),
            Side::Client => c.len(),
        }
    }

    pub(super) fn move_in_pane(&mut self, by: isize) {
        match self.focus {
            Pane::Targets => {
                let shown = self.visible_targets();
                if let Some(i) = step_in(&shown, self.selected, by) {
                    self.select(i);
                }
            }
            Pane::Chains => {
                let n = self.chain_len(self.chain_side) as isize;
                if n > 0 {
                    self.chain_index = (self.chain_index as isize + by).clamp(0, n - 1) as usize;
                }
            }
            Pane::Findings => {
                let shown = self.visible_findings();
                if let Some(i) = step_in(&shown, self.findings_index, by) {
                    self.findings_index = i;
                    self.findings_scroll = 0;
                }
            }
            Pane::Timeline | Pane::Verdicts => self.scroll_pane(by),
        }
    }

    pub(super) fn scroll_pane(&mut self, by: isize) {
        let apply = |v: u16| (v as isize + by).clamp(0, u16::MAX as isize) as u16;
        match self.focus {
            Pane::Timeline => self.timeline_scroll = apply(self.timeline_scroll),
            Pane::Verdicts => self.verdicts_scroll = apply(self.verdicts_scroll),
            Pane::Findings => self.findings_scroll = apply(self.findings_scroll),
            Pane::Targets | Pane::Chains => self.move_in_pane(by),
        }
    }

    /// `b`: the whole kept response body in the Handshake pane, or its first line again.
    fn toggle_body(&mut self) {
        let has_body = self
            .target()
            .and_then(|t| t.probe.as_ref())
            .and_then(|p| p.http.as_ref())
            .is_some_and(|h| !h.body_preview.trim().is_empty());
        if !has_body && !self.body_expanded {
            self.set_status(StatusKind::Info, "No response body recorded for this target");
            return;
        }
        self.body_expanded = !self.body_expanded;
        self.focus_pane(Pane::Timeline);
        // Scroll so the body is in view (the steps above it stay a PgUp away), or back to the top.
        self.timeline_scroll = 0;
        if self.body_expanded {
            let width = self.layout().timeline.width.saturating_sub(2) as usize;
            let view = self.screen().timeline;
            if let Some(t) = self.target() {
                let row = body_row(t, view, width, plain_theme());
                self.timeline_scroll = row.min(u16::MAX as usize) as u16;
            }
        }
    }

    /// A key in the `/` prompt: the filter applies as it is typed; Enter keeps it, Esc clears it.
    fn on_filter_key(&mut self, key: KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => {
                self.clear_filter();
                return;
            }
            KeyCode::Enter => {
                if self.filter.trim().is_empty() {
                    self.filter.clear();
                }
                return;
            }
            KeyCode::Backspace => {
                self.filter.pop();
            }
            KeyCode::Char('u') if ctrl => self.filter.clear(),
            KeyCode::Char(c) if !ctrl => self.filter.push(c),
            _ => {}
        }
        self.filter_changed();
        self.overlay = Overlay::Filter;
    }

    pub(super) fn open_detail(&mut self) {
        if self.cert(self.chain_side, self.chain_index).is_some() {
            self.overlay = Overlay::Detail { side: self.chain_side, index: self.chain_index, scroll: 0 };
        } else {
            self.set_status(StatusKind::Info, "No certificate here to show");
        }
    }

    fn on_detail_key(&mut self, key: KeyEvent, side: Side, index: usize, scroll: u16) -> Vec<Effect> {
        let keep = |scroll| Overlay::Detail { side, index, scroll };
        let Some(cert) = self.cert(side, index).cloned() else { return vec![] };
        let (what, text) = match key.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter => return vec![],
            KeyCode::Down | KeyCode::Char('j') => {
                self.overlay = keep(scroll.saturating_add(1));
                return vec![];
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.overlay = keep(scroll.saturating_sub(1));
                return vec![];
            }
            KeyCode::PageDown => {
                self.overlay = keep(scroll.saturating_add(PAGE));
                return vec![];
            }
            KeyCode::PageUp => {
                self.overlay = keep(scroll.saturating_sub(PAGE));
                return vec![];
            }
            KeyCode::Char('t' | 'y') => ("thumbprint", cert.thumbprint_sha1),
            KeyCode::Char('2') => ("SHA-256 thumbprint", cert.thumbprint_sha256),
            KeyCode::Char('s') => ("subject", cert.subject),
            KeyCode::Char('i') => ("issuer", cert.issuer),
            KeyCode::Char('n') => ("serial number", cert.serial),
            KeyCode::Char('p') => ("certificate PEM", cert.pem),
            _ => {
                self.overlay = keep(scroll);
                return vec![];
            }
        };
        self.overlay = keep(scroll);
        self.copy(what, text)
    }

    fn on_form_key(&mut self, key: KeyEvent, mut form: Box<TargetForm>) -> Vec<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => {
                self.set_status(StatusKind::Info, "Edit cancelled");
                return vec![];
            }
            KeyCode::Enter => {
                if let Ok(run) = form.build() {
                    return self.apply_form(form.target, run);
                }
            }
            KeyCode::Tab | KeyCode::Down => form.next(),
            KeyCode::BackTab | KeyCode::Up => form.prev(),
            KeyCode::Left => form.left(),
            KeyCode::Right => form.right(),
            KeyCode::Home => form.home(),
            KeyCode::End => form.end(),
            KeyCode::Backspace => form.backspace(),
            KeyCode::Delete => form.delete(),
            KeyCode::Char('u') if ctrl => form.clear(),
            KeyCode::Char(c) if !ctrl => form.insert(c),
            _ => {}
        }
        form.forget_stale_error();
        self.overlay = Overlay::Form(form);
        vec![]
    }

    fn on_password_key(&mut self, key: KeyEvent, id: u64, file: String, mut input: SecretInput) -> Vec<Effect> {
        match key.code {
            KeyCode::Esc => {
                self.set_status(StatusKind::Info, format!("Not run: no password given for {}", clean(&file)));
                return self.next_pending();
            }
            KeyCode::Enter => {
                let pw = Arc::new(Password::new(input.0.as_str()));
                self.passwords.insert(file, pw);
                let mut effects = self.start(id).into_iter().collect::<Vec<_>>();
                effects.extend(self.next_pending());
                return effects;
            }
            KeyCode::Backspace => {
                input.0.pop();
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => input.0.clear(),
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => input.0.push(c),
            _ => {}
        }
        self.overlay = Overlay::Password { id, file, input };
        vec![]
    }

    fn on_path_key(&mut self, key: KeyEvent, purpose: PathPurpose, mut input: String) -> Vec<Effect> {
        match key.code {
            KeyCode::Esc => return vec![],
            KeyCode::Enter => {
                let path = PathBuf::from(input.trim());
                if input.trim().is_empty() {
                    self.set_status(StatusKind::Error, "No file name given");
                    return vec![];
                }
                return match purpose {
                    PathPurpose::Save => self.save(&path),
                    PathPurpose::Open => self.open(&path),
                };
            }
            KeyCode::Backspace => {
                input.pop();
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => input.clear(),
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => input.push(c),
            _ => {}
        }
        self.overlay = Overlay::Path { purpose, input };
        vec![]
    }

    /// Bracketed paste goes into whatever text field is open.
    pub fn on_paste(&mut self, text: &str) {
        let text: String = text.chars().filter(|c| !c.is_control()).collect();
        match &mut self.overlay {
            Overlay::Form(form) => {
                text.chars().for_each(|c| form.insert(c));
                form.forget_stale_error();
            }
            Overlay::Path { input, .. } => input.push_str(&text),
            Overlay::Password { input, .. } => input.0.push_str(&text),
            Overlay::Filter => {
                self.filter.push_str(&text);
                self.filter_changed();
            }
            _ => {}
        }
    }
}

/// Move `by` places from `current` within the shown indices `shown` (from the nearest shown one
/// when `current` is hidden), stopping at the ends.
fn step_in(shown: &[usize], current: usize, by: isize) -> Option<usize> {
    if shown.is_empty() {
        return None;
    }
    let at = shown.iter().position(|i| *i >= current).unwrap_or(shown.len() - 1) as isize;
    let to = (at + by).clamp(0, shown.len() as isize - 1) as usize;
    Some(shown[to])
}
