//! Indexers, casts, the conditional operator, `Extensions[…]` and `GetNameInfo` for every name type,
//! in policies written the way deployed certificate checks read. Certificates with the names and
//! extensions each case needs are made at test time with the openssl CLI (one self-signed
//! certificate per case, into a temporary directory) or the crate's own PKI.

use mtls_doctor::cert::{CertInfo, Certificate};
use mtls_doctor::pki::Spec;
use mtls_doctor::policy::{evaluate, parse_policy, PolicyInput, PolicyOutcome};
use time::OffsetDateTime;

use crate::util::{openssl, refuse_403_when, Dir, Pki};

/// A self-signed certificate for `subject` with the extra `-addext` extensions.
fn made(subject: &str, exts: &[&str]) -> CertInfo {
    let dir = Dir::new();
    let (key, pem, der) = (dir.path("k.pem"), dir.path("c.pem"), dir.path("c.der"));
    let mut args =
        vec!["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30"];
    args.extend(["-subj", subject]);
    for e in exts {
        args.extend(["-addext", e]);
    }
    let (key, pem, der) = (key.to_string_lossy(), pem.to_string_lossy(), der.to_string_lossy());
    args.extend(["-keyout", &key, "-out", &pem]);
    let (ok, out) = openssl(&args);
    assert!(ok, "openssl req: {out}");
    let (ok, out) = openssl(&["x509", "-in", &pem, "-outform", "DER", "-out", &der]);
    assert!(ok, "openssl x509: {out}");
    let bytes = std::fs::read(der.as_ref()).expect("read der");
    Certificate::from_der(bytes, "test certificate").expect("parse").info
}

fn input(cert: Option<&CertInfo>, verified: bool) -> PolicyInput<'_> {
    PolicyInput {
        cert,
        verify_ok: Some(verified),
        verify_no_revocation_ok: Some(verified),
        revocation: None,
        issuer_thumbprint: None,
        deployment_certificates: None,
        headers: None,
        now: OffsetDateTime::now_utc(),
        forwarded: Vec::new(),
        body: Default::default(),
    }
}

/// `before` elements, then a 403 when `condition` holds.
fn guard(before: &str, condition: &str) -> String {
    refuse_403_when(before, condition)
}

fn run(xml: &str, cert: Option<&CertInfo>, verified: bool) -> PolicyOutcome {
    let policy = parse_policy(xml, "policy.xml").expect("policy parses");
    evaluate(&policy, &input(cert, verified))
}

fn status(cond: &str, cert: &CertInfo) -> u16 {
    let out = run(&guard("", cond), Some(cert), true);
    assert!(out.determined, "{cond}: {:?}", out.unevaluable);
    out.status
}

fn unknown_why(cond: &str, cert: &CertInfo) -> String {
    let out = run(&guard("", cond), Some(cert), true);
    assert!(!out.determined, "{cond} should not be determined (status {})", out.status);
    assert_eq!(out.unevaluable.len(), 1, "{cond}: {:?}", out.unevaluable);
    out.unevaluable[0].why.clone()
}

/// SAN critical with an email, a URI and a UPN (no dNSName); an issuer alternative name; two CNs.
fn rich() -> CertInfo {
    made(
        "/O=Contoso/CN=first/CN=second",
        &[
            "subjectAltName=critical,email:ops@contoso.example,URI:https://orders.contoso.example/id,otherName:1.3.6.1.4.1.311.20.2.3;UTF8:svc@contoso.example",
            "issuerAltName=DNS:ca.contoso.example",
        ],
    )
}

#[test]
fn extensions_by_oid_or_friendly_name() {
    let with_san = rich();
    let no_san = made("/CN=plain", &[]);
    let present = r#"@(context.Request.Certificate.Extensions["2.5.29.17"] != null)"#;
    assert_eq!(status(present, &with_san), 403);
    assert_eq!(status(present, &no_san), 200, "absent: the indexer gives null");
    // .NET's own friendly names resolve ignoring case, on every platform.
    let critical = r#"@(context.Request.Certificate.Extensions["subject alternative name"].Critical)"#;
    assert_eq!(status(critical, &with_san), 403);
    let pki = Pki::new("Extensions");
    let leaf = pki.leaf(&Spec::leaf("orders").sans(&["orders.contoso.example"]).client_only());
    let leaf = Certificate::from_der(leaf.der.clone(), "leaf").expect("parse").info;
    assert_eq!(status(critical, &leaf), 200, "a SAN that is not critical");
    let oid = r#"@(context.Request.Certificate.Extensions["Basic Constraints"].Oid.Value == "2.5.29.19")"#;
    assert_eq!(status(oid, &no_san), 403);
    // Reading a member of the null an absent extension gives throws: the gateway answers 500.
    let out = run(&guard("", critical), Some(&no_san), true);
    assert_eq!((out.status, out.determined), (500, true));
    assert!(out.decided_by.unwrap_or_default().contains("NullReferenceException"));
    let lifted = r#"@(context.Request.Certificate.Extensions["2.5.29.17"]?.Critical == true)"#;
    assert_eq!(status(lifted, &no_san), 200);
    assert_eq!(status(lifted, &with_san), 403);
    let none = r#"@(context.Request.Certificate?.Extensions["2.5.29.17"] != null)"#;
    let out = run(&guard("", none), None, true);
    assert_eq!((out.status, out.determined), (200, true), "`?.` before the indexer: null, no exception");
    let count = r#"@(context.Request.Certificate.Extensions.Count > 4)"#;
    assert_eq!(status(count, &with_san), 403, "SKI, AKI, basic constraints, SAN, IAN");
}

