//! What user load adds to a vote's path (issue #10's isolation goal): the steps of the
//! asynchronous engine between `submit` and the VED hash whose work grows with the block's user
//! transactions, timed on a block of 1,000 votes alone (*idle*) and with 20,000 user transfers
//! (*loaded*), as `tandem bench isolation` feeds them:
//!
//! - `guess`: ingest's first pass, each transaction's fee payer looked up in the VED's payers
//!   (it decides what the VED's sigverify stage verifies; the votes wait for it);
//! - `verdict`: ingest's parse of every transaction (SPEC §2: one malformed transaction refuses
//!   the block), the answer the VED executor waits for — it runs beside the votes' signature
//!   checks, so on a small machine it takes their CPU;
//! - `ved-execute`: the VED executor's slot (`VedExecutor::execute`: its transactions picked out
//!   of the block, checks 1–4, the VED pass, the hash), the signatures verified beforehand, on
//!   its thread alone; `ved-execute-helper` the same with a helper thread on a second PU sharing
//!   the slot's LtHash, as the engine's plan on a 2-core machine runs it; `ved-execute-cold`
//!   as `ved-execute`, the caches swept first: what the UED's work between two blocks leaves
//!   on the PU the VED shares with it on a small machine;
//! - `go-over`: what the VED's thread does with the block after its vote point, for the next
//!   epoch boundary (`VedExecutor::go_over`: the UED's transactions looked over for one that may
//!   change a UED vote account; no account moving into the VED here). Not on the vote's path,
//!   but on the VED's core, before its next block.
//!
//! Every bench of the group runs on a thread pinned to the first PU the process may use, as the
//! engine pins the VED's (since 2026-12-02; figures before that were unpinned).

use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use tandem_bench::fixtures::VoteCluster;
use tandem_engine::pipeline::{VedPayers, guess_ved};
use tandem_engine::runtime::{Runtime, TxStatus, ingest};

const VALIDATORS: usize = 1_000;
const PAYERS: usize = 4_000;
const TRANSFERS: usize = 20_000;

