//! Names, scopes and URLs as Azure compares them: case-insensitive hosts and scopes, Key Vault
//! secret URLs and vault targets, and the parts of a URL that decide which backend it reaches.

use super::model::{RoleAssignment, SECRET_READ_ROLES};

pub(super) fn normalize_host(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Lowercase, without a trailing `/`; the tenant root `/` becomes the empty string.
pub(super) fn normalize_scope(scope: &str) -> String {
    scope.trim().trim_end_matches('/').to_ascii_lowercase()
}

pub(super) fn role_reads_secrets(ra: &RoleAssignment) -> bool {
    let by_name = ra
        .role_definition_name
        .as_deref()
        .is_some_and(|name| SECRET_READ_ROLES.iter().any(|(role, _)| role.eq_ignore_ascii_case(name.trim())));
    let by_id = ra.role_definition_id.as_deref().is_some_and(|id| {
        let guid = id.trim().trim_end_matches('/').rsplit('/').next().unwrap_or_default();
        SECRET_READ_ROLES.iter().any(|(_, role)| role.eq_ignore_ascii_case(guid))
    });
    by_name || by_id
}

/// Identity of an assignment's role for de-duplication: the definition GUID when known, else the name.
pub(super) fn role_key(ra: &RoleAssignment) -> String {
    match (&ra.role_definition_id, &ra.role_definition_name) {
        (Some(id), _) => id.trim().trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_ascii_lowercase(),
        (None, Some(name)) => name.trim().to_ascii_lowercase(),
        (None, None) => String::new(),
    }
}

/// `name` from `…/{collection}/{name}`, or the input itself when it is already a bare name.
pub(super) fn child_name<'a>(id: &'a str, collection: &str) -> &'a str {
    let id = id.trim().trim_end_matches('/');
    let segments: Vec<&str> = id.split('/').collect();
    match segments.iter().rposition(|s| s.eq_ignore_ascii_case(collection)) {
        Some(at) if at + 1 < segments.len() => segments[at + 1],
        _ => id,
    }
}

pub(super) struct SecretUrl {
    pub(super) vault: String,
    pub(super) name: Option<String>,
    pub(super) version: Option<String>,
}

/// `https://{vault}.vault.azure.net/secrets/{name}[/{version}]` (any cloud's vault domain).
pub(super) fn parse_secret_url(url: &str) -> Option<SecretUrl> {
    let uri: hyper::Uri = url.trim().parse().ok()?;
    if !uri.scheme_str().is_some_and(|s| s.eq_ignore_ascii_case("https")) {
        return None;
    }
    let host = uri.host()?.to_ascii_lowercase();
    let (vault, domain) = host.split_once('.')?;
    if vault.is_empty() || domain.is_empty() {
        return None;
    }
    let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let (name, version) = match segments.as_slice() {
        [kind, name, rest @ ..]
            if kind.eq_ignore_ascii_case("secrets") || kind.eq_ignore_ascii_case("certificates") =>
        {
            (Some(name.to_string()), rest.first().map(|v| v.to_string()))
        }
        _ => (None, None),
    };
    Some(SecretUrl { vault: vault.to_string(), name, version })
}

/// What `grants_secret_read` was asked about, normalised (lowercase).
pub(super) struct VaultTarget {
    pub(super) vault_name: Option<String>,
    /// `/subscriptions/…/providers/microsoft.keyvault/vaults/{name}`, or any scope given as a resource id.
    pub(super) vault_id: Option<String>,
    pub(super) secret: Option<String>,
}

impl VaultTarget {
    pub(super) fn parse(input: &str) -> Option<VaultTarget> {
        let input = input.trim();
        if input.is_empty() {
            return None;
        }
        if input.contains("://") {
            let url = parse_secret_url(input)?;
            return Some(VaultTarget {
                vault_name: Some(url.vault),
                vault_id: None,
                secret: url.name.map(|n| n.to_ascii_lowercase()),
            });
        }
        if input.starts_with('/') {
            let scope = normalize_scope(input);
            let segments: Vec<&str> = scope.split('/').collect();
            let vault_at = segments
                .windows(3)
                .position(|w| w[0] == "microsoft.keyvault" && w[1] == "vaults" && !w[2].is_empty())
                .map(|at| at + 2);
            return Some(match vault_at {
                Some(at) => {
                    let secret = match &segments[at + 1..] {
                        ["secrets", name, ..] => Some(name.to_string()),
                        _ => None,
                    };
                    VaultTarget {
                        vault_name: Some(segments[at].to_string()),
                        vault_id: Some(segments[..=at].join("/")),
                        secret,
                    }
                }
                None => VaultTarget { vault_name: None, vault_id: Some(scope), secret: None },
            });
        }
        // A bare vault name, or its host name.
        let name = input.split('.').next().unwrap_or(input).to_ascii_lowercase();
        Some(VaultTarget { vault_name: Some(name), vault_id: None, secret: None })
    }
}

/// The parts of a URL that decide which backend it reaches.
pub(super) struct Endpoint {
    pub(super) scheme: String,
    pub(super) host: String,
    pub(super) port: u16,
    /// Without a trailing `/`; empty for the root.
    pub(super) path: String,
}

impl Endpoint {
    pub(super) fn parse(url: &str) -> Option<Endpoint> {
        let uri: hyper::Uri = url.trim().parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let port = match (uri.port_u16(), scheme.as_str()) {
            (Some(port), _) => port,
            (None, "https") | (None, "wss") => 443,
            (None, "http") | (None, "ws") => 80,
            (None, _) => return None,
        };
        Some(Endpoint {
            host: normalize_host(uri.host()?),
            port,
            path: uri.path().trim_end_matches('/').to_string(),
            scheme,
        })
    }
}
