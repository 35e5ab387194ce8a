//! Real gateways configured the way people run them, on loopback free ports: Apache httpd (mod_ssl,
//! mod_http2), HAProxy, Caddy (Go crypto/tls), small Python `ssl` servers and `openssl s_server`
//! variants. Each is started per test with its own directory, waited for with a bound, and stopped
//! by its pid when dropped. Certificates come from rcgen at test time (see `GatewayPki`).
#![allow(dead_code)]

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mtls_doctor::cert::Certificate;
use mtls_doctor::pki::{Issued, Spec};
use mtls_doctor::probe::{ClientIdentity, ProbeContext, ProbeOptions};
use mtls_doctor::verify::TrustStore;

use crate::peers::free_port;
use crate::util::Dir;

/// How long a gateway may take to start on a loaded machine.
const START_BOUND: Duration = Duration::from_secs(30);

/// A server process stopped by pid (TERM, then KILL) when dropped. Keeps its directory alive.
pub struct Gateway {
    child: Child,
    pub port: u16,
    pub name: &'static str,
    pub dir: Dir,
}

impl Gateway {
    /// The server's error log (Apache, Caddy, the Python servers), for assertion messages.
    pub fn log(&self) -> String {
        ["error.log", "server.log"]
            .iter()
            .filter_map(|f| std::fs::read_to_string(self.dir.path(f)).ok())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_listening(mut child: Child, port: u16, name: &'static str, dir: Dir) -> Gateway {
    let deadline = Instant::now() + START_BOUND;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Gateway { child, port, name, dir };
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = ["error.log", "server.log", "stderr.log"]
                .iter()
                .filter_map(|f| std::fs::read_to_string(dir.path(f)).ok())
                .collect::<Vec<_>>()
                .join("\n");
            panic!("{name} exited early with {status}:\n{log}");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} did not listen on {port} within {} s", START_BOUND.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stderr_file(dir: &Dir) -> Stdio {
    std::fs::File::create(dir.path("stderr.log")).map(Stdio::from).unwrap_or_else(|_| Stdio::null())
}

/// The certificates every gateway test uses: a server chain for `localhost`, a client PKI (root +
/// issuing CA), a good client, and a rogue client from an unrelated root.
pub struct GatewayPki {
    pub server_root: Issued,
    pub server: Issued,
    pub client_root: Issued,
    pub client_issuing: Issued,
    pub client: Issued,
    pub rogue: Issued,
}

impl GatewayPki {
    pub fn new() -> Self {
        let server_root = Issued::self_signed(&Spec::ca("Gateway Server Root")).expect("root");
        let server =
            server_root.issue(&Spec::leaf("localhost").sans(&["localhost", "127.0.0.1"]).server_only()).expect("srv");
        let client_root = Issued::self_signed(&Spec::ca("Gateway Client Root")).expect("root");
        let client_issuing = client_root.issue(&Spec::ca("Gateway Client Issuing CA")).expect("ica");
        let client = client_issuing.issue(&Spec::leaf("client one").client_only()).expect("client");
        let rogue_root = Issued::self_signed(&Spec::ca("Rogue Root")).expect("rogue root");
        let rogue = rogue_root.issue(&Spec::leaf("rogue client").client_only()).expect("rogue");
        GatewayPki { server_root, server, client_root, client_issuing, client, rogue }
    }

    /// Write the server's files into `dir`: server.pem, server.key, server-combined.pem (HAProxy),
    /// client-ca.pem (root + issuing CA) and client-root.pem.
    pub fn write_server_files(&self, dir: &Dir) {
        dir.write_issued("server", &self.server);
        dir.write("server-combined.pem", format!("{}{}", self.server.cert_pem(), self.server.key_pem()));
        dir.write("client-ca.pem", format!("{}{}", self.client_root.cert_pem(), self.client_issuing.cert_pem()));
        dir.write("client-root.pem", self.client_root.cert_pem());
        dir.write("server-root.pem", self.server_root.cert_pem());
    }

    /// Write the client's files for curl / s_client: NAME.pem (leaf + issuing CA for the good
    /// client), NAME.key.
    pub fn write_client_files(&self, dir: &Dir) {
        dir.write("client.pem", format!("{}{}", self.client.cert_pem(), self.client_issuing.cert_pem()));
        dir.write("client.key", self.client.key_pem());
        dir.write("rogue.pem", self.rogue.cert_pem());
        dir.write("rogue.key", self.rogue.key_pem());
        dir.write("server-root.pem", self.server_root.cert_pem());
    }

