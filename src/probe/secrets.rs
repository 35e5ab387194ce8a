//! Finding the secrets a request carried (Authorization, subscription keys, cookies) where they
//! show up again, so that the probe and the session redactor cut them out the same way.

use super::options::{is_secret_header, Header};

/// What redacted text shows instead of a secret.
const REDACTED: &str = "[redacted]";

/// A text that ends in this many characters of a secret or more is taken to have been cut inside
/// it (a body preview, a clipped message), and the tail goes. Shorter tails are too common in
/// ordinary text to remove.
const MIN_CUT_PREFIX: usize = 4;

/// The secret values of these request headers, as `secret_fragments` spells them.
pub fn request_secrets(headers: &[Header]) -> Vec<String> {
    headers.iter().filter(|h| is_secret_header(&h.name)).flat_map(|h| secret_fragments(&h.value)).collect()
}

/// [`request_secrets`], and the body the request carried (`--data`), which may hold credentials:
/// the whole of it, and each field value of a form body (`a=1&password=…`), as an echo would show them.
pub fn request_secrets_with_body(headers: &[Header], body: Option<&super::body::RequestBody>) -> Vec<String> {
    let mut out = request_secrets(headers);
    if let Some(text) = body.and_then(|b| b.bytes()).and_then(|b| std::str::from_utf8(b).ok()) {
        out.extend(secret_fragments(text));
        for field in text.split('&') {
            if let Some((_, value)) = field.split_once('=') {
                out.extend(secret_fragments(value));
            }
        }
    }
    out
}

/// The value itself, and for `Scheme credentials` (Basic, Bearer …) the credentials alone, which is
/// what a server tends to echo. Short values are skipped: cutting every "ab" out of a report would
/// mangle it and protect nothing.
pub fn secret_fragments(value: &str) -> Vec<String> {
    const MIN_SECRET_LEN: usize = 6;
    let mut out = vec![value.trim().to_string()];
    if let Some((_, credentials)) = value.trim().split_once(' ') {
        out.push(credentials.trim().to_string());
    }
    out.retain(|s| s.len() >= MIN_SECRET_LEN && s != REDACTED);
    out
}

/// `text` with every secret replaced by `[redacted]`, matched regardless of ASCII case (servers
/// upper-case what they echo), and a tail that is the start of a secret removed as well. `None`
/// when nothing needed to change.
pub fn redact_secrets(text: &str, secrets: &[String]) -> Option<String> {
    let mut out: Option<String> = None;
    // Longest first: a value and its credentials overlap.
    let mut ordered: Vec<&String> = secrets.iter().collect();
    ordered.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in &ordered {
        let current = out.as_deref().unwrap_or(text);
        if let Some(clean) = replace_ignoring_case(current, secret) {
            out = Some(clean);
        }
    }
    for secret in &ordered {
        let current = out.as_deref().unwrap_or(text);
        if let Some(clean) = cut_secret_tail(current, secret) {
            out = Some(clean);
        }
    }
    out
}

/// How far past a cut at `limit` to read so that a secret straddling it is seen whole.
pub fn slack(secrets: &[String], limit: usize) -> usize {
    secrets.iter().map(String::len).max().unwrap_or(0).min(limit)
}

/// The first `limit` bytes of `bytes` (read `slack` past the limit) as text, secrets redacted
/// before the cut. Text that fit is kept whole, even where `[redacted]` made it longer.
pub fn redacted_prefix(bytes: &[u8], secrets: &[String], limit: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut text = redact_secrets(&text, secrets).unwrap_or_else(|| text.into_owned());
    if bytes.len() > limit && text.len() > limit {
        let mut cut = limit;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// ASCII lower-casing keeps every byte offset, so a match in the lowered text is the same span in
/// the original.
fn replace_ignoring_case(text: &str, secret: &str) -> Option<String> {
    let hay = text.to_ascii_lowercase();
    let needle = secret.to_ascii_lowercase();
    if needle.is_empty() || !hay.contains(&needle) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (at, _) in hay.match_indices(&needle) {
        out.push_str(&text[last..at]);
        out.push_str(REDACTED);
        last = at + needle.len();
    }
    out.push_str(&text[last..]);
    Some(out)
}

fn cut_secret_tail(text: &str, secret: &str) -> Option<String> {
    let hay = text.to_ascii_lowercase();
    let needle = secret.to_ascii_lowercase();
    (MIN_CUT_PREFIX..needle.len())
        .rev()
        .filter(|&n| needle.is_char_boundary(n))
        .find(|&n| hay.ends_with(&needle[..n]))
        .map(|n| format!("{}{REDACTED}", &text[..text.len() - n]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_go_in_any_case_and_at_a_cut() {
        let secrets = secret_fragments("Bearer token-value-123");
        assert_eq!(redact_secrets("got TOKEN-VALUE-123 ok", &secrets).as_deref(), Some("got [redacted] ok"));
        assert_eq!(redact_secrets("echo: Bearer token-val", &secrets).as_deref(), Some("echo: [redacted]"));
        assert_eq!(redact_secrets("ends in tok", &secrets), None, "three characters are ordinary text");
        assert_eq!(redact_secrets("nothing here", &secrets), None);
        assert_eq!(redact_secrets("é TOKEN-VALUE-123 é", &secrets).as_deref(), Some("é [redacted] é"));
    }
}
