//! Chain building and verification with openssl-compatible verdicts.
//!
//! [`verify_chain`] judges a presented chain twice:
//!
//! - as OpenSSL 3 would (`openssl verify -purpose sslclient|sslserver [-verify_hostname H]`, which
//!   is also what an OpenSSL-based peer reports in a handshake): the chain is built from the leaf
//!   through the presented certificates to a trust anchor, trusted store first, candidates matched by
//!   name, authority key identifier and key type; then extensions and purpose, the hostname, and
//!   finally signatures and validity from the top of the chain down. The first error wins, with
//!   openssl's code, name and depth;
//! - as rustls would (webpki), whose error becomes the verdict's `reason`.
//!
//! The two can disagree, and that is information: webpki accepts an intermediate as a trust anchor,
//! openssl (without `-partial_chain`) does not.
//!
//! Not emulated: name constraints, policies, revocation, security levels and `-x509_strict`.
//! Trust anchors that are only a name and a key (webpki-roots) have no validity or extensions;
//! a certificate is taken as issued by one when the names match and the anchor's key verifies its
//! signature.

use rustls_pki_types::{CertificateDer, ServerName, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::{SubjectPublicKeyInfo, X509Version};

use crate::cert::{dotnet_name, Certificate};
use crate::error::{Error, Result};

/// Which side of a TLS handshake the chain is judged for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A server certificate: serverAuth EKU, optional hostname check.
    Server,
    /// A client certificate: clientAuth EKU.
    Client,
}

/// Where trust anchors come from.
#[derive(Debug, Clone)]
pub struct TrustStore {
    /// Human-readable origin: a file path, `system`, or `mozilla`.
    pub source: String,
    /// Full CA certificates when known (files, system store).
    pub certs: Vec<Certificate>,
    /// Anchors that are only name + key (webpki-roots); empty for file-based stores.
    pub anchors: Vec<rustls_pki_types::TrustAnchor<'static>>,
}

#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Required when role is Server and a hostname check is wanted (openssl -verify_hostname).
    /// An IP address is matched against IP SANs, as OpenSSL's `SSL_set1_host` and rustls do.
    /// It is checked for either role when given, as openssl does.
    pub host: Option<String>,
    /// The time to verify at; `None` means now.
    pub at: Option<OffsetDateTime>,
}

/// The verdict, in openssl's vocabulary (code and name) plus webpki's reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub ok: bool,
    /// openssl's X509_V_ERR code (0 is ok).
    pub code: i32,
    /// openssl's name for the code, e.g. `unable to get local issuer certificate`.
    pub code_name: String,
    /// webpki's reason (what rustls would say), or None when ok.
    pub reason: Option<String>,
    /// Depth in the presented chain that the code refers to, as openssl reports it.
    pub depth: Option<usize>,
    /// SHA-1 thumbprints of the path that was built, leaf first, ending in the anchor if found.
    /// An anchor that is only a name and a key (webpki-roots) has no thumbprint and shows as
    /// `anchor:` followed by its .NET-form subject.
    pub path: Vec<String>,
    /// Structural problems found in what was presented.
    pub chain_problems: Vec<ChainProblem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ChainProblem {
    /// An intermediate is missing: nothing presented or trusted has this subject.
    MissingIntermediate { needed_issuer: String },
    /// Certificates were sent in an order other than leaf, its issuer, that one's issuer, ….
    OutOfOrder,
    /// The root (self-signed) certificate was sent too; harmless but wasteful.
    RootIncluded { subject: String },
    /// A certificate with the issuer's name was presented or trusted, but it is not the one that
    /// signed: its key identifier, key type or key does not match (typically a CA renewed with a
    /// new key, or an old copy of it uploaded).
    IssuerKeyMismatch { issuer: String },
}

/// openssl's `X509_V_ERR_*` numbers for the verdicts this module gives.
pub mod code {
    pub const OK: i32 = 0;
    pub const UNSPECIFIED: i32 = 1;
    pub const UNABLE_TO_GET_ISSUER_CERT: i32 = 2;
    pub const UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: i32 = 6;
    pub const CERT_SIGNATURE_FAILURE: i32 = 7;
    pub const CERT_NOT_YET_VALID: i32 = 9;
    pub const CERT_HAS_EXPIRED: i32 = 10;
    pub const DEPTH_ZERO_SELF_SIGNED_CERT: i32 = 18;
    pub const SELF_SIGNED_CERT_IN_CHAIN: i32 = 19;
    pub const UNABLE_TO_GET_ISSUER_CERT_LOCALLY: i32 = 20;
    pub const UNABLE_TO_VERIFY_LEAF_SIGNATURE: i32 = 21;
    pub const CERT_CHAIN_TOO_LONG: i32 = 22;
    pub const PATH_LENGTH_EXCEEDED: i32 = 25;
    pub const INVALID_PURPOSE: i32 = 26;
    pub const KEYUSAGE_NO_CERTSIGN: i32 = 32;
    pub const UNHANDLED_CRITICAL_EXTENSION: i32 = 34;
    pub const HOSTNAME_MISMATCH: i32 = 62;
    pub const IP_ADDRESS_MISMATCH: i32 = 64;
    /// OpenSSL 3 numbers "invalid CA certificate" 79 (24 is "issuer certificate doesn't have a public key").
    pub const INVALID_CA: i32 = 79;
}

