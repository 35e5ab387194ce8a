//! A `when` condition: a single expression `@(…)`, split into the clauses of its top-level `||` / `&&`
//! chain so the one that decided can be named, or a statement block `@{ … return …; }`. An operand
//! that cannot be evaluated decides nothing when a later one fixes the result (three-valued logic).

use super::super::expr::{self, BinOp};
use super::super::walk::Walker;
use super::super::{ElementOutcome, PolicyInput, When};
use super::{ExprEval, Stop, Variables};

pub(in crate::policy) enum CondResult {
    Value(bool, String),
    Exception(String),
    Undetermined,
}

/// The first `{{name}}` in `s`, if any.
pub(in crate::policy) fn named_value(s: &str) -> Option<&str> {
    let start = s.find("{{")?;
    let len = s[start..].find("}}")?;
    Some(&s[start..start + len + 2])
}

impl<'a, 'b> ExprEval<'a, 'b> {
    pub(super) fn new(
        input: &'a PolicyInput<'b>,
        src: &'a str,
        path: &'a str,
        last_error: Option<super::super::LastError>,
        variables: Variables,
    ) -> Self {
        ExprEval {
            input,
            src,
            path,
            clause: 0,
            clause_text: String::new(),
            shadow: false,
            bindings: Vec::new(),
            comparisons: Vec::new(),
            verify_calls: Vec::new(),
            last_error,
            short_circuit: false,
            variables,
            masked: Vec::new(),
        }
    }
}

impl Walker<'_, '_> {
    /// Move what an evaluation recorded into the outcome.
    pub(super) fn absorb(&mut self, ev: &mut ExprEval, path: &str) {
        self.out.comparisons.append(&mut ev.comparisons);
        self.out.verify_calls.append(&mut ev.verify_calls);
        // Reading the body without preserveContent loses it for the rest of the policy.
        self.variables.body_consumed |= ev.variables.body_consumed;
        for (fragment, why) in ev.masked.drain(..) {
            // A construct the compiler refuses is refused wherever it sits: the policy is not saved.
            if super::super::refused::is_compile_error(&why) {
                self.unevaluable(path, None, &fragment, why);
                continue;
            }
            self.out.notes.push(format!(
                "{path}: `{fragment}` could not be evaluated ({why}), but the other operand decides the result whatever its value (unless it throws)"
            ));
        }
    }

