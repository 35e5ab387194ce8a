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
