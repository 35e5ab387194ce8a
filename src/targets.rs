//! Targets files (`probe --targets FILE`): one `HOST[:PORT]` per line, or a TOML file of named
//! `[[target]]` tables with their own options, read over the defaults a command line gives.

use std::path::{Path, PathBuf};

use crate::engine;
use crate::error::{Error, Result};
use crate::probe::{url, Header, ProbeOptions, ProbeRole, Timeouts, TlsVersionPin};
use crate::session::{MaterialRefs, PasswordRef, TargetRun};

mod source;
mod toml_shape;
pub use source::TargetSource;
use toml_shape::{TomlRole, TomlTarget, TomlTargets, TomlTls};

/// What every target gets unless its own line or table says otherwise: the probe options of a
/// command line, as plain values.
#[derive(Debug, Clone)]
pub struct TargetDefaults {
    pub role: ProbeRole,
    pub sni: Option<String>,
    pub connect_to: Option<String>,
    pub dns_server: Option<std::net::SocketAddr>,
    /// curl's `--resolve HOST:PORT:ADDR[,ADDR]` entries.
    pub resolve: Vec<String>,
    /// `--proxy` / `--noproxy` (unset: the environment decides, as for curl).
    pub proxy: crate::probe::proxy::ProxySettings,
    /// `--method`; None: POST with a body (`--data`), else GET, as curl.
    pub method: Option<String>,
    /// `--data TEXT|@FILE`: the request body (read per target; never saved).
    pub data: Option<String>,
    /// `--path`: overrides a URL's path; None takes the URL's path, or `/`.
    pub path: Option<String>,
    /// `Name: value` lines, parsed per target.
    pub headers: Vec<String>,
    pub no_http: bool,
    pub tls_version: Option<TlsVersionPin>,
    pub alpn: Vec<String>,
    /// Seconds; every phase is capped at it.
    pub timeout: Option<f64>,
    pub no_compare: bool,
    pub expiring_days: i64,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub pfx: Option<PathBuf>,
    pub password: PasswordRef,
    pub ca: Vec<PathBuf>,
    pub client_ca: Vec<PathBuf>,
    pub policy: Option<PathBuf>,
    pub azure: Vec<PathBuf>,
    /// `--offline`: no revocation fetching.
    pub offline: bool,
    /// `--deployment-cert ID=FILE` entries.
    pub deployment_certs: Vec<String>,
    /// `--named-value NAME=VALUE` entries (never saved).
    pub named_values: Vec<String>,
    /// `--forward-cert HEADER[=FORMAT]`.
    pub forward_cert: Option<String>,
}

impl Default for TargetDefaults {
    /// The command line's defaults (`probe HOST` with no options).
    fn default() -> Self {
        TargetDefaults {
            role: ProbeRole::Inbound,
            sni: None,
            connect_to: None,
            dns_server: None,
            resolve: Vec::new(),
            proxy: Default::default(),
            method: None,
            data: None,
            path: None,
            headers: Vec::new(),
            no_http: false,
            tls_version: None,
            alpn: vec!["http/1.1".into()],
            timeout: None,
            no_compare: false,
            expiring_days: crate::diagnose::DEFAULT_EXPIRING_DAYS,
            cert: None,
            key: None,
            pfx: None,
            password: PasswordRef::Prompt,
            ca: Vec::new(),
            client_ca: Vec::new(),
            policy: None,
            azure: Vec::new(),
            offline: false,
            deployment_certs: Vec::new(),
            named_values: Vec::new(),
            forward_cert: None,
        }
    }
}

fn paths(v: &[PathBuf]) -> Vec<String> {
    v.iter().map(|p| p.display().to_string()).collect()
}

