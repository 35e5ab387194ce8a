//! Loading certificates and keys: every format is made at test time with rcgen and the openssl CLI.

use std::path::{Path, PathBuf};

use mtls_doctor::material::{
    key_matches_cert, load_bytes, load_file, load_identity, load_many, signature_schemes, Encoding, KeyFormat,
    Material, PasswordSource,
};
use mtls_doctor::pki::{KeyKind, Spec};
use mtls_doctor::Error;
use rustls::SignatureScheme;

use crate::util::{openssl, Dir, Pki};

const PASSWORD: &str = "correct horse $ 42";

fn ossl(args: &[&str]) -> String {
    let (ok, out) = openssl(args);
    assert!(ok, "openssl {args:?} failed:\n{out}");
    out
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// A PKI with an EC P-256 client leaf, written as PEM files.
struct Fixture {
    dir: Dir,
    pki: Pki,
    leaf: mtls_doctor::pki::Issued,
    leaf_cert: PathBuf,
    leaf_key: PathBuf,
    intermediate: PathBuf,
}

impl Fixture {
    fn new(kind: KeyKind) -> Self {
        let dir = Dir::new();
        let pki = Pki::new("Material");
        let leaf = pki.leaf(&Spec::leaf("client.example").client_only().key(kind));
        let (leaf_cert, leaf_key) = dir.write_issued("leaf", &leaf);
        let intermediate = dir.write("intermediate.pem", pki.intermediate.cert_pem());
        Fixture { dir, pki, leaf, leaf_cert, leaf_key, intermediate }
    }

    fn leaf_thumbprint(&self) -> String {
        self.leaf.thumbprint()
    }

    /// `openssl pkcs12 -export` of the leaf, its key and the intermediate.
    fn pfx(&self, name: &str, pass: &str, extra: &[&str]) -> PathBuf {
        let out = self.dir.path(name);
        let passout = format!("pass:{pass}");
        let mut args = vec![
            "pkcs12",
            "-export",
            "-in",
            s(&self.leaf_cert),
            "-inkey",
            s(&self.leaf_key),
            "-certfile",
            s(&self.intermediate),
            "-out",
            s(&out),
            "-passout",
            &passout,
        ];
        args.extend_from_slice(extra);
        ossl(&args);
        out
    }
}

/// Assert an input error that names `path` and leaks none of `secrets`; return its message.
fn input_error(result: mtls_doctor::Result<impl std::fmt::Debug>, path: &Path, secrets: &[&str]) -> String {
    let err = result.expect_err("expected an error");
    let msg = err.to_string();
    match &err {
        Error::Input { origin, .. } => assert_eq!(origin, &path.display().to_string(), "{msg}"),
        other => panic!("expected Error::Input, got {other:?}"),
    }
    assert!(msg.contains(&path.display().to_string()), "error does not name the file: {msg}");
    assert!(!msg.contains('\n'), "error is not one line: {msg}");
    for secret in secrets {
        assert!(!msg.contains(secret), "error leaks a secret: {msg}");
    }
    msg
}

/// Fragments of a PEM key's base64 body: none may appear in an error or Debug output.
fn key_fragments(key_pem: &str) -> Vec<String> {
    key_pem.lines().filter(|l| !l.starts_with("-----") && l.len() >= 24).map(|l| l[4..24].to_string()).collect()
}

fn env_source(name: &str, value: &str) -> PasswordSource {
    // Each test uses its own variable name, so parallel tests never race on one variable.
    std::env::set_var(name, value);
    PasswordSource::Env(name.to_string())
}

fn thumbprints(m: &Material) -> Vec<String> {
    m.certs.iter().map(|c| c.info.thumbprint_sha1.clone()).collect()
}

#[test]
fn pem_chain_with_pkcs8_key_in_one_file() {
    let f = Fixture::new(KeyKind::EcdsaP256);
    // Intermediate and root first: the identity must still put the leaf first.
    let bundle = format!(
        "Bag Attributes: some text openssl writes\n{}{}{}{}",
        f.pki.intermediate.cert_pem(),
        f.pki.root.cert_pem(),
        f.leaf.cert_pem(),
        f.leaf.key_pem()
    );
    let path = f.dir.write("bundle.pem", &bundle);
    let m = load_file(&path, &PasswordSource::None).expect("load bundle");
    assert_eq!(m.encoding, Encoding::Pem);
    assert_eq!(m.origin, path.display().to_string());
    assert_eq!(m.certs.len(), 3);
    assert_eq!(m.keys.len(), 1);
    assert_eq!(m.keys[0].format(), KeyFormat::Pkcs8);
    assert_eq!(m.keys[0].algorithm(), "EC P-256");
    assert_eq!(m.keys[0].bits(), Some(256));

    let id = load_identity(&path, None, &PasswordSource::None).expect("identity");
    let order: Vec<String> = id.chain.iter().map(|c| c.info.thumbprint_sha1.clone()).collect();
    assert_eq!(order, vec![f.leaf_thumbprint(), f.pki.intermediate.thumbprint(), f.pki.root.thumbprint()]);
    assert!(key_matches_cert(&id.key, &id.chain[0]));

    // Debug output of loaded material never shows key bytes.
    let debug = format!("{m:?} {id:?}");
    for fragment in key_fragments(&f.leaf.key_pem()) {
        assert!(!debug.contains(&fragment));
    }
    // Bytes of the private scalar (the end of an EC PKCS#8 key is the public point, which the
    // certificate legitimately shows).
    let key_der = f.leaf.key_der();
    let middle = format!("{:?}", &key_der[40..52]);
    let middle = middle.trim_start_matches('[').trim_end_matches(']');
    assert!(!debug.contains(middle), "Debug shows key bytes");
    assert!(format!("{:?}", m.keys[0]).contains("EC P-256"));
}

#[test]
fn pkcs1_rsa_key_pem_and_der() {
    let f = Fixture::new(KeyKind::Rsa2048);
    let pkcs1 = f.dir.path("rsa-pkcs1.pem");
    ossl(&["rsa", "-in", s(&f.leaf_key), "-traditional", "-out", s(&pkcs1)]);
    let text = std::fs::read_to_string(&pkcs1).expect("read");
    assert!(text.starts_with("-----BEGIN RSA PRIVATE KEY-----"), "openssl wrote {text:.40}");

    let m = load_file(&pkcs1, &PasswordSource::None).expect("PKCS#1 PEM");
    assert_eq!((m.encoding, m.keys.len(), m.certs.len()), (Encoding::Pem, 1, 0));
    let key = &m.keys[0];
    assert_eq!(key.format(), KeyFormat::Pkcs1Rsa);
    assert_eq!(key.algorithm(), "RSA");
    assert_eq!(key.bits(), Some(2048));

    let pkcs1_der = f.dir.path("rsa-pkcs1.key");
    ossl(&["rsa", "-in", s(&f.leaf_key), "-traditional", "-outform", "DER", "-out", s(&pkcs1_der)]);
    let m = load_file(&pkcs1_der, &PasswordSource::None).expect("PKCS#1 DER");
    assert_eq!((m.encoding, m.keys[0].format()), (Encoding::Der, KeyFormat::Pkcs1Rsa));

    let id = load_identity(&f.leaf_cert, Some(&pkcs1), &PasswordSource::None).expect("identity");
    assert_eq!(id.chain[0].info.thumbprint_sha1, f.leaf_thumbprint());
    assert_eq!(id.origin, format!("{} + {}", f.leaf_cert.display(), pkcs1.display()));
}

#[test]
fn sec1_ec_key_pem_and_der() {
    let f = Fixture::new(KeyKind::EcdsaP384);
    let sec1 = f.dir.path("ec.pem");
    ossl(&["ec", "-in", s(&f.leaf_key), "-out", s(&sec1)]);
    assert!(std::fs::read_to_string(&sec1).expect("read").starts_with("-----BEGIN EC PRIVATE KEY-----"));
    let m = load_file(&sec1, &PasswordSource::None).expect("SEC1 PEM");
    assert_eq!(m.keys[0].format(), KeyFormat::Sec1Ec);
    assert_eq!(m.keys[0].algorithm(), "EC P-384");

    let sec1_der = f.dir.path("ec.der");
    ossl(&["ec", "-in", s(&f.leaf_key), "-outform", "DER", "-out", s(&sec1_der)]);
    let m = load_file(&sec1_der, &PasswordSource::None).expect("SEC1 DER");
    assert_eq!((m.encoding, m.keys[0].format()), (Encoding::Der, KeyFormat::Sec1Ec));

    let id = load_identity(&f.leaf_cert, Some(&sec1_der), &PasswordSource::None).expect("identity");
    assert_eq!(id.key.algorithm(), "EC P-384");
}

#[test]
fn content_not_extension_decides() {
    let f = Fixture::new(KeyKind::EcdsaP256);
    let der_named_pem = f.dir.path("really-der.pem");
    ossl(&["x509", "-in", s(&f.leaf_cert), "-outform", "DER", "-out", s(&der_named_pem)]);
    let pem_named_cer = f.dir.write("really-pem.cer", f.leaf.cert_pem());
    let key_der = f.dir.path("key.der");
    // `openssl pkey -outform DER` writes SEC1 for EC keys; pkcs8 -topk8 gives PKCS#8.
    ossl(&["pkcs8", "-topk8", "-nocrypt", "-in", s(&f.leaf_key), "-outform", "DER", "-out", s(&key_der)]);

    let der = load_file(&der_named_pem, &PasswordSource::None).expect("DER cert");
    let pem = load_file(&pem_named_cer, &PasswordSource::None).expect("PEM cert");
    assert_eq!(der.encoding, Encoding::Der);
    assert_eq!(pem.encoding, Encoding::Pem);
    assert_eq!(thumbprints(&der), vec![f.leaf_thumbprint()]);
    assert_eq!(thumbprints(&pem), vec![f.leaf_thumbprint()]);

    let key = load_file(&key_der, &PasswordSource::None).expect("DER key");
    assert_eq!((key.encoding, key.keys[0].format(), key.certs.len()), (Encoding::Der, KeyFormat::Pkcs8, 0));
    assert!(key_matches_cert(&key.keys[0], &der.certs[0]));

    let id = load_identity(&der_named_pem, Some(&key_der), &PasswordSource::None).expect("DER pair");
    assert_eq!(id.chain.len(), 1);

    let all = load_many(&[&der_named_pem, &pem_named_cer, &key_der], &PasswordSource::None).expect("load_many");
    assert_eq!(all.iter().map(|m| m.encoding).collect::<Vec<_>>(), vec![Encoding::Der, Encoding::Pem, Encoding::Der]);
}

#[test]
fn unusual_but_real_encodings() {
    let f = Fixture::new(KeyKind::EcdsaP256);
    // PowerShell 5 `>` writes UTF-16LE with a BOM.
    let utf16: Vec<u8> =
        [0xFF, 0xFE].into_iter().chain(f.leaf.cert_pem().encode_utf16().flat_map(u16::to_le_bytes)).collect();
    let p = f.dir.write("utf16.pem", utf16);
    assert_eq!(thumbprints(&load_file(&p, &PasswordSource::None).expect("UTF-16 PEM")), vec![f.leaf_thumbprint()]);

    // Indented PEM pasted from YAML, with CRLF line ends.
    let indented: String = f.leaf.cert_pem().lines().map(|l| format!("    {l}\r\n")).collect();
    let p = f.dir.write("indented.pem", indented);
    assert_eq!(thumbprints(&load_file(&p, &PasswordSource::None).expect("indented PEM")), vec![f.leaf_thumbprint()]);

    // Two DER certificates back to back.
    let mut two = f.leaf.der.clone();
    two.extend_from_slice(&f.pki.intermediate.der);
    let p = f.dir.write("two.cer", two);
    let m = load_file(&p, &PasswordSource::None).expect("concatenated DER");
    assert_eq!(thumbprints(&m), vec![f.leaf_thumbprint(), f.pki.intermediate.thumbprint()]);

    // Bare base64 of a PFX, as `az keyvault secret show --query value -o tsv` prints it.
    use base64::Engine as _;
    let pfx = f.pfx("kv.pfx", "", &[]);
    let b64 = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&pfx).expect("read pfx"));
    let m = load_bytes(format!("{b64}\n").as_bytes(), "keyvault-secret", &PasswordSource::None).expect("base64 pfx");
    assert_eq!(m.encoding, Encoding::Pkcs12);
    assert_eq!(m.keys.len(), 1);
}

