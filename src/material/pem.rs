//! PEM files: the block structure checked before decoding (cut-short and encrypted blocks named),
//! then certificates and keys read block by block.

use rustls_pki_types::pem::{self, PemObject as _, SectionKind};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};
use zeroize::Zeroizing;

use super::der::check_complete;
use super::key::{unsupported_key_type, PrivateKey};
use super::{shell_quote, Encoding, Material};
use crate::cert::Certificate;
use crate::error::{Error, Result};

pub(super) fn load_pem(text: &str, origin: &str, password: &super::PasswordSource) -> Result<Material> {
    // Indented PEM (pasted from YAML or JSON) is common; the PEM reader wants blocks at column 0.
    let mut normalized: Zeroizing<String> = Zeroizing::new(text.lines().map(str::trim).collect::<Vec<_>>().join("\n"));
    if super::encrypted::has_encrypted_key(&normalized) {
        normalized = super::encrypted::decrypt_pem(&normalized, origin, password)?;
    }
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
pub(super) fn scan_pem(text: &str, origin: &str) -> Result<Vec<String>> {
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

pub(super) fn check_key_block(label: &str, legacy_encrypted: bool, origin: &str) -> Result<()> {
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

pub(super) fn encrypted_key(origin: &str, kind: &str, der: bool) -> Error {
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

pub(super) fn pem_error(e: &pem::Error, origin: &str) -> Error {
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

pub(super) fn nothing_in_pem(labels: &[String], origin: &str) -> Error {
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

pub(super) fn numbered(e: Error, what: &str, n: usize) -> Error {
    match e {
        Error::Input { origin, problem } => Error::Input { origin, problem: format!("{what} {n}: {problem}") },
        other => other,
    }
}
