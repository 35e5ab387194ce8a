//! Rules over single certificates, whichever way they were obtained (a probe's client chain, a file
//! given to `inspect`, the chain a server sent): validity, usage, self-signature, keys.

use time::OffsetDateTime;

use super::catalog::finding;
use super::finding::Finding;
use super::id::FindingId;
use crate::cert::{CertInfo, Eku};
use crate::verify::Role;

pub struct CertContext<'a> {
    /// Which probe or file the certificate came from.
    pub subject: &'a str,
    pub role: Role,
    pub now: OffsetDateTime,
    pub expiring_days: i64,
}

pub fn cert_findings(c: &CertInfo, ctx: &CertContext, out: &mut Vec<Finding>) {
    let label = format!("\"{}\" (Thumbprint {})", c.subject, c.thumbprint_sha1);
    let push = |out: &mut Vec<Finding>, mut f: Finding| {
        f.subject = Some(ctx.subject.to_string());
        out.push(f);
    };
    let not_after = c.not_after_time();
    let not_before = c.not_before_time();
    let expired = not_after.is_some_and(|t| t < ctx.now);
    let premature = not_before.is_some_and(|t| t > ctx.now);

    if ctx.role == Role::Client {
        if expired {
            let mut f = finding(FindingId::CertExpired);
            let days = not_after.map(|t| (ctx.now - t).whole_days()).unwrap_or_default();
            f.cause = format!("The certificate expired {days} day(s) ago: servers refuse it, and a policy testing NotAfter < DateTime.UtcNow answers 403.");
            f.evidence.push(format!("{label} NotAfter {}", c.not_after));
            f.fix = vec![
                "Is this client still meant to get in? If yes: issue it a new certificate from the same CA and install it on the client (or upload the new .pfx to Key Vault for the gateway).".into(),
                "If a policy pins the old thumbprint, add the new certificate's Thumbprint and drop the old one once it is no longer used.".into(),
                super::policy_safety::IF_NOT.into(),
            ];
            push(out, f);
        }
        if premature {
            let mut f = finding(FindingId::CertNotYetValid);
            f.cause =
                "The certificate's validity starts in the future: it is refused until then (or a clock is wrong)."
                    .into();
            f.evidence.push(format!("{label} NotBefore {}", c.not_before));
            f.fix = vec![
                "Wait until NotBefore, or reissue it with a current start date; check the issuing machine's clock."
                    .into(),
            ];
            push(out, f);
        }
        if !c.is_ca && !c.eku_allows(Eku::ClientAuth) {
            let mut f = finding(FindingId::CertMissingClientAuthEku);
            f.cause = "The certificate's extended key usage does not include clientAuth, so TLS servers (and Verify()) refuse it as a client certificate.".into();
            f.evidence.push(format!("{label} EKU: {}", c.eku.clone().unwrap_or_default().join(", ")));
            f.fix =
                vec!["Reissue the certificate with Extended Key Usage \"Client Authentication\" (1.3.6.1.5.5.7.3.2)."
                    .into()];
            push(out, f);
        }
        if is_sha1(&c.signature_algorithm) {
            let mut f = finding(FindingId::CertSha1Signature);
            f.cause = "The client certificate is signed with SHA-1. OpenSSL 3 at its default security level (nginx, Apache, HAProxy on current distributions) refuses it with \"CA signature digest algorithm too weak\" (verify error 68) and an OpenSSL 3 client will not even load it; Go (crypto/tls since 1.18) and rustls refuse SHA-1 signatures too.".into();
            f.evidence.push(format!("{label} signature algorithm {}", c.signature_algorithm));
            f.fix = vec!["Reissue the certificate signed with SHA-256 (or stronger) by its CA.".into()];
            push(out, f);
        }
        if c.is_ca && !c.self_signed {
            let mut f = finding(FindingId::CertClientIsCa);
            f.cause = "The client certificate is marked CA:TRUE (basic constraints). rustls-based servers refuse a CA certificate as an end entity (webpki: CaUsedAsEndEntity); OpenSSL 3 accepts it; strict PKI checks flag it.".into();
            f.evidence.push(format!("{label} basicConstraints CA:TRUE"));
            f.fix = vec!["Reissue the client certificate as an end-entity certificate (basicConstraints CA:FALSE, EKU clientAuth).".into()];
            push(out, f);
        }
        if c.self_signed && !c.is_ca {
            let mut f = finding(FindingId::CertSelfSigned);
            f.cause = "The client certificate signs itself: Verify() passes only if this very certificate is uploaded to the service as a CA certificate.".into();
            f.evidence.push(format!("{label}: subject equals issuer and its own key verifies the signature"));
            f.fix = vec![
                "Prefer a certificate from your internal CA and upload that CA's root to API Management → Certificates → CA certificates.".into(),
                "If this very certificate is meant to get in (ask its owner first): upload it as a CA certificate and pin its thumbprint in the policy, so that no other certificate with the same names passes.".into(),
            ];
            push(out, f);
        }
    }
    if !expired && !premature {
        if let Some(t) = not_after {
            let left = (t - ctx.now).whole_days();
            if left < ctx.expiring_days {
                let mut f = finding(FindingId::CertExpiringSoon);
                f.cause =
                    format!("The certificate expires in {left} day(s); after that every handshake that uses it fails.");
                f.evidence.push(format!("{label} NotAfter {}", c.not_after));
                f.fix = vec![
                    "Renew it now and roll it out (Key Vault: add a new version; the gateway picks it up within 4 hours).".into(),
                    "Update any thumbprint pinned in policies to the renewed certificate's Thumbprint.".into(),
                ];
                push(out, f);
            }
        }
    }
}

/// SHA-1 signature algorithms as `CertInfo` names them (RSA, ECDSA, DSA).
fn is_sha1(algorithm: &str) -> bool {
    matches!(algorithm, "sha1WithRSAEncryption" | "ecdsa-with-SHA1" | "1.2.840.10040.4.3" | "1.3.14.3.2.29")
}
