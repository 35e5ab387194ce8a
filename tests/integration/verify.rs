//! Chain verdicts checked against `openssl verify` run on the same generated certificates.

use mtls_doctor::cert::Certificate;
use mtls_doctor::pki::{Issued, Spec};
use mtls_doctor::verify::{code, verify_chain, ChainProblem, Role, TrustStore, Verdict, VerifyOptions};
use time::OffsetDateTime;

use crate::util::{openssl, Dir, Pki};

fn cert(issued: &Issued) -> Certificate {
    Certificate::from_der(issued.der.clone(), "generated").expect("generated certificate parses")
}

fn store(trust: &[&Issued]) -> TrustStore {
    TrustStore::from_certs("ca.pem", trust.iter().map(|i| cert(i)).collect())
}

/// What `openssl verify` says about the same files: the first `error N at D depth lookup`, or
/// (0, None) when it prints OK. Only the given CA file is trusted.
fn openssl_verdict(
    role: Role,
    host: Option<&str>,
    at: Option<OffsetDateTime>,
    trust: &[&Issued],
    presented: &[&Issued],
) -> (i32, Option<usize>, String) {
    let dir = Dir::new();
    let ca = dir.write("ca.pem", trust.iter().map(|c| c.cert_pem()).collect::<String>());
    let leaf = dir.write("leaf.pem", presented[0].cert_pem());
    let rest = dir.write("rest.pem", presented[1..].iter().map(|c| c.cert_pem()).collect::<String>());
    let purpose = match role {
        Role::Client => "sslclient",
        Role::Server => "sslserver",
    };
    let attime = at.map(|t| t.unix_timestamp().to_string());
    let mut args: Vec<&str> = vec!["verify", "-no-CApath", "-no-CAstore", "-purpose", purpose];
    if let Some(h) = host {
        // Our verdict matches an IP address against IP SANs, as a TLS client does.
        let flag = if h.parse::<std::net::IpAddr>().is_ok() { "-verify_ip" } else { "-verify_hostname" };
        args.extend([flag, h]);
    }
    if let Some(t) = &attime {
        args.extend(["-attime", t.as_str()]);
    }
    args.extend(["-CAfile", ca.to_str().expect("utf-8 path")]);
    if presented.len() > 1 {
        args.extend(["-untrusted", rest.to_str().expect("utf-8 path")]);
    }
    args.push(leaf.to_str().expect("utf-8 path"));
    let (success, out) = openssl(&args);
    for line in out.lines() {
        let Some(tail) = line.strip_prefix("error ") else { continue };
        let mut words = tail.split_whitespace();
        let (Some(n), Some("at"), Some(d), Some("depth")) = (words.next(), words.next(), words.next(), words.next())
        else {
            continue;
        };
        let n: i32 = n.parse().expect("error number");
        let d: usize = d.parse().expect("error depth");
        return (n, Some(d), out);
    }
    assert!(success && out.contains(": OK"), "openssl neither failed nor said OK:\n{out}");
    (0, None, out)
}

/// Judge the chain ourselves and with openssl; the code and depth must agree.
fn judge(role: Role, host: Option<&str>, trust: &[&Issued], presented: &[&Issued]) -> Verdict {
    judge_at(role, host, None, trust, presented)
}

fn judge_at(
    role: Role,
    host: Option<&str>,
    at: Option<OffsetDateTime>,
    trust: &[&Issued],
    presented: &[&Issued],
) -> Verdict {
    let certs: Vec<Certificate> = presented.iter().map(|i| cert(i)).collect();
    let opts = VerifyOptions { host: host.map(str::to_string), at };
    let ours = verify_chain(&certs, &store(trust), role, &opts);
    let (code, depth, out) = openssl_verdict(role, host, at, trust, presented);
    assert_eq!((ours.code, ours.depth), (code, depth), "ours: {ours:#?}\nopenssl said:\n{out}");
    assert_eq!(ours.ok, code == 0);
    assert_eq!(ours.code_name, mtls_doctor::verify::code_name(code));
    if code != 0 {
        assert!(out.contains(&ours.code_name), "openssl names code {code} differently:\n{out}");
    }
    ours
}

