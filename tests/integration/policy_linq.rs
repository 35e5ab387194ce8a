//! LINQ over `context.Request.Certificate.Extensions` and the extension classes .NET makes for
//! key usage, enhanced key usage and basic constraints, in the shapes deployed policies check
//! "is this a client-authentication certificate, not a CA". Certificates are made at test time with
//! the openssl CLI (one self-signed certificate per case, into a temporary directory).

use mtls_doctor::cert::{CertInfo, Certificate};
use mtls_doctor::policy::{evaluate, parse_policy, PolicyInput, PolicyOutcome};

use crate::util::{openssl, Dir};

fn made(exts: &[&str]) -> CertInfo {
    make(exts, false)
}

/// Only `exts` (and the subject key identifier openssl always adds): no basic constraints from the
/// default configuration's v3_ca section.
fn made_bare(exts: &[&str]) -> CertInfo {
    make(exts, true)
}

fn make(exts: &[&str], bare: bool) -> CertInfo {
    let dir = Dir::new();
    let (key, pem, der) = (dir.path("k.pem"), dir.path("c.pem"), dir.path("c.der"));
    let config = dir.write("min.cnf", "[req]\ndistinguished_name=dn\n[dn]\n");
    let config = config.to_string_lossy().to_string();
    let mut args = vec!["req"];
    if bare {
        args.extend(["-config", config.as_str()]);
    }
    args.extend([
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "30",
        "-subj",
        "/CN=linq",
    ]);
    for e in exts {
        args.extend(["-addext", e]);
    }
    let (key, pem, der) = (key.to_string_lossy(), pem.to_string_lossy(), der.to_string_lossy());
    args.extend(["-keyout", &key, "-out", &pem]);
    let (ok, out) = openssl(&args);
    assert!(ok, "openssl req: {out}");
    let (ok, out) = openssl(&["x509", "-in", &pem, "-outform", "DER", "-out", &der]);
    assert!(ok, "openssl x509: {out}");
    Certificate::from_der(std::fs::read(der.as_ref()).expect("read der"), "test certificate").expect("parse").info
}

fn run(condition: &str, cert: &CertInfo) -> PolicyOutcome {
    let xml = format!(
        r#"<policies><inbound><base />
  <choose>
    <when condition="{condition}">
      <return-response><set-status code="403" reason="Invalid client certificate" /></return-response>
    </when>
  </choose>
</inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"#
    );
    let policy = parse_policy(&xml, "policy.xml").expect("policy parses");
    let input = PolicyInput {
        cert: Some(cert),
        verify_ok: Some(true),
        verify_no_revocation_ok: Some(true),
        ..Default::default()
    };
    evaluate(&policy, &input)
}

fn status(condition: &str, cert: &CertInfo) -> u16 {
    let out = run(condition, cert);
    assert!(out.determined, "{condition}: {:?}", out.unevaluable);
    out.status
}

/// The usual "client authentication EKU required" check, as policies write it.
const NO_CLIENT_AUTH: &str = r#"@(!context.Request.Certificate.Extensions.OfType&lt;X509EnhancedKeyUsageExtension&gt;().Any(e =&gt; e.EnhancedKeyUsages.Cast&lt;Oid&gt;().Any(o =&gt; o.Value == "1.3.6.1.5.5.7.3.2")))"#;

#[test]
fn enhanced_key_usage_through_of_type_and_cast() {
    let client = made(&["extendedKeyUsage=serverAuth,clientAuth"]);
    let server = made(&["extendedKeyUsage=serverAuth"]);
    let none = made(&["keyUsage=digitalSignature"]);
    assert_eq!(status(NO_CLIENT_AUTH, &client), 200);
    assert_eq!(status(NO_CLIENT_AUTH, &server), 403);
    assert_eq!(status(NO_CLIENT_AUTH, &none), 403, "no EKU extension at all: OfType gives nothing");
    // In encoded order, and Count / [i] on the OidCollection.
    let second = r#"@(((X509EnhancedKeyUsageExtension)context.Request.Certificate.Extensions["2.5.29.37"]).EnhancedKeyUsages[1].Value == "1.3.6.1.5.5.7.3.2")"#;
    assert_eq!(status(second, &client), 403);
    let count = r#"@((context.Request.Certificate.Extensions["2.5.29.37"] as X509EnhancedKeyUsageExtension).EnhancedKeyUsages.Count == 2)"#;
    assert_eq!(status(count, &client), 403);
    // `as` gives null for another class; reading a member of that null throws.
    let wrong = r#"@((context.Request.Certificate.Extensions["2.5.29.15"] as X509EnhancedKeyUsageExtension) == null)"#;
    assert_eq!(status(wrong, &none), 403);
    let cast = r#"@(((X509EnhancedKeyUsageExtension)context.Request.Certificate.Extensions["2.5.29.15"]).EnhancedKeyUsages.Count &gt; 0)"#;
    let out = run(cast, &none);
    assert_eq!(out.status, 500);
    assert!(out.decided_by.unwrap_or_default().contains("InvalidCastException"));
}

