//! The comparison without the client certificate as a task of its own: it waits for the main
//! handshake's CertificateRequest, then runs on whichever runtime worker is free, so its handshake
//! and request go on in parallel with the rest of the main run (the main run's signature, request
//! and chain verdict) instead of sharing one task's polls with it.

use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::memo::Verdicts;
use super::{settled_once, ProbeContext, ProbeOptions, ProbeResult};

/// The comparison, waiting for its signal or running; aborted if dropped unclaimed.
pub(super) struct Comparison(Option<JoinHandle<Option<ProbeResult>>>);

impl Comparison {
    /// Spawn the comparison, to start when `asked` fires (a CertificateRequest arrived); it ends
    /// at once, with nothing, when the sender is dropped without firing.
    pub(super) fn spawn(
        opts: &ProbeOptions,
        ctx: &ProbeContext,
        verdicts: Arc<Verdicts>,
        asked: oneshot::Receiver<()>,
    ) -> Self {
        let opts = opts.clone();
        // Without the identity: only the trust is needed (the store's parsed anchors are shared).
        let ctx = ProbeContext { identity: None, trust: ctx.trust.clone() };
        Comparison(Some(tokio::spawn(async move {
            asked.await.ok()?;
            Some(Box::pin(settled_once(&opts, &ctx, None, None, &verdicts)).await)
        })))
    }

    /// The comparison's result, or `None` if it never started (or its task failed).
    pub(super) async fn result(mut self) -> Option<ProbeResult> {
        let handle = self.0.take()?;
        handle.await.ok().flatten()
    }
}

impl Drop for Comparison {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            handle.abort();
        }
    }
}
