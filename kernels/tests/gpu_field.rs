//! The field arithmetic of `shaders/ed25519.wgsl` (GF(p), p = 2^255 - 19, in twenty 13-bit
//! limbs) held, operation by operation, to an independent oracle: plain schoolbook arithmetic
//! on 64-bit words modulo p, written here. The signature tests reach the field's edge cases only
//! by chance; this reaches each on purpose:
//!
//! - inputs through `fe_from_words` (bit 255 ignored): 0, 1, p - 1 = 2^255 - 20, p, p + 1,
//!   2^255 - 1, 2^256 - 1, runs of 2^13 - 1 limbs, and random values;
//! - lazy field elements built limb by limb (values up to 2^260, limb 1 at 2^13), the form every
//!   function may return: multiples of p, and values whose first fold in `fe_canonical` lands at
//!   or past 2^255 (its second fold) or in [p, 2^255) (its final subtraction of p);
//! - `fe_carry` on limbs up to its bound (2^32 - 2^23), one input making limb 1 exactly 2^13;
//! - add, sub (its SUB_BIAS: x - y with y > x, 0 - y), neg, mul and sq on every pair of edge
//!   values and on random ones, and chains of them without canonicalising in between;
//! - invert, pow_p58 and sqrt_ratio_i (all four of its branches), eq, and is_zero and
//!   is_negative of every result;
//! - that every result is normalised (each limb below 2^13, limb 1 at most 2^13), the
//!   postcondition `fe_mul` relies on, and that its limbs hold the oracle's value.
//!
//! Runs on whatever adapter exists: in CI, Mesa's software Vulkan driver (lavapipe). No
//! adapter: where `CI=true` the tests fail; elsewhere they say loudly that they did not run.

mod common;

use std::sync::{Arc, OnceLock};

use common::compute::{Binding, TestKernel};
use tandem_kernels::gpu::GpuContext;
use tandem_kernels::testing::{bytes, gpu_or_skip};

const FIELD_WGSL: &str = include_str!("../../shaders/ed25519.wgsl");

/// The harness: item i is IN_WORDS words (an op code, then x and y: 8 words of a 32-byte
/// little-endian encoding, or 20 raw limbs where bit 8 (x) or 9 (y) of the code says so); its
/// output is OUT_WORDS words: fe_to_words of the result, a word of flags (bit 0 the op's bool,
/// bit 1 fe_is_zero and bit 2 fe_is_negative of the result) and the result's 20 limbs as the
/// op returned them.
const HARNESS_WGSL: &str = r#"
@group(0) @binding(0) var<storage, read> items: array<u32>;
@group(0) @binding(1) var<uniform> params: vec4<u32>; // x: items, z: 1 (ed25519.wgsl's K1)
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

const IN_WORDS: u32 = 41u;
const OUT_WORDS: u32 = 32u;

fn load(at: u32, raw: bool) -> Fe {
    if (raw) {
        return Fe(vec4<u32>(items[at], items[at + 1u], items[at + 2u], items[at + 3u]),
            vec4<u32>(items[at + 4u], items[at + 5u], items[at + 6u], items[at + 7u]),
            vec4<u32>(items[at + 8u], items[at + 9u], items[at + 10u], items[at + 11u]),
            vec4<u32>(items[at + 12u], items[at + 13u], items[at + 14u], items[at + 15u]),
            vec4<u32>(items[at + 16u], items[at + 17u], items[at + 18u], items[at + 19u]));
    }
    var w: array<u32, 8>;
    for (var j = 0u; j < 8u; j = j + 1u) {
        w[j] = items[at + j];
    }
    return fe_from_words(w);
}

