//! What .NET on Linux (the self-hosted gateway) shows for a certificate, when that is not what Windows shows.
//!
//! .NET on Linux loads certificates through OpenSSL, which refuses some encodings Windows accepts,
//! and prints names with its managed decoder, which is strict about string types and names
//! unknown attribute types after OpenSSL. Where the answers differ, both are kept as data so a
//! rule can say what each gateway would see.

use serde::{Deserialize, Serialize};

use super::der::{tag, Tlv};
use super::dn::{self, Platform};

/// The Linux answer, present only when it differs from the Windows one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinuxView {
    /// The certificate loads, but `Subject`/`Issuer` read differently. An empty string is what
    /// .NET returns for a name it cannot decode, and it breaks every Subject/Issuer comparison.
    Names { subject: String, issuer: String },
    /// `new X509Certificate2(bytes)` throws: OpenSSL does not parse the certificate.
    CannotLoad { refusal: LoadRefusal },
}

/// Why OpenSSL refuses a certificate that Windows loads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum LoadRefusal {
    /// The serial number INTEGER has no content octets.
    EmptySerial,
    /// The serial number INTEGER has a redundant leading 0x00 or 0xFF octet.
    NonMinimalSerial,
    /// A Subject or Issuer attribute value has a type outside what OpenSSL accepts in a name
    /// (`X509_NAME_ENTRY`'s value is `ASN1_PRINTABLE`), e.g. INTEGER or OCTET STRING.
    NameValueType { field: NameField, attribute: String, asn1_tag: u8 },
    /// A Subject or Issuer value does not convert to UTF-8 (OpenSSL's name canonicalisation,
    /// `ASN1_STRING_to_UTF8`, fails): invalid UTF-8 in a UTF8String, a BMPString of odd length, a
    /// UniversalString whose length is not a multiple of four.
    NameValueUndecodable { field: NameField, attribute: String, asn1_tag: u8 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameField {
    Subject,
    Issuer,
}

impl LoadRefusal {
    /// One line for a person: what OpenSSL objects to.
    pub fn explain(&self) -> String {
        match self {
            LoadRefusal::EmptySerial => "the serial number is empty (zero-length INTEGER)".to_string(),
            LoadRefusal::NonMinimalSerial => {
                "the serial number is not minimally encoded (a redundant leading 00 or FF byte)".to_string()
            }
            LoadRefusal::NameValueType { field, attribute, asn1_tag } => {
                let field = field_name(*field);
                format!("the {field} attribute {attribute} has a value of type {}, not a string", tag_name(*asn1_tag))
            }
            LoadRefusal::NameValueUndecodable { field, attribute, asn1_tag } => {
                format!("the {} attribute {attribute} is not valid {}", field_name(*field), tag_name(*asn1_tag))
            }
        }
    }
}

fn field_name(field: NameField) -> &'static str {
    match field {
        NameField::Subject => "Subject",
        NameField::Issuer => "Issuer",
    }
}

fn tag_name(t: u8) -> String {
    match t {
        0x01 => "BOOLEAN".into(),
        tag::INTEGER => "INTEGER".into(),
        0x03 => "BIT STRING".into(),
        tag::OCTET_STRING => "OCTET STRING".into(),
        0x05 => "NULL".into(),
        tag::OID => "OBJECT IDENTIFIER".into(),
        0x0A => "ENUMERATED".into(),
        0x17 => "UTCTime".into(),
        0x18 => "GeneralizedTime".into(),
        tag::SET => "SET".into(),
        tag::UTF8_STRING => "UTF8String".into(),
        tag::BMP_STRING => "BMPString".into(),
        tag::UNIVERSAL_STRING => "UniversalString".into(),
        other => format!("tag 0x{other:02X}"),
    }
}

