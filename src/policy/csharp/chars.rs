//! `char` and the string methods that take one, as policies split a header's value:
//! `GetValueOrDefault("X-Forwarded-For", "").Split(',')[0].Trim()`, `IndexOf(',')`, `s[0] == 'A'`.
//! Overloads that exist only in newer .NET (`Split(string)`, `Split(char, options)`,
//! `StartsWith(char)`) are unknown: on .NET Framework the call does not compile.

use super::super::expr::{Expr, Span};
use super::number::Number;
use super::value::{Text, Val};
use super::{unevaluable, ExprEval, Stop};

/// char.IsWhiteSpace, which Split() and Trim() without arguments use: Unicode White_Space.
fn white(c: char) -> bool {
    c.is_whitespace()
}

const NEWER_OVERLOAD: &str = "this overload exists only in .NET Core 2.0 and later (on .NET Framework the call does not compile), and which runtime API Management compiles expressions for is not documented";

impl ExprEval<'_, '_> {
    /// The `char` arguments of a `params char[]` call, or why they are not all chars.
    fn char_args(&mut self, args: &[Expr], span: Span) -> Result<Vec<char>, Stop> {
        let mut out = Vec::with_capacity(args.len());
        for a in args {
            match self.eval(a)? {
                Val::Char(c) => out.push(c),
                Val::Str(_) => return Err(unevaluable(self.src, span, NEWER_OVERLOAD)),
                other => {
                    return Err(unevaluable(
                        self.src,
                        a.span,
                        format!("expected a char, found {} (other overloads are not modelled)", other.describe()),
                    ))
                }
            }
        }
        Ok(out)
    }

    fn piece(text: &Text, value: String) -> Val {
        Val::Str(Text { raw: value.clone(), value, origin: text.origin.clone(), transforms: text.transforms.clone() })
    }

    /// `Split(chars…)`, `IndexOf(char)`, `Trim(chars…)`, `TrimStart(…)`, `TrimEnd(…)`.
    pub(super) fn char_method(&mut self, text: Text, name: &str, args: &[Expr], span: Span) -> Result<Val, Stop> {
        match name {
            "Split" => {
                let seps = self.char_args(args, span)?;
                let is_sep = |c: char| if seps.is_empty() { white(c) } else { seps.contains(&c) };
                // Empty pieces are kept, as StringSplitOptions.None does.
                Ok(Val::Array(text.value.split(is_sep).map(|p| Self::piece(&text, p.to_string())).collect()))
            }
            "IndexOf" => match args {
                [arg] => match self.eval(arg)? {
                    // An ordinal search; the index counts UTF-16 code units.
                    Val::Char(c) => {
                        let index = text.value.find(c).map(|b| text.value[..b].encode_utf16().count() as i32);
                        Ok(Val::Num(Number::Int(index.unwrap_or(-1))))
                    }
                    Val::Str(_) => Err(unevaluable(
                        self.src,
                        span,
                        "IndexOf(string) compares with the current culture (ignorable characters match anywhere), which is not modelled",
                    )),
                    other => Err(unevaluable(self.src, arg.span, format!("IndexOf of {} is not modelled", other.describe()))),
                },
                _ => Err(unevaluable(self.src, span, format!("IndexOf with {} arguments is not supported", args.len()))),
            },
            "Trim" | "TrimStart" | "TrimEnd" => {
                let chars = self.char_args(args, span)?;
                let trims = |c: char| if chars.is_empty() { white(c) } else { chars.contains(&c) };
                let v = match name {
                    "Trim" => text.value.trim_matches(trims),
                    "TrimStart" => text.value.trim_start_matches(trims),
                    _ => text.value.trim_end_matches(trims),
                }
                .to_string();
                let mut t = text;
                t.value = v;
                t.transforms.push(format!("{name}()"));
                Ok(Val::Str(t))
            }
            _ => Err(unevaluable(self.src, span, format!("method `{name}` on a string is not supported"))),
        }
    }

    /// `s[i]`: the UTF-16 code unit at `i`.
    pub(super) fn string_index(&mut self, text: &Text, index: &Expr, span: Span) -> Result<Val, Stop> {
        let i = match self.eval(index)? {
            Val::Num(n) if n.integral().is_some() => n.integral().unwrap_or(-1),
            other => {
                return Err(unevaluable(
                    self.src,
                    index.span,
                    format!("a string index must be an int, not {}", other.describe()),
                ))
            }
        };
        let units: Vec<u16> = text.value.encode_utf16().collect();
        let Some(unit) = usize::try_from(i).ok().and_then(|i| units.get(i)) else {
            return Err(Stop::Exception {
                exception: "IndexOutOfRangeException".into(),
                fragment: self.text(span),
                why: format!("the string has {} UTF-16 code units", units.len()),
            });
        };
        char::from_u32(u32::from(*unit)).map(Val::Char).ok_or_else(|| {
            unevaluable(self.src, span, "the code unit is half of a surrogate pair, which is not modelled as a char")
        })
    }
}
