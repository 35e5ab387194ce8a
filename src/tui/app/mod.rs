//! The TUI's state and its key, mouse and result handling: a plain state machine with no terminal,
//! file or network access, so every interaction is unit-testable. Side effects the loop must carry
//! out (start or cancel a probe, copy to the clipboard, save or open a session file) come back as
//! [`Effect`]s, and their outcomes come back in as calls (`on_finished`, `on_saved`, `on_opened`).
//!
//! This file holds the state and what can be read from it; `keys` and `mouse` take input,
//! `targets` adds, edits and deletes targets, `runs` starts and cancels runs, `effects` holds the
//! effects and the session file and clipboard requests.

mod effects;
mod filter;
mod keys;
mod mouse;
mod runs;
mod targets;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use ratatui::layout::Rect;
use ratatui::text::Span;
use zeroize::Zeroizing;

use super::body::TimelineView;
use super::form::TargetForm;
pub use super::layout::Pane;
use super::layout::{areas, Areas, Screen};
use crate::cert::CertInfo;
use crate::diagnose::Severity;
use crate::material::Password;
use crate::session::{Session, TargetRun};
use crate::text::clean;
use crate::verify::Role;
pub use effects::Effect;
pub use filter::Match;

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
    /// The `/` prompt: keys edit [`App::filter`], which applies as it is typed.
    Filter,
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
    /// The `/` filter's text (empty: no filter).
    pub filter: String,
    /// The Handshake pane shows the whole kept response body (`b`).
    pub body_expanded: bool,
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
            filter: String::new(),
            body_expanded: false,
        }
    }

    pub fn target(&self) -> Option<&TargetRun> {
        self.session.targets.get(self.selected)
    }

    pub fn id_at(&self, index: usize) -> Option<u64> {
        self.ids.get(index).copied()
    }

    pub(super) fn index_of(&self, id: u64) -> Option<usize> {
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
        areas(self.size, &self.screen())
    }

    /// The facts of this state the layout depends on.
    pub fn screen(&self) -> Screen<'_> {
        let longest_name = self.session.targets.iter().map(|t| Span::raw(clean(&t.name)).width()).max().unwrap_or(0);
        Screen {
            targets: self.visible_targets().len().max(1),
            longest_name,
            focus: self.focus,
            narrow_pane: self.narrow_pane,
            selected: self.target(),
            timeline: TimelineView {
                running: self.is_running(self.selected),
                read_only: self.read_only,
                body_expanded: self.body_expanded,
            },
        }
    }

    pub(super) fn set_status(&mut self, kind: StatusKind, text: impl Into<String>) {
        self.status = Some(Status { text: text.into(), kind });
    }

    pub(super) fn select(&mut self, index: usize) {
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
}
