//! LINQ over what policies enumerate: string arrays (literals, header values), and the
//! certificate's extensions and enhanced key usages after `Cast<T>()` / `OfType<T>()`. Operators
//! run lazily as LINQ does: `Any` stops at the first match, so an element a `Cast` cannot convert
//! throws only when it is reached.

use super::super::expr::{Expr, ExprKind, Span};
use super::number::Number;
use super::value::{Origin, StrCmp, Text, Val};
use super::{unevaluable, ExprEval, Stop};

/// Why LINQ cannot be applied to the collection directly.
fn not_generic(collection: &str, element: &str) -> String {
    format!(
        "{collection} implements IEnumerable<{element}> only in newer .NET; on .NET Framework it is a non-generic IEnumerable, so LINQ needs .Cast<{element}>() first or the policy does not compile, and which runtime API Management compiles expressions for is not documented"
    )
}

impl ExprEval<'_, '_> {
    /// `string.Join(separator, values)`: a null separator is "", a null element is "".
    pub(super) fn string_join(&mut self, sep: &Expr, seq: &Expr, span: Span) -> Result<Val, Stop> {
        let sep = match self.eval(sep)? {
            Val::Str(t) => t.value,
            Val::Null { .. } => String::new(),
            other => {
                return Err(unevaluable(
                    self.src,
                    sep.span,
                    format!("a separator must be a string, not {}", other.describe()),
                ))
            }
        };
        let items = match self.eval(seq)? {
            Val::Array(items) => items.into_iter().map(Ok).collect(),
            Val::Seq(items) => items,
            Val::HeaderValues(why) => return Err(unevaluable(self.src, span, why)),
            Val::Null { .. } => {
                return Err(Stop::Exception {
                    exception: "ArgumentNullException".into(),
                    fragment: self.text(span),
                    why: format!("{} is null", self.text(seq.span)),
                })
            }
            other => {
                return Err(unevaluable(
                    self.src,
                    seq.span,
                    format!("string.Join of {} is not modelled", other.describe()),
                ))
            }
        };
        let mut origins = Vec::new();
        let mut parts = Vec::new();
        for item in items {
            match item? {
                Val::Str(t) => {
                    origins.push(t.origin);
                    parts.push(t.value);
                }
                Val::Null { .. } => parts.push(String::new()),
                other => {
                    return Err(unevaluable(
                        self.src,
                        span,
                        format!("string.Join of {} is not modelled", other.describe()),
                    ))
                }
            }
        }
        let value = parts.join(&sep);
        let origin = Origin::combined(&origins);
        Ok(Val::Str(Text { raw: value.clone(), value, origin, transforms: Vec::new() }))
    }

    /// A method on an `X509ExtensionCollection` or an `OidCollection`: only `Cast<T>()` and
    /// `OfType<T>()` apply to every runtime.
    pub(super) fn collection_call(
        &mut self,
        recv: Val,
        name: &str,
        type_arg: Option<&str>,
        args: &[Expr],
        span: Span,
    ) -> Result<Val, Stop> {
        match (recv, name, type_arg, args) {
            (Val::Extensions(list), "OfType" | "Cast", Some(ty), []) => {
                self.extensions_of_type(list, ty, name == "Cast", span)
            }
            (Val::Oids(oids), "OfType" | "Cast", Some(ty), []) => {
                if ty.trim_start_matches("System.Security.Cryptography.") != "Oid" {
                    return Err(unevaluable(
                        self.src,
                        span,
                        format!("the elements of an OidCollection are Oid, not {ty}"),
                    ));
                }
                Ok(Val::Seq(oids.into_iter().map(|o| Ok(Val::ExtensionOid(o))).collect()))
            }
            (Val::Extensions(_), _, _, _) => {
                Err(unevaluable(self.src, span, not_generic("X509ExtensionCollection", "X509Extension")))
            }
            (_, _, _, _) => Err(unevaluable(
                self.src,
                span,
                "OidCollection is a non-generic collection (ICollection, IEnumerable) in .NET Framework and in the dotnet/runtime sources checked: LINQ such as Any or Where needs .Cast<Oid>() first, and without it C# does not compile the policy there (CS1061)",
            )),
        }
    }

    /// Bind the lambda's parameter to `item` and evaluate its body.
    fn apply(&mut self, lambda: &Expr, item: Val) -> Result<Val, Stop> {
        let ExprKind::Lambda { param, body } = &lambda.kind else {
            return Err(unevaluable(self.src, lambda.span, "expected a lambda `x => …`"));
        };
        let scope = self.bindings.len();
        self.bindings.push((param.clone(), item));
        let r = self.eval(body);
        // An `out var` in the body is scoped to it.
        self.bindings.truncate(scope);
        r
    }

