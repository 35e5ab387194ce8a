//! The command line: clap definitions and the headless runners behind each subcommand. `main.rs`
//! only parses and maps the result to an exit code.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cert::Certificate;
use crate::engine;
use crate::error::{Error, Result};
use crate::material::{self, PasswordSource};
use crate::probe::{self, Header, ProbeOptions, ProbeRole, Timeouts, TlsVersionPin};
use crate::report::{self, Format, InspectReport, KeyReport, ProbeReport, VerifyContext};
use crate::session::{MaterialRefs, PasswordRef, Session, TargetKind, TargetRun};
use crate::verify::Role;

/// Exit codes (documented in README): no error finding, error findings, usage or input error.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

#[derive(Debug, Parser)]
#[command(name = "mtls-doctor", version, about = "Troubleshoot mutual-TLS handshakes to and from API gateways")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show certificates exactly as an APIM policy sees them, and judge the chain.
    Inspect(Box<InspectArgs>),
    /// Perform a test handshake (and HTTP request) against a gateway or a backend.
    Probe(Box<ProbeArgs>),
    /// A TLS server that asks every client for its certificate and shows what it presents.
    Listen(Box<ListenArgs>),
    /// Start the built-in lab on loopback and diagnose a session of lab targets.
    Demo(DemoArgs),
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
    /// Warn about certificates that expire within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = crate::diagnose::DEFAULT_EXPIRING_DAYS)]
    pub expiring_days: i64,
    /// An APIM policy (XML) to evaluate against the certificate actually presented.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// CA certificates uploaded to the gateway (what Verify() chains to; repeatable).
    #[arg(long, value_name = "FILE")]
    pub client_ca: Vec<PathBuf>,
    /// Azure configuration exported with the az CLI (az apim show, certificates, backends, role assignments; repeatable).
    #[arg(long, value_name = "FILE")]
    pub azure: Vec<PathBuf>,
    #[command(flatten)]
    pub password: PasswordArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args, Clone)]
