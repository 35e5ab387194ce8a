//! `context.Variables` (set by `set-variable`, read with `GetValueOrDefault<T>`) and request
//! headers (`context.Request.Headers.GetValueOrDefault(name, default)`), as the gateway sees them.

use super::super::expr::{self, Expr};
use super::super::walk::Walker;
use super::value::{Origin, Text, Val};
use super::{unevaluable, ExprEval, Stop};

/// What `set-variable` stored so far, in document order.
#[derive(Debug, Clone, Default)]
pub(in crate::policy) struct Variables {
    slots: Vec<(String, Slot)>,
    /// `context.Request.Body` was read without `preserveContent: true` (the body is then lost).
    pub(super) body_consumed: bool,
}

impl Variables {
    /// `context.Variables[name]`: `None` when no set-variable stored it, else its value or why
    /// that is not known here.
    pub(super) fn get(&self, name: &str) -> Option<Result<Val, String>> {
        self.slots.iter().find(|(n, _)| n == name).map(|(_, slot)| match slot {
            Slot::Known(v) => Ok(v.clone()),
            Slot::Unknown(why) => Err(why.clone()),
        })
    }
}

#[derive(Debug, Clone)]
enum Slot {
    Known(Val),
    /// The value could not be computed here; why.
    Unknown(String),
}

impl Walker<'_, '_> {
    /// `<set-variable name=… value=…>`: a literal is stored as a string, an expression as its value.
    pub(in crate::policy) fn set_variable(&mut self, path: &str, name: &str, value: &str) {
        let raw = value.trim();
        let slot = if let Some(named) = super::named_value(raw) {
            Slot::Unknown(format!("its value holds the named value {named}, which was not given"))
        } else if let Some(src) = raw.strip_prefix("@(").and_then(|r| r.strip_suffix(')')) {
            self.variable_expression(path, src, |ev, e| ev.eval(e))
        } else if let Some(src) = raw.strip_prefix("@{").and_then(|r| r.strip_suffix('}')) {
            match expr::parse_block(src) {
                Ok(stmts) => {
                    let mut ev = ExprEval::new(self.input, src, path, self.last_error.clone(), self.variables.clone());
                    let r = ev.run_block(&stmts);
                    self.absorb(&mut ev, path);
                    match r {
                        Ok(Some(v)) => Slot::Known(v),
                        Ok(None) => Slot::Unknown("the block returns no value".into()),
                        Err(stop) => stop_slot(stop),
                    }
                }
                Err(u) => Slot::Unknown(format!("`{}`: {}", u.span.text(src), u.why)),
            }
        } else {
            Slot::Known(Val::Str(Text {
                value: value.to_string(),
                raw: value.to_string(),
                origin: Origin::Literal,
                transforms: Vec::new(),
            }))
        };
        if let Slot::Unknown(why) = &slot {
            self.out.notes.push(format!("{path}: variable \"{name}\" is not known here ({why})"));
        }
        self.variables.slots.retain(|(n, _)| n != name);
        self.variables.slots.push((name.to_string(), slot));
    }

    fn variable_expression(
        &mut self,
        path: &str,
        src: &str,
        f: impl Fn(&mut ExprEval, &Expr) -> Result<Val, Stop>,
    ) -> Slot {
        match expr::parse(src) {
            Ok(e) => {
                let mut ev = ExprEval::new(self.input, src, path, self.last_error.clone(), self.variables.clone());
                ev.clause = 1;
                ev.clause_text = src.trim().to_string();
                let r = f(&mut ev, &e);
                self.absorb(&mut ev, path);
                match r {
                    Ok(v) => Slot::Known(v),
                    Err(stop) => stop_slot(stop),
                }
            }
            Err(u) => Slot::Unknown(format!("`{}`: {}", u.span.text(src), u.why)),
        }
    }
}

/// An exception while computing a variable stops the request in the gateway; here it is unknown.
fn stop_slot(stop: Stop) -> Slot {
    match stop {
        Stop::Unevaluable { fragment, why } => Slot::Unknown(format!("`{fragment}`: {why}")),
        Stop::Exception { exception, fragment, why } => {
            Slot::Unknown(format!("`{fragment}` throws {exception} ({why}); the gateway would answer 500 there"))
        }
    }
}

impl ExprEval<'_, '_> {
    fn string_arg(&mut self, e: &Expr) -> Result<String, Stop> {
        match self.eval(e)? {
            Val::Str(t) => Ok(t.value),
            other => Err(unevaluable(self.src, e.span, format!("expected a string, found {}", other.describe()))),
        }
    }

