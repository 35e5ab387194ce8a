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

mod facts;
mod import;
mod model;
mod names;
mod wrapper;

use std::path::Path;

use serde_json::Value;

use self::import::{decode_text, json_problem, read_export};
use self::names::{normalize_scope, role_key};
use crate::error::{Error, Result};

pub use self::facts::{
    human_duration, parse_time, refused_client_address, secret_url_for, vault_object_of, KvFailure, Tier, VaultObject,
    KV_REREAD_INTERVAL,
};
pub use self::model::{
    is_default_hostname, ApimBackend, ApimCertificate, ApimService, AzureConfig, BackendCertRef, HostnameConfig,
    KeyVaultRef, KeyVaultStatus, ManagedIdentity, RoleAssignment, ServiceCaCertificate, ServiceFabricCluster,
    UserAssignedIdentity, SECRET_READ_ROLES, SF_CERT_ID, SF_CERT_THUMBPRINT,
};
pub use self::wrapper::EXPORT_COMMANDS;

/// The problem reported for JSON that is none of the understood exports.
pub const NOT_APIM_EXPORT: &str =
    "not an Azure API Management export (expected az apim show, certificates, backends or role assignments JSON)";

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
    let text = json.strip_prefix('\u{feff}').unwrap_or(json);
    let root: Value = serde_json::from_str(text).map_err(|e| {
        Error::input(origin, self::wrapper::bicep_source_problem(text).unwrap_or_else(|| json_problem(&e)))
    })?;
    read_export(&root, origin).map_err(|problem| Error::input(origin, problem))
}

/// Combine exports (typically one file per az command). Later entries replace earlier ones with the same
/// id, so a newer export wins. A configuration describes one gateway: a service with another name than the
/// first one seen is left out.
pub fn merge(configs: Vec<AzureConfig>) -> AzureConfig {
    let mut merged = AzureConfig::default();
    for config in configs {
        merged.notes.extend(config.notes);
        merged.partial_certificates.extend(config.partial_certificates);
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
