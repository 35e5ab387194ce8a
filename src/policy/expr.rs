//! Tokenizer and recursive-descent parser for the C# expression subset that certificate checks use.
//!
//! The parser is deliberately generic (member access, calls, lambdas, operators); what those mean is
//! decided by the evaluator, which names anything it does not model instead of guessing.

/// A byte range in the expression source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    fn to(self, other: Span) -> Span {
        Span { start: self.start, end: other.end }
    }

    pub fn text(self, src: &str) -> &str {
        src.get(self.start..self.end).unwrap_or_default()
    }
}

/// Something outside the supported subset, with the exact fragment it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsupported {
    pub span: Span,
    pub why: String,
}

impl Unsupported {
    fn new(span: Span, why: impl Into<String>) -> Self {
        Unsupported { span, why: why.into() }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Dot,
    Comma,
    LParen,
    RParen,
    Not,
    Minus,
    EqEq,
    NotEq,
    Lt,
    Gt,
    Le,
    Ge,
    AndAnd,
    OrOr,
    Arrow,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Gt => ">",
            BinOp::Le => "<=",
            BinOp::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ExprKind {
    /// A string literal after C# unescaping.
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Ident(String),
    Paren(Box<Expr>),
    Member {
        target: Box<Expr>,
        name: String,
    },
    Call {
        target: Box<Expr>,
        name: String,
        args: Vec<Expr>,
    },
    Lambda {
        param: String,
        body: Box<Expr>,
    },
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
}

/// Parse a whole expression; anything left over is unsupported.
pub(crate) fn parse(src: &str) -> Result<Expr, Unsupported> {
    let tokens = tokenize(src)?;
    let mut p = Parser { tokens, pos: 0, src_len: src.len(), depth: 0 };
    let expr = p.expr()?;
    if let Some(t) = p.tokens.get(p.pos) {
        let span = Span { start: t.span.start, end: src.len() };
        return Err(Unsupported::new(span, "unexpected text after the end of the expression"));
    }
    Ok(expr)
}

/// The operands of the top-level `||` (or `&&`) chain: what a person reads as the clauses.
pub(crate) fn clauses(expr: &Expr) -> (Option<BinOp>, Vec<&Expr>) {
    fn flatten<'e>(e: &'e Expr, op: BinOp, out: &mut Vec<&'e Expr>) {
        match &e.kind {
            ExprKind::Binary { op: o, left, right } if *o == op => {
                flatten(left, op, out);
                flatten(right, op, out);
            }
            _ => out.push(e),
        }
    }
    match &expr.kind {
        ExprKind::Binary { op: op @ (BinOp::Or | BinOp::And), .. } => {
            let mut out = Vec::new();
            flatten(expr, *op, &mut out);
            (Some(*op), out)
        }
        _ => (None, vec![expr]),
    }
}

fn tokenize(src: &str) -> Result<Vec<Token>, Unsupported> {
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
            if at(j) == Some('.') && at(j + 1).is_some_and(|c| c.is_ascii_digit()) {
                j += 1;
                while at(j).is_some_and(|c| c.is_ascii_digit()) {
                    j += 1;
                }
            }
            if at(j).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                let mut k = j;
                while at(k).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                    k += 1;
                }
                return Err(Unsupported::new(
                    Span { start, end: off(k) },
                    "numeric literals with a suffix or in hex are not supported",
                ));
            }
            let span = Span { start, end: off(j) };
            let value = span.text(src).parse::<f64>().map_err(|_| Unsupported::new(span, "number out of range"))?;
            out.push(Token { tok: Tok::Num(value), span });
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
            let mut j = i + 1;
            while let Some(d) = at(j) {
                j += 1;
                if d == '\\' {
                    j += 1;
                } else if d == '\'' || d == '\n' {
                    break;
                }
            }
            return Err(Unsupported::new(Span { start, end: off(j) }, "character literals are not supported"));
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
        } else {
            match c {
                '.' => (Some(Tok::Dot), 1),
                ',' => (Some(Tok::Comma), 1),
                '(' => (Some(Tok::LParen), 1),
                ')' => (Some(Tok::RParen), 1),
                '!' => (Some(Tok::Not), 1),
                '-' if at(i + 1) != Some('-') && at(i + 1) != Some('=') => (Some(Tok::Minus), 1),
                '<' => (Some(Tok::Lt), 1),
                '>' => (Some(Tok::Gt), 1),
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
                if c == '?' && at(i + 1) == Some('.') {
                    j = i + 2;
                } else if punct.contains(c) {
                    while at(j).is_some_and(|d| punct.contains(d)) {
                        j += 1;
                    }
                }
                let span = Span { start, end: off(j) };
                let why = match span.text(src) {
                    "?." => "the null-conditional operator ?. is not supported".to_string(),
                    "??" => "the null-coalescing operator ?? is not supported".to_string(),
                    "?" | ":" => "the conditional operator ?: is not supported".to_string(),
                    "{" | "}" | ";" => "statement blocks are not supported (only single expressions)".to_string(),
                    "[" | "]" => "indexers are not supported".to_string(),
                    "+" => "string concatenation and arithmetic are not supported".to_string(),
                    other => format!("`{other}` is not supported"),
                };
                return Err(Unsupported::new(span, why));
            }
        }
    }
    Ok(out)
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
        let simple = match e {
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
        };
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

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    src_len: usize,
    depth: usize,
}

