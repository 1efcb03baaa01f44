//! The lanes verifier: `N` signatures at once, one per 64-bit lane, each held to the rule of
//! [`crate::sigverify`] (SPEC §2) exactly as the portable verifier ([`crate::sigverify::cpu`])
//! holds it.
//!
//! Per signature, on the calling thread: `S < L` (else rejected at once), the signer cache's
//! lookup, and `k = SHA-512(R ‖ A ‖ M) mod L` (one SHA-512 per signature with the `sha2` crate:
//! about 5 % of a verification here, so a multi-buffer SHA-512 was not worth its code — README).
//! Then `N` signatures go through the lanes together, in one of two groups:
//!
//! - **New signers** ([`check_keys`], then [`verify_new_signers`]): `A` decompressed in the
//!   lanes first, keys that are no point or of small order answered there (at the cost of a
//!   decompression, as verify_strict), the others regrouped; then a table of `0…8 · A` per lane
//!   (projective Niels form), and `[S]B − [k]A` in one pass of 252 doublings (three of each
//!   four without `T`, which a doubling does not read): `k` in signed radix 16 (64 additions
//!   from the lanes' own tables, the sign flipping to `−A`), `S` in signed radix 256 (32
//!   additions from one shared table of `0…128 · B`, affine). Digits are fixed windows, not
//!   w-NAF: with `N` lanes, a position where any lane has a digit costs an addition in all.
//! - **Recurring signers** ([`verify_recurring_signers`]): the signer cache's fixed-base table
//!   of `−A` per lane ([`LaneTable`]: the cache's radix-16 table re-encoded for the lane field)
//!   and the base point's of the same shape, so `[S]B − [k]A` is 128 mixed additions and four
//!   doublings, as the portable path computes it; the next entries are prefetched.
//!
//! Table entries are fetched with the field's gathers (`vpgatherqq`), lane by lane at the
//! lane's digit (variable time is fine: everything here is public). `R' = [S]B − [k]A` is
//! encoded with one lane-wise inversion shared by two groups ([`Encoder`]); a lane is valid
//! when its key was a large-order point, the encoding equals the 32 bytes of R, and `R'` is
//! not of small order — the same decision as the portable path (see
//! [`crate::sigverify::cpu`] for why this is verify_strict's answer).
//!
//! A batch whose count is not a multiple of `N` ends with a group padded by copies of one of
//! its lanes (their answers dropped), or, for fewer than [`min_padded`] signatures, on the
//! portable path; both give the same answers.
//!
//! The entry points [`verify_many_ifma`] and [`verify_many_avx2`] carry their field's CPU
//! features; everything else here is generic and compiled into them (see [`super`]).

use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
use std::sync::{Arc, LazyLock};

use curve25519_dalek::constants::ED25519_BASEPOINT_COMPRESSED;
use curve25519_dalek::scalar::Scalar;

use super::point::LanePoint;
use super::{LaneField, invert};
use crate::sigverify::avx2::field::FieldElement2625x4;
use crate::sigverify::cache::{Signer, SignerCache};
use crate::sigverify::cpu;
use crate::sigverify::fixed_base::{
    ExtendedPoint, FixedBaseTable, double_efgh, from_efgh, multiples_niels_encodings,
    projective_from_efgh, radix16,
};
use crate::sigverify::ifma::field::FieldElement52x8;

/// Fewer leftover signatures than this go to the portable path instead of a padded group of
/// `lanes`: the portable verifier is cheaper up to there. Measured on the AMD EPYC Zen 4 guest
/// (README): a group of eight IFMA lanes costs about two portable verifications, a group of
/// four AVX2 lanes about 3.5.
pub(crate) const fn min_padded(lanes: usize) -> usize {
    if lanes >= 8 { 3 } else { 4 }
}

/// Entries per row of a [`LaneTable`]: the identity and `1…8` times the row's point.
const ROW: usize = 9;

/// The base point, decompressed.
fn basepoint() -> ExtendedPoint {
    ExtendedPoint::decompress(ED25519_BASEPOINT_COMPRESSED.as_bytes()).expect("B decompresses")
}

