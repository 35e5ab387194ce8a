//! Views that are not the TUI: the versioned JSON report and the plain-text summary, both drawn
//! only from results already observed (never from the network).

use serde::Serialize;

use crate::cert::CertInfo;
use crate::diagnose::{ClientVerify, Finding, PolicyEvaluation};
use crate::probe::{ProbeResult, TlsFailure};
use crate::session::Session;
use crate::verify::Verdict;

/// Version of the JSON report contract. Bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Output formats for headless runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Text,
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
            out.push_str(&format!("   See also: {}\n", f.related.join(", ")));
        }
        out.push_str(&format!("   Guide: {}\n", clean(&f.guide)));
    }
}

/// A whole session (several targets) as text.
pub fn session_text(session: &Session) -> String {
    let mut out = String::new();
    for t in &session.targets {
        if let Some(e) = &t.error {
            out.push_str(&format!("{}: {}\n\n", clean(&t.name), clean(e)));
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

fn failure_text(f: &TlsFailure) -> String {
    match f {
        TlsFailure::AlertReceived { alert } => format!("alert {alert}"),
        TlsFailure::PeerIncompatible { detail } => format!("incompatible peer ({detail})"),
        TlsFailure::PeerMisbehaved { detail } => format!("peer misbehaved ({detail})"),
        TlsFailure::InappropriateMessage { detail } => format!("unexpected message ({detail})"),
        TlsFailure::InvalidMessage { detail } => format!("not TLS or corrupt ({detail})"),
        TlsFailure::ConnectionClosed => "closed by the server without an alert".into(),
        TlsFailure::ConnectionReset => "connection reset".into(),
        TlsFailure::Timeout => "timed out".into(),
        TlsFailure::Other { detail } => detail.clone(),
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
        let what = r.handshake.failure.as_ref().map(failure_text).unwrap_or_default();
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
            format!("FAILED: {}", w.handshake.failure.as_ref().map(failure_text).unwrap_or_default())
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
