//! Key Vault rules: identity, role assignments, what the reference points at, the gateway's last
//! fetch (classified by cause), versioned references and rotations not yet picked up.

use super::azure_rules::AzureContext;
use super::catalog::finding;
use super::finding::Finding;
use super::id::FindingId;
use crate::azure::{human_duration, secret_url_for, ApimCertificate, AzureConfig, KeyVaultRef, KvFailure, VaultObject};

fn push(out: &mut Vec<Finding>, subject: &str, mut f: Finding) {
    f.subject = Some(subject.to_string());
    out.push(f);
}

pub(super) fn kv_findings(az: &AzureConfig, cx: &AzureContext<'_>, sources: &str, out: &mut Vec<Finding>) {
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
        push(out, sources, f);
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
                let scope = az
                    .vault_resource_id(vault)
                    .unwrap_or_else(|| format!("$(az keyvault show --name {vault} --query id -o tsv)"));
                f.fix = vec![format!(
                    "az role assignment create --role \"Key Vault Secrets User\" --assignee-object-id {} --assignee-principal-type ServicePrincipal --scope \"{scope}\"",
                    principals.first().cloned().unwrap_or_default()
                )];
                f.related.push(FindingId::KvSyncFailed);
                push(out, sources, f);
            }
        }
    }
    for h in &kv_hostnames {
        let Some(url) = h.key_vault_id.as_deref() else { continue };
        if crate::azure::vault_object_of(url) == VaultObject::Certificate {
            let mut f = finding(FindingId::KvCertificateUrl);
            f.cause = format!("The hostname {} takes its server certificate from the vault's /certificates/ object, which holds only the public certificate; the gateway needs the private key, served as the secret of the same name.", h.host_name);
            f.evidence.push(format!("hostnameConfigurations: {{hostName: {}, keyVaultId: {url}}}", h.host_name));
            let secret = secret_url_for(url).unwrap_or_else(|| "https://VAULT.vault.azure.net/secrets/NAME".into());
            f.fix = vec![format!("Set keyVaultId to the secret instead: {secret}.")];
            push(out, sources, f);
        }
    }
    for c in &kv_certs {
        let Some(kv) = &c.key_vault else { continue };
        if kv.sync_ok() == Some(false) {
            sync_failed(az, c, kv, sources, out);
        }
        if kv.vault_object() == VaultObject::Certificate {
            let mut f = finding(FindingId::KvCertificateUrl);
            f.cause = format!("Certificate {} points at the vault's /certificates/ object, which holds only the public certificate. The gateway needs the private key, which Key Vault serves as the secret of the same name.", c.id);
            f.evidence.push(format!("keyVault.secretIdentifier: {}", kv.secret_identifier));
            let secret = secret_url_for(&kv.secret_identifier)
                .unwrap_or_else(|| "https://VAULT.vault.azure.net/secrets/NAME".into());
            f.fix = vec![format!("Reference the secret instead: {secret} (the certificate's \"Secret Identifier\" in the portal, without its version).")];
            f.related.push(FindingId::KvSyncFailed);
            push(out, sources, f);
        }
        rotation_pending(c, kv, cx, sources, out);
        if kv.is_versioned() {
            let mut f = finding(FindingId::KvVersionedSecret);
            f.cause = format!(
                "Certificate {} points at one version of the secret, so a new version in Key Vault is never picked up.",
                c.id
            );
            f.evidence.push(format!("keyVault.secretIdentifier: {}", kv.secret_identifier));
            f.fix = vec![
                format!("Reference the secret without its version ({}) so the gateway picks up new versions (it re-reads about every four hours).", secret_url_for(&kv.secret_identifier).unwrap_or_else(|| "…/secrets/NAME".into()))
            ];
            push(out, sources, f);
        }
    }
}