const ROLES: [Role; 2] = [Role::Client, Role::Server];

fn host_leaf(pki: &Pki) -> Issued {
    pki.leaf(&Spec::leaf("api.example.com").sans(&["api.example.com"]))
}

#[test]
fn good_chain_is_ok_for_both_roles() {
    let pki = Pki::new("Good");
    let leaf = host_leaf(&pki);
    for role in ROLES {
        let v = judge(role, None, &[&pki.root], &[&leaf, &pki.intermediate]);
        assert!(v.ok);
        assert_eq!(v.code_name, "ok");
        assert_eq!(v.reason, None);
        assert_eq!(v.path, vec![leaf.thumbprint(), pki.intermediate.thumbprint(), pki.root.thumbprint()]);
        assert!(v.chain_problems.is_empty(), "{:?}", v.chain_problems);
    }
    let v = judge(Role::Server, Some("api.example.com"), &[&pki.root], &[&leaf, &pki.intermediate]);
    assert!(v.ok);
    assert_eq!(v.reason, None);
}

#[test]
fn expired_leaf() {
    let pki = Pki::new("Expired");
    let leaf = pki.leaf(&Spec::leaf("old").valid_days(-30, -1));
    for role in ROLES {
        let v = judge(role, None, &[&pki.root], &[&leaf, &pki.intermediate]);
        assert_eq!((v.code, v.depth), (code::CERT_HAS_EXPIRED, Some(0)));
        assert_eq!(v.reason.as_deref(), Some("CertExpired"));
    }
}

#[test]
fn not_yet_valid_leaf() {
    let pki = Pki::new("Future");
    let leaf = pki.leaf(&Spec::leaf("soon").valid_days(2, 30));
    for role in ROLES {
        let v = judge(role, None, &[&pki.root], &[&leaf, &pki.intermediate]);
        assert_eq!((v.code, v.depth), (code::CERT_NOT_YET_VALID, Some(0)));
        assert_eq!(v.reason.as_deref(), Some("CertNotValidYet"));
    }
}

#[test]
fn expired_intermediate_is_reported_at_its_depth() {
    let pki = Pki::new("Lapsed");
    let intermediate = pki.root.issue(&Spec::ca("Lapsed Old Issuing CA").valid_days(-400, -2)).expect("intermediate");
    let leaf = intermediate.issue(&Spec::leaf("svc").valid_days(-300, 30)).expect("leaf");
    for role in ROLES {
        let v = judge(role, None, &[&pki.root], &[&leaf, &intermediate]);
        assert_eq!((v.code, v.depth), (code::CERT_HAS_EXPIRED, Some(1)));
        assert_eq!(v.reason.as_deref(), Some("CertExpired"));
    }
}

#[test]
fn verification_time_can_be_chosen() {
    let pki = Pki::new("Clock");
    let leaf = host_leaf(&pki);
    let later = OffsetDateTime::now_utc() + time::Duration::days(2 * 365);
    for role in ROLES {
        let v = judge_at(role, None, Some(later), &[&pki.root], &[&leaf, &pki.intermediate]);
        assert_eq!((v.code, v.depth), (code::CERT_HAS_EXPIRED, Some(0)));
    }
}

#[test]
fn wrong_extended_key_usage() {
    let pki = Pki::new("Purpose");
    let server_only = pki.leaf(&Spec::leaf("server-only").server_only());
    let client_only = pki.leaf(&Spec::leaf("client-only").client_only());
    for (role, leaf) in [(Role::Client, &server_only), (Role::Server, &client_only)] {
        let v = judge(role, None, &[&pki.root], &[leaf, &pki.intermediate]);
        assert_eq!((v.code, v.depth), (code::INVALID_PURPOSE, Some(0)));
        assert_eq!(v.code_name, "unsuitable certificate purpose");
        let reason = v.reason.expect("webpki refuses the usage too");
        assert!(reason.contains("Eku"), "unexpected webpki reason {reason}");
    }
    // An intermediate restricted to serverAuth cannot issue client certificates.
    let mut spec = Spec::ca("Purpose Server CA");
    spec.server_auth = true;
    let server_ca = pki.root.issue(&spec).expect("server-only CA");
    let leaf = server_ca.issue(&Spec::leaf("both")).expect("leaf");
    let v = judge(Role::Client, None, &[&pki.root], &[&leaf, &server_ca]);
    assert_eq!((v.code, v.depth), (code::INVALID_PURPOSE, Some(1)));
    assert!(v.reason.is_some());
    assert!(judge(Role::Server, None, &[&pki.root], &[&leaf, &server_ca]).ok);
    // The matching usage passes.
    assert!(judge(Role::Server, None, &[&pki.root], &[&server_only, &pki.intermediate]).ok);
    assert!(judge(Role::Client, None, &[&pki.root], &[&client_only, &pki.intermediate]).ok);
}

