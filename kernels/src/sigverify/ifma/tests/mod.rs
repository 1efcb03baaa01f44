//! Every IFMA field operation against the scalar radix-2^51 field (`super::super::field`), lane
//! by lane, over deterministic pseudo-random inputs whose lanes mix classes: random encodings
//! (top bit set or not), edge encodings (0, 1, p − 1, p, p + 1, 2^255 − 1, 2^256 − 1, …),
//! random tight limbs (values up to 2^260 − 1), limbs at their extremes (all ones included) and
//! the same value in several representations (`v + k·p`). On a CPU without AVX-512 IFMA each
//! test says it skipped and passes. The point layer's tests, generic over the lane fields, are
//! in `lanes/tests.rs`.

use super::available;
use super::field::FieldElement52x8 as Fe8;
use crate::sigverify::field::FieldElement as Fe;
use crate::sigverify::lanes;
use crate::sigverify::lanes::test_inputs::{Rng, edge_encodings, encoding};
use crate::testing::SplitMix64;

/// Radix-2^52 limbs of eight lanes.
type Lanes = [[u64; 5]; 8];

const M52: u64 = (1 << 52) - 1;
/// p's limbs in radix 2^52.
const P: [u64; 5] = [M52 - 18, M52, M52, M52, (1 << 47) - 1];

/// Says the test skipped when the CPU lacks IFMA.
fn skipped(test: &str) -> bool {
    if available() {
        return false;
    }
    crate::say_skipped!("AVX-512 IFMA not supported on this CPU: {test} skipped");
    true
}

/// The edge encodings, with single bits and all-ones runs at the radix-2^52 limb boundaries.
fn edges() -> Vec<[u8; 32]> {
    edge_encodings(&[51, 52, 103, 104, 155, 156, 207, 208])
}

/// The random source (seeded) and the edge encodings of a test, or `None` (said aloud) where
/// the CPU lacks IFMA.
fn start(test: &str, seed: u64) -> Option<(Rng, Vec<[u8; 32]>)> {
    (!skipped(test)).then(|| (Rng(SplitMix64(seed)), edges()))
}

/// The radix-2^52 limbs of the low 255 bits of `b`, bit by bit (independent of the code under
/// test).
fn limbs_of_bytes(b: &[u8; 32]) -> [u64; 5] {
    let mut l = [0u64; 5];
    for bit in 0..255 {
        if b[bit / 8] >> (bit % 8) & 1 == 1 {
            l[bit / 52] |= 1 << (bit % 52);
        }
    }
    l
}

/// The scalar element with value `Σ l[i]·2^(52·i)` (any u64 limbs).
fn scalar(l: &[u64; 5]) -> Fe {
    let mut acc = Fe::ZERO;
    for (i, &limb) in l.iter().enumerate() {
        let mut weight = [0u8; 32];
        weight[52 * i / 8] = 1 << (52 * i % 8);
        acc = acc.add(&Fe::from_u64(limb).mul(&Fe::from_bytes(&weight)));
    }
    Fe::from_bytes(&acc.to_bytes())
}

/// `l + k·p`, carried in radix 2^52; the caller keeps the sum below 2^260.
fn plus_multiple_of_p(l: &[u64; 5], k: u64) -> [u64; 5] {
    let mut out = [0u64; 5];
    let mut carry = 0;
    for i in 0..5 {
        let s = l[i] + k * P[i] + carry;
        out[i] = s & M52;
        carry = s >> 52;
    }
    assert_eq!(carry, 0, "below 2^260");
    out
}

