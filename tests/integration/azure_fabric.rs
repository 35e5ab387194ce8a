//! Service Fabric backends: the client certificate in `properties.serviceFabricCluster` is read by the
//! import and counts as the certificate the backend presents. Shapes follow azure-rest-api-specs'
//! ApiManagementCreateBackendServiceFabric examples (ARM nests a second `properties` object; the
//! 2019 example names the certificate by `clientCertificatethumbprint`, later ones by
//! `clientCertificateId`).

use std::path::PathBuf;

use mtls_doctor::azure::{load_azure_file, parse_azure_export, SF_CERT_ID, SF_CERT_THUMBPRINT};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/azure").join(name)
}

#[test]
fn service_fabric_client_certificate_id_is_read_from_the_arm_shape() {
    let config = load_azure_file(&fixture("backend-service-fabric.json")).expect("loads");
    let b = config.backend("orders-fabric").expect("the backend");
    assert_eq!(b.url, "fabric:/orders/ordersapi");
    assert!(b.client_certificate_ids.is_empty() && b.client_certificate_thumbprints.is_empty());
    let sf = b.service_fabric.as_ref().expect("serviceFabricCluster read");
    assert_eq!(sf.management_endpoints, vec!["https://sf-orders.westeurope.cloudapp.azure.com:19080".to_string()]);
    assert!(sf
        .client_certificate_id
        .as_deref()
        .is_some_and(|id| id.ends_with("/service/contoso-apim/certificates/fabric-client")));
    assert_eq!(sf.client_certificate_thumbprint, None);
    // It is the certificate the backend presents.
    let presented = b.presented_certificates();
    assert_eq!(presented.len(), 1, "{presented:?}");
    assert_eq!(presented[0].field, SF_CERT_ID);
    assert!(presented[0].by_id);
    assert!(b.has_client_certificate());
    // And the saved configuration keeps it.
    let saved = serde_json::to_value(&config).expect("serializes");
    assert_eq!(
        saved["backends"][0]["service_fabric"]["management_endpoints"][0],
        "https://sf-orders.westeurope.cloudapp.azure.com:19080"
    );
}

#[test]
fn service_fabric_thumbprint_counts_only_without_an_id() {
    // The 2019-01-01 example's shape: the thumbprint alone, spelt clientCertificatethumbprint.
    let old = r#"{"name": "sf-old", "type": "Microsoft.ApiManagement/service/backends", "properties": {
        "url": "fabric:/mytestapp/mytestservice", "protocol": "http",
        "properties": {"serviceFabricCluster": {"managementEndpoints": ["https://somecluster.example"],
            "clientCertificatethumbprint": "EBA029198AA3E76EF0D70482626E5BCF148594A6",
            "maxPartitionResolutionRetries": 5}}}}"#;
    let config = parse_azure_export(old, "sf-old.json").expect("parses");
    let presented = config.backends[0].presented_certificates();
    assert_eq!(presented.len(), 1);
    assert_eq!(presented[0].field, SF_CERT_THUMBPRINT);
    assert_eq!(presented[0].value, "EBA029198AA3E76EF0D70482626E5BCF148594A6");
    assert!(!presented[0].by_id);

    // Both given: the thumbprint is ignored when an id is set (the contract's words), so the id counts.
    // Flattened, as az prints SDK models: the cluster sits under the top-level properties.
    let both = r#"{"name": "sf-both", "url": "fabric:/a/b", "protocol": "http",
        "properties": {"serviceFabricCluster": {"managementEndpoints": ["https://c.example:19080"],
            "clientCertificateId": "fabric-client",
            "clientCertificatethumbprint": "EBA029198AA3E76EF0D70482626E5BCF148594A6"}}}"#;
    let config = parse_azure_export(both, "sf-both.json").expect("parses");
    let presented = config.backends[0].presented_certificates();
    assert_eq!(presented.len(), 1, "{presented:?}");
    assert_eq!((presented[0].field, presented[0].value.as_str()), (SF_CERT_ID, "fabric-client"));

    // A plain backend has no Service Fabric part, and none is saved for it.
    let plain = r#"{"name": "web", "type": "Microsoft.ApiManagement/service/backends",
        "properties": {"url": "https://web.example", "protocol": "http"}}"#;
    let config = parse_azure_export(plain, "web.json").expect("parses");
    assert!(config.backends[0].service_fabric.is_none());
    assert!(!config.backends[0].has_client_certificate());
    let saved = serde_json::to_value(&config).expect("serializes");
    assert!(saved["backends"][0].get("service_fabric").is_none(), "{saved}");
}

#[test]
fn a_malformed_service_fabric_cluster_names_the_field() {
    let bad = r#"{"name": "sf-bad", "type": "Microsoft.ApiManagement/service/backends", "properties": {
        "url": "fabric:/a/b", "protocol": "http",
        "properties": {"serviceFabricCluster": {"managementEndpoints": "https://c.example"}}}}"#;
    let err = parse_azure_export(bad, "sf-bad.json").expect_err("refused").to_string();
    assert!(
        err.contains("sf-bad.json")
            && err.contains("properties.properties.serviceFabricCluster.managementEndpoints: expected an array"),
        "{err}"
    );
}
