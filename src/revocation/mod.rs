//! Revocation checking as .NET's `X509Certificate2.Verify()` does it: every certificate of the
//! chain except the root is looked up in the CRLs its CRL distribution points name and with the
//! OCSP responders its authorityInfoAccess names, fetched over HTTP (bounded, cached per run).
//!
//! [`check_chain`] records, per certificate, each source it consulted and that source's answer;
//! [`verify_answer`] is the pure reading of that record the way .NET reads it: `Verify()` uses
//! the default `X509ChainPolicy` (`RevocationMode.Online`, `RevocationFlag.ExcludeRoot`, no
//! `VerificationFlags`), so a revoked certificate and a certificate whose status cannot be learned
//! (no CDP and no OCSP URL, nothing reachable, a CRL that does not verify) both make the chain
//! invalid and `Verify()` false. `validate-client-certificate validate-revocation="true"` (its
//! default) has the same effect.

mod aia;
mod crl;
mod fetch;
mod ocsp;

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use x509_parser::prelude::X509Certificate;

use crate::cert::Certificate;

pub use aia::{
    complete_chain, complete_chain_blocking, issuer_missing, read_issuer_body, IssuerFetch, IssuerFetchOutcome,
    IssuerFetchReport, IssuerFormat,
};
pub use fetch::{FetchError, FetchLimits, Fetcher};

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// A CRL distribution point (`crlDistributionPoints` extension).
    Crl,
    /// An OCSP responder (`authorityInfoAccess`, id-ad-ocsp).
    Ocsp,
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceKind::Crl => "CRL",
            SourceKind::Ocsp => "OCSP",
        })
    }
}

/// Why a source (or a certificate) gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum UnknownWhy {
    /// `--offline`: nothing was fetched.
    Offline,
    /// The certificate names neither a CRL distribution point nor an OCSP responder.
    NoSources,
    /// The URL could not be fetched (connection, timeout, status, size).
    Fetch {
        error: String,
    },
    Malformed {
        problem: String,
    },
    /// The CRL or OCSP response does not verify with the issuer's key.
    BadSignature,
    /// The signer is not allowed to give this answer (no `cRLSign`, or an OCSP responder the
    /// issuer did not delegate).
    SignerNotAllowed,
    /// The issuer certificate is not known, so nothing can be verified (the chain is incomplete).
    IssuerMissing,
    /// The CRL or response is past its nextUpdate.
    Stale {
        next_update: String,
    },
    NotYetValid {
        this_update: String,
    },
    /// The OCSP response does not mention this certificate.
    NotAnswered,
    /// The OCSP responder answered `unknown` for this certificate.
    ResponderSaysUnknown,
    /// The OCSP responder refused (`tryLater`, `unauthorized`, …).
    ResponderError {
        status: String,
    },
    /// A form of revocation data that .NET's simple path does not use either.
    NotSupported {
        what: String,
    },
}

impl fmt::Display for UnknownWhy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnknownWhy::Offline => f.write_str("not fetched (--offline)"),
            UnknownWhy::NoSources => {
                f.write_str("the certificate names no CRL distribution point and no OCSP responder")
            }
            UnknownWhy::Fetch { error } => write!(f, "could not be fetched: {error}"),
            UnknownWhy::Malformed { problem } => write!(f, "unusable: {problem}"),
            UnknownWhy::BadSignature => f.write_str("its signature does not verify with the issuer's key"),
            UnknownWhy::SignerNotAllowed => f.write_str("signed by a certificate the issuer did not authorise for it"),
            UnknownWhy::IssuerMissing => {
                f.write_str("the issuer certificate is unknown, so its signature cannot be checked")
            }
            UnknownWhy::Stale { next_update } => write!(f, "out of date (nextUpdate {next_update})"),
            UnknownWhy::NotYetValid { this_update } => write!(f, "not valid yet (thisUpdate {this_update})"),
            UnknownWhy::NotAnswered => f.write_str("the response does not cover this certificate"),
            UnknownWhy::ResponderSaysUnknown => f.write_str("the responder does not know this certificate"),
            UnknownWhy::ResponderError { status } => write!(f, "the responder refused ({status})"),
            UnknownWhy::NotSupported { what } => write!(f, "{what} is not used"),
        }
    }
}

