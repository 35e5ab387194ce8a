//! The plain-text summary: one block per target, readable at 80 columns.

use super::json::InspectReport;
use crate::cert::CertInfo;
use crate::diagnose::{ClientVerify, Finding, PolicyEvaluation};
use crate::probe::ProbeResult;
use crate::session::{Session, TargetKind, TargetRun};
use crate::text::{self, clean};
use crate::verify::Verdict;

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
    line(out, "Key", &format!("{}; signed with {}", text::key_text(c), c.signature_algorithm));
    if !c.key_usage.is_empty() {
        line(out, "Key usage", &c.key_usage.join(", "));
    }
    line(out, "EKU", &text::eku_text(c));
    line(out, "Type", &text::cert_type(c));
    if let Some(ski) = &c.ski {
        line(out, "SKI", ski);
    }
    if let Some(aki) = &c.aki {
        line(out, "AKI", aki);
    }
}

pub fn verdict_text(out: &mut String, v: &Verdict) {
    line(out, "Verify", &text::verdict_with_depth(v));
    if let Some(reason) = &v.reason {
        line(out, "webpki", &text::webpki_reason(reason));
    }
    for p in &v.chain_problems {
        line(out, "Chain", &p.to_string());
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
        let schemes: Vec<String> = k.signature_schemes.iter().map(|s| text::signature_scheme_name(s)).collect();
        line(&mut out, "Can sign", &schemes.join(", "));
        out.push('\n');
    }
    if let (Some(v), Some(ctx)) = (&r.verify, &r.verify_context) {
        let role = ctx.role;
        let host = ctx.host.as_ref().map(|h| format!(", host {h}")).unwrap_or_default();
        out.push_str(&format!("Chain verdict  (as a {role} certificate{host}; trust: {})\n", clean(&ctx.trust)));
        verdict_text(&mut out, v);
    }
    if let Some(cv) = &r.client_verify {
        out.push_str(&format!("\nVerify() against uploaded CA certificates ({})\n", clean(&cv.uploaded.join(", "))));
        verdict_text(&mut out, &cv.verdict);
        revocation_text(&mut out, cv);
    }
    if let Some(f) = &r.forwarded {
        forwarded_text(&mut out, f);
        wrapped_line(
            &mut out,
            "Evaluated",
            "as behind the front end: no certificate in the gateway's handshake (context.Request.Certificate is null), this header and no other",
        );
    }
    if let Some(p) = &r.policy {
        out.push('\n');
        policy_text(&mut out, p);
    }
    out.push('\n');
    findings_text(&mut out, &r.findings);
    out
}

/// `--forward-cert`: the header sent, then `Verify()` of the forwarded certificate on its own.
fn forwarded_text(out: &mut String, f: &crate::session::ForwardedCert) {
    out.push_str(&format!(
        "\nForwarded in {} ({}): {} {}\n",
        clean(&f.header),
        f.format,
        clean(&f.thumbprint),
        clean(&f.subject)
    ));
    match &f.verify {
        Some(cv) => {
            out.push_str(&format!("Verify() of it against {}\n", clean(&cv.uploaded.join(", "))));
            verdict_text(out, &cv.verdict);
            revocation_text(out, cv);
        }
        None => wrapped_line(out, "Verify()", "not known: no CA certificates (--client-ca) to judge it by"),
    }
}

/// The revocation part of `Verify()`: each certificate's sources and answers, then the outcome,
/// wrapped so the text report stays readable at 80 columns.
fn revocation_text(out: &mut String, cv: &ClientVerify) {
    for f in cv.issuer_fetch.iter().flat_map(|r| r.fetches.iter()) {
        wrapped_line(out, &format!("Issuer {}", f.depth), &f.line());
    }
    if let Some(why) = cv.issuer_pending() {
        wrapped_line(out, "Verify()", &format!("not known here: {why}"));
    }
    let Some(report) = &cv.revocation else { return };
    for c in &report.certificates {
        for l in c.lines() {
            wrapped_line(out, &format!("Revocation {}", c.depth), &l);
        }
    }
    if let Some(a) = &cv.revocation_answer {
        let verify = match a.passes() {
            Some(true) => "true".to_string(),
            Some(false) => format!("false: {a}"),
            None => format!("not known here: {a}"),
        };
        wrapped_line(out, "Verify()", &verify);
    }
}

