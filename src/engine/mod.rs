//! The one runner below the front ends: the only place a `TargetRun` becomes a finished run.
//! `cli`, `tui`, `demo` and `replay` hand it targets and show what comes back, so every view
//! shows the same facts.
//!
//! - `load`: material from disk, PFX passwords (asked once per file), the per-batch cache.
//! - `run`: one target: probe or inspect, client-chain verification, policy, diagnosis.
//! - `batch`: many targets at once: loading first, then a concurrency limit and a progress
//!   callback; and the tokio runtime the front ends block on.
//! - `sweep`: many targets pulled lazily, in memory proportional to the concurrency.
//! - `forward`: `--forward-cert`, the client certificate in a request header as a front end sends it.

mod batch;
pub mod forward;
mod load;
mod named_values;
mod run;
mod sweep;

pub use batch::{run_batch, run_prepared, runtime, runtime_for, Batch, RunOptions};
pub use load::{
    load, load_certs, load_trust, load_with, password_source, LoadFailure, Loaded, MaterialCache, PasswordPrompt,
    Passwords, Prepared,
};
pub use run::{
    client_verify, diagnose_run, evaluate_policy, inspect_context, run_inspect, run_inspect_target, run_loaded,
    run_probe_target, run_target, run_target_typed,
};
pub use sweep::{run_sweep, SweepOptions};

use crate::probe;
use crate::session::{MaterialRefs, TargetKind, TargetRun};

/// A target that could not run: `error` says why, and nothing observed before is kept. Every
/// front end records a load failure this way.
pub fn with_error(mut run: TargetRun, error: String) -> TargetRun {
    run.error = Some(error);
    run.probe = None;
    run.inspected = None;
    run.policy = None;
    run.client_verify = None;
    run.forwarded = None;
    run.findings.clear();
    run
}

/// The one "healthy" rule: the handshake completed, HTTP answered (unless `no_http`), the run
/// recorded no error and no finding is an error. `watch --until ok`, the watch view and the
/// exporter's `mtls_probe_success` all use it.
pub fn run_ok(run: &TargetRun) -> bool {
    let Some(p) = run.probe.as_ref() else { return false };
    let http_ok = p.http.is_some() || run.options.as_ref().is_some_and(|o| o.no_http);
    run.error.is_none() && p.handshake.ok && http_ok && !crate::diagnose::has_errors(&run.findings)
}

/// A label for a probe target.
pub fn probe_label(o: &probe::ProbeOptions) -> String {
    format!("{}:{} {}", o.host, o.port, o.role)
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
