//! Hashing kernel benchmarks (issue #3), one core, each backend beside the reference crate in one
//! run: BLAKE3 of many 128-byte and 1 KiB messages against the blake3 crate hashing them one by
//! one, and the LtHash of 200-byte accounts against Agave's solana-lattice-hash.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tandem_bench::fixtures::{account_inputs, hash_accounts, messages};
use tandem_kernels::hash::gpu::GpuHashKernels;
use tandem_kernels::hash::{blake3_many, lthash};
use tandem_kernels::testing::gpu_or_skip;
use tandem_kernels::{LtHash, Platform};

/// The GPU kernels, announced with their adapter, or `None` (said aloud) where there is none; a
/// missing adapter fails where `CI=true`, as in the tests.
fn gpu() -> Option<std::sync::Arc<GpuHashKernels>> {
    gpu_or_skip("GPU hash benches", GpuHashKernels::shared())
}

const MESSAGES: usize = 4096;
const ACCOUNTS: usize = 4096;

fn bench_blake3_many(c: &mut Criterion) {
    for len in [128usize, 1024] {
        let mut group = c.benchmark_group(format!("blake3_many/{len}B"));
        group.throughput(Throughput::Elements(MESSAGES as u64));
        let owned = messages(MESSAGES, len);
        let inputs: Vec<&[u8]> = owned.iter().map(|m| m.as_slice()).collect();
        group.bench_function("blake3-crate-one-by-one", |b| {
            b.iter(|| {
                for input in &inputs {
                    black_box(blake3::hash(input));
                }
            })
        });
        let mut out = vec![[0u8; 32]; inputs.len()];
        for platform in Platform::available() {
            group.bench_function(BenchmarkId::new("tandem", platform), |b| {
                b.iter(|| blake3_many(platform, &inputs, &mut out))
            });
        }
        if let Some(gpu) = gpu() {
            group.bench_function(BenchmarkId::new("tandem", "gpu"), |b| {
                b.iter(|| gpu.blake3_many(&inputs, &mut out).expect("GPU"))
            });
        }
        group.finish();
    }
}

fn bench_lthash(c: &mut Criterion) {
    let accounts = hash_accounts(ACCOUNTS);
    let inputs = account_inputs(&accounts);
    let mut group = c.benchmark_group("lthash/accumulate/200B");
    group.throughput(Throughput::Elements(ACCOUNTS as u64));
    group.bench_function("solana-lattice-hash", |b| {
        b.iter(|| {
            let mut sum = solana_lattice_hash::lt_hash::LtHash::identity();
            for a in &accounts {
                let mut hasher = blake3::Hasher::new();
                hasher.update(&a.lamports.to_le_bytes());
                hasher.update(&a.data);
                hasher.update(&[0]);
                hasher.update(&a.owner);
                hasher.update(&a.pubkey);
                sum.mix_in(&solana_lattice_hash::lt_hash::LtHash::with(&hasher));
            }
            black_box(sum)
        })
    });
    for platform in Platform::available() {
        group.bench_function(BenchmarkId::new("tandem", platform), |b| {
            b.iter(|| {
                let mut sum = LtHash::identity();
                lthash::lthash_accumulate(platform, &inputs, &mut sum);
                black_box(sum)
            })
        });
    }
    if let Some(gpu) = gpu() {
        group.bench_function(BenchmarkId::new("tandem", "gpu"), |b| {
            b.iter(|| {
                let mut sum = LtHash::identity();
                gpu.lthash_accumulate(&inputs, &mut sum).expect("GPU");
                black_box(sum)
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("lthash/accounts/200B");
    group.throughput(Throughput::Elements(ACCOUNTS as u64));
    let mut out = vec![LtHash::identity(); ACCOUNTS];
    for platform in Platform::available() {
        group.bench_function(BenchmarkId::new("tandem", platform), |b| {
            b.iter(|| lthash::lthash_accounts(platform, &inputs, &mut out))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_blake3_many, bench_lthash);
criterion_main!(benches);
