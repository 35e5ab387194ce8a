//! The words every view uses: `Display` for each domain enum a person reads, the verdict and
//! certificate wording, and `clean()` for untrusted text. Below diagnose, session, report and tui,
//! so rules, sessions and every view say a thing the same way and no Rust `Debug` text reaches a user.
//!
//! The `Display` impls for types defined elsewhere (probe, verify, policy, diagnose, session, cert,
//! pki) live here on purpose: the wording is one vocabulary, read and changed in one place. The
//! file is a little over 600 lines because a third of it is unit tests pinning each wording exactly.

mod json;
mod late;

pub use json::escape_json_text;

pub use self::late::{after_handshake_lines, rerun_text};

use std::fmt;

use rustls::{NamedGroup, ProtocolVersion, SignatureScheme};

use crate::cert::{CertInfo, Eku};
use crate::diagnose::{Severity, Symptom};
use crate::pki::KeyKind;
use crate::policy::ValidationFailure;
use crate::probe::dns::DnsErrorKind;
use crate::probe::{NotSentReason, Phase, ProbeRole, TcpAttempt, TcpOutcome, TlsVersionPin};
use crate::session::{EndReason, TargetKind, TargetStatus, Until};
use crate::verify::{ChainProblem, Role, Verdict};

/// Escape control characters so text from a certificate or a server cannot drive the terminal.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:04X}}}", c as u32)),
            // Invisible characters (they break thumbprint comparisons, or hide text) are shown.
            c if crate::policy::is_invisible(c) => out.push_str(&format!("<U+{:04X}>", c as u32)),
            c => out.push(c),
        }
    }
    out
}

impl fmt::Display for ProbeRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProbeRole::Inbound => "inbound",
            ProbeRole::Outbound => "outbound",
        })
    }
}

/// The side a chain is judged for, as in "as a client certificate".
impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Client => "client",
            Role::Server => "server",
        })
    }
}

impl fmt::Display for NotSentReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotSentReason::NotRequested => "the server did not ask",
            NotSentReason::NoneConfigured => "none configured for this probe",
            NotSentReason::NoCommonSignatureScheme => "the key cannot sign with any scheme the server accepts",
        })
    }
}

impl fmt::Display for TcpOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TcpOutcome::Connected => "connected",
            TcpOutcome::Refused => "connection refused",
            TcpOutcome::TimedOut => "timed out",
            TcpOutcome::Unreachable => "unreachable",
            TcpOutcome::Other => "failed",
        })
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Dns => "DNS",
            Phase::Tcp => "TCP",
            Phase::Tls => "TLS",
            Phase::Http => "HTTP",
        })
    }
}

/// OpenSSL's spelling, as `version_name` records negotiated versions.
impl fmt::Display for TlsVersionPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsVersionPin::Tls12 => "TLSv1.2",
            TlsVersionPin::Tls13 => "TLSv1.3",
        })
    }
}

impl fmt::Display for DnsErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DnsErrorKind::NxDomain => "the name does not exist (NXDOMAIN)",
            DnsErrorKind::NoRecords => "the name has no address records",
            DnsErrorKind::Timeout => "no answer in time",
            DnsErrorKind::Other => "the resolver failed",
        })
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The failure family a finding explains, in the field guide's words.
impl fmt::Display for Symptom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Symptom::NullCertificate => "null client certificate",
            Symptom::Forbidden403 => "403 Forbidden",
            Symptom::BadGateway502 => "502 Bad Gateway",
            Symptom::KeyVault => "Key Vault",
            Symptom::Expiry => "expiry",
            Symptom::Tls => "TLS",
            Symptom::Dns => "DNS",
        })
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetKind::Probe => "probe",
            TargetKind::Inspect => "inspect",
        })
    }
}

/// Why a watch ended.
impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndReason::UntilMet => "the --until condition was met",
            EndReason::MaxRuns => "--max-runs reached",
            EndReason::Interrupted => "interrupted",
        })
    }
}

/// A watch's `--until` condition, as its flag value.
impl fmt::Display for Until {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Until::Ok => "ok",
            Until::Changed => "changed",
        })
    }
}

/// How a target differs between two sessions.
impl fmt::Display for TargetStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetStatus::Unchanged => "unchanged",
            TargetStatus::Changed => "changed",
            TargetStatus::Added => "only in the second session",
            TargetStatus::Removed => "only in the first session",
        })
    }
}

