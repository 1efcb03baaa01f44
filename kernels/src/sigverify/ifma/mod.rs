//! The AVX-512 IFMA lane field of the lanes verifier: eight independent ed25519 verifications at
//! once, one per 64-bit lane of a `__m512i`.
//!
//! - [`field`]: arithmetic modulo `p = 2^255 − 19`, five limbs of 52 bits multiplied with
//!   `vpmadd52luq` / `vpmadd52huq`, square roots as curve25519-dalek takes them.
//!
//! The point arithmetic and the verifier are written once for every lane field, in
//! [`super::lanes`]; this module is the field and its `LaneField<8>` implementation.
//!
//! Every function here is `unsafe` and compiled with `avx512f,avx512ifma`: call it only after
//! [`available`] returned `true`. The module compiles only on x86_64.
//!
//! See [`field`] for the representation and the limb bounds each function expects and
//! guarantees. The tests hold every field operation, lane by lane, to the scalar radix-2^51
//! field of `super::field` (itself fuzzed against curve25519-dalek).

pub(crate) mod field;
#[cfg(test)]
mod tests;

/// Whether this CPU runs the IFMA kernels (AVX-512F and AVX-512 IFMA).
pub(crate) fn available() -> bool {
    std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512ifma")
}
