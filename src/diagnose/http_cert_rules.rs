//! A 403 from HTTP rules about the client certificate (`http-403-client-cert`): HAProxy's
//! `verify optional` with `http-request deny unless { ssl_c_used } { ssl_c_verify 0 }`, Apache's
//! `SSLVerifyClient optional` (or `optional_no_ca`) with `Require expr %{SSL_CLIENT_VERIFY} ==
//! 'SUCCESS'`. The handshake passes there and the refusal is an HTTP status, so it looks like any
//! other 403. The rule uses only what the probe saw: that a CertificateRequest was sent, what was
//! presented, the certificate's issuer against the acceptable CA names, the comparison probe
//! without the certificate, and the response's Server header and body shape. When those cannot
//! tell whether the certificate is the reason, the finding says "unknown" and why.

use super::catalog::finding;
use super::finding::{Finding, Severity};
use super::id::FindingId;
use crate::probe::{HttpResult, NotSentReason, ProbeResult, ProbeRole};

/// HAProxy's built-in 403 page (it sends no Server header).
const HAPROXY_403_PAGE: &str = "Request forbidden by administrative rules.";
/// Apache httpd's built-in 403 page (also when `ServerTokens`/`Header unset Server` hide the name).
const APACHE_403_PAGE: &str = "You don't have permission to access this resource.";

/// The gateway software the response shows, by its Server header or its built-in page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Haproxy,
    Apache,
}

fn family(h: &HttpResult) -> Option<(Family, String)> {
    let server = h.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("server")).map(|(_, v)| v.as_str());
    if let Some(s) = server.filter(|s| s.to_ascii_lowercase().starts_with("apache")) {
        return Some((Family::Apache, format!("Server: {}", crate::text::clean(s))));
    }
    if h.body_preview.contains(APACHE_403_PAGE) {
        return Some((Family::Apache, format!("Apache's 403 page (\"{APACHE_403_PAGE}\")")));
    }
    if server.is_none() && h.body_preview.contains(HAPROXY_403_PAGE) {
        return Some((Family::Haproxy, format!("HAProxy's 403 page (\"{HAPROXY_403_PAGE}\"), no Server header")));
    }
    None
}

/// What the facts say about the certificate's part in the 403.
enum Reading {
    /// Asked for, and none was presented.
    NotPresented,
    /// Presented, and its issuer is not among the acceptable CA names the server listed.
    IssuerNotListed(String),
    /// Without the certificate the server answered differently (2xx/3xx): the certificate itself
    /// draws the 403.
    CertificateDrawsIt(u16),
    /// The facts cannot tell; the reason.
    Unknown(String),
}

fn read(p: &ProbeResult) -> Reading {
    if !p.client_cert_sent {
        return match p.client_cert_not_sent_reason {
            Some(NotSentReason::NoCommonSignatureScheme) => Reading::Unknown(
                "no certificate went out because the key can make none of the requested signature schemes (see client-key-scheme-mismatch), so the server judged an empty Certificate".into(),
            ),
            _ => Reading::NotPresented,
        };
    }
    let without = p.compare_without_cert.as_deref().and_then(|w| w.http.as_ref()).map(|h| h.status);
    if let Some(s) = without.filter(|s| (200..400).contains(s)) {
        return Reading::CertificateDrawsIt(s);
    }
    let issuer = p.client_chain.first().map(|c| c.issuer.clone()).unwrap_or_default();
    if p.acceptable_ca_names.is_empty() {
        return Reading::Unknown(format!(
            "the server listed no acceptable CA names, so the issuer \"{issuer}\" cannot be compared with what it trusts{}",
            compared(without)
        ));
    }
    let listed = p.client_chain.iter().any(|c| p.acceptable_ca_names.iter().any(|n| *n == c.issuer || *n == c.subject));
    if !listed {
        return Reading::IssuerNotListed(issuer);
    }
    Reading::Unknown(format!(
        "the issuer \"{issuer}\" is among the CA names the server listed, so the certificate may be refused for a reason the server does not say (expired, revoked, no clientAuth usage, an intermediate not sent, a rule on its subject) or the 403 may not be about the certificate at all{}",
        compared(without)
    ))
}

fn compared(without: Option<u16>) -> String {
    match without {
        Some(s) => format!("; without the certificate it answered {s} as well, which does not separate the two"),
        None => String::new(),
    }
}

