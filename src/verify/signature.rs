//! Who signed what, as openssl decides it: authority key identifiers, algorithm families, and
//! the signature itself.

use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::SubjectPublicKeyInfo;

use super::node::{Akid, Node, Spki};
use super::verification_algorithms;

/// `X509_check_akid(issuer, akid)`: whatever identifiers the AKID carries must match the issuer.
pub(super) fn akid_matches(issuer: &Node, akid: Option<&Akid>) -> bool {
    let Some(akid) = akid else { return true };
    if let (Some(want), Some(have)) = (&akid.key_id, &issuer.ski) {
        if want != have {
            return false;
        }
    }
    if let Some(serial) = &akid.serial {
        if strip_leading_zeros(serial) != strip_leading_zeros(&issuer.serial) {
            return false;
        }
    }
    if let Some(name) = &akid.issuer {
        if name != &issuer.issuer {
            return false;
        }
    }
    true
}

fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[start..]
}

/// openssl's `check_sig_alg_match`: the subject's signature algorithm must be one the issuer's
/// key type can make (an RSA key may also sign RSA-PSS).
pub(super) fn sig_alg_matches(issuer_key: &Spki, sig_oid: &str) -> bool {
    const RSA: &str = "1.2.840.113549.1.1.1";
    const RSA_PSS: &str = "1.2.840.113549.1.1.10";
    let want = match sig_oid {
        "1.2.840.113549.1.1.2"
        | "1.2.840.113549.1.1.3"
        | "1.2.840.113549.1.1.4"
        | "1.2.840.113549.1.1.5"
        | "1.2.840.113549.1.1.11"
        | "1.2.840.113549.1.1.12"
        | "1.2.840.113549.1.1.13"
        | "1.2.840.113549.1.1.14"
        | "1.2.840.113549.1.1.15"
        | "1.2.840.113549.1.1.16"
        | "1.3.14.3.2.29" => RSA,
        RSA_PSS => return issuer_key.alg_oid == RSA_PSS || issuer_key.alg_oid == RSA,
        "1.2.840.10045.4.1"
        | "1.2.840.10045.4.3.1"
        | "1.2.840.10045.4.3.2"
        | "1.2.840.10045.4.3.3"
        | "1.2.840.10045.4.3.4" => "1.2.840.10045.2.1",
        "1.3.101.112" => "1.3.101.112",
        "1.3.101.113" => "1.3.101.113",
        "1.2.840.10040.4.3" | "2.16.840.1.101.3.4.3.1" | "2.16.840.1.101.3.4.3.2" => "1.2.840.10040.4.1",
        _ => return false,
    };
    issuer_key.alg_oid == want
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SigCheck {
    Valid,
    Invalid,
    /// Neither rustls' algorithms nor x509-parser's can check it: no claim either way.
    Unsupported,
}

/// Verify `subject`'s signature with `issuer_key`, as `X509_verify` would.
pub(super) fn check_signature(subject: &Node, issuer_key: &Spki) -> SigCheck {
    // X509_verify refuses a certificate whose two copies of the algorithm differ.
    if subject.tbs_sig_alg_raw != subject.outer_sig_alg_raw {
        return SigCheck::Invalid;
    }
    let mut known = false;
    for alg in verification_algorithms() {
        if alg.signature_alg_id().as_ref() == subject.sig_alg_id.as_slice()
            && alg.public_key_alg_id().as_ref() == issuer_key.alg_id.as_slice()
        {
            known = true;
            if alg.verify_signature(&issuer_key.key, &subject.tbs, &subject.signature).is_ok() {
                return SigCheck::Valid;
            }
        }
    }
    // rustls only takes RSA keys of 2048 bits and up; openssl takes smaller ones. Say nothing.
    if known && issuer_key.rsa_bits.is_some_and(|b| b < 2048) {
        return SigCheck::Unsupported;
    }
    if known {
        return SigCheck::Invalid;
    }
    let Ok((_, cert)) = X509Certificate::from_der(&subject.der) else { return SigCheck::Invalid };
    let Ok((_, spki)) = SubjectPublicKeyInfo::from_der(&issuer_key.raw) else { return SigCheck::Invalid };
    match cert.verify_signature(Some(&spki)) {
        Ok(()) => SigCheck::Valid,
        Err(x509_parser::error::X509Error::SignatureUnsupportedAlgorithm) => SigCheck::Unsupported,
        Err(_) => SigCheck::Invalid,
    }
}
