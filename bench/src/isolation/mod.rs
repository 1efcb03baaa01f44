//! The isolation suite (`tandem bench isolation`, issue #10): does user load delay votes?
//!
//! One cluster of `validators` validators, all in the VED, and `payers` funded user accounts.
//! The same VED workload — a vote per validator per slot — runs through the asynchronous engine
//! at a fixed pace (one block every `pace_ms`, as a leader produces them), in one process: alone
//! (*idle*), and with `ued_transfers` user transfers in every block (*loaded*), in `rounds`
//! rounds that each run every kind on fresh engines, the order rotating from round to round
//! (idle first, then loaded first, …), so a drift of the machine's speed weighs on all alike.
//! Each block's
//! time-to-vote is measured from its hand-over to the engine to its VED hash (the engine's vote
//! point). The first `warmup_slots` blocks of each run are not counted (the VED's signer cache
//! fills there, in every run alike); p50 and p99 are nearest-rank over the pooled samples.
//!
//! With `forged` > 0 a third kind of run (*forged*) adds that many junk transactions to every
//! block instead of the transfers: fee payers of the VED (the validators' nodes, or their vote
//! accounts: [`ForgedPayers`]) with well-formed signatures by other keys — a leader's attack on
//! the vote path, each costing a whole signature verification there before it fails with
//! `InvalidSignature`.
//!
//! [`run_load_sweep`] runs the same votes under several UED loads (time-to-vote against UED
//! load, a figure of `tandem bench`), with the loads' order rotating from round to round.
//!
//! With [`Api::CAbi`] every run drives the engine through the C ABI's exports instead of the
//! Rust API (`c_abi`): the engine a validator client embeds, timed as its host sees it.
//!
//! Every block is signed before the runs start, and a run of hundreds of slots reaches its last
//! blocks minutes later. The host hands each block over as it received it, just now: its bytes
//! are copied into the host's buffer (the C ABI: a receive buffer the host reuses; the Rust
//! API: a block buffer the engine spares) before the pace's wait, outside the time-to-vote. On
//! the 2-vCPU guest the suite is measured on, a block's megabytes left untouched for a minute
//! or more read at about 0.6 GB/s instead of 10–20 GB/s (the hypervisor's, not the guest's:
//! no fault, no steal), and when the engine decoded them straight from the suite's copy, that
//! was the loaded runs' time-to-vote rising by 4–8 ms over stretches of 50–150 slots of
//! 700-slot runs (copies of 0.4 ms and of 8.2–8.9 ms a block, measured, 2026-12-04).
//!
//! The votes carry the true VED hashes of the slots they vote on (a sequential pre-run of the
//! votes computes them), and every run's vote points must equal the idle run's: neither user
//! transactions nor forged ones change the VED's state. The suite checks it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use serde::Serialize;
use tandem_engine::Domain;
use tandem_engine::genesis::Genesis;
use tandem_engine::ledger::Block;
use tandem_engine::pipeline::metrics::{MetricsSnapshot, VotePathTimes};
use tandem_engine::pipeline::{Engine, EngineConfig, EngineHooks, Placement, Waited};
use tandem_engine::runtime::Backend;

use crate::fixtures::{ForgedPayers, VoteCluster};

mod c_abi;
pub mod stalls;

use stalls::{STALL_MS, Sample, Stall};

/// The API the suite drives the engine through.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Api {
    /// `tandem_engine::pipeline::Engine`, with the vote hook's time-to-vote.
    #[default]
    Rust,
    /// The C ABI's exports (`tandem_engine_open`, `tandem_engine_submit_block`,
    /// `tandem_engine_ved_hash`), timed as a host sees them (`c_abi`); `cores` is
    /// `tandem_engine_config.cores` (`None`: the automatic placement), and
    /// [`IsolationConfig::placement`] is not read.
    CAbi {
        /// The `cores` setting, as `tandem run --cores` takes it.
        cores: Option<String>,
    },
}

impl Api {
    /// Its name in the report: `rust` or `c-abi`.
    pub const fn name(&self) -> &'static str {
        match self {
            Api::Rust => "rust",
            Api::CAbi { .. } => "c-abi",
        }
    }
}

