//! The comparison run without the client certificate overlaps the main run: a rustls server that
//! answers the certificate-carrying connection only once a certificate-less connection has finished
//! its handshake gets both answered, which a probe that compares only after the main run is done
//! cannot do (its main request would wait out the server's hold and get 503). A server that never
//! asks for a certificate gets one connection, as before.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mtls_doctor::probe::{run_probe, NotSentReason};
use rustls::pki_types::CertificateDer;
use rustls::server::WebPkiClientVerifier;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::gateways::{local_opts, Client, GatewayPki};

/// An in-process server; the accept loop is aborted on drop.
struct Server {
    port: u16,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How long the certificate-carrying connection waits for a certificate-less one: the bound of a
/// failing case, not a timing being measured.
const HOLD: Duration = Duration::from_secs(20);

async fn server(pki: &GatewayPki, ask_for_certificate: bool) -> Server {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("versions");
    let builder = if ask_for_certificate {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from(pki.client_root.der.clone())).expect("root");
        roots.add(CertificateDer::from(pki.client_issuing.der.clone())).expect("issuing");
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .allow_unauthenticated()
            .build()
            .expect("verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let key = pki.server.private_key_der();
    let mut config = builder.with_single_cert(vec![CertificateDer::from(pki.server.der.clone())], key).expect("cert");
    config.send_tls13_tickets = 0;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let (anonymous_tx, anonymous_rx) = tokio::sync::watch::channel(false);
    let anonymous_tx = Arc::new(anonymous_tx);
    let count = accepted.clone();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let (acceptor, tx, mut rx) = (acceptor.clone(), anonymous_tx.clone(), anonymous_rx.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let with_cert = tls.get_ref().1.peer_certificates().is_some_and(|c| !c.is_empty());
                if !with_cert {
                    tx.send_replace(true);
                }
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let status = if !ask_for_certificate {
                    "200 OK"
                } else if !with_cert {
                    "401 Unauthorized"
                } else if tokio::time::timeout(HOLD, rx.wait_for(|seen| *seen)).await.is_ok_and(|r| r.is_ok()) {
                    "200 OK"
                } else {
                    "503 Service Unavailable"
                };
                let reply = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = tls.write_all(reply.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    Server { port, accepted, task }
}

#[tokio::test]
async fn the_comparison_runs_while_the_main_request_is_still_open() {
    comparison_runs_while_the_main_request_is_open().await;
}

/// On a multi-thread runtime a probe alone in the process compares on a thread of its own
/// (probe/compare.rs); with other tests' probes running at the same time it is a task. Either way
/// the comparison must overlap the main request, and the record is the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_comparison_overlaps_the_main_request_on_a_multi_thread_runtime() {
    comparison_runs_while_the_main_request_is_open().await;
}

async fn comparison_runs_while_the_main_request_is_open() {
    let pki = GatewayPki::new();
    let srv = server(&pki, true).await;
    let mut o = local_opts(srv.port);
    o.alpn = vec!["http/1.1".into()];
    let r = tokio::time::timeout(Duration::from_secs(60), run_probe(&o, &pki.context(Client::Good)))
        .await
        .expect("the probe is bounded");
    assert!(r.client_cert_requested && r.client_cert_sent, "{:?}", r.handshake);
    assert_eq!(
        r.http.as_ref().map(|h| h.status),
        Some(200),
        "the main request was answered only because the comparison's handshake happened meanwhile: {:?}",
        r.http_error
    );
    let without = r.compare_without_cert.as_ref().expect("compared");
    assert_eq!(without.client_cert_not_sent_reason, Some(NotSentReason::NoneConfigured));
    assert_eq!(without.http.as_ref().map(|h| h.status), Some(401));
    assert_eq!(srv.accepted.load(Ordering::SeqCst), 2, "one main and one comparison connection");
}

#[tokio::test]
async fn a_server_that_never_asks_gets_no_comparison_connection() {
    let pki = GatewayPki::new();
    let srv = server(&pki, false).await;
    let mut o = local_opts(srv.port);
    o.alpn = vec!["http/1.1".into()];
    let r = tokio::time::timeout(Duration::from_secs(60), run_probe(&o, &pki.context(Client::Good)))
        .await
        .expect("the probe is bounded");
    assert!(!r.client_cert_requested);
    assert_eq!(r.http.as_ref().map(|h| h.status), Some(200));
    assert!(r.compare_without_cert.is_none());
    assert_eq!(srv.accepted.load(Ordering::SeqCst), 1, "nothing speculative was dialled");
}