/// Value types OpenSSL takes in a name: `X509_NAME_ENTRY`'s value is an `ASN1_PRINTABLE` MSTRING,
/// so a universal tag is accepted only when OpenSSL's `tag2bit` table (crypto/asn1/tasn_dec.c)
/// maps it into the `B_ASN1_PRINTABLE` mask (include/openssl/asn1.h): NumericString,
/// PrintableString, T61String, IA5String, BIT STRING, UniversalString, BMPString, UTF8String,
/// SEQUENCE, and the tags it files as "unknown" (10, 11, 13, 14, 15, 29). Anything else (INTEGER,
/// OCTET STRING, BOOLEAN, NULL, OID, SET, times, VisibleString, GeneralString, GraphicString,
/// VideotexString, any non-universal tag) makes `d2i_X509` fail: the certificate does not load.
/// Checked against .NET Core 3.1 with OpenSSL 1.1.1 for each of those types.
fn openssl_accepts_in_name(t: u8) -> bool {
    matches!(t, 0x03 | 0x0A | 0x0B | 0x0C | 0x0D | 0x0E | 0x0F | 0x12 | 0x13 | 0x14 | 0x16 | 0x1C | 0x1D | 0x1E | 0x30)
}

/// OpenSSL's `c2i_ASN1_INTEGER` refuses empty and non-minimal INTEGERs.
fn serial_refusal(serial: &[u8]) -> Option<LoadRefusal> {
    match serial {
        [] => Some(LoadRefusal::EmptySerial),
        [0x00, next, ..] if *next < 0x80 => Some(LoadRefusal::NonMinimalSerial),
        [0xFF, next, ..] if *next >= 0x80 => Some(LoadRefusal::NonMinimalSerial),
        _ => None,
    }
}

/// Whether OpenSSL can turn a value into UTF-8 when it canonicalises the name on load.
fn openssl_converts(value: &Tlv) -> bool {
    let n = value.content.len();
    match value.tag {
        tag::UTF8_STRING => openssl_utf8_ok(value.content),
        tag::BMP_STRING => n % 2 == 0,
        tag::UNIVERSAL_STRING => n % 4 == 0,
        _ => true,
    }
}

/// OpenSSL's `UTF8_getc` is stricter than nothing but looser than Rust: it accepts UTF-8-encoded
/// surrogates (ED A0..BF xx), which Rust's decoder rejects. Checked on the .NET Core 3.1 oracle:
/// such a certificate loads (and its name then reads as "").
fn openssl_utf8_ok(bytes: &[u8]) -> bool {
    let mut patched = bytes.to_vec();
    let mut i = 0;
    while i + 2 < patched.len() {
        if patched[i] == 0xED && (0xA0..=0xBF).contains(&patched[i + 1]) && (0x80..=0xBF).contains(&patched[i + 2]) {
            patched[i + 1] = 0x80;
            i += 3;
        } else {
            i += 1;
        }
    }
    std::str::from_utf8(&patched).is_ok()
}

fn name_refusal(der: &[u8], field: NameField) -> Option<LoadRefusal> {
    let rdns = dn::parse_name(der)?;
    rdns.iter().flatten().find_map(|atv| {
        let (attribute, asn1_tag) = (atv.oid.clone(), atv.value.tag);
        if !openssl_accepts_in_name(asn1_tag) {
            Some(LoadRefusal::NameValueType { field, attribute, asn1_tag })
        } else if !openssl_converts(&atv.value) {
            Some(LoadRefusal::NameValueUndecodable { field, attribute, asn1_tag })
        } else {
            None
        }
    })
}

/// The Linux view of a certificate whose Windows names are `windows_subject`/`windows_issuer`;
/// `None` when Linux shows exactly the same.
pub(crate) fn linux_view(
    serial: &[u8],
    subject_der: &[u8],
    issuer_der: &[u8],
    windows_subject: &str,
    windows_issuer: &str,
) -> Option<LinuxView> {
    let refusal = serial_refusal(serial)
        .or_else(|| name_refusal(issuer_der, NameField::Issuer))
        .or_else(|| name_refusal(subject_der, NameField::Subject));
    if let Some(refusal) = refusal {
        return Some(LinuxView::CannotLoad { refusal });
    }
    let subject = dn::dotnet_name_der(subject_der, Platform::Linux);
    let issuer = dn::dotnet_name_der(issuer_der, Platform::Linux);
    (subject != windows_subject || issuer != windows_issuer).then_some(LinuxView::Names { subject, issuer })
}
