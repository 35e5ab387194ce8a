//! The binary as a user runs it: `inspect` on a Windows-style .pfx, JSON report shape, exit codes,
//! and one-line errors that name the file and never leak a secret.

use mtls_doctor::pki::{Issued, Spec};
use serde_json::Value;

use crate::util::{bin, openssl, run, stderr, stdout, Dir};

const PFX_PASSWORD: &str = "Pfx-Test-Pa55word!";

/// A client certificate exported the way Windows does it (3DES for keys and certificates, SHA-1
/// MAC), with its issuing chain.
fn windows_pfx(dir: &Dir) -> (std::path::PathBuf, Issued, Issued) {
    let root = Issued::self_signed(&Spec::ca("Contoso Client Root")).expect("root");
    let leaf = root.issue(&Spec::leaf("client.contoso.com").client_only()).expect("leaf");
    let (cert, key) = dir.write_issued("client", &leaf);
    let chain = dir.write("root.pem", root.cert_pem());
    let pfx = dir.path("client.pfx");
    let (ok, out) = openssl(&[
        "pkcs12",
        "-export",
        "-keypbe",
        "PBE-SHA1-3DES",
        "-certpbe",
        "PBE-SHA1-3DES",
        "-macalg",
        "sha1",
        "-in",
        cert.to_str().expect("utf8"),
        "-inkey",
        key.to_str().expect("utf8"),
        "-certfile",
        chain.to_str().expect("utf8"),
        "-out",
        pfx.to_str().expect("utf8"),
        "-passout",
        &format!("pass:{PFX_PASSWORD}"),
    ]);
    assert!(ok, "openssl pkcs12: {out}");
    std::fs::remove_file(&key).expect("the key stays only inside the pfx");
    (pfx, root, leaf)
}

#[test]
fn inspect_windows_pfx_gives_exact_apim_strings() {
    let dir = Dir::new();
    let (pfx, root, leaf) = windows_pfx(&dir);
    let pw = dir.write("pw.txt", format!("{PFX_PASSWORD}\n"));
    let root_pem = dir.path("root.pem");
    let o = run(bin()
        .args(["inspect", "--report", "json", "--pfx-password-file"])
        .arg(&pw)
        .arg("--ca")
        .arg(&root_pem)
        .arg(&pfx));
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(v["schema_version"], 1);
    let certs = v["certificates"].as_array().expect("certificates");
    assert_eq!(certs.len(), 2, "leaf and the chain inside the pfx");
    assert_eq!(certs[0]["thumbprint_sha1"], leaf.thumbprint());
    assert_eq!(certs[0]["subject"], "CN=client.contoso.com, O=mtls-doctor lab");
    assert_eq!(certs[0]["issuer"], "CN=Contoso Client Root, O=mtls-doctor lab");
    assert_eq!(certs[1]["thumbprint_sha1"], root.thumbprint());
    assert_eq!(v["verify"]["ok"], true);
    assert_eq!(v["verify"]["code"], 0);
    assert_eq!(v["verify"]["code_name"], "ok");
    for field in
        ["thumbprint_sha256", "serial", "not_before", "not_after", "sans", "eku", "is_ca", "self_signed", "key"]
    {
        assert!(certs[0].get(field).is_some(), "missing {field}");
    }
    // The key is reported, never its bytes.
    assert_eq!(v["keys"][0]["matches_certificate"], leaf.thumbprint());
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(!all.contains("PRIVATE KEY") && !all.contains(PFX_PASSWORD));
    // A .pfx exported "with all certificates in the certification path" carries the root: the one
    // finding is that information (chain-includes-root, info), nothing wrong.
    let findings = v["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1, "{}", v["findings"]);
    assert_eq!(
        (findings[0]["id"].as_str(), findings[0]["severity"].as_str()),
        (Some("chain-includes-root"), Some("info"))
    );

    // Text at 80 columns shows the same strings to copy.
    let o = run(bin().args(["inspect", "--pfx-password-file"]).arg(&pw).arg("--ca").arg(&root_pem).arg(&pfx));
    let text = stdout(&o);
    assert!(text.contains(&format!("Thumbprint   {}", leaf.thumbprint())), "{text}");
    assert!(text.contains("Issuer       CN=Contoso Client Root, O=mtls-doctor lab"), "{text}");
    // The certificate block (findings' cause/evidence lines, indented three, are prose and not wrapped).
    for line in text.lines().filter(|l| l.starts_with("  ") && !l.starts_with("   ") && !l.contains("PEM")) {
        assert!(line.chars().count() <= 100, "line too wide: {line}");
    }
}

#[test]
fn inspect_findings_set_exit_code_one() {
    let dir = Dir::new();
    let root = Issued::self_signed(&Spec::ca("Expired Root")).expect("root");
    let expired = root.issue(&Spec::leaf("old client").client_only().valid_days(-60, -2)).expect("leaf");
    let (cert, _key) = dir.write_issued("old", &expired);
    let ca = dir.write("ca.pem", root.cert_pem());
    let o = run(bin().args(["inspect", "--report", "json", "--ca"]).arg(&ca).arg(&cert));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(v["verify"]["code"], 10);
    let ids: Vec<&str> = v["findings"].as_array().expect("findings").iter().filter_map(|f| f["id"].as_str()).collect();
    assert!(ids.contains(&"cert-expired"), "{ids:?}");
    let f = &v["findings"][0];
    for field in ["id", "severity", "symptom", "title", "cause", "evidence", "fix", "guide"] {
        assert!(f.get(field).is_some(), "finding lacks {field}");
    }
}

#[test]
fn bad_input_is_one_line_naming_the_file_with_exit_two() {
    let dir = Dir::new();
    let (pfx, _, _) = windows_pfx(&dir);
    let wrong = dir.write("wrong.txt", "not-the-password\n");
    let trunc = dir.write("trunc.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n");
    let text = dir.write("notes.txt", "hello, this is not a certificate\n");
    let cases: Vec<(Vec<std::ffi::OsString>, &str)> = vec![
        (vec!["inspect".into(), dir.path("missing.pem").into()], "missing.pem"),
        (vec!["inspect".into(), "--pfx-password-file".into(), wrong.clone().into(), pfx.clone().into()], "client.pfx"),
        (vec!["inspect".into(), trunc.clone().into()], "trunc.pem"),
        (vec!["inspect".into(), text.clone().into()], "notes.txt"),
        (vec!["probe".into(), "localhost:notaport".into()], "localhost:notaport"),
        (vec!["probe".into(), "127.0.0.1:1".into(), "--pfx".into(), dir.path("nope.pfx").into()], "nope.pfx"),
    ];
    for (args, names) in cases {
        let o = run(bin().args(&args).env_remove("PFX_PASSWORD"));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: one line, got {err:?}");
        assert!(err.contains(names), "{args:?}: {err}");
        assert!(!err.contains("panicked") && !err.contains(PFX_PASSWORD), "{err}");
        assert!(stdout(&o).is_empty(), "nothing on stdout for an input error");
    }
}

#[test]
fn usage_errors_exit_two() {
    let o = run(bin().args(["probe"]));
    assert_eq!(o.status.code(), Some(2));
    let o = run(bin().args(["inspect", "x.pem", "--no-such-flag"]));
    assert_eq!(o.status.code(), Some(2));
    let o = run(bin().args(["--version"]));
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("mtls-doctor "));
}

