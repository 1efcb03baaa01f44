// Field arithmetic modulo p = 2^255 - 19 and Edwards25519 point arithmetic, in 32-bit integers
// only (no SHADER_INT64), for ed25519_verify.wgsl. The kernels crate concatenates the files.
//
// ---- Field elements -----------------------------------------------------------------------
// An Fe is 20 limbs of radix 2^13, little-endian: value = sum(limb[i] * 2^(13 i)), up to 260 bits,
// held in five vec4<u32> (limb i is member i / 4, lane i % 4) and only ever accessed by constant
// index, so the driver's compiler keeps field elements in registers: as 20-word private arrays,
// Mesa's compiler took tens of seconds per pipeline (see kernels/src/sigverify/gpu.rs). The limb
// code is straight-line, generated from one template per operation.
// Invariant ("normalised"), which every function below returns and every fe_mul input needs:
// each limb < 2^13 (limb 1 may reach 2^13 exactly after a fold). Then a product of two limbs is
// at most 2^26 and a column of fe_mul sums at most 20 of them: < 2^31, so no u32 wraps.
// Values are kept modulo p lazily (below 2^260, or 2^260 + 2^13 with limb 1 at 2^13: the
// direct test kernels/tests/gpu_field.rs feeds that edge in); fe_canonical gives the unique
// representative in [0, p). Folding: 2^255 = 19 (mod p), so 2^260 = 2^5 * 19 = 608 (mod p).

const MASK13: u32 = 0x1FFFu;
const FOLD260: u32 = 608u;

// An opaque 1: set from the uniform parameters when the entry point starts, so the driver's
// compiler cannot see through it. The exponentiation's loop bound is multiplied by it to keep
// that loop rolled: Mesa inlines every function and unrolls loops of constant trip count.
var<private> K1: u32;

// A field element: 20 limbs of 13 bits in five vec4<u32> (limb i is member i / 4, lane i % 4),
// all accesses by constant index, so the driver's compiler keeps it in registers. The limb code
// below is straight-line, generated from one template per operation (see the module docs).
struct Fe {
    a: vec4<u32>,
    b: vec4<u32>,
    c: vec4<u32>,
    d: vec4<u32>,
    e: vec4<u32>,
}

