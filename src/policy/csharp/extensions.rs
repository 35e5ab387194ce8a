//! `X509Certificate2.Extensions`: the string indexer (`Extensions["2.5.29.17"]`, by OID or by .NET's
//! friendly name), the integer indexer, `Count`, and an extension's `Critical`, `Oid.Value`. What
//! the platform decides (`Format()`, `Oid.FriendlyName`, names only OpenSSL or Windows resolve) is
//! reported as unknown, with the reason.

use x509_parser::prelude::{FromDer, X509Certificate};

use super::super::expr::{Expr, Span};
use super::value::{Extension, Origin, Text, Val};
use super::{unevaluable, ExprEval, Stop};
use crate::cert::CertInfo;

/// The extension names in .NET's own friendly-name table (dotnet/runtime `OidLookup.cs`,
/// `s_friendlyNameToOid`, matched ignoring case), which `new Oid(name)` resolves the same way on
/// every platform before asking the operating system. (.NET Core 3.1 on Linux, run as an oracle in
/// tests/integration/dotnet_oracle_cases.rs, does not resolve "Subject Alternative Name": there
/// `Extensions["Subject Alternative Name"]` is null, and `Oid.FriendlyName` is OpenSSL's
/// "X509v3 Subject Alternative Name". The model follows current .NET and Windows.)
const FRIENDLY_NAMES: [(&str, &str); 17] = [
    ("Authority Information Access", "1.3.6.1.5.5.7.1.1"),
    ("Authority Key Identifier", "2.5.29.35"),
    ("Basic Constraints", "2.5.29.19"),
    ("Certificate Policies", "2.5.29.32"),
    ("CRL Distribution Points", "2.5.29.31"),
    ("Enhanced Key Usage", "2.5.29.37"),
    ("Freshest CRL", "2.5.29.46"),
    ("Inhibit Any Policy", "2.5.29.54"),
    ("Issuer Alternative Name", "2.5.29.18"),
    ("Key Usage", "2.5.29.15"),
    ("Name Constraints", "2.5.29.30"),
    ("Policy Constraints", "2.5.29.36"),
    ("Policy Mappings", "2.5.29.33"),
    ("Private Key Usage Period", "2.5.29.16"),
    ("Subject Alternative Name", "2.5.29.17"),
    ("Subject Information Access", "1.3.6.1.5.5.7.1.11"),
    ("Subject Key Identifier", "2.5.29.14"),
];

/// A dotted OID in canonical form (no empty arc, no leading zero): every platform leaves it as is.
fn canonical_oid(s: &str) -> bool {
    let arcs: Vec<&str> = s.split('.').collect();
    arcs.len() >= 2
        && arcs
            .iter()
            .all(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()) && (a.len() == 1 || !a.starts_with('0')))
}

/// What `new Oid(key).Value` is on every platform, or why it depends on the platform.
pub(super) fn resolve_oid(key: &str) -> Result<String, String> {
    if let Some((_, oid)) = FRIENDLY_NAMES.iter().find(|(name, _)| name.eq_ignore_ascii_case(key)) {
        return Ok(oid.to_string());
    }
    if canonical_oid(key) {
        return Ok(key.to_string());
    }
    Err(format!(
        "\"{key}\" is neither a dotted OID nor an extension name in .NET's own table: whether it resolves is up to the platform (Windows' CryptFindOIDInfo, OpenSSL's names on Linux)"
    ))
}

/// The certificate's extensions in encoded order.
pub(super) fn extensions_of(cert: &CertInfo) -> Result<Vec<Extension>, String> {
    let der = cert.der().ok_or("the certificate's encoding is not available")?;
    let (_, x) = X509Certificate::from_der(&der).map_err(|e| format!("the certificate does not parse ({e})"))?;
    Ok(x.extensions()
        .iter()
        .map(|e| {
            let oid = e.oid.to_id_string();
            let decoded = super::typed::decode(&oid, e.value);
            Extension { oid, critical: e.critical, decoded, as_type: super::typed::ExtType::Extension }
        })
        .collect())
}

fn literal(value: String) -> Val {
    Val::Str(Text { raw: value.clone(), value, origin: Origin::Literal, transforms: Vec::new() })
}

