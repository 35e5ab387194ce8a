//! An in-process lab: an API Management-like gateway and mutual-TLS backends on 127.0.0.1.
//!
//! Its PKI is made at start, so every failure the probe must diagnose can be reproduced without a
//! network or a committed key.
//!
//! The gateway has one TLS port routed by SNI, like API Management's hostnames:
//! - [`HOST_NEGOTIATE`] sends a CertificateRequest in every handshake, accepts any certificate (or
//!   none) and judges it later, as a hostname with "Negotiate client certificate" on does;
//! - [`HOST_NO_NEGOTIATE`] and [`HOST_DEFAULT`] (and any other name) never ask for one.
//!
//! Routes: `GET /echo` (the `listen` JSON echo), `/secure/*` (a policy-like certificate check, 403 with
//! a JSON reason), `/backend/{name}/*` (forwarded over mutual TLS to a lab backend; 502
//! `BackendConnectionFailure` when that fails). Backends are listed in [`BACKENDS`].

use std::collections::{BTreeMap, HashMap};
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

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
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion};
use rustls_pki_types::{CertificateDer, ServerName};
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::{LazyConfigAcceptor, TlsAcceptor, TlsConnector};

use crate::danger::client_auth::{ClientAuthPolicy, RecordingClientVerifier};
use crate::error::{Error, Result};
use crate::listen::{
    json_response, read_body, read_request, serve_http, server_config, Echo, TlsFacts, HANDSHAKE_TIMEOUT,
};
use crate::pki::{Issued, Spec};

/// The gateway hostname that negotiates client certificates.
pub const HOST_NEGOTIATE: &str = "api.lab.test";
/// A custom gateway hostname with negotiation off.
pub const HOST_NO_NEGOTIATE: &str = "noneg.lab.test";
/// The gateway's default (`*.azure-api.net`-like) hostname, which never negotiates.
pub const HOST_DEFAULT: &str = "lab-gw.azure-api.net";
/// The name on the `wrong-name` backend's certificate.
pub const WRONG_NAME_HOST: &str = "elsewhere.lab.test";

/// The lab backends, each on its own port with a certificate for [`backend_host`]`(name)` unless noted:
/// - `ok`: requires a client certificate chaining to the Gateway Client CA; refuses others with an alert;
/// - `distrusts-gateway`: requires one from the Other CA, so the gateway's is refused (unknown_ca);
/// - `optional`: asks for a client certificate, accepts any or none, and echoes its verdict;
/// - `untrusted-cert`: like `ok`, but its own certificate comes from a CA nobody trusts;
/// - `wrong-name`: like `ok`, but its certificate is for [`WRONG_NAME_HOST`];
/// - `tls12-only`: like `ok`, TLS 1.2 only;
/// - `no-client-auth`: plain TLS, never asks for a client certificate.
pub const BACKENDS: [&str; 7] =
    ["ok", "distrusts-gateway", "optional", "untrusted-cert", "wrong-name", "tls12-only", "no-client-auth"];

/// The hostname the gateway expects on backend `name`'s certificate.
pub fn backend_host(name: &str) -> String {
    format!("{name}.backend.lab.test")
}

/// For the gateway's outbound connection to a backend.
const BACKEND_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const BACKEND_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
const BACKEND_RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// A backend answer larger than this is a 502: lab backends only send small JSON.
const BACKEND_BODY_LIMIT: usize = 1024 * 1024;
/// Connections each lab server serves at once.
const MAX_CONNECTIONS_PER_SERVER: usize = 128;
/// How long [`Lab::shutdown`] waits for servers to stop before aborting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Request headers that describe one hop, not the request, and are not forwarded.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

/// Every certificate of the lab, made at start. Keys are secret test material: they exist only in
/// memory and in files written by [`LabPki::write_material`].
#[derive(Debug)]
pub struct LabPki {
    /// "mtls-doctor Lab Server Root": issues the gateway's and the backends' server certificates.
    pub server_root: Issued,
    /// Server certificates of the gateway hostnames.
    pub gateway_api: Issued,
    pub gateway_noneg: Issued,
    pub gateway_default: Issued,
    /// Server certificate of each backend, by backend name.
    pub backends: BTreeMap<String, Issued>,
    /// The CA nobody trusts, which issued the `untrusted-cert` backend's certificate.
    pub untrusted_root: Issued,
    /// Client root CA, and the issuing CA under it that signs the client leaves.
    pub client_root: Issued,
    pub client_issuing: Issued,
    pub client_good: Issued,
    /// Expired yesterday (valid from 30 days ago).
    pub client_expired: Issued,
    /// Has only the serverAuth extended key usage.
    pub client_server_only_eku: Issued,
    /// "Rogue Root", which the gateway does not trust, and the client certificate it issued.
    pub rogue_root: Issued,
    pub client_rogue: Issued,
    /// "Gateway Client CA", which issued the certificate the gateway presents to backends.
    pub gateway_client_ca: Issued,
    pub gateway_outbound: Issued,
    /// A CA the gateway's outbound certificate does not chain to (trusted by `distrusts-gateway`).
    pub other_ca: Issued,
}

