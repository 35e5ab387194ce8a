//! Compile errors the evaluator finds while it evaluates: C# the compiler refuses that only the
//! types of the values reveal (`.KeyUsages` on a plain `X509Extension` is CS1061, a `char`
//! compared with a `string` is CS0019). API Management compiles every expression when the policy
//! is saved, so such a policy is one APIM will not save, reported like the compile errors the
//! checks find in the text (`checks.compile_errors`), not as something this tool cannot evaluate.
//!
//! The evaluator states these as an unevaluable reason that begins with the compiler's code and
//! message and ends its message with [`REFUSED`]; the construct is the fragment, whole.

use super::checks::CompileError;
use super::{Branch, Element, ElementKind, Policy, PolicyOutcome};

/// What ends the compiler's message in an evaluator reason that is a compile error.
pub(super) const REFUSED: &str = " (C# would not compile it)";

/// Whether an evaluator reason is a compile error this module moves (it names the compiler's code).
pub(super) fn is_compile_error(why: &str) -> bool {
    compile_error(why).is_some()
}

/// `CS1061: 'X509Extension' does not contain …` from an evaluator reason, when it is one.
fn compile_error(why: &str) -> Option<&str> {
    let (error, _) = why.split_once(REFUSED)?;
    let code = error.split(':').next()?;
    let digits = code.strip_prefix("CS")?;
    (digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(error)
}

/// Where in the document an element, `when` or `otherwise` with this path starts.
fn line_of(policy: &Policy, path: &str) -> Option<u32> {
    fn find(elements: &[Element], path: &str) -> Option<u32> {
        elements.iter().find_map(|el| {
            if el.path == path {
                return Some(el.line);
            }
            let ElementKind::Choose(c) = &el.kind else { return None };
            c.whens.iter().find_map(|w| if w.path == path { Some(w.line) } else { find(&w.elements, path) }).or_else(
                || {
                    c.otherwise.as_ref().and_then(
                        |Branch { path: p, line, elements, .. }| {
                            if p == path {
                                Some(*line)
                            } else {
                                find(elements, path)
                            }
                        },
                    )
                },
            )
        })
    }
    policy.sections.iter().find_map(|s| find(&s.elements, path))
}

/// Move the compile errors among the outcome's unevaluable reasons to `checks.compile_errors`;
/// when there are any, the outcome is the one for a policy APIM will not save.
pub(super) fn promote(policy: &Policy, mut out: PolicyOutcome) -> PolicyOutcome {
    let mut found = Vec::new();
    out.unevaluable.retain(|u| match compile_error(&u.why) {
        Some(error) => {
            found.push(CompileError {
                path: u.path.clone(),
                line: line_of(policy, &u.path).unwrap_or(0),
                fragment: u.fragment.clone(),
                error: error.to_string(),
            });
            false
        }
        None => true,
    });
    let Some(first) = found.first() else { return out };
    out.notes.push(format!(
        "APIM will not save this policy ({} at {}: {}): the policy in force is the one saved before, not this text",
        first.error, first.path, first.fragment
    ));
    for e in found {
        if !out.checks.compile_errors.iter().any(|c| c.fragment == e.fragment && c.error == e.error) {
            out.checks.compile_errors.push(e);
        }
    }
    out.status = 0;
    out.determined = false;
    out.decided_by = None;
    out.last_error = None;
    out.elements.clear();
    out.comparisons.clear();
    out.verify_calls.clear();
    out.identity_checks.clear();
    out
}

#[cfg(test)]
mod tests {
    use super::compile_error;

    #[test]
    fn reads_the_compiler_error_from_a_reason() {
        let why = "CS1061: 'X509Extension' does not contain a definition for 'KeyUsages' (C# would not compile it): convert it first";
        assert_eq!(compile_error(why), Some("CS1061: 'X509Extension' does not contain a definition for 'KeyUsages'"));
        assert_eq!(compile_error("the header is not known"), None);
        assert_eq!(compile_error("CSx: no (C# would not compile it)"), None);
    }
}
