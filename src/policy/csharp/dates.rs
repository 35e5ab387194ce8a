//! `DateTime` and `TimeSpan` as the certificate expiry checks use them: `NotAfter.AddDays(-30)`,
//! `NotAfter - DateTime.UtcNow` (a `TimeSpan`: `TotalDays`, `Days`), `TimeSpan.FromDays(30)`,
//! `Subtract`, `AddMonths`, `DateTime.Compare`. `DateTime` keeps 100 ns ticks, years 1 to 9999.
//! Subtraction ignores a DateTime's Kind: NotAfter (local time) minus UtcNow agrees on a gateway
//! whose local time zone is UTC, which this evaluator assumes throughout.

use time::{Duration, OffsetDateTime};

use super::super::expr::{BinOp, Expr, Span};
use super::number::Number;
use super::value::{Date, Val};
use super::{unevaluable, ExprEval, Stop};

const TICKS_PER_SECOND: i64 = 10_000_000;
const TICKS_PER_DAY: i64 = 86_400 * TICKS_PER_SECOND;
/// TimeSpan.MaxValue.Ticks is i64::MAX; the From… methods refuse more than about 10.7 million days.
const MAX_TIMESPAN_DAYS: i64 = i64::MAX / TICKS_PER_DAY;

fn ticks_between(a: OffsetDateTime, b: OffsetDateTime) -> Option<i64> {
    i64::try_from((a - b).whole_nanoseconds() / 100).ok()
}

fn days_in_month(year: i32, month: time::Month) -> u8 {
    month.length(year)
}

impl ExprEval<'_, '_> {
    pub(super) fn timespan_overflow(&self, span: Span) -> Stop {
        Stop::Exception {
            exception: "OverflowException".into(),
            fragment: self.text(span),
            why: "TimeSpan overflowed because the duration is too long.".into(),
        }
    }

    fn unrepresentable(&self, span: Span) -> Stop {
        Stop::Exception {
            exception: "ArgumentOutOfRangeException".into(),
            fragment: self.text(span),
            why: "The added or subtracted value results in an un-representable DateTime.".into(),
        }
    }

    /// `date` moved to `t`, remembering the step for the comparison record.
    fn moved(&self, date: &Date, t: Option<OffsetDateTime>, step: String, span: Span) -> Result<Val, Stop> {
        let t = t.filter(|t| (1..=9999).contains(&t.year())).ok_or_else(|| self.unrepresentable(span))?;
        let mut transforms = date.transforms.clone();
        transforms.push(step);
        Ok(Val::Date(Date { t, raw: date.raw, origin: date.origin.clone(), text: self.text(span), transforms }))
    }

    fn number_arg(&mut self, arg: &Expr) -> Result<Number, Stop> {
        match self.eval(arg)? {
            Val::Num(n) => Ok(n),
            other => Err(unevaluable(self.src, arg.span, format!("expected a number, found {}", other.describe()))),
        }
    }

    /// `DateTime - DateTime`, `DateTime ± TimeSpan`, `TimeSpan ± TimeSpan`.
    pub(super) fn date_arithmetic(&mut self, op: BinOp, l: Val, r: Val, span: Span) -> Result<Val, Stop> {
        match (op, l, r) {
            (BinOp::Sub, Val::Date(a), Val::Date(b)) => {
                ticks_between(a.t, b.t).map(Val::TimeSpan).ok_or_else(|| self.timespan_overflow(span))
            }
            (BinOp::Add | BinOp::Sub, Val::Date(d), Val::TimeSpan(t))
            | (BinOp::Add, Val::TimeSpan(t), Val::Date(d)) => {
                let ticks = if op == BinOp::Sub { -i128::from(t) } else { i128::from(t) };
                let moved = d.t.checked_add(Duration::nanoseconds_i128(ticks * 100));
                self.moved(&d, moved, format!("{} TimeSpan", op.symbol()), span)
            }
            (BinOp::Add | BinOp::Sub, Val::TimeSpan(a), Val::TimeSpan(b)) => {
                let r = if op == BinOp::Add { a.checked_add(b) } else { a.checked_sub(b) };
                r.map(Val::TimeSpan).ok_or_else(|| self.timespan_overflow(span))
            }
            (_, l, r) => Err(unevaluable(
                self.src,
                span,
                format!("`{}` between {} and {} is not supported", op.symbol(), l.describe(), r.describe()),
            )),
        }
    }

