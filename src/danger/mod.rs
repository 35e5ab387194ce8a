//! Certificate verifiers that judge a peer without refusing it, so a failure becomes a reported fact.

pub mod client_auth;
