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
        KvFailure::IdentityRefused => format!(
            "the vault {vault} refused the service's identity; the gateway's message does not say whether a role (RBAC), the access policy or the vault firewall refused it"
        ),
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
    let principal = principal_for(az, kv).unwrap_or_else(|| "PRINCIPAL_ID".into());
    let scope =
        az.vault_resource_id(&vault).unwrap_or_else(|| format!("$(az keyvault show --name {vault} --query id -o tsv)"));
    let address = crate::azure::refused_client_address(st);
    if let Some(ip) = &address {
        f.evidence.push(format!("the vault saw the gateway's request come from {ip}"));
    }
    let rbac_ruled_out = cause == KvFailure::IdentityRefused && narrow_refusal(az, kv, st, &vault, &mut f.evidence);
    f.fix = match cause {
        KvFailure::ForbiddenByRbac => vec![format!("az role assignment create --role \"Key Vault Secrets User\" --assignee-object-id {principal} --assignee-principal-type ServicePrincipal --scope \"{scope}\"")],
        KvFailure::ForbiddenByAccessPolicy => vec![format!("az keyvault set-policy --name {vault} --object-id {principal} --secret-permissions get list")],
        KvFailure::BlockedByNetwork if address.is_some() => vec![
            format!("Let the gateway through the vault firewall: enable \"Allow trusted Microsoft services to bypass this firewall\" (az keyvault update --name {vault} --bypass AzureServices; only the system-assigned identity is trusted), or allow the address the vault saw: az keyvault network-rule add --name {vault} --ip-address {}", address.clone().unwrap_or_default()),
            "In a virtual network: give the APIM subnet the Microsoft.KeyVault service endpoint, or a private endpoint and private DNS zone the gateway resolves.".into(),
        ],
        KvFailure::BlockedByNetwork => vec![
            format!("Let the gateway through the vault firewall: enable \"Allow trusted Microsoft services to bypass this firewall\" (az keyvault update --name {vault} --bypass AzureServices; only the system-assigned identity is trusted), or add the service's outbound public IP addresses (publicIPAddresses in az apim show) to the vault's allowed networks."),
            "In a virtual network: give the APIM subnet the Microsoft.KeyVault service endpoint, or a private endpoint and private DNS zone the gateway resolves.".into(),
        ],
        KvFailure::NotFound => {
            let name = kv.secret_name().unwrap_or_else(|| "NAME".into());
            let mut steps = vec![format!("Check the name in {} against the vault (az keyvault secret list --vault-name {vault}).", kv.secret_identifier)];
            // Key Vault's not-found text mentions recovery when soft-delete may hold the secret.
            if st.message.as_deref().is_some_and(|m| m.to_ascii_lowercase().contains("recover")) {
                steps.push(format!("If it was deleted, recover it while soft-delete keeps it: az keyvault certificate list-deleted --vault-name {vault}, then az keyvault certificate recover --vault-name {vault} --name {name} (az keyvault secret recover for a secret that is not a certificate's); otherwise re-create it."));
            } else {
                steps.push("A deleted secret must be recovered (soft-delete) or re-created.".into());
            }
            steps
        }
        KvFailure::Disabled => vec![format!("Enable the secret (or a newer version): az keyvault secret set-attributes --vault-name {vault} --name NAME --enabled true")],
        KvFailure::IdentityRefused => [
            (!rbac_ruled_out).then(|| format!("If the vault uses RBAC: az role assignment create --role \"Key Vault Secrets User\" --assignee-object-id {principal} --assignee-principal-type ServicePrincipal --scope \"{scope}\"")),
            Some(format!("If it uses access policies: az keyvault set-policy --name {vault} --object-id {principal} --secret-permissions get list")),
            Some(format!("If its firewall is on: use the system-assigned identity (the only one let through as a trusted service) and az keyvault update --name {vault} --bypass AzureServices, or allow the service's outbound addresses.")),
        ]
        .into_iter()
        .flatten()
        .collect(),
        KvFailure::Other => vec!["Fix the access the message names (identity, role, vault firewall).".into()],
    };
    if cause == KvFailure::ForbiddenByRbac {
        if let Some(ra) = principal_for(az, kv).and_then(|p| az.grants_secret_read(&p, &vault).cloned()) {
            // Key Vault's RBAC refusal itself says recent changes take time to apply.
            f.evidence.push(format!("role assignments export: {} at {} already grants secret reads: if it was assigned after the gateway's last attempt, the refusal predates it (role changes take a while to propagate)", ra.role_definition_name.clone().unwrap_or_default(), ra.scope));
        }
    }
    f.fix.push(format!(
        "Then refresh: az rest --method post --url <certificate {} resource id>/refreshSecret?api-version=2022-08-01",
        c.id
    ));
    f.related.extend([FindingId::KvRoleMissing, FindingId::KvNoIdentity]);
    push(out, sources, f);
}

