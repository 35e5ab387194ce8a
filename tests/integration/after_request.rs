//! A peer that reads the request and then closes or resets without answering, against real Python
//! `ssl` servers: the `closed-after-request` finding in both roles, the TLS 1.3 late (PHA) re-run
//! that a drop after the request starts, and the TUI timeline lines for what happened after the
//! handshake, in the words of the text report.

use mtls_doctor::diagnose::{diagnose, Finding, Observations, Severity, Symptom};
use mtls_doctor::probe::late::LateMethod;
use mtls_doctor::probe::{run_probe, HttpFailureKind, ProbeOptions, ProbeResult, ProbeRole, TlsVersionPin};
use mtls_doctor::session::{Session, TargetKind, TargetRun};
use mtls_doctor::tui::timeline::{steps, StepStatus};
use mtls_doctor::tui::view::render_text;
use mtls_doctor::tui::{App, Theme};

use crate::gateways::{local_opts, python_server, s_client_pha, Client, GatewayPki, PyMode};
use crate::util::Dir;

fn opts(port: u16, pin: TlsVersionPin, role: ProbeRole) -> ProbeOptions {
    let mut o = local_opts(port);
    o.tls_version = Some(pin);
    o.role = role;
    o
}

fn summary(findings: &[Finding]) -> String {
    findings.iter().map(|f| format!("{} {:?}: {}\n", f.id, f.severity, f.cause)).collect()
}

fn findings_of(r: &ProbeResult) -> Vec<Finding> {
    diagnose(&Observations::new(std::slice::from_ref(r)))
}

/// The Handshake pane of the TUI for one probe, as text.
fn timeline_text(r: &ProbeResult) -> String {
    let target = TargetRun {
        name: "after-request".into(),
        kind: TargetKind::Probe,
        probe: Some(r.clone()),
        findings: findings_of(r),
        ..TargetRun::default()
    };
    let app = App::new(Session::new(vec![target]));
    let theme = Theme::load_with_colour(Some("dark")).expect("dark theme");
    render_text(&app, &theme, 200, 60)
}

/// Hang-up and reset after the request, TLS 1.2 and 1.3, inbound and outbound: a named finding
/// (never "connection error"), an error, the first finding, with the HTTP-level reading (the
/// handshake accepted the connection) and what it means on each gateway family.
#[tokio::test]
async fn a_peer_that_drops_the_request_gets_a_named_finding_in_both_roles() {
    let pki = GatewayPki::new();
    for (mode, kind, words) in [
        (PyMode::HangUpAfterRequest, HttpFailureKind::ClosedBeforeResponse, "closed the connection"),
        (PyMode::ResetAfterRequest, HttpFailureKind::ResetAfterRequest, "reset the connection (TCP RST)"),
    ] {
        let gw = python_server(&pki, mode);
        for pin in [TlsVersionPin::Tls12, TlsVersionPin::Tls13] {
            for role in [ProbeRole::Inbound, ProbeRole::Outbound] {
                let what = format!("{mode:?} {pin:?} {role:?}");
                let r = run_probe(&opts(gw.port, pin, role), &pki.context(Client::Missing)).await;
                assert_eq!(r.http_failure.as_ref(), Some(&kind), "{what}: {:?}", r.http_error);
                let findings = findings_of(&r);
                let f = findings.first().unwrap_or_else(|| panic!("{what}: no findings"));
                assert_eq!(f.id.as_str(), "closed-after-request", "{what}:\n{}", summary(&findings));
                assert_eq!(f.severity, Severity::Error, "{what}");
                let symptom = if role == ProbeRole::Outbound { Symptom::BadGateway502 } else { Symptom::Tls };
                assert_eq!(f.symptom, symptom, "{what}");
                assert!(f.cause.contains(words), "{what}: {}", f.cause);
                assert!(f.cause.contains("something at the HTTP level dropped it"), "{what}: {}", f.cause);
                assert!(!f.cause.contains("connection error"), "{what}: {}", f.cause);
                assert!(
                    f.fix.iter().any(|l| l.starts_with("HAProxy:")) && f.fix.iter().any(|l| l.starts_with("nginx:"))
                );
                assert_eq!(
                    f.fix.iter().any(|l| l.contains("answers 502")),
                    role == ProbeRole::Outbound,
                    "{what}: {:?}",
                    f.fix
                );
                let version = if pin == TlsVersionPin::Tls12 { "TLSv1.2" } else { "TLSv1.3" };
                assert!(f.evidence[0].starts_with(&format!("{version} (")), "{what}: {:?}", f.evidence);
                // Nothing asked for a certificate, so no late re-run either (TLS 1.2 cannot PHA; on
                // TLS 1.3 the re-runs run, find nothing asked, and the reading stays unknown).
                if pin == TlsVersionPin::Tls13 && role == ProbeRole::Inbound {
                    assert_eq!(r.late_auth.len(), 2, "{what}: {:?}", r.late_auth);
                    assert!(r.late_auth.iter().all(|l| !l.late_request_seen), "{what}: {:?}", r.late_auth);
                }
                // The TUI's Handshake pane says it in the text report's words.
                let pane = timeline_text(&r);
                assert!(pane.contains(&format!("HTTP ended  {kind}")), "{what}:\n{pane}");
                let text = mtls_doctor::report::probe_text(&r);
                assert!(text.contains(&format!("HTTP ended  {kind}")), "{what}:\n{text}");
            }
        }
    }
}