// Carries limbs below 2^32 - 2^23 into normalised form, folding what passes 2^260 back as * 608.
fn fe_carry(x: Fe) -> Fe {
    var r0 = x.a.x;
    var r1 = x.a.y;
    var r2 = x.a.z;
    var r3 = x.a.w;
    var r4 = x.b.x;
    var r5 = x.b.y;
    var r6 = x.b.z;
    var r7 = x.b.w;
    var r8 = x.c.x;
    var r9 = x.c.y;
    var r10 = x.c.z;
    var r11 = x.c.w;
    var r12 = x.d.x;
    var r13 = x.d.y;
    var r14 = x.d.z;
    var r15 = x.d.w;
    var r16 = x.e.x;
    var r17 = x.e.y;
    var r18 = x.e.z;
    var r19 = x.e.w;
    var v = 0u;
    var c = 0u;
    c = 0u;
    v = r0 + c; r0 = v & MASK13; c = v >> 13u;
    v = r1 + c; r1 = v & MASK13; c = v >> 13u;
    v = r2 + c; r2 = v & MASK13; c = v >> 13u;
    v = r3 + c; r3 = v & MASK13; c = v >> 13u;
    v = r4 + c; r4 = v & MASK13; c = v >> 13u;
    v = r5 + c; r5 = v & MASK13; c = v >> 13u;
    v = r6 + c; r6 = v & MASK13; c = v >> 13u;
    v = r7 + c; r7 = v & MASK13; c = v >> 13u;
    v = r8 + c; r8 = v & MASK13; c = v >> 13u;
    v = r9 + c; r9 = v & MASK13; c = v >> 13u;
    v = r10 + c; r10 = v & MASK13; c = v >> 13u;
    v = r11 + c; r11 = v & MASK13; c = v >> 13u;
    v = r12 + c; r12 = v & MASK13; c = v >> 13u;
    v = r13 + c; r13 = v & MASK13; c = v >> 13u;
    v = r14 + c; r14 = v & MASK13; c = v >> 13u;
    v = r15 + c; r15 = v & MASK13; c = v >> 13u;
    v = r16 + c; r16 = v & MASK13; c = v >> 13u;
    v = r17 + c; r17 = v & MASK13; c = v >> 13u;
    v = r18 + c; r18 = v & MASK13; c = v >> 13u;
    v = r19 + c; r19 = v & MASK13; c = v >> 13u;
    r0 = r0 + c * FOLD260;
    c = 0u;
    v = r0 + c; r0 = v & MASK13; c = v >> 13u;
    v = r1 + c; r1 = v & MASK13; c = v >> 13u;
    v = r2 + c; r2 = v & MASK13; c = v >> 13u;
    v = r3 + c; r3 = v & MASK13; c = v >> 13u;
    v = r4 + c; r4 = v & MASK13; c = v >> 13u;
    v = r5 + c; r5 = v & MASK13; c = v >> 13u;
    v = r6 + c; r6 = v & MASK13; c = v >> 13u;
    v = r7 + c; r7 = v & MASK13; c = v >> 13u;
    v = r8 + c; r8 = v & MASK13; c = v >> 13u;
    v = r9 + c; r9 = v & MASK13; c = v >> 13u;
    v = r10 + c; r10 = v & MASK13; c = v >> 13u;
    v = r11 + c; r11 = v & MASK13; c = v >> 13u;
    v = r12 + c; r12 = v & MASK13; c = v >> 13u;
    v = r13 + c; r13 = v & MASK13; c = v >> 13u;
    v = r14 + c; r14 = v & MASK13; c = v >> 13u;
    v = r15 + c; r15 = v & MASK13; c = v >> 13u;
    v = r16 + c; r16 = v & MASK13; c = v >> 13u;
    v = r17 + c; r17 = v & MASK13; c = v >> 13u;
    v = r18 + c; r18 = v & MASK13; c = v >> 13u;
    v = r19 + c; r19 = v & MASK13; c = v >> 13u;
    r0 = r0 + c * FOLD260;
    r1 = r1 + (r0 >> 13u);
    r0 = r0 & MASK13;
    return Fe(vec4<u32>(r0, r1, r2, r3), vec4<u32>(r4, r5, r6, r7), vec4<u32>(r8, r9, r10, r11), vec4<u32>(r12, r13, r14, r15), vec4<u32>(r16, r17, r18, r19));
}

fn fe_add(x: Fe, y: Fe) -> Fe {
    return fe_carry(Fe(x.a + y.a, x.b + y.b, x.c + y.c, x.d + y.d, x.e + y.e));
}

fn fe_sub(x: Fe, y: Fe) -> Fe {
    return fe_carry(Fe(x.a + SUB_BIAS.a - y.a, x.b + SUB_BIAS.b - y.b, x.c + SUB_BIAS.c - y.c,
        x.d + SUB_BIAS.d - y.d, x.e + SUB_BIAS.e - y.e));
}

fn fe_neg(x: Fe) -> Fe {
    return fe_sub(FE_ZERO, x);
}

