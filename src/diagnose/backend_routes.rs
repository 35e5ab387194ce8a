//! Which client certificate the gateway presents to a backend, from the policy given with `--policy`
//! and the backends export given with `--azure`.
//!
//! The rule (docs/findings.md, `azure-backend-cert-not-routed`): `<authentication-certificate>` in
//! the inbound section presents its certificate on every request the policy covers, whatever the
//! backend; a backend entity's `credentials.certificateIds` are presented only on requests routed
//! through that entity with `<set-backend-service backend-id="…"/>` (a `base-url`, even one equal to
//! the entity's URL, does not use the entity). What a parent scope (`<base/>`) or a per-request
//! expression decides is not in the files, and is said to be unknown rather than guessed.

use super::catalog::finding;
use super::finding::{Finding, Severity};
use super::id::FindingId;
use super::probe_rules::subject_of;
use crate::azure::{ApimBackend, AzureConfig};
use crate::policy::{AuthCertRef, BackendRouting, PolicyOutcome};
use crate::probe::{ProbeResult, ProbeRole};

/// The policy as far as outbound certificates go.
pub(super) struct PolicyView<'a> {
    pub source: &'a str,
    pub routing: &'a BackendRouting,
    /// `<authentication-certificate>` elements of the inbound section, inline bodies included.
    pub auth_certs: Vec<&'a AuthCertRef>,
    /// Those elsewhere: the policy is documented for the inbound section only, so they are not counted.
    pub misplaced: Vec<&'a AuthCertRef>,
}

impl<'a> PolicyView<'a> {
    pub fn of(source: &'a str, outcome: &'a PolicyOutcome) -> Self {
        Self::new(source, &outcome.backend_routing, &outcome.authentication_certificates)
    }

    pub fn outbound(p: &'a crate::policy::OutboundPolicy) -> Self {
        Self::new(&p.source, &p.routing, &p.authentication_certificates)
    }

    fn new(source: &'a str, routing: &'a BackendRouting, all: &'a [AuthCertRef]) -> Self {
        let (auth_certs, misplaced) = all.iter().partition(|a| a.path.starts_with("inbound/"));
        PolicyView { source, routing, auth_certs, misplaced }
    }

    /// Evidence lines for `<authentication-certificate>` elements outside the inbound section.
    fn misplaced_lines(&self) -> Vec<String> {
        self.misplaced
            .iter()
            .map(|a| format!("{}: {}: <authentication-certificate> outside the inbound section, the only one it is documented for: not counted", self.source, a.path))
            .collect()
    }
}

fn auth_cert_label(a: &AuthCertRef) -> String {
    match (&a.certificate_id, &a.thumbprint) {
        (Some(id), _) => format!("certificate-id=\"{id}\""),
        (None, Some(tp)) => format!("thumbprint=\"{tp}\""),
        (None, None) if a.body_present => "an inline body".to_string(),
        (None, None) => "no certificate attribute".to_string(),
    }
}

