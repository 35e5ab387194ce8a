//! Import Azure API Management configuration exported with the az CLI and answer the diagnosis's questions about it.
//!
//! Four exports are understood, each recognised by its content rather than its file name:
//!
//! | export                                   | command                                                        |
//! |------------------------------------------|----------------------------------------------------------------|
//! | the service (hostnames, SKU, identity)   | `az apim show`, or `az rest` on `.../service/{name}`           |
//! | certificates (incl. Key Vault status)    | `az rest` on `.../service/{name}/certificates[/{id}]`          |
//! | backends (client certificates, TLS)      | `az rest` on `.../service/{name}/backends[/{id}]`              |
//! | role assignments of the managed identity | `az role assignment list`, or `az rest` on `roleAssignments`   |
//!
//! Each may be ARM-shaped (`{"name","id","type","properties":{...}}`) or flattened the way az prints SDK
//! models (fields at the top level), a single object, an array, or an ARM list (`{"value":[...]}`).
//! Only public configuration is kept: a certificate's `data` or `password`, should an export carry
//! them, is never read.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The problem reported for JSON that is none of the understood exports.
pub const NOT_APIM_EXPORT: &str =
    "not an Azure API Management export (expected az apim show, certificates, backends or role assignments JSON)";

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

/// One CA certificate uploaded to the service (`certificates[].certificateInformation`).
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
    /// `credentials.certificate`: thumbprints of the certificates presented (the older form).
    pub client_certificate_thumbprints: Vec<String>,
}

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

fn prefer_proxy<'a>(found: &[&'a HostnameConfig]) -> Option<&'a HostnameConfig> {
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

/// Read one az export. The kind of export is decided from the content; see the module docs.
pub fn load_azure_file(path: &Path) -> Result<AzureConfig> {
    let origin = path.display().to_string();
    let bytes = crate::fsio::read_capped(path, crate::fsio::AZURE_EXPORT_CAP)?;
    let text = decode_text(&bytes).map_err(|problem| Error::input(&origin, problem))?;
    parse_azure_export(&text, &origin)
}

/// Parse az export JSON already in memory (pasted into the TUI, read from stdin); `origin` names it in errors
/// and in [`AzureConfig::sources`].
pub fn parse_azure_export(json: &str, origin: &str) -> Result<AzureConfig> {
    let root: Value = serde_json::from_str(json.strip_prefix('\u{feff}').unwrap_or(json))
        .map_err(|e| Error::input(origin, json_problem(&e)))?;
    read_export(&root, origin).map_err(|problem| Error::input(origin, problem))
}

/// Combine exports (typically one file per az command). Later entries replace earlier ones with the same
/// id, so a newer export wins. A configuration describes one gateway: a service with another name than the
/// first one seen is left out.
pub fn merge(configs: Vec<AzureConfig>) -> AzureConfig {
    let mut merged = AzureConfig::default();
    for config in configs {
        for source in config.sources {
            if !merged.sources.contains(&source) {
                merged.sources.push(source);
            }
        }
        if let Some(service) = config.service {
            merged.add_service(service);
        }
        for certificate in config.certificates {
            merged.add_certificate(certificate);
        }
        for backend in config.backends {
            merged.add_backend(backend);
        }
        for assignment in config.role_assignments {
            merged.add_role_assignment(assignment);
        }
    }
    merged
}

impl AzureConfig {
    fn add_service(&mut self, service: ApimService) {
        match &self.service {
            Some(existing) if !existing.name.eq_ignore_ascii_case(&service.name) => {}
            _ => self.service = Some(service),
        }
    }

    fn add_certificate(&mut self, certificate: ApimCertificate) {
        match self.certificates.iter_mut().find(|c| c.id.eq_ignore_ascii_case(&certificate.id)) {
            Some(existing) => *existing = certificate,
            None => self.certificates.push(certificate),
        }
    }

    fn add_backend(&mut self, backend: ApimBackend) {
        match self.backends.iter_mut().find(|b| b.id.eq_ignore_ascii_case(&backend.id)) {
            Some(existing) => *existing = backend,
            None => self.backends.push(backend),
        }
    }

