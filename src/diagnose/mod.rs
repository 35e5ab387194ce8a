//! Diagnosis: a pure function from everything observed (probes, inspected certificates, the
//! policy's evaluation, uploaded CA certificates, Azure configuration) to findings, most likely
//! cause first. No I/O happens here; rules match on typed observations, never on message text.

mod aia_rules;
mod azure_more;
pub mod azure_rules;
mod backend_certs;
mod backend_routes;
pub mod catalog;
pub mod cert_rules;
pub mod chain_rules;
mod dropped_rules;
pub mod finding;
mod http_cert_rules;
pub mod id;
mod kv_rules;
pub mod late_rules;
pub mod outcome;
mod platform_rules;
pub mod policy_rules;
mod policy_safety;
pub mod probe_rules;
mod revocation_rules;
pub mod server_rules;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use finding::{Finding, Severity, Symptom};
pub use id::{join_ids, FindingId};

use crate::azure::AzureConfig;
use crate::cert::CertInfo;
use crate::policy::PolicyOutcome;
use crate::probe::{ProbeResult, ProbeRole};
use crate::verify::{code, Role, Verdict};

/// Default window for `cert-expiring-soon`.
pub const DEFAULT_EXPIRING_DAYS: i64 = 30;

/// A policy evaluated against one certificate (or none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyEvaluation {
    /// The policy file.
    pub source: String,
    /// Thumbprint of the certificate it was evaluated against; None for a null certificate.
    pub certificate: Option<String>,
    pub outcome: PolicyOutcome,
}

/// Certificates given to `inspect` (leaf first) and what was concluded about them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectedChain {
    pub origin: String,
    pub certs: Vec<CertInfo>,
    pub role: Role,
    pub verdict: Option<Verdict>,
    /// The private keys found match no certificate.
    pub key_mismatch: bool,
}

/// What `Verify()` would say of a client chain against the CA certificates uploaded to the gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientVerify {
    /// The `--client-ca` files.
    pub uploaded: Vec<String>,
    pub thumbprint: String,
    /// The chain without revocation: what `VerifyNoRevocation()` says.
    pub verdict: Verdict,
    /// .NET's online revocation check of that chain (only when the chain verifies: otherwise
    /// `Verify()` is false whatever revocation says). Fetched at run time, or `--offline`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<crate::revocation::RevocationReport>,
    /// How that check ends for `Verify()`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_answer: Option<crate::revocation::VerifyRevocationAnswer>,
    /// Issuers the client did not send, fetched (or, `--offline`, named and not fetched) from
    /// caIssuers URLs, as .NET's chain building does; `verdict` is for the chain built with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_fetch: Option<crate::revocation::IssuerFetchReport>,
}

impl ClientVerify {
    /// `X509Certificate2.Verify()`: the chain and the revocation check; `None` when the
    /// revocation answer depends on fetching that was not done.
    pub fn verify_ok(&self) -> Option<bool> {
        if self.issuer_pending().is_some() {
            return None;
        }
        if !self.verdict.ok {
            return Some(false);
        }
        match &self.revocation_answer {
            Some(a) => a.passes(),
            None => None,
        }
    }

    /// `VerifyNoRevocation()`: the chain alone; `None` when it depends on an issuer fetch this run
    /// could not judge ([`Self::issuer_pending`]).
    pub fn verify_no_revocation_ok(&self) -> Option<bool> {
        if self.issuer_pending().is_some() {
            return None;
        }
        Some(self.verdict.ok)
    }

