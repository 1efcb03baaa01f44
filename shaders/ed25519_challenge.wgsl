// ed25519's challenge scalar k = SHA-512(R ‖ A ‖ M) mod L, for the WGSL ed25519 verifier (the
// kernels crate concatenates this file with the verifier's own; WGSL has no includes). This file
// declares only constants and functions: every name starts with `ch_`, except the entry function
// `challenge_scalar`. It reads the storage array `hash_input: array<u32>`, which the including
// shader must declare (WGSL module-scope declarations may come in any order).
//
// Input layout (prepared on the CPU):
// - The message m = R ‖ A ‖ M is padded the standard SHA-512 way (FIPS 180-4 §5.1.2): the byte
//   0x80, then zero bytes until the length is ≡ 112 (mod 128), then the message length in bits
//   as a 128-bit big-endian integer. The padded message is a whole number of 128-byte blocks:
//   blocks = floor((len(m) + 16) / 128) + 1.
// - The padded bytes are packed little-endian into u32 words: byte i of the padded message is
//   bits 8*(i%4)..8*(i%4)+7 of hash_input[first_word + i/4]. A message needs only 4-byte
//   alignment. SHA-512's big-endian 64-bit words are therefore assembled with byte swaps.
//
// Representation: no 64-bit integers (no SHADER_INT64). A u64 is a vec2<u32>, x = high 32 bits,
// y = low 32 bits; `ch_add64` carries from y into x, the rotations and shifts move bits between
// the halves, and the bitwise operations act on both halves componentwise. All u32 adds wrap
// (WGSL u32 arithmetic is modular), which is exactly SHA-512's arithmetic mod 2^64 once the carry
// is added. No shift amount is ever 0 or >= 32 (WGSL masks such runtime shifts): each rotation
// and shift is by a constant in 1..31, or by 33..63 done as a half swap then 1..31.
//
// Output: the 64-byte digest read as a little-endian 512-bit integer, reduced modulo
// L = 2^252 + 27742317777372353535851937790883648493 (Barrett, see `ch_reduce_mod_l`), as 16
// limbs of 16 bits, little-endian: limb i holds bits 16i..16i+15, each limb < 2^16, value < L.