/// openssl's text for a verification code (`X509_verify_cert_error_string` in OpenSSL 3.0).
pub fn code_name(code: i32) -> &'static str {
    match code {
        0 => "ok",
        1 => "unspecified certificate verification error",
        2 => "unable to get issuer certificate",
        3 => "unable to get certificate CRL",
        4 => "unable to decrypt certificate's signature",
        5 => "unable to decrypt CRL's signature",
        6 => "unable to decode issuer public key",
        7 => "certificate signature failure",
        8 => "CRL signature failure",
        9 => "certificate is not yet valid",
        10 => "certificate has expired",
        11 => "CRL is not yet valid",
        12 => "CRL has expired",
        13 => "format error in certificate's notBefore field",
        14 => "format error in certificate's notAfter field",
        15 => "format error in CRL's lastUpdate field",
        16 => "format error in CRL's nextUpdate field",
        17 => "out of memory",
        18 => "self-signed certificate",
        19 => "self-signed certificate in certificate chain",
        20 => "unable to get local issuer certificate",
        21 => "unable to verify the first certificate",
        22 => "certificate chain too long",
        23 => "certificate revoked",
        24 => "issuer certificate doesn't have a public key",
        25 => "path length constraint exceeded",
        26 => "unsuitable certificate purpose",
        27 => "certificate not trusted",
        28 => "certificate rejected",
        29 => "subject issuer mismatch",
        30 => "authority and subject key identifier mismatch",
        31 => "authority and issuer serial number mismatch",
        32 => "key usage does not include certificate signing",
        33 => "unable to get CRL issuer certificate",
        34 => "unhandled critical extension",
        35 => "key usage does not include CRL signing",
        36 => "unhandled critical CRL extension",
        37 => "invalid non-CA certificate (has CA markings)",
        38 => "proxy path length constraint exceeded",
        39 => "key usage does not include digital signature",
        40 => "proxy certificates not allowed, please set the appropriate flag",
        41 => "invalid or inconsistent certificate extension",
        42 => "invalid or inconsistent certificate policy extension",
        43 => "no explicit policy",
        44 => "different CRL scope",
        45 => "unsupported extension feature",
        46 => "RFC 3779 resource not subset of parent's resources",
        47 => "permitted subtree violation",
        48 => "excluded subtree violation",
        49 => "name constraints minimum and maximum not supported",
        50 => "application verification failure",
        51 => "unsupported name constraint type",
        52 => "unsupported or invalid name constraint syntax",
        53 => "unsupported or invalid name syntax",
        54 => "CRL path validation error",
        55 => "path loop",
        56 => "Suite B: certificate version invalid",
        57 => "Suite B: invalid public key algorithm",
        58 => "Suite B: invalid ECC curve",
        59 => "Suite B: invalid signature algorithm",
        60 => "Suite B: curve not allowed for this LOS",
        61 => "Suite B: cannot sign P-384 with P-256",
        62 => "hostname mismatch",
        63 => "email address mismatch",
        64 => "IP address mismatch",
        65 => "no matching DANE TLSA records",
        66 => "EE certificate key too weak",
        67 => "CA certificate key too weak",
        68 => "CA signature digest algorithm too weak",
        69 => "invalid certificate verification context",
        70 => "issuer certificate lookup error",
        71 => "Certificate Transparency required, but no valid SCTs found",
        72 => "proxy subject name violation",
        73 => "OCSP verification needed",
        74 => "OCSP verification failed",
        75 => "OCSP unknown cert",
        76 => "Cannot find certificate signature algorithm",
        77 => "subject signature algorithm and issuer public key algorithm mismatch",
        78 => "cert info signature and signature algorithm mismatch",
        79 => "invalid CA certificate",
        80 => "Path length invalid for non-CA cert",
        81 => "Path length given without key usage keyCertSign",
        82 => "Key usage keyCertSign invalid for non-CA cert",
        83 => "Issuer name empty",
        84 => "Subject name empty",
        85 => "Missing Authority Key Identifier",
        86 => "Missing Subject Key Identifier",
        87 => "Empty Subject Alternative Name extension",
        88 => "Subject empty and Subject Alt Name extension not critical",
        89 => "Basic Constraints of CA cert not marked critical",
        90 => "Authority Key Identifier marked critical",
        91 => "Subject Key Identifier marked critical",
        92 => "CA cert does not include key usage extension",
        93 => "Using cert extension requires at least X509v3",
        94 => "Certificate public key has explicit ECC parameters",
        _ => "unknown certificate verification error",
    }
}

/// A passing verdict with no path: the starting point for fixtures and for callers that judged
/// a chain by other means.
pub fn verdict_ok() -> Verdict {
    Verdict {
        ok: true,
        code: code::OK,
        code_name: code_name(code::OK).to_string(),
        reason: None,
        depth: None,
        path: Vec::new(),
        chain_problems: Vec::new(),
    }
}

impl Verdict {
    /// A verdict with openssl's `code` at `depth` and nothing else known (ok only for code 0).
    pub fn failure(code: i32, depth: Option<usize>) -> Verdict {
        Verdict { ok: code == 0, code, code_name: code_name(code).to_string(), depth, ..verdict_ok() }
    }

    /// Whether the problem list has a problem of the same kind as `problem` (fields ignored).
    pub fn has_problem(&self, problem: &ChainProblem) -> bool {
        self.chain_problems.iter().any(|p| std::mem::discriminant(p) == std::mem::discriminant(problem))
    }
}

impl TrustStore {
    /// A store of full CA certificates (a CA file, API Management's uploaded CA certificates).
    pub fn from_certs(source: &str, certs: Vec<Certificate>) -> Self {
        TrustStore { source: source.to_string(), certs, anchors: Vec::new() }
    }

