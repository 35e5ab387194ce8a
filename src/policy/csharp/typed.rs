//! The extension classes .NET makes for a certificate's extensions (dotnet/runtime
//! `X509Certificate2.CreateCustomExtensionIfAny`): key usage, basic constraints, enhanced key usage
//! and subject key identifier get their own class, every other extension is a plain
//! `X509Extension`. Their members (`KeyUsages`, `CertificateAuthority`, `EnhancedKeyUsages`, …),
//! `OfType<T>()` / `Cast<T>()` / `as` / casts between them, and `X509KeyUsageFlags`.

use x509_cert::der::asn1::{BitString, OctetString};
use x509_cert::der::Decode as _;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage};

use super::super::expr::{BinOp, Expr, Span};
use super::number::Number;
use super::value::{Extension, Origin, Text, Val};
use super::{unevaluable, ExprEval, Stop};

const NS: &str = "System.Security.Cryptography.X509Certificates.";

/// The class an extension is, or is held as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::policy) enum ExtType {
    Extension,
    KeyUsage,
    BasicConstraints,
    EnhancedKeyUsage,
    SubjectKeyIdentifier,
}

impl ExtType {
    pub(super) fn name(self) -> &'static str {
        match self {
            ExtType::Extension => "X509Extension",
            ExtType::KeyUsage => "X509KeyUsageExtension",
            ExtType::BasicConstraints => "X509BasicConstraintsExtension",
            ExtType::EnhancedKeyUsage => "X509EnhancedKeyUsageExtension",
            ExtType::SubjectKeyIdentifier => "X509SubjectKeyIdentifierExtension",
        }
    }

    fn from_name(name: &str) -> Option<ExtType> {
        let name = name.strip_prefix(NS).unwrap_or(name);
        [
            ExtType::Extension,
            ExtType::KeyUsage,
            ExtType::BasicConstraints,
            ExtType::EnhancedKeyUsage,
            ExtType::SubjectKeyIdentifier,
        ]
        .into_iter()
        .find(|t| t.name() == name)
    }
}

/// Extension classes only newer .NET has; whether the collection holds them depends on the version.
const NEWER_TYPES: [&str; 3] = [
    "X509SubjectAlternativeNameExtension",
    "X509AuthorityKeyIdentifierExtension",
    "X509AuthorityInformationAccessExtension",
];

/// What an extension's value decodes to.
#[derive(Debug, Clone)]
pub(in crate::policy) enum Decoded {
    /// An extension .NET keeps as a plain `X509Extension`.
    Plain,
    /// `KeyUsages`: the BIT STRING's first byte, and its second as 0x8000 (DecipherOnly), as .NET reads it.
    KeyUsage(u32),
    BasicConstraints {
        ca: bool,
        path_len: Option<u8>,
    },
    EnhancedKeyUsage(Vec<String>),
    SubjectKeyIdentifier(String),
    /// The legacy basic constraints 2.5.29.10: .NET gives it a class on Windows only.
    PlatformDefined,
    /// The value does not decode (.NET throws CryptographicException reading the property).
    Malformed(String),
}

/// Decode an extension's value the way .NET's class for its OID does.
pub(super) fn decode(oid: &str, value: &[u8]) -> Decoded {
    let bad = |e: x509_cert::der::Error| Decoded::Malformed(e.to_string());
    match oid {
        "2.5.29.15" => match BitString::from_der(value) {
            Ok(b) => {
                let raw = b.raw_bytes();
                let first = raw.first().copied().map(u32::from).unwrap_or(0);
                let second = raw.get(1).copied().map(u32::from).unwrap_or(0);
                Decoded::KeyUsage(first | (second << 8))
            }
            Err(e) => bad(e),
        },
        "2.5.29.19" => match BasicConstraints::from_der(value) {
            Ok(b) => Decoded::BasicConstraints { ca: b.ca, path_len: b.path_len_constraint },
            Err(e) => bad(e),
        },
        "2.5.29.37" => match ExtendedKeyUsage::from_der(value) {
            Ok(e) => Decoded::EnhancedKeyUsage(e.0.iter().map(|o| o.to_string()).collect()),
            Err(e) => bad(e),
        },
        "2.5.29.14" => match OctetString::from_der(value) {
            Ok(o) => Decoded::SubjectKeyIdentifier(o.as_bytes().iter().map(|b| format!("{b:02X}")).collect()),
            Err(e) => bad(e),
        },
        "2.5.29.10" => Decoded::PlatformDefined,
        _ => Decoded::Plain,
    }
}