impl TargetDefaults {
    /// The probe options for `target` (`https://HOST[:PORT][/PATH]` or `HOST[:PORT]`).
    pub fn probe_options(&self, target: &str) -> Result<ProbeOptions> {
        let spec = url::parse_target(target).map_err(|p| Error::Usage(format!("target {target:?}: {p}")))?;
        let mut o = ProbeOptions::new(&spec.host, spec.port);
        o.role = self.role;
        o.sni = self.sni.clone();
        o.connect_to = self.connect_to.clone();
        if let Some(ct) = &o.connect_to {
            url::ConnectTo::parse(ct).map_err(|p| Error::Usage(format!("--connect-to {ct:?}: {p}")))?;
        }
        for r in &self.resolve {
            url::Resolve::parse(r).map_err(|p| Error::Usage(format!("--resolve {r:?}: {p}")))?;
        }
        o.resolve = self.resolve.clone();
        o.proxy = self.proxy.for_host(&spec.host).map_err(Error::Usage)?;
        o.dns_server = self.dns_server;
        o.method = self.method.clone().unwrap_or_else(|| if self.data.is_some() { "POST" } else { "GET" }.into());
        o.path = self.path.clone().or(spec.path).unwrap_or_else(|| "/".into());
        url::check_path(&o.path).map_err(|p| Error::Usage(format!("--path: {p}")))?;
        o.headers = self.headers.iter().map(|h| Header::parse(h)).collect::<Result<_>>()?;
        if let Some(data) = &self.data {
            o.body = Some(crate::probe::body::RequestBody::from_arg(data)?);
            // curl's -d: a form unless -H names the type.
            if !o.headers.iter().any(|h| h.name.eq_ignore_ascii_case("content-type")) {
                o.headers
                    .push(Header { name: "Content-Type".into(), value: crate::probe::body::FORM_CONTENT_TYPE.into() });
            }
        }
        o.no_http = self.no_http;
        o.tls_version = self.tls_version;
        o.alpn = self.alpn.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        if let Some(secs) = self.timeout {
            if !(secs > 0.0 && secs.is_finite()) {
                return Err(Error::Usage(format!("--timeout {secs}: must be a positive number of seconds")));
            }
            o.timeouts = Timeouts::capped(secs);
        }
        o.compare_without_cert = !self.no_compare;
        Ok(o)
    }

    /// The material references these defaults name.
    pub fn material(&self) -> MaterialRefs {
        MaterialRefs {
            cert: self.cert.as_ref().map(|p| p.display().to_string()),
            key: self.key.as_ref().map(|p| p.display().to_string()),
            pfx: self.pfx.as_ref().map(|p| p.display().to_string()),
            password: self.password.clone(),
            ca: paths(&self.ca),
            client_ca: paths(&self.client_ca),
            policy: self.policy.as_ref().map(|p| p.display().to_string()),
            azure: paths(&self.azure),
            offline: self.offline,
            deployment_certs: self.deployment_certs.clone(),
            named_values: self.named_values.clone(),
            forward_cert: self.forward_cert.clone(),
        }
    }

    /// A probe target for `target` (`HOST[:PORT]`) with these options.
    pub fn target(&self, target: &str) -> Result<TargetRun> {
        let o = self.probe_options(target)?;
        if let Some(spec) = &self.forward_cert {
            crate::material::forward::ForwardSpec::parse(spec)?;
            if self.cert.is_none() && self.pfx.is_none() {
                return Err(Error::Usage(format!(
                    "--forward-cert {spec}: needs the client certificate (--cert or --pfx)"
                )));
            }
        }
        Ok(TargetRun { expiring_days: Some(self.expiring_days), ..engine::probe_target(o, self.material()) })
    }
}

/// Read a targets file: one `HOST[:PORT]` per line (`#` starts a comment), or a TOML file of named
/// `[[target]]` tables with their own options. Errors name the file and the line.
pub fn targets_from_file(file: &Path, defaults: &TargetDefaults) -> Result<Vec<TargetRun>> {
    Ok(read_entries(file, defaults, BadEntry::Abort)?.into_iter().map(|e| e.run).collect())
}

/// What to do with an entry of a targets file that is wrong on its own (a bad value, a duplicate
/// name): the file as a whole (its syntax, no targets at all) is always an input error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadEntry {
    /// The first bad entry is the input error (`--fail-fast`, watch, the exporter).
    Abort,
    /// The entry becomes a target that carries its error; the others run.
    Record,
}

/// One target of a targets file and where it is written (`FILE:LINE`).
#[derive(Debug, Clone)]
pub struct Entry {
    pub run: TargetRun,
    pub at: String,
}

