//! Named values from an export (`az apim nv list -o json`, or the ARM list `{ "value": [ … ] }`):
//! each entry's display name (and name) with its value. Secret and Key Vault entries carry no
//! value in such an export, so they stay unresolved and the policy evaluation says so.

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

/// The (name, value) pairs an export holds, under both the display name policies write in
/// `{{…}}` and the entity name. Entries without a value are skipped.
pub(super) fn load_named_values_export(path: &Path) -> Result<Vec<(String, String)>> {
    let origin = path.display().to_string();
    let text = crate::fsio::read_text_capped(path, crate::fsio::AZURE_EXPORT_CAP)?;
    let json: Value = serde_json::from_str(&text)
        .map_err(|e| Error::input(&origin, format!("not JSON ({e}); expected the output of az apim nv list")))?;
    let items = match &json {
        Value::Array(a) => a.as_slice(),
        Value::Object(o) => match o.get("value") {
            Some(Value::Array(a)) => a.as_slice(),
            _ => {
                return Err(Error::input(
                    &origin,
                    "expected a list of named values (az apim nv list) or {\"value\": […]}",
                ))
            }
        },
        _ => return Err(Error::input(&origin, "expected a list of named values (az apim nv list)")),
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        // az flattens the entity; the ARM REST shape nests it under "properties".
        let props = item.get("properties").unwrap_or(item);
        let field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let display = field(props, "displayName").or_else(|| field(item, "displayName"));
        let name = field(item, "name");
        if display.is_none() && name.is_none() {
            return Err(Error::input(&origin, format!("entry {} has neither displayName nor name", i + 1)));
        }
        let Some(value) = field(props, "value") else { continue };
        for n in [display, name].into_iter().flatten() {
            if !out.iter().any(|(m, _): &(String, String)| *m == n) {
                out.push((n, value.clone()));
            }
        }
    }
    Ok(out)
}
