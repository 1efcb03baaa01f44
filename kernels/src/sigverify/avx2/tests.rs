//! Every AVX2 field operation against the scalar radix-2^51 field (`super::super::field`), lane
//! by lane, over deterministic pseudo-random inputs whose lanes mix classes: random encodings
//! (top bit set or not), edge encodings (0, 1, p − 1, p, p + 1, 2^255 − 1, 2^256 − 1, …),
//! random loose limbs (up to twice their width), limbs at their extremes, and the same value in
//! several representations (`v + k·p`); then long chains of operations on the same lanes, the
//! point formulas the verifier shares, the generic inversion and square root of
//! [`lanes`](crate::sigverify::lanes) on this field, and the table words through `gather`. On a
//! CPU without AVX2 each test says it skipped and passes.

use super::available;
use super::field::{FieldElement2625x4 as Fe4, limbs_from_bytes};
use crate::sigverify::field::FieldElement as Fe;
use crate::sigverify::fixed_base::{FieldArith, add_formula, double_formula};
use crate::sigverify::lanes::test_inputs::{Rng, edge_encodings, encoding};
use crate::sigverify::lanes::{self, LaneField};
use crate::testing::SplitMix64;

/// Radix-2^25.5 limbs of four lanes.
type Lanes = [[u64; 10]; 4];

/// Limb `i`'s bit offset.
const OFFSETS: [usize; 10] = [0, 26, 51, 77, 102, 128, 153, 179, 204, 230];
/// Limb `i`'s width.
const WIDTHS: [u32; 10] = [26, 25, 26, 25, 26, 25, 26, 25, 26, 25];
/// `2^w_i − 1`.
const MASKS: [u64; 10] = {
    let mut m = [0; 10];
    let mut i = 0;
    while i < 10 {
        m[i] = (1 << WIDTHS[i]) - 1;
        i += 1;
    }
    m
};
/// The largest loose limbs, `2^(w_i + 1) − 1`.
const LOOSE_MAX: [u64; 10] = {
    let mut m = [0; 10];
    let mut i = 0;
    while i < 10 {
        m[i] = (1 << (WIDTHS[i] + 1)) - 1;
        i += 1;
    }
    m
};
/// p's limbs in radix 2^25.5.
const P: [u64; 10] = {
    let mut m = MASKS;
    m[0] -= 18;
    m
};

/// Says the test skipped when the CPU lacks AVX2.
fn skipped(test: &str) -> bool {
    if available() {
        return false;
    }
    crate::say_skipped!("AVX2 not supported on this CPU: {test} skipped");
    true
}

/// The edge encodings, with single bits and all-ones runs at the radix-2^25.5 limb boundaries.
fn edges() -> Vec<[u8; 32]> {
    let boundaries: Vec<usize> = OFFSETS[1..].iter().flat_map(|&o| [o - 1, o]).collect();
    edge_encodings(&boundaries)
}

/// The random source (seeded) and the edge encodings of a test, or `None` (said aloud) where
/// the CPU lacks AVX2.
fn start(test: &str, seed: u64) -> Option<(Rng, Vec<[u8; 32]>)> {
    (!skipped(test)).then(|| (Rng(SplitMix64(seed)), edges()))
}

/// The radix-2^25.5 limbs of the low 255 bits of `b`, bit by bit (independent of the code under
/// test).
fn limbs_of_bytes(b: &[u8; 32]) -> [u64; 10] {
    let mut l = [0u64; 10];
    for bit in 0..255 {
        if b[bit / 8] >> (bit % 8) & 1 == 1 {
            let i = OFFSETS.iter().rposition(|&o| o <= bit).expect("offset 0");
            l[i] |= 1 << (bit - OFFSETS[i]);
        }
    }
    l
}

/// The scalar element with value `Σ l[i]·2^⌈25.5·i⌉` (any u64 limbs).
fn scalar(l: &[u64; 10]) -> Fe {
    let mut acc = Fe::ZERO;
    for (i, &limb) in l.iter().enumerate() {
        let mut weight = [0u8; 32];
        weight[OFFSETS[i] / 8] = 1 << (OFFSETS[i] % 8);
        acc = acc.add(&Fe::from_u64(limb).mul(&Fe::from_bytes(&weight)));
    }
    Fe::from_bytes(&acc.to_bytes())
}

