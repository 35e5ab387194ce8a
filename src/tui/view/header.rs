//! The header line (file, targets, theme) and the narrow layout's tab bar.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::View;
use crate::text::clean;
use crate::tui::layout::{shown_detail, tab_label, TAB_PANES};
use crate::tui::theme::Role;

impl View<'_> {
    pub(super) fn header(&self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let file = match &app.session_path {
            Some(p) => clean(&p.display().to_string()),
            None => "unsaved session".into(),
        };
        let dirty = if app.dirty { " *" } else { "" };
        let n = app.session.targets.len();
        let running = if app.busy() { format!(", {} running", app.running_count()) } else { String::new() };
        let ro = if app.read_only { " · read-only" } else { "" };
        let line = Line::from(vec![
            Span::styled(" mtls-doctor ", self.s(Role::Accent)),
            Span::styled(format!("· {file}{dirty} · {n} target(s){running}{ro} "), self.s(Role::Muted)),
            Span::styled(format!("· theme {} · ? help", self.theme.name), self.s(Role::Muted)),
        ]);
        Paragraph::new(line).render(area, buf);
    }

    pub(super) fn tabs(&self, area: Rect, buf: &mut Buffer) {
        let shown = shown_detail(self.app.focus, self.app.narrow_pane);
        let mut spans = vec![Span::raw(" ")];
        for pane in TAB_PANES.iter() {
            let style = if *pane == shown {
                if self.app.focus == *pane {
                    self.s(Role::Selection)
                } else {
                    self.s(Role::Accent).add_modifier(Modifier::UNDERLINED)
                }
            } else {
                self.s(Role::Muted)
            };
            spans.push(Span::styled(tab_label(*pane), style));
            spans.push(Span::raw(" "));
        }
        Paragraph::new(Line::from(spans)).render(area, buf);
    }
}