/// The identity `(1, 1, 0)` in affine Niels form (what a zero digit adds), encoded.
fn identity_niels() -> [[u8; 32]; 3] {
    let mut one = [0u8; 32];
    one[0] = 1;
    [one, one, [0; 32]]
}

/// Affine Niels points, given as the encodings of their three elements, as one table of the
/// field's words: entry `e` at `3·WORDS·e`.
fn niels_table<const N: usize, F: LaneField<N>>(
    entries: impl Iterator<Item = [[u8; 32]; 3]>,
) -> Box<[u64]> {
    let mut words = Vec::new();
    for entry in entries {
        for element in &entry {
            let at = words.len();
            words.resize(at + F::WORDS, 0);
            F::words(element, &mut words[at..]);
        }
    }
    words.into_boxed_slice()
}

/// `j·B` for `j` in `0..=128` (entry 0 the identity): the digits of `S` in signed radix 256.
fn base_window<const N: usize, F: LaneField<N>>() -> Box<[u64]> {
    let multiples = multiples_niels_encodings(&basepoint(), 128);
    niels_table::<N, F>(std::iter::once(identity_niels()).chain(multiples))
}

/// A fixed-base table in a lane field's words: row `i` holds the identity and `j·16^(2i)·P`
/// for `j` in `1..=8`, each entry three elements (35 KiB on IFMA, 69 KiB on AVX2).
pub(crate) struct LaneTable(Box<[u64]>);

impl LaneTable {
    /// The lane field's form of a portable fixed-base table (re-encoded, nothing recomputed).
    pub(crate) fn new<const N: usize, F: LaneField<N>>(table: &FixedBaseTable) -> LaneTable {
        let entries: Vec<[[u8; 32]; 3]> = table.niels_encodings().collect();
        let rows = entries
            .chunks(ROW - 1)
            .flat_map(|row| std::iter::once(identity_niels()).chain(row.iter().copied()));
        LaneTable(niels_table::<N, F>(rows))
    }

    /// The first word of the table.
    fn as_ptr(&self) -> *const u64 {
        self.0.as_ptr()
    }
}

/// The tables every group of a lane field reads: the base point's window (new signers) and its
/// fixed-base table (recurring signers), built once per field.
pub(crate) struct BaseTables {
    window: Box<[u64]>,
    fixed: LaneTable,
}

impl BaseTables {
    fn new<const N: usize, F: LaneField<N>>() -> BaseTables {
        BaseTables {
            window: base_window::<N, F>(),
            fixed: LaneTable::new::<N, F>(FixedBaseTable::basepoint()),
        }
    }
}

static IFMA_TABLES: LazyLock<BaseTables> = LazyLock::new(BaseTables::new::<8, FieldElement52x8>);
static AVX2_TABLES: LazyLock<BaseTables> = LazyLock::new(BaseTables::new::<4, FieldElement2625x4>);

/// Signed radix-256 digits of a scalar below 2^253: `s = Σ digit[i]·256^i`, each in −128..128.
fn radix256(bytes: &[u8; 32]) -> [i16; 32] {
    let mut digits = [0i16; 32];
    let mut carry = 0i16;
    for (digit, &byte) in digits.iter_mut().zip(bytes) {
        let v = i16::from(byte) + carry;
        carry = (v + 128) >> 8;
        *digit = v - (carry << 8);
    }
    digits
}

/// A point in Niels form in every lane: `(Y + X, Y − X, Z, 2d·T)`, `Z = 1` when `z` is `None`
/// (affine).
struct Niels<F> {
    y_plus_x: F,
    y_minus_x: F,
    z: Option<F>,
    xy2d: F,
}

/// The affine Niels points whose words start at `base + offsets[j]` (three elements of
/// `WORDS` consecutive words).
///
/// # Safety
/// The CPU features of `F`, and every entry inside one live table.
#[inline(always)]
unsafe fn gather_affine<const N: usize, F: LaneField<N>>(
    base: *const u64,
    offsets: &[i64; N],
) -> Niels<F> {
    // SAFETY: as the caller guarantees.
    unsafe {
        Niels {
            y_plus_x: F::gather(base, offsets, 1),
            y_minus_x: F::gather(base.wrapping_add(F::WORDS), offsets, 1),
            z: None,
            xy2d: F::gather(base.wrapping_add(2 * F::WORDS), offsets, 1),
        }
    }
}

