//! Statement blocks (`@{ … }`): local declarations, assignments, `if`/`else` and `return`, the
//! statements real policies write around their certificate checks. Expressions inside come from the
//! expression parser; anything else (loops, `try`, `switch`) is named as unsupported.

use super::lex::{tokenize, Tok};
use super::{Expr, Parser, Span, Unsupported};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Stmt {
    /// `var x = e;`, `string x = e;`, `bool x;`
    Local {
        name: String,
        init: Option<Expr>,
        span: Span,
    },
    /// `x = e;`
    Assign {
        name: String,
        value: Expr,
        span: Span,
    },
    If {
        cond: Expr,
        then: Vec<Stmt>,
        otherwise: Vec<Stmt>,
        span: Span,
    },
    Return {
        value: Expr,
        span: Span,
    },
    /// An expression evaluated for its effect (a call).
    Expr(Expr),
}

/// Parse the inside of `@{ … }` (without the braces).
pub(crate) fn parse_block(src: &str) -> Result<Vec<Stmt>, Unsupported> {
    let tokens = tokenize(src)?;
    let mut p = Parser { tokens, pos: 0, src_len: src.len(), depth: 0 };
    let mut out = Vec::new();
    while p.peek().is_some() {
        out.push(p.statement()?);
    }
    Ok(out)
}

/// Keywords that start statements this parser does not model.
const UNSUPPORTED_STATEMENTS: [&str; 9] = ["for", "foreach", "while", "do", "switch", "try", "throw", "goto", "using"];

impl Parser {
    fn span_here(&self) -> Span {
        self.tokens.get(self.pos).map(|t| t.span).unwrap_or_else(|| self.end_span())
    }

    fn prev_span(&self) -> Span {
        self.pos.checked_sub(1).and_then(|i| self.tokens.get(i)).map(|t| t.span).unwrap_or_else(|| self.end_span())
    }

    fn semicolon(&mut self) -> Result<Span, Unsupported> {
        self.expect(Tok::Semi, "expected `;` at the end of the statement")
    }

    /// A statement, or a `{ … }` block of them.
    fn body(&mut self) -> Result<Vec<Stmt>, Unsupported> {
        if self.peek() == Some(&Tok::LBrace) {
            self.pos += 1;
            let mut out = Vec::new();
            while self.peek() != Some(&Tok::RBrace) {
                if self.peek().is_none() {
                    return Err(self.unexpected("expected `}` to close the block"));
                }
                out.push(self.statement()?);
            }
            self.pos += 1;
            Ok(out)
        } else {
            Ok(vec![self.statement()?])
        }
    }

    fn statement(&mut self) -> Result<Stmt, Unsupported> {
        let start = self.span_here();
        self.depth += 1;
        if self.depth > super::MAX_DEPTH {
            return Err(Unsupported::new(start, super::TOO_DEEP));
        }
        let s = self.statement_inner(start);
        self.depth -= 1;
        s
    }

    fn statement_inner(&mut self, start: Span) -> Result<Stmt, Unsupported> {
        let word = match self.peek() {
            Some(Tok::Ident(w)) => w.clone(),
            Some(Tok::Semi) => return Err(Unsupported::new(start, "an empty statement")),
            _ => {
                let e = self.expr()?;
                self.semicolon()?;
                return Ok(Stmt::Expr(e));
            }
        };
        if UNSUPPORTED_STATEMENTS.contains(&word.as_str()) {
            return Err(Unsupported::new(start, format!("`{word}` statements are not supported")));
        }
        match word.as_str() {
            "return" => {
                self.pos += 1;
                let value = self.expr()?;
                let end = self.semicolon()?;
                return Ok(Stmt::Return { value, span: start.to(end) });
            }
            "if" => {
                self.pos += 1;
                self.expect(Tok::LParen, "expected `(` after if")?;
                let cond = self.expr()?;
                self.expect(Tok::RParen, "expected `)` after the if condition")?;
                let then = self.body()?;
                let otherwise = match self.peek() {
                    Some(Tok::Ident(w)) if w == "else" => {
                        self.pos += 1;
                        self.body()?
                    }
                    _ => Vec::new(),
                };
                return Ok(Stmt::If { cond, then, otherwise, span: start.to(self.prev_span()) });
            }
            _ => {}
        }
        // `Type name = …;` / `Type[] name = …;` / `name = …;`
        let mut n = 1;
        if self.peek_at(1) == Some(&Tok::LBracket) && self.peek_at(2) == Some(&Tok::RBracket) {
            n = 3;
        }
        if let (Some(Tok::Ident(name)), Some(next)) = (self.peek_at(n), self.peek_at(n + 1)) {
            if matches!(next, Tok::Assign | Tok::Semi) {
                let name = name.clone();
                let has_init = *next == Tok::Assign;
                // Past the type and the name, and the `=` when there is one.
                self.pos += if has_init { n + 2 } else { n + 1 };
                let init = if has_init { Some(self.expr()?) } else { None };
                let end = self.semicolon()?;
                return Ok(Stmt::Local { name, init, span: start.to(end) });
            }
        }
        if self.peek_at(1) == Some(&Tok::Assign) {
            self.pos += 2;
            let value = self.expr()?;
            let end = self.semicolon()?;
            return Ok(Stmt::Assign { name: word, value, span: start.to(end) });
        }
        let e = self.expr()?;
        self.semicolon()?;
        Ok(Stmt::Expr(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_if_else_and_return() {
        let src = r#"
            var cert = context.Request.Certificate;
            string[] allowed = new string[] { "A", "B" };
            bool ok;
            if (cert == null) { return false; }
            else if (cert.Thumbprint == "A") return true;
            ok = allowed.Contains(cert.Thumbprint);
            return ok;"#;
        let b = parse_block(src).expect("parses");
        assert_eq!(b.len(), 6, "{b:?}");
        assert!(matches!(&b[0], Stmt::Local { name, init: Some(_), .. } if name == "cert"));
        assert!(matches!(&b[1], Stmt::Local { name, .. } if name == "allowed"));
        assert!(matches!(&b[2], Stmt::Local { name, init: None, .. } if name == "ok"));
        let Stmt::If { otherwise, .. } = &b[3] else { panic!("{:?}", b[3]) };
        assert!(matches!(otherwise.as_slice(), [Stmt::If { .. }]));
        assert!(matches!(&b[4], Stmt::Assign { name, .. } if name == "ok"));
    }

    #[test]
    fn unsupported_statements_are_named() {
        let src = "foreach (var t in list) { }";
        let e = parse_block(src).expect_err("refused");
        assert_eq!(e.span.text(src), "foreach");
        let src = "return a == b";
        assert!(parse_block(src).expect_err("refused").why.contains("expected `;`"));
    }
}
