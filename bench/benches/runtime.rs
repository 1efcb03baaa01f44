//! Runtime benchmarks (issue #5): one block of user transfers executed end to end — parse,
//! signature verification (the kernels' CPU path, all cores), the VED and UED passes, LtHash
//! updates, the hash chain and the slot commit (runtime state + store, with their fsyncs) — on
//! disk and on tmpfs (where fsync costs nothing).
//!
//! And the execution alone (issue #10): a block of transfers from distinct payers, parsed and
//! its signatures verified beforehand (`Runtime::verify`, not timed), executed by
//! `Runtime::execute_verified` — the passes with the UED's on 1 or 2 threads, LtHash updates,
//! the hash chain and the commit — on tmpfs.

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use tandem_bench::fixtures::{independent_transfers, signed_transfer, slot_1};
use tandem_engine::genesis::{Genesis, default_keypair_seed};
use tandem_engine::ledger::Block;
use tandem_engine::runtime::{Runtime, TxStatus};

/// Slot 1 of the default cluster: `n` transfers from its eight users, each to a new account.
fn block(genesis: &Genesis, n: usize) -> Block {
    let users: Vec<SigningKey> = (0..8)
        .map(|i| SigningKey::from_bytes(&default_keypair_seed(&format!("user-{i}"))))
        .collect();
    let transactions = (0..n)
        .map(|i| signed_transfer(&users[i % users.len()], i as u64, 0xbe, genesis.hash))
        .collect();
    slot_1(genesis, transactions)
}

/// How a timed run executes its block.
#[derive(Clone, Copy)]
enum Timed {
    /// `Runtime::execute_block`: parsing and signature verification included.
    EndToEnd,
    /// `Runtime::execute_verified` with this many UED threads, the block verified before the
    /// clock starts.
    Verified { ued_threads: usize },
}

/// Times `iters` executions of `block`, each on a fresh runtime under `root`.
fn execute(genesis: &Genesis, block: &Block, root: &Path, how: Timed, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let dir = tempfile::tempdir_in(root).expect("tempdir");
        let mut runtime = Runtime::open(genesis, dir.path()).expect("genesis");
        let outcome = match how {
            Timed::EndToEnd => {
                let started = Instant::now();
                let outcome = runtime.execute_block(block);
                total += started.elapsed();
                outcome
            }
            Timed::Verified { ued_threads } => {
                runtime.set_ued_threads(ued_threads);
                let verified = runtime.verify(block).expect("verify");
                let started = Instant::now();
                let outcome = runtime.execute_verified(&verified);
                total += started.elapsed();
                outcome
            }
        };
        let outcome = outcome.expect("block");
        assert!(
            outcome
                .transactions
                .iter()
                .all(|t| t.status == TxStatus::Success)
        );
    }
    total
}

fn bench_execution(c: &mut Criterion) {
    let shm = Path::new("/dev/shm");
    let root = if shm.is_dir() {
        shm.to_owned()
    } else {
        std::env::temp_dir()
    };
    let mut group = c.benchmark_group("runtime/execute-verified");
    group.sample_size(10);
    let n = 4_000;
    let (genesis, block) = independent_transfers(n);
    group.throughput(Throughput::Elements(n as u64));
    for threads in [1usize, 2] {
        group.bench_function(BenchmarkId::new("ued-threads", threads), |b| {
            b.iter_custom(|iters| {
                let how = Timed::Verified {
                    ued_threads: threads,
                };
                execute(&genesis, &block, &root, how, iters)
            })
        });
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let genesis = Genesis::default_cluster();
    let mut group = c.benchmark_group("runtime/block-of-transfers");
    group.sample_size(10);
    let disk = std::env::temp_dir();
    let shm = Path::new("/dev/shm");
    for n in [1_000usize, 4_000] {
        let block = block(&genesis, n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("disk", n), |b| {
            b.iter_custom(|iters| execute(&genesis, &block, &disk, Timed::EndToEnd, iters))
        });
        if shm.is_dir() {
            group.bench_function(BenchmarkId::new("tmpfs", n), |b| {
                b.iter_custom(|iters| execute(&genesis, &block, shm, Timed::EndToEnd, iters))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench, bench_execution);
criterion_main!(benches);
