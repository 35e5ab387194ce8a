//! `--report jsonl`: records stream as targets finish, match the schema, and an interrupted sweep
//! (SIGINT to the real binary, by pid) leaves every finished record on disk, whole.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::peers::free_port;
use crate::report::assert_valid;
use crate::session::{assert_no_secrets, probe_args, Material};
use crate::util::{bin, run, stderr, stdout, Dir};

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {l:?}")))
        .collect()
}

#[test]
fn jsonl_records_then_a_summary_on_stdout_and_in_a_file_match_the_schema() {
    let m = Material::new();
    let out = Dir::new();
    let peer = m.strict_server();
    let other = free_port();
    let mut a = probe_args(&m, peer.port);
    a.extend(["--report".into(), "jsonl".into()]);
    // A second target (reached through the same --connect-to, so the same server under another name).
    a.insert(2, format!("127.0.0.1:{other}"));
    let o = run(bin().args(&a));
    assert!(matches!(o.status.code(), Some(0 | 1)), "exit {:?}\n{}", o.status.code(), stderr(&o));
    let text = stdout(&o);
    assert_no_secrets("jsonl on stdout", &text);
    let recs = lines(&text);
    assert_eq!(recs.len(), 3, "two target records and the summary:\n{text}");
    for (i, r) in recs.iter().enumerate() {
        assert_valid("sweep_record", &format!("line {}", i + 1), r);
    }
    let targets: BTreeSet<u64> = recs[..2].iter().map(|r| r["index"].as_u64().expect("index")).collect();
    assert_eq!(targets, BTreeSet::from([0, 1]));
    assert!(recs[..2].iter().all(|r| r["record"] == "target"));
    for (i, name) in [(0, format!("localhost:{}", peer.port)), (1, format!("127.0.0.1:{other}"))] {
        let r = recs[..2].iter().find(|r| r["index"] == i).expect("each index once");
        assert!(r["target"].as_str().unwrap_or("").starts_with(&name), "index {i} is {name}: {}", r["target"]);
        assert_eq!(r["probe"]["handshake"]["ok"], true, "{r}");
        assert_eq!(r["probe"]["client_cert_sent"], true);
    }
    let summary = &recs[2];
    assert_eq!(summary["record"], "summary");
    assert_eq!(summary["targets"], 2);
    assert_eq!(summary["completed"], 2);
    assert_eq!(summary["exit_code"].as_i64(), o.status.code().map(i64::from), "summary states the exit code");
    let errors: u64 = recs[..2]
        .iter()
        .flat_map(|r| r["findings"].as_array().cloned().unwrap_or_default())
        .filter(|f| f["severity"] == "error")
        .count() as u64;
    assert_eq!(summary["errors"].as_u64(), Some(errors));

    // -o FILE: the same lines in the file, nothing on stdout; --save still writes the session.
    let file = out.path("sweep.jsonl");
    let saved = out.path("sweep-session.json");
    let mut b = a.clone();
    b.extend(["-o".into(), file.display().to_string(), "--save".into(), saved.display().to_string()]);
    let o = run(bin().args(&b));
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    let text = std::fs::read_to_string(&file).expect("report file");
    assert_no_secrets("jsonl file", &text);
    let recs = lines(&text);
    assert_eq!(recs.len(), 3);
    recs.iter().for_each(|r| assert_valid("sweep_record", "file line", r));
    let session: Value = serde_json::from_str(&std::fs::read_to_string(&saved).expect("session")).expect("json");
    assert_eq!(session["targets"].as_array().map(Vec::len), Some(2));
    assert_eq!(session["command"], "probe");

    // replay streams the same way.
    let o = run(bin().args(["replay", &saved.display().to_string(), "--report", "jsonl"]));
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let recs = lines(&stdout(&o));
    assert_eq!(recs.len(), 3, "{}", stdout(&o));
    recs.iter().for_each(|r| assert_valid("sweep_record", "replay line", r));
    assert_eq!(recs[2]["completed"], 2);
}

/// The binary, stopped by pid however the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sigint_mid_sweep_leaves_every_finished_record_whole_on_disk() {
    let out = Dir::new();
    // Two targets that accept and then say nothing: their probes wait until SIGINT.
    let stall_a = TcpListener::bind("127.0.0.1:0").expect("bind");
    let stall_b = TcpListener::bind("127.0.0.1:0").expect("bind");
    // Four that refuse at once: their records are written while the others stall.
    let closed: Vec<u16> = (0..4).map(|_| free_port()).collect();
    let mut list = vec![format!("127.0.0.1:{}", stall_a.local_addr().expect("addr").port())];
    list.extend(closed.iter().take(2).map(|p| format!("127.0.0.1:{p}")));
    list.push(format!("127.0.0.1:{}", stall_b.local_addr().expect("addr").port()));
    list.extend(closed.iter().skip(2).map(|p| format!("127.0.0.1:{p}")));
    let targets = out.write("targets.txt", list.join("\n") + "\n");
    let file = out.path("sweep.jsonl");
    let child = bin()
        .args(["probe", "--targets", &targets.display().to_string(), "--no-http", "--timeout", "120", "-j", "8"])
        .args(["--report", "jsonl", "-o", &file.display().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mtls-doctor");
    let mut child = Running(child);

    // Wait (bounded) until the four quick targets are on disk.
    let deadline = Instant::now() + Duration::from_secs(60);
    let count = || std::fs::read_to_string(&file).map(|t| t.lines().count()).unwrap_or(0);
    while count() < 4 {
        assert!(Instant::now() < deadline, "the quick targets' records never reached the file");
        assert!(child.0.try_wait().expect("wait").is_none(), "the sweep ended before the stalled targets did");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Still running: the stalled targets hold it.
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.0.try_wait().expect("wait").is_none(), "the sweep should still wait on the stalled targets");
    let pid = child.0.id().to_string();
    let st = std::process::Command::new("kill").args(["-INT", &pid]).status().expect("kill");
    assert!(st.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.0.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "SIGINT did not stop the sweep");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success(), "an interrupted sweep does not report success: {status:?}");

    let text = std::fs::read_to_string(&file).expect("report file");
    assert!(text.ends_with('\n'), "the last record is whole: {text:?}");
    let recs = lines(&text);
    assert_eq!(recs.len(), 4, "the four finished targets, no summary (the sweep was cut short):\n{text}");
    let mut seen = BTreeSet::new();
    for r in &recs {
        assert_valid("sweep_record", "interrupted line", r);
        assert_eq!(r["record"], "target");
        assert_eq!(r["probe"]["tcp"]["connected"], false, "{r}");
        seen.insert(r["index"].as_u64().expect("index"));
    }
    assert_eq!(seen, BTreeSet::from([1, 2, 4, 5]), "exactly the quick targets, each once");
    drop((stall_a, stall_b));
}

