//! Real peers nobody here wrote, on loopback: `openssl s_server` and nginx, started per test and
//! stopped by pid.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (bound then released; the peer binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Wait until something accepts on `port` (bounded).
pub fn wait_for_port(port: u16, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_millis(200)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early with {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on {port} within 10 s");
}

/// A process that is stopped (by pid) when dropped.
pub struct Peer {
    pub child: Child,
    pub port: u16,
    pub name: &'static str,
}

impl Drop for Peer {
    fn drop(&mut self) {
        // TERM first so nginx can clean up, then KILL if it is still there.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `openssl s_server` with the given extra arguments (e.g. `-Verify 1 -verify_return_error -CAfile x`).
pub fn s_server(cert: &Path, key: &Path, extra: &[&str]) -> Peer {
    let port = free_port();
    let mut child = Command::new("openssl")
        .arg("s_server")
        .args(["-accept", &format!("127.0.0.1:{port}"), "-naccept", "100", "-cert"])
        .arg(cert)
        .arg("-key")
        .arg(key)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start openssl s_server");
    wait_for_port(port, &mut child, "openssl s_server");
    Peer { child, port, name: "openssl s_server" }
}

/// Where nginx is, if installed (.ci/run installs it).
pub fn nginx_binary() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"].iter().map(PathBuf::from).find(|p| p.exists())
}

/// nginx in the foreground, single process, with `server_blocks` inside `http {}`. `{PORT}` and
/// `{DIR}` in the text are replaced.
pub fn nginx(dir: &Path, server_blocks: &str) -> Peer {
    let bin = nginx_binary().expect("nginx is not installed: run .ci/run or apt-get install -y nginx");
    let port = free_port();
    std::fs::create_dir_all(dir.join("logs")).expect("logs dir");
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log info;\n\
         events {{ worker_connections 64; }}\nhttp {{\n access_log {d}/logs/access.log;\n client_body_temp_path {d}/tmp_body;\n \
         proxy_temp_path {d}/tmp_proxy;\n fastcgi_temp_path {d}/tmp_fcgi;\n uwsgi_temp_path {d}/tmp_uwsgi;\n scgi_temp_path {d}/tmp_scgi;\n{blocks}\n}}\n",
        d = dir.display(),
        blocks = server_blocks.replace("{PORT}", &port.to_string()).replace("{DIR}", &dir.display().to_string())
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).expect("write nginx.conf");
    let mut child = Command::new(bin)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nginx");
    wait_for_port(port, &mut child, "nginx");
    Peer { child, port, name: "nginx" }
}
