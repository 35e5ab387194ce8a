//! PKCS#12 (`.pfx`, `.p12`) files: opened with the password when one is needed, and the library's
//! errors turned into what to do (wrong password, unsupported encryption).

use p12_keystore::{KeyStore, KeyStoreEntry};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use zeroize::Zeroizing;

use super::key::PrivateKey;
use super::password::PasswordSource;
use super::pem::numbered;
use super::{Encoding, Material};
use crate::cert::Certificate;
use crate::error::{Error, Result};

pub(super) fn load_pkcs12(der: &[u8], origin: &str, has_mac: bool, password: &PasswordSource) -> Result<Material> {
    if let Some(limit) = super::pfx_cost::check(der) {
        return Err(Error::input(origin, limit.to_string()));
    }
    // Most exports with "no password" still have a MAC keyed by the empty password; trying it first
    // means such files open without asking. Without a MAC nothing checks a password: a wrong one
    // usually fails the decryption's padding, but about one time in 256 the padding is valid by
    // chance and garbage reaches the key or certificate parser. So on a file without a MAC the
    // empty password's garbage is not the end (the real password is asked for), and the real
    // password's garbage is reported as the wrong password it most likely is.
    let unverified = || Error::input(origin, "wrong password for PKCS#12 file (or the file is damaged)");
    match KeyStore::from_pkcs12(der, "") {
        Ok(store) => match read_store(&store, origin) {
            Ok(m) => return non_empty(m, origin),
            Err(_) if !has_mac => {}
            Err(e) => return Err(e),
        },
        Err(e) if needs_password(&e, has_mac) => {}
        Err(e) => return Err(Error::input(origin, pkcs12_problem(&e))),
    }
    let secret = password.resolve(origin)?;
    match KeyStore::from_pkcs12(der, secret.expose()) {
        Ok(store) => non_empty(read_store(&store, origin).map_err(|e| if has_mac { e } else { unverified() })?, origin),
        Err(e) if needs_password(&e, has_mac) => Err(unverified()),
        Err(e) => Err(Error::input(origin, pkcs12_problem(&e))),
    }
}

/// The certificates and keys of an opened store.
fn read_store(store: &KeyStore, origin: &str) -> Result<Material> {
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
    Ok(Material { origin: origin.to_string(), certs, keys, encoding: Encoding::Pkcs12 })
}

/// A store that opened but holds nothing readable is its own error, whatever the password.
fn non_empty(m: Material, origin: &str) -> Result<Material> {
    if m.certs.is_empty() && m.keys.is_empty() {
        // p12-keystore reaches certificates through the key they belong to (or a Java "trusted"
        // mark), so a certificate-only .pfx reads as empty.
        return Err(Error::input(
            origin,
            "has no private key (a client certificate needs one: export the .pfx with its private key); \
             a .pfx holding only certificates cannot be read, export those as .cer or .pem instead",
        ));
    }
    Ok(m)
}

/// Whether an error from p12-keystore can be a wrong password. With a MAC, only a MAC mismatch
/// can; without one, a wrong password shows up as a decryption or decoding failure.
pub(super) fn needs_password(e: &p12_keystore::error::Error, has_mac: bool) -> bool {
    use p12_keystore::error::Error as P;
    match e {
        P::MacError(_) => true,
        P::Pkcs5Error(_) | P::UnpadError | P::DerError(_) | P::X509Error(_) | P::InvalidData | P::InvalidLength => {
            !has_mac
        }
        _ => false,
    }
}

pub(super) fn pkcs12_problem(e: &p12_keystore::error::Error) -> String {
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
