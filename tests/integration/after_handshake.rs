//! What happens after the handshake, against real peers: TLS 1.3 rejections over HTTP/2 reported by
//! alert name (Caddy / Go, Python ssl), hang-ups and resets named, a 200 whose body stalls kept, a
//! plain-HTTP answer named, and HTTP-level certificate rejections (HAProxy rules).

use mtls_doctor::probe::{run_probe, HttpFailureKind, ProbeOptions, TlsVersionPin};

use crate::gateways::{caddy, curl, haproxy, local_opts, python_server, Client, GatewayPki, PyMode};
use crate::util::Dir;

fn h2_opts(port: u16) -> ProbeOptions {
    let mut o = local_opts(port);
    o.alpn = vec!["h2".into(), "http/1.1".into()];
    o
}

/// Go refuses a missing or untrusted client certificate with bad_certificate, after its Finished in
/// TLS 1.3: over HTTP/2 the alert must still be named (not "http2 error").
#[tokio::test]
async fn caddy_require_and_verify_names_the_alert_over_h2_and_http11() {
    let pki = GatewayPki::new();
    let gw = caddy(&pki, "require_and_verify");
    let cd = Dir::new();
    pki.write_client_files(&cd);
    for alpn in [vec!["h2".to_string(), "http/1.1".into()], vec!["http/1.1".into()]] {
        for client in [Client::Missing, Client::Rogue] {
            let mut o = local_opts(gw.port);
            o.alpn = alpn.clone();
            o.compare_without_cert = false;
            let r = run_probe(&o, &pki.context(client)).await;
            assert_eq!(r.tls.version.as_deref(), Some("TLSv1.3"));
            assert!(r.client_cert_requested);
            assert!(!r.handshake.ok, "{alpn:?} {client:?}: {:?} {:?}", r.handshake, r.http_error);
            assert!(r.handshake.rejected_after_handshake);
            assert_eq!(
                r.handshake.alert.as_deref(),
                Some("bad_certificate"),
                "{alpn:?} {client:?}: {:?}",
                r.http_error
            );
            assert!(r.http_error.is_none() && r.http.is_none());
            // curl is refused too and, when it reads the alert, names the same one; it can lose it
            // to the reset its own writes provoke ("getpeername() failed", "Connection reset"),
            // which is the very thing the probe must not do.
            let saw = curl(&cd, gw.port, "/", client, alpn.len() == 2, None);
            assert_eq!(saw.status, 0, "{}", saw.stderr);
            if saw.stderr.contains("alert") {
                assert!(saw.stderr.contains("bad certificate"), "curl sees the same alert: {}", saw.stderr);
            }
        }
        let mut o = local_opts(gw.port);
        o.alpn = alpn.clone();
        let r = run_probe(&o, &pki.context(Client::Good)).await;
        let want = if alpn.len() == 2 { "HTTP/2" } else { "HTTP/1.1" };
        assert_eq!(r.http.as_ref().map(|h| (h.status, h.version.as_str())), Some((200, want)));
    }
}

#[tokio::test]
async fn python_tls13_rejection_after_finished_is_named_over_h2_offer() {
    let pki = GatewayPki::new();
    let gw = python_server(&pki, PyMode::Require13);
    let mut o = h2_opts(gw.port);
    o.compare_without_cert = false;
    let r = run_probe(&o, &pki.context(Client::Rogue)).await;
    assert!(r.handshake.rejected_after_handshake, "{:?} {:?}", r.handshake, r.http_error);
    assert_eq!(r.handshake.alert.as_deref(), Some("unknown_ca"), "{:?}", r.handshake);
}

