//! `listen`'s defences against an idle flood (issue 15): connections that open TCP and never finish
//! a handshake must not keep a real client waiting.
//!
//! - Accepting never waits for a handshake: every connection is accepted at once and either admitted
//!   or closed on the spot.
//! - The handshake deadline shortens under load: [`IDLE_HANDSHAKE_DEADLINE`] (10 s) while at most
//!   [`CALM_PENDING`] handshakes are pending, then `10 s × 16 / pending`, never below
//!   [`BUSY_HANDSHAKE_DEADLINE`] (1 s, from 160 pending on). It is re-read while a handshake waits,
//!   so a connection accepted when all was calm is cut short when a flood starts.
//! - One address may have at most [`MAX_PENDING_PER_ADDRESS`] handshakes pending; more are closed
//!   at once and counted.
//! - All open connections together stay under the open-file limit (`ulimit -n`, less a reserve for
//!   the tool's own files), so accepting never fails for want of a file descriptor.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// The handshake deadline of a calm listener.
pub const IDLE_HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);
/// The shortest handshake deadline, under a flood.
pub const BUSY_HANDSHAKE_DEADLINE: Duration = Duration::from_secs(1);
/// Up to this many pending handshakes the deadline is [`IDLE_HANDSHAKE_DEADLINE`].
pub const CALM_PENDING: usize = 16;
/// Handshakes one source address may have pending at once.
pub const MAX_PENDING_PER_ADDRESS: usize = 32;
/// File descriptors kept for the tool itself (its output, certificates, the runtime).
const FD_RESERVE: usize = 64;
/// Open connections at most, whatever the open-file limit.
const MAX_OPEN_CEILING: usize = 16_384;
/// Distinct addresses whose refusals are counted one by one (the rest are counted together).
const REFUSED_ADDRESSES_KEPT: usize = 1024;

/// The handshake deadline with `pending` handshakes under way (this one included).
pub fn handshake_deadline(pending: usize) -> Duration {
    if pending <= CALM_PENDING {
        return IDLE_HANDSHAKE_DEADLINE;
    }
    let scaled = IDLE_HANDSHAKE_DEADLINE.mul_f64(CALM_PENDING as f64 / pending as f64);
    scaled.max(BUSY_HANDSHAKE_DEADLINE)
}

/// Open connections at most: the soft open-file limit less a reserve.
pub fn max_open_connections() -> usize {
    open_file_limit().saturating_sub(FD_RESERVE).clamp(16, MAX_OPEN_CEILING)
}

/// The soft open-file limit of this process (Linux: /proc/self/limits; elsewhere the lowest common
/// default, macOS' 256, so the cap errs low rather than running out).
fn open_file_limit() -> usize {
    let text = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|soft| soft.parse::<usize>().ok())
        .unwrap_or(256)
}

/// Why a connection was closed without a handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its address already had [`MAX_PENDING_PER_ADDRESS`] handshakes pending.
    PerAddress,
    /// The listener had as many connections open as the open-file limit allows.
    Full,
}

/// What the flood defences did, for the stderr report.
#[derive(Debug, Default)]
pub struct FloodStats {
    refused_full: AtomicU64,
    refused_per_address: AtomicU64,
    deadline_closed: AtomicU64,
    by_address: Mutex<HashMap<IpAddr, u64>>,
}

/// A snapshot of [`FloodStats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FloodCounts {
    pub refused_full: u64,
    pub refused_per_address: u64,
    /// Handshakes ended by their deadline.
    pub deadline_closed: u64,
    /// Refusals for too many pending handshakes, by address (most first).
    pub by_address: Vec<(IpAddr, u64)>,
}

impl FloodStats {
    pub fn counts(&self) -> FloodCounts {
        let mut by_address: Vec<(IpAddr, u64)> = lock(&self.by_address).iter().map(|(a, n)| (*a, *n)).collect();
        by_address.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        FloodCounts {
            refused_full: self.refused_full.load(Ordering::Relaxed),
            refused_per_address: self.refused_per_address.load(Ordering::Relaxed),
            deadline_closed: self.deadline_closed.load(Ordering::Relaxed),
            by_address,
        }
    }

    fn refused(&self, addr: IpAddr, why: Refusal) {
        match why {
            Refusal::Full => {
                self.refused_full.fetch_add(1, Ordering::Relaxed);
            }
            Refusal::PerAddress => {
                self.refused_per_address.fetch_add(1, Ordering::Relaxed);
                let mut map = lock(&self.by_address);
                if map.len() < REFUSED_ADDRESSES_KEPT || map.contains_key(&addr) {
                    *map.entry(addr).or_default() += 1;
                }
            }
        }
    }

