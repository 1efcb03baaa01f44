//! The field layer of the 8-lane AVX-512 IFMA verifier of issue #14: arithmetic modulo
//! `p = 2^255 − 19` on eight independent field elements at once, one per 64-bit lane of a
//! `__m512i`, five limbs of 52 bits multiplied with `vpmadd52luq` / `vpmadd52huq`.
//!
//! **Not done yet**: this is the first building block only. The point arithmetic (decompression,
//! extended-coordinate additions and doublings, windowed scalar multiplication), multi-buffer
//! SHA-512, the verifier itself and its dispatch from [`Platform`](crate::Platform) are still to
//! come; until then nothing outside the tests calls this module.
//!
//! Every function here is `unsafe` and compiled with `avx512f,avx512ifma`: call it only after
//! [`available`] returned `true`. The module compiles only on x86_64.
//!
//! See [`field`] for the representation and the limb bounds each function expects and
//! guarantees; its tests hold every operation, lane by lane, to the scalar radix-2^51 field of
//! `super::field` (itself fuzzed against curve25519-dalek).

// Until the verifier of issue #14 uses it, only the tests call this layer.
#![cfg_attr(not(test), allow(dead_code))]

pub(crate) mod field;
#[cfg(test)]
mod tests;

/// Whether this CPU runs the IFMA kernels (AVX-512F and AVX-512 IFMA).
pub(crate) fn available() -> bool {
    std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512ifma")
}
