//! Bad entries recorded per target ([`BadEntry::Record`]): what `probe` without `--fail-fast` reads.

use super::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

#[test]
fn recorded_bad_entries_carry_their_error_and_the_others_still_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = TargetDefaults::default();
    let text = "[[target]]\nname = \"a\"\nhost = \"a.local\"\n\n[[target]]\nname = \"b\"\nhost = \"b.local\"\n\
                port = \"x\"\n\n[[target]]\nname = \"a\"\nhost = \"c.local\"\n\n[[target]]\nhost = \"d.local\"\n\
                timeout = -1.0\n\n[[target]]\nhost = \"e.local\"\n";
    let file = write(dir.path(), "t.toml", text);
    let f = file.display();
    let entries = read_entries(&file, &d, BadEntry::Record).expect("the file itself is fine");
    let got: Vec<(&str, &str, Option<&str>)> =
        entries.iter().map(|e| (e.run.name.as_str(), e.at.as_str(), e.run.error.as_deref())).collect();
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!((got[0].0, got[0].2), ("a", None));
    assert_eq!(got[1].0, "b", "the table's name, though a value of it is wrong");
    let e = got[1].2.expect("bad port");
    assert!(e.starts_with(&format!("{f}:8: target 2, field port: ")), "{e}");
    assert_eq!(got[2].2, Some(format!("{f}:10: target name \"a\" is used twice").as_str()));
    let e = got[3].2.expect("bad timeout");
    assert!(e.starts_with(&format!("{f}:14: --timeout -1")), "{e}");
    assert_eq!((got[4].0, got[4].2), ("e.local:443 inbound", None));
    // Abort keeps the first error as the input error, with the field's own line.
    let e = targets_from_file(&file, &d).expect_err("abort").to_string();
    assert!(e.starts_with(&format!("{f}:8: target 2, field port: ")), "{e}");

    let plain = write(dir.path(), "t.txt", "ok.local\ntwo words\nok2.local:8443\n");
    let entries = read_entries(&plain, &d, BadEntry::Record).expect("plain");
    assert_eq!(entries.len(), 3);
    assert!(entries[1].run.error.as_deref().is_some_and(|e| e.starts_with(&format!("{}:2: ", plain.display()))));
    assert!(entries[0].run.error.is_none() && entries[2].run.error.is_none());
    assert_eq!(entries[2].at, format!("{}:3", plain.display()));
    // A file that is wrong as a whole is still the input error.
    let broken = write(dir.path(), "b.toml", "[[target]\nhost = \"a\"\n");
    assert!(read_entries(&broken, &d, BadEntry::Record).is_err());
    let unknown = write(dir.path(), "u.toml", "[[target]]\nhost = \"a\"\nfavourite = 1\n");
    let entries = read_entries(&unknown, &d, BadEntry::Record).expect("one bad table");
    let e = entries[0].run.error.as_deref().expect("unknown field");
    assert!(e.starts_with(&format!("{}:3: target 1, field favourite: unknown field", unknown.display())), "{e}");
}
