//! Recursive-descent parser for the C# expression subset that certificate checks use (tokens from `lex`).
//!
//! The parser is deliberately generic (member access, calls, lambdas, operators); what those mean is
//! decided by the evaluator, which names anything it does not model instead of guessing.

mod lex;
mod ops;
mod stmt;

use self::lex::{tokenize, Tok, Token};
pub(crate) use self::stmt::{parse_block, Stmt};

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
    /// The C# compiler's error when the text does not compile at all (APIM refuses to save it).
    pub compile_error: Option<String>,
}

impl Unsupported {
    fn new(span: Span, why: impl Into<String>) -> Self {
        Unsupported { span, why: why.into(), compile_error: None }
    }

    fn compile(span: Span, error: &str) -> Self {
        Unsupported { span, why: error.to_string(), compile_error: Some(error.to_string()) }
    }
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
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    BitAnd,
    BitOr,
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
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::BitAnd => "&",
            BinOp::BitOr => "|",
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
    /// A character literal.
    Char(char),
    /// A real literal: a C# double.
    Num(f64),
    /// An integer literal: an `int`, or a `long` (the `L` suffix, or too large for an int).
    Int {
        value: i64,
        long: bool,
    },
    Bool(bool),
    Null,
    Ident(String),
    Paren(Box<Expr>),
    /// `target.name`, or `target?.name` when `null_cond`.
    Member {
        target: Box<Expr>,
        name: String,
        null_cond: bool,
    },
    Call {
        target: Box<Expr>,
        name: String,
        /// The type argument of a generic call, `GetValueOrDefault<string>(…)`.
        type_arg: Option<String>,
        args: Vec<Expr>,
        null_cond: bool,
    },
    /// `new string[] { … }` or `new[] { … }`.
    Array(Vec<Expr>),
    /// `new X509Certificate2(…)`: a certificate built from bytes (one forwarded in a header).
    NewCertificate(Vec<Expr>),
    /// `left ?? right`
    Coalesce {
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Lambda {
        param: String,
        body: Box<Expr>,
    },
    /// `cond ? then : otherwise`
    Conditional {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    /// `target[index]`
    Index {
        target: Box<Expr>,
        index: Box<Expr>,
        null_cond: bool,
    },
    /// `(type)operand`
    Cast {
        ty: String,
        operand: Box<Expr>,
    },
    /// `operand as type`: the reference conversion, null when it does not hold.
    As {
        ty: String,
        operand: Box<Expr>,
    },
    /// `operand is type` / `operand is type name` / `operand is null`.
    Is {
        ty: String,
        bind: Option<String>,
        operand: Box<Expr>,
    },
    /// An `out` argument: `out x`, or a declaration `out var x` / `out string[] x`.
    Out {
        name: String,
        declared: bool,
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
        let e = self.conditional();
        self.depth -= 1;
        e
    }

    /// `??` binds looser than `||` and groups to the right.
    fn coalesce(&mut self) -> Result<Expr, Unsupported> {
        let left = self.or()?;
        if self.peek() != Some(&Tok::QQ) {
            return Ok(left);
        }
        self.pos += 1;
        // The right operand is itself a `??` chain: `a ?? b ? c : d` is `(a ?? b) ? c : d`.
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let span = self.tokens.get(self.pos).map(|t| t.span).unwrap_or_else(|| self.end_span());
            return Err(Unsupported::new(span, TOO_DEEP));
        }
        let right = self.coalesce();
        self.depth -= 1;
        let right = right?;
        let span = left.span.to(right.span);
        Ok(Expr { kind: ExprKind::Coalesce { left: Box::new(left), right: Box::new(right) }, span })
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
        self.binary_level(Self::bit_or, &[(Tok::AndAnd, BinOp::And)])
    }

    fn bit_or(&mut self) -> Result<Expr, Unsupported> {
        self.binary_level(Self::bit_and, &[(Tok::Pipe, BinOp::BitOr)])
    }

    fn bit_and(&mut self) -> Result<Expr, Unsupported> {
        self.binary_level(Self::equality, &[(Tok::Amp, BinOp::BitAnd)])
    }

    fn equality(&mut self) -> Result<Expr, Unsupported> {
        self.binary_level(Self::relational, &[(Tok::EqEq, BinOp::Eq), (Tok::NotEq, BinOp::Ne)])
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

    /// `<string>` (or `<bool>`, `<System.String>`, `<string[]>`) right before `(`: a generic
    /// method's type argument. Anything else leaves `<` to be read as less-than.
    fn type_argument(&mut self) -> Option<String> {
        if self.peek() != Some(&Tok::Lt) {
            return None;
        }
        let mut n = 1;
        let mut name = String::new();
        loop {
            match self.peek_at(n) {
                Some(Tok::Ident(part)) => name.push_str(part),
                _ => return None,
            }
            n += 1;
            if self.peek_at(n) == Some(&Tok::Dot) {
                name.push('.');
                n += 1;
                continue;
            }
            break;
        }
        if self.peek_at(n) == Some(&Tok::LBracket) && self.peek_at(n + 1) == Some(&Tok::RBracket) {
            name.push_str("[]");
            n += 2;
        }
        if self.peek_at(n) != Some(&Tok::Gt) || self.peek_at(n + 1) != Some(&Tok::LParen) {
            return None;
        }
        self.pos += n + 1;
        Some(name)
    }

    fn primary(&mut self) -> Result<Expr, Unsupported> {
        let Some(t) = self.next() else {
            return Err(self.unexpected("expected a value"));
        };
        let kind = match t.tok {
            Tok::Str(s) => ExprKind::Str(s),
            Tok::Num(n) => ExprKind::Num(n),
            Tok::Char(c) => ExprKind::Char(c),
            Tok::Int { value, long } => ops::integer_literal(value, long, t.span)?,
            Tok::Ident(name) => match name.as_str() {
                "true" => ExprKind::Bool(true),
                "false" => ExprKind::Bool(false),
                "null" => ExprKind::Null,
                "new" => return self.array(t.span),
                _ => {
                    if self.peek() == Some(&Tok::Arrow) {
                        return Err(Unsupported::new(t.span, "a lambda is only supported as a method argument"));
                    }
                    ExprKind::Ident(name)
                }
            },
            Tok::LParen => {
                if let Some(cast) = self.cast(t.span)? {
                    return Ok(cast);
                }
                let inner = self.expr()?;
                let close = self.expect(Tok::RParen, "expected `)`")?;
                return Ok(Expr { kind: ExprKind::Paren(Box::new(inner)), span: t.span.to(close) });
            }
            Tok::LBrace => {
                return Err(Unsupported::new(t.span, "statement blocks are not supported (only single expressions)"))
            }
            _ => {
                self.pos -= 1;
                return Err(self.unexpected("expected a value"));
            }
        };
        Ok(Expr { kind, span: t.span })
    }

    /// After `new`: `string[] { … }` or `[] { … }`; any other object creation is unsupported.
    fn array(&mut self, new_span: Span) -> Result<Expr, Unsupported> {
        let refuse = |p: &Self| {
            let end = p.tokens.get(p.pos).map(|t| t.span).unwrap_or(new_span);
            Unsupported::new(new_span.to(end), "only array literals `new string[] { … }` are supported after `new`")
        };
        if let Some(Tok::Ident(ty)) = self.peek() {
            if ty == "X509Certificate2" && self.peek_at(1) == Some(&Tok::LParen) {
                self.pos += 2;
                let mut args = Vec::new();
                while self.peek() != Some(&Tok::RParen) {
                    args.push(self.expr()?);
                    if self.peek() == Some(&Tok::Comma) {
                        self.pos += 1;
                        continue;
                    }
                    break;
                }
                let close = self.expect(Tok::RParen, "expected `)` to close the constructor's arguments")?;
                return Ok(Expr { kind: ExprKind::NewCertificate(args), span: new_span.to(close) });
            }
            if ty != "string" && ty != "String" {
                return Err(refuse(self));
            }
            self.pos += 1;
        }
        if self.peek() != Some(&Tok::LBracket) || self.peek_at(1) != Some(&Tok::RBracket) {
            return Err(refuse(self));
        }
        self.pos += 2;
        self.expect(Tok::LBrace, "expected `{` to open the array's elements")?;
        let mut items = Vec::new();
        while self.peek() != Some(&Tok::RBrace) {
            items.push(self.expr()?);
            if self.peek() == Some(&Tok::Comma) {
                self.pos += 1;
                continue;
            }
            break;
        }
        let close = self.expect(Tok::RBrace, "expected `}` to close the array's elements")?;
        Ok(Expr { kind: ExprKind::Array(items), span: new_span.to(close) })
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
        let src = "a == \"x\" ? b : c";
        assert!(matches!(parse(src).expect("the conditional operator parses").kind, ExprKind::Conditional { .. }));
        let src = "a ??= b";
        assert_eq!(parse(src).expect_err("should fail").span.text(src), "??=");
        let src = "(a?.B ?? c ?? d) == \"x\"";
        let e = parse(src).expect("?. and ?? parse");
        let ExprKind::Binary { left, .. } = &e.kind else { panic!() };
        let ExprKind::Paren(inner) = &left.kind else { panic!() };
        let ExprKind::Coalesce { left: first, right: rest } = &inner.kind else { panic!() };
        assert!(matches!(&first.kind, ExprKind::Member { null_cond: true, .. }));
        assert!(matches!(&rest.kind, ExprKind::Coalesce { .. }));
        let src = "a++ == b";
        assert_eq!(parse(src).expect_err("should fail").span.text(src), "++");
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
        assert!(matches!(&args[0].kind, ExprKind::Neg(n) if n.kind == ExprKind::Int { value: 30, long: false }));
    }
}
