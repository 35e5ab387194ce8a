//! Missing issuers fetched from the authorityInformationAccess caIssuers URL, as .NET's `X509Chain`
//! does when certificate downloads are allowed (the default, and what `Verify()` and
//! `VerifyNoRevocation()` use): a client that sends only its own certificate still gets a chain
//! when its issuing CA is published at an http URL.
//!
//! What .NET does, checked on .NET Core 3.1 on Linux (tests/integration/dotnet_oracle_aia.rs) and
//! in dotnet/runtime's `OpenSslX509ChainProcessor` / `CertificateAssetDownloader`: for the last
//! certificate of the chain built so far, the **first** caIssuers URL whose scheme is `http` is
//! fetched (https, ldap and the rest are skipped; a later http URL is not tried when the first
//! fails), the body is read by `new X509Certificate2(bytes)` — a DER or PEM certificate; the
//! PKCS#7 certs-only form did not give a chain there — and chain building goes on from it, level
//! after level. Windows CryptoAPI (the managed gateway) retrieves the same URL and also reads
//! PKCS#7 certs-only, so a chain that only a PKCS#7 (or PEM) answer completes is reported as
//! depending on the gateway's platform rather than guessed.
//!
//! [`complete_chain`] does the I/O through the run's [`Fetcher`] (http only, bounded, cached) and
//! records every attempt; reading the record is pure ([`IssuerFetchReport::pending`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::X509Certificate;

use super::{crl, Fetcher, UnknownWhy};
use crate::cert::Certificate;

const ID_AD_CA_ISSUERS: &str = "1.3.6.1.5.5.7.48.2";
const ID_SIGNED_DATA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02];
/// How many missing issuers are fetched one after the other for one chain: real hierarchies have
/// at most two or three CAs between a client certificate and its root.
pub const MAX_LEVELS: usize = 4;

/// How the body at a caIssuers URL was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssuerFormat {
    /// One DER certificate (RFC 5280's `application/pkix-cert`): read by every platform.
    Der,
    /// A PEM certificate: read by .NET on Linux; not known for Windows CryptoAPI.
    Pem,
    /// PKCS#7 / CMS certs-only (`application/pkcs7-mime`): read by Windows CryptoAPI; .NET Core
    /// 3.1 on Linux builds no chain from it.
    Pkcs7,
}

impl IssuerFormat {
    /// True when the managed gateway (Windows) and a self-hosted one (.NET on Linux) may read the
    /// body differently.
    pub fn platform_dependent(self) -> bool {
        !matches!(self, IssuerFormat::Der)
    }
}

impl fmt::Display for IssuerFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IssuerFormat::Der => "a DER certificate",
            IssuerFormat::Pem => "a PEM certificate",
            IssuerFormat::Pkcs7 => "PKCS#7 certs-only",
        })
    }
}

/// What one caIssuers URL gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "kebab-case")]
pub enum IssuerFetchOutcome {
    /// The missing issuer: it names the certificate's issuer and its key verifies the signature.
    Fetched { format: IssuerFormat, subject: String, thumbprint_sha1: String },
    /// Certificates that are not the issuer (another name, or the same name with another key).
    NotTheIssuer { format: IssuerFormat, subjects: Vec<String> },
    /// Nothing usable: `--offline`, a failed fetch, or a body that is no certificate.
    NotFetched { why: UnknownWhy },
}

/// One caIssuers URL of one certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerFetch {
    /// Position in the chain of the certificate whose issuer was missing (0: the client's).
    pub depth: usize,
    /// That certificate's subject and the issuer name it was looking for.
    pub subject: String,
    pub issuer: String,
    pub url: String,
    pub outcome: IssuerFetchOutcome,
}

/// Every caIssuers URL followed (or skipped) for a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerFetchReport {
    /// False with `--offline`.
    pub fetched: bool,
    /// Requests that went out (the rest came from the run's cache).
    pub requests_sent: usize,
    pub fetches: Vec<IssuerFetch>,
    /// caIssuers URLs .NET does not follow (https, ldap, …), as `depth url`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

