//! Subject alternative names of type directoryName, shown as .NET shows a distinguished name
//! (issue 12): the DirName is an X.501 Name like Subject, so it goes through the same decoder
//! (src/cert/dn.rs) and reads as `X500DistinguishedName.Name` would: RDNs last-encoded first, ", "
//! between them, .NET's short names (S for stateOrProvinceName, PostalCode from OidLookup's table),
//! and a value with a comma double-quoted (dotnet/runtime X500NameEncoder.ManagedDecode.cs).

use mtls_doctor::cert::CertInfo;
use time::OffsetDateTime;

use crate::util::{openssl, Dir};

fn cert_with_dirname(dir: &Dir) -> std::path::PathBuf {
    let conf = dir.write(
        "san.cnf",
        "[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = ext\n[dn]\nCN = device 1\n\
         [ext]\nsubjectAltName = DNS:device1.example, dirName:dir_sect\n\
         [dir_sect]\nC = US\nST = Washington\nO = Contoso, Inc.\nCN = device 1\npostalCode = 98052\n",
    );
    let (cert, key) = (dir.path("dirname.pem"), dir.path("dirname.key"));
    let args =
        ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30", "-config"];
    let mut all: Vec<&str> = args.to_vec();
    let (conf_s, cert_s, key_s) = (conf.display().to_string(), cert.display().to_string(), key.display().to_string());
    all.extend([conf_s.as_str(), "-keyout", key_s.as_str(), "-out", cert_s.as_str()]);
    let (ok, out) = openssl(&all);
    assert!(ok, "{out}");
    cert
}

#[test]
fn san_dirname_reads_as_dotnet_reads_a_distinguished_name() {
    let dir = Dir::new();
    let cert = cert_with_dirname(&dir);
    // OpenSSL's own view of the same SAN, in encoding order: the vector is what we think it is.
    let (ok, text) = openssl(&["x509", "-noout", "-ext", "subjectAltName", "-in", &cert.display().to_string()]);
    assert!(ok, "{text}");
    assert!(text.contains("DirName:/C=US/ST=Washington/O=Contoso, Inc./CN=device 1/postalCode=98052"), "{text}");

    let pem = std::fs::read_to_string(&cert).expect("pem");
    let der = pem_der(&pem);
    let info = CertInfo::from_der(&der, OffsetDateTime::now_utc()).expect("certificate");
    assert_eq!(
        info.sans,
        vec![
            "DNS:device1.example".to_string(),
            "DirName:PostalCode=98052, CN=device 1, O=\"Contoso, Inc.\", S=Washington, C=US".to_string(),
        ]
    );
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).expect("base64")
}