/// One lane's tight limbs, of a class drawn at random.
fn lane(rng: &mut Rng, edges: &[[u8; 32]]) -> [u64; 5] {
    match rng.below(6) {
        0 => limbs_of_bytes(&rng.bytes()),
        1 => limbs_of_bytes(&edges[rng.below(edges.len() as u64) as usize]),
        2 => [0; 5].map(|_| rng.next() & M52),
        3 => [0; 5].map(|_| match rng.below(6) {
            0 => 0,
            1 => 1,
            2 => M52,
            3 => M52 - 1,
            4 => 1 << 51,
            _ => rng.next() & M52,
        }),
        4 => {
            // A canonical value plus 0 to 31 times p (< 2^260).
            let v = limbs_of_bytes(&scalar(&limbs_of_bytes(&rng.bytes())).to_bytes());
            plus_multiple_of_p(&v, rng.below(32))
        }
        _ => [M52; 5], // 2^260 − 1, every limb all ones
    }
}

fn lanes(rng: &mut Rng, edges: &[[u8; 32]]) -> Lanes {
    core::array::from_fn(|_| lane(rng, edges))
}

type Op1 = unsafe fn(&Fe8) -> Fe8;
type Op2 = unsafe fn(&Fe8, &Fe8) -> Fe8;

fn run1(f: Op1, a: &Lanes) -> Lanes {
    assert!(available());
    // SAFETY: available() checked the CPU; the test's lanes are tight.
    unsafe { f(&Fe8::from_lanes(a)).to_lanes() }
}

fn run2(f: Op2, a: &Lanes, b: &Lanes) -> Lanes {
    assert!(available());
    // SAFETY: available() checked the CPU; the test's lanes are tight.
    unsafe { f(&Fe8::from_lanes(a), &Fe8::from_lanes(b)).to_lanes() }
}

fn to_bytes(a: &Lanes) -> [[u8; 32]; 8] {
    assert!(available());
    // SAFETY: available() checked the CPU; the test's lanes are tight.
    unsafe { Fe8::from_lanes(a).to_bytes() }
}

/// Asserts every lane of `got` is reduced (limbs 0–3 < 2^52, limb 4 < 2^48) and has the value
/// of `want(lane)`.
fn check(what: &str, got: &Lanes, want: impl Fn(usize) -> Fe) {
    for (j, l) in got.iter().enumerate() {
        assert!(
            l[..4].iter().all(|&x| x <= M52) && l[4] < 1 << 48,
            "{what}, lane {j}: not reduced: {l:x?}"
        );
        assert_eq!(
            scalar(l).to_bytes(),
            want(j).to_bytes(),
            "{what}, lane {j}: wrong value"
        );
    }
}

#[test]
fn encodings_round_trip_and_match_the_scalar_field() {
    let Some((mut rng, edges)) = start("encodings_round_trip_and_match_the_scalar_field", 1) else {
        return;
    };
    for round in 0..2000 {
        // Lanes mix random and edge encodings.
        let bytes: [[u8; 32]; 8] = core::array::from_fn(|_| match rng.below(2) {
            0 => rng.bytes(),
            _ => edges[rng.below(edges.len() as u64) as usize],
        });
        // SAFETY: available() checked the CPU.
        let (limbs, encoded) = unsafe {
            let x = Fe8::from_bytes(&bytes);
            (x.to_lanes(), x.to_bytes())
        };
        for j in 0..8 {
            assert_eq!(
                limbs[j],
                limbs_of_bytes(&bytes[j]),
                "round {round}, lane {j}"
            );
            assert_eq!(
                encoded[j],
                Fe::from_bytes(&bytes[j]).to_bytes(),
                "round {round}, lane {j}"
            );
        }
        // Canonical encodings come back unchanged.
        // SAFETY: available() checked the CPU.
        assert_eq!(unsafe { Fe8::from_bytes(&encoded).to_bytes() }, encoded);
        // Any tight limbs encode as the scalar field encodes their value.
        let a = lanes(&mut rng, &edges);
        let encoded = to_bytes(&a);
        for j in 0..8 {
            assert_eq!(
                encoded[j],
                scalar(&a[j]).to_bytes(),
                "round {round}, lane {j}"
            );
            assert_eq!(encoded[j][31] >> 7, 0);
        }
    }
}

