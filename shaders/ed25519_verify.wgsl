// ed25519 verification, one invocation per signature, exactly ed25519-dalek's verify_strict
// (kernels/src/sigverify/mod.rs spells the rule out). Uses ed25519.wgsl (field and points) and
// ed25519_challenge.wgsl (k = SHA-512(R ‖ A ‖ M) mod L), which the kernels crate prepends.
//
// Bindings (the "function signature" of the CPU -> GPU call):
//   0 hash_input  per signature, R ‖ A ‖ M with SHA-512 padding, bytes little-endian in words
//   1 table       per signature: (first word in hash_input, number of 128-byte blocks)
//   2 sigs        per signature: 16 words, R then S, little-endian
//   3 keys        per signature: 8 words, the public key A
//   4 results     per signature: 1 valid, 0 invalid
//   5 params      x = number of signatures, y = invocations per row of the dispatch grid,
//                 z = 1 (the opaque K1 of ed25519.wgsl)

@group(0) @binding(0) var<storage, read> hash_input: array<u32>;
@group(0) @binding(1) var<storage, read> table: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> sigs: array<u32>;
@group(0) @binding(3) var<storage, read> keys: array<u32>;
@group(0) @binding(4) var<storage, read_write> results: array<u32>;
@group(0) @binding(5) var<uniform> params: vec4<u32>;

// L = 2^252 + 27742317777372353535851937790883648493 as 8 little-endian words.
const L_WORDS: array<u32, 8> = array<u32, 8>(0x5cf5d3edu, 0x5812631au, 0xa2f79cd6u, 0x14def9deu, 0x0u, 0x0u, 0x0u, 0x10000000u);

fn s_is_canonical(s: array<u32, 8>) -> bool {
    for (var i = 8u * K1; i > 0u; i = i - 1u) {
        let w = i - 1u;
        if (s[w] < L_WORDS[w]) {
            return true;
        }
        if (s[w] > L_WORDS[w]) {
            return false;
        }
    }
    return false; // S = L
}

// Nibble n (bits 4n..4n+3) of a scalar held as 16-bit limbs, and as 32-bit words.
fn nibble_of_limbs(k: array<u32, 16>, n: u32) -> u32 {
    return (k[n / 4u] >> (4u * (n % 4u))) & 15u;
}

fn nibble_of_words(s: array<u32, 8>, n: u32) -> u32 {
    return (s[n / 8u] >> (4u * (n % 8u))) & 15u;
}

fn verify_one(i: u32) -> bool {
    var r: array<u32, 8>;
    var s: array<u32, 8>;
    var a_words: array<u32, 8>;
    for (var w = 0u; w < 8u * K1; w = w + 1u) {
        r[w] = sigs[i * 16u + w];
        s[w] = sigs[i * 16u + 8u + w];
        a_words[w] = keys[i * 8u + w];
    }
    // 1. S canonical; 2-3. A decompresses and is not of small order.
    if (!s_is_canonical(s)) {
        return false;
    }
    let a = pt_decompress(a_words);
    if (!a.ok || pt_is_small_order(a.p)) {
        return false;
    }
    let entry = table[i];
    let k = challenge_scalar(entry.x, entry.y);

    // [s]B + [k](-A), 4-bit windows from the top (Straus): tables of 0..15 times B and -A,
    // built by one loop, then per window four doublings and two additions in one loop; each loop
    // holds a single pt_add so that the inlined shader stays small.
    var tb: array<Point, 16>;
    var ta: array<Point, 16>;
    tb[0] = pt_identity();
    ta[0] = pt_identity();
    let b = Point(FE_BX, FE_BY, FE_ONE, fe_mul(FE_BX, FE_BY));
    let minus_a = pt_neg(a.p);
    for (var step = 0u; step < 30u * K1; step = step + 1u) {
        let j = 1u + step / 2u;
        if ((step & 1u) == 0u) {
            tb[j] = pt_add(tb[j - 1u], b);
        } else {
            ta[j] = pt_add(ta[j - 1u], minus_a);
        }
    }
    var acc = pt_identity();
    for (var step = 0u; step < 384u * K1; step = step + 1u) {
        let n = 63u - step / 6u;
        let phase = step % 6u;
        var q = acc;
        if (phase == 4u) {
            q = ta[nibble_of_limbs(k, n)];
        } else if (phase == 5u) {
            q = tb[nibble_of_words(s, n)];
        } else if (n == 63u) {
            continue; // no doublings before the first window
        }
        acc = pt_add(acc, q);
    }
    // 4-5. R' encodes as the bytes of R (so R decompresses, to R') and is not of small order.
    let enc = pt_compress(acc);
    for (var w = 0u; w < 8u * K1; w = w + 1u) {
        if (enc[w] != r[w]) {
            return false;
        }
    }
    return !pt_is_small_order(acc);
}

@compute @workgroup_size(64)
fn ed25519_verify(@builtin(global_invocation_id) id: vec3<u32>) {
    K1 = params.z;
    let i = id.x + id.y * params.y;
    if (i >= params.x) {
        return;
    }
    results[i] = select(0u, 1u, verify_one(i));
}