impl fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainProblem::MissingIntermediate { needed_issuer } => {
                write!(f, "missing intermediate: nothing presented or trusted is \"{needed_issuer}\"")
            }
            ChainProblem::OutOfOrder => f.write_str("the chain was sent out of order"),
            ChainProblem::RootIncluded { subject } => write!(f, "the root was sent too: {subject}"),
            ChainProblem::IssuerKeyMismatch { issuer } => write!(
                f,
                "a certificate named \"{issuer}\" is there, but its key did not sign (renewed CA with a new key?)"
            ),
        }
    }
}

/// Why `validate-client-certificate` said no.
impl fmt::Display for ValidationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidationFailure::NoCertificate => f.write_str("no client certificate"),
            ValidationFailure::ChainNotTrusted { revocation_checked: true } => {
                f.write_str("the chain does not build to an uploaded CA (with the revocation check on)")
            }
            ValidationFailure::ChainNotTrusted { revocation_checked: false } => {
                f.write_str("the chain does not build to an uploaded CA")
            }
            ValidationFailure::RevocationCheckFailed => f.write_str("the revocation check failed"),
            ValidationFailure::NotYetValid { not_before } => write!(f, "not valid before {not_before}"),
            ValidationFailure::Expired { not_after } => write!(f, "expired at {not_after}"),
            ValidationFailure::NoIdentityMatched { identities } => {
                write!(f, "none of the {identities} listed identities matched")
            }
        }
    }
}

/// The usage by its RFC 5280 name, as the EKU line lists them.
impl fmt::Display for Eku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Eku::ServerAuth => "serverAuth",
            Eku::ClientAuth => "clientAuth",
        })
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyKind::EcdsaP256 => "ECDSA P-256",
            KeyKind::EcdsaP384 => "ECDSA P-384",
            KeyKind::Rsa2048 => "RSA 2048 bits",
            KeyKind::Ed25519 => "Ed25519",
        })
    }
}

/// A verdict in openssl's words: `0 ok`, `error 10 (certificate has expired)`.
pub fn verdict_summary(v: &Verdict) -> String {
    if v.ok {
        "0 ok".to_string()
    } else {
        format!("error {} ({})", v.code, v.code_name)
    }
}

/// The summary with the depth openssl names: `error 20 (unable to get local issuer certificate) at depth 0`.
pub fn verdict_with_depth(v: &Verdict) -> String {
    match v.depth {
        Some(d) if !v.ok => format!("{} at depth {d}", verdict_summary(v)),
        _ => verdict_summary(v),
    }
}

/// The EKU extension's purposes, or what its absence means.
pub fn eku_text(c: &CertInfo) -> String {
    match &c.eku {
        Some(list) => list.join(", "),
        None => "(extension absent: any usage)".to_string(),
    }
}

/// The key usage extension's bits, or that it is absent.
pub fn key_usage_text(c: &CertInfo) -> String {
    if c.key_usage.is_empty() {
        "(extension absent)".to_string()
    } else {
        c.key_usage.join(", ")
    }
}

/// What kind of certificate this is: `CA, path length 0, self-signed`, `end entity`.
pub fn cert_type(c: &CertInfo) -> String {
    let mut kind = if c.is_ca { "CA".to_string() } else { "end entity".to_string() };
    if let Some(p) = c.path_len {
        kind.push_str(&format!(", path length {p}"));
    }
    if c.self_signed {
        kind.push_str(", self-signed");
    }
    kind
}

/// The public key in a few words: `ECDSA P-256`, `RSA 2048 bits`.
pub fn key_text(c: &CertInfo) -> String {
    match (&c.key.curve, c.key.bits) {
        (Some(curve), _) => format!("{} {curve}", c.key.algorithm),
        (None, Some(bits)) => format!("{} {bits} bits", c.key.algorithm),
        _ => c.key.algorithm.clone(),
    }
}

