//! Evaluation: walks the inbound section the way the gateway does and evaluates C# conditions
//! against the presented certificate, recording every comparison on the way.

use time::{Duration, OffsetDateTime};

use super::expr::{self, BinOp, Expr, ExprKind, Span};
use super::{
    AuthCertRef, ClientCertificateValidation, Comparison, Element, ElementKind, ElementOutcome, ElementResult,
    IdentityCheck, Policy, PolicyInput, PolicyOutcome, SectionRole, Setting, StatusCode, Unevaluable,
    ValidationFailure, VerifyCall, When,
};
use crate::cert::{rfc3339, CertInfo};

/// Policies that can answer the request themselves; skipping one deserves a note.
const REJECTING_POLICIES: [&str; 14] = [
    "validate-jwt",
    "validate-azure-ad-token",
    "check-header",
    "ip-filter",
    "rate-limit",
    "rate-limit-by-key",
    "quota",
    "quota-by-key",
    "mock-response",
    "validate-content",
    "validate-headers",
    "validate-parameters",
    "limit-concurrency",
    "include-fragment",
];

/// Evaluate the policy for one request. Pure: the caller supplies everything the gateway would know.
pub fn evaluate(policy: &Policy, input: &PolicyInput) -> PolicyOutcome {
    let mut w = Walker {
        input,
        out: PolicyOutcome {
            status: 200,
            determined: true,
            decided_by: None,
            elements: Vec::new(),
            comparisons: Vec::new(),
            verify_calls: Vec::new(),
            identity_checks: Vec::new(),
            unevaluable: Vec::new(),
            authentication_certificates: Vec::new(),
            notes: Vec::new(),
        },
        reasons: Vec::new(),
        on_error: false,
    };
    for section in &policy.sections {
        collect_auth_certs(&section.elements, &mut w.out.authentication_certificates);
    }
    let inbound = policy.sections.iter().find(|s| s.role == SectionRole::Inbound);
    for section in policy.sections.iter().filter(|s| s.role != SectionRole::Inbound) {
        if section.role != SectionRole::OnError && !section.elements.is_empty() {
            w.out.notes.push(format!(
                "<{}> was not evaluated: it runs after the inbound decision on the client certificate",
                section.name
            ));
        }
    }
    let Some(inbound) = inbound else {
        w.out.notes.push("no inbound section: nothing in this policy judges the client certificate".into());
        return w.out;
    };
    match w.walk(&inbound.elements) {
        Flow::Continue => {
            w.out.status = 200;
        }
        Flow::Respond { status, by } => {
            w.out.status = status;
            w.out.decided_by = Some(by);
        }
        Flow::Undetermined => {
            w.out.status = 0;
            w.out.determined = false;
        }
        Flow::Exception { by } => {
            w.out.status = 500;
            w.out.decided_by = Some(by.clone());
            if let Some(on_error) = policy.sections.iter().find(|s| s.role == SectionRole::OnError) {
                w.on_error_section(&on_error.elements, by);
            }
        }
    }
    w.out
}

fn collect_auth_certs(elements: &[Element], out: &mut Vec<AuthCertRef>) {
    for el in elements {
        match &el.kind {
            ElementKind::AuthenticationCertificate(a) => out.push(AuthCertRef {
                path: el.path.clone(),
                certificate_id: a.certificate_id.clone(),
                thumbprint: a.thumbprint.clone(),
                body_present: a.body_present,
                password_present: a.password_present,
            }),
            ElementKind::Choose(c) => {
                for when in &c.whens {
                    collect_auth_certs(&when.elements, out);
                }
                if let Some(o) = &c.otherwise {
                    collect_auth_certs(&o.elements, out);
                }
            }
            _ => {}
        }
    }
}

enum Flow {
    Continue,
    Respond { status: u16, by: String },
    Exception { by: String },
    Undetermined,
}

struct Walker<'a, 'b> {
    input: &'a PolicyInput<'b>,
    out: PolicyOutcome,
    /// Why the walk is where it is: the innermost true condition (or `otherwise`) names the decision.
    reasons: Vec<String>,
    on_error: bool,
}

impl Walker<'_, '_> {
    fn result(&mut self, kind: &str, path: &str, outcome: ElementOutcome) {
        self.out.elements.push(ElementResult { kind: kind.to_string(), path: path.to_string(), outcome });
    }

    fn unevaluable(&mut self, path: &str, clause: Option<usize>, fragment: &str, why: impl Into<String>) {
        self.out.unevaluable.push(Unevaluable {
            path: path.to_string(),
            clause,
            fragment: fragment.to_string(),
            why: why.into(),
        });
    }

