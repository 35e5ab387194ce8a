//! Test handshakes as an engineer would do them with `openssl s_client` and `curl --cert`, recorded
//! as data: DNS, TCP, TLS and HTTP, each phase timed and bounded. A probe never decides what a
//! failure means; `diagnose` does.

pub mod dns;
pub mod http;
mod options;
pub mod tls;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::cert::CertInfo;
use crate::verify::{Role, Verdict, VerifyOptions};

pub use self::options::{
    display_header_value, is_secret_header, parse_host_port, ClientIdentity, Header, ProbeContext, ProbeOptions,
    ProbeRole, Timeouts, TlsVersionPin,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub sni: String,
    pub connect_to: Option<String>,
}

/// The phase a probe stopped in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Dns,
    Tcp,
    Tls,
    Http,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TcpResult {
    pub connected: bool,
    /// The address that answered.
    pub address: Option<String>,
    pub attempts: Vec<TcpAttempt>,
    /// The last failure, when nothing answered.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TcpAttempt {
    pub address: String,
    pub outcome: TcpOutcome,
    pub error: Option<String>,
    pub ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TcpOutcome {
    Connected,
    Refused,
    TimedOut,
    Unreachable,
    Other,
}

/// What was negotiated (all None when the handshake did not get that far).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TlsSession {
    pub version: Option<String>,
    pub cipher_suite: Option<String>,
    pub key_exchange: Option<String>,
    pub alpn: Option<String>,
}

/// Why no client certificate was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotSentReason {
    /// The server never sent a CertificateRequest.
    NotRequested,
    /// The server asked, but no certificate was configured for this probe.
    NoneConfigured,
    /// The key cannot make any signature scheme the server accepts: rustls sends an empty Certificate.
    NoCommonSignatureScheme,
}

/// The typed reason a handshake failed. Rules match on this, never on the message text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TlsFailure {
    /// The peer sent a fatal alert (TLS name, e.g. `unknown_ca`, `certificate_required`).
    AlertReceived {
        alert: String,
    },
    /// No common protocol version, cipher suite, group or signature scheme.
    PeerIncompatible {
        detail: String,
    },
    /// The peer broke the protocol.
    PeerMisbehaved {
        detail: String,
    },
    /// A message arrived that is not allowed at this point (e.g. a renegotiation request).
    InappropriateMessage {
        detail: String,
    },
    /// The peer's data could not be decoded (often: not TLS at all on this port).
    InvalidMessage {
        detail: String,
    },
    /// The connection closed before the handshake finished, without an alert.
    ConnectionClosed,
    ConnectionReset,
    Timeout,
    /// Anything else rustls or the OS reported.
    Other {
        detail: String,
    },
}

