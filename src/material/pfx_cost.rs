//! What opening a PKCS#12 file would cost before it is opened: every password-based key derivation
//! and the MAC run their iteration count, so a file asking for 2^31-1 would hold a CPU for minutes.

use x509_parser::der_parser::asn1_rs::{Any, FromDer as _, Tag};

/// The most iterations one MAC or key derivation may ask for. Writers stay far below: OpenSSL
/// writes 2048, Windows 2000, Java's keytool 10,000 (older JDKs 50,000 to 100,000).
pub const MAX_ITERATIONS: u64 = 1_000_000;
/// The most iterations all derivations of one file may ask for together (a Java keystore with many
/// entries derives once per entry).
pub const MAX_TOTAL_ITERATIONS: u64 = 8_000_000;

/// Which limit a file exceeds, in words for the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CostLimit {
    Mac(u64),
    KeyDerivation(u64),
    Total(u64),
}

impl std::fmt::Display for CostLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = "mtls-doctor refuses it rather than spend minutes of CPU; OpenSSL, Windows and Java write a few \
                   thousand to a hundred thousand, so re-export it with `openssl pkcs12 -export`";
        match self {
            CostLimit::Mac(n) => {
                write!(f, "PKCS#12 file asks for {n} MAC iterations, above the limit of {MAX_ITERATIONS}: {why}")
            }
            CostLimit::KeyDerivation(n) => write!(
                f,
                "PKCS#12 file asks for {n} key-derivation iterations, above the limit of {MAX_ITERATIONS}: {why}"
            ),
            CostLimit::Total(n) => write!(
                f,
                "PKCS#12 file asks for {n} iterations in all, above the limit of {MAX_TOTAL_ITERATIONS} per file: {why}"
            ),
        }
    }
}

/// The first limit the file's iteration counts exceed, or `None` when opening it is affordable (or
/// its structure is not understood here: then the PKCS#12 decoder reports the damage).
pub fn check(der: &[u8]) -> Option<CostLimit> {
    let (_, pfx) = Any::from_der(der).ok()?;
    let items = children(&pfx)?;
    let mut total: u64 = 0;
    if let Some(mac_data) = items.get(2) {
        let iterations = children(mac_data).and_then(|m| m.get(2).and_then(integer)).unwrap_or(1);
        if iterations > MAX_ITERATIONS {
            return Some(CostLimit::Mac(iterations));
        }
        total = iterations;
    }
    let mut budget = NODE_BUDGET;
    for item in items.iter().skip(1).take(1) {
        if let Some(limit) = walk(item, 0, &mut total, &mut budget) {
            return Some(limit);
        }
    }
    None
}

const MAX_DEPTH: usize = 16;
const NODE_BUDGET: usize = 200_000;

fn walk(node: &Any, depth: usize, total: &mut u64, budget: &mut usize) -> Option<CostLimit> {
    if depth > MAX_DEPTH || *budget == 0 {
        return None;
    }
    *budget -= 1;
    let kids = children(node)?;
    if let Some(iterations) = pbe_iterations(&kids) {
        if iterations > MAX_ITERATIONS {
            return Some(CostLimit::KeyDerivation(iterations));
        }
        *total = total.saturating_add(iterations);
        if *total > MAX_TOTAL_ITERATIONS {
            return Some(CostLimit::Total(*total));
        }
    }
    kids.iter().find_map(|k| walk(k, depth + 1, total, budget))
}

/// The children of a constructed element, or of an OCTET STRING that holds DER (PKCS#12 wraps its
/// safe contents in OCTET STRINGs). Encrypted content is primitive and is never entered.
fn children<'a>(node: &Any<'a>) -> Option<Vec<Any<'a>>> {
    let data = node.data;
    let holds_der = node.header.is_constructed() || (node.tag() == Tag::OctetString && data.first() == Some(&0x30));
    if !holds_der {
        return None;
    }
    let mut items = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let (next, item) = Any::from_der(rest).ok()?;
        items.push(item);
        rest = next;
    }
    Some(items)
}

/// An AlgorithmIdentifier for a password-based scheme whose parameters start with a salt and an
/// iteration count: PKCS#12 PBE (1.2.840.113549.1.12.1.*), PBKDF2 and PBES1 (1.2.840.113549.1.5.*).
fn pbe_iterations(alg: &[Any]) -> Option<u64> {
    let oid = alg.first()?.as_oid().ok()?.to_id_string();
    let password_based = oid.starts_with("1.2.840.113549.1.12.1.")
        || (oid.starts_with("1.2.840.113549.1.5.") && oid != "1.2.840.113549.1.5.13");
    if !password_based {
        return None;
    }
    let params = children(alg.get(1)?)?;
    match params.as_slice() {
        [salt, count, ..] if salt.tag() == Tag::OctetString => integer(count),
        _ => None,
    }
}

/// A non-negative INTEGER; one too long for 64 bits counts as the largest.
fn integer(node: &Any) -> Option<u64> {
    if node.tag() != Tag::Integer || node.data.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let digits: Vec<u8> = node.data.iter().copied().skip_while(|&b| b == 0).collect();
    if digits.len() > 8 {
        return Some(u64::MAX);
    }
    Some(digits.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_in_words_name_the_count_and_the_cap() {
        let text = CostLimit::Mac(2_147_483_647).to_string();
        assert!(text.contains("2147483647 MAC iterations") && text.contains("1000000"), "{text}");
        assert!(CostLimit::KeyDerivation(5_000_000).to_string().contains("key-derivation"));
    }

    #[test]
    fn garbage_is_not_judged_here() {
        assert_eq!(check(b""), None);
        assert_eq!(check(&[0x30, 0x03, 0x02, 0x01, 0x03]), None);
        assert_eq!(check(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
    }
}