    fn decided_by(&self, path: &str) -> String {
        self.reasons.last().cloned().unwrap_or_else(|| path.to_string())
    }

    fn on_error_section(&mut self, elements: &[Element], cause: String) {
        self.out.notes.push("the exception runs the on-error section, which was evaluated".into());
        self.reasons.clear();
        self.on_error = true;
        match self.walk(elements) {
            Flow::Continue => {}
            Flow::Respond { status, by } => {
                self.out.status = status;
                self.out.decided_by = Some(format!("{by} (on-error, after {cause})"));
            }
            // An exception inside on-error leaves the gateway's own 500.
            Flow::Exception { .. } => self.out.status = 500,
            Flow::Undetermined => {
                self.out.status = 0;
                self.out.determined = false;
            }
        }
    }

    fn walk(&mut self, elements: &[Element]) -> Flow {
        for el in elements {
            let flow = self.element(el);
            if !matches!(flow, Flow::Continue) {
                return flow;
            }
        }
        Flow::Continue
    }

    fn element(&mut self, el: &Element) -> Flow {
        match &el.kind {
            ElementKind::Base => {
                let section = el.path.split('/').next().unwrap_or("inbound");
                let section = if section.starts_with("base[") { "inbound" } else { section };
                self.out.notes.push(format!(
                    "<base/> in {section}: the inherited policies (product, API, global scope) are not evaluated"
                ));
                self.result(
                    "base",
                    &el.path,
                    ElementOutcome::NotEvaluated { reason: "inherited scope is not part of this policy".into() },
                );
                Flow::Continue
            }
            ElementKind::Choose(choose) => {
                // Listed before its conditions; the branch taken is filled in once known.
                let slot = self.out.elements.len();
                self.result("choose", &el.path, ElementOutcome::Branch { taken: None });
                let take = |me: &mut Self, taken: &str| {
                    if let Some(r) = me.out.elements.get_mut(slot) {
                        r.outcome = ElementOutcome::Branch { taken: Some(taken.to_string()) };
                    }
                };
                for (i, when) in choose.whens.iter().enumerate() {
                    match self.condition(when) {
                        CondResult::Value(true, reason) => {
                            take(self, &format!("when[{}]", i + 1));
                            self.reasons.push(reason);
                            let flow = self.walk(&when.elements);
                            self.reasons.pop();
                            return flow;
                        }
                        CondResult::Value(false, _) => {}
                        CondResult::Exception(by) => return Flow::Exception { by },
                        CondResult::Undetermined => return Flow::Undetermined,
                    }
                }
                match &choose.otherwise {
                    Some(branch) => {
                        take(self, "otherwise");
                        self.reasons.push(format!("{} (no when condition was true)", branch.path));
                        let flow = self.walk(&branch.elements);
                        self.reasons.pop();
                        flow
                    }
                    None => Flow::Continue,
                }
            }
            ElementKind::ReturnResponse(r) => {
                let status = match &r.status {
                    Some(StatusCode::Fixed(code)) => *code,
                    Some(StatusCode::Expression(e)) => {
                        self.unevaluable(&el.path, None, e, "the status code is a policy expression");
                        self.result("return-response", &el.path, ElementOutcome::Unevaluable);
                        return Flow::Undetermined;
                    }
                    None => {
                        if let Some(var) = &r.response_variable {
                            self.unevaluable(
                                &el.path,
                                None,
                                var,
                                "the response (and its status) comes from a variable set earlier",
                            );
                            self.result("return-response", &el.path, ElementOutcome::Unevaluable);
                            return Flow::Undetermined;
                        }
                        200
                    }
                };
                self.result("return-response", &el.path, ElementOutcome::Response { status, reason: r.reason.clone() });
                Flow::Respond { status, by: self.decided_by(&el.path) }
            }
            ElementKind::SetStatus(s) if self.on_error => match &s.code {
                StatusCode::Fixed(code) => {
                    self.out.status = *code;
                    self.out.decided_by = Some(el.path.clone());
                    self.result(
                        "set-status",
                        &el.path,
                        ElementOutcome::Response { status: *code, reason: s.reason.clone() },
                    );
                    Flow::Continue
                }
                StatusCode::Expression(e) => {
                    self.unevaluable(&el.path, None, e, "the status code is a policy expression");
                    self.result("set-status", &el.path, ElementOutcome::Unevaluable);
                    Flow::Undetermined
                }
            },
            ElementKind::ValidateClientCertificate(v) => self.validate_client_certificate(el, v),
            ElementKind::AuthenticationCertificate(_) => {
                self.result("authentication-certificate", &el.path, ElementOutcome::Recorded);
                Flow::Continue
            }
            ElementKind::SetStatus(_) => {
                self.result("set-status", &el.path, ElementOutcome::Skipped);
                Flow::Continue
            }
            ElementKind::Other { name } => {
                if REJECTING_POLICIES.contains(&name.as_str()) {
                    self.out
                        .notes
                        .push(format!("<{name}> at {} was not evaluated: it can answer the request itself", el.path));
                }
                self.result(name, &el.path, ElementOutcome::Skipped);
                Flow::Continue
            }
        }
    }

