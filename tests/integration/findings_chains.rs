// Included into findings.rs (so the tests are `findings::fires_<id>` for the meta-test): issue 10
// part 4, reading the chains right. Real observations: `openssl s_server` on loopback, certificates
// made at test time (rcgen; the openssl CLI for SHA-1, which rcgen cannot sign), and `openssl
// verify` / `openssl s_client` run on the same files to check what the probe reports.

/// A client PKI: root, issuing CA, and client leaves issued by the issuing CA.
struct ClientPki {
    dir: Dir,
    root: Issued,
    issuing: Issued,
}

impl ClientPki {
    fn new() -> ClientPki {
        let dir = Dir::new();
        let root = Issued::self_signed(&Spec::ca("Chains Client Root")).expect("root");
        let issuing = root.issue(&Spec::ca("Chains Client Issuing CA")).expect("issuing");
        dir.write("client-root.pem", root.cert_pem());
        dir.write("client-issuing.pem", issuing.cert_pem());
        dir.write("client-cas.pem", format!("{}{}", issuing.cert_pem(), root.cert_pem()));
        ClientPki { dir, root, issuing }
    }

    fn path(&self, name: &str) -> String {
        s(&self.dir.path(name))
    }
}

/// A server chain root -> intermediate (with `intermediate`'s validity) -> localhost leaf.
fn server_chain_with(intermediate: Spec) -> (Dir, PathBuf, PathBuf, Issued) {
    let dir = Dir::new();
    let root = Issued::self_signed(&Spec::ca("Chains Server Root")).expect("root");
    let inter = root.issue(&intermediate).expect("intermediate");
    let leaf = inter.issue(&Spec::leaf("localhost").server_only().sans(&["localhost"])).expect("leaf");
    dir.write("root.pem", root.cert_pem());
    dir.write("inter.pem", inter.cert_pem());
    let (cert, key) = dir.write_issued("leaf", &leaf);
    (dir, cert, key, inter)
}

#[tokio::test]
async fn intermediate_expiry_is_reported_at_its_depth() {
    bounded(async {
        let (dir, cert, key, inter) = server_chain_with(Spec::ca("Chains Expired Issuing CA").valid_days(-400, -2));
        let inter_info = cert_info(&inter);
        let chain = s(&dir.path("inter.pem"));
        let root = s(&dir.path("root.pem"));
        // What openssl says of the same files: the intermediate, at depth 1.
        let (ok, said) = crate::util::openssl(&["verify", "-CAfile", &root, "-untrusted", &chain, &s(&cert)]);
        assert!(!ok && said.contains("error 10 at 1 depth lookup: certificate has expired"), "{said}");

        let peer = s_server(&cert, &key, &["-www", "-cert_chain", &chain]);
        let trust = MaterialRefs { ca: vec![root], ..refs() };
        let run = probe(peer_options(ProbeRole::Inbound, "localhost", peer.port), trust).await;
        let v = run.probe.as_ref().and_then(|p| p.server_verify.clone()).expect("verdict");
        assert_eq!((v.code, v.depth), (10, Some(1)), "{v:?}");
        let f = fires(&run, "server-cert-expired", Severity::Error, Symptom::Expiry);
        quotes(
            f,
            &format!(
                "intermediate CA certificate (depth 1) \"CN=Chains Expired Issuing CA, O=mtls-doctor lab\" NotAfter {} ({} days ago)",
                inter_info.not_after,
                -inter_info.days_left
            ),
        );
        assert!(f.cause.contains("Chains Expired Issuing CA"), "{}", f.cause);
        // The leaf is fine: nothing blames it.
        assert!(!f.evidence.iter().any(|e| e.contains("CN=localhost")), "{:?}", f.evidence);
        drop(peer);
    })
    .await
}

