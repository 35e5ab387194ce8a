//! Rules over imported Azure configuration: negotiation per hostname, CA certificates, backends'
//! client certificates, and Key Vault access (identity, roles, sync status, versioned secrets).

use super::catalog::finding;
use super::finding::Finding;
use super::id::FindingId;
use crate::azure::AzureConfig;
use crate::cert::CertInfo;
use crate::probe::{ProbeResult, ProbeRole};

pub fn azure_findings(
    az: &AzureConfig,
    probes: &[ProbeResult],
    client_chain: &[CertInfo],
    policy_has_auth_cert: bool,
    out: &mut Vec<Finding>,
) {
    let push = |out: &mut Vec<Finding>, subject: &str, mut f: Finding| {
        f.subject = Some(subject.to_string());
        out.push(f);
    };
    let sources = az.sources.join(", ");
    let consumption =
        az.service.as_ref().and_then(|s| s.sku.as_deref()).is_some_and(|sku| sku.eq_ignore_ascii_case("Consumption"));

    // Negotiation, per hostname actually called.
    for p in probes.iter().filter(|p| p.role == ProbeRole::Inbound) {
        let host = p.target.sni.as_str();
        let Some(service) = &az.service else { break };
        if consumption {
            if service.enable_client_certificate == Some(false) {
                let mut f = finding(FindingId::AzureNegotiationOff);
                f.cause = "The service is in the Consumption tier and \"Request client certificate\" (enableClientCertificate) is off: no caller's certificate reaches policies.".into();
                f.evidence.push(format!("{}: sku Consumption, enableClientCertificate false", service.name));
                f.fix = vec!["Turn on \"Request client certificate\" on the service (Custom domains blade), or az apim update --enable-client-certificate true.".into()];
                push(out, &sources, f);
            }
            continue;
        }
        match az.hostname(host) {
            Some(h) if !h.negotiate_client_certificate => {
                let mut f = finding(FindingId::AzureNegotiationOff);
                f.cause = format!("The exported configuration has negotiateClientCertificate false for {}, the hostname this probe called.", h.host_name);
                f.evidence.push(format!(
                    "hostnameConfigurations: {{hostName: {}, type: {}, negotiateClientCertificate: false}}",
                    h.host_name, h.kind
                ));
                f.evidence.push(format!("called: {host}"));
                f.fix = vec![
                    format!("Enable \"Negotiate client certificate\" on {} (portal: Custom domains), then wait for the change to apply.", h.host_name),
                ];
                f.related.push(FindingId::GatewayDidNotRequestCert);
                push(out, &sources, f);
            }
            Some(_) => {}
            None if !crate::azure::is_default_hostname(host) => {
                let mut f = finding(FindingId::AzureHostnameNotConfigured);
                let known: Vec<&str> = service.hostnames.iter().map(|h| h.host_name.as_str()).collect();
                f.cause = format!("{host} is not among the service's hostname configurations: the call lands on another hostname's settings (or another service).");
                f.evidence.push(format!("configured: {}", known.join(", ")));
                f.fix = vec![format!("Add {host} as a custom domain (type Proxy) with negotiation on, or call one of the configured names.")];
                push(out, &sources, f);
            }
            None => {}
        }
    }

    // CA certificates: does the client chain's root appear among them?
    if let (Some(service), Some(leaf)) = (&az.service, client_chain.first()) {
        if service.ca_certificates_known {
            let top = client_chain.last().unwrap_or(leaf);
            let wanted_issuer = if top.self_signed { top.subject.clone() } else { top.issuer.clone() };
            let in_chain: Vec<String> = client_chain.iter().map(|c| c.thumbprint_sha1.clone()).collect();
            let found = service.ca_certificates.iter().any(|ca| {
                ca.subject.as_deref().is_some_and(|s| s == wanted_issuer || client_chain.iter().any(|c| c.issuer == s))
                    || ca.thumbprint.as_deref().is_some_and(|t| in_chain.iter().any(|x| x.eq_ignore_ascii_case(t)))
            });
            if !found {
                let mut f = finding(FindingId::AzureCaNotUploaded);
                f.cause = format!("None of the service's CA certificates is \"{wanted_issuer}\" (or another issuer in the client chain), so Verify() and validate-client-certificate fail for this client.");
                f.evidence.push(format!(
                    "service CA certificates: {}",
                    if service.ca_certificates.is_empty() {
                        "(none)".to_string()
                    } else {
                        service
                            .ca_certificates
                            .iter()
                            .map(|c| c.subject.clone().unwrap_or_default())
                            .collect::<Vec<_>>()
                            .join("; ")
                    }
                ));
                f.evidence.push(format!("client chain root needed: \"{wanted_issuer}\""));
                f.fix = vec![
                    format!("Upload the root (and any intermediate) of \"{wanted_issuer}\" under Certificates → CA certificates (at most 10; not available in Consumption)."),
                ];
                push(out, &sources, f);
            }
        }
    }

    // Backends that should present a certificate.
    for p in probes.iter().filter(|p| p.role == ProbeRole::Outbound && p.client_cert_requested) {
        let url = format!("https://{}:{}", p.target.host, p.target.port);
        let Some(b) = az.backend_for_url(&url) else { continue };
        if b.client_certificate_ids.is_empty() && b.client_certificate_thumbprints.is_empty() && !policy_has_auth_cert {
            let mut f = finding(FindingId::AzureBackendNoClientCert);
            f.cause = format!("The backend entity {} has no client certificate in its credentials and no authentication-certificate policy was given, yet the backend asks for one.", b.id);
            f.evidence.push(format!("backend {}: url {}, credentials.certificateIds []", b.id, b.url));
            f.evidence.push(format!("{}:{} sent a CertificateRequest", p.target.host, p.target.port));
            f.fix = vec![format!("Backends → {} → Client certificate: pick the certificate id (or add <authentication-certificate certificate-id=\"…\"/> to the API policy).", b.id)];
            f.related.push(FindingId::BackendRequiresClientCert);
            push(out, &sources, f);
        }
    }

    // Key Vault.
    let kv_certs: Vec<_> = az.certificates.iter().filter(|c| c.key_vault.is_some()).collect();
    let kv_hostnames: Vec<_> = az
        .service
        .iter()
        .flat_map(|s| s.hostnames.iter())
        .filter(|h| h.key_vault_id.as_deref().is_some_and(|k| !k.is_empty()))
        .collect();
    let uses_kv = !kv_certs.is_empty() || !kv_hostnames.is_empty();
    let principals = az.service_principal_ids();
    if uses_kv && az.service.is_some() && principals.is_empty() {
        let mut f = finding(FindingId::KvNoIdentity);
        f.cause = "Certificates are referenced from Key Vault but the service has no managed identity, so it cannot authenticate to the vault.".into();
        f.evidence.push(format!(
            "service identity: {}",
            az.service
                .as_ref()
                .and_then(|s| s.identity.as_ref())
                .map(|i| i.kind.clone())
                .unwrap_or_else(|| "none".into())
        ));
        for c in &kv_certs {
            if let Some(kv) = &c.key_vault {
                f.evidence.push(format!("certificate {}: {}", c.id, kv.secret_identifier));
            }
        }
        f.fix = vec![
            "Enable the system-assigned managed identity on the service (Managed identities blade), or assign a user-assigned one.".into(),
            "Then grant it \"Key Vault Secrets User\" on the vault (RBAC) or secret Get/List (access policies).".into(),
        ];
        push(out, &sources, f);
    }
    let mut vaults: Vec<String> =
        kv_certs.iter().filter_map(|c| c.key_vault.as_ref().and_then(|k| k.vault_name())).collect();
    vaults.sort();
    vaults.dedup();
    if !principals.is_empty() && !az.role_assignments.is_empty() {
        for vault in &vaults {
            if !principals.iter().any(|p| az.grants_secret_read(p, vault).is_some()) {
                let mut f = finding(FindingId::KvRoleMissing);
                f.cause = format!("No role assignment in the export lets the service's identity read secrets in the vault {vault} (if the vault uses access policies instead of RBAC, check those for secret Get and List).");
                f.evidence.push(format!("service principal(s): {}", principals.join(", ")));
                let relevant: Vec<String> = az
                    .role_assignments
                    .iter()
                    .filter(|r| principals.iter().any(|p| p.eq_ignore_ascii_case(&r.principal_id)))
                    .map(|r| format!("{} at {}", r.role_definition_name.clone().unwrap_or_default(), r.scope))
                    .collect();
                f.evidence.push(format!(
                    "its role assignments: {}",
                    if relevant.is_empty() { "(none)".into() } else { relevant.join("; ") }
                ));
                f.fix = vec![format!(
                    "az role assignment create --role \"Key Vault Secrets User\" --assignee-object-id {} --assignee-principal-type ServicePrincipal --scope <the resource id of {vault}>",
                    principals.first().cloned().unwrap_or_default()
                )];
                f.related.push(FindingId::KvSyncFailed);
                push(out, &sources, f);
            }
        }
    }
    for c in &kv_certs {
        let Some(kv) = &c.key_vault else { continue };
        if kv.sync_ok() == Some(false) {
            let mut f = finding(FindingId::KvSyncFailed);
            let st = kv.last_status.as_ref();
            f.cause = format!("The service reports it could not fetch certificate {} from Key Vault: the gateway keeps using an old copy or has none.", c.id);
            f.evidence.push(format!("keyVault.secretIdentifier: {}", kv.secret_identifier));
            f.evidence.push(format!(
                "keyVault.lastStatus: code {}, message {:?}, at {}",
                st.map(|s| s.code.clone()).unwrap_or_default(),
                st.and_then(|s| s.message.clone()).unwrap_or_default(),
                st.and_then(|s| s.time_stamp_utc.clone()).unwrap_or_default()
            ));
            f.fix = vec![
                "Fix the access the message names (identity, role, vault firewall: allow trusted Microsoft services; VNet: Key Vault service endpoint).".into(),
                format!("Then refresh: az rest --method post --url <certificate {} resource id>/refreshSecret?api-version=2022-08-01", c.id),
            ];
            f.related.extend([FindingId::KvRoleMissing, FindingId::KvNoIdentity]);
            push(out, &sources, f);
        }
        if kv.is_versioned() {
            let mut f = finding(FindingId::KvVersionedSecret);
            f.cause = format!(
                "Certificate {} points at one version of the secret, so a new version in Key Vault is never picked up.",
                c.id
            );
            f.evidence.push(format!("keyVault.secretIdentifier: {}", kv.secret_identifier));
            f.fix = vec![
                "Reference the secret without its version (…/secrets/NAME) to get rotations within 4 hours.".into()
            ];
            push(out, &sources, f);
        }
    }
}