/// webpki's reason in words. Verdicts store the error's variant name (`UnknownIssuer`), which is
/// stable and what rules match on; people read this instead.
pub fn webpki_reason(reason: &str) -> String {
    let words = match reason {
        "UnknownIssuer" => "unknown issuer",
        "CertExpired" => "certificate expired",
        "CertNotValidYet" => "certificate not valid yet",
        "CertNotValidForName" => "certificate not valid for this name",
        "InvalidDnsName" => "not a valid DNS name",
        "CaUsedAsEndEntity" => "a CA certificate used as an end-entity certificate",
        "EndEntityUsedAsCa" => "an end-entity certificate used as a CA",
        "RequiredEkuNotFound" | "RequiredEkuNotFoundContext" => "the required extended key usage is missing",
        "InvalidSignatureForPublicKey" => "the signature does not match the issuer's key",
        "PathLenConstraintViolated" => "path length constraint violated",
        "BadDer" => "malformed certificate (bad DER)",
        _ => return variant_words(reason),
    };
    words.to_string()
}

/// `UnsupportedNameType` -> `unsupported name type`: the fallback for a variant name (webpki's,
/// rustls' `PeerIncompatible` reasons) that has no wording of its own.
pub fn variant_words(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// An I/O error message in words: the `(os error N)` suffix the standard library appends is
/// dropped and the sentence starts in lower case, so it reads inside a line.
pub fn io_error_text(message: &str) -> String {
    // Wrappers (tempfile's "… at path …") put the suffix mid-sentence, so every one goes.
    const MARK: &str = " (os error ";
    let mut text = String::with_capacity(message.len());
    let mut rest = message.trim();
    while let Some(start) = rest.find(MARK) {
        let after = &rest[start + MARK.len()..];
        let digits = after.chars().take_while(|c| c.is_ascii_digit() || *c == '-').count();
        if digits > 0 && after[digits..].starts_with(')') {
            text.push_str(&rest[..start]);
            rest = &after[digits + 1..];
        } else {
            text.push_str(&rest[..start + MARK.len()]);
            rest = after;
        }
    }
    text.push_str(rest);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) if chars.clone().next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text,
    }
}

/// [`io_error_text`] for an error value.
pub fn io_error(e: &std::io::Error) -> String {
    io_error_text(&e.to_string())
}

/// One TCP connection attempt: `10.0.0.1:443: connection refused`. The OS message is kept only
/// when the outcome has no words of its own.
pub fn tcp_attempt(a: &TcpAttempt) -> String {
    match (a.outcome, &a.error) {
        (TcpOutcome::Other | TcpOutcome::TimedOut, Some(e)) => format!("{}: {}", a.address, io_error_text(e)),
        (outcome, _) => format!("{}: {outcome}", a.address),
    }
}

/// The IANA TLS SignatureScheme name (`rsa_pss_rsae_sha256`), or the code point in hex.
pub fn signature_scheme(s: SignatureScheme) -> String {
    let name = match s {
        SignatureScheme::RSA_PKCS1_SHA1 => "rsa_pkcs1_sha1",
        SignatureScheme::ECDSA_SHA1_Legacy => "ecdsa_sha1",
        SignatureScheme::RSA_PKCS1_SHA256 => "rsa_pkcs1_sha256",
        SignatureScheme::ECDSA_NISTP256_SHA256 => "ecdsa_secp256r1_sha256",
        SignatureScheme::RSA_PKCS1_SHA384 => "rsa_pkcs1_sha384",
        SignatureScheme::ECDSA_NISTP384_SHA384 => "ecdsa_secp384r1_sha384",
        SignatureScheme::RSA_PKCS1_SHA512 => "rsa_pkcs1_sha512",
        SignatureScheme::ECDSA_NISTP521_SHA512 => "ecdsa_secp521r1_sha512",
        SignatureScheme::RSA_PSS_SHA256 => "rsa_pss_rsae_sha256",
        SignatureScheme::RSA_PSS_SHA384 => "rsa_pss_rsae_sha384",
        SignatureScheme::RSA_PSS_SHA512 => "rsa_pss_rsae_sha512",
        SignatureScheme::ED25519 => "ed25519",
        SignatureScheme::ED448 => "ed448",
        SignatureScheme::ML_DSA_44 => "mldsa44",
        SignatureScheme::ML_DSA_65 => "mldsa65",
        SignatureScheme::ML_DSA_87 => "mldsa87",
        other => {
            return match u16::from(other) {
                0x0809 => "rsa_pss_pss_sha256".into(),
                0x080a => "rsa_pss_pss_sha384".into(),
                0x080b => "rsa_pss_pss_sha512".into(),
                0x081a => "ecdsa_brainpoolP256r1tls13_sha256".into(),
                0x081b => "ecdsa_brainpoolP384r1tls13_sha384".into(),
                0x081c => "ecdsa_brainpoolP512r1tls13_sha512".into(),
                // TLS 1.2 (hash, signature) pairs with no TLS 1.3 name (RFC 5246 §7.4.1.4.1),
                // which OpenSSL still offers: named as OpenSSL and Wireshark print them.
                0x0202 => "dsa_sha1".into(),
                0x0301 => "rsa_pkcs1_sha224".into(),
                0x0302 => "dsa_sha224".into(),
                0x0303 => "ecdsa_sha224".into(),
                0x0402 => "dsa_sha256".into(),
                0x0502 => "dsa_sha384".into(),
                0x0602 => "dsa_sha512".into(),
                code => format!("0x{code:04x}"),
            };
        }
    };
    name.to_string()
}

