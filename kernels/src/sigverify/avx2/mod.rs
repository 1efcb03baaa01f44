//! The AVX2 lane field of the lanes verifier ([`super::lanes`]): four independent elements of
//! GF(2^255 − 19) at once, one per 64-bit lane of a `__m256i`, for machines without AVX-512
//! IFMA (whose eight-lane field is [`super::ifma`]'s).
//!
//! - [`field`]: arithmetic modulo `p = 2^255 − 19` in radix 2^25.5 — ten limbs alternating 26
//!   and 25 bits, limb `i` of the four lanes in one `__m256i`, multiplied with `vpmuludq`
//!   (32 × 32 → 64 bits) as ref10's `fe_mul` and `fe_sq` multiply — implementing
//!   [`LaneField<4>`](super::lanes::LaneField) and the point formulas' `FieldArith`.
//!
//! Every function here is `unsafe` and compiled with `avx2`: call it only after [`available`]
//! returned `true`. The module compiles only on x86_64.
//!
//! See [`field`] for the representation and the limb bounds each function expects and
//! guarantees. The tests hold every field operation, lane by lane, to the scalar radix-2^51
//! field of `super::field` (itself fuzzed against curve25519-dalek).

pub(crate) mod field;
#[cfg(test)]
mod tests;

/// Whether this CPU runs the AVX2 kernels.
pub(crate) fn available() -> bool {
    std::is_x86_feature_detected!("avx2")
}
