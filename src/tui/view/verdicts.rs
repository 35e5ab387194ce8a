//! The Verdicts pane: our server check, the gateway's Verify() and the policy side by side, and the
//! with/without-certificate comparison.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::View;
use crate::probe::ProbeResult;
use crate::session::TargetRun;
use crate::text::clean;
use crate::tui::layout::Pane;
use crate::tui::theme::Role;
use crate::tui::wrap::{wrap_paras, Para};
use crate::verify::Verdict;

/// One cell of the with/without-certificate table: whether it is good, and its text.
type CompareCell = fn(&ProbeResult) -> (bool, String);

/// File names are enough on screen; the full paths are in the edit form and the session.
fn file_names(paths: &[String]) -> String {
    paths
        .iter()
        .map(|p| {
            std::path::Path::new(p).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| p.clone())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl View<'_> {
    fn verdict_spans(&self, v: &Verdict) -> Vec<Span<'static>> {
        if v.ok {
            vec![Span::styled("✔ ok (0)", self.s(Role::Ok))]
        } else {
            vec![Span::styled(format!("✖ {}", clean(&crate::text::verdict_with_depth(v))), self.s(Role::Error))]
        }
    }

    pub(super) fn verdicts(&self, area: Rect, target: Option<&TargetRun>, buf: &mut Buffer) {
        const COLUMN: usize = 10;
        let block = self.block(Pane::Verdicts, "Verdicts".into());
        let inner = block.inner(area);
        block.render(area, buf);
        let Some(t) = target else { return };
        let label = |s: &str| Span::styled(format!("{s:<COLUMN$}"), self.s(Role::Title));
        let none = |s: &str| Span::styled(s.to_string(), self.s(Role::Muted));
        let more = |text: String, role: Role| (Line::styled(format!("{:COLUMN$}{text}", ""), self.s(role)), COLUMN);
        let mut paras: Vec<Para> = Vec::new();

        // Our verification of the server chain (or of the inspected chain).
        let server = t.probe.as_ref().and_then(|p| p.server_verify.as_ref());
        let inspected = t.inspected.as_ref().and_then(|i| i.verdict.as_ref());
        let mut l = vec![label("Server")];
        match (server, inspected) {
            (Some(v), _) => l.extend(self.verdict_spans(v)),
            (None, Some(v)) => {
                l.push(Span::styled("(inspected) ", self.s(Role::Muted)));
                l.extend(self.verdict_spans(v));
            }
            (None, None) => l.push(none("– not verified (no chain)")),
        }
        paras.push((Line::from(l), COLUMN));
        if let Some(reason) = server.or(inspected).and_then(|v| v.reason.as_ref()) {
            paras.push(more(format!("webpki: {}", clean(&crate::text::webpki_reason(reason))), Role::Muted));
        }

        // What the gateway's Verify() would say of the client chain.
        let mut l = vec![label("Verify()")];
        match &t.client_verify {
            Some(cv) => {
                // Verify() is the chain and .NET's online revocation check; the chain alone is
                // VerifyNoRevocation(), shown beneath when the two differ.
                match (cv.verdict.ok, cv.verify_ok()) {
                    (false, _) | (true, Some(true)) => l.extend(self.verdict_spans(&cv.verdict)),
                    (true, Some(false)) => l.push(Span::styled("✖ false (revocation)", self.s(Role::Error))),
                    (true, None) => l.push(Span::styled("? not known here", self.s(Role::Warning))),
                }
                paras.push((Line::from(l), COLUMN));
                paras.push(more(format!("against {}", clean(&file_names(&cv.uploaded))), Role::Muted));
                if cv.verdict.ok && cv.verify_ok() != Some(true) {
                    let why = match (&cv.revocation_answer, cv.issuer_pending()) {
                        (_, Some(why)) => why,
                        (Some(a), None) => a.to_string(),
                        (None, None) => "revocation not checked".to_string(),
                    };
                    paras.push(more(format!("chain ok: VerifyNoRevocation() true; {}", clean(&why)), Role::Muted));
                }
            }
            None => {
                l.push(none("– no uploaded CA certificates given"));
                paras.push((Line::from(l), COLUMN));
            }
        }

        // --forward-cert: Verify() of the certificate sent in a header, on its own.
        if let Some(f) = &t.forwarded {
            let mut l = vec![label("Forwarded")];
            match &f.verify {
                Some(cv) => l.extend(self.verdict_spans(&cv.verdict)),
                None => l.push(none("– no uploaded CA certificates given")),
            }
            paras.push((Line::from(l), COLUMN));
            paras.push(more(format!("in {} ({})", clean(&f.header), f.format), Role::Muted));
        }

        // The policy's verdict.
        let mut l = vec![label("Policy")];
        match &t.policy {
            Some(pe) => {
                let o = &pe.outcome;
                if !o.determined {
                    l.push(Span::styled("? not determined", self.s(Role::Warning)));
                } else if o.status >= 400 {
                    l.push(Span::styled(format!("✖ {}", o.status), self.s(Role::Error)));
                } else {
                    l.push(Span::styled(format!("✔ {} passes", o.status), self.s(Role::Ok)));
                }
                let source = file_names(std::slice::from_ref(&pe.source));
                l.push(Span::styled(format!("  {}", clean(&source)), self.s(Role::Muted)));
                paras.push((Line::from(l), COLUMN));
                if let Some(by) = &o.decided_by {
                    paras.push(more(format!("by {}", clean(by)), Role::Text));
                }
                let cert = match &pe.certificate {
                    // The full thumbprint is in the Certificates pane; this only says which one.
                    Some(tp) => format!("certificate {}…", tp.get(..12).unwrap_or(tp)),
                    None => "no certificate (null)".into(),
                };
                paras.push(more(format!("evaluated with {cert}"), Role::Muted));
            }
            None => {
                l.push(none("– no policy given"));
                paras.push((Line::from(l), COLUMN));
            }
        }

        // With and without the client certificate, side by side.
        if let Some(p) = &t.probe {
            paras.push((Line::raw(""), 0));
            match &p.compare_without_cert {
                Some(w) => {
                    let col_w = ((inner.width as usize).saturating_sub(COLUMN) / 2).max(8);
                    let cell = |ok: bool, text: String| {
                        let text: String = text.chars().take(col_w.saturating_sub(1)).collect();
                        Span::styled(format!("{text:<col_w$}"), if ok { self.s(Role::Ok) } else { self.s(Role::Error) })
                    };
                    paras.push((
                        Line::from(vec![
                            Span::raw(format!("{:COLUMN$}", "")),
                            Span::styled(format!("{:<col_w$}", "with cert"), self.s(Role::Title)),
                            Span::styled("without cert", self.s(Role::Title)),
                        ]),
                        COLUMN,
                    ));
                    let rows: [(&str, CompareCell); 3] = [
                        ("TLS", |r| {
                            if r.handshake.ok {
                                (true, "✔ handshake ok".to_string())
                            } else {
                                let why = r.handshake.alert.clone().unwrap_or_else(|| "failed".into());
                                (false, format!("✖ {}", clean(&why)))
                            }
                        }),
                        ("Client", |r| {
                            let text = if r.client_cert_sent { "cert sent" } else { "no cert sent" };
                            (r.client_cert_sent, text.to_string())
                        }),
                        ("HTTP", |r| match &r.http {
                            Some(h) => (h.status < 400, format!("{} {}", if h.status < 400 { "✔" } else { "✖" }, h.status)),
                            None => (false, "✖ no response".into()),
                        }),
                    ];
                    for (name, f) in rows {
                        let (a_ok, a) = f(p);
                        let (b_ok, b) = f(w);
                        paras.push((Line::from(vec![label(name), cell(a_ok, a), cell(b_ok, b)]), COLUMN));
                    }
                }
                None => paras.push((
                    Line::styled(
                        "No with/without-certificate comparison (it needs a configured certificate the server asked for).",
                        self.s(Role::Muted),
                    ),
                    0,
                )),
            }
        }
        let lines = wrap_paras(paras, inner.width as usize);
        Paragraph::new(lines).scroll((self.app.verdicts_scroll, 0)).render(inner, buf);
    }
}
