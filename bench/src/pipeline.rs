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
//!
//! What the efficiency loses is traced too ([`EfficiencyFactors`]). Each stage is timed once
//! more *beside* the other, that one running over and over on its own PUs: the cost of sharing
//! the machine (caches, memory, the host's scheduling of the vCPUs), which no pipeline avoids.
//! And the engine's own stage doing the bottleneck's work is read from its metrics: its busy
//! time, and of it the CPU time its thread ran. Together they split the efficiency into four
//! factors whose product it is.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hashbrown::HashSet;
use serde::Serialize;
use tandem_engine::account::Pubkey;
use tandem_engine::genesis::Genesis;
use tandem_engine::ledger::Block;
use tandem_engine::pipeline::metrics::thread_cpu_time;
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
    /// Of `seconds`, the CPU time its thread ran (`None`: no thread CPU clock here).
    pub cpu_seconds: Option<f64>,
    /// Seconds it took alone again, with the other bulk stage running over and over beside it
    /// on that stage's own PUs; `None` where the two share PUs or are not pinned.
    pub beside_seconds: Option<f64>,
    /// The engine's stage that did this work in the sustained run (`sigverify-ued`; `ued` for
    /// the executor, whose VED pass the engine runs on the `ved` stage) and its metrics.
    pub in_engine: EngineStage,
}

/// One of the engine's stages in the sustained run, from its metrics.
#[derive(Clone, Debug, Serialize)]
pub struct EngineStage {
    /// The stage's name in the engine's metrics.
    pub stage: &'static str,
    /// Seconds it was busy.
    pub busy_seconds: f64,
    /// Of those, the CPU time its own thread ran (helper threads it hands work to not counted).
    pub busy_cpu_seconds: f64,
    /// Whether the stage did its work on that one thread: only then is its CPU time the work's.
    pub one_thread: bool,
}

/// The efficiency split into four factors, each at most about 1, whose product it is:
/// `beside × own_work × on_cpu × kept_busy` = `efficiency` (the bottleneck alone ÷ the engine's
/// wall time).
#[derive(Clone, Debug, Serialize)]
pub struct EfficiencyFactors {
    /// The bottleneck alone ÷ the bottleneck beside the other stage: what sharing the machine
    /// costs it (caches, memory, the host), whichever pipeline runs the two.
    pub beside: f64,
    /// Beside ÷ the CPU time its engine stage ran while busy: the engine's work for the same
    /// transactions against the stage's alone (the engine's own parsing and bookkeeping, a
    /// signer cache built as it goes), and whatever else the engine runs beside it.
    pub own_work: f64,
    /// That CPU time ÷ the engine stage's busy time: a busy thread off its PU, preempted by a
    /// thread of higher priority (the stage runs in `SCHED_IDLE` where it shares PUs with
    /// the vote's helpers) or its vCPU stolen by the hypervisor.
    pub on_cpu: f64,
    /// The engine stage's busy time ÷ the engine's wall time: the stage waiting for work or on
    /// a full queue (the pipeline filling and draining, and backpressure).
    pub kept_busy: f64,
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
    /// What the efficiency loses, factor by factor; `None` where the bottleneck was not timed
    /// beside the other stage or its engine stage worked on more than one thread.
    pub factors: Option<EfficiencyFactors>,
}

/// A stage's time alone: wall and CPU.
#[derive(Clone, Copy, Debug)]
struct Timing {
    wall: Duration,
    cpu: Option<Duration>,
}

