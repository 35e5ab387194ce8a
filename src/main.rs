//! The `mtls-doctor` binary: parses arguments and turns results into an exit code.

fn main() {
    println!("mtls-doctor {}", env!("CARGO_PKG_VERSION"));
}
