//! The 8-lane verifier: eight signatures at once, one per 64-bit lane, each held to the rule of
//! [`crate::sigverify`] (SPEC §2) exactly as the portable verifier ([`crate::sigverify::cpu`])
//! holds it.
//!
//! Per signature, on the calling thread: `S < L` (else rejected at once), the signer cache's
//! lookup, and `k = SHA-512(R ‖ A ‖ M) mod L` (one SHA-512 per signature with the `sha2` crate:
//! about 5 % of a verification here, so a multi-buffer SHA-512 was not worth its code — README).
//! Then eight signatures go through the lanes together, in one of two groups:
//!
//! - **New signers** ([`verify_new_signers`]): `A` decompressed in the lanes (invalid and
//!   small-order keys are masked out), a table of `0…8 · A` per lane (projective Niels form),
//!   and `[S]B − [k]A` in one pass of 252 doublings: `k` in signed radix 16 (64 additions from
//!   the lanes' own tables, the sign flipping to `−A`), `S` in signed radix 256 (32 additions
//!   from one shared table of `0…128 · B`, affine). Digits are fixed windows, not w-NAF: with
//!   eight lanes, a position where any lane has a digit costs an addition in all of them.
//! - **Recurring signers** ([`verify_recurring_signers`]): the signer cache's fixed-base table of
//!   `−A` per lane ([`LaneTable`]: the cache's radix-16 table re-encoded in radix 2^52) and the
//!   base point's of the same shape, so `[S]B − [k]A` is 128 mixed additions and four doublings,
//!   as the portable path computes it.
//!
//! Table entries are fetched with `vpgatherqq`, lane by lane at the lane's digit (variable time
//! is fine: everything here is public). Each group ends with one lane-wise inversion to encode
//! `R' = [S]B − [k]A`; a lane is valid when its key was a large-order point, the encoding equals
//! the 32 bytes of R, and `R'` is not of small order — the same decision as the portable path
//! (see [`crate::sigverify::cpu`] for why this is verify_strict's answer).
//!
//! A batch whose count is not a multiple of eight ends with a group padded by copies of one of
//! its lanes (their answers dropped), or, for fewer than [`MIN_PADDED`] signatures, on the
//! portable path; both give the same answers.

use core::arch::x86_64::*;
use std::sync::{Arc, LazyLock};

use curve25519_dalek::constants::ED25519_BASEPOINT_COMPRESSED;
use curve25519_dalek::scalar::Scalar;

use super::field::{FieldElement52x8 as Fe8, limbs_from_bytes};
use super::point::{D2, EdwardsPoint52x8 as P8};
use crate::sigverify::cache::{Signer, SignerCache};
use crate::sigverify::cpu;
use crate::sigverify::fixed_base::{
    ExtendedPoint, FixedBaseTable, double_formula, is_small_order_encoding,
    multiples_niels_encodings, radix16,
};

/// Signatures per group: one per 64-bit lane of a `__m512i`.
const LANES: usize = 8;

/// Fewer leftover signatures than this go to the portable path instead of a padded group (a
/// group of eight costs about as much as this many portable verifications; README).
pub(crate) const MIN_PADDED: usize = 2;

/// An affine Niels point `(y + x, y − x, 2d·x·y)`: three elements of five radix-2^52 limbs.
type NielsLimbs = [u64; 15];

/// The identity `(1, 1, 0)` in affine Niels form (what a zero digit adds).
const IDENTITY_NIELS: NielsLimbs = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/// Entries per row of a [`LaneTable`]: the identity and `1…8` times the row's point.
const ROW: usize = 9;

/// The limbs of an affine Niels point given as the canonical encodings of its three elements.
fn niels_limbs(encodings: &[[u8; 32]; 3]) -> NielsLimbs {
    let mut limbs = [0; 15];
    for (c, e) in encodings.iter().enumerate() {
        limbs[5 * c..5 * c + 5].copy_from_slice(&limbs_from_bytes(e));
    }
    limbs
}

/// The base point, decompressed.
fn basepoint() -> ExtendedPoint {
    ExtendedPoint::decompress(ED25519_BASEPOINT_COMPRESSED.as_bytes()).expect("B decompresses")
}