// SHA-512's round constants K[0..80] (FIPS 180-4 §4.2.3), as (high, low).
const ch_k512: array<vec2<u32>, 80> = array<vec2<u32>, 80>(
    vec2<u32>(0x428a2f98u, 0xd728ae22u), vec2<u32>(0x71374491u, 0x23ef65cdu),
    vec2<u32>(0xb5c0fbcfu, 0xec4d3b2fu), vec2<u32>(0xe9b5dba5u, 0x8189dbbcu),
    vec2<u32>(0x3956c25bu, 0xf348b538u), vec2<u32>(0x59f111f1u, 0xb605d019u),
    vec2<u32>(0x923f82a4u, 0xaf194f9bu), vec2<u32>(0xab1c5ed5u, 0xda6d8118u),
    vec2<u32>(0xd807aa98u, 0xa3030242u), vec2<u32>(0x12835b01u, 0x45706fbeu),
    vec2<u32>(0x243185beu, 0x4ee4b28cu), vec2<u32>(0x550c7dc3u, 0xd5ffb4e2u),
    vec2<u32>(0x72be5d74u, 0xf27b896fu), vec2<u32>(0x80deb1feu, 0x3b1696b1u),
    vec2<u32>(0x9bdc06a7u, 0x25c71235u), vec2<u32>(0xc19bf174u, 0xcf692694u),
    vec2<u32>(0xe49b69c1u, 0x9ef14ad2u), vec2<u32>(0xefbe4786u, 0x384f25e3u),
    vec2<u32>(0x0fc19dc6u, 0x8b8cd5b5u), vec2<u32>(0x240ca1ccu, 0x77ac9c65u),
    vec2<u32>(0x2de92c6fu, 0x592b0275u), vec2<u32>(0x4a7484aau, 0x6ea6e483u),
    vec2<u32>(0x5cb0a9dcu, 0xbd41fbd4u), vec2<u32>(0x76f988dau, 0x831153b5u),
    vec2<u32>(0x983e5152u, 0xee66dfabu), vec2<u32>(0xa831c66du, 0x2db43210u),
    vec2<u32>(0xb00327c8u, 0x98fb213fu), vec2<u32>(0xbf597fc7u, 0xbeef0ee4u),
    vec2<u32>(0xc6e00bf3u, 0x3da88fc2u), vec2<u32>(0xd5a79147u, 0x930aa725u),
    vec2<u32>(0x06ca6351u, 0xe003826fu), vec2<u32>(0x14292967u, 0x0a0e6e70u),
    vec2<u32>(0x27b70a85u, 0x46d22ffcu), vec2<u32>(0x2e1b2138u, 0x5c26c926u),
    vec2<u32>(0x4d2c6dfcu, 0x5ac42aedu), vec2<u32>(0x53380d13u, 0x9d95b3dfu),
    vec2<u32>(0x650a7354u, 0x8baf63deu), vec2<u32>(0x766a0abbu, 0x3c77b2a8u),
    vec2<u32>(0x81c2c92eu, 0x47edaee6u), vec2<u32>(0x92722c85u, 0x1482353bu),
    vec2<u32>(0xa2bfe8a1u, 0x4cf10364u), vec2<u32>(0xa81a664bu, 0xbc423001u),
    vec2<u32>(0xc24b8b70u, 0xd0f89791u), vec2<u32>(0xc76c51a3u, 0x0654be30u),
    vec2<u32>(0xd192e819u, 0xd6ef5218u), vec2<u32>(0xd6990624u, 0x5565a910u),
    vec2<u32>(0xf40e3585u, 0x5771202au), vec2<u32>(0x106aa070u, 0x32bbd1b8u),
    vec2<u32>(0x19a4c116u, 0xb8d2d0c8u), vec2<u32>(0x1e376c08u, 0x5141ab53u),
    vec2<u32>(0x2748774cu, 0xdf8eeb99u), vec2<u32>(0x34b0bcb5u, 0xe19b48a8u),
    vec2<u32>(0x391c0cb3u, 0xc5c95a63u), vec2<u32>(0x4ed8aa4au, 0xe3418acbu),
    vec2<u32>(0x5b9cca4fu, 0x7763e373u), vec2<u32>(0x682e6ff3u, 0xd6b2b8a3u),
    vec2<u32>(0x748f82eeu, 0x5defb2fcu), vec2<u32>(0x78a5636fu, 0x43172f60u),
    vec2<u32>(0x84c87814u, 0xa1f0ab72u), vec2<u32>(0x8cc70208u, 0x1a6439ecu),
    vec2<u32>(0x90befffau, 0x23631e28u), vec2<u32>(0xa4506cebu, 0xde82bde9u),
    vec2<u32>(0xbef9a3f7u, 0xb2c67915u), vec2<u32>(0xc67178f2u, 0xe372532bu),
    vec2<u32>(0xca273eceu, 0xea26619cu), vec2<u32>(0xd186b8c7u, 0x21c0c207u),
    vec2<u32>(0xeada7dd6u, 0xcde0eb1eu), vec2<u32>(0xf57d4f7fu, 0xee6ed178u),
    vec2<u32>(0x06f067aau, 0x72176fbau), vec2<u32>(0x0a637dc5u, 0xa2c898a6u),
    vec2<u32>(0x113f9804u, 0xbef90daeu), vec2<u32>(0x1b710b35u, 0x131c471bu),
    vec2<u32>(0x28db77f5u, 0x23047d84u), vec2<u32>(0x32caab7bu, 0x40c72493u),
    vec2<u32>(0x3c9ebe0au, 0x15c9bebcu), vec2<u32>(0x431d67c4u, 0x9c100d4cu),
    vec2<u32>(0x4cc5d4beu, 0xcb3e42b6u), vec2<u32>(0x597f299cu, 0xfc657e2au),
    vec2<u32>(0x5fcb6fabu, 0x3ad6faecu), vec2<u32>(0x6c44198cu, 0x4a475817u)
);

// SHA-512's initial hash value H(0) (FIPS 180-4 §5.3.5), as (high, low).
const ch_iv512: array<vec2<u32>, 8> = array<vec2<u32>, 8>(
    vec2<u32>(0x6a09e667u, 0xf3bcc908u), vec2<u32>(0xbb67ae85u, 0x84caa73bu),
    vec2<u32>(0x3c6ef372u, 0xfe94f82bu), vec2<u32>(0xa54ff53au, 0x5f1d36f1u),
    vec2<u32>(0x510e527fu, 0xade682d1u), vec2<u32>(0x9b05688cu, 0x2b3e6c1fu),
    vec2<u32>(0x1f83d9abu, 0xfb41bd6bu), vec2<u32>(0x5be0cd19u, 0x137e2179u)
);

