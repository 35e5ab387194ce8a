//! String methods, string equality and ordering comparisons as .NET performs them, and the record of
//! each comparison between a certificate property and what the policy supplies.

use super::super::expr::{BinOp, Expr, Span};
use super::super::Comparison;
use super::value::{culture_safe, map_case, Casing, DateOrigin, Origin, StrCmp, Text, Val};
use super::{unevaluable, ExprEval, Stop};
use crate::cert::rfc3339;

impl ExprEval<'_, '_> {
    pub(super) fn comparison_arg(&mut self, e: &Expr) -> Result<StrCmp, Stop> {
        match self.eval(e)? {
            Val::Comparison(c) => Ok(c),
            other => {
                Err(unevaluable(self.src, e.span, format!("expected a StringComparison, found {}", other.describe())))
            }
        }
    }

    pub(super) fn string_method(&mut self, text: Text, name: &str, args: &[Expr], span: Span) -> Result<Val, Stop> {
        let transform = |mut t: Text, new_value: String| {
            t.value = new_value;
            t.transforms.push(format!("{name}()"));
            Val::Str(t)
        };
        match (name, args.len()) {
            ("ToUpper" | "ToUpperInvariant" | "ToLower" | "ToLowerInvariant", 0) => {
                let casing = if name.ends_with("Invariant") { Casing::Invariant } else { Casing::Culture };
                let v = map_case(&text.value, name.starts_with("ToUpper"), casing);
                Ok(transform(text, v))
            }
            ("Trim", 0) => {
                // char.IsWhiteSpace matches Unicode White_Space; U+200E and U+FEFF are not trimmed.
                let v = text.value.trim_matches(char::is_whitespace).to_string();
                Ok(transform(text, v))
            }
            // String.Replace(string, string) is ordinal; a null replacement removes the text.
            ("Replace", 2) => {
                let throw = |me: &Self, exception: &str, why: &str| Stop::Exception {
                    exception: exception.into(),
                    fragment: me.text(span),
                    why: why.into(),
                };
                let old = match self.eval(&args[0])? {
                    Val::Str(t) if t.value.is_empty() => {
                        return Err(throw(self, "ArgumentException", "the text to replace is empty"))
                    }
                    Val::Str(t) => t.value,
                    Val::Null { .. } => {
                        return Err(throw(self, "ArgumentNullException", "the text to replace is null"))
                    }
                    other => {
                        return Err(unevaluable(
                            self.src,
                            args[0].span,
                            format!("expected a string, found {}", other.describe()),
                        ))
                    }
                };
                let new = match self.eval(&args[1])? {
                    Val::Str(t) => t.value,
                    Val::Null { .. } => String::new(),
                    other => {
                        return Err(unevaluable(
                            self.src,
                            args[1].span,
                            format!("expected a string, found {}", other.describe()),
                        ))
                    }
                };
                let v = text.value.replace(&old, &new);
                Ok(transform(text, v))
            }
            ("Equals", 1) | ("Equals", 2) => {
                let other = self.eval(&args[0])?;
                let cmp = match args.get(1) {
                    Some(c) => self.comparison_arg(c)?,
                    None => StrCmp::Ordinal,
                };
                self.string_equals(Val::Str(text), other, cmp, "Equals", span)
            }
            ("Contains" | "StartsWith" | "EndsWith", 1) | ("Contains" | "StartsWith" | "EndsWith", 2) => {
                let arg = match self.eval(&args[0])? {
                    Val::Str(t) => t,
                    // string.Contains(char) is .NET Core 2.1+, and on .NET Framework LINQ's
                    // Contains<char> applies: an ordinal search either way.
                    Val::Char(c) if name == "Contains" && args.len() == 1 => return Ok(Val::Bool(text.value.contains(c))),
                    Val::Char(_) => {
                        return Err(unevaluable(
                            self.src,
                            span,
                            format!("{name}(char) exists only in .NET Core 2.0 and later (on .NET Framework it does not compile), and which runtime API Management compiles expressions for is not documented"),
                        ))
                    }
                    Val::Null { .. } => {
                        return Err(Stop::Exception {
                            exception: "ArgumentNullException".into(),
                            fragment: self.text(span),
                            why: format!("the argument of {name} is null"),
                        })
                    }
                    other => {
                        return Err(unevaluable(
                            self.src,
                            args[0].span,
                            format!("expected a string, found {}", other.describe()),
                        ))
                    }
                };
                // Contains(string) is ordinal; StartsWith/EndsWith(string) use the current culture.
                let cmp = match args.get(1) {
                    Some(c) => self.comparison_arg(c)?,
                    None if name == "Contains" => StrCmp::Ordinal,
                    None => StrCmp::Culture { ignore_case: false },
                };
                // A prefix (suffix) test depends on the start (end) of the text only: the needle's
                // length plus one character, so a character that follows (a combining mark) is seen.
                let n = arg.value.chars().count() + 1;
                let window: String = match (name, cmp) {
                    ("StartsWith", StrCmp::Culture { .. }) => text.value.chars().take(n).collect(),
                    ("EndsWith", StrCmp::Culture { .. }) => {
                        let chars: Vec<char> = text.value.chars().collect();
                        chars[chars.len().saturating_sub(n)..].iter().collect()
                    }
                    _ => text.value.clone(),
                };
                let (hay, needle) = self.folded(&window, &arg.value, cmp, span)?;
                let result = match name {
                    "Contains" => hay.contains(&needle),
                    "StartsWith" => hay.starts_with(&needle),
                    _ => hay.ends_with(&needle),
                };
                let ci = matches!(cmp, StrCmp::OrdinalIgnoreCase | StrCmp::Culture { ignore_case: true });
                self.record(name, &Val::Str(text), &Val::Str(arg), result, ci);
                Ok(Val::Bool(result))
            }
            _ => Err(unevaluable(
                self.src,
                span,
                format!("method `{name}` with {} argument(s) on a string is not supported", args.len()),
            )),
        }
    }

