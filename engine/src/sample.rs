//! Deterministic sample accounts for demonstrations, tests and benchmarks.
//!
//! Everything here is a pure function of a seed ([`SplitMix64`]), so a test can recompute in
//! memory exactly what another process wrote, and a benchmark measures the same accounts on every
//! machine. Nothing here is used to execute real transactions.

use crate::account::{Account, Mapping, Pubkey};
use crate::runtime::builtins::system::SystemInstruction;
use crate::tx::{AccountMeta, MessageBuilder};

/// The SplitMix64 generator: tiny, fast, and the same on every platform and version.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0), by multiply-shift (no modulo bias worth measuring here).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Fills `out` with random bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    /// A random 32-byte key.
    pub fn pubkey(&mut self) -> Pubkey {
        let mut k = [0u8; 32];
        self.fill(&mut k);
        Pubkey(k)
    }
}

/// The program id of the system program, `11111111111111111111111111111111`.
pub const SYSTEM_PROGRAM_ID: Pubkey = Pubkey([0; 32]);

/// The vote program id, `Vote111111111111111111111111111111111111111` (its bytes: the executors
/// compare it with every instruction's program, so it is not decoded from base58 each time; a
/// test checks the bytes against the base58 of SPEC §1).
pub const fn vote_program_id() -> Pubkey {
    Pubkey([
        7, 97, 72, 29, 53, 116, 116, 187, 124, 77, 118, 36, 235, 211, 189, 179, 216, 53, 94, 115,
        209, 16, 67, 252, 13, 163, 83, 128, 0, 0, 0, 0,
    ])
}

/// The native loader id, `NativeLoader1111111111111111111111111111111`, owner of the builtins
/// (its bytes, checked as [`vote_program_id`]'s are).
pub const fn native_loader_id() -> Pubkey {
    Pubkey([
        5, 135, 132, 191, 20, 139, 164, 40, 47, 176, 18, 87, 72, 136, 169, 241, 83, 160, 125, 173,
        247, 101, 192, 69, 92, 154, 151, 3, 128, 0, 0, 0,
    ])
}

/// The unsigned legacy message of a transfer of `lamports` from `from` (its payer and signer) to
/// `to`, naming `recent` as its recent blockhash.
pub fn transfer_message(from: Pubkey, to: Pubkey, lamports: u64, recent: [u8; 32]) -> Vec<u8> {
    MessageBuilder::new(from)
        .instruction(
            SYSTEM_PROGRAM_ID,
            &[AccountMeta::new(from, true), AccountMeta::new(to, false)],
            &SystemInstruction::Transfer { lamports }.encode(),
        )
        .build_legacy(recent)
        .expect("a transfer message is small")
}

/// The two builtin program accounts of SPEC §1: owned by the native loader, executable,
/// 1 lamport, data = the program's name, mapped RX-UED-VED.
pub fn builtin_programs() -> [Account; 2] {
    let builtin = |pubkey, name: &str| Account {
        pubkey,
        lamports: 1,
        owner: native_loader_id(),
        executable: true,
        data: name.as_bytes().to_vec(),
        mapping: Mapping::RxUedVed,
    };
    [
        builtin(SYSTEM_PROGRAM_ID, "system_program"),
        builtin(vote_program_id(), "vote_program"),
    ]
}

/// A random account of `mapping` with `data_len` random bytes: programs are owned by the native
/// loader, data accounts by the system program (RW-UED) or the vote program (RW-VED).
pub fn sample_account(rng: &mut SplitMix64, mapping: Mapping, data_len: usize) -> Account {
    let pubkey = rng.pubkey();
    let mut data = vec![0u8; data_len];
    rng.fill(&mut data);
    let owner = match mapping {
        Mapping::RxUed | Mapping::RxUedVed => native_loader_id(),
        Mapping::RwVed => vote_program_id(),
        Mapping::RwUed => SYSTEM_PROGRAM_ID,
    };
    Account {
        pubkey,
        lamports: 1 + rng.below(1_000_000_000_000),
        owner,
        executable: mapping.is_program_mapping(),
        data,
        mapping,
    }
}

/// A data length drawn from a mix that looks like a chain's accounts: mostly small (0..=300
/// bytes), some vote-account sized (3,762 bytes), a few large (8 KiB .. `max_large`).
pub fn sample_data_len(rng: &mut SplitMix64, max_large: usize) -> usize {
    match rng.below(100) {
        0..=84 => rng.below(301) as usize,
        85..=96 => 3762,
        _ => 8192 + rng.below(max_large.saturating_sub(8192) as u64 + 1) as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_the_reference_sequence() {
        // First outputs of SplitMix64 seeded with 0 (Vigna's reference implementation).
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn builtins_are_as_spec_section_1_says() {
        let [system, vote] = builtin_programs();
        assert_eq!(
            system.pubkey.to_string(),
            "11111111111111111111111111111111"
        );
        assert_eq!(
            vote.pubkey.to_string(),
            "Vote111111111111111111111111111111111111111"
        );
        for (account, name) in [(system, "system_program"), (vote, "vote_program")] {
            assert!(account.executable);
            assert_eq!(account.lamports, 1);
            assert_eq!(account.data, name.as_bytes());
            assert_eq!(account.mapping, Mapping::RxUedVed);
            assert_eq!(
                account.owner.to_string(),
                "NativeLoader1111111111111111111111111111111"
            );
        }
    }
}
