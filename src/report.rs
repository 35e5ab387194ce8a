//! Views that are not the TUI: the versioned JSON report, the plain-text summary and the Markdown
//! incident note, all drawn from a session (results already observed, never the network).

use serde::Serialize;

use crate::cert::CertInfo;
use crate::diagnose::{ClientVerify, Finding, PolicyEvaluation};
use crate::probe::ProbeResult;
use crate::session::{Change, Session, SessionDiff, TargetKind, TargetRun, TargetStatus};
use crate::verify::Verdict;

/// Version of the JSON report contract. Bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Output formats for headless runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Text,
    /// A ready-to-paste incident note.
    Markdown,
}

/// A key found among the inspected files (never the key itself).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct KeyReport {
    /// The file the key came from.
    pub origin: String,
    pub algorithm: String,
    /// Thumbprint of the certificate whose public key this key matches, if any.
    pub matches_certificate: Option<String>,
    /// TLS signature schemes this key can make.
    pub signature_schemes: Vec<String>,
}

/// `inspect --report json`.
#[derive(Debug, Clone, Serialize)]
pub struct InspectReport {
    pub schema_version: u32,
    pub certificates: Vec<CertInfo>,
    pub keys: Vec<KeyReport>,
    pub verify: Option<Verdict>,
    /// What the chain was judged for and against.
    pub verify_context: Option<VerifyContext>,
    /// The policy evaluated against the leaf (with `--policy`).
    pub policy: Option<PolicyEvaluation>,
    /// What Verify() would say against the uploaded CA certificates (with `--client-ca`).
    pub client_verify: Option<ClientVerify>,
    pub findings: Vec<Finding>,
}

