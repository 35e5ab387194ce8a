//! The JSON reports: serialize-only types that are the contract scripts rely on (`schema_version`).

use serde::Serialize;

use crate::cert::CertInfo;
use crate::diagnose::{ClientVerify, Finding, PolicyEvaluation};
use crate::material::KeyReport;
use crate::probe::ProbeResult;
use crate::session::{Session, TargetRun};
use crate::verify::Verdict;

/// Version of the JSON report contract. Bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// `inspect --report json`.
#[derive(Debug, Clone, Serialize)]
pub struct InspectReport {
    pub schema_version: u32,
    pub certificates: Vec<CertInfo>,
    pub keys: Vec<KeyReport>,
    pub verify: Option<Verdict>,
    /// What the chain was judged for and against.
    pub verify_context: Option<VerifyContext>,
    /// The policy evaluated against the leaf (with `--policy`).
    pub policy: Option<PolicyEvaluation>,
    /// What Verify() would say against the uploaded CA certificates (with `--client-ca`).
    pub client_verify: Option<ClientVerify>,
    pub findings: Vec<Finding>,
}

impl InspectReport {
    /// The report of an inspect target, as run or as loaded from a session.
    pub fn from_target(t: &TargetRun) -> Self {
        let inspected = t.inspected.as_ref();
        InspectReport {
            schema_version: SCHEMA_VERSION,
            certificates: inspected.map(|i| i.certs.clone()).unwrap_or_default(),
            keys: t.keys.clone(),
            verify: inspected.and_then(|i| i.verdict.clone()),
            verify_context: inspected.map(|i| VerifyContext {
                role: t.inspect.as_ref().map(|c| c.role).unwrap_or(i.role),
                host: t.inspect.as_ref().and_then(|c| c.host.clone()),
                trust: t.inspect.as_ref().map(|c| c.trust.clone()).unwrap_or_default(),
            }),
            policy: t.policy.clone(),
            client_verify: t.client_verify.clone(),
            findings: t.findings.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyContext {
    pub role: crate::verify::Role,
    pub host: Option<String>,
    pub trust: String,
}

/// `probe --report json`.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    pub schema_version: u32,
    pub probes: Vec<ProbeResult>,
    /// Per target: the policy's verdict and Verify(), when asked for.
    pub evaluations: Vec<Evaluation>,
    /// Targets that could not run, with the reason.
    pub errors: Vec<TargetError>,
    /// Every finding of every probe, most likely first within each target.
    pub findings: Vec<Finding>,
    /// A saved watch's change log (only for a watch session).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch: Option<crate::session::WatchLog>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub target: String,
    pub policy: Option<PolicyEvaluation>,
    pub client_verify: Option<ClientVerify>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetError {
    pub target: String,
    pub error: String,
}

impl ProbeReport {
    pub fn from_session(session: &Session) -> Self {
        ProbeReport {
            schema_version: SCHEMA_VERSION,
            probes: session.targets.iter().filter_map(|t| t.probe.clone()).collect(),
            evaluations: session
                .targets
                .iter()
                .filter(|t| t.policy.is_some() || t.client_verify.is_some())
                .map(|t| Evaluation {
                    target: t.name.clone(),
                    policy: t.policy.clone(),
                    client_verify: t.client_verify.clone(),
                })
                .collect(),
            errors: session
                .targets
                .iter()
                .filter_map(|t| t.error.as_ref().map(|e| TargetError { target: t.name.clone(), error: e.clone() }))
                .collect(),
            findings: session.findings().cloned().collect(),
            watch: session.watch.clone(),
        }
    }
}

pub fn to_json<T: Serialize>(v: &T) -> String {
    let text =
        serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize report: {e}\"}}"));
    crate::text::escape_json_text(text)
}
