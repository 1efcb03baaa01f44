//! The reference: ed25519-dalek 2.x itself, `VerifyingKey::from_bytes` then `verify_strict`, one
//! signature at a time. Its answer is the definition every other backend must reproduce.

use ed25519_dalek::{Signature, VerifyingKey};

/// Whether ed25519-dalek's `verify_strict` accepts `signature` by `public_key` over `message`.
pub fn verify(signature: &[u8; 64], public_key: &[u8; 32], message: &[u8]) -> bool {
    match VerifyingKey::from_bytes(public_key) {
        Ok(key) => key
            .verify_strict(message, &Signature::from_bytes(signature))
            .is_ok(),
        Err(_) => false,
    }
}