/// The canonical limbs of `x`.
fn limbs_of(x: &Fe) -> [u64; 10] {
    limbs_of_bytes(&x.to_bytes())
}

/// `l + k·p`, limb by limb (not carried); the caller keeps every limb loose.
fn plus_multiple_of_p(l: &[u64; 10], k: u64) -> [u64; 10] {
    let out: [u64; 10] = core::array::from_fn(|i| l[i] + k * P[i]);
    assert!(is_loose(&out), "loose: {out:x?}");
    out
}

fn is_loose(l: &[u64; 10]) -> bool {
    l.iter().zip(LOOSE_MAX).all(|(&x, max)| x <= max)
}

/// The bound every output keeps: limbs `< 2^w_i + 2^10`.
fn is_reduced(l: &[u64; 10]) -> bool {
    l.iter().zip(MASKS).all(|(&x, mask)| x <= mask + (1 << 10))
}

/// One lane's loose limbs, of a class drawn at random.
fn lane(rng: &mut Rng, edges: &[[u8; 32]]) -> [u64; 10] {
    match rng.below(7) {
        0 => limbs_of_bytes(&rng.bytes()),
        1 => limbs_of_bytes(&edges[rng.below(edges.len() as u64) as usize]),
        2 => LOOSE_MAX.map(|max| rng.next() & max),
        3 => core::array::from_fn(|i| match rng.below(7) {
            0 => 0,
            1 => 1,
            2 => LOOSE_MAX[i],
            3 => LOOSE_MAX[i] - 1,
            4 => MASKS[i],
            5 => MASKS[i] + 1 + rng.below(1 << 10), // the reduced bound's slack
            _ => rng.next() & LOOSE_MAX[i],
        }),
        4 => {
            // A canonical value plus 0 or 1 times p, limb by limb (limbs stay loose).
            let v = limbs_of(&scalar(&limbs_of_bytes(&rng.bytes())));
            plus_multiple_of_p(&v, rng.below(2))
        }
        5 => {
            // Reduced limbs, anywhere up to the bound.
            MASKS.map(|mask| rng.below(mask + (1 << 10) + 1))
        }
        _ => LOOSE_MAX, // every limb at its loose maximum
    }
}

fn lanes(rng: &mut Rng, edges: &[[u8; 32]]) -> Lanes {
    core::array::from_fn(|_| lane(rng, edges))
}

/// Loads test lanes (all loose).
fn load(a: &Lanes) -> Fe4 {
    assert!(available());
    assert!(a.iter().all(is_loose), "test lanes are loose: {a:x?}");
    // SAFETY: available() checked the CPU; the lanes are loose.
    unsafe { Fe4::from_lanes(a) }
}

fn lanes_of(x: Fe4) -> Lanes {
    assert!(available());
    // SAFETY: available() checked the CPU.
    unsafe { x.to_lanes() }
}

type Op1 = unsafe fn(&Fe4) -> Fe4;
type Op2 = unsafe fn(&Fe4, &Fe4) -> Fe4;

fn run1(f: Op1, a: &Lanes) -> Lanes {
    let x = load(a);
    // SAFETY: available() checked the CPU (in `load`); the lanes are loose.
    lanes_of(unsafe { f(&x) })
}

fn run2(f: Op2, a: &Lanes, b: &Lanes) -> Lanes {
    let (x, y) = (load(a), load(b));
    // SAFETY: available() checked the CPU (in `load`); the lanes are loose.
    lanes_of(unsafe { f(&x, &y) })
}

fn to_bytes(a: &Lanes) -> [[u8; 32]; 4] {
    let x = load(a);
    // SAFETY: available() checked the CPU (in `load`); the lanes are loose.
    unsafe { x.to_bytes() }
}

/// Asserts every lane of `got` is reduced and has the value of `want(lane)`.
fn check(what: &str, got: &Lanes, want: impl Fn(usize) -> Fe) {
    for (j, l) in got.iter().enumerate() {
        assert!(is_reduced(l), "{what}, lane {j}: not reduced: {l:x?}");
        assert_eq!(
            scalar(l).to_bytes(),
            want(j).to_bytes(),
            "{what}, lane {j}: wrong value"
        );
    }
}

