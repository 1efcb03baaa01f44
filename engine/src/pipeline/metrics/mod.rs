//! The pipeline's metrics: what every stage and the engine as a whole report, and how operators
//! read them.
//!
//! It owns:
//! - [`StageMetrics`] ([`stage`]): per-stage items, busy, idle and blocked time and queue depth,
//!   written lock-free by the stage's own thread;
//! - [`LatencyHistogram`] ([`histogram`]): the time-to-vote (a block handed to ingest → its VED
//!   hash) with p50/p99/max;
//! - [`EngineMetrics`]: the registry the pipeline owns — the stages by name, the time-to-vote,
//!   the VED and UED slots with the UED's lag, executed transactions and their rate per domain,
//!   the VED's waits at epoch boundaries (SPEC §5's one backpressure point), the halted flag and
//!   the VED's signer cache (its voters' tables, and the signatures that used them) —
//!   and its [`MetricsSnapshot`], a plain serde value for the CLI's JSON and the C ABI (whose
//!   `tandem_metrics` struct, fixed by SPEC §8, carries a subset: not the signer cache);
//! - the Prometheus text format of a snapshot ([`prometheus`]) and the small HTTP server behind
//!   `--metrics-addr` ([`server`]).
//!
//! It must never block a stage: everything a stage or executor calls is an atomic operation
//! (relaxed, but for the time-to-vote histogram's release of each bucket and the open sections'
//! compare-and-swaps, `open`). Only [`EngineMetrics::snapshot`], called by readers (the
//! server, the C ABI, the CLI), takes a lock — the transactions-per-second window's — which no
//! stage ever touches.
//! It decides nothing: a metric never feeds back into execution.

pub mod histogram;
mod open;
pub mod prometheus;
pub mod server;
pub mod stage;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tandem_kernels::sigverify::cache::{CacheStats, SignerCache};

use crate::account::{Domain, PerDomain};

pub use histogram::LatencyHistogram;
pub use server::{MetricsListener, MetricsServer, bind_metrics, serve_metrics};
pub use stage::{Activity, SectionTimer, StageMetrics, StageSnapshot, thread_cpu_time};

/// The stages of the pipeline in the order a block flows through them: the registry
/// [`EngineMetrics::for_pipeline`] creates.
pub const PIPELINE_STAGES: [&str; 6] = ["ingest", "sigverify", "ved", "ued", "hash", "commit"];

/// The shortest window the transactions-per-second rates are measured over (see
/// [`EngineMetrics::snapshot`]).
pub const TPS_WINDOW: Duration = Duration::from_secs(10);

/// Snapshots closer together than this share one sample of the rate window, which bounds it to
/// `TPS_WINDOW / TPS_SAMPLE_SPACING + 2` samples however often it is read.
const TPS_SAMPLE_SPACING: Duration = Duration::from_millis(100);

