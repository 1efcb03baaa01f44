//! The CPU verifier: the conditions of [`super`] on curve25519-dalek's arithmetic (whose own SIMD
//! backend it picks at run time) for new signers, and on the signer cache's fixed-base tables
//! ([`super::fixed_base`]) for recurring ones.
//!
//! It never decompresses R. It computes `R' = [s]B − [k]A` and accepts exactly when the canonical
//! encoding of `R'` equals the 32 bytes of R and `R'` is not of small order. That is the same
//! answer as verify_strict's: a canonical encoding of a curve point always decompresses (so when
//! the bytes match, R decompresses, to `R'`, and its order is `R'`'s), and bytes that do not match
//! are rejected by verify_strict too, at its decompression, its small-order check or its final
//! comparison.
//!
//! [`verify_many`] encodes the cached signers' `R'` of a whole batch with one field inversion.

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};

use super::cache::{Signer, SignerCache, decompress};
use super::fixed_base::{ExtendedPoint, compress_batch, is_small_order_encoding};

/// Cached signers' points encoded together, at most this many at a time (their 160-byte
/// points stay in the L1/L2 cache).
const ENCODE_BATCH: usize = 256;

/// `k = SHA-512(R ‖ A ‖ M) mod L`, over the bytes as given.
pub(crate) fn challenge(r: &[u8], a: &[u8; 32], message: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(message);
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

/// Where one signature's verification stands after its scalar multiplication.
enum Step {
    /// Decided.
    Done(bool),
    /// A cached signer's `R'`, to be encoded and compared with R.
    Encode(ExtendedPoint),
}

/// Everything but the encoding of a cached signer's `R'`; a cached key recorded its sighting.
fn start(
    signature: &[u8; 64],
    public_key: &[u8; 32],
    message: &[u8],
    cache: Option<&SignerCache>,
) -> Step {
    let (r, s) = signature.split_at(32);
    let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(
        s.try_into().expect("32 bytes"),
    )) else {
        return Step::Done(false);
    };
    if let Some(signer) = cache.and_then(|c| c.get(public_key)) {
        // The key was valid and of large order when its table was built.
        let k = challenge(r, public_key, message);
        return Step::Encode(signer.mul(&s, &k));
    }
    let Some(a) = decompress(public_key) else {
        return Step::Done(false);
    };
    if a.is_small_order() {
        return Step::Done(false);
    }
    if let Some(cache) = cache {
        cache.observe(public_key);
    }
    let k = challenge(r, public_key, message);
    let r_prime = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-a, &s);
    Step::Done(r_prime.compress().as_bytes() == r && !r_prime.is_small_order())
}

/// Verifies `signatures[i]` by `public_keys[i]` over `messages[i]` on the calling thread;
/// `results[i]` is 1 when valid, else 0. Recurring signers use `cache`.
///
/// # Panics
/// If the slices differ in length.
pub fn verify_many(
    signatures: &[[u8; 64]],
    public_keys: &[[u8; 32]],
    messages: &[&[u8]],
    results: &mut [u8],
    cache: Option<&SignerCache>,
) {
    let n = super::assert_batch_shape(signatures, public_keys, messages, results);
    // Cached signers' points waiting for their encoding, with their indices.
    let mut waiting: Vec<(usize, ExtendedPoint)> = Vec::with_capacity(ENCODE_BATCH.min(n));
    for i in 0..n {
        match start(&signatures[i], &public_keys[i], messages[i], cache) {
            Step::Done(valid) => results[i] = u8::from(valid),
            Step::Encode(point) => {
                waiting.push((i, point));
                if waiting.len() == ENCODE_BATCH {
                    finish(&mut waiting, signatures, results);
                }
            }
        }
    }
    finish(&mut waiting, signatures, results);
}

/// Encodes the waiting points with one inversion and compares each with its R.
fn finish(waiting: &mut Vec<(usize, ExtendedPoint)>, signatures: &[[u8; 64]], results: &mut [u8]) {
    let points: Vec<ExtendedPoint> = waiting.iter().map(|(_, p)| *p).collect();
    for ((i, _), encoding) in waiting.drain(..).zip(compress_batch(&points)) {
        results[i] = u8::from(accepts(&encoding, &signatures[i][..32]));
    }
}

/// The last step of every CPU verifier: `R' = [S]B − [k]A`, canonically encoded as `encoding`,
/// verifies `r` (the signature's 32 bytes of R) exactly when the two are equal and `R'` is not
/// of small order (the module docs say why this is verify_strict's answer).
pub(crate) fn accepts(encoding: &[u8; 32], r: &[u8]) -> bool {
    encoding == r && !is_small_order_encoding(encoding)
}

/// A recurring signer's signature whose `S` passed its canonical check, with the signer's
/// table already found in the cache and `k` computed: the portable path's answer, without a
/// second lookup.
pub(crate) fn verify_recurring(signer: &Signer, r: &[u8], s: &Scalar, k: &Scalar) -> bool {
    accepts(&compress_batch(&[signer.mul(s, k)])[0], r)
}

/// Verifies one signature; with a cache, recurring signers use their precomputed tables (and
/// each valid key's sighting is recorded).
pub fn verify(
    signature: &[u8; 64],
    public_key: &[u8; 32],
    message: &[u8],
    cache: Option<&SignerCache>,
) -> bool {
    let mut result = [0u8];
    verify_many(
        std::slice::from_ref(signature),
        std::slice::from_ref(public_key),
        &[message],
        &mut result,
        cache,
    );
    result[0] == 1
}
