//! Private keys rustls can sign with: algorithm and size read from the key, which certificate it
//! belongs to, the signature schemes it can make, and what a refused key claims to be.

use std::fmt;
use std::sync::Arc;

use rustls::sign::SigningKey;
use rustls::SignatureScheme;
use rustls_pki_types::PrivateKeyDer;
use x509_parser::der_parser::asn1_rs::{Any, Tag};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::der::sequence_items;
use super::KeyFormat;
use crate::cert::Certificate;
use crate::error::{Error, Result};

/// A private key that rustls can sign with. Debug shows the algorithm, never the key.
pub struct PrivateKey {
    der: PrivateKeyDer<'static>,
    signer: Arc<dyn SigningKey>,
    /// The matching public key as a DER SubjectPublicKeyInfo (public data).
    spki: Vec<u8>,
    algorithm: String,
    bits: Option<u32>,
}

impl PrivateKey {
    /// Accept a key only if rustls (aws-lc-rs) can sign with it; otherwise explain why not.
    pub fn from_der(der: PrivateKeyDer<'static>, origin: &str) -> Result<Self> {
        let signer = match rustls::crypto::aws_lc_rs::sign::any_supported_type(&der) {
            Ok(signer) => signer,
            Err(_) => return Err(unusable_key(&der, origin)),
        };
        let spki = signer
            .public_key()
            .map(|spki| spki.as_ref().to_vec())
            .ok_or_else(|| Error::input(origin, "cannot derive the public key of the private key"))?;
        let (algorithm, bits) = spki_algorithm(&spki);
        Ok(PrivateKey { der, signer, spki, algorithm, bits })
    }

    /// `RSA`, `EC P-256`, `EC P-384`, `EC P-521`, `Ed25519`, `ML-DSA-65`, ….
    pub fn algorithm(&self) -> &str {
        &self.algorithm
    }

    /// Modulus size for RSA, field size for EC, 256 for Ed25519.
    pub fn bits(&self) -> Option<u32> {
        self.bits
    }

    pub fn format(&self) -> KeyFormat {
        match &self.der {
            PrivateKeyDer::Pkcs1(_) => KeyFormat::Pkcs1Rsa,
            PrivateKeyDer::Sec1(_) => KeyFormat::Sec1Ec,
            _ => KeyFormat::Pkcs8,
        }
    }

    pub fn der(&self) -> &PrivateKeyDer<'static> {
        &self.der
    }

    /// The rustls signer made when the key was loaded (shared, not re-parsed).
    pub fn signer(&self) -> Arc<dyn SigningKey> {
        Arc::clone(&self.signer)
    }

    /// An explicit copy: like rustls' `PrivateKeyDer`, a key is not `Clone` so that duplicating a
    /// secret is always visible in the code.
    pub fn clone_key(&self) -> PrivateKey {
        PrivateKey {
            der: self.der.clone_key(),
            signer: Arc::clone(&self.signer),
            spki: self.spki.clone(),
            algorithm: self.algorithm.clone(),
            bits: self.bits,
        }
    }

    /// The public half as DER SubjectPublicKeyInfo.
    pub fn public_key_spki(&self) -> &[u8] {
        &self.spki
    }

    /// The rustls signer for this key (for building a `CertifiedKey`).
    pub fn signing_key(&self) -> Arc<dyn SigningKey> {
        Arc::clone(&self.signer)
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("algorithm", &self.algorithm)
            .field("bits", &self.bits)
            .field("format", &self.format())
            .finish_non_exhaustive()
    }
}

/// Whether `key` is the private half of `cert`'s public key.
pub fn key_matches_cert(key: &PrivateKey, cert: &Certificate) -> bool {
    let Ok((_, parsed)) = X509Certificate::from_der(&cert.der) else {
        return false;
    };
    let Ok((_, own)) = SubjectPublicKeyInfo::from_der(&key.spki) else {
        return false;
    };
    // The key bits alone identify the key; comparing whole SPKIs would wrongly fail on encoding
    // variants (absent vs NULL RSA parameters, an RSA-PSS algorithm identifier).
    let theirs = &parsed.public_key().subject_public_key;
    theirs.data.as_ref() == own.subject_public_key.data.as_ref()
        && theirs.unused_bits == own.subject_public_key.unused_bits
}

/// Every TLS 1.2/1.3 signature scheme rustls would use this key for.
pub fn signature_schemes(key: &PrivateKey) -> Vec<SignatureScheme> {
    ALL_SCHEMES.iter().copied().filter(|scheme| key.signer.choose_scheme(&[*scheme]).is_some()).collect()
}

pub(super) const ALL_SCHEMES: [SignatureScheme; 16] = [
    SignatureScheme::ECDSA_NISTP256_SHA256,
    SignatureScheme::ECDSA_NISTP384_SHA384,
    SignatureScheme::ECDSA_NISTP521_SHA512,
    SignatureScheme::ED25519,
    SignatureScheme::ED448,
    SignatureScheme::RSA_PSS_SHA256,
    SignatureScheme::RSA_PSS_SHA384,
    SignatureScheme::RSA_PSS_SHA512,
    SignatureScheme::RSA_PKCS1_SHA256,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA512,
    SignatureScheme::RSA_PKCS1_SHA1,
    SignatureScheme::ECDSA_SHA1_Legacy,
    SignatureScheme::ML_DSA_44,
    SignatureScheme::ML_DSA_65,
    SignatureScheme::ML_DSA_87,
];

pub(super) const RSA_OID: &str = "1.2.840.113549.1.1.1";
pub(super) const EC_OID: &str = "1.2.840.10045.2.1";