    /// Why the chain's answer depends on a caIssuers fetch: `--offline` left the missing issuer
    /// unfetched (the chain does not verify without it), or the fetched issuer completes the chain
    /// only where the gateway's platform reads its encoding.
    pub fn issuer_pending(&self) -> Option<String> {
        use crate::revocation::{IssuerFetchOutcome, UnknownWhy};
        let report = self.issuer_fetch.as_ref()?;
        let offline = report
            .fetches
            .iter()
            .any(|f| matches!(f.outcome, IssuerFetchOutcome::NotFetched { why: UnknownWhy::Offline }));
        if offline == self.verdict.ok {
            return None;
        }
        report.pending()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub now: OffsetDateTime,
    pub expiring_days: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { now: OffsetDateTime::now_utc(), expiring_days: DEFAULT_EXPIRING_DAYS }
    }
}

/// A certificate forwarded in a request header (`--forward-cert`), as the rules name it.
#[derive(Debug, Clone, Copy)]
pub struct ForwardedSeen<'a> {
    pub header: &'a str,
    pub subject: &'a str,
    /// Uppercase SHA-1 hex.
    pub thumbprint: &'a str,
}

/// Everything the rules look at.
#[derive(Debug, Clone, Copy)]
pub struct Observations<'a> {
    pub probes: &'a [ProbeResult],
    pub inspected: Option<&'a InspectedChain>,
    pub policy: Option<&'a PolicyEvaluation>,
    /// Outbound probes: the policy's backend routing and authentication certificates.
    pub outbound_policy: Option<&'a crate::policy::OutboundPolicy>,
    pub client_verify: Option<&'a ClientVerify>,
    /// `--forward-cert`: `Verify()` of the certificate sent in a request header.
    pub forwarded_verify: Option<&'a ClientVerify>,
    /// `--forward-cert`: the certificate sent in a request header, which the policy reads there
    /// (then `context.Request.Certificate` is null: the front end ended TLS).
    pub forwarded_cert: Option<ForwardedSeen<'a>>,
    /// CA certificates uploaded to the gateway (`--client-ca`).
    pub uploaded_cas: &'a [CertInfo],
    pub azure: Option<&'a AzureConfig>,
    /// Files given as an identity that have a certificate but no private key.
    pub keyless_identities: &'a [String],
    pub settings: Settings,
}

impl<'a> Observations<'a> {
    pub fn new(probes: &'a [ProbeResult]) -> Self {
        Observations {
            probes,
            inspected: None,
            policy: None,
            outbound_policy: None,
            client_verify: None,
            forwarded_verify: None,
            forwarded_cert: None,
            uploaded_cas: &[],
            azure: None,
            keyless_identities: &[],
            settings: Settings::default(),
        }
    }
}

