//! Variable-time fixed-base arithmetic for the signer cache: `[s]B − [k]A` from two radix-16
//! tables, and encodings of many results with one field inversion.
//!
//! The cache used to keep curve25519-dalek's `EdwardsBasepointTable` of −A. That table is built
//! for secret scalars: each lookup scans all eight entries in constant time, and each result is
//! encoded with its own inversion. A verifier's scalars are public, so here
//!
//! - a lookup is one indexed load (`S` and `k` are public; nothing secret depends on timing);
//! - `[s]B` and `[k](−A)` share one pass: 128 mixed additions of affine Niels points and four
//!   doublings (the radix-16 "16² trick": odd digits, four doublings, even digits);
//! - the results of a batch are encoded together with Montgomery's trick: one inversion and
//!   three multiplications per point instead of one inversion each.
//!
//! Points are on the twisted Edwards curve `−x² + y² = 1 + d·x²·y²` in extended coordinates
//! `(X : Y : Z : T)` with `x = X/Z`, `y = Y/Z`, `x·y = T/Z` (Hisil–Wong–Carter–Dawson 2008, the
//! formulas curve25519-dalek uses; they are complete on this curve, so no input needs a special
//! case and `Z` never vanishes). Answers are checked against curve25519-dalek in the tests.

use std::sync::LazyLock;

use curve25519_dalek::constants::{ED25519_BASEPOINT_COMPRESSED, EIGHT_TORSION};

use super::field::FieldElement as Fe;

/// The curve constants, computed once from their definitions.
struct Curve {
    /// `d = −121665 / 121666`.
    d: Fe,
    /// `2d`.
    d2: Fe,
    /// A square root of −1.
    sqrt_m1: Fe,
}

static CURVE: LazyLock<Curve> = LazyLock::new(|| {
    let d = Fe::from_u64(121_665)
        .neg()
        .mul(&Fe::from_u64(121_666).invert());
    Curve {
        d2: d.add(&d).mul(&Fe::ONE),
        d,
        sqrt_m1: Fe::sqrt_minus_one(),
    }
});

/// The canonical encodings of the eight points of small order (an `R` equal to one of them is
/// rejected).
static SMALL_ORDER: LazyLock<[[u8; 32]; 8]> =
    LazyLock::new(|| EIGHT_TORSION.map(|p| p.compress().to_bytes()));

/// Whether `encoding` is the canonical encoding of a point of small order.
pub fn is_small_order_encoding(encoding: &[u8; 32]) -> bool {
    SMALL_ORDER.contains(encoding)
}

/// A point in extended coordinates.
#[derive(Clone, Copy, Debug)]
pub struct ExtendedPoint {
    x: Fe,
    y: Fe,
    z: Fe,
    t: Fe,
}

/// An affine point as `(y + x, y − x, 2d·x·y)`: what a mixed addition consumes.
#[derive(Clone, Copy, Debug)]
struct AffineNiels {
    y_plus_x: Fe,
    y_minus_x: Fe,
    xy2d: Fe,
}

impl ExtendedPoint {
    const IDENTITY: ExtendedPoint = ExtendedPoint {
        x: Fe::ZERO,
        y: Fe::ONE,
        z: Fe::ONE,
        t: Fe::ZERO,
    };

    /// Decompresses as curve25519-dalek does (y read modulo p; `x` from the curve equation,
    /// its parity from the sign bit, a sign bit on `x = 0` accepted); `None` when no `x` exists.
    pub fn decompress(encoding: &[u8; 32]) -> Option<ExtendedPoint> {
        let curve = &*CURVE;
        let y = Fe::from_bytes(encoding);
        let yy = y.square();
        let u = yy.sub(&Fe::ONE);
        let v = yy.mul(&curve.d).add(&Fe::ONE);
        let (is_square, mut x) = Fe::sqrt_ratio(&u, &v, &curve.sqrt_m1);
        if !is_square {
            return None;
        }
        if encoding[31] >> 7 == 1 {
            x = x.neg();
        }
        Some(ExtendedPoint {
            x,
            y,
            z: Fe::ONE,
            t: x.mul(&y),
        })
    }

