//! `mtls-doctor exporter` scraped by a real Prometheus (Debian's package) and checked by promtool,
//! against an `openssl s_server` that asks for a client certificate. Everything on loopback; every
//! process is stopped by pid.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mtls_doctor::pki::{Issued, Spec};

use crate::peers::{free_port, wait_for_port, Peer};
use crate::util::{bin, Dir};

/// Material: a CA, a server leaf for localhost, a client leaf; and a targets file naming the
/// s_server as `gw`.
fn setup(dir: &Dir, port: u16) -> std::path::PathBuf {
    let ca = Issued::self_signed(&Spec::ca("Exporter Test Root")).expect("ca");
    let server = ca.issue(&Spec::leaf("localhost").sans(&["localhost", "127.0.0.1"]).server_only()).expect("srv");
    let client = ca.issue(&Spec::leaf("exporter client").client_only()).expect("client");
    dir.write_issued("server", &server);
    dir.write_issued("client", &client);
    dir.write("ca.pem", ca.cert_pem());
    dir.write(
        "targets.toml",
        format!(
            "[[target]]\nname = \"gw\"\nhost = \"localhost\"\nport = {port}\nconnect_to = \"127.0.0.1:{port}\"\n\
             ca = [\"ca.pem\"]\ncert = \"client.pem\"\nkey = \"client.key\"\nclient_ca = [\"ca.pem\"]\n\n\
             [[target]]\nname = \"down\"\nhost = \"127.0.0.1\"\nport = {}\nno_http = true\ntimeout = 2\n",
            free_port()
        ),
    )
}

fn exporter(dir: &Dir, port: u16, extra: &[&str]) -> Peer {
    let mut child = bin()
        .args(["exporter", "--config"])
        .arg(dir.path("targets.toml"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start exporter");
    wait_for_port(port, &mut child, "mtls-doctor exporter");
    Peer { child, port, name: "mtls-doctor exporter" }
}

/// A plain HTTP/1.1 GET on loopback: (status, content type, body).
fn get(port: u16, path: &str, accept: Option<&str>) -> (u16, String, String) {
    let accept = accept.map(|a| format!("Accept: {a}\r\n")).unwrap_or_default();
    get_with(port, path, &accept)
}

/// A GET with extra header lines (each ending in CRLF).
fn get_with(port: u16, path: &str, headers: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Connection: close\r\n\r\n").expect("write");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a response");
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).expect("status");
    let ctype = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type:").map(|v| v.trim().to_string()))
        .unwrap_or_default();
    (status, ctype, body.to_string())
}

