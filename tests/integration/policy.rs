//! Policy parsing and evaluation against real certificates generated at test time.

use mtls_doctor::cert::{CertInfo, Certificate};
use mtls_doctor::pki::{Issued, Spec};
use mtls_doctor::policy::{
    evaluate, parse_policy, thumbprint_literal_snippet, DeploymentCertificate, ElementOutcome, Policy, PolicyForm,
    PolicyInput, PolicyOutcome, ValidationFailure,
};
use rcgen::DnType;

use crate::util::Pki;

fn info(issued: &Issued) -> CertInfo {
    Certificate::from_der(issued.der.clone(), "test certificate").expect("parse generated certificate").info
}

fn input(cert: Option<&CertInfo>) -> PolicyInput<'_> {
    PolicyInput { cert, verify_ok: Some(true), verify_no_revocation_ok: Some(true), ..Default::default() }
}

fn run(xml: &str, input: &PolicyInput) -> PolicyOutcome {
    let policy = parse_policy(xml, "policy.xml").expect("policy parses");
    evaluate(&policy, input)
}

/// The combined inbound check people copy from field guides, in the portal's raw form.
fn guide_policy(thumbprint: &str, issuer: &str) -> String {
    r#"<inbound>
  <base />
  <choose>
    <when condition="@(
      context.Request.Certificate == null ||
      context.Request.Certificate.NotAfter < DateTime.UtcNow ||
      context.Request.Certificate.Thumbprint != "THUMB" ||
      context.Request.Certificate.Issuer != "ISSUER"
    )">
      <return-response>
        <set-status code="403" reason="Forbidden" />
        <set-body>Client certificate validation failed.</set-body>
      </return-response>
    </when>
  </choose>
</inbound>"#
        .replace("THUMB", thumbprint)
        .replace("ISSUER", issuer)
}

struct Lab {
    pki: Pki,
    good_info: CertInfo,
    good: Issued,
}

fn lab() -> Lab {
    let pki = Pki::new("Policy");
    let good = pki.leaf(&Spec::leaf("client.example").client_only());
    let good_info = info(&good);
    Lab { pki, good_info, good }
}

#[test]
fn guide_policy_null_certificate_answers_403_from_clause_1() {
    let lab = lab();
    let xml = guide_policy(&lab.good_info.thumbprint_sha1, &lab.good_info.issuer);
    let out = run(&xml, &input(None));
    assert_eq!(out.status, 403);
    assert!(out.determined);
    assert_eq!(
        out.decided_by.as_deref(),
        Some("inbound/choose[1]/when[1] condition clause 1: context.Request.Certificate == null")
    );
    // Only the null test: the later clauses would throw on a null certificate, so they record nothing.
    assert_eq!(out.comparisons.len(), 1);
    let c = &out.comparisons[0];
    assert_eq!((c.property.as_str(), c.operator.as_str(), c.literal.as_str()), ("Certificate", "==", "null"));
    assert_eq!(c.actual, None);
    assert!(c.result && c.evaluated);
    assert_eq!(
        out.notes[0],
        "<base/> in inbound: the inherited policies (product, API, global scope) are not evaluated"
    );
    let kinds: Vec<&str> = out.elements.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["base", "choose", "when", "return-response"]);
    assert_eq!(out.elements[3].outcome, ElementOutcome::Response { status: 403, reason: Some("Forbidden".into()) });
}

#[test]
fn guide_policy_expired_certificate_answers_403_from_clause_2() {
    let lab = lab();
    let expired = info(&lab.pki.leaf(&Spec::leaf("old.example").client_only().valid_days(-400, -2)));
    let xml = guide_policy(&expired.thumbprint_sha1, &expired.issuer);
    let out = run(&xml, &input(Some(&expired)));
    assert_eq!(out.status, 403);
    assert_eq!(
        out.decided_by.as_deref(),
        Some("inbound/choose[1]/when[1] condition clause 2: context.Request.Certificate.NotAfter < DateTime.UtcNow")
    );
    let date = out.comparisons.iter().find(|c| c.property == "NotAfter").expect("NotAfter comparison");
    assert_eq!(date.operator, "<");
    assert_eq!(date.literal, "DateTime.UtcNow");
    assert_eq!(date.literal_source, "DateTime.UtcNow");
    assert_eq!(date.actual.as_deref(), Some(expired.not_after.as_str()));
    assert!(date.result && date.evaluated);
    // Thumbprint and issuer are right: computed for the explanation, skipped by C#'s short-circuit.
    let rest: Vec<_> = out.comparisons.iter().filter(|c| c.clause > 2).collect();
    assert_eq!(rest.len(), 2);
    assert!(rest.iter().all(|c| !c.evaluated && !c.result));
}

#[test]
fn guide_policy_wrong_thumbprint_answers_403_and_traces_both_values() {
    let lab = lab();
    let other = info(&lab.pki.leaf(&Spec::leaf("other.example").client_only()));
    let xml = guide_policy(&other.thumbprint_sha1, &lab.good_info.issuer);
    let out = run(&xml, &input(Some(&lab.good_info)));
    assert_eq!(out.status, 403);
    let expected = format!(
        "inbound/choose[1]/when[1] condition clause 3: context.Request.Certificate.Thumbprint != \"{}\"",
        other.thumbprint_sha1
    );
    assert_eq!(out.decided_by.as_deref(), Some(expected.as_str()));
    let tp = out.comparisons.iter().find(|c| c.property == "Thumbprint").expect("thumbprint comparison");
    assert_eq!(tp.literal, other.thumbprint_sha1);
    assert_eq!(tp.actual.as_deref(), Some(lab.good_info.thumbprint_sha1.as_str()));
    assert_eq!(tp.operator, "!=");
    assert!(tp.result && tp.evaluated && !tp.case_insensitive && tp.property_is_left);
    assert_eq!(tp.literal_source, "literal");
    assert_eq!(
        out.elements[2].outcome,
        ElementOutcome::Condition { value: true, deciding_clause: Some(3), clauses: 4 }
    );
}

