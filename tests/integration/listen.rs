//! The `listen` server against real peers (curl, openssl s_client) and garbage, on 127.0.0.1.

use std::fs::File;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use mtls_doctor::listen::{bind, run_listener, ConnectionRecord, Echo, ListenConfig, REDACTED};
use mtls_doctor::pki::{Issued, Spec};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::util::{Dir, Pki};

const TEST_LIMIT: Duration = Duration::from_secs(90);
const PEER_LIMIT: Duration = Duration::from_secs(20);
const HOST: &str = "listen.test";

/// What a bounded external process left behind.
pub struct Finished {
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

/// Kills (by pid) and reaps the child on every path out of `run_bounded`, panics included.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Run `cmd` with `stdin`, killing it after `limit`. Output goes to files so a chatty peer never
/// blocks on a full pipe. Blocking: call from `spawn_blocking`.
pub fn run_bounded(mut cmd: Command, stdin: &[u8], limit: Duration) -> Finished {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    cmd.stdin(Stdio::piped())
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"));
    let mut child = KillOnDrop(cmd.spawn().unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}")));
    if let Some(mut input) = child.0.stdin.take() {
        // The peer may exit before reading everything; that is its answer, not a test failure.
        let _ = input.write_all(stdin);
    }
    let started = Instant::now();
    let mut timed_out = false;
    let status = loop {
        match child.0.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > limit => {
                let _ = child.0.kill();
                let _ = child.0.wait();
                timed_out = true;
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("cannot wait for {cmd:?}: {e}"),
        }
    };
    drop(child);
    Finished {
        status,
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        timed_out,
    }
}

pub async fn run_peer(cmd: Command, stdin: Vec<u8>) -> Finished {
    tokio::task::spawn_blocking(move || run_bounded(cmd, &stdin, PEER_LIMIT)).await.expect("peer runner")
}

/// Server PKI (root + `listen.test` leaf) and client PKI (root → issuing → leaves), on disk.
struct Material {
    dir: Dir,
    server_root: PathBuf,
    server_leaf: Issued,
    client: Pki,
    client_issuing: PathBuf,
}

impl Material {
    fn new() -> Self {
        let dir = Dir::new();
        let root = Issued::self_signed(&Spec::ca("Listen Test Server Root")).expect("server root");
        let server_leaf = root.issue(&Spec::leaf(HOST).server_only().sans(&[HOST, "127.0.0.1"])).expect("server leaf");
        let server_root = dir.write("server-root.pem", root.cert_pem());
        let client = Pki::new("Listen Test Client");
        let client_issuing = dir.write("client-issuing.pem", client.intermediate.cert_pem());
        Material { dir, server_root, server_leaf, client, client_issuing }
    }

    /// `name.pem` holding the leaf and the client issuing CA, and `name.key`.
    fn client_files(&self, name: &str, leaf: &Issued) -> (PathBuf, PathBuf) {
        let cert = self.dir.write(&format!("{name}.pem"), leaf.cert_pem() + &self.client.intermediate.cert_pem());
        let key = self.dir.write(&format!("{name}.key"), leaf.key_pem());
        (cert, key)
    }

    fn config(&self, with_ca: bool, require_client_cert: bool, max_connections: Option<usize>) -> ListenConfig {
        ListenConfig {
            bind: "127.0.0.1:0".parse().expect("addr"),
            chain: vec![self.server_leaf.cert_der()],
            key: self.server_leaf.private_key_der(),
            ca: if with_ca { vec![self.client.root.cert_der()] } else { vec![] },
            require_client_cert,
            max_connections,
        }
    }
}

struct Running {
    addr: SocketAddr,
    records: mpsc::Receiver<ConnectionRecord>,
    task: JoinHandle<mtls_doctor::Result<()>>,
}

impl Running {
    async fn start(cfg: ListenConfig) -> Self {
        let listener = bind(&cfg).await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let (tx, records) = mpsc::channel(64);
        let task = tokio::spawn(run_listener(cfg, listener, tx));
        Running { addr, records, task }
    }

