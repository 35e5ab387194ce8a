//! Statement blocks (`@{ … }` with locals, if/else, return), `set-variable` read back with
//! `context.Variables.GetValueOrDefault<T>`, request headers, and three-valued logic where an
//! operand is unknown. Policies written in the shapes deployed certificate policies take, each with
//! the status the gateway answers.

use mtls_doctor::cert::{CertInfo, Certificate};
use mtls_doctor::pki::Spec;
use mtls_doctor::policy::{evaluate, parse_policy, PolicyInput, PolicyOutcome};
use time::OffsetDateTime;

use crate::util::Pki;

fn certs() -> (Pki, CertInfo, CertInfo) {
    let pki = Pki::new("PolicyBlocks");
    let parse = |spec: &Spec| {
        let issued = pki.leaf(spec);
        Certificate::from_der(issued.der.clone(), "test certificate").expect("parse generated certificate").info
    };
    let good = parse(&Spec::leaf("orders").client_only());
    let other = parse(&Spec::leaf("billing").client_only());
    (pki, good, other)
}

fn input<'a>(cert: Option<&'a CertInfo>, headers: Option<&[(&str, &str)]>) -> PolicyInput<'a> {
    PolicyInput {
        cert,
        verify_ok: Some(true),
        verify_no_revocation_ok: Some(true),
        revocation: None,
        issuer_thumbprint: None,
        deployment_certificates: None,
        headers: headers.map(|h| {
            h.iter().map(|(n, v)| mtls_doctor::probe::Header { name: n.to_string(), value: v.to_string() }).collect()
        }),
        now: OffsetDateTime::now_utc(),
        forwarded: Vec::new(),
        body: Default::default(),
    }
}

fn run(xml: &str, cert: Option<&CertInfo>, headers: Option<&[(&str, &str)]>) -> PolicyOutcome {
    let policy = parse_policy(xml, "policy.xml").expect("policy parses");
    evaluate(&policy, &input(cert, headers))
}

/// `before` elements, then a 403 guard around `condition`, as the portal's editor keeps them (raw).
fn policy(before: &str, condition: &str) -> String {
    format!(
        r#"<policies>
  <inbound>
    <base />
    {before}
    <choose>
      <when condition="{condition}">
        <return-response>
          <set-status code="403" reason="Client certificate not allowed" />
        </return-response>
      </when>
    </choose>
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>"#
    )
}

#[test]
fn statement_block_with_locals_if_else_and_return() {
    let (_pki, good, other) = certs();
    let condition = format!(
        r#"@{{
            var cert = context.Request.Certificate;
            if (cert == null)
            {{
                return true;
            }}
            string[] allowed = new string[] {{ "{}", "0000000000000000000000000000000000000000" }};
            bool listed = allowed.Contains(cert.Thumbprint);
            if (!cert.VerifyNoRevocation()) {{ return true; }}
            else if (!listed) return true;
            return false;
        }}"#,
        good.thumbprint_sha1
    );
    let xml = policy("", &condition);
    let out = run(&xml, Some(&good), None);
    assert_eq!((out.status, out.determined), (200, true), "{:?}", out.unevaluable);
    let out = run(&xml, Some(&other), None);
    assert_eq!(out.status, 403);
    assert_eq!(out.decided_by.as_deref(), Some("inbound/choose[1]/when[1] condition: return true;"));
    // The thumbprint comparisons inside Contains are recorded, literal by literal.
    assert!(out.comparisons.iter().any(|c| c.property == "Thumbprint" && c.literal == good.thumbprint_sha1));
    let out = run(&xml, None, None);
    assert_eq!(out.status, 403, "cert == null returns true before any property read");
    assert_eq!(out.verify_calls.len(), 0);
}

