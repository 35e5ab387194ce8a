//! The server-chain verdict, decided once: for a server or backend a probe connected to, and for a
//! chain given to `inspect --role server`. Which finding an openssl code means lives here only.

use super::catalog::finding;
use super::finding::{Finding, Symptom};
use super::id::FindingId;
use crate::cert::CertInfo;
use crate::verify::{code, Verdict};

/// Where the judged chain came from; the wording follows it.
#[derive(Debug, Clone, Copy)]
pub enum ChainSource<'a> {
    /// Sent by the peer in a handshake, for the name called (SNI).
    Presented { sni: &'a str },
    /// Read from a file given to `inspect`.
    Inspected { origin: &'a str },
}

/// A failing (or passing) verdict on a server's chain and what it was judged from.
#[derive(Debug, Clone, Copy)]
pub struct ServerChain<'a> {
    pub verdict: &'a Verdict,
    /// Leaf first, as sent or as given.
    pub chain: &'a [CertInfo],
    pub source: ChainSource<'a>,
    /// The peer is a backend the gateway calls (its failures surface as 502).
    pub backend: bool,
}

/// The one decision: which finding an openssl verify code means for a server chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Judgement {
    Expired,
    NotYetValid,
    NameMismatch,
    Untrusted,
}

fn judge(verify_code: i32) -> Option<Judgement> {
    match verify_code {
        code::CERT_HAS_EXPIRED => Some(Judgement::Expired),
        code::CERT_NOT_YET_VALID => Some(Judgement::NotYetValid),
        code::HOSTNAME_MISMATCH => Some(Judgement::NameMismatch),
        c if code::UNTRUSTED.contains(&c) => Some(Judgement::Untrusted),
        _ => None,
    }
}

/// Findings for a server chain that did not verify; nothing when it did or the code means nothing here.
pub fn server_chain_findings(sc: &ServerChain) -> Vec<Finding> {
    let v = sc.verdict;
    let mut out = Vec::new();
    if v.ok {
        return out;
    }
    let Some(judgement) = judge(v.code) else { return out };
    let leaf = sc.chain.first();
    let verify_line = format!("verify: {}", crate::text::verdict_summary(v));
    let (untrusted_id, name_id) = if sc.backend {
        (FindingId::BackendCertUntrusted, FindingId::BackendCertNameMismatch)
    } else {
        (FindingId::ServerCertUntrusted, FindingId::ServerCertNameMismatch)
    };
    match judgement {
        Judgement::Expired | Judgement::NotYetValid => out.push(validity_finding(sc, judgement, verify_line)),
        Judgement::NameMismatch => {
            let mut f = finding(name_id);
            let sans = leaf.map(|l| l.sans.join(", ")).unwrap_or_default();
            match sc.source {
                ChainSource::Presented { sni } => {
                    f.cause = format!("The certificate presented for {sni} names other hosts.");
                    f.evidence.push(format!("name called (SNI): {sni}"));
                }
                ChainSource::Inspected { origin } => {
                    f.cause =
                        format!("The server certificate in {origin} does not cover the host name given with --host.");
                }
            }
            f.evidence.push(format!("certificate names: {}", if sans.is_empty() { "(no SANs)".into() } else { sans }));
            f.evidence.push(verify_line);
            f.fix = if sc.backend {
                vec![
                    "Point the backend URL at the name in the backend's certificate, or reissue the backend certificate for this name.".into(),
                    "As a stopgap only: set the backend's tls.validateCertificateName to false.".into(),
                ]
            } else {
                vec!["Bind a certificate that covers this hostname on the custom domain, or call the hostname the certificate is for.".into()]
            };
            out.push(f);
        }
        Judgement::Untrusted => {
            let missing = v.missing_issuers();
            // Only a chain that came over the wire says what the server sends.
            let sent_leaf_only = matches!(sc.source, ChainSource::Presented { .. }) && sc.chain.len() == 1;
            let incomplete = !missing.is_empty() && sent_leaf_only && v.code != code::DEPTH_ZERO_SELF_SIGNED_CERT;
            if incomplete {
                let mut f = finding(FindingId::ServerChainIncomplete);
                f.cause = "The server sends only its leaf certificate; clients that do not already hold the intermediate cannot build a chain.".into();
                for needed in &missing {
                    f.evidence.push(format!("missing intermediate: \"{needed}\""));
                }
                f.evidence.push(format!("server sent {} certificate(s)", sc.chain.len()));
                f.fix = vec!["If the issuer is an intermediate CA, configure the server to send it after the leaf (a .pfx with the chain for APIM custom domains); if it is a root, see the untrusted-chain finding.".into()];
                if sc.backend {
                    f.symptom = Symptom::BadGateway502;
                }
                out.push(f);
            }
            let mut f = finding(untrusted_id);
            let issuer = leaf.map(|l| l.issuer.clone()).unwrap_or_default();
            f.cause = match (sc.backend, sc.source) {
                (true, _) => "The backend's chain does not lead to a root the gateway trusts: the gateway refuses the connection and answers 502.".into(),
                (false, ChainSource::Presented { sni }) => {
                    format!("The chain {sni} presents does not lead to a root this machine trusts.")
                }
                (false, ChainSource::Inspected { origin }) => {
                    format!("The chain in {origin} does not verify for a server against the trust given.")
                }
            };
            f.evidence.push(verify_line);
            if let Some(r) = &v.reason {
                f.evidence.push(format!("webpki: {}", crate::text::webpki_reason(r)));
            }
            f.evidence.push(format!("leaf issuer: \"{issuer}\""));
            f.fix = if sc.backend {
                vec![
                    "Issue the backend certificate from a CA the gateway trusts (public CA), or upload the backend's root as a CA certificate to the service.".into(),
                    "As a stopgap only: set the backend's tls.validateCertificateChain to false.".into(),
                ]
            } else {
                vec!["Use a certificate from a public CA for the gateway's custom domain, or give the caller the issuing root (--ca).".into()]
            };
            if !missing.is_empty() {
                f.related.push(FindingId::ServerChainIncomplete);
            }
            out.push(f);
        }
    }
    out
}

