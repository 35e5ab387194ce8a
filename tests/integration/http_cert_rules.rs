//! HTTP-level certificate rejections on real gateways: HAProxy `verify optional` with
//! `http-request deny unless { ssl_c_used } { ssl_c_verify 0 }`, and Apache `SSLVerifyClient
//! optional` with `Require expr %{SSL_CLIENT_VERIFY} == 'SUCCESS'`, with a good, a missing and a
//! rogue certificate over TLS 1.2 and TLS 1.3. curl must see the same status for each case, and
//! the first finding must be `http-403-client-cert` (not the generic `http-403-after-handshake`)
//! whenever the rule answered 403, with "unknown" when the facts cannot tell.

use mtls_doctor::diagnose::{diagnose, Finding, Observations, Severity};
use mtls_doctor::probe::{run_probe, ProbeOptions, ProbeResult, TlsVersionPin};

use crate::gateways::{apache, curl, haproxy, local_opts, Client, Gateway, GatewayPki};
use crate::util::Dir;

const HAPROXY_RULE: &str = "  http-request deny unless { ssl_c_used } { ssl_c_verify 0 }";
const HAPROXY_OPTIONAL: &str = "verify optional ca-file {DIR}/client-ca.pem";
/// `verify optional` that also lets an untrusted certificate through to the rules.
const HAPROXY_OPTIONAL_IGNORE: &str =
    "verify optional ca-file {DIR}/client-ca.pem crt-ignore-err all ca-ignore-err all";
const APACHE_RULE: &str =
    "SSLVerifyDepth 3\n<Location />\n  Require expr %{SSL_CLIENT_VERIFY} == 'SUCCESS'\n</Location>";

fn opts(port: u16, pin: TlsVersionPin, path: &str) -> ProbeOptions {
    let mut o = local_opts(port);
    o.tls_version = Some(pin);
    o.path = path.into();
    o
}

fn curl_pin(pin: TlsVersionPin) -> &'static str {
    if pin == TlsVersionPin::Tls12 {
        "1.2"
    } else {
        "1.3"
    }
}

/// What a case must end in: an HTTP status, or a handshake refused with this alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Status(u16),
    Alert(&'static str),
}

fn summary(findings: &[Finding]) -> String {
    findings.iter().map(|f| format!("{} {:?}: {}\n", f.id, f.severity, f.cause)).collect()
}

/// Probe one case, compare with curl, and return the probe and its findings.
async fn case(
    gw: &Gateway,
    pki: &GatewayPki,
    cd: &Dir,
    pin: TlsVersionPin,
    client: Client,
    want: Want,
) -> (ProbeResult, Vec<Finding>) {
    let r = run_probe(&opts(gw.port, pin, "/"), &pki.context(client)).await;
    let what = format!("{} {pin:?} {client:?}", gw.name);
    let saw = curl(cd, gw.port, "/", client, false, Some(curl_pin(pin)));
    match want {
        Want::Status(s) => {
            assert_eq!(r.http.as_ref().map(|h| h.status), Some(s), "{what}: {:?} {:?}", r.handshake, r.http_error);
            assert_eq!(saw.status, s, "{what}: curl {}", saw.stderr);
        }
        Want::Alert(a) => {
            assert_eq!(r.handshake.alert.as_deref(), Some(a), "{what}: {:?}", r.handshake);
            assert_eq!(saw.status, 0, "{what}: curl is refused too: {}", saw.stderr);
        }
    }
    let probes = [r];
    let findings = diagnose(&Observations::new(&probes));
    let [r] = probes;
    (r, findings)
}