#[test]
fn cast_of_every_extension_and_any_by_oid() {
    let client = made(&["extendedKeyUsage=clientAuth", "basicConstraints=critical,CA:FALSE"]);
    let any = r#"@(context.Request.Certificate.Extensions.Cast&lt;X509Extension&gt;().Any(e =&gt; e.Oid.Value == "2.5.29.37"))"#;
    assert_eq!(status(any, &client), 403);
    let first = r#"@(context.Request.Certificate.Extensions.Cast&lt;X509Extension&gt;().FirstOrDefault(e =&gt; e.Oid.Value == "2.5.29.19").Critical)"#;
    assert_eq!(status(first, &client), 403);
    let absent = r#"@(context.Request.Certificate.Extensions.Cast&lt;X509Extension&gt;().FirstOrDefault(e =&gt; e.Oid.Value == "2.5.29.17") == null)"#;
    assert_eq!(status(absent, &client), 403);
    let count =
        r#"@(context.Request.Certificate.Extensions.Cast&lt;X509Extension&gt;().Count(e =&gt; e.Critical) == 1)"#;
    assert_eq!(status(count, &client), 403);
    // Cast to a class some element is not: InvalidCastException when enumeration reaches it.
    let bad = r#"@(context.Request.Certificate.Extensions.Cast&lt;X509BasicConstraintsExtension&gt;().Any(e =&gt; e.CertificateAuthority))"#;
    let out = run(bad, &client);
    assert_eq!((out.status, out.determined), (500, true), "{:?}", out.unevaluable);
    assert!(out.decided_by.unwrap_or_default().contains("'System.Security.Cryptography.X509Certificates.X509"));
    // LINQ straight on the collection compiles only where it is IEnumerable<X509Extension>.
    let direct = r#"@(context.Request.Certificate.Extensions.Any(e =&gt; e.Oid.Value == "2.5.29.37"))"#;
    let out = run(direct, &client);
    assert!(!out.determined);
    assert!(out.unevaluable[0].why.contains("IEnumerable<X509Extension> only in newer .NET"), "{:?}", out.unevaluable);
}

