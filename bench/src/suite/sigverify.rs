//! The sigverify suite: ed25519 verification exactly as verify_strict (SPEC §2, §7).
//!
//! - [`names::SIGVERIFY_UNIQUE`], by thread count: each thread verifies a batch of its own
//!   signers, each seen once (512 signatures over 200-byte messages, no signer cache) with the
//!   CPU kernel on the calling thread — the user transactions' work;
//! - [`names::SIGVERIFY_RECURRING`], one thread: 1,000 signers that sign every slot (100-byte
//!   votes), the signer cache warm from two earlier slots — the votes' work;
//! - [`names::SIGVERIFY_CPU_BATCH`] and [`names::SIGVERIFY_GPU`], by batch size: one batch of
//!   unique signers verified by the CPU over all its threads, and by the GPU where wgpu finds
//!   an adapter (on a software rasterizer such as lavapipe only at small batches, and not in a
//!   quick run). The smallest batch from which the GPU beats the CPU at every larger batch
//!   measured is `auto`'s threshold ([`crossover`]), recorded for a hardware GPU only.
//!
//! The inputs are the criterion bench's (`benches/sigverify.rs`), from [`crate::fixtures`].

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use tandem_kernels::Platform;
use tandem_kernels::sigverify::cache::SignerCache;
use tandem_kernels::sigverify::gpu::GpuEd25519;
use tandem_kernels::sigverify::{cpu_verifier, verify_batch_cpu, verify_many};

use super::{At, Context, Figure, Recorder, Shared, rate_over, samples, scaled, timed};
use crate::fixtures::{SignatureBatch, signing_key};
use crate::profile::{Rate, names};

/// Each thread's batch of unique signers: seeds far apart per thread.
fn unique_batches(threads: usize, n: usize) -> Vec<SignatureBatch> {
    std::thread::scope(|scope| {
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let first = 1_000_000_000 * (t as u64 + 1);
                    let keys: Vec<SigningKey> =
                        (0..n as u64).map(|i| signing_key(first + i)).collect();
                    SignatureBatch::signed(&keys, n, 200, 0)
                })
            })
            .collect();
        parts
            .into_iter()
            .map(|p| p.join().expect("signing thread"))
            .collect()
    })
}

/// Checks that every signature of a batch verified.
fn all_valid(results: &[u8]) -> Result<(), String> {
    match results.iter().position(|&r| r != 1) {
        Some(i) => Err(format!("signature {i} of a valid batch did not verify")),
        None => Ok(()),
    }
}

/// The suite's figures.
pub(crate) fn figures<'a>(ctx: &'a Context<'a>) -> Vec<Figure<'a>> {
    let sizes = ctx.sizes();
    let min = sizes.min_run();
    // The verifier the engine runs (TANDEM_CPU_PLATFORM narrows it).
    let platform = Platform::detect();
    let pus = &ctx.config.pus;
    let per_thread = sizes.unique_signatures;
    let most_threads = sizes.threads.iter().copied().max().unwrap_or(1) as usize;
    let unique: Shared<Vec<SignatureBatch>> = Shared::new();
    let mut figures = Vec::new();
    for &threads in &sizes.threads {
        let unique = unique.clone();
        figures.push(Figure::new(
            format!("sigverify: unique signers, {threads} threads"),
            move |rec: &mut Recorder, phase: &mut dyn FnMut(&str)| {
                phase("signing the batches");
                let batches = unique.get(|| Ok(unique_batches(most_threads, per_thread)))?;
                let runs = samples(sizes.runs, || {
                    scaled(pus, threads as usize, min, |i| {
                        let batch = &batches[i];
                        let msgs = batch.message_refs();
                        let mut results = vec![0u8; batch.len()];
                        move || {
                            let took = timed(batch.len(), || {
                                verify_many(platform, &batch.sigs, &batch.keys, &msgs, &mut results, None)
                            });
                            all_valid(&results)?;
                            Ok(took)
                        }
                    })
                })?;
                rec.rate(
                    names::SIGVERIFY_UNIQUE,
                    At::Threads(threads),
                    "signatures/s",
                    &runs,
                    format!(
                        "{threads} threads at once ({}), each verifying a batch of its own {per_thread} signatures by signers seen once (200-byte messages) with tandem_kernels::sigverify::verify_many (the {} verifier) on the calling thread, no signer cache, for >= {} ms of timed calls after one untimed; aggregate signatures/s, {}",
                        ctx.pus_label(threads as usize),
                        cpu_verifier(platform),
                        sizes.min_run_ms,
                        ctx.median_of()
                    ),
                );
                Ok(())
            },
        ));
    }
    figures.push(Figure::new(
        "sigverify: recurring signers (votes), 1 thread",
        move |rec: &mut Recorder, phase: &mut dyn FnMut(&str)| {
            phase("signing the votes");
            let voters: Vec<SigningKey> = (0..sizes.recurring_signers as u64)
                .map(|i| signing_key(10_000 + i))
                .collect();
            let cache = SignerCache::new(2 * sizes.recurring_signers);
            let n = voters.len();
            for slot in 0..2 {
                let warm = SignatureBatch::signed(&voters, n, 100, slot);
                let mut results = vec![0u8; n];
                verify_many(platform, &warm.sigs, &warm.keys, &warm.message_refs(), &mut results, Some(&cache));
                all_valid(&results)?;
            }
            let votes = SignatureBatch::signed(&voters, n, 100, 2);
            let runs = samples(sizes.runs, || {
                scaled(pus, 1, min, |_| {
                    let msgs = votes.message_refs();
                    let mut results = vec![0u8; n];
                    let cache = &cache;
                    let votes = &votes;
                    move || {
                        let took = timed(n, || {
                            verify_many(platform, &votes.sigs, &votes.keys, &msgs, &mut results, Some(cache))
                        });
                        all_valid(&results)?;
                        Ok(took)
                    }
                })
            })?;
            rec.rate(
                names::SIGVERIFY_RECURRING,
                At::Threads(1),
                "signatures/s",
                &runs,
                format!(
                    "one thread ({}): a slot of {n} votes (100-byte messages) by {n} signers that signed the two slots before, verified with tandem_kernels::sigverify::verify_many (the {} verifier) and a signer cache of {} keys warm from those slots, for >= {} ms of timed calls after one untimed; {}",
                    ctx.pus_label(1),
                    cpu_verifier(platform),
                    2 * n,
                    sizes.min_run_ms,
                    ctx.median_of()
                ),
            );
            Ok(())
        },
    ));
    figures.extend(batch_figures(ctx));
    figures
}

