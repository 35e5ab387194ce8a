//! Would a look-alike get in? A look-alike is a certificate anyone can make: it carries whatever
//! names, dates and extensions its maker chose, but its key is not the expected one (so no pinned
//! thumbprint matches it) and its chain leads to no uploaded CA (so `Verify()`,
//! `VerifyNoRevocation()` and `validate-client-certificate` with `validate-trust` on refuse it).
//!
//! The inbound section is walked the way the gateway walks it, with every condition decided by its
//! boolean logic over those facts: a chain check or a pinned thumbprint refuses the look-alike only
//! where it stands on the path the request takes (`Verify() && Subject == "CN=x"` refuses it;
//! `Verify() || Subject == "CN=x"` does not; a chain check in another `<when>`, or after the
//! `return` that ends a block, does not count). Anything else about the certificate or the request
//! is a free choice, both branches followed. The result is the set of paths the look-alike gets
//! past the inbound section on, with the name checks (and `validate-trust="false"` identities) it
//! passed there. This module decides nothing about findings.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::checks::{is_name_read, is_request_certificate, is_variables, strip_parens};
use super::expr::{self, BinOp, Expr, ExprKind, Stmt};
use super::{Element, ElementKind, Policy, SectionRole, Setting, StatusCode};

/// How a look-alike fares against the inbound section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookAlike {
    /// It gets past the inbound section on at least one path.
    pub admitted: bool,
    /// On those paths: the conditions, set-variables and identities (their element paths) whose
    /// name checks it passed, and the `validate-trust="false"` elements that let it through.
    pub through: Vec<String>,
    /// Set when the walk gave up (too many paths): then nothing here is decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undecided: Option<String>,
}

/// Possible values of a boolean: bit 0 false, bit 1 true.
type Bits = u8;
const F: Bits = 1;
const T: Bits = 2;
const ANY: Bits = 3;

fn not(b: Bits) -> Bits {
    ((b & F) << 1) | ((b & T) >> 1)
}

/// Paths beyond this many are not followed: the answer is then undecided.
const MAX_STATES: usize = 256;

#[derive(Debug, Clone, Default)]
struct State {
    /// `context.Variables` set so far: possible values and the name checks they carry.
    vars: BTreeMap<String, (Bits, BTreeSet<String>)>,
    through: BTreeSet<String>,
    /// `Some(admitted)` once the request ended (a `return-response`, a failed validation).
    ended: Option<bool>,
}

/// A local of a statement block: a certificate (the request's, or one built from a header), or a value.
#[derive(Debug, Clone)]
enum Local {
    Cert,
    Value(Bits, BTreeSet<String>),
}

struct Cond<'a> {
    path: &'a str,
    vars: &'a BTreeMap<String, (Bits, BTreeSet<String>)>,
    locals: BTreeMap<String, Local>,
    /// Name checks met while evaluating (element paths).
    names: BTreeSet<String>,
    /// Statements left to run: branching blocks multiply paths, and past this the rest is unknown.
    budget: usize,
}

pub(crate) fn analyse(policy: &Policy) -> LookAlike {
    let mut states = vec![State::default()];
    for section in policy.sections.iter().filter(|s| s.role == SectionRole::Inbound) {
        match walk(&section.elements, states) {
            Some(s) => states = s,
            None => return undecided(),
        }
    }
    let admitted: Vec<&State> = states.iter().filter(|s| s.ended.unwrap_or(true)).collect();
    let through: BTreeSet<String> = admitted.iter().flat_map(|s| s.through.iter().cloned()).collect();
    LookAlike { admitted: !admitted.is_empty(), through: through.into_iter().collect(), undecided: None }
}

fn undecided() -> LookAlike {
    LookAlike {
        admitted: false,
        through: Vec::new(),
        undecided: Some(format!("the policy has more than {MAX_STATES} paths")),
    }
}

/// Walk `elements` from each state; `None` when the paths grow past [`MAX_STATES`].
fn walk(elements: &[Element], mut states: Vec<State>) -> Option<Vec<State>> {
    for el in elements {
        let mut next = Vec::new();
        for s in states {
            if s.ended.is_some() {
                next.push(s);
                continue;
            }
            next.extend(step(el, s)?);
            if next.len() > MAX_STATES {
                return None;
            }
        }
        states = next;
    }
    Some(states)
}

