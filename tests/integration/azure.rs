//! Importing az CLI exports of an API Management service, and the questions the diagnosis asks of them.

use std::path::PathBuf;

use mtls_doctor::azure::{
    is_default_hostname, load_azure_file, merge, parse_azure_export, AzureConfig, KeyVaultRef, KeyVaultStatus,
    NOT_APIM_EXPORT,
};
use mtls_doctor::Error;

use crate::util::Dir;

const SUB: &str = "/subscriptions/00000000-0000-0000-0000-000000000000";
const SYSTEM_PRINCIPAL: &str = "7d3c1a52-0e4b-4a7e-9b1f-2c5d8e6f0a11";
const USER_PRINCIPAL: &str = "c0ffee00-1111-4222-8333-444455556666";
const FUNC_PRINCIPAL: &str = "5b0d7e3c-9a41-4c2b-8f6e-1d2c3b4a5f60";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/azure").join(name)
}

fn load(name: &str) -> AzureConfig {
    load_azure_file(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn input_error(result: mtls_doctor::Result<AzureConfig>) -> (String, String) {
    match result {
        Err(Error::Input { origin, problem }) => (origin, problem),
        other => panic!("expected Error::Input, got {other:?}"),
    }
}

fn all_fixtures() -> AzureConfig {
    merge(vec![
        load("service-arm.json"),
        load("certificates-list.json"),
        load("backends-list.json"),
        load("backends-untyped.json"),
        load("role-assignments.json"),
        load("role-assignments-arm.json"),
    ])
}

fn kv_ref(secret_identifier: &str, code: Option<&str>) -> KeyVaultRef {
    KeyVaultRef {
        secret_identifier: secret_identifier.to_string(),
        identity_client_id: None,
        last_status: code.map(|c| KeyVaultStatus { code: c.to_string(), message: None, time_stamp_utc: None }),
    }
}

#[test]
fn arm_service_export_is_read_with_hostnames_and_identities() {
    let config = load("service-arm.json");
    assert_eq!(config.sources, vec![fixture("service-arm.json").display().to_string()]);
    assert!(config.certificates.is_empty() && config.backends.is_empty() && config.role_assignments.is_empty());
    let service = config.service.expect("service");
    assert_eq!(service.name, "contoso-apim");
    assert_eq!(
        service.id.as_deref(),
        Some(&*format!("{SUB}/resourceGroups/rg-apim/providers/Microsoft.ApiManagement/service/contoso-apim"))
    );
    assert_eq!(service.sku.as_deref(), Some("Developer"));
    assert_eq!(service.gateway_url.as_deref(), Some("https://contoso-apim.azure-api.net"));
    assert_eq!(service.enable_client_certificate, None);

    let names: Vec<(&str, &str, bool)> = service
        .hostnames
        .iter()
        .map(|h| (h.host_name.as_str(), h.kind.as_str(), h.negotiate_client_certificate))
        .collect();
    assert_eq!(
        names,
        vec![
            ("contoso-apim.azure-api.net", "Proxy", false),
            ("api.contoso.example", "Proxy", true),
            ("developer.contoso.example", "DeveloperPortal", false)
        ]
    );
    let custom = &service.hostnames[1];
    assert_eq!(custom.default_ssl_binding, Some(true));
    assert_eq!(
        custom.key_vault_id.as_deref(),
        Some("https://kv-contoso-prod.vault.azure.net/secrets/api-contoso-example")
    );
    assert_eq!(custom.certificate_thumbprint.as_deref(), Some("3E1F5C0A9B7D2E4F6A8C0B1D3E5F7A9C2B4D6E8F"));
    assert_eq!(service.hostnames[0].certificate_thumbprint, None);

    let identity = service.identity.expect("identity");
    assert_eq!(identity.kind, "SystemAssigned, UserAssigned");
    assert_eq!(identity.principal_id.as_deref(), Some(SYSTEM_PRINCIPAL));
    assert_eq!(identity.user_assigned.len(), 1);
    assert_eq!(
        identity.user_assigned[0].resource_id,
        format!("{SUB}/resourceGroups/rg-apim/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-apim-kv")
    );
    assert_eq!(identity.user_assigned[0].principal_id.as_deref(), Some(USER_PRINCIPAL));
    assert_eq!(identity.user_assigned[0].client_id.as_deref(), Some("aaaa1111-2222-4333-8444-555566667777"));
}

#[test]
fn az_flattened_service_export_is_read_including_consumption_switch() {
    let config = load("service-az.json");
    let service = config.service.expect("service");
    assert_eq!(service.name, "fabrikam-func");
    assert_eq!(service.sku.as_deref(), Some("Consumption"));
    assert_eq!(service.enable_client_certificate, Some(true));
    assert_eq!(service.gateway_url.as_deref(), Some("https://fabrikam-func.azure-api.net"));
    assert_eq!(service.hostnames.len(), 1);
    // `negotiateClientCertificate: null` is the documented default, false.
    assert!(!service.hostnames[0].negotiate_client_certificate);
    assert_eq!(service.hostnames[0].default_ssl_binding, Some(true));
    assert_eq!(service.hostnames[0].key_vault_id, None);
    let identity = service.identity.expect("identity");
    assert_eq!(identity.kind, "SystemAssigned");
    assert_eq!(identity.principal_id.as_deref(), Some(FUNC_PRINCIPAL));
    assert!(identity.user_assigned.is_empty());
}

#[test]
fn certificate_list_keeps_key_vault_references_and_their_status() {
    let config = load("certificates-list.json");
    assert!(config.service.is_none());
    let ids: Vec<&str> = config.certificates.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, vec!["backend-client", "partner-mtls", "legacy-upload"]);

    let ok = config.certificate("backend-client").expect("backend-client");
    assert_eq!(ok.subject.as_deref(), Some("CN=apim-client.contoso.example, O=Contoso, C=NL"));
    assert_eq!(ok.thumbprint.as_deref(), Some("A1B2C3D4E5F60718293A4B5C6D7E8F9011223344"));
    assert_eq!(ok.expiration_date.as_deref(), Some("2026-05-31T12:00:00Z"));
    let kv = ok.key_vault.as_ref().expect("key vault");
    assert_eq!(kv.identity_client_id.as_deref(), Some("aaaa1111-2222-4333-8444-555566667777"));
    assert_eq!(kv.sync_ok(), Some(true));
    assert!(!kv.is_versioned());
    assert_eq!(kv.vault_name().as_deref(), Some("kv-contoso-prod"));
    let status = kv.last_status.as_ref().expect("status");
    assert_eq!(status.time_stamp_utc.as_deref(), Some("2025-02-03T04:05:06.789Z"));
    assert_eq!(status.message, None);

    let failed = config.certificate("partner-mtls").and_then(|c| c.key_vault.as_ref()).expect("partner kv");
    assert_eq!(failed.sync_ok(), Some(false));
    assert!(failed.is_versioned());
    assert_eq!(failed.identity_client_id, None);
    let status = failed.last_status.as_ref().expect("status");
    assert_eq!(status.code, "Forbidden");
    assert_eq!(
        status.message.as_deref(),
        Some("The user, group or application does not have secrets get permission on key vault 'kv-contoso-prod'.")
    );

    let uploaded = config.certificate("legacy-upload").expect("legacy-upload");
    assert!(uploaded.key_vault.is_none());
    assert_eq!(uploaded.thumbprint.as_deref(), Some("99887766554433221100FFEEDDCCBBAA99887766"));
}

#[test]
fn single_certificate_object_is_read_and_status_code_is_case_insensitive() {
    let config = load("certificate-single.json");
    assert_eq!(config.certificates.len(), 1);
    let cert = &config.certificates[0];
    assert_eq!(cert.id, "backend-client");
    assert_eq!(cert.thumbprint.as_deref(), Some("5566778899AABBCCDDEEFF001122334455667788"));
    let kv = cert.key_vault.as_ref().expect("key vault");
    assert_eq!(kv.last_status.as_ref().map(|s| s.code.as_str()), Some("success"));
    assert_eq!(kv.sync_ok(), Some(true));
}

#[test]
fn key_vault_reference_helpers() {
    let plain = kv_ref("https://kv-contoso-prod.vault.azure.net/secrets/backend-client", None);
    assert_eq!(plain.vault_name().as_deref(), Some("kv-contoso-prod"));
    assert!(!plain.is_versioned());
    assert_eq!(plain.sync_ok(), None);

    let trailing_slash = kv_ref("https://kv-contoso-prod.vault.azure.net/secrets/backend-client/", Some("Success"));
    assert!(!trailing_slash.is_versioned());
    assert_eq!(trailing_slash.sync_ok(), Some(true));

    let versioned = kv_ref("https://KV-China.vault.azure.cn/secrets/client/0a1b2c3d4e5f", Some("SecretNotFound"));
    assert_eq!(versioned.vault_name().as_deref(), Some("kv-china"));
    assert!(versioned.is_versioned());
    assert_eq!(versioned.sync_ok(), Some(false));

    let garbage = kv_ref("not a url", None);
    assert_eq!(garbage.vault_name(), None);
    assert!(!garbage.is_versioned());
    let plain_http = kv_ref("http://kv.vault.azure.net/secrets/a/b", None);
    assert_eq!(plain_http.vault_name(), None);
}

#[test]
fn backends_are_read_with_and_without_client_certificates() {
    let config = load("backends-list.json");
    assert_eq!(config.backends.len(), 2);
    let orders = config.backend("orders-mtls").expect("orders-mtls");
    assert_eq!(orders.url, "https://orders.internal.contoso.example:8443/api");
    assert_eq!(orders.validate_certificate_chain, Some(true));
    assert_eq!(orders.validate_certificate_name, Some(false));
    assert_eq!(
        orders.client_certificate_ids,
        vec![format!("{SUB}/resourceGroups/rg-apim/providers/Microsoft.ApiManagement/service/contoso-apim/certificates/backend-client")]
    );
    assert!(orders.client_certificate_thumbprints.is_empty());

    let catalog = config.backend("CATALOG").expect("catalog, case-insensitive");
    assert_eq!(catalog.url, "https://catalog.contoso.example");
    assert_eq!(catalog.validate_certificate_chain, None);
    assert_eq!(catalog.validate_certificate_name, None);
    assert!(catalog.client_certificate_ids.is_empty() && catalog.client_certificate_thumbprints.is_empty());
    assert!(config.backend("missing").is_none());
}

#[test]
fn backends_without_type_are_recognised_by_their_fields() {
    let config = load("backends-untyped.json");
    assert!(config.service.is_none() && config.certificates.is_empty());
    assert_eq!(config.backends.len(), 1);
    let legacy = &config.backends[0];
    assert_eq!(legacy.id, "billing-legacy");
    assert_eq!(legacy.url, "https://billing.contoso.example/v1/");
    assert_eq!(legacy.client_certificate_thumbprints, vec!["99887766554433221100FFEEDDCCBBAA99887766".to_string()]);
    assert!(legacy.client_certificate_ids.is_empty());
    assert_eq!(legacy.validate_certificate_chain, None);
}

#[test]
fn role_assignments_are_read_from_az_and_arm_lists() {
    let az = load("role-assignments.json");
    assert_eq!(az.role_assignments.len(), 5);
    let first = &az.role_assignments[0];
    assert_eq!(first.principal_id, SYSTEM_PRINCIPAL);
    assert_eq!(first.role_definition_name.as_deref(), Some("Key Vault Secrets User"));
    assert_eq!(
        first.role_definition_id.as_deref(),
        Some(&*format!("{SUB}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"))
    );
    assert_eq!(
        first.scope,
        format!("{SUB}/resourceGroups/rg-secrets/providers/Microsoft.KeyVault/vaults/kv-contoso-prod")
    );

    let arm = load("role-assignments-arm.json");
    assert_eq!(arm.role_assignments.len(), 1);
    let only = &arm.role_assignments[0];
    assert_eq!(only.principal_id, FUNC_PRINCIPAL);
    assert_eq!(only.role_definition_name, None);
    assert_eq!(only.scope, SUB);
}

#[test]
fn kind_is_detected_from_content_not_file_name() {
    let dir = Dir::new();
    let certs = std::fs::read_to_string(fixture("certificates-list.json")).expect("read fixture");
    let misnamed = dir.write("backends.txt", &certs);
    let config = load_azure_file(&misnamed).expect("certificates under a misleading name");
    assert_eq!(config.certificates.len(), 3);
    assert!(config.backends.is_empty());

    // Neither `type` nor `id`: a certificate is known by thumbprint + subject, a role assignment by
    // principalId + scope + role, a service by hostnameConfigurations.
    let untyped = dir.write(
        "export.json",
        r#"[
          {"name": "bare-cert", "thumbprint": "00112233445566778899AABBCCDDEEFF00112233", "subject": "CN=bare"},
          {"principalId": "p-1", "scope": "/", "roleDefinitionName": "Key Vault Administrator"},
          {"name": "bare-apim", "hostnameConfigurations": [{"type": "Proxy", "hostName": "bare-apim.azure-api.net"}]}
        ]"#,
    );
    let config = load_azure_file(&untyped).expect("untyped export");
    assert_eq!(config.certificates.len(), 1);
    assert_eq!(config.certificates[0].id, "bare-cert");
    assert_eq!(config.role_assignments.len(), 1);
    assert_eq!(config.role_assignments[0].role_definition_name.as_deref(), Some("Key Vault Administrator"));
    assert_eq!(config.service.as_ref().map(|s| s.name.as_str()), Some("bare-apim"));

    // The resource id alone is enough, and supplies the name when `name` is missing.
    let by_id = dir.write(
        "by-id.json",
        format!(
            r#"{{"id": "{SUB}/resourceGroups/rg/providers/Microsoft.ApiManagement/service/s/backends/from-id",
                "properties": {{"url": "https://from-id.example"}}}}"#
        ),
    );
    let config = load_azure_file(&by_id).expect("backend by id");
    assert_eq!(config.backends.len(), 1);
    assert_eq!(config.backends[0].id, "from-id");
    assert_eq!(config.backends[0].url, "https://from-id.example");
}

