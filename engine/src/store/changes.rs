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
#[derive(Clone, Debug, Default)]
pub struct SlotChanges {
    pub(crate) ops: Vec<(Pubkey, Change)>,
    at: HashMap<Pubkey, usize>,
}

impl SlotChanges {
    /// No changes.
    pub fn new() -> Self {
        Self::default()
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
        if let Some(&i) = self.at.get(&pubkey)
            && let Change::Put(account) = &mut self.ops[i].1
        {
            account.mapping = target;
            return;
        }
        self.set(pubkey, Change::Remap(target));
    }

    pub(crate) fn set(&mut self, pubkey: Pubkey, change: Change) {
        match self.at.get(&pubkey) {
            Some(&i) => self.ops[i].1 = change,
            None => {
                self.at.insert(pubkey, self.ops.len());
                self.ops.push((pubkey, change));
            }
        }
    }
}
