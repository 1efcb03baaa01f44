//! Signatures of every class ed25519-dalek's `verify_strict` distinguishes, for the CPU and the
//! GPU verifiers' tests alike.

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT as B, EIGHT_TORSION};
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha512};

use super::bytes;

/// The group order L, little-endian.
pub const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

pub fn signing_key(seed: u64) -> SigningKey {
    SigningKey::from_bytes(&bytes(seed, 32).try_into().unwrap())
}

pub fn sign(key: &SigningKey, msg: &[u8]) -> [u8; 64] {
    key.sign(msg).to_bytes()
}

/// A signature made by hand with secret scalar `a` for the public key bytes `key_bytes` (which
/// need not be `[a]B`: mixed-order keys are `[a]B + T`), nonce point `R` = `r_point` encoded as
/// `r_bytes`, and `r` its discrete log relative to B's part.
pub fn raw_sign(
    a: &Scalar,
    key_bytes: &[u8; 32],
    r: &Scalar,
    r_bytes: &[u8; 32],
    msg: &[u8],
) -> ([u8; 64], Scalar) {
    let mut h = Sha512::new();
    h.update(r_bytes);
    h.update(key_bytes);
    h.update(msg);
    let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
    let s = r + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(r_bytes);
    sig[32..].copy_from_slice(s.as_bytes());
    (sig, k)
}

/// Encodes `y` (below 2^255) with sign bit `sign`.
pub fn encode_y(y: &[u8; 32], sign: bool) -> [u8; 32] {
    let mut e = *y;
    e[31] = (e[31] & 0x7f) | if sign { 0x80 } else { 0 };
    e
}

/// p = 2^255 - 19 plus a small `v`, little-endian (a non-canonical encoding of v).
pub fn p_plus(v: u8) -> [u8; 32] {
    let mut e = [0xFFu8; 32];
    e[0] = 0xED + v; // 0xED = 256 - 19
    e[31] = 0x7F;
    e
}

/// One input of the property test: a signature of some class, and the bytes it covers.
pub struct Case {
    pub sig: [u8; 64],
    pub key: [u8; 32],
    pub msg: Vec<u8>,
}

/// A random input from every class verify_strict distinguishes: valid, mutated (a bit of the
/// signature, key or message flipped), S ≥ L, non-canonical and off-curve A and R, small-order A
/// and R, mixed-order A (passing the equation about one time in eight) and mixed-order R.
pub fn random_case(seed: u64) -> Case {
    let r = |salt: u64| super::rand_u64(seed.wrapping_mul(31).wrapping_add(salt));
    let key = signing_key(seed % 40); // recurring signers, so the cache gets tables
    let msg = bytes(seed, (r(1) % 300) as usize);
    let pk = *key.verifying_key().as_bytes();
    let valid = sign(&key, &msg);
    let scalar = |salt: u64| Scalar::from_bytes_mod_order(bytes(r(salt), 32).try_into().unwrap());
    let torsion = |salt: u64| EIGHT_TORSION[(r(salt) % 8) as usize];
    let (sig, key) = match r(2) % 10 {
        0..=3 => (valid, pk),
        4 => {
            let (mut sig, mut pk, bit) = (valid, pk, r(3) as usize);
            match bit % 3 {
                0 => sig[bit / 3 % 64] ^= 1 << (bit % 8),
                1 => pk[bit / 3 % 32] ^= 1 << (bit % 8),
                _ => {
                    let mut msg = msg.clone();
                    msg.push(1);
                    return Case { sig, key: pk, msg };
                }
            }
            (sig, pk)
        }
        5 => {
            let mut sig = valid;
            sig[63] |= 0x10 << (r(3) % 4); // S ≥ 2^252 + …: at least L's top bit or above
            (sig, pk)
        }
        6 => {
            let enc = encode_y(&p_plus((r(3) % 19) as u8), r(4) % 2 == 0);
            if r(5) % 2 == 0 {
                (valid, enc)
            } else {
                let mut sig = valid;
                sig[..32].copy_from_slice(&enc);
                (sig, pk)
            }
        }
        7 => {
            let t = torsion(3).compress().to_bytes();
            if r(4) % 2 == 0 {
                (
                    raw_sign(
                        &scalar(5),
                        &t,
                        &scalar(6),
                        &(B * scalar(6)).compress().to_bytes(),
                        &msg,
                    )
                    .0,
                    t,
                )
            } else {
                (
                    raw_sign(&key.to_scalar(), &pk, &Scalar::ZERO, &t, &msg).0,
                    pk,
                )
            }
        }
        8 => {
            let a = scalar(3);
            let mixed = (B * a + torsion(4)).compress().to_bytes();
            let nonce = scalar(5);
            (
                raw_sign(&a, &mixed, &nonce, &(B * nonce).compress().to_bytes(), &msg).0,
                mixed,
            )
        }
        _ => {
            let nonce = scalar(3);
            let r_bytes = (B * nonce + torsion(4)).compress().to_bytes();
            (
                raw_sign(&key.to_scalar(), &pk, &nonce, &r_bytes, &msg).0,
                pk,
            )
        }
    };
    Case { sig, key, msg }
}

/// `sig` (a valid signature) with non-canonical S values, each named: S + L (the equation
/// holds), L, L + 1, S with its top bits set, 2^256 − 1; and S = L − 1, canonical but wrong.
/// Every one is rejected.
pub fn with_bad_s(sig: &[u8; 64]) -> Vec<([u8; 64], &'static str)> {
    let s: [u8; 32] = sig[32..].try_into().unwrap();
    let mut s_plus_l = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = s[i] as u16 + L[i] as u16 + carry;
        s_plus_l[i] = v as u8;
        carry = v >> 8;
    }
    let mut l1 = L;
    l1[0] += 1;
    let mut top = s;
    top[31] |= 0xF0;
    let mut lm1 = L;
    lm1[0] -= 1;
    [
        (s_plus_l, "S + L"),
        (L, "S = L"),
        (l1, "S = L + 1"),
        (top, "S with the top bits set"),
        ([0xFF; 32], "S = 2^256 - 1"),
        (lm1, "S = L - 1 (canonical, wrong)"),
    ]
    .into_iter()
    .map(|(s, what)| {
        let mut x = *sig;
        x[32..].copy_from_slice(&s);
        (x, what)
    })
    .collect()
}

/// Signatures under a mixed-order key `[a]B + T₈` with a mixed-order nonce point `[r]B + T`, for
/// each torsion point T ≠ O and `messages` messages: `verify_strict` accepts exactly those where
/// T = −[k]T₈ (the torsion cancels in the cofactorless equation). Each with whether it does.
pub fn mixed_order_r_and_a(messages: u64) -> Vec<(Case, bool)> {
    let a = Scalar::from_bytes_mod_order(bytes(11, 32).try_into().unwrap());
    let r = Scalar::from_bytes_mod_order(bytes(12, 32).try_into().unwrap());
    let t8 = EIGHT_TORSION[1];
    let key = (B * a + t8).compress().to_bytes();
    let mut cases = Vec::new();
    for i in 0..messages {
        let msg = i.to_le_bytes().to_vec();
        for t in EIGHT_TORSION.iter().skip(1) {
            let r_bytes = (B * r + t).compress().to_bytes();
            let (sig, k) = raw_sign(&a, &key, &r, &r_bytes, &msg);
            let cancels = -(t8 * k) == *t;
            let msg = msg.clone();
            cases.push((Case { sig, key, msg }, cancels));
        }
    }
    cases
}
