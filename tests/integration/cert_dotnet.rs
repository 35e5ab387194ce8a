//! DN vectors: certificates assembled byte by byte, and the exact `X500DistinguishedName.Name` that
//! .NET on Windows (managed gateway) and on Linux (self-hosted gateway) gives for each.
//!
//! Every expected string cites the dotnet/runtime source it follows. "Oracle:" lines record what a
//! real .NET Core 3.1.23 on Linux printed for the same DER (`scripts/dotnet-oracle.sh`; set
//! `MTLS_DOCTOR_DN_VECTORS=DIR` to have this test write the vectors there). 3.1 predates the
//! managed decoder's `#hex` fallback for non-string values (it returned ""), so where the current
//! source differs the model follows the current source, which a self-hosted gateway runs.

use mtls_doctor::cert::{CertInfo, LinuxView, LoadRefusal, NameField};
use time::OffsetDateTime;

/// One DER element with a definite length.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().iter().copied().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().expect("arc")).collect();
    let mut body = Vec::new();
    let mut push = |mut v: u64| {
        let mut chunk = vec![(v & 0x7F) as u8];
        v >>= 7;
        while v > 0 {
            chunk.push(0x80 | (v & 0x7F) as u8);
            v >>= 7;
        }
        chunk.reverse();
        body.extend(chunk);
    };
    push(arcs[0] * 40 + arcs[1]);
    for a in &arcs[2..] {
        push(*a);
    }
    tlv(0x06, &body)
}

const UTF8: u8 = 0x0C;
const NUMERIC: u8 = 0x12;
const PRINTABLE: u8 = 0x13;
const T61: u8 = 0x14;
const IA5: u8 = 0x16;
const VISIBLE: u8 = 0x1A;
const UNIVERSAL: u8 = 0x1C;
const BMP: u8 = 0x1E;
const OCTETS: u8 = 0x04;
const INTEGER: u8 = 0x02;

/// A Name from RDNs in encoded order; each attribute is (OID, value tag, value bytes).
fn name(rdns: &[&[(&str, u8, &[u8])]]) -> Vec<u8> {
    let mut seq = Vec::new();
    for rdn in rdns {
        let mut set = Vec::new();
        for (o, t, v) in *rdn {
            set.extend(tlv(0x30, &[oid(o), tlv(*t, v)].concat()));
        }
        seq.extend(tlv(0x31, &set));
    }
    tlv(0x30, &seq)
}

/// A certificate with this serial (INTEGER contents), issuer and subject. The signature is not
/// valid: neither parser nor .NET checks it when loading.
fn cert(serial: &[u8], issuer: &[u8], subject: &[u8]) -> Vec<u8> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let alg = tlv(0x30, &oid("1.2.840.10045.4.3.2"));
    let validity = tlv(0x30, &[tlv(0x17, b"250101000000Z"), tlv(0x17, b"350101000000Z")].concat());
    let tbs = tlv(
        0x30,
        &[
            tlv(0xA0, &tlv(INTEGER, &[2])),
            tlv(INTEGER, serial),
            alg.clone(),
            issuer.to_vec(),
            validity,
            subject.to_vec(),
            rcgen::PublicKeyData::subject_public_key_info(&key),
        ]
        .concat(),
    );
    let signature = tlv(0x03, &[&[0u8][..], &tlv(0x30, &[tlv(INTEGER, &[1]), tlv(INTEGER, &[1])].concat())].concat());
    tlv(0x30, &[tbs, alg, signature].concat())
}

fn ca() -> Vec<u8> {
    name(&[&[("2.5.4.3", UTF8, b"Vector CA")]])
}

fn model(label: &str, der: &[u8]) -> CertInfo {
    if let Some(dir) = std::env::var_os("MTLS_DOCTOR_DN_VECTORS") {
        std::fs::write(std::path::Path::new(&dir).join(format!("{label}.der")), der).expect("write vector");
    }
    CertInfo::from_der(der, OffsetDateTime::now_utc()).unwrap_or_else(|e| panic!("{label}: {e}"))
}

/// (label, subject DER, Windows string, Linux string when it differs)
fn check(label: &str, subject: Vec<u8>, windows: &str, linux: Option<&str>) {
    let info = model(label, &cert(&[0x01], &ca(), &subject));
    assert_eq!(info.subject, windows, "{label}: Windows subject");
    assert_eq!(info.issuer, "CN=Vector CA", "{label}: issuer");
    let expected = linux.map(|s| LinuxView::Names { subject: s.to_string(), issuer: "CN=Vector CA".to_string() });
    assert_eq!(info.linux, expected, "{label}: Linux view");
}