#[test]
fn guide_policy_issuer_in_openssl_order_answers_403_from_clause_4() {
    let lab = lab();
    // What `openssl x509 -issuer` shows, in encoding order: .NET prints the RDNs the other way round.
    let openssl_order = "O=mtls-doctor lab, CN=Policy Issuing CA";
    assert_eq!(lab.good_info.issuer, "CN=Policy Issuing CA, O=mtls-doctor lab");
    let xml = guide_policy(&lab.good_info.thumbprint_sha1, openssl_order);
    let out = run(&xml, &input(Some(&lab.good_info)));
    assert_eq!(out.status, 403);
    assert!(out
        .decided_by
        .as_deref()
        .unwrap_or_default()
        .contains("condition clause 4: context.Request.Certificate.Issuer"));
    let issuer = out.comparisons.iter().find(|c| c.property == "Issuer").expect("issuer comparison");
    assert_eq!(issuer.literal, openssl_order);
    assert_eq!(issuer.actual.as_deref(), Some("CN=Policy Issuing CA, O=mtls-doctor lab"));
    assert!(issuer.result);
}

#[test]
fn guide_policy_right_certificate_passes_with_200() {
    let lab = lab();
    let xml = guide_policy(&lab.good_info.thumbprint_sha1, &lab.good_info.issuer);
    let out = run(&xml, &input(Some(&lab.good_info)));
    assert_eq!(out.status, 200);
    assert!(out.determined);
    assert_eq!(out.decided_by, None);
    assert_eq!(out.comparisons.len(), 4);
    assert!(out.comparisons.iter().all(|c| !c.result && c.evaluated));
    assert_eq!(out.elements[2].outcome, ElementOutcome::Condition { value: false, deciding_clause: None, clauses: 4 });
    assert_eq!(out.elements[1].outcome, ElementOutcome::Branch { taken: None });
    assert!(out.unevaluable.is_empty());
}

#[test]
fn escaped_xml_form_evaluates_like_the_raw_form() {
    let lab = lab();
    let raw = guide_policy(&lab.good_info.thumbprint_sha1, "CN=Wrong CA");
    // The same policy as an XML serializer writes it (what the management API's `xml` format returns).
    let xml_escaped = format!(
        r#"<inbound><choose><when condition="@(context.Request.Certificate == null || context.Request.Certificate.NotAfter &lt; DateTime.UtcNow || context.Request.Certificate.Thumbprint != &quot;{}&quot; || context.Request.Certificate.Issuer != &quot;CN=Wrong CA&quot;)"><return-response><set-status code="403" reason="Forbidden" /></return-response></when></choose></inbound>"#,
        lab.good_info.thumbprint_sha1
    );
    let a = run(&raw, &input(Some(&lab.good_info)));
    let b = run(&xml_escaped, &input(Some(&lab.good_info)));
    assert_eq!(a.status, 403);
    assert_eq!(b.status, 403);
    let lit = |o: &PolicyOutcome| {
        o.comparisons.iter().map(|c| (c.property.clone(), c.literal.clone(), c.result)).collect::<Vec<_>>()
    };
    assert_eq!(lit(&a), lit(&b));
    assert_eq!(a.decided_by.as_deref().map(|d| d.contains("clause 4")), Some(true));
}

#[test]
fn verify_policy_follows_the_chain_result() {
    let lab = lab();
    let xml = r#"<when condition="@(
  context.Request.Certificate == null ||
  !context.Request.Certificate.Verify()
)">
  <return-response>
    <set-status code="403" reason="Forbidden" />
  </return-response>
</when>"#;
    // A bare <when> is not a policy: wrap it the way it sits in a real document.
    let xml = format!("<choose>{xml}</choose>");
    let mut inp = input(Some(&lab.good_info));
    inp.verify_ok = Some(false);
    let out = run(&xml, &inp);
    assert_eq!(out.status, 403);
    assert_eq!(
        out.decided_by.as_deref(),
        Some("choose[1]/when[1] condition clause 2: !context.Request.Certificate.Verify()")
    );
    assert_eq!(out.verify_calls.len(), 1);
    assert_eq!((out.verify_calls[0].method.as_str(), out.verify_calls[0].result), ("Verify", false));

    inp.verify_ok = Some(true);
    assert_eq!(run(&xml, &inp).status, 200);

    inp.verify_ok = None;
    let out = run(&xml, &inp);
    assert_eq!((out.status, out.determined), (0, false));
    assert_eq!(out.unevaluable[0].fragment, "context.Request.Certificate.Verify()");
    assert_eq!(out.unevaluable[0].clause, Some(2));
}

fn vcc(attrs: &str, identities: &str) -> String {
    format!("<inbound>\n<validate-client-certificate {attrs}>\n<identities>\n{identities}\n</identities>\n</validate-client-certificate>\n</inbound>")
}

#[test]
fn validate_client_certificate_matches_identity_on_thumbprint() {
    let lab = lab();
    let other = info(&lab.pki.leaf(&Spec::leaf("other.example").client_only()));
    let xml = vcc(
        "",
        &format!(
            r#"<identity thumbprint="{}" /><identity thumbprint="{}" />"#,
            other.thumbprint_sha1,
            lab.good_info.thumbprint_sha1.to_lowercase()
        ),
    );
    let out = run(&xml, &input(Some(&lab.good_info)));
    assert_eq!(out.status, 200);
    assert_eq!(out.elements[0].outcome, ElementOutcome::CertificateAccepted);
    assert_eq!(out.identity_checks.len(), 2);
    assert_eq!(out.identity_checks[0].matched, Some(false));
    assert_eq!(out.identity_checks[1].matched, Some(true));
    assert_eq!(out.identity_checks[1].path, "inbound/validate-client-certificate[1]/identities/identity[2]");
    assert_eq!(out.identity_checks[1].actual.as_deref(), Some(lab.good_info.thumbprint_sha1.as_str()));
}