    fn condition(&mut self, when: &When) -> CondResult {
        let path = when.path.as_str();
        let raw = when.condition.trim();
        if let Some(named) = named_value(raw) {
            self.unevaluable(
                path,
                None,
                named,
                "named values are resolved by the service; the value is not known here",
            );
            self.result("when", path, ElementOutcome::Unevaluable);
            return CondResult::Undetermined;
        }
        let src = if let Some(inner) = raw.strip_prefix("@(").and_then(|r| r.strip_suffix(')')) {
            inner
        } else if raw.starts_with("@{") {
            self.unevaluable(path, None, raw, "multi-statement expressions @{…} are not supported");
            self.result("when", path, ElementOutcome::Unevaluable);
            return CondResult::Undetermined;
        } else if raw.eq_ignore_ascii_case("true") || raw.eq_ignore_ascii_case("false") {
            let value = raw.eq_ignore_ascii_case("true");
            self.result("when", path, ElementOutcome::Condition { value, deciding_clause: Some(1), clauses: 1 });
            return CondResult::Value(value, format!("{path} condition: {raw}"));
        } else {
            self.unevaluable(path, None, raw, "the condition is not a policy expression @(…)");
            self.result("when", path, ElementOutcome::Unevaluable);
            return CondResult::Undetermined;
        };
        let parsed = match expr::parse(src) {
            Ok(e) => e,
            Err(u) => {
                self.unevaluable(path, None, u.span.text(src), u.why);
                self.result("when", path, ElementOutcome::Unevaluable);
                return CondResult::Undetermined;
            }
        };
        let (op, clauses) = expr::clauses(&parsed);
        let n = clauses.len();
        let mut ev = ExprEval {
            input: self.input,
            src,
            path,
            clause: 0,
            clause_text: String::new(),
            shadow: false,
            bindings: Vec::new(),
            comparisons: Vec::new(),
            verify_calls: Vec::new(),
        };
        // The clause whose value fixes the chain: the first true one of `||`, the first false one of `&&`.
        let decisive = !matches!(op, Some(BinOp::And));
        let mut outcome: Option<CondResult> = None;
        let mut value = !decisive;
        let mut deciding = None;
        for (i, clause) in clauses.iter().enumerate() {
            ev.clause = i + 1;
            ev.clause_text = clause.span.text(src).trim().to_string();
            if outcome.is_some() {
                ev.shadow_eval(clause);
                continue;
            }
            match ev.eval(clause).and_then(|v| ev.as_bool(v, clause)) {
                Ok(b) => {
                    if b == decisive {
                        value = decisive;
                        deciding = Some(i + 1);
                        let reason = if n == 1 || op == Some(BinOp::Or) {
                            format!("{path} condition clause {}: {}", i + 1, ev.clause_text)
                        } else {
                            format!("{path} condition clause {} (first false): {}", i + 1, ev.clause_text)
                        };
                        outcome = Some(CondResult::Value(value, reason));
                    }
                }
                Err(Stop::Exception { exception, fragment, why }) => {
                    let by = format!("{path} condition clause {}: {} ({exception}: {why})", i + 1, ev.clause_text);
                    self.result("when", path, ElementOutcome::Exception { exception, fragment });
                    outcome = Some(CondResult::Exception(by));
                }
                Err(Stop::Unevaluable { fragment, why }) => {
                    self.unevaluable(path, Some(i + 1), &fragment, why);
                    self.result("when", path, ElementOutcome::Unevaluable);
                    outcome = Some(CondResult::Undetermined);
                }
            }
        }
        self.out.comparisons.append(&mut ev.comparisons);
        self.out.verify_calls.append(&mut ev.verify_calls);
        match outcome {
            Some(CondResult::Value(v, reason)) => {
                self.result(
                    "when",
                    path,
                    ElementOutcome::Condition { value: v, deciding_clause: deciding, clauses: n },
                );
                CondResult::Value(v, reason)
            }
            Some(other) => other,
            None => {
                // Every clause had the non-deciding value: the chain takes it, and no single clause decided.
                self.result("when", path, ElementOutcome::Condition { value, deciding_clause: None, clauses: n });
                let reason = format!("{path} condition (all {n} clauses {value}): {}", src.trim());
                CondResult::Value(value, reason)
            }
        }
    }

