//! Many targets at once: every target's material is loaded first (prompts never interleave with
//! running probes), then the runs go concurrently under a limit, reporting each as it finishes.

use std::sync::Arc;

use tokio::task::JoinSet;

use super::load::{LoadFailure, MaterialCache, PasswordPrompt, Passwords, Prepared};
use super::run::run_loaded;
use super::with_error;
use crate::error::{Error, Result};
use crate::session::TargetRun;

/// How a batch runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// How many targets run at once (at least one).
    pub jobs: usize,
    /// Whether a target whose material does not load stops the batch or only itself.
    pub on_load_error: LoadFailure,
    /// Where a PFX password comes from when a target says "prompt".
    pub prompt: PasswordPrompt,
}

/// A finished batch.
#[derive(Debug)]
pub struct Batch {
    /// The runs, in the order the targets were given.
    pub runs: Vec<TargetRun>,
    /// How many distinct sets of material were read from disk.
    pub material_loads: usize,
}

/// The runtime every front end blocks on.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    built(tokio::runtime::Builder::new_multi_thread().worker_threads(2))
}

/// The runtime a run of `targets` targets blocks on. One target runs on the calling thread (a
/// current-thread runtime: no workers to start, its I/O polled by the thread that waits on it,
/// its comparison on a thread of its own, see `probe/compare.rs`); several share [`runtime`]'s
/// two workers.
pub fn runtime_for(targets: usize) -> Result<tokio::runtime::Runtime> {
    if targets > 1 {
        return runtime();
    }
    built(&mut tokio::runtime::Builder::new_current_thread())
}

fn built(builder: &mut tokio::runtime::Builder) -> Result<tokio::runtime::Runtime> {
    builder.enable_all().build().map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))
}

/// Load (on the blocking pool, in target order) and run `targets`. `on_done(index, run)` is called
/// as each target finishes, in completion order, with its index in `targets`.
pub async fn run_batch(
    targets: Vec<TargetRun>,
    options: RunOptions,
    on_done: impl FnMut(usize, &TargetRun),
) -> Result<Batch> {
    let RunOptions { jobs, on_load_error, prompt } = options;
    let (prepared, cache) = tokio::task::spawn_blocking(move || {
        let mut cache = MaterialCache::new(prompt);
        cache.prepare(targets, on_load_error).map(|p| (p, cache))
    })
    .await
    .map_err(|e| Error::input("material", format!("loading was interrupted ({e})")))??;
    let runs = run_prepared(prepared, jobs, cache.passwords(), on_done).await;
    Ok(Batch { runs, material_loads: cache.loads() })
}