@compute @workgroup_size(64)
fn field_test(@builtin(global_invocation_id) id: vec3<u32>) {
    K1 = params.z;
    let i = id.x;
    if (i >= params.x) {
        return;
    }
    let code = items[i * IN_WORDS];
    let x = load(i * IN_WORDS + 1u, (code & 0x100u) != 0u);
    let y = load(i * IN_WORDS + 21u, (code & 0x200u) != 0u);
    var r = FE_ZERO;
    var flag = false;
    switch (code & 0xFFu) {
        case 0u: { r = x; }
        case 1u: { r = fe_carry(x); }
        case 2u: { r = fe_add(x, y); }
        case 3u: { r = fe_sub(x, y); }
        case 4u: { r = fe_neg(x); }
        case 5u: { r = fe_mul(x, y); }
        case 6u: { r = fe_sq(x); }
        case 7u: { r = fe_invert(x); }
        case 8u: { r = fe_pow_p58(x); }
        case 9u: {
            let s = fe_sqrt_ratio_i(x, y);
            r = s.r;
            flag = s.ok;
        }
        case 10u: { flag = fe_eq(x, y); }
        case 11u: {
            r = fe_mul(fe_add(x, y), fe_sub(x, y));
            flag = fe_eq(r, fe_sub(fe_sq(x), fe_sq(y)));
        }
        default: {}
    }
    let o = i * OUT_WORDS;
    let w = fe_to_words(r);
    for (var j = 0u; j < 8u; j = j + 1u) {
        out[o + j] = w[j];
    }
    out[o + 8u] = u32(flag) | (u32(fe_is_zero(r)) << 1u) | (u32(fe_is_negative(r)) << 2u);
    var limbs = array<vec4<u32>, 5>(r.a, r.b, r.c, r.d, r.e);
    for (var j = 0u; j < 20u; j = j + 1u) {
        out[o + 9u + j] = limbs[j / 4u][j % 4u];
    }
}
"#;

const IN_WORDS: usize = 41;
const OUT_WORDS: usize = 32;
const WORKGROUP: u32 = 64;
/// Items per dispatch: small batches for a software rasterizer.
const BATCH: usize = 256;
const MASK13: u32 = 0x1FFF;

// ---- The oracle ------------------------------------------------------------------------------

/// A number below 2^320, little-endian 64-bit words: for building inputs.
type Wide = [u64; 5];

fn small(k: u64) -> Wide {
    [k, 0, 0, 0, 0]
}

fn pow2(n: u32) -> Wide {
    let mut w = [0; 5];
    w[n as usize / 64] = 1 << (n % 64);
    w
}

fn add(a: Wide, b: Wide) -> Wide {
    let mut out = [0; 5];
    let mut carry = false;
    for i in 0..5 {
        let (s, c1) = a[i].overflowing_add(b[i]);
        let (s, c2) = s.overflowing_add(u64::from(carry));
        out[i] = s;
        carry = c1 || c2;
    }
    assert!(!carry, "a test input past 2^320");
    out
}

fn sub(a: Wide, b: Wide) -> Wide {
    let mut out = [0; 5];
    let mut borrow = false;
    for i in 0..5 {
        let (d, b1) = a[i].overflowing_sub(b[i]);
        let (d, b2) = d.overflowing_sub(u64::from(borrow));
        out[i] = d;
        borrow = b1 || b2;
    }
    assert!(!borrow, "a negative test input");
    out
}

fn times(a: Wide, k: u64) -> Wide {
    (0..k).fold([0; 5], |acc, _| add(acc, a))
}

fn shl(a: Wide, n: u32) -> Wide {
    (0..n).fold(a, |acc, _| add(acc, acc))
}

fn at_least(a: &Wide, b: &Wide) -> bool {
    (0..5)
        .rev()
        .find_map(|i| (a[i] != b[i]).then_some(a[i] > b[i]))
        != Some(false)
}

/// p = 2^255 - 19.
fn p() -> Wide {
    sub(pow2(255), small(19))
}

/// `len` bits of `v` from bit `start`.
fn bits(v: &Wide, start: usize, len: usize) -> u32 {
    let mut out = 0u64;
    for b in (start..start + len).rev() {
        out = (out << 1) | ((v[b / 64] >> (b % 64)) & 1);
    }
    out as u32
}

/// `v` (below 2^260) as 20 limbs of 13 bits: a normalised field element.
fn limbs_of(v: Wide) -> [u32; 20] {
    assert_eq!(v[4] >> 4, 0, "a limb input past 2^260");
    std::array::from_fn(|i| bits(&v, 13 * i, 13))
}

/// `v` (below 2^256) as 8 little-endian words.
fn words_of(v: Wide) -> [u32; 8] {
    assert_eq!(v[4], 0, "a word input past 2^256");
    std::array::from_fn(|i| bits(&v, 32 * i, 32))
}

/// An element of GF(p), held as its representative in [0, p).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fp([u64; 4]);