/// Run every rule; findings come back deduplicated and ordered most likely first.
pub fn diagnose(obs: &Observations) -> Vec<Finding> {
    let mut out = Vec::new();
    let s = obs.settings;

    for origin in obs.keyless_identities {
        let mut f = catalog::finding(FindingId::CertNoPrivateKey);
        f.subject = Some(origin.clone());
        f.cause = "The file holds a certificate but no private key, so it cannot be presented in a handshake: the probe went on without a client certificate.".into();
        f.evidence.push(format!("{origin}: certificate(s) found, no private key"));
        f.fix = vec![
            "Export the certificate with its private key (.pfx: \"Yes, export the private key\"), or pass the key file with --key.".into(),
            "For Key Vault: import the .pfx with its key; a .cer upload has none.".into(),
        ];
        out.push(f);
    }

    let known_cas: Vec<&CertInfo> = obs
        .uploaded_cas
        .iter()
        .chain(obs.inspected.map(|i| i.certs.as_slice()).unwrap_or_default())
        .filter(|c| c.is_ca)
        .collect();
    for p in obs.probes {
        probe_rules::probe_findings(p, &mut out);
        let subject = probe_rules::subject_of(p);
        dropped_rules::closed_after_request(p, &subject, &mut out);
        if http_cert_rules::http_403_client_cert(p, &subject, &mut out) {
            // The 403 is explained (or its unknowns named) with the certificate facts: not the generic one.
            out.retain(|f| !(f.id == FindingId::Http403AfterHandshake && f.subject.as_deref() == Some(&subject)));
        }
        chain_rules::chain_shape_findings(p, &mut out);
        chain_rules::ca_list_too_large(p, &mut out);
        chain_rules::portal_requests_cert(p, obs.azure, &mut out);
        if chain_rules::client_chain_incomplete(p, &known_cas, &mut out) {
            // The server does not know the leaf's issuer because it was not sent, not because the
            // CA is unacceptable: say the one thing.
            let subject = probe_rules::subject_of(p);
            out.retain(|f| !(f.id == FindingId::ClientCertCaNotAcceptable && f.subject.as_deref() == Some(&subject)));
        }
        let subject = probe_rules::subject_of(p);
        for (chain, role) in [(&p.client_chain, Role::Client), (&p.server_chain, Role::Server)] {
            if let Some(leaf) = chain.first() {
                let ctx =
                    cert_rules::CertContext { subject: &subject, role, now: s.now, expiring_days: s.expiring_days };
                cert_rules::cert_findings(leaf, &ctx, &mut out);
            }
        }
    }

    if let Some(ins) = obs.inspected {
        if let Some(leaf) = ins.certs.first() {
            let ctx = cert_rules::CertContext {
                subject: &ins.origin,
                role: ins.role,
                now: s.now,
                expiring_days: s.expiring_days,
            };
            cert_rules::cert_findings(leaf, &ctx, &mut out);
        }
        chain_rules::inspected_shape_findings(&ins.origin, ins.role, &ins.certs, &mut out);
        if ins.key_mismatch {
            let mut f = catalog::finding(FindingId::CertKeyMismatch);
            f.subject = Some(ins.origin.clone());
            f.cause =
                "The private key given does not belong to any certificate given: a TLS stack refuses to use the pair."
                    .into();
            if let Some(leaf) = ins.certs.first() {
                f.evidence.push(format!(
                    "certificate \"{}\" (Thumbprint {}) has a different public key",
                    leaf.subject, leaf.thumbprint_sha1
                ));
            }
            f.fix =
                vec!["Find the key generated with this certificate's request (or re-export the .pfx with its key)."
                    .into()];
            out.push(f);
        }
        if let Some(v) = &ins.verdict {
            // inspect of a server certificate: the same rule as a probed server's chain.
            if ins.role == Role::Server && obs.probes.is_empty() {
                let chain = server_rules::ServerChain {
                    verdict: v,
                    chain: &ins.certs,
                    source: server_rules::ChainSource::Inspected { origin: &ins.origin },
                    backend: false,
                };
                for mut f in server_rules::server_chain_findings(&chain) {
                    f.subject = Some(ins.origin.clone());
                    out.push(f);
                }
            }
        }
    }

    if let Some(cv) = obs.client_verify {
        // Expiry and usage have findings of their own (cert-expired, cert-not-yet-valid,
        // cert-missing-client-auth-eku); this one is about the chain to the uploaded CAs.
        // A chain that only an issuer not fetched here would complete is client-chain-via-aia's.
        if !cv.verdict.ok && !code::VALIDITY_OR_PURPOSE.contains(&cv.verdict.code) && cv.issuer_pending().is_none() {
            let mut f = catalog::finding(FindingId::ClientChainUntrusted);
            f.subject = Some(cv.uploaded.join(", "));
            let missing = cv.verdict.missing_issuers();
            f.cause = if missing.is_empty() {
                format!("Against the CA certificates uploaded to the gateway, the client chain fails with \"{}\": Verify() returns false and validate-client-certificate rejects it.", cv.verdict.code_name)
            } else {
                format!("The chain is missing \"{}\": neither the client sends it nor is it uploaded, so Verify() returns false.", missing.join("\", \""))
            };
            f.evidence.push(format!("certificate Thumbprint {}", cv.thumbprint));
            f.evidence.push(format!(
                "verify against {}: {}",
                cv.uploaded.join(", "),
                crate::text::verdict_summary(&cv.verdict)
            ));
            if let Some(r) = &cv.verdict.reason {
                f.evidence.push(format!("webpki: {}", crate::text::webpki_reason(r)));
            }
            f.fix = if missing.is_empty() {
                vec![
                    policy_safety::MEANT_TO_GET_IN.into(),
                    "If yes: upload the client certificate's root CA (and intermediates) under Certificates → CA \
                     certificates; every certificate that CA issues then passes the chain check, so the policy must \
                     still say which of them get in."
                        .into(),
                    policy_safety::IF_NOT.into(),
                ]
            } else {
                vec![
                    policy_safety::MEANT_TO_GET_IN.into(),
                    format!(
                        "If yes: upload \"{}\" as a CA certificate, or make the client send it with its leaf.",
                        missing.join("\", \"")
                    ),
                    policy_safety::IF_NOT.into(),
                ]
            };
            out.push(f);
        }
    }

    if let Some(cv) = obs.client_verify {
        aia_rules::aia_findings(cv, &mut out);
    }

    if let Some(ev) = obs.policy {
        let cert =
            ev.certificate.as_ref().and_then(|tp| all_client_certs(obs).into_iter().find(|c| &c.thumbprint_sha1 == tp));
        let issuer_tps = issuer_thumbprints(obs, cert);
        policy_rules::policy_findings(ev, cert, obs.forwarded_cert, &issuer_tps, &mut out);
        policy_safety::policy_safety_findings(ev, &known_ca_certificates(obs), &mut out);
        if let Some(cv) = obs.client_verify {
            revocation_rules::revocation_findings(cv, ev, false, &mut out);
        }
        if let Some(cv) = obs.forwarded_verify {
            revocation_rules::revocation_findings(cv, ev, true, &mut out);
        }
    }

    if let Some(az) = obs.azure {
        let chain: Vec<CertInfo> = obs
            .probes
            .iter()
            .find(|p| p.role == ProbeRole::Inbound && !p.client_chain.is_empty())
            .map(|p| p.client_chain.clone())
            .or_else(|| obs.inspected.filter(|i| i.role == Role::Client).map(|i| i.certs.clone()))
            .unwrap_or_default();
        let mut seen = all_client_certs(obs);
        seen.extend(obs.probes.iter().flat_map(|p| p.server_chain.iter()));
        let cx = azure_rules::AzureContext {
            probes: obs.probes,
            client_chain: &chain,
            seen,
            auth_certs: obs
                .policy
                .map(|p| p.outcome.authentication_certificates.as_slice())
                .or_else(|| obs.outbound_policy.map(|p| p.authentication_certificates.as_slice())),
            now: s.now,
            expiring_days: s.expiring_days,
        };
        azure_rules::azure_findings(az, &cx, &mut out);
    }
    let routes_view = obs
        .policy
        .map(|ev| backend_routes::PolicyView::of(&ev.source, &ev.outcome))
        .or_else(|| obs.outbound_policy.map(backend_routes::PolicyView::outbound));
    if let (Some(az), Some(pv)) = (obs.azure, &routes_view) {
        backend_routes::not_routed(az, pv, obs.probes, &az.sources.join(", "), &mut out);
    }
    backend_routes::refine_backend_fix(obs.probes, obs.azure, routes_view.as_ref(), &mut out);
    // Every certificate a gateway would read names from: given, presented, served.
    let mut named: Vec<(String, &CertInfo)> = Vec::new();
    for p in obs.probes {
        let subject = probe_rules::subject_of(p);
        named.extend(p.client_chain.iter().chain(p.server_chain.iter()).map(|c| (subject.clone(), c)));
    }
    if let Some(ins) = obs.inspected {
        named.extend(ins.certs.iter().map(|c| (ins.origin.clone(), c)));
    }
    platform_rules::linux_differences(named, &mut out);

    outcome::follow_outcome(obs.probes, &mut out);
    finish(out)
}

