//! One integration test binary (see ripgrep's tests/): each module tests one area end to end.

mod azure;
mod util;
mod cert_model;
mod peers;
mod probe_peers;
mod dns;
