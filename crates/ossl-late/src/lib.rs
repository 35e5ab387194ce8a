//! Safe wrappers for the OpenSSL calls that mtls-doctor's late-authentication re-run needs and the
//! `openssl` crate does not wrap: offering TLS 1.3 post-handshake authentication
//! (`SSL_CTX_set_post_handshake_auth`), and reading what a server's CertificateRequest contained on
//! the client side (`SSL_get_client_CA_list`: the acceptable CA names; `SSL_get_sigalgs` and
//! `SSL_get_shared_sigalgs`: the signature schemes). Nothing else; every unsafe block says why it
//! is sound.

use std::os::raw::{c_int, c_uchar};

use foreign_types::ForeignTypeRef;
use openssl::ssl::{SslContextBuilder, SslRef};
use openssl::x509::X509NameRef;
use openssl_sys::{stack_st_X509_NAME, OPENSSL_sk_num, OPENSSL_sk_value, OPENSSL_STACK, SSL, X509_NAME};

// Declared by OpenSSL 1.1.1 and 3.x in <openssl/ssl.h>; openssl-sys (which links libssl) does not
// declare them.
extern "C" {
    fn SSL_get_client_CA_list(s: *const SSL) -> *mut stack_st_X509_NAME;
    fn SSL_get_sigalgs(
        s: *mut SSL,
        idx: c_int,
        psign: *mut c_int,
        phash: *mut c_int,
        psignhash: *mut c_int,
        rsig: *mut c_uchar,
        rhash: *mut c_uchar,
    ) -> c_int;
    fn SSL_get_shared_sigalgs(
        s: *mut SSL,
        idx: c_int,
        psign: *mut c_int,
        phash: *mut c_int,
        psignhash: *mut c_int,
        rsig: *mut c_uchar,
        rhash: *mut c_uchar,
    ) -> c_int;
}

/// Offer TLS 1.3 post-handshake authentication (the `post_handshake_auth` extension) on every
/// connection made from this context, so a server may ask for the certificate after the handshake.
pub fn enable_post_handshake_auth(builder: &mut SslContextBuilder) {
    #[allow(unsafe_code)]
    // SAFETY: `builder.as_ptr()` is a valid, live SSL_CTX owned by `builder`, borrowed mutably for
    // the call; the function only sets a flag on it and has no return value to check.
    unsafe {
        openssl_sys::SSL_CTX_set_post_handshake_auth(builder.as_ptr(), 1)
    }
}

/// On a client connection: the DER of each distinguished name in the last CertificateRequest the
/// server sent (its acceptable CA names, `certificate_authorities` in TLS 1.3), in the server's
/// order. Empty when no CertificateRequest arrived or it named no CA.
pub fn peer_ca_names_der(ssl: &SslRef) -> Vec<Vec<u8>> {
    #[allow(unsafe_code)]
    // SAFETY: `ssl.as_ptr()` is a valid SSL for the borrow of `ssl`. The returned stack is owned by
    // the SSL (not by us, so never freed here) and stays valid while `ssl` is borrowed and not
    // mutated, which the shared borrow guarantees for this whole block. Each element is a valid
    // X509_NAME owned by the stack; `X509NameRef::from_ptr` borrows it only until `to_der` returns.
    unsafe {
        let stack = SSL_get_client_CA_list(ssl.as_ptr());
        if stack.is_null() {
            return Vec::new();
        }
        let stack = stack as *const OPENSSL_STACK;
        let count = OPENSSL_sk_num(stack).max(0);
        let mut names = Vec::with_capacity(count as usize);
        for i in 0..count {
            let name = OPENSSL_sk_value(stack, i) as *mut X509_NAME;
            if name.is_null() {
                continue;
            }
            if let Ok(der) = X509NameRef::from_ptr(name).to_der() {
                names.push(der);
            }
        }
        names
    }
}

type SigalgFn =
    unsafe extern "C" fn(*mut SSL, c_int, *mut c_int, *mut c_int, *mut c_int, *mut c_uchar, *mut c_uchar) -> c_int;

/// Walk `SSL_get_sigalgs`/`SSL_get_shared_sigalgs`, collecting each TLS SignatureScheme code point.
fn sigalg_codes(ssl: &SslRef, get: SigalgFn) -> Vec<u16> {
    let mut codes = Vec::new();
    let mut idx: c_int = 0;
    loop {
        let (mut rsig, mut rhash): (c_uchar, c_uchar) = (0, 0);
        #[allow(unsafe_code)]
        // SAFETY: `ssl.as_ptr()` is a valid SSL for the borrow of `ssl`; the functions only read
        // it. `rsig` and `rhash` are valid writable bytes on this stack frame; the three int
        // out-pointers may be NULL (OpenSSL checks each before writing). `idx` is in range or the
        // call returns 0 without writing.
        let total = unsafe {
            get(
                ssl.as_ptr(),
                idx,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut rsig,
                &mut rhash,
            )
        };
        if total <= 0 || idx >= total {
            break;
        }
        codes.push(u16::from(rhash) << 8 | u16::from(rsig));
        idx += 1;
        // Bounded: OpenSSL caps the list it parsed; this guards against a changed return contract.
        if idx > 512 {
            break;
        }
    }
    codes
}

/// On a client connection: the signature schemes (TLS code points) the server listed in its last
/// CertificateRequest (`signature_algorithms`), in its order. Empty when none arrived.
pub fn peer_signature_schemes(ssl: &SslRef) -> Vec<u16> {
    sigalg_codes(ssl, SSL_get_sigalgs)
}

/// The schemes both sides accept for the client's signature: the server's list intersected with
/// this client's own. Empty when no CertificateRequest arrived.
pub fn shared_signature_schemes(ssl: &SslRef) -> Vec<u16> {
    sigalg_codes(ssl, SSL_get_shared_sigalgs)
}
