//! `shaders/ed25519_challenge.wgsl` (ed25519's challenge scalar k = SHA-512(R ‖ A ‖ M) mod L)
//! against sha2 and curve25519-dalek, on whatever adapter exists: in CI, Mesa's software Vulkan
//! driver (lavapipe). The shader file has no bindings or entry points, so each test compiles it
//! with a small harness of its own.
//!
//! No adapter: where `CI=true` the tests fail (the GPU path must be proven there); elsewhere they
//! say loudly that they did not run.

mod common;

use std::sync::Arc;

use common::bytes;
use common::compute::{Binding, TestKernel};
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};
use tandem_kernels::gpu::GpuContext;
use tandem_kernels::testing::gpu_or_skip;

const CHALLENGE_WGSL: &str = include_str!("../../shaders/ed25519_challenge.wgsl");

/// The harness: `challenge_test` runs `challenge_scalar` on table entry i (first word, blocks);
/// `reduce_test` runs `ch_reduce_mod_l` on the 512-bit little-endian value in
/// `hash_input[16i..16i + 16]` (one entry per table entry, the table's contents unused).
const HARNESS_WGSL: &str = r#"
@group(0) @binding(0) var<storage, read> hash_input: array<u32>;
@group(0) @binding(1) var<storage, read> table: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(64)
fn challenge_test(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= arrayLength(&table)) {
        return;
    }
    let k = challenge_scalar(table[i].x, table[i].y);
    for (var j = 0u; j < 16u; j = j + 1u) {
        out[16u * i + j] = k[j];
    }
}

@compute @workgroup_size(64)
fn reduce_test(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= arrayLength(&table)) {
        return;
    }
    var x: array<u32, 32>;
    for (var j = 0u; j < 16u; j = j + 1u) {
        let w = hash_input[16u * i + j];
        x[2u * j] = w & 0xffffu;
        x[2u * j + 1u] = w >> 16u;
    }
    let r = ch_reduce_mod_l(x);
    for (var j = 0u; j < 16u; j = j + 1u) {
        out[16u * i + j] = r[j];
    }
}
"#;

const WORKGROUP: u32 = 64;

/// The kernels' own context (their adapter selection), or `None` where there is none and this is
/// not CI.
fn context() -> Option<Arc<GpuContext>> {
    gpu_or_skip("GPU challenge tests", GpuContext::shared())
}

/// Runs entry point `entry` over `table.len()` invocations with `words` as `hash_input`, and
/// returns the 16 output words of each invocation.
fn run(ctx: &GpuContext, entry: &str, words: &[u32], table: &[[u32; 2]]) -> Vec<[u32; 16]> {
    assert!(!table.is_empty());
    let kernel = TestKernel::new(
        ctx,
        format!("{CHALLENGE_WGSL}\n{HARNESS_WGSL}"),
        entry,
        &[Binding::Storage, Binding::Storage],
    );
    // The table's length is the invocation count (arrayLength), so its buffer is exact.
    let groups = (table.len() as u32).div_ceil(WORKGROUP);
    let out = kernel.run(
        ctx,
        &[words, table.as_flattened()],
        table.len() * 16,
        groups,
    );
    out.chunks_exact(16)
        .map(|c| c.try_into().unwrap())
        .collect()
}

/// Standard SHA-512 padding (FIPS 180-4 §5.1.2): 0x80, zeros to 112 mod 128, then the bit
/// length as a 128-bit big-endian integer.
fn sha512_pad(msg: &[u8]) -> Vec<u8> {
    let mut padded = msg.to_vec();
    padded.push(0x80);
    while padded.len() % 128 != 112 {
        padded.push(0);
    }
    padded.extend_from_slice(&(msg.len() as u128 * 8).to_be_bytes());
    padded
}

/// A scalar's 32 little-endian bytes as 16 little-endian 16-bit limbs.
fn limbs(s: &Scalar) -> [u32; 16] {
    let b = s.to_bytes();
    std::array::from_fn(|i| u16::from_le_bytes([b[2 * i], b[2 * i + 1]]) as u32)
}

const L_LIMBS: [u32; 16] = [
    54253, 23797, 25370, 22546, 40150, 41719, 63966, 5342, 0, 0, 0, 0, 0, 0, 0, 4096,
];
const MU_LIMBS: [u32; 17] = [
    4891, 2604, 58787, 60828, 10663, 2147, 8541, 8454, 65515, 65535, 65535, 65535, 65535, 65535,
    65535, 65535, 15,
];

/// Little-endian 16-bit limbs of a little-endian byte string.
fn to_limbs(b: &[u8]) -> Vec<u32> {
    b.chunks(2)
        .map(|c| c[0] as u32 | (*c.get(1).unwrap_or(&0) as u32) << 8)
        .collect()
}