#[test]
fn limbs_from_bytes_reads_the_low_255_bits() {
    // Scalar code, no CPU feature needed: runs everywhere.
    let mut rng = Rng(SplitMix64(11));
    let mut inputs = edges();
    inputs.extend((0..1_000).map(|_| rng.bytes()));
    for b in &inputs {
        assert_eq!(limbs_from_bytes(b), limbs_of_bytes(b), "{b:?}");
    }
}

#[test]
fn the_test_helpers_agree_with_the_scalar_field() {
    // `scalar` and `limbs_of_bytes` are the yardstick: hold them to `Fe::from_bytes`.
    let mut rng = Rng(SplitMix64(12));
    let mut inputs = edges();
    inputs.extend((0..200).map(|_| rng.bytes()));
    for b in &inputs {
        assert_eq!(
            scalar(&limbs_of_bytes(b)).to_bytes(),
            Fe::from_bytes(b).to_bytes(),
            "{b:?}"
        );
    }
    assert_eq!(scalar(&P).to_bytes(), encoding(0));
    // 2^255 (limb 9 one past its width) is 19.
    let mut top = [0; 10];
    top[9] = 1 << 25;
    assert_eq!(scalar(&top).to_bytes(), encoding(19));
}

#[test]
fn encodings_round_trip_and_match_the_scalar_field() {
    let Some((mut rng, edges)) = start("encodings_round_trip_and_match_the_scalar_field", 1) else {
        return;
    };
    for round in 0..4000 {
        // Lanes mix random and edge encodings.
        let bytes: [[u8; 32]; 4] = core::array::from_fn(|_| match rng.below(2) {
            0 => rng.bytes(),
            _ => edges[rng.below(edges.len() as u64) as usize],
        });
        // SAFETY: available() checked the CPU.
        let (limbs, encoded) = unsafe {
            let x = Fe4::from_bytes(&bytes);
            (x.to_lanes(), x.to_bytes())
        };
        for j in 0..4 {
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
        assert_eq!(unsafe { Fe4::from_bytes(&encoded).to_bytes() }, encoded);
        // Any loose limbs encode as the scalar field encodes their value.
        let a = lanes(&mut rng, &edges);
        let encoded = to_bytes(&a);
        for j in 0..4 {
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
fn arithmetic_matches_the_scalar_field_in_every_lane() {
    let Some((mut rng, edges)) = start("arithmetic_matches_the_scalar_field_in_every_lane", 2)
    else {
        return;
    };
    for round in 0..4000 {
        let (a, b) = (lanes(&mut rng, &edges), lanes(&mut rng, &edges));
        let (sa, sb) = (a.map(|l| scalar(&l)), b.map(|l| scalar(&l)));
        let what = |op: &str| format!("{op}, round {round}");
        let sum = run2(Fe4::add, &a, &b);
        check(&what("add"), &sum, |j| sa[j].add(&sb[j]));
        let diff = run2(Fe4::sub, &a, &b);
        check(&what("sub"), &diff, |j| sa[j].sub(&sb[j]));
        check(&what("neg"), &run1(Fe4::neg, &a), |j| sa[j].neg());
        check(&what("mul"), &run2(Fe4::mul, &a, &b), |j| sa[j].mul(&sb[j]));
        check(&what("square"), &run1(Fe4::square, &a), |j| sa[j].square());
        // An element times itself, and a square, agree.
        check(&what("mul by itself"), &run2(Fe4::mul, &a, &a), |j| {
            sa[j].square()
        });
        // Outputs feed inputs: (a + b)(a − b) = a² − b².
        check(&what("mul of outputs"), &run2(Fe4::mul, &sum, &diff), |j| {
            sa[j].square().sub(&sb[j].square())
        });
        check(
            &what("square of an output"),
            &run1(Fe4::square, &diff),
            |j| sa[j].sub(&sb[j]).square(),
        );
        // The FieldArith entry points the point formulas call are the same operations.
        check(
            &what("FieldArith"),
            &run2(
                |x, y| unsafe {
                    // SAFETY: run2's caller checked the CPU; every output is loose.
                    let s = <Fe4 as FieldArith>::add(x, y);
                    let d = <Fe4 as FieldArith>::sub(x, y);
                    <Fe4 as FieldArith>::mul(&s, &<Fe4 as FieldArith>::square(&d))
                },
                &a,
                &b,
            ),
            |j| sa[j].add(&sb[j]).mul(&sa[j].sub(&sb[j]).square()),
        );
    }
}

#[test]
fn extreme_limbs_meet_in_every_lane() {
    let Some((_, edges)) = start("extreme_limbs_meet_in_every_lane", 0) else {
        return;
    };
    let mut extremes: Vec<[u64; 10]> = vec![
        LOOSE_MAX,                                              // every limb at its maximum
        P,                                                      // p
        plus_multiple_of_p(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0], 1), // p + 1
        plus_multiple_of_p(&limbs_of(&Fe::ONE.neg()), 1),       // 2p − 1, limb by limb
        MASKS,                                                  // 2^255 − 1
        MASKS.map(|m| m + (1 << 10)),                           // the reduced bound
        [0; 10],
        [1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        limbs_of(&Fe::ONE.neg()), // p − 1
    ];
    // One limb at its maximum, the others 0.
    for i in 0..10 {
        let mut l = [0; 10];
        l[i] = LOOSE_MAX[i];
        extremes.push(l);
    }
    // Even limbs at their maximum, odd ones 0, and the other way round.
    extremes.push(core::array::from_fn(|i| LOOSE_MAX[i] * (1 - i as u64 % 2)));
    extremes.push(core::array::from_fn(|i| LOOSE_MAX[i] * (i as u64 % 2)));
    extremes.extend(edges.iter().map(limbs_of_bytes));
    // Every pair, four at a time.
    let pairs: Vec<([u64; 10], [u64; 10])> = extremes
        .iter()
        .flat_map(|&x| extremes.iter().map(move |&y| (x, y)))
        .collect();
    for (n, chunk) in pairs.chunks(4).enumerate() {
        let a: Lanes = core::array::from_fn(|j| chunk[j % chunk.len()].0);
        let b: Lanes = core::array::from_fn(|j| chunk[j % chunk.len()].1);
        let (sa, sb) = (a.map(|l| scalar(&l)), b.map(|l| scalar(&l)));
        let what = |op: &str| format!("{op}, pairs {n}: {a:x?} {b:x?}");
        check(&what("add"), &run2(Fe4::add, &a, &b), |j| sa[j].add(&sb[j]));
        check(&what("sub"), &run2(Fe4::sub, &a, &b), |j| sa[j].sub(&sb[j]));
        check(&what("mul"), &run2(Fe4::mul, &a, &b), |j| sa[j].mul(&sb[j]));
        check(&what("square"), &run1(Fe4::square, &b), |j| sb[j].square());
        check(&what("neg"), &run1(Fe4::neg, &b), |j| sb[j].neg());
        let encoded = to_bytes(&b);
        for j in 0..4 {
            assert_eq!(
                encoded[j],
                sb[j].to_bytes(),
                "{}, lane {j}",
                what("to_bytes")
            );
        }
        // SAFETY: available() checked the CPU (in `start`); the lanes are loose.
        let (eq, negative) = unsafe { (load(&a).eq(&load(&b)), load(&b).is_negative()) };
        for j in 0..4 {
            assert_eq!(eq >> j & 1 == 1, sa[j].eq_mod_p(&sb[j]), "{}", what("eq"));
            assert_eq!(
                negative >> j & 1 == 1,
                sb[j].is_negative(),
                "{}",
                what("is_negative")
            );
        }
    }
}

/// One step of a chain: the operation, applied to registers `x` and `y` into `x`.
#[derive(Clone, Copy, Debug)]
enum Step {
    Add,
    Sub,
    SubFrom,
    Mul,
    Square,
    Neg,
    Double,
}

const STEPS: [Step; 7] = [
    Step::Add,
    Step::Sub,
    Step::SubFrom,
    Step::Mul,
    Step::Square,
    Step::Neg,
    Step::Double,
];

#[test]
fn chains_of_operations_keep_their_bounds_and_values() {
    let Some((mut rng, edges)) = start("chains_of_operations_keep_their_bounds_and_values", 3)
    else {
        return;
    };
    // Four registers of four lanes, fed back into each other: every output becomes an input
    // again, over and over, with the scalar field as the shadow.
    for chain in 0..20 {
        let init: [Lanes; 4] = core::array::from_fn(|_| lanes(&mut rng, &edges));
        let mut shadow: [[Fe; 4]; 4] = init.map(|r| r.map(|l| scalar(&l)));
        let mut regs: [Fe4; 4] = init.map(|r| load(&r));
        for round in 0..1000 {
            let step = STEPS[rng.below(STEPS.len() as u64) as usize];
            let (x, y) = (rng.below(4) as usize, rng.below(4) as usize);
            let (a, b) = (regs[x], regs[y]);
            // SAFETY: available() checked the CPU (in `start`); every register is loose
            // (checked below, each round).
            regs[x] = unsafe {
                match step {
                    Step::Add => a.add(&b),
                    Step::Sub => a.sub(&b),
                    Step::SubFrom => b.sub(&a),
                    Step::Mul => a.mul(&b),
                    Step::Square => a.square(),
                    Step::Neg => a.neg(),
                    Step::Double => a.add(&a),
                }
            };
            let (sa, sb) = (shadow[x], shadow[y]);
            shadow[x] = core::array::from_fn(|j| match step {
                Step::Add => sa[j].add(&sb[j]),
                Step::Sub => sa[j].sub(&sb[j]),
                Step::SubFrom => sb[j].sub(&sa[j]),
                Step::Mul => sa[j].mul(&sb[j]),
                Step::Square => sa[j].square(),
                Step::Neg => sa[j].neg(),
                Step::Double => sa[j].add(&sa[j]),
            });
            // The scalar field's `add` does not carry: keep its shadow reduced.
            shadow[x] = shadow[x].map(|s| s.mul(&Fe::ONE));
            check(
                &format!("chain {chain}, round {round}, {step:?}"),
                &lanes_of(regs[x]),
                |j| shadow[x][j],
            );
        }
    }
}

#[test]
fn point_formulas_match_the_scalar_field() {
    let Some((mut rng, edges)) = start("point_formulas_match_the_scalar_field", 4) else {
        return;
    };
    // The shared formulas are polynomials: any field elements will do, points or not. Their
    // outputs are fed back in 200 times, as a scalar multiplication feeds them.
    for run in 0..10 {
        let coordinates: [Lanes; 5] = core::array::from_fn(|_| lanes(&mut rng, &edges));
        let mut p: [Fe4; 4] = core::array::from_fn(|c| load(&coordinates[c]));
        let mut sp: [[Fe; 4]; 4] = core::array::from_fn(|c| coordinates[c].map(|l| scalar(&l)));
        let q = p;
        let sq = sp;
        let d2 = load(&coordinates[4]);
        let sd2 = coordinates[4].map(|l| scalar(&l));
        for round in 0..200 {
            let double = rng.below(2) == 0;
            // SAFETY: available() checked the CPU (in `start`); every output is loose.
            p = unsafe {
                if double {
                    double_formula([&p[0], &p[1], &p[2]])
                } else {
                    add_formula(
                        [&p[0], &p[1], &p[2], &p[3]],
                        [&q[0], &q[1], &q[2], &q[3]],
                        &d2,
                    )
                }
            };
            for j in 0..4 {
                let lane: [Fe; 4] = core::array::from_fn(|c| sp[c][j]);
                // SAFETY: the scalar field needs nothing of its caller.
                let next = unsafe {
                    if double {
                        double_formula([&lane[0], &lane[1], &lane[2]])
                    } else {
                        let other: [Fe; 4] = core::array::from_fn(|c| sq[c][j]);
                        add_formula(
                            [&lane[0], &lane[1], &lane[2], &lane[3]],
                            [&other[0], &other[1], &other[2], &other[3]],
                            &sd2[j],
                        )
                    }
                };
                for c in 0..4 {
                    sp[c][j] = next[c];
                }
            }
            for c in 0..4 {
                check(
                    &format!("run {run}, round {round}, double {double}, coordinate {c}"),
                    &lanes_of(p[c]),
                    |j| sp[c][j],
                );
            }
        }
    }
}

#[test]
fn invert_matches_the_scalar_field() {
    let Some((mut rng, edges)) = start("invert_matches_the_scalar_field", 5) else {
        return;
    };
    for round in 0..200 {
        let a = lanes(&mut rng, &edges);
        let x = load(&a);
        // SAFETY: available() checked the CPU (in `load`).
        let inverse = lanes_of(unsafe { lanes::invert::<4, Fe4>(&x) });
        check(&format!("invert, round {round}"), &inverse, |j| {
            scalar(&a[j]).invert()
        });
    }
}

#[test]
fn eq_select_and_is_negative_decide_lane_by_lane() {
    let Some((mut rng, edges)) = start("eq_select_and_is_negative_decide_lane_by_lane", 6) else {
        return;
    };
    for round in 0..4000 {
        let a = lanes(&mut rng, &edges);
        // Per lane: the same value in another representation, a neighbour, or anything.
        let b: Lanes = core::array::from_fn(|j| {
            let value = scalar(&a[j]);
            let canonical = limbs_of(&value);
            match rng.below(4) {
                0 => plus_multiple_of_p(&canonical, rng.below(2)),
                1 => limbs_of(&value.add(&Fe::ONE)),
                2 => limbs_of(&value.neg()),
                _ => lane(&mut rng, &edges),
            }
        });
        let mask = rng.below(16) as u8;
        let (x, y) = (load(&a), load(&b));
        // SAFETY: available() checked the CPU (in `load`); the lanes are loose.
        let (eq, selected, negative) = unsafe {
            (
                x.eq(&y),
                Fe4::select(mask, &x, &y).to_lanes(),
                x.is_negative(),
            )
        };
        assert_eq!(eq >> 4, 0, "eq, round {round}: lanes 4–7 do not exist");
        assert_eq!(negative >> 4, 0, "is_negative, round {round}");
        for j in 0..4 {
            let want = scalar(&a[j]).eq_mod_p(&scalar(&b[j]));
            assert_eq!(eq >> j & 1 == 1, want, "eq, round {round}, lane {j}");
            let picked = if mask >> j & 1 == 1 { a[j] } else { b[j] };
            assert_eq!(selected[j], picked, "select, round {round}, lane {j}");
            assert_eq!(
                negative >> j & 1 == 1,
                scalar(&a[j]).is_negative(),
                "is_negative, round {round}, lane {j}"
            );
        }
    }
}

#[test]
fn constants_and_splat_are_what_they_say() {
    let Some((mut rng, edges)) = start("constants_and_splat_are_what_they_say", 7) else {
        return;
    };
    // SAFETY: available() checked the CPU (in `start`).
    let (zero, one, p) = unsafe {
        (
            <Fe4 as LaneField<4>>::zero().to_bytes(),
            <Fe4 as LaneField<4>>::one().to_bytes(),
            Fe4::splat_limbs(P).to_bytes(),
        )
    };
    assert_eq!(zero, [encoding(0); 4]);
    assert_eq!(one, [encoding(1); 4]);
    assert_eq!(p, [encoding(0); 4]);
    let mut values: Vec<[u8; 32]> = edges.iter().map(|e| Fe::from_bytes(e).to_bytes()).collect();
    values.extend((0..1000).map(|_| Fe::from_bytes(&rng.bytes()).to_bytes()));
    values.push(Fe::sqrt_minus_one().to_bytes());
    for value in &values {
        // SAFETY: available() checked the CPU (in `start`).
        let (limbs, encoded) = unsafe {
            let x = <Fe4 as LaneField<4>>::splat(value);
            (x.to_lanes(), LaneField::to_bytes(&x))
        };
        assert_eq!(encoded, [*value; 4]);
        assert_eq!(limbs, [limbs_of_bytes(value); 4]);
    }
}

#[test]
fn sqrt_ratio_matches_the_scalar_field() {
    let Some((mut rng, edges)) = start("sqrt_ratio_matches_the_scalar_field", 8) else {
        return;
    };
    let i = Fe::sqrt_minus_one();
    let (mut oks, mut not_oks) = (0, 0);
    for round in 0..300 {
        // Per lane v: anything, or 0. Per lane u: a square ratio, a non-square one (2 is not a
        // square), u = 0, or anything.
        let v: Lanes = core::array::from_fn(|_| match rng.below(8) {
            0 => [0; 10],
            _ => lane(&mut rng, &edges),
        });
        let u: Lanes = core::array::from_fn(|j| {
            let x = scalar(&lane(&mut rng, &edges));
            let square = x.square().mul(&scalar(&v[j]));
            match rng.below(5) {
                0 => limbs_of(&square),
                1 => limbs_of(&square.add(&square)),
                2 => [0; 10],
                3 => plus_multiple_of_p(&[0; 10], 1), // 0 as p
                _ => lane(&mut rng, &edges),
            }
        });
        let (fu, fv) = (load(&u), load(&v));
        // SAFETY: available() checked the CPU (in `load`); the lanes are loose.
        let (ok, r) = unsafe {
            let fi = <Fe4 as LaneField<4>>::splat(&i.to_bytes());
            let (ok, r) = lanes::sqrt_ratio::<4, Fe4>(&fu, &fv, &fi);
            (ok, r.to_lanes())
        };
        assert_eq!(ok >> 4, 0);
        for j in 0..4 {
            let (want_ok, want_r) = Fe::sqrt_ratio(&scalar(&u[j]), &scalar(&v[j]), &i);
            assert_eq!(
                ok >> j & 1 == 1,
                want_ok,
                "sqrt_ratio, round {round}, lane {j}"
            );
            if want_ok {
                oks += 1;
            } else {
                not_oks += 1;
            }
            // Not only the roots: the lanes take the scalar code's every step.
            assert!(
                is_reduced(&r[j]),
                "root, round {round}, lane {j}: not reduced"
            );
            assert!(
                scalar(&r[j]).eq_mod_p(&want_r),
                "root, round {round}, lane {j}"
            );
        }
    }
    // Both answers were exercised.
    assert!(
        oks > 200 && not_oks > 200,
        "{oks} squares, {not_oks} non-squares"
    );
}

#[test]
fn table_words_and_interleaved_stores_gather_back() {
    let Some((mut rng, edges)) = start("table_words_and_interleaved_stores_gather_back", 9) else {
        return;
    };
    const W: usize = <Fe4 as LaneField<4>>::WORDS;
    assert_eq!(W, 10);
    // A table of 64 entries, WORDS words each, written by `words`.
    let entries: Vec<[u8; 32]> = (0..64)
        .map(|n| {
            let raw = if n < edges.len() {
                edges[n]
            } else {
                rng.bytes()
            };
            Fe::from_bytes(&raw).to_bytes()
        })
        .collect();
    let mut table = vec![0u64; entries.len() * W];
    for (n, e) in entries.iter().enumerate() {
        <Fe4 as LaneField<4>>::words(e, &mut table[n * W..(n + 1) * W]);
        assert_eq!(
            table[n * W..(n + 1) * W],
            limbs_of_bytes(e),
            "words of entry {n}"
        );
    }
    for round in 0..2000 {
        let picks: [usize; 4] = core::array::from_fn(|_| rng.below(entries.len() as u64) as usize);
        let offsets = picks.map(|n| (n * W) as i64);
        // SAFETY: available() checked the CPU (in `start`); every address read,
        // offsets[j] + i for i < WORDS, is inside `table`.
        let encoded = unsafe { Fe4::gather(table.as_ptr(), &offsets, 1).to_bytes() };
        for j in 0..4 {
            assert_eq!(
                encoded[j], entries[picks[j]],
                "gather, round {round}, lane {j}"
            );
        }
    }
    // Interleaved stores: word i of lane j at out[4i + j], read back with stride 4.
    for round in 0..2000 {
        let a = lanes(&mut rng, &edges);
        let x = load(&a);
        let mut out = vec![0u64; 4 * W];
        // SAFETY: available() checked the CPU (in `load`); `out` holds WORDS·4 words.
        unsafe { x.store_interleaved(&mut out) };
        for (j, lane) in a.iter().enumerate() {
            for (i, &limb) in lane.iter().enumerate() {
                assert_eq!(out[4 * i + j], limb, "store_interleaved, round {round}");
            }
        }
        // SAFETY: available() checked the CPU; offsets j + 4i for i < WORDS are inside `out`.
        let back = unsafe { Fe4::gather(out.as_ptr(), &[0, 1, 2, 3], 4).to_lanes() };
        assert_eq!(back, a, "gather of store_interleaved, round {round}");
        // Any lane may read any lane's words.
        let perm: [i64; 4] = core::array::from_fn(|_| rng.below(4) as i64);
        // SAFETY: as above.
        let back = unsafe { Fe4::gather(out.as_ptr(), &perm, 4).to_lanes() };
        for j in 0..4 {
            assert_eq!(
                back[j], a[perm[j] as usize],
                "permuted gather, round {round}"
            );
        }
    }
}
