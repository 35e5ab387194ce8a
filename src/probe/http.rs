//! The HTTP phase of a probe with hyper, over the TLS stream the handshake produced: status,
//! headers (secrets redacted), the first 4 KiB of the body, time to first byte.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};

use super::stream::{h2_error_name, Recording, StreamFacts};
use super::{display_header_value, HttpFailureKind, HttpResult, ProbeOptions};

/// How much of the body is kept.
pub const BODY_PREVIEW_LIMIT: usize = 4096;
/// Largest response head accepted (HTTP/1.1 buffer, HTTP/2 header list).
const MAX_HEAD_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HttpFailure {
    /// A TLS-level error surfaced while exchanging HTTP (for TLS 1.3: the client-certificate
    /// rejection that arrives after the handshake). Taken from the stream itself, so HTTP/2
    /// cannot hide it.
    #[error("TLS error: {0}")]
    Tls(rustls::Error),
    /// Everything else, typed, with the error's source chain (outermost first).
    #[error("{message}")]
    Failed { kind: HttpFailureKind, message: String, chain: Vec<String> },
}

impl HttpFailure {
    fn plain(kind: HttpFailureKind, message: impl Into<String>) -> Self {
        HttpFailure::Failed { kind, message: message.into(), chain: vec![] }
    }
}

/// Before the request: a test for "the server's first record after the handshake has arrived", and
/// how long to wait for it.
pub type Settle = (Box<dyn Fn() -> bool + Send>, Duration);

/// Send one request and read the head and a bounded part of the body. The head must arrive within
/// the HTTP time limit; a body that stalls after it is cut off at the same limit and marked
/// `body_timed_out`, keeping the status and headers that did arrive.
pub async fn request<S>(io: S, h2: bool, opts: &ProbeOptions, settle: Option<Settle>) -> Result<HttpResult, HttpFailure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut io, log) = Recording::new(io);
    if let Some((arrived, wait)) = settle {
        io.settle(arrived, wait).await;
        if let Some(e) = log.facts().first_tls_error {
            return Err(HttpFailure::Tls(e));
        }
    }
    let limit = opts.timeouts.http_ms;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(limit);
    let outcome = tokio::time::timeout_at(deadline, exchange(io, h2, opts, deadline)).await;
    let facts = log.facts();
    // The stream's own record wins: it is the TLS alert, whatever hyper made of it.
    if let Some(e) = facts.first_tls_error.clone() {
        if !matches!(outcome, Ok(Ok(_))) {
            return Err(HttpFailure::Tls(e));
        }
    }
    match outcome {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(name_failure(e, &facts)),
        Err(_) => Err(HttpFailure::plain(HttpFailureKind::Timeout, format!("no response within {limit} ms"))),
    }
}

/// Turn a hyper error into a named outcome, using what the stream saw.
fn name_failure(e: HttpFailure, facts: &StreamFacts) -> HttpFailure {
    let HttpFailure::Failed { kind: HttpFailureKind::Other, message, chain } = e else { return e };
    use std::io::ErrorKind;
    let reset = matches!(
        facts.first_io_error,
        Some(ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe)
    );
    let kind = if reset && facts.bytes_written > 0 {
        HttpFailureKind::ResetAfterRequest
    } else if facts.bytes_read == 0 && (facts.eof || facts.first_io_error == Some(ErrorKind::UnexpectedEof)) {
        HttpFailureKind::ClosedBeforeResponse
    } else {
        HttpFailureKind::Other
    };
    let message = match &kind {
        HttpFailureKind::ResetAfterRequest => "the server reset the connection after the request".to_string(),
        HttpFailureKind::ClosedBeforeResponse => "the server closed the connection before any response".to_string(),
        _ => message,
    };
    HttpFailure::Failed { kind, message, chain }
}

