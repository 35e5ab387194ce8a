//! Unit tests of the caIssuers fetch: the encodings read, the size and time bounds, the run's
//! cache and the level limit, against a loopback HTTP server started and joined here.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, Issuer, KeyPair};

use super::{complete_chain_blocking, read_issuer_body, IssuerFetchOutcome, IssuerFormat, MAX_LEVELS};
use crate::cert::Certificate;
use crate::revocation::{FetchLimits, Fetcher, UnknownWhy};

/// How a route answers.
#[derive(Clone)]
enum Reply {
    Body(Vec<u8>),
    /// Accept, read the request, never answer.
    Silent,
}

struct Server {
    addr: SocketAddr,
    routes: Arc<Mutex<Vec<(String, Reply)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(routes: Vec<(String, Reply)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let routes = Arc::new(Mutex::new(routes));
        let (stop2, routes2) = (stop.clone(), routes.clone());
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
                let reply =
                    routes2.lock().ok().and_then(|r| r.iter().find(|(p, _)| *p == path).map(|(_, r)| r.clone()));
                match reply {
                    Some(Reply::Silent) => held.push(stream),
                    Some(Reply::Body(body)) => {
                        let head =
                            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                        let _ = stream.write_all(head.as_bytes());
                        let _ = stream.write_all(&body);
                    }
                    None => {
                        let _ = stream
                            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    }
                }
            }
        });
        Server { addr, routes, stop, thread: Some(thread) }
    }

    fn add(&self, path: &str, reply: Reply) {
        self.routes.lock().expect("routes").push((path.to_string(), reply));
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn ca_issuers(url: &str) -> CustomExtension {
    let tlv = |tag: u8, content: &[u8]| [&[tag, content.len() as u8][..], content].concat();
    let method = tlv(0x06, &[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02]);
    let access = tlv(0x30, &[method, tlv(0x86, url.as_bytes())].concat());
    CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], tlv(0x30, &access))
}

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    der: Vec<u8>,
}

fn make(cn: &str, ca: bool, by: Option<&Ca>, aia: Option<&str>) -> Ca {
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = if ca { IsCa::Ca(BasicConstraints::Unconstrained) } else { IsCa::ExplicitNoCa };
    if let Some(url) = aia {
        p.custom_extensions.push(ca_issuers(url));
    }
    let key = KeyPair::generate().expect("key");
    let der = match by {
        None => p.self_signed(&key).expect("self-sign").der().to_vec(),
        Some(i) => p.signed_by(&key, &Issuer::from_params(&i.params, &i.key)).expect("sign").der().to_vec(),
    };
    Ca { params: p, key, der }
}

fn cert(der: &[u8]) -> Certificate {
    Certificate::from_der(der.to_vec(), "test").expect("parse")
}

fn wrap(tag: u8, body: &[u8]) -> Vec<u8> {
    let len = body.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(body);
    out
}

/// PKCS#7 certs-only: ContentInfo { signedData, [0] SignedData { 1, {}, { data }, [0] certs, {} } }.
fn certs_only(certs: &[&[u8]]) -> Vec<u8> {
    let data_oid = wrap(0x06, &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01]);
    let signed =
        [wrap(0x02, &[1]), wrap(0x31, &[]), wrap(0x30, &data_oid), wrap(0xA0, &certs.concat()), wrap(0x31, &[])]
            .concat();
    let oid = wrap(0x06, &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02]);
    wrap(0x30, &[oid, wrap(0xA0, &wrap(0x30, &signed))].concat())
}