fn sync_failed(az: &AzureConfig, c: &ApimCertificate, kv: &KeyVaultRef, sources: &str, out: &mut Vec<Finding>) {
    let Some(st) = kv.last_status.as_ref() else { return };
    let mut f = finding(FindingId::KvSyncFailed);
    let cause = KvFailure::classify(st);
    let vault = kv.vault_name().unwrap_or_else(|| "the vault".into());
    let why = match cause {
        KvFailure::ForbiddenByRbac => {
            format!("the vault {vault} uses RBAC and the service's identity has no role that reads secrets there")
        }
        KvFailure::ForbiddenByAccessPolicy => {
            format!("the vault {vault} uses access policies and the service's identity has no secret Get permission")
        }
        KvFailure::BlockedByNetwork => {
            format!("the vault {vault}'s firewall or private endpoint refused the gateway's connection")
        }
        KvFailure::NotFound => "the secret (or its version) does not exist under that name".to_string(),
        KvFailure::Disabled => "the secret (or that version) is disabled in the vault".to_string(),
        KvFailure::Other => {
            "of a failure the tool does not classify; the message below is the gateway's own".to_string()
        }
    };
    f.cause = format!("The service could not fetch certificate {} from Key Vault because {why}: the gateway keeps an older copy or has none.", c.id);
    f.evidence.push(format!("keyVault.secretIdentifier: {}", kv.secret_identifier));
    f.evidence.push(format!(
        "keyVault.lastStatus: code {}, message \"{}\", at {}",
        st.code,
        st.message.clone().unwrap_or_default(),
        st.time_stamp_utc.clone().unwrap_or_default()
    ));
    let principal = az.service_principal_ids().first().cloned().unwrap_or_else(|| "PRINCIPAL_ID".into());
    let scope =
        az.vault_resource_id(&vault).unwrap_or_else(|| format!("$(az keyvault show --name {vault} --query id -o tsv)"));
    f.fix = match cause {
        KvFailure::ForbiddenByRbac => vec![format!("az role assignment create --role \"Key Vault Secrets User\" --assignee-object-id {principal} --assignee-principal-type ServicePrincipal --scope \"{scope}\"")],
        KvFailure::ForbiddenByAccessPolicy => vec![format!("az keyvault set-policy --name {vault} --object-id {principal} --secret-permissions get list")],
        KvFailure::BlockedByNetwork => vec![
            format!("Let the gateway through the vault firewall: enable \"Allow trusted Microsoft services to bypass this firewall\" (az keyvault update --name {vault} --bypass AzureServices; only the system-assigned identity is trusted), or add the service's outbound public IP addresses (publicIPAddresses in az apim show) to the vault's allowed networks."),
            "In a virtual network: give the APIM subnet the Microsoft.KeyVault service endpoint, or a private endpoint and private DNS zone the gateway resolves.".into(),
        ],
        KvFailure::NotFound => vec![format!("Check the name in {} against the vault (az keyvault secret list --vault-name {vault}); a deleted secret must be recovered or re-created.", kv.secret_identifier)],
        KvFailure::Disabled => vec![format!("Enable the secret (or a newer version): az keyvault secret set-attributes --vault-name {vault} --name NAME --enabled true")],
        KvFailure::Other => vec!["Fix the access the message names (identity, role, vault firewall).".into()],
    };
    f.fix.push(format!(
        "Then refresh: az rest --method post --url <certificate {} resource id>/refreshSecret?api-version=2022-08-01",
        c.id
    ));
    f.related.extend([FindingId::KvRoleMissing, FindingId::KvNoIdentity]);
    push(out, sources, f);
}

/// A certificate the run saw with the same subject as a Key Vault certificate entity, a different
/// thumbprint and a later expiry: the vault holds a newer version than the gateway's copy.
fn rotation_pending(
    c: &ApimCertificate,
    kv: &KeyVaultRef,
    cx: &AzureContext<'_>,
    sources: &str,
    out: &mut Vec<Finding>,
) {
    let (Some(subject), Some(thumbprint), Some(expiry)) = (&c.subject, &c.thumbprint, &c.expiration_date) else {
        return;
    };
    let Some(expiry) = crate::azure::parse_time(expiry) else { return };
    let newer = cx.seen.iter().find(|s| {
        s.subject == *subject
            && !s.thumbprint_sha1.eq_ignore_ascii_case(thumbprint)
            && s.not_after_time().is_some_and(|t| t > expiry)
    });
    let Some(newer) = newer else { return };
    let mut f = finding(FindingId::KvRotationPending);
    f.evidence.push(format!(
        "certificate {}: thumbprint {thumbprint}, expires {}",
        c.id,
        c.expiration_date.clone().unwrap_or_default()
    ));
    f.evidence
        .push(format!("newer certificate seen: thumbprint {}, expires {}", newer.thumbprint_sha1, newer.not_after));
    if let Some(t) = kv.last_status.as_ref().and_then(|s| s.time_stamp_utc.clone()) {
        f.evidence.push(format!("keyVault.lastStatus.timeStampUtc: {t}"));
    }
    let when = if kv.is_versioned() {
        "Its reference pins a version, so it is never re-read.".to_string()
    } else {
        match kv.next_reread(cx.now) {
            Some((next, left)) if left.is_positive() => format!(
                "The gateway re-reads the vault about every four hours: the next read is due by {next} (in {}).",
                human_duration(left)
            ),
            Some((next, left)) => format!(
                "The next read was due by {next} ({} ago): check keyVault.lastStatus, the fetch may be failing.",
                human_duration(left)
            ),
            None => {
                "The export has no lastStatus time, so when the gateway reads the vault next is unknown.".to_string()
            }
        }
    };
    f.cause = format!("The service's copy of Key Vault certificate {} is older than a certificate with the same subject this run saw, so the vault likely holds a newer version the gateway has not fetched yet. {when}", c.id);
    f.fix = vec![format!(
        "Fetch it now: az rest --method post --url <certificate {} resource id>/refreshSecret?api-version=2022-08-01",
        c.id
    )];
    if kv.is_versioned() {
        f.related.push(FindingId::KvVersionedSecret);
    }
    push(out, sources, f);
}
