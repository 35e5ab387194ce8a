// Included into findings.rs: policy-name-check-without-chain (and policy-trust-off) decided through
// the conditions' boolean logic, path by path, for a look-alike (the expected names, another key,
// a chain to no uploaded CA). Each shape is also evaluated for the real look-alike, so the warning
// is held to what the evaluator answers for it.

/// The lab's good client's name, which a look-alike from the rogue root also carries.
const GOOD_CN: &str = "lab-client-good";

/// A look-alike of the good client and the status the policy gives it.
fn look_alike_status(c: &PolicyCase, xml: &str) -> u16 {
    let look_alike = c.make("look-alike", &c.pki.rogue_root, &Spec::leaf(GOOD_CN));
    status(&c.run_with(&look_alike, xml, refs()))
}

/// A `<choose>` that lets the request through only when `admit` holds.
fn admit_when(admit: &str) -> String {
    format!(
        r#"<policies><inbound><choose>
  <when condition="@({admit})"><set-header name="X-Ok" exists-action="override"><value>1</value></set-header></when>
  <otherwise><return-response><set-status code="403" reason="Forbidden" /></return-response></otherwise>
</choose></inbound></policies>"#
    )
}

#[test]
fn a_name_check_and_ed_with_the_chain_check_is_chained() {
    let c = PolicyCase::new();
    let subject = "context.Request.Certificate.Subject.Contains(\"CN=lab-client-good\")";
    let chained = admit_when(&format!("context.Request.Certificate != null && context.Request.Certificate.VerifyNoRevocation() && {subject}"));
    let run = c.run(&chained);
    assert_eq!(status(&run), 200);
    absent(&run, "policy-name-check-without-chain");
    assert_eq!(look_alike_status(&c, &chained), 403, "the look-alike is refused, as the analysis says");

    // The same checks or-ed: the name alone lets the look-alike in.
    let either = admit_when(&format!("context.Request.Certificate.VerifyNoRevocation() || {subject}"));
    let run = c.run(&either);
    let f = fires(&run, "policy-name-check-without-chain", Severity::Warning, Symptom::Forbidden403);
    assert!(f.cause.contains("not on the path"), "{}", f.cause);
    quotes(f, r#"name searched: context.Request.Certificate.Subject.Contains("CN=lab-client-good")"#);
    assert_eq!(look_alike_status(&c, &either), 200, "and the evaluator lets the look-alike in");

    // A whole-name equality or-ed with Verify(): the same.
    let dn = admit_when(&format!("context.Request.Certificate.Verify() || context.Request.Certificate.Subject == \"{}\"", c.good.subject));
    fires(&c.run(&dn), "policy-name-check-without-chain", Severity::Warning, Symptom::Forbidden403);
}

#[test]
fn a_chain_check_in_another_when_or_after_the_return_does_not_count() {
    let c = PolicyCase::new();
    // when[1] admits by name; the chain check sits in when[2], which the look-alike never reaches.
    let other_when = r#"<policies><inbound><choose>
  <when condition="@(context.Request.Certificate != null &amp;&amp; context.Request.Certificate.Subject.Contains(&quot;CN=lab-client-good&quot;))">
    <set-header name="X-Ok" exists-action="override"><value>1</value></set-header>
  </when>
  <when condition="@(context.Request.Certificate == null || !context.Request.Certificate.VerifyNoRevocation())">
    <return-response><set-status code="403" /></return-response>
  </when>
</choose></inbound></policies>"#;
    let run = c.run(other_when);
    assert_eq!(status(&run), 200);
    fires(&run, "policy-name-check-without-chain", Severity::Warning, Symptom::Forbidden403);
    assert_eq!(look_alike_status(&c, other_when), 200);

    // Refusing whens in sequence are one path: the name check, then the chain check. Quiet.
    let in_sequence = r#"<policies><inbound><choose>
  <when condition="@(context.Request.Certificate == null || !context.Request.Certificate.Subject.Contains(&quot;CN=lab-client-good&quot;))">
    <return-response><set-status code="403" /></return-response>
  </when>
  <when condition="@(!context.Request.Certificate.VerifyNoRevocation())">
    <return-response><set-status code="403" /></return-response>
  </when>
</choose></inbound></policies>"#;
    let run = c.run(in_sequence);
    assert_eq!(status(&run), 200);
    absent(&run, "policy-name-check-without-chain");
    assert_eq!(look_alike_status(&c, in_sequence), 403);

    // In a block: the name decides and returns; the chain check after that return never runs.
    let after_return = r#"<policies><inbound><choose><when condition="@{
        var cert = context.Request.Certificate;
        if (cert == null) { return true; }
        if (cert.Subject.Contains(&quot;CN=lab-client-good&quot;)) { return false; }
        return !cert.VerifyNoRevocation();
    }"><return-response><set-status code="403" /></return-response></when></choose></inbound></policies>"#;
    let run = c.run(after_return);
    assert_eq!(status(&run), 200);
    fires(&run, "policy-name-check-without-chain", Severity::Warning, Symptom::Forbidden403);
    assert_eq!(look_alike_status(&c, after_return), 200);

    // The chain check before the name's return: quiet.
    let before_return = after_return.replace(
        "if (cert == null) { return true; }",
        "if (cert == null || !cert.VerifyNoRevocation()) { return true; }",
    );
    let run = c.run(&before_return);
    absent(&run, "policy-name-check-without-chain");
    assert_eq!(look_alike_status(&c, &before_return), 403);
}