/// A Key Vault certificate entity whose copy in the gateway looks older than the vault's: either a
/// certificate the run saw has the same subject, another thumbprint and a later expiry, or (when the
/// run saw none) the reference is versionless, the gateway's last read is older than the re-read
/// period and the copy it holds expires soon or has expired.
fn rotation_pending(
    c: &ApimCertificate,
    kv: &KeyVaultRef,
    cx: &AzureContext<'_>,
    sources: &str,
    out: &mut Vec<Finding>,
) {
    let (Some(subject), Some(thumbprint), Some(expiry_text)) = (&c.subject, &c.thumbprint, &c.expiration_date) else {
        return;
    };
    let Some(expiry) = crate::azure::parse_time(expiry_text) else { return };
    let newer = cx.seen.iter().find(|s| {
        s.subject == *subject
            && !s.thumbprint_sha1.eq_ignore_ascii_case(thumbprint)
            && s.not_after_time().is_some_and(|t| t > expiry)
    });
    let Some(newer) = newer else {
        stale_copy(c, kv, cx, thumbprint, expiry, sources, out);
        return;
    };
    let mut f = finding(FindingId::KvRotationPending);
    f.evidence.push(format!("certificate {}: thumbprint {thumbprint}, expires {expiry_text}", c.id));
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
    f.fix = vec![refresh_fix(c)];
    if kv.is_versioned() {
        f.related.push(FindingId::KvVersionedSecret);
    }
    push(out, sources, f);
}

fn refresh_fix(c: &ApimCertificate) -> String {
    format!(
        "Fetch it now: az rest --method post --url <certificate {} resource id>/refreshSecret?api-version=2022-08-01",
        c.id
    )
}

/// No newer certificate in sight: only the export's own facts, each said as known or not.
fn stale_copy(
    c: &ApimCertificate,
    kv: &KeyVaultRef,
    cx: &AzureContext<'_>,
    thumbprint: &str,
    expiry: time::OffsetDateTime,
    sources: &str,
    out: &mut Vec<Finding>,
) {
    if kv.is_versioned() {
        return; // kv-versioned-secret says why no rotation is ever picked up.
    }
    let (Some(last), Some((next, _))) = (kv.last_checked(), kv.next_reread(cx.now)) else { return };
    let since = cx.now - last;
    if since <= crate::azure::KV_REREAD_INTERVAL {
        return;
    }
    // The copy the run saw in use (presented or served), else the one the export describes.
    let in_use = cx.seen.iter().find(|s| s.thumbprint_sha1.eq_ignore_ascii_case(thumbprint));
    let copy_expiry = in_use.and_then(|s| s.not_after_time()).unwrap_or(expiry);
    let left = copy_expiry - cx.now;
    if left > time::Duration::days(cx.expiring_days) {
        return;
    }
    let mut f = finding(FindingId::KvRotationPending);
    let state =
        if left.is_negative() { format!("expired {} ago", span(left)) } else { format!("expires in {}", span(left)) };
    f.evidence.push(format!(
        "certificate {}: thumbprint {thumbprint}, {state} ({})",
        c.id,
        c.expiration_date.clone().unwrap_or_default()
    ));
    match in_use {
        Some(s) => f.evidence.push(format!("this run saw that certificate in use: thumbprint {}", s.thumbprint_sha1)),
        None => f.evidence.push("this run did not see the certificate in use; its expiry is the export's".into()),
    }
    f.evidence.push(format!(
        "keyVault.secretIdentifier: {} (no version: the gateway follows the newest)",
        kv.secret_identifier
    ));
    f.evidence.push(format!(
        "keyVault.lastStatus.timeStampUtc: {} ({} ago; the gateway re-reads about every four hours, so a read was due by {next})",
        kv.last_status.as_ref().and_then(|s| s.time_stamp_utc.clone()).unwrap_or_default(),
        human_duration(since)
    ));
    f.evidence.push("unknown: whether the vault holds a newer version; this run saw none (az keyvault certificate show shows the vault's current one)".into());
    let sync = match kv.sync_ok() {
        Some(false) => " and its last attempt failed (see kv-sync-failed)",
        _ => "",
    };
    f.cause = format!(
        "The gateway's copy of Key Vault certificate {} {state}, and the gateway has not reported reading the vault for {}{sync}: longer than its four-hour re-read period. Either the vault has no newer version yet, or the gateway has stopped picking it up; the export cannot say which (an export taken long ago also shows an old time).",
        c.id,
        human_duration(since)
    );
    f.fix = vec![
        format!("Check the vault's current version: az keyvault certificate show --vault-name {} --name NAME --query attributes.expires", kv.vault_name().unwrap_or_else(|| "VAULT".into())),
        "If the vault's certificate is newer, fetch it now (below) and fix whatever kv-sync-failed names; if not, renew it in the vault first.".into(),
        refresh_fix(c),
    ];
    f.related.push(FindingId::KvSyncFailed);
    push(out, sources, f);
}

