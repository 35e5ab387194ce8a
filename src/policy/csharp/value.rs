//! The values a C# condition computes with, each remembering where it came from (a certificate
//! property, a literal, an uploaded certificate, the clock) so a comparison can say what it compared.

use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CertProp {
    Thumbprint,
    Issuer,
    Subject,
    SubjectNameName,
    IssuerNameName,
    SerialNumber,
    NotBefore,
    NotAfter,
    /// `GetNameInfo(X509NameType.<kind>, issuer)`.
    NameInfo {
        kind: &'static str,
        issuer: bool,
    },
}

impl CertProp {
    pub(super) fn name(self) -> &'static str {
        match self {
            CertProp::Thumbprint => "Thumbprint",
            CertProp::Issuer => "Issuer",
            CertProp::Subject => "Subject",
            CertProp::SubjectNameName => "SubjectName.Name",
            CertProp::IssuerNameName => "IssuerName.Name",
            CertProp::SerialNumber => "SerialNumber",
            CertProp::NotBefore => "NotBefore",
            CertProp::NotAfter => "NotAfter",
            CertProp::NameInfo { kind, issuer } => super::names::label(kind, issuer),
        }
    }
}

/// Where a string came from, so a comparison can say what it compared.
#[derive(Debug, Clone)]
pub(super) enum Origin {
    Cert(CertProp),
    Literal,
    Deployment(usize),
    /// A request header's value: never recorded in a comparison (it may be a secret).
    Header,
    /// Text the policy computed from several sources (a concatenation, a join, a decoded extension
    /// value): not a literal of the policy, so not recorded as one.
    Computed,
}

