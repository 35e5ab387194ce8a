//! The shape of a TOML targets file (`[[target]]` tables): every option a probe takes on the
//! command line, as serde reads it.

use std::path::PathBuf;

/// One `[[target]]` of a TOML targets file: every option a probe takes on the command line. Unset
/// options come from the command line; relative paths are relative to the targets file.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TomlTarget {
    pub(super) name: Option<String>,
    pub(super) host: String,
    pub(super) port: Option<u16>,
    pub(super) role: Option<TomlRole>,
    pub(super) sni: Option<String>,
    pub(super) connect_to: Option<String>,
    pub(super) resolve: Option<Vec<String>>,
    pub(super) dns_server: Option<std::net::SocketAddr>,
    pub(super) method: Option<String>,
    pub(super) path: Option<String>,
    pub(super) headers: Option<Vec<String>>,
    /// `--data TEXT|@FILE`.
    pub(super) data: Option<String>,
    pub(super) no_http: Option<bool>,
    pub(super) tls: Option<TomlTls>,
    pub(super) alpn: Option<Vec<String>>,
    pub(super) timeout: Option<f64>,
    pub(super) no_compare: Option<bool>,
    pub(super) expiring_days: Option<i64>,
    pub(super) cert: Option<PathBuf>,
    pub(super) key: Option<PathBuf>,
    pub(super) pfx: Option<PathBuf>,
    pub(super) pfx_password_env: Option<String>,
    pub(super) pfx_password_file: Option<PathBuf>,
    pub(super) ca: Option<Vec<PathBuf>>,
    pub(super) client_ca: Option<Vec<PathBuf>>,
    pub(super) policy: Option<PathBuf>,
    pub(super) azure: Option<Vec<PathBuf>>,
    /// `--forward-cert HEADER[=FORMAT]`.
    pub(super) forward_cert: Option<String>,
}

#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum TomlRole {
    Inbound,
    Outbound,
}

#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub(super) enum TomlTls {
    #[serde(rename = "1.2")]
    V12,
    #[serde(rename = "1.3")]
    V13,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TomlTargets {
    #[serde(default)]
    pub(super) target: Vec<TomlTarget>,
}