impl LabPki {
    /// Make a fresh PKI (ECDSA P-256 keys throughout).
    pub fn generate() -> Result<LabPki> {
        let server_root = Issued::self_signed(&Spec::ca("mtls-doctor Lab Server Root"))?;
        let server_cert = |issuer: &Issued, host: &str| issuer.issue(&Spec::leaf(host).server_only().sans(&[host]));
        let gateway_api = server_cert(&server_root, HOST_NEGOTIATE)?;
        let gateway_noneg = server_cert(&server_root, HOST_NO_NEGOTIATE)?;
        let gateway_default = server_cert(&server_root, HOST_DEFAULT)?;
        let untrusted_root = Issued::self_signed(&Spec::ca("mtls-doctor Lab Untrusted Server Root"))?;
        let mut backends = BTreeMap::new();
        for name in BACKENDS {
            let cert = match name {
                "untrusted-cert" => server_cert(&untrusted_root, &backend_host(name))?,
                "wrong-name" => server_cert(&server_root, WRONG_NAME_HOST)?,
                _ => server_cert(&server_root, &backend_host(name))?,
            };
            backends.insert(name.to_string(), cert);
        }
        let client_root = Issued::self_signed(&Spec::ca("mtls-doctor Lab Client Root"))?;
        let client_issuing = client_root.issue(&Spec::ca("mtls-doctor Lab Client Issuing CA"))?;
        let client_good = client_issuing.issue(&Spec::leaf("lab-client-good").client_only())?;
        let client_expired =
            client_issuing.issue(&Spec::leaf("lab-client-expired").client_only().valid_days(-30, -1))?;
        let client_server_only_eku = client_issuing.issue(&Spec::leaf("lab-client-server-only-eku").server_only())?;
        let rogue_root = Issued::self_signed(&Spec::ca("mtls-doctor Lab Rogue Root"))?;
        let client_rogue = rogue_root.issue(&Spec::leaf("lab-client-rogue").client_only())?;
        let gateway_client_ca = Issued::self_signed(&Spec::ca("mtls-doctor Lab Gateway Client CA"))?;
        let gateway_outbound = gateway_client_ca.issue(&Spec::leaf("lab-gateway-outbound").client_only())?;
        let other_ca = Issued::self_signed(&Spec::ca("mtls-doctor Lab Other CA"))?;
        Ok(LabPki {
            server_root,
            gateway_api,
            gateway_noneg,
            gateway_default,
            backends,
            untrusted_root,
            client_root,
            client_issuing,
            client_good,
            client_expired,
            client_server_only_eku,
            rogue_root,
            client_rogue,
            gateway_client_ca,
            gateway_outbound,
            other_ca,
        })
    }

