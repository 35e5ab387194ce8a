//! Whether a certificate's signature verifies with a given public key: its issuer's, or its own
//! (`CertInfo::self_signed`). Every certificate signature check outside the openssl emulation
//! (`verify/signature.rs`, which also says when it cannot tell) comes here: the self-signed flag,
//! the issuer chains of revocation checks and caIssuers fetches, OCSP responder certificates.
//!
//! x509-parser's check runs on ring, whose P-384 arithmetic is generic code: for the system trust
//! store (about 140 roots here, a fifth of them P-384) it was 77% of a probe's loading time, 25 ms
//! of CPU, more than the whole of `openssl s_client`. rustls' aws-lc-rs algorithms answer first; a
//! pair of algorithms they do not cover (SHA-1, RSA keys under 2048 bits…) or a signature they do
//! not accept goes to x509-parser as before, so the answer is the one it gave.

use rustls::pki_types::SignatureVerificationAlgorithm;
use x509_parser::prelude::X509Certificate;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::der::{read_all, read_tlv, tag};

/// True when `cert` carries a signature made by `key` (its own key when `None`), as x509-parser's
/// `verify_signature` answers.
pub(crate) fn signed_by(cert: &X509Certificate<'_>, key: Option<&SubjectPublicKeyInfo<'_>>) -> bool {
    fast_check(cert, key.unwrap_or_else(|| cert.public_key())) || cert.verify_signature(key).is_ok()
}

/// aws-lc-rs' answer: true only when one of its algorithms covers the pair and accepts the signature.
fn fast_check(cert: &X509Certificate<'_>, spki: &SubjectPublicKeyInfo<'_>) -> bool {
    let Some(parts) = signed_parts(cert.as_raw()) else { return false };
    let Some((key_alg, _)) = read_tlv(spki.raw).and_then(|(outer, _)| read_tlv(outer.content)) else {
        return false;
    };
    let key = spki.subject_public_key.data.as_ref();
    algorithms().iter().any(|alg| {
        alg.signature_alg_id().as_ref() == parts.sig_alg
            && alg.public_key_alg_id().as_ref() == key_alg.content
            && alg.verify_signature(key, parts.tbs, parts.signature).is_ok()
    })
}

fn algorithms() -> &'static [&'static dyn SignatureVerificationAlgorithm] {
    rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms.all
}

/// The signed bytes, the contents of the outer signatureAlgorithm, and the signature.
struct SignedParts<'a> {
    tbs: &'a [u8],
    sig_alg: &'a [u8],
    signature: &'a [u8],
}

/// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }.
fn signed_parts(der: &[u8]) -> Option<SignedParts<'_>> {
    let (outer, _) = read_tlv(der)?;
    let [tbs, alg, sig] = read_all(outer.content)?[..] else { return None };
    if outer.tag != tag::SEQUENCE || tbs.tag != tag::SEQUENCE || alg.tag != tag::SEQUENCE || sig.tag != 0x03 {
        return None;
    }
    // A signature has no unused bits.
    let (&0, signature) = sig.content.split_first()? else { return None };
    Some(SignedParts { tbs: tbs.whole, sig_alg: alg.content, signature })
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::FromDer;

    /// Each answer of the fast check is x509-parser's own, for every kind of key rcgen makes, for
    /// a certificate signed by another key under the same name (with its own key and with the
    /// issuer's), and for a damaged signature.
    #[test]
    fn answers_as_x509_parser_does() {
        let algs: [&'static rcgen::SignatureAlgorithm; 5] = [
            &rcgen::PKCS_ECDSA_P256_SHA256,
            &rcgen::PKCS_ECDSA_P384_SHA384,
            &rcgen::PKCS_ED25519,
            &rcgen::PKCS_RSA_SHA256,
            &rcgen::PKCS_RSA_SHA384,
        ];
        for alg in algs {
            let key = rcgen::KeyPair::generate_for(alg).expect("key");
            let mut params = rcgen::CertificateParams::new(vec![]).expect("params");
            params.distinguished_name.push(rcgen::DnType::CommonName, "Same Name");
            let own = params.self_signed(&key).expect("self-signed").der().to_vec();
            let other_key = rcgen::KeyPair::generate_for(alg).expect("key");
            let issuer = rcgen::Issuer::from_params(&params, &other_key);
            let by_other = params.signed_by(&key, &issuer).expect("signed").der().to_vec();
            let mut damaged = own.clone();
            let last = damaged.len() - 1;
            damaged[last] ^= 0x01;
            for (der, want) in [(&own, true), (&by_other, false), (&damaged, false)] {
                let (_, cert) = X509Certificate::from_der(der).expect("parses");
                assert_eq!(cert.verify_signature(None).is_ok(), want, "{alg:?}: x509-parser");
                assert_eq!(signed_by(&cert, None), want, "{alg:?}");
                assert_eq!(fast_check(&cert, cert.public_key()), want, "{alg:?}: aws-lc covers what rcgen makes");
            }
            // With the issuer's key given: the other key made `by_other`, not `own`.
            let issuer_der = params.self_signed(&other_key).expect("issuer").der().to_vec();
            let (_, issuer_cert) = X509Certificate::from_der(&issuer_der).expect("parses");
            for (der, want) in [(&by_other, true), (&own, false)] {
                let (_, cert) = X509Certificate::from_der(der).expect("parses");
                let key = Some(issuer_cert.public_key());
                assert_eq!(cert.verify_signature(key).is_ok(), want, "{alg:?}: x509-parser, issuer's key");
                assert_eq!(signed_by(&cert, key), want, "{alg:?}: issuer's key");
            }
        }
    }

    /// The same answers for every certificate of this machine's trust store (the store the
    /// change was made for), whichever path each takes.
    #[test]
    fn the_system_store_is_judged_as_before() {
        let loaded = rustls_native_certs::load_native_certs();
        let mut fast = 0;
        for der in &loaded.certs {
            let Ok((_, cert)) = X509Certificate::from_der(der) else { continue };
            let before = cert.verify_signature(None).is_ok();
            assert_eq!(signed_by(&cert, None), before, "{}", cert.subject());
            fast += usize::from(fast_check(&cert, cert.public_key()));
        }
        // Debian's store, which CI installs, has about 140 roots; most are checked by aws-lc.
        if loaded.certs.len() > 50 {
            assert!(fast * 2 > loaded.certs.len(), "{fast} of {} on the fast path", loaded.certs.len());
        }
    }
}
