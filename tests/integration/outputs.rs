//! `-o` and `--save` never destroy what the user had: an output onto an input or onto the other
//! output is refused, a symlink is written through, `listen -o` appends, a full disk is exit 2.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mtls_doctor::pki::{Issued, Spec};

use crate::peers::free_port;
use crate::util::{bin, run, stderr, Dir};

/// Kills the child it holds when the test ends, whichever way it ends.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn cert_dir() -> (Dir, std::path::PathBuf) {
    let dir = Dir::new();
    let root = Issued::self_signed(&Spec::ca("Outputs Root")).expect("root");
    let cert = dir.write("cert.pem", root.cert_pem());
    (dir, cert)
}

#[test]
fn output_onto_an_input_is_refused_and_the_input_survives() {
    let (dir, cert) = cert_dir();
    let before = std::fs::read(&cert).expect("read");
    // The same file under another spelling (./dir/../dir/cert.pem) is still the input.
    let alias = dir.path("sub").join("..").join("cert.pem");
    std::fs::create_dir(dir.path("sub")).expect("mkdir");
    for out in [cert.clone(), alias] {
        let o = run(bin().arg("inspect").arg(&cert).arg("-o").arg(&out));
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("cert.pem") && err.contains("input"), "{err}");
        assert_eq!(std::fs::read(&cert).expect("read"), before, "the input certificate is untouched");
    }
    // --save onto the input is refused the same way.
    let o = run(bin().arg("inspect").arg(&cert).arg("--save").arg(&cert));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read(&cert).expect("read"), before);
}

#[test]
fn output_and_save_onto_the_same_file_are_refused() {
    let (dir, cert) = cert_dir();
    let both = dir.write("both.txt", "keep me\n");
    let o = run(bin().arg("inspect").arg(&cert).arg("-o").arg(&both).arg("--save").arg(&both));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("both.txt") && err.contains("--save"), "{err}");
    assert_eq!(std::fs::read_to_string(&both).expect("read"), "keep me\n");
    // Not yet existing, spelled two ways: still one file.
    let fresh = dir.path("fresh.json");
    let other = dir.path("sub2").join("..").join("fresh.json");
    std::fs::create_dir(dir.path("sub2")).expect("mkdir");
    let o = run(bin().arg("inspect").arg(&cert).arg("-o").arg(&fresh).arg("--save").arg(&other));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!fresh.exists());
}

#[cfg(unix)]
#[test]
fn output_onto_a_symlink_writes_through_to_its_target() {
    let (dir, cert) = cert_dir();
    let target = dir.write("real.txt", "old\n");
    let link = dir.path("link.txt");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let o = run(bin().arg("inspect").arg(&cert).args(["--report", "json", "-o"]).arg(&link));
    assert!(o.status.code() != Some(2), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link).expect("meta").file_type().is_symlink(), "the link stays a link");
    let written = std::fs::read_to_string(&target).expect("read");
    assert!(written.contains("schema_version"), "{written}");
    // A link to the input is the input.
    let to_input = dir.path("to-input.pem");
    std::os::unix::fs::symlink(&cert, &to_input).expect("symlink");
    let before = std::fs::read(&cert).expect("read");
    let o = run(bin().arg("inspect").arg(&cert).arg("-o").arg(&to_input));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read(&cert).expect("read"), before);
    // A dangling link: refused with its name, nothing created in its place.
    let dangling = dir.path("dangling.txt");
    std::os::unix::fs::symlink(dir.path("nowhere/x.txt"), &dangling).expect("symlink");
    let o = run(bin().arg("inspect").arg(&cert).arg("-o").arg(&dangling));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("dangling.txt"), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&dangling).expect("meta").file_type().is_symlink());
}

#[cfg(target_os = "linux")]
#[test]
fn writing_to_a_full_disk_is_exit_2() {
    let (_dir, cert) = cert_dir();
    for flag in ["-o", "--save"] {
        let o = run(bin().arg("inspect").arg(&cert).arg(flag).arg("/dev/full"));
        assert_eq!(o.status.code(), Some(2), "{flag}: {}", stderr(&o));
        assert!(stderr(&o).contains("/dev/full"), "{}", stderr(&o));
    }
}

