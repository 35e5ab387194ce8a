//! Certificate signature checks remembered for the life of the process. Whether a public key
//! made a signature over a message is a pure function of the three byte strings and the
//! algorithm, so a sweep of many targets that present the same chain (one issuer signing each
//! server certificate) checks each signature once, not twice per target (webpki and the openssl
//! emulation each check it). The key is the exact bytes: nothing is assumed from a hash.
//!
//! Only the certificate chain checks go through here; the handshake's own signatures (over each
//! connection's transcript) are never the same twice and are not cached.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use rustls::pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};

/// At most this many results are kept; the table is emptied when it is full (a sweep meets few
/// distinct issuer signatures, so this is never reached by one).
const CAPACITY: usize = 256;

/// rustls' aws-lc-rs certificate signature algorithms, each answering from the table when it can.
pub(super) fn algorithms() -> &'static [&'static dyn SignatureVerificationAlgorithm] {
    static WRAPPED: LazyLock<Vec<Remembered>> = LazyLock::new(|| {
        rustls::crypto::aws_lc_rs::default_provider()
            .signature_verification_algorithms
            .all
            .iter()
            .enumerate()
            .map(|(index, &inner)| Remembered { index, inner })
            .collect()
    });
    static ALL: LazyLock<Vec<&'static dyn SignatureVerificationAlgorithm>> =
        LazyLock::new(|| WRAPPED.iter().map(|a| a as &'static dyn SignatureVerificationAlgorithm).collect());
    ALL.as_slice()
}

static RESULTS: LazyLock<Mutex<HashMap<Vec<u8>, bool>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// One algorithm of the provider, its answers remembered by (algorithm, key, message, signature).
#[derive(Debug)]
struct Remembered {
    index: usize,
    inner: &'static dyn SignatureVerificationAlgorithm,
}

impl Remembered {
    fn key(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(24 + public_key.len() + message.len() + signature.len());
        for part in [public_key, message] {
            k.extend_from_slice(&(part.len() as u64).to_be_bytes());
            k.extend_from_slice(part);
        }
        k.extend_from_slice(signature);
        k.extend_from_slice(&(self.index as u64).to_be_bytes());
        k
    }
}

impl SignatureVerificationAlgorithm for Remembered {
    fn verify_signature(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), InvalidSignature> {
        let key = self.key(public_key, message, signature);
        let known = RESULTS.lock().ok().and_then(|t| t.get(&key).copied());
        let valid = match known {
            Some(v) => v,
            None => {
                let v = self.inner.verify_signature(public_key, message, signature).is_ok();
                if let Ok(mut t) = RESULTS.lock() {
                    if t.len() >= CAPACITY {
                        t.clear();
                    }
                    t.insert(key, v);
                }
                v
            }
        };
        if valid {
            Ok(())
        } else {
            Err(InvalidSignature)
        }
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.inner.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.inner.signature_alg_id()
    }

    fn fips(&self) -> bool {
        self.inner.fips()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_and_issuer() -> (Vec<u8>, Vec<u8>) {
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut ca = rcgen::CertificateParams::new(vec![]).expect("params");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let issuer = rcgen::Issuer::from_params(&ca, &ca_key);
        let leaf_key = rcgen::KeyPair::generate().expect("key");
        let leaf = rcgen::CertificateParams::new(vec!["a.test".into()])
            .expect("params")
            .signed_by(&leaf_key, &issuer)
            .expect("leaf");
        (leaf.der().to_vec(), ca_key.public_key_raw().to_vec())
    }

    /// The remembered answer is the algorithm's own, for a good signature and for a bad one, and
    /// every algorithm keeps its own identifiers.
    #[test]
    fn remembered_answers_are_the_algorithms_answers() {
        let (leaf, issuer_key) = cert_and_issuer();
        let (_, cert) =
            <x509_parser::certificate::X509Certificate as x509_parser::prelude::FromDer<_>>::from_der(&leaf)
                .expect("parse");
        let tbs = cert.tbs_certificate.as_ref().to_vec();
        let sig = cert.signature_value.data.to_vec();
        let inner = rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms.all;
        assert_eq!(algorithms().len(), inner.len());
        for (a, b) in algorithms().iter().zip(inner) {
            assert_eq!(a.signature_alg_id(), b.signature_alg_id());
            assert_eq!(a.public_key_alg_id(), b.public_key_alg_id());
        }
        let mut bad = sig.clone();
        *bad.last_mut().expect("signature") ^= 1;
        for _ in 0..2 {
            for (a, b) in algorithms().iter().zip(inner) {
                for s in [&sig, &bad] {
                    assert_eq!(
                        a.verify_signature(&issuer_key, &tbs, s).is_ok(),
                        b.verify_signature(&issuer_key, &tbs, s).is_ok(),
                        "{:?}",
                        b
                    );
                }
            }
        }
        let good = algorithms().iter().filter(|a| a.verify_signature(&issuer_key, &tbs, &sig).is_ok()).count();
        assert_eq!(good, 1, "exactly one algorithm (ECDSA P-256 with SHA-256) accepts the signature");
        assert!(algorithms().iter().all(|a| a.verify_signature(&issuer_key, &tbs, &bad).is_err()));
    }
}
