//! Differential fuzzing of tandem's hand-written curve arithmetic (kernels/src/sigverify:
//! `field.rs`, `fixed_base.rs`) against the crates everyone trusts. The first byte picks a mode:
//!
//! 0. field: `from_bytes`, `to_bytes`, `add`, `sub`, `mul`, `square`, `neg`, `invert`,
//!    `sqrt_ratio` on arbitrary limbs at the bounds `field.rs` documents, against a bignum
//!    reference modulo `2^255 − 19` (curve25519-dalek keeps its field type private);
//! 1. arbitrary (key, signature, message) bytes, verified uncached and through a signer cache
//!    that has built the key's fixed-base table, and by every CPU platform's verifier (the
//!    lanes ones in a group beside valid signatures), against ed25519-dalek's verify_strict;
//! 2. signatures made from fuzzed secrets, with torsion added to A and R and an optional
//!    non-canonical S or altered message, so that valid signatures and the mixed-order cases of
//!    the cofactorless equation are reached too; checked as in 1;
//! 3. `[s]B + [k]P` on fixed-base tables (any P that decompresses, any s and k below 2^255)
//!    and decompress-then-encode, against curve25519-dalek's point arithmetic.
//!
//! Run from kernels/: `cargo +nightly fuzz run -a sigverify_diff` (`-a`: debug assertions, so an
//! overflowing limb panics instead of wrapping).

#![no_main]

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT as B, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use libfuzzer_sys::fuzz_target;
use num_bigint::BigUint;
use sha2::{Digest, Sha512};
use tandem_kernels::sigverify::cache::SignerCache;
use tandem_kernels::sigverify::fuzzing::{self as hooks, Limbs};
use tandem_kernels::Platform;
use tandem_kernels::sigverify::{cpu, reference, verify_many};

/// `N` bytes from the front of `data` (zero-padded), and the rest.
fn take<const N: usize>(data: &[u8]) -> ([u8; N], &[u8]) {
    let mut out = [0u8; N];
    let n = N.min(data.len());
    out[..n].copy_from_slice(&data[..n]);
    (out, &data[n..])
}

fn p() -> BigUint {
    (BigUint::from(1u8) << 255u32) - 19u32
}

/// The value of `limbs` modulo p.
fn value(limbs: Limbs) -> BigUint {
    let v = limbs
        .iter()
        .enumerate()
        .fold(BigUint::ZERO, |acc, (i, &l)| {
            acc + (BigUint::from(l) << (51 * i))
        });
    v % p()
}

/// The canonical 32-byte encoding of a value below p.
fn encode(v: &BigUint) -> [u8; 32] {
    let mut out = [0u8; 32];
    let bytes = v.to_bytes_le();
    out[..bytes.len()].copy_from_slice(&bytes);
    out
}

/// Asserts `limbs` equal `expected` modulo p, and are reduced (every limb `< 2^51 + 2^15`).
fn assert_reduced_eq(limbs: Limbs, expected: &BigUint, what: &str) {
    assert!(
        limbs.iter().all(|&l| l < (1 << 51) + (1 << 15)),
        "{what}: unreduced output {limbs:?}"
    );
    assert_eq!(value(limbs), *expected, "{what}");
    assert_eq!(
        hooks::field_to_bytes(limbs),
        encode(expected),
        "{what}: encoding"
    );
}

fn limbs(bytes: &[u8; 40], bound_bits: u32) -> Limbs {
    std::array::from_fn(|i| {
        u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"))
            & (u64::MAX >> (64 - bound_bits))
    })
}