fn promtool_check(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is required: apt-get install -y prometheus (.ci/run does this)");
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write");
    let o = child.wait_with_output().expect("promtool");
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

#[test]
fn probe_answers_openmetrics_for_a_target_and_404_for_an_unknown_one() {
    let dir = Dir::new();
    // The port first: the targets file names the s_server's.
    let port = free_port();
    setup(&dir, port);
    let server = s_server_on(&dir, port);
    let ex = exporter(&dir, free_port(), &[]);

    let (status, ctype, body) = get(ex.port, "/probe?target=gw", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(ctype, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert!(body.ends_with("# EOF\n"), "{body}");
    for line in [
        "mtls_probe_success 1\n",
        "mtls_handshake_ok 1\n",
        "mtls_client_cert_requested 1\n",
        "mtls_client_cert_sent 1\n",
        "mtls_http_status 200\n",
        "mtls_probe_duration_seconds{phase=\"tls\"} ",
    ] {
        assert!(body.contains(line), "missing {line:?} in\n{body}");
    }
    assert!(
        body.contains("mtls_server_cert_not_after_seconds ") && body.contains("mtls_client_cert_not_after_seconds ")
    );
    // No label carries a host name, a subject or a path.
    assert!(!body.contains("localhost") && !body.contains("exporter client") && !body.contains(".pem"), "{body}");

    // promtool reads the Prometheus text format: the exporter serves it to a client asking only for it.
    let (_, text_ctype, text) = get(ex.port, "/probe?target=gw", Some("text/plain;version=0.0.4"));
    assert_eq!(text_ctype, "text/plain; version=0.0.4; charset=utf-8");
    let (ok, out) = promtool_check(&text);
    assert!(ok, "promtool check metrics: {out}\n{text}");
    let (_, _, own) = get(ex.port, "/metrics", Some("text/plain"));
    let (ok, out) = promtool_check(&own);
    assert!(ok, "promtool check metrics (/metrics): {out}\n{own}");
    assert!(own.contains("mtls_exporter_probes_total{result=\"success\"} 2\n"), "{own}");

    // A target that is down: not a success, and nothing claimed about a CertificateRequest.
    let (status, _, down) = get(ex.port, "/probe?target=down", None);
    assert_eq!(status, 200);
    assert!(down.contains("mtls_probe_success 0\n") && !down.contains("mtls_client_cert_requested"), "{down}");

    let (status, _, why) = get(ex.port, "/probe?target=nope", None);
    assert_eq!(status, 404);
    assert_eq!(why.lines().count(), 1, "{why}");
    assert!(why.contains("\"nope\"") && why.contains("targets.toml"), "{why}");
    let (status, _, _) = get(ex.port, "/probe", None);
    assert_eq!(status, 400);
    drop(server);
}

/// `openssl s_server -www` on a chosen port, asking for (and verifying) a client certificate.
fn s_server_on(dir: &Dir, port: u16) -> Peer {
    let mut child = Command::new("openssl")
        .args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-www", "-Verify", "1", "-CAfile"])
        .arg(dir.path("ca.pem"))
        .arg("-cert")
        .arg(dir.path("server.pem"))
        .arg("-key")
        .arg(dir.path("server.key"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start openssl s_server");
    wait_for_port(port, &mut child, "openssl s_server");
    Peer { child, port, name: "openssl s_server" }
}

#[test]
fn scrape_storm_is_coalesced_and_bounded() {
    let dir = Dir::new();
    let port = free_port();
    setup(&dir, port);
    let _server = s_server_on(&dir, port);
    let ex = exporter(&dir, free_port(), &["--max-concurrent", "1"]);
    let started = Instant::now();
    let scrapes: Vec<_> = (0..24)
        .map(|i| {
            let p = ex.port;
            std::thread::spawn(move || {
                get(p, if i % 2 == 0 { "/probe?target=gw" } else { "/probe?target=down" }, None).0
            })
        })
        .collect();
    let statuses: Vec<u16> = scrapes.into_iter().map(|h| h.join().expect("scrape")).collect();
    assert!(statuses.iter().all(|s| *s == 200 || *s == 503), "{statuses:?}");
    assert!(started.elapsed() < Duration::from_secs(60), "a storm of 24 scrapes took {:?}", started.elapsed());
    let (_, _, own) = get(ex.port, "/metrics", None);
    let probes: f64 = own
        .lines()
        .filter(|l| l.starts_with("mtls_exporter_probes_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    let coalesced: f64 = own
        .lines()
        .find_map(|l| l.strip_prefix("mtls_exporter_scrapes_coalesced_total ")?.parse().ok())
        .expect("coalesced counter");
    let rejected: f64 = own
        .lines()
        .find_map(|l| l.strip_prefix("mtls_exporter_scrapes_rejected_total ")?.parse().ok())
        .expect("rejected counter");
    // Every scrape either ran a probe, joined one already running, or was turned away at once.
    assert!(probes + coalesced + rejected >= 24.0, "{own}");
    assert!(probes < 24.0 && coalesced > 0.0, "scrapes of a target being probed join that probe:\n{own}");
}

#[test]
fn prometheus_scrapes_the_exporter_blackbox_style() {
    let dir = Dir::new();
    let port = free_port();
    setup(&dir, port);
    let _server = s_server_on(&dir, port);
    let ex = exporter(&dir, free_port(), &[]);
    let prom_port = free_port();
    // The scrape config docs/exporter.md documents: target names become ?target=, the exporter is
    // the address.
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: mtls\n    metrics_path: /probe\n    \
         static_configs:\n      - targets: [gw]\n    relabel_configs:\n      - source_labels: [__address__]\n        \
         target_label: __param_target\n      - source_labels: [__param_target]\n        target_label: instance\n      \
         - target_label: __address__\n        replacement: 127.0.0.1:{ex}\n  - job_name: mtls-exporter\n    \
         static_configs:\n      - targets: ['127.0.0.1:{ex}']\n",
        ex = ex.port
    );
    let config_path = dir.write("prometheus.yml", config);
    let check = Command::new("promtool").args(["check", "config"]).arg(&config_path).output().expect("promtool");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    let mut child = Command::new("prometheus")
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!("--storage.tsdb.path={}", dir.path("tsdb").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus is required: apt-get install -y prometheus (.ci/run does this)");
    wait_for_port(prom_port, &mut child, "prometheus");
    let _prom = Peer { child, port: prom_port, name: "prometheus" };

    let query = |q: &str| -> Option<String> {
        let path = format!(
            "/api/v1/query?query={}",
            q.replace('{', "%7B").replace('}', "%7D").replace('"', "%22").replace('=', "%3D")
        );
        let (status, _, body) = get(prom_port, &path, None);
        if status != 200 {
            return None;
        }
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        v["data"]["result"][0]["value"][1].as_str().map(str::to_string)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let wanted = [
        ("mtls_client_cert_requested{instance=\"gw\",job=\"mtls\"}", "1"),
        ("mtls_client_cert_sent{instance=\"gw\",job=\"mtls\"}", "1"),
        ("mtls_probe_success{instance=\"gw\",job=\"mtls\"}", "1"),
        ("mtls_http_status{instance=\"gw\",job=\"mtls\"}", "200"),
        ("up{job=\"mtls-exporter\"}", "1"),
    ];
    let mut missing: Vec<&str> = wanted.iter().map(|(q, _)| *q).collect();
    while !missing.is_empty() && Instant::now() < deadline {
        missing.retain(|q| {
            let want = wanted.iter().find(|(w, _)| w == q).map(|(_, v)| *v);
            query(q).as_deref() != want
        });
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(missing.is_empty(), "Prometheus never had {missing:?}");
    // The duration family arrives with its phase label, and the server expiry as a timestamp.
    let expiry = query("mtls_server_cert_not_after_seconds").expect("expiry series");
    assert!(expiry.parse::<f64>().is_ok_and(|s| s > 1.7e9), "{expiry}");
    assert!(query("mtls_probe_duration_seconds{phase=\"total\"}").is_some());
}

/// The scrape configuration and alert rules in docs/exporter.md are what promtool accepts.
#[test]
fn documented_scrape_config_and_alert_rules_pass_promtool() {
    let doc = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/exporter.md"))
        .expect("docs/exporter.md");
    let blocks: Vec<&str> =
        doc.split("```yaml\n").skip(1).map(|b| b.split("```").next().expect("closed block")).collect();
    assert_eq!(blocks.len(), 2, "a scrape config and a rules file");
    let dir = Dir::new();
    let config = dir.write("prometheus.yml", blocks[0]);
    let rules = dir.write("rules.yml", blocks[1]);
    for (what, path) in [("config", &config), ("rules", &rules)] {
        let o = Command::new("promtool").args(["check", what]).arg(path).output().expect("promtool");
        assert!(
            o.status.success(),
            "promtool check {what}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    for metric in ["mtls_client_cert_not_after_seconds", "mtls_client_cert_requested"] {
        assert!(blocks[1].contains(metric));
    }
}

/// A server that accepts TCP and never answers TLS: the exporter cuts the probe at --probe-timeout.
#[test]
fn a_hanging_target_is_cut_at_the_probe_timeout() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let dir = Dir::new();
    dir.write(
        "targets.toml",
        format!("[[target]]\nname = \"silent\"\nhost = \"127.0.0.1\"\nport = {port}\nno_http = true\ntimeout = 60\n"),
    );
    let ex = exporter(&dir, free_port(), &["--probe-timeout", "1"]);
    let started = Instant::now();
    let (status, _, body) = get(ex.port, "/probe?target=silent", None);
    let took = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("mtls_probe_success 0\n") && body.ends_with("# EOF\n"), "{body}");
    assert!(!body.contains("mtls_handshake_ok"), "nothing was observed to the end: {body}");
    assert!(took < Duration::from_secs(15), "cut at 1 s, answered after {took:?}");
    let (_, _, own) = get(ex.port, "/metrics", None);
    assert!(own.contains("mtls_exporter_probes_total{result=\"timeout\"} 1\n"), "{own}");
    drop(silent);
}

/// Prometheus says how long it waits (X-Prometheus-Scrape-Timeout-Seconds): the probe is cut at
/// that less the margin, well before a longer --probe-timeout; a header that is not a number is
/// ignored and --probe-timeout applies.
#[test]
fn the_scrape_timeout_header_shortens_the_probe_timeout() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let dir = Dir::new();
    dir.write(
        "targets.toml",
        format!("[[target]]\nname = \"silent\"\nhost = \"127.0.0.1\"\nport = {port}\nno_http = true\ntimeout = 60\n"),
    );
    let ex = exporter(&dir, free_port(), &["--probe-timeout", "40"]);
    let started = Instant::now();
    let (status, _, body) = get_with(ex.port, "/probe?target=silent", "X-Prometheus-Scrape-Timeout-Seconds: 2.5\r\n");
    let took = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("mtls_probe_success 0\n"), "{body}");
    // 2.5 s less the 0.5 s margin: the probe ran 2 s, then was cut (not the 40 s of the flag).
    let total: f64 = body
        .lines()
        .find_map(|l| l.strip_prefix("mtls_probe_duration_seconds{phase=\"total\"} "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a total duration: {body}"));
    assert!((1.9..2.5).contains(&total), "cut at 2 s, total {total}: {body}");
    assert!(took < Duration::from_secs(15), "answered after {took:?}");
    let (_, _, own) = get(ex.port, "/metrics", None);
    assert!(own.contains("mtls_exporter_probes_total{result=\"timeout\"} 1\n"), "{own}");

    // Not a number: ignored, so the (short) flag applies.
    let ex2 = exporter(&dir, free_port(), &["--probe-timeout", "1"]);
    let started = Instant::now();
    let (status, _, body) = get_with(ex2.port, "/probe?target=silent", "X-Prometheus-Scrape-Timeout-Seconds: soon\r\n");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("mtls_probe_success 0\n"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(15));
    drop(silent);
}
