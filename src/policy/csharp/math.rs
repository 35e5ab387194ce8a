//! `System.Math` as expiry checks use it on a `TimeSpan`'s `TotalDays`: `Abs`, `Min`, `Max` (with
//! their int, long and double overloads), and `Floor`, `Ceiling`, `Round` on a double (`Round`
//! rounds half to even, as .NET's default MidpointRounding.ToEven does).

use super::super::expr::{Expr, Span};
use super::number::Number;
use super::value::Val;
use super::{unevaluable, ExprEval, Stop};

impl ExprEval<'_, '_> {
    fn math_arg(&mut self, arg: &Expr) -> Result<Number, Stop> {
        match self.eval(arg)? {
            Val::Num(n) => Ok(n),
            other => Err(unevaluable(self.src, arg.span, format!("expected a number, found {}", other.describe()))),
        }
    }

    pub(super) fn math_call(&mut self, name: &str, args: &[Expr], span: Span) -> Result<Val, Stop> {
        let values: Vec<Number> = match (name, args.len()) {
            ("Abs" | "Floor" | "Ceiling" | "Round", 1) | ("Min" | "Max", 2) => {
                let mut v = Vec::with_capacity(args.len());
                for a in args {
                    v.push(self.math_arg(a)?);
                }
                v
            }
            _ => {
                return Err(unevaluable(
                    self.src,
                    span,
                    format!("Math.{name} with {} argument(s) is not supported", args.len()),
                ))
            }
        };
        let result = match (name, values.as_slice()) {
            ("Abs", [Number::Int(x)]) => x.checked_abs().map(Number::Int),
            ("Abs", [Number::Long(x)]) => x.checked_abs().map(Number::Long),
            ("Abs", [Number::Double(x)]) => Some(Number::Double(x.abs())),
            // Floor, Ceiling and Round have double and decimal overloads only: an int argument
            // converts to both equally well, and C# refuses the call as ambiguous.
            ("Floor" | "Ceiling" | "Round", [Number::Double(x)]) => Some(Number::Double(match name {
                "Floor" => x.floor(),
                "Ceiling" => x.ceil(),
                _ => x.round_ties_even(),
            })),
            ("Floor" | "Ceiling" | "Round", [_]) => {
                return Err(unevaluable(
                    self.src,
                    span,
                    format!("CS0121: the call is ambiguous between Math.{name}(double) and Math.{name}(decimal) (C# would not compile it)"),
                ))
            }
            ("Min" | "Max", [a, b]) => {
                let min = name == "Min";
                match (a, b) {
                    (Number::Int(x), Number::Int(y)) => Some(Number::Int(if min { *x.min(y) } else { *x.max(y) })),
                    (a, b) if a.integral().is_some() && b.integral().is_some() => {
                        let (x, y) = (a.integral().unwrap_or(0), b.integral().unwrap_or(0));
                        Some(Number::Long(if min { x.min(y) } else { x.max(y) }))
                    }
                    // Math.Min/Max(double): NaN when either is NaN.
                    (a, b) => {
                        let (x, y) = (a.f64(), b.f64());
                        Some(Number::Double(if x.is_nan() || y.is_nan() {
                            f64::NAN
                        } else if min {
                            x.min(y)
                        } else {
                            x.max(y)
                        }))
                    }
                }
            }
            _ => None,
        };
        result.map(Val::Num).ok_or_else(|| Stop::Exception {
            exception: "OverflowException".into(),
            fragment: self.text(span),
            why: "Negating the minimum value of a twos complement number is invalid.".into(),
        })
    }
}
