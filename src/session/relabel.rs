//! Files in a directory shown by name instead of by path: the demo lab's material lives in a
//! temporary directory whose random path means nothing to a reader, so reports say `lab:policy.xml`.

use std::path::Path;

use serde_json::Value;

use super::Session;
use crate::error::{Error, Result};

/// The fields of a target that are its inputs (what a re-run reads files from).
const INPUT_FIELDS: &[&str] = &["options", "files", "material"];

/// Every mention of a file under `dir` becomes `{label}:{name}`; with `keep_inputs`, a target's
/// inputs keep the real paths so the files can still be read while the directory exists.
pub fn relabel_dir(session: &Session, dir: &Path, label: &str, keep_inputs: bool) -> Result<Session> {
    let prefix = dir.display().to_string();
    if prefix.is_empty() {
        return Ok(session.clone());
    }
    let mut value =
        serde_json::to_value(session).map_err(|e| Error::input("session", format!("cannot be serialized ({e})")))?;
    if let Some(targets) = value.get_mut("targets").and_then(Value::as_array_mut) {
        for target in targets {
            let Some(fields) = target.as_object_mut() else { continue };
            for (key, field) in fields.iter_mut() {
                if !(keep_inputs && INPUT_FIELDS.contains(&key.as_str())) {
                    relabel(field, &prefix, label);
                }
            }
        }
    }
    serde_json::from_value(value).map_err(|e| Error::input("session", format!("cannot be relabelled ({e})")))
}

fn relabel(v: &mut Value, prefix: &str, label: &str) {
    match v {
        Value::String(s) if s.contains(prefix) => {
            let sep = std::path::MAIN_SEPARATOR;
            *s = s.replace(&format!("{prefix}{sep}"), &format!("{label}:")).replace(prefix, label);
        }
        Value::Array(items) => items.iter_mut().for_each(|i| relabel(i, prefix, label)),
        Value::Object(map) => map.values_mut().for_each(|i| relabel(i, prefix, label)),
        _ => {}
    }
}
