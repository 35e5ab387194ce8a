//! What a connection to the TLS port that does not start with a TLS record is: plain HTTP only
//! when its first line parses as an HTTP request line, anything else by its first bytes.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// What the first bytes of a connection that is not TLS turned out to be.
#[derive(Debug, PartialEq)]
pub(super) enum Sniffed {
    /// A first line that parses as an HTTP request line (kept, escaped, at most 200 characters).
    Http(String),
    /// Anything else, as the hex of its first 16 bytes.
    Neither(String),
}

/// A TLS connection starts with a handshake record (0x16); an HTTP request starts with an uppercase
/// method name. A first byte that could start a method is read up to the end of the first line (or
/// 4 KiB) and called plain HTTP only when that line is `METHOD SP TARGET SP HTTP/d.d`.
pub(super) async fn sniff_plain_http(tcp: &mut TcpStream) -> io::Result<Option<Sniffed>> {
    let mut first = [0u8; 1];
    let n = tcp.peek(&mut first).await?;
    if n == 0 || !first[0].is_ascii_uppercase() {
        return Ok(None);
    }
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    while len < buf.len() && !buf[..len].contains(&b'\n') {
        let n = tcp.read(&mut buf[len..]).await?;
        if n == 0 {
            break;
        }
        len += n;
    }
    Ok(Some(sniff(&buf[..len])))
}

fn sniff(bytes: &[u8]) -> Sniffed {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if is_request_line(line) {
        let text = String::from_utf8_lossy(line);
        return Sniffed::Http(crate::text::clean(&text.chars().take(200).collect::<String>()));
    }
    Sniffed::Neither(hex::encode(&bytes[..bytes.len().min(16)]))
}

/// RFC 9112 section 3: `method SP request-target SP HTTP-version`, the method a token of
/// uppercase letters here (every registered method is), the target visible ASCII.
fn is_request_line(line: &[u8]) -> bool {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let version_ok = matches!(version, [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
        if major.is_ascii_digit() && minor.is_ascii_digit());
    !method.is_empty()
        && method.len() <= 32
        && method.iter().all(|b| b.is_ascii_uppercase() || *b == b'-' || *b == b'_')
        && !target.is_empty()
        && target.iter().all(|b| b.is_ascii_graphic())
        && version_ok
}

pub(super) async fn answer_plain_http(tcp: &mut TcpStream) {
    const BODY: &str = "This port speaks TLS: use https://\n";
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    // Best effort: the client may already be gone, and the record says what happened either way.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        tcp.write_all(response.as_bytes()).await?;
        tcp.shutdown().await
    })
    .await;
}

#[cfg(test)]
mod sniff_tests {
    use super::{sniff, Sniffed};

    #[test]
    fn only_a_request_line_is_plain_http() {
        assert_eq!(sniff(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), Sniffed::Http("GET / HTTP/1.1".into()));
        assert_eq!(sniff(b"OPTIONS * HTTP/1.0\n"), Sniffed::Http("OPTIONS * HTTP/1.0".into()));
        for not_http in
            [&b"GET /x\r\n"[..], b"G\x00\xff\x13 x HTTP/1.1", b"GET  / HTTP/1.1", b"GET / HTTP/11", b"HELLO"]
        {
            assert!(matches!(sniff(not_http), Sniffed::Neither(_)), "{not_http:?}");
        }
        assert_eq!(sniff(b"G\x00\xff"), Sniffed::Neither("4700ff".into()));
    }
}
