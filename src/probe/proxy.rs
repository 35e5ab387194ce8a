//! HTTP proxies as curl picks and uses them: `--proxy`, else `https_proxy`/`HTTPS_PROXY`, else
//! `all_proxy`/`ALL_PROXY` (lower case first, as curl reads them); `--noproxy`, else
//! `no_proxy`/`NO_PROXY`; and the CONNECT tunnel itself. Credentials from the proxy URL go into
//! `Proxy-Authorization: Basic` and nowhere else: never serialized, printed or put in an error.

use std::net::IpAddr;
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zeroize::Zeroizing;

use super::url::bracket;

/// curl's port for a proxy URL that names none.
pub const DEFAULT_PROXY_PORT: u16 = 1080;
/// A CONNECT response head larger than this is not a proxy talking.
const MAX_CONNECT_HEAD: usize = 16 * 1024;

/// The proxy a probe tunnels through. `credentials` (`user:password`) never leave memory.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proxy {
    pub host: String,
    pub port: u16,
    /// Where it came from: `--proxy`, `https_proxy`, `HTTPS_PROXY`, `all_proxy` or `ALL_PROXY`.
    pub source: String,
    /// Whether the proxy URL carried credentials (they themselves are never saved).
    pub authenticated: bool,
    #[serde(skip)]
    credentials: Option<Zeroizing<String>>,
}

impl Proxy {
    /// Drop the credentials (a saved or shown copy holds none, as its serialized form does not).
    pub(crate) fn forget_credentials(&mut self) {
        self.credentials = None;
    }
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("source", &self.source)
            .field("authenticated", &self.authenticated)
            .finish_non_exhaustive()
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Proxy {
    /// Parse a proxy URL as curl takes it: `[http://][user[:password]@]host[:port][/]`. A problem
    /// never quotes the URL (it may hold a password).
    pub fn parse(text: &str, source: &str) -> Result<Self, String> {
        let text = text.trim();
        let rest = match text.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some((scheme, _)) => {
                return Err(format!(
                "{source}: {scheme}:// proxies are not supported (only an HTTP proxy with CONNECT, http://HOST:PORT)"
            ))
            }
            None => text,
        };
        let rest = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (host, port) = super::parse_host_port(hostport, Some(DEFAULT_PROXY_PORT))
            .map_err(|p| format!("{source}: the proxy address is not HOST[:PORT] ({p})"))?;
        let credentials = userinfo.map(|u| {
            let (user, pw) = u.split_once(':').unwrap_or((u, ""));
            Zeroizing::new(format!("{}:{}", percent_decode(user), percent_decode(pw)))
        });
        Ok(Proxy { host, port, source: source.to_string(), authenticated: credentials.is_some(), credentials })
    }

    /// `HOST:PORT` of the proxy, IPv6 in brackets.
    pub fn address(&self) -> String {
        format!("{}:{}", bracket(&self.host), self.port)
    }
}

/// The proxy settings of a command line (None: not given there, the environment decides).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxySettings {
    /// `--proxy URL`; an empty value turns proxies off, environment included, as in curl.
    pub proxy: Option<String>,
    /// `--noproxy LIST`; overrides `no_proxy`/`NO_PROXY`.
    pub noproxy: Option<String>,
}