/// Exponents, little-endian: p - 2 (inversion), (p - 5) / 8 = 2^252 - 3, (p - 1) / 2 (Euler's
/// criterion) and (p - 1) / 4.
const EXP_INVERT: [u64; 4] = [0xffff_ffff_ffff_ffeb, !0, !0, 0x7fff_ffff_ffff_ffff];
const EXP_P58: [u64; 4] = [0xffff_ffff_ffff_fffd, !0, !0, 0x0fff_ffff_ffff_ffff];
const EXP_HALF: [u64; 4] = [0xffff_ffff_ffff_fff6, !0, !0, 0x3fff_ffff_ffff_ffff];
const EXP_QUARTER: [u64; 4] = [0xffff_ffff_ffff_fffb, !0, !0, 0x1fff_ffff_ffff_ffff];

impl Fp {
    const ZERO: Fp = Fp([0; 4]);
    const ONE: Fp = Fp([1, 0, 0, 0]);

    /// Any number below 2^512 (up to 8 little-endian words) modulo p.
    fn reduce(words: &[u64]) -> Fp {
        let mut w = [0u64; 9];
        w[..words.len()].copy_from_slice(words);
        // 2^256 = 38 (mod p): fold what lies above 2^256 down until nothing does.
        while w[4..].iter().any(|&x| x != 0) {
            let mut next = [0u64; 9];
            let mut carry = 0u128;
            for i in 0..5 {
                let lo = if i < 4 { w[i] } else { 0 };
                let v = u128::from(lo) + 38 * u128::from(w[4 + i]) + carry;
                next[i] = v as u64;
                carry = v >> 64;
            }
            next[5] = carry as u64;
            w = next;
        }
        let p = p();
        let mut x = [w[0], w[1], w[2], w[3], 0];
        while at_least(&x, &p) {
            x = sub(x, p);
        }
        Fp([x[0], x[1], x[2], x[3]])
    }

    /// The value of limbs of 13 bits each (any u32 each, as `fe_carry` takes) modulo p.
    fn from_limbs(limbs: &[u32; 20]) -> Fp {
        let mut w = [0u64; 8];
        for (i, &limb) in limbs.iter().enumerate() {
            let (word, shift) = (13 * i / 64, 13 * i % 64);
            let mut carry = u128::from(limb) << shift;
            for x in &mut w[word..] {
                let v = u128::from(*x) + (carry & u128::from(u64::MAX));
                *x = v as u64;
                carry = (carry >> 64) + (v >> 64);
            }
        }
        Fp::reduce(&w)
    }

    /// The low 255 bits of 8 little-endian words (bit 255 ignored) modulo p.
    fn from_words(words: &[u32; 8]) -> Fp {
        let mut w: [u64; 4] =
            std::array::from_fn(|i| u64::from(words[2 * i]) | u64::from(words[2 * i + 1]) << 32);
        w[3] &= !(1 << 63);
        Fp::reduce(&w)
    }

    fn to_words(self) -> [u32; 8] {
        std::array::from_fn(|i| (self.0[i / 2] >> (32 * (i % 2))) as u32)
    }

    fn is_negative(self) -> bool {
        self.0[0] & 1 == 1
    }

    fn add(self, o: Fp) -> Fp {
        let a = [self.0[0], self.0[1], self.0[2], self.0[3], 0];
        Fp::reduce(&add(a, [o.0[0], o.0[1], o.0[2], o.0[3], 0]))
    }

    fn neg(self) -> Fp {
        if self == Fp::ZERO {
            return Fp::ZERO;
        }
        let x = sub(p(), [self.0[0], self.0[1], self.0[2], self.0[3], 0]);
        Fp([x[0], x[1], x[2], x[3]])
    }

    fn sub(self, o: Fp) -> Fp {
        self.add(o.neg())
    }

    fn mul(self, o: Fp) -> Fp {
        let mut w = [0u64; 8];
        for i in 0..4 {
            let mut carry = 0u128;
            for j in 0..4 {
                let v = u128::from(self.0[i]) * u128::from(o.0[j]) + u128::from(w[i + j]) + carry;
                w[i + j] = v as u64;
                carry = v >> 64;
            }
            w[i + 4] = carry as u64;
        }
        Fp::reduce(&w)
    }

    fn pow(self, e: &[u64; 4]) -> Fp {
        let mut r = Fp::ONE;
        for b in (0..256).rev() {
            r = r.mul(r);
            if (e[b / 64] >> (b % 64)) & 1 == 1 {
                r = r.mul(self);
            }
        }
        r
    }

    fn sqrt_m1() -> Fp {
        // 2 is not a square modulo p, so 2^((p - 1) / 4) squares to 2^((p - 1) / 2) = -1.
        Fp([2, 0, 0, 0]).pow(&EXP_QUARTER)
    }