fn check_pfx(f: &Fixture, pfx: &Path, source: &PasswordSource) {
    let m = load_file(pfx, source).expect("PFX loads with the right password");
    assert_eq!(m.encoding, Encoding::Pkcs12);
    assert_eq!(thumbprints(&m), vec![f.leaf_thumbprint(), f.pki.intermediate.thumbprint()], "leaf first");
    assert_eq!(m.keys.len(), 1);
    assert_eq!(m.keys[0].format(), KeyFormat::Pkcs8);
    assert!(key_matches_cert(&m.keys[0], &m.certs[0]));

    let id = load_identity(pfx, None, source).expect("PFX identity");
    assert_eq!(id.chain[0].info.thumbprint_sha1, f.leaf_thumbprint());
    assert_eq!(id.chain.len(), 2);
}

/// The three kinds of .pfx OpenSSL 3 makes, each opened with the password from a variable and a file.
#[test]
fn pfx_three_ways_with_env_and_file_passwords() {
    let f = Fixture::new(KeyKind::EcdsaP256);
    struct Variant {
        name: &'static str,
        export: &'static [&'static str],
        info: &'static [&'static str],
        expect: &'static [&'static str],
    }
    let variants = [
        Variant { name: "default", export: &[], info: &[], expect: &["AES-256-CBC", "MAC: sha256"] },
        Variant { name: "legacy", export: &["-legacy"], info: &["-legacy"], expect: &["RC2-CBC", "MAC: sha1"] },
        Variant {
            name: "3des",
            export: &["-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1"],
            info: &[],
            expect: &["pbeWithSHA1And3-KeyTripleDES-CBC", "MAC: sha1"],
        },
    ];
    let pw_file = f.dir.write("password.txt", format!("{PASSWORD}\n"));
    let wrong_file = f.dir.write("wrong.txt", "not it\r\n");
    for Variant { name, export: export_args, info: info_args, expect: expect_info } in variants {
        let pfx = f.pfx(&format!("{name}.pfx"), PASSWORD, export_args);

        // Make sure openssl really produced the kind of file this case is about.
        let passin = format!("pass:{PASSWORD}");
        let mut info = vec!["pkcs12", "-info", "-noout", "-in", s(&pfx), "-passin", &passin];
        info.extend_from_slice(info_args);
        let info = ossl(&info);
        for needle in expect_info {
            assert!(info.contains(needle), "{name}: expected {needle} in:\n{info}");
        }

        check_pfx(&f, &pfx, &env_source(&format!("MTLS_DOCTOR_TEST_PFX_{}", name.to_uppercase()), PASSWORD));
        check_pfx(&f, &pfx, &PasswordSource::File(pw_file.clone()));

        let wrong = input_error(
            load_file(&pfx, &env_source(&format!("MTLS_DOCTOR_TEST_WRONG_{}", name.to_uppercase()), "hunter2")),
            &pfx,
            &["hunter2", PASSWORD],
        );
        assert!(wrong.contains("wrong password for PKCS#12 file (or the file is damaged)"), "{name}: {wrong}");
        let wrong = input_error(load_file(&pfx, &PasswordSource::File(wrong_file.clone())), &pfx, &["not it"]);
        assert!(wrong.contains("wrong password"), "{name}: {wrong}");

        let none = input_error(load_file(&pfx, &PasswordSource::None), &pfx, &[PASSWORD]);
        assert!(none.contains("password") && none.contains("none was given"), "{name}: {none}");
    }
}

