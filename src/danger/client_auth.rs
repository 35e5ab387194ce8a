//! A client-certificate verifier that always asks, records webpki's verdict, and refuses only if strict.
//!
//! Unless strict, it lets the handshake finish so the verdict is reported, not enforced.
//!
//! API Management accepts whatever certificate a client sends on a negotiating hostname and leaves
//! the decision to policy; the lab gateway and the `listen` server behave the same way. Lab backends
//! that must really refuse (with an alert, as a strict server does) use a strict [`ClientAuthPolicy`].
//!
//! The verifier belongs to a `ServerConfig`, not to a connection, so the verdict reaches a connection
//! by the certificates it carries: each verdict is recorded under a digest of the presented chain, and
//! [`RecordingClientVerifier::verdict_for`] looks it up with `peer_certificates()` after the handshake.
//! A chain that was not judged during this handshake (a resumed session, or an entry pushed out of the
//! bounded record) is judged again on the spot, so a connection always gets a verdict for exactly the
//! chain it presented.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, UnixTime};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::error::{Error, Result};

/// How many recent verdicts are kept; concurrent handshakes beyond this are re-judged, not lost.
const RECORDED_VERDICTS: usize = 1024;
/// A recorded verdict is only reused this long: a certificate can expire between two handshakes.
const RECORD_FRESHNESS: Duration = Duration::from_secs(60);

/// What a server does with the client certificate it always asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientAuthPolicy {
    /// Refuse a handshake without a client certificate (rustls sends certificate_required in TLS 1.3,
    /// handshake_failure in TLS 1.2).
    pub mandatory: bool,
    /// Refuse a certificate that does not verify, with the alert rustls derives from the webpki error
    /// (unknown_ca, certificate_expired, bad_certificate, …). Otherwise every certificate is accepted
    /// and only judged.
    pub strict: bool,
}

impl ClientAuthPolicy {
    /// Ask, accept anything, judge afterwards (API Management's negotiating hostname).
    pub const JUDGE_ONLY: ClientAuthPolicy = ClientAuthPolicy { mandatory: false, strict: false };
    /// Require a certificate and refuse an untrusted one (a backend that enforces mutual TLS).
    pub const ENFORCE: ClientAuthPolicy = ClientAuthPolicy { mandatory: true, strict: true };
}

/// The verdict on the client certificate of one connection, as reports show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientVerdict {
    /// The presented chain leads to one of the configured CA certificates and is valid for client auth.
    pub ok: bool,
    /// Why not, in rustls' words (`invalid peer certificate: UnknownIssuer`), or that none was sent.
    pub error: Option<String>,
}

impl ClientVerdict {
    /// The message used when the client sent no certificate at all.
    pub const NO_CERTIFICATE: &'static str = "no client certificate was presented";

    pub fn trusted() -> Self {
        ClientVerdict { ok: true, error: None }
    }

    pub fn no_certificate() -> Self {
        ClientVerdict { ok: false, error: Some(Self::NO_CERTIFICATE.to_string()) }
    }

    /// Whether the client presented a certificate at all.
    pub fn certificate_presented(&self) -> bool {
        self.ok || self.error.as_deref() != Some(Self::NO_CERTIFICATE)
    }
}

/// Digest of a presented chain, leaf first: the key under which its verdict is recorded.
type ChainKey = [u8; 32];

fn chain_key<'a>(certs: impl IntoIterator<Item = &'a CertificateDer<'a>>) -> ChainKey {
    let mut hasher = sha2::Sha256::new();
    for cert in certs {
        // Length-prefixed so that two different splits of the same bytes cannot collide.
        hasher.update((cert.len() as u64).to_be_bytes());
        hasher.update(cert.as_ref());
    }
    hasher.finalize().into()
}

struct Recorded {
    key: ChainKey,
    at: Instant,
    verdict: std::result::Result<(), rustls::Error>,
}

/// Wraps `WebPkiClientVerifier` (or, with no CA certificates, a verifier that trusts nothing): always
/// offers client authentication, hints the CA names, records each verdict, and refuses only when the
/// policy says so. Handshake signatures are always really checked.
pub struct RecordingClientVerifier {
    /// `None` when no CA certificate was given: rustls refuses an empty root store, and every chain is
    /// then of an unknown issuer.
    webpki: Option<Arc<dyn ClientCertVerifier>>,
    hints: Vec<DistinguishedName>,
    /// The provider's signature algorithms: handshake signatures are always really checked (the
    /// webpki verifier, built from the same provider, would check them the same way).
    algorithms: WebPkiSupportedAlgorithms,
    policy: ClientAuthPolicy,
    recorded: Mutex<VecDeque<Recorded>>,
}

