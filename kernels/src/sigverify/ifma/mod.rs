//! The 8-lane AVX-512 IFMA verifier: eight independent ed25519 verifications at once, one per
//! 64-bit lane of a `__m512i`.
//!
//! - [`field`]: arithmetic modulo `p = 2^255 − 19`, five limbs of 52 bits multiplied with
//!   `vpmadd52luq` / `vpmadd52huq`, square roots as curve25519-dalek takes them.
//! - [`point`]: extended-coordinate points — addition, doubling, negation, selection,
//!   compression, decompression with a per-lane validity mask, and the small-order check,
//!   on the formulas of the scalar `fixed_base::ExtendedPoint` (shared, not copied).
//! - [`verify`]: the verifier — windowed `[S]B − [k]A` from gathered table entries, for new
//!   signers and for the signer cache's recurring ones.
//!
//! Every function here is `unsafe` and compiled with `avx512f,avx512ifma`: call it only after
//! [`available`] returned `true`. The module compiles only on x86_64.
//!
//! See [`field`] for the representation and the limb bounds each function expects and
//! guarantees. The tests hold every field operation, lane by lane, to the scalar radix-2^51
//! field of `super::field` (itself fuzzed against curve25519-dalek), and every point operation
//! to curve25519-dalek's `EdwardsPoint` and `CompressedEdwardsY`.

pub(crate) mod field;
pub(crate) mod point;
#[cfg(test)]
mod tests;
pub(crate) mod verify;

/// Whether this CPU runs the IFMA kernels (AVX-512F and AVX-512 IFMA).
pub(crate) fn available() -> bool {
    std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512ifma")
}
