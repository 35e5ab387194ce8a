//! A real .NET runtime as the oracle for the policy evaluator's C# semantics.
//!
//! Every case is a C# policy expression over a generated certificate (and headers or variables),
//! run twice: by our evaluator (inside a `<when condition="…">` guard, 403 when true) and by .NET
//! Core 3.1 on Linux (`scripts/dotnet-oracle.sh --policy`: the expressions compiled by mcs into one
//! method each over a minimal `context` model, run on the runtime from the PyPI wheel
//! `dotnetcore2`, culture en-US). Each case records the answer .NET gave; the evaluator must give
//! that answer, and when the runtime is present (always in CI, installed by .ci/run) the live
//! answers must still be the recorded ones. Without the runtime the recorded answers are checked
//! alone; with CI=true a missing runtime fails the test.
//!
//! .NET on Linux is the self-hosted gateway's platform; the evaluator models the managed gateway
//! (.NET on Windows). Where the two are known to differ the case says so and holds the evaluator
//! to the Windows answer (`windows`). Where the evaluator refuses (`refused`), the reason is
//! asserted and .NET's answer shows why the refusal is needed.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use mtls_doctor::policy::{
    csharp_string_literal, evaluate, parse_policy, DeploymentCertificate, ElementOutcome, PolicyInput, PolicyOutcome,
};

use crate::util::Dir;

pub const ORACLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/dotnet-oracle.sh");

/// Whether the .NET oracle can run here. In CI (CI=true) it must: .ci/run installs it.
pub fn oracle_present() -> bool {
    let ok = Command::new("bash").arg(ORACLE).arg("--check").status().is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but the .NET oracle is missing (mcs, or the runtime in the oracle cache): .ci/run installs it with `scripts/dotnet-oracle.sh --setup`"
        );
        eprintln!(
            "the .NET oracle is not installed (scripts/dotnet-oracle.sh --setup): checking the recorded answers only"
        );
    }
    ok
}

