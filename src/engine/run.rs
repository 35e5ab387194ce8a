//! One target from inputs to a finished run: probe or inspect (role and host taken from the run
//! itself), the client chain verified as the gateway would, the policy evaluated, diagnosis.

use std::path::Path;
use std::sync::Arc;

use super::load::{load_with, Loaded, PasswordPrompt, Passwords};
use super::with_error;
use crate::cert::{CertInfo, Certificate};
use crate::diagnose::{self, ClientVerify, InspectedChain, Observations, PolicyEvaluation, Settings};
use crate::error::{Error, Result};
use crate::material;
use crate::policy::{self, PolicyInput};
use crate::probe::{self, ProbeContext, ProbeResult, ProbeRole};
use crate::session::{InspectContext, TargetKind, TargetRun};
use crate::verify::{self, Role, TrustStore, VerifyOptions};

/// Load a target's material (on the blocking pool) and run it. Never fails: a load error becomes
/// the run's `error`.
pub async fn run_target(run: TargetRun, passwords: Arc<Passwords>) -> TargetRun {
    let refs = run.material.clone();
    let pw = passwords.clone();
    let loaded = tokio::task::spawn_blocking(move || load_with(&refs, &pw))
        .await
        .map_err(|e| Error::input("material", format!("loading was interrupted ({e})")));
    match loaded.and_then(|r| r) {
        Ok(l) => run_loaded(run, Arc::new(l), passwords).await,
        Err(e) => with_error(run, e.to_string()),
    }
}

/// Like [`run_target`] for a target whose PFX password (if it asks for one) was typed in the TUI:
/// the terminal is never prompted on.
pub async fn run_target_typed(run: TargetRun, password: Option<Arc<material::Password>>) -> TargetRun {
    run_target(run, Arc::new(Passwords::new(PasswordPrompt::Typed(password)))).await
}

/// The one dispatch from a target with its material loaded to a finished run. Anything observed
/// by an earlier run of the target (or an earlier error) is dropped first.
pub async fn run_loaded(run: TargetRun, loaded: Arc<Loaded>, passwords: Arc<Passwords>) -> TargetRun {
    let run = run.inputs_only();
    match run.kind {
        TargetKind::Probe => run_probe_target(run, &loaded).await,
        TargetKind::Inspect => {
            let fallback = run.clone();
            // Inspection reads files (and may prompt): keep it off the async workers.
            match tokio::task::spawn_blocking(move || run_inspect(run, &loaded, &passwords)).await {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => with_error(fallback, e.to_string()),
                Err(e) => with_error(fallback, format!("inspection was interrupted ({e})")),
            }
        }
    }
}

/// Inspect a target's files as the role (and for the host) the target records, e.g. from
/// `inspect --role server --host NAME`. Errors name the file that would not load.
pub fn run_inspect(run: TargetRun, loaded: &Loaded, passwords: &Passwords) -> Result<TargetRun> {
    let (role, host) = inspect_context(&run);
    inspect_with(run, role, host, loaded, passwords)
}

/// The role and host an inspect target is judged for, as its command line (or session) recorded
/// them; a session from before schema 2 only has the role of its inspected chain.
pub fn inspect_context(run: &TargetRun) -> (Role, Option<String>) {
    run.inspect
        .as_ref()
        .map(|c| (c.role, c.host.clone()))
        .or_else(|| run.inspected.as_ref().map(|i| (i.role, None)))
        .unwrap_or((Role::Client, None))
}

