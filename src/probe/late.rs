//! The late-authentication re-run, with a second TLS engine (the system's OpenSSL through the
//! `openssl` crate), used only when a server asks for a client certificate after the handshake.
//! rustls never renegotiates and never offers TLS 1.3 post-handshake authentication (PHA); OpenSSL
//! answers a TLS 1.2 HelloRequest by itself. This run learns whether presenting the certificate
//! late works and what HTTP status that gets.
//!
//! The `openssl` crate has no safe call to offer PHA or to read a CertificateRequest on the client
//! side; the workspace crate `ossl-late` wraps exactly those (`SSL_CTX_set_post_handshake_auth`,
//! `SSL_get_client_CA_list`, `SSL_get_sigalgs`, `SSL_get_shared_sigalgs`), so this crate keeps
//! `forbid(unsafe_code)`. A late request is told apart from one in the handshake by reading the
//! server's signature schemes right after the handshake (none: nobody asked yet) and again after
//! the response.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use openssl::pkey::PKey;
use openssl::ssl::{ErrorCode, SslConnector, SslMethod, SslVersion};
use openssl::x509::X509;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::records::Watched;
use super::{display_header_value, Header};

/// How a server asks for a client certificate after the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LateMethod {
    /// TLS 1.2: a HelloRequest, then a second handshake with a CertificateRequest.
    Renegotiation,
    /// TLS 1.3: a CertificateRequest after the handshake, to a client that offered PHA.
    Pha,
}

/// A client certificate for the OpenSSL engine: the chain as DER, leaf first, and the private key
/// as DER (PKCS#8, PKCS#1 or SEC1), wiped when dropped. Never serialized.
#[derive(Clone)]
pub struct LateIdentity {
    pub chain_der: Vec<Vec<u8>>,
    pub key_der: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for LateIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LateIdentity").field("certificates", &self.chain_der.len()).finish_non_exhaustive()
    }
}

/// What to re-run.
#[derive(Debug, Clone)]
pub struct LateAuthRequest {
    pub address: SocketAddr,
    /// SNI and `Host:` (no SNI for an IP address).
    pub server_name: String,
    pub authority: String,
    pub method: String,
    pub path: String,
    pub headers: Vec<Header>,
    /// The body (`--data`), sent with its Content-Length unless a header gives one.
    pub body: Option<std::sync::Arc<[u8]>>,
    pub how: LateMethod,
    pub identity: Option<LateIdentity>,
    pub timeout: Duration,
}

/// What the re-run with late authentication offered saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LateAuthRun {
    /// `OpenSSL 3.0.19 …`, the library that ran.
    pub engine: String,
    pub how: LateMethod,
    /// Whether this engine could offer `how` at all; when not, `not_offered_reason` says why and
    /// nothing else was attempted.
    pub offered: bool,
    pub not_offered_reason: Option<String>,
    /// A client certificate was configured for the re-run.
    pub client_cert_configured: bool,
    pub tls_version: Option<String>,
    pub cipher_suite: Option<String>,
    /// The server started a handshake after the first one finished (seen in the record headers).
    pub server_renegotiated: bool,
    /// Why the late CertificateRequest's contents could not be read, when they could not.
    pub request_contents_unknown_reason: Option<String>,
    /// The server sent a CertificateRequest after the handshake (TLS 1.2 renegotiation or TLS 1.3
    /// post-handshake authentication) on this run.
    #[serde(default)]
    pub late_request_seen: bool,
    /// The server sent a CertificateRequest already in this run's handshake (then the contents
    /// below are that request's).
    #[serde(default)]
    pub requested_in_handshake: bool,
    /// The last CertificateRequest's acceptable CA names, in the server's order.
    #[serde(default)]
    pub acceptable_ca_names: Vec<String>,
    /// The last CertificateRequest's signature schemes (IANA names), in the server's order.
    #[serde(default)]
    pub signature_schemes: Vec<String>,
    /// Those the client's key and OpenSSL can also use: empty with a non-empty list above means no
    /// certificate can be signed for this server.
    #[serde(default)]
    pub shared_signature_schemes: Vec<String>,
    /// OpenSSL's complaint about the server chain, if any (the run went on, as s_client does).
    pub server_verify_problem: Option<String>,
    pub http_status: Option<u16>,
    pub http_version: Option<String>,
    /// Response headers, secret values redacted.
    pub http_headers: Vec<(String, String)>,
    /// The first 512 bytes of the body, lossily decoded.
    pub body_preview: String,
    /// TLS name of a fatal alert the server sent, if any.
    pub alert: Option<String>,
    /// What failed, in OpenSSL's words, when no response came.
    pub error: Option<String>,
    pub ms: f64,
}