/// a * b over 16-bit limbs, 32 limbs out (the product must be below 2^512).
fn mul(a: &[u32], b: &[u32]) -> [u32; 32] {
    let mut acc = [0u64; 64];
    for (i, &x) in a.iter().enumerate() {
        for (j, &y) in b.iter().enumerate() {
            acc[i + j] += x as u64 * y as u64;
        }
    }
    let mut out = [0u32; 32];
    let mut carry = 0u64;
    for (c, v) in acc.iter().enumerate() {
        let v = v + carry;
        if c < 32 {
            out[c] = (v & 0xffff) as u32;
        } else {
            assert_eq!(v & 0xffff, 0, "product overflows 512 bits");
        }
        carry = v >> 16;
    }
    assert_eq!(carry, 0);
    out
}

/// a + d (d may be negative) over 32 16-bit limbs, wrapping mod 2^512.
fn add_signed(a: [u32; 32], d: &[u32], negative: bool) -> [u32; 32] {
    let mut out = [0u32; 32];
    let mut carry = 0i64;
    for c in 0..32 {
        let dc = *d.get(c).unwrap_or(&0) as i64;
        let v = a[c] as i64 + if negative { -dc } else { dc } + carry;
        out[c] = v.rem_euclid(1 << 16) as u32;
        carry = v.div_euclid(1 << 16);
    }
    out
}

fn limbs_to_bytes(x: &[u32; 32]) -> [u8; 64] {
    let mut b = [0u8; 64];
    for (i, &l) in x.iter().enumerate() {
        b[2 * i..2 * i + 2].copy_from_slice(&(l as u16).to_le_bytes());
    }
    b
}

#[test]
fn the_constants_in_the_test_are_l_and_mu() {
    // L: reducing L's own bytes gives 0, and L - 1 reduces to itself.
    let mut l = [0u8; 64];
    for (i, &limb) in L_LIMBS.iter().enumerate() {
        l[2 * i..2 * i + 2].copy_from_slice(&(limb as u16).to_le_bytes());
    }
    assert_eq!(Scalar::from_bytes_mod_order_wide(&l), Scalar::ZERO);
    assert_eq!(
        Scalar::from_bytes_mod_order_wide(&l) - Scalar::ONE,
        Scalar::from_bytes_mod_order_wide(&limbs_to_bytes(&add_signed(
            mul(&L_LIMBS, &[1]),
            &[1],
            true
        )))
    );
    // mu = floor(2^512 / L): mu * L <= 2^512 - 1 < (mu + 1) * L, i.e. 2^512 - 1 - mu * L < L.
    let mu_l = mul(&MU_LIMBS, &L_LIMBS);
    let rest = add_signed([0xffff; 32], &mu_l, true);
    assert!(rest[16..].iter().all(|&l| l == 0));
    let rest_bytes = limbs_to_bytes(&rest);
    // rest < 2^256 and rest < L: reducing it changes nothing.
    assert_eq!(
        Scalar::from_bytes_mod_order_wide(&rest_bytes).to_bytes(),
        rest_bytes[..32]
    );
}

#[test]
fn the_shader_declares_only_prefixed_constants_and_functions() {
    assert!(!CHALLENGE_WGSL.contains("@group"));
    assert!(!CHALLENGE_WGSL.contains("@binding"));
    assert!(!CHALLENGE_WGSL.contains("@compute"));
    // Module-scope declarations are the unindented lines that start with a keyword.
    for line in CHALLENGE_WGSL.lines() {
        for keyword in ["fn ", "const ", "var", "override ", "struct ", "alias "] {
            if let Some(rest) = line.strip_prefix(keyword) {
                // `var<...> name` (none here, but check the name after the address space too).
                let name = match rest.strip_prefix('<') {
                    Some(r) => r.split_once('>').map_or(r, |(_, n)| n),
                    None => rest,
                }
                .trim_start();
                assert!(
                    name.starts_with("ch_") || name.starts_with("challenge_scalar("),
                    "unprefixed module-scope name: {line}"
                );
            }
        }
    }
}