fn credentials(b: &ApimBackend) -> Option<String> {
    let mut parts = Vec::new();
    if !b.client_certificate_ids.is_empty() {
        let ids: Vec<&str> = b
            .client_certificate_ids
            .iter()
            .map(|id| id.trim_end_matches('/').rsplit('/').next().unwrap_or(id))
            .collect();
        parts.push(format!("credentials.certificateIds [{}]", ids.join(", ")));
    }
    if !b.client_certificate_thumbprints.is_empty() {
        parts.push(format!("credentials.certificate [{}]", b.client_certificate_thumbprints.join(", ")));
    }
    for r in b.presented_certificates().iter().filter(|r| r.field.starts_with("serviceFabricCluster.")) {
        parts.push(format!("{} {}", r.field, r.value.trim_end_matches('/').rsplit('/').next().unwrap_or(&r.value)));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn url_of(p: &ProbeResult) -> String {
    format!("https://{}:{}", p.target.host, p.target.port)
}

/// Rewrite `backend-requires-client-cert`'s evidence and fix for each outbound probe so they follow
/// what the policy and the exports say; without either, the general fix stays.
pub(super) fn refine_backend_fix(
    probes: &[ProbeResult],
    az: Option<&AzureConfig>,
    policy: Option<&PolicyView<'_>>,
    out: &mut [Finding],
) {
    if az.is_none() && policy.is_none() {
        return;
    }
    for p in probes.iter().filter(|p| p.role == ProbeRole::Outbound) {
        let subject = subject_of(p);
        let entity = az.and_then(|a| a.backend_for_url(&url_of(p)));
        for f in out
            .iter_mut()
            .filter(|f| f.id == FindingId::BackendRequiresClientCert && f.subject.as_deref() == Some(subject.as_str()))
        {
            let sent = p.client_chain.first().filter(|_| p.client_cert_sent).map(|c| c.thumbprint_sha1.as_str());
            let (evidence, fix, not_routed) = explain(az, entity, policy, &url_of(p), sent);
            f.evidence.extend(evidence);
            let keep_kv = "Reference Key Vault certificates by certificate-id, not thumbprint: a rotation changes the thumbprint.";
            f.fix = fix;
            f.fix.push(keep_kv.into());
            if not_routed {
                f.related.push(FindingId::AzureBackendCertNotRouted);
            }
        }
    }
}

/// What to do about the certificate the gateway would present (`what`, certificate ids `ids`),
/// depending on whether this probe sent one that the backend took (`sent`, its thumbprint) or none.
/// With the certificates export the thumbprints are compared rather than the user asked to.
fn present_fix(az: Option<&AzureConfig>, sent: Option<&str>, what: &str, ids: &[&str], ev: &mut Vec<String>) -> String {
    let Some(tp) = sent else {
        return format!("{what}, and this probe sent none: probe again with that certificate (--pfx FILE) to see whether the backend accepts it.");
    };
    let known: Vec<(&str, &str)> = ids
        .iter()
        .filter_map(|id| az?.certificate(id).and_then(|c| c.thumbprint.as_deref().map(|t| (c.id.as_str(), t))))
        .collect();
    if let Some((id, _)) =
        known.iter().find(|(_, t)| crate::cert::normalize_thumbprint(t) == crate::cert::normalize_thumbprint(tp))
    {
        ev.push(format!("certificate {id} in the export has this probe's thumbprint {tp}"));
        return format!("{what}: that is {id}, the certificate that works here. If the gateway still answers 502, look at what it does differently: the Key Vault status (kv-* findings), and the backend's name and chain as the gateway checks them.");
    }
    if !known.is_empty() {
        let list: Vec<String> = known.iter().map(|(id, t)| format!("{id} {t}")).collect();
        ev.push(format!("certificates the gateway would present: {}; this probe's: {tp}", list.join(", ")));
        return format!("{what}, which is not the certificate that works here (Thumbprint {tp}): present that one instead, or have the backend trust the one configured.");
    }
    format!("{what}; this probe's certificate (Thumbprint {tp}) works, so check that it is the same one (its thumbprint in the certificates export) and that it fetches from Key Vault.")
}

/// Evidence lines, fix steps, and whether an entity's certificate sits unused.
fn explain(
    az: Option<&AzureConfig>,
    entity: Option<&ApimBackend>,
    policy: Option<&PolicyView<'_>>,
    url: &str,
    sent: Option<&str>,
) -> (Vec<String>, Vec<String>, bool) {
    let mut ev = Vec::new();
    let mut fix = Vec::new();
    match entity {
        Some(b) => ev.push(format!(
            "backend entity for {url}: {} ({})",
            b.id,
            credentials(b).unwrap_or_else(|| "no client certificate in credentials".into())
        )),
        None if az.is_some_and(|a| !a.backends.is_empty()) => {
            ev.push(format!("no backend entity in the exports has the URL {url}"))
        }
        None if az.is_some() => ev.push("no backends export given: which entity serves this URL is unknown".into()),
        None => {}
    }
    let Some(pv) = policy else {
        // Exports only: the routing lives in the API's policy.
        if let Some(b) = entity.filter(|b| credentials(b).is_some()) {
            ev.push(format!("unknown: whether requests go through {} is set by <set-backend-service backend-id> in the policy in scope, which was not given (export it and pass --policy)", b.id));
            fix.push(format!("Check the API's policy for <set-backend-service backend-id=\"{}\"/>: without it the certificate on {} is never presented. Add it, or present the certificate with <authentication-certificate certificate-id=\"…\"/> in the inbound section.", b.id, b.id));
        } else {
            fix.push("Present a certificate with <authentication-certificate certificate-id=\"…\"/> in the inbound section of the policy in scope (every request it covers).".into());
            fix.push("Or put it on a backend entity (credentials.certificateIds) and route through that entity with <set-backend-service backend-id=\"…\"/>: certificateIds alone is never presented.".into());
        }
        return (ev, fix, false);
    };

    ev.extend(pv.misplaced_lines());
    if !pv.auth_certs.is_empty() {
        for a in &pv.auth_certs {
            ev.push(format!(
                "{}: {}: <authentication-certificate {}> presents a certificate on every request it covers",
                pv.source,
                a.path,
                auth_cert_label(a)
            ));
        }
        let ids: Vec<&str> = pv.auth_certs.iter().filter_map(|a| a.certificate_id.as_deref()).collect();
        fix.push(present_fix(az, sent, &format!("The policy in {} presents a certificate", pv.source), &ids, &mut ev));
        fix.push("If the gateway still answers 502, check that the certificate exists and fetches from Key Vault: give the certificates export with --azure (azure-auth-cert-not-found, kv-sync-failed).".into());
        return (ev, fix, false);
    }
    if pv.routing.inbound_inherits {
        ev.push(format!("unknown: <base/> in the inbound section runs the parent scopes' policies, which may hold an <authentication-certificate>; they are not in {}", pv.source));
    }

    let by_id: Vec<_> = pv.routing.routes.iter().filter(|r| r.literal_backend_id().is_some()).collect();
    for r in &pv.routing.routes {
        let target = match (r.literal_backend_id(), &r.backend_id, &r.base_url) {
            (Some(id), _, _) => format!("backend-id=\"{id}\""),
            (None, Some(expr), _) => format!("backend-id=\"{expr}\" (decided per request)"),
            (None, None, Some(base)) => format!("base-url=\"{base}\" (no backend entity)"),
            (None, None, None) => "no backend-id or base-url".to_string(),
        };
        let when = if r.conditional { ", in a <choose> branch" } else { "" };
        ev.push(format!("{}: {}: <set-backend-service {target}>{when}", pv.source, r.path));
    }
    if pv.routing.parent_may_route {
        ev.push(format!("unknown: a <base/> runs the parent scopes' policies and no unconditional <set-backend-service backend-id> of this policy follows it (a base-url cannot override a parent's backend-id), so a parent scope may choose the backend; it is not in {}", pv.source));
    }
    let expr = !pv.routing.expression_routes().is_empty();
    if expr {
        ev.push("unknown: a backend-id is a policy expression, so which entity (and certificate) a request gets is decided per request".into());
    }

    if let Some(route) = by_id.last() {
        let id = route.literal_backend_id().unwrap_or_default();
        match az.and_then(|a| a.backend(id)) {
            Some(b) => match credentials(b) {
                Some(creds) => {
                    ev.push(format!("backend {}: {creds}", b.id));
                    let refs = b.presented_certificates();
                    let ids: Vec<&str> = refs.iter().filter(|r| r.by_id).map(|r| r.value.as_str()).collect();
                    let what = format!("Requests routed through {} present its {creds}", b.id);
                    fix.push(present_fix(az, sent, &what, &ids, &mut ev));
                    if !b.url.is_empty() && az.and_then(|a| a.backend_for_url(url)).is_some_and(|e| e.id != b.id) {
                        fix.push(format!("{} has the URL {}, not this backend's: check that the policy routes to the entity you meant.", b.id, b.url));
                    }
                }
                None => {
                    fix.push(format!("The policy routes through backend {}, which has no client certificate: add it to {}'s credentials.certificateIds, or present one with <authentication-certificate certificate-id=\"…\"/> in the inbound section.", b.id, b.id));
                }
            },
            None => {
                ev.push(format!("unknown: the credentials of backend {id}, which the policy routes through, are not in the exports given"));
                if let Some(a) = az.filter(|a| !a.backends.is_empty()) {
                    // The management API refuses such a policy ("Backend with id '…' could not be
                    // found", quoted in MicrosoftDocs/azure-docs#48421 and Azure/apiops#56).
                    let known: Vec<&str> = a.backends.iter().map(|b| b.id.as_str()).collect();
                    ev.push(format!("{id} is not among the backends exported ({}): the service refuses to save a policy naming a backend it does not have, so the export is partial or from another service", known.join(", ")));
                }
                fix.push(format!("Export the backends (az rest --method get --url \".../service/NAME/backends?api-version=2022-08-01\") and give them with --azure to see whether {id} has a client certificate; or present one with <authentication-certificate certificate-id=\"…\"/> in the inbound section."));
            }
        }
        return (ev, fix, false);
    }

    // The policy routes through no entity by id: an entity's certificate is not presented.
    fix.push("Present the certificate with <authentication-certificate certificate-id=\"…\"/> in the inbound section: it applies whatever the backend.".into());
    let not_routed = match entity.filter(|b| credentials(b).is_some()) {
        Some(b) => {
            fix.push(format!("Or route through the entity that already holds it: <set-backend-service backend-id=\"{}\"/> (its {} are presented only on requests routed through it).", b.id, credentials(b).unwrap_or_default()));
            !expr && !pv.routing.parent_may_route
        }
        None => {
            fix.push("Or route through a backend entity that holds the certificate in credentials.certificateIds with <set-backend-service backend-id=\"…\"/>; setting certificateIds without that route presents nothing.".into());
            false
        }
    };
    (ev, fix, not_routed)
}

/// `azure-backend-cert-not-routed`: a backend entity holds a client certificate, the calls to its URL
/// are evidently made (an outbound probe of it, or a `base-url` route to it), and the policy routes
/// through it by no backend-id. Said as a warning when the files decide it, as info when a parent
/// scope or an expression might route after all.
pub(super) fn not_routed(
    az: &AzureConfig,
    pv: &PolicyView<'_>,
    probes: &[ProbeResult],
    sources: &str,
    out: &mut Vec<Finding>,
) {
    if !pv.auth_certs.is_empty() {
        return;
    }
    let mut seen: Vec<&str> = Vec::new();
    let by_probe = probes.iter().filter(|p| p.role == ProbeRole::Outbound).filter_map(|p| {
        az.backend_for_url(&url_of(p)).map(|b| (b, format!("outbound probe of {}:{}", p.target.host, p.target.port)))
    });
    // A base-url route counts unless a later unconditional route replaces it.
    let routes = &pv.routing.routes;
    let effective = |i: usize| !routes[i + 1..].iter().any(|later| !later.conditional);
    let by_url =
        routes.iter().enumerate().filter(|(i, r)| r.backend_id.is_none() && effective(*i)).filter_map(|(_, r)| {
            let base = r.base_url.as_deref()?;
            az.backend_for_url(base)
                .map(|b| (b, format!("{}: {}: <set-backend-service base-url=\"{base}\">", pv.source, r.path)))
        });
    for (b, why) in by_probe.chain(by_url).collect::<Vec<_>>() {
        let Some(creds) = credentials(b) else { continue };
        if seen.contains(&b.id.as_str()) || !pv.routing.routes_to(&b.id).is_empty() {
            continue;
        }
        seen.push(&b.id);
        let mut f = finding(FindingId::AzureBackendCertNotRouted);
        f.subject = Some(format!("{sources}; {}", pv.source));
        f.evidence.push(format!("backend {} ({}): {creds}", b.id, b.url));
        f.evidence.push(format!("calls to it: {why}"));
        f.evidence.push(format!(
            "{}: no <set-backend-service backend-id=\"{}\"> and no <authentication-certificate> in the inbound section",
            pv.source, b.id
        ));
        let expr = !pv.routing.expression_routes().is_empty();
        let unknown = expr || pv.routing.parent_may_route;
        if pv.routing.parent_may_route {
            f.evidence.push(format!("unknown: a <base/> runs the parent scopes' policies (product, global), which are not in {} and may route through {} by backend-id; this policy's own routes cannot override that (a base-url never overrides a parent's backend-id)", pv.source, b.id));
        } else if pv.routing.inbound_inherits {
            f.evidence.push(format!("unknown: <base/> in the inbound section runs the parent scopes' policies, not in {}; one could present a certificate with <authentication-certificate>, but none can make this policy's route use {}", pv.source, b.id));
        }
        if expr {
            f.evidence.push("unknown: a backend-id is a policy expression, decided per request".into());
        }
        f.evidence.extend(pv.misplaced_lines());
        f.cause = if unknown {
            format!("The certificate on backend {} is presented only on requests routed through it with <set-backend-service backend-id=\"{}\">. The policy given does not do so; whether a parent scope or an expression does is not in the files, so this is likely but not certain.", b.id, b.id)
        } else {
            format!("The certificate on backend {} is presented only on requests routed through it with <set-backend-service backend-id=\"{}\">, and the policy given never does: the gateway calls {} without a client certificate.", b.id, b.id, b.url)
        };
        if unknown {
            f.severity = Severity::Info;
        }
        f.fix = vec![
            format!("Add <set-backend-service backend-id=\"{}\" /> to the inbound section (instead of a base-url), so requests go through the entity and its certificate is presented.", b.id),
            "Or present the certificate with <authentication-certificate certificate-id=\"…\"/> in the inbound section.".into(),
        ];
        f.related.push(FindingId::BackendRequiresClientCert);
        out.push(f);
    }
}