/// The entries of a targets file; with [`BadEntry::Record`] an entry that is wrong on its own is a
/// target whose `error` names the file, the line or table and the field.
pub fn read_entries(file: &Path, defaults: &TargetDefaults, bad: BadEntry) -> Result<Vec<Entry>> {
    let origin = file.display().to_string();
    let text = crate::fsio::read_text_capped(file, crate::fsio::TARGETS_CAP)?;
    let is_toml = file.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"))
        || text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .is_some_and(|l| l.starts_with('['));
    let mut entries = Vec::new();
    let mut keep = |name: String, at: String, run: Result<TargetRun>| -> Result<()> {
        match run {
            Ok(run) => entries.push(Entry { run, at }),
            Err(e) if bad == BadEntry::Abort => return Err(e),
            Err(e) => entries
                .push(Entry { run: engine::with_error(TargetRun { name, ..Default::default() }, e.to_string()), at }),
        }
        Ok(())
    };
    if is_toml {
        toml_targets(&text, file, defaults, bad, &mut keep)?;
    } else {
        plain_targets(&text, &origin, defaults, &mut keep)?;
    }
    if entries.is_empty() {
        let what = if is_toml { "no [[target]] tables" } else { "no targets (only comments and blank lines)" };
        return Err(Error::input(origin, what));
    }
    Ok(entries)
}

/// Takes each entry: its name, where it is, and the target or the one-line error about it.
type Keep<'a> = dyn FnMut(String, String, Result<TargetRun>) -> Result<()> + 'a;

fn plain_targets(text: &str, origin: &str, defaults: &TargetDefaults, keep: &mut Keep<'_>) -> Result<()> {
    for (n, line) in text.lines().enumerate() {
        let at = format!("{origin}:{}", n + 1);
        match plain_line(line, &at, defaults) {
            Ok(None) => {}
            Ok(Some(run)) => keep(plain_label(line), at, Ok(run))?,
            Err(e) => keep(plain_label(line), at, Err(e))?,
        }
    }
    Ok(())
}

/// One line of a plain targets file (`at` is `FILE:LINE`): a target, or nothing for a comment or
/// a blank line.
fn plain_line(line: &str, at: &str, defaults: &TargetDefaults) -> Result<Option<TargetRun>> {
    let line = line.split('#').next().unwrap_or("").trim();
    if line.is_empty() {
        return Ok(None);
    }
    if line.split_whitespace().count() > 1 {
        return Err(Error::input(
            at,
            format!("{:?}: expected one HOST[:PORT] per line (use a TOML targets file for options)", line),
        ));
    }
    defaults.target(line).map(Some).map_err(|e| Error::input(at, e.to_string()))
}

/// What a line of a plain targets file is called when it is wrong: the line without its comment.
fn plain_label(line: &str) -> String {
    crate::text::clean(line.split('#').next().unwrap_or("").trim())
}

/// "target N, field F: " for a value that does not fit its field (empty when the path says nothing).
fn toml_entry(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut table = None;
    let mut field = None;
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } if table.is_none() => table = Some(index + 1),
            Segment::Map { key } if table.is_some() && field.is_none() => field = Some(key.clone()),
            _ => {}
        }
    }
    match (table, field) {
        (Some(t), Some(f)) => format!("target {t}, field {}: ", crate::text::clean(&f)),
        (Some(t), None) => format!("target {t}: "),
        _ => String::new(),
    }
}

/// The 1-based line where each `[[target]]` table starts.
fn toml_table_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let l = l.trim();
            l.starts_with("[[") && l.trim_start_matches('[').trim_start().starts_with("target")
        })
        .map(|(i, _)| i + 1)
        .collect()
}

/// The 1-based line of `field = ` inside the table that starts at line `from` (before line `to`).
fn field_line(text: &str, field: &str, from: usize, to: usize) -> Option<usize> {
    text.lines().enumerate().skip(from).take(to.saturating_sub(from)).find_map(|(i, l)| {
        let l = l.trim_start();
        let rest = l.strip_prefix(field).or_else(|| l.strip_prefix(&format!("\"{field}\"")))?;
        rest.trim_start().starts_with('=').then_some(i + 1)
    })
}

/// The tables of a file whose whole-file parse failed on one table's value: each table alone,
/// so one bad value costs only its own table.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlValues {
    #[serde(default)]
    target: Vec<toml::Value>,
}

/// A TOML targets file parsed: each table as written (only what it sets) or, with
/// [`BadEntry::Record`], the label and one-line error of a table whose value is wrong; where each
/// table starts; the directory relative paths are taken from.
struct TomlTables {
    targets: Vec<std::result::Result<TomlTarget, (String, Error)>>,
    lines: Vec<usize>,
    origin: String,
    base: PathBuf,
}