/// `j·B` for `j` in `0..=128` (entry 0 the identity): the digits of `S` in signed radix 256.
static BASE_WINDOW: LazyLock<Box<[NielsLimbs]>> = LazyLock::new(|| {
    std::iter::once(IDENTITY_NIELS)
        .chain(
            multiples_niels_encodings(&basepoint(), 128)
                .iter()
                .map(niels_limbs),
        )
        .collect()
});

/// A fixed-base table in the lanes' form: row `i` holds the identity and `j·16^(2i)·P` for
/// `j` in `1..=8`, each entry fifteen radix-2^52 limbs (35 KiB).
pub(crate) struct LaneTable(Box<[NielsLimbs]>);

impl LaneTable {
    /// The lanes' form of a portable fixed-base table (re-encoded, nothing recomputed).
    pub(crate) fn new(table: &FixedBaseTable) -> LaneTable {
        let entries: Vec<[[u8; 32]; 3]> = table.niels_encodings().collect();
        LaneTable(
            entries
                .chunks(ROW - 1)
                .flat_map(|row| std::iter::once(IDENTITY_NIELS).chain(row.iter().map(niels_limbs)))
                .collect(),
        )
    }

    /// The base point's table, built once.
    fn basepoint() -> &'static LaneTable {
        static BASEPOINT: LazyLock<LaneTable> =
            LazyLock::new(|| LaneTable::new(FixedBaseTable::basepoint()));
        &BASEPOINT
    }

    /// The first limb of the table.
    fn as_ptr(&self) -> *const u64 {
        self.0.as_ptr().cast()
    }
}

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
struct Niels8 {
    y_plus_x: Fe8,
    y_minus_x: Fe8,
    z: Option<Fe8>,
    xy2d: Fe8,
}

/// Lane `j` gets the element whose limb `i` is `base[offsets[j] + i·STRIDE]`.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 IFMA, and every address read must be inside one
/// live table of u64 limbs.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn gather<const STRIDE: usize>(base: *const u64, offsets: __m512i) -> Fe8 {
    Fe8 {
        // SAFETY: the caller keeps every address inside a live table.
        limbs: core::array::from_fn(|i| unsafe {
            _mm512_i64gather_epi64::<8>(offsets, base.wrapping_add(i * STRIDE).cast())
        }),
    }
}

/// The affine Niels points whose limbs start at `base + offsets[j]`, fifteen consecutive u64.
///
/// # Safety
/// As [`gather`].
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn gather_affine(base: *const u64, offsets: __m512i) -> Niels8 {
    // SAFETY: as the caller guarantees.
    unsafe {
        Niels8 {
            y_plus_x: gather::<1>(base, offsets),
            y_minus_x: gather::<1>(base.wrapping_add(5), offsets),
            z: None,
            xy2d: gather::<1>(base.wrapping_add(10), offsets),
        }
    }
}

/// `P + Q` in every lane, `P − Q` in the lanes of `negate` (madd/add-2008-hwcd-3, `a = −1`;
/// negating `Q` swaps `Y + X` with `Y − X` and flips the sign of `2d·T`, which swaps F and G).
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 IFMA.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn add_niels(p: &P8, q: &Niels8, negate: __mmask8) -> P8 {
    // SAFETY: the caller vouched for the CPU features; every element is reduced.
    unsafe {
        let y_plus_x = Fe8::select(negate, &q.y_minus_x, &q.y_plus_x);
        let y_minus_x = Fe8::select(negate, &q.y_plus_x, &q.y_minus_x);
        let a = p.y.sub(&p.x).mul(&y_minus_x);
        let b = p.y.add(&p.x).mul(&y_plus_x);
        let c = p.t.mul(&q.xy2d);
        let zz = match &q.z {
            Some(z) => p.z.mul(z),
            None => p.z,
        };
        let d = zz.add(&zz);
        let (f, g) = (d.sub(&c), d.add(&c));
        let (f, g) = (Fe8::select(negate, &g, &f), Fe8::select(negate, &f, &g));
        let (e, h) = (b.sub(&a), b.add(&a));
        P8 {
            x: e.mul(&f),
            y: g.mul(&h),
            z: f.mul(&g),
            t: e.mul(&h),
        }
    }
}