fn check_refused(label: &str, serial: &[u8], subject: Vec<u8>, windows: &str, refusal: LoadRefusal) {
    let info = model(label, &cert(serial, &ca(), &subject));
    assert_eq!(info.subject, windows, "{label}: Windows subject");
    assert_eq!(info.linux, Some(LinuxView::CannotLoad { refusal }), "{label}: Linux view");
}

#[test]
fn friendly_names_from_dotnets_table() {
    // OidLookup.cs (InitializeLookupDictionaries) names these on every platform; X500NameEncoder.cs
    // AppendOid prints the friendly name; '+' in "+1 425" needs quotes (X500NameEncoder.cs
    // NeedsQuoting). Oracle: exactly this string.
    check(
        "friendly",
        name(&[
            &[("2.5.4.6", PRINTABLE, b"US")],
            &[("2.5.4.17", UTF8, b"98052")],
            &[("2.5.4.18", UTF8, b"12")],
            &[("2.5.4.20", PRINTABLE, b"+1 425")],
            &[("2.5.4.24", NUMERIC, b"1234")],
            &[("2.5.4.13", UTF8, b"desc")],
            &[("2.5.4.46", PRINTABLE, b"q")],
            &[("2.5.4.3", UTF8, b"x")],
        ]),
        "CN=x, dnQualifier=q, Description=desc, X21Address=1234, Phone=\"+1 425\", POBox=12, PostalCode=98052, C=US",
        None,
    );
}

#[test]
fn unknown_oids_take_openssl_names_on_linux() {
    // Windows: not in OidLookup.cs, so AppendOid prints "OID." + dotted. Linux: OidLookup.OpenSsl.cs
    // falls back to OpenSSL's long name (OBJ_nid2ln). Oracle: exactly the Linux string.
    check(
        "openssl-names",
        name(&[
            &[("2.5.4.15", UTF8, b"Private Organization")],
            &[("1.3.6.1.4.1.311.60.2.1.3", PRINTABLE, b"US")],
            &[("0.9.2342.19200300.100.1.1", UTF8, b"u1")],
            &[("2.5.4.65", UTF8, b"nick")],
            &[("2.5.4.44", UTF8, b"Jr")],
            &[("1.2.3.4.5", UTF8, b"z")],
            &[("2.5.4.3", UTF8, b"x")],
        ]),
        "CN=x, OID.1.2.3.4.5=z, OID.2.5.4.44=Jr, OID.2.5.4.65=nick, OID.0.9.2342.19200300.100.1.1=u1, \
         OID.1.3.6.1.4.1.311.60.2.1.3=US, OID.2.5.4.15=Private Organization",
        Some(
            "CN=x, OID.1.2.3.4.5=z, generationQualifier=Jr, pseudonym=nick, userId=u1, \
             jurisdictionCountryName=US, businessCategory=Private Organization",
        ),
    );
}

#[test]
fn t61_string_is_utf8_first_then_latin1() {
    // System.Formats.Asn1 T61Encoding: UTF-8 when valid, else Latin-1. Oracle: "CN=café" for both.
    check("t61-utf8", name(&[&[("2.5.4.3", T61, "café".as_bytes())]]), "CN=café", None);
    check("t61-latin1", name(&[&[("2.5.4.3", T61, b"caf\xE9")]]), "CN=café", None);
}

#[test]
fn trailing_nuls_are_trimmed() {
    // X500NameEncoder.ManagedDecode.cs ReadAttributeValue: TrimEnd('\0') on every string value.
    // Oracle: "CN=abc" and "CN=a\0b".
    check("nul", name(&[&[("2.5.4.3", UTF8, b"abc\0\0")]]), "CN=abc", None);
    // A NUL inside the value stays.
    check("nul-inside", name(&[&[("2.5.4.3", UTF8, b"a\0b")]]), "CN=a\0b", None);
}

