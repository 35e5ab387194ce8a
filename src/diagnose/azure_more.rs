//! Azure rules over what the exports hold together with the policy: CA certificates replaced by
//! another with the same subject, and `<authentication-certificate>` references checked against the
//! certificate entities.

use super::catalog::finding;
use super::finding::{Finding, Severity};
use super::id::FindingId;
use crate::azure::{ApimService, AzureConfig};
use crate::cert::normalize_thumbprint;
use crate::policy::AuthCertRef;

/// Two service CA certificates with the same subject: the older one (a stale intermediate or root left
/// behind after a renewal) can still be the one a chain is built with.
pub(super) fn ca_replaced(service: &ApimService, sources: &str, out: &mut Vec<Finding>) {
    let mut seen: Vec<&str> = Vec::new();
    for ca in &service.ca_certificates {
        let Some(subject) = ca.subject.as_deref().filter(|s| !s.trim().is_empty()) else { continue };
        if seen.iter().any(|s| s.eq_ignore_ascii_case(subject)) {
            continue;
        }
        seen.push(subject);
        let mut same: Vec<_> = service
            .ca_certificates
            .iter()
            .filter(|c| c.subject.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(subject)))
            .collect();
        if same.len() < 2 {
            continue;
        }
        // Expiry as exported sorts chronologically (RFC 3339 in one offset); unknown first.
        same.sort_by(|a, b| a.expiry.cmp(&b.expiry));
        let mut f = finding(FindingId::AzureCaReplaced);
        f.subject = Some(sources.to_string());
        f.cause = format!(
            "{} CA certificates uploaded to {} have the subject \"{subject}\". When a CA is renewed and the old one stays, chain building picks by subject and key identifier, so a client issued under the new CA can be checked against the old one (or the other way round) and fail.",
            same.len(),
            service.name
        );
        for c in &same {
            f.evidence.push(format!(
                "certificates[]: store {}, subject \"{subject}\", thumbprint {}, expiry {}",
                c.store_name.as_deref().unwrap_or("unknown"),
                c.thumbprint.as_deref().unwrap_or("unknown"),
                c.expiry.as_deref().unwrap_or("unknown")
            ));
        }
        let oldest = same.first().and_then(|c| c.thumbprint.clone()).unwrap_or_else(|| "the older one".into());
        f.fix = vec![format!(
            "Keep only the CA certificate the clients' chains are issued under: remove {oldest} if no client still uses it (Certificates → CA certificates)."
        )];
        f.related.push(FindingId::AzureCaNotUploaded);
        out.push(f);
    }
}

