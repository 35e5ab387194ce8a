//! Encrypted PEM private keys, decrypted in memory as curl (OpenSSL) does with `--pass`: PKCS#8
//! `ENCRYPTED PRIVATE KEY` (PBES2 with PBKDF2 or scrypt, AES or 3DES; the `pkcs8` crate) and
//! OpenSSL's legacy `Proc-Type: 4,ENCRYPTED` blocks (`DEK-Info` AES-128/192/256-CBC, DES-EDE3-CBC or
//! DES-CBC, key from EVP_BytesToKey with MD5). The plaintext key never reaches the disk: the blocks
//! are rewritten as unencrypted PEM in a zeroed-on-drop buffer and read like any other.

use base64::Engine as _;
use cbc::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
use md5::{Digest as _, Md5};
use zeroize::Zeroizing;

use super::password::PasswordSource;
use super::shell_quote;
use crate::error::{Error, Result};

/// Whether the PEM text holds an encrypted key block.
pub(super) fn has_encrypted_key(text: &str) -> bool {
    text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || text.lines().any(|l| l.trim().starts_with("Proc-Type:") && l.contains("ENCRYPTED"))
}

fn no_password(origin: &str, kind: &str) -> Error {
    Error::input(
        origin,
        format!(
            "the private key is encrypted ({kind}) and no password was given: use --key-password-env VAR or \
             --key-password-file FILE, or run on a terminal to be asked (or decrypt a copy with \
             `openssl pkey -in {} -out key-decrypted.pem` and keep it private)",
            shell_quote(origin)
        ),
    )
}

fn wrong_password(origin: &str) -> Error {
    Error::input(origin, "wrong password for the encrypted private key (or the key is damaged)")
}

/// The PEM text with every encrypted key block replaced by its decrypted form.
pub(super) fn decrypt_pem(text: &str, origin: &str, password: &PasswordSource) -> Result<Zeroizing<String>> {
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    let mut lines = text.lines().peekable();
    let mut secret: Option<super::Password> = None;
    let mut get_password = |kind: &str| -> Result<super::Password> {
        if let Some(p) = &secret {
            return Ok(p.clone());
        }
        if matches!(password, PasswordSource::None) {
            return Err(no_password(origin, kind));
        }
        let p = password.resolve(origin)?;
        secret = Some(p.clone());
        Ok(p)
    };
    while let Some(line) = lines.next() {
        let Some(label) = line.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let label = label.to_string();
        let mut headers = Vec::new();
        let mut body = Zeroizing::new(String::new());
        for l in lines.by_ref() {
            if l.starts_with("-----END ") {
                break;
            }
            if l.contains(':') {
                headers.push(l.to_string());
            } else {
                body.push_str(l.trim());
            }
        }
        let encrypted_legacy = headers.iter().any(|h| h.starts_with("Proc-Type:") && h.contains("ENCRYPTED"));
        let plain: Option<(String, Zeroizing<Vec<u8>>)> = if label == "ENCRYPTED PRIVATE KEY" {
            let der = Zeroizing::new(
                base64::engine::general_purpose::STANDARD
                    .decode(body.as_bytes())
                    .map_err(|_| Error::input(origin, "damaged PEM: the encrypted key is not valid base64"))?,
            );
            let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
                .map_err(|_| Error::input(origin, "the ENCRYPTED PRIVATE KEY block is not PKCS#8 (damaged?)"))?;
            let pw = get_password("PKCS#8 ENCRYPTED PRIVATE KEY")?;
            let doc = info.decrypt(pw.expose().as_bytes()).map_err(|e| match e {
                pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::UnsupportedAlgorithm { .. }) => Error::input(
                    origin,
                    "the encrypted private key uses a cipher mtls-doctor cannot read (it reads PBES2 with \
                     PBKDF2 or scrypt and AES-CBC or 3DES): re-encrypt it with `openssl pkey -aes256`",
                ),
                _ => wrong_password(origin),
            })?;
            Some(("PRIVATE KEY".to_string(), Zeroizing::new(doc.as_bytes().to_vec())))
        } else if encrypted_legacy && label.ends_with("PRIVATE KEY") {
            let dek = headers
                .iter()
                .find_map(|h| h.strip_prefix("DEK-Info:"))
                .ok_or_else(|| Error::input(origin, "the encrypted key has Proc-Type but no DEK-Info line"))?;
            let ct = base64::engine::general_purpose::STANDARD
                .decode(body.as_bytes())
                .map_err(|_| Error::input(origin, "damaged PEM: the encrypted key is not valid base64"))?;
            let pw = get_password(&format!("{label} with Proc-Type: 4,ENCRYPTED"))?;
            Some((label.clone(), decrypt_legacy(dek.trim(), &ct, pw.expose().as_bytes(), origin)?))
        } else {
            None
        };
        match plain {
            Some((label, der)) => {
                let b64 = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(der.as_slice()));
                out.push_str(&format!("-----BEGIN {label}-----\n"));
                for chunk in b64.as_bytes().chunks(64) {
                    out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
                    out.push('\n');
                }
                out.push_str(&format!("-----END {label}-----\n"));
            }
            None => {
                out.push_str(&format!("-----BEGIN {label}-----\n"));
                for h in &headers {
                    out.push_str(h);
                    out.push('\n');
                }
                for chunk in body.as_bytes().chunks(64) {
                    out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
                    out.push('\n');
                }
                out.push_str(&format!("-----END {label}-----\n"));
            }
        }
    }
    Ok(out)
}

