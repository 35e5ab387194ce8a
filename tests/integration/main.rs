//! One integration test binary (see ripgrep's tests/): each module tests one area end to end.

mod azure;
mod cert_dotnet;
mod cert_model;
mod cli;
mod debug_text;
mod demo;
mod dns;
mod findings;
mod findings_docs;
mod lab;
mod listen;
mod listen_cli;
mod material;
mod output;
mod peers;
mod policy;
mod probe_lab;
mod probe_peers;
mod report;
mod session;
mod tui;
mod util;
mod verify;
