//! More cases for the .NET oracle (tests/integration/dotnet_oracle.rs): typed numbers and their
//! exceptions, `System.Math`, `DateTime`/`TimeSpan` arithmetic, `char` and `Split`, the header
//! `string[]` (the oracle's context holds one element per header, as a header sent once without a
//! comma has in API Management), LINQ over the certificate's typed extensions, `is`/`as` patterns.
//! Each records what .NET Core 3.1 on Linux (culture en-US) answered.
//!
//! Newtonsoft.Json (`JObject`) is not part of the runtime and no registry this project reaches
//! carries its assembly (NuGet is not reachable; PyPI has no package that ships it), so the
//! JObject cases stay in tests/integration/policy_json.rs with the recorded behaviour.

use std::collections::BTreeMap;

use mtls_doctor::cert::Certificate;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType,
    SerialNumber,
};
use time::macros::datetime;

use super::dotnet_oracle::{case, run_and_check, Case, Made};

fn made(der: Vec<u8>) -> Made {
    let info = Certificate::from_der(der.clone(), "oracle certificate").expect("parse generated certificate").info;
    Made { der, info }
}

/// `usage`: key usage (digital signature, key encipherment), EKU (client and server auth), basic
/// constraints (not a CA) and a SAN, valid from 2024-01-31 12:00 to 2031-03-31 00:00 UTC (month
/// ends for AddMonths); `ca`: a CA (basic constraints CA, key usage cert and CRL signing);
/// `bare`: a CN and nothing else.
fn certificates() -> BTreeMap<&'static str, Made> {
    let make = |cn: &str, serial: u8| {
        let mut p = CertificateParams::default();
        let mut d = DistinguishedName::new();
        d.push(DnType::CommonName, cn);
        p.distinguished_name = d;
        p.not_before = datetime!(2024-01-31 12:00 UTC);
        p.not_after = datetime!(2031-03-31 00:00 UTC);
        p.serial_number = Some(SerialNumber::from_slice(&[serial]));
        p
    };
    let mut ca = make("Oracle Usage CA", 0x51);
    ca.is_ca = IsCa::Ca(rcgen::BasicConstraints::Constrained(1));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().expect("key");
    let ca_der = ca.self_signed(&ca_key).expect("self-sign").der().to_vec();
    let issuer = rcgen::Issuer::from_params(&ca, &ca_key);
    let sign = |p: CertificateParams| {
        let key = KeyPair::generate().expect("key");
        made(p.signed_by(&key, &issuer).expect("sign").der().to_vec())
    };
    let mut usage = make("usage.example", 0x52);
    usage.is_ca = IsCa::ExplicitNoCa;
    usage.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    usage.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth, ExtendedKeyUsagePurpose::ServerAuth];
    usage.subject_alt_names = vec![SanType::DnsName("usage.example".try_into().expect("ia5"))];
    let bare = make("bare.example", 0x53);
    BTreeMap::from([("ca", made(ca_der)), ("usage", sign(usage)), ("bare", sign(bare))])
}

const CERT: &str = "context.Request.Certificate";
const EXT: &str = "context.Request.Certificate.Extensions";