#[test]
fn gpu_challenge_scalar_matches_sha2_and_dalek() {
    let Some(ctx) = context() else {
        return;
    };
    let mut messages: Vec<Vec<u8>> = [
        0usize, 1, 63, 64, 111, 112, 113, 127, 128, 129, 200, 239, 240, 255, 256, 1000, 2000,
    ]
    .iter()
    .map(|&len| bytes(len as u64, len))
    .collect();
    // R ‖ A ‖ M: 64 bytes of R and A, then messages of assorted lengths.
    for (i, len) in [0usize, 1, 32, 47, 48, 49, 63, 64, 100, 175, 176, 500, 1232]
        .into_iter()
        .enumerate()
    {
        messages.push(bytes(10_000 + i as u64, 64 + len));
    }
    // Random lengths, and the all-0xff / all-zero blocks (every carry in the adds).
    for i in 0..10u64 {
        let len = (common::rand_u64(i) % 1500) as usize;
        messages.push(bytes(20_000 + i, len));
    }
    messages.push(vec![0xff; 300]);
    messages.push(vec![0; 300]);

    // Pack each message 4-byte aligned, with gaps of 0..3 words so block starts vary.
    let mut words: Vec<u32> = Vec::new();
    let mut table = Vec::new();
    for (i, msg) in messages.iter().enumerate() {
        words.extend(std::iter::repeat_n(0xdead_beef, i % 4));
        let padded = sha512_pad(msg);
        assert_eq!(padded.len() % 128, 0);
        let blocks = padded.len() / 128;
        assert_eq!(
            blocks,
            (msg.len() + 16) / 128 + 1,
            "the header's block count"
        );
        table.push([words.len() as u32, blocks as u32]);
        words.extend(
            padded
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap())),
        );
    }
    words.extend([0xdead_beef; 4]);

    let out = run(&ctx, "challenge_test", &words, &table);
    for (i, (msg, got)) in messages.iter().zip(&out).enumerate() {
        let digest: [u8; 64] = Sha512::digest(msg).as_slice().try_into().unwrap();
        let expected = limbs(&Scalar::from_bytes_mod_order_wide(&digest));
        assert_eq!(
            got,
            &expected,
            "message {i} of {} bytes (digest {digest:02x?})",
            msg.len()
        );
        assert!(got.iter().all(|&l| l < 1 << 16));
    }
    eprintln!("{} messages hashed and reduced", messages.len());
}

#[test]
fn gpu_reduce_mod_l_matches_dalek() {
    let Some(ctx) = context() else {
        return;
    };
    let zero = [0u32; 32];
    let one = [1u32];
    let l = mul(&L_LIMBS, &one);
    let mut values: Vec<[u32; 32]> = vec![
        zero,
        add_signed(zero, &one, false),
        l,
        add_signed(l, &one, true),
        add_signed(l, &one, false),
        mul(&L_LIMBS, &[2]),
        add_signed(mul(&L_LIMBS, &[2]), &one, true),
        mul(&L_LIMBS, &[3]),
        add_signed(mul(&L_LIMBS, &[3]), &one, true),
        [0xffff; 32],
        add_signed([0xffff; 32], &L_LIMBS, true),
        // mu * L, the largest multiple of L below 2^512, and its neighbours.
        mul(&MU_LIMBS, &L_LIMBS),
        add_signed(mul(&MU_LIMBS, &L_LIMBS), &one, true),
        add_signed(mul(&MU_LIMBS, &L_LIMBS), &one, false),
        add_signed(mul(&MU_LIMBS, &L_LIMBS), &add_signed(l, &one, true), false),
    ];
    // 2^k for every bit position, and 2^k - 1.
    for k in 0..512 {
        let mut p = [0u32; 32];
        p[k / 16] = 1 << (k % 16);
        values.push(p);
        values.push(add_signed(p, &one, true));
    }
    // Multiples q * L of random q < mu, plus -1, 0, 1, L - 1 and 2L - 1 (whichever Barrett
    // correction each one needs).
    for i in 0..200u64 {
        let mut q = to_limbs(&bytes(30_000 + i, 33));
        q[16] %= MU_LIMBS[16]; // q < 15 * 2^256 < mu
        q.truncate((common::rand_u64(i + 7) % 17 + 1) as usize);
        let ql = mul(&q, &L_LIMBS);
        values.push(ql);
        values.push(add_signed(ql, &one, true));
        values.push(add_signed(ql, &one, false));
        values.push(add_signed(ql, &add_signed(l, &one, true), false));
        values.push(add_signed(
            ql,
            &add_signed(mul(&L_LIMBS, &[2]), &one, true),
            false,
        ));
    }
    // Random 512-bit values.
    for i in 0..1000u64 {
        let b = bytes(40_000 + i, 64);
        values.push(to_limbs(&b).try_into().unwrap());
    }

    let words: Vec<u32> = values
        .iter()
        .flat_map(|v| (0..16).map(move |j| v[2 * j] | (v[2 * j + 1] << 16)))
        .collect();
    let table = vec![[0u32; 2]; values.len()];
    let out = run(&ctx, "reduce_test", &words, &table);
    for (i, (x, got)) in values.iter().zip(&out).enumerate() {
        let expected = limbs(&Scalar::from_bytes_mod_order_wide(&limbs_to_bytes(x)));
        assert_eq!(got, &expected, "value {i}: {x:04x?}");
    }
    eprintln!("{} values reduced", values.len());
}