/// The object id of the identity a reference fetches with: the user-assigned identity whose client
/// id it names, else the system-assigned one (else the first the service has).
fn principal_for(az: &AzureConfig, kv: &KeyVaultRef) -> Option<String> {
    let identity = az.service.as_ref().and_then(|s| s.identity.as_ref());
    let wanted = kv.identity_client_id.as_deref().map(str::trim).filter(|c| !c.is_empty());
    if let Some(client) = wanted {
        // Named by client id: that identity or, if the export does not list it, none.
        return identity?
            .user_assigned
            .iter()
            .find(|u| u.client_id.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(client)))
            .and_then(|u| u.principal_id.clone());
    }
    identity.and_then(|i| i.principal_id.clone()).or_else(|| az.service_principal_ids().first().cloned())
}

/// API Management's generic refusal does not name the cause; say what the exports rule in or out.
/// True when the role export shows the identity may read secrets (RBAC is then not the refusal).
fn narrow_refusal(
    az: &AzureConfig,
    kv: &KeyVaultRef,
    st: &crate::azure::KeyVaultStatus,
    vault: &str,
    ev: &mut Vec<String>,
) -> bool {
    let message = st.message.as_deref().unwrap_or_default().to_ascii_lowercase();
    let user_assigned = kv.identity_client_id.as_deref().is_some_and(|c| !c.trim().is_empty())
        || message.contains("type: userassigned");
    if user_assigned {
        ev.push(format!("the reference uses a user-assigned identity{}: if the vault's firewall is on, that alone explains the refusal (only the system-assigned identity passes as a trusted Microsoft service)", kv.identity_client_id.as_deref().map(|c| format!(" (identityClientId {c})")).unwrap_or_default()));
    }
    if az.role_assignments.is_empty() {
        ev.push("unknown: no role assignments export given, so whether a role grants the identity secret reads is not known".into());
        return false;
    }
    let Some(principal) = principal_for(az, kv) else {
        ev.push(format!(
            "unknown: the service export lists no identity {}, so whether a role grants it secret reads is not known",
            kv.identity_client_id
                .as_deref()
                .map(|c| format!("with client id {c}"))
                .unwrap_or_else(|| "object id".into())
        ));
        return false;
    };
    match az.grants_secret_read(&principal, vault) {
        Some(ra) => {
            ev.push(format!(
                "role assignments export: {} at {} lets the identity {principal} read secrets, so a vault using RBAC would not refuse it for want of a role; left: the access policy (if the vault uses them) or the vault firewall",
                ra.role_definition_name.clone().unwrap_or_else(|| ra.role_definition_id.clone().unwrap_or_default()),
                ra.scope
            ));
            true
        }
        None => {
            ev.push(format!("role assignments export: no role lets the identity {principal} read secrets in {vault} (the cause if the vault uses RBAC; see kv-role-missing)"));
            false
        }
    }
}

/// A span for an expiry: whole days from two days on, hours and minutes below.
fn span(d: time::Duration) -> String {
    let days = d.whole_days().abs();
    if days >= 2 {
        format!("{days} days")
    } else {
        human_duration(d)
    }
}
