//! One integration test binary (see ripgrep's tests/): each module tests one area end to end.

mod lab;
mod listen;
mod util;
