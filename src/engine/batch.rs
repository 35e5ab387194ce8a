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
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))
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
