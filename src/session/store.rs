//! Saving and loading session files: written atomically, read size-capped, string lengths bounded,
//! older format versions migrated.

use std::io::Write as _;
use std::path::Path;

use serde_json::Value;

use super::model::{InspectContext, Session, TargetKind, OLDEST_SESSION_SCHEMA_VERSION, SESSION_SCHEMA_VERSION};
use super::redact::redacted;
use crate::error::{Error, Result};

/// A session file larger than this is refused before it is parsed.
pub const MAX_SESSION_BYTES: u64 = crate::fsio::SESSION_CAP.bytes;
/// No string in a session is this long: the longest real ones are certificates in PEM and 4 KiB
/// body previews. A longer one means a corrupt or hostile file.
pub const MAX_STRING_BYTES: usize = 1024 * 1024;

/// Temporary file in the same directory, fsync, rename: a crash or a full disk never leaves a half
/// file, and the previous file survives any failure.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, &mut |out| out.write_all(bytes))
}

/// [`write_atomically`] with the contents written by `write` (buffered), so a large file never
/// has to be held whole in memory.
pub fn write_atomically_with(
    path: &Path,
    write: &mut dyn FnMut(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<()> {
    // Renaming over a symlink would replace the link with a file: write to what it points at.
    let resolved = through_symlink(path)?;
    let path = resolved.as_path();
    // `-o /dev/null`, `-o /dev/stdout`, a FIFO: write through; renaming over them would replace the
    // device with a regular file.
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() {
            return std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|f| {
                    let mut out = std::io::BufWriter::new(f);
                    write(&mut out)?;
                    out.flush()
                })
                .map_err(|e| Error::io(path, e));
        }
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let result = (|| -> std::io::Result<()> {
        let mut tmp = tempfile::Builder::new().prefix(".mtls-doctor-").suffix(".tmp").tempfile_in(dir)?;
        {
            let mut out = std::io::BufWriter::new(tmp.as_file_mut());
            write(&mut out)?;
            out.flush()?;
        }
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        // The rename itself is durable only once the directory is synced.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e| Error::io(path, e))
}

/// The file a symlink points at (resolved fully), or the path itself when it is not a link. A
/// dangling link is refused: creating its target could land anywhere.
fn through_symlink(path: &Path) -> Result<std::path::PathBuf> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::canonicalize(path).map_err(|_| {
            let target = std::fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_default();
            Error::input(
                path.display().to_string(),
                format!("is a symbolic link to {target}, which does not exist; not replacing the link"),
            )
        }),
        _ => Ok(path.to_path_buf()),
    }
}

/// Save a session (redacted) as pretty JSON, atomically, each certificate stored once.
pub fn save(session: &Session, path: &Path) -> Result<()> {
    let safe = super::absolute_inputs(&redacted(session)?);
    write_atomically(path, &super::spool::encode(&safe, path)?)
}

/// Load a session file: size-capped, schema version checked, older versions migrated, unknown fields
/// ignored. Every problem is one line naming the file and where in it.
pub fn load(path: &Path) -> Result<Session> {
    let origin = path.display().to_string();
    // A well-formed current file streams from disk; anything else (and every error) is read whole.
    let mut session = match super::stream::read_streaming(path, crate::fsio::SESSION_CAP.bytes) {
        Some(session) => session,
        None => parse(&crate::fsio::read_capped(path, crate::fsio::SESSION_CAP)?, &origin)?,
    };
    super::resolve_inputs(&mut session, path);
    Ok(session)
}

/// Parse session JSON read from `origin` (a file name, for errors).
pub fn parse(bytes: &[u8], origin: &str) -> Result<Session> {
    let bad = |problem: String| Error::input(origin, problem);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(bad("empty file, not a session".into()));
    }
    // A well-formed file of the current layout is read without a tree of the whole file.
    if let Some(session) = super::stream::parse_streaming(bytes) {
        return Ok(session);
    }
    // A first pass as plain JSON: syntax errors with their line and column, and the checks that
    // must come before the real model is read (version, kind of file, string sizes).
    let value: Value = serde_json::from_slice(bytes).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let Value::Object(top) = &value else {
        return Err(bad("not a session: expected a JSON object at the top".into()));
    };
    if !top.contains_key("targets") && (top.contains_key("probes") || top.contains_key("certificates")) {
        return Err(bad("this is a report (--report json), not a session: save sessions with --save".into()));
    }
    let version = match top.get("schema_version") {
        None => return Err(bad("not a session: it has no schema_version".into())),
        Some(v) => v.as_u64().ok_or_else(|| bad(format!("schema_version: expected a whole number, found {v}")))?,
    };
    if version > u64::from(SESSION_SCHEMA_VERSION) {
        return Err(bad(format!(
            "written by a newer mtls-doctor (session schema version {version}; this one reads versions \
             {OLDEST_SESSION_SCHEMA_VERSION} to {SESSION_SCHEMA_VERSION}): upgrade mtls-doctor to open it"
        )));
    }
    if version < u64::from(OLDEST_SESSION_SCHEMA_VERSION) {
        return Err(bad(format!("schema_version {version} was never a session format")));
    }
    check_strings(&value, &mut String::new()).map_err(bad)?;

    let at_path = |e: serde_path_to_error::Error<serde_json::Error>| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            bad(inner.to_string())
        } else {
            bad(format!("{path}: {inner}"))
        }
    };
    let mut session: Session = if version >= 3 {
        // Certificates stored once: every reference is put back before the model is read.
        let mut value = value;
        resolve_certificates(&mut value).map_err(bad)?;
        serde_path_to_error::deserialize(value).map_err(at_path)?
    } else {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(&mut de).map_err(at_path)?
    };
    if version < 2 {
        migrate_v1(&mut session);
    }
    session.schema_version = SESSION_SCHEMA_VERSION;
    Ok(session)
}

