//! The TLS phase of a probe with rustls: what the server sent and asked for, what we sent, what was
//! negotiated, and, for TLS 1.3, the client-certificate rejection that only shows on the first read.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::client::{ResolvesClientCert, Resumption};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{AlertDescription, ClientConfig, SignatureScheme};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::late::LateMethod;
use super::records::{RecordFacts, Watched};
use super::{
    ClientIdentity, Handshake, LateCertRequest, LateWhen, NotSentReason, Phase, ProbeOptions, ProbeResult, TlsFailure,
    TlsVersionPin,
};
use crate::cert::{dotnet_name_from_der, CertInfo, Certificate};
use crate::danger::server_cert::RecordingServerVerifier;
use crate::verify::Verdict;

/// The crypto provider every TLS config in the tool uses (aws-lc-rs), so no process default is needed.
/// Made once and shared: every connection of a sweep built its own copy of the same lists.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: std::sync::LazyLock<Arc<CryptoProvider>> =
        std::sync::LazyLock::new(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    PROVIDER.clone()
}

/// What the CertificateRequest asked for and what we answered.
#[derive(Debug, Default)]
struct CertRequestRecord {
    requested: bool,
    hints: Vec<Vec<u8>>,
    schemes: Vec<SignatureScheme>,
    sent: bool,
    not_sent: Option<NotSentReason>,
}

/// Offers the configured certificate when (and only when) the server asks, recording the request.
#[derive(Debug)]
struct RecordingCertResolver {
    identity: Option<Arc<CertifiedKey>>,
    record: Mutex<CertRequestRecord>,
    /// Told the moment a CertificateRequest arrives (the comparison run starts then).
    on_request: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

/// How one connection of a probe writes its request after a TLS 1.3 handshake that asked for a
/// client certificate.
#[derive(Debug, Default)]
pub(super) struct Attempt {
    /// Wait for the server's verdict on our certificate before writing (see [`settle_wait`]);
    /// otherwise write at once, as curl does.
    pub settle: bool,
    /// Told when the server's CertificateRequest arrives.
    pub on_request: Option<tokio::sync::oneshot::Sender<()>>,
}

impl ResolvesClientCert for RecordingCertResolver {
    fn resolve(&self, root_hint_subjects: &[&[u8]], sigschemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        let chosen = match &self.identity {
            None => Err(NotSentReason::NoneConfigured),
            Some(ck) => match ck.key.choose_scheme(sigschemes) {
                Some(_) => Ok(ck.clone()),
                // rustls would send an empty Certificate message: say why.
                None => Err(NotSentReason::NoCommonSignatureScheme),
            },
        };
        if let Ok(mut rec) = self.record.lock() {
            rec.requested = true;
            rec.hints = root_hint_subjects.iter().map(|h| h.to_vec()).collect();
            rec.schemes = sigschemes.to_vec();
            rec.sent = chosen.is_ok();
            rec.not_sent = chosen.as_ref().err().copied();
        }
        if let Some(tx) = self.on_request.lock().ok().and_then(|mut t| t.take()) {
            // The receiver may be gone (no comparison wanted): nothing to tell then.
            let _ = tx.send(());
        }
        chosen.ok()
    }