    /// curve25519-dalek's `sqrt_ratio_i` (kernels/src/sigverify/field.rs `sqrt_ratio`):
    /// (u/v was a square or u = 0, the non-negative root), and which branch gave it.
    fn sqrt_ratio_i(u: Fp, v: Fp) -> (bool, Fp, Branch) {
        let i = Fp::sqrt_m1();
        let v3 = v.mul(v).mul(v);
        let v7 = v3.mul(v3).mul(v);
        let mut r = u.mul(v3).mul(u.mul(v7).pow(&EXP_P58));
        let check = v.mul(r.mul(r));
        let (correct, flipped) = (check == u, check == u.neg());
        let flipped_i = check == u.neg().mul(i);
        if flipped || flipped_i {
            r = r.mul(i);
        }
        if r.is_negative() {
            r = r.neg();
        }
        let branch = match (correct, flipped, flipped_i) {
            (true, _, _) => Branch::Correct,
            (_, true, _) => Branch::Flipped,
            (_, _, true) => Branch::FlippedI,
            _ => Branch::Neither,
        };
        (correct || flipped, r, branch)
    }
}

/// Which of `sqrt_ratio_i`'s cases v r^2 fell in: u, -u, -u i, or none (u i).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Branch {
    Correct,
    Flipped,
    FlippedI,
    Neither,
}

// ---- Items -----------------------------------------------------------------------------------

/// The harness's op codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Identity = 0,
    Carry = 1,
    Add = 2,
    Sub = 3,
    Neg = 4,
    Mul = 5,
    Sq = 6,
    Invert = 7,
    PowP58 = 8,
    SqrtRatio = 9,
    Eq = 10,
    /// (x + y)(x - y), and whether it equals x^2 - y^2.
    Chain = 11,
}

/// An operand: a 32-byte encoding read by `fe_from_words`, or a field element's limbs as is.
#[derive(Clone, Copy, Debug)]
enum Input {
    Words([u32; 8]),
    Limbs([u32; 20]),
}

impl Input {
    fn words(v: Wide) -> Input {
        Input::Words(words_of(v))
    }

    fn limbs(v: Wide) -> Input {
        Input::Limbs(limbs_of(v))
    }