#[test]
fn what_the_platform_decides_is_unknown_with_the_reason() {
    let with_san = rich();
    let format =
        r#"@(context.Request.Certificate.Extensions["2.5.29.17"].Format(false).Contains("ops@contoso.example"))"#;
    assert!(unknown_why(format, &with_san).contains("platform-defined"));
    // OpenSSL resolves its short name on Linux; Windows does not know it.
    let short = r#"@(context.Request.Certificate.Extensions["subjectAltName"] != null)"#;
    assert!(unknown_why(short, &with_san).contains("up to the platform"));
    let friendly = r#"@(context.Request.Certificate.Extensions["2.5.29.17"].Oid.FriendlyName == "x")"#;
    assert!(unknown_why(friendly, &with_san).contains("localized"));
}

#[test]
fn get_name_info_for_each_name_type() {
    let c = rich();
    let cases = [
        (r#"GetNameInfo(X509NameType.EmailName, false) == "ops@contoso.example""#, 403),
        (r#"GetNameInfo(X509NameType.UpnName, false) == "svc@contoso.example""#, 403),
        (r#"GetNameInfo(X509NameType.UrlName, false) == "https://orders.contoso.example/id""#, 403),
        // The issuer alternative name (this certificate is its own issuer).
        (r#"GetNameInfo(X509NameType.DnsName, true) == "ca.contoso.example""#, 403),
        (r#"GetNameInfo(X509NameType.DnsFromAlternativeName, true) == "ca.contoso.example""#, 403),
        // No issuer e-mail anywhere: the empty string, not null.
        (r#"GetNameInfo(X509NameType.EmailName, true) == """#, 403),
    ];
    for (call, expected) in cases {
        assert_eq!(status(&format!("@(context.Request.Certificate.{call})"), &c), expected, "{call}");
    }
    // Two CN attributes: which one Windows returns is not documented.
    let simple = r#"@(context.Request.Certificate.GetNameInfo(X509NameType.SimpleName, false) == "first")"#;
    assert!(unknown_why(simple, &c).contains("2 CN attributes"));
    let dns = r#"@(context.Request.Certificate.GetNameInfo(X509NameType.DnsName, false) == "first")"#;
    assert!(unknown_why(dns, &c).contains("CN attributes"), "no dNSName: the CN is the fallback");

    let pki = Pki::new("NameInfoIssuer");
    let leaf = pki.leaf(&Spec::leaf("orders").client_only());
    let leaf = Certificate::from_der(leaf.der.clone(), "leaf").expect("parse").info;
    let issuer_cn =
        r#"@(context.Request.Certificate.GetNameInfo(X509NameType.SimpleName, true) == "NameInfoIssuer Issuing CA")"#;
    assert_eq!(status(issuer_cn, &leaf), 403);
    let issuer_dns =
        r#"@(context.Request.Certificate.GetNameInfo(X509NameType.DnsName, true) == "NameInfoIssuer Issuing CA")"#;
    assert_eq!(status(issuer_dns, &leaf), 403, "no issuer alternative name: the issuer's CN");
    let out = run(&guard("", issuer_cn), Some(&leaf), true);
    assert_eq!(out.comparisons[0].property, "GetNameInfo(SimpleName, issuer)");
    assert_eq!(out.comparisons[0].actual.as_deref(), Some("NameInfoIssuer Issuing CA"));
}

#[test]
fn simple_name_falls_back_as_windows_does() {
    let ou = made("/C=NL/O=Contoso/OU=Payments", &[]);
    let cond =
        |v: &str| format!(r#"@(context.Request.Certificate.GetNameInfo(X509NameType.SimpleName, false) == "{v}")"#);
    assert_eq!(status(&cond("Payments"), &ou), 403, "no CN: the OU before the O");
    let only_country = made("/C=NL", &[]);
    assert_eq!(status(&cond("NL"), &only_country), 403, "the only attribute");
    // Another attribute and an e-mail SAN: Windows takes the e-mail, .NET on Linux the attribute.
    let both = made("/C=NL", &["subjectAltName=email:ops@contoso.example"]);
    assert!(unknown_why(&cond("NL"), &both).contains("rfc822Name"));
    // DnsFromAlternativeName is CERT_NAME_DNS_TYPE on Windows: it falls back to the CN.
    let plain = made("/CN=plain.contoso.example", &[]);
    let alt = r#"@(context.Request.Certificate.GetNameInfo(X509NameType.DnsFromAlternativeName, false) == "plain.contoso.example")"#;
    assert_eq!(status(alt, &plain), 403);
}

#[test]
fn variables_indexer_and_casts() {
    let c = made("/CN=orders", &[]);
    let set = r#"<set-variable name="role" value="admin" />
    <set-variable name="trusted" value="@(context.Request.Certificate.VerifyNoRevocation())" />"#;
    let run_with = |cond: &str, verified: bool| run(&guard(set, cond), Some(&c), verified);
    let out = run_with(r#"@((string)context.Variables["role"] == "admin")"#, true);
    assert_eq!((out.status, out.determined), (403, true), "{:?}", out.unevaluable);
    let not_trusted = r#"@(!(bool)context.Variables["trusted"])"#;
    assert_eq!(run_with(not_trusted, true).status, 200);
    assert_eq!(run_with(not_trusted, false).status, 403);
    // An absent key throws KeyNotFoundException (GetValueOrDefault would not): 500.
    let out = run_with(r#"@((string)context.Variables["missing"] == "admin")"#, true);
    assert_eq!((out.status, out.determined), (500, true));
    assert!(out.decided_by.unwrap_or_default().contains("KeyNotFoundException"));
    // A string variable unboxed as bool: InvalidCastException, 500.
    let out = run_with(r#"@((bool)context.Variables["role"])"#, true);
    assert_eq!(out.status, 500);
    assert!(out.decided_by.unwrap_or_default().contains("InvalidCastException"));
    // Without a cast, `==` between object and string compares references in C#: not guessed.
    let out = run_with(r#"@(context.Variables["role"] == "admin")"#, true);
    assert!(!out.determined);
    assert!(out.unevaluable[0].why.contains("compares references"), "{:?}", out.unevaluable);
    // Against a value type there are not two references: the compiler refuses it (CS0019), and
    // API Management would not save the policy.
    let out = run_with(r#"@(context.Variables["role"] == 1)"#, true);
    let errors: Vec<_> = out.checks.compile_errors.iter().map(|e| e.error.as_str()).collect();
    assert_eq!(errors, ["CS0019: Operator '==' cannot be applied to operands of type 'object' and 'int'"], "{out:?}");
    let out = run_with(r#"@(false != context.Variables["role"])"#, true);
    let errors: Vec<_> = out.checks.compile_errors.iter().map(|e| e.error.as_str()).collect();
    assert_eq!(errors, ["CS0019: Operator '!=' cannot be applied to operands of type 'bool' and 'object'"], "{out:?}");
    let out = run_with(r#"@(context.Variables["role"] != null)"#, true);
    assert_eq!((out.status, out.determined), (403, true));
    let out = run_with(r#"@(context.Variables["role"].ToString() == "admin")"#, true);
    assert_eq!((out.status, out.determined), (403, true));
    // A stored null: a reference-type cast keeps it, unboxing it to bool throws.
    let set_null = r#"<set-variable name="t" value="@(context.Request.Certificate?.Thumbprint)" />"#;
    let out = run(&guard(set_null, r#"@((string)context.Variables["t"] == null)"#), None, true);
    assert_eq!((out.status, out.determined), (403, true), "{:?}", out.unevaluable);
    let out = run(&guard(set_null, r#"@((bool)context.Variables["t"])"#), None, true);
    assert_eq!(out.status, 500);
    assert!(out.decided_by.unwrap_or_default().contains("NullReferenceException"));
}

#[test]
fn conditional_operator() {
    let c = made("/CN=orders", &[]);
    let thumb = c.thumbprint_sha1.clone();
    let cond = format!(
        r#"@((context.Request.Certificate == null ? "" : context.Request.Certificate.Thumbprint) != "{thumb}")"#
    );
    assert_eq!(run(&guard("", &cond), Some(&c), true).status, 200);
    assert_eq!(run(&guard("", &cond), None, true).status, 403);
    // Only the chosen branch runs: no NullReferenceException without a certificate.
    let chosen =
        r#"@(context.Request.Certificate != null ? context.Request.Certificate.Subject != "CN=orders" : true)"#;
    let out = run(&guard("", chosen), None, true);
    assert_eq!((out.status, out.determined), (403, true));
    assert_eq!(run(&guard("", chosen), Some(&c), true).status, 200);
    // An unknown condition whose branches agree decides nothing.
    let agree = r#"@(context.Request.Headers.ContainsKey("X-Test") ? true : true)"#;
    let out = run(&guard("", agree), Some(&c), true);
    assert_eq!((out.status, out.determined), (403, true));
    let differ = r#"@(context.Request.Headers.ContainsKey("X-Test") ? true : false)"#;
    assert!(!run(&guard("", differ), Some(&c), true).determined);
    // In a statement block, as policies write it.
    let block = format!(
        r#"@{{
            var cert = context.Request.Certificate;
            string t = cert == null ? null : cert.Thumbprint;
            return t == null ? true : t != "{thumb}";
        }}"#
    );
    assert_eq!(run(&guard("", &block), Some(&c), true).status, 200);
    assert_eq!(run(&guard("", &block), None, true).status, 403);
}
