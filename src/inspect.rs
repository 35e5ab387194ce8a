//! The `inspect` command: certificates, chain verdict and (later) findings, with no network.
