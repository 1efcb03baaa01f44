//! The cluster view's cost (issue #11): agreement tracking per executed vote — what the VED
//! thread adds to each slot for the votes it executed. One slot of 1,000 votes (each reporting
//! the VED hash of the slot before and the UED hash of the one before that), recorded into an
//! agreement that holds a full duplicate window of earlier slots, then the local hashes and the
//! prune of the oldest slot.

mod cluster_votes;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tandem_engine::Domain;
use tandem_engine::cluster::{Agreement, VoteReport};

const WINDOW: u64 = 150;

fn votes(slot: u64, voters: usize) -> Vec<VoteReport> {
    (0..voters).map(|i| cluster_votes::vote(i, slot)).collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("cluster/agreement");
    for voters in [100usize, 1_000] {
        // A window of earlier slots, as a running engine holds.
        let mut warm = Agreement::new();
        warm.set_total_stake(voters as u64 * 10_000_000_000_000);
        for slot in 2..2 + WINDOW {
            for v in votes(slot, voters) {
                warm.record_vote(&v, slot);
            }
            warm.record_local(Domain::Ved, slot - 1, [slot as u8; 32]);
            warm.record_local(Domain::Ued, slot - 2, [(slot - 2) as u8; 32]);
        }
        let slot = 2 + WINDOW;
        let next = votes(slot, voters);
        group.throughput(Throughput::Elements(voters as u64));
        group.bench_with_input(
            BenchmarkId::new("slot-of-votes", voters),
            &next,
            |b, next| {
                b.iter_batched(
                    || warm.clone(),
                    |mut agreement| {
                        for v in next {
                            black_box(agreement.record_vote(v, slot));
                        }
                        agreement.record_local(Domain::Ved, slot - 1, [slot as u8; 32]);
                        agreement.record_local(Domain::Ued, slot - 2, [(slot - 2) as u8; 32]);
                        agreement.prune(slot - WINDOW);
                        agreement
                    },
                    criterion::BatchSize::LargeInput,
                )
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
