//! The status bar: the last message (or the `/` filter, or a hint for the focused pane) and the keys
//! that work now.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::View;
use crate::text::clean;
use crate::tui::app::{Overlay, StatusKind};
use crate::tui::layout::Pane;
use crate::tui::theme::Role;

impl View<'_> {
    pub(super) fn footer(&self, area: Rect, buf: &mut Buffer) {
        let [status_area, keys_area] = Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
        let status = match &self.app.status {
            _ if matches!(self.app.overlay, Overlay::Filter) => self.filter_line(true),
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
            None if self.app.filter_active() => self.filter_line(false),
            None => Line::styled(format!(" {}", self.hint()), self.s(Role::Muted)),
        };
        Paragraph::new(status).render(status_area, buf);
        let filtering = self.app.filter_active();
        let mut keys: Vec<(&str, &str)> = match &self.app.overlay {
            // A saved session opened read-only: only the keys it accepts (no run, edit, add, delete).
            Overlay::None if self.app.read_only => {
                vec![("Tab", "pane"), ("/", "filter"), ("y", "copy"), ("s", "save"), ("o", "open")]
            }
            Overlay::None => vec![
                ("r", "run"),
                ("R", "run all"),
                ("c", "cancel"),
                ("e", "edit"),
                ("Tab", "pane"),
                ("/", "filter"),
                ("y", "copy"),
                ("s", "save"),
                ("a", "add"),
                ("d", "dup"),
                ("x", "del"),
                ("o", "open"),
            ],
            Overlay::Help { .. } => vec![("↑↓", "scroll"), ("Esc", "close")],
            Overlay::Detail { .. } => vec![
                ("t", "thumbprint"),
                ("s", "subject"),
                ("i", "issuer"),
                ("2", "SHA-256"),
                ("n", "serial"),
                ("p", "PEM"),
                ("↑↓", "scroll"),
                ("Esc", "close"),
            ],
            Overlay::Form(_) => vec![("Enter", "save"), ("Tab ↑↓", "field"), ("Space ←→", "role"), ("Esc", "cancel")],
            Overlay::Password { .. } | Overlay::Path { .. } => vec![("Enter", "ok"), ("Esc", "cancel")],
            Overlay::Filter => vec![("Enter", "keep"), ("Esc", "clear")],
            Overlay::ConfirmDelete { .. } => vec![("y", "delete"), ("any key", "keep")],
        };
        if matches!(self.app.overlay, Overlay::None) {
            // The main screen: the matches' keys first while a filter is on, then the rest.
            if filtering {
                keys.splice(0..0, [("n N", "next/prev match"), ("Esc", "clear filter")]);
            }
            if self.app.focus == Pane::Timeline {
                keys.insert(0, ("b", "body"));
            }
            keys.extend([("?", "help"), ("q", "quit")]);
        }
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

    /// The `/` prompt while it is typed (`editing`), or the filter in force: the text and the
    /// number of matches.
    fn filter_line(&self, editing: bool) -> Line<'static> {
        let matches = self.app.matches();
        let targets = self.app.visible_targets().len();
        let count = match matches.len() {
            0 => "no match".to_string(),
            n => format!("{n} match(es) in {targets} target(s)"),
        };
        let text = clean(&self.app.filter);
        let (cursor, tail) =
            if editing { ("▏", "Enter keeps · Esc clears") } else { ("", "n/N next/prev · Esc clears") };
        let role = if matches.is_empty() { Role::Warning } else { Role::Info };
        Line::from(vec![
            Span::styled(format!(" /{text}{cursor}"), self.s(Role::Key)),
            Span::styled(format!("  {count}"), self.s(role)),
            Span::styled(format!(" · {tail}"), self.s(Role::Muted)),
        ])
    }

    fn hint(&self) -> &'static str {
        match self.app.focus {
            Pane::Targets => "↑↓ choose a target · Enter its findings · Tab next pane · / filters",
            Pane::Timeline => "↑↓ scroll the handshake · the first ✖ step is where it fails · b shows the whole body",
            Pane::Chains => "←→ server/client chain · ↑↓ certificate · Enter all fields · y copies the thumbprint",
            Pane::Verdicts => "↑↓ scroll · our server check, the gateway's Verify() and the policy, side by side",
            Pane::Findings => "↑↓ next finding · PgUp/PgDn scroll · y copies the snippet (or the fix steps)",
        }
    }
}
