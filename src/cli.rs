//! The command line: clap definitions and the headless runners behind each subcommand. `main.rs`
//! only parses and maps the result to an exit code.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine;
use crate::error::{Error, Result};
use crate::material::{self, PasswordSource};
use crate::probe::{self, Header, ProbeOptions, ProbeRole, Timeouts, TlsVersionPin};
use crate::report::{self, Format};
use crate::session::{self, InspectContext, MaterialRefs, PasswordRef, Session, TargetKind, TargetRun};
use crate::tui::TuiOptions;
use crate::verify::Role;

/// Exit codes (documented in README): no error finding, error findings, usage or input error.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

#[derive(Debug, Parser)]
#[command(name = "mtls-doctor", version, about = "Troubleshoot mutual-TLS handshakes to and from API gateways")]
pub struct Cli {
    /// Terminal UI theme: dark (default), light, high-contrast, or a path to a theme file.
    #[arg(long, global = true, value_name = "NAME|PATH")]
    pub theme: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show certificates exactly as an APIM policy sees them, and judge the chain.
    Inspect(Box<InspectArgs>),
    /// Perform a test handshake (and HTTP request) against a gateway or a backend.
    Probe(Box<ProbeArgs>),
    /// Open the terminal UI with a target filled in (same options as probe) and probe it.
    Tui(Box<ProbeArgs>),
    /// A TLS server that asks every client for its certificate and shows what it presents.
    Listen(Box<ListenArgs>),
    /// Start the built-in lab on loopback and diagnose a session of lab targets.
    Demo(DemoArgs),
    /// Re-run the targets of a saved session and report (and save) the new results.
    Replay(Box<ReplayArgs>),
    /// Show what changed between two saved sessions (certificates, verdicts, HTTP status, findings).
    Diff(DiffArgs),
    /// Open a saved session read-only.
    Open(OpenArgs),
    /// Probe targets again and again and show only what changed, with the time (JSON Lines with
    /// --report json).
    Watch(Box<WatchArgs>),
    /// Serve Prometheus, blackbox_exporter style: /probe?target=NAME runs a target of the targets
    /// file now, /metrics describes the exporter (OpenMetrics text).
    Exporter(ExporterArgs),
}

