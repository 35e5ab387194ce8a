//! Evaluation: walks the inbound section the way the gateway does, element by element, and records
//! what each one decided. Conditions are evaluated by [`super::csharp`], `<validate-client-certificate>`
//! by [`super::validate`].

use super::csharp::CondResult;
use super::{
    AuthCertRef, Element, ElementKind, ElementOutcome, ElementResult, LastError, Policy, PolicyInput, PolicyOutcome,
    SectionRole, Setting, StatusCode, Unevaluable,
};

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
            last_error: None,
            identity_checks: Vec::new(),
            unevaluable: Vec::new(),
            authentication_certificates: Vec::new(),
            backend_routing: super::routing::collect(&policy.sections),
            notes: Vec::new(),
            checks: super::checks::certificate_checks(policy, input),
        },
        reasons: Vec::new(),
        on_error: false,
        last_error: None,
        variables: Default::default(),
    };
    for section in &policy.sections {
        collect_auth_certs(&section.elements, &mut w.out.authentication_certificates);
    }
    if let Some(first) = w.out.checks.compile_errors.first() {
        // The gateway compiles every expression when the policy is saved: this text never runs.
        w.out.status = 0;
        w.out.determined = false;
        w.out.notes.push(format!(
            "APIM will not save this policy ({} at {}: {}): the policy in force is the one saved before, not this text",
            first.error, first.path, first.fragment
        ));
        return w.out;
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
        Flow::Fail { status, by, last_error } => {
            w.out.status = status;
            w.out.decided_by = Some(by.clone());
            w.out.last_error = Some(last_error.clone());
            w.last_error = Some(last_error);
            if let Some(on_error) = policy.sections.iter().find(|s| s.role == SectionRole::OnError) {
                w.on_error_section(&on_error.elements, by);
            }
        }
    }
    super::refused::promote(policy, w.out)
}

pub(super) fn collect_auth_certs(elements: &[Element], out: &mut Vec<AuthCertRef>) {
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

pub(super) enum Flow {
    Continue,
    Respond {
        status: u16,
        by: String,
    },
    Exception {
        by: String,
    },
    /// A policy failed: the gateway answers `status` unless on-error answers otherwise.
    Fail {
        status: u16,
        by: String,
        last_error: LastError,
    },
    Undetermined,
}

pub(super) struct Walker<'a, 'b> {
    pub(super) input: &'a PolicyInput<'b>,
    pub(super) out: PolicyOutcome,
    /// Why the walk is where it is: the innermost true condition (or `otherwise`) names the decision.
    pub(super) reasons: Vec<String>,
    pub(super) on_error: bool,
    /// `context.LastError` while on-error runs.
    pub(super) last_error: Option<LastError>,
    /// `context.Variables`, as `set-variable` elements set them so far.
    pub(super) variables: super::csharp::Variables,
}

impl Walker<'_, '_> {
    pub(super) fn result(&mut self, kind: &str, path: &str, outcome: ElementOutcome) {
        self.out.elements.push(ElementResult { kind: kind.to_string(), path: path.to_string(), outcome });
    }

    pub(super) fn unevaluable(&mut self, path: &str, clause: Option<usize>, fragment: &str, why: impl Into<String>) {
        self.out.unevaluable.push(Unevaluable {
            path: path.to_string(),
            clause,
            fragment: fragment.to_string(),
            why: why.into(),
        });
    }

    pub(super) fn decided_by(&self, path: &str) -> String {
        self.reasons.last().cloned().unwrap_or_else(|| path.to_string())
    }

    fn on_error_section(&mut self, elements: &[Element], cause: String) {
        self.out.notes.push("the error runs the on-error section, which was evaluated".into());
        self.reasons.clear();
        self.on_error = true;
        match self.walk(elements) {
            Flow::Continue => {}
            Flow::Respond { status, by } | Flow::Fail { status, by, .. } => {
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
            ElementKind::SetBackendService(_) => {
                self.result("set-backend-service", &el.path, ElementOutcome::Recorded);
                Flow::Continue
            }
            ElementKind::SetStatus(_) => {
                self.result("set-status", &el.path, ElementOutcome::Skipped);
                Flow::Continue
            }
            ElementKind::SetVariable(v) => {
                self.set_variable(&el.path, &v.name, &v.value);
                self.result("set-variable", &el.path, ElementOutcome::Recorded);
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

    pub(super) fn setting(&mut self, path: &str, name: &str, setting: &Option<Setting>, default: bool) -> Option<bool> {
        match setting {
            None => Some(default),
            Some(Setting::Fixed(b)) => Some(*b),
            Some(Setting::Expression(e)) => {
                self.unevaluable(path, None, e, format!("{name} is a policy expression"));
                None
            }
        }
    }
}
