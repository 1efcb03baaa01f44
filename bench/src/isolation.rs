//! The isolation suite (`tandem bench isolation`, issue #10): does user load delay votes?
//!
//! One cluster of `validators` validators, all in the VED, and `payers` funded user accounts.
//! The same VED workload — a vote per validator per slot — runs twice through the asynchronous
//! engine at a fixed pace (one block every `pace_ms`, as a leader produces them), in one
//! process: alone (*idle*), and with `ued_transfers` user transfers in every block (*loaded*),
//! in `rounds` rounds that each run both on fresh engines in alternating order (idle first, then
//! loaded first, …), so a drift of the machine's speed weighs on both alike. Each block's
//! time-to-vote is measured from its hand-over to the engine to its VED hash (the engine's vote
//! point). The first `warmup_slots` blocks of each run are not counted (the VED's signer cache
//! fills there, in every run alike); p50 and p99 are nearest-rank over the pooled samples.
//!
//! The votes carry the true VED hashes of the slots they vote on (a sequential pre-run of the
//! votes computes them), and the loaded run's vote points must equal the idle run's: user
//! transactions never change the VED's state. The suite checks it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tandem_engine::account::Pubkey;
use tandem_engine::cluster::sim::{generated_genesis, generated_key};
use tandem_engine::genesis::Genesis;
use tandem_engine::ledger::{Block, BlockHeader};
use tandem_engine::pipeline::{Engine, EngineConfig, EngineHooks, Placement};
use tandem_engine::runtime::builtins::vote::VoteInstruction;
use tandem_engine::runtime::{Backend, Runtime};
use tandem_engine::tx::Transaction;

use crate::fixtures::{numbered_key, transfer_message, vote_message};

/// What the suite runs.
#[derive(Clone, Debug)]
pub struct IsolationConfig {
    /// Validators, each voting once per slot (the votes per slot).
    pub validators: usize,
    /// User transfers per slot in the loaded run.
    pub ued_transfers: usize,
    /// Distinct user payers the transfers come from.
    pub payers: usize,
    /// Slots measured per kind of run (idle, loaded), over all rounds.
    pub slots: u64,
    /// Rounds: each runs the idle and the loaded workload once, in alternating order, on fresh
    /// engines, so a drift of the machine's speed weighs on both alike.
    pub rounds: u64,
    /// Slots each run starts with and does not measure.
    pub warmup_slots: u64,
    /// Milliseconds between blocks.
    pub pace_ms: u64,
    /// Threads of the UED pass.
    pub ued_threads: usize,
    /// Backend of the kernels.
    pub backend: Backend,
    /// Where the stages run (`None`: unpinned).
    pub placement: Option<Placement>,
}

impl Default for IsolationConfig {
    fn default() -> Self {
        IsolationConfig {
            validators: 1_000,
            ued_transfers: 20_000,
            payers: 4_000,
            slots: 30,
            rounds: 3,
            warmup_slots: 3,
            pace_ms: 400,
            ued_threads: 1,
            backend: Backend::Cpu,
            placement: None,
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
    /// Blocks measured.
    pub slots: usize,
    /// Each measured block's time-to-vote, in milliseconds, in the order measured.
    pub samples_ms: Vec<f64>,
    /// The largest time-to-vote of the warm-up blocks (a fresh engine, its voters' signer
    /// cache cold), in milliseconds: what the first slots after a start cost.
    pub cold_max_ms: f64,
    /// The UED's largest lag behind the VED during the run, in slots.
    pub max_ued_lag_slots: u64,
    /// Milliseconds of work per block on the vote's path, by stage (`ingest`,
    /// `sigverify-ved`, `ved`): where time-to-vote goes.
    pub vote_path_ms_per_slot: Vec<(String, f64)>,
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
    /// Milliseconds between blocks.
    pub pace_ms: u64,
}

fn key(kind: &str, i: usize) -> SigningKey {
    generated_key("bench:isolation", kind, i)
}

fn pubkey(key: &SigningKey) -> Pubkey {
    Pubkey(key.verifying_key().to_bytes())
}

/// The suite's cluster: `validators` validators of 10,000 SOL (all in the VED) and `payers`
/// users with 1,000 SOL each.
fn genesis(config: &IsolationConfig) -> Genesis {
    generated_genesis(
        "bench:isolation",
        &vec![10_000; config.validators],
        config.payers,
        1_000,
    )
}

fn header(genesis: &Genesis, slot: u64) -> BlockHeader {
    BlockHeader {
        slot,
        parent_slot: slot - 1,
        leader: genesis.validators[slot as usize % genesis.validators.len()].node,
        unix_timestamp_ms: genesis.cluster.unix_timestamp_ms + 400 * slot as i64,
        blockhash: Sha256::new()
            .chain_update(b"tandem:bench:isolation:block")
            .chain_update(slot.to_le_bytes())
            .finalize()
            .into(),
    }
}

/// Signs `messages` over the available cores (generation is not what the suite measures).
fn sign_all(messages: Vec<(Vec<u8>, SigningKey)>) -> Vec<Vec<u8>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = messages.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let parts: Vec<_> = messages
            .chunks(per)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(m, k)| Transaction::sign(m, &[k]).expect("one signer"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("signing thread"))
            .collect()
    })
}