/// What the suite runs.
#[derive(Clone, Debug)]
pub struct IsolationConfig {
    /// Validators, each voting once per slot (the votes per slot).
    pub validators: usize,
    /// User transfers per slot in the loaded run.
    pub ued_transfers: usize,
    /// Forged transactions of VED payers per slot in a third run (module docs); 0: no such run.
    pub forged: usize,
    /// Whose keys the forged transactions name as payers.
    pub forged_payers: ForgedPayers,
    /// Distinct user payers the transfers come from.
    pub payers: usize,
    /// Slots measured per kind of run (idle, loaded, forged), over all rounds.
    pub slots: u64,
    /// Rounds: each runs every kind once, the order rotating, on fresh engines, so a drift of
    /// the machine's speed weighs on all alike.
    pub rounds: u64,
    /// Slots each run starts with and does not measure.
    pub warmup_slots: u64,
    /// Milliseconds between blocks.
    pub pace_ms: u64,
    /// Threads of the UED pass.
    pub ued_threads: usize,
    /// Backend of the kernels.
    pub backend: Backend,
    /// Where the stages run (`None`: unpinned), through the Rust API.
    pub placement: Option<Placement>,
    /// The API the engine is driven through.
    pub api: Api,
}

impl Default for IsolationConfig {
    fn default() -> Self {
        IsolationConfig {
            validators: 1_000,
            ued_transfers: 20_000,
            forged: 0,
            forged_payers: ForgedPayers::Nodes,
            payers: 4_000,
            slots: 30,
            rounds: 3,
            warmup_slots: 3,
            pace_ms: 400,
            ued_threads: 1,
            backend: Backend::Cpu,
            placement: None,
            api: Api::Rust,
        }
    }
}

/// One kind of run's time-to-vote, over all rounds.
#[derive(Clone, Debug, Serialize)]
pub struct IsolationRun {
    /// The median, in milliseconds.
    pub p50_ms: f64,
    /// The 99th percentile (nearest rank), in milliseconds.
    pub p99_ms: f64,
    /// The longest, in milliseconds.
    pub max_ms: f64,
    /// Votes in each block.
    pub votes_per_slot: usize,
    /// User transactions in each block.
    pub ued_tx_per_slot: usize,
    /// Forged transactions of VED payers in each block (module docs).
    #[serde(skip_serializing_if = "is_zero")]
    pub forged_tx_per_slot: usize,
    /// Blocks measured.
    pub slots: usize,
    /// Each measured block's time-to-vote, in milliseconds, in the order measured.
    pub samples_ms: Vec<f64>,
    /// The largest time-to-vote of the warm-up blocks (a fresh engine, its voters' signer
    /// cache cold), in milliseconds: what the first slots after a start cost.
    pub cold_max_ms: f64,
    /// The UED's largest lag behind the VED during the run, in slots.
    pub max_ued_lag_slots: u64,
    /// Milliseconds of work per measured block on the vote's path, by stage (`ingest`,
    /// `sigverify-ved`, `ved`): where time-to-vote goes (the warm-up blocks' work not counted).
    pub vote_path_ms_per_slot: Vec<(String, f64)>,
    /// The steps of the vote's path, each from the hand-over, at the median of the measured
    /// blocks, in milliseconds ([`VotePathTimes`]): `None` through the C ABI, whose host
    /// sees only the hash.
    pub vote_path_p50_ms: Option<VotePathMs>,
    /// The measured blocks whose time-to-vote passed [`STALL_MS`], in the order measured, each
    /// with what the machine did meanwhile ([`stalls`]).
    pub stalls: Vec<Stall>,
    /// Milliseconds the hypervisor took from this guest's vCPUs (all together) during a
    /// measured block's time-to-vote, on average; `None` where the counters cannot be read.
    pub steal_ms_per_block: Option<f64>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The steps of the vote's path ([`VotePathTimes`]) in milliseconds from the block's
/// hand-over, each the median over the measured blocks (nearest rank, each step apart).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VotePathMs {
    /// The votes' signatures verified.
    pub votes_verified: f64,
    /// Ingest's verdict (every transaction parsed).
    pub verdict: f64,
    /// The VED's part executed.
    pub ved_executed: f64,
}

