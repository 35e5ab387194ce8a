//! `listen`: a TLS server that asks every client for its certificate and prints what it presents.

use std::io::Write as _;

use super::{paths, ListenArgs, EXIT_OK};
use crate::engine;
use crate::error::{Error, Result};
use crate::material;
use crate::report::{self, Format};

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
    let rt = engine::runtime()?;
    rt.block_on(async move {
        let listener = crate::listen::bind(&cfg).await?;
        let local = listener.local_addr().map_err(|e| Error::io(args.bind.to_string(), e))?;
        eprintln!("mtls-doctor: listening on {local} (asks every client for a certificate; Ctrl-C to stop)");
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let stats = std::sync::Arc::new(crate::listen::flood::FloodStats::default());
        let server = tokio::spawn(crate::listen::run_listener_counted(cfg, listener, tx, stats.clone()));
        let flood_lines = tokio::spawn(report_flood(stats.clone()));
        let mut sink: Box<dyn std::io::Write + Send> = match &args.output.output {
            // Append: the records of an earlier run in the same file are the user's.
            Some(path) => Box::new(
                std::fs::OpenOptions::new().append(true).create(true).open(path).map_err(|e| Error::io(path, e))?,
            ),
            None => Box::new(std::io::stdout()),
        };
        let sink_name = args.output.output.as_ref().map(|p| p.display().to_string());
        let mut failed = None;
        loop {
            tokio::select! {
                rec = rx.recv() => {
                    let Some(rec) = rec else { break };
                    let line = match format {
                        Format::Json | Format::Jsonl => {
                            crate::text::escape_json_text(serde_json::to_string(&rec).unwrap_or_default())
                        }
                        Format::Text => report::listen_line(&rec),
                        Format::Markdown => format!("- {}", report::md_text(&report::listen_line(&rec))),
                    };
                    if let Err(e) = writeln!(sink, "{line}").and_then(|()| sink.flush()) {
                        // A reader that closed stdout (`| head`) has stopped listening: end quietly.
                        // Any other failure (a full disk) is an error, not records silently lost.
                        if sink_name.is_some() || e.kind() != std::io::ErrorKind::BrokenPipe {
                            let name = sink_name.clone().unwrap_or_else(|| "standard output".into());
                            failed = Some(Error::Usage(format!("{name}: cannot write the connection record ({e})")));
                        }
                        break;
                    }
                }
                _ = tokio::signal::ctrl_c() => break,
            }
        }
        server.abort();
        flood_lines.abort();
        let totals = stats.counts();
        if totals != Default::default() {
            for line in totals.report_since(&Default::default()) {
                eprintln!("mtls-doctor: in all: {line}");
            }
        }
        failed.map_or(Ok(()), Err)
    })?;
    Ok(EXIT_OK)
}

/// Say on stderr, at most once a second, what the flood defences refused or cut since the last time.
async fn report_flood(stats: std::sync::Arc<crate::listen::flood::FloodStats>) {
    let mut seen = stats.counts();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        let now = stats.counts();
        for line in now.report_since(&seen) {
            eprintln!("mtls-doctor: {line}");
        }
        seen = now;
    }
}
