//! The `mtls-doctor` binary: parses arguments, runs the command, and turns the outcome into an
//! exit code: 0 no error finding, 1 error findings, 2 usage or input error.

use clap::Parser as _;

fn main() {
    let cli = match mtls_doctor::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout with exit 0, usage errors to stderr with 2.
            let _ = e.print();
            std::process::exit(if e.use_stderr() { mtls_doctor::cli::EXIT_USAGE } else { 0 });
        }
    };
    match mtls_doctor::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("mtls-doctor: {e}");
            std::process::exit(mtls_doctor::cli::EXIT_USAGE);
        }
    }
}
