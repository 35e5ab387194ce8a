//! `completions SHELL` and `man`: the command line describing itself (clap_complete, clap_mangen),
//! written to standard output.

use clap::CommandFactory as _;

use super::{Cli, CompletionsArgs, ManArgs, EXIT_OK};
use crate::error::{Error, Result};

/// `completions SHELL`: the completion script for that shell.
pub fn run_completions(args: &CompletionsArgs) -> Result<i32> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "mtls-doctor", &mut script);
    super::emit_stdout(&script);
    Ok(EXIT_OK)
}

/// `man [COMMAND]`: the manual page of the command line, or of one command (`mtls-doctor-probe(1)`).
pub fn run_man(args: &ManArgs) -> Result<i32> {
    let mut top = Cli::command();
    top.build();
    let cmd = match &args.command {
        None => top,
        Some(name) => {
            let Some(sub) = top.find_subcommand(name).cloned() else {
                let known: Vec<&str> = top.get_subcommands().map(|s| s.get_name()).collect();
                return Err(Error::Usage(format!("no command named {name:?} (one of: {})", known.join(", "))));
            };
            // clap_mangen names the page after the display name: `mtls-doctor-probe`.
            sub.display_name(format!("mtls-doctor-{name}"))
        }
    };
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut page)
        .map_err(|e| Error::Usage(format!("cannot render the manual page: {e}")))?;
    super::emit_stdout(&page);
    Ok(EXIT_OK)
}
