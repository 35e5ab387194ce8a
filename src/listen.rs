//! The `listen` server: asks every TLS client for a certificate, judges it, and echoes what it saw.
//! The flood defences (deadlines, caps) are in [`flood`]; telling plain HTTP from other bytes on
//! the TLS port is in `sniff`.
//!
//! It accepts a connection with or without a certificate (unless one is required), judges the chain
//! against the given CA certificates without refusing it, and answers any HTTP request with a JSON
//! echo. It is the far end a user points a client (or API Management's backend) at.
//!
//! Every connection, including one whose handshake fails or that is not TLS at all, becomes a
//! [`ConnectionRecord`] sent down a channel: a failure is data, not an error.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::crypto::CryptoProvider;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{Acceptor, NoServerSessionStorage, ResolvesServerCert, ServerConnection};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{ProtocolVersion, ServerConfig, SupportedProtocolVersion};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::LazyConfigAcceptor;

use crate::cert::CertInfo;
use crate::danger::client_auth::{ClientAuthPolicy, ClientVerdict, RecordingClientVerifier};
use crate::error::{Error, Result};

pub mod flood;
mod sniff;

use sniff::{answer_plain_http, sniff_plain_http, Sniffed};

/// From TCP accept to the end of the TLS handshake, when the listener is calm (the lab's servers
/// use it as is; `listen` shortens it under load, see [`flood`]).
pub const HANDSHAKE_TIMEOUT: Duration = flood::IDLE_HANDSHAKE_DEADLINE;
/// For the request line and headers of an HTTP/1.1 request.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// For a whole request body.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Request bodies beyond this are refused with 413: the echo only needs their size.
pub const BODY_LIMIT: usize = 64 * 1024;
/// An HTTP connection (HTTP/2 may carry many requests) is closed after this long, whatever it does.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

/// Header values never echoed or recorded, because they carry credentials.
pub const REDACTED_HEADERS: [&str; 5] =
    ["authorization", "proxy-authorization", "ocp-apim-subscription-key", "cookie", "set-cookie"];
pub const REDACTED: &str = "[redacted]";

/// What the listener serves and whom it trusts.
pub struct ListenConfig {
    pub bind: SocketAddr,
    /// The server certificate chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The server's private key. Secret: never shown by `Debug`.
    pub key: PrivateKeyDer<'static>,
    /// CA certificates that client certificates are judged against; may be empty (then nothing is
    /// trusted, but every certificate is still shown).
    pub ca: Vec<CertificateDer<'static>>,
    /// Refuse a handshake in which the client sends no certificate (certificate_required).
    pub require_client_cert: bool,
    /// Stop accepting after this many connections (then wait for them to finish).
    pub max_connections: Option<usize>,
}

impl fmt::Debug for ListenConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenConfig")
            .field("bind", &self.bind)
            .field("chain", &self.chain.len())
            .field("key", &"[secret]")
            .field("ca", &self.ca.len())
            .field("require_client_cert", &self.require_client_cert)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// What the TLS handshake of one connection established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsFacts {
    /// The client's address and port.
    pub peer: String,
    /// The server name the client asked for (SNI), if any.
    pub sni: Option<String>,
    /// `TLSv1.2` or `TLSv1.3`.
    pub tls_version: String,
    /// IANA name, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// Key exchange group, e.g. `X25519` or `X25519MLKEM768`.
    pub key_exchange: Option<String>,
    /// The negotiated ALPN protocol (`h2`, `http/1.1`), if any.
    pub alpn: Option<String>,
    /// The client's certificate, if it sent one.
    pub client_certificate: Option<CertInfo>,
    /// Everything the client sent, leaf first, in the order sent.
    pub client_chain: Vec<CertInfo>,
    /// The verdict on that chain against the configured CA certificates.
    pub verdict: ClientVerdict,
}