/// A registry that cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MetricsError {
    /// Two stages were given the same name.
    #[error("the stage name {0:?} is given twice")]
    DuplicateStage(&'static str),
    /// A stage name that is not `[a-z0-9_-]+` (it becomes a Prometheus label value and a JSON key).
    #[error("the stage name {0:?} is not made of [a-z0-9_-] (and not empty)")]
    InvalidStageName(&'static str),
}

/// The transactions each domain executed at one moment, for the rate window.
#[derive(Clone, Copy, Debug)]
struct TpsSample {
    at: Instant,
    executed: PerDomain<u64>,
}

/// The samples the rates are measured from; only readers touch it.
#[derive(Debug)]
struct TpsWindow {
    /// Oldest first; the first is at least [`TPS_WINDOW`] older than the last when possible.
    samples: Vec<TpsSample>,
}

impl TpsWindow {
    /// Adds the current totals and returns the rates per domain since the newest sample at
    /// least [`TPS_WINDOW`] old, or since the oldest when none is that old yet.
    fn rates(&mut self, now: TpsSample) -> PerDomain<f64> {
        // Drop the samples older than the newest one that already covers the window.
        if let Some(covering) = self
            .samples
            .iter()
            .rposition(|s| now.at.saturating_duration_since(s.at) >= TPS_WINDOW)
        {
            self.samples.drain(..covering);
        }
        let base = self.samples[0];
        let seconds = now.at.saturating_duration_since(base.at).as_secs_f64();
        let rates = PerDomain::from_fn(|d| {
            if seconds > 0.0 {
                now.executed[d].saturating_sub(base.executed[d]) as f64 / seconds
            } else {
                0.0
            }
        });
        let last = self.samples[self.samples.len() - 1];
        if now.at.saturating_duration_since(last.at) >= TPS_SAMPLE_SPACING {
            self.samples.push(now);
        }
        rates
    }
}

/// Every metric of one engine; the pipeline owns it in an `Arc` and hands each stage its
/// [`StageMetrics`] once, at start (no lookup by name on a stage's path).
#[derive(Debug)]
pub struct EngineMetrics {
    started: Instant,
    stages: Vec<(&'static str, Arc<StageMetrics>)>,
    time_to_vote: LatencyHistogram,
    /// The steps of the vote's path, in the order of [`VOTE_PATH_STEPS`].
    vote_path: [LatencyHistogram; 3],
    ved_slot: AtomicU64,
    ued_slot: AtomicU64,
    max_ued_lag: AtomicU64,
    executed: PerDomain<AtomicU64>,
    boundary_waits: AtomicU64,
    /// The nanoseconds of the waits at boundaries so far, the one in progress charged as it
    /// passes by each snapshot ([`open::OpenSections`]: lock-free, so that a scrape never
    /// delays the VED's return from a wait, and the counter never goes down).
    boundary_wait_ns: AtomicU64,
    /// The wait in progress, if any.
    boundary_wait: open::OpenSections<1>,
    boundaries_alone: AtomicU64,
    ued_yields: AtomicU64,
    ued_yield_ns: AtomicU64,
    halted: AtomicBool,
    max_ued_disagreement_bps: AtomicU64,
    tps: Mutex<TpsWindow>,
    /// The VED's signer cache, once its sigverify stage made it.
    vote_signers: OnceLock<Arc<SignerCache>>,
}

impl EngineMetrics {
    /// A registry with one [`StageMetrics`] per name, all counters at zero and both slots at 0
    /// (genesis). A pipeline that resumes a store publishes each domain's slot before it starts.
    pub fn new(stage_names: &[&'static str]) -> Result<Self, MetricsError> {
        let mut stages: Vec<(&'static str, Arc<StageMetrics>)> = Vec::new();
        for &name in stage_names {
            let valid = name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
            if name.is_empty() || !valid {
                return Err(MetricsError::InvalidStageName(name));
            }
            if stages.iter().any(|(known, _)| *known == name) {
                return Err(MetricsError::DuplicateStage(name));
            }
            stages.push((name, Arc::new(StageMetrics::new())));
        }
        let started = Instant::now();
        Ok(Self {
            started,
            stages,
            time_to_vote: LatencyHistogram::new(),
            vote_path: std::array::from_fn(|_| LatencyHistogram::new()),
            ved_slot: AtomicU64::new(0),
            ued_slot: AtomicU64::new(0),
            max_ued_lag: AtomicU64::new(0),
            executed: PerDomain::default(),
            boundary_waits: AtomicU64::new(0),
            boundary_wait_ns: AtomicU64::new(0),
            boundary_wait: open::OpenSections::default(),
            boundaries_alone: AtomicU64::new(0),
            ued_yields: AtomicU64::new(0),
            ued_yield_ns: AtomicU64::new(0),
            halted: AtomicBool::new(false),
            max_ued_disagreement_bps: AtomicU64::new(0),
            vote_signers: OnceLock::new(),
            tps: Mutex::new(TpsWindow {
                samples: vec![TpsSample {
                    at: started,
                    executed: PerDomain::default(),
                }],
            }),
        })
    }

    /// The registry of the pipeline's own stages, [`PIPELINE_STAGES`].
    pub fn for_pipeline() -> Self {
        match Self::new(&PIPELINE_STAGES) {
            Ok(metrics) => metrics,
            Err(e) => unreachable!("PIPELINE_STAGES are distinct and valid: {e}"),
        }
    }

    /// The counters of the stage `name`, to hand to its thread; `None` for an unknown stage.
    pub fn stage(&self, name: &str) -> Option<Arc<StageMetrics>> {
        self.stages
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, m)| Arc::clone(m))
    }

    /// The stage names, in registration order.
    pub fn stage_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.stages.iter().map(|(name, _)| *name)
    }

    /// Records one block's time-to-vote: from its hand-over to ingest to its VED hash.
    pub fn record_time_to_vote(&self, latency: Duration) {
        self.time_to_vote.record(latency);
    }

    /// The time-to-vote histogram, for quantiles other than the snapshot's.
    pub fn time_to_vote(&self) -> &LatencyHistogram {
        &self.time_to_vote
    }

    /// Records the steps of one block's vote path (a block with a time-to-vote).
    pub fn record_vote_path(&self, steps: VotePathTimes) {
        let [verified, verdict, executed] = &self.vote_path;
        verified.record(steps.votes_verified);
        verdict.record(steps.verdict);
        executed.record(steps.ved_executed);
    }

    /// The VED has executed `slot` (slots only move forward: an older one is ignored).
    pub fn publish_ved_slot(&self, slot: u64) {
        self.ved_slot.fetch_max(slot, Ordering::Relaxed);
        self.note_lag();
    }

    /// The UED has executed `slot` (slots only move forward: an older one is ignored).
    pub fn publish_ued_slot(&self, slot: u64) {
        self.ued_slot.fetch_max(slot, Ordering::Relaxed);
        self.note_lag();
    }

    /// The UED's lag now: how many slots the VED's last executed slot is past the UED's.
    pub fn ued_lag_slots(&self) -> u64 {
        let ved = self.ved_slot.load(Ordering::Relaxed);
        let ued = self.ued_slot.load(Ordering::Relaxed);
        ved.saturating_sub(ued)
    }

    fn note_lag(&self) {
        self.max_ued_lag
            .fetch_max(self.ued_lag_slots(), Ordering::Relaxed);
    }

    /// Counts `n` more transactions executed in `domain` (every transaction its pass decided,
    /// successful or not).
    pub fn add_executed(&self, domain: Domain, n: u64) {
        self.executed[domain].fetch_add(n, Ordering::Relaxed);
    }

    /// Notes that the VED begins to wait at an epoch boundary: until
    /// [`EngineMetrics::record_boundary_wait`], the wait so far counts in the snapshot's
    /// `boundary_wait_ns`.
    pub fn begin_boundary_wait(&self) {
        // One VED, one wait at a time: a second begin without its record is not followed (the
        // record charges what its caller measured).
        let _ = self.boundary_wait.open(0);
    }

    /// Records one wait of the VED at an epoch boundary for the UED to catch up (SPEC §5), which
    /// ends the wait in progress.
    pub fn record_boundary_wait(&self, waited: Duration) {
        // A wait begun is measured from its beginning, less what snapshots charged of it:
        // `waited` was measured before this call, and a scrape between the two counted the wait
        // up to its own moment — more than `waited` (the counter would go down, a reset to
        // Prometheus).
        let rest = match self.boundary_wait.close(0) {
            Some((_, rest)) => rest,
            None => u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX),
        };
        self.boundary_wait_ns.fetch_add(rest, Ordering::Relaxed);
        self.boundary_waits.fetch_add(1, Ordering::Relaxed);
    }

    /// The boundary waits' time up to now, the one in progress included.
    fn boundary_wait_ns(&self) -> u64 {
        self.boundary_wait.settle(|_, ns| {
            self.boundary_wait_ns.fetch_add(ns, Ordering::Relaxed);
        });
        self.boundary_wait_ns.load(Ordering::Relaxed)
    }

    /// Records an epoch boundary the VED crossed on its own, not waiting for the UED to
    /// execute the block ([`crate::runtime::executor`]).
    pub fn record_boundary_crossed_alone(&self) {
        self.boundaries_alone.fetch_add(1, Ordering::Relaxed);
    }

    /// Records that a block's user signatures waited `waited` for its vote before the UED's
    /// sigverify stage began them (the user side yields to the vote:
    /// [`crate::pipeline::EngineConfig::ued_yield_limit`]).
    pub fn record_ued_yield(&self, waited: Duration) {
        self.ued_yields.fetch_add(1, Ordering::Relaxed);
        let ns = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
        self.ued_yield_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// Marks the engine halted (SPEC §6); a halted engine stays halted.
    pub fn set_halted(&self) {
        self.halted.store(true, Ordering::Relaxed);
    }

    /// Records the largest share of the VED stake, in basis points, that has reported for a slot
    /// a UED hash other than the local one (the cluster view's disagreement; only grows).
    pub fn record_ued_disagreement(&self, bps: u64) {
        self.max_ued_disagreement_bps
            .fetch_max(bps, Ordering::Relaxed);
    }

    /// Whether the engine has halted.
    pub fn is_halted(&self) -> bool {
        self.halted.load(Ordering::Relaxed)
    }

    /// Every metric as plain values.
    ///
    /// The transactions-per-second of each domain is measured over a sliding window: from the
    /// newest earlier snapshot at least [`TPS_WINDOW`] old (or the registry's creation, while
    /// there is none) to now. Readers that poll often see the rate of about the last ten seconds;
    /// one that polls every minute sees the rate of the last minute. The totals are exact
    /// counters, so Prometheus' own `rate()` over `tandem_executed_transactions_total` needs no
    /// window from us.
    pub fn snapshot(&self) -> MetricsSnapshot {
        self.snapshot_at(Instant::now())
    }

    fn snapshot_at(&self, now: Instant) -> MetricsSnapshot {
        let executed = PerDomain::from_fn(|d| self.executed[d].load(Ordering::Relaxed));
        let tps = self
            .tps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .rates(TpsSample { at: now, executed });
        let [votes_verified, verdict, ved_executed] = &self.vote_path;
        let ved_slot = self.ved_slot.load(Ordering::Relaxed);
        let ued_slot = self.ued_slot.load(Ordering::Relaxed);
        MetricsSnapshot {
            uptime_ns: u64::try_from(now.saturating_duration_since(self.started).as_nanos())
                .unwrap_or(u64::MAX),
            stages: self
                .stages
                .iter()
                .map(|(name, m)| m.snapshot(name))
                .collect(),
            time_to_vote: LatencySummary::of(&self.time_to_vote),
            vote_path: VotePathSummary {
                votes_verified: LatencySummary::of(votes_verified),
                verdict: LatencySummary::of(verdict),
                ved_executed: LatencySummary::of(ved_executed),
            },
            ved_slot,
            ued_slot,
            ued_lag_slots: ved_slot.saturating_sub(ued_slot),
            max_ued_lag_slots: self.max_ued_lag.load(Ordering::Relaxed),
            ved_transactions: executed.ved,
            ued_transactions: executed.ued,
            ved_tps: tps.ved,
            ued_tps: tps.ued,
            boundary_waits: self.boundary_waits.load(Ordering::Relaxed),
            boundary_wait_ns: self.boundary_wait_ns(),
            boundaries_crossed_alone: self.boundaries_alone.load(Ordering::Relaxed),
            ued_yields: self.ued_yields.load(Ordering::Relaxed),
            ued_yield_ns: self.ued_yield_ns.load(Ordering::Relaxed),
            halted: self.is_halted(),
            max_ued_disagreement_bps: self.max_ued_disagreement_bps.load(Ordering::Relaxed),
            vote_signers: self
                .vote_signers
                .get()
                .map(|cache| VoteSigners::of(cache.stats()))
                .unwrap_or_default(),
        }
    }

    /// Reports the VED's signer cache from now on (the first one given; its counters are
    /// atomics, so a snapshot takes no lock of the cache's).
    pub fn watch_vote_signers(&self, cache: Arc<SignerCache>) {
        let _ = self.vote_signers.set(cache);
    }
}

/// The steps of a block's vote path, each timed from the block's hand-over to ingest, as the
/// time-to-vote is: what decides a vote's time, step by step ([`EngineMetrics::record_vote_path`],
/// [`crate::pipeline::Vote::path`]). The vote point follows the last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VotePathTimes {
    /// The VED's sigverify stage has verified the block's votes (those ingest guessed the
    /// VED's) and hands them to the VED.
    pub votes_verified: Duration,
    /// Ingest's verdict: every transaction of the block parsed (SPEC §2). A block with user
    /// transactions is parsed after its votes are verified, while the VED executes it ahead
    /// of the verdict; the vote point waits for both.
    pub verdict: Duration,
    /// The VED has executed its part of the block: its hash is known (before the verdict,
    /// where the VED executed ahead of it; the vote point is the later of the two).
    pub ved_executed: Duration,
}