#[test]
fn pfx_without_mac() {
    let f = Fixture::new(KeyKind::EcdsaP256);
    let pfx = f.pfx("nomac.pfx", PASSWORD, &["-nomac"]);
    assert!(
        !ossl(&["pkcs12", "-info", "-noout", "-in", s(&pfx), "-passin", &format!("pass:{PASSWORD}")]).contains("MAC:")
    );
    check_pfx(&f, &pfx, &env_source("MTLS_DOCTOR_TEST_NOMAC", PASSWORD));
    let wrong =
        input_error(load_file(&pfx, &env_source("MTLS_DOCTOR_TEST_NOMAC_WRONG", "hunter2")), &pfx, &["hunter2"]);
    assert!(wrong.contains("wrong password for PKCS#12 file"), "{wrong}");
}

#[test]
fn empty_password_pfx_opens_without_asking() {
    let f = Fixture::new(KeyKind::Rsa2048);
    let pfx = f.pfx("empty.pfx", "", &[]);
    // A source that fails if consulted proves the empty password was tried first.
    let never = PasswordSource::Env("MTLS_DOCTOR_TEST_NEVER_SET_VARIABLE".into());
    check_pfx(&f, &pfx, &never);
    let legacy = f.pfx("empty-legacy.pfx", "", &["-legacy"]);
    check_pfx(&f, &legacy, &never);
    assert_eq!(load_file(&pfx, &never).expect("rsa pfx").keys[0].algorithm(), "RSA");
}

