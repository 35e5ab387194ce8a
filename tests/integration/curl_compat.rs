//! What a curl user types does what curl does, through the real binary: URL targets (path and
//! query sent as given, `http://` refused), curl's `--connect-to` and `--resolve`, HTTP proxies
//! with CONNECT (flag and environment, NO_PROXY, credentials never shown, a refusal as its own
//! finding), combined PEM files, SSLKEYLOGFILE, and `listen --bind PORT`.
//!
//! The peers are in-process: a loopback HTTPS server that records each request head, and a CONNECT
//! proxy that records what it is asked and tunnels only to loopback. Both stop when dropped.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use mtls_doctor::pki::{Issued, Spec};
use serde_json::Value;

use crate::util::{bin, run, stderr, stdout, Dir};

const IO_LIMIT: Duration = Duration::from_secs(10);

/// Read up to the end of an HTTP head (bounded).
fn read_head(s: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Accepts on `listener` in a thread until dropped, handing each connection to `serve`.
struct Peer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Peer {
    fn start(listener: TcpListener, serve: impl Fn(TcpStream) + Send + Sync + 'static) -> Self {
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let serve = Arc::new(serve);
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(IO_LIMIT));
                let _ = conn.set_write_timeout(Some(IO_LIMIT));
                let serve = serve.clone();
                std::thread::spawn(move || serve(conn));
            }
        });
        Peer { addr, stop, thread: Some(thread) }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A TLS server for `api.contoso.com` (no client certificate asked) that records request heads.
struct HttpsServer {
    peer: Peer,
    heads: Arc<Mutex<Vec<String>>>,
    root: PathBuf,
}

impl HttpsServer {
    fn start(dir: &Dir, bind: &str) -> Self {
        let root = Issued::self_signed(&Spec::ca("Curl Compat Root")).expect("root");
        let leaf = root.issue(&Spec::leaf("api.contoso.com").sans(&["api.contoso.com", "::1"])).expect("leaf");
        let root_path = dir.write("server-root.pem", root.cert_pem());
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_no_client_auth()
                .with_single_cert(vec![leaf.cert_der()], leaf.private_key_der())
                .expect("server config"),
        );
        let heads = Arc::new(Mutex::new(Vec::new()));
        let rec = heads.clone();
        let listener = TcpListener::bind(bind).expect("bind https");
        let peer = Peer::start(listener, move |tcp| {
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else { return };
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let head = read_head(&mut tls);
            if head.is_empty() {
                return;
            }
            rec.lock().expect("lock").push(head);
            let _ = tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            tls.conn.send_close_notify();
            let _ = tls.flush();
        });
        HttpsServer { peer, heads, root: root_path }
    }

    fn port(&self) -> u16 {
        self.peer.addr.port()
    }

    fn request_lines(&self) -> Vec<String> {
        self.heads.lock().expect("lock").iter().map(|h| h.lines().next().unwrap_or_default().to_string()).collect()
    }
}

/// A CONNECT proxy on loopback: records each request head; answers `refuse` when given, else
/// tunnels to the (loopback-only) target.
pub struct ConnectProxy {
    peer: Peer,
    heads: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    pub fn start(refuse: Option<&'static str>) -> Self {
        let heads = Arc::new(Mutex::new(Vec::new()));
        let rec = heads.clone();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let peer = Peer::start(listener, move |mut client| {
            let head = read_head(&mut client);
            rec.lock().expect("lock").push(head.clone());
            if let Some(answer) = refuse {
                let _ = client.write_all(format!("HTTP/1.1 {answer}\r\nContent-Length: 0\r\n\r\n").as_bytes());
                return;
            }
            let target = head.lines().next().and_then(|l| l.split(' ').nth(1)).unwrap_or_default().to_string();
            let allowed = target.starts_with("127.0.0.1:") || target.starts_with("[::1]:");
            let upstream = allowed
                .then(|| target.parse::<SocketAddr>().ok())
                .flatten()
                .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_secs(5)).ok());
            let Some(upstream) = upstream else {
                let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
                return;
            };
            let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
            let _ = upstream.set_read_timeout(Some(IO_LIMIT));
            let (mut c2, mut u2) = (client.try_clone().expect("clone"), upstream.try_clone().expect("clone"));
            let up = std::thread::spawn(move || {
                let _ = std::io::copy(&mut c2, &mut u2);
                let _ = u2.shutdown(Shutdown::Write);
            });
            let (mut u, mut c) = (upstream, client);
            let _ = std::io::copy(&mut u, &mut c);
            let _ = c.shutdown(Shutdown::Write);
            let _ = up.join();
        });
        ConnectProxy { peer, heads }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.peer.addr)
    }

    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("lock").clone()
    }
}

