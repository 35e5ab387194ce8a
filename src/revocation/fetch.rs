//! Bounded HTTP fetching of CRLs and OCSP responses with hyper, cached for the whole run.
//!
//! Only `http://` is fetched, as .NET does for revocation URLs (CRLs and OCSP responses are
//! signed, so they travel over plain HTTP; an `https://` CDP would need revocation checking to
//! check itself). Every request is bounded in time (connect, head and body together) and the body
//! in size; a failure is a [`FetchError`] the caller records, never a panic or a hang.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// Why a URL gave no usable bytes. Displayed as a short phrase after the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("not an http:// URL (.NET fetches revocation data over plain HTTP only)")]
    NotHttp,
    #[error("not a valid URL")]
    BadUrl,
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("no complete answer within {0} ms")]
    Timeout(u64),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("redirected to {0} (not followed)")]
    Redirect(String),
    #[error("larger than the {0}-byte limit")]
    TooLarge(usize),
    #[error("HTTP error: {0}")]
    Protocol(String),
}

/// Limits for every request of a run.
#[derive(Debug, Clone, Copy)]
pub struct FetchLimits {
    pub timeout: Duration,
    pub max_bytes: usize,
}

impl Default for FetchLimits {
    /// 15 s lets a slow CA answer without a black-holed URL stalling the run; 10 MiB holds the
    /// CRLs of public CAs, which reach a few MiB.
    fn default() -> Self {
        FetchLimits { timeout: Duration::from_secs(15), max_bytes: 10 * 1024 * 1024 }
    }
}

/// A request: the URL and, for OCSP, the body posted.
type RequestKey = (String, Vec<u8>);

/// One HTTP client for a run: each distinct request goes out once, repeated ones are answered
/// from the cache (a CA's CRL is named by every certificate it issued).
#[derive(Debug)]
pub struct Fetcher {
    limits: FetchLimits,
    cache: Mutex<HashMap<RequestKey, Result<Bytes, FetchError>>>,
    requests_sent: Mutex<usize>,
}

impl Fetcher {
    pub fn new(limits: FetchLimits) -> Self {
        Fetcher { limits, cache: Mutex::new(HashMap::new()), requests_sent: Mutex::new(0) }
    }

    /// How many requests actually went out (cache misses).
    pub fn requests_sent(&self) -> usize {
        self.requests_sent.lock().map(|n| *n).unwrap_or(0)
    }

    /// GET `url` (CRLs).
    pub async fn get(&self, url: &str) -> Result<Bytes, FetchError> {
        self.cached(url, None).await
    }

    /// POST `body` to `url` as an OCSP request.
    pub async fn post_ocsp(&self, url: &str, body: Vec<u8>) -> Result<Bytes, FetchError> {
        self.cached(url, Some(body)).await
    }

    async fn cached(&self, url: &str, body: Option<Vec<u8>>) -> Result<Bytes, FetchError> {
        let key = (url.to_string(), body.clone().unwrap_or_default());
        if let Some(hit) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return hit;
        }
        if let Ok(mut n) = self.requests_sent.lock() {
            *n += 1;
        }
        let ms = u64::try_from(self.limits.timeout.as_millis()).unwrap_or(u64::MAX);
        let result = match tokio::time::timeout(self.limits.timeout, fetch(url, body, self.limits.max_bytes)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(ms)),
        };
        if let Ok(mut c) = self.cache.lock() {
            c.insert(key, result.clone());
        }
        result
    }
}

async fn fetch(url: &str, body: Option<Vec<u8>>, max_bytes: usize) -> Result<Bytes, FetchError> {
    if !url.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("http://")) {
        return Err(FetchError::NotHttp);
    }
    let uri: hyper::Uri = url.parse().map_err(|_| FetchError::BadUrl)?;
    let host = uri.host().ok_or(FetchError::BadUrl)?;
    let port = uri.port_u16().unwrap_or(80);
    // `Uri::host` keeps the brackets of an IPv6 literal; the socket address wants them off.
    let connect_host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let stream = tokio::net::TcpStream::connect((connect_host.as_str(), port))
        .await
        .map_err(|e| FetchError::Connect(e.to_string()))?;
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|e| FetchError::Protocol(e.to_string()))?;
    let connection = tokio::spawn(conn);
    let authority = uri.authority().map(|a| a.as_str().to_string()).unwrap_or_else(|| host.to_string());
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let builder = hyper::Request::builder()
        .uri(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::USER_AGENT, concat!("mtls-doctor/", env!("CARGO_PKG_VERSION")));
    let request = match body {
        None => builder.method(hyper::Method::GET).body(Full::new(Bytes::new())),
        Some(b) => builder
            .method(hyper::Method::POST)
            .header(hyper::header::CONTENT_TYPE, "application/ocsp-request")
            .body(Full::new(Bytes::from(b))),
    }
    .map_err(|e| FetchError::Protocol(e.to_string()))?;
    let response = sender.send_request(request).await.map_err(|e| FetchError::Protocol(e.to_string()));
    let result = match response {
        Ok(r) => read_body(r, max_bytes).await,
        Err(e) => Err(e),
    };
    connection.abort();
    result
}

async fn read_body(response: hyper::Response<hyper::body::Incoming>, max_bytes: usize) -> Result<Bytes, FetchError> {
    let status = response.status();
    if status.is_redirection() {
        let to = response
            .headers()
            .get(hyper::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("an unnamed location")
            .to_string();
        return Err(FetchError::Redirect(super::without_userinfo(&to)));
    }
    if !status.is_success() {
        return Err(FetchError::Status(status.as_u16()));
    }
    let declared = response
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_bytes as u64) {
        return Err(FetchError::TooLarge(max_bytes));
    }
    let mut body = response.into_body();
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| FetchError::Protocol(e.to_string()))?;
        if let Some(chunk) = frame.data_ref() {
            if out.len() + chunk.len() > max_bytes {
                return Err(FetchError::TooLarge(max_bytes));
            }
            out.extend_from_slice(chunk);
        }
    }
    Ok(Bytes::from(out))
}