fn toml_targets(text: &str, file: &Path, defaults: &TargetDefaults, bad: BadEntry, keep: &mut Keep<'_>) -> Result<()> {
    let tables = TomlTables::parse(text, file, bad)?;
    let mut names = std::collections::HashSet::new();
    for (i, t) in tables.targets.into_iter().enumerate() {
        let at = toml_at(&tables.origin, &tables.lines, i);
        match t {
            Err((label, e)) => keep(label, at, Err(e))?,
            Ok(t) => {
                let label = toml_label(&t);
                let run = toml_run(t, &at, &tables.base, defaults).and_then(|run| unique(&mut names, run, &at));
                keep(label, at, run)?;
            }
        }
    }
    Ok(())
}

/// `run`, unless its name was taken by an earlier table (`names` holds those).
fn unique(names: &mut std::collections::HashSet<String>, run: TargetRun, at: &str) -> Result<TargetRun> {
    if !names.insert(run.name.clone()) {
        return Err(Error::input(at, format!("target name {:?} is used twice", run.name)));
    }
    Ok(run)
}

/// What a table is called when it is wrong: its `name`, else its `host`.
fn toml_label(t: &TomlTarget) -> String {
    crate::text::clean(&t.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| t.host.clone()))
}

/// `FILE:LINE` of the `i`th table.
fn toml_at(origin: &str, lines: &[usize], i: usize) -> String {
    match lines.get(i) {
        Some(l) => format!("{origin}:{l}"),
        None => format!("{origin}: target {}", i + 1),
    }
}

/// The target one table describes, relative paths taken from `base` (names are checked for
/// uniqueness by the caller).
fn toml_run(t: TomlTarget, at: &str, base: &Path, defaults: &TargetDefaults) -> Result<TargetRun> {
    let rel = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
    toml_target(t, defaults, &rel, at)
}

impl TomlTables {
    fn parse(text: &str, file: &Path, bad: BadEntry) -> Result<TomlTables> {
        let origin = file.display().to_string();
        let syntax = |e: toml::de::Error, entry: String| {
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let at = line.map(|l| format!("{origin}:{l}")).unwrap_or_else(|| origin.clone());
            Error::input(at, format!("{entry}{}", crate::text::clean(e.message().trim())))
        };
        let lines = toml_table_lines(text);
        let de = toml::Deserializer::parse(text).map_err(|e| syntax(e, String::new()))?;
        // Each table, or the error about it with the label its `name` or `host` gives it.
        let targets: Vec<std::result::Result<TomlTarget, (String, Error)>> = match serde_path_to_error::deserialize(de)
        {
            Ok(TomlTargets { target }) => target.into_iter().map(Ok).collect(),
            Err(e) => {
                let entry = toml_entry(e.path());
                let whole = syntax(e.into_inner(), entry.clone());
                // A value wrong in one table (not the file's shape): read each table on its own.
                if entry.is_empty() || bad == BadEntry::Abort {
                    return Err(whole);
                }
                let Ok(TomlValues { target }) = toml::from_str::<TomlValues>(text) else { return Err(whole) };
                target
                    .into_iter()
                    .enumerate()
                    .map(|(i, value)| {
                        let label = ["name", "host"]
                            .iter()
                            .find_map(|k| value.get(k).and_then(toml::Value::as_str).filter(|v| !v.trim().is_empty()))
                            .map(crate::text::clean)
                            .unwrap_or_else(|| format!("target {}", i + 1));
                        serde_path_to_error::deserialize::<_, TomlTarget>(value).map_err(|e| {
                            let entry = toml_entry_at(i, e.path());
                            let from = lines.get(i).copied().unwrap_or(1);
                            let to = lines.get(i + 1).copied().unwrap_or(usize::MAX);
                            let line = entry.1.as_deref().and_then(|f| field_line(text, f, from, to)).unwrap_or(from);
                            let problem = crate::text::clean(e.into_inner().message().trim());
                            (label, Error::input(format!("{origin}:{line}"), format!("{}{problem}", entry.0)))
                        })
                    })
                    .collect()
            }
        };
        if targets.is_empty() {
            return Err(Error::input(origin, "no [[target]] tables"));
        }
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(TomlTables { targets, lines, origin, base })
    }
}

