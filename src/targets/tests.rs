use super::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

#[test]
fn plain_lines_take_the_defaults_and_errors_name_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "t.txt", "# gateways\napi.contoso.com\n\nbackend.local:8443 # b\n");
    let defaults = TargetDefaults { role: ProbeRole::Outbound, expiring_days: 7, ..Default::default() };
    let runs = targets_from_file(&file, &defaults).expect("parses");
    let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["api.contoso.com:443 outbound", "backend.local:8443 outbound"]);
    assert!(runs.iter().all(|r| r.expiring_days == Some(7)));

    let bad = write(dir.path(), "bad.txt", "ok.example\ntwo words\n");
    let e = targets_from_file(&bad, &defaults).expect_err("two words").to_string();
    assert!(e.starts_with(&format!("{}:2: ", bad.display())), "{e}");
}

#[test]
fn urls_in_targets_files_carry_their_path_unless_path_overrides_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "t.txt", "https://api.contoso.com:8443/orders?x=1\n");
    let runs = targets_from_file(&file, &TargetDefaults::default()).expect("parses");
    let o = runs[0].options.as_ref().expect("options");
    assert_eq!((o.host.as_str(), o.port, o.path.as_str()), ("api.contoso.com", 8443, "/orders?x=1"));
    let text = "[[target]]\nhost = \"https://b.local/health\"\nresolve = [\"b.local:443:127.0.0.1\"]\n\n\
                [[target]]\nhost = \"https://c.local/x\"\npath = \"/y\"\n";
    let runs = targets_from_file(&write(dir.path(), "t.toml", text), &TargetDefaults::default()).expect("toml");
    let o = runs[0].options.as_ref().expect("options");
    assert_eq!((o.path.as_str(), o.resolve.as_slice()), ("/health", ["b.local:443:127.0.0.1".to_string()].as_slice()));
    assert_eq!(runs[1].options.as_ref().expect("options").path, "/y");
    let bad = write(dir.path(), "bad.toml", "[[target]]\nhost = \"a\"\nresolve = [\"a:443\"]\n");
    let e = targets_from_file(&bad, &TargetDefaults::default()).expect_err("bad resolve").to_string();
    assert!(e.starts_with(&format!("{}:1: --resolve", bad.display())), "{e}");
}

#[test]
fn forward_cert_needs_a_certificate_and_a_known_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "[[target]]\nhost = \"a.local\"\ncert = \"c.pem\"\nforward_cert = \"X-Client-Cert=appgw\"\n";
    let runs = targets_from_file(&write(dir.path(), "t.toml", text), &TargetDefaults::default()).expect("toml");
    assert_eq!(runs[0].material.forward_cert.as_deref(), Some("X-Client-Cert=appgw"));
    let text = "[[target]]\nhost = \"a.local\"\nforward_cert = \"X-Client-Cert\"\n";
    let bad = write(dir.path(), "no-cert.toml", text);
    let e = targets_from_file(&bad, &TargetDefaults::default()).expect_err("no certificate").to_string();
    assert!(e.contains("--forward-cert") && e.contains("--cert or --pfx"), "{e}");
    let text = "[[target]]\nhost = \"a.local\"\ncert = \"c.pem\"\nforward_cert = \"X-Client-Cert=pem\"\n";
    let bad = write(dir.path(), "bad-format.toml", text);
    let e = targets_from_file(&bad, &TargetDefaults::default()).expect_err("unknown format").to_string();
    assert!(e.contains("unknown format \"pem\""), "{e}");
}

#[test]
fn errors_name_the_file_the_entry_and_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = TargetDefaults::default();
    let empty = write(dir.path(), "empty.txt", "# nothing yet\n\n");
    let e = targets_from_file(&empty, &d).expect_err("no targets").to_string();
    assert_eq!(e, format!("{}: no targets (only comments and blank lines)", empty.display()));

    let bad = write(dir.path(), "p.toml", "[[target]]\nhost = \"a\"\n\n[[target]]\nhost = \"b\"\nport = \"x\"\n");
    let e = targets_from_file(&bad, &d).expect_err("port is a string").to_string();
    assert!(e.starts_with(&format!("{}:6: target 2, field port: ", bad.display())), "{e}");

    let bad = write(dir.path(), "r.toml", "[[target]]\nhost = \"a\"\nrole = \"sideways\"\n");
    let e = targets_from_file(&bad, &d).expect_err("bad role").to_string();
    assert!(e.starts_with(&format!("{}:3: target 1, field role: ", bad.display())), "{e}");

    let bad = write(dir.path(), "h.toml", "[[target]]\nport = 1\n");
    let e = targets_from_file(&bad, &d).expect_err("no host").to_string();
    assert!(e.contains("target 1") && e.contains("host"), "{e}");
}

#[test]
fn toml_tables_override_the_defaults_with_paths_relative_to_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "[[target]]\nname = \"backend\"\nhost = \"b.local\"\nport = 8443\nrole = \"outbound\"\n\
                pfx = \"id.pfx\"\npfx_password_env = \"PW\"\ntls = \"1.3\"\n\n[[target]]\nhost = \"a.local\"\n";
    let file = write(dir.path(), "t.toml", text);
    let defaults = TargetDefaults { ca: vec![PathBuf::from("/etc/ca.pem")], ..Default::default() };
    let runs = targets_from_file(&file, &defaults).expect("parses");
    assert_eq!(runs[0].name, "backend");
    let o = runs[0].options.as_ref().expect("options");
    assert_eq!((o.port, o.role, o.tls_version), (8443, ProbeRole::Outbound, Some(TlsVersionPin::Tls13)));
    assert_eq!(runs[0].material.pfx, Some(dir.path().join("id.pfx").display().to_string()));
    assert_eq!(runs[0].material.password, PasswordRef::Env { var: "PW".into() });
    assert_eq!(runs[1].name, "a.local:443 inbound");
    assert_eq!(runs[1].material.ca, ["/etc/ca.pem"]);
    assert_eq!(runs[1].material.password, PasswordRef::Prompt);

    let bad = write(dir.path(), "k.toml", "[[target]]\nhost = \"a\"\n\n[[target]]\nhost = \"b\"\nkey = \"k.pem\"\n");
    let e = targets_from_file(&bad, &defaults).expect_err("key without cert").to_string();
    assert_eq!(e, format!("{}:4: key is given without cert", bad.display()));
}