#[test]
fn merge_combines_files_in_order_and_later_exports_win() {
    let merged = merge(vec![
        load("service-arm.json"),
        load("certificates-list.json"),
        load("backends-list.json"),
        load("role-assignments.json"),
        load("certificate-single.json"),
        load("role-assignments.json"),
        load("service-az.json"),
    ]);
    assert_eq!(
        merged.sources,
        [
            "service-arm.json",
            "certificates-list.json",
            "backends-list.json",
            "role-assignments.json",
            "certificate-single.json",
            "service-az.json"
        ]
        .iter()
        .map(|n| fixture(n).display().to_string())
        .collect::<Vec<_>>()
    );
    // A second, different service cannot describe the same gateway; the first stays.
    assert_eq!(merged.service.as_ref().map(|s| s.name.as_str()), Some("contoso-apim"));
    assert_eq!(merged.certificates.len(), 3);
    // certificate-single.json is a newer export of backend-client: it replaced the list's entry in place.
    assert_eq!(merged.certificates[0].id, "backend-client");
    assert_eq!(merged.certificates[0].thumbprint.as_deref(), Some("5566778899AABBCCDDEEFF001122334455667788"));
    assert_eq!(merged.backends.len(), 2);
    // The same role assignments loaded twice are not duplicated.
    assert_eq!(merged.role_assignments.len(), 5);

    assert_eq!(merge(Vec::new()), AzureConfig::default());
}