/// The checks on a 403 that the rule answered over the certificate.
fn named_as_certificate_rejection(what: &str, findings: &[Finding], needle: &str) {
    let first = findings.first().unwrap_or_else(|| panic!("{what}: no findings"));
    assert_eq!(first.id.as_str(), "http-403-client-cert", "{what}:\n{}", summary(findings));
    assert_eq!(first.severity, Severity::Error, "{what}:\n{}", summary(findings));
    assert!(first.cause.contains(needle), "{what}: {needle:?} not in {}", first.cause);
    assert!(!findings.iter().any(|f| f.id.as_str() == "http-403-after-handshake"), "{what}:\n{}", summary(findings));
}

#[tokio::test]
async fn haproxy_ssl_c_rules_403_is_a_certificate_rejection() {
    let pki = GatewayPki::new();
    let cd = Dir::new();
    pki.write_client_files(&cd);
    let plain = haproxy(&pki, HAPROXY_OPTIONAL, HAPROXY_RULE);
    let ignore = haproxy(&pki, HAPROXY_OPTIONAL_IGNORE, HAPROXY_RULE);
    let h2 = haproxy(&pki, &format!("{HAPROXY_OPTIONAL_IGNORE} alpn h2,http/1.1"), HAPROXY_RULE);
    for pin in [TlsVersionPin::Tls12, TlsVersionPin::Tls13] {
        for gw in [&plain, &ignore] {
            let (_, f) = case(gw, &pki, &cd, pin, Client::Good, Want::Status(200)).await;
            assert!(!f.iter().any(|f| f.id.as_str() == "http-403-client-cert"), "{}", summary(&f));
            let (_, f) = case(gw, &pki, &cd, pin, Client::Missing, Want::Status(403)).await;
            named_as_certificate_rejection("haproxy missing", &f, "none was presented");
            assert!(f[0].evidence.iter().any(|e| e.contains("HAProxy's 403 page")), "{:?}", f[0].evidence);
        }
        // Without ca-ignore-err HAProxy refuses an untrusted certificate in the handshake itself.
        let (_, f) = case(&plain, &pki, &cd, pin, Client::Rogue, Want::Alert("unknown_ca")).await;
        assert_eq!(f.first().map(|f| f.id.as_str()), Some("gateway-rejected-client-cert"), "{}", summary(&f));
        // With it, the rule answers 403 and the issuer is not among the CA names listed.
        let (r, f) = case(&ignore, &pki, &cd, pin, Client::Rogue, Want::Status(403)).await;
        assert!(r.client_cert_sent);
        named_as_certificate_rejection("haproxy rogue", &f, "\"CN=Rogue Root");
        // Over HTTP/2 the same page and the same reading.
        let mut o = opts(h2.port, pin, "/");
        o.alpn = vec!["h2".into(), "http/1.1".into()];
        for client in [Client::Missing, Client::Rogue] {
            let r = run_probe(&o, &pki.context(client)).await;
            assert_eq!(r.http.as_ref().map(|h| (h.status, h.version.as_str())), Some((403, "HTTP/2")), "{client:?}");
            assert_eq!(curl(&cd, h2.port, "/", client, true, Some(curl_pin(pin))).status, 403);
            let f = diagnose(&Observations::new(std::slice::from_ref(&r)));
            named_as_certificate_rejection(
                "haproxy h2",
                &f,
                if client == Client::Missing { "none was presented" } else { "is not among them" },
            );
        }
        assert!(
            f[0].evidence.iter().any(|e| e == "the same request without the certificate: HTTP 403"),
            "{:?}",
            f[0].evidence
        );
    }
}