    // True even without an identity: rustls must still consult `resolve`, which is how a
    // CertificateRequest becomes visible.
    fn has_certs(&self) -> bool {
        true
    }
}

/// Judges the server's chain as sent (parsed, never empty): the probe's verdict on it.
pub(super) type Judge<'a> = &'a (dyn Fn(&[Certificate]) -> Verdict + Sync);

/// The server's chain as sent, parsed, and `judge`'s verdict on it (none for an empty chain).
fn judged_chain(presented: Vec<CertificateDer<'static>>, judge: Judge<'_>) -> (Vec<CertInfo>, Option<Verdict>) {
    // Parsed once per process: the targets of a sweep (and both connections of a probe) mostly
    // meet the same chain.
    let chain: Vec<Certificate> = presented
        .into_iter()
        .filter_map(|der| crate::cert::parse_remembered(der.as_ref(), "server chain").ok())
        .collect();
    let verdict = (!chain.is_empty()).then(|| judge(&chain));
    (chain.into_iter().map(|c| c.info).collect(), verdict)
}

/// Run TLS (and then HTTP or a bounded read) over `stream`, filling `result`, with the server's
/// chain (`server_chain`) and `judge`'s verdict on it (`server_verify`). After a handshake that
/// finished, parsing and judging the chain wait for nothing but the chain, so they run while the
/// request is in flight (the records are the same as when they came first).
pub(super) async fn handshake_and_request(
    opts: &ProbeOptions,
    identity: Option<&ClientIdentity>,
    stream: TcpStream,
    result: &mut ProbeResult,
    attempt: Attempt,
    judge: Judge<'_>,
) {
    let provider = provider();
    let verifier = Arc::new(RecordingServerVerifier::new(provider.signature_verification_algorithms));
    let resolver = Arc::new(RecordingCertResolver {
        identity: identity.map(|i| i.certified.clone()),
        record: Mutex::new(CertRequestRecord::default()),
        on_request: Mutex::new(attempt.on_request),
    });
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = match opts.tls_version {
        Some(TlsVersionPin::Tls12) => vec![&rustls::version::TLS12],
        Some(TlsVersionPin::Tls13) => vec![&rustls::version::TLS13],
        None => vec![&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let config = match ClientConfig::builder_with_provider(provider.clone()).with_protocol_versions(&versions) {
        Ok(b) => {
            let mut c = b
                .dangerous()
                .with_custom_certificate_verifier(verifier.clone())
                .with_client_cert_resolver(resolver.clone());
            // A resumed TLS 1.3 session carries no CertificateRequest: every probe is a full handshake.
            c.resumption = Resumption::disabled();
            c.alpn_protocols = opts.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
            // SSLKEYLOGFILE, as curl and browsers honour it: the NSS key log, so Wireshark can
            // decrypt a capture of this probe. Does nothing when the variable is unset.
            c.key_log = Arc::new(rustls::KeyLogFile::new());
            c
        }
        Err(e) => {
            fail(result, Phase::Tls, TlsFailure::Other { detail: e.to_string() }, e.to_string());
            return;
        }
    };
    let name = match ServerName::try_from(opts.server_name().to_string()) {
        Ok(n) => n,
        Err(e) => {
            let msg = format!("server name {:?} is not valid: {e}", opts.server_name());
            fail(result, Phase::Tls, TlsFailure::Other { detail: msg.clone() }, msg);
            return;
        }
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let (stream, watch) = Watched::new(stream);
    let started = Instant::now();
    // A reset that hits our flight must not hide the alert the server sent before it.
    watch.read_past_write_resets(true);
    let connected =
        tokio::time::timeout(Duration::from_millis(opts.timeouts.tls_ms), connector.connect(name, stream)).await;
    watch.read_past_write_resets(false);
    result.timings_ms.tls = Some(super::ms(started.elapsed()));
    result.plain_http_reply = watch.facts().server_spoke_plain_http;

    let mut tls = match connected {
        Ok(Ok(s)) => Some(s),
        Ok(Err(e)) => {
            let (failure, msg) = classify_io(&e);
            let (failure, msg) = with_message_size(failure, msg, watch.facts().largest_clear_handshake);
            fail(result, Phase::Tls, failure, msg);
            None
        }
        Err(_) => {
            let msg = format!("handshake did not finish within {} ms", opts.timeouts.tls_ms);
            fail(result, Phase::Tls, TlsFailure::Timeout, msg);
            None
        }
    };

    // What was recorded during the handshake is valid whether it finished or not.
    let presented = verifier.presented_chain();
    if let Ok(rec) = resolver.record.lock() {
        result.client_cert_requested = rec.requested;
        result.acceptable_ca_names = rec.hints.iter().map(|h| hint_name(h)).collect();
        result.acceptable_ca_names_bytes = rec.hints.iter().map(|h| 2 + wire_name_len(h)).sum();
        result.requested_signature_schemes = rec.schemes.iter().map(|s| crate::text::signature_scheme(*s)).collect();
        result.client_cert_sent = rec.sent;
        result.client_cert_not_sent_reason =
            if rec.requested { rec.not_sent } else { Some(NotSentReason::NotRequested) };
    }

    let Some(stream) = tls.take() else {
        (result.server_chain, result.server_verify) = judged_chain(presented, judge);
        return;
    };
    let conn = stream.get_ref().1;
    result.tls.version = conn.protocol_version().map(version_name);
    result.tls.cipher_suite = conn.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite()));
    result.tls.key_exchange = conn.negotiated_key_exchange_group().map(|g| crate::text::named_group(g.name()));
    result.tls.alpn = conn.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned());
    result.handshake.ok = true;

    // Polled after the request's first step has yielded (hyper's connection task writes it).
    let judged = async {
        tokio::task::yield_now().await;
        judged_chain(presented, judge)
    };
    if opts.no_http {
        let ((), judged) = tokio::join!(settle(stream, opts, result), judged);
        (result.server_chain, result.server_verify) = judged;
    } else {
        let h2 = result.tls.alpn.as_deref() == Some("h2");
        let started = Instant::now();
        // TLS 1.3 with a CertificateRequest: the verdict on our certificate comes after Finished.
        let settle: Option<super::http::Settle> =
            if attempt.settle && result.client_cert_requested && result.tls.version.as_deref() == Some("TLSv1.3") {
                let at_connect = watch.facts().server_records;
                let w = watch.clone();
                let arrived: Box<dyn Fn() -> bool + Send> = Box::new(move || w.facts().server_records > at_connect);
                Some((arrived, settle_wait(result.timings_ms.tcp, opts.timeouts.settle_ms)))
            } else {
                None
            };
        let (outcome, judged) = tokio::join!(super::http::request(stream, h2, opts, settle), judged);
        result.timings_ms.http = Some(super::ms(started.elapsed()));
        (result.server_chain, result.server_verify) = judged;
        match outcome {
            Ok(http) => result.http = Some(http),
            Err(super::http::HttpFailure::Tls(e)) => rejected_after_handshake(result, &e),
            Err(super::http::HttpFailure::Failed { kind, message, chain }) => {
                result.http_error = Some(message);
                result.http_failure = Some(kind);
                result.http_error_chain = chain;
                result.failed_phase = Some(Phase::Http);
            }
        }
    }
    result.late_cert_request = late_request_seen(&watch.facts(), result.tls.version.as_deref());
}

/// TLS 1.2 only: record headers are in clear, so a handshake record after the server's Finished
/// is a HelloRequest. (A TLS 1.3 post-handshake CertificateRequest is encrypted, and rustls does
/// not offer PHA, so a server never sends one to this probe.)
fn late_request_seen(facts: &RecordFacts, version: Option<&str>) -> Option<LateCertRequest> {
    if version != Some("TLSv1.2") || !facts.late_handshake_tls12() {
        return None;
    }
    let when = match facts.client_app_records_before_late {
        Some(n) if n > 0 => LateWhen::AfterRequest,
        _ => LateWhen::AfterHandshake,
    };
    Some(LateCertRequest { how: LateMethod::Renegotiation, when })
}

/// With `--no-http`: a bounded read, so a TLS 1.3 rejection that follows the handshake is seen.
async fn settle(
    mut stream: tokio_rustls::client::TlsStream<Watched<TcpStream>>,
    opts: &ProbeOptions,
    result: &mut ProbeResult,
) {
    let mut buf = [0u8; 512];
    // Data, a clean close, or silence: the handshake stands.
    if let Ok(Err(e)) =
        tokio::time::timeout(Duration::from_millis(opts.timeouts.settle_ms), stream.read(&mut buf)).await
    {
        if let Some(re) = rustls_error_of(&e).cloned() {
            rejected_after_handshake(result, &re);
        }
    }
}

fn rejected_after_handshake(result: &mut ProbeResult, e: &rustls::Error) {
    let (failure, msg) = classify_rustls(e);
    result.handshake.ok = false;
    result.handshake.rejected_after_handshake = true;
    result.handshake.alert = match &failure {
        TlsFailure::AlertReceived { alert } => Some(alert.clone()),
        _ => None,
    };
    result.handshake.error = Some(msg);
    result.handshake.failure = Some(failure);
    result.failed_phase = Some(Phase::Tls);
}

fn fail(result: &mut ProbeResult, phase: Phase, failure: TlsFailure, msg: String) {
    result.handshake = Handshake {
        ok: false,
        alert: match &failure {
            TlsFailure::AlertReceived { alert } => Some(alert.clone()),
            _ => None,
        },
        error: Some(msg),
        failure: Some(failure),
        rejected_after_handshake: false,
    };
    result.failed_phase = Some(phase);
}

/// The length of a hint as a DER Name on the wire: rustls may hand it over without its SEQUENCE header.
fn wire_name_len(der: &[u8]) -> usize {
    let whole = der.first() == Some(&0x30) && dotnet_name_from_der(der).is_some();
    if whole {
        return der.len();
    }
    let header = match der.len() {
        0..=0x7f => 2,
        0x80..=0xff => 3,
        _ => 4,
    };
    der.len() + header
}

/// The acceptable-CA hint as a .NET name; rustls hands over the Name with or without its SEQUENCE.
pub(crate) fn hint_name(der: &[u8]) -> String {
    if let Some(n) = dotnet_name_from_der(der) {
        return n;
    }
    let mut wrapped = vec![0x30];
    let len = der.len();
    if len < 0x80 {
        wrapped.push(len as u8);
    } else if len <= 0xff {
        wrapped.extend([0x81, len as u8]);
    } else {
        wrapped.extend([0x82, (len >> 8) as u8, (len & 0xff) as u8]);
    }
    wrapped.extend_from_slice(der);
    dotnet_name_from_der(&wrapped).unwrap_or_else(|| format!("#{}", hex::encode_upper(der)))
}

pub fn version_name(v: rustls::ProtocolVersion) -> String {
    crate::text::tls_version(v)
}

/// The rustls error inside an I/O error. tokio-rustls wraps it as `InvalidData`, and
/// `io::Error::source()` skips the wrapped error, so it has to be looked for with `get_ref`.
pub fn rustls_error_of(e: &std::io::Error) -> Option<&rustls::Error> {
    e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

/// The first rustls error in an error's source chain, looking inside each I/O error on the way
/// (hyper reports a TLS failure as its own error whose source is tokio-rustls' `io::Error`).
pub fn rustls_error_in_chain<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(tls) = err.downcast_ref::<std::io::Error>().and_then(rustls_error_of) {
            return Some(tls);
        }
        current = err.source();
    }
    None
}

