//! Fixtures shared by the benches and suites: stores filled with deterministic accounts, the
//! messages of transfers and votes.

use std::path::Path;

use tandem_engine::runtime::builtins::system::SystemInstruction;
use tandem_engine::runtime::builtins::vote::VoteInstruction;
use tandem_engine::sample::{SYSTEM_PROGRAM_ID, vote_program_id};
use tandem_engine::sample::{SplitMix64, sample_account};
use tandem_engine::store::{SlotChanges, Store};
use tandem_engine::tx::{AccountMeta, MessageBuilder};
use tandem_engine::{Account, Mapping, Pubkey};

/// The unsigned message of a transfer of `lamports` from `from` to `to`.
pub fn transfer_message(from: Pubkey, to: Pubkey, lamports: u64, recent: [u8; 32]) -> Vec<u8> {
    MessageBuilder::new(from)
        .instruction(
            SYSTEM_PROGRAM_ID,
            &[AccountMeta::new(from, true), AccountMeta::new(to, false)],
            &SystemInstruction::Transfer { lamports }.encode(),
        )
        .build_legacy(recent)
        .expect("a small message")
}

/// The unsigned message of `vote` by the validator `node` (its signer and fee payer) for its
/// vote account `vote_account`.
pub fn vote_message(
    node: Pubkey,
    vote_account: Pubkey,
    vote: &VoteInstruction,
    recent: [u8; 32],
) -> Vec<u8> {
    MessageBuilder::new(node)
        .instruction(
            vote_program_id(),
            &[
                AccountMeta::new(vote_account, false),
                AccountMeta::new_readonly(node, true),
            ],
            &vote.encode(),
        )
        .build_legacy(recent)
        .expect("a small message")
}

/// A new account's key, numbered `n` in the family `tag`.
pub fn numbered_key(n: u64, tag: u8) -> Pubkey {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&n.to_le_bytes());
    key[8] = tag;
    Pubkey(key)
}

/// Creates a store in `dir` holding `n` RW-UED accounts of `data_len` bytes each (committed at
/// slot 0, in slots of at most 100,000 accounts) and returns it with the accounts.
pub fn store_with_accounts(
    dir: &Path,
    n: usize,
    data_len: usize,
    seed: u64,
) -> (Store, Vec<Account>) {
    let mut store = Store::create(dir).expect("create bench store");
    let mut rng = SplitMix64::new(seed);
    let accounts: Vec<Account> = (0..n)
        .map(|_| sample_account(&mut rng, Mapping::RwUed, data_len))
        .collect();
    for (slot, chunk) in accounts.chunks(100_000).enumerate() {
        let mut changes = SlotChanges::new();
        for account in chunk {
            changes.load(account.clone());
        }
        store
            .commit(slot as u64, changes)
            .expect("commit bench accounts");
    }
    (store, accounts)
}

/// `count` indices into `0..n`, drawn at random (with repetition) from `seed`.
pub fn random_indices(n: usize, count: usize, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix64::new(seed);
    (0..count).map(|_| rng.below(n as u64) as usize).collect()
}
