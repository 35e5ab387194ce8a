//! Rules over a policy evaluation: which clause answers 403 and why a literal that looks right
//! does not match (case, spaces, an invisible character, the issuer's thumbprint, RDN order).

use super::catalog::finding;
use super::finding::{Finding, Severity};
use super::id::{join_ids, FindingId};
use super::policy_safety::{name_mismatch_fix, thumbprint_fix, IF_NOT, MEANT_TO_GET_IN};
use super::PolicyEvaluation;
use crate::cert::{normalize_thumbprint, CertInfo};
use crate::policy::{csharp_string_literal, is_invisible, thumbprint_literal_snippet, Comparison, ValidationFailure};
use crate::text::clean;

/// Show a literal with its invisible characters made visible (`<U+200E>`). Every character that
/// `thumbprint-invisible-char` detects is marked, or the evidence would hide the very thing it reports.
/// A `validate-client-certificate` identity attribute that did not match what was presented.
fn identity_mismatch(id: FindingId, ic: &crate::policy::IdentityCheck, actual: &str) -> Finding {
    let mut f = finding(id);
    f.cause = format!(
        "validate-client-certificate identity {} attribute {} does not match the certificate presented.",
        ic.identity, ic.attribute
    );
    f.evidence.push(format!("{} {}=\"{}\"", ic.path, ic.attribute, visible(&ic.expected)));
    f.evidence.push(format!("presented: {actual}"));
    f
}

pub fn visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut buf = [0u8; 4];
    for c in s.chars() {
        if is_invisible(c) && !c.is_control() {
            out.push_str(&format!("<U+{:04X}>", u32::from(c)));
        } else {
            out.push_str(&clean(c.encode_utf8(&mut buf)));
        }
    }
    out
}

fn compared_equal(c: &Comparison) -> bool {
    match &c.compared_actual {
        None => false,
        Some(actual) => {
            if c.case_insensitive {
                actual.to_lowercase() == c.compared_literal.to_lowercase()
            } else {
                *actual == c.compared_literal
            }
        }
    }
}

/// Every reason a thumbprint literal does not equal the certificate's thumbprint, most specific first.
fn thumbprint_problems(
    literal: &str,
    actual: &str,
    issuer_thumbprints: &[String],
    case_matters: bool,
) -> Vec<FindingId> {
    let norm = normalize_thumbprint(literal);
    let hex_only_len = literal.chars().filter(|c| c.is_ascii_hexdigit()).count();
    let mut problems = Vec::new();
    if norm == actual && hex_only_len == 40 {
        if literal.chars().any(is_invisible) {
            problems.push(FindingId::ThumbprintInvisibleChar);
        }
        if literal.chars().any(|c| (c.is_whitespace() && !is_invisible(c)) || c == ':' || c == '-') {
            problems.push(FindingId::ThumbprintWhitespace);
        }
        if case_matters && literal.chars().any(|c| c.is_ascii_lowercase()) {
            problems.push(FindingId::ThumbprintCase);
        }
        if !problems.is_empty() {
            return problems;
        }
    }
    if issuer_thumbprints.contains(&norm) {
        return vec![FindingId::ThumbprintIsIssuer];
    }
    vec![FindingId::ThumbprintMismatch]
}

fn thumbprint_cause(id: FindingId) -> String {
    match id {
        FindingId::ThumbprintInvisibleChar => "The thumbprint literal carries an invisible character (typically U+200E, added when copying from the Windows certificate dialog), so the ordinal string comparison never matches.",
        FindingId::ThumbprintWhitespace => "The thumbprint literal contains spaces or separators; X509Certificate2.Thumbprint has none, so the comparison never matches.",
        FindingId::ThumbprintCase => "The thumbprint literal is in lowercase (or mixed case). X509Certificate2.Thumbprint is uppercase hex and C# == on strings is case-sensitive.",
        FindingId::ThumbprintIsIssuer => "The literal is the thumbprint of the issuing CA certificate, not of the client certificate: every client certificate's own thumbprint differs from it.",
        _ => "The thumbprint in the policy belongs to another certificate (an old one before a rotation, or a different client).",
    }
    .to_string()
}

