// Included into findings.rs: a certificate forwarded in a header (`--forward-cert`) is judged with
// the same tier limits as a presented one.

/// Refuse unless the certificate in X-ARR-ClientCert chains (VerifyNoRevocation()).
const FORWARDED_CHAIN: &str = r#"<policies><inbound><choose>
  <when condition="@{
      var h = context.Request.Headers.GetValueOrDefault(&quot;X-ARR-ClientCert&quot;, &quot;&quot;);
      if (string.IsNullOrEmpty(h)) { return true; }
      return !new X509Certificate2(Convert.FromBase64String(h)).VerifyNoRevocation();
  }"><return-response><set-status code="403" /></return-response></when>
</choose></inbound></policies>"#;

#[test]
fn a_forwarded_certificate_on_a_tier_without_ca_certificates_trusts_public_roots_only() {
    let c = PolicyCase::new();
    let forward = || MaterialRefs { forward_cert: Some("X-ARR-ClientCert".into()), ..refs() };
    // Classic tier: the lab's CA is uploaded, the forwarded leaf chains to it.
    let run = c.run_with(&c.good_made(), FORWARDED_CHAIN, forward());
    assert_eq!(status(&run), 200);
    let f = run.forwarded.as_ref().expect("forwarded");
    assert!(f.verify.as_ref().is_some_and(|v| v.verdict.ok), "{f:?}");
    // StandardV2: no CA certificate store, so the private lab CA is not trusted for it either.
    let azure = vec![azure_fixture(&c.dir, "service-v2.json", &c.pki)];
    let run = c.run_with(&c.good_made(), FORWARDED_CHAIN, MaterialRefs { azure, ..forward() });
    assert_eq!(status(&run), 403);
    let v = run.forwarded.as_ref().and_then(|f| f.verify.as_ref()).expect("judged");
    assert!(!v.verdict.ok);
    assert_eq!(v.uploaded, ["public roots only (the v2 tier has no CA certificate store)"]);
}

#[test]
fn policy_rejects_names_the_forwarded_certificate_that_decided() {
    let c = PolicyCase::new();
    let forward = || MaterialRefs { forward_cert: Some("X-ARR-ClientCert".into()), ..refs() };
    let tp = &c.good.thumbprint_sha1;
    // The policy pins another thumbprint on the certificate it builds from the header: the
    // forwarded certificate decides, and the finding names it, not "none".
    let pinned = FORWARDED_CHAIN.replace(
        "return !new X509Certificate2(Convert.FromBase64String(h)).VerifyNoRevocation();",
        "return new X509Certificate2(Convert.FromBase64String(h)).Thumbprint != &quot;0000000000000000000000000000000000000000&quot;;",
    );
    let run = c.run_with(&c.good_made(), &pinned, forward());
    let f = fires(&run, "policy-rejects", Severity::Error, Symptom::Forbidden403);
    assert!(f.cause.starts_with("Evaluated against the certificate forwarded in the X-ARR-ClientCert header"), "{}", f.cause);
    quotes(
        f,
        &format!(
            "certificate forwarded in the X-ARR-ClientCert header: \"{}\" (Thumbprint {tp}); the policy decided on it",
            c.good.subject
        ),
    );
    assert!(!f.fix.iter().any(|s| s.contains("fix negotiation")), "{:?}", f.fix);
    let t = fires(&run, "thumbprint-mismatch", Severity::Error, Symptom::Forbidden403);
    quotes(t, &format!("forwarded: {tp} (in the X-ARR-ClientCert header)"));

    // A policy that tests only context.Request.Certificate decides on the null one behind the
    // front end: the forwarded certificate is named, and the fix says where the certificate is.
    let run = c.run_with(&c.good_made(), &refuse_when("context.Request.Certificate == null"), forward());
    let f = fires(&run, "policy-rejects", Severity::Error, Symptom::Forbidden403);
    quotes(f, "certificate: none (context.Request.Certificate is null)");
    quotes(f, &format!("certificate forwarded in the X-ARR-ClientCert header: \"{}\" (Thumbprint {tp})", c.good.subject));
    assert!(f.fix[0].contains("the client's certificate is in the X-ARR-ClientCert header"), "{:?}", f.fix);
}
