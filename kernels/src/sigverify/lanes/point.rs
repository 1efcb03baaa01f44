//! `N` ed25519 points at once, one per lane, on any [`LaneField`].
//!
//! Points are on the twisted Edwards curve `−x² + y² = 1 + d·x²·y²` in extended coordinates
//! `(X : Y : Z : T)` with `x = X/Z`, `y = Y/Z`, `x·y = T/Z`, with the formulas of the scalar
//! [`ExtendedPoint`](super::super::fixed_base::ExtendedPoint) (Hisil–Wong–Carter–Dawson 2008, as
//! curve25519-dalek): complete on this curve, so no lane needs a special case and `Z` never
//! vanishes.
//!
//! [`decompress`](LanePoint::decompress) follows curve25519-dalek's decompression, the one
//! verify_strict applies to `A` and `R` (SPEC §2): `y` is read modulo p (a non-canonical
//! `y ≥ p` is accepted), `x` comes from the curve equation (no square root: invalid) and the
//! sign bit picks its parity — a sign bit on `x = 0` is accepted, as dalek accepts it.
//!
//! Every function is `#[inline(always)]` without target features of its own: it is compiled
//! into its caller, which must run with the field's CPU features (see [`super`]).

use super::super::fixed_base::{add_formula, double_formula, is_small_order_encoding};
#[cfg(test)]
use super::invert;
use super::{LaneField, sqrt_ratio};

/// `d = −121665 / 121666`, canonical (checked against the scalar curve in the tests).
pub(crate) const D: [u8; 32] = [
    0xa3, 0x78, 0x59, 0x13, 0xca, 0x4d, 0xeb, 0x75, 0xab, 0xd8, 0x41, 0x41, 0x4d, 0x0a, 0x70, 0x00,
    0x98, 0xe8, 0x79, 0x77, 0x79, 0x40, 0xc7, 0x8c, 0x73, 0xfe, 0x6f, 0x2b, 0xee, 0x6c, 0x03, 0x52,
];
/// `2d`, canonical.
pub(crate) const D2: [u8; 32] = [
    0x59, 0xf1, 0xb2, 0x26, 0x94, 0x9b, 0xd6, 0xeb, 0x56, 0xb1, 0x83, 0x82, 0x9a, 0x14, 0xe0, 0x00,
    0x30, 0xd1, 0xf3, 0xee, 0xf2, 0x80, 0x8e, 0x19, 0xe7, 0xfc, 0xdf, 0x56, 0xdc, 0xd9, 0x06, 0x24,
];
/// A square root of −1 (`2^((p − 1) / 4)`), canonical.
pub(crate) const SQRT_M1: [u8; 32] = [
    0xb0, 0xa0, 0x0e, 0x4a, 0x27, 0x1b, 0xee, 0xc4, 0x78, 0xe4, 0x2f, 0xad, 0x06, 0x18, 0x43, 0x2f,
    0xa7, 0xd7, 0xfb, 0x3d, 0x99, 0x00, 0x4d, 0x2b, 0x0b, 0xdf, 0xc1, 0x4f, 0x80, 0x24, 0x83, 0x2b,
];

/// `N` points in extended coordinates, lane `j` of each coordinate being point `j`'s (`F` a
/// [`LaneField<N>`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LanePoint<const N: usize, F> {
    pub(crate) x: F,
    pub(crate) y: F,
    pub(crate) z: F,
    pub(crate) t: F,
}

impl<const N: usize, F: LaneField<N>> LanePoint<N, F> {
    /// The identity `(0 : 1 : 1 : 0)` in every lane.
    ///
    /// # Safety
    /// The CPU features of `F` (see [`LaneField`]).
    #[inline(always)]
    pub(crate) unsafe fn identity() -> Self {
        // SAFETY: the caller vouched for the CPU features.
        unsafe {
            LanePoint {
                x: F::zero(),
                y: F::one(),
                z: F::one(),
                t: F::zero(),
            }
        }
    }

    /// Decompresses `N` encodings as curve25519-dalek does (see the module docs). The mask
    /// has the lanes that decompressed; every other lane holds the identity.
    ///
    /// # Safety
    /// As [`identity`](Self::identity).
    #[inline(always)]
    pub(crate) unsafe fn decompress(encodings: &[[u8; 32]; N]) -> (Self, u8) {
        // SAFETY: the caller vouched for the CPU features.
        unsafe {
            let one = F::one();
            let y = F::from_bytes(encodings);
            let yy = y.square();
            let u = yy.sub(&one);
            let v = yy.mul(&F::splat(&D)).add(&one);
            let (valid, x) = sqrt_ratio(&u, &v, &F::splat(&SQRT_M1));
            let sign = encodings
                .iter()
                .enumerate()
                .fold(0, |m, (j, e)| m | (e[31] >> 7) << j);
            let x = F::select(sign, &x.neg(), &x);
            let point = LanePoint {
                x,
                y,
                z: one,
                t: x.mul(&y),
            };
            (Self::select(valid, &point, &Self::identity()), valid)
        }
    }

