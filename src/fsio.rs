//! One capped reader for every file the tool opens, so a wrong path (a log, an archive, `/dev/zero`,
//! a pipe that never ends) is refused by size in one wording instead of eating memory.

use std::io::Read as _;
use std::path::Path;

use crate::error::{Error, Result};

/// How much the tool reads of one kind of file, and the words for that kind in the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    pub bytes: u64,
    /// Completes "this tool reads for …", e.g. "a policy file".
    pub kind: &'static str,
}

/// APIM policy XML: the largest real ones are tens of KiB.
pub const POLICY_CAP: Cap = Cap { bytes: 4 << 20, kind: "a policy file" };
/// One `az` JSON export; a subscription-wide role-assignment list is the big case.
pub const AZURE_EXPORT_CAP: Cap = Cap { bytes: 64 << 20, kind: "an Azure export" };
/// A TUI theme in TOML: a few dozen colours.
pub const THEME_CAP: Cap = Cap { bytes: 1 << 20, kind: "a theme file" };
/// A targets file for batch runs: one target a line.
pub const TARGETS_CAP: Cap = Cap { bytes: 4 << 20, kind: "a targets file" };
/// A saved session: certificates in PEM and body previews for every target. Sized for sweeps of
/// tens of thousands of targets (10,000 loopback probes saved to 68.1 MB, one target a line; 116 MB
/// as older versions wrote them, indented). Loading one takes 1.5 to 2 times its size in memory
/// (docs/sessions.md, docs/PERFORMANCE.md).
pub const SESSION_CAP: Cap = Cap { bytes: 256 << 20, kind: "a session file" };
/// PEM, DER or PKCS#12 certificates and keys.
pub const MATERIAL_CAP: Cap = Cap { bytes: 16 << 20, kind: "certificate or key material" };

impl Cap {
    /// "4 MiB", "64 KiB" or "1000 bytes": the cap as a person would say it.
    pub fn size_words(&self) -> String {
        match self.bytes {
            b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
            b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
            b => format!("{b} bytes"),
        }
    }

    pub fn too_large(&self, path: &Path) -> Error {
        Error::input(
            path.display().to_string(),
            format!("is larger than the {} this tool reads for {}", self.size_words(), self.kind),
        )
    }
}

/// The whole file, or a typed input error naming the file and the cap when it is larger. A regular
/// file is judged by its size before any of it is read; anything else (a pipe, a device reports 0)
/// by reading at most `cap + 1` bytes. I/O problems are [`Error::Io`] with the path.
pub fn read_capped(path: &Path, cap: Cap) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    if let Ok(meta) = file.metadata() {
        if meta.is_file() && meta.len() > cap.bytes {
            return Err(cap.too_large(path));
        }
    }
    let bytes = read_head_of(file, cap.bytes.saturating_add(1)).map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > cap.bytes {
        return Err(cap.too_large(path));
    }
    Ok(bytes)
}

/// [`read_capped`], then UTF-8: a file that is not UTF-8 text is an input error naming it.
pub fn read_text_capped(path: &Path, cap: Cap) -> Result<String> {
    let bytes = read_capped(path, cap)?;
    String::from_utf8(bytes).map_err(|_| Error::input(path.display().to_string(), "is not UTF-8 text"))
}

/// At most `limit` bytes from the start of the file, for readers that only want a prefix (the first
/// line of a password file) and do not mind what follows.
pub fn read_head(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    read_head_of(std::fs::File::open(path)?, limit)
}

fn read_head_of(file: std::fs::File, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Cap = Cap { bytes: 8, kind: "a test file" };

    #[test]
    fn reads_up_to_the_cap_and_refuses_one_byte_more() {
        let dir = tempfile::tempdir().expect("tempdir");
        let at_cap = dir.path().join("at-cap");
        std::fs::write(&at_cap, b"12345678").expect("write");
        assert_eq!(read_capped(&at_cap, SMALL).expect("at the cap"), b"12345678");
        let over = dir.path().join("over");
        std::fs::write(&over, b"123456789").expect("write");
        let err = read_capped(&over, SMALL).expect_err("over the cap").to_string();
        assert_eq!(err, format!("{}: is larger than the 8 bytes this tool reads for a test file", over.display()));
    }

    #[test]
    fn a_sparse_policy_file_over_the_cap_is_one_line_naming_file_and_cap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big = dir.path().join("huge.xml");
        std::fs::File::create(&big).expect("create").set_len(POLICY_CAP.bytes + 1).expect("set_len");
        let err = read_text_capped(&big, POLICY_CAP).expect_err("over the cap").to_string();
        assert_eq!(err, format!("{}: is larger than the 4 MiB this tool reads for a policy file", big.display()));
        assert_eq!(err.lines().count(), 1);
    }

    #[test]
    fn a_device_that_never_ends_is_refused_by_size() {
        let zero = Path::new("/dev/zero");
        if zero.exists() {
            let err = read_capped(zero, SMALL).expect_err("endless").to_string();
            assert!(err.contains("larger than the 8 bytes"), "{err}");
        }
    }

    #[test]
    fn text_that_is_not_utf8_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let latin1 = dir.path().join("latin1.txt");
        std::fs::write(&latin1, b"caf\xe9").expect("write");
        let err = read_text_capped(&latin1, SMALL).expect_err("not UTF-8").to_string();
        assert_eq!(err, format!("{}: is not UTF-8 text", latin1.display()));
    }

    #[test]
    fn caps_in_words() {
        assert_eq!(MATERIAL_CAP.size_words(), "16 MiB");
        assert_eq!(Cap { bytes: 64 << 10, kind: "" }.size_words(), "64 KiB");
        assert_eq!(Cap { bytes: 1000, kind: "" }.size_words(), "1000 bytes");
    }
}