fn all_client_certs<'a>(obs: &'a Observations) -> Vec<&'a CertInfo> {
    let mut v: Vec<&CertInfo> = obs.probes.iter().flat_map(|p| p.client_chain.iter()).collect();
    if let Some(i) = obs.inspected {
        v.extend(i.certs.iter());
    }
    v
}

/// CA certificates known from the inputs: uploaded (`--client-ca`), in a chain, or an `--azure`
/// CA certificate that issued a certificate seen here.
fn known_ca_certificates(obs: &Observations) -> Vec<policy_safety::KnownCa> {
    let mut out: Vec<policy_safety::KnownCa> = Vec::new();
    let seen = all_client_certs(obs);
    for c in obs.uploaded_cas.iter().filter(|c| c.is_ca) {
        out.push(policy_safety::KnownCa {
            thumbprint: c.thumbprint_sha1.clone(),
            subject: c.subject.clone(),
            source: "--client-ca".into(),
        });
    }
    for c in seen.iter().filter(|c| c.is_ca) {
        out.push(policy_safety::KnownCa {
            thumbprint: c.thumbprint_sha1.clone(),
            subject: c.subject.clone(),
            source: "the client chain".into(),
        });
    }
    if let Some(service) = obs.azure.and_then(|a| a.service.as_ref()) {
        for ca in &service.ca_certificates {
            let (Some(tp), Some(subject)) = (&ca.thumbprint, &ca.subject) else { continue };
            if seen
                .iter()
                .copied()
                .chain(obs.uploaded_cas.iter())
                .any(|c| &c.issuer == subject && &c.subject != subject)
            {
                out.push(policy_safety::KnownCa {
                    thumbprint: crate::cert::normalize_thumbprint(tp),
                    subject: subject.clone(),
                    source: "--azure (CA certificates)".into(),
                });
            }
        }
    }
    out
}

