//! `mtls-doctor exporter`: a blackbox_exporter-style HTTP server. `/probe?target=NAME` runs that
//! target of the targets file now and answers in OpenMetrics text; `/metrics` describes the exporter.
//!
//! Material is loaded once at start. A scrape storm cannot pile probes up: scrapes of a target that
//! is already being probed wait for that probe instead of starting another (coalescing), at most
//! `max_concurrent` probes run at once, a probe that cannot start within `queue_wait` answers 503
//! at once, and every probe is cut at `probe_timeout`.

pub mod openmetrics;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::engine::{self, Loaded, Prepared};
use crate::error::{Error, Result};
use crate::session::TargetRun;

/// Connections served at once; more wait in the kernel's accept queue.
const MAX_CONNECTIONS: usize = 256;
/// A target name in a query longer than this is not one of ours (and is not echoed back whole).
const MAX_NAME_BYTES: usize = 256;

/// Prometheus tells each scrape how long it will wait in this header (blackbox_exporter reads it too).
pub const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";
/// Kept back from the scraper's timeout so the answer gets to it before it gives up (the same
/// offset blackbox_exporter uses by default).
pub const SCRAPE_TIMEOUT_MARGIN: Duration = Duration::from_millis(500);

/// How long one scrape may take in all, from its `X-Prometheus-Scrape-Timeout-Seconds`: the value
/// less [`SCRAPE_TIMEOUT_MARGIN`] (half the value when it is under twice the margin). `None` when
/// there is no header or it is not a positive number of seconds: then only the flags bound it.
pub fn scrape_limit(header: Option<&str>) -> Option<Duration> {
    let secs: f64 = header?.trim().parse().ok()?;
    if !(secs.is_finite() && secs > 0.0) {
        return None;
    }
    let given = Duration::from_secs_f64(secs.min(86_400.0));
    Some(if given >= 2 * SCRAPE_TIMEOUT_MARGIN { given - SCRAPE_TIMEOUT_MARGIN } else { given / 2 })
}

/// How the exporter bounds its probes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Probes running at once.
    pub max_concurrent: usize,
    /// How long a probe may wait for a free slot before the scrape gets 503.
    pub queue_wait: Duration,
    /// Upper bound of one probe, the comparison without the certificate included.
    pub probe_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_concurrent: 4, queue_wait: Duration::from_secs(2), probe_timeout: Duration::from_secs(20) }
    }
}

/// The answer to one `/probe` request.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeAnswer {
    /// A finished (or timed out) probe and the seconds it took, rendered per scraper's format.
    Done(Arc<(TargetRun, f64)>),
    /// No slot freed up in time: one line saying so.
    Busy(String),
    /// No target of that name.
    UnknownTarget(String),
}

#[derive(Default)]
struct Counters {
    success: AtomicU64,
    failure: AtomicU64,
    timeout: AtomicU64,
    coalesced: AtomicU64,
    rejected: AtomicU64,
    unknown: AtomicU64,
}

/// The exporter's state: its targets with their loaded material, and the probe bounds.
pub struct Exporter {
    source: String,
    targets: Vec<(TargetRun, Arc<Loaded>)>,
    limits: Limits,
    slots: Arc<Semaphore>,
    in_flight: Mutex<HashMap<String, watch::Receiver<Option<ProbeAnswer>>>>,
    counters: Counters,
}

impl Exporter {
    /// `source` names the targets file in messages. Targets whose material failed to load are refused.
    pub fn new(source: &str, targets: Vec<Prepared>, limits: Limits) -> Result<Arc<Self>> {
        let mut ready = Vec::new();
        for Prepared { run: t, loaded } in targets {
            match loaded {
                Some(l) => ready.push((t, l)),
                None => {
                    return Err(Error::input(
                        source,
                        format!("target \"{}\": {}", crate::text::clean(&t.name), t.error.unwrap_or_default()),
                    ))
                }
            }
        }
        if ready.is_empty() {
            return Err(Error::input(source, "no targets"));
        }
        if limits.max_concurrent == 0 {
            return Err(Error::Usage("--max-concurrent must be at least 1".into()));
        }
        Ok(Arc::new(Exporter {
            source: source.to_string(),
            targets: ready,
            slots: Arc::new(Semaphore::new(limits.max_concurrent)),
            limits,
            in_flight: Mutex::new(HashMap::new()),
            counters: Counters::default(),
        }))
    }