/// On the tiers without a CA certificate store (Consumption, v2, from `--azure`), `Verify()` can
/// chain only to the platform's public roots (Mozilla's list stands for them here): the
/// `--client-ca` files are not what the gateway trusts there. `None` on other tiers.
pub(super) fn tier_client_verify(loaded: &Loaded, chain: &[CertInfo]) -> Option<(ClientVerify, Vec<CertInfo>)> {
    let tier = loaded.azure.as_ref()?.service.as_ref()?.tier();
    if tier.allows_ca_upload() || chain.is_empty() {
        return None;
    }
    let roots = TrustStore::mozilla();
    // As with uploaded CAs, .NET fetches a missing intermediate from its caIssuers URL.
    let (certs, issuer_fetch) =
        crate::revocation::complete_chain_blocking(&client_certs(chain), &roots.certs, loaded.fetcher.as_deref());
    let verdict = verify::verify_chain(&certs, &roots, Role::Client, &VerifyOptions::default());
    let built = certs.into_iter().map(|c| c.info).collect();
    let cv = ClientVerify {
        uploaded: vec![format!("public roots only (the {tier} tier has no CA certificate store)")],
        thumbprint: chain[0].thumbprint_sha1.clone(),
        verdict,
        revocation: None,
        revocation_answer: None,
        issuer_fetch,
    };
    Some((cv, built))
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
    Some(ClientVerify {
        uploaded: uploaded_names.to_vec(),
        thumbprint: chain[0].thumbprint_sha1.clone(),
        verdict,
        revocation: None,
        revocation_answer: None,
        issuer_fetch: None,
    })
}

/// The certificates of a recorded chain (those whose DER is kept).
fn client_certs(chain: &[CertInfo]) -> Vec<Certificate> {
    chain.iter().filter_map(|c| c.der().and_then(|d| Certificate::from_der(d, "client chain").ok())).collect()
}

/// The chain whose revocation `Verify()` checks, when the chain itself verifies (otherwise
/// `Verify()` is false already and nothing needs fetching).
pub(super) fn revocation_chain(
    verify: &ClientVerify,
    chain: &[CertInfo],
    uploaded: &[Certificate],
) -> Option<Vec<Certificate>> {
    if !verify.verdict.ok {
        return None;
    }
    let certs: Vec<Certificate> =
        chain.iter().filter_map(|c| c.der().and_then(|d| Certificate::from_der(d, "client chain").ok())).collect();
    let leaf = certs.first()?;
    let pool: Vec<Certificate> = certs.iter().skip(1).chain(uploaded.iter()).cloned().collect();
    Some(crate::revocation::issuer_chain(leaf, &pool))
}

pub(super) fn record_revocation(verify: &mut ClientVerify, report: crate::revocation::RevocationReport) {
    verify.revocation_answer = Some(crate::revocation::verify_answer(&report));
    verify.revocation = Some(report);
}

/// `context.Deployment.Certificates`: the certificate entities from `--azure` exports and
/// `--deployment-cert`; `None` when neither names any (the CA certificates are not these).
fn deployment_certificates(loaded: &Loaded) -> Option<Vec<crate::policy::DeploymentCertificate>> {
    let mut out: Vec<crate::policy::DeploymentCertificate> = Vec::new();
    for c in loaded.azure.iter().flat_map(|a| a.certificates.iter()) {
        if let Some(tp) = &c.thumbprint {
            out.push(crate::policy::DeploymentCertificate {
                id: c.id.clone(),
                thumbprint: crate::cert::normalize_thumbprint(tp),
                is_ca: false,
            });
        }
    }
    for (id, cert) in &loaded.deployment_certs {
        out.retain(|c| &c.id != id);
        out.push(crate::policy::DeploymentCertificate {
            id: id.clone(),
            thumbprint: cert.info.thumbprint_sha1.clone(),
            is_ca: cert.info.is_ca,
        });
    }
    (!out.is_empty()).then_some(out)
}

/// The body a probe's request carried, as the policy sees it: none without `--data`, not known when
/// a replayed session's body was not given again.
fn probe_body(body: Option<&crate::probe::body::RequestBody>) -> crate::policy::BodyInput<'_> {
    match body {
        None => crate::policy::BodyInput::Absent,
        Some(b) => b.bytes().map_or(crate::policy::BodyInput::Unknown, crate::policy::BodyInput::Known),
    }
}