    /// The two strings as the comparison sees them (upper-cased when it ignores case).
    fn folded(&self, a: &str, b: &str, cmp: StrCmp, span: Span) -> Result<(String, String), Stop> {
        match cmp {
            StrCmp::Ordinal => Ok((a.to_string(), b.to_string())),
            StrCmp::OrdinalIgnoreCase => {
                Ok((map_case(a, true, Casing::Invariant), map_case(b, true, Casing::Invariant)))
            }
            StrCmp::Culture { ignore_case } => {
                if !(culture_safe(a) && culture_safe(b)) {
                    return Err(unevaluable(
                        self.src,
                        span,
                        "culture-sensitive comparison of text beyond printable ASCII (or with - or '): ignorable characters such as U+200E, and word-sort weights, can make it differ from an ordinal one",
                    ));
                }
                if ignore_case {
                    Ok((a.to_ascii_uppercase(), b.to_ascii_uppercase()))
                } else {
                    Ok((a.to_string(), b.to_string()))
                }
            }
        }
    }

    pub(super) fn string_equals(
        &mut self,
        left: Val,
        right: Val,
        cmp: StrCmp,
        op: &str,
        span: Span,
    ) -> Result<Val, Stop> {
        let result = match (&left, &right) {
            (Val::Null { .. }, Val::Null { .. }) => true,
            (Val::Null { .. }, Val::Str(_)) | (Val::Str(_), Val::Null { .. }) => false,
            (Val::Str(a), Val::Str(b)) => {
                let (x, y) = self.folded(&a.value, &b.value, cmp, span)?;
                x == y
            }
            (a, b) => {
                return Err(unevaluable(
                    self.src,
                    span,
                    format!("{op} of {} with {} is not supported", a.describe(), b.describe()),
                ))
            }
        };
        let ci = matches!(cmp, StrCmp::OrdinalIgnoreCase | StrCmp::Culture { ignore_case: true });
        self.record(op, &left, &right, result, ci);
        Ok(Val::Bool(result))
    }

