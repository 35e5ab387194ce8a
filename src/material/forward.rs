//! A client certificate written into a request header the way a TLS-terminating front end writes
//! it, so that an API Management policy which reads the certificate from that header can be tried
//! without the front end (`--forward-cert HEADER[=FORMAT]`).
//!
//! What each front end puts in the header (checked against their documentation):
//! - `arr`, the default: base64 of the DER certificate on one line, no PEM markers. App Service
//!   sends `X-ARR-ClientCert` so (ASP.NET Core's certificate forwarding reads it with
//!   `Convert.FromBase64String`); HAProxy's `ssl_c_der,base64` gives the same text. A policy reads it
//!   with `new X509Certificate2(Convert.FromBase64String(header))`.
//! - `appgw`: Application Gateway v2's `{var_client_certificate}` server variable in a rewrite rule:
//!   the PEM text, percent-encoded (`-----BEGIN%20CERTIFICATE-----%0AMIIB…%2B…%3D%0A-----END%20CERTIFICATE-----%0A`).
//!   A policy must `WebUtility.UrlDecode` it (or `Uri.UnescapeDataString`), drop the two PEM marker
//!   lines, and only then `Convert.FromBase64String` (which skips the line breaks).
//! - `nginx`: nginx's `$ssl_client_escaped_cert`: the same percent-encoded PEM as `appgw`.
//!
//! The header carries the certificate only (never the key, never the chain), as the front ends do.

use std::fmt;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How the certificate is written into the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForwardFormat {
    /// Base64 of the DER, one line (App Service `X-ARR-ClientCert`, HAProxy `ssl_c_der,base64`).
    Arr,
    /// Percent-encoded PEM (Application Gateway v2 `{var_client_certificate}`).
    Appgw,
    /// Percent-encoded PEM (nginx `$ssl_client_escaped_cert`).
    Nginx,
}

impl ForwardFormat {
    pub const ALL: [ForwardFormat; 3] = [ForwardFormat::Arr, ForwardFormat::Appgw, ForwardFormat::Nginx];

    pub fn name(self) -> &'static str {
        match self {
            ForwardFormat::Arr => "arr",
            ForwardFormat::Appgw => "appgw",
            ForwardFormat::Nginx => "nginx",
        }
    }

    /// What the front end is and the policy shape that reads this format, for notes and help.
    pub fn describe(self) -> &'static str {
        match self {
            ForwardFormat::Arr => {
                "base64 of the DER on one line, as App Service's X-ARR-ClientCert: read with new X509Certificate2(Convert.FromBase64String(header))"
            }
            ForwardFormat::Appgw => {
                "percent-encoded PEM, as Application Gateway's {var_client_certificate}: read with WebUtility.UrlDecode, the PEM markers removed, then Convert.FromBase64String"
            }
            ForwardFormat::Nginx => {
                "percent-encoded PEM, as nginx's $ssl_client_escaped_cert: read with WebUtility.UrlDecode, the PEM markers removed, then Convert.FromBase64String"
            }
        }
    }

    /// The header value for a certificate's DER bytes.
    pub fn encode(self, der: &[u8]) -> String {
        match self {
            ForwardFormat::Arr => base64::engine::general_purpose::STANDARD.encode(der),
            ForwardFormat::Appgw | ForwardFormat::Nginx => escape_component(&pem_text(der)),
        }
    }
}

impl fmt::Display for ForwardFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `--forward-cert HEADER[=FORMAT]`, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardSpec {
    pub header: String,
    pub format: ForwardFormat,
}

impl ForwardSpec {
    /// `X-ARR-ClientCert`, `X-ARR-ClientCert=arr`, `X-Client-Cert=appgw`; errors name the flag.
    pub fn parse(spec: &str) -> Result<ForwardSpec> {
        let (header, format) = match spec.split_once('=') {
            Some((h, f)) => (h.trim(), Some(f.trim())),
            None => (spec.trim(), None),
        };
        let bad = |why: String| Error::Usage(format!("--forward-cert {spec:?}: {why}"));
        // An HTTP field name is a token (RFC 9110 5.6.2).
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if header.is_empty() || !header.chars().all(token) {
            return Err(bad("expected HEADER[=FORMAT] with a header name such as X-ARR-ClientCert".into()));
        }
        let format = match format {
            None => ForwardFormat::Arr,
            Some(f) => ForwardFormat::ALL.into_iter().find(|x| x.name().eq_ignore_ascii_case(f)).ok_or_else(|| {
                let names: Vec<&str> = ForwardFormat::ALL.iter().map(|x| x.name()).collect();
                bad(format!("unknown format {f:?} (expected one of {})", names.join(", ")))
            })?,
        };
        Ok(ForwardSpec { header: header.to_string(), format })
    }
}

