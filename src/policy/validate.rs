//! `<validate-client-certificate>`: the gateway's own checks of the presented certificate (chain,
//! revocation, dates) and its identity list, judged against the uploaded CA certificates.

use super::csharp::named_value;
use super::walk::{Flow, Walker};
use super::{ClientCertificateValidation, Element, ElementOutcome, IdentityCheck, LastError, ValidationFailure};
use crate::cert::CertInfo;

impl Walker<'_, '_> {
    /// `validate-trust` needs the chain verdict, which the caller did not supply: the element
    /// cannot be decided. Returns true, for `unknown`.
    fn chain_result_missing(&mut self, path: &str) -> bool {
        let why = match self.input.revocation.filter(|a| a.is_chain_pending()) {
            Some(pending) => format!("the chain is not known here: {pending}"),
            None => "the chain verification result was not supplied".to_string(),
        };
        self.unevaluable(path, None, "validate-trust", why);
        true
    }

    pub(super) fn validate_client_certificate(&mut self, el: &Element, v: &ClientCertificateValidation) -> Flow {
        let path = el.path.as_str();
        for attr in &v.unknown_attributes {
            self.out.notes.push(format!("{path}: attribute {attr} is not known to this tool and was ignored"));
        }
        let revocation = self.setting(path, "validate-revocation", &v.validate_revocation, true);
        let trust = self.setting(path, "validate-trust", &v.validate_trust, true);
        let not_before = self.setting(path, "validate-not-before", &v.validate_not_before, true);
        let not_after = self.setting(path, "validate-not-after", &v.validate_not_after, true);
        let ignore = self.setting(path, "ignore-error", &v.ignore_error, false);
        let mut failures = Vec::new();
        let mut unknown = [revocation, trust, not_before, not_after].iter().any(Option::is_none);

        match self.input.cert {
            None => failures.push(ValidationFailure::NoCertificate),
            Some(cert) => {
                let chain = self.input.verify_no_revocation_ok;
                let full = self.input.verify_ok;
                let trust_on = trust == Some(true);
                let revocation_on = revocation == Some(true);
                match (trust_on, revocation_on) {
                    (true, true) => match (full, chain) {
                        (Some(true), _) => {}
                        (Some(false), Some(true)) => failures.push(ValidationFailure::RevocationCheckFailed),
                        (Some(false), _) => {
                            failures.push(ValidationFailure::ChainNotTrusted { revocation_checked: true })
                        }
                        (None, Some(false)) => {
                            failures.push(ValidationFailure::ChainNotTrusted { revocation_checked: false })
                        }
                        (None, Some(true)) if self.input.revocation.is_some() => {
                            let answer = self.input.revocation.map(|a| a.to_string()).unwrap_or_default();
                            self.unevaluable(
                                path,
                                None,
                                "validate-revocation",
                                format!("the chain verifies; with validate-revocation=\"true\" (the default) {answer}"),
                            );
                            unknown = true;
                        }
                        (None, _) => unknown |= self.chain_result_missing(path),
                    },
                    (true, false) => match chain {
                        Some(true) => {}
                        Some(false) => failures.push(ValidationFailure::ChainNotTrusted { revocation_checked: false }),
                        None => unknown |= self.chain_result_missing(path),
                    },
                    (false, true) => match (full, chain) {
                        (Some(true), _) => {}
                        (Some(false), Some(true)) => failures.push(ValidationFailure::RevocationCheckFailed),
                        (None, Some(true)) if self.input.revocation.is_some() => {
                            let answer = self.input.revocation.map(|a| a.to_string()).unwrap_or_default();
                            self.unevaluable(path, None, "validate-revocation", answer);
                            unknown = true;
                        }
                        _ => {
                            self.unevaluable(
                                path,
                                None,
                                "validate-revocation",
                                "the revocation result alone is not known (the chain does not verify, or no result was supplied)",
                            );
                            unknown = true;
                        }
                    },
                    (false, false) => {}
                }
                let now = self.input.now;
                if not_before == Some(true) {
                    match cert.not_before_time() {
                        Some(nb) if now < nb => {
                            failures.push(ValidationFailure::NotYetValid { not_before: cert.not_before.clone() })
                        }
                        Some(_) => {}
                        None => {
                            self.unevaluable(
                                path,
                                None,
                                "validate-not-before",
                                "the certificate's notBefore is unreadable",
                            );
                            unknown = true;
                        }
                    }
                }
                if not_after == Some(true) {
                    match cert.not_after_time() {
                        Some(na) if now > na => {
                            failures.push(ValidationFailure::Expired { not_after: cert.not_after.clone() })
                        }
                        Some(_) => {}
                        None => {
                            self.unevaluable(
                                path,
                                None,
                                "validate-not-after",
                                "the certificate's notAfter is unreadable",
                            );
                            unknown = true;
                        }
                    }
                }
                if !v.identities.is_empty() {
                    let mut any_match = false;
                    let mut any_unknown = false;
                    for (i, identity) in v.identities.iter().enumerate() {
                        let mut all = Some(true);
                        for attr in &identity.attributes {
                            let check = self.identity_attribute(cert, i + 1, &identity.path, &attr.name, &attr.value);
                            all = match (all, check.matched) {
                                (Some(false), _) | (_, Some(false)) => Some(false),
                                (Some(true), Some(true)) => Some(true),
                                _ => None,
                            };
                            self.out.identity_checks.push(check);
                        }
                        match all {
                            Some(true) => any_match = true,
                            None => any_unknown = true,
                            Some(false) => {}
                        }
                    }
                    if !any_match {
                        if any_unknown {
                            unknown = true;
                        } else {
                            failures.push(ValidationFailure::NoIdentityMatched { identities: v.identities.len() });
                        }
                    }
                }
            }
        }

        if failures.is_empty() {
            if unknown {
                self.result("validate-client-certificate", path, ElementOutcome::Unevaluable);
                return Flow::Undetermined;
            }
            self.result("validate-client-certificate", path, ElementOutcome::CertificateAccepted);
            return Flow::Continue;
        }
        let Some(ignored) = ignore else {
            self.result("validate-client-certificate", path, ElementOutcome::Unevaluable);
            return Flow::Undetermined;
        };
        let first = describe_failure(failures.first());
        let last_error = last_error_of(&failures);
        self.result("validate-client-certificate", path, ElementOutcome::CertificateRejected { failures, ignored });
        if ignored {
            self.out.notes.push(format!(
                "{path}: validation failed ({first}) but ignore-error=\"true\" lets the request through"
            ));
            return Flow::Continue;
        }
        let by = match self.reasons.last() {
            Some(r) => format!("{path}: {first} (reached via {r})"),
            None => format!("{path}: {first}"),
        };
        // The gateway answers 401 and sets context.LastError (recorded against a real instance:
        // ronaldbosma/mtls-with-apim ProtectedApiTests: untrusted, expired, not yet valid, missing).
        Flow::Fail { status: 401, by, last_error }
    }