    fn setting(&mut self, path: &str, name: &str, setting: &Option<Setting>, default: bool) -> Option<bool> {
        match setting {
            None => Some(default),
            Some(Setting::Fixed(b)) => Some(*b),
            Some(Setting::Expression(e)) => {
                self.unevaluable(path, None, e, format!("{name} is a policy expression"));
                None
            }
        }
    }

    fn validate_client_certificate(&mut self, el: &Element, v: &ClientCertificateValidation) -> Flow {
        let path = el.path.as_str();
        for attr in &v.unknown_attributes {
            self.out.notes.push(format!("{path}: attribute {attr} is not known to this tool and was ignored"));
        }
        let revocation = self.setting(path, "validate-revocation", &v.validate_revocation, true);
        let trust = self.setting(path, "validate-trust", &v.validate_trust, true);
        let not_before = self.setting(path, "validate-not-before", &v.validate_not_before, true);
        let not_after = self.setting(path, "validate-not-after", &v.validate_not_after, true);
        let ignore = self.setting(path, "ignore-error", &v.ignore_error, false);
        let mut failures = Vec::new();
        let mut unknown = [revocation, trust, not_before, not_after].iter().any(Option::is_none);

        match self.input.cert {
            None => failures.push(ValidationFailure::NoCertificate),
            Some(cert) => {
                let chain = self.input.verify_no_revocation_ok;
                let full = self.input.verify_ok;
                let trust_on = trust == Some(true);
                let revocation_on = revocation == Some(true);
                match (trust_on, revocation_on) {
                    (true, true) => match (full, chain) {
                        (Some(true), _) => {}
                        (Some(false), Some(true)) => failures.push(ValidationFailure::RevocationCheckFailed),
                        (Some(false), _) => {
                            failures.push(ValidationFailure::ChainNotTrusted { revocation_checked: true })
                        }
                        (None, Some(false)) => {
                            failures.push(ValidationFailure::ChainNotTrusted { revocation_checked: false })
                        }
                        (None, _) => {
                            self.unevaluable(
                                path,
                                None,
                                "validate-trust",
                                "the chain verification result was not supplied",
                            );
                            unknown = true;
                        }
                    },
                    (true, false) => match chain {
                        Some(true) => {}
                        Some(false) => failures.push(ValidationFailure::ChainNotTrusted { revocation_checked: false }),
                        None => {
                            self.unevaluable(
                                path,
                                None,
                                "validate-trust",
                                "the chain verification result was not supplied",
                            );
                            unknown = true;
                        }
                    },
                    (false, true) => match (full, chain) {
                        (Some(true), _) => {}
                        (Some(false), Some(true)) => failures.push(ValidationFailure::RevocationCheckFailed),
                        _ => {
                            self.unevaluable(
                                path,
                                None,
                                "validate-revocation",
                                "the revocation result alone is not known (the chain does not verify, or no result was supplied)",
                            );
                            unknown = true;
                        }
                    },
                    (false, false) => {}
                }
                let now = self.input.now;
                if not_before == Some(true) {
                    match cert.not_before_time() {
                        Some(nb) if now < nb => {
                            failures.push(ValidationFailure::NotYetValid { not_before: cert.not_before.clone() })
                        }
                        Some(_) => {}
                        None => {
                            self.unevaluable(
                                path,
                                None,
                                "validate-not-before",
                                "the certificate's notBefore is unreadable",
                            );
                            unknown = true;
                        }
                    }
                }
                if not_after == Some(true) {
                    match cert.not_after_time() {
                        Some(na) if now > na => {
                            failures.push(ValidationFailure::Expired { not_after: cert.not_after.clone() })
                        }
                        Some(_) => {}
                        None => {
                            self.unevaluable(
                                path,
                                None,
                                "validate-not-after",
                                "the certificate's notAfter is unreadable",
                            );
                            unknown = true;
                        }
                    }
                }
                if !v.identities.is_empty() {
                    let mut any_match = false;
                    let mut any_unknown = false;
                    for (i, identity) in v.identities.iter().enumerate() {
                        let mut all = Some(true);
                        for attr in &identity.attributes {
                            let check = self.identity_attribute(cert, i + 1, &identity.path, &attr.name, &attr.value);
                            all = match (all, check.matched) {
                                (Some(false), _) | (_, Some(false)) => Some(false),
                                (Some(true), Some(true)) => Some(true),
                                _ => None,
                            };
                            self.out.identity_checks.push(check);
                        }
                        match all {
                            Some(true) => any_match = true,
                            None => any_unknown = true,
                            Some(false) => {}
                        }
                    }
                    if !any_match {
                        if any_unknown {
                            unknown = true;
                        } else {
                            failures.push(ValidationFailure::NoIdentityMatched { identities: v.identities.len() });
                        }
                    }
                }
            }
        }

        if failures.is_empty() {
            if unknown {
                self.result("validate-client-certificate", path, ElementOutcome::Unevaluable);
                return Flow::Undetermined;
            }
            self.result("validate-client-certificate", path, ElementOutcome::CertificateAccepted);
            return Flow::Continue;
        }
        let Some(ignored) = ignore else {
            self.result("validate-client-certificate", path, ElementOutcome::Unevaluable);
            return Flow::Undetermined;
        };
        let first = describe_failure(failures.first());
        self.result("validate-client-certificate", path, ElementOutcome::CertificateRejected { failures, ignored });
        if ignored {
            self.out.notes.push(format!(
                "{path}: validation failed ({first}) but ignore-error=\"true\" lets the request through"
            ));
            return Flow::Continue;
        }
        let by = match self.reasons.last() {
            Some(r) => format!("{path}: {first} (reached via {r})"),
            None => format!("{path}: {first}"),
        };
        Flow::Respond { status: 403, by }
    }