    fn add_role_assignment(&mut self, assignment: RoleAssignment) {
        let same = |a: &RoleAssignment| {
            a.principal_id.eq_ignore_ascii_case(&assignment.principal_id)
                && normalize_scope(&a.scope) == normalize_scope(&assignment.scope)
                && role_key(a) == role_key(&assignment)
        };
        match self.role_assignments.iter_mut().find(|a| same(a)) {
            Some(existing) => *existing = assignment,
            None => self.role_assignments.push(assignment),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Reading the JSON

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Service,
    Certificate,
    Backend,
    RoleAssignment,
}

/// A JSON value and the path to it inside the file (`value[2].properties.url`), so every error can name
/// the field. A missing key and an explicit `null` are the same thing here, as az prints both.
#[derive(Clone)]
struct Node<'a> {
    value: &'a Value,
    path: String,
}

type Problem = String;

impl<'a> Node<'a> {
    fn child(&self, key: &str) -> Option<Node<'a>> {
        let value = self.value.as_object()?.get(key).filter(|v| !v.is_null())?;
        let path = if self.path.is_empty() { key.to_string() } else { format!("{}.{key}", self.path) };
        Some(Node { value, path })
    }

    fn wrong_type(&self, expected: &str) -> Problem {
        format!("{}: expected {expected}, found {}", self.display_path(), describe(self.value))
    }

    fn display_path(&self) -> &str {
        if self.path.is_empty() {
            "top level"
        } else {
            &self.path
        }
    }

    fn string(&self) -> Result<String, Problem> {
        self.value.as_str().map(str::to_string).ok_or_else(|| self.wrong_type("a string"))
    }

    fn boolean(&self) -> Result<bool, Problem> {
        self.value.as_bool().ok_or_else(|| self.wrong_type("true or false"))
    }

    fn object(&self) -> Result<&'a Map<String, Value>, Problem> {
        self.value.as_object().ok_or_else(|| self.wrong_type("an object"))
    }

    fn elements(&self) -> Result<Vec<Node<'a>>, Problem> {
        let array = self.value.as_array().ok_or_else(|| self.wrong_type("an array"))?;
        Ok(array.iter().enumerate().map(|(i, value)| Node { value, path: format!("{}[{i}]", self.path) }).collect())
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn opt_string(node: Option<Node<'_>>) -> Result<Option<String>, Problem> {
    node.map(|n| n.string()).transpose()
}

fn opt_bool(node: Option<Node<'_>>) -> Result<Option<bool>, Problem> {
    node.map(|n| n.boolean()).transpose()
}

fn string_list(node: Option<Node<'_>>) -> Result<Vec<String>, Problem> {
    match node {
        None => Ok(Vec::new()),
        Some(n) => n.elements()?.iter().map(Node::string).collect(),
    }
}

/// One exported resource: ARM puts most fields under `properties`, az's flattened output at the top.
struct Item<'a> {
    top: Node<'a>,
    properties: Option<Node<'a>>,
}

impl<'a> Item<'a> {
    fn new(top: Node<'a>) -> Self {
        let properties = top.child("properties").filter(|p| p.value.is_object());
        Item { top, properties }
    }

    /// A resource field, wherever this export's shape put it.
    fn field(&self, key: &str) -> Option<Node<'a>> {
        self.properties.as_ref().and_then(|p| p.child(key)).or_else(|| self.top.child(key))
    }

    fn has(&self, key: &str) -> bool {
        self.field(key).is_some()
    }

    fn required_string(&self, key: &str) -> Result<String, Problem> {
        match self.field(key) {
            Some(node) => node.string(),
            None => Err(format!("{}: missing {key}", self.top.display_path())),
        }
    }

    /// The resource name; exports without one still carry it as the last segment of `id`.
    fn name(&self) -> Result<String, Problem> {
        if let Some(name) = self.top.child("name") {
            return name.string();
        }
        let id = opt_string(self.top.child("id"))?;
        id.as_deref()
            .and_then(|id| id.trim_end_matches('/').rsplit('/').next())
            .filter(|last| !last.is_empty())
            .map(str::to_string)
            .ok_or_else(|| format!("{}: missing name", self.top.display_path()))
    }

    fn kind(&self) -> Option<Kind> {
        if let Some(ty) = self.top.child("type") {
            // An explicit resource type is authoritative: anything else is another kind of resource.
            return ty.value.as_str().and_then(kind_from_type);
        }
        if let Some(kind) = self.top.child("id").and_then(|id| id.value.as_str().and_then(kind_from_id)) {
            return Some(kind);
        }
        if self.has("principalId")
            && self.has("scope")
            && (self.has("roleDefinitionId") || self.has("roleDefinitionName"))
        {
            Some(Kind::RoleAssignment)
        } else if self.has("hostnameConfigurations") || self.has("gatewayUrl") {
            Some(Kind::Service)
        } else if self.has("url") && (self.has("protocol") || self.has("tls") || self.has("credentials")) {
            Some(Kind::Backend)
        } else if self.has("keyVault")
            || (self.has("thumbprint") && (self.has("subject") || self.has("expirationDate")))
        {
            Some(Kind::Certificate)
        } else {
            None
        }
    }
}

