//! The openssl emulation proper: building the chain, then `check_extensions`, `check_id` and
//! `internal_verify` in openssl's order, first error wins.

use super::code;
use super::host::host_matches;
use super::node::*;
use super::signature::{akid_matches, check_signature, sig_alg_matches, SigCheck};
use super::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct VerifyError {
    pub(super) code: i32,
    pub(super) depth: usize,
}

fn fail(code: i32, depth: usize) -> std::result::Result<(), VerifyError> {
    Err(VerifyError { code, depth })
}

/// openssl's default verify depth is 100; it builds one further to tell "too long".
pub(super) const MAX_DEPTH: usize = 101;

pub(super) struct Emulation<'a> {
    pub(super) nodes: &'a [&'a Node],
    pub(super) now: i64,
    pub(super) role: Role,
    pub(super) host: Option<&'a str>,
}

impl Emulation<'_> {
    /// openssl's `check_issued` (`ossl_x509_likely_issued`): names, AKID, key type. A name-and-key
    /// anchor has no key identifier to compare, so its signature decides.
    pub(super) fn issued_by(&self, subject: usize, issuer: usize) -> bool {
        let (s, i) = (&self.nodes[subject], &self.nodes[issuer]);
        if s.is_anchor() || i.subject != s.issuer {
            return false;
        }
        if i.is_anchor() {
            return check_signature(s, &i.spki) == SigCheck::Valid;
        }
        akid_matches(i, s.akid.as_ref()) && sig_alg_matches(&i.spki, &s.sig_oid)
    }

    /// `get0_best_issuer_sk`: the first candidate that issued `x` and is valid now, else the one
    /// expiring last.
    pub(super) fn best_issuer(&self, candidates: &[usize], x: usize, chain: &[usize], no_dup: bool) -> Option<usize> {
        let mut fallback: Option<usize> = None;
        for &c in candidates {
            if no_dup && !(self.nodes[x].self_issued && chain.len() == 1) && chain.iter().any(|&k| self.same(k, c)) {
                continue;
            }
            if !self.issued_by(x, c) {
                continue;
            }
            if self.nodes[c].valid_at(self.now) {
                return Some(c);
            }
            if fallback.is_none_or(|f| self.nodes[c].not_after > self.nodes[f].not_after) {
                fallback = Some(c);
            }
        }
        fallback
    }

    /// `X509_cmp`: the same certificate (for anchors: same name and key).
    pub(super) fn same(&self, a: usize, b: usize) -> bool {
        let (x, y) = (&self.nodes[a], &self.nodes[b]);
        if x.is_anchor() || y.is_anchor() {
            return x.subject_raw == y.subject_raw && x.spki.raw == y.spki.raw;
        }
        x.der == y.der
    }

    /// `check_trust` without auxiliary trust settings: a self-signed certificate from the store
    /// at or above `from` makes the chain trusted.
    pub(super) fn check_trust(&self, chain: &[usize], from: usize) -> bool {
        chain.iter().skip(from).any(|&i| self.nodes[i].is_trusted() && self.nodes[i].self_signed)
    }

    /// `build_chain` with openssl's defaults (trusted first, no partial chains). Returns the chain
    /// (node indices, leaf first) and the chain-building error.
    pub(super) fn build_chain(
        &self,
        untrusted: &[usize],
        trusted: &[usize],
    ) -> (Vec<usize>, std::result::Result<(), VerifyError>) {
        let mut chain = vec![0usize];
        let mut num_untrusted = 1usize;
        let mut pool = untrusted.to_vec();
        let mut search_untrusted = !pool.is_empty();
        let mut search_trusted = true;
        let mut is_trusted = false;

        while search_untrusted || search_trusted {
            if search_trusted {
                let num = chain.len();
                let curr = chain[num - 1];
                // Trusted lookups do not skip certificates already in the chain.
                let found = if num > MAX_DEPTH { None } else { self.best_issuer(trusted, curr, &[], false) };
                if let Some(issuer) = found {
                    let curr_ss = self.nodes[curr].self_signed;
                    let (accepted, ss, from) = if !curr_ss {
                        chain.push(issuer);
                        (true, self.nodes[issuer].self_signed, num)
                    } else if self.same(curr, issuer) {
                        // A self-signed certificate that is itself in the store becomes the anchor.
                        chain[num - 1] = issuer;
                        num_untrusted = num - 1;
                        (true, true, num - 1)
                    } else {
                        // A self-signed look-alike of a trusted certificate is not trusted.
                        (false, curr_ss, num)
                    };
                    if accepted {
                        search_untrusted = false;
                        is_trusted = self.check_trust(&chain, from);
                        if is_trusted {
                            break;
                        }
                        if !ss {
                            continue;
                        }
                    }
                }
                if !search_untrusted {
                    break;
                }
            }
            if search_untrusted {
                let num = chain.len();
                let curr = chain[num - 1];
                let found = if self.nodes[curr].self_signed || num > MAX_DEPTH {
                    None
                } else {
                    self.best_issuer(&pool, curr, &chain, true)
                };
                match found {
                    None => {
                        search_untrusted = false;
                        search_trusted = true;
                    }
                    Some(issuer) => {
                        pool.retain(|&p| p != issuer);
                        chain.push(issuer);
                        num_untrusted += 1;
                    }
                }
            }
        }

        if is_trusted {
            return (chain, Ok(()));
        }
        let num = chain.len();
        let top = num - 1;
        let err = if num > MAX_DEPTH {
            code::CERT_CHAIN_TOO_LONG
        } else if self.nodes[chain[top]].self_signed {
            if num == 1 {
                code::DEPTH_ZERO_SELF_SIGNED_CERT
            } else {
                code::SELF_SIGNED_CERT_IN_CHAIN
            }
        } else if num_untrusted < num {
            code::UNABLE_TO_GET_ISSUER_CERT
        } else {
            code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        };
        (chain, fail(err, top))
    }

    /// `check_extensions`: unhandled critical extensions, CA-ness above the leaf, purpose, path length.
    pub(super) fn check_extensions(&self, chain: &[usize]) -> std::result::Result<(), VerifyError> {
        let num = chain.len();
        let mut plen = 0u64;
        for (i, &n) in chain.iter().enumerate() {
            let x = &self.nodes[n];
            if x.is_anchor() {
                continue;
            }
            if x.unhandled_critical {
                return fail(code::UNHANDLED_CRITICAL_EXTENSION, i);
            }
            if i > 0 {
                let kind = x.ca_kind();
                // Intermediates must be real CAs; the top one may be a v1 or keyUsage-only CA.
                if kind == 0 || (i + 1 < num && kind != 1) {
                    return fail(code::INVALID_CA, i);
                }
            }
            if x.purpose(self.role, i > 0) == 0 {
                return fail(code::INVALID_PURPOSE, i);
            }
            if let Some((_, Some(max))) = x.basic_constraints {
                if i > 1 && plen > u64::from(max) {
                    return fail(code::PATH_LENGTH_EXCEEDED, i);
                }
            }
            if i > 0 && !x.self_issued {
                plen += 1;
            }
        }
        Ok(())
    }

    /// `check_id`: the hostname (or IP address) the caller connected to.
    pub(super) fn check_id(&self, chain: &[usize]) -> std::result::Result<(), VerifyError> {
        let Some(host) = self.host else { return Ok(()) };
        let leaf = &self.nodes[chain[0]];
        if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() {
            let want = match ip {
                std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
                std::net::IpAddr::V6(v6) => v6.octets().to_vec(),
            };
            if leaf.ip_sans.contains(&want) {
                return Ok(());
            }
            return fail(code::IP_ADDRESS_MISMATCH, 0);
        }
        if host_matches(leaf, host) {
            Ok(())
        } else {
            fail(code::HOSTNAME_MISMATCH, 0)
        }
    }

    /// `internal_verify`: from the top of the chain down, each signature then each validity period.
    pub(super) fn internal_verify(&self, chain: &[usize]) -> std::result::Result<(), VerifyError> {
        let Some(mut n) = chain.len().checked_sub(1) else { return Ok(()) };
        let mut xi = chain[n];
        let mut xs;
        if self.nodes[xi].is_anchor() || self.issued_by(xi, xi) {
            xs = xi;
        } else if n == 0 {
            return fail(code::UNABLE_TO_VERIFY_LEAF_SIGNATURE, 0);
        } else {
            n -= 1;
            xs = chain[n];
        }
        loop {
            if xs != xi {
                let issuer = &self.nodes[xi];
                if issuer.ku_rejects(KU_KEY_CERT_SIGN) {
                    return fail(code::KEYUSAGE_NO_CERTSIGN, n + 1);
                }
                match check_signature(self.nodes[xs], &issuer.spki) {
                    SigCheck::Invalid => return fail(code::CERT_SIGNATURE_FAILURE, n),
                    SigCheck::Valid | SigCheck::Unsupported => {}
                }
            }
            self.check_time(xs, n)?;
            if n == 0 {
                return Ok(());
            }
            n -= 1;
            xi = xs;
            xs = chain[n];
        }
    }

    pub(super) fn check_time(&self, node: usize, depth: usize) -> std::result::Result<(), VerifyError> {
        let x = &self.nodes[node];
        if x.is_anchor() {
            return Ok(());
        }
        if x.not_before > self.now {
            return fail(code::CERT_NOT_YET_VALID, depth);
        }
        if x.not_after <= self.now {
            return fail(code::CERT_HAS_EXPIRED, depth);
        }
        Ok(())
    }
}