/// Every block's votes, each carrying the VED hash of the slot before (a sequential pre-run of
/// the votes alone computes them).
fn vote_blocks(genesis: &Genesis, slots: u64) -> Result<Vec<Block>, String> {
    let scratch = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let mut runtime = Runtime::open(genesis, scratch.path()).map_err(|e| e.to_string())?;
    let nodes: Vec<SigningKey> = (0..genesis.validators.len())
        .map(|i| key("node", i))
        .collect();
    let mut blocks = Vec::new();
    for slot in 1..=slots {
        let ved_hash = runtime.hash(tandem_engine::Domain::Ved);
        let messages = nodes
            .iter()
            .zip(&genesis.validators)
            .map(|(node, v)| {
                let vote = VoteInstruction::Vote {
                    slot: slot - 1,
                    ved_hash,
                    ued: None,
                    timestamp_ms: genesis.cluster.unix_timestamp_ms,
                };
                let message = vote_message(v.node, v.vote_account, &vote, genesis.hash);
                (message, node.clone())
            })
            .collect();
        let block = Block {
            header: header(genesis, slot),
            transactions: sign_all(messages),
        };
        runtime.execute_block(&block).map_err(|e| e.to_string())?;
        blocks.push(block);
    }
    Ok(blocks)
}

/// `transfers` user transfers for `slot`, each from one of the payers to a new account.
fn transfers(
    genesis: &Genesis,
    payers: &[SigningKey],
    slot: u64,
    transfers: usize,
) -> Vec<Vec<u8>> {
    let messages = (0..transfers)
        .map(|i| {
            let from = &payers[i % payers.len()];
            let to = numbered_key(slot << 32 | i as u64, 0x15);
            let message = transfer_message(pubkey(from), to, 1_000_000, genesis.hash);
            (message, from.clone())
        })
        .collect();
    sign_all(messages)
}

/// What one run saw: each block's vote point (slot, VED hash, time-to-vote), the UED's largest
/// lag, and the vote path's work per block by stage.
struct RunResult {
    votes: Vec<(u64, [u8; 32], Duration)>,
    max_ued_lag_slots: u64,
    vote_path_ms_per_slot: Vec<(String, f64)>,
}

