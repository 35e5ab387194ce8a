//! DNS phase of the probe against an in-process fake name server on 127.0.0.1: the CNAME chain of
//! a custom domain that points at the default `*.azure-api.net` name is walked hop by hop.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
use hickory_resolver::proto::rr::rdata::{A, CNAME};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use mtls_doctor::probe::dns::{resolve, DnsErrorKind};

/// A tiny authoritative-style server: CNAME queries get one hop; A queries get the whole chain and
/// the address, as a recursive resolver would return them.
struct FakeDns {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    queries: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeDns {
    fn start(cnames: &[(&str, &str)], addrs: &[(&str, Ipv4Addr)]) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        sock.set_read_timeout(Some(Duration::from_millis(50))).expect("timeout");
        let addr = sock.local_addr().expect("addr");
        let cnames: HashMap<String, String> = cnames.iter().map(|(a, b)| (fq(a), fq(b))).collect();
        let addrs: HashMap<String, Ipv4Addr> = addrs.iter().map(|(a, ip)| (fq(a), *ip)).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let queries = Arc::new(AtomicUsize::new(0));
        let (stop2, queries2) = (stop.clone(), queries.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !stop2.load(Ordering::Relaxed) {
                let Ok((n, peer)) = sock.recv_from(&mut buf) else { continue };
                let Ok(req) = Message::from_vec(&buf[..n]) else { continue };
                queries2.fetch_add(1, Ordering::Relaxed);
                let mut resp = Message::response(req.metadata.id, req.metadata.op_code);
                resp.metadata.message_type = MessageType::Response;
                resp.metadata.recursion_desired = req.metadata.recursion_desired;
                resp.metadata.recursion_available = true;
                resp.metadata.authoritative = true;
                let Some(q) = req.queries.first().cloned() else { continue };
                let qname = q.name().to_ascii().to_ascii_lowercase();
                resp.add_query(q.clone());
                let mut found = false;
                match q.query_type() {
                    RecordType::CNAME => {
                        if let Some(target) = cnames.get(&qname) {
                            resp.add_answer(cname_record(&qname, target));
                            found = true;
                        }
                    }
                    RecordType::A => {
                        let mut name = qname.clone();
                        let mut hops = 0;
                        while let Some(target) = cnames.get(&name) {
                            resp.add_answer(cname_record(&name, target));
                            name = target.clone();
                            hops += 1;
                            if hops > 10 {
                                break;
                            }
                        }
                        if let Some(ip) = addrs.get(&name) {
                            resp.add_answer(Record::from_rdata(
                                Name::from_ascii(&name).expect("name"),
                                60,
                                RData::A(A(*ip)),
                            ));
                            found = true;
                        }
                    }
                    _ => {
                        found = cnames.contains_key(&qname) || addrs.contains_key(&qname);
                    }
                }
                if !found && !cnames.contains_key(&qname) && !addrs.contains_key(&qname) {
                    resp.metadata.response_code = ResponseCode::NXDomain;
                }
                if let Ok(bytes) = resp.to_vec() {
                    let _ = sock.send_to(&bytes, peer);
                }
            }
        });
        FakeDns { addr, stop, queries, thread: Some(thread) }
    }
}

impl Drop for FakeDns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn fq(n: &str) -> String {
    format!("{}.", n.trim_end_matches('.').to_ascii_lowercase())
}

fn cname_record(name: &str, target: &str) -> Record {
    Record::from_rdata(
        Name::from_ascii(name).expect("name"),
        60,
        RData::CNAME(CNAME(Name::from_ascii(target).expect("target"))),
    )
}

#[tokio::test]
async fn cname_chain_to_default_apim_hostname_is_walked() {
    let dns = FakeDns::start(
        &[
            ("api.contoso.test", "contoso.azure-api.net"),
            ("contoso.azure-api.net", "apimgmttm123.trafficmanager.net"),
            ("apimgmttm123.trafficmanager.net", "apimgmths456.cloudapp.net"),
        ],
        &[("apimgmths456.cloudapp.net", Ipv4Addr::new(127, 0, 0, 1))],
    );
    let r = resolve("api.contoso.test", Some(dns.addr), Duration::from_secs(3)).await;
    assert_eq!(r.error, None);
    assert_eq!(r.addresses, vec!["127.0.0.1".to_string()]);
    assert_eq!(
        r.cnames,
        vec![
            "contoso.azure-api.net".to_string(),
            "apimgmttm123.trafficmanager.net".to_string(),
            "apimgmths456.cloudapp.net".to_string()
        ]
    );
    assert_eq!(r.servers, vec![dns.addr.to_string()]);
    assert!(!r.from_hosts_file);
    assert!(dns.queries.load(Ordering::Relaxed) >= 4, "one query for addresses and one per CNAME hop");
}

#[tokio::test]
async fn nxdomain_is_recorded_not_raised() {
    let dns = FakeDns::start(&[], &[("known.test", Ipv4Addr::new(127, 0, 0, 2))]);
    let r = resolve("missing.test", Some(dns.addr), Duration::from_secs(3)).await;
    assert!(r.addresses.is_empty());
    assert_eq!(r.error_kind, Some(DnsErrorKind::NxDomain), "{:?}", r.error);
    let r = resolve("known.test", Some(dns.addr), Duration::from_secs(3)).await;
    assert_eq!(r.addresses, vec!["127.0.0.2".to_string()]);
    assert!(r.cnames.is_empty());
}

#[tokio::test]
async fn silent_server_times_out_within_bound() {
    // A UDP socket that never answers.
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let addr = sock.local_addr().expect("addr");
    let started = std::time::Instant::now();
    let r = resolve("nobody.test", Some(addr), Duration::from_millis(500)).await;
    assert!(r.addresses.is_empty());
    assert!(r.error.is_some());
    assert!(started.elapsed() < Duration::from_secs(5), "bounded: {:?}", started.elapsed());
}

#[tokio::test]
async fn ip_literal_and_hosts_file() {
    let r = resolve("127.0.0.1", None, Duration::from_secs(1)).await;
    assert!(r.literal);
    assert_eq!(r.addresses, vec!["127.0.0.1".to_string()]);
    let r = resolve("::1", None, Duration::from_secs(1)).await;
    assert_eq!(r.addresses, vec!["::1".to_string()]);
    // localhost is in /etc/hosts on every Debian machine.
    let r = resolve("localhost", None, Duration::from_secs(3)).await;
    assert!(r.from_hosts_file, "{r:?}");
    assert!(r.addresses.iter().any(|a| a == "127.0.0.1" || a == "::1"), "{r:?}");
}
