//! Numbers as C# computes them: `int`, `long` and `double` with C#'s binary promotions, integer
//! division and its exceptions, explicit casts, `int.Parse` / `int.TryParse` / `Convert.ToInt32`.
//! Where .NET leaves the answer to how the expression was compiled or to the runtime (an overflow
//! in an unchecked context, a double formatted as text), the answer is unknown, with that reason.

use std::cmp::Ordering;

use super::super::expr::{BinOp, Expr, ExprKind, Span};
use super::value::{Origin, Text, TypeName, Val};
use super::{unevaluable, ExprEval, Stop};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Number {
    Int(i32),
    Long(i64),
    Double(f64),
}

/// Why an integer overflow has no single answer.
pub(super) const OVERFLOW_UNKNOWN: &str = "the result overflows its type: in a checked context C# throws OverflowException, in an unchecked one the value wraps, and whether API Management compiles policy expressions checked is not documented";

impl Number {
    pub(super) fn f64(self) -> f64 {
        match self {
            Number::Int(v) => f64::from(v),
            Number::Long(v) => v as f64,
            Number::Double(v) => v,
        }
    }

    /// The value of an `int` or `long`.
    pub(super) fn integral(self) -> Option<i64> {
        match self {
            Number::Int(v) => Some(i64::from(v)),
            Number::Long(v) => Some(v),
            Number::Double(_) => None,
        }
    }

    /// The CLR type name, as InvalidCastException names it.
    pub(super) fn clr(self) -> &'static str {
        match self {
            Number::Int(_) => "System.Int32",
            Number::Long(_) => "System.Int64",
            Number::Double(_) => "System.Double",
        }
    }

    pub(super) fn keyword(self) -> &'static str {
        match self {
            Number::Int(_) => "int",
            Number::Long(_) => "long",
            Number::Double(_) => "double",
        }
    }
}

/// `==` and the ordering after C#'s numeric promotion; `None` when a NaN is involved.
pub(super) fn compare(a: Number, b: Number) -> Option<Ordering> {
    match (a.integral(), b.integral()) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.f64().partial_cmp(&b.f64()),
    }
}

/// Why an arithmetic operation gives no value.
pub(super) enum ArithError {
    Exception(&'static str, String),
    Unknown(String),
}

/// `a op b` for `+ - * / %` after C#'s binary numeric promotion (double, else long, else int).
pub(super) fn arith(op: BinOp, a: Number, b: Number) -> Result<Number, ArithError> {
    if matches!(a, Number::Double(_)) || matches!(b, Number::Double(_)) {
        let (x, y) = (a.f64(), b.f64());
        // IEEE arithmetic: no exception; `%` truncates as C# does (fmod).
        return Ok(Number::Double(match op {
            BinOp::Add => x + y,
            BinOp::Sub => x - y,
            BinOp::Mul => x * y,
            BinOp::Div => x / y,
            _ => x % y,
        }));
    }
    let (Some(x), Some(y)) = (a.integral(), b.integral()) else {
        return Err(ArithError::Unknown("not a number".into()));
    };
    let long = matches!(a, Number::Long(_)) || matches!(b, Number::Long(_));
    if matches!(op, BinOp::Div | BinOp::Rem) && y == 0 {
        return Err(ArithError::Exception("DivideByZeroException", "Attempted to divide by zero.".into()));
    }
    let min = if long { i64::MIN } else { i64::from(i32::MIN) };
    if matches!(op, BinOp::Div | BinOp::Rem) && x == min && y == -1 {
        return Err(ArithError::Unknown(
            "the minimum value divided by -1 overflows, and the C# specification leaves it to the implementation whether that throws".into(),
        ));
    }
    // i64 arithmetic is exact for int operands; a long result is checked for overflow.
    let r = match op {
        BinOp::Add => x.checked_add(y),
        BinOp::Sub => x.checked_sub(y),
        BinOp::Mul => x.checked_mul(y),
        BinOp::Div => x.checked_div(y),
        _ => x.checked_rem(y),
    };
    match (long, r) {
        (true, Some(v)) => Ok(Number::Long(v)),
        (false, Some(v)) => i32::try_from(v).map(Number::Int).map_err(|_| ArithError::Unknown(OVERFLOW_UNKNOWN.into())),
        (_, None) => Err(ArithError::Unknown(OVERFLOW_UNKNOWN.into())),
    }
}

/// What an integer text parses to under NumberStyles.Integer.
pub(super) enum Parsed {
    Value(i64),
    /// FormatException.
    Format,
    /// OverflowException.
    Overflow,
    Unknown(String),
}

/// `int.Parse(s)` / `long.Parse(s)` (NumberStyles.Integer: white space around, one leading sign,
/// ASCII digits). Characters beyond ASCII may be the gateway culture's sign symbols, which are
/// not documented, so a text holding one is unknown.
pub(super) fn parse_integer(s: &str, long: bool) -> Parsed {
    if !s.is_ascii() || s.contains('\0') {
        return Parsed::Unknown(
            "the text holds characters beyond ASCII (or NUL): whether they parse depends on the gateway's culture and .NET version, which are not documented".into(),
        );
    }
    // char.IsWhiteSpace for NumberStyles: U+0009..U+000D and U+0020.
    let white = |c: char| matches!(c, '\t'..='\r' | ' ');
    let t = s.trim_matches(white);
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Parsed::Format;
    }
    let mut v: i128 = 0;
    for b in digits.bytes() {
        v = v * 10 + i128::from(b - b'0');
        if v > i128::from(u64::MAX) {
            return Parsed::Overflow;
        }
    }
    let v = if negative { -v } else { v };
    let (lo, hi) = if long { (i64::MIN, i64::MAX) } else { (i64::from(i32::MIN), i64::from(i32::MAX)) };
    match i64::try_from(v) {
        Ok(v) if (lo..=hi).contains(&v) => Parsed::Value(v),
        _ => Parsed::Overflow,
    }
}

