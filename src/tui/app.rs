//! The TUI's state and its key, mouse and result handling: a plain state machine with no terminal
//! or network access, so every interaction is unit-testable. Side effects the loop must carry out
//! (start or cancel a probe, copy to the clipboard) come back as [`Effect`]s.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};
use zeroize::Zeroizing;

use super::form::{FormTarget, TargetForm};
use super::view::{areas, target_list_offset, Areas};
use crate::cert::CertInfo;
use crate::diagnose::Severity;
use crate::material::Password;
use crate::report::clean;
use crate::session::{PasswordRef, Session, TargetKind, TargetRun};
use crate::verify::Role;

/// The panes that can hold the keyboard, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Targets,
    Timeline,
    Chains,
    Verdicts,
    Findings,
}

impl Pane {
    pub const ALL: [Pane; 5] = [Pane::Targets, Pane::Timeline, Pane::Chains, Pane::Verdicts, Pane::Findings];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Targets => "Targets",
            Pane::Timeline => "Handshake",
            Pane::Chains => "Certificates",
            Pane::Verdicts => "Verdicts",
            Pane::Findings => "Findings",
        }
    }

    fn offset(self, by: isize) -> Pane {
        let i = Pane::ALL.iter().position(|p| *p == self).unwrap_or(0) as isize;
        let n = Pane::ALL.len() as isize;
        Pane::ALL[((i + by).rem_euclid(n)) as usize]
    }
}

/// Which chain a certificate cursor points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Server,
    Client,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathPurpose {
    Save,
    Open,
}

/// Password being typed: never shown, never in Debug output, zeroed on drop.
pub struct SecretInput(pub Zeroizing<String>);

impl std::fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// What covers the main screen.
#[derive(Debug)]
pub enum Overlay {
    None,
    Help {
        scroll: u16,
    },
    /// Every field of one certificate of the selected target.
    Detail {
        side: Side,
        index: usize,
        scroll: u16,
    },
    Form(Box<TargetForm>),
    Password {
        id: u64,
        file: String,
        input: SecretInput,
    },
    Path {
        purpose: PathPurpose,
        input: String,
    },
    ConfirmDelete {
        id: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    Info,
    Ok,
    Error,
}

/// One line of feedback in the footer; cleared by the next key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub text: String,
    pub kind: StatusKind,
}

/// Something the event loop must do outside the state.
#[derive(Debug)]
pub enum Effect {
    /// Run this target in the background; a newer generation for the same id replaces an older one.
    Run {
        id: u64,
        generation: u64,
        run: Box<TargetRun>,
        password: Option<Arc<Password>>,
    },
    Cancel {
        id: u64,
    },
    /// Put this text on the clipboard (OSC 52).
    Copy {
        text: String,
    },
}

/// The badge of a target in the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetStatus {
    NotRun,
    Running,
    Ok,
    Warning,
    Error,
}

impl TargetStatus {
    /// A symbol and a word: the status reads the same without colour.
    pub fn badge(self, spinner: usize) -> String {
        match self {
            TargetStatus::NotRun => "· new ".into(),
            TargetStatus::Running => format!("{} run ", ['◐', '◓', '◑', '◒'][spinner % 4]),
            TargetStatus::Ok => "✔ ok  ".into(),
            TargetStatus::Warning => "⚠ warn".into(),
            TargetStatus::Error => "✖ err ".into(),
        }
    }
}

/// Lines moved by PageUp/PageDown.
const PAGE: u16 = 10;

pub struct App {
    pub session: Session,
    /// Stable ids parallel to `session.targets` (indices shift on add and delete).
    ids: Vec<u64>,
    next_id: u64,
    pub selected: usize,
    pub focus: Pane,
    /// The detail pane shown under the targets list on a small screen while the list has focus.
    pub narrow_pane: Pane,
    pub overlay: Overlay,
    /// Target id to the generation of its run in flight.
    running: HashMap<u64, u64>,
    generation: u64,
    pub timeline_scroll: u16,
    pub verdicts_scroll: u16,
    pub findings_index: usize,
    pub findings_scroll: u16,
    pub chain_side: Side,
    pub chain_index: usize,
    pub status: Option<Status>,
    pub read_only: bool,
    pub session_path: Option<PathBuf>,
    /// Unsaved changes (edits or new results).
    pub dirty: bool,
    quit_armed: bool,
    /// Passwords typed for PFX files this run, by path. Never saved.
    passwords: HashMap<String, Arc<Password>>,
    /// Targets waiting for their PFX password before they can run.
    pending: VecDeque<u64>,
    pub spinner: usize,
    /// Set when the TUI should end, with the exit code.
    pub exit: Option<i32>,
    /// The last drawn screen size, for mouse hit-testing.
    pub size: Rect,
}