#[test]
fn the_text_report_of_a_sweep_streams_in_order_and_equals_the_whole_report() {
    use std::io::Read as _;
    let out = Dir::new();
    let stall = TcpListener::bind("127.0.0.1:0").expect("bind");
    let (q1, q2) = (free_port(), free_port());
    let stall_port = stall.local_addr().expect("addr").port();
    // Quick, quick, stalled (until its handshake timeout).
    let list = format!("127.0.0.1:{q1}\n127.0.0.1:{q2}\n127.0.0.1:{stall_port}\n");
    let targets = out.write("targets.txt", list);
    let saved = out.path("s.json");
    let child = bin()
        .args(["probe", "--targets", &targets.display().to_string(), "--no-http", "--timeout", "5"])
        .args(["--save", &saved.display().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut child = Running(child);
    let mut stdout_pipe = child.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout_pipe.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    // Both quick blocks arrive while the stalled target still holds the sweep.
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !text.contains(&format!("== 127.0.0.1:{q2} ")) {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = rx.recv_timeout(left).expect("the quick targets' blocks are written before the sweep ends");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(child.0.try_wait().expect("wait").is_none(), "written while the stalled target still runs:\n{text}");
    assert!(!text.contains(&format!("127.0.0.1:{stall_port}")), "the stalled block is not out yet:\n{text}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.0.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "the sweep did not end after its timeout");
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().expect("reader");
    text.extend(rx.try_iter().map(|c| String::from_utf8_lossy(&c).into_owned()));
    let first = text.find(&format!("== 127.0.0.1:{q1} ")).expect("first block");
    let second = text.find(&format!("== 127.0.0.1:{q2} ")).expect("second block");
    let third = text.find(&format!("== 127.0.0.1:{stall_port} ")).expect("stalled block");
    assert!(first < second && second < third, "blocks in the order given:\n{text}");
    // Streamed or not, the text is the whole report of the same session.
    let whole = run(bin().args(["open", &saved.display().to_string(), "--report", "text"]));
    assert_eq!(text, stdout(&whole));
    drop(stall);
}

#[test]
fn jsonl_of_the_demo_and_of_an_inspect_match_the_schema() {
    let o = run(bin().args(["demo", "--headless", "--report", "jsonl"]));
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let recs = lines(&stdout(&o));
    assert!(recs.len() > 2, "{}", stdout(&o));
    recs.iter().for_each(|r| assert_valid("sweep_record", "demo line", r));
    let (last, targets) = recs.split_last().expect("lines");
    assert_eq!(last["record"], "summary");
    assert_eq!(last["completed"].as_u64(), Some(targets.len() as u64));
    // demo itself always exits 0; the summary says what probe would.
    let errors = targets
        .iter()
        .flat_map(|r| r["findings"].as_array().cloned().unwrap_or_default())
        .any(|f| f["severity"] == "error");
    assert_eq!(last["exit_code"], i64::from(errors));

    let m = Material::new();
    let o = run(bin().args(["inspect", &m.path("client-root.pem").display().to_string(), "--report", "jsonl"]));
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let recs = lines(&stdout(&o));
    assert_eq!(recs.len(), 1, "an inspect is its report on one line");
    assert_valid("inspect_report", "inspect jsonl", &recs[0]);
}

#[test]
fn a_targets_file_that_can_be_read_only_once_is_read_whole_and_every_target_runs() {
    // `--targets /dev/stdin` (or `<(command)`): a pipe cannot be read a second time, so the lazy
    // reader must not open it twice (checked, then read again) and lose every target.
    let closed = |_: usize| {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let p = l.local_addr().expect("addr").port();
        drop(l);
        p
    };
    let list = format!("# from a pipe\n127.0.0.1:{}\n127.0.0.1:{}\n", closed(0), closed(1));
    let mut child = bin()
        .args(["probe", "--no-http", "--no-compare", "--timeout", "5", "--report", "jsonl", "--targets", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(list.as_bytes()).expect("write the list");
    }
    let o = child.wait_with_output().expect("wait");
    let text = stdout(&o);
    let recs = lines(&text);
    assert_eq!(recs.len(), 3, "two records and the summary from a piped list: {text}\n{}", stderr(&o));
    for r in &recs[..2] {
        assert_valid("sweep_record", "a piped target", r);
        assert!(r["target"].as_str().is_some_and(|t| t.starts_with("127.0.0.1:")), "{r}");
    }
    assert_eq!(recs[2]["targets"], 2, "{}", recs[2]);
}
