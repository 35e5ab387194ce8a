//! The response body in the Handshake pane: one line under the HTTP step by default (what
//! `timeline` draws), or, expanded with `b`, every kept line of it under the steps.
//!
//! Only the kept preview (the probe's first 4 KiB, redacted) is shown: nothing here reads more
//! than the probe recorded, line for line as it came (long lines wrap in the pane).

use ratatui::text::Line;

use super::theme::{Role, Theme};
use super::timeline;
use super::wrap::Para;
use crate::probe::HttpResult;
use crate::session::TargetRun;
use crate::text::clean;

/// The one-line body summary in the timeline keeps this many characters.
const SUMMARY_CHARS: usize = 96;

/// How the Handshake pane of a target is drawn: the facts of the app's state it depends on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimelineView {
    pub running: bool,
    pub read_only: bool,
    /// The whole kept body instead of its first line.
    pub body_expanded: bool,
}

/// The Handshake pane's lines: the timeline's steps, then, expanded, the whole kept body.
pub fn timeline_paras(t: &TargetRun, view: TimelineView, theme: &Theme) -> Vec<Para> {
    let mut paras = timeline::paras(t, view.running, view.read_only, theme);
    let Some(h) = t.probe.as_ref().and_then(|p| p.http.as_ref()) else { return paras };
    if h.body_preview.trim().is_empty() {
        return paras;
    }
    let lines = body_lines(&h.body_preview);
    if view.body_expanded {
        paras.push((Line::raw(""), 0));
        paras.push((
            Line::styled(format!("Response body · {} · b folds it", kept_text(h)), theme.style(Role::Accent)),
            2,
        ));
        for l in lines {
            paras.push((Line::styled(format!("  {l}"), theme.style(Role::Code)), 4));
        }
        if h.body_truncated {
            paras.push((Line::styled("  … the rest was not kept", theme.style(Role::Muted)), 2));
        }
    }
    paras
}

/// Whether the timeline's one-line body summary leaves something out (then `b` is worth a hint).
pub fn has_more(t: &TargetRun) -> bool {
    let Some(h) = t.probe.as_ref().and_then(|p| p.http.as_ref()) else { return false };
    more_than_summary(&h.body_preview, &body_lines(&h.body_preview))
}

/// Rows of the Handshake pane above the expanded body, at `width` columns: where `b` scrolls to.
pub fn body_row(t: &TargetRun, view: TimelineView, width: usize, theme: &Theme) -> usize {
    super::wrap::wrap_paras(timeline::paras(t, view.running, view.read_only, theme), width).len()
}

/// What was kept of the body, in bytes, and of how much when the body was longer.
fn kept_text(h: &HttpResult) -> String {
    let kept = h.body_preview.len();
    match h.content_length {
        Some(total) if total as usize > kept => format!("{kept} of {total} bytes kept"),
        _ if h.body_truncated => format!("first {kept} bytes kept"),
        _ => format!("{kept} bytes"),
    }
}

/// Whether the one-line summary under the HTTP step leaves something out.
fn more_than_summary(body: &str, lines: &[String]) -> bool {
    let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
    lines.len() > 1 || flat.chars().count() > SUMMARY_CHARS
}

/// The body's lines as shown: control characters escaped, tabs as spaces, blank lines at the
/// ends dropped.
pub fn body_lines(body: &str) -> Vec<String> {
    body.trim_matches(|c: char| c == '\n' || c == '\r')
        .lines()
        .map(|l| clean(&l.trim_end().replace('\t', "    ")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_lines_keep_lines_and_escape_controls() {
        assert_eq!(
            body_lines("{\n  \"statusCode\": 403,\n\t\"message\": \"x\"\n}\n"),
            ["{", "  \"statusCode\": 403,", "    \"message\": \"x\"", "}"]
        );
        assert_eq!(body_lines("\r\n\n  a\r\nb  \n\n"), ["  a", "b"]);
        assert_eq!(body_lines("bad\u{1b}[2Jthing"), ["bad\\u{001B}[2Jthing"]);
    }
}
