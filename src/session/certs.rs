//! Certificates stored once per session file (session schema 3). Every certificate object in the
//! targets (server and client chains, inspected chains, uploaded CAs …) is written once, in the
//! top-level `certificates` object keyed by its `thumbprint_sha256` (the SHA-256 of its DER), and
//! each place it appeared holds `{"cert_ref": "<SHA-256>"}` instead. Loading puts every reference
//! back, so the model never sees one. Two objects with one thumbprint that differ in any field (a
//! `days_left` counted on either side of midnight) are not merged: the second stays inline.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The key of a reference object.
pub const CERT_REF: &str = "cert_ref";
/// The top-level object of a session that holds the certificates.
pub const CERTIFICATES: &str = "certificates";

/// The certificates of a session being written, by SHA-256.
#[derive(Debug, Default)]
pub struct CertTable {
    certs: BTreeMap<String, Value>,
}

impl CertTable {
    /// Replace every certificate object inside `v` by a reference, keeping one copy here.
    pub fn extract(&mut self, v: &mut Value) {
        match v {
            Value::Object(map) => {
                if let Some(sha) = thumbprint(map) {
                    match self.certs.get(&sha) {
                        Some(known) if known != v => {}
                        Some(_) => *v = reference(sha),
                        None => {
                            let cert = std::mem::replace(v, reference(sha.clone()));
                            self.certs.insert(sha, cert);
                        }
                    }
                    return;
                }
                map.values_mut().for_each(|item| self.extract(item));
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.extract(item)),
            _ => {}
        }
    }

    /// How many distinct certificates are held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.certs.len()
    }

    /// The `certificates` object.
    pub fn into_value(self) -> Value {
        Value::Object(self.certs.into_iter().collect())
    }
}

fn reference(sha: String) -> Value {
    let mut m = Map::new();
    m.insert(CERT_REF.to_string(), Value::String(sha));
    Value::Object(m)
}

/// The SHA-256 thumbprint of an object that is a certificate (as `CertInfo` serializes).
fn thumbprint(map: &Map<String, Value>) -> Option<String> {
    let sha = map.get("thumbprint_sha256")?.as_str()?;
    let is_cert = sha.len() == 64
        && sha.bytes().all(|b| b.is_ascii_hexdigit())
        && ["pem", "subject", "serial", "thumbprint_sha1"].iter().all(|k| map.get(*k).is_some_and(Value::is_string));
    is_cert.then(|| sha.to_string())
}

/// Put every `{"cert_ref": …}` inside `v` back as the certificate `table` holds. A reference to a
/// certificate that is not there is the error, naming where it is.
pub fn resolve(v: &mut Value, table: &Map<String, Value>, path: &mut String) -> Result<(), String> {
    match v {
        Value::Object(map) => {
            if map.len() == 1 {
                if let Some(r) = map.get(CERT_REF) {
                    let sha = r.as_str().ok_or_else(|| format!("{path}.{CERT_REF}: expected a SHA-256 string"))?;
                    let cert = table.get(sha).ok_or_else(|| {
                        format!(
                            "{path}: refers to certificate {} that is not in `{CERTIFICATES}`",
                            crate::text::clean(sha)
                        )
                    })?;
                    *v = cert.clone();
                    return Ok(());
                }
            }
            for (k, item) in map.iter_mut() {
                let len = path.len();
                path.push('.');
                path.push_str(k);
                resolve(item, table, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                resolve(item, table, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(sha: char, days: i64) -> Value {
        serde_json::json!({"subject": "CN=a", "serial": "01", "thumbprint_sha1": "AA",
            "thumbprint_sha256": sha.to_string().repeat(64), "pem": "-----BEGIN…", "days_left": days})
    }

    #[test]
    fn repeated_certificates_are_stored_once_and_come_back_whole() {
        let mut targets = serde_json::json!([
            {"probe": {"server_chain": [cert('A', 5), cert('B', 9)], "client_chain": [cert('C', 1)]}},
            {"probe": {"server_chain": [cert('A', 5), cert('B', 9)], "client_chain": [cert('C', 1)]}},
            {"probe": {"server_chain": [cert('A', 4)]}}
        ]);
        let original = targets.clone();
        let mut table = CertTable::default();
        table.extract(&mut targets);
        assert_eq!(table.len(), 3);
        assert_eq!(targets[1]["probe"]["server_chain"][0], reference("A".repeat(64)));
        // Same thumbprint, other content: kept inline, nothing lost.
        assert_eq!(targets[2]["probe"]["server_chain"][0], cert('A', 4));
        let Value::Object(t) = table.into_value() else { panic!("object") };
        resolve(&mut targets, &t, &mut String::new()).expect("resolves");
        assert_eq!(targets, original);

        let mut dangling = serde_json::json!({"chain": [reference("F".repeat(64))]});
        let e = resolve(&mut dangling, &t, &mut String::from("targets[0]")).expect_err("dangling");
        assert!(e.starts_with("targets[0].chain[0]: refers to certificate FFFF"), "{e}");
    }
}