#[tokio::test]
async fn apache_ssl_client_verify_403_is_a_certificate_rejection() {
    let pki = GatewayPki::new();
    let cd = Dir::new();
    pki.write_client_files(&cd);
    let optional = apache(&pki, "http/1.1", &format!("SSLVerifyClient optional\n{APACHE_RULE}"));
    let no_ca = apache(&pki, "http/1.1", &format!("SSLVerifyClient optional_no_ca\n{APACHE_RULE}"));
    for pin in [TlsVersionPin::Tls12, TlsVersionPin::Tls13] {
        for gw in [&optional, &no_ca] {
            case(gw, &pki, &cd, pin, Client::Good, Want::Status(200)).await;
            let (_, f) = case(gw, &pki, &cd, pin, Client::Missing, Want::Status(403)).await;
            named_as_certificate_rejection("apache missing", &f, "none was presented");
            assert!(f[0].evidence.iter().any(|e| e.contains("Server: Apache/2.4")), "{:?}", f[0].evidence);
        }
        // `optional` refuses an untrusted certificate in the handshake (TLS 1.2 and 1.3 alike).
        let (_, f) = case(&optional, &pki, &cd, pin, Client::Rogue, Want::Alert("unknown_ca")).await;
        assert_eq!(f.first().map(|f| f.id.as_str()), Some("gateway-rejected-client-cert"), "{}", summary(&f));
        // `optional_no_ca` passes it on as FAILED, and the rule answers 403.
        let (_, f) = case(&no_ca, &pki, &cd, pin, Client::Rogue, Want::Status(403)).await;
        named_as_certificate_rejection("apache rogue", &f, "is not among them");
    }
}

/// A 403 that is not about the certificate: the good certificate (issuer listed) is refused by a
/// `Require all denied` on the path. The facts cannot tell, and the finding says so as a warning.
#[tokio::test]
async fn a_403_the_certificate_facts_cannot_explain_is_unknown() {
    let pki = GatewayPki::new();
    let cd = Dir::new();
    pki.write_client_files(&cd);
    let gw = apache(
        &pki,
        "http/1.1",
        "SSLVerifyClient optional\nSSLVerifyDepth 3\n<Location /secure>\n  Require all denied\n</Location>",
    );
    for pin in [TlsVersionPin::Tls12, TlsVersionPin::Tls13] {
        let r = run_probe(&opts(gw.port, pin, "/secure/"), &pki.context(Client::Good)).await;
        assert_eq!(r.http.as_ref().map(|h| h.status), Some(403), "{pin:?}: {:?}", r.handshake);
        assert!(r.client_cert_sent);
        let probes = [r];
        let findings = diagnose(&Observations::new(&probes));
        let f = findings.iter().find(|f| f.id.as_str() == "http-403-client-cert").expect("fires");
        assert_eq!(f.severity, Severity::Warning, "{}", summary(&findings));
        assert!(f.cause.contains("is unknown"), "{}", f.cause);
        assert!(f.cause.contains("is among the CA names the server listed"), "{}", f.cause);
        assert!(f.cause.contains("without the certificate it answered 403 as well"), "{}", f.cause);
        assert!(!findings.iter().any(|f| f.severity == Severity::Error), "{}", summary(&findings));
    }
}

/// A rule that refuses only a certificate that fails verification (`deny if { ssl_c_used }
/// !{ ssl_c_verify 0 }`): no certificate gets 200, the rogue one 403. The comparison probe shows the
/// certificate itself draws the 403.
#[tokio::test]
async fn a_403_only_with_the_certificate_is_read_from_the_comparison() {
    let pki = GatewayPki::new();
    let cd = Dir::new();
    pki.write_client_files(&cd);
    let gw = haproxy(&pki, HAPROXY_OPTIONAL_IGNORE, "  http-request deny if { ssl_c_used } !{ ssl_c_verify 0 }");
    for pin in [TlsVersionPin::Tls12, TlsVersionPin::Tls13] {
        case(&gw, &pki, &cd, pin, Client::Missing, Want::Status(200)).await;
        let (r, f) = case(&gw, &pki, &cd, pin, Client::Rogue, Want::Status(403)).await;
        let without = r.compare_without_cert.as_ref().and_then(|w| w.http.as_ref()).map(|h| h.status);
        assert_eq!(without, Some(200), "{pin:?}");
        named_as_certificate_rejection(
            "haproxy deny if failed",
            &f,
            "answered 200 without a certificate but 403 with this one",
        );
    }
}
