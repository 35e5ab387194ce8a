//! What an az export says about an API Management service (hostnames, certificates, backends, role
//! assignments), and the questions the diagnosis asks of it.

use serde::{Deserialize, Serialize};

use super::names::{
    child_name, normalize_host, normalize_scope, parse_secret_url, role_reads_secrets, Endpoint, VaultTarget,
};

/// Built-in roles whose data actions include `Microsoft.KeyVault/vaults/secrets/getSecret/action`, which is
/// what the gateway needs to fetch a Key Vault certificate: (role name, role definition GUID).
///
/// "Key Vault Certificates Officer" is deliberately absent: its data actions are `certificates/*`,
/// `certificatecas/*` and `certificatecontacts/write`, which do not include reading the secret that holds
/// the private key.
pub const SECRET_READ_ROLES: &[(&str, &str)] = &[
    ("Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6"),
    ("Key Vault Certificate User", "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba"),
    ("Key Vault Secrets Officer", "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"),
    ("Key Vault Administrator", "00482a5a-887f-4fb3-b363-3b7fe8e74483"),
];

/// Everything imported from one or more az exports. Public configuration only: safe to save and share.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AzureConfig {
    /// The files (or other origins) this configuration was read from, in the order given.
    pub sources: Vec<String>,
    pub service: Option<ApimService>,
    pub certificates: Vec<ApimCertificate>,
    pub backends: Vec<ApimBackend>,
    pub role_assignments: Vec<RoleAssignment>,
    /// What a file turned out to be when it was not a plain export (a template, a REST wrapper), and what
    /// that leaves unknown; one line each.
    pub notes: Vec<String>,
    /// The files whose list of certificate entities is one page of a paged ARM list (a `nextLink`
    /// to more): a certificate not among them may be on a page that was not exported.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partial_certificates: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApimService {
    pub name: String,
    /// ARM resource id of the service.
    pub id: Option<String>,
    /// SKU name: `Developer`, `Basic`, `Standard`, `Premium`, `Consumption`, `BasicV2`, ….
    pub sku: Option<String>,
    pub gateway_url: Option<String>,
    pub hostnames: Vec<HostnameConfig>,
    pub identity: Option<ManagedIdentity>,
    /// The Consumption tier's service-wide "request client certificate" switch (`enableClientCertificate`).
    pub enable_client_certificate: Option<bool>,
    /// CA certificates uploaded to the service (`certificates`, stores Root / CertificateAuthority):
    /// what `Verify()` and validate-client-certificate chain client certificates to.
    pub ca_certificates: Vec<ServiceCaCertificate>,
    /// True when the export carried the `certificates` list at all (so an empty list means none).
    pub ca_certificates_known: bool,
}

