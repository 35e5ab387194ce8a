//! The demo: the in-process lab on loopback plus a session of lab targets that shows every failure
//! family with real handshakes (healthy inbound, negotiation off, a policy literal copied from
//! Windows, an expired client certificate, a backend that distrusts the gateway's CA, a gateway that
//! presents no certificate to its backend …). No Azure, no internet.

use std::path::Path;

use crate::cert::Certificate;
use crate::engine;
use crate::error::{Error, Result};
use crate::lab::{self, Lab, LabFiles};
use crate::probe::{ProbeOptions, ProbeRole};
use crate::session::{MaterialRefs, PasswordRef, Session, TargetKind, TargetRun};

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> Result<String> {
    let p = dir.join(name);
    std::fs::write(&p, text).map_err(|e| Error::io(&p, e))?;
    Ok(s(&p))
}

/// The policy a careful operator would write for the lab's good client certificate.
fn good_policy(thumbprint: &str, issuer: &str) -> String {
    format!(
        "<policies>\n  <inbound>\n    <base />\n{}  </inbound>\n  <backend><base /></backend>\n  <outbound><base /></outbound>\n</policies>\n",
        crate::policy::thumbprint_literal_snippet(thumbprint, issuer)
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    )
}

/// The same policy as pasted from the Windows certificate dialog: a leading U+200E and lowercase hex.
fn windows_copy_policy(thumbprint: &str, issuer: &str) -> String {
    let pasted = format!("\u{200E}{}", thumbprint.to_ascii_lowercase());
    format!(
        "<policies>\n  <inbound>\n    <base />\n    <choose>\n      <when condition=\"@(context.Request.Certificate == null || context.Request.Certificate.Thumbprint != &quot;{pasted}&quot; || context.Request.Certificate.Issuer != &quot;{}&quot;)\">\n        <return-response>\n          <set-status code=\"403\" reason=\"Forbidden\" />\n        </return-response>\n      </when>\n    </choose>\n  </inbound>\n</policies>\n",
        issuer.replace('"', "\\&quot;")
    )
}

/// An `az apim show` export describing the lab's gateway as Azure would.
fn lab_service_json() -> String {
    serde_json::json!({
        "name": "mtls-doctor-lab",
        "type": "Microsoft.ApiManagement/service",
        "id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/lab/providers/Microsoft.ApiManagement/service/mtls-doctor-lab",
        "sku": {"name": "Developer", "capacity": 1},
        "gatewayUrl": format!("https://{}", lab::HOST_DEFAULT),
        "identity": {"type": "SystemAssigned", "principalId": "11111111-2222-3333-4444-555555555555"},
        "hostnameConfigurations": [
            {"type": "Proxy", "hostName": lab::HOST_DEFAULT, "negotiateClientCertificate": false, "defaultSslBinding": false},
            {"type": "Proxy", "hostName": lab::HOST_NEGOTIATE, "negotiateClientCertificate": true, "defaultSslBinding": true},
            {"type": "Proxy", "hostName": lab::HOST_NO_NEGOTIATE, "negotiateClientCertificate": false}
        ]
    })
    .to_string()
}

/// The service's certificates: the gateway's outbound certificate comes from Key Vault, and the
/// last fetch failed (the classic 502 behind a "healthy" portal).
fn lab_certificates_json() -> String {
    serde_json::json!({
        "value": [{
            "name": "gateway-outbound",
            "type": "Microsoft.ApiManagement/service/certificates",
            "id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/lab/providers/Microsoft.ApiManagement/service/mtls-doctor-lab/certificates/gateway-outbound",
            "properties": {
                "subject": "CN=mtls-doctor gateway, O=mtls-doctor lab",
                "keyVault": {
                    "secretIdentifier": "https://lab-vault.vault.azure.net/secrets/gateway-outbound",
                    "lastStatus": {
                        "code": "Forbidden",
                        "message": "The user, group or application does not have secrets get permission on key vault 'lab-vault'.",
                        "timeStampUtc": "2026-11-26T08:00:00Z"
                    }
                }
            }
        }]
    })
    .to_string()
}

fn inbound(
    name: &str,
    host: &str,
    path: &str,
    lab: &Lab,
    files: &LabFiles,
    identity: Option<&lab::CertKeyFiles>,
    extra: MaterialRefs,
) -> TargetRun {
    let mut o = ProbeOptions::new(host, 443);
    o.connect_to = Some(lab.gateway_addr().to_string());
    o.path = path.to_string();
    o.headers = vec![crate::probe::Header {
        name: "Ocp-Apim-Subscription-Key".into(),
        value: "demo-subscription-key-0000".into(),
    }];
    lab_target(name, o, files, identity, extra)
}

