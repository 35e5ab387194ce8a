//! The lab gateway: one TLS port routed by SNI, the `/echo` and `/secure/*` routes, and forwarding
//! to backends over mutual TLS with API Management's `BackendConnectionFailure` when that fails.

use std::collections::{BTreeMap, HashMap};
use std::error::Error as StdError;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::server::{Acceptor, ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::ServerName;
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::{LazyConfigAcceptor, TlsConnector};

use super::pki::LabPki;
use super::{
    backend_host, BACKENDS, BACKEND_BODY_LIMIT, BACKEND_CONNECT_TIMEOUT, BACKEND_HANDSHAKE_TIMEOUT,
    BACKEND_RESPONSE_TIMEOUT, HOP_BY_HOP, HOST_DEFAULT, HOST_NEGOTIATE, HOST_NO_NEGOTIATE,
};
use crate::danger::client_auth::{ClientAuthPolicy, RecordingClientVerifier};
use crate::error::{Error, Result};
use crate::listen::{
    json_response, read_body, read_request, serve_http, server_config, Echo, TlsFacts, HANDSHAKE_TIMEOUT,
};
use crate::pki::Issued;

/// Picks the gateway certificate by SNI; an unknown or missing name gets the default hostname's
/// certificate, as API Management serves its default certificate.
#[derive(Debug)]
pub(super) struct SniCertResolver {
    by_name: HashMap<String, Arc<CertifiedKey>>,
    fallback: Arc<CertifiedKey>,
}

impl ResolvesServerCert for SniCertResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let chosen = client_hello.server_name().and_then(|name| self.by_name.get(&name.to_ascii_lowercase()));
        Some(chosen.unwrap_or(&self.fallback).clone())
    }
}

pub(super) fn certified(provider: &CryptoProvider, issued: &Issued, what: &str) -> Result<Arc<CertifiedKey>> {
    CertifiedKey::from_der(vec![issued.cert_der()], issued.private_key_der(), provider)
        .map(Arc::new)
        .map_err(|e| Error::input(format!("lab certificate {what}"), e.to_string()))
}

/// The gateway's shared state: its TLS configs, policy settings and outbound clients.
pub(super) struct Gateway {
    pub(super) negotiate: Arc<ServerConfig>,
    pub(super) no_negotiate: Arc<ServerConfig>,
    pub(super) verifier: Arc<RecordingClientVerifier>,
    pub(super) allowed_thumbprints: RwLock<Vec<String>>,
    pub(super) presents_cert: AtomicBool,
    pub(super) backends: BTreeMap<&'static str, SocketAddr>,
    pub(super) outbound_with_cert: Arc<ClientConfig>,
    pub(super) outbound_without_cert: Arc<ClientConfig>,
}

/// The answer of `/secure/*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecureAnswer {
    pub status: u16,
    pub allowed: bool,
    /// The check that failed: `certificate-present`, `certificate-valid` or `thumbprint-allowed`.
    pub failed_check: Option<String>,
    pub reason: String,
    /// The client certificate's SHA-1 thumbprint (as `context.Request.Certificate.Thumbprint`).
    pub thumbprint: Option<String>,
    pub subject: Option<String>,
}

/// The 502 body when the gateway cannot reach a backend, named as API Management names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendFailure {
    /// Always `BackendConnectionFailure`.
    pub error: String,
    pub backend: String,
    /// `connect`, `tls-handshake`, `request` (TLS 1.3 client-certificate rejections show up here) or
    /// `response`.
    pub stage: String,
    pub detail: String,
    /// The TLS alert the backend sent, by its RFC 8446 name (`unknown_ca`, `certificate_required`, …).
    pub alert: Option<String>,
    /// What was wrong with the backend's certificate, by rustls' `CertificateError` variant name
    /// (`UnknownIssuer`, `NotValidForNameContext`, `ExpiredContext`, …).
    pub certificate_error: Option<String>,
    /// Whether the gateway presented its client certificate.
    pub gateway_presented_certificate: bool,
}

