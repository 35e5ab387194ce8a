//! The JSON reports: serialize-only types that are the contract scripts rely on (`schema_version`).

use serde::Serialize;

use crate::azure::AzureConfig;
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
    /// `--forward-cert`: the leaf as a front end would forward it, and `Verify()` on it alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarded: Option<crate::session::ForwardedCert>,
    /// The Azure configuration imported with `--azure`, as read (absent without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureConfig>,
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
            forwarded: t.forwarded.clone(),
            azure: t.azure.clone(),
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
    pub probes: Vec<ProbeEntry>,
    /// Per target: the policy's verdict and Verify(), when asked for.
    pub evaluations: Vec<Evaluation>,
    /// Targets that could not run, with the reason.
    pub errors: Vec<TargetError>,
    /// Every finding of every probe, most likely first within each target.
    pub findings: Vec<FindingEntry>,
    /// A saved watch's change log (only for a watch session).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch: Option<crate::session::WatchLog>,
}

/// The id every part of a probe report uses for a target: `t1`, `t2`, … in session order (names
/// may repeat; ids do not).
pub fn target_id(index: usize) -> String {
    format!("t{}", index + 1)
}

/// A probe with the target it belongs to.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeEntry {
    pub target_id: String,
    pub target_name: String,
    #[serde(flatten)]
    pub probe: ProbeResult,
}

/// A finding with the target (probe or input) it is about.
#[derive(Debug, Clone, Serialize)]
pub struct FindingEntry {
    pub target_id: String,
    pub target_name: String,
    #[serde(flatten)]
    pub finding: Finding,
}

#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub target_id: String,
    pub target: String,
    pub policy: Option<PolicyEvaluation>,
    pub client_verify: Option<ClientVerify>,
    /// `--forward-cert`: the certificate sent in a request header, and `Verify()` on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarded: Option<crate::session::ForwardedCert>,
    /// The Azure configuration imported with `--azure`, as read (absent without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureConfig>,
    /// Outbound probes with `--policy`: its backend routing and authentication certificates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbound_policy: Option<crate::policy::OutboundPolicy>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetError {
    pub target_id: String,
    pub target: String,
    pub error: String,
}

impl ProbeReport {
    pub fn from_session(session: &Session) -> Self {
        let targets = || session.targets.iter().enumerate();
        ProbeReport {
            schema_version: SCHEMA_VERSION,
            probes: targets()
                .filter_map(|(i, t)| {
                    t.probe.clone().map(|probe| ProbeEntry {
                        target_id: target_id(i),
                        target_name: t.name.clone(),
                        probe,
                    })
                })
                .collect(),
            evaluations: targets()
                .filter(|(_, t)| {
                    t.policy.is_some()
                        || t.client_verify.is_some()
                        || t.forwarded.is_some()
                        || t.azure.is_some()
                        || t.outbound_policy.is_some()
                })
                .map(|(i, t)| Evaluation {
                    target_id: target_id(i),
                    target: t.name.clone(),
                    policy: t.policy.clone(),
                    client_verify: t.client_verify.clone(),
                    forwarded: t.forwarded.clone(),
                    azure: t.azure.clone(),
                    outbound_policy: t.outbound_policy.clone(),
                })
                .collect(),
            errors: targets()
                .filter_map(|(i, t)| {
                    t.error.as_ref().map(|e| TargetError {
                        target_id: target_id(i),
                        target: t.name.clone(),
                        error: e.clone(),
                    })
                })
                .collect(),
            findings: targets()
                .flat_map(|(i, t)| {
                    t.findings.iter().map(move |f| FindingEntry {
                        target_id: target_id(i),
                        target_name: t.name.clone(),
                        finding: f.clone(),
                    })
                })
                .collect(),
            watch: session.watch.clone(),
        }
    }
}

pub fn to_json<T: Serialize>(v: &T) -> String {
    let text =
        serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize report: {e}\"}}"));
    crate::text::escape_json_text(text)
}
