//! The facts about one certificate that openssl's checks read, parsed once per certificate.

use rustls_pki_types::TrustAnchor;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};
use x509_parser::x509::{SubjectPublicKeyInfo, X509Version};

use crate::cert::dotnet_name;

use super::der::{asn1_string_text, canon_name, der_wrap, spki_of, split_certificate, tbs_signature_algorithm};
use super::signature::{akid_matches, sig_alg_matches};
use super::Role;

// ---------------------------------------------------------------------------------------------
// The openssl emulation.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    Presented(usize),
    Trusted,
    /// A name-and-key anchor: no certificate, no extensions, no validity.
    Anchor,
}

/// A name as `X509_NAME_cmp` compares it: per RDN, per attribute, the OID and the canonical value.
pub(super) type CanonName = Vec<Vec<(String, u8, Vec<u8>)>>;

#[derive(Debug, Clone)]
pub(super) struct Spki {
    /// DER of the whole SubjectPublicKeyInfo.
    pub(super) raw: Vec<u8>,
    /// Contents of the AlgorithmIdentifier (what `SignatureVerificationAlgorithm::public_key_alg_id` holds).
    pub(super) alg_id: Vec<u8>,
    /// The subjectPublicKey bits.
    pub(super) key: Vec<u8>,
    pub(super) alg_oid: String,
    pub(super) rsa_bits: Option<usize>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct Akid {
    pub(super) key_id: Option<Vec<u8>>,
    pub(super) issuer: Option<CanonName>,
    pub(super) serial: Option<Vec<u8>>,
}

/// The facts about one certificate that openssl's checks read (its `ex_flags` and friends).
#[derive(Debug, Clone)]
pub(super) struct Node {
    pub(super) origin: Origin,
    pub(super) der: Vec<u8>,
    pub(super) thumbprint: String,
    pub(super) subject: CanonName,
    pub(super) issuer: CanonName,
    pub(super) subject_raw: Vec<u8>,
    pub(super) issuer_dotnet: String,
    pub(super) spki: Spki,
    pub(super) tbs: Vec<u8>,
    /// Contents of the outer signatureAlgorithm, and the OIDs of it and of the TBS copy.
    pub(super) sig_alg_id: Vec<u8>,
    pub(super) sig_oid: String,
    pub(super) tbs_sig_alg_raw: Vec<u8>,
    pub(super) outer_sig_alg_raw: Vec<u8>,
    pub(super) signature: Vec<u8>,
    pub(super) not_before: i64,
    pub(super) not_after: i64,
    pub(super) serial: Vec<u8>,
    pub(super) v1: bool,
    /// basicConstraints: (cA, pathLenConstraint).
    pub(super) basic_constraints: Option<(bool, Option<u32>)>,
    /// keyUsage in openssl's `KU_*` bits.
    pub(super) key_usage: Option<u16>,
    /// extendedKeyUsage in openssl's `XKU_*` bits.
    pub(super) ext_key_usage: Option<u32>,
    /// Netscape cert type in openssl's `NS_*` bits.
    pub(super) ns_cert_type: Option<u8>,
    pub(super) ski: Option<Vec<u8>>,
    pub(super) akid: Option<Akid>,
    pub(super) unhandled_critical: bool,
    pub(super) dns_sans: Vec<String>,
    pub(super) ip_sans: Vec<Vec<u8>>,
    pub(super) has_dns_san: bool,
    pub(super) common_names: Vec<String>,
    /// openssl's EXFLAG_SI: subject equals issuer.
    pub(super) self_issued: bool,
    /// openssl's EXFLAG_SS: self-issued, its own AKID matches, and its key type fits its signature.
    pub(super) self_signed: bool,
}

// openssl's KU_*, XKU_* and NS_* bits (x509v3.h).
pub(super) const KU_DIGITAL_SIGNATURE: u16 = 0x0080;
pub(super) const KU_KEY_ENCIPHERMENT: u16 = 0x0020;
pub(super) const KU_KEY_AGREEMENT: u16 = 0x0008;
pub(super) const KU_KEY_CERT_SIGN: u16 = 0x0004;
pub(super) const XKU_SSL_SERVER: u32 = 0x1;
pub(super) const XKU_SSL_CLIENT: u32 = 0x2;
pub(super) const XKU_SGC: u32 = 0x10;
pub(super) const NS_SSL_CLIENT: u8 = 0x80;
pub(super) const NS_SSL_SERVER: u8 = 0x40;
pub(super) const NS_SSL_CA: u8 = 0x04;
pub(super) const NS_ANY_CA: u8 = 0x07;

/// Extensions OpenSSL 3.0 understands; any other marked critical is "unhandled" (`X509_supported_extension`).
pub(super) const SUPPORTED_EXTENSIONS: &[&str] = &[
    "2.16.840.1.113730.1.1", // netscape cert type
    "2.5.29.15",             // key usage
    "2.5.29.17",             // subject alt name
    "2.5.29.19",             // basic constraints
    "2.5.29.32",             // certificate policies
    "2.5.29.31",             // CRL distribution points
    "2.5.29.37",             // extended key usage
    "1.3.6.1.5.5.7.1.7",     // sbgp ipAddrBlock
    "1.3.6.1.5.5.7.1.8",     // sbgp autonomousSysNum
    "1.3.6.1.5.5.7.48.1.5",  // OCSP no check
    "2.5.29.36",             // policy constraints
    "1.3.6.1.5.5.7.1.14",    // proxyCertInfo
    "2.5.29.30",             // name constraints
    "2.5.29.33",             // policy mappings
    "2.5.29.54",             // inhibit any policy
];

impl Node {
    /// [`Node::from_cert`] for a presented certificate, remembered per process by its exact DER:
    /// a node is a pure function of the DER (and its origin, set here), and a sweep's targets
    /// present the same chain again and again.
    pub(super) fn from_presented(der: &[u8], origin: Origin) -> Option<Node> {
        use std::collections::HashMap;
        use std::sync::{LazyLock, Mutex};
        static SEEN: LazyLock<Mutex<HashMap<Vec<u8>, Node>>> = LazyLock::new(|| Mutex::new(HashMap::new()));
        if let Some(mut node) = SEEN.lock().ok().and_then(|t| t.get(der).cloned()) {
            node.origin = origin;
            return Some(node);
        }
        let node = Node::from_cert(der, origin)?;
        if let Ok(mut t) = SEEN.lock() {
            if t.len() >= 64 {
                t.clear();
            }
            t.insert(der.to_vec(), node.clone());
        }
        Some(node)
    }

