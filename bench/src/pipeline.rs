//! The pipeline suite (`tandem bench pipeline`, issue #10): how close the asynchronous engine
//! comes to its slowest stage.
//!
//! On one ledger it measures:
//! - the *sustained* rate: every block submitted as fast as the engine takes them, from the
//!   first submit to the last commit (transactions per second);
//! - each bulk stage's *capacity alone*, on one thread pinned where the placement puts that
//!   stage, nothing else running: `sigverify-ued` (the signatures of every transaction whose
//!   payer is not a voter, one batch per block, the UED's signer cache) and `executor` (the
//!   runtime's sequential execution of each block with its signatures verified beforehand —
//!   both passes, LtHash, hash chain and commit: an upper bound on the UED executor's work);
//! - the pipeline's *efficiency*: sustained ÷ the smallest capacity;
//! - from the engine's metrics of the sustained run, the time-to-vote (p50, p99) and the UED's
//!   largest lag.
//!
//! The engine runs first, the stages alone after, so the signer cache is warm for the stages
//! alone: their capacities are, if anything, overstated, and the efficiency understated.

use std::time::{Duration, Instant};

use hashbrown::HashSet;
use serde::Serialize;
use tandem_engine::account::Pubkey;
use tandem_engine::genesis::Genesis;
use tandem_engine::ledger::Block;
use tandem_engine::pipeline::{Engine, EngineConfig, EngineHooks, Placement, Stage};
use tandem_engine::runtime::ingest::{parse_block, verify_signatures_with};
use tandem_engine::runtime::{Backend, Runtime};
use tandem_kernels::Ed25519Verifier;

/// One stage measured alone.
#[derive(Clone, Debug, Serialize)]
pub struct StageCapacity {
    /// The stage.
    pub name: &'static str,
    /// Seconds it took for the whole ledger.
    pub seconds: f64,
    /// The ledger's transactions per second of it.
    pub capacity_tps: f64,
}

/// The suite's result.
#[derive(Clone, Debug, Serialize)]
pub struct PipelineReport {
    /// Blocks in the ledger.
    pub blocks: usize,
    /// Transactions in the ledger.
    pub transactions: usize,
    /// Seconds from the first submit to the last commit.
    pub seconds: f64,
    /// Transactions per second through the engine.
    pub sustained_tps: f64,
    /// Time-to-vote of the engine's blocks (handed to the engine → VED hash), the median, in
    /// milliseconds (the engine's histogram: exact to 64 µs, then within 0.8 %).
    pub time_to_vote_p50_ms: Option<f64>,
    /// Its 99th percentile, in milliseconds.
    pub time_to_vote_p99_ms: Option<f64>,
    /// The UED's largest lag behind the VED during the run, in slots.
    pub max_ued_lag_slots: u64,
    /// Each bulk stage alone.
    pub stages: Vec<StageCapacity>,
    /// The stage with the smallest capacity.
    pub bottleneck: &'static str,
    /// `sustained_tps` ÷ the bottleneck's capacity.
    pub efficiency: f64,
}

/// Runs `work` on a thread pinned to `stage`'s PUs (unpinned without a placement) and times it.
fn alone<T: Send>(
    placement: Option<&Placement>,
    stage: Stage,
    work: impl FnOnce() -> Result<T, String> + Send,
) -> Result<Duration, String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                if let Some(p) = placement {
                    p.pin_thread_to_stage(stage).map_err(|e| e.to_string())?;
                }
                let started = Instant::now();
                work()?;
                Ok(started.elapsed())
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The fee payers of the VED at genesis (the validators' nodes): what tells a block's votes
/// from its user transactions.
pub fn genesis_voters(genesis: &Genesis) -> Result<HashSet<Pubkey>, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let runtime = Runtime::open(genesis, dir.path()).map_err(|e| e.to_string())?;
    Ok(runtime.ved_executor().ved_payers())
}

/// Runs the suite on `blocks` of `genesis` (a ledger from slot 1).
pub fn run_pipeline(
    genesis: &Genesis,
    blocks: &[Block],
    backend: Backend,
    ued_threads: usize,
    placement: Option<Placement>,
    mut progress: impl FnMut(&str),
) -> Result<PipelineReport, String> {
    let transactions: usize = blocks.iter().map(|b| b.transactions.len()).sum();
    if transactions == 0 {
        return Err("the pipeline suite needs a ledger with transactions".into());
    }

    progress("the engine, as fast as it takes blocks");
    let scratch = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let config = EngineConfig {
        backend,
        ued_threads,
        placement: placement.clone(),
        ..EngineConfig::default()
    };
    let engine = Engine::open(genesis, scratch.path(), config, EngineHooks::default())
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    for block in blocks {
        engine.submit(block.clone()).map_err(|e| e.to_string())?;
    }
    let metrics = std::sync::Arc::clone(engine.metrics());
    engine.finish().map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    let snapshot = metrics.snapshot();
    let ms = |us: Option<u64>| us.map(|us| us as f64 / 1e3);

    progress("sigverify-ued alone");
    let voters = genesis_voters(genesis)?;
    let verifier = Ed25519Verifier::shared(backend);
    let sigverify = alone(placement.as_ref(), Stage::Sigverify, || {
        for block in blocks {
            let (txs, payers) = parse_block(block).map_err(|e| e.to_string())?;
            let users = txs
                .iter()
                .zip(&payers)
                .filter(|(_, p)| !voters.contains(*p))
                .map(|(tx, _)| tx);
            verify_signatures_with(&verifier, users).map_err(|e| e.to_string())?;
        }
        Ok(())
    })?;

    progress("the executor alone");
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let mut runtime =
        Runtime::open_with(genesis, dir.path(), backend).map_err(|e| e.to_string())?;
    runtime.set_ued_threads(ued_threads);
    let verified = blocks
        .iter()
        .map(|b| runtime.verify(b))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let executor = alone(placement.as_ref(), Stage::Ued, || {
        for block in &verified {
            runtime.execute_verified(block).map_err(|e| e.to_string())?;
        }
        Ok(())
    })?;

    let stage = |name, time: Duration| StageCapacity {
        name,
        seconds: time.as_secs_f64(),
        capacity_tps: transactions as f64 / time.as_secs_f64().max(1e-9),
    };
    let stages = vec![
        stage("sigverify-ued", sigverify),
        stage("executor", executor),
    ];
    let slowest = stages
        .iter()
        .min_by(|a, b| a.capacity_tps.total_cmp(&b.capacity_tps))
        .expect("two stages");
    let sustained_tps = transactions as f64 / seconds.max(1e-9);
    Ok(PipelineReport {
        blocks: blocks.len(),
        transactions,
        seconds,
        sustained_tps,
        time_to_vote_p50_ms: ms(snapshot.time_to_vote.p50_us),
        time_to_vote_p99_ms: ms(snapshot.time_to_vote.p99_us),
        max_ued_lag_slots: snapshot.max_ued_lag_slots,
        bottleneck: slowest.name,
        efficiency: sustained_tps / slowest.capacity_tps,
        stages,
    })
}
