//! Wording for what happens after the handshake: the late certificate request, how an HTTP
//! exchange ended without a response, and the late-authentication re-runs. Part of `text`.

use std::fmt;

use crate::probe::late::LateMethod;
use crate::probe::{HttpFailureKind, LateWhen};

impl fmt::Display for LateMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LateMethod::Renegotiation => "TLS 1.2 renegotiation",
            LateMethod::Pha => "TLS 1.3 post-handshake authentication",
        })
    }
}

impl fmt::Display for LateWhen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LateWhen::AfterHandshake => "after the handshake, before any request",
            LateWhen::AfterRequest => "after the HTTP request arrived",
        })
    }
}

impl fmt::Display for HttpFailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpFailureKind::ClosedBeforeResponse => f.write_str("closed before any response"),
            HttpFailureKind::ResetAfterRequest => f.write_str("reset after the request"),
            HttpFailureKind::Http2 { code, by_peer: true } => write!(f, "the server ended HTTP/2 with {code}"),
            HttpFailureKind::Http2 { code, by_peer: false } => write!(f, "HTTP/2 error {code}"),
            HttpFailureKind::Timeout => f.write_str("no response in time"),
            HttpFailureKind::Other => f.write_str("HTTP failed"),
        }
    }
}
