//! The observe step: turn a target's inputs into a finished `TargetRun` (load material, probe,
//! verify the client chain as the gateway would, evaluate the policy, diagnose). The CLI, `replay`
//! and the TUI all run targets through here, so every view shows the same facts.

use std::path::{Path, PathBuf};

use crate::azure::{self, AzureConfig};
use crate::cert::{CertInfo, Certificate};
use crate::diagnose::{self, ClientVerify, InspectedChain, Observations, PolicyEvaluation, Settings};
use crate::error::{Error, Result};
use crate::material::{self, PasswordSource};
use crate::policy::{self, Policy, PolicyInput};
use crate::probe::{self, ClientIdentity, ProbeContext, ProbeResult, ProbeRole};
use crate::session::{MaterialRefs, PasswordRef, TargetKind, TargetRun};
use crate::verify::{self, Role, TrustStore, VerifyOptions};

/// Everything loaded from disk for a target (keys included: never serialized).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub identity: Option<ClientIdentity>,
    /// Identity files that hold a certificate but no private key.
    pub keyless: Vec<String>,
    /// The certificates of a keyless identity (still shown and checked).
    pub keyless_chain: Vec<Certificate>,
    pub trust: TrustStore,
    pub client_cas: Vec<Certificate>,
    pub policy: Option<(String, Policy)>,
    pub azure: Option<AzureConfig>,
}

pub fn password_source(r: &PasswordRef) -> PasswordSource {
    match r {
        PasswordRef::Prompt => PasswordSource::Prompt,
        PasswordRef::Env { var } => PasswordSource::Env(var.clone()),
        PasswordRef::File { path } => PasswordSource::File(PathBuf::from(path)),
        PasswordRef::None => PasswordSource::None,
    }
}

/// Trust from CA files, or the system store when none are given.
pub fn load_trust(ca: &[String]) -> Result<TrustStore> {
    if ca.is_empty() {
        return TrustStore::system();
    }
    Ok(TrustStore::from_certs(&ca.join(", "), load_certs(ca)?))
}

/// Certificates from files (errors name the file).
pub fn load_certs(paths: &[String]) -> Result<Vec<Certificate>> {
    let mut certs = Vec::new();
    for path in paths {
        let m = material::load_file(Path::new(path), &PasswordSource::None)?;
        if m.certs.is_empty() {
            return Err(Error::input(path, "contains no certificate"));
        }
        certs.extend(m.certs);
    }
    Ok(certs)
}

/// Load the material a target names. Errors name the file and what is wrong.
pub fn load(refs: &MaterialRefs) -> Result<Loaded> {
    load_with_password(refs, password_source(&refs.password))
}

/// Like [`load`], with the PFX password from `pw` instead of the one `refs` names.
pub fn load_with_password(refs: &MaterialRefs, pw: PasswordSource) -> Result<Loaded> {
    let mut keyless = Vec::new();
    let mut keyless_chain = Vec::new();
    let id_file = refs.pfx.as_ref().or(refs.cert.as_ref());
    let identity = match id_file {
        None => None,
        Some(file) => {
            let key = if refs.pfx.is_some() { None } else { refs.key.as_deref().map(Path::new) };
            // A certificate without its key is a finding (cert-no-private-key), not an input error:
            // the probe still shows what the server does without it.
            let m = material::load_file(Path::new(file), &pw)?;
            if key.is_none() && m.keys.is_empty() && !m.certs.is_empty() {
                keyless.push(file.clone());
                keyless_chain = m.certs;
                None
            } else {
                let id = material::load_identity(Path::new(file), key, &pw)?;
                Some(ClientIdentity::new(id.chain, id.key.der(), id.origin)?)
            }
        }
    };
    let trust = load_trust(&refs.ca)?;
    let client_cas = load_certs(&refs.client_ca)?;
    let policy = match &refs.policy {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            Some((path.clone(), policy::parse_policy(&text, path)?))
        }
    };
    let azure = if refs.azure.is_empty() {
        None
    } else {
        let configs = refs.azure.iter().map(|p| azure::load_azure_file(Path::new(p))).collect::<Result<Vec<_>>>()?;
        Some(azure::merge(configs))
    };
    Ok(Loaded { identity, keyless, keyless_chain, trust, client_cas, policy, azure })
}

