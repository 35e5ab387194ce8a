//! Watches the TLS record headers that pass under a TLS stack, in both directions. Record content
//! types travel in clear, so in TLS 1.2 a handshake record that arrives after the server's
//! Finished is a late handshake (a HelloRequest: the server wants to renegotiate), whatever the
//! TLS stack then does with it. Only headers are parsed (record headers, and the 4-byte headers of
//! the handshake messages the server sends in clear); nothing is decrypted or kept.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const CHANGE_CIPHER_SPEC: u8 = 20;
const HANDSHAKE: u8 = 22;
const APPLICATION_DATA: u8 = 23;

/// What the record headers showed so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordFacts {
    /// The server sent ChangeCipherSpec (TLS 1.2: its records are encrypted from here on).
    pub server_ccs_seen: bool,
    /// Handshake records from the server after its ChangeCipherSpec. In TLS 1.2 the first is its
    /// Finished; any further one is a late handshake from the server.
    pub server_handshake_records_after_ccs: u32,
    /// Application-data records the client had sent when the first late handshake record arrived.
    pub client_app_records_before_late: Option<u32>,
    /// Application-data records the client sent so far (in TLS 1.2: the request; in TLS 1.3 the
    /// client's own Finished is one too).
    pub client_app_records: u32,
    /// Records received from the server so far.
    pub server_records: u32,
    /// The server's first bytes were `HTTP/`: a plain-HTTP answer on a port we spoke TLS to.
    pub server_spoke_plain_http: bool,
    /// The largest handshake message the server sent in clear (before its ChangeCipherSpec: every
    /// message of a TLS 1.2 handshake, only the ServerHello in TLS 1.3), as its type and the length
    /// its header declares. Read from the header, so known even when the message is refused.
    pub largest_clear_handshake: Option<(u8, u32)>,
    /// A write during the handshake failed because the server had already reset the connection
    /// (EPIPE / ECONNRESET); the TLS stack was told the write went through so that it read what
    /// the server sent before the reset (typically its alert) instead of stopping at the write.
    pub write_reset_in_handshake: bool,
}

impl RecordFacts {
    /// TLS 1.2 only: did the server start a handshake after its Finished?
    pub fn late_handshake_tls12(&self) -> bool {
        self.server_ccs_seen && self.server_handshake_records_after_ccs >= 2
    }
}

/// Splits a byte stream into TLS records by their 5-byte headers, across arbitrary chunking.
#[derive(Debug, Default)]
struct RecordSplitter {
    header: Vec<u8>,
    body_left: usize,
    /// The content type of the record whose body is being passed.
    current: u8,
}

impl RecordSplitter {
    /// Feed bytes; call `on_record(content_type)` for each record header completed.
    fn feed(&mut self, data: &[u8], on_record: impl FnMut(u8)) {
        self.feed_with_bodies(data, on_record, |_, _| {});
    }

    /// As [`RecordSplitter::feed`], and `on_body(content_type, bytes)` for the body bytes.
    fn feed_with_bodies(&mut self, mut data: &[u8], mut on_record: impl FnMut(u8), mut on_body: impl FnMut(u8, &[u8])) {
        while !data.is_empty() {
            if self.body_left > 0 {
                let n = self.body_left.min(data.len());
                on_body(self.current, &data[..n]);
                self.body_left -= n;
                data = &data[n..];
                continue;
            }
            let need = 5 - self.header.len();
            let n = need.min(data.len());
            self.header.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.header.len() == 5 {
                self.current = self.header[0];
                on_record(self.header[0]);
                self.body_left = usize::from(u16::from_be_bytes([self.header[3], self.header[4]]));
                self.header.clear();
            }
        }
    }
}

/// Splits the handshake layer (record bodies of type handshake, joined) into messages by their
/// 4-byte headers: type, 24-bit length.
#[derive(Debug, Default)]
struct MessageSplitter {
    header: Vec<u8>,
    body_left: usize,
}

impl MessageSplitter {
    fn feed(&mut self, mut data: &[u8], mut on_message: impl FnMut(u8, u32)) {
        while !data.is_empty() {
            if self.body_left > 0 {
                let n = self.body_left.min(data.len());
                self.body_left -= n;
                data = &data[n..];
                continue;
            }
            let n = (4 - self.header.len()).min(data.len());
            self.header.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.header.len() == 4 {
                let len = u32::from_be_bytes([0, self.header[1], self.header[2], self.header[3]]);
                on_message(self.header[0], len);
                self.body_left = len as usize;
                self.header.clear();
            }
        }
    }
}

#[derive(Debug, Default)]
struct WatchState {
    facts: RecordFacts,
    from_server: RecordSplitter,
    from_client: RecordSplitter,
    server_messages: MessageSplitter,
    server_prefix: Vec<u8>,
    /// While true, a write that fails with a reset is reported as written (see `read_past_write_resets`).
    read_past_write_resets: bool,
}