const MAX_RESPONSE: usize = 64 * 1024;
const BODY_PREVIEW: usize = 512;
/// OpenSSL reports a received alert as reason code 1000 + the alert number (`SSL_AD_REASON_OFFSET`).
const ALERT_REASON_OFFSET: i32 = 1000;

const CONTENTS_UNKNOWN: &str =
    "the server renegotiated but OpenSSL kept no CertificateRequest from it (no signature schemes recorded)";

impl LateAuthRun {
    /// A run that was not made, and why.
    pub fn not_run(how: LateMethod, why: String) -> Self {
        let mut run = LateAuthRun::empty(how, false);
        run.not_offered_reason = Some(why);
        run
    }

    fn empty(how: LateMethod, client_cert_configured: bool) -> Self {
        LateAuthRun {
            engine: openssl::version::version().to_string(),
            how,
            offered: false,
            not_offered_reason: None,
            client_cert_configured,
            tls_version: None,
            cipher_suite: None,
            server_renegotiated: false,
            request_contents_unknown_reason: None,
            late_request_seen: false,
            requested_in_handshake: false,
            acceptable_ca_names: vec![],
            signature_schemes: vec![],
            shared_signature_schemes: vec![],
            server_verify_problem: None,
            http_status: None,
            http_version: None,
            http_headers: vec![],
            body_preview: String::new(),
            alert: None,
            error: None,
            ms: 0.0,
        }
    }
}

/// Run the re-run (blocking: call it from `spawn_blocking`). Never errors: failures are data.
pub fn run_late_auth(req: &LateAuthRequest) -> LateAuthRun {
    let started = Instant::now();
    let mut run = LateAuthRun::empty(req.how, req.identity.is_some());
    run.offered = true;
    if let Err(e) = exchange(req, &mut run) {
        run.error = Some(e);
    }
    run.ms = super::ms(started.elapsed());
    run
}

