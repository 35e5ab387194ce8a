//! The request body a probe sends (`--data TEXT|@FILE`, as curl's `-d`). A body may carry
//! credentials, so it never leaves memory: a session or report records only its length and SHA-256,
//! and Debug shows the same. A body read back from a session has no bytes: it must be given again.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::fsio::Cap;

/// The largest body `--data @FILE` reads.
pub const BODY_CAP: Cap = Cap { bytes: 16 << 20, kind: "a request body (--data @FILE)" };

/// The Content-Type curl sends with `-d` when no `-H 'Content-Type: …'` gives one.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// The words for a body whose bytes a saved session does not hold.
pub const NOT_SAVED: &str =
    "the request body was not saved in the session (only its length and SHA-256): give it again with --data";

/// A request body: its bytes while this process has them, and what may be recorded about it.
#[derive(Clone)]
pub struct RequestBody {
    bytes: Option<Arc<[u8]>>,
    length: u64,
    sha256: String,
}

/// What a session and a report record of a body.
#[derive(Serialize, Deserialize)]
struct Recorded {
    length: u64,
    sha256: String,
}

impl RequestBody {
    pub fn new(bytes: Vec<u8>) -> Self {
        let sha256 = hex::encode(Sha256::digest(&bytes));
        RequestBody { length: bytes.len() as u64, sha256, bytes: Some(bytes.into()) }
    }

    /// `--data TEXT` sends TEXT; `--data @FILE` sends the file's bytes, as curl's `-d` (which also
    /// drops carriage returns and newlines from a file; `--data-binary` would not, and this sends
    /// the file as it is, like `--data-binary @FILE`).
    pub fn from_arg(arg: &str) -> Result<Self> {
        match arg.strip_prefix('@') {
            Some("") => Err(Error::Usage("--data @: name the file after the @".into())),
            Some(path) => {
                let bytes = crate::fsio::read_capped(Path::new(path), BODY_CAP)?;
                Ok(RequestBody::new(bytes))
            }
            None => Ok(RequestBody::new(arg.as_bytes().to_vec())),
        }
    }

    /// The bytes, when this process has them (not after loading a session).
    pub fn bytes(&self) -> Option<&[u8]> {
        self.bytes.as_deref()
    }

    pub fn shared(&self) -> Option<Arc<[u8]>> {
        self.bytes.clone()
    }

    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Lowercase hex SHA-256 of the bytes.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

impl PartialEq for RequestBody {
    fn eq(&self, other: &Self) -> bool {
        self.length == other.length && self.sha256 == other.sha256
    }
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBody").field("length", &self.length).field("sha256", &self.sha256).finish()
    }
}

impl Serialize for RequestBody {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        Recorded { length: self.length, sha256: self.sha256.clone() }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for RequestBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let r = Recorded::deserialize(d)?;
        Ok(RequestBody { bytes: None, length: r.length, sha256: r.sha256 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_recorded_by_length_and_digest_only() {
        let b = RequestBody::from_arg("password=hunter2-body").expect("body");
        let json = serde_json::to_string(&b).expect("json");
        let debug = format!("{b:?}");
        for text in [&json, &debug] {
            assert!(!text.contains("hunter2"), "{text}");
        }
        // sha256("password=hunter2-body"), from `printf %s password=hunter2-body | sha256sum`.
        assert_eq!(b.sha256(), hex::encode(Sha256::digest(b"password=hunter2-body")));
        assert!(json.contains(r#""length":21"#), "{json}");
        let back: RequestBody = serde_json::from_str(&json).expect("read back");
        assert_eq!(back, b);
        assert!(back.bytes().is_none(), "a loaded body has no bytes");
        assert_eq!(b.bytes(), Some(&b"password=hunter2-body"[..]));
    }

    #[test]
    fn a_file_is_read_whole_and_a_bad_one_is_one_line_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("body.json");
        std::fs::write(&path, b"{\"a\":1}\n").expect("write");
        let b = RequestBody::from_arg(&format!("@{}", path.display())).expect("file body");
        assert_eq!(b.bytes(), Some(&b"{\"a\":1}\n"[..]));
        let missing = dir.path().join("nope.json");
        let e = RequestBody::from_arg(&format!("@{}", missing.display())).expect_err("missing").to_string();
        assert!(e.contains("nope.json") && !e.contains('\n'), "{e}");
        let big = dir.path().join("big.bin");
        let f = std::fs::File::create(&big).expect("create");
        f.set_len(BODY_CAP.bytes + 1).expect("grow");
        let e = RequestBody::from_arg(&format!("@{}", big.display())).expect_err("too big").to_string();
        assert!(e.contains("big.bin") && e.contains("16 MiB") && e.contains("request body"), "{e}");
        let e = RequestBody::from_arg("@").expect_err("no file").to_string();
        assert!(e.contains("--data @"), "{e}");
    }
}
