//! The parts of the grammar around an operand: member access, calls and indexers (`a.B(c)[d]`,
//! `a?.B`, `a?[d]`), casts `(string)x`, and the conditional operator `c ? a : b`.

use super::lex::{Tok, Token};
use super::{BinOp, Expr, ExprKind, Parser, Span, Unsupported};

/// The types a cast may name here: C#'s keywords for the types variables hold, and their
/// `System` names. `(string)x` and `(bool)x` are what policies write on `context.Variables[…]`.
const CAST_TYPES: [&str; 18] = [
    "string",
    "String",
    "bool",
    "Boolean",
    "object",
    "Object",
    "int",
    "Int32",
    "long",
    "Int64",
    "double",
    "Double",
    // The certificate extension types policies cast an `X509Extension` to.
    "X509Extension",
    "X509KeyUsageExtension",
    "X509BasicConstraintsExtension",
    "X509EnhancedKeyUsageExtension",
    "X509SubjectKeyIdentifierExtension",
    "Oid",
];

/// The type C# gives an integer literal without a `U` suffix: int, else long (a literal between
/// int.MaxValue and uint.MaxValue is a uint, which is not modelled).
pub(super) fn integer_literal(value: u64, long: bool, span: Span) -> Result<ExprKind, Unsupported> {
    let signed = i64::try_from(value).map_err(|_| Unsupported::new(span, "a ulong literal is not supported"))?;
    if long || signed > i64::from(u32::MAX) {
        return Ok(ExprKind::Int { value: signed, long: true });
    }
    if signed > i64::from(i32::MAX) {
        return Err(Unsupported::new(
            span,
            "an integer literal above int.MaxValue is a uint in C#, which is not modelled",
        ));
    }
    Ok(ExprKind::Int { value: signed, long: false })
}

impl Parser {
    pub(super) fn relational(&mut self) -> Result<Expr, Unsupported> {
        let base = self.depth;
        let mut left = self.additive()?;
        let ops = [(Tok::Lt, BinOp::Lt), (Tok::Gt, BinOp::Gt), (Tok::Le, BinOp::Le), (Tok::Ge, BinOp::Ge)];
        loop {
            self.depth += 1;
            if self.depth > super::MAX_DEPTH {
                let span = self.tokens.get(self.pos).map(|t| t.span).unwrap_or_else(|| self.end_span());
                return Err(Unsupported::new(span, super::TOO_DEEP));
            }
            // `x as T`, at the level of the relational operators as in C#.
            if matches!(self.peek(), Some(Tok::Ident(w)) if w == "as") {
                let as_span = self.tokens[self.pos].span;
                self.pos += 1;
                let (ty, end) = match self.next() {
                    Some(Token { tok: Tok::Ident(ty), span }) => (ty, span),
                    _ => return Err(Unsupported::new(as_span, "expected a type name after `as`")),
                };
                let span = left.span.to(end);
                left = Expr { kind: ExprKind::As { ty, operand: Box::new(left) }, span };
                continue;
            }
            // `x is T`, `x is T name` (C# 7 type patterns), `x is null`.
            if matches!(self.peek(), Some(Tok::Ident(w)) if w == "is") {
                let is_span = self.tokens[self.pos].span;
                self.pos += 1;
                let (ty, mut end) = match self.next() {
                    Some(Token { tok: Tok::Ident(ty), span }) if ty != "not" => (ty, span),
                    _ => {
                        return Err(Unsupported::new(
                            is_span,
                            "only `is T`, `is T name` and `is null` patterns are supported",
                        ))
                    }
                };
                let bind = match self.peek() {
                    Some(Tok::Ident(name)) if ty != "null" => {
                        let name = name.clone();
                        end = self.tokens[self.pos].span;
                        self.pos += 1;
                        Some(name)
                    }
                    _ => None,
                };
                let span = left.span.to(end);
                left = Expr { kind: ExprKind::Is { ty, bind, operand: Box::new(left) }, span };
                continue;
            }
            let Some(op) = ops.iter().find(|(t, _)| self.peek() == Some(t)).map(|(_, op)| *op) else {
                self.depth = base;
                return Ok(left);
            };
            self.pos += 1;
            let right = self.additive()?;
            let span = left.span.to(right.span);
            left = Expr { kind: ExprKind::Binary { op, left: Box::new(left), right: Box::new(right) }, span };
        }
    }

