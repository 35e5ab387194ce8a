//! Reading az export JSON: each kind recognised by its content, ARM-shaped or flattened, one object,
//! an array or an ARM list; every problem names the field.

use serde_json::{Map, Value};

use super::model::{
    ApimBackend, ApimCertificate, ApimService, AzureConfig, HostnameConfig, KeyVaultRef, KeyVaultStatus,
    ManagedIdentity, RoleAssignment, ServiceCaCertificate, ServiceFabricCluster, UserAssignedIdentity,
};
use super::NOT_APIM_EXPORT;
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Service,
    Certificate,
    Backend,
    RoleAssignment,
}

/// A JSON value and the path to it inside the file (`value[2].properties.url`), so every error can name
/// the field. A missing key and an explicit `null` are the same thing here, as az prints both.
#[derive(Clone)]
pub(super) struct Node<'a> {
    value: &'a Value,
    path: String,
}

pub(super) type Problem = String;

impl<'a> Node<'a> {
    pub(super) fn child(&self, key: &str) -> Option<Node<'a>> {
        let value = self.value.as_object()?.get(key).filter(|v| !v.is_null())?;
        let path = if self.path.is_empty() { key.to_string() } else { format!("{}.{key}", self.path) };
        Some(Node { value, path })
    }

    pub(super) fn wrong_type(&self, expected: &str) -> Problem {
        format!("{}: expected {expected}, found {}", self.display_path(), describe(self.value))
    }

    pub(super) fn display_path(&self) -> &str {
        if self.path.is_empty() {
            "top level"
        } else {
            &self.path
        }
    }

    pub(super) fn string(&self) -> Result<String, Problem> {
        self.value.as_str().map(str::to_string).ok_or_else(|| self.wrong_type("a string"))
    }

    pub(super) fn boolean(&self) -> Result<bool, Problem> {
        self.value.as_bool().ok_or_else(|| self.wrong_type("true or false"))
    }

    pub(super) fn object(&self) -> Result<&'a Map<String, Value>, Problem> {
        self.value.as_object().ok_or_else(|| self.wrong_type("an object"))
    }

    pub(super) fn elements(&self) -> Result<Vec<Node<'a>>, Problem> {
        let array = self.value.as_array().ok_or_else(|| self.wrong_type("an array"))?;
        Ok(array.iter().enumerate().map(|(i, value)| Node { value, path: format!("{}[{i}]", self.path) }).collect())
    }
}

pub(super) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(super) fn opt_string(node: Option<Node<'_>>) -> Result<Option<String>, Problem> {
    node.map(|n| n.string()).transpose()
}

pub(super) fn opt_bool(node: Option<Node<'_>>) -> Result<Option<bool>, Problem> {
    node.map(|n| n.boolean()).transpose()
}

pub(super) fn string_list(node: Option<Node<'_>>) -> Result<Vec<String>, Problem> {
    match node {
        None => Ok(Vec::new()),
        Some(n) => n.elements()?.iter().map(Node::string).collect(),
    }
}

/// One exported resource: ARM puts most fields under `properties`, az's flattened output at the top.
pub(super) struct Item<'a> {
    top: Node<'a>,
    properties: Option<Node<'a>>,
}

impl<'a> Item<'a> {
    pub(super) fn new(top: Node<'a>) -> Self {
        let properties = top.child("properties").filter(|p| p.value.is_object());
        Item { top, properties }
    }

