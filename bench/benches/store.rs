//! Account store benchmarks (issue #2): lookups per second per core, staged writes, and the time
//! to commit a slot of 10,000 and 100,000 modified 200-byte accounts, on disk and on tmpfs (where
//! fsync costs nothing, which isolates the store's own work from the device's).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tandem_bench::fixtures::{random_indices, store_with_accounts};
use tandem_engine::Domain;
use tandem_engine::store::{CommitStats, SlotChanges};

const DATA_LEN: usize = 200;
const LOOKUPS: usize = 10_000;

fn lookups(c: &mut Criterion) {
    let mut group = c.benchmark_group("store/lookup");
    group.throughput(Throughput::Elements(LOOKUPS as u64));
    for n in [100_000usize, 1_000_000] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, accounts) =
            store_with_accounts(dir.path(), n, DATA_LEN, 1).expect("bench store");
        let keys: Vec<_> = random_indices(n, LOOKUPS, 2)
            .into_iter()
            .map(|i| accounts[i].pubkey)
            .collect();
        drop(accounts);
        group.bench_function(BenchmarkId::new("ued_view_get", n), |b| {
            b.iter(|| {
                let view = store.view(Domain::Ued);
                let mut sum = 0u64;
                for key in &keys {
                    let account = view.get(key).expect("readable").expect("exists");
                    sum = sum.wrapping_add(account.lamports);
                }
                black_box(sum)
            })
        });
    }
    group.finish();
}

fn staged_writes(c: &mut Criterion) {
    let mut group = c.benchmark_group("store/stage_write");
    let n = 100_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, accounts) = store_with_accounts(dir.path(), n, DATA_LEN, 3).expect("bench store");
    let batch: Vec<_> = accounts[..LOOKUPS].to_vec();
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function("ued_view_10k", |b| {
        b.iter_batched(
            || batch.clone(),
            |batch| {
                let view = store.view(Domain::Ued);
                let mut changes = SlotChanges::new();
                for account in batch {
                    view.stage_write(&mut changes, account).expect("writable");
                }
                black_box(changes)
            },
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn commits(c: &mut Criterion) {
    let mut group = c.benchmark_group("store/commit");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    let places = [
        ("disk", std::env::temp_dir()),
        ("tmpfs", PathBuf::from("/dev/shm")),
    ];
    for (place, base) in places {
        if !base.is_dir() {
            eprintln!(
                "skipping commit bench on {place}: {} is missing",
                base.display()
            );
            continue;
        }
        for modified in [10_000usize, 100_000] {
            let dir = tempfile::tempdir_in(&base).expect("tempdir");
            let (mut store, mut accounts) =
                store_with_accounts(dir.path(), 100_000, DATA_LEN, 4).expect("bench store");
            let mut slot = store.committed_slot().expect("fixture committed") + 1;
            let mut phases = Vec::<CommitStats>::new();
            group.throughput(Throughput::Elements(modified as u64));
            group.bench_function(BenchmarkId::new(place, modified), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let mut changes = SlotChanges::new();
                        for account in &mut accounts[..modified] {
                            account.lamports = account.lamports.wrapping_add(1);
                            account.data[(slot % DATA_LEN as u64) as usize] ^= 1;
                            changes.load(account.clone());
                        }
                        let start = Instant::now();
                        let stats = store.commit(slot, changes).expect("commit");
                        total += start.elapsed();
                        phases.push(stats);
                        slot += 1;
                    }
                    total
                })
            });
            report_phases(place, modified, &phases);
        }
    }
    group.finish();
}

/// Prints where a commit's time goes: planning (pure CPU) versus log, apply and superblock
/// (each ending in an fsync; the record, since the pages' writeback was deferred, is the commit
/// before's: its pages made durable and its superblock written).
fn report_phases(place: &str, modified: usize, stats: &[CommitStats]) {
    if stats.is_empty() {
        return;
    }
    let mean = |f: fn(&CommitStats) -> Duration| {
        stats.iter().map(f).sum::<Duration>().as_secs_f64() * 1e3 / stats.len() as f64
    };
    eprintln!(
        "commit phases ({place}, {modified} accounts, mean of {}): plan {:.2} ms, log {:.2} ms, \
         apply {:.2} ms, record {:.2} ms; {} pages, {:.1} MB of log",
        stats.len(),
        mean(|s| s.plan),
        mean(|s| s.log),
        mean(|s| s.apply),
        mean(|s| s.record),
        stats[stats.len() - 1].pages_written,
        stats[stats.len() - 1].wal_bytes as f64 / 1e6,
    );
}

criterion_group!(benches, lookups, staged_writes, commits);
criterion_main!(benches);