#[tokio::test]
async fn hang_up_and_reset_after_the_request_are_named() {
    let pki = GatewayPki::new();
    for (mode, want) in [
        (PyMode::HangUpAfterRequest, HttpFailureKind::ClosedBeforeResponse),
        (PyMode::ResetAfterRequest, HttpFailureKind::ResetAfterRequest),
    ] {
        let gw = python_server(&pki, mode);
        for pin in [TlsVersionPin::Tls12, TlsVersionPin::Tls13] {
            let mut o = local_opts(gw.port);
            o.tls_version = Some(pin);
            let r = run_probe(&o, &pki.context(Client::Missing)).await;
            assert!(r.handshake.ok, "{mode:?} {pin:?}: {:?}", r.handshake);
            assert_eq!(
                r.http_failure.as_ref(),
                Some(&want),
                "{mode:?} {pin:?}: {:?} {:?}",
                r.http_error,
                r.http_error_chain
            );
            assert!(r.http.is_none());
            let text = mtls_doctor::report::probe_text(&r);
            assert!(text.contains(&format!("HTTP ended  {want}")), "{text}");
        }
    }
}

#[tokio::test]
async fn a_200_whose_body_stalls_keeps_its_status() {
    let pki = GatewayPki::new();
    let gw = python_server(&pki, PyMode::DripBody);
    let mut o = local_opts(gw.port);
    o.timeouts.http_ms = 2_500;
    let r = run_probe(&o, &pki.context(Client::Missing)).await;
    let http = r.http.as_ref().unwrap_or_else(|| panic!("the head arrived: {:?} {:?}", r.http_error, r.http_failure));
    assert_eq!(http.status, 200);
    assert!(http.body_timed_out, "{http:?}");
    assert!(http.body_preview.starts_with('d'), "{http:?}");
    // The view says so, and the diagnosis does not call a stalled 200 an error.
    let text = mtls_doctor::report::probe_text(&r);
    assert!(text.contains("Body        HTTP 200 arrived, then the body stalled"), "{text}");
    let probes = [r];
    let findings = mtls_doctor::diagnose::diagnose(&mtls_doctor::diagnose::Observations::new(&probes));
    assert!(!mtls_doctor::diagnose::has_errors(&findings), "{findings:?}");
}

/// The peer closes after 10 of the 1000 bytes its Content-Length promised: the body is truncated,
/// and the report says how much arrived of how much.
#[tokio::test]
async fn a_body_cut_short_by_the_peer_is_reported_truncated() {
    let pki = GatewayPki::new();
    let gw = python_server(&pki, PyMode::ShortBody);
    let o = local_opts(gw.port);
    let r = run_probe(&o, &pki.context(Client::Missing)).await;
    let http = r.http.as_ref().unwrap_or_else(|| panic!("the head arrived: {:?} {:?}", r.http_error, r.http_failure));
    assert_eq!(http.status, 200);
    assert_eq!(http.body_preview, "0123456789");
    assert!(http.body_truncated, "{http:?}");
    assert_eq!((http.body_bytes_received, http.content_length), (10, Some(1000)), "{http:?}");
    let json = serde_json::to_value(http).expect("serialize");
    assert_eq!(json["body_truncated"], true);
    assert_eq!(json["body_bytes_received"], 10);
    assert_eq!(json["content_length"], 1000);
    let text = mtls_doctor::report::probe_text(&r);
    assert!(text.contains("Body        cut short by the server: 10 of 1000 bytes (Content-Length)"), "{text}");
}

#[tokio::test]
async fn a_plain_http_answer_on_the_tls_port_is_named() {
    let pki = GatewayPki::new();
    let gw = python_server(&pki, PyMode::PlainHttp);
    let r = run_probe(&local_opts(gw.port), &pki.context(Client::Missing)).await;
    assert!(!r.handshake.ok);
    assert!(r.plain_http_reply, "{:?}", r.handshake);
    let text = mtls_doctor::report::probe_text(&r);
    assert!(text.contains("Plain HTTP  the server answered in plain HTTP"), "{text}");
    let probes = [r];
    let findings = mtls_doctor::diagnose::diagnose(&mtls_doctor::diagnose::Observations::new(&probes));
    assert_eq!(findings.first().map(|f| f.id.as_str()), Some("gateway-plain-http-on-tls-port"), "{findings:?}");
}