    /// `−P`.
    pub fn neg(&self) -> ExtendedPoint {
        ExtendedPoint {
            x: self.x.neg(),
            t: self.t.neg(),
            ..*self
        }
    }

    /// `P + Q` (add-2008-hwcd-3, `a = −1`).
    fn add(&self, q: &ExtendedPoint) -> ExtendedPoint {
        // The formula of `add_formula`, written out on the inherent operations: this is the
        // scalar hot path (recurring signers), measured unchanged this way; the generic one
        // serves the IFMA lanes.
        let a = self.y.sub(&self.x).mul(&q.y.sub(&q.x));
        let b = self.y.add(&self.x).mul(&q.y.add(&q.x));
        let c = self.t.mul(&CURVE.d2).mul(&q.t);
        let zz = self.z.mul(&q.z);
        let d = zz.add(&zz);
        ExtendedPoint::from_efgh(&b.sub(&a), &d.sub(&c), &d.add(&c), &b.add(&a))
    }

    /// `P ± Q` for an affine `Q` (madd-2008-hwcd-3); `subtract` swaps `y + x` and `y − x` and
    /// negates `2d·x·y`, which is adding `−Q`.
    #[inline(always)]
    fn add_affine(&self, q: &AffineNiels, subtract: bool) -> ExtendedPoint {
        let (qp, qm) = if subtract {
            (&q.y_minus_x, &q.y_plus_x)
        } else {
            (&q.y_plus_x, &q.y_minus_x)
        };
        let a = self.y.sub(&self.x).mul(qm);
        let b = self.y.add(&self.x).mul(qp);
        let c = self.t.mul(&q.xy2d);
        let d = self.z.add(&self.z);
        let (f, g) = if subtract {
            (d.add(&c), d.sub(&c))
        } else {
            (d.sub(&c), d.add(&c))
        };
        ExtendedPoint::from_efgh(&b.sub(&a), &f, &g, &b.add(&a))
    }

    /// `2P` (dbl-2008-hwcd, `a = −1`).
    #[inline(always)]
    fn double(&self) -> ExtendedPoint {
        // The formula of `double_formula`, written out (see `add`).
        let a = self.x.square();
        let b = self.y.square();
        let zz = self.z.square();
        let c = zz.add(&zz);
        let h = a.add(&b); // −H of the paper: H = −A − B
        let e = h.sub(&self.x.add(&self.y).square()); // −E
        let g = a.sub(&b); // −G: G = B − A
        let f = c.sub(&b).add(&a); // −F: F = G − C
        // (−E)(−F) = EF, (−G)(−H) = GH, (−E)(−H) = EH, (−F)(−G) = FG.
        ExtendedPoint::from_efgh(&e, &f, &g, &h)
    }

    #[inline(always)]
    fn from_efgh(e: &Fe, f: &Fe, g: &Fe, h: &Fe) -> ExtendedPoint {
        // The generic `from_efgh` written out on the inherent operations: this is the end of
        // the mixed addition, the hot loop of `double_fixed_base_mul`, and through the generic
        // one LLVM allocated registers worse there (more spills, the recurring-signer bench
        // ~7 % slower).
        ExtendedPoint {
            x: e.mul(f),
            y: g.mul(h),
            z: f.mul(g),
            t: e.mul(h),
        }
    }
}

/// The field operations the point formulas take, for any representation of the field (this
/// radix-2^51 one or the IFMA lanes' of `ifma/point.rs`): the formulas are written once,
/// generic over this trait, statically dispatched and inlined into each representation's code.
///
/// # Safety
/// The methods are `unsafe` because a representation may need something of its caller (the
/// IFMA lanes need a CPU with AVX-512F and AVX-512 IFMA); each implementor documents what, and
/// a caller of a method — or of [`add_formula`] / [`double_formula`] — must guarantee it. An
/// implementor promises that, so guaranteed, every method is sound on any inputs the formulas
/// give it (the outputs of its own `add`, `sub`, `mul` and `square`, and the coordinates the
/// formulas' callers pass) and returns the field operation's result.
pub(crate) unsafe trait FieldArith: Sized {
    /// `self + rhs`.
    ///
    /// # Safety
    /// What the implementor documents.
    unsafe fn add(&self, rhs: &Self) -> Self;
    /// `self − rhs`.
    ///
    /// # Safety
    /// What the implementor documents.
    unsafe fn sub(&self, rhs: &Self) -> Self;
    /// `self · rhs`.
    ///
    /// # Safety
    /// What the implementor documents.
    unsafe fn mul(&self, rhs: &Self) -> Self;
    /// `self²`.
    ///
    /// # Safety
    /// What the implementor documents.
    unsafe fn square(&self) -> Self;
}