/// The class .NET makes for the extension; `None` when that depends on the platform.
fn runtime_type(ext: &Extension) -> Option<ExtType> {
    Some(match (&ext.decoded, ext.oid.as_str()) {
        (Decoded::PlatformDefined, _) => return None,
        (_, "2.5.29.15") => ExtType::KeyUsage,
        (_, "2.5.29.19") => ExtType::BasicConstraints,
        (_, "2.5.29.37") => ExtType::EnhancedKeyUsage,
        (_, "2.5.29.14") => ExtType::SubjectKeyIdentifier,
        _ => ExtType::Extension,
    })
}

const PLATFORM_CLASS: &str = "extension 2.5.29.10 (the legacy basic constraints) is an X509BasicConstraintsExtension on Windows and a plain X509Extension on Linux";

/// `X509KeyUsageFlags.<name>` (System.Security.Cryptography.X509Certificates).
pub(super) fn key_usage_flag(name: &str) -> Option<u32> {
    Some(match name {
        "None" => 0,
        "EncipherOnly" => 0x01,
        "CrlSign" => 0x02,
        "KeyCertSign" => 0x04,
        "KeyAgreement" => 0x08,
        "DataEncipherment" => 0x10,
        "KeyEncipherment" => 0x20,
        "NonRepudiation" => 0x40,
        "DigitalSignature" => 0x80,
        "DecipherOnly" => 0x8000,
        _ => return None,
    })
}

impl ExprEval<'_, '_> {
    /// What `OfType<T>()` / `Cast<T>()` (`cast`) gives over extensions: `Cast` keeps every element
    /// and throws InvalidCastException when enumeration reaches one of another class.
    pub(super) fn extensions_of_type(
        &self,
        list: Vec<Extension>,
        ty: &str,
        cast: bool,
        span: Span,
    ) -> Result<Val, Stop> {
        let bare = ty.strip_prefix(NS).unwrap_or(ty);
        if NEWER_TYPES.contains(&bare) {
            return Err(unevaluable(
                self.src,
                span,
                format!("{bare} exists only in newer .NET, and whether the certificate's extensions hold one depends on the .NET version the gateway runs, which is not documented"),
            ));
        }
        let Some(want) = ExtType::from_name(ty) else {
            return Err(unevaluable(self.src, span, format!("`{ty}` is not an extension class modelled here")));
        };
        let mut out = Vec::new();
        for mut ext in list {
            let is = match runtime_type(&ext) {
                Some(t) => want == ExtType::Extension || t == want,
                None if want == ExtType::Extension => true,
                None => return Err(unevaluable(self.src, span, PLATFORM_CLASS)),
            };
            if is {
                ext.as_type = want;
                out.push(Ok(Val::Extension(Box::new(ext))));
            } else if cast {
                let from = runtime_type(&ext).unwrap_or(ExtType::Extension).name();
                out.push(Err(Stop::Exception {
                    exception: "InvalidCastException".into(),
                    fragment: self.text(span),
                    why: format!("Unable to cast object of type '{NS}{from}' to type '{NS}{}'.", want.name()),
                }));
            }
        }
        Ok(Val::Seq(out))
    }

    /// `(T)ext` (`as_op` false) or `ext as T` (`as_op` true).
    pub(super) fn extension_conversion(&self, ext: Extension, ty: &str, as_op: bool, span: Span) -> Result<Val, Stop> {
        let Some(want) = ExtType::from_name(ty) else {
            return Err(unevaluable(
                self.src,
                span,
                format!("a conversion of an X509Extension to `{ty}` is not modelled"),
            ));
        };
        let Some(is) = runtime_type(&ext) else { return Err(unevaluable(self.src, span, PLATFORM_CLASS)) };
        if want == ExtType::Extension || is == want {
            let mut ext = ext;
            ext.as_type = want;
            return Ok(Val::Extension(Box::new(ext)));
        }
        if as_op {
            return Ok(Val::Null { certificate: false });
        }
        Err(Stop::Exception {
            exception: "InvalidCastException".into(),
            fragment: self.text(span),
            why: format!("Unable to cast object of type '{NS}{}' to type '{NS}{}'.", is.name(), want.name()),
        })
    }