/// The text as it reads in a message: control and invisible characters shown, long text cut.
fn quoted(s: &str) -> String {
    let cut: String = s.chars().take(64).collect();
    let more = if cut.len() < s.len() { "…" } else { "" };
    format!("\"{}{more}\"", crate::text::clean(&cut))
}

/// A constant expression of numbers (literals, parentheses, unary minus, arithmetic on them): C#
/// evaluates it when it compiles.
pub(super) fn is_constant(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Int { .. } | ExprKind::Num(_) => true,
        ExprKind::Paren(inner) | ExprKind::Neg(inner) => is_constant(inner),
        ExprKind::Binary { op: BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem, left, right } => {
            is_constant(left) && is_constant(right)
        }
        _ => false,
    }
}

fn int_val(v: i64, long: bool) -> Val {
    Val::Num(if long { Number::Long(v) } else { Number::Int(v as i32) })
}

fn type_is_long(t: TypeName) -> bool {
    t == TypeName::Long
}

impl ExprEval<'_, '_> {
    pub(super) fn number_literal(&self, e: &Expr) -> Option<Val> {
        match e.kind {
            ExprKind::Num(n) => Some(Val::Num(Number::Double(n))),
            ExprKind::Int { value, long: true } => Some(Val::Num(Number::Long(value))),
            ExprKind::Int { value, long: false } => Some(Val::Num(Number::Int(value as i32))),
            _ => None,
        }
    }

    /// On constants the compiler itself divides and overflows, and refuses the text (CS0020, CS0220).
    pub(super) fn on_constants(
        &self,
        result: Result<Val, Stop>,
        left: &Expr,
        right: &Expr,
        span: Span,
    ) -> Result<Val, Stop> {
        let constants = is_constant(left) && is_constant(right);
        match result {
            Err(Stop::Exception { exception, .. }) if constants && exception == "DivideByZeroException" => {
                Err(unevaluable(
                    self.src,
                    span,
                    format!("CS0020: Division by constant zero{}", super::super::refused::REFUSED),
                ))
            }
            Err(Stop::Unevaluable { why, .. }) if constants && why == OVERFLOW_UNKNOWN => Err(unevaluable(
                self.src,
                span,
                format!(
                    "CS0220: The operation overflows at compile time in checked mode{}",
                    super::super::refused::REFUSED
                ),
            )),
            other => other,
        }
    }