/// Evaluate the policy against what the gateway would see: the certificate actually sent (or none).
pub fn evaluate_policy(
    loaded: &Loaded,
    cert: Option<&CertInfo>,
    chain: &[CertInfo],
    verify: Option<&ClientVerify>,
    headers: Option<Vec<crate::probe::Header>>,
    forwarded: Option<&crate::session::ForwardedCert>,
    body: crate::policy::BodyInput<'_>,
) -> Option<PolicyEvaluation> {
    let (source, policy) = loaded.policy.as_ref()?;
    let issuer_thumbprint = cert.and_then(|c| {
        chain
            .iter()
            .chain(loaded.client_cas.iter().map(|x| &x.info))
            .find(|x| x.subject == c.issuer && x.thumbprint_sha1 != c.thumbprint_sha1)
            .map(|x| x.thumbprint_sha1.clone())
    });
    let chain_pending = verify
        .and_then(ClientVerify::issuer_pending)
        .map(|reason| crate::revocation::VerifyRevocationAnswer::ChainPending { reason });
    let input = PolicyInput {
        cert,
        verify_ok: verify.and_then(ClientVerify::verify_ok),
        verify_no_revocation_ok: verify.and_then(ClientVerify::verify_no_revocation_ok),
        revocation: chain_pending.as_ref().or(verify.and_then(|v| v.revocation_answer.as_ref())),
        issuer_thumbprint,
        deployment_certificates: deployment_certificates(loaded),
        headers,
        now: time::OffsetDateTime::now_utc(),
        forwarded: forwarded.map(super::forward::policy_view).into_iter().collect(),
        body,
    };
    let mut outcome = policy::evaluate(policy, &input);
    if let Some(f) = forwarded {
        outcome.notes.push(format!(
            "{} carries the client certificate {} ({}); {}",
            f.header,
            f.thumbprint,
            f.format.describe(),
            super::forward::CHAIN_NOTE
        ));
    }
    Some(PolicyEvaluation { source: source.clone(), certificate: cert.map(|c| c.thumbprint_sha1.clone()), outcome })
}

/// The headers the probe's request carries, as the gateway's policy reads them: Host and
/// User-Agent as the probe sends them, then every `-H`.
fn request_headers(options: &crate::probe::ProbeOptions) -> Vec<crate::probe::Header> {
    let authority =
        if options.port == 443 { options.host.clone() } else { format!("{}:{}", options.host, options.port) };
    let header = |name: &str, value: String| crate::probe::Header { name: name.to_string(), value };
    let mut out = vec![
        header("Host", authority),
        header("User-Agent", concat!("mtls-doctor/", env!("CARGO_PKG_VERSION")).to_string()),
    ];
    out.extend(options.headers.iter().cloned());
    out
}

