//! C# conditions: evaluates the subset of policy expressions that judge a client certificate
//! (`context.Request.Certificate…`, `context.Deployment.Certificates`, string and date comparisons),
//! recording every comparison; anything outside the subset is reported as not evaluable.

mod block;
mod body;
mod chars;
mod condition;
mod dates;
mod extensions;
mod forwarded;
mod headers;
mod index;
mod json;
mod linq;
mod math;
mod names;
mod number;
mod strings;
mod typed;
mod value;
mod vars;

pub(super) use condition::{named_value, CondResult};
pub(super) use vars::Variables;

use self::value::{CertProp, Date, DateOrigin, Origin, StrCmp, Text, TypeName, Val};
use super::expr::{BinOp, Expr, ExprKind, Span};
use super::{Comparison, PolicyInput, VerifyCall};
use crate::cert::CertInfo;

/// Why evaluation stopped.
#[derive(Debug, Clone)]
enum Stop {
    /// C# would throw: the gateway answers 500.
    Exception {
        exception: String,
        fragment: String,
        why: String,
    },
    Unevaluable {
        fragment: String,
        why: String,
    },
}

struct ExprEval<'a, 'b> {
    input: &'a PolicyInput<'b>,
    src: &'a str,
    path: &'a str,
    clause: usize,
    clause_text: String,
    /// Evaluating what C# short-circuits, only to record its comparisons.
    shadow: bool,
    bindings: Vec<(String, Val)>,
    comparisons: Vec<Comparison>,
    verify_calls: Vec<VerifyCall>,
    /// `context.LastError`: set only while on-error runs after a policy failed.
    last_error: Option<super::LastError>,
    /// A `?.` in the member chain being evaluated met null: the rest of that chain is null too.
    short_circuit: bool,
    /// `context.Variables` as set so far by `set-variable`, in document order.
    variables: Variables,
    /// Operands that could not be evaluated but did not matter (`unknown || true`): (fragment, why).
    masked: Vec<(String, String)>,
}

fn unevaluable(src: &str, span: Span, why: impl Into<String>) -> Stop {
    Stop::Unevaluable { fragment: span.text(src).to_string(), why: why.into() }
}

impl ExprEval<'_, '_> {
    /// `context.Deployment.Certificates`, or why it is not known.
    fn deployment(&self) -> Result<&[super::DeploymentCertificate], Stop> {
        self.input.deployment_certificates.as_deref().ok_or_else(|| Stop::Unevaluable {
            fragment: "context.Deployment.Certificates".into(),
            why: super::DEPLOYMENT_UNKNOWN.into(),
        })
    }

    fn text(&self, span: Span) -> String {
        span.text(self.src).to_string()
    }

    fn shadow_eval(&mut self, e: &Expr) {
        let was = self.shadow;
        self.shadow = true;
        let _ = self.eval(e);
        self.shadow = was;
    }

    fn as_bool(&self, v: Val, e: &Expr) -> Result<bool, Stop> {
        match v {
            Val::Bool(b) => Ok(b),
            Val::Object(_) => Err(unevaluable(
                self.src,
                e.span,
                "an object (context.Variables[…]) is not a boolean: C# needs a cast, (bool)…, to use it as one",
            )),
            other => Err(unevaluable(self.src, e.span, format!("expected a boolean, found {}", other.describe()))),
        }
    }

    fn null_reference(&self, target: &Expr, whole: Span) -> Stop {
        Stop::Exception {
            exception: "NullReferenceException".into(),
            fragment: self.text(whole),
            why: format!("{} is null", self.text(target.span)),
        }
    }

    /// Evaluate `e` as a whole expression: a `?.` inside it stops at its end.
    fn eval(&mut self, e: &Expr) -> Result<Val, Stop> {
        let v = self.eval_chain(e);
        self.short_circuit = false;
        v
    }

    /// The target of a member access or call: `a?.B.C` is null when `a` is, without an exception.
    fn chain_target(&mut self, target: &Expr, null_cond: bool) -> Result<Option<Val>, Stop> {
        let t = self.eval_chain(target)?;
        if self.short_circuit || (null_cond && matches!(t, Val::Null { .. })) {
            self.short_circuit = true;
            return Ok(None);
        }
        Ok(Some(t))
    }