    fn identity_attribute(
        &mut self,
        cert: &CertInfo,
        index: usize,
        path: &str,
        name: &str,
        expected: &str,
    ) -> IdentityCheck {
        let check = |actual: Option<String>, matched: Option<bool>, comparison: &str| IdentityCheck {
            path: path.to_string(),
            identity: index,
            attribute: name.to_string(),
            expected: expected.to_string(),
            actual,
            matched,
            comparison: comparison.to_string(),
        };
        if let Some(named) = named_value(expected) {
            self.unevaluable(
                path,
                None,
                named,
                "named values are resolved by the service; the value is not known here",
            );
            return check(None, None, "unknown");
        }
        // The documentation does not say how the gateway compares; hex values ignore case (they
        // are case-free data), names compare exactly, DNS names ignore case as DNS does.
        let hex_eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        match name {
            "thumbprint" => {
                let actual = cert.thumbprint_sha1.clone();
                let m = hex_eq(expected, &actual);
                check(Some(actual), Some(m), "hex, ignoring case")
            }
            "serial-number" => {
                let actual = cert.serial.clone();
                let m = hex_eq(expected, &actual);
                check(Some(actual), Some(m), "hex, ignoring case")
            }
            "subject" => {
                let actual = cert.subject.clone();
                let m = expected == actual;
                check(Some(actual), Some(m), "ordinal (.NET X500DistinguishedName.Name form)")
            }
            "issuer-subject" => {
                let actual = cert.issuer.clone();
                let m = expected == actual;
                check(Some(actual), Some(m), "ordinal (.NET X500DistinguishedName.Name form)")
            }
            "common-name" => {
                let actual = cert.common_name();
                let m = actual.as_deref() == Some(expected);
                check(actual, Some(m), "ordinal")
            }
            "dns-name" => {
                let names: Vec<&str> = cert.sans.iter().filter_map(|s| s.strip_prefix("DNS:")).collect();
                match names.iter().find(|n| n.eq_ignore_ascii_case(expected)) {
                    Some(n) => check(Some(n.to_string()), Some(true), "any SAN dNSName, ignoring case"),
                    None => {
                        let actual = if names.is_empty() { None } else { Some(names.join(", ")) };
                        check(actual, Some(false), "any SAN dNSName, ignoring case")
                    }
                }
            }
            "issuer-thumbprint" => match &self.input.issuer_thumbprint {
                Some(actual) => {
                    let m = hex_eq(expected, actual);
                    check(Some(actual.clone()), Some(m), "hex, ignoring case")
                }
                None => {
                    self.unevaluable(path, None, "issuer-thumbprint", "the issuing CA's thumbprint was not supplied");
                    check(None, None, "hex, ignoring case")
                }
            },
            "issuer-certificate-id" => {
                self.unevaluable(
                    path,
                    None,
                    "issuer-certificate-id",
                    "it names a CA certificate uploaded to the service; which one is not known here",
                );
                check(None, None, "certificate id")
            }
            other => {
                self.unevaluable(path, None, other, "identity attribute not known to this tool");
                check(None, None, "unknown")
            }
        }
    }
}

