//! Facts about the exported configuration that several rules share: the pricing tier and which
//! client-certificate switch it has, what a Key Vault reference points at, why the gateway's last fetch
//! failed, when it reads the vault again, and the vault's resource id.

use std::fmt;

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::model::{ApimService, AzureConfig, KeyVaultRef, KeyVaultStatus};
use super::names::{parse_secret_url, VaultTarget};

/// How often the gateway re-reads a versionless Key Vault reference: about every four hours.
pub const KV_REREAD_INTERVAL: Duration = Duration::hours(4);

/// The pricing tiers, grouped by how they take client certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Developer, Basic, Standard, Premium, Isolated: per-hostname `negotiateClientCertificate`, CA
    /// certificates can be uploaded.
    Classic,
    /// Consumption: service-level `enableClientCertificate`, no CA certificates.
    Consumption,
    /// BasicV2, StandardV2, PremiumV2: service-level `enableClientCertificate`, no CA certificates.
    V2,
    /// No SKU in the export.
    Unknown,
}

impl Tier {
    pub fn of(sku: Option<&str>) -> Tier {
        let Some(sku) = sku.map(|s| s.trim().to_ascii_lowercase()) else { return Tier::Unknown };
        match sku.as_str() {
            "consumption" => Tier::Consumption,
            s if s.ends_with("v2") => Tier::V2,
            "developer" | "basic" | "standard" | "premium" | "isolated" => Tier::Classic,
            _ => Tier::Unknown,
        }
    }

    /// True when the tier takes the service-level switch rather than the per-hostname one.
    pub fn service_level_switch(self) -> bool {
        matches!(self, Tier::Consumption | Tier::V2)
    }

    /// False where CA certificates cannot be uploaded to the service.
    pub fn allows_ca_upload(self) -> bool {
        !self.service_level_switch()
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tier::Classic => "classic",
            Tier::Consumption => "Consumption",
            Tier::V2 => "v2",
            Tier::Unknown => "unknown",
        })
    }
}

impl ApimService {
    pub fn tier(&self) -> Tier {
        Tier::of(self.sku.as_deref())
    }
}

/// Why the gateway's last Key Vault fetch failed, judged from `lastStatus`'s code and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KvFailure {
    /// The vault uses RBAC and the identity has no role that reads secrets.
    ForbiddenByRbac,
    /// The vault uses access policies and the identity's policy lacks secret Get.
    ForbiddenByAccessPolicy,
    /// The vault firewall, disabled public access or a private endpoint refused the gateway's address.
    BlockedByNetwork,
    /// The secret (or the vault) does not exist under that name or version.
    NotFound,
    /// The secret (or that version) is disabled.
    Disabled,
    /// API Management's own wording ("Failed to access KeyVault Secret … using Managed Service Identity
    /// …"): the identity was refused, and the message does not say whether by a role, an access policy
    /// or the vault's network rules.
    IdentityRefused,
    /// Some other failure: the message is quoted.
    Other,
}

impl KvFailure {
    pub fn classify(status: &KeyVaultStatus) -> KvFailure {
        let text = format!("{} {}", status.code, status.message.as_deref().unwrap_or_default()).to_ascii_lowercase();
        let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
        if has(&[
            "forbiddenbyfirewall",
            "forbiddenbyconnection",
            "client address is not authorized",
            "not a trusted service",
            "public network access is disabled",
            "private link",
            "private endpoint",
        ]) {
            KvFailure::BlockedByNetwork
        } else if has(&["forbiddenbyrbac", "not authorized to perform action", "role assignment"]) {
            KvFailure::ForbiddenByRbac
        } else if has(&["forbiddenbypolicy", "accessdenied", "access policy", "does not have secrets get permission"]) {
            KvFailure::ForbiddenByAccessPolicy
        } else if has(&["secretdisabled", "disabled secret", "is disabled", "certificatedisabled"]) {
            KvFailure::Disabled
        } else if has(&["notfound", "not found", "was not found", "does not exist"]) {
            KvFailure::NotFound
        } else if has(&["failed to access keyvault", "failed to access key vault", "using managed service identity"]) {
            KvFailure::IdentityRefused
        } else {
            KvFailure::Other
        }
    }
}

