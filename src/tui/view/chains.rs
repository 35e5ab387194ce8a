//! The Certificates pane: the server chain and the client chain in two columns.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{days_text, View};
use crate::cert::CertInfo;
use crate::text::clean;
use crate::tui::app::Side;
use crate::tui::layout::Pane;
use crate::tui::theme::Role;
use crate::tui::wrap::fit;

fn date(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}

impl View<'_> {
    pub(super) fn chains(&self, area: Rect, buf: &mut Buffer) {
        let block = self.block(Pane::Chains, "Certificates · Enter details · y copies thumbprint".into());
        let inner = block.inner(area);
        block.render(area, buf);
        let (server, client) = self.app.chains();
        let [left, right] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
        let client_title = match self.app.target().and_then(|t| t.probe.as_ref()) {
            Some(p) if p.client_cert_sent => "Client chain (sent)",
            Some(p) if !p.client_chain.is_empty() => "Client chain (configured, NOT sent)",
            _ => "Client chain",
        };
        self.chain_column(left, "Server chain (as received)", &server, Side::Server, buf);
        self.chain_column(right, client_title, &client, Side::Client, buf);
    }

    fn chain_column(&self, area: Rect, title: &str, chain: &[&CertInfo], side: Side, buf: &mut Buffer) {
        let mut lines = vec![Line::styled(title.to_string(), self.s(Role::Accent))];
        if chain.is_empty() {
            lines.push(Line::styled("(none)", self.s(Role::Muted)));
        }
        let focused = self.app.focus == Pane::Chains && self.app.chain_side == side;
        // One blank column keeps the two chains apart.
        let width = (area.width as usize).saturating_sub(1);
        let per = 4usize;
        let room = (area.height as usize).saturating_sub(1) / per;
        let offset = if focused && room > 0 { self.app.chain_index.saturating_sub(room - 1) } else { 0 };
        for (i, c) in chain.iter().enumerate().skip(offset) {
            let selected = focused && i == self.app.chain_index;
            let marker = if selected { "▶" } else { " " };
            let mut head = Line::from(vec![
                Span::raw(format!("{marker}[{i}] ")),
                Span::styled(
                    fit(&clean(&c.subject), width.saturating_sub(5)),
                    self.s(Role::Text).add_modifier(Modifier::BOLD),
                ),
            ]);
            if selected {
                head = head.patch_style(self.s(Role::Selection));
            }
            lines.push(head);
            lines.push(Line::from(vec![
                Span::styled("     issuer ", self.s(Role::Muted)),
                Span::styled(fit(&clean(&c.issuer), width.saturating_sub(12)), self.s(Role::Text)),
            ]));
            let validity_style = if c.days_left < 0 {
                self.s(Role::Error)
            } else if c.days_left < crate::diagnose::DEFAULT_EXPIRING_DAYS {
                self.s(Role::Warning)
            } else {
                self.s(Role::Text)
            };
            lines.push(Line::from(vec![
                Span::styled("     valid  ", self.s(Role::Muted)),
                Span::styled(
                    format!("{} → {} ({})", date(&c.not_before), date(&c.not_after), days_text(c)),
                    validity_style,
                ),
            ]));
            lines.push(Line::from(vec![
                Span::styled("     sha1   ", self.s(Role::Muted)),
                Span::styled(c.thumbprint_sha1.clone(), self.s(Role::Code)),
            ]));
        }
        Paragraph::new(lines).render(area, buf);
    }
}