/// One source's answer for one certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "kebab-case")]
pub enum SourceOutcome {
    Good {
        this_update: String,
        next_update: Option<String>,
    },
    /// `reason` is the RFC 5280 CRLReason name when the source gives one.
    Revoked {
        revoked_at: String,
        reason: Option<String>,
    },
    Unknown {
        why: UnknownWhy,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCheck {
    pub kind: SourceKind,
    pub url: String,
    pub outcome: SourceOutcome,
}

/// The status of one certificate, combined from its sources: a verified "revoked" from any
/// source wins, then a verified "good" from any source (CryptoAPI on Windows accepts either
/// OCSP or CRL), else unknown with the first reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum RevocationStatus {
    Good,
    Revoked {
        revoked_at: String,
        reason: Option<String>,
        url: String,
    },
    Unknown {
        why: UnknownWhy,
    },
    /// The trust anchor at the end of the chain: `X509RevocationFlag.ExcludeRoot` skips it.
    NotCheckedRoot,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertRevocation {
    /// 0 is the client certificate, 1 its issuer, …
    pub depth: usize,
    /// .NET form, as `X509Certificate2.Subject`.
    pub subject: String,
    pub thumbprint_sha1: String,
    pub sources: Vec<SourceCheck>,
    pub status: RevocationStatus,
}

/// What was learned about a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationReport {
    /// False with `--offline`.
    pub fetched: bool,
    /// Requests that went out (the rest came from the run's cache).
    pub requests_sent: usize,
    pub certificates: Vec<CertRevocation>,
}

/// How .NET's revocation check ends for the chain, read from a [`RevocationReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "kebab-case")]
pub enum VerifyRevocationAnswer {
    /// Every certificate below the root is known good.
    Passes,
    /// `X509ChainStatusFlags.Revoked`: `Verify()` is false.
    Revoked { depth: usize, subject: String, revoked_at: String, reason: Option<String> },
    /// `X509ChainStatusFlags.RevocationStatusUnknown`: `Verify()` is false. `from_here` is true when
    /// the cause is a fetch that failed from this machine (the gateway's network may differ).
    StatusUnknown { depth: usize, subject: String, why: UnknownWhy, from_here: bool },
    /// `--offline` and the chain names URLs: the answer depends on what the gateway fetches.
    NotFetched { urls: Vec<String> },
    /// The chain itself depends on an issuer fetched from a caIssuers URL that this run could not
    /// judge (`--offline`, or an encoding the gateway platforms read differently): `Verify()` and
    /// `VerifyNoRevocation()` are both unknown. Built for policy evaluation from
    /// [`IssuerFetchReport::pending`]; not recorded.
    ChainPending { reason: String },
}

impl VerifyRevocationAnswer {
    /// `Some(true/false)` when the answer is known, `None` when it depends on fetching.
    pub fn passes(&self) -> Option<bool> {
        match self {
            VerifyRevocationAnswer::Passes => Some(true),
            VerifyRevocationAnswer::Revoked { .. } | VerifyRevocationAnswer::StatusUnknown { .. } => Some(false),
            VerifyRevocationAnswer::NotFetched { .. } | VerifyRevocationAnswer::ChainPending { .. } => None,
        }
    }

    /// True for [`VerifyRevocationAnswer::ChainPending`]: the chain, not only revocation, is unknown.
    pub fn is_chain_pending(&self) -> bool {
        matches!(self, VerifyRevocationAnswer::ChainPending { .. })
    }
}

impl fmt::Display for VerifyRevocationAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyRevocationAnswer::Passes => f.write_str("no certificate of the chain is revoked"),
            VerifyRevocationAnswer::Revoked { depth, subject, revoked_at, reason } => {
                write!(f, "certificate {depth} ({subject}) was revoked at {revoked_at}")?;
                if let Some(r) = reason {
                    write!(f, " ({r})")?;
                }
                Ok(())
            }
            VerifyRevocationAnswer::StatusUnknown { depth, subject, why, from_here } => {
                write!(f, "the revocation status of certificate {depth} ({subject}) is unknown: {why}")?;
                if *from_here {
                    f.write_str(
                        " (fetched from this machine; if the gateway cannot fetch it either, the answer is the same)",
                    )?;
                }
                Ok(())
            }
            VerifyRevocationAnswer::NotFetched { urls } => write!(
                f,
                "revocation data was not fetched (--offline); the gateway fetches {}: if every certificate is found \
                 good there, the check passes, otherwise (unreachable, revoked) it fails",
                urls.join(", ")
            ),
            VerifyRevocationAnswer::ChainPending { reason } => f.write_str(reason),
        }
    }
}