/// `E, F, G, H` of `P + Q` in every lane, of `P − Q` in the lanes of `negate`
/// (madd/add-2008-hwcd-3, `a = −1`; negating `Q` swaps `Y + X` with `Y − X` and flips the sign
/// of `2d·T`, which swaps F and G): the sum is [`from_efgh`] of them, or, when it is only
/// doubled next, [`projective_from_efgh`].
///
/// # Safety
/// The CPU features of `F`.
#[inline(always)]
unsafe fn add_niels<const N: usize, F: LaneField<N>>(
    p: &LanePoint<N, F>,
    q: &Niels<F>,
    negate: u8,
) -> [F; 4] {
    // SAFETY: the caller vouched for the CPU features.
    unsafe {
        let y_plus_x = F::select(negate, &q.y_minus_x, &q.y_plus_x);
        let y_minus_x = F::select(negate, &q.y_plus_x, &q.y_minus_x);
        let a = p.y.sub(&p.x).mul(&y_minus_x);
        let b = p.y.add(&p.x).mul(&y_plus_x);
        let c = p.t.mul(&q.xy2d);
        let zz = match &q.z {
            Some(z) => p.z.mul(z),
            None => p.z,
        };
        let d = zz.add(&zz);
        let (f, g) = (d.sub(&c), d.add(&c));
        let (f, g) = (F::select(negate, &g, &f), F::select(negate, &f, &g));
        [b.sub(&a), f, g, b.add(&a)]
    }
}

/// The point of `E, F, G, H` with `T`.
///
/// # Safety
/// The CPU features of `F`.
#[inline(always)]
unsafe fn extended<const N: usize, F: LaneField<N>>(efgh: [F; 4]) -> LanePoint<N, F> {
    let [e, f, g, h] = &efgh;
    // SAFETY: the caller vouched for the CPU features.
    let [x, y, z, t] = unsafe { from_efgh([e, f, g, h]) };
    LanePoint { x, y, z, t }
}

/// `[16]P` in every lane for `P` given by `E, F, G, H`: four doublings, reading no `T` and
/// computing `T` only at the end.
///
/// # Safety
/// The CPU features of `F`.
#[inline(always)]
unsafe fn times16<const N: usize, F: LaneField<N>>(efgh: [F; 4]) -> LanePoint<N, F> {
    let [e, f, g, h] = &efgh;
    // SAFETY (every block): the caller vouched for the CPU features the lanes' field needs.
    let [mut x, mut y, mut z] = unsafe { projective_from_efgh([e, f, g, h]) };
    for _ in 0..3 {
        let [e, f, g, h] = unsafe { double_efgh([&x, &y, &z]) };
        [x, y, z] = unsafe { projective_from_efgh([&e, &f, &g, &h]) };
    }
    unsafe { extended(double_efgh([&x, &y, &z])) }
}

/// `N` lanes of digits as table offsets (in words), and the lanes to negate.
struct Digits<const N: usize, const POSITIONS: usize> {
    offsets: [[i64; N]; POSITIONS],
    negate: [u8; POSITIONS],
}

impl<const N: usize, const POSITIONS: usize> Digits<N, POSITIONS> {
    /// For lane `j`'s digit `d` at position `p`: the offset `offset(j, p, |d|)` of its table
    /// entry, and the lane negated where `d > 0` (`negate_when_positive`, for a table of `A`
    /// read as `−A`) or where `d < 0`.
    fn new<D: Copy + Into<i64>>(
        digits: &[[D; POSITIONS]; N],
        offset: impl Fn(usize, usize, i64) -> i64,
        negate_when_positive: bool,
    ) -> Self {
        let mut out = Digits {
            offsets: [[0; N]; POSITIONS],
            negate: [0; POSITIONS],
        };
        for (j, lane) in digits.iter().enumerate() {
            for (p, &d) in lane.iter().enumerate() {
                let d: i64 = d.into();
                out.offsets[p][j] = offset(j, p, d.abs());
                let negate = if negate_when_positive { d > 0 } else { d < 0 };
                out.negate[p] |= u8::from(negate) << j;
            }
        }
        out
    }
}