fn exchange(req: &LateAuthRequest, run: &mut LateAuthRun) -> Result<(), String> {
    let mut builder = SslConnector::builder(SslMethod::tls_client()).map_err(|e| format!("OpenSSL setup: {e}"))?;
    // Renegotiation exists only in TLS 1.2, post-handshake authentication only in TLS 1.3.
    let version = match req.how {
        LateMethod::Renegotiation => SslVersion::TLS1_2,
        LateMethod::Pha => {
            ossl_late::enable_post_handshake_auth(&mut builder);
            SslVersion::TLS1_3
        }
    };
    builder.set_min_proto_version(Some(version)).map_err(|e| format!("OpenSSL setup: {e}"))?;
    builder.set_max_proto_version(Some(version)).map_err(|e| format!("OpenSSL setup: {e}"))?;
    // HTTP/2 forbids both renegotiation and post-handshake authentication: offer HTTP/1.1 only.
    builder.set_alpn_protos(b"\x08http/1.1").map_err(|e| format!("OpenSSL setup: {e}"))?;
    let verdict = crate::danger::late_server_cert::record_and_continue(&mut builder);
    if let Some(id) = &req.identity {
        let leaf = id.chain_der.first().ok_or("the client chain is empty")?;
        let leaf = X509::from_der(leaf).map_err(|e| format!("client certificate not readable by OpenSSL: {e}"))?;
        builder.set_certificate(&leaf).map_err(|e| format!("client certificate: {e}"))?;
        for der in id.chain_der.iter().skip(1) {
            let c =
                X509::from_der(der).map_err(|e| format!("client chain certificate not readable by OpenSSL: {e}"))?;
            builder.add_extra_chain_cert(c).map_err(|e| format!("client chain: {e}"))?;
        }
        // The key's own error text never includes key material.
        let key = PKey::private_key_from_der(&id.key_der)
            .map_err(|_| "the private key cannot be read by OpenSSL".to_string())?;
        builder.set_private_key(&key).map_err(|e| format!("private key does not match the certificate: {e}"))?;
    }
    let connector = builder.build();
    let mut config = connector.configure().map_err(|e| format!("OpenSSL setup: {e}"))?;
    config.set_verify_hostname(false);
    let is_ip = req.server_name.parse::<std::net::IpAddr>().is_ok();
    config.set_use_server_name_indication(!is_ip);

    let tcp = TcpStream::connect_timeout(&req.address, req.timeout).map_err(|e| format!("TCP connect: {e}"))?;
    tcp.set_read_timeout(Some(req.timeout)).map_err(|e| e.to_string())?;
    tcp.set_write_timeout(Some(req.timeout)).map_err(|e| e.to_string())?;
    let (watched, _) = Watched::new(tcp);
    let deadline = Instant::now() + req.timeout;

    let mut tls = match config.connect(&req.server_name, watched) {
        Ok(s) => s,
        Err(e) => {
            run.server_verify_problem = verdict.problem();
            let (alert, msg) = describe_handshake_error(&e);
            run.alert = alert;
            return Err(format!("TLS handshake: {msg}"));
        }
    };
    run.server_verify_problem = verdict.problem();
    run.tls_version = Some(tls.ssl().version_str().to_string());
    run.cipher_suite = tls.ssl().current_cipher().map(|c| c.standard_name().unwrap_or(c.name()).to_string());
    // A client records the server's signature schemes only from a CertificateRequest.
    run.requested_in_handshake = !ossl_late::peer_signature_schemes(tls.ssl()).is_empty();

    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: mtls-doctor/{}\r\nConnection: close\r\n",
        req.method,
        if req.path.starts_with('/') { req.path.clone() } else { format!("/{}", req.path) },
        req.authority,
        env!("CARGO_PKG_VERSION")
    );
    for h in &req.headers {
        head.push_str(&format!("{}: {}\r\n", h.name, h.value));
    }
    if let Some(body) = &req.body {
        if !req.headers.iter().any(|h| h.name.eq_ignore_ascii_case("content-length")) {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
    }
    head.push_str("\r\n");
    let head = Zeroizing::new(head);
    let mut written = tls.write_all(head.as_bytes());
    if let (Ok(()), Some(body)) = (&written, &req.body) {
        written = tls.write_all(body);
    }

    // Read until the server closes, the head and a bit of body are in, or the time is up. OpenSSL
    // answers a HelloRequest inside these reads.
    let mut response = Vec::new();
    // A secret straddling the preview's end is read whole, so it is redacted before the cut.
    let body = req.body.as_ref().map(|b| super::body::RequestBody::new(b.to_vec()));
    let secrets = super::secrets::request_secrets_with_body(&req.headers, body.as_ref());
    let preview_read = BODY_PREVIEW + super::secrets::slack(&secrets, BODY_PREVIEW);
    let mut buf = [0u8; 4096];
    let mut read_error = None;
    while response.len() < MAX_RESPONSE && Instant::now() < deadline {
        match tls.ssl_read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                response.extend_from_slice(&buf[..n]);
                if let Some(end) = head_end(&response) {
                    if response.len() >= end + preview_read {
                        break;
                    }
                }
            }
            Err(e) if e.code() == ErrorCode::ZERO_RETURN => break,
            Err(e) => {
                read_error = Some(e);
                break;
            }
        }
    }
    let facts = tls.get_ref().watch().facts();
    run.server_renegotiated = facts.late_handshake_tls12();
    record_request_contents(tls.ssl(), run);
    if let Some(text) =
        std::str::from_utf8(&response[..head_end(&response).unwrap_or(0)]).ok().filter(|t| !t.is_empty())
    {
        parse_head(text, run);
        let end = head_end(&response).unwrap_or(response.len());
        let body = &response[end..response.len().min(end + preview_read)];
        run.body_preview = super::secrets::redacted_prefix(body, &secrets, BODY_PREVIEW);
    }
    if run.http_status.is_some() {
        return Ok(());
    }
    if let Some(e) = read_error {
        let (alert, msg) = describe_ssl_error(&e);
        run.alert = alert;
        return Err(format!("after the request: {msg}"));
    }
    if let Err(e) = written {
        return Err(format!("sending the request: {e}"));
    }
    if response.is_empty() {
        return Err("the server closed the connection before any response".into());
    }
    Err("the response head was incomplete or not HTTP".into())
}

