//! `mtls-doctor listen` as a process, with curl and openssl s_client as the clients.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use mtls_doctor::pki::{Issued, Spec};
use serde_json::Value;

use crate::peers::free_port;
use crate::util::{bin, run, stderr, Dir};

#[test]
fn listen_reports_what_curl_presents_as_json_lines() {
    let dir = Dir::new();
    let root = Issued::self_signed(&Spec::ca("Listen Root")).expect("root");
    let server = root.issue(&Spec::leaf("localhost").sans(&["localhost"]).server_only()).expect("server");
    let client = root.issue(&Spec::leaf("curl client").client_only()).expect("client");
    let (scert, skey) = dir.write_issued("server", &server);
    let (ccert, ckey) = dir.write_issued("client", &client);
    let ca = dir.write("root.pem", root.cert_pem());
    let port = free_port();
    let mut child = bin()
        .args([
            "listen",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--max-connections",
            "2",
            "--report",
            "json",
            "--cert",
        ])
        .arg(&scert)
        .arg("--key")
        .arg(&skey)
        .arg("--ca")
        .arg(&ca)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start listen");
    // Wait for the "listening" line: a test connection would count against --max-connections.
    let mut err_lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let ready = err_lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(ready.contains("listening on 127.0.0.1"), "{ready}");
    let curl = |with_cert: bool| {
        let mut c = Command::new("curl");
        c.args(["-s", "--max-time", "10", "--cacert"]).arg(&ca);
        c.args(["--resolve", &format!("localhost:{port}:127.0.0.1")]);
        c.args(["-H", "Authorization: Bearer curl-secret-token"]);
        if with_cert {
            c.arg("--cert").arg(&ccert).arg("--key").arg(&ckey);
        }
        c.arg(format!("https://localhost:{port}/hello"));
        run(&mut c)
    };
    let with = curl(true);
    assert!(with.status.success(), "curl: {}", stderr(&with));
    let echo: Value = serde_json::from_slice(&with.stdout).expect("echo json");
    assert_eq!(echo["client_certificate"]["subject"], "CN=curl client, O=mtls-doctor lab");
    let without = curl(false);
    assert!(without.status.success(), "curl: {}", stderr(&without));

    let stdout = child.stdout.take().expect("stdout");
    let lines: Vec<Value> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .map(|l| serde_json::from_str(&l).expect("one JSON object per line"))
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break Some(s);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.is_some_and(|s| s.success()), "listen exits after --max-connections");
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in &lines {
        crate::report::assert_valid("listen_record", "a listen JSON line", line);
    }
    assert_eq!(lines[0]["client_certificate"]["thumbprint_sha1"], client.thumbprint());
    assert_eq!(lines[0]["verdict"]["ok"], true);
    assert_eq!(lines[0]["sni"], "localhost");
    assert!(lines[1]["client_certificate"].is_null());
    let all = lines.iter().map(|l| l.to_string()).collect::<String>();
    assert!(!all.contains("curl-secret-token"), "Authorization is redacted");
}

#[test]
fn listen_with_missing_key_is_an_input_error() {
    let dir = Dir::new();
    let root = Issued::self_signed(&Spec::ca("Listen Root")).expect("root");
    let cert = dir.write("only-cert.pem", root.cert_pem());
    let o = run(bin().args(["listen", "--bind", "127.0.0.1:0", "--cert"]).arg(&cert));
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("only-cert.pem") && err.contains("private key"), "{err}");
}