fn describe_failure(f: Option<&ValidationFailure>) -> String {
    match f {
        Some(ValidationFailure::NoCertificate) => "no client certificate".into(),
        Some(ValidationFailure::ChainNotTrusted { revocation_checked: true }) => {
            "the chain does not verify (with revocation checking)".into()
        }
        Some(ValidationFailure::ChainNotTrusted { revocation_checked: false }) => {
            "the chain does not build to an uploaded CA certificate".into()
        }
        Some(ValidationFailure::RevocationCheckFailed) => "the revocation check fails".into(),
        Some(ValidationFailure::NotYetValid { not_before }) => format!("not valid before {not_before}"),
        Some(ValidationFailure::Expired { not_after }) => format!("expired {not_after}"),
        Some(ValidationFailure::NoIdentityMatched { identities }) => format!("none of {identities} identities matched"),
        None => "failed".into(),
    }
}

/// The first `{{name}}` in `s`, if any.
fn named_value(s: &str) -> Option<&str> {
    let start = s.find("{{")?;
    let len = s[start..].find("}}")?;
    Some(&s[start..start + len + 2])
}

enum CondResult {
    Value(bool, String),
    Exception(String),
    Undetermined,
}

/// Why evaluation stopped.
#[derive(Debug)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CertProp {
    Thumbprint,
    Issuer,
    Subject,
    SubjectNameName,
    IssuerNameName,
    SerialNumber,
    NotBefore,
    NotAfter,
}

impl CertProp {
    fn name(self) -> &'static str {
        match self {
            CertProp::Thumbprint => "Thumbprint",
            CertProp::Issuer => "Issuer",
            CertProp::Subject => "Subject",
            CertProp::SubjectNameName => "SubjectName.Name",
            CertProp::IssuerNameName => "IssuerName.Name",
            CertProp::SerialNumber => "SerialNumber",
            CertProp::NotBefore => "NotBefore",
            CertProp::NotAfter => "NotAfter",
        }
    }
}

/// Where a string came from, so a comparison can say what it compared.
#[derive(Debug, Clone)]
enum Origin {
    Cert(CertProp),
    Literal,
    Deployment(usize),
}

#[derive(Debug, Clone)]
struct Text {
    value: String,
    /// The value before any transformation.
    raw: String,
    origin: Origin,
    transforms: Vec<String>,
}

#[derive(Debug, Clone)]
enum DateOrigin {
    Cert(CertProp),
    /// `DateTime.UtcNow` or `DateTime.Now`, with the expression text that produced the value.
    Now {
        source: &'static str,
    },
}

