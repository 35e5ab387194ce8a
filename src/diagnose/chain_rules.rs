//! Rules that read a probe's chains and CertificateRequest as a whole: the order and contents of
//! what each side sent, a client leaf sent without the intermediate the server needs, an
//! acceptable-CA list too large for Windows, and a browser-facing hostname asking for a certificate.

use super::catalog::finding;
use super::finding::{Finding, Severity};
use super::id::FindingId;
use super::probe_rules::subject_of;
use crate::azure::AzureConfig;
use crate::cert::CertInfo;
use crate::probe::{ProbeResult, ProbeRole, TlsFailure};
use crate::verify::ChainProblem;

/// Microsoft's documented Schannel limit for the trusted-issuer list of a CertificateRequest:
/// 16 KB (KB 933430, KB 2880390, Schannel event 36885). Microsoft documents no count limit; the
/// count is quoted as evidence only.
pub const SCHANNEL_CA_LIST_LIMIT_BYTES: usize = 16 * 1024;

/// Host suffixes of API Management's developer portal (new and legacy), which browsers open.
const PORTAL_SUFFIXES: &[&str] = &[".developer.azure-api.net", ".portal.azure-api.net"];

/// How a chain's order and contents compare with leaf, its issuer, that one's issuer, ….
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainShape {
    pub out_of_order: bool,
    /// Subjects of self-signed certificates sent after the leaf.
    pub roots: Vec<String>,
}

/// The shape of a chain from its certificates alone (names and self-signature).
pub fn chain_shape(chain: &[CertInfo]) -> ChainShape {
    let out_of_order = chain.windows(2).enumerate().any(|(i, w)| {
        // The next certificate does not certify this one, although one sent later does.
        w[0].issuer != w[1].subject && !w[0].self_signed && chain.iter().skip(i + 2).any(|c| c.subject == w[0].issuer)
    });
    let roots = chain.iter().skip(1).filter(|c| c.self_signed).map(|c| c.subject.clone()).collect();
    ChainShape { out_of_order, roots }
}

