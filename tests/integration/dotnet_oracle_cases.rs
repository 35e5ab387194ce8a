//! The cases of tests/integration/dotnet_oracle.rs and the certificates they read, each with the
//! answer .NET Core 3.1 on Linux (culture en-US) gave.

use std::collections::BTreeMap;

use base64::Engine as _;
use mtls_doctor::cert::Certificate;
use rcgen::{
    CertificateParams, CustomExtension, DistinguishedName, DnType, Issuer, KeyPair, OtherNameValue, SanType,
    SerialNumber,
};
use time::OffsetDateTime;

use super::dotnet_oracle::{case, Case, Made};

fn made(der: Vec<u8>) -> Made {
    let info = Certificate::from_der(der.clone(), "oracle certificate").expect("parse generated certificate").info;
    Made { der, info }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    assert!(content.len() < 0x80);
    [&[tag, content.len() as u8][..], content].concat()
}

fn dn(parts: &[(DnType, &str)]) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    for (t, v) in parts {
        d.push(t.clone(), *v);
    }
    d
}

/// The certificates the cases read: `client` (rich names, issued by `ca`, whose issuer
/// alternative name it carries), `plain` (CN only, no SAN), `ou` (no CN), `turkish` (İ and ı).
pub(super) fn certificates() -> BTreeMap<&'static str, Made> {
    let now = OffsetDateTime::now_utc();
    let base = |subject: DistinguishedName, serial: &[u8]| {
        let mut p = CertificateParams::default();
        p.distinguished_name = subject;
        p.not_before = now - time::Duration::days(1);
        p.not_after = now + time::Duration::days(10);
        p.serial_number = Some(SerialNumber::from_slice(serial));
        p
    };
    let mut ca_params =
        base(dn(&[(DnType::OrganizationName, "Oracle Test"), (DnType::CommonName, "Oracle CA")]), &[0x01]);
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("key");
    let ca_der = ca_params.self_signed(&ca_key).expect("self-sign").der().to_vec();
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let sign = |p: CertificateParams| {
        let key = KeyPair::generate().expect("key");
        made(p.signed_by(&key, &issuer).expect("sign").der().to_vec())
    };

    let mut client = base(
        dn(&[
            (DnType::CountryName, "US"),
            (DnType::OrganizationName, "Contoso, Inc."),
            (DnType::OrganizationalUnitName, "Payments"),
            (DnType::CommonName, "client.example"),
        ]),
        &[0x00, 0x8F, 0x01],
    );
    client.subject_alt_names = vec![
        SanType::URI("https://client.example/id".try_into().expect("ia5")),
        SanType::Rfc822Name("ops@client.example".try_into().expect("ia5")),
        SanType::DnsName("api.client.example".try_into().expect("ia5")),
        SanType::DnsName("www.client.example".try_into().expect("ia5")),
        SanType::OtherName((
            vec![1, 3, 6, 1, 4, 1, 311, 20, 2, 3],
            OtherNameValue::Utf8String("svc@corp.example".into()),
        )),
    ];
    // Issuer alternative name: rfc822Name, dNSName, URI.
    let ian =
        tlv(0x30, &[tlv(0x81, b"pki@ca.example"), tlv(0x82, b"ca.example"), tlv(0x86, b"http://ca.example/")].concat());
    client.custom_extensions.push(CustomExtension::from_oid_content(&[2, 5, 29, 18], ian));

    let plain = base(dn(&[(DnType::CommonName, "plain.example")]), &[0x42]);
    let ou = base(dn(&[(DnType::OrganizationName, "Fabrikam"), (DnType::OrganizationalUnitName, "Ops")]), &[0x43]);
    let turkish = base(dn(&[(DnType::CommonName, "İstanbul ılık")]), &[0x44]);

    BTreeMap::from([
        ("ca", made(ca_der)),
        ("client", sign(client)),
        ("plain", sign(plain)),
        ("ou", sign(ou)),
        ("turkish", sign(turkish)),
    ])
}

