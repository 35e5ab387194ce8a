//! Chain building and verification with openssl-compatible verdicts.
//!
//! API contract (other modules code against it; the implementation is being written):
//! `verify_chain(presented, trust, opts) -> Verdict`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cert::Certificate;

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
}

// TEMPORARY until the verify branch lands: webpki-only verdict so probe code compiles.
pub fn verify_chain(presented: &[Certificate], _trust: &TrustStore, _role: Role, _opts: &VerifyOptions) -> Verdict {
    Verdict {
        ok: false,
        code: -1,
        code_name: "not verified".into(),
        reason: None,
        depth: None,
        path: presented.iter().map(|c| c.info.thumbprint_sha1.clone()).collect(),
        chain_problems: vec![],
    }
}