/// The RFC 5280 CRLReason name for a reason code.
pub(crate) fn reason_name(code: u8) -> String {
    match code {
        0 => "unspecified",
        1 => "keyCompromise",
        2 => "cACompromise",
        3 => "affiliationChanged",
        4 => "superseded",
        5 => "cessationOfOperation",
        6 => "certificateHold",
        8 => "removeFromCRL",
        9 => "privilegeWithdrawn",
        10 => "aACompromise",
        other => return format!("reason {other}"),
    }
    .to_string()
}

/// The chain `Verify()` would check: `leaf`, then each issuer found among `pool` (the
/// certificates the client sent and the trusted CAs), by name and signature, up to a
/// self-signed certificate or the first missing issuer.
pub fn issuer_chain(leaf: &Certificate, pool: &[Certificate]) -> Vec<Certificate> {
    let mut chain = vec![leaf.clone()];
    while chain.len() < 10 {
        let Some(current) = chain.last().and_then(|c| crl::parse(&c.der)) else { break };
        if is_self_signed(&current) {
            break;
        }
        let next = pool.iter().find(|cand| {
            crl::parse(&cand.der).is_some_and(|p| {
                p.subject().as_raw() == current.issuer().as_raw()
                    && crate::cert::signature::signed_by(&current, Some(p.public_key()))
                    && !chain.iter().any(|c| c.der == cand.der)
            })
        });
        match next {
            Some(n) => chain.push(n.clone()),
            None => break,
        }
    }
    chain
}

fn is_self_signed(c: &X509Certificate<'_>) -> bool {
    c.subject().as_raw() == c.issuer().as_raw() && crate::cert::signature::signed_by(c, None)
}

/// Check every certificate of `chain` (leaf first, each followed by its issuer) except a
/// self-signed one at the end. `fetcher` is `None` offline. Never fails: every problem is data.
pub async fn check_chain(chain: &[Certificate], fetcher: Option<&Fetcher>, now: OffsetDateTime) -> RevocationReport {
    let before = fetcher.map(Fetcher::requests_sent).unwrap_or(0);
    let mut certificates = Vec::new();
    for (depth, cert) in chain.iter().enumerate() {
        let Some(parsed) = crl::parse(&cert.der) else { continue };
        let issuer = chain.get(depth + 1).and_then(|i| crl::parse(&i.der));
        let mut entry = CertRevocation {
            depth,
            subject: cert.info.subject.clone(),
            thumbprint_sha1: cert.info.thumbprint_sha1.clone(),
            sources: Vec::new(),
            status: RevocationStatus::NotCheckedRoot,
        };
        if depth + 1 == chain.len() && is_self_signed(&parsed) {
            certificates.push(entry);
            continue;
        }
        for url in crl::distribution_points(&parsed) {
            let outcome = match fetcher {
                None => SourceOutcome::Unknown { why: UnknownWhy::Offline },
                Some(f) => match f.get(&url).await {
                    Ok(bytes) => crl::judge(&parsed, issuer.as_ref(), &bytes, now),
                    Err(e) => SourceOutcome::Unknown { why: UnknownWhy::Fetch { error: e.to_string() } },
                },
            };
            entry.sources.push(SourceCheck { kind: SourceKind::Crl, url: without_userinfo(&url), outcome });
        }
        for url in ocsp::responders(&parsed) {
            let outcome = match (fetcher, issuer.as_ref()) {
                (None, _) => SourceOutcome::Unknown { why: UnknownWhy::Offline },
                (Some(_), None) => SourceOutcome::Unknown { why: UnknownWhy::IssuerMissing },
                (Some(f), Some(iss)) => match ocsp::request(&parsed, iss) {
                    Err(problem) => SourceOutcome::Unknown { why: UnknownWhy::Malformed { problem } },
                    Ok((cert_id, body)) => match f.post_ocsp(&url, body).await {
                        Ok(bytes) => ocsp::judge(&cert_id, iss, &bytes, now),
                        Err(e) => SourceOutcome::Unknown { why: UnknownWhy::Fetch { error: e.to_string() } },
                    },
                },
            };
            entry.sources.push(SourceCheck { kind: SourceKind::Ocsp, url: without_userinfo(&url), outcome });
        }
        entry.status = combine(&entry.sources);
        certificates.push(entry);
    }
    let requests_sent = fetcher.map(Fetcher::requests_sent).unwrap_or(0).saturating_sub(before);
    RevocationReport { fetched: fetcher.is_some(), requests_sent, certificates }
}

