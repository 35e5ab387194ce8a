//! Sessions: the inputs, every observation and every finding of a run, serializable and
//! self-contained (certificates embedded as PEM, public parts only), so a colleague can open it on
//! another machine. Private keys, passwords and secret header values are never part of it.

use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::azure::AzureConfig;
use crate::cert::CertInfo;
use crate::diagnose::{ClientVerify, Finding, InspectedChain, PolicyEvaluation, Severity};
use crate::error::{Error, Result};
use crate::probe::{is_secret_header, ProbeOptions, ProbeResult};
use crate::report::KeyReport;
use crate::verify::Role;

/// Version of the session file format. Older versions stay loadable.
///
/// - 1: the first format.
/// - 2: adds `command`, `replayed_from`, and per target `inspect` (role, host, trust, origins) and
///   `keys`, so an inspect target can be replayed and rendered exactly as it was run.
pub const SESSION_SCHEMA_VERSION: u32 = 2;
/// The oldest session format that still loads.
pub const OLDEST_SESSION_SCHEMA_VERSION: u32 = 1;
/// A session file larger than this is refused before it is parsed.
pub const MAX_SESSION_BYTES: u64 = crate::fsio::SESSION_CAP.bytes;
/// No string in a session is this long: the longest real ones are certificates in PEM and 4 KiB
/// body previews. A longer one means a corrupt or hostile file.
pub const MAX_STRING_BYTES: usize = 1024 * 1024;
/// What a secret value becomes in every saved or reported form.
pub const REDACTED: &str = "[redacted]";

/// Where a PFX password comes from: recorded so a replay can ask again, never the password itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PasswordRef {
    #[default]
    Prompt,
    Env {
        var: String,
    },
    File {
        path: String,
    },
    None,
}

/// The material a target was run with: paths only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct MaterialRefs {
    pub cert: Option<String>,
    pub key: Option<String>,
    pub pfx: Option<String>,
    pub password: PasswordRef,
    /// Trust for the server's chain (`--ca`); empty means the system store.
    pub ca: Vec<String>,
    /// CA certificates uploaded to the gateway (`--client-ca`), for Verify().
    pub client_ca: Vec<String>,
    pub policy: Option<String>,
    pub azure: Vec<String>,
}

/// What kind of run a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    #[default]
    Probe,
    Inspect,
}

/// How an inspect target was judged, and where each certificate came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectContext {
    /// Judged as a client or a server certificate (`--role`).
    pub role: Role,
    /// The host name checked against a server certificate (`--host`).
    #[serde(default)]
    pub host: Option<String>,
    /// Where the trust anchors came from (`system`, or the `--ca` files).
    #[serde(default)]
    pub trust: String,
    /// The file each inspected certificate came from, in the order of `inspected.certs`.
    #[serde(default)]
    pub origins: Vec<String>,
}

/// One target: what was asked, what was seen, what it means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TargetRun {
    /// A short label (`api.contoso.com:443 inbound`, or a name from a targets file).
    pub name: String,
    pub kind: TargetKind,
    /// Probe options (None for an inspect-only target).
    pub options: Option<ProbeOptions>,
    /// Files given to inspect.
    pub files: Vec<String>,
    pub material: MaterialRefs,
    /// Inspect targets: the role and host they are judged for (schema 2).
    pub inspect: Option<InspectContext>,
    pub probe: Option<ProbeResult>,
    pub inspected: Option<InspectedChain>,
    /// Private keys found among inspected files, described, never included (schema 2).
    pub keys: Vec<KeyReport>,
    pub policy: Option<PolicyEvaluation>,
    pub client_verify: Option<ClientVerify>,
    pub uploaded_cas: Vec<CertInfo>,
    pub azure: Option<AzureConfig>,
    pub findings: Vec<Finding>,
    /// `cert-expiring-soon` window in days (default 30).
    pub expiring_days: Option<i64>,
    /// An input problem that stopped this target (a file that would not load …): one line.
    pub error: Option<String>,
}

impl TargetRun {
    /// The inputs of this target without anything observed: what a replay starts from.
    pub fn inputs_only(&self) -> TargetRun {
        TargetRun {
            name: self.name.clone(),
            kind: self.kind,
            options: self.options.clone(),
            files: self.files.clone(),
            material: self.material.clone(),
            inspect: self.inspect.as_ref().map(|i| InspectContext {
                role: i.role,
                host: i.host.clone(),
                trust: String::new(),
                origins: Vec::new(),
            }),
            expiring_days: self.expiring_days,
            ..Default::default()
        }
    }
}

