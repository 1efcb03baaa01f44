//! Four elements of GF(2^255 − 19) at once, in radix 2^25.5 on AVX2.
//!
//! # Representation
//!
//! A [`FieldElement2625x4`] is ten `__m256i` limbs; lane `j` (64 bits) of limb `i` is `l[i]` of
//! field element `j`, whose value is `Σ l[i]·2^⌈25.5·i⌉` (mod p). The limbs alternate 26 bits
//! (even `i`) and 25 bits (odd `i`), at weights 2^0, 2^26, 2^51, 2^77, …, 2^204, 2^230 — ref10's
//! radix and curve25519-dalek's AVX2 backend's, but with one independent element per 64-bit
//! lane (dalek's `FieldElement2625x4` packs the four coordinates of one point, two limbs per
//! 64-bit lane, for its parallel point formulas). `2^255 ≡ 19` folds the top of a product back.
//! The representation is not unique; only [`to_bytes`](FieldElement2625x4::to_bytes) is
//! canonical.
//!
//! # Limb bounds
//!
//! Write `w_i` for limb `i`'s width (26 for even `i`, 25 for odd). `vpmuludq`
//! (`_mm256_mul_epu32`) multiplies the low 32 bits of each 64-bit lane into a 64-bit product,
//! so a factor wider than 32 bits would be silently cut; the bounds keep every factor below
//! 2^32 and every column sum below 2^63.
//!
//! - "loose": every limb `< 2^(w_i + 1)` (even limbs `< 2^27`, odd `< 2^26`; value `< 2^256`,
//!   not necessarily reduced). **Every function accepts loose inputs.**
//! - "reduced": every limb `< 2^w_i + 2^10`. **Every function that returns an element returns it
//!   reduced**, and reduced implies loose, so any output feeds any input, as the point formulas
//!   (`fixed_base::add_formula`, `double_formula`) need.
//! - [`add`](FieldElement2625x4::add) carries, as the IFMA field's does: the sum of two reduced
//!   elements (limbs up to `2^(w_i + 1) + 2^11`) is not loose. The carry (`carry`) is one
//!   parallel pass: each limb keeps its low `w_i` bits and takes the carry of the limb below,
//!   limb 0 takes 19 times limb 9's. A sum of loose limbs is `< 2^(w_i + 2)`, so every carry is
//!   `≤ 3`: limb 0 ends `< 2^26 + 57`, the others `< 2^w_i + 3`.
//! - [`sub`](FieldElement2625x4::sub) and [`neg`](FieldElement2625x4::neg) add `4p` limb by limb
//!   before subtracting. `4p`'s limbs are `2^28 − 76` (limb 0), `2^28 − 4` (even) and
//!   `2^27 − 4` (odd), each at least a loose limb, so nothing underflows; the limbs are then
//!   `< 2^(w_i + 3)`, every carry `≤ 5`: limb 0 ends `< 2^26 + 95`, the others `< 2^w_i + 5`.
//! - [`mul`](FieldElement2625x4::mul) and [`square`](FieldElement2625x4::square) are ref10's
//!   `fe_mul` and `fe_sq`: one `vpmuludq` per limb product, the products that wrap past 2^255
//!   taking a precomputed `19·b_j` (`< 19·2^27 < 2^31.25`), the odd × odd ones (whose weights
//!   sum one bit short of the column's) a doubled factor (`2·a_i < 2^28`; `square` also uses
//!   `38·a_j < 38·2^26 < 2^31.25` for odd `j`): every factor is below 2^32. Each of the ten
//!   columns sums ten products; column 0 is the largest, `< 249·2^53 < 2^61`, and column 9
//!   (no ×19 term) is `< 10·2^53 < 2^56.33`.
//! - The columns are carried by ref10's and dalek's interleaved chain (`carry_columns`):
//!   0 and 4, 1 and 5, 2 and 6, 3 and 7, 4 and 8, then 9 (its carry `< 2^32` because column 9 is
//!   `< 2^57`, so one `vpmuludq` takes it ×19 into limb 0), then 0 once more: every limb ends
//!   `< 2^w_i` but limb 1 (`< 2^25 + 2^10`) and limb 5 (`< 2^25 + 2^9`).
//! - [`to_bytes`](FieldElement2625x4::to_bytes), [`eq`](FieldElement2625x4::eq) and
//!   [`is_negative`](FieldElement2625x4::is_negative) take the canonical form: one parallel
//!   carry of the loose input (carries `≤ 1`: the value is then `< 2^255 + 2^231 < 2p`), then `p`
//!   subtracted once when the value is `≥ p`.
//!
//! The code is branch-free, but constant time is not a goal: verification handles public data
//! only.

