//! Targets as a curl user types them: `https://HOST[:PORT][/PATH][?QUERY]`, `HOST[:PORT]`, IPv6
//! literals in brackets, and curl's `--connect-to` / `--resolve` values. Problems are plain words
//! for a usage error; nothing here touches the network.

use std::net::IpAddr;

use super::parse_host_port;

/// One target as typed: where to connect and what to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    pub host: String,
    pub port: u16,
    /// The path and query of a URL (`/orders/v1/health?x=1`); None when the target named none.
    pub path: Option<String>,
}

/// Parse a target: `https://` URL or `HOST[:PORT][/PATH]`. `http://` and other schemes are refused:
/// a probe always speaks TLS. A URL's `#fragment` is dropped, as curl drops it.
pub fn parse_target(text: &str) -> Result<TargetSpec, String> {
    let text = text.trim();
    let rest = match text.split_once("://") {
        Some((scheme, rest)) => {
            if scheme.eq_ignore_ascii_case("https") {
                rest
            } else if scheme.eq_ignore_ascii_case("http") {
                return Err("mtls-doctor probes TLS: use https://".into());
            } else {
                return Err(format!("scheme {scheme:?} is not supported: use https://HOST[:PORT][/PATH]"));
            }
        }
        None => text,
    };
    let rest = rest.split('#').next().unwrap_or_default();
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(cut);
    if authority.contains('@') {
        return Err("credentials in the URL are not sent: give them with --header 'Authorization: …'".into());
    }
    let (host, port) = parse_host_port(authority, Some(443))?;
    if host.contains(':') && host.parse::<IpAddr>().is_err() {
        return Err(format!("{host:?} is not an IPv6 address (write IPv6 literals as [ADDR]:PORT)"));
    }
    let path = match path {
        "" => None,
        p if p.starts_with('?') => Some(format!("/{p}")),
        p => Some(p.to_string()),
    };
    if let Some(p) = &path {
        check_path(p)?;
    }
    Ok(TargetSpec { host, port, path })
}

/// A path (and query) that can go on a request line as it is: no spaces or control characters.
pub fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("path {path:?} must start with /"));
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("path {path:?} has a space or control character (percent-encode it, e.g. %20)"));
    }
    Ok(())
}

/// `host` as it goes into `Host:`, a URL authority or a `--connect-to` value: IPv6 in brackets.
pub fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// One curl `--connect-to HOST1:PORT1:HOST2:PORT2` rule (empty HOST1/PORT1 match any; empty HOST2
/// or PORT2 keep the target's), or our short form `HOST2:PORT2` (applies to every target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTo {
    pub from_host: Option<String>,
    pub from_port: Option<u16>,
    pub to_host: Option<String>,
    pub to_port: Option<u16>,
}

/// Split on `:` outside `[...]`.
fn fields(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

fn host_field(f: &str) -> Result<Option<String>, String> {
    let f = f.trim();
    if f.is_empty() {
        return Ok(None);
    }
    let h = match f.strip_prefix('[') {
        Some(inner) => {
            let inner = inner.strip_suffix(']').ok_or("missing ']' in IPv6 address")?;
            inner.parse::<std::net::Ipv6Addr>().map_err(|_| format!("{inner:?} is not an IPv6 address"))?;
            inner.to_string()
        }
        None => f.to_string(),
    };
    if h.is_empty() || h.chars().any(|c| c.is_whitespace() || c == '/' || c == '@') {
        return Err(format!("{f:?} is not a host name or address"));
    }
    Ok(Some(h))
}

fn port_field(f: &str) -> Result<Option<u16>, String> {
    let f = f.trim();
    if f.is_empty() {
        return Ok(None);
    }
    match f.parse::<u16>() {
        Ok(p) if p > 0 => Ok(Some(p)),
        _ => Err(format!("{f:?} is not a port (1-65535)")),
    }
}

impl ConnectTo {
    pub fn parse(text: &str) -> Result<Self, String> {
        let f = fields(text.trim());
        match f.as_slice() {
            [h2, p2] => {
                let to_host = host_field(h2)?;
                let to_port = port_field(p2)?;
                Ok(ConnectTo { from_host: None, from_port: None, to_host, to_port })
            }
            [h1, p1, h2, p2] => Ok(ConnectTo {
                from_host: host_field(h1)?,
                from_port: port_field(p1)?,
                to_host: host_field(h2)?,
                to_port: port_field(p2)?,
            }),
            _ => Err("expected HOST1:PORT1:HOST2:PORT2 (like curl) or HOST:PORT".into()),
        }
    }

    /// Where to connect for `host:port`, when this rule applies to it.
    pub fn apply(&self, host: &str, port: u16) -> Option<(String, u16)> {
        let host_ok = self.from_host.as_deref().is_none_or(|h| h.eq_ignore_ascii_case(host));
        let port_ok = self.from_port.is_none_or(|p| p == port);
        (host_ok && port_ok)
            .then(|| (self.to_host.clone().unwrap_or_else(|| host.to_string()), self.to_port.unwrap_or(port)))
    }
}

/// One curl `--resolve HOST:PORT:ADDR[,ADDR]…` entry (`*` as HOST matches any host; IPv6
/// addresses in brackets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolve {
    /// None for `*`.
    pub host: Option<String>,
    pub port: u16,
    pub addresses: Vec<IpAddr>,
}

