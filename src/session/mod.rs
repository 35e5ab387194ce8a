//! Sessions: the inputs, every observation and every finding of a run, serializable and
//! self-contained (certificates embedded as PEM, public parts only), so a colleague can open it on
//! another machine. Private keys, passwords and secret header values are never part of it.

mod certs;
mod diff;
mod model;
mod paths;
mod redact;
mod redact_check;
mod relabel;
mod spool;
mod store;
mod stream;
mod summary;
mod watch;

pub use self::certs::{CERTIFICATES, CERT_REF};
pub use self::diff::{diff, CertSummary, Change, DiffSide, SessionDiff, TargetDiff, TargetStatus, DIFF_SCHEMA_VERSION};
pub use self::model::{
    ForwardedCert, InspectContext, MaterialRefs, PasswordRef, Session, TargetKind, TargetRun,
    OLDEST_SESSION_SCHEMA_VERSION, REDACTED, SESSION_SCHEMA_VERSION,
};
pub use self::paths::{absolute_inputs, absolute_target_inputs, resolve_inputs};
pub use self::redact::{redact_target, redacted, redacted_target, secrets_of};
pub use self::relabel::{relabel_dir, relabel_run, unlabel_inputs};
pub use self::spool::{encode, Spool};
pub use self::store::{
    load, parse, save, write_atomically, write_atomically_with, MAX_SESSION_BYTES, MAX_STRING_BYTES,
};
pub use self::summary::{handshake_summary, policy_summary, verdict_summary};
pub use self::watch::{EndReason, TargetState, Until, WatchLog, WatchRecord, MAX_KEPT_RECORDS, WATCH_SCHEMA_VERSION};