/// HAProxy with `verify optional`: the handshake passes and `ssl_c_*` rules answer 403; over h2 too.
#[tokio::test]
async fn haproxy_rules_answer_403_over_h2_and_http11() {
    let pki = GatewayPki::new();
    let gw = haproxy(
        &pki,
        "verify optional ca-file {DIR}/client-ca.pem crt-ignore-err all ca-ignore-err all alpn h2,http/1.1",
        "  http-request deny deny_status 403 if !{ ssl_c_used } || !{ ssl_c_verify 0 }",
    );
    let cd = Dir::new();
    pki.write_client_files(&cd);
    for client in Client::ALL {
        for h2 in [true, false] {
            let mut o = local_opts(gw.port);
            if h2 {
                o.alpn = vec!["h2".into(), "http/1.1".into()];
            }
            let r = run_probe(&o, &pki.context(client)).await;
            assert!(r.handshake.ok && r.client_cert_requested, "{client:?} h2={h2}: {:?}", r.handshake);
            let want = if client == Client::Good { 200 } else { 403 };
            assert_eq!(r.http.as_ref().map(|h| h.status), Some(want), "{client:?} h2={h2}");
            assert_eq!(curl(&cd, gw.port, "/", client, h2, None).status, want);
        }
    }
}

/// nginx never alerts: an untrusted certificate gets 400 "The SSL certificate error", and a missing
/// one 400 "No required SSL certificate was sent". Outbound, both are errors (exit 1), never two
/// warnings and exit 0.
#[tokio::test]
async fn nginx_400_certificate_rejections_are_errors() {
    use mtls_doctor::diagnose::{diagnose, has_errors, Observations};
    use mtls_doctor::probe::ProbeRole;
    assert!(crate::peers::nginx_binary().is_some(), "nginx is required: apt-get install -y nginx (.ci/run does this)");
    let pki = GatewayPki::new();
    let ndir = Dir::new();
    pki.write_server_files(&ndir);
    let d = ndir.tmp.path().display().to_string();
    let site = format!(
        "server {{\n listen 127.0.0.1:{{PORT}} ssl;\n ssl_protocols TLSv1.2 TLSv1.3;\n ssl_certificate {d}/server.pem;\n \
         ssl_certificate_key {d}/server.key;\n ssl_client_certificate {d}/client-ca.pem;\n ssl_verify_client on;\n \
         ssl_verify_depth 3;\n location / {{ return 200 \"ok\\n\"; }}\n}}\n"
    );
    let peer = crate::peers::nginx(&ndir.path("run"), &site);
    for (client, page, id) in [
        (Client::Rogue, "The SSL certificate error", "gateway-rejected-client-cert"),
        (Client::Missing, "No required SSL certificate was sent", "backend-requires-client-cert"),
    ] {
        let mut o = local_opts(peer.port);
        o.role = ProbeRole::Outbound;
        let r = run_probe(&o, &pki.context(client)).await;
        let http = r.http.as_ref().expect("nginx answers HTTP");
        assert_eq!(http.status, 400);
        assert!(http.body_preview.contains(page), "{}", http.body_preview);
        let probes = [r];
        let findings = diagnose(&Observations::new(&probes));
        assert_eq!(findings.first().map(|f| f.id.as_str()), Some(id), "{client:?}: {findings:?}");
        assert!(has_errors(&findings), "{client:?}: an outbound 400 from nginx is an error");
    }
}

