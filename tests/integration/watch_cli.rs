//! `mtls-doctor watch` against nginx whose server certificate the test rotates mid-watch (new files,
//! then a graceful reload, as an operator does): the change record, the baseline, `--until
//! changed` ending with exit 0, JSON Lines validated against the schema, and `--save`.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use mtls_doctor::pki::{Issued, Spec};
use serde_json::Value;

use crate::peers::{free_port, nginx_binary, wait_for_port, Peer};
use crate::util::{bin, Dir};

#[test]
fn watch_sees_the_server_certificate_rotate_and_until_changed_ends_it() {
    assert!(nginx_binary().is_some(), "nginx is required for this test: apt-get install -y nginx (.ci/run does this)");
    let dir = Dir::new();
    let ca = Issued::self_signed(&Spec::ca("Watch Test Root")).expect("ca");
    let first = ca.issue(&Spec::leaf("localhost").sans(&["localhost"]).server_only()).expect("first");
    let second = ca.issue(&Spec::leaf("localhost").sans(&["localhost"]).server_only()).expect("second");
    let client = ca.issue(&Spec::leaf("watch client").client_only()).expect("client");
    dir.write_issued("server", &first);
    dir.write_issued("client", &client);
    let ca_path = dir.write("ca.pem", ca.cert_pem());
    let site = format!(
        "server {{\n listen 127.0.0.1:{{PORT}} ssl;\n ssl_certificate {d}/server.pem;\n ssl_certificate_key {d}/server.key;\n \
         ssl_client_certificate {d}/ca.pem;\n ssl_verify_client on;\n location / {{ return 200 \"ok\\n\"; }}\n}}\n",
        d = dir.tmp.path().display()
    );
    let ndir = Dir::new();
    let server = nginx_with_master(ndir.tmp.path(), &site);
    let saved = dir.path("watch-session.json");

    let child = bin()
        .args(["watch", &format!("localhost:{}", server.port)])
        .args(["--connect-to", &format!("127.0.0.1:{}", server.port)])
        .arg("--ca")
        .arg(&ca_path)
        .arg("--cert")
        .arg(dir.path("client.pem"))
        .arg("--key")
        .arg(dir.path("client.key"))
        .args(["--interval", "300ms", "--until", "changed", "--max-runs", "200", "--report", "json", "--save"])
        .arg(&saved)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start watch");
    let guard = Peer { child, port: 0, name: "mtls-doctor watch" };
    let mut child = guard;
    let stdout = child.child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = |what: &str| -> Value {
        let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| panic!("no {what} record within 60 s"));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {line}"))
    };
    let baseline = next("baseline");
    assert_eq!(baseline["record"], "baseline", "{baseline}");
    assert_eq!(baseline["state"]["server_leaf_thumbprint"], first.thumbprint().as_str(), "{baseline}");
    assert_eq!(baseline["state"]["client_cert_requested"], true);
    crate::report::assert_valid("watch_record", "a watch baseline", &baseline);

    // Rotate: new files, then a graceful reload.
    dir.write_issued("server", &second);
    let hup = std::process::Command::new("kill").args(["-HUP", &server.child.id().to_string()]).status().expect("kill");
    assert!(hup.success());

    let mut records = Vec::new();
    loop {
        let r = next("change or end");
        crate::report::assert_valid("watch_record", "a watch record", &r);
        let end = r["record"] == "end";
        records.push(r);
        if end {
            break;
        }
    }
    let rotated = records
        .iter()
        .find(|r| r["record"] == "change" && r["change"]["kind"] == "certificate-rotated")
        .unwrap_or_else(|| panic!("no certificate-rotated record: {records:#?}"));
    assert_eq!(rotated["change"]["chain"], "server");
    assert_eq!(rotated["change"]["position"], 0);
    assert_eq!(rotated["change"]["before"]["thumbprint_sha1"], first.thumbprint().as_str());
    assert_eq!(rotated["change"]["after"]["thumbprint_sha1"], second.thumbprint().as_str());
    assert!(rotated["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{rotated}");
    assert!(rotated["run"].as_u64().is_some_and(|n| n >= 2));
    let end = records.last().expect("end");
    assert_eq!(end["reason"], "until-met", "{end}");
    assert_eq!(end["until_met"], true);
    // Only changes between the baseline and the end: an unchanged run writes nothing.
    assert!(records.iter().all(|r| r["record"] == "change" || r["record"] == "end"), "{records:#?}");

    let status = wait_exit(&mut child.child);
    assert_eq!(status, Some(0), "--until changed met ends with exit 0");
    // The saved session is the latest run: replayable and readable by `open`.
    let opened = crate::util::run(bin().args(["open", "--report", "json"]).arg(&saved));
    assert!(opened.status.success(), "{}", crate::util::stderr(&opened));
    let session: Value = serde_json::from_slice(&opened.stdout).expect("json");
    let text = session.to_string();
    assert!(text.contains(&second.thumbprint()), "the saved session holds the rotated certificate");
    assert!(!text.contains("PRIVATE KEY"));
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&saved).expect("saved")).expect("json");
    assert_eq!(file["command"], "watch");
    crate::report::assert_valid("session", "a saved watch", &file);
    // It keeps its change log: the same records the JSON Lines carried, baseline first.
    let kept = file["watch"]["records"].as_array().expect("a watch section with records");
    assert_eq!(kept.first(), Some(&baseline), "{kept:#?}");
    assert_eq!(&kept[1..], &records[..], "the saved log is the JSON Lines output");
    assert_eq!(file["watch"]["until"], "changed");
    assert_eq!(file["watch"]["interval_seconds"], 0.3);
    assert_eq!(session["watch"]["records"], file["watch"]["records"], "open --report json carries it");
    crate::report::assert_valid("probe_report", "open --report json of a saved watch", &session);
    let opened = crate::util::run(bin().arg("open").arg(&saved));
    let text = crate::util::stdout(&opened);
    assert!(text.contains("Watch change log (every 0.3 s, until changed)"), "{text}");
    let rotated_line = text
        .lines()
        .find(|l| l.contains("certificate rotated in the server chain at position 0"))
        .unwrap_or_else(|| panic!("open shows the rotation: {text}"));
    assert!(rotated_line.contains(rotated["time"].as_str().expect("time")), "{rotated_line}");
    // Replayed against the same (rotated) server: the same certificate, no change to report. A
    // replay is one run, and says so; its session has no change log of its own.
    let replayed = dir.path("replayed.json");
    let r = crate::util::run(bin().args(["replay", "--report", "json"]).arg(&saved).arg("--save").arg(&replayed));
    assert_eq!(r.status.code(), Some(0), "{}", crate::util::stderr(&r));
    let note = crate::util::stderr(&r);
    assert!(note.contains("is a saved watch") && note.contains("run once, not watched"), "{note}");
    let again: Value = serde_json::from_str(&std::fs::read_to_string(&replayed).expect("replayed")).expect("json");
    assert!(again.get("watch").is_none(), "{again}");
    let d = crate::util::run(bin().args(["diff"]).arg(&saved).arg(&replayed));
    assert_eq!(d.status.code(), Some(0), "nothing changed since the watch ended: {}", crate::util::stdout(&d));
    drop(server);
}

