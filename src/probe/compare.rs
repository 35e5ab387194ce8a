//! The comparison without the client certificate, run apart from the main run: it waits for the
//! main handshake's CertificateRequest, then runs in parallel with the rest of the main run (the
//! main run's signature, request and chain verdict) instead of sharing one task's polls with it.
//!
//! When it is the only probe of the process (one target), it runs on a thread of its own with a
//! current-thread runtime of its own, whose I/O and timers that thread polls itself. On the
//! caller's runtime it waited for whichever thread polls that runtime's I/O, and that thread was
//! the one busy with the main handshake's signature and chain checks: the comparison's connect
//! was seen to complete 1-2 ms after it had, which is most of what the comparison cost a single
//! probe. In a sweep the workers are busy with other probes anyway, and a thread per probe cost
//! about 15% of a sweep's rate here: there it is a task. If no thread (or runtime) can be made,
//! the caller compares after the main run, as before.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::memo::Verdicts;
use super::{settled_once, ProbeContext, ProbeOptions, ProbeResult};

/// How many probes with a comparison are running in this process.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Counts one running probe while it lives.
pub(super) struct Running(());

impl Running {
    pub(super) fn enter() -> Self {
        RUNNING.fetch_add(1, Ordering::SeqCst);
        Running(())
    }

    fn alone(&self) -> bool {
        RUNNING.load(Ordering::SeqCst) == 1
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The comparison, waiting for its signal or running; stopped if dropped unclaimed.
pub(super) enum Comparison {
    Task(AbortOnDrop),
    /// The thread's result (`None` also when its runtime could not be made), and what stops it
    /// when dropped (the thread then ends at its next poll).
    Thread {
        done: oneshot::Receiver<Option<ProbeResult>>,
        _stop: oneshot::Sender<()>,
    },
    /// No thread could be made: the caller compares after the main run.
    NotStarted,
}

/// A task handle that aborts the task when dropped.
pub(super) struct AbortOnDrop(Option<JoinHandle<Option<ProbeResult>>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            h.abort();
        }
    }
}

impl Comparison {
    /// Start the comparison, to run when `asked` fires (a CertificateRequest arrived); it ends at
    /// once, with nothing, when the sender is dropped without firing.
    pub(super) fn spawn(
        opts: &ProbeOptions,
        ctx: &ProbeContext,
        verdicts: Arc<Verdicts>,
        asked: oneshot::Receiver<()>,
        running: &Running,
    ) -> Self {
        let opts = opts.clone();
        // Without the identity: only the trust is needed (the store's parsed anchors are shared).
        let ctx = ProbeContext { identity: None, trust: ctx.trust.clone() };
        let run = async move {
            asked.await.ok()?;
            Some(Box::pin(settled_once(&opts, &ctx, None, None, &verdicts)).await)
        };
        if running.alone() {
            let (done_tx, done) = oneshot::channel();
            let (stop, stopped) = oneshot::channel::<()>();
            let started = std::thread::Builder::new().name("comparison".into()).spawn(move || {
                // Made before the signal arrives, while the main handshake waits for the server.
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                    let _ = done_tx.send(None);
                    return;
                };
                let r = rt.block_on(async move {
                    tokio::select! {
                        biased;
                        // Dropped (the probe was abandoned): stop here.
                        _ = stopped => None,
                        r = run => r,
                    }
                });
                let _ = done_tx.send(r);
                // Nothing of this runtime is waited for once its result is sent.
                rt.shutdown_background();
            });
            return match started {
                Ok(_) => Comparison::Thread { done, _stop: stop },
                Err(_) => Comparison::NotStarted,
            };
        }
        Comparison::Task(AbortOnDrop(Some(tokio::spawn(run))))
    }

    /// The comparison's result, or `None` if it never started (or it failed).
    pub(super) async fn result(self) -> Option<ProbeResult> {
        match self {
            Comparison::Task(mut task) => match task.0.take() {
                Some(handle) => handle.await.ok().flatten(),
                None => None,
            },
            Comparison::Thread { done, _stop } => done.await.ok().flatten(),
            Comparison::NotStarted => None,
        }
    }
}
