//! Certificates a policy builds itself: `new X509Certificate2(Convert.FromBase64String(header))`,
//! the way policies read a client certificate that Application Gateway or Front Door forwarded in
//! a header (`X-ARR-ClientCert`) after terminating TLS in front of the gateway.

use base64::Engine as _;
use rustls_pki_types::pem::PemObject as _;
use time::OffsetDateTime;

use super::super::expr::{Expr, Span};
use super::value::{CertProp, Date, DateOrigin, Val};
use super::{unevaluable, ExprEval, Stop};
use crate::cert::CertInfo;

impl ExprEval<'_, '_> {
    /// `Convert.FromBase64String(s)`: a FormatException on text that is not base64.
    pub(super) fn convert_call(&mut self, name: &str, args: &[Expr], span: Span) -> Result<Val, Stop> {
        let ("FromBase64String", [arg]) = (name, args) else {
            return Err(unevaluable(self.src, span, format!("Convert.{name} is not supported")));
        };
        let text = match self.eval(arg)? {
            Val::Str(t) => t.value,
            Val::Null { .. } => {
                return Err(Stop::Exception {
                    exception: "ArgumentNullException".into(),
                    fragment: self.text(span),
                    why: "the string is null".into(),
                })
            }
            other => {
                return Err(unevaluable(self.src, arg.span, format!("expected a string, found {}", other.describe())))
            }
        };
        // .NET skips white space inside base64 text.
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
            Ok(bytes) => Ok(Val::Bytes(bytes)),
            Err(_) => Err(Stop::Exception {
                exception: "FormatException".into(),
                fragment: self.text(span),
                why: "the text is not base64".into(),
            }),
        }
    }

    /// `new X509Certificate2(bytes)`: DER (or PEM text) bytes; anything else throws.
    pub(super) fn new_certificate(&mut self, args: &[Expr], span: Span) -> Result<Val, Stop> {
        let [arg] = args else {
            return Err(unevaluable(self.src, span, "only new X509Certificate2(byte[]) is supported"));
        };
        let bytes = match self.eval(arg)? {
            Val::Bytes(b) => b,
            other => {
                return Err(unevaluable(
                    self.src,
                    arg.span,
                    format!("new X509Certificate2 from {} is not supported", other.describe()),
                ))
            }
        };
        if bytes.is_empty() {
            return Ok(Val::EmptyBuilt);
        }
        let der = if bytes.starts_with(b"-----BEGIN") {
            rustls_pki_types::CertificateDer::from_pem_slice(&bytes).map(|d| d.to_vec()).unwrap_or_default()
        } else {
            bytes
        };
        match CertInfo::from_der(&der, OffsetDateTime::now_utc()) {
            Ok(info) => Ok(Val::Built(Box::new(info))),
            Err(why) => Err(Stop::Exception {
                exception: "CryptographicException".into(),
                fragment: self.text(span),
                why: format!("the bytes are not a certificate: {why}"),
            }),
        }
    }

    /// Any member of an empty certificate: X509Certificate's accessors throw on the invalid handle.
    pub(super) fn empty_built(&self, name: &str, span: Span) -> Stop {
        Stop::Exception {
            exception: "CryptographicException".into(),
            fragment: self.text(span),
            why: format!("{name} of a certificate built from no bytes (an empty header?): the certificate is empty"),
        }
    }

    /// The properties policies read from a certificate they built.
    pub(super) fn built_member(&mut self, cert: &CertInfo, name: &str, span: Span) -> Result<Val, Stop> {
        let prop = match name {
            "Thumbprint" => CertProp::Thumbprint,
            "Issuer" => CertProp::Issuer,
            "Subject" => CertProp::Subject,
            "SerialNumber" => CertProp::SerialNumber,
            "Extensions" => {
                return super::extensions::extensions_of(cert)
                    .map(Val::Extensions)
                    .map_err(|why| unevaluable(self.src, span, why))
            }
            "NotBefore" | "NotAfter" => {
                let prop = if name == "NotBefore" { CertProp::NotBefore } else { CertProp::NotAfter };
                let t = if name == "NotBefore" { cert.not_before_time() } else { cert.not_after_time() };
                let Some(t) = t else {
                    return Err(unevaluable(self.src, span, "the certificate's validity date is unreadable"));
                };
                return Ok(Val::Date(Date {
                    t,
                    raw: t,
                    origin: DateOrigin::Cert(prop),
                    text: self.text(span),
                    transforms: Vec::new(),
                }));
            }
            other => {
                return Err(unevaluable(
                    self.src,
                    span,
                    format!("member `{other}` of a certificate the policy builds is not supported"),
                ))
            }
        };
        Ok(self.cert_text(cert, prop))
    }
}
