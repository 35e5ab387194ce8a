//! What a probe is run with: the target, role, TLS version pin, timeouts, headers (secret values
//! never shown) and the client identity.

use std::net::SocketAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::verify::TrustStore;

/// Which handshake is being tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ProbeRole {
    /// You are the API client calling the gateway, with the client's certificate.
    #[default]
    Inbound,
    /// You stand in for the gateway calling the backend, with the gateway's certificate.
    Outbound,
}

/// Pin the TLS version (rustls speaks 1.2 and 1.3 only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TlsVersionPin {
    #[serde(rename = "1.2")]
    Tls12,
    #[serde(rename = "1.3")]
    Tls13,
}

/// Per-phase time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    pub dns_ms: u64,
    pub connect_ms: u64,
    pub tls_ms: u64,
    pub http_ms: u64,
    /// How long to wait for a post-handshake rejection when no HTTP request is made.
    pub settle_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { dns_ms: 5_000, connect_ms: 5_000, tls_ms: 10_000, http_ms: 15_000, settle_ms: 1_000 }
    }
}

impl Timeouts {
    /// One overall `--timeout SECS` caps every phase.
    pub fn capped(secs: f64) -> Self {
        let cap = (secs * 1000.0).max(1.0) as u64;
        let d = Timeouts::default();
        Timeouts {
            dns_ms: d.dns_ms.min(cap),
            connect_ms: d.connect_ms.min(cap),
            tls_ms: d.tls_ms.min(cap),
            http_ms: d.http_ms.min(cap),
            settle_ms: d.settle_ms.min(cap),
        }
    }
}

/// An HTTP header to send. Values of secret-bearing headers never leave memory: they serialize as
/// `[redacted]`. Written as a `[name, value]` pair like every other header list; sessions before
/// schema 3 wrote `{"name": …, "value": …}`, which still reads.
#[derive(Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

impl<'de> Deserialize<'de> for Header {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Shape;
        impl<'de> serde::de::Visitor<'de> for Shape {
            type Value = Header;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a header as a [name, value] pair")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Header, A::Error> {
                use serde::de::Error as _;
                let name: String = seq.next_element()?.ok_or_else(|| A::Error::invalid_length(0, &self))?;
                let value: String = seq.next_element()?.ok_or_else(|| A::Error::invalid_length(1, &self))?;
                if seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(A::Error::invalid_length(3, &self));
                }
                Ok(Header { name, value })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Header, A::Error> {
                use serde::de::Error as _;
                let (mut name, mut value) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "name" => name = Some(map.next_value::<String>()?),
                        "value" => value = Some(map.next_value::<String>()?),
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                match (name, value) {
                    (Some(name), Some(value)) => Ok(Header { name, value }),
                    (None, _) => Err(A::Error::missing_field("name")),
                    (_, None) => Err(A::Error::missing_field("value")),
                }
            }
        }
        d.deserialize_any(Shape)
    }
}

