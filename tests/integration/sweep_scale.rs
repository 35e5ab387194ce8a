//! A sweep's memory follows the concurrency, not the number of targets: the real binary sweeps
//! 2,000 full mTLS probes with HTTP against nginx on loopback, and its peak RSS (VmHWM, sampled
//! from /proc by pid) stays under a bound that holding every run would break (about 75 KB per
//! target, as before: 150 MB more at 2,000). The saved session holds each certificate once.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::peers::nginx;
use crate::session::Material;
use crate::util::{bin, Dir};

/// The binary, stopped by pid however the test ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The peak resident set (KiB) of `pid` so far, from `/proc/PID/status`.
fn high_water_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Run a sweep of `n` targets; its exit code and the highest VmHWM seen (KiB).
fn sweep(m: &Material, port: u16, out: &Dir, n: usize, save: Option<&std::path::Path>) -> (Option<i32>, u64) {
    let list = format!("localhost:{port}\n").repeat(n);
    let targets = out.write(&format!("targets-{n}.txt"), list);
    let report = out.path(&format!("sweep-{n}.jsonl"));
    let mut cmd = bin();
    cmd.args(["probe", "--targets", &targets.display().to_string(), "--connect-to", &format!("127.0.0.1:{port}")])
        .args(["--ca", &m.path("server-root.pem").display().to_string()])
        .args(["--pfx", &m.path("client.pfx").display().to_string()])
        .args(["--pfx-password-file", &m.path("pfx-password.txt").display().to_string()])
        .args(["--timeout", "30", "-j", "24", "--report", "jsonl", "-o", &report.display().to_string()]);
    if let Some(s) = save {
        cmd.args(["--save", &s.display().to_string()]);
    }
    let child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    let mut child = Running(child);
    let pid = child.0.id();
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = high_water_kib(pid) {
            peak = peak.max(kib);
        }
        if let Some(s) = child.0.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "a sweep of {n} targets did not finish in 10 minutes");
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = std::fs::read_to_string(&report).expect("report");
    let last: Value = serde_json::from_str(text.lines().last().expect("lines")).expect("summary line");
    assert_eq!(last["completed"].as_u64(), Some(n as u64), "every target written: {last}");
    let ok = text.lines().filter(|l| l.contains("\"handshake\":{\"ok\":true")).count();
    assert_eq!(ok, n, "every probe completed its handshake");
    (status.code(), peak)
}

#[test]
fn a_sweep_of_2000_full_probes_stays_in_memory_bounded_by_the_concurrency() {
    if !std::path::Path::new("/proc/self/status").exists() || crate::peers::nginx_binary().is_none() {
        eprintln!("skipped: needs /proc and nginx");
        return;
    }
    let m = Material::new();
    let ndir = Dir::new();
    let site = format!(
        "server {{\n listen 127.0.0.1:{{PORT}} ssl;\n ssl_certificate {d}/server.pem;\n ssl_certificate_key {d}/server.key;\n \
         ssl_client_certificate {d}/client-root.pem;\n ssl_verify_client optional;\n \
         location / {{ return 200 \"hello $ssl_client_verify\\n\"; }}\n}}\n",
        d = m.dir.tmp.path().display()
    );
    let peer = nginx(&ndir.path("run"), &site);
    let out = Dir::new();
    let (code, small) = sweep(&m, peer.port, &out, 50, None);
    assert!(matches!(code, Some(0 | 1)), "exit {code:?}");
    let saved = out.path("big-session.json");
    let (code, big) = sweep(&m, peer.port, &out, 2000, Some(&saved));
    assert!(matches!(code, Some(0 | 1)), "exit {code:?}");
    eprintln!("peak RSS: 50 targets {small} KiB, 2000 targets {big} KiB");
    assert!(big < 64 * 1024, "2,000 targets at -j 24 peaked at {big} KiB (the goal is under 64 MiB)");
    assert!(big < small + 20 * 1024, "memory grew with the targets: 50 → {small} KiB, 2,000 → {big} KiB");

    // The session lists every target, in order, with the server's and the client's certificates
    // stored once, and reads back through `open`.
    let text = std::fs::read_to_string(&saved).expect("session");
    let session: Value = serde_json::from_str(&text).expect("session json");
    assert_eq!(session["schema_version"], 3);
    assert_eq!(session["targets"].as_array().map(Vec::len), Some(2000));
    let certs = session["certificates"].as_object().expect("certificates");
    assert!(!certs.is_empty() && certs.len() <= 4, "each certificate once: {}", certs.len());
    assert_eq!(text.matches("BEGIN CERTIFICATE").count(), certs.len(), "no certificate written twice");
    let first = &session["targets"][0]["probe"]["server_chain"][0];
    assert!(certs.contains_key(first["cert_ref"].as_str().expect("a reference")), "{first}");
    let o = crate::util::run(bin().args(["open", &saved.display().to_string(), "--report", "jsonl"]));
    assert!(o.status.success(), "{}", crate::util::stderr(&o));
    let recs: Vec<Value> = crate::util::stdout(&o).lines().map(|l| serde_json::from_str(l).expect("line")).collect();
    assert_eq!(recs.len(), 2001);
    assert!(recs[0]["probe"]["server_chain"][0]["pem"].as_str().is_some_and(|p| p.contains("BEGIN CERTIFICATE")));
    drop(peer);
}
