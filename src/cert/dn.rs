//! Distinguished names as .NET prints them (`X500DistinguishedName.Name`), per platform, and in RFC 4514 form.
//!
//! The name is read from its raw DER, not from x509-parser's decoded view, because .NET's answer
//! depends on details a parser smooths over: the declared string type, empty RDN SETs, trailing
//! NULs, values that are not strings at all.

use x509_parser::der_parser::asn1_rs::Oid;

use super::der::{read_all, read_tlv, tag, Tlv};
use super::oid_names::{dotnet_friendly_name, openssl_long_name, rfc4514_short_name};

/// Which .NET the answer is for. The two decode the same bytes differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// .NET on Windows: the Azure-managed API Management gateway.
    Windows,
    /// .NET on Linux (OpenSSL underneath): the self-hosted gateway container.
    Linux,
}

/// One AttributeTypeAndValue.
#[derive(Debug, Clone)]
pub(crate) struct Atv<'a> {
    pub oid: String,
    pub value: Tlv<'a>,
}

/// The RDNs of a DER Name in encoded order; an RDN may be empty (a zero-length SET).
pub(crate) fn parse_name(der: &[u8]) -> Option<Vec<Vec<Atv<'_>>>> {
    let (seq, rest) = read_tlv(der)?;
    if seq.tag != tag::SEQUENCE || !rest.is_empty() {
        return None;
    }
    let mut rdns = Vec::new();
    for set in read_all(seq.content)? {
        if set.tag != tag::SET {
            return None;
        }
        let mut atvs = Vec::new();
        for atv in read_all(set.content)? {
            if atv.tag != tag::SEQUENCE {
                return None;
            }
            let parts = read_all(atv.content)?;
            let [oid, value] = parts.as_slice() else { return None };
            if oid.tag != tag::OID || oid.content.is_empty() {
                return None;
            }
            let oid = Oid::new(std::borrow::Cow::Borrowed(oid.content)).to_id_string();
            atvs.push(Atv { oid, value: *value });
        }
        rdns.push(atvs);
    }
    Some(rdns)
}

/// How a value is shown: decoded text (quoted when needed) or .NET's `#hex` form (never quoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shown {
    Text(String),
    Hex(String),
}

/// Decode an attribute value as .NET on `platform` does. `None` means .NET throws while decoding,
/// and `X500DistinguishedName.Name` is then the empty string for the whole name.
///
/// Follows dotnet/runtime `X509Certificates/X500NameEncoder.ManagedDecode.cs` (`ReadAttributeValue`:
/// the six string types are decoded and trailing U+0000 trimmed; an OCTET STRING shows `#` + hex of
/// its contents, "as Windows does"; any other type `#` + hex of its whole encoding) and, for the
/// strictness of each string type, `System.Formats.Asn1`'s `AsnCharacterStringEncodings.cs`
/// (PrintableString, NumericString and IA5String reject characters outside their sets; BMPString
/// rejects surrogates; T61String is read as UTF-8 and, if that fails, as Latin-1). Windows
/// (CryptoAPI's `CertNameToStr`) does not police the character sets, and decodes VisibleString
/// and UniversalString, which the managed decoder treats as binary.
pub(crate) fn dotnet_value(value: &Tlv, platform: Platform) -> Option<Shown> {
    let strict = platform == Platform::Linux;
    let data = value.content;
    let text = match value.tag {
        tag::UTF8_STRING => String::from_utf8(data.to_vec()).ok()?,
        tag::PRINTABLE_STRING => restricted(data, strict, is_printable_char)?,
        tag::NUMERIC_STRING => restricted(data, strict, |b| b.is_ascii_digit() || b == b' ')?,
        tag::IA5_STRING => restricted(data, strict, |b| b < 0x80)?,
        tag::T61_STRING => t61(data),
        tag::BMP_STRING => bmp(data, strict)?,
        tag::VISIBLE_STRING if !strict => restricted(data, false, |_| true)?,
        tag::UNIVERSAL_STRING if !strict => universal(data)?,
        tag::OCTET_STRING => return Some(Shown::Hex(format!("#{}", hex::encode_upper(data)))),
        _ => return Some(Shown::Hex(format!("#{}", hex::encode_upper(value.whole)))),
    };
    Some(Shown::Text(text.trim_end_matches('\0').to_string()))
}