#[test]
fn key_usage_flags_and_basic_constraints() {
    let leaf = made(&["keyUsage=critical,digitalSignature,keyAgreement", "basicConstraints=CA:FALSE"]);
    let ca = made(&[
        "keyUsage=keyCertSign,cRLSign,decipherOnly,keyAgreement",
        "basicConstraints=critical,CA:TRUE,pathlen:2",
    ]);
    let signs = r#"@(context.Request.Certificate.Extensions.OfType&lt;X509KeyUsageExtension&gt;().Any(k =&gt; k.KeyUsages.HasFlag(X509KeyUsageFlags.DigitalSignature)))"#;
    assert_eq!(status(signs, &leaf), 403);
    assert_eq!(status(signs, &ca), 200);
    let decipher = r#"@(context.Request.Certificate.Extensions.OfType&lt;X509KeyUsageExtension&gt;().First().KeyUsages.HasFlag(X509KeyUsageFlags.DecipherOnly))"#;
    assert_eq!(status(decipher, &ca), 403, "the second byte's bit, as 0x8000");
    let is_ca = r#"@(context.Request.Certificate.Extensions.OfType&lt;X509BasicConstraintsExtension&gt;().Any(b =&gt; b.CertificateAuthority))"#;
    assert_eq!(status(is_ca, &ca), 403);
    assert_eq!(status(is_ca, &leaf), 200);
    // `?.` after FirstOrDefault: null when there is none, a lifted comparison with true.
    let lifted = r#"@(context.Request.Certificate.Extensions.OfType&lt;X509BasicConstraintsExtension&gt;().FirstOrDefault()?.CertificateAuthority == true)"#;
    assert_eq!(status(lifted, &ca), 403);
    assert_eq!(status(lifted, &made(&["keyUsage=digitalSignature", "basicConstraints=CA:FALSE"])), 200);
    let bare = made_bare(&["keyUsage=digitalSignature"]);
    assert_eq!(
        status(r#"@(context.Request.Certificate.Extensions["2.5.29.19"] == null)"#, &bare),
        403,
        "no basic constraints"
    );
    assert_eq!(status(lifted, &bare), 200, "null == true is false, no exception");
    let path = r#"@((context.Request.Certificate.Extensions["2.5.29.19"] as X509BasicConstraintsExtension).PathLengthConstraint == 2)"#;
    assert_eq!(status(path, &ca), 403);
    // C# 7 type patterns, as .NET's own code tests an extension's class.
    let pattern = r#"@(context.Request.Certificate.Extensions.Cast&lt;X509Extension&gt;().Any(e =&gt; e is X509KeyUsageExtension ku &amp;&amp; ku.KeyUsages.HasFlag(X509KeyUsageFlags.DigitalSignature)))"#;
    assert_eq!(status(pattern, &leaf), 403);
    assert_eq!(status(pattern, &ca), 200);
    let bc = r#"@(context.Request.Certificate.Extensions["2.5.29.19"] is X509BasicConstraintsExtension bc &amp;&amp; bc.CertificateAuthority)"#;
    assert_eq!(status(bc, &ca), 403);
    assert_eq!(status(bc, &leaf), 200);
    let not_ku = r#"@(context.Request.Certificate.Extensions["2.5.29.19"] is X509KeyUsageExtension)"#;
    assert_eq!(status(not_ku, &ca), 200);
    assert_eq!(status("@(context.Request.Certificate is null)", &ca), 200);
    // A mask compared with 0 (the constant converts to the enum), as .NET's own code writes it.
    let masked = r#"@((context.Request.Certificate.Extensions.OfType&lt;X509KeyUsageExtension&gt;().First().KeyUsages &amp; (X509KeyUsageFlags.KeyAgreement | X509KeyUsageFlags.KeyEncipherment)) != 0)"#;
    assert_eq!(status(masked, &leaf), 403);
    let exact = r#"@(context.Request.Certificate.Extensions.OfType&lt;X509KeyUsageExtension&gt;().First().KeyUsages == (X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement))"#;
    assert_eq!(status(exact, &leaf), 403);
    assert_eq!(status(exact, &ca), 200);
    // The member needs the class: on an X509Extension it does not compile.
    let plain = r#"@(context.Request.Certificate.Extensions["2.5.29.15"].KeyUsages.HasFlag(X509KeyUsageFlags.DigitalSignature))"#;
    let out = run(plain, &leaf);
    // APIM would not save it: a compile error, with the construct whole.
    assert!(!out.determined && out.unevaluable.is_empty(), "{:?}", out.unevaluable);
    let e = &out.checks.compile_errors[0];
    assert_eq!(e.error, "CS1061: 'X509Extension' does not contain a definition for 'KeyUsages'");
    assert_eq!(e.fragment, r#"context.Request.Certificate.Extensions["2.5.29.15"].KeyUsages"#);
    // First() on an empty sequence throws.
    let none = made(&["basicConstraints=CA:FALSE"]);
    let out = run(decipher, &none);
    assert_eq!(out.status, 500);
    assert!(out.decided_by.unwrap_or_default().contains("InvalidOperationException"));
}

#[test]
fn classes_only_newer_dotnet_has_are_unknown() {
    let c = made(&["subjectAltName=DNS:linq.example"]);
    let san = r#"@(context.Request.Certificate.Extensions.OfType&lt;X509SubjectAlternativeNameExtension&gt;().Any())"#;
    let out = run(san, &c);
    assert!(!out.determined);
    assert!(out.unevaluable[0].why.contains("exists only in newer .NET"), "{:?}", out.unevaluable);
}