// L = 2^252 + 27742317777372353535851937790883648493 as 17 little-endian 16-bit limbs (limb 16
// is 0: the width of the Barrett remainder).
const ch_l: array<u32, 17> = array<u32, 17>(
    54253u, 23797u, 25370u, 22546u, 40150u, 41719u, 63966u, 5342u,
    0u, 0u, 0u, 0u, 0u, 0u, 0u, 4096u, 0u
);

// mu = floor(2^512 / L) = 0xfffffffffffffffffffffffffffffffeb2106215d086329a7ed9ce5a30a2c131b
// (260 bits) as 17 little-endian 16-bit limbs.
const ch_mu: array<u32, 17> = array<u32, 17>(
    4891u, 2604u, 58787u, 60828u, 10663u, 2147u, 8541u, 8454u,
    65515u, 65535u, 65535u, 65535u, 65535u, 65535u, 65535u, 65535u, 15u
);

// ---- 64-bit words as vec2<u32>(high, low) ----

fn ch_add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.y + b.y;
    // The low add wrapped exactly when the sum is below an addend.
    let carry = select(0u, 1u, lo < a.y);
    return vec2<u32>(a.x + b.x + carry, lo);
}

// Rotate right by n, 1 <= n <= 31.
fn ch_rotr_lo(x: vec2<u32>, n: u32) -> vec2<u32> {
    return vec2<u32>((x.x >> n) | (x.y << (32u - n)), (x.y >> n) | (x.x << (32u - n)));
}

// Rotate right by n, 33 <= n <= 63: a rotation by 32 swaps the halves, then by n - 32.
fn ch_rotr_hi(x: vec2<u32>, n: u32) -> vec2<u32> {
    return ch_rotr_lo(x.yx, n - 32u);
}

// Shift right by n, 1 <= n <= 31.
fn ch_shr(x: vec2<u32>, n: u32) -> vec2<u32> {
    return vec2<u32>(x.x >> n, (x.y >> n) | (x.x << (32u - n)));
}

// FIPS 180-4 §4.1.3: Σ0, Σ1, σ0, σ1, Ch, Maj.
fn ch_big_sigma0(x: vec2<u32>) -> vec2<u32> {
    return ch_rotr_lo(x, 28u) ^ ch_rotr_hi(x, 34u) ^ ch_rotr_hi(x, 39u);
}

fn ch_big_sigma1(x: vec2<u32>) -> vec2<u32> {
    return ch_rotr_lo(x, 14u) ^ ch_rotr_lo(x, 18u) ^ ch_rotr_hi(x, 41u);
}

fn ch_small_sigma0(x: vec2<u32>) -> vec2<u32> {
    return ch_rotr_lo(x, 1u) ^ ch_rotr_lo(x, 8u) ^ ch_shr(x, 7u);
}

fn ch_small_sigma1(x: vec2<u32>) -> vec2<u32> {
    return ch_rotr_lo(x, 19u) ^ ch_rotr_hi(x, 61u) ^ ch_shr(x, 6u);
}

fn ch_choose(e: vec2<u32>, f: vec2<u32>, g: vec2<u32>) -> vec2<u32> {
    return (e & f) ^ (~e & g);
}

fn ch_majority(a: vec2<u32>, b: vec2<u32>, c: vec2<u32>) -> vec2<u32> {
    return (a & b) ^ (a & c) ^ (b & c);
}

// Reverses the bytes of a u32: turns a little-endian packed word into the big-endian one.
fn ch_bswap(x: u32) -> u32 {
    return (x << 24u) | ((x << 8u) & 0x00ff0000u) | ((x >> 8u) & 0x0000ff00u) | (x >> 24u);
}

// ---- SHA-512 ----