    /// `-x` on a number or a TimeSpan.
    pub(super) fn negate(&self, v: Val, span: Span) -> Result<Val, Stop> {
        match v {
            Val::Num(Number::Double(x)) => Ok(Val::Num(Number::Double(-x))),
            Val::Num(Number::Int(x)) => x
                .checked_neg()
                .map(|v| Val::Num(Number::Int(v)))
                .ok_or_else(|| unevaluable(self.src, span, OVERFLOW_UNKNOWN)),
            Val::Num(Number::Long(x)) => x
                .checked_neg()
                .map(|v| Val::Num(Number::Long(v)))
                .ok_or_else(|| unevaluable(self.src, span, OVERFLOW_UNKNOWN)),
            Val::TimeSpan(t) => t.checked_neg().map(Val::TimeSpan).ok_or_else(|| self.timespan_overflow(span)),
            other => Err(unevaluable(self.src, span, format!("cannot negate {}", other.describe()))),
        }
    }

    /// `+ - * / %`: numbers, string concatenation, and date arithmetic.
    pub(super) fn arithmetic(&mut self, op: BinOp, l: Val, r: Val, span: Span) -> Result<Val, Stop> {
        match (op, l, r) {
            (_, Val::Num(a), Val::Num(b)) => arith(op, a, b).map(Val::Num).map_err(|e| match e {
                ArithError::Exception(exception, why) => {
                    Stop::Exception { exception: exception.into(), fragment: self.text(span), why }
                }
                ArithError::Unknown(why) => unevaluable(self.src, span, why),
            }),
            (BinOp::Add, l @ Val::Str(_), r) | (BinOp::Add, l, r @ Val::Str(_)) => self.concat(l, r, span),
            // A char takes part in arithmetic as its UTF-16 code (an int): 'a' + 1 is 98.
            (op, Val::Char(c), r @ (Val::Num(_) | Val::Char(_))) => {
                self.arithmetic(op, Val::Num(Number::Int(c as i32)), r, span)
            }
            (op, l @ Val::Num(_), Val::Char(c)) => self.arithmetic(op, l, Val::Num(Number::Int(c as i32)), span),
            (_, l @ (Val::Date(_) | Val::TimeSpan(_)), r) | (_, l, r @ (Val::Date(_) | Val::TimeSpan(_))) => {
                self.date_arithmetic(op, l, r, span)
            }
            (_, l, r) => Err(unevaluable(
                self.src,
                span,
                format!("`{}` between {} and {} is not supported", op.symbol(), l.describe(), r.describe()),
            )),
        }
    }

    /// `a + b` with a string operand: string.Concat, null as "", the other operand's ToString().
    fn concat(&mut self, l: Val, r: Val, span: Span) -> Result<Val, Stop> {
        let mut origins = Vec::new();
        let mut value = String::new();
        for v in [l, r] {
            match v {
                Val::Str(t) => {
                    origins.push(t.origin);
                    value.push_str(&t.value);
                }
                Val::Null { .. } => {}
                Val::Bool(b) => value.push_str(if b { "True" } else { "False" }),
                Val::Char(c) => value.push(c),
                Val::Num(n) => value.push_str(&self.number_text(n, span)?),
                other => {
                    return Err(unevaluable(
                        self.src,
                        span,
                        format!("concatenating {} (its ToString() text) is not modelled", other.describe()),
                    ))
                }
            }
        }
        let origin = Origin::combined(&origins);
        Ok(Val::Str(Text { raw: value.clone(), value, origin, transforms: Vec::new() }))
    }

