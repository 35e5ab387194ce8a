//! `mtls-doctor demo`: the lab starts, every lab target runs for real, and each failure family is
//! diagnosed with the expected finding ids.

use serde_json::Value;

use crate::util::{bin, run, stderr, stdout};

#[test]
fn demo_headless_json_names_each_failure() {
    let o = run(bin().args(["demo", "--headless", "--report", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(v["schema_version"], 1);
    let probes = v["probes"].as_array().expect("probes");
    assert_eq!(probes.len(), 9, "nine probe targets plus one offline policy check");
    let findings = v["findings"].as_array().expect("findings");
    let by_subject = |needle: &str| -> Vec<String> {
        findings
            .iter()
            .filter(|f| f["subject"].as_str().unwrap_or("").contains(needle))
            .filter_map(|f| f["id"].as_str().map(str::to_string))
            .collect()
    };
    let ids: Vec<&str> = findings.iter().filter_map(|f| f["id"].as_str()).collect();
    for expected in [
        "gateway-did-not-request-cert",
        "azure-negotiation-off",
        "thumbprint-invisible-char",
        "thumbprint-case",
        "cert-expired",
        "client-chain-untrusted",
        "gateway-502",
        "backend-distrusts-client-ca",
        "backend-requires-client-cert",
        "kv-sync-failed",
        "backend-cert-untrusted",
    ] {
        assert!(ids.contains(&expected), "demo lacks {expected}: {ids:?}");
    }
    assert!(by_subject("noneg.lab.test").contains(&"gateway-did-not-request-cert".to_string()));
    assert!(by_subject("distrusts-gateway.backend.lab.test").contains(&"backend-distrusts-client-ca".to_string()));
    // The healthy inbound target: handshake with the certificate, HTTP 200, and no error.
    let healthy = &probes[0];
    assert_eq!(healthy["target"]["host"], "api.lab.test");
    assert_eq!(healthy["client_cert_sent"], true);
    assert_eq!(healthy["http"]["status"], 200);
    assert_eq!(healthy["compare_without_cert"]["http"]["status"], 403);
    // The subscription key sent by the demo never appears.
    assert!(!stdout(&o).contains("demo-subscription-key-0000"));
    assert!(!stdout(&o).contains("PRIVATE KEY"));
}

#[test]
fn demo_text_is_readable() {
    let o = run(bin().args(["demo", "--headless"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("Probe noneg.lab.test:443 (inbound"), "{text}");
    assert!(text.contains("(gateway-did-not-request-cert)"));
    assert!(text.contains("<U+200E>"), "the invisible character is shown");
    assert!(!text.contains('\u{200E}'), "and never printed raw");
    assert!(!text.contains('\u{1b}'), "no escape sequences in headless output");
}

/// The demo runs its targets through the engine: outbound targets probe as the gateway calling a
/// backend, and an inspect target is judged as the role it records (not always as a client).
#[test]
fn demo_targets_run_with_their_own_role() {
    use mtls_doctor::probe::ProbeRole;
    use mtls_doctor::session::{InspectContext, TargetKind, TargetRun};
    use mtls_doctor::verify::Role;

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let lab = mtls_doctor::lab::Lab::start().await.expect("lab");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut targets = mtls_doctor::demo::demo_targets(&lab, dir.path()).expect("targets");
        let outbound: Vec<usize> = (0..targets.len())
            .filter(|&i| targets[i].options.as_ref().is_some_and(|o| o.role == ProbeRole::Outbound))
            .collect();
        assert!(outbound.len() >= 3, "the demo has outbound targets");
        let server_file = targets[0].material.ca[0].clone();
        targets.push(TargetRun {
            name: "server root, judged as a server".into(),
            kind: TargetKind::Inspect,
            files: vec![server_file],
            inspect: Some(InspectContext { role: Role::Server, host: None, trust: String::new(), origins: vec![] }),
            material: mtls_doctor::session::MaterialRefs {
                password: mtls_doctor::session::PasswordRef::None,
                ..Default::default()
            },
            ..Default::default()
        });
        let runs = mtls_doctor::demo::run_targets(targets).await.expect("runs");
        for i in outbound {
            let probe =
                runs[i].probe.as_ref().unwrap_or_else(|| panic!("{} probed: {:?}", runs[i].name, runs[i].error));
            assert_eq!(probe.role, ProbeRole::Outbound, "{}", runs[i].name);
        }
        let inspected = runs.last().and_then(|r| r.inspected.as_ref()).expect("inspected");
        assert_eq!(inspected.role, Role::Server);
        lab.shutdown().await;
    });
}