impl ExprEval<'_, '_> {
    /// `Extensions[key]`: by OID string (first match ignoring case, else null) or by position.
    pub(super) fn extension_index(&mut self, list: Vec<Extension>, index: &Expr, span: Span) -> Result<Val, Stop> {
        match self.eval(index)? {
            Val::Str(t) => {
                let oid = resolve_oid(&t.value).map_err(|why| unevaluable(self.src, span, why))?;
                Ok(match list.into_iter().find(|e| e.oid.eq_ignore_ascii_case(&oid)) {
                    Some(e) => Val::Extension(Box::new(e)),
                    None => Val::Null { certificate: false },
                })
            }
            Val::Num(n) if n.integral().is_some() => {
                let n = n.integral().unwrap_or(-1);
                if n < 0 {
                    // X509ExtensionCollection's int indexer says so for a negative index.
                    return Err(Stop::Exception {
                        exception: "InvalidOperationException".into(),
                        fragment: self.text(span),
                        why: "a negative index".into(),
                    });
                }
                match list.into_iter().nth(n as usize) {
                    Some(e) => Ok(Val::Extension(Box::new(e))),
                    None => Err(Stop::Exception {
                        exception: "ArgumentOutOfRangeException".into(),
                        fragment: self.text(span),
                        why: "the certificate has fewer extensions".into(),
                    }),
                }
            }
            Val::Null { .. } => Err(Stop::Exception {
                exception: "ArgumentNullException".into(),
                fragment: self.text(span),
                why: "new Oid(null)".into(),
            }),
            other => Err(unevaluable(
                self.src,
                index.span,
                format!("an extension is looked up by an OID string or an index, not {}", other.describe()),
            )),
        }
    }

    pub(super) fn extensions_member(&mut self, list: &[Extension], name: &str, span: Span) -> Result<Val, Stop> {
        match name {
            "Count" => Ok(Val::Num(super::number::Number::Int(list.len() as i32))),
            _ => {
                Err(unevaluable(self.src, span, format!("member `{name}` of X509ExtensionCollection is not supported")))
            }
        }
    }

    pub(super) fn extension_member(&mut self, ext: &Extension, name: &str, span: Span) -> Result<Val, Stop> {
        match name {
            "Critical" => Ok(Val::Bool(ext.critical)),
            "Oid" => Ok(Val::ExtensionOid(ext.oid.clone())),
            _ => Err(unevaluable(self.src, span, format!("member `{name}` of an X509Extension is not supported"))),
        }
    }

    pub(super) fn extension_oid_member(&mut self, oid: &str, name: &str, span: Span) -> Result<Val, Stop> {
        match name {
            "Value" => Ok(literal(oid.to_string())),
            "FriendlyName" => Err(unevaluable(
                self.src,
                span,
                "Oid.FriendlyName comes from the platform (Windows names are localized, Linux's come from OpenSSL)",
            )),
            _ => Err(unevaluable(self.src, span, format!("member `{name}` of an Oid is not supported"))),
        }
    }

    /// `ext.Format(multiLine)`: Windows formats with CryptFormatObject, .NET on Linux with OpenSSL's
    /// printers; the texts differ (a SAN reads "DNS Name=a.example" on Windows, "DNS:a.example" on
    /// Linux), and Windows' is localized, so the result is not computed.
    pub(super) fn extension_call(
        &mut self,
        ext: &Extension,
        name: &str,
        args: &[Expr],
        span: Span,
    ) -> Result<Val, Stop> {
        match (name, args) {
            ("Format", [multi_line]) => {
                match self.eval(multi_line)? {
                    Val::Bool(_) => {}
                    other => {
                        return Err(unevaluable(
                            self.src,
                            multi_line.span,
                            format!("Format() takes a boolean, not {}", other.describe()),
                        ))
                    }
                }
                Err(unevaluable(
                    self.src,
                    span,
                    format!(
                        "the text of Format() for extension {} is platform-defined (Windows' CryptFormatObject, localized, versus OpenSSL's printer on Linux: \"DNS Name=…\" versus \"DNS:…\" for a SAN)",
                        ext.oid
                    ),
                ))
            }
            _ => Err(unevaluable(
                self.src,
                span,
                format!("method `{name}` with {} argument(s) on an X509Extension is not supported", args.len()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::resolve_oid;

    #[test]
    fn oid_keys_resolve_as_every_platform_does() {
        assert_eq!(resolve_oid("2.5.29.17").as_deref(), Ok("2.5.29.17"));
        assert_eq!(resolve_oid("subject alternative NAME").as_deref(), Ok("2.5.29.17"));
        assert_eq!(resolve_oid("Basic Constraints").as_deref(), Ok("2.5.29.19"));
        // OpenSSL normalizes these, Windows keeps the text: platform-defined.
        for key in ["2.5.29.017", "subjectAltName", " 2.5.29.17", "2..5", "2"] {
            assert!(resolve_oid(key).is_err(), "{key}");
        }
    }
}