impl WatchState {
    fn server_bytes(&mut self, data: &[u8]) {
        if self.server_prefix.len() < 5 {
            let n = (5 - self.server_prefix.len()).min(data.len());
            self.server_prefix.extend_from_slice(&data[..n]);
            self.facts.server_spoke_plain_http = self.server_prefix == b"HTTP/";
        }
        let WatchState { facts, from_server, server_messages, .. } = self;
        let clear = std::cell::Cell::new(!facts.server_ccs_seen);
        let largest = std::cell::Cell::new(facts.largest_clear_handshake);
        from_server.feed_with_bodies(
            data,
            |ty| {
                facts.server_records += 1;
                match ty {
                    CHANGE_CIPHER_SPEC => {
                        facts.server_ccs_seen = true;
                        clear.set(false);
                    }
                    HANDSHAKE if facts.server_ccs_seen => {
                        facts.server_handshake_records_after_ccs += 1;
                        if facts.server_handshake_records_after_ccs == 2 {
                            facts.client_app_records_before_late = Some(facts.client_app_records);
                        }
                    }
                    _ => {}
                }
            },
            |ty, body| {
                if ty == HANDSHAKE && clear.get() {
                    server_messages.feed(body, |msg, len| {
                        if largest.get().is_none_or(|(_, l)| len > l) {
                            largest.set(Some((msg, len)));
                        }
                    });
                }
            },
        );
        facts.largest_clear_handshake = largest.get();
    }

    fn client_bytes(&mut self, data: &[u8]) {
        let WatchState { facts, from_client, .. } = self;
        from_client.feed(data, |ty| {
            if ty == APPLICATION_DATA {
                facts.client_app_records += 1;
            }
        });
    }
}

/// A shared view of what a `Watched` stream saw.
#[derive(Debug, Clone, Default)]
pub struct RecordWatch(Arc<Mutex<WatchState>>);

impl RecordWatch {
    pub fn facts(&self) -> RecordFacts {
        self.0.lock().map(|s| s.facts).unwrap_or_default()
    }

    fn server_bytes(&self, data: &[u8]) {
        if let Ok(mut s) = self.0.lock() {
            s.server_bytes(data);
        }
    }

    /// During a handshake, a server that rejects the client's certificate sends its alert and
    /// closes with the rest of the client's flight unread, which makes its kernel answer with a
    /// reset. The alert is then already in this side's receive buffer, but the client's next write
    /// fails (EPIPE or ECONNRESET) and the TLS stack stops there, never reading it. While this is
    /// on, such a write is reported as written (and recorded), so the stack goes on to read: it
    /// gets the alert if one arrived before the reset, or the reset itself if not.
    pub fn read_past_write_resets(&self, on: bool) {
        if let Ok(mut s) = self.0.lock() {
            s.read_past_write_resets = on;
        }
    }

    /// Whether a failed write is to be reported as written; records that it happened.
    fn swallow_write_error(&self, e: &io::Error) -> bool {
        use io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
        if !matches!(e.kind(), BrokenPipe | ConnectionReset | ConnectionAborted) {
            return false;
        }
        match self.0.lock() {
            Ok(mut s) if s.read_past_write_resets => {
                s.facts.write_reset_in_handshake = true;
                true
            }
            _ => false,
        }
    }

    fn client_bytes(&self, data: &[u8]) {
        if let Ok(mut s) = self.0.lock() {
            s.client_bytes(data);
        }
    }
}

/// A transport (TCP) stream whose record headers are watched; reads are the server's bytes.
#[derive(Debug)]
pub struct Watched<S> {
    inner: S,
    watch: RecordWatch,
}

impl<S> Watched<S> {
    pub fn new(inner: S) -> (Self, RecordWatch) {
        let watch = RecordWatch::default();
        (Watched { inner, watch: watch.clone() }, watch)
    }

    pub fn watch(&self) -> &RecordWatch {
        &self.watch
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &polled {
            let fresh = &buf.filled()[before..];
            self.watch.server_bytes(fresh);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        match &polled {
            Poll::Ready(Ok(n)) => self.watch.client_bytes(&data[..*n]),
            Poll::Ready(Err(e)) if self.watch.swallow_write_error(e) => return Poll::Ready(Ok(data.len())),
            _ => {}
        }
        polled
    }

    /// The TLS stack hands over a whole flight (ClientHello; Certificate, CertificateVerify and
    /// Finished; a request) as one list of records: passed on as one `writev`, so a flight is one
    /// segment as with a bare rustls client, not one system call (and one server wake-up) per record.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        match &polled {
            Poll::Ready(Ok(n)) => {
                let mut left = *n;
                for b in bufs {
                    if left == 0 {
                        break;
                    }
                    let take = left.min(b.len());
                    self.watch.client_bytes(&b[..take]);
                    left -= take;
                }
            }
            Poll::Ready(Err(e)) if self.watch.swallow_write_error(e) => {
                return Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()));
            }
            _ => {}
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The blocking counterpart, for the OpenSSL engine (`std::io`).
impl<S: io::Read> io::Read for Watched<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.watch.server_bytes(&buf[..n]);
        Ok(n)
    }
}

