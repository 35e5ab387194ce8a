//! `JObject.Parse(text)` (Newtonsoft.Json) as policies read a claim from JSON a header carries:
//! `JObject.Parse(h)["role"]?.ToString()`, `(string)o["role"]`, `o.Value<string>("role")`.
//! Newtonsoft accepts more than strict JSON (comments, single quotes, unquoted names) and turns
//! date-like strings into dates whose text follows the culture; where its answer depends on that,
//! on its version (duplicate names, nesting deeper than 64) or on the platform (an object's
//! indented text), the answer is unknown with the reason. The request body (`Body.As<JObject>()`)
//! is read the same way (csharp/body.rs).

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::super::expr::{Expr, Span};
use super::value::{Origin, Text, Val};
use super::{unevaluable, ExprEval, Stop};

/// A JSON value as Newtonsoft's JToken holds it.
#[derive(Debug, Clone)]
pub(in crate::policy) enum Json {
    Null,
    Bool(bool),
    Int(i64),
    /// A real number, or an integer beyond long (a BigInteger): its text is not modelled.
    OtherNumber,
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

const DUPLICATE: &str = "duplicate property name";

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
                Ok(Json::Int(n))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
                Ok(i64::try_from(n).map(Json::Int).unwrap_or(Json::OtherNumber))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Json, E> {
                Ok(Json::OtherNumber)
            }
            fn visit_str<E>(self, s: &str) -> Result<Json, E> {
                Ok(Json::Str(s.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = a.next_element()? {
                    out.push(v);
                }
                Ok(Json::Array(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
                let mut out: Vec<(String, Json)> = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, Json>()? {
                    if out.iter().any(|(n, _)| *n == k) {
                        return Err(serde::de::Error::custom(DUPLICATE));
                    }
                    out.push((k, v));
                }
                Ok(Json::Object(out))
            }
        }
        d.deserialize_any(V)
    }
}

fn depth(j: &Json) -> usize {
    match j {
        Json::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Json::Object(props) => 1 + props.iter().map(|(_, v)| depth(v)).max().unwrap_or(0),
        _ => 0,
    }
}

/// Strings Newtonsoft's default DateParseHandling turns into a DateTime: ISO 8601 dates and the
/// Microsoft `/Date(…)/` form.
fn date_like(s: &str) -> bool {
    let b = s.as_bytes();
    let iso = b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-';
    iso || s.starts_with("/Date(")
}

fn kind(j: &Json) -> &'static str {
    match j {
        Json::Null => "Null",
        Json::Bool(_) => "Boolean",
        Json::Int(_) => "Integer",
        Json::OtherNumber => "Float",
        Json::Str(_) => "String",
        Json::Array(_) => "Array",
        Json::Object(_) => "Object",
    }
}

impl ExprEval<'_, '_> {
    fn json_exception(&self, exception: &str, why: impl Into<String>, span: Span) -> Stop {
        Stop::Exception { exception: exception.into(), fragment: self.text(span), why: why.into() }
    }

    /// `JObject.Parse(text)`.
    pub(super) fn jobject_parse(&mut self, args: &[Expr], span: Span) -> Result<Val, Stop> {
        let [arg] = args else {
            return Err(unevaluable(self.src, span, "JObject.Parse with settings is not supported"));
        };
        let text = match self.eval(arg)? {
            Val::Str(t) => t.value,
            Val::Null { .. } => return Err(self.json_exception("ArgumentNullException", "the text is null", span)),
            other => {
                return Err(unevaluable(
                    self.src,
                    arg.span,
                    format!("JObject.Parse takes a string, not {}", other.describe()),
                ))
            }
        };
        self.jobject_from_text(&text, span)
    }

    /// A JObject from text, as `JObject.Parse` (and `Body.As<JObject>()`) reads it.
    pub(super) fn jobject_from_text(&self, text: &str, span: Span) -> Result<Val, Stop> {
        if text.trim().is_empty() {
            return Err(self.json_exception(
                "JsonReaderException",
                "Error reading JObject from JsonReader: the text is empty",
                span,
            ));
        }
        let parsed: Json = match serde_json::from_str(text) {
            Ok(j) => j,
            Err(e) if e.to_string().contains(DUPLICATE) => {
                return Err(unevaluable(
                    self.src,
                    span,
                    "the JSON repeats a property name: Newtonsoft.Json 12 and later keep the last, earlier versions throw, and the gateway's version is not documented",
                ))
            }
            Err(_) => {
                return Err(unevaluable(
                    self.src,
                    span,
                    "the text is not strict JSON, and Newtonsoft.Json accepts some of that (comments, single quotes, unquoted names): whether it throws is not modelled",
                ))
            }
        };
        if depth(&parsed) > 64 {
            return Err(unevaluable(
                self.src,
                span,
                "the JSON nests deeper than 64 levels, which Newtonsoft.Json 13 refuses and earlier versions accept",
            ));
        }
        match parsed {
            obj @ Json::Object(_) => Ok(Val::Json(Box::new(obj))),
            other => {
                let token = if matches!(other, Json::Array(_)) { "StartArray" } else { kind(&other) };
                Err(self.json_exception(
                    "JsonReaderException",
                    format!("Error reading JObject from JsonReader. Current JsonReader item is not an object: {token}"),
                    span,
                ))
            }
        }
    }