    pub fn trust(&self) -> TrustStore {
        let root = Certificate::from_der(self.server_root.der.clone(), "server-root.pem").expect("root");
        TrustStore {
            source: "server-root.pem".into(),
            certs: vec![root].into(),
            anchors: vec![],
            prepared: Default::default(),
        }
    }

    pub fn identity(&self, which: Client) -> Option<ClientIdentity> {
        let (leaf, chain): (&Issued, Vec<&Issued>) = match which {
            Client::Good => (&self.client, vec![&self.client_issuing]),
            Client::Rogue => (&self.rogue, vec![]),
            Client::Missing => return None,
        };
        let mut certs = vec![Certificate::from_der(leaf.der.clone(), "leaf").expect("leaf")];
        certs.extend(chain.iter().map(|c| Certificate::from_der(c.der.clone(), "chain").expect("chain")));
        Some(ClientIdentity::new(certs, &leaf.private_key_der(), "test identity").expect("identity"))
    }

    pub fn context(&self, which: Client) -> ProbeContext {
        ProbeContext { identity: self.identity(which), trust: self.trust() }
    }
}

/// Which client certificate a case presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Good,
    Missing,
    Rogue,
}

impl Client {
    pub const ALL: [Client; 3] = [Client::Good, Client::Missing, Client::Rogue];

    /// curl's `--cert/--key` arguments for this client (none for `Missing`).
    pub fn curl_args(self, dir: &Dir) -> Vec<String> {
        let files = match self {
            Client::Good => Some(("client.pem", "client.key")),
            Client::Rogue => Some(("rogue.pem", "rogue.key")),
            Client::Missing => None,
        };
        files
            .map(|(c, k)| {
                vec![
                    "--cert".into(),
                    dir.path(c).display().to_string(),
                    "--key".into(),
                    dir.path(k).display().to_string(),
                ]
            })
            .unwrap_or_default()
    }
}

/// Probe options for `localhost` on a loopback port.
pub fn local_opts(port: u16) -> ProbeOptions {
    let mut o = ProbeOptions::new("localhost", port);
    o.connect_to = Some(format!("127.0.0.1:{port}"));
    o
}

// ---------------------------------------------------------------- Apache httpd

pub fn apache_binary() -> Option<PathBuf> {
    ["/usr/sbin/apache2", "/usr/sbin/httpd"].iter().map(PathBuf::from).find(|p| p.exists())
}

const APACHE_MODULES: &[(&str, &str)] = &[
    ("mpm_event_module", "mod_mpm_event.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("mime_module", "mod_mime.so"),
    ("dir_module", "mod_dir.so"),
    ("alias_module", "mod_alias.so"),
    ("socache_shmcb_module", "mod_socache_shmcb.so"),
    ("ssl_module", "mod_ssl.so"),
    ("http2_module", "mod_http2.so"),
];

/// Apache httpd in the foreground (`-DFOREGROUND`, its own pid file and logs under its directory)
/// with the server's files from `pki` and `site` inside the TLS `<VirtualHost>`. The document root
/// holds `/index.html` and `/secure/index.html`. `protocols` is Apache's `Protocols` line
/// (`h2 http/1.1` or `http/1.1`); `{DIR}` in `site` is replaced.
pub fn apache(pki: &GatewayPki, protocols: &str, site: &str) -> Gateway {
    let bin = apache_binary().expect("apache2 is not installed: run .ci/run or apt-get install -y apache2");
    let dir = Dir::new();
    pki.write_server_files(&dir);
    let d = dir.tmp.path().display().to_string();
    std::fs::create_dir_all(dir.path("htdocs/secure")).expect("htdocs");
    dir.write("htdocs/index.html", "public page\n");
    dir.write("htdocs/secure/index.html", "secure page\n");
    let port = free_port();
    let modules: String = APACHE_MODULES
        .iter()
        .map(|(name, file)| format!("LoadModule {name} /usr/lib/apache2/modules/{file}\n"))
        .collect();
    let conf = format!(
        "ServerRoot {d}\n{modules}ServerName localhost\nPidFile {d}/httpd.pid\nErrorLog {d}/error.log\nLogLevel info ssl:info\n\
         Mutex file:{d} default\nDefaultRuntimeDir {d}\nListen 127.0.0.1:{port}\nDocumentRoot {d}/htdocs\n\
         DirectoryIndex index.html\nTypesConfig /dev/null\nStartServers 1\nServerLimit 1\nThreadsPerChild 8\nMaxRequestWorkers 8\n\
         SSLSessionCache shmcb:{d}/ssl_scache(512000)\n\
         <Directory {d}/htdocs>\n Require all granted\n</Directory>\n\
         <VirtualHost 127.0.0.1:{port}>\n Protocols {protocols}\n SSLEngine on\n SSLProtocol -all +TLSv1.2 +TLSv1.3\n\
         SSLCertificateFile {d}/server.pem\n SSLCertificateKeyFile {d}/server.key\n SSLCACertificateFile {d}/client-ca.pem\n\
         SSLSessionTickets off\n{site}\n</VirtualHost>\n",
        site = site.replace("{DIR}", &d)
    );
    let conf_path = dir.write("httpd.conf", conf);
    let child = Command::new(bin)
        .arg("-d")
        .arg(dir.tmp.path())
        .arg("-f")
        .arg(&conf_path)
        .arg("-DFOREGROUND")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file(&dir))
        .spawn()
        .expect("start apache2");
    wait_listening(child, port, "apache2", dir)
}

