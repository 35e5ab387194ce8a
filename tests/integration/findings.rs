//! Every finding id in the catalog fired from real observations (lab probes, openssl s_server peers,
//! generated certificates, policy files, az-shaped exports), and none of them on the healthy path.
//!
//! Each id has a test named `fires_<id with underscores>`; `every_catalog_id_has_a_firing_test` lists
//! the tests of this binary and fails when an id has none, so a new catalog entry cannot go untested.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mtls_doctor::diagnose::catalog::{self, CATALOG};
use mtls_doctor::diagnose::{Finding, FindingId, Severity, Symptom};
use mtls_doctor::engine;
use mtls_doctor::lab::{backend_host, Lab, LabFiles, LabPki, HOST_DEFAULT, HOST_NEGOTIATE, HOST_NO_NEGOTIATE};
use mtls_doctor::pki::{Issued, Spec};
use mtls_doctor::policy::thumbprint_literal_snippet;
use mtls_doctor::probe::{ProbeOptions, ProbeRole, Timeouts, TlsVersionPin};
use mtls_doctor::session::{MaterialRefs, PasswordRef, TargetKind, TargetRun};
use mtls_doctor::verify::Role;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::peers::{free_port, s_server};
use crate::util::Dir;

/// Upper bound for one test, whatever hangs.
const TEST_LIMIT: Duration = Duration::from_secs(90);

async fn bounded<F: Future<Output = ()>>(test: F) {
    tokio::time::timeout(TEST_LIMIT, test).await.expect("test did not finish within its time limit");
}

fn timeouts() -> Timeouts {
    Timeouts { dns_ms: 2_000, connect_ms: 2_000, tls_ms: 5_000, http_ms: 5_000, settle_ms: 1_000 }
}

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

// ---------------------------------------------------------------------------------------------------
// Running targets the way the CLI does: engine::load, then engine::run_probe_target / run_inspect_target.

fn refs() -> MaterialRefs {
    MaterialRefs { password: PasswordRef::None, ..MaterialRefs::default() }
}

async fn probe(options: ProbeOptions, material: MaterialRefs) -> TargetRun {
    let loaded = engine::load(&material).expect("material loads");
    let run = engine::run_probe_target(engine::probe_target(options, material), &loaded).await;
    assert!(run.error.is_none(), "target error: {:?}", run.error);
    assert!(run.probe.is_some());
    run
}

fn inspect(files: &[&Path], role: Role, material: MaterialRefs) -> TargetRun {
    let loaded = engine::load(&material).expect("material loads");
    let run = TargetRun {
        name: "inspect".into(),
        kind: TargetKind::Inspect,
        files: files.iter().map(|p| s(p)).collect(),
        material,
        ..TargetRun::default()
    };
    engine::run_inspect_target(run, role, None, &loaded).expect("inspect runs")
}

/// A probe of `host` (SNI and Host) on port 443, dialled at `addr`, like curl's `--connect-to`.
fn options(role: ProbeRole, host: &str, addr: std::net::SocketAddr, path: &str) -> ProbeOptions {
    let mut o = ProbeOptions::new(host, 443);
    o.role = role;
    o.connect_to = Some(addr.to_string());
    o.path = path.to_string();
    o.timeouts = timeouts();
    o
}

/// The id a test names by its string, as reports spell it; a typo fails here rather than passing as "absent".
fn id(s: &str) -> FindingId {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

fn summary(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("  {} [{}] {:?}: {}", f.id, f.severity.as_str(), f.subject, f.evidence.join(" | ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The finding `id` with the expected severity and symptom, and the shape every finding must have.
fn fires<'a>(run: &'a TargetRun, id: &str, severity: Severity, symptom: Symptom) -> &'a Finding {
    let entry = catalog::entry(self::id(id));
    let f = run
        .findings
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("{id} did not fire; findings:\n{}", summary(&run.findings)));
    assert_eq!(f.severity, severity, "{id} severity; findings:\n{}", summary(&run.findings));
    assert_eq!(f.symptom, symptom, "{id} symptom");
    assert_eq!(f.guide, entry.guide, "{id} guide");
    assert!(!f.title.is_empty() && !f.cause.is_empty(), "{id}: title and cause: {f:?}");
    assert!(!f.fix.is_empty(), "{id}: no fix steps");
    assert!(!f.evidence.is_empty(), "{id}: no evidence");
    assert!(f.subject.is_some(), "{id}: no subject");
    // Most likely first: errors before warnings before info, then root causes before symptoms.
    let order: Vec<_> = run.findings.iter().map(|f| (f.severity, catalog::rank(f.id))).collect();
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "findings out of order:\n{}", summary(&run.findings));
    f
}

/// Some evidence line contains `needle`.
fn quotes(f: &Finding, needle: &str) {
    assert!(
        f.evidence.iter().any(|e| e.contains(needle)),
        "{}: no evidence line contains {needle:?}: {:#?}",
        f.id,
        f.evidence
    );
}

fn absent(run: &TargetRun, id: &str) {
    let _ = self::id(id);
    assert!(!run.findings.iter().any(|f| f.id == id), "{id} fired unexpectedly:\n{}", summary(&run.findings));
}

// ---------------------------------------------------------------------------------------------------
// Environments: the in-process lab, openssl peers, az-shaped exports.

struct LabEnv {
    lab: Lab,
    files: LabFiles,
    dir: Dir,
}

impl LabEnv {
    async fn start() -> LabEnv {
        let lab = Lab::start().await.expect("lab starts");
        let dir = Dir::new();
        let files = lab.write_material(&dir.path("lab")).expect("lab material");
        LabEnv { lab, files, dir }
    }

    fn pki(&self) -> &LabPki {
        self.lab.pki()
    }

    fn inbound(&self, host: &str, path: &str) -> ProbeOptions {
        options(ProbeRole::Inbound, host, self.lab.gateway_addr(), path)
    }

    fn outbound(&self, backend: &str) -> ProbeOptions {
        let addr = self.lab.backend_addr(backend).expect("lab backend");
        options(ProbeRole::Outbound, &backend_host(backend), addr, "/")
    }

    /// Trusting the lab's server root (what a client of the gateway, or the gateway itself, trusts).
    fn trusting(&self) -> MaterialRefs {
        MaterialRefs { ca: vec![s(&self.files.server_root)], ..refs() }
    }

    fn client(&self, pair: &mtls_doctor::lab::CertKeyFiles) -> MaterialRefs {
        MaterialRefs { cert: Some(s(&pair.cert)), key: Some(s(&pair.key)), ..self.trusting() }
    }

    /// The good client with the gateway's uploaded CA certificates (for Verify()).
    fn good_client(&self) -> MaterialRefs {
        MaterialRefs { client_ca: vec![s(&self.files.client_ca)], ..self.client(&self.files.client_good) }
    }

    fn write_policy(&self, name: &str, xml: &str) -> String {
        s(&self.dir.write(name, xml))
    }

    /// An az-shaped fixture, with the lab's real certificate values filled in.
    fn azure(&self, name: &str) -> String {
        let pki = self.pki();
        azure_fixture(&self.dir, name, pki)
    }
}

fn azure_fixture(dir: &Dir, name: &str, pki: &LabPki) -> String {
    let info = |i: &Issued| mtls_doctor::cert::Certificate::from_der(i.der.clone(), "lab").expect("lab cert").info;
    let root = info(&pki.client_root);
    let outbound = info(&pki.gateway_outbound);
    let good = info(&pki.client_good);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/azure-findings").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = text
        .replace("${CLIENT_ROOT_THUMBPRINT}", &root.thumbprint_sha1)
        .replace("${CLIENT_ROOT_EXPIRY}", &root.not_after)
        .replace("${GATEWAY_OUTBOUND_THUMBPRINT}", &outbound.thumbprint_sha1)
        .replace("${GATEWAY_OUTBOUND_EXPIRY}", &outbound.not_after)
        .replace("${CLIENT_GOOD_SUBJECT}", &good.subject);
    assert!(!text.contains("${"), "{name}: unknown placeholder left");
    s(&dir.write(name, text))
}

/// A server PKI for openssl peers: root, issuing CA, and leaves for `localhost`.
struct PeerPki {
    dir: Dir,
    issuing: Issued,
}

impl PeerPki {
    fn new() -> PeerPki {
        let dir = Dir::new();
        let root = Issued::self_signed(&Spec::ca("Findings Server Root")).expect("root");
        let issuing = root.issue(&Spec::ca("Findings Server Issuing CA")).expect("issuing");
        dir.write("server-root.pem", root.cert_pem());
        dir.write("server-issuing.pem", issuing.cert_pem());
        PeerPki { dir, issuing }
    }

    /// Write a server leaf; returns (cert, key).
    fn leaf(&self, name: &str, spec: &Spec) -> (PathBuf, PathBuf, Issued) {
        let leaf = self.issuing.issue(spec).expect("leaf");
        let (cert, key) = self.dir.write_issued(name, &leaf);
        (cert, key, leaf)
    }

    fn trust(&self) -> MaterialRefs {
        MaterialRefs { ca: vec![s(&self.dir.path("server-root.pem"))], ..refs() }
    }

    fn localhost(&self) -> Spec {
        Spec::leaf("localhost").server_only().sans(&["localhost"])
    }
}

fn peer_options(role: ProbeRole, host: &str, port: u16) -> ProbeOptions {
    options(role, host, std::net::SocketAddr::from(([127, 0, 0, 1], port)), "/")
}

fn cert_info(i: &Issued) -> mtls_doctor::cert::CertInfo {
    mtls_doctor::cert::Certificate::from_der(i.der.clone(), "test").expect("cert").info
}

/// The guide's combined inbound check, in the portal's raw form, inside a whole policy document.
fn guide_policy(thumbprint: &str, issuer: &str) -> String {
    format!(
        r#"<policies>
  <inbound>
    <base />
    <choose>
      <when condition="@(context.Request.Certificate == null || context.Request.Certificate.NotAfter < DateTime.UtcNow || context.Request.Certificate.Thumbprint != "{thumbprint}" || context.Request.Certificate.Issuer != "{issuer}")">
        <return-response>
          <set-status code="403" reason="Invalid client certificate" />
        </return-response>
      </when>
    </choose>
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>
"#
    )
}

// ---------------------------------------------------------------------------------------------------
// The meta-test.

#[test]
fn every_catalog_id_has_a_firing_test() {
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new(exe).args(["--list"]).output().expect("list tests");
    assert!(out.status.success(), "--list failed");
    let listing = String::from_utf8_lossy(&out.stdout);
    let tests: Vec<&str> = listing.lines().filter_map(|l| l.strip_suffix(": test")).collect();
    let missing: Vec<&str> = CATALOG
        .iter()
        .map(|e| e.id.as_str())
        .filter(|id| !tests.contains(&format!("findings::fires_{}", id.replace('-', "_")).as_str()))
        .collect();
    assert!(missing.is_empty(), "finding ids without a fires_<id> test: {missing:?}");
    // And no test claims an id the catalog does not have (a renamed id would leave one behind).
    for t in tests.iter().filter_map(|t| t.strip_prefix("findings::fires_")) {
        let id = t.replace('_', "-");
        assert!(id.parse::<FindingId>().is_ok(), "findings::fires_{t} names no catalog id");
    }
}

// ---------------------------------------------------------------------------------------------------
// The healthy path.