impl TlsFacts {
    /// Read the facts off an established connection. `verifier` is the one the connection's config
    /// used, or `None` when that config never asks for a client certificate.
    pub(crate) fn from_connection(
        peer: SocketAddr,
        conn: &ServerConnection,
        verifier: Option<&RecordingClientVerifier>,
    ) -> Self {
        let now = OffsetDateTime::now_utc();
        let presented: &[CertificateDer<'static>] = conn.peer_certificates().unwrap_or(&[]);
        let client_chain: Vec<CertInfo> = presented.iter().filter_map(|c| CertInfo::from_der(c, now).ok()).collect();
        let client_certificate = presented.first().and_then(|c| CertInfo::from_der(c, now).ok());
        let verdict = match verifier {
            Some(verifier) => verifier.verdict_for(presented),
            None if presented.is_empty() => ClientVerdict::no_certificate(),
            None => ClientVerdict { ok: false, error: Some("not judged: no client CA configured".into()) },
        };
        TlsFacts {
            peer: peer.to_string(),
            sni: conn.server_name().map(str::to_string),
            tls_version: conn.protocol_version().map(version_name).unwrap_or_default(),
            cipher_suite: conn
                .negotiated_cipher_suite()
                .map(|s| s.suite().as_str().map(str::to_string).unwrap_or_else(|| format!("{:?}", s.suite())))
                .unwrap_or_default(),
            key_exchange: conn.negotiated_key_exchange_group().map(|g| crate::text::named_group(g.name())),
            alpn: conn.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned()),
            client_certificate,
            client_chain,
            verdict,
        }
    }
}

/// The name OpenSSL uses for a protocol version.
pub fn version_name(v: ProtocolVersion) -> String {
    crate::text::tls_version(v)
}

/// The version of the JSON Lines record `listen --report json` writes ([`ConnectionRecord`]).
/// Version 2 (headers as `[name, value]` pairs, as in the probe report) replaced the unversioned
/// first shape (headers as a name-to-value map, repeats joined with ", "), which still reads.
pub const LISTEN_SCHEMA_VERSION: u32 = 2;

fn listen_v1() -> u32 {
    1
}

/// One HTTP request as echoed, with credential headers redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEcho {
    pub method: String,
    /// Path and query as sent.
    pub path: String,
    /// `HTTP/1.1` or `HTTP/2.0`.
    pub version: String,
    /// `[name, value]` pairs, lower-case names, every repeat its own pair, in the order received
    /// (repeats of a name next to each other); values of [`REDACTED_HEADERS`] redacted. The same
    /// shape as the probe report's headers.
    #[serde(deserialize_with = "header_pairs")]
    pub headers: Vec<(String, String)>,
    /// Size of the body that was read (at most [`BODY_LIMIT`]).
    pub body_bytes: usize,
}

impl RequestEcho {
    fn from_parts(parts: &hyper::http::request::Parts) -> Self {
        let path = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
        RequestEcho {
            method: parts.method.to_string(),
            path,
            version: format!("{:?}", parts.version),
            headers: redacted_headers(&parts.headers),
            body_bytes: 0,
        }
    }

    /// The first value of header `name` (any case), if it was sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Headers as `[name, value]` pairs, credential values replaced by [`REDACTED`].
pub fn redacted_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let name = name.as_str().to_ascii_lowercase();
            let value = if REDACTED_HEADERS.contains(&name.as_str()) {
                REDACTED.to_string()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name, value)
        })
        .collect()
}

/// Reads headers in either shape: `[name, value]` pairs (version 2) or the name-to-value map of
/// records written before it (each entry one pair).
fn header_pairs<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<(String, String)>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Shape {
        Pairs(Vec<(String, String)>),
        Map(BTreeMap<String, String>),
    }
    Ok(match Shape::deserialize(d)? {
        Shape::Pairs(pairs) => pairs,
        Shape::Map(map) => map.into_iter().collect(),
    })
}

/// The JSON body the listener (and the lab's `/echo`) answers with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Echo {
    #[serde(flatten)]
    pub tls: TlsFacts,
    pub request: RequestEcho,
}

/// One connection as the listener saw it, sent down the records channel when it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionRecord {
    /// [`LISTEN_SCHEMA_VERSION`]; a record without one is version 1.
    #[serde(default = "listen_v1")]
    pub schema_version: u32,
    /// When the connection was accepted, RFC 3339 UTC.
    pub at: String,
    pub peer: String,
    pub sni: Option<String>,
    pub tls_version: Option<String>,
    pub cipher_suite: Option<String>,
    pub key_exchange: Option<String>,
    pub alpn: Option<String>,
    pub client_certificate: Option<CertInfo>,
    pub client_chain: Vec<CertInfo>,
    /// `None` when the handshake did not complete.
    pub verdict: Option<ClientVerdict>,
    /// Every HTTP request served on the connection, in order (HTTP/1.1 serves one per connection).
    pub requests: Vec<RequestEcho>,
    /// Why the connection never became TLS: rustls' error, a timeout, or plain HTTP on the TLS port.
    pub handshake_error: Option<String>,
}