fn order_line(chain: &[CertInfo]) -> String {
    chain
        .iter()
        .enumerate()
        .map(|(i, c)| format!("#{i} \"{}\" (issuer \"{}\")", c.subject, c.issuer))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Order and root findings for the chains a probe saw (server's as sent, client's as configured).
pub fn chain_shape_findings(p: &ProbeResult, out: &mut Vec<Finding>) {
    let subject = subject_of(p);
    let problems = p.server_verify.as_ref().map(|v| v.chain_problems.as_slice()).unwrap_or_default();
    // The verifier saw the path it built; trust it when it found the order wrong.
    let verifier_ooo = problems.iter().any(|x| matches!(x, ChainProblem::OutOfOrder));
    let peer = if p.role == ProbeRole::Outbound { "backend" } else { "server" };
    shape_findings(peer, &p.server_chain, verifier_ooo, "as sent", &subject, out);
    let how = if p.client_cert_sent { "as sent" } else { "as configured" };
    shape_findings("client", &p.client_chain, false, how, &subject, out);
}

/// The same for a chain given to `inspect`.
pub fn inspected_shape_findings(origin: &str, role: crate::verify::Role, chain: &[CertInfo], out: &mut Vec<Finding>) {
    let who = match role {
        crate::verify::Role::Server => "server",
        crate::verify::Role::Client => "client",
    };
    shape_findings(who, chain, false, &format!("in {origin}"), origin, out);
}

fn shape_findings(who: &str, chain: &[CertInfo], verifier_ooo: bool, how: &str, subject: &str, out: &mut Vec<Finding>) {
    let shape = chain_shape(chain);
    if shape.out_of_order || verifier_ooo {
        let mut f = finding(FindingId::ChainOutOfOrder);
        f.subject = Some(subject.to_string());
        f.cause = format!(
            "The {who} chain is not in issuing order (leaf, then the certificate that signed it, and so on). TLS 1.2 requires that order (RFC 5246 §7.4.2) and a strict TLS 1.2 peer may refuse the chain; TLS 1.3 (RFC 8446 §4.4.2) asks receivers to cope, and OpenSSL 3 and rustls build the path whatever the order."
        );
        f.evidence.push(format!("{who} chain {how}: {}", order_line(chain)));
        f.fix =
            vec![format!("Write the {who}'s chain file (or .pfx) as leaf, issuing CA, next CA …; leave the root out.")];
        out.push(f);
    }
    if !shape.roots.is_empty() {
        let mut f = finding(FindingId::ChainIncludesRoot);
        f.subject = Some(subject.to_string());
        f.cause = format!(
            "The {who} chain includes its root CA. A peer must already trust the root, so sending it only costs bytes; but when the peer's copy differs (a renewed or cross-signed root) or the sent root expires, older stacks can build the path through it and fail (OpenSSL 1.0.x clients did when the AddTrust root expired in 2020)."
        );
        for r in &shape.roots {
            f.evidence.push(format!("{who} chain {how} includes the self-signed \"{r}\""));
        }
        f.fix =
            vec![format!("Remove the root from the {who}'s chain file (or .pfx); keep the leaf and intermediates.")];
        out.push(f);
    }
}

fn received_unknown_ca(p: &ProbeResult) -> bool {
    matches!(&p.handshake.failure, Some(TlsFailure::AlertReceived { alert }) if alert == "unknown_ca")
}

/// A client leaf sent alone whose issuer the server does not know: the intermediate is missing.
/// `known` are CA certificates the tool was given (uploaded CAs, inspected chains) that may supply
/// the missing issuer and show where it chains to. Returns true when the tool knows the issuer is
/// an intermediate (an error that replaces `client-cert-ca-not-acceptable`); when it does not hold
/// the issuer's certificate it cannot tell an intermediate from an unrelated root, says so in a
/// warning, and returns false.
pub fn client_chain_incomplete(p: &ProbeResult, known: &[&CertInfo], out: &mut Vec<Finding>) -> bool {
    let Some(leaf) = p.client_chain.first() else { return false };
    let sent_alone = p.client_cert_sent && p.client_chain.len() == 1 && !leaf.self_signed;
    let issuer_listed = p.acceptable_ca_names.iter().any(|n| n == &leaf.issuer);
    if !sent_alone || !received_unknown_ca(p) || issuer_listed {
        return false;
    }
    let issuer_cert = known.iter().find(|c| c.subject == leaf.issuer && c.is_ca);
    // A root that is not listed is an untrusted CA, not a missing intermediate.
    if issuer_cert.is_some_and(|c| c.self_signed) {
        return false;
    }
    let listed = |name: &str| p.acceptable_ca_names.iter().any(|n| n == name);
    let mut f = finding(FindingId::ClientChainIncomplete);
    f.subject = Some(subject_of(p));
    let certain = match issuer_cert {
        Some(c) => {
            f.cause = if listed(&c.issuer) {
                format!(
                    "The client sent only its leaf. The server trusts \"{}\", which issued \"{}\", the intermediate that signed the leaf; without that intermediate the server cannot build the chain and answers unknown_ca.",
                    c.issuer, leaf.issuer
                )
            } else {
                format!(
                    "The client sent only its leaf; its issuer \"{}\" is an intermediate CA (issued by \"{}\") that the server does not hold, so it answers unknown_ca.",
                    leaf.issuer, c.issuer
                )
            };
            true
        }
        None => {
            f.severity = Severity::Warning;
            f.cause = format!(
                "The client sent only its leaf, and the server answered unknown_ca: it holds no certificate for \"{}\", the leaf's issuer. If that issuer is an intermediate CA under a root the server trusts, the intermediate is missing from what the client sends; if it is a root of its own, the server does not trust that CA (see client-cert-ca-not-acceptable). Give its certificate with --client-ca to tell which.",
                leaf.issuer
            );
            false
        }
    };
    f.evidence.push(format!("client sent 1 certificate: \"{}\" (Thumbprint {})", leaf.subject, leaf.thumbprint_sha1));
    f.evidence.push(format!("needed issuer: \"{}\"", leaf.issuer));
    f.evidence.push("the server answered with the alert unknown_ca".into());
    if !p.acceptable_ca_names.is_empty() {
        f.evidence.push(format!("acceptable CA names: {}", p.acceptable_ca_names.join("; ")));
    }
    if let Some(c) = issuer_cert {
        f.evidence.push(format!("\"{}\" (Thumbprint {}) is issued by \"{}\"", c.subject, c.thumbprint_sha1, c.issuer));
    }
    f.fix = vec![
        format!("Send \"{}\" with the leaf: put it after the leaf in the PEM file given to the client, or export the .pfx with \"Include all certificates in the certification path\".", leaf.issuer),
        "For a gateway (API Management as the client of a backend): upload the .pfx with its chain to Key Vault.".into(),
        "Or install the intermediate in the server's client-CA trust file.".into(),
    ];
    f.related.push(FindingId::ClientCertCaNotAcceptable);
    out.push(f);
    certain
}

/// A CertificateRequest whose certificate_authorities exceed Schannel's 16 KB.
pub fn ca_list_too_large(p: &ProbeResult, out: &mut Vec<Finding>) {
    if !p.client_cert_requested || p.acceptable_ca_names_bytes <= SCHANNEL_CA_LIST_LIMIT_BYTES {
        return;
    }
    let mut f = finding(FindingId::CaListTooLarge);
    f.subject = Some(subject_of(p));
    f.cause = format!(
        "The server lists {} acceptable CA names in {} bytes. Windows Schannel handles at most {} bytes (16 KB) of trusted issuers: a Windows server truncates a longer list, and Windows clients built on Schannel, which pick their certificate by this list, may find no match and silently send none. Clients that send their configured certificate whatever the list says (curl/OpenSSL, Go, rustls) are not affected.",
        p.acceptable_ca_names.len(),
        p.acceptable_ca_names_bytes,
        SCHANNEL_CA_LIST_LIMIT_BYTES
    );
    f.evidence.push(format!(
        "CertificateRequest: {} CA name(s), {} bytes (Schannel limit {} bytes, KB 933430)",
        p.acceptable_ca_names.len(),
        p.acceptable_ca_names_bytes,
        SCHANNEL_CA_LIST_LIMIT_BYTES
    ));
    f.fix = vec![
        "Trust only the CAs that issue client certificates for this server (a dedicated client-CA file, not the system bundle).".into(),
        "Or stop sending the list (openssl: -no_ca_names; Windows servers: SendTrustedIssuerList=0) and let clients choose by other means.".into(),
    ];
    out.push(f);
}

/// Whether `host` serves browsers: API Management's developer portal by name, or a `Portal` /
/// `DeveloperPortal` hostname in the `--azure` exports.
pub fn serves_browsers(host: &str, azure: Option<&AzureConfig>) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    let by_name = PORTAL_SUFFIXES.iter().any(|s| h.strip_suffix(s).is_some_and(|label| !label.is_empty()));
    let by_config = azure
        .and_then(|a| a.hostname(&h))
        .is_some_and(|c| c.kind.eq_ignore_ascii_case("DeveloperPortal") || c.kind.eq_ignore_ascii_case("Portal"));
    by_name || by_config
}