#[derive(Debug, Args, Clone)]
pub struct WatchArgs {
    /// Pause between the end of one run and the start of the next (30s, 2m, 500ms).
    #[arg(long, default_value = "30s", value_parser = crate::watch::parse_interval)]
    pub interval: std::time::Duration,
    /// End the watch (exit 0) when every target is healthy (ok) or anything changed (changed).
    #[arg(long, value_enum)]
    pub until: Option<CliUntil>,
    /// Stop after this many runs (exit 1 if --until was not met by then).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_runs: Option<u64>,
    #[command(flatten)]
    pub probe: ProbeArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CliUntil {
    Ok,
    Changed,
}

#[derive(Debug, Args, Clone)]
pub struct ExporterArgs {
    /// The TOML targets file ([[target]] tables with name, host and material; see docs/exporter.md).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Address to serve on.
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:9219")]
    pub listen: std::net::SocketAddr,
    /// Probes running at once; more scrapes wait up to --queue-wait, then get 503.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub max_concurrent: usize,
    /// How long a scrape may wait for a free probe slot, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    pub queue_wait: f64,
    /// Upper bound of one probe (the comparison without the certificate included), in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 20.0)]
    pub probe_timeout: f64,
}

/// `--save FILE`: write the session (inputs, observations, findings; never a secret).
#[derive(Debug, Args, Clone, Default)]
pub struct SaveArgs {
    /// Save the session to this file (JSON; private keys, passwords and secret header values are
    /// never included).
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct ReplayArgs {
    /// A session saved with --save.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Value for a header the session saved as [redacted], 'Name: value' (repeatable). Without it
    /// the value is asked for on the terminal, or the header is left out.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// How many probes run at once.
    #[arg(short = 'j', long, default_value_t = 16)]
    pub jobs: usize,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub session: SaveArgs,
}

#[derive(Debug, Args, Clone)]
pub struct DiffArgs {
    /// The earlier session.
    #[arg(value_name = "BEFORE")]
    pub before: PathBuf,
    /// The later session.
    #[arg(value_name = "AFTER")]
    pub after: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args, Clone)]
pub struct OpenArgs {
    /// A session saved with --save.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args, Clone)]
pub struct ListenArgs {
    /// Address to listen on, e.g. 127.0.0.1:8443 or [::1]:8443.
    #[arg(long, value_name = "ADDR")]
    pub bind: std::net::SocketAddr,
    /// Server certificate (chain), PEM/DER, or a .pfx with its key.
    #[arg(long, value_name = "FILE")]
    pub cert: PathBuf,
    /// Private key for --cert (not needed with a .pfx).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// CA certificates client certificates are judged against (they are never refused for it).
    #[arg(long, value_name = "FILE")]
    pub ca: Vec<PathBuf>,
    /// Refuse handshakes without a client certificate.
    #[arg(long)]
    pub require_client_cert: bool,
    /// Exit after this many connections.
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    #[command(flatten)]
    pub password: PasswordArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// Print a report instead of opening the terminal UI.
    #[arg(long)]
    pub headless: bool,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub session: SaveArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CliRole {
    Client,
    Server,
}

#[derive(Debug, Args, Clone, Default)]
pub struct PasswordArgs {
    /// Read the PFX password from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub pfx_password_env: Option<String>,
    /// Read the PFX password from the first line of this file.
    #[arg(long, value_name = "FILE", conflicts_with = "pfx_password_env")]
    pub pfx_password_file: Option<PathBuf>,
}

impl PasswordArgs {
    pub fn source(&self) -> PasswordSource {
        match (&self.pfx_password_env, &self.pfx_password_file) {
            (Some(var), _) => PasswordSource::Env(var.clone()),
            (None, Some(file)) => PasswordSource::File(file.clone()),
            (None, None) => PasswordSource::Prompt,
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Headless output format.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub report: Option<Format>,
    /// Write the report to this file instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// What the diagnosis is given besides the handshake: shared by `inspect`, `probe` and `tui`.
#[derive(Debug, Args, Clone)]
pub struct DiagnosisArgs {
    /// Warn about certificates that expire within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = crate::diagnose::DEFAULT_EXPIRING_DAYS)]
    pub expiring_days: i64,
    /// An APIM policy (XML) to evaluate against the certificate actually presented.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// CA certificates uploaded to the gateway (what Verify() chains to; repeatable).
    #[arg(long, value_name = "FILE")]
    pub client_ca: Vec<PathBuf>,
    /// Azure configuration exported with the az CLI (az apim show, certificates, backends, role
    /// assignments; repeatable).
    #[arg(long, value_name = "FILE")]
    pub azure: Vec<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct InspectArgs {
    /// Certificate, key or PFX files (PEM, DER, .cer/.crt, .pfx/.p12; detected by content).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Trusted CA certificates (PEM or DER; repeatable). Default: the system store.
    #[arg(long, value_name = "FILE")]
    pub ca: Vec<PathBuf>,
    /// Judge the chain as a client or a server certificate.
    #[arg(long, value_enum, default_value = "client")]
    pub role: CliRole,
    /// Check the server certificate against this host name (server role).
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    #[command(flatten)]
    pub diagnosis: DiagnosisArgs,
    #[command(flatten)]
    pub password: PasswordArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub session: SaveArgs,
}

#[derive(Debug, Args, Clone)]
pub struct ProbeArgs {
    /// HOST[:PORT] (port 443 by default); several targets run concurrently.
    #[arg(required_unless_present = "targets_file", value_name = "TARGET")]
    pub targets: Vec<String>,
    /// More targets: one HOST[:PORT] per line (# comments), or a TOML file of named targets with
    /// their own options ([[target]] tables; see docs/sessions.md).
    #[arg(long = "targets", value_name = "FILE")]
    pub targets_file: Option<PathBuf>,
    /// inbound: you are the API client calling the gateway; outbound: you stand in for the gateway
    /// calling the backend.
    #[arg(long, value_enum, default_value = "inbound")]
    pub role: CliProbeRole,
    /// Client certificate (PEM/DER, may include the chain).
    #[arg(long, value_name = "FILE", requires = "key", conflicts_with = "pfx")]
    pub cert: Option<PathBuf>,
    /// Private key for --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Client certificate and key as PKCS#12 (.pfx/.p12), e.g. as held in Key Vault.
    #[arg(long, value_name = "FILE")]
    pub pfx: Option<PathBuf>,
    /// Trust for the server's chain (repeatable). Default: the system store.
    #[arg(long, value_name = "FILE")]
    pub ca: Vec<PathBuf>,
    /// Server name to send (default: the target host).
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,
    /// Connect to HOST:PORT instead, keeping the target for SNI and Host: (like curl --connect-to).
    #[arg(long, value_name = "HOST:PORT")]
    pub connect_to: Option<String>,
    /// Ask this DNS server (IP:PORT) instead of the system resolver.
    #[arg(long, value_name = "IP:PORT")]
    pub dns_server: Option<std::net::SocketAddr>,
    #[arg(long, default_value = "GET")]
    pub method: String,
    #[arg(long, default_value = "/")]
    pub path: String,
    /// Extra request header 'Name: value' (repeatable). Secret values are never shown.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Stop after the handshake (a short read still catches a TLS 1.3 rejection).
    #[arg(long)]
    pub no_http: bool,
    /// Pin the TLS version.
    #[arg(long = "tls", value_enum)]
    pub tls_version: Option<CliTls>,
    /// ALPN protocols to offer, comma-separated.
    #[arg(long, default_value = "http/1.1", value_delimiter = ',')]
    pub alpn: Vec<String>,
    /// Upper bound for every phase, in seconds.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Do not repeat the probe without the client certificate.
    #[arg(long)]
    pub no_compare: bool,
    /// How many probes run at once.
    #[arg(short = 'j', long, default_value_t = 16)]
    pub jobs: usize,
    #[command(flatten)]
    pub diagnosis: DiagnosisArgs,
    #[command(flatten)]
    pub password: PasswordArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub session: SaveArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CliProbeRole {
    Inbound,
    Outbound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CliTls {
    #[value(name = "1.2")]
    V12,
    #[value(name = "1.3")]
    V13,
}

/// Write a report to `-o FILE` (atomically) or standard output.
pub fn emit(output: &OutputArgs, text: &str) -> Result<()> {
    match &output.output {
        Some(path) => write_atomically(path, text.as_bytes()),
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
            Ok(())
        }
    }
}

/// Temporary file in the same directory, fsync, rename: the old file survives any failure.
pub use crate::session::write_atomically;

fn paths(v: &[PathBuf]) -> Vec<String> {
    v.iter().map(|p| p.display().to_string()).collect()
}

fn password_ref(p: &PasswordArgs) -> PasswordRef {
    match (&p.pfx_password_env, &p.pfx_password_file) {
        (Some(var), _) => PasswordRef::Env { var: var.clone() },
        (None, Some(f)) => PasswordRef::File { path: f.display().to_string() },
        (None, None) => PasswordRef::Prompt,
    }
}

pub fn run_inspect(args: &InspectArgs) -> Result<i32> {
    let material = MaterialRefs {
        password: password_ref(&args.password),
        ca: paths(&args.ca),
        client_ca: paths(&args.diagnosis.client_ca),
        policy: args.diagnosis.policy.as_ref().map(|p| p.display().to_string()),
        azure: paths(&args.diagnosis.azure),
        ..Default::default()
    };
    let loaded = engine::load(&material)?;
    let role = match args.role {
        CliRole::Client => Role::Client,
        CliRole::Server => Role::Server,
    };
    let files = paths(&args.files);
    let run = TargetRun {
        name: files.join(", "),
        kind: TargetKind::Inspect,
        files,
        material,
        inspect: Some(InspectContext { role, host: args.host.clone(), trust: String::new(), origins: vec![] }),
        expiring_days: Some(args.diagnosis.expiring_days),
        ..Default::default()
    };
    let run = inspect_target(run, &loaded)?;
    finish(&Session::new(vec![run]).with_command("inspect"), &args.output, &args.session)
}

/// Inspect a target's files through the engine (which also describes the keys found, never their
/// bytes, and where each certificate came from), so the session renders exactly as the run did.
pub fn inspect_target(run: TargetRun, loaded: &engine::Loaded) -> Result<TargetRun> {
    let (role, host) = run.inspect.as_ref().map(|c| (c.role, c.host.clone())).unwrap_or((Role::Client, None));
    engine::run_inspect_target(run, role, host, loaded)
}

/// The end of every run that makes a session: redact it, print the report, save it if asked.
/// Reports and the saved file are drawn from the same redacted session.
pub fn finish(session: &Session, output: &OutputArgs, save: &SaveArgs) -> Result<i32> {
    let safe = session::redacted(session)?;
    let text = report::render_session(&safe, output.report.unwrap_or(Format::Text));
    emit(output, &text)?;
    if let Some(path) = &save.save {
        session::save(&safe, path)?;
    }
    Ok(exit_code(&safe.findings().cloned().collect::<Vec<_>>()))
}

/// 1 when any finding is an error, else 0.
pub fn exit_code(findings: &[crate::diagnose::Finding]) -> i32 {
    if crate::diagnose::has_errors(findings) {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// Build the probe options for one target from the command line.
pub fn probe_options(args: &ProbeArgs, target: &str) -> Result<ProbeOptions> {
    let (host, port) = ProbeOptions::parse_target(target)?;
    let mut o = ProbeOptions::new(&host, port);
    o.role = match args.role {
        CliProbeRole::Inbound => ProbeRole::Inbound,
        CliProbeRole::Outbound => ProbeRole::Outbound,
    };
    o.sni = args.sni.clone();
    o.connect_to = args.connect_to.clone();
    if let Some(ct) = &o.connect_to {
        probe::parse_host_port(ct, Some(port)).map_err(|p| Error::Usage(format!("--connect-to {ct:?}: {p}")))?;
    }
    o.dns_server = args.dns_server;
    o.method = args.method.clone();
    o.path = args.path.clone();
    o.headers = args.headers.iter().map(|h| Header::parse(h)).collect::<Result<_>>()?;
    o.no_http = args.no_http;
    o.tls_version = args.tls_version.map(|v| match v {
        CliTls::V12 => TlsVersionPin::Tls12,
        CliTls::V13 => TlsVersionPin::Tls13,
    });
    o.alpn = args.alpn.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    if let Some(secs) = args.timeout {
        if !(secs > 0.0 && secs.is_finite()) {
            return Err(Error::Usage(format!("--timeout {secs}: must be a positive number of seconds")));
        }
        o.timeouts = Timeouts::capped(secs);
    }
    o.compare_without_cert = !args.no_compare;
    Ok(o)
}

/// The material references a probe command line names.
pub fn probe_material(args: &ProbeArgs) -> MaterialRefs {
    MaterialRefs {
        cert: args.cert.as_ref().map(|p| p.display().to_string()),
        key: args.key.as_ref().map(|p| p.display().to_string()),
        pfx: args.pfx.as_ref().map(|p| p.display().to_string()),
        password: password_ref(&args.password),
        ca: paths(&args.ca),
        client_ca: paths(&args.diagnosis.client_ca),
        policy: args.diagnosis.policy.as_ref().map(|p| p.display().to_string()),
        azure: paths(&args.diagnosis.azure),
    }
}

/// The targets a probe command line names: its HOST[:PORT] arguments, then its `--targets` file.
fn command_line_targets(args: &ProbeArgs) -> Result<Vec<TargetRun>> {
    let mut targets = Vec::new();
    for t in &args.targets {
        let o = probe_options(args, t)?;
        targets.push(TargetRun {
            expiring_days: Some(args.diagnosis.expiring_days),
            ..engine::probe_target(o, probe_material(args))
        });
    }
    if let Some(file) = &args.targets_file {
        targets.extend(targets_from_file(file, args)?);
    }
    Ok(targets)
}

pub fn run_probe(args: &ProbeArgs) -> Result<i32> {
    let targets = command_line_targets(args)?;
    if targets.is_empty() {
        return Err(Error::Usage("no targets: give HOST[:PORT] or a --targets file that lists some".into()));
    }
    let prepared = load_materials(targets, LoadFailure::Abort)?;
    let runs = runtime()?.block_on(run_prepared(prepared, args.jobs.max(1)));
    finish(&Session::new(runs).with_command("probe"), &args.output, &args.session)
}

/// What to do when a target's material does not load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadFailure {
    /// A command line or targets file naming a bad file is an input error (exit 2).
    Abort,
    /// A replay goes on: that target reports the error, the others run.
    RecordInTarget,
}

/// Load each distinct set of material once, in target order, so a password is asked for once and
/// prompts never interleave with running probes.
pub fn load_materials(
    targets: Vec<TargetRun>,
    on_failure: LoadFailure,
) -> Result<Vec<(TargetRun, Option<Arc<engine::Loaded>>)>> {
    let mut cache: Vec<(MaterialRefs, std::result::Result<Arc<engine::Loaded>, String>)> = Vec::new();
    let mut out = Vec::new();
    for mut t in targets {
        if t.error.is_some() {
            out.push((t, None));
            continue;
        }
        let loaded = match cache.iter().find(|(m, _)| *m == t.material) {
            Some((_, l)) => l.clone(),
            None => {
                let l = engine::load(&t.material).map(Arc::new);
                let l = match (l, on_failure) {
                    (Ok(l), _) => Ok(l),
                    (Err(e), LoadFailure::Abort) => return Err(e),
                    (Err(e), LoadFailure::RecordInTarget) => Err(e.to_string()),
                };
                cache.push((t.material.clone(), l.clone()));
                l
            }
        };
        match loaded {
            Ok(l) => out.push((t, Some(l))),
            Err(e) => {
                t.error = Some(e);
                out.push((t, None));
            }
        }
    }
    Ok(out)
}

/// A progress bar on stderr, only when stderr is a terminal: pipes and files stay clean.
fn progress_bar(len: usize) -> Option<indicatif::ProgressBar> {
    if len == 0 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(len as u64), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} targets {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

/// Run prepared targets concurrently (at most `jobs` at once); results in the order given. A
/// target without material (its error already recorded) is passed through.
pub async fn run_prepared(targets: Vec<(TargetRun, Option<Arc<engine::Loaded>>)>, jobs: usize) -> Vec<TargetRun> {
    let gate = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let bar = progress_bar(targets.len());
    let mut handles = Vec::new();
    for (t, loaded) in targets {
        let gate = gate.clone();
        let bar = bar.clone();
        let fallback = t.clone();
        handles.push((
            fallback,
            tokio::spawn(async move {
                let _permit = gate.acquire_owned().await;
                let done = match loaded {
                    None => t,
                    Some(loaded) => match t.kind {
                        TargetKind::Probe => engine::run_probe_target(t, &loaded).await,
                        TargetKind::Inspect => {
                            let fallback = t.clone();
                            inspect_target(t, &loaded)
                                .unwrap_or_else(|e| TargetRun { error: Some(e.to_string()), ..fallback })
                        }
                    },
                };
                if let Some(bar) = &bar {
                    bar.set_message(done.name.clone());
                    bar.inc(1);
                }
                done
            }),
        ));
    }
    let mut out = Vec::new();
    for (fallback, h) in handles {
        match h.await {
            Ok(r) => out.push(r),
            Err(e) => {
                let mut f = fallback;
                f.error = Some(format!("the probe task failed: {e}"));
                out.push(f);
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    out
}

/// `listen`: one line (text) or one JSON object (JSON Lines) per connection, as they end.
pub fn run_listen(args: &ListenArgs) -> Result<i32> {
    let pw = args.password.source();
    let identity = material::load_identity(&args.cert, args.key.as_deref(), &pw)?;
    let ca: Vec<rustls::pki_types::CertificateDer<'static>> =
        engine::load_certs(&paths(&args.ca))?.into_iter().map(|c| c.der.into()).collect();
    let cfg = crate::listen::ListenConfig {
        bind: args.bind,
        chain: identity.chain.iter().map(|c| c.der.clone().into()).collect(),
        key: identity.key.der().clone_key(),
        ca,
        require_client_cert: args.require_client_cert,
        max_connections: args.max_connections,
    };
    let format = args.output.report.unwrap_or(Format::Text);
    let rt = runtime()?;
    rt.block_on(async move {
        let listener = crate::listen::bind(&cfg).await?;
        let local = listener.local_addr().map_err(|e| Error::io(args.bind.to_string(), e))?;
        eprintln!("mtls-doctor: listening on {local} (asks every client for a certificate; Ctrl-C to stop)");
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let server = tokio::spawn(crate::listen::run_listener(cfg, listener, tx));
        let mut sink: Box<dyn std::io::Write + Send> = match &args.output.output {
            Some(path) => Box::new(std::fs::File::create(path).map_err(|e| Error::io(path, e))?),
            None => Box::new(std::io::stdout()),
        };
        loop {
            tokio::select! {
                rec = rx.recv() => {
                    let Some(rec) = rec else { break };
                    let line = match format {
                        Format::Json => serde_json::to_string(&rec).unwrap_or_default(),
                        Format::Text => report::listen_line(&rec),
                        Format::Markdown => format!("- {}", report::md_text(&report::listen_line(&rec))),
                    };
                    let _ = writeln!(sink, "{line}");
                    let _ = sink.flush();
                }
                _ = tokio::signal::ctrl_c() => break,
            }
        }
        server.abort();
        Ok::<(), Error>(())
    })?;
    Ok(EXIT_OK)
}

/// `demo`: start the lab, run its targets, show the session.
pub fn run_demo(args: &DemoArgs, theme: Option<String>) -> Result<i32> {
    let dir = tempfile::tempdir().map_err(|e| Error::Usage(format!("cannot create a temporary directory: {e}")))?;
    let rt = runtime()?;
    // A bad theme is an input error before anything starts.
    crate::tui::Theme::load(theme.as_deref())?;
    let (lab, session) = rt.block_on(crate::demo::start_demo(dir.path()))?;
    if !args.headless && args.session.save.is_none() && interactive(&args.output) {
        // The lab (and `dir`, holding its material) stays up while the UI can re-run targets.
        let opts = TuiOptions { theme, runtime: Some(rt.handle().clone()), ..Default::default() };
        let code = crate::tui::run_tui(session.with_command("demo"), opts);
        rt.block_on(lab.shutdown());
        return code;
    }
    let result = finish(&session.with_command("demo"), &args.output, &args.session);
    rt.block_on(lab.shutdown());
    // The demo's findings are the point of the demo, not a failure of the run.
    result.map(|_| EXIT_OK)
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))
}

/// Run the parsed command line; the error path is the caller's (exit code 2).
pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Some(Command::Inspect(a)) => run_inspect(&a),
        Some(Command::Probe(a)) => run_probe(&a),
        Some(Command::Listen(a)) => run_listen(&a),
        Some(Command::Demo(a)) => run_demo(&a, cli.theme),
        Some(Command::Tui(a)) => run_tui_command(&a, cli.theme),
        Some(Command::Replay(a)) => run_replay(&a),
        Some(Command::Diff(a)) => run_diff(&a),
        Some(Command::Open(a)) => run_open(&a, cli.theme),
        Some(Command::Watch(a)) => run_watch(&a),
        Some(Command::Exporter(a)) => run_exporter(&a),
        None => {
            use std::io::IsTerminal as _;
            if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
                crate::tui::run_tui(Session::new(vec![]), TuiOptions { theme: cli.theme, ..Default::default() })
            } else {
                Err(Error::Usage("no command given and not on a terminal (try `mtls-doctor --help`)".into()))
            }
        }
    }
}

// ---- Targets files, replay, diff, open (issue 5) ----

/// One `[[target]]` of a TOML targets file: every option a probe takes on the command line. Unset
/// options come from the command line; relative paths are relative to the targets file.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlTarget {
    name: Option<String>,
    host: String,
    port: Option<u16>,
    role: Option<TomlRole>,
    sni: Option<String>,
    connect_to: Option<String>,
    dns_server: Option<std::net::SocketAddr>,
    method: Option<String>,
    path: Option<String>,
    headers: Option<Vec<String>>,
    no_http: Option<bool>,
    tls: Option<TomlTls>,
    alpn: Option<Vec<String>>,
    timeout: Option<f64>,
    no_compare: Option<bool>,
    expiring_days: Option<i64>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    pfx: Option<PathBuf>,
    pfx_password_env: Option<String>,
    pfx_password_file: Option<PathBuf>,
    ca: Option<Vec<PathBuf>>,
    client_ca: Option<Vec<PathBuf>>,
    policy: Option<PathBuf>,
    azure: Option<Vec<PathBuf>>,
}

#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum TomlRole {
    Inbound,
    Outbound,
}

#[derive(Debug, Clone, Copy, serde::Deserialize)]
enum TomlTls {
    #[serde(rename = "1.2")]
    V12,
    #[serde(rename = "1.3")]
    V13,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlTargets {
    #[serde(default)]
    target: Vec<TomlTarget>,
}

/// A targets file larger than this is not a list of targets.
const MAX_TARGETS_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Read `--targets FILE`: one `HOST[:PORT]` per line (`#` starts a comment), or a TOML file of named
/// `[[target]]` tables with their own options. Errors name the file and the line.
pub fn targets_from_file(file: &Path, args: &ProbeArgs) -> Result<Vec<TargetRun>> {
    let origin = file.display().to_string();
    let meta = std::fs::metadata(file).map_err(|e| Error::io(file, e))?;
    if meta.len() > MAX_TARGETS_FILE_BYTES {
        return Err(Error::input(&origin, format!("is {} bytes: too large for a targets file", meta.len())));
    }
    let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
    let text = String::from_utf8(bytes).map_err(|_| Error::input(&origin, "is not UTF-8 text"))?;
    let is_toml = file.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"))
        || text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .is_some_and(|l| l.starts_with('['));
    if is_toml {
        toml_targets(&text, file, args)
    } else {
        plain_targets(&text, &origin, args)
    }
}

fn plain_targets(text: &str, origin: &str, args: &ProbeArgs) -> Result<Vec<TargetRun>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let at = format!("{origin}:{}", n + 1);
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if line.split_whitespace().count() > 1 {
            return Err(Error::input(
                at,
                format!("{:?}: expected one HOST[:PORT] per line (use a TOML targets file for options)", line),
            ));
        }
        let o = probe_options(args, line).map_err(|e| Error::input(&at, e.to_string()))?;
        out.push(TargetRun {
            expiring_days: Some(args.diagnosis.expiring_days),
            ..engine::probe_target(o, probe_material(args))
        });
    }
    Ok(out)
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

fn toml_targets(text: &str, file: &Path, args: &ProbeArgs) -> Result<Vec<TargetRun>> {
    let origin = file.display().to_string();
    let parsed: TomlTargets = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let at = line.map(|l| format!("{origin}:{l}")).unwrap_or_else(|| origin.clone());
        Error::input(at, e.message().trim().replace('\n', " "))
    })?;
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let rel = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
    let lines = toml_table_lines(text);
    let mut names: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (i, t) in parsed.target.into_iter().enumerate() {
        let at = match lines.get(i) {
            Some(l) => format!("{origin}:{l}"),
            None => format!("{origin}: target {}", i + 1),
        };
        let mut a = args.clone();
        let target = match t.port {
            Some(port) => format!("{}:{port}", t.host),
            None => t.host.clone(),
        };
        if let Some(r) = t.role {
            a.role = match r {
                TomlRole::Inbound => CliProbeRole::Inbound,
                TomlRole::Outbound => CliProbeRole::Outbound,
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
            a.method = m;
        }
        if let Some(p) = t.path {
            a.path = p;
        }
        if let Some(h) = t.headers {
            a.headers = h;
        }
        if let Some(v) = t.no_http {
            a.no_http = v;
        }
        if let Some(v) = t.tls {
            a.tls_version = Some(match v {
                TomlTls::V12 => CliTls::V12,
                TomlTls::V13 => CliTls::V13,
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
            a.diagnosis.expiring_days = v;
        }
        // An identity given in the file replaces the command line's whole identity.
        if t.cert.is_some() || t.pfx.is_some() {
            a.cert = t.cert.map(rel);
            a.key = t.key.map(rel);
            a.pfx = t.pfx.map(rel);
        } else if t.key.is_some() {
            return Err(Error::input(at, "key is given without cert"));
        }
        if t.pfx_password_env.is_some() || t.pfx_password_file.is_some() {
            a.password =
                PasswordArgs { pfx_password_env: t.pfx_password_env, pfx_password_file: t.pfx_password_file.map(rel) };
        }
        if let Some(v) = t.ca {
            a.ca = v.into_iter().map(rel).collect();
        }
        if let Some(v) = t.client_ca {
            a.diagnosis.client_ca = v.into_iter().map(rel).collect();
        }
        if let Some(v) = t.policy {
            a.diagnosis.policy = Some(rel(v));
        }
        if let Some(v) = t.azure {
            a.diagnosis.azure = v.into_iter().map(rel).collect();
        }
        let o = probe_options(&a, &target).map_err(|e| Error::input(&at, e.to_string()))?;
        let mut run =
            TargetRun { expiring_days: Some(a.diagnosis.expiring_days), ..engine::probe_target(o, probe_material(&a)) };
        if let Some(name) = t.name {
            if name.trim().is_empty() {
                return Err(Error::input(at, "name is empty"));
            }
            run.name = name;
        }
        if names.contains(&run.name) {
            return Err(Error::input(at, format!("target name {:?} is used twice", run.name)));
        }
        names.push(run.name.clone());
        out.push(run);
    }
    if out.is_empty() {
        return Err(Error::input(origin, "no [[target]] tables"));
    }
    Ok(out)
}

/// Secret header values were saved as `[redacted]`: take them from `-H`, else ask on the terminal
/// (once per header name), else leave the header out. Sending the placeholder would only earn a 401.
fn restore_secret_headers(run: &mut TargetRun, given: &[Header], asked: &mut Vec<Header>) -> Result<()> {
    let Some(options) = run.options.as_mut() else { return Ok(()) };
    let mut kept = Vec::new();
    for h in std::mem::take(&mut options.headers) {
        if !(probe::is_secret_header(&h.name) && h.value == session::REDACTED) {
            kept.push(h);
            continue;
        }
        let known = given.iter().chain(asked.iter()).find(|g| g.name.eq_ignore_ascii_case(&h.name));
        if let Some(g) = known {
            kept.push(Header { name: h.name, value: g.value.clone() });
        } else if std::io::stdin().is_terminal() {
            let value = rpassword::prompt_password(format!("Value of {} (saved redacted): ", h.name)).map_err(|e| {
                Error::input(format!("header {}", h.name), format!("cannot read it from the terminal ({e})"))
            })?;
            asked.push(Header { name: h.name.clone(), value: value.clone() });
            kept.push(Header { name: h.name, value });
        } else {
            eprintln!(
                "mtls-doctor: {}: header {} was saved redacted and is left out (give it with -H '{}: …')",
                report::clean(&run.name),
                h.name,
                h.name
            );
        }
    }
    options.headers = kept;
    Ok(())
}

/// `replay FILE`: run the saved targets again with their saved inputs. A target whose material is
/// gone reports that as its error; the others still run.
pub fn run_replay(args: &ReplayArgs) -> Result<i32> {
    let old = session::load(&args.file)?;
    let given: Vec<Header> = args.headers.iter().map(|h| Header::parse(h)).collect::<Result<_>>()?;
    let mut asked = Vec::new();
    let mut targets = Vec::new();
    for t in &old.targets {
        let mut fresh = t.inputs_only();
        restore_secret_headers(&mut fresh, &given, &mut asked)?;
        targets.push(fresh);
    }
    let prepared = load_materials(targets, LoadFailure::RecordInTarget)?;
    let runs = runtime()?.block_on(run_prepared(prepared, args.jobs.max(1)));
    let mut new = Session::new(runs).with_command("replay");
    new.replayed_from = Some(args.file.display().to_string());
    finish(&new, &args.output, &args.session)
}

/// `diff A B`: exit 0 when nothing changed, 1 when something did (as diff(1) does), 2 on bad input.
pub fn run_diff(args: &DiffArgs) -> Result<i32> {
    let before = session::load(&args.before)?;
    let after = session::load(&args.after)?;
    let d = session::diff(&before, &args.before.display().to_string(), &after, &args.after.display().to_string());
    emit(&args.output, &report::render_diff(&d, args.output.report.unwrap_or(Format::Text)))?;
    Ok(if d.has_changes() { EXIT_FINDINGS } else { EXIT_OK })
}

/// `open FILE`: the session read-only, drawn only from the file (nothing is probed or read again).
pub fn run_open(args: &OpenArgs, theme: Option<String>) -> Result<i32> {
    let session = session::load(&args.file)?;
    if interactive(&args.output) {
        let opts = TuiOptions { theme, read_only: true, session_path: Some(args.file.clone()), ..Default::default() };
        return crate::tui::run_tui(session, opts);
    }
    emit(&args.output, &report::render_session(&session, args.output.report.unwrap_or(Format::Text)))?;
    Ok(EXIT_OK)
}

/// The terminal UI is for a person at a terminal: no --report, no -o, and stdout is a terminal.
fn interactive(output: &OutputArgs) -> bool {
    use std::io::IsTerminal as _;
    output.report.is_none() && output.output.is_none() && std::io::stdout().is_terminal()
}

/// `tui [probe options]`: the TUI with the command line's targets, probing at once.
pub fn run_tui_command(args: &ProbeArgs, theme: Option<String>) -> Result<i32> {
    let targets = command_line_targets(args)?;
    let opts = TuiOptions { theme, run_on_start: !targets.is_empty(), ..Default::default() };
    crate::tui::run_tui(Session::new(targets), opts)
}

// ---- watch and exporter (issue 16) ----

/// `watch`: one record per change as it is seen, on standard output or `-o FILE`.
pub fn run_watch(args: &WatchArgs) -> Result<i32> {
    use crate::watch::{self, EndReason, Until, WatchOptions};
    let targets = command_line_targets(&args.probe)?;
    if targets.is_empty() {
        return Err(Error::Usage("no targets: give HOST[:PORT] or a --targets file that lists some".into()));
    }
    let prepared = load_materials(targets, LoadFailure::Abort)?;
    let options = WatchOptions {
        interval: args.interval,
        until: args.until.map(|u| match u {
            CliUntil::Ok => Until::Ok,
            CliUntil::Changed => Until::Changed,
        }),
        max_runs: args.max_runs,
        jobs: args.probe.jobs,
    };
    let json = match args.probe.output.report {
        None | Some(Format::Text) => false,
        Some(Format::Json) => true,
        Some(Format::Markdown) => return Err(Error::Usage("watch writes text or JSON Lines (--report json)".into())),
    };
    let mut sink: Box<dyn std::io::Write> = match &args.probe.output.output {
        Some(path) => Box::new(std::fs::File::create(path).map_err(|e| Error::io(path, e))?),
        None => Box::new(std::io::stdout()),
    };
    let where_to =
        args.probe.output.output.as_ref().map(|p| p.display().to_string()).unwrap_or("standard output".into());
    let emit = |record: &watch::WatchRecord| -> Result<()> {
        let line = if json {
            serde_json::to_string(record).map_err(|e| Error::input(&where_to, e.to_string()))?
        } else {
            watch::record_text(record)
        };
        writeln!(sink, "{line}").and_then(|_| sink.flush()).map_err(|e| Error::input(&where_to, e.to_string()))
    };
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let (watcher, reason) = runtime()?.block_on(watch::run_watch(prepared, &options, emit, stop))?;
    if let (Some(path), Some(latest)) = (&args.probe.session.save, watcher.latest()) {
        session::save(latest, path)?;
    }
    Ok(match (options.until, reason) {
        (Some(_), EndReason::UntilMet) => EXIT_OK,
        (Some(_), _) => EXIT_FINDINGS,
        (None, _) => watcher.latest().map(|s| exit_code(&s.findings().cloned().collect::<Vec<_>>())).unwrap_or(EXIT_OK),
    })
}

/// `exporter`: load the targets file and its material once, then serve until Ctrl-C / SIGTERM.
pub fn run_exporter(args: &ExporterArgs) -> Result<i32> {
    let secs = |flag: &str, v: f64| {
        if v > 0.0 && v.is_finite() && v <= 3600.0 {
            Ok(std::time::Duration::from_secs_f64(v))
        } else {
            Err(Error::Usage(format!("--{flag} {v}: must be more than 0 and at most 3600 seconds")))
        }
    };
    let limits = crate::exporter::Limits {
        max_concurrent: args.max_concurrent,
        queue_wait: secs("queue-wait", args.queue_wait)?,
        probe_timeout: secs("probe-timeout", args.probe_timeout)?,
    };
    let defaults = <ProbeArgs as clap::FromArgMatches>::from_arg_matches(
        &<ProbeArgs as Args>::augment_args(clap::Command::new("exporter"))
            .try_get_matches_from(["exporter", "--targets", &args.config.display().to_string()])
            .map_err(|e| Error::Usage(e.to_string()))?,
    )
    .map_err(|e| Error::Usage(e.to_string()))?;
    let targets = targets_from_file(&args.config, &defaults)?;
    let source = args.config.display().to_string();
    let prepared = load_materials(targets, LoadFailure::Abort)?;
    let exporter = crate::exporter::Exporter::new(&source, prepared, limits)?;
    runtime()?.block_on(crate::exporter::run(exporter, args.listen))?;
    Ok(EXIT_OK)
}