// SAFETY: the radix-2^51 field's operations need no CPU feature and nothing else of the
// caller; they are its safe inherent functions.
unsafe impl FieldArith for Fe {
    #[inline(always)]
    unsafe fn add(&self, rhs: &Fe) -> Fe {
        Fe::add(self, rhs)
    }
    #[inline(always)]
    unsafe fn sub(&self, rhs: &Fe) -> Fe {
        Fe::sub(self, rhs)
    }
    #[inline(always)]
    unsafe fn mul(&self, rhs: &Fe) -> Fe {
        Fe::mul(self, rhs)
    }
    #[inline(always)]
    unsafe fn square(&self) -> Fe {
        Fe::square(self)
    }
}

/// `(X : Y : Z : T)` of `P + Q` (add-2008-hwcd-3, `a = −1`; complete on this curve) from the
/// coordinates of `P` and `Q` and `d2 = 2d`, in any field representation whose `add` and `sub`
/// outputs feed its `mul`.
///
/// # Safety
/// What `F`'s [`FieldArith`] implementation requires of its caller.
#[inline(always)]
pub(super) unsafe fn add_formula<F: FieldArith>(p: [&F; 4], q: [&F; 4], d2: &F) -> [F; 4] {
    let ([px, py, pz, pt], [qx, qy, qz, qt]) = (p, q);
    // SAFETY: the caller guarantees what F's operations require.
    unsafe {
        let a = F::mul(&F::sub(py, px), &F::sub(qy, qx));
        let b = F::mul(&F::add(py, px), &F::add(qy, qx));
        let c = F::mul(&F::mul(pt, d2), qt);
        let zz = F::mul(pz, qz);
        let d = F::add(&zz, &zz);
        from_efgh([
            &F::sub(&b, &a),
            &F::sub(&d, &c),
            &F::add(&d, &c),
            &F::add(&b, &a),
        ])
    }
}

/// `(X : Y : Z : T)` of `2P` (dbl-2008-hwcd, `a = −1`) from `P`'s `X, Y, Z`, in any field
/// representation whose `add` outputs feed its `sub` (limbs `< 2^54` for the radix-2^51 one:
/// `f` subtracts a square from an uncarried sum and adds a square to it).
///
/// # Safety
/// What `F`'s [`FieldArith`] implementation requires of its caller.
#[inline(always)]
pub(crate) unsafe fn double_formula<F: FieldArith>(p: [&F; 3]) -> [F; 4] {
    // SAFETY: the caller guarantees what F's operations require.
    unsafe {
        let [e, f, g, h] = double_efgh(p);
        from_efgh([&e, &f, &g, &h])
    }
}

/// `E, F, G, H` of `2P` (dbl-2008-hwcd, `a = −1`, as [`double_formula`]): `2P` is
/// [`from_efgh`] of them, or, when the next operation is another doubling (which reads no `T`),
/// [`projective_from_efgh`].
///
/// # Safety
/// What `F`'s [`FieldArith`] implementation requires of its caller.
#[inline(always)]
pub(crate) unsafe fn double_efgh<F: FieldArith>(p: [&F; 3]) -> [F; 4] {
    let [x, y, z] = p;
    // SAFETY: the caller guarantees what F's operations require.
    unsafe {
        let a = F::square(x);
        let b = F::square(y);
        let zz = F::square(z);
        let c = F::add(&zz, &zz);
        let h = F::add(&a, &b); // −H of the paper: H = −A − B
        let e = F::sub(&h, &F::square(&F::add(x, y))); // −E
        let g = F::sub(&a, &b); // −G: G = B − A
        let f = F::add(&F::sub(&c, &b), &a); // −F: F = G − C
        // (−E)(−F) = EF, (−G)(−H) = GH, (−E)(−H) = EH, (−F)(−G) = FG.
        [e, f, g, h]
    }
}