/// PrintableString's repertoire (X.680 41.4), as System.Formats.Asn1 enforces it.
fn is_printable_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b)
}

/// A single-byte string type: checked against its set when `strict`, else read as Latin-1.
fn restricted(data: &[u8], strict: bool, allowed: impl Fn(u8) -> bool) -> Option<String> {
    if strict && !data.iter().all(|b| allowed(*b)) {
        return None;
    }
    Some(data.iter().map(|b| char::from(*b)).collect())
}

/// T61String: UTF-8 when the bytes are valid UTF-8, otherwise Latin-1 (System.Formats.Asn1
/// `T61Encoding`; real issuers put either there, never actual T.61).
pub(crate) fn t61(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(s) => s.to_string(),
        Err(_) => data.iter().map(|b| char::from(*b)).collect(),
    }
}

/// BMPString. When `strict` it is UCS-2, as System.Formats.Asn1's `BMPEncoding` reads it: any
/// surrogate, even a valid pair, is an error (oracle: U+1F600 as a pair empties the name on
/// Linux). Windows reads UTF-16BE and keeps a lone surrogate, which Rust cannot hold: shown as U+FFFD.
fn bmp(data: &[u8], strict: bool) -> Option<String> {
    if data.len() % 2 != 0 {
        return None;
    }
    let units = data.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]));
    if strict && units.clone().any(|u| (0xD800..=0xDFFF).contains(&u)) {
        return None;
    }
    let mut out = String::with_capacity(data.len() / 2);
    for unit in char::decode_utf16(units) {
        match unit {
            Ok(c) => out.push(c),
            Err(_) if strict => return None,
            Err(_) => out.push('\u{FFFD}'),
        }
    }
    Some(out)
}

/// UniversalString (UTF-32BE).
fn universal(data: &[u8]) -> Option<String> {
    if data.len() % 4 != 0 {
        return None;
    }
    data.chunks_exact(4).map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))).collect()
}

/// The attribute-type label .NET prints: its own friendly name, then (Linux only) OpenSSL's long
/// name, else `OID.` + dotted form. dotnet/runtime `X500NameEncoder.cs` (`AppendOid`) with
/// `OidLookup.cs` and `OidLookup.OpenSsl.cs`.
fn dotnet_label(oid: &str, platform: Platform) -> String {
    let native = match platform {
        Platform::Windows => None,
        Platform::Linux => openssl_long_name(oid),
    };
    match dotnet_friendly_name(oid).or(native) {
        Some(name) => name.to_string(),
        None => format!("OID.{oid}"),
    }
}

fn is_quotable_whitespace(c: char) -> bool {
    c == ' ' || ('\u{9}'..='\u{d}').contains(&c)
}

/// dotnet/runtime `X500NameEncoder.cs` (`NeedsQuoting`): empty, leading or trailing whitespace, or
/// one of `,+="\n<>#;` (not `\r`, as on Windows).
fn dotnet_needs_quoting(v: &str) -> bool {
    v.is_empty()
        || v.chars().next().is_some_and(is_quotable_whitespace)
        || v.chars().last().is_some_and(is_quotable_whitespace)
        || v.chars().any(|c| matches!(c, ',' | '+' | '=' | '"' | '\n' | '<' | '>' | '#' | ';'))
}

/// `X500DistinguishedName.Name` for a DER Name on `platform`: RDNs last-encoded first, ", "
/// between them (an empty RDN still gets its separator), " + " inside a multi-valued RDN, values
/// quoted when needed with `"` doubled. Any decoding failure makes the whole name empty, as .NET's
/// `X500DistinguishedNameDecode` returns "" when it catches one ("Windows compat").
pub fn dotnet_name_der(der: &[u8], platform: Platform) -> String {
    render_dotnet(der, platform).unwrap_or_default()
}

