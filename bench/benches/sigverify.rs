//! Signature verification benchmarks (issue #4), one core, beside ed25519-dalek's verify_strict
//! in one run: unique signers (every key new), and vote-shaped batches (1,000 recurring signers,
//! the signer cache warm from earlier slots).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use tandem_kernels::sigverify::cache::SignerCache;
use tandem_kernels::sigverify::cpu;
use tandem_kernels::sigverify::gpu::GpuEd25519;
use tandem_kernels::testing::gpu_or_skip;

struct Batch {
    sigs: Vec<[u8; 64]>,
    keys: Vec<[u8; 32]>,
    msgs: Vec<Vec<u8>>,
}

fn key(seed: u64) -> SigningKey {
    let mut secret = [0u8; 32];
    blake3::Hasher::new()
        .update(&seed.to_le_bytes())
        .finalize_xof()
        .fill(&mut secret);
    SigningKey::from_bytes(&secret)
}

/// `n` signatures over `msg_len`-byte messages by `signers` keys in turn, for slot `slot`.
fn batch(signers: &[SigningKey], n: usize, msg_len: usize, slot: u64) -> Batch {
    let mut b = Batch {
        sigs: Vec::new(),
        keys: Vec::new(),
        msgs: Vec::new(),
    };
    for i in 0..n {
        let signer = &signers[i % signers.len()];
        let mut msg = vec![0u8; msg_len];
        msg[..8].copy_from_slice(&slot.to_le_bytes());
        msg[8..16].copy_from_slice(&(i as u64).to_le_bytes());
        b.sigs.push(signer.sign(&msg).to_bytes());
        b.keys.push(*signer.verifying_key().as_bytes());
        b.msgs.push(msg);
    }
    b
}

fn dalek(b: &Batch) -> usize {
    (0..b.sigs.len())
        .filter(|&i| {
            VerifyingKey::from_bytes(&b.keys[i]).is_ok_and(|k| {
                k.verify_strict(
                    &b.msgs[i],
                    &ed25519_dalek::Signature::from_bytes(&b.sigs[i]),
                )
                .is_ok()
            })
        })
        .count()
}

/// tandem's CPU verifier on this one thread (a batch, as the pipeline hands it over).
fn tandem(b: &Batch, cache: Option<&SignerCache>) -> usize {
    let msgs: Vec<&[u8]> = b.msgs.iter().map(|m| m.as_slice()).collect();
    let mut results = vec![0u8; b.sigs.len()];
    cpu::verify_many(&b.sigs, &b.keys, &msgs, &mut results, cache);
    results.iter().filter(|&&r| r == 1).count()
}

fn bench(c: &mut Criterion) {
    let unique: Vec<SigningKey> = (0..512).map(key).collect();
    let b = batch(&unique, 512, 200, 0);
    let mut group = c.benchmark_group("ed25519/unique-signers");
    group.throughput(Throughput::Elements(512));
    group.sample_size(20);
    group.bench_function("ed25519-dalek-verify_strict", |x| {
        x.iter(|| black_box(dalek(&b)))
    });
    group.bench_function("tandem-cpu", |x| x.iter(|| black_box(tandem(&b, None))));
    if let Some(gpu) = gpu_or_skip("GPU signature bench", GpuEd25519::shared()) {
        let msgs: Vec<&[u8]> = b.msgs.iter().map(|m| m.as_slice()).collect();
        let mut results = vec![0u8; b.sigs.len()];
        group.bench_function("tandem-gpu", |x| {
            x.iter(|| {
                gpu.verify_batch(&b.sigs, &b.keys, &msgs, &mut results)
                    .expect("GPU verify");
                black_box(results.iter().filter(|&&r| r == 1).count())
            })
        });
    }
    group.finish();

    // Vote-shaped: 1,000 validators sign a ~100-byte vote every slot.
    let voters: Vec<SigningKey> = (0..1000).map(|i| key(10_000 + i)).collect();
    let cache = SignerCache::new(2048);
    for slot in 0..2 {
        let warm = batch(&voters, 1000, 100, slot);
        assert_eq!(tandem(&warm, Some(&cache)), 1000);
    }
    let votes = batch(&voters, 1000, 100, 2);
    let mut group = c.benchmark_group("ed25519/votes-1000-recurring-signers");
    group.throughput(Throughput::Elements(1000));
    group.sample_size(20);
    group.bench_function("ed25519-dalek-verify_strict", |x| {
        x.iter(|| black_box(dalek(&votes)))
    });
    group.bench_function("tandem-cpu-signer-cache", |x| {
        x.iter(|| black_box(tandem(&votes, Some(&cache))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