fn healthy_policy(env: &LabEnv) -> String {
    let good = cert_info(&env.pki().client_good);
    let snippet = thumbprint_literal_snippet(&good.thumbprint_sha1, &good.issuer);
    // validate-revocation="false": the lab's private CAs publish no CRL, and with the default (true)
    // .NET reports RevocationStatusUnknown and the gateway answers 401 (policy-revocation-unknown).
    format!(
        r#"<policies>
  <inbound>
    <base />
    <validate-client-certificate validate-revocation="false" validate-trust="true" validate-not-before="true" validate-not-after="true" ignore-error="false">
      <identities>
        <identity thumbprint="{tp}" issuer-subject="{issuer}" />
      </identities>
    </validate-client-certificate>
    {snippet}
    <authentication-certificate certificate-id="gateway-outbound" />
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>
"#,
        tp = good.thumbprint_sha1,
        issuer = good.issuer,
    )
}

fn healthy_azure(env: &LabEnv) -> Vec<String> {
    ["service.json", "certificates.json", "role-assignments.json", "backends.json"]
        .iter()
        .map(|f| env.azure(f))
        .collect()
}

#[tokio::test]
async fn healthy_path_fires_nothing() {
    bounded(async {
        let env = LabEnv::start().await;
        let policy = env.write_policy("policy.xml", &healthy_policy(&env));
        let azure = healthy_azure(&env);

        // Inbound: the negotiating hostname, the good client (leaf + issuing CA), the correct policy and
        // uploaded CA, and Azure configuration that is right in every respect.
        let material = MaterialRefs { policy: Some(policy.clone()), azure: azure.clone(), ..env.good_client() };
        let inbound = probe(env.inbound(HOST_NEGOTIATE, "/secure/orders"), material.clone()).await;
        let p = inbound.probe.as_ref().expect("probe");
        assert!(p.handshake.ok && p.client_cert_requested && p.client_cert_sent, "{:?}", p.handshake);
        assert_eq!(p.http.as_ref().map(|h| h.status), Some(200));
        let ev = inbound.policy.as_ref().expect("policy evaluated");
        assert_eq!((ev.outcome.status, ev.outcome.determined), (200, true), "{:?}", ev.outcome);
        assert!(ev.outcome.unevaluable.is_empty(), "{:?}", ev.outcome.unevaluable);
        assert!(inbound.client_verify.as_ref().is_some_and(|v| v.verdict.ok));
        assert!(inbound.azure.is_some());
        assert!(inbound.findings.is_empty(), "healthy inbound produced findings:\n{}", summary(&inbound.findings));

        // Pinned to TLS 1.2, and over HTTP/2: still nothing.
        let mut variants = Vec::new();
        for (pin, alpn) in [(Some(TlsVersionPin::Tls12), "http/1.1"), (None, "h2")] {
            let mut o = env.inbound(HOST_NEGOTIATE, "/secure/orders");
            o.tls_version = pin;
            o.alpn = vec![alpn.to_string()];
            let run = probe(o, material.clone()).await;
            let p = run.probe.as_ref().expect("probe");
            assert_eq!(p.http.as_ref().map(|h| h.status), Some(200), "{pin:?} {alpn}");
            assert!(run.findings.is_empty(), "{pin:?} {alpn}:\n{}", summary(&run.findings));
            variants.push(run);
        }

        // The same material with no network: "would this certificate pass this policy".
        let inspected = inspect(&[&env.files.client_good.cert, &env.files.client_good.key], Role::Client, material);
        assert!(inspected.findings.is_empty(), "healthy inspect produced findings:\n{}", summary(&inspected.findings));

        // Outbound: the gateway's certificate to the backend that requires it.
        let material = MaterialRefs { azure, ..env.client(&env.files.gateway_outbound) };
        let outbound = probe(env.outbound("ok"), material).await;
        let p = outbound.probe.as_ref().expect("probe");
        assert!(p.handshake.ok && p.client_cert_sent, "{:?}", p.handshake);
        assert_eq!(p.http.as_ref().map(|h| h.status), Some(200));
        // The one finding allowed: info that the backend refuses a connection without this certificate,
        // which is what the user needs to know when a 502 persists (the gateway is not presenting it).
        let ids: Vec<&str> = outbound.findings.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["backend-requires-client-cert"], "{}", summary(&outbound.findings));
        assert_eq!(outbound.findings[0].severity, Severity::Info);

        for e in CATALOG {
            absent(&inbound, e.id.as_str());
            variants.iter().for_each(|run| absent(run, e.id.as_str()));
            absent(&inspected, e.id.as_str());
            if e.id != "backend-requires-client-cert" {
                absent(&outbound, e.id.as_str());
            }
        }
        assert!(!mtls_doctor::diagnose::has_errors(&outbound.findings));
        env.lab.shutdown().await;
    })
    .await
}

// ---------------------------------------------------------------------------------------------------
// Null certificate.

#[tokio::test]
async fn fires_gateway_did_not_request_cert() {
    bounded(async {
        let env = LabEnv::start().await;
        let run = probe(env.inbound(HOST_NO_NEGOTIATE, "/echo"), env.good_client()).await;
        let tp = cert_info(&env.pki().client_good).thumbprint_sha1;
        let f = fires(&run, "gateway-did-not-request-cert", Severity::Error, Symptom::NullCertificate);
        quotes(f, &format!("with SNI {HOST_NO_NEGOTIATE}, and no CertificateRequest arrived"));
        quotes(f, &format!("configured client certificate \"CN=lab-client-good, O=mtls-doctor lab\" (Thumbprint {tp}) was not sent"));
        quotes(f, "HTTP answer: 200");
        assert!(f.fix[0].contains(HOST_NO_NEGOTIATE), "the fix names the hostname: {:?}", f.fix);
        assert!(f.fix.iter().any(|s| s.contains("HTTP/2")), "renegotiation cannot serve HTTP/2: {:?}", f.fix);
        absent(&run, "client-cert-missing");

        // Without a certificate configured it is a warning: nothing was lost yet.
        let run = probe(env.inbound(HOST_NO_NEGOTIATE, "/echo"), env.trusting()).await;
        fires(&run, "gateway-did-not-request-cert", Severity::Warning, Symptom::NullCertificate);
        env.lab.shutdown().await;
    })
    .await
}

/// Apache with `SSLVerifyClient require` inside a `<Location>`: the certificate is asked for only
/// after the request, on every protocol; the late finding comes first and "did not request" is not
/// claimed.
#[tokio::test]
async fn fires_gateway_requested_cert_late() {
    bounded(async {
        let pki = crate::gateways::GatewayPki::new();
        let gw = crate::gateways::apache(&pki, "h2 http/1.1", crate::late_auth::APACHE_LATE);
        let dir = Dir::new();
        pki.write_client_files(&dir);
        let material = MaterialRefs {
            cert: Some(s(&dir.path("client.pem"))),
            key: Some(s(&dir.path("client.key"))),
            ca: vec![s(&dir.path("server-root.pem"))],
            ..refs()
        };
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], gw.port));
        for (pin, alpn, quote) in [
            (
                TlsVersionPin::Tls12,
                "http/1.1",
                "the server started a renegotiation (HelloRequest) after the HTTP request arrived",
            ),
            (TlsVersionPin::Tls13, "http/1.1", "no post-handshake authentication offered (rustls cannot): HTTP 403"),
            (TlsVersionPin::Tls12, "h2,http/1.1", "over HTTP/2 the server ended the request with HTTP_1_1_REQUIRED"),
        ] {
            let mut o = options(ProbeRole::Inbound, "localhost", addr, "/secure/");
            o.tls_version = Some(pin);
            o.alpn = alpn.split(',').map(String::from).collect();
            let run = probe(o, material.clone()).await;
            let f = fires(&run, "gateway-requested-cert-late", Severity::Error, Symptom::NullCertificate);
            assert_eq!(
                run.findings[0].id,
                "gateway-requested-cert-late",
                "{pin:?} {alpn}:\n{}",
                summary(&run.findings)
            );
            quotes(f, quote);
            quotes(f, "re-run answering TLS 1.2 renegotiation");
            quotes(f, "with the client certificate: the server renegotiated and asked for a certificate (acceptable CA names CN=Gateway Client Root");
            quotes(f, "), HTTP 200");
            if pin == TlsVersionPin::Tls13 {
                quotes(f, "re-run answering TLS 1.3 post-handshake authentication");
                quotes(f, "the server asked for a certificate after the handshake (acceptable CA names CN=Gateway Client Root");
            }
            assert!(f.fix[0].contains("localhost") && f.fix[0].contains("Negotiate client certificate"), "{:?}", f.fix);
            absent(&run, "gateway-did-not-request-cert");
            for other in &run.findings {
                if pin == TlsVersionPin::Tls12 {
                    assert!(
                        !other.evidence.iter().any(|e| e.contains("TLS 1.3") || e.contains("TLSv1.3")),
                        "{other:?}"
                    );
                }
            }
        }
        // The public page asks for nothing, late or not: no late finding there.
        let run = probe(options(ProbeRole::Inbound, "localhost", addr, "/"), material.clone()).await;
        absent(&run, "gateway-requested-cert-late");
        fires(&run, "gateway-did-not-request-cert", Severity::Error, Symptom::NullCertificate);
    })
    .await
}