#[test]
fn watch_ends_after_max_runs_with_exit_1_when_until_ok_is_not_met() {
    // Nothing listens on this port: every run fails the same way, so nothing changes.
    let port = free_port();
    let o = crate::util::run(bin().args([
        "watch",
        &format!("127.0.0.1:{port}"),
        "--no-http",
        "--timeout",
        "2",
        "--interval",
        "100ms",
        "--max-runs",
        "3",
        "--until",
        "ok",
    ]));
    let out = crate::util::stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", crate::util::stderr(&o));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "a baseline and the end, nothing in between: {out}");
    assert!(lines[0].contains("watching: not ok"), "{out}");
    assert!(
        lines[1].contains("after 3 runs") && lines[1].contains("--max-runs") && lines[1].contains("not met"),
        "{out}"
    );
}

fn wait_exit(child: &mut std::process::Child) -> Option<i32> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(s)) = child.try_wait() {
            return s.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// nginx in the foreground with its master process, so SIGHUP is the graceful reload production
/// uses: the listening socket stays open while new workers take the new certificate.
fn nginx_with_master(dir: &std::path::Path, site: &str) -> Peer {
    let bin = nginx_binary().expect("nginx");
    let port = free_port();
    std::fs::create_dir_all(dir.join("logs")).expect("logs dir");
    let conf = format!(
        "daemon off;\nmaster_process on;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log info;\n\
         events {{ worker_connections 64; }}\nhttp {{\n access_log {d}/logs/access.log;\n client_body_temp_path {d}/tmp_body;\n \
         proxy_temp_path {d}/tmp_proxy;\n fastcgi_temp_path {d}/tmp_fcgi;\n uwsgi_temp_path {d}/tmp_uwsgi;\n scgi_temp_path {d}/tmp_scgi;\n{site}\n}}\n",
        d = dir.display(),
        site = site.replace("{PORT}", &port.to_string())
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).expect("write nginx.conf");
    let mut child = std::process::Command::new(bin)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    wait_for_port(port, &mut child, "nginx");
    Peer { child, port, name: "nginx" }
}

#[test]
fn ctrl_c_ends_a_watch_cleanly_with_the_end_record() {
    let port = free_port();
    let child = bin()
        .args(["watch", &format!("127.0.0.1:{port}"), "--no-http", "--timeout", "2", "--interval", "60s"])
        .args(["--until", "ok", "--report", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start watch");
    let mut w = Peer { child, port: 0, name: "mtls-doctor watch" };
    let mut lines = BufReader::new(w.child.stdout.take().expect("stdout")).lines();
    let baseline: Value = serde_json::from_str(&lines.next().expect("a line").expect("read")).expect("json");
    assert_eq!(baseline["record"], "baseline");
    assert_eq!(baseline["state"]["ok"], false);
    assert_eq!(baseline["state"]["client_cert_requested"], Value::Null, "no TLS, so unknown: {baseline}");
    let int = std::process::Command::new("kill").args(["-INT", &w.child.id().to_string()]).status().expect("kill");
    assert!(int.success());
    let end: Value = serde_json::from_str(&lines.next().expect("the end line").expect("read")).expect("json");
    assert_eq!(end["record"], "end", "{end}");
    assert_eq!(end["reason"], "interrupted");
    assert_eq!(end["runs"], 1);
    crate::report::assert_valid("watch_record", "an end record", &end);
    assert_eq!(wait_exit(&mut w.child), Some(1), "interrupted before --until ok was met");
}