/// What a group needs of one signature.
#[derive(Clone, Copy)]
struct Lane {
    /// Where the answer goes.
    index: usize,
    r: [u8; 32],
    key: [u8; 32],
    /// `S`, canonical.
    s: [u8; 32],
    /// `k = SHA-512(R ‖ A ‖ M) mod L`.
    k: [u8; 32],
}

/// The largest `2·WORDS` of a lane field: a decompressed key's `x` and `y` in its words.
const KEY_WORDS: usize = 20;

/// A decompressed key, `x` then `y`, in the lane field's words (the first `2·WORDS` used).
type KeyWords = [u64; KEY_WORDS];

/// New signers' keys, decompressed in the lanes: the lanes whose key is a point of large order
/// (the only ones that can verify, and the signer cache's sightings), and each lane's `x` and
/// `y` in the field's words, for [`verify_new_signers`] to gather back. Checking the keys
/// before the scalar multiplication keeps keys that are no point (or of small order) from
/// costing one: they are rejected at the price of a decompression, as verify_strict rejects
/// them.
///
/// # Safety
/// The CPU features of `F`.
#[inline(always)]
unsafe fn check_keys<const N: usize, F: LaneField<N>>(keys: &[[u8; 32]; N]) -> (u8, [KeyWords; N]) {
    assert!(2 * F::WORDS <= KEY_WORDS, "a key's words fit");
    // SAFETY: the caller vouched for the CPU features.
    unsafe {
        let (a, decompressed) = LanePoint::<N, F>::decompress(keys);
        let large_order = decompressed & !a.is_small_order_affine();
        let element = F::WORDS * N;
        let mut interleaved = [0u64; KEY_WORDS * 8];
        a.x.store_interleaved(&mut interleaved[..element]);
        a.y.store_interleaved(&mut interleaved[element..2 * element]);
        let words = core::array::from_fn(|j| {
            let mut w = [0u64; KEY_WORDS];
            for i in 0..2 * F::WORDS {
                w[i] = interleaved[i * N + j];
            }
            w
        });
        (large_order, words)
    }
}

