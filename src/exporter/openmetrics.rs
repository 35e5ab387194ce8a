//! OpenMetrics text for one probed target (`/probe`) and for the exporter itself (`/metrics`).
//! Drawn from a finished `TargetRun` only: every value here is a fact the session also records.
//!
//! Labels are bounded by construction: `phase` is one of five words, a finding's `id` comes from the
//! catalog and `severity` is one of three; no host name, subject, header or error text becomes a label.
//! A fact that was never observed (no handshake, so no CertificateRequest either way) is left out
//! rather than reported as 0, so an alert on `== 0` does not fire on a target that is merely down.

use std::fmt::Write as _;

use crate::cert::CertInfo;
use crate::diagnose::{FindingId, Severity};
use crate::probe::ProbeResult;
use crate::session::TargetRun;

/// Which exposition format a scraper gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// OpenMetrics 1.0 text: what Prometheus asks for first, and the default.
    #[default]
    OpenMetrics,
    /// The Prometheus text format 0.0.4, for clients that ask for `text/plain` only (promtool,
    /// older scrapers): counters are named with `_total`, no `# UNIT`, no `# EOF`.
    PrometheusText,
}

impl Format {
    /// Choose from an `Accept` header: OpenMetrics unless only the older text format is asked for.
    pub fn negotiate(accept: Option<&str>) -> Self {
        match accept {
            Some(a) if !a.contains("application/openmetrics-text") && a.contains("text/plain") => {
                Format::PrometheusText
            }
            _ => Format::OpenMetrics,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => CONTENT_TYPE,
            Format::PrometheusText => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// The content type of OpenMetrics text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Builds one exposition: families in order, each with its metadata once, then `# EOF`.
#[derive(Default)]
pub struct Exposition {
    format: Format,
    text: String,
}

impl Exposition {
    pub fn new(format: Format) -> Self {
        Exposition { format, text: String::new() }
    }

    /// Start a metric family. `unit` must be the name's suffix (OpenMetrics requires it). A counter
    /// is named without `_total`; its samples carry it.
    pub fn family(&mut self, name: &str, kind: &str, unit: Option<&str>, help: &str) -> &mut Self {
        let open = self.format == Format::OpenMetrics;
        let name = if kind == "counter" && !open { format!("{name}_total") } else { name.to_string() };
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
        if let (Some(unit), true) = (unit, open) {
            let _ = writeln!(self.text, "# UNIT {name} {unit}");
        }
        let _ = writeln!(self.text, "# HELP {name} {}", escape_help(help));
        self
    }

    /// One sample of the current family.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) -> &mut Self {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{k}=\"{}\"", escape_label(v));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {}", number(value));
        self
    }

    /// A gauge family with a single unlabelled sample.
    pub fn gauge(&mut self, name: &str, unit: Option<&str>, help: &str, value: f64) -> &mut Self {
        self.family(name, "gauge", unit, help).sample(name, &[], value)
    }

    pub fn finish(mut self) -> String {
        if self.format == Format::OpenMetrics {
            self.text.push_str("# EOF\n");
        }
        self.text
    }
}

/// A number as OpenMetrics writes it (integers without a fraction; no exponent from Rust's `Display`).
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        // Nine decimals are nanoseconds: enough, and no binary noise like 0.00028100000000000005.
        let t = format!("{v:.9}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// Seconds since the Unix epoch of a certificate's notAfter, if it parses.
fn not_after_seconds(c: &CertInfo) -> Option<f64> {
    c.not_after_time().map(|t| t.unix_timestamp() as f64)
}

/// Whether a run counts as a success (the same judgement as `watch --until ok`).
pub fn probe_success(run: &TargetRun) -> bool {
    crate::engine::run_ok(run)
}

/// The `/probe` answer for one finished target. `elapsed` is the wall time of the whole run as
/// the exporter measured it (it includes the comparison without the certificate).
pub fn render_probe(run: &TargetRun, elapsed_seconds: f64, format: Format) -> String {
    let mut out = Exposition::new(format);
    out.gauge(
        "mtls_probe_success",
        None,
        "1 when the handshake completed, HTTP answered (unless no_http) and no finding is an error",
        flag(probe_success(run)),
    );
    if let Some(p) = run.probe.as_ref() {
        probe_facts(&mut out, p);
    }
    out.family("mtls_probe_duration_seconds", "gauge", Some("seconds"), "Time spent in each phase of the probe");
    let t = run.probe.as_ref().map(|p| p.timings_ms.clone()).unwrap_or_default();
    for (phase, ms) in [("dns", t.dns), ("tcp", t.tcp), ("tls", t.tls), ("http", t.http)] {
        if let Some(ms) = ms {
            out.sample("mtls_probe_duration_seconds", &[("phase", phase)], ms / 1000.0);
        }
    }
    out.sample("mtls_probe_duration_seconds", &[("phase", "total")], elapsed_seconds);
    findings(&mut out, run);
    out.finish()
}

fn probe_facts(out: &mut Exposition, p: &ProbeResult) {
    out.gauge("mtls_handshake_ok", None, "1 when the TLS handshake completed", flag(p.handshake.ok));
    // Only a connection that reached TLS can say whether a certificate was asked for.
    if p.tcp.connected {
        out.gauge(
            "mtls_client_cert_requested",
            None,
            "1 when the server sent a CertificateRequest",
            flag(p.client_cert_requested),
        );
        out.gauge(
            "mtls_client_cert_sent",
            None,
            "1 when a client certificate was sent in the handshake",
            flag(p.client_cert_sent),
        );
    }
    if let Some(h) = p.http.as_ref() {
        out.gauge("mtls_http_status", None, "HTTP status code of the response", f64::from(h.status));
    }
    if let Some(s) = p.server_chain.first().and_then(not_after_seconds) {
        out.gauge(
            "mtls_server_cert_not_after_seconds",
            Some("seconds"),
            "notAfter of the server's leaf certificate, in seconds since the Unix epoch",
            s,
        );
    }
    // The configured client certificate, sent or not: its expiry matters before it is ever asked for.
    if let Some(s) = p.client_chain.first().and_then(not_after_seconds) {
        out.gauge(
            "mtls_client_cert_not_after_seconds",
            Some("seconds"),
            "notAfter of the configured client certificate, in seconds since the Unix epoch",
            s,
        );
    }
}

fn findings(out: &mut Exposition, run: &TargetRun) {
    // A typed id is a catalog id by construction: the label set is the catalog's.
    let mut seen: Vec<(FindingId, Severity)> = Vec::new();
    for f in &run.findings {
        if !seen.iter().any(|(i, s)| *i == f.id && *s == f.severity) {
            seen.push((f.id, f.severity));
        }
    }
    if seen.is_empty() {
        return;
    }
    out.family("mtls_finding", "gauge", None, "1 for each finding of the probe, by catalog id and severity");
    for (id, severity) in &seen {
        out.sample("mtls_finding", &[("id", id.as_str()), ("severity", severity.as_str())], 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_labels_are_written_as_openmetrics_expects() {
        assert_eq!(number(200.0), "200");
        assert_eq!(number(0.0125), "0.0125");
        assert_eq!(number(0.00028100000000000005), "0.000281");
        assert_eq!(Format::negotiate(Some("text/plain;version=0.0.4")), Format::PrometheusText);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;version=1.0.0,text/plain;q=0.5")),
            Format::OpenMetrics
        );
        assert_eq!(Format::negotiate(None), Format::OpenMetrics);
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let mut e = Exposition::default();
        e.family("x_seconds", "gauge", Some("seconds"), "h").sample("x_seconds", &[("phase", "tls")], 1.5);
        assert_eq!(e.finish(), "# TYPE x_seconds gauge\n# UNIT x_seconds seconds\n# HELP x_seconds h\nx_seconds{phase=\"tls\"} 1.5\n# EOF\n");
    }

    #[test]
    fn a_run_that_never_probed_is_not_a_success_and_says_nothing_it_did_not_see() {
        let run = TargetRun { error: Some("cannot read x.pem".into()), ..Default::default() };
        let text = render_probe(&run, 0.25, Format::OpenMetrics);
        assert!(text.contains("mtls_probe_success 0\n"), "{text}");
        assert!(!text.contains("mtls_client_cert_requested"), "{text}");
        assert!(text.contains("mtls_probe_duration_seconds{phase=\"total\"} 0.25\n"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
