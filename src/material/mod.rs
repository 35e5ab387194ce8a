//! Loading certificate and key material from PEM, DER and PKCS#12 files, recognised by content.
//!
//! People bring whatever their platform exported: a `.pfx` from Windows or Key Vault, a `.cer` that is
//! really PEM, a `.pem` that is really DER, an `RSA PRIVATE KEY` from an old OpenSSL, a key that is
//! still encrypted. The extension is never trusted; every refusal names the file and says what to do.
//!
//! Secrets stay out of sight: [`Password`] and [`PrivateKey`] print as redacted, no error message
//! quotes file content, and buffers that may hold a key are zeroed when dropped.

mod der;
mod encrypted;
pub mod forward;
mod key;
mod key_report;
mod password;
mod pem;
mod pfx;
pub mod pfx_cost;

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use self::der::load_der;
use self::pem::load_pem;
use crate::cert::Certificate;
use crate::error::{Error, Result};

pub use self::key::{key_matches_cert, signature_schemes, PrivateKey};
pub use self::key_report::KeyReport;
pub use self::password::{Password, PasswordSource};

/// How the file was encoded. Bare base64 of a DER or PKCS#12 file (what `az keyvault secret show`
/// prints) is reported as the encoding it decodes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Pem,
    Der,
    Pkcs12,
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoding::Pem => "PEM",
            Encoding::Der => "DER",
            Encoding::Pkcs12 => "PKCS#12",
        })
    }
}

/// The encoding of a private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyFormat {
    /// `PRIVATE KEY`: any algorithm (what PKCS#12 files and modern OpenSSL hold).
    Pkcs8,
    /// `RSA PRIVATE KEY`: OpenSSL's traditional RSA form.
    Pkcs1Rsa,
    /// `EC PRIVATE KEY`: OpenSSL's traditional EC form.
    Sec1Ec,
}

impl fmt::Display for KeyFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyFormat::Pkcs8 => "PKCS#8",
            KeyFormat::Pkcs1Rsa => "PKCS#1 (RSA)",
            KeyFormat::Sec1Ec => "SEC1 (EC)",
        })
    }
}

/// Everything one file held.
#[derive(Debug)]
pub struct Material {
    /// The path as given.
    pub origin: String,
    /// In file order; for PKCS#12, each key's chain leaf first, then the other certificates.
    pub certs: Vec<Certificate>,
    pub keys: Vec<PrivateKey>,
    pub encoding: Encoding,
}

/// A certificate chain with the private key of its leaf: what a TLS client presents.
#[derive(Debug)]
pub struct Identity {
    /// Leaf first, then its issuers as far as the files had them, then any other certificates.
    pub chain: Vec<Certificate>,
    pub key: PrivateKey,
    /// The certificate file, or `cert + key` when the key came from its own file.
    pub origin: String,
}

/// Load one file, recognising PEM, DER certificate or key, and PKCS#12 by content. The password
/// source is consulted only for a PKCS#12 file whose password is not empty.
pub fn load_file(path: &Path, password: &PasswordSource) -> Result<Material> {
    let origin = path.display().to_string();
    let bytes = read_material(path, &origin)?;
    load_bytes(&bytes, &origin, password)
}

/// Load several files, stopping at the first one that cannot be used.
pub fn load_many<P: AsRef<Path>>(paths: &[P], password: &PasswordSource) -> Result<Vec<Material>> {
    paths.iter().map(|p| load_file(p.as_ref(), password)).collect()
}

/// Like [`load_file`] for bytes already in memory (pasted text, a session); `origin` names them.
pub fn load_bytes(bytes: &[u8], origin: &str, password: &PasswordSource) -> Result<Material> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::input(origin, "file is empty"));
    }
    if bytes.starts_with(&[0xFE, 0xED, 0xFE, 0xED]) {
        return Err(Error::input(
            origin,
            format!(
                "is a Java KeyStore (JKS), which mtls-doctor does not read: convert it with \
                 `keytool -importkeystore -srckeystore {0} -destkeystore {0}.p12 -deststoretype PKCS12`",
                shell_quote(origin)
            ),
        ));
    }
    if let Some(text) = decode_text(bytes) {
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        if text.contains("-----BEGIN ") {
            return load_pem(text, origin, password);
        }
        if let Some(der) = bare_base64(text) {
            return load_der(&der, origin, password);
        }
        return Err(Error::input(
            origin,
            "is text without any -----BEGIN block: not a certificate, private key or PKCS#12 file",
        ));
    }
    if bytes.first() == Some(&0x30) {
        return load_der(bytes, origin, password);
    }
    Err(Error::input(origin, "is not a certificate, private key or PKCS#12 file (unrecognised binary content)"))
}