    /// Methods on a `DateTime`.
    pub(super) fn date_call(&mut self, date: Date, name: &str, args: &[Expr], span: Span) -> Result<Val, Stop> {
        let step = |me: &Self, arg: &Expr| format!("{name}({})", me.text(arg.span));
        match (name, args) {
            ("AddDays" | "AddHours" | "AddMinutes" | "AddSeconds", [arg]) => {
                let n = self.number_arg(arg)?.f64();
                let ms_per_unit = match name {
                    "AddDays" => 86_400_000.0,
                    "AddHours" => 3_600_000.0,
                    "AddMinutes" => 60_000.0,
                    _ => 1_000.0,
                };
                let ms = n * ms_per_unit;
                // .NET Framework (and .NET before 7) rounds the step to whole milliseconds, later
                // versions do not: a step that is not whole milliseconds differs between them.
                if !ms.is_finite() || ms.fract() != 0.0 {
                    return Err(unevaluable(
                        self.src,
                        span,
                        format!("{name} of a step that is not a whole number of milliseconds rounds differently across .NET versions, and which one the gateway runs is not documented"),
                    ));
                }
                let moved = Duration::checked_seconds_f64(ms / 1000.0).and_then(|d| date.t.checked_add(d));
                self.moved(&date, moved, step(self, arg), span)
            }
            ("AddMonths" | "AddYears", [arg]) => {
                let n = match self.number_arg(arg)? {
                    Number::Int(n) => i64::from(n),
                    other => {
                        return Err(unevaluable(
                            self.src,
                            arg.span,
                            format!("{name} takes an int, not a {} (C# would not compile it)", other.keyword()),
                        ))
                    }
                };
                let months = if name == "AddYears" { n.saturating_mul(12) } else { n };
                // The day is kept, or the last day of the target month when that is shorter.
                let total = i64::from(date.t.year()) * 12 + i64::from(u8::from(date.t.month())) - 1 + months;
                let year = i32::try_from(total.div_euclid(12)).unwrap_or(i32::MAX);
                let month = time::Month::try_from((total.rem_euclid(12) + 1) as u8).unwrap_or(time::Month::January);
                let moved = if (1..=9999).contains(&year) {
                    let day = date.t.day().min(days_in_month(year, month));
                    time::Date::from_calendar_date(year, month, day).ok().map(|d| date.t.replace_date(d))
                } else {
                    None
                };
                self.moved(&date, moved, step(self, arg), span)
            }
            ("Add" | "Subtract", [arg]) => match (name, self.eval(arg)?) {
                (_, Val::TimeSpan(t)) => {
                    let op = if name == "Add" { BinOp::Add } else { BinOp::Sub };
                    self.date_arithmetic(op, Val::Date(date), Val::TimeSpan(t), span)
                }
                ("Subtract", Val::Date(other)) => {
                    ticks_between(date.t, other.t).map(Val::TimeSpan).ok_or_else(|| self.timespan_overflow(span))
                }
                (_, other) => {
                    Err(unevaluable(self.src, arg.span, format!("{name} of {} is not supported", other.describe())))
                }
            },
            ("CompareTo", [arg]) => match self.eval(arg)? {
                Val::Date(other) => Ok(Val::Num(Number::Int(date.t.cmp(&other.t) as i32))),
                other => {
                    Err(unevaluable(self.src, arg.span, format!("CompareTo of {} is not supported", other.describe())))
                }
            },
            // Identity on a gateway whose local time zone is UTC (see the module note).
            ("ToUniversalTime", []) => Ok(Val::Date(date)),
            _ => Err(unevaluable(
                self.src,
                span,
                format!("method `{name}` with {} argument(s) on a DateTime is not supported", args.len()),
            )),
        }
    }

    /// `DateTime.Compare(a, b)`: -1, 0 or 1.
    pub(super) fn datetime_type_call(&mut self, name: &str, args: &[Expr], span: Span) -> Result<Val, Stop> {
        match (name, args) {
            ("Compare", [a, b]) => match (self.eval(a)?, self.eval(b)?) {
                (Val::Date(x), Val::Date(y)) => Ok(Val::Num(Number::Int(x.t.cmp(&y.t) as i32))),
                (x, y) => Err(unevaluable(
                    self.src,
                    span,
                    format!("DateTime.Compare of {} and {} is not supported", x.describe(), y.describe()),
                )),
            },
            _ => Err(unevaluable(
                self.src,
                span,
                format!("DateTime.{name} is not supported (parsing a date depends on the gateway's culture)"),
            )),
        }
    }

    /// `TimeSpan.FromDays(n)` and its siblings.
    pub(super) fn timespan_type_call(&mut self, name: &str, args: &[Expr], span: Span) -> Result<Val, Stop> {
        let per_unit = match name {
            "FromDays" => TICKS_PER_DAY,
            "FromHours" => 3_600 * TICKS_PER_SECOND,
            "FromMinutes" => 60 * TICKS_PER_SECOND,
            "FromSeconds" => TICKS_PER_SECOND,
            _ => return Err(unevaluable(self.src, span, format!("TimeSpan.{name} is not supported"))),
        };
        let [arg] = args else {
            return Err(unevaluable(
                self.src,
                span,
                format!("TimeSpan.{name} with {} arguments is not supported", args.len()),
            ));
        };
        let x = self.number_arg(arg)?.f64();
        if x.fract() != 0.0 {
            return Err(unevaluable(
                self.src,
                span,
                format!("TimeSpan.{name} of a fractional value rounds to whole milliseconds on some .NET versions and not on others, and which one the gateway runs is not documented"),
            ));
        }
        let ticks = x * per_unit as f64;
        if !ticks.is_finite() || ticks.abs() > (MAX_TIMESPAN_DAYS * TICKS_PER_DAY) as f64 {
            return Err(self.timespan_overflow(span));
        }
        Ok(Val::TimeSpan(ticks as i64))
    }