/// Classify a handshake I/O error into the typed failure and a message.
pub fn classify_io(e: &std::io::Error) -> (TlsFailure, String) {
    if let Some(re) = rustls_error_of(e).cloned() {
        return classify_rustls(&re);
    }
    use std::io::ErrorKind;
    let failure = match e.kind() {
        ErrorKind::UnexpectedEof => TlsFailure::ConnectionClosed,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
            TlsFailure::ConnectionReset
        }
        ErrorKind::TimedOut => TlsFailure::Timeout,
        _ => TlsFailure::Other { detail: e.to_string() },
    };
    let msg = match failure {
        TlsFailure::ConnectionClosed => "the server closed the connection during the handshake (no alert)".to_string(),
        TlsFailure::ConnectionReset => format!("the connection was reset during the handshake ({e})"),
        _ => e.to_string(),
    };
    (failure, msg)
}

/// Why a handshake message over rustls' limit fails, in the words every view shows (the size
/// itself is added by [`with_message_size`] when the wire showed it).
pub const HANDSHAKE_MESSAGE_TOO_LARGE: &str = "the server sent a handshake message (its certificate chain or \
CertificateRequest) larger than the 64 KiB (65535-byte) limit of this tool's TLS library (rustls): valid TLS, \
but too large for it; most TLS clients have a similar limit (OpenSSL and curl take a certificate chain of up \
to 100 KiB by default, so they may still connect), so keep the chain or the CA list shorter";