#[test]
fn invalid_json_names_file_line_and_column() {
    let dir = Dir::new();
    let path = dir.write("broken.json", "{\n  \"name\": \"x\",\n  \"type\" \"Microsoft.ApiManagement/service\"\n}\n");
    let (origin, problem) = input_error(load_azure_file(&path));
    assert_eq!(origin, path.display().to_string());
    assert_eq!(problem, "invalid JSON at line 3:10 (expected `:`)");

    let empty = dir.write("empty.json", "");
    let (_, problem) = input_error(load_azure_file(&empty));
    assert_eq!(problem, "invalid JSON at line 1:0 (EOF while parsing a value)");

    let missing = dir.path("absent.json");
    match load_azure_file(&missing) {
        Err(Error::Io { path, .. }) => assert_eq!(path, missing.display().to_string()),
        other => panic!("expected Error::Io, got {other:?}"),
    }
}

#[test]
fn json_that_is_not_an_apim_export_is_refused() {
    let (origin, problem) = input_error(load_azure_file(&fixture("not-apim.json")));
    assert_eq!(origin, fixture("not-apim.json").display().to_string());
    assert_eq!(problem, NOT_APIM_EXPORT);
    assert_eq!(
        problem,
        "not an Azure API Management export (expected az apim show, certificates, backends or role assignments JSON)"
    );
    for text in
        ["{}", "[1, 2]", "\"text\"", "42", r#"[{"type": "Microsoft.ApiManagement/service/apis", "name": "echo"}]"#]
    {
        let (origin, problem) = input_error(parse_azure_export(text, "pasted"));
        assert_eq!((origin.as_str(), problem.as_str()), ("pasted", NOT_APIM_EXPORT), "for {text}");
    }
    // An empty list is a legitimate az answer ("no role assignments"), not a foreign file.
    let empty = parse_azure_export("[]", "none.json").expect("empty list");
    assert_eq!(empty.sources, vec!["none.json".to_string()]);
    assert!(empty.service.is_none() && empty.role_assignments.is_empty());
    let empty_value = parse_azure_export(r#"{"value": [], "nextLink": null}"#, "none.json").expect("empty value list");
    assert!(empty_value.certificates.is_empty());
}

#[test]
fn wrong_field_types_and_missing_fields_name_the_field() {
    let (_, problem) = input_error(parse_azure_export(
        r#"{"name": "s", "type": "Microsoft.ApiManagement/service", "properties": {
             "hostnameConfigurations": [{"type": "Proxy", "hostName": "a.example", "negotiateClientCertificate": "yes"}]}}"#,
        "svc.json",
    ));
    assert_eq!(
        problem,
        "properties.hostnameConfigurations[0].negotiateClientCertificate: expected true or false, found a string"
    );

    let (_, problem) = input_error(parse_azure_export(
        r#"{"value": [{"name": "b", "type": "Microsoft.ApiManagement/service/backends", "properties": {"protocol": "http"}}]}"#,
        "backends.json",
    ));
    assert_eq!(problem, "value[0]: missing url");

    let (_, problem) = input_error(parse_azure_export(
        r#"[{"name": "c", "type": "Microsoft.ApiManagement/service/certificates",
             "properties": {"keyVault": {"secretIdentifier": "https://kv.vault.azure.net/secrets/c", "lastStatus": {"message": "x"}}}}]"#,
        "certs.json",
    ));
    assert_eq!(problem, "[0].properties.keyVault.lastStatus: missing code");

    let (_, problem) = input_error(parse_azure_export(
        r#"[{"name": "b", "url": "https://b.example", "protocol": "http", "credentials": {"certificateIds": ["ok", 7]}}]"#,
        "backends.json",
    ));
    assert_eq!(problem, "[0].credentials.certificateIds[1]: expected a string, found a number");
}