fn field(data: &[u8]) {
    let (a_bytes, data) = take::<40>(data);
    let (b_bytes, data) = take::<40>(data);
    let (enc, _) = take::<32>(data);
    let p = p();

    // from_bytes reads the low 255 bits modulo p; to_bytes accepts any limbs.
    let mut low = enc;
    low[31] &= 0x7f;
    let from = hooks::field_from_bytes(&enc);
    assert_reduced_eq(from, &(BigUint::from_bytes_le(&low) % &p), "from_bytes");
    let raw = limbs(&a_bytes, 64);
    assert_eq!(hooks::field_to_bytes(raw), encode(&value(raw)), "to_bytes");

    // The documented input bound of mul, square, sub, neg and invert: limbs < 2^54.
    let (a, b) = (limbs(&a_bytes, 54), limbs(&b_bytes, 54));
    let (va, vb) = (value(a), value(b));
    let sum = hooks::field_add(a, b);
    assert_eq!(value(sum), (&va + &vb) % &p, "add");
    assert_reduced_eq(hooks::field_mul(a, b), &(&va * &vb % &p), "mul");
    assert_reduced_eq(hooks::field_square(a), &(&va * &va % &p), "square");
    assert_reduced_eq(hooks::field_sub(a, b), &((&va + &p - &vb) % &p), "sub");
    // sub takes a wider subtrahend: limbs up to 16·(2^51 − 19) = 2^55 − 304 (clamped, so the
    // bound itself comes up often).
    let wide = limbs(&b_bytes, 55).map(|l| l.min((1 << 55) - 304));
    let vw = value(wide);
    assert_reduced_eq(
        hooks::field_sub(a, wide),
        &((&va + &p - &vw) % &p),
        "sub, wide",
    );
    assert_reduced_eq(hooks::field_neg(a), &((&p - &va) % &p), "neg");
    let inv = va.modpow(&(&p - 2u32), &p);
    assert_reduced_eq(hooks::field_invert(a), &inv, "invert");

    // sqrt_ratio: a root exactly when u/v is a square (u = 0 included, v = 0 with u ≠ 0 not),
    // and then the non-negative (even) one.
    let (ok, r) = hooks::field_sqrt_ratio(a, b);
    let is_square = if va == BigUint::ZERO {
        true
    } else if vb == BigUint::ZERO {
        false
    } else {
        let ratio = &va * vb.modpow(&(&p - 2u32), &p) % &p;
        ratio.modpow(&((&p - 1u32) >> 1), &p) == BigUint::from(1u8)
    };
    assert_eq!(ok, is_square, "sqrt_ratio: is_square");
    if ok {
        let vr = value(r);
        assert_eq!(&vr * &vr * &vb % &p, va.clone(), "sqrt_ratio: root");
        assert!(!vr.bit(0), "sqrt_ratio: the non-negative root");
    }
}

/// Checks one (signature, key, message) uncached and through a cache holding the key's table.
fn signature(sig: &[u8; 64], key: &[u8; 32], msg: &[u8]) {
    let expected = reference::verify(sig, key, msg);
    assert_eq!(cpu::verify(sig, key, msg, None), expected, "uncached");
    // First sighting, second (builds the table), third (uses it).
    let cache = SignerCache::new(1);
    for round in 0..3 {
        assert_eq!(
            cpu::verify(sig, key, msg, Some(&cache)),
            expected,
            "cached, round {round}"
        );
    }
    // The verifier looks at the key only after S passed its canonical check; then a valid key
    // of large order must have reached the fixed-base path, or this target would not test it.
    let s_canonical = Option::<Scalar>::from(Scalar::from_canonical_bytes(
        sig[32..].try_into().expect("32"),
    ))
    .is_some();
    if s_canonical
        && CompressedEdwardsY(*key)
            .decompress()
            .is_some_and(|a| !a.is_small_order())
    {
        assert!(
            cache.get(key).is_some(),
            "a valid key of large order got a table"
        );
    }
    // Every CPU platform's verifier (the lanes ones among them), in a batch that fills a group
    // with the input beside a valid signature, uncached then through a cache that builds the
    // key's table and uses it.
    let filler_key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let filler = ed25519_dalek::Signer::sign(&filler_key, b"filler").to_bytes();
    let filler_pk = filler_key.verifying_key().to_bytes();
    let lanes = 9;
    let input = |i: usize| i % 3 != 1;
    let sigs: Vec<[u8; 64]> = (0..lanes).map(|i| if input(i) { *sig } else { filler }).collect();
    let keys: Vec<[u8; 32]> = (0..lanes).map(|i| if input(i) { *key } else { filler_pk }).collect();
    let msgs: Vec<&[u8]> = (0..lanes).map(|i| if input(i) { msg } else { b"filler" }).collect();
    let want: Vec<u8> = (0..lanes).map(|i| if input(i) { u8::from(expected) } else { 1 }).collect();
    for platform in Platform::available() {
        let cache = SignerCache::new(2);
        for round in 0..3 {
            let mut results = vec![9u8; lanes];
            verify_many(platform, &sigs, &keys, &msgs, &mut results, (round > 0).then_some(&cache));
            assert_eq!(results, want, "{platform}, round {round}");
        }
    }
}

