//! The small prompts: PFX password, session file path, and delete confirmation.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::View;
use crate::text::clean;
use crate::tui::app::PathPurpose;
use crate::tui::theme::Role;

impl View<'_> {
    pub(super) fn password(&self, area: Rect, file: &str, buf: &mut Buffer) {
        let inner = self.popup(area, 70, 7, "PFX password", buf);
        let lines = vec![
            Line::styled(format!("Password for {}", clean(file)), self.s(Role::Text)),
            Line::styled("(typing is hidden; kept in memory for this run only, never saved)", self.s(Role::Muted)),
            Line::raw(""),
            Line::styled("Enter runs the probe · Esc skips this target", self.s(Role::Muted)),
        ];
        Paragraph::new(lines).wrap(Wrap { trim: false }).render(inner, buf);
    }

    pub(super) fn path_prompt(&self, area: Rect, purpose: PathPurpose, input: &str, buf: &mut Buffer) {
        let title = match purpose {
            PathPurpose::Save => "Save session",
            PathPurpose::Open => "Open session",
        };
        let inner = self.popup(area, 80, 6, title, buf);
        let what = match purpose {
            PathPurpose::Save => "Write the session (no keys, no passwords, secret headers redacted) to:",
            PathPurpose::Open => "Session file to open (runs in flight are cancelled):",
        };
        let w = inner.width.saturating_sub(1) as usize;
        let chars: Vec<char> = input.chars().collect();
        let shown: String = chars.iter().skip(chars.len().saturating_sub(w)).collect();
        let lines = vec![
            Line::styled(what, self.s(Role::Text)),
            Line::from(vec![
                Span::styled(clean(&shown), self.s(Role::Text)),
                Span::styled(" ", self.s(Role::Selection)),
            ]),
        ];
        Paragraph::new(lines).render(inner, buf);
    }

    pub(super) fn confirm_delete(&self, area: Rect, id: u64, buf: &mut Buffer) {
        let name = (0..self.app.session.targets.len())
            .find(|i| self.app.id_at(*i) == Some(id))
            .and_then(|i| self.app.session.targets.get(i))
            .map(|t| clean(&t.name))
            .unwrap_or_default();
        let inner = self.popup(area, 60, 5, "Delete target", buf);
        Paragraph::new(vec![
            Line::styled(format!("Delete {name}?"), self.s(Role::Warning)),
            Line::styled("y deletes it · any other key keeps it", self.s(Role::Muted)),
        ])
        .wrap(Wrap { trim: false })
        .render(inner, buf);
    }
}
