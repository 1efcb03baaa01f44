//! Support shared by the tests and benches of every crate of the workspace (the kernels' tests,
//! the benches, the C ABI's tests): one rule for GPU tests, one concurrent runner, one source of
//! test bytes and signatures. Public only so that other crates' test binaries can share it;
//! hidden from the docs, it is not part of the API.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};

use ed25519_dalek::{Signer, SigningKey};

use crate::gpu::{GpuContext, GpuError};

/// A thread builder whose thread cannot start — its stack larger than a 64-bit address space
/// (256 TiB) — standing in for a process at its thread limit, which a test cannot set as root.
/// Checked here: a test using it fails if such a thread starts after all.
#[cfg(target_pointer_width = "64")]
pub fn unstartable_thread() -> std::thread::Builder {
    let unstartable = || std::thread::Builder::new().stack_size(1 << 48);
    assert!(
        unstartable().spawn(|| ()).is_err(),
        "a thread with a 256 TiB stack started"
    );
    unstartable()
}

/// The environment variable that marks a CI run, where a missing adapter is a failure.
pub const CI_ENV: &str = "CI";

/// Whether this is a CI run (`CI=true`).
pub fn in_ci() -> bool {
    std::env::var(CI_ENV).is_ok_and(|v| v == "true")
}

/// The rule for GPU tests and benches: run on the adapter there is, and where there is none,
/// fail where `CI=true` (the GPU path must be proven there) or say loudly that nothing ran.
///
/// Returns `Some(found)` when the GPU kernels (or context) `what` needs were built, after
/// printing the adapter they run on. Where they were not: panics when `CI=true`, else prints that
/// `what` did not run and returns `None`, so the caller returns early (a skip said aloud, never a
/// silent one).
///
/// `found` is the outcome of a `shared()` constructor ([`GpuContext::shared`],
/// `GpuHashKernels::shared`, `GpuEd25519::shared`): all of them run on the process-wide context,
/// whose adapter is the one printed.
pub fn gpu_or_skip<T>(what: &str, found: Result<T, GpuError>) -> Option<T> {
    match found {
        Ok(found) => {
            if let Ok(ctx) = GpuContext::shared() {
                let info = ctx.info();
                eprintln!(
                    "{what} on {} ({:?}, {:?}, driver {} {})",
                    info.name, info.backend, info.device_type, info.driver, info.driver_info
                );
            }
            Some(found)
        }
        Err(e) if in_ci() => panic!("{CI_ENV}=true and no GPU for {what}: {e}"),
        Err(e) => {
            say_skipped(format_args!("*** {what} DID NOT RUN: {e} ***"));
            None
        }
    }
}

/// Says that a test, or a part of one, did not run here and why, where a person reading the
/// test run sees it: on the process's standard error itself, past the test harness's capture of
/// `eprintln!` (which shows a passing test's output only under `--nocapture`), so that no skip —
/// a CPU without the feature a kernel needs, a machine without a GPU outside CI — is silent.
/// [`say_skipped!`](crate::say_skipped) formats the notice.
pub fn say_skipped(notice: std::fmt::Arguments<'_>) {
    use std::io::Write;
    // The harness names each test's thread after the test.
    let thread = std::thread::current();
    let _ = match thread.name().filter(|name| *name != "main") {
        Some(test) => writeln!(std::io::stderr().lock(), "{test}: {notice}"),
        None => writeln!(std::io::stderr().lock(), "{notice}"),
    };
}

/// The CPU platforms this machine runs, for a test that checks each: the ones it cannot run
/// are said skipped ([`say_skipped`]), never dropped silently.
pub fn platforms_here() -> Vec<crate::Platform> {
    use crate::Platform;
    for missing in [Platform::Avx2, Platform::Avx512]
        .into_iter()
        .filter(|p| !p.is_supported())
    {
        say_skipped(format_args!(
            "skipped on {missing}: this CPU cannot run it (no {})",
            match missing {
                Platform::Avx512 => "avx512f",
                _ => "avx2",
            }
        ));
    }
    Platform::available()
}

/// [`testing::say_skipped`](crate::testing::say_skipped) with `format!`'s arguments.
#[doc(hidden)]
#[macro_export]
macro_rules! say_skipped {
    ($($arg:tt)*) => {
        $crate::testing::say_skipped(::std::format_args!($($arg)*))
    };
}

/// Whether [`let_auto_use_software_adapters`] was called in this process.
static AUTO_ON_SOFTWARE: AtomicBool = AtomicBool::new(false);

/// Lets `Backend::Auto` choose a software adapter (lavapipe) for this process, so that a test
/// on a machine without a GPU reaches `Auto`'s GPU path (its fallback when the device fails).
/// Tests only: in production `Auto` never chooses a software adapter.
pub fn let_auto_use_software_adapters() {
    AUTO_ON_SOFTWARE.store(true, Ordering::Relaxed);
}

pub(crate) fn auto_on_software() -> bool {
    AUTO_ON_SOFTWARE.load(Ordering::Relaxed)
}

/// SplitMix64: deterministic pseudo-random words for differential tests (no crate needed).
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next word.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
/// Deterministic test bytes: BLAKE3's own XOF of a seed.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    blake3::Hasher::new()
        .update(&seed.to_le_bytes())
        .finalize_xof()
        .fill(&mut out);
    out
}