#[tokio::test]
async fn fires_server_cert_not_yet_valid() {
    bounded(async {
        let (dir, cert, key, inter) = server_chain_with(Spec::ca("Chains Future Issuing CA").valid_days(3, 400));
        let chain = s(&dir.path("inter.pem"));
        let root = s(&dir.path("root.pem"));
        let (ok, said) = crate::util::openssl(&["verify", "-CAfile", &root, "-untrusted", &chain, &s(&cert)]);
        assert!(!ok && said.contains("error 9 at 1 depth lookup: certificate is not yet valid"), "{said}");

        let peer = s_server(&cert, &key, &["-www", "-cert_chain", &chain]);
        let trust = MaterialRefs { ca: vec![root], ..refs() };
        let run = probe(peer_options(ProbeRole::Inbound, "localhost", peer.port), trust).await;
        let f = fires(&run, "server-cert-not-yet-valid", Severity::Error, Symptom::Expiry);
        quotes(
            f,
            &format!(
                "intermediate CA certificate (depth 1) \"CN=Chains Future Issuing CA, O=mtls-doctor lab\" NotBefore {}",
                cert_info(&inter).not_before
            ),
        );
        quotes(f, "verify: error 9");
        absent(&run, "server-cert-untrusted");
        drop(peer);
    })
    .await
}

#[tokio::test]
async fn fires_client_chain_incomplete() {
    bounded(async {
        let peers = PeerPki::new();
        let (cert, key, _) = peers.leaf("server", &peers.localhost());
        let client = ClientPki::new();
        let leaf = client.issuing.issue(&Spec::leaf("chains-client").client_only()).expect("leaf");
        // The leaf alone in the file: what the client sends.
        let (leaf_cert, leaf_key) = client.dir.write_issued("client-leaf", &leaf);
        let root = client.path("client-root.pem");
        let peer = s_server(&cert, &key, &["-www", "-Verify", "1", "-verify_return_error", "-CAfile", &root]);

        // openssl s_client sending the same leaf gets the same alert.
        let o = crate::util::run(
            Command::new("timeout")
                .args(["10", "openssl", "s_client", "-connect", &format!("127.0.0.1:{}", peer.port), "-tls1_2"])
                .arg("-cert")
                .arg(&leaf_cert)
                .arg("-key")
                .arg(&leaf_key)
                .stdin(std::process::Stdio::null()),
        );
        let said = format!("{}{}", crate::util::stdout(&o), crate::util::stderr(&o));
        assert!(said.contains("alert unknown ca"), "{said}");

        let material = MaterialRefs { cert: Some(s(&leaf_cert)), key: Some(s(&leaf_key)), ..peers.trust() };
        for pin in [TlsVersionPin::Tls12, TlsVersionPin::Tls13] {
            let mut o = peer_options(ProbeRole::Inbound, "localhost", peer.port);
            o.tls_version = Some(pin);
            let run = probe(o, material.clone()).await;
            // Without the issuer's certificate the tool cannot tell an intermediate from an
            // unrelated root: a warning naming the issuer, next to the unacceptable-CA error.
            let f = fires(&run, "client-chain-incomplete", Severity::Warning, Symptom::Tls);
            quotes(f, "needed issuer: \"CN=Chains Client Issuing CA, O=mtls-doctor lab\"");
            quotes(f, "client sent 1 certificate: \"CN=chains-client, O=mtls-doctor lab\"");
            assert!(f.cause.contains("--client-ca"), "{}", f.cause);
        }

        // With the CA certificates at hand (--client-ca), the tool knows the issuer is an
        // intermediate under the listed root: the error is the missing intermediate, not the CA.
        let material = MaterialRefs { client_ca: vec![client.path("client-cas.pem")], ..material };
        let run = probe(peer_options(ProbeRole::Inbound, "localhost", peer.port), material).await;
        absent(&run, "client-cert-ca-not-acceptable");
        let f = fires(&run, "client-chain-incomplete", Severity::Error, Symptom::Tls);
        quotes(f, "\"CN=Chains Client Issuing CA, O=mtls-doctor lab\"");
        quotes(f, "is issued by \"CN=Chains Client Root, O=mtls-doctor lab\"");
        assert!(f.cause.contains("The server trusts \"CN=Chains Client Root"), "{}", f.cause);

        // A leaf from an unrelated root, with that root at hand: an untrusted CA, not a short chain.
        let rogue_root = Issued::self_signed(&Spec::ca("Chains Rogue Root")).expect("rogue root");
        let rogue = rogue_root.issue(&Spec::leaf("chains-rogue").client_only()).expect("rogue leaf");
        let (rogue_cert, rogue_key) = client.dir.write_issued("rogue", &rogue);
        let rogue_ca = client.dir.write("rogue-root.pem", rogue_root.cert_pem());
        let material = MaterialRefs {
            cert: Some(s(&rogue_cert)),
            key: Some(s(&rogue_key)),
            client_ca: vec![s(&rogue_ca)],
            ..peers.trust()
        };
        let run = probe(peer_options(ProbeRole::Inbound, "localhost", peer.port), material).await;
        absent(&run, "client-chain-incomplete");
        fires(&run, "client-cert-ca-not-acceptable", Severity::Error, Symptom::NullCertificate);

        // Sent with its intermediate, the same leaf is accepted.
        let full = client.dir.write("client-full.pem", format!("{}{}", leaf.cert_pem(), client.issuing.cert_pem()));
        let material = MaterialRefs { cert: Some(s(&full)), key: Some(s(&leaf_key)), ..peers.trust() };
        let run = probe(peer_options(ProbeRole::Inbound, "localhost", peer.port), material).await;
        assert_eq!(run.probe.as_ref().and_then(|p| p.http.as_ref()).map(|h| h.status), Some(200));
        absent(&run, "client-chain-incomplete");
        drop(peer);
    })
    .await
}

