//! What the lane fields' and the lanes' tests draw their inputs from: a seeded random source and
//! the edge encodings of the field (around 0, p, 2^255 and 2^256, and single bits and all-ones
//! runs at a representation's limb boundaries).

use crate::testing::SplitMix64;

/// SplitMix64 with the helpers the tests draw from.
pub(crate) struct Rng(pub(crate) SplitMix64);

impl Rng {
    /// The next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number below `n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// 32 random bytes.
    pub(crate) fn bytes(&mut self) -> [u8; 32] {
        let mut b = [0u8; 32];
        for chunk in b.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        b
    }
}

/// `v` little-endian in 32 bytes.
pub(crate) fn encoding(v: u64) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&v.to_le_bytes());
    b
}

/// Encodings at the edges: around 0, p, 2^255 and 2^256, and, for every bit offset in
/// `boundaries` and bit 254, that single bit and all ones below it.
pub(crate) fn edge_encodings(boundaries: &[usize]) -> Vec<[u8; 32]> {
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    let plus = |mut b: [u8; 32], d: u8| {
        b[0] += d;
        b
    };
    let minus = |mut b: [u8; 32], d: u8| {
        b[0] -= d;
        b
    };
    let top = |mut b: [u8; 32]| {
        b[31] |= 0x80;
        b
    };
    let mut out = vec![
        encoding(0),
        encoding(1),
        encoding(19),
        minus(p, 1),      // p − 1
        p,                // p ≡ 0
        plus(p, 1),       // p + 1
        plus(p, 18),      // 2^255 − 1 ≡ 18
        [0xff; 32],       // 2^256 − 1: top bit ignored, ≡ 18
        top(encoding(0)), // 2^255: top bit ignored, ≡ 0
        top(minus(p, 1)), // p − 1 with the top bit set
        top(p),
    ];
    for &bit in boundaries.iter().chain(&[254]) {
        let mut b = [0u8; 32];
        b[bit / 8] = 1 << (bit % 8);
        out.push(b);
        let mut below = [0u8; 32];
        for i in 0..bit {
            below[i / 8] |= 1 << (i % 8);
        }
        out.push(below);
    }
    out
}