#[test]
fn unknown_ca() {
    let pki = Pki::new("Ours");
    let other = Pki::new("Theirs");
    let leaf = host_leaf(&pki);
    for role in ROLES {
        let v = judge(role, None, &[&other.root], &[&leaf, &pki.intermediate]);
        assert_eq!((v.code, v.depth), (code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY, Some(1)));
        assert_eq!(v.reason.as_deref(), Some("UnknownIssuer"));
        assert_eq!(
            v.chain_problems,
            vec![ChainProblem::MissingIntermediate { needed_issuer: cert(&pki.root).info.subject }]
        );
        assert_eq!(v.path, vec![leaf.thumbprint(), pki.intermediate.thumbprint()]);

        // With the unknown root sent along, openssl blames the self-signed root instead.
        let v = judge(role, None, &[&other.root], &[&leaf, &pki.intermediate, &pki.root]);
        assert_eq!((v.code, v.depth), (code::SELF_SIGNED_CERT_IN_CHAIN, Some(2)));
        assert_eq!(v.reason.as_deref(), Some("UnknownIssuer"));
    }
}

#[test]
fn missing_intermediate() {
    let pki = Pki::new("Gap");
    let leaf = host_leaf(&pki);
    let leaf_cert = cert(&leaf);
    for role in ROLES {
        let v = judge(role, None, &[&pki.root], &[&leaf]);
        assert_eq!((v.code, v.depth), (code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY, Some(0)));
        assert_eq!(v.code_name, "unable to get local issuer certificate");
        assert_eq!(v.reason.as_deref(), Some("UnknownIssuer"));
        assert_eq!(
            v.chain_problems,
            vec![ChainProblem::MissingIntermediate { needed_issuer: leaf_cert.info.issuer.clone() }]
        );
        assert_eq!(leaf_cert.info.issuer, "CN=Gap Issuing CA, O=mtls-doctor lab");
    }
}

#[test]
fn self_signed_leaf() {
    let pki = Pki::new("Selfie");
    let leaf = Issued::self_signed(&Spec::leaf("selfie").sans(&["selfie.example.com"])).expect("self-signed");
    for role in ROLES {
        let v = judge(role, None, &[&pki.root], &[&leaf]);
        assert_eq!((v.code, v.depth), (code::DEPTH_ZERO_SELF_SIGNED_CERT, Some(0)));
        assert_eq!(v.code_name, "self-signed certificate");
        assert!(v.reason.is_some());
        // Trusted directly, it is its own anchor.
        let v = judge(role, None, &[&leaf], &[&leaf]);
        assert!(v.ok, "{v:?}");
        assert_eq!(v.path, vec![leaf.thumbprint()]);
    }
}

#[test]
fn hostname_mismatch() {
    let pki = Pki::new("Names");
    let leaf = host_leaf(&pki);
    let v = judge(Role::Server, Some("wrong.example.com"), &[&pki.root], &[&leaf, &pki.intermediate]);
    assert_eq!((v.code, v.depth), (code::HOSTNAME_MISMATCH, Some(0)));
    assert_eq!(v.code_name, "hostname mismatch");
    assert_eq!(v.reason.as_deref(), Some("CertNotValidForName"));
}