/// The server sends leaf, root, intermediate: out of order, and with its root.
async fn shuffled_chain_run() -> TargetRun {
    let peers = PeerPki::new();
    let (cert, key, _) = peers.leaf("server", &peers.localhost());
    let root = std::fs::read_to_string(peers.dir.path("server-root.pem")).expect("root");
    let issuing = std::fs::read_to_string(peers.dir.path("server-issuing.pem")).expect("issuing");
    let chain = peers.dir.write("shuffled.pem", format!("{root}{issuing}"));
    let peer = s_server(&cert, &key, &["-www", "-cert_chain", &s(&chain)]);
    let run = probe(peer_options(ProbeRole::Inbound, "localhost", peer.port), peers.trust()).await;
    drop(peer);
    run
}

#[tokio::test]
async fn fires_chain_out_of_order() {
    bounded(async {
        let run = shuffled_chain_run().await;
        let p = run.probe.as_ref().expect("probe");
        // rustls (and openssl) build the path anyway.
        assert!(p.handshake.ok && p.server_verify.as_ref().is_some_and(|v| v.ok), "{:?}", p.server_verify);
        assert_eq!(p.server_chain.len(), 3);
        let f = fires(&run, "chain-out-of-order", Severity::Info, Symptom::Tls);
        quotes(f, "server chain as sent: #0 \"CN=localhost, O=mtls-doctor lab\"");
        quotes(f, "#1 \"CN=Findings Server Root, O=mtls-doctor lab\"");
        assert!(!mtls_doctor::diagnose::has_errors(&run.findings), "{}", summary(&run.findings));
    })
    .await
}

#[tokio::test]
async fn fires_chain_includes_root() {
    bounded(async {
        let run = shuffled_chain_run().await;
        let f = fires(&run, "chain-includes-root", Severity::Info, Symptom::Tls);
        quotes(f, "server chain as sent includes the self-signed \"CN=Findings Server Root, O=mtls-doctor lab\"");

        // A client chain file with the root, given to inspect.
        let client = ClientPki::new();
        let leaf = client.issuing.issue(&Spec::leaf("chains-client").client_only()).expect("leaf");
        let (leaf_cert, _) = client.dir.write_issued("client-leaf", &leaf);
        let root = client.dir.path("client-root.pem");
        let issuing = client.dir.path("client-issuing.pem");
        let run = inspect(&[&leaf_cert, &issuing, &root], Role::Client, refs());
        let f = fires(&run, "chain-includes-root", Severity::Info, Symptom::Tls);
        quotes(f, "includes the self-signed \"CN=Chains Client Root, O=mtls-doctor lab\"");
        absent(&run, "chain-out-of-order");
    })
    .await
}