/// The binary with no proxy settings inherited from the machine running the tests.
fn clean_bin() -> Command {
    let mut c = bin();
    for v in ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY", "SSLKEYLOGFILE"] {
        c.env_remove(v);
    }
    c
}

fn probe_json(cmd: &mut Command) -> (Option<i32>, Value, String) {
    let o = run(cmd.args(["--report", "json", "--no-compare", "--timeout", "8"]));
    let text = format!("{}{}", stdout(&o), stderr(&o));
    let v = serde_json::from_str(&stdout(&o)).unwrap_or(Value::Null);
    (o.status.code(), v, text)
}

fn finding_ids(v: &Value) -> Vec<String> {
    v["findings"].as_array().into_iter().flatten().filter_map(|f| f["id"].as_str().map(String::from)).collect()
}

#[test]
fn a_url_target_sends_its_path_and_query_and_connect_to_takes_curls_four_fields() {
    let dir = Dir::new();
    let server = HttpsServer::start(&dir, "127.0.0.1:0");
    let port = server.port();
    let (code, v, text) = probe_json(
        clean_bin()
            .arg("probe")
            .arg(format!("https://api.contoso.com:{port}/orders/v1/health?x=1#frag"))
            .arg("--connect-to")
            .arg(format!("api.contoso.com:{port}:127.0.0.1:{port}"))
            .arg("--ca")
            .arg(&server.root),
    );
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(server.request_lines(), ["GET /orders/v1/health?x=1 HTTP/1.1"], "{text}");
    let heads = server.heads.lock().expect("lock").clone();
    assert!(heads[0].to_ascii_lowercase().contains(&format!("host: api.contoso.com:{port}\r\n")), "{heads:?}");
    assert_eq!(v["probes"][0]["http"]["status"], 200, "{text}");

    // --path overrides the URL's path; --resolve pins the address as curl does.
    let (code, v, text) = probe_json(
        clean_bin()
            .arg("probe")
            .arg(format!("https://api.contoso.com:{port}/ignored"))
            .args(["--path", "/override?y=2", "--resolve"])
            .arg(format!("api.contoso.com:{port}:127.0.0.1"))
            .arg("--ca")
            .arg(&server.root),
    );
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(server.request_lines()[1], "GET /override?y=2 HTTP/1.1");
    assert_eq!(v["probes"][0]["dns"]["from_resolve"], true, "{text}");
    crate::report::assert_valid("probe_report", "probe with --resolve", &v);
}

#[test]
fn ipv6_literal_urls_are_targets() {
    if TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    }
    let dir = Dir::new();
    let server = HttpsServer::start(&dir, "[::1]:0");
    let port = server.port();
    let (code, v, text) =
        probe_json(clean_bin().arg("probe").arg(format!("https://[::1]:{port}/v6?q")).arg("--ca").arg(&server.root));
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(server.request_lines(), ["GET /v6?q HTTP/1.1"]);
    let heads = server.heads.lock().expect("lock").clone();
    assert!(heads[0].to_ascii_lowercase().contains(&format!("host: [::1]:{port}\r\n")), "{heads:?}");
    assert_eq!(v["probes"][0]["tcp"]["address"], format!("[::1]:{port}"));
}