#[test]
fn hostname_rules_match_openssl() {
    let pki = Pki::new("Wild");
    let wildcard = pki.leaf(&Spec::leaf("wildcard").sans(&["*.example.com"]));
    let cn_only = pki.leaf(&Spec::leaf("api.example.com"));
    let hosts =
        ["api.example.com", "API.Example.COM", "a.b.example.com", "example.com", "api.example.com.", "other.test"];
    for leaf in [&wildcard, &cn_only] {
        for host in hosts {
            judge(Role::Server, Some(host), &[&pki.root], &[leaf, &pki.intermediate]);
        }
    }
    // Where rustls and openssl part ways, the verdict shows both: openssl falls back to the CN,
    // rustls never does; rustls ignores a trailing dot, openssl does not.
    let v = judge(Role::Server, Some("api.example.com"), &[&pki.root], &[&cn_only, &pki.intermediate]);
    assert_eq!((v.code, v.reason.as_deref()), (0, Some("CertNotValidForName")));
    let dotted = host_leaf(&pki);
    let v = judge(Role::Server, Some("api.example.com."), &[&pki.root], &[&dotted, &pki.intermediate]);
    assert_eq!((v.code, v.reason.as_deref()), (code::HOSTNAME_MISMATCH, None));
}

#[test]
fn ip_address_hosts_match_ip_sans() {
    let pki = Pki::new("Addr");
    let leaf = pki.leaf(&Spec::leaf("loopback").sans(&["127.0.0.1", "::1"]));
    for host in ["127.0.0.1", "::1"] {
        let v = judge(Role::Server, Some(host), &[&pki.root], &[&leaf, &pki.intermediate]);
        assert!(v.ok, "{v:?}");
        assert_eq!(v.reason, None);
    }
    let v = judge(Role::Server, Some("127.0.0.2"), &[&pki.root], &[&leaf, &pki.intermediate]);
    assert_eq!((v.code, v.depth), (code::IP_ADDRESS_MISMATCH, Some(0)));
    assert_eq!(v.reason.as_deref(), Some("CertNotValidForName"));
}

