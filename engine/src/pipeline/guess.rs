//! Ingest's guess of each transaction's domain, which decides what the VED's sigverify stage
//! verifies: the VED's when its fee payer is one of the RW-VED accounts the VED last published.
//! The VED executor decides for itself; a wrong guess only moves a signature check to the other
//! side.
//!
//! The guess runs over every transaction of a block before the votes' signatures can be
//! checked, so it is on the vote's path, and in a loaded block almost every payer is a user's.
//! A bitmap of the VED payers' first two key bytes ([`KeyPrefixFilter`], 8 KiB, in the L1
//! cache) answers most of those without hashing a key; the set answers the rest
//! ([`VedPayers::contains`], the bitmap's reference is the set alone). A leader can choose user
//! keys whose first bytes are a VED payer's, and then pays the set's price per transaction, as
//! before the bitmap.

use std::ops::Range;

use hashbrown::HashSet;

use crate::account::{KeyPrefixFilter, Pubkey};
use crate::ledger::Transactions;
use crate::tx::Transaction;

/// The RW-VED accounts, as the guess looks them up.
#[derive(Clone, Debug, Default)]
pub struct VedPayers {
    set: HashSet<Pubkey>,
    /// The set's keys' first two bytes.
    filter: KeyPrefixFilter,
}

impl VedPayers {
    /// The payers `set` ([`crate::runtime::executor::VedExecutor::ved_payers`]).
    pub fn new(set: HashSet<Pubkey>) -> VedPayers {
        let filter = set.iter().collect();
        VedPayers { set, filter }
    }

    /// Whether `key` is one of them.
    #[inline]
    pub fn contains(&self, key: &Pubkey) -> bool {
        self.filter.may_hold(key) && self.set.contains(key)
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

/// How many transactions ingest guesses before it hands a block to the VED's sigverify stage,
/// and then at a time: that stage verifies the first parts' votes while ingest guesses the
/// rest of a loaded block (20,000 user payers, about 0.4 ms with the block cold in memory). A
/// block of votes alone is one part.
pub const GUESS_PART: usize = 2_048;

/// The guess of each transaction of a block: `true` where its first account key (its fee
/// payer, if it parses) is one of `ved_payers`.
pub fn guess_ved(transactions: &Transactions, ved_payers: &VedPayers) -> Vec<bool> {
    guess_ved_part(transactions, 0..transactions.len(), ved_payers)
}

/// [`guess_ved`] of the transactions `range` of a block.
///
/// # Panics
/// If `range` goes past the block's transactions.
pub fn guess_ved_part(
    transactions: &Transactions,
    range: Range<usize>,
    ved_payers: &VedPayers,
) -> Vec<bool> {
    assert!(range.end <= transactions.len(), "a part of the block");
    guess_ved_wires(range.map(|i| &transactions[i]), ved_payers, |_| {})
}

/// The guess of each transaction `wires` gives (a part of a block, decoded or read where its
/// encoding lies), handing `each` every transaction's first account key as it reads it
/// (`None` where the bytes do not reach it), in order: the fee payers of a block that parses,
/// read once for the guess and kept for the VED executor ([`super::Engine::submit`]).
pub fn guess_ved_wires<'w>(
    wires: impl IntoIterator<Item = &'w [u8]>,
    ved_payers: &VedPayers,
    mut each: impl FnMut(Option<Pubkey>),
) -> Vec<bool> {
    wires
        .into_iter()
        .map(|wire| {
            let payer = Transaction::peek_fee_payer(wire);
            each(payer);
            payer.is_some_and(|p| ved_payers.contains(&p))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parts_of_a_guess_are_the_whole_guess_cut() {
        // Every third transaction paid by a VED payer, one that does not parse among them.
        let payer = |i: u8| {
            let mut k = [0u8; 32];
            k[0] = i;
            k[1] = 0x5a;
            Pubkey(k)
        };
        let payers = VedPayers::new((0..8).map(payer).collect());
        let wire = |i: usize| {
            // One signature of zeros, a header, the keys (the payer first), a blockhash, no
            // instructions.
            let mut w = vec![1];
            w.extend([0; 64]);
            w.extend([1, 0, 0, 2]);
            w.extend(
                payer(if i.is_multiple_of(3) {
                    (i % 8) as u8
                } else {
                    100
                })
                .0,
            );
            w.extend([1; 32]);
            w.extend([0; 33]);
            if i == 7 {
                w.truncate(30);
            }
            w
        };
        let transactions: Transactions = (0..50).map(wire).collect();
        let whole = guess_ved(&transactions, &payers);
        assert_eq!(whole.len(), 50);
        assert_eq!(whole.iter().filter(|v| **v).count(), 17, "{whole:?}");
        for part in [1, 7, 49, 50, 64] {
            let cut: Vec<bool> = (0..50)
                .step_by(part)
                .flat_map(|start| {
                    guess_ved_part(&transactions, start..50.min(start + part), &payers)
                })
                .collect();
            assert_eq!(cut, whole, "parts of {part}");
        }
        // The keys read, in order: each one the payer's, none where the bytes end first.
        let mut keys = Vec::new();
        let kept = guess_ved_wires(&transactions, &payers, |k| keys.push(k));
        assert_eq!(kept, whole);
        for (i, key) in keys.iter().enumerate() {
            let want = (i != 7).then(|| Transaction::peek_fee_payer(&wire(i)).expect("a key"));
            assert_eq!(*key, want, "transaction {i}");
        }
        let past_the_end =
            std::panic::catch_unwind(|| guess_ved_part(&transactions, 40..51, &payers));
        assert!(past_the_end.is_err());
    }

    #[test]
    fn the_filter_answers_as_the_set_for_payers_strangers_and_near_misses() {
        let key = |i: u64| {
            let mut k = [0u8; 32];
            k[..8].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
            k[8..16].copy_from_slice(&i.to_le_bytes());
            Pubkey(k)
        };
        let set: HashSet<Pubkey> = (0..2_000).map(key).collect();
        let payers = VedPayers::new(set.clone());
        assert_eq!(payers.len(), 2_000);
        for i in 0..20_000 {
            let k = key(i);
            assert_eq!(payers.contains(&k), set.contains(&k), "key {i}");
            // A stranger sharing a payer's first two bytes (what a leader can choose) passes
            // the filter and is answered by the set.
            let mut near = k;
            near.0[31] ^= 1;
            assert_eq!(payers.contains(&near), set.contains(&near), "near {i}");
        }
        assert!(!VedPayers::default().contains(&key(1)));
        assert!(VedPayers::default().is_empty());
    }
}