/// A whole session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub schema_version: u32,
    pub tool_version: String,
    /// RFC 3339.
    pub created_at: String,
    /// The command that made it: `probe`, `inspect`, `demo` or `replay` (schema 2; empty if unknown).
    #[serde(default)]
    pub command: String,
    /// For a replay: the session file it re-ran (schema 2).
    #[serde(default)]
    pub replayed_from: Option<String>,
    pub targets: Vec<TargetRun>,
}

impl Default for Session {
    fn default() -> Self {
        Session::new(vec![])
    }
}

impl Session {
    pub fn new(targets: Vec<TargetRun>) -> Self {
        Session {
            schema_version: SESSION_SCHEMA_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            created_at: crate::cert::rfc3339(time::OffsetDateTime::now_utc()),
            command: String::new(),
            replayed_from: None,
            targets,
        }
    }

    /// The same session, labelled with the command that made it.
    pub fn with_command(mut self, command: &str) -> Self {
        self.command = command.to_string();
        self
    }

    /// Every finding of every target, in target order.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.targets.iter().flat_map(|t| t.findings.iter())
    }

    /// Whether any finding is an error (exit code 1).
    pub fn has_errors(&self) -> bool {
        self.findings().any(|f| f.severity == Severity::Error)
    }
}

/// The session as it may be saved or shown: every secret removed.
///
/// Secret header values (Authorization, Ocp-Apim-Subscription-Key, Cookie, Set-Cookie,
/// Proxy-Authorization) become `[redacted]` wherever a header appears, and any other place a secret
/// value sent with the request shows up again (a server echoing the request into its body, an error
/// quoting it) is cut out too. A PEM private key block, should one ever reach a string, is removed.
pub fn redacted(session: &Session) -> Result<Session> {
    let secrets: Vec<String> = session
        .targets
        .iter()
        .filter_map(|t| t.options.as_ref())
        .flat_map(|o| o.headers.iter())
        .filter(|h| is_secret_header(&h.name))
        .flat_map(|h| secret_fragments(&h.value))
        .collect();
    let mut value =
        serde_json::to_value(session).map_err(|e| Error::input("session", format!("cannot be serialized ({e})")))?;
    scrub(&mut value, &secrets);
    serde_json::from_value(value).map_err(|e| Error::input("session", format!("cannot be redacted ({e})")))
}

/// The value itself, and for `Scheme credentials` (Basic, Bearer …) the credentials alone, which is
/// what a server tends to echo. Short values are skipped: cutting every "ab" out of a report would
/// mangle it and protect nothing.
fn secret_fragments(value: &str) -> Vec<String> {
    const MIN_SECRET_LEN: usize = 6;
    let mut out = vec![value.trim().to_string()];
    if let Some((_, credentials)) = value.trim().split_once(' ') {
        out.push(credentials.trim().to_string());
    }
    out.retain(|s| s.len() >= MIN_SECRET_LEN && s != REDACTED);
    out
}

fn scrub(v: &mut Value, secrets: &[String]) {
    match v {
        Value::String(s) => {
            if let Some(clean) = scrub_string(s, secrets) {
                *s = clean;
            }
        }
        Value::Array(items) => {
            // Response headers are `[name, value]` pairs.
            if let [Value::String(name), Value::String(value)] = items.as_mut_slice() {
                if is_secret_header(name) {
                    *value = REDACTED.to_string();
                }
            }
            items.iter_mut().for_each(|i| scrub(i, secrets));
        }
        Value::Object(map) => {
            // Request headers are `{name, value}` objects; listen echoes map names to values.
            let named_secret = matches!(map.get("name"), Some(Value::String(n)) if is_secret_header(n));
            if named_secret {
                if let Some(value) = map.get_mut("value") {
                    *value = Value::String(REDACTED.to_string());
                }
            }
            for (key, value) in map.iter_mut() {
                if is_secret_header(key) && value.is_string() {
                    *value = Value::String(REDACTED.to_string());
                } else {
                    scrub(value, secrets);
                }
            }
        }
        _ => {}
    }
}