impl Resolve {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        // curl's "+" (add to the cache lazily) and "-" (remove) prefixes have no meaning here.
        let text = text.strip_prefix('+').unwrap_or(text);
        let f = fields(text);
        let [h, p, rest @ ..] = f.as_slice() else {
            return Err("expected HOST:PORT:ADDR[,ADDR] (like curl)".into());
        };
        if rest.is_empty() {
            return Err("expected HOST:PORT:ADDR[,ADDR] (like curl)".into());
        }
        let host = match h.trim() {
            "*" => None,
            h => Some(host_field(h)?.ok_or("empty host")?),
        };
        let port = port_field(p)?.ok_or("empty port")?;
        let list = rest.join(":");
        let mut addresses = Vec::new();
        for a in list.split(',').map(str::trim) {
            let bare = a.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(a);
            let ip = bare
                .parse::<IpAddr>()
                .map_err(|_| format!("{a:?} is not an IP address (IPv6 goes in brackets: [::1])"))?;
            addresses.push(ip);
        }
        Ok(Resolve { host, port, addresses })
    }

    pub fn matches(&self, host: &str, port: u16) -> bool {
        self.port == port && self.host.as_deref().is_none_or(|h| h.eq_ignore_ascii_case(host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_path_and_query_and_refuse_http() {
        let t = parse_target("https://api.contoso.com:8443/orders/v1/health?x=1#frag").expect("url");
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_deref()),
            ("api.contoso.com", 8443, Some("/orders/v1/health?x=1"))
        );
        let t = parse_target("HTTPS://[::1]:8443/").expect("v6");
        assert_eq!((t.host.as_str(), t.port, t.path.as_deref()), ("::1", 8443, Some("/")));
        let t = parse_target("https://h?q=1").expect("query only");
        assert_eq!((t.port, t.path.as_deref()), (443, Some("/?q=1")));
        assert_eq!(parse_target("h.example").expect("bare").path, None);
        assert_eq!(parse_target("http://h/").expect_err("http"), "mtls-doctor probes TLS: use https://");
        assert!(parse_target("ftp://h/").is_err());
        assert!(parse_target("https://u:p@h/").is_err());
        assert!(parse_target("https://h/a b").is_err());
        assert!(parse_target("https://h:99999/").is_err());
    }

    #[test]
    fn connect_to_and_resolve_take_curls_syntax() {
        let c = ConnectTo::parse("api:443:127.0.0.1:19110").expect("4 fields");
        assert_eq!(c.apply("api", 443), Some(("127.0.0.1".into(), 19110)));
        assert_eq!(c.apply("api", 8443), None);
        assert_eq!(c.apply("other", 443), None);
        let c = ConnectTo::parse("::[::1]:").expect("empty fields");
        assert_eq!(c.apply("x", 8443), Some(("::1".into(), 8443)));
        let c = ConnectTo::parse("backend.local:9443").expect("short");
        assert_eq!(c.apply("x", 1), Some(("backend.local".into(), 9443)));
        assert!(ConnectTo::parse("a:b:c").is_err());
        assert!(ConnectTo::parse("a:1:b:x").is_err());

        let r = Resolve::parse("api:443:127.0.0.1,[::1]").expect("resolve");
        assert!(r.matches("API", 443) && !r.matches("api", 80));
        assert_eq!(r.addresses.len(), 2);
        assert!(Resolve::parse("*:443:10.0.0.1").expect("any").matches("x", 443));
        assert!(Resolve::parse("api:443").is_err());
        assert!(Resolve::parse("api:443:nohost").is_err());
        assert_eq!(Resolve::parse("api:443:::1").expect("bare v6").addresses, ["::1".parse::<IpAddr>().expect("ip")]);
    }
}