    /// The client CA certificates the gateway trusts and names in its CertificateRequest: root, then
    /// issuing CA (what `client-ca.pem` holds).
    pub fn client_ca(&self) -> Vec<CertificateDer<'static>> {
        vec![self.client_root.cert_der(), self.client_issuing.cert_der()]
    }

    /// A client leaf issued by the client issuing CA, followed by that CA: the chain a client sends.
    pub fn client_chain(&self, leaf: &Issued) -> Vec<CertificateDer<'static>> {
        vec![leaf.cert_der(), self.client_issuing.cert_der()]
    }

    /// Write the certificates, keys and CA bundles a CLI probe needs into `dir` (created if missing).
    /// Client leaf `.pem` files hold the leaf and the client issuing CA; keys are PKCS#8, mode 0600.
    pub fn write_material(&self, dir: &Path) -> Result<LabFiles> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let bundle = |name: &str, certs: &[&Issued]| -> Result<PathBuf> {
            let path = dir.join(name);
            let pem: String = certs.iter().map(|c| c.cert_pem()).collect();
            std::fs::write(&path, pem).map_err(|e| Error::io(&path, e))?;
            Ok(path)
        };
        let pair = |name: &str, certs: &[&Issued]| -> Result<CertKeyFiles> {
            let cert = bundle(&format!("{name}.pem"), certs)?;
            let key = dir.join(format!("{name}.key"));
            let leaf = certs.first().ok_or_else(|| Error::input(name.to_string(), "no certificate to write"))?;
            write_secret(&key, leaf.key_pem().as_bytes())?;
            Ok(CertKeyFiles { cert, key })
        };
        Ok(LabFiles {
            dir: dir.to_path_buf(),
            server_root: bundle("server-root.pem", &[&self.server_root])?,
            client_ca: bundle("client-ca.pem", &[&self.client_root, &self.client_issuing])?,
            client_root: bundle("client-root.pem", &[&self.client_root])?,
            gateway_client_ca: bundle("gateway-client-ca.pem", &[&self.gateway_client_ca])?,
            other_ca: bundle("other-ca.pem", &[&self.other_ca])?,
            rogue_root: bundle("rogue-root.pem", &[&self.rogue_root])?,
            untrusted_root: bundle("untrusted-root.pem", &[&self.untrusted_root])?,
            client_good: pair("client-good", &[&self.client_good, &self.client_issuing])?,
            client_expired: pair("client-expired", &[&self.client_expired, &self.client_issuing])?,
            client_server_only_eku: pair(
                "client-server-only-eku",
                &[&self.client_server_only_eku, &self.client_issuing],
            )?,
            client_rogue: pair("client-rogue", &[&self.client_rogue])?,
            gateway_outbound: pair("gateway-outbound", &[&self.gateway_outbound])?,
        })
    }
}

fn write_secret(path: &Path, contents: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| Error::io(path, e))?;
    file.write_all(contents).map_err(|e| Error::io(path, e))
}

/// A certificate (chain) file and its key file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertKeyFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Where [`LabPki::write_material`] put everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabFiles {
    pub dir: PathBuf,
    /// `server-root.pem`: trust this to verify the gateway and the backends.
    pub server_root: PathBuf,
    /// `client-ca.pem`: client root and client issuing CA (what the gateway trusts).
    pub client_ca: PathBuf,
    pub client_root: PathBuf,
    pub gateway_client_ca: PathBuf,
    pub other_ca: PathBuf,
    pub rogue_root: PathBuf,
    pub untrusted_root: PathBuf,
    pub client_good: CertKeyFiles,
    pub client_expired: CertKeyFiles,
    pub client_server_only_eku: CertKeyFiles,
    pub client_rogue: CertKeyFiles,
    pub gateway_outbound: CertKeyFiles,
}

/// Picks the gateway certificate by SNI; an unknown or missing name gets the default hostname's
/// certificate, as API Management serves its default certificate.
#[derive(Debug)]
struct SniCertResolver {
    by_name: HashMap<String, Arc<CertifiedKey>>,
    fallback: Arc<CertifiedKey>,
}

impl ResolvesServerCert for SniCertResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let chosen = client_hello.server_name().and_then(|name| self.by_name.get(&name.to_ascii_lowercase()));
        Some(chosen.unwrap_or(&self.fallback).clone())
    }
}

fn certified(provider: &CryptoProvider, issued: &Issued, what: &str) -> Result<Arc<CertifiedKey>> {
    CertifiedKey::from_der(vec![issued.cert_der()], issued.private_key_der(), provider)
        .map(Arc::new)
        .map_err(|e| Error::input(format!("lab certificate {what}"), e.to_string()))
}

/// The gateway's shared state: its TLS configs, policy settings and outbound clients.
struct Gateway {
    negotiate: Arc<ServerConfig>,
    no_negotiate: Arc<ServerConfig>,
    verifier: Arc<RecordingClientVerifier>,
    allowed_thumbprints: RwLock<Vec<String>>,
    presents_cert: AtomicBool,
    backends: BTreeMap<&'static str, SocketAddr>,
    outbound_with_cert: Arc<ClientConfig>,
    outbound_without_cert: Arc<ClientConfig>,
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
    /// The TLS alert the backend sent, by rustls' name (`UnknownCA`, `CertificateRequired`, …).
    pub alert: Option<String>,
    /// What was wrong with the backend's certificate, by rustls' `CertificateError` variant name
    /// (`UnknownIssuer`, `NotValidForNameContext`, `ExpiredContext`, …).
    pub certificate_error: Option<String>,
    /// Whether the gateway presented its client certificate.
    pub gateway_presented_certificate: bool,
}

