//! Policies that would let a look-alike certificate in (names without a chain check, validate-trust
//! off, a CA's thumbprint among the pins, a check left in an XML comment), and the wording every fix
//! uses when a certificate is refused: the engineer decides whether the client is meant to get in.

use super::catalog::finding;
use super::finding::Finding;
use super::id::FindingId;
use super::policy_rules::visible;
use super::PolicyEvaluation;
use crate::cert::normalize_thumbprint;
use crate::policy::{csharp_string_literal, CheckKind, PolicyChecks};

/// The question a refused certificate raises before anything is changed.
pub const MEANT_TO_GET_IN: &str = "Is this client meant to get in? Decide that first (ask the certificate's owner).";

/// The branch for a client that is not meant to get in.
pub const IF_NOT: &str = "If not: the gateway is right to refuse it, and nothing needs to change.";

/// A CA certificate known from the inputs, for `policy-pins-ca-thumbprint`.
#[derive(Debug, Clone)]
pub struct KnownCa {
    pub thumbprint: String,
    pub subject: String,
    /// Where it is known from: `--client-ca a.pem`, `--azure service.json`, `the client chain`.
    pub source: String,
}

pub fn policy_safety_findings(ev: &PolicyEvaluation, known_cas: &[KnownCa], out: &mut Vec<Finding>) {
    let c = &ev.outcome.checks;
    let subject = format!("policy {}", ev.source);
    let mut push = |mut f: Finding| {
        f.subject = Some(subject.clone());
        out.push(f);
    };
    if let Some(f) = name_without_chain(c) {
        push(f);
    }
    if let Some(f) = trust_off(c) {
        push(f);
    }
    if let Some(f) = pins_ca(c, known_cas) {
        push(f);
    }
    if let Some(f) = commented_out(c) {
        push(f);
    }
    if let Some(f) = not_saveable(c) {
        push(f);
    }
}

fn not_saveable(c: &PolicyChecks) -> Option<Finding> {
    let first = c.compile_errors.first()?;
    let mut f = finding(FindingId::PolicyNotSaveable);
    f.cause = format!(
        "APIM will not save this policy: {}. The gateway compiles every policy expression when the policy is saved, \
         so this text never runs; the policy in force is whatever was saved before.",
        first.error
    );
    for e in &c.compile_errors {
        f.evidence.push(format!("{} (line {}): {} — {}", e.path, e.line, visible(&e.fragment), e.error));
    }
    for e in &c.compile_errors {
        let step = match e.error.split(':').next().unwrap_or_default() {
            "CS1010" | "CS1011" | "CS1012" => format!(
                "{}: C# strings take double quotes; write it as a string literal \"…\" (&quot;…&quot; inside the XML attribute).",
                visible(&e.fragment)
            ),
            "CS0019" if e.error.contains("'char'") => format!(
                "{}: indexing a string gives a char: compare it with a char literal in single quotes ('a'), or compare strings (StartsWith, Substring).",
                visible(&e.fragment)
            ),
            "CS0019" if e.error.contains("'object'") => format!(
                "{}: a context.Variables value is an object, and an object is not compared with a number, bool or char; read it as its type first: context.Variables.GetValueOrDefault<int>(\"name\") (or a cast, (int)context.Variables[\"name\"], which throws when the variable is missing).",
                visible(&e.fragment)
            ),
            "CS0019" => format!(
                "{}: compare the name's text, SubjectName.Name (or Subject), with the string, in .NET's form.",
                visible(&e.fragment)
            ),
            "CS1061" if e.error.contains("'X509Extension'") => format!(
                "{}: Extensions[…] and the extension collection give a plain X509Extension; convert it to the class that has the member first (OfType<X509KeyUsageExtension>(), or `as X509KeyUsageExtension` with a null check; likewise X509BasicConstraintsExtension, X509EnhancedKeyUsageExtension).",
                visible(&e.fragment)
            ),
            "CS0103" => format!(
                "{}: replace the placeholder with what it stands for (for example new string[] {{ \"…\" }} with the allowed thumbprints, each one confirmed as meant to get in).",
                visible(&e.fragment)
            ),
            _ => format!("{}: correct it so that it compiles.", visible(&e.fragment)),
        };
        if !f.fix.contains(&step) {
            f.fix.push(step);
        }
    }
    Some(f)
}

/// The look-alike walk, when the policy was read with it and it decided.
fn look_alike(c: &PolicyChecks) -> Option<&crate::policy::LookAlike> {
    c.look_alike.as_ref().filter(|l| l.undecided.is_none())
}