/// One run: feeds `blocks` at the pace and gathers each block's vote point.
fn run(
    genesis: &Genesis,
    config: &IsolationConfig,
    blocks: Vec<Block>,
) -> Result<RunResult, String> {
    let votes = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&votes);
    let hooks = EngineHooks {
        on_vote: Some(Box::new(move |v| {
            let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
            seen.push((v.slot, v.ved_hash, v.time_to_vote));
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
    let start = Instant::now();
    for (k, block) in blocks.into_iter().enumerate() {
        let due = start + Duration::from_millis(config.pace_ms * k as u64);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        engine.submit(block).map_err(|e| e.to_string())?;
    }
    let metrics = Arc::clone(engine.metrics());
    engine.finish().map_err(|e| e.to_string())?;
    let snapshot = metrics.snapshot();
    let path = snapshot
        .stages
        .iter()
        .filter(|s| ["ingest", "sigverify-ved", "ved"].contains(&s.name.as_str()))
        .map(|s| {
            (
                s.name.clone(),
                s.busy_ns as f64 / 1e6 / s.items.max(1) as f64,
            )
        })
        .collect();
    let votes = std::mem::take(&mut *votes.lock().unwrap_or_else(PoisonError::into_inner));
    Ok(RunResult {
        votes,
        max_ued_lag_slots: snapshot.max_ued_lag_slots,
        vote_path_ms_per_slot: path,
    })
}

/// The nearest-rank quantile `q` of `sorted`, in milliseconds.
fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e3
}

fn summarize(
    runs: Vec<RunResult>,
    warmup: u64,
    votes_per_slot: usize,
    ued_tx_per_slot: usize,
) -> IsolationRun {
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
        ued_tx_per_slot,
        slots: times.len(),
        samples_ms: samples.iter().map(|d| d.as_secs_f64() * 1e3).collect(),
        cold_max_ms: runs
            .iter()
            .flat_map(|r| r.votes.iter().filter(|(slot, ..)| *slot <= warmup))
            .map(|v| v.2.as_secs_f64() * 1e3)
            .fold(0.0, f64::max),
        max_ued_lag_slots: runs.iter().map(|r| r.max_ued_lag_slots).max().unwrap_or(0),
        vote_path_ms_per_slot: path,
    }
}

/// Runs the suite; `progress` is told each phase as it starts.
pub fn run_isolation(
    config: &IsolationConfig,
    mut progress: impl FnMut(&str),
) -> Result<IsolationReport, String> {
    if config.validators == 0
        || config.slots == 0
        || (config.ued_transfers > 0 && config.payers == 0)
    {
        return Err(
            "the isolation suite needs validators, slots, and payers for its transfers".into(),
        );
    }
    let genesis = genesis(config);
    let rounds = config.rounds.max(1);
    let slots = config.warmup_slots + config.slots.div_ceil(rounds);
    progress("signing the votes");
    let idle_blocks = vote_blocks(&genesis, slots)?;
    progress("signing the user transfers");
    let payers: Vec<SigningKey> = (0..config.payers).map(|i| key("user", i)).collect();
    let mut loaded_blocks = idle_blocks.clone();
    for block in &mut loaded_blocks {
        let slot = block.header.slot;
        block
            .transactions
            .extend(transfers(&genesis, &payers, slot, config.ued_transfers));
    }
    let (mut idle, mut loaded) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        for loaded_first in [round % 2 == 1, round % 2 == 0] {
            let (kind, blocks, into) = if loaded_first {
                (
                    "loaded: votes and user transfers",
                    &loaded_blocks,
                    &mut loaded,
                )
            } else {
                ("idle: votes alone", &idle_blocks, &mut idle)
            };
            progress(&format!("round {}/{rounds}, {kind}", round + 1));
            into.push(run(&genesis, config, blocks.clone())?);
        }
    }
    let points = |r: &RunResult| -> Vec<(u64, [u8; 32])> {
        r.votes.iter().map(|(s, h, _)| (*s, *h)).collect()
    };
    if idle
        .iter()
        .chain(&loaded)
        .any(|r| points(r) != points(&idle[0]))
    {
        return Err("the runs' VED hashes differ: user transactions changed the VED".into());
    }
    let votes = config.validators;
    let idle = summarize(idle, config.warmup_slots, votes, 0);
    let loaded = summarize(loaded, config.warmup_slots, votes, config.ued_transfers);
    Ok(IsolationReport {
        ratio_p50: loaded.p50_ms / idle.p50_ms,
        ratio_p99: loaded.p99_ms / idle.p99_ms,
        idle,
        loaded,
        pace_ms: config.pace_ms,
    })
}
