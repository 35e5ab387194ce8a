//! DER files: what a structure is (certificate, key, PKCS#12, CSR) from its top-level fields, and
//! whether it is complete, before it is decoded.

use rustls_pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};
use x509_parser::der_parser::asn1_rs::{Any, Tag};
use x509_parser::prelude::{FromDer, X509CertificationRequest};

use super::key::{unsupported_key_type, PrivateKey};
use super::password::PasswordSource;
use super::pem::{encrypted_key, numbered};
use super::pfx::load_pkcs12;
use super::{shell_quote, Encoding, Material};
use crate::cert::Certificate;
use crate::error::{Error, Result};

/// What a DER structure looks like from its top-level fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DerShape {
    Certificate,
    Pkcs12 { has_mac: bool },
    Pkcs8Key,
    EncryptedPkcs8Key,
    Pkcs1RsaKey,
    Sec1EcKey,
    DsaKey,
    PublicKey,
    Pkcs7,
    Unknown,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum DerLength {
    Complete(usize),
    Truncated { declared: usize, present: usize },
    Indefinite,
    Malformed,
}

/// The total size the outer TLV declares, checked against what is present.
pub(super) fn der_length(der: &[u8]) -> DerLength {
    let present = der.len();
    let Some(&first) = der.get(1) else {
        return DerLength::Truncated { declared: 2, present };
    };
    let (header, content) = match first {
        0x00..=0x7F => (2, usize::from(first)),
        0x80 => return DerLength::Indefinite,
        0x81..=0x84 => {
            let n = usize::from(first & 0x7F);
            let Some(len_bytes) = der.get(2..2 + n) else {
                return DerLength::Truncated { declared: 2 + n, present };
            };
            (2 + n, len_bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b)))
        }
        _ => return DerLength::Malformed,
    };
    match header.checked_add(content) {
        Some(total) if total <= present => DerLength::Complete(total),
        Some(total) => DerLength::Truncated { declared: total, present },
        None => DerLength::Malformed,
    }
}

pub(super) fn check_complete(der: &[u8], origin: &str, what: &str) -> Result<()> {
    match der_length(der) {
        DerLength::Truncated { declared, present } => Err(truncated(origin, what, declared, present)),
        _ => Ok(()),
    }
}

pub(super) fn truncated(origin: &str, what: &str, declared: usize, present: usize) -> Error {
    Error::input(origin, format!("truncated: {what} is cut short ({present} of {declared} bytes present)"))
}

pub(super) fn sequence_items(der: &[u8]) -> Option<Vec<Any<'_>>> {
    let (_, outer) = Any::from_der(der).ok()?;
    if outer.tag() != Tag::Sequence {
        return None;
    }
    let mut items = Vec::new();
    let mut rest = outer.data;
    while !rest.is_empty() {
        let (next, item) = Any::from_der(rest).ok()?;
        items.push(item);
        rest = next;
    }
    Some(items)
}

pub(super) fn is_small_int(item: &Any, value: u8) -> bool {
    item.tag() == Tag::Integer && item.data == [value]
}

pub(super) fn classify(der: &[u8]) -> DerShape {
    let Some(items) = sequence_items(der) else {
        return DerShape::Unknown;
    };
    let tags: Vec<Tag> = items.iter().map(|i| i.tag()).collect();
    match (items.as_slice(), tags.as_slice()) {
        (_, [Tag::Sequence, Tag::Sequence, Tag::BitString]) => DerShape::Certificate,
        ([version, _, rest @ ..], [Tag::Integer, Tag::Sequence, ..]) if is_small_int(version, 3) && rest.len() <= 1 => {
            DerShape::Pkcs12 { has_mac: rest.len() == 1 }
        }
        ([oid, _], [Tag::Oid, _]) if oid.as_oid().is_ok_and(|o| o.to_id_string() == "1.2.840.113549.1.7.2") => {
            DerShape::Pkcs7
        }
        ([version, ..], [Tag::Integer, Tag::Sequence, Tag::OctetString, ..])
            if is_small_int(version, 0) || is_small_int(version, 1) =>
        {
            DerShape::Pkcs8Key
        }
        (_, [Tag::Sequence, Tag::OctetString]) => DerShape::EncryptedPkcs8Key,
        (_, [Tag::Sequence, Tag::BitString]) => DerShape::PublicKey,
        ([version, ..], [Tag::Integer, Tag::OctetString, ..]) if is_small_int(version, 1) => DerShape::Sec1EcKey,
        ([version, ..], tags) if is_small_int(version, 0) && tags.iter().all(|t| *t == Tag::Integer) => {
            match tags.len() {
                9 => DerShape::Pkcs1RsaKey,
                6 => DerShape::DsaKey,
                _ => DerShape::Unknown,
            }
        }
        _ => DerShape::Unknown,
    }
}