fn step(el: &Element, mut s: State) -> Option<Vec<State>> {
    match &el.kind {
        ElementKind::Choose(c) => {
            let mut out = Vec::new();
            let mut rest = vec![s];
            for when in &c.whens {
                let mut still = Vec::new();
                for s in rest {
                    let (bits, names) = condition(&when.path, &when.condition, &s.vars);
                    let mut s = s;
                    s.through.extend(names);
                    if bits & T != 0 {
                        out.extend(walk(&when.elements, vec![s.clone()])?);
                    }
                    if bits & F != 0 {
                        still.push(s);
                    }
                }
                rest = still;
            }
            match &c.otherwise {
                Some(o) => out.extend(walk(&o.elements, rest)?),
                None => out.extend(rest),
            }
            Some(out)
        }
        ElementKind::ReturnResponse(r) => {
            let statuses: Vec<bool> = match (&r.status, &r.response_variable) {
                (_, Some(_)) | (Some(StatusCode::Expression(_)), _) => vec![true, false],
                (Some(StatusCode::Fixed(code)), None) => vec![*code < 400],
                (None, None) => vec![true],
            };
            Some(
                statuses
                    .into_iter()
                    .map(|admitted| {
                        let mut s = s.clone();
                        s.ended = Some(admitted);
                        s
                    })
                    .collect(),
            )
        }
        ElementKind::SetVariable(v) => {
            let (bits, names) = match v.value.trim() {
                "true" | "True" => (T, BTreeSet::new()),
                "false" | "False" => (F, BTreeSet::new()),
                text if text.starts_with('@') => condition(&el.path, text, &s.vars),
                _ => (ANY, BTreeSet::new()),
            };
            s.vars.insert(v.name.clone(), (bits, names));
            Some(vec![s])
        }
        ElementKind::ValidateClientCertificate(v) => {
            let ignored = match &v.ignore_error {
                Some(Setting::Fixed(b)) => vec![*b],
                None => vec![false],
                Some(Setting::Expression(_)) => vec![true, false],
            };
            let passes: Vec<bool> = match &v.validate_trust {
                // The look-alike's chain leads to no uploaded CA.
                None | Some(Setting::Fixed(true)) => vec![false],
                Some(Setting::Expression(_)) => vec![true, false],
                Some(Setting::Fixed(false)) => {
                    // Its names match any identity that pins no thumbprint.
                    let open: Vec<&super::Identity> =
                        v.identities.iter().filter(|i| !i.attributes.iter().any(|a| a.name == "thumbprint")).collect();
                    if v.identities.is_empty() || !open.is_empty() {
                        s.through.insert(el.path.clone());
                        s.through.extend(open.iter().map(|i| i.path.clone()));
                        vec![true]
                    } else {
                        vec![false]
                    }
                }
            };
            let mut out = Vec::new();
            for pass in passes {
                for &ignore in &ignored {
                    let mut s = s.clone();
                    if !pass && !ignore {
                        s.ended = Some(false);
                    }
                    out.push(s);
                }
            }
            Some(out)
        }
        _ => Some(vec![s]),
    }
}

/// A `when` condition or a `set-variable` value: its possible values and the name checks in it.
fn condition(path: &str, raw: &str, vars: &BTreeMap<String, (Bits, BTreeSet<String>)>) -> (Bits, BTreeSet<String>) {
    let raw = raw.trim();
    let mut c = Cond { path, vars, locals: BTreeMap::new(), names: BTreeSet::new(), budget: 10_000 };
    let bits = if let Some(src) = raw.strip_prefix("@(").and_then(|r| r.strip_suffix(')')) {
        match expr::parse(src) {
            Ok(e) => c.truth(&e),
            Err(_) => ANY,
        }
    } else if let Some(src) = raw.strip_prefix("@{").and_then(|r| r.strip_suffix('}')) {
        match expr::parse_block(src) {
            Ok(stmts) => c.block(&stmts),
            Err(_) => ANY,
        }
    } else {
        ANY
    };
    (bits, c.names)
}