/// The names of the vote path's steps ([`VotePathTimes`]) in the JSON and the Prometheus text
/// (`step` label), in order.
pub const VOTE_PATH_STEPS: [&str; 3] = ["votes_verified", "verdict", "ved_executed"];

/// The steps of the vote's path over the blocks voted on ([`VotePathTimes`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VotePathSummary {
    /// Hand-over → the votes' signatures verified.
    pub votes_verified: LatencySummary,
    /// Hand-over → ingest's verdict.
    pub verdict: LatencySummary,
    /// Hand-over → the VED's part executed.
    pub ved_executed: LatencySummary,
}

impl VotePathSummary {
    /// Each step with its name ([`VOTE_PATH_STEPS`]), in order.
    pub fn steps(&self) -> [(&'static str, &LatencySummary); 3] {
        let [verified, verdict, executed] = VOTE_PATH_STEPS;
        [
            (verified, &self.votes_verified),
            (verdict, &self.verdict),
            (executed, &self.ved_executed),
        ]
    }
}

/// The time-to-vote at one moment, in whole microseconds; `None` before the first vote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Blocks measured.
    pub count: u64,
    /// The sum of their times.
    pub sum_us: u64,
    /// The median (within the histogram's error).
    pub p50_us: Option<u64>,
    /// The 99th percentile (within the histogram's error).
    pub p99_us: Option<u64>,
    /// The longest, exact.
    pub max_us: Option<u64>,
    /// How many were at most each of [`LATENCY_BOUNDS_US`], cumulative (a Prometheus
    /// histogram's `le` buckets: rates over any window, where the quantiles above cover all
    /// time since the engine opened). Empty in a JSON report of a build before them.
    #[serde(default)]
    pub buckets: Vec<LatencyBucket>,
}