#[test]
fn http_urls_and_malformed_curl_values_are_usage_errors_naming_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["http://api.contoso.com/x"], "mtls-doctor probes TLS: use https://"),
        (&["api", "--connect-to", "api:443:127.0.0.1"], "--connect-to"),
        (&["api", "--connect-to", "api:443:127.0.0.1:port"], "--connect-to"),
        (&["api", "--resolve", "api:443:127.0.0.1:19110"], "--resolve"),
        (&["api", "--resolve", "api:443"], "--resolve"),
        (&["api", "--proxy", "socks5://127.0.0.1:1080"], "--proxy"),
    ];
    for (args, says) in cases {
        let o = run(clean_bin().arg("probe").args(*args));
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: one line: {err}");
        assert!(stdout(&o).is_empty(), "{args:?}: no DNS finding or report: {}", stdout(&o));
    }
    // A targets file line says where it is (--fail-fast: without it ok.example would be probed and
    // line 2 reported as that target's error; targets_partial.rs covers that on loopback).
    let dir = Dir::new();
    let file = dir.write("targets.txt", "https://ok.example/\nhttp://plain.example/\n");
    let o = run(clean_bin().arg("probe").arg("--fail-fast").arg("--targets").arg(&file));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("{}:2: ", file.display())), "{}", stderr(&o));
}

