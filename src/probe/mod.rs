//! Test handshakes as an engineer would do them with `openssl s_client` and `curl --cert`, recorded
//! as data: DNS, TCP, TLS and HTTP, each phase timed and bounded. A probe never decides what a
//! failure means; `diagnose` does.

pub mod body;
mod compare;
pub mod dns;
pub mod http;
pub mod late;
mod memo;
mod options;
pub mod proxy;
pub mod records;
pub mod secrets;
pub mod stream;
pub mod tls;
pub mod url;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::cert::{CertInfo, Certificate};
use crate::verify::{Verdict, VerifyOptions};

use self::memo::{may_hide_alert, Verdicts};
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

/// When a server asked for a client certificate after the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LateWhen {
    /// Before this probe sent anything (e.g. `--no-http`).
    AfterHandshake,
    /// After the HTTP request was sent: the server looked at the request first.
    AfterRequest,
}

/// A certificate request seen after the handshake finished, whatever the TLS stack did with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LateCertRequest {
    pub how: late::LateMethod,
    pub when: LateWhen,
}

/// How the HTTP exchange ended when it produced no response (or an incomplete one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum HttpFailureKind {
    /// The server closed the connection after the request, before any response byte.
    ClosedBeforeResponse,
    /// The connection was reset (TCP RST) after the request was sent.
    ResetAfterRequest,
    /// The HTTP/2 peer ended the stream or the connection with this error code
    /// (`HTTP_1_1_REQUIRED`, `PROTOCOL_ERROR`…).
    Http2 { code: String, by_peer: bool },
    /// No response head within the time limit.
    Timeout,
    /// Anything else (the source chain is in `http_error_chain`).
    Other,
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
    /// The preview is not the whole body: it was cut at 4 KiB, or the peer ended the body early
    /// (then `body_bytes_received` is below `content_length`, or a chunked body broke off).
    pub body_truncated: bool,
    /// The head arrived but the body did not finish within the time limit.
    #[serde(default)]
    pub body_timed_out: bool,
    /// Body bytes read before the preview was full, the body ended, or the peer broke it off.
    #[serde(default)]
    pub body_bytes_received: u64,
    /// The response's `Content-Length`, when it had a valid one.
    #[serde(default)]
    pub content_length: Option<u64>,
    /// The peer ended the connection before the body was complete (hyper's words for it).
    #[serde(default)]
    pub body_cut_short: Option<String>,
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
    /// The body sent (`--data`), by its length and SHA-256 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<body::RequestBody>,
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
    /// Size in bytes of the CertificateRequest's certificate_authorities list as it travels (each
    /// DER name with its 2-byte length; 0 when no list or no request).
    #[serde(default)]
    pub acceptable_ca_names_bytes: usize,
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
    /// The same failure, typed.
    #[serde(default)]
    pub http_failure: Option<HttpFailureKind>,
    /// The error and its sources, outermost first (hyper, h2, I/O).
    #[serde(default)]
    pub http_error_chain: Vec<String>,
    /// The server's first bytes were `HTTP/`: it speaks plain HTTP on this port.
    #[serde(default)]
    pub plain_http_reply: bool,
    /// A certificate request after the handshake (TLS 1.2 renegotiation), seen in the record headers.
    #[serde(default)]
    pub late_cert_request: Option<LateCertRequest>,
    /// Re-runs with late authentication offered (the OpenSSL engine), when this probe saw a late
    /// request, or saw none on TLS 1.3 and got 401/403, or a close or reset after the request.
    #[serde(default)]
    pub late_auth: Vec<late::LateAuthRun>,
    /// The same probe over HTTP/1.1, after the server refused HTTP/2 with HTTP_1_1_REQUIRED (as
    /// curl retries).
    #[serde(default)]
    pub http1_retry: Option<Box<ProbeResult>>,
    pub failed_phase: Option<Phase>,
    pub timings_ms: Timings,
    /// The same probe without the client certificate, when one was configured and requested.
    pub compare_without_cert: Option<Box<ProbeResult>>,
    /// The HTTP proxy the probe tunnelled through (DNS and TCP above are then of the proxy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<proxy::ProxyUse>,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Run one probe to the end. Every failure is recorded in the result; this never errors.