impl ConnectionRecord {
    fn accepted(peer: SocketAddr) -> Self {
        ConnectionRecord {
            schema_version: LISTEN_SCHEMA_VERSION,
            at: crate::cert::rfc3339(OffsetDateTime::now_utc()),
            peer: peer.to_string(),
            sni: None,
            tls_version: None,
            cipher_suite: None,
            key_exchange: None,
            alpn: None,
            client_certificate: None,
            client_chain: Vec::new(),
            verdict: None,
            requests: Vec::new(),
            handshake_error: None,
        }
    }

    fn established(&mut self, facts: &TlsFacts) {
        self.sni = facts.sni.clone();
        self.tls_version = Some(facts.tls_version.clone());
        self.cipher_suite = Some(facts.cipher_suite.clone());
        self.key_exchange = facts.key_exchange.clone();
        self.alpn = facts.alpn.clone();
        self.client_certificate = facts.client_certificate.clone();
        self.client_chain = facts.client_chain.clone();
        self.verdict = Some(facts.verdict.clone());
    }
}

/// Bind the listening socket; the error names the address.
pub async fn bind(cfg: &ListenConfig) -> Result<TcpListener> {
    TcpListener::bind(cfg.bind)
        .await
        .map_err(|e| Error::input(format!("listen address {}", cfg.bind), format!("cannot bind: {e}")))
}

/// The parts of the listener every connection shares.
struct Listener {
    config: Arc<ServerConfig>,
    verifier: Arc<RecordingClientVerifier>,
}

impl Listener {
    fn new(cfg: &ListenConfig) -> Result<Self> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        if cfg.chain.is_empty() {
            return Err(Error::input("listen certificate", "no certificate was given"));
        }
        let certified = CertifiedKey::from_der(cfg.chain.clone(), cfg.key.clone_key(), &provider)
            .map_err(|e| Error::input("listen certificate and key", format!("not usable together: {e}")))?;
        let policy = ClientAuthPolicy { mandatory: cfg.require_client_cert, strict: false };
        let verifier = Arc::new(RecordingClientVerifier::new(&cfg.ca, policy, provider.clone())?);
        let config = server_config(
            &provider,
            rustls::ALL_VERSIONS,
            verifier.clone(),
            Arc::new(SingleCertAndKey::from(certified)),
        )?;
        Ok(Listener { config: Arc::new(config), verifier })
    }
}

/// A server config as every server here needs it: the given versions, ALPN h2 and http/1.1, and no
/// session resumption, because a resumed TLS 1.3 session skips the CertificateRequest and would hide
/// exactly what is being diagnosed.
pub(crate) fn server_config(
    provider: &Arc<CryptoProvider>,
    versions: &[&'static SupportedProtocolVersion],
    client_auth: Arc<dyn ClientCertVerifier>,
    certs: Arc<dyn ResolvesServerCert>,
) -> Result<ServerConfig> {
    let mut config = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| Error::input("TLS server versions", e.to_string()))?
        .with_client_cert_verifier(client_auth)
        .with_cert_resolver(certs);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(config)
}

/// Serve TLS connections on `listener` until `max_connections` have been accepted and served, or the
/// receiving end of `records` is dropped. Fails only if the configuration is unusable; every
/// connection problem is a record.
pub async fn run_listener(
    cfg: ListenConfig,
    listener: TcpListener,
    records: mpsc::Sender<ConnectionRecord>,
) -> Result<()> {
    run_listener_counted(cfg, listener, records, Arc::default()).await
}