#[test]
fn password_source_errors() {
    let f = Fixture::new(KeyKind::EcdsaP256);
    let pfx = f.pfx("pw.pfx", PASSWORD, &[]);
    let unset =
        input_error(load_file(&pfx, &PasswordSource::Env("MTLS_DOCTOR_TEST_UNSET_PW".into())), &pfx, &[PASSWORD]);
    assert!(unset.contains("MTLS_DOCTOR_TEST_UNSET_PW is not set"), "{unset}");

    let missing = f.dir.path("no-such-password.txt");
    let err = load_file(&pfx, &PasswordSource::File(missing.clone())).expect_err("missing password file");
    let msg = err.to_string();
    assert!(msg.contains(&missing.display().to_string()) && msg.contains(&pfx.display().to_string()), "{msg}");

    use std::io::IsTerminal as _;
    if !std::io::stdin().is_terminal() {
        let prompt = input_error(load_file(&pfx, &PasswordSource::Prompt), &pfx, &[PASSWORD]);
        assert!(prompt.contains("not a terminal"), "{prompt}");
    } else {
        eprintln!("stdin is a terminal: the no-terminal prompt refusal is not exercised");
    }
}

#[test]
fn file_level_errors() {
    let f = Fixture::new(KeyKind::EcdsaP256);
    let none = PasswordSource::None;

    let missing = f.dir.path("missing.pem");
    assert!(input_error(load_file(&missing, &none), &missing, &[]).contains("file not found"));

    let empty = f.dir.write("empty.pem", "");
    assert!(input_error(load_file(&empty, &none), &empty, &[]).contains("empty"));
    let blank = f.dir.write("blank.cer", "\n \r\n");
    assert!(input_error(load_file(&blank, &none), &blank, &[]).contains("empty"));

    let text = f.dir.write("notes.txt", "Thumbprint: AB CD EF\nAsk the APIM team.\n");
    let msg = input_error(load_file(&text, &none), &text, &[]);
    assert!(msg.contains("not a certificate, private key or PKCS#12 file"), "{msg}");

    let binary = f.dir.write("random.bin", [0x89u8, b'P', b'N', b'G', 0, 1, 2, 3, 0xFF]);
    let msg = input_error(load_file(&binary, &none), &binary, &[]);
    assert!(msg.contains("not a certificate, private key or PKCS#12 file"), "{msg}");

    let jks = f.dir.write("store.jks", [0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2]);
    assert!(input_error(load_file(&jks, &none), &jks, &[]).contains("keytool"));

    let dir_path = f.dir.tmp.path().to_path_buf();
    assert!(input_error(load_file(&dir_path, &none), &dir_path, &[]).contains("directory"));

    let csr = f.dir.path("req.csr");
    ossl(&["req", "-new", "-key", s(&f.leaf_key), "-subj", "/CN=csr", "-out", s(&csr)]);
    assert!(input_error(load_file(&csr, &none), &csr, &[]).contains("signing request"));

    let chain = f.dir.write("chain.pem", format!("{}{}", f.leaf.cert_pem(), f.pki.intermediate.cert_pem()));
    let p7b = f.dir.path("chain.p7b");
    ossl(&["crl2pkcs7", "-nocrl", "-certfile", s(&chain), "-out", s(&p7b)]);
    assert!(input_error(load_file(&p7b, &none), &p7b, &[]).contains("openssl pkcs7 -print_certs"));
    let p7b_der = f.dir.path("chain-der.p7b");
    ossl(&["crl2pkcs7", "-nocrl", "-certfile", s(&chain), "-outform", "DER", "-out", s(&p7b_der)]);
    assert!(input_error(load_file(&p7b_der, &none), &p7b_der, &[]).contains("-inform DER"));
}

