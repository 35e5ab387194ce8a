//! Chain building and verification with openssl-compatible verdicts.
