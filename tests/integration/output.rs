//! Output people read, through the real binary: `-v` shows the HTTP exchange as sent and received
//! (nginx on loopback records the request line), `--summary` stays under Jira's limit for many
//! targets, and the command line describes itself (help examples, completions, man page).

use mtls_doctor::pki::{Issued, Spec};

use crate::peers::{nginx, nginx_binary};
use crate::util::{bin, run, stderr, stdout, Dir};

/// nginx answering every request with a pretty-printed, several-line JSON 502 (as APIM's errors are).
fn nginx_json_502(dir: &Dir) -> (crate::peers::Peer, std::path::PathBuf) {
    let root = Issued::self_signed(&Spec::ca("Output Test Root")).expect("root");
    let leaf = root.issue(&Spec::leaf("localhost").server_only().sans(&["localhost", "127.0.0.1"])).expect("leaf");
    let ca = dir.write("root.pem", root.cert_pem());
    dir.write_issued("server", &leaf);
    let site = format!(
        "server {{\n listen 127.0.0.1:{{PORT}} ssl;\n ssl_certificate {d}/server.pem;\n ssl_certificate_key {d}/server.key;\n \
         access_log {d}/requests.log;\n location / {{\n  add_header X-Probe-Seen yes always;\n  default_type application/json;\n  \
         return 502 \"{{\\n  \\\"statusCode\\\": 502,\\n  \\\"message\\\": \\\"backend down at orders\\\"\\n}}\\n\";\n }}\n}}\n",
        d = dir.tmp.path().display()
    );
    (nginx(dir.tmp.path(), &site), ca)
}

#[test]
fn verbose_text_shows_the_request_sent_the_response_head_and_the_whole_body() {
    assert!(nginx_binary().is_some(), "nginx is required for this test: apt-get install -y nginx (.ci/run does this)");
    let dir = Dir::new();
    let (peer, ca) = nginx_json_502(&dir);
    let target = format!("127.0.0.1:{}", peer.port);
    let probe = |verbose: bool| {
        let mut cmd = bin();
        cmd.args(["probe", &target, "--no-compare", "--timeout", "20", "--path", "/orders/v1/health?x=1"])
            .args(["-H", "Ocp-Apim-Subscription-Key: s3cr3t-sub-key", "-H", "X-Trace: t-42", "--ca"])
            .arg(&ca);
        if verbose {
            cmd.arg("-v");
        }
        run(&mut cmd)
    };
    let o = probe(true);
    let out = stdout(&o);
    assert!(out.contains("> GET /orders/v1/health?x=1 HTTP/1.1"), "request line:\n{out}\n{}", stderr(&o));
    assert!(out.contains(&format!("> host: 127.0.0.1:{}", peer.port)), "{out}");
    assert!(out.contains("> x-trace: t-42"), "{out}");
    assert!(out.contains("> ocp-apim-subscription-key: [redacted]"), "{out}");
    assert!(!out.contains("s3cr3t"), "a secret header value leaked:\n{out}");
    assert!(out.contains("< HTTP/1.1 502"), "{out}");
    assert!(out.contains("< x-probe-seen: yes"), "{out}");
    assert!(out.contains("\"message\": \"backend down at orders\""), "every body line, not only the first:\n{out}");
    assert!(out.contains("Body (") && out.contains("}\n"), "{out}");
    // The server saw what the report says was sent.
    let log = std::fs::read_to_string(dir.path("requests.log")).expect("nginx access log");
    assert!(log.contains("\"GET /orders/v1/health?x=1 HTTP/1.1\" 502"), "{log}");

    let plain = stdout(&probe(false));
    assert!(plain.contains("HTTP/1.1 502"), "{plain}");
    assert!(
        plain.lines().any(|l| l.trim_start().starts_with("body ") && l.trim_end().ends_with('{')),
        "without -v only the body's first line is shown:\n{plain}"
    );
    assert!(!plain.contains("Body ("), "{plain}");
    assert!(!plain.contains("> GET"), "{plain}");
}

