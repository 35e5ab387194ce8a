//! What certificate checks a policy document makes, read from the document itself rather than from
//! one request: where it reads the certificate's names, where it checks the chain, which thumbprints
//! it pins, where `validate-trust` is off, and which checks sit inside XML comments. These are facts;
//! the diagnosis decides which combinations let a look-alike certificate in.

use serde::{Deserialize, Serialize};

use super::expr::{self, BinOp, Expr, ExprKind, Span, Stmt};
use super::{Element, ElementKind, Policy, PolicyInput, SectionRole, Setting};
use crate::cert::normalize_thumbprint;

/// The certificate checks of one policy document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyChecks {
    /// Reads of the certificate's names: `Subject`, `Issuer`, `SubjectName.Name`, `IssuerName.Name`
    /// compared or searched, and identity `subject`, `issuer-subject`, `common-name`, `dns-name`.
    pub name_checks: Vec<CheckSite>,
    /// `Verify()`, `VerifyNoRevocation()`, and `validate-client-certificate` with `validate-trust` on.
    pub chain_checks: Vec<CheckSite>,
    /// Thumbprint literals the request certificate is compared with (conditions and identities).
    pub thumbprint_pins: Vec<ThumbprintPin>,
    /// `validate-client-certificate validate-trust="false"`.
    pub trust_off: Vec<TrustOff>,
    /// XML comments that hold a certificate check.
    pub commented_out: Vec<CommentedCheck>,
    /// The inbound section has `<base/>`: the inherited scope may check more.
    pub inherits_base: bool,
    /// Expressions (in any section) that do not compile: APIM refuses to save the policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compile_errors: Vec<CompileError>,
    /// How a look-alike certificate (the expected names, another key, no chain to an uploaded CA)
    /// fares through the inbound section's logic; `None` in sessions from before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub look_alike: Option<super::lookalike::LookAlike>,
}

/// An expression the C# compiler rejects, so the gateway will not accept the policy at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompileError {
    pub path: String,
    pub line: u32,
    /// The failing construct, whole (the literal, the comparison, the name).
    pub fragment: String,
    /// The compiler's error, e.g. `CS1012: Too many characters in character literal`.
    pub error: String,
}

