//! Property tests over every parser of untrusted input (issue 15, "keep it so"): the PEM / DER /
//! PFX loaders, the policy parser and evaluator, the session loader, the targets parser and the
//! theme loader. Inputs are random bytes, random token soup in each format's own vocabulary, and
//! mutations (flips, inserts, deletes, truncations) of valid files made at test time. The property
//! is the tool's contract for bad input: no panic, an answer within a bounded time, and an error
//! that is one line naming where the input came from.
//!
//! The seed is fixed and the case counts are small so the whole harness runs in seconds in CI;
//! `PROPTEST_CASES=20000 cargo test --test integration fuzz_` runs it longer and
//! `PROPTEST_RNG_SEED=N` explores other inputs (docs/fuzzing.md).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use mtls_doctor::cert::{CertInfo, Certificate};
use mtls_doctor::material::{load_bytes, Password, PasswordSource};
use mtls_doctor::pki::Spec;
use mtls_doctor::policy::{evaluate, parse_policy, PolicyInput};
use mtls_doctor::targets::{targets_from_file, TargetDefaults};

use crate::util::{openssl, Dir, Pki};

/// One case may take this long at most (generous: the CI machine is shared and loaded).
const CASE_BUDGET: Duration = Duration::from_secs(10);

fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x6d74_6c73_646f_6374),
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    }
}

/// Run `f`, failing the case when it takes longer than the budget.
fn bounded<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    assert!(start.elapsed() < CASE_BUDGET, "{what} took {:?}", start.elapsed());
    out
}

/// An error a person reads: one line, naming the input.
fn one_clear_line(err: &str, origin: &str) {
    assert!(!err.trim().is_empty(), "empty error");
    assert!(!err.contains('\n'), "error spans lines: {err:?}");
    assert!(err.contains(origin), "error does not name {origin}: {err:?}");
}

#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), 1u8..).prop_map(|(p, b)| Edit::Flip(p, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Edit::Insert(p, b)),
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Truncate),
    ];
    proptest::collection::vec(edit, 1..8)
}

fn mutate(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for e in edits {
        let n = v.len().max(1);
        match *e {
            Edit::Flip(p, b) if !v.is_empty() => v[p % n] ^= b,
            Edit::Insert(p, b) => v.insert(p % (v.len() + 1), b),
            Edit::Delete(p) if !v.is_empty() => {
                v.remove(p % n);
            }
            Edit::Truncate(p) => v.truncate(p % n),
            _ => {}
        }
    }
    v
}

/// Valid material made once: PEM certificate + key, DER certificate, DER key, PFX (password "pw").
struct Seeds {
    pem: Vec<u8>,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
    pfx: Vec<u8>,
    info: CertInfo,
}

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let pki = Pki::new("Fuzz");
        let leaf = pki.leaf(&Spec::leaf("client.example").client_only());
        let dir = Dir::new();
        let (cert, key) = dir.write_issued("leaf", &leaf);
        let pfx = dir.path("leaf.pfx");
        let s = |p: &std::path::Path| p.to_str().expect("utf-8 temp path").to_string();
        let (ok, out) = openssl(&[
            "pkcs12",
            "-export",
            "-in",
            &s(&cert),
            "-inkey",
            &s(&key),
            "-out",
            &s(&pfx),
            "-passout",
            "pass:pw",
            "-iter",
            "16",
        ]);
        assert!(ok, "openssl pkcs12: {out}");
        let key_pem = leaf.key_pem();
        let key_b64: String = key_pem.lines().filter(|l| !l.starts_with("-----")).collect();
        use base64::Engine as _;
        let key_der = base64::engine::general_purpose::STANDARD.decode(key_b64).expect("key PEM body");
        let info = Certificate::from_der(leaf.der.clone(), "seed").expect("seed certificate").info;
        Seeds {
            pem: format!("{}{}", leaf.cert_pem(), key_pem).into_bytes(),
            cert_der: leaf.der.to_vec(),
            key_der,
            pfx: std::fs::read(&pfx).expect("read pfx"),
            info,
        }
    })
}

fn pem_wrap(label: &str, der: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ascii"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out.into_bytes()
}

