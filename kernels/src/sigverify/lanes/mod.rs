//! Verification in SIMD lanes: `N` independent signatures at once, one per 64-bit lane, on any
//! lane field — eight lanes of AVX-512 IFMA ([`super::ifma`]) or four of AVX2
//! ([`super::avx2`]). The point arithmetic ([`point`]) and the verifier ([`verify`]) are written
//! once, generic over [`LaneField`]; each field brings its arithmetic, its table layout and its
//! gathers. [`stack`] runs the AVX2 verifier at one page offset of its stack (its rate depends
//! on it).
//!
//! # Target features
//!
//! A lane field's methods are compiled with its CPU features (`#[target_feature]`) and marked
//! `#[inline]`; the generic code here is `#[inline(always)]` and has no target feature of its
//! own, so it is compiled into each field's entry points ([`verify`]'s `verify_many_*`), which
//! carry the field's features: the whole verifier then inlines as one function per field, and
//! no instruction of a wider instruction set reaches a narrower field's code.

use super::field::{pow2k, pow22501};
use super::fixed_base::FieldArith;

pub(crate) mod point;
pub(crate) mod stack;
#[cfg(test)]
pub(crate) mod test_inputs;
#[cfg(test)]
mod tests;
pub(crate) mod verify;

/// `N` elements of GF(2^255 − 19) side by side, element `j` in lane `j` (a lane mask is a `u8`
/// with bit `j` for lane `j`).
///
/// # Safety
/// Every method is `unsafe` because it runs with the field's CPU features: a caller must
/// guarantee the CPU has them (the field's `available()`). An implementor promises that, so
/// guaranteed, every method is sound on any element its own methods return (and on any output
/// of [`FieldArith`]'s operations, which feed each other freely), and returns the operation's
/// result modulo p; [`gather`](LaneField::gather) additionally needs its addresses valid.
pub(crate) unsafe trait LaneField<const N: usize>: FieldArith + Copy {
    /// Which of a signer's lane tables ([`verify::LaneTable`]) this field's layout uses: one
    /// slot per lane field, so a cache shared by verifiers of different fields keeps each.
    const SLOT: usize;

    /// u64 words per element in a table ([`words`](LaneField::words) writes them,
    /// [`gather`](LaneField::gather) and [`store_interleaved`](LaneField::store_interleaved)
    /// read and write them).
    const WORDS: usize;

    /// 0 in every lane.
    ///
    /// # Safety
    /// The CPU features (see the trait).
    unsafe fn zero() -> Self;

    /// 1 in every lane.
    ///
    /// # Safety
    /// The CPU features (see the trait).
    unsafe fn one() -> Self;

    /// The element whose canonical encoding is `value`, in every lane.
    ///
    /// # Safety
    /// The CPU features (see the trait).
    unsafe fn splat(value: &[u8; 32]) -> Self;

    /// Lane `j` is the low 255 bits of `bytes[j]` (little-endian) read modulo p, as
    /// curve25519-dalek reads them (the top bit ignored, a value `≥ p` accepted).
    ///
    /// # Safety
    /// The CPU features (see the trait).
    unsafe fn from_bytes(bytes: &[[u8; 32]; N]) -> Self;

    /// The canonical encoding of every lane (fully reduced, top bit clear).
    ///
    /// # Safety
    /// The CPU features (see the trait).
    unsafe fn to_bytes(&self) -> [[u8; 32]; N];

    /// `−self`.
    ///
    /// # Safety
    /// The CPU features (see the trait).
    unsafe fn neg(&self) -> Self;

    /// The lanes where `self` and `rhs` are equal modulo p.
    ///
    /// # Safety
    /// The CPU features (see the trait).
    unsafe fn eq(&self, rhs: &Self) -> u8;

    /// The lanes whose canonical value is odd ("negative" in RFC 8032's sign convention).
    ///
    /// # Safety
    /// The CPU features (see the trait).
    unsafe fn is_negative(&self) -> u8;

    /// Lane by lane, `a` where `mask` has the lane's bit, `b` elsewhere.
    ///
    /// # Safety
    /// The CPU features (see the trait).
    unsafe fn select(mask: u8, a: &Self, b: &Self) -> Self;

    /// Writes the table words of the element whose canonical encoding is `encoding` into
    /// `out[..WORDS]` (what [`gather`](LaneField::gather) reads back). Needs no CPU feature.
    fn words(encoding: &[u8; 32], out: &mut [u64]);

    /// Writes word `i` of lane `j` to `out[i·N + j]` (`out` holds `WORDS·N` words), so that
    /// `gather` with stride `N` and offsets `j` reads lane `j` back.
    ///
    /// # Safety
    /// The CPU features (see the trait).
    unsafe fn store_interleaved(&self, out: &mut [u64]);

    /// Lane `j` gets the element whose word `i` is `base[offsets[j] + i·stride]`.
    ///
    /// # Safety
    /// The CPU features (see the trait), and every address read must be inside one live
    /// allocation of u64 words holding what `words` or `store_interleaved` wrote.
    unsafe fn gather(base: *const u64, offsets: &[i64; N], stride: usize) -> Self;
}

/// `1 / x` in every lane (`x^(p − 2)`; 0 maps to 0), on the scalar field's addition chain.
///
/// # Safety
/// The CPU features of `F` (see [`LaneField`]).
#[inline(always)]
pub(crate) unsafe fn invert<const N: usize, F: LaneField<N>>(x: &F) -> F {
    // SAFETY: the caller vouched for the CPU features.
    unsafe {
        let (t19, t3) = pow22501(x);
        pow2k(&t19, 5).mul(&t3) // 2^255 − 21 = p − 2
    }
}

/// Lane by lane, the scalar field's [`sqrt_ratio`](super::field::FieldElement::sqrt_ratio)
/// (curve25519-dalek's `sqrt_ratio_i`, whose answer decides which encodings decompress): the
/// mask has the lanes where `u/v` is a square or `u = 0`, and there the element is the
/// non-negative `√(u/v)` (0 when `u = 0`); `i` is a square root of −1.
///
/// # Safety
/// The CPU features of `F` (see [`LaneField`]).
#[inline(always)]
pub(crate) unsafe fn sqrt_ratio<const N: usize, F: LaneField<N>>(u: &F, v: &F, i: &F) -> (u8, F) {
    // SAFETY: the caller vouched for the CPU features.
    unsafe {
        let v3 = v.square().mul(v);
        let v7 = v3.square().mul(v);
        let uv7 = u.mul(&v7);
        // (u·v^7)^((p − 5) / 8) = (u·v^7)^(2^252 − 3)
        let pow_p58 = pow2k(&pow22501(&uv7).0, 2).mul(&uv7);
        let r = u.mul(&v3).mul(&pow_p58);
        let check = v.mul(&r.square());
        let neg_u = u.neg();
        let correct = check.eq(u);
        let flipped = check.eq(&neg_u);
        let flipped_i = check.eq(&neg_u.mul(i));
        let r = F::select(flipped | flipped_i, &r.mul(i), &r);
        let r = F::select(r.is_negative(), &r.neg(), &r);
        (correct | flipped, r)
    }
}