#[test]
fn reads_der_pem_and_pkcs7_certs_only_and_refuses_the_rest() {
    let root = make("Body Root", true, None, None);
    let int = make("Body Issuing", true, Some(&root), None);
    assert_eq!(read_issuer_body(&int.der).expect("der"), (IssuerFormat::Der, vec![int.der.clone()]));
    let pem = crate::cert::pem_encode(&int.der);
    assert_eq!(read_issuer_body(pem.as_bytes()).expect("pem"), (IssuerFormat::Pem, vec![int.der.clone()]));
    let p7 = certs_only(&[&root.der, &int.der]);
    assert_eq!(read_issuer_body(&p7).expect("p7"), (IssuerFormat::Pkcs7, vec![root.der.clone(), int.der.clone()]));
    let e = read_issuer_body(b"<html>moved</html>").expect_err("junk");
    assert!(e.contains("not a certificate"), "{e}");
    assert!(read_issuer_body(&p7[..p7.len() - 3]).is_err(), "a truncated PKCS#7 is refused");
    assert!(read_issuer_body(&int.der[..int.der.len() - 1]).is_err(), "a truncated certificate is refused");
    let empty = certs_only(&[]);
    assert!(read_issuer_body(&empty).expect_err("empty p7").contains("PKCS#7"));
}

#[test]
fn a_body_over_the_size_cap_or_a_silent_server_is_recorded_not_waited_for() {
    let root = make("Bound Root", true, None, None);
    let int = make("Bound Issuing", true, Some(&root), None);
    let mut big = int.der.clone();
    big.extend(std::iter::repeat_n(0u8, 4096));
    let server = Server::start(vec![("/big.cer".into(), Reply::Body(big)), ("/silent.cer".into(), Reply::Silent)]);
    let fetcher = Fetcher::new(FetchLimits { timeout: Duration::from_millis(500), max_bytes: 2048 });
    let trusted = [cert(&root.der)];
    for (path, want) in
        [("/big.cer", "larger than the 2048-byte limit"), ("/silent.cer", "no complete answer within 500 ms")]
    {
        let leaf = make("Bound Leaf", false, Some(&int), Some(&server.url(path)));
        let started = std::time::Instant::now();
        let (chain, report) = complete_chain_blocking(&[cert(&leaf.der)], &trusted, Some(&fetcher));
        assert!(started.elapsed() < Duration::from_secs(30), "{path}: bounded by the fetch limits");
        assert_eq!(chain.len(), 1, "{path}: nothing added");
        let report = report.expect("a fetch was attempted");
        match &report.fetches[0].outcome {
            IssuerFetchOutcome::NotFetched { why: UnknownWhy::Fetch { error } } => {
                assert!(error.contains(want), "{path}: {error}")
            }
            other => panic!("{path}: {other:?}"),
        }
    }
}

#[test]
fn one_request_per_url_per_run_and_at_most_the_level_limit() {
    // root <- ca1 <- ... <- ca6 <- leaf; each certificate's caIssuers URL serves its issuer.
    let server = Server::start(Vec::new());
    let mut cas = vec![make("Level Root", true, None, None)];
    for n in 1..=6 {
        let aia = (n > 1).then(|| server.url(&format!("/ca{}.cer", n - 1)));
        let ca = make(&format!("Level CA {n}"), true, cas.last(), aia.as_deref());
        server.add(&format!("/ca{n}.cer"), Reply::Body(ca.der.clone()));
        cas.push(ca);
    }
    let leaf = make("Level Leaf", false, cas.last(), Some(&server.url("/ca6.cer")));
    let fetcher = Fetcher::new(FetchLimits { timeout: Duration::from_secs(10), max_bytes: 64 * 1024 });
    let trusted = [cert(&cas[0].der)];
    let (chain, report) = complete_chain_blocking(&[cert(&leaf.der)], &trusted, Some(&fetcher));
    let report = report.expect("fetched");
    assert_eq!(report.fetches.len(), MAX_LEVELS, "{:?}", report.fetches);
    assert_eq!(chain.len(), 1 + MAX_LEVELS);
    assert_eq!(report.requests_sent, MAX_LEVELS);
    // The same chain again in this run: answered from the cache.
    let (_, again) = complete_chain_blocking(&[cert(&leaf.der)], &trusted, Some(&fetcher));
    assert_eq!(again.expect("report").requests_sent, 0);
}