    /// The members of the extension classes; the class the expression holds the extension as must
    /// have the member, as the C# compiler requires.
    pub(super) fn typed_extension_member(&self, ext: &Extension, name: &str, span: Span) -> Option<Result<Val, Stop>> {
        let owner = match name {
            "KeyUsages" => ExtType::KeyUsage,
            "CertificateAuthority" | "HasPathLengthConstraint" | "PathLengthConstraint" => ExtType::BasicConstraints,
            "EnhancedKeyUsages" => ExtType::EnhancedKeyUsage,
            "SubjectKeyIdentifier" => ExtType::SubjectKeyIdentifier,
            _ => return None,
        };
        if ext.as_type != owner {
            return Some(Err(unevaluable(
                self.src,
                span,
                format!(
                    "CS1061: '{}' does not contain a definition for '{name}' (C# would not compile it): convert it first, e.g. .OfType<{}>() or `as {}`",
                    ext.as_type.name(),
                    owner.name(),
                    owner.name()
                ),
            )));
        }
        let v = match (&ext.decoded, name) {
            (Decoded::KeyUsage(flags), _) => Val::Flags(*flags),
            (Decoded::BasicConstraints { ca, .. }, "CertificateAuthority") => Val::Bool(*ca),
            (Decoded::BasicConstraints { path_len, .. }, "HasPathLengthConstraint") => Val::Bool(path_len.is_some()),
            (Decoded::BasicConstraints { path_len, .. }, _) => {
                Val::Num(Number::Int(path_len.map(i32::from).unwrap_or(0)))
            }
            (Decoded::EnhancedKeyUsage(oids), _) => Val::Oids(oids.clone()),
            (Decoded::SubjectKeyIdentifier(hex), _) => Val::Str(Text {
                raw: hex.clone(),
                value: hex.clone(),
                origin: Origin::Computed,
                transforms: Vec::new(),
            }),
            (Decoded::Malformed(why), _) => {
                return Some(Err(unevaluable(
                    self.src,
                    span,
                    format!(
                        "extension {} does not decode ({why}); how .NET's decoder treats it is not modelled",
                        ext.oid
                    ),
                )))
            }
            _ => return Some(Err(unevaluable(self.src, span, PLATFORM_CLASS))),
        };
        Some(Ok(v))
    }

    /// `flags.HasFlag(X509KeyUsageFlags.X)`: every bit of the argument is set.
    pub(super) fn flags_call(&mut self, flags: u32, name: &str, args: &[Expr], span: Span) -> Result<Val, Stop> {
        match (name, args) {
            ("HasFlag", [arg]) => match self.eval(arg)? {
                Val::Flags(f) => Ok(Val::Bool(flags & f == f)),
                Val::Null { .. } => Err(Stop::Exception {
                    exception: "ArgumentNullException".into(),
                    fragment: self.text(span),
                    why: "the flag is null".into(),
                }),
                other => Err(unevaluable(
                    self.src,
                    arg.span,
                    format!("HasFlag of {} on an X509KeyUsageFlags is not modelled", other.describe()),
                )),
            },
            _ => Err(unevaluable(
                self.src,
                span,
                format!("method `{name}` with {} argument(s) on X509KeyUsageFlags is not supported", args.len()),
            )),
        }
    }

    /// `a & b`, `a | b`: on flags and integers bit by bit, on booleans both sides evaluated.
    pub(super) fn bitwise(&mut self, op: BinOp, l: Val, r: Val, span: Span) -> Result<Val, Stop> {
        let and = op == BinOp::BitAnd;
        Ok(match (l, r) {
            (Val::Flags(a), Val::Flags(b)) => Val::Flags(if and { a & b } else { a | b }),
            (Val::Bool(a), Val::Bool(b)) => Val::Bool(if and { a & b } else { a | b }),
            (Val::Num(Number::Int(a)), Val::Num(Number::Int(b))) => {
                Val::Num(Number::Int(if and { a & b } else { a | b }))
            }
            (Val::Num(a), Val::Num(b)) if a.integral().is_some() && b.integral().is_some() => {
                let (a, b) = (a.integral().unwrap_or(0), b.integral().unwrap_or(0));
                Val::Num(Number::Long(if and { a & b } else { a | b }))
            }
            (l, r) => {
                return Err(unevaluable(
                    self.src,
                    span,
                    format!("`{}` between {} and {} is not supported", op.symbol(), l.describe(), r.describe()),
                ))
            }
        })
    }

    /// `OidCollection`: `Count` and `[i]`; LINQ needs `Cast<Oid>()` (see the sequence methods).
    pub(super) fn oids_member(&self, oids: &[String], name: &str, span: Span) -> Result<Val, Stop> {
        match name {
            "Count" => Ok(Val::Num(Number::Int(oids.len() as i32))),
            _ => Err(unevaluable(self.src, span, format!("member `{name}` of an OidCollection is not supported"))),
        }
    }
}
