//! The Markdown incident note: a summary table, then per target its verdicts, chains and findings.
//! Every string from a certificate, a server or a file is escaped.

use crate::cert::CertInfo;
use crate::diagnose::Finding;
use crate::probe::ProbeResult;
use crate::session::{Session, TargetRun};
use crate::text::{self, clean};

/// Markdown-escape text from a certificate, a server or a file (control characters first).
pub fn md_text(s: &str) -> String {
    let mut out = String::new();
    for c in clean(s).chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '!') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// An inline code span that holds any text: the fence is longer than any run of backticks inside,
/// and `|` is escaped so the span can stand in a table cell.
pub fn md_code(s: &str) -> String {
    let text = clean(s).replace('|', "\\|");
    if text.is_empty() {
        return "` `".to_string();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

fn md_fenced(out: &mut String, lang: &str, body: &str) {
    let lines: Vec<String> = body.lines().map(clean).collect();
    let mut longest = 2;
    for l in &lines {
        let run = l.chars().take_while(|c| *c == '`').count();
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    out.push_str(&format!("{fence}{lang}\n"));
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out.push_str(&format!("{fence}\n"));
}

fn severity_counts(findings: &[&Finding]) -> String {
    use crate::diagnose::Severity;
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let parts: Vec<String> = [(Severity::Error, "error"), (Severity::Warning, "warning"), (Severity::Info, "info")]
        .iter()
        .filter(|(s, _)| count(*s) > 0)
        .map(|(s, name)| format!("{} {name}", count(*s)))
        .collect();
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join(", ")
    }
}

fn target_verdict(t: &TargetRun) -> (String, String, String) {
    if let Some(e) = &t.error {
        return (format!("not run: {}", md_text(e)), "-".into(), "-".into());
    }
    if let Some(p) = &t.probe {
        let handshake = md_text(&crate::session::handshake_summary(p));
        let http = p.http.as_ref().map(|h| h.status.to_string()).unwrap_or_else(|| "-".into());
        let chain = p.server_verify.as_ref().map(text::verdict_summary).unwrap_or_else(|| "-".into());
        return (handshake, http, md_text(&chain));
    }
    if let Some(i) = &t.inspected {
        let chain = i.verdict.as_ref().map(text::verdict_summary).unwrap_or_else(|| "-".into());
        return ("(offline)".into(), "-".into(), md_text(&chain));
    }
    ("-".into(), "-".into(), "-".into())
}

/// A session as a Markdown incident note: targets, verdicts, findings with their fixes and ids,
/// chains. Every string from a certificate, a server or a file is escaped.
pub fn session_markdown(session: &Session) -> String {
    let mut out = String::new();
    let all: Vec<&Finding> = session.findings().collect();
    out.push_str("# mTLS incident note (mtls-doctor)\n\n");
    out.push_str(&format!(
        "- Recorded: {} with mtls-doctor {}{}\n",
        md_text(&session.created_at),
        md_text(&session.tool_version),
        if session.command.is_empty() { String::new() } else { format!(" (`{}`)", md_text(&session.command)) }
    ));
    if let Some(from) = &session.replayed_from {
        out.push_str(&format!("- Replay of: {}\n", md_code(from)));
    }
    out.push_str(&format!("- Targets: {}\n", session.targets.len()));
    out.push_str(&format!("- Findings: {}\n\n", severity_counts(&all)));

    out.push_str("## Summary\n\n");
    out.push_str("| Target | Kind | Handshake | HTTP | Chain verdict | Findings |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- |\n");
    for t in &session.targets {
        let kind = t.kind;
        let (handshake, http, chain) = target_verdict(t);
        let findings: Vec<&Finding> = t.findings.iter().collect();
        let ids: Vec<String> = t.findings.iter().map(|f| md_code(f.id.as_str())).collect();
        let ids = if ids.is_empty() { String::new() } else { format!(": {}", ids.join(" ")) };
        out.push_str(&format!(
            "| {} | {kind} | {} | {http} | {} | {}{ids} |\n",
            md_text(&t.name),
            handshake.replace('|', "\\|"),
            chain.replace('|', "\\|"),
            severity_counts(&findings)
        ));
    }
    out.push('\n');

    for t in &session.targets {
        target_markdown(&mut out, t);
    }
    out
}

fn target_markdown(out: &mut String, t: &TargetRun) {
    out.push_str(&format!("## {}\n\n", md_text(&t.name)));
    if let Some(e) = &t.error {
        out.push_str(&format!("**Not run:** {}\n\n", md_text(e)));
        return;
    }
    if let Some(p) = &t.probe {
        probe_markdown(out, p);
    }
    if let Some(i) = &t.inspected {
        let role = i.role;
        out.push_str(&format!("- Inspected: {} as a {role} certificate\n", md_code(&i.origin)));
        if let Some(v) = &i.verdict {
            out.push_str(&format!("- Chain verdict: {}\n", md_text(&text::verdict_summary(v))));
        }
        for k in &t.keys {
            let matches = match &k.matches_certificate {
                Some(tp) => format!("matches {}", md_code(tp)),
                None => "matches NO certificate in these files".into(),
            };
            out.push_str(&format!("- Private key in {} ({}): {matches}\n", md_code(&k.origin), md_text(&k.algorithm)));
        }
    }
    if let Some(cv) = &t.client_verify {
        out.push_str(&format!(
            "- Verify() against uploaded CAs ({}): {}\n",
            md_text(&cv.uploaded.join(", ")),
            if let Some(why) = cv.issuer_pending() {
                format!("not known here ({})", md_text(&why))
            } else if cv.verdict.ok {
                match &cv.revocation_answer {
                    Some(a) if a.passes() == Some(false) => format!("false ({})", md_text(&a.to_string())),
                    Some(a) if a.passes().is_none() => format!("not known here ({})", md_text(&a.to_string())),
                    _ => "true".to_string(),
                }
            } else {
                format!("false ({})", md_text(&text::verdict_summary(&cv.verdict)))
            }
        ));
    }
    if let Some(f) = &t.forwarded {
        let verify = match &f.verify {
            None => "not known (no CA certificates to judge it by)".to_string(),
            Some(cv) if !cv.verdict.ok => format!("false ({})", md_text(&text::verdict_summary(&cv.verdict))),
            Some(cv) => match &cv.revocation_answer {
                Some(a) if a.passes() == Some(false) => format!("false ({})", md_text(&a.to_string())),
                Some(a) if a.passes().is_none() => format!("not known here ({})", md_text(&a.to_string())),
                _ => "true".to_string(),
            },
        };
        out.push_str(&format!(
            "- Forwarded in {} ({}): {}, Verify() of it: {verify}\n",
            md_code(&f.header),
            f.format,
            md_code(&f.thumbprint)
        ));
    }
    if let Some(p) = &t.policy {
        let o = &p.outcome;
        let answer = if !o.determined {
            "cannot be determined".to_string()
        } else if o.status < 400 {
            format!("{} (passes the inbound policy)", o.status)
        } else {
            format!("{} (refused by the policy)", o.status)
        };
        out.push_str(&format!("- Policy {}: answers {answer}", md_code(&p.source)));
        if let Some(d) = &o.decided_by {
            out.push_str(&format!(", decided by {}", md_code(d)));
        }
        if let Some(r) = o.last_error.as_ref().and_then(|e| e.reason.as_ref()) {
            out.push_str(&format!(", context.LastError.Reason {}", md_code(r)));
        }
        out.push('\n');
    }
    out.push('\n');

    let mut chains: Vec<(&str, &[CertInfo])> = Vec::new();
    if let Some(p) = &t.probe {
        chains.push(("Server chain (as sent)", &p.server_chain));
        chains.push(("Client chain (configured)", &p.client_chain));
    }
    if let Some(i) = &t.inspected {
        chains.push(("Inspected certificates", &i.certs));
    }
    chains.push(("CA certificates uploaded to the gateway", &t.uploaded_cas));
    for (title, certs) in chains.into_iter().filter(|(_, c)| !c.is_empty()) {
        out.push_str(&format!("### {title}\n\n"));
        out.push_str("| # | Subject | Issuer | Thumbprint (SHA-1) | Not after | Days left |\n");
        out.push_str("| --- | --- | --- | --- | --- | --- |\n");
        for (i, c) in certs.iter().enumerate() {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                i,
                md_code(&c.subject),
                md_code(&c.issuer),
                md_code(&c.thumbprint_sha1),
                md_text(&c.not_after),
                c.days_left
            ));
        }
        out.push('\n');
    }

    out.push_str("### Findings\n\n");
    if t.findings.is_empty() {
        out.push_str("None.\n\n");
        return;
    }
    for (n, f) in t.findings.iter().enumerate() {
        out.push_str(&format!(
            "#### {}. {} {} ({})\n\n",
            n + 1,
            f.severity.as_str().to_uppercase(),
            md_text(&f.title),
            md_code(f.id.as_str())
        ));
        if let Some(s) = &f.subject {
            out.push_str(&format!("On {}.\n\n", md_code(s)));
        }
        out.push_str(&format!("{}\n\n", md_text(&f.cause)));
        if !f.evidence.is_empty() {
            out.push_str("Evidence:\n\n");
            for e in &f.evidence {
                out.push_str(&format!("- {}\n", md_text(e)));
            }
            out.push('\n');
        }
        if !f.fix.is_empty() {
            out.push_str("Fix:\n\n");
            for (i, step) in f.fix.iter().enumerate() {
                out.push_str(&format!("{}. {}\n", i + 1, md_text(step)));
            }
            out.push('\n');
        }
        if let Some(snippet) = &f.snippet {
            out.push_str("Policy snippet:\n\n");
            md_fenced(out, "xml", snippet);
            out.push('\n');
        }
        if !f.related.is_empty() {
            let related: Vec<String> = f.related.iter().map(|r| md_code(r.as_str())).collect();
            out.push_str(&format!("See also: {}\n\n", related.join(", ")));
        }
        out.push_str(&format!("Guide: {}\n\n", md_text(&f.guide)));
    }
}