    pub(super) fn from_cert(der: &[u8], origin: Origin) -> Option<Node> {
        use sha1::Digest as _;
        let (rest, cert) = X509Certificate::from_der(der).ok()?;
        if !rest.is_empty() {
            return None;
        }
        let parts = split_certificate(der)?;
        let tbs_sig_alg_raw = tbs_signature_algorithm(parts.tbs)?;
        let t = &cert.tbs_certificate;

        let mut node = Node {
            origin,
            der: der.to_vec(),
            thumbprint: hex::encode_upper(sha1::Sha1::digest(der)),
            subject: canon_name(&t.subject),
            issuer: canon_name(&t.issuer),
            subject_raw: t.subject.as_raw().to_vec(),
            issuer_dotnet: dotnet_name(&t.issuer),
            spki: spki_of(cert.public_key())?,
            tbs: parts.tbs.to_vec(),
            sig_alg_id: parts.sig_alg_body.to_vec(),
            sig_oid: cert.signature_algorithm.algorithm.to_id_string(),
            tbs_sig_alg_raw: tbs_sig_alg_raw.to_vec(),
            outer_sig_alg_raw: parts.sig_alg_whole.to_vec(),
            signature: parts.signature.to_vec(),
            not_before: t.validity.not_before.timestamp(),
            not_after: t.validity.not_after.timestamp(),
            serial: t.raw_serial().to_vec(),
            v1: cert.version() == X509Version::V1,
            basic_constraints: None,
            key_usage: None,
            ext_key_usage: None,
            ns_cert_type: None,
            ski: None,
            akid: None,
            unhandled_critical: false,
            dns_sans: Vec::new(),
            ip_sans: Vec::new(),
            has_dns_san: false,
            common_names: t
                .subject
                .iter_common_name()
                .filter_map(|cn| asn1_string_text(cn.attr_value().tag().0, cn.attr_value().data))
                .collect(),
            self_issued: false,
            self_signed: false,
        };

        for ext in cert.extensions() {
            let oid = ext.oid.to_id_string();
            if ext.critical && !SUPPORTED_EXTENSIONS.contains(&oid.as_str()) {
                node.unhandled_critical = true;
            }
            match ext.parsed_extension() {
                ParsedExtension::BasicConstraints(bc) => {
                    node.basic_constraints = Some((bc.ca, bc.path_len_constraint));
                }
                ParsedExtension::KeyUsage(ku) => {
                    let mut bits = 0u16;
                    for (on, bit) in [
                        (ku.digital_signature(), KU_DIGITAL_SIGNATURE),
                        (ku.non_repudiation(), 0x0040),
                        (ku.key_encipherment(), KU_KEY_ENCIPHERMENT),
                        (ku.data_encipherment(), 0x0010),
                        (ku.key_agreement(), KU_KEY_AGREEMENT),
                        (ku.key_cert_sign(), KU_KEY_CERT_SIGN),
                        (ku.crl_sign(), 0x0002),
                        (ku.encipher_only(), 0x0001),
                        (ku.decipher_only(), 0x8000),
                    ] {
                        if on {
                            bits |= bit;
                        }
                    }
                    node.key_usage = Some(bits);
                }
                ParsedExtension::ExtendedKeyUsage(eku) => {
                    let mut bits = 0u32;
                    for (on, bit) in [
                        (eku.server_auth, XKU_SSL_SERVER),
                        (eku.client_auth, XKU_SSL_CLIENT),
                        (eku.email_protection, 0x4),
                        (eku.code_signing, 0x8),
                        (eku.ocsp_signing, 0x20),
                        (eku.time_stamping, 0x40),
                        (eku.any, 0x100),
                    ] {
                        if on {
                            bits |= bit;
                        }
                    }
                    // Netscape and Microsoft Server Gated Crypto count as serverAuth for openssl.
                    if eku.other.iter().any(|o| {
                        let s = o.to_id_string();
                        s == "2.16.840.1.113730.4.1" || s == "1.3.6.1.4.1.311.10.3.3"
                    }) {
                        bits |= XKU_SGC;
                    }
                    node.ext_key_usage = Some(bits);
                }
                ParsedExtension::NSCertType(ns) => {
                    // x509-parser numbers the bits from the first one sent; openssl from the top.
                    let mut bits = 0u8;
                    for (on, bit) in [
                        (ns.ssl_client(), NS_SSL_CLIENT),
                        (ns.ssl_server(), NS_SSL_SERVER),
                        (ns.smime(), 0x20),
                        (ns.object_signing(), 0x10),
                        (ns.ssl_ca(), NS_SSL_CA),
                        (ns.smime_ca(), 0x02),
                        (ns.object_signing_ca(), 0x01),
                    ] {
                        if on {
                            bits |= bit;
                        }
                    }
                    node.ns_cert_type = Some(bits);
                }
                ParsedExtension::SubjectKeyIdentifier(id) => node.ski = Some(id.0.to_vec()),
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    node.akid = Some(Akid {
                        key_id: a.key_identifier.as_ref().map(|k| k.0.to_vec()),
                        issuer: a.authority_cert_issuer.as_ref().and_then(|names| {
                            names.iter().find_map(|n| match n {
                                GeneralName::DirectoryName(dn) => Some(canon_name(dn)),
                                _ => None,
                            })
                        }),
                        serial: a.authority_cert_serial.map(<[u8]>::to_vec),
                    });
                }
                ParsedExtension::SubjectAlternativeName(san) => {
                    for gn in &san.general_names {
                        match gn {
                            GeneralName::DNSName(d) => {
                                node.has_dns_san = true;
                                node.dns_sans.push((*d).to_string());
                            }
                            GeneralName::IPAddress(ip) => node.ip_sans.push(ip.to_vec()),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }

        node.self_issued = node.subject == node.issuer;
        node.self_signed =
            node.self_issued && akid_matches(&node, node.akid.as_ref()) && sig_alg_matches(&node.spki, &node.sig_oid);
        Some(node)
    }

    pub(super) fn from_anchor(anchor: &TrustAnchor<'_>) -> Option<Node> {
        let subject_der = der_wrap(0x30, anchor.subject.as_ref());
        let spki_der = der_wrap(0x30, anchor.subject_public_key_info.as_ref());
        let (_, name) = X509Name::from_der(&subject_der).ok()?;
        let (_, spki) = SubjectPublicKeyInfo::from_der(&spki_der).ok()?;
        let subject = canon_name(&name);
        let dotnet = dotnet_name(&name);
        Some(Node {
            origin: Origin::Anchor,
            der: Vec::new(),
            thumbprint: format!("anchor:{dotnet}"),
            issuer: subject.clone(),
            subject,
            subject_raw: subject_der.clone(),
            issuer_dotnet: dotnet,
            spki: spki_of(&spki)?,
            tbs: Vec::new(),
            sig_alg_id: Vec::new(),
            sig_oid: String::new(),
            tbs_sig_alg_raw: Vec::new(),
            outer_sig_alg_raw: Vec::new(),
            signature: Vec::new(),
            not_before: i64::MIN,
            not_after: i64::MAX,
            serial: Vec::new(),
            v1: false,
            basic_constraints: Some((true, None)),
            key_usage: None,
            ext_key_usage: None,
            ns_cert_type: None,
            ski: None,
            akid: None,
            unhandled_critical: false,
            dns_sans: Vec::new(),
            ip_sans: Vec::new(),
            has_dns_san: false,
            common_names: Vec::new(),
            self_issued: true,
            self_signed: true,
        })
    }

    pub(super) fn is_anchor(&self) -> bool {
        self.origin == Origin::Anchor
    }

    pub(super) fn is_trusted(&self) -> bool {
        matches!(self.origin, Origin::Trusted | Origin::Anchor)
    }

    pub(super) fn ku_rejects(&self, usage: u16) -> bool {
        self.key_usage.is_some_and(|ku| ku & usage == 0)
    }

    pub(super) fn xku_rejects(&self, usage: u32) -> bool {
        self.ext_key_usage.is_some_and(|x| x & usage == 0)
    }

    pub(super) fn ns_rejects(&self, usage: u8) -> bool {
        self.ns_cert_type.is_some_and(|ns| ns & usage == 0)
    }

    /// `check_ca`: 0 not a CA, 1 basicConstraints cA, 3 v1 root, 4 keyUsage only, 5 Netscape CA.
    pub(super) fn ca_kind(&self) -> u8 {
        if self.ku_rejects(KU_KEY_CERT_SIGN) {
            return 0;
        }
        match self.basic_constraints {
            Some((true, _)) => 1,
            Some((false, _)) => 0,
            None if self.v1 && self.self_signed => 3,
            None if self.key_usage.is_some() => 4,
            None if self.ns_cert_type.is_some_and(|ns| ns & NS_ANY_CA != 0) => 5,
            None => 0,
        }
    }

    /// `X509_check_purpose` for sslclient/sslserver: 0 rejects, anything else passes.
    pub(super) fn purpose(&self, role: Role, require_ca: bool) -> u8 {
        let (xku, ns) = match role {
            Role::Client => (XKU_SSL_CLIENT, NS_SSL_CLIENT),
            Role::Server => (XKU_SSL_SERVER | XKU_SGC, NS_SSL_SERVER),
        };
        if self.xku_rejects(xku) {
            return 0;
        }
        if require_ca {
            let kind = self.ca_kind();
            if kind == 0 || (kind == 5 && self.ns_cert_type.is_some_and(|n| n & NS_SSL_CA == 0)) {
                return 0;
            }
            return kind;
        }
        let ku = match role {
            Role::Client => KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT,
            Role::Server => KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT | KU_KEY_AGREEMENT,
        };
        if self.ku_rejects(ku) || self.ns_rejects(ns) {
            return 0;
        }
        1
    }

    pub(super) fn valid_at(&self, now: i64) -> bool {
        self.not_before <= now && now < self.not_after
    }
}
