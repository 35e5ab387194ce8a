//! The clap definitions of every command and flag (help text included); no behaviour beyond
//! turning flags into the library's plain values.
//!
//! Longer than 600 lines on purpose: the flags shared by probe, tui, watch and replay are defined
//! once here, and splitting the declarations would scatter one command's options across files.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::material::PasswordSource;
use crate::probe::{ProbeRole, TlsVersionPin};
use crate::report::Format;
use crate::session::PasswordRef;
use crate::targets::TargetDefaults;
use crate::verify::Role;

#[derive(Debug, Parser)]
#[command(name = "mtls-doctor", version, about = "Troubleshoot mutual-TLS handshakes to and from API gateways")]
#[command(after_help = EXAMPLES_TOP)]
pub struct Cli {
    /// Terminal UI theme (when no command is given): dark (default), light, high-contrast, or a
    /// path to a theme file.
    #[arg(long, value_name = "NAME|PATH")]
    pub theme: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
// Each subcommand's arguments are built only when that subcommand is the one given (or for help,
// completions and the manual page, which build them all): most of a probe's argument parsing
// was building the other subcommands' arguments.
#[command(defer = true)]
pub enum Command {
    /// Show certificates exactly as an APIM policy sees them, and judge the chain.
    #[command(after_help = EXAMPLES_INSPECT)]
    Inspect(Box<InspectArgs>),
    /// Perform a test handshake (and HTTP request) against a gateway or a backend.
    #[command(after_help = EXAMPLES_PROBE)]
    Probe(Box<ProbeArgs>),
    /// Open the terminal UI with a target filled in (same options as probe) and probe it.
    #[command(after_help = EXAMPLES_TUI)]
    Tui(Box<TuiArgs>),
    /// A TLS server that asks every client for its certificate and shows what it presents.
    #[command(after_help = EXAMPLES_LISTEN)]
    Listen(Box<ListenArgs>),
    /// Start the built-in lab on loopback and diagnose a session of lab targets.
    #[command(after_help = EXAMPLES_DEMO)]
    Demo(DemoArgs),
    /// Re-run the targets of a saved session and report (and save) the new results.
    #[command(after_help = EXAMPLES_REPLAY)]
    Replay(Box<ReplayArgs>),
    /// Show what changed between two saved sessions (certificates, verdicts, HTTP status, findings).
    #[command(after_help = EXAMPLES_DIFF)]
    Diff(DiffArgs),
    /// Open a saved session read-only.
    #[command(after_help = EXAMPLES_OPEN)]
    Open(OpenArgs),
    /// Probe targets again and again and show only what changed, with the time (the TUI on a
    /// terminal; text lines or JSON Lines with --report json otherwise).
    #[command(after_help = EXAMPLES_WATCH)]
    Watch(Box<WatchArgs>),
    /// Serve Prometheus, blackbox_exporter style: /probe?target=NAME runs a target of the targets
    /// file now, /metrics describes the exporter (OpenMetrics text).
    #[command(after_help = EXAMPLES_EXPORTER)]
    Exporter(ExporterArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell) to standard output.
    #[command(after_help = EXAMPLES_COMPLETIONS)]
    Completions(CompletionsArgs),
    /// Print the manual page (roff) of the command line, or of one command, to standard output.
    #[command(after_help = EXAMPLES_MAN)]
    Man(ManArgs),
}

const EXAMPLES_TOP: &str = "Examples:
  mtls-doctor probe api.contoso.com --pfx client.pfx      handshake and request with a client certificate
  mtls-doctor inspect client.pfx --client-ca root.cer     what APIM would see, and Verify()
  mtls-doctor demo                                        the built-in lab in the terminal UI
  mtls-doctor <COMMAND> --help                            examples for each command";
const EXAMPLES_INSPECT: &str = "Examples:
  mtls-doctor inspect client.pfx --pfx-password-env PFX_PASSWORD
  mtls-doctor inspect client.crt client.key --ca root.pem
  mtls-doctor inspect server.pem --role server --host api.contoso.com
  mtls-doctor inspect client.pem --policy inbound.xml --client-ca root.cer --report json";
const EXAMPLES_PROBE: &str =
    "Environment, as curl reads it: https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY (the proxy),
no_proxy, NO_PROXY (hosts reached directly), and SSLKEYLOGFILE: the TLS secrets of every probe
are appended to that file in the NSS key log format, so Wireshark can decrypt a capture.

Examples:
  mtls-doctor probe api.contoso.com --cert client.crt --key client.key
  mtls-doctor probe api.contoso.com:8443 --pfx client.pfx -v
  mtls-doctor probe apim.contoso.com --connect-to 10.0.0.4:443 -H 'Ocp-Apim-Subscription-Key: ...'
  mtls-doctor probe backend.internal --role outbound --pfx gateway.pfx --ca backend-root.pem
  mtls-doctor probe --targets targets.toml --report markdown --summary
  mtls-doctor probe api.contoso.com --pfx client.pfx --save before.json";
const EXAMPLES_TUI: &str = "Examples:
  mtls-doctor tui api.contoso.com --pfx client.pfx
  mtls-doctor tui --targets targets.toml --theme light";
const EXAMPLES_LISTEN: &str = concat!(
    "Under load: each TLS handshake must finish within 10 s while at most 16 are pending, then within
10 s x 16 / pending (5 s at 32, 2 s at 80), never less than 1 s (from 160 pending on); the deadline
is re-read while a handshake waits. One client address may have at most 32 handshakes pending: more
are closed at once, counted and reported on stderr. All open connections stay under the open-file
limit (ulimit -n, less 64 for the tool's own files); beyond it new connections are closed and counted.

",
    "Examples:
  mtls-doctor listen --bind 127.0.0.1:8443 --cert server.pem --key server.key
  mtls-doctor listen --bind [::1]:8443 --cert server.pfx --ca clients-root.pem --require-client-cert"
);
const EXAMPLES_DEMO: &str = "Examples:
  mtls-doctor demo
  mtls-doctor demo --headless --report markdown --summary
  mtls-doctor demo --headless --save demo.json";
const EXAMPLES_REPLAY: &str = "Examples:
  mtls-doctor replay before.json --save after.json
  mtls-doctor replay before.json -H 'Ocp-Apim-Subscription-Key: ...' -v";
const EXAMPLES_DIFF: &str = "Examples:
  mtls-doctor diff before.json after.json
  mtls-doctor diff before.json after.json --report markdown -o changes.md";
const EXAMPLES_OPEN: &str = "Examples:
  mtls-doctor open before.json
  mtls-doctor open before.json --report markdown --summary";
const EXAMPLES_COMPLETIONS: &str = "Examples:
  mtls-doctor completions bash > ~/.local/share/bash-completion/completions/mtls-doctor
  mtls-doctor completions zsh > ~/.zfunc/_mtls-doctor
  mtls-doctor completions fish > ~/.config/fish/completions/mtls-doctor.fish
  mtls-doctor completions powershell >> $PROFILE";
const EXAMPLES_MAN: &str = "Examples:
  mtls-doctor man > mtls-doctor.1 && man ./mtls-doctor.1
  mtls-doctor man probe > mtls-doctor-probe.1";

#[derive(Debug, Args, Clone)]
pub struct ManArgs {
    /// The command whose page to print (e.g. probe); the whole command line without it.
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

// The terminal UI's theme, on the commands that open it.
#[derive(Debug, Args, Clone, Default)]
pub struct ThemeArgs {
    /// Terminal UI theme: dark (default), light, high-contrast, or a path to a theme file.
    #[arg(long, value_name = "NAME|PATH")]
    pub theme: Option<String>,
}

// How much a text or Markdown report shows.
#[derive(Debug, Args, Clone, Default)]
pub struct ViewArgs {
    /// Text report: also show the request line and headers sent, the response status line and
    /// headers, and the body as far as it was kept (secret header values are redacted).
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// A short summary for a ticket instead of the full report: each target's verdict and first
    /// finding, worst first, under 32,000 characters (text or markdown; not json).
    #[arg(long)]
    pub summary: bool,
}

impl ViewArgs {
    pub fn view(&self) -> crate::report::ReportView {
        crate::report::ReportView { verbose: self.verbose, summary: self.summary }
    }
}

// `tui`: the probe options and the theme.
#[derive(Debug, Args, Clone)]
pub struct TuiArgs {
    #[command(flatten)]
    pub probe: ProbeArgs,
    #[command(flatten)]
    pub theme: ThemeArgs,
}

const EXAMPLES_WATCH: &str = "Examples:
  mtls-doctor watch api.contoso.com --pfx client.pfx --interval 1m
  mtls-doctor watch --targets targets.toml --until ok --report json";
const EXAMPLES_EXPORTER: &str = "Examples:
  mtls-doctor exporter --config targets.toml --listen 127.0.0.1:9219";

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
    #[command(flatten)]
    pub theme: ThemeArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CliUntil {
    Ok,
    Changed,
}

impl From<CliUntil> for crate::session::Until {
    fn from(u: CliUntil) -> Self {
        match u {
            CliUntil::Ok => crate::session::Until::Ok,
            CliUntil::Changed => crate::session::Until::Changed,
        }
    }
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
    /// A scrape whose X-Prometheus-Scrape-Timeout-Seconds is shorter gets that, less a margin.
    #[arg(long, value_name = "SECS", default_value_t = 20.0)]
    pub probe_timeout: f64,
}

// `--save FILE`: write the session (inputs, observations, findings; never a secret).
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
    /// The request body for targets whose saved probe sent one (a session keeps only its length and
    /// SHA-256): TEXT or @FILE, as probe's --data. Without it those requests are not sent.
    #[arg(long, short = 'd', value_name = "TEXT|@FILE")]
    pub data: Option<String>,
    /// How many probes run at once.
    #[arg(short = 'j', long, default_value_t = 16)]
    pub jobs: usize,
    /// No progress line on standard error (it is only drawn when standard error is a terminal).
    #[arg(short = 'q', long)]
    pub quiet: bool,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub view: ViewArgs,
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
    #[command(flatten)]
    pub view: ViewArgs,
    #[command(flatten)]
    pub theme: ThemeArgs,
}

#[derive(Debug, Args, Clone)]
pub struct ListenArgs {
    /// Where to listen: PORT (every IPv4 address, like `openssl s_server -accept PORT`), HOST:PORT
    /// (a name such as localhost is resolved, its IPv4 address preferred), 127.0.0.1:8443 or [::1]:8443.
    #[arg(long, value_name = "[HOST:]PORT", value_parser = parse_bind)]
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

/// `--bind` as `PORT`, `HOST:PORT` or an address; a usage error names the value.
fn parse_bind(text: &str) -> std::result::Result<std::net::SocketAddr, String> {
    use std::net::ToSocketAddrs as _;
    let text = text.trim();
    if let Ok(port) = text.parse::<u16>() {
        return Ok(std::net::SocketAddr::from(([0, 0, 0, 0], port)));
    }
    if let Ok(addr) = text.parse::<std::net::SocketAddr>() {
        return Ok(addr);
    }
    let (host, port) = crate::probe::parse_host_port(text, None).map_err(|p| format!("expected [HOST:]PORT ({p})"))?;
    let addrs: Vec<_> =
        (host.as_str(), port).to_socket_addrs().map_err(|e| format!("cannot resolve {host:?} ({e})"))?.collect();
    // One socket: its IPv4 address when it has one (what `localhost` clients try first or next).
    addrs.iter().find(|a| a.is_ipv4()).or(addrs.first()).copied().ok_or_else(|| format!("{host:?} has no address"))
}

#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// Print a report instead of opening the terminal UI.
    #[arg(long)]
    pub headless: bool,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub view: ViewArgs,
    #[command(flatten)]
    pub session: SaveArgs,
    #[command(flatten)]
    pub theme: ThemeArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CliRole {
    Client,
    Server,
}

#[derive(Debug, Args, Clone, Default)]
pub struct PasswordArgs {
    /// Read the password of the PFX, or of an encrypted PEM key (--key-password-env), from this
    /// environment variable. Without one, a terminal is asked once per file.
    #[arg(long, value_name = "VAR", visible_alias = "key-password-env")]
    pub pfx_password_env: Option<String>,
    /// Read the password of the PFX or encrypted PEM key (--key-password-file) from the first line
    /// of this file.
    #[arg(long, value_name = "FILE", conflicts_with = "pfx_password_env", visible_alias = "key-password-file")]
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

// What the diagnosis is given besides the handshake: shared by `inspect`, `probe` and `tui`.
#[derive(Debug, Args, Clone)]
pub struct DiagnosisArgs {
    /// Warn about certificates that expire within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = crate::diagnose::DEFAULT_EXPIRING_DAYS)]
    pub expiring_days: i64,
    /// An APIM policy (XML) to evaluate against the certificate actually presented; with --role outbound,
    /// read for the backend it routes through (set-backend-service) and the certificate it presents.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// CA certificates uploaded to the gateway (what Verify() chains to; repeatable).
    #[arg(long, value_name = "FILE")]
    pub client_ca: Vec<PathBuf>,
    /// Azure configuration exported with the az CLI (repeatable): `az apim show -g RG -n NAME`;
    /// certificates and backends with `az rest --method get --url
    /// https://management.azure.com/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.ApiManagement/service/NAME/certificates?api-version=2022-08-01`
    /// (and `/backends`); `az role assignment list --assignee PRINCIPAL_ID --all`. ARM and Bicep-compiled
    /// templates and REST response wrappers are read too.
    #[arg(long, value_name = "FILE")]
    pub azure: Vec<PathBuf>,
    /// Do not fetch CRLs or OCSP answers for Verify()'s revocation check; the evaluation then
    /// says what the gateway would answer depending on what it can fetch.
    #[arg(long)]
    pub offline: bool,
    /// A certificate entity of the service (`context.Deployment.Certificates`, `certificate-id`,
    /// `issuer-certificate-id`) as ID=FILE (repeatable); adds to those in an --azure export.
    #[arg(long, value_name = "ID=FILE")]
    pub deployment_cert: Vec<String>,
    /// A named value the policy uses as {{NAME}} (repeatable), or @FILE for an `az apim nv list`
    /// export (secret entries carry no value there); never saved in a session.
    #[arg(long, value_name = "NAME=VALUE|@FILE")]
    pub named_value: Vec<String>,
    /// Also send the client certificate (--cert/--pfx; inspect: the leaf) in this request header,
    /// encoded as a TLS-terminating front end forwards it, for policies that read it from there:
    /// arr (default; base64 DER, App Service X-ARR-ClientCert), appgw (percent-encoded PEM,
    /// Application Gateway {var_client_certificate}), nginx ($ssl_client_escaped_cert, the same).
    #[arg(long, value_name = "HEADER[=FORMAT]")]
    pub forward_cert: Option<String>,
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
    /// https://HOST[:PORT][/PATH][?QUERY] (the path and query are sent as given) or HOST[:PORT]
    /// (port 443 by default); several targets run concurrently.
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
    /// Client certificate (PEM/DER, may include the chain); a PEM holding its key too needs no --key.
    #[arg(long, value_name = "FILE", conflicts_with = "pfx")]
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
    /// Connect elsewhere, keeping the target for SNI and Host:. As curl: HOST1:PORT1:HOST2:PORT2
    /// (empty fields match any / keep the target's); or HOST:PORT for every target.
    #[arg(long, value_name = "HOST1:PORT1:HOST2:PORT2")]
    pub connect_to: Option<String>,
    /// Use these addresses for HOST:PORT instead of DNS, as curl does (repeatable; IPv6 in [ ]).
    #[arg(long, value_name = "HOST:PORT:ADDR[,ADDR]")]
    pub resolve: Vec<String>,
    /// Tunnel through this HTTP proxy with CONNECT: http://[USER:PASSWORD@]HOST[:PORT] (port 1080 by
    /// default, as curl). Without it https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY are used; "" turns
    /// proxies off. Proxy credentials are never shown or saved.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Hosts reached without the proxy, as curl's --noproxy: comma-separated names (each matches
    /// itself and names under it), IPs or CIDR ranges, or * for all. Overrides no_proxy/NO_PROXY.
    #[arg(long, value_name = "LIST")]
    pub noproxy: Option<String>,
    /// Ask this DNS server (IP:PORT) instead of the system resolver.
    #[arg(long, value_name = "IP:PORT")]
    pub dns_server: Option<std::net::SocketAddr>,
    /// HTTP method of the request sent after the handshake (default: POST with --data, else GET).
    #[arg(long, value_name = "METHOD")]
    pub method: Option<String>,
    /// Send this request body, as curl's -d: TEXT, or @FILE for the file's bytes (up to 16 MiB).
    /// Content-Type is application/x-www-form-urlencoded unless -H gives one. Never shown or
    /// saved: a session keeps its length and SHA-256.
    #[arg(long, short = 'd', value_name = "TEXT|@FILE")]
    pub data: Option<String>,
    /// Path and query of the request sent after the handshake (overrides a URL target's path;
    /// default: the URL's, or /). APIM picks the API and operation, and so the policy, by it.
    #[arg(long, value_name = "PATH")]
    pub path: Option<String>,
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
    /// `probe`: stop at the first bad targets-file entry (a wrong value, material that does not
    /// load) as an input error (exit 2). Without it the entry is that target's error, the others
    /// run, and the exit code is 3. Material on the command line that does not load is always an
    /// input error; `watch` and `tui` always stop at a bad entry.
    #[arg(long)]
    pub fail_fast: bool,
    /// No progress line on standard error (it is only drawn when standard error is a terminal).
    #[arg(short = 'q', long)]
    pub quiet: bool,
    #[command(flatten)]
    pub diagnosis: DiagnosisArgs,
    #[command(flatten)]
    pub password: PasswordArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub view: ViewArgs,
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

impl PasswordArgs {
    /// The reference a session records for these flags (never the password itself).
    pub fn password_ref(&self) -> PasswordRef {
        match (&self.pfx_password_env, &self.pfx_password_file) {
            (Some(var), _) => PasswordRef::Env { var: var.clone() },
            (None, Some(f)) => PasswordRef::File { path: f.display().to_string() },
            (None, None) => PasswordRef::Prompt,
        }
    }
}

impl From<CliRole> for Role {
    fn from(r: CliRole) -> Role {
        match r {
            CliRole::Client => Role::Client,
            CliRole::Server => Role::Server,
        }
    }
}

impl From<CliProbeRole> for ProbeRole {
    fn from(r: CliProbeRole) -> ProbeRole {
        match r {
            CliProbeRole::Inbound => ProbeRole::Inbound,
            CliProbeRole::Outbound => ProbeRole::Outbound,
        }
    }
}

impl From<CliTls> for TlsVersionPin {
    fn from(v: CliTls) -> TlsVersionPin {
        match v {
            CliTls::V12 => TlsVersionPin::Tls12,
            CliTls::V13 => TlsVersionPin::Tls13,
        }
    }
}

impl ProbeArgs {
    /// The options every target of this command line starts from (a targets file may override them).
    pub fn defaults(&self) -> TargetDefaults {
        TargetDefaults {
            role: self.role.into(),
            sni: self.sni.clone(),
            connect_to: self.connect_to.clone(),
            dns_server: self.dns_server,
            resolve: self.resolve.clone(),
            proxy: crate::probe::proxy::ProxySettings { proxy: self.proxy.clone(), noproxy: self.noproxy.clone() },
            method: self.method.clone(),
            data: self.data.clone(),
            path: self.path.clone(),
            headers: self.headers.clone(),
            no_http: self.no_http,
            tls_version: self.tls_version.map(Into::into),
            alpn: self.alpn.clone(),
            timeout: self.timeout,
            no_compare: self.no_compare,
            expiring_days: self.diagnosis.expiring_days,
            cert: self.cert.clone(),
            key: self.key.clone(),
            pfx: self.pfx.clone(),
            password: self.password.password_ref(),
            ca: self.ca.clone(),
            client_ca: self.diagnosis.client_ca.clone(),
            policy: self.diagnosis.policy.clone(),
            azure: self.diagnosis.azure.clone(),
            offline: self.diagnosis.offline,
            deployment_certs: self.diagnosis.deployment_cert.clone(),
            named_values: self.diagnosis.named_value.clone(),
            forward_cert: self.diagnosis.forward_cert.clone(),
        }
    }
}