/// One cumulative bucket of a [`LatencySummary`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyBucket {
    /// The bound, in microseconds.
    pub le_us: u64,
    /// How many times were at most it (within the histogram's bucket width, 1.6 %).
    pub count: u64,
}

/// The bounds of a [`LatencySummary`]'s cumulative buckets, in µs: 1 ms to 10 s, with the
/// 50 ms goal of a 1,000-vote block's time-to-vote and the 400 ms slot among them.
pub const LATENCY_BOUNDS_US: [u64; 13] = [
    1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 400_000, 1_000_000, 2_500_000,
    5_000_000, 10_000_000,
];

impl Default for LatencySummary {
    /// Nothing measured: every bucket at 0.
    fn default() -> Self {
        LatencySummary::of(&LatencyHistogram::new())
    }
}

impl LatencySummary {
    /// The summary of `histogram` now: one read, so that a scrape racing a vote sees a count,
    /// quantiles and maximum that agree.
    fn of(histogram: &LatencyHistogram) -> LatencySummary {
        let read = histogram.read(&[0.5, 0.99]);
        let micros = |d: Option<Duration>| d.map(|d| d.as_micros() as u64);
        LatencySummary {
            count: read.count,
            sum_us: read.sum.as_micros() as u64,
            p50_us: micros(read.quantiles[0]),
            p99_us: micros(read.quantiles[1]),
            max_us: micros(read.max),
            buckets: LATENCY_BOUNDS_US
                .iter()
                .zip(read.at_most(&LATENCY_BOUNDS_US))
                .map(|(&le_us, count)| LatencyBucket { le_us, count })
                .collect(),
        }
    }
}

