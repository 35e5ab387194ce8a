//! The report contract: real output of every command validated against docs/report-schema.json
//! and read back into structs that deny unknown fields (as ripgrep's tests/json.rs does), plus the
//! Markdown incident note.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::peers::s_server;
use crate::session::{assert_no_secrets, probe_args, Material};
use crate::util::{bin, run, stderr, stdout, Dir};

// ---- The contract as the test reads it: every field named, nothing else allowed. ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Cert {
    subject: String,
    subject_rfc4514: String,
    issuer: String,
    issuer_rfc4514: String,
    thumbprint_sha1: String,
    thumbprint_sha256: String,
    serial: String,
    not_before: String,
    not_after: String,
    days_left: i64,
    sans: Vec<String>,
    key: CertKey,
    signature_algorithm: String,
    key_usage: Vec<String>,
    eku: Option<Vec<String>>,
    is_ca: bool,
    path_len: Option<u32>,
    self_signed: bool,
    ski: Option<String>,
    aki: Option<String>,
    pem: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct CertKey {
    algorithm: String,
    bits: Option<u32>,
    curve: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Verdict {
    ok: bool,
    code: i32,
    code_name: String,
    reason: Option<String>,
    depth: Option<usize>,
    path: Vec<String>,
    chain_problems: Vec<ChainProblem>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
#[allow(dead_code)]
enum ChainProblem {
    MissingIntermediate { needed_issuer: String },
    OutOfOrder,
    RootIncluded { subject: String },
    IssuerKeyMismatch { issuer: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Finding {
    /// In a probe report: the target the finding is about.
    target_id: Option<String>,
    target_name: Option<String>,
    id: String,
    severity: String,
    symptom: String,
    title: String,
    cause: String,
    evidence: Vec<String>,
    fix: Vec<String>,
    snippet: Option<String>,
    guide: String,
    subject: Option<String>,
    related: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct KeyReport {
    origin: String,
    algorithm: String,
    matches_certificate: Option<String>,
    signature_schemes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct VerifyContext {
    role: String,
    host: Option<String>,
    trust: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct PolicyEvaluation {
    source: String,
    certificate: Option<String>,
    outcome: PolicyOutcome,
}

/// The policy engine's own items are checked by the schema; here their lists are counted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct PolicyOutcome {
    status: u16,
    determined: bool,
    decided_by: Option<String>,
    elements: Vec<Value>,
    comparisons: Vec<Value>,
    verify_calls: Vec<Value>,
    #[serde(default)]
    last_error: Option<Value>,
    #[serde(default)]
    checks: Option<Value>,
    identity_checks: Vec<Value>,
    unevaluable: Vec<Value>,
    authentication_certificates: Vec<Value>,
    #[serde(default)]
    backend_routing: Option<Value>,
    notes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ClientVerify {
    uploaded: Vec<String>,
    thumbprint: String,
    verdict: Verdict,
    #[serde(default)]
    revocation: Option<Value>,
    #[serde(default)]
    revocation_answer: Option<Value>,
    #[serde(default)]
    issuer_fetch: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct InspectReport {
    schema_version: u32,
    certificates: Vec<Cert>,
    keys: Vec<KeyReport>,
    verify: Option<Verdict>,
    verify_context: Option<VerifyContext>,
    policy: Option<PolicyEvaluation>,
    client_verify: Option<ClientVerify>,
    #[serde(default)]
    azure: Option<serde_json::Value>,
    findings: Vec<Finding>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Target {
    host: String,
    port: u16,
    sni: String,
    connect_to: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Dns {
    query: String,
    addresses: Vec<String>,
    cnames: Vec<String>,
    servers: Vec<String>,
    from_hosts_file: bool,
    literal: bool,
    error: Option<String>,
    error_kind: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Tcp {
    connected: bool,
    address: Option<String>,
    attempts: Vec<TcpAttempt>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct TcpAttempt {
    address: String,
    outcome: String,
    error: Option<String>,
    ms: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Tls {
    version: Option<String>,
    cipher_suite: Option<String>,
    key_exchange: Option<String>,
    alpn: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Handshake {
    ok: bool,
    alert: Option<String>,
    error: Option<String>,
    failure: Option<TlsFailure>,
    rejected_after_handshake: bool,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
#[allow(dead_code)]
enum TlsFailure {
    AlertReceived { alert: String },
    PeerIncompatible { detail: String },
    PeerMisbehaved { detail: String },
    InappropriateMessage { detail: String },
    InvalidMessage { detail: String },
    ConnectionClosed,
    ConnectionReset,
    Timeout,
    Other { detail: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Http {
    version: String,
    status: u16,
    headers: Vec<(String, String)>,
    body_preview: String,
    body_truncated: bool,
    body_timed_out: bool,
    body_bytes_received: u64,
    content_length: Option<u64>,
    body_cut_short: Option<String>,
    ttfb_ms: f64,
    request: Option<SentRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SentRequest {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Option<RequestBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RequestBody {
    length: u64,
    sha256: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Timings {
    dns: Option<f64>,
    tcp: Option<f64>,
    tls: Option<f64>,
    http: Option<f64>,
    total: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Probe {
    /// In a probe report (not in a nested compare_without_cert or a session).
    target_id: Option<String>,
    target_name: Option<String>,
    role: String,
    target: Target,
    started_at: String,
    dns: Dns,
    tcp: Tcp,
    tls: Tls,
    server_chain: Vec<Cert>,
    server_verify: Option<Verdict>,
    client_cert_requested: bool,
    acceptable_ca_names: Vec<String>,
    acceptable_ca_names_bytes: usize,
    requested_signature_schemes: Vec<String>,
    client_cert_sent: bool,
    client_cert_not_sent_reason: Option<String>,
    client_chain: Vec<Cert>,
    handshake: Handshake,
    http: Option<Http>,
    http_error: Option<String>,
    failed_phase: Option<String>,
    timings_ms: Timings,
    compare_without_cert: Option<Box<Probe>>,
    http_failure: Option<Value>,
    http_error_chain: Vec<String>,
    plain_http_reply: bool,
    late_cert_request: Option<Value>,
    late_auth: Vec<Value>,
    http1_retry: Option<Box<Probe>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Evaluation {
    target_id: String,
    target: String,
    policy: Option<PolicyEvaluation>,
    client_verify: Option<ClientVerify>,
    #[serde(default)]
    azure: Option<serde_json::Value>,
    #[serde(default)]
    outbound_policy: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct TargetError {
    target_id: String,
    target: String,
    error: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ProbeReport {
    schema_version: u32,
    probes: Vec<Probe>,
    evaluations: Vec<Evaluation>,
    errors: Vec<TargetError>,
    findings: Vec<Finding>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct CertSummary {
    subject: String,
    issuer: String,
    thumbprint_sha1: String,
    serial: String,
    not_before: String,
    not_after: String,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
#[allow(dead_code)]
enum Change {
    CertificateRotated { chain: String, position: usize, before: CertSummary, after: CertSummary },
    CertificateAdded { chain: String, position: usize, certificate: CertSummary },
    CertificateRemoved { chain: String, position: usize, certificate: CertSummary },
    VerdictChanged { what: String, before: String, after: String },
    HttpStatusChanged { before: Option<u16>, after: Option<u16> },
    FindingAppeared { id: String, severity: String, title: String },
    FindingResolved { id: String, severity: String, title: String },
    ErrorChanged { before: Option<String>, after: Option<String> },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct DiffSide {
    file: String,
    created_at: String,
    tool_version: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct TargetDiff {
    name: String,
    status: String,
    changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct DiffReport {
    schema_version: u32,
    before: DiffSide,
    after: DiffSide,
    targets: Vec<TargetDiff>,
}

// ---- Schema ----

fn schema_doc() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("docs/report-schema.json")).expect("schema is JSON")
}

/// A validator for one of the schema's documents (`#/$defs/NAME`), within the same document so
/// every internal reference resolves.
fn validator(def: &str) -> jsonschema::Validator {
    let mut doc = schema_doc();
    assert!(doc["$defs"].get(def).is_some(), "schema has no $defs/{def}");
    let top = doc.as_object_mut().expect("object");
    top.remove("oneOf");
    top.insert("$ref".into(), Value::String(format!("#/$defs/{def}")));
    jsonschema::draft202012::new(&doc).expect("valid JSON Schema")
}

pub(crate) fn assert_valid(def: &str, what: &str, doc: &Value) {
    let v = validator(def);
    let errors: Vec<String> = v.iter_errors(doc).take(5).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{what} does not match $defs/{def}: {errors:#?}");
    // The whole schema (oneOf the four documents) accepts it too.
    let whole = jsonschema::draft202012::new(&schema_doc()).expect("schema");
    assert!(whole.is_valid(doc), "{what} is not exactly one of the documented documents");
}

fn json_of(o: &std::process::Output, what: &str) -> Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", stdout(o)))
}

fn ok(args: &[String], codes: &[i32]) -> std::process::Output {
    let o = run(bin().args(args));
    let code = o.status.code().unwrap_or(-1);
    assert!(codes.contains(&code), "{args:?}: exit {code}\n{}", stderr(&o));
    o
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn every_json_output_matches_the_schema_and_the_test_structs() {
    let m = Material::new();
    let out = Dir::new();
    let peer = m.strict_server();

    // probe (with a client certificate the server requires: compare_without_cert is filled).
    let session_file = out.path("probe-session.json");
    let mut a = probe_args(&m, peer.port);
    a.extend(s(&["--report", "json", "--client-ca", &p(&m.path("client-root.pem")), "--save", &p(&session_file)]));
    let probe = json_of(&ok(&a, &[0, 1]), "probe");
    assert_valid("probe_report", "probe", &probe);
    let r: ProbeReport = serde_json::from_value(probe.clone()).expect("probe report reads back");
    assert_eq!(r.schema_version, 1);
    assert!(r.probes[0].compare_without_cert.is_some());
    assert_eq!(r.probes[0].target_id.as_deref(), Some("t1"), "every probe carries its target's id");
    assert!(r.findings.iter().all(|f| f.target_id.as_deref() == Some("t1") && f.target_name.is_some()));
    assert!(r.evaluations.iter().all(|e| e.target_id == "t1"));
    assert_eq!(r.evaluations.len(), 1, "Verify() against --client-ca");

    // A failed probe (nothing listens) is a report too.
    let closed = crate::peers::free_port();
    let failed = json_of(
        &ok(&s(&["probe", &format!("127.0.0.1:{closed}"), "--timeout", "3", "--report", "json"]), &[0, 1]),
        "failed probe",
    );
    assert_valid("probe_report", "failed probe", &failed);
    let r: ProbeReport = serde_json::from_value(failed).expect("reads back");
    assert!(!r.probes[0].tcp.connected);

    // inspect, with keys, a policy-less chain verdict and Verify().
    let inspect = json_of(
        &ok(
            &s(&[
                "inspect",
                &p(&m.path("client.pfx")),
                "--pfx-password-file",
                &p(&m.path("pfx-password.txt")),
                "--ca",
                &p(&m.path("client-root.pem")),
                "--report",
                "json",
                "--save",
                &p(&out.path("inspect-session.json")),
            ]),
            &[0, 1],
        ),
        "inspect",
    );
    assert_valid("inspect_report", "inspect", &inspect);
    let r: InspectReport = serde_json::from_value(inspect).expect("inspect report reads back");
    assert_eq!(r.keys.len(), 1);
    assert!(r.verify.is_some_and(|v| v.ok));

    // The demo: every lab failure, policies and Azure configuration included.
    let demo_session = out.path("demo-session.json");
    let demo = json_of(&ok(&s(&["demo", "--headless", "--report", "json", "--save", &p(&demo_session)]), &[0]), "demo");
    assert_valid("probe_report", "demo", &demo);
    let r: ProbeReport = serde_json::from_value(demo).expect("demo report reads back");
    assert!(r.evaluations.iter().any(|e| e.policy.is_some()), "the demo evaluates policies");
    let azure =
        r.evaluations.iter().find_map(|e| e.azure.as_ref()).expect("the imported Azure configuration is in the report");
    assert!(azure["service"]["hostnames"].is_array(), "{azure}");

    // replay and open, as JSON.
    let replayed = out.path("replayed.json");
    let replay = json_of(
        &ok(&s(&["replay", &p(&session_file), "--report", "json", "--save", &p(&replayed)]), &[0, 1]),
        "replay",
    );
    assert_valid("probe_report", "replay", &replay);
    serde_json::from_value::<ProbeReport>(replay).expect("replay report reads back");
    let opened = json_of(&ok(&s(&["open", &p(&out.path("inspect-session.json")), "--report", "json"]), &[0]), "open");
    assert_valid("inspect_report", "open of an inspect session", &opened);
    serde_json::from_value::<InspectReport>(opened).expect("reads back");

    // diff.
    let diff = json_of(&ok(&s(&["diff", &p(&session_file), &p(&replayed), "--report", "json"]), &[0, 1]), "diff");
    assert_valid("diff_report", "diff", &diff);
    let d: DiffReport = serde_json::from_value(diff).expect("diff reads back");
    assert_eq!(d.targets.len(), 1);

    // Session files.
    for f in [&session_file, &out.path("inspect-session.json"), &demo_session, &replayed] {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(f).expect("read")).expect("json");
        assert_valid("session", &p(f), &v);
        assert_no_secrets(&p(f), &v.to_string());
    }
}

#[test]
fn the_schema_rejects_drift_and_unredacted_secrets() {
    let m = Material::new();
    let inspect = json_of(&ok(&s(&["inspect", &p(&m.path("client.pem")), "--report", "json"]), &[0, 1]), "inspect");
    let v = validator("inspect_report");
    assert!(v.is_valid(&inspect));
    let mut extra = inspect.clone();
    extra["certificates"][0]["new_field"] = true.into();
    assert!(!v.is_valid(&extra), "an undocumented field is drift");
    assert!(serde_json::from_value::<InspectReport>(extra).is_err(), "and the test structs refuse it too");
    let mut missing = inspect.clone();
    missing.as_object_mut().expect("object").remove("findings");
    assert!(!v.is_valid(&missing));
    let mut lower = inspect;
    lower["certificates"][0]["thumbprint_sha1"] = "ab".repeat(20).into();
    assert!(!v.is_valid(&lower), "thumbprints are uppercase, as APIM shows them");

    // A session whose secret header kept its value is not a valid session.
    let peer = s_server(&m.path("server.pem"), &m.path("server.key"), &["-www"]);
    let f = m.path("s.json");
    let mut a = probe_args(&m, peer.port);
    a.extend(s(&["--save", &p(&f)]));
    ok(&a, &[0, 1]);
    let mut session: Value = serde_json::from_str(&std::fs::read_to_string(&f).expect("read")).expect("json");
    let v = validator("session");
    assert!(v.is_valid(&session));
    assert!(
        session["targets"][0]["options"]["headers"][0][1] == "[redacted]",
        "the secret header is a [name, value] pair: {}",
        session["targets"][0]["options"]["headers"]
    );
    session["targets"][0]["options"]["headers"][0][1] = "a-real-key".into();
    assert!(!v.is_valid(&session), "secret header values must be [redacted]");
}

#[test]
fn markdown_is_a_ready_to_paste_incident_note() {
    let m = Material::new();
    let peer = m.strict_server();
    let mut a = probe_args(&m, peer.port);
    a.extend(s(&["--report", "markdown", "--client-ca", &p(&m.path("client-root.pem"))]));
    let o = ok(&a, &[0, 1]);
    let md = stdout(&o);
    assert!(md.starts_with("# mTLS incident note (mtls-doctor)\n"), "{md}");
    assert!(md.contains("| Target | Kind | Handshake | HTTP | Chain verdict | Findings |"), "{md}");
    assert!(md.contains(&format!("| localhost:{} inbound | probe | ok (TLSv1.3) | 200 | 0 ok |", peer.port)), "{md}");
    assert!(
        md.contains(
            "- Client certificate requested: yes, 1 acceptable CA name(s): `CN=Sess Client Root, O=mtls-doctor lab`"
        ),
        "{md}"
    );
    assert!(md.contains("- Same probe without the client certificate: handshake failed after the handshake: alert certificate\\_required"), "{md}");
    assert!(md.contains("- Verify() against uploaded CAs"), "{md}");
    assert!(md.contains(&format!("`{}`", m.client.thumbprint())), "{md}");
    assert!(md.contains("### Server chain (as sent)") && md.contains("### Client chain (configured)"), "{md}");
    assert_no_secrets("markdown", &md);

    // Findings carry their id, cause, evidence and numbered fix steps.
    let expired = Dir::new();
    let root = mtls_doctor::pki::Issued::self_signed(&mtls_doctor::pki::Spec::ca("Md Root")).expect("root");
    let leaf = root.issue(&mtls_doctor::pki::Spec::leaf("md client").client_only().valid_days(-30, -1)).expect("leaf");
    let cert = expired.write("expired.pem", leaf.cert_pem());
    let ca = expired.write("root.pem", root.cert_pem());
    let o = ok(&s(&["inspect", &p(&cert), "--ca", &p(&ca), "--report", "markdown"]), &[1]);
    let md = stdout(&o);
    assert!(md.contains("(`cert-expired`)"), "{md}");
    assert!(md.contains("#### 1. ERROR "), "{md}");
    assert!(md.contains("Fix:\n\n1. "), "{md}");
    assert!(md.contains("Evidence:\n\n- "), "{md}");
    assert!(md.contains("- Chain verdict: error 10 (certificate has expired)"), "{md}");
    // Stable: the same session renders byte for byte the same.
    let f = expired.path("s.json");
    ok(&s(&["inspect", &p(&cert), "--ca", &p(&ca), "--save", &p(&f)]), &[1]);
    let a1 = stdout(&ok(&s(&["open", &p(&f), "--report", "markdown"]), &[0]));
    let a2 = stdout(&ok(&s(&["open", &p(&f), "--report", "markdown"]), &[0]));
    assert_eq!(a1, a2);
    assert!(!a1.contains('\u{1b}'), "no colour in a report");
}

#[test]
fn markdown_escapes_what_would_break_the_note() {
    use mtls_doctor::report::{md_code, md_text};
    assert_eq!(md_text("a|b *c* _d_ <e> [f](g)"), "a\\|b \\*c\\* \\_d\\_ \\<e\\> \\[f\\](g)");
    assert_eq!(md_text("x\u{1b}[2Jy\nz"), "x\\\\u{001B}\\[2Jy\\\\nz");
    assert_eq!(md_code("CN=a|b"), "`CN=a\\|b`");
    assert_eq!(md_code("has `tick`"), "`` has `tick` ``");
    assert_eq!(md_code("a ``b`` c"), "```a ``b`` c```");
    assert_eq!(md_code("`x`"), "`` `x` ``");
    assert_eq!(md_code(""), "` `");
}

#[test]
fn demo_headless_markdown_lists_every_target() {
    let o = ok(&s(&["demo", "--headless", "--report", "markdown"]), &[0]);
    let md = stdout(&o);
    let summary: Vec<&str> = md
        .lines()
        .skip_while(|l| *l != "## Summary")
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Target") && !l.starts_with("| ---"))
        .collect();
    assert_eq!(summary.len(), 10, "ten demo targets in the summary: {summary:#?}");
    assert!(
        summary.iter().any(|r| r.starts_with("| policy literal pasted from Windows (offline) | inspect |")),
        "{summary:#?}"
    );
    for id in ["`gateway-did-not-request-cert`", "`thumbprint-invisible-char`", "`backend-distrusts-client-ca`"] {
        assert!(md.contains(id), "{id} in {md}");
    }
    assert!(!md.contains("demo-subscription-key-0000"));
    assert!(!md.contains('\u{200E}'), "invisible characters are shown, not printed");
}