impl App {
    pub fn new(session: Session) -> Self {
        let n = session.targets.len() as u64;
        App {
            session,
            ids: (1..=n).collect(),
            next_id: n + 1,
            selected: 0,
            focus: Pane::Targets,
            narrow_pane: Pane::Timeline,
            overlay: Overlay::None,
            running: HashMap::new(),
            generation: 0,
            timeline_scroll: 0,
            verdicts_scroll: 0,
            findings_index: 0,
            findings_scroll: 0,
            chain_side: Side::Server,
            chain_index: 0,
            status: None,
            read_only: false,
            session_path: None,
            dirty: false,
            quit_armed: false,
            passwords: HashMap::new(),
            pending: VecDeque::new(),
            spinner: 0,
            exit: None,
            size: Rect::new(0, 0, 160, 45),
        }
    }

    pub fn target(&self) -> Option<&TargetRun> {
        self.session.targets.get(self.selected)
    }

    pub fn id_at(&self, index: usize) -> Option<u64> {
        self.ids.get(index).copied()
    }

    fn index_of(&self, id: u64) -> Option<usize> {
        self.ids.iter().position(|i| *i == id)
    }

    pub fn is_running(&self, index: usize) -> bool {
        self.id_at(index).is_some_and(|id| self.running.contains_key(&id))
    }

    pub fn is_running_id(&self, id: u64) -> bool {
        self.running.contains_key(&id)
    }

    /// Whether anything is in flight (the loop animates only then).
    pub fn busy(&self) -> bool {
        !self.running.is_empty()
    }

    pub fn running_count(&self) -> usize {
        self.running.len()
    }

    pub fn target_status(&self, index: usize) -> TargetStatus {
        if self.is_running(index) {
            return TargetStatus::Running;
        }
        let Some(t) = self.session.targets.get(index) else { return TargetStatus::NotRun };
        if t.error.is_some() || t.findings.iter().any(|f| f.severity == Severity::Error) {
            TargetStatus::Error
        } else if t.findings.iter().any(|f| f.severity == Severity::Warning) {
            TargetStatus::Warning
        } else if t.probe.is_some() || t.inspected.is_some() {
            TargetStatus::Ok
        } else {
            TargetStatus::NotRun
        }
    }

    /// The server and client chains of the selected target (an inspected chain goes on the side
    /// of its role).
    pub fn chains(&self) -> (Vec<&CertInfo>, Vec<&CertInfo>) {
        let Some(t) = self.target() else { return (vec![], vec![]) };
        if let Some(p) = &t.probe {
            return (p.server_chain.iter().collect(), p.client_chain.iter().collect());
        }
        match &t.inspected {
            Some(i) if i.role == Role::Server => (i.certs.iter().collect(), vec![]),
            Some(i) => (vec![], i.certs.iter().collect()),
            None => (vec![], vec![]),
        }
    }

    pub fn cert(&self, side: Side, index: usize) -> Option<&CertInfo> {
        let (server, client) = self.chains();
        match side {
            Side::Server => server.get(index).copied(),
            Side::Client => client.get(index).copied(),
        }
    }

    pub fn layout(&self) -> Areas {
        areas(self.size, self)
    }

    fn set_status(&mut self, kind: StatusKind, text: impl Into<String>) {
        self.status = Some(Status { text: text.into(), kind });
    }

    fn select(&mut self, index: usize) {
        let n = self.session.targets.len();
        let index = if n == 0 { 0 } else { index.min(n - 1) };
        if index != self.selected {
            self.selected = index;
            self.timeline_scroll = 0;
            self.verdicts_scroll = 0;
            self.findings_index = 0;
            self.findings_scroll = 0;
            self.chain_index = 0;
        }
    }

