//! The targets list: one line per target with its status badge and role.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::View;
use crate::probe::ProbeRole;
use crate::session::{TargetKind, TargetRun};
use crate::text::clean;
use crate::tui::app::TargetStatus;
use crate::tui::layout::{target_list_offset, Pane};
use crate::tui::theme::Role;

fn role_short(t: &TargetRun) -> &'static str {
    match (t.kind, t.options.as_ref().map(|o| o.role)) {
        (TargetKind::Inspect, _) => "file",
        (_, Some(ProbeRole::Outbound)) => "out ",
        _ => "in  ",
    }
}

impl View<'_> {
    pub(super) fn targets(&self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let block = self.block(Pane::Targets, format!("Targets ({})", app.session.targets.len()));
        let inner = block.inner(area);
        block.render(area, buf);
        if app.session.targets.is_empty() {
            Paragraph::new(vec![
                Line::styled("No targets yet.", self.s(Role::Muted)),
                Line::from(vec![
                    Span::styled(" a ", self.s(Role::Key)),
                    Span::styled(" adds one", self.s(Role::Muted)),
                ]),
            ])
            .render(inner, buf);
            return;
        }
        let visible = inner.height as usize;
        let offset = target_list_offset(app.selected, visible);
        let mut lines = Vec::new();
        for (i, t) in app.session.targets.iter().enumerate().skip(offset).take(visible) {
            let status = app.target_status(i);
            let badge_style = match status {
                TargetStatus::NotRun => self.s(Role::Muted),
                TargetStatus::Running => self.s(Role::Running),
                TargetStatus::Ok => self.s(Role::Ok),
                TargetStatus::Warning => self.s(Role::Warning),
                TargetStatus::Error => self.s(Role::Error),
            };
            let selected = i == app.selected;
            let marker = if selected { "▶" } else { " " };
            let mut line = Line::from(vec![
                Span::raw(marker),
                Span::styled(status.badge(app.spinner), badge_style),
                Span::styled(format!(" {} ", role_short(t)), self.s(Role::Muted)),
                Span::styled(clean(&t.name), self.s(Role::Text)),
            ]);
            if selected {
                line = line.patch_style(if app.focus == Pane::Targets {
                    self.s(Role::Selection)
                } else {
                    Style::default().add_modifier(Modifier::BOLD)
                });
            }
            lines.push(line);
        }
        Paragraph::new(lines).render(inner, buf);
    }
}