#[test]
fn services_need_their_properties_and_one_export_holds_one_service() {
    let summary = r#"[{"id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.ApiManagement/service/a",
                       "name": "a", "type": "Microsoft.ApiManagement/service", "properties": null, "sku": {"name": "Developer"}}]"#;
    let (_, problem) = input_error(parse_azure_export(summary, "resources.json"));
    assert_eq!(
        problem,
        "[0]: the service has no properties (a resource summary, as az resource list prints it); export it with az apim show"
    );

    let two = r#"[{"name": "a", "type": "Microsoft.ApiManagement/service", "properties": {"gatewayUrl": "https://a.azure-api.net"}},
                  {"name": "b", "type": "Microsoft.ApiManagement/service", "properties": {"gatewayUrl": "https://b.azure-api.net"}}]"#;
    let (_, problem) = input_error(parse_azure_export(two, "list.json"));
    assert_eq!(problem, "holds 2 API Management services (a, b); export one with az apim show --name");
}

#[test]
fn utf16_and_bom_files_from_powershell_redirects_load() {
    let dir = Dir::new();
    let json = std::fs::read_to_string(fixture("backends-untyped.json")).expect("read fixture");
    let mut utf16le = vec![0xFF, 0xFE];
    utf16le.extend(json.encode_utf16().flat_map(|u| u.to_le_bytes()));
    let config = load_azure_file(&dir.write("ps51.json", &utf16le)).expect("UTF-16LE");
    assert_eq!(config.backends[0].id, "billing-legacy");

    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(json.as_bytes());
    let config = load_azure_file(&dir.write("bom.json", &bom)).expect("UTF-8 with BOM");
    assert_eq!(config.backends[0].url, "https://billing.contoso.example/v1/");

    let (_, problem) = input_error(load_azure_file(&dir.write("latin1.json", b"{\"name\": \"caf\xe9\"}")));
    assert_eq!(problem, "not UTF-8 text; az writes JSON as UTF-8");
}

