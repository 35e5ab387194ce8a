//! What a finding is: a stable id, how bad, which symptom it explains, the likely cause, the
//! evidence quoted from observations, and the fix.

use serde::{Deserialize, Serialize};

use super::id::FindingId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// The symptom family a finding explains (the field guide's failure families plus expiry, TLS, DNS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Symptom {
    #[serde(rename = "null-certificate")]
    NullCertificate,
    #[serde(rename = "403")]
    Forbidden403,
    #[serde(rename = "502")]
    BadGateway502,
    #[serde(rename = "key-vault")]
    KeyVault,
    #[serde(rename = "expiry")]
    Expiry,
    #[serde(rename = "tls")]
    Tls,
    #[serde(rename = "dns")]
    Dns,
}

impl Symptom {
    pub fn as_str(self) -> &'static str {
        match self {
            Symptom::NullCertificate => "null-certificate",
            Symptom::Forbidden403 => "403",
            Symptom::BadGateway502 => "502",
            Symptom::KeyVault => "key-vault",
            Symptom::Expiry => "expiry",
            Symptom::Tls => "tls",
            Symptom::Dns => "dns",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable kebab-case id: reports, sessions and users' scripts rely on it.
    pub id: FindingId,
    pub severity: Severity,
    pub symptom: Symptom,
    pub title: String,
    /// The likely cause, in one or two sentences.
    pub cause: String,
    /// The observed facts that triggered it, quoting the actual values.
    pub evidence: Vec<String>,
    /// Ordered steps to fix it.
    pub fix: Vec<String>,
    /// A corrected policy snippet built from the real certificate, where a policy change fixes it.
    pub snippet: Option<String>,
    /// The field-guide step this relates to.
    pub guide: String,
    /// Which probe or input it concerns (`host:port (inbound)`, a file name …).
    pub subject: Option<String>,
    /// Ids of related findings (pointers instead of repetition).
    pub related: Vec<FindingId>,
}
