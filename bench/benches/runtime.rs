//! Runtime benchmarks (issue #5): one block of user transfers executed end to end — parse,
//! signature verification (the kernels' CPU path, all cores), the VED and UED passes, LtHash
//! updates, the hash chain and the slot commit (runtime state + store, with their fsyncs) — on
//! disk and on tmpfs (where fsync costs nothing).

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use tandem_engine::Pubkey;
use tandem_engine::genesis::{Genesis, default_keypair_seed};
use tandem_engine::ledger::{Block, BlockHeader};
use tandem_engine::runtime::builtins::system::SystemInstruction;
use tandem_engine::runtime::{Runtime, TxStatus};
use tandem_engine::sample::SYSTEM_PROGRAM_ID;
use tandem_engine::tx::{AccountMeta, MessageBuilder, Transaction};

/// Slot 1 of the default cluster: `n` transfers from its eight users, each to a new account.
fn block(genesis: &Genesis, n: usize) -> Block {
    let users: Vec<SigningKey> = (0..8)
        .map(|i| SigningKey::from_bytes(&default_keypair_seed(&format!("user-{i}"))))
        .collect();
    let transactions = (0..n)
        .map(|i| {
            let from = &users[i % users.len()];
            let from_key = Pubkey(from.verifying_key().to_bytes());
            let mut to = [0u8; 32];
            to[..8].copy_from_slice(&(i as u64).to_le_bytes());
            to[8] = 0xbe;
            let message = MessageBuilder::new(from_key)
                .instruction(
                    SYSTEM_PROGRAM_ID,
                    &[
                        AccountMeta::new(from_key, true),
                        AccountMeta::new(Pubkey(to), false),
                    ],
                    &SystemInstruction::Transfer {
                        lamports: 1_000_000,
                    }
                    .encode(),
                )
                .build_legacy(genesis.hash)
                .expect("message");
            Transaction::sign(&message, &[from]).expect("sign")
        })
        .collect();
    Block {
        header: BlockHeader {
            slot: 1,
            parent_slot: 0,
            leader: Pubkey([1; 32]),
            unix_timestamp_ms: genesis.cluster.unix_timestamp_ms + 400,
            blockhash: [7; 32],
        },
        transactions,
    }
}

/// Times `iters` executions of `block`, each on a fresh runtime under `root`.
fn execute(genesis: &Genesis, block: &Block, root: &Path, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let dir = tempfile::tempdir_in(root).expect("tempdir");
        let mut runtime = Runtime::open(genesis, dir.path()).expect("genesis");
        let started = Instant::now();
        let outcome = runtime.execute_block(block).expect("block");
        total += started.elapsed();
        assert!(
            outcome
                .transactions
                .iter()
                .all(|t| t.status == TxStatus::Success)
        );
    }
    total
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
            b.iter_custom(|iters| execute(&genesis, &block, &disk, iters))
        });
        if shm.is_dir() {
            group.bench_function(BenchmarkId::new("tmpfs", n), |b| {
                b.iter_custom(|iters| execute(&genesis, &block, shm, iters))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
