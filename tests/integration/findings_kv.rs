// Included into findings.rs: issue 12, Key Vault refusals narrowed by the exports, and rotations the
// run cannot see. The message shapes are the real ones collected in tests/integration/kv_messages.rs.

#[test]
fn kv_sync_failed_refusal_without_a_cause_is_narrowed_by_the_exports() {
    // API Management's own wording names no cause; the role export rules RBAC out, the
    // user-assigned identity points at the vault firewall, and all three ways are offered.
    // The reference's user-assigned identity is in the service export; the role export grants only
    // the system-assigned one, so RBAC stays a candidate, with the user-assigned object id.
    let run = kv_run(&["service-user-assigned.json", "certificate-sync-refused.json", "role-assignments.json"]);
    let f = fires(&run, "kv-sync-failed", Severity::Error, Symptom::KeyVault);
    assert!(f.cause.contains("does not say whether a role (RBAC), the access policy or the vault firewall"), "{}", f.cause);
    quotes(f, "role assignments export: no role lets the identity 8e9fa0b1-c2d3-4e4f-9a5b-6c7d8e9fa0b1 read secrets in kv-lab");
    quotes(f, "the reference uses a user-assigned identity (identityClientId 3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f)");
    assert!(f.fix[0].starts_with("If the vault uses RBAC: az role assignment create --role \"Key Vault Secrets User\" --assignee-object-id 8e9fa0b1-c2d3-4e4f-9a5b-6c7d8e9fa0b1"), "{:?}", f.fix);
    assert!(f.fix[1].starts_with("If it uses access policies: az keyvault set-policy --name kv-lab --object-id 8e9fa0b1"), "{:?}", f.fix);
    assert!(f.fix[2].contains("system-assigned identity"), "{:?}", f.fix);

    // The system-assigned identity, granted a role: RBAC is ruled out, and no role fix is offered.
    let run = kv_run(&["service.json", "certificate-sync-failed-apim.json", "role-assignments.json"]);
    let f = fires(&run, "kv-sync-failed", Severity::Error, Symptom::KeyVault);
    quotes(f, "role assignments export: Key Vault Secrets User at /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-lab/providers/Microsoft.KeyVault/vaults/kv-lab lets the identity 6f1c2d3e-4a5b-4c6d-8e7f-90a1b2c3d4e5 read secrets");
    assert!(f.fix[0].starts_with("If it uses access policies"), "{:?}", f.fix);
    assert!(!f.fix.iter().any(|x| x.contains("az role assignment create")), "{:?}", f.fix);

    // A client id the service export does not list: its roles are unknown.
    let run = kv_run(&["service.json", "certificate-sync-refused.json", "role-assignments.json"]);
    let f = fires(&run, "kv-sync-failed", Severity::Error, Symptom::KeyVault);
    quotes(f, "unknown: the service export lists no identity with client id 3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f");

    // Without the role export, that part is said to be unknown.
    let run = kv_run(&["service.json", "certificate-sync-refused.json"]);
    let f = fires(&run, "kv-sync-failed", Severity::Error, Symptom::KeyVault);
    quotes(f, "unknown: no role assignments export given");
}

#[test]
fn kv_sync_failed_firewall_fix_names_the_address_the_vault_saw() {
    let run = kv_run(&["service.json", "certificate-sync-firewall.json", "role-assignments.json"]);
    let f = fires(&run, "kv-sync-failed", Severity::Error, Symptom::KeyVault);
    quotes(f, "the vault saw the gateway's request come from 203.0.113.7");
    assert!(f.fix[0].ends_with("az keyvault network-rule add --name kv-lab --ip-address 203.0.113.7"), "{:?}", f.fix);
}

