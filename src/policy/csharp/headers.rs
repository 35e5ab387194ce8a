//! `context.Request.Headers` as an `IReadOnlyDictionary<string, string[]>`: the indexer (an absent
//! name throws KeyNotFoundException, the gateway answers 500) and `TryGetValue(name, out v)`.
//! How API Management splits a header's value into the array's elements is not documented: a
//! header sent once whose value has no comma is a one-element array; one with a comma, or sent
//! more than once, has elements that are unknown here, with that reason.

use super::super::expr::{Expr, Span};
use super::value::{Origin, Text, Val};
use super::{unevaluable, ExprEval, Stop};

impl ExprEval<'_, '_> {
    /// Every value the request sends for header `name` (matched ignoring case, as HTTP defines
    /// header names), in order; unevaluable when the request's headers are not known.
    pub(super) fn header_values(&self, name: &str, span: Span) -> Result<Vec<&str>, Stop> {
        let Some(headers) = self.input.headers.as_deref() else {
            return Err(unevaluable(
                self.src,
                span,
                "the request headers are not known here (give them with -H on a probe)",
            ));
        };
        Ok(headers.iter().filter(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str()).collect())
    }

    /// The header's `string[]`: `None` when the request has no such header.
    fn header_array(&self, name: &str, span: Span) -> Result<Option<Val>, Stop> {
        let values = self.header_values(name, span)?;
        Ok(match values.as_slice() {
            [] => None,
            [one] if !one.contains(',') => Some(Val::Array(vec![Val::Str(Text {
                value: one.to_string(),
                raw: one.to_string(),
                origin: Origin::Header,
                transforms: Vec::new(),
            })])),
            [_] => Some(Val::HeaderValues(format!(
                "header {name}'s value contains a comma, and whether API Management splits a value at commas into the string[] elements (and trims them) is not documented"
            ))),
            many => Some(Val::HeaderValues(format!(
                "header {name} is sent {} times, and whether API Management gives each line its own string[] element, or joins or splits them, is not documented",
                many.len()
            ))),
        })
    }

    fn header_name(&mut self, key: &Expr, span: Span) -> Result<String, Stop> {
        match self.eval(key)? {
            Val::Str(t) => Ok(t.value),
            Val::Null { .. } => Err(Stop::Exception {
                exception: "ArgumentNullException".into(),
                fragment: self.text(span),
                why: "the key is null".into(),
            }),
            other => Err(unevaluable(
                self.src,
                key.span,
                format!("context.Request.Headers is keyed by string, not {}", other.describe()),
            )),
        }
    }

    /// `context.Request.Headers[name]`.
    pub(super) fn header_index(&mut self, key: &Expr, span: Span) -> Result<Val, Stop> {
        let name = self.header_name(key, span)?;
        self.header_array(&name, span)?.ok_or_else(|| Stop::Exception {
            exception: "KeyNotFoundException".into(),
            fragment: self.text(span),
            why: format!("The given key '{name}' was not present in the dictionary (the request has no {name} header)"),
        })
    }

    /// `context.Request.Headers.TryGetValue(name, out value)`: true and the array, or false and null.
    pub(super) fn header_try_get(&mut self, key: &Expr, out: &Expr, span: Span) -> Result<Val, Stop> {
        let name = self.header_name(key, span)?;
        let found = self.header_array(&name, span)?;
        let ok = found.is_some();
        self.assign_out(out, found.unwrap_or(Val::Null { certificate: false }))?;
        Ok(Val::Bool(ok))
    }
}