impl IssuerFetchReport {
    /// The certificates that were fetched, in order.
    pub fn fetched_issuers(&self) -> impl Iterator<Item = &IssuerFetch> {
        self.fetches.iter().filter(|f| matches!(f.outcome, IssuerFetchOutcome::Fetched { .. }))
    }

    /// Why the chain's answer depends on a fetch the gateway does and this run could not judge:
    /// `--offline` with a caIssuers URL to fetch, or an issuer whose encoding the two gateway
    /// platforms read differently. `None` when the record decides the chain alone.
    pub fn pending(&self) -> Option<String> {
        for f in &self.fetches {
            match &f.outcome {
                IssuerFetchOutcome::NotFetched { why: UnknownWhy::Offline } => {
                    return Some(format!(
                        "certificate {} ({}) was sent without its issuer ({}), which its caIssuers URL {} names; \
                         it was not fetched (--offline): the gateway fetches it, and if it gets it the chain is \
                         built through it, otherwise Verify() and VerifyNoRevocation() are false",
                        f.depth, f.subject, f.issuer, f.url
                    ))
                }
                IssuerFetchOutcome::Fetched { format, subject, .. } if format.platform_dependent() => {
                    return Some(format!(
                        "the issuer of certificate {} ({subject}) comes from its caIssuers URL {} as {format}: \
                         {}",
                        f.depth,
                        f.url,
                        match format {
                            IssuerFormat::Pkcs7 =>
                                "Windows CryptoAPI (the managed gateway) reads it and builds the \
                                                    chain through it, .NET on Linux (a self-hosted gateway) does not \
                                                    (then Verify() and VerifyNoRevocation() are false)",
                            _ =>
                                ".NET on Linux (a self-hosted gateway) reads it and builds the chain through it; \
                                  whether Windows CryptoAPI (the managed gateway) does is not known",
                        }
                    ))
                }
                _ => {}
            }
        }
        None
    }
}

impl fmt::Display for IssuerFetchOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IssuerFetchOutcome::Fetched { format, subject, thumbprint_sha1 } => {
                write!(f, "fetched {format}: {subject} ({thumbprint_sha1})")
            }
            IssuerFetchOutcome::NotTheIssuer { format, subjects } => {
                write!(f, "{format}, but not the issuer: {}", subjects.join("; "))
            }
            IssuerFetchOutcome::NotFetched { why } => write!(f, "no issuer: {why}"),
        }
    }
}

impl IssuerFetch {
    /// One line for reports: `caIssuers http://…: fetched a DER certificate: CN=…`.
    pub fn line(&self) -> String {
        format!("caIssuers {}: {}", self.url, self.outcome)
    }
}

/// The caIssuers URLs of a certificate, in order.
pub(super) fn ca_issuer_urls(cert: &X509Certificate<'_>) -> Vec<String> {
    access_urls(cert, ID_AD_CA_ISSUERS)
}

/// The URIs of the certificate's authorityInfoAccess entries with access method `method` (an
/// OID in dotted form), in order: caIssuers here, the OCSP responders in `ocsp.rs`.
pub(super) fn access_urls(cert: &X509Certificate<'_>, method: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::AuthorityInfoAccess(aia) = ext.parsed_extension() {
            for desc in aia.iter() {
                if desc.access_method.to_id_string() == method {
                    if let GeneralName::URI(u) = &desc.access_location {
                        urls.push(u.to_string());
                    }
                }
            }
        }
    }
    urls
}

fn is_http(url: &str) -> bool {
    url.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("http://"))
}

