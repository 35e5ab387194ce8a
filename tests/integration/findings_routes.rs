// Included into findings.rs (so the tests are `findings::fires_<id>` for the meta-test): issue 12,
// which client certificate the gateway presents to a backend, from --policy's routing and the
// backends export (the rule is written out in docs/findings.md, azure-backend-cert-not-routed).

/// An inspect run with `inbound` as the policy's inbound section and the lab backends export, whose
/// entity `lab-ok` (https://ok.backend.lab.test/) holds the certificate `gateway-outbound`.
fn routed_run(inbound: &str) -> TargetRun {
    routed_run_with(inbound, "<forward-request />")
}

fn routed_run_with(inbound: &str, backend: &str) -> TargetRun {
    let dir = Dir::new();
    let pki = LabPki::generate().expect("pki");
    let lab = pki.write_material(&dir.path("lab")).expect("material");
    let policy = format!(
        "<policies><inbound>{inbound}</inbound><backend>{backend}</backend><outbound /><on-error /></policies>"
    );
    let policy = s(&dir.write("api-policy.xml", policy));
    let azure = vec![azure_fixture(&dir, "backends.json", &pki), azure_fixture(&dir, "certificates.json", &pki)];
    inspect(
        &[&lab.client_good.cert, &lab.client_good.key],
        Role::Client,
        MaterialRefs { azure, policy: Some(policy), ..refs() },
    )
}

