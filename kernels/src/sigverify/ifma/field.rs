//! Eight elements of GF(2^255 − 19) at once, in radix 2^52 on AVX-512 IFMA.
//!
//! # Representation
//!
//! A [`FieldElement52x8`] is five `__m512i` limbs; lane `j` of limb `i` is `l[i]` of field
//! element `j`, whose value is `Σ l[i]·2^(52·i)` (mod p). Five 52-bit limbs hold 260 bits, so
//! `2^260 ≡ 2^5·19 = 608` folds the top of a product back, and `2^255 ≡ 19` the top of a limb 4.
//! The representation is not unique; only [`to_bytes`](FieldElement52x8::to_bytes) is canonical.
//!
//! # Limb bounds
//!
//! `vpmadd52luq`/`vpmadd52huq` read only the low 52 bits of each factor, so a multiplication
//! input must have **every limb `< 2^52`** ("tight"); a larger limb would be silently cut.
//!
//! - Every operation that returns an element returns it **reduced**: limbs 0–3 `< 2^52`, limb 4
//!   `< 2^48` (value `< 2^256`). Reduced implies tight, so any output feeds any input.
//! - [`add`](FieldElement52x8::add), [`sub`](FieldElement52x8::sub),
//!   [`neg`](FieldElement52x8::neg), [`mul`](FieldElement52x8::mul),
//!   [`square`](FieldElement52x8::square), [`to_bytes`](FieldElement52x8::to_bytes) and
//!   [`eq`](FieldElement52x8::eq) accept tight inputs (every limb `< 2^52`, value up to
//!   `2^260 − 1`, not necessarily reduced). Unlike the scalar radix-2^51 field, `add` carries:
//!   radix 2^52 leaves no headroom for an uncarried sum to enter a multiplication.
//! - `sub` adds `64p` limb by limb before subtracting; `64p`'s smallest limb is limb 4's,
//!   `64·(2^47 − 1) = 2^53 − 64 ≥ 2^52`, so any tight subtrahend stays non-negative.
//! - `mul` and `square` sum at most nine 52-bit half-products per column (`< 2^56`), fold the
//!   columns above 2^260 with `×608` (again through IFMA, after splitting each column at bit 52),
//!   and carry; every intermediate stays below `2^63`.
//! - The carry (`reduce`) accepts limbs `< 2^63`: it first folds limb 4's bits above 2^255 into
//!   limb 0 (`×19`), then ripples limb 0 → 4 once, so limb 4 (masked to 47 bits before it
//!   receives the last carry) ends `< 2^47 + 2^12`.
//!
//! The code is branch-free, but constant time is not a goal: verification handles public data
//! only.

use core::arch::x86_64::*;

use super::super::fixed_base::FieldArith;
use super::super::lanes::LaneField;

/// `2^52 − 1`.
const MASK52: u64 = (1 << 52) - 1;
/// `2^47 − 1`: limb 4's bits below 2^255.
const MASK47: u64 = (1 << 47) - 1;
/// p's limbs in radix 2^52.
const P_LIMBS: [u64; 5] = [MASK52 - 18, MASK52, MASK52, MASK52, MASK47];

/// The radix-2^52 limbs of the low 255 bits of `bytes` (little-endian): limbs 0–3 `< 2^52`,
/// limb 4 `< 2^47`. The top bit is ignored, as curve25519-dalek ignores it.
pub(crate) fn limbs_from_bytes(bytes: &[u8; 32]) -> [u64; 5] {
    let w: [u64; 4] = core::array::from_fn(|k| {
        u64::from_le_bytes(
            bytes[8 * k..8 * k + 8]
                .try_into()
                .expect("8 bytes inside 32"),
        )
    });
    [
        w[0] & MASK52,
        (w[0] >> 52 | w[1] << 12) & MASK52,
        (w[1] >> 40 | w[2] << 24) & MASK52,
        (w[2] >> 28 | w[3] << 36) & MASK52,
        w[3] >> 16 & MASK47,
    ]
}

/// Eight elements of GF(2^255 − 19), one per 64-bit lane; see the module docs for the bounds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FieldElement52x8 {
    pub(crate) limbs: [__m512i; 5],
}

/// `x` in every lane.
#[inline]
#[target_feature(enable = "avx512f")]
fn splat(x: u64) -> __m512i {
    _mm512_set1_epi64(x as i64)
}

/// Loads eight u64 lanes.
#[inline]
#[target_feature(enable = "avx512f")]
fn load(lanes: &[u64; 8]) -> __m512i {
    // SAFETY: `lanes` is 64 readable bytes; the load is unaligned.
    unsafe { _mm512_loadu_si512(lanes.as_ptr().cast()) }
}