/// Runs `work` on a thread pinned to `stage`'s PUs (unpinned without a placement) and times it.
fn alone<T: Send>(
    placement: Option<&Placement>,
    stage: Stage,
    work: impl FnOnce() -> Result<T, String> + Send,
) -> Result<Timing, String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                if let Some(p) = placement {
                    p.pin_thread_to_stage(stage).map_err(|e| e.to_string())?;
                }
                let cpu = thread_cpu_time();
                let started = Instant::now();
                work()?;
                let wall = started.elapsed();
                let cpu = cpu.and_then(|at| Some(thread_cpu_time()?.saturating_sub(at)));
                Ok(Timing { wall, cpu })
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Times `work` as [`alone`] does while `neighbour` runs over and over, from before `work` starts
/// until it ends, on a thread pinned to `other`'s PUs; `neighbour` is handed the flag that
/// says to stop, to look at between its items. `None` where the two stages share a PU or there
/// is no placement (the neighbour would take `work`'s own PU, not sit beside it).
fn beside<T: Send>(
    placement: Option<&Placement>,
    (stage, work): (Stage, impl FnOnce() -> Result<T, String> + Send),
    (other, neighbour): (Stage, impl Fn(&AtomicBool) -> Result<(), String> + Send),
) -> Result<Option<Timing>, String> {
    let Some(p) = placement else {
        return Ok(None);
    };
    let (mine, theirs) = (p.cpus(stage).unwrap_or(&[]), p.cpus(other).unwrap_or(&[]));
    if mine.is_empty() || theirs.is_empty() || mine.iter().any(|pu| theirs.contains(pu)) {
        return Ok(None);
    }
    let stop = &AtomicBool::new(false);
    let (running, started) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let neighbour = scope.spawn(move || {
            p.pin_thread_to_stage(other).map_err(|e| e.to_string())?;
            drop(running);
            while !stop.load(Ordering::Relaxed) {
                neighbour(stop)?;
            }
            Ok::<_, String>(())
        });
        // Disconnected once the neighbour runs (or failed to pin).
        let _ = started.recv();
        // Stops the neighbour however `alone` ends: a panic in it left the scope waiting for
        // the neighbour for ever.
        let timed = {
            let _stop = tandem_engine::pipeline::SetOnDrop(stop);
            alone(placement, stage, work)
        };
        let ran = neighbour
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        ran.and(timed).map(Some)
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
    let summary = engine.finish().map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    // A halted engine publishes no vote point: its time-to-vote and rate are not a cluster's
    // (they were reported as if they were, with a zero exit status).
    if let Some(why) = summary.halted {
        return Err(format!(
            "the engine halted on this ledger ({why}): a halted engine's figures measure no \
             running validator; measure a ledger whose votes agree with its blocks (`tandem \
             gen` writes one)"
        ));
    }
    let snapshot = metrics.snapshot();
    let ms = |us: Option<u64>| us.map(|us| us as f64 / 1e3);

    let voters = genesis_voters(genesis)?;
    let verifier = Ed25519Verifier::shared(backend);
    // The signatures of every transaction whose payer is not a voter, block by block; `stop`
    // (a neighbour's) ends the pass between blocks.
    let verify_users = |stop: Option<&AtomicBool>| -> Result<(), String> {
        for block in blocks {
            if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                break;
            }
            let (txs, payers) = parse_block(block).map_err(|e| e.to_string())?;
            let users = txs
                .iter()
                .zip(&payers)
                .filter(|(_, p)| !voters.contains(*p))
                .map(|(tx, _)| tx);
            verify_signatures_with(&verifier, users).map_err(|e| e.to_string())?;
        }
        Ok(())
    };
    progress("sigverify-ued alone");
    let sigverify = alone(placement.as_ref(), Stage::Sigverify, || verify_users(None))?;

    progress("the executor alone");
    // A runtime at genesis, its store in a temporary directory of its own.
    let fresh_runtime = || -> Result<(tempfile::TempDir, Runtime), String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let mut runtime =
            Runtime::open_with(genesis, dir.path(), backend).map_err(|e| e.to_string())?;
        runtime.set_ued_threads(ued_threads);
        Ok((dir, runtime))
    };
    let (_dir, mut runtime) = fresh_runtime()?;
    let verified = blocks
        .iter()
        .map(|b| runtime.verify(b))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let execute = |runtime: &mut Runtime, stop: Option<&AtomicBool>| -> Result<(), String> {
        for block in &verified {
            if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                break;
            }
            runtime.execute_verified(block).map_err(|e| e.to_string())?;
        }
        Ok(())
    };
    let executor = alone(placement.as_ref(), Stage::Ued, || {
        execute(&mut runtime, None)
    })?;

    progress("each stage beside the other");
    let sigverify_beside = beside(
        placement.as_ref(),
        (Stage::Sigverify, || verify_users(None)),
        (Stage::Ued, |stop: &AtomicBool| {
            let (_dir, mut runtime) = fresh_runtime()?;
            execute(&mut runtime, Some(stop))
        }),
    )?;
    let (_dir, mut runtime) = fresh_runtime()?;
    let executor_beside = beside(
        placement.as_ref(),
        (Stage::Ued, || execute(&mut runtime, None)),
        (Stage::Sigverify, |stop: &AtomicBool| {
            verify_users(Some(stop))
        }),
    )?;

    let in_engine = |stage: &'static str, one_thread: bool| {
        let s = snapshot.stages.iter().find(|s| s.name == stage);
        EngineStage {
            stage,
            busy_seconds: s.map_or(0.0, |s| s.busy_ns as f64 / 1e9),
            busy_cpu_seconds: s.map_or(0.0, |s| s.busy_cpu_ns as f64 / 1e9),
            one_thread,
        }
    };
    // The user signatures on the stage's thread alone: on the CPU, no helper PUs.
    let user_sigverify_one_thread = backend == Backend::Cpu
        && placement
            .as_ref()
            .is_none_or(|p| p.user_sigverify().1.is_empty());
    let stage = |name, alone: Timing, beside: Option<Timing>, in_engine| StageCapacity {
        name,
        seconds: alone.wall.as_secs_f64(),
        capacity_tps: transactions as f64 / alone.wall.as_secs_f64().max(1e-9),
        cpu_seconds: alone.cpu.map(|t| t.as_secs_f64()),
        beside_seconds: beside.map(|t| t.wall.as_secs_f64()),
        in_engine,
    };
    let stages = vec![
        stage(
            "sigverify-ued",
            sigverify,
            sigverify_beside,
            in_engine("sigverify-ued", user_sigverify_one_thread),
        ),
        stage(
            "executor",
            executor,
            executor_beside,
            in_engine("ued", ued_threads == 1),
        ),
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
        factors: factors(slowest, seconds),
        stages,
    })
}