#[tokio::test]
async fn fires_cert_sha1_signature() {
    bounded(async {
        let dir = Dir::new();
        let p = |n: &str| s(&dir.path(n));
        let ok = |args: &[&str]| {
            let (ok, said) = crate::util::openssl(args);
            assert!(ok, "openssl {args:?}: {said}");
        };
        ok(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &p("ca.key"), "-out", &p("ca.pem"), "-subj", "/CN=Chains SHA1 Root", "-days", "30"]);
        ok(&["req", "-newkey", "rsa:2048", "-nodes", "-keyout", &p("c.key"), "-out", &p("c.csr"), "-subj", "/CN=chains-sha1-client"]);
        dir.write("ext", "extendedKeyUsage=clientAuth\n");
        ok(&["x509", "-req", "-in", &p("c.csr"), "-CA", &p("ca.pem"), "-CAkey", &p("ca.key"), "-CAcreateserial", "-out", &p("c.pem"), "-days", "10", "-sha1", "-extfile", &p("ext")]);

        // OpenSSL 3 at its default security level refuses it as a client certificate.
        let (ok_verify, said) = crate::util::openssl(&["verify", "-auth_level", "1", "-CAfile", &p("ca.pem"), &p("c.pem")]);
        assert!(!ok_verify && said.contains("error 68"), "{said}");

        let run = inspect(&[&dir.path("c.pem"), &dir.path("c.key")], Role::Client, refs());
        let f = fires(&run, "cert-sha1-signature", Severity::Warning, Symptom::Tls);
        quotes(f, "\"CN=chains-sha1-client\"");
        quotes(f, "signature algorithm sha1WithRSAEncryption");

        // And an OpenSSL server does refuse it in a handshake (bad_certificate).
        let peers = PeerPki::new();
        let (cert, key, _) = peers.leaf("server", &peers.localhost());
        let ca = p("ca.pem");
        let peer = s_server(&cert, &key, &["-www", "-Verify", "1", "-verify_return_error", "-CAfile", &ca]);
        let material = MaterialRefs { cert: Some(p("c.pem")), key: Some(p("c.key")), ..peers.trust() };
        let mut o = peer_options(ProbeRole::Inbound, "localhost", peer.port);
        o.tls_version = Some(TlsVersionPin::Tls12);
        let run = probe(o, material).await;
        let pr = run.probe.as_ref().expect("probe");
        assert!(pr.client_cert_sent && !pr.handshake.ok, "{:?}", pr.handshake);
        fires(&run, "cert-sha1-signature", Severity::Warning, Symptom::Tls);
        fires(&run, "gateway-rejected-client-cert", Severity::Error, Symptom::Tls);
        drop(peer);
    })
    .await
}

#[test]
fn fires_cert_client_is_ca() {
    let client = ClientPki::new();
    let mut spec = Spec::ca("chains-ca-client");
    spec.client_auth = true;
    let leaf = client.issuing.issue(&spec).expect("leaf");
    let (cert, key) = client.dir.write_issued("ca-client", &leaf);
    let run = inspect(&[&cert, &key], Role::Client, refs());
    let f = fires(&run, "cert-client-is-ca", Severity::Warning, Symptom::Tls);
    quotes(f, "\"CN=chains-ca-client, O=mtls-doctor lab\"");
    quotes(f, "basicConstraints CA:TRUE");

    // What the finding says of rustls: webpki refuses it as an end entity.
    let cert = |i: &Issued, name: &str| mtls_doctor::cert::Certificate::from_der(i.der.clone(), name).expect("cert");
    let presented = vec![cert(&leaf, "leaf"), cert(&client.issuing, "issuing")];
    let trust = mtls_doctor::verify::TrustStore::from_certs("client-root.pem", vec![cert(&client.root, "root")]);
    let v = mtls_doctor::verify::verify_chain(&presented, &trust, Role::Client, &Default::default());
    assert_eq!(v.reason.as_deref(), Some("CaUsedAsEndEntity"), "{v:?}");
}