    /// `context.Variables.GetValueOrDefault<T>(name[, default])`, `ContainsKey(name)`.
    pub(super) fn variables_call(
        &mut self,
        name: &str,
        type_arg: Option<&str>,
        args: &[Expr],
        span: expr::Span,
    ) -> Result<Val, Stop> {
        match (name, args) {
            ("ContainsKey", [key]) => {
                let key = self.string_arg(key)?;
                Ok(Val::Bool(self.variables.slots.iter().any(|(n, _)| *n == key)))
            }
            // IReadOnlyDictionary<string, object>.TryGetValue: the value as an object, or null.
            ("TryGetValue", [key, out]) => {
                let key_text = self.string_arg(key)?;
                let found = self.variables.slots.iter().find(|(n, _)| *n == key_text).map(|(_, s)| s.clone());
                let (ok, v) = match found {
                    Some(Slot::Known(v)) => (true, Val::Object(Box::new(v))),
                    Some(Slot::Unknown(why)) => {
                        return Err(unevaluable(self.src, span, format!("variable \"{key_text}\" is not known: {why}")))
                    }
                    None => (false, Val::Null { certificate: false }),
                };
                self.assign_out(out, v)?;
                Ok(Val::Bool(ok))
            }
            ("GetValueOrDefault", [key]) | ("GetValueOrDefault", [key, _]) => {
                let key_text = self.string_arg(key)?;
                let found = self.variables.slots.iter().find(|(n, _)| *n == key_text).map(|(_, s)| s.clone());
                let v = match found {
                    Some(Slot::Known(v)) => v,
                    Some(Slot::Unknown(why)) => {
                        return Err(unevaluable(self.src, span, format!("variable \"{key_text}\" is not known: {why}")))
                    }
                    None => {
                        return match args.get(1) {
                            Some(d) => self.eval(d),
                            None => Ok(default_of(type_arg)),
                        }
                    }
                };
                use super::number::Number;
                let fits = matches!(
                    (type_arg.map(|t| t.trim_start_matches("System.")), &v),
                    (None | Some("object"), _)
                        | (Some("string" | "String"), Val::Str(_) | Val::Null { .. })
                        | (Some("bool" | "Boolean"), Val::Bool(_))
                        | (Some("int" | "Int32"), Val::Num(Number::Int(_)))
                        | (Some("long" | "Int64"), Val::Num(Number::Long(_)))
                        | (Some("double" | "Double"), Val::Num(Number::Double(_)))
                );
                if !fits {
                    return Err(unevaluable(
                        self.src,
                        span,
                        format!(
                            "variable \"{key_text}\" holds {}, read as {}: the conversion the gateway applies is not modelled",
                            v.describe(),
                            type_arg.unwrap_or("object")
                        ),
                    ));
                }
                Ok(v)
            }
            _ => Err(unevaluable(
                self.src,
                span,
                format!("method `{name}` with {} argument(s) on context.Variables is not supported", args.len()),
            )),
        }
    }

    /// `context.Request.Headers.GetValueOrDefault(name[, default])`: the values given with `-H`
    /// (and the probe's own Host and User-Agent), joined with "," when repeated; names ignore case.
    pub(super) fn headers_call(&mut self, name: &str, args: &[Expr], span: expr::Span) -> Result<Val, Stop> {
        let (key, default) = match (name, args) {
            ("GetValueOrDefault", [key]) => (key, None),
            ("GetValueOrDefault", [key, d]) => (key, Some(d)),
            ("ContainsKey", [key]) => (key, None),
            _ => {
                return Err(unevaluable(
                    self.src,
                    span,
                    format!(
                        "method `{name}` with {} argument(s) on context.Request.Headers is not supported",
                        args.len()
                    ),
                ))
            }
        };
        let key_text = self.string_arg(key)?;
        let values = self.header_values(&key_text, span)?;
        if name == "ContainsKey" {
            return Ok(Val::Bool(!values.is_empty()));
        }
        if values.is_empty() {
            return match default {
                Some(d) => self.eval(d),
                None => Ok(Val::Null { certificate: false }),
            };
        }
        let value = values.join(",");
        Ok(Val::Str(Text { raw: value.clone(), value, origin: Origin::Header, transforms: Vec::new() }))
    }
}

/// `default(T)` for the types policies read variables as.
fn default_of(type_arg: Option<&str>) -> Val {
    match type_arg.map(|t| t.trim_start_matches("System.")) {
        Some("bool" | "Boolean") => Val::Bool(false),
        Some("int" | "Int32") => Val::Num(super::number::Number::Int(0)),
        Some("long" | "Int64") => Val::Num(super::number::Number::Long(0)),
        Some("double" | "Double") => Val::Num(super::number::Number::Double(0.0)),
        _ => Val::Null { certificate: false },
    }
}