    /// A number's `ToString()`: the digits of a non-negative integer are the same in every culture.
    pub(super) fn number_text(&self, n: Number, span: Span) -> Result<String, Stop> {
        match n.integral() {
            Some(i) if i >= 0 => Ok(i.to_string()),
            Some(_) => Err(unevaluable(
                self.src,
                span,
                "a negative number's text uses the current culture's minus sign (U+2212 in some cultures), and the gateway's culture is not documented",
            )),
            None => Err(unevaluable(
                self.src,
                span,
                "a double's text differs between .NET Framework (15 significant digits) and .NET Core 3.0 and later (the shortest round-trip form), and which one the gateway runs is not documented",
            )),
        }
    }

    /// `(int)x`, `(long)x`, `(double)x` on a value that is not boxed: C#'s explicit numeric conversions.
    pub(super) fn numeric_cast(&self, ty: &str, n: Number, span: Span) -> Result<Val, Stop> {
        let out_of_range = || {
            unevaluable(self.src, span, format!("{} is outside the range of {ty}: {OVERFLOW_UNKNOWN}", self.text(span)))
        };
        match ty {
            "double" => Ok(Val::Num(Number::Double(n.f64()))),
            "int" | "long" => {
                let long = ty == "long";
                let v = match n {
                    Number::Double(x) => {
                        let t = x.trunc();
                        // The conversion truncates toward zero; NaN, infinities and values out of range
                        // have no single answer (checked throws, unchecked is unspecified).
                        let (lo, hi) = if long {
                            (-9.223_372_036_854_776e18, 9.223_372_036_854_776e18)
                        } else {
                            (-2_147_483_649.0, 2_147_483_648.0)
                        };
                        if !(t > lo && t < hi) {
                            return Err(out_of_range());
                        }
                        t as i64
                    }
                    other => other.integral().unwrap_or_default(),
                };
                if !long && i32::try_from(v).is_err() {
                    return Err(out_of_range());
                }
                Ok(int_val(v, long))
            }
            _ => Err(unevaluable(self.src, span, format!("a cast of a number to {ty} is not modelled"))),
        }
    }

    /// The parse's value or exception; a header's text is never quoted (it may be a secret).
    fn parse_result(&self, parsed: Parsed, long: bool, text: &Text, span: Span) -> Result<Val, Stop> {
        let shown = match text.origin {
            Origin::Header => "the header's value".to_string(),
            _ => quoted(&text.value),
        };
        match parsed {
            Parsed::Value(v) => Ok(int_val(v, long)),
            Parsed::Format => Err(Stop::Exception {
                exception: "FormatException".into(),
                fragment: self.text(span),
                why: format!("{shown} is not an integer (NumberStyles.Integer)"),
            }),
            Parsed::Overflow => Err(Stop::Exception {
                exception: "OverflowException".into(),
                fragment: self.text(span),
                why: format!(
                    "Value was either too large or too small for an {}.",
                    if long { "Int64" } else { "Int32" }
                ),
            }),
            Parsed::Unknown(why) => Err(unevaluable(self.src, span, why)),
        }
    }

    /// `int.Parse`, `int.TryParse`, `long.…`, `int.MaxValue`-style calls and `TimeSpan.From…`.
    pub(super) fn number_type_call(
        &mut self,
        ty: TypeName,
        name: &str,
        args: &[Expr],
        span: Span,
    ) -> Result<Val, Stop> {
        match (ty, name, args) {
            (TypeName::Int | TypeName::Long, "Parse", [arg]) => {
                let long = type_is_long(ty);
                match self.eval(arg)? {
                    Val::Str(t) => {
                        let parsed = parse_integer(&t.value, long);
                        self.parse_result(parsed, long, &t, span)
                    }
                    Val::Null { .. } => Err(Stop::Exception {
                        exception: "ArgumentNullException".into(),
                        fragment: self.text(span),
                        why: "the string is null".into(),
                    }),
                    other => Err(unevaluable(
                        self.src,
                        arg.span,
                        format!("Parse takes a string, not {} (C# would not compile it)", other.describe()),
                    )),
                }
            }
            (TypeName::Int | TypeName::Long, "TryParse", [arg, out]) => {
                let long = type_is_long(ty);
                let (ok, v) = match self.eval(arg)? {
                    Val::Str(t) => match parse_integer(&t.value, long) {
                        Parsed::Value(v) => (true, v),
                        Parsed::Format | Parsed::Overflow => (false, 0),
                        Parsed::Unknown(why) => return Err(unevaluable(self.src, arg.span, why)),
                    },
                    Val::Null { .. } => (false, 0),
                    other => {
                        return Err(unevaluable(
                            self.src,
                            arg.span,
                            format!("TryParse takes a string, not {} (C# would not compile it)", other.describe()),
                        ))
                    }
                };
                self.assign_out(out, int_val(v, long))?;
                Ok(Val::Bool(ok))
            }
            (TypeName::Double, "Parse" | "TryParse", _) => Err(unevaluable(
                self.src,
                span,
                "double.Parse reads the decimal separator of the gateway's culture, which is not documented",
            )),
            (TypeName::TimeSpan, _, _) => self.timespan_type_call(name, args, span),
            _ => Err(unevaluable(
                self.src,
                span,
                format!("method `{name}` with {} argument(s) on that type is not supported", args.len()),
            )),
        }
    }

