//! BLAKE3's compression function, in the two shapes tandem uses.
//!
//! - [`compress`]: one compression, scalar. It merges parent nodes and is the reference the lane
//!   kernels are tested against.
//! - The **lanes** form: `N` independent compressions at once, in a transposed layout where
//!   vector `w` holds word `w` of every lane (so lane `l` of every vector belongs to one
//!   message). [`LaneInput`] and [`LaneOutput`] are the contract every lane kernel (the scalar
//!   twin here, `compress_lanes` in `avx2.rs` and `avx512.rs`) implements, and [`LaneKernel`]
//!   is the only way to run one from outside this crate: it exists only where the CPU has the
//!   kernel's instruction set, so no safe code can execute AVX-512 on a CPU without it.
//!
//!   - in: per lane, the chaining value `cv[w][l]` (8 words), a pointer to a 64-byte block,
//!     the 64-bit counter, the block length and the flags;
//!   - out: `out[w][l]`, all 16 output words of BLAKE3's compression: words 0..8 are the next
//!     chaining value, words 8..16 complete the 64-byte extended output of a root block.
//!
//!   Lanes are independent: a lane whose result the caller ignores may hold any block.

/// BLAKE3's initialisation vector (SHA-256's).
pub const IV: [u32; 8] = [
    0x6A09_E667,
    0xBB67_AE85,
    0x3C6E_F372,
    0xA54F_F53A,
    0x510E_527F,
    0x9B05_688C,
    0x1F83_D9AB,
    0x5BE0_CD19,
];

/// Bytes in a block.
pub const BLOCK_LEN: usize = 64;
/// Bytes in a chunk.
pub const CHUNK_LEN: usize = 1024;

/// Flag: the first block of a chunk.
pub const CHUNK_START: u32 = 1 << 0;
/// Flag: the last block of a chunk.
pub const CHUNK_END: u32 = 1 << 1;
/// Flag: a parent node.
pub const PARENT: u32 = 1 << 2;
/// Flag: the root node (set only when producing output).
pub const ROOT: u32 = 1 << 3;

/// The message word order of each of the 7 rounds (BLAKE3's permutation applied r times).
pub const MSG_SCHEDULE: [[usize; 16]; 7] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8],
    [3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1],
    [10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6],
    [12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4],
    [9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7],
    [11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13],
];

/// The 16 little-endian words of a block.
#[inline(always)]
pub fn block_words(block: &[u8; BLOCK_LEN]) -> [u32; 16] {
    std::array::from_fn(|i| u32::from_le_bytes(block[4 * i..4 * i + 4].try_into().unwrap()))
}

#[inline(always)]
fn g(v: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize, x: u32, y: u32) {
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
    v[d] = (v[d] ^ v[a]).rotate_right(16);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(12);
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
    v[d] = (v[d] ^ v[a]).rotate_right(8);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(7);
}

/// One BLAKE3 compression; returns all 16 output words.
pub fn compress(
    cv: &[u32; 8],
    block: &[u32; 16],
    counter: u64,
    block_len: u32,
    flags: u32,
) -> [u32; 16] {
    let mut v = [
        cv[0],
        cv[1],
        cv[2],
        cv[3],
        cv[4],
        cv[5],
        cv[6],
        cv[7],
        IV[0],
        IV[1],
        IV[2],
        IV[3],
        counter as u32,
        (counter >> 32) as u32,
        block_len,
        flags,
    ];
    for s in &MSG_SCHEDULE {
        g(&mut v, 0, 4, 8, 12, block[s[0]], block[s[1]]);
        g(&mut v, 1, 5, 9, 13, block[s[2]], block[s[3]]);
        g(&mut v, 2, 6, 10, 14, block[s[4]], block[s[5]]);
        g(&mut v, 3, 7, 11, 15, block[s[6]], block[s[7]]);
        g(&mut v, 0, 5, 10, 15, block[s[8]], block[s[9]]);
        g(&mut v, 1, 6, 11, 12, block[s[10]], block[s[11]]);
        g(&mut v, 2, 7, 8, 13, block[s[12]], block[s[13]]);
        g(&mut v, 3, 4, 9, 14, block[s[14]], block[s[15]]);
    }
    let mut out = [0u32; 16];
    for i in 0..8 {
        out[i] = v[i] ^ v[i + 8];
        out[i + 8] = v[i + 8] ^ cv[i];
    }
    out
}