#[tokio::test]
async fn fires_azure_negotiation_off() {
    bounded(async {
        let env = LabEnv::start().await;
        let azure = vec![env.azure("service.json")];
        let run = probe(env.inbound(HOST_NO_NEGOTIATE, "/echo"), MaterialRefs { azure, ..env.good_client() }).await;
        let f = fires(&run, "azure-negotiation-off", Severity::Error, Symptom::NullCertificate);
        quotes(f, "hostnameConfigurations: {hostName: noneg.lab.test, type: Proxy, negotiateClientCertificate: false}");
        quotes(f, &format!("called: {HOST_NO_NEGOTIATE}"));
        assert!(f.related.contains(&id("gateway-did-not-request-cert")));
        fires(&run, "gateway-did-not-request-cert", Severity::Error, Symptom::NullCertificate);

        // A v2 tier takes the service-level switch; the hostname's own (true) does not count there.
        let azure = vec![env.azure("service-v2.json")];
        let run = probe(env.inbound(HOST_NO_NEGOTIATE, "/echo"), MaterialRefs { azure, ..env.good_client() }).await;
        let f = fires(&run, "azure-negotiation-off", Severity::Error, Symptom::NullCertificate);
        quotes(f, "lab-apim-v2: sku StandardV2, enableClientCertificate false");
        assert!(f.fix[0].contains("--enable-client-certificate true"), "{:?}", f.fix);

        // The default hostname in a classic tier: the same advice as gateway-default-hostname.
        let azure = vec![env.azure("service-default-host.json")];
        let run = probe(env.inbound(HOST_DEFAULT, "/echo"), MaterialRefs { azure, ..env.good_client() }).await;
        let f = fires(&run, "azure-negotiation-off", Severity::Error, Symptom::NullCertificate);
        let default = fires(&run, "gateway-default-hostname", Severity::Error, Symptom::NullCertificate);
        assert_eq!(f.fix[0], default.fix[0], "both findings give one fix for the default hostname");
        env.lab.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn fires_gateway_default_hostname() {
    bounded(async {
        let env = LabEnv::start().await;
        let run = probe(env.inbound(HOST_DEFAULT, "/echo"), env.good_client()).await;
        // An error here: the default hostname also did not ask for the configured certificate.
        let f = fires(&run, "gateway-default-hostname", Severity::Error, Symptom::NullCertificate);
        quotes(f, &format!("SNI and Host: {HOST_DEFAULT}"));
        fires(&run, "gateway-did-not-request-cert", Severity::Error, Symptom::NullCertificate);

        let run = probe(env.inbound(HOST_DEFAULT, "/echo"), env.trusting()).await;
        fires(&run, "gateway-default-hostname", Severity::Warning, Symptom::NullCertificate);
        env.lab.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn fires_azure_hostname_not_configured() {
    bounded(async {
        let env = LabEnv::start().await;
        let azure = vec![env.azure("service-other-hosts.json")];
        let run = probe(env.inbound(HOST_NEGOTIATE, "/echo"), MaterialRefs { azure, ..env.good_client() }).await;
        let f = fires(&run, "azure-hostname-not-configured", Severity::Warning, Symptom::NullCertificate);
        quotes(f, "configured: lab-gw.azure-api.net, gateway.contoso.test");
        assert!(f.cause.contains(HOST_NEGOTIATE), "{}", f.cause);
        absent(&run, "azure-negotiation-off");
        env.lab.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn fires_client_cert_missing() {
    bounded(async {
        let env = LabEnv::start().await;
        // /secure/* answers 403 without a certificate: the missing certificate is the error.
        let run = probe(env.inbound(HOST_NEGOTIATE, "/secure/orders"), env.trusting()).await;
        assert_eq!(run.probe.as_ref().and_then(|p| p.http.as_ref()).map(|h| h.status), Some(403));
        let f = fires(&run, "client-cert-missing", Severity::Error, Symptom::NullCertificate);
        // The gateway names the client root and the issuing CA.
        quotes(f, "CertificateRequest received with 2 acceptable CA name(s)");
        quotes(f, "the handshake completed (TLSv1.3)");
        absent(&run, "gateway-did-not-request-cert");
        assert!(mtls_doctor::diagnose::has_errors(&run.findings));

        // Severity follows the outcome: /echo takes the request without a certificate (an optional
        // server answering 200), so the same observation is a warning and the exit code 0.
        let run = probe(env.inbound(HOST_NEGOTIATE, "/echo"), env.trusting()).await;
        let f = fires(&run, "client-cert-missing", Severity::Warning, Symptom::NullCertificate);
        quotes(f, "the server still answered HTTP 200: it took the request");
        assert!(!mtls_doctor::diagnose::has_errors(&run.findings), "{}", summary(&run.findings));
        env.lab.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn fires_client_key_scheme_mismatch() {
    bounded(async {
        let peers = PeerPki::new();
        let (cert, key, _) = peers.leaf("server", &peers.localhost());
        let dir = Dir::new();
        let lab = LabPki::generate().expect("pki").write_material(&dir.path("lab")).expect("material");
        let ca = s(&lab.client_ca);
        // The server accepts client signatures only as RSA-PSS; the lab client key is ECDSA P-256.
        let peer = s_server(
            &cert,
            &key,
            &["-www", "-Verify", "1", "-verify_return_error", "-CAfile", &ca, "-client_sigalgs", "rsa_pss_rsae_sha256"],
        );
        let material =
            MaterialRefs { cert: Some(s(&lab.client_good.cert)), key: Some(s(&lab.client_good.key)), ..peers.trust() };
        let run = probe(peer_options(ProbeRole::Inbound, "localhost", peer.port), material).await;
        let p = run.probe.as_ref().expect("probe");
        assert!(p.client_cert_requested && !p.client_cert_sent, "{p:?}");
        let f = fires(&run, "client-key-scheme-mismatch", Severity::Error, Symptom::NullCertificate);
        quotes(f, "server accepts: rsa_pss_rsae_sha256");
        quotes(f, "client certificate \"CN=lab-client-good, O=mtls-doctor lab\"");
        absent(&run, "client-cert-missing");
        drop(peer);
    })
    .await
}

#[tokio::test]
async fn fires_client_cert_ca_not_acceptable() {
    bounded(async {
        let env = LabEnv::start().await;
        let run = probe(env.inbound(HOST_NEGOTIATE, "/echo"), env.client(&env.files.client_rogue)).await;
        // The lab gateway judges later, as API Management does: the handshake succeeds, so a warning.
        let f = fires(&run, "client-cert-ca-not-acceptable", Severity::Warning, Symptom::NullCertificate);
        quotes(f, "certificate issuer: \"CN=mtls-doctor Lab Rogue Root, O=mtls-doctor lab\"");
        quotes(
            f,
            "acceptable CA names: CN=mtls-doctor Lab Client Root, O=mtls-doctor lab; CN=mtls-doctor Lab Client Issuing CA, O=mtls-doctor lab",
        );
        // The same certificate where the gateway then answers 403: the unacceptable issuer is the error.
        let run = probe(env.inbound(HOST_NEGOTIATE, "/secure/orders"), env.client(&env.files.client_rogue)).await;
        assert_eq!(run.probe.as_ref().and_then(|p| p.http.as_ref()).map(|h| h.status), Some(403));
        let f = fires(&run, "client-cert-ca-not-acceptable", Severity::Error, Symptom::NullCertificate);
        quotes(f, "the server answered HTTP 403 to the request with this certificate");
        env.lab.shutdown().await;
    })
    .await
}

// ---------------------------------------------------------------------------------------------------
// TLS-level rejection.

#[tokio::test]
async fn fires_gateway_rejected_client_cert() {
    bounded(async {
        let peers = PeerPki::new();
        let (cert, key, _) = peers.leaf("server", &peers.localhost());
        let dir = Dir::new();
        let pki = LabPki::generate().expect("pki");
        let lab = pki.write_material(&dir.path("lab")).expect("material");
        let ca = s(&lab.client_ca);
        let peer = s_server(&cert, &key, &["-www", "-Verify", "1", "-verify_return_error", "-CAfile", &ca]);
        let rogue = cert_info(&pki.client_rogue);
        let material = MaterialRefs {
            cert: Some(s(&lab.client_rogue.cert)),
            key: Some(s(&lab.client_rogue.key)),
            ..peers.trust()
        };
        for (pin, state) in [
            (TlsVersionPin::Tls13, "the server sent the alert unknown_ca right after the handshake"),
            (TlsVersionPin::Tls12, "the server ended the handshake with the alert unknown_ca"),
        ] {
            let mut o = peer_options(ProbeRole::Inbound, "localhost", peer.port);
            o.tls_version = Some(pin);
            let run = probe(o, material.clone()).await;
            let f = fires(&run, "gateway-rejected-client-cert", Severity::Error, Symptom::Tls);
            quotes(
                f,
                &format!("sent \"CN=lab-client-rogue, O=mtls-doctor lab\" (Thumbprint {})", rogue.thumbprint_sha1),
            );
            quotes(f, state);
            quotes(f, "acceptable CA names: CN=mtls-doctor Lab Client Root, O=mtls-doctor lab");
            absent(&run, "tls-handshake-failed");
        }
        drop(peer);
    })
    .await
}

#[tokio::test]
async fn fires_tls_handshake_failed() {
    bounded(async {
        // Something on the port that answers, neither in TLS nor in HTTP (an SSH banner).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                let mut buf = [0u8; 512];
                let _ = tcp.read(&mut buf).await;
                let _ = tcp.write_all(b"SSH-2.0-OpenSSH_9.6 not a TLS server at all\r\n").await;
                let _ = tcp.shutdown().await;
            }
        });
        let run = probe(options(ProbeRole::Inbound, "api.contoso.test", addr, "/"), refs()).await;
        let f = fires(&run, "tls-handshake-failed", Severity::Error, Symptom::Tls);
        let p = run.probe.as_ref().expect("probe");
        let error = p.handshake.error.clone().expect("the handshake error is recorded");
        quotes(f, &format!("the handshake failed: {error}"));
        assert!(
            matches!(p.handshake.failure, Some(mtls_doctor::probe::TlsFailure::InvalidMessage { .. })),
            "{:?}",
            p.handshake.failure
        );
        server.abort();
    })
    .await
}

#[tokio::test]
async fn fires_gateway_plain_http_on_tls_port() {
    bounded(async {
        // Something on the port that answers, but not in TLS.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                let mut buf = [0u8; 512];
                let _ = tcp.read(&mut buf).await;
                let _ =
                    tcp.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
                let _ = tcp.shutdown().await;
            }
        });
        let run = probe(options(ProbeRole::Inbound, "api.contoso.test", addr, "/"), refs()).await;
        let f = fires(&run, "gateway-plain-http-on-tls-port", Severity::Error, Symptom::Tls);
        let p = run.probe.as_ref().expect("probe");
        assert!(p.plain_http_reply, "the probe records the plain-HTTP answer");
        quotes(f, "instead of a TLS record");
        assert!(!run.findings.iter().any(|f| f.id.as_str() == "tls-handshake-failed"), "{:?}", run.findings);
        assert!(
            matches!(p.handshake.failure, Some(mtls_doctor::probe::TlsFailure::InvalidMessage { .. })),
            "{:?}",
            p.handshake.failure
        );
        server.abort();
    })
    .await
}

// ---------------------------------------------------------------------------------------------------
// Certificates.

#[tokio::test]
async fn fires_cert_no_private_key() {
    bounded(async {
        let env = LabEnv::start().await;
        // The certificate file alone, as happens with a .cer exported without its key.
        let cert = s(&env.files.client_good.cert);
        let material = MaterialRefs { cert: Some(cert.clone()), key: None, ..env.trusting() };
        let run = probe(env.inbound(HOST_NEGOTIATE, "/echo"), material).await;
        let f = fires(&run, "cert-no-private-key", Severity::Error, Symptom::Tls);
        quotes(f, &format!("{cert}: certificate(s) found, no private key"));
        assert_eq!(f.subject.as_deref(), Some(cert.as_str()));
        // The probe went on without a certificate, and the gateway asked for one; /echo still
        // answered 200, so by "severity follows the outcome" that is a warning.
        fires(&run, "client-cert-missing", Severity::Warning, Symptom::NullCertificate);
        env.lab.shutdown().await;
    })
    .await
}

#[test]
fn fires_cert_key_mismatch() {
    let dir = Dir::new();
    let pki = LabPki::generate().expect("pki");
    let lab = pki.write_material(&dir.path("lab")).expect("material");
    let good = cert_info(&pki.client_good);
    let run = inspect(&[&lab.client_good.cert, &lab.client_rogue.key], Role::Client, refs());
    let f = fires(&run, "cert-key-mismatch", Severity::Error, Symptom::Tls);
    quotes(
        f,
        &format!(
            "certificate \"CN=lab-client-good, O=mtls-doctor lab\" (Thumbprint {}) has a different public key",
            good.thumbprint_sha1
        ),
    );
    // The matching key: no mismatch.
    let run = inspect(&[&lab.client_good.cert, &lab.client_good.key], Role::Client, refs());
    absent(&run, "cert-key-mismatch");
}

#[tokio::test]
async fn fires_cert_expired() {
    bounded(async {
        let env = LabEnv::start().await;
        let expired = cert_info(&env.pki().client_expired);
        let run = probe(env.inbound(HOST_NEGOTIATE, "/echo"), env.client(&env.files.client_expired)).await;
        let f = fires(&run, "cert-expired", Severity::Error, Symptom::Expiry);
        quotes(
            f,
            &format!(
                "\"CN=lab-client-expired, O=mtls-doctor lab\" (Thumbprint {}) NotAfter {}",
                expired.thumbprint_sha1, expired.not_after
            ),
        );
        absent(&run, "cert-expiring-soon");
        env.lab.shutdown().await;
    })
    .await
}

#[test]
fn fires_cert_not_yet_valid() {
    let dir = Dir::new();
    let pki = LabPki::generate().expect("pki");
    let future =
        pki.client_issuing.issue(&Spec::leaf("lab-client-future").client_only().valid_days(3, 400)).expect("leaf");
    let (cert, key) = dir.write_issued("future", &future);
    let info = cert_info(&future);
    let run = inspect(&[&cert, &key], Role::Client, refs());
    let f = fires(&run, "cert-not-yet-valid", Severity::Error, Symptom::Expiry);
    quotes(f, &format!("(Thumbprint {}) NotBefore {}", info.thumbprint_sha1, info.not_before));
    absent(&run, "cert-expired");
}

#[test]
fn fires_cert_expiring_soon() {
    let dir = Dir::new();
    let pki = LabPki::generate().expect("pki");
    let soon =
        pki.client_issuing.issue(&Spec::leaf("lab-client-soon").client_only().valid_days(-300, 10)).expect("leaf");
    let (cert, key) = dir.write_issued("soon", &soon);
    let info = cert_info(&soon);
    let run = inspect(&[&cert, &key], Role::Client, refs());
    let f = fires(&run, "cert-expiring-soon", Severity::Warning, Symptom::Expiry);
    quotes(
        f,
        &format!(
            "\"CN=lab-client-soon, O=mtls-doctor lab\" (Thumbprint {}) NotAfter {}",
            info.thumbprint_sha1, info.not_after
        ),
    );
    assert!(f.cause.contains("expires in 9 day(s)") || f.cause.contains("expires in 10 day(s)"), "{}", f.cause);

    // 31 days is outside the 30-day window.
    let later =
        pki.client_issuing.issue(&Spec::leaf("lab-client-later").client_only().valid_days(-1, 31)).expect("leaf");
    let (cert, key) = dir.write_issued("later", &later);
    absent(&inspect(&[&cert, &key], Role::Client, refs()), "cert-expiring-soon");
}

#[tokio::test]
async fn fires_cert_missing_client_auth_eku() {
    bounded(async {
        let env = LabEnv::start().await;
        let info = cert_info(&env.pki().client_server_only_eku);
        let run = probe(env.inbound(HOST_NEGOTIATE, "/echo"), env.client(&env.files.client_server_only_eku)).await;
        let f = fires(&run, "cert-missing-client-auth-eku", Severity::Error, Symptom::Forbidden403);
        quotes(
            f,
            &format!(
                "\"CN=lab-client-server-only-eku, O=mtls-doctor lab\" (Thumbprint {}) EKU: serverAuth",
                info.thumbprint_sha1
            ),
        );
        env.lab.shutdown().await;
    })
    .await
}

#[test]
fn fires_cert_self_signed() {
    let dir = Dir::new();
    let me = Issued::self_signed(&Spec::leaf("self-signed-client").client_only()).expect("self-signed");
    let (cert, key) = dir.write_issued("self", &me);
    let run = inspect(&[&cert, &key], Role::Client, refs());
    let f = fires(&run, "cert-self-signed", Severity::Warning, Symptom::Forbidden403);
    quotes(
        f,
        &format!(
            "\"CN=self-signed-client, O=mtls-doctor lab\" (Thumbprint {}): subject equals issuer",
            me.thumbprint()
        ),
    );
}

#[tokio::test]
async fn fires_client_chain_untrusted() {
    bounded(async {
        let env = LabEnv::start().await;
        // The client sends its leaf alone and only the root is uploaded: the issuing CA is missing.
        let leaf_only = env.dir.write("client-good-leaf.pem", env.pki().client_good.cert_pem());
        let root = s(&env.files.client_root);
        let material = MaterialRefs {
            cert: Some(s(&leaf_only)),
            key: Some(s(&env.files.client_good.key)),
            client_ca: vec![root.clone()],
            ..env.trusting()
        };
        let run = probe(env.inbound(HOST_NEGOTIATE, "/echo"), material).await;
        let tp = cert_info(&env.pki().client_good).thumbprint_sha1;
        let f = fires(&run, "client-chain-untrusted", Severity::Error, Symptom::Forbidden403);
        assert!(
            f.cause.contains("\"CN=mtls-doctor Lab Client Issuing CA, O=mtls-doctor lab\""),
            "names the missing intermediate: {}",
            f.cause
        );
        assert!(
            f.fix.iter().any(|x| x.contains("CN=mtls-doctor Lab Client Issuing CA, O=mtls-doctor lab")),
            "{:?}",
            f.fix
        );
        quotes(f, &format!("certificate Thumbprint {tp}"));
        quotes(f, &format!("verify against {root}: error 20 (unable to get local issuer certificate)"));

        // The full chain against a CA it does not lead to.
        let other = s(&env.files.other_ca);
        let material = MaterialRefs { client_ca: vec![other.clone()], ..env.good_client() };
        let run = probe(env.inbound(HOST_NEGOTIATE, "/echo"), material).await;
        let f = fires(&run, "client-chain-untrusted", Severity::Error, Symptom::Forbidden403);
        quotes(f, &format!("verify against {other}: error"));
        env.lab.shutdown().await;
    })
    .await
}

#[test]
fn fires_azure_ca_not_uploaded() {
    let dir = Dir::new();
    let pki = LabPki::generate().expect("pki");
    let lab = pki.write_material(&dir.path("lab")).expect("material");
    let azure = vec![azure_fixture(&dir, "service-wrong-ca.json", &pki)];
    let run = inspect(&[&lab.client_good.cert, &lab.client_good.key], Role::Client, MaterialRefs { azure, ..refs() });
    let f = fires(&run, "azure-ca-not-uploaded", Severity::Error, Symptom::Forbidden403);
    quotes(f, "service CA certificates: CN=Contoso Partner Root, O=Contoso");
    quotes(f, "client chain root needed: \"CN=mtls-doctor Lab Client Root, O=mtls-doctor lab\"");

    // The healthy export uploads that root.
    let azure = vec![azure_fixture(&dir, "service.json", &pki)];
    let run = inspect(&[&lab.client_good.cert, &lab.client_good.key], Role::Client, MaterialRefs { azure, ..refs() });
    absent(&run, "azure-ca-not-uploaded");
}

// ---------------------------------------------------------------------------------------------------
// 403 and the policy.

struct PolicyCase {
    dir: Dir,
    pki: LabPki,
    lab: LabFiles,
    good: mtls_doctor::cert::CertInfo,
}

impl PolicyCase {
    fn new() -> PolicyCase {
        let dir = Dir::new();
        let pki = LabPki::generate().expect("pki");
        let lab = pki.write_material(&dir.path("lab")).expect("material");
        let good = cert_info(&pki.client_good);
        PolicyCase { dir, pki, lab, good }
    }

    /// Inspect the lab's good client (leaf + issuing CA) against a policy, with the right CAs uploaded.
    fn run(&self, xml: &str) -> TargetRun {
        let policy = s(&self.dir.write("policy.xml", xml));
        let material = MaterialRefs { policy: Some(policy), client_ca: vec![s(&self.lab.client_ca)], ..refs() };
        inspect(&[&self.lab.client_good.cert, &self.lab.client_good.key], Role::Client, material)
    }

    /// The finding for a literal, checked for the trace and the corrected snippet.
    fn literal_finding<'a>(&self, run: &'a TargetRun, id: &str, literal_shown: &str) -> &'a Finding {
        let f = fires(run, id, Severity::Error, Symptom::Forbidden403);
        quotes(f, &format!("literal:   {literal_shown}"));
        quotes(f, &format!("presented: {}", self.good.thumbprint_sha1));
        quotes(f, "inbound/choose[1]/when[1] clause 3: context.Request.Certificate.Thumbprint != ");
        f
    }
}

#[tokio::test]
async fn fires_policy_rejects() {
    bounded(async {
        let env = LabEnv::start().await;
        let good = cert_info(&env.pki().client_good);
        let rogue = cert_info(&env.pki().client_rogue);
        // The policy pins another client's thumbprint: the good client gets 403 from clause 3.
        let policy = env.write_policy("policy.xml", &guide_policy(&rogue.thumbprint_sha1, &good.issuer));
        let material = MaterialRefs { policy: Some(policy.clone()), ..env.good_client() };
        let run = probe(env.inbound(HOST_NEGOTIATE, "/echo"), material).await;
        let f = fires(&run, "policy-rejects", Severity::Error, Symptom::Forbidden403);
        quotes(f, "status: 403");
        quotes(
            f,
            &format!(
                "decided by: inbound/choose[1]/when[1] condition clause 3: context.Request.Certificate.Thumbprint != \"{}\"",
                rogue.thumbprint_sha1
            ),
        );
        quotes(f, &format!("certificate: \"CN=lab-client-good, O=mtls-doctor lab\" (Thumbprint {})", good.thumbprint_sha1));
        assert!(f.related.contains(&id("thumbprint-mismatch")), "{:?}", f.related);

        // No negotiation: the policy sees a null certificate and its first clause answers 403.
        let material = MaterialRefs { policy: Some(policy), ..env.good_client() };
        let run = probe(env.inbound(HOST_NO_NEGOTIATE, "/echo"), material).await;
        let f = fires(&run, "policy-rejects", Severity::Error, Symptom::Forbidden403);
        quotes(f, "certificate: none (context.Request.Certificate is null)");
        quotes(f, "decided by: inbound/choose[1]/when[1] condition clause 1: context.Request.Certificate == null");
        env.lab.shutdown().await;
    })
    .await
}

#[test]
fn fires_thumbprint_invisible_char() {
    let c = PolicyCase::new();
    let tp = &c.good.thumbprint_sha1;
    // Copied from the Windows certificate dialog: a U+200E before the hex.
    let run = c.run(&guide_policy(&format!("\u{200E}{tp}"), &c.good.issuer));
    let f = c.literal_finding(&run, "thumbprint-invisible-char", &format!("<U+200E>{tp}"));
    let snippet = f.snippet.as_deref().expect("corrected snippet");
    assert!(snippet.contains(&format!("Thumbprint != \"{tp}\"")), "{snippet}");
    absent(&run, "thumbprint-mismatch");
    absent(&run, "thumbprint-case");
    fires(&run, "policy-rejects", Severity::Error, Symptom::Forbidden403);

    // Other invisible characters are named the same way, never printed raw.
    for (mark, shown) in [('\u{FEFF}', "<U+FEFF>"), ('\u{2060}', "<U+2060>"), ('\u{200B}', "<U+200B>")] {
        let run = c.run(&guide_policy(&format!("{tp}{mark}"), &c.good.issuer));
        let f = c.literal_finding(&run, "thumbprint-invisible-char", &format!("{tp}{shown}"));
        assert!(f.evidence.iter().all(|e| !e.contains(mark)), "{:?}", f.evidence);
    }

    // Older dialogs: the mark, lowercase, and spaces: each problem is named, the first carries the fix.
    let spaced: Vec<String> =
        tp.to_lowercase().as_bytes().chunks(2).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
    let run = c.run(&guide_policy(&format!("\u{200E}{}", spaced.join(" ")), &c.good.issuer));
    let first = fires(&run, "thumbprint-invisible-char", Severity::Error, Symptom::Forbidden403);
    assert!(first.snippet.is_some());
    for name in ["thumbprint-whitespace", "thumbprint-case"] {
        let f = fires(&run, name, Severity::Error, Symptom::Forbidden403);
        assert!(f.related.contains(&id("thumbprint-invisible-char")), "{name}: {:?}", f.related);
    }
}

#[test]
fn fires_thumbprint_whitespace() {
    let c = PolicyCase::new();
    let tp = &c.good.thumbprint_sha1;
    let spaced: Vec<String> = tp.as_bytes().chunks(2).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
    let literal = spaced.join(" ");
    let run = c.run(&guide_policy(&literal, &c.good.issuer));
    let f = c.literal_finding(&run, "thumbprint-whitespace", &literal);
    assert!(f.fix[0].contains(&format!("\"{tp}\"")), "{:?}", f.fix);
    absent(&run, "thumbprint-case");
    absent(&run, "thumbprint-mismatch");
}

#[test]
fn fires_thumbprint_case() {
    let c = PolicyCase::new();
    let lower = c.good.thumbprint_sha1.to_lowercase();
    let run = c.run(&guide_policy(&lower, &c.good.issuer));
    let f = c.literal_finding(&run, "thumbprint-case", &lower);
    assert!(f.snippet.as_deref().is_some_and(|s| s.contains(&c.good.thumbprint_sha1)));
    absent(&run, "thumbprint-whitespace");
    absent(&run, "thumbprint-mismatch");
    // The same literal compared case-insensitively passes.
    let xml = guide_policy(&lower, &c.good.issuer).replace(
        &format!("context.Request.Certificate.Thumbprint != \"{lower}\""),
        &format!("!context.Request.Certificate.Thumbprint.Equals(\"{lower}\", StringComparison.OrdinalIgnoreCase)"),
    );
    let run = c.run(&xml);
    absent(&run, "thumbprint-case");
    absent(&run, "policy-rejects");
}

#[test]
fn fires_thumbprint_is_issuer() {
    let c = PolicyCase::new();
    let issuing = cert_info(&c.pki.client_issuing);
    let run = c.run(&guide_policy(&issuing.thumbprint_sha1, &c.good.issuer));
    c.literal_finding(&run, "thumbprint-is-issuer", &issuing.thumbprint_sha1);
    absent(&run, "thumbprint-mismatch");
}

#[test]
fn fires_thumbprint_mismatch() {
    let c = PolicyCase::new();
    let other = cert_info(&c.pki.client_rogue);
    let run = c.run(&guide_policy(&other.thumbprint_sha1, &c.good.issuer));
    c.literal_finding(&run, "thumbprint-mismatch", &other.thumbprint_sha1);
    absent(&run, "thumbprint-is-issuer");

    // The same through validate-client-certificate's identity.
    let xml = format!(
        r#"<inbound><validate-client-certificate validate-revocation="false"><identities><identity thumbprint="{}" /></identities></validate-client-certificate></inbound>"#,
        other.thumbprint_sha1
    );
    let run = c.run(&xml);
    let f = fires(&run, "thumbprint-mismatch", Severity::Error, Symptom::Forbidden403);
    quotes(f, &format!("thumbprint=\"{}\"", other.thumbprint_sha1));
    quotes(f, &format!("presented: {}", c.good.thumbprint_sha1));
}

/// The issuer as `openssl x509 -noout -issuer` prints it with `nameopt`.
fn openssl_issuer(cert: &Path, nameopt: &str) -> String {
    let (ok, out) = crate::util::openssl(&["x509", "-in", &s(cert), "-noout", "-issuer", "-nameopt", nameopt]);
    assert!(ok, "{out}");
    out.trim().strip_prefix("issuer=").expect("issuer= prefix").trim().to_string()
}

#[test]
fn fires_issuer_order() {
    let c = PolicyCase::new();
    // OpenSSL's default form (encoding order, " = ") and its compat slash form.
    for nameopt in ["oneline", "compat"] {
        let literal = openssl_issuer(&c.lab.client_good.cert, nameopt);
        assert_ne!(literal, c.good.issuer);
        let run = c.run(&guide_policy(&c.good.thumbprint_sha1, &literal));
        let f = fires(&run, "issuer-order", Severity::Error, Symptom::Forbidden403);
        quotes(f, &format!("literal:   {literal}"));
        quotes(f, &format!("presented: {}", c.good.issuer));
        quotes(f, "clause 4: context.Request.Certificate.Issuer != ");
        assert!(f.fix[0].contains(&c.good.issuer), "{:?}", f.fix);
        absent(&run, "issuer-mismatch");
        let rejects = fires(&run, "policy-rejects", Severity::Error, Symptom::Forbidden403);
        assert!(rejects.related.contains(&id("issuer-order")));
    }
}

#[test]
fn fires_issuer_mismatch() {
    let c = PolicyCase::new();
    let run = c.run(&guide_policy(&c.good.thumbprint_sha1, "CN=Contoso Partner CA, O=Contoso"));
    let f = fires(&run, "issuer-mismatch", Severity::Error, Symptom::Forbidden403);
    quotes(f, "literal:   CN=Contoso Partner CA, O=Contoso");
    quotes(f, &format!("presented: {}", c.good.issuer));
    absent(&run, "issuer-order");

    // And through an identity's issuer-subject.
    let xml = r#"<inbound><validate-client-certificate validate-revocation="false"><identities><identity issuer-subject="CN=Contoso Partner CA, O=Contoso" /></identities></validate-client-certificate></inbound>"#;
    let run = c.run(xml);
    let f = fires(&run, "issuer-mismatch", Severity::Error, Symptom::Forbidden403);
    quotes(f, "issuer-subject=\"CN=Contoso Partner CA, O=Contoso\"");
    quotes(f, &format!("presented: {}", c.good.issuer));
}

#[tokio::test]
async fn fires_http_403_after_handshake() {
    bounded(async {
        let env = LabEnv::start().await;
        let rogue = cert_info(&env.pki().client_rogue);
        let run = probe(env.inbound(HOST_NEGOTIATE, "/secure/orders"), env.client(&env.files.client_rogue)).await;
        let f = fires(&run, "http-403-after-handshake", Severity::Warning, Symptom::Forbidden403);
        quotes(f, "HTTP 403 after the handshake completed (TLSv1.3)");
        quotes(
            f,
            &format!(
                "client certificate sent: \"CN=lab-client-rogue, O=mtls-doctor lab\" (Thumbprint {})",
                rogue.thumbprint_sha1
            ),
        );
        absent(&run, "gateway-rejected-client-cert");
        env.lab.shutdown().await;
    })
    .await
}

#[test]
fn fires_policy_unevaluable() {
    let c = PolicyCase::new();
    let xml = r#"<inbound>
  <choose>
    <when condition="@(context.Request.Certificate == null || context.Request.Headers.GetValueOrDefault("X-Client-Id", "") != "orders")">
      <return-response><set-status code="403" /></return-response>
    </when>
  </choose>
</inbound>"#;
    let run = c.run(xml);
    let f = fires(&run, "policy-unevaluable", Severity::Info, Symptom::Forbidden403);
    quotes(f, "inbound/choose[1]/when[1] clause 2: context.Request.Headers");
    // Never guessed: no verdict either way.
    absent(&run, "policy-rejects");
    assert!(!run.policy.as_ref().expect("evaluated").outcome.determined);
}

// ---------------------------------------------------------------------------------------------------
// 502 and outbound.

#[tokio::test]
async fn fires_backend_requires_client_cert() {
    bounded(async {
        let env = LabEnv::start().await;
        // The gateway presenting nothing to a backend that requires a certificate.
        let run = probe(env.outbound("ok"), env.trusting()).await;
        let f = fires(&run, "backend-requires-client-cert", Severity::Error, Symptom::BadGateway502);
        quotes(f, "certificate_required");
        quotes(f, "backend accepts client certificates from: CN=mtls-doctor Lab Gateway Client CA, O=mtls-doctor lab");
        absent(&run, "tls-handshake-failed");
        absent(&run, "client-cert-missing");
        // certificateIds is never offered alone: only with routing through the entity.
        let ids = f.fix.iter().find(|x| x.contains("certificateIds")).expect("the backend-entity way is named");
        assert!(ids.contains("set-backend-service backend-id="), "{ids}");

        // Also over TLS 1.2, where the handshake itself fails.
        let mut o = env.outbound("ok");
        o.tls_version = Some(TlsVersionPin::Tls12);
        let run = probe(o, env.trusting()).await;
        let f = fires(&run, "backend-requires-client-cert", Severity::Error, Symptom::BadGateway502);
        quotes(f, "the server ended the handshake with the alert");
        env.lab.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn fires_backend_distrusts_client_ca() {
    bounded(async {
        let env = LabEnv::start().await;
        let gw = cert_info(&env.pki().gateway_outbound);
        let run = probe(env.outbound("distrusts-gateway"), env.client(&env.files.gateway_outbound)).await;
        let f = fires(&run, "backend-distrusts-client-ca", Severity::Error, Symptom::BadGateway502);
        quotes(
            f,
            &format!(
                "alert unknown_ca after sending \"CN=lab-gateway-outbound, O=mtls-doctor lab\" (Thumbprint {})",
                gw.thumbprint_sha1
            ),
        );
        quotes(f, "backend accepts client certificates from: CN=mtls-doctor Lab Other CA, O=mtls-doctor lab");
        assert!(f.cause.contains("\"CN=mtls-doctor Lab Gateway Client CA, O=mtls-doctor lab\""), "{}", f.cause);
        absent(&run, "gateway-rejected-client-cert");
        env.lab.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn fires_backend_cert_untrusted() {
    bounded(async {
        let env = LabEnv::start().await;
        let run = probe(env.outbound("untrusted-cert"), env.client(&env.files.gateway_outbound)).await;
        let f = fires(&run, "backend-cert-untrusted", Severity::Error, Symptom::BadGateway502);
        quotes(f, "leaf issuer: \"CN=mtls-doctor Lab Untrusted Server Root, O=mtls-doctor lab\"");
        quotes(f, "verify: error 20 (unable to get local issuer certificate)");
        absent(&run, "server-cert-untrusted");
        env.lab.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn fires_backend_cert_name_mismatch() {
    bounded(async {
        let env = LabEnv::start().await;
        let run = probe(env.outbound("wrong-name"), env.client(&env.files.gateway_outbound)).await;
        let f = fires(&run, "backend-cert-name-mismatch", Severity::Error, Symptom::BadGateway502);
        quotes(f, &format!("name called (SNI): {}", backend_host("wrong-name")));
        quotes(f, &format!("certificate names: DNS:{}", mtls_doctor::lab::WRONG_NAME_HOST));
        quotes(f, "verify: error 62");
        absent(&run, "server-cert-name-mismatch");
        env.lab.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn fires_backend_tls_incompatible() {
    bounded(async {
        let peers = PeerPki::new();
        let (cert, key, _) =
            peers.leaf("backend", &Spec::leaf("legacy.backend.test").server_only().sans(&["legacy.backend.test"]));
        // A backend that only speaks TLS 1.2 with a CBC/SHA-1 suite, which rustls does not implement.
        let peer = s_server(&cert, &key, &["-www", "-no_tls1_3", "-cipher", "ECDHE-ECDSA-AES128-SHA"]);
        let run = probe(peer_options(ProbeRole::Outbound, "legacy.backend.test", peer.port), peers.trust()).await;
        let f = fires(&run, "backend-tls-incompatible", Severity::Error, Symptom::BadGateway502);
        quotes(f, "the server ended the handshake with the alert handshake_failure");
        absent(&run, "tls-handshake-failed");
        absent(&run, "backend-requires-client-cert");
        drop(peer);
    })
    .await
}

#[tokio::test]
async fn fires_backend_unreachable() {
    bounded(async {
        let port = free_port();
        let run = probe(peer_options(ProbeRole::Outbound, "orders.backend.test", port), refs()).await;
        let f = fires(&run, "backend-unreachable", Severity::Error, Symptom::BadGateway502);
        quotes(f, &format!("TCP 127.0.0.1:{port}: connection refused"));
        absent(&run, "gateway-unreachable");
    })
    .await
}

#[tokio::test]
async fn fires_gateway_502() {
    bounded(async {
        let env = LabEnv::start().await;
        let run = probe(env.inbound(HOST_NEGOTIATE, "/backend/distrusts-gateway/orders"), env.good_client()).await;
        let f = fires(&run, "gateway-502", Severity::Warning, Symptom::BadGateway502);
        quotes(f, "HTTP 502 HTTP/1.1");
        quotes(f, "BackendConnectionFailure");
        quotes(f, "UnknownCA");
        env.lab.shutdown().await;
    })
    .await
}

#[tokio::test]
async fn fires_azure_backend_no_client_cert() {
    bounded(async {
        let env = LabEnv::start().await;
        let azure = vec![env.azure("service.json"), env.azure("backends-no-client-cert.json")];
        let run = probe(env.outbound("ok"), MaterialRefs { azure, ..env.client(&env.files.gateway_outbound) }).await;
        let f = fires(&run, "azure-backend-no-client-cert", Severity::Error, Symptom::BadGateway502);
        quotes(f, "backend lab-ok: url https://ok.backend.lab.test/, credentials.certificateIds []");
        quotes(f, "ok.backend.lab.test:443 sent a CertificateRequest");

        // With the certificate in the backend's credentials it is silent.
        let azure = vec![env.azure("service.json"), env.azure("backends.json")];
        let run = probe(env.outbound("ok"), MaterialRefs { azure, ..env.client(&env.files.gateway_outbound) }).await;
        absent(&run, "azure-backend-no-client-cert");
        env.lab.shutdown().await;
    })
    .await
}

// ---------------------------------------------------------------------------------------------------
// Server side, against openssl s_server.

#[tokio::test]
async fn fires_server_cert_untrusted() {
    bounded(async {
        let peers = PeerPki::new();
        let (cert, key, _) = peers.leaf("server", &peers.localhost());
        let chain = s(&peers.dir.path("server-issuing.pem"));
        let peer = s_server(&cert, &key, &["-www", "-cert_chain", &chain]);
        // Trusting some other root than the one that issued the server's chain.
        let other = Issued::self_signed(&Spec::ca("Unrelated Root")).expect("root");
        let other = peers.dir.write("other-root.pem", other.cert_pem());
        let material = MaterialRefs { ca: vec![s(&other)], ..refs() };
        let run = probe(peer_options(ProbeRole::Inbound, "localhost", peer.port), material).await;
        let f = fires(&run, "server-cert-untrusted", Severity::Error, Symptom::Tls);
        quotes(f, "leaf issuer: \"CN=Findings Server Issuing CA, O=mtls-doctor lab\"");
        quotes(f, "verify: error 20 (unable to get local issuer certificate)");
        absent(&run, "server-chain-incomplete");
        drop(peer);
    })
    .await
}

#[tokio::test]
async fn fires_server_cert_name_mismatch() {
    bounded(async {
        let peers = PeerPki::new();
        let (cert, key, _) = peers.leaf("server", &peers.localhost());
        let chain = s(&peers.dir.path("server-issuing.pem"));
        let peer = s_server(&cert, &key, &["-www", "-cert_chain", &chain]);
        let run = probe(peer_options(ProbeRole::Inbound, "api.contoso.test", peer.port), peers.trust()).await;
        let f = fires(&run, "server-cert-name-mismatch", Severity::Error, Symptom::Tls);
        quotes(f, "name called (SNI): api.contoso.test");
        quotes(f, "certificate names: DNS:localhost");
        quotes(f, "verify: error 62");
        absent(&run, "server-cert-untrusted");
        drop(peer);
    })
    .await
}

#[tokio::test]
async fn fires_server_cert_expired() {
    bounded(async {
        let peers = PeerPki::new();
        let (cert, key, leaf) = peers.leaf("server", &peers.localhost().valid_days(-90, -3));
        let info = cert_info(&leaf);
        let chain = s(&peers.dir.path("server-issuing.pem"));
        let peer = s_server(&cert, &key, &["-www", "-cert_chain", &chain]);
        let run = probe(peer_options(ProbeRole::Inbound, "localhost", peer.port), peers.trust()).await;
        let f = fires(&run, "server-cert-expired", Severity::Error, Symptom::Expiry);
        quotes(f, &format!("server certificate \"CN=localhost, O=mtls-doctor lab\" NotAfter {}", info.not_after));
        quotes(f, "verify: error 10");
        drop(peer);
    })
    .await
}

#[tokio::test]
async fn fires_server_chain_incomplete() {
    bounded(async {
        let peers = PeerPki::new();
        let (cert, key, _) = peers.leaf("server", &peers.localhost());
        // The leaf alone: no -cert_chain.
        let peer = s_server(&cert, &key, &["-www"]);
        let run = probe(peer_options(ProbeRole::Inbound, "localhost", peer.port), peers.trust()).await;
        let f = fires(&run, "server-chain-incomplete", Severity::Warning, Symptom::Tls);
        quotes(f, "missing intermediate: \"CN=Findings Server Issuing CA, O=mtls-doctor lab\"");
        quotes(f, "server sent 1 certificate(s)");
        let untrusted = fires(&run, "server-cert-untrusted", Severity::Error, Symptom::Tls);
        assert!(untrusted.related.contains(&id("server-chain-incomplete")));

        // A backend doing the same: the untrusted chain is the error explaining a 502; a missing
        // intermediate is one possible reason (the issuer may as well be an unknown root).
        let run = probe(peer_options(ProbeRole::Outbound, "localhost", peer.port), peers.trust()).await;
        fires(&run, "server-chain-incomplete", Severity::Warning, Symptom::BadGateway502);
        fires(&run, "backend-cert-untrusted", Severity::Error, Symptom::BadGateway502);
        drop(peer);
    })
    .await
}

/// `inspect --role server` goes through the same server-chain rule as a probed server: the same
/// ids for the same openssl codes, with the file as the subject.
#[test]
fn inspected_server_chains_get_the_probe_verdicts() {
    let peers = PeerPki::new();
    let issuing = peers.dir.path("server-issuing.pem");

    let (cert, _, leaf) = peers.leaf("expired", &peers.localhost().valid_days(-90, -3));
    let run = inspect(&[&cert, &issuing], Role::Server, peers.trust());
    let f = fires(&run, "server-cert-expired", Severity::Error, Symptom::Expiry);
    quotes(
        f,
        &format!("server certificate \"CN=localhost, O=mtls-doctor lab\" NotAfter {}", cert_info(&leaf).not_after),
    );
    quotes(f, "verify: error 10 (certificate has expired)");

    let (cert, _, _) = peers.leaf("server", &peers.localhost());
    let other = Issued::self_signed(&Spec::ca("Unrelated Root")).expect("root");
    let other = peers.dir.write("other-root.pem", other.cert_pem());
    let run = inspect(&[&cert, &issuing], Role::Server, MaterialRefs { ca: vec![s(&other)], ..refs() });
    let f = fires(&run, "server-cert-untrusted", Severity::Error, Symptom::Tls);
    quotes(f, "leaf issuer: \"CN=Findings Server Issuing CA, O=mtls-doctor lab\"");
    quotes(f, "verify: error 20 (unable to get local issuer certificate)");
    // Files say nothing about what a server sends.
    let run = inspect(&[&cert], Role::Server, peers.trust());
    fires(&run, "server-cert-untrusted", Severity::Error, Symptom::Tls);
    absent(&run, "server-chain-incomplete");

    let material = peers.trust();
    let loaded = engine::load(&material).expect("material loads");
    let run = TargetRun {
        name: "inspect".into(),
        kind: TargetKind::Inspect,
        files: vec![s(&cert), s(&issuing)],
        material,
        ..TargetRun::default()
    };
    let run =
        engine::run_inspect_target(run, Role::Server, Some("api.contoso.test".into()), &loaded).expect("inspect runs");
    let f = fires(&run, "server-cert-name-mismatch", Severity::Error, Symptom::Tls);
    quotes(f, "certificate names: DNS:localhost");
    quotes(f, "verify: error 62 (hostname mismatch)");
    absent(&run, "server-cert-untrusted");
}

#[tokio::test]
async fn fires_gateway_unreachable() {
    bounded(async {
        let port = free_port();
        let run = probe(peer_options(ProbeRole::Inbound, "api.contoso.test", port), refs()).await;
        let f = fires(&run, "gateway-unreachable", Severity::Error, Symptom::Tls);
        quotes(f, &format!("TCP 127.0.0.1:{port}: connection refused"));
        absent(&run, "backend-unreachable");

        // A name that does not resolve (the name server refuses): the symptom is DNS.
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let closed = udp.local_addr().expect("addr");
        drop(udp);
        let mut o = ProbeOptions::new("api.contoso.test", 443);
        o.dns_server = Some(closed);
        o.timeouts = timeouts();
        let run = probe(o, refs()).await;
        let f = fires(&run, "gateway-unreachable", Severity::Error, Symptom::Dns);
        quotes(f, "DNS lookup of api.contoso.test: ");
        quotes(f, &format!("asked: {closed}"));
    })
    .await
}

#[tokio::test]
async fn fires_proxy_refused_connect() {
    bounded(async {
        // A proxy whose rules forbid the target: the finding names the proxy's answer, not a firewall.
        let proxy = crate::curl_compat::ConnectProxy::start(Some("403 Forbidden"));
        let mut o = ProbeOptions::new("api.contoso.test", 443);
        o.timeouts = timeouts();
        o.proxy = Some(mtls_doctor::probe::proxy::Proxy::parse(&proxy.url(), "--proxy").expect("proxy url"));
        let run = probe(o, refs()).await;
        let f = fires(&run, "proxy-refused-connect", Severity::Error, Symptom::Tls);
        quotes(f, "CONNECT api.contoso.test:443 via proxy 127.0.0.1:");
        quotes(f, "403 Forbidden");
        absent(&run, "gateway-unreachable");
        assert!(f.cause.contains("do not allow a tunnel"), "{}", f.cause);
    })
    .await
}

// ---------------------------------------------------------------------------------------------------
// Key Vault (from az exports given to `inspect` with a client certificate: no network).

fn kv_run(exports: &[&str]) -> TargetRun {
    let dir = Dir::new();
    let pki = LabPki::generate().expect("pki");
    let lab = pki.write_material(&dir.path("lab")).expect("material");
    let azure = exports.iter().map(|e| azure_fixture(&dir, e, &pki)).collect();
    inspect(&[&lab.client_good.cert, &lab.client_good.key], Role::Client, MaterialRefs { azure, ..refs() })
}

#[test]
fn fires_kv_no_identity() {
    let run = kv_run(&["service-no-identity.json", "certificates.json"]);
    let f = fires(&run, "kv-no-identity", Severity::Error, Symptom::KeyVault);
    quotes(f, "service identity: none");
    quotes(f, "certificate gateway-outbound: https://kv-lab.vault.azure.net/secrets/gateway-outbound");
    absent(&run, "kv-role-missing");
}

#[test]
fn fires_kv_role_missing() {
    let run = kv_run(&["service.json", "certificates.json", "role-assignments-no-secret-read.json"]);
    let f = fires(&run, "kv-role-missing", Severity::Error, Symptom::KeyVault);
    quotes(f, "service principal(s): 6f1c2d3e-4a5b-4c6d-8e7f-90a1b2c3d4e5");
    quotes(f, "its role assignments: Reader at /subscriptions/00000000-0000-0000-0000-000000000000; Key Vault Secrets User at /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-other/providers/Microsoft.KeyVault/vaults/kv-other");
    assert!(f.cause.contains("kv-lab"), "{}", f.cause);
    // The vault's real resource id, learnt from another principal's assignment scoped to it.
    assert!(f.fix[0].ends_with("--scope \"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-lab/providers/Microsoft.KeyVault/vaults/kv-lab\""), "{:?}", f.fix);
    absent(&run, "kv-no-identity");

    let run = kv_run(&["service.json", "certificates.json", "role-assignments.json"]);
    absent(&run, "kv-role-missing");
}

#[test]
fn fires_kv_sync_failed() {
    let run = kv_run(&["service.json", "certificate-sync-failed.json", "role-assignments.json"]);
    let f = fires(&run, "kv-sync-failed", Severity::Error, Symptom::KeyVault);
    quotes(f, "keyVault.secretIdentifier: https://kv-lab.vault.azure.net/secrets/gateway-outbound");
    quotes(f, "code Forbidden");
    quotes(f, "caller does not have secrets get permission on key vault 'kv-lab'");
    // Classified: an access-policy refusal, fixed with the vault's access policy, not quoted back.
    assert!(f.cause.contains("uses access policies"), "{}", f.cause);
    assert!(f.fix[0].starts_with("az keyvault set-policy --name kv-lab --object-id 6f1c2d3e-4a5b-4c6d-8e7f-90a1b2c3d4e5 --secret-permissions get list"), "{:?}", f.fix);
    absent(&run, "kv-versioned-secret");
}

#[test]
fn fires_kv_versioned_secret() {
    let run = kv_run(&["service.json", "certificate-versioned.json", "role-assignments.json"]);
    let f = fires(&run, "kv-versioned-secret", Severity::Info, Symptom::KeyVault);
    quotes(
        f,
        "keyVault.secretIdentifier: https://kv-lab.vault.azure.net/secrets/gateway-outbound/0a1b2c3d4e5f40718293a4b5c6d7e8f9",
    );
    absent(&run, "kv-sync-failed");
}

// .NET: a chain whose certificates name no CRL distribution point and no OCSP responder ends in
// X509ChainStatusFlags.RevocationStatusUnknown under the default policy (RevocationMode.Online),
// so Verify() is false while VerifyNoRevocation() is true; the same with --offline, because no
// network can supply a status the certificates do not say where to find.
#[test]
fn fires_policy_revocation_unknown() {
    let dir = Dir::new();
    let pki = crate::util::Pki::new("Revocation");
    let leaf = pki.leaf(&Spec::leaf("client.example").client_only());
    let chain = dir.write("client.pem", format!("{}{}", leaf.cert_pem(), pki.intermediate.cert_pem()));
    let root = s(&dir.write("root.pem", pki.root.cert_pem()));
    let verify_policy = s(&dir.write(
        "verify.xml",
        r#"<policies><inbound><choose>
  <when condition="@(context.Request.Certificate == null || !context.Request.Certificate.Verify())">
    <return-response><set-status code="403" reason="Invalid client certificate" /></return-response>
  </when>
</choose></inbound></policies>"#,
    ));
    for offline in [false, true] {
        let material =
            MaterialRefs { client_ca: vec![root.clone()], policy: Some(verify_policy.clone()), offline, ..refs() };
        let run = inspect(&[&chain], Role::Client, material);
        let policy = run.policy.as_ref().expect("policy evaluated");
        assert_eq!(policy.outcome.status, 403, "Verify() is false: {:?}", policy.outcome);
        let f = fires(&run, "policy-revocation-unknown", Severity::Error, Symptom::Forbidden403);
        quotes(f, "inbound/choose[1]/when[1] condition clause 2: Verify() is false, VerifyNoRevocation() is true");
        quotes(f, "certificate 0 (CN=client.example, O=mtls-doctor lab): no CRL distribution point, no OCSP responder");
        assert!(f.fix.iter().any(|x| x.contains("VerifyNoRevocation()")), "{:?}", f.fix);
        assert!(f.fix[0].starts_with("Is revocation meant to be checked"), "{:?}", f.fix);
    }

    // validate-client-certificate with its default validate-revocation="true": 401, same cause.
    let vcc = s(&dir.write("vcc.xml", "<policies><inbound><validate-client-certificate /></inbound></policies>"));
    let material = MaterialRefs { client_ca: vec![root.clone()], policy: Some(vcc), ..refs() };
    let run = inspect(&[&chain], Role::Client, material);
    assert_eq!(run.policy.as_ref().map(|p| p.outcome.status), Some(401));
    let f = fires(&run, "policy-revocation-unknown", Severity::Error, Symptom::Forbidden403);
    quotes(f, "inbound/validate-client-certificate[1]: validate-revocation (default true) fails");

    // VerifyNoRevocation(): no revocation check, nothing fires.
    let nr = s(&dir.write(
        "norev.xml",
        r#"<policies><inbound><choose>
  <when condition="@(!context.Request.Certificate.VerifyNoRevocation())"><return-response><set-status code="403" /></return-response></when>
</choose></inbound></policies>"#,
    ));
    let material = MaterialRefs { client_ca: vec![root], policy: Some(nr), ..refs() };
    let run = inspect(&[&chain], Role::Client, material);
    assert_eq!(run.policy.as_ref().map(|p| p.outcome.status), Some(200));
    assert!(!run.findings.iter().any(|f| f.id == "policy-revocation-unknown"));
}

include!("findings_chains.rs");

// ---------------------------------------------------------------------------------------------------
// Issue 12 part 2: what the Azure configuration really says.

#[test]
fn fires_kv_certificate_url() {
    let run = kv_run(&["service.json", "certificate-certificates-url.json", "role-assignments.json"]);
    let f = fires(&run, "kv-certificate-url", Severity::Error, Symptom::KeyVault);
    quotes(f, "keyVault.secretIdentifier: https://kv-lab.vault.azure.net/certificates/gateway-outbound");
    assert!(f.fix[0].contains("https://kv-lab.vault.azure.net/secrets/gateway-outbound"), "{:?}", f.fix);
    // The secret form of the same reference is fine.
    let run = kv_run(&["service.json", "certificates.json", "role-assignments.json"]);
    absent(&run, "kv-certificate-url");
}

#[test]
fn fires_kv_rotation_pending() {
    // The lab's client certificate has the entity's subject, another thumbprint and a later expiry.
    let run = kv_run(&["service.json", "certificate-rotated.json", "role-assignments.json"]);
    let f = fires(&run, "kv-rotation-pending", Severity::Warning, Symptom::KeyVault);
    quotes(f, "certificate client-identity: thumbprint 5A0C3E9D1B7F2A4C6E8D0B1F3A5C7E9D1B3F5A7C, expires 2020-01-01T00:00:00Z");
    quotes(f, "keyVault.lastStatus.timeStampUtc: 2025-06-01T07:00:00.123Z");
    // Far more than four hours after the last read: overdue, so the fetch itself is suspect.
    assert!(f.cause.contains("ago): check keyVault.lastStatus"), "{}", f.cause);
    let run = kv_run(&["service.json", "certificates.json", "role-assignments.json"]);
    absent(&run, "kv-rotation-pending");
}

#[test]
fn fires_azure_ca_replaced() {
    let run = kv_run(&["service-two-cas.json"]);
    let f = fires(&run, "azure-ca-replaced", Severity::Warning, Symptom::Forbidden403);
    quotes(f, "thumbprint 3C1D5E7F9A0B2C4D6E8F0A1B3C5D7E9F1A2B4C6D, expiry 2027-03-01T00:00:00+00:00");
    quotes(f, "thumbprint 9E8D7C6B5A4F3E2D1C0B9A8F7E6D5C4B3A2F1E0D, expiry 2031-03-01T00:00:00+00:00");
    assert!(f.fix[0].contains("remove 3C1D5E7F9A0B2C4D6E8F0A1B3C5D7E9F1A2B4C6D"), "{:?}", f.fix);
    let run = kv_run(&["service.json"]);
    absent(&run, "azure-ca-replaced");
}

fn auth_cert_run(element: &str) -> TargetRun {
    auth_cert_run_with(element, "certificates.json")
}

fn auth_cert_run_with(element: &str, export: &str) -> TargetRun {
    let dir = Dir::new();
    let pki = LabPki::generate().expect("pki");
    let lab = pki.write_material(&dir.path("lab")).expect("material");
    let policy = format!(
        "<policies><inbound><base />{element}</inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"
    );
    let policy = s(&dir.write("policy.xml", policy));
    let azure = vec![azure_fixture(&dir, export, &pki)];
    inspect(
        &[&lab.client_good.cert, &lab.client_good.key],
        Role::Client,
        MaterialRefs { azure, policy: Some(policy), ..refs() },
    )
}

#[test]
fn fires_azure_auth_cert_not_found() {
    let run = auth_cert_run(r#"<authentication-certificate certificate-id="backend-mtls" />"#);
    let f = fires(&run, "azure-auth-cert-not-found", Severity::Error, Symptom::BadGateway502);
    quotes(f, "certificate-id=\"backend-mtls\"");
    quotes(f, "certificate ids in the export: gateway-outbound");
    let run = auth_cert_run(r#"<authentication-certificate thumbprint="0123456789ABCDEF0123456789ABCDEF01234567" />"#);
    let f = fires(&run, "azure-auth-cert-not-found", Severity::Error, Symptom::BadGateway502);
    quotes(f, "thumbprint=\"0123456789ABCDEF0123456789ABCDEF01234567\"");
    // The right id, and an expression decided per request, are not flagged.
    absent(
        &auth_cert_run(r#"<authentication-certificate certificate-id="gateway-outbound" />"#),
        "azure-auth-cert-not-found",
    );
    absent(
        &auth_cert_run(
            r#"<authentication-certificate certificate-id="@(context.Variables.GetValueOrDefault<string>(&quot;c&quot;))" />"#,
        ),
        "azure-auth-cert-not-found",
    );
    // One page of a paged certificates list, or no certificate entities exported: unknown, as such.
    for export in ["certificates-paged.json", "service.json"] {
        let run = auth_cert_run_with(r#"<authentication-certificate certificate-id="backend-mtls" />"#, export);
        let f = fires(&run, "azure-auth-cert-not-found", Severity::Info, Symptom::BadGateway502);
        assert!(f.cause.starts_with("Unknown, not missing:"), "{export}: {}", f.cause);
        quotes(f, "certificate-id=\"backend-mtls\"");
    }
}

#[test]
fn fires_azure_kv_cert_by_thumbprint() {
    // The policy names the thumbprint this run's export gives the Key Vault certificate.
    let dir = Dir::new();
    let pki = LabPki::generate().expect("pki");
    let lab = pki.write_material(&dir.path("lab")).expect("material");
    let azure = vec![azure_fixture(&dir, "certificates.json", &pki)];
    let tp = cert_info(&pki.gateway_outbound).thumbprint_sha1;
    let policy = s(&dir.write(
        "policy.xml",
        format!("<policies><inbound><base /><authentication-certificate thumbprint=\"{tp}\" /></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"),
    ));
    let run = inspect(
        &[&lab.client_good.cert, &lab.client_good.key],
        Role::Client,
        MaterialRefs { azure, policy: Some(policy), ..refs() },
    );
    let f = fires(&run, "azure-kv-cert-by-thumbprint", Severity::Warning, Symptom::BadGateway502);
    quotes(f, "certificate gateway-outbound: keyVault.secretIdentifier https://kv-lab.vault.azure.net/secrets/gateway-outbound");
    assert_eq!(f.fix, vec!["<authentication-certificate certificate-id=\"gateway-outbound\" />".to_string()]);
    absent(&run, "azure-auth-cert-not-found");
}

#[test]
fn fires_cert_name_differs_on_linux() {
    // businessCategory (2.5.4.15) is not in .NET's OidLookup table: Windows prints OID.2.5.4.15=,
    // .NET on Linux takes OpenSSL's long name (see tests/integration/cert_dotnet.rs).
    let dir = Dir::new();
    let (cert, key) = (dir.path("odd.pem"), dir.path("odd.key"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30"])
        .args(["-subj", "/CN=odd client/businessCategory=Finance"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run = inspect(&[&cert, &key], Role::Client, refs());
    let f = fires(&run, "cert-name-differs-on-linux", Severity::Warning, Symptom::Forbidden403);
    quotes(f, "managed gateway (.NET on Windows): Subject \"OID.2.5.4.15=Finance, CN=odd client\"");
    quotes(f, "self-hosted gateway (.NET on Linux): Subject \"businessCategory=Finance, CN=odd client\"");
    // An ordinary certificate reads the same on both.
    let pki = LabPki::generate().expect("pki");
    let lab = pki.write_material(&dir.path("lab")).expect("material");
    absent(
        &inspect(&[&lab.client_good.cert, &lab.client_good.key], Role::Client, refs()),
        "cert-name-differs-on-linux",
    );
}

// ---------------------------------------------------------------------------------------------------
// After the handshake, on real gateways (tests/integration/gateways.rs).

/// The gateway tests' client files and server trust, for the engine.
fn gateway_refs(dir: &Dir, client: crate::gateways::Client) -> MaterialRefs {
    use crate::gateways::Client;
    let pair = match client {
        Client::Good => Some(("client.pem", "client.key")),
        Client::Rogue => Some(("rogue.pem", "rogue.key")),
        Client::Missing => None,
    };
    MaterialRefs {
        cert: pair.map(|(c, _)| s(&dir.path(c))),
        key: pair.map(|(_, k)| s(&dir.path(k))),
        ca: vec![s(&dir.path("server-root.pem"))],
        ..refs()
    }
}

#[tokio::test]
async fn fires_closed_after_request() {
    use crate::gateways::{python_server, Client, GatewayPki, PyMode};
    bounded(async {
        let pki = GatewayPki::new();
        let dir = Dir::new();
        pki.write_client_files(&dir);
        let gw = python_server(&pki, PyMode::HangUpAfterRequest);
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], gw.port));
        let run = probe(options(ProbeRole::Inbound, "localhost", addr, "/"), gateway_refs(&dir, Client::Missing)).await;
        let f = fires(&run, "closed-after-request", Severity::Error, Symptom::Tls);
        quotes(f, "then the server closed the connection before any response byte");
        quotes(f, "no CertificateRequest in the handshake");
        assert_eq!(run.findings[0].id, "closed-after-request", "{}", summary(&run.findings));
    })
    .await
}

#[tokio::test]
async fn fires_http_403_client_cert() {
    use crate::gateways::{haproxy, Client, GatewayPki};
    bounded(async {
        let pki = GatewayPki::new();
        let dir = Dir::new();
        pki.write_client_files(&dir);
        let gw = haproxy(
            &pki,
            "verify optional ca-file {DIR}/client-ca.pem",
            "  http-request deny unless { ssl_c_used } { ssl_c_verify 0 }",
        );
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], gw.port));
        let run = probe(options(ProbeRole::Inbound, "localhost", addr, "/"), gateway_refs(&dir, Client::Missing)).await;
        let f = fires(&run, "http-403-client-cert", Severity::Error, Symptom::Forbidden403);
        quotes(f, "no client certificate presented");
        quotes(f, "HTTP 403 HTTP/1.1 answered by HAProxy's 403 page");
        assert_eq!(run.findings[0].id, "http-403-client-cert", "{}", summary(&run.findings));
        absent(&run, "http-403-after-handshake");
    })
    .await
}
include!("findings_routes.rs");
include!("findings_kv.rs");
include!("findings_policy_safety.rs");
include!("findings_lookalike.rs");
include!("findings_forwarded.rs");

/// The `azure-backend-cert-not-found` findings of a run, by the backend their evidence names.
fn backend_cert_finding<'a>(run: &'a TargetRun, backend: &str) -> Option<&'a Finding> {
    let named = format!("backend {backend} (");
    run.findings
        .iter()
        .filter(|f| f.id == "azure-backend-cert-not-found")
        .find(|f| f.evidence.iter().any(|e| e.starts_with(&named)))
}

#[test]
fn fires_azure_backend_cert_not_found() {
    let run = kv_run(&["service.json", "certificates.json", "backends-missing-cert.json"]);
    fires(&run, "azure-backend-cert-not-found", Severity::Error, Symptom::BadGateway502);
    // certificateIds naming an entity the export does not have (and of another service).
    let f = backend_cert_finding(&run, "lab-orders").expect("lab-orders flagged");
    assert_eq!(f.severity, Severity::Error);
    quotes(f, "backend lab-orders (https://orders.backend.lab.test/): credentials.certificateIds /subscriptions/");
    quotes(f, "/service/old-apim/certificates/orders-mtls names a certificate of service old-apim, not of lab-apim");
    quotes(f, "certificate entities in the export: gateway-outbound ");
    // The thumbprint beside the ids is the gateway-outbound one, but the service ignores it.
    quotes(f, "is not checked: the Backend contract ignores thumbprints when certificateIds is set");
    assert!(f.cause.contains("presents certificate orders-mtls (credentials.certificateIds)"), "{}", f.cause);
    // A Service Fabric backend's clientCertificatethumbprint that no entity has.
    let f = backend_cert_finding(&run, "lab-fabric-old").expect("lab-fabric-old flagged");
    quotes(f, "serviceFabricCluster.clientCertificatethumbprint 4B1E2A7C9D0F3E5A6B8C1D2E3F4A5B6C7D8E9F01");
    // The Service Fabric backend whose clientCertificateId exists is not flagged.
    assert!(backend_cert_finding(&run, "lab-fabric").is_none(), "{}", summary(&run.findings));

    // Without the service export, the backend's own resource id names the service.
    let run = kv_run(&["certificates.json", "backends-missing-cert.json"]);
    let f = backend_cert_finding(&run, "lab-orders").expect("lab-orders flagged");
    quotes(f, "names a certificate of service old-apim, not of lab-apim");

    // Without a certificates export: unknown, said as such, never "missing".
    let run = kv_run(&["service.json", "backends-missing-cert.json"]);
    let f = fires(&run, "azure-backend-cert-not-found", Severity::Info, Symptom::BadGateway502);
    assert!(f.cause.starts_with("Unknown, not missing:"), "{}", f.cause);
    quotes(f, "unknown: the exports given hold no certificate entities");
    assert!(f.fix[0].contains("/service/lab-apim/certificates?api-version="), "{:?}", f.fix);
    assert!(run
        .findings
        .iter()
        .filter(|f| f.id == "azure-backend-cert-not-found")
        .all(|f| f.severity == Severity::Info));

    // Every reference resolves: silent.
    absent(&kv_run(&["service.json", "certificates.json", "backends.json"]), "azure-backend-cert-not-found");

    // One page of a paged certificates list (a nextLink): a certificate not on it is unknown.
    let run = kv_run(&["service.json", "certificates-paged.json", "backends-missing-cert.json"]);
    let f = backend_cert_finding(&run, "lab-orders").expect("lab-orders reported");
    assert_eq!(f.severity, Severity::Info, "{}", f.cause);
    assert!(f.cause.starts_with("Unknown, not missing:") && f.cause.contains("certificates-paged.json"), "{}", f.cause);
    quotes(f, "is one page of a paged list (nextLink)");
    assert!(f.fix[0].contains("nextLink"), "{:?}", f.fix);
    let azure = run.azure.as_ref().map(|a| a.notes.join("\n")).unwrap_or_default();
    assert!(azure.contains("one page of the certificates list"), "{azure}");
}

#[test]
fn fires_client_chain_via_aia() {
    let dir = Dir::new();
    let fx = crate::dotnet_oracle_aia::aia_fixture(&dir);
    let material = |offline| MaterialRefs { client_ca: vec![s(&fx.root)], offline, ..refs() };
    // Fetched: the chain verifies through the downloaded issuer; a warning with the URL.
    let run = inspect(&[&fx.good], Role::Client, material(false));
    let f = fires(&run, "client-chain-via-aia", Severity::Warning, Symptom::Forbidden403);
    quotes(f, &format!("caIssuers {}: fetched a DER certificate: CN=AIA Finding Issuing", fx.server.url("/int.cer")));
    assert!(f.fix[0].contains("full chain") && f.fix[0].contains("CN=AIA Finding Issuing"), "{:?}", f.fix);
    assert!(!run.findings.iter().any(|f| f.id == "client-chain-untrusted"), "{}", summary(&run.findings));
    // --offline: not fetched, the answer depends on the gateway.
    let run = inspect(&[&fx.good], Role::Client, material(true));
    let f = fires(&run, "client-chain-via-aia", Severity::Warning, Symptom::Forbidden403);
    quotes(f, "no issuer: not fetched (--offline)");
    assert!(f.cause.contains("depends on the gateway"), "{}", f.cause);
    assert!(!run.findings.iter().any(|f| f.id == "client-chain-untrusted"), "{}", summary(&run.findings));
    // 404: an error next to client-chain-untrusted.
    let run = inspect(&[&fx.broken], Role::Client, material(false));
    let f = fires(&run, "client-chain-via-aia", Severity::Error, Symptom::Forbidden403);
    quotes(f, "no issuer: could not be fetched: HTTP status 404");
    assert!(run.findings.iter().any(|f| f.id == "client-chain-untrusted"), "{}", summary(&run.findings));
}