// ---------------------------------------------------------------- HAProxy

pub fn haproxy_binary() -> Option<PathBuf> {
    ["/usr/sbin/haproxy", "/usr/bin/haproxy"].iter().map(PathBuf::from).find(|p| p.exists())
}

/// HAProxy in the foreground (`-db`, pid file under its directory): one TLS `bind` with
/// `bind_options` (e.g. `verify optional ca-file {DIR}/client-ca.pem alpn h2,http/1.1`) and the
/// `rules` lines in its frontend; the frontend answers 200 "ok" itself.
pub fn haproxy(pki: &GatewayPki, bind_options: &str, rules: &str) -> Gateway {
    let bin = haproxy_binary().expect("haproxy is not installed: run .ci/run or apt-get install -y haproxy");
    let dir = Dir::new();
    pki.write_server_files(&dir);
    let d = dir.tmp.path().display().to_string();
    let port = free_port();
    let conf = format!(
        "global\n  log stderr format raw local0 info\n  pidfile {d}/haproxy.pid\n  ssl-default-bind-options ssl-min-ver TLSv1.2\n\
         defaults\n  mode http\n  log global\n  timeout connect 5s\n  timeout client 10s\n  timeout server 10s\n\
         frontend tls\n  bind 127.0.0.1:{port} ssl crt {d}/server-combined.pem {opts}\n{rules}\n\
         \x20 http-request return status 200 content-type text/plain string \"ok\\n\"\n",
        opts = bind_options.replace("{DIR}", &d),
        rules = rules.replace("{DIR}", &d)
    );
    let conf_path = dir.write("haproxy.cfg", conf);
    let child = Command::new(bin)
        .arg("-db")
        .arg("-f")
        .arg(&conf_path)
        .arg("-p")
        .arg(dir.path("haproxy.pid"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file(&dir))
        .spawn()
        .expect("start haproxy");
    wait_listening(child, port, "haproxy", dir)
}

// ---------------------------------------------------------------- Caddy (Go crypto/tls)

pub fn caddy_binary() -> Option<PathBuf> {
    ["/usr/bin/caddy", "/usr/local/bin/caddy"].iter().map(PathBuf::from).find(|p| p.exists())
}

/// Caddy with its admin endpoint off and HOME / XDG dirs inside its directory; `client_auth_mode`
/// is Caddy's `client_auth { mode … }` (`require_and_verify`, `request`, `verify_if_given`…); the
/// site answers 200 "ok".
pub fn caddy(pki: &GatewayPki, client_auth_mode: &str) -> Gateway {
    let bin = caddy_binary().expect("caddy is not installed: run .ci/run or apt-get install -y caddy");
    let dir = Dir::new();
    pki.write_server_files(&dir);
    let d = dir.tmp.path().display().to_string();
    let port = free_port();
    let conf = format!(
        "{{\n  admin off\n  auto_https off\n  storage file_system {d}/storage\n}}\n\
         https://localhost:{port} {{\n  bind 127.0.0.1\n  tls {d}/server.pem {d}/server.key {{\n    protocols tls1.2 tls1.3\n\
         \x20   client_auth {{\n      mode {client_auth_mode}\n      trusted_ca_cert_file {d}/client-root.pem\n    }}\n  }}\n\
         \x20 respond \"ok\" 200\n}}\n"
    );
    let conf_path = dir.write("Caddyfile", conf);
    let child = Command::new(bin)
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&conf_path)
        .env("HOME", dir.tmp.path())
        .env("XDG_DATA_HOME", dir.path("data"))
        .env("XDG_CONFIG_HOME", dir.path("config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file(&dir))
        .spawn()
        .expect("start caddy");
    wait_listening(child, port, "caddy", dir)
}

// ---------------------------------------------------------------- Python ssl servers

/// What the Python server does with each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PyMode {
    /// TLS 1.3 with a required client certificate: the rejection comes after the server's Finished.
    Require13,
    /// Completes the handshake, reads the request, closes without an alert or a response.
    HangUpAfterRequest,
    /// Completes the handshake, reads the request, resets the connection (RST, SO_LINGER 0).
    ResetAfterRequest,
    /// Answers the status line and headers of a 200, then lets the body drip far too slowly.
    DripBody,
    /// Answers a 200 with `Content-Length: 1000`, sends 10 bytes of body and closes.
    ShortBody,
    /// No TLS at all: answers any bytes with a plain HTTP 400, as some servers do on a TLS port.
    PlainHttp,
    /// TLS 1.3 with post-handshake authentication: reads the request, then asks for a certificate
    /// (`verify_client_post_handshake`) and answers 200 with it or 403 without.
    PostHandshake,
}

impl PyMode {
    fn name(self) -> &'static str {
        match self {
            PyMode::Require13 => "require13",
            PyMode::HangUpAfterRequest => "hangup",
            PyMode::ResetAfterRequest => "reset",
            PyMode::DripBody => "drip",
            PyMode::ShortBody => "short",
            PyMode::PlainHttp => "plain",
            PyMode::PostHandshake => "pha",
        }
    }
}