fn fe_mul(x: Fe, y: Fe) -> Fe {
    let x0 = x.a.x;
    let x1 = x.a.y;
    let x2 = x.a.z;
    let x3 = x.a.w;
    let x4 = x.b.x;
    let x5 = x.b.y;
    let x6 = x.b.z;
    let x7 = x.b.w;
    let x8 = x.c.x;
    let x9 = x.c.y;
    let x10 = x.c.z;
    let x11 = x.c.w;
    let x12 = x.d.x;
    let x13 = x.d.y;
    let x14 = x.d.z;
    let x15 = x.d.w;
    let x16 = x.e.x;
    let x17 = x.e.y;
    let x18 = x.e.z;
    let x19 = x.e.w;
    let y0 = y.a.x;
    let y1 = y.a.y;
    let y2 = y.a.z;
    let y3 = y.a.w;
    let y4 = y.b.x;
    let y5 = y.b.y;
    let y6 = y.b.z;
    let y7 = y.b.w;
    let y8 = y.c.x;
    let y9 = y.c.y;
    let y10 = y.c.z;
    let y11 = y.c.w;
    let y12 = y.d.x;
    let y13 = y.d.y;
    let y14 = y.d.z;
    let y15 = y.d.w;
    let y16 = y.e.x;
    let y17 = y.e.y;
    let y18 = y.e.z;
    let y19 = y.e.w;
    var t0 = x0 * y0;
    var t1 = x0 * y1 + x1 * y0;
    var t2 = x0 * y2 + x1 * y1 + x2 * y0;
    var t3 = x0 * y3 + x1 * y2 + x2 * y1 + x3 * y0;
    var t4 = x0 * y4 + x1 * y3 + x2 * y2 + x3 * y1 + x4 * y0;
    var t5 = x0 * y5 + x1 * y4 + x2 * y3 + x3 * y2 + x4 * y1 + x5 * y0;
    var t6 = x0 * y6 + x1 * y5 + x2 * y4 + x3 * y3 + x4 * y2 + x5 * y1 + x6 * y0;
    var t7 = x0 * y7 + x1 * y6 + x2 * y5 + x3 * y4 + x4 * y3 + x5 * y2 + x6 * y1 + x7 * y0;
    var t8 = x0 * y8 + x1 * y7 + x2 * y6 + x3 * y5 + x4 * y4 + x5 * y3 + x6 * y2 + x7 * y1 + x8 * y0;
    var t9 = x0 * y9 + x1 * y8 + x2 * y7 + x3 * y6 + x4 * y5 + x5 * y4 + x6 * y3 + x7 * y2 + x8 * y1 + x9 * y0;
    var t10 = x0 * y10 + x1 * y9 + x2 * y8 + x3 * y7 + x4 * y6 + x5 * y5 + x6 * y4 + x7 * y3 + x8 * y2 + x9 * y1 + x10 * y0;
    var t11 = x0 * y11 + x1 * y10 + x2 * y9 + x3 * y8 + x4 * y7 + x5 * y6 + x6 * y5 + x7 * y4 + x8 * y3 + x9 * y2 + x10 * y1 + x11 * y0;
    var t12 = x0 * y12 + x1 * y11 + x2 * y10 + x3 * y9 + x4 * y8 + x5 * y7 + x6 * y6 + x7 * y5 + x8 * y4 + x9 * y3 + x10 * y2 + x11 * y1 + x12 * y0;
    var t13 = x0 * y13 + x1 * y12 + x2 * y11 + x3 * y10 + x4 * y9 + x5 * y8 + x6 * y7 + x7 * y6 + x8 * y5 + x9 * y4 + x10 * y3 + x11 * y2 + x12 * y1 + x13 * y0;
    var t14 = x0 * y14 + x1 * y13 + x2 * y12 + x3 * y11 + x4 * y10 + x5 * y9 + x6 * y8 + x7 * y7 + x8 * y6 + x9 * y5 + x10 * y4 + x11 * y3 + x12 * y2 + x13 * y1 + x14 * y0;
    var t15 = x0 * y15 + x1 * y14 + x2 * y13 + x3 * y12 + x4 * y11 + x5 * y10 + x6 * y9 + x7 * y8 + x8 * y7 + x9 * y6 + x10 * y5 + x11 * y4 + x12 * y3 + x13 * y2 + x14 * y1 + x15 * y0;
    var t16 = x0 * y16 + x1 * y15 + x2 * y14 + x3 * y13 + x4 * y12 + x5 * y11 + x6 * y10 + x7 * y9 + x8 * y8 + x9 * y7 + x10 * y6 + x11 * y5 + x12 * y4 + x13 * y3 + x14 * y2 + x15 * y1 + x16 * y0;
    var t17 = x0 * y17 + x1 * y16 + x2 * y15 + x3 * y14 + x4 * y13 + x5 * y12 + x6 * y11 + x7 * y10 + x8 * y9 + x9 * y8 + x10 * y7 + x11 * y6 + x12 * y5 + x13 * y4 + x14 * y3 + x15 * y2 + x16 * y1 + x17 * y0;
    var t18 = x0 * y18 + x1 * y17 + x2 * y16 + x3 * y15 + x4 * y14 + x5 * y13 + x6 * y12 + x7 * y11 + x8 * y10 + x9 * y9 + x10 * y8 + x11 * y7 + x12 * y6 + x13 * y5 + x14 * y4 + x15 * y3 + x16 * y2 + x17 * y1 + x18 * y0;
    var t19 = x0 * y19 + x1 * y18 + x2 * y17 + x3 * y16 + x4 * y15 + x5 * y14 + x6 * y13 + x7 * y12 + x8 * y11 + x9 * y10 + x10 * y9 + x11 * y8 + x12 * y7 + x13 * y6 + x14 * y5 + x15 * y4 + x16 * y3 + x17 * y2 + x18 * y1 + x19 * y0;
    var t20 = x1 * y19 + x2 * y18 + x3 * y17 + x4 * y16 + x5 * y15 + x6 * y14 + x7 * y13 + x8 * y12 + x9 * y11 + x10 * y10 + x11 * y9 + x12 * y8 + x13 * y7 + x14 * y6 + x15 * y5 + x16 * y4 + x17 * y3 + x18 * y2 + x19 * y1;
    var t21 = x2 * y19 + x3 * y18 + x4 * y17 + x5 * y16 + x6 * y15 + x7 * y14 + x8 * y13 + x9 * y12 + x10 * y11 + x11 * y10 + x12 * y9 + x13 * y8 + x14 * y7 + x15 * y6 + x16 * y5 + x17 * y4 + x18 * y3 + x19 * y2;
    var t22 = x3 * y19 + x4 * y18 + x5 * y17 + x6 * y16 + x7 * y15 + x8 * y14 + x9 * y13 + x10 * y12 + x11 * y11 + x12 * y10 + x13 * y9 + x14 * y8 + x15 * y7 + x16 * y6 + x17 * y5 + x18 * y4 + x19 * y3;
    var t23 = x4 * y19 + x5 * y18 + x6 * y17 + x7 * y16 + x8 * y15 + x9 * y14 + x10 * y13 + x11 * y12 + x12 * y11 + x13 * y10 + x14 * y9 + x15 * y8 + x16 * y7 + x17 * y6 + x18 * y5 + x19 * y4;
    var t24 = x5 * y19 + x6 * y18 + x7 * y17 + x8 * y16 + x9 * y15 + x10 * y14 + x11 * y13 + x12 * y12 + x13 * y11 + x14 * y10 + x15 * y9 + x16 * y8 + x17 * y7 + x18 * y6 + x19 * y5;
    var t25 = x6 * y19 + x7 * y18 + x8 * y17 + x9 * y16 + x10 * y15 + x11 * y14 + x12 * y13 + x13 * y12 + x14 * y11 + x15 * y10 + x16 * y9 + x17 * y8 + x18 * y7 + x19 * y6;
    var t26 = x7 * y19 + x8 * y18 + x9 * y17 + x10 * y16 + x11 * y15 + x12 * y14 + x13 * y13 + x14 * y12 + x15 * y11 + x16 * y10 + x17 * y9 + x18 * y8 + x19 * y7;
    var t27 = x8 * y19 + x9 * y18 + x10 * y17 + x11 * y16 + x12 * y15 + x13 * y14 + x14 * y13 + x15 * y12 + x16 * y11 + x17 * y10 + x18 * y9 + x19 * y8;
    var t28 = x9 * y19 + x10 * y18 + x11 * y17 + x12 * y16 + x13 * y15 + x14 * y14 + x15 * y13 + x16 * y12 + x17 * y11 + x18 * y10 + x19 * y9;
    var t29 = x10 * y19 + x11 * y18 + x12 * y17 + x13 * y16 + x14 * y15 + x15 * y14 + x16 * y13 + x17 * y12 + x18 * y11 + x19 * y10;
    var t30 = x11 * y19 + x12 * y18 + x13 * y17 + x14 * y16 + x15 * y15 + x16 * y14 + x17 * y13 + x18 * y12 + x19 * y11;
    var t31 = x12 * y19 + x13 * y18 + x14 * y17 + x15 * y16 + x16 * y15 + x17 * y14 + x18 * y13 + x19 * y12;
    var t32 = x13 * y19 + x14 * y18 + x15 * y17 + x16 * y16 + x17 * y15 + x18 * y14 + x19 * y13;
    var t33 = x14 * y19 + x15 * y18 + x16 * y17 + x17 * y16 + x18 * y15 + x19 * y14;
    var t34 = x15 * y19 + x16 * y18 + x17 * y17 + x18 * y16 + x19 * y15;
    var t35 = x16 * y19 + x17 * y18 + x18 * y17 + x19 * y16;
    var t36 = x17 * y19 + x18 * y18 + x19 * y17;
    var t37 = x18 * y19 + x19 * y18;
    var t38 = x19 * y19;
    var v = 0u;
    var c = 0u;
    v = t0 + c; t0 = v & MASK13; c = v >> 13u;
    v = t1 + c; t1 = v & MASK13; c = v >> 13u;
    v = t2 + c; t2 = v & MASK13; c = v >> 13u;
    v = t3 + c; t3 = v & MASK13; c = v >> 13u;
    v = t4 + c; t4 = v & MASK13; c = v >> 13u;
    v = t5 + c; t5 = v & MASK13; c = v >> 13u;
    v = t6 + c; t6 = v & MASK13; c = v >> 13u;
    v = t7 + c; t7 = v & MASK13; c = v >> 13u;
    v = t8 + c; t8 = v & MASK13; c = v >> 13u;
    v = t9 + c; t9 = v & MASK13; c = v >> 13u;
    v = t10 + c; t10 = v & MASK13; c = v >> 13u;
    v = t11 + c; t11 = v & MASK13; c = v >> 13u;
    v = t12 + c; t12 = v & MASK13; c = v >> 13u;
    v = t13 + c; t13 = v & MASK13; c = v >> 13u;
    v = t14 + c; t14 = v & MASK13; c = v >> 13u;
    v = t15 + c; t15 = v & MASK13; c = v >> 13u;
    v = t16 + c; t16 = v & MASK13; c = v >> 13u;
    v = t17 + c; t17 = v & MASK13; c = v >> 13u;
    v = t18 + c; t18 = v & MASK13; c = v >> 13u;
    v = t19 + c; t19 = v & MASK13; c = v >> 13u;
    v = t20 + c; t20 = v & MASK13; c = v >> 13u;
    v = t21 + c; t21 = v & MASK13; c = v >> 13u;
    v = t22 + c; t22 = v & MASK13; c = v >> 13u;
    v = t23 + c; t23 = v & MASK13; c = v >> 13u;
    v = t24 + c; t24 = v & MASK13; c = v >> 13u;
    v = t25 + c; t25 = v & MASK13; c = v >> 13u;
    v = t26 + c; t26 = v & MASK13; c = v >> 13u;
    v = t27 + c; t27 = v & MASK13; c = v >> 13u;
    v = t28 + c; t28 = v & MASK13; c = v >> 13u;
    v = t29 + c; t29 = v & MASK13; c = v >> 13u;
    v = t30 + c; t30 = v & MASK13; c = v >> 13u;
    v = t31 + c; t31 = v & MASK13; c = v >> 13u;
    v = t32 + c; t32 = v & MASK13; c = v >> 13u;
    v = t33 + c; t33 = v & MASK13; c = v >> 13u;
    v = t34 + c; t34 = v & MASK13; c = v >> 13u;
    v = t35 + c; t35 = v & MASK13; c = v >> 13u;
    v = t36 + c; t36 = v & MASK13; c = v >> 13u;
    v = t37 + c; t37 = v & MASK13; c = v >> 13u;
    v = t38 + c; t38 = v & MASK13; c = v >> 13u;
    let t39 = c;
    return fe_carry(Fe(vec4<u32>(t0 + t20 * FOLD260, t1 + t21 * FOLD260, t2 + t22 * FOLD260, t3 + t23 * FOLD260), vec4<u32>(t4 + t24 * FOLD260, t5 + t25 * FOLD260, t6 + t26 * FOLD260, t7 + t27 * FOLD260), vec4<u32>(t8 + t28 * FOLD260, t9 + t29 * FOLD260, t10 + t30 * FOLD260, t11 + t31 * FOLD260), vec4<u32>(t12 + t32 * FOLD260, t13 + t33 * FOLD260, t14 + t34 * FOLD260, t15 + t35 * FOLD260), vec4<u32>(t16 + t36 * FOLD260, t17 + t37 * FOLD260, t18 + t38 * FOLD260, t19 + t39 * FOLD260)));
}

