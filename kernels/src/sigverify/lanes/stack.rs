//! Where the AVX2 verifier's stack sits in its page, made independent of its callers.
//!
//! The AVX2 lanes verifier spills field elements to its stack throughout (ten `__m256i` limbs
//! per element, sixteen registers), and on the Zen 3 guest where `make run` is measured its rate
//! depends on the page offset of that stack (its address modulo 4096): `tandem run`, as fast as
//! it goes (user signatures the bottleneck), gave 20.7–25.2 K UED transactions/s with the
//! verifier's stack at offsets 3840–4095 and 29.9–37.9 K at 1280–1535, alternating run by run on
//! two builds whose code is laid out differently (`docs/measurements/issue-10.md`, "A swing from
//! code layout alone").
//! `perf annotate` puts the loss on a few stores to one spill slot of the field multiply — a
//! stall of the memory pipeline that depends on where the stack is, not on where the code is
//! (likely a conflict with data at a fixed page offset, such as the base point's tables).
//!
//! That offset is set by the frames of every caller down to the verifier — the engine's stages,
//! code that has nothing to do with verification — so an unrelated change used to swing the
//! user-signature rate by 12–32 % (bisected to a change off this path). [`at_page_offset`] takes
//! the callers' share away: it descends through small frames (at most a page of stack) until its
//! own frame is at [`AVX2_PAGE_OFFSET`] (within [`WINDOW`] bytes), and runs the verifier there; the
//! verifier's frames below it are at a distance that only the kernels' code sets. What the other
//! side of the conflict is placed by (the heap, say) is not fixed here: runs of one build still
//! spread by ±15 % (`docs/measurements/issue-10.md`). The offset was chosen by sweeping all sixteen
//! 256-byte windows of the page on that machine; a change to the verifier's own frames can move the
//! best one, so such a change is measured again: set the constant to each multiple of 256 and
//! alternate `tandem run` between the builds. The IFMA verifier is not moved: it could not be
//! measured here.

use std::hint::black_box;

/// The page offset the AVX2 verifier runs at (the start of a window of [`WINDOW`] bytes).
pub(crate) const AVX2_PAGE_OFFSET: usize = 1280;

/// How far past the offset a descent may stop: more than one descending frame, so no window is
/// stepped over.
pub(crate) const WINDOW: usize = 256;

/// Bytes of one page.
const PAGE: usize = 4096;

/// Runs `f` from a frame whose page offset lies in `[offset, offset + WINDOW)` (`offset <
/// 4096`), and returns that frame's page offset.
pub(crate) fn at_page_offset(offset: usize, f: &mut dyn FnMut()) -> usize {
    debug_assert!(offset < PAGE, "a page offset");
    descend(offset, 0, f)
}

/// One frame of the descent: runs `f` here if this frame is in the window, else one deeper.
#[inline(never)]
fn descend(offset: usize, depth: usize, f: &mut dyn FnMut()) -> usize {
    // A frame of a known, small size: the buffer is live across the call below.
    let mut frame = [0u8; 64];
    black_box(&mut frame);
    let here = frame.as_ptr() as usize % PAGE;
    // A page's worth of frames always reaches the window (each is smaller than `WINDOW`); the
    // depth bound only guards against a build whose frames would not be.
    debug_assert!(depth <= PAGE / 64, "a descent of more than a page");
    let at = if (here + PAGE - offset) % PAGE < WINDOW || depth > PAGE / 64 {
        f();
        here
    } else {
        descend(offset, depth + 1, f)
    };
    black_box(&mut frame);
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `at_page_offset(offset, …)` called `extra` frames (of 200 bytes and more) deeper than
    /// the test: where it ran its closure, and how many times.
    #[inline(never)]
    fn called_deeper(extra: usize, offset: usize) -> (usize, usize) {
        if extra == 0 {
            let mut runs = 0;
            let at = at_page_offset(offset, &mut || runs += 1);
            return (at, runs);
        }
        let mut frame = [0u8; 200];
        black_box(&mut frame);
        let r = called_deeper(extra - 1, offset);
        black_box(&mut frame);
        r
    }

    #[test]
    fn the_verifier_runs_in_its_window_whatever_its_callers_frames() {
        for offset in (0..PAGE)
            .step_by(WINDOW / 2)
            .chain([AVX2_PAGE_OFFSET, PAGE - 1])
        {
            for extra in 0..24 {
                let (at, runs) = called_deeper(extra, offset);
                assert_eq!(runs, 1, "the closure runs once");
                let past = (at + PAGE - offset) % PAGE;
                assert!(
                    past < WINDOW,
                    "offset {offset}, {extra} frames deeper: ran {past} past it"
                );
            }
        }
    }
}