/// New signers whose keys [`check_keys`] found of large order: `R' = [S]B − [k]A` of every
/// lane, `A` gathered back from `keys`.
///
/// # Safety
/// The CPU features of `F`.
#[inline(always)]
unsafe fn verify_new_signers<const N: usize, F: LaneField<N>>(
    lanes: &[Lane; N],
    keys: [&KeyWords; N],
    base: &BaseTables,
) -> LanePoint<N, F> {
    // SAFETY: the caller vouched for the CPU features; every gather reads inside a lane's
    // `keys`, `table` or the base point's window (digits of k are at most 8 in size, of S at
    // most 128).
    unsafe {
        // Each lane's words as an offset from lane 0's (in words, all u64-aligned).
        let first = keys[0].as_ptr();
        let offsets = keys.map(|w| (w.as_ptr() as isize - first as isize) as i64 / 8);
        let x = F::gather(first, &offsets, 1);
        let y = F::gather(first.wrapping_add(F::WORDS), &offsets, 1);
        let a = LanePoint {
            x,
            y,
            z: F::one(),
            t: x.mul(&y),
        };
        // 0…8 · A, even multiples by doubling (cheaper than an addition), odd ones by adding A.
        let mut multiples = [LanePoint::<N, F>::identity(); ROW];
        multiples[1] = a;
        for e in 2..ROW {
            multiples[e] = if e % 2 == 0 {
                multiples[e / 2].double()
            } else {
                multiples[e - 1].add(&a)
            };
        }
        // Stored in projective Niels form, interleaved: entry e, coordinate c, word i of lane j
        // at ((e·4 + c)·WORDS + i)·N + j.
        let element = F::WORDS * N;
        let mut table = vec![0u64; ROW * 4 * element];
        let d2 = F::splat(&super::point::D2);
        for (entry, multiple) in table.chunks_mut(4 * element).zip(&multiples) {
            let niels = [
                multiple.y.add(&multiple.x),
                multiple.y.sub(&multiple.x),
                multiple.z,
                multiple.t.mul(&d2),
            ];
            for (c, value) in niels.iter().enumerate() {
                value.store_interleaved(&mut entry[c * element..]);
            }
        }
        let k = Digits::<N, 64>::new(
            &lanes.map(|l| radix16(&l.k)),
            |j, _, d| d * (4 * element) as i64 + j as i64,
            true, // −A
        );
        let entry_words = 3 * F::WORDS as i64;
        let s = Digits::<N, 32>::new(
            &lanes.map(|l| radix256(&l.s)),
            |_, _, d| d * entry_words,
            false,
        );
        let a_base = table.as_ptr();
        // The sum so far as `E, F, G, H`: each addition is followed by another (its `T`
        // needed) or by the doublings (not).
        let mut acc = LanePoint::<N, F>::identity();
        let mut last = [F::zero(), F::zero(), F::zero(), F::zero()];
        for p in (0..64).rev() {
            if p != 63 {
                acc = times16(last);
            }
            let offsets = &k.offsets[p];
            let multiple = Niels {
                y_plus_x: F::gather(a_base, offsets, N),
                y_minus_x: F::gather(a_base.add(element), offsets, N),
                z: Some(F::gather(a_base.add(2 * element), offsets, N)),
                xy2d: F::gather(a_base.add(3 * element), offsets, N),
            };
            last = add_niels(&acc, &multiple, k.negate[p]);
            if p % 2 == 0 {
                acc = extended(last);
                let multiple = gather_affine(base.window.as_ptr(), &s.offsets[p / 2]);
                last = add_niels(&acc, &multiple, s.negate[p / 2]);
            }
        }
        extended(last)
    }
}

/// How many positions ahead the recurring signers' table entries are fetched into the L1 cache:
/// a thousand signers' tables (35 MiB) do not fit in the caches, and without it about 40 % of
/// the time went to waiting for the gathers' cache misses (README).
const PREFETCH_AHEAD: usize = 2;

/// Asks for the cache lines of the entries at `base + offsets[j]` (`bytes` long) to be
/// fetched.
#[inline(always)]
fn prefetch_entries<const N: usize>(base: *const u64, offsets: &[i64; N], bytes: usize) {
    for &offset in offsets {
        let entry = base.wrapping_offset(offset as isize).cast::<i8>();
        for line in (0..bytes).step_by(64).chain([bytes - 1]) {
            // SAFETY: a prefetch is a hint; it never faults, whatever the address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(entry.wrapping_add(line)) };
        }
    }
}

/// Recurring signers with their cached tables of `−A`: `R' = [S]B − [k]A` of every lane.
///
/// # Safety
/// The CPU features of `F`.
#[inline(always)]
unsafe fn verify_recurring_signers<const N: usize, F: LaneField<N>>(
    lanes: &[Lane; N],
    tables: [&LaneTable; N],
    base: &BaseTables,
) -> LanePoint<N, F> {
    let b = &base.fixed;
    // Each lane's table as an offset from lane 0's (in words, all tables u64-aligned).
    let a_base = tables[0].as_ptr();
    let lane_base = tables.map(|t| (t.as_ptr() as isize - a_base as isize) as i64 / 8);
    let entry_words = 3 * F::WORDS;
    let entry = |row: usize, d: i64| ((row * ROW) as i64 + d) * entry_words as i64;
    let s = Digits::<N, 64>::new(
        &lanes.map(|l| radix16(&l.s)),
        |_, p, d| entry(p / 2, d),
        false,
    );
    let k = Digits::<N, 64>::new(
        &lanes.map(|l| radix16(&l.k)),
        |j, p, d| lane_base[j] + entry(p / 2, d),
        false,
    );
    // The positions in the order they are added: odd digits, four doublings, even digits.
    let order: [usize; 64] =
        core::array::from_fn(|t| if t < 32 { 2 * t + 1 } else { 2 * (t - 32) });
    let bytes = 8 * entry_words;
    for &p in &order[..PREFETCH_AHEAD] {
        prefetch_entries(a_base, &k.offsets[p], bytes);
    }
    // SAFETY: the caller vouched for the CPU features; every gather reads inside the base
    // point's table or the lane's own (digits at most 8 in size, rows below 32).
    unsafe {
        let mut acc = LanePoint::<N, F>::identity();
        for (t, &p) in order.iter().enumerate() {
            if let Some(&ahead) = order.get(t + PREFETCH_AHEAD) {
                prefetch_entries(a_base, &k.offsets[ahead], bytes);
            }
            acc = extended(add_niels(
                &acc,
                &gather_affine(b.as_ptr(), &s.offsets[p]),
                s.negate[p],
            ));
            let sum = add_niels(&acc, &gather_affine(a_base, &k.offsets[p]), k.negate[p]);
            acc = if t == 31 { times16(sum) } else { extended(sum) };
        }
        acc
    }
}