/// The inputs of `N` compressions in lanes (see the module docs), besides the chaining values.
#[derive(Clone, Debug)]
pub struct LaneInput<'a, const N: usize> {
    /// Lane `l`'s 64-byte block.
    pub blocks: [&'a [u8; BLOCK_LEN]; N],
    /// Every lane has the same block (`blocks[0]`): the kernel broadcasts its words instead of
    /// transposing 16 copies.
    pub same_block: bool,
    /// Low 32 bits of lane `l`'s counter (chunk index, or output block index for root output).
    pub counter_lo: [u32; N],
    /// High 32 bits of lane `l`'s counter.
    pub counter_hi: [u32; N],
    /// Lane `l`'s block length (64, or less for the last block of a message).
    pub block_len: [u32; N],
    /// Lane `l`'s flags.
    pub flags: [u32; N],
}

impl<'a, const N: usize> LaneInput<'a, N> {
    /// Every lane compresses `block` with counter 0, length 64 and no flags.
    pub fn uniform(block: &'a [u8; BLOCK_LEN]) -> Self {
        LaneInput {
            blocks: [block; N],
            same_block: false,
            counter_lo: [0; N],
            counter_hi: [0; N],
            block_len: [BLOCK_LEN as u32; N],
            flags: [0; N],
        }
    }

    /// Sets lane `l`'s counter.
    #[inline(always)]
    pub fn set_counter(&mut self, l: usize, counter: u64) {
        self.counter_lo[l] = counter as u32;
        self.counter_hi[l] = (counter >> 32) as u32;
    }
}

/// `out[w][l]`: output word `w` of lane `l`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct LaneOutput<const N: usize>(pub [[u32; N]; 16]);

impl<const N: usize> Default for LaneOutput<N> {
    fn default() -> Self {
        LaneOutput([[0; N]; 16])
    }
}

/// Chaining values of `N` lanes, transposed: `cv[w][l]`.
pub type LaneCv<const N: usize> = [[u32; N]; 8];

/// A lane kernel: `N` compressions of the chaining values `cv`. With `out = None` (chaining), the
/// kernel replaces `cv` with output words 0..8; with `Some(out)` (root output), it writes all 16
/// words to `out` and leaves `cv` alone. `unsafe` because the SIMD kernels require their CPU
/// feature: crate-private, and held only by a [`LaneKernel`], whose constructors check it.
pub(crate) type CompressLanes<const N: usize> =
    unsafe fn(&mut LaneCv<N>, &LaneInput<'_, N>, Option<&mut LaneOutput<N>>);

/// A lane kernel this CPU can run: the token that makes the lane driver ([`super::lanes`]) safe
/// to call. Only its constructors make one, and [`LaneKernel::avx2`] and
/// [`LaneKernel::avx512`] return `None` where the CPU lacks the instruction set (the check
/// [`Platform::is_supported`](crate::Platform::is_supported) makes), so holding a `LaneKernel` is
/// the proof that running it is sound.
///
/// ```
/// use tandem_kernels::hash::compress::LaneKernel;
/// use tandem_kernels::hash::lanes;
///
/// let inputs: [&[u8]; 1] = [b"abc"];
/// let mut out = [[0u8; 32]];
/// # #[cfg(target_arch = "x86_64")]
/// match LaneKernel::avx512() {
///     Some(kernel) => lanes::hash_many(kernel, &inputs, &mut out),
///     None => lanes::hash_many(LaneKernel::<16>::scalar(), &inputs, &mut out),
/// }
/// # #[cfg(not(target_arch = "x86_64"))]
/// # lanes::hash_many(LaneKernel::<16>::scalar(), &inputs, &mut out);
/// assert_eq!(&out[0], blake3::hash(b"abc").as_bytes());
/// ```
///
/// Safe code cannot name the raw SIMD kernels …
///
/// ```compile_fail,E0603
/// use tandem_kernels::hash::avx512::compress_lanes;
/// ```
///
/// … nor wrap a kernel of its own choosing (the field is private):
///
/// ```compile_fail,E0451
/// use tandem_kernels::hash::compress::{LaneCv, LaneInput, LaneKernel, LaneOutput};
///
/// unsafe fn mine(_: &mut LaneCv<16>, _: &LaneInput<'_, 16>, _: Option<&mut LaneOutput<16>>) {}
/// let kernel = LaneKernel::<16> { compress: mine };
/// ```
#[derive(Clone, Copy)]
pub struct LaneKernel<const N: usize> {
    compress: CompressLanes<N>,
}

impl<const N: usize> std::fmt::Debug for LaneKernel<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LaneKernel<{N}>")
    }
}

