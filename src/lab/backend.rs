//! The lab backends: mutual-TLS servers that answer with the listen-style echo of the gateway's
//! connection and request.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use rustls::crypto::CryptoProvider;
use rustls::server::{ResolvesServerCert, WebPkiClientVerifier};
use rustls::{ServerConfig, SupportedProtocolVersion};
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use super::gateway::certified;
use super::pki::LabPki;
use crate::danger::client_auth::{ClientAuthPolicy, RecordingClientVerifier};
use crate::error::{Error, Result};
use crate::listen::{json_response, read_request, serve_http, server_config, Echo, TlsFacts, HANDSHAKE_TIMEOUT};

/// What a lab backend answers: its name and the listen-style echo of the gateway's connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendEcho {
    pub backend: String,
    pub echo: Echo,
}

/// One lab backend: its name, TLS config and (when it asks for certificates) its verifier.
pub(super) struct Backend {
    name: &'static str,
    config: Arc<ServerConfig>,
    verifier: Option<Arc<RecordingClientVerifier>>,
}

pub(super) fn backend_server(provider: &Arc<CryptoProvider>, pki: &LabPki, name: &'static str) -> Result<Backend> {
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

pub(super) async fn backend_connection(backend: Arc<Backend>, tcp: TcpStream, peer: SocketAddr) {
    let acceptor = TlsAcceptor::from(backend.config.clone());
    let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await else {
        return;
    };
    let facts = Arc::new(TlsFacts::from_connection(peer, tls.get_ref().1, backend.verifier.as_deref()));
    let h2 = facts.alpn.as_deref() == Some("h2");
    let name = backend.name;
    serve_http(tls, h2, move |req| backend_echo(name, facts.clone(), req)).await;
}

pub(super) async fn backend_echo(
    name: &'static str,
    facts: Arc<TlsFacts>,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (request, body) = read_request(req).await;
    match body {
        Ok(_) => json_response(
            StatusCode::OK,
            &BackendEcho { backend: name.to_string(), echo: Echo { tls: (*facts).clone(), request } },
        ),
        Err(problem) => problem.response(),
    }
}