fn name_without_chain(c: &PolicyChecks) -> Option<Finding> {
    // Through the conditions' logic: the name checks a look-alike passes on a path that lets it
    // in. Without that walk (older sessions, too many paths): any chain check or pin quiets it.
    let unpinned: Vec<_> = match look_alike(c) {
        Some(l) => c.name_checks.iter().filter(|n| l.admitted && l.through.contains(&n.path)).collect(),
        None if !c.chain_checks.is_empty() => return None,
        None => c.name_checks.iter().filter(|n| !n.pinned).collect(),
    };
    if unpinned.is_empty() {
        return None;
    }
    let mut f = finding(FindingId::PolicyNameCheckWithoutChain);
    let substring = unpinned.iter().any(|n| n.kind == CheckKind::NameSubstring);
    let part = if substring { " (some only by a part of them)" } else { "" };
    f.cause = if look_alike(c).is_some() && !(c.chain_checks.is_empty() && c.thumbprint_pins.is_empty()) {
        format!(
            "The policy lets a certificate in by its names{part}: a chain check (Verify(), VerifyNoRevocation(), \
             validate-client-certificate with validate-trust on) or a pinned thumbprint is there, but not on the \
             path these checks let the request take (it is or-ed with them, sits in another <when>, or comes \
             after the return). Anyone can make a certificate that carries these names, so a look-alike passes."
        )
    } else {
        format!(
            "The policy lets a certificate in by its names{part}, and nothing in it checks the chain (Verify(), \
             VerifyNoRevocation(), validate-client-certificate with validate-trust on) or pins a thumbprint \
             next to these checks. Anyone can make a certificate that carries these names, so a look-alike \
             passes."
        )
    };
    for n in &unpinned {
        let how = if n.kind == CheckKind::NameSubstring { "searched" } else { "compared" };
        f.evidence.push(format!("{} (line {}): name {how}: {}", n.path, n.line, visible(&n.text)));
    }
    if c.inherits_base {
        f.evidence.push(
            "the inbound section has <base/>: a chain check in the inherited scope (API, product, global) would cover this"
                .into(),
        );
    }
    f.fix = vec![
        "Check the chain too: add context.Request.Certificate.VerifyNoRevocation() (or Verify()) to the condition, with \
         the issuing CA uploaded under CA certificates, or use validate-client-certificate."
            .into(),
        "Or pin the clients' thumbprints instead of their names.".into(),
    ];
    Some(f)
}

fn trust_off(c: &PolicyChecks) -> Option<Finding> {
    // A chain check the request meets first (a <when> before it refusing !Verify()) covers it.
    let reached = |path: &str| look_alike(c).is_none_or(|l| l.admitted && l.through.iter().any(|p| p == path));
    let weak: Vec<_> =
        c.trust_off.iter().filter(|t| (t.identities == 0 || t.without_thumbprint > 0) && reached(&t.path)).collect();
    if weak.is_empty() {
        return None;
    }
    let mut f = finding(FindingId::PolicyTrustOff);
    f.cause = "validate-trust=\"false\" skips the chain check, so an identity that pins no thumbprint matches any \
               certificate carrying the names (or issuer name) it lists, whoever made it."
        .into();
    for t in weak {
        if t.identities == 0 {
            f.evidence.push(format!(
                "{} (line {}): validate-trust=\"false\" and no identities: any certificate within its dates passes",
                t.path, t.line
            ));
        } else {
            f.evidence.push(format!(
                "{} (line {}): validate-trust=\"false\", {} of {} identities pin no thumbprint",
                t.path, t.line, t.without_thumbprint, t.identities
            ));
        }
    }
    f.fix = vec![
        "Put a thumbprint attribute in every identity, or set validate-trust=\"true\" with the issuing CA uploaded \
         (tiers without CA certificates: pin thumbprints)."
            .into(),
    ];
    Some(f)
}

fn pins_ca(c: &PolicyChecks, known: &[KnownCa]) -> Option<Finding> {
    let mut f = finding(FindingId::PolicyPinsCaThumbprint);
    for pin in &c.thumbprint_pins {
        let ca = known.iter().find(|k| k.thumbprint == pin.thumbprint).map(|k| (k.subject.clone(), k.source.clone()));
        let ca = ca.or_else(|| {
            pin.deployment_ca.as_ref().map(|id| (format!("certificate entity {id}"), "--deployment-cert".into()))
        });
        let Some((name, source)) = ca else { continue };
        f.evidence.push(format!(
            "{} (line {}): {} is the CA certificate \"{name}\" (from {source})",
            pin.path,
            pin.line,
            visible(&pin.literal)
        ));
    }
    if f.evidence.is_empty() {
        return None;
    }
    f.cause =
        "A thumbprint the client certificate is compared with belongs to a CA certificate. No certificate the CA \
               issues has the CA's own thumbprint: the entry lets in only the CA certificate itself, presented by \
               whoever holds the CA's private key, and it does not mean \"every certificate from this CA\"."
            .into();
    f.fix = vec![
        "Which clients are meant to get in? Decide that before changing the list.".into(),
        "If the intent is every certificate this CA issues: check the chain (VerifyNoRevocation() or Verify() with the \
         CA uploaded, or validate-client-certificate) and the issuer, and drop the CA's thumbprint from the list."
            .into(),
        "If the intent is a few named clients: list their own thumbprints, each one confirmed as meant to get in."
            .into(),
    ];
    Some(f)
}

