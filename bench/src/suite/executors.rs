//! The executors suite: the two domain executors on their own, signatures verified beforehand.
//! - [`names::VED_VOTES`], one pinned thread: the VED executor (`VedExecutor::execute`, a fresh
//!   one from genesis per call, slot 1 untimed) runs slots of votes — every validator of the isolation suite's
//!   cluster (1,000, all in the VED) votes once a slot, carrying the true VED hash — and chains
//!   `hash_VED`: checks 1–4, the vote program, the VED's LtHash;
//! - [`names::UED_TRANSFERS`], by UED thread count: `Runtime::execute_verified` of a block of
//!   4,000 transfers from distinct payers to new accounts (the criterion bench's,
//!   `benches/runtime.rs`) on a fresh runtime per call — both passes with the UED's on that many
//!   threads, LtHash updates, the hash chain, the runtime state and the store commit, on tmpfs
//!   where there is one. Its thread is allowed on the first PUs only, as many as the UED
//!   threads; the pass threads inherit that.

use std::path::PathBuf;
use std::time::Instant;

use tandem_engine::Pubkey;
use tandem_engine::genesis::Genesis;
use tandem_engine::ledger::{Block, Transactions};
use tandem_engine::runtime::ingest::{VerifiedBlock, parse_block};
use tandem_engine::runtime::{Backend, Runtime, TxStatus};

use super::store::filesystem_of;
use super::{At, Context, Figure, Recorder, Shared, on_pus, rate_over, samples};
use crate::fixtures::{VoteCluster, independent_transfers};
use crate::profile::names;

/// Where the UED executor's stores go: tmpfs where there is one (the commit's fsyncs cost
/// nothing there: the store suite measures the disk), else the scratch directory.
fn ued_root(config: &super::SuiteConfig) -> PathBuf {
    config
        .memory_scratch
        .clone()
        .unwrap_or_else(|| config.scratch.clone())
}