    pub(crate) fn deadline_hit(&self) {
        self.deadline_closed.fetch_add(1, Ordering::Relaxed);
    }
}

impl FloodCounts {
    /// The lines that say what changed since `before` (none when nothing did).
    pub fn report_since(&self, before: &FloodCounts) -> Vec<String> {
        const SHOWN: usize = 5;
        let earlier: HashMap<IpAddr, u64> = before.by_address.iter().copied().collect();
        let new: Vec<(IpAddr, u64, u64)> = self
            .by_address
            .iter()
            .map(|(addr, n)| (*addr, n - earlier.get(addr).copied().unwrap_or(0), *n))
            .filter(|(_, new, _)| *new > 0)
            .collect();
        let mut lines: Vec<String> = new
            .iter()
            .take(SHOWN)
            .map(|(addr, new, total)| {
                format!(
                    "refused {new} connections from {addr}: more than {MAX_PENDING_PER_ADDRESS} pending handshakes \
                     from one address ({total} from it so far)"
                )
            })
            .collect();
        let listed: u64 = new.iter().take(SHOWN).map(|(_, n, _)| n).sum();
        let rest = (self.refused_per_address - before.refused_per_address).saturating_sub(listed);
        if rest > 0 {
            lines.push(format!(
                "refused {rest} more connections from other addresses: more than {MAX_PENDING_PER_ADDRESS} pending \
                 handshakes from one address"
            ));
        }
        let full = self.refused_full - before.refused_full;
        if full > 0 {
            lines.push(format!(
                "refused {full} connections: as many connections were open as the open-file limit allows \
                 ({} for ulimit -n {})",
                max_open_connections(),
                open_file_limit()
            ));
        }
        let cut = self.deadline_closed - before.deadline_closed;
        if cut > 0 {
            lines.push(format!("closed {cut} connections that did not finish the TLS handshake within its deadline"));
        }
        lines
    }
}

/// Admits connections and keeps the counts the deadline and the caps are judged by.
#[derive(Debug)]
pub struct Gate {
    max_open: usize,
    per_address: usize,
    open: AtomicUsize,
    pending: AtomicUsize,
    pending_by_address: Mutex<HashMap<IpAddr, usize>>,
    pub stats: Arc<FloodStats>,
}

impl Gate {
    pub fn new(stats: Arc<FloodStats>) -> Arc<Self> {
        Self::with_limits(max_open_connections(), MAX_PENDING_PER_ADDRESS, stats)
    }

    pub fn with_limits(max_open: usize, per_address: usize, stats: Arc<FloodStats>) -> Arc<Self> {
        Arc::new(Gate {
            max_open,
            per_address,
            open: AtomicUsize::new(0),
            pending: AtomicUsize::new(0),
            pending_by_address: Mutex::new(HashMap::new()),
            stats,
        })
    }

    /// Admit a connection from `addr`, or say why not (and count it). Never waits.
    pub fn admit(self: &Arc<Self>, addr: IpAddr) -> Result<Ticket, Refusal> {
        let refused = |why| {
            self.stats.refused(addr, why);
            Err(why)
        };
        if self.open.load(Ordering::Acquire) >= self.max_open {
            return refused(Refusal::Full);
        }
        {
            let mut by_address = lock(&self.pending_by_address);
            let n = by_address.entry(addr).or_default();
            if *n >= self.per_address {
                return refused(Refusal::PerAddress);
            }
            *n += 1;
        }
        self.open.fetch_add(1, Ordering::AcqRel);
        self.pending.fetch_add(1, Ordering::AcqRel);
        Ok(Ticket { gate: self.clone(), addr, pending: true })
    }

    /// Handshakes under way now.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    fn end_pending(&self, addr: IpAddr) {
        self.pending.fetch_sub(1, Ordering::AcqRel);
        let mut by_address = lock(&self.pending_by_address);
        if let Some(n) = by_address.get_mut(&addr) {
            *n -= 1;
            if *n == 0 {
                by_address.remove(&addr);
            }
        }
    }
}

/// One admitted connection: pending until [`Ticket::established`], open until dropped.
#[derive(Debug)]
pub struct Ticket {
    gate: Arc<Gate>,
    addr: IpAddr,
    pending: bool,
}

/// The handshake did not finish within its deadline (the deadline that applied when it was cut).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlinePassed(pub Duration);

impl Ticket {
    /// The handshake is over (done or failed): the connection no longer counts as pending.
    pub fn established(&mut self) {
        if std::mem::take(&mut self.pending) {
            self.gate.end_pending(self.addr);
        }
    }

