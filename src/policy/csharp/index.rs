//! The conditional operator `c ? a : b`, indexers (`context.Variables["x"]`, `Extensions[…]`,
//! array elements), casts `(string)x` / `(bool)x`, and values typed `object` in C#.

use super::super::expr::{BinOp, Expr, Span};
use super::value::{Origin, StrCmp, Text, Val};
use super::{unevaluable, ExprEval, Stop};

/// The CLR type a boxed value has, as InvalidCastException names it; `None` when not tracked.
fn clr_type(v: &Val) -> Option<&'static str> {
    Some(match v {
        Val::Num(n) => n.clr(),
        Val::Str(_) => "System.String",
        Val::Bool(_) => "System.Boolean",
        Val::Date(_) => "System.DateTime",
        Val::Array(_) => "System.String[]",
        Val::Cert | Val::Built(_) | Val::EmptyBuilt => "System.Security.Cryptography.X509Certificates.X509Certificate2",
        _ => return None,
    })
}

/// The C# name of a value type, as the compiler's messages write it (`None` for a reference type).
fn value_type_name(v: &Val) -> Option<&'static str> {
    Some(match v {
        Val::Num(n) => n.keyword(),
        Val::Bool(_) => "bool",
        Val::Char(_) => "char",
        Val::Date(_) => "DateTime",
        Val::TimeSpan(_) => "TimeSpan",
        Val::Flags(_) => "X509KeyUsageFlags",
        _ => return None,
    })
}

/// The CLR name of a cast's target type.
fn clr_name(ty: &str) -> &str {
    match ty {
        "string" => "System.String",
        "bool" => "System.Boolean",
        "int" => "System.Int32",
        "long" => "System.Int64",
        "double" => "System.Double",
        "object" => "System.Object",
        other => other,
    }
}

impl ExprEval<'_, '_> {
    /// `operand as T`: the value when it is a T, else null; `as` never throws.
    pub(super) fn as_conversion(&mut self, ty: &str, operand: &Expr, span: Span) -> Result<Val, Stop> {
        let v = match self.eval(operand)? {
            Val::Object(inner) => *inner,
            v => v,
        };
        match (ty, v) {
            (_, v @ Val::Null { .. }) => Ok(v),
            (_, Val::Extension(ext)) => self.extension_conversion(*ext, ty, true, span),
            ("string" | "String", v @ Val::Str(_)) => Ok(v),
            ("string" | "String", Val::Bool(_) | Val::Num(_) | Val::Date(_)) => Ok(Val::Null { certificate: false }),
            (_, v) => Err(unevaluable(self.src, span, format!("`as {ty}` on {} is not modelled", v.describe()))),
        }
    }

    /// `operand is T [name]`: whether the value is a non-null T; `name` then holds it as a T (and
    /// is unassigned otherwise, as C#'s definite assignment has it).
    pub(super) fn is_pattern(&mut self, ty: &str, bind: Option<&str>, operand: &Expr, span: Span) -> Result<Val, Stop> {
        let v = match self.eval(operand)? {
            Val::Object(inner) => *inner,
            v => v,
        };
        let matched = match (ty, v) {
            ("null", v) => return Ok(Val::Bool(matches!(v, Val::Null { .. }))),
            (_, Val::Null { .. }) => None,
            (_, Val::Extension(ext)) => match self.extension_conversion(*ext, ty, true, span)? {
                Val::Null { .. } => None,
                v => Some(v),
            },
            ("string" | "String", v @ Val::Str(_)) | ("bool" | "Boolean", v @ Val::Bool(_)) => Some(v),
            // The request's certificate, when there is one, is an X509Certificate2.
            ("X509Certificate2" | "X509Certificate", v @ Val::Cert) => Some(v),
            ("int" | "long" | "double", Val::Num(n)) => (n.keyword() == ty).then_some(Val::Num(n)),
            ("string" | "String" | "bool" | "Boolean" | "int" | "long" | "double", _) => None,
            (_, v) => {
                return Err(unevaluable(self.src, span, format!("`is {ty}` on {} is not modelled", v.describe())))
            }
        };
        if let Some(name) = bind {
            if self.bindings.iter().any(|(n, _)| n == name) {
                return Err(unevaluable(
                    self.src,
                    span,
                    format!("CS0128: A local variable named '{name}' is already defined in this scope (C# would not compile it)"),
                ));
            }
            let value = match (&matched, self.shadow) {
                (Some(v), false) => v.clone(),
                _ => Val::Unassigned,
            };
            self.bindings.push((name.to_string(), value));
        }
        Ok(Val::Bool(matched.is_some()))
    }

    /// Evaluate for the record only, keeping the result (three-valued `?:`).
    fn eval_shadowed(&mut self, e: &Expr) -> Result<Val, Stop> {
        let was = self.shadow;
        self.shadow = true;
        let v = self.eval(e);
        self.shadow = was;
        v
    }