    fn identity_attribute(
        &mut self,
        cert: &CertInfo,
        index: usize,
        path: &str,
        name: &str,
        expected: &str,
    ) -> IdentityCheck {
        let check = |actual: Option<String>, matched: Option<bool>, comparison: &str| IdentityCheck {
            path: path.to_string(),
            identity: index,
            attribute: name.to_string(),
            expected: expected.to_string(),
            actual,
            matched,
            comparison: comparison.to_string(),
        };
        if let Some(named) = named_value(expected) {
            self.unevaluable(path, None, named, "the named value was not given (--named-value NAME=VALUE)");
            return check(None, None, "unknown");
        }
        // The documentation does not say how the gateway compares; hex values ignore case (they
        // are case-free data), names compare exactly, DNS names ignore case as DNS does.
        let hex_eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        match name {
            "thumbprint" => {
                let actual = cert.thumbprint_sha1.clone();
                let m = hex_eq(expected, &actual);
                check(Some(actual), Some(m), "hex, ignoring case")
            }
            "serial-number" => {
                let actual = cert.serial.clone();
                let m = hex_eq(expected, &actual);
                check(Some(actual), Some(m), "hex, ignoring case")
            }
            "subject" => {
                let actual = cert.subject.clone();
                let m = expected == actual;
                check(Some(actual), Some(m), "ordinal (.NET X500DistinguishedName.Name form)")
            }
            "issuer-subject" => {
                let actual = cert.issuer.clone();
                let m = expected == actual;
                check(Some(actual), Some(m), "ordinal (.NET X500DistinguishedName.Name form)")
            }
            "common-name" => {
                let actual = cert.common_name();
                let m = actual.as_deref() == Some(expected);
                check(actual, Some(m), "ordinal")
            }
            "dns-name" => {
                let names: Vec<&str> = cert.sans.iter().filter_map(|s| s.strip_prefix("DNS:")).collect();
                match names.iter().find(|n| n.eq_ignore_ascii_case(expected)) {
                    Some(n) => check(Some(n.to_string()), Some(true), "any SAN dNSName, ignoring case"),
                    None => {
                        let actual = if names.is_empty() { None } else { Some(names.join(", ")) };
                        check(actual, Some(false), "any SAN dNSName, ignoring case")
                    }
                }
            }
            "issuer-thumbprint" => match &self.input.issuer_thumbprint {
                Some(actual) => {
                    let m = hex_eq(expected, actual);
                    check(Some(actual.clone()), Some(m), "hex, ignoring case")
                }
                None => {
                    self.unevaluable(path, None, "issuer-thumbprint", "the issuing CA's thumbprint was not supplied");
                    check(None, None, "hex, ignoring case")
                }
            },
            // The id names a certificate entity (context.Deployment.Certificates); the presented
            // certificate's issuer must be that certificate.
            "issuer-certificate-id" => {
                let entity = self.input.deployment_certificates.as_ref().map(|d| d.iter().find(|c| c.id == expected));
                match (entity, &self.input.issuer_thumbprint) {
                    (None, _) => {
                        self.unevaluable(path, None, "issuer-certificate-id", super::DEPLOYMENT_UNKNOWN);
                        check(None, None, "certificate id")
                    }
                    (Some(None), _) => {
                        self.unevaluable(
                            path,
                            None,
                            "issuer-certificate-id",
                            format!("no certificate with id \"{expected}\" among the service's certificates given"),
                        );
                        check(None, None, "certificate id")
                    }
                    (Some(Some(_)), None) => {
                        self.unevaluable(
                            path,
                            None,
                            "issuer-certificate-id",
                            "the issuing CA's thumbprint was not supplied",
                        );
                        check(None, None, "certificate id")
                    }
                    (Some(Some(c)), Some(actual)) => {
                        let m = hex_eq(&c.thumbprint, actual);
                        check(Some(actual.clone()), Some(m), "the issuer's thumbprint against the certificate id's")
                    }
                }
            }
            other => {
                self.unevaluable(path, None, other, "identity attribute not known to this tool");
                check(None, None, "unknown")
            }
        }
    }
}