    // ----- events ------------------------------------------------------------------------------

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
            KeyCode::Esc => self.focus = Pane::Targets,
            KeyCode::Char('?') | KeyCode::F(1) => self.overlay = Overlay::Help { scroll: 0 },
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
                Some(p) => self.save(&p),
                None => self.prompt_path(PathPurpose::Save),
            },
            KeyCode::Char('S') => self.prompt_path(PathPurpose::Save),
            KeyCode::Char('o') => self.prompt_path(PathPurpose::Open),
            KeyCode::Char('y') => return self.copy_in_pane(),
            _ => {}
        }
        vec![]
    }

    fn focus_pane(&mut self, pane: Pane) {
        self.focus = pane;
        if pane != Pane::Targets {
            self.narrow_pane = pane;
        }
    }

    fn switch_side(&mut self, side: Side) {
        self.chain_side = side;
        let len = self.chain_len(side);
        self.chain_index = self.chain_index.min(len.saturating_sub(1));
    }

    fn chain_len(&self, side: Side) -> usize {
        let (s, c) = self.chains();
        match side {
            Side::Server => s.len(),
            Side::Client => c.len(),
        }
    }

    fn move_in_pane(&mut self, by: isize) {
        match self.focus {
            Pane::Targets => {
                let n = self.session.targets.len() as isize;
                if n > 0 {
                    self.select((self.selected as isize + by).clamp(0, n - 1) as usize);
                }
            }
            Pane::Chains => {
                let n = self.chain_len(self.chain_side) as isize;
                if n > 0 {
                    self.chain_index = (self.chain_index as isize + by).clamp(0, n - 1) as usize;
                }
            }
            Pane::Findings => {
                let n = self.target().map(|t| t.findings.len()).unwrap_or(0) as isize;
                if n > 0 {
                    self.findings_index = (self.findings_index as isize + by).clamp(0, n - 1) as usize;
                    self.findings_scroll = 0;
                }
            }
            Pane::Timeline | Pane::Verdicts => self.scroll_pane(by),
        }
    }

    fn scroll_pane(&mut self, by: isize) {
        let apply = |v: u16| (v as isize + by).clamp(0, u16::MAX as isize) as u16;
        match self.focus {
            Pane::Timeline => self.timeline_scroll = apply(self.timeline_scroll),
            Pane::Verdicts => self.verdicts_scroll = apply(self.verdicts_scroll),
            Pane::Findings => self.findings_scroll = apply(self.findings_scroll),
            Pane::Targets | Pane::Chains => self.move_in_pane(by),
        }
    }

    fn open_detail(&mut self) {
        if self.cert(self.chain_side, self.chain_index).is_some() {
            self.overlay = Overlay::Detail { side: self.chain_side, index: self.chain_index, scroll: 0 };
        } else {
            self.set_status(StatusKind::Info, "No certificate here to show");
        }
    }

    fn copy(&mut self, what: &str, text: String) -> Vec<Effect> {
        if super::clipboard::osc52(&text).is_none() {
            self.set_status(StatusKind::Error, format!("The {what} is too large to copy through the terminal"));
            return vec![];
        }
        let preview: String = clean(&text).chars().take(60).collect();
        let more = if text.chars().count() > 60 { "…" } else { "" };
        self.set_status(StatusKind::Ok, format!("Copied {what} to the clipboard (OSC 52): {preview}{more}"));
        vec![Effect::Copy { text }]
    }

    fn copy_in_pane(&mut self) -> Vec<Effect> {
        match self.focus {
            Pane::Chains => match self.cert(self.chain_side, self.chain_index) {
                Some(c) => {
                    let tp = c.thumbprint_sha1.clone();
                    self.copy("thumbprint", tp)
                }
                None => {
                    self.set_status(StatusKind::Info, "No certificate selected");
                    vec![]
                }
            },
            Pane::Findings => {
                let found = self.target().and_then(|t| t.findings.get(self.findings_index)).cloned();
                match found {
                    Some(f) => match f.snippet {
                        Some(snippet) => self.copy("policy snippet", snippet),
                        None => self.copy("fix steps", f.fix.join("\n")),
                    },
                    None => {
                        self.set_status(StatusKind::Info, "No finding selected");
                        vec![]
                    }
                }
            }
            _ => {
                self.set_status(StatusKind::Info, "y copies in the Certificates and Findings panes (Tab to move)");
                vec![]
            }
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
        self.overlay = Overlay::Form(form);
        vec![]
    }

    fn apply_form(&mut self, target: FormTarget, run: TargetRun) -> Vec<Effect> {
        let mut effects = vec![];
        let name = clean(&run.name);
        match target {
            FormTarget::Existing(id) => {
                let Some(i) = self.index_of(id) else { return effects };
                if self.session.targets[i] != run {
                    if self.running.remove(&id).is_some() {
                        effects.push(Effect::Cancel { id });
                    }
                    self.session.targets[i] = run;
                    self.dirty = true;
                }
                self.set_status(StatusKind::Ok, format!("Saved {name} (r runs it)"));
            }
            FormTarget::New => {
                let at = if self.session.targets.is_empty() { 0 } else { self.selected + 1 };
                self.insert_target(at, run);
                self.set_status(StatusKind::Ok, format!("Added {name} (r runs it)"));
            }
        }
        effects
    }

    fn insert_target(&mut self, at: usize, run: TargetRun) {
        let at = at.min(self.session.targets.len());
        self.session.targets.insert(at, run);
        self.ids.insert(at, self.next_id);
        self.next_id += 1;
        self.dirty = true;
        self.selected = usize::MAX;
        self.select(at);
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
                    PathPurpose::Save => {
                        self.save(&path);
                        vec![]
                    }
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
            Overlay::Form(form) => text.chars().for_each(|c| form.insert(c)),
            Overlay::Path { input, .. } => input.push_str(&text),
            Overlay::Password { input, .. } => input.0.push_str(&text),
            _ => {}
        }
    }

    pub fn on_mouse(&mut self, m: MouseEvent) -> Vec<Effect> {
        if !matches!(self.overlay, Overlay::None) {
            // Overlays take the wheel for scrolling; clicks outside do nothing.
            match (&mut self.overlay, m.kind) {
                (Overlay::Help { scroll } | Overlay::Detail { scroll, .. }, MouseEventKind::ScrollDown) => {
                    *scroll = scroll.saturating_add(3)
                }
                (Overlay::Help { scroll } | Overlay::Detail { scroll, .. }, MouseEventKind::ScrollUp) => {
                    *scroll = scroll.saturating_sub(3)
                }
                _ => {}
            }
            return vec![];
        }
        let at = Position::new(m.column, m.row);
        let a = self.layout();
        if let (Some(tabs), MouseEventKind::Down(MouseButton::Left)) = (a.tabs, m.kind) {
            if tabs.contains(at) {
                if let Some(pane) = a.tab_at(m.column) {
                    self.focus_pane(pane);
                }
                return vec![];
            }
        }
        let Some(pane) = a.pane_at(at) else { return vec![] };
        match m.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let by = if m.kind == MouseEventKind::ScrollDown { 1 } else { -1 };
                let before = self.focus;
                self.focus = pane;
                if pane == Pane::Targets || pane == Pane::Chains || pane == Pane::Findings {
                    self.move_in_pane(by);
                } else {
                    self.scroll_pane(by * 3);
                }
                self.focus = before;
            }
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus_pane(pane);
                if pane == Pane::Targets {
                    let inner_top = a.targets.y + 1;
                    if m.row >= inner_top {
                        let visible = a.targets.height.saturating_sub(2) as usize;
                        let offset = target_list_offset(self.selected, visible);
                        let row = (m.row - inner_top) as usize + offset;
                        if row < self.session.targets.len() {
                            self.select(row);
                        }
                    }
                } else if pane == Pane::Chains {
                    // Left half is the server chain, right half the client chain.
                    let mid = a.chains.x + a.chains.width / 2;
                    self.switch_side(if m.column < mid { Side::Server } else { Side::Client });
                }
            }
            _ => {}
        }
        vec![]
    }

    /// A background run finished. Stale results (cancelled or replaced runs) are dropped.
    pub fn on_finished(&mut self, id: u64, generation: u64, run: TargetRun) {
        if self.running.get(&id) != Some(&generation) {
            return;
        }
        self.running.remove(&id);
        let Some(i) = self.index_of(id) else { return };
        let name = std::mem::take(&mut self.session.targets[i].name);
        let mut run = run;
        run.name = name;
        let errors = run.findings.iter().filter(|f| f.severity == Severity::Error).count();
        let text = match &run.error {
            Some(e) => format!("{}: {}", clean(&run.name), clean(e)),
            None => format!("{} finished: {} finding(s), {errors} error(s)", clean(&run.name), run.findings.len()),
        };
        let kind = if run.error.is_some() { StatusKind::Error } else { StatusKind::Info };
        self.session.targets[i] = run;
        self.dirty = true;
        if i == self.selected {
            self.findings_index = 0;
            self.findings_scroll = 0;
            self.chain_index = 0;
        }
        // Progress notes give way to the result; a confirmation the user just got (copied,
        // saved) stays unless the run failed.
        let replaceable = self.status.as_ref().is_none_or(|s| s.kind == StatusKind::Info);
        if replaceable || kind == StatusKind::Error {
            self.set_status(kind, text);
        }
    }

    pub fn tick(&mut self) {
        self.spinner = self.spinner.wrapping_add(1);
    }

    // ----- commands ------------------------------------------------------------------------------

    fn needs_password(&self, run: &TargetRun) -> Option<String> {
        let pfx = run.material.pfx.as_ref()?;
        (run.material.password == PasswordRef::Prompt && !self.passwords.contains_key(pfx)).then(|| pfx.clone())
    }

    /// Start target `id` now, or queue it behind a password prompt.
    fn request(&mut self, id: u64) -> Vec<Effect> {
        let Some(i) = self.index_of(id) else { return vec![] };
        if self.needs_password(&self.session.targets[i]).is_some() {
            if !self.pending.contains(&id) {
                self.pending.push_back(id);
            }
            if matches!(self.overlay, Overlay::None) {
                return self.next_pending();
            }
            return vec![];
        }
        self.start(id).into_iter().collect()
    }

    fn next_pending(&mut self) -> Vec<Effect> {
        while let Some(id) = self.pending.pop_front() {
            let Some(i) = self.index_of(id) else { continue };
            match self.needs_password(&self.session.targets[i]) {
                Some(file) => {
                    self.overlay = Overlay::Password { id, file, input: SecretInput(Zeroizing::new(String::new())) };
                    return vec![];
                }
                None => {
                    if let Some(e) = self.start(id) {
                        let mut effects = vec![e];
                        effects.extend(self.next_pending());
                        return effects;
                    }
                }
            }
        }
        vec![]
    }

    fn start(&mut self, id: u64) -> Option<Effect> {
        let i = self.index_of(id)?;
        let run = self.session.targets[i].clone();
        if run.kind == TargetKind::Probe && run.options.is_none() {
            self.set_status(StatusKind::Error, format!("{}: no host to probe (e edits it)", clean(&run.name)));
            return None;
        }
        let password = run.material.pfx.as_ref().and_then(|p| self.passwords.get(p).cloned());
        self.generation += 1;
        self.running.insert(id, self.generation);
        Some(Effect::Run { id, generation: self.generation, run: Box::new(run), password })
    }

    pub fn run_selected(&mut self) -> Vec<Effect> {
        if self.read_only {
            self.set_status(StatusKind::Error, "Read-only session: probes are not run");
            return vec![];
        }
        match self.id_at(self.selected) {
            Some(id) => {
                let effects = self.request(id);
                if !effects.is_empty() {
                    let name = self.target().map(|t| clean(&t.name)).unwrap_or_default();
                    self.set_status(StatusKind::Info, format!("Running {name} … (c cancels)"));
                }
                effects
            }
            None => {
                self.set_status(StatusKind::Info, "No target: a adds one");
                vec![]
            }
        }
    }

    pub fn run_all(&mut self) -> Vec<Effect> {
        if self.read_only {
            self.set_status(StatusKind::Error, "Read-only session: probes are not run");
            return vec![];
        }
        let ids = self.ids.clone();
        let mut effects = vec![];
        for id in ids {
            effects.extend(self.request(id));
        }
        let n = self.running.len();
        self.set_status(StatusKind::Info, format!("Running {n} target(s) … (C cancels all)"));
        effects
    }

    pub fn cancel_selected(&mut self) -> Vec<Effect> {
        let Some(id) = self.id_at(self.selected) else { return vec![] };
        self.pending.retain(|p| *p != id);
        if self.running.remove(&id).is_some() {
            let name = self.target().map(|t| clean(&t.name)).unwrap_or_default();
            self.set_status(StatusKind::Info, format!("Cancelled {name}; its previous results are kept"));
            vec![Effect::Cancel { id }]
        } else {
            self.set_status(StatusKind::Info, "Nothing running for this target");
            vec![]
        }
    }

    pub fn cancel_all(&mut self) -> Vec<Effect> {
        self.pending.clear();
        let ids: Vec<u64> = self.running.drain().map(|(id, _)| id).collect();
        self.set_status(StatusKind::Info, format!("Cancelled {} run(s)", ids.len()));
        ids.into_iter().map(|id| Effect::Cancel { id }).collect()
    }

    fn edit(&mut self) {
        if self.read_only {
            self.set_status(StatusKind::Error, "Read-only session: targets cannot be edited");
            return;
        }
        let Some(id) = self.id_at(self.selected) else {
            self.add();
            return;
        };
        let Some(t) = self.target() else { return };
        if t.kind == TargetKind::Inspect {
            self.set_status(StatusKind::Info, "This target inspects files; the form edits probe targets (a adds one)");
            return;
        }
        self.overlay = Overlay::Form(Box::new(TargetForm::new(FormTarget::Existing(id), t)));
    }

    fn add(&mut self) {
        if self.read_only {
            self.set_status(StatusKind::Error, "Read-only session: targets cannot be added");
            return;
        }
        let mut form = TargetForm::new(FormTarget::New, &TargetRun::default());
        form.focus = 2; // the host: the one field every target needs
        self.overlay = Overlay::Form(Box::new(form));
    }

    fn duplicate(&mut self) {
        if self.read_only {
            self.set_status(StatusKind::Error, "Read-only session: targets cannot be added");
            return;
        }
        let Some(t) = self.target() else { return };
        // Inputs only: the copy is meant to be changed and run.
        let copy = TargetRun {
            name: format!("{} (copy)", t.name),
            kind: t.kind,
            options: t.options.clone(),
            files: t.files.clone(),
            material: t.material.clone(),
            ..Default::default()
        };
        let name = clean(&copy.name);
        self.insert_target(self.selected + 1, copy);
        self.set_status(StatusKind::Ok, format!("Added {name} (e edits it)"));
    }

    fn confirm_delete(&mut self) {
        if self.read_only {
            self.set_status(StatusKind::Error, "Read-only session: targets cannot be deleted");
            return;
        }
        if let Some(id) = self.id_at(self.selected) {
            self.overlay = Overlay::ConfirmDelete { id };
        }
    }

    fn delete(&mut self, id: u64) -> Vec<Effect> {
        let Some(i) = self.index_of(id) else { return vec![] };
        let removed = self.session.targets.remove(i);
        self.ids.remove(i);
        self.pending.retain(|p| *p != id);
        self.dirty = true;
        let keep = self.selected.min(self.session.targets.len().saturating_sub(1));
        self.selected = usize::MAX;
        self.select(keep);
        self.set_status(StatusKind::Ok, format!("Deleted {}", clean(&removed.name)));
        if self.running.remove(&id).is_some() {
            vec![Effect::Cancel { id }]
        } else {
            vec![]
        }
    }

    fn prompt_path(&mut self, purpose: PathPurpose) {
        let input = match (&self.session_path, purpose) {
            (Some(p), _) => p.display().to_string(),
            (None, PathPurpose::Save) => "mtls-doctor-session.json".to_string(),
            (None, PathPurpose::Open) => String::new(),
        };
        self.overlay = Overlay::Path { purpose, input };
    }

    /// Write the session (public parts only: secrets are never in it) atomically.
    pub fn save(&mut self, path: &Path) {
        match super::save_session(&self.session, path) {
            Ok(()) => {
                self.session_path = Some(path.to_path_buf());
                self.dirty = false;
                let n = self.session.targets.len();
                self.set_status(
                    StatusKind::Ok,
                    format!("Saved {n} target(s) to {}", clean(&path.display().to_string())),
                );
            }
            Err(e) => self.set_status(StatusKind::Error, clean(&e.to_string())),
        }
    }

    /// Replace the session with one read from `path`; runs in flight are cancelled.
    pub fn open(&mut self, path: &Path) -> Vec<Effect> {
        match super::load_session(path) {
            Ok(session) => {
                let effects = self.cancel_all();
                *self = App {
                    read_only: self.read_only,
                    size: self.size,
                    passwords: std::mem::take(&mut self.passwords),
                    spinner: self.spinner,
                    ..App::new(session)
                };
                self.session_path = Some(path.to_path_buf());
                let n = self.session.targets.len();
                self.set_status(
                    StatusKind::Ok,
                    format!("Opened {} ({n} target(s))", clean(&path.display().to_string())),
                );
                effects
            }
            Err(e) => {
                self.set_status(StatusKind::Error, clean(&e.to_string()));
                vec![]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::ProbeOptions;
    use crate::session::MaterialRefs;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn ch(c: char) -> KeyEvent {
        key(KeyCode::Char(c))
    }

    fn target(host: &str) -> TargetRun {
        crate::engine::probe_target(ProbeOptions::new(host, 443), MaterialRefs::default())
    }

    fn app(n: usize) -> App {
        App::new(Session::new((0..n).map(|i| target(&format!("h{i}.example"))).collect()))
    }

    fn run_ids(effects: &[Effect]) -> Vec<(u64, u64)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Run { id, generation, .. } => Some((*id, *generation)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn run_then_result_updates_the_target_and_a_stale_result_is_dropped() {
        let mut a = app(2);
        let first = run_ids(&a.on_key(ch('r')));
        assert_eq!(first, vec![(1, 1)]);
        assert_eq!(a.target_status(0), TargetStatus::Running);
        // Running again replaces the run in flight: the older result must not land.
        let second = run_ids(&a.on_key(ch('r')));
        assert_eq!(second, vec![(1, 2)]);
        let mut old = target("h0.example");
        old.error = Some("old".into());
        a.on_finished(1, 1, old);
        assert!(a.is_running(0));
        let mut new = target("h0.example");
        new.error = Some("cannot read x.pem".into());
        a.on_finished(1, 2, new);
        assert!(!a.busy());
        assert_eq!(a.target_status(0), TargetStatus::Error);
        assert_eq!(a.session.targets[0].error.as_deref(), Some("cannot read x.pem"));
        assert!(a.dirty);
    }

    #[test]
    fn cancel_keeps_old_results_and_ignores_the_late_answer() {
        let mut a = app(1);
        a.on_key(ch('r'));
        let effects = a.on_key(ch('c'));
        assert!(matches!(effects.as_slice(), [Effect::Cancel { id: 1 }]));
        a.on_finished(1, 1, target("late"));
        assert_eq!(a.session.targets[0].name, "h0.example:443 inbound");
        assert_eq!(a.target_status(0), TargetStatus::NotRun);
    }

    #[test]
    fn run_all_prompts_for_a_pfx_password_then_runs_with_it() {
        let mut a = app(2);
        a.session.targets[1].material.pfx = Some("client.pfx".into());
        let effects = a.on_key(ch('R'));
        assert_eq!(run_ids(&effects), vec![(1, 1)]);
        assert!(matches!(&a.overlay, Overlay::Password { id: 2, file, .. } if file == "client.pfx"));
        for c in "pw".chars() {
            a.on_key(ch(c));
        }
        assert_eq!(format!("{:?}", a.overlay).matches("pw").count(), 0, "password must not appear in Debug");
        let effects = a.on_key(key(KeyCode::Enter));
        match effects.as_slice() {
            [Effect::Run { id: 2, password: Some(p), .. }] => assert_eq!(p.expose(), "pw"),
            other => panic!("{other:?}"),
        }
        // Cached for this run of the program: no second prompt.
        a.selected = 1;
        assert_eq!(run_ids(&a.on_key(ch('r'))), vec![(2, 3)]);
        assert!(matches!(a.overlay, Overlay::None));
    }

    #[test]
    fn tab_cycles_panes_and_keys_move_within_them() {
        let mut a = app(3);
        a.on_key(ch('j'));
        a.on_key(ch('j'));
        a.on_key(ch('j'));
        assert_eq!(a.selected, 2);
        a.on_key(key(KeyCode::Tab));
        assert_eq!(a.focus, Pane::Timeline);
        a.on_key(ch('j'));
        assert_eq!((a.selected, a.timeline_scroll), (2, 1));
        a.on_key(key(KeyCode::BackTab));
        a.on_key(key(KeyCode::BackTab));
        assert_eq!(a.focus, Pane::Findings);
        a.on_key(ch('1'));
        assert_eq!(a.focus, Pane::Targets);
        a.on_key(ch('g'));
        assert_eq!(a.selected, 0);
    }

    #[test]
    fn add_edit_duplicate_delete() {
        let mut a = app(1);
        a.on_key(ch('a'));
        for c in "new.example".chars() {
            a.on_key(ch(c));
        }
        a.on_key(key(KeyCode::Enter));
        assert!(matches!(a.overlay, Overlay::None), "{:?}", a.status);
        assert_eq!(a.session.targets.len(), 2);
        assert_eq!((a.selected, a.session.targets[1].name.as_str()), (1, "new.example:443 inbound"));

        a.on_key(ch('d'));
        assert_eq!(a.session.targets.len(), 3);
        assert_eq!(a.session.targets[2].name, "new.example:443 inbound (copy)");

        a.on_key(ch('e'));
        let Overlay::Form(form) = &mut a.overlay else { panic!("form") };
        form.set(super::super::form::FieldKey::Port, "x");
        a.on_key(key(KeyCode::Enter));
        assert!(
            matches!(&a.overlay, Overlay::Form(f) if f.error.as_deref() == Some("Port: \"x\" is not a port (1-65535)"))
        );
        a.on_key(key(KeyCode::Esc));

        a.on_key(ch('x'));
        a.on_key(ch('n'));
        assert_eq!(a.session.targets.len(), 3);
        a.on_key(ch('x'));
        a.on_key(ch('y'));
        assert_eq!(a.session.targets.len(), 2);
        assert_eq!(a.selected, 1);
    }

    #[test]
    fn quit_asks_twice_with_unsaved_changes_and_ctrl_c_always_quits() {
        let mut a = app(1);
        a.on_key(ch('q'));
        assert_eq!(a.exit, Some(0));

        let mut a = app(1);
        a.dirty = true;
        a.on_key(ch('q'));
        assert_eq!(a.exit, None);
        assert_eq!(a.status.as_ref().map(|s| s.kind), Some(StatusKind::Error));
        a.on_key(ch('q'));
        assert_eq!(a.exit, Some(0));

        let mut a = app(1);
        a.overlay = Overlay::Help { scroll: 0 };
        a.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert_eq!(a.exit, Some(130));
    }

    #[test]
    fn read_only_refuses_changes_and_runs() {
        let mut a = app(1);
        a.read_only = true;
        for c in ['r', 'R', 'e', 'a', 'd', 'x'] {
            assert!(a.on_key(ch(c)).is_empty());
            assert!(matches!(a.overlay, Overlay::None), "{c}");
        }
        assert_eq!(a.session.targets.len(), 1);
    }

    #[test]
    fn save_and_open_round_trip_through_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.json");
        let mut a = app(2);
        a.dirty = true;
        a.on_key(ch('s'));
        let Overlay::Path { purpose: PathPurpose::Save, .. } = a.overlay else { panic!("save prompt") };
        a.overlay = Overlay::Path { purpose: PathPurpose::Save, input: path.display().to_string() };
        a.on_key(key(KeyCode::Enter));
        assert!(!a.dirty, "{:?}", a.status);
        let mut b = app(0);
        b.open(&path);
        assert_eq!(b.session.targets, a.session.targets);
        assert_eq!(b.session_path.as_deref(), Some(path.as_path()));

        std::fs::write(&path, "{ not json").expect("write");
        b.open(&path);
        let s = b.status.expect("status");
        assert_eq!(s.kind, StatusKind::Error);
        assert!(s.text.contains("s.json"), "{}", s.text);
        assert_eq!(b.session.targets.len(), 2, "a failed open keeps the session");
    }
}
