//! What the cluster-view benches (`cluster`, `agreement_memory`) share: a validator's executed
//! vote as a running cluster makes them.

use tandem_engine::Pubkey;
use tandem_engine::cluster::VoteReport;

/// Validator `voter`'s vote in the block of `slot` (10,000 SOL of stake): it reports the VED hash of the slot
/// before and the UED hash of the one before that.
pub fn vote(voter: usize, slot: u64) -> VoteReport {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&(voter as u64).to_le_bytes());
    VoteReport {
        voter: Pubkey(key),
        stake: 10_000_000_000_000,
        ved: (slot - 1, [slot as u8; 32]),
        ued: Some((slot - 2, [(slot - 2) as u8; 32])),
    }
}