fn constructed_signature(data: &[u8]) {
    let (a_seed, data) = take::<32>(data);
    let (r_seed, data) = take::<32>(data);
    let ([torsion, flags], msg) = take::<2>(data);
    let (a, r) = (
        Scalar::from_bytes_mod_order(a_seed),
        Scalar::from_bytes_mod_order(r_seed),
    );
    let key = (B * a + EIGHT_TORSION[usize::from(torsion & 7)])
        .compress()
        .to_bytes();
    let r_bytes = (B * r + EIGHT_TORSION[usize::from((torsion >> 3) & 7)])
        .compress()
        .to_bytes();
    let mut h = Sha512::new();
    h.update(r_bytes);
    h.update(key);
    h.update(msg);
    let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r_bytes);
    sig[32..].copy_from_slice((r + k * a).as_bytes());
    if flags & 1 == 1 {
        // S + L: the same residue, not canonical (verify_strict rejects it).
        let l = BigUint::from_bytes_le(&(-Scalar::ONE).to_bytes()) + 1u32;
        let s = BigUint::from_bytes_le(&sig[32..]) + l;
        let bytes = s.to_bytes_le();
        sig[32..32 + bytes.len()].copy_from_slice(&bytes);
    }
    let mut msg = msg.to_vec();
    if flags & 2 == 2 {
        msg.push(flags);
    }
    signature(&sig, &key, &msg);
}

/// `[s]B + [k]P` by double-and-add on curve25519-dalek's points, for scalars below 2^255 not
/// reduced modulo L (so P's torsion part sees the whole k).
fn double_and_add(s: &[u8; 32], p: &EdwardsPoint, k: &[u8; 32]) -> EdwardsPoint {
    let bit = |x: &[u8; 32], i: usize| (x[i / 8] >> (i % 8)) & 1 == 1;
    let mut acc = EdwardsPoint::identity();
    for i in (0..255).rev() {
        acc = acc + acc;
        if bit(s, i) {
            acc += B;
        }
        if bit(k, i) {
            acc += p;
        }
    }
    acc
}

fn fixed_base(data: &[u8]) {
    let (s, data) = take::<32>(data);
    let (p_bytes, data) = take::<32>(data);
    let (k, _) = take::<32>(data);
    let theirs = CompressedEdwardsY(p_bytes).decompress();
    assert_eq!(
        hooks::point_round_trip(&p_bytes),
        theirs.map(|p| p.compress().to_bytes()),
        "decompression"
    );
    let ours = hooks::double_fixed_base(&s, &p_bytes, &k);
    let expected = theirs.map(|p| {
        let (mut s, mut k) = (s, k);
        s[31] &= 0x7f;
        k[31] &= 0x7f;
        double_and_add(&s, &p, &k).compress().to_bytes()
    });
    assert_eq!(ours, expected, "[s]B + [k]P");
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => field(data),
        1 => {
            let (key, data) = take::<32>(data);
            let (sig, msg) = take::<64>(data);
            signature(&sig, &key, msg);
        }
        2 => constructed_signature(data),
        _ => fixed_base(data),
    }
});
