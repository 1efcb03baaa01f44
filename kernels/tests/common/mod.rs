//! Helpers shared by the kernel tests: deterministic bytes, and test accounts with Agave's own
//! LtHash computation as the oracle.

#![allow(dead_code)] // each test binary uses a different subset

pub mod compute;
pub mod signatures;

use tandem_kernels::AccountInput;

pub use tandem_kernels::testing::bytes;

/// A deterministic random u64.
pub fn rand_u64(seed: u64) -> u64 {
    u64::from_le_bytes(bytes(seed ^ 0xabcdef, 8).try_into().unwrap())
}

/// An account, owned.
pub struct Account {
    pub pubkey: [u8; 32],
    pub owner: [u8; 32],
    pub lamports: u64,
    pub executable: bool,
    pub data: Vec<u8>,
}

impl Account {
    /// A random account with `data_len` bytes of data.
    pub fn random(seed: u64, data_len: usize) -> Account {
        let b = bytes(seed, 64);
        Account {
            pubkey: b[..32].try_into().unwrap(),
            owner: b[32..].try_into().unwrap(),
            lamports: rand_u64(seed) >> (rand_u64(seed + 3) % 64),
            executable: rand_u64(seed + 5) & 1 == 0,
            data: bytes(seed + 11, data_len),
        }
    }

    /// Borrowed, as the kernels take it.
    pub fn input(&self) -> AccountInput<'_> {
        AccountInput {
            pubkey: &self.pubkey,
            owner: &self.owner,
            lamports: self.lamports,
            executable: self.executable,
            data: &self.data,
        }
    }

    /// Agave's own computation (accounts-db's `lt_hash_account`), via solana-lattice-hash.
    pub fn agave_lthash(&self) -> solana_lattice_hash::lt_hash::LtHash {
        if self.lamports == 0 {
            return solana_lattice_hash::lt_hash::LtHash::identity();
        }
        let mut hasher = blake3::Hasher::new();
        hasher.update(&self.lamports.to_le_bytes());
        hasher.update(&self.data);
        hasher.update(&[u8::from(self.executable)]);
        hasher.update(&self.owner);
        hasher.update(&self.pubkey);
        solana_lattice_hash::lt_hash::LtHash::with(&hasher)
    }
}