/// Split a DN in .NET, RFC 4514 or OpenSSL slash form into normalised `KEY=value` parts.
pub fn dn_parts(dn: &str) -> Vec<String> {
    let dn = dn.trim();
    let slash = dn.starts_with('/');
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = dn.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            ',' | ';' | '+' if !quoted && !slash => {
                parts.push(std::mem::take(&mut cur));
            }
            '/' if slash && !quoted => {
                parts.push(std::mem::take(&mut cur));
            }
            c => cur.push(c),
        }
    }
    parts.push(cur);
    parts
        .into_iter()
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            let key = match k.trim().to_ascii_uppercase().as_str() {
                "ST" | "S" => "S".to_string(),
                "EMAILADDRESS" | "E" => "E".to_string(),
                "GN" | "G" => "G".to_string(),
                "TITLE" | "T" => "T".to_string(),
                "SERIALNUMBER" => "SERIALNUMBER".to_string(),
                other => other.to_string(),
            };
            Some(format!("{key}={}", v.trim()))
        })
        .collect()
}

fn same_rdns(a: &str, b: &str) -> bool {
    let mut x = dn_parts(a);
    let mut y = dn_parts(b);
    if x.is_empty() {
        return false;
    }
    x.sort();
    y.sort();
    x == y
}

pub fn policy_findings(
    ev: &PolicyEvaluation,
    cert: Option<&CertInfo>,
    forwarded: Option<super::ForwardedSeen>,
    issuer_thumbprints: &[String],
    out: &mut Vec<Finding>,
) {
    let o = &ev.outcome;
    let subject = format!("policy {}", ev.source);
    let mut found: Vec<Finding> = Vec::new();
    let look_alike = look_alike_names(o);

    let mut specific: Vec<FindingId> = Vec::new();
    // Behind a front end (`--forward-cert`) the certificate compared is the forwarded one.
    let seen = |actual: &str| match (cert, forwarded) {
        (None, Some(fw)) => format!("forwarded: {actual} (in the {} header)", fw.header),
        _ => format!("presented: {actual}"),
    };
    // Literal-by-literal analysis of every comparison with the presented certificate.
    for c in &o.comparisons {
        let Some(actual) = &c.actual else { continue };
        if c.literal_source != "literal" || compared_equal(c) {
            continue;
        }
        let equality = matches!(c.operator.as_str(), "==" | "!=" | "Equals" | "string.Equals");
        if !equality {
            continue;
        }
        match c.property.as_str() {
            "Thumbprint" => {
                let problems = thumbprint_problems(&c.literal, actual, issuer_thumbprints, !c.case_insensitive);
                for (n, id) in problems.iter().enumerate() {
                    let id = *id;
                    let mut f = finding(id);
                    f.cause = thumbprint_cause(id);
                    f.evidence.push(format!("{} clause {}: {}", c.path, c.clause, visible(&c.clause_text)));
                    f.evidence.push(format!("literal:   {}", visible(&c.literal)));
                    f.evidence.push(seen(actual));
                    if !c.evaluated {
                        f.evidence.push(
                            "this clause was short-circuited for this request, but would fail when reached".into(),
                        );
                        f.severity = Severity::Warning;
                    }
                    f.fix = thumbprint_fix(id, &c.literal, actual, look_alike.as_deref(), false, &mut f.cause);
                    // The most specific finding carries the snippet (when one is safe), the others point at it.
                    if n > 0 {
                        f.related.push(problems[0]);
                    }
                    f.related.push(FindingId::PolicyRejects);
                    for other in problems.iter().filter(|o| **o != id) {
                        if !f.related.iter().any(|r| r == other) {
                            f.related.push(*other);
                        }
                    }
                    specific.push(id);
                    found.push(f);
                }
            }
            "Issuer" | "Subject" | "IssuerName.Name" | "SubjectName.Name" => {
                let id = if same_rdns(&c.literal, actual) { FindingId::IssuerOrder } else { FindingId::IssuerMismatch };
                let mut f = finding(id);
                let is_subject = c.property.starts_with("Subject");
                if is_subject {
                    f.title = if id == FindingId::IssuerOrder {
                        "The subject literal has the right parts in the wrong form".into()
                    } else {
                        "The subject literal does not match the certificate presented".into()
                    };
                }
                f.cause = if id == FindingId::IssuerOrder {
                    format!(
                        "The literal has the same name parts as the certificate's {}, but written in another order or form (OpenSSL prints RDNs in encoding order, or with \"/\" and ST=). .NET writes them in reverse order, \", \"-separated, S= for state, and C# compares the strings exactly.",
                        c.property
                    )
                } else {
                    format!("The certificate's {} differs from the literal: a different CA (or subject) than the policy expects.", c.property)
                };
                f.evidence.push(format!("{} clause {}: {}", c.path, c.clause, visible(&c.clause_text)));
                f.evidence.push(format!("literal:   {}", visible(&c.literal)));
                f.evidence.push(seen(actual));
                f.fix = if id == FindingId::IssuerOrder {
                    vec![format!("Use the .NET form exactly: {}", csharp_string_literal(actual))]
                } else {
                    name_mismatch_fix(is_subject, actual, csharp_string_literal(actual))
                };
                specific.push(id);
                found.push(f);
            }
            _ => {}
        }
    }

    // validate-client-certificate identities.
    let no_identity = o.elements.iter().any(|e| {
        matches!(&e.outcome, crate::policy::ElementOutcome::CertificateRejected { failures, .. }
            if failures.iter().any(|f| matches!(f, ValidationFailure::NoIdentityMatched { .. })))
    });
    if no_identity {
        for ic in o.identity_checks.iter().filter(|ic| ic.matched == Some(false)) {
            let Some(actual) = &ic.actual else { continue };
            if ic.attribute == "thumbprint" || ic.attribute == "issuer-thumbprint" {
                let problems = thumbprint_problems(&ic.expected, actual, issuer_thumbprints, false);
                let id = problems[0];
                if ic.attribute == "issuer-thumbprint" && id == FindingId::ThumbprintIsIssuer {
                    continue;
                }
                let mut f = identity_mismatch(id, ic, actual);
                if ic.attribute == "thumbprint" {
                    f.fix = thumbprint_fix(id, &ic.expected, actual, look_alike.as_deref(), true, &mut f.cause);
                } else if id == FindingId::ThumbprintMismatch {
                    f.fix = name_mismatch_fix(false, actual, format!("issuer-thumbprint=\"{actual}\""));
                } else {
                    f.fix = vec![format!("Set {}=\"{actual}\".", ic.attribute)];
                }
                specific.push(id);
                found.push(f);
            } else if ic.attribute == "issuer-subject" || ic.attribute == "subject" {
                let id =
                    if same_rdns(&ic.expected, actual) { FindingId::IssuerOrder } else { FindingId::IssuerMismatch };
                let mut f = identity_mismatch(id, ic, actual);
                let quoted = actual.replace('"', "&quot;");
                if id == FindingId::IssuerOrder {
                    // How the gateway compares identity names is not documented: the order may not matter there.
                    f.severity = Severity::Warning;
                    f.cause.push_str(
                        " The parts are the same, written in another order or form. How the gateway matches an identity's names is not documented, so this may or may not be why it refuses the certificate.",
                    );
                    f.fix = vec![format!(
                        "Write it in the .NET form, which matches either way: {}=\"{quoted}\".",
                        ic.attribute
                    )];
                } else {
                    f.fix =
                        name_mismatch_fix(ic.attribute == "subject", actual, format!("{}=\"{quoted}\"", ic.attribute));
                }
                specific.push(id);
                found.push(f);
            }
        }
    }

    // A ready-made snippet accepts exactly the presented certificate: offered only when the policy
    // already meant this very certificate (a literal in the wrong form) and nothing else refuses it.
    if let (Some(c), true) = (cert, snippet_is_safe(o, &specific)) {
        let snippet = thumbprint_literal_snippet(&c.thumbprint_sha1, &c.issuer);
        if let Some(f) = found.iter_mut().find(|f| is_formatting(f.id) && f.severity == Severity::Error) {
            f.snippet = Some(snippet);
        }
    }
    for mut f in found {
        f.subject = Some(subject.clone());
        out.push(f);
    }

    if o.determined && o.status >= 400 {
        let mut f = finding(FindingId::PolicyRejects);
        // Behind a front end that ended TLS (`--forward-cert`) the handshake carries no certificate:
        // the one the policy judges is the forwarded one, unless it decided on the null request one.
        let by_forwarded = forwarded.filter(|_| cert.is_none() && !decided_on_request_certificate(o));
        f.cause = match (o.status, by_forwarded) {
            (500, _) => "An expression in the policy throws for this request (typically a property read on a null certificate), so the gateway answers 500.".into(),
            (s, Some(fw)) => format!("Evaluated against the certificate forwarded in the {} header, the policy answers {s}.", fw.header),
            (s, None) => format!("Evaluated against the certificate actually presented, the policy answers {s}."),
        };
        f.evidence.push(format!("status: {}", o.status));
        if let Some(d) = &o.decided_by {
            f.evidence.push(format!("decided by: {}", visible(d)));
        }
        if let Some(le) = &o.last_error {
            match &le.reason {
                Some(r) => f.evidence.push(format!("context.LastError.Reason: {r} (source {})", le.source)),
                None => f.evidence.push(format!(
                    "context.LastError.Reason: unknown ({})",
                    le.reason_unknown.clone().unwrap_or_default()
                )),
            }
        }
        match cert {
            Some(c) => f.evidence.push(format!("certificate: \"{}\" (Thumbprint {})", c.subject, c.thumbprint_sha1)),
            None => f.evidence.push("certificate: none (context.Request.Certificate is null)".into()),
        }
        if let Some(fw) = forwarded {
            f.evidence.push(format!(
                "certificate forwarded in the {} header: \"{}\" (Thumbprint {}){}",
                fw.header,
                fw.subject,
                fw.thumbprint,
                if by_forwarded.is_some() { "; the policy decided on it" } else { "" }
            ));
        }
        for e in &o.elements {
            if let crate::policy::ElementOutcome::CertificateRejected { failures, ignored: false } = &e.outcome {
                f.evidence.push(format!(
                    "{}: {}",
                    e.path,
                    failures.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        f.fix = if let (None, Some(fw)) = (cert, forwarded.filter(|_| by_forwarded.is_none())) {
            vec![format!(
                "The policy decided on context.Request.Certificate, which is null behind a front end that ends TLS: the client's certificate is in the {} header, so the policy has to read it from there.",
                fw.header
            )]
        } else if cert.is_none() && by_forwarded.is_none() {
            vec!["No certificate reached the policy: fix negotiation first (see gateway-did-not-request-cert / client-cert-missing).".into()]
        } else if specific.is_empty() {
            vec![
                MEANT_TO_GET_IN.into(),
                "If yes: find out which requirement of the deciding clause or element it misses (trust, dates, identity) and give the client a certificate that meets it, or change that requirement for every client it covers.".into(),
                IF_NOT.into(),
            ]
        } else {
            vec![format!("See {} for what to change, if anything.", join_ids(&specific))]
        };
        f.related = specific.clone();
        f.related.dedup();
        out.push(Finding { subject: Some(subject.clone()), ..f });
    }

    for u in &o.unevaluable {
        let mut f = finding(FindingId::PolicyUnevaluable);
        f.cause = format!("This part cannot be evaluated here: {}. It is reported, not guessed.", u.why);
        f.evidence.push(format!(
            "{}{}: {}",
            u.path,
            u.clause.map(|c| format!(" clause {c}")).unwrap_or_default(),
            visible(&u.fragment)
        ));
        f.fix = vec!["Check this part by hand in the APIM test console (trace).".into()];
        out.push(Finding { subject: Some(subject.clone()), ..f });
    }
}

/// The deciding clause reads `context.Request.Certificate` (a null test, a property of it).
fn decided_on_request_certificate(o: &crate::policy::PolicyOutcome) -> bool {
    o.decided_by.as_deref().is_some_and(|d| d.contains("context.Request.Certificate"))
        && !o.verify_calls.iter().any(|v| v.evaluated && v.forwarded.is_some())
}

/// Literal problems where the policy meant this very certificate and wrote it in the wrong form.
fn is_formatting(id: FindingId) -> bool {
    matches!(
        id,
        FindingId::ThumbprintInvisibleChar
            | FindingId::ThumbprintWhitespace
            | FindingId::ThumbprintCase
            | FindingId::IssuerOrder
    )
}

/// The snippet may be offered when every literal problem is one of form, and no chain check or
/// `validate-client-certificate` refuses the certificate for another reason.
fn snippet_is_safe(o: &crate::policy::PolicyOutcome, specific: &[FindingId]) -> bool {
    let verify_refuses = o.verify_calls.iter().any(|v| v.evaluated && !v.result);
    let validation_refuses = o.elements.iter().any(|e| {
        matches!(&e.outcome, crate::policy::ElementOutcome::CertificateRejected { failures, .. }
            if failures.iter().any(|f| !matches!(f, ValidationFailure::NoIdentityMatched { .. })))
    });
    // The snippet tests the dates itself, so an expired certificate stays refused by it.
    !specific.is_empty() && specific.iter().all(|id| is_formatting(*id)) && !verify_refuses && !validation_refuses
}

/// The presented certificate's own name, when the policy (or an identity) expects exactly that name:
/// then a thumbprint that differs means another certificate carrying the expected names.
fn look_alike_names(o: &crate::policy::PolicyOutcome) -> Option<String> {
    let by_condition = o.comparisons.iter().find(|c| {
        matches!(c.property.as_str(), "Subject" | "SubjectName.Name")
            && c.literal_source == "literal"
            && matches!(c.operator.as_str(), "==" | "!=" | "Equals" | "string.Equals")
            && compared_equal(c)
    });
    if let Some(c) = by_condition {
        return c.actual.clone();
    }
    o.identity_checks
        .iter()
        .find(|ic| matches!(ic.attribute.as_str(), "subject" | "common-name") && ic.matched == Some(true))
        .and_then(|ic| ic.actual.clone())
}
