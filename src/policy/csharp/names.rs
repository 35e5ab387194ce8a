//! `X509Certificate2.GetNameInfo(X509NameType, forIssuer)` as the Azure-managed gateway (.NET on
//! Windows, CertGetNameString) answers it, for the subject or (forIssuer) the issuer's name and the
//! issuer alternative name:
//!
//! - SimpleName: CN, else OU, O, E; else the SAN's first rfc822Name, else the only other attribute.
//! - EmailName: the alternative name's first rfc822Name, else the E attribute.
//! - UpnName: the alternative name's first otherName of type UPN (1.3.6.1.4.1.311.20.2.3).
//! - DnsName and DnsFromAlternativeName (both CERT_NAME_DNS_TYPE on Windows): the first dNSName,
//!   else the CN. .NET on Linux (the self-hosted gateway) gives "" for DnsFromAlternativeName there.
//!
//! .NET Core 3.1 on Linux (tests/integration/dotnet_oracle.rs, a real runtime) agrees with every
//! other answer here except two, both without a fallback on Linux: DnsFromAlternativeName without
//! a dNSName, and SimpleName for a name without a CN ("" where Windows goes on to OU, O, E).
//! - UrlName: the first uniformResourceIdentifier.
//!
//! Nothing found is "" (not null). dotnet/runtime's managed reader (`CertificateData.GetNameInfo`)
//! documents the same order. Where the answer hangs on a choice neither documents (two CN
//! attributes, several other attributes, a value that is not a string) it is reported as unknown.

use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::super::expr::{Expr, Span};
use super::value::{CertProp, Origin, Text, Val};
use super::{unevaluable, ExprEval, Stop};
use crate::cert::CertInfo;

const CN: &str = "2.5.4.3";
const OU: &str = "2.5.4.11";
const O: &str = "2.5.4.10";
const E: &str = "1.2.840.113549.1.9.1";
const UPN: &str = "1.3.6.1.4.1.311.20.2.3";

/// The `X509NameType` members .NET defines.
pub(super) fn name_type(member: &str) -> Option<&'static str> {
    ["SimpleName", "EmailName", "UpnName", "DnsName", "DnsFromAlternativeName", "UrlName"]
        .into_iter()
        .find(|t| *t == member)
}

/// The label a comparison records for `GetNameInfo(kind, issuer)`.
pub(super) fn label(kind: &str, issuer: bool) -> &'static str {
    match (kind, issuer) {
        ("SimpleName", false) => "GetNameInfo(SimpleName)",
        ("SimpleName", true) => "GetNameInfo(SimpleName, issuer)",
        ("EmailName", false) => "GetNameInfo(EmailName)",
        ("EmailName", true) => "GetNameInfo(EmailName, issuer)",
        ("UpnName", false) => "GetNameInfo(UpnName)",
        ("UpnName", true) => "GetNameInfo(UpnName, issuer)",
        ("DnsName", false) => "GetNameInfo(DnsName)",
        ("DnsName", true) => "GetNameInfo(DnsName, issuer)",
        ("DnsFromAlternativeName", false) => "GetNameInfo(DnsFromAlternativeName)",
        ("DnsFromAlternativeName", true) => "GetNameInfo(DnsFromAlternativeName, issuer)",
        ("UrlName", false) => "GetNameInfo(UrlName)",
        ("UrlName", true) => "GetNameInfo(UrlName, issuer)",
        _ => "GetNameInfo",
    }
}

/// One alternative-name entry, of the kinds GetNameInfo reads.
enum Alt {
    Email(String),
    Dns(String),
    Uri(String),
    Upn(Option<String>),
    Other,
}

/// The UTF8String inside an otherName's `[0] EXPLICIT` value.
fn upn_text(value: &[u8]) -> Option<String> {
    let (outer, _) = crate::cert::der::read_tlv(value)?;
    let inner = if outer.tag == 0xA0 { crate::cert::der::read_tlv(outer.content)?.0 } else { outer };
    (inner.tag == crate::cert::der::tag::UTF8_STRING).then(|| String::from_utf8(inner.content.to_vec()).ok()).flatten()
}