fn kind_from_type(ty: &str) -> Option<Kind> {
    match ty.trim().to_ascii_lowercase().as_str() {
        "microsoft.apimanagement/service" => Some(Kind::Service),
        "microsoft.apimanagement/service/certificates" => Some(Kind::Certificate),
        "microsoft.apimanagement/service/backends" => Some(Kind::Backend),
        "microsoft.authorization/roleassignments" => Some(Kind::RoleAssignment),
        _ => None,
    }
}

/// The kind an ARM resource id names, judged by its last `providers/…` part (role assignments can sit
/// under another resource's id).
fn kind_from_id(id: &str) -> Option<Kind> {
    let lower = id.to_ascii_lowercase();
    let segments: Vec<&str> = lower.trim_matches('/').split('/').collect();
    let at = segments.iter().rposition(|s| *s == "providers")?;
    match &segments[at + 1..] {
        ["microsoft.authorization", "roleassignments", _] => Some(Kind::RoleAssignment),
        ["microsoft.apimanagement", "service", _] => Some(Kind::Service),
        ["microsoft.apimanagement", "service", _, "certificates", _] => Some(Kind::Certificate),
        ["microsoft.apimanagement", "service", _, "backends", _] => Some(Kind::Backend),
        _ => None,
    }
}

fn read_export(root: &Value, origin: &str) -> Result<AzureConfig, Problem> {
    let root = Node { value: root, path: String::new() };
    let items: Vec<Node<'_>> = match root.value {
        Value::Array(_) => root.elements()?,
        Value::Object(map) if !map.contains_key("type") && map.get("value").is_some_and(Value::is_array) => {
            root.child("value").map(|list| list.elements()).transpose()?.unwrap_or_default()
        }
        Value::Object(_) => vec![root],
        _ => return Err(NOT_APIM_EXPORT.to_string()),
    };

    let mut config = AzureConfig { sources: vec![origin.to_string()], ..AzureConfig::default() };
    let mut services: Vec<ApimService> = Vec::new();
    let mut recognised = 0usize;
    for node in items.iter().cloned() {
        let item = Item::new(node);
        let Some(kind) = item.kind() else { continue };
        recognised += 1;
        match kind {
            Kind::Service => services.push(read_service(&item)?),
            Kind::Certificate => config.add_certificate(read_certificate(&item)?),
            Kind::Backend => config.add_backend(read_backend(&item)?),
            Kind::RoleAssignment => config.add_role_assignment(read_role_assignment(&item)?),
        }
    }
    if recognised == 0 && !items.is_empty() {
        return Err(NOT_APIM_EXPORT.to_string());
    }

    let mut names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable_by_key(|n| n.to_ascii_lowercase());
    names.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    if names.len() > 1 {
        return Err(format!(
            "holds {} API Management services ({}); export one with az apim show --name",
            names.len(),
            names.join(", ")
        ));
    }
    if let Some(service) = services.pop() {
        config.service = Some(service);
    }
    Ok(config)
}