/// TLS 1.3 server that asks for the certificate only through post-handshake authentication: rustls
/// does not offer PHA, Python's `verify_client_post_handshake` then fails and the server closes
/// without answering. The drop starts the late re-run, which offers PHA and gets 200 with the
/// certificate, as `openssl s_client -enable_pha` does; the late finding comes first and the
/// drop is explained by it. The TUI timeline shows the re-runs.
#[tokio::test]
async fn a_drop_after_the_request_on_tls13_starts_the_pha_rerun() {
    let pki = GatewayPki::new();
    let gw = python_server(&pki, PyMode::PostHandshake);
    let mut o = opts(gw.port, TlsVersionPin::Tls13, ProbeRole::Inbound);
    o.alpn = vec!["http/1.1".into()];
    let r = run_probe(&o, &pki.context(Client::Good)).await;
    assert!(r.handshake.ok && !r.client_cert_requested, "{:?}", r.handshake);
    assert!(
        matches!(r.http_failure, Some(HttpFailureKind::ClosedBeforeResponse | HttpFailureKind::ResetAfterRequest)),
        "{:?} {:?}\n{}",
        r.http_failure,
        r.http,
        gw.log()
    );
    assert!(gw.log().contains("connection ended"), "the server's PHA call failed:\n{}", gw.log());
    let how: Vec<_> = r.late_auth.iter().map(|l| l.how).collect();
    assert_eq!(how, vec![LateMethod::Pha, LateMethod::Renegotiation], "{:?}", r.late_auth);
    let pha = &r.late_auth[0];
    assert!(pha.late_request_seen, "{pha:?}");
    assert_eq!(pha.http_status, Some(200), "{pha:?}\n{}", gw.log());
    assert!(pha.body_preview.contains("client one"), "{pha:?}");
    let cd = Dir::new();
    pki.write_client_files(&cd);
    let out = s_client_pha(&cd, gw.port, "/", Client::Good, "-tls1_3");
    assert_eq!(crate::gateways::http_status_in(&out), Some(200), "{out}");

    let findings = findings_of(&r);
    assert_eq!(findings.first().map(|f| f.id.as_str()), Some("gateway-requested-cert-late"), "{}", summary(&findings));
    let dropped = findings.iter().find(|f| f.id.as_str() == "closed-after-request").expect("the drop is named");
    assert_eq!(dropped.severity, Severity::Warning, "the late finding is the error");
    assert!(dropped.cause.contains("wanted the client certificate after the handshake"), "{}", dropped.cause);
    assert!(dropped.cause.contains("the re-run that answered the late request got HTTP 200"), "{}", dropped.cause);

    let tl = steps(&r, false);
    let reruns: Vec<_> = tl.iter().filter(|s| s.name == "Re-run").collect();
    assert_eq!(reruns.len(), 2, "{tl:?}");
    assert_eq!(reruns[0].status, StepStatus::Ok, "{:?}", reruns[0]);
    assert_eq!(reruns[0].detail, mtls_doctor::text::rerun_text(pha));
    assert_eq!(reruns[1].status, StepStatus::Warn, "{:?}", reruns[1]);
    let pane = timeline_text(&r);
    assert!(
        pane.contains("Re-run      TLS 1.3 post-handshake authentication with the certificate: asked late"),
        "{pane}"
    );
}

