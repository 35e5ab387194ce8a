//! One bad target does not abort the others (issue 15): a targets-file entry whose material cannot
//! be loaded, or whose value is wrong, is reported for that target and the rest are probed, unless
//! `--fail-fast`; material a targets file names is guarded against `-o` / `--save` like the
//! command line's.

use serde_json::Value;

use crate::peers::s_server;
use crate::util::{bin, openssl, run, stderr, stdout, Dir, Pki};
use mtls_doctor::pki::Spec;

const PASSWORD: &str = "Right-Pa55word";

struct Fixture {
    dir: Dir,
    file: std::path::PathBuf,
    _server: crate::peers::Peer,
}

/// A targets file: a missing certificate (line 1), a good target (line 6), a PFX with the wrong
/// password (line 10), a port that is not a number (table at line 16, port on 19), another good
/// target (line 21).
fn fixture() -> Fixture {
    let dir = Dir::new();
    let pki = Pki::new("Partial");
    let server = pki.leaf(&Spec::leaf("localhost").sans(&["localhost"]));
    let (scert, skey) = dir.write_issued("server", &server);
    let peer = s_server(&scert, &skey, &["-www"]);
    let client = pki.leaf(&Spec::leaf("partial client").client_only());
    let (ccert, ckey) = dir.write_issued("client", &client);
    let pfx = dir.path("client.pfx");
    let (ok, out) = openssl(&[
        "pkcs12",
        "-export",
        "-in",
        ccert.to_str().expect("utf8"),
        "-inkey",
        ckey.to_str().expect("utf8"),
        "-out",
        pfx.to_str().expect("utf8"),
        "-passout",
        &format!("pass:{PASSWORD}"),
    ]);
    assert!(ok, "openssl pkcs12: {out}");
    dir.write("wrong.txt", "Wrong-Pa55word\n");
    let port = peer.port;
    let text = format!(
        "[[target]]\nname = \"no-cert\"\nhost = \"127.0.0.1:{port}\"\ncert = \"missing.pem\"\n\n\
         [[target]]\nname = \"good-1\"\nhost = \"127.0.0.1:{port}\"\n\n\
         [[target]]\nname = \"bad-password\"\nhost = \"127.0.0.1:{port}\"\npfx = \"client.pfx\"\n\
         pfx_password_file = \"wrong.txt\"\n\n\
         [[target]]\nname = \"bad-port\"\nhost = \"127.0.0.1\"\nport = \"https\"\n\n\
         [[target]]\nname = \"good-2\"\nhost = \"127.0.0.1:{port}\"\n"
    );
    let file = dir.write("targets.toml", text);
    Fixture { dir, file, _server: peer }
}

#[test]
fn bad_entries_are_reported_per_target_and_the_others_are_probed() {
    let f = fixture();
    let o =
        run(bin().args(["probe", "--no-compare", "--timeout", "10", "--report", "jsonl", "--targets"]).arg(&f.file));
    assert_eq!(o.status.code(), Some(3), "some targets could not be run: {}", stderr(&o));
    let lines: Vec<Value> =
        stdout(&o).lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    for l in &lines {
        crate::report::assert_valid("sweep_record", "a probe JSON line", l);
    }
    let by_name = |n: &str| lines.iter().find(|l| l["target"] == n).unwrap_or_else(|| panic!("no {n}: {lines:?}"));
    let file = f.file.display().to_string();
    let no_cert = by_name("no-cert")["error"].as_str().expect("error").to_string();
    assert!(no_cert.starts_with(&format!("{file}:1: ")) && no_cert.contains("missing.pem"), "{no_cert}");
    let bad_pw = by_name("bad-password")["error"].as_str().expect("error").to_string();
    assert!(bad_pw.starts_with(&format!("{file}:10: ")) && bad_pw.contains("client.pfx"), "{bad_pw}");
    assert!(!bad_pw.contains("Wrong-Pa55word") && !bad_pw.contains(PASSWORD), "{bad_pw}");
    let bad_port = by_name("bad-port")["error"].as_str().expect("error").to_string();
    assert!(bad_port.starts_with(&format!("{file}:19: target 4, field port: ")), "{bad_port}");
    for good in ["good-1", "good-2"] {
        let rec = by_name(good);
        assert!(rec["error"].is_null(), "{rec}");
        assert_eq!(rec["probe"]["handshake"]["ok"], true, "{good} was probed: {rec}");
    }
    let summary = lines.last().expect("summary");
    assert_eq!((summary["targets"].as_u64(), summary["failed"].as_u64()), (Some(5), Some(3)), "{summary}");
    assert_eq!(summary["exit_code"], 3);

    // The text report says the same, one line per bad target.
    let o = run(bin().args(["probe", "--no-compare", "--timeout", "10", "--targets"]).arg(&f.file));
    assert_eq!(o.status.code(), Some(3));
    let text = stdout(&o);
    let line = text.lines().find(|l| l.starts_with("no-cert: ")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains(&format!("{file}:1: ")) && line.contains("missing.pem"), "{line}");

    // The JSON report carries each as that target's error.
    let o = run(bin().args(["probe", "--no-compare", "--timeout", "10", "--report", "json", "--targets"]).arg(&f.file));
    assert_eq!(o.status.code(), Some(3));
    let report: Value = serde_json::from_slice(&o.stdout).expect("json");
    crate::report::assert_valid("probe_report", "the probe report", &report);
    let all = report.to_string();
    assert!(all.contains(&format!("{file}:1: ")) && all.contains("missing.pem"), "{all}");
    drop(f.dir);
}

