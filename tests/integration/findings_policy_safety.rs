// Included into findings.rs (the fires_<id> meta-test lists that module's tests): policies that
// would let a look-alike certificate in, and fixes that never accept a refused certificate unasked.

/// A certificate made for a test, with its chain, written to files, and the lab's client CAs uploaded.
struct Made {
    info: mtls_doctor::cert::CertInfo,
    cert: PathBuf,
    key: PathBuf,
}

impl PolicyCase {
    /// A certificate `issuer` issues from `spec`, written with its issuer as the chain.
    fn make(&self, name: &str, issuer: &Issued, spec: &Spec) -> Made {
        let leaf = issuer.issue(spec).expect("issue");
        let cert = self.dir.write(&format!("{name}.pem"), format!("{}{}", leaf.cert_pem(), issuer.cert_pem()));
        let key = self.dir.write(&format!("{name}.key"), leaf.key_pem());
        Made { info: cert_info(&leaf), cert, key }
    }

    /// Inspect `made` against a policy, with `material` adding to the uploaded client CAs.
    fn run_with(&self, made: &Made, xml: &str, material: MaterialRefs) -> TargetRun {
        let policy = s(&self.dir.write("policy.xml", xml));
        let material = MaterialRefs { policy: Some(policy), client_ca: vec![s(&self.lab.client_ca)], ..material };
        inspect(&[&made.cert, &made.key], Role::Client, material)
    }

    fn good_made(&self) -> Made {
        Made { info: self.good.clone(), cert: self.lab.client_good.cert.clone(), key: self.lab.client_good.key.clone() }
    }
}

/// A `<choose>` that answers 403 when `refuse` holds.
fn refuse_when(refuse: &str) -> String {
    crate::util::refuse_403_when("", &format!("@({refuse})"))
}

fn status(run: &TargetRun) -> u16 {
    let o = &run.policy.as_ref().expect("policy evaluated").outcome;
    assert!(o.determined, "{:?}", o.unevaluable);
    o.status
}

#[test]
fn fires_policy_name_check_without_chain() {
    let c = PolicyCase::new();
    let contains = r#"context.Request.Certificate == null || !context.Request.Certificate.Subject.Contains("CN=lab-client-good")"#;
    let run = c.run(&refuse_when(contains));
    assert_eq!(status(&run), 200);
    let f = fires(&run, "policy-name-check-without-chain", Severity::Warning, Symptom::Forbidden403);
    quotes(
        f,
        r#"inbound/choose[1]/when[1] (line 5): name searched: context.Request.Certificate.Subject.Contains("CN=lab-client-good")"#,
    );
    quotes(f, "the inbound section has <base/>");
    assert!(f.cause.contains("some only by a part of them"), "{}", f.cause);

    // Why it matters: a certificate from a CA nobody uploaded, carrying the same name, gets the same 200.
    let look_alike = c.make("look-alike", &c.pki.rogue_root, &Spec::leaf("lab-client-good"));
    let run = c.run_with(&look_alike, &refuse_when(contains), refs());
    assert_eq!(status(&run), 200);
    fires(&run, "policy-name-check-without-chain", Severity::Warning, Symptom::Forbidden403);
    fires(&run, "client-chain-untrusted", Severity::Error, Symptom::Forbidden403);

    // A whole-name comparison, through SubjectName.Name and string.Equals.
    let equality = format!(
        r#"context.Request.Certificate == null || !string.Equals(context.Request.Certificate.SubjectName.Name, "{}")"#,
        c.good.subject
    );
    let run = c.run(&refuse_when(&equality));
    let f = fires(&run, "policy-name-check-without-chain", Severity::Warning, Symptom::Forbidden403);
    quotes(f, "name compared: string.Equals(context.Request.Certificate.SubjectName.Name");

    // A chain check anywhere, or a thumbprint pinned in the same condition, and it is quiet.
    let run = c.run(&refuse_when(&format!("{contains} || !context.Request.Certificate.VerifyNoRevocation()")));
    absent(&run, "policy-name-check-without-chain");
    let pinned = format!("{contains} || context.Request.Certificate.Thumbprint != \"{}\"", c.good.thumbprint_sha1);
    let run = c.run(&refuse_when(&pinned));
    absent(&run, "policy-name-check-without-chain");
    let checks = &run.policy.as_ref().expect("evaluated").outcome.checks;
    assert_eq!(checks.thumbprint_pins.len(), 1, "{checks:?}");
    assert!(checks.name_checks.iter().all(|n| n.pinned), "{checks:?}");
}