    pub(super) fn compare(&mut self, op: BinOp, l: Val, r: Val, span: Span) -> Result<Val, Stop> {
        let eq_result = match (&l, &r) {
            (Val::Null { .. }, Val::Null { .. }) => Some(true),
            // A null bool?/DateTime? (from `?.`) equals no value: lifted equality.
            (
                Val::Null { .. },
                Val::Str(_) | Val::Cert | Val::Date(_) | Val::Bool(_) | Val::Num(_) | Val::TimeSpan(_) | Val::Flags(_),
            )
            | (
                Val::Str(_) | Val::Cert | Val::Date(_) | Val::Bool(_) | Val::Num(_) | Val::TimeSpan(_) | Val::Flags(_),
                Val::Null { .. },
            ) => Some(false),
            // Arrays, sequences and collections are references: never null once obtained.
            (Val::Null { .. }, Val::Array(_) | Val::HeaderValues(_) | Val::Seq(_) | Val::Oids(_) | Val::Json(_))
            | (Val::Array(_) | Val::HeaderValues(_) | Val::Seq(_) | Val::Oids(_) | Val::Json(_), Val::Null { .. }) => {
                Some(false)
            }
            (Val::Flags(a), Val::Flags(b)) => Some(a == b),
            (Val::Char(a), Val::Char(b)) => Some(a == b),
            // A char converts to int: 'A' == 65.
            (Val::Char(c), Val::Num(n)) | (Val::Num(n), Val::Char(c)) => {
                Some(super::number::compare(super::number::Number::Int(*c as i32), *n) == Some(std::cmp::Ordering::Equal))
            }
            (Val::Char(_), Val::Str(_)) | (Val::Str(_), Val::Char(_)) => {
                return Err(unevaluable(
                    self.src,
                    span,
                    format!("CS0019: Operator '{}' cannot be applied to operands of type 'char' and 'string' (C# would not compile it)", op.symbol()),
                ))
            }
            // The constant 0 converts to any enum type; C# compares flags with it after a mask.
            (Val::Flags(a), Val::Num(super::number::Number::Int(0)))
            | (Val::Num(super::number::Number::Int(0)), Val::Flags(a)) => Some(*a == 0),
            (Val::TimeSpan(a), Val::TimeSpan(b)) => Some(a == b),
            (Val::Null { .. }, Val::Extension(_)) | (Val::Extension(_), Val::Null { .. }) => Some(false),
            // A constructed certificate is never null.
            (Val::Null { .. }, Val::Built(_) | Val::EmptyBuilt)
            | (Val::Built(_) | Val::EmptyBuilt, Val::Null { .. }) => Some(false),
            (Val::Str(a), Val::Str(b)) => Some(a.value == b.value),
            (Val::Bool(a), Val::Bool(b)) => Some(a == b),
            (Val::Num(a), Val::Num(b)) => Some(super::number::compare(*a, *b) == Some(std::cmp::Ordering::Equal)),
            (Val::Date(a), Val::Date(b)) => Some(a.t == b.t),
            _ => None,
        };
        let result = match op {
            BinOp::Eq | BinOp::Ne => match eq_result {
                Some(eq) => {
                    if op == BinOp::Eq {
                        eq
                    } else {
                        !eq
                    }
                }
                None => {
                    return Err(unevaluable(
                        self.src,
                        span,
                        format!("comparing {} with {} is not supported", l.describe(), r.describe()),
                    ))
                }
            },
            _ => {
                let ordering = match (&l, &r) {
                    // Lifted `<`, `>`, `<=`, `>=` are false when either side is null.
                    (Val::Null { .. }, Val::Date(_) | Val::Num(_) | Val::TimeSpan(_))
                    | (Val::Date(_) | Val::Num(_) | Val::TimeSpan(_), Val::Null { .. }) => return Ok(Val::Bool(false)),
                    (Val::Date(a), Val::Date(b)) => a.t.partial_cmp(&b.t),
                    (Val::Num(a), Val::Num(b)) => super::number::compare(*a, *b),
                    (Val::TimeSpan(a), Val::TimeSpan(b)) => Some(a.cmp(b)),
                    _ => {
                        return Err(unevaluable(
                            self.src,
                            span,
                            format!("`{}` between {} and {} is not supported", op.symbol(), l.describe(), r.describe()),
                        ))
                    }
                };
                match (op, ordering) {
                    (BinOp::Lt, Some(o)) => o.is_lt(),
                    (BinOp::Gt, Some(o)) => o.is_gt(),
                    (BinOp::Le, Some(o)) => o.is_le(),
                    (BinOp::Ge, Some(o)) => o.is_ge(),
                    _ => false,
                }
            }
        };
        self.record(op.symbol(), &l, &r, result, false);
        Ok(Val::Bool(result))
    }