pub(super) fn gateway(
    provider: &Arc<CryptoProvider>,
    pki: &LabPki,
    backends: BTreeMap<&'static str, SocketAddr>,
) -> Result<Gateway> {
    let by_name = HashMap::from([
        (HOST_NEGOTIATE.to_string(), certified(provider, &pki.gateway_api, HOST_NEGOTIATE)?),
        (HOST_NO_NEGOTIATE.to_string(), certified(provider, &pki.gateway_noneg, HOST_NO_NEGOTIATE)?),
        (HOST_DEFAULT.to_string(), certified(provider, &pki.gateway_default, HOST_DEFAULT)?),
    ]);
    let fallback = certified(provider, &pki.gateway_default, HOST_DEFAULT)?;
    let certs: Arc<dyn ResolvesServerCert> = Arc::new(SniCertResolver { by_name, fallback });
    let verifier =
        Arc::new(RecordingClientVerifier::new(&pki.client_ca(), ClientAuthPolicy::JUDGE_ONLY, provider.clone())?);
    let negotiate = server_config(provider, rustls::ALL_VERSIONS, verifier.clone(), certs.clone())?;
    let no_negotiate = server_config(provider, rustls::ALL_VERSIONS, WebPkiClientVerifier::no_client_auth(), certs)?;
    Ok(Gateway {
        negotiate: Arc::new(negotiate),
        no_negotiate: Arc::new(no_negotiate),
        verifier,
        allowed_thumbprints: RwLock::new(vec![pki.client_good.thumbprint()]),
        presents_cert: AtomicBool::new(true),
        backends,
        outbound_with_cert: Arc::new(outbound_config(provider, pki, true)?),
        outbound_without_cert: Arc::new(outbound_config(provider, pki, false)?),
    })
}

/// The gateway's TLS client towards backends: trusts the server root, checks names, and (when
/// `with_cert`) presents `gateway_outbound`. No resumption, so a changed setting is never masked by
/// a resumed session.
pub(super) fn outbound_config(provider: &Arc<CryptoProvider>, pki: &LabPki, with_cert: bool) -> Result<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(pki.server_root.cert_der()).map_err(|e| Error::input("lab server root", e.to_string()))?;
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| Error::input("gateway outbound TLS versions", e.to_string()))?
        .with_root_certificates(roots);
    let mut config = if with_cert {
        builder
            .with_client_auth_cert(vec![pki.gateway_outbound.cert_der()], pki.gateway_outbound.private_key_der())
            .map_err(|e| Error::input("lab certificate gateway-outbound", e.to_string()))?
    } else {
        builder.with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.resumption = Resumption::disabled();
    Ok(config)
}

pub(super) async fn gateway_connection(gateway: Arc<Gateway>, tcp: TcpStream, peer: SocketAddr) {
    let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
    let Ok(Ok(start)) = tokio::time::timeout_at(deadline, LazyConfigAcceptor::new(Acceptor::default(), tcp)).await
    else {
        return;
    };
    let negotiate = start.client_hello().server_name().is_some_and(|name| name.eq_ignore_ascii_case(HOST_NEGOTIATE));
    let config = if negotiate { gateway.negotiate.clone() } else { gateway.no_negotiate.clone() };
    let Ok(Ok(tls)) = tokio::time::timeout_at(deadline, start.into_stream(config)).await else {
        return;
    };
    let verifier = negotiate.then_some(gateway.verifier.as_ref());
    let facts = Arc::new(TlsFacts::from_connection(peer, tls.get_ref().1, verifier));
    let h2 = facts.alpn.as_deref() == Some("h2");
    serve_http(tls, h2, move |req| gateway_route(gateway.clone(), facts.clone(), req)).await;
}

pub(super) async fn gateway_route(
    gateway: Arc<Gateway>,
    facts: Arc<TlsFacts>,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    if path == "/echo" {
        if req.method() != Method::GET {
            return error_response(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "use GET /echo");
        }
        let (request, body) = read_request(req).await;
        return match body {
            Ok(_) => json_response(StatusCode::OK, &Echo { tls: (*facts).clone(), request }),
            Err(problem) => problem.response(),
        };
    }
    if path == "/secure" || path.starts_with("/secure/") {
        let (_, body) = read_request(req).await;
        if let Err(problem) = body {
            return problem.response();
        }
        let answer = secure_check(&gateway, &facts);
        let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::FORBIDDEN);
        return json_response(status, &answer);
    }
    if let Some(rest) = path.strip_prefix("/backend/") {
        let (name, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let name = name.to_string();
        let tail = tail.to_string();
        return forward(&gateway, &facts, &name, &tail, req).await;
    }
    error_response(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("no route for {path}; routes are GET /echo, /secure/*, /backend/{{name}}/*"),
    )
}

