//! The handshake timeline: a probe result laid out as the steps an engineer reads in a packet
//! capture, each with its outcome and time, so the failing step stands out.
//!
//! Everything here is a reading of `ProbeResult` fields; no fact is inferred that the probe did
//! not record. The styled lines of the Handshake pane are built here too, because `layout`
//! measures them to size the pane and `view` draws them.

use ratatui::text::{Line, Span};

use super::theme::{Role, Theme};
use super::wrap::{keep_together, Para};
use crate::probe::{Phase, ProbeResult, ProbeRole};
use crate::session::{TargetKind, TargetRun};
use crate::text::clean;

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    Ok,
    /// Completed, but with something worth a look (untrusted chain, certificate not sent …).
    Warn,
    Fail,
    /// Nothing to do at this step (no CertificateRequest: no client certificate step).
    Skipped,
    /// An earlier step failed.
    NotReached,
}

impl StepStatus {
    /// A symbol and a word, so the state never depends on colour alone.
    pub fn badge(self) -> &'static str {
        match self {
            StepStatus::Ok => "✔ ok  ",
            StepStatus::Warn => "⚠ warn",
            StepStatus::Fail => "✖ FAIL",
            StepStatus::Skipped => "– skip",
            StepStatus::NotReached => "· —   ",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: &'static str,
    pub status: StepStatus,
    /// One line, already cleaned of control characters.
    pub detail: String,
    /// Extra lines (CNAME hops, acceptable CA names), cleaned.
    pub sub: Vec<String>,
    pub ms: Option<f64>,
}

impl Step {
    fn new(name: &'static str, status: StepStatus, detail: impl AsRef<str>) -> Self {
        Step { name, status, detail: clean(detail.as_ref()), sub: vec![], ms: None }
    }

