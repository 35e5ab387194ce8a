//! Rules over one probe's observations: negotiation, what was sent and refused, server and backend
//! chains, reachability, and the HTTP answer.

use super::catalog::finding;
use super::finding::{Finding, Severity};
use super::id::FindingId;
use super::server_rules::{server_chain_findings, ChainSource, ServerChain};
use crate::azure::is_default_hostname;
use crate::probe::{NotSentReason, Phase, ProbeResult, ProbeRole, TlsFailure};

/// Alerts a server sends when it does not like the client certificate (or its absence).
const CLIENT_CERT_ALERTS: &[&str] = &[
    "certificate_required",
    "bad_certificate",
    "unsupported_certificate",
    "certificate_revoked",
    "certificate_expired",
    "certificate_unknown",
    "unknown_ca",
    "access_denied",
    "decrypt_error",
    "handshake_failure",
];

/// nginx's 400 page for a client certificate that does not verify (`ssl_verify_client on|optional`).
const NGINX_CERT_ERROR_PAGE: &str = "The SSL certificate error";

pub fn subject_of(p: &ProbeResult) -> String {
    format!("{}:{} ({})", p.target.host, p.target.port, p.role)
}

fn alert(p: &ProbeResult) -> Option<&str> {
    match &p.handshake.failure {
        Some(TlsFailure::AlertReceived { alert }) => Some(alert.as_str()),
        _ => None,
    }
}

fn leaf_label(p: &ProbeResult) -> String {
    p.client_chain
        .first()
        .map(|c| format!("\"{}\" (Thumbprint {})", c.subject, c.thumbprint_sha1))
        .unwrap_or_else(|| "(none)".into())
}

fn handshake_state(p: &ProbeResult) -> String {
    if p.handshake.ok {
        format!("the handshake completed ({})", p.tls.version.clone().unwrap_or_default())
    } else if let Some(a) = alert(p) {
        if p.handshake.rejected_after_handshake {
            let version = p.tls.version.as_deref().unwrap_or("TLS");
            format!("the server sent the alert {a} right after the handshake ({version}: seen on the first read)")
        } else {
            format!("the server ended the handshake with the alert {a}")
        }
    } else {
        format!("the handshake failed: {}", p.handshake.error.clone().unwrap_or_default())
    }
}

/// Whether the probe got far enough to know if a CertificateRequest would come.
fn saw_server_flight(p: &ProbeResult) -> bool {
    p.handshake.ok || p.handshake.rejected_after_handshake || !p.server_chain.is_empty()
}

