//! The C# that deployed certificate policies use beyond plain comparisons: string-array literals
//! with Any()/Contains(), `?.`, `??`, string.IsNullOrEmpty/IsNullOrWhiteSpace, and C#'s
//! short-circuit (three-valued, for this tool) logic. Each policy is written in the shapes the
//! Microsoft Learn examples and the community snippet collections use, with the status the gateway gives.

use mtls_doctor::cert::{CertInfo, Certificate};
use mtls_doctor::pki::Spec;
use mtls_doctor::policy::{evaluate, parse_policy, PolicyInput, PolicyOutcome};
use time::OffsetDateTime;

use crate::util::Pki;

fn certs() -> (Pki, CertInfo, CertInfo) {
    let pki = Pki::new("PolicyCs");
    let parse = |spec: &Spec| {
        let issued = pki.leaf(spec);
        Certificate::from_der(issued.der.clone(), "test certificate").expect("parse generated certificate").info
    };
    let good = parse(&Spec::leaf("client.example").client_only());
    let other = parse(&Spec::leaf("other.example").client_only());
    (pki, good, other)
}

fn input(cert: Option<&CertInfo>) -> PolicyInput<'_> {
    PolicyInput {
        cert,
        verify_ok: Some(true),
        verify_no_revocation_ok: Some(true),
        revocation: None,
        issuer_thumbprint: None,
        deployment_certificates: None,
        headers: None,
        now: OffsetDateTime::now_utc(),
        forwarded: Vec::new(),
        body: Default::default(),
    }
}

/// A 403 guard around `condition` (written raw, as the portal's editor keeps it).
fn guard(condition: &str) -> String {
    format!(
        r#"<policies>
  <inbound>
    <base />
    <choose>
      <when condition="{condition}">
        <return-response>
          <set-status code="403" reason="Invalid client certificate" />
        </return-response>
      </when>
    </choose>
  </inbound>
</policies>"#
    )
}

fn run(xml: &str, cert: Option<&CertInfo>) -> PolicyOutcome {
    let policy = parse_policy(xml, "policy.xml").expect("policy parses");
    evaluate(&policy, &input(cert))
}

