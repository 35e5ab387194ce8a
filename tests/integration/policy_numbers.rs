//! Request headers read as `IReadOnlyDictionary<string, string[]>` (the indexer, `TryGetValue`,
//! `[0]`, `Length`, `string.Join`, LINQ), and numbers as C# computes them (int/long/double,
//! casts, `int.Parse`, `Convert.ToInt32`, date arithmetic with `TimeSpan`), each in a policy of the
//! shape deployed ones take, with the status the gateway answers and .NET's exception where it throws.

use mtls_doctor::cert::{CertInfo, Certificate};
use mtls_doctor::pki::Spec;
use mtls_doctor::policy::{evaluate, parse_policy, PolicyInput, PolicyOutcome};

use crate::util::{refuse_403_when, Pki};

fn cert(days: i64) -> CertInfo {
    let pki = Pki::new("PolicyNumbers");
    let issued = pki.leaf(&Spec::leaf("orders").client_only().valid_days(-1, days));
    Certificate::from_der(issued.der.clone(), "test certificate").expect("parse").info
}

fn run(before: &str, condition: &str, cert: Option<&CertInfo>, headers: Option<&[(&str, &str)]>) -> PolicyOutcome {
    let xml = refuse_403_when(before, condition);
    let policy = parse_policy(&xml, "policy.xml").expect("policy parses");
    let input = PolicyInput {
        cert,
        verify_ok: Some(true),
        verify_no_revocation_ok: Some(true),
        headers: headers.map(|h| {
            h.iter().map(|(n, v)| mtls_doctor::probe::Header { name: n.to_string(), value: v.to_string() }).collect()
        }),
        ..Default::default()
    };
    evaluate(&policy, &input)
}

fn status(condition: &str, headers: &[(&str, &str)]) -> u16 {
    let c = cert(30);
    let out = run("", condition, Some(&c), Some(headers));
    assert!(out.determined, "{condition}: {:?}", out.unevaluable);
    out.status
}

fn thrown(condition: &str, headers: &[(&str, &str)]) -> String {
    let c = cert(30);
    let out = run("", condition, Some(&c), Some(headers));
    assert_eq!((out.status, out.determined), (500, true), "{condition}: {:?}", out.unevaluable);
    out.decided_by.unwrap_or_default()
}

/// The compiler's error for a condition APIM would not save (found while evaluating).
fn refused(condition: &str, headers: &[(&str, &str)]) -> String {
    let c = cert(30);
    let out = run("", condition, Some(&c), Some(headers));
    assert_eq!((out.status, out.determined), (0, false), "{condition}");
    assert!(out.unevaluable.is_empty(), "{condition}: {:?}", out.unevaluable);
    out.checks.compile_errors.first().map(|e| e.error.clone()).unwrap_or_default()
}

fn unknown(before: &str, condition: &str, headers: &[(&str, &str)]) -> String {
    let c = cert(30);
    let out = run(before, condition, Some(&c), Some(headers));
    assert!(!out.determined, "{condition} should be unknown (status {})", out.status);
    out.unevaluable.first().map(|u| u.why.clone()).unwrap_or_default()
}