    async fn next_record(&mut self) -> ConnectionRecord {
        tokio::time::timeout(Duration::from_secs(15), self.records.recv())
            .await
            .expect("a record within 15 s")
            .expect("listener still sending records")
    }

    /// Wait for `run_listener` to return (after max_connections).
    async fn finished(mut self) -> mtls_doctor::Result<()> {
        tokio::time::timeout(Duration::from_secs(15), &mut self.task)
            .await
            .expect("listener stops")
            .expect("listener task")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn curl(m: &Material, addr: SocketAddr, path: &str, cert: Option<&(PathBuf, PathBuf)>, extra: &[&str]) -> Command {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "10", "--cacert"])
        .arg(&m.server_root)
        .arg("--resolve")
        .arg(format!("{HOST}:{}:127.0.0.1", addr.port()));
    if let Some((c, k)) = cert {
        cmd.arg("--cert").arg(c).arg("--key").arg(k);
    }
    cmd.args(extra).arg(format!("https://{HOST}:{}{path}", addr.port()));
    cmd
}

fn echo_from(out: &Finished) -> Echo {
    assert!(out.success(), "curl failed: {}{}", out.stdout, out.stderr);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not an echo ({e}): {}", out.stdout))
}

fn thumbprint(issued: &Issued) -> String {
    issued.thumbprint()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_curl_with_trusted_cert_over_h2_is_echoed_recorded_and_redacted() {
    tokio::time::timeout(TEST_LIMIT, async {
        let m = Material::new();
        let leaf = m.client.leaf(&Spec::leaf("listen-client-good").client_only());
        let files = m.client_files("good", &leaf);
        let mut server = Running::start(m.config(true, false, None)).await;

        let cmd = curl(
            &m,
            server.addr,
            "/some/path?x=1",
            Some(&files),
            &[
                "-H",
                "Authorization: Bearer very-secret-token",
                "-H",
                "Ocp-Apim-Subscription-Key: sub-key-secret",
                "-H",
                "Cookie: session=cookie-secret",
                "-H",
                "X-Trace: keep-me",
            ],
        );
        let echo = echo_from(&run_peer(cmd, vec![]).await);
        assert_eq!(echo.tls.sni.as_deref(), Some(HOST));
        assert_eq!(echo.tls.alpn.as_deref(), Some("h2"));
        assert_eq!(echo.tls.tls_version, "TLSv1.3");
        assert!(echo.tls.cipher_suite.starts_with("TLS13_"), "{}", echo.tls.cipher_suite);
        let cert = echo.tls.client_certificate.as_ref().expect("client certificate echoed");
        assert_eq!(cert.thumbprint_sha1, thumbprint(&leaf));
        assert_eq!(echo.tls.client_chain.len(), 2, "leaf and issuing CA as curl sent them");
        assert_eq!(echo.tls.client_chain[1].thumbprint_sha1, thumbprint(&m.client.intermediate));
        assert!(echo.tls.verdict.ok, "{:?}", echo.tls.verdict);
        assert_eq!(echo.request.method, "GET");
        assert_eq!(echo.request.path, "/some/path?x=1");
        assert_eq!(echo.request.header("authorization").unwrap_or_default(), REDACTED);
        assert_eq!(echo.request.header("ocp-apim-subscription-key").unwrap_or_default(), REDACTED);
        assert_eq!(echo.request.header("cookie").unwrap_or_default(), REDACTED);
        assert_eq!(echo.request.header("x-trace").unwrap_or_default(), "keep-me");

        let record = server.next_record().await;
        assert_eq!(record.handshake_error, None);
        assert_eq!(record.sni.as_deref(), Some(HOST));
        assert_eq!(record.verdict.as_ref().map(|v| v.ok), Some(true));
        assert_eq!(record.client_certificate.as_ref().map(|c| c.thumbprint_sha1.clone()), Some(thumbprint(&leaf)));
        assert_eq!(record.requests.len(), 1);
        assert_eq!(record.requests[0].header("authorization").unwrap_or_default(), REDACTED);
        assert!(time::OffsetDateTime::parse(&record.at, &time::format_description::well_known::Rfc3339).is_ok());
        let json = serde_json::to_string(&record).expect("record serializes");
        for secret in ["very-secret-token", "sub-key-secret", "cookie-secret"] {
            assert!(!json.contains(secret), "{secret} leaked into the record");
        }
        let back: ConnectionRecord = serde_json::from_str(&json).expect("record deserializes");
        assert_eq!(back, record);
    })
    .await
    .expect("test within time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_curl_without_cert_over_tls12_http1_is_accepted_with_no_certificate() {
    tokio::time::timeout(TEST_LIMIT, async {
        let m = Material::new();
        let mut server = Running::start(m.config(true, false, None)).await;
        let cmd = curl(&m, server.addr, "/", None, &["--http1.1", "--tls-max", "1.2", "-X", "POST", "-d", "hello"]);
        let echo = echo_from(&run_peer(cmd, vec![]).await);
        assert_eq!(echo.tls.tls_version, "TLSv1.2");
        assert_eq!(echo.tls.alpn.as_deref(), Some("http/1.1"));
        assert!(echo.tls.client_certificate.is_none());
        assert!(echo.tls.client_chain.is_empty());
        assert!(!echo.tls.verdict.ok);
        assert!(!echo.tls.verdict.certificate_presented());
        assert_eq!(echo.request.method, "POST");
        assert_eq!(echo.request.body_bytes, 5);

        let record = server.next_record().await;
        assert_eq!(record.tls_version.as_deref(), Some("TLSv1.2"));
        assert!(record.client_certificate.is_none());
        assert_eq!(record.verdict.map(|v| v.certificate_presented()), Some(false));
    })
    .await
    .expect("test within time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_accepts_untrusted_and_expired_certs_but_judges_them() {
    tokio::time::timeout(TEST_LIMIT, async {
        let m = Material::new();
        let rogue_root = Issued::self_signed(&Spec::ca("Listen Rogue Root")).expect("rogue root");
        let rogue = rogue_root.issue(&Spec::leaf("listen-rogue").client_only()).expect("rogue leaf");
        let rogue_files = (m.dir.write("rogue.pem", rogue.cert_pem()), m.dir.write("rogue.key", rogue.key_pem()));
        let expired = m.client.leaf(&Spec::leaf("listen-expired").client_only().valid_days(-30, -1));
        let expired_files = m.client_files("expired", &expired);
        let mut server = Running::start(m.config(true, false, None)).await;

        let echo = echo_from(&run_peer(curl(&m, server.addr, "/", Some(&rogue_files), &[]), vec![]).await);
        assert_eq!(echo.tls.client_certificate.map(|c| c.thumbprint_sha1), Some(thumbprint(&rogue)));
        assert!(!echo.tls.verdict.ok);
        let why = echo.tls.verdict.error.expect("a reason");
        assert!(why.contains("UnknownIssuer"), "{why}");
        assert!(server.next_record().await.verdict.is_some_and(|v| !v.ok));

        let echo = echo_from(&run_peer(curl(&m, server.addr, "/", Some(&expired_files), &[]), vec![]).await);
        assert!(!echo.tls.verdict.ok);
        let why = echo.tls.verdict.error.expect("a reason");
        assert!(why.contains("certificate expired"), "{why}");
    })
    .await
    .expect("test within time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_without_ca_still_asks_and_shows_the_certificate() {
    tokio::time::timeout(TEST_LIMIT, async {
        let m = Material::new();
        let leaf = m.client.leaf(&Spec::leaf("listen-client-no-ca").client_only());
        let files = m.client_files("noca", &leaf);
        let server = Running::start(m.config(false, false, None)).await;
        let echo = echo_from(&run_peer(curl(&m, server.addr, "/", Some(&files), &[]), vec![]).await);
        assert_eq!(echo.tls.client_certificate.map(|c| c.thumbprint_sha1), Some(thumbprint(&leaf)));
        assert!(!echo.tls.verdict.ok);
        let why = echo.tls.verdict.error.expect("a reason");
        assert!(why.contains("no CA certificates were given"), "{why}");
    })
    .await
    .expect("test within time limit");
}

async fn s_client(m: &Material, addr: SocketAddr, version: &str, files: &(PathBuf, PathBuf)) -> Finished {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &addr.to_string(), "-servername", HOST, version, "-ign_eof", "-CAfile"])
        .arg(&m.server_root)
        .arg("-cert")
        .arg(&files.0)
        .arg("-key")
        .arg(&files.1)
        // s_client sends only the leaf of `-cert`; the issuing CA must be named separately.
        .arg("-cert_chain")
        .arg(&m.client_issuing);
    let request = format!("GET /via-openssl HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n");
    run_peer(cmd, request.into_bytes()).await
}

fn echo_in_s_client_output(out: &str) -> Echo {
    let start = out.find("\n{").expect("JSON echo in s_client output") + 1;
    let end = out.rfind("\n}").expect("end of the JSON echo") + 2;
    serde_json::from_str(&out[start..end]).unwrap_or_else(|e| panic!("bad echo ({e}): {}", &out[start..end]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_openssl_s_client_sees_the_certificate_request_in_tls12_and_tls13() {
    tokio::time::timeout(TEST_LIMIT, async {
        let m = Material::new();
        let leaf = m.client.leaf(&Spec::leaf("listen-openssl").client_only());
        let files = m.client_files("openssl", &leaf);
        let mut server = Running::start(m.config(true, false, None)).await;
        for (flag, version) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
            let out = s_client(&m, server.addr, flag, &files).await;
            let text = format!("{}{}", out.stdout, out.stderr);
            assert!(!out.timed_out, "s_client {flag} hung: {text}");
            assert!(text.contains("Acceptable client certificate CA names"), "{flag}: {text}");
            assert!(text.contains("Listen Test Client Root CA"), "{flag}: CA name not hinted: {text}");
            let echo = echo_in_s_client_output(&out.stdout);
            assert_eq!(echo.tls.tls_version, version);
            assert_eq!(echo.request.path, "/via-openssl");
            assert_eq!(echo.tls.client_certificate.map(|c| c.thumbprint_sha1), Some(thumbprint(&leaf)));
            assert!(echo.tls.verdict.ok, "{flag}: {:?}", echo.tls.verdict);
            let record = server.next_record().await;
            assert_eq!(record.tls_version.as_deref(), Some(version));
            assert_eq!(record.requests.len(), 1);
        }
    })
    .await
    .expect("test within time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_require_client_cert_refuses_a_certless_curl() {
    tokio::time::timeout(TEST_LIMIT, async {
        let m = Material::new();
        let leaf = m.client.leaf(&Spec::leaf("listen-required").client_only());
        let files = m.client_files("required", &leaf);
        let mut server = Running::start(m.config(true, true, None)).await;
        for tls_max in ["1.2", "1.3"] {
            let out = run_peer(curl(&m, server.addr, "/", None, &["--tls-max", tls_max]), vec![]).await;
            assert!(!out.success(), "TLS {tls_max}: a certless client was served: {}", out.stdout);
            assert!(!out.stdout.contains("client_certificate"), "TLS {tls_max}: {}", out.stdout);
            let record = server.next_record().await;
            let why = record.handshake_error.expect("the refusal is recorded");
            assert!(why.contains("no certificates"), "TLS {tls_max}: {why}");
            assert!(record.verdict.is_none());
        }
        let echo = echo_from(&run_peer(curl(&m, server.addr, "/", Some(&files), &[]), vec![]).await);
        assert!(echo.tls.verdict.ok);
    })
    .await
    .expect("test within time limit");
}

/// A small deterministic generator, so a failure can be replayed.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Send `bytes`, then read whatever comes back until the server closes (bounded).
async fn send_raw(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let _ = tcp.write_all(bytes).await;
    let _ = tcp.shutdown().await;
    let mut back = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(12), tcp.read_to_end(&mut back)).await.expect("server closes");
    back
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_survives_garbage_and_plain_http_then_stops_after_max_connections() {
    tokio::time::timeout(TEST_LIMIT, async {
        let m = Material::new();
        let leaf = m.client.leaf(&Spec::leaf("listen-after-garbage").client_only());
        let files = m.client_files("after", &leaf);
        let mut server = Running::start(m.config(true, false, Some(5))).await;

        let mut lowercase_noise = noise(7, 2048);
        lowercase_noise[0] = b'x';
        let mut tls_like_noise = noise(11, 512);
        tls_like_noise[..3].copy_from_slice(&[0x16, 0x03, 0x01]);
        let plain_http = b"GET /plain HTTP/1.1\r\nHost: listen.test\r\n\r\n".to_vec();

        send_raw(server.addr, &lowercase_noise).await;
        send_raw(server.addr, &tls_like_noise).await;
        let answer = String::from_utf8_lossy(&send_raw(server.addr, &plain_http).await).into_owned();
        assert!(answer.starts_with("HTTP/1.1 400"), "plain HTTP gets an HTTP answer: {answer}");
        send_raw(server.addr, b"").await;

        let mut garbage_records = Vec::new();
        for _ in 0..4 {
            garbage_records.push(server.next_record().await);
        }
        assert!(
            garbage_records.iter().all(|r| r.handshake_error.is_some() && r.verdict.is_none()),
            "{garbage_records:#?}"
        );
        assert!(
            garbage_records.iter().any(|r| r.handshake_error.as_deref().is_some_and(|e| e.contains("plain HTTP"))),
            "{garbage_records:#?}"
        );

        // The server is still serving: the fifth connection is a real client.
        let echo = echo_from(&run_peer(curl(&m, server.addr, "/", Some(&files), &[]), vec![]).await);
        assert!(echo.tls.verdict.ok);
        assert!(server.next_record().await.handshake_error.is_none());
        server.finished().await.expect("listener stops cleanly after 5 connections");
    })
    .await
    .expect("test within time limit");
}

/// Binary that happens to start with an uppercase letter is not a client speaking plain HTTP: only a
/// first line that parses as an HTTP request line is called that (and answered with HTTP).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_calls_random_binary_neither_tls_nor_plain_http() {
    tokio::time::timeout(TEST_LIMIT, async {
        let m = Material::new();
        let mut server = Running::start(m.config(true, false, Some(3))).await;
        let mut uppercase_noise = noise(23, 1024);
        uppercase_noise[0] = b'G';
        let mut almost_http = b"GET /x\r\n".to_vec();
        almost_http.extend(noise(5, 64));
        let real = b"POST /api HTTP/1.1\r\nHost: a\r\n\r\n".to_vec();
        for (bytes, http) in [(uppercase_noise, false), (almost_http, false), (real, true)] {
            let answer = send_raw(server.addr, &bytes).await;
            let record = server.next_record().await;
            let why = record.handshake_error.expect("recorded as a failed connection");
            assert_eq!(why.contains("plain HTTP"), http, "{why}");
            assert_eq!(answer.starts_with(b"HTTP/1.1 400"), http, "{why}");
            if !http {
                assert!(why.contains("neither TLS nor HTTP"), "{why}");
                assert!(!why.chars().any(|c| c.is_control()), "{why:?}");
            }
        }
        server.finished().await.expect("listener stops after 3 connections");
    })
    .await
    .expect("test within time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_errors_name_the_address_and_the_bad_key() {
    tokio::time::timeout(TEST_LIMIT, async {
        let m = Material::new();
        let taken = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let mut cfg = m.config(true, false, None);
        cfg.bind = taken.local_addr().expect("addr");
        let err = bind(&cfg).await.expect_err("address in use");
        assert!(err.to_string().contains(&cfg.bind.to_string()), "{err}");

        let other = Issued::self_signed(&Spec::leaf("other-key")).expect("other");
        let mut cfg = m.config(true, false, None);
        cfg.key = other.private_key_der();
        let debug = format!("{cfg:?}");
        assert!(debug.contains("[secret]") && !debug.contains(&format!("{:?}", other.key_der())), "{debug}");
        let listener = bind(&cfg).await.expect("bind");
        let (tx, _rx) = mpsc::channel(1);
        let err = run_listener(cfg, listener, tx).await.expect_err("mismatched key");
        assert!(err.to_string().starts_with("listen certificate and key"), "{err}");
        assert!(!err.to_string().contains("PRIVATE KEY"), "{err}");
    })
    .await
    .expect("test within time limit");
}