#[test]
fn a_proxy_tunnels_the_probe_with_basic_credentials_that_never_show() {
    let dir = Dir::new();
    let server = HttpsServer::start(&dir, "127.0.0.1:0");
    let proxy = ConnectProxy::start(None);
    let port = server.port();
    let session = dir.path("s.json");
    let proxy_url = proxy.url().replace("http://", "http://alice:s3cr%3At@");
    let (code, v, text) = probe_json(
        clean_bin()
            .arg("probe")
            .arg("https://api.contoso.com/tunnelled?z=9")
            .arg("--connect-to")
            .arg(format!("api.contoso.com:443:127.0.0.1:{port}"))
            .args(["--proxy", &proxy_url, "--ca"])
            .arg(&server.root)
            .arg("--save")
            .arg(&session),
    );
    assert_eq!(code, Some(0), "{text}");
    let heads = proxy.heads();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(heads[0].starts_with(&format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n")), "{heads:?}");
    // base64("alice:s3cr:t")
    assert!(heads[0].contains("Proxy-Authorization: Basic YWxpY2U6czNjcjp0\r\n"), "{heads:?}");
    assert_eq!(server.request_lines(), ["GET /tunnelled?z=9 HTTP/1.1"]);
    let p = &v["probes"][0]["proxy"];
    assert_eq!(p["address"], proxy.url().trim_start_matches("http://"));
    assert_eq!(
        (p["source"].as_str(), p["authenticated"].as_bool(), p["status"].as_u64()),
        (Some("--proxy"), Some(true), Some(200))
    );
    let saved = std::fs::read_to_string(&session).expect("session");
    crate::report::assert_valid("probe_report", "proxied probe", &v);
    crate::report::assert_valid("session", "proxied session", &serde_json::from_str(&saved).expect("session json"));
    for secret in ["s3cr", "YWxpY2U6czNjcjp0"] {
        assert!(!text.contains(secret) && !saved.contains(secret), "{secret} leaked");
    }
}

#[test]
fn proxies_come_from_the_environment_like_curl_and_no_proxy_bypasses_them() {
    let dir = Dir::new();
    let server = HttpsServer::start(&dir, "127.0.0.1:0");
    let proxy = ConnectProxy::start(None);
    let port = server.port();
    let target = format!("https://api.contoso.com:{port}/env");
    let ct = format!("api.contoso.com:{port}:127.0.0.1:{port}");
    let (code, v, text) = probe_json(
        clean_bin()
            .env("HTTPS_PROXY", proxy.url())
            .env("ALL_PROXY", "http://127.0.0.1:9")
            .args(["probe", &target, "--connect-to", &ct, "--ca"])
            .arg(&server.root),
    );
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(v["probes"][0]["proxy"]["source"], "HTTPS_PROXY");
    assert_eq!(proxy.heads().len(), 1);

    // NO_PROXY names a parent domain: straight to the server, as curl goes.
    let (code, v, text) = probe_json(
        clean_bin()
            .env("HTTPS_PROXY", proxy.url())
            .env("NO_PROXY", "example.org, .contoso.com")
            .args(["probe", &target, "--connect-to", &ct, "--ca"])
            .arg(&server.root),
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(v["probes"][0].get("proxy").is_none(), "{text}");
    assert_eq!(proxy.heads().len(), 1, "the proxy was not asked again");
    assert_eq!(server.request_lines().len(), 2);

    // --noproxy "" overrides NO_PROXY; --proxy "" turns the environment's proxy off.
    let (_, v, text) = probe_json(
        clean_bin()
            .env("HTTPS_PROXY", proxy.url())
            .env("NO_PROXY", "contoso.com")
            .args(["probe", &target, "--connect-to", &ct, "--noproxy", "", "--ca"])
            .arg(&server.root),
    );
    assert_eq!(v["probes"][0]["proxy"]["source"], "HTTPS_PROXY", "{text}");
    let (_, v, text) = probe_json(
        clean_bin()
            .env("HTTPS_PROXY", proxy.url())
            .args(["probe", &target, "--connect-to", &ct, "--proxy", "", "--ca"])
            .arg(&server.root),
    );
    assert!(v["probes"][0].get("proxy").is_none(), "{text}");
}

#[test]
fn a_proxy_refusing_connect_is_its_own_finding_not_a_firewall() {
    let proxy = ConnectProxy::start(Some("407 Proxy Authentication Required"));
    let with_creds = proxy.url().replace("http://", "http://bob:hunter2@");
    let (code, v, text) = probe_json(clean_bin().args(["probe", "https://api.contoso.com/", "--proxy", &with_creds]));
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(finding_ids(&v), ["proxy-refused-connect"], "{text}");
    assert!(text.contains("407"), "{text}");
    assert!(!text.contains("firewall") && !text.contains("NSG"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert_eq!(v["probes"][0]["proxy"]["status"], 407);
    crate::report::assert_valid("probe_report", "refused proxy", &v);
    let o = run(clean_bin().args(["probe", "https://api.contoso.com/", "--timeout", "8", "--proxy", &with_creds]));
    let text = stdout(&o);
    let said = format!(
        "through proxy {} (from --proxy, with credentials): CONNECT api.contoso.com:443 answered 407",
        proxy.url().trim_start_matches("http://")
    );
    assert!(text.contains(&said), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(proxy.heads()[0].starts_with("CONNECT api.contoso.com:443 HTTP/1.1\r\n"));
}

#[test]
fn sslkeylogfile_gets_the_probes_secrets() {
    let dir = Dir::new();
    let server = HttpsServer::start(&dir, "127.0.0.1:0");
    let port = server.port();
    let log = dir.path("keys.log");
    for tls in ["1.3", "1.2"] {
        let (code, _, text) = probe_json(
            clean_bin()
                .env("SSLKEYLOGFILE", &log)
                .arg("probe")
                .arg(format!("https://api.contoso.com:{port}/"))
                .args(["--tls", tls, "--resolve"])
                .arg(format!("api.contoso.com:{port}:127.0.0.1"))
                .arg("--ca")
                .arg(&server.root),
        );
        assert_eq!(code, Some(0), "{text}");
    }
    let keys = std::fs::read_to_string(&log).expect("key log written");
    assert!(keys.lines().any(|l| l.starts_with("CLIENT_HANDSHAKE_TRAFFIC_SECRET ")), "{keys}");
    assert!(keys.lines().any(|l| l.starts_with("CLIENT_RANDOM ")), "TLS 1.2 line: {keys}");
    let help = stdout(&run(bin().args(["probe", "--help"])));
    assert!(help.contains("SSLKEYLOGFILE"), "{help}");
}

#[test]
fn cert_with_its_key_in_one_pem_needs_no_key_flag() {
    let dir = Dir::new();
    let root = Issued::self_signed(&Spec::ca("Combined Root")).expect("root");
    let leaf = root.issue(&Spec::leaf("client.contoso.com").client_only()).expect("leaf");
    let combined = dir.write("combined.pem", format!("{}{}", leaf.cert_pem(), leaf.key_pem()));
    let o =
        run(clean_bin().args(["probe", "127.0.0.1:9", "--report", "json", "--timeout", "3", "--cert"]).arg(&combined));
    assert_ne!(o.status.code(), Some(2), "not a usage error: {}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("json");
    let subject = v["probes"][0]["client_chain"][0]["subject"].as_str().unwrap_or_default();
    assert!(subject.starts_with("CN=client.contoso.com"), "{}", stdout(&o));
    assert!(!finding_ids(&v).contains(&"cert-no-private-key".to_string()));
}

#[test]
fn listen_binds_a_bare_port_and_a_host_name() {
    let dir = Dir::new();
    let root = Issued::self_signed(&Spec::ca("Listen Root")).expect("root");
    let leaf = root.issue(&Spec::leaf("localhost").server_only()).expect("leaf");
    let (cert, key) = dir.write_issued("server", &leaf);
    for bind in ["{port}", "localhost:{port}"] {
        let port = crate::peers::free_port();
        let bind = bind.replace("{port}", &port.to_string());
        let child = clean_bin()
            .args(["listen", "--bind", &bind, "--max-connections", "1", "--cert"])
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn listen");
        let mut peer = crate::peers::Peer { child, port, name: "listen" };
        // Panics unless `listen --bind {bind}` accepts on 127.0.0.1:{port} within 10 s.
        crate::peers::wait_for_port(port, &mut peer.child, "listen");
        drop(peer);
    }
    let o = run(clean_bin().args(["listen", "--bind", "no:such:thing", "--cert", "x"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--bind"), "{}", stderr(&o));
}

/// Runs a command on a pseudo-terminal (python3's pty), answering each "Password for" prompt;
/// returns how many prompts there were.
fn prompts_on_a_pty(dir: &Dir, args: &[&str], password: &str) -> usize {
    let feeder = dir.write(
        "feed_pty.py",
        "import os, pty, select, sys, time\n\
         pw = sys.argv[1].encode() + b'\\n'\n\
         pid, fd = pty.fork()\n\
         if pid == 0:\n    os.execv(sys.argv[2], sys.argv[2:])\n\
         out, asked, end = b'', 0, time.time() + 60\n\
         while time.time() < end:\n\
         \x20   r, _, _ = select.select([fd], [], [], 0.5)\n\
         \x20   if not r:\n        continue\n\
         \x20   try:\n        data = os.read(fd, 4096)\n    except OSError:\n        break\n\
         \x20   if not data:\n        break\n\
         \x20   out += data\n\
         \x20   while out.count(b'Password for') > asked:\n        asked += 1\n        os.write(fd, pw)\n\
         os.kill(pid, 9) if time.time() >= end else None\n\
         os.waitpid(pid, 0)\n\
         print('PROMPTS', asked)\n",
    );
    let o = run(Command::new("python3").arg(&feeder).arg(password).arg(env!("CARGO_BIN_EXE_mtls-doctor")).args(args));
    let text = stdout(&o);
    let line = text.lines().rev().find_map(|l| l.strip_prefix("PROMPTS ")).unwrap_or_else(|| panic!("{text}"));
    line.trim().parse().expect("count")
}

#[test]
fn a_pfx_password_is_asked_once_per_file_per_run() {
    let dir = Dir::new();
    let root = Issued::self_signed(&Spec::ca("Pfx Root")).expect("root");
    let leaf = root.issue(&Spec::leaf("client.contoso.com").client_only()).expect("leaf");
    let (cert, key) = dir.write_issued("client", &leaf);
    let pfx = dir.path("client.pfx");
    let (ok, out) = crate::util::openssl(&[
        "pkcs12",
        "-export",
        "-in",
        cert.to_str().expect("utf8"),
        "-inkey",
        key.to_str().expect("utf8"),
        "-out",
        pfx.to_str().expect("utf8"),
        "-passout",
        "pass:Once-Only-1",
    ]);
    assert!(ok, "{out}");
    let pfx = pfx.to_str().expect("utf8");
    let session = dir.path("s.json");
    let session = session.to_str().expect("utf8");
    // One target, two targets sharing the file (with the no-certificate comparison), then a replay.
    let runs: &[&[&str]] = &[
        &["probe", "127.0.0.1:9", "--pfx", pfx, "--timeout", "2", "--report", "json", "-o", "/dev/null"],
        &[
            "probe",
            "127.0.0.1:9",
            "127.0.0.2:9",
            "--pfx",
            pfx,
            "--timeout",
            "2",
            "--report",
            "json",
            "--save",
            session,
            "-o",
            "/dev/null",
        ],
        &["replay", session, "--report", "json", "-o", "/dev/null"],
        &["inspect", pfx, "--report", "json", "-o", "/dev/null"],
    ];
    for args in runs {
        assert_eq!(prompts_on_a_pty(&dir, args, "Once-Only-1"), 1, "{args:?}");
    }
}

#[test]
fn encrypted_pem_keys_open_with_the_key_password_in_memory() {
    let dir = Dir::new();
    let d = |n: &str| dir.path(n).to_str().expect("utf8").to_string();
    let sh = |args: &[&str]| {
        let (ok, out) = crate::util::openssl(args);
        assert!(ok, "openssl {args:?}: {out}");
    };
    sh(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", &d("rsa.pem")]);
    sh(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", &d("ec.pem")]);
    // PKCS#8 ENCRYPTED PRIVATE KEY (PBES2, AES-256), and OpenSSL's legacy Proc-Type forms.
    sh(&["pkey", "-in", &d("rsa.pem"), "-aes256", "-passout", "pass:K3y-Pass", "-out", &d("rsa-p8.pem")]);
    sh(&[
        "rsa",
        "-in",
        &d("rsa.pem"),
        "-des3",
        "-traditional",
        "-passout",
        "pass:K3y-Pass",
        "-out",
        &d("rsa-legacy.pem"),
    ]);
    sh(&["ec", "-in", &d("ec.pem"), "-aes128", "-passout", "pass:K3y-Pass", "-out", &d("ec-legacy.pem")]);
    let pw = dir.write("pw.txt", "K3y-Pass\n");
    for (key, plain, header) in [
        ("rsa-p8.pem", "rsa.pem", "ENCRYPTED PRIVATE KEY"),
        ("rsa-legacy.pem", "rsa.pem", "DEK-Info: DES-EDE3-CBC"),
        ("ec-legacy.pem", "ec.pem", "DEK-Info: AES-128-CBC"),
    ] {
        let text = std::fs::read_to_string(dir.path(key)).expect("key");
        assert!(text.contains(header), "{key} is the form under test: {text}");
        let cert = d(&format!("{key}.crt"));
        sh(&["req", "-x509", "-key", &d(plain), "-subj", "/CN=enc.contoso.com", "-days", "2", "-out", &cert]);
        let before = std::fs::read_dir(dir.tmp.path()).expect("dir").count();
        for how in ["env", "file"] {
            let mut cmd = clean_bin();
            cmd.args(["probe", "127.0.0.1:9", "--timeout", "2", "--report", "json", "--cert", &cert, "--key", &d(key)]);
            match how {
                "env" => cmd.env("MTLS_KEY_PW", "K3y-Pass").args(["--key-password-env", "MTLS_KEY_PW"]),
                _ => cmd.arg("--key-password-file").arg(&pw),
            };
            let o = run(&mut cmd);
            assert_ne!(o.status.code(), Some(2), "{key} ({how}): {}", stderr(&o));
            let v: Value = serde_json::from_str(&stdout(&o)).expect("json");
            let subject = v["probes"][0]["client_chain"][0]["subject"].as_str().unwrap_or_default();
            assert!(subject.starts_with("CN=enc.contoso.com"), "{key} ({how}): {}", stdout(&o));
            assert!(!stdout(&o).contains("K3y-Pass") && !stderr(&o).contains("K3y-Pass"));
        }
        let after = std::fs::read_dir(dir.tmp.path()).expect("dir").count();
        assert_eq!(before, after, "nothing decrypted was written next to the key");

        // A wrong password and a missing one are one-line input errors naming the key file.
        let o = run(clean_bin().env("MTLS_KEY_PW", "nope").args([
            "probe",
            "127.0.0.1:9",
            "--cert",
            &cert,
            "--key",
            &d(key),
            "--key-password-env",
            "MTLS_KEY_PW",
        ]));
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(&d(key)) && stderr(&o).contains("wrong password"), "{}", stderr(&o));
        let o = run(clean_bin()
            .args(["probe", "127.0.0.1:9", "--cert", &cert, "--key", &d(key)])
            .stdin(std::process::Stdio::null()));
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(&d(key)), "{}", stderr(&o));
    }
}
