//! Every point operation of the lanes, on every lane field this CPU runs (AVX-512 IFMA's eight
//! lanes, AVX2's four), against curve25519-dalek's `EdwardsPoint`, lane by lane, over
//! deterministic pseudo-random lanes that mix classes: large-order points, mixed-order points
//! (plus torsion), the eight small-order points, encodings with a flipped sign bit, non-canonical
//! `y ≥ p` (with either sign bit) and random 32-byte strings (about half of which are no point).
//! A field the CPU lacks is skipped, said aloud.

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;

use super::LaneField;
use super::point::{D, D2, LanePoint, SQRT_M1};
use crate::sigverify::avx2::{self, field::FieldElement2625x4};
use crate::sigverify::field::FieldElement as Fe;
use crate::sigverify::ifma::{self, field::FieldElement52x8};
use crate::testing::SplitMix64;

use super::test_inputs::{Rng, encoding};

/// Runs the generic test `$body::<N, F>(rng)` on every lane field this CPU supports, each from
/// the same seed, and says which fields were skipped.
macro_rules! on_every_field {
    ($body:ident, $seed:expr) => {{
        if ifma::available() {
            // SAFETY: the CPU has AVX-512F and AVX-512 IFMA.
            unsafe { $body::<8, FieldElement52x8>(&mut Rng(SplitMix64($seed))) };
        } else {
            crate::say_skipped!(
                "AVX-512 IFMA not supported on this CPU: {} skipped for it",
                stringify!($body)
            );
        }
        if avx2::available() {
            // SAFETY: the CPU has AVX2.
            unsafe { $body::<4, FieldElement2625x4>(&mut Rng(SplitMix64($seed))) };
        } else {
            crate::say_skipped!(
                "AVX2 not supported on this CPU: {} skipped for it",
                stringify!($body)
            );
        }
    }};
}

/// A random point of large order, or of mixed order when `torsion` is set.
fn random_point(rng: &mut Rng, torsion: bool) -> EdwardsPoint {
    let mut wide = [0u8; 64];
    wide[..32].copy_from_slice(&rng.bytes());
    wide[32..].copy_from_slice(&rng.bytes());
    let p = EdwardsPoint::mul_base(&Scalar::from_bytes_mod_order_wide(&wide));
    if torsion {
        p + EIGHT_TORSION[rng.below(8) as usize]
    } else {
        p
    }
}

/// `p + k` for `k < 19` (so `< 2^255`): a non-canonical encoding of `y = k`.
fn non_canonical_y(k: u8) -> [u8; 32] {
    let mut b = [0xffu8; 32];
    b[0] = 0xed + k;
    b[31] = 0x7f;
    b
}

/// One lane's encoding, of a class drawn at random.
fn random_encoding(rng: &mut Rng) -> [u8; 32] {
    let mut b = match rng.below(6) {
        0 => random_point(rng, false).compress().to_bytes(),
        1 => random_point(rng, true).compress().to_bytes(),
        2 => EIGHT_TORSION[rng.below(8) as usize].compress().to_bytes(),
        3 => non_canonical_y(rng.below(19) as u8),
        4 => encoding(rng.below(4)), // y = 0, 1, 2, 3
        _ => return rng.bytes(),
    };
    // Either sign bit, for every class.
    b[31] ^= (rng.next() as u8) & 0x80;
    b
}

/// `N` points as lanes, through their canonical encodings.
///
/// # Safety
/// The CPU features of `F`.
unsafe fn lanes_of<const N: usize, F: LaneField<N>>(points: &[EdwardsPoint; N]) -> LanePoint<N, F> {
    // SAFETY: the caller vouched for the CPU features.
    let (p, valid) = unsafe { LanePoint::decompress(&points.map(|p| p.compress().to_bytes())) };
    assert_eq!(
        u32::from(valid),
        (1 << N) - 1,
        "canonical encodings of points decompress"
    );
    p
}