impl std::fmt::Debug for Header {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Header")
            .field("name", &self.name)
            .field("value", &display_header_value(&self.name, &self.value))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_json_never_show_secret_header_values() {
        let h = Header::parse("Ocp-Apim-Subscription-Key: s3cr3t-value").expect("header");
        let mut o = ProbeOptions::new("api.contoso.com", 443);
        o.headers = vec![h, Header::parse("X-Trace: visible").expect("header")];
        let debug = format!("{o:?}");
        let json = serde_json::to_string(&o).expect("json");
        for text in [&debug, &json] {
            assert!(!text.contains("s3cr3t-value"), "{text}");
            assert!(text.contains("[redacted]") && text.contains("visible"), "{text}");
        }
        assert!(json.contains(r#"["X-Trace","visible"]"#), "a [name, value] pair: {json}");
    }

    #[test]
    fn headers_read_as_pairs_and_as_the_objects_older_sessions_wrote() {
        let pair: Header = serde_json::from_str(r#"["X-Trace","t-1"]"#).expect("pair");
        let object: Header = serde_json::from_str(r#"{"name":"X-Trace","value":"t-1"}"#).expect("object");
        assert_eq!(pair, object);
        let e = serde_json::from_str::<Header>(r#"["X-Trace"]"#).expect_err("one element").to_string();
        assert!(e.contains("a header as a [name, value] pair"), "{e}");
        let e = serde_json::from_str::<Header>(r#"7"#).expect_err("a number").to_string();
        assert!(e.contains("a header as a [name, value] pair") && !e.contains("untagged"), "{e}");
    }
}

/// Headers whose values are secrets and never appear in any output.
pub fn is_secret_header(name: &str) -> bool {
    ["authorization", "ocp-apim-subscription-key", "cookie", "set-cookie", "proxy-authorization"]
        .iter()
        .any(|s| name.eq_ignore_ascii_case(s))
}

/// The value to show for a header: secret values become `[redacted]`.
pub fn display_header_value(name: &str, value: &str) -> String {
    if is_secret_header(name) {
        "[redacted]".to_string()
    } else {
        value.to_string()
    }
}

impl Serialize for Header {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&self.name)?;
        t.serialize_element(&display_header_value(&self.name, &self.value))?;
        t.end()
    }
}

impl Header {
    /// Parse `Name: value` as curl's `-H` takes it.
    pub fn parse(text: &str) -> Result<Self> {
        let (name, value) = text
            .split_once(':')
            .ok_or_else(|| Error::Usage(format!("--header {:?}: expected 'Name: value'", redact_header_text(text))))?;
        let name = name.trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
            return Err(Error::Usage(format!("--header {:?}: invalid header name", redact_header_text(text))));
        }
        Ok(Header { name: name.to_string(), value: value.trim().to_string() })
    }
}

pub(super) fn redact_header_text(text: &str) -> String {
    match text.split_once(':') {
        Some((n, _)) if is_secret_header(n.trim()) => format!("{}: [redacted]", n.trim()),
        _ => text.to_string(),
    }
}

/// Everything that defines a probe except secrets: safe to save and replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeOptions {
    pub role: ProbeRole,
    pub host: String,
    pub port: u16,
    /// Server name to send (defaults to `host`).
    pub sni: Option<String>,
    /// Connect here instead (`HOST:PORT`), keeping `host` for SNI and `Host:`, like curl's `--connect-to`.
    pub connect_to: Option<String>,
    /// Ask this DNS server (`IP:PORT`) instead of the system's.
    pub dns_server: Option<SocketAddr>,
    /// curl's `--resolve HOST:PORT:ADDR[,ADDR]` entries: these addresses instead of DNS.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolve: Vec<String>,
    /// The HTTP proxy the probe tunnels through with CONNECT (credentials never serialized).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<super::proxy::Proxy>,
    pub method: String,
    pub path: String,
    pub headers: Vec<Header>,
    /// The request body (`--data`): recorded as its length and SHA-256 only, never its bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<super::body::RequestBody>,
    pub no_http: bool,
    pub tls_version: Option<TlsVersionPin>,
    /// ALPN protocols to offer, in order (`h2`, `http/1.1`).
    pub alpn: Vec<String>,
    pub timeouts: Timeouts,
    /// With a client certificate and a server that asks for one, also probe without it.
    pub compare_without_cert: bool,
}

impl ProbeOptions {
    pub fn new(host: &str, port: u16) -> Self {
        ProbeOptions {
            role: ProbeRole::Inbound,
            host: host.to_string(),
            port,
            sni: None,
            connect_to: None,
            dns_server: None,
            resolve: vec![],
            proxy: None,
            method: "GET".into(),
            path: "/".into(),
            headers: vec![],
            body: None,
            no_http: false,
            tls_version: None,
            alpn: vec!["http/1.1".into()],
            timeouts: Timeouts::default(),
            compare_without_cert: true,
        }
    }

    /// The name sent in SNI and checked against the server certificate.
    pub fn server_name(&self) -> &str {
        self.sni.as_deref().unwrap_or(&self.host)
    }

    /// Split `HOST[:PORT]` (with `[v6]:port`) into parts; port defaults to 443.
    pub fn parse_target(text: &str) -> Result<(String, u16)> {
        parse_host_port(text, Some(443)).map_err(|p| Error::Usage(format!("target {text:?}: {p}")))
    }
}

/// Parse `host:port`, `[v6]:port`, or (with a default) a bare host.
pub fn parse_host_port(text: &str, default_port: Option<u16>) -> std::result::Result<(String, u16), String> {
    let text = text.trim();
    let text = text.strip_prefix("https://").unwrap_or(text);
    let text = text.split('/').next().unwrap_or(text);
    if text.is_empty() {
        return Err("empty host".into());
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("missing ']' in IPv6 address")?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((host.to_string(), p.parse().map_err(|_| format!("bad port {p:?}"))?)),
            None if after.is_empty() => default_port.map(|d| (host.to_string(), d)).ok_or("missing port".into()),
            None => Err(format!("unexpected {after:?} after ']'")),
        };
    }
    match text.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => {
            let port: u16 = p.parse().map_err(|_| format!("bad port {p:?}"))?;
            if h.is_empty() {
                return Err("empty host".into());
            }
            Ok((h.to_string(), port))
        }
        Some(_) => {
            // A bare IPv6 address without brackets.
            default_port.map(|d| (text.to_string(), d)).ok_or_else(|| "missing port".into())
        }
        None => default_port.map(|d| (text.to_string(), d)).ok_or_else(|| "missing port".into()),
    }
}

