//! Loading a target's material from disk: the PFX password policy (a terminal prompt asked at most
//! once per file, or a password typed in the TUI), and the cache that loads each distinct set of
//! material once per batch.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::azure::{self, AzureConfig};
use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::material::{self, Material, Password, PasswordSource};
use crate::policy::{self, Policy};
use crate::probe::ClientIdentity;
use crate::session::{MaterialRefs, PasswordRef, TargetRun};
use crate::verify::TrustStore;

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
    /// Fetches revocation data for `Verify()`, with one cache for everything this material runs;
    /// `None` with `--offline`.
    pub fetcher: Option<std::sync::Arc<crate::revocation::Fetcher>>,
    /// `--deployment-cert ID=FILE`: certificate entities of the service, by id.
    pub deployment_certs: Vec<(String, Certificate)>,
}

/// The source a recorded password reference stands for (`Prompt` asks on the terminal).
pub fn password_source(r: &PasswordRef) -> PasswordSource {
    match r {
        PasswordRef::Prompt => PasswordSource::Prompt,
        PasswordRef::Env { var } => PasswordSource::Env(var.clone()),
        PasswordRef::File { path } => PasswordSource::File(PathBuf::from(path)),
        PasswordRef::None => PasswordSource::None,
    }
}

/// Where the password comes from for a target whose reference says "prompt".
#[derive(Clone, Debug)]
pub enum PasswordPrompt {
    /// Ask on the terminal (the headless commands), at most once per file.
    Terminal,
    /// Never touch the terminal (the TUI owns it): use the password typed in the TUI, if any;
    /// without one a protected PFX is an input error naming the file.
    Typed(Option<Arc<Password>>),
}

/// Resolves PFX passwords for loads. Passwords asked on the terminal are remembered per file, so
/// one file asks once however many targets (or loads of one target) read it.
#[derive(Debug)]
pub struct Passwords {
    prompt: PasswordPrompt,
    asked: Mutex<HashMap<String, Password>>,
}

impl Passwords {
    pub fn new(prompt: PasswordPrompt) -> Self {
        Passwords { prompt, asked: Mutex::new(HashMap::new()) }
    }

    /// Load one material file with the password `r` names. Returns the source that opened it, for
    /// reading the same file again without asking again.
    pub fn load_file(&self, path: &Path, r: &PasswordRef) -> Result<(Material, PasswordSource)> {
        let source = match (r, &self.prompt) {
            (PasswordRef::Prompt, PasswordPrompt::Terminal) => return self.load_prompting(path),
            (PasswordRef::Prompt, PasswordPrompt::Typed(pw)) => {
                pw.as_ref().map_or(PasswordSource::None, |p| PasswordSource::Given(Password::clone(p)))
            }
            _ => password_source(r),
        };
        Ok((material::load_file(path, &source)?, source))
    }