#[test]
fn listen_output_appends_to_an_existing_file() {
    let dir = Dir::new();
    let root = Issued::self_signed(&Spec::ca("Append Root")).expect("root");
    let server = root.issue(&Spec::leaf("localhost").sans(&["localhost"]).server_only()).expect("server");
    let (scert, skey) = dir.write_issued("server", &server);
    let ca = dir.write("root.pem", root.cert_pem());
    let log = dir.write("existing.jsonl", "{\"earlier\":true}\n");
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
    let mut err_lines = BufReader::new(child.0.stderr.take().expect("stderr")).lines();
    let ready = err_lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(ready.contains("listening on 127.0.0.1"), "{ready}");
    assert_eq!(std::fs::read_to_string(&log).expect("read"), "{\"earlier\":true}\n", "not emptied at start-up");
    let mut curl = Command::new("curl");
    curl.args(["-s", "--max-time", "10", "--cacert"]).arg(&ca);
    curl.args(["--resolve", &format!("localhost:{port}:127.0.0.1"), &format!("https://localhost:{port}/")]);
    let c = run(&mut curl);
    assert!(c.status.success(), "curl: {}", stderr(&c));
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.0.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(&log).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0], "{\"earlier\":true}");
    assert!(lines[1].contains("\"sni\""), "{text}");
}

#[test]
fn watch_output_appends_to_an_existing_file() {
    let dir = Dir::new();
    let log = dir.write("watch.jsonl", "{\"earlier\":true}\n");
    // Nothing listens on this port: one run, one record of the refused connection.
    let port = free_port();
    let o = run(bin()
        .args(["watch", &format!("127.0.0.1:{port}"), "--max-runs", "1", "--interval", "100ms", "--no-compare"])
        .args(["--timeout", "5", "--report", "json", "-o"])
        .arg(&log));
    assert!(o.status.code() != Some(2), "{}", stderr(&o));
    let text = std::fs::read_to_string(&log).expect("read");
    assert!(text.starts_with("{\"earlier\":true}\n"), "the earlier lines are kept: {text}");
    assert!(text.lines().count() >= 2, "{text}");
}

/// Run the binary with `input` on a pipe as its standard input; its exit status and stderr.
fn with_piped_stdin(args: &[&str], out: &std::path::Path, input: &str) -> (std::process::ExitStatus, String) {
    let mut child = Kill(
        bin()
            .args(args)
            .arg(out)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn"),
    );
    {
        use std::io::Write as _;
        let mut stdin = child.0.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("write");
    }
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.0.try_wait().expect("wait") {
            break s;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{args:?} did not end");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    if let Some(mut e) = child.0.stderr.take() {
        use std::io::Read as _;
        let _ = e.read_to_string(&mut err);
    }
    (status, err)
}

/// A targets file that can be read only once (a pipe) with `-o`: the output guard and the command
/// read the same copy, so every target runs (the guard used to read the pipe first, and the
/// command then found no targets).
#[test]
fn a_piped_targets_file_with_output_runs_every_target() {
    let dir = Dir::new();
    let ports = [free_port(), free_port()];
    let input: String = ports.iter().map(|p| format!("127.0.0.1:{p}\n")).collect();

    let out = dir.path("out.jsonl");
    let args = ["probe", "--targets", "/dev/stdin", "--no-http", "--timeout", "5", "--report", "jsonl", "-o"];
    let (status, err) = with_piped_stdin(&args, &out, &input);
    assert!(!err.contains("no targets"), "{err}");
    assert_ne!(status.code(), Some(2), "{err}");
    let text = std::fs::read_to_string(&out).expect("read");
    let records: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(records.iter().filter(|r| r["record"] == "target").count(), 2, "{text}");
    assert_eq!(records.last().map(|r| r["record"].clone()), Some(serde_json::json!("summary")));

    // `watch` reads its targets the same way.
    let log = dir.path("watch.jsonl");
    let args = ["watch", "--targets", "/dev/stdin", "--max-runs", "1", "--interval", "100ms", "--no-compare"];
    let args = [&args[..], &["--no-http", "--timeout", "5", "--report", "json", "-o"]].concat();
    let (status, err) = with_piped_stdin(&args, &log, &input);
    assert!(!err.contains("no targets"), "{err}");
    assert_ne!(status.code(), Some(2), "{err}");
    let text = std::fs::read_to_string(&log).expect("read");
    for p in ports {
        assert!(text.contains(&format!("127.0.0.1:{p}")), "every piped target was watched: {text}");
    }
}