#[test]
fn limbs_from_bytes_reads_the_low_255_bits() {
    // Scalar code, no CPU feature needed: runs everywhere.
    let mut rng = Rng(SplitMix64(11));
    let mut inputs = edges();
    inputs.extend((0..1_000).map(|_| rng.bytes()));
    for b in &inputs {
        assert_eq!(
            super::field::limbs_from_bytes(b),
            limbs_of_bytes(b),
            "{b:?}"
        );
    }
}

#[test]
fn arithmetic_matches_the_scalar_field_in_every_lane() {
    let Some((mut rng, edges)) = start("arithmetic_matches_the_scalar_field_in_every_lane", 2)
    else {
        return;
    };
    for round in 0..2000 {
        let (a, b) = (lanes(&mut rng, &edges), lanes(&mut rng, &edges));
        let (sa, sb) = (a.map(|l| scalar(&l)), b.map(|l| scalar(&l)));
        let what = |op: &str| format!("{op}, round {round}");
        let sum = run2(Fe8::add, &a, &b);
        check(&what("add"), &sum, |j| sa[j].add(&sb[j]));
        let diff = run2(Fe8::sub, &a, &b);
        check(&what("sub"), &diff, |j| sa[j].sub(&sb[j]));
        check(&what("neg"), &run1(Fe8::neg, &a), |j| sa[j].neg());
        check(&what("mul"), &run2(Fe8::mul, &a, &b), |j| sa[j].mul(&sb[j]));
        check(&what("square"), &run1(Fe8::square, &a), |j| sa[j].square());
        // Outputs feed inputs: (a + b)(a − b) = a² − b².
        check(&what("mul of outputs"), &run2(Fe8::mul, &sum, &diff), |j| {
            sa[j].square().sub(&sb[j].square())
        });
        check(
            &what("square of an output"),
            &run1(Fe8::square, &diff),
            |j| sa[j].sub(&sb[j]).square(),
        );
    }
}

#[test]
fn extreme_limbs_in_every_lane_position() {
    if skipped("extreme_limbs_in_every_lane_position") {
        return;
    }
    let p_minus_1 = plus_multiple_of_p(&[M52 - 19, M52, M52, M52, (1 << 47) - 1], 0);
    let extremes: Lanes = [
        [M52; 5],                                 // 2^260 − 1
        P,                                        // p
        plus_multiple_of_p(&[1, 0, 0, 0, 0], 31), // 31p + 1
        p_minus_1,
        [M52, 0, 0, 0, 0],
        [0, 0, 0, 0, M52],
        [0; 5],
        [1, 0, 0, 0, 0],
    ];
    let s = extremes.map(|l| scalar(&l));
    for shift in 0..8 {
        // Every extreme meets every other, in every lane.
        let b: Lanes = core::array::from_fn(|j| extremes[(j + shift) % 8]);
        let sb: [Fe; 8] = core::array::from_fn(|j| s[(j + shift) % 8]);
        check("add", &run2(Fe8::add, &extremes, &b), |j| s[j].add(&sb[j]));
        check("sub", &run2(Fe8::sub, &extremes, &b), |j| s[j].sub(&sb[j]));
        check("mul", &run2(Fe8::mul, &extremes, &b), |j| s[j].mul(&sb[j]));
        check("square", &run1(Fe8::square, &b), |j| sb[j].square());
        check("neg", &run1(Fe8::neg, &b), |j| sb[j].neg());
        let encoded = to_bytes(&b);
        for j in 0..8 {
            assert_eq!(encoded[j], sb[j].to_bytes(), "to_bytes, lane {j}");
        }
    }
}

#[test]
fn invert_matches_the_scalar_field() {
    let Some((mut rng, edges)) = start("invert_matches_the_scalar_field", 3) else {
        return;
    };
    for round in 0..100 {
        let a = lanes(&mut rng, &edges);
        check(
            &format!("invert, round {round}"),
            &run1(|x| unsafe { lanes::invert(x) }, &a),
            |j| scalar(&a[j]).invert(),
        );
    }
}