/// What the last CertificateRequest contained, and whether it came after the handshake.
fn record_request_contents(ssl: &openssl::ssl::SslRef, run: &mut LateAuthRun) {
    let schemes = ossl_late::peer_signature_schemes(ssl);
    let name = |code: u16| crate::text::signature_scheme(rustls::SignatureScheme::from(code));
    run.late_request_seen = !run.requested_in_handshake && (!schemes.is_empty() || run.server_renegotiated);
    if schemes.is_empty() {
        if run.server_renegotiated {
            run.request_contents_unknown_reason = Some(CONTENTS_UNKNOWN.into());
        }
        return;
    }
    run.signature_schemes = schemes.into_iter().map(name).collect();
    run.shared_signature_schemes = ossl_late::shared_signature_schemes(ssl).into_iter().map(name).collect();
    run.acceptable_ca_names = ossl_late::peer_ca_names_der(ssl).iter().map(|der| super::tls::hint_name(der)).collect();
}

fn head_end(data: &[u8]) -> Option<usize> {
    data.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

fn parse_head(text: &str, run: &mut LateAuthRun) {
    let mut lines = text.split("\r\n");
    let Some(status_line) = lines.next() else { return };
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/") {
        return;
    }
    run.http_version = Some(version.to_string());
    run.http_status = parts.next().and_then(|s| s.parse().ok());
    run.http_headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), display_header_value(n.trim(), v.trim())))
        .collect();
}

fn describe_handshake_error<S>(e: &openssl::ssl::HandshakeError<S>) -> (Option<String>, String) {
    match e {
        openssl::ssl::HandshakeError::Failure(mid) => describe_ssl_error(mid.error()),
        openssl::ssl::HandshakeError::SetupFailure(stack) => (None, stack.to_string()),
        openssl::ssl::HandshakeError::WouldBlock(_) => (None, "timed out".into()),
    }
}

/// The alert (from OpenSSL's reason code, never its text) and a one-line description.
fn describe_ssl_error(e: &openssl::ssl::Error) -> (Option<String>, String) {
    let alert = e.ssl_error().and_then(|stack| {
        stack.errors().iter().find_map(|err| {
            let code = err.reason_code() - ALERT_REASON_OFFSET;
            u8::try_from(code)
                .ok()
                .filter(|_| err.reason_code() > ALERT_REASON_OFFSET)
                .map(|c| super::tls::alert_name(rustls::AlertDescription::from(c)))
        })
    });
    let msg = match (e.io_error(), e.ssl_error()) {
        (Some(io), _) if io.kind() == std::io::ErrorKind::WouldBlock || io.kind() == std::io::ErrorKind::TimedOut => {
            "no answer in time".to_string()
        }
        (Some(io), _) => io.to_string(),
        (None, Some(stack)) => stack.errors().first().and_then(|x| x.reason()).unwrap_or("TLS error").to_string(),
        (None, None) if e.code() == ErrorCode::SYSCALL => "the connection closed without an alert".to_string(),
        _ => format!("OpenSSL error code {}", e.code().as_raw()),
    };
    let msg = match &alert {
        Some(a) => format!("alert {a} received"),
        None => msg,
    };
    (alert, msg)
}
