//! The CPU verifier: curve25519-dalek's arithmetic (whose own SIMD backend, AVX2 or AVX-512 IFMA,
//! it picks at run time), the conditions of [`super`], and the signer cache.
//!
//! It never decompresses R. It computes `R' = [s]B − [k]A` and accepts exactly when the canonical
//! encoding of `R'` equals the 32 bytes of R and `R'` is not of small order. That is the same
//! answer as verify_strict's: a canonical encoding of a curve point always decompresses (so when
//! the bytes match, R decompresses, to `R'`, and its order is `R'`'s), and bytes that do not match
//! are rejected by verify_strict too, at its decompression, its small-order check or its final
//! comparison.

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};

use super::cache::{SignerCache, decompress};

/// `k = SHA-512(R ‖ A ‖ M) mod L`, over the bytes as given.
fn challenge(r: &[u8], a: &[u8; 32], message: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(message);
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

/// `R'` is encoded as `r` and is not of small order.
fn finish(r_prime: EdwardsPoint, r: &[u8]) -> bool {
    r_prime.compress().as_bytes() == r && !r_prime.is_small_order()
}

/// Verifies one signature; with a cache, recurring signers use their precomputed tables (and
/// each valid key's sighting is recorded).
pub fn verify(
    signature: &[u8; 64],
    public_key: &[u8; 32],
    message: &[u8],
    cache: Option<&SignerCache>,
) -> bool {
    let (r, s) = signature.split_at(32);
    let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(
        s.try_into().expect("32 bytes"),
    )) else {
        return false;
    };
    if let Some(signer) = cache.and_then(|c| c.get(public_key)) {
        // The key was valid and of large order when its table was built.
        let k = challenge(r, public_key, message);
        return finish(signer.mul(&s, &k), r);
    }
    let Some(a) = decompress(public_key) else {
        return false;
    };
    if a.is_small_order() {
        return false;
    }
    if let Some(cache) = cache {
        cache.observe(public_key, &a);
    }
    let k = challenge(r, public_key, message);
    finish(
        EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-a, &s),
        r,
    )
}