    /// `int.MaxValue`, `TimeSpan.Zero`, ….
    pub(super) fn number_type_member(&self, ty: TypeName, name: &str, span: Span) -> Result<Val, Stop> {
        Ok(match (ty, name) {
            (TypeName::Int, "MaxValue") => Val::Num(Number::Int(i32::MAX)),
            (TypeName::Int, "MinValue") => Val::Num(Number::Int(i32::MIN)),
            (TypeName::Long, "MaxValue") => Val::Num(Number::Long(i64::MAX)),
            (TypeName::Long, "MinValue") => Val::Num(Number::Long(i64::MIN)),
            (TypeName::TimeSpan, "Zero") => Val::TimeSpan(0),
            _ => return Err(unevaluable(self.src, span, format!("member `{name}` of that type is not supported"))),
        })
    }

    /// `Convert.ToInt32(x)` / `Convert.ToInt64(x)` / `Convert.ToDouble(x)` of a number, a string,
    /// a boolean or a boxed one of those (null is 0).
    pub(super) fn convert_number(&mut self, name: &str, arg: &Expr, span: Span) -> Result<Val, Stop> {
        let v = match self.eval(arg)? {
            Val::Object(inner) => *inner,
            v => v,
        };
        let target = match name {
            "ToInt32" => "int",
            "ToInt64" => "long",
            _ => "double",
        };
        let long = target == "long";
        let overflow = |me: &Self| Stop::Exception {
            exception: "OverflowException".into(),
            fragment: me.text(span),
            why: format!("Value was either too large or too small for an {}.", if long { "Int64" } else { "Int32" }),
        };
        match (target, v) {
            (_, Val::Null { .. }) if target != "double" => Ok(int_val(0, long)),
            ("double", Val::Null { .. }) => Ok(Val::Num(Number::Double(0.0))),
            ("double", Val::Num(n)) => Ok(Val::Num(Number::Double(n.f64()))),
            ("double", Val::Str(_)) => Err(unevaluable(
                self.src,
                span,
                "Convert.ToDouble of a string reads the decimal separator of the gateway's culture, which is not documented",
            )),
            (_, Val::Bool(b)) if target != "double" => Ok(int_val(i64::from(b), long)),
            ("double", Val::Bool(b)) => Ok(Val::Num(Number::Double(if b { 1.0 } else { 0.0 }))),
            (_, Val::Str(t)) => {
                let parsed = parse_integer(&t.value, long);
                self.parse_result(parsed, long, &t, span)
            }
            (_, Val::Num(Number::Double(x))) => {
                // Convert rounds half to even, and throws when the result does not fit.
                let r = x.round_ties_even();
                let fits = if long {
                    (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&r)
                } else {
                    (-2_147_483_648.0..=2_147_483_647.0).contains(&r)
                };
                if !fits {
                    return Err(overflow(self));
                }
                Ok(int_val(r as i64, long))
            }
            (_, Val::Num(n)) => {
                let v = n.integral().unwrap_or_default();
                if !long && i32::try_from(v).is_err() {
                    return Err(overflow(self));
                }
                Ok(int_val(v, long))
            }
            (_, other) => Err(unevaluable(
                self.src,
                arg.span,
                format!("Convert.{name} of {} is not modelled", other.describe()),
            )),
        }
    }

