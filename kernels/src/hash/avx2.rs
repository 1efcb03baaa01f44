//! AVX2 lane kernel: 8 BLAKE3 compressions per call, one message per 32-bit lane.
//!
//! Pre-conditions: the CPU has AVX2 ([`Platform::Avx2`](crate::Platform) checked it).
//! Layout: `v[w]` holds state word `w` of all 8 lanes; each lane's 64-byte block is loaded as two
//! 32-byte rows, and the two 8×8 word matrices are transposed in registers.

#![allow(clippy::needless_range_loop)] // lane code indexes parallel per-word and per-lane arrays
#![allow(unsafe_op_in_unsafe_fn)]

use core::arch::x86_64::*;

use super::compress::{LaneCv, LaneInput, LaneOutput, lane_compress};

/// Lanes per call.
pub const LANES: usize = 8;

#[inline(always)]
unsafe fn add(a: __m256i, b: __m256i) -> __m256i {
    _mm256_add_epi32(a, b)
}
#[inline(always)]
unsafe fn xor(a: __m256i, b: __m256i) -> __m256i {
    _mm256_xor_si256(a, b)
}
#[inline(always)]
unsafe fn rot16(a: __m256i) -> __m256i {
    let mask = _mm256_setr_epi8(
        2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9,
        14, 15, 12, 13,
    );
    _mm256_shuffle_epi8(a, mask)
}
#[inline(always)]
unsafe fn rot12(a: __m256i) -> __m256i {
    _mm256_or_si256(_mm256_srli_epi32::<12>(a), _mm256_slli_epi32::<20>(a))
}
#[inline(always)]
unsafe fn rot8(a: __m256i) -> __m256i {
    let mask = _mm256_setr_epi8(
        1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8,
        13, 14, 15, 12,
    );
    _mm256_shuffle_epi8(a, mask)
}
#[inline(always)]
unsafe fn rot7(a: __m256i) -> __m256i {
    _mm256_or_si256(_mm256_srli_epi32::<7>(a), _mm256_slli_epi32::<25>(a))
}
#[inline(always)]
unsafe fn store(p: *mut u32, v: __m256i) {
    _mm256_storeu_si256(p.cast(), v)
}
#[inline(always)]
unsafe fn splat(x: u32) -> __m256i {
    _mm256_set1_epi32(x as i32)
}
#[inline(always)]
unsafe fn load(p: *const u32) -> __m256i {
    _mm256_loadu_si256(p.cast())
}

/// Transposes 8 vectors of 8 words.
#[inline(always)]
pub(crate) unsafe fn transpose8(v: &mut [__m256i; 8]) {
    let mut t = [_mm256_setzero_si256(); 8];
    for i in 0..4 {
        t[2 * i] = _mm256_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
    }
    let mut u = [_mm256_setzero_si256(); 8];
    for q in 0..2 {
        let (a0, a2, b0, b2) = (t[4 * q], t[4 * q + 1], t[4 * q + 2], t[4 * q + 3]);
        u[4 * q] = _mm256_unpacklo_epi64(a0, b0);
        u[4 * q + 1] = _mm256_unpackhi_epi64(a0, b0);
        u[4 * q + 2] = _mm256_unpacklo_epi64(a2, b2);
        u[4 * q + 3] = _mm256_unpackhi_epi64(a2, b2);
    }
    for k in 0..4 {
        v[k] = _mm256_permute2x128_si256::<0x20>(u[k], u[4 + k]);
        v[4 + k] = _mm256_permute2x128_si256::<0x31>(u[k], u[4 + k]);
    }
}

/// 8 BLAKE3 compressions (see [`CompressLanes`](super::compress::CompressLanes)).
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn compress_lanes(
    cv: &mut LaneCv<LANES>,
    input: &LaneInput<'_, LANES>,
    out: Option<&mut LaneOutput<LANES>>,
) {
    let mut m = [_mm256_setzero_si256(); 16];
    if input.same_block {
        let words = input.blocks[0].as_ptr().cast::<u32>();
        for (w, word) in m.iter_mut().enumerate() {
            *word = splat(words.add(w).read_unaligned());
        }
    } else {
        let mut lo_rows = [_mm256_setzero_si256(); 8];
        let mut hi_rows = [_mm256_setzero_si256(); 8];
        for l in 0..LANES {
            let p = input.blocks[l].as_ptr().cast::<u32>();
            lo_rows[l] = load(p);
            hi_rows[l] = load(p.add(8));
        }
        transpose8(&mut lo_rows);
        transpose8(&mut hi_rows);
        m[..8].copy_from_slice(&lo_rows);
        m[8..].copy_from_slice(&hi_rows);
    }
    lane_compress!(
        cv,
        input,
        out,
        m,
        _mm256_setzero_si256(),
        load,
        store,
        splat,
        add,
        xor,
        rot16,
        rot12,
        rot8,
        rot7
    );
}
