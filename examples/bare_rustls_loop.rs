//! The ceiling for `benches/sweep_vs_peers.sh`: a bare rustls client that, for every name in a
//! file, connects to one address, makes a full mutual-TLS handshake with that name as SNI (the
//! server verified against a CA file), sends `GET /` and reads the response to its end. Nothing
//! else: no recording, no diagnosis, no report. Built with the same crates and runtime settings as
//! mtls-doctor (rustls with aws-lc-rs, tokio with two worker threads, no session resumption).
//!
//! Usage: bare_rustls_loop --connect ADDR:PORT --names FILE --ca CA.pem --cert CERT.pem --key KEY.pem [-j N]
//! Prints one line: `targets=N ok=N failed=N secs=S` (ok: an HTTP/1.1 200 came back).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Args {
    connect: String,
    names: String,
    ca: String,
    cert: String,
    key: String,
    jobs: usize,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        connect: String::new(),
        names: String::new(),
        ca: String::new(),
        cert: String::new(),
        key: String::new(),
        jobs: 64,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--connect" => a.connect = value()?,
            "--names" => a.names = value()?,
            "--ca" => a.ca = value()?,
            "--cert" => a.cert = value()?,
            "--key" => a.key = value()?,
            "-j" => a.jobs = value()?.parse().map_err(|_| "-j needs a number".to_string())?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.connect.is_empty() || a.names.is_empty() || a.ca.is_empty() || a.cert.is_empty() || a.key.is_empty() {
        return Err(
            "usage: bare_rustls_loop --connect ADDR:PORT --names FILE --ca CA --cert CERT --key KEY [-j N]".into()
        );
    }
    Ok(a)
}

fn config(a: &Args) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&a.ca).map_err(|e| format!("{}: {e}", a.ca))? {
        roots.add(c.map_err(|e| format!("{}: {e}", a.ca))?).map_err(|e| format!("{}: {e}", a.ca))?;
    }
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&a.cert)
        .map_err(|e| format!("{}: {e}", a.cert))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", a.cert))?;
    let key = PrivateKeyDer::from_pem_file(&a.key).map_err(|e| format!("{}: {e}", a.key))?;
    let mut c = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| e.to_string())?;
    // Every handshake a full one, as mtls-doctor's probes are.
    c.resumption = rustls::client::Resumption::disabled();
    c.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(c)
}

async fn one(connector: &tokio_rustls::TlsConnector, addr: &str, name: &str) -> Result<(), String> {
    let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let sni = ServerName::try_from(name.to_string()).map_err(|e| e.to_string())?;
    let mut tls = connector.connect(sni, tcp).await.map_err(|e| e.to_string())?;
    let req = format!("GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n");
    tls.write_all(req.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    // A peer that closes without close_notify still gave its answer.
    let _ = tls.read_to_end(&mut reply).await;
    if reply.starts_with(b"HTTP/1.1 200") {
        Ok(())
    } else {
        Err(format!("no 200 from {name}"))
    }
}

fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bare_rustls_loop: {e}");
            std::process::exit(2);
        }
    };
    let names: Vec<String> = match std::fs::read_to_string(&a.names) {
        Ok(t) => t.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect(),
        Err(e) => {
            eprintln!("bare_rustls_loop: {}: {e}", a.names);
            std::process::exit(2);
        }
    };
    let connector = match config(&a) {
        Ok(c) => tokio_rustls::TlsConnector::from(Arc::new(c)),
        Err(e) => {
            eprintln!("bare_rustls_loop: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let total = names.len();
    let started = Instant::now();
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    rt.block_on(async {
        let gate = Arc::new(tokio::sync::Semaphore::new(a.jobs.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for name in &names {
            let name = name.clone();
            let (gate, connector, addr) = (gate.clone(), connector.clone(), a.connect.clone());
            let (ok, failed) = (ok.clone(), failed.clone());
            tasks.spawn(async move {
                let _permit = gate.acquire_owned().await;
                match one(&connector, &addr, &name).await {
                    Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                };
            });
        }
        while tasks.join_next().await.is_some() {}
    });
    println!(
        "targets={} ok={} failed={} secs={:.3}",
        total,
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
}