///
/// The comparison without the client certificate needs nothing from the main run but the fact
/// that the server asked for one: it starts the moment the main handshake sees the
/// CertificateRequest and runs alongside the rest of it. A server that never asks gets no
/// comparison connection, as before; the record is the same as when the two ran one after the other.
pub async fn run_probe(opts: &ProbeOptions, ctx: &ProbeContext) -> ProbeResult {
    let identity = ctx.identity.as_ref();
    if !(opts.compare_without_cert && identity.is_some()) {
        return Box::pin(main_run(opts, ctx, identity, None, &Verdicts::default())).await;
    }
    // A request with a body is never sent twice: the comparison stops after its handshake.
    let mut compare_opts = std::borrow::Cow::Borrowed(opts);
    if opts.body.is_some() {
        compare_opts.to_mut().no_http = true;
    }
    let compare_opts = compare_opts.as_ref();
    let (tx, asked) = tokio::sync::oneshot::channel();
    let verdicts = std::sync::Arc::new(Verdicts::default());
    // Its own task (compare.rs), started by the main handshake's CertificateRequest.
    let running = compare::Running::enter();
    let comparison = compare::Comparison::spawn(compare_opts, ctx, verdicts.clone(), asked, &running);
    // On the heap: the main run's state would otherwise sit in the caller's future (and on a
    // thread's stack, in a debug build).
    let mut result = Box::pin(main_run(opts, ctx, identity, Some(tx), &verdicts)).await;
    if result.client_cert_requested {
        let without = match comparison.result().await {
            Some(w) => w,
            // The comparison never started (its task failed): compare now, as before.
            None => Box::pin(settled_once(compare_opts, ctx, None, None, &verdicts)).await,
        };
        result.compare_without_cert = Some(Box::new(without));
    }
    result
}

/// The probe with its HTTP/1.1 retry and late-authentication re-runs; `on_request` is told when the
/// first handshake sees a CertificateRequest.
async fn main_run(
    opts: &ProbeOptions,
    ctx: &ProbeContext,
    identity: Option<&ClientIdentity>,
    on_request: Option<tokio::sync::oneshot::Sender<()>>,
    verdicts: &Verdicts,
) -> ProbeResult {
    let mut result = settled_once(opts, ctx, identity, on_request, verdicts).await;
    // The server refused HTTP/2 for this request: retry over HTTP/1.1 on a new connection, as curl does.
    // Not a request with a body: that is never sent twice.
    if opts.body.is_none()
        && matches!(&result.http_failure, Some(HttpFailureKind::Http2 { code, .. }) if code == "HTTP_1_1_REQUIRED")
    {
        let mut o = opts.clone();
        o.alpn = vec!["http/1.1".into()];
        let mut retry = settled_once(&o, ctx, identity, None, verdicts).await;
        retry.late_auth = late_reruns(&o, identity, &retry).await;
        result.http1_retry = Some(Box::new(retry));
    } else {
        result.late_auth = late_reruns(opts, identity, &result).await;
    }
    result
}