    pub fn target_names(&self) -> Vec<String> {
        self.targets.iter().map(|(t, _)| t.name.clone()).collect()
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<String, watch::Receiver<Option<ProbeAnswer>>>> {
        self.in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Probe the target called `name` now, or join the probe of it already running. `scrape` is
    /// the scraper's own limit ([`scrape_limit`]): the answer comes within it, the probe's timeout
    /// being the smaller of it (less any wait for a slot) and `--probe-timeout`.
    pub async fn probe(self: &Arc<Self>, name: &str, scrape: Option<Duration>) -> ProbeAnswer {
        let Some(index) = self.targets.iter().position(|(t, _)| t.name == name) else {
            self.counters.unknown.fetch_add(1, Ordering::Relaxed);
            let shown = crate::text::clean(&name.chars().take(80).collect::<String>());
            return ProbeAnswer::UnknownTarget(format!("no target named \"{shown}\" in {}", self.source));
        };
        let mut rx = {
            let mut map = self.in_flight();
            match map.get(name) {
                Some(rx) => {
                    self.counters.coalesced.fetch_add(1, Ordering::Relaxed);
                    rx.clone()
                }
                None => {
                    let (tx, rx) = watch::channel(None);
                    map.insert(name.to_string(), rx.clone());
                    // The probe runs in its own task: a scraper that hangs up does not cancel it
                    // for the others waiting on it, and it ends within the bounds anyway.
                    let me = self.clone();
                    let key = name.to_string();
                    tokio::spawn(async move {
                        let answer = me.run_bounded(index, scrape).await;
                        me.in_flight().remove(&key);
                        let _ = tx.send(Some(answer));
                    });
                    rx
                }
            }
        };
        // A probe ends within its own bounds; the slack covers scheduling. A scrape that joined a
        // probe started for a longer-waiting scraper gives up at its own limit.
        let slack = Duration::from_millis(100);
        let bound = scrape.map_or(self.limits.queue_wait + self.limits.probe_timeout + Duration::from_secs(1), |s| {
            s.min(self.limits.queue_wait + self.limits.probe_timeout) + slack
        });
        let waited =
            tokio::time::timeout(bound, async { rx.wait_for(Option::is_some).await.ok().and_then(|a| a.clone()) });
        match waited.await {
            Ok(Some(answer)) => answer,
            Ok(None) => ProbeAnswer::Busy("the probe ended without an answer".into()),
            Err(_) => ProbeAnswer::Busy(format!(
                "the probe of \"{}\" did not finish within {} s",
                crate::text::clean(name),
                bound.as_secs_f64()
            )),
        }
    }

    async fn run_bounded(&self, index: usize, scrape: Option<Duration>) -> ProbeAnswer {
        let waiting = Instant::now();
        let slot_wait = scrape.map_or(self.limits.queue_wait, |s| s.min(self.limits.queue_wait));
        let busy = || {
            self.counters.rejected.fetch_add(1, Ordering::Relaxed);
            ProbeAnswer::Busy(format!(
                "busy: {} probes already running (max-concurrent {}) and none ended within {} ms",
                self.limits.max_concurrent,
                self.limits.max_concurrent,
                slot_wait.as_millis()
            ))
        };
        let permit = match tokio::time::timeout(slot_wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(p)) => p,
            _ => return busy(),
        };
        // The scraper's limit counts from the scrape: what the wait for a slot used is gone.
        let limit = match scrape {
            None => self.limits.probe_timeout,
            Some(s) => self.limits.probe_timeout.min(s.saturating_sub(waiting.elapsed())),
        };
        if limit.is_zero() {
            return busy();
        }
        let (template, loaded) = &self.targets[index];
        let started = Instant::now();
        let outcome = tokio::time::timeout(limit, engine::run_probe_target(template.clone(), loaded)).await;
        drop(permit);
        let elapsed = started.elapsed().as_secs_f64();
        let run = match outcome {
            Ok(run) => {
                let counter =
                    if openmetrics::probe_success(&run) { &self.counters.success } else { &self.counters.failure };
                counter.fetch_add(1, Ordering::Relaxed);
                run
            }
            Err(_) => {
                self.counters.timeout.fetch_add(1, Ordering::Relaxed);
                // Nothing was observed to the end: success 0 and the time spent, no other facts.
                let why = if limit < self.limits.probe_timeout {
                    "the scrape's X-Prometheus-Scrape-Timeout-Seconds, less a margin"
                } else {
                    "--probe-timeout"
                };
                let error = format!("probe timed out after {} s ({why})", limit.as_secs_f64());
                TargetRun { error: Some(error), ..template.clone() }
            }
        };
        ProbeAnswer::Done(Arc::new((run, elapsed)))
    }

    /// The exporter's own metrics (`/metrics`).
    pub fn own_metrics(&self, format: openmetrics::Format) -> String {
        let c = &self.counters;
        let mut out = openmetrics::Exposition::new(format);
        out.gauge("mtls_exporter_targets", None, "Targets in the targets file", self.targets.len() as f64);
        out.gauge(
            "mtls_exporter_max_concurrent_probes",
            None,
            "Probes allowed to run at once",
            self.limits.max_concurrent as f64,
        );
        let running = self.limits.max_concurrent.saturating_sub(self.slots.available_permits());
        out.gauge("mtls_exporter_probes_running", None, "Probes running now", running as f64);
        out.family("mtls_exporter_probes", "counter", None, "Probes run, by outcome");
        for (result, n) in [("success", &c.success), ("failure", &c.failure), ("timeout", &c.timeout)] {
            out.sample("mtls_exporter_probes_total", &[("result", result)], n.load(Ordering::Relaxed) as f64);
        }
        out.family("mtls_exporter_scrapes_coalesced", "counter", None, "Scrapes answered by a probe already running");
        out.sample("mtls_exporter_scrapes_coalesced_total", &[], c.coalesced.load(Ordering::Relaxed) as f64);
        out.family(
            "mtls_exporter_scrapes_rejected",
            "counter",
            None,
            "Scrapes answered 503 because no probe slot freed up",
        );
        out.sample("mtls_exporter_scrapes_rejected_total", &[], c.rejected.load(Ordering::Relaxed) as f64);
        out.family("mtls_exporter_scrapes_unknown_target", "counter", None, "Scrapes naming a target not in the file");
        out.sample("mtls_exporter_scrapes_unknown_target_total", &[], c.unknown.load(Ordering::Relaxed) as f64);
        out.finish()
    }

    /// Answer one HTTP request.
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Full<Bytes>> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return text(StatusCode::METHOD_NOT_ALLOWED, "only GET is served");
        }
        let format = openmetrics::Format::negotiate(req.headers().get(ACCEPT).and_then(|v| v.to_str().ok()));
        match req.uri().path() {
            "/probe" => {
                let name = req.uri().query().and_then(|q| {
                    form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "target").map(|(_, v)| v.into_owned())
                });
                let Some(name) = name.filter(|n| !n.is_empty()) else {
                    return text(StatusCode::BAD_REQUEST, "missing ?target=NAME (a name from the targets file)");
                };
                if name.len() > MAX_NAME_BYTES {
                    return text(StatusCode::NOT_FOUND, "no target has a name that long");
                }
                let scrape = scrape_limit(req.headers().get(SCRAPE_TIMEOUT_HEADER).and_then(|v| v.to_str().ok()));
                match self.probe(&name, scrape).await {
                    ProbeAnswer::Done(done) => {
                        metrics_response(&openmetrics::render_probe(&done.0, done.1, format), format)
                    }
                    ProbeAnswer::UnknownTarget(why) => text(StatusCode::NOT_FOUND, &why),
                    ProbeAnswer::Busy(why) => {
                        let mut r = text(StatusCode::SERVICE_UNAVAILABLE, &why);
                        r.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("5"));
                        r
                    }
                }
            }
            "/metrics" => metrics_response(&self.own_metrics(format), format),
            "/" => text(
                StatusCode::OK,
                "mtls-doctor exporter: /probe?target=NAME runs a target, /metrics describes the exporter",
            ),
            other => {
                let shown = crate::text::clean(&other.chars().take(80).collect::<String>());
                text(StatusCode::NOT_FOUND, &format!("no page \"{shown}\": try /probe?target=NAME or /metrics"))
            }
        }
    }

    /// Serve on `listener` until `shutdown` resolves. Connections in progress are dropped then.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: impl std::future::Future<Output = ()>) {
        let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let mut tasks = tokio::task::JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            let Ok(permit) = connections.clone().acquire_owned().await else { break };
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => {
                    let Ok((tcp, _peer)) = accepted else { continue };
                    let me = self.clone();
                    tasks.spawn(async move {
                        crate::listen::serve_http(tcp, false, move |req| me.clone().handle(req)).await;
                        drop(permit);
                    });
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        tasks.abort_all();
    }
}

