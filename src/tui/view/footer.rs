//! The status bar: the last message (or a hint for the focused pane) and the keys that work now.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::View;
use crate::tui::app::{Overlay, StatusKind};
use crate::tui::layout::Pane;
use crate::tui::theme::Role;

impl View<'_> {
    pub(super) fn footer(&self, area: Rect, buf: &mut Buffer) {
        let [status_area, keys_area] = Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
        let status = match &self.app.status {
            Some(s) => {
                let style = match s.kind {
                    StatusKind::Info => self.s(Role::Info),
                    StatusKind::Ok => self.s(Role::Ok),
                    StatusKind::Error => self.s(Role::Error),
                };
                let mark = match s.kind {
                    StatusKind::Info => "ℹ",
                    StatusKind::Ok => "✔",
                    StatusKind::Error => "✖",
                };
                Line::styled(format!(" {mark} {}", s.text), style)
            }
            None => Line::styled(format!(" {}", self.hint()), self.s(Role::Muted)),
        };
        Paragraph::new(status).render(status_area, buf);
        let keys: &[(&str, &str)] = match &self.app.overlay {
            // A saved session opened read-only: only the keys it accepts (no run, edit, add, delete).
            Overlay::None if self.app.read_only => {
                &[("Tab", "pane"), ("y", "copy"), ("s", "save"), ("o", "open"), ("?", "help"), ("q", "quit")]
            }
            Overlay::None => &[
                ("r", "run"),
                ("R", "run all"),
                ("c", "cancel"),
                ("e", "edit"),
                ("Tab", "pane"),
                ("y", "copy"),
                ("s", "save"),
                ("a", "add"),
                ("d", "dup"),
                ("x", "del"),
                ("o", "open"),
                ("?", "help"),
                ("q", "quit"),
            ],
            Overlay::Help { .. } => &[("↑↓", "scroll"), ("Esc", "close")],
            Overlay::Detail { .. } => &[
                ("t", "thumbprint"),
                ("s", "subject"),
                ("i", "issuer"),
                ("2", "SHA-256"),
                ("n", "serial"),
                ("p", "PEM"),
                ("↑↓", "scroll"),
                ("Esc", "close"),
            ],
            Overlay::Form(_) => &[("Enter", "save"), ("Tab ↑↓", "field"), ("Space ←→", "role"), ("Esc", "cancel")],
            Overlay::Password { .. } | Overlay::Path { .. } => &[("Enter", "ok"), ("Esc", "cancel")],
            Overlay::ConfirmDelete { .. } => &[("y", "delete"), ("any key", "keep")],
        };
        // The last two keys (help and the way out) always show; the others as room allows.
        let width_of = |(k, label): &(&str, &str)| k.chars().count() + label.chars().count() + 3;
        let pinned = keys.len().saturating_sub(2);
        let reserved: usize = keys[pinned..].iter().map(width_of).sum();
        let mut spans = vec![Span::raw(" ")];
        let mut used = 1 + reserved;
        for (i, item) in keys.iter().enumerate() {
            let w = width_of(item);
            if i < pinned {
                if used + w > area.width as usize {
                    continue;
                }
                used += w;
            }
            spans.push(Span::styled(format!(" {} ", item.0), self.s(Role::Key)));
            spans.push(Span::styled(format!("{} ", item.1), self.s(Role::Muted)));
        }
        Paragraph::new(Line::from(spans)).render(keys_area, buf);
    }

    fn hint(&self) -> &'static str {
        match self.app.focus {
            Pane::Targets => "↑↓ choose a target · Enter shows its findings · Tab moves between panes",
            Pane::Timeline => "↑↓ scroll the handshake · the first ✖ step is where it fails",
            Pane::Chains => "←→ server/client chain · ↑↓ certificate · Enter all fields · y copies the thumbprint",
            Pane::Verdicts => "↑↓ scroll · our server check, the gateway's Verify() and the policy, side by side",
            Pane::Findings => "↑↓ next finding · PgUp/PgDn scroll · y copies the snippet (or the fix steps)",
        }
    }
}