fn commented_out(c: &PolicyChecks) -> Option<Finding> {
    if c.commented_out.is_empty() {
        return None;
    }
    let mut f = finding(FindingId::PolicyCheckCommentedOut);
    let live = !(c.chain_checks.is_empty() && c.name_checks.is_empty() && c.thumbprint_pins.is_empty());
    f.cause = if live {
        "Part of the certificate checking is inside an XML comment, so the gateway does not run it; the checks outside \
         comments are what decide."
            .into()
    } else {
        "The certificate check is inside an XML comment, so the gateway does not run it, and nothing outside comments \
         checks the client certificate: every certificate (or none) gets past this policy."
            .into()
    };
    for cc in &c.commented_out {
        f.evidence.push(format!("line {}: <!-- {} -->", cc.line, visible(&cc.text)));
    }
    f.fix =
        vec!["Restore the check if it is meant to run; otherwise delete the comment so nobody reads it as active."
            .into()];
    Some(f)
}

/// The fix for a thumbprint that does not match. Only a literal in the wrong form (case, spaces,
/// an invisible character) is corrected to the presented certificate: the policy meant it. Any
/// other mismatch asks whether the client is meant to get in, and a look-alike (the expected names,
/// another thumbprint) is never offered a way in.
pub fn thumbprint_fix(
    id: FindingId,
    literal: &str,
    actual: &str,
    look_alike: Option<&str>,
    identity: bool,
    cause: &mut String,
) -> Vec<String> {
    match id {
        FindingId::ThumbprintInvisibleChar | FindingId::ThumbprintWhitespace | FindingId::ThumbprintCase => {
            if identity {
                vec![format!("Set thumbprint=\"{actual}\" (the same certificate, written without the stray characters).")]
            } else {
                vec![
                    format!("Replace the literal with {} (exactly, uppercase, no spaces).", csharp_string_literal(actual)),
                    "Or compare case-insensitively after trimming: context.Request.Certificate.Thumbprint.Equals(\"…\", StringComparison.OrdinalIgnoreCase).".into(),
                ]
            }
        }
        FindingId::ThumbprintIsIssuer => vec![
            "Which clients are meant to get in? Decide that before changing anything: the literal is the issuing CA's thumbprint, which no client certificate has.".into(),
            if identity {
                "If every certificate this CA issues may get in: name the CA with issuer-thumbprint=\"…\" (validate-trust on) instead of thumbprint.".into()
            } else {
                "If every certificate this CA issues may get in: replace the thumbprint test with a chain check (VerifyNoRevocation() or Verify(), with the CA uploaded) and an issuer check.".into()
            },
            "If only some clients may: list their own thumbprints, each one confirmed as meant to get in.".into(),
            IF_NOT.into(),
        ],
        _ => match look_alike {
            Some(name) => {
                cause.push_str(&format!(
                    " The presented certificate carries the name the policy expects (\"{name}\") with another thumbprint: a different key made a certificate with the same names."
                ));
                vec![
                    format!(
                        "This is not the certificate the policy expects: configure the client with the certificate whose thumbprint is {} (check which file the client actually sends).",
                        normalize_thumbprint(literal)
                    ),
                    "If nobody you trust issued this one, treat it as an attempt to pass for that client: the gateway is right to refuse it, and the policy must not be changed to let it in.".into(),
                ]
            }
            None => vec![
                MEANT_TO_GET_IN.into(),
                if identity {
                    format!("If yes (a new client, or this client's renewed certificate): add an identity with thumbprint=\"{actual}\", and drop the old one once no client uses it.")
                } else {
                    format!("If yes (a new client, or this client's renewed certificate): add its thumbprint \"{actual}\" next to the one the policy has, and drop the old one once no client uses it.")
                },
                IF_NOT.into(),
            ],
        },
    }
}

/// The fix for a subject or issuer that names someone else: whether this client belongs first.
pub fn name_mismatch_fix(is_subject: bool, actual: &str, written: String) -> Vec<String> {
    vec![
        MEANT_TO_GET_IN.into(),
        if is_subject {
            format!("If yes: accept its subject as well, written {written}, and keep (or add) a chain check: a name alone proves nothing.")
        } else {
            format!("If yes: its CA (\"{actual}\") becomes one the API trusts: upload it under CA certificates and accept that issuer as well, written {written}.")
        },
        IF_NOT.into(),
    ]
}
