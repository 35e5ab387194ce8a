//! mtls-doctor: troubleshoot mutual-TLS handshakes between API clients, a gateway (Azure API
//! Management first) and its backends.
//!
//! Data flows one way through the modules:
//!
//! ```text
//! inputs      CLI flags (cli/), targets files (targets), session files (session/store), TUI form
//!   -> engine   the one runner every front end calls: load, probe or inspect, evaluate, diagnose
//!               (engine/load: material cache; engine/run: the one dispatch; engine/batch: jobs;
//!               engine/sweep: targets pulled lazily, memory bounded by -j)
//!   -> material PEM / DER / PFX into certificates and keys      (material/, cert/, fsio caps reads)
//!               and --forward-cert: a certificate in a header as a front end writes it (material/forward)
//!   -> verify   chains with openssl-compatible verdicts         (verify/: code, openssl, host, der)
//!               and .NET's revocation check for Verify(): CRL / OCSP fetched over http, bounded,
//!               cached per run, signatures checked against the issuer; a missing issuer
//!               fetched from caIssuers as .NET's chain building does      (revocation/, aia)
//!   -> probe    DNS, TCP, TLS, HTTP; every failure is data      (probe/: dns, tls, http; listen, lab)
//!   -> diagnose pure rules from observations to findings        (diagnose/, policy/, azure/)
//!               (policy/lookalike: how a look-alike certificate fares through the conditions' logic)
//!   -> session  inputs + observations + findings, serializable  (session/: model, store, redact, diff;
//!               certs: each certificate stored once, spool: a sweep saved target by target)
//!   -> views    JSON, text, Markdown, TUI panes                 (report/, tui/)
//! watch       run after run through engine, change records from the session diff (watch, session/watch)
//! exporter    /probe and /metrics for Prometheus over engine (exporter/: server, openmetrics)
//! ```
//!
//! Where to look:
//! - a finding's id is `diagnose::FindingId` (diagnose/id.rs); its words and fix are in
//!   diagnose/catalog.rs; the rule that decides it is in one of diagnose/{probe,server,cert,chain,
//!   policy,azure}_rules.rs (grep the variant name), and diagnose/outcome.rs then lets the server's
//!   final answer set the severity; docs/findings.md documents each id.
//! - a probe phase is recorded in probe/mod.rs (`run_probe`: DNS in probe/dns.rs, TCP in mod.rs,
//!   TLS in probe/tls.rs with the recording verifiers in danger/, HTTP in probe/http.rs).
//! - every word a person reads about a domain value (roles, verdicts, alerts, schemes, reasons) is
//!   in `text` (below diagnose, session, report and tui), with `clean()` for untrusted text.
//!
//! A view never re-derives a fact, a rule never does I/O, and a probe never decides what a failure
//! means. Only `tui` touches the terminal; `tui`, `cli` and `demo` are glue over `engine`.

pub mod azure;
pub mod cert;
pub mod cli;
pub mod danger;
pub mod demo;
pub mod diagnose;
pub mod engine;
pub mod error;
pub mod exporter;
pub mod fsio;
pub mod lab;
pub mod listen;
pub mod material;
pub mod pki;
pub mod policy;
pub mod probe;
pub mod report;
pub mod revocation;
pub mod session;
pub mod targets;
pub mod text;
pub mod tui;
pub mod verify;
pub mod watch;

pub use error::{Error, Result};