/// Asserts every lane of `got` encodes as `want[lane]` and satisfies `X·Y = T·Z`.
///
/// # Safety
/// The CPU features of `F`.
unsafe fn check<const N: usize, F: LaneField<N>>(
    what: &str,
    got: &LanePoint<N, F>,
    want: &[EdwardsPoint; N],
) {
    // SAFETY: the caller vouched for the CPU features.
    let (encoded, consistent) =
        unsafe { (got.compress(), got.x.mul(&got.y).eq(&got.t.mul(&got.z))) };
    assert_eq!(u32::from(consistent), (1 << N) - 1, "{what}: T·Z ≠ X·Y");
    for j in 0..N {
        assert_eq!(
            encoded[j],
            want[j].compress().to_bytes(),
            "{what}, lane {j} of {N}"
        );
    }
}

#[test]
fn constants_match_the_scalar_curve() {
    let d = Fe::from_u64(121_665)
        .neg()
        .mul(&Fe::from_u64(121_666).invert());
    assert_eq!(D, d.to_bytes());
    assert_eq!(D2, d.add(&d).to_bytes());
    assert_eq!(SQRT_M1, Fe::sqrt_minus_one().to_bytes());
}

#[test]
fn decompression_and_small_order_match_curve25519_dalek() {
    on_every_field!(decompression_and_small_order, 11);
}

/// # Safety
/// The CPU features of `F`.
unsafe fn decompression_and_small_order<const N: usize, F: LaneField<N>>(rng: &mut Rng) {
    let mut accepted = 0;
    let rounds = 12_000 / N;
    for round in 0..rounds {
        let e: [[u8; 32]; N] = core::array::from_fn(|_| random_encoding(rng));
        // SAFETY (the block): the caller vouched for the CPU features.
        let (p, valid) = unsafe { LanePoint::<N, F>::decompress(&e) };
        let theirs = e.map(|e| CompressedEdwardsY(e).decompress());
        // Invalid lanes hold the identity.
        let want = theirs.map(|t| t.unwrap_or_else(EdwardsPoint::identity));
        let small = unsafe {
            check(&format!("decompress, round {round}"), &p, &want);
            // Decompressed points have Z = 1: the check by encoding agrees with [8]P = O.
            assert_eq!(
                p.is_small_order_affine(),
                p.is_small_order(),
                "round {round}"
            );
            p.is_small_order()
        };
        for j in 0..N {
            let what = format!("round {round}, lane {j}, {:x?}", e[j]);
            assert_eq!(valid >> j & 1 == 1, theirs[j].is_some(), "valid, {what}");
            assert_eq!(
                small >> j & 1 == 1,
                want[j].is_small_order(),
                "small, {what}"
            );
            accepted += usize::from(theirs[j].is_some());
        }
    }
    assert!(
        (6000..11000).contains(&accepted),
        "{accepted} of 12000 decompressed"
    );
}

#[test]
fn every_edge_encoding_decompresses_as_curve25519_dalek() {
    on_every_field!(edge_encodings, 0);
}

/// # Safety
/// The CPU features of `F`.
unsafe fn edge_encodings<const N: usize, F: LaneField<N>>(_: &mut Rng) {
    // The small-order points, non-canonical y (p + k, k < 19), small y, each with both sign
    // bits, eight at a time.
    let mut edges: Vec<[u8; 32]> = EIGHT_TORSION.map(|p| p.compress().to_bytes()).to_vec();
    edges.extend((0..19).map(non_canonical_y));
    edges.extend((0..19).map(encoding));
    edges.push([0xff; 32]);
    let signed: Vec<[u8; 32]> = edges
        .iter()
        .flat_map(|&e| {
            let mut flipped = e;
            flipped[31] ^= 0x80;
            [e, flipped]
        })
        .collect();
    for chunk in signed.chunks(N) {
        let e: [[u8; 32]; N] = core::array::from_fn(|j| chunk[j % chunk.len()]);
        let theirs = e.map(|e| CompressedEdwardsY(e).decompress());
        // SAFETY: the caller vouched for the CPU features.
        let (valid, small) = unsafe {
            let (p, valid) = LanePoint::<N, F>::decompress(&e);
            check(
                "edge",
                &p,
                &theirs.map(|t| t.unwrap_or_else(EdwardsPoint::identity)),
            );
            assert_eq!(p.is_small_order_affine(), p.is_small_order(), "edge");
            (valid, p.is_small_order())
        };
        for j in 0..N {
            assert_eq!(valid >> j & 1 == 1, theirs[j].is_some(), "{:x?}", e[j]);
            if let Some(t) = theirs[j] {
                assert_eq!(small >> j & 1 == 1, t.is_small_order(), "{:x?}", e[j]);
            }
        }
    }
}