    /// The operating system's trust store (rustls-native-certs; honours `SSL_CERT_FILE`/`SSL_CERT_DIR`).
    /// Certificates that cannot be parsed are skipped; it is an error when none load.
    pub fn system() -> Result<Self> {
        let loaded = rustls_native_certs::load_native_certs();
        let total = loaded.certs.len();
        let certs: Vec<Certificate> = loaded
            .certs
            .into_iter()
            .filter_map(|der| Certificate::from_der(der.to_vec(), "system trust store").ok())
            .collect();
        if certs.is_empty() {
            let why = match loaded.errors.first() {
                Some(e) => format!("no CA certificate could be loaded ({total} found; first error: {e})"),
                None => format!("no CA certificate could be loaded ({total} found)"),
            };
            return Err(Error::input("system trust store", why));
        }
        Ok(TrustStore::from_certs("system", certs))
    }

    /// Mozilla's CA list as shipped in webpki-roots: names and keys only.
    pub fn mozilla() -> Self {
        TrustStore {
            source: "mozilla".to_string(),
            certs: Vec::new(),
            anchors: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.certs.is_empty() && self.anchors.is_empty()
    }

    /// Number of trust anchors (certificates plus name-and-key anchors).
    pub fn len(&self) -> usize {
        self.certs.len() + self.anchors.len()
    }

    /// The anchors as rustls wants them. Certificates webpki cannot use as an anchor are left out
    /// (rustls would leave them out too).
    pub fn to_root_store(&self) -> rustls::RootCertStore {
        let mut store = rustls::RootCertStore::empty();
        for cert in &self.certs {
            // Skipping rather than failing mirrors `add_parsable_certificates`.
            let _ = store.add(CertificateDer::from(cert.der.as_slice()));
        }
        store.extend(self.anchors.iter().cloned());
        store
    }
}

/// Judge `presented` (leaf first, then whatever else was sent, in the order sent) against `trust`.
/// Never fails and never panics: whatever cannot be parsed or checked becomes part of the verdict.
pub fn verify_chain(presented: &[Certificate], trust: &TrustStore, role: Role, opts: &VerifyOptions) -> Verdict {
    let at = opts.at.unwrap_or_else(OffsetDateTime::now_utc);
    let host = opts.host.as_deref().map(str::trim).filter(|h| !h.is_empty());
    let roots = trust.to_root_store();

    let Some(leaf) = presented.first() else {
        return Verdict {
            ok: false,
            reason: Some("NoCertificatesPresented".to_string()),
            ..Verdict::failure(code::UNSPECIFIED, None)
        };
    };

    let reason = webpki_reason(presented, &roots.roots, role, host, at);

    // Node indices: presented certificates that parse, then trusted certificates, then anchors.
    let mut nodes = Vec::new();
    let Some(leaf_node) = Node::from_cert(&leaf.der, Origin::Presented(0)) else {
        return Verdict {
            ok: false,
            reason: reason.or_else(|| Some("BadDer".to_string())),
            path: vec![leaf.info.thumbprint_sha1.clone()],
            ..Verdict::failure(code::UNSPECIFIED, Some(0))
        };
    };
    nodes.push(leaf_node);
    let mut untrusted = Vec::new();
    for (i, cert) in presented.iter().enumerate().skip(1) {
        if let Some(node) = Node::from_cert(&cert.der, Origin::Presented(i)) {
            untrusted.push(nodes.len());
            nodes.push(node);
        }
    }
    let mut trusted = Vec::new();
    for cert in &trust.certs {
        if let Some(node) = Node::from_cert(&cert.der, Origin::Trusted) {
            trusted.push(nodes.len());
            nodes.push(node);
        }
    }
    for anchor in &trust.anchors {
        if let Some(node) = Node::from_anchor(anchor) {
            trusted.push(nodes.len());
            nodes.push(node);
        }
    }

    let emu = Emulation { nodes: &nodes, now: at.unix_timestamp(), role, host };
    let (chain, built) = emu.build_chain(&untrusted, &trusted);
    let outcome = match built {
        Err(e) => Err(e),
        Ok(()) => {
            emu.check_extensions(&chain).and_then(|()| emu.check_id(&chain)).and_then(|()| emu.internal_verify(&chain))
        }
    };

    let chain_problems = chain_problems(presented, &nodes, &chain, &untrusted, &trusted, &outcome);
    let path = chain.iter().map(|&i| nodes[i].thumbprint.clone()).collect();
    let (code, depth) = match outcome {
        Ok(()) => (code::OK, None),
        Err(e) => (e.code, Some(e.depth)),
    };
    Verdict { ok: code == code::OK, code, code_name: code_name(code).to_string(), reason, depth, path, chain_problems }
}

/// What rustls (webpki) says about the chain: the error variant's name, or None when it accepts it.
fn webpki_reason(
    presented: &[Certificate],
    roots: &[TrustAnchor<'static>],
    role: Role,
    host: Option<&str>,
    at: OffsetDateTime,
) -> Option<String> {
    let leaf = presented.first()?;
    let leaf_der = CertificateDer::from(leaf.der.as_slice());
    let ee = match webpki::EndEntityCert::try_from(&leaf_der) {
        Ok(ee) => ee,
        Err(e) => return Some(variant_name(&e)),
    };
    let intermediates: Vec<CertificateDer<'_>> =
        presented.iter().skip(1).map(|c| CertificateDer::from(c.der.as_slice())).collect();
    let secs = u64::try_from(at.unix_timestamp()).unwrap_or(0);
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
    let usage = match role {
        Role::Server => webpki::KeyUsage::server_auth(),
        Role::Client => webpki::KeyUsage::client_auth(),
    };
    if let Err(e) = ee.verify_for_usage(verification_algorithms(), roots, &intermediates, time, usage, None, None) {
        return Some(variant_name(&e));
    }
    if let Some(host) = host {
        let name = match ServerName::try_from(host) {
            Ok(n) => n,
            Err(_) => return Some("InvalidDnsName".to_string()),
        };
        if let Err(e) = ee.verify_is_valid_for_subject_name(&name) {
            return Some(variant_name(&e));
        }
    }
    None
}

/// The signature algorithms rustls' aws-lc-rs provider verifies certificates with.
fn verification_algorithms() -> &'static [&'static dyn SignatureVerificationAlgorithm] {
    rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms.all
}

/// `CertExpired { time: …, not_after: … }` -> `CertExpired`: the variant is stable, the context is noise.
fn variant_name(e: &impl std::fmt::Debug) -> String {
    let full = format!("{e:?}");
    full.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap_or_default().to_string()
}

fn chain_problems(
    presented: &[Certificate],
    nodes: &[Node],
    chain: &[usize],
    untrusted: &[usize],
    trusted: &[usize],
    outcome: &std::result::Result<(), VerifyError>,
) -> Vec<ChainProblem> {
    let mut problems = Vec::new();

    // When the chain stops at a certificate whose issuer nobody has, say which name is needed; when
    // somebody has that name but is not the issuer, say so instead: the fixes differ.
    if let Err(e) = outcome {
        let stuck = match e.code {
            code::UNABLE_TO_GET_ISSUER_CERT
            | code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY
            | code::UNABLE_TO_VERIFY_LEAF_SIGNATURE => chain.last().copied(),
            code::CERT_SIGNATURE_FAILURE => chain.get(e.depth).copied(),
            _ => None,
        };
        if let Some(top) = stuck {
            let node = &nodes[top];
            let named = untrusted.iter().chain(trusted).any(|&i| i != top && nodes[i].subject == node.issuer);
            if named || e.code == code::CERT_SIGNATURE_FAILURE {
                problems.push(ChainProblem::IssuerKeyMismatch { issuer: node.issuer_dotnet.clone() });
            } else {
                problems.push(ChainProblem::MissingIntermediate { needed_issuer: node.issuer_dotnet.clone() });
            }
        }
    }

    // TLS 1.2 requires each certificate to certify the one before it; a presented certificate
    // that made it into the path must therefore sit at its path position.
    let out_of_order = chain.iter().enumerate().skip(1).any(|(pos, &i)| {
        let tp = &nodes[i].thumbprint;
        presented.iter().enumerate().skip(1).any(|(at, c)| &c.info.thumbprint_sha1 == tp && at != pos)
    });
    if out_of_order {
        problems.push(ChainProblem::OutOfOrder);
    }

    for cert in presented.iter().skip(1) {
        if cert.info.self_signed {
            problems.push(ChainProblem::RootIncluded { subject: cert.info.subject.clone() });
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// The openssl emulation.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Presented(usize),
    Trusted,
    /// A name-and-key anchor: no certificate, no extensions, no validity.
    Anchor,
}

/// A name as `X509_NAME_cmp` compares it: per RDN, per attribute, the OID and the canonical value.
type CanonName = Vec<Vec<(String, u8, Vec<u8>)>>;

#[derive(Debug, Clone)]
struct Spki {
    /// DER of the whole SubjectPublicKeyInfo.
    raw: Vec<u8>,
    /// Contents of the AlgorithmIdentifier (what `SignatureVerificationAlgorithm::public_key_alg_id` holds).
    alg_id: Vec<u8>,
    /// The subjectPublicKey bits.
    key: Vec<u8>,
    alg_oid: String,
    rsa_bits: Option<usize>,
}

#[derive(Debug, Clone, Default)]
struct Akid {
    key_id: Option<Vec<u8>>,
    issuer: Option<CanonName>,
    serial: Option<Vec<u8>>,
}

/// The facts about one certificate that openssl's checks read (its `ex_flags` and friends).
#[derive(Debug, Clone)]
struct Node {
    origin: Origin,
    der: Vec<u8>,
    thumbprint: String,
    subject: CanonName,
    issuer: CanonName,
    subject_raw: Vec<u8>,
    issuer_dotnet: String,
    spki: Spki,
    tbs: Vec<u8>,
    /// Contents of the outer signatureAlgorithm, and the OIDs of it and of the TBS copy.
    sig_alg_id: Vec<u8>,
    sig_oid: String,
    tbs_sig_alg_raw: Vec<u8>,
    outer_sig_alg_raw: Vec<u8>,
    signature: Vec<u8>,
    not_before: i64,
    not_after: i64,
    serial: Vec<u8>,
    v1: bool,
    /// basicConstraints: (cA, pathLenConstraint).
    basic_constraints: Option<(bool, Option<u32>)>,
    /// keyUsage in openssl's `KU_*` bits.
    key_usage: Option<u16>,
    /// extendedKeyUsage in openssl's `XKU_*` bits.
    ext_key_usage: Option<u32>,
    /// Netscape cert type in openssl's `NS_*` bits.
    ns_cert_type: Option<u8>,
    ski: Option<Vec<u8>>,
    akid: Option<Akid>,
    unhandled_critical: bool,
    dns_sans: Vec<String>,
    ip_sans: Vec<Vec<u8>>,
    has_dns_san: bool,
    common_names: Vec<String>,
    /// openssl's EXFLAG_SI: subject equals issuer.
    self_issued: bool,
    /// openssl's EXFLAG_SS: self-issued, its own AKID matches, and its key type fits its signature.
    self_signed: bool,
}

// openssl's KU_*, XKU_* and NS_* bits (x509v3.h).
const KU_DIGITAL_SIGNATURE: u16 = 0x0080;
const KU_KEY_ENCIPHERMENT: u16 = 0x0020;
const KU_KEY_AGREEMENT: u16 = 0x0008;
const KU_KEY_CERT_SIGN: u16 = 0x0004;
const XKU_SSL_SERVER: u32 = 0x1;
const XKU_SSL_CLIENT: u32 = 0x2;
const XKU_SGC: u32 = 0x10;
const NS_SSL_CLIENT: u8 = 0x80;
const NS_SSL_SERVER: u8 = 0x40;
const NS_SSL_CA: u8 = 0x04;
const NS_ANY_CA: u8 = 0x07;

/// Extensions OpenSSL 3.0 understands; any other marked critical is "unhandled" (`X509_supported_extension`).
const SUPPORTED_EXTENSIONS: &[&str] = &[
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
    fn from_cert(der: &[u8], origin: Origin) -> Option<Node> {
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

    fn from_anchor(anchor: &TrustAnchor<'_>) -> Option<Node> {
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

    fn is_anchor(&self) -> bool {
        self.origin == Origin::Anchor
    }

    fn is_trusted(&self) -> bool {
        matches!(self.origin, Origin::Trusted | Origin::Anchor)
    }

    fn ku_rejects(&self, usage: u16) -> bool {
        self.key_usage.is_some_and(|ku| ku & usage == 0)
    }

    fn xku_rejects(&self, usage: u32) -> bool {
        self.ext_key_usage.is_some_and(|x| x & usage == 0)
    }

    fn ns_rejects(&self, usage: u8) -> bool {
        self.ns_cert_type.is_some_and(|ns| ns & usage == 0)
    }

    /// `check_ca`: 0 not a CA, 1 basicConstraints cA, 3 v1 root, 4 keyUsage only, 5 Netscape CA.
    fn ca_kind(&self) -> u8 {
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
    fn purpose(&self, role: Role, require_ca: bool) -> u8 {
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

    fn valid_at(&self, now: i64) -> bool {
        self.not_before <= now && now < self.not_after
    }
}

/// `X509_check_akid(issuer, akid)`: whatever identifiers the AKID carries must match the issuer.
fn akid_matches(issuer: &Node, akid: Option<&Akid>) -> bool {
    let Some(akid) = akid else { return true };
    if let (Some(want), Some(have)) = (&akid.key_id, &issuer.ski) {
        if want != have {
            return false;
        }
    }
    if let Some(serial) = &akid.serial {
        if strip_leading_zeros(serial) != strip_leading_zeros(&issuer.serial) {
            return false;
        }
    }
    if let Some(name) = &akid.issuer {
        if name != &issuer.issuer {
            return false;
        }
    }
    true
}

fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[start..]
}

/// openssl's `check_sig_alg_match`: the subject's signature algorithm must be one the issuer's
/// key type can make (an RSA key may also sign RSA-PSS).
fn sig_alg_matches(issuer_key: &Spki, sig_oid: &str) -> bool {
    const RSA: &str = "1.2.840.113549.1.1.1";
    const RSA_PSS: &str = "1.2.840.113549.1.1.10";
    let want = match sig_oid {
        "1.2.840.113549.1.1.2"
        | "1.2.840.113549.1.1.3"
        | "1.2.840.113549.1.1.4"
        | "1.2.840.113549.1.1.5"
        | "1.2.840.113549.1.1.11"
        | "1.2.840.113549.1.1.12"
        | "1.2.840.113549.1.1.13"
        | "1.2.840.113549.1.1.14"
        | "1.2.840.113549.1.1.15"
        | "1.2.840.113549.1.1.16"
        | "1.3.14.3.2.29" => RSA,
        RSA_PSS => return issuer_key.alg_oid == RSA_PSS || issuer_key.alg_oid == RSA,
        "1.2.840.10045.4.1"
        | "1.2.840.10045.4.3.1"
        | "1.2.840.10045.4.3.2"
        | "1.2.840.10045.4.3.3"
        | "1.2.840.10045.4.3.4" => "1.2.840.10045.2.1",
        "1.3.101.112" => "1.3.101.112",
        "1.3.101.113" => "1.3.101.113",
        "1.2.840.10040.4.3" | "2.16.840.1.101.3.4.3.1" | "2.16.840.1.101.3.4.3.2" => "1.2.840.10040.4.1",
        _ => return false,
    };
    issuer_key.alg_oid == want
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SigCheck {
    Valid,
    Invalid,
    /// Neither rustls' algorithms nor x509-parser's can check it: no claim either way.
    Unsupported,
}

/// Verify `subject`'s signature with `issuer_key`, as `X509_verify` would.
fn check_signature(subject: &Node, issuer_key: &Spki) -> SigCheck {
    // X509_verify refuses a certificate whose two copies of the algorithm differ.
    if subject.tbs_sig_alg_raw != subject.outer_sig_alg_raw {
        return SigCheck::Invalid;
    }
    let mut known = false;
    for alg in verification_algorithms() {
        if alg.signature_alg_id().as_ref() == subject.sig_alg_id.as_slice()
            && alg.public_key_alg_id().as_ref() == issuer_key.alg_id.as_slice()
        {
            known = true;
            if alg.verify_signature(&issuer_key.key, &subject.tbs, &subject.signature).is_ok() {
                return SigCheck::Valid;
            }
        }
    }
    // rustls only takes RSA keys of 2048 bits and up; openssl takes smaller ones. Say nothing.
    if known && issuer_key.rsa_bits.is_some_and(|b| b < 2048) {
        return SigCheck::Unsupported;
    }
    if known {
        return SigCheck::Invalid;
    }
    let Ok((_, cert)) = X509Certificate::from_der(&subject.der) else { return SigCheck::Invalid };
    let Ok((_, spki)) = SubjectPublicKeyInfo::from_der(&issuer_key.raw) else { return SigCheck::Invalid };
    match cert.verify_signature(Some(&spki)) {
        Ok(()) => SigCheck::Valid,
        Err(x509_parser::error::X509Error::SignatureUnsupportedAlgorithm) => SigCheck::Unsupported,
        Err(_) => SigCheck::Invalid,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct VerifyError {
    code: i32,
    depth: usize,
}

fn fail(code: i32, depth: usize) -> std::result::Result<(), VerifyError> {
    Err(VerifyError { code, depth })
}

/// openssl's default verify depth is 100; it builds one further to tell "too long".
const MAX_DEPTH: usize = 101;

struct Emulation<'a> {
    nodes: &'a [Node],
    now: i64,
    role: Role,
    host: Option<&'a str>,
}

impl Emulation<'_> {
    /// openssl's `check_issued` (`ossl_x509_likely_issued`): names, AKID, key type. A name-and-key
    /// anchor has no key identifier to compare, so its signature decides.
    fn issued_by(&self, subject: usize, issuer: usize) -> bool {
        let (s, i) = (&self.nodes[subject], &self.nodes[issuer]);
        if s.is_anchor() || i.subject != s.issuer {
            return false;
        }
        if i.is_anchor() {
            return check_signature(s, &i.spki) == SigCheck::Valid;
        }
        akid_matches(i, s.akid.as_ref()) && sig_alg_matches(&i.spki, &s.sig_oid)
    }

    /// `get0_best_issuer_sk`: the first candidate that issued `x` and is valid now, else the one
    /// expiring last.
    fn best_issuer(&self, candidates: &[usize], x: usize, chain: &[usize], no_dup: bool) -> Option<usize> {
        let mut fallback: Option<usize> = None;
        for &c in candidates {
            if no_dup && !(self.nodes[x].self_issued && chain.len() == 1) && chain.iter().any(|&k| self.same(k, c)) {
                continue;
            }
            if !self.issued_by(x, c) {
                continue;
            }
            if self.nodes[c].valid_at(self.now) {
                return Some(c);
            }
            if fallback.is_none_or(|f| self.nodes[c].not_after > self.nodes[f].not_after) {
                fallback = Some(c);
            }
        }
        fallback
    }

    /// `X509_cmp`: the same certificate (for anchors: same name and key).
    fn same(&self, a: usize, b: usize) -> bool {
        let (x, y) = (&self.nodes[a], &self.nodes[b]);
        if x.is_anchor() || y.is_anchor() {
            return x.subject_raw == y.subject_raw && x.spki.raw == y.spki.raw;
        }
        x.der == y.der
    }

    /// `check_trust` without auxiliary trust settings: a self-signed certificate from the store
    /// at or above `from` makes the chain trusted.
    fn check_trust(&self, chain: &[usize], from: usize) -> bool {
        chain.iter().skip(from).any(|&i| self.nodes[i].is_trusted() && self.nodes[i].self_signed)
    }

    /// `build_chain` with openssl's defaults (trusted first, no partial chains). Returns the chain
    /// (node indices, leaf first) and the chain-building error.
    fn build_chain(
        &self,
        untrusted: &[usize],
        trusted: &[usize],
    ) -> (Vec<usize>, std::result::Result<(), VerifyError>) {
        let mut chain = vec![0usize];
        let mut num_untrusted = 1usize;
        let mut pool = untrusted.to_vec();
        let mut search_untrusted = !pool.is_empty();
        let mut search_trusted = true;
        let mut is_trusted = false;

        while search_untrusted || search_trusted {
            if search_trusted {
                let num = chain.len();
                let curr = chain[num - 1];
                // Trusted lookups do not skip certificates already in the chain.
                let found = if num > MAX_DEPTH { None } else { self.best_issuer(trusted, curr, &[], false) };
                if let Some(issuer) = found {
                    let curr_ss = self.nodes[curr].self_signed;
                    let (accepted, ss, from) = if !curr_ss {
                        chain.push(issuer);
                        (true, self.nodes[issuer].self_signed, num)
                    } else if self.same(curr, issuer) {
                        // A self-signed certificate that is itself in the store becomes the anchor.
                        chain[num - 1] = issuer;
                        num_untrusted = num - 1;
                        (true, true, num - 1)
                    } else {
                        // A self-signed look-alike of a trusted certificate is not trusted.
                        (false, curr_ss, num)
                    };
                    if accepted {
                        search_untrusted = false;
                        is_trusted = self.check_trust(&chain, from);
                        if is_trusted {
                            break;
                        }
                        if !ss {
                            continue;
                        }
                    }
                }
                if !search_untrusted {
                    break;
                }
            }
            if search_untrusted {
                let num = chain.len();
                let curr = chain[num - 1];
                let found = if self.nodes[curr].self_signed || num > MAX_DEPTH {
                    None
                } else {
                    self.best_issuer(&pool, curr, &chain, true)
                };
                match found {
                    None => {
                        search_untrusted = false;
                        search_trusted = true;
                    }
                    Some(issuer) => {
                        pool.retain(|&p| p != issuer);
                        chain.push(issuer);
                        num_untrusted += 1;
                    }
                }
            }
        }

        if is_trusted {
            return (chain, Ok(()));
        }
        let num = chain.len();
        let top = num - 1;
        let err = if num > MAX_DEPTH {
            code::CERT_CHAIN_TOO_LONG
        } else if self.nodes[chain[top]].self_signed {
            if num == 1 {
                code::DEPTH_ZERO_SELF_SIGNED_CERT
            } else {
                code::SELF_SIGNED_CERT_IN_CHAIN
            }
        } else if num_untrusted < num {
            code::UNABLE_TO_GET_ISSUER_CERT
        } else {
            code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        };
        (chain, fail(err, top))
    }

    /// `check_extensions`: unhandled critical extensions, CA-ness above the leaf, purpose, path length.
    fn check_extensions(&self, chain: &[usize]) -> std::result::Result<(), VerifyError> {
        let num = chain.len();
        let mut plen = 0u64;
        for (i, &n) in chain.iter().enumerate() {
            let x = &self.nodes[n];
            if x.is_anchor() {
                continue;
            }
            if x.unhandled_critical {
                return fail(code::UNHANDLED_CRITICAL_EXTENSION, i);
            }
            if i > 0 {
                let kind = x.ca_kind();
                // Intermediates must be real CAs; the top one may be a v1 or keyUsage-only CA.
                if kind == 0 || (i + 1 < num && kind != 1) {
                    return fail(code::INVALID_CA, i);
                }
            }
            if x.purpose(self.role, i > 0) == 0 {
                return fail(code::INVALID_PURPOSE, i);
            }
            if let Some((_, Some(max))) = x.basic_constraints {
                if i > 1 && plen > u64::from(max) {
                    return fail(code::PATH_LENGTH_EXCEEDED, i);
                }
            }
            if i > 0 && !x.self_issued {
                plen += 1;
            }
        }
        Ok(())
    }

    /// `check_id`: the hostname (or IP address) the caller connected to.
    fn check_id(&self, chain: &[usize]) -> std::result::Result<(), VerifyError> {
        let Some(host) = self.host else { return Ok(()) };
        let leaf = &self.nodes[chain[0]];
        if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() {
            let want = match ip {
                std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
                std::net::IpAddr::V6(v6) => v6.octets().to_vec(),
            };
            if leaf.ip_sans.contains(&want) {
                return Ok(());
            }
            return fail(code::IP_ADDRESS_MISMATCH, 0);
        }
        if host_matches(leaf, host) {
            Ok(())
        } else {
            fail(code::HOSTNAME_MISMATCH, 0)
        }
    }

    /// `internal_verify`: from the top of the chain down, each signature then each validity period.
    fn internal_verify(&self, chain: &[usize]) -> std::result::Result<(), VerifyError> {
        let Some(mut n) = chain.len().checked_sub(1) else { return Ok(()) };
        let mut xi = chain[n];
        let mut xs;
        if self.nodes[xi].is_anchor() || self.issued_by(xi, xi) {
            xs = xi;
        } else if n == 0 {
            return fail(code::UNABLE_TO_VERIFY_LEAF_SIGNATURE, 0);
        } else {
            n -= 1;
            xs = chain[n];
        }
        loop {
            if xs != xi {
                let issuer = &self.nodes[xi];
                if issuer.ku_rejects(KU_KEY_CERT_SIGN) {
                    return fail(code::KEYUSAGE_NO_CERTSIGN, n + 1);
                }
                match check_signature(&self.nodes[xs], &issuer.spki) {
                    SigCheck::Invalid => return fail(code::CERT_SIGNATURE_FAILURE, n),
                    SigCheck::Valid | SigCheck::Unsupported => {}
                }
            }
            self.check_time(xs, n)?;
            if n == 0 {
                return Ok(());
            }
            n -= 1;
            xi = xs;
            xs = chain[n];
        }
    }

    fn check_time(&self, node: usize, depth: usize) -> std::result::Result<(), VerifyError> {
        let x = &self.nodes[node];
        if x.is_anchor() {
            return Ok(());
        }
        if x.not_before > self.now {
            return fail(code::CERT_NOT_YET_VALID, depth);
        }
        if x.not_after <= self.now {
            return fail(code::CERT_HAS_EXPIRED, depth);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Hostnames as `X509_check_host` matches them with default flags.

fn host_matches(leaf: &Node, host: &str) -> bool {
    let host = host.as_bytes();
    if leaf.has_dns_san {
        return leaf.dns_sans.iter().any(|p| equal_wildcard(p.as_bytes(), host));
    }
    // Subject CNs count only when there is no DNS SAN at all.
    leaf.common_names.iter().any(|cn| equal_wildcard(cn.as_bytes(), host))
}

fn equal_nocase(pattern: &[u8], subject: &[u8]) -> bool {
    pattern.len() == subject.len()
        && !pattern.contains(&0)
        && pattern.iter().zip(subject).all(|(a, b)| a.eq_ignore_ascii_case(b))
}

fn equal_wildcard(pattern: &[u8], subject: &[u8]) -> bool {
    // A subject starting with '.' is a domain suffix, never a wildcard match.
    let star = if subject.len() > 1 && subject[0] == b'.' { None } else { valid_star(pattern) };
    match star {
        None => equal_nocase(pattern, subject),
        Some(at) => wildcard_match(&pattern[..at], &pattern[at + 1..], subject),
    }
}

/// Where the one allowed `*` is: in the first label, at its start or end, not in an IDNA label,
/// with at least two more labels after it.
fn valid_star(p: &[u8]) -> Option<usize> {
    let mut star = None;
    let mut label_start = true;
    let mut idna = false;
    let mut hyphen = false;
    let mut dots = 0;
    for (i, &c) in p.iter().enumerate() {
        if c == b'*' {
            let at_end = i + 1 == p.len() || p[i + 1] == b'.';
            if star.is_some() || idna || dots > 0 || (!label_start && !at_end) {
                return None;
            }
            star = Some(i);
            label_start = false;
        } else if c.is_ascii_alphanumeric() {
            if label_start && p.len() - i >= 4 && p[i..i + 4].eq_ignore_ascii_case(b"xn--") {
                idna = true;
            }
            hyphen = false;
            label_start = false;
        } else if c == b'.' {
            if hyphen || label_start {
                return None;
            }
            label_start = true;
            idna = false;
            dots += 1;
        } else if c == b'-' {
            if label_start {
                return None;
            }
            hyphen = true;
        } else {
            return None;
        }
    }
    if label_start || hyphen || dots < 2 {
        return None;
    }
    star
}

fn wildcard_match(prefix: &[u8], suffix: &[u8], subject: &[u8]) -> bool {
    if subject.len() < prefix.len() + suffix.len() {
        return false;
    }
    if !equal_nocase(prefix, &subject[..prefix.len()]) {
        return false;
    }
    let wild_end = subject.len() - suffix.len();
    if !equal_nocase(&subject[wild_end..], suffix) {
        return false;
    }
    let wild = &subject[prefix.len()..wild_end];
    let whole_label = prefix.is_empty() && suffix.first() == Some(&b'.');
    if whole_label && wild.is_empty() {
        return false;
    }
    if !whole_label && subject.len() >= 4 && subject[..4].eq_ignore_ascii_case(b"xn--") {
        return false;
    }
    if wild == b"*" {
        return true;
    }
    wild.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

// ---------------------------------------------------------------------------------------------
// Names and DER.

/// A name in `X509_NAME_cmp`'s canonical form: string values in UTF-8, trimmed, inner whitespace
/// collapsed to one space, ASCII lowercased; other values as tag plus bytes.
fn canon_name(name: &X509Name<'_>) -> CanonName {
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
fn asn1_string_text(tag: u32, data: &[u8]) -> Option<String> {
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

fn spki_of(spki: &SubjectPublicKeyInfo<'_>) -> Option<Spki> {
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
struct CertParts<'a> {
    /// The whole TBSCertificate: the signed bytes.
    tbs: &'a [u8],
    /// The whole outer signatureAlgorithm, and its contents.
    sig_alg_whole: &'a [u8],
    sig_alg_body: &'a [u8],
    signature: &'a [u8],
}

/// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }.
fn split_certificate(der: &[u8]) -> Option<CertParts<'_>> {
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
fn tbs_signature_algorithm(tbs: &[u8]) -> Option<&[u8]> {
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

/// Read one DER element (single-byte tags only; lengths up to four bytes).
fn der_tlv(input: &[u8]) -> Option<Tlv<'_>> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    let header = input.len() - rest.len();
    Some(Tlv { tag, body: &rest[..len], whole: &input[..header + len], rest: &rest[len..] })
}

fn der_wrap(tag: u8, body: &[u8]) -> Vec<u8> {
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
    fn code_names_match_openssl_3() {
        assert_eq!(code_name(0), "ok");
        assert_eq!(code_name(2), "unable to get issuer certificate");
        assert_eq!(code_name(18), "self-signed certificate");
        assert_eq!(code_name(19), "self-signed certificate in certificate chain");
        assert_eq!(code_name(20), "unable to get local issuer certificate");
        assert_eq!(code_name(21), "unable to verify the first certificate");
        assert_eq!(code_name(26), "unsuitable certificate purpose");
        assert_eq!(code_name(62), "hostname mismatch");
        assert_eq!(code_name(79), "invalid CA certificate");
        assert_eq!(code_name(-5), "unknown certificate verification error");
    }

    #[test]
    fn wildcards_follow_x509_check_host() {
        let m = |p: &str, h: &str| equal_wildcard(p.as_bytes(), h.as_bytes());
        assert!(m("*.example.com", "api.example.com"));
        assert!(m("*.example.com", "API.Example.COM"));
        assert!(!m("*.example.com", "a.b.example.com"));
        assert!(!m("*.example.com", "example.com"));
        assert!(!m("*.com", "example.com"), "a wildcard needs two labels after it");
        assert!(m("api*.example.com", "api1.example.com"), "partial wildcards are allowed by default");
        assert!(!m("a*b.example.com", "axb.example.com"), "no wildcard inside a label");
        assert!(!m("xn--*.example.com", "xn--a.example.com"), "no wildcard in an IDNA label");
        assert!(!m("api.example.com", "api.example.com."), "a trailing dot is not stripped");
        assert!(m("api.example.com", "API.EXAMPLE.COM"));
    }

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

    #[test]
    fn variant_names_drop_context() {
        #[derive(Debug)]
        #[allow(dead_code)]
        enum E {
            CertExpired { time: u64 },
            UnknownIssuer,
            CertNotValidForName(u8),
        }
        assert_eq!(variant_name(&E::CertExpired { time: 1 }), "CertExpired");
        assert_eq!(variant_name(&E::UnknownIssuer), "UnknownIssuer");
        assert_eq!(variant_name(&E::CertNotValidForName(3)), "CertNotValidForName");
    }

    #[test]
    fn empty_chain_is_a_verdict_not_a_panic() {
        let v = verify_chain(&[], &TrustStore::mozilla(), Role::Client, &VerifyOptions::default());
        assert!(!v.ok);
        assert_eq!(v.code, code::UNSPECIFIED);
        assert_eq!(v.reason.as_deref(), Some("NoCertificatesPresented"));
    }
}
