//! Every finding id in the catalog is documented in docs/findings.md, and the document names no id
//! that does not exist.

use mtls_doctor::diagnose::catalog::CATALOG;

#[test]
fn every_catalog_id_is_documented_and_nothing_else() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/findings.md")).expect("docs/findings.md");
    let documented: Vec<&str> = doc.lines().filter_map(|l| l.strip_prefix("### ")).map(str::trim).collect();
    for e in CATALOG {
        assert!(documented.contains(&e.id), "{} is not documented in docs/findings.md", e.id);
        assert!(
            e.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{} is not kebab-case",
            e.id
        );
    }
    for d in &documented {
        assert!(CATALOG.iter().any(|e| e.id == *d), "docs/findings.md documents unknown id {d}");
    }
    let mut ids: Vec<&str> = CATALOG.iter().map(|e| e.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), CATALOG.len(), "duplicate ids in the catalog");
}
