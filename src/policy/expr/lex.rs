//! The tokenizer of the C# expression subset: identifiers, numbers, operators and C# string
//! literals (regular with every escape, and verbatim `@"…"`), each token with its span.

use super::{Span, Unsupported};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Ident(String),
    Str(String),
    /// A character literal `'x'` (one UTF-16 code unit in C#; one outside the BMP is refused).
    Char(char),
    /// A real literal (`1.5`, `2d`): a C# double.
    Num(f64),
    /// An integer literal; `long` when it has the `L` suffix.
    Int {
        value: u64,
        long: bool,
    },
    Dot,
    Comma,
    LParen,
    RParen,
    Not,
    Minus,
    Plus,
    /// `&` (bitwise and, or the non-short-circuit logical and)
    Amp,
    /// `|`
    Pipe,
    Star,
    Slash,
    Percent,
    EqEq,
    NotEq,
    Lt,
    Gt,
    Le,
    Ge,
    AndAnd,
    OrOr,
    Arrow,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    /// `?.`
    QDot,
    /// `??`
    QQ,
    /// `;` (statement blocks)
    Semi,
    /// `=` (assignment in statement blocks)
    Assign,
    /// `?` of the conditional operator `c ? a : b`
    Question,
    /// `:` of the conditional operator
    Colon,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) span: Span,
}