/// One connection's probe. After a TLS 1.3 handshake that asked for a certificate, a safe request
/// (GET, HEAD, OPTIONS) is written at once, as curl and s_client do; only when that ends in a way
/// that could hide the server's rejection alert (closed or reset before any response) is the probe
/// made again on a new connection, waiting for the verdict before writing, and that run is the
/// record. A healthy server is never waited on; other methods always wait, never sent twice.
async fn settled_once(
    opts: &ProbeOptions,
    ctx: &ProbeContext,
    identity: Option<&ClientIdentity>,
    on_request: Option<tokio::sync::oneshot::Sender<()>>,
    verdicts: &Verdicts,
) -> ProbeResult {
    // A request with a body (`--data`) is never sent twice, whatever its method.
    let safe = opts.body.is_none() && matches!(opts.method.to_ascii_uppercase().as_str(), "GET" | "HEAD" | "OPTIONS");
    let first = run_once(opts, ctx, identity, tls::Attempt { settle: !safe, on_request }, verdicts).await;
    if safe && may_hide_alert(&first) {
        let settled = tls::Attempt { settle: true, on_request: None };
        return run_once(opts, ctx, identity, settled, verdicts).await;
    }
    first
}

/// The re-runs with late authentication offered: when this probe saw a late request, or saw no
/// CertificateRequest on TLS 1.3 and got 401/403 or a close or reset after the request (a server
/// that would ask with PHA).
async fn late_reruns(
    opts: &ProbeOptions,
    identity: Option<&ClientIdentity>,
    first: &ProbeResult,
) -> Vec<late::LateAuthRun> {
    let Some(address) = first.tcp.address.as_deref().and_then(|a| a.parse::<SocketAddr>().ok()) else {
        return vec![];
    };
    // A TLS 1.3 server that wants the certificate by PHA refuses a client that did not offer it:
    // with 401/403 (Apache), or by closing or resetting the connection after the request (Python's
    // `verify_client_post_handshake`, servers whose PHA call fails).
    let dropped =
        matches!(first.http_failure, Some(HttpFailureKind::ClosedBeforeResponse | HttpFailureKind::ResetAfterRequest));
    let refused_on_tls13 = first.tls.version.as_deref() == Some("TLSv1.3")
        && !first.client_cert_requested
        && (dropped || first.http.as_ref().is_some_and(|h| h.status == 401 || h.status == 403));
    let methods = match (&first.late_cert_request, refused_on_tls13) {
        (Some(seen), _) => vec![seen.how],
        (None, true) => vec![late::LateMethod::Pha, late::LateMethod::Renegotiation],
        (None, false) => return vec![],
    };
    // A request with a body is never sent twice (it may have been acted on already).
    if opts.no_http || opts.body.is_some() {
        return vec![];
    }
    let authority = if opts.port == 443 { opts.host.clone() } else { format!("{}:{}", opts.host, opts.port) };
    let late_identity = identity.map(|i| late::LateIdentity {
        chain_der: i.chain.iter().map(|c| c.der.clone()).collect(),
        key_der: i.key_der.clone(),
    });
    let mut runs = Vec::new();
    for how in methods {
        let req = late::LateAuthRequest {
            address,
            server_name: opts.server_name().to_string(),
            authority: authority.clone(),
            method: opts.method.clone(),
            path: opts.path.clone(),
            headers: opts.headers.clone(),
            body: opts.body.as_ref().and_then(|b| b.shared()),
            how,
            identity: late_identity.clone(),
            timeout: Duration::from_millis(opts.timeouts.http_ms.max(opts.timeouts.tls_ms)),
        };
        match tokio::task::spawn_blocking(move || late::run_late_auth(&req)).await {
            Ok(run) => runs.push(run),
            Err(e) => record_unfinished(&mut runs, how, e.to_string()),
        }
    }
    runs
}

/// A re-run whose thread failed is still recorded, as a run that could not be made.
fn record_unfinished(runs: &mut Vec<late::LateAuthRun>, how: late::LateMethod, why: String) {
    runs.push(late::LateAuthRun::not_run(how, format!("the late-authentication run did not finish: {why}")));
}