/// A browser-facing hostname that asks for a client certificate; `client-cert-missing` there is
/// information, not an error (browsers pop a certificate chooser or fail, nobody needs one).
pub fn portal_requests_cert(p: &ProbeResult, azure: Option<&AzureConfig>, out: &mut Vec<Finding>) {
    if p.role != ProbeRole::Inbound || !p.client_cert_requested || !serves_browsers(&p.target.sni, azure) {
        return;
    }
    let subject = subject_of(p);
    let mut f = finding(FindingId::PortalRequestsCert);
    f.subject = Some(subject.clone());
    f.cause = format!(
        "{} serves browsers (the developer portal), yet the server sent a CertificateRequest: browsers then show a certificate chooser or fail the page. Client certificates belong on the gateway hostname, not the portal.",
        p.target.sni
    );
    f.evidence.push(format!(
        "CertificateRequest on {} with {} acceptable CA name(s)",
        p.target.sni,
        p.acceptable_ca_names.len()
    ));
    f.fix = vec![
        format!("Turn off \"Negotiate client certificate\" on {} (or on the wildcard domain covering it); keep it on the gateway hostname.", p.target.sni),
    ];
    for other in out.iter_mut() {
        if other.id == FindingId::ClientCertMissing && other.subject.as_deref() == Some(&subject) {
            other.severity = Severity::Info;
            other.evidence.push("this hostname serves browsers: no client certificate is expected here".into());
        }
    }
    out.push(f);
}
