//! Every IFMA point operation against curve25519-dalek's `EdwardsPoint`, lane by lane, over
//! deterministic pseudo-random lanes that mix classes: large-order points, mixed-order points
//! (plus torsion), the eight small-order points, encodings with a flipped sign bit, non-canonical
//! `y ≥ p` (with either sign bit) and random 32-byte strings (about half of which are no point).

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;

use super::super::point::{D, D2, EdwardsPoint52x8 as P8, SQRT_M1};
use super::{Fe, Fe8, Rng, encoding, limbs_of_bytes, skipped, start};

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

/// Decompresses with the IFMA code.
fn decompress(e: &[[u8; 32]; 8]) -> (P8, u8) {
    assert!(super::available());
    // SAFETY: available() checked the CPU.
    unsafe { P8::decompress(e) }
}

/// Eight points as IFMA lanes, through their canonical encodings.
fn lanes_of(points: &[EdwardsPoint; 8]) -> P8 {
    let (p, valid) = decompress(&points.map(|p| p.compress().to_bytes()));
    assert_eq!(valid, 0xff, "canonical encodings of points decompress");
    p
}

/// Asserts every lane of `got` encodes as `want[lane]` and satisfies `X·Y = T·Z`.
fn check(what: &str, got: &P8, want: &[EdwardsPoint; 8]) {
    assert!(super::available());
    // SAFETY: available() checked the CPU; the coordinates are reduced.
    let (encoded, consistent) =
        unsafe { (got.compress(), got.x.mul(&got.y).eq(&got.t.mul(&got.z))) };
    assert_eq!(consistent, 0xff, "{what}: T·Z ≠ X·Y");
    for j in 0..8 {
        assert_eq!(
            encoded[j],
            want[j].compress().to_bytes(),
            "{what}, lane {j}"
        );
    }
}

#[test]
fn constants_match_the_scalar_curve() {
    if skipped("constants_match_the_scalar_curve") {
        return;
    }
    let d = Fe::from_u64(121_665)
        .neg()
        .mul(&Fe::from_u64(121_666).invert());
    // SAFETY: available() checked the CPU.
    let (d8, d2_8, i8) = unsafe {
        (
            Fe8::splat_limbs(D).to_bytes(),
            Fe8::splat_limbs(D2).to_bytes(),
            Fe8::splat_limbs(SQRT_M1).to_bytes(),
        )
    };
    assert_eq!(d8, [d.to_bytes(); 8]);
    assert_eq!(d2_8, [d.add(&d).to_bytes(); 8]);
    assert_eq!(i8, [Fe::sqrt_minus_one().to_bytes(); 8]);
    assert_eq!(limbs_of_bytes(&d.to_bytes()), D);
}

#[test]
fn decompression_and_small_order_match_curve25519_dalek() {
    let Some((mut rng, _)) = start("decompression_and_small_order_match_curve25519_dalek", 11)
    else {
        return;
    };
    let mut accepted = 0;
    for round in 0..1500 {
        let e: [[u8; 32]; 8] = core::array::from_fn(|_| random_encoding(&mut rng));
        let (p, valid) = decompress(&e);
        let theirs = e.map(|e| CompressedEdwardsY(e).decompress());
        // Invalid lanes hold the identity.
        let want = theirs.map(|t| t.unwrap_or_else(EdwardsPoint::identity));
        check(&format!("decompress, round {round}"), &p, &want);
        // SAFETY: available() checked the CPU.
        let small = unsafe { p.is_small_order() };
        for j in 0..8 {
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
    if skipped("every_edge_encoding_decompresses_as_curve25519_dalek") {
        return;
    }
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
    for chunk in signed.chunks(8) {
        let e: [[u8; 32]; 8] = core::array::from_fn(|j| chunk[j % chunk.len()]);
        let (p, valid) = decompress(&e);
        let theirs = e.map(|e| CompressedEdwardsY(e).decompress());
        check(
            "edge",
            &p,
            &theirs.map(|t| t.unwrap_or_else(EdwardsPoint::identity)),
        );
        // SAFETY: available() checked the CPU.
        let small = unsafe { p.is_small_order() };
        for j in 0..8 {
            assert_eq!(valid >> j & 1 == 1, theirs[j].is_some(), "{:x?}", e[j]);
            if let Some(t) = theirs[j] {
                assert_eq!(small >> j & 1 == 1, t.is_small_order(), "{:x?}", e[j]);
            }
        }
    }
}

#[test]
fn group_operations_match_curve25519_dalek() {
    let Some((mut rng, _)) = start("group_operations_match_curve25519_dalek", 12) else {
        return;
    };
    for round in 0..500 {
        // Per lane: anything, the same point (P + P), its negation (P + (−P) = identity), a
        // torsion point or the identity as Q.
        let p: [EdwardsPoint; 8] = core::array::from_fn(|_| match rng.below(4) {
            0 => EIGHT_TORSION[rng.below(8) as usize],
            1 => random_point(&mut rng, true),
            _ => random_point(&mut rng, false),
        });
        let q: [EdwardsPoint; 8] = core::array::from_fn(|j| match rng.below(6) {
            0 => p[j],
            1 => -p[j],
            2 => EIGHT_TORSION[rng.below(8) as usize],
            3 => EdwardsPoint::identity(),
            _ => {
                let torsion = rng.below(2) == 0;
                random_point(&mut rng, torsion)
            }
        });
        let mask = rng.next() as u8;
        let (p8, q8) = (lanes_of(&p), lanes_of(&q));
        let what = |op: &str| format!("{op}, round {round}");
        // SAFETY: available() checked the CPU (in lanes_of); every coordinate is reduced.
        unsafe {
            let sum = p8.add(&q8);
            check(&what("add"), &sum, &core::array::from_fn(|j| p[j] + q[j]));
            check(&what("double"), &p8.double(), &p.map(|p| p + p));
            check(&what("neg"), &p8.neg(), &p.map(|p| -p));
            check(
                &what("select"),
                &P8::select(mask, &p8, &q8),
                &core::array::from_fn(|j| if mask >> j & 1 == 1 { p[j] } else { q[j] }),
            );
            // Outputs (Z ≠ 1) feed inputs: 2(P + Q) − Q, and [8](P + Q)'s order.
            let chained = sum.double().add(&q8.neg());
            let want: [EdwardsPoint; 8] =
                core::array::from_fn(|j| (p[j] + q[j]) * Scalar::from(2u8) - q[j]);
            check(&what("chain"), &chained, &want);
            let small = sum.is_small_order();
            for j in 0..8 {
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
    if skipped("identity_is_the_identity") {
        return;
    }
    // SAFETY: available() checked the CPU.
    let (encoded, small) = unsafe { (P8::identity().compress(), P8::identity().is_small_order()) };
    assert_eq!(encoded, [EdwardsPoint::identity().compress().to_bytes(); 8]);
    assert_eq!(small, 0xff);
}
