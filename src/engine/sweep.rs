//! Sweeps in memory proportional to the concurrency, not to the number of targets: targets are
//! pulled from an iterator only when a slot is free, each finished run is handed to the caller
//! (who writes it and drops it), and nothing per target stays behind but its index.

use std::collections::{BTreeSet, HashMap};
use tokio::task::JoinSet;

use super::load::MaterialCache;
use super::run::run_loaded;
use super::with_error;
use crate::session::TargetRun;

/// How a sweep runs.
#[derive(Debug, Clone, Copy)]
pub struct SweepOptions {
    /// How many targets run at once (at least one).
    pub jobs: usize,
    /// When set, a target is started only while it is fewer than this many places after the
    /// oldest target still running, so a caller writing runs in the order given holds at most this
    /// many finished runs that wait for an earlier one.
    pub window: Option<usize>,
}

/// Run the targets `targets` yields (each with where a targets file writes it, `FILE:LINE`, which
/// starts the error of a target whose material did not load), at most `options.jobs` at once. `on_done(index, run)` gets
/// each finished run (in completion order, with its position in `targets`) and owns it from then
/// on. A target without material (its error recorded) or already carrying an error is reported
/// as it is. Returns how many targets there were.
pub async fn run_sweep(
    targets: impl Iterator<Item = (TargetRun, Option<String>)>,
    options: SweepOptions,
    cache: &mut MaterialCache,
    mut on_done: impl FnMut(usize, TargetRun),
) -> usize {
    let jobs = options.jobs.max(1);
    let passwords = cache.passwords();
    let mut targets = targets.enumerate().peekable();
    let mut tasks = JoinSet::new();
    // Per running target only: its index and its inputs (for a task that panics).
    let mut running: HashMap<tokio::task::Id, (usize, TargetRun)> = HashMap::new();
    let mut in_flight: BTreeSet<usize> = BTreeSet::new();
    let mut given = 0;
    loop {
        while tasks.len() < jobs {
            let Some(&(i, _)) = targets.peek() else { break };
            let too_far = options.window.zip(in_flight.first()).is_some_and(|(w, &oldest)| i >= oldest + w.max(1));
            if too_far {
                break;
            }
            let Some((i, (run, at))) = targets.next() else { break };
            given = i + 1;
            if run.error.is_some() {
                on_done(i, run);
                continue;
            }
            match cache.get(&run.material) {
                Err(e) => {
                    let e = match at {
                        Some(at) => format!("{at}: {e}"),
                        None => e,
                    };
                    on_done(i, with_error(run, e))
                }
                Ok(loaded) => {
                    let inputs = run.inputs_only();
                    let passwords = passwords.clone();
                    let handle = tasks.spawn(async move { (i, run_loaded(run, loaded, passwords).await) });
                    running.insert(handle.id(), (i, inputs));
                    in_flight.insert(i);
                }
            }
        }
        let Some(joined) = tasks.join_next_with_id().await else { break };
        let (i, run) = match joined {
            Ok((id, (i, run))) => {
                running.remove(&id);
                (i, run)
            }
            Err(e) => match running.remove(&e.id()) {
                Some((i, inputs)) => (i, with_error(inputs, format!("the probe task failed: {e}"))),
                None => continue,
            },
        };
        in_flight.remove(&i);
        on_done(i, run);
    }
    given
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{runtime, PasswordPrompt};
    use crate::session::{MaterialRefs, TargetKind};

    fn closed_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
    }

    #[test]
    fn targets_are_pulled_only_as_slots_free_and_every_one_is_reported_once() {
        let port = closed_port();
        let pulled = std::cell::Cell::new(0usize);
        let max_ahead = std::cell::Cell::new(0usize);
        let done = std::cell::Cell::new(0usize);
        let targets = (0..40).map(|i| {
            pulled.set(pulled.get() + 1);
            // Never more than jobs targets pulled and not reported (the iterator is lazy).
            max_ahead.set(max_ahead.get().max(pulled.get() - done.get()));
            let mut o = crate::probe::ProbeOptions::new("127.0.0.1", port);
            o.no_http = true;
            let mut run = crate::engine::probe_target(
                o,
                MaterialRefs { password: crate::session::PasswordRef::None, ..Default::default() },
            );
            run.name = format!("t{i}");
            (run, None)
        });
        let mut cache = MaterialCache::new(PasswordPrompt::Typed(None));
        let mut seen = Vec::new();
        let n = runtime().expect("runtime").block_on(run_sweep(
            targets,
            SweepOptions { jobs: 3, window: Some(4) },
            &mut cache,
            |i, run| {
                done.set(done.get() + 1);
                assert_eq!(run.kind, TargetKind::Probe);
                seen.push((i, run.name));
            },
        ));
        assert_eq!(n, 40);
        assert!(max_ahead.get() <= 4, "pulled ahead of what was reported: {}", max_ahead.get());
        seen.sort();
        let want: Vec<(usize, String)> = (0..40).map(|i| (i, format!("t{i}"))).collect();
        assert_eq!(seen, want);
        assert_eq!(cache.loads(), 1, "one set of material, loaded once");
    }
}