    /// A resource field, wherever this export's shape put it.
    pub(super) fn field(&self, key: &str) -> Option<Node<'a>> {
        self.properties.as_ref().and_then(|p| p.child(key)).or_else(|| self.top.child(key))
    }

    pub(super) fn has(&self, key: &str) -> bool {
        self.field(key).is_some()
    }

    pub(super) fn required_string(&self, key: &str) -> Result<String, Problem> {
        match self.field(key) {
            Some(node) => node.string(),
            None => Err(format!("{}: missing {key}", self.top.display_path())),
        }
    }

    /// The resource name; exports without one still carry it as the last segment of `id`.
    pub(super) fn name(&self) -> Result<String, Problem> {
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

    pub(super) fn kind(&self) -> Option<Kind> {
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

pub(super) fn kind_from_type(ty: &str) -> Option<Kind> {
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
pub(super) fn kind_from_id(id: &str) -> Option<Kind> {
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

pub(super) fn read_export(root: &Value, origin: &str) -> Result<AzureConfig, Problem> {
    let (unwrapped, shape) = super::wrapper::unwrap(root)?;
    let mut config = read_unwrapped(&unwrapped, origin)?;
    config.notes.extend(shape.note(origin));
    Ok(config)
}

fn read_unwrapped(root: &Value, origin: &str) -> Result<AzureConfig, Problem> {
    // An ARM list page that links to the next one holds only part of the collection.
    let paged = root.get("nextLink").and_then(Value::as_str).is_some_and(|l| !l.trim().is_empty());
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
    if paged && !config.certificates.is_empty() {
        config.partial_certificates.push(origin.to_string());
        config.notes.push(format!(
            "{origin}: one page of the certificates list (it has a nextLink): certificates on later pages are unknown; fetch each nextLink with az rest --url and give those files with --azure too"
        ));
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

pub(super) fn read_service(item: &Item<'_>) -> Result<ApimService, Problem> {
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

/// One entry of the service's `certificates`: `{storeName, certificate: {expiry, thumbprint, subject},
/// encodedCertificate}` (azure-rest-api-specs, ApiManagementCreateServiceWithSystemCertificates.json).
/// A template or request body carries only `encodedCertificate`; the facts are then read from it.
pub(super) fn read_service_ca(node: &Node<'_>) -> Result<ServiceCaCertificate, Problem> {
    node.object()?;
    let store_name = opt_string(node.child("storeName"))?;
    if let Some(info) = node.child("certificate") {
        info.object()?;
        return Ok(ServiceCaCertificate {
            store_name,
            subject: opt_string(info.child("subject"))?,
            thumbprint: opt_string(info.child("thumbprint"))?,
            expiry: opt_string(info.child("expiry"))?,
        });
    }
    let Some(encoded) = node.child("encodedCertificate") else {
        return Ok(ServiceCaCertificate { store_name, ..ServiceCaCertificate::default() });
    };
    let text = encoded.string()?;
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text.trim())
        .map_err(|_| format!("{}: not base64", encoded.display_path()))?;
    let info = crate::cert::CertInfo::from_der(&der, time::OffsetDateTime::now_utc())
        .map_err(|e| format!("{}: {e}", encoded.display_path()))?;
    Ok(ServiceCaCertificate {
        store_name,
        subject: Some(info.subject),
        thumbprint: Some(info.thumbprint_sha1.to_ascii_uppercase()),
        expiry: Some(info.not_after),
    })
}

pub(super) fn read_hostname(node: &Node<'_>) -> Result<HostnameConfig, Problem> {
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
pub(super) fn read_identity(node: &Node<'_>) -> Result<Option<ManagedIdentity>, Problem> {
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

pub(super) fn read_certificate(item: &Item<'_>) -> Result<ApimCertificate, Problem> {
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

pub(super) fn read_backend(item: &Item<'_>) -> Result<ApimBackend, Problem> {
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
        resource_id: opt_string(item.top.child("id"))?,
        service_fabric: read_service_fabric(item)?,
    })
}

/// A Service Fabric backend's cluster: ARM nests it as `properties.properties.serviceFabricCluster`
/// (azure-rest-api-specs, ApiManagementCreateBackendServiceFabric.json); a flattened export has it
/// under the top-level `properties`.
fn read_service_fabric(item: &Item<'_>) -> Result<Option<ServiceFabricCluster>, Problem> {
    let nested = match item.field("properties") {
        Some(inner) => {
            inner.object()?;
            inner.child("serviceFabricCluster")
        }
        None => None,
    };
    let Some(sf) = nested.or_else(|| item.field("serviceFabricCluster")) else { return Ok(None) };
    sf.object()?;
    // The spec spells the thumbprint `clientCertificatethumbprint`; SDK-shaped output may capitalise it.
    let thumbprint = match sf.child("clientCertificatethumbprint") {
        Some(tp) => Some(tp),
        None => sf.child("clientCertificateThumbprint"),
    };
    Ok(Some(ServiceFabricCluster {
        management_endpoints: string_list(sf.child("managementEndpoints"))?,
        client_certificate_id: opt_string(sf.child("clientCertificateId"))?,
        client_certificate_thumbprint: opt_string(thumbprint)?,
    }))
}

pub(super) fn read_role_assignment(item: &Item<'_>) -> Result<RoleAssignment, Problem> {
    Ok(RoleAssignment {
        principal_id: item.required_string("principalId")?,
        role_definition_name: opt_string(item.field("roleDefinitionName"))?,
        role_definition_id: opt_string(item.field("roleDefinitionId"))?,
        scope: item.required_string("scope")?,
    })
}

/// az writes UTF-8; Windows PowerShell 5.1's `>` turns the same output into UTF-16 with a BOM.
pub(super) fn decode_text(bytes: &[u8]) -> Result<String, Problem> {
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

pub(super) fn json_problem(e: &serde_json::Error) -> Problem {
    let full = e.to_string();
    // serde_json appends " at line L column C"; the position is reported in our own words instead.
    let what = full.rfind(" at line ").map_or(full.as_str(), |at| &full[..at]);
    format!("invalid JSON at line {}:{} ({what})", e.line(), e.column())
}