/// Schema 3: the `certificates` object taken out and every `cert_ref` in the targets replaced by
/// the certificate it names.
fn resolve_certificates(value: &mut Value) -> std::result::Result<(), String> {
    let Value::Object(top) = value else { return Ok(()) };
    let table = match top.remove(super::CERTIFICATES) {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(format!("{}: expected an object of certificates by SHA-256", super::CERTIFICATES)),
    };
    match top.get_mut("targets") {
        Some(targets) => super::certs::resolve(targets, &table, &mut String::from("targets")),
        None => Ok(()),
    }
}

/// Version 1 had no inspect context nor command: both follow from what was recorded.
pub(super) fn migrate_v1(session: &mut Session) {
    for t in &mut session.targets {
        if t.kind == TargetKind::Inspect && t.inspect.is_none() {
            if let Some(chain) = &t.inspected {
                let trust = if t.material.ca.is_empty() { "system".to_string() } else { t.material.ca.join(", ") };
                t.inspect = Some(InspectContext { role: chain.role, host: None, trust, origins: Vec::new() });
            }
        }
    }
    if session.command.is_empty() {
        let all_inspect = !session.targets.is_empty() && session.targets.iter().all(|t| t.kind == TargetKind::Inspect);
        session.command = if all_inspect { "inspect" } else { "probe" }.to_string();
    }
}

/// Refuse any string longer than [`MAX_STRING_BYTES`], naming where it is.
pub(super) fn check_strings(v: &Value, path: &mut String) -> std::result::Result<(), String> {
    match v {
        Value::String(s) if s.len() > MAX_STRING_BYTES => Err(format!(
            "{}: a string of {} bytes (at most {} KiB are expected): the file is corrupt or was edited",
            if path.is_empty() { "." } else { path.as_str() },
            s.len(),
            MAX_STRING_BYTES >> 10
        )),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_strings(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(map) => {
            for (k, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                if k.len() > MAX_STRING_BYTES {
                    return Err(format!("{path}: a key of {} bytes: the file is corrupt", k.len()));
                }
                check_strings(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
