//! [`SlotChanges`]: the changes one slot makes, staged through domain views (or by the loader)
//! and made durable together by [`Store::commit`](super::Store::commit).

use hashbrown::HashMap;

use crate::account::{Account, Mapping, Pubkey};

/// One staged change to one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// Write the whole account (create or replace).
    Put(Account),
    /// Remove the account.
    Delete,
    /// Move the account, bytes unchanged, to another RW mapping (SPEC §5).
    Remap(Mapping),
}

/// The changes of one slot, at most one per account: a later change to the same account replaces
/// an earlier one, except that a remap after a write moves the written account.
///
/// Changes staged in ascending key order — a runtime's commit stages a slot's accounts so,
/// thousands a slot — are only appended: the map from key to change that finds an earlier
/// change of the same account is built the first time a key comes out of that order (or a
/// remap looks one up), and kept from then on.
#[derive(Clone, Debug, Default)]
pub struct SlotChanges {
    pub(crate) ops: Vec<(Pubkey, Change)>,
    /// Where each key's change is in `ops`, once built (`indexed`); empty before.
    at: HashMap<Pubkey, usize>,
    indexed: bool,
}

impl SlotChanges {
    /// No changes.
    pub fn new() -> Self {
        Self::default()
    }

    /// No changes, with room for `accounts` changes before it grows.
    pub fn with_capacity(accounts: usize) -> Self {
        SlotChanges {
            ops: Vec::with_capacity(accounts),
            ..SlotChanges::default()
        }
    }

    /// Number of accounts changed.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Writes an account as the loader does — genesis, program deployment — outside the domain
    /// views: only the account's own invariants (SPEC §1) are checked, at commit. Executors write
    /// through [`DomainView::stage_write`](super::DomainView::stage_write) instead.
    pub fn load(&mut self, account: Account) {
        let key = account.pubkey;
        self.set(key, Change::Put(account));
    }

    /// Removes an account as the loader does (the runtime at an epoch boundary), outside the
    /// domain views. Removing an account that does not exist changes nothing.
    pub fn delete(&mut self, pubkey: Pubkey) {
        self.set(pubkey, Change::Delete);
    }

    /// Moves an account between RW-VED and RW-UED with its bytes unchanged (SPEC §5); the store
    /// checks at commit that both mappings are RW mappings.
    pub fn remap(&mut self, pubkey: Pubkey, target: Mapping) {
        self.index();
        if let Some(&i) = self.at.get(&pubkey)
            && let Change::Put(account) = &mut self.ops[i].1
        {
            account.mapping = target;
            return;
        }
        self.set(pubkey, Change::Remap(target));
    }

    pub(crate) fn set(&mut self, pubkey: Pubkey, change: Change) {
        if !self.indexed && self.ops.last().is_none_or(|(last, _)| *last < pubkey) {
            // After every key staged so far: no earlier change of it.
            self.ops.push((pubkey, change));
            return;
        }
        self.index();
        match self.at.entry(pubkey) {
            hashbrown::hash_map::Entry::Occupied(at) => self.ops[*at.get()].1 = change,
            hashbrown::hash_map::Entry::Vacant(at) => {
                at.insert(self.ops.len());
                self.ops.push((pubkey, change));
            }
        }
    }

    /// Builds the map from key to change, once.
    fn index(&mut self) {
        if self.indexed {
            return;
        }
        self.at.reserve(self.ops.len());
        for (i, (pubkey, _)) in self.ops.iter().enumerate() {
            self.at.insert(*pubkey, i);
        }
        self.indexed = true;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::sample::{SplitMix64, sample_account};

    /// The documented rules, kept by a plain map: the last change of a key stands, and a
    /// remap after a write moves the written account.
    fn model(ops: &[(Pubkey, Change)]) -> BTreeMap<Pubkey, Change> {
        let mut staged = BTreeMap::new();
        for (pubkey, change) in ops {
            match (staged.get_mut(pubkey), change) {
                (Some(Change::Put(account)), Change::Remap(target)) => account.mapping = *target,
                _ => {
                    staged.insert(*pubkey, change.clone());
                }
            }
        }
        staged
    }

    #[test]
    fn changes_staged_in_order_or_not_follow_the_rules_of_one_change_a_key() {
        // Runs of ascending keys (appended without the map) broken by keys out of order,
        // repeats and remaps (which build it): the staged changes are the model's, one per key,
        // in the order each key first came.
        let mut rng = SplitMix64::new(21);
        let accounts: Vec<Account> = (0..40)
            .map(|_| sample_account(&mut rng, Mapping::RwUed, 8))
            .collect();
        let mut sorted = accounts.clone();
        sorted.sort_by_key(|a| a.pubkey);
        for round in 0..200 {
            let mut changes = SlotChanges::new();
            let mut staged = Vec::new();
            let ascending = (rng.next_u64() % 40) as usize;
            for account in &sorted[..ascending] {
                changes.load(account.clone());
                staged.push((account.pubkey, Change::Put(account.clone())));
            }
            for _ in 0..(round % 30) {
                let account = &accounts[(rng.next_u64() % 40) as usize];
                let change = match rng.next_u64() % 3 {
                    0 => {
                        changes.load(account.clone());
                        Change::Put(account.clone())
                    }
                    1 => {
                        changes.delete(account.pubkey);
                        Change::Delete
                    }
                    _ => {
                        changes.remap(account.pubkey, Mapping::RwVed);
                        Change::Remap(Mapping::RwVed)
                    }
                };
                staged.push((account.pubkey, change));
            }
            let mut firsts = Vec::new();
            for (pubkey, _) in &staged {
                if !firsts.contains(pubkey) {
                    firsts.push(*pubkey);
                }
            }
            let model = model(&staged);
            let expected: Vec<(Pubkey, Change)> =
                firsts.iter().map(|k| (*k, model[k].clone())).collect();
            assert_eq!(changes.ops, expected, "round {round}");
            assert_eq!(changes.len(), model.len());
        }
    }
}