// One SHA-512 compression of the 128-byte block at hash_input[word .. word + 32] into `h`.
// Message word t (bytes 8t..8t+8, big-endian) is (bswap(hash_input[word + 2t]),
// bswap(hash_input[word + 2t + 1])). The schedule is kept in a 16-entry ring: w[t % 16] holds
// W[t] once round t begins.
fn ch_compress(h: array<vec2<u32>, 8>, word: u32) -> array<vec2<u32>, 8> {
    var w: array<vec2<u32>, 16>;
    for (var t = 0u; t < 16u; t = t + 1u) {
        w[t] = vec2<u32>(ch_bswap(hash_input[word + 2u * t]),
                         ch_bswap(hash_input[word + 2u * t + 1u]));
    }
    let k = ch_k512;
    var a = h[0];
    var b = h[1];
    var c = h[2];
    var d = h[3];
    var e = h[4];
    var f = h[5];
    var g = h[6];
    var hh = h[7];
    for (var t = 0u; t < 80u; t = t + 1u) {
        if (t >= 16u) {
            // W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16]; W[t-16] is in w[t % 16].
            let s1 = ch_small_sigma1(w[(t - 2u) & 15u]);
            let s0 = ch_small_sigma0(w[(t - 15u) & 15u]);
            w[t & 15u] = ch_add64(ch_add64(s1, w[(t - 7u) & 15u]), ch_add64(s0, w[t & 15u]));
        }
        // T1 = h + Σ1(e) + Ch(e, f, g) + K[t] + W[t]; T2 = Σ0(a) + Maj(a, b, c).
        let t1 = ch_add64(ch_add64(ch_add64(hh, ch_big_sigma1(e)), ch_choose(e, f, g)),
                          ch_add64(k[t], w[t & 15u]));
        let t2 = ch_add64(ch_big_sigma0(a), ch_majority(a, b, c));
        hh = g;
        g = f;
        f = e;
        e = ch_add64(d, t1);
        d = c;
        c = b;
        b = a;
        a = ch_add64(t1, t2);
    }
    return array<vec2<u32>, 8>(ch_add64(h[0], a), ch_add64(h[1], b), ch_add64(h[2], c),
                               ch_add64(h[3], d), ch_add64(h[4], e), ch_add64(h[5], f),
                               ch_add64(h[6], g), ch_add64(h[7], hh));
}

// SHA-512 of the padded message of `blocks` blocks at hash_input[first_word..], as 32 limbs of
// 16 bits of the digest read little-endian. Digest bytes 8i..8i+8 are H_i big-endian, so
// bswap(H_i.x) holds digest bytes 8i..8i+4 little-endian (limbs 4i, 4i+1) and bswap(H_i.y)
// bytes 8i+4..8i+8 (limbs 4i+2, 4i+3).
fn ch_sha512_limbs(first_word: u32, blocks: u32) -> array<u32, 32> {
    var h = ch_iv512;
    for (var blk = 0u; blk < blocks; blk = blk + 1u) {
        h = ch_compress(h, first_word + 32u * blk);
    }
    var x: array<u32, 32>;
    for (var i = 0u; i < 8u; i = i + 1u) {
        let hi = ch_bswap(h[i].x);
        let lo = ch_bswap(h[i].y);
        x[4u * i] = hi & 0xffffu;
        x[4u * i + 1u] = hi >> 16u;
        x[4u * i + 2u] = lo & 0xffffu;
        x[4u * i + 3u] = lo >> 16u;
    }
    return x;
}

// ---- Reduction modulo L ----