#[test]
fn markdown_summary_of_many_targets_stays_under_the_jira_limit() {
    let dir = Dir::new();
    // 400 targets that fail fast (nothing listens on port 1 of loopback), with long names.
    let mut list = String::new();
    for i in 0..400 {
        list.push_str(&format!("127.0.0.{}:1\n", 1 + i % 200));
    }
    let file = dir.write("targets.txt", list);
    let o = run(bin().args(["probe", "--targets"]).arg(&file).args([
        "--no-compare",
        "--timeout",
        "5",
        "-j",
        "32",
        "--report",
        "markdown",
        "--summary",
    ]));
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let chars = out.chars().count();
    assert!(chars < 32_000, "summary is {chars} characters");
    assert!(out.starts_with("mtls-doctor summary: 400 target(s), 400 with errors"), "{}", &out[..200.min(out.len())]);
    let listed = out.lines().filter(|l| l.starts_with("- 127.0.0.")).count();
    assert!(listed > 50, "only {listed} targets listed");
    if listed < 400 {
        assert!(out.contains(&format!("{} more target(s) not listed", 400 - listed)), "{out}");
    }
    let firsts = out.lines().filter(|l| l.starts_with("  first finding: error ")).count();
    assert_eq!(firsts, listed, "each listed target has its first finding");
    // Plain text as well as Markdown: no escaped intraword underscores, no table pipes.
    assert!(!out.contains("\\_") && !out.contains('|'), "{out}");

    let o = run(bin().args(["probe", "127.0.0.1:1", "--no-compare", "--report", "json", "--summary"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--summary is for --report text or markdown"), "{}", stderr(&o));
}

const SUBCOMMANDS: &[&str] =
    &["inspect", "probe", "tui", "listen", "demo", "replay", "diff", "open", "watch", "exporter", "completions", "man"];

#[test]
fn every_subcommand_help_ends_with_examples_and_describes_every_option() {
    for sub in SUBCOMMANDS {
        let o = run(bin().args([sub, "--help"]));
        assert!(o.status.success(), "{sub} --help");
        let help = stdout(&o);
        let tail = &help[help.rfind("Examples:").unwrap_or_else(|| panic!("{sub} --help has no examples:\n{help}"))..];
        assert!(tail.lines().skip(1).all(|l| l.starts_with("  mtls-doctor ")), "{sub}: examples come last:\n{tail}");
        // `-h` lists each option with its description, on the same line or (when clap's columns
        // would not fit the long value names) indented on the next line; a bare option has none.
        let short = stdout(&run(bin().args([sub, "-h"])));
        let lines: Vec<&str> = short.lines().collect();
        for (i, l) in lines.iter().enumerate().filter(|(_, l)| l.trim_start().starts_with('-')) {
            let after_flag = l.trim_start().split_once("  ").map(|(_, d)| d.trim()).unwrap_or("");
            let next_line = lines.get(i + 1).copied().unwrap_or("");
            let described_below = next_line.starts_with("          ") && !next_line.trim().is_empty();
            assert!(!after_flag.is_empty() || described_below, "{sub}: option without a description: {l:?}");
        }
    }
    let diff = stdout(&run(bin().args(["diff", "--help"])));
    assert!(!diff.contains("--theme") && !diff.contains("--verbose"), "diff lists options it ignores:\n{diff}");
    let tui = stdout(&run(bin().args(["tui", "--help"])));
    assert!(tui.contains("--theme"), "{tui}");
}

#[test]
fn completions_parse_in_their_shells_and_the_man_page_is_roff() {
    let dir = Dir::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let o = run(bin().args(["completions", shell]));
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        assert!(script.contains("mtls-doctor") && script.contains("probe") && script.contains("connect-to"), "{shell}");
        if shell == "bash" {
            let path = dir.write("mtls-doctor.bash", &script);
            let check = run(std::process::Command::new("bash").arg("-n").arg(&path));
            assert!(check.status.success(), "bash -n: {}", stderr(&check));
        }
    }
    let o = run(bin().args(["completions", "tcsh"]));
    assert_eq!(o.status.code(), Some(2));

    let page = stdout(&run(bin().arg("man")));
    assert!(page.lines().any(|l| l.starts_with(".TH mtls-doctor 1")), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS") || page.contains("SUBCOMMANDS"), "{page}");
    let probe = stdout(&run(bin().args(["man", "probe"])));
    assert!(probe.lines().any(|l| l.starts_with(".TH mtls-doctor-probe 1")), "{probe}");
    assert!(probe.contains("connect\\-to") && probe.contains("Examples:"), "{probe}");
    let o = run(bin().args(["man", "nosuch"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no command named \"nosuch\""));
    // groff, when present, reads the page without warnings.
    if std::process::Command::new("groff").arg("--version").output().is_ok() {
        let path = dir.write("mtls-doctor.1", &page);
        let o = run(std::process::Command::new("groff").args(["-man", "-Tutf8", "-ww", "-z"]).arg(&path));
        assert!(o.status.success() && stderr(&o).trim().is_empty(), "groff: {}", stderr(&o));
    }
}

#[test]
fn demo_headless_names_lab_files_not_their_temporary_paths_and_exits_zero() {
    let tmp = std::env::temp_dir().display().to_string();
    for format in ["text", "markdown", "json"] {
        let o = run(bin().args(["demo", "--headless", "--report", format]));
        assert_eq!(o.status.code(), Some(0), "demo --headless exits 0 with findings (README table): {}", stderr(&o));
        let out = stdout(&o);
        assert!(out.contains("lab:policy.xml"), "{format}: the lab's files are named");
        assert!(!out.contains(&tmp) && !out.contains("/.tmp"), "{format}: a temporary path is shown");
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    assert!(readme.contains("| `demo`, `demo --headless` | the lab ran"), "demo's exit code is in the README table");
}

#[test]
fn every_guide_step_points_at_a_section_that_explains_it() {
    use mtls_doctor::diagnose::catalog::CATALOG;
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/findings.md")).expect("findings.md");
    for e in CATALOG {
        let (_, anchor) = e.guide.rsplit_once("(docs/findings.md#").unwrap_or_else(|| panic!("{}: {}", e.id, e.guide));
        let anchor = anchor.trim_end_matches(')');
        let marker = format!("<a id=\"{anchor}\"></a>\n## ");
        let at = doc.find(&marker).unwrap_or_else(|| panic!("{}: no section {anchor} in docs/findings.md", e.id));
        let section = &doc[at + marker.len()..];
        let heading = section.lines().next().unwrap_or_default();
        assert!(e.guide.starts_with(heading), "{}: the section's heading {heading:?} is the step's name", e.id);
        let body: String = section.lines().skip(1).take_while(|l| !l.starts_with("<a id=")).collect();
        assert!(body.split_whitespace().count() > 30, "{}: section {anchor} explains the step", e.id);
    }
}

#[test]
fn saved_paths_replay_from_another_directory_and_a_missing_file_is_named_not_diffed_as_gone() {
    let work = Dir::new();
    let elsewhere = Dir::new();
    let pki = crate::util::Pki::new("Paths Test");
    let leaf = pki.leaf(&Spec::leaf("client.contoso.com").client_only());
    work.write("client.pem", leaf.cert_pem());
    // Given relative to the directory the command runs in, saved absolute.
    let o = run(bin().current_dir(work.tmp.path()).args(["inspect", "client.pem", "--save", "before.json"]));
    assert!(o.status.code().is_some_and(|c| c < 2), "{}", stderr(&o));
    let saved = std::fs::read_to_string(work.path("before.json")).expect("session");
    let abs = work.path("client.pem").display().to_string();
    assert!(saved.contains(&format!("\"{abs}\"")), "input path saved absolute:\n{saved}");

    let before = work.path("before.json");
    let o = run(bin().current_dir(elsewhere.tmp.path()).arg("replay").arg(&before));
    assert!(
        stdout(&o).contains("CN=client.contoso.com"),
        "replay from another directory:\n{}{}",
        stdout(&o),
        stderr(&o)
    );

    // An older session with a relative path: relative to the session file, not to where replay runs.
    let relative = saved.replace(&abs, "client.pem");
    let old = work.write("relative.json", relative);
    let o = run(bin().current_dir(elsewhere.tmp.path()).arg("replay").arg(&old));
    assert!(stdout(&o).contains("CN=client.contoso.com"), "{}{}", stdout(&o), stderr(&o));

    std::fs::remove_file(work.path("client.pem")).expect("remove");
    let after = work.path("after.json");
    let o = run(bin().current_dir(elsewhere.tmp.path()).arg("replay").arg(&before).arg("--save").arg(&after));
    let out = stdout(&o);
    assert!(
        out.contains("client.pem") && out.contains(&abs) && out.contains("not found"),
        "names target and path:\n{out}"
    );
    let o = run(bin().arg("diff").arg(&before).arg(&after));
    let d = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{d}");
    assert!(d.contains("not found"), "the error is the change:\n{d}");
    assert!(!d.contains("gone"), "certificates are unknown, not gone:\n{d}");
}

#[test]
fn json_probes_and_findings_carry_the_target_id_they_are_about() {
    let port = crate::peers::free_port();
    let (a, b) = (format!("127.0.0.1:{port}"), format!("127.0.0.2:{port}"));
    let o = run(bin().args(["probe", &a, &b, "--no-compare", "--timeout", "5", "--report", "json"]));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json report");
    let probes = r["probes"].as_array().expect("probes");
    assert_eq!(probes.len(), 2);
    for (i, p) in probes.iter().enumerate() {
        assert_eq!(p["target_id"], format!("t{}", i + 1));
        assert!(p["target_name"].as_str().is_some_and(|n| n.starts_with(&format!("127.0.0.{}:{port}", i + 1))), "{p}");
    }
    let findings = r["findings"].as_array().expect("findings");
    for id in ["t1", "t2"] {
        assert!(findings.iter().any(|f| f["target_id"] == id), "a finding about {id}");
    }
    for f in findings {
        let p = probes.iter().find(|p| p["target_id"] == f["target_id"]).expect("the finding's target is a probe");
        assert_eq!(f["target_name"], p["target_name"]);
    }
}
