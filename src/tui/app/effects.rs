//! The effects the state machine asks the loop for, and the requests and outcomes that are not
//! runs: copying to the clipboard, saving and opening the session file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{App, Overlay, Pane, PathPurpose, StatusKind};
use crate::error::Result;
use crate::material::Password;
use crate::session::{Session, TargetRun};
use crate::text::clean;

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
    /// Write this session to `path`; the outcome goes to [`App::on_saved`].
    Save {
        path: PathBuf,
        session: Box<Session>,
    },
    /// Read a session from `path`; the outcome goes to [`App::on_opened`].
    Open {
        path: PathBuf,
    },
}

impl App {
    pub(super) fn copy(&mut self, what: &str, text: String) -> Vec<Effect> {
        if crate::tui::clipboard::osc52(&text).is_none() {
            self.set_status(StatusKind::Error, format!("The {what} is too large to copy through the terminal"));
            return vec![];
        }
        let multi_line = matches!(what, "certificate PEM" | "fix steps" | "policy snippet");
        if let Some(c) = crate::tui::clipboard::unsafe_to_paste(&text, multi_line) {
            // Copying the escaped form would paste something the peer never sent; copying the raw
            // bytes would paste something the screen never showed. Neither is what the user saw.
            self.set_status(
                StatusKind::Error,
                format!(
                    "Not copied: the {what} contains U+{:04X} (a control or bidi character), so a paste could differ from what is shown",
                    c as u32
                ),
            );
            return vec![];
        }
        let preview: String = clean(&text).chars().take(60).collect();
        let more = if text.chars().count() > 60 { "…" } else { "" };
        self.set_status(StatusKind::Ok, format!("Copied {what} to the clipboard (OSC 52): {preview}{more}"));
        vec![Effect::Copy { text }]
    }

    pub(super) fn copy_in_pane(&mut self) -> Vec<Effect> {
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

    pub(super) fn prompt_path(&mut self, purpose: PathPurpose) {
        let input = match (&self.session_path, purpose) {
            (Some(p), _) => p.display().to_string(),
            (None, PathPurpose::Save) => "mtls-doctor-session.json".to_string(),
            (None, PathPurpose::Open) => String::new(),
        };
        self.overlay = Overlay::Path { purpose, input };
    }

    /// Ask the loop to write the session (public parts only: secrets are never in it).
    pub fn save(&self, path: &Path) -> Vec<Effect> {
        vec![Effect::Save { path: path.to_path_buf(), session: Box::new(self.session.clone()) }]
    }

    /// The loop wrote (or failed to write) the session asked for by [`Effect::Save`].
    pub fn on_saved(&mut self, path: &Path, result: Result<()>) {
        match result {
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

    /// Ask the loop to read a session from `path`; [`App::on_opened`] replaces this one with it.
    pub fn open(&self, path: &Path) -> Vec<Effect> {
        vec![Effect::Open { path: path.to_path_buf() }]
    }

    /// The loop read (or failed to read) the session asked for by [`Effect::Open`]: on success it
    /// replaces this one and runs in flight are cancelled; on failure the session is kept.
    pub fn on_opened(&mut self, path: &Path, result: Result<Session>) -> Vec<Effect> {
        match result {
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
