//! Running a statement block (`@{ … }`) as C# does: locals scoped to their block, `if`/`else`,
//! assignments, and the first `return` reached.

use super::super::expr::Stmt;
use super::value::Val;
use super::{ExprEval, Stop};

impl ExprEval<'_, '_> {
    /// Run `stmts`; `Some` is the value of the `return` reached.
    pub(super) fn run_block(&mut self, stmts: &[Stmt]) -> Result<Option<Val>, Stop> {
        let scope = self.bindings.len();
        let r = self.run_statements(stmts);
        self.bindings.truncate(scope);
        r
    }

    fn run_statements(&mut self, stmts: &[Stmt]) -> Result<Option<Val>, Stop> {
        for stmt in stmts {
            match stmt {
                Stmt::Local { name, init, span } => {
                    self.clause_text = span.text(self.src).trim().to_string();
                    if self.bindings.iter().any(|(n, _)| n == name) {
                        return Err(Stop::Unevaluable {
                            fragment: self.clause_text.clone(),
                            why: format!("CS0128: A local variable named '{name}' is already defined in this scope (C# would not compile it)"),
                        });
                    }
                    let v = match init {
                        Some(e) => self.eval(e)?,
                        None => Val::Unassigned,
                    };
                    self.bindings.push((name.clone(), v));
                }
                Stmt::Assign { name, value, span } => {
                    self.clause_text = span.text(self.src).trim().to_string();
                    let v = self.eval(value)?;
                    match self.bindings.iter_mut().rev().find(|(n, _)| n == name) {
                        Some(slot) => slot.1 = v,
                        None => {
                            return Err(Stop::Unevaluable {
                                fragment: name.clone(),
                                why: format!("`{name}` is not a local variable of this block"),
                            })
                        }
                    }
                }
                Stmt::If { cond, then, otherwise, .. } => {
                    self.clause_text = format!("if ({})", cond.span.text(self.src).trim());
                    let c = self.eval(cond)?;
                    let taken = if self.as_bool(c, cond)? { then } else { otherwise };
                    if let Some(v) = self.run_block(taken)? {
                        return Ok(Some(v));
                    }
                }
                Stmt::Return { value, span } => {
                    self.clause_text = span.text(self.src).trim().to_string();
                    return self.eval(value).map(Some);
                }
                Stmt::Expr(e) => {
                    self.clause_text = e.span.text(self.src).trim().to_string();
                    self.eval(e)?;
                }
            }
        }
        Ok(None)
    }

    /// A block's result as a condition.
    pub(super) fn as_bool_val(&self, v: Val) -> Result<bool, Stop> {
        match v {
            Val::Bool(b) => Ok(b),
            other => Err(Stop::Unevaluable {
                fragment: self.clause_text.clone(),
                why: format!("the block returns {}, not a boolean", other.describe()),
            }),
        }
    }
}