/// What `X509Certificate2.Verify()` would say of a client chain against the uploaded CA certificates.
pub fn client_verify(chain: &[CertInfo], uploaded: &[Certificate], uploaded_names: &[String]) -> Option<ClientVerify> {
    if uploaded.is_empty() || chain.is_empty() {
        return None;
    }
    let certs: Vec<Certificate> =
        chain.iter().filter_map(|c| c.der().and_then(|d| Certificate::from_der(d, "client chain").ok())).collect();
    let trust = TrustStore::from_certs(&uploaded_names.join(", "), uploaded.to_vec());
    let verdict = verify::verify_chain(&certs, &trust, Role::Client, &VerifyOptions::default());
    Some(ClientVerify { uploaded: uploaded_names.to_vec(), thumbprint: chain[0].thumbprint_sha1.clone(), verdict })
}

/// Evaluate the policy against what the gateway would see: the certificate actually sent (or none).
pub fn evaluate_policy(
    loaded: &Loaded,
    cert: Option<&CertInfo>,
    chain: &[CertInfo],
    verify: Option<&ClientVerify>,
) -> Option<PolicyEvaluation> {
    let (source, policy) = loaded.policy.as_ref()?;
    let issuer_thumbprint = cert.and_then(|c| {
        chain
            .iter()
            .chain(loaded.client_cas.iter().map(|x| &x.info))
            .find(|x| x.subject == c.issuer && x.thumbprint_sha1 != c.thumbprint_sha1)
            .map(|x| x.thumbprint_sha1.clone())
    });
    let verify_ok = verify.map(|v| v.verdict.ok);
    let input = PolicyInput {
        cert,
        verify_ok,
        // No CRL is fetched here: without revocation the answer is the same chain verdict.
        verify_no_revocation_ok: verify_ok,
        issuer_thumbprint,
        deployment_thumbprints: loaded.client_cas.iter().map(|c| c.info.thumbprint_sha1.clone()).collect(),
        now: time::OffsetDateTime::now_utc(),
    };
    let outcome = policy::evaluate(policy, &input);
    Some(PolicyEvaluation { source: source.clone(), certificate: cert.map(|c| c.thumbprint_sha1.clone()), outcome })
}

/// Run a probe target to the end and diagnose it.
pub async fn run_probe_target(mut run: TargetRun, loaded: &Loaded) -> TargetRun {
    let Some(options) = run.options.clone() else {
        run.error = Some("target has no probe options".into());
        return run;
    };
    let ctx = ProbeContext { identity: loaded.identity.clone(), trust: loaded.trust.clone() };
    let mut result: ProbeResult = probe::run_probe(&options, &ctx).await;
    if result.client_chain.is_empty() && !loaded.keyless_chain.is_empty() {
        result.client_chain = loaded.keyless_chain.iter().map(|c| c.info.clone()).collect();
    }
    run.uploaded_cas = loaded.client_cas.iter().map(|c| c.info.clone()).collect();
    run.client_verify = client_verify(&result.client_chain, &loaded.client_cas, &run.material.client_ca);
    // Inbound: the policy sees the certificate only if the handshake carried it.
    let presented = if result.client_cert_sent { result.client_chain.first() } else { None };
    if options.role == ProbeRole::Inbound {
        run.policy = evaluate_policy(loaded, presented, &result.client_chain, run.client_verify.as_ref());
    }
    run.azure = loaded.azure.clone();
    run.probe = Some(result);
    diagnose_run(&mut run, &loaded.keyless);
    run
}