#[test]
fn checks_come_in_openssl_order() {
    let pki = Pki::new("Order");
    let other = Pki::new("Elsewhere");
    let expired_server_only = pki.leaf(&Spec::leaf("x").sans(&["x.example.com"]).server_only().valid_days(-9, -1));
    // Purpose before hostname before validity.
    let v = judge(Role::Client, Some("nope.example.com"), &[&pki.root], &[&expired_server_only, &pki.intermediate]);
    assert_eq!(v.code, code::INVALID_PURPOSE);
    let v = judge(Role::Server, Some("nope.example.com"), &[&pki.root], &[&expired_server_only, &pki.intermediate]);
    assert_eq!(v.code, code::HOSTNAME_MISMATCH);
    // Chain building before everything.
    let v = judge(Role::Client, Some("nope.example.com"), &[&other.root], &[&expired_server_only, &pki.intermediate]);
    assert_eq!(v.code, code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
}

#[test]
fn out_of_order_and_root_included_are_detected() {
    let pki = Pki::new("Shuffle");
    let leaf = host_leaf(&pki);
    let root_subject = cert(&pki.root).info.subject;
    for role in ROLES {
        let v = judge(role, None, &[&pki.root], &[&leaf, &pki.root, &pki.intermediate]);
        assert!(v.ok, "openssl accepts any order: {v:?}");
        assert!(v.chain_problems.contains(&ChainProblem::OutOfOrder), "{:?}", v.chain_problems);
        assert!(v.chain_problems.contains(&ChainProblem::RootIncluded { subject: root_subject.clone() }));

        let v = judge(role, None, &[&pki.root], &[&leaf, &pki.intermediate, &pki.root]);
        assert!(v.ok);
        assert_eq!(v.chain_problems, vec![ChainProblem::RootIncluded { subject: root_subject.clone() }]);
    }
}

#[test]
fn unrelated_extra_certificate_before_the_issuer_is_out_of_order() {
    let pki = Pki::new("Extra");
    let stranger = Pki::new("Stranger");
    let leaf = host_leaf(&pki);
    let v = judge(Role::Client, None, &[&pki.root], &[&leaf, &stranger.intermediate, &pki.intermediate]);
    assert!(v.ok);
    assert_eq!(v.chain_problems, vec![ChainProblem::OutOfOrder]);
    // After the path it is merely extra.
    let v = judge(Role::Client, None, &[&pki.root], &[&leaf, &pki.intermediate, &stranger.intermediate]);
    assert!(v.ok);
    assert!(v.chain_problems.is_empty());
}

#[test]
fn intermediate_alone_in_trust_needs_partial_chain() {
    let pki = Pki::new("Partial");
    let leaf = host_leaf(&pki);
    for role in ROLES {
        for presented in [vec![&leaf], vec![&leaf, &pki.intermediate]] {
            let v = judge(role, None, &[&pki.intermediate], &presented);
            assert_eq!((v.code, v.depth), (code::UNABLE_TO_GET_ISSUER_CERT, Some(1)));
            assert_eq!(v.code_name, "unable to get issuer certificate");
            // webpki takes any anchor as final: rustls would accept this chain.
            assert_eq!(v.reason, None);
            assert_eq!(
                v.chain_problems,
                vec![ChainProblem::MissingIntermediate { needed_issuer: cert(&pki.root).info.subject }]
            );
        }
    }
}

#[test]
fn renewed_root_with_the_same_name_is_a_signature_failure() {
    let pki = Pki::new("Renewed");
    let impostor = Issued::self_signed(&Spec::ca("Renewed Root CA")).expect("root with the same name, new key");
    assert_eq!(cert(&impostor).info.subject, cert(&pki.root).info.subject);
    let leaf = host_leaf(&pki);
    for role in ROLES {
        let v = judge(role, None, &[&impostor], &[&leaf, &pki.intermediate]);
        assert_eq!((v.code, v.depth), (code::CERT_SIGNATURE_FAILURE, Some(1)));
        assert!(v.reason.is_some());
        assert_eq!(v.chain_problems, vec![ChainProblem::IssuerKeyMismatch { issuer: cert(&pki.root).info.subject }]);
    }
    // A leaf whose authority key identifier names another key never matches that intermediate.
    let other_issuer = pki.root.issue(&Spec::ca("Renewed Issuing CA")).expect("same name, new key");
    for role in ROLES {
        let v = judge(role, None, &[&pki.root], &[&leaf, &other_issuer]);
        assert_eq!((v.code, v.depth), (code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY, Some(0)));
        assert_eq!(v.chain_problems, vec![ChainProblem::IssuerKeyMismatch { issuer: cert(&leaf).info.issuer }]);
    }
}

#[test]
fn name_and_key_anchors_work_like_certificates() {
    let pki = Pki::new("Anchor");
    let other = Pki::new("NotAnchor");
    let leaf = host_leaf(&pki);
    let root_der = pki.root.cert_der();
    let anchor = webpki::anchor_from_trusted_cert(&root_der).expect("anchor").to_owned();
    let trust = TrustStore {
        source: "anchors".into(),
        certs: Default::default(),
        anchors: vec![anchor],
        prepared: Default::default(),
    };
    assert_eq!(trust.len(), 1);
    assert_eq!(trust.to_root_store().roots.len(), 1);
    let opts = VerifyOptions::default();
    for role in ROLES {
        let v = verify_chain(&[cert(&leaf), cert(&pki.intermediate)], &trust, role, &opts);
        assert!(v.ok, "{v:?}");
        assert_eq!(v.reason, None);
        assert_eq!(v.path.len(), 3);
        assert_eq!(v.path[2], format!("anchor:{}", cert(&pki.root).info.subject));

        let foreign = other.leaf(&Spec::leaf("foreign"));
        let v = verify_chain(&[cert(&foreign), cert(&other.intermediate)], &trust, role, &opts);
        assert_eq!((v.code, v.depth), (code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY, Some(1)));
        assert_eq!(v.reason.as_deref(), Some("UnknownIssuer"));
    }
}

#[test]
fn system_and_mozilla_stores_load() {
    let mozilla = TrustStore::mozilla();
    assert_eq!(mozilla.source, "mozilla");
    assert!(!mozilla.is_empty());
    assert!(mozilla.anchors.len() > 100, "only {} Mozilla anchors", mozilla.anchors.len());
    assert_eq!(mozilla.to_root_store().roots.len(), mozilla.anchors.len());

    let system = TrustStore::system().expect("this machine has a CA bundle");
    assert_eq!(system.source, "system");
    assert!(system.certs.len() > 50, "only {} system CAs", system.certs.len());
    assert!(system.to_root_store().roots.len() > 50);

    // A lab chain is unknown to both; the verdict still comes back.
    let pki = Pki::new("Public");
    let leaf = host_leaf(&pki);
    for trust in [&mozilla, &system] {
        let v = verify_chain(&[cert(&leaf), cert(&pki.intermediate)], trust, Role::Server, &VerifyOptions::default());
        assert_eq!((v.code, v.depth), (code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY, Some(1)));
        assert_eq!(v.reason.as_deref(), Some("UnknownIssuer"));
    }
}

#[test]
fn malformed_input_gives_a_verdict() {
    let pki = Pki::new("Junk");
    let leaf = cert(&host_leaf(&pki));
    let broken = Certificate { der: vec![0x30, 0x03, 0x02, 0x01], info: leaf.info.clone() };
    let v = verify_chain(std::slice::from_ref(&broken), &store(&[&pki.root]), Role::Client, &VerifyOptions::default());
    assert!(!v.ok);
    assert_eq!(v.code, code::UNSPECIFIED);
    assert!(v.reason.is_some());
    // A broken extra certificate is ignored by the chain builder, as openssl skips what it cannot load.
    let v = verify_chain(
        &[leaf, broken, cert(&pki.intermediate)],
        &store(&[&pki.root]),
        Role::Client,
        &VerifyOptions::default(),
    );
    assert_eq!(v.code, 0, "{v:?}");
    let v = verify_chain(&[], &TrustStore::from_certs("empty", vec![]), Role::Server, &VerifyOptions::default());
    assert!(!v.ok);
}

#[test]
fn leaf_used_as_issuer_is_an_invalid_ca() {
    let pki = Pki::new("NotCa");
    let fake_ca = pki.leaf(&Spec::leaf("NotCa Issuing CA"));
    let leaf = fake_ca.issue(&Spec::leaf("victim")).expect("issued by a leaf");
    for role in ROLES {
        let v = judge(role, None, &[&pki.root], &[&leaf, &fake_ca, &pki.intermediate]);
        assert_eq!((v.code, v.depth), (code::INVALID_CA, Some(1)));
        assert_eq!(v.code_name, "invalid CA certificate");
        assert!(v.reason.is_some());
    }
}

#[test]
fn every_key_kind_matches_openssl() {
    use mtls_doctor::pki::KeyKind;
    for kind in [KeyKind::Rsa2048, KeyKind::EcdsaP384, KeyKind::Ed25519] {
        let root = Issued::self_signed(&Spec::ca("Kinds Root CA").key(kind)).expect("root");
        let intermediate = root.issue(&Spec::ca("Kinds Issuing CA").key(kind)).expect("intermediate");
        let leaf = intermediate.issue(&Spec::leaf("kinds").key(kind)).expect("leaf");
        for role in ROLES {
            let v = judge(role, None, &[&root], &[&leaf, &intermediate]);
            assert!(v.ok, "{kind:?}: {v:?}");
            assert_eq!(v.reason, None, "{kind:?}");
        }
        let impostor = Issued::self_signed(&Spec::ca("Kinds Root CA").key(kind)).expect("impostor");
        let v = judge(Role::Client, None, &[&impostor], &[&leaf, &intermediate]);
        assert_eq!((v.code, v.depth), (code::CERT_SIGNATURE_FAILURE, Some(1)), "{kind:?}");
    }
    // Mixed key types: an ECDSA intermediate under an RSA root.
    let root = Issued::self_signed(&Spec::ca("Mixed Root CA").key(KeyKind::Rsa2048)).expect("root");
    let intermediate = root.issue(&Spec::ca("Mixed Issuing CA")).expect("intermediate");
    let leaf = intermediate.issue(&Spec::leaf("mixed")).expect("leaf");
    assert!(judge(Role::Server, None, &[&root], &[&leaf, &intermediate]).ok);
}