#[test]
fn hostname_lookup_is_case_insensitive_and_honours_wildcards() {
    let config = load("service-arm.json");
    let custom = config.hostname("API.Contoso.Example.").expect("custom hostname");
    assert_eq!(custom.host_name, "api.contoso.example");
    assert!(custom.negotiate_client_certificate);
    assert_eq!(config.hostname("developer.contoso.example").map(|h| h.kind.as_str()), Some("DeveloperPortal"));
    assert!(config.hostname("other.contoso.example").is_none());
    assert!(config.hostname("").is_none());
    assert!(AzureConfig::default().hostname("api.contoso.example").is_none());

    let wildcard = parse_azure_export(
        r#"{"name": "w", "type": "Microsoft.ApiManagement/service", "properties": {"hostnameConfigurations": [
             {"type": "Portal", "hostName": "portal.contoso.example"},
             {"type": "Proxy", "hostName": "*.contoso.example", "negotiateClientCertificate": true}]}}"#,
        "wildcard.json",
    )
    .expect("wildcard service");
    assert_eq!(wildcard.hostname("orders.contoso.example").map(|h| h.host_name.as_str()), Some("*.contoso.example"));
    assert_eq!(wildcard.hostname("portal.contoso.example").map(|h| h.kind.as_str()), Some("Portal"));
    // A wildcard covers exactly one label.
    assert!(wildcard.hostname("a.b.contoso.example").is_none());
    assert!(wildcard.hostname("contoso.example").is_none());
}