// x mod L for x < 2^512 given as 32 little-endian 16-bit limbs (each < 2^16); returns 16 limbs,
// each < 2^16, value < L.
//
// Barrett reduction (HAC 14.42) with base b = 2^16 and k = 16 (L has 16 limbs, the top one
// nonzero, and x < b^2k): q1 = floor(x / b^(k-1)) = x >> 240 (17 limbs); q2 = q1 * mu;
// q3 = floor(q2 / b^(k+1)) = q2 >> 272 (17 limbs, since q3 <= x / L < 2^260); r1 = x mod b^(k+1);
// r2 = q3 * L mod b^(k+1); r = r1 - r2 mod b^(k+1). Then r = x - q3 * L with 0 <= r < 3L (< 2^272,
// so the mod b^(k+1) loses nothing), and at most two subtractions of L leave r < L.
//
// Products: every limb is < 2^16, so a limb product is at most (2^16 - 1)^2 < 2^32 and is exact
// in u32. Each product p = a_i * b_j is split: its low half (p & 0xffff) goes into column i + j
// and its high half (p >> 16) into column i + j + 1. A column receives at most 17 low halves
// (pairs with i + j = c, i, j < 17) and 17 high halves (pairs with i + j = c - 1), so it holds
// at most 34 * (2^16 - 1) < 2^22 before carrying; the carry into a column is then < 2^7, so the
// carry propagation stays below 2^23, far from overflowing a u32.
fn ch_reduce_mod_l(x: array<u32, 32>) -> array<u32, 16> {
    let mu = ch_mu;
    let l = ch_l;
    // q1 = x >> 240: limbs 15..31 of x.
    var q1: array<u32, 17>;
    for (var i = 0u; i < 17u; i = i + 1u) {
        q1[i] = x[15u + i];
    }
    // q2 = q1 * mu, all 34 columns (q1 < 2^272, mu < 2^260: q2 < 2^532 < 2^544).
    var acc: array<u32, 34>;
    for (var i = 0u; i < 17u; i = i + 1u) {
        for (var j = 0u; j < 17u; j = j + 1u) {
            let p = q1[i] * mu[j];
            acc[i + j] = acc[i + j] + (p & 0xffffu);
            acc[i + j + 1u] = acc[i + j + 1u] + (p >> 16u);
        }
    }
    // Carry-propagate; q3 = q2 >> 272 is columns 17..33. The final carry is 0 (q2 < 2^544).
    var q3: array<u32, 17>;
    var carry = 0u;
    for (var c = 0u; c < 34u; c = c + 1u) {
        let v = acc[c] + carry;
        carry = v >> 16u;
        if (c >= 17u) {
            q3[c - 17u] = v & 0xffffu;
        }
    }
    // r2 = q3 * L mod 2^272: only columns 0..16 (same bounds: at most 17 + 17 halves a column).
    var acc2: array<u32, 17>;
    for (var i = 0u; i < 17u; i = i + 1u) {
        for (var j = 0u; i + j < 17u; j = j + 1u) {
            let p = q3[i] * l[j];
            acc2[i + j] = acc2[i + j] + (p & 0xffffu);
            if (i + j + 1u < 17u) {
                acc2[i + j + 1u] = acc2[i + j + 1u] + (p >> 16u);
            }
        }
    }
    // r = r1 - r2 mod 2^272, carrying r2's columns on the way (the carry out of column 16 and
    // the final borrow are dropped: that is the mod 2^272). In each step v = 2^16 + r1 limb -
    // (r2 limb + borrow) with the r2 limb < 2^16 and borrow <= 1, so 0 <= v < 2^17 and
    // 1 - (v >> 16) is the next borrow.
    var r: array<u32, 17>;
    carry = 0u;
    var borrow = 0u;
    for (var c = 0u; c < 17u; c = c + 1u) {
        let s = acc2[c] + carry;
        carry = s >> 16u;
        let v = 0x10000u + x[c] - (s & 0xffffu) - borrow;
        r[c] = v & 0xffffu;
        borrow = 1u - (v >> 16u);
    }
    // r < 3L: subtract L while r >= L, at most twice. t = r - L; no final borrow means r >= L.
    // (For this L the bound is tighter: x / L - q2 / b^(k+1) < 2^240 / L + frac(2^512 / L)
    // < 2^-12 + 0.2250 < 1, so q3 >= floor(x / L) - 1 and r < 2L: the second pass never
    // subtracts. It stays so that correctness rests only on HAC's bound.)
    for (var attempt = 0u; attempt < 2u; attempt = attempt + 1u) {
        var t: array<u32, 17>;
        borrow = 0u;
        for (var c = 0u; c < 17u; c = c + 1u) {
            let v = 0x10000u + r[c] - l[c] - borrow;
            t[c] = v & 0xffffu;
            borrow = 1u - (v >> 16u);
        }
        if (borrow == 0u) {
            r = t;
        }
    }
    // r < L < 2^253: limb 16 is 0.
    var out: array<u32, 16>;
    for (var c = 0u; c < 16u; c = c + 1u) {
        out[c] = r[c];
    }
    return out;
}

// k = SHA-512(padded message) mod L for the `blocks` blocks at hash_input[first_word..] (layout
// in the header): 16 little-endian 16-bit limbs, each < 2^16, value < L.
fn challenge_scalar(first_word: u32, blocks: u32) -> array<u32, 16> {
    return ch_reduce_mod_l(ch_sha512_limbs(first_word, blocks));
}
