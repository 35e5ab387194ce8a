//! What a session holds: the inputs of each target run (never secrets), its observations and
//! findings, and the file format version.

use serde::{Deserialize, Serialize};

use crate::azure::AzureConfig;
use crate::cert::CertInfo;
use crate::diagnose::{ClientVerify, Finding, InspectedChain, PolicyEvaluation, Severity};
use crate::material::KeyReport;
use crate::probe::{ProbeOptions, ProbeResult};
use crate::verify::Role;

/// Version of the session file format. Older versions stay loadable.
///
/// - 1: the first format.
/// - 2: adds `command`, `replayed_from`, and per target `inspect` (role, host, trust, origins) and
///   `keys`, so an inspect target can be replayed and rendered exactly as it was run.
/// - 3: every certificate is stored once, in the top-level `certificates` object keyed by its
///   SHA-256 thumbprint, and each place it appears in the targets holds `{"cert_ref": SHA-256}`
///   (a 10,000-target sweep of one gateway holds its chain once, not 10,000 times).
pub const SESSION_SCHEMA_VERSION: u32 = 3;
/// The oldest session format that still loads.
pub const OLDEST_SESSION_SCHEMA_VERSION: u32 = 1;

/// What a secret value becomes in every saved or reported form.
pub const REDACTED: &str = "[redacted]";

/// Where a PFX password comes from: recorded so a replay can ask again, never the password itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
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
    /// `--offline`: revocation data (CRLs, OCSP) is not fetched.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub offline: bool,
    /// `--deployment-cert ID=FILE`: the service's certificate entities (`context.Deployment.Certificates`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deployment_certs: Vec<String>,
    /// `--named-value NAME=VALUE`. Never saved: a named value can be a secret, so a saved
    /// session replays with them unresolved (and says so).
    #[serde(skip)]
    pub named_values: Vec<String>,
    /// `--forward-cert HEADER[=FORMAT]`: the client certificate is also sent in this request
    /// header, encoded the way a TLS-terminating front end forwards it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward_cert: Option<String>,
}

/// What kind of run a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    #[default]
    Probe,
    Inspect,
}

/// How an inspect target was judged, and where each certificate came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectContext {
    /// Judged as a client or a server certificate (`--role`).
    pub role: Role,
    /// The host name checked against a server certificate (`--host`).
    #[serde(default)]
    pub host: Option<String>,
    /// Where the trust anchors came from (`system`, or the `--ca` files).
    #[serde(default)]
    pub trust: String,
    /// The file each inspected certificate came from, in the order of `inspected.certs`.
    #[serde(default)]
    pub origins: Vec<String>,
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
    /// Inspect targets: the role and host they are judged for (schema 2).
    pub inspect: Option<InspectContext>,
    pub probe: Option<ProbeResult>,
    pub inspected: Option<InspectedChain>,
    /// Private keys found among inspected files, described, never included (schema 2).
    pub keys: Vec<KeyReport>,
    pub policy: Option<PolicyEvaluation>,
    /// Outbound probes with `--policy`: its backend routing and authentication certificates (the
    /// inbound decision is not evaluated for the gateway's own call).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbound_policy: Option<crate::policy::OutboundPolicy>,
    pub client_verify: Option<ClientVerify>,
    /// `--forward-cert`: the certificate sent in a request header, and `Verify()` on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarded: Option<ForwardedCert>,
    pub uploaded_cas: Vec<CertInfo>,
    pub azure: Option<AzureConfig>,
    pub findings: Vec<Finding>,
    /// `cert-expiring-soon` window in days (default 30).
    pub expiring_days: Option<i64>,
    /// An input problem that stopped this target (a file that would not load …): one line.
    pub error: Option<String>,
}

impl TargetRun {
    /// The inputs of this target without anything observed: what a replay starts from.
    pub fn inputs_only(&self) -> TargetRun {
        TargetRun {
            name: self.name.clone(),
            kind: self.kind,
            options: self.options.clone(),
            files: self.files.clone(),
            material: self.material.clone(),
            inspect: self.inspect.as_ref().map(|i| InspectContext {
                role: i.role,
                host: i.host.clone(),
                trust: String::new(),
                origins: Vec::new(),
            }),
            expiring_days: self.expiring_days,
            ..Default::default()
        }
    }
}

/// A certificate put in a request header with `--forward-cert`, as a front end that terminates
/// TLS would forward it, and what `Verify()` says of it: a front end forwards the certificate
/// alone, so its chain is built from it and the uploaded CA certificates only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForwardedCert {
    pub header: String,
    pub format: crate::material::forward::ForwardFormat,
    /// SHA-1 thumbprint (uppercase hex) and subject of the forwarded certificate.
    pub thumbprint: String,
    pub subject: String,
    /// `Verify()` / `VerifyNoRevocation()` of it against `--client-ca` (or the tier's roots), with
    /// the revocation fetched for it; `None` without CA certificates to judge it by.
    pub verify: Option<ClientVerify>,
}

/// A whole session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub schema_version: u32,
    pub tool_version: String,
    /// RFC 3339.
    pub created_at: String,
    /// The command that made it: `probe`, `inspect`, `demo` or `replay` (schema 2; empty if unknown).
    #[serde(default)]
    pub command: String,
    /// For a replay: the session file it re-ran (schema 2).
    #[serde(default)]
    pub replayed_from: Option<String>,
    pub targets: Vec<TargetRun>,
    /// A saved watch: its change log (additive; sessions without it load as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<super::watch::WatchLog>,
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
            command: String::new(),
            replayed_from: None,
            targets,
            watch: None,
        }
    }

    /// The same session, labelled with the command that made it.
    pub fn with_command(mut self, command: &str) -> Self {
        self.command = command.to_string();
        self
    }

    /// Every finding of every target, in target order.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.targets.iter().flat_map(|t| t.findings.iter())
    }

    /// Whether any finding is an error (exit code 1).
    pub fn has_errors(&self) -> bool {
        self.findings().any(|f| f.severity == Severity::Error)
    }
}