#[test]
fn validate_client_certificate_matches_issuer_subject_and_common_name() {
    let lab = lab();
    let xml = vcc(
        r#"validate-revocation="false""#,
        r#"<identity issuer-subject="CN=Policy Issuing CA, O=mtls-doctor lab" common-name="client.example" />"#,
    );
    let mut inp = input(Some(&lab.good_info));
    // Revocation off: only the chain without revocation matters.
    inp.verify_ok = Some(false);
    let out = run(&xml, &inp);
    assert_eq!(out.status, 200, "{out:#?}");
    let attrs: Vec<(&str, Option<bool>)> =
        out.identity_checks.iter().map(|c| (c.attribute.as_str(), c.matched)).collect();
    assert_eq!(attrs, [("issuer-subject", Some(true)), ("common-name", Some(true))]);
    assert_eq!(out.identity_checks[1].actual.as_deref(), Some("client.example"));
}

// validate-client-certificate answers 401 and sets context.LastError.Reason, as recorded against a real
// instance (ronaldbosma/mtls-with-apim ProtectedApiTests): unregistered -> IdentityNotMatched, untrusted
// -> NotTrusted, expired -> Expired, not yet valid -> NotYetValid, none -> NotFound.
fn reason(out: &PolicyOutcome) -> Option<&str> {
    out.last_error.as_ref().and_then(|e| e.reason.as_deref())
}

#[test]
fn validate_client_certificate_without_matching_identity_answers_401() {
    let lab = lab();
    let xml = vcc(
        "",
        r#"<identity common-name="client.example" issuer-subject="CN=Someone Else" />
<identity subject="O=mtls-doctor lab, CN=client.example" />"#,
    );
    let out = run(&xml, &input(Some(&lab.good_info)));
    assert_eq!(out.status, 401);
    assert_eq!(reason(&out), Some("ClientCertificateIdentityNotMatched"));
    assert_eq!(
        out.elements[0].outcome,
        ElementOutcome::CertificateRejected {
            failures: vec![ValidationFailure::NoIdentityMatched { identities: 2 }],
            ignored: false
        }
    );
    assert_eq!(out.decided_by.as_deref(), Some("inbound/validate-client-certificate[1]: none of 2 identities matched"));
    let matched: Vec<Option<bool>> = out.identity_checks.iter().map(|c| c.matched).collect();
    assert_eq!(matched, [Some(true), Some(false), Some(false)]);
    assert_eq!(out.identity_checks[2].actual.as_deref(), Some("CN=client.example, O=mtls-doctor lab"));
}