/// The CPU and GPU by batch size, then the crossover.
fn batch_figures<'a>(ctx: &'a Context<'a>) -> Vec<Figure<'a>> {
    let sizes = ctx.sizes();
    let min = sizes.min_run();
    // The verifier verify_batch_cpu runs (TANDEM_CPU_PLATFORM narrows it).
    let platform = Platform::detect();
    let largest = sizes.batches.iter().copied().max().unwrap_or(0) as usize;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let signers = threads.min(64);
    let batch: Shared<SignatureBatch> = Shared::new();
    let build = move || {
        // Unique signers, signed over the cores (a large batch is many signatures).
        let per = largest.div_ceil(signers);
        let parts = unique_batches(signers, per);
        let mut all = SignatureBatch::default();
        for part in parts {
            all.sigs.extend(part.sigs);
            all.keys.extend(part.keys);
            all.msgs.extend(part.msgs);
        }
        Ok(all.slice(0..largest))
    };
    let gpu = ctx.config.gpu.as_ref();
    let gpu_name = gpu.map(|a| {
        let kind = if a.software { "software" } else { "hardware" };
        format!("{} ({}, {kind})", a.name, a.backend)
    });
    let mut figures = Vec::new();
    for &b in &sizes.batches {
        let cpu_batch = batch.clone();
        figures.push(Figure::new(
            format!("sigverify: a batch of {b} on the CPU"),
            move |rec: &mut Recorder, phase: &mut dyn FnMut(&str)| {
                phase("signing the batch");
                let all = cpu_batch.get(build)?;
                let n = b as usize;
                let msgs = all.message_refs();
                let mut results = vec![0u8; n];
                let runs = samples(sizes.runs, || {
                    rate_over(min, || {
                        let took = timed(n, || {
                            verify_batch_cpu(&all.sigs[..n], &all.keys[..n], &msgs[..n], &mut results, None)
                        });
                        all_valid(&results)?;
                        Ok(took)
                    })
                })?;
                rec.rate(
                    names::SIGVERIFY_CPU_BATCH,
                    At::Batch(b),
                    "signatures/s",
                    &runs,
                    format!(
                        "a batch of {b} signatures by signers seen once (200-byte messages) verified by tandem_kernels::sigverify::verify_batch_cpu (the {} verifier) over all {threads} threads, no signer cache, for >= {} ms of timed calls after one untimed; {}",
                        cpu_verifier(platform),
                        sizes.min_run_ms,
                        ctx.median_of()
                    ),
                );
                Ok(())
            },
        ));
        if !sizes.gpu_measured {
            continue;
        }
        let (gpu_batch, gpu_name) = (batch.clone(), gpu_name.clone().unwrap_or_default());
        figures.push(Figure::new(
            format!("sigverify: a batch of {b} on the GPU"),
            move |rec: &mut Recorder, phase: &mut dyn FnMut(&str)| {
                phase("signing the batch");
                let all = gpu_batch.get(build)?;
                phase("building the GPU verifier");
                let verifier: Arc<GpuEd25519> = GpuEd25519::shared().map_err(|e| e.to_string())?;
                let n = b as usize;
                let msgs = all.message_refs();
                let mut results = vec![0u8; n];
                let runs = samples(sizes.runs, || {
                    rate_over(min, || {
                        let started = std::time::Instant::now();
                        verifier
                            .verify_batch(&all.sigs[..n], &all.keys[..n], &msgs[..n], &mut results)
                            .map_err(|e| e.to_string())?;
                        let took = started.elapsed();
                        all_valid(&results)?;
                        Ok((n as u64, took))
                    })
                })?;
                rec.rate(
                    names::SIGVERIFY_GPU,
                    At::Batch(b),
                    "signatures/s",
                    &runs,
                    format!(
                        "a batch of {b} signatures by signers seen once (200-byte messages) verified on the GPU {gpu_name} by tandem_kernels::sigverify::gpu::GpuEd25519::verify_batch (upload, dispatch, readback), for >= {} ms of timed calls after one untimed; {}",
                        sizes.min_run_ms,
                        ctx.median_of()
                    ),
                );
                Ok(())
            },
        ));
    }
    if sizes.batches.is_empty() {
        return figures;
    }
    figures.push(Figure::new(
        "sigverify: where the GPU pays",
        move |rec: &mut Recorder, _: &mut dyn FnMut(&str)| {
            let note = match gpu {
                None => "no GPU adapter: the signature verifications by batch are the CPU's alone, and auto has no GPU threshold".to_owned(),
                Some(a) if a.software && !sizes.gpu_measured => format!(
                    "the GPU adapter {} is a software rasterizer: not measured in a quick run (it verifies some thousands of signatures a second); no GPU threshold for auto",
                    a.name
                ),
                Some(a) if a.software => format!(
                    "the GPU adapter {} is a software rasterizer: its figures are recorded at small batches only, and no GPU threshold is set (auto never uses a software GPU)",
                    a.name
                ),
                Some(a) => {
                    let threshold = crossover(rec.rates());
                    rec.auto(threshold);
                    match threshold {
                        Some(b) => format!(
                            "the GPU {} verifies faster than the CPU from batches of {b} on: auto.gpu_min_items = {b}",
                            a.name
                        ),
                        None => format!(
                            "the CPU verifies faster than the GPU {} at every batch measured (up to {largest}): auto gets no GPU threshold",
                            a.name
                        ),
                    }
                }
            };
            rec.note(note);
            Ok(())
        },
    ));
    figures
}

