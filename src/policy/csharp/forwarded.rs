//! Certificates a policy builds itself: `new X509Certificate2(Convert.FromBase64String(header))`,
//! the way policies read a client certificate that Application Gateway or Front Door forwarded in
//! a header (`X-ARR-ClientCert`) after terminating TLS in front of the gateway.

use base64::Engine as _;
use rustls_pki_types::pem::PemObject as _;
use time::OffsetDateTime;

use super::super::expr::{Expr, Span};
use super::super::VerifyCall;
use super::value::{CertProp, Date, DateOrigin, Text, TypeName, Val};
use super::{unevaluable, ExprEval, Stop};
use crate::cert::CertInfo;
use crate::revocation::VerifyRevocationAnswer;

/// `WebUtility`, `Uri`, `System`: the names a policy reaches the URL decoders by.
pub(super) fn decoder_type(name: &str) -> Val {
    match name {
        "System" => Val::Type(TypeName::Namespace("System")),
        "Uri" => Val::Type(TypeName::UrlDecoder("Uri")),
        _ => Val::Type(TypeName::UrlDecoder("WebUtility")),
    }
}

/// `System.Net`, `System.Net.WebUtility`, `System.Uri`.
pub(super) fn namespace_member(ns: &str, name: &str) -> Option<Val> {
    match (ns, name) {
        ("System", "Net") => Some(Val::Type(TypeName::Namespace("System.Net"))),
        ("System", "Uri") => Some(Val::Type(TypeName::UrlDecoder("Uri"))),
        ("System.Net", "WebUtility") => Some(Val::Type(TypeName::UrlDecoder("WebUtility"))),
        _ => None,
    }
}

/// Percent-decoding as `WebUtility.UrlDecode` does it: `%XX` sequences become bytes read as UTF-8
/// (a malformed sequence becomes U+FFFD), a `%` not followed by two hex digits stays, `+` becomes
/// a space. `Uri.UnescapeDataString` keeps `+` (and keeps a malformed UTF-8 sequence escaped
/// where this gives U+FFFD; forwarded certificates are ASCII, where the two agree).
fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let hex = |c: u8| (c as char).to_digit(16);
        if b == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if plus_is_space && b == b'+' { b' ' } else { b });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl ExprEval<'_, '_> {
    /// `WebUtility.UrlDecode(s)`, `Uri.UnescapeDataString(s)`.
    pub(super) fn url_decode_call(&mut self, ty: &str, name: &str, args: &[Expr], span: Span) -> Result<Val, Stop> {
        let plus_is_space = match (ty, name, args.len()) {
            ("WebUtility", "UrlDecode", 1) => true,
            ("Uri", "UnescapeDataString", 1) => false,
            _ => {
                return Err(unevaluable(
                    self.src,
                    span,
                    format!("{ty}.{name} with {} argument(s) is not supported", args.len()),
                ))
            }
        };
        match self.eval(&args[0])? {
            // WebUtility.UrlDecode(null) is null; Uri.UnescapeDataString(null) throws.
            Val::Null { .. } if plus_is_space => Ok(Val::Null { certificate: false }),
            Val::Null { .. } => Err(Stop::Exception {
                exception: "ArgumentNullException".into(),
                fragment: self.text(span),
                why: "the string is null".into(),
            }),
            Val::Str(t) => {
                let mut transforms = t.transforms.clone();
                transforms.push(format!("{ty}.{name}"));
                let value = percent_decode(&t.value, plus_is_space);
                Ok(Val::Str(Text { value, raw: t.raw, origin: t.origin, transforms }))
            }
            other => Err(unevaluable(self.src, args[0].span, format!("expected a string, found {}", other.describe()))),
        }
    }

    /// `Verify()` / `VerifyNoRevocation()` from what the caller computed: `full` is `Verify()`'s
    /// answer, `chain` the chain without revocation, `revocation` how the revocation part ends.
    /// `forwarded` names the header a built certificate came from.
    pub(super) fn verify_call(
        &mut self,
        name: &str,
        full: Option<bool>,
        chain: Option<bool>,
        revocation: Option<&VerifyRevocationAnswer>,
        forwarded: Option<String>,
        span: Span,
    ) -> Result<Val, Stop> {
        let is_full = name == "Verify";
        let known = if is_full { full } else { chain };
        // The chain itself waits on an issuer from caIssuers that was not fetched (--offline).
        if let (None, Some(answer)) = (known, revocation.filter(|a| a.is_chain_pending())) {
            return Err(unevaluable(self.src, span, format!("{name}() is not known here: {answer}")));
        }
        let revocation = revocation.filter(|_| is_full && chain == Some(true));
        if let (None, Some(answer)) = (known, revocation) {
            return Err(unevaluable(
                self.src,
                span,
                format!(
                    "Verify() is VerifyNoRevocation() (true here) plus .NET's online revocation check, and {answer}"
                ),
            ));
        }
        let revocation = revocation.filter(|_| known == Some(false)).map(|a| a.to_string());
        let Some(result) = known else {
            return Err(unevaluable(
                self.src,
                span,
                format!("the result of {name}() needs the chain verification against the uploaded CA certificates, which was not supplied"),
            ));
        };
        self.verify_calls.push(VerifyCall {
            path: self.path.to_string(),
            clause: self.clause,
            method: name.to_string(),
            result,
            evaluated: !self.shadow,
            revocation,
            forwarded,
        });
        Ok(Val::Bool(result))
    }

    /// Methods of a certificate the policy built: `Verify()` and `VerifyNoRevocation()` are known
    /// for the certificate given with `--forward-cert` (judged like a presented one), by thumbprint.
    pub(super) fn built_call(&mut self, cert: &CertInfo, name: &str, args: &[Expr], span: Span) -> Result<Val, Stop> {
        if !(matches!(name, "Verify" | "VerifyNoRevocation") && args.is_empty()) {
            return Err(unevaluable(
                self.src,
                span,
                format!("{name}() of a certificate the policy builds itself (from a header) is not supported"),
            ));
        }
        let Some(f) = self.input.forwarded.iter().find(|f| f.thumbprint == cert.thumbprint_sha1) else {
            return Err(unevaluable(
                self.src,
                span,
                format!(
                    "{name}() of the certificate built from a header ({}) needs its chain judged against the uploaded CA certificates: give the certificate with --forward-cert",
                    cert.thumbprint_sha1
                ),
            ));
        };
        let (full, chain, revocation, header) =
            (f.verify_ok, f.verify_no_revocation_ok, f.revocation, f.header.clone());
        self.verify_call(name, full, chain, revocation, Some(header), span)
    }

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