#[test]
fn validate_client_certificate_expired_passes_only_without_not_after_check() {
    let lab = lab();
    let expired = info(&lab.pki.leaf(&Spec::leaf("old.example").client_only().valid_days(-400, -3)));
    let identity = format!(r#"<identity thumbprint="{}" />"#, expired.thumbprint_sha1);
    let out = run(&vcc(r#"validate-not-after="false""#, &identity), &input(Some(&expired)));
    assert_eq!(out.status, 200);
    let out = run(&vcc("", &identity), &input(Some(&expired)));
    assert_eq!(out.status, 401);
    assert_eq!(reason(&out), Some("ClientCertificateExpired"));
    assert_eq!(
        out.elements[0].outcome,
        ElementOutcome::CertificateRejected {
            failures: vec![ValidationFailure::Expired { not_after: expired.not_after.clone() }],
            ignored: false
        }
    );
}

#[test]
fn validate_client_certificate_ignore_error_lets_a_failure_through() {
    let lab = lab();
    let xml = vcc(r#"ignore-error="true""#, r#"<identity thumbprint="0000000000000000000000000000000000000000" />"#);
    let out = run(&xml, &input(Some(&lab.good_info)));
    assert_eq!(out.status, 200);
    assert_eq!(
        out.elements[0].outcome,
        ElementOutcome::CertificateRejected {
            failures: vec![ValidationFailure::NoIdentityMatched { identities: 1 }],
            ignored: true
        }
    );
    assert!(out.notes.iter().any(|n| n.contains("ignore-error=\"true\" lets the request through")));
}

#[test]
fn validate_client_certificate_trust_and_missing_certificate() {
    let lab = lab();
    let xml = "<validate-client-certificate validate-revocation=\"true\" validate-trust=\"true\" />";
    let mut inp = input(Some(&lab.good_info));
    inp.verify_ok = Some(false);
    inp.verify_no_revocation_ok = Some(false);
    let out = run(xml, &inp);
    assert_eq!(out.status, 401);
    assert_eq!(reason(&out), Some("ClientCertificateNotTrusted"));
    assert_eq!(
        out.elements[0].outcome,
        ElementOutcome::CertificateRejected {
            failures: vec![ValidationFailure::ChainNotTrusted { revocation_checked: true }],
            ignored: false
        }
    );
    inp.verify_no_revocation_ok = Some(true);
    let out = run(xml, &inp);
    assert_eq!(
        out.elements[0].outcome,
        ElementOutcome::CertificateRejected {
            failures: vec![ValidationFailure::RevocationCheckFailed],
            ignored: false
        }
    );
    // No recorded reason for a revocation-only failure: said so, not guessed.
    assert_eq!(reason(&out), None);
    assert!(out
        .last_error
        .as_ref()
        .and_then(|e| e.reason_unknown.as_deref())
        .is_some_and(|w| w.contains("not documented")));
    let out = run(xml, &input(None));
    assert_eq!(out.status, 401);
    assert_eq!(reason(&out), Some("ClientCertificateNotFound"));
    assert_eq!(out.decided_by.as_deref(), Some("validate-client-certificate[1]: no client certificate"));
    let mut unknown = input(Some(&lab.good_info));
    unknown.verify_ok = None;
    unknown.verify_no_revocation_ok = None;
    let out = run(xml, &unknown);
    assert_eq!((out.status, out.determined), (0, false));
    assert_eq!(out.unevaluable[0].fragment, "validate-trust");
}

#[test]
fn deployment_certificates_any_checks_uploaded_thumbprints() {
    let lab = lab();
    let xml = r#"<choose>
  <when condition="@(context.Request.Certificate == null || !context.Deployment.Certificates.Any(c => c.Value.Thumbprint == context.Request.Certificate.Thumbprint))">
    <return-response><set-status code="403" /></return-response>
  </when>
</choose>"#;
    let other = info(&lab.pki.leaf(&Spec::leaf("other.example").client_only()));
    let mut inp = input(Some(&lab.good_info));
    let entity = |id: &str, tp: &str| DeploymentCertificate { id: id.into(), thumbprint: tp.into(), is_ca: false };
    // Not given at all: unknown, not "none uploaded".
    let out = run(xml, &inp);
    assert!(!out.determined, "{out:?}");
    assert!(out.unevaluable.iter().any(|u| u.why.contains("--deployment-cert")), "{:?}", out.unevaluable);
    inp.deployment_certificates = Some(vec![entity("partner-a", &other.thumbprint_sha1)]);
    let out = run(xml, &inp);
    assert_eq!(out.status, 403);
    let any: Vec<_> = out.comparisons.iter().filter(|c| c.literal_source.starts_with("deployment")).collect();
    assert_eq!(any.len(), 1);
    assert_eq!(any[0].literal, other.thumbprint_sha1);
    assert_eq!(any[0].literal_source, "deployment certificate 1");
    assert!(!any[0].property_is_left);
    assert!(!any[0].result);

    if let Some(d) = inp.deployment_certificates.as_mut() {
        d.push(entity("partner-b", &lab.good_info.thumbprint_sha1));
    }
    let out = run(xml, &inp);
    assert_eq!(out.status, 200);
    let equals = r#"<choose><when condition="@(!context.Deployment.Certificates.Any(c => c.Value.Thumbprint.Equals(context.Request.Certificate.Thumbprint)))"><return-response><set-status code="403" /></return-response></when></choose>"#;
    assert_eq!(run(equals, &inp).status, 200);
    let by_key = r#"<choose><when condition="@(!context.Deployment.Certificates.Any(c => c.Key == "partner-b" && c.Value.Thumbprint == context.Request.Certificate.Thumbprint))"><return-response><set-status code="403" /></return-response></when></choose>"#;
    assert_eq!(run(by_key, &inp).status, 200);
    inp.deployment_certificates = Some(vec![]);
    assert_eq!(run(equals, &inp).status, 403);
}

#[test]
fn to_upper_fixes_a_lowercase_thumbprint_literal() {
    let lab = lab();
    let lower = lab.good_info.thumbprint_sha1.to_lowercase();
    let plain = format!(
        r#"<choose><when condition="@(context.Request.Certificate.Thumbprint != "{lower}")"><return-response><set-status code="403" /></return-response></when></choose>"#
    );
    let out = run(&plain, &input(Some(&lab.good_info)));
    assert_eq!(out.status, 403);
    assert_eq!(out.comparisons[0].literal, lower);

    let fixed = plain.replace(&format!("\"{lower}\")"), &format!("\"{lower}\".ToUpper())"));
    let out = run(&fixed, &input(Some(&lab.good_info)));
    assert_eq!(out.status, 200);
    let c = &out.comparisons[0];
    assert_eq!(c.literal, lower);
    assert_eq!(c.compared_literal, lab.good_info.thumbprint_sha1);
    assert_eq!(c.transforms, ["literal.ToUpper()"]);
    assert!(!c.result);
}

#[test]
fn equals_with_ordinal_ignore_case_matches_lowercase() {
    let lab = lab();
    let lower = lab.good_info.thumbprint_sha1.to_lowercase();
    let xml = format!(
        r#"<choose><when condition="@(!context.Request.Certificate.Thumbprint.Equals("{lower}", StringComparison.OrdinalIgnoreCase))"><return-response><set-status code="403" /></return-response></when></choose>"#
    );
    let out = run(&xml, &input(Some(&lab.good_info)));
    assert_eq!(out.status, 200);
    assert_eq!(out.comparisons[0].operator, "Equals");
    assert!(out.comparisons[0].case_insensitive && out.comparisons[0].result);

    let ordinal = xml.replace(", StringComparison.OrdinalIgnoreCase", "");
    let out = run(&ordinal, &input(Some(&lab.good_info)));
    assert_eq!(out.status, 403);
    assert!(!out.comparisons[0].case_insensitive && !out.comparisons[0].result);

    let stat = format!(
        r#"<choose><when condition="@(!string.Equals(context.Request.Certificate.Thumbprint, "{lower}", StringComparison.OrdinalIgnoreCase))"><return-response><set-status code="403" /></return-response></when></choose>"#
    );
    let out = run(&stat, &input(Some(&lab.good_info)));
    assert_eq!(out.status, 200);
    assert_eq!(out.comparisons[0].operator, "string.Equals");
}

#[test]
fn invisible_left_to_right_mark_fails_and_is_kept_in_the_trace() {
    let lab = lab();
    let pasted = format!("\u{200E}{}", lab.good_info.thumbprint_sha1);
    let xml = format!(
        r#"<choose><when condition="@(context.Request.Certificate.Thumbprint != "{pasted}".Trim())"><return-response><set-status code="403" /></return-response></when></choose>"#
    );
    let out = run(&xml, &input(Some(&lab.good_info)));
    assert_eq!(out.status, 403);
    let c = &out.comparisons[0];
    assert_eq!(c.literal, pasted);
    assert!(c.literal.starts_with('\u{200E}'));
    assert_eq!(c.literal.chars().count(), 41);
    // Trim() does not remove U+200E: it is not white space.
    assert_eq!(c.compared_literal, pasted);
    assert_eq!(c.transforms, ["literal.Trim()"]);
    assert!(c.result);
    // The same mark written as a C# escape is the same string.
    let escaped = xml.replace('\u{200E}', "\\u200E");
    assert_eq!(run(&escaped, &input(Some(&lab.good_info))).comparisons[0].literal, pasted);
}

#[test]
fn null_certificate_without_null_test_throws_and_answers_500() {
    let xml = r#"<inbound>
  <choose>
    <when condition="@(context.Request.Certificate.Thumbprint != "ABCDEF")">
      <return-response><set-status code="403" /></return-response>
    </when>
  </choose>
</inbound>"#;
    let out = run(xml, &input(None));
    assert_eq!(out.status, 500);
    assert_eq!(
        out.decided_by.as_deref(),
        Some("inbound/choose[1]/when[1] condition clause 1: context.Request.Certificate.Thumbprint != \"ABCDEF\" (NullReferenceException: context.Request.Certificate is null)")
    );
    assert_eq!(
        out.elements[1].outcome,
        ElementOutcome::Exception {
            exception: "NullReferenceException".into(),
            fragment: "context.Request.Certificate.Thumbprint".into()
        }
    );
    // The usual guard short-circuits, so the same check with it answers 403, not 500.
    let guarded = xml.replace("@(context", "@(context.Request.Certificate == null || context");
    assert_eq!(run(&guarded, &input(None)).status, 403);
    // Short-circuiting holds inside parentheses too, not only between top-level clauses.
    let nested = xml.replace(
        "@(context.Request.Certificate.Thumbprint != \"ABCDEF\")",
        "@((context.Request.Certificate == null || context.Request.Certificate.Thumbprint != \"ABCDEF\") && true)",
    );
    assert_ne!(nested, xml);
    let out = run(&nested, &input(None));
    assert_eq!(out.status, 403);
    assert_eq!(out.elements[1].outcome, ElementOutcome::Condition { value: true, deciding_clause: None, clauses: 2 });
    let anded = r#"<choose><when condition="@(context.Request.Certificate != null &amp;&amp; context.Request.Certificate.Subject.Contains("CN=client"))"><return-response><set-status code="200" /></return-response></when><otherwise><return-response><set-status code="401" /></return-response></otherwise></choose>"#;
    let out = run(anded, &input(None));
    assert_eq!(out.status, 401);
    assert_eq!(out.decided_by.as_deref(), Some("choose[1]/otherwise (no when condition was true)"));
}

#[test]
fn exception_runs_on_error_section() {
    let xml = r#"<policies>
  <inbound><choose><when condition="@(context.Request.Certificate.Issuer == "CN=x")"><return-response><set-status code="200" /></return-response></when></choose></inbound>
  <backend><forward-request /></backend>
  <outbound />
  <on-error><base /><return-response><set-status code="401" reason="No certificate" /></return-response></on-error>
</policies>"#;
    let out = run(xml, &input(None));
    assert_eq!(out.status, 401);
    let by = out.decided_by.unwrap_or_default();
    assert!(
        by.starts_with("on-error/return-response[1] (on-error, after inbound/choose[1]/when[1] condition clause 1"),
        "{by}"
    );
    assert!(out
        .notes
        .iter()
        .any(|n| n == "<backend> was not evaluated: it runs after the inbound decision on the client certificate"));
}

#[test]
fn unsupported_expressions_are_named_not_guessed() {
    let lab = lab();
    let cases = [
        (
            r#"context.Request.Certificate == null || context.Request.Headers.GetValueOrDefault("X-Client", "") != "a""#,
            r#"context.Request.Headers.GetValueOrDefault("X-Client", "")"#,
            Some(2),
        ),
        (r#"context.Request.Certificate.Thumbprint != "A" ?: false"#, "?:", None),
        (
            r#"context.Request.Certificate.Thumbprint.Substring(0, 2) != "AB""#,
            "context.Request.Certificate.Thumbprint.Substring(0, 2)",
            Some(1),
        ),
        (
            r#"context.Request.Certificate.Extensions["subjectAltName"] != null"#,
            r#"context.Request.Certificate.Extensions["subjectAltName"]"#,
            Some(1),
        ),
    ];
    for (cond, fragment, clause) in cases {
        let xml = format!(
            r#"<choose><when condition="@({cond})"><return-response><set-status code="403" /></return-response></when></choose>"#
        );
        let out = run(&xml, &input(Some(&lab.good_info)));
        assert_eq!((out.status, out.determined), (0, false), "{cond}");
        assert_eq!(out.unevaluable.len(), 1, "{cond}: {:?}", out.unevaluable);
        assert_eq!(out.unevaluable[0].fragment, fragment, "{cond}");
        assert_eq!(out.unevaluable[0].clause, clause, "{cond}");
        assert_eq!(out.unevaluable[0].path, "choose[1]/when[1]");
    }
    let block = r#"<choose><when condition="@{ var c = context.Request.Certificate; return c == null; }"><return-response><set-status code="403" /></return-response></when></choose>"#;
    // Statement blocks are evaluated (tests/integration/policy_blocks.rs has the details).
    let out = run(block, &input(Some(&lab.good_info)));
    assert_eq!((out.status, out.determined), (200, true), "{:?}", out.unevaluable);

    let named = r#"<choose><when condition="@(context.Request.Certificate.Thumbprint != "{{client-thumbprint}}")"><return-response><set-status code="403" /></return-response></when></choose>"#;
    let out = run(named, &input(Some(&lab.good_info)));
    assert_eq!(out.unevaluable[0].fragment, "{{client-thumbprint}}");
    // A clause after the deciding one may be unsupported: C# never evaluates it, so the result stands.
    let late = r#"<choose><when condition="@(context.Request.Certificate == null || context.Request.Headers.ContainsKey("x"))"><return-response><set-status code="403" /></return-response></when></choose>"#;
    let out = run(late, &input(None));
    assert_eq!((out.status, out.determined), (403, true));
}

#[test]
fn malformed_xml_error_names_file_line_and_column() {
    let xml = "<policies>\n  <inbound>\n    <choose>\n      <when condition=\"@(true)\">\n        <return-response>\n      </when>\n    </choose>\n  </inbound>\n</policies>";
    let err = parse_policy(xml, "apis/orders/policy.xml").expect_err("mismatched tags");
    let msg = err.to_string();
    assert!(msg.starts_with("apis/orders/policy.xml:6:"), "{msg}");
    assert!(matches!(err, mtls_doctor::Error::Input { .. }));

    let err = parse_policy("<choose>\n  <when>\n  </when>\n</choose>", "p.xml").expect_err("no condition");
    assert_eq!(err.to_string(), "p.xml:2:3: <when> has no condition attribute");
    let err = parse_policy("<inbound>\n<validate-client-certificate validate-trust=\"yes\" />\n</inbound>", "v.xml")
        .expect_err("bad boolean");
    assert_eq!(err.to_string(), "v.xml:2:1: validate-trust=\"yes\" is not true or false");
    let err = parse_policy("", "empty.xml").expect_err("empty");
    assert!(err.to_string().starts_with("empty.xml:1:1: "), "{err}");
    // Hostile nesting is refused with a position, not a stack overflow.
    let deep = format!(
        "{}<return-response />{}",
        "<choose><when condition=\"true\">".repeat(5000),
        "</when></choose>".repeat(5000)
    );
    let err = parse_policy(&deep, "deep.xml").expect_err("too deep");
    assert_eq!(err.to_string(), "deep.xml:1:1551: elements are nested deeper than 100 levels");
    let fine = format!(
        "{}<return-response><set-status code=\"418\" /></return-response>{}",
        "<choose><when condition=\"true\">".repeat(40),
        "</when></choose>".repeat(40)
    );
    assert_eq!(evaluate(&parse_policy(&fine, "ok.xml").expect("parses"), &input(None)).status, 418);
}

#[test]
fn authentication_certificates_are_recorded_everywhere_without_secrets() {
    let xml = r#"<policies>
  <inbound>
    <base />
    <authentication-certificate certificate-id="backend-client-cert" />
    <choose><when condition="@(false)"><authentication-certificate thumbprint="A1B2" /></when></choose>
  </inbound>
  <backend>
    <authentication-certificate body="TUlJQ1NFQ1JFVFBGWA==" password="s3cr3t-pfx-pass" />
  </backend>
</policies>"#;
    let policy = parse_policy(xml, "p.xml").expect("parses");
    assert_eq!(policy.form, PolicyForm::Document);
    let out = evaluate(&policy, &input(None));
    assert_eq!(out.status, 200);
    let refs: Vec<(&str, Option<&str>, Option<&str>, bool)> = out
        .authentication_certificates
        .iter()
        .map(|a| (a.path.as_str(), a.certificate_id.as_deref(), a.thumbprint.as_deref(), a.body_present))
        .collect();
    assert_eq!(
        refs,
        [
            ("inbound/authentication-certificate[1]", Some("backend-client-cert"), None, false),
            ("inbound/choose[1]/when[1]/authentication-certificate[1]", None, Some("A1B2"), false),
            ("backend/authentication-certificate[1]", None, None, true),
        ]
    );
    assert!(out.authentication_certificates[2].password_present);
    let everything = format!(
        "{}{:?}{}{:?}",
        serde_json::to_string(&policy).expect("json"),
        policy,
        serde_json::to_string(&out).expect("json"),
        out
    );
    assert!(!everything.contains("s3cr3t-pfx-pass"));
    assert!(!everything.contains("TUlJQ1NFQ1JFVFBGWA=="));
}

#[test]
fn snippet_for_a_real_certificate_accepts_it_and_rejects_others() {
    let root = Issued::self_signed(&{
        let mut s = Spec::ca("Contoso Root");
        s.subject =
            vec![(DnType::OrganizationName, "Contoso, Inc.".into()), (DnType::CommonName, "Contoso \"R\" CA".into())];
        s
    })
    .expect("root");
    let leaf = root.issue(&Spec::leaf("api-client").client_only()).expect("leaf");
    let leaf_info = info(&leaf);
    assert_eq!(leaf_info.issuer, "CN=\"Contoso \"\"R\"\" CA\", O=\"Contoso, Inc.\"");
    let snippet =
        thumbprint_literal_snippet(&format!("\u{200E}{}", leaf_info.thumbprint_sha1.to_lowercase()), &leaf_info.issuer);
    assert!(snippet.contains(&format!("Thumbprint != \"{}\"", leaf_info.thumbprint_sha1)), "{snippet}");
    assert!(snippet.contains(r#"Issuer != "CN=\"Contoso \"\"R\"\" CA\", O=\"Contoso, Inc.\"""#), "{snippet}");
    let ok = run(&snippet, &input(Some(&leaf_info)));
    assert_eq!(ok.status, 200, "{ok:#?}");
    let issuer = ok.comparisons.iter().find(|c| c.property == "Issuer").expect("issuer");
    assert_eq!(issuer.literal, leaf_info.issuer);
    let stranger = info(&root.issue(&Spec::leaf("someone-else").client_only()).expect("leaf"));
    assert_eq!(run(&snippet, &input(Some(&stranger))).status, 403);
    assert_eq!(run(&snippet, &input(None)).status, 403);
}

#[test]
fn expiring_soon_check_with_add_days() {
    let lab = lab();
    let soon = info(&lab.pki.leaf(&Spec::leaf("soon.example").client_only().valid_days(-10, 10)));
    let xml = r#"<choose><when condition="@(context.Request.Certificate.NotAfter <= DateTime.UtcNow.AddDays(30))"><return-response><set-status code="403" reason="Renew" /></return-response></when></choose>"#;
    let out = run(xml, &input(Some(&soon)));
    assert_eq!(out.status, 403);
    let c = &out.comparisons[0];
    assert_eq!(c.literal, "DateTime.UtcNow.AddDays(30)");
    assert_eq!(c.transforms, ["AddDays(30)"]);
    assert!(c.compared_literal > c.actual.clone().unwrap_or_default());
    assert_eq!(run(xml, &input(Some(&lab.good_info))).status, 200);
}

#[test]
fn policy_and_outcome_round_trip_through_json() {
    let lab = lab();
    let xml = guide_policy(&lab.good_info.thumbprint_sha1, "CN=Nobody");
    let policy = parse_policy(&xml, "p.xml").expect("parses");
    let back: Policy = serde_json::from_str(&serde_json::to_string(&policy).expect("json")).expect("policy back");
    assert_eq!(back, policy);
    let out = evaluate(&policy, &input(Some(&lab.good_info)));
    assert_eq!(out.status, 403);
    let back: PolicyOutcome = serde_json::from_str(&serde_json::to_string(&out).expect("json")).expect("outcome back");
    assert_eq!(back, out);
    let json = serde_json::to_value(&out).expect("value");
    assert_eq!(json["elements"][2]["outcome"]["outcome"], "condition");
    assert_eq!(json["comparisons"][3]["literal"], "CN=Nobody");
    // The certificate presented (with its key) stays out of the policy: nothing secret to leak.
    assert!(!serde_json::to_string(&out).expect("json").contains("PRIVATE KEY"));
}

#[test]
fn policy_file_is_read_capped_and_named_in_errors() {
    let dir = crate::util::Dir::new();
    let xml = guide_policy("AB12", "CN=Nobody");
    let file = dir.write("p.xml", &xml);
    assert_eq!(
        mtls_doctor::policy::load_policy_file(&file).expect("loads"),
        parse_policy(&xml, &file.display().to_string()).expect("parses")
    );
    // Sparse: the size is judged before anything is read.
    let big = dir.path("huge.xml");
    std::fs::File::create(&big).expect("create").set_len(mtls_doctor::fsio::POLICY_CAP.bytes + 1).expect("set_len");
    let err = mtls_doctor::policy::load_policy_file(&big).expect_err("over the cap").to_string();
    assert_eq!(err, format!("{}: is larger than the 4 MiB this tool reads for a policy file", big.display()));
    let latin1 = dir.write("latin1.xml", b"<choose caf\xe9/>");
    let err = mtls_doctor::policy::load_policy_file(&latin1).expect_err("not UTF-8").to_string();
    assert_eq!(err, format!("{}: is not UTF-8 text", latin1.display()));
}

// The on-error section runs after validate-client-certificate fails and reads context.LastError.
#[test]
fn on_error_reads_last_error_reason_after_validate_client_certificate() {
    let lab = lab();
    let xml = r#"<policies>
  <inbound><validate-client-certificate validate-revocation="false"><identities><identity thumbprint="0000000000000000000000000000000000000000" /></identities></validate-client-certificate></inbound>
  <on-error>
    <choose>
      <when condition="@(context.LastError.Source == "validate-client-certificate" && context.LastError.Reason == "ClientCertificateNotFound")">
        <return-response><set-status code="495" reason="No certificate" /></return-response>
      </when>
      <when condition="@(context.LastError.Reason == "ClientCertificateIdentityNotMatched")">
        <return-response><set-status code="403" reason="Not registered" /></return-response>
      </when>
    </choose>
  </on-error>
</policies>"#;
    let out = run(xml, &input(Some(&lab.good_info)));
    assert_eq!((out.status, reason(&out)), (403, Some("ClientCertificateIdentityNotMatched")));
    let out = run(xml, &input(None));
    assert_eq!((out.status, reason(&out)), (495, Some("ClientCertificateNotFound")));

    // Without on-error the gateway's own 401 stands; a revocation-only failure has no known
    // reason, so an on-error condition on it is not guessed.
    let mut inp = input(Some(&lab.good_info));
    inp.verify_ok = Some(false);
    let xml = r#"<policies><inbound><validate-client-certificate /></inbound>
  <on-error><choose><when condition="@(context.LastError.Reason == "ClientCertificateNotTrusted")"><return-response><set-status code="403" /></return-response></when></choose></on-error>
</policies>"#;
    let out = run(xml, &inp);
    assert!(!out.determined, "{out:?}");
    assert!(out.unevaluable.iter().any(|u| u.why.contains("not documented")), "{:?}", out.unevaluable);
}

// context.Deployment.Certificates and issuer-certificate-id come from the service's certificate
// entities: an az-shaped `az apim certificate list` export and `--deployment-cert ID=FILE`.
#[test]
fn deployment_certificates_and_issuer_certificate_id_from_exports() {
    use mtls_doctor::engine;
    use mtls_doctor::session::{MaterialRefs, TargetKind, TargetRun};
    let lab = lab();
    let dir = crate::util::Dir::new();
    let client = dir.write("client.pem", format!("{}{}", lab.good.cert_pem(), lab.pki.intermediate.cert_pem()));
    let issuing = dir.write("issuing.pem", lab.pki.intermediate.cert_pem());
    let good_tp = lab.good_info.thumbprint_sha1.clone();
    let export = format!(
        r#"{{"value": [{{"id": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.ApiManagement/service/s/certificates/partner-a",
  "type": "Microsoft.ApiManagement/service/certificates", "name": "partner-a",
  "properties": {{"subject": "CN=lab-client", "thumbprint": "{}", "expirationDate": "2030-01-01T00:00:00Z"}}}}]}}"#,
        good_tp.to_lowercase()
    );
    let azure = dir.write("certificates.json", export);
    let policy = dir.write(
        "policy.xml",
        r#"<policies><inbound>
  <validate-client-certificate validate-revocation="false" validate-trust="false"><identities><identity issuer-certificate-id="issuing-ca" /></identities></validate-client-certificate>
  <choose><when condition="@(!context.Deployment.Certificates.Any(c => c.Key == "partner-a" && c.Value.Thumbprint == context.Request.Certificate.Thumbprint))"><return-response><set-status code="403" /></return-response></when></choose>
</inbound></policies>"#,
    );
    let run_with = |deployment: Vec<String>| {
        let material = MaterialRefs {
            policy: Some(policy.display().to_string()),
            azure: vec![azure.display().to_string()],
            deployment_certs: deployment,
            ..MaterialRefs::default()
        };
        let loaded = engine::load(&material).expect("material loads");
        let run = TargetRun {
            kind: TargetKind::Inspect,
            files: vec![client.display().to_string()],
            material,
            ..TargetRun::default()
        };
        engine::run_inspect_target(run, mtls_doctor::verify::Role::Client, None, &loaded).expect("inspect")
    };
    // The issuing CA given as the entity "issuing-ca": the identity matches, the export's entry
    // (lowercase thumbprint, normalised as the service shows it) matches the Any() check.
    let run = run_with(vec![format!("issuing-ca={}", issuing.display())]);
    let o = &run.policy.as_ref().expect("policy").outcome;
    assert_eq!((o.status, o.determined), (200, true), "{o:?}");
    assert_eq!(o.identity_checks[0].matched, Some(true));
    // An id that is not among the entities: reported as unresolved, not as a mismatch.
    let run = run_with(vec![]);
    let o = &run.policy.as_ref().expect("policy").outcome;
    assert!(!o.determined);
    assert!(
        o.unevaluable.iter().any(|u| u.why.contains("no certificate with id \"issuing-ca\"")),
        "{:?}",
        o.unevaluable
    );
    // A malformed flag is one clear input error naming it.
    let bad = MaterialRefs { deployment_certs: vec!["no-equals-sign".into()], ..MaterialRefs::default() };
    let err = engine::load(&bad).err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(err, "--deployment-cert no-equals-sign: expected ID=FILE");
}

// Named values: substituted as the gateway does before the policy runs; an unresolved one is
// reported as such (not as a syntax error), and the value never reaches a saved session.
#[test]
fn named_values_resolve_from_the_command_line() {
    use mtls_doctor::engine;
    use mtls_doctor::session::{MaterialRefs, TargetKind, TargetRun};
    let lab = lab();
    let dir = crate::util::Dir::new();
    let client = dir.write("client.pem", lab.good.cert_pem());
    let policy = dir.write(
        "policy.xml",
        r#"<policies><inbound><choose>
  <when condition="@(context.Request.Certificate.Thumbprint != "{{partner-thumbprint}}")"><return-response><set-status code="403" /></return-response></when>
</choose></inbound></policies>"#,
    );
    let run_with = |values: Vec<String>| {
        let material = MaterialRefs {
            policy: Some(policy.display().to_string()),
            named_values: values,
            ..MaterialRefs::default()
        };
        let loaded = engine::load(&material).expect("material loads");
        let run = TargetRun {
            kind: TargetKind::Inspect,
            files: vec![client.display().to_string()],
            material,
            ..TargetRun::default()
        };
        engine::run_inspect_target(run, mtls_doctor::verify::Role::Client, None, &loaded).expect("inspect")
    };
    let tp = lab.good_info.thumbprint_sha1.clone();
    let run = run_with(vec![format!("partner-thumbprint={tp}")]);
    assert_eq!(run.policy.as_ref().map(|p| (p.outcome.status, p.outcome.determined)), Some((200, true)));
    let saved = serde_json::to_string(&run.material).expect("serialize");
    assert!(!saved.contains(&tp) && !saved.contains("partner-thumbprint"), "{saved}");

    let run = run_with(vec!["other=1".into()]);
    let o = &run.policy.as_ref().expect("policy").outcome;
    assert!(!o.determined);
    assert_eq!(o.unevaluable[0].fragment, "{{partner-thumbprint}}");
    assert!(o.unevaluable[0].why.contains("--named-value"), "{:?}", o.unevaluable);

    let bad = MaterialRefs {
        policy: Some(policy.display().to_string()),
        named_values: vec!["secret-without-name".into()],
        ..MaterialRefs::default()
    };
    let err = engine::load(&bad).err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(err, "--named-value: expected NAME=VALUE");
}