use core::arch::x86_64::*;

use super::super::fixed_base::FieldArith;
use crate::sigverify::lanes::LaneField;

/// Runs `$body` once per listed index, with `$i` a `usize` constant: straight-line code where
/// LLVM would keep a `for` loop (it does not fully unroll `mul`'s 100 products), and with it the
/// limbs in memory and the index arithmetic at run time.
macro_rules! unroll {
    ($i:ident in [$($v:literal),*] $body:block) => {
        $({
            const $i: usize = $v;
            $body
        })*
    };
}

/// Limb `i`'s bit offset: `⌈25.5·i⌉`.
const OFFSETS: [u32; 10] = [0, 26, 51, 77, 102, 128, 153, 179, 204, 230];
/// `4p`'s limbs: `4·(2^26 − 19)`, then `4·(2^25 − 1)` and `4·(2^26 − 1)` alternately.
const P4_LIMBS: [u64; 10] = {
    let mut l = [0u64; 10];
    let mut i = 0;
    while i < 10 {
        l[i] = 4 * ((1 << width(i)) - 1);
        i += 1;
    }
    l[0] -= 4 * 18;
    l
};

/// Limb `i`'s width: 26 bits for even `i`, 25 for odd.
const fn width(i: usize) -> u32 {
    26 - (i % 2) as u32
}

/// Whether the product of limbs `i` and `j` lies past 2^255 (`i + j ≥ 10`), folded back ×19.
const fn wraps(i: usize, j: usize) -> bool {
    i + j >= 10
}

/// Whether limbs `i` and `j` are both odd: their weights `2^⌈25.5i⌉·2^⌈25.5j⌉` are then
/// `2^(⌈25.5(i + j)⌉ − 1)`, one bit short of their column's, so the product counts twice.
const fn both_odd(i: usize, j: usize) -> bool {
    i % 2 == 1 && j % 2 == 1
}

/// Whether `square` takes the product of limbs `i` and `j` (`i ≤ j`; `j < i` is the same one).
const fn upper(i: usize, j: usize) -> bool {
    i <= j
}

/// The radix-2^25.5 limbs of the low 255 bits of `bytes` (little-endian): every limb `< 2^w_i`.
/// The top bit is ignored, as curve25519-dalek ignores it.
pub(crate) fn limbs_from_bytes(bytes: &[u8; 32]) -> [u64; 10] {
    let w: [u64; 4] = core::array::from_fn(|k| {
        u64::from_le_bytes(
            bytes[8 * k..8 * k + 8]
                .try_into()
                .expect("8 bytes inside 32"),
        )
    });
    core::array::from_fn(|i| {
        let (word, shift) = ((OFFSETS[i] / 64) as usize, OFFSETS[i] % 64);
        let mut bits = w[word] >> shift;
        // A limb straddling two words takes the next word's low bits.
        if shift + width(i) > 64 {
            bits |= w[word + 1] << (64 - shift);
        }
        bits & ((1 << width(i)) - 1)
    })
}

/// Four elements of GF(2^255 − 19), one per 64-bit lane; see the module docs for the bounds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FieldElement2625x4 {
    pub(crate) limbs: [__m256i; 10],
}

/// `x` in every lane.
#[inline]
#[target_feature(enable = "avx2")]
fn splat(x: u64) -> __m256i {
    _mm256_set1_epi64x(x as i64)
}

/// Loads four u64 lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn load(lanes: &[u64; 4]) -> __m256i {
    // SAFETY: `lanes` is 32 readable bytes; the load is unaligned.
    unsafe { _mm256_loadu_si256(lanes.as_ptr().cast()) }
}

/// Stores four u64 lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn store(v: __m256i) -> [u64; 4] {
    let mut out = [0u64; 4];
    // SAFETY: `out` is 32 writable bytes; the store is unaligned.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), v) };
    out
}

