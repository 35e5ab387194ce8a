//! `context.Request.Body`: `As<string>(…)` and `As<JObject>(…)` on the body a probe sent
//! (`--data`). Microsoft Learn (set-body policy) says a read without `preserveContent: true` loses
//! the original body; what a later read then returns is not documented, so it is unknown here, as is
//! what `Body` is for a request that has no body. The body's text never enters a recorded
//! comparison: it may hold credentials.

use super::super::expr::{Expr, Span};
use super::super::BodyInput;
use super::value::{Origin, Text, Val};
use super::{unevaluable, ExprEval, Stop};

/// The body is not known to this evaluation (inspect, a replayed session without `--data`).
pub(in crate::policy) const BODY_UNKNOWN: &str =
    "the request body is not known here (a probe sends one with --data; a saved session keeps only its length and SHA-256)";
/// The probe sent no body.
const BODY_ABSENT: &str = "the request has no body (no --data), and whether the gateway's context.Request.Body is then null or an empty body is not documented";
/// A second read after one that did not preserve the content.
const BODY_CONSUMED: &str = "an earlier read of the body had no preserveContent: true, which Microsoft Learn says loses the original body; what a later read returns is not documented";

impl ExprEval<'_, '_> {
    /// `context.Request.Body`.
    pub(super) fn request_body(&self, span: Span) -> Result<Val, Stop> {
        match self.input.body {
            BodyInput::Unknown => Err(unevaluable(self.src, span, BODY_UNKNOWN)),
            BodyInput::Absent => Err(unevaluable(self.src, span, BODY_ABSENT)),
            BodyInput::Known(_) => Ok(Val::Body),
        }
    }

    /// `Body.As<T>(preserveContent)`: `string` and `JObject`.
    pub(super) fn body_call(
        &mut self,
        name: &str,
        type_arg: Option<&str>,
        args: &[Expr],
        span: Span,
    ) -> Result<Val, Stop> {
        if name != "As" {
            return Err(unevaluable(
                self.src,
                span,
                format!("method `{name}` of context.Request.Body is not supported (As<string> and As<JObject> are)"),
            ));
        }
        let preserve = match args {
            [] => false,
            [arg] => match self.eval(arg)? {
                Val::Bool(b) => b,
                other => {
                    return Err(unevaluable(
                        self.src,
                        arg.span,
                        format!("preserveContent is a bool, not {}", other.describe()),
                    ))
                }
            },
            _ => {
                return Err(unevaluable(self.src, span, "Body.As takes one argument (preserveContent)"));
            }
        };
        if self.variables.body_consumed {
            return Err(unevaluable(self.src, span, BODY_CONSUMED));
        }
        let BodyInput::Known(bytes) = self.input.body else {
            return Err(unevaluable(self.src, span, BODY_UNKNOWN));
        };
        let value = match type_arg {
            Some("string" | "String") => self.body_text(bytes, span).map(|value| {
                Val::Str(Text { raw: value.clone(), value, origin: Origin::Header, transforms: Vec::new() })
            }),
            Some("JObject") => self.body_text(bytes, span).and_then(|text| self.jobject_from_text(&text, span)),
            Some(other) => Err(unevaluable(
                self.src,
                span,
                format!("Body.As<{other}> is not supported (As<string> and As<JObject> are)"),
            )),
            None => Err(unevaluable(self.src, span, "Body.As needs a type argument")),
        };
        // A read the shadow pass makes to record comparisons is not one C# makes.
        if !preserve && !self.shadow {
            self.variables.body_consumed = true;
        }
        value
    }

    /// The body as text: UTF-8 without a byte-order mark. Another encoding (a `charset` in the
    /// Content-Type, a BOM) is decoded by rules the gateway does not document.
    fn body_text(&self, bytes: &[u8], span: Span) -> Result<String, Stop> {
        if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
            return Err(unevaluable(
                self.src,
                span,
                "the body starts with a UTF-8 byte-order mark, and whether the gateway's As<string> keeps it is not documented",
            ));
        }
        String::from_utf8(bytes.to_vec()).map_err(|_| {
            unevaluable(
                self.src,
                span,
                "the body is not UTF-8 text, and how the gateway decodes other encodings is not documented",
            )
        })
    }
}