/// `[16]P` in every lane: four doublings, the first three without `T` (the formula reads only
/// `X, Y, Z`; the unused product is dropped by the compiler).
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 IFMA.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn times16(p: &P8) -> P8 {
    let (mut x, mut y, mut z) = (p.x, p.y, p.z);
    for _ in 0..3 {
        // SAFETY: the caller vouched for the CPU features the lanes' field needs.
        [x, y, z, _] = unsafe { double_formula([&x, &y, &z]) };
    }
    // SAFETY: as above.
    let [x, y, z, t] = unsafe { double_formula([&x, &y, &z]) };
    P8 { x, y, z, t }
}

/// Eight lanes of digits as table offsets (u64 elements), and the lanes to negate.
struct Digits<const N: usize> {
    offsets: [[i64; LANES]; N],
    negate: [__mmask8; N],
}

impl<const N: usize> Digits<N> {
    /// For lane `j`'s digit `d` at position `p`: the offset `offset(j, p, |d|)` of its table
    /// entry, and the lane negated where `d > 0` (`negate_when_positive`, for a table of `A`
    /// read as `−A`) or where `d < 0`.
    fn new<D: Copy + Into<i64>>(
        digits: &[[D; N]; LANES],
        offset: impl Fn(usize, usize, i64) -> i64,
        negate_when_positive: bool,
    ) -> Digits<N> {
        let mut out = Digits {
            offsets: [[0; LANES]; N],
            negate: [0; N],
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

    /// The offsets of position `p` in a vector.
    ///
    /// # Safety
    /// The CPU must support AVX-512F.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn at(&self, p: usize) -> __m512i {
        // SAFETY: 64 readable bytes; the load is unaligned.
        unsafe { _mm512_loadu_si512(self.offsets[p].as_ptr().cast()) }
    }
}

/// What a group needs of one signature.
#[derive(Clone, Copy)]
pub(crate) struct Lane {
    /// Where the answer goes.
    index: usize,
    r: [u8; 32],
    key: [u8; 32],
    /// `S`, canonical.
    s: [u8; 32],
    /// `k = SHA-512(R ‖ A ‖ M) mod L`.
    k: [u8; 32],
}

/// A table of `0…8 · A` per lane in projective Niels form: `[entry][coordinate·5 + limb][lane]`.
type MultiplesOfA = [[[u64; LANES]; 20]; ROW];

/// `0…8 · A` in every lane, stored for gathering.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 IFMA.
#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn multiples_of(a: &P8, out: &mut MultiplesOfA) {
    // SAFETY: the caller vouched for the CPU features; every element is reduced.
    unsafe {
        let d2 = Fe8::splat_limbs(D2);
        let mut multiple = P8::identity();
        for entry in out.iter_mut() {
            let niels = [
                multiple.y.add(&multiple.x),
                multiple.y.sub(&multiple.x),
                multiple.z,
                multiple.t.mul(&d2),
            ];
            for (c, element) in niels.iter().enumerate() {
                for (i, limb) in element.limbs.iter().enumerate() {
                    _mm512_storeu_si512(entry[5 * c + i].as_mut_ptr().cast(), *limb);
                }
            }
            multiple = multiple.add(a);
        }
    }
}

/// New signers: the lanes whose signature is valid, and the lanes whose key is a point of large
/// order (for the signer cache's sightings).
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 IFMA.
#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn verify_new_signers(lanes: &[Lane; LANES]) -> (__mmask8, __mmask8) {
    // SAFETY: the caller vouched for the CPU features; every gather reads inside `table` or
    // BASE_WINDOW (digits of k are at most 8 in size, of S at most 128).
    unsafe {
        let (a, decompressed) = P8::decompress(&lanes.map(|l| l.key));
        let large_order = decompressed & !a.is_small_order();
        let mut table: MultiplesOfA = [[[0; LANES]; 20]; ROW];
        multiples_of(&a, &mut table);
        let k = Digits::<64>::new(
            &lanes.map(|l| radix16(&l.k)),
            |j, _, d| d * 20 * LANES as i64 + j as i64,
            true, // −A
        );
        let s = Digits::<32>::new(&lanes.map(|l| radix256(&l.s)), |_, _, d| d * 15, false);
        let a_base: *const u64 = table.as_ptr().cast();
        let b_base: *const u64 = BASE_WINDOW.as_ptr().cast();
        let mut acc = P8::identity();
        for p in (0..64).rev() {
            if p != 63 {
                acc = times16(&acc);
            }
            let offsets = k.at(p);
            let multiple = Niels8 {
                y_plus_x: gather::<LANES>(a_base, offsets),
                y_minus_x: gather::<LANES>(a_base.add(5 * LANES), offsets),
                z: Some(gather::<LANES>(a_base.add(10 * LANES), offsets)),
                xy2d: gather::<LANES>(a_base.add(15 * LANES), offsets),
            };
            acc = add_niels(&acc, &multiple, k.negate[p]);
            if p % 2 == 0 {
                let multiple = gather_affine(b_base, s.at(p / 2));
                acc = add_niels(&acc, &multiple, s.negate[p / 2]);
            }
        }
        (large_order & matches(lanes, &acc.compress()), large_order)
    }
}

