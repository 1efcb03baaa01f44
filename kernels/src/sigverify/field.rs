//! Arithmetic modulo `p = 2^255 − 19` for the signer cache's variable-time fixed-base path
//! ([`super::fixed_base`]).
//!
//! curve25519-dalek keeps its field type private, and the fixed-base path needs field arithmetic
//! without the constant-time table scans of dalek's public fixed-base API (verification handles
//! public data only, so variable time is safe there). This is the classic radix-2^51
//! representation that dalek's own 64-bit serial backend uses.
//!
//! # Representation and limb bounds
//!
//! An element is five unsigned 64-bit limbs `l[0..5]` with value `Σ l[i]·2^(51·i)` (mod p). The
//! representation is not unique; only [`FieldElement::to_bytes`] is canonical.
//!
//! - "reduced": every limb `< 2^51 + 2^15` — the output of [`mul`](FieldElement::mul),
//!   [`square`](FieldElement::square), [`sub`](FieldElement::sub), [`neg`](FieldElement::neg)
//!   and [`from_bytes`](FieldElement::from_bytes).
//! - [`add`](FieldElement::add) does not carry: the sum of two reduced elements has limbs
//!   `< 2^53`, the sum of two such sums `< 2^54`.
//! - `mul` and `square` accept limbs `< 2^54`: then every 128-bit column sum stays below
//!   `2^115`, and the final `carry·19` fits a u64 (dalek's `field51` argument).
//! - `sub` accepts a subtrahend with limbs `≤ 16·(2^51 − 19) = 2^55 − 304`: it adds `16p` limb by
//!   limb before subtracting, and the lowest limb of `16p` is `2^55 − 304` (the others
//!   `2^55 − 16`), so a larger limb would underflow.
//!
//! Equality is by canonical encoding. Nothing here is constant-time.

use super::fixed_base::FieldArith;

/// `2^51 − 1`.
const MASK51: u64 = (1 << 51) - 1;

/// An element of GF(2^255 − 19); see the module docs for the limb bounds.
#[derive(Clone, Copy, Debug)]
pub struct FieldElement(pub(crate) [u64; 5]);

#[inline(always)]
fn m(a: u64, b: u64) -> u128 {
    u128::from(a) * u128::from(b)
}

impl FieldElement {
    /// 0.
    pub const ZERO: FieldElement = FieldElement([0; 5]);
    /// 1.
    pub const ONE: FieldElement = FieldElement([1, 0, 0, 0, 0]);

    /// A small integer.
    pub const fn from_u64(n: u64) -> FieldElement {
        // Two limbs suffice for any u64.
        FieldElement([n & MASK51, n >> 51, 0, 0, 0])
    }

    /// The low 255 bits of `bytes` (little-endian), read modulo p as curve25519-dalek reads
    /// them: the top bit is ignored and a value `≥ p` is accepted (it stands for itself − p).
    pub fn from_bytes(bytes: &[u8; 32]) -> FieldElement {
        let load =
            |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes inside 32"));
        FieldElement([
            load(0) & MASK51,
            (load(6) >> 3) & MASK51,
            (load(12) >> 6) & MASK51,
            (load(19) >> 1) & MASK51,
            (load(24) >> 12) & MASK51,
        ])
    }

    /// The canonical encoding: the value fully reduced below p, 32 bytes little-endian, top
    /// bit clear.
    pub fn to_bytes(self) -> [u8; 32] {
        let mut l = self.reduce().0;
        // q = 1 exactly when the value (now < 2p) is ≥ p, found by adding 19 and carrying.
        let mut q = (l[0] + 19) >> 51;
        for limb in &l[1..] {
            q = (limb + q) >> 51;
        }
        l[0] += 19 * q;
        for i in 0..4 {
            l[i + 1] += l[i] >> 51;
            l[i] &= MASK51;
        }
        l[4] &= MASK51; // drops the 2^255 that the +19q carried out: value − p
        let mut out = [0u8; 32];
        let (mut acc, mut bits, mut k) = (0u128, 0u32, 0usize);
        for limb in l {
            acc |= u128::from(limb) << bits;
            bits += 51;
            while bits >= 8 {
                out[k] = acc as u8;
                acc >>= 8;
                bits -= 8;
                k += 1;
            }
        }
        out[k] = acc as u8;
        out
    }

    /// Whether the canonical value is odd ("negative" in RFC 8032's sign convention).
    pub fn is_negative(&self) -> bool {
        self.to_bytes()[0] & 1 == 1
    }