    fn eval_chain(&mut self, e: &Expr) -> Result<Val, Stop> {
        match &e.kind {
            ExprKind::Str(s) => {
                Ok(Val::Str(Text { value: s.clone(), raw: s.clone(), origin: Origin::Literal, transforms: Vec::new() }))
            }
            ExprKind::Num(_) | ExprKind::Int { .. } => {
                self.number_literal(e).ok_or_else(|| unevaluable(self.src, e.span, "not a number"))
            }
            ExprKind::Out { .. } => {
                Err(unevaluable(self.src, e.span, "an `out` argument is only supported in TryGetValue and TryParse"))
            }
            ExprKind::As { ty, operand } => self.as_conversion(ty, operand, e.span),
            ExprKind::Is { ty, bind, operand } => self.is_pattern(ty, bind.as_deref(), operand, e.span),
            ExprKind::Bool(b) => Ok(Val::Bool(*b)),
            ExprKind::Char(c) => Ok(Val::Char(*c)),
            ExprKind::Null => Ok(Val::Null { certificate: false }),
            ExprKind::Paren(inner) => self.eval(inner),
            ExprKind::Ident(name) => self.ident(name, e.span),
            ExprKind::Member { target, name, null_cond } => match self.chain_target(target, *null_cond)? {
                Some(t) => self.member(t, target, name, e.span),
                None => Ok(Val::Null { certificate: false }),
            },
            ExprKind::Call { target, name, args, null_cond, type_arg } => {
                match self.chain_target(target, *null_cond)? {
                    Some(recv) => self.call(recv, target, name, type_arg.as_deref(), args, e.span),
                    None => Ok(Val::Null { certificate: false }),
                }
            }
            ExprKind::Array(items) => {
                let mut vals = Vec::with_capacity(items.len());
                for item in items {
                    match self.eval(item)? {
                        v @ (Val::Str(_) | Val::Null { .. }) => vals.push(v),
                        other => {
                            return Err(unevaluable(
                                self.src,
                                item.span,
                                format!("a string array element must be a string, found {}", other.describe()),
                            ))
                        }
                    }
                }
                Ok(Val::Array(vals))
            }
            ExprKind::NewCertificate(args) => self.new_certificate(args, e.span),
            ExprKind::Conditional { cond, then, otherwise } => self.conditional(cond, then, otherwise),
            ExprKind::Index { target, index, null_cond } => self.index(target, index, *null_cond, e.span),
            ExprKind::Cast { ty, operand } => self.cast(ty, operand, e.span),
            ExprKind::Coalesce { left, right } => match self.eval(left)? {
                Val::Null { .. } => self.eval(right),
                v => {
                    self.shadow_eval(right);
                    Ok(v)
                }
            },
            ExprKind::Lambda { .. } => {
                Err(unevaluable(self.src, e.span, "a lambda is only supported as the argument of Any()"))
            }
            ExprKind::Not(inner) => {
                let v = self.eval(inner)?;
                Ok(Val::Bool(!self.as_bool(v, inner)?))
            }
            ExprKind::Neg(inner) => {
                let v = self.eval(inner)?;
                self.negate(v, e.span)
            }
            ExprKind::Binary { op: op @ (BinOp::Or | BinOp::And), left, right } => {
                // `||` stops at true, `&&` at false; an unknown left operand is decided by the right
                // one when that is the stopping value (`unknown || true` is true), else stays unknown.
                let stop = *op == BinOp::Or;
                match self.eval(left).and_then(|l| self.as_bool(l, left)) {
                    Ok(b) if b == stop => {
                        self.shadow_eval(right);
                        Ok(Val::Bool(stop))
                    }
                    Ok(_) => {
                        let r = self.eval(right)?;
                        Ok(Val::Bool(self.as_bool(r, right)?))
                    }
                    Err(unknown @ Stop::Unevaluable { .. }) => {
                        match self.eval(right).and_then(|r| self.as_bool(r, right)) {
                            Ok(b) if b == stop => {
                                if let Stop::Unevaluable { fragment, why } = unknown {
                                    self.masked.push((fragment, why));
                                }
                                Ok(Val::Bool(stop))
                            }
                            _ => Err(unknown),
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            ExprKind::Binary { op: op @ (BinOp::BitAnd | BinOp::BitOr), left, right } => {
                let l = self.eval(left)?;
                let r = self.eval(right)?;
                self.bitwise(*op, l, r, e.span)
            }
            ExprKind::Binary {
                op: op @ (BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem),
                left,
                right,
            } => {
                let l = self.eval(left)?;
                let r = self.eval(right)?;
                let result = self.arithmetic(*op, l, r, e.span);
                self.on_constants(result, left, right, e.span)
            }
            ExprKind::Binary { op, left, right } => {
                let l = self.eval(left)?;
                let r = self.eval(right)?;
                if let Some(result) = self.object_compare(*op, &l, &r, e.span) {
                    return result;
                }
                self.compare(*op, l, r, e.span)
            }
        }
    }

    fn ident(&self, name: &str, span: Span) -> Result<Val, Stop> {
        if let Some((_, v)) = self.bindings.iter().rev().find(|(n, _)| n == name) {
            if let Val::Unassigned = v {
                return Err(unevaluable(
                    self.src,
                    span,
                    format!("CS0165: Use of unassigned local variable '{name}' (C# would not compile it)"),
                ));
            }
            return Ok(v.clone());
        }
        match name {
            "context" => Ok(Val::Context),
            "DateTime" => Ok(Val::Type(TypeName::DateTime)),
            "string" | "String" => Ok(Val::Type(TypeName::String)),
            "StringComparison" => Ok(Val::Type(TypeName::StringComparison)),
            "X509NameType" => Ok(Val::Type(TypeName::X509NameType)),
            "Convert" => Ok(Val::Type(TypeName::Convert)),
            "WebUtility" | "Uri" | "System" => Ok(forwarded::decoder_type(name)),
            "int" | "Int32" => Ok(Val::Type(TypeName::Int)),
            "long" | "Int64" => Ok(Val::Type(TypeName::Long)),
            "double" | "Double" => Ok(Val::Type(TypeName::Double)),
            "TimeSpan" => Ok(Val::Type(TypeName::TimeSpan)),
            "X509KeyUsageFlags" => Ok(Val::Type(TypeName::X509KeyUsageFlags)),
            "Math" => Ok(Val::Type(TypeName::Math)),
            "JObject" => Ok(Val::Type(TypeName::JObject)),
            _ => Err(unevaluable(self.src, span, format!("unknown name `{name}`"))),
        }
    }

    fn cert_text(&self, cert: &CertInfo, prop: CertProp) -> Val {
        let value = match prop {
            CertProp::Thumbprint => cert.thumbprint_sha1.clone(),
            CertProp::Issuer | CertProp::IssuerNameName => cert.issuer.clone(),
            CertProp::Subject | CertProp::SubjectNameName => cert.subject.clone(),
            CertProp::SerialNumber => cert.serial.clone(),
            CertProp::NotBefore => cert.not_before.clone(),
            CertProp::NotAfter => cert.not_after.clone(),
            CertProp::NameInfo { kind, issuer } => names::name_info(cert, kind, issuer).unwrap_or_default(),
        };
        Val::Str(Text { raw: value.clone(), value, origin: Origin::Cert(prop), transforms: Vec::new() })
    }

    fn member(&mut self, target: Val, target_expr: &Expr, name: &str, span: Span) -> Result<Val, Stop> {
        let unknown = |me: &Self, what: &str| {
            Err(unevaluable(me.src, span, format!("member `{name}` of {what} is not supported")))
        };
        match target {
            Val::Null { .. } => Err(self.null_reference(target_expr, span)),
            Val::Context => match name {
                "Request" => Ok(Val::Request),
                "Deployment" => Ok(Val::Deployment),
                "Variables" => Ok(Val::Variables),
                // Outside on-error (or after an exception this tool does not name) there is no
                // recorded error: a policy failure is the only source modelled.
                "LastError" => {
                    Ok(if self.last_error.is_some() { Val::LastError } else { Val::Null { certificate: false } })
                }
                _ => unknown(self, "context"),
            },
            Val::Request => match name {
                "Certificate" => Ok(match self.input.cert {
                    Some(_) => Val::Cert,
                    None => Val::Null { certificate: true },
                }),
                "Headers" => Ok(Val::Headers),
                "Body" => self.request_body(span),
                _ => unknown(self, "context.Request"),
            },
            Val::Deployment => match name {
                "Certificates" => Ok(Val::DeploymentCertificates),
                _ => unknown(self, "context.Deployment"),
            },
            Val::LastError => {
                let Some(err) = &self.last_error else { return Err(self.null_reference(target_expr, span)) };
                let value = match name {
                    "Source" => err.source.clone(),
                    "Reason" => match &err.reason {
                        Some(r) => r.clone(),
                        None => {
                            let why = err.reason_unknown.clone().unwrap_or_else(|| "the reason is not known".into());
                            return Err(unevaluable(self.src, span, why));
                        }
                    },
                    _ => return unknown(self, "context.LastError"),
                };
                Ok(Val::Str(Text { raw: value.clone(), value, origin: Origin::Literal, transforms: Vec::new() }))
            }
            Val::Cert => {
                let Some(cert) = self.input.cert else {
                    return Err(self.null_reference(target_expr, span));
                };
                let prop = match name {
                    "Thumbprint" => CertProp::Thumbprint,
                    "Issuer" => CertProp::Issuer,
                    "Subject" => CertProp::Subject,
                    "SerialNumber" => CertProp::SerialNumber,
                    "SubjectName" => return Ok(Val::Name(CertProp::SubjectNameName)),
                    "Extensions" => {
                        return extensions::extensions_of(cert)
                            .map(Val::Extensions)
                            .map_err(|why| unevaluable(self.src, span, why))
                    }
                    "IssuerName" => return Ok(Val::Name(CertProp::IssuerNameName)),
                    "NotBefore" | "NotAfter" => {
                        let prop = if name == "NotBefore" { CertProp::NotBefore } else { CertProp::NotAfter };
                        let t = if name == "NotBefore" { cert.not_before_time() } else { cert.not_after_time() };
                        // X509Certificate2 returns local time; the gateway's clock is UTC, so they agree.
                        let Some(t) = t else {
                            return Err(unevaluable(self.src, span, "the certificate's validity date is unreadable"));
                        };
                        return Ok(Val::Date(Date {
                            t,
                            raw: t,
                            origin: DateOrigin::Cert(prop),
                            text: self.text(span),
                            transforms: Vec::new(),
                        }));
                    }
                    _ => return unknown(self, "the certificate"),
                };
                Ok(self.cert_text(cert, prop))
            }
            Val::Name(prop) => match (name, self.input.cert) {
                ("Name", Some(cert)) => Ok(self.cert_text(cert, prop)),
                ("Name", None) => Err(self.null_reference(target_expr, span)),
                _ => unknown(self, "an X500DistinguishedName"),
            },
            Val::DeploymentEntry(i) => match name {
                "Value" => Ok(Val::DeploymentCert(i)),
                "Key" => {
                    let value = self.deployment()?.get(i).map(|c| c.id.clone()).unwrap_or_default();
                    Ok(Val::Str(Text { raw: value.clone(), value, origin: Origin::Literal, transforms: Vec::new() }))
                }
                _ => unknown(self, "a certificate entry"),
            },
            Val::DeploymentCert(i) => match name {
                "Thumbprint" => {
                    let value = self.deployment()?.get(i).map(|c| c.thumbprint.clone()).unwrap_or_default();
                    Ok(Val::Str(Text {
                        raw: value.clone(),
                        value,
                        origin: Origin::Deployment(i),
                        transforms: Vec::new(),
                    }))
                }
                _ => unknown(self, "an uploaded certificate"),
            },
            Val::Type(TypeName::DateTime) => match name {
                "UtcNow" | "Now" => {
                    let source = if name == "UtcNow" { "DateTime.UtcNow" } else { "DateTime.Now" };
                    let t = self.input.now;
                    Ok(Val::Date(Date {
                        t,
                        raw: t,
                        origin: DateOrigin::Now { source },
                        text: self.text(span),
                        transforms: Vec::new(),
                    }))
                }
                _ => unknown(self, "DateTime"),
            },
            Val::Built(cert) => self.built_member(&cert, name, span),
            Val::EmptyBuilt => Err(self.empty_built(name, span)),
            Val::Extensions(list) => self.extensions_member(&list, name, span),
            Val::Extension(ext) => match self.typed_extension_member(&ext, name, span) {
                Some(r) => r,
                None => self.extension_member(&ext, name, span),
            },
            // string.Length counts UTF-16 code units.
            Val::Str(t) if name == "Length" => Ok(Val::Num(number::Number::Int(t.value.encode_utf16().count() as i32))),
            Val::Array(items) if name == "Length" => Ok(Val::Num(number::Number::Int(items.len() as i32))),
            Val::Array(_) if name == "Count" => Err(unevaluable(
                self.src,
                span,
                "an array has Length, not a Count property (C# would not compile it; LINQ's Count() would)",
            )),
            Val::HeaderValues(why) => Err(unevaluable(self.src, span, why)),
            Val::TimeSpan(ticks) => self.timespan_member(ticks, name, span),
            Val::Date(d) if matches!(name, "Year" | "Month" | "Day" | "Hour" | "Minute" | "Second" | "DayOfYear") => {
                Ok(dates::date_part(&d, name))
            }
            Val::DeploymentCertificates if name == "Count" => {
                Ok(Val::Num(number::Number::Int(self.deployment()?.len() as i32)))
            }
            Val::Oids(oids) => self.oids_member(&oids, name, span),
            Val::Type(ty @ (TypeName::Int | TypeName::Long | TypeName::Double | TypeName::TimeSpan)) => {
                self.number_type_member(ty, name, span)
            }
            Val::Type(TypeName::X509KeyUsageFlags) => typed::key_usage_flag(name)
                .map(Val::Flags)
                .ok_or_else(|| unevaluable(self.src, span, format!("X509KeyUsageFlags.{name} is not a flag .NET has"))),
            Val::ExtensionOid(oid) => self.extension_oid_member(&oid, name, span),
            Val::Object(inner) => Err(unevaluable(
                self.src,
                span,
                format!("an object holding {} has no member `{name}` in C# (cast it first)", inner.describe()),
            )),
            Val::Type(TypeName::Namespace(ns)) => forwarded::namespace_member(ns, name)
                .ok_or_else(|| unevaluable(self.src, span, format!("{ns}.{name} is not supported"))),
            Val::Type(TypeName::X509NameType) => names::name_type(name)
                .map(Val::NameType)
                .ok_or_else(|| unevaluable(self.src, span, format!("X509NameType.{name} is not a name type .NET has"))),
            Val::Type(TypeName::StringComparison) => {
                let cmp = match name {
                    "Ordinal" => StrCmp::Ordinal,
                    "OrdinalIgnoreCase" => StrCmp::OrdinalIgnoreCase,
                    "CurrentCulture" | "InvariantCulture" => StrCmp::Culture { ignore_case: false },
                    "CurrentCultureIgnoreCase" | "InvariantCultureIgnoreCase" => StrCmp::Culture { ignore_case: true },
                    _ => return unknown(self, "StringComparison"),
                };
                Ok(Val::Comparison(cmp))
            }
            other => unknown(self, other.describe()),
        }
    }

    fn call(
        &mut self,
        recv: Val,
        target: &Expr,
        name: &str,
        type_arg: Option<&str>,
        args: &[Expr],
        span: Span,
    ) -> Result<Val, Stop> {
        if let Val::Null { .. } = recv {
            return Err(self.null_reference(target, span));
        }
        let unsupported = |me: &Self, what: &str| {
            Err(unevaluable(
                me.src,
                span,
                format!("method `{name}` with {} argument(s) on {what} is not supported", args.len()),
            ))
        };
        match recv {
            Val::Cert => match (name, args.len()) {
                ("Verify", 0) | ("VerifyNoRevocation", 0) => {
                    let (full, chain, revocation) =
                        (self.input.verify_ok, self.input.verify_no_revocation_ok, self.input.revocation);
                    self.verify_call(name, full, chain, revocation, None, span)
                }
                ("GetNameInfo", 2) => self.get_name_info(args, span),
                _ => unsupported(self, "the certificate"),
            },
            Val::Str(text)
                if matches!(name, "Split" | "IndexOf" | "TrimStart" | "TrimEnd")
                    || (name == "Trim" && !args.is_empty()) =>
            {
                self.char_method(text, name, args, span)
            }
            Val::Str(text) => self.string_method(text, name, args, span),
            Val::Variables => self.variables_call(name, type_arg, args, span),
            Val::Type(TypeName::Convert) if matches!((name, args.len()), ("ToInt32" | "ToInt64" | "ToDouble", 1)) => {
                self.convert_number(name, &args[0], span)
            }
            Val::Type(TypeName::Convert) => self.convert_call(name, args, span),
            Val::EmptyBuilt => Err(self.empty_built(name, span)),
            Val::Type(TypeName::UrlDecoder(ty)) => self.url_decode_call(ty, name, args, span),
            Val::Built(cert) => self.built_call(&cert, name, args, span),
            Val::Type(ty @ (TypeName::Int | TypeName::Long | TypeName::Double | TypeName::TimeSpan)) => {
                self.number_type_call(ty, name, args, span)
            }
            Val::Type(TypeName::DateTime) => self.datetime_type_call(name, args, span),
            Val::Type(TypeName::Math) => self.math_call(name, args, span),
            Val::Type(TypeName::JObject) if name == "Parse" => self.jobject_parse(args, span),
            Val::Json(j) => self.json_call(*j, name, type_arg, args, span),
            Val::Body => self.body_call(name, type_arg, args, span),
            Val::Headers if name == "TryGetValue" && args.len() == 2 => self.header_try_get(&args[0], &args[1], span),
            Val::Flags(flags) => self.flags_call(flags, name, args, span),
            Val::Num(n) if name == "ToString" && args.is_empty() => {
                let value = self.number_text(n, span)?;
                Ok(Val::Str(Text { raw: value.clone(), value, origin: Origin::Computed, transforms: Vec::new() }))
            }
            Val::HeaderValues(why) => Err(unevaluable(self.src, span, why)),
            Val::Seq(items) => self.sequence_call(items, name, type_arg, args, span),
            recv @ (Val::Extensions(_) | Val::Oids(_)) => self.collection_call(recv, name, type_arg, args, span),
            Val::Headers => self.headers_call(name, args, span),
            Val::Extension(ext) => self.extension_call(&ext, name, args, span),
            Val::Object(inner) => match *inner {
                Val::Null { .. } => Err(self.null_reference(target, span)),
                inner => self.object_call(inner, name, args, span),
            },
            Val::Date(date) => self.date_call(date, name, args, span),
            Val::Type(TypeName::String) => match (name, args) {
                ("Equals", [a, b]) | ("Equals", [a, b, _]) => {
                    let left = self.eval(a)?;
                    let right = self.eval(b)?;
                    let cmp = match args.get(2) {
                        Some(c) => self.comparison_arg(c)?,
                        None => StrCmp::Ordinal,
                    };
                    self.string_equals(left, right, cmp, "string.Equals", span)
                }
                ("Join", [sep, seq]) => self.string_join(sep, seq, span),
                ("IsNullOrEmpty" | "IsNullOrWhiteSpace", [a]) => match self.eval(a)? {
                    Val::Null { .. } => Ok(Val::Bool(true)),
                    // char.IsWhiteSpace is Unicode White_Space, as Rust's char::is_whitespace.
                    Val::Str(t) if name == "IsNullOrEmpty" => Ok(Val::Bool(t.value.is_empty())),
                    Val::Str(t) => Ok(Val::Bool(t.value.chars().all(char::is_whitespace))),
                    other => {
                        Err(unevaluable(self.src, a.span, format!("expected a string, found {}", other.describe())))
                    }
                },
                _ => unsupported(self, "string"),
            },
            Val::DeploymentCertificates => match (name, args) {
                ("Any", []) => Ok(Val::Bool(!self.deployment()?.is_empty())),
                ("Any", [lambda]) => {
                    let items = (0..self.deployment()?.len()).map(Val::DeploymentEntry).collect();
                    self.any(items, lambda)
                }
                _ => unsupported(self, "context.Deployment.Certificates"),
            },
            Val::Array(items) => self.sequence_call(items.into_iter().map(Ok).collect(), name, type_arg, args, span),
            other => unsupported(self, other.describe()),
        }
    }

    /// `Any(x => …)`: true at the first element the lambda holds for, in order, as LINQ stops there.
    fn any(&mut self, items: Vec<Val>, lambda: &Expr) -> Result<Val, Stop> {
        let ExprKind::Lambda { param, body } = &lambda.kind else {
            return Err(unevaluable(self.src, lambda.span, "Any() needs a lambda `c => …`"));
        };
        for item in items {
            let scope = self.bindings.len();
            self.bindings.push((param.clone(), item));
            let r = self.eval(body).and_then(|v| self.as_bool(v, body));
            self.bindings.truncate(scope);
            if r? {
                return Ok(Val::Bool(true));
            }
        }
        Ok(Val::Bool(false))
    }
}