pub fn probe_findings(p: &ProbeResult, out: &mut Vec<Finding>) {
    let subject = subject_of(p);
    let push = |out: &mut Vec<Finding>, mut f: Finding| {
        f.subject = Some(subject.clone());
        out.push(f);
    };

    // Reachability first: nothing else can be said without a connection.
    if p.failed_phase == Some(Phase::Dns) || p.failed_phase == Some(Phase::Tcp) {
        let id =
            if p.role == ProbeRole::Outbound { FindingId::BackendUnreachable } else { FindingId::GatewayUnreachable };
        let mut f = finding(id);
        if p.failed_phase == Some(Phase::Dns) {
            f.symptom = super::finding::Symptom::Dns;
            f.cause = format!("The name {} does not resolve, so no connection was attempted.", p.dns.query);
            f.evidence.push(format!(
                "DNS lookup of {}: {}",
                p.dns.query,
                p.dns.error.clone().unwrap_or_else(|| "no addresses".into())
            ));
            if !p.dns.servers.is_empty() {
                f.evidence.push(format!("asked: {}", p.dns.servers.join(", ")));
            }
            f.fix = vec![
                format!(
                    "Check the DNS record for {} (a CNAME to the gateway's *.azure-api.net name for a custom domain).",
                    p.dns.query
                ),
                "From inside a VNet, check the private DNS zone the caller uses.".into(),
            ];
        } else {
            f.cause = "Every address refused or ignored the TCP connection: nothing listens there, or a firewall or NSG drops the traffic.".into();
            for a in &p.tcp.attempts {
                f.evidence.push(format!("TCP {}", crate::text::tcp_attempt(a)));
            }
            f.fix = vec![
                "Check that the port is right and the service is listening.".into(),
                "Check network security groups, firewalls and (for a backend) that the gateway's VNet can reach it."
                    .into(),
            ];
        }
        push(out, f);
        return;
    }

    let inbound = p.role == ProbeRole::Inbound;
    let cert_configured = !p.client_chain.is_empty();
    let a = alert(p);

    if let Some(v) = &p.server_verify {
        let chain = ServerChain {
            verdict: v,
            chain: &p.server_chain,
            source: ChainSource::Presented { sni: &p.target.sni },
            backend: !inbound,
        };
        for f in server_chain_findings(&chain) {
            push(out, f);
        }
    }

    // Negotiation: asked late, or never asked at all.
    super::late_rules::late_findings(p, &subject, out);
    if saw_server_flight(p) && !p.client_cert_requested && inbound && !super::late_rules::asked_late(p) {
        let mut f = finding(FindingId::GatewayDidNotRequestCert);
        f.severity = if cert_configured { Severity::Error } else { Severity::Warning };
        f.cause = format!(
            "The server never sent a CertificateRequest on {}, so no client certificate can reach it and an APIM policy sees context.Request.Certificate as null. \"Negotiate client certificate\" is off for this hostname (or something in front terminates TLS).",
            p.target.sni
        );
        f.evidence.push(format!("{} with SNI {}, and no CertificateRequest arrived", handshake_state(p), p.target.sni));
        if cert_configured {
            f.evidence.push(format!("configured client certificate {} was not sent", leaf_label(p)));
        }
        if let Some(h) = &p.http {
            f.evidence.push(format!("HTTP answer: {} {}", h.status, h.version));
        }
        f.fix = vec![
            format!("Azure portal → your API Management → Custom domains → {}: tick \"Negotiate client certificate\" and save (az: set negotiateClientCertificate=true on that hostnameConfiguration).", p.target.sni),
            "Enable it on the exact hostname your clients call: an alias or the default *.azure-api.net hostname does not inherit it.".into(),
            "Do not rely on the TLS renegotiation fallback: HTTP/2 clients (and rustls) never renegotiate, and large request bodies can stall it.".into(),
            "If Application Gateway or Front Door sits in front, it terminates TLS: forward the certificate in a header instead.".into(),
        ];
        f.related.extend([FindingId::GatewayDefaultHostname, FindingId::AzureNegotiationOff]);
        push(out, f);
    }
    if inbound && (is_default_hostname(&p.target.sni) || is_default_hostname(&p.target.host)) {
        let mut f = finding(FindingId::GatewayDefaultHostname);
        if !p.client_cert_requested && cert_configured {
            f.severity = Severity::Error;
        }
        f.cause = format!(
            "{} is the service's default hostname. Client certificate negotiation is a per-custom-domain setting, and the classic tiers cannot turn it on for the default hostname.",
            p.target.sni
        );
        f.evidence.push(format!("SNI and Host: {}", p.target.sni));
        if !p.dns.cnames.is_empty() {
            f.evidence.push(format!("CNAME chain: {} -> {}", p.dns.query, p.dns.cnames.join(" -> ")));
        }
        f.fix = vec![
            "Add a custom domain (hostnameConfigurations type Proxy) with its certificate, enable Negotiate client certificate on it, and have clients call that name.".into(),
            "Consumption tier: turn on \"Request client certificate\" (enableClientCertificate) on the service instead.".into(),
        ];
        f.related.push(FindingId::GatewayDidNotRequestCert);
        push(out, f);
    }

    // What we sent, and what the server thought of it.
    if p.client_cert_requested && !p.client_cert_sent {
        match p.client_cert_not_sent_reason {
            Some(NotSentReason::NoCommonSignatureScheme) => {
                let mut f = finding(FindingId::ClientKeySchemeMismatch);
                if !inbound {
                    f.symptom = super::finding::Symptom::BadGateway502;
                }
                f.cause = "The server accepts client signatures only in schemes the configured key cannot make, so an empty Certificate message was sent.".into();
                f.evidence.push(format!("server accepts: {}", p.requested_signature_schemes.join(", ")));
                f.evidence.push(format!("client certificate {}", leaf_label(p)));
                f.fix = vec![
                    "Use a client key type the server accepts (RSA 2048+ or ECDSA P-256 are universally accepted)."
                        .into(),
                ];
                push(out, f);
            }
            Some(NotSentReason::NoneConfigured) if inbound => {
                let mut f = finding(FindingId::ClientCertMissing);
                f.cause = "The server asked for a client certificate and this probe had none to send (pass --cert/--key or --pfx).".into();
                f.evidence.push(format!(
                    "CertificateRequest received with {} acceptable CA name(s)",
                    p.acceptable_ca_names.len()
                ));
                f.evidence.push(handshake_state(p));
                f.fix = vec![
                    "Configure the calling client with its certificate and private key (a .pfx, or PEM cert + key)."
                        .into(),
                    "Rerun the probe with --pfx FILE or --cert FILE --key FILE to see the gateway's answer with it."
                        .into(),
                ];
                push(out, f);
            }
            Some(NotSentReason::NoneConfigured) => {
                let rejected = !p.handshake.ok && a.is_some_and(|x| CLIENT_CERT_ALERTS.contains(&x));
                let http_400 = p.http.as_ref().is_some_and(|h| h.status == 400);
                if rejected || http_400 {
                    let mut f = finding(FindingId::BackendRequiresClientCert);
                    f.cause = "The backend requires a client certificate and got none: the gateway would fail the same way and answer 502. It is not presenting one: no authentication-certificate policy or backend credentials, or the Key Vault certificate could not be fetched.".into();
                    f.evidence.push(handshake_state(p));
                    if http_400 {
                        f.evidence.push("the backend answered HTTP 400 (nginx does this instead of an alert)".into());
                    }
                    f.evidence.push(format!(
                        "backend accepts client certificates from: {}",
                        p.acceptable_ca_names.join("; ")
                    ));
                    f.fix = backend_cert_fix();
                    f.related.extend([FindingId::KvSyncFailed, FindingId::AzureBackendNoClientCert]);
                    push(out, f);
                }
            }
            _ => {}
        }
    }

    if p.client_cert_sent && !p.handshake.ok {
        if let Some(al) = a.filter(|x| CLIENT_CERT_ALERTS.contains(x)) {
            if !inbound && al == "unknown_ca" {
                let mut f = finding(FindingId::BackendDistrustsClientCa);
                let issuer = p.client_chain.first().map(|c| c.issuer.clone()).unwrap_or_default();
                f.cause = format!("The backend does not trust \"{issuer}\", the CA that signed the gateway's certificate, and ends the handshake: the gateway answers 502.");
                f.evidence.push(format!("alert unknown_ca after sending {}", leaf_label(p)));
                if !p.acceptable_ca_names.is_empty() {
                    f.evidence.push(format!(
                        "backend accepts client certificates from: {}",
                        p.acceptable_ca_names.join("; ")
                    ));
                }
                f.fix = vec![
                    format!("Add the root of \"{issuer}\" to the backend's client-CA trust store and reload it."),
                    "Or issue the gateway's certificate from a CA the backend already trusts, then update it in Key Vault.".into(),
                ];
                push(out, f);
            } else {
                let mut f = finding(FindingId::GatewayRejectedClientCert);
                if !inbound {
                    f.symptom = super::finding::Symptom::BadGateway502;
                }
                f.cause = format!(
                    "The server refused the client certificate with the alert {al}: it does not trust its issuer, or the certificate is expired, revoked or not meant for client authentication."
                );
                f.evidence.push(format!("sent {}", leaf_label(p)));
                f.evidence.push(handshake_state(p));
                if !p.acceptable_ca_names.is_empty() {
                    f.evidence.push(format!("acceptable CA names: {}", p.acceptable_ca_names.join("; ")));
                }
                if let Some(w) = &p.compare_without_cert {
                    f.evidence.push(format!("without the certificate: {}", handshake_state(w)));
                }
                f.fix = vec![
                    "Check the certificate against the server's trust (see client-chain-untrusted, cert-expired, cert-missing-client-auth-eku if listed).".into(),
                    "Send the full chain (leaf + intermediates) if the server trusts only the root.".into(),
                ];
                f.related.extend([FindingId::ClientChainUntrusted, FindingId::ClientCertCaNotAcceptable]);
                push(out, f);
            }
        }
    }

    if p.client_cert_requested && cert_configured && !p.acceptable_ca_names.is_empty() {
        let issuers: Vec<&str> = p.client_chain.iter().map(|c| c.issuer.as_str()).collect();
        let subjects: Vec<&str> = p.client_chain.iter().map(|c| c.subject.as_str()).collect();
        let acceptable =
            p.acceptable_ca_names.iter().any(|n| issuers.contains(&n.as_str()) || subjects.contains(&n.as_str()));
        if !acceptable {
            let mut f = finding(FindingId::ClientCertCaNotAcceptable);
            // Inbound, a refused handshake makes this the likely cause; outbound, the alert itself
            // (backend-distrusts-client-ca) is the error and this is its corroboration.
            if !p.handshake.ok && inbound {
                f.severity = Severity::Error;
            }
            f.cause = "The server listed the CAs it accepts client certificates from, and the certificate's issuer is not one of them: many servers refuse it, and clients that pick certificates by this list will not offer it.".into();
            f.evidence.push(format!("certificate issuer: \"{}\"", issuers.first().copied().unwrap_or_default()));
            f.evidence.push(format!("acceptable CA names: {}", p.acceptable_ca_names.join("; ")));
            f.fix = vec![
                "Use a client certificate issued by one of the listed CAs, or".into(),
                "upload the client certificate's root (and intermediate) to the gateway as CA certificates.".into(),
            ];
            if !inbound {
                f.symptom = super::finding::Symptom::BadGateway502;
                f.related.push(FindingId::BackendDistrustsClientCa);
            }
            push(out, f);
        }
    }

    // TLS failures not explained above.
    if !p.handshake.ok
        && !p.handshake.rejected_after_handshake
        && !out.iter().any(|f| {
            f.subject.as_deref() == Some(&subject)
                && matches!(
                    f.id,
                    FindingId::GatewayRejectedClientCert
                        | FindingId::BackendDistrustsClientCa
                        | FindingId::BackendRequiresClientCert
                        | FindingId::ClientKeySchemeMismatch
                        | FindingId::ClientCertMissing
                )
        })
    {
        let incompatible = matches!(p.handshake.failure, Some(TlsFailure::PeerIncompatible { .. }))
            || matches!(a, Some("protocol_version" | "insufficient_security"))
            || (a == Some("handshake_failure") && !p.client_cert_requested && p.server_chain.is_empty());
        if !inbound && incompatible {
            let mut f = finding(FindingId::BackendTlsIncompatible);
            f.cause = "The gateway and the backend share no TLS version or cipher suite (for example a TLS 1.0/1.1-only backend, or ciphers the gateway has disabled).".into();
            f.evidence.push(handshake_state(p));
            f.fix = vec![
                "Enable TLS 1.2 (or 1.3) with modern ECDHE cipher suites on the backend.".into(),
                "Check the gateway's protocol and cipher settings (Protocols + ciphers blade) match what the backend offers.".into(),
            ];
            push(out, f);
        } else if !inbound
            && matches!(
                p.handshake.failure,
                Some(TlsFailure::Timeout | TlsFailure::ConnectionClosed | TlsFailure::ConnectionReset)
            )
            && p.server_chain.is_empty()
        {
            let mut f = finding(FindingId::BackendUnreachable);
            f.cause = "The backend accepted TCP but never completed a TLS handshake: it may not speak TLS on this port, or something in between drops it.".into();
            f.evidence.push(handshake_state(p));
            f.fix = vec!["Check the backend URL's scheme and port, and that TLS is enabled there.".into()];
            push(out, f);
        } else if p.failed_phase == Some(Phase::Tls) && p.plain_http_reply {
            let mut f = finding(FindingId::GatewayPlainHttpOnTlsPort);
            if !inbound {
                f.symptom = super::finding::Symptom::BadGateway502;
            }
            f.cause = format!(
                "The server on port {} answered the ClientHello with plain HTTP (its first bytes were \"HTTP/\"): this port serves http://, not https://, or TLS is terminated somewhere else.",
                p.target.port
            );
            f.evidence.push(handshake_state(p));
            f.evidence.push("the server's first bytes were \"HTTP/\" instead of a TLS record".into());
            f.fix = vec![
                "Use the port that serves HTTPS (usually 443), or call this one with http://.".into(),
                "If TLS should end here, enable it on this listener (a TLS/SSL bind option, a certificate).".into(),
            ];
            push(out, f);
        } else if p.failed_phase == Some(Phase::Tls) {
            let mut f = finding(FindingId::TlsHandshakeFailed);
            if !inbound {
                f.symptom = super::finding::Symptom::BadGateway502;
            }
            f.cause = "The TLS handshake failed for a reason none of the specific findings explains.".into();
            f.evidence.push(handshake_state(p));
            f.fix = vec!["Compare with `openssl s_client -connect HOST:PORT -servername NAME` and check the server's TLS configuration.".into()];
            push(out, f);
        }
    }

    // nginx refuses a certificate it cannot verify at the HTTP level, with no alert: a 400 whose
    // fixed page says so. The page text is the only signal nginx gives.
    if let Some(h) = p.http.as_ref().filter(|h| h.status == 400 && p.handshake.ok && p.client_cert_sent) {
        if h.body_preview.contains(NGINX_CERT_ERROR_PAGE) {
            let mut f = finding(FindingId::GatewayRejectedClientCert);
            if !inbound {
                f.symptom = super::finding::Symptom::BadGateway502;
            }
            f.cause = "The server completed the handshake, then refused the client certificate at the HTTP level: nginx answers 400 \"The SSL certificate error\" when the certificate does not verify against its ssl_client_certificate (untrusted issuer, expired, or missing intermediate).".into();
            f.evidence.push(format!("sent {}", leaf_label(p)));
            f.evidence.push(format!("HTTP 400 {} with the page \"{NGINX_CERT_ERROR_PAGE}\"", h.version));
            if !p.acceptable_ca_names.is_empty() {
                f.evidence.push(format!("acceptable CA names: {}", p.acceptable_ca_names.join("; ")));
            }
            f.fix = vec![
                "Add the certificate's issuing root (and intermediate) to the server's ssl_client_certificate file, or use a certificate it trusts.".into(),
                "Send the full chain (leaf + intermediates) if the server trusts only the root.".into(),
            ];
            f.related.extend([FindingId::ClientChainUntrusted, FindingId::ClientCertCaNotAcceptable]);
            push(out, f);
        }
    }

    // HTTP answers that point at the policy or at the backend.
    if let Some(h) = &p.http {
        if inbound && h.status == 403 && p.handshake.ok {
            let mut f = finding(FindingId::Http403AfterHandshake);
            f.cause = "The TLS handshake went through, so the 403 comes from the API's policy (a certificate check in the inbound section) or a subscription/auth check.".into();
            f.evidence.push(format!("HTTP {} after {}", h.status, handshake_state(p)));
            if p.client_cert_sent {
                f.evidence.push(format!("client certificate sent: {}", leaf_label(p)));
            }
            f.fix =
                vec!["Rerun with --policy policy.xml (and --client-ca for Verify()) to see which clause answers 403."
                    .into()];
            f.related.push(FindingId::PolicyRejects);
            push(out, f);
        }
        if inbound && (h.status == 502 || h.status == 500 && h.body_preview.contains("BackendConnectionFailure")) {
            let mut f = finding(FindingId::Gateway502);
            f.cause = "The gateway accepted this call but its own call to the backend failed; probe the backend with --role outbound and the gateway's certificate to see why.".into();
            f.evidence.push(format!("HTTP {} {}", h.status, h.version));
            let body: String = h.body_preview.chars().take(200).collect();
            if !body.trim().is_empty() {
                f.evidence.push(format!("body: {}", body.trim()));
            }
            f.fix =
                vec!["mtls-doctor probe BACKEND --role outbound --pfx gateway-cert.pfx --ca backend-root.pem".into()];
            f.related.extend([FindingId::BackendRequiresClientCert, FindingId::BackendDistrustsClientCa]);
            push(out, f);
        }
    }

    // Outbound with a certificate that worked, but the backend refuses without it: the gateway must present it.
    if !inbound && p.client_cert_sent && p.handshake.ok {
        if let Some(w) = &p.compare_without_cert {
            let refused = (!w.handshake.ok && alert(w).is_some_and(|x| CLIENT_CERT_ALERTS.contains(&x)))
                || w.http.as_ref().is_some_and(|h| h.status == 400);
            if refused {
                let mut f = finding(FindingId::BackendRequiresClientCert);
                f.severity = Severity::Info;
                f.cause = "The backend requires a client certificate, and the one given here works. If the gateway still gets 502, it is not presenting this certificate.".into();
                f.evidence.push(format!("with {}: {}", leaf_label(p), handshake_state(p)));
                f.evidence.push(format!("without a certificate: {}", handshake_state(w)));
                f.fix = backend_cert_fix();
                push(out, f);
            }
        }
    }
}

fn backend_cert_fix() -> Vec<String> {
    vec![
        "Make the gateway present its certificate: <authentication-certificate certificate-id=\"…\"/> in the API's inbound policy, or the backend entity's credentials.certificateIds.".into(),
        "Reference Key Vault certificates by certificate-id, not thumbprint: a rotation changes the thumbprint.".into(),
        "Check the certificate's Key Vault status on the service (see kv-* findings with --azure exports).".into(),
    ]
}
