//! Users read words, not Rust `Debug` output: the real `demo --headless` in text and Markdown has
//! no variant names of our enums, no `Some(`/`None`, no `{ field: ` and no `os error N`.

use mtls_doctor::diagnose::Symptom;
use mtls_doctor::policy::ValidationFailure;
use mtls_doctor::probe::dns::DnsErrorKind;
use mtls_doctor::probe::{NotSentReason, TcpOutcome, TlsFailure};
use mtls_doctor::verify::ChainProblem;

use crate::util::{bin, run, stderr, stdout};

/// `ChainNotTrusted { revocation_checked: false }` -> `ChainNotTrusted`.
fn variant(debug: String) -> String {
    debug.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or_default().to_string()
}

/// The names `{:?}` gives our enums' variants (and webpki's, which verdicts record), taken from the
/// enums themselves so a renamed variant cannot slip past. Only names that are not also English
/// words in a sentence: `Refused` or `Timeout` can begin one.
fn debug_names() -> Vec<String> {
    let s = String::new;
    let mut names: Vec<String> = [
        format!("{:?}", NotSentReason::NotRequested),
        format!("{:?}", NotSentReason::NoneConfigured),
        format!("{:?}", NotSentReason::NoCommonSignatureScheme),
        format!("{:?}", TcpOutcome::TimedOut),
        format!("{:?}", DnsErrorKind::NxDomain),
        format!("{:?}", DnsErrorKind::NoRecords),
        format!("{:?}", TlsFailure::AlertReceived { alert: s() }),
        format!("{:?}", TlsFailure::PeerIncompatible { detail: s() }),
        format!("{:?}", TlsFailure::PeerMisbehaved { detail: s() }),
        format!("{:?}", TlsFailure::InappropriateMessage { detail: s() }),
        format!("{:?}", TlsFailure::InvalidMessage { detail: s() }),
        format!("{:?}", TlsFailure::ConnectionClosed),
        format!("{:?}", TlsFailure::ConnectionReset),
        format!("{:?}", ValidationFailure::NoCertificate),
        format!("{:?}", ValidationFailure::ChainNotTrusted { revocation_checked: false }),
        format!("{:?}", ValidationFailure::RevocationCheckFailed),
        format!("{:?}", ValidationFailure::NotYetValid { not_before: s() }),
        format!("{:?}", ValidationFailure::NoIdentityMatched { identities: 0 }),
        format!("{:?}", ChainProblem::MissingIntermediate { needed_issuer: s() }),
        format!("{:?}", ChainProblem::OutOfOrder),
        format!("{:?}", ChainProblem::RootIncluded { subject: s() }),
        format!("{:?}", ChainProblem::IssuerKeyMismatch { issuer: s() }),
        format!("{:?}", Symptom::NullCertificate),
        format!("{:?}", Symptom::Forbidden403),
        format!("{:?}", Symptom::BadGateway502),
        format!("{:?}", webpki::Error::UnknownIssuer),
        format!("{:?}", webpki::Error::CaUsedAsEndEntity),
        format!("{:?}", webpki::Error::EndEntityUsedAsCa),
        format!("{:?}", webpki::Error::CertRevoked),
        format!("{:?}", webpki::Error::InvalidSignatureForPublicKey),
        format!("{:?}", webpki::Error::PathLenConstraintViolated),
    ]
    .into_iter()
    .map(variant)
    .collect();
    // Variants with fields (no value to format here) and webpki's deprecated unit variants.
    names.extend(
        [
            "CertExpired",
            "CertNotValidYet",
            "CertNotValidForName",
            "RequiredEkuNotFound",
            "UnsupportedSignatureAlgorithm",
        ]
        .map(String::from),
    );
    names
}

/// A server's body is quoted as sent (the lab backends answer JSON that names rustls errors):
/// it is evidence, not our wording.
fn our_words(line: &str) -> &str {
    ["body: ", "body starts ", "  body  "].iter().filter_map(|m| line.find(m)).min().map_or(line, |at| &line[..at])
}

