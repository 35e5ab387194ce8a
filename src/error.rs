//! Typed errors for bad input: each names the file, host or field and says what is wrong in one line.

/// Errors the library returns for input it cannot use. Everything that happens on the network is
/// data in a probe result, never an `Error`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file, host or field could not be used. `origin` names it; `problem` says why.
    #[error("{origin}: {problem}")]
    Input { origin: String, problem: String },
    /// A file could not be read or written. The OS message is shown in words, without `(os error N)`.
    #[error("{path}: {}", crate::text::io_error(source))]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The command line asked for something that cannot be done.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub fn input(origin: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::Input { origin: origin.into(), problem: problem.into() }
    }

    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().display().to_string(), source }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
