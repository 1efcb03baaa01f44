//! Signature verification: ed25519, consensus-identical to ed25519-dalek 2.x
//! `VerifyingKey::from_bytes` followed by `verify_strict` (SPEC §2).
//!
//! # The rule, spelled out
//!
//! A signature `R ‖ S` (32 + 32 bytes) by public key `A` (32 bytes) over message `M` is valid
//! exactly when all of these hold:
//!
//! 1. `S`, read as a 256-bit little-endian integer, is canonical: `S < L`, the order of the base
//!    point (so any of the top bits set means invalid);
//! 2. `A` decompresses as curve25519-dalek decompresses: `y` is the low 255 bits read modulo
//!    `p = 2^255 − 19` (so a non-canonical `y ≥ p` is accepted), `x` is recovered from the curve
//!    equation (no square root: invalid), and the sign bit chooses `x`'s parity — a sign bit on
//!    `x = 0` is accepted, not rejected;
//! 3. `A` is not of small order (not one of the eight torsion points); a mixed-order `A` (a
//!    large-order point plus torsion) is *not* rejected for that;
//! 4. `R` decompresses the same way and is not of small order;
//! 5. with `k = SHA-512(R ‖ A ‖ M) mod L` over the bytes exactly as given (non-canonical encodings
//!    included), the canonical encoding of `[S]B − [k]A` equals the 32 bytes of `R`. This is the
//!    cofactorless equation, and comparing encodings means a non-canonical `R` never verifies.
//!
//! Every doubt is settled by testing against ed25519-dalek itself (`tests/sigverify.rs`), over
//! every class of input the SPEC lists.
//!
//! # Backends
//!
//! - [`reference`](mod@reference): ed25519-dalek, one signature at a time — the definition.
//! - [`cpu`] (the portable verifier): curve25519-dalek's arithmetic (with its own run-time SIMD choice), R never
//!   decompressed, and the [`cache`] of recurring signers' precomputed tables, used by the
//!   variable-time [`fixed_base`] arithmetic (on tandem's own radix-2^51 field, `field.rs`).
//! - [`gpu`]: the whole verification in WGSL compute shaders, one invocation per signature.
//! - `lanes` (x86_64): `N` signatures at once, one per 64-bit SIMD lane, for new and recurring
//!   signers (the cache's tables re-encoded for the lanes), written once over a lane field:
//!   `ifma` (eight lanes of AVX-512 IFMA, radix 2^52) or `avx2` (four lanes of AVX2, radix
//!   2^25.5). [`verify_many`] runs the one its [`Platform`] selects
//!   ([`cpu_verifier`] names it; `TANDEM_CPU_PLATFORM` narrows the choice).
//! - No batch (random linear combination) verification: its answers differ from verify_strict's
//!   for keys and `R` values with a torsion component, and consensus cannot afford that.

#[cfg(target_arch = "x86_64")]
mod avx2;
pub mod cache;
pub mod cpu;
mod field;
pub mod fixed_base;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod gpu;
#[cfg(target_arch = "x86_64")]
mod ifma;
#[cfg(target_arch = "x86_64")]
mod lanes;
pub mod reference;

use crate::Platform;
use cache::SignerCache;

/// Signatures below this count are verified on the calling thread alone.
const PARALLEL_MIN: usize = 64;

/// The batch size, after checking there is one public key, message and result per signature.
///
/// # Panics
/// If the slices differ in length.
pub(crate) fn assert_batch_shape(
    signatures: &[[u8; 64]],
    public_keys: &[[u8; 32]],
    messages: &[&[u8]],
    results: &[u8],
) -> usize {
    let n = signatures.len();
    assert!(
        public_keys.len() == n && messages.len() == n && results.len() == n,
        "one public key, message and result per signature"
    );
    n
}

/// The CPU verifier `platform` runs on this CPU: `"avx512-ifma"` (eight signatures at once in
/// AVX-512 IFMA lanes, on [`Platform::Avx512`] where the CPU also has IFMA), `"avx2"` (four at
/// once in AVX2 lanes, on [`Platform::Avx2`], and on `Avx512` without IFMA) or `"portable"` (the
/// reference, [`cpu`]; curve25519-dalek picks its own SIMD backend inside it).
pub fn cpu_verifier(platform: Platform) -> &'static str {
    match lane_verifier(platform) {
        #[cfg(target_arch = "x86_64")]
        Some(LaneVerifier::Ifma) => "avx512-ifma",
        #[cfg(target_arch = "x86_64")]
        Some(LaneVerifier::Avx2) => "avx2",
        None => "portable",
    }
}