async fn exchange<S>(
    io: S,
    h2: bool,
    opts: &ProbeOptions,
    deadline: tokio::time::Instant,
) -> Result<HttpResult, HttpFailure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let host = super::url::bracket(&opts.host);
    let authority = if opts.port == 443 { host } else { format!("{host}:{}", opts.port) };
    let path = if opts.path.starts_with('/') { opts.path.clone() } else { format!("/{}", opts.path) };
    let method = hyper::Method::from_bytes(opts.method.as_bytes())
        .map_err(|_| HttpFailure::plain(HttpFailureKind::Other, format!("invalid HTTP method {:?}", opts.method)))?;
    let mut builder = if h2 {
        hyper::Request::builder().method(method).uri(format!("https://{authority}{path}"))
    } else {
        hyper::Request::builder().method(method).uri(path.as_str()).header(hyper::header::HOST, authority.as_str())
    };
    builder = builder.header(hyper::header::USER_AGENT, concat!("mtls-doctor/", env!("CARGO_PKG_VERSION")));
    for h in &opts.headers {
        builder = builder.header(h.name.as_str(), h.value.as_str());
    }
    let body = match &opts.body {
        None => Bytes::new(),
        Some(b) => match b.bytes() {
            Some(bytes) => Bytes::copy_from_slice(bytes),
            None => return Err(HttpFailure::plain(HttpFailureKind::Other, super::body::NOT_SAVED)),
        },
    };
    if opts.body.is_some() && !opts.headers.iter().any(|h| h.name.eq_ignore_ascii_case("content-length")) {
        builder = builder.header(hyper::header::CONTENT_LENGTH, body.len());
    }
    // The error text of a bad header could echo its value: say only which header.
    let req = builder.body(Full::new(body)).map_err(|_| {
        HttpFailure::plain(
            HttpFailureKind::Other,
            "a request header or the path is not valid HTTP (check --header and --path)",
        )
    })?;
    let sent = super::SentRequest {
        method: req.method().as_str().to_string(),
        target: req.uri().to_string(),
        headers: redacted_headers(req.headers()),
        body: opts.body.clone(),
    };

    let io = TokioIo::new(io);
    let started = Instant::now();
    let response = if h2 {
        let (mut sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .max_header_list_size(MAX_HEAD_BYTES as u32)
            .handshake(io)
            .await
            .map_err(map_hyper)?;
        let driver = tokio::spawn(conn);
        let r = sender.send_request(req).await.map_err(map_hyper);
        if r.is_err() {
            driver.abort();
        }
        r?
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
            .max_buf_size(MAX_HEAD_BYTES)
            .handshake(io)
            .await
            .map_err(map_hyper)?;
        tokio::spawn(conn);
        sender.send_request(req).await.map_err(map_hyper)?
    };
    let ttfb_ms = super::ms(started.elapsed());

    let version = match response.version() {
        hyper::Version::HTTP_2 => "HTTP/2",
        hyper::Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    }
    .to_string();
    let status = response.status().as_u16();
    let headers = redacted_headers(response.headers());

    let content_length = response
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut body = response.into_body();
    let mut preview = Vec::new();
    let mut received: u64 = 0;
    let mut truncated = false;
    // Read a secret's length past the cut and redact before cutting: an echoed secret straddling
    // byte 4096 would otherwise survive as its first characters.
    let secrets = super::secrets::request_secrets_with_body(&opts.headers, opts.body.as_ref());
    let read_limit = BODY_PREVIEW_LIMIT + super::secrets::slack(&secrets, BODY_PREVIEW_LIMIT);
    let mut body_timed_out = false;
    let mut body_cut_short = None;
    loop {
        // Leave a little of the time for the caller: a stalled body keeps the head that arrived.
        let frame = match tokio::time::timeout_at(deadline - Duration::from_millis(50), body.frame()).await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                body_timed_out = true;
                break;
            }
        };
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                // The body broke off (hyper: "end of file before message length reached").
                truncated = true;
                body_cut_short = Some(crate::text::clean(&error_chain_text(&e)));
                break;
            }
        };
        if let Ok(data) = frame.into_data() {
            received += data.len() as u64;
            let room = read_limit - preview.len();
            preview.extend_from_slice(&data[..data.len().min(room)]);
            if data.len() > room || preview.len() >= read_limit {
                truncated = data.len() > room;
                break;
            }
        }
    }
    Ok(HttpResult {
        version,
        status,
        headers,
        body_truncated: truncated || preview.len() > BODY_PREVIEW_LIMIT,
        body_preview: super::secrets::redacted_prefix(&preview, &secrets, BODY_PREVIEW_LIMIT),
        body_timed_out,
        body_bytes_received: received,
        content_length,
        body_cut_short,
        ttfb_ms,
        request: Some(sent),
    })
}

/// Headers as `[name, value]` pairs with secret values redacted (requests and responses alike).
fn redacted_headers(headers: &hyper::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            let name = k.as_str().to_string();
            let value = display_header_value(&name, &String::from_utf8_lossy(v.as_bytes()));
            (name, value)
        })
        .collect()
}

fn map_hyper(e: hyper::Error) -> HttpFailure {
    if let Some(tls) = super::tls::rustls_error_in_chain(&e) {
        return HttpFailure::Tls(tls.clone());
    }
    // Walk the source chain for the HTTP/2 error code, keeping each distinct message.
    let mut chain = Vec::new();
    let mut h2_code = None;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = cur {
        if let Some(h2e) = err.downcast_ref::<h2::Error>() {
            if let Some(reason) = h2e.reason() {
                h2_code.get_or_insert((h2_error_name(u32::from(reason)), h2e.is_remote()));
            }
        }
        let text = err.to_string();
        if chain.last() != Some(&text) {
            chain.push(text);
        }
        cur = err.source();
    }
    if let Some((code, by_peer)) = h2_code {
        let message = if by_peer {
            format!("the server ended the HTTP/2 stream with {code}")
        } else {
            format!("HTTP/2 error {code}")
        };
        return HttpFailure::Failed { kind: HttpFailureKind::Http2 { code, by_peer }, message, chain };
    }
    let message = chain.join(": ");
    HttpFailure::Failed { kind: HttpFailureKind::Other, message, chain }
}

/// An error and its sources, joined with ": ".
fn error_chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.dedup();
    parts.join(": ")
}
