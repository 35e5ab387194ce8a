//! Loading certificate and key material from PEM, DER and PKCS#12 files, recognised by content.
//!
//! People bring whatever their platform exported: a `.pfx` from Windows or Key Vault, a `.cer` that is
//! really PEM, a `.pem` that is really DER, an `RSA PRIVATE KEY` from an old OpenSSL, a key that is
//! still encrypted. The extension is never trusted; every refusal names the file and says what to do.
//!
//! Secrets stay out of sight: [`Password`] and [`PrivateKey`] print as redacted, no error message
//! quotes file content, and buffers that may hold a key are zeroed when dropped.

use std::fmt;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use p12_keystore::{KeyStore, KeyStoreEntry};
use rustls::sign::SigningKey;
use rustls::SignatureScheme;
use rustls_pki_types::pem::{self, PemObject as _, SectionKind};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};
use serde::{Deserialize, Serialize};
use x509_parser::der_parser::asn1_rs::{Any, Tag};
use x509_parser::prelude::{FromDer, X509Certificate, X509CertificationRequest};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;
use zeroize::Zeroizing;

use crate::cert::Certificate;
use crate::error::{Error, Result};

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

/// A secret password. Printing it (Debug) shows `[redacted]`; its memory is zeroed on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(Zeroizing<String>);

impl Password {
    pub fn new(secret: impl Into<String>) -> Self {
        Password(Zeroizing::new(secret.into()))
    }

    /// The secret itself, for handing to the decoder. Never log or format it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where a PKCS#12 password comes from. Deliberately no variant for a literal value: a password on
/// the command line ends up in shell history and in `ps` output.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PasswordSource {
    /// No password available: only PKCS#12 files with an empty password can be opened.
    #[default]
    None,
    /// The name of an environment variable holding the password.
    Env(String),
    /// A file whose first line is the password (a trailing `\n` or `\r\n` is not part of it).
    File(PathBuf),
    /// Ask on the terminal without echo; refused when stdin is not a terminal.
    Prompt,
    /// Already asked for by the program itself (the TUI's no-echo password field). Never built
    /// from a command-line value.
    Given(Password),
}

impl PasswordSource {
    /// Fetch the password for the PKCS#12 file named `for_file` (used in the prompt and errors).
    pub fn resolve(&self, for_file: &str) -> Result<Password> {
        match self {
            PasswordSource::None => Err(Error::input(
                for_file,
                "PKCS#12 file is protected by a password and none was given \
                 (supply it from an environment variable, a password file or the prompt)",
            )),
            PasswordSource::Env(name) => match std::env::var(name) {
                Ok(value) => Ok(Password::new(value)),
                Err(std::env::VarError::NotPresent) => {
                    Err(Error::input(for_file, format!("password environment variable {name} is not set")))
                }
                // The non-Unicode value is deliberately dropped unseen.
                Err(std::env::VarError::NotUnicode(_)) => {
                    Err(Error::input(for_file, format!("password environment variable {name} is not valid UTF-8")))
                }
            },
            PasswordSource::File(path) => read_password_file(path, for_file),
            PasswordSource::Given(pw) => Ok(pw.clone()),
            PasswordSource::Prompt => {
                if !std::io::stdin().is_terminal() {
                    return Err(Error::input(
                        for_file,
                        "PKCS#12 file needs a password but stdin is not a terminal to prompt on \
                         (supply it from an environment variable or a password file)",
                    ));
                }
                rpassword::prompt_password(format!("Password for {for_file}: "))
                    .map(Password::new)
                    .map_err(|e| Error::input(for_file, format!("cannot read the password from the terminal ({e})")))
            }
        }
    }
}