/// Read a caIssuers body: one DER certificate, PEM (the first CERTIFICATE block), or PKCS#7
/// SignedData's certificates. Each returned DER parses as a certificate.
pub fn read_issuer_body(bytes: &[u8]) -> Result<(IssuerFormat, Vec<Vec<u8>>), String> {
    if crl::parse(bytes).is_some_and(|c| c.as_raw().len() == bytes.len()) {
        return Ok((IssuerFormat::Der, vec![bytes.to_vec()]));
    }
    if let Some(certs) = pkcs7_certificates(bytes) {
        let certs: Vec<Vec<u8>> = certs.into_iter().filter(|d| crl::parse(d).is_some()).collect();
        if certs.is_empty() {
            return Err("PKCS#7 without a readable certificate".into());
        }
        return Ok((IssuerFormat::Pkcs7, certs));
    }
    {
        use rustls_pki_types::pem::PemObject;
        if let Ok(der) = rustls_pki_types::CertificateDer::from_pem_slice(bytes) {
            if crl::parse(&der).is_some() {
                return Ok((IssuerFormat::Pem, vec![der.to_vec()]));
            }
        }
    }
    Err(format!("not a certificate ({} bytes that are neither DER, PEM nor PKCS#7)", bytes.len()))
}

/// One DER element: (tag, body, rest). Single-byte tags, definite lengths up to four bytes.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    crate::cert::der::read_tlv_lenient(input).map(|(t, rest)| (t.tag, t.content, rest))
}

/// ContentInfo { signedData, [0] SignedData { version, digestAlgorithms, contentInfo,
/// [0] IMPLICIT certificates, … } }: the certificates' DER, or `None` when this is not that shape.
fn pkcs7_certificates(bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    let (0x30, info, []) = tlv(bytes)? else { return None };
    let (0x06, oid, rest) = tlv(info)? else { return None };
    if oid != ID_SIGNED_DATA {
        return None;
    }
    let (0xA0, explicit, _) = tlv(rest)? else { return None };
    let (0x30, signed, _) = tlv(explicit)? else { return None };
    let (0x02, _, rest) = tlv(signed)? else { return None };
    let (0x31, _, rest) = tlv(rest)? else { return None };
    let (0x30, _, rest) = tlv(rest)? else { return None };
    let mut out = Vec::new();
    if let Some((0xA0, mut certs, _)) = tlv(rest) {
        while let Some((0x30, body, next)) = tlv(certs) {
            let whole = &certs[..certs.len() - next.len()];
            debug_assert!(whole.ends_with(body));
            out.push(whole.to_vec());
            certs = next;
        }
    }
    Some(out)
}

fn issues(issuer: &X509Certificate<'_>, cert: &X509Certificate<'_>) -> bool {
    issuer.subject().as_raw() == cert.issuer().as_raw()
        && crate::cert::signature::signed_by(cert, Some(issuer.public_key()))
}