    /// The canonical encoding of every lane: `y = Y/Z` in 255 bits, the parity of `x = X/Z` in
    /// the top bit, with `z_inv = 1/Z` given (several points can share one inversion).
    ///
    /// # Safety
    /// As [`identity`](Self::identity).
    #[inline(always)]
    pub(crate) unsafe fn compress_with(&self, z_inv: &F) -> [[u8; 32]; N] {
        // SAFETY: the caller vouched for the CPU features.
        unsafe {
            let negative = self.x.mul(z_inv).is_negative();
            let mut out = self.y.mul(z_inv).to_bytes();
            for (j, lane) in out.iter_mut().enumerate() {
                lane[31] |= (negative >> j & 1) << 7;
            }
            out
        }
    }

    /// The canonical encoding of every lane, with one lane-wise inversion.
    ///
    /// # Safety
    /// As [`identity`](Self::identity).
    #[cfg(test)]
    #[inline(always)]
    pub(crate) unsafe fn compress(&self) -> [[u8; 32]; N] {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { self.compress_with(&invert(&self.z)) }
    }

    /// The lanes whose point, decompressed and so with `Z = 1`, is of small order: its
    /// canonical encoding (no inversion needed) is one of the eight torsion points'.
    ///
    /// # Safety
    /// As [`identity`](Self::identity); `Z` must be 1 in every lane.
    #[inline(always)]
    pub(crate) unsafe fn is_small_order_affine(&self) -> u8 {
        // SAFETY: the caller vouched for the CPU features.
        let encodings = unsafe { self.compress_with(&F::one()) };
        encodings.iter().enumerate().fold(0, |mask, (j, e)| {
            mask | u8::from(is_small_order_encoding(e)) << j
        })
    }

    /// Lane by lane, `a` where `mask` has the lane's bit, `b` elsewhere.
    ///
    /// # Safety
    /// As [`identity`](Self::identity).
    #[inline(always)]
    pub(crate) unsafe fn select(mask: u8, a: &Self, b: &Self) -> Self {
        // SAFETY: the caller vouched for the CPU features.
        unsafe {
            LanePoint {
                x: F::select(mask, &a.x, &b.x),
                y: F::select(mask, &a.y, &b.y),
                z: F::select(mask, &a.z, &b.z),
                t: F::select(mask, &a.t, &b.t),
            }
        }
    }

    /// `−P` in every lane.
    ///
    /// # Safety
    /// As [`identity`](Self::identity).
    #[cfg(test)]
    #[inline(always)]
    pub(crate) unsafe fn neg(&self) -> Self {
        // SAFETY: the caller vouched for the CPU features.
        unsafe {
            LanePoint {
                x: self.x.neg(),
                y: self.y,
                z: self.z,
                t: self.t.neg(),
            }
        }
    }

    /// `P + Q` in every lane (add-2008-hwcd-3, `a = −1`: the scalar `ExtendedPoint`'s
    /// formula, shared).
    ///
    /// # Safety
    /// As [`identity`](Self::identity).
    #[inline(always)]
    pub(crate) unsafe fn add(&self, q: &Self) -> Self {
        // SAFETY: the caller vouched for the CPU features, all the lanes' operations need.
        let [x, y, z, t] = unsafe {
            add_formula(
                [&self.x, &self.y, &self.z, &self.t],
                [&q.x, &q.y, &q.z, &q.t],
                &F::splat(&D2),
            )
        };
        LanePoint { x, y, z, t }
    }

    /// `2P` in every lane (dbl-2008-hwcd, `a = −1`: the scalar `ExtendedPoint`'s formula,
    /// shared).
    ///
    /// # Safety
    /// As [`identity`](Self::identity).
    #[inline(always)]
    pub(crate) unsafe fn double(&self) -> Self {
        // SAFETY: the caller vouched for the CPU features, all the lanes' operations need.
        let [x, y, z, t] = unsafe { double_formula([&self.x, &self.y, &self.z]) };
        LanePoint { x, y, z, t }
    }

    /// The lanes whose point is of small order (one of the eight torsion points): `[8]P` is
    /// the identity, `X = 0` and `Y = Z`.
    ///
    /// # Safety
    /// As [`identity`](Self::identity).
    #[cfg(test)]
    #[inline(always)]
    pub(crate) unsafe fn is_small_order(&self) -> u8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe {
            let p8 = self.double().double().double();
            p8.x.eq(&F::zero()) & p8.y.eq(&p8.z)
        }
    }
}
