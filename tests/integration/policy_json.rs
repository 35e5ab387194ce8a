//! `JObject.Parse` (Newtonsoft.Json) on JSON a request header carries, read as deployed policies
//! read a claim: the indexer, `?.ToString()`, `(string)` and `Value<string>`, with Newtonsoft's
//! exceptions, and unknown (with the reason) where its answer depends on culture, version or platform.

use mtls_doctor::policy::{evaluate, parse_policy, PolicyInput, PolicyOutcome};

const CLAIMS: &str = r#"{"role":"admin","tier":3,"active":true,"n":null,"nested":{"a":"b"},"when":"2026-01-01T00:00:00Z","neg":-2,"pi":3.14}"#;

fn run(condition: &str, claims: &str) -> PolicyOutcome {
    let xml = format!(
        r#"<policies><inbound><choose><when condition="{condition}"><return-response><set-status code="403" /></return-response></when></choose></inbound></policies>"#
    );
    let policy = parse_policy(&xml, "policy.xml").expect("policy parses");
    let input = PolicyInput {
        headers: Some(vec![mtls_doctor::probe::Header { name: "X-Claims".into(), value: claims.into() }]),
        ..Default::default()
    };
    evaluate(&policy, &input)
}

/// `@(… JObject.Parse(header) …)` with `OBJ` standing for the parsed object.
fn with_claims(expr: &str) -> String {
    let o = r#"JObject.Parse(context.Request.Headers.GetValueOrDefault("X-Claims", "{}"))"#;
    format!("@({})", expr.replace("OBJ", o))
}

fn status(expr: &str) -> u16 {
    let out = run(&with_claims(expr), CLAIMS);
    assert!(out.determined, "{expr}: {:?}", out.unevaluable);
    out.status
}

#[test]
fn claims_read_from_a_json_header() {
    for expr in [
        r#"OBJ["role"]?.ToString() == "admin""#,
        r#"OBJ["missing"]?.ToString() == null"#,
        r#"(string)OBJ["tier"] == "3" &amp;&amp; OBJ["tier"].ToString() == "3""#,
        r#"OBJ["active"].ToString() == "True""#,
        r#"OBJ["n"].ToString() == "" &amp;&amp; (string)OBJ["n"] == null &amp;&amp; OBJ["n"] != null"#,
        r#"OBJ.Value&lt;string&gt;("role") == "admin""#,
        r#"OBJ["nested"]["a"].ToString() == "b""#,
        r#"(string)OBJ["neg"] == "-2""#,
    ] {
        assert_eq!(status(expr), 403, "{expr}");
    }
    // Names match exactly.
    assert_eq!(status(r#"OBJ["Role"] != null"#), 200);
}

#[test]
fn newtonsoft_exceptions_and_what_depends_on_it() {
    let thrown = |expr: &str, claims: &str| {
        let out = run(&with_claims(expr), claims);
        assert_eq!((out.status, out.determined), (500, true), "{expr}: {:?}", out.unevaluable);
        out.decided_by.unwrap_or_default()
    };
    assert!(thrown(r#"OBJ["role"]["x"] == null"#, CLAIMS).contains("InvalidOperationException"));
    assert!(thrown(r#"(string)OBJ["nested"] == "x""#, CLAIMS).contains("Can not convert Object to String."));
    assert!(thrown(r#"OBJ["a"] == null"#, "[1, 2]").contains("JsonReaderException"));
    assert!(thrown(r#"OBJ["a"] == null"#, "").contains("JsonReaderException"));
    let unknown = |expr: &str, claims: &str| {
        let out = run(&with_claims(expr), claims);
        assert!(!out.determined, "{expr} should be unknown (status {})", out.status);
        out.unevaluable[0].why.clone()
    };
    assert!(unknown(r#"OBJ["when"].ToString() == "x""#, CLAIMS).contains("date-like"));
    assert!(unknown(r#"OBJ["neg"].ToString() == "-2""#, CLAIMS).contains("minus sign"));
    assert!(unknown(r#"OBJ["pi"].ToString() == "3.14""#, CLAIMS).contains("real"));
    assert!(unknown(r#"OBJ["nested"].ToString() == "x""#, CLAIMS).contains("Environment.NewLine"));
    assert!(unknown(r#"OBJ["a"] == null"#, "{'a': 1}").contains("not strict JSON"));
    assert!(unknown(r#"OBJ["a"] == null"#, r#"{"a": 1, "a": 2}"#).contains("repeats a property name"));
    let body = run(r#"@(context.Request.Body.As&lt;JObject&gt;(preserveContent: true)["role"] != null)"#, CLAIMS);
    assert!(
        !body.determined && body.unevaluable[0].why.contains("request body is not known"),
        "{:?}",
        body.unevaluable
    );
}