    /// Record a comparison when one side is a certificate property and the other is something the
    /// policy supplies (a literal, an uploaded certificate's thumbprint, the clock, `null`).
    fn record(&mut self, op: &str, l: &Val, r: &Val, result: bool, case_insensitive: bool) {
        let side = |v: &Val| -> Option<Side> {
            match v {
                Val::Str(Text { origin: Origin::Header, .. }) => None,
                Val::Str(t) => Some(match t.origin {
                    Origin::Cert(p) => Side::Cert {
                        property: p.name().to_string(),
                        actual: Some(t.raw.clone()),
                        compared: Some(t.value.clone()),
                        transforms: t.transforms.iter().map(|x| format!("{}.{x}", p.name())).collect(),
                    },
                    Origin::Literal => Side::Given {
                        literal: t.raw.clone(),
                        source: "literal".into(),
                        compared: t.value.clone(),
                        transforms: t.transforms.iter().map(|x| format!("literal.{x}")).collect(),
                    },
                    Origin::Header | Origin::Computed => return None,
                    Origin::Deployment(i) => Side::Given {
                        literal: t.raw.clone(),
                        source: format!("deployment certificate {}", i + 1),
                        compared: t.value.clone(),
                        transforms: t.transforms.iter().map(|x| format!("deployment.{x}")).collect(),
                    },
                }),
                Val::Date(d) => Some(match &d.origin {
                    DateOrigin::Cert(p) => Side::Cert {
                        property: p.name().to_string(),
                        actual: Some(rfc3339(d.raw)),
                        compared: Some(rfc3339(d.t)),
                        transforms: d.transforms.iter().map(|x| format!("{}.{x}", p.name())).collect(),
                    },
                    DateOrigin::Now { source } => Side::Given {
                        literal: d.text.clone(),
                        source: source.to_string(),
                        compared: rfc3339(d.t),
                        transforms: d.transforms.clone(),
                    },
                }),
                Val::Cert => Some(Side::Cert {
                    property: "Certificate".into(),
                    actual: self.input.cert.map(|c| c.subject.clone()),
                    compared: self.input.cert.map(|c| c.subject.clone()),
                    transforms: Vec::new(),
                }),
                Val::Null { certificate: true } => Some(Side::Cert {
                    property: "Certificate".into(),
                    actual: None,
                    compared: None,
                    transforms: Vec::new(),
                }),
                Val::Null { certificate: false } => Some(Side::Given {
                    literal: "null".into(),
                    source: "null".into(),
                    compared: "null".into(),
                    transforms: Vec::new(),
                }),
                _ => None,
            }
        };
        let (Some(a), Some(b)) = (side(l), side(r)) else { return };
        let (cert, given, property_is_left) = match (a, b) {
            (c @ Side::Cert { .. }, g @ Side::Given { .. }) => (c, g, true),
            (g @ Side::Given { .. }, c @ Side::Cert { .. }) => (c, g, false),
            _ => return,
        };
        let (
            Side::Cert { property, actual, compared: compared_actual, transforms: mut t1 },
            Side::Given { literal, source, compared: compared_literal, transforms: t2 },
        ) = (cert, given)
        else {
            return;
        };
        t1.extend(t2);
        self.comparisons.push(Comparison {
            path: self.path.to_string(),
            clause: self.clause,
            clause_text: self.clause_text.clone(),
            property,
            operator: op.to_string(),
            property_is_left,
            literal,
            literal_source: source,
            actual,
            compared_literal,
            compared_actual,
            transforms: t1,
            result,
            case_insensitive,
            evaluated: !self.shadow,
        });
    }
}

enum Side {
    Cert { property: String, actual: Option<String>, compared: Option<String>, transforms: Vec<String> },
    Given { literal: String, source: String, compared: String, transforms: Vec<String> },
}