/// Inspect files (no network) and diagnose them.
pub fn run_inspect_target(mut run: TargetRun, role: Role, host: Option<String>, loaded: &Loaded) -> Result<TargetRun> {
    let pw = password_source(&run.material.password);
    let mut certs: Vec<Certificate> = Vec::new();
    let mut origins: Vec<String> = Vec::new();
    let mut keys = Vec::new();
    let mut key_origins = Vec::new();
    // Each file is read once (a PFX asks for its password once).
    for f in &run.files {
        let m = material::load_file(Path::new(f), &pw)?;
        origins.extend(m.certs.iter().map(|_| f.clone()));
        certs.extend(m.certs);
        key_origins.extend(m.keys.iter().map(|_| f.clone()));
        keys.extend(m.keys);
    }
    run.keys = keys
        .iter()
        .zip(&key_origins)
        .map(|(k, origin)| crate::report::KeyReport {
            origin: origin.clone(),
            algorithm: k.algorithm().to_string(),
            matches_certificate: certs
                .iter()
                .find(|c| material::key_matches_cert(k, c))
                .map(|c| c.info.thumbprint_sha1.clone()),
            signature_schemes: material::signature_schemes(k).iter().map(|s| format!("{s:?}")).collect(),
        })
        .collect();
    if let Some(pos) = keys
        .iter()
        .find_map(|k| certs.iter().position(|c| material::key_matches_cert(k, c)))
        .or_else(|| certs.iter().position(|c| !c.info.is_ca))
    {
        let leaf = certs.remove(pos);
        certs.insert(0, leaf);
        let origin = origins.remove(pos);
        origins.insert(0, origin);
    }
    run.inspect =
        Some(crate::session::InspectContext { role, host: host.clone(), trust: loaded.trust.source.clone(), origins });
    let key_mismatch = !keys.is_empty() && !keys.iter().any(|k| certs.iter().any(|c| material::key_matches_cert(k, c)));
    let verdict = if certs.is_empty() {
        None
    } else {
        Some(verify::verify_chain(&certs, &loaded.trust, role, &VerifyOptions { host, at: None }))
    };
    let infos: Vec<CertInfo> = certs.iter().map(|c| c.info.clone()).collect();
    run.uploaded_cas = loaded.client_cas.iter().map(|c| c.info.clone()).collect();
    if role == Role::Client {
        // Without --client-ca, the CA files given with --ca stand for what the gateway trusts.
        run.client_verify = if loaded.client_cas.is_empty() && !run.material.ca.is_empty() {
            client_verify(&infos, &loaded.trust.certs, &run.material.ca)
        } else {
            client_verify(&infos, &loaded.client_cas, &run.material.client_ca)
        };
        run.policy = evaluate_policy(loaded, infos.first(), &infos, run.client_verify.as_ref());
    }
    run.inspected = Some(InspectedChain { origin: run.files.join(", "), certs: infos, role, verdict, key_mismatch });
    run.azure = loaded.azure.clone();
    diagnose_run(&mut run, &[]);
    Ok(run)
}

/// Recompute a target's findings from its observations (also used after loading a session).
pub fn diagnose_run(run: &mut TargetRun, keyless: &[String]) {
    let probes: Vec<ProbeResult> = run.probe.iter().cloned().collect();
    let obs = Observations {
        probes: &probes,
        inspected: run.inspected.as_ref(),
        policy: run.policy.as_ref(),
        client_verify: run.client_verify.as_ref(),
        uploaded_cas: &run.uploaded_cas,
        azure: run.azure.as_ref(),
        keyless_identities: keyless,
        settings: Settings {
            expiring_days: run.expiring_days.unwrap_or(crate::diagnose::DEFAULT_EXPIRING_DAYS),
            ..Settings::default()
        },
    };
    run.findings = diagnose::diagnose(&obs);
}

/// A label for a probe target.
pub fn probe_label(o: &probe::ProbeOptions) -> String {
    let role = match o.role {
        ProbeRole::Inbound => "inbound",
        ProbeRole::Outbound => "outbound",
    };
    format!("{}:{} {role}", o.host, o.port)
}

/// Convenience: a probe target from options and material references.
pub fn probe_target(options: probe::ProbeOptions, material: MaterialRefs) -> TargetRun {
    TargetRun {
        name: probe_label(&options),
        kind: TargetKind::Probe,
        options: Some(options),
        material,
        ..Default::default()
    }
}