fn scrub_string(s: &str, secrets: &[String]) -> Option<String> {
    let mut out: Option<String> = None;
    for secret in secrets {
        let current = out.as_deref().unwrap_or(s);
        if current.contains(secret.as_str()) {
            out = Some(current.replace(secret.as_str(), REDACTED));
        }
    }
    let current = out.as_deref().unwrap_or(s);
    if current.contains("PRIVATE KEY-----") {
        out = Some(remove_private_key_blocks(current));
    }
    out
}

/// Cut every `-----BEGIN … PRIVATE KEY-----` … `-----END … PRIVATE KEY-----` block (or, if the end
/// is missing, everything after the begin line).
fn remove_private_key_blocks(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("-----BEGIN ") {
        let header_end = rest[start..].find("-----\n").map(|e| start + e);
        let is_key = rest[start..].lines().next().is_some_and(|l| l.contains("PRIVATE KEY"));
        if !is_key {
            let skip = start + "-----BEGIN ".len();
            out.push_str(&rest[..skip]);
            rest = &rest[skip..];
            continue;
        }
        out.push_str(&rest[..start]);
        out.push_str("[private key removed]");
        let after_begin = header_end.map(|e| e + 6).unwrap_or(rest.len());
        rest = match rest[after_begin..].find("PRIVATE KEY-----") {
            Some(end) => &rest[after_begin + end + "PRIVATE KEY-----".len()..],
            None => "",
        };
    }
    out.push_str(rest);
    // A key whose markers were mangled must still not survive under its usual label.
    out.replace("PRIVATE KEY", "[private key removed]")
}

/// Temporary file in the same directory, fsync, rename: a crash or a full disk never leaves a half
/// file, and the previous file survives any failure.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    // `-o /dev/null`, `-o /dev/stdout`, a FIFO: write through; renaming over them would replace the
    // device with a regular file.
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() {
            return std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|mut f| f.write_all(bytes))
                .map_err(|e| Error::io(path, e));
        }
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let result = (|| -> std::io::Result<()> {
        let mut tmp = tempfile::Builder::new().prefix(".mtls-doctor-").suffix(".tmp").tempfile_in(dir)?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        // The rename itself is durable only once the directory is synced.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e| Error::io(path, e))
}

/// Save a session (redacted) as pretty JSON, atomically.
pub fn save(session: &Session, path: &Path) -> Result<()> {
    let safe = redacted(session)?;
    let mut text = serde_json::to_string_pretty(&safe)
        .map_err(|e| Error::input(path.display().to_string(), format!("cannot serialize the session ({e})")))?;
    text.push('\n');
    write_atomically(path, text.as_bytes())
}

/// Load a session file: size-capped, schema version checked, older versions migrated, unknown fields
/// ignored. Every problem is one line naming the file and where in it.
pub fn load(path: &Path) -> Result<Session> {
    let origin = path.display().to_string();
    let bytes = crate::fsio::read_capped(path, crate::fsio::SESSION_CAP)?;
    parse(&bytes, &origin)
}

/// Parse session JSON read from `origin` (a file name, for errors).
pub fn parse(bytes: &[u8], origin: &str) -> Result<Session> {
    let bad = |problem: String| Error::input(origin, problem);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(bad("empty file, not a session".into()));
    }
    // A first pass as plain JSON: syntax errors with their line and column, and the checks that
    // must come before the real model is read (version, kind of file, string sizes).
    let value: Value = serde_json::from_slice(bytes).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let Value::Object(top) = &value else {
        return Err(bad("not a session: expected a JSON object at the top".into()));
    };
    if !top.contains_key("targets") && (top.contains_key("probes") || top.contains_key("certificates")) {
        return Err(bad("this is a report (--report json), not a session: save sessions with --save".into()));
    }
    let version = match top.get("schema_version") {
        None => return Err(bad("not a session: it has no schema_version".into())),
        Some(v) => v.as_u64().ok_or_else(|| bad(format!("schema_version: expected a whole number, found {v}")))?,
    };
    if version > u64::from(SESSION_SCHEMA_VERSION) {
        return Err(bad(format!(
            "written by a newer mtls-doctor (session schema version {version}; this one reads versions \
             {OLDEST_SESSION_SCHEMA_VERSION} to {SESSION_SCHEMA_VERSION}): upgrade mtls-doctor to open it"
        )));
    }
    if version < u64::from(OLDEST_SESSION_SCHEMA_VERSION) {
        return Err(bad(format!("schema_version {version} was never a session format")));
    }
    check_strings(&value, &mut String::new()).map_err(bad)?;

    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut session: Session = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            bad(inner.to_string())
        } else {
            bad(format!("{path}: {inner}"))
        }
    })?;
    if version < 2 {
        migrate_v1(&mut session);
    }
    session.schema_version = SESSION_SCHEMA_VERSION;
    Ok(session)
}

