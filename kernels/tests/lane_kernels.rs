//! The SIMD lane kernels against their scalar twin, compression by compression: random chaining
//! values, blocks, 64-bit counters (high word included), lengths and flags, in both modes
//! (chaining and full output) and with a shared broadcast block. The kernels are reached the way
//! any caller reaches them, through `LaneKernel`, which exists exactly where the CPU runs them.

use tandem_kernels::Platform;
use tandem_kernels::hash::compress::{LaneCv, LaneInput, LaneKernel, LaneOutput};
use tandem_kernels::testing::SplitMix64 as Rng;

#[allow(clippy::needless_range_loop)] // lanes index parallel arrays
fn check<const N: usize>(platform: Platform, kernel: LaneKernel<N>) {
    let scalar = LaneKernel::<N>::scalar();
    let mut rng = Rng(N as u64);
    for round in 0..200 {
        let blocks: Vec<[u8; 64]> = (0..N)
            .map(|_| std::array::from_fn(|_| rng.next_u64() as u8))
            .collect();
        let mut input = LaneInput::<N>::uniform(&blocks[0]);
        for l in 0..N {
            input.blocks[l] = &blocks[l];
            input.set_counter(l, rng.next_u64());
            input.block_len[l] = (rng.next_u64() % 65) as u32;
            input.flags[l] = (rng.next_u64() % 32) as u32;
        }
        input.same_block = round % 4 == 0;
        let cv: LaneCv<N> = std::array::from_fn(|_| std::array::from_fn(|_| rng.next_u64() as u32));

        let (mut expect_cv, mut got_cv) = (cv, cv);
        scalar.compress(&mut expect_cv, &input, None);
        kernel.compress(&mut got_cv, &input, None);
        assert_eq!(
            got_cv, expect_cv,
            "{platform}: chaining mode, round {round}"
        );

        let (mut expect, mut got) = (LaneOutput::<N>::default(), LaneOutput::<N>::default());
        let (mut cv_a, mut cv_b) = (cv, cv);
        scalar.compress(&mut cv_a, &input, Some(&mut expect));
        kernel.compress(&mut cv_b, &input, Some(&mut got));
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
        // The token exists exactly where the CPU has the instruction set.
        assert_eq!(LaneKernel::avx2().is_some(), Platform::Avx2.is_supported());
        assert_eq!(
            LaneKernel::avx512().is_some(),
            Platform::Avx512.is_supported()
        );
        if let Some(kernel) = LaneKernel::avx2() {
            check::<8>(Platform::Avx2, kernel);
            tested.push("avx2");
        }
        if let Some(kernel) = LaneKernel::avx512() {
            check::<16>(Platform::Avx512, kernel);
            tested.push("avx512");
        }
    }
    for (name, ran) in [("avx2", Platform::Avx2), ("avx512", Platform::Avx512)] {
        if !tested.contains(&name) {
            tandem_kernels::say_skipped!("skipped on {ran}: this CPU cannot run its lane kernel");
        }
    }
}