/// Recurring signers with their cached tables of `−A`: the lanes whose signature is valid.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 IFMA.
#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn verify_recurring_signers(lanes: &[Lane; LANES], tables: [&LaneTable; LANES]) -> __mmask8 {
    let b = LaneTable::basepoint();
    // Each lane's table as an offset from lane 0's (in u64 elements, all tables u64-aligned).
    let a_base = tables[0].as_ptr();
    let lane_base = tables.map(|t| (t.as_ptr() as isize - a_base as isize) as i64 / 8);
    let entry = |row: usize, d: i64| ((row * ROW) as i64 + d) * 15;
    let s = Digits::<64>::new(
        &lanes.map(|l| radix16(&l.s)),
        |_, p, d| entry(p / 2, d),
        false,
    );
    let k = Digits::<64>::new(
        &lanes.map(|l| radix16(&l.k)),
        |j, p, d| lane_base[j] + entry(p / 2, d),
        false,
    );
    // The positions in the order they are added: odd digits, four doublings, even digits.
    let order: [usize; 64] =
        core::array::from_fn(|t| if t < 32 { 2 * t + 1 } else { 2 * (t - 32) });
    // SAFETY: the caller vouched for the CPU features; every gather reads inside the base
    // point's table or the lane's own (digits at most 8 in size, rows below 32), and every
    // prefetch address is inside a lane's table.
    unsafe {
        for &p in &order[..PREFETCH_AHEAD] {
            prefetch_entries(a_base, &k.offsets[p]);
        }
        let mut acc = P8::identity();
        for (t, &p) in order.iter().enumerate() {
            if t == 32 {
                acc = times16(&acc);
            }
            if let Some(&ahead) = order.get(t + PREFETCH_AHEAD) {
                prefetch_entries(a_base, &k.offsets[ahead]);
            }
            acc = add_niels(&acc, &gather_affine(b.as_ptr(), s.at(p)), s.negate[p]);
            acc = add_niels(&acc, &gather_affine(a_base, k.at(p)), k.negate[p]);
        }
        matches(lanes, &acc.compress())
    }
}

/// How many positions ahead the recurring signers' table entries are fetched into the L1 cache:
/// a thousand signers' tables (35 MiB) do not fit in the caches, and without it about 40 % of
/// the time went to waiting for the gathers' cache misses (README).
const PREFETCH_AHEAD: usize = 2;

/// Asks for the cache lines of the entries at `base + offsets[j]` (15 u64 each, up to three
/// lines) to be fetched.
///
/// # Safety
/// Every entry must be inside one live table.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn prefetch_entries(base: *const u64, offsets: &[i64; LANES]) {
    for &offset in offsets {
        let entry = base.wrapping_offset(offset as isize).cast::<i8>();
        for line in [0, 64, 119] {
            _mm_prefetch::<_MM_HINT_T0>(entry.wrapping_add(line));
        }
    }
}

/// The lanes whose `R'` encodes to the signature's R and is not of small order.
fn matches(lanes: &[Lane; LANES], encodings: &[[u8; 32]; LANES]) -> __mmask8 {
    lanes
        .iter()
        .zip(encodings)
        .enumerate()
        .fold(0, |mask, (j, (lane, e))| {
            mask | u8::from(*e == lane.r && !is_small_order_encoding(e)) << j
        })
}