    pub(in crate::policy) fn condition(&mut self, when: &When) -> CondResult {
        let path = when.path.as_str();
        let raw = when.condition.trim();
        if let Some(named) = named_value(raw) {
            self.unevaluable(path, None, named, "the named value was not given (--named-value NAME=VALUE)");
            self.result("when", path, ElementOutcome::Unevaluable);
            return CondResult::Undetermined;
        }
        if let Some(block) = raw.strip_prefix("@{").and_then(|r| r.strip_suffix('}')) {
            return self.block_condition(path, block);
        }
        let src = if let Some(inner) = raw.strip_prefix("@(").and_then(|r| r.strip_suffix(')')) {
            inner
        } else if raw.eq_ignore_ascii_case("true") || raw.eq_ignore_ascii_case("false") {
            let value = raw.eq_ignore_ascii_case("true");
            self.result("when", path, ElementOutcome::Condition { value, deciding_clause: Some(1), clauses: 1 });
            return CondResult::Value(value, format!("{path} condition: {raw}"));
        } else {
            self.unevaluable(path, None, raw, "the condition is not a policy expression @(…)");
            self.result("when", path, ElementOutcome::Unevaluable);
            return CondResult::Undetermined;
        };
        let parsed = match expr::parse(src) {
            Ok(e) => e,
            Err(u) => {
                self.unevaluable(path, None, u.span.text(src), u.why);
                self.result("when", path, ElementOutcome::Unevaluable);
                return CondResult::Undetermined;
            }
        };
        let (op, clauses) = expr::clauses(&parsed);
        let n = clauses.len();
        let mut ev = ExprEval::new(self.input, src, path, self.last_error.clone(), self.variables.clone());
        // The clause whose value fixes the chain: the first true one of `||`, the first false one of `&&`.
        let decisive = !matches!(op, Some(BinOp::And));
        let mut outcome: Option<CondResult> = None;
        let mut value = !decisive;
        let mut deciding = None;
        // The first clause that could not be evaluated: a later decisive clause still fixes the value.
        let mut pending: Option<(usize, String, String)> = None;
        for (i, clause) in clauses.iter().enumerate() {
            ev.clause = i + 1;
            ev.clause_text = clause.span.text(src).trim().to_string();
            if outcome.is_some() {
                ev.shadow_eval(clause);
                continue;
            }
            match ev.eval(clause).and_then(|v| ev.as_bool(v, clause)) {
                Ok(b) => {
                    if b == decisive {
                        value = decisive;
                        deciding = Some(i + 1);
                        let reason = if n == 1 || op == Some(BinOp::Or) {
                            format!("{path} condition clause {}: {}", i + 1, ev.clause_text)
                        } else {
                            format!("{path} condition clause {} (first false): {}", i + 1, ev.clause_text)
                        };
                        outcome = Some(CondResult::Value(value, reason));
                    }
                }
                Err(Stop::Exception { exception, fragment, why }) => {
                    if pending.is_some() {
                        // An earlier unknown clause may have decided before this one threw.
                        break;
                    }
                    let by = format!("{path} condition clause {}: {} ({exception}: {why})", i + 1, ev.clause_text);
                    self.result("when", path, ElementOutcome::Exception { exception, fragment });
                    outcome = Some(CondResult::Exception(by));
                }
                // What the compiler refuses stops the save whatever the other clauses decide.
                Err(Stop::Unevaluable { fragment, why }) if super::super::refused::is_compile_error(&why) => {
                    self.unevaluable(path, Some(i + 1), &fragment, why);
                }
                Err(Stop::Unevaluable { fragment, why }) => {
                    if pending.is_none() {
                        pending = Some((i + 1, fragment, why));
                    }
                }
            }
        }
        self.absorb(&mut ev, path);
        match (outcome, pending) {
            (Some(CondResult::Value(v, reason)), pending) => {
                if let Some((clause, fragment, why)) = pending {
                    self.out.notes.push(format!(
                        "{path} clause {clause}: `{fragment}` could not be evaluated ({why}), but clause {} decides the condition whatever its value (unless it throws)",
                        deciding.unwrap_or_default()
                    ));
                }
                self.result(
                    "when",
                    path,
                    ElementOutcome::Condition { value: v, deciding_clause: deciding, clauses: n },
                );
                CondResult::Value(v, reason)
            }
            (_, Some((clause, fragment, why))) => {
                self.unevaluable(path, Some(clause), &fragment, why);
                self.result("when", path, ElementOutcome::Unevaluable);
                CondResult::Undetermined
            }
            (Some(other), None) => other,
            (None, None) => {
                // Every clause had the non-deciding value: the chain takes it, and no single clause decided.
                self.result("when", path, ElementOutcome::Condition { value, deciding_clause: None, clauses: n });
                let reason = format!("{path} condition (all {n} clauses {value}): {}", src.trim());
                CondResult::Value(value, reason)
            }
        }
    }

    /// `@{ … }`: run the statements; the `return` reached gives the value.
    fn block_condition(&mut self, path: &str, src: &str) -> CondResult {
        let stmts = match expr::parse_block(src) {
            Ok(s) => s,
            Err(u) => {
                self.unevaluable(path, None, u.span.text(src), u.why);
                self.result("when", path, ElementOutcome::Unevaluable);
                return CondResult::Undetermined;
            }
        };
        let mut ev = ExprEval::new(self.input, src, path, self.last_error.clone(), self.variables.clone());
        ev.clause = 1;
        let r = ev.run_block(&stmts);
        let text = ev.clause_text.clone();
        self.absorb(&mut ev, path);
        match r.and_then(|v| match v {
            Some(v) => ev.as_bool_val(v),
            None => Err(Stop::Unevaluable {
                fragment: src.trim().to_string(),
                why: "the block ends without returning a value (C# would not compile it)".into(),
            }),
        }) {
            Ok(value) => {
                self.result("when", path, ElementOutcome::Condition { value, deciding_clause: Some(1), clauses: 1 });
                CondResult::Value(value, format!("{path} condition: {text}"))
            }
            Err(Stop::Exception { exception, fragment, why }) => {
                let by = format!("{path} condition: {text} ({exception}: {why})");
                self.result("when", path, ElementOutcome::Exception { exception, fragment });
                CondResult::Exception(by)
            }
            Err(Stop::Unevaluable { fragment, why }) => {
                self.unevaluable(path, None, &fragment, why);
                self.result("when", path, ElementOutcome::Unevaluable);
                CondResult::Undetermined
            }
        }
    }
}