#[test]
fn default_hostnames_are_recognised() {
    assert!(is_default_hostname("contoso-apim.azure-api.net"));
    assert!(is_default_hostname("Contoso-APIM.Azure-API.net."));
    assert!(is_default_hostname("contoso-apim-westeurope-01.regional.azure-api.net"));
    assert!(is_default_hostname("contoso-apim.azure-api.cn"));
    assert!(is_default_hostname("contoso-apim.azure-api.us"));
    assert!(!is_default_hostname("azure-api.net"));
    assert!(!is_default_hostname("api.contoso.example"));
    assert!(!is_default_hostname("contoso-azure-api.net"));
    assert!(!is_default_hostname("azure-api.net.evil.example"));
}

#[test]
fn service_principal_ids_lists_system_then_user_assigned() {
    assert_eq!(load("service-arm.json").service_principal_ids(), vec![SYSTEM_PRINCIPAL, USER_PRINCIPAL]);
    assert_eq!(load("service-az.json").service_principal_ids(), vec![FUNC_PRINCIPAL]);
    assert!(AzureConfig::default().service_principal_ids().is_empty());
    let no_identity = parse_azure_export(
        r#"{"name": "n", "type": "Microsoft.ApiManagement/service", "gatewayUrl": "https://n.azure-api.net", "identity": {"type": "None"}}"#,
        "none.json",
    )
    .expect("service without identity");
    assert!(no_identity.service.as_ref().is_some_and(|s| s.identity.is_none()));
    assert!(no_identity.service_principal_ids().is_empty());
}

