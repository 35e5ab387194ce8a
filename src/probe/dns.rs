//! Name resolution for probes with hickory: the addresses, the whole CNAME chain walked hop by hop
//! (it shows whether a custom domain points at the default `*.azure-api.net` name), and which
//! server was asked.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::TokioResolver;
use serde::{Deserialize, Serialize};

/// At most this many CNAME hops are followed (loops and absurd chains end here).
const MAX_CNAME_HOPS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DnsResult {
    /// The name that was resolved (the `--connect-to` host when given).
    pub query: String,
    pub addresses: Vec<String>,
    /// The CNAME chain from the query name, hop by hop: each entry is the target of the previous name.
    pub cnames: Vec<String>,
    /// The name server(s) asked (`system` resolvers are listed as configured in /etc/resolv.conf).
    pub servers: Vec<String>,
    /// The answer came from /etc/hosts.
    pub from_hosts_file: bool,
    /// The target was an IP address: nothing to resolve.
    pub literal: bool,
    /// The addresses came from a `--resolve` entry, not DNS.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_resolve: bool,
    pub error: Option<String>,
    pub error_kind: Option<DnsErrorKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DnsErrorKind {
    /// NXDOMAIN: the name does not exist.
    NxDomain,
    /// The name exists but has no address records.
    NoRecords,
    Timeout,
    /// The resolver could not be set up or no server answered usefully.
    Other,
}

/// Resolve `host`. Never errors: failures are recorded in the result.
pub async fn resolve(host: &str, server: Option<SocketAddr>, timeout: Duration) -> DnsResult {
    let mut result = DnsResult { query: host.to_string(), ..Default::default() };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        result.literal = true;
        result.addresses.push(ip.to_string());
        return result;
    }

    let resolver = match build_resolver(server, timeout) {
        Ok((r, servers)) => {
            result.servers = servers;
            r
        }
        Err(e) => {
            result.error = Some(format!("cannot set up the resolver: {e}"));
            result.error_kind = Some(DnsErrorKind::Other);
            return result;
        }
    };

    if server.is_none() {
        result.from_hosts_file = hosts_file_has(host);
    }

    // Addresses first: that is what the connection needs.
    match tokio::time::timeout(timeout, resolver.lookup_ip(fqdn(host))).await {
        Ok(Ok(lookup)) => {
            result.addresses = lookup.iter().map(|ip| ip.to_string()).collect();
            // Answers may already carry CNAMEs; the walk below confirms every hop.
        }
        Ok(Err(e)) => {
            let kind = classify(&e);
            result.error_kind = Some(kind);
            result.error = Some(match kind {
                DnsErrorKind::NxDomain => format!("NXDOMAIN: {host} does not exist"),
                DnsErrorKind::NoRecords => format!("{host} exists but has no A or AAAA records"),
                DnsErrorKind::Timeout => "no answer from the name server".to_string(),
                DnsErrorKind::Other => e.to_string(),
            });
        }
        Err(_) => {
            result.error_kind = Some(DnsErrorKind::Timeout);
            result.error = Some(format!("no answer within {} ms", timeout.as_millis()));
        }
    }

    if !result.from_hosts_file && result.error_kind != Some(DnsErrorKind::Timeout) {
        result.cnames = walk_cnames(&resolver, host, timeout).await;
    }
    result
}

/// Follow CNAMEs one query at a time. Stops at the first name without a CNAME, on any error, on a
/// loop, or after `MAX_CNAME_HOPS`.
async fn walk_cnames(resolver: &TokioResolver, host: &str, timeout: Duration) -> Vec<String> {
    let mut chain: Vec<String> = Vec::new();
    let mut name = host.trim_end_matches('.').to_ascii_lowercase();
    for _ in 0..MAX_CNAME_HOPS {
        let Ok(Ok(lookup)) = tokio::time::timeout(timeout, resolver.lookup(fqdn(&name), RecordType::CNAME)).await
        else {
            break;
        };
        let next = lookup.answers().iter().find_map(|r| match &r.data {
            RData::CNAME(target) => Some(target.0.to_utf8().trim_end_matches('.').to_ascii_lowercase()),
            _ => None,
        });
        match next {
            Some(target) if target != name && !chain.contains(&target) => {
                chain.push(target.clone());
                name = target;
            }
            _ => break,
        }
    }
    chain
}

fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

fn build_resolver(server: Option<SocketAddr>, timeout: Duration) -> Result<(TokioResolver, Vec<String>), NetError> {
    let provider = TokioRuntimeProvider::default();
    let mut builder = match server {
        Some(addr) => {
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = addr.port();
            let ns = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
            let mut b = TokioResolver::builder_with_config(ResolverConfig::from_name_servers(vec![ns]), provider);
            // An explicit server is asked directly: /etc/hosts would hide its answer.
            b.options_mut().use_hosts_file = ResolveHosts::Never;
            b
        }
        None => TokioResolver::builder(provider)?,
    };
    let opts: &mut ResolverOpts = builder.options_mut();
    opts.timeout = timeout;
    opts.attempts = 1;
    opts.cache_size = 0;
    let servers = match server {
        Some(addr) => vec![addr.to_string()],
        None => hickory_resolver::system_conf::read_system_conf()
            .map(|(cfg, _)| cfg.name_servers().iter().map(|ns| ns.ip.to_string()).collect())
            .unwrap_or_default(),
    };
    Ok((builder.build()?, servers))
}

fn classify(e: &NetError) -> DnsErrorKind {
    match e {
        NetError::Timeout => DnsErrorKind::Timeout,
        NetError::Dns(DnsError::NoRecordsFound(nr)) => {
            if nr.response_code == hickory_resolver::proto::op::ResponseCode::NXDomain {
                DnsErrorKind::NxDomain
            } else {
                DnsErrorKind::NoRecords
            }
        }
        NetError::Dns(DnsError::ResponseCode(rc)) if *rc == hickory_resolver::proto::op::ResponseCode::NXDomain => {
            DnsErrorKind::NxDomain
        }
        _ => DnsErrorKind::Other,
    }
}

/// Whether /etc/hosts names this host (hickory consults it first when no server is given).
fn hosts_file_has(host: &str) -> bool {
    use hickory_resolver::proto::op::Query;
    use hickory_resolver::proto::rr::Name;
    let Ok(hosts) = hickory_resolver::Hosts::from_system() else { return false };
    let Ok(name) = Name::from_ascii(fqdn(host)) else { return false };
    [RecordType::A, RecordType::AAAA]
        .into_iter()
        .any(|rt| hosts.lookup_static_host(&Query::query(name.clone(), rt)).is_some())
}
