//! Rules over imported Azure configuration: negotiation per hostname, CA certificates, backends'
//! client certificates, and Key Vault access (identity, roles, sync status, versioned secrets).

use super::catalog::finding;
use super::finding::Finding;
use super::id::FindingId;
use crate::azure::{is_default_hostname, AzureConfig, Tier};
use crate::cert::CertInfo;
use crate::policy::AuthCertRef;
use crate::probe::{ProbeResult, ProbeRole};

/// What the Azure rules look at besides the exports.
pub struct AzureContext<'a> {
    pub probes: &'a [ProbeResult],
    /// The client certificate chain seen (probe or inspect), leaf first.
    pub client_chain: &'a [CertInfo],
    /// Every certificate the run saw (given, presented, served), for rotation checks.
    pub seen: Vec<&'a CertInfo>,
    /// `<authentication-certificate>` elements of the policy given with `--policy`; `None` without one.
    pub auth_certs: Option<&'a [AuthCertRef]>,
    pub now: time::OffsetDateTime,
    /// The `cert-expiring-soon` window, which also says when an expiry counts as near.
    pub expiring_days: i64,
}

pub fn azure_findings(az: &AzureConfig, cx: &AzureContext<'_>, out: &mut Vec<Finding>) {
    let push = |out: &mut Vec<Finding>, subject: &str, mut f: Finding| {
        f.subject = Some(subject.to_string());
        out.push(f);
    };
    let sources = az.sources.join(", ");
    let (probes, client_chain) = (cx.probes, cx.client_chain);
    let policy_has_auth_cert = cx.auth_certs.is_some_and(|a| !a.is_empty());
    let tier = az.service.as_ref().map_or(Tier::Unknown, |s| s.tier());

    // Negotiation, per hostname actually called, with the switch the exported tier has.
    for p in probes.iter().filter(|p| p.role == ProbeRole::Inbound) {
        let host = p.target.sni.as_str();
        let Some(service) = &az.service else { break };
        if tier.service_level_switch() {
            if service.enable_client_certificate != Some(true) {
                let mut f = finding(FindingId::AzureNegotiationOff);
                let sku = service.sku.clone().unwrap_or_default();
                let value = service.enable_client_certificate.map_or("absent (off)".to_string(), |v| v.to_string());
                f.cause = format!("The service is in the {sku} tier, where the service-level \"Request client certificate\" (enableClientCertificate) decides, and it is off: no caller's certificate reaches policies. Per-hostname negotiateClientCertificate does not apply in this tier.");
                f.evidence.push(format!("{}: sku {sku}, enableClientCertificate {value}", service.name));
                f.evidence.push(format!("called: {host}"));
                f.fix = vec![format!("Turn on \"Request client certificate\" on the service (portal: Custom domains), or az apim update -g RG -n {} --enable-client-certificate true.", service.name)];
                push(out, &sources, f);
            }
            continue;
        }
        match az.hostname(host) {
            Some(h) if !h.negotiate_client_certificate => {
                let mut f = finding(FindingId::AzureNegotiationOff);
                f.cause = format!("The exported configuration has negotiateClientCertificate false for {}, the hostname this probe called.", h.host_name);
                f.evidence.push(format!(
                    "hostnameConfigurations: {{hostName: {}, type: {}, negotiateClientCertificate: false}}",
                    h.host_name, h.kind
                ));
                f.evidence.push(format!("called: {host}"));
                if service.enable_client_certificate == Some(true) {
                    f.evidence.push(format!(
                        "enableClientCertificate true: not used by the {} tier",
                        service.sku.clone().unwrap_or_default()
                    ));
                }
                f.fix = if is_default_hostname(&h.host_name) {
                    // The same advice as gateway-default-hostname: the default name cannot negotiate here.
                    vec![
                        "Add a custom domain (hostnameConfigurations type Proxy) with its certificate, enable Negotiate client certificate on it, and have clients call that name.".into(),
                    ]
                } else {
                    vec![format!("Enable \"Negotiate client certificate\" on {} (portal: Custom domains), then wait for the change to apply.", h.host_name)]
                };
                if is_default_hostname(&h.host_name) {
                    f.related.push(FindingId::GatewayDefaultHostname);
                }
                f.related.push(FindingId::GatewayDidNotRequestCert);
                push(out, &sources, f);
            }
            Some(_) => {}
            None if !is_default_hostname(host) => {
                let mut f = finding(FindingId::AzureHostnameNotConfigured);
                let known: Vec<&str> = service.hostnames.iter().map(|h| h.host_name.as_str()).collect();
                f.cause = format!("{host} is not among the service's hostname configurations: the call lands on another hostname's settings (or another service).");
                f.evidence.push(format!("configured: {}", known.join(", ")));
                f.fix = vec![format!("Add {host} as a custom domain (type Proxy) with negotiation on, or call one of the configured names.")];
                push(out, &sources, f);
            }
            None => {}
        }
    }

    // CA certificates: does the client chain's root appear among them?
    if let (Some(service), Some(leaf)) = (&az.service, client_chain.first()) {
        if service.ca_certificates_known {
            let top = client_chain.last().unwrap_or(leaf);
            let wanted_issuer = if top.self_signed { top.subject.clone() } else { top.issuer.clone() };
            let in_chain: Vec<String> = client_chain.iter().map(|c| c.thumbprint_sha1.clone()).collect();
            let found = service.ca_certificates.iter().any(|ca| {
                ca.subject.as_deref().is_some_and(|s| s == wanted_issuer || client_chain.iter().any(|c| c.issuer == s))
                    || ca.thumbprint.as_deref().is_some_and(|t| in_chain.iter().any(|x| x.eq_ignore_ascii_case(t)))
            });
            if !found {
                let mut f = finding(FindingId::AzureCaNotUploaded);
                f.cause = format!("None of the service's CA certificates is \"{wanted_issuer}\" (or another issuer in the client chain), so Verify() and validate-client-certificate fail for this client.");
                f.evidence.push(format!(
                    "service CA certificates: {}",
                    if service.ca_certificates.is_empty() {
                        "(none)".to_string()
                    } else {
                        service
                            .ca_certificates
                            .iter()
                            .map(|c| c.subject.clone().unwrap_or_default())
                            .collect::<Vec<_>>()
                            .join("; ")
                    }
                ));
                f.evidence.push(format!("client chain root needed: \"{wanted_issuer}\""));
                f.fix = if tier.allows_ca_upload() {
                    vec![
                        super::policy_safety::MEANT_TO_GET_IN.into(),
                        format!("If yes: upload the root (and any intermediate) of \"{wanted_issuer}\" under Certificates → CA certificates (at most 10 per service)."),
                        super::policy_safety::IF_NOT.into(),
                    ]
                } else {
                    f.evidence.push(format!(
                        "sku {}: CA certificates cannot be uploaded in this tier",
                        service.sku.clone().unwrap_or_default()
                    ));
                    vec![
                        super::policy_safety::MEANT_TO_GET_IN.into(),
                        format!("If yes: the {tier} tier has no CA certificate store, so pin the client in policy instead (validate-client-certificate with validate-trust=\"false\" and an identity with the client certificate's thumbprint; an identity naming only the issuer \"{wanted_issuer}\" would let in any certificate that copies that name)."),
                        super::policy_safety::IF_NOT.into(),
                    ]
                };
                push(out, &sources, f);
            }
        }
    }
    if let Some(service) = &az.service {
        super::azure_more::ca_replaced(service, &sources, out);
    }

    // Backends that should present a certificate.
    for p in probes.iter().filter(|p| p.role == ProbeRole::Outbound && p.client_cert_requested) {
        let url = format!("https://{}:{}", p.target.host, p.target.port);
        let Some(b) = az.backend_for_url(&url) else { continue };
        if !b.has_client_certificate() && !policy_has_auth_cert {
            let mut f = finding(FindingId::AzureBackendNoClientCert);
            f.cause = format!("The backend entity {} has no client certificate in its credentials and no authentication-certificate policy was given, yet the backend asks for one.", b.id);
            f.evidence.push(format!("backend {}: url {}, credentials.certificateIds []", b.id, b.url));
            f.evidence.push(format!("{}:{} sent a CertificateRequest", p.target.host, p.target.port));
            f.fix = vec![
                format!("Add <authentication-certificate certificate-id=\"…\"/> to the policy in scope of the API that calls {} (it is presented on every call that policy covers).", b.url),
                format!("Or set the certificate on backend {} (credentials.certificateIds) and route through it: <set-backend-service backend-id=\"{}\"/> or the API's backend set to it. A backend entity's certificate is presented only on requests routed through that entity; which APIs do is not in a backends export (export the API's policy and give it with --policy).", b.id, b.id),
            ];
            f.related.push(FindingId::BackendRequiresClientCert);
            push(out, &sources, f);
        }
    }
    super::azure_more::backend_thumbprint_refs(az, &sources, out);
    super::backend_certs::backend_cert_refs(az, &sources, out);
    if let Some(auth_certs) = cx.auth_certs {
        super::azure_more::auth_cert_refs(az, auth_certs, &sources, out);
    }

    super::kv_rules::kv_findings(az, cx, &sources, out);
}