pub(super) fn tokenize(src: &str) -> Result<Vec<Token>, Unsupported> {
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|(_, c)| *c);
    let off = |i: usize| chars.get(i).map(|(o, _)| *o).unwrap_or(src.len());
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        let start = off(i);
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        // Comments are legal inside a multi-line expression.
        if c == '/' && at(i + 1) == Some('/') {
            while at(i).is_some_and(|c| c != '\n') {
                i += 1;
            }
            continue;
        }
        if c == '/' && at(i + 1) == Some('*') {
            let mut j = i + 2;
            loop {
                match at(j) {
                    None => return Err(Unsupported::new(Span { start, end: src.len() }, "unterminated /* comment")),
                    Some('*') if at(j + 1) == Some('/') => break,
                    _ => j += 1,
                }
            }
            i = j + 2;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let mut j = i;
            while at(j).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                j += 1;
            }
            let span = Span { start, end: off(j) };
            out.push(Token { tok: Tok::Ident(span.text(src).to_string()), span });
            i = j;
            continue;
        }
        if c.is_ascii_digit() {
            let mut j = i;
            while at(j).is_some_and(|c| c.is_ascii_digit()) {
                j += 1;
            }
            let mut real = false;
            if at(j) == Some('.') && at(j + 1).is_some_and(|c| c.is_ascii_digit()) {
                real = true;
                j += 1;
                while at(j).is_some_and(|c| c.is_ascii_digit()) {
                    j += 1;
                }
            }
            let digits = Span { start, end: off(j) };
            // The suffixes C# gives a literal its type by: `L` long, `D` double.
            let suffix = match at(j) {
                Some('L' | 'l') if !real && !at(j + 1).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') => {
                    j += 1;
                    Some('L')
                }
                Some('D' | 'd') if !at(j + 1).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') => {
                    j += 1;
                    Some('D')
                }
                _ => None,
            };
            if at(j).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                let mut k = j;
                while at(k).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                    k += 1;
                }
                return Err(Unsupported::new(
                    Span { start, end: off(k) },
                    "numeric literals in hex or with a suffix other than L or D (uint, float, decimal) are not supported",
                ));
            }
            let span = Span { start, end: off(j) };
            let text = digits.text(src);
            let tok = if real || suffix == Some('D') {
                Tok::Num(text.parse::<f64>().map_err(|_| Unsupported::new(span, "number out of range"))?)
            } else {
                let value = text
                    .parse::<u64>()
                    .map_err(|_| Unsupported::compile(span, "CS1021: Integral constant is too large"))?;
                Tok::Int { value, long: suffix == Some('L') }
            };
            out.push(Token { tok, span });
            i = j;
            continue;
        }
        if c == '@' && at(i + 1) == Some('"') {
            let (value, next) = verbatim_string(&chars, i + 2, src)?;
            out.push(Token { tok: Tok::Str(value), span: Span { start, end: off(next) } });
            i = next;
            continue;
        }
        if c == '"' {
            let (value, next) = regular_string(&chars, i + 1, src)?;
            out.push(Token { tok: Tok::Str(value), span: Span { start, end: off(next) } });
            i = next;
            continue;
        }
        if c == '$' && matches!(at(i + 1), Some('"' | '@')) {
            let end = string_end(&chars, i, src);
            return Err(Unsupported::new(Span { start, end }, "interpolated strings are not supported"));
        }
        if c == '\'' {
            // The characters between the quotes, an escape kept whole.
            let mut j = i + 1;
            let mut body = String::new();
            let mut closed = false;
            while let Some(d) = at(j) {
                if d == '\n' {
                    break;
                }
                j += 1;
                if d == '\'' {
                    closed = true;
                    break;
                }
                body.push(d);
                if d == '\\' {
                    if let Some(e) = at(j).filter(|e| *e != '\n') {
                        body.push(e);
                        j += 1;
                    }
                }
            }
            let span = Span { start, end: off(j) };
            if !closed {
                return Err(Unsupported::compile(span, "CS1010: Newline in constant"));
            }
            let tok = char_literal(&body).map_err(|e| match e {
                CharError::Empty => Unsupported::compile(span, "CS1011: Empty character literal"),
                CharError::TooMany => Unsupported::compile(span, "CS1012: Too many characters in character literal"),
                CharError::Other(why) => Unsupported::new(span, why),
            })?;
            out.push(Token { tok: Tok::Char(tok), span });
            i = j;
            continue;
        }
        let two = |a: char, b: char| c == a && at(i + 1) == Some(b);
        let (tok, len) = if two('=', '=') {
            (Some(Tok::EqEq), 2)
        } else if two('!', '=') {
            (Some(Tok::NotEq), 2)
        } else if two('<', '=') {
            (Some(Tok::Le), 2)
        } else if two('>', '=') {
            (Some(Tok::Ge), 2)
        } else if two('&', '&') {
            (Some(Tok::AndAnd), 2)
        } else if two('|', '|') {
            (Some(Tok::OrOr), 2)
        } else if two('=', '>') {
            (Some(Tok::Arrow), 2)
        } else if two('?', '.') && !at(i + 2).is_some_and(|d| d.is_ascii_digit()) {
            (Some(Tok::QDot), 2)
        } else if two('?', '?') && at(i + 2) != Some('=') {
            (Some(Tok::QQ), 2)
        } else {
            match c {
                '.' => (Some(Tok::Dot), 1),
                ',' => (Some(Tok::Comma), 1),
                '(' => (Some(Tok::LParen), 1),
                ')' => (Some(Tok::RParen), 1),
                '{' => (Some(Tok::LBrace), 1),
                '}' => (Some(Tok::RBrace), 1),
                '[' => (Some(Tok::LBracket), 1),
                ']' => (Some(Tok::RBracket), 1),
                '!' => (Some(Tok::Not), 1),
                '-' if at(i + 1) != Some('-') && at(i + 1) != Some('=') => (Some(Tok::Minus), 1),
                '+' if at(i + 1) != Some('+') && at(i + 1) != Some('=') => (Some(Tok::Plus), 1),
                '*' if at(i + 1) != Some('=') => (Some(Tok::Star), 1),
                '&' if at(i + 1) != Some('=') => (Some(Tok::Amp), 1),
                '|' if at(i + 1) != Some('=') => (Some(Tok::Pipe), 1),
                '/' if at(i + 1) != Some('=') => (Some(Tok::Slash), 1),
                '%' if at(i + 1) != Some('=') => (Some(Tok::Percent), 1),
                '<' => (Some(Tok::Lt), 1),
                '>' => (Some(Tok::Gt), 1),
                ';' => (Some(Tok::Semi), 1),
                '=' if !matches!(at(i + 1), Some('=' | '>')) => (Some(Tok::Assign), 1),
                // `??=` stays one unsupported operator; `?.` and `??` are matched above.
                '?' if !matches!(at(i + 1), Some('?' | ':')) => (Some(Tok::Question), 1),
                ':' if !matches!(at(i + 1), Some(':')) => (Some(Tok::Colon), 1),
                _ => (None, 1),
            }
        };
        match tok {
            Some(tok) => {
                out.push(Token { tok, span: Span { start, end: off(i + len) } });
                i += len;
            }
            None => {
                let mut j = i + 1;
                let punct = "?+-*/%&|^=<>:~";
                if punct.contains(c) {
                    while at(j).is_some_and(|d| punct.contains(d)) {
                        j += 1;
                    }
                }
                let span = Span { start, end: off(j) };
                let why = match span.text(src) {
                    "??=" => "the assignment ??= is not supported".to_string(),
                    "?:" => "`?:` is not a C# operator (the conditional operator needs a value between `?` and `:`)"
                        .to_string(),
                    "::" => "the alias qualifier `::` is not supported".to_string(),
                    ";" => "statement blocks are not supported (only single expressions)".to_string(),
                    "++" | "--" => "the increment and decrement operators are not supported".to_string(),
                    other => format!("`{other}` is not supported"),
                };
                return Err(Unsupported::new(span, why));
            }
        }
    }
    Ok(out)
}

