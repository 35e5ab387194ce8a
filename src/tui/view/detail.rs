//! The certificate detail overlay: every field of one certificate, and its PEM.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{days_text, View};
use crate::text::clean;
use crate::tui::app::Side;
use crate::tui::theme::Role;
use crate::tui::wrap::wrap_paras;

impl View<'_> {
    pub(super) fn detail(&self, area: Rect, side: Side, index: usize, scroll: u16, buf: &mut Buffer) {
        let Some(c) = self.app.cert(side, index) else { return };
        let which = match side {
            Side::Server => "server chain",
            Side::Client => "client chain",
        };
        let inner = self.popup(area, 120, 44, &format!("Certificate [{index}] of the {which}"), buf);
        let field = |label: &str, value: String| {
            Line::from(vec![
                Span::styled(format!("{label:<15}"), self.s(Role::Accent)),
                Span::styled(clean(&value), self.s(Role::Text)),
            ])
        };
        let mut lines = vec![
            field("Subject", c.subject.clone()),
            field("  RFC 4514", c.subject_rfc4514.clone()),
            field("Issuer", c.issuer.clone()),
            field("  RFC 4514", c.issuer_rfc4514.clone()),
            Line::from(vec![
                Span::styled(format!("{:<15}", "Thumbprint"), self.s(Role::Accent)),
                Span::styled(c.thumbprint_sha1.clone(), self.s(Role::Code)),
                Span::styled("  SHA-1, as APIM's Thumbprint shows it", self.s(Role::Muted)),
            ]),
            field("SHA-256", c.thumbprint_sha256.clone()),
            field("Serial", c.serial.clone()),
            field("Not before", c.not_before.clone()),
            Line::from(vec![
                Span::styled(format!("{:<15}", "Not after"), self.s(Role::Accent)),
                Span::styled(clean(&c.not_after), self.s(Role::Text)),
                Span::styled(
                    format!("  ({})", days_text(c)),
                    if c.days_left < 0 { self.s(Role::Error) } else { self.s(Role::Muted) },
                ),
            ]),
            field("SANs", if c.sans.is_empty() { "(none)".into() } else { c.sans.join(", ") }),
        ];
        let key = crate::text::key_text(c);
        lines.push(field("Key", key));
        lines.push(field("Signature", c.signature_algorithm.clone()));
        lines.push(field("Key usage", crate::text::key_usage_text(c)));
        lines.push(field("Extended usage", crate::text::eku_text(c)));
        lines.push(field("Type", crate::text::cert_type(c)));
        lines.push(field("SKI", c.ski.clone().unwrap_or_else(|| "(none)".into())));
        lines.push(field("AKI", c.aki.clone().unwrap_or_else(|| "(none)".into())));
        lines.push(Line::raw(""));
        lines.push(Line::styled("PEM", self.s(Role::Accent)));
        for l in c.pem.lines() {
            lines.push(Line::styled(clean(l), self.s(Role::Code)));
        }
        let lines = wrap_paras(lines.into_iter().map(|l| (l, 15)).collect(), inner.width as usize);
        Paragraph::new(lines).scroll((scroll, 0)).render(inner, buf);
    }
}