/// Run a probe target to the end and diagnose it.
pub async fn run_probe_target(mut run: TargetRun, loaded: &Loaded) -> TargetRun {
    let Some(options) = run.options.clone() else {
        run.error = Some("target has no probe options".into());
        return run;
    };
    // --forward-cert: the header goes on the wire (and to the policy) with the -H ones.
    let forward = match super::forward::spec(run.material.forward_cert.as_deref())
        .and_then(|spec| spec.map(|s| super::forward::probe_leaf(loaded).map(|leaf| (s, leaf))).transpose())
    {
        Ok(f) => f,
        Err(e) => return super::with_error(run, e.to_string()),
    };
    let mut options = options;
    if let Some((spec, leaf)) = &forward {
        options.headers.push(super::forward::header(spec, leaf));
    }
    let forward = forward.or_else(|| super::forward::from_headers(&options.headers));
    let ctx = ProbeContext { identity: loaded.identity.clone(), trust: loaded.trust.clone() };
    let mut result: ProbeResult = probe::run_probe(&options, &ctx).await;
    if result.client_chain.is_empty() && !loaded.keyless_chain.is_empty() {
        result.client_chain = loaded.keyless_chain.iter().map(|c| c.info.clone()).collect();
    }
    run.uploaded_cas = loaded.client_cas.iter().map(|c| c.info.clone()).collect();
    let (client_verify_result, verify_chain) = match tier_client_verify(loaded, &result.client_chain) {
        Some((cv, built)) => (Some(cv), built),
        None => {
            let sent = client_certs(&result.client_chain);
            let missing = !loaded.client_cas.is_empty() && crate::revocation::issuer_missing(&sent, &loaded.client_cas);
            let (built, issuer_fetch) = if missing {
                let (full, report) =
                    crate::revocation::complete_chain(&sent, &loaded.client_cas, loaded.fetcher.as_deref()).await;
                (full.into_iter().map(|c| c.info).collect(), report)
            } else {
                (result.client_chain.clone(), None)
            };
            let cv = client_verify(&built, &loaded.client_cas, &run.material.client_ca)
                .map(|cv| ClientVerify { issuer_fetch, ..cv });
            (cv, built)
        }
    };
    run.client_verify = client_verify_result;
    if let Some(cv) = run.client_verify.as_mut() {
        if let Some(chain) = revocation_chain(cv, &verify_chain, &loaded.client_cas) {
            let report =
                crate::revocation::check_chain(&chain, loaded.fetcher.as_deref(), time::OffsetDateTime::now_utc())
                    .await;
            record_revocation(cv, report);
        }
    }
    if let Some((spec, leaf)) = &forward {
        let uploaded = (loaded.client_cas.as_slice(), run.material.client_ca.as_slice());
        run.forwarded = Some(super::forward::judge(loaded, spec, leaf, uploaded).await);
    }
    // Inbound: the policy sees the certificate only if the handshake carried it.
    let presented = if result.client_cert_sent { result.client_chain.first() } else { None };
    if options.role == ProbeRole::Inbound {
        run.policy = evaluate_policy(
            loaded,
            presented,
            &result.client_chain,
            run.client_verify.as_ref(),
            Some(request_headers(&options)),
            run.forwarded.as_ref(),
            probe_body(options.body.as_ref()),
        );
    } else {
        run.outbound_policy = loaded.policy.as_ref().map(|(source, p)| crate::policy::outbound_policy(p, source));
    }
    run.azure = loaded.azure.clone();
    run.probe = Some(result);
    diagnose_run(&mut run, &loaded.keyless);
    run
}

/// Inspect files (no network) and diagnose them, judged as `role` (and for `host`), asking on the
/// terminal for a PFX password a file needs.
pub fn run_inspect_target(run: TargetRun, role: Role, host: Option<String>, loaded: &Loaded) -> Result<TargetRun> {
    inspect_with(run, role, host, loaded, &Passwords::new(PasswordPrompt::Terminal))
}