    /// Whether two elements are equal modulo p.
    pub fn eq_mod_p(&self, other: &FieldElement) -> bool {
        self.to_bytes() == other.to_bytes()
    }

    /// Carries every limb into the next (the top one times 19 into the bottom): limbs become
    /// `< 2^51 + 2^15` for inputs `< 2^56` (every caller's; for inputs up to 2^64 limb 0 can
    /// reach 2^51 + 2^17.2).
    #[inline(always)]
    fn reduce(&self) -> FieldElement {
        let l = self.0;
        let c = [l[0] >> 51, l[1] >> 51, l[2] >> 51, l[3] >> 51, l[4] >> 51];
        FieldElement([
            (l[0] & MASK51) + c[4] * 19,
            (l[1] & MASK51) + c[0],
            (l[2] & MASK51) + c[1],
            (l[3] & MASK51) + c[2],
            (l[4] & MASK51) + c[3],
        ])
    }

    /// `self + rhs` without carrying (see the bounds in the module docs).
    #[inline(always)]
    pub fn add(&self, rhs: &FieldElement) -> FieldElement {
        let (a, b) = (&self.0, &rhs.0);
        FieldElement([
            a[0] + b[0],
            a[1] + b[1],
            a[2] + b[2],
            a[3] + b[3],
            a[4] + b[4],
        ])
    }

    /// `self − rhs`, reduced; `self` limbs `< 2^54`, `rhs` limbs `≤ 2^55 − 304`.
    #[inline(always)]
    pub fn sub(&self, rhs: &FieldElement) -> FieldElement {
        // 16p, limb by limb.
        const P16_0: u64 = 16 * ((1 << 51) - 19);
        const P16: u64 = 16 * MASK51;
        let (a, b) = (&self.0, &rhs.0);
        FieldElement([
            (a[0] + P16_0) - b[0],
            (a[1] + P16) - b[1],
            (a[2] + P16) - b[2],
            (a[3] + P16) - b[3],
            (a[4] + P16) - b[4],
        ])
        .reduce()
    }

    /// `−self`, reduced.
    #[inline(always)]
    pub fn neg(&self) -> FieldElement {
        FieldElement::ZERO.sub(self)
    }

    /// Carries five 128-bit column sums (each `< 2^115`) into a reduced element.
    #[inline(always)]
    fn carry(c: [u128; 5]) -> FieldElement {
        let [c0, mut c1, mut c2, mut c3, mut c4] = c;
        c1 += c0 >> 51;
        c2 += c1 >> 51;
        c3 += c2 >> 51;
        c4 += c3 >> 51;
        // c4 has no ×19 terms: < 5·2^108 + 2^65 for inputs < 2^54, so `top < 2^59.33` and
        // `top·19 + 2^51 < 2^63.6`.
        let top = (c4 >> 51) as u64;
        let mut l0 = (c0 as u64 & MASK51) + top * 19;
        let l1 = (c1 as u64 & MASK51) + (l0 >> 51);
        l0 &= MASK51;
        FieldElement([
            l0,
            l1,
            c2 as u64 & MASK51,
            c3 as u64 & MASK51,
            c4 as u64 & MASK51,
        ])
    }

    /// `self · rhs`, reduced; both with limbs `< 2^54`.
    #[inline(always)]
    pub fn mul(&self, rhs: &FieldElement) -> FieldElement {
        let (a, b) = (&self.0, &rhs.0);
        let (b1, b2, b3, b4) = (b[1] * 19, b[2] * 19, b[3] * 19, b[4] * 19);
        FieldElement::carry([
            m(a[0], b[0]) + m(a[4], b1) + m(a[3], b2) + m(a[2], b3) + m(a[1], b4),
            m(a[1], b[0]) + m(a[0], b[1]) + m(a[4], b2) + m(a[3], b3) + m(a[2], b4),
            m(a[2], b[0]) + m(a[1], b[1]) + m(a[0], b[2]) + m(a[4], b3) + m(a[3], b4),
            m(a[3], b[0]) + m(a[2], b[1]) + m(a[1], b[2]) + m(a[0], b[3]) + m(a[4], b4),
            m(a[4], b[0]) + m(a[3], b[1]) + m(a[2], b[2]) + m(a[1], b[3]) + m(a[0], b[4]),
        ])
    }