/// Signatures waiting for a group, each with what its group needs besides.
struct Group<T> {
    waiting: Vec<(Lane, T)>,
}

/// Eight signatures of a group, and how many of them are real (the rest pad it).
type Full<T> = ([(Lane, T); LANES], usize);

impl<T: Clone> Group<T> {
    fn new() -> Self {
        Group {
            waiting: Vec::with_capacity(LANES),
        }
    }

    /// Adds a signature; the group when eight are waiting.
    fn push(&mut self, lane: Lane, extra: T) -> Option<Full<T>> {
        self.waiting.push((lane, extra));
        (self.waiting.len() == LANES).then(|| self.take()).flatten()
    }

    /// What is waiting, padded to eight with copies of its first signature; `None` (and left
    /// waiting) when fewer than [`MIN_PADDED`] are.
    fn take(&mut self) -> Option<Full<T>> {
        let real = self.waiting.len();
        if real < MIN_PADDED.max(1) {
            return None;
        }
        let group = core::array::from_fn(|j| self.waiting[if j < real { j } else { 0 }].clone());
        self.waiting.clear();
        Some((group, real))
    }
}

/// Runs a group of new signers and writes its real lanes' answers; each key found to be a
/// point of large order is a sighting for the cache.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 IFMA.
unsafe fn run_new((group, real): Full<()>, results: &mut [u8], cache: Option<&SignerCache>) {
    // SAFETY: the caller vouched for the CPU features.
    let (valid, large_order) = unsafe { verify_new_signers(&group.map(|g| g.0)) };
    for (j, (lane, ())) in group[..real].iter().enumerate() {
        results[lane.index] = valid >> j & 1;
        if let (Some(cache), 1) = (cache, large_order >> j & 1) {
            cache.observe(&lane.key);
        }
    }
}

/// Runs a group of recurring signers and writes its real lanes' answers.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 IFMA.
unsafe fn run_recurring((group, real): Full<Arc<Signer>>, results: &mut [u8]) {
    let tables = group.each_ref().map(|g| g.1.lane_table());
    // SAFETY: the caller vouched for the CPU features.
    let valid = unsafe { verify_recurring_signers(&group.each_ref().map(|g| g.0), tables) };
    for (j, (lane, _)) in group[..real].iter().enumerate() {
        results[lane.index] = valid >> j & 1;
    }
}

/// Verifies `signatures[i]` by `public_keys[i]` over `messages[i]` on the calling thread, eight
/// at a time; `results[i]` is 1 when valid, else 0. Recurring signers use `cache`.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 IFMA ([`super::available`]).
///
/// # Panics
/// If the slices differ in length.
pub(crate) unsafe fn verify_many(
    signatures: &[[u8; 64]],
    public_keys: &[[u8; 32]],
    messages: &[&[u8]],
    results: &mut [u8],
    cache: Option<&SignerCache>,
) {
    let n = crate::sigverify::assert_batch_shape(signatures, public_keys, messages, results);
    let mut new_signers = Group::<()>::new();
    let mut recurring = Group::<Arc<Signer>>::new();
    // SAFETY (every `run_*` below): the caller vouched for the CPU features.
    for i in 0..n {
        let (r, s) = signatures[i].split_at(32);
        let s: [u8; 32] = s.try_into().expect("32 bytes");
        if Option::<Scalar>::from(Scalar::from_canonical_bytes(s)).is_none() {
            results[i] = 0;
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
                if let Some(full) = recurring.push(lane, signer) {
                    unsafe { run_recurring(full, results) };
                }
            }
            None => {
                if let Some(full) = new_signers.push(lane, ()) {
                    unsafe { run_new(full, results, cache) };
                }
            }
        }
    }
    if let Some(full) = new_signers.take() {
        unsafe { run_new(full, results, cache) };
    }
    if let Some(full) = recurring.take() {
        unsafe { run_recurring(full, results) };
    }
    // Too few for a group of their own: the portable path.
    let left = new_signers.waiting.iter().map(|(lane, ())| lane.index);
    for i in left.chain(recurring.waiting.iter().map(|(lane, _)| lane.index)) {
        results[i] = u8::from(cpu::verify(
            &signatures[i],
            &public_keys[i],
            messages[i],
            cache,
        ));
    }
}
