//! Whether redaction would change anything in a value, found without copying it. Redaction works
//! on the value's JSON tree (`serde_json::to_value`, [`super::redact::scrub`], back again), which
//! copies every string of a target twice; in a sweep almost no target holds a secret, so the
//! target is first walked through its `Serialize` form, looking at what `scrub` would look at,
//! and only a target in which something would change takes the tree path.
//!
//! The walk answers "untouched" only when it is sure. Any string `scrub_string` would rewrite; a
//! `[name, value]` pair, a `{name, value}` object or a key naming a secret header whose value is
//! not the `[redacted]` placeholder already; and anything the JSON tree could not hold as the
//! walk sees it (a non-finite float, a 128-bit integer, a map key that is not a string): each
//! sends the value down the tree path, which decides as before.

use std::fmt;

use serde::ser::{self, Serialize};

use super::model::REDACTED;
use super::redact::scrub_string;
use crate::probe::is_secret_header;

/// True when redacting `value` (with `secrets`) would leave its JSON form as it is.
pub(super) fn untouched<T: Serialize + ?Sized>(value: &T, secrets: &[String]) -> bool {
    value.serialize(Walk { secrets }).is_ok()
}

/// What the walk learnt of a value, as far as `scrub` looks at it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A string that names a secret header (`Authorization`…).
    SecretName,
    /// The placeholder a redacted value already is.
    Redacted,
    /// Any other string.
    Str,
    Other,
}

impl Shape {
    /// A string that `scrub` would set to the placeholder if it sat where a secret goes.
    fn replaceable(self) -> bool {
        matches!(self, Shape::SecretName | Shape::Str)
    }
}

/// Redaction would change something here (or the walk cannot tell): take the tree path.
#[derive(Debug)]
struct Touched;

impl fmt::Display for Touched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("redaction would change this value")
    }
}

impl std::error::Error for Touched {}

impl ser::Error for Touched {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Touched
    }
}

#[derive(Clone, Copy)]
struct Walk<'a> {
    secrets: &'a [String],
}

impl Walk<'_> {
    fn string(self, s: &str) -> Result<Shape, Touched> {
        if scrub_string(s, self.secrets).is_some() {
            return Err(Touched);
        }
        Ok(if s == REDACTED {
            Shape::Redacted
        } else if is_secret_header(s) {
            Shape::SecretName
        } else {
            Shape::Str
        })
    }
}

/// An object key, as `scrub` reads it: the `value` of an object whose `name` is a secret header
/// is replaced (whatever it is), and so is the string value of a key that names a secret header.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Name,
    Value,
    Secret,
    Plain,
}

impl Key {
    fn of(key: &str) -> Key {
        if key == "name" {
            Key::Name
        } else if key == "value" {
            Key::Value
        } else if is_secret_header(key) {
            Key::Secret
        } else {
            Key::Plain
        }
    }
}

impl<'a> ser::Serializer for Walk<'a> {
    type Ok = Shape;
    type Error = Touched;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Seq<'a>;
    type SerializeMap = Map<'a>;
    type SerializeStruct = Map<'a>;
    type SerializeStructVariant = Map<'a>;

