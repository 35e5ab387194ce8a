//! JSON text that is safe to `cat`: serde_json leaves DEL, the C1 controls (U+0080–U+009F, among
//! them the 8-bit CSI U+009B) and bidi/invisible characters raw; they are written as `\uXXXX`.
//!
//! Outside strings JSON text holds only ASCII punctuation, digits, letters and whitespace, so
//! escaping every such character in the whole text touches string contents only, and reading the
//! JSON back gives the very same strings.

use std::fmt::Write as _;

/// `json` (serialized by serde_json) with every non-whitespace control, DEL, C1 control and
/// invisible or bidi character escaped.
pub fn escape_json_text(json: String) -> String {
    if !json.chars().any(needs_escape) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if needs_escape(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The pretty printer's own newlines and indentation stay; serde_json already escapes them (and
/// every other C0 control) inside strings.
fn needs_escape(c: char) -> bool {
    !matches!(c, '\n' | '\r' | '\t' | ' ') && (c.is_control() || crate::policy::is_invisible(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c1_del_and_bidi_are_escaped_and_read_back_the_same() {
        let value = serde_json::json!({ "s": "a\u{9b}b\u{7f}c\u{202e}d\u{2066}e\u{85}\n\u{1b}" });
        let text = escape_json_text(serde_json::to_string_pretty(&value).expect("json"));
        assert!(text.is_ascii(), "{text}");
        assert!(text.contains("\\u009b") && text.contains("\\u202e") && text.contains("\\u007f"), "{text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).expect("parse"), value);
        assert_eq!(escape_json_text("{\n  \"ok\": \"é\"\n}".into()), "{\n  \"ok\": \"é\"\n}");
    }
}