/// Stores eight u64 lanes.
#[inline]
#[target_feature(enable = "avx512f")]
fn store(v: __m512i) -> [u64; 8] {
    let mut out = [0u64; 8];
    // SAFETY: `out` is 64 writable bytes; the store is unaligned.
    unsafe { _mm512_storeu_si512(out.as_mut_ptr().cast(), v) };
    out
}

/// Limbs `< 2^63` carried into a reduced element (limbs 0–3 `< 2^52`, limb 4 `< 2^47 + 2^12`),
/// the value unchanged modulo p.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn reduce(l: [__m512i; 5]) -> FieldElement52x8 {
    let [mut l0, l1, l2, l3, mut l4] = l;
    let m47 = splat(MASK47);
    // Limb 4's bits from 2^255 up (< 2^17) come back as ×19 in limb 0 (< 2^63 + 2^22).
    let c = _mm512_srli_epi64::<47>(l4);
    l4 = _mm512_and_si512(l4, m47);
    l0 = _mm512_madd52lo_epu64(l0, c, splat(19));
    // One ripple: every carry is < 2^12 + 1, and limb 4 (< 2^47) absorbs the last one.
    FieldElement52x8 {
        limbs: ripple([l0, l1, l2, l3, l4]),
    }
}

/// Carries limbs 0 → 1 → 2 → 3 → 4, leaving limbs 0–3 `< 2^52` and limb 4 unmasked; every
/// limb plus its incoming carry must stay below 2^64.
#[inline]
#[target_feature(enable = "avx512f")]
fn ripple(mut l: [__m512i; 5]) -> [__m512i; 5] {
    let m52 = splat(MASK52);
    for i in 0..4 {
        let c = _mm512_srli_epi64::<52>(l[i]);
        l[i] = _mm512_and_si512(l[i], m52);
        l[i + 1] = _mm512_add_epi64(l[i + 1], c);
    }
    l
}

/// Folds the ten product columns `z[k]` (weight `2^(52·k)`, each `< 2^56`; `z[9] < 2^52`) into
/// a reduced element: `2^260 ≡ 608`.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn fold_and_reduce(mut z: [__m512i; 10]) -> FieldElement52x8 {
    let (m52, k608) = (splat(MASK52), splat(608));
    for k in 5..9 {
        // z[k] = h·2^52 + l: 608·l lands on columns k − 5 (low half) and k − 4 (high half),
        // 608·h (< 2^14) on column k − 4.
        let h = _mm512_srli_epi64::<52>(z[k]);
        let l = _mm512_and_si512(z[k], m52);
        z[k - 5] = _mm512_madd52lo_epu64(z[k - 5], l, k608);
        z[k - 4] = _mm512_madd52hi_epu64(z[k - 4], l, k608);
        z[k - 4] = _mm512_madd52lo_epu64(z[k - 4], h, k608);
    }
    // z[9] is a single high half (< 2^52): its low half of ×608 lands on column 4, its high
    // half (< 2^10) at 2^260 again, so ×608 once more on column 0.
    z[4] = _mm512_madd52lo_epu64(z[4], z[9], k608);
    let t = _mm512_madd52hi_epu64(_mm512_setzero_si512(), z[9], k608);
    z[0] = _mm512_madd52lo_epu64(z[0], t, k608);
    // Every low column is now < 9·2^52 + 2^52 + 2^24 < 2^56.
    reduce([z[0], z[1], z[2], z[3], z[4]])
}

impl FieldElement52x8 {
    /// The element `x` (limbs `< 2^52`, so tight) in every lane.
    ///
    /// # Safety
    /// The CPU must support AVX-512F and AVX-512 IFMA ([`super::available`]).
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn splat_limbs(x: [u64; 5]) -> FieldElement52x8 {
        FieldElement52x8 {
            limbs: x.map(|l| splat(l)),
        }
    }

    /// 0 in every lane.
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn zero() -> FieldElement52x8 {
        FieldElement52x8 {
            limbs: [_mm512_setzero_si512(); 5],
        }
    }

    /// 1 in every lane.
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn one() -> FieldElement52x8 {
        let mut limbs = [_mm512_setzero_si512(); 5];
        limbs[0] = splat(1);
        FieldElement52x8 { limbs }
    }

    /// Lane `j` gets the limbs `lanes[j]`, which the caller keeps below the bounds of the
    /// functions it passes the result to (`< 2^52` for every one of them).
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn from_lanes(lanes: &[[u64; 5]; 8]) -> FieldElement52x8 {
        FieldElement52x8 {
            limbs: core::array::from_fn(|i| load(&lanes.map(|l| l[i]))),
        }
    }

    #[cfg(test)]
    /// The limbs of every lane, as they are (not reduced).
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn to_lanes(self) -> [[u64; 5]; 8] {
        let limbs = self.limbs.map(|v| store(v));
        core::array::from_fn(|j| core::array::from_fn(|i| limbs[i][j]))
    }