fn read_password_file(path: &Path, for_file: &str) -> Result<Password> {
    let origin = path.display().to_string();
    // Only the first line matters; a bound keeps a wrong path (a device, a huge file) harmless.
    let bytes = crate::fsio::read_head(path, 64 * 1024).map(Zeroizing::new).map_err(|e| {
        Error::input(&origin, format!("cannot read this password file for {for_file}: {}", io_reason(&e)))
    })?;
    let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let first_line = first_line.strip_suffix(b"\r").unwrap_or(first_line);
    // Notepad's UTF-8 byte order mark is never meant as part of a password.
    let first_line = first_line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(first_line);
    let text = std::str::from_utf8(first_line)
        .map_err(|_| Error::input(&origin, format!("password file for {for_file} is not UTF-8 text")))?;
    Ok(Password::new(text))
}

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
            return load_pem(text, origin);
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
    let cert_origin = cert_material.origin;
    let mut certs = cert_material.certs;
    let mut keys = cert_material.keys;
    let mut origin = cert_origin.clone();
    let mut key_origin = None;
    if let Some(key_path) = key {
        let key_material = load_file(key_path, password)?;
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

const ALL_SCHEMES: [SignatureScheme; 16] = [
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

// ---------------------------------------------------------------------------------------------
// PEM

fn load_pem(text: &str, origin: &str) -> Result<Material> {
    // Indented PEM (pasted from YAML or JSON) is common; the PEM reader wants blocks at column 0.
    let normalized: Zeroizing<String> = Zeroizing::new(text.lines().map(str::trim).collect::<Vec<_>>().join("\n"));
    let labels = scan_pem(&normalized, origin)?;

    let mut certs = Vec::new();
    let mut keys = Vec::new();
    for item in <(SectionKind, Vec<u8>)>::pem_slice_iter(normalized.as_bytes()) {
        let (kind, der) = item.map_err(|e| pem_error(&e, origin))?;
        match kind {
            SectionKind::Certificate => {
                let n = certs.len() + 1;
                check_complete(&der, origin, &format!("certificate {n}"))?;
                certs.push(Certificate::from_der(der, origin).map_err(|e| numbered(e, "certificate", n))?);
            }
            SectionKind::PrivateKey => {
                let der = Zeroizing::new(der);
                check_complete(&der, origin, "the private key")?;
                keys.push(PrivateKey::from_der(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der.to_vec())), origin)?);
            }
            SectionKind::RsaPrivateKey => {
                let der = Zeroizing::new(der);
                check_complete(&der, origin, "the private key")?;
                keys.push(PrivateKey::from_der(PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der.to_vec())), origin)?);
            }
            SectionKind::EcPrivateKey => {
                let der = Zeroizing::new(der);
                check_complete(&der, origin, "the private key")?;
                keys.push(PrivateKey::from_der(PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der.to_vec())), origin)?);
            }
            _ => {}
        }
    }
    if certs.is_empty() && keys.is_empty() {
        return Err(nothing_in_pem(&labels, origin));
    }
    Ok(Material { origin: origin.to_string(), certs, keys, encoding: Encoding::Pem })
}

/// Check the block structure before decoding, because the PEM reader silently skips blocks it does
/// not know (encrypted keys among them) and cannot say which block was cut short.
fn scan_pem(text: &str, origin: &str) -> Result<Vec<String>> {
    let mut open: Option<(String, bool)> = None;
    let mut labels = Vec::new();
    for line in text.lines() {
        if let Some(label) = line.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) {
            if let Some((previous, _)) = &open {
                return Err(Error::input(
                    origin,
                    format!(
                        "truncated PEM: the {previous} block has no END line before the next BEGIN \
                         (the file was cut, or files were pasted together)"
                    ),
                ));
            }
            open = Some((label.to_string(), false));
        } else if let Some(label) = line.strip_prefix("-----END ").and_then(|l| l.strip_suffix("-----")) {
            let Some((begun, encrypted)) = open.take() else {
                return Err(Error::input(
                    origin,
                    format!("truncated PEM: END {label} without its BEGIN line (the start of the block is missing)"),
                ));
            };
            if begun != label {
                return Err(Error::input(origin, format!("malformed PEM: BEGIN {begun} is closed by END {label}")));
            }
            check_key_block(&begun, encrypted, origin)?;
            labels.push(begun);
        } else if let Some((_, encrypted)) = open.as_mut() {
            if line.starts_with("Proc-Type:") && line.contains("ENCRYPTED") {
                *encrypted = true;
            }
        }
    }
    if let Some((label, _)) = open {
        return Err(Error::input(origin, format!("truncated PEM: the {label} block has no END line")));
    }
    Ok(labels)
}

fn check_key_block(label: &str, legacy_encrypted: bool, origin: &str) -> Result<()> {
    if label == "ENCRYPTED PRIVATE KEY" {
        return Err(encrypted_key(origin, "PKCS#8 ENCRYPTED PRIVATE KEY", false));
    }
    if !label.ends_with("PRIVATE KEY") {
        return Ok(());
    }
    if legacy_encrypted {
        return Err(encrypted_key(origin, &format!("{label} with Proc-Type: 4,ENCRYPTED"), false));
    }
    match label {
        "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => Ok(()),
        "DSA PRIVATE KEY" => Err(unsupported_key_type(origin, "DSA")),
        "OPENSSH PRIVATE KEY" => Err(Error::input(
            origin,
            "is an OpenSSH private key, not a TLS key file (TLS needs the key that belongs to the certificate, \
             usually PEM PRIVATE KEY or a .pfx)",
        )),
        other => Err(Error::input(origin, format!("unsupported private key block: {other}"))),
    }
}