/// [`line`], continued on further lines (indented under the value) at word boundaries.
fn wrapped_line(out: &mut String, label: &str, value: &str) {
    const WIDTH: usize = 64;
    let mut rows: Vec<String> = vec![String::new()];
    for word in clean(value).split(' ') {
        let last = rows.last_mut().map(|r| r.chars().count()).unwrap_or(0);
        if last > 0 && last + 1 + word.chars().count() > WIDTH {
            rows.push(String::new());
        }
        if let Some(row) = rows.last_mut() {
            if !row.is_empty() {
                row.push(' ');
            }
            row.push_str(word);
        }
    }
    for (i, row) in rows.iter().enumerate() {
        let label = if i == 0 { label } else { "" };
        out.push_str(&format!("  {label:<12} {row}\n"));
    }
}

/// The policy's verdict in two or three lines.
pub fn policy_text(out: &mut String, p: &PolicyEvaluation) {
    let o = &p.outcome;
    let verdict = if !o.checks.compile_errors.is_empty() {
        "none: APIM will not save this policy (see policy-not-saveable)".to_string()
    } else if !o.determined {
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
    if let Some(e) = &o.last_error {
        let reason = match (&e.reason, &e.reason_unknown) {
            (Some(r), _) => r.clone(),
            (None, Some(why)) => format!("unknown: {why}"),
            (None, None) => "unknown".into(),
        };
        wrapped_line(out, "LastError", &format!("Source {}, Reason {reason}", e.source));
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
    session_text_with(session, false)
}

/// A whole session as text; `verbose` adds the request sent, the response head and the kept body.
pub fn session_text_with(session: &Session, verbose: bool) -> String {
    let several = session.targets.len() > 1;
    session.targets.iter().map(|t| target_text(t, several, verbose)).collect()
}

/// One target's block of the text report (`several`: headed by its name, as in a sweep). A
/// streamed sweep writes these one by one; together they are [`session_text_with`].
pub fn target_text(t: &TargetRun, several: bool, verbose: bool) -> String {
    let mut out = String::new();
    if several {
        out.push_str(&format!("== {} ==\n", clean(&t.name)));
    }
    if let Some(e) = &t.error {
        out.push_str(&format!("{}: {}\n\n", clean(&t.name), clean(e)));
        return out;
    }
    if t.kind == TargetKind::Inspect {
        let origins = t.inspect.as_ref().map(|c| c.origins.clone()).unwrap_or_default();
        out.push_str(&inspect_text(&InspectReport::from_target(t), &origins));
        out.push('\n');
        return out;
    }
    if let Some(p) = &t.probe {
        probe_text_into(&mut out, p, "", verbose);
    }
    if let Some(cv) = &t.client_verify {
        // Verify() is the chain plus .NET's online revocation check; VerifyNoRevocation() the chain.
        out.push_str(&format!("  Verify()    against {}: ", clean(&cv.uploaded.join(", "))));
        out.push_str(&if let Some(why) = cv.issuer_pending() {
            format!("not known here ({})\n", clean(&why))
        } else if !cv.verdict.ok {
            format!("false ({})\n", clean(&text::verdict_summary(&cv.verdict)))
        } else {
            match (cv.verify_ok(), &cv.revocation_answer) {
                (Some(true), _) => "true\n".to_string(),
                (Some(false), Some(a)) => format!("false ({})\n", clean(&a.to_string())),
                (None, Some(a)) => format!("not known here ({})\n", clean(&a.to_string())),
                (_, None) => "not known here (revocation not checked)\n".to_string(),
            }
        });
        if cv.verdict.ok && cv.issuer_pending().is_none() && cv.verify_ok() != Some(true) {
            out.push_str("  VerifyNoRevocation(): true (the chain alone)\n");
        }
        for f in cv.issuer_fetch.iter().flat_map(|r| r.fetches.iter()) {
            out.push_str(&format!("  Issuer {}    {}\n", f.depth, clean(&f.line())));
        }
    }
    if let Some(f) = &t.forwarded {
        forwarded_text(&mut out, f);
    }
    if let Some(p) = &t.policy {
        policy_text(&mut out, p);
    }
    out.push('\n');
    findings_text(&mut out, &t.findings);
    out.push('\n');
    out
}

fn ms(v: Option<f64>) -> String {
    v.map(|m| format!("{m:.1} ms")).unwrap_or_default()
}

pub fn probe_text(r: &ProbeResult) -> String {
    let mut out = String::new();
    probe_text_into(&mut out, r, "", false);
    out
}

fn probe_text_into(out: &mut String, r: &ProbeResult, indent: &str, verbose: bool) {
    let role = r.role;
    let via = r.target.connect_to.as_ref().map(|c| format!(" via {c}")).unwrap_or_default();
    out.push_str(&format!(
        "{indent}Probe {}:{} ({role}, SNI {}){via}\n",
        clean(&r.target.host),
        r.target.port,
        clean(&r.target.sni)
    ));
    if let Some(p) = &r.proxy {
        out.push_str(&format!("{indent}  through {}\n", clean(&crate::text::proxy_use(p))));
    }
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
            l(out, "TCP", text::tcp_attempt(a));
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
                r.tls.key_exchange.as_deref().map(text::named_group_name).unwrap_or_default(),
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
        l(out, "  verify", text::verdict_summary(v));
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
            l(out, "Client", format!("none sent: {reason}"));
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
        if verbose {
            http_exchange_text(out, h, indent);
        } else if !first.is_empty() {
            let short: String = first.chars().take(64).collect();
            l(out, "  body", short);
        }
    } else if let Some(e) = &r.http_error {
        l(out, "HTTP", format!("FAILED: {e}"));
    }
    for (label, value) in text::after_handshake_lines(r) {
        l(out, label, value);
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

/// `-v`: the request as sent (`>`), the response head (`<`) and every kept line of the body, the way
/// `curl -v` shows an exchange. Secret header values were redacted when they were recorded.
fn http_exchange_text(out: &mut String, h: &crate::probe::HttpResult, indent: &str) {
    match &h.request {
        Some(q) => {
            out.push_str(&format!("{indent}  > {} {} {}\n", clean(&q.method), clean(&q.target), h.version));
            for (name, value) in &q.headers {
                out.push_str(&format!("{indent}  > {}: {}\n", clean(name), clean(value)));
            }
            if let Some(b) = &q.body {
                out.push_str(&format!(
                    "{indent}  > (a body of {} bytes, SHA-256 {}: not shown)\n",
                    b.len(),
                    clean(b.sha256())
                ));
            }
        }
        None => out.push_str(&format!("{indent}  > (the request sent was not recorded in this session)\n")),
    }
    out.push_str(&format!("{indent}  < {} {}\n", h.version, h.status));
    for (name, value) in &h.headers {
        out.push_str(&format!("{indent}  < {}: {}\n", clean(name), clean(value)));
    }
    let kept = h.body_preview.len();
    if kept == 0 {
        out.push_str(&format!("{indent}  Body: empty\n"));
        return;
    }
    let cut = if h.body_truncated {
        format!(", cut at the {} bytes a probe keeps", crate::probe::http::BODY_PREVIEW_LIMIT)
    } else {
        String::new()
    };
    out.push_str(&format!("{indent}  Body ({kept} bytes{cut}):\n"));
    for body_line in h.body_preview.lines() {
        out.push_str(&format!("{indent}    {}\n", clean(body_line)));
    }
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
