//! Judge one certificate against one fetched CRL: the CRL must be a full, direct CRL from the
//! certificate's issuer, signed by the issuer's key and current; then the serial number decides.

use time::OffsetDateTime;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;

use super::{reason_name, SourceOutcome, UnknownWhy};
use crate::cert::rfc3339;

const ID_CE_DELTA_CRL_INDICATOR: &str = "2.5.29.27";

/// The `cRLSign` keyUsage bit a CRL signer needs when the extension is present.
fn may_sign_crls(issuer: &X509Certificate<'_>) -> bool {
    match issuer.key_usage() {
        Ok(Some(ku)) => ku.value.crl_sign(),
        Ok(None) => true,
        Err(_) => false,
    }
}

/// Accepts DER or PEM (`-----BEGIN X509 CRL-----`), as CAs publish both.
fn crl_der(bytes: &[u8]) -> Result<Vec<u8>, UnknownWhy> {
    if bytes.starts_with(b"-----BEGIN") {
        use rustls_pki_types::pem::PemObject;
        return rustls_pki_types::CertificateRevocationListDer::from_pem_slice(bytes)
            .map(|d| d.as_ref().to_vec())
            .map_err(|e| UnknownWhy::Malformed { problem: format!("not a PEM CRL ({e})") });
    }
    Ok(bytes.to_vec())
}

pub(super) fn judge(
    cert: &X509Certificate<'_>,
    issuer: Option<&X509Certificate<'_>>,
    bytes: &[u8],
    now: OffsetDateTime,
) -> SourceOutcome {
    let der = match crl_der(bytes) {
        Ok(d) => d,
        Err(why) => return SourceOutcome::Unknown { why },
    };
    let crl = match CertificateRevocationList::from_der(&der) {
        Ok((&[], crl)) => crl,
        Ok(_) => return malformed("trailing bytes after the CRL"),
        Err(e) => return malformed(&format!("not a CRL ({e})")),
    };
    let Some(issuer) = issuer else {
        return SourceOutcome::Unknown { why: UnknownWhy::IssuerMissing };
    };
    if crl.issuer().as_raw() != cert.issuer().as_raw() {
        return SourceOutcome::Unknown {
            why: UnknownWhy::NotSupported { what: "a CRL issued under another name (indirect CRL)".into() },
        };
    }
    if crl.verify_signature(issuer.public_key()).is_err() {
        return SourceOutcome::Unknown { why: UnknownWhy::BadSignature };
    }
    if !may_sign_crls(issuer) {
        return SourceOutcome::Unknown { why: UnknownWhy::SignerNotAllowed };
    }
    for ext in crl.extensions() {
        match ext.parsed_extension() {
            _ if ext.oid.to_id_string() == ID_CE_DELTA_CRL_INDICATOR => {
                return SourceOutcome::Unknown {
                    why: UnknownWhy::NotSupported { what: "a delta CRL without its base CRL".into() },
                }
            }
            ParsedExtension::IssuingDistributionPoint(idp) if idp.indirect_crl => {
                return SourceOutcome::Unknown { why: UnknownWhy::NotSupported { what: "an indirect CRL".into() } }
            }
            ParsedExtension::IssuingDistributionPoint(idp) if idp.only_some_reasons.is_some() => {
                return SourceOutcome::Unknown {
                    why: UnknownWhy::NotSupported { what: "a CRL partitioned by revocation reason".into() },
                }
            }
            _ if ext.critical && matches!(ext.parsed_extension(), ParsedExtension::UnsupportedExtension { .. }) => {
                return SourceOutcome::Unknown {
                    why: UnknownWhy::NotSupported { what: format!("a CRL with critical extension {}", ext.oid) },
                }
            }
            _ => {}
        }
    }
    let this_update = crl.last_update().to_datetime();
    let next_update = crl.next_update().map(|t| t.to_datetime());
    if this_update > now {
        return SourceOutcome::Unknown { why: UnknownWhy::NotYetValid { this_update: rfc3339(this_update) } };
    }
    if let Some(next) = next_update.filter(|n| *n < now) {
        return SourceOutcome::Unknown { why: UnknownWhy::Stale { next_update: rfc3339(next) } };
    }
    let serial = cert.raw_serial();
    if let Some(entry) = crl.iter_revoked_certificates().find(|r| r.raw_serial() == serial) {
        let reason = entry.reason_code().map(|(_, code)| reason_name(code.0));
        // A removeFromCRL entry only appears in delta CRLs, which were refused above.
        return SourceOutcome::Revoked { revoked_at: rfc3339(entry.revocation_date.to_datetime()), reason };
    }
    SourceOutcome::Good { this_update: rfc3339(this_update), next_update: next_update.map(rfc3339) }
}

fn malformed(problem: &str) -> SourceOutcome {
    SourceOutcome::Unknown { why: UnknownWhy::Malformed { problem: problem.to_string() } }
}

/// The CRL distribution point URLs a certificate names, in order.
pub(super) fn distribution_points(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut urls = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::CRLDistributionPoints(points) = ext.parsed_extension() {
            for point in points.iter() {
                if let Some(x509_parser::extensions::DistributionPointName::FullName(names)) = &point.distribution_point
                {
                    for name in names {
                        if let x509_parser::extensions::GeneralName::URI(u) = name {
                            urls.push(u.to_string());
                        }
                    }
                }
            }
        }
    }
    urls
}

/// Parse a certificate for the checks here; the caller's certificates were parsed before.
pub(super) fn parse(der: &[u8]) -> Option<X509Certificate<'_>> {
    X509Certificate::from_der(der).ok().map(|(_, c)| c)
}