impl<const N: usize> LaneKernel<N> {
    /// The scalar twin ([`compress`] per lane): runs anywhere; the reference in tests.
    pub fn scalar() -> LaneKernel<N> {
        // No lanes would be no progress: the batch loops step by N.
        const { assert!(N > 0, "a lane kernel has at least one lane") };
        LaneKernel {
            compress: compress_lanes_scalar::<N>,
        }
    }

    /// `N` compressions (see the module docs for the layout): with `out = None` the chaining
    /// values `cv` are replaced by output words 0..8; with `Some(out)`, all 16 output words go to
    /// `out` and `cv` is left alone.
    #[inline(always)]
    pub fn compress(
        self,
        cv: &mut LaneCv<N>,
        input: &LaneInput<'_, N>,
        out: Option<&mut LaneOutput<N>>,
    ) {
        // SAFETY: the constructors put a SIMD kernel in a LaneKernel only after checking that
        // the CPU has its instruction set; the kernels read nothing but `cv`, `input`'s arrays
        // and its 64-byte blocks, and write nothing but `cv` or `out`, all borrowed whole.
        unsafe { (self.compress)(cv, input, out) }
    }
}

#[cfg(target_arch = "x86_64")]
impl LaneKernel<8> {
    /// The AVX2 kernel, where the CPU has AVX2.
    pub fn avx2() -> Option<LaneKernel<8>> {
        crate::Platform::Avx2.is_supported().then_some(LaneKernel {
            compress: super::avx2::compress_lanes,
        })
    }
}

#[cfg(target_arch = "x86_64")]
impl LaneKernel<16> {
    /// The AVX-512 kernel, where the CPU has AVX-512F.
    pub fn avx512() -> Option<LaneKernel<16>> {
        crate::Platform::Avx512
            .is_supported()
            .then_some(LaneKernel {
                compress: super::avx512::compress_lanes,
            })
    }
}

/// The lane kernel in plain Rust: `N` scalar compressions, the reference twin of the SIMD
/// kernels ([`LaneKernel::scalar`]).
#[allow(clippy::needless_range_loop)] // indexes per-word and per-lane arrays in parallel
fn compress_lanes_scalar<const N: usize>(
    cv: &mut LaneCv<N>,
    input: &LaneInput<'_, N>,
    mut out: Option<&mut LaneOutput<N>>,
) {
    for l in 0..N {
        let lane_cv: [u32; 8] = std::array::from_fn(|w| cv[w][l]);
        let block = if input.same_block {
            input.blocks[0]
        } else {
            input.blocks[l]
        };
        let counter = input.counter_lo[l] as u64 | (input.counter_hi[l] as u64) << 32;
        let o = compress(
            &lane_cv,
            &block_words(block),
            counter,
            input.block_len[l],
            input.flags[l],
        );
        match out.as_deref_mut() {
            Some(out) => {
                for (w, word) in o.iter().enumerate() {
                    out.0[w][l] = *word;
                }
            }
            None => {
                for w in 0..8 {
                    cv[w][l] = o[w];
                }
            }
        }
    }
}

