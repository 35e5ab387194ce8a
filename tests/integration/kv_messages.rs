//! Key Vault fetch failures as the real systems word them, classified by cause (issue 12).
//!
//! API Management's certificate `keyVault.lastStatus` carries a code and a message; the message is
//! the vault's error (or APIM's own wrapper around it). Each vector below is the message shape
//! published in the place its comment names, with identifiers replaced; none is made up here.

use mtls_doctor::azure::{refused_client_address, KeyVaultStatus, KvFailure};

fn status(code: &str, message: &str) -> KeyVaultStatus {
    KeyVaultStatus { code: code.into(), message: Some(message.into()), time_stamp_utc: None }
}

fn classified(code: &str, message: &str) -> KvFailure {
    KvFailure::classify(&status(code, message))
}

#[test]
fn rbac_refusal_as_key_vault_words_it() {
    // Key Vault's RBAC refusal (status 403, inner error ForbiddenByRbac), as quoted in
    // github.com/piyushsachdeva/Terraform_AKS/issues/2.
    let m = "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid=00000000-0000-0000-0000-000000000001;oid=00000000-0000-0000-0000-000000000002;iss=https://sts.windows.net/00000000-0000-0000-0000-000000000003/\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\nResource: '/subscriptions/0/resourcegroups/rg/providers/microsoft.keyvault/vaults/kv-lab/secrets/gateway-outbound'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\nVault: kv-lab;location=westeurope\r\n";
    assert_eq!(classified("Forbidden", m), KvFailure::ForbiddenByRbac);
    // The same refusal with the inner code only, as pulumi/pulumi-azure-nextgen#195 shows it.
    assert_eq!(
        classified(
            "ForbiddenByRbac",
            "[ForbiddenByRbac (Forbidden)] Caller is not authorized to perform action on resource."
        ),
        KvFailure::ForbiddenByRbac
    );
}

#[test]
fn access_policy_refusal_as_key_vault_words_it() {
    // Key Vault's access-policy refusal (inner error AccessDenied), the shape quoted in
    // MicrosoftDocs/azure-docs#57072 (there for "set"; the gateway needs "get").
    let m = "The user, group or application 'appid=00000000-0000-0000-0000-000000000001;oid=00000000-0000-0000-0000-000000000002;iss=https://sts.windows.net/00000000-0000-0000-0000-000000000003/' does not have secrets get permission on key vault 'kv-lab;location=westeurope'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=123455";
    assert_eq!(classified("Forbidden", m), KvFailure::ForbiddenByAccessPolicy);
}

#[test]
fn firewall_refusal_names_the_address_the_vault_saw() {
    // Key Vault's firewall refusal (inner error ForbiddenByFirewall), as quoted in
    // MicrosoftDocs/azure-devops-docs#8581 and microsoft/azure-container-apps#888.
    let m = "Client address is not authorized and caller is not a trusted service.\r\nClient address: 40.74.28.0\r\nCaller: appid=00000000-0000-0000-0000-000000000001;oid=00000000-0000-0000-0000-000000000002\r\nVault: kv-lab;location=westeurope";
    let st = status("Forbidden", m);
    assert_eq!(KvFailure::classify(&st), KvFailure::BlockedByNetwork);
    assert_eq!(refused_client_address(&st).as_deref(), Some("40.74.28.0"));
    // No address in the text: none is invented.
    assert_eq!(refused_client_address(&status("ForbiddenByFirewall", "Client address is not authorized")), None);
}

#[test]
fn disabled_and_missing_secrets_as_key_vault_words_them() {
    // A disabled secret (inner error SecretDisabled): Azure/azure-sdk-for-js#24756, and
    // ansible-collections/azure#1989 with the inner error printed after the message.
    assert_eq!(classified("Forbidden", "Operation get is not allowed on a disabled secret."), KvFailure::Disabled);
    assert_eq!(
        classified(
            "Forbidden",
            "(Forbidden) Operation get is not allowed on a disabled secret.\nCode: Forbidden\nMessage: Operation get is not allowed on a disabled secret.\nInner error: {\n    \"code\": \"SecretDisabled\"\n}"
        ),
        KvFailure::Disabled
    );
    // A missing (or soft-deleted) secret, code SecretNotFound: Azure/azure-sdk-for-js#25489.
    let m = "A secret with (name/id) gateway-outbound was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182";
    assert_eq!(classified("SecretNotFound", m), KvFailure::NotFound);
}

#[test]
fn api_managements_own_refusal_is_not_given_a_cause_it_does_not_state() {
    // API Management's wording when its managed identity cannot read the secret, as posted on
    // learn.microsoft.com/answers/questions/1688796 (the cause there was the vault's network rules
    // with a user-assigned identity, although the text names access policies).
    let m = "Failed to access KeyVault Secret https://kv-lab.vault.azure.net/secrets/gateway-outbound/0a1b2c3d4e5f40718293a4b5c6d7e8f9 using Managed Service Identity of Api Management service. Check if Managed Identity of Type: UserAssigned, ClientId: 00000000-0000-0000-0000-000000000004 and ObjectId: 00000000-0000-0000-0000-000000000005 has GET permissions on secrets in the KeyVault Access Policies.";
    assert_eq!(classified("InvalidOperation", m), KvFailure::IdentityRefused);
    // When the vault's own error follows the wrapper, the vault's words decide.
    let both = format!("{m} Client address is not authorized and caller is not a trusted service.");
    assert_eq!(classified("InvalidOperation", &both), KvFailure::BlockedByNetwork);
}
