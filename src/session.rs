//! Sessions: the inputs, every observation and every finding of a run, serializable and
//! self-contained (certificates embedded as PEM, public parts only), so a colleague can open it on
//! another machine. Private keys, passwords and secret header values are never part of it.

use serde::{Deserialize, Serialize};

use crate::azure::AzureConfig;
use crate::cert::CertInfo;
use crate::diagnose::{ClientVerify, Finding, InspectedChain, PolicyEvaluation};
use crate::probe::{ProbeOptions, ProbeResult};

/// Version of the session file format. Older versions stay loadable.
pub const SESSION_SCHEMA_VERSION: u32 = 1;

/// Where a PFX password comes from: recorded so a replay can ask again, never the password itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PasswordRef {
    #[default]
    Prompt,
    Env {
        var: String,
    },
    File {
        path: String,
    },
    None,
}

/// The material a target was run with: paths only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct MaterialRefs {
    pub cert: Option<String>,
    pub key: Option<String>,
    pub pfx: Option<String>,
    pub password: PasswordRef,
    /// Trust for the server's chain (`--ca`); empty means the system store.
    pub ca: Vec<String>,
    /// CA certificates uploaded to the gateway (`--client-ca`), for Verify().
    pub client_ca: Vec<String>,
    pub policy: Option<String>,
    pub azure: Vec<String>,
}

/// What kind of run a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    #[default]
    Probe,
    Inspect,
}

/// One target: what was asked, what was seen, what it means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TargetRun {
    /// A short label (`api.contoso.com:443 inbound`, or a name from a targets file).
    pub name: String,
    pub kind: TargetKind,
    /// Probe options (None for an inspect-only target).
    pub options: Option<ProbeOptions>,
    /// Files given to inspect.
    pub files: Vec<String>,
    pub material: MaterialRefs,
    pub probe: Option<ProbeResult>,
    pub inspected: Option<InspectedChain>,
    pub policy: Option<PolicyEvaluation>,
    pub client_verify: Option<ClientVerify>,
    pub uploaded_cas: Vec<CertInfo>,
    pub azure: Option<AzureConfig>,
    pub findings: Vec<Finding>,
    /// `cert-expiring-soon` window in days (default 30).
    pub expiring_days: Option<i64>,
    /// An input problem that stopped this target (a file that would not load …): one line.
    pub error: Option<String>,
}

/// A whole session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub schema_version: u32,
    pub tool_version: String,
    /// RFC 3339.
    pub created_at: String,
    pub targets: Vec<TargetRun>,
}

impl Default for Session {
    fn default() -> Self {
        Session::new(vec![])
    }
}

impl Session {
    pub fn new(targets: Vec<TargetRun>) -> Self {
        Session {
            schema_version: SESSION_SCHEMA_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            created_at: crate::cert::rfc3339(time::OffsetDateTime::now_utc()),
            targets,
        }
    }

    /// Every finding of every target, in target order.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.targets.iter().flat_map(|t| t.findings.iter())
    }
}