#[test]
fn eq_and_select_decide_lane_by_lane() {
    let Some((mut rng, edges)) = start("eq_and_select_decide_lane_by_lane", 4) else {
        return;
    };
    for round in 0..2000 {
        let a = lanes(&mut rng, &edges);
        // Per lane: the same value in another representation, a neighbour, or anything.
        let b: Lanes = core::array::from_fn(|j| {
            let canonical = limbs_of_bytes(&scalar(&a[j]).to_bytes());
            match rng.below(3) {
                0 => plus_multiple_of_p(&canonical, rng.below(32)),
                1 => limbs_of_bytes(&scalar(&a[j]).add(&Fe::ONE).to_bytes()),
                _ => lane(&mut rng, &edges),
            }
        });
        let mask = rng.next() as u8;
        // SAFETY: available() checked the CPU; the lanes are tight.
        let (eq, selected) = unsafe {
            let (x, y) = (Fe8::from_lanes(&a), Fe8::from_lanes(&b));
            (x.eq(&y), Fe8::select(mask, &x, &y).to_lanes())
        };
        for j in 0..8 {
            let want = scalar(&a[j]).eq_mod_p(&scalar(&b[j]));
            assert_eq!(eq >> j & 1 == 1, want, "eq, round {round}, lane {j}");
            let picked = if mask >> j & 1 == 1 { a[j] } else { b[j] };
            assert_eq!(selected[j], picked, "select, round {round}, lane {j}");
        }
    }
}

#[test]
fn constants_are_what_they_say() {
    if skipped("constants_are_what_they_say") {
        return;
    }
    // SAFETY: available() checked the CPU.
    let (zero, one, p) = unsafe {
        (
            Fe8::zero().to_bytes(),
            Fe8::one().to_bytes(),
            Fe8::splat_limbs(P).to_bytes(),
        )
    };
    assert_eq!(zero, [encoding(0); 8]);
    assert_eq!(one, [encoding(1); 8]);
    assert_eq!(p, [encoding(0); 8]);
}

#[test]
fn sqrt_ratio_and_sign_match_the_scalar_field() {
    let Some((mut rng, edges)) = start("sqrt_ratio_and_sign_match_the_scalar_field", 5) else {
        return;
    };
    let i = Fe::sqrt_minus_one();
    let i_limbs = limbs_of_bytes(&i.to_bytes());
    for round in 0..200 {
        // Per lane: a square ratio, a non-square one (2 is not a square), u = 0, or anything.
        let v = lanes(&mut rng, &edges);
        let u: Lanes = core::array::from_fn(|j| {
            let x = scalar(&lane(&mut rng, &edges));
            let square = x.square().mul(&scalar(&v[j]));
            match rng.below(4) {
                0 => limbs_of_bytes(&square.to_bytes()),
                1 => limbs_of_bytes(&square.add(&square).to_bytes()),
                2 => [0; 5],
                _ => lane(&mut rng, &edges),
            }
        });
        // SAFETY: available() checked the CPU; the lanes are tight.
        let (ok, r, negative) = unsafe {
            let (ok, r) = lanes::sqrt_ratio(
                &Fe8::from_lanes(&u),
                &Fe8::from_lanes(&v),
                &Fe8::splat_limbs(i_limbs),
            );
            (ok, r.to_lanes(), Fe8::from_lanes(&u).is_negative())
        };
        for j in 0..8 {
            let (want_ok, want_r) = Fe::sqrt_ratio(&scalar(&u[j]), &scalar(&v[j]), &i);
            assert_eq!(
                ok >> j & 1 == 1,
                want_ok,
                "sqrt_ratio, round {round}, lane {j}"
            );
            // Not only the roots: the lanes take the scalar code's every step.
            assert!(
                scalar(&r[j]).eq_mod_p(&want_r),
                "root, round {round}, lane {j}"
            );
            let want_negative = scalar(&u[j]).is_negative();
            assert_eq!(
                negative >> j & 1 == 1,
                want_negative,
                "is_negative, lane {j}"
            );
        }
    }
}
