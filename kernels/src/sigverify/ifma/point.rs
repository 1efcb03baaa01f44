//! Eight ed25519 points at once, one per 64-bit lane, on the IFMA field of [`super::field`].
//!
//! Points are on the twisted Edwards curve `−x² + y² = 1 + d·x²·y²` in extended coordinates
//! `(X : Y : Z : T)` with `x = X/Z`, `y = Y/Z`, `x·y = T/Z`, with the formulas of the scalar
//! [`ExtendedPoint`](super::super::fixed_base::ExtendedPoint) (Hisil–Wong–Carter–Dawson 2008, as
//! curve25519-dalek): complete on this curve, so no lane needs a special case and `Z` never
//! vanishes. Every coordinate is a reduced field element, so any output feeds any input.
//!
//! [`decompress`](EdwardsPoint52x8::decompress) follows curve25519-dalek's decompression, the
//! one verify_strict applies to `A` and `R` (SPEC §2): `y` is read modulo p (a non-canonical
//! `y ≥ p` is accepted), `x` comes from the curve equation (no square root: invalid) and the
//! sign bit picks its parity — a sign bit on `x = 0` is accepted, as dalek accepts it.

use core::arch::x86_64::*;

use super::super::fixed_base::{FieldArith, add_formula, double_formula};
use super::field::{FieldElement52x8 as Fe8, limbs_from_bytes};
use crate::sigverify::lanes::LaneField;

/// `d = −121665 / 121666` in radix 2^52 (checked against the scalar curve in the tests).
pub(super) const D: [u64; 5] = [
    0xb4dca135978a3,
    0x4d4141d8ab75e,
    0x779e89800700a,
    0xfe738cc740797,
    0x52036cee2b6f,
];
/// `2d` in radix 2^52.
pub(super) const D2: [u64; 5] = [
    0x69b9426b2f159,
    0x9a8283b156ebd,
    0xef3d13000e014,
    0xfce7198e80f2e,
    0x2406d9dc56df,
];
/// A square root of −1 (`2^((p − 1) / 4)`) in radix 2^52.
pub(super) const SQRT_M1: [u64; 5] = [
    0xe1b274a0ea0b0,
    0x6ad2fe478c4e,
    0xdfbd7a72f4318,
    0xdf0b2b4d00993,
    0x2b8324804fc1,
];

/// Eight points in extended coordinates, lane `j` of each coordinate being point `j`'s.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EdwardsPoint52x8 {
    pub(crate) x: Fe8,
    pub(crate) y: Fe8,
    pub(crate) z: Fe8,
    pub(crate) t: Fe8,
}

impl EdwardsPoint52x8 {
    /// The identity `(0 : 1 : 1 : 0)` in every lane.
    ///
    /// # Safety
    /// The CPU must support AVX-512F and AVX-512 IFMA ([`super::available`]).
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn identity() -> EdwardsPoint52x8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe {
            EdwardsPoint52x8 {
                x: Fe8::zero(),
                y: Fe8::one(),
                z: Fe8::one(),
                t: Fe8::zero(),
            }
        }
    }

    /// Decompresses eight encodings as curve25519-dalek does (see the module docs). The mask
    /// has the lanes that decompressed; every other lane holds the identity.
    ///
    /// # Safety
    /// As [`identity`](Self::identity).
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn decompress(encodings: &[[u8; 32]; 8]) -> (EdwardsPoint52x8, __mmask8) {
        // SAFETY: the caller vouched for the CPU features; every element is reduced.
        unsafe {
            let one = Fe8::one();
            let y = Fe8::from_bytes(encodings);
            let yy = y.square();
            let u = yy.sub(&one);
            let v = yy.mul(&Fe8::splat_limbs(D)).add(&one);
            let (valid, x) = Fe8::sqrt_ratio(&u, &v, &Fe8::splat_limbs(SQRT_M1));
            let sign = encodings
                .iter()
                .enumerate()
                .fold(0, |m, (j, e)| m | (e[31] >> 7) << j);
            let x = Fe8::select(sign, &x.neg(), &x);
            let point = EdwardsPoint52x8 {
                x,
                y,
                z: one,
                t: x.mul(&y),
            };
            (Self::select(valid, &point, &Self::identity()), valid)
        }
    }

    /// The canonical encoding of every lane: `y = Y/Z` in 255 bits, the parity of `x = X/Z` in
    /// the top bit. One lane-wise inversion.
    ///
    /// # Safety
    /// As [`identity`](Self::identity).
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn compress(&self) -> [[u8; 32]; 8] {
        // SAFETY: the caller vouched for the CPU features; every element is reduced.
        unsafe {
            let z_inv = self.z.invert();
            let negative = self.x.mul(&z_inv).is_negative();
            let mut out = self.y.mul(&z_inv).to_bytes();
            for (j, lane) in out.iter_mut().enumerate() {
                lane[31] |= (negative >> j & 1) << 7;
            }
            out
        }
    }

    /// Lane by lane, `a` where `mask` has the lane's bit, `b` elsewhere.
    ///
    /// # Safety
    /// As [`identity`](Self::identity).
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn select(
        mask: __mmask8,
        a: &EdwardsPoint52x8,
        b: &EdwardsPoint52x8,
    ) -> EdwardsPoint52x8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe {
            EdwardsPoint52x8 {
                x: Fe8::select(mask, &a.x, &b.x),
                y: Fe8::select(mask, &a.y, &b.y),
                z: Fe8::select(mask, &a.z, &b.z),
                t: Fe8::select(mask, &a.t, &b.t),
            }
        }
    }

    #[cfg(test)]
    /// `−P` in every lane.
    ///
    /// # Safety
    /// As [`identity`](Self::identity).
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn neg(&self) -> EdwardsPoint52x8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe {
            EdwardsPoint52x8 {
                x: self.x.neg(),
                t: self.t.neg(),
                ..*self
            }
        }
    }

    /// `P + Q` in every lane (add-2008-hwcd-3, `a = −1`: the scalar `ExtendedPoint`'s
    /// formula, shared).
    ///
    /// # Safety
    /// As [`identity`](Self::identity).
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn add(&self, q: &EdwardsPoint52x8) -> EdwardsPoint52x8 {
        // SAFETY: the caller vouched for the CPU features, all the lanes' operations need.
        let [x, y, z, t] = unsafe {
            add_formula(
                [&self.x, &self.y, &self.z, &self.t],
                [&q.x, &q.y, &q.z, &q.t],
                &Fe8::splat_limbs(D2),
            )
        };
        EdwardsPoint52x8 { x, y, z, t }
    }

    /// `2P` in every lane (dbl-2008-hwcd, `a = −1`: the scalar `ExtendedPoint`'s formula,
    /// shared).
    ///
    /// # Safety
    /// As [`identity`](Self::identity).
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn double(&self) -> EdwardsPoint52x8 {
        // SAFETY: the caller vouched for the CPU features, all the lanes' operations need.
        let [x, y, z, t] = unsafe { double_formula([&self.x, &self.y, &self.z]) };
        EdwardsPoint52x8 { x, y, z, t }
    }

    /// The lanes whose point is of small order (one of the eight torsion points): `[8]P` is
    /// the identity, `X = 0` and `Y = Z`.
    ///
    /// # Safety
    /// As [`identity`](Self::identity).
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn is_small_order(&self) -> __mmask8 {
        // SAFETY: the caller vouched for the CPU features; every element is reduced.
        unsafe {
            let p8 = self.double().double().double();
            p8.x.eq(&Fe8::zero()) & p8.y.eq(&p8.z)
        }
    }
}