#[test]
fn secret_read_is_granted_at_the_vault_scope() {
    let config = all_fixtures();
    let vault_id = format!("{SUB}/resourceGroups/rg-secrets/providers/Microsoft.KeyVault/vaults/kv-contoso-prod");
    let by_id = config.grants_secret_read(SYSTEM_PRINCIPAL, &vault_id).expect("vault-scope grant by id");
    assert_eq!(by_id.role_definition_name.as_deref(), Some("Key Vault Secrets User"));
    assert_eq!(by_id.scope, vault_id);
    // By name, by secret identifier (the form a certificate's keyVault carries), case-insensitively.
    let by_name = config.grants_secret_read(&SYSTEM_PRINCIPAL.to_uppercase(), "KV-Contoso-Prod").expect("by name");
    assert_eq!(by_name.scope, vault_id);
    let by_url = config
        .grants_secret_read(SYSTEM_PRINCIPAL, "https://kv-contoso-prod.vault.azure.net/secrets/backend-client")
        .expect("by secret url");
    assert_eq!(by_url.scope, vault_id);
    // The system identity holds nothing on another team's vault.
    assert!(config.grants_secret_read(SYSTEM_PRINCIPAL, "kv-other-team").is_none());
    assert!(config.grants_secret_read("00000000-0000-0000-0000-00000000dead", &vault_id).is_none());
}

#[test]
fn secret_read_is_inherited_from_resource_group_and_subscription_scopes() {
    let config = all_fixtures();
    let vault_id = format!("{SUB}/resourceGroups/rg-secrets/providers/Microsoft.KeyVault/vaults/kv-contoso-prod");
    let rg = config.grants_secret_read(USER_PRINCIPAL, &vault_id).expect("resource-group grant");
    assert_eq!(rg.role_definition_name.as_deref(), Some("Key Vault Certificate User"));
    assert_eq!(rg.scope, format!("{SUB}/resourcegroups/rg-secrets"));
    // By name the vault's resource id is learnt from other assignments, so the parent scope still counts.
    assert_eq!(
        config.grants_secret_read(USER_PRINCIPAL, "kv-contoso-prod").map(|r| r.scope.as_str()),
        Some(rg.scope.as_str())
    );
    // Unrelated scope: the user-assigned identity's resource-group grant does not reach rg-other.
    let other = format!("{SUB}/resourceGroups/rg-other/providers/Microsoft.KeyVault/vaults/kv-other-team");
    assert!(config.grants_secret_read(USER_PRINCIPAL, &other).is_none());

    // FUNC_PRINCIPAL: Secrets User on kv-other-team only, Reader and Certificates Officer (neither reads
    // secrets) elsewhere, and Secrets Officer on the subscription from the ARM-shaped list (role id only).
    let direct = config.grants_secret_read(FUNC_PRINCIPAL, &other).expect("vault-scope grant on kv-other-team");
    assert_eq!(direct.role_definition_name.as_deref(), Some("Key Vault Secrets User"));
    let inherited = config.grants_secret_read(FUNC_PRINCIPAL, &vault_id).expect("subscription-scope grant");
    assert_eq!(inherited.scope, SUB);
    assert_eq!(inherited.role_definition_name, None);
    assert!(inherited
        .role_definition_id
        .as_deref()
        .is_some_and(|id| id.ends_with("b86a8fe4-44ce-4948-aee5-eccb2c155cd7")));

    let without_arm = merge(vec![load("role-assignments.json")]);
    assert!(without_arm.grants_secret_read(FUNC_PRINCIPAL, &vault_id).is_none(), "Reader / Certificates Officer");
}

#[test]
fn secret_read_at_secret_scope_root_scope_and_unknown_vaults() {
    let config = parse_azure_export(
        r#"[
          {"principalId": "p-secret", "roleDefinitionName": "Key Vault Secrets User",
           "scope": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1/secrets/only-this"},
          {"principalId": "p-root", "roleDefinitionName": "Key Vault Administrator", "scope": "/"},
          {"principalId": "p-mg", "roleDefinitionName": "Key Vault Secrets User",
           "scope": "/providers/Microsoft.Management/managementGroups/corp"}
        ]"#,
        "ra.json",
    )
    .expect("role assignments");
    let vault = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1";
    assert!(config.grants_secret_read("p-secret", "https://kv1.vault.azure.net/secrets/only-this").is_some());
    assert!(config.grants_secret_read("p-secret", &format!("{vault}/secrets/only-this")).is_some());
    assert!(config.grants_secret_read("p-secret", "https://kv1.vault.azure.net/secrets/another").is_none());
    assert!(config.grants_secret_read("p-secret", vault).is_none(), "a secret-scoped grant does not cover the vault");
    assert_eq!(config.grants_secret_read("p-root", "any-vault").map(|r| r.scope.as_str()), Some("/"));
    // A management group cannot be related to the vault without the hierarchy; never claimed.
    assert!(config.grants_secret_read("p-mg", vault).is_none());
    assert!(config.grants_secret_read("p-root", "").is_none());
}

