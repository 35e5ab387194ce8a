//! `context.Request.Body` in the offline evaluator: `As<string>` and `As<JObject>` on the body a
//! probe sends with `--data`, a read without `preserveContent: true` losing it for later reads
//! (what a later read returns is not documented: unknown), no body and a body not known here
//! (unknown, with the reason), and the body's text never recorded in the outcome.

use mtls_doctor::policy::{evaluate, parse_policy, BodyInput, PolicyInput, PolicyOutcome};

fn run_with(xml_inbound: &str, body: BodyInput<'_>) -> PolicyOutcome {
    let xml = format!("<policies><inbound>{xml_inbound}</inbound></policies>");
    let policy = parse_policy(&xml, "policy.xml").expect("policy parses");
    let input = PolicyInput { headers: Some(vec![]), body, ..Default::default() };
    evaluate(&policy, &input)
}

/// 403 when `condition` holds.
fn refuse_when(condition: &str) -> String {
    format!(
        r#"<choose><when condition="{condition}"><return-response><set-status code="403" /></return-response></when></choose>"#
    )
}

const CLAIMS: &[u8] = br#"{"role":"admin","tenant":"contoso-s3cr3t-tenant","level":3}"#;

fn determined(out: &PolicyOutcome) -> u16 {
    assert!(out.determined, "{:?}", out.unevaluable);
    out.status
}

fn unknown_why(out: &PolicyOutcome) -> String {
    assert!(!out.determined, "should be unknown, got {}", out.status);
    out.unevaluable.iter().map(|u| u.why.clone()).collect::<Vec<_>>().join(" | ")
}

#[test]
fn the_body_read_as_a_string_and_as_a_jobject() {
    let body = BodyInput::Known(CLAIMS);
    for (condition, expected) in [
        (r#"@(context.Request.Body.As&lt;JObject&gt;(preserveContent: true)["role"]?.ToString() == "admin")"#, 403),
        (r#"@(context.Request.Body.As&lt;JObject&gt;(preserveContent: true)["role"]?.ToString() == "reader")"#, 200),
        (r#"@((string)context.Request.Body.As&lt;JObject&gt;(true)["level"] == "3")"#, 403),
        (r#"@(context.Request.Body.As&lt;string&gt;(preserveContent: true).Contains("\"role\":\"admin\""))"#, 403),
        (r#"@(context.Request.Body.As&lt;JObject&gt;(preserveContent: true)["missing"] == null)"#, 403),
        // One read that loses the body is fine when nothing reads it again.
        (r#"@(context.Request.Body.As&lt;string&gt;().StartsWith("{"))"#, 403),
    ] {
        assert_eq!(determined(&run_with(&refuse_when(condition), body)), expected, "{condition}");
    }
    // Newtonsoft's own exception for a body that is not an object.
    let out = run_with(
        &refuse_when(r#"@(context.Request.Body.As&lt;JObject&gt;(preserveContent: true)["a"] == null)"#),
        BodyInput::Known(b"[1,2]"),
    );
    assert_eq!(determined(&out), 500);
    assert!(out.decided_by.unwrap_or_default().contains("JsonReaderException"));
}

#[test]
fn a_read_without_preserve_content_loses_the_body_for_later_reads() {
    let body = BodyInput::Known(CLAIMS);
    let second = refuse_when(r#"@(context.Request.Body.As&lt;string&gt;(preserveContent: true).Length &gt; 0)"#);
    // Both reads preserve it: known.
    let kept = format!(
        r#"<set-variable name="raw" value="@(context.Request.Body.As&lt;string&gt;(preserveContent: true))" />{second}"#
    );
    assert_eq!(determined(&run_with(&kept, body)), 403);
    // The first read does not: the second is unknown, with the reason.
    for first in ["As&lt;string&gt;()", "As&lt;JObject&gt;(preserveContent: false)"] {
        let lost = format!(r#"<set-variable name="raw" value="@(context.Request.Body.{first}.ToString())" />{second}"#);
        let why = unknown_why(&run_with(&lost, body));
        assert!(why.contains("preserveContent") && why.contains("not documented"), "{first}: {why}");
    }
    // Inside one statement block too.
    let block = refuse_when(
        r#"@{ var a = context.Request.Body.As&lt;string&gt;(); var b = context.Request.Body.As&lt;string&gt;(true); return a == b; }"#,
    );
    assert!(unknown_why(&run_with(&block, body)).contains("later read"));
    // A read C# short-circuits away does not lose it.
    let skipped = format!(
        r#"<set-variable name="x" value="@(true || context.Request.Body.As&lt;string&gt;() == "x")" />{second}"#
    );
    assert_eq!(determined(&run_with(&skipped, body)), 403);
}

#[test]
fn no_body_and_a_body_not_known_here_are_unknown_with_the_reason() {
    let policy = refuse_when(r#"@(context.Request.Body.As&lt;string&gt;(preserveContent: true) == "")"#);
    let why = unknown_why(&run_with(&policy, BodyInput::Absent));
    assert!(why.contains("no body") && why.contains("not documented"), "{why}");
    let why = unknown_why(&run_with(&policy, BodyInput::Unknown));
    assert!(why.contains("request body is not known here") && why.contains("--data"), "{why}");
    // Text that is not UTF-8 is decoded by undocumented rules.
    let why = unknown_why(&run_with(&policy, BodyInput::Known(&[0xff, 0xfe, 0x41])));
    assert!(why.contains("not UTF-8"), "{why}");
    // An operand that does not matter stays masked (three-valued logic).
    let masked = refuse_when(r#"@(true || context.Request.Body.As&lt;string&gt;(true) == "x")"#);
    assert_eq!(determined(&run_with(&masked, BodyInput::Unknown)), 403);
}

#[test]
fn the_body_text_is_never_recorded() {
    let policy = refuse_when(
        r#"@(context.Request.Body.As&lt;JObject&gt;(preserveContent: true)["tenant"]?.ToString() == "contoso-s3cr3t-tenant" || context.Request.Body.As&lt;string&gt;(preserveContent: true) == "x")"#,
    );
    let out = run_with(&policy, BodyInput::Known(CLAIMS));
    assert_eq!(determined(&out), 403);
    let json = serde_json::to_string(&out).expect("outcome json");
    // The literal in the policy may be recorded; the body's own text (the rest of the JSON) not.
    assert!(!json.contains(r#"\"role\":\"admin\""#) && !json.contains("level\\\":3"), "{json}");
    assert!(!format!("{:?}", BodyInput::Known(CLAIMS)).contains("admin"));
}