    fn load_prompting(&self, path: &Path) -> Result<(Material, PasswordSource)> {
        let file = path.display().to_string();
        // Held across the prompt: concurrent loads of one file wait for the first answer.
        let mut asked = self.asked.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(pw) = asked.get(&file) {
            let source = PasswordSource::Given(pw.clone());
            return Ok((material::load_file(path, &source)?, source));
        }
        // Files that open without a password (most) never ask.
        if let Ok(m) = material::load_file(path, &PasswordSource::None) {
            return Ok((m, PasswordSource::None));
        }
        if !std::io::stdin().is_terminal() {
            // The loader's own error says why it could not prompt.
            return Ok((material::load_file(path, &PasswordSource::Prompt)?, PasswordSource::Prompt));
        }
        let pw = PasswordSource::Prompt.resolve(&file)?;
        asked.insert(file, pw.clone());
        let source = PasswordSource::Given(pw);
        Ok((material::load_file(path, &source)?, source))
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

/// Load the material a target names, asking on the terminal for a PFX password it needs.
pub fn load(refs: &MaterialRefs) -> Result<Loaded> {
    load_with(refs, &Passwords::new(PasswordPrompt::Terminal))
}

/// Load the material a target names with `passwords`. Errors name the file and what is wrong.
pub fn load_with(refs: &MaterialRefs, passwords: &Passwords) -> Result<Loaded> {
    load_with_trust(refs, passwords, &mut |ca| load_trust(ca))
}

/// [`load_with`], the trust store for the `--ca` files coming from `trust_for` (a cache).
fn load_with_trust(
    refs: &MaterialRefs,
    passwords: &Passwords,
    trust_for: &mut dyn FnMut(&[String]) -> Result<TrustStore>,
) -> Result<Loaded> {
    let mut keyless = Vec::new();
    let mut keyless_chain = Vec::new();
    let id_file = refs.pfx.as_ref().or(refs.cert.as_ref());
    let identity = match id_file {
        None => None,
        Some(file) => {
            let key = if refs.pfx.is_some() { None } else { refs.key.as_deref().map(Path::new) };
            // A certificate without its key is a finding (cert-no-private-key), not an input error:
            // the probe still shows what the server does without it.
            let (m, _) = passwords.load_file(Path::new(file), &refs.password)?;
            if key.is_none() && m.keys.is_empty() && !m.certs.is_empty() {
                keyless.push(file.clone());
                keyless_chain = m.certs;
                None
            } else {
                // An encrypted key file asks for its own password (once per file, like a PFX).
                // Each file is read, and its key parsed, once.
                let key_material = match key {
                    Some(k) => Some(passwords.load_file(k, &refs.password)?.0),
                    None => None,
                };
                let id = material::identity_from(m, key_material)?;
                Some(ClientIdentity::from_key(id.chain, &id.key, id.origin))
            }
        }
    };
    let trust = trust_for(&refs.ca)?;
    let client_cas = load_certs(&refs.client_ca)?;
    let policy = match &refs.policy {
        None => None,
        Some(path) => {
            let mut values = Vec::new();
            // NAME=VALUE given on the command line wins over an export: it comes first.
            let mut exported = Vec::new();
            for spec in &refs.named_values {
                if let Some(file) = spec.strip_prefix('@') {
                    exported.extend(super::named_values::load_named_values_export(Path::new(file))?);
                    continue;
                }
                // The value is never echoed: it may be a secret.
                let Some((name, value)) = spec.split_once('=').filter(|(n, _)| !n.is_empty()) else {
                    return Err(Error::input("--named-value", "expected NAME=VALUE"));
                };
                values.push((name.to_string(), value.to_string()));
            }
            values.append(&mut exported);
            Some((path.clone(), policy::load_policy_file_with(Path::new(path), &values)?))
        }
    };
    let azure = if refs.azure.is_empty() {
        None
    } else {
        let configs = refs.azure.iter().map(|p| azure::load_azure_file(Path::new(p))).collect::<Result<Vec<_>>>()?;
        Some(azure::merge(configs))
    };
    let fetcher = (!refs.offline)
        .then(|| std::sync::Arc::new(crate::revocation::Fetcher::new(crate::revocation::FetchLimits::default())));
    let mut deployment_certs = Vec::new();
    for spec in &refs.deployment_certs {
        let Some((id, file)) = spec.split_once('=').filter(|(id, file)| !id.is_empty() && !file.is_empty()) else {
            return Err(Error::input(format!("--deployment-cert {spec}"), "expected ID=FILE"));
        };
        let cert = load_certs(&[file.to_string()])?.remove(0);
        deployment_certs.push((id.to_string(), cert));
    }
    Ok(Loaded { identity, keyless, keyless_chain, trust, client_cas, policy, azure, fetcher, deployment_certs })
}

/// What to do when a target's material does not load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadFailure {
    /// A command line or targets file naming a bad file is an input error (exit 2).
    Abort,
    /// A replay (or the demo) goes on: that target reports the error, the others run.
    RecordInTarget,
}

/// A target with its material loaded, or without (its error recorded in the run).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub run: TargetRun,
    pub loaded: Option<Arc<Loaded>>,
}