#[test]
fn thumbprint_allow_list_with_any_and_a_lambda() {
    let (_pki, good, other) = certs();
    let cond = format!(
        r#"@(context.Request.Certificate == null || !new string[] {{ "0000000000000000000000000000000000000000", "{}" }}.Any(t => t == context.Request.Certificate.Thumbprint))"#,
        good.thumbprint_sha1
    );
    let xml = guard(&cond);
    let out = run(&xml, Some(&good));
    assert_eq!((out.status, out.determined), (200, true), "{:?}", out.unevaluable);
    // LINQ stops at the first match: both elements were compared, the second one matched.
    let thumbs: Vec<_> = out.comparisons.iter().filter(|c| c.property == "Thumbprint").collect();
    assert_eq!(thumbs.len(), 2);
    assert!(!thumbs[0].result && thumbs[1].result);
    assert_eq!(thumbs[1].literal, good.thumbprint_sha1);

    let out = run(&xml, Some(&other));
    assert_eq!(out.status, 403);
    assert!(out.comparisons.iter().filter(|c| c.property == "Thumbprint").all(|c| !c.result));
    assert_eq!(run(&xml, None).status, 403);

    // `new[] { … }` and an element-wise Contains(): ordinal, so a lowercase entry does not match.
    let lower = good.thumbprint_sha1.to_lowercase();
    let contains = format!(r#"@(!new[] {{ "{lower}" }}.Contains(context.Request.Certificate?.Thumbprint ?? ""))"#);
    assert_eq!(run(&guard(&contains), Some(&good)).status, 403);
    let lowered =
        format!(r#"@(!new[] {{ "{lower}" }}.Contains((context.Request.Certificate?.Thumbprint ?? "").ToLower()))"#);
    let out = run(&guard(&lowered), Some(&good));
    assert_eq!((out.status, out.determined), (200, true), "{:?}", out.unevaluable);
}

#[test]
fn null_conditional_and_coalesce_avoid_the_500() {
    let (_pki, good, _) = certs();
    let cond = format!(r#"@((context.Request.Certificate?.Thumbprint ?? "none") != "{}")"#, good.thumbprint_sha1);
    let xml = guard(&cond);
    assert_eq!(run(&xml, Some(&good)).status, 200);
    // No certificate: `?.` yields null, `??` supplies "none", and the guard answers 403 (no exception).
    let out = run(&xml, None);
    assert_eq!((out.status, out.determined), (403, true), "{:?}", out.unevaluable);

    // `?.` short-circuits the rest of its chain: `?.SubjectName.Name` is null, not an exception.
    let chain = guard(r#"@(context.Request.Certificate?.SubjectName.Name == null)"#);
    assert_eq!(run(&chain, None).status, 403);
    assert_eq!(run(&chain, Some(&good)).status, 200);
    // Parentheses end the chain: `(…?.SubjectName).Name` dereferences null and C# throws.
    let parened = guard(r#"@((context.Request.Certificate?.SubjectName).Name == null)"#);
    let out = run(&parened, None);
    assert_eq!(out.status, 500);
    assert!(out.decided_by.as_deref().is_some_and(|d| d.contains("NullReferenceException")), "{:?}", out.decided_by);
}

#[test]
fn is_null_or_empty_and_whitespace() {
    let (_pki, good, _) = certs();
    let xml = guard(r#"@(string.IsNullOrEmpty(context.Request.Certificate?.Thumbprint))"#);
    assert_eq!(run(&xml, None).status, 403);
    assert_eq!(run(&xml, Some(&good)).status, 200);
    let ws = guard(r#"@(String.IsNullOrWhiteSpace(" \t\u00A0"))"#);
    assert_eq!(run(&ws, Some(&good)).status, 403);
    // U+200B is not White_Space in .NET either: the string is not "whitespace".
    let zw = guard(r#"@(string.IsNullOrWhiteSpace("\u200B"))"#);
    assert_eq!(run(&zw, Some(&good)).status, 200);
}

#[test]
fn or_and_and_follow_csharp_evaluation_order_with_unknowns() {
    let (_pki, good, _) = certs();
    // true || unknown: C# never evaluates the right side, so the result is known.
    let known = guard(
        r#"@((context.Request.Certificate != null || context.Request.Headers.ContainsKey("x")) &amp;&amp; true)"#,
    );
    let out = run(&known, Some(&good));
    assert_eq!((out.status, out.determined), (403, true));
    // false || unknown: the value depends on the unknown side, so the result is unknown.
    let unknown = guard(
        r#"@((context.Request.Certificate == null || context.Request.Headers.ContainsKey("x")) &amp;&amp; true)"#,
    );
    let out = run(&unknown, Some(&good));
    assert!(!out.determined);
    assert!(out.unevaluable[0].fragment.starts_with("context.Request.Headers"), "{:?}", out.unevaluable);
    // false && unknown is false without evaluating the right side.
    let anded = guard(r#"@(context.Request.Certificate == null &amp;&amp; context.Request.Headers.ContainsKey("x"))"#);
    assert_eq!((run(&anded, Some(&good)).status, run(&anded, Some(&good)).determined), (200, true));
}

#[test]
fn unsupported_object_creation_and_indexers_are_named() {
    let (_pki, good, _) = certs();
    let cases = [
        (r#"@(new List<string> { "A" }.Contains("A"))"#, "new List", "only array literals"),
        (
            r#"@(context.Request.Headers["X-Client"] != null)"#,
            "context.Request.Headers[\"X-Client\"]",
            // The indexer is modelled (tests/integration/policy_numbers.rs); the headers are not given here.
            "request headers are not known here",
        ),
        (r#"@(new string[2] { "A", "B" }.Any())"#, "new string[", "only array literals"),
    ];
    for (cond, fragment, why) in cases {
        let out = run(&guard(cond), Some(&good));
        assert!(!out.determined, "{cond}");
        assert_eq!(out.unevaluable.len(), 1, "{cond}: {:?}", out.unevaluable);
        assert!(out.unevaluable[0].fragment.starts_with(fragment), "{cond}: {:?}", out.unevaluable[0]);
        assert!(out.unevaluable[0].why.contains(why), "{cond}: {:?}", out.unevaluable[0]);
    }
}

#[test]
fn lifted_comparisons_on_null_conditional_results() {
    let (_pki, good, _) = certs();
    // null == true is false, so `!= true` holds without a certificate: 403, not 500.
    let verify = guard(r#"@(context.Request.Certificate?.Verify() != true)"#);
    assert_eq!(run(&verify, None).status, 403);
    assert_eq!(run(&verify, Some(&good)).status, 200);
    // A lifted `<` with a null side is false: without a certificate this guard lets the request through.
    let expiry = guard(r#"@(context.Request.Certificate?.NotAfter < DateTime.UtcNow)"#);
    let out = run(&expiry, None);
    assert_eq!((out.status, out.determined), (200, true), "{:?}", out.unevaluable);
    assert_eq!(run(&expiry, Some(&good)).status, 200);
}