fn env_first(names: &[&'static str], env: &dyn Fn(&str) -> Option<String>) -> Option<(&'static str, String)> {
    names.iter().find_map(|n| env(n).filter(|v| !v.trim().is_empty()).map(|v| (*n, v)))
}

impl ProxySettings {
    /// The proxy for `host`, from these settings over the process environment.
    pub fn for_host(&self, host: &str) -> Result<Option<Proxy>, String> {
        self.for_host_with(host, &|n| std::env::var(n).ok())
    }

    /// As [`Self::for_host`], with the environment given (tests).
    pub fn for_host_with(&self, host: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Proxy>, String> {
        let (source, url) = match &self.proxy {
            Some(p) if p.trim().is_empty() => return Ok(None),
            Some(p) => ("--proxy", p.clone()),
            None => match env_first(&["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"], env) {
                Some(found) => found,
                None => return Ok(None),
            },
        };
        let noproxy = match &self.noproxy {
            Some(list) => list.clone(),
            None => env_first(&["no_proxy", "NO_PROXY"], env).map(|(_, v)| v).unwrap_or_default(),
        };
        if no_proxy_matches(&noproxy, host) {
            return Ok(None);
        }
        Proxy::parse(&url, source).map(Some)
    }
}

/// curl's NO_PROXY rule: entries split on commas or spaces; `*` alone matches every host; an entry
/// matches the host itself or any name under it (`contoso.com` and `.contoso.com` both match
/// `api.contoso.com`, not `notcontoso.com`); an IP entry may carry a CIDR `/bits`.
pub fn no_proxy_matches(list: &str, host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.');
    if list.trim() == "*" {
        return true;
    }
    let host_ip = host.parse::<IpAddr>().ok();
    list.split([',', ' ', '\t']).map(str::trim).filter(|e| !e.is_empty()).any(|entry| {
        if let Some(ip) = host_ip {
            return ip_entry_matches(entry, ip);
        }
        let entry = entry.strip_prefix('.').unwrap_or(entry).trim_end_matches('.');
        if entry.is_empty() {
            return false;
        }
        let (h, e) = (host.to_ascii_lowercase(), entry.to_ascii_lowercase());
        h == e || h.ends_with(&format!(".{e}"))
    })
}

fn ip_entry_matches(entry: &str, ip: IpAddr) -> bool {
    let entry = entry.trim_start_matches('[').replace(']', "");
    let (addr, bits) = match entry.split_once('/') {
        Some((a, b)) => (a.to_string(), b.parse::<u32>().ok()),
        None => (entry.clone(), None),
    };
    let Ok(net) = addr.parse::<IpAddr>() else { return false };
    let (a, b, max) = match (ip, net) {
        (IpAddr::V4(x), IpAddr::V4(y)) => (u32::from(x) as u128, u32::from(y) as u128, 32),
        (IpAddr::V6(x), IpAddr::V6(y)) => (u128::from(x), u128::from(y), 128),
        _ => return false,
    };
    let bits = bits.unwrap_or(max).min(max);
    if bits == 0 {
        return true;
    }
    let shift = max - bits;
    (a >> shift) == (b >> shift)
}

/// What a probe recorded of the proxy it went through (never its credentials).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ProxyUse {
    /// `HOST:PORT` of the proxy.
    pub address: String,
    /// `--proxy` or the environment variable it came from.
    pub source: String,
    /// Whether Proxy-Authorization was sent.
    pub authenticated: bool,
    /// The `HOST:PORT` the tunnel was asked for.
    pub tunnel_to: String,
    /// The proxy's answer to CONNECT, when it gave one.
    pub status: Option<u16>,
    pub reason: Option<String>,
    pub tunnel_open: bool,
    /// Why there was no answer (closed, timed out, not HTTP).
    pub error: Option<String>,
}

/// How a CONNECT went, recorded in the probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectOutcome {
    /// 2xx: the tunnel is open.
    Open { status: u16, reason: String },
    /// The proxy answered with a refusal (407, 403, 502…).
    Refused { status: u16, reason: String },
    /// No HTTP answer: closed, timed out, or not an HTTP proxy.
    NoAnswer(String),
}