/// `v >> w_i`: the carry out of limb `i` (`i` is a constant wherever this inlines).
#[inline]
#[target_feature(enable = "avx2")]
fn carry_out(v: __m256i, i: usize) -> __m256i {
    if i % 2 == 1 {
        _mm256_srli_epi64::<25>(v)
    } else {
        _mm256_srli_epi64::<26>(v)
    }
}

/// `v`'s low `w_i` bits.
#[inline]
#[target_feature(enable = "avx2")]
fn low_bits(v: __m256i, i: usize) -> __m256i {
    _mm256_and_si256(v, splat((1 << width(i)) - 1))
}

/// One parallel carry: limb `i` keeps its low `w_i` bits and takes limb `i − 1`'s carry, limb 0
/// 19 times limb 9's. Limbs `< 2^(w_i + 3)` (carries `≤ 7`) end `< 2^w_i + 7`, limb 0
/// `< 2^26 + 133`; the value is unchanged modulo p.
#[inline]
#[target_feature(enable = "avx2")]
fn carry(mut l: [__m256i; 10]) -> FieldElement2625x4 {
    let mut c = [_mm256_setzero_si256(); 10];
    unroll!(I in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] {
        c[I] = carry_out(l[I], I);
        l[I] = low_bits(l[I], I);
    });
    l[0] = _mm256_add_epi64(l[0], _mm256_mul_epu32(c[9], splat(19)));
    unroll!(I in [1, 2, 3, 4, 5, 6, 7, 8, 9] {
        l[I] = _mm256_add_epi64(l[I], c[I - 1]);
    });
    FieldElement2625x4 { limbs: l }
}

/// Carries ten product columns (column `k` of weight `2^⌈25.5·k⌉` after the ×19 folds; every
/// column `< 2^63`, column 9 `< 2^57`) into a reduced element, on ref10's interleaved chain.
#[inline]
#[target_feature(enable = "avx2")]
fn carry_columns(mut h: [__m256i; 10]) -> FieldElement2625x4 {
    #[inline]
    #[target_feature(enable = "avx2")]
    fn step(h: &mut [__m256i; 10], i: usize) {
        let c = carry_out(h[i], i);
        h[i] = low_bits(h[i], i);
        h[i + 1] = _mm256_add_epi64(h[i + 1], c);
    }
    // Two chains at once, 0 → 4 and 4 → 8; every carry is < 2^37, so limb 4 (masked, then
    // plus limb 3's carry) and limb 8 carry again below 2^12.
    unroll!(I in [0, 1, 2, 3, 4] {
        step(&mut h, I);
        step(&mut h, I + 4);
    });
    // Column 9 (< 2^57, plus limb 8's small carry) carries < 2^32: one vpmuludq takes it ×19.
    let c = carry_out(h[9], 9);
    h[9] = low_bits(h[9], 9);
    h[0] = _mm256_add_epi64(h[0], _mm256_mul_epu32(c, splat(19)));
    // Limb 0 < 2^26 + 19·2^31.4 < 2^26 + 2^35.7 carries < 2^10 into limb 1.
    step(&mut h, 0);
    FieldElement2625x4 { limbs: h }
}

