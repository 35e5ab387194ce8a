//! The gateway harness itself: each real server starts, answers curl as configured, and stops.
//! The probe's behaviour against them is tested in `late_auth` and `after_handshake`.

use crate::gateways::{apache, caddy, curl, haproxy, python_server, s_server, Client, GatewayPki, PyMode};
use crate::util::Dir;

fn client_dir(pki: &GatewayPki) -> Dir {
    let d = Dir::new();
    pki.write_client_files(&d);
    d
}

#[test]
fn apache_location_require_answers_curl_after_renegotiation() {
    let pki = GatewayPki::new();
    let gw = apache(&pki, "http/1.1", "<Location /secure>\n  SSLVerifyClient require\n  SSLVerifyDepth 3\n</Location>");
    let cd = client_dir(&pki);
    assert_eq!(curl(&cd, gw.port, "/", Client::Missing, false, None).status, 200, "{}", gw.log());
    let saw = curl(&cd, gw.port, "/secure/", Client::Good, false, Some("1.2"));
    assert_eq!(saw.status, 200, "{} {}", saw.stderr, gw.log());
    let saw = curl(&cd, gw.port, "/secure/", Client::Missing, false, Some("1.2"));
    assert_ne!(saw.status, 200, "{} {}", saw.stderr, gw.log());
}

#[test]
fn haproxy_verify_optional_lets_rules_answer_403() {
    let pki = GatewayPki::new();
    let gw = haproxy(
        &pki,
        "verify optional ca-file {DIR}/client-ca.pem crt-ignore-err all ca-ignore-err all alpn h2,http/1.1",
        "  http-request deny deny_status 403 if !{ ssl_c_used } || !{ ssl_c_verify 0 }",
    );
    let cd = client_dir(&pki);
    assert_eq!(curl(&cd, gw.port, "/", Client::Good, true, None).status, 200, "{}", gw.log());
    assert_eq!(curl(&cd, gw.port, "/", Client::Missing, true, None).status, 403);
    assert_eq!(curl(&cd, gw.port, "/", Client::Rogue, false, None).status, 403);
}

#[test]
fn caddy_require_and_verify_refuses_missing_and_rogue() {
    let pki = GatewayPki::new();
    let gw = caddy(&pki, "require_and_verify");
    let cd = client_dir(&pki);
    let saw = curl(&cd, gw.port, "/", Client::Good, false, None);
    assert_eq!(saw.status, 200, "{} {}", saw.stderr, gw.log());
    assert_eq!(curl(&cd, gw.port, "/", Client::Missing, false, None).status, 0);
    assert_eq!(curl(&cd, gw.port, "/", Client::Rogue, false, None).status, 0);
}

#[test]
fn python_and_s_server_variants_start() {
    let pki = GatewayPki::new();
    let cd = client_dir(&pki);
    let gw = python_server(&pki, PyMode::Require13);
    assert_eq!(curl(&cd, gw.port, "/", Client::Good, false, None).status, 200, "{}", gw.log());
    let gw = python_server(&pki, PyMode::PlainHttp);
    assert_eq!(curl(&cd, gw.port, "/", Client::Good, false, None).status, 0);
    let gw =
        s_server(&pki, &["-Verify", "1", "-verify_return_error", "-CAfile", "{DIR}/client-ca.pem", "-no_ca_names"]);
    assert_eq!(curl(&cd, gw.port, "/", Client::Good, false, None).status, 200, "{}", gw.log());
}