    fn additive(&mut self) -> Result<Expr, Unsupported> {
        self.binary_level(Self::multiplicative, &[(Tok::Plus, BinOp::Add), (Tok::Minus, BinOp::Sub)])
    }

    fn multiplicative(&mut self) -> Result<Expr, Unsupported> {
        self.binary_level(Self::unary, &[(Tok::Star, BinOp::Mul), (Tok::Slash, BinOp::Div), (Tok::Percent, BinOp::Rem)])
    }

    /// `cond ? then : otherwise`: below `??`, grouping to the right (`a ? b : c ? d : e`).
    pub(super) fn conditional(&mut self) -> Result<Expr, Unsupported> {
        let cond = self.coalesce()?;
        if self.peek() != Some(&Tok::Question) {
            return Ok(cond);
        }
        self.pos += 1;
        let then = self.expr()?;
        self.expect(Tok::Colon, "expected `:` of the conditional operator `c ? a : b`")?;
        let otherwise = self.expr()?;
        let span = cond.span.to(otherwise.span);
        Ok(Expr {
            kind: ExprKind::Conditional { cond: Box::new(cond), then: Box::new(then), otherwise: Box::new(otherwise) },
            span,
        })
    }

    /// Right after `(`: a cast `(type)operand`, or `None` for a parenthesized expression. As in C#,
    /// a parenthesized name followed by an operand (a name, a literal, `(`, `!`) is a cast.
    pub(super) fn cast(&mut self, open: Span) -> Result<Option<Expr>, Unsupported> {
        let (Some(Tok::Ident(ty)), Some(Tok::RParen)) = (self.peek(), self.peek_at(1)) else { return Ok(None) };
        let ty = ty.clone();
        let keyword = CAST_TYPES.contains(&ty.as_str());
        // After a predefined type's keyword, `(int)-x` is a cast too; after a name it is a subtraction.
        let predefined = matches!(ty.as_str(), "string" | "bool" | "object" | "int" | "long" | "double");
        let operand_follows = matches!(
            self.peek_at(2),
            Some(Tok::Ident(_) | Tok::Str(_) | Tok::Char(_) | Tok::Num(_) | Tok::Int { .. } | Tok::LParen | Tok::Not)
        ) || (predefined && self.peek_at(2) == Some(&Tok::Minus));
        if !operand_follows {
            return Ok(None);
        }
        let close = self.tokens[self.pos + 1].span;
        if !keyword {
            return Err(Unsupported::new(open.to(close), format!("a cast to `{ty}` is not supported")));
        }
        self.pos += 2;
        self.depth += 1;
        if self.depth > super::MAX_DEPTH {
            return Err(Unsupported::new(open, super::TOO_DEEP));
        }
        let operand = self.unary();
        self.depth -= 1;
        let operand = operand?;
        let span = open.to(operand.span);
        Ok(Some(Expr { kind: ExprKind::Cast { ty, operand: Box::new(operand) }, span }))
    }

