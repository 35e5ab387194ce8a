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
                f.first_tls_error = super::tls::rustls_error_in(e);
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
}

impl<S> Recording<S> {
    pub fn new(inner: S) -> (Self, StreamLog) {
        let log = StreamLog::default();
        (Recording { inner, log: log.clone() }, log)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Recording<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
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

impl<S: AsyncWrite + Unpin> AsyncWrite for Recording<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        match &polled {
            Poll::Ready(Ok(n)) => {
                let n = *n as u64;
                self.log.update(|f| f.bytes_written += n);
            }
            Poll::Ready(Err(e)) => self.log.error(e),
            Poll::Pending => {}
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        if let Poll::Ready(Err(e)) = &polled {
            self.log.error(e);
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