#[test]
fn fail_fast_stops_at_the_first_bad_entry_as_an_input_error() {
    let f = fixture();
    // A value that is wrong is found while the file is read, before any material is loaded.
    let o = run(bin().args(["probe", "--fail-fast", "--no-compare", "--report", "jsonl", "--targets"]).arg(&f.file));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(stdout(&o), "", "nothing was probed");
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(&format!("{}:19: target 4, field port: ", f.file.display())), "{err}");

    // Without it, the first entry whose material does not load stops the run, named with its file.
    let text = std::fs::read_to_string(&f.file).expect("read");
    let cut = text.find("[[target]]\nname = \"bad-port\"").expect("bad-port table");
    let fixed =
        f.dir.write("fixed.toml", format!("{}{}", &text[..cut], &text[cut..].replacen("port = \"https\"\n", "", 1)));
    let o = run(bin().args(["probe", "--fail-fast", "--no-compare", "--report", "jsonl", "--targets"]).arg(&fixed));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(stdout(&o), "", "nothing was probed");
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(&format!("{}:1: ", fixed.display())) && err.contains("missing.pem"), "{err}");
}

#[test]
fn output_onto_material_a_targets_file_names_is_refused() {
    let dir = Dir::new();
    let pki = Pki::new("Named");
    let client = pki.leaf(&Spec::leaf("named client").client_only());
    let (cert, key) = dir.write_issued("client", &client);
    let ca = dir.write("root.pem", pki.root.cert_pem());
    let sub = dir.path("sub");
    std::fs::create_dir(&sub).expect("mkdir");
    // Paths in the file are relative to it: ../client.pem is the certificate above.
    let file = dir.write(
        "sub/targets.toml",
        "[[target]]\nhost = \"127.0.0.1:9\"\n\n[[target]]\nname = \"with material\"\nhost = \"127.0.0.1:9\"\n\
         cert = \"../client.pem\"\nkey = \"../client.key\"\nca = [\"../root.pem\"]\n",
    );
    for (flag, target) in [("-o", &cert), ("--save", &key), ("-o", &ca)] {
        let before = std::fs::read(target).expect("read");
        let o = run(bin().args(["probe", "--targets"]).arg(&file).arg(flag).arg(target));
        assert_eq!(o.status.code(), Some(2), "{flag} {}: {}", target.display(), stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("is one of the inputs"), "{err}");
        assert!(err.contains(&format!("named in {}:4", file.display())), "{err}");
        assert_eq!(std::fs::read(target).expect("read"), before, "{} is untouched", target.display());
    }
}

#[test]
fn output_onto_material_a_replayed_session_names_is_refused() {
    let dir = Dir::new();
    let pki = Pki::new("Replayed");
    let (cert, key) = dir.write_issued("client", &pki.leaf(&Spec::leaf("replayed client").client_only()));
    let saved = dir.path("before.json");
    // A closed loopback port: the session records the material whatever the probe finds.
    let port = crate::peers::free_port();
    let o = run(bin()
        .args(["probe", &format!("127.0.0.1:{port}"), "--no-http", "--no-compare", "--timeout", "5", "--cert"])
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .arg("--save")
        .arg(&saved));
    assert!(saved.exists(), "{}", stderr(&o));
    let before = std::fs::read(&key).expect("read");
    let o = run(bin().arg("replay").arg(&saved).arg("-o").arg(&key));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("is one of the inputs") && err.contains(&format!("named in {}", saved.display())), "{err}");
    assert_eq!(std::fs::read(&key).expect("read"), before, "the key is untouched");
}