#[test]
fn invalid_text_gives_an_empty_name() {
    // X500NameEncoder.cs X500DistinguishedNameDecode catches the decoding exception and returns ""
    // ("Windows compat"); never an error message in place of a value.
    // On Linux OpenSSL cannot canonicalise such a name, so the certificate does not load at all.
    // Oracle: both LOADFAIL ("asn1_template_noexp_d2i:nested asn1 error").
    let undecodable = |asn1_tag| LoadRefusal::NameValueUndecodable {
        field: NameField::Subject,
        attribute: "2.5.4.3".into(),
        asn1_tag,
    };
    let bad_utf8 = name(&[&[("2.5.4.10", UTF8, b"ok")], &[("2.5.4.3", UTF8, b"\xC3\x28")]]);
    check_refused("bad-utf8", &[0x01], bad_utf8, "", undecodable(UTF8));
    check_refused("odd-bmp", &[0x01], name(&[&[("2.5.4.3", BMP, b"\x00a\x00")]]), "", undecodable(BMP));
    let short_universal = name(&[&[("2.5.4.3", UNIVERSAL, b"\x00\x00\x00")]]);
    check_refused("universal-short", &[0x01], short_universal, "", undecodable(UNIVERSAL));
    // OpenSSL accepts a UTF-8-encoded surrogate, .NET's UTF-8 decoder does not: loads, name "".
    // Oracle: empty Subject. Both platforms agree, so there is no Linux view.
    check("utf8-surrogate", name(&[&[("2.5.4.3", UTF8, b"\xED\xA0\x80")]]), "", None);
}

#[test]
fn empty_rdn_set_keeps_its_separator() {
    // X500NameEncoder.ManagedDecode.cs: the separator is written before every RDN after the first,
    // and an empty SET contributes no attribute. Oracle: "O=b, , CN=a".
    check("empty-rdn", name(&[&[("2.5.4.3", UTF8, b"a")], &[], &[("2.5.4.10", UTF8, b"b")]]), "O=b, , CN=a", None);
}

#[test]
fn strict_string_types_empty_the_name_on_linux() {
    // System.Formats.Asn1 AsnCharacterStringEncodings.cs: PrintableString has no '@' or '*',
    // IA5String is 7-bit, BMPString rejects a lone surrogate; the throw empties the whole name.
    // Windows' CertNameToStr does not police the sets.
    // Oracle: each of these four printed an empty Subject.
    check("printable-at", name(&[&[("2.5.4.3", PRINTABLE, b"a@b")]]), "CN=a@b", Some(""));
    check("printable-star", name(&[&[("2.5.4.3", PRINTABLE, b"*.contoso.com")]]), "CN=*.contoso.com", Some(""));
    check("ia5-high", name(&[&[("1.2.840.113549.1.9.1", IA5, b"caf\xE9@x")]]), "E=café@x", Some(""));
    check("bmp-surrogate", name(&[&[("2.5.4.3", BMP, b"\xD8\x00\x00a")]]), "CN=\u{FFFD}a", Some(""));
    // BMPEncoding is UCS-2: even a valid surrogate pair is refused on Linux. Oracle: empty Subject.
    check("bmp-pair", name(&[&[("2.5.4.3", BMP, b"\xD8\x3D\xDE\x00")]]), "CN=\u{1F600}", Some(""));
    // NumericString is digits and space. Oracle: empty Subject.
    check("numeric-letter", name(&[&[("2.5.4.3", NUMERIC, b"12a")]]), "CN=12a", Some(""));
    // The same characters in a type that allows them are fine everywhere. Oracle: "CN=a@b".
    check("ia5-at", name(&[&[("2.5.4.3", IA5, b"a@b")]]), "CN=a@b", None);
}