    /// Lane `j` is the low 255 bits of `bytes[j]` (little-endian), read modulo p as
    /// curve25519-dalek reads them: the top bit is ignored and a value `≥ p` is accepted. The
    /// result is reduced (limb 4 `< 2^47`).
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn from_bytes(bytes: &[[u8; 32]; 8]) -> FieldElement52x8 {
        // SAFETY: the caller vouched for the CPU features; every limb is below 2^52.
        unsafe { FieldElement52x8::from_lanes(&bytes.map(|b| limbs_from_bytes(&b))) }
    }

    /// The canonical limbs: the value fully reduced below p (limbs 0–3 `< 2^52`, limb 4
    /// `< 2^47`); `self` tight.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn canonical(&self) -> [__m512i; 5] {
        // Reduced, the value is < 2^255 + 2^220 < 2p: subtract p once when it is ≥ p.
        let [l0, l1, l2, l3, l4] = reduce(self.limbs).limbs;
        // q = 1 exactly when value + 19 ≥ 2^255.
        let mut q = _mm512_srli_epi64::<52>(_mm512_add_epi64(l0, splat(19)));
        q = _mm512_srli_epi64::<52>(_mm512_add_epi64(l1, q));
        q = _mm512_srli_epi64::<52>(_mm512_add_epi64(l2, q));
        q = _mm512_srli_epi64::<52>(_mm512_add_epi64(l3, q));
        q = _mm512_srli_epi64::<47>(_mm512_add_epi64(l4, q));
        // value − p = value + 19q − q·2^255: add 19q, carry, drop bit 255.
        let l0 = _mm512_madd52lo_epu64(l0, q, splat(19));
        let mut l = ripple([l0, l1, l2, l3, l4]);
        l[4] = _mm512_and_si512(l[4], splat(MASK47));
        l
    }

    /// The canonical encoding of every lane: the value fully reduced below p, 32 bytes
    /// little-endian, top bit clear; `self` tight.
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn to_bytes(self) -> [[u8; 32]; 8] {
        let [l0, l1, l2, l3, l4] = self.canonical();
        let or = |a, b| _mm512_or_si512(a, b);
        let words = [
            or(l0, _mm512_slli_epi64::<52>(l1)),
            or(_mm512_srli_epi64::<12>(l1), _mm512_slli_epi64::<40>(l2)),
            or(_mm512_srli_epi64::<24>(l2), _mm512_slli_epi64::<28>(l3)),
            or(_mm512_srli_epi64::<36>(l3), _mm512_slli_epi64::<16>(l4)),
        ]
        .map(|v| store(v));
        let mut out = [[0u8; 32]; 8];
        for (j, lane) in out.iter_mut().enumerate() {
            for (k, word) in words.iter().enumerate() {
                lane[8 * k..8 * k + 8].copy_from_slice(&word[j].to_le_bytes());
            }
        }
        out
    }

    /// The lanes where `self` and `rhs` are equal modulo p (both tight).
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn eq(&self, rhs: &FieldElement52x8) -> __mmask8 {
        let (a, b) = (self.canonical(), rhs.canonical());
        (0..5).fold(0xff, |mask, i| mask & _mm512_cmpeq_epi64_mask(a[i], b[i]))
    }

    /// The lanes whose canonical value is odd ("negative" in RFC 8032's sign convention);
    /// `self` tight.
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn is_negative(&self) -> __mmask8 {
        _mm512_test_epi64_mask(self.canonical()[0], splat(1))
    }

    /// Lane by lane, `a` where `mask` has the lane's bit, `b` elsewhere (bounds are kept).
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn select(
        mask: __mmask8,
        a: &FieldElement52x8,
        b: &FieldElement52x8,
    ) -> FieldElement52x8 {
        FieldElement52x8 {
            limbs: core::array::from_fn(|i| _mm512_mask_blend_epi64(mask, b.limbs[i], a.limbs[i])),
        }
    }

    /// `self + rhs`, reduced; both tight.
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn add(&self, rhs: &FieldElement52x8) -> FieldElement52x8 {
        reduce(core::array::from_fn(|i| {
            _mm512_add_epi64(self.limbs[i], rhs.limbs[i])
        }))
    }

    /// `self − rhs`, reduced; both tight.
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn sub(&self, rhs: &FieldElement52x8) -> FieldElement52x8 {
        // (self + 64p) − rhs limb by limb: every limb of 64p is ≥ 2^53 − 64 > rhs's, every
        // sum < 2^59.
        reduce(core::array::from_fn(|i| {
            let biased = _mm512_add_epi64(self.limbs[i], splat(P_LIMBS[i] << 6));
            _mm512_sub_epi64(biased, rhs.limbs[i])
        }))
    }

    /// `−self`, reduced; `self` tight.
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn neg(&self) -> FieldElement52x8 {
        // SAFETY: the caller vouched for the CPU features; 0 is tight.
        unsafe { FieldElement52x8::zero().sub(self) }
    }

    /// `self · rhs`, reduced; both tight (every limb `< 2^52`: IFMA reads no more).
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn mul(&self, rhs: &FieldElement52x8) -> FieldElement52x8 {
        let (a, b) = (&self.limbs, &rhs.limbs);
        // Column i + j takes the low half of a[i]·b[j], column i + j + 1 its high half.
        let mut z = [_mm512_setzero_si512(); 10];
        for i in 0..5 {
            for j in 0..5 {
                z[i + j] = _mm512_madd52lo_epu64(z[i + j], a[i], b[j]);
                z[i + j + 1] = _mm512_madd52hi_epu64(z[i + j + 1], a[i], b[j]);
            }
        }
        fold_and_reduce(z)
    }

    /// `self²`, reduced; `self` tight. 15 products instead of 25: the cross products once,
    /// doubled.
    ///
    /// # Safety
    /// As [`splat_limbs`](Self::splat_limbs).
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) unsafe fn square(&self) -> FieldElement52x8 {
        let a = &self.limbs;
        let mut z = [_mm512_setzero_si512(); 10];
        for i in 0..5 {
            for j in i + 1..5 {
                z[i + j] = _mm512_madd52lo_epu64(z[i + j], a[i], a[j]);
                z[i + j + 1] = _mm512_madd52hi_epu64(z[i + j + 1], a[i], a[j]);
            }
        }
        for (k, zk) in z.iter_mut().enumerate() {
            *zk = _mm512_add_epi64(*zk, *zk);
            if k % 2 == 0 {
                *zk = _mm512_madd52lo_epu64(*zk, a[k / 2], a[k / 2]);
            } else {
                *zk = _mm512_madd52hi_epu64(*zk, a[k / 2], a[k / 2]);
            }
        }
        fold_and_reduce(z)
    }
}