    /// `c ? a : b`: only the chosen branch runs. When `c` is unknown and both branches give the
    /// same boolean, that is the value whatever `c` is.
    pub(super) fn conditional(&mut self, cond: &Expr, then: &Expr, otherwise: &Expr) -> Result<Val, Stop> {
        match self.eval(cond).and_then(|c| self.as_bool(c, cond)) {
            Ok(true) => {
                let v = self.eval(then)?;
                self.shadow_eval(otherwise);
                Ok(v)
            }
            Ok(false) => {
                self.shadow_eval(then);
                self.eval(otherwise)
            }
            Err(Stop::Unevaluable { fragment, why }) => {
                let a = self.eval_shadowed(then);
                let b = self.eval_shadowed(otherwise);
                match (a, b) {
                    (Ok(Val::Bool(x)), Ok(Val::Bool(y))) if x == y => {
                        self.masked.push((fragment, why));
                        Ok(Val::Bool(x))
                    }
                    _ => Err(Stop::Unevaluable { fragment, why }),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// `target[index]` (`?[` when `null_cond`).
    pub(super) fn index(&mut self, target: &Expr, index: &Expr, null_cond: bool, span: Span) -> Result<Val, Stop> {
        let Some(t) = self.chain_target(target, null_cond)? else { return Ok(Val::Null { certificate: false }) };
        match t {
            Val::Null { .. } => Err(self.null_reference(target, span)),
            // IReadOnlyDictionary<string, object>: an absent key throws, the value is an `object`.
            Val::Variables => {
                let key = match self.eval(index)? {
                    Val::Str(k) => k.value,
                    Val::Null { .. } => {
                        return Err(Stop::Exception {
                            exception: "ArgumentNullException".into(),
                            fragment: self.text(span),
                            why: "the key is null".into(),
                        })
                    }
                    other => {
                        return Err(unevaluable(
                            self.src,
                            index.span,
                            format!("context.Variables is keyed by string, not {}", other.describe()),
                        ))
                    }
                };
                match self.variables.get(&key) {
                    Some(Ok(v)) => Ok(Val::Object(Box::new(v))),
                    Some(Err(why)) => {
                        Err(unevaluable(self.src, span, format!("variable \"{key}\" is not known: {why}")))
                    }
                    None => Err(Stop::Exception {
                        exception: "KeyNotFoundException".into(),
                        fragment: self.text(span),
                        why: format!("The given key '{key}' was not present in the dictionary (no set-variable before it names \"{key}\")"),
                    }),
                }
            }
            Val::Extensions(list) => self.extension_index(list, index, span),
            Val::Headers => self.header_index(index, span),
            Val::Str(text) => self.string_index(&text, index, span),
            Val::Json(j) => self.json_index(*j, index, span),
            Val::HeaderValues(why) => Err(unevaluable(self.src, span, why)),
            Val::Oids(oids) => match self.eval(index)? {
                Val::Num(n) if n.integral().is_some() => {
                    let i = n.integral().unwrap_or(-1);
                    match usize::try_from(i).ok().and_then(|i| oids.get(i)) {
                        Some(o) => Ok(Val::ExtensionOid(o.clone())),
                        None => Err(Stop::Exception {
                            exception: "ArgumentOutOfRangeException".into(),
                            fragment: self.text(span),
                            why: format!("the collection has {} element(s)", oids.len()),
                        }),
                    }
                }
                other => Err(unevaluable(
                    self.src,
                    index.span,
                    format!("an OidCollection index other than an integer ({}) is not modelled", other.describe()),
                )),
            },
            Val::Array(items) => match self.eval(index)? {
                Val::Num(n) if n.integral().is_some() => {
                    match n.integral().and_then(|i| usize::try_from(i).ok()).and_then(|i| items.get(i)) {
                        Some(v) => Ok(v.clone()),
                        None => Err(Stop::Exception {
                            exception: "IndexOutOfRangeException".into(),
                            fragment: self.text(span),
                            why: format!("the array has {} element(s)", items.len()),
                        }),
                    }
                }
                other => Err(unevaluable(
                    self.src,
                    index.span,
                    format!("an array index must be an integer, not {}", other.describe()),
                )),
            },
            other => Err(unevaluable(self.src, span, format!("indexing {} is not supported", other.describe()))),
        }
    }

    /// `(type)operand`. From `object` it is an unboxing or a reference conversion: the wrong type
    /// throws InvalidCastException, and null unboxed to a value type throws NullReferenceException.
    pub(super) fn cast(&mut self, ty: &str, operand: &Expr, span: Span) -> Result<Val, Stop> {
        let v = self.eval(operand)?;
        let (boxed, inner) = match v {
            Val::Object(b) => (true, *b),
            other => (false, other),
        };
        let ty = match ty {
            "String" => "string",
            "Boolean" => "bool",
            "Object" => "object",
            "Int32" => "int",
            "Int64" => "long",
            "Double" => "double",
            t => t,
        };
        let value_type = matches!(ty, "bool" | "int" | "long" | "double");
        match (ty, inner) {
            ("object", v) => Ok(Val::Object(Box::new(v))),
            ("string", v @ (Val::Str(_) | Val::Null { .. })) => Ok(v),
            ("string", Val::Json(j)) if !boxed => self.json_as_string(&j, span),
            ("bool", v @ Val::Bool(_)) => Ok(v),
            (_, Val::Null { .. }) if boxed && value_type => Err(Stop::Exception {
                exception: "NullReferenceException".into(),
                fragment: self.text(span),
                why: format!("{} is null, and null cannot be unboxed to {ty}", self.text(operand.span)),
            }),
            // Unboxing succeeds only to the exact type that was boxed.
            ("int" | "long" | "double", Val::Num(n)) if boxed && n.keyword() != ty => Err(Stop::Exception {
                exception: "InvalidCastException".into(),
                fragment: self.text(span),
                why: format!("Unable to cast object of type '{}' to type '{}'.", n.clr(), clr_name(ty)),
            }),
            ("int" | "long" | "double", Val::Num(n)) if boxed => Ok(Val::Num(n)),
            ("int" | "long" | "double", Val::Num(n)) => self.numeric_cast(ty, n, span),
            (_, Val::Extension(ext)) => self.extension_conversion(*ext, ty, false, span),
            (t, v @ Val::Null { .. }) if t.starts_with("X509") => Ok(v),
            (_, v) if boxed => match clr_type(&v) {
                Some(from) => Err(Stop::Exception {
                    exception: "InvalidCastException".into(),
                    fragment: self.text(span),
                    why: format!("Unable to cast object of type '{from}' to type '{}'.", clr_name(ty)),
                }),
                None => {
                    Err(unevaluable(self.src, span, format!("the cast of {} to {ty} is not modelled", v.describe())))
                }
            },
            (_, v) => Err(unevaluable(
                self.src,
                span,
                format!("a cast of {} to {ty} is not modelled (C# may refuse to compile it)", v.describe()),
            )),
        }
    }

    /// `==` / `!=` with an `object` operand: reference equality in C#. Against null that is known;
    /// against a value type (`== 1`, `== true`) it does not compile (CS0019); against a string it
    /// compares references, not text (warning CS0252), which is not modelled.
    pub(super) fn object_compare(&mut self, op: BinOp, l: &Val, r: &Val, span: Span) -> Option<Result<Val, Stop>> {
        let (obj, other) = match (l, r) {
            (Val::Object(o), other) | (other, Val::Object(o)) => (o, other),
            _ => return None,
        };
        let eq = match (obj.as_ref(), other, op) {
            (inner, Val::Null { .. }, BinOp::Eq | BinOp::Ne) => matches!(inner, Val::Null { .. }),
            // Reference equality needs two references: `object == 1` does not compile.
            (_, value, BinOp::Eq | BinOp::Ne) if value_type_name(value).is_some() => {
                let name = value_type_name(value).unwrap_or_default();
                let (left, right) = if matches!(l, Val::Object(_)) { ("object", name) } else { (name, "object") };
                return Some(Err(unevaluable(
                    self.src,
                    span,
                    format!(
                        "CS0019: Operator '{}' cannot be applied to operands of type '{left}' and '{right}'{}",
                        op.symbol(),
                        super::super::refused::REFUSED
                    ),
                )));
            }
            (_, _, BinOp::Eq | BinOp::Ne) => {
                return Some(Err(unevaluable(
                    self.src,
                    span,
                    format!(
                        "an object (context.Variables[…]) compared with {}: C# compares references here, not values (cast it first, e.g. (string)…)",
                        other.describe()
                    ),
                )))
            }
            _ => {
                return Some(Err(unevaluable(
                    self.src,
                    span,
                    format!("`{}` is not defined on an object (C# would not compile it)", op.symbol()),
                )))
            }
        };
        Some(Ok(Val::Bool(if op == BinOp::Eq { eq } else { !eq })))
    }

    /// Methods every object has: `ToString()` and `Equals(x)` (the boxed value's own).
    pub(super) fn object_call(&mut self, inner: Val, name: &str, args: &[Expr], span: Span) -> Result<Val, Stop> {
        match (name, args, inner) {
            ("ToString", [], Val::Str(t)) => Ok(Val::Str(t)),
            ("ToString", [], Val::Bool(b)) => {
                // Boolean.ToString() is "True" / "False".
                let value = if b { "True" } else { "False" }.to_string();
                Ok(Val::Str(Text { raw: value.clone(), value, origin: Origin::Literal, transforms: Vec::new() }))
            }
            ("Equals", [arg], Val::Str(t)) => {
                // string.Equals(object): ordinal, false for anything that is not a string.
                match self.eval(arg)? {
                    other @ (Val::Str(_) | Val::Null { .. }) => {
                        self.string_equals(Val::Str(t), other, StrCmp::Ordinal, "Equals", span)
                    }
                    _ => Ok(Val::Bool(false)),
                }
            }
            (_, _, inner) => Err(unevaluable(
                self.src,
                span,
                format!("method `{name}` on an object holding {} is not supported (cast it first)", inner.describe()),
            )),
        }
    }
}