/// OpenSSL's EVP_BytesToKey with MD5 and one round: the key for a legacy encrypted PEM block.
fn bytes_to_key(password: &[u8], salt: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut key = Zeroizing::new(Vec::with_capacity(len + 16));
    let mut prev: Vec<u8> = Vec::new();
    while key.len() < len {
        let mut h = Md5::new();
        h.update(&prev);
        h.update(password);
        h.update(salt);
        prev = h.finalize().to_vec();
        key.extend_from_slice(&prev);
    }
    key.truncate(len);
    key
}

fn decrypt_legacy(dek: &str, ct: &[u8], password: &[u8], origin: &str) -> Result<Zeroizing<Vec<u8>>> {
    let (cipher, iv_hex) = dek.split_once(',').ok_or_else(|| Error::input(origin, "DEK-Info has no IV"))?;
    let iv = hex::decode(iv_hex.trim()).map_err(|_| Error::input(origin, "DEK-Info's IV is not hex"))?;
    let cipher = cipher.trim().to_ascii_uppercase();
    let (key_len, iv_len) = match cipher.as_str() {
        "AES-128-CBC" => (16, 16),
        "AES-192-CBC" => (24, 16),
        "AES-256-CBC" => (32, 16),
        "DES-EDE3-CBC" => (24, 8),
        "DES-CBC" => (8, 8),
        other => {
            return Err(Error::input(
                origin,
                format!(
                    "the encrypted private key uses {other}, which mtls-doctor cannot read (it reads AES-CBC, \
                     DES-EDE3-CBC and DES-CBC): re-encrypt it with `openssl pkey -aes256`"
                ),
            ))
        }
    };
    if iv.len() != iv_len {
        return Err(Error::input(origin, "DEK-Info's IV has the wrong length for its cipher"));
    }
    let key = bytes_to_key(password, &iv[..8], key_len);
    let plain = match cipher.as_str() {
        "AES-128-CBC" => cbc::Decryptor::<aes::Aes128>::new_from_slices(&key, &iv)
            .ok()
            .and_then(|d| d.decrypt_padded_vec_mut::<Pkcs7>(ct).ok()),
        "AES-192-CBC" => cbc::Decryptor::<aes::Aes192>::new_from_slices(&key, &iv)
            .ok()
            .and_then(|d| d.decrypt_padded_vec_mut::<Pkcs7>(ct).ok()),
        "AES-256-CBC" => cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, &iv)
            .ok()
            .and_then(|d| d.decrypt_padded_vec_mut::<Pkcs7>(ct).ok()),
        "DES-EDE3-CBC" => cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .ok()
            .and_then(|d| d.decrypt_padded_vec_mut::<Pkcs7>(ct).ok()),
        _ => cbc::Decryptor::<des::Des>::new_from_slices(&key, &iv)
            .ok()
            .and_then(|d| d.decrypt_padded_vec_mut::<Pkcs7>(ct).ok()),
    };
    let plain = Zeroizing::new(plain.ok_or_else(|| wrong_password(origin))?);
    // A wrong password passes the padding check about 1 time in 256: the result must be DER.
    if plain.first() != Some(&0x30) {
        return Err(wrong_password(origin));
    }
    Ok(plain)
}