/// `context.LastError` after `validate-client-certificate` failed. The gateway names one reason;
/// the order here is the one observed against a real instance: a missing certificate first, then
/// its dates (an expired certificate that is otherwise trusted gives `ClientCertificateExpired`),
/// then the chain (`ClientCertificateNotTrusted` even when no identity matches), then identities.
fn last_error_of(failures: &[ValidationFailure]) -> LastError {
    let rank = |f: &ValidationFailure| match f {
        ValidationFailure::NoCertificate => 0,
        ValidationFailure::NotYetValid { .. } => 1,
        ValidationFailure::Expired { .. } => 2,
        ValidationFailure::ChainNotTrusted { .. } => 3,
        ValidationFailure::RevocationCheckFailed => 4,
        ValidationFailure::NoIdentityMatched { .. } => 5,
    };
    let first = failures.iter().min_by_key(|f| rank(f));
    let (reason, reason_unknown) = match first {
        Some(ValidationFailure::NoCertificate) => (Some("ClientCertificateNotFound"), None),
        Some(ValidationFailure::NotYetValid { .. }) => (Some("ClientCertificateNotYetValid"), None),
        Some(ValidationFailure::Expired { .. }) => (Some("ClientCertificateExpired"), None),
        Some(ValidationFailure::ChainNotTrusted { .. }) => (Some("ClientCertificateNotTrusted"), None),
        Some(ValidationFailure::NoIdentityMatched { .. }) => (Some("ClientCertificateIdentityNotMatched"), None),
        Some(ValidationFailure::RevocationCheckFailed) | None => (
            None,
            Some(
                "the reason the gateway sets when only the revocation check fails is not documented nor recorded \
                 from a real instance (it is a chain error, so ClientCertificateNotTrusted is likely, not certain)"
                    .to_string(),
            ),
        ),
    };
    LastError { source: "validate-client-certificate".into(), reason: reason.map(str::to_string), reason_unknown }
}

fn describe_failure(f: Option<&ValidationFailure>) -> String {
    match f {
        Some(ValidationFailure::NoCertificate) => "no client certificate".into(),
        Some(ValidationFailure::ChainNotTrusted { revocation_checked: true }) => {
            "the chain does not verify (with revocation checking)".into()
        }
        Some(ValidationFailure::ChainNotTrusted { revocation_checked: false }) => {
            "the chain does not build to an uploaded CA certificate".into()
        }
        Some(ValidationFailure::RevocationCheckFailed) => "the revocation check fails".into(),
        Some(ValidationFailure::NotYetValid { not_before }) => format!("not valid before {not_before}"),
        Some(ValidationFailure::Expired { not_after }) => format!("expired {not_after}"),
        Some(ValidationFailure::NoIdentityMatched { identities }) => format!("none of {identities} identities matched"),
        None => "failed".into(),
    }
}