    fn value(&self) -> Fp {
        match self {
            Input::Words(w) => Fp::from_words(w),
            Input::Limbs(l) => Fp::from_limbs(l),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Item {
    op: Op,
    x: Input,
    y: Input,
}

impl Item {
    fn new(op: Op, x: Input, y: Input) -> Item {
        Item { op, x, y }
    }

    fn unary(op: Op, x: Input) -> Item {
        Item::new(op, x, x)
    }

    /// The op and its operands, for a failure message.
    fn describe(&self) -> String {
        match self.op {
            Op::Identity | Op::Carry | Op::Neg | Op::Sq | Op::Invert | Op::PowP58 => {
                format!("{:?}({:?})", self.op, self.x)
            }
            _ => format!("{:?}({:?}, {:?})", self.op, self.x, self.y),
        }
    }

    fn encode(&self, out: &mut Vec<u32>) {
        let mut code = self.op as u32;
        let mut words = [0u32; IN_WORDS];
        for (input, at, raw_bit) in [(self.x, 1, 0x100), (self.y, 21, 0x200)] {
            match input {
                Input::Words(w) => words[at..at + 8].copy_from_slice(&w),
                Input::Limbs(l) => {
                    words[at..at + 20].copy_from_slice(&l);
                    code |= raw_bit;
                }
            }
        }
        words[0] = code;
        out.extend_from_slice(&words);
    }

    /// The oracle's (result, the op's bool).
    fn expected(&self) -> (Fp, bool) {
        let (x, y) = (self.x.value(), self.y.value());
        match self.op {
            Op::Identity | Op::Carry => (x, false),
            Op::Add => (x.add(y), false),
            Op::Sub => (x.sub(y), false),
            Op::Neg => (x.neg(), false),
            Op::Mul => (x.mul(y), false),
            Op::Sq => (x.mul(x), false),
            Op::Invert => (x.pow(&EXP_INVERT), false),
            Op::PowP58 => (x.pow(&EXP_P58), false),
            Op::SqrtRatio => {
                let (ok, r, _) = Fp::sqrt_ratio_i(x, y);
                (r, ok)
            }
            Op::Eq => (Fp::ZERO, x == y),
            Op::Chain => (x.add(y).mul(x.sub(y)), true),
        }
    }
}

// ---- The device ------------------------------------------------------------------------------

struct Harness {
    ctx: Arc<GpuContext>,
    kernel: TestKernel,
}

impl Harness {
    fn new(ctx: Arc<GpuContext>) -> Harness {
        // As kernels/src/sigverify/gpu.rs builds the verifier: the field file, then the caller.
        let kernel = TestKernel::new(
            &ctx,
            format!("{FIELD_WGSL}\n{HARNESS_WGSL}"),
            "field_test",
            &[Binding::Storage, Binding::Uniform],
        );
        Harness { ctx, kernel }
    }

    /// Each item's OUT_WORDS output words.
    fn run(&self, items: &[Item]) -> Vec<[u32; OUT_WORDS]> {
        assert!(
            !items.is_empty() && items.len() <= BATCH,
            "a small batch for lavapipe"
        );
        let mut input = Vec::with_capacity(items.len() * IN_WORDS);
        for item in items {
            item.encode(&mut input);
        }
        let n = items.len() as u32;
        let words = self.kernel.run(
            &self.ctx,
            &[&input, &[n, 0, 1, 0]],
            items.len() * OUT_WORDS,
            n.div_ceil(WORKGROUP),
        );
        words
            .chunks_exact(OUT_WORDS)
            .map(|c| c.try_into().expect("OUT_WORDS words"))
            .collect()
    }
}

/// The harness on the kernels' shared context (their adapter selection), pipeline built once;
/// `None` where there is no adapter and this is not CI.
fn harness(what: &str) -> Option<&'static Harness> {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    let ctx = gpu_or_skip(what, GpuContext::shared())?;
    Some(HARNESS.get_or_init(|| Harness::new(ctx)))
}

/// Why `out`, the device's output for `item`, is not the oracle's answer (every difference).
fn wrong(item: &Item, out: &[u32; OUT_WORDS]) -> Vec<String> {
    let (want, want_flag) = item.expected();
    let mut why = Vec::new();
    if out[..8] != want.to_words() {
        why.push(format!(
            "fe_to_words {:08x?}, the oracle {:08x?}",
            &out[..8],
            want.to_words()
        ));
    }
    let flags = [
        ("the op's bool", want_flag),
        ("fe_is_zero", want == Fp::ZERO),
        ("fe_is_negative", want.is_negative()),
    ];
    for (bit, (name, want)) in flags.into_iter().enumerate() {
        let got = out[8] & (1 << bit) != 0;
        if got != want {
            why.push(format!("{name} {got}, the oracle {want}"));
        }
    }
    let limbs: [u32; 20] = out[9..29].try_into().expect("20 limbs");
    // (The identity hands its input back as it came, wide limbs and all.)
    let normalised = limbs
        .iter()
        .enumerate()
        .all(|(i, &l)| l <= MASK13 || (i == 1 && l == MASK13 + 1));
    if item.op != Op::Identity && !normalised {
        why.push(format!("limbs not normalised: {limbs:?}"));
    }
    if Fp::from_limbs(&limbs) != want {
        why.push(format!("limbs {limbs:?} are not the oracle's value mod p"));
    }
    why
}

/// Runs `items` and fails with every item whose answer differs from the oracle's.
fn check(what: &str, items: &[Item]) -> Option<Vec<[u32; OUT_WORDS]>> {
    let h = harness(what)?;
    let outputs: Vec<[u32; OUT_WORDS]> = items.chunks(BATCH).flat_map(|b| h.run(b)).collect();
    let mut failures = Vec::new();
    for (i, (item, out)) in items.iter().zip(&outputs).enumerate() {
        for why in wrong(item, out) {
            failures.push(format!("item {i}: {}: {why}", item.describe()));
        }
    }
    assert!(
        failures.is_empty(),
        "{what}: {} wrong answers of {} items; the first:\n{}",
        failures.len(),
        items.len(),
        failures[..failures.len().min(12)].join("\n")
    );
    Some(outputs)
}

// ---- Inputs ----------------------------------------------------------------------------------

/// Edge values as 32-byte encodings (bit 255 set in some: `fe_from_words` ignores it).
fn edge_words() -> Vec<Input> {
    let p = p();
    let values = [
        small(0),
        small(1),
        small(2),
        small(19),
        small(u64::from(MASK13)),
        pow2(13),
        sub(pow2(13 * 10), small(1)),          // ten limbs of 2^13 - 1
        sub(pow2(13 * 19), small(1)),          // nineteen
        shl(small(u64::from(MASK13)), 13 * 3), // limb 3 alone at 2^13 - 1
        pow2(254),
        sub(pow2(254), small(19)),        // plus 2^254: p
        sub(pow2(254), small(10)),        // (p - 1) / 2
        sub(pow2(254), small(9)),         // (p + 1) / 2
        sub(p, small(2)),                 // p - 2
        sub(p, small(1)),                 // p - 1 = 2^255 - 20
        p,                                // reads 0
        add(p, small(1)),                 // reads 1
        sub(pow2(255), small(1)),         // 2^255 - 1, every limb at its max: reads 18
        pow2(255),                        // bit 255 alone: reads 0
        add(pow2(255), small(1)),         // reads 1
        add(pow2(255), p),                // p with bit 255: reads 0
        add(pow2(255), sub(p, small(1))), // p - 1 with bit 255
        sub(pow2(256), small(1)),         // reads 2^255 - 1 = 18
    ];
    values.into_iter().map(Input::words).collect()
}

/// Lazy field elements as limbs: values up to 2^260 (and just past it, with limb 1 at 2^13)
/// that put `fe_canonical`'s folds and final subtraction to work.
fn edge_limbs() -> Vec<Input> {
    let (p, two255) = (p(), pow2(255));
    let mut values = vec![
        p,
        add(p, small(1)),
        sub(two255, small(1)),
        two255,
        sub(pow2(260), small(1)), // every limb 2^13 - 1
        times(p, 32),             // 2^260 - 608, the largest multiple of p below 2^260
        add(times(p, 32), small(607)),
        sub(times(p, 32), small(1)),
        add(times(p, 7), small(5)),
    ];
    // v = 2^255 k + lo folds once to lo + 19 k: at or past 2^255 (a second fold), in
    // [p, 2^255) (the subtraction of p), or just below p. (Without its second fold,
    // fe_canonical would still be right: what the first leaves is below 2p, which the final
    // subtraction of p handles. A wrong second fold is caught.)
    for k in [1u64, 2, 17, 31] {
        let top = times(two255, k);
        for lo in [
            sub(two255, small(19 * k)),                // folds to exactly 2^255
            add(sub(two255, small(19 * k)), small(5)), // 2^255 + 5
            sub(two255, small(1)),                     // 2^255 - 1 + 19 k
            sub(two255, small(19 * k + 1)),            // 2^255 - 1: in [p, 2^255)
            sub(two255, small(19 * k + 19)),           // p exactly
            sub(two255, small(19 * k + 20)),           // p - 1
        ] {
            values.push(add(top, lo));
        }
    }
    let mut inputs: Vec<Input> = values.into_iter().map(Input::limbs).collect();
    // Limb 1 at 2^13, what fe_carry may return: alone, and with every other limb at its max
    // (2^260 - 1 + 2^13, past 2^260).
    let mut alone = [0u32; 20];
    alone[1] = MASK13 + 1;
    let mut full = [MASK13; 20];
    full[1] = MASK13 + 1;
    inputs.extend([Input::Limbs(alone), Input::Limbs(full)]);
    inputs
}

/// Deterministic random encodings, all 256 bits random.
fn random_words(seed: u64, n: usize) -> Vec<Input> {
    (0..n as u64)
        .map(|i| {
            let b = bytes(seed + i, 32);
            Input::Words(std::array::from_fn(|j| {
                u32::from_le_bytes(b[4 * j..4 * j + 4].try_into().expect("4 bytes"))
            }))
        })
        .collect()
}

/// Deterministic random normalised limbs (values up to 2^260), limb 1 at 2^13 in every fourth.
fn random_limbs(seed: u64, n: usize) -> Vec<Input> {
    (0..n as u64)
        .map(|i| {
            let b = bytes(seed + i, 40);
            let mut l: [u32; 20] =
                std::array::from_fn(|j| u32::from(u16::from_le_bytes([b[2 * j], b[2 * j + 1]])));
            for limb in &mut l {
                *limb &= MASK13;
            }
            if i % 4 == 0 {
                l[1] = MASK13 + 1;
            }
            Input::Limbs(l)
        })
        .collect()
}

/// A deterministic random field element (256 random bits modulo p).
fn random_fp(seed: u64) -> Fp {
    let b = bytes(seed, 32);
    let w: [u64; 4] =
        std::array::from_fn(|i| u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().expect("8")));
    Fp::reduce(&w)
}

fn fp_words(x: Fp) -> Input {
    Input::Words(x.to_words())
}

// ---- Tests -----------------------------------------------------------------------------------

#[test]
fn the_oracle_is_a_field_modulo_p() {
    let p = p();
    assert_eq!(words_of(p)[0], 0xffff_ffed);
    assert_eq!(Fp::from_words(&words_of(p)), Fp::ZERO);
    assert_eq!(
        Fp::from_words(&words_of(sub(pow2(256), small(1)))),
        Fp([18, 0, 0, 0])
    );
    assert_eq!(
        Fp::from_limbs(&[MASK13; 20]),
        Fp::reduce(&sub(pow2(260), small(1))[..])
    );
    assert_eq!(Fp::from_limbs(&limbs_of(times(p, 32))), Fp::ZERO);
    let minus_one = Fp::ONE.neg();
    assert_eq!(minus_one.add(Fp::ONE), Fp::ZERO);
    let i = Fp::sqrt_m1();
    assert_eq!(i.mul(i), minus_one);
    assert!(
        !i.is_negative(),
        "curve25519-dalek's SQRT_M1 is the even root"
    );
    for seed in 0..20 {
        let (x, y) = (random_fp(seed), random_fp(seed + 100));
        assert_eq!(x.pow(&EXP_INVERT).mul(x), Fp::ONE, "x^(p-2) x = 1");
        // x^p = x: (x^((p - 5) / 8))^8 x^5 = x.
        let t = x.pow(&EXP_P58);
        let t8 = (0..3).fold(t, |t, _| t.mul(t));
        assert_eq!(t8.mul(x.mul(x).mul(x).mul(x).mul(x)), x);
        assert_eq!(x.add(y).sub(y), x);
        assert_eq!(x.mul(y.add(Fp::ONE)), x.mul(y).add(x));
        // sqrt_ratio_i: a root where u/v is a square, by Euler's criterion.
        let (ok, r, _) = Fp::sqrt_ratio_i(x, y);
        let square = x.mul(y.pow(&EXP_INVERT)).pow(&EXP_HALF) == Fp::ONE;
        assert_eq!(ok, square);
        assert!(!r.is_negative());
        if ok {
            assert_eq!(y.mul(r.mul(r)), x);
        }
    }
}

#[test]
fn gpu_canonical_encodings_of_edge_and_lazy_values() {
    let mut items: Vec<Item> = edge_words()
        .into_iter()
        .chain(edge_limbs())
        .chain(random_words(1_000, 32))
        .chain(random_limbs(2_000, 32))
        .map(|x| Item::unary(Op::Identity, x))
        .collect();
    // fe_carry (and fe_canonical, which starts with it) on limbs up to 2^32 - 2^23.
    let bound = (1u64 << 32) - (1 << 23);
    let wide: Vec<Input> = (0..48u64)
        .map(|i| {
            let b = bytes(3_000 + i, 80);
            Input::Limbs(std::array::from_fn(|j| {
                let r = u32::from_le_bytes(b[4 * j..4 * j + 4].try_into().expect("4 bytes"));
                match i % 3 {
                    0 => (u64::from(r) % bound) as u32,
                    1 => (bound - 1 - u64::from(r % 4)) as u32,
                    _ => r % (1 << 20),
                }
            }))
        })
        .collect();
    // An input for which fe_carry returns limb 1 at 2^13 (its documented exception): limb 19's
    // carry K = 110500 folds into limb 0 as 608 K; limbs 0 and 1 are chosen so that the second
    // pass carries out of limb 19 again with limb 1 at 2^13 - 1 and limb 0 past 2^13 - 608.
    let k = 110_500u32;
    let mut edge = [MASK13; 20];
    edge[0] = MASK13 - ((608 * k) & MASK13);
    edge[1] = 2 * MASK13 + 1 - ((608 * k) >> 13);
    edge[19] = (k << 13) | MASK13;
    for x in wide.iter().copied().chain([Input::Limbs(edge)]) {
        items.push(Item::unary(Op::Identity, x));
        items.push(Item::unary(Op::Carry, x));
    }
    let Some(out) = check("GPU field: canonical encodings", &items) else {
        return;
    };
    assert_eq!(
        out.last().expect("the edge's fe_carry")[9 + 1],
        MASK13 + 1,
        "the input built to make fe_carry return limb 1 at 2^13 no longer does: rebuild it"
    );
}

#[test]
fn gpu_add_sub_mul_and_eq_on_every_pair_of_edge_values() {
    let mut edges = edge_words();
    edges.truncate(18);
    edges.extend(edge_limbs().into_iter().step_by(3));
    edges.push(fp_words(Fp::sqrt_m1()));
    let mut items = Vec::new();
    for &x in &edges {
        items.push(Item::unary(Op::Neg, x));
        items.push(Item::unary(Op::Sq, x));
        for &y in &edges {
            for op in [Op::Add, Op::Sub, Op::Mul, Op::Eq] {
                items.push(Item::new(op, x, y));
            }
        }
    }
    // Equal values in other forms: p + 1 and 1, 2^255 + 1 (bit 255) and 1, 32 p + 5 and 5.
    let one = Input::words(small(1));
    let five = Input::words(small(5));
    for (x, y) in [
        (Input::words(add(p(), small(1))), one),
        (Input::words(add(pow2(255), small(1))), one),
        (Input::limbs(add(times(p(), 32), small(5))), five),
        (Input::limbs(add(p(), small(5))), Input::limbs(small(5))),
    ] {
        items.push(Item::new(Op::Eq, x, y));
        items.push(Item::new(Op::Eq, y, x));
    }
    check("GPU field: edge pairs", &items);
}

#[test]
fn gpu_random_values_and_lazy_chains() {
    let xs: Vec<Input> = random_words(10_000, 96)
        .into_iter()
        .chain(random_limbs(20_000, 96))
        .collect();
    let ys: Vec<Input> = random_limbs(30_000, 96)
        .into_iter()
        .chain(random_words(40_000, 96))
        .collect();
    let ops = [
        Op::Add,
        Op::Sub,
        Op::Neg,
        Op::Mul,
        Op::Sq,
        Op::Eq,
        Op::Chain,
    ];
    let mut items: Vec<Item> = xs
        .iter()
        .zip(&ys)
        .enumerate()
        .map(|(i, (&x, &y))| Item::new(ops[i % ops.len()], x, y))
        .collect();
    // Chains on edge values too, and eq of a value with itself in two forms.
    for (x, y) in edge_limbs().into_iter().zip(edge_words()) {
        items.push(Item::new(Op::Chain, x, y));
        items.push(Item::new(Op::Chain, y, x));
        items.push(Item::new(Op::Eq, x, fp_words(x.value())));
    }
    check("GPU field: random values and chains", &items);
}

#[test]
fn gpu_invert_pow_p58_and_sqrt_ratio_i() {
    let mut items = Vec::new();
    let mut nonzero: Vec<Input> = edge_words()
        .into_iter()
        .chain(edge_limbs())
        .filter(|x| x.value() != Fp::ZERO)
        .step_by(2)
        .collect();
    nonzero.extend(random_words(50_000, 8));
    for &x in &nonzero {
        items.push(Item::unary(Op::Invert, x));
    }
    for &x in nonzero.iter().step_by(2) {
        items.push(Item::unary(Op::PowP58, x));
    }
    // sqrt_ratio_i(u, v): u or v zero, u / v a square (u = v w^2, ±), and random pairs, which
    // fall in each of its four branches.
    let (zero, one) = (Input::words(small(0)), Input::words(small(1)));
    let mut pairs = vec![
        (zero, zero),
        (zero, fp_words(random_fp(60_000))),
        (fp_words(random_fp(60_001)), zero),
        (one, one),
        (Input::words(sub(p(), small(1))), one),
        (
            Input::limbs(sub(pow2(260), small(1))),
            Input::limbs(add(p(), small(1))),
        ),
    ];
    for seed in 0..8 {
        let (v, w) = (random_fp(61_000 + seed), random_fp(62_000 + seed));
        let u = v.mul(w).mul(w);
        pairs.push((fp_words(u), fp_words(v)));
        pairs.push((fp_words(u.neg()), fp_words(v)));
    }
    let randoms = random_words(63_000, 40);
    pairs.extend(randoms.iter().copied().zip(random_limbs(64_000, 40)));
    let mut branches = Vec::new();
    for (u, v) in pairs {
        branches.push(Fp::sqrt_ratio_i(u.value(), v.value()).2);
        items.push(Item::new(Op::SqrtRatio, u, v));
    }
    for branch in [
        Branch::Correct,
        Branch::Flipped,
        Branch::FlippedI,
        Branch::Neither,
    ] {
        assert!(branches.contains(&branch), "no input reaches {branch:?}");
    }
    check("GPU field: invert, pow_p58, sqrt_ratio_i", &items);
}