/// Apache asking during the handshake (server level): `require` with `SSLCADNRequestFile` listing
/// only the root, and `optional` passing the verdict to `SSLRequire`-style rules. The probe's CA
/// names are the ones Apache sent; no late request is reported.
#[tokio::test]
async fn apache_server_level_require_and_optional() {
    use crate::gateways::apache;
    let pki = GatewayPki::new();
    let cd = Dir::new();
    pki.write_client_files(&cd);
    let gw = apache(
        &pki,
        "h2 http/1.1",
        "SSLVerifyClient require\nSSLVerifyDepth 3\nSSLCADNRequestFile {DIR}/client-root.pem",
    );
    for pin in [TlsVersionPin::Tls12, TlsVersionPin::Tls13] {
        for client in Client::ALL {
            let mut o = h2_opts(gw.port);
            o.tls_version = Some(pin);
            o.compare_without_cert = false;
            let r = run_probe(&o, &pki.context(client)).await;
            assert!(r.client_cert_requested, "{pin:?} {client:?}");
            assert_eq!(r.acceptable_ca_names, vec!["CN=Gateway Client Root, O=mtls-doctor lab".to_string()]);
            assert!(r.late_cert_request.is_none() && r.late_auth.is_empty());
            let saw =
                curl(&cd, gw.port, "/", client, true, Some(if pin == TlsVersionPin::Tls12 { "1.2" } else { "1.3" }));
            match client {
                Client::Good => {
                    assert_eq!(r.http.as_ref().map(|h| h.status), Some(200), "{pin:?}: {:?}", r.http_error);
                    assert_eq!(saw.status, 200);
                }
                _ => {
                    assert!(!r.handshake.ok, "{pin:?} {client:?}");
                    assert_eq!(r.handshake.rejected_after_handshake, pin == TlsVersionPin::Tls13);
                    // Always the alert by name, TLS 1.2 too: Apache's alert arrives before the
                    // reset that the rest of our flight provokes, and the probe reads it
                    // (records::read_past_write_resets) instead of stopping at the failed write.
                    let want = if client == Client::Missing { "handshake_failure" } else { "unknown_ca" };
                    let want = if pin == TlsVersionPin::Tls13 && client == Client::Missing {
                        "certificate_required"
                    } else {
                        want
                    };
                    assert_eq!(r.handshake.alert.as_deref(), Some(want), "{pin:?} {client:?}: {:?}", r.handshake);
                    assert_eq!(saw.status, 0, "curl is refused too: {}", saw.stderr);
                }
            }
        }
    }
    // The case that used to flake: repeated, every run must name the alert.
    for i in 0..10 {
        let mut o = local_opts(gw.port);
        o.tls_version = Some(TlsVersionPin::Tls12);
        o.compare_without_cert = false;
        let r = run_probe(&o, &pki.context(Client::Rogue)).await;
        assert_eq!(r.handshake.alert.as_deref(), Some("unknown_ca"), "run {i}: {:?}", r.handshake);
    }
    drop(gw);
    let gw = apache(
        &pki,
        "http/1.1",
        "SSLVerifyClient optional\nSSLVerifyDepth 3\n<Location />\n  <RequireAll>\n    Require expr %{SSL_CLIENT_VERIFY} == 'SUCCESS'\n  </RequireAll>\n</Location>",
    );
    for (client, want) in [(Client::Good, 200), (Client::Missing, 403)] {
        let r = run_probe(&local_opts(gw.port), &pki.context(client)).await;
        assert!(r.client_cert_requested);
        assert_eq!(r.http.as_ref().map(|h| h.status), Some(want), "{client:?}: {:?} {:?}", r.handshake, r.http_error);
        assert_eq!(curl(&cd, gw.port, "/", client, false, None).status, want);
    }
}

/// Caddy `request`: asks, accepts anything, answers 200 either way.
#[tokio::test]
async fn caddy_request_mode_asks_and_accepts_anything() {
    let pki = GatewayPki::new();
    let gw = caddy(&pki, "request");
    for client in Client::ALL {
        let r = run_probe(&h2_opts(gw.port), &pki.context(client)).await;
        assert!(r.client_cert_requested, "{client:?}");
        assert_eq!(r.http.as_ref().map(|h| (h.status, h.version.as_str())), Some((200, "HTTP/2")), "{client:?}");
    }
}
