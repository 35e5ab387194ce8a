//! `azure-backend-cert-not-found`: the certificates a backend entity presents (its
//! `credentials.certificateIds`, else `credentials.certificate` thumbprints, and a Service Fabric
//! backend's `serviceFabricCluster.clientCertificateId`, else its thumbprint) must be certificate
//! entities of the service. Without a certificates export that is unknown, and said so.

use super::catalog::finding;
use super::finding::{Finding, Severity};
use super::id::FindingId;
use crate::azure::{ApimBackend, AzureConfig, BackendCertRef};
use crate::cert::normalize_thumbprint;

/// The command that exports the certificate entities (`NAME`, `RG`, `SUB` as placeholders unless the
/// service's resource id is known).
pub(super) fn certificates_command(az: &AzureConfig) -> String {
    let service = az
        .service
        .as_ref()
        .and_then(|s| s.id.as_deref())
        .map(|id| id.trim_end_matches('/').to_string())
        .unwrap_or_else(|| {
            "/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.ApiManagement/service/NAME".into()
        });
    format!(
        "az rest --method get --url \"https://management.azure.com{service}/certificates?api-version=2022-08-01\" > certificates.json"
    )
}

/// The service a child resource id names (`…/service/{name}/{collection}/{id}`), if it is one.
fn service_of<'a>(id: &'a str, collection: &str) -> Option<&'a str> {
    let segments: Vec<&str> = id.trim_matches('/').split('/').collect();
    let at = segments.iter().position(|s| s.eq_ignore_ascii_case(collection))?;
    (at >= 2 && segments[at - 2].eq_ignore_ascii_case("service")).then(|| segments[at - 1])
}

fn resolves(az: &AzureConfig, r: &BackendCertRef) -> bool {
    if r.by_id {
        return az.certificate(&r.value).is_some();
    }
    let wanted = normalize_thumbprint(&r.value);
    az.certificates.iter().any(|c| c.thumbprint.as_deref().is_some_and(|t| normalize_thumbprint(t) == wanted))
}

fn label(r: &BackendCertRef) -> String {
    let what = if r.by_id { "certificate" } else { "thumbprint" };
    let shown = if r.by_id { r.value.trim_end_matches('/').rsplit('/').next().unwrap_or(&r.value) } else { &r.value };
    format!("{what} {shown} ({})", r.field)
}

/// Evidence that the export cannot show: thumbprints the service ignores beside ids.
fn ignored_thumbprints(b: &ApimBackend) -> Option<String> {
    let ids = b.client_certificate_ids.iter().any(|id| !id.trim().is_empty());
    let tps: Vec<&str> = b.client_certificate_thumbprints.iter().map(|t| t.trim()).filter(|t| !t.is_empty()).collect();
    (ids && !tps.is_empty()).then(|| {
        format!(
            "backend {}: credentials.certificate [{}] is not checked: the Backend contract ignores thumbprints when certificateIds is set",
            b.id,
            tps.join(", ")
        )
    })
}

pub(super) fn backend_cert_refs(az: &AzureConfig, sources: &str, out: &mut Vec<Finding>) {
    let exported = !az.certificates.is_empty();
    for b in &az.backends {
        let refs = b.presented_certificates();
        let missing: Vec<&BackendCertRef> = refs.iter().filter(|r| !exported || !resolves(az, r)).collect();
        if missing.is_empty() {
            continue;
        }
        let names: Vec<String> = missing.iter().map(|r| label(r)).collect();
        let mut f = finding(FindingId::AzureBackendCertNotFound);
        f.subject = Some(sources.to_string());
        for r in &missing {
            f.evidence.push(format!("backend {} ({}): {} {}", b.id, b.url, r.field, r.value));
        }
        f.evidence.extend(ignored_thumbprints(b));
        if exported && !az.partial_certificates.is_empty() {
            f.severity = Severity::Info;
            f.cause = format!(
                "Unknown, not missing: backend {} presents {}, which is not on the page of the certificates list that was exported ({} links to further pages), so whether the service has it cannot be told.",
                b.id,
                names.join(", "),
                az.partial_certificates.join(", ")
            );
            f.evidence.push(format!(
                "unknown: {} is one page of a paged list (nextLink)",
                az.partial_certificates.join(", ")
            ));
            f.fix = vec![
                "Fetch the remaining pages (az rest --url with each nextLink) and give those files with --azure too."
                    .into(),
            ];
            out.push(f);
            continue;
        }
        if !exported {
            f.severity = Severity::Info;
            f.cause = format!(
                "Unknown, not missing: backend {} presents {}, and no certificate entities are in the exports given (no certificates export, or an empty one), so whether the service has it cannot be checked.",
                b.id,
                names.join(", ")
            );
            f.evidence.push(
                "unknown: the exports given hold no certificate entities (Certificates blade, service/certificates)"
                    .into(),
            );
            f.fix = vec![format!(
                "Export the certificate entities and give that file with --azure as well: {}",
                certificates_command(az)
            )];
            out.push(f);
            continue;
        }
        // The service export's name, else the one in the backend's own resource id.
        let service_name = az
            .service
            .as_ref()
            .map(|s| s.name.as_str())
            .or_else(|| b.resource_id.as_deref().and_then(|id| service_of(id, "backends")));
        for r in missing.iter().filter(|r| r.by_id) {
            if let (Some(named), Some(ours)) = (service_of(&r.value, "certificates"), service_name) {
                if !named.eq_ignore_ascii_case(ours) {
                    f.evidence.push(format!("{} names a certificate of service {named}, not of {ours}", r.value));
                }
            }
        }
        let known: Vec<String> = az
            .certificates
            .iter()
            .map(|c| format!("{} {}", c.id, c.thumbprint.as_deref().unwrap_or("(no thumbprint)")))
            .collect();
        f.evidence.push(format!("certificate entities in the export: {}", known.join("; ")));
        f.cause = format!(
            "Backend {} presents {}, and no certificate entity in the certificates export has it. Either that export is partial or from another service, or the backend points at a certificate the service does not hold; then requests routed through {} carry no client certificate and a backend that requires one refuses the handshake.",
            b.id,
            names.join(", "),
            b.id
        );
        let ids: Vec<&str> = az.certificates.iter().map(|c| c.id.as_str()).collect();
        f.fix = vec![
            format!(
                "Point {} of backend {} at a certificate the service has ({}), or add the certificate under Certificates → Certificates.",
                missing[0].field,
                b.id,
                ids.join(", ")
            ),
            "If the export is partial, export all certificate entities and give them with --azure: ".to_string()
                + &certificates_command(az),
        ];
        out.push(f);
    }
}