/// A versionless Key Vault certificate entity last read at `read`, expiring at `expires`.
fn stale_kv_run(read: time::OffsetDateTime, expires: time::OffsetDateTime, versioned: bool) -> TargetRun {
    use time::format_description::well_known::Rfc3339;
    let dir = Dir::new();
    let pki = LabPki::generate().expect("pki");
    let lab = pki.write_material(&dir.path("lab")).expect("material");
    let version = if versioned { "/0a1b2c3d4e5f40718293a4b5c6d7e8f9" } else { "" };
    let cert = serde_json::json!({
        "id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-lab/providers/Microsoft.ApiManagement/service/lab-apim/certificates/partner-mtls",
        "type": "Microsoft.ApiManagement/service/certificates",
        "name": "partner-mtls",
        "properties": {
            "subject": "CN=partner-mtls, O=mtls-doctor lab",
            "thumbprint": "1F2E3D4C5B6A79880796A5B4C3D2E1F00F1E2D3C",
            "expirationDate": expires.format(&Rfc3339).expect("date"),
            "keyVault": {
                "secretIdentifier": format!("https://kv-lab.vault.azure.net/secrets/partner-mtls{version}"),
                "identityClientId": null,
                "lastStatus": { "code": "Success", "message": "", "timeStampUtc": read.format(&Rfc3339).expect("date") }
            }
        }
    });
    let azure = vec![
        azure_fixture(&dir, "service.json", &pki),
        azure_fixture(&dir, "role-assignments.json", &pki),
        s(&dir.write("partner-mtls.json", cert.to_string())),
    ];
    inspect(&[&lab.client_good.cert, &lab.client_good.key], Role::Client, MaterialRefs { azure, ..refs() })
}

#[test]
fn kv_rotation_pending_without_the_newer_certificate_in_sight() {
    let now = time::OffsetDateTime::now_utc();
    // Last read nine hours ago, the copy expires in five days: what is known and what is not.
    let run = stale_kv_run(now - time::Duration::hours(9), now + time::Duration::days(5), false);
    let f = fires(&run, "kv-rotation-pending", Severity::Warning, Symptom::KeyVault);
    quotes(f, "certificate partner-mtls: thumbprint 1F2E3D4C5B6A79880796A5B4C3D2E1F00F1E2D3C, expires in ");
    quotes(f, "this run did not see the certificate in use; its expiry is the export's");
    quotes(f, "(9 h ago; the gateway re-reads about every four hours");
    quotes(f, "unknown: whether the vault holds a newer version; this run saw none");
    assert!(f.cause.contains("the export cannot say which"), "{}", f.cause);
    assert!(f.fix[0].starts_with("Check the vault's current version: az keyvault certificate show --vault-name kv-lab"), "{:?}", f.fix);

    // Expired already: said so.
    let run = stale_kv_run(now - time::Duration::hours(30), now - time::Duration::days(2), false);
    let f = fires(&run, "kv-rotation-pending", Severity::Warning, Symptom::KeyVault);
    quotes(f, "expired 2 days ago");

    // Read within the period, or an expiry far off, or a versioned reference: nothing to say here.
    absent(&stale_kv_run(now - time::Duration::hours(2), now + time::Duration::days(5), false), "kv-rotation-pending");
    absent(&stale_kv_run(now - time::Duration::hours(9), now + time::Duration::days(200), false), "kv-rotation-pending");
    absent(&stale_kv_run(now - time::Duration::hours(9), now + time::Duration::days(5), true), "kv-rotation-pending");
}

#[test]
fn kv_sync_failed_not_found_names_the_recovery() {
    // Key Vault's not-found text (Azure/azure-sdk-for-js#25489) mentions recovering a deleted secret.
    let run = kv_run(&["service.json", "certificate-sync-notfound.json", "role-assignments.json"]);
    let f = fires(&run, "kv-sync-failed", Severity::Error, Symptom::KeyVault);
    assert!(f.cause.contains("does not exist under that name"), "{}", f.cause);
    assert!(
        f.fix[1].contains("az keyvault certificate recover --vault-name kv-lab --name gateway-outbound"),
        "{:?}",
        f.fix
    );
}
