//! What changed between two sessions, as text and as Markdown.

use super::markdown::{md_code, md_text};
use crate::session::{Change, SessionDiff, TargetStatus};
use crate::text::clean;

/// How a target differs between two sessions; None when it does not.
fn status_text(status: TargetStatus) -> Option<TargetStatus> {
    (status != TargetStatus::Unchanged).then_some(status)
}

/// What changed between two sessions, as text.
pub fn diff_text(d: &SessionDiff) -> String {
    let mut out = format!(
        "Before: {} ({})\nAfter:  {} ({})\n",
        clean(&d.before.file),
        clean(&d.before.created_at),
        clean(&d.after.file),
        clean(&d.after.created_at)
    );
    if !d.has_changes() {
        out.push_str("\nNo changes.\n");
        return out;
    }
    for t in &d.targets {
        let Some(status) = status_text(t.status) else { continue };
        out.push_str(&format!("\n{}: {status}\n", clean(&t.name)));
        for c in &t.changes {
            out.push_str(&format!("  - {}\n", clean(&change_text(c))));
        }
    }
    out
}

/// What changed between two sessions, as Markdown.
pub fn diff_markdown(d: &SessionDiff) -> String {
    let mut out = String::from("# mtls-doctor: what changed\n\n");
    out.push_str(&format!("- Before: {} ({})\n", md_code(&d.before.file), md_text(&d.before.created_at)));
    out.push_str(&format!("- After: {} ({})\n\n", md_code(&d.after.file), md_text(&d.after.created_at)));
    if !d.has_changes() {
        out.push_str("No changes.\n");
        return out;
    }
    for t in &d.targets {
        let Some(status) = status_text(t.status) else { continue };
        out.push_str(&format!("## {} ({status})\n\n", md_text(&t.name)));
        for c in &t.changes {
            out.push_str(&format!("- {}\n", md_text(&change_text(c))));
        }
        out.push('\n');
    }
    out
}

/// One change in a sentence (raw: the caller escapes it for its format).
pub fn change_text(c: &Change) -> String {
    let cert = |s: &crate::session::CertSummary| {
        format!(
            "{} (thumbprint {}, serial {}, valid {} .. {})",
            s.subject, s.thumbprint_sha1, s.serial, s.not_before, s.not_after
        )
    };
    match c {
        Change::CertificateRotated { chain, position, before, after } => format!(
            "certificate rotated in the {chain} chain at position {position}: {} -> {}",
            cert(before),
            cert(after)
        ),
        Change::CertificateAdded { chain, position, certificate } => {
            format!("certificate added to the {chain} chain at position {position}: {}", cert(certificate))
        }
        Change::CertificateRemoved { chain, position, certificate } => {
            format!("certificate gone from the {chain} chain at position {position}: {}", cert(certificate))
        }
        Change::VerdictChanged { what, before, after } => format!("{what}: {before} -> {after}"),
        Change::HttpStatusChanged { before, after } => {
            let s = |v: &Option<u16>| v.map(|x| x.to_string()).unwrap_or_else(|| "none".into());
            format!("HTTP status: {} -> {}", s(before), s(after))
        }
        Change::FindingAppeared { id, severity, title } => {
            format!("finding appeared: [{}] {title} ({id})", severity.as_str().to_uppercase())
        }
        Change::FindingResolved { id, severity, title } => {
            format!("finding resolved: [{}] {title} ({id})", severity.as_str().to_uppercase())
        }
        Change::ErrorChanged { before, after } => {
            format!("input error: {} -> {}", before.as_deref().unwrap_or("none"), after.as_deref().unwrap_or("none"))
        }
    }
}