#[test]
fn fires_policy_trust_off() {
    let c = PolicyCase::new();
    let by_name = format!(
        r#"<inbound><validate-client-certificate validate-trust="false" validate-revocation="false"><identities><identity subject="{}" /></identities></validate-client-certificate></inbound>"#,
        c.good.subject
    );
    let run = c.run(&by_name);
    let f = fires(&run, "policy-trust-off", Severity::Warning, Symptom::Forbidden403);
    quotes(f, "validate-client-certificate[1] (line 1): validate-trust=\"false\", 1 of 1 identities pin no thumbprint");

    // A look-alike from an untrusted CA passes it.
    let look_alike = c.make("look-alike", &c.pki.rogue_root, &Spec::leaf("lab-client-good"));
    let run = c.run_with(&look_alike, &by_name, refs());
    assert_eq!(status(&run), 200);
    fires(&run, "policy-trust-off", Severity::Warning, Symptom::Forbidden403);

    // No identities at all.
    let run = c.run(r#"<inbound><validate-client-certificate validate-trust="false" validate-revocation="false" /></inbound>"#);
    let f = fires(&run, "policy-trust-off", Severity::Warning, Symptom::Forbidden403);
    quotes(f, "no identities: any certificate within its dates passes");

    // Every identity pins a thumbprint (the usual way for self-signed clients): quiet.
    let pinned = format!(
        r#"<inbound><validate-client-certificate validate-trust="false" validate-revocation="false"><identities><identity thumbprint="{}" subject="{}" /></identities></validate-client-certificate></inbound>"#,
        c.good.thumbprint_sha1, c.good.subject
    );
    let run = c.run(&pinned);
    absent(&run, "policy-trust-off");
    absent(&run, "policy-name-check-without-chain");
}

#[test]
fn fires_policy_pins_ca_thumbprint() {
    let c = PolicyCase::new();
    let issuing = cert_info(&c.pki.client_issuing);
    let list = |tps: &[&str]| {
        let items: Vec<String> = tps.iter().map(|t| format!("\"{t}\"")).collect();
        refuse_when(&format!(
            "context.Request.Certificate == null || !new string[] {{ {} }}.Any(t => t == context.Request.Certificate.Thumbprint)",
            items.join(", ")
        ))
    };
    // The issuing CA is uploaded (--client-ca) and in the client's chain.
    let run = c.run(&list(&[&c.good.thumbprint_sha1, &issuing.thumbprint_sha1]));
    assert_eq!(status(&run), 200);
    let f = fires(&run, "policy-pins-ca-thumbprint", Severity::Warning, Symptom::Forbidden403);
    quotes(
        f,
        &format!(
            "inbound/choose[1]/when[1] (line 5): {} is the CA certificate \"{}\" (from --client-ca)",
            issuing.thumbprint_sha1, issuing.subject
        ),
    );

    // A CA known only as a certificate entity (--deployment-cert).
    let other_ca = c.dir.write("partner-ca.pem", c.pki.other_ca.cert_pem());
    let other = cert_info(&c.pki.other_ca);
    let material = MaterialRefs { deployment_certs: vec![format!("partner-ca={}", s(&other_ca))], ..refs() };
    let run = c.run_with(&c.good_made(), &list(&[&c.good.thumbprint_sha1, &other.thumbprint_sha1]), material);
    let f = fires(&run, "policy-pins-ca-thumbprint", Severity::Warning, Symptom::Forbidden403);
    quotes(f, &format!("{} is the CA certificate \"certificate entity partner-ca\" (from --deployment-cert)", other.thumbprint_sha1));

    // Client thumbprints only: quiet.
    let rogue = cert_info(&c.pki.client_rogue);
    let run = c.run(&list(&[&c.good.thumbprint_sha1, &rogue.thumbprint_sha1]));
    absent(&run, "policy-pins-ca-thumbprint");
}

#[test]
fn fires_policy_check_commented_out() {
    let c = PolicyCase::new();
    let xml = format!(
        r#"<policies>
  <inbound>
    <base />
    <!-- disabled while testing:
    <validate-client-certificate validate-revocation="false">
      <identities><identity thumbprint="{}" /></identities>
    </validate-client-certificate>
    -->
  </inbound>
</policies>
"#,
        c.good.thumbprint_sha1
    );
    let run = c.run(&xml);
    assert_eq!(status(&run), 200);
    let f = fires(&run, "policy-check-commented-out", Severity::Warning, Symptom::Forbidden403);
    assert!(f.cause.contains("nothing outside comments checks the client certificate"), "{}", f.cause);
    quotes(f, "line 4: <!-- disabled while testing:");
    assert!(f.evidence[0].contains(&c.good.thumbprint_sha1), "the construct is quoted whole: {:?}", f.evidence);

    // A comment that only talks about something else is no check; a live check changes the cause.
    let xml = refuse_when(&format!("context.Request.Certificate?.Thumbprint != \"{}\"", c.good.thumbprint_sha1))
        .replace("<base />\n    <choose>", "<base />\n    <!-- rate limits come later -->\n    <!-- old: context.Request.Certificate.Verify() -->\n    <choose>");
    let run = c.run(&xml);
    let f = fires(&run, "policy-check-commented-out", Severity::Warning, Symptom::Forbidden403);
    assert_eq!(f.evidence, vec!["line 5: <!-- old: context.Request.Certificate.Verify() -->".to_string()]);
    assert!(f.cause.contains("the checks outside comments are what decide"), "{}", f.cause);
}

// ---------------------------------------------------------------------------------------------------
// Fixes that never let a refused certificate in unasked.

const QUESTION: &str = "Is this client meant to get in? Decide that first (ask the certificate's owner).";

/// No finding offers a snippet that accepts `presented`, and every fix that would let it in
/// (its thumbprint, an upload) comes after the question (or, for a literal in the wrong form,
/// only restores what the policy already names).
fn audit(run: &TargetRun, presented: &str) {
    for f in &run.findings {
        if let Some(snippet) = &f.snippet {
            assert!(!snippet.contains(presented), "{}: snippet accepts the refused certificate: {snippet}", f.id);
        }
        // A literal in the wrong form is corrected to what the policy already meant; that lets
        // nothing in that the policy's author did not list.
        let restores = ["thumbprint-case", "thumbprint-whitespace", "thumbprint-invisible-char", "issuer-order"];
        if restores.contains(&f.id.as_str()) {
            continue;
        }
        let lets_in = |x: &String| x.contains(presented) || x.to_lowercase().contains("upload");
        if let Some(first) = f.fix.iter().position(lets_in) {
            let asked = f.fix[..=first].iter().any(|x| x.contains("meant to get in"));
            assert!(asked, "{}: lets the certificate in without asking: {:?}", f.id, f.fix);
        }
    }
}

#[test]
fn a_look_alike_is_told_it_is_not_the_expected_certificate() {
    let c = PolicyCase::new();
    // Same issuing CA, same names, another key: the policy pins the real one's thumbprint and names.
    let look_alike = c.make("look-alike", &c.pki.client_issuing, &Spec::leaf("lab-client-good"));
    assert_eq!(look_alike.info.subject, c.good.subject);
    let condition = format!(
        "context.Request.Certificate == null || context.Request.Certificate.Subject != \"{}\" || context.Request.Certificate.Thumbprint != \"{}\"",
        c.good.subject, c.good.thumbprint_sha1
    );
    let run = c.run_with(&look_alike, &refuse_when(&condition), refs());
    assert_eq!(status(&run), 403);
    let f = fires(&run, "thumbprint-mismatch", Severity::Error, Symptom::Forbidden403);
    assert!(f.fix[0].starts_with("This is not the certificate the policy expects"), "{:?}", f.fix);
    assert!(f.fix[0].contains(&c.good.thumbprint_sha1), "{:?}", f.fix);
    assert!(f.cause.contains("carries the name the policy expects"), "{}", f.cause);
    assert!(f.fix.iter().all(|x| !x.contains(&look_alike.info.thumbprint_sha1)), "{:?}", f.fix);
    assert!(f.snippet.is_none());
    audit(&run, &look_alike.info.thumbprint_sha1);

    // The same through an identity naming the subject and the thumbprint.
    let xml = format!(
        r#"<inbound><validate-client-certificate validate-revocation="false"><identities><identity subject="{}" thumbprint="{}" /></identities></validate-client-certificate></inbound>"#,
        c.good.subject, c.good.thumbprint_sha1
    );
    let run = c.run_with(&look_alike, &xml, refs());
    assert_eq!(status(&run), 401);
    let f = fires(&run, "thumbprint-mismatch", Severity::Error, Symptom::Forbidden403);
    assert!(f.fix[0].starts_with("This is not the certificate the policy expects"), "{:?}", f.fix);
    audit(&run, &look_alike.info.thumbprint_sha1);
}

#[test]
fn refused_certificates_get_the_question_and_both_branches() {
    let c = PolicyCase::new();
    let good = &c.good.thumbprint_sha1;
    let rogue = cert_info(&c.pki.client_rogue);
    let issuing = cert_info(&c.pki.client_issuing);

    // Not listed: the policy pins another client.
    let run = c.run(&guide_policy(&rogue.thumbprint_sha1, &c.good.issuer));
    let f = fires(&run, "thumbprint-mismatch", Severity::Error, Symptom::Forbidden403);
    assert_eq!(f.fix[0], QUESTION);
    assert!(f.fix[1].starts_with("If yes") && f.fix[1].contains(good.as_str()), "{:?}", f.fix);
    assert!(f.fix.last().is_some_and(|x| x.starts_with("If not: the gateway is right to refuse it")), "{:?}", f.fix);
    assert!(run.findings.iter().all(|f| f.snippet.is_none()), "no snippet for a certificate the policy does not name");
    audit(&run, good);

    // The CA's thumbprint where the client's belongs.
    let run = c.run(&guide_policy(&issuing.thumbprint_sha1, &c.good.issuer));
    let f = fires(&run, "thumbprint-is-issuer", Severity::Error, Symptom::Forbidden403);
    assert!(f.fix.iter().any(|x| x.contains("chain check")), "{:?}", f.fix);
    assert!(run.findings.iter().all(|f| f.snippet.is_none()));
    audit(&run, good);

    // Another CA's name, in a condition and in an identity.
    let run = c.run(&guide_policy(good, "CN=Contoso Partner CA, O=Contoso"));
    let f = fires(&run, "issuer-mismatch", Severity::Error, Symptom::Forbidden403);
    assert_eq!(f.fix[0], QUESTION);
    audit(&run, good);
    let xml = r#"<inbound><validate-client-certificate validate-revocation="false"><identities><identity issuer-subject="CN=Contoso Partner CA, O=Contoso" /></identities></validate-client-certificate></inbound>"#;
    let run = c.run(xml);
    let f = fires(&run, "issuer-mismatch", Severity::Error, Symptom::Forbidden403);
    assert_eq!(f.fix[0], QUESTION);
    audit(&run, good);

    // Refused for the chain: untrusted (only another CA uploaded), with a lowercase literal that
    // would otherwise earn the corrected snippet.
    let policy = s(&c.dir.write(
        "verify.xml",
        refuse_when(&format!(
            "context.Request.Certificate == null || !context.Request.Certificate.VerifyNoRevocation() || context.Request.Certificate.Thumbprint != \"{}\"",
            good.to_lowercase()
        )),
    ));
    let other = s(&c.dir.write("other-ca.pem", c.pki.other_ca.cert_pem()));
    let material = MaterialRefs { policy: Some(policy), client_ca: vec![other], ..refs() };
    let run = inspect(&[&c.lab.client_good.cert, &c.lab.client_good.key], Role::Client, material);
    let f = fires(&run, "client-chain-untrusted", Severity::Error, Symptom::Forbidden403);
    assert_eq!(f.fix[0], QUESTION, "{:?}", f.fix);
    assert!(run.findings.iter().all(|f| f.snippet.is_none()), "no snippet while the chain refuses the certificate");
    audit(&run, good);

    // Expired.
    let expired = cert_info(&c.pki.client_expired);
    let run = inspect(&[&c.lab.client_expired.cert, &c.lab.client_expired.key], Role::Client, refs());
    let f = fires(&run, "cert-expired", Severity::Error, Symptom::Expiry);
    assert!(f.fix[0].starts_with("Is this client still meant to get in?"), "{:?}", f.fix);
    assert!(f.fix.iter().any(|x| x.starts_with("If not: the gateway is right")), "{:?}", f.fix);
    audit(&run, &expired.thumbprint_sha1);
}

#[test]
fn a_literal_in_the_wrong_form_keeps_its_corrected_snippet() {
    let c = PolicyCase::new();
    let run = c.run(&guide_policy(&c.good.thumbprint_sha1.to_lowercase(), &c.good.issuer));
    let f = fires(&run, "thumbprint-case", Severity::Error, Symptom::Forbidden403);
    assert!(f.snippet.as_deref().is_some_and(|s| s.contains(&c.good.thumbprint_sha1)));
    assert!(f.fix[0].starts_with("Replace the literal with"), "{:?}", f.fix);
}

#[test]
fn issuer_order_is_an_error_in_csharp_and_a_warning_in_an_identity() {
    let c = PolicyCase::new();
    let literal = openssl_issuer(&c.lab.client_good.cert, "oneline");
    let run = c.run(&guide_policy(&c.good.thumbprint_sha1, &literal));
    fires(&run, "issuer-order", Severity::Error, Symptom::Forbidden403);
    let xml = format!(
        r#"<inbound><validate-client-certificate validate-revocation="false"><identities><identity issuer-subject="{literal}" /></identities></validate-client-certificate></inbound>"#
    );
    let run = c.run(&xml);
    let f = fires(&run, "issuer-order", Severity::Warning, Symptom::Forbidden403);
    assert!(f.cause.contains("not documented"), "{}", f.cause);
    assert!(f.fix[0].contains(&c.good.issuer.replace('"', "&quot;")), "{:?}", f.fix);
}

#[test]
fn checks_are_read_through_statement_blocks_and_variables() {
    let c = PolicyCase::new();
    // A local holding the certificate, a subject search, no chain check: the warning sees through it.
    let block = r#"<policies><inbound><choose><when condition="@{
        var cert = context.Request.Certificate;
        if (cert == null) { return true; }
        return !cert.Subject.Contains("lab-client");
    }"><return-response><set-status code="403" /></return-response></when></choose></inbound></policies>"#;
    let run = c.run(block);
    assert_eq!(status(&run), 200);
    let f = fires(&run, "policy-name-check-without-chain", Severity::Warning, Symptom::Forbidden403);
    quotes(f, r#"name searched: cert.Subject.Contains("lab-client")"#);

    // The chain checked in a set-variable that nothing reads: still a look-alike's way in.
    let unread = block.replace(
        "<inbound><choose>",
        r#"<inbound><set-variable name="chainOk" value="@(context.Request.Certificate?.VerifyNoRevocation() == true)" /><choose>"#,
    );
    let run = c.run(&unread);
    fires(&run, "policy-name-check-without-chain", Severity::Warning, Symptom::Forbidden403);

    // The condition reads that variable before the name: quiet.
    let read = unread.replace(
        "if (cert == null) { return true; }",
        r#"if (cert == null || !context.Variables.GetValueOrDefault<bool>("chainOk")) { return true; }"#,
    );
    let run = c.run(&read);
    absent(&run, "policy-name-check-without-chain");
}

#[tokio::test]
async fn a_probes_headers_reach_the_policy() {
    bounded(async {
        let env = LabEnv::start().await;
        let xml = refuse_when(
            r#"context.Request.Certificate == null || context.Request.Headers.GetValueOrDefault("X-Client-Id", "") != "orders" || !context.Request.Headers.GetValueOrDefault("Host", "").StartsWith("api.")"#,
        );
        let policy = env.write_policy("headers.xml", &xml);
        let mut options = env.inbound(HOST_NEGOTIATE, "/echo");
        options.headers = vec![mtls_doctor::probe::Header::parse("X-Client-Id: orders").expect("header")];
        let run = probe(options.clone(), MaterialRefs { policy: Some(policy.clone()), ..env.good_client() }).await;
        let o = &run.policy.as_ref().expect("evaluated").outcome;
        assert!(o.determined, "{:?}", o.unevaluable);
        assert_eq!(o.status, 200, "Host is {HOST_NEGOTIATE}: {:?}", o.decided_by);
        // Without the header the default "" decides: 403, not "unknown".
        options.headers.clear();
        let run = probe(options, MaterialRefs { policy: Some(policy), ..env.good_client() }).await;
        let o = &run.policy.as_ref().expect("evaluated").outcome;
        assert_eq!((o.status, o.determined), (403, true), "{:?}", o.unevaluable);
        env.lab.shutdown().await;
    })
    .await
}

#[test]
fn fires_policy_not_saveable() {
    let c = PolicyCase::new();
    let tp = &c.good.thumbprint_sha1;
    // Single quotes around a thumbprint: CS1012, quoted whole.
    let run = c.run(&refuse_when(&format!("context.Request.Certificate.Thumbprint != '{tp}'")));
    let f = fires(&run, "policy-not-saveable", Severity::Error, Symptom::Forbidden403);
    quotes(f, &format!("inbound/choose[1]/when[1] (line 5): '{tp}' — CS1012: Too many characters in character literal"));
    assert!(f.cause.starts_with("APIM will not save this policy: CS1012"), "{}", f.cause);
    let o = &run.policy.as_ref().expect("evaluated").outcome;
    assert_eq!((o.status, o.determined), (0, false));
    absent(&run, "policy-rejects");
    absent(&run, "policy-unevaluable");

    // X500DistinguishedName compared with a string.
    let run = c.run(&refuse_when(&format!("context.Request.Certificate.SubjectName != \"{}\"", c.good.subject)));
    let f = fires(&run, "policy-not-saveable", Severity::Error, Symptom::Forbidden403);
    quotes(f, &format!("context.Request.Certificate.SubjectName != \"{}\" — CS0019", c.good.subject));
    assert!(f.fix[0].contains("SubjectName.Name"), "{:?}", f.fix);

    // A placeholder from a snippet, left in place; in the outbound section it still stops the save.
    let placeholder = refuse_when(
        "!new string[] { ALLOWED_CERTIFICATE_THUMBPRINTS }.Contains(context.Request.Certificate.Thumbprint)",
    );
    let run = c.run(&placeholder);
    let f = fires(&run, "policy-not-saveable", Severity::Error, Symptom::Forbidden403);
    quotes(f, "ALLOWED_CERTIFICATE_THUMBPRINTS — CS0103: The name 'ALLOWED_CERTIFICATE_THUMBPRINTS' does not exist");
    let outbound = refuse_when("false").replace(
        "<outbound><base /></outbound>",
        r#"<outbound><choose><when condition="@(context.Response.StatusCode == 'OK')"><set-status code="500" /></when></choose></outbound>"#,
    );
    let run = c.run(&outbound);
    let f = fires(&run, "policy-not-saveable", Severity::Error, Symptom::Forbidden403);
    quotes(f, "outbound/choose[1]/when[1] (line 11): 'OK' — CS1012");

    // Found by the evaluator, from the value's type: `.KeyUsages` on the plain X509Extension the
    // indexer gives is CS1061, reported whole as a policy APIM will not save, not as unevaluable.
    let ku = r#"!context.Request.Certificate.Extensions[&quot;2.5.29.15&quot;].KeyUsages.HasFlag(X509KeyUsageFlags.DigitalSignature)"#;
    let run = c.run(&refuse_when(ku));
    let f = fires(&run, "policy-not-saveable", Severity::Error, Symptom::Forbidden403);
    quotes(f, r#"inbound/choose[1]/when[1] (line 5): context.Request.Certificate.Extensions["2.5.29.15"].KeyUsages — CS1061: 'X509Extension' does not contain a definition for 'KeyUsages'"#);
    assert!(f.fix[0].contains("OfType<X509KeyUsageExtension>()"), "{:?}", f.fix);
    let o = &run.policy.as_ref().expect("evaluated").outcome;
    assert_eq!((o.status, o.determined), (0, false));
    absent(&run, "policy-unevaluable");
    absent(&run, "policy-rejects");
    // A char compared with a string (CS0019), even where `|| true` would decide the value.
    let run = c.run(&refuse_when(r#"context.Request.Certificate.Thumbprint[0] == &quot;A&quot; || true"#));
    let f = fires(&run, "policy-not-saveable", Severity::Error, Symptom::Forbidden403);
    quotes(f, r#"context.Request.Certificate.Thumbprint[0] == "A" — CS0019: Operator '==' cannot be applied to operands of type 'char' and 'string'"#);
    assert!(f.fix[0].contains("char literal"), "{:?}", f.fix);

    // A variable (an object) compared with a number: CS0019 before any variable is read, so a
    // variable no set-variable makes is not a KeyNotFoundException (500) but a policy APIM will
    // not save; the fix reads the variable as its type.
    let run = c.run(&refuse_when(r#"context.Variables[&quot;tier&quot;] == 2"#));
    let f = fires(&run, "policy-not-saveable", Severity::Error, Symptom::Forbidden403);
    quotes(f, r#"context.Variables["tier"] == 2 — CS0019: Operator '==' cannot be applied to operands of type 'object' and 'int'"#);
    assert!(f.fix[0].contains("GetValueOrDefault<int>"), "{:?}", f.fix);
    absent(&run, "policy-rejects");
    // With a cast it compiles: not this finding.
    let run = c.run(&refuse_when(r#"context.Variables.GetValueOrDefault&lt;int&gt;(&quot;tier&quot;) == 2"#));
    absent(&run, "policy-not-saveable");

    // One character in single quotes compiles (a char): not this finding.
    let run = c.run(&refuse_when("context.Request.Certificate.Thumbprint.Contains('A')"));
    absent(&run, "policy-not-saveable");
}

#[test]
fn named_values_come_from_an_az_apim_nv_list_export() {
    let c = PolicyCase::new();
    let export = format!(
        r#"[
  {{ "displayName": "allowed-thumbprint", "id": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.ApiManagement/service/apim/namedValues/allowed-thumbprint", "name": "allowed-thumbprint", "secret": false, "tags": [], "type": "Microsoft.ApiManagement/service/namedValues", "value": "{}" }},
  {{ "displayName": "partner-secret", "id": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.ApiManagement/service/apim/namedValues/6f0c", "name": "6f0c", "secret": true, "tags": [], "type": "Microsoft.ApiManagement/service/namedValues", "value": null }}
]"#,
        c.good.thumbprint_sha1
    );
    let file = s(&c.dir.write("named-values.json", export));
    let xml = refuse_when(r#"context.Request.Certificate?.Thumbprint != "{{allowed-thumbprint}}""#);
    let material = MaterialRefs { named_values: vec![format!("@{file}")], ..refs() };
    let run = c.run_with(&c.good_made(), &xml, material);
    assert_eq!(status(&run), 200);

    // A secret carries no value in the export: unresolved, and named as such.
    let xml = refuse_when(r#"context.Request.Certificate?.Thumbprint != "{{partner-secret}}""#);
    let material = MaterialRefs { named_values: vec![format!("@{file}")], ..refs() };
    let run = c.run_with(&c.good_made(), &xml, material.clone());
    let f = fires(&run, "policy-unevaluable", Severity::Info, Symptom::Forbidden403);
    quotes(f, "{{partner-secret}}");
    // Given on the command line as well, it resolves (explicit values are looked up first).
    let material = MaterialRefs {
        named_values: vec![format!("@{file}"), format!("partner-secret={}", c.good.thumbprint_sha1)],
        ..refs()
    };
    let run = c.run_with(&c.good_made(), &xml, material);
    assert_eq!(status(&run), 200);

    // A file that is not such an export names itself.
    let bad = s(&c.dir.write("nv-bad.json", r#"{"name": "x"}"#));
    let err = engine::load(&MaterialRefs { policy: Some(s(&c.dir.path("policy.xml"))), named_values: vec![format!("@{bad}")], ..refs() })
        .expect_err("refused");
    assert!(err.to_string().contains("nv-bad.json"), "{err}");
}

#[test]
fn verify_on_a_tier_without_ca_certificates_trusts_public_roots_only() {
    let c = PolicyCase::new();
    let xml = refuse_when("context.Request.Certificate == null || !context.Request.Certificate.VerifyNoRevocation()");
    // Classic tier with the lab's CA uploaded: the chain verifies and the policy lets it in.
    assert_eq!(status(&c.run(&xml)), 200);
    // StandardV2: no CA certificate can be uploaded, so the private lab CA is not trusted whatever
    // --client-ca says, and the same policy answers 403.
    let azure = vec![azure_fixture(&c.dir, "service-v2.json", &c.pki)];
    let run = c.run_with(&c.good_made(), &xml, MaterialRefs { azure, ..refs() });
    assert_eq!(status(&run), 403);
    let f = fires(&run, "client-chain-untrusted", Severity::Error, Symptom::Forbidden403);
    quotes(f, "verify against public roots only (the v2 tier has no CA certificate store)");
    let cv = run.client_verify.as_ref().expect("verified");
    assert!(!cv.verdict.ok);
}

#[test]
fn the_text_report_says_apim_will_not_save_the_policy() {
    let c = PolicyCase::new();
    let run = c.run(&refuse_when(&format!("context.Request.Certificate.Thumbprint != '{}'", c.good.thumbprint_sha1)));
    let mut text = String::new();
    mtls_doctor::report::policy_text(&mut text, run.policy.as_ref().expect("evaluated"));
    assert!(text.contains("none: APIM will not save this policy (see policy-not-saveable)"), "{text}");
}