impl InspectReport {
    /// The report of an inspect target, as run or as loaded from a session.
    pub fn from_target(t: &TargetRun) -> Self {
        let inspected = t.inspected.as_ref();
        InspectReport {
            schema_version: SCHEMA_VERSION,
            certificates: inspected.map(|i| i.certs.clone()).unwrap_or_default(),
            keys: t.keys.clone(),
            verify: inspected.and_then(|i| i.verdict.clone()),
            verify_context: inspected.map(|i| VerifyContext {
                role: t.inspect.as_ref().map(|c| c.role).unwrap_or(i.role),
                host: t.inspect.as_ref().and_then(|c| c.host.clone()),
                trust: t.inspect.as_ref().map(|c| c.trust.clone()).unwrap_or_default(),
            }),
            policy: t.policy.clone(),
            client_verify: t.client_verify.clone(),
            findings: t.findings.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyContext {
    pub role: crate::verify::Role,
    pub host: Option<String>,
    pub trust: String,
}

/// `probe --report json`.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    pub schema_version: u32,
    pub probes: Vec<ProbeResult>,
    /// Per target: the policy's verdict and Verify(), when asked for.
    pub evaluations: Vec<Evaluation>,
    /// Targets that could not run, with the reason.
    pub errors: Vec<TargetError>,
    /// Every finding of every probe, most likely first within each target.
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub target: String,
    pub policy: Option<PolicyEvaluation>,
    pub client_verify: Option<ClientVerify>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetError {
    pub target: String,
    pub error: String,
}

impl ProbeReport {
    pub fn from_session(session: &Session) -> Self {
        ProbeReport {
            schema_version: SCHEMA_VERSION,
            probes: session.targets.iter().filter_map(|t| t.probe.clone()).collect(),
            evaluations: session
                .targets
                .iter()
                .filter(|t| t.policy.is_some() || t.client_verify.is_some())
                .map(|t| Evaluation {
                    target: t.name.clone(),
                    policy: t.policy.clone(),
                    client_verify: t.client_verify.clone(),
                })
                .collect(),
            errors: session
                .targets
                .iter()
                .filter_map(|t| t.error.as_ref().map(|e| TargetError { target: t.name.clone(), error: e.clone() }))
                .collect(),
            findings: session.findings().cloned().collect(),
        }
    }
}

/// Escape control characters so text from a certificate or a server cannot drive the terminal.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:04X}}}", c as u32)),
            // Invisible characters (they break thumbprint comparisons, or hide text) are shown.
            c if crate::policy::is_invisible(c) => out.push_str(&format!("<U+{:04X}>", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn line(out: &mut String, label: &str, value: &str) {
    out.push_str(&format!("  {label:<12} {}\n", clean(value)));
}

/// One certificate as text, readable at 80 columns.
pub fn certificate_text(out: &mut String, title: &str, c: &CertInfo) {
    out.push_str(&format!("{}\n", clean(title)));
    line(out, "Subject", &c.subject);
    line(out, "Issuer", &c.issuer);
    line(out, "Thumbprint", &format!("{}  (SHA-1, as APIM shows it)", c.thumbprint_sha1));
    line(out, "SHA-256", &c.thumbprint_sha256);
    line(out, "Serial", &c.serial);
    let left = if c.days_left < 0 {
        format!("EXPIRED {} days ago", -c.days_left)
    } else {
        format!("{} days left", c.days_left)
    };
    line(out, "Valid", &format!("{} .. {}  ({left})", c.not_before, c.not_after));
    if !c.sans.is_empty() {
        line(out, "SANs", &c.sans.join(", "));
    }
    let key = match (&c.key.curve, c.key.bits) {
        (Some(curve), _) => format!("{} {curve}", c.key.algorithm),
        (None, Some(bits)) => format!("{} {bits} bits", c.key.algorithm),
        _ => c.key.algorithm.clone(),
    };
    line(out, "Key", &format!("{key}; signed with {}", c.signature_algorithm));
    if !c.key_usage.is_empty() {
        line(out, "Key usage", &c.key_usage.join(", "));
    }
    line(
        out,
        "EKU",
        &match &c.eku {
            Some(list) => list.join(", "),
            None => "(none: any usage)".to_string(),
        },
    );
    let mut kind = if c.is_ca { "CA".to_string() } else { "end entity".to_string() };
    if let Some(p) = c.path_len {
        kind.push_str(&format!(", path length {p}"));
    }
    if c.self_signed {
        kind.push_str(", self-signed");
    }
    line(out, "Type", &kind);
    if let Some(ski) = &c.ski {
        line(out, "SKI", ski);
    }
    if let Some(aki) = &c.aki {
        line(out, "AKI", aki);
    }
}

pub fn verdict_text(out: &mut String, v: &Verdict) {
    if v.ok {
        out.push_str("  Verify       0 ok\n");
    } else {
        let depth = v.depth.map(|d| format!(" at depth {d}")).unwrap_or_default();
        out.push_str(&format!("  Verify       error {} ({}){depth}\n", v.code, clean(&v.code_name)));
    }
    if let Some(reason) = &v.reason {
        line(out, "webpki", reason);
    }
    for p in &v.chain_problems {
        let text = match p {
            crate::verify::ChainProblem::MissingIntermediate { needed_issuer } => {
                format!("missing intermediate: nothing presented or trusted is \"{needed_issuer}\"")
            }
            crate::verify::ChainProblem::OutOfOrder => "the chain was sent out of order".to_string(),
            crate::verify::ChainProblem::RootIncluded { subject } => format!("the root was sent too: {subject}"),
            crate::verify::ChainProblem::IssuerKeyMismatch { issuer } => {
                format!(
                    "a certificate named \"{issuer}\" is there, but its key did not sign (renewed CA with a new key?)"
                )
            }
        };
        line(out, "Chain", &text);
    }
}

pub fn inspect_text(r: &InspectReport, origins: &[String]) -> String {
    let mut out = String::new();
    let n = r.certificates.len();
    for (i, c) in r.certificates.iter().enumerate() {
        let origin = origins.get(i).map(|o| format!("  ({o})")).unwrap_or_default();
        certificate_text(&mut out, &format!("Certificate {} of {n}{origin}", i + 1), c);
        out.push('\n');
    }
    for k in &r.keys {
        out.push_str(&format!("Private key  ({})\n", clean(&k.origin)));
        line(&mut out, "Algorithm", &k.algorithm);
        line(
            &mut out,
            "Matches",
            &match &k.matches_certificate {
                Some(tp) => format!("certificate {tp}"),
                None => "NO certificate in these files".into(),
            },
        );
        line(&mut out, "Can sign", &k.signature_schemes.join(", "));
        out.push('\n');
    }
    if let (Some(v), Some(ctx)) = (&r.verify, &r.verify_context) {
        let role = match ctx.role {
            crate::verify::Role::Client => "client",
            crate::verify::Role::Server => "server",
        };
        let host = ctx.host.as_ref().map(|h| format!(", host {h}")).unwrap_or_default();
        out.push_str(&format!("Chain verdict  (as a {role} certificate{host}; trust: {})\n", clean(&ctx.trust)));
        verdict_text(&mut out, v);
    }
    if let Some(cv) = &r.client_verify {
        out.push_str(&format!("\nVerify() against uploaded CA certificates ({})\n", clean(&cv.uploaded.join(", "))));
        verdict_text(&mut out, &cv.verdict);
    }
    if let Some(p) = &r.policy {
        out.push('\n');
        policy_text(&mut out, p);
    }
    out.push('\n');
    findings_text(&mut out, &r.findings);
    out
}

/// The policy's verdict in two or three lines.
pub fn policy_text(out: &mut String, p: &PolicyEvaluation) {
    let o = &p.outcome;
    let verdict = if !o.determined {
        "cannot be determined (see policy-unevaluable)".to_string()
    } else if o.status < 400 {
        format!("{} (passes the inbound policy)", o.status)
    } else {
        format!("{} (the request is refused here)", o.status)
    };
    out.push_str(&format!("Policy  {}\n", clean(&p.source)));
    line(out, "Answers", &verdict);
    if let Some(d) = &o.decided_by {
        line(out, "Decided by", d);
    }
}

/// Findings, most likely first, each with its stable id.
pub fn findings_text(out: &mut String, findings: &[Finding]) {
    if findings.is_empty() {
        out.push_str("Findings: none\n");
        return;
    }
    out.push_str(&format!("Findings ({})\n", findings.len()));
    for (i, f) in findings.iter().enumerate() {
        out.push_str(&format!(
            "\n{}. [{}] {}  ({})\n",
            i + 1,
            f.severity.as_str().to_uppercase(),
            clean(&f.title),
            f.id
        ));
        if let Some(s) = &f.subject {
            out.push_str(&format!("   on: {}\n", clean(s)));
        }
        out.push_str(&format!("   Cause: {}\n", clean(&f.cause)));
        for e in &f.evidence {
            out.push_str(&format!("   - {}\n", clean(e)));
        }
        if !f.fix.is_empty() {
            out.push_str("   Fix:\n");
            for (n, step) in f.fix.iter().enumerate() {
                out.push_str(&format!("   {}. {}\n", n + 1, clean(step)));
            }
        }
        if let Some(snippet) = &f.snippet {
            out.push_str("   Policy snippet:\n");
            for l in snippet.lines() {
                out.push_str(&format!("     {}\n", clean(l)));
            }
        }
        if !f.related.is_empty() {
            out.push_str(&format!("   See also: {}\n", crate::diagnose::join_ids(&f.related)));
        }
        out.push_str(&format!("   Guide: {}\n", clean(&f.guide)));
    }
}

/// A whole session (several targets) as text.
pub fn session_text(session: &Session) -> String {
    let mut out = String::new();
    let several = session.targets.len() > 1;
    for t in &session.targets {
        if several {
            out.push_str(&format!("== {} ==\n", clean(&t.name)));
        }
        if let Some(e) = &t.error {
            out.push_str(&format!("{}: {}\n\n", clean(&t.name), clean(e)));
            continue;
        }
        if t.kind == TargetKind::Inspect {
            let origins = t.inspect.as_ref().map(|c| c.origins.clone()).unwrap_or_default();
            out.push_str(&inspect_text(&InspectReport::from_target(t), &origins));
            out.push('\n');
            continue;
        }
        if let Some(p) = &t.probe {
            out.push_str(&probe_text(p));
        }
        if let Some(cv) = &t.client_verify {
            out.push_str(&format!("  Verify()    against {}: ", clean(&cv.uploaded.join(", "))));
            out.push_str(&if cv.verdict.ok {
                "true\n".to_string()
            } else {
                format!("false (error {} {})\n", cv.verdict.code, clean(&cv.verdict.code_name))
            });
        }
        if let Some(p) = &t.policy {
            policy_text(&mut out, p);
        }
        out.push('\n');
        findings_text(&mut out, &t.findings);
        out.push('\n');
    }
    out
}

/// The report of a session in the format asked for: JSON is the inspect report for a session of one
/// inspect target and the probe report otherwise.
pub fn render_session(session: &Session, format: Format) -> String {
    match format {
        Format::Json => match session.targets.as_slice() {
            [t] if t.kind == TargetKind::Inspect => to_json(&InspectReport::from_target(t)) + "\n",
            _ => to_json(&ProbeReport::from_session(session)) + "\n",
        },
        Format::Text => session_text(session),
        Format::Markdown => session_markdown(session),
    }
}

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
        let chain = p.server_verify.as_ref().map(crate::session::verdict_summary).unwrap_or_else(|| "-".into());
        return (handshake, http, md_text(&chain));
    }
    if let Some(i) = &t.inspected {
        let chain = i.verdict.as_ref().map(crate::session::verdict_summary).unwrap_or_else(|| "-".into());
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
        let kind = match t.kind {
            TargetKind::Probe => "probe",
            TargetKind::Inspect => "inspect",
        };
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
        let role = match i.role {
            crate::verify::Role::Client => "client",
            crate::verify::Role::Server => "server",
        };
        out.push_str(&format!("- Inspected: {} as a {role} certificate\n", md_code(&i.origin)));
        if let Some(v) = &i.verdict {
            out.push_str(&format!("- Chain verdict: {}\n", md_text(&crate::session::verdict_summary(v))));
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
            if cv.verdict.ok {
                "true".to_string()
            } else {
                format!("false ({})", md_text(&crate::session::verdict_summary(&cv.verdict)))
            }
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
    let role = match r.role {
        crate::probe::ProbeRole::Inbound => "inbound",
        crate::probe::ProbeRole::Outbound => "outbound",
    };
    let via = r.target.connect_to.as_ref().map(|c| format!(" via {}", md_code(c))).unwrap_or_default();
    out.push_str(&format!(
        "- Probe: {} ({role}, SNI {}){via}, started {}\n",
        md_code(&format!("{}:{}", r.target.host, r.target.port)),
        md_code(&r.target.sni),
        md_text(&r.started_at)
    ));
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
        out.push_str(&format!("- TCP: FAILED: {}\n", md_text(e)));
    }
    if let Some(v) = &r.tls.version {
        out.push_str(&format!(
            "- TLS: {} {} {} ALPN {}\n",
            md_text(v),
            md_text(r.tls.cipher_suite.as_deref().unwrap_or("")),
            md_text(r.tls.key_exchange.as_deref().unwrap_or("")),
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
                out.push_str(&format!("- Client certificate sent: none ({reason:?})\n"))
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
    if let Some(w) = &r.compare_without_cert {
        let http = w.http.as_ref().map(|h| format!(", HTTP {}", h.status)).unwrap_or_default();
        out.push_str(&format!(
            "- Same probe without the client certificate: handshake {}{http}\n",
            md_text(&crate::session::handshake_summary(w))
        ));
    }
}

/// How a target differs between two sessions; None when it does not.
fn status_text(status: TargetStatus) -> Option<&'static str> {
    match status {
        TargetStatus::Unchanged => None,
        TargetStatus::Changed => Some("changed"),
        TargetStatus::Added => Some("only in the second session"),
        TargetStatus::Removed => Some("only in the first session"),
    }
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

/// The report of a diff in the format asked for.
pub fn render_diff(d: &SessionDiff, format: Format) -> String {
    match format {
        Format::Json => to_json(d) + "\n",
        Format::Text => diff_text(d),
        Format::Markdown => diff_markdown(d),
    }
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

fn ms(v: Option<f64>) -> String {
    v.map(|m| format!("{m:.1} ms")).unwrap_or_default()
}

pub fn probe_text(r: &ProbeResult) -> String {
    let mut out = String::new();
    probe_text_into(&mut out, r, "");
    out
}

fn probe_text_into(out: &mut String, r: &ProbeResult, indent: &str) {
    let role = match r.role {
        crate::probe::ProbeRole::Inbound => "inbound",
        crate::probe::ProbeRole::Outbound => "outbound",
    };
    let via = r.target.connect_to.as_ref().map(|c| format!(" via {c}")).unwrap_or_default();
    out.push_str(&format!(
        "{indent}Probe {}:{} ({role}, SNI {}){via}\n",
        clean(&r.target.host),
        r.target.port,
        clean(&r.target.sni)
    ));
    let l = |out: &mut String, label: &str, value: String| {
        out.push_str(&format!("{indent}  {label:<11} {}\n", clean(&value)));
    };
    // DNS
    let dns = if r.dns.literal {
        format!("{} (address literal)", r.dns.addresses.join(", "))
    } else if let Some(e) = &r.dns.error {
        format!("FAILED {e}")
    } else {
        let hosts = if r.dns.from_hosts_file { " (from /etc/hosts)" } else { "" };
        format!("{}{hosts}  {}", r.dns.addresses.join(", "), ms(r.timings_ms.dns))
    };
    l(out, "DNS", dns);
    if !r.dns.cnames.is_empty() {
        l(out, "CNAME", format!("{} -> {}", r.dns.query, r.dns.cnames.join(" -> ")));
    }
    if r.dns.addresses.is_empty() {
        return;
    }
    // TCP
    if r.tcp.connected {
        l(out, "TCP", format!("connected {}  {}", r.tcp.address.clone().unwrap_or_default(), ms(r.timings_ms.tcp)));
    } else {
        for a in &r.tcp.attempts {
            l(out, "TCP", format!("{} {:?}: {}", a.address, a.outcome, a.error.clone().unwrap_or_default()));
        }
        return;
    }
    // TLS
    if r.handshake.ok || r.handshake.rejected_after_handshake {
        l(
            out,
            "TLS",
            format!(
                "{} {} {} ALPN {}  {}",
                r.tls.version.clone().unwrap_or_default(),
                r.tls.cipher_suite.clone().unwrap_or_default(),
                r.tls.key_exchange.clone().unwrap_or_default(),
                r.tls.alpn.clone().unwrap_or_else(|| "-".into()),
                ms(r.timings_ms.tls)
            ),
        );
    }
    if let Some(leaf) = r.server_chain.first() {
        l(out, "Server", format!("{} ({} certificate(s) sent)", leaf.subject, r.server_chain.len()));
        l(out, "  issuer", leaf.issuer.clone());
        l(out, "  expires", format!("{} ({} days)", leaf.not_after, leaf.days_left));
    }
    if let Some(v) = &r.server_verify {
        let text = if v.ok { "0 ok".to_string() } else { format!("error {} ({})", v.code, v.code_name) };
        l(out, "  verify", text);
    }
    if r.client_cert_requested {
        l(out, "Cert req", format!("yes, {} acceptable CA name(s)", r.acceptable_ca_names.len()));
        for n in &r.acceptable_ca_names {
            l(out, "", format!("- {n}"));
        }
    } else if !r.server_chain.is_empty() {
        l(out, "Cert req", "no: the server did not ask for a client certificate".into());
    }
    if r.client_cert_sent {
        if let Some(c) = r.client_chain.first() {
            l(out, "Client", format!("sent {} ({})", c.subject, c.thumbprint_sha1));
        }
    } else if let Some(reason) = r.client_cert_not_sent_reason {
        if r.client_cert_requested || !r.client_chain.is_empty() {
            l(out, "Client", format!("none sent: {reason:?}"));
        }
    }
    if r.handshake.ok {
        l(out, "Handshake", "ok".into());
    } else {
        let what = r.handshake.failure.as_ref().map(ToString::to_string).unwrap_or_default();
        let when = if r.handshake.rejected_after_handshake {
            " (after the handshake: TLS 1.3 rejection on first read)"
        } else {
            ""
        };
        l(out, "Handshake", format!("FAILED: {what}{when}"));
    }
    if let Some(h) = &r.http {
        l(out, "HTTP", format!("{} {}  ttfb {:.1} ms", h.version, h.status, h.ttfb_ms));
        let first = h.body_preview.lines().next().unwrap_or("");
        if !first.is_empty() {
            let short: String = first.chars().take(64).collect();
            l(out, "  body", short);
        }
    } else if let Some(e) = &r.http_error {
        l(out, "HTTP", format!("FAILED: {e}"));
    }
    if let Some(w) = &r.compare_without_cert {
        out.push_str(&format!("{indent}  Same probe without the client certificate:\n"));
        let mut sub = String::new();
        let handshake = if w.handshake.ok {
            "ok".to_string()
        } else {
            format!("FAILED: {}", w.handshake.failure.as_ref().map(ToString::to_string).unwrap_or_default())
        };
        sub.push_str(&format!("{indent}    Handshake   {handshake}\n"));
        if let Some(h) = &w.http {
            sub.push_str(&format!("{indent}    HTTP        {} {}\n", h.version, h.status));
        }
        out.push_str(&sub);
    }
}

pub fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize report: {e}\"}}"))
}

/// One `listen` connection as a line of text.
pub fn listen_line(r: &crate::listen::ConnectionRecord) -> String {
    let who = r.client_certificate.as_ref().map(|c| format!("{} ({})", clean(&c.subject), c.thumbprint_sha1));
    let verdict = match &r.verdict {
        Some(v) if v.ok => "trusted".to_string(),
        Some(v) => format!("not trusted: {}", clean(&v.error.clone().unwrap_or_default())),
        None => String::new(),
    };
    let req = r.requests.first().map(|q| format!(" {} {}", clean(&q.method), clean(&q.path))).unwrap_or_default();
    match &r.handshake_error {
        Some(e) => format!("{} {} handshake failed: {}", r.at, clean(&r.peer), clean(e)),
        None => format!(
            "{} {} SNI {} {} cert {}{}{}",
            r.at,
            clean(&r.peer),
            clean(r.sni.as_deref().unwrap_or("-")),
            r.tls_version.clone().unwrap_or_default(),
            who.unwrap_or_else(|| "none".into()),
            if verdict.is_empty() { String::new() } else { format!(" [{verdict}]") },
            req
        ),
    }
}