/// A verifier in SIMD lanes.
enum LaneVerifier {
    #[cfg(target_arch = "x86_64")]
    Ifma,
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

/// The lanes verifier `platform` runs on this CPU, if any.
fn lane_verifier(platform: Platform) -> Option<LaneVerifier> {
    #[cfg(target_arch = "x86_64")]
    match platform {
        Platform::Avx512 if ifma::available() => return Some(LaneVerifier::Ifma),
        Platform::Avx512 | Platform::Avx2 if avx2::available() => return Some(LaneVerifier::Avx2),
        _ => {}
    }
    let _ = platform;
    None
}

/// Verifies `signatures[i]` by `public_keys[i]` over `messages[i]` on the calling thread with
/// the CPU verifier of `platform` ([`cpu_verifier`]); `results[i]` is 1 when valid, else 0.
/// Recurring signers use `cache`. Every platform gives the same answers.
///
/// # Panics
/// If the slices differ in length, or `platform` is not supported by this CPU.
pub fn verify_many(
    platform: Platform,
    signatures: &[[u8; 64]],
    public_keys: &[[u8; 32]],
    messages: &[&[u8]],
    results: &mut [u8],
    cache: Option<&SignerCache>,
) {
    assert!(
        platform.is_supported(),
        "{platform} is not supported by this CPU"
    );
    match lane_verifier(platform) {
        // SAFETY: `lane_verifier` checked that the CPU has AVX-512F and AVX-512 IFMA.
        #[cfg(target_arch = "x86_64")]
        Some(LaneVerifier::Ifma) => unsafe {
            lanes::verify::verify_many_ifma(signatures, public_keys, messages, results, cache)
        },
        // At one page offset whatever the callers' frames (see `lanes::stack`).
        #[cfg(target_arch = "x86_64")]
        Some(LaneVerifier::Avx2) => {
            lanes::stack::at_page_offset(lanes::stack::AVX2_PAGE_OFFSET, &mut || {
                // SAFETY: `lane_verifier` checked that the CPU has AVX2.
                unsafe {
                    lanes::verify::verify_many_avx2(
                        signatures,
                        public_keys,
                        messages,
                        results,
                        cache,
                    )
                }
            });
        }
        None => cpu::verify_many(signatures, public_keys, messages, results, cache),
    }
}

/// Gives each of `keys` a table in `cache` now ([`SignerCache::prepare`]), in the forms
/// [`verify_many`] on `platform` uses — the lane field's, and the portable one that a batch's
/// last few recurring signatures (fewer than a register's lanes) are verified with — so that
/// even the first signature under each is verified with them: for signers the caller knows will
/// recur — a validator's voters, known when its engine starts — whose tables the cache's policy
/// would otherwise build on their third signature (a table on the second sighting, its forms
/// on their first use), all in one block. Returns how many of `keys` have a table; a key that
/// is not a point of large order, or finds the cache full of tables in use, gets none.
pub fn prepare_signers(platform: Platform, cache: &SignerCache, keys: &[[u8; 32]]) -> usize {
    let verifier = lane_verifier(platform);
    keys.iter()
        .filter_map(|key| cache.prepare(key))
        .map(|signer| {
            signer.table();
            match verifier {
                #[cfg(target_arch = "x86_64")]
                Some(LaneVerifier::Ifma) => {
                    signer.lane_table::<8, ifma::field::FieldElement52x8>();
                }
                #[cfg(target_arch = "x86_64")]
                Some(LaneVerifier::Avx2) => {
                    signer.lane_table::<4, avx2::field::FieldElement2625x4>();
                }
                None => {}
            }
        })
        .count()
}

/// Verifies every signature on the CPU with the widest verifier of [`Platform::detect`],
/// spread over the available cores; `results[i]` is 1 when signature `i` is valid, else 0.
/// Recurring signers use `cache`.
///
/// # Panics
/// If the slices differ in length.
pub fn verify_batch_cpu(
    signatures: &[[u8; 64]],
    public_keys: &[[u8; 32]],
    messages: &[&[u8]],
    results: &mut [u8],
    cache: Option<&SignerCache>,
) {
    let n = assert_batch_shape(signatures, public_keys, messages, results);
    let platform = Platform::detect();
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    if n < PARALLEL_MIN || threads == 1 {
        verify_many(platform, signatures, public_keys, messages, results, cache);
        return;
    }
    let per = n.div_ceil(threads);
    let parts = results.chunks_mut(per).enumerate().map(|(t, out)| {
        let range = t * per..t * per + out.len();
        (range.clone(), out)
    });
    on_threads(
        parts.collect(),
        |(range, out)| {
            let (sigs, keys, msgs) = (
                &signatures[range.clone()],
                &public_keys[range.clone()],
                &messages[range],
            );
            verify_many(platform, sigs, keys, msgs, out, cache);
        },
        std::thread::Builder::new,
    );
}

/// Runs `work` on every one of `parts`, on scoped threads (built by `builder`), one for each
/// part, all taking parts from one queue: a thread that cannot be started (a process at its
/// thread limit: `ulimit -u`, a cgroup's `pids.max`) leaves its share to the others, and where
/// none starts the calling thread does them all. Before stop 73 a part was handed to a thread
/// of its own and a failed start panicked (`tandem replay`, `gen`, the C ABI's batch verify
/// under a thread limit). The calling thread works only then: its stack may be a host's small
/// one, which a verifier's frames (tens of KiB) should not have to fit.
fn on_threads<P: Send>(
    parts: Vec<P>,
    work: impl Fn(P) + Sync,
    builder: impl Fn() -> std::thread::Builder,
) {
    let threads = parts.len();
    let queue = std::sync::Mutex::new(parts.into_iter());
    let next = || {
        queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .next()
    };
    let drain = || {
        while let Some(part) = next() {
            work(part);
        }
    };
    std::thread::scope(|scope| {
        let started = (0..threads)
            .take_while(|_| builder().spawn_scoped(scope, drain).is_ok())
            .count();
        if started == 0 {
            drain();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")] // testing::unstartable_thread
    fn parts_are_all_done_when_no_thread_can_be_started() {
        // Every start fails, as at a thread limit.
        let unstartable = crate::testing::unstartable_thread;
        let caller = std::thread::current().id();
        // One thread starts, the others cannot: it does every part.
        let once = std::sync::atomic::AtomicBool::new(false);
        let one_starts = || match once.swap(true, std::sync::atomic::Ordering::Relaxed) {
            false => std::thread::Builder::new(),
            true => unstartable(),
        };
        let done = std::sync::Mutex::new(Vec::new());
        let push = |p: usize| done.lock().unwrap().push((p, std::thread::current().id()));
        on_threads((0..7).collect(), push, one_starts);
        let done = done.into_inner().unwrap();
        assert_eq!(done.len(), 7);
        assert!(done.windows(2).all(|w| w[0].1 == w[1].1) && done[0].1 != caller);
        for (builder, on_the_caller) in [
            (std::thread::Builder::new as fn() -> _, false),
            (unstartable, true),
        ] {
            for n in [0, 1, 2, 7] {
                let done = std::sync::Mutex::new(Vec::new());
                on_threads(
                    (0..n).collect(),
                    |p: usize| done.lock().unwrap().push((p, std::thread::current().id())),
                    builder,
                );
                let mut done = done.into_inner().unwrap();
                done.sort_unstable_by_key(|&(p, _)| p);
                let parts: Vec<usize> = done.iter().map(|&(p, _)| p).collect();
                assert_eq!(parts, (0..n).collect::<Vec<_>>());
                // The calling thread (a host's, whose stack may be small) works only where no
                // thread started.
                assert!(done.iter().all(|&(_, t)| (t == caller) == on_the_caller));
            }
        }
    }

    #[test]
    fn prepared_signers_hold_every_form_their_platforms_verifier_uses() {
        use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
        let keys: Vec<[u8; 32]> = (1..=5u64)
            .map(|i| {
                (ED25519_BASEPOINT_POINT * curve25519_dalek::Scalar::from(i))
                    .compress()
                    .to_bytes()
            })
            .collect();
        for platform in crate::testing::platforms_here() {
            let cache = SignerCache::new(8);
            assert_eq!(prepare_signers(platform, &cache, &keys), keys.len());
            let lanes = match lane_verifier(platform) {
                #[cfg(target_arch = "x86_64")]
                Some(LaneVerifier::Ifma) => [true, false],
                #[cfg(target_arch = "x86_64")]
                Some(LaneVerifier::Avx2) => [false, true],
                None => [false, false],
            };
            for key in &keys {
                let signer = cache.get(key).expect("a table");
                assert_eq!(signer.built(), (true, lanes), "{platform}");
            }
        }
    }
}