impl fmt::Display for ForwardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.header, self.format)
    }
}

impl ForwardFormat {
    /// The certificate a header value holds, when it is written in one of these formats (as a
    /// `-H` header copied from a front end's log would be): its format and DER bytes.
    pub fn decode(value: &str) -> Option<(ForwardFormat, Vec<u8>)> {
        let value = value.trim();
        if value.starts_with("-----BEGIN%20CERTIFICATE-----") {
            let pem = percent_decode(value)?;
            let body: String = pem
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
                .collect();
            let der = base64::engine::general_purpose::STANDARD.decode(body).ok()?;
            return Some((ForwardFormat::Appgw, der));
        }
        if value.len() < 64 || !value.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)) {
            return None;
        }
        let der = base64::engine::general_purpose::STANDARD.decode(value).ok()?;
        // A DER certificate is a SEQUENCE.
        (der.first() == Some(&0x30)).then_some((ForwardFormat::Arr, der))
    }
}

/// `%XX` to bytes (ASCII text only); `None` on a malformed escape.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// PEM as OpenSSL writes it: 64 base64 characters a line, a line break after each line.
fn pem_text(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// Percent-encoding as nginx's `ngx_escape_uri(…, NGX_ESCAPE_URI_COMPONENT)`: everything but
/// letters, digits and `-._~` (and the sub-delimiters nginx leaves) is `%XX`, upper-case hex.
/// Certificate PEM only holds letters, digits, `+`, `/`, `=`, `-`, space and line breaks, and of
/// these nginx escapes `+`, `/`, `=`, space and the line break, as this does.
fn escape_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_header_and_format() {
        let s = ForwardSpec::parse("X-ARR-ClientCert").expect("parse");
        assert_eq!((s.header.as_str(), s.format), ("X-ARR-ClientCert", ForwardFormat::Arr));
        let s = ForwardSpec::parse("X-Client-Cert=AppGW").expect("parse");
        assert_eq!(s.format, ForwardFormat::Appgw);
        let e = ForwardSpec::parse("X-Client-Cert=der").expect_err("unknown format").to_string();
        assert!(e.contains("--forward-cert") && e.contains("arr, appgw, nginx"), "{e}");
        let e = ForwardSpec::parse("bad header: x").expect_err("not a token").to_string();
        assert!(e.contains("header name"), "{e}");
    }

    #[test]
    fn escaped_pem_matches_what_nginx_writes() {
        // 0xfb 0xff gives "+/8=" in base64: every character nginx escapes in a certificate.
        let v = ForwardFormat::Nginx.encode(&[0xfb, 0xff]);
        assert_eq!(v, "-----BEGIN%20CERTIFICATE-----%0A%2B%2F8%3D%0A-----END%20CERTIFICATE-----%0A");
        assert_eq!(ForwardFormat::Arr.encode(&[0xfb, 0xff]), "+/8=");
        // What each format writes decodes back to the same bytes.
        let der: Vec<u8> = (0..200u8).map(|b| b.wrapping_mul(7)).chain([0x30]).collect();
        let der = [vec![0x30], der].concat();
        for f in ForwardFormat::ALL {
            let (format, back) = ForwardFormat::decode(&f.encode(&der)).expect("decodes");
            assert_eq!(back, der);
            assert_eq!(format, if f == ForwardFormat::Arr { ForwardFormat::Arr } else { ForwardFormat::Appgw });
        }
        assert!(ForwardFormat::decode("Bearer abc").is_none());
        assert!(ForwardFormat::decode("-----BEGIN%20CERTIFICATE-----%ZZ").is_none());
        // Long input breaks at 64 characters.
        let v = ForwardFormat::Appgw.encode(&[0u8; 60]);
        assert_eq!(v.matches("%0A").count(), 4, "{v}");
    }
}
