//! One integration test binary (see ripgrep's tests/): each module tests one area end to end.

mod after_handshake;
mod azure;
mod cert_dotnet;
mod cert_model;
mod cli;
mod debug_text;
mod demo;
mod dns;
mod findings;
mod findings_docs;
mod gateway_peers;
mod gateway_requests;
mod gateways;
mod lab;
pub mod late_auth;
mod listen;
mod listen_cli;
mod material;
mod peers;
mod policy;
mod probe_lab;
mod probe_peers;
mod report;
mod session;
mod tui;
mod util;
mod verify;