pub struct ProbeArgs {
    /// HOST[:PORT] (port 443 by default); several targets run concurrently.
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<String>,
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
    /// Warn about certificates that expire within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = crate::diagnose::DEFAULT_EXPIRING_DAYS)]
    pub expiring_days: i64,
    /// An APIM policy (XML) to evaluate against the certificate actually presented.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// CA certificates uploaded to the gateway (what Verify() chains to; repeatable).
    #[arg(long, value_name = "FILE")]
    pub client_ca: Vec<PathBuf>,
    /// Azure configuration exported with the az CLI (repeatable).
    #[arg(long, value_name = "FILE")]
    pub azure: Vec<PathBuf>,
    #[command(flatten)]
    pub password: PasswordArgs,
    #[command(flatten)]
    pub output: OutputArgs,
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
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "report".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

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
        client_ca: paths(&args.client_ca),
        policy: args.policy.as_ref().map(|p| p.display().to_string()),
        azure: paths(&args.azure),
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
        expiring_days: Some(args.expiring_days),
        ..Default::default()
    };
    let run = engine::run_inspect_target(run, role, args.host.clone(), &loaded)?;

    // Keys are reported (never their bytes) for the files given.
    let pw = args.password.source();
    let mut keys = Vec::new();
    let mut certs: Vec<Certificate> = Vec::new();
    let mut origins = Vec::new();
    for path in &args.files {
        let m = material::load_file(path, &pw)?;
        for c in m.certs {
            origins.push(path.display().to_string());
            certs.push(c);
        }
        keys.extend(m.keys.into_iter().map(|k| (path.display().to_string(), k)));
    }
    let key_reports = keys
        .iter()
        .map(|(origin, k)| KeyReport {
            origin: origin.clone(),
            algorithm: k.algorithm().to_string(),
            matches_certificate: certs
                .iter()
                .find(|c| material::key_matches_cert(k, c))
                .map(|c| c.info.thumbprint_sha1.clone()),
            signature_schemes: material::signature_schemes(k).iter().map(|s| format!("{s:?}")).collect(),
        })
        .collect();
    let inspected = run.inspected.clone();
    // Origins in the model's order (leaf first).
    let ordered_origins: Vec<String> = inspected
        .as_ref()
        .map(|i| {
            i.certs
                .iter()
                .map(|c| {
                    certs
                        .iter()
                        .position(|x| x.info.thumbprint_sha1 == c.thumbprint_sha1)
                        .and_then(|p| origins.get(p).cloned())
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default();
    let report = InspectReport {
        schema_version: report::SCHEMA_VERSION,
        certificates: inspected.as_ref().map(|i| i.certs.clone()).unwrap_or_default(),
        keys: key_reports,
        verify: inspected.as_ref().and_then(|i| i.verdict.clone()),
        verify_context: inspected.as_ref().map(|_| VerifyContext {
            role,
            host: args.host.clone(),
            trust: loaded.trust.source.clone(),
        }),
        policy: run.policy.clone(),
        client_verify: run.client_verify.clone(),
        findings: run.findings.clone(),
    };
    let text = match args.output.report.unwrap_or(Format::Text) {
        Format::Json => report::to_json(&report) + "\n",
        Format::Text => report::inspect_text(&report, &ordered_origins),
    };
    emit(&args.output, &text)?;
    Ok(exit_code(&run.findings))
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
        client_ca: paths(&args.client_ca),
        policy: args.policy.as_ref().map(|p| p.display().to_string()),
        azure: paths(&args.azure),
    }
}

pub fn run_probe(args: &ProbeArgs) -> Result<i32> {
    let options: Vec<ProbeOptions> = args.targets.iter().map(|t| probe_options(args, t)).collect::<Result<_>>()?;
    let material = probe_material(args);
    let loaded = engine::load(&material)?;
    let targets: Vec<TargetRun> = options
        .into_iter()
        .map(|o| TargetRun { expiring_days: Some(args.expiring_days), ..engine::probe_target(o, material.clone()) })
        .collect();
    let runs = runtime()?.block_on(run_many(targets, Arc::new(loaded), args.jobs.max(1)));
    let session = Session::new(runs);
    let findings: Vec<_> = session.findings().cloned().collect();
    let report = ProbeReport::from_session(&session);
    let text = match args.output.report.unwrap_or(Format::Text) {
        Format::Json => report::to_json(&report) + "\n",
        Format::Text => report::session_text(&session),
    };
    emit(&args.output, &text)?;
    Ok(exit_code(&findings))
}

/// Run targets concurrently (at most `jobs` at once); results in the order given.
pub async fn run_many(targets: Vec<TargetRun>, loaded: Arc<engine::Loaded>, jobs: usize) -> Vec<TargetRun> {
    let gate = Arc::new(tokio::sync::Semaphore::new(jobs));
    let mut handles = Vec::new();
    for t in targets {
        let (loaded, gate) = (loaded.clone(), gate.clone());
        let fallback = t.clone();
        handles.push((
            fallback,
            tokio::spawn(async move {
                let _permit = gate.acquire_owned().await;
                engine::run_probe_target(t, &loaded).await
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
pub fn run_demo(args: &DemoArgs) -> Result<i32> {
    let dir = tempfile::tempdir().map_err(|e| Error::Usage(format!("cannot create a temporary directory: {e}")))?;
    let rt = runtime()?;
    let (lab, session) = rt.block_on(crate::demo::start_demo(dir.path()))?;
    let findings: Vec<_> = session.findings().cloned().collect();
    let text = match args.output.report.unwrap_or(Format::Text) {
        Format::Json => report::to_json(&ProbeReport::from_session(&session)) + "\n",
        Format::Text => report::session_text(&session),
    };
    emit(&args.output, &text)?;
    rt.block_on(lab.shutdown());
    // The demo's findings are the point of the demo, not a failure of the run.
    let _ = findings;
    Ok(EXIT_OK)
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
        Some(Command::Demo(a)) => run_demo(&a),
        None => Err(Error::Usage("no command given (try `mtls-doctor --help`)".into())),
    }
}