// SAFETY: a caller of these methods must guarantee that the CPU supports AVX-512F and AVX-512
// IFMA ([`super::available`]), all the lanes' operations need; so guaranteed, each is sound on
// any tight input and returns a reduced (so tight) output, so any output feeds any input, as
// the shared formulas need.
unsafe impl FieldArith for FieldElement52x8 {
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn add(&self, rhs: &FieldElement52x8) -> FieldElement52x8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement52x8::add(self, rhs) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn sub(&self, rhs: &FieldElement52x8) -> FieldElement52x8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement52x8::sub(self, rhs) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn mul(&self, rhs: &FieldElement52x8) -> FieldElement52x8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement52x8::mul(self, rhs) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn square(&self) -> FieldElement52x8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement52x8::square(self) }
    }
}

// SAFETY: as for `FieldArith` above: a caller guarantees AVX-512F and AVX-512 IFMA; every
// method is sound on tight inputs and returns reduced (so tight) outputs; `gather` reads only
// what its caller vouches for.
unsafe impl LaneField<8> for FieldElement52x8 {
    const SLOT: usize = 0;
    const WORDS: usize = 5;

    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn zero() -> FieldElement52x8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement52x8::zero() }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn one() -> FieldElement52x8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement52x8::one() }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn splat(value: &[u8; 32]) -> FieldElement52x8 {
        // SAFETY: the caller vouched for the CPU features; the limbs are below 2^52.
        unsafe { FieldElement52x8::splat_limbs(limbs_from_bytes(value)) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn from_bytes(bytes: &[[u8; 32]; 8]) -> FieldElement52x8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement52x8::from_bytes(bytes) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn to_bytes(&self) -> [[u8; 32]; 8] {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement52x8::to_bytes(*self) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn neg(&self) -> FieldElement52x8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement52x8::neg(self) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn eq(&self, rhs: &FieldElement52x8) -> u8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement52x8::eq(self, rhs) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn is_negative(&self) -> u8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement52x8::is_negative(self) }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn select(mask: u8, a: &FieldElement52x8, b: &FieldElement52x8) -> FieldElement52x8 {
        // SAFETY: the caller vouched for the CPU features.
        unsafe { FieldElement52x8::select(mask, a, b) }
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
    unsafe fn gather(base: *const u64, offsets: &[i64; 8], stride: usize) -> FieldElement52x8 {
        // SAFETY: 64 readable bytes; the load is unaligned.
        let offsets = unsafe { _mm512_loadu_si512(offsets.as_ptr().cast()) };
        FieldElement52x8 {
            // SAFETY: the caller keeps every address inside a live table.
            limbs: core::array::from_fn(|i| unsafe {
                _mm512_i64gather_epi64::<8>(offsets, base.wrapping_add(i * stride).cast())
            }),
        }
    }
}
