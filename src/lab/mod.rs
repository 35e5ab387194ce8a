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

mod backend;
mod gateway;
mod pki;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use self::backend::{backend_connection, backend_server};
use self::gateway::{gateway, gateway_connection, Gateway};
use crate::error::{Error, Result};

pub use self::backend::BackendEcho;
pub use self::gateway::{BackendFailure, SecureAnswer};
pub use self::pki::{CertKeyFiles, LabFiles, LabPki};

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