/// A client certificate and key to present, ready for rustls. Holds the private key: never
/// serialized, and its Debug output shows only the certificate.
#[derive(Clone)]
pub struct ClientIdentity {
    pub chain: Vec<Certificate>,
    pub certified: Arc<rustls::sign::CertifiedKey>,
    /// The private key as DER, for the OpenSSL engine of the late-authentication re-run; wiped
    /// when dropped.
    pub key_der: zeroize::Zeroizing<Vec<u8>>,
    /// Where it was loaded from (paths only), for reports.
    pub origin: String,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("leaf", &self.chain.first().map(|c| c.info.subject.clone()))
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl ClientIdentity {
    /// Build from a leaf-first chain and its private key.
    pub fn new(
        chain: Vec<Certificate>,
        key: &rustls::pki_types::PrivateKeyDer<'static>,
        origin: impl Into<String>,
    ) -> Result<Self> {
        let origin = origin.into();
        let provider = super::tls::provider();
        let signing = provider
            .key_provider
            .load_private_key(key.clone_key())
            .map_err(|e| Error::input(&origin, format!("private key cannot be used for TLS ({e})")))?;
        Ok(Self::with_signer(chain, signing, key, origin))
    }

    /// Build from a leaf-first chain and a key already loaded (and so already checked): the key is
    /// not parsed again (an RSA key's check costs about as much as one signature).
    pub fn from_key(chain: Vec<Certificate>, key: &crate::material::PrivateKey, origin: impl Into<String>) -> Self {
        Self::with_signer(chain, key.signer(), key.der(), origin.into())
    }

    fn with_signer(
        chain: Vec<Certificate>,
        signing: Arc<dyn rustls::sign::SigningKey>,
        key: &rustls::pki_types::PrivateKeyDer<'static>,
        origin: String,
    ) -> Self {
        let ders = chain.iter().map(|c| rustls::pki_types::CertificateDer::from(c.der.clone())).collect();
        let certified = Arc::new(rustls::sign::CertifiedKey::new(ders, signing));
        let key_der = zeroize::Zeroizing::new(key.secret_der().to_vec());
        ClientIdentity { chain, certified, key_der, origin }
    }
}

/// What a probe is run with besides its options: the key material and the trust for the server.
#[derive(Debug, Clone)]
pub struct ProbeContext {
    pub identity: Option<ClientIdentity>,
    pub trust: TrustStore,
}
