//! The OpenSSL engine's server-certificate check for the late-authentication re-run: it records
//! OpenSSL's own verdict and goes on, like `openssl s_client`. The server's chain was already
//! judged by the first (rustls) probe to the same address; this run only learns what a late
//! client certificate does.

use std::sync::{Arc, Mutex};

use openssl::ssl::{SslContextBuilder, SslVerifyMode};

/// OpenSSL's verdict on the server chain, recorded during the handshake.
#[derive(Debug, Clone, Default)]
pub struct RecordedVerdict(Arc<Mutex<Option<String>>>);

impl RecordedVerdict {
    /// `None` when every certificate passed, else OpenSSL's first complaint.
    pub fn problem(&self) -> Option<String> {
        self.0.lock().ok().and_then(|g| g.clone())
    }
}

/// Install a verify callback that keeps OpenSSL's first complaint and never aborts the handshake.
pub fn record_and_continue(ctx: &mut SslContextBuilder) -> RecordedVerdict {
    let verdict = RecordedVerdict::default();
    let slot = verdict.0.clone();
    ctx.set_verify_callback(SslVerifyMode::PEER, move |ok, store| {
        if !ok {
            if let Ok(mut g) = slot.lock() {
                if g.is_none() {
                    *g = Some(format!("{} (depth {})", store.error().error_string(), store.error_depth()));
                }
            }
        }
        true
    });
    verdict
}