fn load_material(bytes: &[u8]) {
    let origin = "fuzz-input.bin";
    let password = PasswordSource::Given(Password::new("pw"));
    if let Err(e) = bounded("loading material", || load_bytes(bytes, origin, &password)) {
        one_clear_line(&e.to_string(), origin);
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn fuzz_material_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        load_material(&bytes);
    }

    #[test]
    fn fuzz_material_mutated(which in 0usize..5, e in edits()) {
        let s = seeds();
        let bytes = match which {
            0 => mutate(&s.pem, &e),
            1 => mutate(&s.cert_der, &e),
            2 => mutate(&s.key_der, &e),
            3 => mutate(&s.pfx, &e),
            _ => pem_wrap(if e.len() % 2 == 0 { "CERTIFICATE" } else { "PRIVATE KEY" },
                          &mutate(if e.len() % 2 == 0 { &s.cert_der } else { &s.key_der }, &e)),
        };
        load_material(&bytes);
    }
}

/// Words of the C# subset policies use, glued at random into a `when` condition.
const CS_TOKENS: &[&str] = &[
    "context.Request.Certificate",
    ".Thumbprint",
    ".Issuer",
    ".SubjectName.Name",
    ".NotAfter",
    ".NotBefore",
    ".Verify()",
    ".VerifyNoRevocation()",
    "context.Deployment.Certificates",
    "DateTime.Now",
    "DateTime.UtcNow",
    "==",
    "!=",
    "<",
    ">",
    "&&",
    "||",
    "!",
    "?.",
    "??",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ".",
    "=>",
    "c",
    "null",
    "true",
    "false",
    "\"ABC\"",
    "\"\"",
    "'x'",
    "new[]",
    "new string[]",
    ".Any(",
    ".Contains(",
    ".ToUpper()",
    ".Equals(",
    "string.IsNullOrEmpty(",
    "@(",
    "\"",
    "\\",
    "0",
    "-1",
    "99999999999999999999",
    ".TryGetValue(",
    "out",
    "var",
    "x",
    ";",
    "return",
    "{{nv}}",
    "\u{202e}",
    "\u{0}",
    // Numbers, dates, header arrays and the extension classes (policy_numbers.rs, policy_linq.rs).
    "+",
    "*",
    "/",
    "%",
    "&",
    "|",
    "2147483647",
    "0.5",
    "as",
    "(int)",
    "int.Parse(",
    ".Length",
    ".TotalDays",
    "TimeSpan.FromDays(",
    ".AddMonths(",
    "context.Request.Headers",
    ".Extensions",
    ".OfType<X509KeyUsageExtension>()",
    ".Cast<X509Extension>()",
    ".KeyUsages",
    ".HasFlag(",
    "X509KeyUsageFlags.DigitalSignature",
];