#[test]
fn report_to_file_does_not_clobber_on_failure() {
    let dir = Dir::new();
    let root = Issued::self_signed(&Spec::ca("Out Root")).expect("root");
    let cert = dir.write("root.pem", root.cert_pem());
    let out = dir.path("report.json");
    std::fs::write(&out, "previous report").expect("write");
    // An input error leaves the previous report alone.
    let o = run(bin().args(["inspect", "--report", "json", "-o"]).arg(&out).arg(dir.path("absent.pem")));
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&out).expect("read"), "previous report");
    let o = run(bin()
        .args(["inspect", "--role", "server", "--ca"])
        .arg(&cert)
        .args(["--report", "json", "-o"])
        .arg(&out)
        .arg(&cert));
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).expect("read")).expect("json");
    assert_eq!(v["certificates"][0]["subject"], "CN=Out Root, O=mtls-doctor lab");
}

#[test]
fn output_to_a_device_writes_through_instead_of_replacing_it() {
    let dir = Dir::new();
    let root = Issued::self_signed(&Spec::ca("Dev Root")).expect("root");
    let cert = dir.write("root.pem", root.cert_pem());
    // A FIFO stands in for /dev/null and friends: it must still be a FIFO afterwards.
    let fifo = dir.path("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).expect("read fifo"))
    };
    let o = run(bin()
        .args(["inspect", "--role", "server", "--report", "json", "--ca"])
        .arg(&cert)
        .arg("-o")
        .arg(&fifo)
        .arg(&cert));
    assert!(o.status.success(), "{}", stderr(&o));
    let text = reader.join().expect("reader");
    assert!(text.contains("\"schema_version\": 1"));
    use std::os::unix::fs::FileTypeExt as _;
    assert!(std::fs::metadata(&fifo).expect("meta").file_type().is_fifo(), "the FIFO was replaced");
}

/// The TUI re-runs a saved `inspect --role server --host NAME` target with the same role and host,
/// so the hostname check (and every other finding) is what the command line produced.
#[test]
fn tui_rerun_of_a_saved_inspect_host_target_keeps_the_hostname_check() {
    let dir = Dir::new();
    let root = Issued::self_signed(&Spec::ca("Contoso Server Root")).expect("root");
    let leaf = root.issue(&Spec::leaf("api.contoso.com").server_only()).expect("leaf");
    let (cert, _key) = dir.write_issued("server", &leaf);
    let ca = dir.write("root.pem", root.cert_pem());
    let saved = dir.path("inspect.json");
    let o = run(bin()
        .arg("inspect")
        .arg(&cert)
        .args(["--role", "server", "--host", "other.example", "--ca"])
        .arg(&ca)
        .arg("--save")
        .arg(&saved));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let session = mtls_doctor::session::load(&saved).expect("session loads");
    let from_cli = session.targets[0].clone();
    let ids = |t: &mtls_doctor::session::TargetRun| t.findings.iter().map(|f| f.id.to_string()).collect::<Vec<_>>();
    assert!(ids(&from_cli).iter().any(|id| id == "server-cert-name-mismatch"), "{:?}", ids(&from_cli));

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let rerun = rt.block_on((mtls_doctor::tui::engine_runner())(from_cli.clone(), None));
    assert_eq!(rerun.error, None);
    assert_eq!(ids(&rerun), ids(&from_cli));
    let verdict = |t: &mtls_doctor::session::TargetRun| t.inspected.as_ref().and_then(|i| i.verdict.clone());
    assert_eq!(verdict(&rerun), verdict(&from_cli));
    assert_eq!(rerun.inspect.as_ref().and_then(|c| c.host.as_deref()), Some("other.example"));
}