    /// `self²`, reduced; limbs `< 2^54`.
    #[inline(always)]
    pub fn square(&self) -> FieldElement {
        let a = &self.0;
        let (a3_19, a4_19) = (a[3] * 19, a[4] * 19);
        let (d0, d1, d2) = (2 * a[0], 2 * a[1], 2 * a[2]);
        FieldElement::carry([
            m(a[0], a[0]) + m(d1, a4_19) + m(d2, a3_19),
            m(a[3], a3_19) + m(d0, a[1]) + m(d2, a4_19),
            m(a[1], a[1]) + m(d0, a[2]) + m(2 * a[4], a3_19),
            m(a[4], a4_19) + m(d0, a[3]) + m(d1, a[2]),
            m(a[2], a[2]) + m(d0, a[4]) + m(d1, a[3]),
        ])
    }

    /// `self^(2^k)`, `k ≥ 1`.
    fn pow2k(&self, k: u32) -> FieldElement {
        // SAFETY: this field's operations need nothing of the caller.
        unsafe { pow2k(self, k) }
    }

    /// `(self^(2^250 − 1), self^11)`, the shared start of inversion and square roots.
    fn pow22501(&self) -> (FieldElement, FieldElement) {
        // SAFETY: this field's operations need nothing of the caller.
        unsafe { pow22501(self) }
    }

    /// `1 / self` (`self^(p − 2)`); 0 maps to 0.
    pub fn invert(&self) -> FieldElement {
        let (t19, t3) = self.pow22501();
        t19.pow2k(5).mul(&t3) // 2^255 − 21 = p − 2
    }

    /// `self^((p − 5) / 8)`.
    fn pow_p58(&self) -> FieldElement {
        self.pow22501().0.pow2k(2).mul(self) // 2^252 − 3
    }

    /// A square root of −1: `2^((p − 1) / 4)`.
    pub fn sqrt_minus_one() -> FieldElement {
        // (p − 1) / 4 = 2^253 − 5 = (2^250 − 1)·8 + 3.
        let two = FieldElement::from_u64(2);
        two.pow22501().0.pow2k(3).mul(&FieldElement::from_u64(8))
    }

    /// `(true, +√(u/v))` when `u/v` is a square (the non-negative root), `(true, 0)` when
    /// `u = 0`, else `(false, _)` — curve25519-dalek's `sqrt_ratio_i`, whose answer decides
    /// which encodings decompress.
    pub fn sqrt_ratio(
        u: &FieldElement,
        v: &FieldElement,
        i: &FieldElement,
    ) -> (bool, FieldElement) {
        let v3 = v.square().mul(v);
        let v7 = v3.square().mul(v);
        let mut r = u.mul(&v3).mul(&u.mul(&v7).pow_p58());
        let check = v.mul(&r.square());
        let neg_u = u.neg();
        let correct = check.eq_mod_p(u);
        let flipped = check.eq_mod_p(&neg_u);
        let flipped_i = check.eq_mod_p(&neg_u.mul(i));
        if flipped || flipped_i {
            r = r.mul(i);
        }
        if r.is_negative() {
            r = r.neg();
        }
        (correct || flipped, r)
    }
}

/// `x^(2^k)`, `k ≥ 1`, for any representation of the field (this one or the lanes').
///
/// # Safety
/// What `F`'s [`FieldArith`] implementation requires of its caller.
#[inline(always)]
pub(super) unsafe fn pow2k<F: FieldArith>(x: &F, k: u32) -> F {
    // SAFETY: the caller guarantees what F's operations require.
    unsafe {
        let mut y = x.square();
        for _ in 1..k {
            y = y.square();
        }
        y
    }
}

