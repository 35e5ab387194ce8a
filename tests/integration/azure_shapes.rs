//! The shapes az and the REST API really return, and what people paste instead (issue 12 part 2).
//! Fixtures are written after the azure-rest-api-specs examples for Microsoft.ApiManagement
//! (specification/apimanagement/resource-manager/Microsoft.ApiManagement/stable/2022-08-01/examples/),
//! each test naming the example it follows.

use mtls_doctor::azure::{
    human_duration, parse_azure_export, parse_time, secret_url_for, KeyVaultRef, KeyVaultStatus, KvFailure, Tier,
    VaultObject,
};
use mtls_doctor::pki::{Issued, Spec};
use mtls_doctor::Error;

fn problem(json: &str) -> String {
    match parse_azure_export(json, "pasted.json") {
        Err(Error::Input { origin, problem }) => {
            assert_eq!(origin, "pasted.json");
            assert!(!problem.contains('\n'), "one line: {problem}");
            problem
        }
        other => panic!("expected an input error, got {other:?}"),
    }
}

/// ApiManagementCreateServiceWithSystemCertificates.json, 200 body: CA certificates are
/// `properties.certificates[]` with `storeName` and `certificate: {expiry, thumbprint, subject}`.
#[test]
fn service_ca_certificates_are_read_from_certificate() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/azure/service-system-certificates.json");
    let config = mtls_doctor::azure::load_azure_file(&path).expect("load");
    let service = config.service.expect("service");
    assert!(service.ca_certificates_known);
    assert_eq!(service.tier(), Tier::Classic);
    type Row<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>, Option<&'a str>);
    let got: Vec<Row<'_>> = service
        .ca_certificates
        .iter()
        .map(|c| (c.store_name.as_deref(), c.subject.as_deref(), c.thumbprint.as_deref(), c.expiry.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                Some("CertificateAuthority"),
                Some("CN=Contoso Client Issuing CA, O=Contoso"),
                Some("4F2A6C8E0B1D3F5A7C9E1B3D5F7A9C1E3B5D7F9A"),
                Some("2034-05-01T00:00:00+00:00")
            ),
            (
                Some("Root"),
                Some("CN=Contoso Client Root, O=Contoso"),
                Some("7B9D1F3A5C7E9B1D3F5A7C9E1B3D5F7A9C1E3B5D"),
                Some("2040-05-01T00:00:00+00:00")
            ),
        ]
    );
    assert!(config.notes.is_empty(), "a plain export has no notes: {:?}", config.notes);
}

fn ca_base64() -> (String, String, String) {
    let ca = Issued::self_signed(&Spec::ca("Template Client Root")).expect("ca");
    let info = mtls_doctor::cert::Certificate::from_der(ca.der.clone(), "ca").expect("info").info;
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &ca.der);
    (b64, info.subject, info.thumbprint_sha1.to_ascii_uppercase())
}

/// An exported ARM template: names from `[parameters('…')]` and `[concat(…)]`, a child certificate
/// resource, and CA certificates carrying only `encodedCertificate` (the request shape of the same
/// example), read from the certificate itself. The password parameter is never resolved or kept.
fn template(generator: Option<&str>, b64: &str) -> String {
    let metadata = generator.map_or(String::new(), |g| {
        format!(r#""metadata": {{"_generator": {{"name": "{g}", "version": "0.30.23.60470"}}}},"#)
    });
    format!(
        r#"{{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  {metadata}
  "parameters": {{
    "service_name": {{"type": "String", "defaultValue": "contoso-tpl"}},
    "ca_password": {{"type": "SecureString"}}
  }},
  "resources": [
    {{
      "type": "Microsoft.ApiManagement/service",
      "apiVersion": "2022-08-01",
      "name": "[parameters('service_name')]",
      "location": "West Europe",
      "sku": {{"name": "StandardV2", "capacity": 1}},
      "properties": {{
        "publisherEmail": "apim@contoso.example",
        "publisherName": "Contoso",
        "enableClientCertificate": false,
        "hostnameConfigurations": [
          {{"type": "Proxy", "hostName": "[concat(parameters('service_name'), '.azure-api.net')]", "negotiateClientCertificate": false, "defaultSslBinding": true, "certificateSource": "BuiltIn"}}
        ],
        "certificates": [
          {{"encodedCertificate": "{b64}", "certificatePassword": "[parameters('ca_password')]", "storeName": "Root"}}
        ]
      }},
      "resources": [
        {{
          "type": "certificates",
          "apiVersion": "2022-08-01",
          "name": "[concat(parameters('service_name'), '/backend-mtls')]",
          "dependsOn": ["[resourceId('Microsoft.ApiManagement/service', parameters('service_name'))]"],
          "properties": {{"keyVault": {{"secretIdentifier": "https://kv-contoso.vault.azure.net/secrets/backend-mtls"}}}}
        }}
      ]
    }}
  ]
}}"#
    )
}

