//! Fuzzes `tandem_engine_submit_block`'s Rust side (`tandem::engine::submit_block`) on one engine
//! of the default cluster, opened once: every input is answered with `Ok`, `INVALID_ARGUMENT`,
//! `REJECTED` or `HALTED` — never a panic, on this thread or a stage's, nor a stopped engine —
//! and every accepted block is executed. Three inputs in four get a header that follows the last
//! accepted block, so the transactions' parser and the executors see them; a quarter of the
//! mutations are tandem's structure-aware ones (length fields, cuts, made-up transactions), the
//! rest libFuzzer's. The property, the feeding and the mutations are `tandem::fuzzing`'s, which
//! `ffi/tests/submit_fuzz.rs` also runs on stable.
//!
//! Run: `cargo +nightly fuzz run submit_block` from ffi/ (seeds in corpus/submit_block/seed-*).
//! The engine's store lives in `/dev/shm/tandem-fuzz-submit-block-*` (`$TMPDIR` where there is
//! no /dev/shm), removed when the run ends (left after a crash or a kill).

#![no_main]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex, OnceLock, PoisonError};

use libfuzzer_sys::{fuzz_mutator, fuzz_target, fuzzer_mutate};
use tandem::fuzzing::{Feeder, mutate};
use tandem_engine::sample::SplitMix64;

/// The feeder, opened at the first input; `None` once the run has ended.
static FEEDER: LazyLock<Mutex<Option<Feeder>>> = LazyLock::new(|| {
    // On tmpfs where there is one: the UED commits every accepted block, and a disk's fsyncs
    // would make those inputs many times slower.
    let mut builder = tempfile::Builder::new();
    builder.prefix("tandem-fuzz-submit-block-");
    let dir = builder
        .tempdir_in("/dev/shm")
        .or_else(|_| builder.tempdir())
        .expect("a temporary directory for the engine's store")
        .keep();
    let feeder = Feeder::open(&dir);
    STORE.get_or_init(|| dir);
    // SAFETY: registers a function that takes no arguments and does not unwind.
    unsafe { atexit(close) };
    Mutex::new(Some(feeder))
});

/// The engine's directory.
static STORE: OnceLock<PathBuf> = OnceLock::new();

unsafe extern "C" {
    fn atexit(callback: extern "C" fn()) -> i32;
}

/// libFuzzer ends a run with exit(), which drops no static: this prints what became of the
/// inputs, stops the engine (its stages would go on writing the store) and removes its
/// directory. A crash leaves both, for a look.
extern "C" fn close() {
    // The lock is free unless exit() came from another thread in the middle of an input.
    if let Ok(mut feeder) = FEEDER.try_lock()
        && let Some(feeder) = feeder.take()
    {
        eprintln!("submit_block: {:?}", feeder.stats());
        let _ = catch_unwind(AssertUnwindSafe(|| feeder.finish()));
        if let Some(dir) = STORE.get() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fuzz_target!(|bytes: &[u8]| {
    let mut feeder = FEEDER.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(feeder) = feeder.as_mut() {
        let _ = feeder.feed(bytes);
    }
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    let mut rng = SplitMix64::new(u64::from(seed));
    if rng.below(4) != 0 {
        return fuzzer_mutate(data, size, max_size);
    }
    let mutant = mutate(&mut rng, &data[..size]);
    let n = mutant.len().min(max_size);
    data[..n].copy_from_slice(&mutant[..n]);
    n
});
