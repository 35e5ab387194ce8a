//! Verifiers that record what the peer presented instead of refusing it. A troubleshooting tool must
//! see the whole handshake through, like `openssl s_client` does, and judge the chain separately.

pub mod client_auth;
pub mod late_server_cert;
pub mod server_cert;
