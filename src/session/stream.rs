//! Reading a schema-3 session without building one JSON tree of the whole file: the top-level
//! object is walked once, the `certificates` table is kept as JSON (each distinct certificate
//! once), and each target is read as JSON on its own, checked, its references put back and turned
//! into the model before the next one is read. Peak memory is the file's bytes, the model being
//! built, the certificate table and one target's tree, instead of a tree of the whole file (about
//! six times the file's size) plus the model.
//!
//! This is the fast path only. Whatever it does not expect (an older version, `targets` before
//! `certificates` or `schema_version`, a report, any error) makes it give up, and the caller reads
//! the file the whole-tree way, which has the full checks and the exact error wording.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::model::{Session, TargetRun, OLDEST_SESSION_SCHEMA_VERSION, SESSION_SCHEMA_VERSION};
use super::store::check_strings;

/// The session, or `None` when the whole-tree reader must decide (see the module text).
pub(super) fn parse_streaming(bytes: &[u8]) -> Option<Session> {
    read(serde_json::Deserializer::from_slice(bytes))
}

/// [`parse_streaming`] from a file, read through a buffer: the file's bytes are never held whole,
/// so loading costs the model, not the model plus the file. At most `cap` bytes are read.
pub(super) fn read_streaming(path: &std::path::Path, cap: u64) -> Option<Session> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > cap {
        return None;
    }
    read(serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 16, file.take(cap))))
}

fn read<'de, R: serde_json::de::Read<'de>>(mut de: serde_json::Deserializer<R>) -> Option<Session> {
    let top = de.deserialize_map(Top).ok()?;
    de.end().ok()?;
    let (mut header, targets) = (top.header, top.targets?);
    let mut path = String::new();
    check_strings(&Value::Object(header.clone()), &mut path).ok()?;
    header.insert("targets".into(), Value::Array(Vec::new()));
    let mut session: Session = serde_json::from_value(Value::Object(header)).ok()?;
    session.targets = targets;
    session.schema_version = SESSION_SCHEMA_VERSION;
    Some(session)
}

/// The top-level fields other than the targets and certificates, and the targets once read.
struct Parsed {
    header: Map<String, Value>,
    targets: Option<Vec<TargetRun>>,
}

struct Top;

impl<'de> Visitor<'de> for Top {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a session object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let give_up = || serde::de::Error::custom("not the streaming path");
        let mut header = Map::new();
        let mut table: Option<Map<String, Value>> = None;
        let mut targets = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                super::CERTIFICATES if table.is_some() => return Err(give_up()),
                "targets" if targets.is_some() => return Err(give_up()),
                super::CERTIFICATES => match map.next_value::<Value>()? {
                    Value::Object(m) => table = Some(m),
                    Value::Null => table = Some(Map::new()),
                    _ => return Err(give_up()),
                },
                "targets" => {
                    let version = header.get("schema_version").and_then(Value::as_u64).ok_or_else(give_up)?;
                    let readable = u64::from(OLDEST_SESSION_SCHEMA_VERSION).max(3)..=u64::from(SESSION_SCHEMA_VERSION);
                    let table = table.as_ref().filter(|_| readable.contains(&version)).ok_or_else(give_up)?;
                    let mut path = String::from(super::CERTIFICATES);
                    check_strings(&Value::Object(table.clone()), &mut path).map_err(|_| give_up())?;
                    targets = Some(map.next_value_seed(Targets { table })?);
                }
                _ if header.contains_key(&key) => return Err(give_up()),
                _ => {
                    let value = map.next_value::<Value>()?;
                    header.insert(key, value);
                }
            }
        }
        Ok(Parsed { header, targets })
    }
}

/// The `targets` array, one target at a time.
struct Targets<'t> {
    table: &'t Map<String, Value>,
}

impl<'de> DeserializeSeed<'de> for Targets<'_> {
    type Value = Vec<TargetRun>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Targets<'_> {
    type Value = Vec<TargetRun>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of targets")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let give_up = |_| serde::de::Error::custom("not the streaming path");
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(mut value) = seq.next_element::<Value>()? {
            let mut path = format!("targets[{}]", out.len());
            check_strings(&value, &mut path).map_err(give_up)?;
            super::certs::resolve(&mut value, self.table, &mut path).map_err(give_up)?;
            out.push(serde_json::from_value::<TargetRun>(value).map_err(|e| give_up(e.to_string()))?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session_text() -> String {
        let runs = (0..3).map(|i| TargetRun { name: format!("target {i}"), ..Default::default() }).collect();
        let bytes = super::super::spool::encode(&Session::new(runs), std::path::Path::new("s.json")).expect("encode");
        String::from_utf8(bytes).expect("utf8")
    }

    #[test]
    fn a_written_session_is_read_streaming_and_equals_the_whole_tree_reading() {
        let text = session_text();
        let streamed = parse_streaming(text.as_bytes()).expect("the streaming path takes a written session");
        assert_eq!(streamed.targets.len(), 3);
        assert_eq!(streamed.targets[2].name, "target 2");
        // The whole-tree reader, forced by putting the targets first, reads the same session.
        let mut v: Value = serde_json::from_str(&text).expect("json");
        let targets = v.as_object_mut().expect("object").remove("targets").expect("targets");
        let rest = serde_json::to_string(&v).expect("json");
        let reordered = format!("{{\"targets\":{},{}", serde_json::to_string(&targets).expect("json"), &rest[1..]);
        assert!(parse_streaming(reordered.as_bytes()).is_none(), "targets before certificates: whole-tree path");
        let whole = super::super::store::parse(reordered.as_bytes(), "test").expect("whole-tree path");
        assert_eq!(serde_json::to_value(&whole).ok(), serde_json::to_value(&streamed).ok());
    }

    #[test]
    fn anything_unexpected_is_left_to_the_whole_tree_reader() {
        let text = session_text();
        for broken in [
            text.replace("\"schema_version\": 3", "\"schema_version\": 2"),
            text.replace("\"schema_version\": 3", "\"schema_version\": 99"),
            text.replacen("\"name\":\"target 1\"", "\"name\":7", 1),
            text[..text.len() / 2].to_string(),
            text.replacen("\"name\":\"target 1\"", &format!("\"name\":\"{}\"", "x".repeat(2 << 20)), 1),
        ] {
            assert_ne!(broken, text, "the edit applied");
            assert!(parse_streaming(broken.as_bytes()).is_none());
        }
    }
}