fn encrypted_key(origin: &str, kind: &str, der: bool) -> Error {
    let inform = if der { "-inform DER " } else { "" };
    Error::input(
        origin,
        format!(
            "the private key is encrypted ({kind}) and mtls-doctor reads only unencrypted keys: \
             decrypt a copy with `openssl pkey {inform}-in {} -out key-decrypted.pem` (it asks for the \
             passphrase) and keep that file private",
            shell_quote(origin)
        ),
    )
}

fn pem_error(e: &pem::Error, origin: &str) -> Error {
    // Never format the error itself: some variants carry the offending line, which may be key data.
    let problem = match e {
        pem::Error::MissingSectionEnd { .. } => "truncated PEM: a block has no END line",
        pem::Error::IllegalSectionStart { .. } => "malformed PEM: a -----BEGIN line is not well formed",
        pem::Error::Base64Decode(_) => "damaged PEM: a block is not valid base64 (cut, edited, or wrapped wrongly)",
        pem::Error::SectionTooLarge => "a PEM block is too large to be a certificate or key",
        _ => "cannot read the PEM blocks",
    };
    Error::input(origin, problem)
}

fn nothing_in_pem(labels: &[String], origin: &str) -> Error {
    let quoted = shell_quote(origin);
    let has = |l: &str| labels.iter().any(|x| x == l);
    let problem = if labels.is_empty() {
        "has a -----BEGIN line but no complete PEM block".to_string()
    } else if has("PKCS7") || has("CMS") {
        format!(
            "holds a PKCS#7 bundle (.p7b), which mtls-doctor does not read: convert it with \
             `openssl pkcs7 -print_certs -in {quoted} -out certs.pem`"
        )
    } else if has("CERTIFICATE REQUEST") || has("NEW CERTIFICATE REQUEST") {
        "holds a certificate signing request (CSR), not a certificate: the certificate is what the CA issues for it"
            .to_string()
    } else if has("TRUSTED CERTIFICATE") {
        format!("holds an OpenSSL TRUSTED CERTIFICATE: convert it with `openssl x509 -in {quoted} -out cert.pem`")
    } else if has("PUBLIC KEY") {
        "holds only a public key: a certificate (or a private key) is needed".to_string()
    } else {
        format!("has no certificate or private key (PEM blocks found: {})", labels.join(", "))
    };
    Error::input(origin, problem)
}

fn numbered(e: Error, what: &str, n: usize) -> Error {
    match e {
        Error::Input { origin, problem } => Error::Input { origin, problem: format!("{what} {n}: {problem}") },
        other => other,
    }
}

// ---------------------------------------------------------------------------------------------
// DER

/// What a DER structure looks like from its top-level fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DerShape {
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
enum DerLength {
    Complete(usize),
    Truncated { declared: usize, present: usize },
    Indefinite,
    Malformed,
}