#[test]
fn a_thumbprint_pin_counts_only_where_it_refuses_the_look_alike() {
    let c = PolicyCase::new();
    let subject = format!("context.Request.Certificate.Subject == \"{}\"", c.good.subject);
    let thumb = format!("context.Request.Certificate.Thumbprint == \"{}\"", c.good.thumbprint_sha1);
    let both = admit_when(&format!("context.Request.Certificate != null && {subject} && {thumb}"));
    absent(&c.run(&both), "policy-name-check-without-chain");
    assert_eq!(look_alike_status(&c, &both), 403);
    let either = admit_when(&format!("context.Request.Certificate != null && ({subject} || {thumb})"));
    fires(&c.run(&either), "policy-name-check-without-chain", Severity::Warning, Symptom::Forbidden403);
    assert_eq!(look_alike_status(&c, &either), 200);
}

#[test]
fn trust_off_behind_a_chain_check_is_covered() {
    let c = PolicyCase::new();
    let by_name = format!(
        r#"<validate-client-certificate validate-trust="false" validate-revocation="false"><identities><identity subject="{}" /></identities></validate-client-certificate>"#,
        c.good.subject
    );
    let alone = format!("<inbound>{by_name}</inbound>");
    fires(&c.run(&alone), "policy-trust-off", Severity::Warning, Symptom::Forbidden403);
    // A <when> before it refuses what does not chain: the look-alike never reaches it.
    let guarded = format!(
        r#"<inbound><choose><when condition="@(context.Request.Certificate == null || !context.Request.Certificate.VerifyNoRevocation())"><return-response><set-status code="403" /></return-response></when></choose>{by_name}</inbound>"#
    );
    let run = c.run(&guarded);
    assert_eq!(status(&run), 200);
    absent(&run, "policy-trust-off");
    assert_eq!(look_alike_status(&c, &guarded), 403);
}

#[test]
fn null_conditional_chain_checks_and_casts_are_read_for_the_look_alike() {
    let c = PolicyCase::new();
    let subject = "context.Request.Certificate?.Subject.Contains(\"CN=lab-client-good\") == true";
    // `?.` and `??`: the look-alike presents a certificate, so the chain check decides.
    let coalesced = admit_when(&format!("(context.Request.Certificate?.VerifyNoRevocation() ?? false) &amp;&amp; {subject}"));
    absent(&c.run(&coalesced), "policy-name-check-without-chain");
    assert_eq!(look_alike_status(&c, &coalesced), 403);
    // A variable set from the chain check, read back with a cast, and-ed with the name: quiet.
    let by_variable = format!(
        r#"<policies><inbound><set-variable name="chained" value="@(context.Request.Certificate != null &amp;&amp; context.Request.Certificate.VerifyNoRevocation())" /><choose>
  <when condition="@((bool)context.Variables[&quot;chained&quot;] &amp;&amp; {})"><set-header name="X-Ok" exists-action="override"><value>1</value></set-header></when>
  <otherwise><return-response><set-status code="403" /></return-response></otherwise>
</choose></inbound></policies>"#,
        subject.replace('"', "&quot;")
    );
    absent(&c.run(&by_variable), "policy-name-check-without-chain");
    assert_eq!(look_alike_status(&c, &by_variable), 403);
    // Or-ed with it instead: the name alone lets the look-alike in.
    let or_ed = by_variable.replace("] &amp;&amp; ", "] || ");
    fires(&c.run(&or_ed), "policy-name-check-without-chain", Severity::Warning, Symptom::Forbidden403);
    assert_eq!(look_alike_status(&c, &or_ed), 200);
}
