//! Text fitting for the panes: word-wrapping with hanging indents and cutting to a width. Shared
//! by `layout` (which measures) and `view` (which draws), so both wrap the same way.

use ratatui::text::{Line, Span};

/// A logical line and the indent its continuation lines take when it is wrapped.
pub type Para = (Line<'static>, usize);

/// Stands for a space that must not become a line break; drawn as a plain space.
const GLUE: char = '\u{a0}';

/// `text` with its spaces glued: wrapping moves it to the next line whole (unless it is longer
/// than a line), and it is drawn with plain spaces.
pub fn keep_together(text: &str) -> String {
    text.replace(' ', &GLUE.to_string())
}

/// Word-wrap logical lines to `width` columns with hanging indents, so wrapped details stay in
/// their column. Words longer than a line (thumbprints, paths) are split.
pub fn wrap_paras(paras: Vec<Para>, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for (line, indent) in paras {
        out.extend(wrap_hanging(line, width, indent));
    }
    out
}

fn wrap_hanging(line: Line<'static>, width: usize, indent: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let indent = indent.min(width / 2);
    let line_style = line.style;
    let mut lines = Vec::new();
    let mut cur: Vec<Span<'static>> = Vec::new();
    let mut w = 0usize;
    let mut start = 0usize;
    let mut new_line = |cur: &mut Vec<Span<'static>>, w: &mut usize, start: &mut usize| {
        lines.push(Line::from(std::mem::take(cur)).style(line_style));
        cur.push(Span::raw(" ".repeat(indent)));
        *w = indent;
        *start = indent;
    };
    for span in line.spans {
        let style = span.style;
        for token in span.content.split_inclusive(' ') {
            let tw = Span::raw(token).width();
            let tw_trim = Span::raw(token.trim_end()).width();
            if w + tw_trim > width && w > start {
                new_line(&mut cur, &mut w, &mut start);
                if token.trim().is_empty() {
                    continue;
                }
            }
            if w + tw_trim <= width {
                cur.push(Span::styled(token.replace(GLUE, " "), style));
                w += tw;
                continue;
            }
            let mut piece = String::new();
            for c in token.chars().map(|c| if c == GLUE { ' ' } else { c }) {
                let cw = Span::raw(c.to_string()).width();
                if w + cw > width && w > start {
                    cur.push(Span::styled(std::mem::take(&mut piece), style));
                    new_line(&mut cur, &mut w, &mut start);
                }
                piece.push(c);
                w += cw;
            }
            cur.push(Span::styled(piece, style));
        }
    }
    lines.push(Line::from(cur).style(line_style));
    lines
}

/// Cut `text` to `width` columns, marking the cut with an ellipsis.
pub fn fit(text: &str, width: usize) -> String {
    if Span::raw(text).width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in text.chars() {
        let cw = Span::raw(c.to_string()).width();
        if w + cw + 1 > width {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}
