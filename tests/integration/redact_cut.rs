//! A secret the server sends back is redacted even where the 4 KiB body preview cuts it, and when
//! the server changed its case: in the JSON report and in the saved session.

use std::process::{Command, Stdio};

use mtls_doctor::pki::{Issued, Spec};

use crate::peers::{free_port, wait_for_port, Peer};
use crate::util::{bin, run, stderr, stdout, Dir};

const TOKEN: &str = "s3cr3t-t0ken-abcdefghij";

#[test]
fn a_secret_echoed_across_the_body_cut_or_in_another_case_is_redacted() {
    let dir = Dir::new();
    let root = Issued::self_signed(&Spec::ca("Cut Root")).expect("root");
    let server = root.issue(&Spec::leaf("localhost").sans(&["localhost"]).server_only()).expect("server");
    let (scert, skey) = dir.write_issued("server", &server);
    let ca = dir.write("root.pem", root.cert_pem());
    // The body is what a server echoing the request would send: the token straddles byte 4096
    // (17 of its characters inside the preview), and once more upper-cased early on.
    let mut body = format!("echo: {}\n", TOKEN.to_uppercase());
    body.push_str(&"a".repeat(4096 - 17 - body.len()));
    body.push_str(TOKEN);
    body.push_str("\nmore after the cut\n");
    dir.write("echo.txt", &body);
    let port = free_port();
    let mut child = Command::new("openssl")
        .args(["s_server", "-WWW", "-accept", &format!("127.0.0.1:{port}"), "-naccept", "10", "-cert"])
        .arg(&scert)
        .arg("-key")
        .arg(&skey)
        .current_dir(dir.tmp.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start openssl s_server");
    wait_for_port(port, &mut child, "openssl s_server");
    let _peer = Peer { child, port, name: "openssl s_server -WWW" };
    let saved = dir.path("s.json");
    let o = run(bin()
        .args(["probe", "localhost", "--connect-to", &format!("127.0.0.1:{port}"), "--path", "/echo.txt"])
        .args(["--no-compare", "--timeout", "20", "--report", "json", "-H", &format!("Authorization: Bearer {TOKEN}")])
        .arg("--ca")
        .arg(&ca)
        .arg("--save")
        .arg(&saved));
    let report = stdout(&o);
    let session = std::fs::read_to_string(&saved).unwrap_or_else(|e| panic!("saved: {e}; {}", stderr(&o)));
    let json: serde_json::Value = serde_json::from_str(&report).expect("json report");
    let preview = json.to_string();
    assert!(preview.contains("aaaaaaaa"), "the body preview is in the report: {report}");
    for (what, text) in [("JSON report", &report), ("saved session", &session)] {
        let lower = text.to_lowercase();
        for n in 4..=TOKEN.len() {
            assert!(!lower.contains(&TOKEN[..n]), "{what} holds {n} characters of the secret: {text}");
        }
    }
}