enum CharError {
    Empty,
    TooMany,
    Other(&'static str),
}

/// The value of a character literal's body (between the quotes), as C# reads it.
fn char_literal(body: &str) -> Result<char, CharError> {
    let mut chars = body.chars();
    let Some(first) = chars.next() else { return Err(CharError::Empty) };
    let rest: String = chars.collect();
    let unit = if first != '\\' {
        if !rest.is_empty() || first.len_utf16() > 1 {
            return Err(CharError::TooMany);
        }
        return Ok(first);
    } else {
        let mut esc = rest.chars();
        let kind = esc.next().ok_or(CharError::Other("unterminated escape in character literal"))?;
        let hex: String = esc.collect();
        let simple = simple_escape(kind);
        if let Some(c) = simple {
            return if hex.is_empty() { Ok(c) } else { Err(CharError::TooMany) };
        }
        let (min, max) = match kind {
            'u' => (4, 4),
            'x' => (1, 4),
            'U' => (8, 8),
            _ => return Err(CharError::Other("unknown escape sequence in character literal")),
        };
        if hex.len() < min || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(CharError::Other("malformed escape sequence in character literal"));
        }
        if hex.len() > max {
            return Err(CharError::TooMany);
        }
        u32::from_str_radix(&hex, 16).map_err(|_| CharError::Other("malformed escape sequence"))?
    };
    if unit > 0xFFFF {
        return Err(CharError::TooMany);
    }
    char::from_u32(unit).ok_or(CharError::Other("a lone UTF-16 surrogate in a character literal is not supported"))
}

/// Byte offset just past the string literal (of any kind) that starts at char index `i`, or the end.
fn string_end(chars: &[(usize, char)], i: usize, src: &str) -> usize {
    let mut j = i;
    while chars.get(j).is_some_and(|(_, c)| *c != '"') {
        j += 1;
    }
    j += 1;
    while let Some((_, c)) = chars.get(j) {
        j += 1;
        if *c == '"' {
            break;
        }
    }
    chars.get(j).map(|(o, _)| *o).unwrap_or(src.len())
}

fn verbatim_string(chars: &[(usize, char)], mut j: usize, src: &str) -> Result<(String, usize), Unsupported> {
    let start = chars.get(j.saturating_sub(2)).map(|(o, _)| *o).unwrap_or(0);
    let mut value = String::new();
    loop {
        match chars.get(j).map(|(_, c)| *c) {
            None => {
                return Err(Unsupported::new(Span { start, end: src.len() }, "unterminated verbatim string literal"))
            }
            Some('"') if chars.get(j + 1).map(|(_, c)| *c) == Some('"') => {
                value.push('"');
                j += 2;
            }
            Some('"') => return Ok((value, j + 1)),
            Some(c) => {
                value.push(c);
                j += 1;
            }
        }
    }
}

