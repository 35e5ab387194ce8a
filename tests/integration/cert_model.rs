//! The certificate model against real certificates made by the openssl CLI: .NET name strings
//! (what `context.Request.Certificate.Subject`/`Issuer` return), thumbprint and serial as openssl
//! prints them.

use std::process::Command;

use mtls_doctor::cert::{CertInfo, Certificate};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use crate::util::{run, stdout, Dir};

/// Make a self-signed certificate with `openssl req -subj` and return (model, path).
fn openssl_cert(dir: &Dir, name: &str, subj: &str) -> (CertInfo, std::path::PathBuf) {
    let cert = dir.path(&format!("{name}.pem"));
    let key = dir.path(&format!("{name}.key"));
    let o = run(Command::new("openssl").args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-multivalue-rdn",
        "-utf8",
        "-subj",
        subj,
        "-keyout",
        key.to_str().expect("utf8 path"),
        "-out",
        cert.to_str().expect("utf8 path"),
    ]));
    assert!(o.status.success(), "openssl req failed: {}", String::from_utf8_lossy(&o.stderr));
    let der = CertificateDer::from_pem_file(&cert).expect("pem");
    (Certificate::from_der(der.to_vec(), name).expect("parse").info, cert)
}

#[test]
fn dotnet_distinguished_names_match_expected_strings() {
    let dir = Dir::new();
    // (openssl -subj, the string .NET's X500DistinguishedName.Name gives for it)
    let vectors: &[(&str, &str)] = &[
        ("/C=US/O=Contoso/CN=client", "CN=client, O=Contoso, C=US"),
        ("/O=Org/OU=Zed+CN=alpha", "OU=Zed + CN=alpha, O=Org"),
        ("/O=Contoso, Inc./CN=api", "CN=api, O=\"Contoso, Inc.\""),
        ("/CN=say \"hi\"", "CN=\"say \"\"hi\"\"\""),
        ("/CN= lead", "CN=\" lead\""),
        ("/CN=#hash", "CN=\"#hash\""),
        ("/O=Zürich AG/CN=Müller Łukasz", "CN=Müller Łukasz, O=Zürich AG"),
        ("/CN=u/emailAddress=ops@contoso.com", "E=ops@contoso.com, CN=u"),
        ("/C=US/ST=Washington/L=Redmond/CN=x", "CN=x, L=Redmond, S=Washington, C=US"),
        ("/DC=com/DC=contoso/CN=svc", "CN=svc, DC=contoso, DC=com"),
        (
            "/businessCategory=Private Organization/jurisdictionC=US/CN=x",
            "CN=x, OID.1.3.6.1.4.1.311.60.2.1.3=US, OID.2.5.4.15=Private Organization",
        ),
        ("/CN=a\\+b", "CN=\"a+b\""),
        ("/CN=a=b;c", "CN=\"a=b;c\""),
        ("/CN=<tag>", "CN=\"<tag>\""),
        (
            "/street=1 Way/title=Eng/GN=Ann/SN=Lee/serialNumber=42/initials=AL/CN=x",
            "CN=x, I=AL, SERIALNUMBER=42, SN=Lee, G=Ann, T=Eng, STREET=1 Way",
        ),
        ("/O=Plain Org/OU=Unit/CN=trailing ", "CN=\"trailing \", OU=Unit, O=Plain Org"),
    ];
    for (i, (subj, expected)) in vectors.iter().enumerate() {
        let (info, _) = openssl_cert(&dir, &format!("dn{i}"), subj);
        assert_eq!(&info.subject, expected, "subject for -subj {subj:?}");
        // Self-signed: the issuer string is the same name.
        assert_eq!(&info.issuer, expected, "issuer for -subj {subj:?}");
        assert!(info.self_signed, "openssl req -x509 makes a self-signed certificate");
    }
}