fn probe_markdown(out: &mut String, r: &ProbeResult) {
    let role = r.role;
    let via = r.target.connect_to.as_ref().map(|c| format!(" via {}", md_code(c))).unwrap_or_default();
    out.push_str(&format!(
        "- Probe: {} ({role}, SNI {}){via}, started {}\n",
        md_code(&format!("{}:{}", r.target.host, r.target.port)),
        md_code(&r.target.sni),
        md_text(&r.started_at)
    ));
    if let Some(p) = &r.proxy {
        out.push_str(&format!("  - Through {}\n", md_text(&crate::text::proxy_use(p))));
    }
    let dns = if r.dns.literal {
        "address literal".to_string()
    } else if let Some(e) = &r.dns.error {
        format!("FAILED: {}", md_text(e))
    } else {
        md_text(&r.dns.addresses.join(", "))
    };
    out.push_str(&format!("- DNS: {dns}\n"));
    if !r.dns.cnames.is_empty() {
        out.push_str(&format!("- CNAME: {}\n", md_text(&r.dns.cnames.join(" -> "))));
    }
    if r.tcp.connected {
        out.push_str(&format!("- TCP: connected {}\n", md_text(&r.tcp.address.clone().unwrap_or_default())));
    } else if let Some(e) = &r.tcp.error {
        out.push_str(&format!("- TCP: FAILED: {}\n", md_text(&text::io_error_text(e))));
    }
    if let Some(v) = &r.tls.version {
        out.push_str(&format!(
            "- TLS: {} {} {} ALPN {}\n",
            md_text(v),
            md_text(r.tls.cipher_suite.as_deref().unwrap_or("")),
            md_text(&r.tls.key_exchange.as_deref().map(text::named_group_name).unwrap_or_default()),
            md_text(r.tls.alpn.as_deref().unwrap_or("-"))
        ));
    }
    if r.tcp.connected {
        if r.client_cert_requested {
            out.push_str(&format!(
                "- Client certificate requested: yes, {} acceptable CA name(s){}\n",
                r.acceptable_ca_names.len(),
                if r.acceptable_ca_names.is_empty() {
                    String::new()
                } else {
                    format!(": {}", r.acceptable_ca_names.iter().map(|n| md_code(n)).collect::<Vec<_>>().join(", "))
                }
            ));
        } else {
            out.push_str("- Client certificate requested: no\n");
        }
        match (r.client_cert_sent, r.client_chain.first(), r.client_cert_not_sent_reason) {
            (true, Some(c), _) => out.push_str(&format!(
                "- Client certificate sent: {} ({})\n",
                md_code(&c.subject),
                md_code(&c.thumbprint_sha1)
            )),
            (false, _, Some(reason)) if r.client_cert_requested || !r.client_chain.is_empty() => {
                out.push_str(&format!("- Client certificate sent: none ({reason})\n"))
            }
            _ => {}
        }
        out.push_str(&format!("- Handshake: {}\n", md_text(&crate::session::handshake_summary(r))));
    }
    if let Some(h) = &r.http {
        out.push_str(&format!("- HTTP: {} {}", md_text(&h.version), h.status));
        let first: String = h.body_preview.lines().next().unwrap_or("").chars().take(80).collect();
        if !first.trim().is_empty() {
            out.push_str(&format!(", body starts {}", md_code(&first)));
        }
        out.push('\n');
    } else if let Some(e) = &r.http_error {
        out.push_str(&format!("- HTTP: FAILED: {}\n", md_text(e)));
    }
    for (label, value) in crate::text::after_handshake_lines(r) {
        out.push_str(&format!("- {label}: {}\n", md_text(&value)));
    }
    if let Some(w) = &r.compare_without_cert {
        let http = w.http.as_ref().map(|h| format!(", HTTP {}", h.status)).unwrap_or_default();
        out.push_str(&format!(
            "- Same probe without the client certificate: handshake {}{http}\n",
            md_text(&crate::session::handshake_summary(w))
        ));
    }
}