/// `(x^(2^250 − 1), x^11)`, the shared start of inversion and square roots, for any
/// representation of the field: the addition chain is written once. Generic over
/// [`FieldArith`] (not closures), so that in the lanes it inlines into its caller's target
/// features.
///
/// # Safety
/// What `F`'s [`FieldArith`] implementation requires of its caller.
#[inline(always)]
pub(super) unsafe fn pow22501<F: FieldArith>(x: &F) -> (F, F) {
    // SAFETY: the caller guarantees what F's operations require.
    unsafe {
        let t0 = x.square(); // 2
        let t1 = pow2k(&t0, 2); // 8
        let t2 = x.mul(&t1); // 9
        let t3 = t0.mul(&t2); // 11
        let t5 = t2.mul(&t3.square()); // 31 = 2^5 − 1
        let t7 = pow2k(&t5, 5).mul(&t5); // 2^10 − 1
        let t9 = pow2k(&t7, 10).mul(&t7); // 2^20 − 1
        let t11 = pow2k(&t9, 20).mul(&t9); // 2^40 − 1
        let t13 = pow2k(&t11, 10).mul(&t7); // 2^50 − 1
        let t15 = pow2k(&t13, 50).mul(&t13); // 2^100 − 1
        let t17 = pow2k(&t15, 100).mul(&t15); // 2^200 − 1
        let t19 = pow2k(&t17, 50).mul(&t13); // 2^250 − 1
        (t19, t3)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Deterministic test bytes (a linear congruential generator's top bytes).
    pub(in crate::sigverify) fn test_bytes<const N: usize>(seed: u64) -> [u8; N] {
        let mut bytes = [0u8; N];
        let mut x = seed;
        for b in &mut bytes {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *b = (x >> 56) as u8;
        }
        bytes
    }

    fn sample(seed: u64) -> FieldElement {
        FieldElement::from_bytes(&test_bytes(seed))
    }

    #[test]
    fn encoding_is_canonical_and_round_trips() {
        // p itself, p + 1 and 2^255 − 1 read modulo p.
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert_eq!(FieldElement::from_bytes(&p).to_bytes(), [0u8; 32]);
        let mut p1 = p;
        p1[0] = 0xee;
        assert_eq!(
            FieldElement::from_bytes(&p1).to_bytes(),
            FieldElement::ONE.to_bytes()
        );
        let max = [0xffu8; 32]; // top bit ignored: 2^255 − 1 = p + 18
        assert_eq!(
            FieldElement::from_bytes(&max).to_bytes(),
            FieldElement::from_u64(18).to_bytes()
        );
        for s in 0..100 {
            let a = sample(s).to_bytes();
            assert_eq!(FieldElement::from_bytes(&a).to_bytes(), a);
        }
    }

    #[test]
    fn ring_identities_hold() {
        for s in 0..200 {
            let (a, b, c) = (sample(3 * s), sample(3 * s + 1), sample(3 * s + 2));
            // Distributivity with unreduced sums at their documented bounds.
            let lhs = a.add(&b).add(&a.add(&b)).mul(&c);
            let rhs = a.mul(&c).add(&b.mul(&c)).add(&a.mul(&c).add(&b.mul(&c)));
            assert!(lhs.eq_mod_p(&rhs));
            assert!(a.square().eq_mod_p(&a.mul(&a)));
            assert!(a.sub(&b).add(&b).eq_mod_p(&a));
            assert!(a.mul(&a.invert()).eq_mod_p(&FieldElement::ONE));
            assert!(a.neg().add(&a).eq_mod_p(&FieldElement::ZERO));
        }
    }

    #[test]
    fn sub_takes_a_subtrahend_up_to_its_documented_bound() {
        // 0 − x for the largest subtrahend limbs the bound allows (2^55 − 304 each):
        // x = (2^55 − 304)·Σ 2^(51·i), so −x is checked through x + (−x) = 0 with x computed
        // within mul's own bounds.
        let x = FieldElement([(1 << 55) - 304; 5]);
        let minus_x = FieldElement::ZERO.sub(&x);
        assert!(minus_x.0.iter().all(|&l| l < (1 << 51) + (1 << 15)));
        let x_reduced = FieldElement([1; 5]).mul(&FieldElement::from_u64((1 << 55) - 304));
        assert!(minus_x.add(&x_reduced).eq_mod_p(&FieldElement::ZERO));
    }

    #[test]
    fn square_roots_are_found_exactly_for_squares() {
        let i = FieldElement::sqrt_minus_one();
        assert!(i.square().eq_mod_p(&FieldElement::ONE.neg()));
        for s in 0..50 {
            let (x, v) = (sample(2 * s), sample(2 * s + 1));
            let u = x.square().mul(&v); // u/v = x²
            let (ok, r) = FieldElement::sqrt_ratio(&u, &v, &i);
            assert!(ok && !r.is_negative());
            assert!(r.square().eq_mod_p(&x.square()));
            // 2 is not a square mod p, so 2x² is not either.
            let (ok, _) = FieldElement::sqrt_ratio(&u.add(&u), &v, &i);
            assert!(!ok);
        }
        let (ok, r) = FieldElement::sqrt_ratio(&FieldElement::ZERO, &sample(7), &i);
        assert!(ok && r.eq_mod_p(&FieldElement::ZERO));
    }
}
