//! The portable reference: the `blake3` crate, one message (one account) at a time. Every
//! accelerated backend is tested against these functions, and they are what
//! [`Platform::Portable`](crate::Platform) runs.

use super::lthash::{AccountInput, LtHash};

/// BLAKE3 of each input with the blake3 crate.
pub fn blake3_many(inputs: &[&[u8]], out: &mut [[u8; 32]]) {
    for (input, hash) in inputs.iter().zip(out.iter_mut()) {
        *hash = *blake3::hash(input).as_bytes();
    }
}

/// The LtHash of one account (SPEC §4): the 2,048-byte XOF of its hash input, or the identity
/// when it holds no lamports.
pub fn lthash_account(account: &AccountInput<'_>) -> LtHash {
    if account.lamports == 0 {
        return LtHash::identity();
    }
    let mut hasher = blake3::Hasher::new();
    hasher.update(&account.lamports.to_le_bytes());
    hasher.update(account.data);
    hasher.update(&[u8::from(account.executable)]);
    hasher.update(account.owner);
    hasher.update(account.pubkey);
    let mut bytes = [0u8; LtHash::BYTES];
    hasher.finalize_xof().fill(&mut bytes);
    LtHash::from_bytes(&bytes)
}