/// Every metric of an engine at one moment: what the CLI writes as JSON, what
/// [`MetricsSnapshot::to_prometheus`] writes for Prometheus (and [`serve_metrics`] serves) and
/// the C ABI copies into `tandem_metrics`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    /// Time since the registry was created, in nanoseconds.
    pub uptime_ns: u64,
    /// Each stage's counters, in pipeline order.
    pub stages: Vec<StageSnapshot>,
    /// A block handed to ingest → its VED hash.
    pub time_to_vote: LatencySummary,
    /// The steps of that path, each from the hand-over.
    #[serde(default)]
    pub vote_path: VotePathSummary,
    /// The last slot the VED executed.
    pub ved_slot: u64,
    /// The last slot the UED executed.
    pub ued_slot: u64,
    /// `ved_slot − ued_slot` (0 when the UED is level).
    pub ued_lag_slots: u64,
    /// The largest lag seen since start.
    pub max_ued_lag_slots: u64,
    /// Transactions the VED executed since start.
    pub ved_transactions: u64,
    /// Transactions the UED executed since start.
    pub ued_transactions: u64,
    /// VED transactions per second over the sliding window ([`EngineMetrics::snapshot`]).
    pub ved_tps: f64,
    /// UED transactions per second over the sliding window.
    pub ued_tps: f64,
    /// How often the VED waited at an epoch boundary for the UED.
    pub boundary_waits: u64,
    /// How long it waited there in all, in nanoseconds (the wait in progress included: a VED
    /// stuck at a boundary shows while it waits, not once it is over).
    pub boundary_wait_ns: u64,
    /// Epoch boundaries the VED crossed on its own, without the UED executing the block first.
    pub boundaries_crossed_alone: u64,
    /// Blocks whose user signatures waited for the block's vote point before the UED's
    /// sigverify stage began them (the user side yields to the vote).
    #[serde(default)]
    pub ued_yields: u64,
    /// How long they waited in all, in nanoseconds.
    #[serde(default)]
    pub ued_yield_ns: u64,
    /// Whether the engine halted (SPEC §6).
    pub halted: bool,
    /// The largest share of the VED stake, in basis points, that reported for a slot a UED hash
    /// other than the local one (0: the cluster always agreed).
    pub max_ued_disagreement_bps: u64,
    /// The VED's signature verifier and its voters' tables.
    #[serde(default)]
    pub vote_signers: VoteSigners,
}