impl FieldElement2625x4 {
    /// The element with limbs `x` (which the caller keeps loose) in every lane.
    ///
    /// # Safety
    /// The CPU must support AVX2 ([`super::available`]).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn splat_limbs(x: [u64; 10]) -> FieldElement2625x4 {
        FieldElement2625x4 {
            limbs: x.map(|l| splat(l)),
        }
    }

    /// 0 in every lane.
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn zero() -> FieldElement2625x4 {
        FieldElement2625x4 {
            limbs: [_mm256_setzero_si256(); 10],
        }
    }

    /// 1 in every lane.
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn one() -> FieldElement2625x4 {
        let mut limbs = [_mm256_setzero_si256(); 10];
        limbs[0] = splat(1);
        FieldElement2625x4 { limbs }
    }

    /// Lane `j` gets the limbs `lanes[j]`, which the caller keeps loose (below `2^(w_i + 1)`).
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn from_lanes(lanes: &[[u64; 10]; 4]) -> FieldElement2625x4 {
        FieldElement2625x4 {
            limbs: core::array::from_fn(|i| load(&lanes.map(|l| l[i]))),
        }
    }

    #[cfg(test)]
    /// The limbs of every lane, as they are (not reduced).
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn to_lanes(self) -> [[u64; 10]; 4] {
        let limbs = self.limbs.map(|v| store(v));
        core::array::from_fn(|j| core::array::from_fn(|i| limbs[i][j]))
    }

    /// Lane `j` is the low 255 bits of `bytes[j]` (little-endian), read modulo p as
    /// curve25519-dalek reads them: the top bit is ignored and a value `≥ p` is accepted. Every
    /// limb is `< 2^w_i` (so reduced).
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn from_bytes(bytes: &[[u8; 32]; 4]) -> FieldElement2625x4 {
        // SAFETY: the caller vouched for the CPU features; every limb is below 2^w_i.
        unsafe { FieldElement2625x4::from_lanes(&bytes.map(|b| limbs_from_bytes(&b))) }
    }

    /// The canonical limbs: the value fully reduced below p, every limb `< 2^w_i`; `self`
    /// loose.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn canonical(&self) -> [__m256i; 10] {
        // Loose limbs carry at most 1 each (limb 0 takes at most 19): the value is then
        // < 2^255 + 2^231 < 2p, so subtracting p once when it is ≥ p makes it canonical.
        let mut l = carry(self.limbs).limbs;
        // q = 1 exactly when value + 19 ≥ 2^255: the carry out of limb 9 of value + 19,
        // rippled without storing the sum.
        let mut q = carry_out(_mm256_add_epi64(l[0], splat(19)), 0);
        for (i, &limb) in l.iter().enumerate().skip(1) {
            q = carry_out(_mm256_add_epi64(limb, q), i);
        }
        // value − p = value + 19q − q·2^255: add 19q, ripple, drop bit 255 (limb 9's carry).
        l[0] = _mm256_add_epi64(l[0], _mm256_mul_epu32(q, splat(19)));
        for i in 0..9 {
            let c = carry_out(l[i], i);
            l[i] = low_bits(l[i], i);
            l[i + 1] = _mm256_add_epi64(l[i + 1], c);
        }
        l[9] = low_bits(l[9], 9);
        l
    }

    /// The canonical encoding of every lane: the value fully reduced below p, 32 bytes
    /// little-endian, top bit clear; `self` loose.
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn to_bytes(self) -> [[u8; 32]; 4] {
        let l = self.canonical();
        let or = |a, b| _mm256_or_si256(a, b);
        // Limbs 2 (bits 51–76) and 7 (bits 179–203) straddle words; the shifts left drop what
        // overflows a word, the shifts right bring it into the next.
        let words = [
            or(
                or(l[0], _mm256_slli_epi64::<26>(l[1])),
                _mm256_slli_epi64::<51>(l[2]),
            ),
            or(
                or(_mm256_srli_epi64::<13>(l[2]), _mm256_slli_epi64::<13>(l[3])),
                _mm256_slli_epi64::<38>(l[4]),
            ),
            or(
                or(l[5], _mm256_slli_epi64::<25>(l[6])),
                _mm256_slli_epi64::<51>(l[7]),
            ),
            or(
                or(_mm256_srli_epi64::<13>(l[7]), _mm256_slli_epi64::<12>(l[8])),
                _mm256_slli_epi64::<38>(l[9]),
            ),
        ]
        .map(|v| store(v));
        let mut out = [[0u8; 32]; 4];
        for (j, lane) in out.iter_mut().enumerate() {
            for (k, word) in words.iter().enumerate() {
                lane[8 * k..8 * k + 8].copy_from_slice(&word[j].to_le_bytes());
            }
        }
        out
    }

    /// The lanes (bit `j` for lane `j`) where `self` and `rhs` are equal modulo p (both loose).
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn eq(&self, rhs: &FieldElement2625x4) -> u8 {
        let (a, b) = (self.canonical(), rhs.canonical());
        let all = (0..10).fold(_mm256_set1_epi64x(-1), |acc, i| {
            _mm256_and_si256(acc, _mm256_cmpeq_epi64(a[i], b[i]))
        });
        // One sign bit per 64-bit lane.
        _mm256_movemask_pd(_mm256_castsi256_pd(all)) as u8
    }

    /// The lanes whose canonical value is odd ("negative" in RFC 8032's sign convention);
    /// `self` loose.
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn is_negative(&self) -> u8 {
        // The low bit moved to the sign bit of each lane.
        let low = _mm256_slli_epi64::<63>(self.canonical()[0]);
        _mm256_movemask_pd(_mm256_castsi256_pd(low)) as u8
    }

    /// Lane by lane, `a` where `mask` has the lane's bit, `b` elsewhere (bounds are kept).
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn select(
        mask: u8,
        a: &FieldElement2625x4,
        b: &FieldElement2625x4,
    ) -> FieldElement2625x4 {
        // Lane j all ones where mask bit j is set.
        let bits = _mm256_set_epi64x(8, 4, 2, 1);
        let lanes = _mm256_cmpeq_epi64(_mm256_and_si256(splat(u64::from(mask)), bits), bits);
        FieldElement2625x4 {
            limbs: core::array::from_fn(|i| _mm256_blendv_epi8(b.limbs[i], a.limbs[i], lanes)),
        }
    }

    /// `self + rhs`, reduced; both loose.
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn add(&self, rhs: &FieldElement2625x4) -> FieldElement2625x4 {
        // Every sum < 2^(w_i + 2).
        carry(core::array::from_fn(|i| {
            _mm256_add_epi64(self.limbs[i], rhs.limbs[i])
        }))
    }

    /// `self − rhs`, reduced; both loose.
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn sub(&self, rhs: &FieldElement2625x4) -> FieldElement2625x4 {
        // (self + 4p) − rhs limb by limb: every limb of 4p is ≥ 2^(w_i + 1) > rhs's, every
        // result < 2^(w_i + 1) + 2^(w_i + 2) < 2^(w_i + 3).
        carry(core::array::from_fn(|i| {
            let biased = _mm256_add_epi64(self.limbs[i], splat(P4_LIMBS[i]));
            _mm256_sub_epi64(biased, rhs.limbs[i])
        }))
    }

    /// `−self`, reduced; `self` loose.
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn neg(&self) -> FieldElement2625x4 {
        // 4p − self limb by limb, as `sub` from 0.
        carry(core::array::from_fn(|i| {
            _mm256_sub_epi64(splat(P4_LIMBS[i]), self.limbs[i])
        }))
    }

    /// `self · rhs`, reduced; both loose. ref10's `fe_mul`: 100 products, 19 times `rhs`'s limb
    /// where `i + j ≥ 10` wraps past 2^255, doubled where both limbs are odd.
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn mul(&self, rhs: &FieldElement2625x4) -> FieldElement2625x4 {
        let (a, b) = (&self.limbs, &rhs.limbs);
        // 19·b_j < 2^31.25 for j ≥ 1; 2·a_i < 2^27 for odd i.
        let (mut b19, mut a2) = (*b, *a);
        unroll!(J in [1, 2, 3, 4, 5, 6, 7, 8, 9] {
            b19[J] = _mm256_mul_epu32(b[J], splat(19));
        });
        unroll!(I in [1, 3, 5, 7, 9] {
            a2[I] = _mm256_add_epi64(a[I], a[I]);
        });
        let mut h = [_mm256_setzero_si256(); 10];
        unroll!(I in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] {
            unroll!(J in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] {
                let x = if both_odd(I, J) { a2[I] } else { a[I] };
                let y = if wraps(I, J) { b19[J] } else { b[J] };
                let k = (I + J) % 10;
                h[k] = _mm256_add_epi64(h[k], _mm256_mul_epu32(x, y));
            });
        });
        carry_columns(h)
    }

    /// `self²`, reduced; `self` loose. ref10's `fe_sq`: 55 products instead of 100, the cross
    /// products once, doubled.
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn square(&self) -> FieldElement2625x4 {
        let a = &self.limbs;
        // 2·a_i < 2^28; 19·a_j < 2^31.25 (used for even j ≥ 6), 38·a_j < 2^31.25 (odd j ≥ 5).
        let (mut a2, mut a19, mut a38) = (*a, *a, *a);
        unroll!(I in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] {
            a2[I] = _mm256_add_epi64(a[I], a[I]);
        });
        unroll!(J in [6, 8] {
            a19[J] = _mm256_mul_epu32(a[J], splat(19));
        });
        unroll!(J in [5, 7, 9] {
            a38[J] = _mm256_mul_epu32(a[J], splat(38));
        });
        let mut h = [_mm256_setzero_si256(); 10];
        unroll!(I in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] {
            unroll!(J in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] {
                if upper(I, J) {
                    // The product's factor: 2 for a cross product (i < j), 2 for odd × odd, 19
                    // past 2^255; split between the two factors so that both stay below 2^32.
                    let (cross, odd) = (I != J, both_odd(I, J));
                    let (x, y) = match (cross, odd, wraps(I, J)) {
                        (true, true, true) => (a2[I], a38[J]),               // 76
                        (true, true, false) => (a2[I], a2[J]),               // 4
                        (true, false, true) if J % 2 == 1 => (a[I], a38[J]), // 38: even i
                        (true, false, true) => (a2[I], a19[J]),              // 38
                        (true, false, false) => (a2[I], a[J]),               // 2
                        (false, true, true) => (a[I], a38[J]),               // 38
                        (false, true, false) => (a[I], a2[J]),               // 2
                        (false, false, true) => (a[I], a19[J]),              // 19
                        (false, false, false) => (a[I], a[J]),               // 1
                    };
                    let k = (I + J) % 10;
                    h[k] = _mm256_add_epi64(h[k], _mm256_mul_epu32(x, y));
                }
            });
        });
        carry_columns(h)
    }
}

