//! The Findings pane: each finding's cause, evidence, fix steps and policy snippet.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::View;
use crate::diagnose::{Finding, Severity};
use crate::session::TargetRun;
use crate::text::clean;
use crate::tui::layout::Pane;
use crate::tui::theme::Role;
use crate::tui::timeline::not_run_lines;
use crate::tui::wrap::{wrap_paras, Para};

fn severity_badge(s: Severity) -> &'static str {
    match s {
        Severity::Error => "✖ ERROR",
        Severity::Warning => "⚠ WARN ",
        Severity::Info => "ℹ INFO ",
    }
}

impl View<'_> {
    pub(super) fn findings(&self, area: Rect, target: Option<&TargetRun>, buf: &mut Buffer) {
        let n = target.map(|t| t.findings.len()).unwrap_or(0);
        let shown = self.app.visible_findings();
        let at = shown.iter().position(|i| *i == self.app.findings_index).unwrap_or(0);
        let title = if n == 0 {
            "Findings".to_string()
        } else if self.app.filter_active() {
            format!("Findings ({} of {n} match) · {}/{} · y copies snippet", shown.len(), at + 1, shown.len())
        } else {
            format!("Findings ({n}) · {}/{n} · most likely first · y copies snippet", self.app.findings_index + 1)
        };
        let block = self.block(Pane::Findings, title);
        let inner = block.inner(area);
        block.render(area, buf);
        let Some(t) = target else { return };
        let mut paras = Vec::new();
        if t.findings.is_empty() {
            if t.probe.is_some() || t.inspected.is_some() {
                paras.extend(not_run_lines(t, self.app.read_only, self.theme));
                paras.push((Line::styled("✔ No problems found for this target.", self.s(Role::Ok)), 2));
            } else {
                paras.extend(not_run_lines(t, self.app.read_only, self.theme));
            }
        }
        for i in shown.iter().copied().skip(at) {
            let f = &t.findings[i];
            let selected = i == self.app.findings_index && self.app.focus == Pane::Findings;
            paras.extend(self.finding_lines(f, selected));
            paras.push((Line::raw(""), 0));
        }
        let lines = wrap_paras(paras, inner.width as usize);
        Paragraph::new(lines).scroll((self.app.findings_scroll, 0)).render(inner, buf);
    }

    fn finding_lines(&self, f: &Finding, selected: bool) -> Vec<Para> {
        const COLUMN: usize = 11;
        let sev = match f.severity {
            Severity::Error => self.s(Role::Error),
            Severity::Warning => self.s(Role::Warning),
            Severity::Info => self.s(Role::Info),
        };
        let mut head = Line::from(vec![
            Span::styled(severity_badge(f.severity), sev),
            Span::styled(format!(" [{}] ", f.symptom.as_str()), self.s(Role::Muted)),
            Span::styled(clean(&f.title), self.s(Role::Title)),
            Span::styled(format!("  {}", clean(f.id.as_str())), self.s(Role::Muted)),
        ]);
        if selected {
            head = head.patch_style(self.s(Role::Selection));
        }
        let mut lines = vec![(head, 8)];
        let label = |s: &str| Span::styled(format!("  {s:<9}"), self.s(Role::Accent));
        lines.push((Line::from(vec![label("Cause"), Span::styled(clean(&f.cause), self.s(Role::Text))]), COLUMN));
        for (i, e) in f.evidence.iter().enumerate() {
            let l = if i == 0 { label("Evidence") } else { label("") };
            lines.push((Line::from(vec![l, Span::styled(format!("• {}", clean(e)), self.s(Role::Text))]), COLUMN + 2));
        }
        for (i, step) in f.fix.iter().enumerate() {
            let l = if i == 0 { label("Fix") } else { label("") };
            let text = format!("{}. {}", i + 1, clean(step));
            lines.push((Line::from(vec![l, Span::styled(text, self.s(Role::Text))]), COLUMN + 3));
        }
        if let Some(snippet) = &f.snippet {
            lines
                .push((Line::from(vec![label("Snippet"), Span::styled("(y copies it)", self.s(Role::Muted))]), COLUMN));
            for l in snippet.lines() {
                lines.push((Line::from(vec![Span::raw("    "), Span::styled(clean(l), self.s(Role::Code))]), 6));
            }
        }
        if !f.related.is_empty() {
            let related = format!("see also {}", clean(&crate::diagnose::join_ids(&f.related)));
            lines.push((Line::from(vec![label("Related"), Span::styled(related, self.s(Role::Muted))]), COLUMN));
        }
        lines.push((Line::from(vec![label("Guide"), Span::styled(clean(&f.guide), self.s(Role::Muted))]), COLUMN));
        lines
    }
}