/// [`run_listener`], counting what the flood defences refuse and cut in `stats`. Accepting never
/// waits for a handshake: a connection is admitted or closed at once (see [`flood`]).
pub async fn run_listener_counted(
    cfg: ListenConfig,
    listener: TcpListener,
    records: mpsc::Sender<ConnectionRecord>,
    stats: Arc<flood::FloodStats>,
) -> Result<()> {
    let server = Arc::new(Listener::new(&cfg)?);
    let gate = flood::Gate::new(stats);
    let mut connections = JoinSet::new();
    let mut accepted = 0usize;
    loop {
        if cfg.max_connections.is_some_and(|max| accepted >= max) {
            break;
        }
        let (tcp, peer) = tokio::select! {
            accept = listener.accept() => match accept {
                Ok(pair) => pair,
                Err(_) => {
                    // Accept errors (a reset before accept, no file descriptors left) are about one
                    // connection or a passing shortage; pause instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = records.closed() => break,
        };
        let at = Instant::now();
        // Refused: closed here, before any byte is read; the gate counted it.
        let Ok(ticket) = gate.admit(peer.ip()) else {
            drop(tcp);
            continue;
        };
        accepted += 1;
        let server = server.clone();
        let records = records.clone();
        connections.spawn(async move {
            let record = serve_connection(&server, tcp, peer, ticket, at).await;
            // A receiver that went away has stopped caring; the listener notices at its next accept.
            let _ = records.send(record).await;
        });
        while connections.try_join_next().is_some() {}
    }
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Why a handshake step was cut off, with the deadline that applied.
fn deadline_text(what: &str, passed: flood::DeadlinePassed) -> String {
    let flood::DeadlinePassed(deadline) = passed;
    let under_load =
        if deadline < flood::IDLE_HANDSHAKE_DEADLINE { " (shortened: many handshakes pending)" } else { "" };
    format!("{what} within {}{under_load}", flood::seconds(deadline))
}

/// One connection's life; the ticket (its place in the flood counts) goes with the connection.
async fn serve_connection(
    server: &Listener,
    mut tcp: TcpStream,
    peer: SocketAddr,
    mut ticket: flood::Ticket,
    at: Instant,
) -> ConnectionRecord {
    let mut record = ConnectionRecord::accepted(peer);
    match ticket.within_deadline(at, sniff_plain_http(&mut tcp)).await {
        Err(passed) => {
            record.handshake_error = Some(deadline_text("no ClientHello", passed));
            return record;
        }
        Ok(Err(e)) => {
            record.handshake_error = Some(format!("connection failed before the handshake: {e}"));
            return record;
        }
        Ok(Ok(Some(Sniffed::Http(request_line)))) => {
            ticket.established();
            record.handshake_error = Some(format!("plain HTTP sent to the TLS port: {request_line}"));
            answer_plain_http(&mut tcp).await;
            return record;
        }
        Ok(Ok(Some(Sniffed::Neither(first)))) => {
            record.handshake_error = Some(format!("neither TLS nor HTTP: the client's first bytes were {first}"));
            return record;
        }
        Ok(Ok(None)) => {}
    }
    let start = match ticket.within_deadline(at, LazyConfigAcceptor::new(Acceptor::default(), tcp)).await {
        Err(passed) => {
            record.handshake_error = Some(deadline_text("no ClientHello", passed));
            return record;
        }
        Ok(Err(e)) => {
            record.handshake_error = Some(io_error_text(&e));
            return record;
        }
        Ok(Ok(start)) => start,
    };
    record.sni = start.client_hello().server_name().map(str::to_string);
    let tls = match ticket.within_deadline(at, start.into_stream(server.config.clone())).await {
        Err(passed) => {
            record.handshake_error = Some(deadline_text("handshake not finished", passed));
            return record;
        }
        Ok(Err(e)) => {
            record.handshake_error = Some(io_error_text(&e));
            return record;
        }
        Ok(Ok(tls)) => tls,
    };
    ticket.established();
    let facts = Arc::new(TlsFacts::from_connection(peer, tls.get_ref().1, Some(&server.verifier)));
    record.established(&facts);
    let requests = Arc::new(Mutex::new(Vec::new()));
    let h2 = facts.alpn.as_deref() == Some("h2");
    let seen = requests.clone();
    serve_http(tls, h2, move |req| echo(req, facts.clone(), seen.clone())).await;
    record.requests = std::mem::take(&mut *requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    record
}

async fn echo(
    req: Request<Incoming>,
    facts: Arc<TlsFacts>,
    seen: Arc<Mutex<Vec<RequestEcho>>>,
) -> Response<Full<Bytes>> {
    let (request, body) = read_request(req).await;
    seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(request.clone());
    match body {
        Ok(_) => json_response(StatusCode::OK, &Echo { tls: (*facts).clone(), request }),
        Err(problem) => problem.response(),
    }
}

/// A request whose body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyProblem {
    TooLarge,
    TimedOut,
    Broken(String),
}

impl BodyProblem {
    pub(crate) fn response(&self) -> Response<Full<Bytes>> {
        let (status, detail) = match self {
            BodyProblem::TooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, format!("request body larger than {BODY_LIMIT} bytes"))
            }
            BodyProblem::TimedOut => (
                StatusCode::REQUEST_TIMEOUT,
                format!("request body not received within {} s", BODY_READ_TIMEOUT.as_secs()),
            ),
            BodyProblem::Broken(why) => (StatusCode::BAD_REQUEST, format!("request body could not be read: {why}")),
        };
        json_response(status, &serde_json::json!({ "error": status.canonical_reason(), "detail": detail }))
    }
}

/// The request's echo and its body (bounded in size and time).
pub(crate) async fn read_request(req: Request<Incoming>) -> (RequestEcho, std::result::Result<Bytes, BodyProblem>) {
    let (parts, body) = req.into_parts();
    let mut request = RequestEcho::from_parts(&parts);
    let body = read_body(body).await;
    if let Ok(bytes) = &body {
        request.body_bytes = bytes.len();
    }
    (request, body)
}

/// A request body, at most [`BODY_LIMIT`] bytes, within [`BODY_READ_TIMEOUT`].
pub(crate) async fn read_body(body: Incoming) -> std::result::Result<Bytes, BodyProblem> {
    match tokio::time::timeout(BODY_READ_TIMEOUT, Limited::new(body, BODY_LIMIT).collect()).await {
        Err(_) => Err(BodyProblem::TimedOut),
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(BodyProblem::TooLarge),
        Ok(Err(e)) => Err(BodyProblem::Broken(e.to_string())),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

pub(crate) fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Full<Bytes>> {
    let (status, bytes) = match serde_json::to_vec_pretty(body) {
        Ok(mut bytes) => {
            bytes.push(b'\n');
            (status, bytes)
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{{\"error\":\"cannot encode JSON: {e}\"}}\n").into()),
    };
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Serve HTTP/1.1 (one request, then close) or HTTP/2 on an established stream, bounded by
/// [`CONNECTION_LIFETIME`]. Protocol errors are the client's and end the connection quietly.
pub(crate) async fn serve_http<S, H, F>(stream: S, h2: bool, handler: H)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let answer = handler(req);
        async move { Ok::<_, Infallible>(answer.await) }
    });
    let io = TokioIo::new(stream);
    if h2 {
        let streams = StreamTasks::default();
        let conn = hyper::server::conn::http2::Builder::new(streams.clone())
            .timer(TokioTimer::new())
            .serve_connection(io, service);
        let _ = tokio::time::timeout(CONNECTION_LIFETIME, conn).await;
        streams.abort_all();
    } else {
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .keep_alive(false)
            .serve_connection(io, service);
        let _ = tokio::time::timeout(CONNECTION_LIFETIME, conn).await;
    }
}

/// The executor HTTP/2 spawns its stream tasks on: they belong to the connection, and are aborted
/// when it ends or is dropped (a stopped server leaves no stream task behind).
#[derive(Clone, Default)]
struct StreamTasks(Arc<Mutex<JoinSet<()>>>);

impl StreamTasks {
    fn abort_all(&self) {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).abort_all();
    }
}

impl<F> hyper::rt::Executor<F> for StreamTasks
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, stream: F) {
        let mut tasks = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        while tasks.try_join_next().is_some() {}
        tasks.spawn(stream);
    }
}

/// rustls' own words when the I/O error carries a rustls error (tokio-rustls wraps them).
pub(crate) fn io_error_text(e: &io::Error) -> String {
    match crate::probe::tls::rustls_error_of(e) {
        Some(tls) => tls.to_string(),
        None => e.to_string(),
    }
}