#[derive(Debug, Clone)]
struct Date {
    t: OffsetDateTime,
    raw: OffsetDateTime,
    origin: DateOrigin,
    text: String,
    transforms: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StrCmp {
    Ordinal,
    OrdinalIgnoreCase,
    Culture { ignore_case: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TypeName {
    DateTime,
    String,
    StringComparison,
}

#[derive(Debug, Clone)]
enum Val {
    /// `null`; `certificate` is true for a null `context.Request.Certificate`.
    Null {
        certificate: bool,
    },
    Bool(bool),
    Num(f64),
    Str(Text),
    Date(Date),
    Context,
    Request,
    Deployment,
    Cert,
    Name(CertProp),
    DeploymentCertificates,
    DeploymentEntry(usize),
    DeploymentCert(usize),
    Type(TypeName),
    Comparison(StrCmp),
}

impl Val {
    fn describe(&self) -> &'static str {
        match self {
            Val::Null { .. } => "null",
            Val::Bool(_) => "a boolean",
            Val::Num(_) => "a number",
            Val::Str(_) => "a string",
            Val::Date(_) => "a DateTime",
            Val::Context => "context",
            Val::Request => "context.Request",
            Val::Deployment => "context.Deployment",
            Val::Cert => "a certificate",
            Val::Name(_) => "an X500DistinguishedName",
            Val::DeploymentCertificates => "context.Deployment.Certificates",
            Val::DeploymentEntry(_) => "a certificate entry",
            Val::DeploymentCert(_) => "an uploaded certificate",
            Val::Type(_) => "a type",
            Val::Comparison(_) => "a StringComparison",
        }
    }
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
}

fn unevaluable(src: &str, span: Span, why: impl Into<String>) -> Stop {
    Stop::Unevaluable { fragment: span.text(src).to_string(), why: why.into() }
}

/// .NET's simple invariant case mapping: one char to one char, or unchanged.
fn map_case(s: &str, upper: bool) -> String {
    s.chars()
        .map(|c| {
            let mut m: Vec<char> = if upper { c.to_uppercase().collect() } else { c.to_lowercase().collect() };
            if m.len() == 1 {
                m.pop().unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

/// Culture-aware comparison agrees with ordinal comparison on ASCII letters and digits only;
/// elsewhere (ignorable characters such as U+200E, punctuation) it may not, so it is not modelled.
fn culture_safe(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_alphanumeric())
}

impl ExprEval<'_, '_> {
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

    fn eval(&mut self, e: &Expr) -> Result<Val, Stop> {
        match &e.kind {
            ExprKind::Str(s) => {
                Ok(Val::Str(Text { value: s.clone(), raw: s.clone(), origin: Origin::Literal, transforms: Vec::new() }))
            }
            ExprKind::Num(n) => Ok(Val::Num(*n)),
            ExprKind::Bool(b) => Ok(Val::Bool(*b)),
            ExprKind::Null => Ok(Val::Null { certificate: false }),
            ExprKind::Paren(inner) => self.eval(inner),
            ExprKind::Ident(name) => self.ident(name, e.span),
            ExprKind::Member { target, name } => {
                let t = self.eval(target)?;
                self.member(t, target, name, e.span)
            }
            ExprKind::Call { target, name, args } => self.call(target, name, args, e.span),
            ExprKind::Lambda { .. } => {
                Err(unevaluable(self.src, e.span, "a lambda is only supported as the argument of Any()"))
            }
            ExprKind::Not(inner) => {
                let v = self.eval(inner)?;
                Ok(Val::Bool(!self.as_bool(v, inner)?))
            }
            ExprKind::Neg(inner) => match self.eval(inner)? {
                Val::Num(n) => Ok(Val::Num(-n)),
                other => Err(unevaluable(self.src, e.span, format!("cannot negate {}", other.describe()))),
            },
            ExprKind::Binary { op: BinOp::Or, left, right } => {
                let l = self.eval(left)?;
                if self.as_bool(l, left)? {
                    self.shadow_eval(right);
                    return Ok(Val::Bool(true));
                }
                let r = self.eval(right)?;
                Ok(Val::Bool(self.as_bool(r, right)?))
            }
            ExprKind::Binary { op: BinOp::And, left, right } => {
                let l = self.eval(left)?;
                if !self.as_bool(l, left)? {
                    self.shadow_eval(right);
                    return Ok(Val::Bool(false));
                }
                let r = self.eval(right)?;
                Ok(Val::Bool(self.as_bool(r, right)?))
            }
            ExprKind::Binary { op, left, right } => {
                let l = self.eval(left)?;
                let r = self.eval(right)?;
                self.compare(*op, l, r, e.span)
            }
        }
    }

    fn ident(&self, name: &str, span: Span) -> Result<Val, Stop> {
        if let Some((_, v)) = self.bindings.iter().rev().find(|(n, _)| n == name) {
            return Ok(v.clone());
        }
        match name {
            "context" => Ok(Val::Context),
            "DateTime" => Ok(Val::Type(TypeName::DateTime)),
            "string" | "String" => Ok(Val::Type(TypeName::String)),
            "StringComparison" => Ok(Val::Type(TypeName::StringComparison)),
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
                _ => unknown(self, "context"),
            },
            Val::Request => match name {
                "Certificate" => Ok(match self.input.cert {
                    Some(_) => Val::Cert,
                    None => Val::Null { certificate: true },
                }),
                _ => unknown(self, "context.Request"),
            },
            Val::Deployment => match name {
                "Certificates" => Ok(Val::DeploymentCertificates),
                _ => unknown(self, "context.Deployment"),
            },
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
                "Key" => Err(unevaluable(self.src, span, "the ids of uploaded certificates are not known here")),
                _ => unknown(self, "a certificate entry"),
            },
            Val::DeploymentCert(i) => match name {
                "Thumbprint" => {
                    let value = self.input.deployment_thumbprints.get(i).cloned().unwrap_or_default();
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

    fn call(&mut self, target: &Expr, name: &str, args: &[Expr], span: Span) -> Result<Val, Stop> {
        let recv = self.eval(target)?;
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
                    let known =
                        if name == "Verify" { self.input.verify_ok } else { self.input.verify_no_revocation_ok };
                    let Some(result) = known else {
                        return Err(unevaluable(
                            self.src,
                            span,
                            format!("the result of {name}() needs the chain verification against the uploaded CA certificates, which was not supplied"),
                        ));
                    };
                    self.verify_calls.push(VerifyCall {
                        path: self.path.to_string(),
                        clause: self.clause,
                        method: name.to_string(),
                        result,
                        evaluated: !self.shadow,
                    });
                    Ok(Val::Bool(result))
                }
                _ => unsupported(self, "the certificate"),
            },
            Val::Str(text) => self.string_method(text, name, args, span),
            Val::Date(date) => match (name, args) {
                ("AddDays" | "AddHours" | "AddMinutes", [arg]) => {
                    let n = match self.eval(arg)? {
                        Val::Num(n) => n,
                        other => {
                            return Err(unevaluable(
                                self.src,
                                arg.span,
                                format!("expected a number, found {}", other.describe()),
                            ))
                        }
                    };
                    let unit = match name {
                        "AddDays" => 86_400.0,
                        "AddHours" => 3_600.0,
                        _ => 60.0,
                    };
                    let secs = n * unit;
                    let t =
                        Duration::checked_seconds_f64(secs).and_then(|d| date.t.checked_add(d)).ok_or_else(|| {
                            Stop::Exception {
                                exception: "ArgumentOutOfRangeException".into(),
                                fragment: self.text(span),
                                why: "the date is out of range".into(),
                            }
                        })?;
                    let mut transforms = date.transforms.clone();
                    transforms.push(format!("{name}({})", self.text(arg.span)));
                    Ok(Val::Date(Date { t, raw: date.raw, origin: date.origin, text: self.text(span), transforms }))
                }
                _ => unsupported(self, "a DateTime"),
            },
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
                _ => unsupported(self, "string"),
            },
            Val::DeploymentCertificates => match (name, args) {
                ("Any", []) => Ok(Val::Bool(!self.input.deployment_thumbprints.is_empty())),
                ("Any", [lambda]) => {
                    let ExprKind::Lambda { param, body } = &lambda.kind else {
                        return Err(unevaluable(self.src, lambda.span, "Any() needs a lambda `c => …`"));
                    };
                    for i in 0..self.input.deployment_thumbprints.len() {
                        self.bindings.push((param.clone(), Val::DeploymentEntry(i)));
                        let r = self.eval(body).and_then(|v| self.as_bool(v, body));
                        self.bindings.pop();
                        if r? {
                            return Ok(Val::Bool(true));
                        }
                    }
                    Ok(Val::Bool(false))
                }
                _ => unsupported(self, "context.Deployment.Certificates"),
            },
            other => unsupported(self, other.describe()),
        }
    }

    fn comparison_arg(&mut self, e: &Expr) -> Result<StrCmp, Stop> {
        match self.eval(e)? {
            Val::Comparison(c) => Ok(c),
            other => {
                Err(unevaluable(self.src, e.span, format!("expected a StringComparison, found {}", other.describe())))
            }
        }
    }

    fn string_method(&mut self, text: Text, name: &str, args: &[Expr], span: Span) -> Result<Val, Stop> {
        let transform = |mut t: Text, new_value: String| {
            t.value = new_value;
            t.transforms.push(format!("{name}()"));
            Val::Str(t)
        };
        match (name, args.len()) {
            ("ToUpper" | "ToUpperInvariant", 0) => {
                let v = map_case(&text.value, true);
                Ok(transform(text, v))
            }
            ("ToLower" | "ToLowerInvariant", 0) => {
                let v = map_case(&text.value, false);
                Ok(transform(text, v))
            }
            ("Trim", 0) => {
                // char.IsWhiteSpace matches Unicode White_Space; U+200E and U+FEFF are not trimmed.
                let v = text.value.trim_matches(char::is_whitespace).to_string();
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
                let (hay, needle) = self.folded(&text.value, &arg.value, cmp, span)?;
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
            StrCmp::OrdinalIgnoreCase => Ok((map_case(a, true), map_case(b, true))),
            StrCmp::Culture { ignore_case } => {
                if !(culture_safe(a) && culture_safe(b)) {
                    return Err(unevaluable(
                        self.src,
                        span,
                        "culture-sensitive comparison of text other than ASCII letters and digits (ignorable characters such as U+200E may compare equal)",
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

    fn string_equals(&mut self, left: Val, right: Val, cmp: StrCmp, op: &str, span: Span) -> Result<Val, Stop> {
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

    fn compare(&mut self, op: BinOp, l: Val, r: Val, span: Span) -> Result<Val, Stop> {
        let eq_result = match (&l, &r) {
            (Val::Null { .. }, Val::Null { .. }) => Some(true),
            (Val::Null { .. }, Val::Str(_) | Val::Cert | Val::Date(_))
            | (Val::Str(_) | Val::Cert | Val::Date(_), Val::Null { .. }) => Some(false),
            (Val::Str(a), Val::Str(b)) => Some(a.value == b.value),
            (Val::Bool(a), Val::Bool(b)) => Some(a == b),
            (Val::Num(a), Val::Num(b)) => Some(a == b),
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
                    (Val::Date(a), Val::Date(b)) => a.t.partial_cmp(&b.t),
                    (Val::Num(a), Val::Num(b)) => a.partial_cmp(b),
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
