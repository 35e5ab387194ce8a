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
//!
//! Where each part lives: [`code`] openssl's numbers and texts; `node` the facts parsed from one
//! certificate; `openssl` chain building and the checks in openssl's order; `signature` who signed
//! what; `host` `X509_check_host`; `der` names and the DER reads. This file holds the public types,
//! the trust store, webpki's second opinion and the structural chain problems.

use rustls_pki_types::{CertificateDer, ServerName, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cert::Certificate;
use crate::error::{Error, Result};

mod der;
mod host;
mod node;
mod openssl;
mod sigcache;
mod signature;

pub mod code;
pub use code::code_name;

use node::{Node, Origin};
use openssl::{Emulation, VerifyError};

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
    /// Full CA certificates when known (files, system store). Shared: every probe of a sweep
    /// holds the store, and a clone must not copy the system store's certificates.
    pub certs: std::sync::Arc<Vec<Certificate>>,
    /// Anchors that are only name + key (webpki-roots); empty for file-based stores.
    pub anchors: Vec<rustls_pki_types::TrustAnchor<'static>>,
    /// The anchors parsed for verification, built on first use and shared by every clone of the
    /// store (every probe of a sweep), so the system store is parsed once, not once per probe.
    pub prepared: Prepared,
}

/// The trust store parsed once: webpki's anchors and the openssl emulation's nodes. Clones share
/// it. It remembers which certificates it was built from; a store whose `certs` or `anchors` were
/// replaced after it was built is parsed afresh for each verification instead of using stale anchors.
#[derive(Clone, Default)]
pub struct Prepared(std::sync::Arc<std::sync::OnceLock<Anchors>>);

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() { "Prepared(built)" } else { "Prepared(not built)" })
    }
}

/// What [`verify_chain`] needs from a trust store, parsed.
#[derive(Clone)]
struct Anchors {
    /// The certificates these were built from (compared by pointer) and the anchor count.
    from: (std::sync::Arc<Vec<Certificate>>, usize),
    /// webpki's trust anchors (what `to_root_store` holds).
    roots: Vec<TrustAnchor<'static>>,
    /// The openssl emulation's trusted nodes: certificates that parse, then name-and-key anchors.
    nodes: Vec<Node>,
}

impl Anchors {
    fn build(trust: &TrustStore) -> Anchors {
        let roots = trust.to_root_store().roots;
        let certs = trust.certs.iter().filter_map(|c| Node::from_cert(&c.der, Origin::Trusted));
        let nodes = certs.chain(trust.anchors.iter().filter_map(Node::from_anchor)).collect();
        Anchors { from: (trust.certs.clone(), trust.anchors.len()), roots, nodes }
    }

    fn fits(&self, trust: &TrustStore) -> bool {
        std::sync::Arc::ptr_eq(&self.from.0, &trust.certs) && self.from.1 == trust.anchors.len()
    }
}