fn text(status: StatusCode, line: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{line}\n"))));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

fn metrics_response(body: &str, format: openmetrics::Format) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    r
}

/// Bind `listen` and serve until Ctrl-C or SIGTERM. Prints the bound address on standard error.
pub async fn run(exporter: Arc<Exporter>, listen: SocketAddr) -> Result<()> {
    let listener =
        TcpListener::bind(listen).await.map_err(|e| Error::input(listen.to_string(), format!("cannot listen: {e}")))?;
    let bound = listener.local_addr().map_err(|e| Error::input(listen.to_string(), e.to_string()))?;
    eprintln!(
        "mtls-doctor exporter: listening on http://{bound} ({} targets from {}; /probe?target=NAME, /metrics)",
        exporter.targets.len(),
        exporter.source
    );
    exporter.serve(listener, shutdown_signal()).await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scrape_limit_is_the_header_less_the_margin_and_nonsense_is_ignored() {
        assert_eq!(scrape_limit(Some("10")), Some(Duration::from_millis(9500)));
        assert_eq!(scrape_limit(Some(" 2.5 ")), Some(Duration::from_secs(2)));
        // Under twice the margin: half of it, never zero or negative.
        assert_eq!(scrape_limit(Some("0.6")), Some(Duration::from_millis(300)));
        assert_eq!(scrape_limit(None), None);
        for bad in ["", "soon", "0", "-3", "NaN", "inf"] {
            assert_eq!(scrape_limit(Some(bad)), None, "{bad:?}");
        }
    }
}