/// Run `cases.txt` in `dir` on .NET: one answer per case, in order.
pub fn run_oracle(dir: &Path, env: &[(&str, &Path)]) -> Vec<String> {
    // Bounded: GNU timeout stops the script's whole process group (mcs, dotnet) after 180 s.
    let mut cmd = Command::new("timeout");
    cmd.args(["-k", "5", "180", "bash", ORACLE, "--policy"]).arg(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run scripts/dotnet-oracle.sh");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the oracle failed: {}\n{text}", String::from_utf8_lossy(&out.stderr));
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let (n, answer) = line.split_once('\t').unwrap_or_else(|| panic!("oracle line {line:?}"));
            assert_eq!(n, i.to_string(), "oracle answers in order");
            answer.to_string()
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Expect {
    /// The evaluator gives .NET's answer.
    Same,
    /// The evaluator refuses, for a reason containing this text.
    Refused(&'static str),
    /// .NET on Windows (the managed gateway) answers this instead of Linux: the evaluator must.
    Windows(&'static str),
}

pub(super) struct Case {
    cert: Option<&'static str>,
    headers: Vec<(String, String)>,
    /// (name, the value as cases.txt carries it, the set-variable value the evaluator reads).
    vars: Vec<(&'static str, String, String)>,
    /// `context.Deployment.Certificates`: (id, certificate); `None` when not given to the evaluator.
    deployed: Option<Vec<(&'static str, &'static str)>>,
    code: String,
    /// What .NET Core 3.1 on Linux (culture en-US) answered.
    dotnet: &'static str,
    expect: Expect,
}

impl Case {
    pub(super) fn refused(mut self, why: &'static str) -> Self {
        self.expect = Expect::Refused(why);
        self
    }
    pub(super) fn windows(mut self, answer: &'static str) -> Self {
        self.expect = Expect::Windows(answer);
        self
    }
    pub(super) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
    pub(super) fn var(mut self, name: &'static str, value: &'static str) -> Self {
        self.vars.push((name, format!("var {name}={value}"), value.to_string()));
        self
    }
    pub(super) fn var_int(mut self, name: &'static str, value: i32) -> Self {
        self.vars.push((name, format!("varint {name}={value}"), format!("@({value})")));
        self
    }
    pub(super) fn var_bool(mut self, name: &'static str, value: bool) -> Self {
        self.vars.push((name, format!("varbool {name}={value}"), format!("@({value})")));
        self
    }
    pub(super) fn deploy(mut self, id: &'static str, cert: &'static str) -> Self {
        self.deployed.get_or_insert_with(Vec::new).push((id, cert));
        self
    }
    pub(super) fn nothing_deployed(mut self) -> Self {
        self.deployed = Some(Vec::new());
        self
    }
}

pub(super) fn case(cert: Option<&'static str>, code: impl Into<String>, dotnet: &'static str) -> Case {
    Case {
        cert,
        headers: Vec::new(),
        vars: Vec::new(),
        deployed: None,
        code: code.into(),
        dotnet,
        expect: Expect::Same,
    }
}

/// A certificate made for these cases: DER and what the evaluator reads.
pub(super) struct Made {
    pub(super) der: Vec<u8>,
    pub(super) info: mtls_doctor::cert::CertInfo,
}

fn xml_attr(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `\uXXXX` escapes of an oracle answer back to text.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut units = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(hex) = rest.strip_prefix("\\u") {
            units.push(u16::from_str_radix(&hex[..4], 16).expect("hex escape"));
            rest = &hex[4..];
            continue;
        }
        out.push_str(&String::from_utf16(&units).expect("utf-16"));
        units.clear();
        if let Some(r) = rest.strip_prefix("\\\\") {
            out.push('\\');
            rest = r;
        } else {
            let c = rest.chars().next().expect("char");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out.push_str(&String::from_utf16(&units).expect("utf-16"));
    out
}

/// The C# the evaluator runs for a case that must answer `answer`: a value answer becomes an
/// equality test with that value (true when the evaluator computes the same value).
fn condition(code: &str, answer: &str) -> (String, bool) {
    if let Some(s) = answer.strip_prefix("string:") {
        (format!("({code}) == {}", csharp_string_literal(&unescape(s))), true)
    } else if let Some(n) = answer.strip_prefix("int:") {
        (format!("({code}) == {n}"), true)
    } else if answer == "null" {
        (format!("({code}) == null"), true)
    } else {
        (code.to_string(), false)
    }
}

fn evaluate_case(case: &Case, answer: &str, certs: &BTreeMap<&str, Made>) -> (String, PolicyOutcome) {
    let (cond, is_value) = condition(&case.code, answer);
    let vars: String =
        case.vars.iter().map(|(n, _, v)| format!("<set-variable name=\"{n}\" value=\"{}\" />", xml_attr(v))).collect();
    let cond = if cond.trim_start().starts_with('{') { format!("@{}", &cond) } else { format!("@({cond})") };
    let xml = format!(
        r#"<policies><inbound>{vars}<choose><when condition="{}"><return-response><set-status code="403" reason="guard" /></return-response></when></choose></inbound></policies>"#,
        xml_attr(&cond)
    );
    let policy = parse_policy(&xml, "oracle-case.xml").expect("policy parses");
    let input = PolicyInput {
        cert: case.cert.map(|k| &certs[k].info),
        deployment_certificates: case.deployed.as_ref().map(|list| {
            list.iter()
                .map(|(id, k)| DeploymentCertificate {
                    id: id.to_string(),
                    thumbprint: certs[k].info.thumbprint_sha1.clone(),
                    is_ca: *k == "ca",
                })
                .collect()
        }),
        headers: Some(
            case.headers
                .iter()
                .map(|(n, v)| mtls_doctor::probe::Header { name: n.clone(), value: v.clone() })
                .collect(),
        ),
        ..Default::default()
    };
    let out = evaluate(&policy, &input);
    let ours = if let Some(err) = out.checks.compile_errors.first() {
        format!("compile:{}", err.error.split(':').next().unwrap_or_default())
    } else if !out.determined {
        let why: Vec<String> = out.unevaluable.iter().map(|u| format!("`{}`: {}", u.fragment, u.why)).collect();
        format!("unevaluable: {}", why.join("; "))
    } else {
        match out.status {
            403 if is_value => answer.to_string(),
            403 => "True".into(),
            200 if is_value => format!("a value other than {answer}"),
            200 => "False".into(),
            500 => out
                .elements
                .iter()
                .find_map(|e| match &e.outcome {
                    ElementOutcome::Exception { exception, .. } => Some(format!("exception:{exception}")),
                    _ => None,
                })
                .unwrap_or_else(|| "exception:?".into()),
            s => format!("status {s}"),
        }
    };
    (ours, out)
}

/// Write `cases.txt` (and the certificates) for the oracle.
fn write_cases(dir: &Dir, cases: &[Case], certs: &BTreeMap<&str, Made>) {
    for (name, m) in certs {
        dir.write(&format!("{name}.der"), &m.der);
    }
    let mut text = String::new();
    for (i, c) in cases.iter().enumerate() {
        text.push_str(&format!("case {i}\n"));
        if let Some(k) = c.cert {
            text.push_str(&format!("cert {k}.der\n"));
        }
        for (n, v) in &c.headers {
            text.push_str(&format!("header {n}={v}\n"));
        }
        for (_, line, _) in &c.vars {
            text.push_str(&format!("{line}\n"));
        }
        for (id, k) in c.deployed.iter().flatten() {
            text.push_str(&format!("deploy {id}={k}.der\n"));
        }
        assert!(!c.code.contains('\n'), "one line per case");
        if c.code.trim_start().starts_with('{') {
            let body = c.code.trim().trim_start_matches('{').trim_end_matches('}');
            text.push_str(&format!("block {body}\n"));
        } else {
            text.push_str(&format!("expr {}\n", c.code));
        }
    }
    dir.write("cases.txt", text);
}

/// Compare: the live oracle with the records (when present), the evaluator with the records.
fn check(cases: &[Case], certs: &BTreeMap<&str, Made>, live: Option<Vec<String>>) {
    let mut wrong = Vec::new();
    if let Some(live) = &live {
        assert_eq!(live.len(), cases.len(), "one oracle answer per case");
        for (i, (c, got)) in cases.iter().zip(live).enumerate() {
            if got != c.dotnet {
                wrong.push(format!("case {i} `{}`: .NET now answers {got}, the test records {}", c.code, c.dotnet));
            }
        }
    }
    for (i, c) in cases.iter().enumerate() {
        let (target, label) = match c.expect {
            Expect::Windows(w) => (w, "the Windows answer"),
            _ => (c.dotnet, ".NET's answer"),
        };
        let (ours, out) = evaluate_case(c, target, certs);
        let ok = match c.expect {
            Expect::Refused(why) => ours.starts_with("unevaluable") && ours.contains(why),
            _ => ours == target,
        };
        if !ok {
            wrong.push(format!(
                "case {i} `{}`: the evaluator answers {ours}, {label} is {target} (expected {:?}; comparisons {:?})",
                c.code,
                c.expect,
                out.comparisons.iter().map(|c| (&c.compared_actual, &c.compared_literal)).collect::<Vec<_>>()
            ));
        }
    }
    assert!(wrong.is_empty(), "{} disagreement(s):\n{}", wrong.len(), wrong.join("\n"));
}

/// Run `cases` on .NET (when present) and hold the evaluator to the recorded answers.
pub(super) fn run_and_check(cases: &[Case], certs: &BTreeMap<&str, Made>) {
    let live = oracle_present().then(|| {
        let dir = Dir::new();
        write_cases(&dir, cases, certs);
        run_oracle(dir.tmp.path(), &[])
    });
    check(cases, certs, live);
}

#[test]
fn csharp_semantics_match_dotnet() {
    let certs = super::dotnet_oracle_cases::certificates();
    let cases = super::dotnet_oracle_cases::semantics_cases(&certs);
    let live = oracle_present().then(|| {
        let dir = Dir::new();
        write_cases(&dir, &cases, &certs);
        run_oracle(dir.tmp.path(), &[])
    });
    check(&cases, &certs, live);
}