/// One CA certificate uploaded to the service (`certificates[].certificate`, or read from `encodedCertificate`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceCaCertificate {
    /// `Root` or `CertificateAuthority`.
    pub store_name: Option<String>,
    pub subject: Option<String>,
    pub thumbprint: Option<String>,
    pub expiry: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HostnameConfig {
    pub host_name: String,
    /// `Proxy` (the gateway), `Management`, `Portal`, `DeveloperPortal`, `Scm`.
    pub kind: String,
    /// Whether the gateway asks for a client certificate in every handshake on this hostname.
    pub negotiate_client_certificate: bool,
    pub default_ssl_binding: Option<bool>,
    /// The Key Vault secret identifier the hostname's server certificate comes from.
    pub key_vault_id: Option<String>,
    /// Thumbprint of the server certificate currently bound to the hostname.
    pub certificate_thumbprint: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManagedIdentity {
    /// `SystemAssigned`, `UserAssigned` or `SystemAssigned, UserAssigned`, as Azure spells it.
    pub kind: String,
    /// Object id of the system-assigned identity.
    pub principal_id: Option<String>,
    pub user_assigned: Vec<UserAssignedIdentity>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserAssignedIdentity {
    /// ARM resource id of the `Microsoft.ManagedIdentity/userAssignedIdentities` resource.
    pub resource_id: String,
    pub principal_id: Option<String>,
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApimCertificate {
    /// The certificate id policies use (`certificate-id="…"`): the resource name.
    pub id: String,
    pub subject: Option<String>,
    pub thumbprint: Option<String>,
    pub expiration_date: Option<String>,
    pub key_vault: Option<KeyVaultRef>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyVaultRef {
    /// `https://{vault}.vault.azure.net/secrets/{name}[/{version}]`.
    pub secret_identifier: String,
    /// Client id of the user-assigned identity used to fetch the secret; `None` means the system-assigned one.
    pub identity_client_id: Option<String>,
    /// The gateway's own report of its last attempt to fetch the secret.
    pub last_status: Option<KeyVaultStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyVaultStatus {
    pub code: String,
    pub message: Option<String>,
    pub time_stamp_utc: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApimBackend {
    /// The backend id policies use (`backend-id="…"`): the resource name.
    pub id: String,
    pub url: String,
    pub validate_certificate_chain: Option<bool>,
    pub validate_certificate_name: Option<bool>,
    /// `credentials.certificateIds`: certificate ids or full resource ids of the certificates presented.
    pub client_certificate_ids: Vec<String>,
    /// `credentials.certificate`: thumbprints of the certificates presented (the older form; the
    /// Backend contract says they are ignored when `certificateIds` is set).
    pub client_certificate_thumbprints: Vec<String>,
    /// ARM resource id of the backend (`…/service/{service}/backends/{id}`), when the export has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// `properties.serviceFabricCluster` of a Service Fabric backend (`url` `fabric:/app/service`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_fabric: Option<ServiceFabricCluster>,
}

/// The cluster a Service Fabric backend resolves through, and the client certificate the gateway
/// presents to it (REST spec `BackendServiceFabricClusterProperties`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceFabricCluster {
    /// `managementEndpoints`: the cluster's management URLs.
    pub management_endpoints: Vec<String>,
    /// `clientCertificateId`: the certificate entity (resource id or name).
    pub client_certificate_id: Option<String>,
    /// `clientCertificatethumbprint` (so spelt in the spec): ignored when `clientCertificateId` is set.
    pub client_certificate_thumbprint: Option<String>,
}

/// One reference a backend entity makes to a certificate entity, and the field that makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendCertRef {
    /// The export's field, as a person would look for it (`credentials.certificateIds`).
    pub field: &'static str,
    /// True for a certificate id (resource id or name), false for a thumbprint.
    pub by_id: bool,
    pub value: String,
}

impl ApimBackend {
    /// The certificates this backend presents, in the form that counts: `credentials.certificateIds`
    /// (else `credentials.certificate` thumbprints), and for a Service Fabric backend its
    /// `clientCertificateId` (else `clientCertificatethumbprint`). A thumbprint list beside ids is
    /// ignored by the service (Backend contract), so it is not returned.
    pub fn presented_certificates(&self) -> Vec<BackendCertRef> {
        let mut refs = Vec::new();
        let mut add = |field: &'static str, by_id: bool, value: &str| {
            let value = value.trim();
            if !value.is_empty() {
                refs.push(BackendCertRef { field, by_id, value: value.to_string() });
            }
        };
        if self.client_certificate_ids.iter().any(|id| !id.trim().is_empty()) {
            self.client_certificate_ids.iter().for_each(|id| add("credentials.certificateIds", true, id));
        } else {
            self.client_certificate_thumbprints.iter().for_each(|tp| add("credentials.certificate", false, tp));
        }
        if let Some(sf) = &self.service_fabric {
            match (&sf.client_certificate_id, &sf.client_certificate_thumbprint) {
                (Some(id), _) if !id.trim().is_empty() => add(SF_CERT_ID, true, id),
                (_, Some(tp)) => add(SF_CERT_THUMBPRINT, false, tp),
                _ => {}
            }
        }
        refs
    }

    /// True when the backend names any client certificate (in any of the fields above).
    pub fn has_client_certificate(&self) -> bool {
        !self.presented_certificates().is_empty()
    }
}

/// The export fields of a Service Fabric backend's client certificate.
pub const SF_CERT_ID: &str = "serviceFabricCluster.clientCertificateId";
pub const SF_CERT_THUMBPRINT: &str = "serviceFabricCluster.clientCertificatethumbprint";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoleAssignment {
    pub principal_id: String,
    /// Present in az output; ARM's own list carries only the definition id.
    pub role_definition_name: Option<String>,
    pub role_definition_id: Option<String>,
    /// `/`, `/subscriptions/…`, `…/resourceGroups/…`, a resource id, or a management group.
    pub scope: String,
}

impl KeyVaultRef {
    /// The vault's name (the first label of the secret identifier's host), lowercase.
    pub fn vault_name(&self) -> Option<String> {
        parse_secret_url(&self.secret_identifier).map(|s| s.vault)
    }

    /// The secret's (or certificate's) name in the vault, as the identifier spells it.
    pub fn secret_name(&self) -> Option<String> {
        parse_secret_url(&self.secret_identifier).and_then(|s| s.name)
    }

    /// True when the identifier pins a secret version, which stops the gateway picking up rotations.
    pub fn is_versioned(&self) -> bool {
        parse_secret_url(&self.secret_identifier).is_some_and(|s| s.version.is_some())
    }

    /// `Some(true)` when the gateway last fetched the secret successfully, `Some(false)` when it reported a
    /// failure, `None` when the export has no status.
    pub fn sync_ok(&self) -> Option<bool> {
        self.last_status.as_ref().map(|s| s.code.trim().eq_ignore_ascii_case("Success"))
    }
}

impl AzureConfig {
    /// The hostname configuration serving `host`: an exact (case-insensitive) match first, then a wildcard
    /// custom domain (`*.contoso.com`) covering one label. A gateway (`Proxy`) entry wins over others.
    pub fn hostname(&self, host: &str) -> Option<&HostnameConfig> {
        let service = self.service.as_ref()?;
        let wanted = normalize_host(host);
        if wanted.is_empty() {
            return None;
        }
        let exact: Vec<&HostnameConfig> =
            service.hostnames.iter().filter(|h| normalize_host(&h.host_name) == wanted).collect();
        if !exact.is_empty() {
            return prefer_proxy(&exact);
        }
        let parent = wanted.split_once('.').map(|(_, rest)| rest)?;
        let wildcard: Vec<&HostnameConfig> = service
            .hostnames
            .iter()
            .filter(|h| normalize_host(&h.host_name).strip_prefix("*.").is_some_and(|suffix| suffix == parent))
            .collect();
        prefer_proxy(&wildcard)
    }

    /// Object ids of the service's managed identities: the system-assigned one first, then user-assigned.
    pub fn service_principal_ids(&self) -> Vec<String> {
        let Some(identity) = self.service.as_ref().and_then(|s| s.identity.as_ref()) else {
            return Vec::new();
        };
        let mut ids: Vec<String> = Vec::new();
        let candidates =
            identity.principal_id.iter().chain(identity.user_assigned.iter().filter_map(|u| u.principal_id.as_ref()));
        for id in candidates {
            if !id.trim().is_empty() && !ids.iter().any(|known| known.eq_ignore_ascii_case(id)) {
                ids.push(id.clone());
            }
        }
        ids
    }

    /// A role assignment that lets `principal_id` read secrets of the vault, if the export holds one.
    ///
    /// `vault` may be the vault's resource id (or a secret's: `…/vaults/{v}/secrets/{s}`), a secret
    /// identifier URL (`https://{v}.vault.azure.net/secrets/{s}`), or the bare vault name. An assignment
    /// counts at the vault, at any scope above it (resource group, subscription, tenant root `/`), or at the
    /// secret itself. Given only a name, the vault's resource id is learnt from assignments scoped to it;
    /// management-group scopes cannot be related to a vault without the group hierarchy, so they never
    /// count. Roles are recognised by name or by built-in definition GUID ([`SECRET_READ_ROLES`]).
    pub fn grants_secret_read(&self, principal_id: &str, vault: &str) -> Option<&RoleAssignment> {
        let target = VaultTarget::parse(vault)?;
        let mut vault_ids: Vec<String> = Vec::new();
        if let Some(id) = &target.vault_id {
            vault_ids.push(id.clone());
        } else if let Some(name) = &target.vault_name {
            for ra in &self.role_assignments {
                if let Some(scope_vault) =
                    VaultTarget::parse(&ra.scope).filter(|t| t.vault_name.as_deref() == Some(name.as_str()))
                {
                    if let Some(id) = scope_vault.vault_id.filter(|id| !vault_ids.contains(id)) {
                        vault_ids.push(id);
                    }
                }
            }
        }
        let principal = principal_id.trim();
        self.role_assignments.iter().find(|ra| {
            if !ra.principal_id.trim().eq_ignore_ascii_case(principal) || !role_reads_secrets(ra) {
                return false;
            }
            let scope = normalize_scope(&ra.scope);
            if scope.is_empty() {
                return true;
            }
            vault_ids.iter().any(|vault_id| {
                let covers_vault = *vault_id == scope || vault_id.starts_with(&format!("{scope}/"));
                let is_the_secret =
                    target.secret.as_ref().is_some_and(|secret| scope == format!("{vault_id}/secrets/{secret}"));
                covers_vault || is_the_secret
            })
        })
    }

    /// The certificate with this id, given as the certificate id (resource name) or its full resource id.
    pub fn certificate(&self, id: &str) -> Option<&ApimCertificate> {
        let wanted = child_name(id, "certificates");
        self.certificates.iter().find(|c| c.id.eq_ignore_ascii_case(wanted))
    }

    /// The backend with this id (as `backend-id` names it), or given by its full resource id.
    pub fn backend(&self, id: &str) -> Option<&ApimBackend> {
        let wanted = child_name(id, "backends");
        self.backends.iter().find(|b| b.id.eq_ignore_ascii_case(wanted))
    }

    /// The backend whose URL serves `url`: same scheme, host and port, and its path a prefix of `url`'s at a
    /// segment boundary. The longest such path wins, as the most specific backend.
    pub fn backend_for_url(&self, url: &str) -> Option<&ApimBackend> {
        let wanted = Endpoint::parse(url)?;
        self.backends
            .iter()
            .filter_map(|b| Endpoint::parse(&b.url).map(|e| (b, e)))
            .filter(|(_, e)| e.scheme == wanted.scheme && e.host == wanted.host && e.port == wanted.port)
            .filter(|(_, e)| {
                e.path.is_empty() || wanted.path == e.path || wanted.path.starts_with(&format!("{}/", e.path))
            })
            .max_by_key(|(_, e)| e.path.len())
            .map(|(b, _)| b)
    }
}

pub(super) fn prefer_proxy<'a>(found: &[&'a HostnameConfig]) -> Option<&'a HostnameConfig> {
    found.iter().find(|h| h.kind.eq_ignore_ascii_case("Proxy")).or(found.first()).copied()
}

/// True for the hostnames Azure assigns (`{service}.azure-api.net` and its regional, portal and
/// management siblings; `.azure-api.cn` and `.azure-api.us` in the China and US Government clouds).
/// Negotiation cannot be switched on for these in the classic tiers.
pub fn is_default_hostname(host: &str) -> bool {
    let host = normalize_host(host);
    ["azure-api.net", "azure-api.cn", "azure-api.us"].iter().any(|domain| {
        host.strip_suffix(domain).and_then(|rest| rest.strip_suffix('.')).is_some_and(|label| !label.is_empty())
    })
}