#[test]
fn statement_blocks_name_what_they_cannot_run() {
    let (_pki, good, _) = certs();
    let cases = [
        ("@{ foreach (var t in list) { } return true; }", "foreach", "`foreach` statements are not supported"),
        ("@{ var ok = true; }", "var ok = true;", "ends without returning"),
        ("@{ return \"yes\"; }", "return \"yes\";", "returns a string, not a boolean"),
    ];
    for (cond, fragment, why) in cases {
        let out = run(&policy("", cond), Some(&good), None);
        assert!(!out.determined, "{cond}");
        assert_eq!(out.unevaluable.len(), 1, "{cond}: {:?}", out.unevaluable);
        assert_eq!(out.unevaluable[0].fragment, fragment, "{cond}");
        assert!(out.unevaluable[0].why.contains(why), "{cond}: {:?}", out.unevaluable[0]);
    } // What the compiler refuses is a policy APIM will not save (.NET: CS0165, CS0128).
    for (cond, fragment, error) in [
        ("@{ bool ok; return ok; }", "ok", "CS0165: Use of unassigned local variable 'ok'"),
        (
            "@{ var ok = true; var ok = false; return ok; }",
            "var ok = false;",
            "CS0128: A local variable named 'ok' is already defined in this scope",
        ),
    ] {
        let out = run(&policy("", cond), Some(&good), None);
        assert!(!out.determined && out.unevaluable.is_empty(), "{cond}: {:?}", out.unevaluable);
        let e = &out.checks.compile_errors[0];
        assert_eq!((e.fragment.as_str(), e.error.as_str()), (fragment, error), "{cond}");
    }
}