#[test]
fn truncated_files() {
    let f = Fixture::new(KeyKind::EcdsaP256);
    let none = PasswordSource::None;
    let key_secrets = key_fragments(&f.leaf.key_pem());
    let key_secrets: Vec<&str> = key_secrets.iter().map(String::as_str).collect();

    let cert_pem = f.leaf.cert_pem();
    let cut = f.dir.write("cut.pem", &cert_pem[..cert_pem.len() / 2]);
    assert!(input_error(load_file(&cut, &none), &cut, &[]).contains("truncated"));

    // A key cut mid-block, followed by a complete certificate (two files pasted together).
    let key_pem = f.leaf.key_pem();
    let pasted = f.dir.write("pasted.pem", format!("{}\n{cert_pem}", &key_pem[..key_pem.len() / 2]));
    assert!(input_error(load_file(&pasted, &none), &pasted, &key_secrets).contains("truncated"));

    // Lines lost from the middle of a block while the END line survived.
    let lines: Vec<&str> = cert_pem.lines().collect();
    let holed = [&lines[..3], &lines[lines.len() - 2..]].concat().join("\n");
    let holed = f.dir.write("holed.pem", holed);
    assert!(input_error(load_file(&holed, &none), &holed, &[]).contains("truncated"));

    let der = f.dir.write("cut.cer", &f.leaf.der[..f.leaf.der.len() - 40]);
    let msg = input_error(load_file(&der, &none), &der, &[]);
    assert!(msg.contains("truncated") && msg.contains("bytes present"), "{msg}");

    let key_der = f.leaf.key_der();
    let key_cut = f.dir.write("cut.key", &key_der[..key_der.len() - 10]);
    assert!(input_error(load_file(&key_cut, &none), &key_cut, &key_secrets).contains("truncated"));

    let pfx = f.pfx("whole.pfx", PASSWORD, &[]);
    let bytes = std::fs::read(&pfx).expect("read pfx");
    let pfx_cut = f.dir.write("cut.pfx", &bytes[..bytes.len() * 2 / 3]);
    let source = env_source("MTLS_DOCTOR_TEST_TRUNCATED", PASSWORD);
    assert!(input_error(load_file(&pfx_cut, &source), &pfx_cut, &[PASSWORD]).contains("truncated"));
}