/// Run prepared targets, at most `jobs` at once; results in the order given. A target without
/// material (its error already recorded) is passed through, and reported like the others.
pub async fn run_prepared(
    targets: Vec<Prepared>,
    jobs: usize,
    passwords: Arc<Passwords>,
    mut on_done: impl FnMut(usize, &TargetRun),
) -> Vec<TargetRun> {
    let gate = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut results: Vec<Option<TargetRun>> = vec![None; targets.len()];
    let mut fallbacks = Vec::with_capacity(targets.len());
    let mut tasks = JoinSet::new();
    let mut index_of = std::collections::HashMap::new();
    for (i, Prepared { run, loaded }) in targets.into_iter().enumerate() {
        fallbacks.push(run.clone());
        let Some(loaded) = loaded else {
            on_done(i, &run);
            results[i] = Some(run);
            continue;
        };
        let gate = gate.clone();
        let passwords = passwords.clone();
        let handle = tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            (i, run_loaded(run, loaded, passwords).await)
        });
        index_of.insert(handle.id(), i);
    }
    while let Some(joined) = tasks.join_next_with_id().await {
        let (i, run) = match joined {
            Ok((_, (i, run))) => (i, run),
            Err(e) => {
                let i = index_of.get(&e.id()).copied().unwrap_or_default();
                let fallback = std::mem::take(&mut fallbacks[i]);
                (i, with_error(fallback, format!("the probe task failed: {e}")))
            }
        };
        on_done(i, &run);
        results[i] = Some(run);
    }
    results.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{Issued, Spec};
    use crate::session::{MaterialRefs, PasswordRef, TargetKind};

    fn inspect(name: &str, file: &str, ca: &str) -> TargetRun {
        TargetRun {
            name: name.into(),
            kind: TargetKind::Inspect,
            files: vec![file.into()],
            material: MaterialRefs { password: PasswordRef::None, ca: vec![ca.into()], ..Default::default() },
            ..Default::default()
        }
    }

    #[test]
    fn shared_material_loads_once_and_each_target_reports_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Issued::self_signed(&Spec::ca("Batch Root")).expect("root");
        let leaf = root.issue(&Spec::leaf("batch client").client_only()).expect("leaf");
        let ca = dir.path().join("root.pem");
        let cert = dir.path().join("leaf.pem");
        std::fs::write(&ca, root.cert_pem()).expect("ca");
        std::fs::write(&cert, leaf.cert_pem()).expect("cert");
        let (ca, cert) = (ca.display().to_string(), cert.display().to_string());
        let mut targets: Vec<TargetRun> = (0..3).map(|i| inspect(&format!("t{i}"), &cert, &ca)).collect();
        // The same file under another name is other material: loaded on its own.
        let other = format!("{}/./root.pem", dir.path().display());
        targets.push(inspect("t3", &cert, &other));

        // Another identity with the same CA file: its own load, the same trust store.
        let other_leaf = root.issue(&Spec::leaf("batch client 2").client_only()).expect("leaf");
        let other_cert = dir.path().join("leaf2.pem");
        std::fs::write(&other_cert, other_leaf.cert_pem()).expect("cert");
        let mut second = inspect("t4", &other_cert.display().to_string(), &ca);
        second.material.cert = second.files.first().cloned();
        let mut first = inspect("t0", &cert, &ca);
        first.material.cert = Some(cert.clone());
        let mut trust_cache = MaterialCache::new(PasswordPrompt::Typed(None));
        let a = trust_cache.get(&first.material).expect("loads");
        let b = trust_cache.get(&second.material).expect("loads");
        assert_eq!((trust_cache.loads(), trust_cache.trust_loads()), (2, 1), "two identities, one trust store");
        assert!(Arc::ptr_eq(&a.trust.certs, &b.trust.certs), "its certificates held once");

        let mut cache = MaterialCache::new(PasswordPrompt::Typed(None));
        let prepared = cache.prepare(targets.clone(), LoadFailure::Abort).expect("prepared");
        assert_eq!(cache.loads(), 2);
        assert_eq!(cache.trust_loads(), 2, "the same file under another name is another store");
        assert_eq!(prepared.len(), 4);

        let rt = runtime().expect("runtime");
        let mut seen = Vec::new();
        let options = RunOptions { jobs: 2, on_load_error: LoadFailure::Abort, prompt: PasswordPrompt::Typed(None) };
        let batch =
            rt.block_on(run_batch(targets, options, |i, run| seen.push((i, run.name.clone())))).expect("batch runs");
        assert_eq!(batch.material_loads, 2);
        seen.sort();
        let want: Vec<(usize, String)> = (0..4).map(|i| (i, format!("t{i}"))).collect();
        assert_eq!(seen, want, "one callback per target, with its index");
        let names: Vec<&str> = batch.runs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["t0", "t1", "t2", "t3"], "runs come back in input order");
        assert!(batch.runs.iter().all(|r| r.error.is_none() && r.inspected.is_some()));
    }

    #[test]
    fn a_load_error_is_the_run_error_and_an_earlier_error_is_dropped_on_a_good_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Issued::self_signed(&Spec::ca("Batch Root")).expect("root");
        let ca = dir.path().join("root.pem");
        std::fs::write(&ca, root.cert_pem()).expect("ca");
        let ca = ca.display().to_string();
        let missing = dir.path().join("missing.pem").display().to_string();
        let mut stale = inspect("stale", &ca, &ca);
        stale.error = Some("an earlier failure".into());
        // `prepare` passes a target that already carries an error through; a re-run (the TUI's
        // runner) starts from its inputs.
        let rerun = runtime().expect("runtime").block_on(crate::engine::run_target_typed(stale, None));
        assert_eq!(rerun.error, None);
        assert!(rerun.inspected.is_some());

        let options =
            RunOptions { jobs: 1, on_load_error: LoadFailure::RecordInTarget, prompt: PasswordPrompt::Typed(None) };
        let mut calls = 0;
        let batch = runtime()
            .expect("runtime")
            .block_on(run_batch(vec![inspect("gone", &ca, &missing)], options, |_, _| calls += 1))
            .expect("a recorded failure does not fail the batch");
        assert_eq!(calls, 1);
        let e = batch.runs[0].error.as_deref().expect("error recorded");
        assert!(e.contains("missing.pem"), "{e}");
    }
}
