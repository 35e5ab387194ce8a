//! `--forward-cert HEADER[=FORMAT]`: the client certificate also goes in a request header, the way
//! a TLS-terminating front end (App Service, Application Gateway, nginx) forwards it, and the
//! policy that builds an `X509Certificate2` from that header gets `Verify()` answers for it.
//!
//! The forwarded certificate is judged by the same code as a presented one (chain to `--client-ca`
//! or, on tiers without a CA store, the public roots; revocation fetched the same way, `--offline`
//! skipping it), with one difference that is the front ends' own: they forward the certificate
//! alone, so its chain is built from it and the uploaded CA certificates, never from the
//! intermediates the client sent in the handshake.

use super::load::Loaded;
use super::run::{client_verify, record_revocation, revocation_chain, tier_client_verify};
use crate::cert::Certificate;
use crate::diagnose::ClientVerify;
use crate::error::{Error, Result};
use crate::material::forward::{ForwardFormat, ForwardSpec};
use crate::policy::ForwardedVerify;
use crate::probe::Header;
use crate::session::ForwardedCert;

/// How a forwarded certificate's chain is built, said once in the evaluation's notes.
pub const CHAIN_NOTE: &str = "the forwarded certificate is chained with the uploaded CA certificates and, \
as .NET does, an intermediate downloaded from its caIssuers URL when one is missing";

/// The spec a target's material names, parsed; `None` without `--forward-cert`.
pub fn spec(loaded_spec: Option<&str>) -> Result<Option<ForwardSpec>> {
    loaded_spec.map(ForwardSpec::parse).transpose()
}

/// The certificate a probe forwards: the leaf of `--cert`/`--pfx` (with or without its key).
pub fn probe_leaf(loaded: &Loaded) -> Result<Certificate> {
    let chain = match &loaded.identity {
        Some(id) => id.chain.as_slice(),
        None => loaded.keyless_chain.as_slice(),
    };
    chain
        .iter()
        .find(|c| !c.info.is_ca)
        .or_else(|| chain.first())
        .cloned()
        .ok_or_else(|| Error::Usage("--forward-cert needs the client certificate: give --cert or --pfx".into()))
}

/// Without `--forward-cert`: the first `-H` header whose value is a certificate in one of the
/// formats (copied from a front end's log, say). It is already on the wire; it is judged like a
/// forwarded certificate so that `Verify()` on what the policy builds from it is known.
pub fn from_headers(headers: &[Header]) -> Option<(ForwardSpec, Certificate)> {
    headers.iter().find_map(|h| {
        let (format, der) = ForwardFormat::decode(&h.value)?;
        let cert = Certificate::from_der(der, &format!("the {} header", h.name)).ok()?;
        Some((ForwardSpec { header: h.name.clone(), format }, cert))
    })
}

/// The header as the front end would write it.
pub fn header(spec: &ForwardSpec, leaf: &Certificate) -> Header {
    Header { name: spec.header.clone(), value: spec.format.encode(&leaf.der) }
}

/// `Verify()` of the forwarded certificate alone, before revocation, and the chain whose
/// revocation it checks (when the chain verifies).
fn chain_verdict(loaded: &Loaded, leaf: &Certificate, uploaded: (&[Certificate], &[String])) -> Prepared {
    let alone = [leaf.info.clone()];
    let (verify, built) = match tier_client_verify(loaded, &alone) {
        Some((cv, built)) => (Some(cv), built),
        None => {
            // Front ends forward the leaf alone, so a missing intermediate comes from caIssuers or nowhere.
            let (full, issuer_fetch) = if uploaded.0.is_empty() {
                (vec![leaf.clone()], None)
            } else {
                crate::revocation::complete_chain_blocking(
                    std::slice::from_ref(leaf),
                    uploaded.0,
                    loaded.fetcher.as_deref(),
                )
            };
            let built: Vec<_> = full.into_iter().map(|c| c.info).collect();
            let cv = client_verify(&built, uploaded.0, uploaded.1).map(|cv| ClientVerify { issuer_fetch, ..cv });
            (cv, built)
        }
    };
    let chain = verify.as_ref().and_then(|v| revocation_chain(v, &built, uploaded.0));
    Prepared { verify, chain }
}

struct Prepared {
    verify: Option<ClientVerify>,
    chain: Option<Vec<Certificate>>,
}

fn record(spec: &ForwardSpec, leaf: &Certificate, verify: Option<ClientVerify>) -> ForwardedCert {
    ForwardedCert {
        header: spec.header.clone(),
        format: spec.format,
        thumbprint: leaf.info.thumbprint_sha1.clone(),
        subject: leaf.info.subject.clone(),
        verify,
    }
}

/// Judge the forwarded certificate, fetching its revocation data on the async runtime (probe).
pub async fn judge(
    loaded: &Loaded,
    spec: &ForwardSpec,
    leaf: &Certificate,
    uploaded: (&[Certificate], &[String]),
) -> ForwardedCert {
    let Prepared { mut verify, chain } = chain_verdict(loaded, leaf, uploaded);
    if let (Some(v), Some(chain)) = (verify.as_mut(), chain) {
        let now = time::OffsetDateTime::now_utc();
        record_revocation(v, crate::revocation::check_chain(&chain, loaded.fetcher.as_deref(), now).await);
    }
    record(spec, leaf, verify)
}

/// [`judge`] off the async runtime (inspect).
pub fn judge_blocking(
    loaded: &Loaded,
    spec: &ForwardSpec,
    leaf: &Certificate,
    uploaded: (&[Certificate], &[String]),
) -> ForwardedCert {
    let Prepared { mut verify, chain } = chain_verdict(loaded, leaf, uploaded);
    if let (Some(v), Some(chain)) = (verify.as_mut(), chain) {
        let now = time::OffsetDateTime::now_utc();
        record_revocation(v, crate::revocation::check_chain_blocking(&chain, loaded.fetcher.as_deref(), now));
    }
    record(spec, leaf, verify)
}

/// What the policy evaluator needs of it.
pub fn policy_view(f: &ForwardedCert) -> ForwardedVerify<'_> {
    ForwardedVerify {
        header: f.header.clone(),
        thumbprint: f.thumbprint.clone(),
        verify_ok: f.verify.as_ref().and_then(ClientVerify::verify_ok),
        verify_no_revocation_ok: f.verify.as_ref().map(|v| v.verdict.ok),
        revocation: f.verify.as_ref().and_then(|v| v.revocation_answer.as_ref()),
    }
}
