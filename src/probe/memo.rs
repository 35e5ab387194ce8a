//! Small pieces of a probe's run that its connections share: the server-chain verdict worked out
//! once per probe, and the test for a TLS 1.3 outcome that may hide the server's rejection alert.

use super::{HttpFailureKind, ProbeResult};
use crate::cert::Certificate;
use crate::verify::{Role, TrustStore, Verdict, VerifyOptions};

/// The server-chain verdicts of one probe's connections: the comparison (and any retry) meets the
/// same chain as the main run, and a verdict is a pure function of the chain, the trust and the
/// name, so it is worked out once (the second check was about 7% of a sweep's instructions).
#[derive(Default)]
pub(super) struct Verdicts(std::sync::Mutex<Vec<Seen>>);

/// A chain (its DER certificates, leaf first), the name it was checked for, and the verdict.
type Seen = (Vec<Vec<u8>>, Option<String>, Verdict);

impl Verdicts {
    pub(super) fn verify(&self, chain: &[Certificate], trust: &TrustStore, opts: &VerifyOptions) -> Verdict {
        let ders: Vec<Vec<u8>> = chain.iter().map(|c| c.der.clone()).collect();
        let seen =
            |memo: &Vec<Seen>| memo.iter().find(|(d, h, _)| *d == ders && *h == opts.host).map(|(_, _, v)| v.clone());
        if let Some(v) = self.0.lock().ok().and_then(|m| seen(&m)) {
            return v;
        }
        let verdict = crate::verify::verify_chain(chain, trust, Role::Server, opts);
        if let Ok(mut memo) = self.0.lock() {
            memo.push((ders, opts.host.clone(), verdict.clone()));
        }
        verdict
    }
}

/// A TLS 1.3 handshake with a CertificateRequest that looked complete, then no response and no
/// alert: the request may have drawn a reset that dropped the server's verdict.
pub(super) fn may_hide_alert(r: &ProbeResult) -> bool {
    r.handshake.ok
        && r.client_cert_requested
        && r.tls.version.as_deref() == Some("TLSv1.3")
        && r.http.is_none()
        && matches!(
            r.http_failure,
            Some(HttpFailureKind::ClosedBeforeResponse | HttpFailureKind::ResetAfterRequest | HttpFailureKind::Other)
        )
}