/// Pair a certificate with its private key. `key` is the key file when the key is not in the
/// certificate file (a PEM pair); a key given this way replaces any key in the certificate file.
/// The leaf is the certificate whose public key matches the key; when several match (a renewal
/// that kept the key) a non-CA certificate with the latest expiry wins.
pub fn load_identity(cert: &Path, key: Option<&Path>, password: &PasswordSource) -> Result<Identity> {
    let cert_material = load_file(cert, password)?;
    let key_material = match key {
        Some(key_path) => Some(load_file(key_path, password)?),
        None => None,
    };
    identity_from(cert_material, key_material)
}

/// [`load_identity`] from files already read: the certificate file's material and the key file's,
/// when the key has its own file (each file is read and each key parsed once).
pub fn identity_from(cert_material: Material, key_material: Option<Material>) -> Result<Identity> {
    let cert_origin = cert_material.origin;
    let mut certs = cert_material.certs;
    let mut keys = cert_material.keys;
    let mut origin = cert_origin.clone();
    let mut key_origin = None;
    if let Some(key_material) = key_material {
        if key_material.keys.is_empty() {
            return Err(Error::input(
                &key_material.origin,
                "has no private key (the key file must hold the private key of the client certificate)",
            ));
        }
        keys = key_material.keys;
        for extra in key_material.certs {
            if !certs.iter().any(|c| c.der == extra.der) {
                certs.push(extra);
            }
        }
        origin = format!("{cert_origin} + {}", key_material.origin);
        key_origin = Some(key_material.origin);
    }
    if certs.is_empty() {
        return Err(Error::input(&cert_origin, "has no certificate (a client identity needs one)"));
    }
    if keys.is_empty() {
        return Err(Error::input(
            &cert_origin,
            "has no private key (a client certificate needs one: export the .pfx with its private key, \
             or give the key file as well)",
        ));
    }

    let chosen = keys.iter().enumerate().find_map(|(key_index, key)| {
        let matching: Vec<usize> =
            certs.iter().enumerate().filter(|(_, c)| key_matches_cert(key, c)).map(|(i, _)| i).collect();
        preferred_leaf(&certs, &matching).map(|cert_index| (key_index, cert_index))
    });
    let Some((key_index, leaf_index)) = chosen else {
        let subjects: Vec<&str> = certs.iter().take(3).map(|c| c.info.subject.as_str()).collect();
        let more = if certs.len() > 3 { format!(" and {} more", certs.len() - 3) } else { String::new() };
        let key_where = key_origin.map(|k| format!(" in {k}")).unwrap_or_default();
        return Err(Error::input(
            &cert_origin,
            format!(
                "no certificate matches the private key{key_where} ({}); the certificate and key are not a pair \
                 (certificates: {}{more})",
                keys[0].algorithm(),
                subjects.join("; ")
            ),
        ));
    };
    let key = keys.swap_remove(key_index);
    Ok(Identity { chain: order_chain(certs, leaf_index), key, origin })
}

fn preferred_leaf(certs: &[Certificate], matching: &[usize]) -> Option<usize> {
    matching.iter().copied().min_by(|&a, &b| {
        let (ca, cb) = (&certs[a].info, &certs[b].info);
        // RFC 3339 UTC strings of one fixed format sort chronologically.
        ca.is_ca.cmp(&cb.is_ca).then_with(|| cb.not_after.cmp(&ca.not_after)).then_with(|| a.cmp(&b))
    })
}

/// Leaf, then each issuer found by name, then whatever is left in its original order.
fn order_chain(mut rest: Vec<Certificate>, leaf_index: usize) -> Vec<Certificate> {
    let mut chain = vec![rest.remove(leaf_index)];
    while let Some(last) = chain.last() {
        if last.info.issuer_rfc4514 == last.info.subject_rfc4514 {
            break;
        }
        let issuer = last.info.issuer_rfc4514.clone();
        match rest.iter().position(|c| c.info.subject_rfc4514 == issuer) {
            Some(pos) => chain.push(rest.remove(pos)),
            None => break,
        }
    }
    chain.extend(rest);
    chain
}

fn read_material(path: &Path, origin: &str) -> Result<Zeroizing<Vec<u8>>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::input(origin, io_reason(&e)))?;
    if meta.is_dir() {
        return Err(Error::input(origin, "is a directory, not a certificate or key file"));
    }
    // The capped reader reads pipes (`<(az keyvault …)`) and devices, which report size 0, by count.
    match crate::fsio::read_capped(path, crate::fsio::MATERIAL_CAP) {
        Ok(bytes) => Ok(Zeroizing::new(bytes)),
        Err(Error::Io { source, .. }) => Err(Error::input(origin, io_reason(&source))),
        Err(other) => Err(other),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "file not found".into(),
        std::io::ErrorKind::PermissionDenied => "cannot read the file (permission denied)".into(),
        std::io::ErrorKind::IsADirectory => "is a directory, not a file".into(),
        _ => format!("cannot read the file ({e})"),
    }
}

