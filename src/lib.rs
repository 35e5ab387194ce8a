//! mtls-doctor: troubleshoot mutual-TLS handshakes between API clients, a gateway (Azure API
//! Management first) and its backends.
//!
//! Data flows one way through the modules:
//!
//! ```text
//! inputs (CLI flags, session file, TUI form)
//!   -> material  load PEM / DER / PFX into certificates and keys         (material, cert)
//!   -> verify    build and judge chains with openssl-compatible verdicts  (verify)
//!   -> probe     DNS, TCP, TLS, HTTP; every failure is data               (probe, listen, lab)
//!   -> diagnose  pure rules from observations to findings                 (policy, azure, diagnose)
//!   -> session   inputs + observations + findings, serializable           (report, session)
//!   -> views     TUI panes, JSON, text, markdown                          (report, tui)
//! ```
//!
//! A view never re-derives a fact, a rule never does I/O, and a probe never decides what a failure
//! means. Only `tui` touches the terminal.

pub mod azure;
pub mod cert;
pub mod cli;
pub mod danger;
pub mod demo;
pub mod diagnose;
pub mod engine;
pub mod error;
pub mod exporter;
pub mod lab;
pub mod listen;
pub mod material;
pub mod pki;
pub mod policy;
pub mod probe;
pub mod report;
pub mod session;
pub mod tui;
pub mod verify;
pub mod watch;

pub use error::{Error, Result};
