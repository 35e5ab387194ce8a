//! A session of thousands of targets, synthesized from a small real one, opens, diffs and
//! replays through the binary, and the file is written one target a line.

use std::path::Path;
use std::time::{Duration, Instant};

use mtls_doctor::pki::{Issued, Spec};
use serde_json::Value;

use crate::peers::s_server;
use crate::util::{bin, run, stderr, stdout, Dir};

const TARGETS: usize = 3_000;

fn run_ok(args: &[&str], codes: &[i32]) -> std::process::Output {
    let o = run(bin().args(args));
    let code = o.status.code().unwrap_or(-1);
    assert!(codes.contains(&code), "{args:?}: exit {code}\nstderr: {}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    o
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf8 path")
}

/// `targets` copies of the first target of `small`, each with its own name.
fn many(small: &Value, targets: usize) -> (Value, Vec<Value>) {
    let one = small["targets"][0].clone();
    let runs = (0..targets)
        .map(|i| {
            let mut t = one.clone();
            t["name"] = Value::String(format!("target {i}"));
            t
        })
        .collect();
    (small.clone(), runs)
}

/// The session's text with its fields in `order` (`targets` written one a line).
fn write_session(path: &Path, head: &Value, targets: &[Value], order: &[&str]) {
    let mut text = String::from("{\n");
    let obj = head.as_object().expect("object");
    let mut keys: Vec<&str> = order.to_vec();
    keys.extend(obj.keys().map(String::as_str).filter(|k| !order.contains(k)));
    for (n, key) in keys.iter().enumerate() {
        text.push_str(&format!("  {}: ", Value::String(key.to_string())));
        if *key == "targets" {
            text.push_str("[\n");
            let lines: Vec<String> = targets.iter().map(|t| serde_json::to_string(t).expect("json")).collect();
            text.push_str(&lines.join(",\n"));
            text.push_str("\n  ]");
        } else {
            text.push_str(&serde_json::to_string(&obj[*key]).expect("json"));
        }
        text.push_str(if n + 1 < keys.len() { ",\n" } else { "\n" });
    }
    text.push_str("}\n");
    std::fs::write(path, text).expect("write");
}

#[test]
fn a_session_of_thousands_of_targets_opens_diffs_and_replays() {
    let started = Instant::now();
    let dir = Dir::new();
    let root = Issued::self_signed(&Spec::ca("Large Session Root")).expect("root");
    let server = root.issue(&Spec::leaf("localhost").sans(&["localhost"]).server_only()).expect("server");
    dir.write_issued("server", &server);
    dir.write("root.pem", root.cert_pem());
    let small = dir.path("small.json");
    {
        let peer = s_server(&dir.path("server.pem"), &dir.path("server.key"), &["-www"]);
        let targets = dir.write(
            "targets.toml",
            format!(
                "[[target]]\nname = \"one\"\nhost = \"localhost\"\nport = {port}\nconnect_to = \"127.0.0.1:{port}\"\nca = [\"root.pem\"]\ntimeout = 10\n",
                port = peer.port
            ),
        );
        run_ok(&["probe", "--targets", p(&targets), "--save", p(&small)], &[0, 1]);
    }
    // The saved file: one target a line.
    let small_text = std::fs::read_to_string(&small).expect("read");
    let target_lines = small_text.lines().filter(|l| l.starts_with("    {\"")).count();
    assert_eq!(target_lines, 1, "one target a line:\n{small_text}");

    let small: Value = serde_json::from_str(&small_text).expect("json");
    assert_eq!(small["schema_version"], 3);
    let (head, targets) = many(&small, TARGETS);
    // As mtls-doctor writes it (certificates, then schema_version, then targets), and with the
    // targets first, which the reader takes the whole-tree way: both must read the same.
    let big = dir.path("big.json");
    let reordered = dir.path("reordered.json");
    write_session(&big, &head, &targets, &["certificates", "command", "created_at", "schema_version", "targets"]);
    write_session(&reordered, &head, &targets, &["targets", "certificates", "schema_version"]);
    let size = std::fs::metadata(&big).expect("size").len();
    assert!(size > 3_000_000, "{TARGETS} targets in only {size} bytes");

    let open = |file: &Path| -> Value {
        let o = run_ok(&["open", p(file), "--report", "json"], &[0, 1, 3]);
        serde_json::from_str(&stdout(&o)).expect("open's report is JSON")
    };
    let opened = open(&big);
    let probes = opened["probes"].as_array().expect("probes");
    assert_eq!(probes.len(), TARGETS);
    assert_eq!(opened, open(&reordered), "the streaming and whole-tree readers disagree");

    // diff: the two layouts of one session hold the same targets.
    let same = stdout(&run_ok(&["diff", p(&big), p(&reordered)], &[0]));
    assert!(same.contains("No changes."), "{same}");

    // replay: every target run again (the server is gone, so each records its connection error),
    // streamed, and the new session saved and opened again.
    let again = dir.path("again.json");
    let o = run_ok(&["replay", p(&big), "--report", "jsonl", "-j", "64", "--save", p(&again), "-q"], &[0, 1, 2, 3]);
    let records = stdout(&o).lines().filter(|l| l.contains("\"record\":\"target\"")).count();
    assert!(records >= TARGETS, "replay wrote {records} records for {TARGETS} targets");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&again).expect("read")).expect("json");
    assert_eq!(saved["targets"].as_array().expect("targets").len(), TARGETS);
    assert_eq!(saved["replayed_from"], p(&big));
    let reopened = run_ok(&["open", p(&again), "--report", "json"], &[0, 1, 3]);
    assert!(stdout(&reopened).starts_with('{'), "{}", stderr(&reopened));

    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(300), "took {elapsed:?}");
}