pub fn http_403_client_cert(p: &ProbeResult, subject: &str, out: &mut Vec<Finding>) -> bool {
    let Some(h) = p.http.as_ref().filter(|h| h.status == 403) else { return false };
    if !p.handshake.ok || !p.client_cert_requested {
        return false;
    }
    let Some((fam, shown_by)) = family(h) else { return false };
    let peer = if p.role == ProbeRole::Outbound { "The backend" } else { "The server" };
    let version = p.tls.version.clone().unwrap_or_default();
    let reading = read(p);

    let mut f = finding(FindingId::Http403ClientCert);
    f.subject = Some(subject.to_string());
    f.evidence.push(format!(
        "{version}: CertificateRequest in the handshake with {} acceptable CA name(s); the handshake completed",
        p.acceptable_ca_names.len()
    ));
    match p.client_chain.first() {
        Some(c) if p.client_cert_sent => f
            .evidence
            .push(format!("presented \"{}\" issued by \"{}\" (Thumbprint {})", c.subject, c.issuer, c.thumbprint_sha1)),
        _ => f.evidence.push("no client certificate presented".into()),
    }
    if !p.acceptable_ca_names.is_empty() {
        f.evidence.push(format!("acceptable CA names: {}", p.acceptable_ca_names.join("; ")));
    }
    if let Some(w) = &p.compare_without_cert {
        f.evidence.push(format!("the same request without the certificate: {}", super::dropped_rules::answer_of(w)));
    }
    f.evidence.push(format!("HTTP 403 {} answered by {shown_by}", h.version));

    let (rule, how) = match fam {
        Family::Haproxy => (
            "an HAProxy http-request deny rule on ssl_c_used / ssl_c_verify",
            "With `verify optional` HAProxy lets a client through the handshake without a certificate (and with ca-ignore-err/crt-ignore-err with an untrusted one); ssl_c_used and ssl_c_verify (0 for success, else the verification error) then decide.",
        ),
        Family::Apache => (
            "an Apache rule on SSL_CLIENT_VERIFY (Require expr or SSLRequire)",
            "With `SSLVerifyClient optional` Apache lets a client through the handshake without a certificate (SSL_CLIENT_VERIFY is NONE), and with `optional_no_ca` with one that does not verify (FAILED:<reason>); the rule then decides.",
        ),
    };
    f.cause = match &reading {
        Reading::NotPresented => format!("{peer} asked for a client certificate, none was presented, and {rule} answered 403: the certificate's absence is the reason. {how}"),
        Reading::IssuerNotListed(issuer) => format!("{peer} asked for a client certificate issued by one of the CAs it listed; the one presented is issued by \"{issuer}\", which is not among them, and {rule} answered 403: the certificate is refused at the HTTP level because it does not verify against the server's CAs. {how}"),
        Reading::CertificateDrawsIt(s) => format!("{peer} answered {s} without a certificate but 403 with this one: the certificate itself draws the 403 from {rule} (it does not verify, or a rule refuses its fields). {how}"),
        Reading::Unknown(why) => {
            f.severity = Severity::Warning;
            format!("{peer} asked for a client certificate and answered 403 from {rule}, but whether the certificate is the reason is unknown: {why}. {how}")
        }
    };
    f.fix = match fam {
        Family::Haproxy => vec![
            "Present a certificate issued by a CA in the bind line's ca-file (curl --cert/--key, or the client's certificate store).".into(),
            "Or trust the client's CA: add its root (and intermediate) to the ca-file on the bind line and reload HAProxy.".into(),
            "Check which condition matched in the HAProxy log (log-format with %[ssl_c_used] and %[ssl_c_verify]).".into(),
        ],
        Family::Apache => vec![
            "Present a certificate issued by a CA in SSLCACertificateFile (curl --cert/--key, or the client's certificate store).".into(),
            "Or trust the client's CA: add its root (and intermediate) to SSLCACertificateFile (and SSLCADNRequestFile if set) and reload Apache.".into(),
            "Apache's error log says why for each request (LogLevel ssl:info shows the verification result, authz_core the rule that refused).".into(),
        ],
    };
    f.related.extend([
        FindingId::ClientCertMissing,
        FindingId::ClientCertCaNotAcceptable,
        FindingId::Http403AfterHandshake,
    ]);
    out.push(f);
    true
}