fn read_service(item: &Item<'_>) -> Result<ApimService, Problem> {
    // `az resource list` prints services without their properties; reading that as "no custom hostnames"
    // would mislead every rule about negotiation.
    if item.properties.is_none() && !item.has("hostnameConfigurations") && !item.has("gatewayUrl") {
        return Err(format!(
            "{}: the service has no properties (a resource summary, as az resource list prints it); \
             export it with az apim show",
            item.top.display_path()
        ));
    }
    let sku = match item.field("sku") {
        Some(sku) => {
            sku.object()?;
            opt_string(sku.child("name"))?
        }
        None => None,
    };
    let hostnames = match item.field("hostnameConfigurations") {
        Some(list) => list.elements()?.iter().map(read_hostname).collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let identity = item.field("identity").map(|n| read_identity(&n)).transpose()?.flatten();
    let ca_list = item.field("certificates");
    let ca_certificates_known = ca_list.as_ref().is_some_and(|n| n.elements().is_ok());
    let ca_certificates = match ca_list {
        Some(list) => match list.elements() {
            Ok(items) => items.iter().map(read_service_ca).collect::<Result<Vec<_>, _>>()?,
            // `null` when none were ever uploaded.
            Err(_) => Vec::new(),
        },
        None => Vec::new(),
    };
    Ok(ApimService {
        name: item.name()?,
        id: opt_string(item.top.child("id"))?,
        sku,
        gateway_url: opt_string(item.field("gatewayUrl"))?,
        hostnames,
        identity,
        enable_client_certificate: opt_bool(item.field("enableClientCertificate"))?,
        ca_certificates,
        ca_certificates_known,
    })
}

fn read_service_ca(node: &Node<'_>) -> Result<ServiceCaCertificate, Problem> {
    node.object()?;
    let (subject, thumbprint, expiry) = match node.child("certificateInformation") {
        Some(info) => {
            info.object()?;
            (
                opt_string(info.child("subject"))?,
                opt_string(info.child("thumbprint"))?,
                opt_string(info.child("expiry"))?,
            )
        }
        None => (None, None, None),
    };
    Ok(ServiceCaCertificate { store_name: opt_string(node.child("storeName"))?, subject, thumbprint, expiry })
}

fn read_hostname(node: &Node<'_>) -> Result<HostnameConfig, Problem> {
    node.object()?;
    let required = |key: &str| match node.child(key) {
        Some(n) => n.string(),
        None => Err(format!("{}: missing {key}", node.display_path())),
    };
    let certificate_thumbprint = match node.child("certificate") {
        Some(cert) => {
            cert.object()?;
            opt_string(cert.child("thumbprint"))?
        }
        None => None,
    };
    Ok(HostnameConfig {
        host_name: required("hostName")?,
        kind: required("type")?,
        negotiate_client_certificate: opt_bool(node.child("negotiateClientCertificate"))?.unwrap_or(false),
        default_ssl_binding: opt_bool(node.child("defaultSslBinding"))?,
        key_vault_id: opt_string(node.child("keyVaultId"))?,
        certificate_thumbprint,
    })
}

/// `None` for `"type": "None"`: the service has no managed identity.
fn read_identity(node: &Node<'_>) -> Result<Option<ManagedIdentity>, Problem> {
    node.object()?;
    let kind = match node.child("type") {
        Some(t) => t.string()?,
        None => return Err(format!("{}: missing type", node.display_path())),
    };
    if kind.trim().eq_ignore_ascii_case("None") {
        return Ok(None);
    }
    let mut user_assigned = Vec::new();
    if let Some(map_node) = node.child("userAssignedIdentities") {
        for (resource_id, _) in map_node.object()? {
            let entry = map_node.child(resource_id);
            if let Some(entry) = &entry {
                entry.object()?;
            }
            let field = |key: &str| opt_string(entry.as_ref().and_then(|e| e.child(key)));
            user_assigned.push(UserAssignedIdentity {
                resource_id: resource_id.clone(),
                principal_id: field("principalId")?,
                client_id: field("clientId")?,
            });
        }
    }
    Ok(Some(ManagedIdentity { kind, principal_id: opt_string(node.child("principalId"))?, user_assigned }))
}

fn read_certificate(item: &Item<'_>) -> Result<ApimCertificate, Problem> {
    let key_vault = match item.field("keyVault") {
        Some(kv) => {
            kv.object()?;
            match opt_string(kv.child("secretIdentifier"))? {
                Some(secret_identifier) => {
                    let last_status = match kv.child("lastStatus") {
                        Some(status) => {
                            status.object()?;
                            let code = match status.child("code") {
                                Some(code) => code.string()?,
                                None => return Err(format!("{}: missing code", status.display_path())),
                            };
                            Some(KeyVaultStatus {
                                code,
                                message: opt_string(status.child("message"))?,
                                time_stamp_utc: opt_string(status.child("timeStampUtc"))?,
                            })
                        }
                        None => None,
                    };
                    Some(KeyVaultRef {
                        secret_identifier,
                        identity_client_id: opt_string(kv.child("identityClientId"))?,
                        last_status,
                    })
                }
                None => None,
            }
        }
        None => None,
    };
    Ok(ApimCertificate {
        id: item.name()?,
        subject: opt_string(item.field("subject"))?,
        thumbprint: opt_string(item.field("thumbprint"))?,
        expiration_date: opt_string(item.field("expirationDate"))?,
        key_vault,
    })
}

fn read_backend(item: &Item<'_>) -> Result<ApimBackend, Problem> {
    let (chain, name) = match item.field("tls") {
        Some(tls) => {
            tls.object()?;
            (opt_bool(tls.child("validateCertificateChain"))?, opt_bool(tls.child("validateCertificateName"))?)
        }
        None => (None, None),
    };
    let (ids, thumbprints) = match item.field("credentials") {
        Some(credentials) => {
            credentials.object()?;
            (string_list(credentials.child("certificateIds"))?, string_list(credentials.child("certificate"))?)
        }
        None => (Vec::new(), Vec::new()),
    };
    Ok(ApimBackend {
        id: item.name()?,
        url: item.required_string("url")?,
        validate_certificate_chain: chain,
        validate_certificate_name: name,
        client_certificate_ids: ids,
        client_certificate_thumbprints: thumbprints,
    })
}

fn read_role_assignment(item: &Item<'_>) -> Result<RoleAssignment, Problem> {
    Ok(RoleAssignment {
        principal_id: item.required_string("principalId")?,
        role_definition_name: opt_string(item.field("roleDefinitionName"))?,
        role_definition_id: opt_string(item.field("roleDefinitionId"))?,
        scope: item.required_string("scope")?,
    })
}

/// az writes UTF-8; Windows PowerShell 5.1's `>` turns the same output into UTF-16 with a BOM.
fn decode_text(bytes: &[u8]) -> Result<String, Problem> {
    let utf16 = |rest: &[u8], from: fn([u8; 2]) -> u16| -> Result<String, Problem> {
        if rest.len() % 2 != 0 {
            return Err("not valid UTF-16 text (odd number of bytes)".to_string());
        }
        let units: Vec<u16> = rest.chunks_exact(2).map(|c| from([c[0], c[1]])).collect();
        String::from_utf16(&units).map_err(|_| "not valid UTF-16 text".to_string())
    };
    match bytes {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes),
        [0xEF, 0xBB, 0xBF, rest @ ..] => {
            String::from_utf8(rest.to_vec()).map_err(|_| "not UTF-8 text; az writes JSON as UTF-8".to_string())
        }
        _ => String::from_utf8(bytes.to_vec()).map_err(|_| "not UTF-8 text; az writes JSON as UTF-8".to_string()),
    }
}

