//! Writing session files (schema 3, certificates stored once: see `certs`), whole or as a sweep
//! runs. A sweep's targets finish in any order and the file lists them in the order given, so each
//! finished target is written (redacted, its certificates replaced by references) to an unnamed
//! temporary file next to the session and forgotten; what stays in memory is its offset and each
//! distinct certificate once. The session file is then written from that file, atomically.

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom, Write};
use std::path::Path;

use serde_json::{Map, Value};

use super::certs::{CertTable, CERTIFICATES};
use super::model::{Session, TargetRun};
use super::paths::absolute_target_inputs;
use crate::error::{Error, Result};

/// Finished targets of a sweep, kept on disk until the session is written.
pub struct Spool {
    file: File,
    /// Where each target's JSON is in `file`, by its index among the targets given.
    at: Vec<Option<(u64, usize)>>,
    end: u64,
    certs: CertTable,
    /// The first write that failed: the session is not written.
    failed: Option<String>,
}

impl Spool {
    /// A spool for the session to be saved at `path` (its temporary file is in the same directory).
    pub fn new(path: &Path) -> Result<Self> {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        // `--save /dev/null` and the like: the directory may take no files; the system's then.
        let file = tempfile::tempfile_in(dir).or_else(|_| tempfile::tempfile()).map_err(|e| Error::io(path, e))?;
        Ok(Spool { file, at: Vec::new(), end: 0, certs: CertTable::default(), failed: None })
    }

    /// Keep the finished target `index` (already redacted).
    pub fn add(&mut self, index: usize, run: &TargetRun) {
        if self.failed.is_some() {
            return;
        }
        let mut run = run.clone();
        absolute_target_inputs(&mut run);
        let text = match target_json(&run, &mut self.certs) {
            Ok(t) => t,
            Err(e) => {
                self.failed = Some(e);
                return;
            }
        };
        if let Err(e) = self.file.write_all(text.as_bytes()) {
            self.failed = Some(format!("cannot write the session's temporary file ({e})"));
            return;
        }
        if self.at.len() <= index {
            self.at.resize(index + 1, None);
        }
        self.at[index] = Some((self.end, text.len()));
        self.end += text.len() as u64;
    }

    /// Write the session (`header`'s fields, the certificates, then the targets in the order
    /// given) to `path`, atomically.
    pub fn finish(mut self, header: &Session, path: &Path) -> Result<()> {
        if let Some(e) = self.failed.take() {
            return Err(Error::input(path.display().to_string(), e));
        }
        let header = header_map(header, path)?;
        let Spool { mut file, at, certs, .. } = self;
        let certs = certs.into_value();
        super::store::write_atomically_with(path, &mut |out| {
            let mut targets = at.iter().flatten().map(|&(offset, len)| {
                let mut buf = vec![0u8; len];
                file.seek(SeekFrom::Start(offset))?;
                file.read_exact(&mut buf)?;
                String::from_utf8(buf).map_err(std::io::Error::other)
            });
            write_session(out, &header, &certs, &mut targets)
        })
    }
}

/// A whole session as the file's text (schema 3).
pub fn encode(session: &Session, origin: &Path) -> Result<Vec<u8>> {
    let header = header_map(session, origin)?;
    let mut certs = CertTable::default();
    let mut texts = Vec::with_capacity(session.targets.len());
    for t in &session.targets {
        texts.push(target_json(t, &mut certs).map_err(|e| Error::input(origin.display().to_string(), e))?);
    }
    let mut out = Vec::new();
    write_session(&mut out, &header, &certs.into_value(), &mut texts.into_iter().map(Ok))
        .map_err(|e| Error::io(origin, e))?;
    Ok(out)
}

/// One target as compact JSON on one line, its certificates moved to `certs`. One target a line
/// (rather than pretty) makes a session about a third smaller (docs/PERFORMANCE.md) and lets
/// line tools (`grep`, `wc -l`, `diff`) work per target.
fn target_json(run: &TargetRun, certs: &mut CertTable) -> std::result::Result<String, String> {
    let mut v = serde_json::to_value(run).map_err(|e| format!("cannot serialize the session ({e})"))?;
    certs.extract(&mut v);
    let text = serde_json::to_string(&v).map_err(|e| format!("cannot serialize the session ({e})"))?;
    Ok(crate::text::escape_json_text(text))
}

/// The session's top-level fields, with the targets and certificates left to the writer.
fn header_map(session: &Session, origin: &Path) -> Result<Map<String, Value>> {
    let empty = Session {
        schema_version: session.schema_version,
        tool_version: session.tool_version.clone(),
        created_at: session.created_at.clone(),
        command: session.command.clone(),
        replayed_from: session.replayed_from.clone(),
        targets: Vec::new(),
        watch: session.watch.clone(),
    };
    let bad = |e: serde_json::Error| {
        Error::input(origin.display().to_string(), format!("cannot serialize the session ({e})"))
    };
    match serde_json::to_value(&empty).map_err(bad)? {
        Value::Object(mut m) => {
            m.insert("schema_version".into(), Value::from(super::model::SESSION_SCHEMA_VERSION));
            m.insert(CERTIFICATES.into(), Value::Null);
            Ok(m)
        }
        _ => Err(Error::input(origin.display().to_string(), "cannot serialize the session")),
    }
}

/// `{ fields…, "certificates": {…}, "targets": [ … ] }` as serde_json's pretty printer lays it
/// out, except that each target is its own compact text on one line.
fn write_session(
    out: &mut dyn Write,
    header: &Map<String, Value>,
    certs: &Value,
    targets: &mut dyn Iterator<Item = std::io::Result<String>>,
) -> std::io::Result<()> {
    let pretty = |v: &Value, indent: &str| -> std::io::Result<String> {
        let text = serde_json::to_string_pretty(v).map_err(std::io::Error::other)?;
        Ok(crate::text::escape_json_text(text).replace('\n', &format!("\n{indent}")))
    };
    out.write_all(b"{\n")?;
    for (n, (key, value)) in header.iter().enumerate() {
        out.write_all(format!("  {}: ", Value::String(key.clone())).as_bytes())?;
        if key == "targets" {
            let mut first = true;
            for t in &mut *targets {
                out.write_all(if first { b"[\n    " } else { b",\n    " })?;
                out.write_all(t?.as_bytes())?;
                first = false;
            }
            out.write_all(if first { b"[]" } else { b"\n  ]" })?;
        } else if key == CERTIFICATES {
            out.write_all(pretty(certs, "  ")?.as_bytes())?;
        } else {
            out.write_all(pretty(value, "  ")?.as_bytes())?;
        }
        out.write_all(if n + 1 < header.len() { b",\n" } else { b"\n" })?;
    }
    out.write_all(b"}\n")
}
