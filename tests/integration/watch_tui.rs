//! `mtls-doctor watch TARGET` on a terminal: the real binary under tmux opens the watch screen,
//! and its change log grows live when the target changes (nothing listening, then a TLS server
//! starts on the port); `q` stops the watch, the terminal comes back and the log is in the
//! scrollback and in the saved session.

use std::process::{Command, Stdio};

use mtls_doctor::pki::{Issued, Spec};

use crate::peers::{free_port, wait_for_port, Peer};
use crate::tui::{sh_quote, Tmux};
use crate::util::Dir;

#[test]
fn the_watch_screen_shows_a_change_as_it_happens() {
    assert!(Command::new("tmux").arg("-V").output().is_ok(), "tmux is required: apt-get install -y tmux");
    let dir = Dir::new();
    let ca = Issued::self_signed(&Spec::ca("Watch TUI Root")).expect("ca");
    let leaf = ca.issue(&Spec::leaf("localhost").sans(&["localhost"]).server_only()).expect("leaf");
    let (cert, key) = dir.write_issued("server", &leaf);
    let ca_path = dir.write("ca.pem", ca.cert_pem());
    let saved = dir.path("watch.json");
    let port = free_port();
    let program = format!(
        "{} watch localhost:{port} --connect-to 127.0.0.1:{port} --ca {} --no-http --timeout 2 --interval 300ms --save {}",
        sh_quote(env!("CARGO_BIN_EXE_mtls-doctor")),
        sh_quote(&ca_path.display().to_string()),
        sh_quote(&saved.display().to_string()),
    );
    let command = format!("{program}; echo \"exited $?\"; exec sleep 120");
    let tmux = Tmux::start("watch", &format!("sh -c {}", sh_quote(&command)));

    // Nothing listens yet: the baseline says so.
    let screen = tmux.wait_for("Change log (1)", "the baseline");
    assert!(screen.contains("mtls-doctor watch") && screen.contains("Targets (1)"), "{screen}");
    assert!(screen.contains("✖ localhost:") && screen.contains("watching: not ok"), "{screen}");

    // The fix lands: a TLS server on the port. The change appears in the log, live.
    let mut child = Command::new("openssl")
        .args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-naccept", "1000", "-cert"])
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start openssl s_server");
    wait_for_port(port, &mut child, "openssl s_server");
    let server = Peer { child, port, name: "openssl s_server" };
    let screen = tmux.wait_for("✔ localhost:", "the target turning healthy");
    assert!(screen.contains("handshake:"), "a handshake change row: {screen}");
    let row = screen.lines().find(|l| l.contains("handshake:")).expect("row");
    assert!(row.contains("Z  localhost:") && row.contains("ok"), "time, target, what changed: {row}");

    // q stops the watch: the screen goes, the log stays in the scrollback, the session is saved.
    tmux.keys(&["q"]);
    let screen = tmux.wait_for("exited 0", "the exit");
    assert!(!screen.contains("Targets (1)"), "the watch screen is gone: {screen}");
    assert!(screen.contains("watch ended after") && screen.contains("interrupted"), "{screen}");
    let file = std::fs::read_to_string(&saved).expect("saved");
    let session: serde_json::Value = serde_json::from_str(&file).expect("json");
    let records = session["watch"]["records"].as_array().expect("records");
    assert!(records.iter().any(|r| r["record"] == "change"), "{file}");
    assert_eq!(records.last().map(|r| r["reason"].clone()), Some("interrupted".into()));
    drop(server);
}

/// Headless (`-o FILE`) with standard error on a terminal: one progress line for the whole watch,
/// updated in place and still there between runs (saying when the next one starts), never a new
/// bar drawn and wiped for each run.
#[test]
fn the_headless_watch_keeps_one_progress_line_across_runs() {
    let dir = Dir::new();
    let out = dir.path("records.txt");
    let port = free_port();
    let program = format!(
        "{} watch 127.0.0.1:{port} --no-http --timeout 2 --interval 1500ms --max-runs 3 -o {}",
        sh_quote(env!("CARGO_BIN_EXE_mtls-doctor")),
        sh_quote(&out.display().to_string()),
    );
    let command = format!("{program}; echo \"exited $?\"; exec sleep 120");
    let tmux = Tmux::start("watch-progress", &format!("sh -c {}", sh_quote(&command)));
    for run in ["watch run 1", "watch run 2"] {
        let screen = tmux.wait_for(&format!("{run} [====================] 1/1 done; next run at"), "the pause");
        assert_eq!(screen.matches("watch run").count(), 1, "one progress line: {screen}");
    }
    let screen = tmux.wait_for("exited 1", "the exit");
    assert!(!screen.contains("watch run"), "the line is cleared at the end: {screen}");
    let records = std::fs::read_to_string(&out).expect("records");
    assert_eq!(records.lines().count(), 2, "a baseline and the end: {records}");
}