/// The other after-the-handshake facts in the TUI timeline: a plain-HTTP reply, a stalled body.
#[tokio::test]
async fn the_timeline_shows_plain_http_and_a_stalled_body_in_the_reports_words() {
    let pki = GatewayPki::new();
    let gw = python_server(&pki, PyMode::PlainHttp);
    let r = run_probe(&local_opts(gw.port), &pki.context(Client::Missing)).await;
    assert!(r.plain_http_reply);
    let pane = timeline_text(&r);
    assert!(pane.contains("Plain HTTP  the server answered in plain HTTP, not TLS, on this port"), "{pane}");
    let gw = python_server(&pki, PyMode::DripBody);
    let mut o = local_opts(gw.port);
    o.timeouts.http_ms = 2_500;
    let r = run_probe(&o, &pki.context(Client::Missing)).await;
    assert!(r.http.as_ref().is_some_and(|h| h.body_timed_out), "{:?}", r.http);
    let pane = timeline_text(&r);
    assert!(pane.contains("Body        HTTP 200 arrived, then the body stalled"), "{pane}");
    let text = mtls_doctor::report::probe_text(&r);
    assert!(text.contains("Body        HTTP 200 arrived, then the body stalled"), "{text}");
}

/// HAProxy `http-request reject` on the certificate (`verify optional`, untrusted certificates let
/// through to the rules): a rogue certificate gets the connection closed without a response, no
/// certificate gets 200. The comparison probe shows that the certificate draws the drop; curl is
/// refused the same way.
#[tokio::test]
async fn haproxy_reject_on_the_certificate_is_read_from_the_comparison() {
    let pki = GatewayPki::new();
    let cd = Dir::new();
    pki.write_client_files(&cd);
    let gw = crate::gateways::haproxy(
        &pki,
        "verify optional ca-file {DIR}/client-ca.pem crt-ignore-err all ca-ignore-err all",
        "  http-request reject if { ssl_c_used } !{ ssl_c_verify 0 }",
    );
    for pin in [TlsVersionPin::Tls12, TlsVersionPin::Tls13] {
        let what = format!("{pin:?}");
        let r = run_probe(&opts(gw.port, pin, ProbeRole::Inbound), &pki.context(Client::Rogue)).await;
        assert!(r.handshake.ok && r.client_cert_sent, "{what}: {:?}", r.handshake);
        assert!(
            matches!(r.http_failure, Some(HttpFailureKind::ClosedBeforeResponse | HttpFailureKind::ResetAfterRequest)),
            "{what}: {:?} {:?}",
            r.http_failure,
            r.http
        );
        let without = r.compare_without_cert.as_ref().expect("compared without the certificate");
        assert_eq!(without.http.as_ref().map(|h| h.status), Some(200), "{what}");
        let saw = crate::gateways::curl(
            &cd,
            gw.port,
            "/",
            Client::Rogue,
            false,
            Some(if pin == TlsVersionPin::Tls12 { "1.2" } else { "1.3" }),
        );
        assert_eq!(saw.status, 0, "{what}: curl gets no response either: {}", saw.stderr);
        assert_eq!(crate::gateways::curl(&cd, gw.port, "/", Client::Missing, false, None).status, 200);
        let findings = findings_of(&r);
        let f = findings.iter().find(|f| f.id.as_str() == "closed-after-request").expect("fires");
        assert_eq!(f.severity, Severity::Error);
        assert!(f.cause.contains("answered HTTP 200 to the same request without it"), "{what}: {}", f.cause);
        assert!(f.cause.contains("it is the certificate that makes it hang up"), "{what}: {}", f.cause);
        assert!(
            f.evidence.iter().any(|e| e == "the same request without the certificate: HTTP 200"),
            "{:?}",
            f.evidence
        );
    }
}
