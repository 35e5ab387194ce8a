//! Headers have one shape in `probe` and `listen` JSON (issue 13): `[name, value]` pairs that keep
//! the order and every repeat. The real binaries talk to each other on loopback; listen records of
//! the first, unversioned shape (a name-to-value map) still read.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use mtls_doctor::listen::{ConnectionRecord, LISTEN_SCHEMA_VERSION};
use mtls_doctor::pki::{Issued, Spec};
use serde_json::Value;

use crate::peers::free_port;
use crate::util::{bin, run, stderr, Dir};

/// The listener process, killed by its pid when the test ends however it ends.
struct Listener(Child);

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .unwrap_or_else(|| panic!("headers are an array: {v}"))
        .iter()
        .map(|p| match p.as_array().map(Vec::as_slice) {
            Some([Value::String(n), Value::String(v)]) => (n.clone(), v.clone()),
            _ => panic!("a header is a [name, value] pair: {p}"),
        })
        .collect()
}

#[test]
fn probe_and_listen_write_headers_as_the_same_ordered_pairs_with_repeats() {
    let dir = Dir::new();
    let root = Issued::self_signed(&Spec::ca("Headers Root")).expect("root");
    let server = root.issue(&Spec::leaf("localhost").sans(&["localhost"]).server_only()).expect("server");
    let (scert, skey) = dir.write_issued("server", &server);
    let ca = dir.write("root.pem", root.cert_pem());
    let port = free_port();
    let mut child = bin()
        .args(["listen", "--bind", &format!("127.0.0.1:{port}"), "--max-connections", "1", "--report", "json"])
        .arg("--cert")
        .arg(&scert)
        .arg("--key")
        .arg(&skey)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start listen");
    let stdout = child.stdout.take().expect("stdout");
    let mut err_lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let listener = Listener(child);
    let ready = err_lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(ready.contains("listening on 127.0.0.1"), "{ready}");

    let url = format!("https://localhost:{port}/hello?x=1");
    let o = run(bin()
        .args(["probe", &url, "--resolve", &format!("localhost:{port}:127.0.0.1"), "--no-compare", "--timeout", "10"])
        .arg("--ca")
        .arg(&ca)
        .args(["-H", "X-Dup: one", "-H", "X-Trace: t-1", "-H", "X-Dup: two", "-H", "Authorization: Bearer hdr-secret"])
        .args(["--report", "json"]));
    assert!(matches!(o.status.code(), Some(0 | 1)), "probe: {}", stderr(&o));
    let report: Value = serde_json::from_slice(&o.stdout).expect("probe JSON");
    crate::report::assert_valid("probe_report", "the probe report", &report);
    let http = &report["probes"][0]["http"];
    let sent = pairs(&http["request"]["headers"]);
    let received = pairs(&http["headers"]);
    assert!(!received.is_empty(), "{http}");

    let line = BufReader::new(stdout).lines().map_while(Result::ok).next().expect("a listen record");
    let record: Value = serde_json::from_str(&line).expect("one JSON object per line");
    crate::report::assert_valid("listen_record", "a listen JSON line", &record);
    assert_eq!(record["schema_version"], LISTEN_SCHEMA_VERSION);
    let seen = pairs(&record["requests"][0]["headers"]);
    drop(listener);

    // What the listener saw and what the probe says it sent: the same pairs, repeats in order.
    let custom = |h: &[(String, String)]| -> Vec<(String, String)> {
        h.iter().filter(|(n, _)| n.starts_with("x-") || n == "authorization").cloned().collect()
    };
    let want: Vec<(String, String)> =
        [("x-dup", "one"), ("x-dup", "two"), ("x-trace", "t-1"), ("authorization", "[redacted]")]
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
    assert_eq!(custom(&sent), want, "the probe's sent headers: {sent:?}");
    assert_eq!(custom(&seen), want, "listen saw what the probe sent, in its order: {seen:?}");
    let dups: Vec<&str> = seen.iter().filter(|(n, _)| n == "x-dup").map(|(_, v)| v.as_str()).collect();
    assert_eq!(dups, ["one", "two"], "each repeat is its own pair, in order");
    assert!(!line.contains("hdr-secret") && !String::from_utf8_lossy(&o.stdout).contains("hdr-secret"));
}

#[test]
fn a_listen_record_of_the_first_shape_still_reads() {
    let v1 = r#"{"at":"2026-01-01T00:00:00Z","peer":"127.0.0.1:5","sni":null,"tls_version":"TLSv1.3",
        "cipher_suite":"TLS13_AES_128_GCM_SHA256","key_exchange":null,"alpn":null,"client_certificate":null,
        "client_chain":[],"verdict":null,"handshake_error":null,
        "requests":[{"method":"GET","path":"/","version":"HTTP/1.1","body_bytes":0,
                     "headers":{"host":"localhost","x-dup":"one, two"}}]}"#;
    let r: ConnectionRecord = serde_json::from_str(v1).expect("a version 1 record reads");
    assert_eq!(r.schema_version, 1);
    assert_eq!(r.requests[0].header("x-dup"), Some("one, two"));
    assert_eq!(r.requests[0].headers[0], ("host".to_string(), "localhost".to_string()));
    // Written again, it is a version 2 record in every other respect but the version it came with.
    let again: Value = serde_json::to_value(&r).expect("serializes");
    assert_eq!(again["requests"][0]["headers"][1], serde_json::json!(["x-dup", "one, two"]));
}