/// The certificate a verdict's depth points at: openssl counts depth along the path it built (leaf
/// 0), which is not the order sent when the chain is out of order, so the path's thumbprint decides.
/// None when that certificate came from the trust store rather than from the chain judged.
pub fn certificate_at_depth<'a>(v: &Verdict, chain: &'a [CertInfo]) -> Option<&'a CertInfo> {
    let depth = v.depth?;
    let tp = v.path.get(depth)?;
    chain.iter().find(|c| &c.thumbprint_sha1 == tp)
}

/// `server-cert-expired` / `server-cert-not-yet-valid`, at the certificate that failed.
fn validity_finding(sc: &ServerChain, judgement: Judgement, verify_line: String) -> Finding {
    let v = sc.verdict;
    let expired = judgement == Judgement::Expired;
    let mut f = finding(if expired { FindingId::ServerCertExpired } else { FindingId::ServerCertNotYetValid });
    let depth = v.depth.unwrap_or(0);
    let role = match depth {
        0 => "server certificate".to_string(),
        d if v.path.len() == d + 1 => format!("root CA certificate (depth {d})"),
        d => format!("intermediate CA certificate (depth {d})"),
    };
    let whose = match sc.source {
        ChainSource::Presented { sni } => format!("in the chain {sni} presents"),
        ChainSource::Inspected { origin } => format!("in {origin}"),
    };
    match certificate_at_depth(v, sc.chain) {
        Some(c) => {
            f.cause = if expired {
                format!(
                    "The {role} {whose}, \"{}\", expired on {}: every client that checks the chain refuses it.",
                    c.subject, c.not_after
                )
            } else {
                format!("The {role} {whose}, \"{}\", is valid only from {}: clients refuse it until then (or a clock is wrong).", c.subject, c.not_before)
            };
            f.evidence.push(if expired {
                format!(
                    "{role} \"{}\" NotAfter {} ({} days ago); NotBefore {}; Thumbprint {}",
                    c.subject, c.not_after, -c.days_left, c.not_before, c.thumbprint_sha1
                )
            } else {
                format!(
                    "{role} \"{}\" NotBefore {}; NotAfter {}; Thumbprint {}",
                    c.subject, c.not_before, c.not_after, c.thumbprint_sha1
                )
            });
        }
        None => {
            let tp = v.path.get(depth).cloned().unwrap_or_default();
            f.cause = format!(
                "The {role} at depth {depth} of the path, taken from the trust store (not sent by the server), is {}.",
                if expired { "expired" } else { "not valid yet" }
            );
            f.evidence.push(format!("certificate at depth {depth}: {tp}"));
        }
    }
    f.evidence.push(verify_line);
    f.fix = if depth == 0 {
        vec!["Renew the server certificate and bind the new one (Key Vault: upload a new version; the gateway picks it up within 4 hours or on refresh).".into()]
    } else {
        vec![
            "Replace the CA certificate the server sends with its current version (the CA's renewed or cross-signed copy) and reload the server.".into(),
            "If the CA itself has lapsed, reissue the server certificate from a CA that is valid.".into(),
        ]
    };
    if !expired {
        f.fix.push("Check the clocks of the machine that issued the certificate and of this one.".into());
    }
    if sc.backend {
        f.symptom = Symptom::BadGateway502;
        f.related.push(FindingId::BackendCertUntrusted);
    }
    f
}
