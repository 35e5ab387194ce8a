//! A small certificate authority built on rcgen, for the lab, the demo and the tests: every
//! certificate the tool is tested with is made at run time, never committed.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};

/// Which key to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyKind {
    #[default]
    EcdsaP256,
    EcdsaP384,
    Rsa2048,
    Ed25519,
}

/// What to put in a certificate. Build with [`Spec::leaf`] / [`Spec::ca`] and adjust fields.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Subject attributes in encoding order (`CN` last gives the usual `CN=…, O=…` .NET form).
    pub subject: Vec<(DnType, String)>,
    /// DNS names (or IP addresses, detected) for the SAN extension.
    pub sans: Vec<String>,
    pub ca: bool,
    pub server_auth: bool,
    pub client_auth: bool,
    /// Validity relative to now.
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub key: KeyKind,
    pub serial: Option<Vec<u8>>,
}

impl Spec {
    /// An end-entity certificate valid from a day ago for a year, for both TLS roles.
    pub fn leaf(cn: &str) -> Self {
        let now = OffsetDateTime::now_utc();
        Spec {
            subject: vec![(DnType::OrganizationName, "mtls-doctor lab".into()), (DnType::CommonName, cn.into())],
            sans: vec![],
            ca: false,
            server_auth: true,
            client_auth: true,
            not_before: now - Duration::days(1),
            not_after: now + Duration::days(365),
            key: KeyKind::EcdsaP256,
            serial: None,
        }
    }

    /// A CA certificate valid from a day ago for ten years.
    pub fn ca(cn: &str) -> Self {
        let now = OffsetDateTime::now_utc();
        Spec {
            ca: true,
            server_auth: false,
            client_auth: false,
            not_after: now + Duration::days(3650),
            ..Spec::leaf(cn)
        }
    }

    pub fn sans(mut self, sans: &[&str]) -> Self {
        self.sans = sans.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn server_only(mut self) -> Self {
        self.server_auth = true;
        self.client_auth = false;
        self
    }

    pub fn client_only(mut self) -> Self {
        self.server_auth = false;
        self.client_auth = true;
        self
    }

    /// Valid between `from_days` and `to_days` relative to now (negative is the past).
    pub fn valid_days(mut self, from_days: i64, to_days: i64) -> Self {
        let now = OffsetDateTime::now_utc();
        self.not_before = now + Duration::days(from_days);
        self.not_after = now + Duration::days(to_days);
        self
    }

    pub fn key(mut self, key: KeyKind) -> Self {
        self.key = key;
        self
    }

    fn params(&self) -> Result<CertificateParams> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        for (ty, value) in &self.subject {
            dn.push(ty.clone(), value.as_str());
        }
        params.distinguished_name = dn;
        for san in &self.sans {
            let entry = match san.parse::<std::net::IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(
                    san.clone()
                        .try_into()
                        .map_err(|_| Error::input("certificate spec", format!("bad DNS name {san:?}")))?,
                ),
            };
            params.subject_alt_names.push(entry);
        }
        params.not_before = self.not_before;
        params.not_after = self.not_after;
        if let Some(serial) = &self.serial {
            params.serial_number = Some(SerialNumber::from_slice(serial));
        }
        if self.ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages =
                vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        } else {
            params.is_ca = IsCa::ExplicitNoCa;
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
            params.use_authority_key_identifier_extension = true;
        }
        if self.server_auth {
            params.extended_key_usages.push(ExtendedKeyUsagePurpose::ServerAuth);
        }
        if self.client_auth {
            params.extended_key_usages.push(ExtendedKeyUsagePurpose::ClientAuth);
        }
        Ok(params)
    }
}

/// A generated certificate with its key pair.
pub struct Issued {
    pub params: CertificateParams,
    pub key: KeyPair,
    pub der: Vec<u8>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued").field("der_len", &self.der.len()).finish_non_exhaustive()
    }
}

fn generate_key(kind: KeyKind) -> Result<KeyPair> {
    let made = match kind {
        KeyKind::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        KeyKind::EcdsaP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        KeyKind::Ed25519 => KeyPair::generate_for(&rcgen::PKCS_ED25519),
        KeyKind::Rsa2048 => KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048),
    };
    made.map_err(|e| Error::input("key generation", e.to_string()))
}

impl Issued {
    /// A self-signed certificate (a root CA, or a self-signed leaf).
    pub fn self_signed(spec: &Spec) -> Result<Self> {
        let key = generate_key(spec.key)?;
        let params = spec.params()?;
        let cert = params.self_signed(&key).map_err(|e| Error::input("certificate generation", e.to_string()))?;
        Ok(Issued { der: cert.der().to_vec(), params, key })
    }

    /// A certificate signed by `self`.
    pub fn issue(&self, spec: &Spec) -> Result<Issued> {
        let key = generate_key(spec.key)?;
        self.issue_with_key(spec, key)
    }

    /// A certificate signed by `self` for an existing key (a renewal that keeps the key).
    pub fn issue_with_key(&self, spec: &Spec, key: KeyPair) -> Result<Issued> {
        let params = spec.params()?;
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert =
            params.signed_by(&key, &issuer).map_err(|e| Error::input("certificate generation", e.to_string()))?;
        Ok(Issued { der: cert.der().to_vec(), params, key })
    }

    pub fn cert_pem(&self) -> String {
        crate::cert::pem_encode(&self.der)
    }

    /// The private key as PKCS#8 PEM. Secret: only for writing test material to disk.
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    pub fn key_der(&self) -> Vec<u8> {
        self.key.serialize_der()
    }

    pub fn cert_der(&self) -> rustls_pki_types::CertificateDer<'static> {
        rustls_pki_types::CertificateDer::from(self.der.clone())
    }

    pub fn private_key_der(&self) -> rustls_pki_types::PrivateKeyDer<'static> {
        rustls_pki_types::PrivateKeyDer::Pkcs8(rustls_pki_types::PrivatePkcs8KeyDer::from(self.key.serialize_der()))
    }

    pub fn thumbprint(&self) -> String {
        use sha1::Digest as _;
        hex::encode_upper(sha1::Sha1::digest(&self.der))
    }
}