/// [`signature_scheme`] for a name as observations store it: rustls' name (`RSA_PSS_SHA256`) or,
/// for a code point rustls does not know, `SignatureScheme(0x809)`. Sessions recorded so far hold
/// these forms, so views translate at the edge; an IANA name passes through.
pub fn signature_scheme_name(stored: &str) -> String {
    if let Some(code) = hex_in(stored, "SignatureScheme") {
        return signature_scheme(SignatureScheme::from(code));
    }
    KNOWN_SCHEMES
        .iter()
        .find(|s| s.as_str() == Some(stored))
        .map(|s| signature_scheme(*s))
        .unwrap_or_else(|| stored.to_string())
}

const KNOWN_SCHEMES: [SignatureScheme; 16] = [
    SignatureScheme::RSA_PKCS1_SHA1,
    SignatureScheme::ECDSA_SHA1_Legacy,
    SignatureScheme::RSA_PKCS1_SHA256,
    SignatureScheme::ECDSA_NISTP256_SHA256,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::ECDSA_NISTP384_SHA384,
    SignatureScheme::RSA_PKCS1_SHA512,
    SignatureScheme::ECDSA_NISTP521_SHA512,
    SignatureScheme::RSA_PSS_SHA256,
    SignatureScheme::RSA_PSS_SHA384,
    SignatureScheme::RSA_PSS_SHA512,
    SignatureScheme::ED25519,
    SignatureScheme::ED448,
    SignatureScheme::ML_DSA_44,
    SignatureScheme::ML_DSA_65,
    SignatureScheme::ML_DSA_87,
];

/// The IANA TLS Supported Groups name (`x25519`, `secp256r1`, `X25519MLKEM768`), or the code point.
pub fn named_group(g: NamedGroup) -> String {
    let name = match g {
        NamedGroup::secp256r1 => "secp256r1",
        NamedGroup::secp384r1 => "secp384r1",
        NamedGroup::secp521r1 => "secp521r1",
        NamedGroup::X25519 => "x25519",
        NamedGroup::X448 => "x448",
        NamedGroup::FFDHE2048 => "ffdhe2048",
        NamedGroup::FFDHE3072 => "ffdhe3072",
        NamedGroup::FFDHE4096 => "ffdhe4096",
        NamedGroup::FFDHE6144 => "ffdhe6144",
        NamedGroup::FFDHE8192 => "ffdhe8192",
        NamedGroup::MLKEM512 => "MLKEM512",
        NamedGroup::MLKEM768 => "MLKEM768",
        NamedGroup::MLKEM1024 => "MLKEM1024",
        NamedGroup::secp256r1MLKEM768 => "SecP256r1MLKEM768",
        NamedGroup::X25519MLKEM768 => "X25519MLKEM768",
        other => return format!("0x{:04x}", u16::from(other)),
    };
    name.to_string()
}

/// [`named_group`] for a group as observations store it (rustls' name or `NamedGroup(0x…)`).
pub fn named_group_name(stored: &str) -> String {
    if let Some(code) = hex_in(stored, "NamedGroup") {
        return named_group(NamedGroup::from(code));
    }
    KNOWN_GROUPS
        .iter()
        .find(|g| g.as_str() == Some(stored))
        .map(|g| named_group(*g))
        .unwrap_or_else(|| stored.to_string())
}