/// `(E·F : G·H : F·G : E·H)`, the common end of addition and doubling.
///
/// # Safety
/// What `F`'s [`FieldArith`] implementation requires of its caller.
#[inline(always)]
pub(crate) unsafe fn from_efgh<F: FieldArith>(efgh: [&F; 4]) -> [F; 4] {
    let [e, f, g, h] = efgh;
    // SAFETY: the caller guarantees what F's operations require.
    unsafe { [F::mul(e, f), F::mul(g, h), F::mul(f, g), F::mul(e, h)] }
}

/// `(E·F : G·H : F·G)`: the point of [`from_efgh`] without `T`, one multiplication fewer, for
/// a point that is only doubled next.
///
/// # Safety
/// What `F`'s [`FieldArith`] implementation requires of its caller.
#[inline(always)]
pub(crate) unsafe fn projective_from_efgh<F: FieldArith>(efgh: [&F; 4]) -> [F; 3] {
    let [e, f, g, h] = efgh;
    // SAFETY: the caller guarantees what F's operations require.
    unsafe { [F::mul(e, f), F::mul(g, h), F::mul(f, g)] }
}

/// Multiples `j·16^(2i)·P` for `i < 32`, `1 ≤ j ≤ 8`, affine, for radix-16 fixed-base
/// multiplication (30 KiB).
pub struct FixedBaseTable(Box<[[AffineNiels; 8]; 32]>);

impl FixedBaseTable {
    /// The table of `p`.
    pub fn new(p: &ExtendedPoint) -> FixedBaseTable {
        let mut points = Vec::with_capacity(256);
        let mut base = *p;
        for _ in 0..32 {
            let mut multiple = base;
            for _ in 0..8 {
                points.push(multiple);
                multiple = multiple.add(&base);
            }
            for _ in 0..8 {
                base = base.double();
            }
        }
        let mut table = Box::new(
            [[AffineNiels {
                y_plus_x: Fe::ONE,
                y_minus_x: Fe::ONE,
                xy2d: Fe::ZERO,
            }; 8]; 32],
        );
        for (k, niels) in affine_niels(&points).into_iter().enumerate() {
            table[k / 8][k % 8] = niels;
        }
        FixedBaseTable(table)
    }

    /// Entry `j` of row `i`, `(j + 1)·16^(2i)·P`, for every row in order, as the canonical
    /// encodings of `(y + x, y − x, 2d·x·y)` (how other field representations take the table).
    pub(super) fn niels_encodings(&self) -> impl Iterator<Item = [[u8; 32]; 3]> + '_ {
        self.0.iter().flatten().map(AffineNiels::encodings)
    }

    /// The table of the ed25519 base point, built once.
    pub fn basepoint() -> &'static FixedBaseTable {
        static BASEPOINT: LazyLock<FixedBaseTable> = LazyLock::new(|| {
            let b = ExtendedPoint::decompress(ED25519_BASEPOINT_COMPRESSED.as_bytes())
                .expect("the base point decompresses");
            FixedBaseTable::new(&b)
        });
        &BASEPOINT
    }

    /// Adds `digit·16^(2i)·P` (digit in −8..=8).
    #[inline(always)]
    fn add_digit(&self, acc: &ExtendedPoint, i: usize, digit: i8) -> ExtendedPoint {
        match digit {
            0 => *acc,
            d => acc.add_affine(&self.0[i][usize::from(d.unsigned_abs()) - 1], d < 0),
        }
    }
}