#[test]
fn encrypted_keys_are_refused_with_a_way_out() {
    let f = Fixture::new(KeyKind::Rsa2048);
    let none = PasswordSource::None;
    let secret = "enc-pass-123";
    let passout = format!("pass:{secret}");

    let pkcs8 = f.dir.path("enc-pkcs8.pem");
    ossl(&["pkey", "-in", s(&f.leaf_key), "-aes256", "-passout", &passout, "-out", s(&pkcs8)]);
    let enc_text = std::fs::read_to_string(&pkcs8).expect("read");
    assert!(enc_text.contains("BEGIN ENCRYPTED PRIVATE KEY"));
    let fragments = key_fragments(&enc_text);
    let mut secrets: Vec<&str> = fragments.iter().map(String::as_str).collect();
    secrets.push(secret);
    let msg = input_error(load_file(&pkcs8, &none), &pkcs8, &secrets);
    assert!(msg.contains("encrypted") && msg.contains("openssl pkey -in"), "{msg}");

    let legacy = f.dir.path("enc-legacy.pem");
    ossl(&["rsa", "-in", s(&f.leaf_key), "-traditional", "-aes256", "-passout", &passout, "-out", s(&legacy)]);
    let legacy_text = std::fs::read_to_string(&legacy).expect("read");
    assert!(legacy_text.contains("Proc-Type: 4,ENCRYPTED"), "{legacy_text:.80}");
    let msg = input_error(load_file(&legacy, &none), &legacy, &[secret]);
    assert!(msg.contains("encrypted") && msg.contains("Proc-Type"), "{msg}");

    // The same, bundled after a certificate: the certificate must not hide the refusal.
    let bundle = f.dir.write("cert-and-enc.pem", format!("{}{legacy_text}", f.leaf.cert_pem()));
    assert!(input_error(load_file(&bundle, &none), &bundle, &[secret]).contains("encrypted"));

    let der = f.dir.path("enc.p8");
    ossl(&[
        "pkcs8",
        "-topk8",
        "-in",
        s(&f.leaf_key),
        "-v2",
        "aes256",
        "-passout",
        &passout,
        "-outform",
        "DER",
        "-out",
        s(&der),
    ]);
    let msg = input_error(load_file(&der, &none), &der, &[secret]);
    assert!(msg.contains("encrypted") && msg.contains("-inform DER"), "{msg}");
}