impl Origin {
    /// The origin of text built from parts: a header's taints it, literals only stay a literal.
    pub(super) fn combined<'o>(parts: impl IntoIterator<Item = &'o Origin>) -> Origin {
        let mut all_literal = true;
        for p in parts {
            match p {
                Origin::Header => return Origin::Header,
                Origin::Literal => {}
                _ => all_literal = false,
            }
        }
        if all_literal {
            Origin::Literal
        } else {
            Origin::Computed
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Text {
    pub(super) value: String,
    /// The value before any transformation.
    pub(super) raw: String,
    pub(super) origin: Origin,
    pub(super) transforms: Vec<String>,
}

#[derive(Debug, Clone)]
pub(super) enum DateOrigin {
    Cert(CertProp),
    /// `DateTime.UtcNow` or `DateTime.Now`, with the expression text that produced the value.
    Now {
        source: &'static str,
    },
}

#[derive(Debug, Clone)]
pub(super) struct Date {
    pub(super) t: OffsetDateTime,
    pub(super) raw: OffsetDateTime,
    pub(super) origin: DateOrigin,
    pub(super) text: String,
    pub(super) transforms: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StrCmp {
    Ordinal,
    OrdinalIgnoreCase,
    Culture { ignore_case: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TypeName {
    DateTime,
    String,
    StringComparison,
    X509NameType,
    Convert,
    /// `System`, `System.Net`, `System.Web`: namespaces on the way to a type.
    Namespace(&'static str),
    /// `WebUtility`, `HttpUtility`, `Uri`: what policies URL-decode a forwarded certificate with.
    UrlDecoder(&'static str),
    Int,
    Long,
    Double,
    TimeSpan,
    X509KeyUsageFlags,
    Math,
    JObject,
}

#[derive(Debug, Clone)]
pub(super) enum Val {
    /// `null`; `certificate` is true for a null `context.Request.Certificate`.
    Null {
        certificate: bool,
    },
    Bool(bool),
    Num(super::number::Number),
    /// A `char` (one UTF-16 code unit of the Basic Multilingual Plane).
    Char(char),
    Str(Text),
    /// A `TimeSpan`, in ticks of 100 ns as .NET counts.
    TimeSpan(i64),
    /// An `X509KeyUsageFlags` value.
    Flags(u32),
    Date(Date),
    Context,
    Request,
    Deployment,
    LastError,
    Cert,
    Name(CertProp),
    DeploymentCertificates,
    DeploymentEntry(usize),
    DeploymentCert(usize),
    Type(TypeName),
    Comparison(StrCmp),
    /// An array literal's elements.
    Array(Vec<Val>),
    /// `context.Variables`.
    Variables,
    /// `context.Request.Headers`.
    Headers,
    /// `context.Request.Body` when the body is known (`--data`).
    Body,
    /// A local declared without a value.
    Unassigned,
    /// An `X509NameType` member, e.g. `SimpleName`.
    NameType(&'static str),
    /// A `byte[]` (`Convert.FromBase64String`).
    Bytes(Vec<u8>),
    /// A certificate the policy built itself (`new X509Certificate2(bytes)`), e.g. from a header.
    Built(Box<crate::cert::CertInfo>),
    /// `new X509Certificate2(bytes)` from no bytes: .NET makes an empty certificate (the constructor
    /// loads only when there are bytes); reading any member of it throws CryptographicException.
    EmptyBuilt,
    /// A value typed `object` in C# (`context.Variables["x"]`): usable only after a cast.
    Object(Box<Val>),
    /// A certificate's `Extensions`, in encoded order.
    Extensions(Vec<Extension>),
    Extension(Box<Extension>),
    /// An extension's `Oid`.
    ExtensionOid(String),
    /// An `OidCollection` (`EnhancedKeyUsages`), dotted values in encoded order.
    Oids(Vec<String>),
    /// An `IEnumerable<T>` from LINQ (`Cast<T>()`, `Where(…)`): each element, or the exception
    /// enumerating up to it throws (a `Cast` to the wrong type throws only when reached).
    Seq(Vec<Result<Val, super::Stop>>),
    /// `context.Request.Headers[name]` when its elements are not known: why.
    HeaderValues(String),
    /// A Newtonsoft `JToken` (never a null reference; JSON's null is a JValue).
    Json(Box<super::json::Json>),
}

/// One `X509Extension` of a certificate.
#[derive(Debug, Clone)]
pub(super) struct Extension {
    /// Dotted form.
    pub(super) oid: String,
    pub(super) critical: bool,
    /// What its value decodes to, for the types .NET gives their own class.
    pub(super) decoded: super::typed::Decoded,
    /// The type the expression holds it as (`X509Extension` until a cast or `OfType`).
    pub(super) as_type: super::typed::ExtType,
}

impl Val {
    pub(super) fn describe(&self) -> &'static str {
        match self {
            Val::Null { .. } => "null",
            Val::Bool(_) => "a boolean",
            Val::Num(_) => "a number",
            Val::Char(_) => "a char",
            Val::Str(_) => "a string",
            Val::Date(_) => "a DateTime",
            Val::Context => "context",
            Val::Request => "context.Request",
            Val::Deployment => "context.Deployment",
            Val::LastError => "context.LastError",
            Val::Cert => "a certificate",
            Val::Name(_) => "an X500DistinguishedName",
            Val::DeploymentCertificates => "context.Deployment.Certificates",
            Val::DeploymentEntry(_) => "a certificate entry",
            Val::DeploymentCert(_) => "an uploaded certificate",
            Val::Type(_) => "a type",
            Val::Comparison(_) => "a StringComparison",
            Val::Array(_) => "an array",
            Val::Variables => "context.Variables",
            Val::Headers => "context.Request.Headers",
            Val::Body => "context.Request.Body",
            Val::Unassigned => "an unassigned local",
            Val::NameType(_) => "an X509NameType",
            Val::Bytes(_) => "a byte array",
            Val::Built(_) => "a certificate built by the policy",
            Val::EmptyBuilt => "an empty certificate built by the policy",
            Val::Object(_) => "an object",
            Val::Extensions(_) => "an X509ExtensionCollection",
            Val::Extension(_) => "an X509Extension",
            Val::ExtensionOid(_) => "an Oid",
            Val::TimeSpan(_) => "a TimeSpan",
            Val::Flags(_) => "an X509KeyUsageFlags",
            Val::Oids(_) => "an OidCollection",
            Val::Seq(_) => "a sequence (IEnumerable)",
            Val::HeaderValues(_) => "a header's string[]",
            Val::Json(_) => "a JToken",
        }
    }
}

/// Which casing a `ToUpper`/`ToLower` call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Casing {
    /// `ToUpperInvariant()`, `ToLowerInvariant()`, and ordinal ignore-case comparison.
    Invariant,
    /// `ToUpper()`, `ToLower()`: the current culture (not Turkish or Azeri on a gateway).
    Culture,
}

/// .NET's casing: one code point to one code point (simple case mapping), or unchanged. The
/// invariant casing keeps U+0131 (dotless i) when upper-casing and U+0130 (I with dot) when
/// lower-casing, as Windows does; a culture's casing maps them to I and i (dotnet/runtime
/// System.Globalization.Native pal_casing.c: ChangeCaseInvariant versus ChangeCase).
pub(super) fn map_case(s: &str, upper: bool, casing: Casing) -> String {
    s.chars()
        .map(|c| match (c, upper, casing) {
            ('\u{0131}', true, Casing::Invariant) | ('\u{0130}', false, Casing::Invariant) => c,
            // The simple lower-case mapping of U+0130 is i; Rust's full mapping adds a combining dot.
            ('\u{0130}', false, Casing::Culture) => 'i',
            _ => {
                let mut m: Vec<char> = if upper { c.to_uppercase().collect() } else { c.to_lowercase().collect() };
                if m.len() == 1 {
                    m.pop().unwrap_or(c)
                } else {
                    c
                }
            }
        })
        .collect()
}

/// Culture-aware equality and prefix/suffix tests agree with ordinal ones on printable ASCII, where
/// every character has a weight of its own in both ICU's root collation (.NET on Linux) and NLS
/// (Windows) — except `-` and `'`, which NLS's word sort weighs specially. Elsewhere (ignorable
/// characters such as U+200E, control characters, `\r\n`, other scripts) they may not agree, so
/// that is not modelled.
pub(super) fn culture_safe(s: &str) -> bool {
    s.chars().all(|c| (c.is_ascii_graphic() || c == ' ') && c != '-' && c != '\'')
}
