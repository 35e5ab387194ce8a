//! The certificate model: every field shown exactly as Azure API Management's policies see it.
//!
//! `CertInfo` is built once from DER and is what every report, rule and view reads. The .NET
//! formats (`X500DistinguishedName.Name`, `Thumbprint`, `SerialNumber`) are reproduced here so a user
//! can paste a value straight into a policy.

use serde::{Deserialize, Serialize};
use sha1::Digest as _;
use time::OffsetDateTime;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};
use x509_parser::public_key::PublicKey;

use crate::error::{Error, Result};

pub(crate) mod der;
mod dn;
mod linux;
mod oid_names;
mod seen;
pub(crate) mod signature;

pub(crate) use dn::attributes_reversed;
pub use dn::{dotnet_name_der, rfc4514_name_der, Platform};
pub use linux::{LinuxView, LoadRefusal, NameField};
pub use seen::parse_remembered;

/// A certificate as the tool reports it. Public parts only: it is safe to save and share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertInfo {
    /// `X509Certificate2.Subject` as .NET prints it (what `context.Request.Certificate.Subject` returns).
    pub subject: String,
    /// The same name in RFC 4514 form (what OpenSSL-based tools and most docs show).
    pub subject_rfc4514: String,
    /// `X509Certificate2.Issuer` as .NET prints it.
    pub issuer: String,
    pub issuer_rfc4514: String,
    /// SHA-1 of the DER, uppercase hex, no separators: exactly `X509Certificate2.Thumbprint`.
    pub thumbprint_sha1: String,
    pub thumbprint_sha256: String,
    /// Serial number as .NET's `SerialNumber` shows it: uppercase hex of the encoded bytes.
    pub serial: String,
    /// RFC 3339, UTC.
    pub not_before: String,
    pub not_after: String,
    /// Whole days from `now` (at the time the model was built) until `not_after`; negative once expired.
    pub days_left: i64,
    /// Subject alternative names as `DNS:…`, `IP:…`, `email:…`, `URI:…`, `DirName:…`.
    pub sans: Vec<String>,
    pub key: KeyInfo,
    pub signature_algorithm: String,
    /// keyUsage bits by their RFC 5280 names; empty when the extension is absent.
    pub key_usage: Vec<String>,
    /// Extended key usages, `serverAuth`/`clientAuth`/… by name, unknown ones by dotted OID.
    /// `None` when the extension is absent (which allows every usage).
    pub eku: Option<Vec<String>>,
    pub is_ca: bool,
    pub path_len: Option<u32>,
    /// Subject equals issuer and the certificate's own key verifies its signature.
    pub self_signed: bool,
    /// Subject key identifier, uppercase hex.
    pub ski: Option<String>,
    /// Authority key identifier (key id part), uppercase hex.
    pub aki: Option<String>,
    /// The certificate itself, so a report or session is self-contained.
    pub pem: String,
    /// What .NET on Linux (a self-hosted gateway) shows instead of `subject`/`issuer`, or that it
    /// cannot load the certificate at all; absent when it shows the same as Windows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux: Option<LinuxView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// `RSA`, `EC`, `Ed25519`, `Ed448`, or the dotted OID for anything else.
    pub algorithm: String,
    /// Key size in bits (modulus size for RSA, field size for EC).
    pub bits: Option<u32>,
    /// Named curve for EC keys (`P-256`, `P-384`, `P-521`, or the OID).
    pub curve: Option<String>,
}

/// A parsed certificate: the DER it came from plus the model built from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub der: Vec<u8>,
    pub info: CertInfo,
}

impl Certificate {
    /// Parse one DER certificate. `origin` names where it came from for the error message.
    pub fn from_der(der: Vec<u8>, origin: &str) -> Result<Self> {
        let info = CertInfo::from_der(&der, OffsetDateTime::now_utc())
            .map_err(|why| Error::Input { origin: origin.to_string(), problem: why })?;
        Ok(Certificate { der, info })
    }

    pub fn eku_allows(&self, usage: Eku) -> bool {
        self.info.eku_allows(usage)
    }
}

/// Extended key usages the tool cares about by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eku {
    ServerAuth,
    ClientAuth,
}