/// Each `<authentication-certificate>` must name a certificate entity the service has (by id or
/// thumbprint), and a Key Vault certificate must be named by id.
pub(super) fn auth_cert_refs(az: &AzureConfig, refs: &[AuthCertRef], sources: &str, out: &mut Vec<Finding>) {
    // Without a certificates export the entities are unknown: say so, never "missing".
    if az.certificates.is_empty() {
        let named: Vec<String> = refs
            .iter()
            .filter(|r| !r.body_present)
            .filter_map(|r| {
                let by_id = r.certificate_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
                let by_tp = r.thumbprint.as_deref().map(str::trim).filter(|s| !s.is_empty());
                match (by_id, by_tp) {
                    (Some(v), _) | (None, Some(v)) if v.starts_with('@') || v.starts_with("{{") => None,
                    (Some(id), _) => Some(format!("{}: certificate-id=\"{id}\"", r.path)),
                    (None, Some(tp)) => Some(format!("{}: thumbprint=\"{tp}\"", r.path)),
                    (None, None) => None,
                }
            })
            .collect();
        if !named.is_empty() {
            let mut f = finding(FindingId::AzureAuthCertNotFound);
            f.severity = Severity::Info;
            f.subject = Some(sources.to_string());
            f.cause = "Unknown, not missing: the policy's authentication-certificate names a certificate, and no certificate entities are in the exports given (no certificates export, or an empty one), so whether the service has it cannot be checked.".into();
            f.evidence = named;
            f.evidence.push(
                "unknown: the exports given hold no certificate entities (Certificates blade, service/certificates)"
                    .into(),
            );
            f.fix = vec![format!(
                "Export the certificate entities and give that file with --azure as well: {}",
                super::backend_certs::certificates_command(az)
            )];
            out.push(f);
        }
        return;
    }
    let known: Vec<String> = az.certificates.iter().map(|c| c.id.clone()).collect();
    // One page of a paged list: a certificate not on it may be on another page.
    let partial = |mut f: Finding| {
        if !az.partial_certificates.is_empty() {
            f.severity = Severity::Info;
            f.cause = format!(
                "Unknown, not missing: {} The certificates export is one page of a paged list ({}), so the certificate may be on a page that was not exported.",
                f.cause,
                az.partial_certificates.join(", ")
            );
            f.fix.insert(
                0,
                "Fetch the remaining pages (az rest --url with each nextLink) and give those files with --azure too."
                    .into(),
            );
        }
        f
    };
    for r in refs {
        if r.body_present {
            continue;
        }
        let by_id = r.certificate_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let by_tp = r.thumbprint.as_deref().map(str::trim).filter(|s| !s.is_empty());
        // A policy expression is decided per request; it cannot be checked here.
        if by_id.or(by_tp).is_some_and(|v| v.starts_with('@') || v.starts_with("{{")) {
            continue;
        }
        if let Some(id) = by_id {
            if az.certificate(id).is_none() {
                let mut f = finding(FindingId::AzureAuthCertNotFound);
                f.subject = Some(sources.to_string());
                f.cause = format!("The policy's authentication-certificate names certificate-id \"{id}\", and the service has no certificate with that id: the gateway presents nothing and the backend's mTLS fails.");
                f.evidence.push(format!("{}: certificate-id=\"{id}\"", r.path));
                f.evidence.push(format!("certificate ids in the export: {}", known.join(", ")));
                f.fix = vec![format!(
                    "Use one of the exported ids ({}), or add the certificate (Certificates → Certificates → Add).",
                    known.join(", ")
                )];
                out.push(partial(f));
            }
        } else if let Some(tp) = by_tp {
            let wanted = normalize_thumbprint(tp);
            let found = az
                .certificates
                .iter()
                .find(|c| c.thumbprint.as_deref().is_some_and(|t| normalize_thumbprint(t) == wanted));
            match found {
                None => {
                    let mut f = finding(FindingId::AzureAuthCertNotFound);
                    f.subject = Some(sources.to_string());
                    f.cause = format!("The policy's authentication-certificate names thumbprint {tp}, and no certificate of the service has it: the gateway presents nothing and the backend's mTLS fails.");
                    f.evidence.push(format!("{}: thumbprint=\"{tp}\"", r.path));
                    let tps: Vec<String> = az
                        .certificates
                        .iter()
                        .map(|c| format!("{} {}", c.id, c.thumbprint.as_deref().unwrap_or("(no thumbprint)")))
                        .collect();
                    f.evidence.push(format!("certificates in the export: {}", tps.join("; ")));
                    f.fix = vec!["Reference the certificate by certificate-id (its name in Certificates), which survives renewals.".into()];
                    out.push(partial(f));
                }
                Some(c) if c.key_vault.is_some() => {
                    let mut f = finding(FindingId::AzureKvCertByThumbprint);
                    f.subject = Some(sources.to_string());
                    // The management API refuses to save such a policy ("… is configured with KeyVault
                    // secret … and cannot be referenced by thumbprint. Please reference it with
                    // certificate-id …", quoted in MicrosoftDocs/azure-docs#71385).
                    f.cause = format!("The authentication-certificate names thumbprint {tp}, which is today's version of the Key Vault certificate {}. API Management refuses to save a policy that names a Key Vault certificate by thumbprint, so this text cannot be deployed as it is (a deployed copy predates the move to Key Vault); and after a rotation the thumbprint would change and stop resolving.", c.id);
                    f.evidence.push(format!("{}: thumbprint=\"{tp}\"", r.path));
                    if let Some(kv) = &c.key_vault {
                        f.evidence
                            .push(format!("certificate {}: keyVault.secretIdentifier {}", c.id, kv.secret_identifier));
                    }
                    f.fix = vec![format!("<authentication-certificate certificate-id=\"{}\" />", c.id)];
                    out.push(f);
                }
                Some(_) => {}
            }
        }
    }
}

/// A backend entity's `credentials.certificate` (thumbprints, the older form) naming a Key Vault
/// certificate entity: the next rotation changes the thumbprint, `certificateIds` survives it.
pub(super) fn backend_thumbprint_refs(az: &AzureConfig, sources: &str, out: &mut Vec<Finding>) {
    for b in &az.backends {
        // Only the thumbprints that count: beside certificateIds (or a Service Fabric clientCertificateId)
        // the Backend contract ignores them.
        for r in b.presented_certificates().iter().filter(|r| !r.by_id) {
            let (tp, field) = (r.value.as_str(), r.field);
            let wanted = normalize_thumbprint(tp);
            let Some(c) = az.certificates.iter().find(|c| {
                c.key_vault.is_some() && c.thumbprint.as_deref().is_some_and(|t| normalize_thumbprint(t) == wanted)
            }) else {
                continue;
            };
            let mut f = finding(FindingId::AzureKvCertByThumbprint);
            f.subject = Some(sources.to_string());
            f.cause = format!("Backend {} presents the certificate with thumbprint {tp} ({field}), today's version of the Key Vault certificate {}. When the vault's certificate is rotated the gateway's copy gets a new thumbprint and this reference no longer names it.", b.id, c.id);
            f.evidence.push(if field == crate::azure::SF_CERT_THUMBPRINT {
                format!("backend {}: {field} {tp}", b.id)
            } else {
                format!("backend {}: {field} [{tp}]", b.id)
            });
            if let Some(kv) = &c.key_vault {
                f.evidence.push(format!("certificate {}: keyVault.secretIdentifier {}", c.id, kv.secret_identifier));
            }
            let id = az
                .service
                .as_ref()
                .and_then(|s| s.id.as_deref())
                .map(|service| format!("{}/certificates/{}", service.trim_end_matches('/'), c.id))
                .unwrap_or_else(|| format!("<resource id of certificate {}>", c.id));
            f.fix = vec![if field == crate::azure::SF_CERT_THUMBPRINT {
                format!("Name it by id instead: serviceFabricCluster.clientCertificateId \"{id}\" (the thumbprint is then ignored).")
            } else {
                format!(
                    "Name it by id instead: credentials.certificateIds [\"{id}\"], and drop the thumbprint from credentials.certificate."
                )
            }];
            out.push(f);
        }
    }
}