/// `GetNameInfo(kind, for_issuer)`, or why it is not known.
pub(super) fn name_info(cert: &CertInfo, kind: &str, for_issuer: bool) -> Result<String, String> {
    let der = cert.der().ok_or("the certificate's encoding is not available")?;
    let (_, x) = X509Certificate::from_der(&der).map_err(|e| format!("the certificate does not parse ({e})"))?;
    let parts = crate::cert::der::tbs_parts(&der).ok_or("the certificate's names cannot be read")?;
    let name_der = if for_issuer { parts.issuer } else { parts.subject };
    let attrs = crate::cert::attributes_reversed(name_der).ok_or("the name does not decode")?;
    let alt_oid = if for_issuer { "2.5.29.18" } else { "2.5.29.17" };
    let mut alts = Vec::new();
    for ext in x.extensions().iter().filter(|e| e.oid.to_id_string() == alt_oid) {
        let names = match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(s) => &s.general_names,
            ParsedExtension::IssuerAlternativeName(s) => &s.general_names,
            _ => return Err("the alternative name extension does not decode".into()),
        };
        alts.extend(names.iter().map(|g| match g {
            GeneralName::RFC822Name(s) => Alt::Email(s.to_string()),
            GeneralName::DNSName(s) => Alt::Dns(s.to_string()),
            GeneralName::URI(s) => Alt::Uri(s.to_string()),
            GeneralName::OtherName(oid, value) if oid.to_id_string() == UPN => Alt::Upn(upn_text(value)),
            _ => Alt::Other,
        }));
    }
    let whose = if for_issuer { "issuer" } else { "subject" };
    // The single attribute of type `oid`; several, or one that is not a string, is not decided.
    let attr = |oid: &str, short: &str| -> Result<Option<String>, String> {
        let found: Vec<&Option<String>> = attrs.iter().filter(|(o, _)| o == oid).map(|(_, v)| v).collect();
        match found.as_slice() {
            [] => Ok(None),
            [Some(v)] => Ok(Some(v.clone())),
            [None] => Err(format!("the {whose}'s {short} is not a string: how Windows renders it here is not modelled")),
            many => Err(format!(
                "the {whose} has {} {short} attributes: which one Windows' CertGetNameString picks is not documented (.NET on Linux takes the last encoded)",
                many.len()
            )),
        }
    };
    let first_email = alts.iter().find_map(|a| if let Alt::Email(s) = a { Some(s.clone()) } else { None });
    let first_dns = alts.iter().find_map(|a| if let Alt::Dns(s) = a { Some(s.clone()) } else { None });
    let answer = match kind {
        "SimpleName" => {
            for (oid, short) in [(CN, "CN"), (OU, "OU"), (O, "O"), (E, "E")] {
                if let Some(v) = attr(oid, short)? {
                    return Ok(v);
                }
            }
            let others: Vec<&(String, Option<String>)> =
                attrs.iter().filter(|(o, _)| ![CN, OU, O, E].contains(&o.as_str())).collect();
            match (others.as_slice(), first_email) {
                ([], email) => email,
                ([(_, Some(v))], None) => Some(v.clone()),
                (_, Some(_)) => {
                    return Err(format!(
                        "the {whose} has no CN, OU, O or E but other attributes and an rfc822Name: Windows takes the rfc822Name, .NET on Linux the attribute"
                    ))
                }
                _ => {
                    return Err(format!(
                        "the {whose} has no CN, OU, O or E: which of its other attributes Windows shows is not modelled"
                    ))
                }
            }
        }
        "EmailName" => match first_email {
            Some(v) => Some(v),
            None => attr(E, "E")?,
        },
        "UpnName" => match alts.iter().find_map(|a| if let Alt::Upn(v) = a { Some(v.clone()) } else { None }) {
            Some(Some(v)) => Some(v),
            Some(None) => return Err("the UPN otherName is not a UTF8String: .NET throws or skips it".into()),
            None => None,
        },
        "DnsName" | "DnsFromAlternativeName" => match first_dns {
            Some(v) => Some(v),
            None => attr(CN, "CN")?,
        },
        "UrlName" => alts.iter().find_map(|a| if let Alt::Uri(s) = a { Some(s.clone()) } else { None }),
        other => return Err(format!("X509NameType.{other} is not a name type")),
    };
    Ok(answer.unwrap_or_default())
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
        let value = name_info(cert, kind, for_issuer).map_err(|why| unevaluable(self.src, span, why))?;
        let prop = CertProp::NameInfo { kind, issuer: for_issuer };
        Ok(Val::Str(Text { raw: value.clone(), value, origin: Origin::Cert(prop), transforms: Vec::new() }))
    }
}
