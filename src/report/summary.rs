//! The ticket summary (`--summary`): one short entry per target (verdict and first finding), worst
//! first, always under the 32,000 characters a Jira comment holds, in Markdown that reads as plain
//! text too (a list, no tables, escapes only where a character would start markup).

use crate::diagnose::{Finding, Severity};
use crate::session::{handshake_summary, Session, TargetKind, TargetRun};
use crate::text::clean;

/// The most characters a summary may have (Jira's comment limit).
pub const SUMMARY_LIMIT: usize = 32_000;
/// No entry line is longer than this, so one odd target cannot eat the budget.
const CELL_LIMIT: usize = 160;
/// Room kept for the closing line that says how many targets were left out.
const FOOTER_ROOM: usize = 400;

/// Escape only what would start markup where it stands: intraword `_` (as in `api_v1`) and
/// a `#` inside a line are left alone, unlike the full note's escaping.
pub fn md_plain(s: &str) -> String {
    let chars: Vec<char> = clean(s).chars().collect();
    let mut out = String::with_capacity(chars.len());
    for (i, &c) in chars.iter().enumerate() {
        let before = i.checked_sub(1).map(|j| chars[j]);
        let after = chars.get(i + 1).copied();
        let word = |o: Option<char>| o.is_some_and(char::is_alphanumeric);
        let escape = match c {
            '*' | '`' | '[' | ']' | '<' | '>' | '|' => true,
            '_' => !(word(before) && word(after)),
            '\\' => after.is_some_and(|a| a.is_ascii_punctuation()),
            '#' => i == 0,
            '~' => before == Some('~') || after == Some('~'),
            '!' => after == Some('['),
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn worst(t: &TargetRun) -> Option<Severity> {
    if t.error.is_some() {
        return Some(Severity::Error);
    }
    [Severity::Error, Severity::Warning, Severity::Info]
        .into_iter()
        .find(|s| t.findings.iter().any(|f| f.severity == *s))
}

fn rank(t: &TargetRun) -> u8 {
    match worst(t) {
        Some(Severity::Error) => 0,
        Some(Severity::Warning) => 1,
        Some(Severity::Info) => 2,
        None => 3,
    }
}

fn verdict(t: &TargetRun) -> String {
    let label = match worst(t) {
        Some(Severity::Error) => "ERROR",
        Some(Severity::Warning) => "WARNING",
        Some(Severity::Info) | None => "OK",
    };
    let what = if let Some(e) = &t.error {
        format!("not run: {e}")
    } else if let Some(p) = &t.probe {
        let http = p.http.as_ref().map(|h| format!("; HTTP {}", h.status)).unwrap_or_default();
        format!("handshake {}{http}", handshake_summary(p))
    } else if t.kind == TargetKind::Inspect {
        "certificates inspected".to_string()
    } else {
        "not run".to_string()
    };
    format!("{label}, {}", shorten(&what, CELL_LIMIT))
}

fn first_finding(findings: &[Finding]) -> String {
    match findings.first() {
        None => "no findings".to_string(),
        Some(f) => {
            let more = match findings.len() - 1 {
                0 => String::new(),
                n => format!(" (+{n} more)"),
            };
            format!("{} {}: {}{more}", f.severity.as_str(), f.id, shorten(&f.title, CELL_LIMIT))
        }
    }
}

/// The ticket summary of a session, worst targets first, at most [`SUMMARY_LIMIT`] characters.
pub fn session_summary(session: &Session) -> String {
    let mut order: Vec<&TargetRun> = session.targets.iter().collect();
    order.sort_by_key(|t| rank(t));
    let count = |r: u8| session.targets.iter().filter(|t| rank(t) == r).count();
    let mut out = format!(
        "mtls-doctor summary: {} target(s), {} with errors, {} with warnings, {} without problems. Recorded {} with mtls-doctor {}.\n\n",
        session.targets.len(),
        count(0),
        count(1),
        count(2) + count(3),
        md_plain(&session.created_at),
        md_plain(&session.tool_version),
    );
    let mut used = out.chars().count();
    let mut listed = 0;
    for t in &order {
        let entry = format!(
            "- {}: {}\n  first finding: {}\n",
            md_plain(&shorten(&t.name, CELL_LIMIT)),
            md_plain(&verdict(t)),
            md_plain(&first_finding(&t.findings))
        );
        let len = entry.chars().count();
        if used + len + FOOTER_ROOM > SUMMARY_LIMIT {
            break;
        }
        used += len;
        out.push_str(&entry);
        listed += 1;
    }
    let left_out = order.len() - listed;
    if left_out > 0 {
        let errors = order[listed..].iter().filter(|t| rank(t) == 0).count();
        out.push_str(&format!(
            "\n{left_out} more target(s) not listed to stay under {SUMMARY_LIMIT} characters ({errors} of them with errors); the full report (--report markdown or --report json without --summary) has every target.\n"
        ));
    }
    out
}