pub(super) fn error_response(status: StatusCode, error: &str, detail: &str) -> Response<Full<Bytes>> {
    json_response(status, &serde_json::json!({ "error": error, "detail": detail }))
}

/// What a `validate-client-certificate`-like policy decides, in the order it checks.
pub(super) fn secure_check(gateway: &Gateway, facts: &TlsFacts) -> SecureAnswer {
    let deny = |check: &str, reason: String| SecureAnswer {
        status: 403,
        allowed: false,
        failed_check: Some(check.to_string()),
        reason,
        thumbprint: facts.client_certificate.as_ref().map(|c| c.thumbprint_sha1.clone()),
        subject: facts.client_certificate.as_ref().map(|c| c.subject.clone()),
    };
    let Some(cert) = &facts.client_certificate else {
        let negotiates = facts.sni.as_deref().is_some_and(|name| name.eq_ignore_ascii_case(HOST_NEGOTIATE));
        let reason = if negotiates {
            "no client certificate was presented".to_string()
        } else {
            format!(
                "no client certificate: hostname {} does not negotiate client certificates",
                facts.sni.as_deref().unwrap_or("(no SNI)")
            )
        };
        return deny("certificate-present", reason);
    };
    if !facts.verdict.ok {
        let why = facts.verdict.error.as_deref().unwrap_or("not trusted");
        return deny("certificate-valid", format!("client certificate did not validate against the client CA: {why}"));
    }
    let allowed = gateway.allowed_thumbprints.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !allowed.contains(&cert.thumbprint_sha1) {
        return deny("thumbprint-allowed", format!("thumbprint {} is not in the allow-list", cert.thumbprint_sha1));
    }
    SecureAnswer {
        status: 200,
        allowed: true,
        failed_check: None,
        reason: "client certificate accepted".into(),
        thumbprint: Some(cert.thumbprint_sha1.clone()),
        subject: Some(cert.subject.clone()),
    }
}