fn bench(c: &mut Criterion) {
    let cluster = VoteCluster::new(VALIDATORS, PAYERS);
    // Slot 2's votes (those of slot 1 vote on the genesis slot, which no vote may).
    let mut blocks = cluster.vote_blocks(2).expect("vote blocks");
    let votes = blocks.pop().expect("slot 2");
    let payers: Vec<SigningKey> = (0..PAYERS).map(|i| VoteCluster::key("user", i)).collect();
    let mut loaded = votes.clone();
    loaded
        .transactions
        .extend(cluster.transfers(&payers, 2, TRANSFERS));
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut runtime = Runtime::open(&cluster.genesis, scratch.path()).expect("genesis");
    runtime.execute_block(&blocks[0]).expect("slot 1");
    let ved_payers = VedPayers::new(runtime.ved_executor().ved_payers());

    // Measured as the engine runs it: the VED's thread pinned to the first PU this process may
    // run on (every bench of the group runs there), its helper, where there is a second, on
    // that one.
    let allowed: Vec<usize> = core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|id| id.id)
        .collect();
    let pinned = allowed
        .first()
        .is_some_and(|&pu| tandem_engine::pipeline::pin_current_thread(pu).is_ok());
    let helper = allowed.get(1).copied().filter(|_| pinned);
    let mut sweep = Sweep::new();
    let mut group = c.benchmark_group("vote-path");
    for (name, block) in [("idle", &votes), ("loaded", &loaded)] {
        group.throughput(Throughput::Elements(block.transactions.len() as u64));
        group.bench_with_input(BenchmarkId::new("guess", name), block, |b, block| {
            b.iter(|| guess_ved(&block.transactions, &ved_payers))
        });
        group.bench_with_input(BenchmarkId::new("verdict", name), block, |b, block| {
            b.iter(|| black_box(ingest::fee_payers(block).expect("parses")))
        });
        let fee_payers = ingest::fee_payers(block).expect("parses");
        // The sigverify stage's answers: every vote verified, the transfers left to the UED.
        let verified: Vec<Option<bool>> = (0..block.transactions.len())
            .map(|i| (i < VALIDATORS).then_some(true))
            .collect();
        let done = runtime
            .ved_executor()
            .execute(block, &fee_payers, &verified)
            .expect("executes");
        let succeeded = done.admission.statuses[..VALIDATORS]
            .iter()
            .filter(|s| matches!(s, Some(TxStatus::Success)))
            .count();
        assert_eq!(
            (succeeded, done.ued_transactions.len()),
            (VALIDATORS, block.transactions.len() - VALIDATORS),
            "every vote succeeds in the VED, every transfer is left to the UED"
        );
        // Its thread alone (`ved-execute`), with a helper on a second PU sharing the slot's
        // LtHash (`ved-execute-helper`: the engine's plan on a 2-core machine gives it the
        // sigverify stage's PU), and alone after the caches were swept (`ved-execute-cold`: as
        // the UED's work between two blocks leaves them, on the PU the VED shares with it on a
        // small machine).
        let mut runs: Vec<(&str, Vec<usize>, bool)> = vec![("ved-execute", vec![], false)];
        runs.extend(helper.map(|pu| ("ved-execute-helper", vec![pu], false)));
        runs.push(("ved-execute-cold", vec![], true));
        for (id, with, cold) in runs {
            group.bench_with_input(BenchmarkId::new(id, name), block, |b, block| {
                b.iter_batched(
                    || {
                        let ved = runtime.ved_executor().with_hash_helpers(with.clone());
                        if cold {
                            sweep.caches();
                        }
                        ved
                    },
                    |mut ved| {
                        let done = ved
                            .execute(block, &fee_payers, &verified)
                            .expect("executes");
                        (ved, done)
                    },
                    // (A sweep before each slot, not one before a batch of them.)
                    if cold {
                        BatchSize::PerIteration
                    } else {
                        BatchSize::LargeInput
                    },
                )
            });
        }
        let recent = runtime.ved_executor().recent_blockhashes().clone();
        group.bench_with_input(BenchmarkId::new("go-over", name), block, |b, block| {
            b.iter_batched(
                || runtime.ved_executor(),
                |mut ved| {
                    ved.go_over(block, &fee_payers, &recent).expect("goes over");
                    ved
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

/// Bytes written between two cold slots: more than the last-level caches of the machines the
/// suite runs on.
const SWEEP_BYTES: usize = 256 << 20;

/// Memory to sweep the caches with, in 4 KiB pages (`MADV_NOHUGEPAGE`) as the UED's heap
/// and the store's mappings are: a sweep in huge pages would leave the TLB's entries of
/// small pages in place, which the UED's work does not. Mapped once, for the bench process's
/// life.
struct Sweep(&'static mut [u8]);

impl Sweep {
    fn new() -> Sweep {
        // SAFETY: a fresh private anonymous mapping, which nothing else refers to.
        let bytes = unsafe {
            let at = libc::mmap(
                std::ptr::null_mut(),
                SWEEP_BYTES,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(at, libc::MAP_FAILED, "a mapping to sweep the caches with");
            // (Where the kernel has no transparent huge pages this is an error, and moot.)
            libc::madvise(at, SWEEP_BYTES, libc::MADV_NOHUGEPAGE);
            std::slice::from_raw_parts_mut(at.cast::<u8>(), SWEEP_BYTES)
        };
        Sweep(bytes)
    }

    /// Writes every cache line, which evicts what the caches (and the TLB) held.
    fn caches(&mut self) {
        for line in self.0.chunks_mut(64) {
            line[0] = line[0].wrapping_add(1);
        }
        black_box(&self.0);
    }
}

criterion_group!(vote_path, bench);
criterion_main!(vote_path);