impl fmt::Debug for RecordingClientVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingClientVerifier")
            .field("has_anchors", &self.webpki.is_some())
            .field("hints", &self.hints.len())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl RecordingClientVerifier {
    /// A verifier trusting `ca` (roots or intermediates, each becomes a trust anchor); `ca` may be
    /// empty, in which case every certificate is judged untrusted. The error names the CA certificate
    /// (1-based) that cannot be a trust anchor.
    pub fn new(
        ca: &[CertificateDer<'static>],
        policy: ClientAuthPolicy,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self> {
        let algorithms = provider.signature_verification_algorithms;
        let webpki = if ca.is_empty() {
            None
        } else {
            let mut roots = RootCertStore::empty();
            for (i, cert) in ca.iter().enumerate() {
                roots.add(cert.clone()).map_err(|e| {
                    Error::input(
                        format!("client CA certificate #{}", i + 1),
                        format!("not usable as a trust anchor: {e}"),
                    )
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| Error::input("client CA certificates", format!("cannot build a verifier: {e}")))?;
            Some(verifier)
        };
        let hints = webpki.as_ref().map(|v| v.root_hint_subjects().to_vec()).unwrap_or_default();
        Ok(RecordingClientVerifier { webpki, hints, algorithms, policy, recorded: Mutex::new(VecDeque::new()) })
    }

    pub fn policy(&self) -> ClientAuthPolicy {
        self.policy
    }

    /// Whether any CA certificate was given; without one no chain can be trusted.
    pub fn has_anchors(&self) -> bool {
        self.webpki.is_some()
    }

    /// Judge a chain now, exactly as the handshake does (webpki, clientAuth usage, at `now`).
    pub fn judge(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> std::result::Result<(), rustls::Error> {
        match &self.webpki {
            Some(webpki) => webpki.verify_client_cert(end_entity, intermediates, now).map(|_| ()),
            None => {
                // Same order of checks as webpki: a certificate that does not parse is a bad
                // encoding before it is of an unknown issuer.
                webpki::EndEntityCert::try_from(end_entity)
                    .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
                Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer))
            }
        }
    }

    /// The typed verdict recorded for this chain during a handshake, if it is still held.
    pub fn recorded(&self, presented: &[CertificateDer<'_>]) -> Option<std::result::Result<(), rustls::Error>> {
        let key = chain_key(presented);
        let recorded = self.recorded.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        recorded.iter().rev().find(|r| r.key == key && r.at.elapsed() < RECORD_FRESHNESS).map(|r| r.verdict.clone())
    }

    /// The verdict for the chain a connection presented (`peer_certificates()`, leaf first): the one
    /// recorded during its handshake, or a fresh judgement when none is held (resumed session).
    pub fn verdict_for(&self, presented: &[CertificateDer<'_>]) -> ClientVerdict {
        let Some((end_entity, intermediates)) = presented.split_first() else {
            return ClientVerdict::no_certificate();
        };
        let verdict = match self.recorded(presented) {
            Some(verdict) => verdict,
            None => self.judge(end_entity, intermediates, UnixTime::now()),
        };
        match verdict {
            Ok(()) => ClientVerdict::trusted(),
            Err(e) if self.webpki.is_none() => ClientVerdict {
                ok: false,
                error: Some(format!("{e} (no CA certificates were given to judge against)")),
            },
            Err(e) => ClientVerdict { ok: false, error: Some(e.to_string()) },
        }
    }

    fn record(&self, key: ChainKey, verdict: std::result::Result<(), rustls::Error>) {
        let mut recorded = self.recorded.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(pos) = recorded.iter().position(|r| r.key == key) {
            recorded.remove(pos);
        }
        while recorded.len() >= RECORDED_VERDICTS {
            recorded.pop_front();
        }
        recorded.push_back(Recorded { key, at: Instant::now(), verdict });
    }
}

impl ClientCertVerifier for RecordingClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.policy.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> std::result::Result<ClientCertVerified, rustls::Error> {
        let verdict = self.judge(end_entity, intermediates, now);
        self.record(chain_key(std::iter::once(end_entity).chain(intermediates)), verdict.clone());
        match verdict {
            Err(e) if self.policy.strict => Err(e),
            _ => Ok(ClientCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::pki::{Issued, Spec};

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::aws_lc_rs::default_provider())
    }

    struct Fixture {
        root: Issued,
        issuing: Issued,
        good: Issued,
        rogue: Issued,
    }

    fn fixture() -> Fixture {
        let root = Issued::self_signed(&Spec::ca("Unit Client Root")).unwrap();
        let issuing = root.issue(&Spec::ca("Unit Client Issuing")).unwrap();
        let good = issuing.issue(&Spec::leaf("unit-good").client_only()).unwrap();
        let rogue_root = Issued::self_signed(&Spec::ca("Unit Rogue Root")).unwrap();
        let rogue = rogue_root.issue(&Spec::leaf("unit-rogue").client_only()).unwrap();
        Fixture { root, issuing, good, rogue }
    }

    #[test]
    fn hints_are_the_ca_subjects_and_auth_is_always_offered() {
        let f = fixture();
        let v = RecordingClientVerifier::new(&[f.root.cert_der()], ClientAuthPolicy::JUDGE_ONLY, provider()).unwrap();
        assert!(v.offer_client_auth());
        assert!(!v.client_auth_mandatory());
        let names: Vec<_> =
            v.root_hint_subjects().iter().map(|n| crate::cert::dotnet_name_from_der(n.as_ref()).unwrap()).collect();
        assert_eq!(names, vec!["CN=Unit Client Root, O=mtls-doctor lab".to_string()]);

        let v = RecordingClientVerifier::new(&[], ClientAuthPolicy::ENFORCE, provider()).unwrap();
        assert!(v.offer_client_auth() && v.client_auth_mandatory());
        assert!(v.root_hint_subjects().is_empty());
        assert!(!v.supported_verify_schemes().is_empty());
    }

    #[test]
    fn judge_only_accepts_an_untrusted_chain_and_records_why() {
        let f = fixture();
        let v = RecordingClientVerifier::new(&[f.root.cert_der()], ClientAuthPolicy::JUDGE_ONLY, provider()).unwrap();
        let good = [f.good.cert_der(), f.issuing.cert_der()];
        let rogue = [f.rogue.cert_der()];
        assert!(v.recorded(&rogue).is_none());

        assert!(v.verify_client_cert(&rogue[0], &[], UnixTime::now()).is_ok());
        assert_eq!(v.recorded(&rogue), Some(Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer))));
        let verdict = v.verdict_for(&rogue);
        assert!(!verdict.ok && verdict.certificate_presented());
        assert!(verdict.error.unwrap().contains("UnknownIssuer"));

        assert!(v.verify_client_cert(&good[0], &good[1..], UnixTime::now()).is_ok());
        assert_eq!(v.recorded(&good), Some(Ok(())));
        assert_eq!(v.verdict_for(&good), ClientVerdict::trusted());
        // Without the intermediate the same leaf does not chain: the key is the whole chain.
        assert!(v.recorded(&good[..1]).is_none());
        assert!(!v.verdict_for(&good[..1]).ok);

        assert_eq!(v.verdict_for(&[]), ClientVerdict::no_certificate());
        assert!(!ClientVerdict::no_certificate().certificate_presented());
    }

    #[test]
    fn strict_refuses_with_the_webpki_error() {
        let f = fixture();
        let v = RecordingClientVerifier::new(&[f.root.cert_der()], ClientAuthPolicy::ENFORCE, provider()).unwrap();
        let err = v.verify_client_cert(&f.rogue.cert_der(), &[], UnixTime::now()).unwrap_err();
        assert_eq!(err, rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer));
        assert!(v.verify_client_cert(&f.good.cert_der(), &[f.issuing.cert_der()], UnixTime::now()).is_ok());
    }

    #[test]
    fn without_a_ca_everything_is_untrusted_and_garbage_is_bad_encoding() {
        let f = fixture();
        let v = RecordingClientVerifier::new(&[], ClientAuthPolicy::JUDGE_ONLY, provider()).unwrap();
        assert!(!v.has_anchors());
        let good = [f.good.cert_der(), f.issuing.cert_der()];
        assert!(v.verify_client_cert(&good[0], &good[1..], UnixTime::now()).is_ok());
        let verdict = v.verdict_for(&good);
        assert!(!verdict.ok);
        assert!(verdict.error.unwrap().contains("no CA certificates were given"));
        let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        assert_eq!(
            v.judge(&garbage, &[], UnixTime::now()),
            Err(rustls::Error::InvalidCertificate(CertificateError::BadEncoding))
        );
    }

    #[test]
    fn a_ca_that_is_not_a_certificate_is_named_in_the_error() {
        let f = fixture();
        let err = RecordingClientVerifier::new(
            &[f.root.cert_der(), CertificateDer::from(b"not a certificate".to_vec())],
            ClientAuthPolicy::JUDGE_ONLY,
            provider(),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("client CA certificate #2: "), "{err}");
    }
}
