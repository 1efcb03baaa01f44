//! AVX-512 lane kernel: 16 BLAKE3 compressions per call, one message per 32-bit lane.
//!
//! Pre-conditions: the CPU has AVX-512F ([`Platform::Avx512`](crate::Platform) checked it).
//! Layout: `v[w]` holds state word `w` of all 16 lanes; the 16 lanes' blocks are loaded as rows
//! and transposed in registers (a 16×16 transpose of 32-bit words), so lane `l` of `m[w]` is
//! word `w` of lane `l`'s block.

#![allow(clippy::needless_range_loop)] // lane code indexes parallel per-word and per-lane arrays
#![allow(unsafe_op_in_unsafe_fn)]

use core::arch::x86_64::*;

use super::compress::{BLOCK_LEN, LaneCv, LaneInput, LaneOutput, lane_compress};

/// Lanes per call.
pub const LANES: usize = 16;

#[inline(always)]
unsafe fn add(a: __m512i, b: __m512i) -> __m512i {
    _mm512_add_epi32(a, b)
}
#[inline(always)]
unsafe fn xor(a: __m512i, b: __m512i) -> __m512i {
    _mm512_xor_si512(a, b)
}
#[inline(always)]
unsafe fn rot16(a: __m512i) -> __m512i {
    _mm512_ror_epi32::<16>(a)
}
#[inline(always)]
unsafe fn rot12(a: __m512i) -> __m512i {
    _mm512_ror_epi32::<12>(a)
}
#[inline(always)]
unsafe fn rot8(a: __m512i) -> __m512i {
    _mm512_ror_epi32::<8>(a)
}
#[inline(always)]
unsafe fn rot7(a: __m512i) -> __m512i {
    _mm512_ror_epi32::<7>(a)
}
#[inline(always)]
unsafe fn store(p: *mut u32, v: __m512i) {
    _mm512_storeu_si512(p.cast(), v)
}
#[inline(always)]
unsafe fn splat(x: u32) -> __m512i {
    _mm512_set1_epi32(x as i32)
}
#[inline(always)]
unsafe fn load(p: *const u32) -> __m512i {
    _mm512_loadu_si512(p.cast())
}

/// Transposes 16 vectors of 16 words: afterwards `v[j]` lane `i` is what `v[i]` lane `j` was.
#[inline(always)]
pub(crate) unsafe fn transpose16(v: &mut [__m512i; 16]) {
    // Interleave 32-bit words of row pairs.
    let mut t = [_mm512_setzero_si512(); 16];
    for i in 0..8 {
        t[2 * i] = _mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
    }
    // Interleave 64-bit pairs of row quads.
    let mut u = [_mm512_setzero_si512(); 16];
    for q in 0..4 {
        let (a0, a2, b0, b2) = (t[4 * q], t[4 * q + 1], t[4 * q + 2], t[4 * q + 3]);
        u[4 * q] = _mm512_unpacklo_epi64(a0, b0);
        u[4 * q + 1] = _mm512_unpackhi_epi64(a0, b0);
        u[4 * q + 2] = _mm512_unpacklo_epi64(a2, b2);
        u[4 * q + 3] = _mm512_unpackhi_epi64(a2, b2);
    }
    // Now u[4q + k] holds, in each 128-bit quarter c, word (4c + k) of rows 4q..4q+4.
    // Gather 128-bit quarters: first pair quads (0,1) and (2,3), then the halves.
    let mut x = [_mm512_setzero_si512(); 16];
    for k in 0..4 {
        // 0x88 takes quarters 0,2 of each source; 0xdd takes quarters 1,3.
        x[k] = _mm512_shuffle_i32x4::<0x88>(u[k], u[4 + k]);
        x[4 + k] = _mm512_shuffle_i32x4::<0xdd>(u[k], u[4 + k]);
        x[8 + k] = _mm512_shuffle_i32x4::<0x88>(u[8 + k], u[12 + k]);
        x[12 + k] = _mm512_shuffle_i32x4::<0xdd>(u[8 + k], u[12 + k]);
    }
    for k in 0..4 {
        v[k] = _mm512_shuffle_i32x4::<0x88>(x[k], x[8 + k]);
        v[8 + k] = _mm512_shuffle_i32x4::<0xdd>(x[k], x[8 + k]);
        v[4 + k] = _mm512_shuffle_i32x4::<0x88>(x[4 + k], x[12 + k]);
        v[12 + k] = _mm512_shuffle_i32x4::<0xdd>(x[4 + k], x[12 + k]);
    }
}

/// 16 BLAKE3 compressions (see [`CompressLanes`](super::compress::CompressLanes)).
///
/// # Safety
/// The CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn compress_lanes(
    cv: &mut LaneCv<LANES>,
    input: &LaneInput<'_, LANES>,
    out: Option<&mut LaneOutput<LANES>>,
) {
    let mut m = [_mm512_setzero_si512(); 16];
    if input.same_block {
        let words = input.blocks[0].as_ptr().cast::<u32>();
        for (w, word) in m.iter_mut().enumerate() {
            *word = splat(words.add(w).read_unaligned());
        }
    } else {
        for (l, row) in m.iter_mut().enumerate() {
            *row = load(input.blocks[l].as_ptr().cast::<u32>());
        }
        const _: () = assert!(BLOCK_LEN == 64);
        transpose16(&mut m);
    }
    lane_compress!(
        cv,
        input,
        out,
        m,
        _mm512_setzero_si512(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Platform;

    #[test]
    fn transpose16_transposes() {
        if !Platform::Avx512.is_supported() {
            crate::say_skipped!("AVX-512 not supported on this CPU: transpose16 not tested here");
            return;
        }
        let mut rows = [[0u32; 16]; 16];
        for (i, row) in rows.iter_mut().enumerate() {
            for (j, x) in row.iter_mut().enumerate() {
                *x = (i * 16 + j) as u32;
            }
        }
        #[target_feature(enable = "avx512f")]
        unsafe fn run(rows: &[[u32; 16]; 16]) -> [[u32; 16]; 16] {
            let mut v = [_mm512_setzero_si512(); 16];
            for i in 0..16 {
                v[i] = load(rows[i].as_ptr());
            }
            transpose16(&mut v);
            let mut out = [[0u32; 16]; 16];
            for i in 0..16 {
                _mm512_storeu_si512(out[i].as_mut_ptr().cast(), v[i]);
            }
            out
        }
        // SAFETY: AVX-512F checked above.
        let out = unsafe { run(&rows) };
        for i in 0..16 {
            for j in 0..16 {
                assert_eq!(out[j][i], rows[i][j], "({i}, {j})");
            }
        }
    }
}
