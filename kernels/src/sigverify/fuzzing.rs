//! Hooks for the differential fuzz target (`kernels/fuzz`) into the private field and fixed-base
//! arithmetic. Compiled only with the `fuzzing` feature and hidden from the docs: this is not an
//! API, it lets a fuzzer hold the hand-written arithmetic to curve25519-dalek and a bignum
//! reference on inputs a unit test would not think of.
//!
//! Field elements cross this boundary as their five radix-2^51 limbs, so the fuzzer can feed
//! unreduced limbs at the bounds `field.rs` documents (its callers rely on those bounds).

use super::field::FieldElement;
use super::fixed_base::{ExtendedPoint, FixedBaseTable, compress_batch, double_fixed_base_mul};

/// Five radix-2^51 limbs: the value is `Σ limbs[i]·2^(51·i)` modulo `2^255 − 19`.
pub type Limbs = [u64; 5];

/// `FieldElement::from_bytes` (the low 255 bits, read modulo p).
pub fn field_from_bytes(bytes: &[u8; 32]) -> Limbs {
    FieldElement::from_bytes(bytes).0
}

/// `FieldElement::to_bytes`: the canonical encoding.
pub fn field_to_bytes(a: Limbs) -> [u8; 32] {
    FieldElement(a).to_bytes()
}

/// `a + b` without carrying (limbs must stay below 2^64).
pub fn field_add(a: Limbs, b: Limbs) -> Limbs {
    FieldElement(a).add(&FieldElement(b)).0
}

/// `a − b`, reduced; limbs of both `< 2^54`.
pub fn field_sub(a: Limbs, b: Limbs) -> Limbs {
    FieldElement(a).sub(&FieldElement(b)).0
}

/// `a · b`, reduced; limbs of both `< 2^54`.
pub fn field_mul(a: Limbs, b: Limbs) -> Limbs {
    FieldElement(a).mul(&FieldElement(b)).0
}

/// `a²`, reduced; limbs `< 2^54`.
pub fn field_square(a: Limbs) -> Limbs {
    FieldElement(a).square().0
}

/// `−a`, reduced; limbs `< 2^54`.
pub fn field_neg(a: Limbs) -> Limbs {
    FieldElement(a).neg().0
}

/// `1/a` (0 for 0); limbs `< 2^54`.
pub fn field_invert(a: Limbs) -> Limbs {
    FieldElement(a).invert().0
}

/// `sqrt_ratio(u, v)` with the square root of −1 that the curve code uses: `(is_square, root)`.
pub fn field_sqrt_ratio(u: Limbs, v: Limbs) -> (bool, Limbs) {
    let (ok, r) = FieldElement::sqrt_ratio(
        &FieldElement(u),
        &FieldElement(v),
        &FieldElement::sqrt_minus_one(),
    );
    (ok, r.0)
}

/// Decompresses `encoding` as the signer cache does and re-encodes the point canonically.
pub fn point_round_trip(encoding: &[u8; 32]) -> Option<[u8; 32]> {
    ExtendedPoint::decompress(encoding).map(|p| compress_batch(&[p])[0])
}

/// The encoding of `[s]B + [k]P` through fixed-base tables (P's built here), for the point `P`
/// that `p` decompresses to; scalars below 2^255 (the top bit of each is cleared here, as the
/// tables' digit recoding requires).
pub fn double_fixed_base(s: &[u8; 32], p: &[u8; 32], k: &[u8; 32]) -> Option<[u8; 32]> {
    let point = ExtendedPoint::decompress(p)?;
    let (mut s, mut k) = (*s, *k);
    s[31] &= 0x7f;
    k[31] &= 0x7f;
    let sum = double_fixed_base_mul(
        FixedBaseTable::basepoint(),
        &s,
        &FixedBaseTable::new(&point),
        &k,
    );
    Some(compress_batch(&[sum])[0])
}
