//! What the C-ABI benches (`ffi`, `ffi_engine`) share: the same work through the Rust API and the
//! C ABI, measured by criterion one after the other and then in alternating rounds ([`paired`]).

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};

/// One group of `items` per iteration: the Rust API, then the C ABI, each closure doing one
/// call's work; then the two alternated round by round ([`paired`]).
pub fn rust_beside_c(
    c: &mut Criterion,
    name: &str,
    items: usize,
    samples: usize,
    mut rust: impl FnMut(),
    mut c_abi: impl FnMut(),
) {
    rust_beside_c_timed(
        c,
        name,
        items,
        samples,
        |calls| looped(&mut rust, calls),
        |calls| looped(&mut c_abi, calls),
    );
}

/// As [`rust_beside_c`], for work that must time itself: each closure makes `calls` calls and
/// returns the time they took, leaving out what it does between them (preparing inputs, letting
/// a pipeline drain).
pub fn rust_beside_c_timed(
    c: &mut Criterion,
    name: &str,
    items: usize,
    samples: usize,
    mut rust: impl FnMut(u64) -> Duration,
    mut c_abi: impl FnMut(u64) -> Duration,
) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(items as u64));
    group.sample_size(samples);
    group.bench_function("rust-api", |b| b.iter_custom(&mut rust));
    group.bench_function("c-abi", |b| b.iter_custom(&mut c_abi));
    group.finish();
    paired(name, &mut rust, &mut c_abi);
}

/// `calls` calls of `f`, timed.
fn looped(f: &mut impl FnMut(), calls: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..calls {
        f();
    }
    start.elapsed()
}

/// Times the two sides alternately, a few hundred microseconds of calls each, for about two
/// seconds of timed calls, and prints the medians per call, the quartiles of the per-round ratio
/// C ABI / Rust API and the median per-round difference: what a call through the C ABI adds.
///
/// Criterion measures one function after the other, seconds apart; on a machine shared with
/// other work the load changes in between and the ratio of two such medians can be off by tens
/// of percent. Adjacent rounds see the same load, so their ratio and difference are stable. Even
/// rounds run the Rust API first and odd rounds the C ABI, so that neither always runs on a
/// cache the other warmed.
fn paired(
    name: &str,
    rust: &mut dyn FnMut(u64) -> Duration,
    c_abi: &mut dyn FnMut(u64) -> Duration,
) {
    let time =
        |f: &mut dyn FnMut(u64) -> Duration, calls: u64| f(calls).as_secs_f64() / calls as f64;
    time(c_abi, 1);
    let per_call = time(rust, 1).max(1e-9);
    let calls = (300e-6 / per_call).clamp(1.0, 1e6) as u64;
    let rounds = (2.0 / (2.0 * calls as f64 * per_call)).clamp(11.0, 4001.0) as usize;
    let (mut rust_s, mut c_s, mut ratios, mut diffs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (r, c) = if round % 2 == 0 {
            let r = time(rust, calls);
            (r, time(c_abi, calls))
        } else {
            let c = time(c_abi, calls);
            (time(rust, calls), c)
        };
        rust_s.push(r);
        c_s.push(c);
        ratios.push(c / r);
        diffs.push(c - r);
    }
    let quantile = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * q).round() as usize]
    };
    eprintln!(
        "{name}: paired over {rounds} rounds of {calls} call(s): Rust API median {}, C ABI \
         median {}; C ABI / Rust API median {:.3} (quartiles {:.3} to {:.3}); C ABI - Rust API \
         median {} per call",
        per_call_text(quantile(&mut rust_s, 0.5)),
        per_call_text(quantile(&mut c_s, 0.5)),
        quantile(&mut ratios, 0.5),
        quantile(&mut ratios, 0.25),
        quantile(&mut ratios, 0.75),
        per_call_text(quantile(&mut diffs, 0.5)),
    );
}

/// A time per call in the unit that suits it: `12.3 us` or `456 ns`.
fn per_call_text(seconds: f64) -> String {
    if seconds.abs() >= 10e-6 {
        format!("{:.1} us", seconds * 1e6)
    } else {
        format!("{:.0} ns", seconds * 1e9)
    }
}