/// A probe target that trusts the lab's server root and presents `identity` (if any).
fn lab_target(
    name: &str,
    o: ProbeOptions,
    files: &LabFiles,
    identity: Option<&lab::CertKeyFiles>,
    extra: MaterialRefs,
) -> TargetRun {
    let material = MaterialRefs {
        cert: identity.map(|i| s(&i.cert)),
        key: identity.map(|i| s(&i.key)),
        password: PasswordRef::None,
        ca: vec![s(&files.server_root)],
        ..extra
    };
    let mut t = engine::probe_target(o, material);
    t.name = name.to_string();
    t
}

fn outbound(
    name: &str,
    backend: &str,
    lab: &Lab,
    files: &LabFiles,
    identity: Option<&lab::CertKeyFiles>,
    extra: MaterialRefs,
) -> Result<TargetRun> {
    let mut o = ProbeOptions::new(&lab::backend_host(backend), 443);
    o.role = ProbeRole::Outbound;
    o.connect_to = Some(lab.backend_addr(backend)?.to_string());
    Ok(lab_target(name, o, files, identity, extra))
}

/// The demo's targets, with their material written under `dir`.
pub fn demo_targets(lab: &Lab, dir: &Path) -> Result<Vec<TargetRun>> {
    let files = lab.write_material(dir)?;
    let good = Certificate::from_der(lab.pki().client_good.der.clone(), "client-good")?;
    let good_policy = write(dir, "policy.xml", &good_policy(&good.info.thumbprint_sha1, &good.info.issuer))?;
    let pasted_policy = write(
        dir,
        "policy-pasted-from-windows.xml",
        &windows_copy_policy(&good.info.thumbprint_sha1, &good.info.issuer),
    )?;
    let service = write(dir, "az-apim-show.json", &lab_service_json())?;
    let kv = write(dir, "az-apim-certificates.json", &lab_certificates_json())?;
    let client_ca = vec![s(&files.client_ca)];
    let with_policy = |policy: &str| MaterialRefs {
        policy: Some(policy.to_string()),
        client_ca: client_ca.clone(),
        azure: vec![service.clone()],
        ..Default::default()
    };

    let mut pasted = TargetRun {
        name: "policy literal pasted from Windows (offline)".into(),
        kind: TargetKind::Inspect,
        files: vec![s(&files.client_good.cert)],
        material: MaterialRefs { password: PasswordRef::None, ..with_policy(&pasted_policy) },
        ..Default::default()
    };
    pasted.material.azure.clear();

    Ok(vec![
        inbound(
            "healthy inbound",
            lab::HOST_NEGOTIATE,
            "/secure/orders",
            lab,
            &files,
            Some(&files.client_good),
            with_policy(&good_policy),
        ),
        inbound(
            "negotiation off",
            lab::HOST_NO_NEGOTIATE,
            "/secure/orders",
            lab,
            &files,
            Some(&files.client_good),
            with_policy(&good_policy),
        ),
        pasted,
        inbound(
            "expired client certificate",
            lab::HOST_NEGOTIATE,
            "/secure/orders",
            lab,
            &files,
            Some(&files.client_expired),
            with_policy(&good_policy),
        ),
        inbound(
            "rogue client certificate",
            lab::HOST_NEGOTIATE,
            "/secure/orders",
            lab,
            &files,
            Some(&files.client_rogue),
            with_policy(&good_policy),
        ),
        inbound(
            "gateway answers 502",
            lab::HOST_NEGOTIATE,
            "/backend/distrusts-gateway/orders",
            lab,
            &files,
            Some(&files.client_good),
            MaterialRefs::default(),
        ),
        outbound(
            "backend distrusts the gateway's CA",
            "distrusts-gateway",
            lab,
            &files,
            Some(&files.gateway_outbound),
            MaterialRefs::default(),
        )?,
        outbound(
            "gateway presents no certificate (Key Vault)",
            "ok",
            lab,
            &files,
            None,
            MaterialRefs { azure: vec![service.clone(), kv.clone()], ..Default::default() },
        )?,
        outbound(
            "backend with an untrusted certificate",
            "untrusted-cert",
            lab,
            &files,
            Some(&files.gateway_outbound),
            MaterialRefs::default(),
        )?,
        outbound("healthy outbound", "ok", lab, &files, Some(&files.gateway_outbound), MaterialRefs::default())?,
    ])
}

/// Run the demo's targets through the engine, all at once; results in the order given. A target
/// whose material does not load reports that as its error.
pub async fn run_targets(targets: Vec<TargetRun>) -> Result<Vec<TargetRun>> {
    let options = engine::RunOptions {
        jobs: targets.len().max(1),
        on_load_error: engine::LoadFailure::RecordInTarget,
        prompt: engine::PasswordPrompt::Terminal,
    };
    Ok(engine::run_batch(targets, options, |_, _| {}).await?.runs)
}

/// Start the lab and run the demo session. Keep the returned lab alive while the session is used.
pub async fn start_demo(dir: &Path) -> Result<(Lab, Session)> {
    let lab = Lab::start().await?;
    let targets = demo_targets(&lab, dir)?;
    let runs = run_targets(targets).await?;
    Ok((lab, Session::new(runs)))
}