fn fe_sq(x: Fe) -> Fe {
    return fe_mul(x, x);
}

// The unique representative in [0, p).
fn fe_canonical(x: Fe) -> Fe {
    let n = fe_carry(x);
    var r0 = n.a.x;
    var r1 = n.a.y;
    var r2 = n.a.z;
    var r3 = n.a.w;
    var r4 = n.b.x;
    var r5 = n.b.y;
    var r6 = n.b.z;
    var r7 = n.b.w;
    var r8 = n.c.x;
    var r9 = n.c.y;
    var r10 = n.c.z;
    var r11 = n.c.w;
    var r12 = n.d.x;
    var r13 = n.d.y;
    var r14 = n.d.z;
    var r15 = n.d.w;
    var r16 = n.e.x;
    var r17 = n.e.y;
    var r18 = n.e.z;
    var r19 = n.e.w;
    var v = 0u;
    var c = 0u;
    var top = 0u;
    top = r19 >> 8u; r19 = r19 & 0xFFu; r0 = r0 + top * 19u; c = 0u;
    v = r0 + c; r0 = v & MASK13; c = v >> 13u;
    v = r1 + c; r1 = v & MASK13; c = v >> 13u;
    v = r2 + c; r2 = v & MASK13; c = v >> 13u;
    v = r3 + c; r3 = v & MASK13; c = v >> 13u;
    v = r4 + c; r4 = v & MASK13; c = v >> 13u;
    v = r5 + c; r5 = v & MASK13; c = v >> 13u;
    v = r6 + c; r6 = v & MASK13; c = v >> 13u;
    v = r7 + c; r7 = v & MASK13; c = v >> 13u;
    v = r8 + c; r8 = v & MASK13; c = v >> 13u;
    v = r9 + c; r9 = v & MASK13; c = v >> 13u;
    v = r10 + c; r10 = v & MASK13; c = v >> 13u;
    v = r11 + c; r11 = v & MASK13; c = v >> 13u;
    v = r12 + c; r12 = v & MASK13; c = v >> 13u;
    v = r13 + c; r13 = v & MASK13; c = v >> 13u;
    v = r14 + c; r14 = v & MASK13; c = v >> 13u;
    v = r15 + c; r15 = v & MASK13; c = v >> 13u;
    v = r16 + c; r16 = v & MASK13; c = v >> 13u;
    v = r17 + c; r17 = v & MASK13; c = v >> 13u;
    v = r18 + c; r18 = v & MASK13; c = v >> 13u;
    v = r19 + c; r19 = v & MASK13; c = v >> 13u;
    top = r19 >> 8u; r19 = r19 & 0xFFu; r0 = r0 + top * 19u; c = 0u;
    v = r0 + c; r0 = v & MASK13; c = v >> 13u;
    v = r1 + c; r1 = v & MASK13; c = v >> 13u;
    v = r2 + c; r2 = v & MASK13; c = v >> 13u;
    v = r3 + c; r3 = v & MASK13; c = v >> 13u;
    v = r4 + c; r4 = v & MASK13; c = v >> 13u;
    v = r5 + c; r5 = v & MASK13; c = v >> 13u;
    v = r6 + c; r6 = v & MASK13; c = v >> 13u;
    v = r7 + c; r7 = v & MASK13; c = v >> 13u;
    v = r8 + c; r8 = v & MASK13; c = v >> 13u;
    v = r9 + c; r9 = v & MASK13; c = v >> 13u;
    v = r10 + c; r10 = v & MASK13; c = v >> 13u;
    v = r11 + c; r11 = v & MASK13; c = v >> 13u;
    v = r12 + c; r12 = v & MASK13; c = v >> 13u;
    v = r13 + c; r13 = v & MASK13; c = v >> 13u;
    v = r14 + c; r14 = v & MASK13; c = v >> 13u;
    v = r15 + c; r15 = v & MASK13; c = v >> 13u;
    v = r16 + c; r16 = v & MASK13; c = v >> 13u;
    v = r17 + c; r17 = v & MASK13; c = v >> 13u;
    v = r18 + c; r18 = v & MASK13; c = v >> 13u;
    v = r19 + c; r19 = v & MASK13; c = v >> 13u;
    // Now r < 2^255; r >= p exactly when r + 19 reaches 2^255, and then r - p = r + 19 - 2^255.
    var s0 = r0;
    var s1 = r1;
    var s2 = r2;
    var s3 = r3;
    var s4 = r4;
    var s5 = r5;
    var s6 = r6;
    var s7 = r7;
    var s8 = r8;
    var s9 = r9;
    var s10 = r10;
    var s11 = r11;
    var s12 = r12;
    var s13 = r13;
    var s14 = r14;
    var s15 = r15;
    var s16 = r16;
    var s17 = r17;
    var s18 = r18;
    var s19 = r19;
    s0 = s0 + 19u; c = 0u;
    v = s0 + c; s0 = v & MASK13; c = v >> 13u;
    v = s1 + c; s1 = v & MASK13; c = v >> 13u;
    v = s2 + c; s2 = v & MASK13; c = v >> 13u;
    v = s3 + c; s3 = v & MASK13; c = v >> 13u;
    v = s4 + c; s4 = v & MASK13; c = v >> 13u;
    v = s5 + c; s5 = v & MASK13; c = v >> 13u;
    v = s6 + c; s6 = v & MASK13; c = v >> 13u;
    v = s7 + c; s7 = v & MASK13; c = v >> 13u;
    v = s8 + c; s8 = v & MASK13; c = v >> 13u;
    v = s9 + c; s9 = v & MASK13; c = v >> 13u;
    v = s10 + c; s10 = v & MASK13; c = v >> 13u;
    v = s11 + c; s11 = v & MASK13; c = v >> 13u;
    v = s12 + c; s12 = v & MASK13; c = v >> 13u;
    v = s13 + c; s13 = v & MASK13; c = v >> 13u;
    v = s14 + c; s14 = v & MASK13; c = v >> 13u;
    v = s15 + c; s15 = v & MASK13; c = v >> 13u;
    v = s16 + c; s16 = v & MASK13; c = v >> 13u;
    v = s17 + c; s17 = v & MASK13; c = v >> 13u;
    v = s18 + c; s18 = v & MASK13; c = v >> 13u;
    v = s19 + c; s19 = v & MASK13; c = v >> 13u;
    if ((s19 >> 8u) != 0u) {
        s19 = s19 & 0xFFu;
        return Fe(vec4<u32>(s0, s1, s2, s3), vec4<u32>(s4, s5, s6, s7), vec4<u32>(s8, s9, s10, s11), vec4<u32>(s12, s13, s14, s15), vec4<u32>(s16, s17, s18, s19));
    }
    return Fe(vec4<u32>(r0, r1, r2, r3), vec4<u32>(r4, r5, r6, r7), vec4<u32>(r8, r9, r10, r11), vec4<u32>(r12, r13, r14, r15), vec4<u32>(r16, r17, r18, r19));
}