/// Thumbprints of certificates that issued the client certificate (from its chain or the uploaded CAs).
fn issuer_thumbprints(obs: &Observations, cert: Option<&CertInfo>) -> Vec<String> {
    let Some(cert) = cert else { return vec![] };
    let mut out: Vec<String> = all_client_certs(obs)
        .into_iter()
        .chain(obs.uploaded_cas.iter())
        .filter(|c| c.subject == cert.issuer && c.thumbprint_sha1 != cert.thumbprint_sha1)
        .map(|c| c.thumbprint_sha1.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Deduplicate (same id, subject and evidence) and order: errors first, then by the catalog's rank.
fn finish(mut out: Vec<Finding>) -> Vec<Finding> {
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| seen.insert((f.id, f.subject.clone(), f.evidence.clone())));
    // The same certificate problem seen from several probes is one finding.
    let mut seen_cert = std::collections::HashSet::new();
    out.retain(|f| if f.id.is_certificate() { seen_cert.insert((f.id, f.evidence.first().cloned())) } else { true });
    // "See also" names each other finding once, in the order the rules gave them.
    for f in &mut out {
        let own = f.id;
        let mut named = std::collections::HashSet::new();
        f.related.retain(|r| *r != own && named.insert(*r));
    }
    out.sort_by_key(|f| (f.severity, catalog::rank(f.id)));
    out
}

/// Whether any finding is an error (exit code 1).
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

#[cfg(test)]
mod tests {
    use super::catalog::finding;
    use super::{finish, FindingId};

    #[test]
    fn see_also_lists_each_other_id_once() {
        let mut f = finding(FindingId::PolicyRejects);
        f.related = vec![
            FindingId::ThumbprintMismatch,
            FindingId::PolicyRejects,
            FindingId::IssuerOrder,
            FindingId::ThumbprintMismatch,
        ];
        let out = finish(vec![f]);
        assert_eq!(out[0].related, [FindingId::ThumbprintMismatch, FindingId::IssuerOrder]);
    }
}