/// Ask the proxy on `stream` for a tunnel to `host:port`; the head of the answer is read byte by
/// byte, so nothing of the TLS stream after it is consumed.
pub async fn connect(
    stream: &mut TcpStream,
    proxy: &Proxy,
    host: &str,
    port: u16,
    timeout: Duration,
) -> ConnectOutcome {
    let authority = format!("{}:{port}", bracket(host));
    let mut req = Zeroizing::new(format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n"));
    if let Some(c) = &proxy.credentials {
        let b64 = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(c.as_bytes()));
        req.push_str(&format!("Proxy-Authorization: Basic {}\r\n", b64.as_str()));
    }
    req.push_str(concat!("User-Agent: mtls-doctor/", env!("CARGO_PKG_VERSION"), "\r\n"));
    req.push_str("Proxy-Connection: Keep-Alive\r\n\r\n");
    let exchange = async {
        stream.write_all(req.as_bytes()).await.map_err(|e| format!("sending CONNECT failed: {e}"))?;
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if head.len() >= MAX_CONNECT_HEAD {
                return Err(format!("the answer to CONNECT is over {MAX_CONNECT_HEAD} bytes without an end"));
            }
            match stream.read(&mut byte).await {
                Ok(0) if head.is_empty() => {
                    return Err("the proxy closed the connection without answering CONNECT".into())
                }
                Ok(0) => return Err("the proxy closed the connection in the middle of its answer".into()),
                Ok(_) => head.push(byte[0]),
                Err(e) => return Err(format!("reading the answer to CONNECT failed: {e}")),
            }
        }
        Ok(head)
    };
    let head = match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return ConnectOutcome::NoAnswer(e),
        Err(_) => return ConnectOutcome::NoAnswer(format!("no answer to CONNECT within {} ms", timeout.as_millis())),
    };
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.splitn(3, ' ');
    let (version, code, reason) = (parts.next(), parts.next(), parts.next().unwrap_or("").trim());
    let reason = crate::text::clean(reason);
    match (version, code.and_then(|c| c.parse::<u16>().ok())) {
        (Some(v), Some(status)) if v.starts_with("HTTP/") => {
            if (200..300).contains(&status) {
                ConnectOutcome::Open { status, reason }
            } else {
                ConnectOutcome::Refused { status, reason }
            }
        }
        _ => ConnectOutcome::NoAnswer("the answer to CONNECT is not HTTP (is this an HTTP proxy?)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string())
    }

    #[test]
    fn proxy_from_flag_or_environment_in_curls_order() {
        let none = ProxySettings::default();
        let e = env(&[("HTTPS_PROXY", "http://upper:1"), ("https_proxy", "lower:2"), ("ALL_PROXY", "all:3")]);
        let p = none.for_host_with("api", &e).expect("ok").expect("proxy");
        assert_eq!((p.host.as_str(), p.port, p.source.as_str()), ("lower", 2, "https_proxy"));
        let p = none.for_host_with("api", &env(&[("ALL_PROXY", "all")])).expect("ok").expect("proxy");
        assert_eq!((p.port, p.source.as_str()), (DEFAULT_PROXY_PORT, "ALL_PROXY"));
        let flag = ProxySettings { proxy: Some("http://u%40x:p%3Aw@[::1]:3128/".into()), noproxy: None };
        let p = flag.for_host_with("api", &e).expect("ok").expect("proxy");
        assert_eq!((p.address().as_str(), p.authenticated), ("[::1]:3128", true));
        assert_eq!(p.credentials.as_deref().map(String::as_str), Some("u@x:p:w"));
        assert!(!format!("{p:?}").contains("p:w") && !serde_json::to_string(&p).expect("json").contains("p:w"));
        let off = ProxySettings { proxy: Some(String::new()), noproxy: None };
        assert_eq!(off.for_host_with("api", &e), Ok(None));
        let socks = ProxySettings { proxy: Some("socks5://h:1".into()), noproxy: None };
        assert!(socks.for_host_with("api", &e).is_err());
        let e = env(&[("HTTPS_PROXY", "p:1"), ("NO_PROXY", "contoso.com")]);
        assert_eq!(none.for_host_with("api.contoso.com", &e), Ok(None));
        let over = ProxySettings { proxy: None, noproxy: Some(String::new()) };
        assert!(over.for_host_with("api.contoso.com", &e).expect("ok").is_some());
    }

    #[test]
    fn no_proxy_matches_like_curl() {
        assert!(no_proxy_matches("*", "anything"));
        assert!(no_proxy_matches("contoso.com", "api.contoso.com"));
        assert!(no_proxy_matches(".contoso.com", "contoso.com"));
        assert!(no_proxy_matches("x.org, CONTOSO.com", "Api.Contoso.Com"));
        assert!(!no_proxy_matches("contoso.com", "notcontoso.com"));
        assert!(!no_proxy_matches("*.contoso.com", "api.contoso.com"));
        assert!(no_proxy_matches("10.0.0.0/8", "10.1.2.3"));
        assert!(!no_proxy_matches("10.0.0.0/8", "11.1.2.3"));
        assert!(no_proxy_matches("::1", "[::1]"));
        assert!(!no_proxy_matches("", "api"));
    }
}