    pub(super) fn argument(&mut self) -> Result<Expr, Unsupported> {
        if matches!(self.peek(), Some(Tok::Ident(w)) if w == "out") {
            return self.out_argument();
        }
        // `preserveContent: true` (Body.As<T>): a named argument that does not change the value read.
        if let (Some(Tok::Ident(name)), Some(Tok::Colon)) = (self.peek(), self.peek_at(1)) {
            if name != "preserveContent" {
                return Err(Unsupported::new(self.tokens[self.pos].span, "named arguments are not supported"));
            }
            self.pos += 2;
        }
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

    /// `out x`, `out var x`, `out string[] x` (the `out` is next).
    pub(super) fn out_argument(&mut self) -> Result<Expr, Unsupported> {
        let start = self.tokens[self.pos].span;
        self.pos += 1;
        let mut n = 0;
        let declared = match (self.peek(), self.peek_at(1), self.peek_at(2), self.peek_at(3)) {
            (Some(Tok::Ident(_)), Some(Tok::Ident(_)), _, _) => {
                n = 1;
                true
            }
            (Some(Tok::Ident(_)), Some(Tok::LBracket), Some(Tok::RBracket), Some(Tok::Ident(_))) => {
                n = 3;
                true
            }
            _ => false,
        };
        self.pos += n;
        match self.next() {
            Some(Token { tok: Tok::Ident(name), span }) => {
                Ok(Expr { kind: ExprKind::Out { name, declared }, span: start.to(span) })
            }
            _ => Err(Unsupported::new(start, "expected a variable after `out`")),
        }
    }

    pub(super) fn postfix(&mut self) -> Result<Expr, Unsupported> {
        let mut e = self.primary()?;
        let base = self.depth;
        loop {
            // Each access deepens the tree by one, as a chain of operators does.
            if self.depth > super::MAX_DEPTH {
                let span = self.tokens.get(self.pos).map(|t| t.span).unwrap_or_else(|| self.end_span());
                return Err(Unsupported::new(span, super::TOO_DEEP));
            }
            match (self.peek(), self.peek_at(1)) {
                (Some(Tok::Dot | Tok::QDot), _) => e = self.member_or_call(e)?,
                (Some(Tok::LBracket), _) => e = self.index(e, false)?,
                (Some(Tok::Question), Some(Tok::LBracket)) => {
                    self.pos += 1;
                    e = self.index(e, true)?;
                }
                _ => break,
            }
            self.depth += 1;
        }
        self.depth = base;
        if self.peek() == Some(&Tok::LParen) {
            return Err(self.unexpected("only methods called on an object are supported"));
        }
        Ok(e)
    }

    /// `e[index]` (the `[` is next); one index, as the dictionaries and collections policies read.
    fn index(&mut self, e: Expr, null_cond: bool) -> Result<Expr, Unsupported> {
        self.pos += 1;
        let index = self.expr()?;
        if self.peek() == Some(&Tok::Comma) {
            return Err(self.unexpected("an indexer takes one argument here"));
        }
        let close = self.expect(Tok::RBracket, "expected `]` to close the indexer")?;
        let span = e.span.to(close);
        Ok(Expr { kind: ExprKind::Index { target: Box::new(e), index: Box::new(index), null_cond }, span })
    }

    /// `e.Name`, `e?.Name`, `e.Name<T>(…)` (the `.` or `?.` is next).
    fn member_or_call(&mut self, e: Expr) -> Result<Expr, Unsupported> {
        let null_cond = self.peek() == Some(&Tok::QDot);
        self.pos += 1;
        let name = match self.peek() {
            Some(Tok::Ident(_)) => match self.next() {
                Some(Token { tok: Tok::Ident(n), span }) => (n, span),
                _ => return Err(self.unexpected("expected a member name after `.`")),
            },
            _ => return Err(self.unexpected("expected a member name after `.`")),
        };
        let type_arg = self.type_argument();
        if self.peek() != Some(&Tok::LParen) {
            let span = e.span.to(name.1);
            return Ok(Expr { kind: ExprKind::Member { target: Box::new(e), name: name.0, null_cond }, span });
        }
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
        Ok(Expr { kind: ExprKind::Call { target: Box::new(e), name: name.0, type_arg, args, null_cond }, span })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse, ExprKind};

    #[test]
    fn conditional_groups_right_and_sits_below_coalesce() {
        let src = r#"a ?? b ? "x" : c ? "y" : "z""#;
        let e = parse(src).expect("parses");
        let ExprKind::Conditional { cond, otherwise, .. } = &e.kind else { panic!("{e:?}") };
        assert!(matches!(cond.kind, ExprKind::Coalesce { .. }));
        assert!(matches!(otherwise.kind, ExprKind::Conditional { .. }));
        let src = "a ? b";
        assert!(parse(src).expect_err("no colon").why.contains("expected `:`"));
        let src = "a ?: b";
        assert_eq!(parse(src).expect_err("not C#").span.text(src), "?:");
    }

    #[test]
    fn indexers_and_casts() {
        let src = r#"(string)context.Variables["role"] == "admin""#;
        let e = parse(src).expect("parses");
        let ExprKind::Binary { left, .. } = &e.kind else { panic!("{e:?}") };
        let ExprKind::Cast { ty, operand } = &left.kind else { panic!("{left:?}") };
        assert_eq!(ty, "string");
        assert!(matches!(operand.kind, ExprKind::Index { null_cond: false, .. }));
        let src = r#"c.Extensions["2.5.29.17"]?.Critical"#;
        let e = parse(src).expect("parses");
        let ExprKind::Member { target, null_cond: true, .. } = &e.kind else { panic!("{e:?}") };
        assert!(matches!(target.kind, ExprKind::Index { .. }));
        let src = r#"v?["k"] == null"#;
        assert!(parse(src).is_ok());
        // A parenthesized name not followed by an operand is a parenthesized expression.
        assert!(matches!(parse("(a) == b").expect("parses").kind, ExprKind::Binary { .. }));
        let src = "(X509Certificate2)x";
        assert_eq!(parse(src).expect_err("refused").span.text(src), "(X509Certificate2)");
        let src = r#"a["x", "y"]"#;
        assert!(parse(src).expect_err("refused").why.contains("one argument"));
        // A hostile chain of accesses is refused before it makes the tree too deep to walk.
        let long = format!("a{}", ".b[0]".repeat(50_000));
        assert_eq!(parse(&long).expect_err("refused").why, super::super::TOO_DEEP);
        assert!(parse(&format!("a{}", ".b".repeat(20))).is_ok());
    }

    #[test]
    fn arithmetic_literals_as_and_out() {
        // `*` binds tighter than `+`, `+` tighter than `<`.
        let src = "a + b * 2 < 30.5";
        let e = super::super::parse(src).expect("parses");
        let ExprKind::Binary { op: super::super::BinOp::Lt, left, right } = &e.kind else { panic!("{e:?}") };
        assert_eq!(right.kind, ExprKind::Num(30.5));
        let ExprKind::Binary { op: super::super::BinOp::Add, right: mul, .. } = &left.kind else { panic!("{left:?}") };
        assert!(matches!(&mul.kind, ExprKind::Binary { op: super::super::BinOp::Mul, .. }));
        assert_eq!(super::super::parse("7L").expect("long").kind, ExprKind::Int { value: 7, long: true });
        assert_eq!(super::super::parse("7d").expect("double").kind, ExprKind::Num(7.0));
        assert_eq!(
            super::super::parse("5000000000").expect("long").kind,
            ExprKind::Int { value: 5_000_000_000, long: true }
        );
        assert!(super::super::parse("3000000000").expect_err("uint").why.contains("uint"));
        assert!(super::super::parse("7u").is_err() && super::super::parse("1.5m").is_err());
        let src = "e as X509KeyUsageExtension != null";
        let e = super::super::parse(src).expect("parses");
        let ExprKind::Binary { op: super::super::BinOp::Ne, left, .. } = &e.kind else { panic!("{e:?}") };
        assert!(matches!(&left.kind, ExprKind::As { ty, .. } if ty == "X509KeyUsageExtension"));
        let src = "e is X509KeyUsageExtension ku && ku.Critical";
        let e = super::super::parse(src).expect("parses");
        let (_, cl) = super::super::clauses(&e);
        assert!(
            matches!(&cl[0].kind, ExprKind::Is { ty, bind: Some(b), .. } if ty == "X509KeyUsageExtension" && b == "ku")
        );
        let e = super::super::parse("c is null").expect("parses");
        assert!(matches!(&e.kind, ExprKind::Is { ty, bind: None, .. } if ty == "null"));
        assert!(super::super::parse("c is not null").is_err(), "C# 9");
        // Character literals, with C#'s own errors for what it refuses.
        for (src, c) in [("'a'", 'a'), (r"'\''", '\''), (r"'\u0041'", 'A'), (r"'\x2C'", ','), (r"'\n'", '\n')] {
            assert_eq!(super::super::parse(src).expect("a char").kind, ExprKind::Char(c), "{src}");
        }
        for (src, error) in
            [("''", "CS1011"), ("'ab'", "CS1012"), ("'\u{1F600}'", "CS1012"), (r"'\U0001F600'", "CS1012")]
        {
            let e = super::super::parse(src).expect_err("refused");
            assert!(e.compile_error.as_deref().is_some_and(|c| c.starts_with(error)), "{src}: {e:?}");
        }
        let src = r#"h.TryGetValue("X", out var v) && int.TryParse(s, out int n) && d.TryGetValue("k", out string[] w) && g.F(out z)"#;
        let e = super::super::parse(src).expect("parses");
        let (_, cl) = super::super::clauses(&e);
        let outs: Vec<_> = cl
            .iter()
            .map(|c| match &c.kind {
                ExprKind::Call { args, .. } => args.last().map(|a| a.kind.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            outs,
            [
                Some(ExprKind::Out { name: "v".into(), declared: true }),
                Some(ExprKind::Out { name: "n".into(), declared: true }),
                Some(ExprKind::Out { name: "w".into(), declared: true }),
                Some(ExprKind::Out { name: "z".into(), declared: false }),
            ]
        );
    }
}