pub(super) fn semantics_cases(certs: &BTreeMap<&str, Made>) -> Vec<Case> {
    let client = &certs["client"].info;
    let thumb = client.thumbprint_sha1.clone();
    let lower = thumb.to_lowercase();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&certs["client"].der);
    let pem_b64 = base64::engine::general_purpose::STANDARD.encode(mtls_doctor::cert::pem_encode(&certs["client"].der));
    let c = Some("client");
    let cert = "context.Request.Certificate";
    let culture_refusal = "culture-sensitive comparison";
    vec![
        // Casing: the culture (en-US) maps ı and İ, the invariant casing keeps them.
        case(None, r#""ı".ToUpper()"#, "string:I"),
        case(None, r#""İ".ToLower()"#, "string:i"),
        case(None, r#""ı".ToUpperInvariant()"#, "string:\\u0131"),
        case(None, r#""İ".ToLowerInvariant()"#, "string:\\u0130"),
        case(None, r#""ß".ToUpper()"#, "string:\\u00DF"),
        case(None, r#""abc-XYZ".ToUpper() == "ABC-XYZ""#, "True"),
        // Simple (one-to-one) case mapping: no ligature or sharp-s expansion, no final sigma.
        case(None, r#""\uFB01".ToUpper()"#, "string:\\uFB01"),
        case(None, r#""\u01C6".ToUpperInvariant()"#, "string:\\u01C4"),
        case(None, r#""\u039F\u03A3".ToLower()"#, "string:\\u03BF\\u03C3"),
        case(None, r#""\u00C9COLE".ToLowerInvariant() == "\u00E9cole""#, "True"),
        case(None, r#""abc".ToUpperInvariant() == "ABC""#, "True"),
        case(Some("turkish"), format!("{cert}.Subject.ToUpper()"), "string:CN=\\u0130STANBUL ILIK"),
        case(Some("turkish"), format!("{cert}.Subject.ToUpperInvariant()"), "string:CN=\\u0130STANBUL \\u0131L\\u0131K"),
        case(Some("turkish"), format!("{cert}.Subject.ToLower()"), "string:cn=istanbul \\u0131l\\u0131k"),
        // Culture-sensitive comparisons on ASCII agree with ordinal ones (ignoring case when asked).
        case(None, r#""Contoso Ltd".StartsWith("Contoso")"#, "True"),
        case(None, r#""Contoso Ltd".StartsWith("contoso")"#, "False"),
        case(None, r#""Contoso Ltd".StartsWith("contoso", StringComparison.InvariantCultureIgnoreCase)"#, "True"),
        case(None, r#""Contoso Ltd".EndsWith("LTD", StringComparison.CurrentCultureIgnoreCase)"#, "True"),
        case(None, r#""Contoso Ltd".EndsWith("Ltd", StringComparison.CurrentCulture)"#, "True"),
        case(None, r#""Contoso".Equals("CONTOSO", StringComparison.InvariantCultureIgnoreCase)"#, "True"),
        case(None, r#""Contoso".Equals("CONTOSO", StringComparison.InvariantCulture)"#, "False"),
        case(None, r#"string.Equals("Contoso", "contoso", StringComparison.OrdinalIgnoreCase)"#, "True"),
        case(None, r#""Contoso".StartsWith("")"#, "True"),
        case(None, r#""Contoso".StartsWith(null)"#, "exception:ArgumentNullException"),
        // U+200E is ignorable for ICU (and NLS): culture comparisons pass over it, ordinal ones do not.
        case(None, r#""\u200EAB12".StartsWith("AB12")"#, "True").refused(culture_refusal),
        // .NET Core 3.1's ICU path does not let a suffix of only ignorables match (current .NET does).
        case(None, r#""AB12".EndsWith("\u200E")"#, "False").refused(culture_refusal),
        case(None, r#""\u200EAB12".Equals("AB12", StringComparison.InvariantCultureIgnoreCase)"#, "True")
            .refused(culture_refusal),
        case(None, r#""\u200EAB12" == "AB12""#, "False"),
        case(None, r#""\u200EAB12".Equals("AB12")"#, "False"),
        case(None, r#""\u200EAB12".StartsWith("AB12", StringComparison.Ordinal)"#, "False"),
        case(None, r#""\u00ADAB12".StartsWith("AB12")"#, "True").refused(culture_refusal),
        case(None, r#""e\u0301".Equals("\u00E9", StringComparison.InvariantCulture)"#, "True").refused(culture_refusal),
        case(None, r#""co-op".StartsWith("coop")"#, "False").refused(culture_refusal),
        case(None, r#""a\0b".Equals("ab", StringComparison.InvariantCulture)"#, "True").refused(culture_refusal),
        case(None, r#""Stra\u00DFe".Equals("STRASSE", StringComparison.InvariantCultureIgnoreCase)"#, "False")
            .refused(culture_refusal),
        // IsNullOrEmpty / IsNullOrWhiteSpace (char.IsWhiteSpace: Unicode White_Space).
        case(None, r#"string.IsNullOrEmpty("")"#, "True"),
        case(None, r#"string.IsNullOrEmpty(null)"#, "True"),
        case(None, r#"string.IsNullOrEmpty("\u200B")"#, "False"),
        case(None, r#"string.IsNullOrWhiteSpace(" \t\u00A0\u2028\u0085")"#, "True"),
        case(None, r#"String.IsNullOrWhiteSpace("\u200B")"#, "False"),
        case(None, r#"string.IsNullOrWhiteSpace("\uFEFF")"#, "False"),
        case(None, r#"string.IsNullOrWhiteSpace("\u001F")"#, "False"),
        case(None, format!("string.IsNullOrEmpty({cert}?.Thumbprint)"), "True"),
        case(c, format!("string.IsNullOrEmpty({cert}?.Thumbprint)"), "False"),
        // ?. and ??
        case(None, format!(r#"{cert}?.Thumbprint ?? "none""#), "string:none"),
        case(c, format!(r#"({cert}?.Thumbprint ?? "none") == "{thumb}""#), "True"),
        case(None, format!("{cert}?.SubjectName.Name == null"), "True"),
        case(None, format!("({cert}?.SubjectName).Name == null"), "exception:NullReferenceException"),
        case(None, format!(r#"{cert}.Thumbprint == "{thumb}""#), "exception:NullReferenceException"),
        case(None, format!("{cert} == null"), "True"),
        // Array literals with Any / Contains.
        case(c, format!(r#"new string[] {{ "0000", "{thumb}" }}.Any(t => t == {cert}.Thumbprint)"#), "True"),
        case(c, format!(r#"new[] {{ "{lower}" }}.Contains({cert}.Thumbprint)"#), "False"),
        case(c, format!(r#"new[] {{ "{lower}" }}.Contains({cert}.Thumbprint.ToLower())"#), "True"),
        case(
            c,
            format!(r#"new string[] {{ "{lower}" }}.Any(t => t.Equals({cert}.Thumbprint, StringComparison.OrdinalIgnoreCase))"#),
            "True",
        ),
        case(None, format!(r#"new string[] {{ "{thumb}" }}.Any(t => t == {cert}.Thumbprint)"#), "exception:NullReferenceException"),
        // Certificate properties.
        case(c, format!("{cert}.Subject"), "string:CN=client.example, OU=Payments, O=\"Contoso, Inc.\", C=US"),
        case(c, format!("{cert}.SubjectName.Name"), "string:CN=client.example, OU=Payments, O=\"Contoso, Inc.\", C=US"),
        case(c, format!("{cert}.Issuer"), "string:CN=Oracle CA, O=Oracle Test"),
        case(c, format!("{cert}.IssuerName.Name"), "string:CN=Oracle CA, O=Oracle Test"),
        case(c, format!(r#"{cert}.Subject == "CN=client.example, OU=Payments, O=Contoso, Inc., C=US""#), "False"),
        case(c, format!("{cert}.SerialNumber"), "string:008F01"),
        case(c, format!(r#"{cert}.SerialNumber == "8F01""#), "False"),
        case(c, format!(r#"{cert}.Thumbprint == "{thumb}""#), "True"),
        case(c, format!(r#"{cert}.Thumbprint == "{lower}""#), "False"),
        case(c, format!(r#"{cert}.Thumbprint == "\u200E{thumb}""#), "False"),
        case(c, format!(r#"{cert}.Thumbprint.Equals("{lower}", StringComparison.OrdinalIgnoreCase)"#), "True"),
        case(c, format!("{cert}.NotAfter > DateTime.UtcNow"), "True"),
        case(c, format!("{cert}.NotAfter < DateTime.UtcNow.AddDays(5)"), "False"),
        case(c, format!("{cert}.NotAfter < DateTime.Now.AddDays(30)"), "True"),
        case(c, format!("{cert}.NotBefore <= DateTime.UtcNow"), "True"),
        case(c, format!("{cert}.SubjectName == \"CN=client.example\""), "compile:CS0019"),
        case(c, format!("{cert}.Thumbprint == 'AB'"), "compile:CS1012"),
        case(c, format!(r#"{cert}.Issuer.StartsWith("CN=Oracle CA")"#), "True"),
        case(c, format!(r#"{cert}.Subject.EndsWith("c=us", StringComparison.InvariantCultureIgnoreCase)"#), "True"),
        case(c, format!(r#"{cert}.Subject.Contains("O=Contoso")"#), "False"),
        case(c, format!(r#"{cert}?.Subject != null"#), "True"),
        case(c, format!("DateTime.UtcNow.AddDays(-2) < {cert}.NotBefore"), "True"),
        case(c, format!(r#"{cert}.NotAfter > DateTime.UtcNow ? "valid" : "expired""#), "string:valid"),
        case(c, format!("{cert}.Issuer == {cert}.Subject"), "False"),
        case(Some("ca"), format!("{cert}.Issuer == {cert}.Subject"), "True"),
        case(c, format!("{cert}.NotBefore > DateTime.UtcNow"), "False"),
        case(c, format!("DateTime.UtcNow > {cert}.NotAfter.AddDays(-30)"), "True"),
        case(c, format!("{cert}.Extensions.Count > 1"), "True"),
        case(None, r#"string.IsNullOrEmpty(context.Request.Headers.GetValueOrDefault("X-Client-Id", ""))"#, "True"),
        case(None, r#"!string.IsNullOrEmpty(context.Request.Headers.GetValueOrDefault("X-Client-Id", "")) && true"#, "True")
            .header("X-Client-Id", "42"),
        case(None, r#""\u00A0AB\u3000".Trim() == "AB""#, "True"),
        case(None, r#""\u200EAB ".Trim()"#, "string:\\u200EAB"),
        case(None, r#"string.Equals(null, null)"#, "True"),
        case(None, "context.LastError == null", "True"),
        // GetNameInfo, subject and issuer side.
        case(c, format!("{cert}.GetNameInfo(X509NameType.SimpleName, false)"), "string:client.example"),
        case(c, format!("{cert}.GetNameInfo(X509NameType.EmailName, false)"), "string:ops@client.example"),
        case(c, format!("{cert}.GetNameInfo(X509NameType.UpnName, false)"), "string:svc@corp.example"),
        case(c, format!("{cert}.GetNameInfo(X509NameType.DnsName, false)"), "string:api.client.example"),
        case(c, format!("{cert}.GetNameInfo(X509NameType.DnsFromAlternativeName, false)"), "string:api.client.example"),
        case(c, format!("{cert}.GetNameInfo(X509NameType.UrlName, false)"), "string:https://client.example/id"),
        case(c, format!("{cert}.GetNameInfo(X509NameType.SimpleName, true)"), "string:Oracle CA"),
        case(c, format!("{cert}.GetNameInfo(X509NameType.EmailName, true)"), "string:pki@ca.example"),
        case(c, format!("{cert}.GetNameInfo(X509NameType.UpnName, true)"), "string:"),
        case(c, format!("{cert}.GetNameInfo(X509NameType.DnsName, true)"), "string:ca.example"),
        case(c, format!("{cert}.GetNameInfo(X509NameType.DnsFromAlternativeName, true)"), "string:ca.example"),
        case(c, format!("{cert}.GetNameInfo(X509NameType.UrlName, true)"), "string:http://ca.example/"),
        case(Some("plain"), format!("{cert}.GetNameInfo(X509NameType.DnsName, false)"), "string:plain.example"),
        case(Some("plain"), format!("{cert}.GetNameInfo(X509NameType.DnsFromAlternativeName, false)"), "string:")
            .windows("string:plain.example"),
        case(Some("plain"), format!("{cert}.GetNameInfo(X509NameType.EmailName, false)"), "string:"),
        case(Some("plain"), format!("{cert}.GetNameInfo(X509NameType.UrlName, false)"), "string:"),
        // Linux (OpenSSL's reader in .NET Core 3.1) finds no simple name without a CN; Windows'
        // CertGetNameString falls back to OU, then O, then E.
        case(Some("ou"), format!("{cert}.GetNameInfo(X509NameType.SimpleName, false)"), "string:").windows("string:Ops"),
        case(Some("ou"), format!("{cert}.GetNameInfo(X509NameType.DnsName, false)"), "string:"),
        // Extensions and casts.
        case(c, format!(r#"{cert}.Extensions["2.5.29.17"] != null"#), "True"),
        // .NET Core 3.1 on Linux resolves the name through OpenSSL ("X509v3 Subject Alternative
        // Name"), so the lookup finds nothing; Windows (CryptFindOIDInfo) and current .NET's own
        // table resolve it.
        case(c, format!(r#"{cert}.Extensions["Subject Alternative Name"].Critical"#), "exception:NullReferenceException")
            .windows("False"),
        case(c, format!(r#"{cert}.Extensions["1.2.3.4"] == null"#), "True"),
        case(c, format!(r#"{cert}.Extensions["1.2.3.4"].Critical"#), "exception:NullReferenceException"),
        case(c, format!(r#"{cert}.Extensions["2.5.29.18"]?.Oid.Value"#), "string:2.5.29.18"),
        case(c, format!("{cert}.Extensions[99]"), "exception:ArgumentOutOfRangeException"),
        case(c, format!("{cert}.Extensions.Count"), "int:2"),
        case(c, format!("{cert}.Extensions[0].Oid.Value"), "string:2.5.29.17"),
        case(c, format!(r#"{cert}.Extensions["2.5.29.17"].Oid.FriendlyName"#), "string:X509v3 Subject Alternative Name")
            .refused("FriendlyName"),
        case(c, format!(r#"((X509BasicConstraintsExtension){cert}.Extensions["2.5.29.19"]) == null"#), "True"),
        case(c, r#"context.Variables.GetValueOrDefault<string>("missing", "dflt")"#, "string:dflt"),
        case(c, r#"context.Variables.GetValueOrDefault<string>("missing") == null"#, "True"),
        case(c, r#"context.Request.Headers.GetValueOrDefault("x-missing", "d")"#, "string:d"),
        case(c, r#"context.Request.Headers.GetValueOrDefault("x-tier", "")"#, "string:gold").header("X-Tier", "gold"),
        case(c, r#"(string)context.Variables["tier"] == "gold""#, "True").var("tier", "gold"),
        case(c, r#"context.Variables.GetValueOrDefault<string>("tier") == "gold""#, "True").var("tier", "gold"),
        case(c, r#"(bool)context.Variables["tier"]"#, "exception:InvalidCastException").var("tier", "gold"),
        case(c, r#"(bool)context.Variables["ok"]"#, "True").var_bool("ok", true),
        case(c, r#"context.Variables.GetValueOrDefault<bool>("ok")"#, "False").var_bool("ok", false),
        case(c, r#"(string)context.Variables["ok"] == "True""#, "exception:InvalidCastException").var_bool("ok", true),
        // context.Deployment.Certificates: the service's certificate entities.
        case(c, format!("context.Deployment.Certificates.Any(e => e.Value.Thumbprint == {cert}.Thumbprint)"), "True")
            .deploy("ca-cert", "ca")
            .deploy("client-cert", "client"),
        case(c, format!("context.Deployment.Certificates.Any(e => e.Value.Thumbprint == {cert}.Thumbprint)"), "False")
            .deploy("ca-cert", "ca"),
        case(c, r#"context.Deployment.Certificates.Any(e => e.Key == "ca-cert")"#, "True").deploy("ca-cert", "ca"),
        case(c, "context.Deployment.Certificates.Any()", "False").nothing_deployed(),
        case(c, format!(r#"context.Deployment.Certificates["client-cert"].Thumbprint == {cert}.Thumbprint"#), "True")
            .deploy("client-cert", "client")
            .refused("indexing context.Deployment.Certificates is not supported"),
        // Certificates built from a forwarded header.
        case(
            None,
            format!(
                r#"new X509Certificate2(Convert.FromBase64String(context.Request.Headers.GetValueOrDefault("X-ARR-ClientCert", ""))).Thumbprint == "{thumb}""#
            ),
            "True",
        )
        .header("X-ARR-ClientCert", &b64),
        case(
            None,
            format!(
                r#"new X509Certificate2(Convert.FromBase64String(context.Request.Headers.GetValueOrDefault("X-ARR-ClientCert", ""))).Thumbprint == "{thumb}""#
            ),
            "True",
        )
        .header("X-ARR-ClientCert", &pem_b64),
        case(None, r#"Convert.FromBase64String(context.Request.Headers.GetValueOrDefault("X-ARR-ClientCert", "")) != null"#, "exception:FormatException")
            .header("X-ARR-ClientCert", "not base64!"),
        // Linux throws its subclass OpenSslCryptographicException; Windows a CryptographicException.
        case(
            None,
            r#"new X509Certificate2(Convert.FromBase64String(context.Request.Headers.GetValueOrDefault("X-ARR-ClientCert", ""))).Issuer"#,
            "string:CN=Oracle CA, O=Oracle Test",
        )
        .header("X-ARR-ClientCert", &b64),
        case(
            None,
            r#"new X509Certificate2(Convert.FromBase64String(context.Request.Headers.GetValueOrDefault("X-ARR-ClientCert", ""))).NotAfter > DateTime.UtcNow"#,
            "True",
        )
        .header("X-ARR-ClientCert", &b64),
        case(None, r#"Convert.FromBase64String("aGVsbG8") != null"#, "exception:FormatException"),
        case(None, r#"Convert.FromBase64String(" aGVs bG8= ").Length"#, "int:5").refused("member `Length` of a byte array"),
        case(None, r#"new X509Certificate2(Convert.FromBase64String("aGVsbG8=")) != null"#, "exception:OpenSslCryptographicException")
            .windows("exception:CryptographicException"),
        // No bytes make an empty certificate (X509Certificate(byte[]) loads only when there are bytes,
        // on .NET Framework too); reading it throws.
        case(None, r#"new X509Certificate2(Convert.FromBase64String("")) != null"#, "True"),
        case(None, r#"new X509Certificate2(Convert.FromBase64String("")).Thumbprint == "AB""#, "exception:CryptographicException"),
        case(None, r#"new X509Certificate2(Convert.FromBase64String("")).Subject == "AB""#, "exception:CryptographicException"),
        case(None, r#"Convert.FromBase64String(context.Request.Headers.GetValueOrDefault("X-ARR-ClientCert", null)) != null"#, "exception:ArgumentNullException"),
        // Statement blocks.
        case(c, format!(r#"{{ var t = {cert}?.Thumbprint; if (t == null) {{ return false; }} return t == "{thumb}"; }}"#), "True"),
        case(None, format!(r#"{{ var t = {cert}?.Thumbprint; if (t == null) {{ return false; }} return t == "{thumb}"; }}"#), "False"),
    ]
}