#[test]
fn unsupported_key_types() {
    let dir = Dir::new();
    let none = PasswordSource::None;

    let params = dir.path("dsa-params.pem");
    ossl(&["genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:1024", "-out", s(&params)]);
    let dsa = dir.path("dsa.pem");
    ossl(&["genpkey", "-paramfile", s(&params), "-out", s(&dsa)]);
    let msg = input_error(
        load_file(&dsa, &none),
        &dsa,
        &key_fragments(&std::fs::read_to_string(&dsa).expect("r")).iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(msg.contains("unsupported private key type: DSA"), "{msg}");

    let dsa_trad = dir.path("dsa-trad.pem");
    ossl(&["dsa", "-in", s(&dsa), "-out", s(&dsa_trad)]);
    assert!(std::fs::read_to_string(&dsa_trad).expect("r").contains("BEGIN DSA PRIVATE KEY"));
    assert!(input_error(load_file(&dsa_trad, &none), &dsa_trad, &[]).contains("unsupported private key type: DSA"));

    let dsa_der = dir.path("dsa-trad.der");
    ossl(&["dsa", "-in", s(&dsa), "-outform", "DER", "-out", s(&dsa_der)]);
    assert!(input_error(load_file(&dsa_der, &none), &dsa_der, &[]).contains("DSA"));

    let ed448 = dir.path("ed448.pem");
    ossl(&["genpkey", "-algorithm", "ed448", "-out", s(&ed448)]);
    assert!(input_error(load_file(&ed448, &none), &ed448, &[]).contains("unsupported private key type: Ed448"));

    let k256 = dir.path("secp256k1.pem");
    ossl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1", "-out", s(&k256)]);
    assert!(input_error(load_file(&k256, &none), &k256, &[]).contains("EC secp256k1"));

    let small = dir.path("rsa1024.pem");
    ossl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", s(&small)]);
    let msg = input_error(load_file(&small, &none), &small, &[]);
    assert!(msg.contains("1024 bits") && msg.contains("2048 to 8192"), "{msg}");
}

#[test]
fn identity_errors() {
    let f = Fixture::new(KeyKind::EcdsaP256);
    let none = PasswordSource::None;

    // A .pfx exported without its key.
    let nokeys = f.pfx("nokey.pfx", PASSWORD, &["-nokeys"]);
    let source = env_source("MTLS_DOCTOR_TEST_NOKEYS", PASSWORD);
    let msg = input_error(load_identity(&nokeys, None, &source), &nokeys, &[PASSWORD]);
    assert!(msg.contains("has no private key (a client certificate needs one"), "{msg}");

    // A certificate alone.
    let msg = input_error(load_identity(&f.leaf_cert, None, &none), &f.leaf_cert, &[]);
    assert!(msg.contains("has no private key (a client certificate needs one"), "{msg}");

    // A key file that holds only a certificate.
    let msg = input_error(load_identity(&f.leaf_cert, Some(&f.intermediate), &none), &f.intermediate, &[]);
    assert!(msg.contains("has no private key"), "{msg}");

    // A key from another certificate.
    let other = f.pki.leaf(&Spec::leaf("other.example"));
    let other_key = f.dir.write("other.key", other.key_pem());
    let secrets = key_fragments(&other.key_pem());
    let msg = input_error(
        load_identity(&f.leaf_cert, Some(&other_key), &none),
        &f.leaf_cert,
        &secrets.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(msg.contains("no certificate matches the private key") && msg.contains("CN=client.example"), "{msg}");
}

#[test]
fn key_matches_cert_true_and_false() {
    let f = Fixture::new(KeyKind::EcdsaP256);
    let none = PasswordSource::None;
    let key = load_file(&f.leaf_key, &none).expect("key").keys.remove(0);
    let cert = load_file(&f.leaf_cert, &none).expect("cert").certs.remove(0);
    let intermediate = load_file(&f.intermediate, &none).expect("intermediate").certs.remove(0);
    assert!(key_matches_cert(&key, &cert));
    assert!(!key_matches_cert(&key, &intermediate));

    // Same algorithm and curve, different key: still no match.
    let twin = f.pki.leaf(&Spec::leaf("client.example").client_only());
    let twin_cert = load_file(&f.dir.write("twin.pem", twin.cert_pem()), &none).expect("twin").certs.remove(0);
    assert!(!key_matches_cert(&key, &twin_cert));

    // clone_key keeps matching.
    assert!(key_matches_cert(&key.clone_key(), &cert));
}

#[test]
fn signature_schemes_per_key_type() {
    let dir = Dir::new();
    let none = PasswordSource::None;
    let load_key = |kind: KeyKind, name: &str| {
        let issued = mtls_doctor::pki::Issued::self_signed(&Spec::leaf("k").key(kind)).expect("issue");
        load_file(&dir.write(name, issued.key_pem()), &none).expect("key").keys.remove(0)
    };

    let ec = signature_schemes(&load_key(KeyKind::EcdsaP256, "ec.key"));
    assert_eq!(ec, vec![SignatureScheme::ECDSA_NISTP256_SHA256]);

    let rsa = signature_schemes(&load_key(KeyKind::Rsa2048, "rsa.key"));
    for want in [SignatureScheme::RSA_PSS_SHA256, SignatureScheme::RSA_PKCS1_SHA256, SignatureScheme::RSA_PSS_SHA512] {
        assert!(rsa.contains(&want), "{want:?} missing from {rsa:?}");
    }
    assert!(!rsa.contains(&SignatureScheme::ECDSA_NISTP256_SHA256));

    let ed = load_key(KeyKind::Ed25519, "ed.key");
    assert_eq!(ed.algorithm(), "Ed25519");
    assert_eq!(signature_schemes(&ed), vec![SignatureScheme::ED25519]);
}

/// Damaged files of every kind give an error or a result, never a panic.
#[test]
fn damaged_files_never_panic() {
    let f = Fixture::new(KeyKind::EcdsaP256);
    let pfx = std::fs::read(f.pfx("fuzz.pfx", "", &[])).expect("read pfx");
    let pem = format!("{}{}", f.leaf.cert_pem(), f.leaf.key_pem()).into_bytes();
    let der_cert = f.leaf.der.clone();
    let der_key = f.leaf.key_der();
    let none = PasswordSource::None;
    let mut state: u32 = 0x9E37_79B9;
    let mut next = move || {
        // xorshift: deterministic, so a failure reproduces.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as usize
    };
    for original in [&pfx, &pem, &der_cert, &der_key] {
        for round in 0..60 {
            let mut damaged = original.clone();
            let at = next() % damaged.len();
            match round % 3 {
                0 => damaged[at] ^= 1 << (next() % 8),
                1 => damaged.truncate(at.max(1)),
                _ => damaged[at] = (next() % 256) as u8,
            }
            let _ = load_bytes(&damaged, "damaged", &none);
        }
    }
    // A device that never ends is refused by size, not read forever.
    let zero = Path::new("/dev/zero");
    if zero.exists() {
        assert!(input_error(load_file(zero, &none), zero, &[])
            .contains("is larger than the 16 MiB this tool reads for certificate or key material"));
    }
}