fn render_dotnet(der: &[u8], platform: Platform) -> Option<String> {
    let rdns = parse_name(der)?;
    let mut parts = Vec::with_capacity(rdns.len());
    for rdn in rdns.iter().rev() {
        let mut atvs = Vec::with_capacity(rdn.len());
        for atv in rdn {
            let shown = match dotnet_value(&atv.value, platform)? {
                Shown::Text(v) if dotnet_needs_quoting(&v) => format!("\"{}\"", v.replace('"', "\"\"")),
                Shown::Text(v) | Shown::Hex(v) => v,
            };
            atvs.push(format!("{}={shown}", dotnet_label(&atv.oid, platform)));
        }
        parts.push(atvs.join(" + "));
    }
    Some(parts.join(", "))
}

/// RFC 4514 string form: "," between RDNs, "+" in multi-valued RDNs, backslash escapes, and the
/// `#` + hex-of-encoding form for any value that is not decodable text.
pub fn rfc4514_name_der(der: &[u8]) -> String {
    let Some(rdns) = parse_name(der) else { return String::new() };
    let mut parts = Vec::with_capacity(rdns.len());
    for rdn in rdns.iter().rev() {
        let atvs: Vec<String> = rdn
            .iter()
            .map(|atv| {
                let key = rfc4514_short_name(&atv.oid).map(str::to_string).unwrap_or_else(|| atv.oid.clone());
                let shown = match rfc4514_text(&atv.value) {
                    Some(v) => rfc4514_escape(&v),
                    None => format!("#{}", hex::encode_upper(atv.value.whole)),
                };
                format!("{key}={shown}")
            })
            .collect();
        parts.push(atvs.join("+"));
    }
    parts.join(",")
}

/// Text for RFC 4514: any string type that decodes, trailing NULs kept (RFC 4514 escapes them;
/// only .NET trims). `None` asks for the `#` + hex form.
fn rfc4514_text(value: &Tlv) -> Option<String> {
    let data = value.content;
    match value.tag {
        tag::UTF8_STRING | tag::PRINTABLE_STRING | tag::NUMERIC_STRING | tag::IA5_STRING | tag::VISIBLE_STRING => {
            String::from_utf8(data.to_vec()).ok()
        }
        tag::T61_STRING => Some(t61(data)),
        tag::BMP_STRING => bmp(data, false),
        tag::UNIVERSAL_STRING => universal(data),
        _ => None,
    }
}

fn rfc4514_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let n = v.chars().count();
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\')
            || (i == 0 && (c == '#' || c == ' '))
            || (i + 1 == n && c == ' ');
        if c == '\0' {
            out.push_str("\\00");
        } else if special {
            out.push('\\');
            out.push(c);
        } else {
            out.push(c);
        }
    }
    out
}

/// The attributes of a DER Name, last-encoded RDN first (the order .NET's `GetNameInfo` reads them
/// in), each as (dotted OID, its text as Windows .NET decodes it, `None` when not a string).
pub(crate) fn attributes_reversed(der: &[u8]) -> Option<Vec<(String, Option<String>)>> {
    let rdns = parse_name(der)?;
    let mut out = Vec::new();
    for rdn in rdns.iter().rev() {
        for atv in rdn {
            let text = match dotnet_value(&atv.value, Platform::Windows) {
                Some(Shown::Text(v)) => Some(v),
                _ => None,
            };
            out.push((atv.oid.clone(), text));
        }
    }
    Some(out)
}

/// The first common name's text as Windows .NET decodes it (for short labels).
pub(crate) fn first_common_name(der: &[u8]) -> Option<String> {
    let rdns = parse_name(der)?;
    let atv = rdns.iter().flatten().find(|atv| atv.oid == "2.5.4.3")?;
    match dotnet_value(&atv.value, Platform::Windows)? {
        Shown::Text(v) | Shown::Hex(v) => Some(v),
    }
}