/// Aborts the spawned HTTP connection driver when the forward is over, whatever its outcome.
pub(super) struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(super) async fn forward(
    gateway: &Gateway,
    facts: &TlsFacts,
    name: &str,
    tail: &str,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let Some(addr) = gateway.backends.get(name).copied() else {
        return error_response(
            StatusCode::NOT_FOUND,
            "UnknownBackend",
            &format!("no lab backend {name:?}; known: {}", BACKENDS.join(", ")),
        );
    };
    let presents_cert = gateway.presents_cert.load(Ordering::SeqCst);
    let failure = |stage: &str, cause: TlsCause| {
        json_response(
            StatusCode::BAD_GATEWAY,
            &BackendFailure {
                error: "BackendConnectionFailure".into(),
                backend: name.to_string(),
                stage: stage.to_string(),
                detail: cause.detail,
                alert: cause.alert,
                certificate_error: cause.certificate_error,
                gateway_presented_certificate: presents_cert,
            },
        )
    };

    let (parts, body) = req.into_parts();
    let target = match parts.uri.query() {
        Some(query) => format!("/{tail}?{query}"),
        None => format!("/{tail}"),
    };
    let Ok(uri) = target.parse::<Uri>() else {
        return error_response(StatusCode::BAD_REQUEST, "BadRequest", "the forwarded path is not a valid URI");
    };
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(problem) => return problem.response(),
    };

    let host = backend_host(name);
    let tcp = match tokio::time::timeout(BACKEND_CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Err(_) => return failure("connect", TlsCause::plain(format!("no TCP connection to {addr} within 5 s"))),
        Ok(Err(e)) => return failure("connect", TlsCause::plain(format!("{addr}: {e}"))),
        Ok(Ok(tcp)) => tcp,
    };
    let Ok(server_name) = ServerName::try_from(host.clone()) else {
        return failure("connect", TlsCause::plain(format!("{host} is not a valid server name")));
    };
    let config = if presents_cert { gateway.outbound_with_cert.clone() } else { gateway.outbound_without_cert.clone() };
    let tls =
        match tokio::time::timeout(BACKEND_HANDSHAKE_TIMEOUT, TlsConnector::from(config).connect(server_name, tcp))
            .await
        {
            Err(_) => return failure("tls-handshake", TlsCause::plain("handshake not finished within 5 s".into())),
            Ok(Err(e)) => return failure("tls-handshake", TlsCause::of(&e)),
            Ok(Ok(tls)) => tls,
        };
    let (mut sender, connection) = match hyper::client::conn::http1::handshake(TokioIo::new(tls)).await {
        Err(e) => return failure("request", TlsCause::of(&e)),
        Ok(pair) => pair,
    };
    let _driver = AbortOnDrop(tokio::spawn(async move {
        // Its errors surface through `send_request`, where they are reported.
        let _ = connection.await;
    }));

    let mut outbound = Request::new(Full::new(body));
    *outbound.method_mut() = parts.method;
    *outbound.uri_mut() = uri;
    for (header, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&header.as_str()) {
            outbound.headers_mut().append(header.clone(), value.clone());
        }
    }
    if let Ok(value) = HeaderValue::from_str(&host) {
        outbound.headers_mut().insert(HOST, value);
    }
    if let Ok(value) = HeaderValue::from_str(&facts.peer) {
        outbound.headers_mut().insert(HeaderName::from_static("x-forwarded-for"), value);
    }

    let response = match tokio::time::timeout(BACKEND_RESPONSE_TIMEOUT, sender.send_request(outbound)).await {
        Err(_) => return failure("request", TlsCause::plain("no response within 10 s".into())),
        Ok(Err(e)) => return failure("request", TlsCause::of(&e)),
        Ok(Ok(response)) => response,
    };
    let (backend_parts, backend_body) = response.into_parts();
    let bytes =
        match tokio::time::timeout(BACKEND_RESPONSE_TIMEOUT, Limited::new(backend_body, BACKEND_BODY_LIMIT).collect())
            .await
        {
            Err(_) => return failure("response", TlsCause::plain("response body not received within 10 s".into())),
            Ok(Err(e)) => return failure("response", TlsCause::of_boxed(e.as_ref())),
            Ok(Ok(collected)) => collected.to_bytes(),
        };
    let mut relayed = Response::new(Full::new(bytes));
    *relayed.status_mut() = backend_parts.status;
    if let Some(content_type) = backend_parts.headers.get(CONTENT_TYPE) {
        relayed.headers_mut().insert(CONTENT_TYPE, content_type.clone());
    }
    if let Ok(value) = HeaderValue::from_str(name) {
        relayed.headers_mut().insert(HeaderName::from_static("x-lab-backend"), value);
    }
    relayed
}

/// Why a backend connection failed: rustls' own words when a TLS error is in the chain, with the
/// alert the backend sent or the certificate problem found, by rustls' variant names.
pub(super) struct TlsCause {
    detail: String,
    alert: Option<String>,
    certificate_error: Option<String>,
}

impl TlsCause {
    fn plain(detail: String) -> Self {
        TlsCause { detail, alert: None, certificate_error: None }
    }

    fn of(e: &(dyn StdError + 'static)) -> Self {
        match crate::probe::tls::rustls_error_in_chain(e) {
            Some(tls) => TlsCause {
                detail: tls.to_string(),
                alert: match tls {
                    rustls::Error::AlertReceived(alert) => Some(crate::probe::tls::alert_name(*alert)),
                    _ => None,
                },
                certificate_error: match tls {
                    rustls::Error::InvalidCertificate(problem) => Some(variant_name(problem)),
                    _ => None,
                },
            },
            None => TlsCause::plain(e.to_string()),
        }
    }

    fn of_boxed(e: &(dyn StdError + Send + Sync + 'static)) -> Self {
        TlsCause::of(e)
    }
}

/// `NotValidForNameContext { .. }` → `NotValidForNameContext`: the variant without its payload.
pub(super) fn variant_name(value: &impl fmt::Debug) -> String {
    let text = format!("{value:?}");
    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').next().unwrap_or_default().to_string()
}
