//! The help overlay: every key, by what it is for.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::View;
use crate::tui::theme::Role;
use crate::tui::wrap::wrap_paras;

impl View<'_> {
    pub(super) fn help(&self, area: Rect, scroll: u16, buf: &mut Buffer) {
        let inner = self.popup(area, 78, 40, "Help", buf);
        let sections: &[(&str, &[(&str, &str)])] = &[
            (
                "Probes",
                &[
                    ("r", "run the selected target (in the background)"),
                    ("R", "run every target"),
                    ("c / C", "cancel the selected run / every run"),
                ],
            ),
            (
                "Targets",
                &[
                    ("e", "edit the selected target (host, SNI, certificates, policy …)"),
                    ("a / d", "add a target / duplicate the selected one"),
                    ("x / Del", "delete the selected target (asks first)"),
                    ("s / S", "save the session / save it under another name"),
                    ("o", "open a saved session"),
                ],
            ),
            (
                "Moving",
                &[
                    ("Tab / S-Tab", "next / previous pane"),
                    ("1-5", "jump to a pane: the number in its title or tab"),
                    ("↑↓ j k", "select or scroll in the pane"),
                    ("PgUp PgDn g G", "page / first / last"),
                    ("←→ h l", "server or client chain (Certificates pane)"),
                    ("Enter", "certificate details (Certificates) · findings (Targets)"),
                    ("mouse", "click a pane or a target, wheel to scroll"),
                ],
            ),
            (
                "Searching",
                &[
                    ("/", "filter targets and findings: target name or host, finding id, title or subject"),
                    ("n / N", "next / previous match"),
                    ("Esc", "clear the filter"),
                ],
            ),
            ("Reading", &[("b", "whole response body in the Handshake pane, or its first line again")]),
            (
                "Copying (OSC 52: works over SSH and in tmux with set-clipboard on)",
                &[
                    ("y", "thumbprint (Certificates) · policy snippet (Findings)"),
                    ("t s i n p 2", "in details: thumbprint, subject, issuer, serial, PEM, SHA-256"),
                ],
            ),
            ("Leaving", &[("q", "quit (asks again with unsaved changes)"), ("Ctrl-C", "quit at once")]),
        ];
        let mut lines = vec![Line::styled(
            "Badges: ✔ ok  ⚠ warning  ✖ error  ◐ running  · not run. The first ✖ step in the handshake is where it fails.",
            self.s(Role::Text),
        )];
        for (title, keys) in sections {
            lines.push(Line::raw(""));
            lines.push(Line::styled(title.to_string(), self.s(Role::Accent)));
            for (k, what) in *keys {
                lines.push(Line::from(vec![
                    Span::styled(format!("  {k:<14}"), self.s(Role::Title)),
                    Span::styled(what.to_string(), self.s(Role::Text)),
                ]));
            }
        }
        let lines = wrap_paras(lines.into_iter().map(|l| (l, 16)).collect(), inner.width as usize);
        Paragraph::new(lines).scroll((scroll, 0)).render(inner, buf);
    }
}