impl VotePathMs {
    /// The medians of `paths`; `None` where there are none.
    fn median(paths: &[VotePathTimes]) -> Option<VotePathMs> {
        let median = |step: fn(&VotePathTimes) -> Duration| {
            let mut times: Vec<Duration> = paths.iter().map(step).collect();
            times.sort();
            quantile_ms(&times, 0.5)
        };
        (!paths.is_empty()).then(|| VotePathMs {
            votes_verified: median(|p| p.votes_verified),
            verdict: median(|p| p.verdict),
            ved_executed: median(|p| p.ved_executed),
        })
    }
}

/// The suite's result: both runs and their ratios (loaded ÷ idle).
#[derive(Clone, Debug, Serialize)]
pub struct IsolationReport {
    /// Votes alone.
    pub idle: IsolationRun,
    /// Votes with user load.
    pub loaded: IsolationRun,
    /// `loaded.p50_ms / idle.p50_ms`.
    pub ratio_p50: f64,
    /// `loaded.p99_ms / idle.p99_ms`.
    pub ratio_p99: f64,
    /// Votes with forged transactions of VED payers, where asked (module docs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forged: Option<IsolationRun>,
    /// Whose keys the forged transactions named as payers, where there is a forged run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forged_payers: Option<ForgedPayers>,
    /// `forged.p50_ms / idle.p50_ms`, where there is a forged run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forged_ratio_p50: Option<f64>,
    /// `forged.p99_ms / idle.p99_ms`, where there is a forged run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forged_ratio_p99: Option<f64>,
    /// Milliseconds between blocks.
    pub pace_ms: u64,
    /// The API the engine was driven through: `rust`, or `c-abi` ([`Api`]).
    pub api: &'static str,
}

/// What one run saw: each block's vote point (slot, VED hash, time-to-vote), the UED's largest
/// lag, the vote path's work per block by stage, and the machine's counters at each block's
/// hand-over and at its vote ([`stalls`]).
struct RunResult {
    votes: Vec<(u64, [u8; 32], Duration)>,
    /// The steps of each block's vote path, by slot (the vote hook's: the Rust API).
    paths: HashMap<u64, VotePathTimes>,
    max_ued_lag_slots: u64,
    vote_path_ms_per_slot: Vec<(String, f64)>,
    /// The round, from 1 (set by [`sweep`]).
    round: u64,
    /// Samples at each block's hand-over, by slot.
    handed: HashMap<u64, Sample>,
    /// Samples at each block's vote point, by slot.
    voted: HashMap<u64, Sample>,
}

impl RunResult {
    /// The record of `slot`'s vote of `time_to_vote`, where both its samples were taken.
    fn stall(&self, slot: u64, time_to_vote: Duration) -> Option<Stall> {
        let (before, after) = (self.handed.get(&slot)?, self.voted.get(&slot)?);
        let ms = time_to_vote.as_secs_f64() * 1e3;
        Some(Stall::between(self.round, slot, ms, before, after))
    }
}

/// One run: feeds `blocks` at the pace and gathers each block's vote point.
fn run(
    genesis: &Genesis,
    config: &IsolationConfig,
    blocks: Vec<Block>,
) -> Result<RunResult, String> {
    let votes = Arc::new(Mutex::new((Vec::new(), HashMap::new(), HashMap::new())));
    let seen = Arc::clone(&votes);
    let hooks = EngineHooks {
        on_vote: Some(Box::new(move |v| {
            // After the vote point: not in its time-to-vote.
            let sample = Sample::take();
            let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
            seen.0.push((v.slot, v.ved_hash, v.time_to_vote));
            if let Some(sample) = sample {
                seen.1.insert(v.slot, sample);
            }
            if let Some(path) = v.path {
                seen.2.insert(v.slot, path);
            }
        })),
        on_outcome: None,
        on_alert: None,
    };
    let scratch = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let engine = Engine::open(
        genesis,
        scratch.path(),
        EngineConfig {
            backend: config.backend,
            ued_threads: config.ued_threads,
            placement: config.placement.clone(),
            // The UED may lag the whole run: the feed never waits on it.
            ued_queue_blocks: blocks.len() + 1,
            ..EngineConfig::default()
        },
        hooks,
    )
    .map_err(|e| e.to_string())?;
    let metrics = Arc::clone(engine.metrics());
    // The stages' counters once the warm-up blocks are voted on: the work per block is of the
    // measured blocks alone, as the time-to-vote is.
    let mut warm = metrics.snapshot();
    let mut pace = Pace::new(config.pace_ms);
    let mut handed = HashMap::new();
    for block in blocks {
        let block = received(&engine, block);
        pace.wait();
        let slot = block.header.slot;
        if let Some(sample) = Sample::take() {
            handed.insert(slot, sample);
        }
        engine.submit(block).map_err(|e| e.to_string())?;
        if slot == config.warmup_slots {
            warm = warmed_up(&engine, slot)?;
            pace.after_warm_up();
        }
    }
    engine.finish().map_err(|e| e.to_string())?;
    let snapshot = metrics.snapshot();
    let path = vote_path_per_block(&warm, &snapshot);
    let (votes, voted, paths) =
        std::mem::take(&mut *votes.lock().unwrap_or_else(PoisonError::into_inner));
    Ok(RunResult {
        votes,
        paths,
        max_ued_lag_slots: snapshot.max_ued_lag_slots,
        vote_path_ms_per_slot: path,
        round: 0,
        handed,
        voted,
    })
}

