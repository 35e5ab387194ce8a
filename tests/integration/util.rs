//! Shared test harness: temporary directories with generated PKI material, the binary under test,
//! and helpers to run real peers (openssl, curl, nginx) on loopback.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mtls_doctor::pki::{Issued, Spec};

/// A temporary directory that is removed when dropped.
pub struct Dir {
    pub tmp: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Self {
        Dir { tmp: tempfile::tempdir().expect("tempdir") }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, contents).expect("write test file");
        p
    }

    /// Write `name.pem` (certificate) and `name.key` (PKCS#8 key) for an issued certificate.
    pub fn write_issued(&self, name: &str, issued: &Issued) -> (PathBuf, PathBuf) {
        (self.write(&format!("{name}.pem"), issued.cert_pem()), self.write(&format!("{name}.key"), issued.key_pem()))
    }
}

/// The built `mtls-doctor` binary.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mtls-doctor"))
}

/// Run a command, returning its output; panics with a readable message if it cannot start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Run openssl with arguments, return (success, stdout+stderr).
pub fn openssl(args: &[&str]) -> (bool, String) {
    let o = run(Command::new("openssl").args(args));
    (o.status.success(), format!("{}{}", stdout(&o), stderr(&o)))
}

/// A root CA, an intermediate, and a leaf for `cn` (with SAN `cn`) issued by the intermediate.
pub struct Pki {
    pub root: Issued,
    pub intermediate: Issued,
}

impl Pki {
    pub fn new(name: &str) -> Self {
        let root = Issued::self_signed(&Spec::ca(&format!("{name} Root CA"))).expect("root");
        let intermediate = root.issue(&Spec::ca(&format!("{name} Issuing CA"))).expect("intermediate");
        Pki { root, intermediate }
    }

    pub fn leaf(&self, spec: &Spec) -> Issued {
        self.intermediate.issue(spec).expect("leaf")
    }
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}

/// A whole policy whose inbound section answers 403 when `condition` (an attribute value, `@(…)`
/// included) holds, after the elements `before` (none when empty).
pub fn refuse_403_when(before: &str, condition: &str) -> String {
    let before = if before.is_empty() { String::new() } else { format!("\n    {before}") };
    format!(
        r#"<policies>
  <inbound>
    <base />{before}
    <choose>
      <when condition="{condition}">
        <return-response><set-status code="403" reason="Forbidden" /></return-response>
      </when>
    </choose>
  </inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>
"#
    )
}