/// Signed radix-16 digits of a scalar below 2^255: `s = Σ digit[i]·16^i`, each digit in
/// −8..8 except the last, which may be 8.
pub(super) fn radix16(bytes: &[u8; 32]) -> [i8; 64] {
    let mut digits = [0i8; 64];
    for (i, byte) in bytes.iter().enumerate() {
        digits[2 * i] = (byte & 15) as i8;
        digits[2 * i + 1] = (byte >> 4) as i8;
    }
    for i in 0..63 {
        let carry = (digits[i] + 8) >> 4;
        digits[i] -= carry << 4;
        digits[i + 1] += carry;
    }
    digits
}

/// `[s]B + [k]P` for `B`'s table `b` and `P`'s table `p`; scalars below 2^255 as 32 bytes.
pub fn double_fixed_base_mul(
    b: &FixedBaseTable,
    s: &[u8; 32],
    p: &FixedBaseTable,
    k: &[u8; 32],
) -> ExtendedPoint {
    let (s, k) = (radix16(s), radix16(k));
    let mut acc = ExtendedPoint::IDENTITY;
    for i in 0..32 {
        acc = b.add_digit(&acc, i, s[2 * i + 1]);
        acc = p.add_digit(&acc, i, k[2 * i + 1]);
    }
    for _ in 0..4 {
        acc = acc.double();
    }
    for i in 0..32 {
        acc = b.add_digit(&acc, i, s[2 * i]);
        acc = p.add_digit(&acc, i, k[2 * i]);
    }
    acc
}

/// The affine Niels form of every point, with one inversion for all of them.
fn affine_niels(points: &[ExtendedPoint]) -> Vec<AffineNiels> {
    let d2 = &CURVE.d2;
    points
        .iter()
        .zip(batch_invert(points.iter().map(|p| p.z)))
        .map(|(p, zinv)| {
            let (x, y) = (p.x.mul(&zinv), p.y.mul(&zinv));
            AffineNiels {
                y_plus_x: y.add(&x),
                y_minus_x: y.sub(&x),
                xy2d: x.mul(&y).mul(d2),
            }
        })
        .collect()
}

impl AffineNiels {
    /// The canonical encodings of `(y + x, y − x, 2d·x·y)`.
    fn encodings(&self) -> [[u8; 32]; 3] {
        [self.y_plus_x, self.y_minus_x, self.xy2d].map(Fe::to_bytes)
    }
}

/// `P, 2P, …, n·P` in affine Niels form, as [`FixedBaseTable::niels_encodings`] gives them.
pub(super) fn multiples_niels_encodings(p: &ExtendedPoint, n: usize) -> Vec<[[u8; 32]; 3]> {
    let mut points = Vec::with_capacity(n);
    let mut multiple = *p;
    for _ in 0..n {
        points.push(multiple);
        multiple = multiple.add(p);
    }
    affine_niels(&points)
        .iter()
        .map(AffineNiels::encodings)
        .collect()
}

/// `1/z` for every `z` (none zero), with one inversion (Montgomery's trick).
fn batch_invert(zs: impl Iterator<Item = Fe>) -> Vec<Fe> {
    let zs: Vec<Fe> = zs.collect();
    let mut prefix = Vec::with_capacity(zs.len());
    let mut acc = Fe::ONE;
    for z in &zs {
        prefix.push(acc);
        acc = acc.mul(z);
    }
    let mut inv = acc.invert();
    let mut out = vec![Fe::ZERO; zs.len()];
    for i in (0..zs.len()).rev() {
        out[i] = inv.mul(&prefix[i]);
        inv = inv.mul(&zs[i]);
    }
    out
}

