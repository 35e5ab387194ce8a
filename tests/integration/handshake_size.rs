//! Handshake messages over rustls' 64 KiB limit (issue 15): a 200-certificate chain, a 1 MB
//! certificate and a CertificateRequest whose CA list is over 64 KiB are valid TLS, reported as a
//! size limit that names the size (when the wire shows it: TLS 1.2 sends them in clear), the limit
//! and that most clients have a similar one, never as "not TLS or corrupt".

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mtls_doctor::pki::{Issued, Spec};

use crate::peers::s_server;
use crate::util::{bin, run, stderr, stdout, Dir, Pki};

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf8 path")
}

/// Probe `127.0.0.1:port` (extra flags added), bounded in time; stdout and stderr together.
fn probe(port: u16, extra: &[&str]) -> String {
    let start = Instant::now();
    let out = run(bin().args(["probe", &format!("127.0.0.1:{port}"), "--no-compare", "--timeout", "20"]).args(extra));
    assert!(start.elapsed() < Duration::from_secs(40), "took {:?}", start.elapsed());
    format!("{}{}", stdout(&out), stderr(&out))
}

/// The words every too-large report carries, and the size named (when `size` says so).
fn assert_size_limit(text: &str, size: Option<(&str, u32)>) {
    assert!(!text.contains("not TLS or corrupt"), "{text}");
    assert!(text.contains("larger than the 64 KiB (65535-byte) limit"), "{text}");
    assert!(text.contains("most TLS clients have a similar limit"), "{text}");
    match size {
        Some((what, at_least)) => {
            let tail = text.split(&format!("its {what}, ")).nth(1).unwrap_or_else(|| panic!("no size: {text}"));
            let bytes: u32 = tail.split(' ').next().and_then(|n| n.parse().ok()).expect("a size in bytes");
            assert!(bytes >= at_least, "{bytes} bytes named: {text}");
        }
        None => assert!(text.contains("over 65535 bytes; the exact size is encrypted in TLS 1.3"), "{text}"),
    }
}

/// A server certificate of about 1 MB: an opaque private extension of 1 MiB (openssl req).
fn megabyte_certificate(dir: &Dir) -> (PathBuf, PathBuf) {
    let config = format!(
        "[req]\ndistinguished_name=dn\nx509_extensions=ext\nprompt=no\n[dn]\nCN=localhost\n[ext]\n\
         subjectAltName=DNS:localhost\n1.3.6.1.4.1.55555.1=DER:04830FFFFF{}\n",
        "00".repeat(0xFFFFF)
    );
    let cnf = dir.write("big.cnf", config);
    let (cert, key) = (dir.path("big.pem"), dir.path("big.key"));
    let (ok, out) = crate::util::openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-config",
        path_str(&cnf),
        "-keyout",
        path_str(&key),
        "-out",
        path_str(&cert),
    ]);
    assert!(ok, "openssl req: {out}");
    assert!(std::fs::metadata(&cert).expect("cert").len() > 1_000_000);
    (cert, key)
}

#[test]
fn a_one_megabyte_certificate_is_a_size_limit_with_its_size() {
    let dir = Dir::new();
    let (cert, key) = megabyte_certificate(&dir);
    let server = s_server(&cert, &key, &["-www"]);
    assert_size_limit(&probe(server.port, &[]), None);
    assert_size_limit(&probe(server.port, &["--tls", "1.2"]), Some(("Certificate message", 1 << 20)));
}

#[test]
fn a_200_certificate_chain_over_tls_1_2_names_its_size() {
    let dir = Dir::new();
    let pki = Pki::new("Long");
    let (cert, key) = dir.write_issued("server", &pki.leaf(&Spec::leaf("localhost")));
    let mut chain = pki.intermediate.cert_pem();
    for i in 0..200 {
        chain.push_str(&Issued::self_signed(&Spec::ca(&format!("Chain filler CA {i:03}"))).expect("ca").cert_pem());
    }
    let chain = dir.write("chain.pem", chain);
    let server = s_server(&cert, &key, &["-www", "-cert_chain", path_str(&chain)]);
    assert_size_limit(&probe(server.port, &["--tls", "1.2"]), Some(("Certificate message", 65_536)));
}

/// The DER length of a certificate's subject: what it adds to a CertificateRequest (plus 2).
fn subject_len(ca: &Issued) -> usize {
    let der = ca.cert_der();
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).expect("parse");
    cert.subject().as_raw().len()
}

/// CA certificates whose subjects make a CA-name list of exactly `total` bytes (2-byte length per
/// name, as TLS encodes them).
fn ca_list_of(total: usize) -> String {
    let filler =
        |i: usize| Issued::self_signed(&Spec::ca(&format!("Acceptable client CA {i:04} with a long enough name")));
    let one = |cn: &str| Issued::self_signed(&Spec::ca(cn)).expect("ca");
    let f = 2 + subject_len(&filler(0).expect("ca"));
    // A name of k characters takes d0 + k bytes (short DER lengths throughout).
    let d0 = subject_len(&one("x")) - 1;
    let (mut pem, mut left, mut i) = (String::new(), total, 0);
    while left >= f + 2 * (2 + d0 + 40) {
        pem.push_str(&filler(i).expect("ca").cert_pem());
        left -= f;
        i += 1;
    }
    // Two last names share what is left: between 2 x 40 and 2 x 40 + f characters.
    let chars = left - 2 * (2 + d0);
    for (n, k) in [(0, chars / 2), (1, chars - chars / 2)] {
        let ca = one(&format!("{n}{}", "L".repeat(k - 1)));
        assert_eq!(subject_len(&ca), d0 + k);
        pem.push_str(&ca.cert_pem());
    }
    pem
}

#[test]
fn a_certificate_request_over_64_kib_is_a_size_limit_with_its_size() {
    let dir = Dir::new();
    let pki = Pki::new("Many CAs");
    let (cert, key) = dir.write_issued("server", &pki.leaf(&Spec::leaf("localhost")));
    // TLS itself caps the CA-name list at 65535 bytes, and OpenSSL sends no longer one; a list of
    // 65530 bytes with the certificate types and signature algorithms around it makes a TLS 1.2
    // CertificateRequest just over 64 KiB. (In TLS 1.3 the list is an extension inside a 65535-
    // byte extensions block, so such a message cannot be built; OpenSSL fails with internal_error.)
    let cas = dir.write("cas.pem", ca_list_of(65_530));
    let server = s_server(&cert, &key, &["-www", "-tls1_2", "-Verify", "1", "-CAfile", path_str(&cas)]);
    assert_size_limit(&probe(server.port, &[]), Some(("CertificateRequest", 65_536)));
}