/// Loads each distinct [`MaterialRefs`] once: targets that share material share one load (and a
/// failed load is reported to each of them without trying again). Trust stores are shared beyond
/// that: targets with their own identities but the same `--ca` files (or the system store) use
/// one store, read once, its certificates held once.
#[derive(Debug)]
pub struct MaterialCache {
    passwords: Arc<Passwords>,
    entries: HashMap<MaterialRefs, std::result::Result<Arc<Loaded>, String>>,
    trust: HashMap<Vec<String>, TrustStore>,
    loads: usize,
    trust_loads: usize,
}

impl MaterialCache {
    pub fn new(prompt: PasswordPrompt) -> Self {
        MaterialCache {
            passwords: Arc::new(Passwords::new(prompt)),
            entries: HashMap::new(),
            trust: HashMap::new(),
            loads: 0,
            trust_loads: 0,
        }
    }

    /// How many times material was actually read from disk (cache misses).
    pub fn loads(&self) -> usize {
        self.loads
    }

    /// How many trust stores were actually read (the system store or a set of `--ca` files).
    pub fn trust_loads(&self) -> usize {
        self.trust_loads
    }

    /// The password resolver loads through (inspect targets read their files with it too).
    pub fn passwords(&self) -> Arc<Passwords> {
        self.passwords.clone()
    }

    /// The material `refs` names, loaded on first use; a failed load is its one-line error.
    pub fn get(&mut self, refs: &MaterialRefs) -> std::result::Result<Arc<Loaded>, String> {
        match self.cached(refs) {
            Some(l) => l,
            None => self.load_new(refs).map_err(|e| e.to_string()),
        }
    }

    fn cached(&self, refs: &MaterialRefs) -> Option<std::result::Result<Arc<Loaded>, String>> {
        self.entries.get(refs).cloned()
    }

    fn load_new(&mut self, refs: &MaterialRefs) -> Result<Arc<Loaded>> {
        self.loads += 1;
        let (trust, trust_loads) = (&mut self.trust, &mut self.trust_loads);
        let mut trust_for = |ca: &[String]| -> Result<TrustStore> {
            if let Some(t) = trust.get(ca) {
                return Ok(t.clone());
            }
            *trust_loads += 1;
            let t = load_trust(ca)?;
            trust.insert(ca.to_vec(), t.clone());
            Ok(t)
        };
        let loaded = load_with_trust(refs, &self.passwords, &mut trust_for).map(Arc::new);
        self.entries.insert(refs.clone(), loaded.as_ref().map(Arc::clone).map_err(|e| e.to_string()));
        loaded
    }

    /// Load `refs` now unless it is cached: a failure is the error with [`LoadFailure::Abort`],
    /// and is kept for the targets that name it otherwise.
    pub fn preload(&mut self, refs: &MaterialRefs, on_failure: LoadFailure) -> Result<()> {
        if self.cached(refs).is_none() {
            match self.load_new(refs) {
                Err(e) if on_failure == LoadFailure::Abort => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// Load every target's material, in target order, so prompts happen before anything runs and
    /// never interleave with running probes. A target that already carries an error is passed on.
    pub fn prepare(&mut self, targets: Vec<TargetRun>, on_failure: LoadFailure) -> Result<Vec<Prepared>> {
        let mut out = Vec::with_capacity(targets.len());
        for run in targets {
            if run.error.is_some() {
                out.push(Prepared { run, loaded: None });
                continue;
            }
            let loaded = match self.cached(&run.material) {
                Some(l) => l,
                // Abort stops at the first failure, so only a fresh load can abort.
                None => match self.load_new(&run.material) {
                    Err(e) if on_failure == LoadFailure::Abort => return Err(e),
                    l => l.map_err(|e| e.to_string()),
                },
            };
            match loaded {
                Ok(l) => out.push(Prepared { run, loaded: Some(l) }),
                Err(e) => out.push(Prepared { run: super::with_error(run, e), loaded: None }),
            }
        }
        Ok(out)
    }
}