impl CertInfo {
    /// Build the model. `now` decides `days_left`. The error is a short phrase for the user.
    pub fn from_der(der: &[u8], now: OffsetDateTime) -> std::result::Result<Self, String> {
        let (rest, cert) =
            X509Certificate::from_der(der).map_err(|e| format!("not a valid X.509 certificate ({e})"))?;
        if !rest.is_empty() {
            return Err(format!("{} unexpected bytes after the certificate", rest.len()));
        }
        let tbs = &cert.tbs_certificate;
        let not_before = asn1_to_datetime(tbs.validity.not_before.timestamp())?;
        let not_after = asn1_to_datetime(tbs.validity.not_after.timestamp())?;
        let days_left = (not_after - now).whole_days();

        let mut sans = Vec::new();
        let mut key_usage = Vec::new();
        let mut eku = None;
        let mut is_ca = false;
        let mut path_len = None;
        let mut ski = None;
        let mut aki = None;
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::SubjectAlternativeName(san) => {
                    sans.extend(san.general_names.iter().map(general_name_text));
                }
                ParsedExtension::KeyUsage(ku) => {
                    let names = [
                        (ku.digital_signature(), "digitalSignature"),
                        (ku.non_repudiation(), "nonRepudiation"),
                        (ku.key_encipherment(), "keyEncipherment"),
                        (ku.data_encipherment(), "dataEncipherment"),
                        (ku.key_agreement(), "keyAgreement"),
                        (ku.key_cert_sign(), "keyCertSign"),
                        (ku.crl_sign(), "cRLSign"),
                        (ku.encipher_only(), "encipherOnly"),
                        (ku.decipher_only(), "decipherOnly"),
                    ];
                    key_usage = names.iter().filter(|(on, _)| *on).map(|(_, n)| n.to_string()).collect();
                }
                ParsedExtension::ExtendedKeyUsage(e) => {
                    let mut v = Vec::new();
                    let named = [
                        (e.any, "anyExtendedKeyUsage"),
                        (e.server_auth, "serverAuth"),
                        (e.client_auth, "clientAuth"),
                        (e.code_signing, "codeSigning"),
                        (e.email_protection, "emailProtection"),
                        (e.time_stamping, "timeStamping"),
                        (e.ocsp_signing, "OCSPSigning"),
                    ];
                    v.extend(named.iter().filter(|(on, _)| *on).map(|(_, n)| n.to_string()));
                    v.extend(e.other.iter().map(|o| o.to_id_string()));
                    eku = Some(v);
                }
                ParsedExtension::BasicConstraints(bc) => {
                    is_ca = bc.ca;
                    path_len = bc.path_len_constraint;
                }
                ParsedExtension::SubjectKeyIdentifier(id) => ski = Some(hex::encode_upper(id.0)),
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    aki = a.key_identifier.as_ref().map(|id| hex::encode_upper(id.0));
                }
                _ => {}
            }
        }

        // The names come from the exact encoded bytes: see `der` for why not x509-parser's view.
        // Its view is the fallback for an outer structure our strict DER reader does not take.
        let parts = der::tbs_parts(der).unwrap_or(der::TbsParts {
            serial: tbs.raw_serial(),
            issuer: tbs.issuer.as_raw(),
            subject: tbs.subject.as_raw(),
        });
        let self_signed = parts.subject == parts.issuer && signature::signed_by(&cert, None);
        let pem = pem_encode(der);
        let subject = dotnet_name_der(parts.subject, Platform::Windows);
        let issuer = dotnet_name_der(parts.issuer, Platform::Windows);
        let linux = linux::linux_view(parts.serial, parts.subject, parts.issuer, &subject, &issuer);

        Ok(CertInfo {
            subject,
            subject_rfc4514: rfc4514_name_der(parts.subject),
            issuer,
            issuer_rfc4514: rfc4514_name_der(parts.issuer),
            thumbprint_sha1: hex::encode_upper(sha1::Sha1::digest(der)),
            thumbprint_sha256: hex::encode_upper(sha2::Sha256::digest(der)),
            serial: hex::encode_upper(tbs.raw_serial()),
            not_before: rfc3339(not_before),
            not_after: rfc3339(not_after),
            days_left,
            sans,
            key: key_info(&cert),
            signature_algorithm: signature_algorithm_name(&cert.signature_algorithm.algorithm.to_id_string()),
            key_usage,
            eku,
            is_ca,
            path_len,
            self_signed,
            ski,
            aki,
            pem,
            linux,
        })
    }

    /// Whether the EKU extension (or its absence) permits `usage`.
    pub fn eku_allows(&self, usage: Eku) -> bool {
        match &self.eku {
            None => true,
            Some(list) => {
                let want = match usage {
                    Eku::ServerAuth => "serverAuth",
                    Eku::ClientAuth => "clientAuth",
                };
                list.iter().any(|e| e == want || e == "anyExtendedKeyUsage")
            }
        }
    }

    pub fn not_after_time(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(&self.not_after, &time::format_description::well_known::Rfc3339).ok()
    }

    pub fn not_before_time(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(&self.not_before, &time::format_description::well_known::Rfc3339).ok()
    }

    /// The first CN of the subject, if any (for short labels).
    pub fn common_name(&self) -> Option<String> {
        let pem_der = pem_decode_first(&self.pem)?;
        dn::first_common_name(der::tbs_parts(&pem_der)?.subject)
    }

    /// The DER bytes again, from the embedded PEM.
    pub fn der(&self) -> Option<Vec<u8>> {
        pem_decode_first(&self.pem)
    }
}

