//! An adapter between the TLS stream and hyper that remembers what happened on the stream itself:
//! the first TLS error (a TLS 1.3 alert read after the handshake), the first I/O error, and how
//! many bytes went each way. hyper's HTTP/2 path turns I/O errors into strings, so a probe that
//! only looked at hyper's error would lose the alert's name.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What the stream under hyper saw.
#[derive(Debug, Clone, Default)]
pub struct StreamFacts {
    pub first_tls_error: Option<rustls::Error>,
    pub first_io_error: Option<io::ErrorKind>,
    pub bytes_written: u64,
    pub bytes_read: u64,
    /// The peer closed cleanly (a read returned 0 bytes).
    pub eof: bool,
}

/// A shared handle on the facts a `Recording` stream gathers.
#[derive(Debug, Clone, Default)]
pub struct StreamLog(Arc<Mutex<StreamFacts>>);

impl StreamLog {
    pub fn facts(&self) -> StreamFacts {
        self.0.lock().map(|f| f.clone()).unwrap_or_default()
    }

    fn error(&self, e: &io::Error) {
        if let Ok(mut f) = self.0.lock() {
            if f.first_tls_error.is_none() {
                f.first_tls_error = super::tls::rustls_error_of(e).cloned();
            }
            if f.first_io_error.is_none() {
                f.first_io_error = Some(e.kind());
            }
        }
    }

    fn update(&self, change: impl FnOnce(&mut StreamFacts)) {
        if let Ok(mut f) = self.0.lock() {
            change(&mut f);
        }
    }
}

/// Wraps the stream hyper reads and writes.
#[derive(Debug)]
pub struct Recording<S> {
    inner: S,
    log: StreamLog,
    /// Bytes read ahead by `settle`, handed to hyper first.
    prefetched: Vec<u8>,
}

impl<S> Recording<S> {
    pub fn new(inner: S) -> (Self, StreamLog) {
        let log = StreamLog::default();
        (Recording { inner, log: log.clone(), prefetched: Vec::new() }, log)
    }
}

impl<S: AsyncRead + Unpin> Recording<S> {
    /// TLS 1.3 with a client certificate requested: before anything is written, wait (bounded) for
    /// the server's first record after the handshake. A rejection comes as an alert right after
    /// the server reads our Finished; once we write, a server that already closed answers with a
    /// reset that makes the kernel drop the unread alert. A session ticket (acceptance) ends the
    /// wait early. Anything read is kept for hyper.
    pub async fn settle(&mut self, arrived: impl Fn() -> bool, limit: std::time::Duration) {
        use tokio::io::AsyncReadExt;
        let deadline = tokio::time::Instant::now() + limit;
        let mut seen = false;
        while tokio::time::Instant::now() < deadline {
            let step = if seen { std::time::Duration::from_millis(5) } else { std::time::Duration::from_millis(25) };
            let mut buf = [0u8; 4096];
            match tokio::time::timeout(step, self.inner.read(&mut buf)).await {
                Ok(Ok(0)) => return,
                Ok(Ok(n)) => {
                    self.prefetched.extend_from_slice(&buf[..n]);
                    return;
                }
                Ok(Err(e)) => {
                    self.log.error(&e);
                    return;
                }
                Err(_) if seen => return,
                Err(_) => seen = arrived(),
            }
        }
    }
}

impl<S: AsyncRead + Unpin> Recording<S> {
    /// A write failed (the peer closed or reset): an alert it sent just before may still be
    /// unread, and HTTP/2 gives up on the write error alone. Read once to pick it up.
    fn drain_alert(&mut self, cx: &mut Context<'_>) {
        if self.log.facts().first_tls_error.is_some() {
            return;
        }
        let mut scratch = [0u8; 512];
        let mut buf = ReadBuf::new(&mut scratch);
        if let Poll::Ready(Err(e)) = Pin::new(&mut self.inner).poll_read(cx, &mut buf) {
            if let Some(tls) = super::tls::rustls_error_of(&e).cloned() {
                self.log.update(|f| f.first_tls_error = Some(tls));
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Recording<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if !self.prefetched.is_empty() {
            let n = self.prefetched.len().min(buf.remaining());
            let chunk: Vec<u8> = self.prefetched.drain(..n).collect();
            buf.put_slice(&chunk);
            self.log.update(|f| f.bytes_read += n as u64);
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        match &polled {
            Poll::Ready(Ok(())) => {
                let n = (buf.filled().len() - before) as u64;
                self.log.update(|f| {
                    f.bytes_read += n;
                    f.eof |= n == 0 && buf.remaining() > 0;
                });
            }
            Poll::Ready(Err(e)) => self.log.error(e),
            Poll::Pending => {}
        }
        polled
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Recording<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        match &polled {
            Poll::Ready(Ok(n)) => {
                let n = *n as u64;
                self.log.update(|f| f.bytes_written += n);
            }
            Poll::Ready(Err(e)) => {
                self.log.error(e);
                self.drain_alert(cx);
            }
            Poll::Pending => {}
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        if let Poll::Ready(Err(e)) = &polled {
            self.log.error(e);
            self.drain_alert(cx);
        }
        polled
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The RFC 9113 name of an HTTP/2 error code, as servers log it and curl prints it.
pub fn h2_error_name(code: u32) -> String {
    let name = match code {
        0x0 => "NO_ERROR",
        0x1 => "PROTOCOL_ERROR",
        0x2 => "INTERNAL_ERROR",
        0x3 => "FLOW_CONTROL_ERROR",
        0x4 => "SETTINGS_TIMEOUT",
        0x5 => "STREAM_CLOSED",
        0x6 => "FRAME_SIZE_ERROR",
        0x7 => "REFUSED_STREAM",
        0x8 => "CANCEL",
        0x9 => "COMPRESSION_ERROR",
        0xa => "CONNECT_ERROR",
        0xb => "ENHANCE_YOUR_CALM",
        0xc => "INADEQUATE_SECURITY",
        0xd => "HTTP_1_1_REQUIRED",
        other => return format!("0x{other:x}"),
    };
    name.to_string()
}