/// What a lab backend answers: its name and the listen-style echo of the gateway's connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendEcho {
    pub backend: String,
    pub echo: Echo,
}

/// A running lab. Stops on drop or [`Lab::shutdown`].
pub struct Lab {
    pki: Arc<LabPki>,
    gateway: Arc<Gateway>,
    gateway_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    servers: JoinSet<()>,
}

impl fmt::Debug for Lab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lab")
            .field("gateway_addr", &self.gateway_addr)
            .field("backends", &self.gateway.backends)
            .finish_non_exhaustive()
    }
}

impl Lab {
    /// Make the PKI and start the gateway and every backend on 127.0.0.1 ephemeral ports. Must run on
    /// a tokio runtime.
    pub async fn start() -> Result<Lab> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::Usage("the lab must be started on a tokio runtime".into()));
        }
        let pki = Arc::new(LabPki::generate()?);
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let (shutdown, _) = watch::channel(false);
        let mut servers = JoinSet::new();

        let mut backends = BTreeMap::new();
        for name in BACKENDS {
            let listener = bind_loopback(&format!("backend {name}")).await?;
            let addr = listener.local_addr().map_err(|e| Error::input(format!("backend {name}"), e.to_string()))?;
            let backend = Arc::new(backend_server(&provider, &pki, name)?);
            let stop = shutdown.subscribe();
            servers.spawn(accept_loop(listener, stop, move |tcp, peer| backend_connection(backend.clone(), tcp, peer)));
            backends.insert(name, addr);
        }

        let gateway = Arc::new(gateway(&provider, &pki, backends)?);
        let listener = bind_loopback("gateway").await?;
        let gateway_addr = listener.local_addr().map_err(|e| Error::input("gateway", e.to_string()))?;
        let serving = gateway.clone();
        let stop = shutdown.subscribe();
        servers.spawn(accept_loop(listener, stop, move |tcp, peer| gateway_connection(serving.clone(), tcp, peer)));

        Ok(Lab { pki, gateway, gateway_addr, shutdown, servers })
    }

    pub fn gateway_addr(&self) -> SocketAddr {
        self.gateway_addr
    }

    /// The address of backend `name` (one of [`BACKENDS`]).
    pub fn backend_addr(&self, name: &str) -> Result<SocketAddr> {
        self.gateway.backends.get(name).copied().ok_or_else(|| {
            Error::input(format!("lab backend {name:?}"), format!("unknown; known: {}", BACKENDS.join(", ")))
        })
    }

    pub fn pki(&self) -> &LabPki {
        &self.pki
    }

    /// Replace the thumbprints `/secure/*` accepts (initially only `client_good`'s). Compared as a
    /// C# `==` in a policy expression compares: exactly, so a lowercase or spaced value never matches.
    pub fn set_allowed_thumbprints<I, S>(&self, thumbprints: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list = thumbprints.into_iter().map(Into::into).collect();
        *self.gateway.allowed_thumbprints.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = list;
    }

    pub fn allowed_thumbprints(&self) -> Vec<String> {
        self.gateway.allowed_thumbprints.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Whether the gateway presents `gateway_outbound` to backends. `false` reproduces a gateway whose
    /// certificate (say, from Key Vault) could not be loaded: it connects without one.
    pub fn set_gateway_presents_cert(&self, present: bool) {
        self.gateway.presents_cert.store(present, Ordering::SeqCst);
    }

    /// Write the lab's PKI material into `dir` (see [`LabPki::write_material`]).
    pub fn write_material(&self, dir: &Path) -> Result<LabFiles> {
        self.pki.write_material(dir)
    }

    /// Stop every server and wait (briefly) for them to finish; the ports are closed on return.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        let servers = &mut self.servers;
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, async { while servers.join_next().await.is_some() {} }).await;
        self.servers.abort_all();
        while self.servers.join_next().await.is_some() {}
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.servers.abort_all();
    }
}

async fn bind_loopback(what: &str) -> Result<TcpListener> {
    TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(|e| Error::input(format!("lab {what} on 127.0.0.1:0"), format!("cannot bind: {e}")))
}