impl PolicyChecks {
    pub fn is_empty(&self) -> bool {
        self.name_checks.is_empty()
            && self.chain_checks.is_empty()
            && self.thumbprint_pins.is_empty()
            && self.trust_off.is_empty()
            && self.commented_out.is_empty()
            && self.compile_errors.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckKind {
    /// A name compared whole (`==`, `!=`, `Equals`, an identity attribute).
    NameEquality,
    /// A name searched (`Contains`, `StartsWith`, `EndsWith`, `IndexOf`).
    NameSubstring,
    Verify,
    VerifyNoRevocation,
    /// `validate-client-certificate` with `validate-trust` on (the default) or an expression.
    ValidateTrust,
}

/// One check and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckSite {
    pub path: String,
    pub line: u32,
    pub kind: CheckKind,
    /// The construct as written, e.g. `context.Request.Certificate.Subject.Contains("CN=orders")`.
    pub text: String,
    /// For a name check: the same condition (or identity) also compares the thumbprint with a literal.
    pub pinned: bool,
}

/// A thumbprint literal the request certificate's thumbprint is compared with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThumbprintPin {
    pub path: String,
    pub line: u32,
    /// As written (C# unescaped, invisible characters kept).
    pub literal: String,
    /// Uppercase hex digits only.
    pub thumbprint: String,
    /// The id of a certificate entity (`context.Deployment.Certificates`) with this thumbprint
    /// that is a CA certificate, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_ca: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustOff {
    pub path: String,
    pub line: u32,
    pub identities: usize,
    /// Identities that pin no `thumbprint`: they match by names (or the issuer) alone.
    pub without_thumbprint: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentedCheck {
    pub line: u32,
    /// The comment's text, trimmed (long comments cut at 300 characters).
    pub text: String,
}

/// Words that make a comment a certificate check.
const CHECK_MARKERS: [&str; 5] =
    ["context.Request.Certificate", "validate-client-certificate", "Verify()", "VerifyNoRevocation()", "<identity "];

pub(crate) fn certificate_checks(policy: &Policy, input: &PolicyInput) -> PolicyChecks {
    let mut out = PolicyChecks::default();
    for section in &policy.sections {
        if section.role == SectionRole::Inbound {
            walk(&section.elements, &mut out);
        } else {
            // Only whether it compiles: the other sections do not judge the client certificate.
            let mut other = PolicyChecks::default();
            walk(&section.elements, &mut other);
            out.compile_errors.append(&mut other.compile_errors);
        }
    }
    out.look_alike = Some(super::lookalike::analyse(policy));
    if let Some(entities) = &input.deployment_certificates {
        for pin in &mut out.thumbprint_pins {
            pin.deployment_ca =
                entities.iter().find(|e| e.is_ca && e.thumbprint == pin.thumbprint).map(|e| e.id.clone());
        }
    }
    for c in &policy.comments {
        if CHECK_MARKERS.iter().any(|m| c.text.contains(m)) {
            let text = c.text.trim();
            let text = match text.char_indices().nth(300) {
                Some((at, _)) => format!("{}…", &text[..at]),
                None => text.to_string(),
            };
            out.commented_out.push(CommentedCheck { line: c.line, text });
        }
    }
    out
}

fn walk(elements: &[Element], out: &mut PolicyChecks) {
    for el in elements {
        match &el.kind {
            ElementKind::Base => out.inherits_base = true,
            ElementKind::Choose(c) => {
                for when in &c.whens {
                    condition(&when.path, when.line, &when.condition, out);
                    walk(&when.elements, out);
                }
                if let Some(o) = &c.otherwise {
                    walk(&o.elements, out);
                }
            }
            ElementKind::SetVariable(v) => condition(&el.path, el.line, &v.value, out),
            ElementKind::ValidateClientCertificate(v) => {
                let pins_of = |i: &super::Identity| i.attributes.iter().filter(|a| a.name == "thumbprint").count();
                match &v.validate_trust {
                    Some(Setting::Fixed(false)) => out.trust_off.push(TrustOff {
                        path: el.path.clone(),
                        line: el.line,
                        identities: v.identities.len(),
                        without_thumbprint: v.identities.iter().filter(|i| pins_of(i) == 0).count(),
                    }),
                    _ => out.chain_checks.push(CheckSite {
                        path: el.path.clone(),
                        line: el.line,
                        kind: CheckKind::ValidateTrust,
                        text: "validate-client-certificate".into(),
                        pinned: false,
                    }),
                }
                for identity in &v.identities {
                    let pinned = pins_of(identity) > 0;
                    for a in &identity.attributes {
                        match a.name.as_str() {
                            "thumbprint" => out.thumbprint_pins.push(ThumbprintPin {
                                path: identity.path.clone(),
                                line: identity.line,
                                literal: a.value.clone(),
                                thumbprint: normalize_thumbprint(&a.value),
                                deployment_ca: None,
                            }),
                            "subject" | "issuer-subject" | "common-name" | "dns-name" => {
                                out.name_checks.push(CheckSite {
                                    path: identity.path.clone(),
                                    line: identity.line,
                                    kind: CheckKind::NameEquality,
                                    text: format!("{}=\"{}\"", a.name, a.value),
                                    pinned,
                                })
                            }
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// The checks in one `when` condition (`@(…)`); a condition that does not parse holds none we can name.
fn condition(path: &str, line: u32, raw: &str, out: &mut PolicyChecks) {
    let raw = raw.trim();
    let mut found = Found::default();
    let refused = |u: expr::Unsupported, src: &str, out: &mut PolicyChecks| {
        if let Some(error) = u.compile_error {
            let fragment = u.span.text(src).to_string();
            out.compile_errors.push(CompileError { path: path.to_string(), line, fragment, error });
        }
    };
    if let Some(src) = raw.strip_prefix("@(").and_then(|r| r.strip_suffix(')')) {
        match expr::parse(src) {
            Ok(e) => scan(&e, src, None, &mut found),
            Err(u) => return refused(u, src, out),
        }
    } else if let Some(src) = raw.strip_prefix("@{").and_then(|r| r.strip_suffix('}')) {
        match expr::parse_block(src) {
            Ok(stmts) => scan_block(&stmts, src, &mut found),
            Err(u) => return refused(u, src, out),
        }
    } else {
        return;
    }
    for (fragment, error) in found.compile_errors.drain(..) {
        out.compile_errors.push(CompileError { path: path.to_string(), line, fragment, error });
    }
    let pinned = found.reads_thumbprint && !found.hex_literals.is_empty();
    for (kind, text) in found.names {
        out.name_checks.push(CheckSite { path: path.to_string(), line, kind, text, pinned });
    }
    for (kind, text) in found.chain {
        out.chain_checks.push(CheckSite { path: path.to_string(), line, kind, text, pinned: false });
    }
    if found.reads_thumbprint {
        for literal in found.hex_literals {
            out.thumbprint_pins.push(ThumbprintPin {
                path: path.to_string(),
                line,
                thumbprint: normalize_thumbprint(&literal),
                literal,
                deployment_ca: None,
            });
        }
    }
}

/// The statements of a block, in order; `var c = context.Request.Certificate;` makes `c` an alias.
fn scan_block(stmts: &[Stmt], src: &str, found: &mut Found) {
    for st in stmts {
        match st {
            Stmt::Local { name, init: Some(e), .. } | Stmt::Assign { name, value: e, .. } => {
                // A certificate built from a header (`new X509Certificate2(…)`) is checked like the
                // request's: its names, its thumbprint, its chain.
                let built = matches!(&strip_parens(e).kind, ExprKind::NewCertificate(_));
                if built {
                    scan(e, src, None, found);
                }
                if built || is_request_certificate(e, &found.aliases) {
                    found.aliases.push(name.clone());
                } else {
                    scan(e, src, None, found);
                }
            }
            Stmt::Local { init: None, .. } => {}
            Stmt::If { cond, then, otherwise, .. } => {
                scan(cond, src, None, found);
                scan_block(then, src, found);
                scan_block(otherwise, src, found);
            }
            Stmt::Return { value: e, .. } | Stmt::Expr(e) => scan(e, src, None, found),
        }
    }
}

#[derive(Default)]
struct Found {
    /// (construct, compiler error) for what C# refuses.
    compile_errors: Vec<(String, String)>,
    /// Locals of a statement block that hold the request certificate.
    aliases: Vec<String>,
    names: Vec<(CheckKind, String)>,
    chain: Vec<(CheckKind, String)>,
    reads_thumbprint: bool,
    hex_literals: Vec<String>,
}

pub(super) fn strip_parens(e: &Expr) -> &Expr {
    match &e.kind {
        ExprKind::Paren(inner) => strip_parens(inner),
        _ => e,
    }
}

/// `context.Request.Certificate` (with `.` or `?.`), or a local a statement block set to it.
/// `context.Variables`.
pub(super) fn is_variables(e: &Expr) -> bool {
    matches!(&strip_parens(e).kind, ExprKind::Member { target, name, .. }
        if name == "Variables" && matches!(&strip_parens(target).kind, ExprKind::Ident(c) if c == "context"))
}

/// `context.Variables["…"]` read without a cast (an `object`).
fn variables_item(e: &Expr) -> bool {
    matches!(&strip_parens(e).kind, ExprKind::Index { target, .. } if is_variables(target))
}

/// The C# type of a number, bool or char literal (`-1` included).
fn value_literal(e: &Expr) -> Option<&'static str> {
    match &strip_parens(e).kind {
        ExprKind::Int { long, .. } => Some(if *long { "long" } else { "int" }),
        ExprKind::Num(_) => Some("double"),
        ExprKind::Bool(_) => Some("bool"),
        ExprKind::Char(_) => Some("char"),
        ExprKind::Neg(inner) => value_literal(inner).filter(|t| matches!(*t, "int" | "long" | "double")),
        _ => None,
    }
}

pub(super) fn is_request_certificate(e: &Expr, aliases: &[String]) -> bool {
    if let ExprKind::Ident(name) = &strip_parens(e).kind {
        return aliases.contains(name);
    }
    let ExprKind::Member { target, name, .. } = &strip_parens(e).kind else { return false };
    if name != "Certificate" {
        return false;
    }
    let ExprKind::Member { target, name, .. } = &strip_parens(target).kind else { return false };
    name == "Request" && matches!(&strip_parens(target).kind, ExprKind::Ident(c) if c == "context")
}

/// A read of the request certificate's subject or issuer name, through any case or trim call.
pub(super) fn is_name_read(e: &Expr, aliases: &[String]) -> bool {
    match &strip_parens(e).kind {
        ExprKind::Member { target, name, .. } => {
            (matches!(name.as_str(), "Subject" | "Issuer") && is_request_certificate(target, aliases))
                || (name == "Name"
                    && matches!(&strip_parens(target).kind, ExprKind::Member { target: t, name: n, .. }
                        if matches!(n.as_str(), "SubjectName" | "IssuerName") && is_request_certificate(t, aliases)))
        }
        ExprKind::Call { target, name, args, .. } => {
            (args.is_empty()
                && matches!(
                    name.as_str(),
                    "ToUpper" | "ToLower" | "ToUpperInvariant" | "ToLowerInvariant" | "Trim" | "ToString"
                )
                && is_name_read(target, aliases))
                || (name == "GetNameInfo" && is_request_certificate(target, aliases))
        }
        _ => false,
    }
}

/// `ALLOWED_CERTIFICATE_THUMBPRINTS`: upper case with underscores, the way snippets mark what to fill in.
fn is_placeholder(name: &str) -> bool {
    name.len() >= 6
        && name.contains('_')
        && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && name.starts_with(|c: char| c.is_ascii_uppercase())
}

fn looks_like_thumbprint(s: &str) -> bool {
    let hex = s.chars().filter(|c| c.is_ascii_hexdigit()).count();
    hex == 40 && s.chars().all(|c| c.is_ascii_hexdigit() || c.is_whitespace() || c == ':' || super::is_invisible(c))
}

fn scan(e: &Expr, src: &str, cmp: Option<Span>, found: &mut Found) {
    let aliases = found.aliases.clone();
    let aliases = aliases.as_slice();
    let text = |span: Span| span.text(src).trim().to_string();
    match &e.kind {
        ExprKind::Str(s) => {
            if looks_like_thumbprint(s) {
                found.hex_literals.push(s.clone());
            }
        }
        ExprKind::Member { target, name, .. } => {
            if is_name_read(e, aliases) {
                found.names.push((CheckKind::NameEquality, text(cmp.unwrap_or(e.span))));
                return;
            }
            if name == "Thumbprint" && is_request_certificate(target, aliases) {
                found.reads_thumbprint = true;
            }
            // `Extensions[…]` is a plain X509Extension whatever the certificate holds: a typed
            // extension's member on it does not compile (the evaluator finds the other forms).
            let typed_member = matches!(
                name.as_str(),
                "KeyUsages"
                    | "CertificateAuthority"
                    | "HasPathLengthConstraint"
                    | "PathLengthConstraint"
                    | "EnhancedKeyUsages"
                    | "SubjectKeyIdentifier"
            );
            if typed_member
                && matches!(&strip_parens(target).kind, ExprKind::Index { target: t, .. }
                    if matches!(&strip_parens(t).kind, ExprKind::Member { name: n, .. } if n == "Extensions"))
            {
                found.compile_errors.push((
                    text(e.span),
                    format!("CS1061: 'X509Extension' does not contain a definition for '{name}'"),
                ));
            }
            scan(target, src, cmp, found);
        }
        ExprKind::Call { target, name, args, .. } => {
            let cmp = if name == "Equals" { Some(e.span) } else { cmp };
            if is_request_certificate(target, aliases) && (name == "Verify" || name == "VerifyNoRevocation") {
                let kind = if name == "Verify" { CheckKind::Verify } else { CheckKind::VerifyNoRevocation };
                found.chain.push((kind, text(e.span)));
            } else if matches!(name.as_str(), "Contains" | "StartsWith" | "EndsWith" | "IndexOf")
                && is_name_read(target, aliases)
            {
                found.names.push((CheckKind::NameSubstring, text(e.span)));
            } else if name == "Equals" && is_name_read(target, aliases) {
                found.names.push((CheckKind::NameEquality, text(e.span)));
            } else if is_name_read(e, aliases) {
                found.names.push((CheckKind::NameEquality, text(cmp.unwrap_or(e.span))));
                return;
            } else {
                scan(target, src, cmp, found);
            }
            for a in args {
                scan(a, src, cmp, found);
            }
        }
        ExprKind::Binary { op: BinOp::Eq | BinOp::Ne, left, right } => {
            let dn_object = |x: &Expr| {
                matches!(&strip_parens(x).kind, ExprKind::Member { target, name, .. }
                    if matches!(name.as_str(), "SubjectName" | "IssuerName") && is_request_certificate(target, aliases))
            };
            let string = |x: &Expr| matches!(&strip_parens(x).kind, ExprKind::Str(_));
            let op = if matches!(&e.kind, ExprKind::Binary { op: BinOp::Eq, .. }) { "==" } else { "!=" };
            if (dn_object(left) && string(right)) || (string(left) && dn_object(right)) {
                found.compile_errors.push((
                    text(e.span),
                    format!("CS0019: Operator '{op}' cannot be applied to operands of type 'X500DistinguishedName' and 'string'"),
                ));
            }
            // `context.Variables["x"]` is an object whatever it holds, and reference equality needs
            // two references: against a number, bool or char literal `==` does not compile. Found
            // here, before any variable is read (a missing one would otherwise throw first).
            let operands =
                match (variables_item(left), value_literal(right), value_literal(left), variables_item(right)) {
                    (true, Some(value), ..) => Some(("object", value)),
                    (_, _, Some(value), true) => Some((value, "object")),
                    _ => None,
                };
            if let Some((l, r)) = operands {
                found.compile_errors.push((
                    text(e.span),
                    format!("CS0019: Operator '{op}' cannot be applied to operands of type '{l}' and '{r}'"),
                ));
            }
            scan(left, src, Some(e.span), found);
            scan(right, src, Some(e.span), found);
        }
        ExprKind::Binary { left, right, .. } | ExprKind::Coalesce { left, right } => {
            scan(left, src, None, found);
            scan(right, src, None, found);
        }
        ExprKind::Paren(inner) | ExprKind::Not(inner) | ExprKind::Neg(inner) => scan(inner, src, cmp, found),
        ExprKind::Cast { operand, .. } | ExprKind::As { operand, .. } | ExprKind::Is { operand, .. } => {
            scan(operand, src, cmp, found)
        }
        ExprKind::Index { target, index, .. } => {
            scan(target, src, cmp, found);
            scan(index, src, None, found);
        }
        ExprKind::Conditional { cond, then, otherwise } => {
            scan(cond, src, None, found);
            scan(then, src, None, found);
            scan(otherwise, src, None, found);
        }
        ExprKind::Lambda { body, .. } => scan(body, src, None, found),
        ExprKind::Array(items) | ExprKind::NewCertificate(items) => {
            for i in items {
                scan(i, src, cmp, found);
            }
        }
        ExprKind::Ident(name) if is_placeholder(name) && !aliases.contains(name) => found.compile_errors.push((
            name.clone(),
            format!("CS0103: The name '{name}' does not exist in the current context (a placeholder left unreplaced)"),
        )),
        ExprKind::Num(_)
        | ExprKind::Char(_)
        | ExprKind::Int { .. }
        | ExprKind::Out { .. }
        | ExprKind::Bool(_)
        | ExprKind::Null
        | ExprKind::Ident(_) => {}
    }
}
