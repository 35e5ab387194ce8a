//! JSON reports, saved sessions and listen's JSON Lines carry no raw C1 control, DEL or bidi
//! control: they are written as `\uXXXX` escapes, which read back to the same string.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mtls_doctor::pki::{Issued, Spec};

use crate::peers::free_port;
use crate::util::{bin, run, stderr, Dir};

const HOSTILE_CN: &str = "evil\u{9b}31m\u{202e}txt.exe\u{7f}\u{85}\u{2066}end";
const RAW: [char; 5] = ['\u{9b}', '\u{202e}', '\u{7f}', '\u{85}', '\u{2066}'];

fn assert_escaped(what: &str, text: &str) {
    for c in RAW {
        assert!(!text.contains(c), "{what} holds a raw U+{:04X}: {text:?}", c as u32);
    }
    assert!(text.contains("\\u009b") || text.contains("\\u009B"), "{what} escapes U+009B: {text}");
}

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn json_report_and_saved_session_escape_c1_del_and_bidi() {
    let dir = Dir::new();
    let root = Issued::self_signed(&Spec::ca(HOSTILE_CN)).expect("root");
    let cert = dir.write("hostile.pem", root.cert_pem());
    let saved = dir.path("s.json");
    let report = dir.path("r.json");
    let o =
        run(bin().arg("inspect").arg(&cert).args(["--report", "json", "-o"]).arg(&report).arg("--save").arg(&saved));
    assert!(o.status.code() != Some(2), "{}", stderr(&o));
    for (what, path) in [("JSON report", &report), ("saved session", &saved)] {
        let text = std::fs::read_to_string(path).expect("read");
        assert_escaped(what, &text);
        let value: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what} is not JSON ({e}): {text}"));
        assert!(value.to_string().contains("txt.exe"), "{what}");
    }
    // The saved session loads back with the subject intact.
    let reopened = run(bin().arg("open").arg(&saved).args(["--report", "json"]));
    assert!(reopened.status.code() != Some(2), "{}", stderr(&reopened));
    assert_escaped("reopened", &String::from_utf8_lossy(&reopened.stdout));
}

#[test]
fn listen_json_lines_escape_c1_del_and_bidi() {
    let dir = Dir::new();
    let root = Issued::self_signed(&Spec::ca("Escape Root")).expect("root");
    let server = root.issue(&Spec::leaf("localhost").sans(&["localhost"]).server_only()).expect("server");
    let client = root.issue(&Spec::leaf(HOSTILE_CN).client_only()).expect("client");
    let (scert, skey) = dir.write_issued("server", &server);
    let (ccert, ckey) = dir.write_issued("client", &client);
    let ca = dir.write("root.pem", root.cert_pem());
    let log = dir.path("listen.jsonl");
    let port = free_port();
    let mut child = Kill(
        bin()
            .args(["listen", "--bind", &format!("127.0.0.1:{port}"), "--max-connections", "1", "--report", "json"])
            .arg("--cert")
            .arg(&scert)
            .arg("--key")
            .arg(&skey)
            .arg("-o")
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start listen"),
    );
    let ready = BufReader::new(child.0.stderr.take().expect("stderr")).lines().next().and_then(Result::ok);
    assert!(ready.unwrap_or_default().contains("listening on"));
    let mut curl = Command::new("curl");
    curl.args(["-s", "--max-time", "10", "--cacert"]).arg(&ca).arg("--cert").arg(&ccert).arg("--key").arg(&ckey);
    curl.args(["--resolve", &format!("localhost:{port}:127.0.0.1"), &format!("https://localhost:{port}/")]);
    let c = run(&mut curl);
    assert!(c.status.success(), "curl: {}", stderr(&c));
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.0.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(&log).expect("read");
    assert_escaped("listen JSON line", &text);
    let line: serde_json::Value = serde_json::from_str(text.trim()).expect("one JSON line");
    assert!(line["client_certificate"]["subject"].as_str().unwrap_or_default().contains('\u{202e}'), "lossless");
}
