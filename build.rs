//! Links the `mtls-doctor` executable as a position-dependent (non-PIE) binary on Linux.
//!
//! A PIE binary of this size carries about 41,000 relative relocations that the dynamic loader
//! applies at every start, touching (and copying) some 200 pages before `main`: about 0.9 ms of a
//! one-probe process's CPU here (docs/PERFORMANCE.md, "Process start"). A non-PIE binary has none.
//! What is given up is ASLR of the executable's own image (shared libraries, heap and stack are
//! still randomised). Only the binaries' final link changes (`rustc-link-arg-bins`): the library,
//! tests, examples and proc-macros keep rustc's defaults (a global `-C relocation-model=static`
//! would break proc-macros). `MTLS_DOCTOR_PIE=1` at build time keeps the PIE link.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=MTLS_DOCTOR_PIE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    let keep_pie = std::env::var("MTLS_DOCTOR_PIE").as_deref() == Ok("1");
    if linux && !keep_pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