/// The lanes whose `R'` encodes to the signature's R and is not of small order.
fn matches<const N: usize>(lanes: &[Lane; N], encodings: &[[u8; 32]; N]) -> u8 {
    lanes
        .iter()
        .zip(encodings)
        .enumerate()
        .fold(0, |mask, (j, (lane, e))| {
            mask | u8::from(cpu::accepts(e, &lane.r)) << j
        })
}

/// Signatures waiting for a group, each with what its group needs besides.
struct Group<T> {
    waiting: Vec<(Lane, T)>,
}

/// `N` signatures of a group, and how many of them are real (the rest pad it).
type Full<const N: usize, T> = ([(Lane, T); N], usize);

impl<T: Clone> Group<T> {
    fn new<const N: usize>() -> Self {
        Group {
            waiting: Vec::with_capacity(N),
        }
    }

    /// Adds a signature; the group when `N` are waiting.
    fn push<const N: usize>(&mut self, lane: Lane, extra: T) -> Option<Full<N, T>> {
        self.waiting.push((lane, extra));
        (self.waiting.len() == N).then(|| self.take()).flatten()
    }

    /// What is waiting, padded to `N` with copies of its first signature; `None` (and left
    /// waiting) when fewer than [`min_padded`] are.
    fn take<const N: usize>(&mut self) -> Option<Full<N, T>> {
        let real = self.waiting.len();
        if real < min_padded(N) {
            return None;
        }
        let group = core::array::from_fn(|j| self.waiting[if j < real { j } else { 0 }].clone());
        self.waiting.clear();
        Some((group, real))
    }
}

/// A group whose `R' = [S]B − [k]A` is computed, waiting for its encoding.
struct Computed<const N: usize, F> {
    r_prime: LanePoint<N, F>,
    lanes: [Lane; N],
    /// How many lanes are real (the rest pad the group).
    real: usize,
}

/// Encodes computed groups two at a time, with one inversion for both (Montgomery's trick:
/// `1/(Z₁Z₂)` and three multiplications instead of two inversions), and writes their answers.
struct Encoder<'a, const N: usize, F> {
    waiting: Option<Computed<N, F>>,
    results: &'a mut [u8],
}

