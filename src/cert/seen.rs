//! Certificates parsed once per process: a sweep's targets mostly present the same server chain,
//! and every connection of every target parsed it again. The model is a pure function of the DER
//! and of the time, which enters only as `days_left`, so a remembered certificate is handed out
//! with `days_left` worked out again for the moment it is asked for: the same model a fresh
//! parse would give. The key is the exact DER.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use time::OffsetDateTime;

use super::Certificate;
use crate::error::Result;

/// At most this many certificates are kept; the table is emptied when it is full.
const CAPACITY: usize = 64;

/// A parsed certificate and its notAfter, by DER.
type Table = HashMap<Vec<u8>, (Certificate, OffsetDateTime)>;

static SEEN: LazyLock<Mutex<Table>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// [`Certificate::from_der`] for a certificate that may have been parsed before (a server's
/// chain). A DER that does not parse is not remembered: the error is made afresh each time.
pub fn parse_remembered(der: &[u8], origin: &str) -> Result<Certificate> {
    let now = OffsetDateTime::now_utc();
    if let Some((cert, not_after)) = SEEN.lock().ok().and_then(|t| t.get(der).cloned()) {
        let mut cert = cert;
        cert.info.days_left = (not_after - now).whole_days();
        return Ok(cert);
    }
    let cert = Certificate::from_der(der.to_vec(), origin)?;
    // Remembered only when the days can be counted again exactly as the parse counted them.
    let recount = cert.info.not_after_time().filter(|t| (*t - now).whole_days() == cert.info.days_left);
    if let Some(not_after) = recount {
        if let Ok(mut t) = SEEN.lock() {
            if t.len() >= CAPACITY {
                t.clear();
            }
            t.insert(der.to_vec(), (cert.clone(), not_after));
        }
    }
    Ok(cert)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_certificate_is_the_model_a_fresh_parse_gives() {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(vec!["seen.test".into()]).expect("params");
        params.not_after = rcgen::date_time_ymd(2031, 1, 1);
        let der = params.self_signed(&key).expect("cert").der().to_vec();
        let first = parse_remembered(&der, "test").expect("parse");
        let again = parse_remembered(&der, "test").expect("parse");
        let fresh = Certificate::from_der(der.clone(), "test").expect("parse");
        assert_eq!(first.info, fresh.info);
        assert_eq!(again.info, fresh.info);
        assert_eq!(again.der, der);
        // A remembered entry whose days were counted at another time gets today's count.
        if let Ok(mut t) = SEEN.lock() {
            if let Some((c, _)) = t.get_mut(&der) {
                c.info.days_left = -5;
            }
        }
        assert_eq!(parse_remembered(&der, "test").expect("parse").info.days_left, fresh.info.days_left);
        let bad = parse_remembered(b"not a certificate", "server chain").map(|_| ()).expect_err("not DER").to_string();
        let bad_fresh =
            Certificate::from_der(b"not a certificate".to_vec(), "server chain").map(|_| ()).expect_err("not DER");
        assert_eq!(bad, bad_fresh.to_string());
    }
}