/// The largest handshake message rustls takes (its header's length), as it enforces it.
pub const HANDSHAKE_MESSAGE_LIMIT: u32 = 0xffff;

/// The too-large words with the message's name and size when the server sent it in clear (TLS
/// 1.2); in TLS 1.3 the message is encrypted, so only that it is over the limit is known.
pub fn handshake_message_too_large(seen: Option<(u8, u32)>) -> String {
    let what = match seen {
        Some((11, len)) if len > HANDSHAKE_MESSAGE_LIMIT => format!("its Certificate message, {len} bytes"),
        Some((13, len)) if len > HANDSHAKE_MESSAGE_LIMIT => format!("its CertificateRequest, {len} bytes"),
        Some((ty, len)) if len > HANDSHAKE_MESSAGE_LIMIT => format!("handshake message type {ty}, {len} bytes"),
        _ => "its certificate chain or CertificateRequest, over 65535 bytes; the exact size is encrypted in \
              TLS 1.3, and --tls 1.2 shows it if the server speaks 1.2"
            .to_string(),
    };
    format!(
        "the server sent a handshake message ({what}) larger than the 64 KiB (65535-byte) limit of this tool's \
         TLS library (rustls): valid TLS, but too large for it; most TLS clients have a similar limit (OpenSSL \
         and curl take a certificate chain of up to 100 KiB by default, so they may still connect), so keep \
         the chain or the CA list shorter"
    )
}