    /// An `out` argument receives `v`: a declaration (`out var n`) makes a local, `out n` assigns one.
    /// In code C# does not run (a short-circuited operand) nothing is assigned.
    pub(super) fn assign_out(&mut self, out: &Expr, v: Val) -> Result<(), Stop> {
        let ExprKind::Out { name, declared } = &out.kind else {
            return Err(unevaluable(
                self.src,
                out.span,
                "this argument must be passed with `out` (C# would not compile it)",
            ));
        };
        let v = if self.shadow { Val::Unassigned } else { v };
        if *declared {
            self.bindings.push((name.clone(), v));
            return Ok(());
        }
        if self.shadow {
            return Ok(());
        }
        match self.bindings.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = v;
                Ok(())
            }
            None => Err(unevaluable(self.src, out.span, format!("`{name}` is not a local variable of this block"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_parsing_follows_number_styles_integer() {
        let v = |s: &str, long: bool| match parse_integer(s, long) {
            Parsed::Value(v) => Ok(v),
            Parsed::Format => Err("format"),
            Parsed::Overflow => Err("overflow"),
            Parsed::Unknown(_) => Err("unknown"),
        };
        assert_eq!(v(" \t+42\r\n", false), Ok(42));
        assert_eq!(v("-0", false), Ok(0));
        assert_eq!(v("-2147483648", false), Ok(-2_147_483_648));
        assert_eq!(v("2147483648", false), Err("overflow"));
        assert_eq!(v("2147483648", true), Ok(2_147_483_648));
        assert_eq!(v("99999999999999999999999", true), Err("overflow"));
        for bad in ["", " ", "+", "1 2", "1.0", "1e3", "0x10", "--1", "1,000", "(1)"] {
            assert_eq!(v(bad, false), Err("format"), "{bad:?}");
        }
        assert_eq!(v("\u{2212}5", false), Err("unknown"), "a culture's minus sign");
        assert_eq!(v("٣", false), Err("unknown"));
    }

    #[test]
    fn arithmetic_promotes_and_divides_as_csharp() {
        let ok = |op, a, b| match arith(op, a, b) {
            Ok(n) => n,
            Err(_) => panic!("no value"),
        };
        assert_eq!(ok(BinOp::Div, Number::Int(7), Number::Int(2)), Number::Int(3));
        assert_eq!(ok(BinOp::Div, Number::Int(-7), Number::Int(2)), Number::Int(-3), "truncates toward zero");
        assert_eq!(ok(BinOp::Rem, Number::Int(-7), Number::Int(2)), Number::Int(-1));
        assert_eq!(ok(BinOp::Div, Number::Int(7), Number::Double(2.0)), Number::Double(3.5));
        assert_eq!(ok(BinOp::Add, Number::Int(1), Number::Long(2)), Number::Long(3));
        assert!(matches!(ok(BinOp::Div, Number::Double(1.0), Number::Int(0)), Number::Double(x) if x.is_infinite()));
        assert!(matches!(
            arith(BinOp::Div, Number::Int(1), Number::Int(0)),
            Err(ArithError::Exception("DivideByZeroException", _))
        ));
        assert!(matches!(arith(BinOp::Add, Number::Int(i32::MAX), Number::Int(1)), Err(ArithError::Unknown(_))));
        assert!(matches!(arith(BinOp::Mul, Number::Long(i64::MAX), Number::Int(2)), Err(ArithError::Unknown(_))));
        assert_eq!(compare(Number::Int(3), Number::Double(3.0)), Some(Ordering::Equal));
        assert_eq!(compare(Number::Double(f64::NAN), Number::Int(1)), None);
        assert_eq!(compare(Number::Long(i64::MAX), Number::Long(i64::MAX - 1)), Some(Ordering::Greater));
    }
}