    fn serialize_bool(self, _: bool) -> Result<Shape, Touched> {
        Ok(Shape::Other)
    }
    fn serialize_i8(self, _: i8) -> Result<Shape, Touched> {
        Ok(Shape::Other)
    }
    fn serialize_i16(self, _: i16) -> Result<Shape, Touched> {
        Ok(Shape::Other)
    }
    fn serialize_i32(self, _: i32) -> Result<Shape, Touched> {
        Ok(Shape::Other)
    }
    fn serialize_i64(self, _: i64) -> Result<Shape, Touched> {
        Ok(Shape::Other)
    }
    fn serialize_u8(self, _: u8) -> Result<Shape, Touched> {
        Ok(Shape::Other)
    }
    fn serialize_u16(self, _: u16) -> Result<Shape, Touched> {
        Ok(Shape::Other)
    }
    fn serialize_u32(self, _: u32) -> Result<Shape, Touched> {
        Ok(Shape::Other)
    }
    fn serialize_u64(self, _: u64) -> Result<Shape, Touched> {
        Ok(Shape::Other)
    }
    fn serialize_i128(self, _: i128) -> Result<Shape, Touched> {
        Err(Touched)
    }
    fn serialize_u128(self, _: u128) -> Result<Shape, Touched> {
        Err(Touched)
    }
    fn serialize_f32(self, v: f32) -> Result<Shape, Touched> {
        if v.is_finite() {
            Ok(Shape::Other)
        } else {
            Err(Touched)
        }
    }
    fn serialize_f64(self, v: f64) -> Result<Shape, Touched> {
        if v.is_finite() {
            Ok(Shape::Other)
        } else {
            Err(Touched)
        }
    }
    fn serialize_char(self, v: char) -> Result<Shape, Touched> {
        self.string(v.encode_utf8(&mut [0u8; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<Shape, Touched> {
        self.string(v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Shape, Touched> {
        // An array of numbers in the tree.
        Ok(Shape::Other)
    }
    fn serialize_none(self) -> Result<Shape, Touched> {
        Ok(Shape::Other)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Shape, Touched> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Shape, Touched> {
        Ok(Shape::Other)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Shape, Touched> {
        Ok(Shape::Other)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<Shape, Touched> {
        self.string(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<Shape, Touched> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Shape, Touched> {
        // `{variant: value}` in the tree.
        let mut object = Map::new(self);
        object.entry(Key::of(variant), value)?;
        object.done()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'a>, Touched> {
        Ok(Seq::new(self))
    }
    fn serialize_tuple(self, _: usize) -> Result<Seq<'a>, Touched> {
        Ok(Seq::new(self))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Seq<'a>, Touched> {
        Ok(Seq::new(self))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Seq<'a>, Touched> {
        // `{variant: [...]}`: an array under the one key, which `scrub` only walks into.
        let _ = variant;
        Ok(Seq::new(self))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Map<'a>, Touched> {
        Ok(Map::new(self))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Map<'a>, Touched> {
        Ok(Map::new(self))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Map<'a>, Touched> {
        // `{variant: {fields}}`: an object under the one key, which `scrub` only walks into.
        let _ = variant;
        Ok(Map::new(self))
    }
}

/// An array: a `[secret header name, string]` pair has its value replaced.
struct Seq<'a> {
    walk: Walk<'a>,
    count: usize,
    first_names_secret: bool,
    second_replaceable: bool,
}

impl<'a> Seq<'a> {
    fn new(walk: Walk<'a>) -> Self {
        Seq { walk, count: 0, first_names_secret: false, second_replaceable: false }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Touched> {
        let shape = value.serialize(self.walk)?;
        match self.count {
            0 => self.first_names_secret = shape == Shape::SecretName,
            1 => self.second_replaceable = shape.replaceable(),
            _ => {}
        }
        self.count += 1;
        Ok(())
    }

    fn done(self) -> Result<Shape, Touched> {
        if self.count == 2 && self.first_names_secret && self.second_replaceable {
            return Err(Touched);
        }
        Ok(Shape::Other)
    }
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = Shape;
    type Error = Touched;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Touched> {
        self.element(value)
    }
    fn end(self) -> Result<Shape, Touched> {
        self.done()
    }
}

impl ser::SerializeTuple for Seq<'_> {
    type Ok = Shape;
    type Error = Touched;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Touched> {
        self.element(value)
    }
    fn end(self) -> Result<Shape, Touched> {
        self.done()
    }
}

impl ser::SerializeTupleStruct for Seq<'_> {
    type Ok = Shape;
    type Error = Touched;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Touched> {
        self.element(value)
    }
    fn end(self) -> Result<Shape, Touched> {
        self.done()
    }
}

impl ser::SerializeTupleVariant for Seq<'_> {
    type Ok = Shape;
    type Error = Touched;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Touched> {
        self.element(value)
    }
    fn end(self) -> Result<Shape, Touched> {
        self.done()
    }
}

/// An object (a map, a struct, a struct variant's fields).
struct Map<'a> {
    walk: Walk<'a>,
    /// The key of the value to come (maps give keys and values apart).
    pending: Option<Key>,
    /// Its `name` is a secret header's.
    names_secret: bool,
    /// It has a `value` that is not the placeholder.
    value_to_replace: bool,
}

impl<'a> Map<'a> {
    fn new(walk: Walk<'a>) -> Self {
        Map { walk, pending: None, names_secret: false, value_to_replace: false }
    }

    fn entry<T: Serialize + ?Sized>(&mut self, key: Key, value: &T) -> Result<(), Touched> {
        let shape = value.serialize(self.walk)?;
        match key {
            Key::Name => self.names_secret |= shape == Shape::SecretName,
            Key::Value => self.value_to_replace |= shape != Shape::Redacted,
            Key::Secret if shape.replaceable() => return Err(Touched),
            _ => {}
        }
        Ok(())
    }

    fn done(self) -> Result<Shape, Touched> {
        if self.names_secret && self.value_to_replace {
            return Err(Touched);
        }
        Ok(Shape::Other)
    }
}

impl ser::SerializeMap for Map<'_> {
    type Ok = Shape;
    type Error = Touched;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Touched> {
        self.pending = Some(key.serialize(KeyWalk)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Touched> {
        let key = self.pending.take().ok_or(Touched)?;
        self.entry(key, value)
    }
    fn end(self) -> Result<Shape, Touched> {
        self.done()
    }
}

impl ser::SerializeStruct for Map<'_> {
    type Ok = Shape;
    type Error = Touched;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Touched> {
        self.entry(Key::of(key), value)
    }
    fn end(self) -> Result<Shape, Touched> {
        self.done()
    }
}

impl ser::SerializeStructVariant for Map<'_> {
    type Ok = Shape;
    type Error = Touched;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Touched> {
        self.entry(Key::of(key), value)
    }
    fn end(self) -> Result<Shape, Touched> {
        self.done()
    }
}

/// A map key: only a string (or what the tree turns into one plainly) is taken; anything else
/// takes the tree path, which decides what to do with it.
struct KeyWalk;

impl ser::Serializer for KeyWalk {
    type Ok = Key;
    type Error = Touched;
    type SerializeSeq = ser::Impossible<Key, Touched>;
    type SerializeTuple = ser::Impossible<Key, Touched>;
    type SerializeTupleStruct = ser::Impossible<Key, Touched>;
    type SerializeTupleVariant = ser::Impossible<Key, Touched>;
    type SerializeMap = ser::Impossible<Key, Touched>;
    type SerializeStruct = ser::Impossible<Key, Touched>;
    type SerializeStructVariant = ser::Impossible<Key, Touched>;

    fn serialize_str(self, v: &str) -> Result<Key, Touched> {
        Ok(Key::of(v))
    }
    fn serialize_char(self, v: char) -> Result<Key, Touched> {
        Ok(Key::of(v.encode_utf8(&mut [0u8; 4])))
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<Key, Touched> {
        Ok(Key::of(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<Key, Touched> {
        value.serialize(self)
    }
    fn serialize_bool(self, _: bool) -> Result<Key, Touched> {
        Err(Touched)
    }
    fn serialize_i8(self, _: i8) -> Result<Key, Touched> {
        Err(Touched)
    }
    fn serialize_i16(self, _: i16) -> Result<Key, Touched> {
        Err(Touched)
    }
    fn serialize_i32(self, _: i32) -> Result<Key, Touched> {
        Err(Touched)
    }
    fn serialize_i64(self, _: i64) -> Result<Key, Touched> {
        Err(Touched)
    }
    fn serialize_u8(self, _: u8) -> Result<Key, Touched> {
        Err(Touched)
    }
    fn serialize_u16(self, _: u16) -> Result<Key, Touched> {
        Err(Touched)
    }
    fn serialize_u32(self, _: u32) -> Result<Key, Touched> {
        Err(Touched)
    }
    fn serialize_u64(self, _: u64) -> Result<Key, Touched> {
        Err(Touched)
    }
    fn serialize_f32(self, _: f32) -> Result<Key, Touched> {
        Err(Touched)
    }
    fn serialize_f64(self, _: f64) -> Result<Key, Touched> {
        Err(Touched)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Key, Touched> {
        Err(Touched)
    }
    fn serialize_none(self) -> Result<Key, Touched> {
        Err(Touched)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<Key, Touched> {
        Err(Touched)
    }
    fn serialize_unit(self) -> Result<Key, Touched> {
        Err(Touched)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Key, Touched> {
        Err(Touched)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Key, Touched> {
        Err(Touched)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Touched> {
        Err(Touched)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Touched> {
        Err(Touched)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Touched> {
        Err(Touched)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Touched> {
        Err(Touched)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Touched> {
        Err(Touched)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Touched> {
        Err(Touched)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Touched> {
        Err(Touched)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{redact_target, redacted_target, TargetRun};
    use super::untouched;
    use crate::probe::Header;

    fn fixture_targets() -> Vec<TargetRun> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sessions");
        let mut out = Vec::new();
        for f in ["v1-probe-and-inspect.json", "v2-sweep-of-two.json"] {
            out.extend(crate::session::load(&dir.join(f)).expect("fixture session").targets);
        }
        assert!(out.iter().any(|t| t.probe.as_ref().is_some_and(|p| p.http.is_some())), "a probe with HTTP");
        out
    }

    /// Whichever path a run takes, the redacted run is the one the JSON tree path makes.
    fn same_as_tree_path(run: &TargetRun, secrets: &[String]) {
        let tree = redacted_target(run, secrets).expect("tree path");
        let fast = redact_target(run.clone(), secrets).expect("redact");
        assert_eq!(fast, tree, "{}", run.name);
        assert_eq!(serde_json::to_string(&fast).ok(), serde_json::to_string(&tree).ok());
    }

    #[test]
    fn a_run_without_secrets_skips_the_tree_and_comes_out_the_same() {
        for mut run in fixture_targets() {
            if let Some(o) = run.options.as_mut() {
                o.headers.clear();
            }
            if let Some(h) = run.probe.as_mut().and_then(|p| p.http.as_mut()) {
                h.headers.retain(|(n, _)| !crate::probe::is_secret_header(n));
            }
            run.material.named_values = vec!["backend-key=hunter2".into()];
            assert!(untouched(&run, &[]), "{}: nothing to redact", run.name);
            same_as_tree_path(&run, &[]);
            let fast = redact_target(run.clone(), &[]).expect("redact");
            assert!(fast.material.named_values.is_empty(), "named values are never kept in a redacted run");
            // A secret header sent but echoed nowhere: only its own value goes, on the fast path too.
            if let Some(o) = run.options.as_mut() {
                o.headers.push(Header { name: "Authorization".into(), value: "Bearer abcdef123456".into() });
                let all = crate::session::secrets_of(std::slice::from_ref(&run));
                assert!(untouched(&run, &all), "{}: the header is written redacted already", run.name);
                same_as_tree_path(&run, &[]);
            }
        }
    }

    #[test]
    fn anything_redaction_would_touch_takes_the_tree_path() {
        let secret = "Bearer s3cret-token-value".to_string();
        for base in fixture_targets() {
            let mut cases: Vec<(TargetRun, Vec<String>)> = Vec::new();
            if base.options.is_some() {
                let mut header = base.clone();
                if let Some(o) = header.options.as_mut() {
                    o.headers.push(Header { name: "X-Echo".into(), value: secret.clone() });
                    o.headers.push(Header { name: "Authorization".into(), value: secret.clone() });
                }
                cases.push((header, vec![]));
            }
            let mut echoed = base.clone();
            echoed.error = Some(format!("the server said {secret}"));
            cases.push((echoed, vec![secret.clone()]));
            let mut key = base.clone();
            key.error = Some("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n".into());
            cases.push((key, vec![]));
            if base.probe.as_ref().is_some_and(|p| p.http.is_some()) {
                let mut cookie = base.clone();
                if let Some(h) = cookie.probe.as_mut().and_then(|p| p.http.as_mut()) {
                    h.headers.push(("set-cookie".into(), "session=abc".into()));
                }
                cases.push((cookie, vec![]));
            }
            for (run, secrets) in cases {
                let mut all = crate::session::secrets_of(std::slice::from_ref(&run));
                all.extend(secrets.iter().cloned());
                assert!(!untouched(&run, &all), "{}: redaction has work to do", run.name);
                same_as_tree_path(&run, &secrets);
            }
        }
    }

    /// A whole session takes the same fast path (as `finish` redacts a probe's session before
    /// showing it), and comes out as the tree path makes it; one with a secret takes the tree.
    #[test]
    fn a_session_without_secrets_skips_the_tree_and_comes_out_the_same() {
        use crate::session::{redact::redacted_through_tree, redacted, Session};
        let mut runs = fixture_targets();
        for run in &mut runs {
            if let Some(o) = run.options.as_mut() {
                o.headers.clear();
            }
            if let Some(h) = run.probe.as_mut().and_then(|p| p.http.as_mut()) {
                h.headers.retain(|(n, _)| !crate::probe::is_secret_header(n));
            }
            run.material.named_values = vec!["backend-key=hunter2".into()];
        }
        let mut session = Session::new(runs).with_command("probe");
        session.replayed_from = Some("before.json".into());
        assert!(untouched(&session, &[]), "nothing to redact");
        let fast = redacted(&session).expect("redact");
        let tree = redacted_through_tree(&session, &[]).expect("tree path");
        assert_eq!(fast, tree);
        assert_eq!(serde_json::to_string(&fast).ok(), serde_json::to_string(&tree).ok());
        assert!(fast.targets.iter().all(|t| t.material.named_values.is_empty()));

        session.replayed_from = Some("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n".into());
        assert!(!untouched(&session, &[]), "a key block anywhere in the session is redaction's work");
        let cut = redacted(&session).expect("redact");
        assert!(!cut.replayed_from.as_deref().unwrap_or_default().contains("PRIVATE KEY"));
        assert_eq!(cut, redacted_through_tree(&session, &[]).expect("tree path"));
    }

    #[test]
    fn shapes_the_tree_cannot_hold_plainly_take_the_tree_path() {
        assert!(!untouched(&f64::NAN, &[]));
        assert!(!untouched(&1u128, &[]));
        let mut by_number = std::collections::BTreeMap::new();
        by_number.insert(1u32, "x");
        assert!(!untouched(&by_number, &[]));
        let pairs = vec![("Cookie".to_string(), "a=b".to_string())];
        assert!(!untouched(&pairs, &[]));
        let named = serde_json::json!({"name": "Ocp-Apim-Subscription-Key", "value": "k"});
        assert!(!untouched(&named, &[]));
        let keyed = serde_json::json!({"Authorization": "x"});
        assert!(!untouched(&keyed, &[]));
        assert!(untouched(&serde_json::json!({"name": "X-Trace", "value": "v", "n": [1, 2.5, "s"]}), &[]));
    }
}