#[tokio::test]
async fn fires_ca_list_too_large() {
    bounded(async {
        let peers = PeerPki::new();
        let (cert, key, _) = peers.leaf("server", &peers.localhost());
        // 180 CAs with long names: about 22 KB of names, past Schannel's 16 KB.
        let mut bundle = String::new();
        for i in 0..180 {
            let mut spec = Spec::ca(&format!("Chains Bulk CA {i:03} with a long descriptive common name"));
            spec.subject.insert(0, (rcgen::DnType::OrganizationalUnitName, "Client Authentication Issuers, Bulk".into()));
            bundle.push_str(&Issued::self_signed(&spec).expect("ca").cert_pem());
        }
        let cas = peers.dir.write("bulk-cas.pem", bundle);
        let peer = s_server(&cert, &key, &["-www", "-verify", "1", "-CAfile", &s(&cas)]);
        let run = probe(peer_options(ProbeRole::Inbound, "localhost", peer.port), peers.trust()).await;
        let p = run.probe.as_ref().expect("probe");
        assert_eq!(p.acceptable_ca_names.len(), 180);
        assert!(p.acceptable_ca_names_bytes > 16 * 1024, "{}", p.acceptable_ca_names_bytes);
        let f = fires(&run, "ca-list-too-large", Severity::Warning, Symptom::NullCertificate);
        quotes(f, &format!("CertificateRequest: 180 CA name(s), {} bytes (Schannel limit 16384 bytes", p.acceptable_ca_names_bytes));
        drop(peer);

        // A list of a few names is nowhere near it.
        let ca = s(&peers.dir.path("server-root.pem"));
        let peer = s_server(&cert, &key, &["-www", "-verify", "1", "-CAfile", &ca]);
        let run = probe(peer_options(ProbeRole::Inbound, "localhost", peer.port), peers.trust()).await;
        let p = run.probe.as_ref().expect("probe");
        assert!(p.client_cert_requested && p.acceptable_ca_names_bytes > 0 && p.acceptable_ca_names_bytes < 200);
        absent(&run, "ca-list-too-large");
        drop(peer);
    })
    .await
}

#[tokio::test]
async fn fires_portal_requests_cert() {
    bounded(async {
        let peers = PeerPki::new();
        let portal = "contoso.developer.azure-api.net";
        let (cert, key, _) = peers.leaf("portal", &Spec::leaf(portal).server_only().sans(&[portal]));
        let ca = s(&peers.dir.path("server-root.pem"));
        // Optional client certificates (-verify), as a hostname with negotiation on would ask.
        let chain = s(&peers.dir.path("server-issuing.pem"));
        let peer = s_server(&cert, &key, &["-www", "-cert_chain", &chain, "-verify", "1", "-CAfile", &ca]);
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], peer.port));
        let run = probe(options(ProbeRole::Inbound, portal, addr, "/"), peers.trust()).await;
        let f = fires(&run, "portal-requests-cert", Severity::Warning, Symptom::NullCertificate);
        quotes(f, &format!("CertificateRequest on {portal}"));
        // Nobody needs a client certificate there: not an error.
        let missing = fires(&run, "client-cert-missing", Severity::Info, Symptom::NullCertificate);
        quotes(missing, "this hostname serves browsers");
        assert!(!mtls_doctor::diagnose::has_errors(&run.findings), "{}", summary(&run.findings));

        // The gateway hostname of the same service is not a portal.
        let gw = "contoso.azure-api.net";
        let run = probe(options(ProbeRole::Inbound, gw, addr, "/"), peers.trust()).await;
        absent(&run, "portal-requests-cert");
        drop(peer);
    })
    .await
}