#[test]
fn non_string_values_on_windows_and_linux() {
    let refused =
        |asn1_tag| LoadRefusal::NameValueType { field: NameField::Subject, attribute: "2.5.4.3".into(), asn1_tag };
    // X500NameEncoder.ManagedDecode.cs ReadAttributeValue: an OCTET STRING shows "#" + hex of its
    // contents ("Windows will implicitly unwrap one OCTET STRING"), never quoted. OpenSSL does not
    // take an OCTET STRING in a name. Oracle: LOADFAIL.
    check_refused("octets", &[0x01], name(&[&[("2.5.4.3", OCTETS, b"\x01\xAB")]]), "CN=#01AB", refused(OCTETS));
    // Any other non-string type: "#" + hex of the whole encoding. Oracle: LOADFAIL.
    check_refused("integer", &[0x01], name(&[&[("2.5.4.3", INTEGER, b"\x05")]]), "CN=#020105", refused(INTEGER));
    // OpenSSL's tag2bit/B_ASN1_PRINTABLE (crypto/asn1/tasn_dec.c) leaves these out. Oracle: each LOADFAIL.
    for (label, t, v) in [
        ("boolean", 0x01, &b"\xFF"[..]),
        ("null", 0x05, b""),
        ("oid", 0x06, b"\x2A\x03"),
        ("utctime", 0x17, b"250101000000Z"),
        ("videotex", 0x15, b"hi"),
        ("graphic", 0x19, b"hi"),
        ("general", 0x1B, b"hi"),
        ("visible", VISIBLE, b"hi"),
        ("context", 0x80, b"hi"),
    ] {
        let info = model(label, &cert(&[0x01], &ca(), &name(&[&[("2.5.4.3", t, v)]])));
        assert_eq!(info.linux, Some(LinuxView::CannotLoad { refusal: refused(t) }), "{label}");
        if t == VISIBLE {
            // CryptoAPI decodes VisibleString as text.
            assert_eq!(info.subject, "CN=hi");
        } else {
            assert_eq!(info.subject, format!("CN=#{t:02X}{:02X}{}", v.len(), hex::encode_upper(v)), "{label}");
        }
    }
    // Types OpenSSL loads but the managed decoder has no string case for: "#" + hex of the whole
    // encoding on current .NET (Oracle, .NET Core 3.1: "" — it threw before the fallback existed).
    // Windows decodes UniversalString as text.
    check(
        "universal",
        name(&[&[("2.5.4.3", UNIVERSAL, b"\x00\x00\x00h\x00\x00\x00i")]]),
        "CN=hi",
        Some("CN=#1C080000006800000069"),
    );
    check("bitstring", name(&[&[("2.5.4.3", 0x03, b"\x00\x41")]]), "CN=#03020041", None);
}

#[test]
fn openssl_refuses_malformed_serials() {
    // OpenSSL's c2i_ASN1_INTEGER: no empty INTEGER, no redundant leading byte. Windows loads both.
    // Oracle: LOADFAIL for all three.
    let subject = name(&[&[("2.5.4.3", UTF8, b"s")]]);
    check_refused("serial-empty", &[], subject.clone(), "CN=s", LoadRefusal::EmptySerial);
    check_refused("serial-padded", &[0x00, 0x01], subject.clone(), "CN=s", LoadRefusal::NonMinimalSerial);
    check_refused("serial-ff", &[0xFF, 0x80], subject, "CN=s", LoadRefusal::NonMinimalSerial);
}

#[test]
fn ordinary_certificates_have_no_linux_view() {
    let info = model(
        "plain",
        &cert(&[0x01, 0x02], &ca(), &name(&[&[("2.5.4.6", PRINTABLE, b"US")], &[("2.5.4.3", UTF8, b"plain")]])),
    );
    assert_eq!(info.subject, "CN=plain, C=US");
    assert_eq!(info.linux, None);
    let json = serde_json::to_value(&info).expect("json");
    assert!(json.get("linux").is_none(), "no linux key when both platforms agree");
    // Sessions saved before the field existed still load.
    let mut old = json.clone();
    old.as_object_mut().expect("object").remove("linux");
    let back: CertInfo = serde_json::from_value(old).expect("old session");
    assert_eq!(back, info);
}

#[test]
fn linux_view_round_trips_through_json() {
    let info = model("roundtrip", &cert(&[0x00, 0x05], &ca(), &name(&[&[("2.5.4.3", UTF8, b"r")]])));
    let json = serde_json::to_string(&info).expect("json");
    assert!(json.contains("\"linux\":{\"cannot_load\":{\"refusal\":{\"kind\":\"non_minimal_serial\"}}}"), "{json}");
    let back: CertInfo = serde_json::from_str(&json).expect("back");
    assert_eq!(back, info);
}

#[test]
fn inspect_report_with_linux_views_matches_the_schema() {
    use crate::util::{bin, run, stdout, Dir};
    let dir = Dir::new();
    let subject = name(&[&[("2.5.4.15", UTF8, b"Private Organization")], &[("2.5.4.3", PRINTABLE, b"a@b")]]);
    let cases = [("differs", cert(&[0x01], &ca(), &subject)), ("refused", cert(&[0x00, 0x01], &ca(), &subject))];
    for (label, der) in cases {
        let path = dir.write(&format!("{label}.der"), &der);
        let o = run(bin().arg("inspect").arg(&path).args(["--report", "json"]));
        let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert!(stdout(&o).contains("\"linux\""), "{label}: the report carries the Linux view");
        crate::report::assert_valid("inspect_report", label, &doc);
    }
}
