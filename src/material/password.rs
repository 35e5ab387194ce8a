//! PKCS#12 passwords: a redacted, zeroed-on-drop [`Password`] and where it comes from (an environment
//! variable, a password file, a prompt, the TUI), never the command line.

use std::fmt;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::io_reason;
use crate::error::{Error, Result};

/// A secret password. Printing it (Debug) shows `[redacted]`; its memory is zeroed on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(Zeroizing<String>);

impl Password {
    pub fn new(secret: impl Into<String>) -> Self {
        Password(Zeroizing::new(secret.into()))
    }

    /// The secret itself, for handing to the decoder. Never log or format it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where a PKCS#12 password comes from. Deliberately no variant for a literal value: a password on
/// the command line ends up in shell history and in `ps` output.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PasswordSource {
    /// No password available: only PKCS#12 files with an empty password can be opened.
    #[default]
    None,
    /// The name of an environment variable holding the password.
    Env(String),
    /// A file whose first line is the password (a trailing `\n` or `\r\n` is not part of it).
    File(PathBuf),
    /// Ask on the terminal without echo; refused when stdin is not a terminal.
    Prompt,
    /// Already asked for by the program itself (the TUI's no-echo password field). Never built
    /// from a command-line value.
    Given(Password),
}

impl PasswordSource {
    /// Fetch the password for the PKCS#12 file named `for_file` (used in the prompt and errors).
    pub fn resolve(&self, for_file: &str) -> Result<Password> {
        match self {
            PasswordSource::None => Err(Error::input(
                for_file,
                "PKCS#12 file is protected by a password and none was given \
                 (supply it from an environment variable, a password file or the prompt)",
            )),
            PasswordSource::Env(name) => match std::env::var(name) {
                Ok(value) => Ok(Password::new(value)),
                Err(std::env::VarError::NotPresent) => {
                    Err(Error::input(for_file, format!("password environment variable {name} is not set")))
                }
                // The non-Unicode value is deliberately dropped unseen.
                Err(std::env::VarError::NotUnicode(_)) => {
                    Err(Error::input(for_file, format!("password environment variable {name} is not valid UTF-8")))
                }
            },
            PasswordSource::File(path) => read_password_file(path, for_file),
            PasswordSource::Given(pw) => Ok(pw.clone()),
            PasswordSource::Prompt => {
                if !std::io::stdin().is_terminal() {
                    return Err(Error::input(
                        for_file,
                        "PKCS#12 file needs a password but stdin is not a terminal to prompt on \
                         (supply it from an environment variable or a password file)",
                    ));
                }
                rpassword::prompt_password(format!("Password for {for_file}: "))
                    .map(Password::new)
                    .map_err(|e| Error::input(for_file, format!("cannot read the password from the terminal ({e})")))
            }
        }
    }
}

pub(super) fn read_password_file(path: &Path, for_file: &str) -> Result<Password> {
    let origin = path.display().to_string();
    // Only the first line matters; a bound keeps a wrong path (a device, a huge file) harmless.
    let bytes = crate::fsio::read_head(path, 64 * 1024).map(Zeroizing::new).map_err(|e| {
        Error::input(&origin, format!("cannot read this password file for {for_file}: {}", io_reason(&e)))
    })?;
    let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let first_line = first_line.strip_suffix(b"\r").unwrap_or(first_line);
    // Notepad's UTF-8 byte order mark is never meant as part of a password.
    let first_line = first_line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(first_line);
    let text = std::str::from_utf8(first_line)
        .map_err(|_| Error::input(&origin, format!("password file for {for_file} is not UTF-8 text")))?;
    Ok(Password::new(text))
}