#[test]
fn certificate_lookup_by_name_or_resource_id() {
    let config = all_fixtures();
    let backend = config.backend("orders-mtls").expect("orders-mtls");
    let via_backend = config.certificate(&backend.client_certificate_ids[0]).expect("certificate behind the backend");
    assert_eq!(via_backend.id, "backend-client");
    assert_eq!(config.certificate("Partner-MTLS").map(|c| c.id.as_str()), Some("partner-mtls"));
    assert!(config.certificate("nope").is_none());
    assert!(config
        .certificate(&format!(
            "{SUB}/resourceGroups/rg-apim/providers/Microsoft.ApiManagement/service/contoso-apim/certificates/nope"
        ))
        .is_none());
}

#[test]
fn backend_for_url_matches_scheme_host_port_and_path_prefix() {
    let config = all_fixtures();
    let find = |url: &str| config.backend_for_url(url).map(|b| b.id.as_str());
    assert_eq!(find("https://orders.internal.contoso.example:8443/api/orders/42?x=1"), Some("orders-mtls"));
    assert_eq!(find("https://ORDERS.internal.contoso.example:8443/api"), Some("orders-mtls"));
    assert_eq!(find("https://catalog.contoso.example:443/items"), Some("catalog"));
    assert_eq!(find("https://catalog.contoso.example"), Some("catalog"));
    assert_eq!(find("https://billing.contoso.example/v1/invoices"), Some("billing-legacy"));
    // Different port, scheme, path segment or host: no backend.
    assert_eq!(find("https://orders.internal.contoso.example/api"), None);
    assert_eq!(find("http://catalog.contoso.example/items"), None);
    assert_eq!(find("https://orders.internal.contoso.example:8443/apiv2"), None);
    assert_eq!(find("https://billing.contoso.example/v2"), None);
    assert_eq!(find("https://unknown.example"), None);
    assert_eq!(find("not a url"), None);
}

#[test]
fn configuration_round_trips_through_json_for_sessions() {
    let config = all_fixtures();
    let json = serde_json::to_string(&config).expect("serialize");
    let back: AzureConfig = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, config);
    let value: serde_json::Value = serde_json::from_str(&json).expect("value");
    assert_eq!(value["service"]["hostnames"][1]["negotiate_client_certificate"], serde_json::Value::Bool(true));
    assert_eq!(value["certificates"][1]["key_vault"]["last_status"]["code"], "Forbidden");
}

#[test]
fn service_ca_certificates_are_read() {
    let az = load_azure_file(&fixture("service-az.json")).expect("load");
    let service = az.service.expect("service");
    assert!(service.ca_certificates_known);
    assert_eq!(service.ca_certificates.len(), 1);
    let ca = &service.ca_certificates[0];
    assert_eq!(ca.store_name.as_deref(), Some("Root"));
    assert_eq!(ca.subject.as_deref(), Some("CN=Contoso Client Root, O=Contoso"));
    assert_eq!(ca.thumbprint.as_deref(), Some("1111111111111111111111111111111111111111"));
    let arm = load_azure_file(&fixture("service-arm.json")).expect("load");
    assert!(!arm.service.expect("service").ca_certificates_known, "no certificates field: unknown, not empty");
}

#[test]
fn export_over_the_cap_is_refused_before_it_is_read() {
    let dir = Dir::new();
    let big = dir.path("huge.json");
    std::fs::File::create(&big)
        .expect("create")
        .set_len(mtls_doctor::fsio::AZURE_EXPORT_CAP.bytes + 1)
        .expect("set_len");
    let (origin, problem) = input_error(load_azure_file(&big));
    assert_eq!(origin, big.display().to_string());
    assert_eq!(problem, "is larger than the 64 MiB this tool reads for an Azure export");
}