fn numbers() -> Vec<Case> {
    let n = r#"int.Parse(context.Request.Headers.GetValueOrDefault("X-N", "1"))"#;
    vec![
        case(None, "7 / 2", "int:3"),
        case(None, "-7 / 2", "int:-3"),
        case(None, "-7 % 3", "int:-1"),
        case(None, "7 % -3", "int:1"),
        case(None, "7 / 2.0 == 3.5", "True"),
        case(None, "0.1 + 0.2 == 0.3", "False"),
        case(None, "3 / 2 * 2.0 == 2.0", "True"),
        case(None, "5000000000 > 4999999999L", "True"),
        case(None, "2147483647 + 1 < 0", "compile:CS0220"),
        case(None, "1 / (2 - 2) == 0", "compile:CS0020"),
        case(None, format!("10 / {n} > 1"), "exception:DivideByZeroException").header("X-N", "0"),
        case(None, format!("10 % {n} == 0"), "exception:DivideByZeroException").header("X-N", "0"),
        case(None, format!("10.0 / {n} > 1"), "True").header("X-N", "0"),
        case(None, format!("{n} * 2"), "int:42").header("X-N", "21"),
        case(None, r#"int.Parse("42")"#, "int:42"),
        case(None, r#"int.Parse(" 42 ")"#, "int:42"),
        case(None, r#"int.Parse("+7")"#, "int:7"),
        case(None, r#"int.Parse("4.2")"#, "exception:FormatException"),
        case(None, r#"int.Parse("1,000")"#, "exception:FormatException"),
        case(None, r#"int.Parse("")"#, "exception:FormatException"),
        case(None, r#"int.Parse("2147483648")"#, "exception:OverflowException"),
        case(
            None,
            r#"int.Parse(context.Request.Headers.GetValueOrDefault("X-None"))"#,
            "exception:ArgumentNullException",
        ),
        case(None, r#"long.Parse("2147483648") == 2147483648L"#, "True"),
        // An integer literal between int.MaxValue and uint.MaxValue is a uint.
        case(None, "2147483648 > 2147483647", "True").refused("is a uint in C#"),
        case(None, r#"int.TryParse("x", out int v) ? v : -1"#, "int:-1"),
        case(None, r#"int.TryParse("12", out int v) ? v : -1"#, "int:12"),
        case(None, r#"{ int v; if (!int.TryParse("99999999999", out v)) { return v == 0; } return false; }"#, "True"),
        case(None, r#"Convert.ToInt32("12")"#, "int:12"),
        case(None, r#"Convert.ToInt32(context.Request.Headers.GetValueOrDefault("X-None"))"#, "int:0"),
        case(None, r#"Convert.ToInt32("2.5")"#, "exception:FormatException"),
        case(None, "Convert.ToInt32(2.5)", "int:2"),
        case(None, "Convert.ToInt32(3.5)", "int:4"),
        case(None, "Convert.ToInt32(-2.5)", "int:-2"),
        case(None, "Convert.ToInt32(2147483648.0)", "exception:OverflowException"),
        case(None, "(int)-2.7", "int:-2"),
        case(None, "(int)2.9 == 2", "True"),
        case(None, r#"(int)context.Variables["count"] == 3"#, "True").var_int("count", 3),
        case(None, r#"(long)context.Variables["count"] == 3"#, "exception:InvalidCastException").var_int("count", 3),
        case(None, r#"(int)context.Variables["count"] == 3"#, "exception:InvalidCastException").var("count", "3"),
        case(None, r#"(string)context.Variables["count"] == "3""#, "exception:InvalidCastException")
            .var_int("count", 3),
        case(None, r#"context.Variables.GetValueOrDefault<int>("count") + 1"#, "int:4").var_int("count", 3),
        case(None, r#"context.Variables.GetValueOrDefault<int>("absent")"#, "int:0"),
        // Math.
        case(None, "Math.Abs(-5)", "int:5"),
        case(None, r#"Math.Abs(int.Parse("-2147483648"))"#, "exception:OverflowException"),
        case(None, "Math.Max(3, 7L)", "int:7"),
        case(None, "Math.Min(-1, 2)", "int:-1"),
        case(None, "Math.Round(2.5) == 2", "True"),
        case(None, "Math.Round(3.5) == 4", "True"),
        case(None, "Math.Round(-2.5) == -2", "True"),
        case(None, "Math.Floor(-2.5) == -3", "True"),
        case(None, "Math.Ceiling(2.1) == 3", "True"),
        case(None, "Math.Abs(-2.5) == 2.5", "True"),
        case(None, "(int)Math.Round(7 / 2.0)", "int:4"),
    ]
}

fn dates() -> Vec<Case> {
    let u = Some("usage");
    let span = format!("({CERT}.NotAfter - {CERT}.NotBefore)");
    vec![
        case(u, format!("{CERT}.NotBefore.AddMonths(1).Day"), "int:29"),
        case(u, format!("{CERT}.NotBefore.AddMonths(1).Month"), "int:2"),
        case(u, format!("{CERT}.NotAfter.AddMonths(-1).Day"), "int:28"),
        case(u, format!("{CERT}.NotBefore.AddYears(1) == {CERT}.NotBefore.AddMonths(12)"), "True"),
        case(u, format!("{CERT}.NotBefore.AddMonths(1) == {CERT}.NotBefore.AddDays(29)"), "True"),
        case(u, format!("{CERT}.NotBefore.AddMonths(13) < {CERT}.NotAfter"), "True"),
        case(u, format!("(int){span}.TotalDays"), "int:2615"),
        case(u, format!("{span}.Days"), "int:2615"),
        case(u, format!("{span}.Hours"), "int:12"),
        case(u, format!("{span}.TotalDays > 2616.4"), "False"),
        case(u, format!("{span}.TotalHours == 62796"), "False"),
        case(u, format!("DateTime.Compare({CERT}.NotBefore, {CERT}.NotAfter)"), "int:-1"),
        case(u, format!("DateTime.Compare({CERT}.NotAfter, {CERT}.NotAfter)"), "int:0"),
        case(u, format!("{CERT}.NotAfter.Subtract(TimeSpan.FromDays(30)) > {CERT}.NotBefore"), "True"),
        case(u, format!("{CERT}.NotAfter - TimeSpan.FromDays(1) == {CERT}.NotAfter.AddDays(-1)"), "True"),
        case(u, format!("({CERT}.NotAfter - DateTime.UtcNow).TotalDays > 365"), "True"),
        case(u, format!("({CERT}.NotAfter - DateTime.UtcNow).TotalDays < 30"), "False"),
        case(
            u,
            format!("{CERT}.NotAfter.AddMonths(120000) > {CERT}.NotBefore"),
            "exception:ArgumentOutOfRangeException",
        ),
        case(
            u,
            format!("{CERT}.NotAfter.AddDays(10000000) > {CERT}.NotBefore"),
            "exception:ArgumentOutOfRangeException",
        ),
        case(u, "TimeSpan.FromDays(1).TotalHours == 24", "True"),
        case(u, format!("{CERT}.NotAfter.AddDays(-30) < DateTime.UtcNow"), "False"),
        case(u, format!("Math.Floor({span}.TotalDays) == {span}.Days"), "True"),
    ]
}

fn chars_and_headers() -> Vec<Case> {
    let xff = r#"context.Request.Headers.GetValueOrDefault("X-Forwarded-For", "")"#;
    let id = "context.Request.Headers[\"X-Client-Id\"]";
    let with_id = |c: Case| c.header("X-Client-Id", "orders-app");
    vec![
        case(None, r#""a,b,,c".Split(',').Length"#, "int:4"),
        case(None, r#""a,b".Split(',')[1]"#, "string:b"),
        case(None, r#""a;b,c".Split(',', ';').Length"#, "int:3"),
        case(None, r#""abc"[0] == 'a'"#, "True"),
        case(None, r#""abc"[1] == 98"#, "True"),
        case(None, "'a' + 1", "int:98"),
        case(None, r#""a" + 'b'"#, "string:ab"),
        case(None, r#""abc".IndexOf('c')"#, "int:2"),
        case(None, r#""abc"[3] == 'a'"#, "exception:IndexOutOfRangeException"),
        case(None, r#""abc"[0] == "a""#, "compile:CS0019"),
        // Split(string) exists from .NET Core 2.0; on .NET Framework it does not compile.
        case(None, r#""a, b".Split(", ").Length"#, "int:2").refused("only in .NET Core 2.0"),
        case(None, r#""x-id".ToUpper()[0] == 'X'"#, "True"),
        case(None, format!("{xff}.Split(',')[0].Trim()"), "string:203.0.113.7")
            .header("X-Forwarded-For", "203.0.113.7, 10.0.0.1"),
        case(None, format!("{xff}.Split(',')[1]"), "string: 10.0.0.1")
            .header("X-Forwarded-For", "203.0.113.7, 10.0.0.1"),
        case(None, format!("{xff}.Split(',').Length"), "int:1"),
        // The header as string[]: one element per header in the oracle's context.
        with_id(case(None, format!("{id}[0]"), "string:orders-app")),
        with_id(case(None, "context.Request.Headers[\"x-client-id\"].Length", "int:1")),
        with_id(case(None, "context.Request.Headers[\"X-Missing\"][0] == \"x\"", "exception:KeyNotFoundException")),
        with_id(case(None, format!("{id}[1] == \"x\""), "exception:IndexOutOfRangeException")),
        with_id(case(None, "context.Request.Headers.ContainsKey(\"X-Client-Id\")", "True")),
        with_id(case(
            None,
            r#"context.Request.Headers.TryGetValue("X-Client-Id", out var v) && v[0] == "orders-app""#,
            "True",
        )),
        with_id(case(None, r#"context.Request.Headers.TryGetValue("X-Other", out var v) || v == null"#, "True")),
        with_id(case(None, format!("string.Join(\";\", {id})"), "string:orders-app")),
        with_id(case(None, format!("{id}.FirstOrDefault()"), "string:orders-app")),
        with_id(case(None, format!("{id}.Any(v => v.StartsWith(\"orders\", StringComparison.Ordinal))"), "True")),
        with_id(case(None, format!("{id}.Contains(\"orders-app\")"), "True")),
        // How the gateway splits a value with a comma into elements is not documented.
        case(None, "context.Request.Headers[\"X-Roles\"].Length", "int:1")
            .header("X-Roles", "reader, writer")
            .refused("splits a value at commas"),
    ]
}

fn extensions() -> Vec<Case> {
    let u = Some("usage");
    let ca = Some("ca");
    let bare = Some("bare");
    let first_ku = format!("{EXT}.OfType<X509KeyUsageExtension>().First()");
    let eku = format!("((X509EnhancedKeyUsageExtension){EXT}[\"2.5.29.37\"])");
    vec![
        case(u, format!("{EXT}.Count"), "int:5"),
        case(u, format!("{EXT}[0].Oid.Value"), "string:2.5.29.17"),
        case(u, format!("{EXT}[1].Oid.Value"), "string:2.5.29.15"),
        case(u, format!("{EXT}[2].Oid.Value"), "string:2.5.29.37"),
        case(u, format!("{EXT}.Cast<X509Extension>().Count(e => e.Critical)"), "int:2"),
        case(u, format!("{EXT}.OfType<X509KeyUsageExtension>().Any()"), "True"),
        case(bare, format!("{EXT}.OfType<X509KeyUsageExtension>().Any()"), "False"),
        case(bare, format!("{first_ku}.KeyUsages.HasFlag(X509KeyUsageFlags.DigitalSignature)"), "exception:InvalidOperationException"),
        case(u, format!("{first_ku}.KeyUsages.HasFlag(X509KeyUsageFlags.DigitalSignature)"), "True"),
        case(u, format!("{first_ku}.KeyUsages.HasFlag(X509KeyUsageFlags.NonRepudiation)"), "False"),
        case(
            u,
            format!("{first_ku}.KeyUsages == (X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment)"),
            "True",
        ),
        case(u, format!("({first_ku}.KeyUsages & X509KeyUsageFlags.KeyAgreement) != 0"), "False"),
        case(ca, format!("{first_ku}.KeyUsages.HasFlag(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign)"), "True"),
        case(
            u,
            format!("{EXT}.OfType<X509EnhancedKeyUsageExtension>().Any(e => e.EnhancedKeyUsages.Cast<Oid>().Any(o => o.Value == \"1.3.6.1.5.5.7.3.2\"))"),
            "True",
        ),
        case(u, format!("{eku}.EnhancedKeyUsages.Count"), "int:2"),
        case(u, format!("{eku}.EnhancedKeyUsages[0].Value"), "string:1.3.6.1.5.5.7.3.2"),
        case(u, format!("{eku}.EnhancedKeyUsages[1].Value"), "string:1.3.6.1.5.5.7.3.1"),
        case(u, format!("({EXT}[\"2.5.29.15\"] as X509EnhancedKeyUsageExtension) == null"), "True"),
        case(u, format!("((X509EnhancedKeyUsageExtension){EXT}[\"2.5.29.15\"]).EnhancedKeyUsages.Count > 0"), "exception:InvalidCastException"),
        case(u, format!("{EXT}.Cast<X509BasicConstraintsExtension>().Any(e => e.CertificateAuthority)"), "exception:InvalidCastException"),
        case(u, format!("{EXT}.Cast<X509KeyUsageExtension>().Any(k => k.KeyUsages.HasFlag(X509KeyUsageFlags.DigitalSignature))"), "exception:InvalidCastException"),
        case(u, format!("{EXT}.Cast<X509KeyUsageExtension>().Any(k => k.KeyUsages.HasFlag(X509KeyUsageFlags.CrlSign))"), "exception:InvalidCastException"),
        case(u, format!("{EXT}.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority)"), "False"),
        case(ca, format!("{EXT}.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority)"), "True"),
        case(ca, format!("({EXT}[\"2.5.29.19\"] as X509BasicConstraintsExtension).PathLengthConstraint"), "int:1"),
        case(u, format!("({EXT}[\"2.5.29.19\"] as X509BasicConstraintsExtension).HasPathLengthConstraint"), "False"),
        case(bare, format!("{EXT}.OfType<X509BasicConstraintsExtension>().FirstOrDefault()?.CertificateAuthority == true"), "False"),
        case(
            u,
            format!("{EXT}.Cast<X509Extension>().Any(e => e is X509KeyUsageExtension ku && ku.KeyUsages.HasFlag(X509KeyUsageFlags.DigitalSignature))"),
            "True",
        ),
        case(u, format!("{EXT}[\"2.5.29.19\"] is X509BasicConstraintsExtension bc && !bc.CertificateAuthority"), "True"),
        case(u, format!("{EXT}[\"2.5.29.19\"] is X509KeyUsageExtension"), "False"),
        case(u, format!("{EXT}[\"2.5.29.17\"] as X509KeyUsageExtension == null"), "True"),
        case(u, format!("{EXT}[\"2.5.29.15\"].KeyUsages.HasFlag(X509KeyUsageFlags.DigitalSignature)"), "compile:CS1061"),
        // The compiler refuses by type, whether or not the certificate has the extension.
        case(bare, format!("{EXT}[\"2.5.29.15\"].KeyUsages.HasFlag(X509KeyUsageFlags.DigitalSignature)"), "compile:CS1061"),
        case(bare, format!("{EXT}[\"2.5.29.19\"]?.CertificateAuthority == true"), "compile:CS1061"),
        case(u, format!("{EXT}.OfType<X509SubjectKeyIdentifierExtension>().Any()"), "True"),
        // (`is null` is C# 7.0 for Roslyn, but mcs refuses it at -langversion:7 with CS1644.)
        case(u, format!("{CERT} is X509Certificate2"), "True"),
        case(None, format!("{CERT} is X509Certificate2"), "False"),
        // is / as over variables.
        case(None, r#"context.Variables["tier"] is string s && s == "gold""#, "True").var("tier", "gold"),
        case(None, r#"context.Variables["count"] is int n && n > 2"#, "True").var_int("count", 3),
        case(None, r#"context.Variables["count"] as string == null"#, "True").var_int("count", 3),
        case(None, r#"context.Variables["count"] is long"#, "False").var_int("count", 3),
    ]
}

/// What the compiler refuses, by the error it gives.
fn refused_by_the_compiler() -> Vec<Case> {
    vec![
        case(None, "{ var t = 1; var t = 2; return t == 2; }", "compile:CS0128"),
        case(None, "{ int v; return v == 0; }", "compile:CS0165"),
        // The evaluator refuses these too, but as unevaluable: the error code depends on the
        // compiler (mcs says CS1502 where Roslyn, which the gateway runs, says CS1503 or CS1620).
        case(None, r#"new[] { "a" }.Count == 1"#, "compile:CS0019").refused("Length, not a Count"),
        case(None, "DateTime.UtcNow.AddMonths(1.5) == DateTime.UtcNow", "compile:CS1502").refused("takes an int"),
        case(None, "int.Parse(5) == 5", "compile:CS1502").refused("Parse takes a string"),
        case(None, r#"{ int v = 0; return int.TryParse("5", v); }"#, "compile:CS1502").refused("with `out`"),
        // Reference equality needs two references: object == int (or bool, char) does not compile.
        case(None, r#"context.Variables["count"] == 1"#, "compile:CS0019").var_int("count", 1),
        case(None, r#"1 != context.Variables["count"]"#, "compile:CS0019").var_int("count", 1),
        case(None, r#"context.Variables["tier"] == true"#, "compile:CS0019").var("tier", "gold"),
        case(None, r#"context.Variables["tier"] == 'g'"#, "compile:CS0019").var("tier", "gold"),
        case(None, "Math.Floor(3) == 3", "compile:CS0121"),
    ]
}

#[test]
fn typed_csharp_matches_dotnet() {
    let certs = certificates();
    let cases: Vec<Case> = [numbers(), dates(), chars_and_headers(), extensions(), refused_by_the_compiler()]
        .into_iter()
        .flatten()
        .collect();
    run_and_check(&cases, &certs);
}