#[test]
fn rfc4514_form_matches_openssl_rfc2253() {
    let dir = Dir::new();
    let (info, path) = openssl_cert(&dir, "rfc", "/C=US/ST=Washington/O=Contoso, Inc./CN=api.contoso.com");
    let o = run(Command::new("openssl").args(["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in"]).arg(&path));
    let openssl_subject = stdout(&o).trim().trim_start_matches("subject=").to_string();
    assert_eq!(info.subject_rfc4514, openssl_subject);
    assert_eq!(info.subject, "CN=api.contoso.com, O=\"Contoso, Inc.\", S=Washington, C=US");
}

#[test]
fn thumbprint_and_serial_match_openssl() {
    let dir = Dir::new();
    for i in 0..4 {
        let (info, path) = openssl_cert(&dir, &format!("tp{i}"), &format!("/CN=thumb{i}"));
        let o =
            run(Command::new("openssl").args(["x509", "-noout", "-fingerprint", "-sha1", "-serial", "-in"]).arg(&path));
        let text = stdout(&o);
        let fp = text
            .lines()
            .find_map(|l| l.strip_prefix("sha1 Fingerprint=").or_else(|| l.strip_prefix("SHA1 Fingerprint=")))
            .expect("fingerprint line")
            .replace(':', "");
        let serial = text.lines().find_map(|l| l.strip_prefix("serial=")).expect("serial line");
        assert_eq!(info.thumbprint_sha1, fp);
        assert_eq!(info.thumbprint_sha1.len(), 40);
        assert!(info.thumbprint_sha1.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
        // openssl drops a leading zero byte that DER adds to keep the number positive; .NET keeps
        // the encoded bytes. Compare the number, and check .NET's form is the encoded hex.
        assert_eq!(info.serial.trim_start_matches("00"), serial.trim_start_matches("00"));
        let o = run(Command::new("openssl").args(["x509", "-noout", "-fingerprint", "-sha256", "-in"]).arg(&path));
        let fp256 = stdout(&o).trim().split('=').nth(1).expect("sha256").replace(':', "");
        assert_eq!(info.thumbprint_sha256, fp256);
    }
}

#[test]
fn model_fields_from_generated_chain() {
    use mtls_doctor::pki::{Issued, KeyKind, Spec};
    let root = Issued::self_signed(&Spec::ca("Model Root")).expect("root");
    let leaf = root
        .issue(
            &Spec::leaf("client.contoso.com")
                .sans(&["client.contoso.com", "10.0.0.1"])
                .client_only()
                .key(KeyKind::Rsa2048),
        )
        .expect("leaf");
    let info = Certificate::from_der(leaf.der.clone(), "leaf").expect("parse").info;
    assert_eq!(info.subject, "CN=client.contoso.com, O=mtls-doctor lab");
    assert_eq!(info.issuer, "CN=Model Root, O=mtls-doctor lab");
    assert_eq!(info.sans, vec!["DNS:client.contoso.com".to_string(), "IP:10.0.0.1".to_string()]);
    assert_eq!(info.eku, Some(vec!["clientAuth".to_string()]));
    assert_eq!(info.key.algorithm, "RSA");
    assert_eq!(info.key.bits, Some(2048));
    assert_eq!(info.signature_algorithm, "ecdsa-with-SHA256");
    assert!(!info.is_ca);
    assert!(!info.self_signed);
    assert!((363..=366).contains(&info.days_left), "days_left {}", info.days_left);
    assert!(info.key_usage.contains(&"digitalSignature".to_string()));
    let root_info = Certificate::from_der(root.der.clone(), "root").expect("parse").info;
    assert!(root_info.is_ca && root_info.self_signed);
    assert_eq!(info.aki, root_info.ski, "the leaf's AKI names the root's SKI");
    assert!(info.pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert_eq!(info.thumbprint_sha1, leaf.thumbprint());
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let err = Certificate::from_der(b"not a certificate".to_vec(), "junk.cer").expect_err("must fail");
    let msg = err.to_string();
    assert!(msg.starts_with("junk.cer: "), "{msg}");
    assert!(!msg.contains('\n'));
}