/// Accept until told to stop; connection tasks are aborted when the loop ends.
async fn accept_loop<F, Fut>(listener: TcpListener, mut stop: watch::Receiver<bool>, serve: F)
where
    F: Fn(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        let room = connections.len() < MAX_CONNECTIONS_PER_SERVER;
        tokio::select! {
            // A change, or the Lab (the sender) being gone, both mean stop.
            _ = stop.changed() => break,
            accepted = listener.accept(), if room => match accepted {
                Ok((tcp, peer)) => {
                    connections.spawn(serve(tcp, peer));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    connections.shutdown().await;
}

fn gateway(
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
fn outbound_config(provider: &Arc<CryptoProvider>, pki: &LabPki, with_cert: bool) -> Result<ClientConfig> {
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

async fn gateway_connection(gateway: Arc<Gateway>, tcp: TcpStream, peer: SocketAddr) {
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

async fn gateway_route(gateway: Arc<Gateway>, facts: Arc<TlsFacts>, req: Request<Incoming>) -> Response<Full<Bytes>> {
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

fn error_response(status: StatusCode, error: &str, detail: &str) -> Response<Full<Bytes>> {
    json_response(status, &serde_json::json!({ "error": error, "detail": detail }))
}

/// What a `validate-client-certificate`-like policy decides, in the order it checks.
fn secure_check(gateway: &Gateway, facts: &TlsFacts) -> SecureAnswer {
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
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn forward(
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
struct TlsCause {
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
                    rustls::Error::AlertReceived(alert) => Some(format!("{alert:?}")),
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
fn variant_name(value: &impl fmt::Debug) -> String {
    let text = format!("{value:?}");
    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').next().unwrap_or_default().to_string()
}

/// One lab backend: its name, TLS config and (when it asks for certificates) its verifier.
struct Backend {
    name: &'static str,
    config: Arc<ServerConfig>,
    verifier: Option<Arc<RecordingClientVerifier>>,
}

fn backend_server(provider: &Arc<CryptoProvider>, pki: &LabPki, name: &'static str) -> Result<Backend> {
    let issued =
        pki.backends.get(name).ok_or_else(|| Error::input(format!("lab backend {name}"), "no certificate was made"))?;
    let certs: Arc<dyn ResolvesServerCert> =
        Arc::new(rustls::sign::SingleCertAndKey::from(certified(provider, issued, name)?));
    let versions: &[&'static SupportedProtocolVersion] =
        if name == "tls12-only" { &[&rustls::version::TLS12] } else { rustls::ALL_VERSIONS };
    let verifier = match name {
        "no-client-auth" => None,
        "optional" => Some(RecordingClientVerifier::new(
            &[pki.gateway_client_ca.cert_der()],
            ClientAuthPolicy::JUDGE_ONLY,
            provider.clone(),
        )?),
        "distrusts-gateway" => {
            Some(RecordingClientVerifier::new(&[pki.other_ca.cert_der()], ClientAuthPolicy::ENFORCE, provider.clone())?)
        }
        _ => Some(RecordingClientVerifier::new(
            &[pki.gateway_client_ca.cert_der()],
            ClientAuthPolicy::ENFORCE,
            provider.clone(),
        )?),
    }
    .map(Arc::new);
    let client_auth: Arc<dyn rustls::server::danger::ClientCertVerifier> = match &verifier {
        Some(verifier) => verifier.clone(),
        None => WebPkiClientVerifier::no_client_auth(),
    };
    let config = server_config(provider, versions, client_auth, certs)?;
    Ok(Backend { name, config: Arc::new(config), verifier })
}

async fn backend_connection(backend: Arc<Backend>, tcp: TcpStream, peer: SocketAddr) {
    let acceptor = TlsAcceptor::from(backend.config.clone());
    let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await else {
        return;
    };
    let facts = Arc::new(TlsFacts::from_connection(peer, tls.get_ref().1, backend.verifier.as_deref()));
    let h2 = facts.alpn.as_deref() == Some("h2");
    let name = backend.name;
    serve_http(tls, h2, move |req| backend_echo(name, facts.clone(), req)).await;
}

async fn backend_echo(name: &'static str, facts: Arc<TlsFacts>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (request, body) = read_request(req).await;
    match body {
        Ok(_) => json_response(
            StatusCode::OK,
            &BackendEcho { backend: name.to_string(), echo: Echo { tls: (*facts).clone(), request } },
        ),
        Err(problem) => problem.response(),
    }
}