/// The canonical encodings of `points`, with one field inversion for all of them.
pub fn compress_batch(points: &[ExtendedPoint]) -> Vec<[u8; 32]> {
    let inverses = batch_invert(points.iter().map(|p| p.z));
    points
        .iter()
        .zip(inverses)
        .map(|(p, zinv)| {
            let mut bytes = p.y.mul(&zinv).to_bytes();
            bytes[31] |= u8::from(p.x.mul(&zinv).is_negative()) << 7;
            bytes
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
    use curve25519_dalek::edwards::CompressedEdwardsY;
    use curve25519_dalek::scalar::Scalar;

    use crate::sigverify::field::tests::test_bytes;

    fn scalar(seed: u64) -> Scalar {
        Scalar::from_bytes_mod_order_wide(&test_bytes(seed))
    }

    /// The scalar `add` and `double` are the generic `add_formula` / `double_formula` written
    /// out (for the hot path's registers): both give the same points.
    #[test]
    fn the_written_out_formulas_are_the_generic_ones() {
        let points: Vec<ExtendedPoint> = (0..64u64)
            .filter_map(|seed| {
                let a = ED25519_BASEPOINT_POINT * scalar(7_000 + seed);
                ExtendedPoint::decompress(&a.compress().to_bytes())
            })
            .collect();
        for pair in points.windows(2) {
            let (p, q) = (&pair[0], &pair[1]);
            // SAFETY: the scalar field's operations need no CPU feature.
            let [x, y, z, t] = unsafe {
                add_formula(
                    [&p.x, &p.y, &p.z, &p.t],
                    [&q.x, &q.y, &q.z, &q.t],
                    &CURVE.d2,
                )
            };
            let generic_sum = ExtendedPoint { x, y, z, t };
            // SAFETY: as above.
            let [x, y, z, t] = unsafe { double_formula([&p.x, &p.y, &p.z]) };
            let generic_double = ExtendedPoint { x, y, z, t };
            assert_eq!(
                compress_batch(&[generic_sum, generic_double]),
                compress_batch(&[p.add(q), p.double()])
            );
        }
    }

    #[test]
    fn decompression_matches_curve25519_dalek() {
        let mut accepted = 0;
        for seed in 0..400u64 {
            let mut bytes = scalar(seed).to_bytes();
            bytes[31] ^= (seed as u8) & 0x80; // both sign bits
            let ours = ExtendedPoint::decompress(&bytes);
            let theirs = CompressedEdwardsY(bytes).decompress();
            assert_eq!(ours.is_some(), theirs.is_some(), "{bytes:?}");
            if let (Some(ours), Some(theirs)) = (ours, theirs) {
                accepted += 1;
                assert_eq!(compress_batch(&[ours])[0], theirs.compress().to_bytes());
            }
        }
        assert!(accepted > 100 && accepted < 300, "about half are points");
    }

    #[test]
    fn double_fixed_base_mul_matches_curve25519_dalek() {
        let b = FixedBaseTable::basepoint();
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for seed in 0..40u64 {
            let a = ED25519_BASEPOINT_POINT * scalar(1000 + seed);
            // Mixed order too: a torsion component must survive the tables.
            let a = a + EIGHT_TORSION[(seed % 8) as usize];
            let a_ours = ExtendedPoint::decompress(a.compress().as_bytes()).expect("a point");
            let table = FixedBaseTable::new(&a_ours.neg());
            let (s, k) = (scalar(seed), scalar(500 + seed));
            ours.push(double_fixed_base_mul(
                b,
                &s.to_bytes(),
                &table,
                &k.to_bytes(),
            ));
            theirs.push((ED25519_BASEPOINT_POINT * s - a * k).compress().to_bytes());
        }
        // Edge scalars: 0, 1, L − 1.
        let a_ours = ExtendedPoint::decompress(ED25519_BASEPOINT_COMPRESSED.as_bytes()).unwrap();
        let table = FixedBaseTable::new(&a_ours);
        for s in [Scalar::ZERO, Scalar::ONE, -Scalar::ONE] {
            ours.push(double_fixed_base_mul(
                b,
                &s.to_bytes(),
                &table,
                &s.to_bytes(),
            ));
            theirs.push((ED25519_BASEPOINT_POINT * (s + s)).compress().to_bytes());
        }
        assert_eq!(compress_batch(&ours), theirs);
    }

    #[test]
    fn small_order_encodings_are_the_eight_torsion_points() {
        for p in EIGHT_TORSION {
            assert!(is_small_order_encoding(p.compress().as_bytes()));
            assert!(p.is_small_order());
        }
        let mut distinct = SMALL_ORDER.to_vec();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 8);
        assert!(!is_small_order_encoding(
            ED25519_BASEPOINT_COMPRESSED.as_bytes()
        ));
    }
}
