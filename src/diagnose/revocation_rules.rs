//! The policy fails because of .NET's revocation check (`Verify()`, or `validate-client-certificate`
//! with its default `validate-revocation="true"`), while the chain itself verifies.

use super::catalog;
use super::finding::Finding;
use super::id::FindingId;
use super::{ClientVerify, PolicyEvaluation};
use crate::policy::{ElementOutcome, ValidationFailure};
use crate::revocation::{RevocationStatus, VerifyRevocationAnswer};

/// `cv` is the presented certificate's check, or with `forwarded` the one of the certificate sent
/// in a header (`--forward-cert`), which only `Verify()` on a certificate built from it reaches.
pub fn revocation_findings(cv: &ClientVerify, ev: &PolicyEvaluation, forwarded: bool, out: &mut Vec<Finding>) {
    let Some(answer) = &cv.revocation_answer else { return };
    if answer.passes() != Some(false) {
        return;
    }
    let o = &ev.outcome;
    let verify_call = o
        .verify_calls
        .iter()
        .find(|c| c.evaluated && c.method == "Verify" && c.revocation.is_some() && c.forwarded.is_some() == forwarded);
    let rejected = o.elements.iter().filter(|_| !forwarded).find(|e| {
        matches!(&e.outcome, ElementOutcome::CertificateRejected { failures, ignored: false }
            if failures.contains(&ValidationFailure::RevocationCheckFailed))
    });
    if verify_call.is_none() && rejected.is_none() {
        return;
    }
    let mut f = catalog::finding(FindingId::PolicyRevocationUnknown);
    f.subject = Some(format!("policy {}", ev.source));
    if let Some(c) = verify_call {
        let on = c.forwarded.as_ref().map(|h| format!(" (on the certificate forwarded in {h})")).unwrap_or_default();
        f.evidence.push(format!(
            "{} condition clause {}: Verify() is false, VerifyNoRevocation() is true{on}",
            c.path, c.clause
        ));
    }
    if let Some(e) = rejected {
        f.evidence.push(format!("{}: validate-revocation (default true) fails", e.path));
    }
    f.evidence.push(format!("chain against {}: verifies", cv.uploaded.join(", ")));
    if let Some(report) = &cv.revocation {
        for c in &report.certificates {
            if c.status == RevocationStatus::NotCheckedRoot {
                continue;
            }
            if c.sources.is_empty() {
                f.evidence.push(format!(
                    "certificate {} ({}): no CRL distribution point, no OCSP responder",
                    c.depth, c.subject
                ));
            }
            for s in &c.sources {
                f.evidence
                    .push(format!("certificate {} ({}): {} {}: {}", c.depth, c.subject, s.kind, s.url, s.outcome));
            }
        }
    }
    match answer {
        VerifyRevocationAnswer::Revoked { .. } => {
            f.cause = format!("The chain verifies, but {answer}: .NET reports Revoked and the gateway refuses it.");
            // A revoked certificate must stay refused: no advice to switch revocation off.
            f.fix = vec![
                "The gateway is right to refuse this certificate: it was revoked by its CA.".into(),
                "If this client is meant to get in, issue it a new certificate and install that on the client.".into(),
            ];
        }
        _ => {
            f.cause = format!(
                "The chain verifies (VerifyNoRevocation() is true), but {answer}: .NET reports RevocationStatusUnknown \
                 and Verify() / validate-revocation fail."
            );
            f.fix = vec![
                "Is revocation meant to be checked for these certificates? If yes: publish a CRL at an http:// CRL \
                 distribution point (or an OCSP responder) in every certificate below the root, reachable from the \
                 gateway, and reissue the certificates with it."
                    .into(),
                "If no (a private CA without revocation): use context.Request.Certificate.VerifyNoRevocation() \
                 instead of Verify(), or validate-revocation=\"false\" on validate-client-certificate."
                    .into(),
            ];
        }
    }
    out.push(f);
    // The generic 403 finding would say "change the failing clause": the clause is right, the
    // revocation check is what fails, and a revoked certificate must stay refused.
    if let Some(rejects) = out.iter_mut().find(|f| f.id == FindingId::PolicyRejects) {
        rejects.fix = vec!["The revocation check decides here, not a literal: see policy-revocation-unknown.".into()];
        if !rejects.related.contains(&FindingId::PolicyRevocationUnknown) {
            rejects.related.push(FindingId::PolicyRevocationUnknown);
        }
    }
}