#[test]
fn fires_azure_backend_cert_not_routed() {
    // Routed by URL: the entity with that URL holds a certificate, and it is not used.
    let run = routed_run(r#"<set-backend-service base-url="https://ok.backend.lab.test/" />"#);
    let f = fires(&run, "azure-backend-cert-not-routed", Severity::Warning, Symptom::BadGateway502);
    quotes(f, "backend lab-ok (https://ok.backend.lab.test/): credentials.certificateIds [gateway-outbound]");
    quotes(f, "inbound/set-backend-service[1]: <set-backend-service base-url=\"https://ok.backend.lab.test/\">");
    quotes(f, "no <set-backend-service backend-id=\"lab-ok\"> and no <authentication-certificate> in the inbound section");
    assert!(f.fix[0].contains("<set-backend-service backend-id=\"lab-ok\" />"), "{:?}", f.fix);
    assert!(!f.evidence.iter().any(|e| e.starts_with("unknown:")), "the file decides it: {:?}", f.evidence);

    // <base/> anywhere with only a base-url route: a parent's backend-id route would win over the
    // base-url (MicrosoftDocs/azure-docs#97440), so it is not certain.
    for inbound in [
        r#"<base /><set-backend-service base-url="https://ok.backend.lab.test/" />"#,
        r#"<set-backend-service base-url="https://ok.backend.lab.test/" /><base />"#,
    ] {
        let run = routed_run(inbound);
        let f = fires(&run, "azure-backend-cert-not-routed", Severity::Info, Symptom::BadGateway502);
        assert!(f.cause.contains("likely but not certain"), "{}", f.cause);
        assert!(f.evidence.iter().any(|e| e.starts_with("unknown: a <base/> runs the parent scopes' policies")), "{:?}", f.evidence);
    }

    // A base-url replaced by a later route says nothing about lab-ok.
    absent(
        &routed_run(
            r#"<set-backend-service base-url="https://ok.backend.lab.test/" /><set-backend-service backend-id="orders-v2" />"#,
        ),
        "azure-backend-cert-not-routed",
    );

    // <base/> before this policy's own backend-id route, then a branch sending some requests by URL:
    // the routing is decided here, and only a parent's authentication-certificate is unknown.
    let run = routed_run(
        r#"<base /><set-backend-service backend-id="orders-v2" /><choose><when condition="@(context.Request.Method == &quot;POST&quot;)"><set-backend-service base-url="https://ok.backend.lab.test/" /></when></choose>"#,
    );
    let f = fires(&run, "azure-backend-cert-not-routed", Severity::Warning, Symptom::BadGateway502);
    assert!(f.evidence.iter().any(|e| e.starts_with("unknown: <base/> in the inbound section")), "{:?}", f.evidence);

    // Routed through the entity by id, or a certificate presented by policy: nothing to say.
    absent(&routed_run(r#"<set-backend-service backend-id="lab-ok" />"#), "azure-backend-cert-not-routed");
    absent(&routed_run(r#"<set-backend-service backend-id="LAB-OK" />"#), "azure-backend-cert-not-routed");
    absent(
        &routed_run(
            r#"<set-backend-service base-url="https://ok.backend.lab.test/" /><authentication-certificate certificate-id="gateway-outbound" />"#,
        ),
        "azure-backend-cert-not-routed",
    );
    // An authentication-certificate outside the inbound section is not counted, and said so.
    let run = routed_run_with(
        r#"<set-backend-service base-url="https://ok.backend.lab.test/" />"#,
        r#"<authentication-certificate certificate-id="gateway-outbound" /><forward-request />"#,
    );
    let f = fires(&run, "azure-backend-cert-not-routed", Severity::Warning, Symptom::BadGateway502);
    quotes(f, "backend/authentication-certificate[1]: <authentication-certificate> outside the inbound section");
    // A base-url to some other host says nothing about lab-ok.
    absent(
        &routed_run(r#"<set-backend-service base-url="https://elsewhere.example/" />"#),
        "azure-backend-cert-not-routed",
    );
}

#[test]
fn routing_is_read_from_the_policy_with_branches_and_expressions() {
    let run = routed_run(
        r#"<base /><choose><when condition="@(context.Request.Headers.ContainsKey(&quot;x&quot;))"><set-backend-service backend-id="lab-ok" /></when></choose><set-backend-service backend-id="@(context.Variables.GetValueOrDefault&lt;string&gt;(&quot;b&quot;))" />"#,
    );
    let routing = &run.policy.as_ref().expect("policy evaluated").outcome.backend_routing;
    assert_eq!(routing.routes.len(), 2, "{routing:?}");
    assert_eq!(routing.routes[0].path, "inbound/choose[1]/when[1]/set-backend-service[1]");
    assert!(routing.routes[0].conditional);
    assert_eq!(routing.routes[0].literal_backend_id(), Some("lab-ok"));
    assert!(routing.routes[1].backend_id_is_expression());
    assert!(!routing.routes[1].conditional);
    // The unconditional route comes after <base/>: this document has the last word on the backend.
    assert!(!routing.parent_may_route);
    assert!(routing.inbound_inherits);
    // The JSON report carries the routes in the documented shape.
    let report: serde_json::Value =
        serde_json::from_str(&mtls_doctor::report::to_json(&mtls_doctor::report::InspectReport::from_target(&run)))
            .expect("report is JSON");
    assert_eq!(
        report["policy"]["outcome"]["backend_routing"]["routes"][0]["path"],
        "inbound/choose[1]/when[1]/set-backend-service[1]"
    );
    crate::report::assert_valid("inspect_report", "inspect report with routes", &report);
}

/// The outbound lab backend `ok` requires a client certificate; the probe sends none.
async fn outbound_with_policy(env: &LabEnv, inbound: &str) -> TargetRun {
    let policy = env.write_policy(
        &format!("p{}.xml", inbound.len()),
        &format!("<policies><inbound>{inbound}</inbound><backend><forward-request /></backend></policies>"),
    );
    let azure = vec![env.azure("backends.json"), env.azure("certificates.json")];
    probe(env.outbound("ok"), MaterialRefs { azure, policy: Some(policy), ..env.trusting() }).await
}

#[tokio::test]
async fn backend_requires_client_cert_fix_follows_the_routing() {
    bounded(async {
        let env = LabEnv::start().await;

        // No route through the entity: the fix never says "set certificateIds"; it names the route
        // to the entity that already holds the certificate, and the unused certificate is a finding.
        let run = outbound_with_policy(&env, "").await;
        let f = fires(&run, "backend-requires-client-cert", Severity::Error, Symptom::BadGateway502);
        quotes(f, "backend entity for https://ok.backend.lab.test:443: lab-ok (credentials.certificateIds [gateway-outbound])");
        assert!(f.fix[0].starts_with("Present the certificate with <authentication-certificate"), "{:?}", f.fix);
        assert!(f.fix[1].contains("<set-backend-service backend-id=\"lab-ok\"/>"), "{:?}", f.fix);
        assert!(!f.fix.iter().any(|x| x.contains("credentials.certificateIds) and route")), "{:?}", f.fix);
        assert!(f.related.contains(&FindingId::AzureBackendCertNotRouted), "{:?}", f.related);
        let nr = fires(&run, "azure-backend-cert-not-routed", Severity::Warning, Symptom::BadGateway502);
        quotes(nr, "calls to it: outbound probe of ok.backend.lab.test:443");
        // The session records what was read from the policy, in the documented shape.
        let saved = serde_json::to_value(&run).expect("target run serializes");
        assert_eq!(saved["outbound_policy"]["routing"]["routes"], serde_json::json!([]));
        target_run_is_valid(&saved);
        // And the JSON report carries it with the target's evaluation.
        let session = mtls_doctor::session::Session::new(vec![run.clone()]);
        let report: serde_json::Value =
            serde_json::from_str(&mtls_doctor::report::to_json(&mtls_doctor::report::ProbeReport::from_session(&session)))
                .expect("report is JSON");
        assert_eq!(report["evaluations"][0]["outbound_policy"]["source"], saved["outbound_policy"]["source"]);
        crate::report::assert_valid("probe_report", "outbound probe report with --policy", &report);
        // So does its --report jsonl record, beside the summary line.
        let jsonl = mtls_doctor::report::session_jsonl(&session);
        let lines: Vec<serde_json::Value> =
            jsonl.lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
        assert_eq!(lines.len(), 2, "{jsonl}");
        assert_eq!(lines[0]["record"], "target");
        assert_eq!(lines[0]["outbound_policy"], report["evaluations"][0]["outbound_policy"], "{jsonl}");
        assert_eq!(lines[0]["outbound_policy"]["routing"]["routes"], serde_json::json!([]));
        for (i, line) in lines.iter().enumerate() {
            crate::report::assert_valid("sweep_record", &format!("jsonl line {}", i + 1), line);
        }

        // Routed through lab-ok: its certificate is what the gateway presents; probe with it.
        let run = outbound_with_policy(&env, r#"<set-backend-service backend-id="lab-ok" />"#).await;
        let f = fires(&run, "backend-requires-client-cert", Severity::Error, Symptom::BadGateway502);
        quotes(f, "backend lab-ok: credentials.certificateIds [gateway-outbound]");
        assert!(f.fix[0].starts_with("Requests routed through lab-ok present its credentials.certificateIds [gateway-outbound]"), "{:?}", f.fix);
        absent(&run, "azure-backend-cert-not-routed");

        // The same with the gateway's certificate given: it works, so the question is whether the
        // entity's certificate is this one.
        let policy = env.write_policy(
            "routed-with-cert.xml",
            r#"<policies><inbound><set-backend-service backend-id="lab-ok" /></inbound><backend><forward-request /></backend></policies>"#,
        );
        let azure = vec![env.azure("backends.json"), env.azure("certificates.json")];
        let material = MaterialRefs { azure, policy: Some(policy), ..env.client(&env.files.gateway_outbound) };
        let run = probe(env.outbound("ok"), material).await;
        let f = fires(&run, "backend-requires-client-cert", Severity::Info, Symptom::BadGateway502);
        // The certificates export has the entity's certificate: the thumbprints are compared.
        assert!(f.fix[0].contains(": that is gateway-outbound, the certificate that works here"), "{:?}", f.fix);
        quotes(f, "certificate gateway-outbound in the export has this probe's thumbprint");
        assert!(!f.fix.iter().any(|x| x.contains("this probe sent none")), "{:?}", f.fix);

        // Routed through an entity the export does not have: said to be unknown, not guessed.
        let run = outbound_with_policy(&env, r#"<set-backend-service backend-id="orders-v2" />"#).await;
        let f = fires(&run, "backend-requires-client-cert", Severity::Error, Symptom::BadGateway502);
        quotes(f, "unknown: the credentials of backend orders-v2, which the policy routes through, are not in the exports given");
        quotes(f, "orders-v2 is not among the backends exported (lab-ok)");

        // An authentication-certificate: the gateway presents that one; probe with it.
        let run =
            outbound_with_policy(&env, r#"<authentication-certificate certificate-id="gateway-outbound" />"#).await;
        let f = fires(&run, "backend-requires-client-cert", Severity::Error, Symptom::BadGateway502);
        quotes(f, "<authentication-certificate certificate-id=\"gateway-outbound\"> presents a certificate on every request it covers");
        assert!(f.fix[0].contains("probe again with that certificate"), "{:?}", f.fix);

        // The outbound probe's policy is checked against the certificate entities too.
        let run = outbound_with_policy(&env, r#"<authentication-certificate certificate-id="orders-mtls" />"#).await;
        let f = fires(&run, "azure-auth-cert-not-found", Severity::Error, Symptom::BadGateway502);
        quotes(f, "certificate ids in the export: gateway-outbound");
        absent(&run, "azure-backend-no-client-cert");
        env.lab.shutdown().await;
    })
    .await
}

fn target_run_is_valid(doc: &serde_json::Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-schema.json");
    let mut schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("schema is JSON");
    let top = schema.as_object_mut().expect("object");
    top.remove("oneOf");
    top.insert("$ref".into(), serde_json::Value::String("#/$defs/target_run".into()));
    let v = jsonschema::draft202012::new(&schema).expect("valid JSON Schema");
    let errors: Vec<String> = v.iter_errors(doc).take(5).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "target run does not match $defs/target_run: {errors:#?}");
}

#[test]
fn kv_certificate_named_by_thumbprint_on_a_backend_entity() {
    // credentials.certificate (thumbprints) naming today's version of a Key Vault certificate.
    let run = kv_run(&["service.json", "certificates.json", "backend-thumbprint.json"]);
    let f = fires(&run, "azure-kv-cert-by-thumbprint", Severity::Warning, Symptom::BadGateway502);
    let pki_tp = f.evidence[0].clone();
    assert!(pki_tp.starts_with("backend lab-ok: credentials.certificate ["), "{:?}", f.evidence);
    quotes(f, "certificate gateway-outbound: keyVault.secretIdentifier https://kv-lab.vault.azure.net/secrets/gateway-outbound");
    assert_eq!(
        f.fix,
        vec!["Name it by id instead: credentials.certificateIds [\"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-lab/providers/Microsoft.ApiManagement/service/lab-apim/certificates/gateway-outbound\"], and drop the thumbprint from credentials.certificate.".to_string()]
    );
    // By id: nothing to say.
    absent(&kv_run(&["service.json", "certificates.json", "backends.json"]), "azure-kv-cert-by-thumbprint");
    // A Service Fabric backend's clientCertificatethumbprint is the same reference, fixed the same way.
    let run = kv_run(&["service.json", "certificates.json", "backend-fabric-thumbprint.json"]);
    let f = fires(&run, "azure-kv-cert-by-thumbprint", Severity::Warning, Symptom::BadGateway502);
    assert!(f.evidence[0].starts_with("backend lab-fabric: serviceFabricCluster.clientCertificatethumbprint "), "{:?}", f.evidence);
    assert!(f.fix[0].starts_with("Name it by id instead: serviceFabricCluster.clientCertificateId \"/subscriptions/"), "{:?}", f.fix);
    absent(&run, "azure-backend-cert-not-found");
    // A thumbprint beside certificateIds is ignored by the service: not a reference to warn about.
    let run = kv_run(&["service.json", "certificates.json", "backends-missing-cert.json"]);
    assert!(
        !run.findings.iter().any(|f| f.id == "azure-kv-cert-by-thumbprint" && f.cause.contains("lab-orders")),
        "{}",
        summary(&run.findings)
    );
}
