//! A server-certificate verifier for probes: records the chain exactly as sent and lets the
//! handshake continue, so a bad server certificate does not hide what happens with the client one.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Records the server's chain; never refuses it. Signatures over the handshake are still checked
/// for real, so a peer that cannot prove it holds the certificate's key still fails.
#[derive(Debug)]
pub struct RecordingServerVerifier {
    algorithms: WebPkiSupportedAlgorithms,
    seen: Arc<Mutex<Vec<CertificateDer<'static>>>>,
}

impl RecordingServerVerifier {
    pub fn new(algorithms: WebPkiSupportedAlgorithms) -> Self {
        RecordingServerVerifier { algorithms, seen: Arc::new(Mutex::new(Vec::new())) }
    }

    /// The chain as the server sent it (leaf first), empty if no Certificate message arrived.
    pub fn presented_chain(&self) -> Vec<CertificateDer<'static>> {
        self.seen.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl ServerCertVerifier for RecordingServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.clear();
            seen.push(end_entity.clone().into_owned());
            seen.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