#[test]
fn set_variable_flows_through_the_policy_in_document_order() {
    let (_pki, good, other) = certs();
    let before = format!(
        r#"<set-variable name="allowedThumbprint" value="{}" />
    <set-variable name="clientThumbprint" value="@(context.Request.Certificate?.Thumbprint ?? "")" />
    <set-variable name="chainOk" value="@(context.Request.Certificate != null && context.Request.Certificate.VerifyNoRevocation())" />"#,
        good.thumbprint_sha1
    );
    let condition = r#"@(!context.Variables.GetValueOrDefault<bool>("chainOk") || context.Variables.GetValueOrDefault<string>("clientThumbprint") != context.Variables.GetValueOrDefault<string>("allowedThumbprint"))"#;
    let xml = policy(&before, condition);
    assert_eq!(run(&xml, Some(&good), None).status, 200);
    assert_eq!(run(&xml, Some(&other), None).status, 403);
    assert_eq!(run(&xml, None, None).status, 403);

    // A variable set after the check is not seen by it; a default covers a missing one.
    let late = policy("", r#"@(context.Variables.GetValueOrDefault<string>("tier", "none") != "gold")"#)
        .replace("</choose>", "</choose>\n    <set-variable name=\"tier\" value=\"gold\" />");
    assert_eq!(run(&late, Some(&good), None).status, 403);
    let missing = policy("", r#"@(context.Variables.GetValueOrDefault<bool>("missing"))"#);
    assert_eq!(run(&missing, Some(&good), None).status, 200, "default(bool) is false");
    assert_eq!(run(&policy("", r#"@(!context.Variables.ContainsKey("x"))"#), Some(&good), None).status, 403);

    // A literal is stored as a string: read as bool, the gateway's conversion is not guessed.
    let typed = policy(
        r#"<set-variable name="strict" value="true" />"#,
        r#"@(context.Variables.GetValueOrDefault<bool>("strict"))"#,
    );
    let out = run(&typed, Some(&good), None);
    assert!(!out.determined);
    assert!(out.unevaluable[0].why.contains("holds a string, read as bool"), "{:?}", out.unevaluable);

    // A thumbprint literal reached through a variable is analysed like one written in the condition.
    let lowered = policy(
        &format!(r#"<set-variable name="allowed" value="{}" />"#, good.thumbprint_sha1.to_lowercase()),
        r#"@(context.Request.Certificate.Thumbprint != context.Variables.GetValueOrDefault<string>("allowed"))"#,
    );
    let out = run(&lowered, Some(&good), None);
    assert_eq!(out.status, 403);
    let c = &out.comparisons[0];
    assert_eq!(
        (c.literal.as_str(), c.literal_source.as_str()),
        (good.thumbprint_sha1.to_lowercase().as_str(), "literal")
    );
}

#[test]
fn header_reads_use_the_request_headers() {
    let (_pki, good, _) = certs();
    let xml = policy("", r#"@(context.Request.Headers.GetValueOrDefault("X-Client-Id", "") != "orders")"#);
    assert_eq!(run(&xml, Some(&good), Some(&[("x-client-id", "orders")])).status, 200, "names ignore case");
    assert_eq!(run(&xml, Some(&good), Some(&[("X-Client-Id", "billing")])).status, 403);
    assert_eq!(run(&xml, Some(&good), Some(&[])).status, 403, "absent: the default");
    let out = run(&xml, Some(&good), None);
    assert!(!out.determined, "headers not known: not guessed");
    assert!(out.unevaluable[0].why.contains("request headers are not known"), "{:?}", out.unevaluable);
    // Repeated headers read as one value joined with ",".
    let joined = policy("", r#"@(context.Request.Headers.GetValueOrDefault("X-Tag") != "a,b")"#);
    assert_eq!(run(&joined, Some(&good), Some(&[("X-Tag", "a"), ("X-Tag", "b")])).status, 200);
    // No default and absent: null.
    let null = policy("", r#"@(context.Request.Headers.GetValueOrDefault("X-None") == null)"#);
    assert_eq!(run(&null, Some(&good), Some(&[])).status, 403);
}

#[test]
fn header_values_never_show_in_debug_output() {
    let (_pki, good, _) = certs();
    let secret = [("Ocp-Apim-Subscription-Key", "s3cr3t-key-value")];
    let shown = format!("{:?}", input(Some(&good), Some(&secret)));
    assert!(!shown.contains("s3cr3t-key-value"), "{shown}");
    // A policy comparing the header with another value: the header's value is recorded nowhere.
    let xml =
        policy("", r#"@(context.Request.Headers.GetValueOrDefault("Ocp-Apim-Subscription-Key", "") == "expected")"#);
    let out = run(&xml, Some(&good), Some(&secret));
    assert_eq!(out.status, 200);
    let json = serde_json::to_string(&out).expect("serialize");
    assert!(!json.contains("s3cr3t-key-value"), "{json}");
}

#[test]
fn an_unknown_operand_does_not_hide_a_clause_that_decides() {
    let (_pki, good, _) = certs();
    // unknown || true: true whatever the header says.
    let xml = policy(
        "",
        r#"@(context.Request.Headers.GetValueOrDefault("X-Debug", "") == "1" || context.Request.Certificate == null)"#,
    );
    let out = run(&xml, None, None);
    assert_eq!((out.status, out.determined), (403, true), "{:?}", out.unevaluable);
    assert!(out.unevaluable.is_empty());
    assert!(out.notes.iter().any(|n| n.contains("clause 1") && n.contains("clause 2 decides")), "{:?}", out.notes);
    // unknown || false: unknown.
    let out = run(&xml, Some(&good), None);
    assert!(!out.determined);
    // unknown && false: false; nested inside a clause as well.
    let anded = policy(
        "",
        r#"@((context.Request.Headers.ContainsKey("X-Debug") && context.Request.Certificate == null) || context.Request.Certificate.Thumbprint == "none")"#,
    );
    let out = run(&anded, Some(&good), None);
    assert_eq!((out.status, out.determined), (200, true), "{:?}", out.unevaluable);
    assert!(out.notes.iter().any(|n| n.contains("the other operand decides")), "{:?}", out.notes);
    // An exception after an unknown clause: the unknown one might have stopped first.
    let throws =
        policy("", r#"@(context.Request.Headers.ContainsKey("X") || context.Request.Certificate.Thumbprint == "A")"#);
    let out = run(&throws, None, None);
    assert!(!out.determined, "{out:?}");
}

#[test]
fn culture_sensitive_prefix_tests_are_evaluated_on_plain_ascii() {
    let (_pki, good, other) = certs();
    // StartsWith(string) is culture-sensitive; on printable ASCII it agrees with ordinal.
    let xml = policy("", r#"@(!context.Request.Certificate.Subject.StartsWith("CN=orders"))"#);
    assert_eq!(run(&xml, Some(&good), None).status, 200);
    assert_eq!(run(&xml, Some(&other), None).status, 403);
    // An ignorable character, or a hyphen (NLS word sort), is not guessed.
    for literal in [r"\u200ECN=orders", "CN=orders-client"] {
        let xml = policy("", &format!(r#"@(!context.Request.Certificate.Subject.StartsWith("{literal}"))"#));
        let out = run(&xml, Some(&good), None);
        assert!(!out.determined, "{literal}");
        assert!(out.unevaluable[0].why.contains("culture-sensitive"), "{:?}", out.unevaluable);
    }
    // Ordinal is exact whatever the text.
    let ordinal = policy(
        "",
        r#"@(!context.Request.Certificate.Subject.StartsWith("CN=orders, O=mtls-doctor", StringComparison.Ordinal))"#,
    );
    assert_eq!(run(&ordinal, Some(&good), None).status, 200);
}

#[test]
fn culture_casing_differs_from_invariant_casing_on_turkish_i() {
    let (_pki, good, _) = certs();
    // Checked against dotnet/runtime's casing (pal_casing.c): the invariant casing keeps U+0131 and
    // U+0130, a (non-Turkish) culture maps them to I and i.
    let cases = [
        (r#""\u0131".ToUpper() == "I""#, true),
        (r#""\u0131".ToUpperInvariant() == "I""#, false),
        (r#""\u0130".ToLower() == "i""#, true),
        (r#""\u0130".ToLowerInvariant() == "\u0130""#, true),
        (r#""straße".ToUpperInvariant() == "STRAßE""#, true),
    ];
    for (cond, expected) in cases {
        let out = run(&policy("", &format!("@({cond})")), Some(&good), None);
        assert!(out.determined, "{cond}: {:?}", out.unevaluable);
        assert_eq!(out.status == 403, expected, "{cond}");
    }
}

#[test]
fn get_name_info_gives_the_common_name_and_the_dns_name() {
    let pki = Pki::new("NameInfo");
    let with_san = pki.leaf(&Spec::leaf("orders").sans(&["orders.contoso.example"]).client_only());
    let with_san = Certificate::from_der(with_san.der.clone(), "san").expect("parse").info;
    let (_pki, plain, _) = certs();
    let simple =
        policy("", r#"@(context.Request.Certificate.GetNameInfo(X509NameType.SimpleName, false) != "orders")"#);
    assert_eq!(run(&simple, Some(&plain), None).status, 200);
    assert_eq!(run(&simple, Some(&with_san), None).status, 200);
    let dns = policy(
        "",
        r#"@(context.Request.Certificate.GetNameInfo(X509NameType.DnsName, false) != "orders.contoso.example")"#,
    );
    assert_eq!(run(&dns, Some(&with_san), None).status, 200, "the SAN first");
    assert_eq!(run(&dns, Some(&plain), None).status, 403, "no SAN: the common name");
    let out = run(&dns, Some(&with_san), None);
    assert_eq!(out.comparisons[0].property, "GetNameInfo(DnsName)");
    // No UPN otherName: the empty string (tests/integration/policy_indexers.rs has the other types).
    let upn = policy("", r#"@(context.Request.Certificate.GetNameInfo(X509NameType.UpnName, false) == "")"#);
    let out = run(&upn, Some(&plain), None);
    assert_eq!((out.status, out.determined), (403, true), "{:?}", out.unevaluable);
}

#[test]
fn a_certificate_forwarded_in_a_header_is_read_back() {
    use base64::Engine as _;
    let pki = Pki::new("Forwarded");
    let good = pki.leaf(&Spec::leaf("orders").client_only());
    let other = pki.leaf(&Spec::leaf("billing").client_only());
    let info = |d: &[u8]| Certificate::from_der(d.to_vec(), "forwarded").expect("parse").info;
    let good_info = info(&good.der);
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    // TLS ends at Application Gateway; the gateway itself sees no certificate, only the header.
    let condition = format!(
        r#"@{{
            var header = context.Request.Headers.GetValueOrDefault("X-ARR-ClientCert", "");
            if (string.IsNullOrEmpty(header)) {{ return true; }}
            var cert = new X509Certificate2(Convert.FromBase64String(header));
            return cert.NotAfter < DateTime.UtcNow || cert.Thumbprint != "{}";
        }}"#,
        good_info.thumbprint_sha1
    );
    let xml = policy("", &condition);
    let good_b64 = b64(&good.der);
    let other_b64 = b64(&other.der);
    assert_eq!(run(&xml, None, Some(&[("X-ARR-ClientCert", good_b64.as_str())])).status, 200);
    let out = run(&xml, None, Some(&[("X-ARR-ClientCert", other_b64.as_str())]));
    assert_eq!(out.status, 403);
    assert!(out.comparisons.iter().any(|c| c.property == "Thumbprint" && c.literal == good_info.thumbprint_sha1));
    assert_eq!(run(&xml, None, Some(&[])).status, 403, "no header");
    let out = run(&xml, None, Some(&[("X-ARR-ClientCert", "not base64!")]));
    assert_eq!(out.status, 500, "FormatException: {:?}", out.decided_by);
    // PEM text in the header works the same once decoded to bytes (base64 of the PEM).
    let pem = b64(good.cert_pem().as_bytes());
    assert_eq!(run(&xml, None, Some(&[("X-ARR-ClientCert", pem.as_str())])).status, 200);
    // Its chain is not verified here: Verify() on it is named, not guessed.
    let verify = policy(
        "",
        r#"@(!new X509Certificate2(Convert.FromBase64String(context.Request.Headers.GetValueOrDefault("X-ARR-ClientCert", ""))).VerifyNoRevocation())"#,
    );
    assert!(!run(&verify, None, Some(&[("X-ARR-ClientCert", good_b64.as_str())])).determined);
}