    fn predicate(&mut self, lambda: &Expr, item: Val) -> Result<bool, Stop> {
        let v = self.apply(lambda, item)?;
        self.as_bool(v, lambda)
    }

    fn empty_sequence(&self, span: Span, predicate: bool) -> Stop {
        let why = if predicate { "Sequence contains no matching element" } else { "Sequence contains no elements" };
        Stop::Exception { exception: "InvalidOperationException".into(), fragment: self.text(span), why: why.into() }
    }

    /// `Any`, `All`, `Count`, `First`, `FirstOrDefault`, `Where`, `Select`, `Contains`, `OfType` /
    /// `Cast`, on a sequence whose elements are known (each may be a deferred exception).
    pub(super) fn sequence_call(
        &mut self,
        items: Vec<Result<Val, Stop>>,
        name: &str,
        type_arg: Option<&str>,
        args: &[Expr],
        span: Span,
    ) -> Result<Val, Stop> {
        match (name, args) {
            ("Any", []) => Ok(Val::Bool(match items.into_iter().next() {
                Some(first) => first.map(|_| true)?,
                None => false,
            })),
            ("Any", [f]) => {
                for item in items {
                    if self.predicate(f, item?)? {
                        return Ok(Val::Bool(true));
                    }
                }
                Ok(Val::Bool(false))
            }
            ("All", [f]) => {
                for item in items {
                    if !self.predicate(f, item?)? {
                        return Ok(Val::Bool(false));
                    }
                }
                Ok(Val::Bool(true))
            }
            ("Count", []) | ("Count", [_]) => {
                let mut n: i32 = 0;
                for item in items {
                    let item = item?;
                    if match args.first() {
                        Some(f) => self.predicate(f, item)?,
                        None => true,
                    } {
                        n += 1;
                    }
                }
                Ok(Val::Num(Number::Int(n)))
            }
            ("First" | "FirstOrDefault", []) | ("First" | "FirstOrDefault", [_]) => {
                for item in items {
                    let item = item?;
                    let take = match args.first() {
                        Some(f) => self.predicate(f, item.clone())?,
                        None => true,
                    };
                    if take {
                        return Ok(item);
                    }
                }
                if name == "First" {
                    return Err(self.empty_sequence(span, !args.is_empty()));
                }
                // default(T): every element type modelled here is a reference type.
                Ok(Val::Null { certificate: false })
            }
            ("Where", [f]) => {
                let mut out = Vec::new();
                for item in items {
                    // Where is lazy too: an exception (the element's, or the predicate's on it)
                    // waits for whoever enumerates this far.
                    match item.and_then(|v| self.predicate(f, v.clone()).map(|keep| keep.then_some(v))) {
                        Ok(Some(v)) => out.push(Ok(v)),
                        Ok(None) => {}
                        Err(e) => {
                            out.push(Err(e));
                            break;
                        }
                    }
                }
                Ok(Val::Seq(out))
            }
            ("Select", [f]) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        Ok(v) => out.push(self.apply(f, v)),
                        Err(e) => out.push(Err(e)),
                    }
                    if out.last().is_some_and(Result::is_err) {
                        break;
                    }
                }
                Ok(Val::Seq(out))
            }
            // Enumerable.Contains with the default comparer: ordinal equality for strings.
            ("Contains", [needle]) => {
                let needle = self.eval(needle)?;
                for item in items {
                    let item = item?;
                    if !matches!(item, Val::Str(_) | Val::Null { .. }) {
                        return Err(unevaluable(
                            self.src,
                            span,
                            format!("Contains on a sequence of {} is not modelled", item.describe()),
                        ));
                    }
                    if let Val::Bool(true) =
                        self.string_equals(item, needle.clone(), StrCmp::Ordinal, "Contains", span)?
                    {
                        return Ok(Val::Bool(true));
                    }
                }
                Ok(Val::Bool(false))
            }
            ("OfType" | "Cast", []) => match type_arg.map(|t| t.trim_start_matches("System.")) {
                Some("string" | "String" | "object" | "Object") => Ok(Val::Seq(items)),
                _ => Err(unevaluable(
                    self.src,
                    span,
                    format!("{name}<{}>() on this sequence is not modelled", type_arg.unwrap_or("?")),
                )),
            },
            ("ToArray" | "ToList", []) => {
                let mut out = Vec::new();
                for item in items {
                    out.push(item?);
                }
                Ok(Val::Array(out))
            }
            _ => Err(unevaluable(
                self.src,
                span,
                format!("method `{name}` with {} argument(s) on a sequence is not supported", args.len()),
            )),
        }
    }
}