/// The failure in a few words, for every view (text, Markdown, the TUI timeline).
impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsFailure::AlertReceived { alert } => write!(f, "alert {alert} received"),
            TlsFailure::PeerIncompatible { detail } => write!(f, "no common parameters ({detail})"),
            TlsFailure::PeerMisbehaved { detail } => write!(f, "peer misbehaved ({detail})"),
            TlsFailure::InappropriateMessage { detail } => write!(f, "unexpected message ({detail})"),
            TlsFailure::InvalidMessage { detail } => write!(f, "not TLS or corrupt ({detail})"),
            TlsFailure::ConnectionClosed => f.write_str("closed by the server without an alert"),
            TlsFailure::ConnectionReset => f.write_str("connection reset"),
            TlsFailure::Timeout => f.write_str("timed out"),
            TlsFailure::Other { detail } => f.write_str(detail),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Handshake {
    pub ok: bool,
    /// TLS name of the fatal alert received, if any.
    pub alert: Option<String>,
    /// The error as rustls (or the OS) described it.
    pub error: Option<String>,
    pub failure: Option<TlsFailure>,
    /// The TLS 1.3 case: the handshake looked complete, then the server rejected the client
    /// certificate on the first read.
    pub rejected_after_handshake: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpResult {
    /// `HTTP/1.1` or `HTTP/2`.
    pub version: String,
    pub status: u16,
    /// Response headers, secret values redacted.
    pub headers: Vec<(String, String)>,
    /// The first 4 KiB of the body, lossily decoded as UTF-8.
    pub body_preview: String,
    pub body_truncated: bool,
    pub ttfb_ms: f64,
    /// The request as it was sent (older sessions have none recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<SentRequest>,
}

/// The request line and headers a probe sent, secret values redacted, headers in the same
/// `[name, value]` shape as the response's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SentRequest {
    pub method: String,
    /// The request target: the path and query for HTTP/1.1, the full URI for HTTP/2.
    pub target: String,
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Timings {
    pub dns: Option<f64>,
    pub tcp: Option<f64>,
    pub tls: Option<f64>,
    pub http: Option<f64>,
    pub total: Option<f64>,
}

/// Everything one probe observed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeResult {
    pub role: ProbeRole,
    pub target: Target,
    /// RFC 3339 time the probe started.
    pub started_at: String,
    pub dns: dns::DnsResult,
    pub tcp: TcpResult,
    pub tls: TlsSession,
    /// The server's chain exactly as sent (leaf first).
    pub server_chain: Vec<CertInfo>,
    /// Our verification of the server chain (the handshake continues either way).
    pub server_verify: Option<Verdict>,
    pub client_cert_requested: bool,
    /// The CertificateRequest's certificate_authorities, in .NET name form.
    pub acceptable_ca_names: Vec<String>,
    /// The signature schemes the server accepts for the client certificate.
    pub requested_signature_schemes: Vec<String>,
    pub client_cert_sent: bool,
    pub client_cert_not_sent_reason: Option<NotSentReason>,
    /// The chain configured for this probe (what was or would have been sent), leaf first.
    pub client_chain: Vec<CertInfo>,
    pub handshake: Handshake,
    pub http: Option<HttpResult>,
    /// Why HTTP produced no result, when it was attempted and failed for a non-TLS reason.
    pub http_error: Option<String>,
    pub failed_phase: Option<Phase>,
    pub timings_ms: Timings,
    /// The same probe without the client certificate, when one was configured and requested.
    pub compare_without_cert: Option<Box<ProbeResult>>,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Run one probe to the end. Every failure is recorded in the result; this never errors.
pub async fn run_probe(opts: &ProbeOptions, ctx: &ProbeContext) -> ProbeResult {
    let mut result = run_once(opts, ctx, ctx.identity.as_ref()).await;
    if opts.compare_without_cert && ctx.identity.is_some() && result.client_cert_requested {
        let without = run_once(opts, ctx, None).await;
        result.compare_without_cert = Some(Box::new(without));
    }
    result
}

async fn run_once(opts: &ProbeOptions, ctx: &ProbeContext, identity: Option<&ClientIdentity>) -> ProbeResult {
    let started = Instant::now();
    let sni = opts.server_name().to_string();
    let mut result = ProbeResult {
        role: opts.role,
        target: Target {
            host: opts.host.clone(),
            port: opts.port,
            sni: sni.clone(),
            connect_to: opts.connect_to.clone(),
        },
        started_at: crate::cert::rfc3339(time::OffsetDateTime::now_utc()),
        dns: dns::DnsResult::default(),
        tcp: TcpResult::default(),
        tls: TlsSession::default(),
        server_chain: vec![],
        server_verify: None,
        client_cert_requested: false,
        acceptable_ca_names: vec![],
        requested_signature_schemes: vec![],
        client_cert_sent: false,
        client_cert_not_sent_reason: None,
        client_chain: identity.map(|i| i.chain.iter().map(|c| c.info.clone()).collect()).unwrap_or_default(),
        handshake: Handshake::default(),
        http: None,
        http_error: None,
        failed_phase: None,
        timings_ms: Timings::default(),
        compare_without_cert: None,
    };

    // Where to connect: --connect-to overrides the DNS name, not the TLS name.
    let (dial_host, dial_port) = match &opts.connect_to {
        Some(ct) => match parse_host_port(ct, Some(opts.port)) {
            Ok(hp) => hp,
            Err(problem) => {
                result.dns.error = Some(format!("--connect-to {ct:?}: {problem}"));
                result.failed_phase = Some(Phase::Dns);
                return finish(result, started);
            }
        },
        None => (opts.host.clone(), opts.port),
    };

    // 1. DNS
    let t = Instant::now();
    result.dns = dns::resolve(&dial_host, opts.dns_server, Duration::from_millis(opts.timeouts.dns_ms)).await;
    result.timings_ms.dns = Some(ms(t.elapsed()));
    if result.dns.addresses.is_empty() {
        result.failed_phase = Some(Phase::Dns);
        return finish(result, started);
    }

    // 2. TCP: each address in turn until one answers.
    let t = Instant::now();
    let mut stream = None;
    for addr in &result.dns.addresses {
        let Ok(ip) = addr.parse::<std::net::IpAddr>() else { continue };
        let sa = SocketAddr::new(ip, dial_port);
        let ta = Instant::now();
        let attempt =
            tokio::time::timeout(Duration::from_millis(opts.timeouts.connect_ms), tokio::net::TcpStream::connect(sa))
                .await;
        let (outcome, error) = match attempt {
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                stream = Some(s);
                (TcpOutcome::Connected, None)
            }
            Ok(Err(e)) => (classify_tcp_error(&e), Some(e.to_string())),
            Err(_) => (TcpOutcome::TimedOut, Some(format!("no answer within {} ms", opts.timeouts.connect_ms))),
        };
        result.tcp.attempts.push(TcpAttempt {
            address: sa.to_string(),
            outcome,
            error: error.clone(),
            ms: ms(ta.elapsed()),
        });
        if outcome == TcpOutcome::Connected {
            result.tcp.connected = true;
            result.tcp.address = Some(sa.to_string());
            break;
        }
        result.tcp.error = error;
    }
    result.timings_ms.tcp = Some(ms(t.elapsed()));
    let Some(stream) = stream else {
        result.failed_phase = Some(Phase::Tcp);
        return finish(result, started);
    };

    // 3-5. TLS, the post-handshake read, HTTP.
    let chain = tls::handshake_and_request(opts, identity, stream, &mut result).await;

    // Judge the server chain (the handshake went on regardless).
    if !chain.is_empty() {
        let host = if sni.parse::<std::net::IpAddr>().is_ok() { None } else { Some(sni.clone()) };
        let verify_opts = VerifyOptions { host, at: None };
        result.server_verify = Some(crate::verify::verify_chain(&chain, &ctx.trust, Role::Server, &verify_opts));
    }
    finish(result, started)
}

fn finish(mut result: ProbeResult, started: Instant) -> ProbeResult {
    result.timings_ms.total = Some(ms(started.elapsed()));
    result
}

fn classify_tcp_error(e: &std::io::Error) -> TcpOutcome {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::ConnectionRefused => TcpOutcome::Refused,
        ErrorKind::TimedOut => TcpOutcome::TimedOut,
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => TcpOutcome::Unreachable,
        _ => TcpOutcome::Other,
    }
}