fn inspect_with(
    mut run: TargetRun,
    role: Role,
    host: Option<String>,
    loaded: &Loaded,
    passwords: &Passwords,
) -> Result<TargetRun> {
    let mut certs: Vec<Certificate> = Vec::new();
    let mut origins: Vec<String> = Vec::new();
    let mut keys = Vec::new();
    let mut key_origins = Vec::new();
    // Each file is read once (a PFX asks for its password once).
    for f in &run.files {
        let (m, _) = passwords.load_file(Path::new(f), &run.material.password)?;
        origins.extend(m.certs.iter().map(|_| f.clone()));
        certs.extend(m.certs);
        key_origins.extend(m.keys.iter().map(|_| f.clone()));
        keys.extend(m.keys);
    }
    run.keys = keys
        .iter()
        .zip(&key_origins)
        .map(|(k, origin)| crate::material::KeyReport {
            origin: origin.clone(),
            algorithm: k.algorithm().to_string(),
            matches_certificate: certs
                .iter()
                .find(|c| material::key_matches_cert(k, c))
                .map(|c| c.info.thumbprint_sha1.clone()),
            signature_schemes: material::signature_schemes(k)
                .iter()
                .map(|s| crate::text::signature_scheme(*s))
                .collect(),
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
    run.inspect = Some(InspectContext { role, host: host.clone(), trust: loaded.trust.source.clone(), origins });
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
        let uploaded = if loaded.client_cas.is_empty() && !run.material.ca.is_empty() {
            (loaded.trust.certs.as_slice(), &run.material.ca)
        } else {
            (loaded.client_cas.as_slice(), &run.material.client_ca)
        };
        let (client_verify_result, verify_chain) = match tier_client_verify(loaded, &infos) {
            Some((cv, built)) => (Some(cv), built),
            None => {
                let (full, issuer_fetch) = if uploaded.0.is_empty() {
                    (certs.clone(), None)
                } else {
                    crate::revocation::complete_chain_blocking(&certs, uploaded.0, loaded.fetcher.as_deref())
                };
                let built: Vec<CertInfo> = full.into_iter().map(|c| c.info).collect();
                let cv = client_verify(&built, uploaded.0, uploaded.1).map(|cv| ClientVerify { issuer_fetch, ..cv });
                (cv, built)
            }
        };
        run.client_verify = client_verify_result;
        if let Some(cv) = run.client_verify.as_mut() {
            if let Some(chain) = revocation_chain(cv, &verify_chain, uploaded.0) {
                let now = time::OffsetDateTime::now_utc();
                record_revocation(cv, crate::revocation::check_chain_blocking(&chain, loaded.fetcher.as_deref(), now));
            }
        }
        // --forward-cert: the request as it reaches the gateway behind the front end. The front end
        // ended TLS, so no certificate is in the gateway's handshake; the leaf is in the header,
        // judged alone (front ends forward no chain), and no other header is known.
        let mut headers = None;
        if let (Some(spec), Some(leaf)) = (super::forward::spec(run.material.forward_cert.as_deref())?, certs.first()) {
            headers = Some(vec![super::forward::header(&spec, leaf)]);
            run.forwarded = Some(super::forward::judge_blocking(loaded, &spec, leaf, (uploaded.0, uploaded.1)));
        }
        let presented = if run.forwarded.is_some() { None } else { infos.first() };
        run.policy = evaluate_policy(
            loaded,
            presented,
            &infos,
            run.client_verify.as_ref(),
            headers,
            run.forwarded.as_ref(),
            Default::default(),
        );
        if let (Some(p), Some(f)) = (run.policy.as_mut(), &run.forwarded) {
            p.outcome.notes.push(format!(
                "as behind the front end: context.Request.Certificate is null (TLS ended there) and the request carries {} and no other header (a probe sends the certificate in its handshake too, with Host, User-Agent and -H)",
                f.header
            ));
        }
    }
    run.inspected = Some(InspectedChain { origin: run.files.join(", "), certs: infos, role, verdict, key_mismatch });
    run.azure = loaded.azure.clone();
    diagnose_run(&mut run, &[]);
    Ok(run)
}

/// Recompute a target's findings from its observations (also used after loading a session).
pub fn diagnose_run(run: &mut TargetRun, keyless: &[String]) {
    let obs = Observations {
        // The run's own probe, borrowed (a sweep used to copy every probe record here).
        probes: run.probe.as_slice(),
        inspected: run.inspected.as_ref(),
        policy: run.policy.as_ref(),
        outbound_policy: run.outbound_policy.as_ref(),
        client_verify: run.client_verify.as_ref(),
        forwarded_verify: run.forwarded.as_ref().and_then(|f| f.verify.as_ref()),
        forwarded_cert: run.forwarded.as_ref().map(|f| crate::diagnose::ForwardedSeen {
            header: &f.header,
            subject: &f.subject,
            thumbprint: &f.thumbprint,
        }),
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