/// The total size the outer TLV declares, checked against what is present.
fn der_length(der: &[u8]) -> DerLength {
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

fn check_complete(der: &[u8], origin: &str, what: &str) -> Result<()> {
    match der_length(der) {
        DerLength::Truncated { declared, present } => Err(truncated(origin, what, declared, present)),
        _ => Ok(()),
    }
}

fn truncated(origin: &str, what: &str, declared: usize, present: usize) -> Error {
    Error::input(origin, format!("truncated: {what} is cut short ({present} of {declared} bytes present)"))
}

fn sequence_items(der: &[u8]) -> Option<Vec<Any<'_>>> {
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

fn is_small_int(item: &Any, value: u8) -> bool {
    item.tag() == Tag::Integer && item.data == [value]
}

fn classify(der: &[u8]) -> DerShape {
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

fn load_der(bytes: &[u8], origin: &str, password: &PasswordSource) -> Result<Material> {
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
fn load_der_certificates(bytes: &[u8], origin: &str) -> Result<Material> {
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

// ---------------------------------------------------------------------------------------------
// PKCS#12

fn load_pkcs12(der: &[u8], origin: &str, has_mac: bool, password: &PasswordSource) -> Result<Material> {
    // Most exports with "no password" still have a MAC keyed by the empty password; trying it first
    // means such files open without asking.
    let store = match KeyStore::from_pkcs12(der, "") {
        Ok(store) => store,
        Err(e) if needs_password(&e, has_mac) => {
            let secret = password.resolve(origin)?;
            match KeyStore::from_pkcs12(der, secret.expose()) {
                Ok(store) => store,
                Err(e) if needs_password(&e, has_mac) => {
                    return Err(Error::input(origin, "wrong password for PKCS#12 file (or the file is damaged)"))
                }
                Err(e) => return Err(Error::input(origin, pkcs12_problem(&e))),
            }
        }
        Err(e) => return Err(Error::input(origin, pkcs12_problem(&e))),
    };

    let mut certs: Vec<Certificate> = Vec::new();
    let mut keys = Vec::new();
    let add_cert = |certs: &mut Vec<Certificate>, der: &[u8]| -> Result<()> {
        if !certs.iter().any(|c| c.der == der) {
            let n = certs.len() + 1;
            certs.push(Certificate::from_der(der.to_vec(), origin).map_err(|e| numbered(e, "certificate", n))?);
        }
        Ok(())
    };
    // Key chains first so that the first key's leaf is the first certificate.
    for (_, entry) in store.entries() {
        if let KeyStoreEntry::PrivateKeyChain(chain) = entry {
            let key_der = Zeroizing::new(chain.key().to_vec());
            keys.push(PrivateKey::from_der(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der.to_vec())), origin)?);
            for cert in chain.chain() {
                add_cert(&mut certs, cert.as_der())?;
            }
        }
    }
    for (_, entry) in store.entries() {
        if let KeyStoreEntry::Certificate(cert) = entry {
            add_cert(&mut certs, cert.as_der())?;
        }
    }
    if certs.is_empty() && keys.is_empty() {
        // p12-keystore reaches certificates through the key they belong to (or a Java "trusted"
        // mark), so a certificate-only .pfx reads as empty.
        return Err(Error::input(
            origin,
            "has no private key (a client certificate needs one: export the .pfx with its private key); \
             a .pfx holding only certificates cannot be read, export those as .cer or .pem instead",
        ));
    }
    Ok(Material { origin: origin.to_string(), certs, keys, encoding: Encoding::Pkcs12 })
}

/// Whether an error from p12-keystore can be a wrong password. With a MAC, only a MAC mismatch
/// can; without one, a wrong password shows up as a decryption or decoding failure.
fn needs_password(e: &p12_keystore::error::Error, has_mac: bool) -> bool {
    use p12_keystore::error::Error as P;
    match e {
        P::MacError(_) => true,
        P::Pkcs5Error(_) | P::UnpadError | P::DerError(_) | P::X509Error(_) | P::InvalidData | P::InvalidLength => {
            !has_mac
        }
        _ => false,
    }
}

fn pkcs12_problem(e: &p12_keystore::error::Error) -> String {
    use p12_keystore::error::Error as P;
    match e {
        P::UnsupportedEncryptionScheme | P::UnsupportedMacAlgorithm => {
            "PKCS#12 file uses an encryption or MAC algorithm mtls-doctor cannot read (it reads AES-256-CBC, \
             3DES and RC2-40 with SHA-1 or SHA-256 MACs): re-export it with `openssl pkcs12 -export`"
                .to_string()
        }
        P::UnsupportedCertificateType => "PKCS#12 file holds a certificate that is not X.509".to_string(),
        P::InvalidVersion => "PKCS#12 file has an unsupported version (expected 3)".to_string(),
        P::UnsupportedContentType => {
            "PKCS#12 file is protected with a public key rather than a password, which mtls-doctor cannot read"
                .to_string()
        }
        other => format!("PKCS#12 file is damaged or malformed ({other})"),
    }
}

// ---------------------------------------------------------------------------------------------
// Key algorithms

const RSA_OID: &str = "1.2.840.113549.1.1.1";
const EC_OID: &str = "1.2.840.10045.2.1";

fn algorithm_name(oid: &str, curve: Option<&str>) -> String {
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

fn curve_name(oid: &str) -> String {
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

fn spki_algorithm(spki: &[u8]) -> (String, Option<u32>) {
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
fn declared_key_algorithm(der: &PrivateKeyDer<'_>) -> Option<(String, Option<u32>)> {
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

fn rsa_modulus_bits(pkcs1: &[u8]) -> Option<u32> {
    let items = sequence_items(pkcs1)?;
    let modulus = items.get(1).filter(|m| m.tag() == Tag::Integer)?.data;
    let significant: &[u8] = match modulus.iter().position(|&b| b != 0) {
        Some(start) => &modulus[start..],
        None => return Some(0),
    };
    let len = u32::try_from(significant.len()).ok()?;
    Some(len * 8 - significant[0].leading_zeros())
}

fn unsupported_key_type(origin: &str, algorithm: &str) -> Error {
    Error::input(
        origin,
        format!(
            "unsupported private key type: {algorithm} (TLS client certificates here need RSA 2048-8192, \
             EC P-256/P-384/P-521 or Ed25519 keys)"
        ),
    )
}

fn unusable_key(der: &PrivateKeyDer<'_>, origin: &str) -> Error {
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

#[cfg(test)]
mod tests {
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
