//! Files in a directory shown by name instead of by path: the demo lab's material lives in a
//! temporary directory whose random path means nothing to a reader, so reports say `lab:policy.xml`.

use std::path::Path;

use serde_json::Value;

use super::{Session, TargetRun};
use crate::error::{Error, Result};

/// The fields of a target that are its inputs (what a re-run reads files from).
const INPUT_FIELDS: &[&str] = &["options", "files", "material"];

/// Every mention of a file under `dir`, in every target, becomes `{label}:{name}`.
pub fn relabel_dir(session: &Session, dir: &Path, label: &str) -> Result<Session> {
    let mut out = session.clone();
    for target in &mut out.targets {
        *target = relabel_run(target, dir, label)?;
    }
    Ok(out)
}

/// One target with every mention of a file under `dir` (inputs, observations, findings) named
/// `{label}:{name}`: what a re-run in the demo's UI shows.
pub fn relabel_run(run: &TargetRun, dir: &Path, label: &str) -> Result<TargetRun> {
    let prefix = dir.display().to_string();
    if prefix.is_empty() {
        return Ok(run.clone());
    }
    let mut value =
        serde_json::to_value(run).map_err(|e| Error::input(&run.name, format!("cannot be serialized ({e})")))?;
    relabel(&mut value, &prefix, label);
    serde_json::from_value(value).map_err(|e| Error::input(&run.name, format!("cannot be relabelled ({e})")))
}

/// The inverse for a target's inputs only: `{label}:{name}` becomes the file `dir/name` again,
/// so a target shown (and edited) with lab names can be run. Other strings are kept as given.
pub fn unlabel_inputs(run: &TargetRun, dir: &Path, label: &str) -> Result<TargetRun> {
    let mut value =
        serde_json::to_value(run).map_err(|e| Error::input(&run.name, format!("cannot be serialized ({e})")))?;
    let tag = format!("{label}:");
    if let Some(fields) = value.as_object_mut() {
        for (key, field) in fields.iter_mut() {
            if INPUT_FIELDS.contains(&key.as_str()) {
                unlabel(field, &tag, dir);
            }
        }
    }
    serde_json::from_value(value).map_err(|e| Error::input(&run.name, format!("cannot be read back ({e})")))
}

fn unlabel(v: &mut Value, tag: &str, dir: &Path) {
    match v {
        Value::String(s) => {
            // Only a bare file name: `lab:../x` or `lab:/etc/x` never leaves the directory.
            if let Some(name) = s.strip_prefix(tag) {
                let plain = Path::new(name).components().count() == 1
                    && matches!(Path::new(name).components().next(), Some(std::path::Component::Normal(_)));
                if plain {
                    *s = dir.join(name).display().to_string();
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| unlabel(i, tag, dir)),
        Value::Object(map) => map.values_mut().for_each(|i| unlabel(i, tag, dir)),
        _ => {}
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::MaterialRefs;

    #[test]
    fn a_run_relabels_everywhere_and_unlabels_only_plain_names_in_its_inputs() {
        let dir = Path::new("/tmp/mtls-doctor-demoXYZ");
        let run = TargetRun {
            name: "t".into(),
            files: vec!["/tmp/mtls-doctor-demoXYZ/leaf.pem".into()],
            material: MaterialRefs { cert: Some("/tmp/mtls-doctor-demoXYZ/client.pem".into()), ..Default::default() },
            error: Some("cannot read /tmp/mtls-doctor-demoXYZ/client.pem".into()),
            ..Default::default()
        };
        let shown = relabel_run(&run, dir, "lab").expect("relabel");
        assert_eq!(shown.files, ["lab:leaf.pem"]);
        assert_eq!(shown.material.cert.as_deref(), Some("lab:client.pem"));
        assert_eq!(shown.error.as_deref(), Some("cannot read lab:client.pem"));

        let mut edited = shown.clone();
        edited.files.push("lab:../../etc/passwd".into());
        edited.files.push("other.pem".into());
        let back = unlabel_inputs(&edited, dir, "lab").expect("unlabel");
        assert_eq!(back.files, ["/tmp/mtls-doctor-demoXYZ/leaf.pem", "lab:../../etc/passwd", "other.pem"]);
        assert_eq!(back.material.cert, run.material.cert);
        assert_eq!(back.error, shown.error, "only inputs are read back");
    }
}
