// Field arithmetic modulo p = 2^255 - 19 and Edwards25519 point arithmetic, in 32-bit integers
// only (no SHADER_INT64), for ed25519_verify.wgsl. The kernels crate concatenates the files.
//
// ---- Field elements -----------------------------------------------------------------------
// An Fe is 20 limbs of radix 2^13, little-endian: value = sum(limb[i] * 2^(13 i)), up to 260 bits.
// Invariant ("normalised"), which every function below returns and every fe_mul input needs:
// each limb < 2^13. Then a product of two limbs is < 2^26 and a column of fe_mul sums at most 20
// of them: < 20 * 2^26 < 2^31, so no u32 ever wraps. Values are kept modulo p lazily (anything
// below 2^260); fe_canonical gives the unique representative in [0, p).
// Folding: 2^255 = 19 (mod p), so 2^260 = 2^5 * 19 = 608 (mod p).

alias Fe = array<u32, 20>;

// An opaque 1: set from the uniform parameters when the entry point starts, so the driver's
// compiler cannot see through it. Loop bounds are multiplied by it to keep loops rolled: Mesa
// inlines every function and unrolls every loop of constant trip count, and fully unrolled field
// multiplications, inlined at hundreds of call sites, made the pipeline take minutes to compile.
var<private> K1: u32;

const MASK13: u32 = 0x1FFFu;
const FOLD260: u32 = 608u;

// 64p with limbs 0..18 in [2^13, 2^14) and limb 19 >= 2^13, so that SUB_BIAS[i] >= b[i] for any
// normalised b: a - b is computed as a + SUB_BIAS - b without any limb going negative.
const SUB_BIAS: Fe = Fe(15168u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u);
const FE_ZERO: Fe = Fe(0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u);
const FE_ONE: Fe = Fe(1u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u);
// d = -121665/121666, 2d, sqrt(-1), and the base point B = (x, 4/5) with x even.
const FE_D: Fe = Fe(6307u, 6859u, 4740u, 5787u, 5982u, 3157u, 1287u, 2472u, 4106u, 3u, 6694u, 3827u, 1943u, 928u, 3635u, 8142u, 2927u, 1905u, 219u, 164u);
const FE_D2: Fe = Fe(4441u, 5527u, 1289u, 3383u, 3773u, 6315u, 2574u, 4944u, 20u, 7u, 5196u, 7655u, 3886u, 1856u, 7270u, 8092u, 5855u, 3810u, 438u, 72u);
const FE_SQRT_M1: Fe = Fe(176u, 4213u, 2514u, 7222u, 3150u, 4668u, 5311u, 213u, 792u, 6522u, 5609u, 7159u, 2451u, 1664u, 3245u, 7137u, 4033u, 1026u, 201u, 87u);
const FE_BX: Fe = Fe(5402u, 6446u, 6179u, 3162u, 3221u, 5081u, 5270u, 3090u, 3271u, 841u, 5911u, 7085u, 799u, 4721u, 6914u, 2687u, 3438u, 5790u, 6733u, 66u);
const FE_BY: Fe = Fe(1624u, 4915u, 6553u, 3276u, 1638u, 4915u, 6553u, 3276u, 1638u, 4915u, 6553u, 3276u, 1638u, 4915u, 6553u, 3276u, 1638u, 4915u, 6553u, 204u);

// Carries limbs below 2^32 - 2^23 into normalised form, folding what passes 2^260 back as * 608.
// Two passes suffice: after the first, the fold adds at most 608 * 2^19 to limb 0.
fn fe_carry(a: Fe) -> Fe {
    var r = a;
    for (var round = 0u; round < 2u * K1; round = round + 1u) {
        var c = 0u;
        for (var i = 0u; i < 20u * K1; i = i + 1u) {
            let v = r[i] + c;
            r[i] = v & MASK13;
            c = v >> 13u;
        }
        r[0] = r[0] + c * FOLD260;
    }
    // Limb 0 may still hold a few bits over 2^13 after the last fold: carry them on.
    let v0 = r[0];
    r[0] = v0 & MASK13;
    r[1] = r[1] + (v0 >> 13u);
    return r;
}

fn fe_add(a: Fe, b: Fe) -> Fe {
    var r: Fe;
    for (var i = 0u; i < 20u * K1; i = i + 1u) {
        r[i] = a[i] + b[i];
    }
    return fe_carry(r);
}

fn fe_sub(a: Fe, b: Fe) -> Fe {
    var r: Fe;
    for (var i = 0u; i < 20u * K1; i = i + 1u) {
        r[i] = a[i] + SUB_BIAS[i] - b[i];
    }
    return fe_carry(r);
}

fn fe_neg(a: Fe) -> Fe {
    return fe_sub(FE_ZERO, a);
}