    /// `TimeSpan` members: the Total… doubles and the whole components (truncated toward zero).
    pub(super) fn timespan_member(&self, ticks: i64, name: &str, span: Span) -> Result<Val, Stop> {
        // .NET Core divides by the ticks per unit; .NET Framework multiplies by its reciprocal,
        // which can differ in the last bit: only a value exactly on a threshold could tell.
        let per = |unit: i64| ticks as f64 / unit as f64;
        let double = |x: f64| Ok(Val::Num(Number::Double(x)));
        let int = |x: i64| Ok(Val::Num(Number::Int(x as i32)));
        match name {
            "TotalDays" => double(per(TICKS_PER_DAY)),
            "TotalHours" => double(per(3_600 * TICKS_PER_SECOND)),
            "TotalMinutes" => double(per(60 * TICKS_PER_SECOND)),
            "TotalSeconds" => double(per(TICKS_PER_SECOND)),
            "TotalMilliseconds" => double(per(10_000)),
            "Days" => int(ticks / TICKS_PER_DAY),
            "Hours" => int(ticks / (3_600 * TICKS_PER_SECOND) % 24),
            "Minutes" => int(ticks / (60 * TICKS_PER_SECOND) % 60),
            "Seconds" => int(ticks / TICKS_PER_SECOND % 60),
            "Ticks" => Ok(Val::Num(Number::Long(ticks))),
            _ => Err(unevaluable(self.src, span, format!("member `{name}` of a TimeSpan is not supported"))),
        }
    }
}

/// The parts of a DateTime (in the gateway's local time, UTC here, as this module assumes).
pub(super) fn date_part(d: &super::value::Date, name: &str) -> Val {
    let part = match name {
        "Year" => d.t.year(),
        "Month" => u8::from(d.t.month()) as i32,
        "Day" => d.t.day() as i32,
        "Hour" => d.t.hour() as i32,
        "Minute" => d.t.minute() as i32,
        "Second" => d.t.second() as i32,
        _ => d.t.ordinal() as i32,
    };
    Val::Num(Number::Int(part))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use crate::policy::{evaluate, parse_policy, PolicyInput};

    /// The status of a 403 guard around `condition`, evaluated at `now` without a certificate.
    fn status_at(condition: &str, now: time::OffsetDateTime) -> (u16, bool) {
        let xml = format!(
            r#"<choose><when condition="@({condition})"><return-response><set-status code="403" /></return-response></when></choose>"#
        );
        let policy = parse_policy(&xml, "policy.xml").expect("parses");
        let input = PolicyInput { now, ..Default::default() };
        let out = evaluate(&policy, &input);
        (out.status, out.determined)
    }

    #[test]
    fn add_months_keeps_the_day_or_takes_the_month_end() {
        let jan31 = datetime!(2024-01-31 12:00 UTC);
        let days =
            |c: &str| status_at(&format!("DateTime.UtcNow.{c}.Subtract(DateTime.UtcNow).TotalDays == 29"), jan31);
        assert_eq!(days("AddMonths(1)"), (403, true), "leap February: the 29th");
        let feb29 = datetime!(2024-02-29 00:00 UTC);
        let year = "DateTime.UtcNow.AddYears(1).Subtract(DateTime.UtcNow).Days == 365";
        assert_eq!(status_at(year, feb29), (403, true), "2025-02-28");
        let negative = "DateTime.UtcNow.AddMonths(-2).CompareTo(DateTime.UtcNow) == -1";
        assert_eq!(status_at(negative, jan31), (403, true));
        assert_eq!(status_at("DateTime.UtcNow.AddMonths(1.5) == DateTime.UtcNow", jan31), (0, false), "takes an int");
        // Beyond year 9999: ArgumentOutOfRangeException, the gateway answers 500.
        assert_eq!(status_at("DateTime.UtcNow.AddYears(8000) == DateTime.UtcNow", jan31), (500, true));
        // Whole components truncate toward zero; Total… is the exact quotient.
        let neg = "(DateTime.UtcNow - DateTime.UtcNow.AddHours(36)).Days == -1 &amp;&amp; (DateTime.UtcNow - DateTime.UtcNow.AddHours(36)).TotalDays == -1.5";
        assert_eq!(status_at(neg, jan31), (403, true));
    }
}