// SAFETY: a caller of these methods must guarantee that the CPU supports AVX-512F and AVX-512
// IFMA ([`super::available`]), all the lanes' operations need; so guaranteed, each is sound on
// any tight input and returns a reduced (so tight) output, so any output feeds any input, as
// the shared formulas need.
unsafe impl FieldArith for Fe8 {
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn add(&self, rhs: &Fe8) -> Fe8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { Fe8::add(self, rhs) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn sub(&self, rhs: &Fe8) -> Fe8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { Fe8::sub(self, rhs) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn mul(&self, rhs: &Fe8) -> Fe8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { Fe8::mul(self, rhs) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn square(&self) -> Fe8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { Fe8::square(self) }
    }
}

// SAFETY: as for `FieldArith` above: a caller guarantees AVX-512F and AVX-512 IFMA; every
// method is sound on tight inputs and returns reduced (so tight) outputs; `gather` reads only
// what its caller vouches for.
unsafe impl LaneField<8> for Fe8 {
    const WORDS: usize = 5;

    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn zero() -> Fe8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { Fe8::zero() }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn one() -> Fe8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { Fe8::one() }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn splat(value: &[u8; 32]) -> Fe8 {
        // SAFETY: the caller vouched for the CPU features; the limbs are below 2^52.
        unsafe { Fe8::splat_limbs(limbs_from_bytes(value)) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn from_bytes(bytes: &[[u8; 32]; 8]) -> Fe8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { Fe8::from_bytes(bytes) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn to_bytes(&self) -> [[u8; 32]; 8] {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { Fe8::to_bytes(*self) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn neg(&self) -> Fe8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { Fe8::neg(self) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn eq(&self, rhs: &Fe8) -> u8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { Fe8::eq(self, rhs) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn is_negative(&self) -> u8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { Fe8::is_negative(self) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn select(mask: u8, a: &Fe8, b: &Fe8) -> Fe8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { Fe8::select(mask, a, b) }
    }
    fn words(encoding: &[u8; 32], out: &mut [u64]) {
        out[..5].copy_from_slice(&limbs_from_bytes(encoding));
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn store_interleaved(&self, out: &mut [u64]) {
        let out = &mut out[..5 * 8];
        for (i, limb) in self.limbs.iter().enumerate() {
            // SAFETY: `out[8i..8i + 8]` is 64 writable bytes (checked above); unaligned store.
            unsafe { _mm512_storeu_si512(out[8 * i..].as_mut_ptr().cast(), *limb) };
        }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn gather(base: *const u64, offsets: &[i64; 8], stride: usize) -> Fe8 {
        // SAFETY: 64 readable bytes; the load is unaligned.
        let offsets = unsafe { _mm512_loadu_si512(offsets.as_ptr().cast()) };
        Fe8 {
            // SAFETY: the caller keeps every address inside a live table.
            limbs: core::array::from_fn(|i| unsafe {
                _mm512_i64gather_epi64::<8>(offsets, base.wrapping_add(i * stride).cast())
            }),
        }
    }
}