pub(super) fn algorithm_name(oid: &str, curve: Option<&str>) -> String {
    match oid {
        RSA_OID => "RSA".into(),
        "1.2.840.113549.1.1.10" => "RSA-PSS".into(),
        EC_OID => match curve {
            Some(curve) => format!("EC {}", curve_name(curve)),
            None => "EC".into(),
        },
        "1.3.101.112" => "Ed25519".into(),
        "1.3.101.113" => "Ed448".into(),
        "1.3.101.110" => "X25519".into(),
        "1.3.101.111" => "X448".into(),
        "1.2.840.10040.4.1" => "DSA".into(),
        "1.2.840.113549.1.3.1" | "1.2.840.10046.2.1" => "DH".into(),
        "2.16.840.1.101.3.4.3.17" => "ML-DSA-44".into(),
        "2.16.840.1.101.3.4.3.18" => "ML-DSA-65".into(),
        "2.16.840.1.101.3.4.3.19" => "ML-DSA-87".into(),
        other => format!("OID {other}"),
    }
}

pub(super) fn curve_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.3.1.7" => "P-256".into(),
        "1.3.132.0.34" => "P-384".into(),
        "1.3.132.0.35" => "P-521".into(),
        "1.3.132.0.10" => "secp256k1".into(),
        "1.2.840.10045.3.1.1" => "P-192".into(),
        "1.3.132.0.33" => "P-224".into(),
        "1.3.36.3.3.2.8.1.1.7" => "brainpoolP256r1".into(),
        "1.3.36.3.3.2.8.1.1.11" => "brainpoolP384r1".into(),
        "1.3.36.3.3.2.8.1.1.13" => "brainpoolP512r1".into(),
        "1.2.156.10197.1.301" => "SM2".into(),
        other => other.into(),
    }
}

pub(super) fn spki_algorithm(spki: &[u8]) -> (String, Option<u32>) {
    let Ok((_, parsed)) = SubjectPublicKeyInfo::from_der(spki) else {
        return ("unknown".into(), None);
    };
    let oid = parsed.algorithm.algorithm.to_id_string();
    let curve = parsed.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()).map(|o| o.to_id_string());
    let name = algorithm_name(&oid, curve.as_deref());
    let bits = match parsed.parsed() {
        Ok(PublicKey::RSA(rsa)) => u32::try_from(rsa.key_size()).ok(),
        _ => match name.as_str() {
            "EC P-256" | "Ed25519" => Some(256),
            "EC P-384" => Some(384),
            "EC P-521" => Some(521),
            _ => None,
        },
    };
    (name, bits)
}

/// What a key that rustls refused claims to be, read from its structure: (name, RSA modulus bits).
pub(super) fn declared_key_algorithm(der: &PrivateKeyDer<'_>) -> Option<(String, Option<u32>)> {
    match der {
        PrivateKeyDer::Pkcs1(k) => Some(("RSA".into(), rsa_modulus_bits(k.secret_pkcs1_der()))),
        PrivateKeyDer::Sec1(k) => {
            let items = sequence_items(k.secret_sec1_der())?;
            let curve = items
                .iter()
                .find(|i| i.header.is_contextspecific() && i.tag() == Tag(0))
                .and_then(|params| Any::from_der(params.data).ok())
                .and_then(|(_, oid)| oid.as_oid().ok().map(|o| o.to_id_string()));
            Some((algorithm_name(EC_OID, curve.as_deref()), None))
        }
        PrivateKeyDer::Pkcs8(k) => {
            let items = sequence_items(k.secret_pkcs8_der())?;
            let alg = items.get(1)?;
            if alg.tag() != Tag::Sequence {
                return None;
            }
            let (rest, oid) = Any::from_der(alg.data).ok()?;
            let oid = oid.as_oid().ok()?.to_id_string();
            let param = Any::from_der(rest).ok().and_then(|(_, p)| p.as_oid().ok().map(|o| o.to_id_string()));
            let bits = if oid == RSA_OID { items.get(2).and_then(|inner| rsa_modulus_bits(inner.data)) } else { None };
            Some((algorithm_name(&oid, param.as_deref()), bits))
        }
        _ => None,
    }
}

pub(super) fn rsa_modulus_bits(pkcs1: &[u8]) -> Option<u32> {
    let items = sequence_items(pkcs1)?;
    let modulus = items.get(1).filter(|m| m.tag() == Tag::Integer)?.data;
    let significant: &[u8] = match modulus.iter().position(|&b| b != 0) {
        Some(start) => &modulus[start..],
        None => return Some(0),
    };
    let len = u32::try_from(significant.len()).ok()?;
    Some(len * 8 - significant[0].leading_zeros())
}

pub(super) fn unsupported_key_type(origin: &str, algorithm: &str) -> Error {
    Error::input(
        origin,
        format!(
            "unsupported private key type: {algorithm} (TLS client certificates here need RSA 2048-8192, \
             EC P-256/P-384/P-521 or Ed25519 keys)"
        ),
    )
}

pub(super) fn unusable_key(der: &PrivateKeyDer<'_>, origin: &str) -> Error {
    match declared_key_algorithm(der) {
        Some((name, Some(bits))) if name == "RSA" && !(2048..=8192).contains(&bits) => Error::input(
            origin,
            format!("RSA private key of {bits} bits cannot be used: rustls accepts RSA keys of 2048 to 8192 bits"),
        ),
        Some((name, _)) if matches!(name.as_str(), "RSA" | "EC P-256" | "EC P-384" | "EC P-521" | "Ed25519") => {
            Error::input(origin, format!("the {name} private key is damaged or invalid"))
        }
        Some((name, _)) => unsupported_key_type(origin, &name),
        None => Error::input(origin, "the private key is damaged or not a private key"),
    }
}