impl Cond<'_> {
    fn aliases(&self) -> Vec<String> {
        self.locals.iter().filter(|(_, l)| matches!(l, Local::Cert)).map(|(n, _)| n.clone()).collect()
    }

    fn is_cert(&self, e: &Expr) -> bool {
        matches!(&strip_parens(e).kind, ExprKind::NewCertificate(_)) || is_request_certificate(e, &self.aliases())
    }

    /// The values a statement block can return, every branch followed.
    fn block(&mut self, stmts: &[Stmt]) -> Bits {
        let saved = self.locals.clone();
        let (returned, _) = self.run(stmts, 0);
        self.locals = saved;
        if returned == 0 {
            ANY
        } else {
            returned
        }
    }

    /// Run `stmts`: the values returned on some path, and whether some path falls through.
    fn run(&mut self, stmts: &[Stmt], depth: usize) -> (Bits, bool) {
        if depth > 32 || self.budget < stmts.len() {
            return (ANY, true);
        }
        self.budget -= stmts.len();
        let mut returned = 0;
        for (i, st) in stmts.iter().enumerate() {
            match st {
                Stmt::Local { name, init: Some(e), .. } | Stmt::Assign { name, value: e, .. } => {
                    let local = if self.is_cert(e) {
                        Local::Cert
                    } else {
                        let before = self.names.clone();
                        let bits = self.truth(e);
                        let carried = self.names.difference(&before).cloned().collect();
                        Local::Value(bits, carried)
                    };
                    self.locals.insert(name.clone(), local);
                }
                Stmt::Local { name, init: None, .. } => {
                    self.locals.insert(name.clone(), Local::Value(ANY, BTreeSet::new()));
                }
                Stmt::Return { value, .. } => return (returned | self.truth(value), false),
                Stmt::Expr(e) => {
                    self.truth(e);
                }
                Stmt::If { cond, then, otherwise, .. } => {
                    let bits = self.truth(cond);
                    let rest = &stmts[i + 1..];
                    let mut falls = false;
                    for (taken, branch) in [(T, then), (F, otherwise)] {
                        if bits & taken == 0 {
                            continue;
                        }
                        let saved = self.locals.clone();
                        let (r, through) = self.run(branch, depth + 1);
                        returned |= r;
                        if through {
                            let (r, more) = self.run(rest, depth + 1);
                            returned |= r;
                            falls |= more;
                        }
                        self.locals = saved;
                    }
                    return (returned, falls);
                }
            }
        }
        (returned, true)
    }

    fn note_name(&mut self) {
        self.names.insert(self.path.to_string());
    }

    /// `.Thumbprint` of the request certificate or of a certificate local.
    fn is_thumbprint(&self, e: &Expr) -> bool {
        matches!(&strip_parens(e).kind, ExprKind::Member { target, name, .. } if name == "Thumbprint" && self.is_cert(target))
    }

    /// `context.Variables.GetValueOrDefault<T>("x")` or `context.Variables["x"]`: the variable's name.
    fn variable(e: &Expr) -> Option<&str> {
        match &strip_parens(e).kind {
            ExprKind::Call { target, name, args, .. } if name == "GetValueOrDefault" && is_variables(target) => {
                match args.first().map(|a| &a.kind) {
                    Some(ExprKind::Str(n)) => Some(n),
                    _ => None,
                }
            }
            ExprKind::Index { target, index, .. } if is_variables(target) => match &index.kind {
                ExprKind::Str(n) => Some(n),
                _ => None,
            },
            ExprKind::Cast { operand, .. } => Self::variable(operand),
            _ => None,
        }
    }

    /// The possible values of `e` for a look-alike.
    fn truth(&mut self, e: &Expr) -> Bits {
        let aliases = self.aliases();
        if is_name_read(e, &aliases) {
            self.note_name();
            return ANY;
        }
        if let Some(name) = Self::variable(e) {
            return match self.vars.get(name) {
                Some((bits, names)) => {
                    self.names.extend(names.iter().cloned());
                    *bits
                }
                None => ANY,
            };
        }
        match &e.kind {
            ExprKind::Bool(true) => T,
            ExprKind::Bool(false) => F,
            ExprKind::Paren(inner) => self.truth(inner),
            ExprKind::Not(inner) => not(self.truth(inner)),
            ExprKind::Ident(name) => match self.locals.get(name) {
                Some(Local::Value(bits, names)) => {
                    let (bits, names) = (*bits, names.clone());
                    self.names.extend(names);
                    bits
                }
                _ => ANY,
            },
            ExprKind::Binary { op: BinOp::And, left, right } => {
                let (l, r) = (self.truth(left), self.truth(right));
                let t = if l & T != 0 && r & T != 0 { T } else { 0 };
                let f = if l & F != 0 || (l & T != 0 && r & F != 0) { F } else { 0 };
                t | f
            }
            ExprKind::Binary { op: BinOp::Or, left, right } => {
                let (l, r) = (self.truth(left), self.truth(right));
                let t = if l & T != 0 || (l & F != 0 && r & T != 0) { T } else { 0 };
                let f = if l & F != 0 && r & F != 0 { F } else { 0 };
                t | f
            }
            ExprKind::Binary { op: op @ (BinOp::Eq | BinOp::Ne), left, right } => {
                let eq = self.equality(left, right);
                if *op == BinOp::Eq {
                    eq
                } else {
                    not(eq)
                }
            }
            ExprKind::Conditional { cond, then, otherwise } => {
                let c = self.truth(cond);
                let mut out = 0;
                if c & T != 0 {
                    out |= self.truth(then);
                }
                if c & F != 0 {
                    out |= self.truth(otherwise);
                }
                out
            }
            ExprKind::Call { target, name, args, .. } => self.call(target, name, args),
            ExprKind::Cast { operand, .. } => self.truth(operand),
            // `cert?.Verify() ?? false`: the look-alike presents a certificate, so the left side is
            // never null there; anything else may be.
            ExprKind::Coalesce { left, right } => {
                let l = self.truth(left);
                let on_cert = matches!(&strip_parens(left).kind, ExprKind::Call { target, .. } if self.is_cert(target));
                if on_cert {
                    self.scan(right);
                    l
                } else {
                    l | self.truth(right)
                }
            }
            _ => {
                self.scan(e);
                ANY
            }
        }
    }

    /// `a == b` for a look-alike.
    fn equality(&mut self, left: &Expr, right: &Expr) -> Bits {
        let null = |x: &Expr| matches!(&strip_parens(x).kind, ExprKind::Null);
        if (self.is_cert(left) && null(right)) || (null(left) && self.is_cert(right)) {
            return F; // it presents a certificate
        }
        if self.is_thumbprint(left) || self.is_thumbprint(right) {
            self.scan(left);
            self.scan(right);
            return F; // another key: no pinned thumbprint matches it
        }
        let literal = |x: &Expr| match &strip_parens(x).kind {
            ExprKind::Bool(b) => Some(*b),
            _ => None,
        };
        match (literal(left), literal(right)) {
            (_, Some(b)) => {
                let v = self.truth(left);
                if b {
                    v
                } else {
                    not(v)
                }
            }
            (Some(b), None) => {
                let v = self.truth(right);
                if b {
                    v
                } else {
                    not(v)
                }
            }
            (None, None) => {
                self.scan(left);
                self.scan(right);
                ANY
            }
        }
    }

    fn call(&mut self, target: &Expr, name: &str, args: &[Expr]) -> Bits {
        if self.is_cert(target) && matches!(name, "Verify" | "VerifyNoRevocation") && args.is_empty() {
            return F; // its chain leads to no uploaded CA
        }
        if (name == "Equals" && args.len() >= 2 && (self.is_thumbprint(&args[0]) || self.is_thumbprint(&args[1])))
            || (name == "Equals" && self.is_thumbprint(target))
            || (name == "Contains" && args.first().is_some_and(|a| self.is_thumbprint(a)))
        {
            return F;
        }
        if name == "Any" {
            if let Some(ExprKind::Lambda { body, .. }) = args.first().map(|a| &a.kind) {
                self.scan(target);
                // An empty list, or no element the lambda holds for, is always possible.
                return F | (self.truth(body) & T);
            }
        }
        self.scan(target);
        for a in args {
            self.scan(a);
        }
        ANY
    }

    /// Visit a sub-expression for the name checks in it (its value does not matter).
    fn scan(&mut self, e: &Expr) {
        let aliases = self.aliases();
        if is_name_read(e, &aliases) {
            self.note_name();
            return;
        }
        match &e.kind {
            ExprKind::Member { target, .. } => self.scan(target),
            ExprKind::Call { target, args, .. } => {
                self.scan(target);
                for a in args {
                    self.scan(a);
                }
            }
            ExprKind::Paren(x)
            | ExprKind::Not(x)
            | ExprKind::Neg(x)
            | ExprKind::Cast { operand: x, .. }
            | ExprKind::As { operand: x, .. }
            | ExprKind::Is { operand: x, .. } => self.scan(x),
            ExprKind::Lambda { body, .. } => self.scan(body),
            ExprKind::Index { target, index, .. } => {
                self.scan(target);
                self.scan(index);
            }
            ExprKind::Binary { left, right, .. } | ExprKind::Coalesce { left, right } => {
                self.scan(left);
                self.scan(right);
            }
            ExprKind::Conditional { cond, then, otherwise } => {
                self.scan(cond);
                self.scan(then);
                self.scan(otherwise);
            }
            ExprKind::Array(items) | ExprKind::NewCertificate(items) => {
                for i in items {
                    self.scan(i);
                }
            }
            ExprKind::Str(_)
            | ExprKind::Char(_)
            | ExprKind::Num(_)
            | ExprKind::Int { .. }
            | ExprKind::Bool(_)
            | ExprKind::Null
            | ExprKind::Ident(_)
            | ExprKind::Out { .. } => {}
        }
    }
}