/// The file as text if it is text: UTF-8 (with or without BOM) or UTF-16 with a BOM (what Windows
/// PowerShell 5 writes when output is redirected to a file).
fn decode_text(bytes: &[u8]) -> Option<Zeroizing<String>> {
    let text = if let Some(body) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        utf16(body, u16::from_le_bytes)?
    } else if let Some(body) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        utf16(body, u16::from_be_bytes)?
    } else {
        Zeroizing::new(std::str::from_utf8(bytes).ok()?.to_string())
    };
    let printable = text.chars().all(|c| !c.is_control() || c.is_whitespace());
    printable.then_some(text)
}

fn utf16(body: &[u8], unit: fn([u8; 2]) -> u16) -> Option<Zeroizing<String>> {
    if body.len() % 2 != 0 {
        return None;
    }
    let units: Zeroizing<Vec<u16>> = Zeroizing::new(body.chunks_exact(2).map(|c| unit([c[0], c[1]])).collect());
    String::from_utf16(&units).ok().map(Zeroizing::new)
}

/// Base64 without PEM armour, decoding to something that starts like DER.
fn bare_base64(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    use base64::Engine as _;
    let compact: Zeroizing<String> = Zeroizing::new(text.chars().filter(|c| !c.is_whitespace()).collect());
    if compact.len() < 16 || !compact.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')) {
        return None;
    }
    let der = Zeroizing::new(base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()).ok()?);
    (der.first() == Some(&0x30)).then_some(der)
}

fn shell_quote(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::der::{der_length, DerLength};
    use super::key::rsa_modulus_bits;
    use super::*;

    #[test]
    fn password_debug_is_redacted() {
        let p = Password::new("hunter2");
        assert_eq!(format!("{p:?}"), "[redacted]");
        assert_eq!(p.expose(), "hunter2");
    }

    #[test]
    fn der_length_detects_truncation_and_forms() {
        assert_eq!(der_length(&[0x30, 0x03, 1, 2, 3]), DerLength::Complete(5));
        assert_eq!(der_length(&[0x30, 0x03, 1, 2]), DerLength::Truncated { declared: 5, present: 4 });
        assert_eq!(der_length(&[0x30, 0x82, 0x01]), DerLength::Truncated { declared: 4, present: 3 });
        let mut long = vec![0x30, 0x82, 0x01, 0x00];
        long.extend(std::iter::repeat_n(0u8, 0x100));
        assert_eq!(der_length(&long), DerLength::Complete(0x104));
        assert_eq!(der_length(&[0x30, 0x80, 0, 0]), DerLength::Indefinite);
        assert_eq!(der_length(&[0x30, 0x89, 0, 0]), DerLength::Malformed);
        assert_eq!(der_length(&[0x30]), DerLength::Truncated { declared: 2, present: 1 });
    }

    #[test]
    fn password_file_takes_first_line_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (content, want) in [
            (&b"s3cret\n"[..], "s3cret"),
            (b"s3cret\r\nsecond line\n", "s3cret"),
            (b"\xEF\xBB\xBFwith bom", "with bom"),
            (b" spaced \n", " spaced "),
            (b"", ""),
        ] {
            let path = dir.path().join("pw");
            std::fs::write(&path, content).expect("write");
            let pw = PasswordSource::File(path).resolve("x.pfx").expect("resolve");
            assert_eq!(pw.expose(), want);
        }
    }

    #[test]
    fn missing_password_file_names_it() {
        let err = PasswordSource::File("/nonexistent/pw.txt".into()).resolve("client.pfx").expect_err("missing");
        let msg = err.to_string();
        assert!(msg.starts_with("/nonexistent/pw.txt: "), "{msg}");
        assert!(msg.contains("client.pfx") && msg.contains("not found"), "{msg}");
    }

    #[test]
    fn rsa_modulus_bits_counts_significant_bits() {
        // SEQUENCE { INTEGER 0, INTEGER 0x00 0x80 0x00 (16 bits) }
        let der = [0x30, 0x08, 0x02, 0x01, 0x00, 0x02, 0x03, 0x00, 0x80, 0x00];
        assert_eq!(rsa_modulus_bits(&der), Some(16));
        let der = [0x30, 0x07, 0x02, 0x01, 0x00, 0x02, 0x02, 0x01, 0x00];
        assert_eq!(rsa_modulus_bits(&der), Some(9));
    }

    #[test]
    fn text_detection() {
        assert!(decode_text(b"hello\nworld\n").is_some());
        assert!(decode_text(&[0x30, 0x82, 0x01, 0x00]).is_none());
        let utf16: Vec<u8> =
            [0xFF, 0xFE].into_iter().chain("-----BEGIN".encode_utf16().flat_map(u16::to_le_bytes)).collect();
        assert_eq!(decode_text(&utf16).as_deref().map(String::as_str), Some("-----BEGIN"));
    }

    #[test]
    fn shell_quote_only_when_needed() {
        assert_eq!(shell_quote("/tmp/a.pem"), "/tmp/a.pem");
        assert_eq!(shell_quote("/tmp/my key.pem"), "'/tmp/my key.pem'");
    }
}