#[test]
fn header_indexer_is_a_string_array() {
    let one = [("X-Client-Id", "orders-app")];
    assert_eq!(status(r#"@(context.Request.Headers["X-Client-Id"][0] != "orders-app")"#, &one), 200);
    assert_eq!(
        status(r#"@(context.Request.Headers["x-client-id"][0] == "orders-app")"#, &one),
        403,
        "names ignore case"
    );
    assert_eq!(status(r#"@(context.Request.Headers["X-Client-Id"].Length != 1)"#, &one), 200);
    assert_eq!(status(r#"@(string.Join(",", context.Request.Headers["X-Client-Id"]) == "orders-app")"#, &one), 403);
    assert_eq!(status(r#"@(context.Request.Headers["X-Client-Id"].FirstOrDefault() == "orders-app")"#, &one), 403);
    assert_eq!(
        status(
            r#"@(context.Request.Headers["X-Client-Id"].Any(v => v.StartsWith("orders", StringComparison.Ordinal)))"#,
            &one
        ),
        403
    );
    assert_eq!(status(r#"@(context.Request.Headers.ContainsKey("X-Missing"))"#, &one), 200);
    // An absent name throws KeyNotFoundException: the gateway answers 500.
    let why = thrown(r#"@(context.Request.Headers["X-Missing"][0] == "x")"#, &one);
    assert!(why.contains("KeyNotFoundException") && why.contains("'X-Missing'"), "{why}");
    let why = thrown(r#"@(context.Request.Headers["X-Client-Id"][1] == "x")"#, &one);
    assert!(why.contains("IndexOutOfRangeException"), "{why}");
}

#[test]
fn header_values_apim_may_split_are_unknown_with_the_reason() {
    let comma = [("X-Roles", "reader, writer")];
    let why = unknown("", r#"@(context.Request.Headers["X-Roles"].Length == 2)"#, &comma);
    assert!(why.contains("contains a comma") && why.contains("not documented"), "{why}");
    let why = unknown("", r#"@(context.Request.Headers["X-Roles"][0] == "reader")"#, &comma);
    assert!(why.contains("contains a comma"), "{why}");
    // Present either way: the array is not null, and ContainsKey does not depend on splitting.
    assert_eq!(status(r#"@(context.Request.Headers["X-Roles"] != null)"#, &comma), 403);
    // GetValueOrDefault is documented to give the values comma-separated.
    assert_eq!(
        status(r#"@(context.Request.Headers.GetValueOrDefault("X-Roles", "") == "reader, writer")"#, &comma),
        403
    );
    let twice = [("X-Roles", "reader"), ("X-Roles", "writer")];
    let why = unknown("", r#"@(context.Request.Headers["X-Roles"].Length == 2)"#, &twice);
    assert!(why.contains("sent 2 times"), "{why}");
}

#[test]
fn try_get_value_in_a_block_as_the_documentation_writes_it() {
    let block = |header: &str| {
        format!(
            r#"@{{
            string[] value;
            if (context.Request.Headers.TryGetValue("{header}", out value))
            {{
                if (value != null &amp;&amp; value.Length &gt; 0)
                {{
                    return value[0] != "orders-app";
                }}
            }}
            return true;
        }}"#
        )
    };
    let one = [("X-Client-Id", "orders-app")];
    assert_eq!(status(&block("X-Client-Id"), &one), 200);
    assert_eq!(status(&block("X-Other"), &one), 403, "absent: false and null");
    let other = [("X-Client-Id", "billing-app")];
    assert_eq!(status(&block("X-Client-Id"), &other), 403);
    let out_var = r#"@(!context.Request.Headers.TryGetValue("X-Client-Id", out var v) || v[0] != "orders-app")"#;
    assert_eq!(status(out_var, &one), 200);
    assert_eq!(status(out_var, &[]), 403);
}

#[test]
fn a_header_value_split_at_a_char() {
    let xff = [("X-Forwarded-For", "203.0.113.7, 10.0.0.1")];
    let first =
        r#"@(context.Request.Headers.GetValueOrDefault("X-Forwarded-For", "").Split(',')[0].Trim() == "203.0.113.7")"#;
    assert_eq!(status(first, &xff), 403);
    let count = r#"@(context.Request.Headers.GetValueOrDefault("X-Forwarded-For", "").Split(',').Length == 2)"#;
    assert_eq!(status(count, &xff), 403);
    let second = r#"@(context.Request.Headers.GetValueOrDefault("X-Forwarded-For", "").Split(',')[1] == " 10.0.0.1")"#;
    assert_eq!(status(second, &xff), 403, "Split keeps the space");
    let index = r#"@(context.Request.Headers.GetValueOrDefault("X-Forwarded-For", "").IndexOf(',') == 11)"#;
    assert_eq!(status(index, &xff), 403);
    assert_eq!(status(r#"@("abc"[0] == 'a' &amp;&amp; "abc"[1] == 98 &amp;&amp; "a,b".Contains(','))"#, &xff), 403);
    let why = unknown("", r#"@("a, b".Split(", ").Length == 2)"#, &xff);
    assert!(why.contains("only in .NET Core 2.0"), "{why}");
    let why = refused(r#"@("abc"[0] == "a")"#, &xff);
    assert!(why.starts_with("CS0019"), "{why}");
    let why = thrown(r#"@("abc"[3] == 'a')"#, &xff);
    assert!(why.contains("IndexOutOfRangeException"), "{why}");
}

#[test]
fn numbers_literals_arithmetic_and_comparisons() {
    let h: [(&str, &str); 0] = [];
    assert_eq!(status("@(7 / 2 == 3)", &h), 403, "integer division");
    assert_eq!(status("@(7 / 2.0 == 3.5)", &h), 403);
    assert_eq!(status("@(-7 % 3 == -1)", &h), 403);
    assert_eq!(status("@(1 + 2 * 3 &gt;= 7 &amp;&amp; 10 - 4 &lt;= 6)", &h), 403);
    assert_eq!(status("@(5000000000 &gt; 4999999999L)", &h), 403);
    assert_eq!(status(r#"@("abc".Length + 1 == 4)"#, &h), 403);
    assert_eq!(status(r#"@("a" + 1 + true == "a1True")"#, &h), 403, "string concatenation");
    // On constants the compiler divides and overflows itself, and refuses the text (.NET's mcs and
    // Roslyn agree: CS0020, CS0220); on values it is the runtime that throws or wraps.
    assert_eq!(refused("@(1 / (2 - 2) == 0)", &h), "CS0020: Division by constant zero");
    assert!(refused("@(2147483647 + 1 &lt; 0)", &h).starts_with("CS0220"));
    let why = thrown(r#"@(1 / int.Parse("0") == 0)"#, &h);
    assert!(why.contains("DivideByZeroException"), "{why}");
    assert!(unknown("", r#"@(int.Parse("2147483647") + 1 &lt; 0)"#, &h).contains("checked"));
    assert!(unknown("", r#"@("x" + 0.1 == "x0.1")"#, &h).contains("shortest round-trip"));
}

#[test]
fn parsing_and_converting_throw_as_dotnet_does() {
    let n = [("X-Count", " 42 ")];
    assert_eq!(status(r#"@(int.Parse(context.Request.Headers.GetValueOrDefault("X-Count", "0")) &gt; 40)"#, &n), 403);
    assert_eq!(status(r#"@(Convert.ToInt32(context.Request.Headers.GetValueOrDefault("X-Count")) == 42)"#, &n), 403);
    // Convert.ToInt32(null) is 0, int.Parse(null) throws.
    assert_eq!(status(r#"@(Convert.ToInt32(context.Request.Headers.GetValueOrDefault("X-None")) == 0)"#, &n), 403);
    let why = thrown(r#"@(int.Parse(context.Request.Headers.GetValueOrDefault("X-None")) == 0)"#, &n);
    assert!(why.contains("ArgumentNullException"), "{why}");
    let bad = [("X-Count", "4x")];
    let why = thrown(r#"@(int.Parse(context.Request.Headers.GetValueOrDefault("X-Count")) == 4)"#, &bad);
    assert!(why.contains("FormatException"), "{why}");
    // A header's value never appears in what the evaluator says (it may be a secret).
    let secret = [("Authorization", "Bearer s3cret-token")];
    let why = thrown(r#"@(int.Parse(context.Request.Headers.GetValueOrDefault("Authorization")) == 4)"#, &secret);
    assert!(why.contains("FormatException: the header's value is not an integer") && !why.contains("s3cret"), "{why}");
    let big = [("X-Count", "3000000000")];
    let why = thrown(r#"@(int.Parse(context.Request.Headers.GetValueOrDefault("X-Count")) &gt; 0)"#, &big);
    assert!(why.contains("OverflowException"), "{why}");
    assert_eq!(status(r#"@(long.Parse(context.Request.Headers.GetValueOrDefault("X-Count")) &gt; 0)"#, &big), 403);
    let try_parse =
        r#"@(!int.TryParse(context.Request.Headers.GetValueOrDefault("X-Count"), out int n) || n &gt; 100)"#;
    assert_eq!(status(try_parse, &bad), 403, "TryParse is false, no exception");
    assert_eq!(status(try_parse, &[("X-Count", "7")]), 200);
    // Convert rounds half to even.
    assert_eq!(status("@(Convert.ToInt32(2.5) == 2 &amp;&amp; Convert.ToInt32(3.5) == 4)", &n), 403);
    assert_eq!(status("@((int)-2.7 == -2)", &n), 403, "a cast truncates");
    assert!(unknown("", r#"@(double.Parse("1.5") &gt; 1)"#, &n).contains("decimal separator"));
}

#[test]
fn unboxing_a_variable_needs_its_exact_type() {
    let set = r#"<set-variable name="count" value="@(3)" />
    <set-variable name="text" value="3" />"#;
    let c = cert(30);
    let out = run(set, r#"@((int)context.Variables["count"] == 3)"#, Some(&c), None);
    assert_eq!((out.status, out.determined), (403, true), "{:?}", out.unevaluable);
    let out = run(set, r#"@((long)context.Variables["count"] == 3)"#, Some(&c), None);
    assert_eq!(out.status, 500);
    let why = out.decided_by.unwrap_or_default();
    assert!(why.contains("Unable to cast object of type 'System.Int32' to type 'System.Int64'."), "{why}");
    let out = run(set, r#"@((int)context.Variables["text"] == 3)"#, Some(&c), None);
    assert!(out.decided_by.unwrap_or_default().contains("'System.String' to type 'System.Int32'"));
    let out = run(set, r#"@(context.Variables.GetValueOrDefault<int>("count") + 1 == 4)"#, Some(&c), None);
    assert_eq!((out.status, out.determined), (403, true));
    let out = run(set, r#"@(context.Variables.GetValueOrDefault<int>("absent") == 0)"#, Some(&c), None);
    assert_eq!((out.status, out.determined), (403, true));
    let try_get = r#"@(context.Variables.TryGetValue("count", out object v) &amp;&amp; (int)v * 2 == 6)"#;
    let out = run(set, try_get, Some(&c), None);
    assert_eq!((out.status, out.determined), (403, true), "{:?}", out.unevaluable);
    let out = run(set, r#"@(context.Variables.TryGetValue("absent", out var v) || v != null)"#, Some(&c), None);
    assert_eq!((out.status, out.determined), (200, true), "{:?}", out.unevaluable);
    // A number's text: the digits of a non-negative integer are the same in every culture.
    let out = run(set, r#"@(((int)context.Variables["count"]).ToString() + "x" == "3x")"#, Some(&c), None);
    assert_eq!((out.status, out.determined), (403, true), "{:?}", out.unevaluable);
    let out = run(set, r#"@((-(int)context.Variables["count"]).ToString() == "-3")"#, Some(&c), None);
    assert!(!out.determined && out.unevaluable[0].why.contains("minus sign"), "{:?}", out.unevaluable);
}

#[test]
fn a_number_kept_in_a_variable_as_text() {
    // The documentation's shape: a string variable parsed when present, a default otherwise.
    let cond = r#"@((context.Variables.ContainsKey("maxAge") ? int.Parse((string)context.Variables["maxAge"]) : 3600) &gt; 600)"#;
    let c = cert(30);
    let set = |v: &str| format!(r#"<set-variable name="maxAge" value="{v}" />"#);
    assert_eq!(run(&set("60"), cond, Some(&c), None).status, 200);
    assert_eq!(run("", cond, Some(&c), None).status, 403, "absent: the default 3600");
    let out = run(&set("1h"), cond, Some(&c), None);
    assert_eq!(out.status, 500);
    assert!(out.decided_by.unwrap_or_default().contains(r#"FormatException: "1h" is not an integer"#));
    // `as string` on the object: the text, or null for anything else.
    let as_string = r#"@((context.Variables["maxAge"] as string) == "60")"#;
    assert_eq!(run(&set("60"), as_string, Some(&c), None).status, 403);
    let boxed = r#"<set-variable name="maxAge" value="@(60)" />"#;
    assert_eq!(run(boxed, r#"@((context.Variables["maxAge"] as string) == null)"#, Some(&c), None).status, 403);
}

#[test]
fn certificate_date_arithmetic() {
    let soon = cert(10);
    let later = cert(90);
    let expiring = "@(context.Request.Certificate.NotAfter &lt; DateTime.Now.AddDays(30))";
    assert_eq!(run("", expiring, Some(&soon), None).status, 403);
    assert_eq!(run("", expiring, Some(&later), None).status, 200);
    let days = "@((context.Request.Certificate.NotAfter - DateTime.UtcNow).TotalDays &lt; 30)";
    assert_eq!(run("", days, Some(&soon), None).status, 403);
    assert_eq!(run("", days, Some(&later), None).status, 200);
    let whole = "@((context.Request.Certificate.NotAfter - DateTime.UtcNow).Days == 9)";
    let out = run("", whole, Some(&soon), None);
    assert_eq!((out.status, out.determined), (403, true), "a few seconds short of 10 days: 9 whole days");
    let rounded = "@(Math.Round((context.Request.Certificate.NotAfter - DateTime.UtcNow).TotalDays) == 10)";
    assert_eq!(run("", rounded, Some(&soon), None).status, 403);
    let floor = "@(Math.Floor((context.Request.Certificate.NotAfter - DateTime.UtcNow).TotalDays) == 9)";
    assert_eq!(run("", floor, Some(&soon), None).status, 403);
    let ambiguous = run("", "@(Math.Floor(3) == 3)", Some(&soon), None);
    assert!(
        !ambiguous.determined && ambiguous.checks.compile_errors[0].error.starts_with("CS0121"),
        "{:?}",
        ambiguous.checks
    );
    assert_eq!(
        run(
            "",
            "@(Math.Abs(-3) == 3 &amp;&amp; Math.Max(2, 7L) == 7 &amp;&amp; Math.Round(2.5) == 2)",
            Some(&soon),
            None
        )
        .status,
        403
    );
    let span = "@(context.Request.Certificate.NotAfter - DateTime.UtcNow &lt; TimeSpan.FromDays(30))";
    assert_eq!(run("", span, Some(&soon), None).status, 403);
    assert_eq!(run("", span, Some(&later), None).status, 200);
    let subtract = "@(context.Request.Certificate.NotAfter.Subtract(DateTime.UtcNow).TotalDays &lt; 30)";
    assert_eq!(run("", subtract, Some(&soon), None).status, 403);
    let compare = "@(DateTime.Compare(context.Request.Certificate.NotAfter, DateTime.UtcNow.AddMonths(1)) &lt; 0)";
    assert_eq!(run("", compare, Some(&soon), None).status, 403);
    assert_eq!(run("", compare, Some(&later), None).status, 200);
    let out = run("", "@(DateTime.UtcNow.AddDays(0.1234567) &gt; DateTime.UtcNow)", Some(&soon), None);
    assert!(
        !out.determined && out.unevaluable[0].why.contains("whole number of milliseconds"),
        "{:?}",
        out.unevaluable
    );
    let out = run("", "@(DateTime.UtcNow - TimeSpan.FromDays(1.5) &lt; DateTime.UtcNow)", Some(&soon), None);
    assert!(!out.determined && out.unevaluable[0].why.contains("whole milliseconds"), "{:?}", out.unevaluable);
}

#[test]
fn deployment_certificates_count() {
    let c = cert(30);
    let xml = r#"<choose><when condition="@(context.Deployment.Certificates.Count &lt; 2)"><return-response><set-status code="403" /></return-response></when></choose>"#;
    let policy = parse_policy(xml, "policy.xml").expect("parses");
    let entity = |id: &str| mtls_doctor::policy::DeploymentCertificate {
        id: id.into(),
        thumbprint: "0".repeat(40),
        is_ca: false,
    };
    let mut input = PolicyInput {
        cert: Some(&c),
        verify_ok: Some(true),
        verify_no_revocation_ok: Some(true),
        deployment_certificates: Some(vec![entity("a"), entity("b")]),
        ..Default::default()
    };
    let out = evaluate(&policy, &input);
    assert_eq!((out.status, out.determined), (200, true));
    input.deployment_certificates = None;
    assert!(!evaluate(&policy, &input).determined, "not given: unknown");
}