const KNOWN_GROUPS: [NamedGroup; 15] = [
    NamedGroup::secp256r1,
    NamedGroup::secp384r1,
    NamedGroup::secp521r1,
    NamedGroup::X25519,
    NamedGroup::X448,
    NamedGroup::FFDHE2048,
    NamedGroup::FFDHE3072,
    NamedGroup::FFDHE4096,
    NamedGroup::FFDHE6144,
    NamedGroup::FFDHE8192,
    NamedGroup::MLKEM512,
    NamedGroup::MLKEM768,
    NamedGroup::MLKEM1024,
    NamedGroup::secp256r1MLKEM768,
    NamedGroup::X25519MLKEM768,
];

/// `Name(0x809)` -> 0x0809: the form rustls' `Debug` gives a code point it has no name for.
fn hex_in(stored: &str, type_name: &str) -> Option<u16> {
    let inner = stored.strip_prefix(type_name)?.strip_prefix("(0x")?.strip_suffix(')')?;
    u16::from_str_radix(inner, 16).ok()
}

/// A protocol version as OpenSSL names it (`TLSv1.3`), or its code point.
pub fn tls_version(v: ProtocolVersion) -> String {
    match v {
        ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        ProtocolVersion::TLSv1_1 => "TLSv1.1".into(),
        ProtocolVersion::TLSv1_0 => "TLSv1".into(),
        ProtocolVersion::SSLv3 => "SSLv3".into(),
        other => format!("0x{:04x}", u16::from(other)),
    }
}