/// The parsed anchors of `trust`: the shared ones when they fit, else parsed for this call.
fn anchors_of(trust: &TrustStore) -> std::borrow::Cow<'_, Anchors> {
    let shared = trust.prepared.0.get_or_init(|| Anchors::build(trust));
    if shared.fits(trust) {
        std::borrow::Cow::Borrowed(shared)
    } else {
        std::borrow::Cow::Owned(Anchors::build(trust))
    }
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
        Verdict { ok: code == code::OK, code, code_name: code_name(code).to_string(), depth, ..verdict_ok() }
    }

    /// Whether the problem list has a problem of the same kind as `problem` (fields ignored).
    pub fn has_problem(&self, problem: &ChainProblem) -> bool {
        self.chain_problems.iter().any(|p| std::mem::discriminant(p) == std::mem::discriminant(problem))
    }

    /// The issuers nothing presented or trusted supplies (each `MissingIntermediate`), in order.
    pub fn missing_issuers(&self) -> Vec<&str> {
        self.chain_problems
            .iter()
            .filter_map(|p| match p {
                ChainProblem::MissingIntermediate { needed_issuer } => Some(needed_issuer.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// Parse a store's certificates (in their order, unparseable ones skipped) on up to four threads:
/// a system store of about 140 roots took about 16 ms of CPU on one, most of it checking each
/// root's own signature (`CertInfo::self_signed`).
fn parse_in_parallel(ders: &[rustls_pki_types::CertificateDer<'static>]) -> Vec<Certificate> {
    let parse = |chunk: &[rustls_pki_types::CertificateDer<'static>]| -> Vec<Certificate> {
        chunk.iter().filter_map(|der| Certificate::from_der(der.to_vec(), "system trust store").ok()).collect()
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from).min(4);
    if threads < 2 || ders.len() < 32 {
        return parse(ders);
    }
    let per = ders.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut chunks = ders.chunks(per);
        let first = chunks.next().unwrap_or_default();
        // A thread that cannot be started leaves its share to this one.
        let others: Vec<_> = chunks
            .map(|chunk| {
                (
                    chunk,
                    std::thread::Builder::new().name("trust store".into()).spawn_scoped(scope, move || parse(chunk)),
                )
            })
            .collect();
        let mut out = parse(first);
        for (chunk, handle) in others {
            match handle.map(|h| h.join()) {
                Ok(Ok(parsed)) => out.extend(parsed),
                _ => out.extend(parse(chunk)),
            }
        }
        out
    })
}

impl TrustStore {
    /// A store of full CA certificates (a CA file, API Management's uploaded CA certificates).
    pub fn from_certs(source: &str, certs: Vec<Certificate>) -> Self {
        TrustStore {
            source: source.to_string(),
            certs: std::sync::Arc::new(certs),
            anchors: Vec::new(),
            prepared: Prepared::default(),
        }
    }

    /// The operating system's trust store (rustls-native-certs; honours `SSL_CERT_FILE`/`SSL_CERT_DIR`).
    /// Certificates that cannot be parsed are skipped; it is an error when none load.
    pub fn system() -> Result<Self> {
        let loaded = rustls_native_certs::load_native_certs();
        let total = loaded.certs.len();
        let certs = parse_in_parallel(&loaded.certs);
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
            certs: Default::default(),
            anchors: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            prepared: Prepared::default(),
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
        for cert in self.certs.iter() {
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
    let Some(leaf) = presented.first() else {
        return Verdict {
            ok: false,
            reason: Some("NoCertificatesPresented".to_string()),
            ..Verdict::failure(code::UNSPECIFIED, None)
        };
    };

    let prepared = anchors_of(trust);
    let reason = webpki_reason(presented, &prepared.roots, role, host, at);

    // Node indices: presented certificates that parse, then the trusted nodes (certificates, then
    // anchors), which are parsed once per store and borrowed here.
    let Some(leaf_node) = Node::from_presented(&leaf.der, Origin::Presented(0)) else {
        return Verdict {
            ok: false,
            reason: reason.or_else(|| Some("BadDer".to_string())),
            path: vec![leaf.info.thumbprint_sha1.clone()],
            ..Verdict::failure(code::UNSPECIFIED, Some(0))
        };
    };
    let mut owned = vec![leaf_node];
    owned.extend(
        presented.iter().enumerate().skip(1).filter_map(|(i, c)| Node::from_presented(&c.der, Origin::Presented(i))),
    );
    let untrusted: Vec<usize> = (1..owned.len()).collect();
    let trusted: Vec<usize> = (owned.len()..owned.len() + prepared.nodes.len()).collect();
    let nodes: Vec<&Node> = owned.iter().chain(prepared.nodes.iter()).collect();

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

/// The signature algorithms rustls' aws-lc-rs provider verifies certificates with, each answer
/// remembered (`sigcache`): a sweep's targets share their issuers' signatures.
fn verification_algorithms() -> &'static [&'static dyn SignatureVerificationAlgorithm] {
    sigcache::algorithms()
}

/// `CertExpired { time: …, not_after: … }` -> `CertExpired`: the variant is stable, the context is noise.
fn variant_name(e: &impl std::fmt::Debug) -> String {
    let full = format!("{e:?}");
    full.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap_or_default().to_string()
}

fn chain_problems(
    presented: &[Certificate],
    nodes: &[&Node],
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The store parsed on several threads is the store parsed on one, in the same order, an
    /// unparseable entry skipped wherever it falls.
    #[test]
    fn the_store_parsed_in_parallel_is_the_same_store() {
        let mut ders = rustls_native_certs::load_native_certs().certs;
        // A machine without a store still gets a store of several threads' worth.
        while ders.len() < 40 {
            let name = format!("Root {}", ders.len());
            ders.push(crate::pki::Issued::self_signed(&crate::pki::Spec::ca(&name)).expect("root").cert_der());
        }
        ders.insert(7, rustls_pki_types::CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]));
        let one: Vec<Certificate> =
            ders.iter().filter_map(|d| Certificate::from_der(d.to_vec(), "system trust store").ok()).collect();
        let many = parse_in_parallel(&ders);
        assert_eq!(many.len(), ders.len() - 1);
        let thumbs = |v: &[Certificate]| v.iter().map(|c| c.info.thumbprint_sha256.clone()).collect::<Vec<_>>();
        assert_eq!(thumbs(&many), thumbs(&one));
        assert_eq!(
            many.iter().map(|c| c.info.self_signed).collect::<Vec<_>>(),
            one.iter().map(|c| c.info.self_signed).collect::<Vec<_>>()
        );
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

    #[test]
    fn anchors_are_parsed_once_per_store_and_never_stale() {
        let store = TrustStore::mozilla();
        let probe = store.clone();
        let _ = verify_chain(&[], &probe, Role::Server, &VerifyOptions::default());
        assert!(store.prepared.0.get().is_none(), "an empty chain needs no anchors");
        let first = anchors_of(&probe);
        assert!(matches!(first, std::borrow::Cow::Borrowed(_)));
        assert_eq!(first.roots.len(), store.anchors.len());
        // The clone built it; the original shares it.
        assert!(store.prepared.0.get().is_some());
        // A store whose anchors changed after the build does not use the stale set.
        let mut changed = store.clone();
        changed.anchors.truncate(3);
        let fresh = anchors_of(&changed);
        assert!(matches!(fresh, std::borrow::Cow::Owned(_)));
        assert_eq!(fresh.roots.len(), 3);
        assert_eq!(fresh.nodes.len(), 3);
    }
}