/// "target N, field F: " and F, for a value of table `index` (read alone) that does not fit.
fn toml_entry_at(index: usize, path: &serde_path_to_error::Path) -> (String, Option<String>) {
    use serde_path_to_error::Segment;
    let field = path.iter().find_map(|s| match s {
        Segment::Map { key } => Some(key.clone()),
        _ => None,
    });
    match field {
        Some(f) => (format!("target {}, field {}: ", index + 1, crate::text::clean(&f)), Some(f)),
        None => (format!("target {}: ", index + 1), None),
    }
}

/// One table as a target; the error names where it is (`at`).
fn toml_target(
    t: TomlTarget,
    defaults: &TargetDefaults,
    rel: &dyn Fn(PathBuf) -> PathBuf,
    at: &str,
) -> Result<TargetRun> {
    let target = match t.port {
        Some(_) if t.host.contains("://") => {
            return Err(Error::input(at, "give the port inside the URL in host, not as port"))
        }
        Some(port) => format!("{}:{port}", url::bracket(&t.host)),
        None => t.host.clone(),
    };
    let name = t.name.clone();
    let a = overlay(defaults, t, rel).map_err(|problem| Error::input(at, problem))?;
    let mut run = a.target(&target).map_err(|e| Error::input(at, e.to_string()))?;
    if let Some(name) = name {
        if name.trim().is_empty() {
            return Err(Error::input(at, "name is empty"));
        }
        run.name = name;
    }
    Ok(run)
}

/// The defaults with a table's own options laid over them; the error is the problem alone.
fn overlay(
    defaults: &TargetDefaults,
    t: TomlTarget,
    rel: &dyn Fn(PathBuf) -> PathBuf,
) -> std::result::Result<TargetDefaults, String> {
    let mut a = defaults.clone();
    if let Some(r) = t.role {
        a.role = match r {
            TomlRole::Inbound => ProbeRole::Inbound,
            TomlRole::Outbound => ProbeRole::Outbound,
        };
    }
    if t.sni.is_some() {
        a.sni = t.sni;
    }
    if t.connect_to.is_some() {
        a.connect_to = t.connect_to;
    }
    if t.dns_server.is_some() {
        a.dns_server = t.dns_server;
    }
    if let Some(m) = t.method {
        a.method = Some(m);
    }
    if let Some(d) = t.data {
        // `@FILE` is relative to the targets file, like every other path in it.
        a.data = Some(match d.strip_prefix('@') {
            Some(f) if !f.is_empty() => format!("@{}", rel(PathBuf::from(f)).display()),
            _ => d,
        });
    }
    if let Some(p) = t.path {
        a.path = Some(p);
    }
    if let Some(r) = t.resolve {
        a.resolve = r;
    }
    if let Some(h) = t.headers {
        a.headers = h;
    }
    if let Some(v) = t.no_http {
        a.no_http = v;
    }
    if let Some(v) = t.tls {
        a.tls_version = Some(match v {
            TomlTls::V12 => TlsVersionPin::Tls12,
            TomlTls::V13 => TlsVersionPin::Tls13,
        });
    }
    if let Some(v) = t.alpn {
        a.alpn = v;
    }
    if t.timeout.is_some() {
        a.timeout = t.timeout;
    }
    if let Some(v) = t.no_compare {
        a.no_compare = v;
    }
    if let Some(v) = t.expiring_days {
        a.expiring_days = v;
    }
    // An identity given in the file replaces the command line's whole identity.
    if t.cert.is_some() || t.pfx.is_some() {
        a.cert = t.cert.map(rel);
        a.key = t.key.map(rel);
        a.pfx = t.pfx.map(rel);
    } else if t.key.is_some() {
        return Err("key is given without cert".into());
    }
    match (t.pfx_password_env, t.pfx_password_file) {
        (Some(var), _) => a.password = PasswordRef::Env { var },
        (None, Some(f)) => a.password = PasswordRef::File { path: rel(f).display().to_string() },
        (None, None) => {}
    }
    if let Some(v) = t.ca {
        a.ca = v.into_iter().map(rel).collect();
    }
    if let Some(v) = t.client_ca {
        a.client_ca = v.into_iter().map(rel).collect();
    }
    if let Some(v) = t.policy {
        a.policy = Some(rel(v));
    }
    if let Some(v) = t.azure {
        a.azure = v.into_iter().map(rel).collect();
    }
    if let Some(v) = t.forward_cert {
        a.forward_cert = Some(v);
    }
    Ok(a)
}

#[cfg(test)]
mod entry_tests;

#[cfg(test)]
mod tests;
