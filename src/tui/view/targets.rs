//! The targets list: one line per target (those the `/` filter leaves) with its status badge and role.

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
use crate::tui::layout::{target_list_offset, Pane, TARGET_ROW_PREFIX};
use crate::tui::theme::Role;
use crate::tui::wrap::fit;

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
        let n = app.session.targets.len();
        let title = if app.filter_active() {
            format!("Targets ({} of {n}) · /{}", app.visible_targets().len(), clean(app.filter.trim()))
        } else {
            format!("Targets ({n})")
        };
        let block = self.block(Pane::Targets, fit(&title, (area.width as usize).saturating_sub(6)));
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
        let shown = app.visible_targets();
        if shown.is_empty() {
            Paragraph::new(vec![
                Line::styled(format!("No target matches /{}", clean(app.filter.trim())), self.s(Role::Muted)),
                Line::from(vec![
                    Span::styled(" Esc ", self.s(Role::Key)),
                    Span::styled(" clears the filter", self.s(Role::Muted)),
                ]),
            ])
            .render(inner, buf);
            return;
        }
        let rows = inner.height as usize;
        let at = shown.iter().position(|i| *i == app.selected).unwrap_or(0);
        let offset = target_list_offset(at, rows);
        let name_w = (inner.width as usize).saturating_sub(TARGET_ROW_PREFIX);
        let mut lines = Vec::new();
        for i in shown.iter().copied().skip(offset).take(rows) {
            let t = &app.session.targets[i];
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
                // Cut only when the pane cannot be wider (the layout makes room up to a share).
                Span::styled(fit(&clean(&t.name), name_w), self.s(Role::Text)),
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