/// The suite's figures.
pub(crate) fn figures<'a>(ctx: &'a Context<'a>) -> Vec<Figure<'a>> {
    let sizes = ctx.sizes();
    let mut figures = vec![Figure::new(
        "executors: VED votes, 1 thread",
        move |rec: &mut Recorder, phase: &mut dyn FnMut(&str)| {
            phase("signing the votes");
            let validators = sizes.ved_validators;
            let cluster = VoteCluster::new(validators, 0);
            // Slot 1's votes (on the genesis slot) fail: nothing is voted on before slot 1.
            // Each call runs it untimed, then times the slots after it.
            let blocks = cluster.vote_blocks(sizes.ved_slots + 1)?;
            let payers: Vec<Vec<Pubkey>> = blocks
                .iter()
                .map(|b| parse_block(b).map(|(_, payers)| payers))
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?;
            let verified: Vec<Vec<Option<bool>>> = blocks
                .iter()
                .map(|b| vec![Some(true); b.transactions.len()])
                .collect();
            phase("executing");
            let runs = on_pus(&ctx.config.pus[..1], || {
                let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
                let runtime =
                    Runtime::open(&cluster.genesis, dir.path()).map_err(|e| e.to_string())?;
                samples(sizes.runs, || {
                    rate_over(sizes.min_run(), || {
                        let mut ved = runtime.ved_executor();
                        ved.execute(&blocks[0], &payers[0], &verified[0])
                            .map_err(|e| e.to_string())?;
                        let started = Instant::now();
                        let mut votes = 0;
                        for (k, block) in blocks.iter().enumerate().skip(1) {
                            let slot = ved
                                .execute(block, &payers[k], &verified[k])
                                .map_err(|e| e.to_string())?;
                            votes += slot.votes.len();
                        }
                        let took = started.elapsed();
                        let all = (blocks.len() - 1) * validators;
                        if votes != all {
                            return Err(format!("{votes} of {all} votes succeeded"));
                        }
                        Ok((votes as u64, took))
                    })
                })
            })?;
            rec.rate(
                names::VED_VOTES,
                At::Threads(1),
                "votes/s",
                &runs,
                format!(
                    "one thread ({}): a fresh VedExecutor from genesis per call runs slot 1 untimed, then {} slots of {validators} votes (one per validator, all in the VED, each carrying the VED hash of the slot before; signatures verified beforehand, not timed) — checks 1-4, the vote program, LtHash_VED and hash_VED; calls for >= {} ms of timed work after one untimed; {}",
                    ctx.pus_label(1),
                    sizes.ved_slots,
                    sizes.min_run_ms,
                    ctx.median_of()
                ),
            );
            Ok(())
        },
    )];
    let block: Shared<(Genesis, Block)> = Shared::new();
    let n = sizes.ued_transfers;
    let root = ued_root(ctx.config);
    for &threads in &sizes.threads {
        let (block, root) = (block.clone(), root.clone());
        figures.push(Figure::new(
            format!("executors: UED transfers, {threads} UED threads"),
            move |rec: &mut Recorder, phase: &mut dyn FnMut(&str)| {
                phase("signing the block");
                let (genesis, block) = block.get(|| Ok(independent_transfers(n)))?;
                phase("verifying the block");
                let verified = VerifiedBlock::new(block, Backend::Cpu).map_err(|e| e.to_string())?;
                phase("executing");
                let pus = &ctx.config.pus[..threads as usize];
                let runs = on_pus(pus, || {
                    samples(sizes.runs, || {
                        rate_over(sizes.min_run(), || {
                            let dir = tempfile::tempdir_in(&root)
                                .map_err(|e| format!("a temporary directory in {}: {e}", root.display()))?;
                            let mut runtime = Runtime::open_with(genesis, dir.path(), Backend::Cpu)
                                .map_err(|e| e.to_string())?;
                            runtime.set_ued_threads(threads as usize);
                            let started = Instant::now();
                            let outcome = runtime.execute_verified(&verified).map_err(|e| e.to_string())?;
                            let took = started.elapsed();
                            let failed = outcome.transactions.iter().filter(|t| t.status != TxStatus::Success).count();
                            if failed > 0 {
                                return Err(format!("{failed} of {n} transfers failed"));
                            }
                            Ok((n as u64, took))
                        })
                    })
                })?;
                rec.rate(
                    names::UED_TRANSFERS,
                    At::Threads(threads),
                    "transfers/s",
                    &runs,
                    format!(
                        "Runtime::execute_verified of a block of {n} transfers from distinct payers to new accounts (parsed and signature-verified beforehand, not timed) on a fresh runtime per call with {threads} UED thread{} (the caller allowed on {} only): both passes, LtHash updates, hash chain, runtime state and store commit, stores in {}; calls for >= {} ms of timed work after one untimed; {}",
                        if threads == 1 { "" } else { "s" },
                        ctx.pus_label(threads as usize),
                        root.display(),
                        sizes.min_run_ms,
                        ctx.median_of()
                    ),
                );
                Ok(())
            },
        ));
    }
    figures.push(Figure::new(
        "executors: UED slots (empty), on the --out disk",
        move |rec: &mut Recorder, phase: &mut dyn FnMut(&str)| {
            phase("committing empty slots");
            let scratch = &ctx.config.scratch;
            let runs = on_pus(&ctx.config.pus[..1], || {
                std::fs::create_dir_all(scratch)
                    .map_err(|e| format!("{}: {e}", scratch.display()))?;
                let dir = tempfile::tempdir_in(scratch)
                    .map_err(|e| format!("a temporary directory in {}: {e}", scratch.display()))?;
                let cluster = VoteCluster::new(4, 0);
                let mut runtime = Runtime::open_with(&cluster.genesis, dir.path(), Backend::Cpu)
                    .map_err(|e| e.to_string())?;
                samples(sizes.runs, || {
                    rate_over(sizes.min_run(), || {
                        let started = Instant::now();
                        for _ in 0..EMPTY_SLOTS_PER_CALL {
                            let empty = Block {
                                header: cluster.header(runtime.slot() + 1),
                                transactions: Transactions::new(),
                            };
                            runtime.execute_block(&empty).map_err(|e| e.to_string())?;
                        }
                        Ok((EMPTY_SLOTS_PER_CALL, started.elapsed()))
                    })
                })
            })?;
            let fs = filesystem_of(scratch).unwrap_or_else(|| "filesystem unknown".into());
            rec.rate(
                names::UED_SLOTS,
                At::Whole,
                "slots/s",
                &runs,
                format!(
                    "Runtime::execute_block of {EMPTY_SLOTS_PER_CALL} empty blocks per call, one after the other, on one thread ({}) in a store in {} ({fs}): each slot's status file, runtime state and store commit, synced — the UED's cost per slot whatever it holds; calls for >= {} ms of timed work after one untimed; {}",
                    ctx.pus_label(1),
                    ctx.config.disk.display(),
                    sizes.min_run_ms,
                    ctx.median_of()
                ),
            );
            Ok(())
        },
    ));
    figures
}

/// Empty slots per timed call of the per-slot figure.
const EMPTY_SLOTS_PER_CALL: u64 = 8;