/// Bounds the tree's height (nesting plus operators chained at one level) far above any real
/// condition, so parsing, evaluation and drop cannot exhaust the stack on hostile input.
const MAX_DEPTH: usize = 64;
const TOO_DEEP: &str = "the expression is nested too deeply or chains too many operators";

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.tokens.get(self.pos + n).map(|t| &t.tok)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn end_span(&self) -> Span {
        let start = self.tokens.last().map(|t| t.span.start).unwrap_or(0);
        Span { start, end: self.src_len }
    }

    fn unexpected(&self, what: &str) -> Unsupported {
        match self.tokens.get(self.pos) {
            Some(t) => Unsupported::new(t.span, format!("unexpected token, {what}")),
            None => Unsupported::new(self.end_span(), format!("the expression ends early, {what}")),
        }
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<Span, Unsupported> {
        if self.peek() == Some(&tok) {
            Ok(self.next().map(|t| t.span).unwrap_or_else(|| self.end_span()))
        } else {
            Err(self.unexpected(what))
        }
    }

    fn expr(&mut self) -> Result<Expr, Unsupported> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let span = self.tokens.get(self.pos).map(|t| t.span).unwrap_or_else(|| self.end_span());
            return Err(Unsupported::new(span, TOO_DEEP));
        }
        let e = self.or();
        self.depth -= 1;
        e
    }

    fn binary_level(
        &mut self,
        next: fn(&mut Self) -> Result<Expr, Unsupported>,
        ops: &[(Tok, BinOp)],
    ) -> Result<Expr, Unsupported> {
        let base = self.depth;
        let mut left = next(self)?;
        loop {
            let Some(op) = ops.iter().find(|(t, _)| self.peek() == Some(t)).map(|(_, op)| *op) else {
                self.depth = base;
                return Ok(left);
            };
            // Each operator chained here deepens the left-leaning tree by one.
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                let span = self.tokens.get(self.pos).map(|t| t.span).unwrap_or_else(|| self.end_span());
                return Err(Unsupported::new(span, TOO_DEEP));
            }
            self.pos += 1;
            let right = next(self)?;
            let span = left.span.to(right.span);
            left = Expr { kind: ExprKind::Binary { op, left: Box::new(left), right: Box::new(right) }, span };
        }
    }

    fn or(&mut self) -> Result<Expr, Unsupported> {
        self.binary_level(Self::and, &[(Tok::OrOr, BinOp::Or)])
    }

    fn and(&mut self) -> Result<Expr, Unsupported> {
        self.binary_level(Self::equality, &[(Tok::AndAnd, BinOp::And)])
    }

    fn equality(&mut self) -> Result<Expr, Unsupported> {
        self.binary_level(Self::relational, &[(Tok::EqEq, BinOp::Eq), (Tok::NotEq, BinOp::Ne)])
    }

    fn relational(&mut self) -> Result<Expr, Unsupported> {
        self.binary_level(
            Self::unary,
            &[(Tok::Lt, BinOp::Lt), (Tok::Gt, BinOp::Gt), (Tok::Le, BinOp::Le), (Tok::Ge, BinOp::Ge)],
        )
    }

    fn unary(&mut self) -> Result<Expr, Unsupported> {
        match self.peek() {
            Some(Tok::Not) | Some(Tok::Minus) => {
                let Some(t) = self.next() else { return Err(self.unexpected("expected an operand")) };
                // Each prefix operator counts as a level, like a parenthesis.
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(Unsupported::new(t.span, TOO_DEEP));
                }
                let operand = self.unary();
                self.depth -= 1;
                let operand = operand?;
                let span = t.span.to(operand.span);
                let kind =
                    if t.tok == Tok::Not { ExprKind::Not(Box::new(operand)) } else { ExprKind::Neg(Box::new(operand)) };
                Ok(Expr { kind, span })
            }
            _ => self.postfix(),
        }
    }

    fn postfix(&mut self) -> Result<Expr, Unsupported> {
        let mut e = self.primary()?;
        while self.peek() == Some(&Tok::Dot) {
            self.pos += 1;
            let name = match self.peek() {
                Some(Tok::Ident(_)) => match self.next() {
                    Some(Token { tok: Tok::Ident(n), span }) => (n, span),
                    _ => return Err(self.unexpected("expected a member name after `.`")),
                },
                _ => return Err(self.unexpected("expected a member name after `.`")),
            };
            if self.peek() == Some(&Tok::LParen) {
                self.pos += 1;
                let mut args = Vec::new();
                if self.peek() != Some(&Tok::RParen) {
                    loop {
                        args.push(self.argument()?);
                        if self.peek() == Some(&Tok::Comma) {
                            self.pos += 1;
                            continue;
                        }
                        break;
                    }
                }
                let close = self.expect(Tok::RParen, "expected `)` to close the argument list")?;
                let span = e.span.to(close);
                e = Expr { kind: ExprKind::Call { target: Box::new(e), name: name.0, args }, span };
            } else {
                let span = e.span.to(name.1);
                e = Expr { kind: ExprKind::Member { target: Box::new(e), name: name.0 }, span };
            }
        }
        if self.peek() == Some(&Tok::LParen) {
            return Err(self.unexpected("only methods called on an object are supported"));
        }
        Ok(e)
    }

    fn argument(&mut self) -> Result<Expr, Unsupported> {
        // `c => …` and `(c) => …`
        if let (Some(Tok::Ident(_)), Some(Tok::Arrow)) = (self.peek(), self.peek_at(1)) {
            return self.lambda(false);
        }
        if let (Some(Tok::LParen), Some(Tok::Ident(_)), Some(Tok::RParen), Some(Tok::Arrow)) =
            (self.peek(), self.peek_at(1), self.peek_at(2), self.peek_at(3))
        {
            return self.lambda(true);
        }
        self.expr()
    }

    fn lambda(&mut self, parenthesized: bool) -> Result<Expr, Unsupported> {
        let first = self.tokens.get(self.pos).map(|t| t.span).unwrap_or_else(|| self.end_span());
        if parenthesized {
            self.pos += 1;
        }
        let param = match self.next() {
            Some(Token { tok: Tok::Ident(n), .. }) => n,
            _ => return Err(self.unexpected("expected a lambda parameter")),
        };
        if parenthesized {
            self.expect(Tok::RParen, "expected `)` after the lambda parameter")?;
        }
        self.expect(Tok::Arrow, "expected `=>`")?;
        let body = self.expr()?;
        let span = first.to(body.span);
        Ok(Expr { kind: ExprKind::Lambda { param, body: Box::new(body) }, span })
    }

    fn primary(&mut self) -> Result<Expr, Unsupported> {
        let Some(t) = self.next() else {
            return Err(self.unexpected("expected a value"));
        };
        let kind = match t.tok {
            Tok::Str(s) => ExprKind::Str(s),
            Tok::Num(n) => ExprKind::Num(n),
            Tok::Ident(name) => match name.as_str() {
                "true" => ExprKind::Bool(true),
                "false" => ExprKind::Bool(false),
                "null" => ExprKind::Null,
                _ => {
                    if self.peek() == Some(&Tok::Arrow) {
                        return Err(Unsupported::new(t.span, "a lambda is only supported as a method argument"));
                    }
                    ExprKind::Ident(name)
                }
            },
            Tok::LParen => {
                let inner = self.expr()?;
                let close = self.expect(Tok::RParen, "expected `)`")?;
                return Ok(Expr { kind: ExprKind::Paren(Box::new(inner)), span: t.span.to(close) });
            }
            _ => {
                self.pos -= 1;
                return Err(self.unexpected("expected a value"));
            }
        };
        Ok(Expr { kind, span: t.span })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(src: &str, e: &Expr) -> String {
        e.span.text(src).to_string()
    }

    #[test]
    fn precedence_follows_csharp() {
        let src = "a || b && !c == d < e";
        let e = parse(src).expect("should succeed");
        let ExprKind::Binary { op: BinOp::Or, right, .. } = &e.kind else { panic!("{e:?}") };
        let ExprKind::Binary { op: BinOp::And, right, .. } = &right.kind else { panic!("{right:?}") };
        let ExprKind::Binary { op: BinOp::Eq, left, right } = &right.kind else { panic!("{right:?}") };
        assert!(matches!(left.kind, ExprKind::Not(_)));
        assert!(matches!(right.kind, ExprKind::Binary { op: BinOp::Lt, .. }));
    }

    #[test]
    fn string_escapes_and_verbatim() {
        let e = parse(r#""a\"b\\c\u200Ed\x41""#).expect("should succeed");
        assert_eq!(e.kind, ExprKind::Str("a\"b\\c\u{200E}dA".into()));
        let e = parse(r#"@"C:\x ""q""""#).expect("should succeed");
        assert_eq!(e.kind, ExprKind::Str("C:\\x \"q\"".into()));
        let e = parse(r#""\uD83D\uDE00""#).expect("should succeed");
        assert_eq!(e.kind, ExprKind::Str("\u{1F600}".into()));
    }

    #[test]
    fn clauses_flatten_the_top_level_chain() {
        let src = "a == null || (b || c) || d.E()";
        let e = parse(src).expect("should succeed");
        let (op, cl) = clauses(&e);
        assert_eq!(op, Some(BinOp::Or));
        let texts: Vec<_> = cl.iter().map(|c| text(src, c)).collect();
        assert_eq!(texts, ["a == null", "(b || c)", "d.E()"]);
    }

    #[test]
    fn lambdas_in_arguments() {
        let src = "x.Any(c => c.Value.Thumbprint == \"A\") && x.Any((d) => true)";
        let e = parse(src).expect("should succeed");
        let (_, cl) = clauses(&e);
        let ExprKind::Call { name, args, .. } = &cl[0].kind else { panic!() };
        assert_eq!(name, "Any");
        assert!(matches!(&args[0].kind, ExprKind::Lambda { param, .. } if param == "c"));
    }

    #[test]
    fn unsupported_fragments_are_exact() {
        let src = "a?.B == \"x\"";
        let err = parse(src).expect_err("should fail");
        assert_eq!(err.span.text(src), "?.");
        let src = "a + \"b\"";
        assert_eq!(parse(src).expect_err("should fail").span.text(src), "+");
        let src = "$\"x{a}\" == b";
        assert_eq!(parse(src).expect_err("should fail").span.text(src), "$\"x{a}\"");
        let src = "\"abc";
        assert_eq!(parse(src).expect_err("should fail").why, "unterminated string literal");
        let src = "a == b c";
        assert_eq!(parse(src).expect_err("should fail").span.text(src), "c");
        let src = "(a == b";
        assert!(parse(src).expect_err("should fail").why.contains("expected `)`"));
    }

    #[test]
    fn hostile_nesting_is_refused_not_overflowed() {
        let deep = format!("{}a{}", "(".repeat(100_000), ")".repeat(100_000));
        assert_eq!(parse(&deep).expect_err("should fail").why, TOO_DEEP);
        let nots = format!("{}a", "!".repeat(100_000));
        assert_eq!(parse(&nots).expect_err("should fail").why, TOO_DEEP);
        let chain = vec!["a == b"; 100_000].join(" || ");
        assert_eq!(parse(&chain).expect_err("should fail").why, TOO_DEEP);
        let fine = format!("{}a{}", "(".repeat(20), ")".repeat(20));
        assert!(parse(&fine).is_ok());
        let clauses20 = vec!["a == b"; 20].join(" || ");
        assert_eq!(clauses(&parse(&clauses20).expect("should succeed")).1.len(), 20);
    }

    #[test]
    fn negative_numbers_and_comments() {
        let src = "x.AddDays(-30) /* soon */ < y // end";
        let e = parse(src).expect("should succeed");
        let ExprKind::Binary { op: BinOp::Lt, left, .. } = &e.kind else { panic!() };
        let ExprKind::Call { args, .. } = &left.kind else { panic!() };
        assert!(matches!(&args[0].kind, ExprKind::Neg(n) if n.kind == ExprKind::Num(30.0)));
    }
}
