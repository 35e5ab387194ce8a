//! Names in `X509_NAME_cmp`'s canonical form, and the few DER reads the signature check needs.

use super::node::{CanonName, Spki};
use x509_parser::prelude::X509Name;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

/// A name in `X509_NAME_cmp`'s canonical form: string values in UTF-8, trimmed, inner whitespace
/// collapsed to one space, ASCII lowercased; other values as tag plus bytes.
pub(super) fn canon_name(name: &X509Name<'_>) -> CanonName {
    name.iter()
        .map(|rdn| {
            rdn.iter()
                .map(|atv| {
                    let value = atv.attr_value();
                    let tag = value.tag().0;
                    let oid = atv.attr_type().to_id_string();
                    match asn1_string_text(tag, value.data) {
                        Some(text) => (oid, 0u8, canon_text(&text).into_bytes()),
                        None => (oid, u8::try_from(tag).unwrap_or(u8::MAX), value.data.to_vec()),
                    }
                })
                .collect()
        })
        .collect()
}

fn canon_text(s: &str) -> String {
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r');
    let mut out = String::with_capacity(s.len());
    let mut in_space = false;
    for c in s.trim_matches(is_space).chars() {
        if is_space(c) {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            in_space = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The string types openssl canonicalizes, decoded to text.
pub(super) fn asn1_string_text(tag: u32, data: &[u8]) -> Option<String> {
    match tag {
        12 => std::str::from_utf8(data).ok().map(str::to_string),
        // PrintableString, T61String (treated as Latin-1, as openssl does), IA5String, VisibleString.
        19 | 20 | 22 | 26 => Some(data.iter().map(|&b| char::from(b)).collect()),
        30 => {
            if data.len() % 2 != 0 {
                return None;
            }
            let units: Vec<u16> = data.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16(&units).ok()
        }
        28 => {
            if data.len() % 4 != 0 {
                return None;
            }
            data.chunks_exact(4).map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))).collect()
        }
        _ => None,
    }
}

pub(super) fn spki_of(spki: &SubjectPublicKeyInfo<'_>) -> Option<Spki> {
    let outer = der_tlv(spki.raw)?;
    let alg = der_tlv(outer.body)?;
    if outer.tag != 0x30 || alg.tag != 0x30 {
        return None;
    }
    let rsa_bits = match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => Some(rsa.key_size()),
        _ => None,
    };
    Some(Spki {
        raw: spki.raw.to_vec(),
        alg_id: alg.body.to_vec(),
        key: spki.subject_public_key.data.to_vec(),
        alg_oid: spki.algorithm.algorithm.to_id_string(),
        rsa_bits,
    })
}

/// The parts of a certificate a signature check reads.
pub(super) struct CertParts<'a> {
    /// The whole TBSCertificate: the signed bytes.
    pub(super) tbs: &'a [u8],
    /// The whole outer signatureAlgorithm, and its contents.
    pub(super) sig_alg_whole: &'a [u8],
    pub(super) sig_alg_body: &'a [u8],
    pub(super) signature: &'a [u8],
}

/// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }.
pub(super) fn split_certificate(der: &[u8]) -> Option<CertParts<'_>> {
    let outer = der_tlv(der)?;
    if outer.tag != 0x30 {
        return None;
    }
    let tbs = der_tlv(outer.body)?;
    let alg = der_tlv(tbs.rest)?;
    let sig = der_tlv(alg.rest)?;
    if alg.tag != 0x30 || sig.tag != 0x03 {
        return None;
    }
    // The first byte of a BIT STRING is the count of unused bits; signatures have none.
    let (&unused, bits) = sig.body.split_first()?;
    if unused != 0 {
        return None;
    }
    Some(CertParts { tbs: tbs.whole, sig_alg_whole: alg.whole, sig_alg_body: alg.body, signature: bits })
}

/// The whole `signature` AlgorithmIdentifier inside a TBSCertificate.
pub(super) fn tbs_signature_algorithm(tbs: &[u8]) -> Option<&[u8]> {
    let first = der_tlv(der_tlv(tbs)?.body)?;
    // With an explicit version first, the serial number follows it and is skipped too.
    let rest = if first.tag == 0xa0 { der_tlv(first.rest)?.rest } else { first.rest };
    Some(der_tlv(rest)?.whole)
}

/// One DER element.
struct Tlv<'a> {
    tag: u8,
    body: &'a [u8],
    whole: &'a [u8],
    rest: &'a [u8],
}

/// Read one DER element (single-byte tags only; lengths up to four bytes, not necessarily minimal).
fn der_tlv(input: &[u8]) -> Option<Tlv<'_>> {
    let (tlv, rest) = crate::cert::der::read_tlv_lenient(input)?;
    Some(Tlv { tag: tlv.tag, body: tlv.content, whole: tlv.whole, rest })
}

pub(super) fn der_wrap(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = body.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().iter().copied().skip_while(|&b| b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_names_ignore_case_and_spacing() {
        assert_eq!(canon_text("  Contoso   Root\tCA "), "contoso root ca");
    }

    #[test]
    fn der_reader_refuses_truncated_input() {
        assert!(der_tlv(&[0x30, 0x05, 0x01]).is_none());
        assert!(der_tlv(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(der_tlv(&[]).is_none());
        assert_eq!(
            der_tlv(&[0x04, 0x01, 0xaa, 0x05]).map(|t| (t.tag, t.body.to_vec(), t.rest.to_vec())),
            Some((4, vec![0xaa], vec![5]))
        );
        let long = vec![0u8; 300];
        let wrapped = der_wrap(0x04, &long);
        assert_eq!(der_tlv(&wrapped).map(|t| t.body.len()), Some(300));
    }
}