const PY_SERVER: &str = r#"
import socket, ssl, struct, sys, threading, time
mode, port, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
log = open(d + "/server.log", "a", buffering=1)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + "/server.pem", d + "/server.key")
ctx.load_verify_locations(d + "/client-ca.pem")
if mode == "require13":
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.verify_mode = ssl.CERT_REQUIRED
if mode == "pha":
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.post_handshake_auth = True
    ctx.verify_mode = ssl.CERT_REQUIRED
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(16)

def read_head(s):
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data

def serve(raw):
    try:
        raw.settimeout(20)
        if mode == "plain":
            raw.recv(4096)
            raw.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nplain http\n")
            raw.close()
            return
        s = ctx.wrap_socket(raw, server_side=True)
        head = read_head(s)
        log.write("request %r\n" % head[:60])
        if mode == "hangup":
            # SSLSocket.close() sends no close_notify: the peer sees the TCP close only.
            s.close()
            return
        if mode == "reset":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            return
        if mode == "short":
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n0123456789")
            s.close()
            return
        if mode == "drip":
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nd")
            for _ in range(60):
                time.sleep(1)
                s.sendall(b"r")
            s.close()
            return
        if mode == "pha":
            s.verify_client_post_handshake()
            s.settimeout(3)
            cert = None
            try:
                # The CertificateRequest goes out with the next write; the client's answer is read here.
                s.sendall(b"")
                s.recv(1)
            except socket.timeout:
                pass
            except ssl.SSLError as e:
                log.write("pha failed %s\n" % e)
                s.close()
                return
            cert = s.getpeercert()
            if cert:
                cn = dict(x[0] for x in cert["subject"]).get("commonName", "")
                body = ("client " + cn + "\n").encode()
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
            else:
                s.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 8\r\nConnection: close\r\n\r\nno cert\n")
            s.close()
            return
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
        s.close()
    except Exception as e:
        log.write("connection ended: %s\n" % e)
        try:
            raw.close()
        except Exception:
            pass

while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"#;

