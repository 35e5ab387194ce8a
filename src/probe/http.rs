//! The HTTP phase of a probe with hyper, over the TLS stream the handshake produced: status,
//! headers (secrets redacted), the first 4 KiB of the body, time to first byte.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{display_header_value, HttpResult, ProbeOptions};

/// How much of the body is kept.
pub const BODY_PREVIEW_LIMIT: usize = 4096;
/// Largest response head accepted (HTTP/1.1 buffer, HTTP/2 header list).
const MAX_HEAD_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HttpFailure {
    /// A TLS-level error surfaced while exchanging HTTP (for TLS 1.3: the client-certificate
    /// rejection that arrives after the handshake).
    #[error("TLS error: {0}")]
    Tls(rustls::Error),
    #[error("the server closed the connection before any response")]
    Closed,
    #[error("no response within {0} ms")]
    Timeout(u64),
    #[error("{0}")]
    Protocol(String),
}

/// Send one request and read the head and a bounded part of the body.
pub async fn request<S>(io: S, h2: bool, opts: &ProbeOptions) -> Result<HttpResult, HttpFailure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limit = opts.timeouts.http_ms;
    match tokio::time::timeout(Duration::from_millis(limit), exchange(io, h2, opts)).await {
        Ok(r) => r,
        Err(_) => Err(HttpFailure::Timeout(limit)),
    }
}

async fn exchange<S>(io: S, h2: bool, opts: &ProbeOptions) -> Result<HttpResult, HttpFailure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let authority = if opts.port == 443 { opts.host.clone() } else { format!("{}:{}", opts.host, opts.port) };
    let path = if opts.path.starts_with('/') { opts.path.clone() } else { format!("/{}", opts.path) };
    let method = hyper::Method::from_bytes(opts.method.as_bytes())
        .map_err(|_| HttpFailure::Protocol(format!("invalid HTTP method {:?}", opts.method)))?;
    let mut builder = if h2 {
        hyper::Request::builder().method(method).uri(format!("https://{authority}{path}"))
    } else {
        hyper::Request::builder().method(method).uri(path.as_str()).header(hyper::header::HOST, authority.as_str())
    };
    builder = builder.header(hyper::header::USER_AGENT, concat!("mtls-doctor/", env!("CARGO_PKG_VERSION")));
    for h in &opts.headers {
        builder = builder.header(h.name.as_str(), h.value.as_str());
    }
    // The error text of a bad header could echo its value: say only which header.
    let req = builder.body(Empty::<Bytes>::new()).map_err(|_| {
        HttpFailure::Protocol("a request header or the path is not valid HTTP (check --header and --path)".into())
    })?;
    let sent = super::SentRequest {
        method: req.method().as_str().to_string(),
        target: req.uri().to_string(),
        headers: redacted_headers(req.headers()),
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

    let mut body = response.into_body();
    let mut preview = Vec::new();
    let mut truncated = false;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { break };
        if let Ok(data) = frame.into_data() {
            let room = BODY_PREVIEW_LIMIT - preview.len();
            preview.extend_from_slice(&data[..data.len().min(room)]);
            if data.len() > room || preview.len() >= BODY_PREVIEW_LIMIT {
                truncated = data.len() > room;
                break;
            }
        }
    }
    Ok(HttpResult {
        version,
        status,
        headers,
        body_preview: String::from_utf8_lossy(&preview).into_owned(),
        body_truncated: truncated,
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
    if e.is_incomplete_message() || e.is_closed() {
        return HttpFailure::Closed;
    }
    HttpFailure::Protocol(e.to_string())
}
