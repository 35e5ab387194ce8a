//! The comparison without the client certificate, run apart from the main run: it waits for the
//! main handshake's CertificateRequest, then runs in parallel with the rest of the main run (the
//! main run's signature, request and chain verdict) instead of sharing one task's polls with it.
//!
//! When it is the only probe of the process (one target) on a multi-thread runtime, it runs on a
//! thread of its own that blocks until the signal (driving the comparison with the runtime's I/O
//! and timers through [`Handle::block_on`]): the signal wakes that thread at once. A task woken
//! from a worker waits in that worker's next-task slot until the running task yields, which for
//! the main handshake is after it has signed and written its flight. In a sweep the workers are
//! busy with other probes anyway, and a thread per probe cost about 15% of a sweep's rate here:
//! there, and on a current-thread runtime, it is a task. If no thread can be made, the caller
//! compares after the main run, as before.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::runtime::{Handle, RuntimeFlavor};
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
    /// The thread's result, and what stops it when dropped (the thread then ends at its next poll).
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
        let handle = Handle::current();
        if running.alone() && handle.runtime_flavor() == RuntimeFlavor::MultiThread {
            let (done_tx, done) = oneshot::channel();
            let (stop, stopped) = oneshot::channel::<()>();
            let started = std::thread::Builder::new().name("comparison".into()).spawn(move || {
                let r = handle.block_on(async move {
                    tokio::select! {
                        biased;
                        // Dropped (the probe was abandoned): stop here.
                        _ = stopped => None,
                        r = run => r,
                    }
                });
                let _ = done_tx.send(r);
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