pub(super) fn load_der(bytes: &[u8], origin: &str, password: &PasswordSource) -> Result<Material> {
    let total = match der_length(bytes) {
        DerLength::Complete(total) => total,
        DerLength::Truncated { declared, present } => return Err(truncated(origin, "the file", declared, present)),
        DerLength::Indefinite => {
            return Err(Error::input(
                origin,
                "uses BER indefinite-length encoding, which mtls-doctor cannot read (re-export it with openssl)",
            ))
        }
        DerLength::Malformed => {
            return Err(Error::input(origin, "is not a certificate, private key or PKCS#12 file (malformed DER)"))
        }
    };
    let (first, rest) = bytes.split_at(total);
    if !rest.iter().all(|b| b.is_ascii_whitespace() || *b == 0) {
        if rest.first() == Some(&0x30) {
            return load_der_certificates(bytes, origin);
        }
        return Err(Error::input(
            origin,
            format!("{} unexpected bytes after the DER structure (the file is damaged)", rest.len()),
        ));
    }

    let quoted = shell_quote(origin);
    let material = |certs, keys, encoding| Ok(Material { origin: origin.to_string(), certs, keys, encoding });
    match classify(first) {
        DerShape::Certificate => match Certificate::from_der(first.to_vec(), origin) {
            Ok(cert) => material(vec![cert], vec![], Encoding::Der),
            Err(_) if X509CertificationRequest::from_der(first).is_ok() => Err(Error::input(
                origin,
                "is a certificate signing request (CSR), not a certificate: the certificate is what the CA issues for it",
            )),
            Err(e) => Err(e),
        },
        DerShape::Pkcs12 { has_mac } => load_pkcs12(first, origin, has_mac, password),
        DerShape::Pkcs8Key => {
            let key = PrivateKey::from_der(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(first.to_vec())), origin)?;
            material(vec![], vec![key], Encoding::Der)
        }
        DerShape::Pkcs1RsaKey => {
            let key = PrivateKey::from_der(PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(first.to_vec())), origin)?;
            material(vec![], vec![key], Encoding::Der)
        }
        DerShape::Sec1EcKey => {
            let key = PrivateKey::from_der(PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(first.to_vec())), origin)?;
            material(vec![], vec![key], Encoding::Der)
        }
        DerShape::EncryptedPkcs8Key => Err(encrypted_key(origin, "DER EncryptedPrivateKeyInfo", true)),
        DerShape::DsaKey => Err(unsupported_key_type(origin, "DSA")),
        DerShape::PublicKey => {
            Err(Error::input(origin, "holds only a public key: a certificate (or a private key) is needed"))
        }
        DerShape::Pkcs7 => Err(Error::input(
            origin,
            format!(
                "is a PKCS#7 bundle (.p7b), which mtls-doctor does not read: convert it with \
                 `openssl pkcs7 -inform DER -print_certs -in {quoted} -out certs.pem`"
            ),
        )),
        DerShape::Unknown => Err(Error::input(
            origin,
            "is DER but not a certificate, private key or PKCS#12 file (unrecognised structure)",
        )),
    }
}

/// Several DER certificates written back to back (`cat a.cer b.cer > chain.cer`).
pub(super) fn load_der_certificates(bytes: &[u8], origin: &str) -> Result<Material> {
    let mut certs = Vec::new();
    let mut rest = bytes;
    while !rest.iter().all(|b| b.is_ascii_whitespace() || *b == 0) {
        let n = certs.len() + 1;
        let total = match der_length(rest) {
            DerLength::Complete(total) => total,
            DerLength::Truncated { declared, present } => {
                return Err(truncated(origin, &format!("DER structure {n}"), declared, present))
            }
            _ => return Err(Error::input(origin, format!("DER structure {n} is malformed"))),
        };
        let (one, next) = rest.split_at(total);
        if classify(one) != DerShape::Certificate {
            return Err(Error::input(
                origin,
                format!("holds several DER structures and number {n} is not a certificate"),
            ));
        }
        certs.push(Certificate::from_der(one.to_vec(), origin).map_err(|e| numbered(e, "certificate", n))?);
        rest = next;
    }
    Ok(Material { origin: origin.to_string(), certs, keys: vec![], encoding: Encoding::Der })
}