impl<S: io::Write> io::Write for Watched<S> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(data)?;
        self.watch.client_bytes(&data[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ty: u8, len: u16) -> Vec<u8> {
        let mut r = vec![ty, 3, 3];
        r.extend(len.to_be_bytes());
        r.extend(std::iter::repeat_n(0xAA, usize::from(len)));
        r
    }

    #[test]
    fn a_handshake_record_after_the_servers_finished_is_late_across_any_chunking() {
        let mut wire = record(HANDSHAKE, 90); // ServerHello..Done
        wire.extend(record(CHANGE_CIPHER_SPEC, 1));
        wire.extend(record(HANDSHAKE, 40)); // Finished
        wire.extend(record(HANDSHAKE, 28)); // HelloRequest
        for chunk in [1usize, 3, 7, 1000] {
            let w = RecordWatch::default();
            w.client_bytes(&record(APPLICATION_DATA, 50));
            for part in wire.chunks(chunk) {
                w.server_bytes(part);
            }
            let f = w.facts();
            assert!(f.late_handshake_tls12(), "chunk {chunk}: {f:?}");
            assert_eq!(f.client_app_records_before_late, Some(1));
        }
    }

    /// A transport whose every write fails as after a reset.
    struct ResetWrites;

    impl AsyncWrite for ResetWrites {
        fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
            Poll::Ready(Err(io::Error::from(io::ErrorKind::BrokenPipe)))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_write_reset_is_passed_over_only_while_asked_and_is_recorded() {
        use tokio::io::AsyncWriteExt;
        let (mut w, watch) = Watched::new(ResetWrites);
        assert_eq!(w.write(b"flight").await.map_err(|e| e.kind()), Err(io::ErrorKind::BrokenPipe));
        assert!(!watch.facts().write_reset_in_handshake);
        watch.read_past_write_resets(true);
        assert_eq!(w.write(b"flight").await.ok(), Some(6));
        assert!(watch.facts().write_reset_in_handshake);
        watch.read_past_write_resets(false);
        assert!(w.write(b"request").await.is_err(), "after the handshake a reset is an error again");
    }

    #[tokio::test]
    async fn a_flight_written_as_one_list_of_records_is_one_write_and_every_record_is_seen() {
        use tokio::io::AsyncWriteExt;
        let (mut w, watch) = Watched::new(Vec::<u8>::new());
        assert!(w.is_write_vectored());
        let (a, b) = (record(APPLICATION_DATA, 20), record(APPLICATION_DATA, 30));
        let n = w.write_vectored(&[io::IoSlice::new(&a), io::IoSlice::new(&b)]).await.expect("write");
        assert_eq!(n, a.len() + b.len(), "both records in one write");
        assert_eq!(watch.facts().client_app_records, 2);
        assert_eq!(w.inner, [a, b].concat());
    }

    #[test]
    fn the_size_a_clear_handshake_message_declares_is_read_across_records() {
        // A Certificate message (type 11) of 100,000 bytes, split over records as a server does.
        let mut layer = vec![11u8, 0x01, 0x86, 0xA0];
        layer.extend(std::iter::repeat_n(0u8, 100_000));
        let mut wire = Vec::new();
        for chunk in [&[2u8, 0, 0, 2, 0xAA, 0xBB][..]].into_iter().chain(layer.chunks(16_384)) {
            wire.extend([HANDSHAKE, 3, 3]);
            wire.extend((chunk.len() as u16).to_be_bytes());
            wire.extend(chunk);
        }
        for part in [7usize, 5000] {
            let w = RecordWatch::default();
            for piece in wire.chunks(part) {
                w.server_bytes(piece);
            }
            assert_eq!(w.facts().largest_clear_handshake, Some((11, 100_000)), "chunks of {part}");
        }
        // After ChangeCipherSpec the bytes are encrypted: not read as message headers.
        let w = RecordWatch::default();
        w.server_bytes(&record(CHANGE_CIPHER_SPEC, 1));
        w.server_bytes(&record(HANDSHAKE, 40));
        assert_eq!(w.facts().largest_clear_handshake, None);
    }

    #[test]
    fn a_plain_http_answer_is_named_even_split() {
        let w = RecordWatch::default();
        w.server_bytes(b"HT");
        w.server_bytes(b"TP/1.1 400 Bad Request\r\n");
        assert!(w.facts().server_spoke_plain_http);
        let w = RecordWatch::default();
        w.server_bytes(&record(HANDSHAKE, 10));
        assert!(!w.facts().server_spoke_plain_http);
    }

    #[test]
    fn a_normal_tls12_handshake_and_response_is_not_late() {
        let w = RecordWatch::default();
        let mut wire = record(HANDSHAKE, 90);
        wire.extend(record(CHANGE_CIPHER_SPEC, 1));
        wire.extend(record(HANDSHAKE, 40));
        wire.extend(record(APPLICATION_DATA, 300));
        w.server_bytes(&wire);
        assert!(!w.facts().late_handshake_tls12());
        assert_eq!(w.facts().client_app_records_before_late, None);
    }
}