fn fe_mul(a: Fe, b: Fe) -> Fe {
    var t: array<u32, 40>;
    for (var i = 0u; i < 20u * K1; i = i + 1u) {
        for (var j = 0u; j < 20u * K1; j = j + 1u) {
            t[i + j] = t[i + j] + a[i] * b[j];
        }
    }
    // 40 limbs of 13 bits (the carry out of limb 38 lands in limb 39).
    var c = 0u;
    for (var k = 0u; k < 39u * K1; k = k + 1u) {
        let v = t[k] + c;
        t[k] = v & MASK13;
        c = v >> 13u;
    }
    t[39] = c;
    var r: Fe;
    for (var i = 0u; i < 20u * K1; i = i + 1u) {
        r[i] = t[i] + t[i + 20u] * FOLD260; // < 2^13 + 608 * 2^13 < 2^23
    }
    return fe_carry(r);
}

fn fe_sq(a: Fe) -> Fe {
    return fe_mul(a, a);
}

fn fe_sqn(a: Fe, n: u32) -> Fe {
    var r = a;
    for (var i = 0u; i < n * K1; i = i + 1u) {
        r = fe_mul(r, r);
    }
    return r;
}

// The unique representative in [0, p).
fn fe_canonical(a: Fe) -> Fe {
    var r = fe_carry(a);
    // Fold bits 255.. (bits 8.. of limb 19) as * 19, twice to settle.
    for (var round = 0u; round < 2u * K1; round = round + 1u) {
        let top = r[19] >> 8u;
        r[19] = r[19] & 0xFFu;
        r[0] = r[0] + top * 19u;
        var c = 0u;
        for (var i = 0u; i < 20u * K1; i = i + 1u) {
            let v = r[i] + c;
            r[i] = v & MASK13;
            c = v >> 13u;
        }
    }
    // Now r < 2^255. r >= p exactly when r + 19 reaches 2^255; then r - p = r + 19 - 2^255.
    var t = r;
    t[0] = t[0] + 19u;
    var c = 0u;
    for (var i = 0u; i < 20u * K1; i = i + 1u) {
        let v = t[i] + c;
        t[i] = v & MASK13;
        c = v >> 13u;
    }
    if ((t[19] >> 8u) != 0u) {
        t[19] = t[19] & 0xFFu;
        return t;
    }
    return r;
}

fn fe_is_zero(a: Fe) -> bool {
    let r = fe_canonical(a);
    var acc = 0u;
    for (var i = 0u; i < 20u * K1; i = i + 1u) {
        acc = acc | r[i];
    }
    return acc == 0u;
}

fn fe_eq(a: Fe, b: Fe) -> bool {
    return fe_is_zero(fe_sub(a, b));
}

// Whether the canonical representative is odd (curve25519-dalek's is_negative).
fn fe_is_negative(a: Fe) -> bool {
    return (fe_canonical(a)[0] & 1u) == 1u;
}

// The low 255 bits of 8 little-endian words (the top bit, a sign bit, is ignored), unreduced:
// as curve25519-dalek's FieldElement::from_bytes, so y >= p is read modulo p.
fn fe_from_words(w: array<u32, 8>) -> Fe {
    var r: Fe;
    for (var i = 0u; i < 20u * K1; i = i + 1u) {
        let bit = i * 13u;
        let word = bit / 32u;
        let shift = bit % 32u;
        var v = w[word] >> shift;
        if (shift > 19u && word + 1u < 8u) {
            v = v | (w[word + 1u] << (32u - shift));
        }
        r[i] = v & MASK13;
    }
    r[19] = r[19] & 0xFFu; // bits 247..254
    return r;
}

// The canonical encoding's 8 little-endian words (bit 255 clear).
fn fe_to_words(a: Fe) -> array<u32, 8> {
    let r = fe_canonical(a);
    var w: array<u32, 8>;
    for (var i = 0u; i < 20u * K1; i = i + 1u) {
        let bit = i * 13u;
        let word = bit / 32u;
        let shift = bit % 32u;
        w[word] = w[word] | (r[i] << shift);
        if (shift > 19u && word + 1u < 8u) {
            w[word + 1u] = w[word + 1u] | (r[i] >> (32u - shift));
        }
    }
    return w;
}

// Exponents as 8 little-endian words: p - 2 (inversion) and (p - 5) / 8 = 2^252 - 3 (square roots).
const EXP_INVERT: array<u32, 8> = array<u32, 8>(0xffffffebu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x7fffffffu);
const EXP_P58: array<u32, 8> = array<u32, 8>(0xfffffffdu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x0fffffffu);