/// `n` messages of 0 to 299 bytes (one block, several blocks, a partial chunk) drawn from `seed`.
pub fn messages(seed: u64, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| bytes(seed + i as u64, (i * 37) % 300))
        .collect()
}

/// `Ok` when `hashes[i]` is the blake3 crate's hash of `inputs[i]` for every `i`, else the first
/// that is not, as a message.
pub fn check_blake3(inputs: &[Vec<u8>], hashes: &[[u8; 32]]) -> Result<(), String> {
    if inputs.len() != hashes.len() {
        return Err(format!(
            "{} hashes for {} inputs",
            hashes.len(),
            inputs.len()
        ));
    }
    match inputs
        .iter()
        .zip(hashes)
        .position(|(input, hash)| hash != blake3::hash(input).as_bytes())
    {
        Some(i) => Err(format!("hash {i} is not the blake3 crate's")),
        None => Ok(()),
    }
}

/// Runs `call(thread, round)` for `rounds` rounds on each of `threads` threads started together
/// (the way concurrent callers of a shared kernel meet). `call` returns `Err(why)` for a failed
/// call or a wrong answer; this panics with the count of such calls and the first one, so a race
/// shows how often it struck.
pub fn hammer(
    what: &str,
    threads: usize,
    rounds: usize,
    call: impl Fn(usize, usize) -> Result<(), String> + Sync,
) {
    let start = Barrier::new(threads);
    let wrong = AtomicUsize::new(0);
    let first = Mutex::new(None);
    std::thread::scope(|s| {
        for t in 0..threads {
            let (start, wrong, first, call) = (&start, &wrong, &first, &call);
            s.spawn(move || {
                start.wait();
                for r in 0..rounds {
                    if let Err(why) = call(t, r) {
                        wrong.fetch_add(1, Ordering::Relaxed);
                        first
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get_or_insert(format!("thread {t}, round {r}: {why}"));
                    }
                }
            });
        }
    });
    let wrong = wrong.into_inner();
    assert_eq!(
        wrong,
        0,
        "{what}: {wrong} of {} concurrent calls failed or were wrong; first: {}",
        threads * rounds,
        first
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or_default()
    );
}

/// A batch of ed25519 signatures for the verifiers, owned.
#[derive(Clone, Debug)]
pub struct SignedBatch {
    /// The signatures, R then S.
    pub signatures: Vec<[u8; 64]>,
    /// The signers' public keys.
    pub public_keys: Vec<[u8; 32]>,
    /// The signed messages.
    pub messages: Vec<Vec<u8>>,
}

impl SignedBatch {
    /// `n` signatures by keys and over messages drawn from `seed`, about a third of them with a
    /// flipped bit, at places that depend on `seed`: batches of different seeds expect different
    /// answers, so a verifier that returned another batch's results would be caught.
    pub fn new(seed: u64, n: usize) -> SignedBatch {
        let mut batch = SignedBatch {
            signatures: Vec::with_capacity(n),
            public_keys: Vec::with_capacity(n),
            messages: Vec::with_capacity(n),
        };
        for i in 0..n as u64 {
            let secret: [u8; 32] = bytes(seed + i, 32).try_into().expect("32 bytes");
            let key = SigningKey::from_bytes(&secret);
            let message = bytes(seed + 100 + i, 20 + 30 * i as usize);
            let mut signature = key.sign(&message).to_bytes();
            if (seed / 1_000 + i).is_multiple_of(3) {
                signature[(i as usize * 13) % 64] ^= 1;
            }
            batch.signatures.push(signature);
            batch.public_keys.push(key.verifying_key().to_bytes());
            batch.messages.push(message);
        }
        batch
    }

    /// The messages, borrowed, as the verifiers take them.
    pub fn message_refs(&self) -> Vec<&[u8]> {
        self.messages.iter().map(Vec::as_slice).collect()
    }

    /// `Ok` when `results` (1 valid, 0 not) are ed25519-dalek's `verify_strict` answers, else
    /// the first that is not, as a message.
    pub fn check(&self, results: &[u8]) -> Result<(), String> {
        if results.len() != self.signatures.len() {
            return Err(format!(
                "{} results for {} signatures",
                results.len(),
                self.signatures.len()
            ));
        }
        for (i, result) in results.iter().enumerate() {
            let expected = crate::sigverify::reference::verify(
                &self.signatures[i],
                &self.public_keys[i],
                &self.messages[i],
            );
            if *result != u8::from(expected) {
                return Err(format!(
                    "result {i} is {result}, ed25519-dalek says {expected}"
                ));
            }
        }
        if results.len() != self.signatures.len() {
            return Err(format!(
                "{} results for {}",
                results.len(),
                self.signatures.len()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_skip_is_said_past_the_test_harness_capture() {
        // Run as a child of itself, under the harness's default capture: a passing test's
        // `eprintln!` would not show there; the notice must.
        const CHILD: &str = "TANDEM_SAY_SKIPPED_CHILD";
        if std::env::var_os(CHILD).is_some() {
            crate::say_skipped!("notice {} for the parent", 7);
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().expect("this test binary"))
            .args([
                "testing::tests::a_skip_is_said_past_the_test_harness_capture",
                "--exact",
            ])
            .env(CHILD, "1")
            .env_remove("RUST_TEST_NOCAPTURE")
            .output()
            .expect("the child runs");
        assert!(out.status.success(), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(
                "testing::tests::a_skip_is_said_past_the_test_harness_capture: notice 7 for the parent"
            ),
            "{stderr}"
        );
    }
}