impl<const N: usize, F: LaneField<N>> Encoder<'_, N, F> {
    /// Takes a computed group; encodes it with the one before, or keeps it for the next.
    ///
    /// # Safety
    /// The CPU features of `F`.
    #[inline(always)]
    unsafe fn push(&mut self, group: Computed<N, F>) {
        match self.waiting.take() {
            None => self.waiting = Some(group),
            // SAFETY: the caller vouched for the CPU features.
            Some(first) => unsafe {
                let both = invert(&first.r_prime.z.mul(&group.r_prime.z));
                self.finish(&first, &both.mul(&group.r_prime.z));
                self.finish(&group, &both.mul(&first.r_prime.z));
            },
        }
    }

    /// Encodes the group still waiting, if any.
    ///
    /// # Safety
    /// The CPU features of `F`.
    #[inline(always)]
    unsafe fn flush(&mut self) {
        if let Some(group) = self.waiting.take() {
            // SAFETY: the caller vouched for the CPU features.
            unsafe { self.finish(&group, &invert(&group.r_prime.z)) };
        }
    }

    /// Writes the answers of a group's real lanes, `z_inv` being `1/Z` of its `R'`.
    ///
    /// # Safety
    /// The CPU features of `F`.
    #[inline(always)]
    unsafe fn finish(&mut self, group: &Computed<N, F>, z_inv: &F) {
        // SAFETY: the caller vouched for the CPU features.
        let encodings = unsafe { group.r_prime.compress_with(z_inv) };
        let valid = matches(&group.lanes, &encodings);
        for (j, lane) in group.lanes[..group.real].iter().enumerate() {
            self.results[lane.index] = valid >> j & 1;
        }
    }
}

/// Computes a group of new signers with checked keys.
///
/// # Safety
/// The CPU features of `F`.
#[inline(always)]
unsafe fn run_new<const N: usize, F: LaneField<N>>(
    (group, real): Full<N, KeyWords>,
    base: &BaseTables,
) -> Computed<N, F> {
    let lanes = group.each_ref().map(|g| g.0);
    let keys = group.each_ref().map(|g| &g.1);
    Computed {
        // SAFETY: the caller vouched for the CPU features.
        r_prime: unsafe { verify_new_signers::<N, F>(&lanes, keys, base) },
        lanes,
        real,
    }
}

/// Computes a group of recurring signers.
///
/// # Safety
/// The CPU features of `F`.
#[inline(always)]
unsafe fn run_recurring<const N: usize, F: LaneField<N>>(
    (group, real): Full<N, Arc<Signer>>,
    base: &BaseTables,
) -> Computed<N, F> {
    let tables = group.each_ref().map(|g| g.1.lane_table::<N, F>());
    let lanes = group.each_ref().map(|g| g.0);
    Computed {
        // SAFETY: the caller vouched for the CPU features.
        r_prime: unsafe { verify_recurring_signers::<N, F>(&lanes, tables, base) },
        lanes,
        real,
    }
}

/// Checks the keys of a group of new signers: the bad ones answered, the sightings recorded,
/// the good ones on to their group (computed when it is full).
///
/// # Safety
/// The CPU features of `F`.
#[inline(always)]
unsafe fn keys_checked<const N: usize, F: LaneField<N>>(
    (group, real): Full<N, ()>,
    encoder: &mut Encoder<'_, N, F>,
    new_signers: &mut Group<KeyWords>,
    cache: Option<&SignerCache>,
    base: &BaseTables,
) {
    // SAFETY: the caller vouched for the CPU features.
    let (large_order, words) = unsafe { check_keys::<N, F>(&group.each_ref().map(|g| g.0.key)) };
    for (j, (lane, ())) in group[..real].iter().enumerate() {
        if large_order >> j & 1 == 0 {
            encoder.results[lane.index] = 0;
            continue;
        }
        if let Some(cache) = cache {
            cache.observe(&lane.key);
        }
        if let Some(full) = new_signers.push::<N>(*lane, words[j]) {
            // SAFETY: as above.
            unsafe { encoder.push(run_new(full, base)) };
        }
    }
}

