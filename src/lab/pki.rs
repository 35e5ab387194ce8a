//! The lab's PKI, made at start: roots, gateway and backend server certificates, and the client
//! certificates each failure needs, optionally written to files for other tools.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rustls_pki_types::CertificateDer;

use super::{backend_host, BACKENDS, HOST_DEFAULT, HOST_NEGOTIATE, HOST_NO_NEGOTIATE, WRONG_NAME_HOST};
use crate::error::{Error, Result};
use crate::pki::{Issued, Spec};

/// Every certificate of the lab, made at start. Keys are secret test material: they exist only in
/// memory and in files written by [`LabPki::write_material`].
#[derive(Debug)]
pub struct LabPki {
    /// "mtls-doctor Lab Server Root": issues the gateway's and the backends' server certificates.
    pub server_root: Issued,
    /// Server certificates of the gateway hostnames.
    pub gateway_api: Issued,
    pub gateway_noneg: Issued,
    pub gateway_default: Issued,
    /// Server certificate of each backend, by backend name.
    pub backends: BTreeMap<String, Issued>,
    /// The CA nobody trusts, which issued the `untrusted-cert` backend's certificate.
    pub untrusted_root: Issued,
    /// Client root CA, and the issuing CA under it that signs the client leaves.
    pub client_root: Issued,
    pub client_issuing: Issued,
    pub client_good: Issued,
    /// Expired yesterday (valid from 30 days ago).
    pub client_expired: Issued,
    /// Has only the serverAuth extended key usage.
    pub client_server_only_eku: Issued,
    /// "Rogue Root", which the gateway does not trust, and the client certificate it issued.
    pub rogue_root: Issued,
    pub client_rogue: Issued,
    /// "Gateway Client CA", which issued the certificate the gateway presents to backends.
    pub gateway_client_ca: Issued,
    pub gateway_outbound: Issued,
    /// A CA the gateway's outbound certificate does not chain to (trusted by `distrusts-gateway`).
    pub other_ca: Issued,
}

impl LabPki {
    /// Make a fresh PKI (ECDSA P-256 keys throughout).
    pub fn generate() -> Result<LabPki> {
        let server_root = Issued::self_signed(&Spec::ca("mtls-doctor Lab Server Root"))?;
        let server_cert = |issuer: &Issued, host: &str| issuer.issue(&Spec::leaf(host).server_only().sans(&[host]));
        let gateway_api = server_cert(&server_root, HOST_NEGOTIATE)?;
        let gateway_noneg = server_cert(&server_root, HOST_NO_NEGOTIATE)?;
        let gateway_default = server_cert(&server_root, HOST_DEFAULT)?;
        let untrusted_root = Issued::self_signed(&Spec::ca("mtls-doctor Lab Untrusted Server Root"))?;
        let mut backends = BTreeMap::new();
        for name in BACKENDS {
            let cert = match name {
                "untrusted-cert" => server_cert(&untrusted_root, &backend_host(name))?,
                "wrong-name" => server_cert(&server_root, WRONG_NAME_HOST)?,
                _ => server_cert(&server_root, &backend_host(name))?,
            };
            backends.insert(name.to_string(), cert);
        }
        let client_root = Issued::self_signed(&Spec::ca("mtls-doctor Lab Client Root"))?;
        let client_issuing = client_root.issue(&Spec::ca("mtls-doctor Lab Client Issuing CA"))?;
        let client_good = client_issuing.issue(&Spec::leaf("lab-client-good").client_only())?;
        let client_expired =
            client_issuing.issue(&Spec::leaf("lab-client-expired").client_only().valid_days(-30, -1))?;
        let client_server_only_eku = client_issuing.issue(&Spec::leaf("lab-client-server-only-eku").server_only())?;
        let rogue_root = Issued::self_signed(&Spec::ca("mtls-doctor Lab Rogue Root"))?;
        let client_rogue = rogue_root.issue(&Spec::leaf("lab-client-rogue").client_only())?;
        let gateway_client_ca = Issued::self_signed(&Spec::ca("mtls-doctor Lab Gateway Client CA"))?;
        let gateway_outbound = gateway_client_ca.issue(&Spec::leaf("lab-gateway-outbound").client_only())?;
        let other_ca = Issued::self_signed(&Spec::ca("mtls-doctor Lab Other CA"))?;
        Ok(LabPki {
            server_root,
            gateway_api,
            gateway_noneg,
            gateway_default,
            backends,
            untrusted_root,
            client_root,
            client_issuing,
            client_good,
            client_expired,
            client_server_only_eku,
            rogue_root,
            client_rogue,
            gateway_client_ca,
            gateway_outbound,
            other_ca,
        })
    }