fn fe_is_zero(x: Fe) -> bool {
    let r = fe_canonical(x);
    let o = r.a | r.b | r.c | r.d | r.e;
    return (o.x | o.y | o.z | o.w) == 0u;
}

fn fe_eq(x: Fe, y: Fe) -> bool {
    return fe_is_zero(fe_sub(x, y));
}

// Whether the canonical representative is odd (curve25519-dalek's is_negative).
fn fe_is_negative(x: Fe) -> bool {
    return (fe_canonical(x).a.x & 1u) == 1u;
}

// The low 255 bits of 8 little-endian words (bit 255, a sign bit, is ignored), unreduced: as
// curve25519-dalek's FieldElement::from_bytes, so y >= p is read modulo p.
fn fe_from_words(w: array<u32, 8>) -> Fe {
    let l0 = (w[0] >> 0u) & MASK13;
    let l1 = (w[0] >> 13u) & MASK13;
    let l2 = ((w[0] >> 26u) | (w[1] << 6u)) & MASK13;
    let l3 = (w[1] >> 7u) & MASK13;
    let l4 = ((w[1] >> 20u) | (w[2] << 12u)) & MASK13;
    let l5 = (w[2] >> 1u) & MASK13;
    let l6 = (w[2] >> 14u) & MASK13;
    let l7 = ((w[2] >> 27u) | (w[3] << 5u)) & MASK13;
    let l8 = (w[3] >> 8u) & MASK13;
    let l9 = ((w[3] >> 21u) | (w[4] << 11u)) & MASK13;
    let l10 = (w[4] >> 2u) & MASK13;
    let l11 = (w[4] >> 15u) & MASK13;
    let l12 = ((w[4] >> 28u) | (w[5] << 4u)) & MASK13;
    let l13 = (w[5] >> 9u) & MASK13;
    let l14 = ((w[5] >> 22u) | (w[6] << 10u)) & MASK13;
    let l15 = (w[6] >> 3u) & MASK13;
    let l16 = (w[6] >> 16u) & MASK13;
    let l17 = ((w[6] >> 29u) | (w[7] << 3u)) & MASK13;
    let l18 = (w[7] >> 10u) & MASK13;
    let l19 = (w[7] >> 23u) & 0xFFu;
    return Fe(vec4<u32>(l0, l1, l2, l3), vec4<u32>(l4, l5, l6, l7), vec4<u32>(l8, l9, l10, l11), vec4<u32>(l12, l13, l14, l15), vec4<u32>(l16, l17, l18, l19));
}