    fn ms(mut self, ms: Option<f64>) -> Self {
        self.ms = ms;
        self
    }
}

/// The steps of one probe, in wire order. `no_http` says whether HTTP was deliberately skipped.
pub fn steps(p: &ProbeResult, no_http: bool) -> Vec<Step> {
    use StepStatus::*;
    let mut out = Vec::with_capacity(12);

    // DNS (with the CNAME chain: it shows whether a custom domain points at the gateway).
    let dns_failed = p.failed_phase == Some(Phase::Dns) || p.dns.addresses.is_empty();
    let mut dns = if dns_failed {
        Step::new("DNS", Fail, format!("{}: {}", p.dns.query, p.dns.error.as_deref().unwrap_or("no address")))
    } else if p.dns.literal {
        Step::new("DNS", Ok, format!("{} (address literal)", p.dns.addresses.join(", ")))
    } else {
        let hosts = if p.dns.from_hosts_file { " (from /etc/hosts)" } else { "" };
        Step::new("DNS", Ok, format!("{} → {}{hosts}", p.dns.query, p.dns.addresses.join(", ")))
    }
    .ms(p.timings_ms.dns);
    if !p.dns.cnames.is_empty() {
        let mut chain = vec![p.dns.query.clone()];
        chain.extend(p.dns.cnames.iter().cloned());
        dns.sub.push(clean(&format!("CNAME {}", chain.join(" → "))));
    }
    out.push(dns);

    // TCP
    let tcp = if dns_failed {
        Step::new("TCP", NotReached, "")
    } else if p.tcp.connected {
        Step::new("TCP", Ok, format!("connected to {}", p.tcp.address.as_deref().unwrap_or("?"))).ms(p.timings_ms.tcp)
    } else {
        let mut s =
            Step::new("TCP", Fail, p.tcp.error.as_deref().unwrap_or("no address answered")).ms(p.timings_ms.tcp);
        s.sub = p
            .tcp
            .attempts
            .iter()
            .map(|a| clean(&format!("{} ({:.1} ms)", crate::text::tcp_attempt(a), a.ms)))
            .collect();
        s
    };
    out.push(tcp);
    let connected = p.tcp.connected;

    // ClientHello
    out.push(if connected {
        Step::new("ClientHello", Ok, format!("SNI {}", p.target.sni))
    } else {
        Step::new("ClientHello", NotReached, "")
    });

    // ServerHello: evidence of it is a negotiated version, a certificate, or a CertificateRequest.
    let handshake_failed = !p.handshake.ok && !p.handshake.rejected_after_handshake;
    let failure = p.handshake.failure.as_ref().map(ToString::to_string).unwrap_or_else(|| "failed".into());
    let got_server_hello = p.tls.version.is_some() || !p.server_chain.is_empty() || p.client_cert_requested;
    out.push(if !connected {
        Step::new("ServerHello", NotReached, "")
    } else if got_server_hello {
        let detail = match &p.tls.version {
            Some(v) => {
                let mut d = v.clone();
                for part in [&p.tls.cipher_suite, &p.tls.key_exchange].into_iter().flatten() {
                    d.push(' ');
                    d.push_str(part);
                }
                if let Some(alpn) = &p.tls.alpn {
                    d.push_str(&format!(" ALPN {alpn}"));
                }
                d
            }
            None => "received (version not recorded: the handshake did not complete)".into(),
        };
        Step::new("ServerHello", Ok, detail)
    } else if handshake_failed {
        Step::new("ServerHello", Fail, failure.clone()).ms(p.timings_ms.tls)
    } else {
        Step::new("ServerHello", NotReached, "")
    });
    let past_hello = connected && got_server_hello;

    // Server certificates and our verdict on them.
    out.push(if !past_hello {
        Step::new("Server cert", NotReached, "")
    } else if let Some(leaf) = p.server_chain.first() {
        let n = p.server_chain.len();
        let (status, verdict) = match &p.server_verify {
            Some(v) if v.ok => (Ok, "verify ok".to_string()),
            Some(v) => (Warn, format!("verify {}", crate::text::verdict_summary(v))),
            None => (Ok, "not verified".to_string()),
        };
        Step::new("Server cert", status, format!("{} cert(s), leaf {}; {verdict}", n, leaf.subject))
    } else {
        Step::new("Server cert", if handshake_failed { NotReached } else { Warn }, "none recorded")
    });

    // CertificateRequest with the acceptable CA names: what the client may choose from.
    let cert_req = if !past_hello {
        Step::new("CertRequest", NotReached, "")
    } else if p.client_cert_requested {
        let n = p.acceptable_ca_names.len();
        let detail = if n == 0 {
            "requested; no CA names listed (any certificate may be sent)".to_string()
        } else {
            format!("requested; {n} acceptable CA name(s)")
        };
        let mut s = Step::new("CertRequest", Ok, detail);
        s.sub = p.acceptable_ca_names.iter().map(|n| clean(&format!("• {n}"))).collect();
        s
    } else if p.role == ProbeRole::Inbound && !p.client_chain.is_empty() {
        // A certificate was ready but the gateway never asked: the policy will see null.
        Step::new("CertRequest", Warn, "not requested: the server never asked for a client certificate")
    } else {
        Step::new("CertRequest", Skipped, "not requested")
    };
    out.push(cert_req);

    // Client certificate sent (or why not).
    out.push(if !past_hello {
        Step::new("Client cert", NotReached, "")
    } else if p.client_cert_sent {
        match p.client_chain.first() {
            Some(c) => Step::new(
                "Client cert",
                Ok,
                format!("sent {} ({} cert(s)) {}", c.subject, p.client_chain.len(), c.thumbprint_sha1),
            ),
            None => Step::new("Client cert", Ok, "sent"),
        }
    } else if p.client_cert_requested {
        let why = p.client_cert_not_sent_reason.map(|r| r.to_string()).unwrap_or_else(|| "unknown reason".into());
        Step::new("Client cert", Warn, format!("none sent: {why}"))
    } else {
        Step::new("Client cert", Skipped, "not asked for")
    });

    // Finished, or the rejection (TLS 1.3 rejections arrive on the first read after it).
    out.push(if !past_hello {
        Step::new("Finished", NotReached, "")
    } else if p.handshake.ok {
        Step::new("Finished", Ok, "handshake complete").ms(p.timings_ms.tls)
    } else if p.handshake.rejected_after_handshake {
        Step::new("Finished", Fail, format!("{failure} after the handshake (TLS 1.3: on the first read)"))
            .ms(p.timings_ms.tls)
    } else {
        Step::new("Finished", Fail, failure.clone()).ms(p.timings_ms.tls)
    });

    // HTTP
    let http = if let Some(h) = &p.http {
        let status = if h.status >= 400 { Fail } else { Ok };
        let mut s = Step::new("HTTP", status, format!("{} {}", h.version, h.status)).ms(p.timings_ms.http);
        // The body on one line: a JSON error's reason usually sits a few lines in.
        let flat = h.body_preview.split_whitespace().collect::<Vec<_>>().join(" ");
        if !flat.is_empty() {
            let short: String = flat.chars().take(96).collect();
            let more = if flat.chars().count() > 96 || h.body_truncated { "…" } else { "" };
            s.sub.push(clean(&format!("body: {short}{more}")));
        }
        s
    } else if let Some(e) = &p.http_error {
        Step::new("HTTP", Fail, e).ms(p.timings_ms.http)
    } else if p.handshake.ok && no_http {
        Step::new("HTTP", Skipped, "not requested (no HTTP)")
    } else {
        Step::new("HTTP", NotReached, "")
    };
    out.push(http);
    out.extend(after_handshake_steps(p));
    out
}

/// What happened after the handshake (a plain-HTTP reply, how HTTP ended without a response, a
/// stalled or cut body, the late certificate request, each late-authentication re-run, the HTTP/1.1
/// retry), one step per line in the words the text and Markdown reports use (`text::after_handshake_lines`).
/// None of them is the failing step: the step above that failed already is.
fn after_handshake_steps(p: &ProbeResult) -> Vec<Step> {
    // The lines list this probe's re-runs, then its HTTP/1.1 retry's, in that order.
    let retry_runs = p.http1_retry.iter().flat_map(|r| r.late_auth.iter());
    let mut ok_reruns =
        p.late_auth.iter().chain(retry_runs).map(|r| r.http_status.is_some_and(|s| (200..400).contains(&s)));
    crate::text::after_handshake_lines(p)
        .into_iter()
        .map(|(label, text)| {
            // A re-run that got a 2xx/3xx answer worked; everything else here is worth a look.
            let ok = label == "Re-run" && ok_reruns.next() == Some(true);
            Step::new(label, if ok { StepStatus::Ok } else { StepStatus::Warn }, text)
        })
        .collect()
}

/// Index of the step that failed first, if any.
pub fn failing_step(steps: &[Step]) -> Option<usize> {
    steps.iter().position(|s| s.status == StepStatus::Fail)
}

/// A duration as the panes show it.
pub fn ms_text(ms: Option<f64>) -> String {
    ms.map(|m| format!("{m:.1} ms")).unwrap_or_default()
}

/// Why a target shows no results: an input problem, or not run yet.
pub fn not_run_lines(t: &TargetRun, read_only: bool, theme: &Theme) -> Vec<Para> {
    let mut lines = vec![];
    if let Some(e) = &t.error {
        lines.push((Line::styled(format!("✖ Input problem: {}", clean(e)), theme.style(Role::Error)), 2));
    }
    if t.probe.is_none() && t.inspected.is_none() {
        let msg = if read_only { "Not run (read-only session)." } else { "Not run yet: press r to probe." };
        lines.push((Line::styled(msg, theme.style(Role::Muted)), 0));
    }
    lines
}

/// The Handshake pane's lines for target `t`, before wrapping.
pub fn paras(t: &TargetRun, running: bool, read_only: bool, theme: &Theme) -> Vec<Para> {
    let mut paras = not_run_lines(t, read_only, theme);
    if running {
        paras.insert(0, (Line::styled("◐ probing … (c cancels)", theme.style(Role::Running)), 0));
    }
    match &t.probe {
        Some(p) => {
            let no_http = t.options.as_ref().is_some_and(|o| o.no_http);
            paras.extend(steps_lines(p, no_http, theme));
        }
        None if t.kind == TargetKind::Inspect => paras.push((
            Line::styled(
                format!("Inspected files, no handshake: {}", clean(&t.files.join(", "))),
                theme.style(Role::Muted),
            ),
            2,
        )),
        None => {}
    }
    paras
}

fn steps_lines(p: &ProbeResult, no_http: bool, theme: &Theme) -> Vec<Para> {
    const DETAIL_COLUMN: usize = 19;
    let s = |role| theme.style(role);
    let steps = steps(p, no_http);
    let failing = failing_step(&steps);
    let mut lines = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let style = match step.status {
            StepStatus::Ok => s(Role::Ok),
            StepStatus::Warn => s(Role::Warning),
            StepStatus::Fail => s(Role::Error),
            StepStatus::Skipped | StepStatus::NotReached => s(Role::Muted),
        };
        let text_style = if step.status == StepStatus::NotReached { s(Role::Muted) } else { s(Role::Text) };
        let mut spans = vec![
            Span::styled(step.status.badge(), style),
            Span::styled(format!(" {:<11} ", step.name), s(Role::Title)),
            Span::styled(step.detail.clone(), if Some(i) == failing { style } else { text_style }),
        ];
        if let Some(ms) = step.ms {
            spans.push(Span::styled(format!("  {}", ms_text(Some(ms))), s(Role::Muted)));
        }
        if Some(i) == failing {
            spans.push(Span::styled(format!("  {}", keep_together("◀ fails here")), s(Role::Error)));
        }
        lines.push((Line::from(spans), DETAIL_COLUMN));
        for sub in &step.sub {
            lines.push((Line::styled(format!("{:w$}{sub}", "", w = DETAIL_COLUMN), s(Role::Muted)), DETAIL_COLUMN + 2));
        }
    }
    lines
}