    /// `token[key]`: a property of an object (null when absent, names matched exactly), an element of
    /// an array.
    pub(super) fn json_index(&mut self, j: Json, index: &Expr, span: Span) -> Result<Val, Stop> {
        let key = self.eval(index)?;
        match (j, key) {
            (Json::Object(props), Val::Str(k)) => Ok(props
                .into_iter()
                .find(|(n, _)| *n == k.value)
                .map(|(_, v)| Val::Json(Box::new(v)))
                .unwrap_or(Val::Null { certificate: false })),
            (Json::Array(items), Val::Num(n)) if n.integral().is_some() => {
                let i = n.integral().unwrap_or(-1);
                let len = items.len();
                usize::try_from(i)
                    .ok()
                    .and_then(|i| items.into_iter().nth(i))
                    .map(|v| Val::Json(Box::new(v)))
                    .ok_or_else(|| {
                        self.json_exception(
                            "ArgumentOutOfRangeException",
                            format!("the array has {len} element(s)"),
                            span,
                        )
                    })
            }
            (Json::Object(_) | Json::Array(_), other) => Err(self.json_exception(
                "ArgumentException",
                format!("the JSON is accessed with an invalid key ({})", other.describe()),
                span,
            )),
            (scalar, _) => Err(self.json_exception(
                "InvalidOperationException",
                format!("Cannot access child value on Newtonsoft.Json.Linq.JValue (a {} value)", kind(&scalar)),
                span,
            )),
        }
    }

    fn json_text(&self, value: String) -> Val {
        Val::Str(Text { raw: value.clone(), value, origin: Origin::Computed, transforms: Vec::new() })
    }

    /// `(string)token` / `token.Value<string>(…)`: the explicit conversion, culture-invariant.
    pub(super) fn json_as_string(&self, j: &Json, span: Span) -> Result<Val, Stop> {
        match j {
            Json::Null => Ok(Val::Null { certificate: false }),
            Json::Str(s) if date_like(s) => Err(unevaluable(self.src, span, DATE_TEXT)),
            Json::Str(s) => Ok(self.json_text(s.clone())),
            Json::Bool(b) => Ok(self.json_text(if *b { "True" } else { "False" }.into())),
            Json::Int(n) => Ok(self.json_text(n.to_string())),
            Json::OtherNumber => Err(unevaluable(self.src, span, NUMBER_TEXT)),
            other => Err(self.json_exception(
                "ArgumentException",
                format!("Can not convert {} to String.", kind(other)),
                span,
            )),
        }
    }

    /// Methods on a JToken: `ToString()`, `Value<string>(name)`.
    pub(super) fn json_call(
        &mut self,
        j: Json,
        name: &str,
        type_arg: Option<&str>,
        args: &[Expr],
        span: Span,
    ) -> Result<Val, Stop> {
        match (name, args) {
            ("ToString", []) => match &j {
                // JValue.ToString() uses the current culture; a string, a boolean and the digits of
                // a non-negative integer read the same in every culture.
                Json::Null => Ok(self.json_text(String::new())),
                Json::Int(n) if *n < 0 => Err(unevaluable(
                    self.src,
                    span,
                    "a negative number's text uses the current culture's minus sign, and the gateway's culture is not documented",
                )),
                Json::Object(_) | Json::Array(_) => Err(unevaluable(
                    self.src,
                    span,
                    "an object's or array's ToString() is indented JSON whose line breaks follow the platform (Environment.NewLine)",
                )),
                other => self.json_as_string(other, span),
            },
            ("Value", [key]) if matches!(type_arg, Some("string" | "String")) => match j {
                Json::Object(_) => match self.json_index(j, key, span)? {
                    Val::Json(token) => self.json_as_string(&token, span),
                    other => Ok(other),
                },
                other => Err(self.json_exception(
                    "InvalidOperationException",
                    format!("Cannot access child value on Newtonsoft.Json.Linq.JValue (a {} value)", kind(&other)),
                    span,
                )),
            },
            _ => Err(unevaluable(
                self.src,
                span,
                format!("method `{name}` with {} argument(s) on a JToken is not supported", args.len()),
            )),
        }
    }
}

const DATE_TEXT: &str = "Newtonsoft.Json reads a date-like string as a DateTime by default (DateParseHandling.DateTime), and that DateTime's text (its format and time zone handling) is not modelled";
const NUMBER_TEXT: &str = "a real (or very large) number's text depends on the .NET version and culture the gateway runs, which are not documented";