/// Every Debug shape in `out`, one message per hit.
fn debug_shapes(out: &str) -> Vec<String> {
    let names = debug_names();
    let mut hits = Vec::new();
    for (n, full) in out.lines().enumerate() {
        let line = our_words(full);
        let mut hit = |what: &str| hits.push(format!("line {}: {what}: {full}", n + 1));
        for name in &names {
            let found = line.match_indices(name.as_str()).any(|(at, _)| {
                // A whole word: `NotRequested`, not part of `NotRequestedFoo` or `xNotRequested`.
                let before = line[..at].chars().next_back();
                let after = line[at + name.len()..].chars().next();
                !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
            });
            if found {
                hit(&format!("variant name {name}"));
            }
        }
        for shape in ["Some(", ": None", "(None", "None)", "None,", "SignatureScheme(", "NamedGroup(", "os error "] {
            if line.contains(shape) {
                hit(&format!("`{shape}`"));
            }
        }
        // `{ field: ` as Debug prints a struct variant.
        for (at, _) in line.match_indices("{ ") {
            let rest = &line[at + 2..];
            let field: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            if !field.is_empty() && rest[field.len()..].starts_with(": ") {
                hit("`{ field: `");
            }
        }
    }
    hits
}

fn demo(format: &str) -> String {
    let o = run(bin().args(["demo", "--headless", "--report", format]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdout(&o)
}

#[test]
fn the_checker_finds_the_shapes_that_used_to_leak() {
    let leaks = "  Client      none sent: NotRequested\n  webpki       UnknownIssuer\n  TCP         127.0.0.1:1 Refused: Connection refused (os error 111)\n- x: ChainNotTrusted { revocation_checked: false }\n  Can sign    SignatureScheme(0x809)\n";
    let hits = debug_shapes(leaks);
    assert_eq!(hits.len(), 6, "{hits:#?}");
    // Quoted bodies and words that only look alike pass.
    assert!(debug_shapes("  body        {\"alert\": \"UnknownCA\", \"x\": \"NotRequested\"}\nNone.\n").is_empty());
}

#[test]
fn demo_text_has_words_not_debug_output() {
    let out = demo("text");
    let hits = debug_shapes(&out);
    assert!(hits.is_empty(), "Debug text in the text report:\n{}\n\n{out}", hits.join("\n"));
    // The wordings that replaced them.
    assert!(out.contains("none sent: the server did not ask"), "{out}");
    assert!(out.contains("webpki       unknown issuer"), "{out}");
}

#[test]
fn demo_markdown_has_words_not_debug_output() {
    let out = demo("markdown");
    let hits = debug_shapes(&out);
    assert!(hits.is_empty(), "Debug text in the Markdown report:\n{}\n\n{out}", hits.join("\n"));
    assert!(out.contains("- Client certificate sent: none (the server did not ask)"), "{out}");
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[test]
fn a_refused_connection_reads_as_words_in_text_and_markdown() {
    let port = closed_port();
    for format in ["text", "markdown"] {
        let o = run(bin().args(["probe", &format!("127.0.0.1:{port}"), "--report", format]));
        let out = stdout(&o);
        assert!(out.contains(&format!("127.0.0.1:{port}: connection refused")), "{out}");
        let hits = debug_shapes(&out);
        assert!(hits.is_empty(), "{}\n\n{out}", hits.join("\n"));
    }
}

#[test]
fn an_unwritable_session_file_reads_as_words() {
    let port = closed_port();
    let o = run(bin().args(["probe", &format!("127.0.0.1:{port}"), "--save", "/nonexistent/mtls-doctor/s.json"]));
    let err = stderr(&o);
    assert!(err.contains("no such file or directory"), "{err}");
    assert!(!err.contains("os error"), "{err}");
}