/// The VED's signature verifier's signer cache: the voters' keys it holds precomputed tables
/// for (built when the engine starts and when a boundary brings new voters, else on a key's
/// second signature), and how many signatures used one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteSigners {
    /// Keys with a table now.
    pub tables: u64,
    /// Of the tables built since start, those built ahead of the key's first vote.
    pub prepared: u64,
    /// Signatures verified with their signer's table (on the CPU).
    pub with_table: u64,
    /// Signatures under a valid key verified without one.
    pub without_table: u64,
}

impl VoteSigners {
    fn of(stats: CacheStats) -> VoteSigners {
        VoteSigners {
            tables: stats.builds.saturating_sub(stats.evictions),
            prepared: stats.prepared,
            with_table: stats.hits,
            without_table: stats.misses,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_names_are_checked() {
        assert_eq!(
            EngineMetrics::new(&["ved", "ued", "ved"]).err(),
            Some(MetricsError::DuplicateStage("ved"))
        );
        assert_eq!(
            EngineMetrics::new(&["ved", "U\"ED"]).err(),
            Some(MetricsError::InvalidStageName("U\"ED"))
        );
        assert_eq!(
            EngineMetrics::new(&[""]).err(),
            Some(MetricsError::InvalidStageName(""))
        );
        let m = EngineMetrics::for_pipeline();
        assert_eq!(m.stage_names().collect::<Vec<_>>(), PIPELINE_STAGES);
        assert!(m.stage("nope").is_none());
    }

    #[test]
    fn stage_counters_reach_the_snapshot_by_name() {
        let m = EngineMetrics::for_pipeline();
        let ved = m.stage("ved").expect("ved is a pipeline stage");
        ved.add_items(12);
        ved.set_queue_depth(3);
        let snap = m.snapshot();
        let names: Vec<&str> = snap.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, PIPELINE_STAGES);
        let ved = &snap.stages[2];
        assert_eq!((ved.items, ved.queue_depth), (12, 3));
        assert!(
            snap.stages
                .iter()
                .filter(|s| s.name != "ved")
                .all(|s| s.items == 0)
        );
    }

    #[test]
    fn the_vote_paths_steps_reach_the_snapshot_each_under_its_name() {
        let m = EngineMetrics::for_pipeline();
        assert_eq!(m.snapshot().vote_path, VotePathSummary::default());
        for ms in 1..=4 {
            m.record_vote_path(VotePathTimes {
                votes_verified: Duration::from_millis(ms),
                verdict: Duration::from_micros(100 * ms),
                ved_executed: Duration::from_millis(2 * ms),
            });
        }
        let path = m.snapshot().vote_path;
        let counts_and_max = path
            .steps()
            .map(|(step, s)| (step, s.count, s.sum_us, s.max_us));
        assert_eq!(
            counts_and_max,
            [
                ("votes_verified", 4, 10_000, Some(4_000)),
                ("verdict", 4, 1_000, Some(400)),
                ("ved_executed", 4, 20_000, Some(8_000)),
            ]
        );
    }

    #[test]
    fn lag_follows_the_published_slots() {
        let m = EngineMetrics::for_pipeline();
        m.publish_ved_slot(5);
        assert_eq!(m.ued_lag_slots(), 5);
        m.publish_ued_slot(2);
        m.publish_ved_slot(9);
        m.publish_ued_slot(8);
        m.publish_ued_slot(3); // older: ignored
        let s = m.snapshot();
        assert_eq!((s.ved_slot, s.ued_slot), (9, 8));
        assert_eq!((s.ued_lag_slots, s.max_ued_lag_slots), (1, 7));
        m.publish_ued_slot(9);
        let s = m.snapshot();
        assert_eq!((s.ued_lag_slots, s.max_ued_lag_slots), (0, 7));
    }

    #[test]
    fn a_snapshot_racing_the_first_vote_agrees_with_itself() {
        // A scrape racing the first vote: its time-to-vote count, quantiles and maximum must
        // agree (a count of 0 with a p50, or a count of 1 with none, came from reading the
        // count apart from the buckets).
        for _ in 0..5_000 {
            let m = EngineMetrics::for_pipeline();
            std::thread::scope(|s| {
                s.spawn(|| m.record_time_to_vote(Duration::from_millis(7)));
                loop {
                    let ttv = m.snapshot().time_to_vote;
                    let counted = ttv.count > 0;
                    assert_eq!(counted, ttv.p50_us.is_some(), "{ttv:?}");
                    assert_eq!(counted, ttv.p99_us.is_some(), "{ttv:?}");
                    assert_eq!(counted, ttv.max_us.is_some(), "{ttv:?}");
                    if counted {
                        assert_eq!((ttv.p50_us, ttv.max_us), (Some(7_000), Some(7_000)));
                        break;
                    }
                    std::hint::spin_loop();
                }
            });
        }
    }

    #[test]
    fn time_to_vote_boundary_waits_and_halt_reach_the_snapshot() {
        let m = EngineMetrics::for_pipeline();
        assert_eq!(m.snapshot().time_to_vote, LatencySummary::default());
        for ms in [3, 4, 5] {
            m.record_time_to_vote(Duration::from_millis(ms));
        }
        m.record_boundary_wait(Duration::from_millis(7));
        m.record_boundary_wait(Duration::from_millis(1));
        assert!(!m.is_halted());
        m.set_halted();
        let s = m.snapshot();
        assert_eq!(
            s.time_to_vote,
            LatencySummary {
                count: 3,
                sum_us: 12_000,
                // 4,000 µs lies in the bucket [4,000, 4,032): its midpoint answers.
                p50_us: Some(4_015),
                p99_us: Some(5_000),
                max_us: Some(5_000),
                buckets: LATENCY_BOUNDS_US
                    .iter()
                    .map(|&le_us| LatencyBucket {
                        le_us,
                        count: match le_us {
                            1_000 | 2_500 => 0,
                            // 5,000 µs lies in [4,992, 5,056): its midpoint is past 5 ms.
                            5_000 => 2,
                            _ => 3,
                        },
                    })
                    .collect(),
            }
        );
        assert_eq!((s.boundary_waits, s.boundary_wait_ns), (2, 8_000_000));
        // A wait in progress counts as it goes (a VED stuck at a boundary shows), and once.
        m.begin_boundary_wait();
        std::thread::sleep(Duration::from_millis(20));
        let waiting = m.snapshot();
        assert_eq!(waiting.boundary_waits, 2);
        assert!(
            waiting.boundary_wait_ns >= 28_000_000,
            "{}",
            waiting.boundary_wait_ns
        );
        // Its end measured by the VED before the scrape above (5 ms): the wait counts from
        // when it began, never less than a scrape during it saw (a counter does not go down).
        m.record_boundary_wait(Duration::from_millis(5));
        let done = m.snapshot();
        assert_eq!(done.boundary_waits, 3);
        assert!(
            done.boundary_wait_ns >= waiting.boundary_wait_ns,
            "{} after {}",
            done.boundary_wait_ns,
            waiting.boundary_wait_ns
        );
        assert!(s.halted);
    }

    #[test]
    fn tps_is_measured_over_the_sliding_window() {
        let m = EngineMetrics::for_pipeline();
        let t0 = m.started;
        let at = |secs: u64| t0 + Duration::from_secs(secs);
        m.add_executed(Domain::Ved, 100);
        m.add_executed(Domain::Ued, 1_000);
        // No sample a window old yet: since creation.
        let s = m.snapshot_at(at(2));
        assert_eq!((s.ved_tps, s.ued_tps), (50.0, 500.0));
        assert_eq!((s.ved_transactions, s.ued_transactions), (100, 1_000));
        m.add_executed(Domain::Ued, 2_000);
        let s = m.snapshot_at(at(10));
        assert_eq!(
            (s.ved_tps, s.ued_tps),
            (10.0, 300.0),
            "creation is exactly a window old"
        );
        m.add_executed(Domain::Ued, 1_200);
        // The newest sample at least 10 s old is the one at 2 s: 3,200 UED transactions since.
        let s = m.snapshot_at(at(18));
        assert_eq!((s.ved_tps, s.ued_tps), (0.0, 200.0));
        // Polled a minute later, the rate covers that minute.
        m.add_executed(Domain::Ved, 600);
        let s = m.snapshot_at(at(78));
        assert_eq!((s.ved_tps, s.ued_tps), (10.0, 0.0));
        let window = m.tps.lock().expect("not poisoned");
        assert!(window.samples.len() <= 3, "old samples are dropped");
    }

    #[test]
    fn tps_window_stays_bounded_under_frequent_reads() {
        let m = EngineMetrics::for_pipeline();
        for ms in 0..30_000u64 {
            m.add_executed(Domain::Ved, 1);
            m.snapshot_at(m.started + Duration::from_millis(ms));
        }
        let samples = m.tps.lock().expect("not poisoned").samples.len();
        let bound = (TPS_WINDOW.as_millis() / TPS_SAMPLE_SPACING.as_millis()) as usize + 2;
        assert!(samples <= bound, "{samples} samples, bound {bound}");
    }
}