#[test]
fn group_operations_match_curve25519_dalek() {
    on_every_field!(group_operations, 12);
}

/// # Safety
/// The CPU features of `F`.
unsafe fn group_operations<const N: usize, F: LaneField<N>>(rng: &mut Rng) {
    for round in 0..4000 / N {
        // Per lane: anything, the same point (P + P), its negation (P + (−P) = identity), a
        // torsion point or the identity as Q.
        let p: [EdwardsPoint; N] = core::array::from_fn(|_| match rng.below(4) {
            0 => EIGHT_TORSION[rng.below(8) as usize],
            1 => random_point(rng, true),
            _ => random_point(rng, false),
        });
        let q: [EdwardsPoint; N] = core::array::from_fn(|j| match rng.below(6) {
            0 => p[j],
            1 => -p[j],
            2 => EIGHT_TORSION[rng.below(8) as usize],
            3 => EdwardsPoint::identity(),
            _ => {
                let torsion = rng.below(2) == 0;
                random_point(rng, torsion)
            }
        });
        let mask = rng.next() as u8;
        let what = |op: &str| format!("{op}, round {round}");
        // SAFETY: the caller vouched for the CPU features.
        unsafe {
            let (p8, q8) = (lanes_of::<N, F>(&p), lanes_of::<N, F>(&q));
            let sum = p8.add(&q8);
            check(&what("add"), &sum, &core::array::from_fn(|j| p[j] + q[j]));
            check(&what("double"), &p8.double(), &p.map(|p| p + p));
            check(&what("neg"), &p8.neg(), &p.map(|p| -p));
            check(
                &what("select"),
                &LanePoint::select(mask, &p8, &q8),
                &core::array::from_fn(|j| if mask >> j & 1 == 1 { p[j] } else { q[j] }),
            );
            // Outputs (Z ≠ 1) feed inputs: 2(P + Q) − Q, and [8](P + Q)'s order.
            let chained = sum.double().add(&q8.neg());
            let want: [EdwardsPoint; N] =
                core::array::from_fn(|j| (p[j] + q[j]) * Scalar::from(2u8) - q[j]);
            check(&what("chain"), &chained, &want);
            let small = sum.is_small_order();
            for j in 0..N {
                let want = (p[j] + q[j]).is_small_order();
                assert_eq!(
                    small >> j & 1 == 1,
                    want,
                    "{}, lane {j}",
                    what("is_small_order")
                );
            }
        }
    }
}

#[test]
fn identity_is_the_identity() {
    on_every_field!(identity, 0);
}

/// # Safety
/// The CPU features of `F`.
unsafe fn identity<const N: usize, F: LaneField<N>>(_: &mut Rng) {
    // SAFETY: the caller vouched for the CPU features.
    let (encoded, small) = unsafe {
        let id = LanePoint::<N, F>::identity();
        (id.compress(), id.is_small_order())
    };
    assert_eq!(encoded, [EdwardsPoint::identity().compress().to_bytes(); N]);
    assert_eq!(u32::from(small), (1 << N) - 1);
}