    /// Run `step` of a handshake that started at `accepted`, cut off when the load-dependent
    /// deadline passes. The deadline is re-read every 100 ms, so it follows the load.
    pub async fn within_deadline<F: Future>(&self, accepted: Instant, step: F) -> Result<F::Output, DeadlinePassed> {
        tokio::pin!(step);
        loop {
            let deadline = handshake_deadline(self.gate.pending());
            let end = accepted + deadline;
            let now = Instant::now();
            if now >= end {
                self.gate.stats.deadline_hit();
                return Err(DeadlinePassed(deadline));
            }
            let wake = end.min(now + Duration::from_millis(100));
            tokio::select! {
                out = &mut step => return Ok(out),
                () = tokio::time::sleep_until(wake) => {}
            }
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.established();
        self.gate.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// "10 s" or "1.3 s": a deadline as a person reads it.
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if (s - s.round()).abs() < 0.05 {
        format!("{} s", s.round())
    } else {
        format!("{s:.1} s")
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_shortens_with_the_pending_handshakes_and_stops_at_one_second() {
        assert_eq!(handshake_deadline(1), Duration::from_secs(10));
        assert_eq!(handshake_deadline(16), Duration::from_secs(10));
        assert_eq!(handshake_deadline(32), Duration::from_secs(5));
        assert_eq!(handshake_deadline(80), Duration::from_secs(2));
        assert_eq!(handshake_deadline(160), Duration::from_secs(1));
        assert_eq!(handshake_deadline(5000), Duration::from_secs(1));
        assert_eq!(seconds(handshake_deadline(500)), "1 s");
        assert_eq!(seconds(handshake_deadline(100)), "1.6 s");
    }

    #[test]
    fn one_address_is_capped_and_the_open_cap_holds_for_all() {
        let stats = Arc::new(FloodStats::default());
        let gate = Gate::with_limits(MAX_PENDING_PER_ADDRESS + 3, MAX_PENDING_PER_ADDRESS, stats.clone());
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        let mut tickets: Vec<Ticket> =
            (0..MAX_PENDING_PER_ADDRESS).map(|_| gate.admit(a).expect("under the cap")).collect();
        assert_eq!(gate.pending(), MAX_PENDING_PER_ADDRESS);
        assert_eq!(gate.admit(a).err(), Some(Refusal::PerAddress));
        // A finished handshake frees the address' slot but stays open.
        tickets[0].established();
        tickets.push(gate.admit(a).expect("slot freed"));
        tickets.push(gate.admit(b).expect("b"));
        tickets.push(gate.admit(b).expect("b again"));
        assert_eq!(gate.admit(b).err(), Some(Refusal::Full), "as many open as allowed");
        drop(tickets.remove(0));
        assert!(gate.admit([127, 0, 0, 3].into()).is_ok(), "a closed connection frees its file descriptor");
        let counts = stats.counts();
        assert_eq!((counts.refused_per_address, counts.refused_full), (1, 1));
        assert_eq!(counts.by_address, vec![(a, 1)]);
        let lines = counts.report_since(&FloodCounts::default());
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with("refused 1 connections from 127.0.0.1: more than 32"), "{lines:?}");
        assert!(lines[1].contains("open-file limit"), "{lines:?}");
        assert!(counts.report_since(&counts).is_empty());
    }

    #[test]
    fn listen_help_states_the_rule_these_constants_make() {
        let cli = <crate::cli::Cli as clap::CommandFactory>::command();
        let listen = cli.find_subcommand("listen").expect("listen command");
        let help = listen.get_after_help().map(|h| h.to_string()).unwrap_or_default();
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        for said in [
            format!("within {} while at most {CALM_PENDING} are pending", seconds(IDLE_HANDSHAKE_DEADLINE)),
            format!("never less than {}", seconds(BUSY_HANDSHAKE_DEADLINE)),
            "5 s at 32, 2 s at 80), never less than 1 s (from 160 pending on)".to_string(),
            format!("at most {MAX_PENDING_PER_ADDRESS} handshakes pending"),
            format!("less {FD_RESERVE} for the tool's own files"),
        ] {
            assert!(help.contains(&said), "listen --help does not say {said:?}");
        }
        assert_eq!(handshake_deadline(32), Duration::from_secs(5));
        assert_eq!(handshake_deadline(80), Duration::from_secs(2));
        assert_eq!(handshake_deadline(159), Duration::from_secs_f64(10.0 * 16.0 / 159.0));
    }

    #[test]
    fn the_open_file_limit_is_read() {
        assert!(open_file_limit() >= 16);
        assert!(max_open_connections() >= 16 && max_open_connections() <= MAX_OPEN_CEILING);
    }
}
