//! The target form overlay: add or edit a probe target field by field.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::View;
use crate::text::clean;
use crate::tui::form::{FieldKey, FormTarget, TargetForm};
use crate::tui::theme::Role;

impl View<'_> {
    pub(super) fn form(&self, area: Rect, form: &TargetForm, buf: &mut Buffer) {
        let title = match form.target {
            FormTarget::New => "Add target".to_string(),
            FormTarget::Existing(_) => format!("Edit {}", clean(&form.base.name)),
        };
        let rows = form.fields.len() as u16 + 4;
        let inner = self.popup(area, 100, rows + 2, &title, buf);
        let label_w = 14usize;
        let value_w = (inner.width as usize).saturating_sub(label_w + 3).max(1);
        // Keep the focused field visible when the screen is shorter than the form.
        let field_rows = (inner.height as usize).saturating_sub(2).max(1);
        let offset = form.focus.saturating_sub(field_rows - 1);
        let mut lines = Vec::new();
        for (i, f) in form.fields.iter().enumerate().skip(offset).take(field_rows) {
            let focused = i == form.focus;
            let chars: Vec<char> = f.value.chars().collect();
            let start = if focused { f.cursor.saturating_sub(value_w.saturating_sub(1)) } else { 0 };
            let shown: String = chars.iter().skip(start).take(value_w).collect();
            let mut value_spans = vec![];
            if focused {
                let at = f.cursor - start;
                let before: String = shown.chars().take(at).collect();
                let under: String = shown.chars().nth(at).map(String::from).unwrap_or_else(|| " ".into());
                let after: String = shown.chars().skip(at + 1).collect();
                value_spans.push(Span::styled(clean(&before), self.s(Role::Text)));
                value_spans.push(Span::styled(clean(&under), self.s(Role::Selection)));
                value_spans.push(Span::styled(clean(&after), self.s(Role::Text)));
            } else if f.value.is_empty() {
                value_spans.push(Span::styled("–", self.s(Role::Muted)));
            } else {
                value_spans.push(Span::styled(clean(&shown), self.s(Role::Text)));
            }
            let label_style = if focused { self.s(Role::Focus) } else { self.s(Role::Muted) };
            let marker = if focused { "▶" } else { " " };
            let mut spans = vec![Span::styled(format!("{marker}{:<w$} ", f.key.label(), w = label_w), label_style)];
            spans.extend(value_spans);
            lines.push(Line::from(spans));
        }
        if (inner.height as usize) > form.fields.len() + 2 {
            lines.push(Line::raw(""));
        }
        match &form.error {
            Some(e) => lines.push(Line::styled(format!("✖ {}", clean(e)), self.s(Role::Error))),
            None => {
                let hint = form.focused().map(|f| f.key.hint()).unwrap_or("");
                lines.push(Line::styled(format!("ℹ {hint}"), self.s(Role::Muted)));
            }
        }
        let role = form.value(FieldKey::Role);
        lines.push(Line::styled(
            format!("Role {role}: Enter saves (then r runs) · Esc cancels · Ctrl-U clears a field"),
            self.s(Role::Muted),
        ));
        Paragraph::new(lines).render(inner, buf);
    }
}