#[test]
fn arm_template_is_read_with_parameters_resolved() {
    let (b64, subject, thumbprint) = ca_base64();
    let config = parse_azure_export(&template(None, &b64), "template.json").expect("template");
    let service = config.service.as_ref().expect("service");
    assert_eq!(service.name, "contoso-tpl");
    assert_eq!(service.tier(), Tier::V2);
    assert_eq!(service.enable_client_certificate, Some(false));
    assert_eq!(service.hostnames[0].host_name, "contoso-tpl.azure-api.net");
    assert_eq!(service.ca_certificates[0].subject.as_deref(), Some(subject.as_str()));
    assert_eq!(service.ca_certificates[0].thumbprint.as_deref(), Some(thumbprint.as_str()));
    assert_eq!(config.certificates.len(), 1);
    assert_eq!(config.certificates[0].id, "backend-mtls");
    assert_eq!(config.notes.len(), 1);
    assert!(
        config.notes[0].starts_with("template.json: an ARM template: the configuration it would deploy"),
        "{:?}",
        config.notes
    );
    assert!(config.notes[0].contains("az apim show -g RG -n NAME"), "{:?}", config.notes);
    let json = serde_json::to_string(&config).expect("json");
    assert!(!json.contains("ca_password") && !json.contains("certificatePassword"), "{json}");
}

#[test]
fn bicep_compiled_template_is_named_as_such() {
    let (b64, _, _) = ca_base64();
    let config = parse_azure_export(&template(Some("bicep"), &b64), "main.json").expect("bicep");
    assert!(config.notes[0].starts_with("main.json: an ARM template compiled from Bicep"), "{:?}", config.notes);
    assert_eq!(config.service.expect("service").name, "contoso-tpl");
}

#[test]
fn template_value_computed_at_deployment_is_refused_in_one_line() {
    let text = r#"{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
      "contentVersion": "1.0.0.0", "parameters": {"name": {"type": "string"}},
      "resources": [{"type": "Microsoft.ApiManagement/service", "name": "[parameters('name')]", "sku": {"name": "Basic"},
        "properties": {"hostnameConfigurations": []}}]}"#;
    let p = problem(text);
    assert!(p.contains("resources[0].name is computed at deployment ([parameters('name')])"), "{p}");
    assert!(p.contains("az apim show"), "{p}");
}

#[test]
fn rest_wrappers_are_unwrapped() {
    // ApiManagementCreateCertificateWithKeyVault.json, 200 body, inside {"statusCode", "headers", "body"}.
    let body = r#"{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ApiManagement/service/apim1/certificates/kvcert",
      "type": "Microsoft.ApiManagement/service/certificates", "name": "kvcert",
      "properties": {"subject": "CN=api.contoso.example", "thumbprint": "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678",
        "expirationDate": "2030-01-01T07:00:00Z",
        "keyVault": {"secretIdentifier": "https://kv1.vault.azure.net/secrets/kvcert", "identityClientId": null,
          "lastStatus": {"code": "Success", "timeStampUtc": "2026-11-30T22:00:00.5Z"}}}}"#;
    let wrapped = format!(r#"{{"statusCode": 200, "headers": {{}}, "body": {body}}}"#);
    let config = parse_azure_export(&wrapped, "resp.json").expect("wrapped");
    assert_eq!(config.certificates[0].id, "kvcert");
    assert!(config.notes[0].contains("a REST response wrapper"), "{:?}", config.notes);
    // The specification example file itself: its 200 body is read.
    let example = format!(
        r#"{{"parameters": {{"serviceName": "apim1"}}, "responses": {{"200": {{"body": {body}}}, "201": {{"body": {body}}}}}}}"#
    );
    let config = parse_azure_export(&example, "example.json").expect("example");
    assert_eq!(config.certificates[0].id, "kvcert");
    assert!(config.notes[0].contains("REST API specification example"), "{:?}", config.notes);
}

#[test]
fn parameters_file_and_bicep_source_get_one_line_each() {
    let p = problem(
        r#"{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#", "contentVersion": "1.0.0.0", "parameters": {}}"#,
    );
    assert!(p.starts_with("an ARM parameters file"), "{p}");
    assert!(p.contains("az apim show -g RG -n NAME"), "{p}");
    let p =
        problem("param name string\nresource apim 'Microsoft.ApiManagement/service@2022-08-01' = {\n  name: name\n}\n");
    assert!(p.starts_with("a Bicep source file, not JSON: compile it with az bicep build --file FILE"), "{p}");
}