fn json_problem(e: &serde_json::Error) -> Problem {
    let full = e.to_string();
    // serde_json appends " at line L column C"; the position is reported in our own words instead.
    let what = full.rfind(" at line ").map_or(full.as_str(), |at| &full[..at]);
    format!("invalid JSON at line {}:{} ({what})", e.line(), e.column())
}

// ---------------------------------------------------------------------------------------------------------
// Names, scopes and URLs

fn normalize_host(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Lowercase, without a trailing `/`; the tenant root `/` becomes the empty string.
fn normalize_scope(scope: &str) -> String {
    scope.trim().trim_end_matches('/').to_ascii_lowercase()
}

fn role_reads_secrets(ra: &RoleAssignment) -> bool {
    let by_name = ra
        .role_definition_name
        .as_deref()
        .is_some_and(|name| SECRET_READ_ROLES.iter().any(|(role, _)| role.eq_ignore_ascii_case(name.trim())));
    let by_id = ra.role_definition_id.as_deref().is_some_and(|id| {
        let guid = id.trim().trim_end_matches('/').rsplit('/').next().unwrap_or_default();
        SECRET_READ_ROLES.iter().any(|(_, role)| role.eq_ignore_ascii_case(guid))
    });
    by_name || by_id
}

/// Identity of an assignment's role for de-duplication: the definition GUID when known, else the name.
fn role_key(ra: &RoleAssignment) -> String {
    match (&ra.role_definition_id, &ra.role_definition_name) {
        (Some(id), _) => id.trim().trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_ascii_lowercase(),
        (None, Some(name)) => name.trim().to_ascii_lowercase(),
        (None, None) => String::new(),
    }
}

/// `name` from `…/{collection}/{name}`, or the input itself when it is already a bare name.
fn child_name<'a>(id: &'a str, collection: &str) -> &'a str {
    let id = id.trim().trim_end_matches('/');
    let segments: Vec<&str> = id.split('/').collect();
    match segments.iter().rposition(|s| s.eq_ignore_ascii_case(collection)) {
        Some(at) if at + 1 < segments.len() => segments[at + 1],
        _ => id,
    }
}