/// A Python `ssl` server in one of the `PyMode`s, with the server's files from `pki`.
pub fn python_server(pki: &GatewayPki, mode: PyMode) -> Gateway {
    let dir = Dir::new();
    pki.write_server_files(&dir);
    let script = dir.write("server.py", PY_SERVER);
    let port = free_port();
    let child = Command::new("python3")
        .arg(&script)
        .arg(mode.name())
        .arg(port.to_string())
        .arg(dir.tmp.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file(&dir))
        .spawn()
        .expect("start python3");
    wait_listening(child, port, "python ssl server", dir)
}

// ---------------------------------------------------------------- openssl s_server variants

/// `openssl s_server -www` with the server's files from `pki` and `extra` arguments (`{DIR}` is
/// replaced): e.g. `-Verify 1 -verify_return_error -CAfile {DIR}/client-ca.pem -no_ca_names`.
pub fn s_server(pki: &GatewayPki, extra: &[&str]) -> Gateway {
    let dir = Dir::new();
    pki.write_server_files(&dir);
    let d = dir.tmp.path().display().to_string();
    let port = free_port();
    let child = Command::new("openssl")
        .arg("s_server")
        .args(["-accept", &format!("127.0.0.1:{port}"), "-naccept", "100", "-www"])
        .arg("-cert")
        .arg(dir.path("server.pem"))
        .arg("-key")
        .arg(dir.path("server.key"))
        .args(extra.iter().map(|a| a.replace("{DIR}", &d)))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(stderr_file(&dir))
        .spawn()
        .expect("start openssl s_server");
    wait_listening(child, port, "openssl s_server", dir)
}

// ---------------------------------------------------------------- reference clients

/// What curl saw: the HTTP status (0 when none) and its exit code.
pub struct CurlSaw {
    pub status: u16,
    pub exit: i32,
    pub stderr: String,
}

/// Ask curl (which answers TLS 1.2 renegotiation) for `path` with the client's certificate, over
/// `--http1.1` or `--http2`, with a `--tls-max` pin when given.
pub fn curl(dir: &Dir, port: u16, path: &str, client: Client, http2: bool, tls_max: Option<&str>) -> CurlSaw {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20"])
        .arg("--cacert")
        .arg(dir.path("server-root.pem"))
        .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
        .arg(if http2 { "--http2" } else { "--http1.1" })
        .args(client.curl_args(dir));
    if let Some(v) = tls_max {
        cmd.args(["--tlsv1.2", "--tls-max", v]);
    }
    cmd.arg(format!("https://localhost:{port}{path}"));
    let o = cmd.output().expect("run curl");
    CurlSaw {
        status: String::from_utf8_lossy(&o.stdout).trim().parse().unwrap_or(0),
        exit: o.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// `openssl s_client -enable_pha` sending one HTTP/1.1 GET for `path`; returns everything it
/// printed. Bounded: stdin carries the request and then closes; the process is killed after 20 s.
///
/// `-quiet` (which implies `-ign_eof`) matters: without it s_client prints every NewSessionTicket
/// through its buffered stdout while it writes the server's data to stdout unbuffered, so a server
/// that sends tickets after post-handshake authentication (Python's `ssl` sends two) gets its
/// status line printed in the middle of a ticket's hex dump, where no line starts with `HTTP/1.1`.
pub fn s_client_pha(dir: &Dir, port: u16, path: &str, client: Client, tls: &str) -> String {
    use std::io::Write;
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", "localhost", "-enable_pha", tls])
        .arg("-CAfile")
        .arg(dir.path("server-root.pem"))
        .arg("-quiet");
    match client {
        Client::Good => cmd.arg("-cert").arg(dir.path("client.pem")).arg("-key").arg(dir.path("client.key")),
        Client::Rogue => cmd.arg("-cert").arg(dir.path("rogue.pem")).arg("-key").arg(dir.path("rogue.key")),
        Client::Missing => &mut cmd,
    };
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("s_client");
    if let Some(mut stdin) = child.stdin.take() {
        let _ =
            stdin.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes());
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let o = child.wait_with_output().expect("s_client output");
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The status code in the first `HTTP/1.x NNN` line of `text`, if any.
pub fn http_status_in(text: &str) -> Option<u16> {
    text.lines()
        .find_map(|l| l.strip_prefix("HTTP/1.1 ").or_else(|| l.strip_prefix("HTTP/1.0 ")))?
        .get(..3)?
        .parse()
        .ok()
}

pub fn path_of(dir: &Dir, name: &str) -> PathBuf {
    dir.path(name)
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}
