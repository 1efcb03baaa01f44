//! Signature verification benchmarks (issues #4 and #9), one core, beside ed25519-dalek's
//! verify_strict in one run: unique signers (every key new), vote-shaped batches (1,000 recurring
//! signers, the signer cache warm from earlier slots), and cyclic working sets of 500 to 10,000
//! signers through a cache of the default 1,024 slots (signers recurring in a cycle longer than
//! the cache is what an admission policy must not lose time on; anyone can send that pattern),
//! and members joining the VED at a boundary while a leader's junk holds the cache's spare
//! places.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{SigningKey, VerifyingKey};
use tandem_bench::fixtures::{SignatureBatch, signing_key};
use tandem_kernels::Platform;
use tandem_kernels::sigverify::cache::{DEFAULT_CAPACITY, SignerCache};
use tandem_kernels::sigverify::gpu::GpuEd25519;
use tandem_kernels::sigverify::{cpu_verifier, prepare_signers, verify_many};
use tandem_kernels::testing::gpu_or_skip;

fn dalek(b: &SignatureBatch) -> usize {
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

/// tandem's CPU verifier of `platform` on this one thread (a batch, as the pipeline hands it
/// over).
fn tandem(platform: Platform, b: &SignatureBatch, cache: Option<&SignerCache>) -> usize {
    let msgs = b.message_refs();
    let mut results = vec![0u8; b.sigs.len()];
    verify_many(platform, &b.sigs, &b.keys, &msgs, &mut results, cache);
    results.iter().filter(|&&r| r == 1).count()
}

/// One platform per distinct CPU verifier of this machine (portable first), with its name.
fn verifiers() -> Vec<(Platform, &'static str)> {
    let mut out: Vec<(Platform, &'static str)> = Vec::new();
    for p in Platform::available() {
        if out.iter().all(|(_, name)| *name != cpu_verifier(p)) {
            out.push((p, cpu_verifier(p)));
        }
    }
    out
}

/// Batch by batch, ed25519-dalek then tandem on the same batch, `passes` times over all of
/// `batches`: the speed-up of each pass (its verify_strict time over its tandem time), as the
/// median and range over passes. Criterion measures one function after the other, so on a shared
/// machine a change of load between them shows up in its ratio; here each pair runs back to back.
/// A pass covers a whole cycle because batches differ (some hit tables, some build them).
fn interleaved(
    what: &str,
    platform: Platform,
    batches: &[SignatureBatch],
    cache: Option<&SignerCache>,
    passes: usize,
) {
    let mut ratios: Vec<f64> = (0..passes)
        .map(|_| {
            let (mut reference, mut ours) = (0.0, 0.0);
            for b in batches {
                let start = Instant::now();
                black_box(dalek(b));
                reference += start.elapsed().as_secs_f64();
                let start = Instant::now();
                black_box(tandem(platform, b, cache));
                ours += start.elapsed().as_secs_f64();
            }
            reference / ours
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    eprintln!(
        "interleaved {what}, {}: tandem / verify_strict rate, median {:.2}x (range {:.2}x-{:.2}x over {passes} passes of {} batches)",
        cpu_verifier(platform),
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1],
        batches.len()
    );
}

/// Signatures per batch in the cyclic benches (a pipeline batch; divides every working set).
const CYCLIC_BATCH: usize = 250;

/// `signers` keys signing in a fixed cycle, one signature each, through a cache of the default
/// size: each iteration verifies the next [`CYCLIC_BATCH`] of the cycle, so the cache sees the
/// steady state of the pattern (warmed by three cycles before measuring).
fn cyclic(c: &mut Criterion, signers: usize) {
    let keys: Vec<SigningKey> = (0..signers as u64)
        .map(|i| signing_key(1_000_000 + i))
        .collect();
    // The cycle, then its first batch again, so every batch is one contiguous slice.
    let mut b = SignatureBatch::signed(&keys, signers, 100, 0);
    for i in 0..CYCLIC_BATCH {
        b.sigs.push(b.sigs[i]);
        b.keys.push(b.keys[i]);
        b.msgs.push(b.msgs[i].clone());
    }
    let slice = |start: usize| b.slice(start..start + CYCLIC_BATCH);
    let batches: Vec<SignatureBatch> = (0..signers.div_ceil(CYCLIC_BATCH))
        .map(|i| slice(i * CYCLIC_BATCH))
        .collect();
    let mut group = c.benchmark_group(format!("ed25519/cyclic-{signers}-signers"));
    group.throughput(Throughput::Elements(CYCLIC_BATCH as u64));
    group.sample_size(20);
    let mut next = 0;
    group.bench_function("ed25519-dalek-verify_strict", |x| {
        x.iter(|| {
            next = (next + 1) % batches.len();
            black_box(dalek(&batches[next]))
        })
    });
    let mut caches = Vec::new();
    for (platform, name) in verifiers() {
        let cache = SignerCache::new(DEFAULT_CAPACITY);
        for _ in 0..3 {
            for b in &batches {
                assert_eq!(tandem(platform, b, Some(&cache)), CYCLIC_BATCH);
            }
        }
        group.bench_function(format!("tandem-{name}-signer-cache"), |x| {
            x.iter(|| {
                next = (next + 1) % batches.len();
                black_box(tandem(platform, &batches[next], Some(&cache)))
            })
        });
        caches.push((platform, cache));
    }
    group.finish();
    for (platform, cache) in &caches {
        interleaved(
            &format!("cyclic-{signers}"),
            *platform,
            &batches,
            Some(cache),
            (40 / batches.len()).max(5),
        );
        eprintln!(
            "cyclic-{signers}, {}: {:?}",
            cpu_verifier(*platform),
            cache.stats()
        );
    }
}

/// The first call of each verifier in this process (cold: its lane field's base-point tables
/// are built on it), then the same call again (warm), on 8 signatures by new signers; the
/// portable verifier goes first, so it pays the shared base-point table.
fn cold_first_calls() {
    let keys: Vec<SigningKey> = (0..8).map(|i| signing_key(900_000 + i)).collect();
    for (platform, name) in verifiers() {
        let b = SignatureBatch::signed(&keys, 8, 200, platform as u64);
        let start = Instant::now();
        assert_eq!(tandem(platform, &b, None), 8);
        let cold = start.elapsed();
        let start = Instant::now();
        assert_eq!(tandem(platform, &b, None), 8);
        eprintln!(
            "cold {name}: first call on 8 signatures {:.2} ms, the same call again {:.3} ms",
            cold.as_secs_f64() * 1e3,
            start.elapsed().as_secs_f64() * 1e3
        );
    }
}

/// Adversarial batches, verifier by verifier against verify_strict: 512 signatures that all
/// fail at the last step (one bit of each message flipped after signing, so every check up to
/// the encoding compare runs), and 512 whose keys are not curve points (rejected early).
fn adversarial() {
    let keys: Vec<SigningKey> = (0..512).map(|i| signing_key(700_000 + i)).collect();
    let mut wrong_message = SignatureBatch::signed(&keys, 512, 200, 9);
    for m in &mut wrong_message.msgs {
        m[100] ^= 1;
    }
    let mut off_curve = SignatureBatch::signed(&keys, 512, 200, 10);
    for k in &mut off_curve.keys {
        // y = 2 has no x on the curve (checked: dalek rejects it).
        *k = [0; 32];
        k[0] = 2;
    }
    assert!(ed25519_dalek::VerifyingKey::from_bytes(&off_curve.keys[0]).is_err());
    for (platform, _) in verifiers() {
        assert_eq!(tandem(platform, &wrong_message, None), 0);
        assert_eq!(tandem(platform, &off_curve, None), 0);
        interleaved(
            "adversarial: all rejected at the compare",
            platform,
            std::slice::from_ref(&wrong_message),
            None,
            20,
        );
        interleaved(
            "adversarial: keys off the curve",
            platform,
            std::slice::from_ref(&off_curve),
            None,
            20,
        );
    }
}

/// Members joining at an epoch boundary while junk holds the spare places, on the widest
/// verifier: a cache of 2,048 places (the engine's for 1,000 voters,
/// `pipeline::vote_signer_places`) holding the 1,000 voters' prepared tables and, in the
/// other 1,048, tables the policy built for junk signers that keep signing; then 500 members
/// join, prepared as the engine prepares them when the VED publishes its keys, and the next
/// block's 1,500 votes are verified beside the junk's 1,048 signatures. It says how many of
/// the members found a place; the group times the votes alone.
fn members_joining_beside_junk(c: &mut Criterion) {
    let Some(&(platform, name)) = verifiers().last() else {
        return;
    };
    let key = |i: usize| signing_key(i as u64);
    let voters: Vec<SigningKey> = (0..1000).map(|i| key(30_000 + i)).collect();
    let junk: Vec<SigningKey> = (0..1048).map(|i| key(40_000 + i)).collect();
    let members: Vec<SigningKey> = (0..500).map(|i| key(50_000 + i)).collect();
    let public = |keys: &[SigningKey]| -> Vec<[u8; 32]> {
        keys.iter().map(|k| *k.verifying_key().as_bytes()).collect()
    };
    let cache = SignerCache::new(2048);
    assert_eq!(prepare_signers(platform, &cache, &public(&voters)), 1000);
    // Three slots of votes and junk: the junk's tables are built on its second sighting and
    // used on the third, like the voters'.
    for slot in 0..3 {
        let votes = SignatureBatch::signed(&voters, 1000, 100, slot);
        let sent = SignatureBatch::signed(&junk, 1048, 100, slot);
        assert_eq!(tandem(platform, &votes, Some(&cache)), 1000);
        assert_eq!(tandem(platform, &sent, Some(&cache)), 1048);
    }
    assert_eq!(cache.len(), 2048, "every place taken, every table in use");
    let joined = prepare_signers(platform, &cache, &public(&members));
    eprintln!(
        "members joining beside junk ({name}): {joined} of 500 members got a table in a cache \
         of 2,048 places full of 1,000 voters' and 1,048 junk signers' tables in use"
    );
    let mut everyone = voters.clone();
    everyone.extend(members.iter().cloned());
    let votes = SignatureBatch::signed(&everyone, 1500, 100, 3);
    let sent = SignatureBatch::signed(&junk, 1048, 100, 3);
    let mut group = c.benchmark_group("ed25519/members-joining-beside-junk");
    group.throughput(Throughput::Elements(1500));
    group.sample_size(20);
    group.bench_function(format!("tandem-{name}-1500-votes"), |x| {
        x.iter_custom(|blocks| {
            let mut votes_took = Duration::ZERO;
            for _ in 0..blocks {
                // The junk keeps signing between blocks: its tables stay in use.
                black_box(tandem(platform, &sent, Some(&cache)));
                let start = Instant::now();
                black_box(tandem(platform, &votes, Some(&cache)));
                votes_took += start.elapsed();
            }
            votes_took
        })
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    cold_first_calls();
    adversarial();
    let unique: Vec<SigningKey> = (0..512).map(signing_key).collect();
    let b = SignatureBatch::signed(&unique, 512, 200, 0);
    let mut group = c.benchmark_group("ed25519/unique-signers");
    group.throughput(Throughput::Elements(512));
    group.sample_size(20);
    group.bench_function("ed25519-dalek-verify_strict", |x| {
        x.iter(|| black_box(dalek(&b)))
    });
    for (platform, name) in verifiers() {
        group.bench_function(format!("tandem-{name}"), |x| {
            x.iter(|| black_box(tandem(platform, &b, None)))
        });
    }
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
    for (platform, _) in verifiers() {
        interleaved("unique", platform, std::slice::from_ref(&b), None, 20);
    }

    // Vote-shaped: 1,000 validators sign a ~100-byte vote every slot.
    let voters: Vec<SigningKey> = (0..1000).map(|i| signing_key(10_000 + i)).collect();
    let votes = SignatureBatch::signed(&voters, 1000, 100, 2);
    let mut group = c.benchmark_group("ed25519/votes-1000-recurring-signers");
    group.throughput(Throughput::Elements(1000));
    group.sample_size(20);
    group.bench_function("ed25519-dalek-verify_strict", |x| {
        x.iter(|| black_box(dalek(&votes)))
    });
    let mut caches = Vec::new();
    for (platform, name) in verifiers() {
        let cache = SignerCache::new(2048);
        for slot in 0..2 {
            let warm = SignatureBatch::signed(&voters, 1000, 100, slot);
            assert_eq!(tandem(platform, &warm, Some(&cache)), 1000);
        }
        group.bench_function(format!("tandem-{name}-signer-cache"), |x| {
            x.iter(|| black_box(tandem(platform, &votes, Some(&cache))))
        });
        caches.push((platform, cache));
    }
    group.finish();
    for (platform, cache) in &caches {
        interleaved(
            "votes",
            *platform,
            std::slice::from_ref(&votes),
            Some(cache),
            20,
        );
    }

    for signers in [500, 1000, 2000, 10_000] {
        cyclic(c, signers);
    }
    members_joining_beside_junk(c);
}

criterion_group!(benches, bench);
criterion_main!(benches);
