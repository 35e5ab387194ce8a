//! `X509Certificate2.GetNameInfo(X509NameType, forIssuer)` for the subject: the simple name (the
//! common name) and the DNS name (the first SAN dNSName, else the common name), as Windows'
//! CertGetNameString gives them. The issuer's names and the other name types are named, not guessed.

use super::super::expr::{Expr, Span};
use super::value::{CertProp, Val};
use super::{unevaluable, ExprEval, Stop};
use crate::cert::CertInfo;

/// The `X509NameType` members .NET defines.
pub(super) fn name_type(member: &str) -> Option<&'static str> {
    ["SimpleName", "EmailName", "UpnName", "DnsName", "DnsFromAlternativeName", "UrlName"]
        .into_iter()
        .find(|t| *t == member)
}

/// The first SAN dNSName, else the subject's common name.
pub(super) fn dns_name(cert: &CertInfo) -> Option<String> {
    cert.sans.iter().find_map(|s| s.strip_prefix("DNS:").map(str::to_string)).or_else(|| cert.common_name())
}

impl ExprEval<'_, '_> {
    pub(super) fn get_name_info(&mut self, args: &[Expr], span: Span) -> Result<Val, Stop> {
        let Some(cert) = self.input.cert else {
            return Err(unevaluable(self.src, span, "GetNameInfo on a missing certificate"));
        };
        let kind = match self.eval(&args[0])? {
            Val::NameType(k) => k,
            other => {
                return Err(unevaluable(
                    self.src,
                    args[0].span,
                    format!("expected an X509NameType, found {}", other.describe()),
                ))
            }
        };
        let for_issuer = match self.eval(&args[1])? {
            Val::Bool(b) => b,
            other => {
                return Err(unevaluable(
                    self.src,
                    args[1].span,
                    format!("expected a boolean, found {}", other.describe()),
                ))
            }
        };
        if for_issuer {
            return Err(unevaluable(self.src, span, "GetNameInfo for the issuer is not modelled (its name parts)"));
        }
        let (prop, present) = match kind {
            "SimpleName" => (CertProp::SimpleName, cert.common_name().is_some()),
            "DnsName" => (CertProp::DnsName, dns_name(cert).is_some()),
            other => {
                return Err(unevaluable(
                    self.src,
                    span,
                    format!("GetNameInfo(X509NameType.{other}, …) is not modelled"),
                ))
            }
        };
        if !present {
            return Err(unevaluable(
                self.src,
                span,
                "the certificate has no common name (nor DNS name): which attribute .NET falls back to is not modelled",
            ));
        }
        Ok(self.cert_text(cert, prop))
    }
}