/// How a probe went through its HTTP proxy, in one phrase: `proxy 10.0.0.5:3128 (from
/// HTTPS_PROXY, with credentials): CONNECT api:443 answered 200 Connection established`.
pub fn proxy_use(p: &crate::probe::proxy::ProxyUse) -> String {
    let auth = if p.authenticated { ", with credentials" } else { "" };
    let answer = match (p.status, &p.error) {
        (Some(s), _) => format!("answered {s} {}", p.reason.as_deref().unwrap_or("")).trim_end().to_string(),
        (None, Some(e)) => e.clone(),
        (None, None) => "not asked".into(),
    };
    format!("proxy {} (from {}{auth}): CONNECT {} {answer}", p.address, p.source, p.tunnel_to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(ok: bool, code: i32, depth: Option<usize>) -> Verdict {
        Verdict {
            ok,
            code,
            code_name: crate::verify::code_name(code).to_string(),
            reason: None,
            depth,
            path: vec![],
            chain_problems: vec![],
        }
    }

    #[test]
    fn enums_read_as_words() {
        assert_eq!(ProbeRole::Inbound.to_string(), "inbound");
        assert_eq!(ProbeRole::Outbound.to_string(), "outbound");
        assert_eq!(Role::Client.to_string(), "client");
        assert_eq!(Role::Server.to_string(), "server");
        assert_eq!(NotSentReason::NotRequested.to_string(), "the server did not ask");
        assert_eq!(NotSentReason::NoneConfigured.to_string(), "none configured for this probe");
        assert_eq!(
            NotSentReason::NoCommonSignatureScheme.to_string(),
            "the key cannot sign with any scheme the server accepts"
        );
        assert_eq!(TcpOutcome::Refused.to_string(), "connection refused");
        assert_eq!(TcpOutcome::TimedOut.to_string(), "timed out");
        assert_eq!(Phase::Tls.to_string(), "TLS");
        assert_eq!(TlsVersionPin::Tls12.to_string(), "TLSv1.2");
        assert_eq!(DnsErrorKind::NxDomain.to_string(), "the name does not exist (NXDOMAIN)");
        assert_eq!(Severity::Warning.to_string(), "warning");
        assert_eq!(Symptom::BadGateway502.to_string(), "502 Bad Gateway");
        assert_eq!(TargetKind::Inspect.to_string(), "inspect");
        assert_eq!(TargetStatus::Added.to_string(), "only in the second session");
        assert_eq!(Eku::ClientAuth.to_string(), "clientAuth");
        assert_eq!(KeyKind::EcdsaP256.to_string(), "ECDSA P-256");
    }

    #[test]
    fn policy_failures_read_as_words() {
        assert_eq!(
            ValidationFailure::ChainNotTrusted { revocation_checked: false }.to_string(),
            "the chain does not build to an uploaded CA"
        );
        assert_eq!(
            ValidationFailure::ChainNotTrusted { revocation_checked: true }.to_string(),
            "the chain does not build to an uploaded CA (with the revocation check on)"
        );
        assert_eq!(
            ValidationFailure::NoIdentityMatched { identities: 2 }.to_string(),
            "none of the 2 listed identities matched"
        );
    }

    #[test]
    fn chain_problems_read_as_words() {
        assert_eq!(ChainProblem::OutOfOrder.to_string(), "the chain was sent out of order");
        assert_eq!(
            ChainProblem::MissingIntermediate { needed_issuer: "CN=Issuing CA".into() }.to_string(),
            "missing intermediate: nothing presented or trusted is \"CN=Issuing CA\""
        );
    }

    #[test]
    fn verdicts_in_openssl_words() {
        assert_eq!(verdict_summary(&verdict(true, 0, None)), "0 ok");
        assert_eq!(verdict_summary(&verdict(false, 10, Some(0))), "error 10 (certificate has expired)");
        assert_eq!(
            verdict_with_depth(&verdict(false, 20, Some(1))),
            "error 20 (unable to get local issuer certificate) at depth 1"
        );
        assert_eq!(verdict_with_depth(&verdict(true, 0, Some(0))), "0 ok");
    }

    #[test]
    fn webpki_reasons_in_words() {
        assert_eq!(webpki_reason("UnknownIssuer"), "unknown issuer");
        assert_eq!(webpki_reason("CertExpired"), "certificate expired");
        assert_eq!(webpki_reason("UnsupportedNameType"), "unsupported name type");
        assert_eq!(variant_words("NoSignatureSchemesInCommon"), "no signature schemes in common");
    }

    #[test]
    fn io_errors_without_os_codes() {
        assert_eq!(io_error_text("Connection refused (os error 111)"), "connection refused");
        assert_eq!(io_error_text("No such file or directory (os error 2)"), "no such file or directory");
        assert_eq!(io_error_text("no answer within 3000 ms"), "no answer within 3000 ms");
        assert_eq!(
            io_error_text("No such file or directory (os error 2) at path \"/x/.tmp\""),
            "no such file or directory at path \"/x/.tmp\""
        );
        // An acronym keeps its capitals.
        assert_eq!(io_error_text("TLS handshake eof"), "TLS handshake eof");
        let a = TcpAttempt {
            address: "127.0.0.1:1".into(),
            outcome: TcpOutcome::Refused,
            error: Some("Connection refused (os error 111)".into()),
            ms: 0.1,
        };
        assert_eq!(tcp_attempt(&a), "127.0.0.1:1: connection refused");
        let e = std::io::Error::from_raw_os_error(111);
        assert!(!io_error(&e).contains("os error"), "{}", io_error(&e));
    }

    #[test]
    fn signature_schemes_by_iana_names() {
        assert_eq!(signature_scheme(SignatureScheme::RSA_PSS_SHA256), "rsa_pss_rsae_sha256");
        assert_eq!(signature_scheme(SignatureScheme::ECDSA_NISTP256_SHA256), "ecdsa_secp256r1_sha256");
        assert_eq!(signature_scheme(SignatureScheme::from(0x0809)), "rsa_pss_pss_sha256");
        assert_eq!(signature_scheme(SignatureScheme::from(0xfefe)), "0xfefe");
        assert_eq!(signature_scheme_name("RSA_PSS_SHA256"), "rsa_pss_rsae_sha256");
        assert_eq!(signature_scheme_name("ED25519"), "ed25519");
        assert_eq!(signature_scheme_name("SignatureScheme(0x809)"), "rsa_pss_pss_sha256");
        assert_eq!(signature_scheme_name("rsa_pkcs1_sha256"), "rsa_pkcs1_sha256");
    }

    #[test]
    fn groups_and_versions_by_their_names() {
        assert_eq!(named_group(NamedGroup::X25519), "x25519");
        assert_eq!(named_group_name("X25519MLKEM768"), "X25519MLKEM768");
        assert_eq!(named_group_name("secp256r1"), "secp256r1");
        assert_eq!(named_group_name("NamedGroup(0x1234)"), "0x1234");
        assert_eq!(tls_version(ProtocolVersion::TLSv1_3), "TLSv1.3");
        assert_eq!(tls_version(ProtocolVersion::from(0x7f1c)), "0x7f1c");
    }

    #[test]
    fn clean_escapes_controls_and_invisibles() {
        assert_eq!(clean("a\nb\u{1b}[31m"), "a\\nb\\u{001B}[31m");
        assert_eq!(clean("x\u{200e}"), "x<U+200E>");
    }
}