/// The gateway's address as the vault saw it, from a firewall refusal ("Client address: 203.0.113.7").
pub fn refused_client_address(status: &KeyVaultStatus) -> Option<String> {
    let message = status.message.as_deref()?;
    let at = message.to_ascii_lowercase().find("client address:")? + "client address:".len();
    let address: String =
        message[at..].trim_start().chars().take_while(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':')).collect();
    (address.parse::<std::net::IpAddr>().is_ok()).then_some(address)
}

/// What a Key Vault reference's URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VaultObject {
    Secret,
    /// `/certificates/`: the certificate's public part only, never its private key.
    Certificate,
    Unknown,
}

impl KeyVaultRef {
    pub fn vault_object(&self) -> VaultObject {
        vault_object_of(&self.secret_identifier)
    }

    /// When the gateway last reported on the reference, if the export says.
    pub fn last_checked(&self) -> Option<OffsetDateTime> {
        parse_time(self.last_status.as_ref()?.time_stamp_utc.as_deref()?)
    }

    /// When the gateway is next expected to read the vault (last report + about four hours), and the
    /// time left from `now` (negative when overdue). `None` without a timestamp or for a versioned
    /// reference, which is never re-read.
    pub fn next_reread(&self, now: OffsetDateTime) -> Option<(OffsetDateTime, Duration)> {
        if self.is_versioned() {
            return None;
        }
        let next = self.last_checked()? + KV_REREAD_INTERVAL;
        Some((next, next - now))
    }
}

/// What a Key Vault URL (a certificate's `secretIdentifier`, a hostname's `keyVaultId`) points at.
pub fn vault_object_of(url: &str) -> VaultObject {
    if parse_secret_url(url).is_none() {
        return VaultObject::Unknown;
    }
    let lower = url.to_ascii_lowercase();
    let path = lower.split_once("://").map_or(lower.as_str(), |(_, rest)| rest);
    match path.split('/').nth(1) {
        Some("secrets") => VaultObject::Secret,
        Some("certificates") => VaultObject::Certificate,
        _ => VaultObject::Unknown,
    }
}

/// `…/certificates/NAME[/VERSION]` rewritten to the secret the gateway reads, `…/secrets/NAME` (versionless).
pub fn secret_url_for(url: &str) -> Option<String> {
    let parsed = parse_secret_url(url)?;
    let (scheme, rest) = url.trim().split_once("://")?;
    let host = rest.split('/').next()?;
    Some(format!("{scheme}://{host}/secrets/{}", parsed.name?))
}

/// An RFC 3339 timestamp as az prints them (`2020-09-22T00:24:53.3191468Z`).
pub fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text.trim(), &Rfc3339).ok()
}

/// A duration for a person: `3 h 20 min`, `45 min`.
pub fn human_duration(d: Duration) -> String {
    let minutes = d.whole_minutes().abs();
    let (h, m) = (minutes / 60, minutes % 60);
    match (h, m) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

impl AzureConfig {
    /// The vault's ARM resource id as the export spells it (learnt from a role assignment scoped to the
    /// vault or to something inside it), for a `--scope`. `None` when no export names it.
    pub fn vault_resource_id(&self, vault_name: &str) -> Option<String> {
        let wanted = vault_name.trim().to_ascii_lowercase();
        self.role_assignments.iter().find_map(|ra| {
            let target = VaultTarget::parse(&ra.scope)?;
            if target.vault_name.as_deref() != Some(wanted.as_str()) || target.vault_id.is_none() {
                return None;
            }
            // Keep the export's own spelling: cut after `/vaults/{name}`.
            let lower = ra.scope.to_ascii_lowercase();
            let marker = format!("/providers/microsoft.keyvault/vaults/{wanted}");
            let at = lower.find(&marker)? + marker.len();
            Some(ra.scope[..at].to_string())
        })
    }
}