// SAFETY: a caller of these methods must guarantee that the CPU supports AVX2
// ([`super::available`]), all the lanes' operations need; so guaranteed, each is sound on any
// loose input and returns a reduced (so loose) output, so any output feeds any input, as the
// shared formulas need.
unsafe impl FieldArith for FieldElement2625x4 {
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn add(&self, rhs: &FieldElement2625x4) -> FieldElement2625x4 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement2625x4::add(self, rhs) }
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn sub(&self, rhs: &FieldElement2625x4) -> FieldElement2625x4 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement2625x4::sub(self, rhs) }
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn mul(&self, rhs: &FieldElement2625x4) -> FieldElement2625x4 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement2625x4::mul(self, rhs) }
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn square(&self) -> FieldElement2625x4 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement2625x4::square(self) }
    }
}

// SAFETY: as for `FieldArith` above: a caller guarantees AVX2; every method is sound on loose
// inputs and returns reduced (so loose) outputs; `gather` reads only what its caller vouches
// for.
unsafe impl LaneField<4> for FieldElement2625x4 {
    const SLOT: usize = 1;
    const WORDS: usize = 10;

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn zero() -> FieldElement2625x4 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement2625x4::zero() }
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn one() -> FieldElement2625x4 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement2625x4::one() }
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn splat(value: &[u8; 32]) -> FieldElement2625x4 {
        // SAFETY: the caller vouched for the CPU features; the limbs are below 2^w_i.
        unsafe { FieldElement2625x4::splat_limbs(limbs_from_bytes(value)) }
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn from_bytes(bytes: &[[u8; 32]; 4]) -> FieldElement2625x4 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement2625x4::from_bytes(bytes) }
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn to_bytes(&self) -> [[u8; 32]; 4] {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement2625x4::to_bytes(*self) }
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn neg(&self) -> FieldElement2625x4 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement2625x4::neg(self) }
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn eq(&self, rhs: &FieldElement2625x4) -> u8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement2625x4::eq(self, rhs) }
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn is_negative(&self) -> u8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement2625x4::is_negative(self) }
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn select(
        mask: u8,
        a: &FieldElement2625x4,
        b: &FieldElement2625x4,
    ) -> FieldElement2625x4 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement2625x4::select(mask, a, b) }
    }
    fn words(encoding: &[u8; 32], out: &mut [u64]) {
        out[..10].copy_from_slice(&limbs_from_bytes(encoding));
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn store_interleaved(&self, out: &mut [u64]) {
        let out = &mut out[..10 * 4];
        for (i, limb) in self.limbs.iter().enumerate() {
            // SAFETY: `out[4i..4i + 4]` is 32 writable bytes (checked above); unaligned store.
            unsafe { _mm256_storeu_si256(out[4 * i..].as_mut_ptr().cast(), *limb) };
        }
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn gather(base: *const u64, offsets: &[i64; 4], stride: usize) -> FieldElement2625x4 {
        // SAFETY: 32 readable bytes; the load is unaligned.
        let offsets = unsafe { _mm256_loadu_si256(offsets.as_ptr().cast()) };
        FieldElement2625x4 {
            // SAFETY: the caller keeps every address inside a live table.
            limbs: core::array::from_fn(|i| unsafe {
                _mm256_i64gather_epi64::<8>(base.wrapping_add(i * stride).cast(), offsets)
            }),
        }
    }
}