/// `block` as a host has it when it hands it over: received just now, its transactions written
/// into a buffer the engine spares (as a host decoding blocks from the wire does), not the
/// suite's copy signed minutes before the run reached it (module docs).
fn received(engine: &Engine, block: Block) -> Block {
    let mut transactions = engine.spare_transactions();
    for transaction in block.transactions.iter() {
        transactions.push(transaction);
    }
    Block {
        header: block.header,
        transactions,
    }
}

/// The leader's clock: a block every `pace_ms`, from the first.
struct Pace {
    every: Duration,
    due: Instant,
}

impl Pace {
    fn new(pace_ms: u64) -> Pace {
        Pace {
            every: Duration::from_millis(pace_ms),
            due: Instant::now(),
        }
    }

    /// Sleeps until the next block is due.
    fn wait(&mut self) {
        std::thread::sleep(self.due.saturating_duration_since(Instant::now()));
        self.due += self.every;
    }

    /// After the warm-up: the next block a pace after the last one, or at once if the warm-up
    /// took longer.
    fn after_warm_up(&mut self) {
        self.due = self.due.max(Instant::now());
    }
}

/// The engine's metrics once the VED has voted on the last warm-up block `slot` and counted it
/// (the VED counts a block after its vote point).
fn warmed_up(engine: &Engine, slot: u64) -> Result<MetricsSnapshot, String> {
    let deadline = Instant::now() + Duration::from_secs(600);
    match engine.wait_hash(Domain::Ved, slot, Duration::from_secs(600)) {
        Ok(Waited::Hash(_)) => {}
        Ok(other) => return Err(format!("the warm-up block of slot {slot}: {other:?}")),
        Err(e) => return Err(e.to_string()),
    }
    loop {
        let snapshot = engine.metrics().snapshot();
        let ved_blocks = snapshot
            .stages
            .iter()
            .find(|s| s.name == "ved")
            .map_or(0, |s| s.items);
        if ved_blocks >= slot {
            return Ok(snapshot);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the VED voted on slot {slot} and counted {ved_blocks} blocks"
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Milliseconds of work per block of the vote path's stages (`ingest`, `sigverify-ved`, `ved`)
/// between two snapshots of one engine's metrics.
fn vote_path_per_block(from: &MetricsSnapshot, to: &MetricsSnapshot) -> Vec<(String, f64)> {
    to.stages
        .iter()
        .filter(|s| ["ingest", "sigverify-ved", "ved"].contains(&s.name.as_str()))
        .map(|s| {
            let before = from.stages.iter().find(|b| b.name == s.name);
            let (busy, items) = before.map_or((0, 0), |b| (b.busy_ns, b.items));
            let per_block = s.busy_ns.saturating_sub(busy) as f64
                / 1e6
                / s.items.saturating_sub(items).max(1) as f64;
            (s.name.clone(), per_block)
        })
        .collect()
}

/// The nearest-rank quantile `q` of `sorted`, in milliseconds.
fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e3
}

fn summarize(runs: Vec<RunResult>, warmup: u64, votes_per_slot: usize, load: Load) -> IsolationRun {
    let samples: Vec<Duration> = runs
        .iter()
        .flat_map(|r| {
            r.votes
                .iter()
                .filter(|(slot, ..)| *slot > warmup)
                .map(|v| v.2)
        })
        .collect();
    let mut times = samples.clone();
    times.sort();
    // What the machine did during each measured block's time-to-vote, where both samples were
    // taken: the stalls among them, and the steal of all.
    let records: Vec<Option<Stall>> = runs
        .iter()
        .flat_map(|r| {
            r.votes
                .iter()
                .filter(|(slot, ..)| *slot > warmup)
                .map(|(slot, _, ttv)| r.stall(*slot, *ttv))
        })
        .collect();
    // The vote path's work per block, averaged over the rounds.
    let mut path: Vec<(String, f64)> = Vec::new();
    for run in &runs {
        for (stage, ms) in &run.vote_path_ms_per_slot {
            match path.iter_mut().find(|(s, _)| s == stage) {
                Some((_, sum)) => *sum += ms / runs.len() as f64,
                None => path.push((stage.clone(), ms / runs.len() as f64)),
            }
        }
    }
    IsolationRun {
        p50_ms: quantile_ms(&times, 0.50),
        p99_ms: quantile_ms(&times, 0.99),
        max_ms: quantile_ms(&times, 1.0),
        votes_per_slot,
        ued_tx_per_slot: load.transfers,
        forged_tx_per_slot: load.forged,
        slots: times.len(),
        samples_ms: samples.iter().map(|d| d.as_secs_f64() * 1e3).collect(),
        cold_max_ms: runs
            .iter()
            .flat_map(|r| r.votes.iter().filter(|(slot, ..)| *slot <= warmup))
            .map(|v| v.2.as_secs_f64() * 1e3)
            .fold(0.0, f64::max),
        max_ued_lag_slots: runs.iter().map(|r| r.max_ued_lag_slots).max().unwrap_or(0),
        vote_path_ms_per_slot: path,
        vote_path_p50_ms: VotePathMs::median(
            &runs
                .iter()
                .flat_map(|r| {
                    r.votes
                        .iter()
                        .filter(|(slot, ..)| *slot > warmup)
                        .filter_map(|(slot, ..)| r.paths.get(slot).copied())
                })
                .collect::<Vec<_>>(),
        ),
        stalls: records
            .iter()
            .flatten()
            .filter(|s| s.time_to_vote_ms > STALL_MS)
            .cloned()
            .collect(),
        steal_ms_per_block: mean_steal(&records),
    }
}

/// The mean of the measured blocks' steal (all vCPUs), where every one has its record.
fn mean_steal(records: &[Option<Stall>]) -> Option<f64> {
    let steals = records
        .iter()
        .map(|r| r.as_ref().map(Stall::steal_ms))
        .collect::<Option<Vec<f64>>>()?;
    (!steals.is_empty()).then(|| steals.iter().sum::<f64>() / steals.len() as f64)
}

/// Time-to-vote at one UED load: one summary per round (each over that round's measured
/// blocks), so a figure can be the median of the rounds with their spread.
#[derive(Clone, Debug, Serialize)]
pub struct LoadPoint {
    /// User transfers in every block.
    pub ued_tx_per_slot: usize,
    /// Each round's run at this load, in round order.
    pub rounds: Vec<IsolationRun>,
}

/// Runs the suite; `progress` is told each phase as it starts.
pub fn run_isolation(
    config: &IsolationConfig,
    progress: impl FnMut(&str),
) -> Result<IsolationReport, String> {
    let mut loads = vec![Load::transfers(0), Load::transfers(config.ued_transfers)];
    if config.forged > 0 {
        loads.push(Load {
            transfers: 0,
            forged: config.forged,
        });
    }
    let mut runs = sweep(config, &loads, progress)?.into_iter().zip(&loads);
    let votes = config.validators;
    let mut next = || {
        let (runs, load) = runs.next().expect("one list of runs per load");
        summarize(runs, config.warmup_slots, votes, *load)
    };
    let (idle, loaded) = (next(), next());
    let forged = (config.forged > 0).then(next);
    Ok(IsolationReport {
        ratio_p50: loaded.p50_ms / idle.p50_ms,
        ratio_p99: loaded.p99_ms / idle.p99_ms,
        forged_payers: forged.as_ref().map(|_| config.forged_payers),
        forged_ratio_p50: forged.as_ref().map(|f| f.p50_ms / idle.p50_ms),
        forged_ratio_p99: forged.as_ref().map(|f| f.p99_ms / idle.p99_ms),
        forged,
        idle,
        loaded,
        pace_ms: config.pace_ms,
        api: config.api.name(),
    })
}

/// Time-to-vote against UED load: the suite's runs with `loads[i]` user transfers in every
/// block (`config.ued_transfers` is ignored), each load once per round, the order rotating from
/// round to round; one [`LoadPoint`] per load, in the order given.
pub fn run_load_sweep(
    config: &IsolationConfig,
    loads: &[usize],
    progress: impl FnMut(&str),
) -> Result<Vec<LoadPoint>, String> {
    let loads: Vec<Load> = loads.iter().map(|&n| Load::transfers(n)).collect();
    let runs = sweep(config, &loads, progress)?;
    Ok(loads
        .iter()
        .zip(runs)
        .map(|(&load, runs)| LoadPoint {
            ued_tx_per_slot: load.transfers,
            rounds: runs
                .into_iter()
                .map(|run| summarize(vec![run], config.warmup_slots, config.validators, load))
                .collect(),
        })
        .collect())
}

/// The longest run the suite makes (warm-up included): 11 hours at a 400 ms pace, every block
/// signed and held in memory before the run starts.
pub const MAX_RUN_SLOTS: u64 = 100_000;

/// The most transactions a run's blocks may hold (votes, the largest load's transfers and the
/// forged transactions, warm-up included): every one is signed and held in memory before the
/// runs start, about 3.5 GB at this limit.
pub const MAX_RUN_TRANSACTIONS: u64 = 16_000_000;

/// The longest pace between blocks: a minute.
pub const MAX_PACE_MS: u64 = 60_000;

/// What a kind of run adds to every block besides the votes.
#[derive(Clone, Copy, Debug)]
struct Load {
    /// User transfers.
    transfers: usize,
    /// Forged transactions of VED payers ([`VoteCluster::forged`]).
    forged: usize,
}

impl Load {
    fn transfers(transfers: usize) -> Load {
        Load {
            transfers,
            forged: 0,
        }
    }
}

/// Every run of the suite: for each of `loads` (what it adds to every block), one run per round;
/// in round `r` the loads run in the order given rotated by `r`, so each takes every position
/// and a drift of the machine's speed weighs on all alike. Checks that every run reached the
/// same vote points.
fn sweep(
    config: &IsolationConfig,
    loads: &[Load],
    mut progress: impl FnMut(&str),
) -> Result<Vec<Vec<RunResult>>, String> {
    let most = loads.iter().map(|l| l.transfers).max().unwrap_or(0);
    let most_forged = loads.iter().map(|l| l.forged).max().unwrap_or(0);
    if config.validators == 0
        || config.slots == 0
        || loads.is_empty()
        || (most > 0 && config.payers == 0)
    {
        return Err(
            "the isolation suite needs validators, slots, and payers for its transfers".into(),
        );
    }
    // Every round measures a slot at least: 0 rounds ran 1, and 2 slots over 5 rounds
    // measured 5, each silently.
    if config.rounds == 0 || config.rounds > config.slots {
        return Err(format!(
            "{} slots over {} rounds: every round measures at least one slot (--rounds from 1 \
             to --slots)",
            config.slots, config.rounds
        ));
    }
    let rounds = config.rounds;
    let slots = config
        .warmup_slots
        .checked_add(config.slots.div_ceil(rounds))
        .filter(|&slots| slots <= MAX_RUN_SLOTS)
        .ok_or_else(|| {
            format!(
                "a run of {} warm-up slots and {} measured ({} slots over {rounds} rounds) is \
                 longer than the suite runs: at most {MAX_RUN_SLOTS} slots a run",
                config.warmup_slots,
                config.slots.div_ceil(rounds),
                config.slots
            )
        })?;
    let per_slot = config.validators as u64 + most as u64 + most_forged as u64;
    if slots.saturating_mul(per_slot) > MAX_RUN_TRANSACTIONS {
        return Err(format!(
            "a run of {slots} slots of {} votes and {most} user transfers{} holds {} \
             transactions, signed before it starts: at most {MAX_RUN_TRANSACTIONS} (fewer slots \
             a run, more rounds, or a smaller load)",
            config.validators,
            match most_forged {
                0 => String::new(),
                n => format!(" (and {n} forged transactions)"),
            },
            slots.saturating_mul(per_slot)
        ));
    }
    if config.pace_ms > MAX_PACE_MS {
        return Err(format!(
            "a pace of {} ms between blocks: at most {MAX_PACE_MS} ms",
            config.pace_ms
        ));
    }
    let cluster = VoteCluster::new(config.validators, config.payers);
    progress("signing the votes");
    let vote_blocks = cluster.vote_blocks(slots)?;
    progress("signing the user transfers");
    let payers: Vec<SigningKey> = (0..config.payers)
        .map(|i| VoteCluster::key("user", i))
        .collect();
    let transfers: Vec<Vec<Vec<u8>>> = vote_blocks
        .iter()
        .map(|b| cluster.transfers(&payers, b.header.slot, most))
        .collect();
    if most_forged > 0 {
        progress("forging transactions of the VED's payers");
    }
    let forgers = cluster.forgers(most_forged);
    let forged: Vec<Vec<Vec<u8>>> = vote_blocks
        .iter()
        .map(|b| cluster.forged(&forgers, b.header.slot, most_forged, config.forged_payers))
        .collect();
    let blocks_at = |load: Load| -> Vec<Block> {
        vote_blocks
            .iter()
            .zip(transfers.iter().zip(&forged))
            .map(|(block, (transfers, forged))| {
                let mut block = block.clone();
                block.transactions.extend(&transfers[..load.transfers]);
                block.transactions.extend(&forged[..load.forged]);
                block
            })
            .collect()
    };
    let mut runs: Vec<Vec<RunResult>> = loads.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        for k in 0..loads.len() {
            let i = (k + round as usize) % loads.len();
            let kind = match loads[i] {
                Load {
                    transfers: 0,
                    forged: 0,
                } => "idle: votes alone".to_owned(),
                Load {
                    transfers,
                    forged: 0,
                } => format!("loaded: votes and {transfers} user transfers per block"),
                Load { transfers, forged } => format!(
                    "forged: votes, {forged} forged transactions of VED payers and {transfers} \
                     user transfers per block"
                ),
            };
            progress(&format!("round {}/{rounds}, {kind}", round + 1));
            let blocks = blocks_at(loads[i]);
            let mut result = match &config.api {
                Api::Rust => run(&cluster.genesis, config, blocks)?,
                Api::CAbi { cores } => {
                    c_abi::run(&cluster.genesis, config, cores.as_deref(), blocks)?
                }
            };
            result.round = round + 1;
            runs[i].push(result);
        }
    }
    let points = |r: &RunResult| -> Vec<(u64, [u8; 32])> {
        r.votes.iter().map(|(s, h, _)| (*s, *h)).collect()
    };
    let first = points(&runs[0][0]);
    if runs.iter().flatten().any(|r| points(r) != first) {
        return Err(
            "the runs' VED hashes differ: user (or forged) transactions changed the VED".into(),
        );
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use tandem_engine::pipeline::metrics::StageSnapshot;

    use super::*;

    fn stages(busy_ms: [u64; 4], items: u64) -> MetricsSnapshot {
        let names = ["ingest", "sigverify-ved", "sigverify-ued", "ved"];
        MetricsSnapshot {
            stages: names
                .iter()
                .zip(busy_ms)
                .map(|(name, ms)| StageSnapshot {
                    name: (*name).into(),
                    items,
                    busy_ns: ms * 1_000_000,
                    ..StageSnapshot::default()
                })
                .collect(),
            ..MetricsSnapshot::default()
        }
    }

    #[test]
    fn a_measured_block_over_the_goal_is_a_stall_and_a_warm_up_block_is_not() {
        let ms = Duration::from_millis;
        let votes = vec![
            (1, [0; 32], ms(80)),
            (2, [0; 32], ms(10)),
            (3, [0; 32], ms(60)),
        ];
        let samples =
            || -> HashMap<u64, Sample> { (1..=3).map(|slot| (slot, Sample::default())).collect() };
        let run = RunResult {
            votes,
            paths: HashMap::new(),
            max_ued_lag_slots: 0,
            vote_path_ms_per_slot: Vec::new(),
            round: 2,
            handed: samples(),
            voted: samples(),
        };
        let summary = summarize(vec![run], 1, 8, Load::transfers(0));
        let stalls: Vec<(u64, u64, f64)> = summary
            .stalls
            .iter()
            .map(|s| (s.round, s.slot, s.time_to_vote_ms))
            .collect();
        assert_eq!(stalls, [(2, 3, 60.0)]);
        assert_eq!(summary.steal_ms_per_block, Some(0.0));
    }

    #[test]
    fn rounds_that_could_not_each_measure_a_slot_are_refused() {
        // 0 rounds ran 1, and 2 slots over 5 rounds measured 5, each silently.
        for (slots, rounds) in [(3, 0), (2, 5)] {
            let config = IsolationConfig {
                validators: 4,
                slots,
                rounds,
                ..IsolationConfig::default()
            };
            let Err(err) = sweep(&config, &[Load::transfers(0)], |_| {}) else {
                panic!("{slots} slots over {rounds} rounds ran");
            };
            assert_eq!(
                err,
                format!(
                    "{slots} slots over {rounds} rounds: every round measures at least one slot \
                     (--rounds from 1 to --slots)"
                )
            );
        }
    }

    #[test]
    fn the_vote_paths_medians_are_each_steps_own() {
        let ms = Duration::from_millis;
        let path = |verified, verdict, executed| VotePathTimes {
            votes_verified: ms(verified),
            verdict: ms(verdict),
            ved_executed: ms(executed),
        };
        assert_eq!(VotePathMs::median(&[]), None);
        let paths = [path(4, 1, 7), path(3, 4, 6), path(5, 2, 9)];
        let medians = VotePathMs::median(&paths).expect("three paths");
        assert_eq!(
            (
                medians.votes_verified,
                medians.verdict,
                medians.ved_executed
            ),
            (4.0, 2.0, 7.0)
        );
    }

    /// Through the C ABI (the cluster written to a genesis file, the blocks encoded) the runs
    /// reach the vote points the Rust API's runs reach, slot by slot.
    #[test]
    fn the_c_abis_runs_vote_as_the_rust_apis() {
        let config = IsolationConfig {
            validators: 8,
            ued_transfers: 50,
            payers: 10,
            slots: 3,
            rounds: 1,
            warmup_slots: 1,
            pace_ms: 5,
            ..IsolationConfig::default()
        };
        let loads = [Load::transfers(0), Load::transfers(config.ued_transfers)];
        let points = |api: Api| -> Vec<Vec<(u64, [u8; 32])>> {
            let config = IsolationConfig {
                api,
                ..config.clone()
            };
            let runs = sweep(&config, &loads, |_| {}).unwrap();
            // Both APIs sample the machine at every block's hand-over and vote.
            #[cfg(target_os = "linux")]
            for run in runs.iter().flatten() {
                assert_eq!(run.round, 1);
                assert_eq!(run.handed.len(), run.votes.len());
                assert_eq!(run.voted.len(), run.votes.len());
            }
            // The Rust API's hook reports each vote's path; a C ABI host sees the hash alone.
            for run in runs.iter().flatten() {
                let paths = if config.api == Api::Rust {
                    run.votes.len()
                } else {
                    0
                };
                assert_eq!(run.paths.len(), paths, "{:?}", config.api);
            }
            runs.iter()
                .flatten()
                .map(|r| {
                    r.votes
                        .iter()
                        .map(|(slot, hash, _)| (*slot, *hash))
                        .collect()
                })
                .collect()
        };
        let rust = points(Api::Rust);
        let c = points(Api::CAbi { cores: None });
        assert_eq!(rust.len(), 2);
        assert_eq!(
            rust[0].iter().map(|v| v.0).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert_eq!(c, rust);
    }

    #[test]
    fn the_vote_paths_work_per_block_leaves_out_the_warm_up_blocks() {
        // Three warm-up blocks that cost 300 ms of signature checks, then ten at 12 ms each.
        let warm = stages([3, 300, 900, 30], 3);
        let end = stages([13, 420, 4_000, 130], 13);
        let path = vote_path_per_block(&warm, &end);
        assert_eq!(
            path,
            vec![
                ("ingest".to_owned(), 1.0),
                ("sigverify-ved".to_owned(), 12.0),
                ("ved".to_owned(), 10.0),
            ]
        );
        // From the start (no warm-up): over every block.
        let all = vote_path_per_block(&MetricsSnapshot::default(), &end);
        assert_eq!(all[1], ("sigverify-ved".to_owned(), 420.0 / 13.0));
    }
}