fn xml_attr(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

fn guarded(condition: &str) -> String {
    format!(
        "<policies><inbound><base /><choose><when condition=\"{}\"><return-response>\
         <set-status code=\"403\" reason=\"no\" /></return-response></when></choose>\
         <validate-client-certificate validate-revocation=\"true\" validate-trust=\"true\">\
         <identities><identity thumbprint=\"AB\" /></identities></validate-client-certificate>\
         </inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>",
        xml_attr(condition)
    )
}

fn parse_and_evaluate(xml: &str) {
    let origin = "fuzz-policy.xml";
    let s = seeds();
    bounded("policy parse and evaluation", || match parse_policy(xml, origin) {
        Ok(policy) => {
            for cert in [None, Some(&s.info)] {
                let input = PolicyInput {
                    cert,
                    verify_no_revocation_ok: Some(true),
                    now: time::OffsetDateTime::UNIX_EPOCH,
                    ..Default::default()
                };
                let _ = evaluate(&policy, &input);
            }
        }
        Err(e) => one_clear_line(&e.to_string(), origin),
    });
}

proptest! {
    #![proptest_config(config(384))]

    #[test]
    fn fuzz_policy_condition_token_soup(tokens in proptest::collection::vec(0..CS_TOKENS.len(), 0..40)) {
        let condition: String = tokens.iter().map(|&i| CS_TOKENS[i]).collect::<Vec<_>>().join(" ");
        parse_and_evaluate(&guarded(&condition));
        parse_and_evaluate(&guarded(&format!("@({condition})")));
    }

    #[test]
    fn fuzz_policy_mutated_xml(e in edits()) {
        let seed = guarded("context.Request.Certificate == null || !context.Request.Certificate.Verify()");
        let bytes = mutate(seed.as_bytes(), &e);
        parse_and_evaluate(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn fuzz_policy_random_text(text in "\\PC{0,300}") {
        parse_and_evaluate(&text);
    }
}

fn session_seed() -> &'static [u8] {
    static SEED: OnceLock<Vec<u8>> = OnceLock::new();
    SEED.get_or_init(|| {
        let p =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sessions/v1-probe-and-inspect.json");
        std::fs::read(p).expect("session fixture")
    })
}

fn load_session(bytes: &[u8]) {
    let origin = "fuzz-session.json";
    if let Err(e) = bounded("session load", || mtls_doctor::session::parse(bytes, origin)) {
        one_clear_line(&e.to_string(), origin);
    }
}

proptest! {
    #![proptest_config(config(384))]

    #[test]
    fn fuzz_session_mutated(e in edits()) {
        load_session(&mutate(session_seed(), &e));
    }

    #[test]
    fn fuzz_session_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        load_session(&bytes);
    }
}

/// Lines of both targets forms (plain HOST[:PORT] lines and TOML tables), glued at random.
const TARGET_LINES: &[&str] = &[
    "example.com",
    "example.com:443",
    "[::1]:8443",
    "::1",
    "host:0",
    "host:65536",
    "host:-1",
    ":443",
    "a b",
    "# comment",
    "",
    "[[target]]",
    "[target]",
    "host = \"api.example\"",
    "host = \"\"",
    "port = 443",
    "port = 70000",
    "port = \"x\"",
    "name = \"one\"",
    "name = \"\"",
    "role = \"outbound\"",
    "role = \"x\"",
    "sni = \"\u{202e}x\"",
    "timeout = -1",
    "timeout = 1e309",
    "cert = \"missing.pem\"",
    "headers = [\"A: b\"]",
    "headers = [\"bad\"]",
    "tls_version = \"1.9\"",
    "alpn = []",
    "unknown = 1",
    "host = 'a'\u{0}",
    "\u{feff}x",
];

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn fuzz_targets_files(lines in proptest::collection::vec(0..TARGET_LINES.len(), 0..24), toml in any::<bool>()) {
        let dir = Dir::new();
        let text: String = lines.iter().map(|&i| format!("{}\n", TARGET_LINES[i])).collect();
        let file = dir.write(if toml { "targets.toml" } else { "targets.txt" }, &text);
        let origin = file.display().to_string();
        if let Err(e) = bounded("targets file", || targets_from_file(&file, &TargetDefaults::default())) {
            one_clear_line(&e.to_string(), &origin);
        }
        // Bad entries recorded per target (probe without --fail-fast): each error is one clear line
        // naming the file, and a good entry carries none.
        let recorded = bounded("targets file, entries recorded", || {
            mtls_doctor::targets::read_entries(&file, &TargetDefaults::default(), mtls_doctor::targets::BadEntry::Record)
        });
        match recorded {
            Err(e) => one_clear_line(&e.to_string(), &origin),
            Ok(entries) => {
                prop_assert!(!entries.is_empty());
                for entry in entries {
                    prop_assert!(entry.at.starts_with(&origin));
                    if let Some(e) = &entry.run.error {
                        one_clear_line(e, &origin);
                    }
                }
            }
        }
    }
}

/// Pieces of a theme file.
const THEME_LINES: &[&str] = &[
    "name = \"x\"",
    "[roles]",
    "[other]",
    "text = { fg = \"#c8d3f5\" }",
    "text = { fg = \"#zzzzzz\" }",
    "muted = { fg = \"300\" }",
    "accent = { fg = \"lightblue\", bold = true }",
    "error = { bg = 7 }",
    "warning = { fg = \"red\", blink = true }",
    "nosuchrole = { fg = \"red\" }",
    "ok = \"red\"",
    "ok = { fg = \"\" }",
    "focus = { fg = \"#fff\" }",
    "title = { fg = \"#c8d3f5\", bold = \"yes\" }",
    "base = \"dark\"",
    "= 1",
    "[[roles]]",
];

proptest! {
    #![proptest_config(config(384))]

    #[test]
    fn fuzz_theme_files(lines in proptest::collection::vec(0..THEME_LINES.len(), 0..20), e in edits(), raw in any::<bool>()) {
        let origin = "fuzz-theme.toml";
        let text: String = lines.iter().map(|&i| format!("{}\n", THEME_LINES[i])).collect();
        let text = if raw { String::from_utf8_lossy(&mutate(text.as_bytes(), &e)).into_owned() } else { text };
        let base = mtls_doctor::tui::theme::Theme::builtin_default();
        if let Err(e) = bounded("theme", || mtls_doctor::tui::theme::parse(&text, origin, Some(&base))) {
            one_clear_line(&e.to_string(), origin);
        }
    }
}