/// Verifies `signatures[i]` by `public_keys[i]` over `messages[i]`, `N` at a time; `results[i]`
/// is 1 when valid, else 0. Recurring signers use `cache`.
///
/// # Safety
/// The CPU features of `F`.
#[inline(always)]
unsafe fn verify_many<const N: usize, F: LaneField<N>>(
    signatures: &[[u8; 64]],
    public_keys: &[[u8; 32]],
    messages: &[&[u8]],
    results: &mut [u8],
    cache: Option<&SignerCache>,
    base: &BaseTables,
) {
    let n = crate::sigverify::assert_batch_shape(signatures, public_keys, messages, results);
    // New signers wait for their keys to be checked, then (valid keys only) for their group.
    let mut new_keys = Group::<()>::new::<N>();
    let mut new_signers = Group::<KeyWords>::new::<N>();
    let mut recurring = Group::<Arc<Signer>>::new::<N>();
    let mut encoder = Encoder::<N, F> {
        waiting: None,
        results: &mut *results,
    };
    // SAFETY (every `run_*` and `encoder` call below): the caller vouched for the CPU features.
    for i in 0..n {
        let (r, s) = signatures[i].split_at(32);
        let s: [u8; 32] = s.try_into().expect("32 bytes");
        if Option::<Scalar>::from(Scalar::from_canonical_bytes(s)).is_none() {
            encoder.results[i] = 0;
            continue;
        }
        let lane = Lane {
            index: i,
            r: r.try_into().expect("32 bytes"),
            key: public_keys[i],
            s,
            k: cpu::challenge(r, &public_keys[i], messages[i]).to_bytes(),
        };
        match cache.and_then(|c| c.get(&public_keys[i])) {
            Some(signer) => {
                if let Some(full) = recurring.push::<N>(lane, signer) {
                    unsafe { encoder.push(run_recurring(full, base)) };
                }
            }
            None => {
                if let Some(full) = new_keys.push::<N>(lane, ()) {
                    unsafe { keys_checked(full, &mut encoder, &mut new_signers, cache, base) };
                }
            }
        }
    }
    if let Some(full) = new_keys.take::<N>() {
        unsafe { keys_checked(full, &mut encoder, &mut new_signers, cache, base) };
    }
    if let Some(full) = new_signers.take::<N>() {
        unsafe { encoder.push(run_new(full, base)) };
    }
    if let Some(full) = recurring.take::<N>() {
        unsafe { encoder.push(run_recurring(full, base)) };
    }
    unsafe { encoder.flush() };
    // Too few for a group of their own: the portable path — keys not checked yet with the
    // cache, checked ones (already a sighting) without it, recurring signers with the table
    // already found (not looked up again).
    let portable = |i: usize, cache| {
        u8::from(cpu::verify(
            &signatures[i],
            &public_keys[i],
            messages[i],
            cache,
        ))
    };
    for (lane, ()) in &new_keys.waiting {
        results[lane.index] = portable(lane.index, cache);
    }
    for (lane, _) in &new_signers.waiting {
        results[lane.index] = portable(lane.index, None);
    }
    for (lane, signer) in &recurring.waiting {
        let (s, k) = (
            Scalar::from_bytes_mod_order(lane.s), // canonical already
            Scalar::from_bytes_mod_order(lane.k),
        );
        results[lane.index] = u8::from(cpu::verify_recurring(signer, &lane.r, &s, &k));
    }
}

/// [`verify_many`] in eight lanes of AVX-512 IFMA.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 IFMA ([`crate::sigverify::ifma::available`]).
///
/// # Panics
/// If the slices differ in length.
#[target_feature(enable = "avx512f,avx512ifma")]
pub(crate) unsafe fn verify_many_ifma(
    signatures: &[[u8; 64]],
    public_keys: &[[u8; 32]],
    messages: &[&[u8]],
    results: &mut [u8],
    cache: Option<&SignerCache>,
) {
    let base = &IFMA_TABLES;
    // SAFETY: the caller vouched for the CPU features.
    unsafe {
        verify_many::<8, FieldElement52x8>(signatures, public_keys, messages, results, cache, base)
    }
}

/// [`verify_many`] in four lanes of AVX2.
///
/// # Safety
/// The CPU must support AVX2 ([`crate::sigverify::avx2::available`]).
///
/// # Panics
/// If the slices differ in length.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn verify_many_avx2(
    signatures: &[[u8; 64]],
    public_keys: &[[u8; 32]],
    messages: &[&[u8]],
    results: &mut [u8],
    cache: Option<&SignerCache>,
) {
    let base = &AVX2_TABLES;
    // SAFETY: the caller vouched for the CPU features.
    unsafe {
        verify_many::<4, FieldElement2625x4>(
            signatures,
            public_keys,
            messages,
            results,
            cache,
            base,
        )
    }
}