fn regular_string(chars: &[(usize, char)], mut j: usize, src: &str) -> Result<(String, usize), Unsupported> {
    let off = |k: usize| chars.get(k).map(|(o, _)| *o).unwrap_or(src.len());
    let start = off(j.saturating_sub(1));
    let at = |k: usize| chars.get(k).map(|(_, c)| *c);
    let mut value = String::new();
    // UTF-16 code units from \u escapes, so surrogate pairs combine as C# would.
    let mut pending_high: Option<u16> = None;
    loop {
        let c = match at(j) {
            None | Some('\n') | Some('\r') => {
                return Err(Unsupported::new(Span { start, end: off(j) }, "unterminated string literal"))
            }
            Some(c) => c,
        };
        if c == '"' {
            if pending_high.is_some() {
                return Err(Unsupported::new(
                    Span { start, end: off(j + 1) },
                    "lone UTF-16 surrogate in string literal",
                ));
            }
            return Ok((value, j + 1));
        }
        if c != '\\' {
            if pending_high.is_some() {
                return Err(Unsupported::new(
                    Span { start, end: off(j + 1) },
                    "lone UTF-16 surrogate in string literal",
                ));
            }
            value.push(c);
            j += 1;
            continue;
        }
        let esc_start = off(j);
        let e =
            at(j + 1).ok_or_else(|| Unsupported::new(Span { start, end: src.len() }, "unterminated string literal"))?;
        let simple = simple_escape(e);
        if let Some(s) = simple {
            if pending_high.is_some() {
                return Err(Unsupported::new(
                    Span { start, end: off(j + 2) },
                    "lone UTF-16 surrogate in string literal",
                ));
            }
            value.push(s);
            j += 2;
            continue;
        }
        let (min, max) = match e {
            'u' => (4, 4),
            'U' => (8, 8),
            'x' => (1, 4),
            _ => {
                return Err(Unsupported::new(
                    Span { start: esc_start, end: off(j + 2) },
                    "unknown escape sequence in string literal",
                ))
            }
        };
        let mut k = j + 2;
        let mut code: u32 = 0;
        while k < j + 2 + max && at(k).is_some_and(|c| c.is_ascii_hexdigit()) {
            code = code * 16 + at(k).and_then(|c| c.to_digit(16)).unwrap_or(0);
            k += 1;
        }
        let esc_span = Span { start: esc_start, end: off(k) };
        if k - (j + 2) < min {
            return Err(Unsupported::new(esc_span, "malformed escape sequence in string literal"));
        }
        j = k;
        if e == 'U' {
            let ch = char::from_u32(code)
                .ok_or_else(|| Unsupported::new(esc_span, "escape is not a valid Unicode scalar value"))?;
            value.push(ch);
            continue;
        }
        let unit = u16::try_from(code).map_err(|_| Unsupported::new(esc_span, "escape out of range"))?;
        match (pending_high.take(), unit) {
            (None, 0xD800..=0xDBFF) => pending_high = Some(unit),
            (Some(high), 0xDC00..=0xDFFF) => {
                let ch = char::decode_utf16([high, unit]).next().and_then(|r| r.ok());
                value.push(ch.ok_or_else(|| Unsupported::new(esc_span, "invalid surrogate pair"))?);
            }
            (None, 0xDC00..=0xDFFF) | (Some(_), _) => {
                return Err(Unsupported::new(esc_span, "lone UTF-16 surrogate in string literal"))
            }
            (None, u) => value.push(char::from_u32(u32::from(u)).unwrap_or('\u{FFFD}')),
        }
    }
}

/// What a C# simple escape sequence (`\n`, `\'`, `\0`…) stands for, by the character after the
/// backslash; `None` for `\x`, `\u`, `\U` and anything C# does not take.
fn simple_escape(c: char) -> Option<char> {
    match c {
        '\'' => Some('\''),
        '"' => Some('"'),
        '\\' => Some('\\'),
        '0' => Some('\0'),
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        _ => None,
    }
}