// z^e by left-to-right square-and-multiply, with one fe_mul call site (step 2b squares, step
// 2b + 1 multiplies by z when bit b is set): slower than an addition chain, but it keeps the
// inlined shader small enough for a driver's compiler (see K1).
fn fe_pow(z: Fe, e: array<u32, 8>) -> Fe {
    var r = FE_ONE;
    for (var step = 0u; step < 512u * K1; step = step + 1u) {
        let b = 255u - step / 2u;
        let multiply = (step & 1u) == 1u;
        if (multiply && ((e[b / 32u] >> (b % 32u)) & 1u) == 0u) {
            continue;
        }
        var operand = r;
        if (multiply) {
            operand = z;
        }
        r = fe_mul(r, operand);
    }
    return r;
}

fn fe_invert(z: Fe) -> Fe {
    return fe_pow(z, EXP_INVERT);
}

fn fe_pow_p58(z: Fe) -> Fe {
    return fe_pow(z, EXP_P58);
}

// curve25519-dalek's sqrt_ratio_i: (was u/v a square (or u = 0), the non-negative root).
struct SqrtRatio {
    ok: bool,
    r: Fe,
}

fn fe_sqrt_ratio_i(u: Fe, v: Fe) -> SqrtRatio {
    let v3 = fe_mul(fe_sq(v), v);
    let v7 = fe_mul(fe_sq(v3), v);
    var r = fe_mul(fe_mul(u, v3), fe_pow_p58(fe_mul(u, v7)));
    let check = fe_mul(v, fe_sq(r));
    let neg_u = fe_neg(u);
    let correct = fe_eq(check, u);
    let flipped = fe_eq(check, neg_u);
    let flipped_i = fe_eq(check, fe_mul(neg_u, FE_SQRT_M1));
    if (flipped || flipped_i) {
        r = fe_mul(r, FE_SQRT_M1);
    }
    if (fe_is_negative(r)) {
        r = fe_neg(r);
    }
    return SqrtRatio(correct || flipped, r);
}

// ---- Points -------------------------------------------------------------------------------
// Extended twisted Edwards coordinates (X : Y : Z : T), x = X/Z, y = Y/Z, xy = T/Z, on
// -x^2 + y^2 = 1 + d x^2 y^2. The addition is the complete "add-2008-hwcd-3" formula (complete
// because d is not a square), so no case needs special handling, doublings included.

struct Point {
    x: Fe,
    y: Fe,
    z: Fe,
    t: Fe,
}

fn pt_identity() -> Point {
    return Point(FE_ZERO, FE_ONE, FE_ONE, FE_ZERO);
}

// The complete addition, also used for doubling (pt_add(p, p)), so that every point operation
// is one inlined copy of one function.
fn pt_add(p: Point, q: Point) -> Point {
    let a = fe_mul(fe_sub(p.y, p.x), fe_sub(q.y, q.x));
    let b = fe_mul(fe_add(p.y, p.x), fe_add(q.y, q.x));
    let c = fe_mul(fe_mul(p.t, FE_D2), q.t);
    let zz = fe_mul(p.z, q.z);
    let d = fe_add(zz, zz);
    let e = fe_sub(b, a);
    let f = fe_sub(d, c);
    let g = fe_add(d, c);
    let h = fe_add(b, a);
    return Point(fe_mul(e, f), fe_mul(g, h), fe_mul(f, g), fe_mul(e, h));
}

fn pt_neg(p: Point) -> Point {
    return Point(fe_neg(p.x), p.y, p.z, fe_neg(p.t));
}

// [8]P is the identity (X = 0, Y = Z): curve25519-dalek's is_small_order.
fn pt_is_small_order(p: Point) -> bool {
    var q = p;
    for (var i = 0u; i < 3u * K1; i = i + 1u) {
        q = pt_add(q, q);
    }
    return fe_is_zero(q.x) && fe_eq(q.y, q.z);
}

struct Decompressed {
    ok: bool,
    p: Point,
}

// curve25519-dalek's CompressedEdwardsY::decompress: y from the low 255 bits (modulo p), x the
// non-negative root of (y^2 - 1) / (d y^2 + 1) negated when the sign bit is set (also for x = 0).
fn pt_decompress(w: array<u32, 8>) -> Decompressed {
    let y = fe_from_words(w);
    let yy = fe_sq(y);
    let u = fe_sub(yy, FE_ONE);
    let v = fe_add(fe_mul(yy, FE_D), FE_ONE);
    let root = fe_sqrt_ratio_i(u, v);
    var x = root.r;
    if ((w[7] >> 31u) == 1u) {
        x = fe_neg(x);
    }
    return Decompressed(root.ok, Point(x, y, FE_ONE, fe_mul(x, y)));
}

// The canonical 32-byte encoding as 8 little-endian words: y with x's parity in bit 255.
fn pt_compress(p: Point) -> array<u32, 8> {
    let zinv = fe_invert(p.z);
    let x = fe_mul(p.x, zinv);
    let y = fe_mul(p.y, zinv);
    var w = fe_to_words(y);
    if (fe_is_negative(x)) {
        w[7] = w[7] | 0x80000000u;
    }
    return w;
}