/// Version 1 had no inspect context nor command: both follow from what was recorded.
fn migrate_v1(session: &mut Session) {
    for t in &mut session.targets {
        if t.kind == TargetKind::Inspect && t.inspect.is_none() {
            if let Some(chain) = &t.inspected {
                let trust = if t.material.ca.is_empty() { "system".to_string() } else { t.material.ca.join(", ") };
                t.inspect = Some(InspectContext { role: chain.role, host: None, trust, origins: Vec::new() });
            }
        }
    }
    if session.command.is_empty() {
        let all_inspect = !session.targets.is_empty() && session.targets.iter().all(|t| t.kind == TargetKind::Inspect);
        session.command = if all_inspect { "inspect" } else { "probe" }.to_string();
    }
}

/// Refuse any string longer than [`MAX_STRING_BYTES`], naming where it is.
fn check_strings(v: &Value, path: &mut String) -> std::result::Result<(), String> {
    match v {
        Value::String(s) if s.len() > MAX_STRING_BYTES => Err(format!(
            "{}: a string of {} bytes (at most {} KiB are expected): the file is corrupt or was edited",
            if path.is_empty() { "." } else { path.as_str() },
            s.len(),
            MAX_STRING_BYTES >> 10
        )),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_strings(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(map) => {
            for (k, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                if k.len() > MAX_STRING_BYTES {
                    return Err(format!("{path}: a key of {} bytes: the file is corrupt", k.len()));
                }
                check_strings(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A certificate as a diff shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    pub thumbprint_sha1: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
}

impl From<&CertInfo> for CertSummary {
    fn from(c: &CertInfo) -> Self {
        CertSummary {
            subject: c.subject.clone(),
            issuer: c.issuer.clone(),
            thumbprint_sha1: c.thumbprint_sha1.clone(),
            serial: c.serial.clone(),
            not_before: c.not_before.clone(),
            not_after: c.not_after.clone(),
        }
    }
}

/// One thing that changed for a target between two sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Change {
    /// A different certificate in the same place of a chain.
    CertificateRotated {
        chain: String,
        position: usize,
        before: CertSummary,
        after: CertSummary,
    },
    CertificateAdded {
        chain: String,
        position: usize,
        certificate: CertSummary,
    },
    CertificateRemoved {
        chain: String,
        position: usize,
        certificate: CertSummary,
    },
    /// A judgement changed: a chain verdict, the handshake, Verify(), the policy's answer.
    VerdictChanged {
        what: String,
        before: String,
        after: String,
    },
    HttpStatusChanged {
        before: Option<u16>,
        after: Option<u16>,
    },
    FindingAppeared {
        id: String,
        severity: Severity,
        title: String,
    },
    FindingResolved {
        id: String,
        severity: Severity,
        title: String,
    },
    ErrorChanged {
        before: Option<String>,
        after: Option<String>,
    },
}

/// Whether a target is in both sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetStatus {
    Changed,
    Unchanged,
    /// Only in the second session.
    Added,
    /// Only in the first session.
    Removed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetDiff {
    pub name: String,
    pub status: TargetStatus,
    pub changes: Vec<Change>,
}

/// Which session a diff side is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffSide {
    pub file: String,
    pub created_at: String,
    pub tool_version: String,
}

/// What changed between two sessions, target by target (matched by name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionDiff {
    pub schema_version: u32,
    pub before: DiffSide,
    pub after: DiffSide,
    pub targets: Vec<TargetDiff>,
}

impl SessionDiff {
    pub fn has_changes(&self) -> bool {
        self.targets.iter().any(|t| t.status != TargetStatus::Unchanged)
    }
}

/// Version of the `diff --report json` contract.
pub const DIFF_SCHEMA_VERSION: u32 = 1;

/// Compare two sessions. Targets are matched by name; a name used twice is matched in order.
pub fn diff(before: &Session, before_file: &str, after: &Session, after_file: &str) -> SessionDiff {
    let side = |s: &Session, file: &str| DiffSide {
        file: file.to_string(),
        created_at: s.created_at.clone(),
        tool_version: s.tool_version.clone(),
    };
    let mut used = vec![false; before.targets.len()];
    let mut targets = Vec::new();
    for b in &after.targets {
        let matched = before.targets.iter().enumerate().find(|(i, a)| !used[*i] && a.name == b.name).map(|(i, a)| {
            used[i] = true;
            a
        });
        match matched {
            Some(a) => {
                let changes = target_changes(a, b);
                let status = if changes.is_empty() { TargetStatus::Unchanged } else { TargetStatus::Changed };
                targets.push(TargetDiff { name: b.name.clone(), status, changes });
            }
            None => targets.push(TargetDiff { name: b.name.clone(), status: TargetStatus::Added, changes: vec![] }),
        }
    }
    for (i, a) in before.targets.iter().enumerate() {
        if !used[i] {
            targets.push(TargetDiff { name: a.name.clone(), status: TargetStatus::Removed, changes: vec![] });
        }
    }
    SessionDiff {
        schema_version: DIFF_SCHEMA_VERSION,
        before: side(before, before_file),
        after: side(after, after_file),
        targets,
    }
}

fn target_changes(a: &TargetRun, b: &TargetRun) -> Vec<Change> {
    let mut out = Vec::new();
    if a.error != b.error {
        out.push(Change::ErrorChanged { before: a.error.clone(), after: b.error.clone() });
    }
    let (pa, pb) = (a.probe.as_ref(), b.probe.as_ref());
    chain_changes(
        "server",
        pa.map(|p| p.server_chain.as_slice()).unwrap_or_default(),
        pb.map(|p| p.server_chain.as_slice()).unwrap_or_default(),
        &mut out,
    );
    chain_changes(
        "client",
        pa.map(|p| p.client_chain.as_slice()).unwrap_or_default(),
        pb.map(|p| p.client_chain.as_slice()).unwrap_or_default(),
        &mut out,
    );
    chain_changes(
        "inspected",
        a.inspected.as_ref().map(|i| i.certs.as_slice()).unwrap_or_default(),
        b.inspected.as_ref().map(|i| i.certs.as_slice()).unwrap_or_default(),
        &mut out,
    );
    chain_changes("uploaded CA", &a.uploaded_cas, &b.uploaded_cas, &mut out);

    let mut verdict = |what: &str, before: Option<String>, after: Option<String>| {
        if before != after {
            let none = || "-".to_string();
            out.push(Change::VerdictChanged {
                what: what.to_string(),
                before: before.unwrap_or_else(none),
                after: after.unwrap_or_else(none),
            });
        }
    };
    verdict("handshake", pa.map(handshake_summary), pb.map(handshake_summary));
    verdict(
        "server chain verdict",
        pa.and_then(|p| p.server_verify.as_ref()).map(verdict_summary),
        pb.and_then(|p| p.server_verify.as_ref()).map(verdict_summary),
    );
    verdict("client certificate sent", pa.map(|p| yes_no(p.client_cert_sent)), pb.map(|p| yes_no(p.client_cert_sent)));
    verdict(
        "handshake without the client certificate",
        pa.and_then(|p| p.compare_without_cert.as_deref()).map(handshake_summary),
        pb.and_then(|p| p.compare_without_cert.as_deref()).map(handshake_summary),
    );
    verdict(
        "inspected chain verdict",
        a.inspected.as_ref().and_then(|i| i.verdict.as_ref()).map(verdict_summary),
        b.inspected.as_ref().and_then(|i| i.verdict.as_ref()).map(verdict_summary),
    );
    verdict(
        "Verify() against uploaded CAs",
        a.client_verify.as_ref().map(|c| verdict_summary(&c.verdict)),
        b.client_verify.as_ref().map(|c| verdict_summary(&c.verdict)),
    );
    verdict("policy answer", a.policy.as_ref().map(policy_summary), b.policy.as_ref().map(policy_summary));

    let status = |p: Option<&ProbeResult>| p.and_then(|p| p.http.as_ref()).map(|h| h.status);
    if status(pa) != status(pb) {
        out.push(Change::HttpStatusChanged { before: status(pa), after: status(pb) });
    }

    let key = |f: &Finding| (f.id.clone(), f.subject.clone());
    for f in &b.findings {
        if !a.findings.iter().any(|x| key(x) == key(f)) {
            out.push(Change::FindingAppeared { id: f.id.clone(), severity: f.severity, title: f.title.clone() });
        }
    }
    for f in &a.findings {
        if !b.findings.iter().any(|x| key(x) == key(f)) {
            out.push(Change::FindingResolved { id: f.id.clone(), severity: f.severity, title: f.title.clone() });
        }
    }
    out
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// Position by position: a chain's leaf is what rotates; intermediates and roots renew more rarely.
fn chain_changes(chain: &str, a: &[CertInfo], b: &[CertInfo], out: &mut Vec<Change>) {
    for i in 0..a.len().max(b.len()) {
        match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) if x.thumbprint_sha1 != y.thumbprint_sha1 => out.push(Change::CertificateRotated {
                chain: chain.to_string(),
                position: i,
                before: x.into(),
                after: y.into(),
            }),
            (None, Some(y)) => {
                out.push(Change::CertificateAdded { chain: chain.to_string(), position: i, certificate: y.into() })
            }
            (Some(x), None) => {
                out.push(Change::CertificateRemoved { chain: chain.to_string(), position: i, certificate: x.into() })
            }
            _ => {}
        }
    }
}

/// A verdict in openssl's words: `0 ok`, `error 10 (certificate has expired)`.
pub fn verdict_summary(v: &crate::verify::Verdict) -> String {
    if v.ok {
        "0 ok".to_string()
    } else {
        format!("error {} ({})", v.code, v.code_name)
    }
}

/// A handshake in a few words: `ok (TLSv1.3)`, `failed: alert unknown_ca`.
pub fn handshake_summary(p: &ProbeResult) -> String {
    if p.handshake.ok {
        return format!("ok ({})", p.tls.version.as_deref().unwrap_or("?"));
    }
    if p.tcp.connected {
        let what = match (&p.handshake.alert, &p.handshake.failure) {
            (Some(alert), _) => format!("alert {alert}"),
            (None, Some(f)) => f.to_string(),
            (None, None) => p.handshake.error.clone().unwrap_or_else(|| "not attempted".into()),
        };
        let when = if p.handshake.rejected_after_handshake { " after the handshake" } else { "" };
        return format!("failed{when}: {what}");
    }
    match p.failed_phase {
        Some(crate::probe::Phase::Dns) => "not attempted: DNS failed".into(),
        Some(crate::probe::Phase::Tcp) => "not attempted: TCP failed".into(),
        _ => "not attempted".into(),
    }
}

/// The policy's answer in a few words.
pub fn policy_summary(p: &PolicyEvaluation) -> String {
    if p.outcome.determined {
        p.outcome.status.to_string()
    } else {
        "undetermined".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Header;

    #[test]
    fn private_key_blocks_are_cut_out_of_any_string() {
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let key = "-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n";
        let out = remove_private_key_blocks(&format!("before\n{cert}{key}after"));
        assert!(out.contains(cert) && out.starts_with("before\n") && out.ends_with("after"), "{out}");
        assert!(!out.contains("PRIVATE KEY") && !out.contains("MHcC"), "{out}");
        // No END line: everything after BEGIN goes.
        let out = remove_private_key_blocks("x -----BEGIN PRIVATE KEY-----\nMIIE secret");
        assert_eq!(out, "x [private key removed]");
    }

    #[test]
    fn secret_values_are_redacted_everywhere_in_a_session() {
        let mut options = ProbeOptions::new("api.example", 443);
        options.headers = vec![
            Header { name: "authorization".into(), value: "Bearer token-value-123".into() },
            Header { name: "X-Trace".into(), value: "visible".into() },
        ];
        let run = TargetRun {
            name: "t".into(),
            options: Some(options),
            error: Some("server said token-value-123 is wrong".into()),
            ..Default::default()
        };
        let safe = redacted(&Session::new(vec![run])).expect("redact");
        let text = serde_json::to_string(&safe).expect("json");
        assert!(!text.contains("token-value-123"), "{text}");
        assert!(text.contains("visible"));
        assert_eq!(safe.targets[0].error.as_deref(), Some("server said [redacted] is wrong"));
        assert_eq!(secret_fragments("ab"), Vec::<String>::new(), "too short to hunt for");
    }
}
