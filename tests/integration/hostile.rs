//! Hostile files: inputs shaped to exhaust the CPU or memory are refused quickly, by name and limit.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mtls_doctor::material::{load_file, PasswordSource};
use mtls_doctor::pki::Spec;

use crate::util::{openssl, Dir, Pki};

/// A DER element: tag byte, and either its children (constructed, or an OCTET STRING that holds
/// DER) or its raw content.
enum Node {
    Parent(u8, Vec<Node>),
    Leaf(u8, Vec<u8>),
}

fn read_len(b: &[u8]) -> Option<(usize, usize)> {
    let first = *b.first()?;
    if first < 0x80 {
        return Some((first as usize, 1));
    }
    let n = (first & 0x7f) as usize;
    let len = b.get(1..1 + n)?.iter().fold(0usize, |acc, &x| (acc << 8) | x as usize);
    Some((len, 1 + n))
}

fn parse_all(mut b: &[u8]) -> Option<Vec<Node>> {
    let mut nodes = Vec::new();
    while !b.is_empty() {
        let tag = b[0];
        let (len, used) = read_len(&b[1..])?;
        let content = b.get(1 + used..1 + used + len)?;
        nodes.push(if tag & 0x20 != 0 {
            Node::Parent(tag, parse_all(content)?)
        } else if tag == 0x04 && content.first() == Some(&0x30) {
            parse_all(content).map_or_else(|| Node::Leaf(tag, content.to_vec()), |n| Node::Parent(tag, n))
        } else {
            Node::Leaf(tag, content.to_vec())
        });
        b = &b[1 + used + len..];
    }
    Some(nodes)
}

fn encode(nodes: &[Node], out: &mut Vec<u8>) {
    for node in nodes {
        let (tag, content) = match node {
            Node::Parent(tag, children) => {
                let mut c = Vec::new();
                encode(children, &mut c);
                (*tag, c)
            }
            Node::Leaf(tag, c) => (*tag, c.clone()),
        };
        out.push(tag);
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|&x| x == 0).collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend_from_slice(&bytes);
        }
        out.extend_from_slice(&content);
    }
}

/// Every INTEGER equal to `from` becomes `to`, wherever it sits (inside OCTET STRINGs too).
fn replace_integers(nodes: &mut [Node], from: &[u8], to: &[u8]) -> usize {
    let mut n = 0;
    for node in nodes {
        match node {
            Node::Parent(_, children) => n += replace_integers(children, from, to),
            Node::Leaf(0x02, c) if c.as_slice() == from => {
                *c = to.to_vec();
                n += 1;
            }
            Node::Leaf(..) => {}
        }
    }
    n
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// A PFX made by openssl with 3333 iterations everywhere, then patched to 2^31-1.
fn pfx_with_huge_counts(dir: &Dir, name: &str, extra: &[&str]) -> PathBuf {
    let pki = Pki::new("Hostile");
    let leaf = pki.leaf(&Spec::leaf("client.example").client_only());
    let (cert, key) = dir.write_issued("leaf", &leaf);
    let made = dir.path(&format!("{name}.orig"));
    let (c, k, m) = (path_str(&cert), path_str(&key), path_str(&made));
    let mut args = vec!["pkcs12", "-export", "-in", c, "-inkey", k, "-out", m];
    args.extend_from_slice(&["-passout", "pass:", "-iter", "3333"]);
    args.extend_from_slice(extra);
    let (ok, out) = openssl(&args);
    assert!(ok, "openssl pkcs12: {out}");
    let der = std::fs::read(&made).expect("read pfx");
    let mut nodes = parse_all(&der).expect("openssl writes DER");
    let patched = replace_integers(&mut nodes, &3333u32.to_be_bytes()[2..], &0x7fff_ffffu32.to_be_bytes());
    assert!(patched >= 1, "no iteration count found to patch");
    let mut out = Vec::new();
    encode(&nodes, &mut out);
    dir.write(name, out)
}

fn refused_within_seconds(path: &Path) -> String {
    let start = Instant::now();
    let err = load_file(path, &PasswordSource::None).expect_err("a huge iteration count is refused").to_string();
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
    assert!(err.starts_with(&path.display().to_string()), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

#[test]
fn a_pfx_with_a_huge_mac_iteration_count_is_refused_naming_the_mac_limit() {
    let dir = Dir::new();
    let pfx = pfx_with_huge_counts(&dir, "mac.pfx", &[]);
    let err = refused_within_seconds(&pfx);
    assert!(err.contains("2147483647 MAC iterations"), "{err}");
    assert!(err.contains("1000000"), "{err}");
}

#[test]
fn a_pfx_with_a_huge_key_derivation_count_is_refused_naming_that_limit() {
    let dir = Dir::new();
    let pfx = pfx_with_huge_counts(&dir, "kdf.pfx", &["-nomac"]);
    let err = refused_within_seconds(&pfx);
    assert!(err.contains("2147483647 key-derivation iterations"), "{err}");
}

/// A server whose Certificate message is larger than rustls' 64 KiB handshake-message limit (a
/// 200-certificate chain, as openssl s_server sends it) speaks valid TLS: the probe names the size
/// limit, not "not TLS or corrupt".
#[test]
fn a_certificate_chain_over_the_64_kib_handshake_limit_is_not_called_corrupt() {
    use std::process::{Command, Stdio};
    let dir = Dir::new();
    let pki = Pki::new("Big");
    let leaf = pki.leaf(&Spec::leaf("localhost"));
    let (cert, key) = dir.write_issued("server", &leaf);
    let mut chain = pki.intermediate.cert_pem();
    for i in 0..200 {
        let filler = mtls_doctor::pki::Issued::self_signed(&Spec::ca(&format!("Filler CA {i:03} with a long name")))
            .expect("ca");
        chain.push_str(&filler.cert_pem());
    }
    assert!(chain.len() > 100_000, "chain of {} bytes", chain.len());
    let chain = dir.write("chain.pem", chain);
    let port = crate::peers::free_port();
    let mut child = Command::new("openssl")
        .args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-www", "-cert", path_str(&cert), "-key"])
        .args([path_str(&key), "-cert_chain", path_str(&chain)])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start openssl s_server");
    crate::peers::wait_for_port(port, &mut child, "openssl s_server");
    let _peer = crate::peers::Peer { child, port, name: "openssl s_server" };
    let start = Instant::now();
    let out = crate::util::run(crate::util::bin().args(["probe", &format!("127.0.0.1:{port}"), "--timeout", "20"]));
    assert!(start.elapsed() < Duration::from_secs(40), "took {:?}", start.elapsed());
    let text = format!("{}{}", crate::util::stdout(&out), crate::util::stderr(&out));
    assert!(!text.contains("not TLS or corrupt"), "{text}");
    assert!(text.contains("larger than the 64 KiB (65535-byte) limit"), "{text}");
    assert!(text.contains("most TLS clients"), "{text}");
}