/// The chain `presented` (client certificate first) plus the issuers .NET would fetch from
/// caIssuers URLs, appended after the presented ones, and the record of every attempt (`None`
/// when nothing was missing or no certificate names a caIssuers URL). `trusted` are the CA
/// certificates the chain is checked against: an issuer found there is not fetched. `fetcher` is
/// `None` with `--offline`. Never fails: every problem is data.
pub async fn complete_chain(
    presented: &[Certificate],
    trusted: &[Certificate],
    fetcher: Option<&Fetcher>,
) -> (Vec<Certificate>, Option<IssuerFetchReport>) {
    let Some(leaf) = presented.first() else { return (Vec::new(), None) };
    // Offline, a client certificate outside its validity fails whatever the issuer: nothing is
    // pending on a fetch then.
    let now = time::OffsetDateTime::now_utc();
    let time_invalid =
        leaf.info.not_before_time().is_some_and(|t| now < t) || leaf.info.not_after_time().is_some_and(|t| now > t);
    if fetcher.is_none() && time_invalid {
        return (presented.to_vec(), None);
    }
    let before = fetcher.map(Fetcher::requests_sent).unwrap_or(0);
    let mut all: Vec<Certificate> = presented.to_vec();
    let mut report =
        IssuerFetchReport { fetched: fetcher.is_some(), requests_sent: 0, fetches: Vec::new(), skipped: Vec::new() };
    for _ in 0..MAX_LEVELS {
        let pool: Vec<Certificate> = all.iter().skip(1).chain(trusted.iter()).cloned().collect();
        let chain = super::issuer_chain(leaf, &pool);
        let depth = chain.len() - 1;
        let Some(last) = chain.last().and_then(|c| crl::parse(&c.der)) else { break };
        if super::is_self_signed(&last) || trusted.iter().any(|t| t.der == chain[depth].der) {
            break;
        }
        let urls = ca_issuer_urls(&last);
        report
            .skipped
            .extend(urls.iter().take_while(|u| !is_http(u)).map(|u| format!("{depth} {}", super::without_userinfo(u))));
        let Some(url) = urls.iter().find(|u| is_http(u)) else { break };
        let mut entry = IssuerFetch {
            depth,
            subject: chain[depth].info.subject.clone(),
            issuer: chain[depth].info.issuer.clone(),
            url: super::without_userinfo(url),
            outcome: IssuerFetchOutcome::NotFetched { why: UnknownWhy::Offline },
        };
        let Some(f) = fetcher else {
            report.fetches.push(entry);
            break;
        };
        let found = match f.get(url).await {
            Err(e) => Err(UnknownWhy::Fetch { error: e.to_string() }),
            Ok(bytes) => read_issuer_body(&bytes).map_err(|problem| UnknownWhy::Malformed { problem }),
        };
        let mut next = None;
        entry.outcome = match found {
            Err(why) => IssuerFetchOutcome::NotFetched { why },
            Ok((format, ders)) => {
                let certs: Vec<Certificate> =
                    ders.into_iter().filter_map(|d| Certificate::from_der(d, &entry.url).ok()).collect();
                match certs.iter().find(|c| crl::parse(&c.der).is_some_and(|p| issues(&p, &last))) {
                    Some(c) => {
                        next = Some(c.clone());
                        IssuerFetchOutcome::Fetched {
                            format,
                            subject: c.info.subject.clone(),
                            thumbprint_sha1: c.info.thumbprint_sha1.clone(),
                        }
                    }
                    None => IssuerFetchOutcome::NotTheIssuer {
                        format,
                        subjects: certs.iter().map(|c| c.info.subject.clone()).collect(),
                    },
                }
            }
        };
        report.fetches.push(entry);
        match next {
            Some(c) if !all.iter().any(|a| a.der == c.der) => all.push(c),
            _ => break,
        }
    }
    report.requests_sent = fetcher.map(Fetcher::requests_sent).unwrap_or(0).saturating_sub(before);
    let touched = !report.fetches.is_empty() || !report.skipped.is_empty();
    (all, touched.then_some(report))
}

/// True when [`complete_chain`] has something to do: the chain built from `presented` and
/// `trusted` stops below a self-signed or trusted certificate that names a caIssuers URL.
pub fn issuer_missing(presented: &[Certificate], trusted: &[Certificate]) -> bool {
    let Some(leaf) = presented.first() else { return false };
    let pool: Vec<Certificate> = presented.iter().skip(1).chain(trusted.iter()).cloned().collect();
    let chain = super::issuer_chain(leaf, &pool);
    let Some(end) = chain.last() else { return false };
    let Some(last) = crl::parse(&end.der) else { return false };
    !super::is_self_signed(&last) && !trusted.iter().any(|t| t.der == end.der) && !ca_issuer_urls(&last).is_empty()
}

/// [`complete_chain`] for synchronous callers, as [`super::check_chain_blocking`]: nothing is
/// spawned when no issuer is missing.
pub fn complete_chain_blocking(
    presented: &[Certificate],
    trusted: &[Certificate],
    fetcher: Option<&Fetcher>,
) -> (Vec<Certificate>, Option<IssuerFetchReport>) {
    if !issuer_missing(presented, trusted) {
        return (presented.to_vec(), None);
    }
    std::thread::scope(|s| {
        s.spawn(|| match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt.block_on(complete_chain(presented, trusted, fetcher)),
            Err(_) => (presented.to_vec(), None),
        })
        .join()
        .unwrap_or_else(|_| (presented.to_vec(), None))
    })
}

#[cfg(test)]
#[path = "aia_tests.rs"]
mod tests;