/// The smallest batch from which the GPU verifies faster than the CPU at every larger batch
/// measured (a batch where either was not measured does not count); `None` where the CPU wins
/// at the largest.
pub fn crossover(rates: &[Rate]) -> Option<u32> {
    let at = |name: &str, batch: u32| {
        rates
            .iter()
            .find(|r| r.name == name && r.batch == Some(batch))
            .map(|r| r.value)
    };
    let mut batches: Vec<u32> = rates
        .iter()
        .filter(|r| r.name == names::SIGVERIFY_GPU)
        .filter_map(|r| r.batch)
        .filter(|&b| at(names::SIGVERIFY_CPU_BATCH, b).is_some())
        .collect();
    batches.sort_unstable();
    let mut threshold = None;
    for &b in batches.iter().rev() {
        if at(names::SIGVERIFY_GPU, b)? > at(names::SIGVERIFY_CPU_BATCH, b)? {
            threshold = Some(b);
        } else {
            break;
        }
    }
    threshold
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(name: &str, batch: u32, value: f64) -> Rate {
        Rate {
            name: name.to_owned(),
            threads: None,
            batch: Some(batch),
            ued_tx_per_slot: None,
            value,
            unit: "signatures/s".into(),
            spread: None,
            runs: None,
            how: "test".into(),
        }
    }

    #[test]
    fn the_crossover_is_where_the_gpu_wins_from_on() {
        let (gpu, cpu) = (names::SIGVERIFY_GPU, names::SIGVERIFY_CPU_BATCH);
        let figures = |gpu_values: [f64; 4]| -> Vec<Rate> {
            [256, 1024, 4096, 16384]
                .into_iter()
                .zip(gpu_values)
                .flat_map(|(b, g)| [rate(gpu, b, g), rate(cpu, b, 100.0)])
                .collect()
        };
        assert_eq!(crossover(&figures([10.0, 50.0, 200.0, 900.0])), Some(4096));
        // A win at a small batch that does not last is no threshold.
        assert_eq!(crossover(&figures([150.0, 50.0, 200.0, 900.0])), Some(4096));
        assert_eq!(crossover(&figures([150.0, 150.0, 200.0, 900.0])), Some(256));
        assert_eq!(crossover(&figures([10.0, 50.0, 60.0, 90.0])), None);
        assert_eq!(crossover(&[]), None);
    }
}
