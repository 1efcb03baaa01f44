//! The SIMD lane kernels against their scalar twin, compression by compression: random chaining
//! values, blocks, 64-bit counters (high word included), lengths and flags, in both modes
//! (chaining and full output) and with a shared broadcast block.

use tandem_kernels::Platform;
use tandem_kernels::hash::compress::{
    CompressLanes, LaneCv, LaneInput, LaneOutput, compress_lanes_scalar,
};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[allow(clippy::needless_range_loop)] // lanes index parallel arrays
fn check<const N: usize>(platform: Platform, kernel: CompressLanes<N>) {
    let mut rng = Rng(N as u64);
    for round in 0..200 {
        let blocks: Vec<[u8; 64]> = (0..N)
            .map(|_| std::array::from_fn(|_| rng.next() as u8))
            .collect();
        let mut input = LaneInput::<N>::uniform(&blocks[0]);
        for l in 0..N {
            input.blocks[l] = &blocks[l];
            input.set_counter(l, rng.next());
            input.block_len[l] = (rng.next() % 65) as u32;
            input.flags[l] = (rng.next() % 32) as u32;
        }
        input.same_block = round % 4 == 0;
        let cv: LaneCv<N> = std::array::from_fn(|_| std::array::from_fn(|_| rng.next() as u32));

        let (mut expect_cv, mut got_cv) = (cv, cv);
        // SAFETY: the scalar kernel needs nothing; `kernel` belongs to a supported platform.
        unsafe {
            compress_lanes_scalar(&mut expect_cv, &input, None);
            kernel(&mut got_cv, &input, None);
        }
        assert_eq!(
            got_cv, expect_cv,
            "{platform}: chaining mode, round {round}"
        );

        let (mut expect, mut got) = (LaneOutput::<N>::default(), LaneOutput::<N>::default());
        let (mut cv_a, mut cv_b) = (cv, cv);
        // SAFETY: as above.
        unsafe {
            compress_lanes_scalar(&mut cv_a, &input, Some(&mut expect));
            kernel(&mut cv_b, &input, Some(&mut got));
        }
        assert_eq!(got, expect, "{platform}: output mode, round {round}");
        assert_eq!(
            cv_b, cv,
            "{platform}: output mode must leave the chaining values alone"
        );
    }
}

#[test]
fn simd_lane_kernels_match_the_scalar_twin() {
    let mut tested = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        use tandem_kernels::hash::{avx2, avx512};
        if Platform::Avx2.is_supported() {
            check::<8>(Platform::Avx2, avx2::compress_lanes);
            tested.push("avx2");
        }
        if Platform::Avx512.is_supported() {
            check::<16>(Platform::Avx512, avx512::compress_lanes);
            tested.push("avx512");
        }
    }
    eprintln!("lane kernels tested: {tested:?}");
}