struct SecretUrl {
    vault: String,
    name: Option<String>,
    version: Option<String>,
}

/// `https://{vault}.vault.azure.net/secrets/{name}[/{version}]` (any cloud's vault domain).
fn parse_secret_url(url: &str) -> Option<SecretUrl> {
    let uri: hyper::Uri = url.trim().parse().ok()?;
    if !uri.scheme_str().is_some_and(|s| s.eq_ignore_ascii_case("https")) {
        return None;
    }
    let host = uri.host()?.to_ascii_lowercase();
    let (vault, domain) = host.split_once('.')?;
    if vault.is_empty() || domain.is_empty() {
        return None;
    }
    let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let (name, version) = match segments.as_slice() {
        [kind, name, rest @ ..]
            if kind.eq_ignore_ascii_case("secrets") || kind.eq_ignore_ascii_case("certificates") =>
        {
            (Some(name.to_string()), rest.first().map(|v| v.to_string()))
        }
        _ => (None, None),
    };
    Some(SecretUrl { vault: vault.to_string(), name, version })
}

/// What `grants_secret_read` was asked about, normalised (lowercase).
struct VaultTarget {
    vault_name: Option<String>,
    /// `/subscriptions/…/providers/microsoft.keyvault/vaults/{name}`, or any scope given as a resource id.
    vault_id: Option<String>,
    secret: Option<String>,
}

impl VaultTarget {
    fn parse(input: &str) -> Option<VaultTarget> {
        let input = input.trim();
        if input.is_empty() {
            return None;
        }
        if input.contains("://") {
            let url = parse_secret_url(input)?;
            return Some(VaultTarget {
                vault_name: Some(url.vault),
                vault_id: None,
                secret: url.name.map(|n| n.to_ascii_lowercase()),
            });
        }
        if input.starts_with('/') {
            let scope = normalize_scope(input);
            let segments: Vec<&str> = scope.split('/').collect();
            let vault_at = segments
                .windows(3)
                .position(|w| w[0] == "microsoft.keyvault" && w[1] == "vaults" && !w[2].is_empty())
                .map(|at| at + 2);
            return Some(match vault_at {
                Some(at) => {
                    let secret = match &segments[at + 1..] {
                        ["secrets", name, ..] => Some(name.to_string()),
                        _ => None,
                    };
                    VaultTarget {
                        vault_name: Some(segments[at].to_string()),
                        vault_id: Some(segments[..=at].join("/")),
                        secret,
                    }
                }
                None => VaultTarget { vault_name: None, vault_id: Some(scope), secret: None },
            });
        }
        // A bare vault name, or its host name.
        let name = input.split('.').next().unwrap_or(input).to_ascii_lowercase();
        Some(VaultTarget { vault_name: Some(name), vault_id: None, secret: None })
    }
}

/// The parts of a URL that decide which backend it reaches.
struct Endpoint {
    scheme: String,
    host: String,
    port: u16,
    /// Without a trailing `/`; empty for the root.
    path: String,
}

impl Endpoint {
    fn parse(url: &str) -> Option<Endpoint> {
        let uri: hyper::Uri = url.trim().parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let port = match (uri.port_u16(), scheme.as_str()) {
            (Some(port), _) => port,
            (None, "https") | (None, "wss") => 443,
            (None, "http") | (None, "ws") => 80,
            (None, _) => return None,
        };
        Some(Endpoint {
            host: normalize_host(uri.host()?),
            port,
            path: uri.path().trim_end_matches('/').to_string(),
            scheme,
        })
    }
}