/// Name the size of a too-large handshake message when the record watch saw its header.
pub(super) fn with_message_size(failure: TlsFailure, msg: String, seen: Option<(u8, u32)>) -> (TlsFailure, String) {
    if msg != HANDSHAKE_MESSAGE_TOO_LARGE {
        return (failure, msg);
    }
    let detail = handshake_message_too_large(seen);
    (TlsFailure::Other { detail: detail.clone() }, detail)
}

/// Classify a rustls error by its variant (never by its text).
pub fn classify_rustls(e: &rustls::Error) -> (TlsFailure, String) {
    use rustls::InvalidMessage::{HandshakePayloadTooLarge, MessageTooLarge};
    if let rustls::Error::InvalidMessage(HandshakePayloadTooLarge | MessageTooLarge) = e {
        // Valid TLS that rustls will not take: a Certificate (a long chain, a huge certificate) or
        // CertificateRequest (a long CA list) message above its limit. Not corruption.
        let detail = HANDSHAKE_MESSAGE_TOO_LARGE.to_string();
        return (TlsFailure::Other { detail: detail.clone() }, detail);
    }
    let failure = match e {
        rustls::Error::AlertReceived(a) => TlsFailure::AlertReceived { alert: alert_name(*a) },
        rustls::Error::PeerIncompatible(p) => {
            TlsFailure::PeerIncompatible { detail: crate::text::variant_words(&format!("{p:?}")) }
        }
        rustls::Error::PeerMisbehaved(p) => {
            TlsFailure::PeerMisbehaved { detail: crate::text::variant_words(&format!("{p:?}")) }
        }
        rustls::Error::InappropriateMessage { .. } | rustls::Error::InappropriateHandshakeMessage { .. } => {
            TlsFailure::InappropriateMessage { detail: e.to_string() }
        }
        rustls::Error::InvalidMessage(m) => {
            TlsFailure::InvalidMessage { detail: crate::text::variant_words(&format!("{m:?}")) }
        }
        other => TlsFailure::Other { detail: other.to_string() },
    };
    (failure, e.to_string())
}

/// The TLS registry name of an alert (RFC 8446 section 6 and IANA), as openssl prints them.
pub fn alert_name(a: AlertDescription) -> String {
    let code = u8::from(a);
    let name = match code {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "encrypted_client_hello_required",
        _ => return format!("alert_{code}"),
    };
    name.to_string()
}

/// How long to wait, after a TLS 1.3 handshake with a CertificateRequest, for the server's verdict on
/// our certificate before writing the request. A rejecting server sends its alert one round trip
/// after our Finished (plus its own verification time); writing into a socket it is closing draws a
/// TCP reset that makes the kernel drop the unread alert. The TCP connect time is the round trip we
/// measured: wait a few of them (never under 50 ms, never over `settle_ms` or 1 s), so a healthy
/// server that sends no session ticket costs a few round trips, not a fixed second.
pub fn settle_wait(tcp_connect_ms: Option<f64>, settle_ms: u64) -> std::time::Duration {
    let rtt = tcp_connect_ms.unwrap_or(100.0).max(0.0);
    // Not `clamp`: a `--timeout` below 50 ms makes the upper bound the smaller one (clamp panics).
    let wait = (rtt * 4.0 + 25.0).max(50.0).min(settle_ms.min(1_000) as f64);
    std::time::Duration::from_millis(wait as u64)
}

#[cfg(test)]
mod settle_tests {
    use super::settle_wait;
    use std::time::Duration;

    #[test]
    fn the_wait_follows_the_round_trip_within_its_bounds() {
        assert_eq!(settle_wait(Some(0.2), 1_000), Duration::from_millis(50));
        assert_eq!(settle_wait(Some(50.0), 1_000), Duration::from_millis(225));
        assert_eq!(settle_wait(Some(900.0), 1_000), Duration::from_millis(1_000));
        assert_eq!(settle_wait(Some(900.0), 300), Duration::from_millis(300));
        assert_eq!(settle_wait(None, 1_000), Duration::from_millis(425));
        // `--timeout 0.03` caps the settle time below the 50 ms floor: the cap wins, no panic.
        assert_eq!(settle_wait(Some(0.2), 30), Duration::from_millis(30));
        assert_eq!(settle_wait(None, 0), Duration::from_millis(0));
    }
}
