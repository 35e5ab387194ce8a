//! The client chain depends on an issuer fetched from a caIssuers URL (.NET's chain building
//! downloads it when the client sends only its own certificate): it works only while the gateway
//! can fetch that URL, and the fix is to send the full chain or upload the intermediate.

use super::catalog;
use super::finding::{Finding, Severity};
use super::id::FindingId;
use super::ClientVerify;
use crate::revocation::{IssuerFetchOutcome, UnknownWhy};

pub fn aia_findings(cv: &ClientVerify, out: &mut Vec<Finding>) {
    let Some(report) = &cv.issuer_fetch else { return };
    let mut f = catalog::finding(FindingId::ClientChainViaAia);
    f.subject = Some(format!("certificate Thumbprint {}", cv.thumbprint));
    let Some(first) = report.fetches.first() else {
        // Only URLs .NET does not follow (https, ldap, …): the chain stays incomplete.
        if report.skipped.is_empty() || cv.verdict.ok {
            return;
        }
        f.severity = Severity::Error;
        f.related.push(FindingId::ClientChainUntrusted);
        f.evidence.extend(report.skipped.iter().map(|s| format!("caIssuers not followed: certificate {s}")));
        f.cause = "The client does not send its whole chain, and the certificate names its issuer only at caIssuers \
                   URLs .NET does not fetch (it follows http:// only), so the chain cannot be built and Verify() is false."
            .into();
        f.fix = vec![
            "Make the client send its full chain, or upload the missing intermediate as a CA certificate.".into(),
            "Or publish the issuer at an http:// caIssuers URL (first in the extension) in newly issued certificates."
                .into(),
        ];
        out.push(f);
        return;
    };
    for x in &report.fetches {
        f.evidence.push(format!("certificate {} ({}): {}", x.depth, x.subject, x.line()));
    }
    for s in &report.skipped {
        f.evidence.push(format!("caIssuers not followed (.NET fetches http:// only): certificate {s}"));
    }
    let fetched: Vec<&str> = report.fetched_issuers().map(|x| x.issuer.as_str()).collect();
    let pending = cv.issuer_pending();
    f.cause = match (&first.outcome, &pending) {
        (_, Some(why)) => {
            format!("The client does not send its whole chain, so the answer depends on the gateway: {why}.")
        }
        (IssuerFetchOutcome::Fetched { .. }, None) if cv.verdict.ok => format!(
            "The client sends its certificate without \"{}\"; the gateway builds the chain only by fetching it from \
             the caIssuers URL in the certificate (as this run did). Verify() depends on that URL being reachable \
             from the gateway for every new chain it builds.",
            fetched.join("\", \"")
        ),
        (IssuerFetchOutcome::Fetched { .. }, None) => format!(
            "The client sends its certificate without \"{}\"; the gateway fetches it from the caIssuers URL, but the \
             chain still does not verify (see client-chain-untrusted).",
            fetched.join("\", \"")
        ),
        (IssuerFetchOutcome::NotFetched { why: UnknownWhy::Fetch { .. } }, None) => format!(
            "The client sends its certificate without \"{}\", and its caIssuers URL gave nothing from this machine, so \
             the chain cannot be built and Verify() is false; a gateway that can fetch the URL would build it.",
            first.issuer
        ),
        (_, None) => format!(
            "The client sends its certificate without \"{}\", and its caIssuers URL does not supply it, so the chain \
             cannot be built and Verify() is false.",
            first.issuer
        ),
    };
    if !cv.verdict.ok && pending.is_none() {
        f.severity = Severity::Error;
        f.related.push(FindingId::ClientChainUntrusted);
    }
    let missing = if fetched.is_empty() { first.issuer.clone() } else { fetched.join("\", \"") };
    f.fix = vec![
        format!("Make the client send its full chain (its certificate followed by \"{missing}\"), or upload \"{missing}\" as a CA certificate, so the gateway needs no download."),
        "Otherwise keep the caIssuers URL reachable over plain http:// from the gateway (.NET does not follow https:// or ldap:// there, and tries only the first http:// URL), serving the issuer as one DER certificate.".into(),
    ];
    out.push(f);
}