async fn run_once(
    opts: &ProbeOptions,
    ctx: &ProbeContext,
    identity: Option<&ClientIdentity>,
    attempt: tls::Attempt,
    verdicts: &Verdicts,
) -> ProbeResult {
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
        acceptable_ca_names_bytes: 0,
        requested_signature_schemes: vec![],
        client_cert_sent: false,
        client_cert_not_sent_reason: None,
        client_chain: identity.map(|i| i.chain.iter().map(|c| c.info.clone()).collect()).unwrap_or_default(),
        handshake: Handshake::default(),
        http: None,
        http_error: None,
        http_failure: None,
        http_error_chain: vec![],
        plain_http_reply: false,
        late_cert_request: None,
        late_auth: vec![],
        http1_retry: None,
        failed_phase: None,
        timings_ms: Timings::default(),
        compare_without_cert: None,
        proxy: None,
    };

    // Where to connect: --connect-to overrides the DNS name, not the TLS name.
    let (dial_host, dial_port) = match &opts.connect_to {
        Some(ct) => match url::ConnectTo::parse(ct) {
            Ok(rule) => rule.apply(&opts.host, opts.port).unwrap_or_else(|| (opts.host.clone(), opts.port)),
            Err(problem) => {
                result.dns.error = Some(format!("--connect-to {ct:?}: {problem}"));
                result.failed_phase = Some(Phase::Dns);
                return finish(result, started);
            }
        },
        None => (opts.host.clone(), opts.port),
    };
    // Through a proxy, the proxy's name is the one resolved and connected to (as curl does).
    let (net_host, net_port) = match &opts.proxy {
        Some(p) => (p.host.clone(), p.port),
        None => (dial_host.clone(), dial_port),
    };

    // 1. DNS (or curl's --resolve entries)
    let t = Instant::now();
    let pinned =
        opts.resolve.iter().filter_map(|r| url::Resolve::parse(r).ok()).find(|r| r.matches(&net_host, net_port));
    result.dns = match pinned {
        Some(r) => dns::DnsResult {
            query: net_host.clone(),
            addresses: r.addresses.iter().map(ToString::to_string).collect(),
            from_resolve: true,
            ..Default::default()
        },
        None => dns::resolve(&net_host, opts.dns_server, Duration::from_millis(opts.timeouts.dns_ms)).await,
    };
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
        let sa = SocketAddr::new(ip, net_port);
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
    let Some(mut stream) = stream else {
        result.failed_phase = Some(Phase::Tcp);
        return finish(result, started);
    };
    if let Some(p) = &opts.proxy {
        let limit = Duration::from_millis(opts.timeouts.connect_ms.max(opts.timeouts.http_ms));
        let outcome = proxy::connect(&mut stream, p, &dial_host, dial_port, limit).await;
        let mut used = proxy::ProxyUse {
            address: p.address(),
            source: p.source.clone(),
            authenticated: p.authenticated,
            tunnel_to: format!("{}:{dial_port}", url::bracket(&dial_host)),
            ..Default::default()
        };
        match outcome {
            proxy::ConnectOutcome::Open { status, reason } => {
                (used.status, used.reason, used.tunnel_open) = (Some(status), Some(reason), true);
            }
            proxy::ConnectOutcome::Refused { status, reason } => {
                (used.status, used.reason) = (Some(status), Some(reason))
            }
            proxy::ConnectOutcome::NoAnswer(e) => used.error = Some(e),
        }
        let open = used.tunnel_open;
        result.proxy = Some(used);
        result.timings_ms.tcp = Some(ms(t.elapsed()));
        if !open {
            result.failed_phase = Some(Phase::Tcp);
            return finish(result, started);
        }
    }

    // 3-5. TLS, the post-handshake read, HTTP.
    // The server chain is judged too (the handshake went on regardless).
    let host = if sni.parse::<std::net::IpAddr>().is_ok() { None } else { Some(sni.clone()) };
    let verify_opts = VerifyOptions { host, at: None };
    let judge = |chain: &[Certificate]| verdicts.verify(chain, &ctx.trust, &verify_opts);
    tls::handshake_and_request(opts, identity, stream, &mut result, attempt, &judge).await;
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