    /// The client CA certificates the gateway trusts and names in its CertificateRequest: root, then
    /// issuing CA (what `client-ca.pem` holds).
    pub fn client_ca(&self) -> Vec<CertificateDer<'static>> {
        vec![self.client_root.cert_der(), self.client_issuing.cert_der()]
    }

    /// A client leaf issued by the client issuing CA, followed by that CA: the chain a client sends.
    pub fn client_chain(&self, leaf: &Issued) -> Vec<CertificateDer<'static>> {
        vec![leaf.cert_der(), self.client_issuing.cert_der()]
    }

    /// Write the certificates, keys and CA bundles a CLI probe needs into `dir` (created if missing).
    /// Client leaf `.pem` files hold the leaf and the client issuing CA; keys are PKCS#8, mode 0600.
    pub fn write_material(&self, dir: &Path) -> Result<LabFiles> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let bundle = |name: &str, certs: &[&Issued]| -> Result<PathBuf> {
            let path = dir.join(name);
            let pem: String = certs.iter().map(|c| c.cert_pem()).collect();
            std::fs::write(&path, pem).map_err(|e| Error::io(&path, e))?;
            Ok(path)
        };
        let pair = |name: &str, certs: &[&Issued]| -> Result<CertKeyFiles> {
            let cert = bundle(&format!("{name}.pem"), certs)?;
            let key = dir.join(format!("{name}.key"));
            let leaf = certs.first().ok_or_else(|| Error::input(name.to_string(), "no certificate to write"))?;
            write_secret(&key, leaf.key_pem().as_bytes())?;
            Ok(CertKeyFiles { cert, key })
        };
        Ok(LabFiles {
            dir: dir.to_path_buf(),
            server_root: bundle("server-root.pem", &[&self.server_root])?,
            client_ca: bundle("client-ca.pem", &[&self.client_root, &self.client_issuing])?,
            client_root: bundle("client-root.pem", &[&self.client_root])?,
            gateway_client_ca: bundle("gateway-client-ca.pem", &[&self.gateway_client_ca])?,
            other_ca: bundle("other-ca.pem", &[&self.other_ca])?,
            rogue_root: bundle("rogue-root.pem", &[&self.rogue_root])?,
            untrusted_root: bundle("untrusted-root.pem", &[&self.untrusted_root])?,
            client_good: pair("client-good", &[&self.client_good, &self.client_issuing])?,
            client_expired: pair("client-expired", &[&self.client_expired, &self.client_issuing])?,
            client_server_only_eku: pair(
                "client-server-only-eku",
                &[&self.client_server_only_eku, &self.client_issuing],
            )?,
            client_rogue: pair("client-rogue", &[&self.client_rogue])?,
            gateway_outbound: pair("gateway-outbound", &[&self.gateway_outbound])?,
        })
    }
}

pub(super) fn write_secret(path: &Path, contents: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| Error::io(path, e))?;
    file.write_all(contents).map_err(|e| Error::io(path, e))
}

/// A certificate (chain) file and its key file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertKeyFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Where [`LabPki::write_material`] put everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabFiles {
    pub dir: PathBuf,
    /// `server-root.pem`: trust this to verify the gateway and the backends.
    pub server_root: PathBuf,
    /// `client-ca.pem`: client root and client issuing CA (what the gateway trusts).
    pub client_ca: PathBuf,
    pub client_root: PathBuf,
    pub gateway_client_ca: PathBuf,
    pub other_ca: PathBuf,
    pub rogue_root: PathBuf,
    pub untrusted_root: PathBuf,
    pub client_good: CertKeyFiles,
    pub client_expired: CertKeyFiles,
    pub client_server_only_eku: CertKeyFiles,
    pub client_rogue: CertKeyFiles,
    pub gateway_outbound: CertKeyFiles,
}
