//! What a report or a session says about a private key found among the loaded files: never the key.

use serde::{Deserialize, Serialize};

/// A key found among the inspected files (never the key itself).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyReport {
    /// The file the key came from.
    pub origin: String,
    pub algorithm: String,
    /// Thumbprint of the certificate whose public key this key matches, if any.
    pub matches_certificate: Option<String>,
    /// TLS signature schemes this key can make.
    pub signature_schemes: Vec<String>,
}