/// Which of `reports` — rounds of the suite on one ledger — stands for them all: the round of
/// the median efficiency (of an even count, the lower of the two middle ones), so that every
/// figure it gives, its factors included, comes from one round and they multiply out. On a
/// shared machine one round's efficiency swings by several percent either way (the host's
/// other guests): the median round, with every round's efficiency beside it, is the figure to
/// compare. `None` for no rounds.
pub fn median_round(reports: &[PipelineReport]) -> Option<usize> {
    let mut order: Vec<usize> = (0..reports.len()).collect();
    order.sort_by(|&a, &b| reports[a].efficiency.total_cmp(&reports[b].efficiency));
    order.get(reports.len().saturating_sub(1) / 2).copied()
}

/// The bottleneck's efficiency factors, where it was timed beside the other stage and its
/// engine stage worked on one thread; `seconds`: the engine's wall time.
fn factors(bottleneck: &StageCapacity, seconds: f64) -> Option<EfficiencyFactors> {
    let beside = bottleneck.beside_seconds?;
    let engine = &bottleneck.in_engine;
    let measured = [
        beside,
        engine.busy_seconds,
        engine.busy_cpu_seconds,
        seconds,
    ];
    if !engine.one_thread || measured.iter().any(|&s| s <= 0.0) {
        return None;
    }
    Some(EfficiencyFactors {
        beside: bottleneck.seconds / beside,
        own_work: beside / engine.busy_cpu_seconds,
        on_cpu: engine.busy_cpu_seconds / engine.busy_seconds,
        kept_busy: engine.busy_seconds / seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(efficiency: f64) -> PipelineReport {
        PipelineReport {
            blocks: 1,
            transactions: 1,
            seconds: 1.0,
            sustained_tps: 1.0,
            time_to_vote_p50_ms: None,
            time_to_vote_p99_ms: None,
            max_ued_lag_slots: 0,
            stages: Vec::new(),
            bottleneck: "sigverify-ued",
            efficiency,
            factors: None,
        }
    }

    #[test]
    fn the_median_round_is_the_one_of_the_median_efficiency_the_lower_of_an_even_count() {
        let of = |effs: &[f64]| median_round(&effs.iter().map(|&e| round(e)).collect::<Vec<_>>());
        assert_eq!(of(&[]), None);
        assert_eq!(of(&[0.9]), Some(0));
        assert_eq!(of(&[0.95, 0.83, 0.89]), Some(2));
        assert_eq!(of(&[0.83, 0.97, 0.89, 0.91, 0.88]), Some(2));
        // Of four, the lower middle: 0.88, not 0.89.
        assert_eq!(of(&[0.89, 0.97, 0.88, 0.83]), Some(2));
    }
}