// The canonical encoding's 8 little-endian words (bit 255 clear).
fn fe_to_words(x: Fe) -> array<u32, 8> {
    let r = fe_canonical(x);
    return array<u32, 8>((r.a.x << 0u) | (r.a.y << 13u) | (r.a.z << 26u), (r.a.z >> 6u) | (r.a.w << 7u) | (r.b.x << 20u), (r.b.x >> 12u) | (r.b.y << 1u) | (r.b.z << 14u) | (r.b.w << 27u), (r.b.w >> 5u) | (r.c.x << 8u) | (r.c.y << 21u), (r.c.y >> 11u) | (r.c.z << 2u) | (r.c.w << 15u) | (r.d.x << 28u), (r.d.x >> 4u) | (r.d.y << 9u) | (r.d.z << 22u), (r.d.z >> 10u) | (r.d.w << 3u) | (r.e.x << 16u) | (r.e.y << 29u), (r.e.y >> 3u) | (r.e.z << 10u) | (r.e.w << 23u));
}


// 64p with limbs 0..18 in [2^13, 2^14) and limb 19 >= 2^13, so that SUB_BIAS[i] >= b[i] for any
// normalised b: a - b is computed as a + SUB_BIAS - b without any limb going negative.
const SUB_BIAS: Fe = Fe(vec4<u32>(15168u, 16382u, 16382u, 16382u), vec4<u32>(16382u, 16382u, 16382u, 16382u), vec4<u32>(16382u, 16382u, 16382u, 16382u), vec4<u32>(16382u, 16382u, 16382u, 16382u), vec4<u32>(16382u, 16382u, 16382u, 16382u));
const FE_ZERO: Fe = Fe(vec4<u32>(0u, 0u, 0u, 0u), vec4<u32>(0u, 0u, 0u, 0u), vec4<u32>(0u, 0u, 0u, 0u), vec4<u32>(0u, 0u, 0u, 0u), vec4<u32>(0u, 0u, 0u, 0u));
const FE_ONE: Fe = Fe(vec4<u32>(1u, 0u, 0u, 0u), vec4<u32>(0u, 0u, 0u, 0u), vec4<u32>(0u, 0u, 0u, 0u), vec4<u32>(0u, 0u, 0u, 0u), vec4<u32>(0u, 0u, 0u, 0u));
// d = -121665/121666, 2d, sqrt(-1), and the base point B = (x, 4/5) with x even.
const FE_D: Fe = Fe(vec4<u32>(6307u, 6859u, 4740u, 5787u), vec4<u32>(5982u, 3157u, 1287u, 2472u), vec4<u32>(4106u, 3u, 6694u, 3827u), vec4<u32>(1943u, 928u, 3635u, 8142u), vec4<u32>(2927u, 1905u, 219u, 164u));
const FE_D2: Fe = Fe(vec4<u32>(4441u, 5527u, 1289u, 3383u), vec4<u32>(3773u, 6315u, 2574u, 4944u), vec4<u32>(20u, 7u, 5196u, 7655u), vec4<u32>(3886u, 1856u, 7270u, 8092u), vec4<u32>(5855u, 3810u, 438u, 72u));
const FE_SQRT_M1: Fe = Fe(vec4<u32>(176u, 4213u, 2514u, 7222u), vec4<u32>(3150u, 4668u, 5311u, 213u), vec4<u32>(792u, 6522u, 5609u, 7159u), vec4<u32>(2451u, 1664u, 3245u, 7137u), vec4<u32>(4033u, 1026u, 201u, 87u));
const FE_BX: Fe = Fe(vec4<u32>(5402u, 6446u, 6179u, 3162u), vec4<u32>(3221u, 5081u, 5270u, 3090u), vec4<u32>(3271u, 841u, 5911u, 7085u), vec4<u32>(799u, 4721u, 6914u, 2687u), vec4<u32>(3438u, 5790u, 6733u, 66u));
const FE_BY: Fe = Fe(vec4<u32>(1624u, 4915u, 6553u, 3276u), vec4<u32>(1638u, 4915u, 6553u, 3276u), vec4<u32>(1638u, 4915u, 6553u, 3276u), vec4<u32>(1638u, 4915u, 6553u, 3276u), vec4<u32>(1638u, 4915u, 6553u, 204u));

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
