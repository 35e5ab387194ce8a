//! OCSP (RFC 6960) with the RustCrypto `x509-ocsp` types: build the request for one certificate,
//! and judge the responder's answer — signed by the issuer or by a responder certificate the
//! issuer delegated (`OCSPSigning`), naming this certificate, current.

use sha1::{Digest, Sha1};
use time::OffsetDateTime;
use x509_cert::der::asn1::{Null, OctetString};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode, Encode};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request, ResponderId,
    TbsRequest, Version,
};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::{reason_name, SourceOutcome, UnknownWhy};
use crate::cert::rfc3339;

const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const ID_AD_OCSP: &str = "1.3.6.1.5.5.7.48.1";
const ID_PKIX_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// How far a responder's clock may run ahead of ours before its answer counts as not yet valid.
const CLOCK_SKEW_SECS: i64 = 300;

/// The OCSP responder URLs in the certificate's authorityInfoAccess, in order.
pub(super) fn responders(cert: &X509Certificate<'_>) -> Vec<String> {
    super::aia::access_urls(cert, ID_AD_OCSP)
}

/// The CertID (SHA-1, as every responder accepts) and the DER of an unsigned request for it.
pub(super) fn request(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> Result<(CertId, Vec<u8>), String> {
    let cert_id = CertId {
        hash_algorithm: AlgorithmIdentifierOwned { oid: ID_SHA1, parameters: Some(Null.into()) },
        issuer_name_hash: octets(Sha1::digest(issuer.subject().as_raw()).to_vec())?,
        issuer_key_hash: octets(Sha1::digest(&issuer.public_key().subject_public_key.data).to_vec())?,
        serial_number: SerialNumber::new(cert.raw_serial()).map_err(|e| format!("serial number: {e}"))?,
    };
    let request = OcspRequest {
        tbs_request: TbsRequest {
            version: Version::V1,
            requestor_name: None,
            request_list: vec![Request { req_cert: cert_id.clone(), single_request_extensions: None }],
            request_extensions: None,
        },
        optional_signature: None,
    };
    let der = request.to_der().map_err(|e| format!("cannot encode the OCSP request: {e}"))?;
    Ok((cert_id, der))
}

fn octets(v: Vec<u8>) -> Result<OctetString, String> {
    OctetString::new(v).map_err(|e| e.to_string())
}

fn unknown(why: UnknownWhy) -> SourceOutcome {
    SourceOutcome::Unknown { why }
}

fn malformed(problem: impl Into<String>) -> SourceOutcome {
    unknown(UnknownWhy::Malformed { problem: problem.into() })
}

fn time_of(t: &x509_ocsp::OcspGeneralizedTime) -> Option<OffsetDateTime> {
    let secs = i64::try_from(t.0.to_unix_duration().as_secs()).ok()?;
    OffsetDateTime::from_unix_timestamp(secs).ok()
}

pub(super) fn judge(
    cert_id: &CertId,
    issuer: &X509Certificate<'_>,
    bytes: &[u8],
    now: OffsetDateTime,
) -> SourceOutcome {
    let response = match OcspResponse::from_der(bytes) {
        Ok(r) => r,
        Err(e) => return malformed(format!("not an OCSP response ({e})")),
    };
    if response.response_status != OcspResponseStatus::Successful {
        return unknown(UnknownWhy::ResponderError { status: status_name(response.response_status).into() });
    }
    let Some(body) = response.response_bytes else { return malformed("a successful OCSP response without a body") };
    if body.response_type != ID_PKIX_OCSP_BASIC {
        return malformed(format!("OCSP response type {} (only the basic type exists)", body.response_type));
    }
    let basic = match BasicOcspResponse::from_der(body.response.as_bytes()) {
        Ok(b) => b,
        Err(e) => return malformed(format!("not a basic OCSP response ({e})")),
    };
    if let Err(why) = check_signature(&basic, issuer, now) {
        return unknown(why);
    }
    let serial = cert_id.serial_number.as_bytes();
    let Some(single) = basic.tbs_response_data.responses.iter().find(|s| {
        s.cert_id.serial_number.as_bytes() == serial
            && s.cert_id.hash_algorithm.oid == ID_SHA1
            && s.cert_id.issuer_name_hash == cert_id.issuer_name_hash
            && s.cert_id.issuer_key_hash == cert_id.issuer_key_hash
    }) else {
        return unknown(UnknownWhy::NotAnswered);
    };
    let Some(this_update) = time_of(&single.this_update) else { return malformed("thisUpdate out of range") };
    if this_update > now + time::Duration::seconds(CLOCK_SKEW_SECS) {
        return unknown(UnknownWhy::NotYetValid { this_update: rfc3339(this_update) });
    }
    let next_update = single.next_update.as_ref().and_then(time_of);
    if let Some(next) = next_update.filter(|n| *n < now) {
        return unknown(UnknownWhy::Stale { next_update: rfc3339(next) });
    }
    match &single.cert_status {
        CertStatus::Good(_) => {
            SourceOutcome::Good { this_update: rfc3339(this_update), next_update: next_update.map(rfc3339) }
        }
        CertStatus::Revoked(info) => SourceOutcome::Revoked {
            revoked_at: time_of(&info.revocation_time).map(rfc3339).unwrap_or_default(),
            reason: info.revocation_reason.map(|r| reason_name(r as u8)),
        },
        CertStatus::Unknown(_) => unknown(UnknownWhy::ResponderSaysUnknown),
    }
}

/// The response must be signed by the issuer, or by a certificate the issuer signed for OCSP
/// signing that the response carries and that is valid now.
fn check_signature(
    basic: &BasicOcspResponse,
    issuer: &X509Certificate<'_>,
    now: OffsetDateTime,
) -> Result<(), UnknownWhy> {
    let tbs = basic.tbs_response_data.to_der().map_err(|e| UnknownWhy::Malformed { problem: e.to_string() })?;
    let alg_der = basic.signature_algorithm.to_der().map_err(|e| UnknownWhy::Malformed { problem: e.to_string() })?;
    let (_, alg) = x509_parser::x509::AlgorithmIdentifier::from_der(&alg_der)
        .map_err(|e| UnknownWhy::Malformed { problem: e.to_string() })?;
    let sig_bytes = basic.signature.raw_bytes();
    let sig = x509_parser::der_parser::asn1_rs::BitString::new(0, sig_bytes);
    let names_signer = |c: &X509Certificate<'_>| match &basic.tbs_response_data.responder_id {
        ResponderId::ByName(name) => name.to_der().is_ok_and(|d| d == c.subject().as_raw()),
        ResponderId::ByKey(hash) => Sha1::digest(&c.public_key().subject_public_key.data).as_slice() == hash.as_bytes(),
    };
    if names_signer(issuer) {
        return x509_parser::verify::verify_signature(issuer.public_key(), &alg, &sig, &tbs)
            .map_err(|_| UnknownWhy::BadSignature);
    }
    let delegated: Vec<Vec<u8>> = basic.certs.iter().flatten().filter_map(|c| c.to_der().ok()).collect();
    for der in &delegated {
        let Ok((_, responder)) = X509Certificate::from_der(der) else { continue };
        if !names_signer(&responder) {
            continue;
        }
        let issued_by_issuer = responder.issuer().as_raw() == issuer.subject().as_raw()
            && crate::cert::signature::signed_by(&responder, Some(issuer.public_key()));
        let for_ocsp = matches!(responder.extended_key_usage(), Ok(Some(eku)) if eku.value.ocsp_signing);
        let valid =
            responder.validity().not_before.to_datetime() <= now && now <= responder.validity().not_after.to_datetime();
        if !(issued_by_issuer && for_ocsp && valid) {
            return Err(UnknownWhy::SignerNotAllowed);
        }
        return x509_parser::verify::verify_signature(responder.public_key(), &alg, &sig, &tbs)
            .map_err(|_| UnknownWhy::BadSignature);
    }
    Err(UnknownWhy::SignerNotAllowed)
}

fn status_name(s: OcspResponseStatus) -> &'static str {
    match s {
        OcspResponseStatus::Successful => "successful",
        OcspResponseStatus::MalformedRequest => "malformedRequest",
        OcspResponseStatus::InternalError => "internalError",
        OcspResponseStatus::TryLater => "tryLater",
        OcspResponseStatus::SigRequired => "sigRequired",
        OcspResponseStatus::Unauthorized => "unauthorized",
    }
}