fn asn1_to_datetime(ts: i64) -> std::result::Result<OffsetDateTime, String> {
    OffsetDateTime::from_unix_timestamp(ts).map_err(|_| "validity date out of range".to_string())
}

/// RFC 3339 with a `Z`, second precision.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

pub fn pem_encode(der: &[u8]) -> String {
    use base64::Engine as _;
    let flat = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in flat.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

fn pem_decode_first(pem: &str) -> Option<Vec<u8>> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).ok().map(|c| c.to_vec())
}

fn general_name_text(gn: &GeneralName) -> String {
    match gn {
        GeneralName::DNSName(s) => format!("DNS:{s}"),
        GeneralName::RFC822Name(s) => format!("email:{s}"),
        GeneralName::URI(s) => format!("URI:{s}"),
        GeneralName::IPAddress(b) => match b.len() {
            4 => format!("IP:{}", std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3])),
            16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                format!("IP:{}", std::net::Ipv6Addr::from(a))
            }
            _ => format!("IP:{}", hex::encode_upper(b)),
        },
        GeneralName::DirectoryName(n) => format!("DirName:{}", dotnet_name(n)),
        GeneralName::RegisteredID(o) => format!("RID:{}", o.to_id_string()),
        GeneralName::OtherName(o, _) => format!("othername:{}", o.to_id_string()),
        GeneralName::X400Address(a) => format!("X400Address:{}", hex::encode_upper(a.data)),
        GeneralName::EDIPartyName(a) => format!("EdiPartyName:{}", hex::encode_upper(a.data)),
        GeneralName::Invalid(tag, data) => format!("invalid [{}]:{}", tag.0, hex::encode_upper(data)),
    }
}

fn key_info(cert: &X509Certificate) -> KeyInfo {
    let spki = cert.public_key();
    let alg_oid = spki.algorithm.algorithm.to_id_string();
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            KeyInfo { algorithm: "RSA".into(), bits: u32::try_from(rsa.key_size()).ok(), curve: None }
        }
        Ok(PublicKey::EC(_)) => {
            let curve_oid = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()).map(|o| o.to_id_string());
            let (curve, bits) = match curve_oid.as_deref() {
                Some("1.2.840.10045.3.1.7") => (Some("P-256".to_string()), Some(256)),
                Some("1.3.132.0.34") => (Some("P-384".to_string()), Some(384)),
                Some("1.3.132.0.35") => (Some("P-521".to_string()), Some(521)),
                Some(other) => (Some(other.to_string()), None),
                None => (None, None),
            };
            KeyInfo { algorithm: "EC".into(), bits, curve }
        }
        _ => match alg_oid.as_str() {
            "1.3.101.112" => KeyInfo { algorithm: "Ed25519".into(), bits: Some(256), curve: None },
            "1.3.101.113" => KeyInfo { algorithm: "Ed448".into(), bits: Some(456), curve: None },
            _ => KeyInfo { algorithm: alg_oid, bits: None, curve: None },
        },
    }
}

fn signature_algorithm_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.3.101.112" => "ED25519",
        "1.3.101.113" => "ED448",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        other => other,
    }
    .to_string()
}

/// `X500DistinguishedName.Name` as .NET on Windows (the managed gateway) prints it.
pub fn dotnet_name(name: &X509Name) -> String {
    dotnet_name_der(name.as_raw(), Platform::Windows)
}

/// RFC 4514 string form of a parsed name.
pub fn rfc4514_name(name: &X509Name) -> String {
    rfc4514_name_der(name.as_raw())
}

/// The .NET (Windows) form of a DER-encoded Name (as found in a CertificateRequest's acceptable
/// CA list). `None` when the bytes are not a Name at all.
pub fn dotnet_name_from_der(der: &[u8]) -> Option<String> {
    dn::parse_name(der)?;
    Some(dotnet_name_der(der, Platform::Windows))
}

/// Normalise a thumbprint the way a forgiving comparison would: hex digits only, uppercase.
pub fn normalize_thumbprint(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_hexdigit()).map(|c| c.to_ascii_uppercase()).collect()
}
