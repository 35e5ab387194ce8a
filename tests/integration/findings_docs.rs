//! Every finding id has a catalog entry and is documented in docs/findings.md, the document names no
//! id that does not exist, and each id's string form reads back as the same id.

use mtls_doctor::diagnose::catalog::{self, CATALOG};
use mtls_doctor::diagnose::{Finding, FindingId};

#[test]
fn every_catalog_id_is_documented_and_nothing_else() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/findings.md")).expect("docs/findings.md");
    let documented: Vec<&str> = doc.lines().filter_map(|l| l.strip_prefix("### ")).map(str::trim).collect();
    for &id in FindingId::ALL {
        assert!(documented.contains(&id.as_str()), "{id} is not documented in docs/findings.md");
        assert!(
            id.as_str().chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{id} is not kebab-case"
        );
    }
    for d in &documented {
        assert!(d.parse::<FindingId>().is_ok(), "docs/findings.md documents unknown id {d}");
    }
    let mut ids: Vec<&str> = CATALOG.iter().map(|e| e.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), CATALOG.len(), "duplicate ids in the catalog");
}

#[test]
fn every_finding_id_has_its_catalog_entry_and_reads_back_from_its_string() {
    assert_eq!(CATALOG.len(), FindingId::ALL.len());
    for &id in FindingId::ALL {
        assert_eq!(catalog::entry(id).id, id, "catalog entry for {id}");
        assert_eq!(catalog::finding(id).id, id);
        assert_eq!(id.as_str().parse::<FindingId>(), Ok(id));
        assert_eq!(id.to_string(), id.as_str());
        // Serialized as the bare kebab string, the form reports and saved sessions carry.
        let json = serde_json::to_string(&id).expect("serialize");
        assert_eq!(json, format!("\"{}\"", id.as_str()));
        assert_eq!(serde_json::from_str::<FindingId>(&json).expect("deserialize"), id);
    }
    assert!("cert-expird".parse::<FindingId>().is_err(), "a typo is not an id");
    let err = serde_json::from_str::<FindingId>("\"cert-expird\"").expect_err("unknown id").to_string();
    assert!(err.starts_with("unknown finding id \"cert-expird\""), "{err}");
    assert!(err.len() < 80, "one short line: {err}");
}

#[test]
fn findings_saved_with_string_ids_still_load() {
    // The shape sessions and JSON reports have carried since ids were strings.
    let saved = r#"{
        "id": "client-chain-untrusted", "severity": "error", "symptom": "403", "title": "t", "cause": "c",
        "evidence": ["e"], "fix": ["f"], "snippet": null, "guide": "g", "subject": "s",
        "related": ["azure-ca-not-uploaded", "gateway-502"]
    }"#;
    let f: Finding = serde_json::from_str(saved).expect("a saved finding loads");
    assert_eq!(f.id, FindingId::ClientChainUntrusted);
    assert_eq!(f.related, [FindingId::AzureCaNotUploaded, FindingId::Gateway502]);
    let back: serde_json::Value = serde_json::to_value(&f).expect("serialize");
    let original: serde_json::Value = serde_json::from_str(saved).expect("json");
    assert_eq!(back, original, "written back exactly as it was read");
}