/// A URL as recorded: `user:password@` in the authority (possible in a certificate, never needed
/// to read a report) is replaced by `***@`.
pub fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => url.to_string(),
    }
}

fn combine(sources: &[SourceCheck]) -> RevocationStatus {
    if let Some((s, revoked_at, reason)) = sources.iter().find_map(|s| match &s.outcome {
        SourceOutcome::Revoked { revoked_at, reason } => Some((s, revoked_at, reason)),
        _ => None,
    }) {
        return RevocationStatus::Revoked {
            revoked_at: revoked_at.clone(),
            reason: reason.clone(),
            url: s.url.clone(),
        };
    }
    if sources.iter().any(|s| matches!(s.outcome, SourceOutcome::Good { .. })) {
        return RevocationStatus::Good;
    }
    let why = sources
        .iter()
        .find_map(|s| match &s.outcome {
            SourceOutcome::Unknown { why } => Some(why.clone()),
            _ => None,
        })
        .unwrap_or(UnknownWhy::NoSources);
    RevocationStatus::Unknown { why }
}

/// How .NET ends the revocation part of `Verify()` for this record. Pure.
///
/// .NET stops at the first chain element with a problem, leaf first; a certificate with no
/// source at all is a certain failure even offline, because no network can supply its status.
pub fn verify_answer(report: &RevocationReport) -> VerifyRevocationAnswer {
    let mut offline_urls = Vec::new();
    for c in &report.certificates {
        match &c.status {
            RevocationStatus::Good | RevocationStatus::NotCheckedRoot => {}
            RevocationStatus::Revoked { revoked_at, reason, .. } => {
                return VerifyRevocationAnswer::Revoked {
                    depth: c.depth,
                    subject: c.subject.clone(),
                    revoked_at: revoked_at.clone(),
                    reason: reason.clone(),
                }
            }
            RevocationStatus::Unknown { why: UnknownWhy::Offline } => {
                offline_urls.extend(c.sources.iter().map(|s| s.url.clone()));
            }
            RevocationStatus::Unknown { why } => {
                return VerifyRevocationAnswer::StatusUnknown {
                    depth: c.depth,
                    subject: c.subject.clone(),
                    why: why.clone(),
                    from_here: matches!(why, UnknownWhy::Fetch { .. }),
                }
            }
        }
    }
    if offline_urls.is_empty() {
        VerifyRevocationAnswer::Passes
    } else {
        VerifyRevocationAnswer::NotFetched { urls: offline_urls }
    }
}

/// [`check_chain`] for synchronous callers (inspection runs on blocking threads and inside async
/// tasks alike): a scoped thread with its own single-threaded runtime, so no caller's runtime is
/// blocked on or nested. Bounded by the fetcher's limits.
pub fn check_chain_blocking(chain: &[Certificate], fetcher: Option<&Fetcher>, now: OffsetDateTime) -> RevocationReport {
    let offline = || RevocationReport { fetched: false, requests_sent: 0, certificates: Vec::new() };
    std::thread::scope(|s| {
        s.spawn(|| match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt.block_on(check_chain(chain, fetcher, now)),
            Err(_) => offline(),
        })
        .join()
        .unwrap_or_else(|_| offline())
    })
}

impl fmt::Display for SourceOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceOutcome::Good { .. } => f.write_str("good"),
            SourceOutcome::Revoked { revoked_at, reason: Some(r) } => write!(f, "revoked at {revoked_at} ({r})"),
            SourceOutcome::Revoked { revoked_at, reason: None } => write!(f, "revoked at {revoked_at}"),
            SourceOutcome::Unknown { why } => write!(f, "unknown: {why}"),
        }
    }
}

impl CertRevocation {
    /// One line per source for reports: `CRL http://…: good`; the root and source-less
    /// certificates get one line saying so.
    pub fn lines(&self) -> Vec<String> {
        match (&self.status, self.sources.is_empty()) {
            (RevocationStatus::NotCheckedRoot, _) => vec!["root: not checked (.NET excludes the root)".into()],
            (_, true) => vec![UnknownWhy::NoSources.to_string()],
            _ => self.sources.iter().map(|s| format!("{} {}: {}", s.kind, s.url, s.outcome)).collect(),
        }
    }
}
