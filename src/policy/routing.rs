//! `<set-backend-service>`: which backend entity a policy sends requests through.
//!
//! A backend entity's client certificate (`credentials.certificateIds`) is presented only on requests
//! the gateway routes through that entity, and the documented way to route through one is
//! `<set-backend-service backend-id="…"/>` (a `base-url` that happens to equal the entity's URL does
//! not use the entity). The policy is read here for that question only; the Azure rules combine it
//! with the backends export (docs/findings.md, `azure-backend-cert-not-routed`).

use roxmltree::Node;
use serde::{Deserialize, Serialize};

use super::{Element, ElementKind, Section, SectionRole};

/// `<set-backend-service>` as written: either attribute may be a policy expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetBackendService {
    pub backend_id: Option<String>,
    pub base_url: Option<String>,
}

/// Where the policy document sends requests, and what it leaves to the scopes above it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BackendRouting {
    /// Every `<set-backend-service>` in the inbound and backend sections, in execution order.
    pub routes: Vec<BackendRoute>,
    /// True when a `<base/>` runs after the last unconditional `<set-backend-service backend-id>` (or
    /// there is none): a parent scope's policy, not in this document, may then decide the backend. A
    /// `base-url` route does not count, as it cannot override a parent's `backend-id` route.
    pub parent_may_route: bool,
    /// True when the inbound section has `<base/>`: a parent scope may hold an
    /// `<authentication-certificate>` this document does not show.
    pub inbound_inherits: bool,
}

/// One `<set-backend-service>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendRoute {
    /// e.g. `inbound/choose[1]/when[1]/set-backend-service[1]`.
    pub path: String,
    pub backend_id: Option<String>,
    pub base_url: Option<String>,
    /// Inside a `<choose>` branch: applies only to the requests that take it.
    pub conditional: bool,
}

impl BackendRoute {
    /// The backend id when it is a literal; `None` for an expression or a route by URL.
    pub fn literal_backend_id(&self) -> Option<&str> {
        self.backend_id.as_deref().map(str::trim).filter(|id| !id.is_empty() && !is_expression(id))
    }

    /// True when the backend id is decided per request (`@(…)`, or a named value left unresolved).
    pub fn backend_id_is_expression(&self) -> bool {
        self.backend_id.as_deref().is_some_and(|id| is_expression(id.trim()))
    }
}

impl BackendRouting {
    /// The routes naming `backend` (case-insensitively) by a literal backend-id.
    pub fn routes_to(&self, backend: &str) -> Vec<&BackendRoute> {
        self.routes
            .iter()
            .filter(|r| r.literal_backend_id().is_some_and(|id| id.eq_ignore_ascii_case(backend.trim())))
            .collect()
    }

    /// Routes whose backend-id is an expression: which entity they pick is decided per request.
    pub fn expression_routes(&self) -> Vec<&BackendRoute> {
        self.routes.iter().filter(|r| r.backend_id_is_expression()).collect()
    }
}

/// A policy expression or an unresolved named value: decided by the gateway per request.
pub(crate) fn is_expression(value: &str) -> bool {
    value.starts_with('@') || value.contains("{{")
}

pub(super) fn read(node: &Node) -> SetBackendService {
    SetBackendService {
        backend_id: node.attribute("backend-id").map(str::to_string),
        base_url: node.attribute("base-url").map(str::to_string),
    }
}

/// The routing facts of a whole document: inbound first, then backend, the order the gateway runs them.
pub(super) fn collect(sections: &[Section]) -> BackendRouting {
    let mut routing = BackendRouting::default();
    for role in [SectionRole::Inbound, SectionRole::Backend] {
        for section in sections.iter().filter(|s| s.role == role) {
            for el in &section.elements {
                match &el.kind {
                    ElementKind::Base => {
                        routing.parent_may_route = true;
                        if role == SectionRole::Inbound {
                            routing.inbound_inherits = true;
                        }
                    }
                    ElementKind::SetBackendService(s) => {
                        push(&mut routing, el, s, false);
                        // A base-url does not override a parent's backend-id route; only a backend-id
                        // does (the set-backend-service page's usage notes, MicrosoftDocs/azure-docs#97440).
                        if s.backend_id.is_some() {
                            routing.parent_may_route = false;
                        }
                    }
                    ElementKind::Choose(_) => nested(&mut routing, el),
                    _ => {}
                }
            }
        }
    }
    routing
}

fn push(routing: &mut BackendRouting, el: &Element, s: &SetBackendService, conditional: bool) {
    routing.routes.push(BackendRoute {
        path: el.path.clone(),
        backend_id: s.backend_id.clone(),
        base_url: s.base_url.clone(),
        conditional,
    });
}

fn nested(routing: &mut BackendRouting, el: &Element) {
    let ElementKind::Choose(choose) = &el.kind else { return };
    let branches = choose.whens.iter().map(|w| &w.elements).chain(choose.otherwise.iter().map(|o| &o.elements));
    for elements in branches {
        for inner in elements {
            match &inner.kind {
                ElementKind::SetBackendService(s) => push(routing, inner, s, true),
                ElementKind::Choose(_) => nested(routing, inner),
                _ => {}
            }
        }
    }
}

/// What an outbound probe needs from the policy: the routing and the `<authentication-certificate>`
/// elements. The policy's inbound decision is not evaluated for an outbound probe, which stands in
/// for the gateway's own call to the backend, not for a caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundPolicy {
    /// The policy file.
    pub source: String,
    pub routing: BackendRouting,
    pub authentication_certificates: Vec<super::AuthCertRef>,
}

/// Read `policy` for an outbound probe (pure).
pub fn outbound_policy(policy: &super::Policy, source: &str) -> OutboundPolicy {
    let mut authentication_certificates = Vec::new();
    for section in &policy.sections {
        super::walk::collect_auth_certs(&section.elements, &mut authentication_certificates);
    }
    OutboundPolicy { source: source.to_string(), routing: collect(&policy.sections), authentication_certificates }
}
