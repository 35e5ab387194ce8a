//! Hostnames as `X509_check_host` matches them with default flags.

use super::node::Node;

pub(super) fn host_matches(leaf: &Node, host: &str) -> bool {
    let host = host.as_bytes();
    if leaf.has_dns_san {
        return leaf.dns_sans.iter().any(|p| equal_wildcard(p.as_bytes(), host));
    }
    // Subject CNs count only when there is no DNS SAN at all.
    leaf.common_names.iter().any(|cn| equal_wildcard(cn.as_bytes(), host))
}

fn equal_nocase(pattern: &[u8], subject: &[u8]) -> bool {
    pattern.len() == subject.len()
        && !pattern.contains(&0)
        && pattern.iter().zip(subject).all(|(a, b)| a.eq_ignore_ascii_case(b))
}

fn equal_wildcard(pattern: &[u8], subject: &[u8]) -> bool {
    // A subject starting with '.' is a domain suffix, never a wildcard match.
    let star = if subject.len() > 1 && subject[0] == b'.' { None } else { valid_star(pattern) };
    match star {
        None => equal_nocase(pattern, subject),
        Some(at) => wildcard_match(&pattern[..at], &pattern[at + 1..], subject),
    }
}

/// Where the one allowed `*` is: in the first label, at its start or end, not in an IDNA label,
/// with at least two more labels after it.
fn valid_star(p: &[u8]) -> Option<usize> {
    let mut star = None;
    let mut label_start = true;
    let mut idna = false;
    let mut hyphen = false;
    let mut dots = 0;
    for (i, &c) in p.iter().enumerate() {
        if c == b'*' {
            let at_end = i + 1 == p.len() || p[i + 1] == b'.';
            if star.is_some() || idna || dots > 0 || (!label_start && !at_end) {
                return None;
            }
            star = Some(i);
            label_start = false;
        } else if c.is_ascii_alphanumeric() {
            if label_start && p.len() - i >= 4 && p[i..i + 4].eq_ignore_ascii_case(b"xn--") {
                idna = true;
            }
            hyphen = false;
            label_start = false;
        } else if c == b'.' {
            if hyphen || label_start {
                return None;
            }
            label_start = true;
            idna = false;
            dots += 1;
        } else if c == b'-' {
            if label_start {
                return None;
            }
            hyphen = true;
        } else {
            return None;
        }
    }
    if label_start || hyphen || dots < 2 {
        return None;
    }
    star
}

fn wildcard_match(prefix: &[u8], suffix: &[u8], subject: &[u8]) -> bool {
    if subject.len() < prefix.len() + suffix.len() {
        return false;
    }
    if !equal_nocase(prefix, &subject[..prefix.len()]) {
        return false;
    }
    let wild_end = subject.len() - suffix.len();
    if !equal_nocase(&subject[wild_end..], suffix) {
        return false;
    }
    let wild = &subject[prefix.len()..wild_end];
    let whole_label = prefix.is_empty() && suffix.first() == Some(&b'.');
    if whole_label && wild.is_empty() {
        return false;
    }
    if !whole_label && subject.len() >= 4 && subject[..4].eq_ignore_ascii_case(b"xn--") {
        return false;
    }
    if wild == b"*" {
        return true;
    }
    wild.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_follow_x509_check_host() {
        let m = |p: &str, h: &str| equal_wildcard(p.as_bytes(), h.as_bytes());
        assert!(m("*.example.com", "api.example.com"));
        assert!(m("*.example.com", "API.Example.COM"));
        assert!(!m("*.example.com", "a.b.example.com"));
        assert!(!m("*.example.com", "example.com"));
        assert!(!m("*.com", "example.com"), "a wildcard needs two labels after it");
        assert!(m("api*.example.com", "api1.example.com"), "partial wildcards are allowed by default");
        assert!(!m("a*b.example.com", "axb.example.com"), "no wildcard inside a label");
        assert!(!m("xn--*.example.com", "xn--a.example.com"), "no wildcard in an IDNA label");
        assert!(!m("api.example.com", "api.example.com."), "a trailing dot is not stripped");
        assert!(m("api.example.com", "API.EXAMPLE.COM"));
    }
}