/// The 7 rounds of BLAKE3 over a transposed state `$v` (16 vectors) and message `$m` (16
/// vectors), with the vector operations of one instruction set. Shared by the SIMD kernels so
/// that the round structure is written once; each kernel supplies its add, xor and rotations.
macro_rules! blake3_rounds {
    ($v:ident, $m:ident, $add:ident, $xor:ident, $rot16:ident, $rot12:ident, $rot8:ident, $rot7:ident) => {
        macro_rules! g {
            ($a:expr, $b:expr, $c:expr, $d:expr, $x:expr, $y:expr) => {
                $v[$a] = $add($add($v[$a], $v[$b]), $m[$x]);
                $v[$d] = $rot16($xor($v[$d], $v[$a]));
                $v[$c] = $add($v[$c], $v[$d]);
                $v[$b] = $rot12($xor($v[$b], $v[$c]));
                $v[$a] = $add($add($v[$a], $v[$b]), $m[$y]);
                $v[$d] = $rot8($xor($v[$d], $v[$a]));
                $v[$c] = $add($v[$c], $v[$d]);
                $v[$b] = $rot7($xor($v[$b], $v[$c]));
            };
        }
        // One round per line, with MSG_SCHEDULE's indices as literals: every index is a
        // constant, so there is no bounds check and the message can stay in registers.
        macro_rules! round {
            ($s0:literal, $s1:literal, $s2:literal, $s3:literal, $s4:literal, $s5:literal,
                     $s6:literal, $s7:literal, $s8:literal, $s9:literal, $s10:literal, $s11:literal,
                     $s12:literal, $s13:literal, $s14:literal, $s15:literal) => {
                g!(0, 4, 8, 12, $s0, $s1);
                g!(1, 5, 9, 13, $s2, $s3);
                g!(2, 6, 10, 14, $s4, $s5);
                g!(3, 7, 11, 15, $s6, $s7);
                g!(0, 5, 10, 15, $s8, $s9);
                g!(1, 6, 11, 12, $s10, $s11);
                g!(2, 7, 8, 13, $s12, $s13);
                g!(3, 4, 9, 14, $s14, $s15);
            };
        }
        round!(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        round!(2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8);
        round!(3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1);
        round!(10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6);
        round!(12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4);
        round!(9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7);
        round!(11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13);
    };
}
pub(crate) use blake3_rounds;

/// Everything of a lane kernel after its message vectors `$m` are loaded: load the chaining
/// values and per-lane words, run the rounds, and store the result in chaining or output mode
/// (see [`CompressLanes`]). Each kernel supplies its vector type's zero, loads, stores, broadcast
/// and round operations.
macro_rules! lane_compress {
    ($cv:ident, $input:ident, $out:ident, $m:ident, $zero:expr, $load:ident, $store:ident,
     $splat:ident, $add:ident, $xor:ident, $rot16:ident, $rot12:ident, $rot8:ident, $rot7:ident) => {{
        let iv = $crate::hash::compress::IV;
        let mut cv_in = [$zero; 8];
        for w in 0..8 {
            cv_in[w] = $load($cv[w].as_ptr());
        }
        let mut v = [
            cv_in[0],
            cv_in[1],
            cv_in[2],
            cv_in[3],
            cv_in[4],
            cv_in[5],
            cv_in[6],
            cv_in[7],
            $splat(iv[0]),
            $splat(iv[1]),
            $splat(iv[2]),
            $splat(iv[3]),
            $load($input.counter_lo.as_ptr()),
            $load($input.counter_hi.as_ptr()),
            $load($input.block_len.as_ptr()),
            $load($input.flags.as_ptr()),
        ];
        $crate::hash::compress::blake3_rounds!(v, $m, $add, $xor, $rot16, $rot12, $rot8, $rot7);
        match $out {
            None => {
                for i in 0..8 {
                    $store($cv[i].as_mut_ptr(), $xor(v[i], v[i + 8]));
                }
            }
            Some(out) => {
                for i in 0..8 {
                    $store(out.0[i].as_mut_ptr(), $xor(v[i], v[i + 8]));
                    $store(out.0[i + 8].as_mut_ptr(), $xor(v[i + 8], cv_in[i]));
                }
            }
        }
    }};
}
pub(crate) use lane_compress;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unrolled_rounds_use_the_schedule() {
        // blake3_rounds! spells MSG_SCHEDULE out as literals; check they agree.
        let text = include_str!("compress.rs");
        for row in MSG_SCHEDULE {
            let line = format!(
                "round!({});",
                row.iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            assert!(text.contains(&line), "missing {line}");
        }
    }

    #[test]
    fn schedule_is_the_permutation_applied_round_by_round() {
        const PERMUTATION: [usize; 16] = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
        for r in 1..7 {
            for i in 0..16 {
                assert_eq!(MSG_SCHEDULE[r][i], MSG_SCHEDULE[r - 1][PERMUTATION[i]]);
            }
        }
    }

    #[test]
    fn one_block_message_matches_the_blake3_crate() {
        // "abc": one chunk, one block: CHUNK_START | CHUNK_END | ROOT, counter 0.
        let mut block = [0u8; 64];
        block[..3].copy_from_slice(b"abc");
        let out = compress(
            &IV,
            &block_words(&block),
            0,
            3,
            CHUNK_START | CHUNK_END | ROOT,
        );
        let bytes: Vec<u8> = out[..8].iter().flat_map(|w| w.to_le_bytes()).collect();
        assert_eq!(bytes, blake3::hash(b"abc").as_bytes());
    }
}