#[test]
fn tiers_by_sku() {
    for (sku, tier) in [
        ("Developer", Tier::Classic),
        ("Premium", Tier::Classic),
        ("Consumption", Tier::Consumption),
        ("BasicV2", Tier::V2),
        ("StandardV2", Tier::V2),
        ("PremiumV2", Tier::V2),
    ] {
        assert_eq!(Tier::of(Some(sku)), tier, "{sku}");
    }
    assert_eq!(Tier::of(None), Tier::Unknown);
    assert!(Tier::V2.service_level_switch() && !Tier::V2.allows_ca_upload());
    assert!(!Tier::Classic.service_level_switch() && Tier::Classic.allows_ca_upload());
}

fn status(code: &str, message: &str) -> KeyVaultStatus {
    KeyVaultStatus { code: code.into(), message: Some(message.into()), time_stamp_utc: None }
}

#[test]
fn key_vault_failures_are_classified_by_cause() {
    let cases = [
        (status("Forbidden", "Caller is not authorized to perform action on resource. Inner error: ForbiddenByRbac"), KvFailure::ForbiddenByRbac),
        (status("Forbidden", "The user, group or application does not have secrets get permission on key vault 'kv1'"), KvFailure::ForbiddenByAccessPolicy),
        (status("ForbiddenByFirewall", "Client address is not authorized and caller is not a trusted service."), KvFailure::BlockedByNetwork),
        (status("Forbidden", "Public network access is disabled and request is not from a trusted service nor via an approved private link."), KvFailure::BlockedByNetwork),
        (status("SecretNotFound", "A secret with (name/id) kvcert was not found in this key vault."), KvFailure::NotFound),
        (status("Forbidden", "Operation get is not allowed on a disabled secret."), KvFailure::Disabled),
        (status("InternalError", "Something else"), KvFailure::Other),
    ];
    for (st, want) in cases {
        assert_eq!(KvFailure::classify(&st), want, "{:?}", st.message);
    }
}

#[test]
fn key_vault_reference_kinds_and_reread_timing() {
    let kv = |url: &str, at: Option<&str>| KeyVaultRef {
        secret_identifier: url.into(),
        identity_client_id: None,
        last_status: Some(KeyVaultStatus {
            code: "Success".into(),
            message: None,
            time_stamp_utc: at.map(String::from),
        }),
    };
    assert_eq!(kv("https://kv1.vault.azure.net/secrets/a", None).vault_object(), VaultObject::Secret);
    assert_eq!(kv("https://kv1.vault.azure.net/certificates/a/0123", None).vault_object(), VaultObject::Certificate);
    assert_eq!(
        secret_url_for("https://kv1.vault.azure.net/certificates/a/0123").as_deref(),
        Some("https://kv1.vault.azure.net/secrets/a")
    );
    let now = parse_time("2026-12-01T12:00:00Z").expect("time");
    let r = kv("https://kv1.vault.azure.net/secrets/a", Some("2026-12-01T10:40:00.1234567Z"));
    let (next, left) = r.next_reread(now).expect("timed");
    assert_eq!(next, parse_time("2026-12-01T14:40:00.1234567Z").expect("time"));
    assert_eq!(human_duration(left), "2 h 40 min");
    // A pinned version is never re-read; no timestamp, no answer.
    assert!(kv("https://kv1.vault.azure.net/secrets/a/0a1b2c", Some("2026-12-01T10:40:00Z"))
        .next_reread(now)
        .is_none());
    assert!(kv("https://kv1.vault.azure.net/secrets/a", None).next_reread(now).is_none());
}

#[test]
fn vault_resource_id_keeps_the_exports_spelling_or_is_unknown() {
    let ra = r#"[{"principalId": "p1", "roleDefinitionName": "Reader", "type": "Microsoft.Authorization/roleAssignments",
      "scope": "/subscriptions/s1/resourceGroups/RG-Lab/providers/Microsoft.KeyVault/vaults/KV-Lab/secrets/one"}]"#;
    let config = parse_azure_export(ra, "ra.json").expect("ra");
    assert_eq!(
        config.vault_resource_id("kv-lab").as_deref(),
        Some("/subscriptions/s1/resourceGroups/RG-Lab/providers/Microsoft.KeyVault/vaults/KV-Lab")
    );
    assert_eq!(config.vault_resource_id("kv-other"), None);
    assert_eq!(
        mtls_doctor::azure::vault_object_of("https://kv1.vault.azure.net/certificates/web"),
        VaultObject::Certificate
    );
}
