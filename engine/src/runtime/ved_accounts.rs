//! The VED executor's copy of the accounts it reads ([`super::executor`]): every RW-VED account
//! and every program, with a [`KeyPrefixFilter`] of the RW-VED keys.
//!
//! The executor tells its own transactions from the user's by their payer's mapping, over
//! every transaction of a block before it executes the first vote: in a loaded block 20,000
//! user payers, each a miss in the map. The filter answers almost all of those without hashing
//! a key ([`VedAccounts::is_ved`]; its reference is the map alone, and a key the filter lets
//! pass is looked up as before). The copy changes only through [`VedAccounts::insert`] and
//! [`VedAccounts::remove`], so every key held as RW-VED has its bit: a key the filter turns
//! away is held as nothing, or as something other than RW-VED. A stamp tells whether the copy
//! changed since a moment (the executor's reuse of its last slot's LtHash sums), and the VED's
//! stake is kept as they change ([`VedAccounts::ved_stake`]): summed over every account it is
//! read at each vote point, where, with user load, the accounts are out of the caches.

use std::sync::atomic::{AtomicU64, Ordering};

use hashbrown::HashMap;

use super::RuntimeError;
use super::builtins::vote::VoteState;
use super::pass::AccountSource;
use crate::account::{Account, Domain, KeyPrefixFilter, Mapping, Pubkey};

/// The accounts the VED executor reads: every RW-VED account and every program.
pub(super) struct VedAccounts {
    accounts: HashMap<Pubkey, Account>,
    /// Every key held as RW-VED since the copy was made (one that left keeps its bit).
    ved_keys: KeyPrefixFilter,
    /// A stamp no other copy or state of a copy has had ([`VedAccounts::stamp`]).
    stamp: u64,
    /// A stamp of the RW-VED keys held ([`VedAccounts::ved_keys_generation`]).
    ved_keys_generation: u64,
    /// The stake of every RW-VED vote account held ([`VedAccounts::ved_stake`]).
    ved_stake: u64,
}

/// The stake `account` brings to the VED's total ([`VoteState::ved_stake_of`]).
fn stake_in_ved(account: &Account) -> u64 {
    VoteState::ved_stake_of(&account.owner, account.mapping, &account.data).unwrap_or(0)
}

/// The VED's total stake, summed over `accounts`: [`VedAccounts::ved_stake`]'s reference.
fn sum_ved_stake<'a>(accounts: impl Iterator<Item = &'a Account>) -> u64 {
    accounts.map(stake_in_ved).fold(0, u64::wrapping_add)
}

/// The next [`VedAccounts::stamp`]: one count for every copy of the process.
static NEXT_STAMP: AtomicU64 = AtomicU64::new(0);

fn fresh_stamp() -> u64 {
    NEXT_STAMP.fetch_add(1, Ordering::Relaxed)
}

impl VedAccounts {
    /// The copy of `accounts`.
    pub(super) fn new(accounts: HashMap<Pubkey, Account>) -> VedAccounts {
        let ved_keys = accounts
            .values()
            .filter(|a| a.mapping == Mapping::RwVed)
            .map(|a| &a.pubkey)
            .collect();
        let ved_stake = sum_ved_stake(accounts.values());
        VedAccounts {
            accounts,
            ved_keys,
            stamp: fresh_stamp(),
            ved_keys_generation: fresh_stamp(),
            ved_stake,
        }
    }

    /// Holds `account` (in place of the one with its key, which it gives).
    pub(super) fn insert(&mut self, account: Account) -> Option<Account> {
        if account.mapping == Mapping::RwVed {
            self.ved_keys.add(&account.pubkey);
        }
        let brings = stake_in_ved(&account);
        let joins_the_ved = account.mapping == Mapping::RwVed;
        let replaced = self.accounts.insert(account.pubkey, account);
        if joins_the_ved
            && replaced
                .as_ref()
                .is_none_or(|a| a.mapping != Mapping::RwVed)
        {
            self.ved_keys_generation = fresh_stamp();
        }
        let took = replaced.as_ref().map_or(0, stake_in_ved);
        self.ved_stake = self.ved_stake.wrapping_sub(took).wrapping_add(brings);
        self.stamp = fresh_stamp();
        replaced
    }

    /// Lets the account `key` go (and gives it).
    pub(super) fn remove(&mut self, key: &Pubkey) -> Option<Account> {
        let removed = self.accounts.remove(key);
        let took = removed.as_ref().map_or(0, stake_in_ved);
        self.ved_stake = self.ved_stake.wrapping_sub(took);
        self.stamp = fresh_stamp();
        removed
    }

    /// Puts the account `key` back as it was (`None`: not held), as [`VedAccounts::insert`] or
    /// [`VedAccounts::remove`] gave it.
    pub(super) fn restore(&mut self, key: &Pubkey, was: Option<Account>) {
        match was {
            Some(account) => self.insert(account),
            None => self.remove(key),
        };
    }

    /// The VED's total stake: the stake of every RW-VED vote account held, kept as accounts
    /// come and go instead of summed over them all at each vote point (module docs). Debug
    /// builds (the tests) hold it to the sum.
    pub(super) fn ved_stake(&self) -> u64 {
        debug_assert_eq!(
            self.ved_stake,
            sum_ved_stake(self.accounts.values()),
            "the kept VED stake and the sum"
        );
        self.ved_stake
    }

    /// What the copy holds now, as a number: it changes with every [`VedAccounts::insert`] and
    /// [`VedAccounts::remove`], and no other copy has had it. Equal stamps: the same copy,
    /// unchanged between them.
    pub(super) fn stamp(&self) -> u64 {
        self.stamp
    }

    /// The RW-VED keys held now, as a number: it changes whenever a key comes to be held as
    /// RW-VED, and no other copy has had it. While it stays the same, the RW-VED keys held are
    /// among those held when it was read (a key may have left since, none came): a guess made
    /// with those knows every payer in the VED now.
    pub(super) fn ved_keys_generation(&self) -> u64 {
        self.ved_keys_generation
    }

    /// Sets the generation back to `generation`, read when the RW-VED keys held were exactly
    /// the ones held now (an undo's: [`super::executor::VedExecutor::undo_last_block`]).
    pub(super) fn restore_ved_keys_generation(&mut self, generation: u64) {
        self.ved_keys_generation = generation;
    }

    /// The account `key`, if held.
    pub(super) fn get(&self, key: &Pubkey) -> Option<&Account> {
        self.accounts.get(key)
    }

    /// Every account held, in no order.
    pub(super) fn values(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }

    /// Whether `key` is held as an RW-VED account: a payer in the VED.
    #[inline]
    pub(super) fn is_ved(&self, key: &Pubkey) -> bool {
        self.ved_keys.may_hold(key) && self.get(key).is_some_and(|a| a.mapping == Mapping::RwVed)
    }
}

impl AccountSource for VedAccounts {
    fn mapping_of(&self, pubkey: &Pubkey) -> Mapping {
        // Anything not held here is an RW-UED account or none (both RW-UED to check 2 and 6).
        self.accounts
            .get(pubkey)
            .map_or(Mapping::RwUed, |a| a.mapping)
    }

    fn load(&self, domain: Domain, pubkey: &Pubkey) -> Result<Option<Account>, RuntimeError> {
        debug_assert_eq!(domain, Domain::Ved);
        Ok(self.accounts.get(pubkey).cloned())
    }

    fn account(&self, pubkey: &Pubkey) -> Option<Account> {
        self.accounts.get(pubkey).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(key: Pubkey, mapping: Mapping) -> Account {
        Account {
            pubkey: key,
            lamports: 1,
            owner: Pubkey::default(),
            executable: mapping.is_program_mapping(),
            data: Vec::new(),
            mapping,
        }
    }

    /// Keys spread over the filter, and near misses of them: a key whose first two bytes are
    /// another's.
    fn key(i: u32) -> Pubkey {
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(&i.wrapping_mul(0x9E37_79B9).to_le_bytes());
        k[4..8].copy_from_slice(&i.to_le_bytes());
        Pubkey(k)
    }

    fn near(k: Pubkey) -> Pubkey {
        let mut n = k;
        n.0[31] ^= 1;
        n
    }

    /// The reference: the map alone.
    fn answers_as_the_map(accounts: &VedAccounts, keys: impl Iterator<Item = Pubkey>) {
        for k in keys {
            for k in [k, near(k)] {
                let held = accounts
                    .get(&k)
                    .is_some_and(|a| a.mapping == Mapping::RwVed);
                assert_eq!(accounts.is_ved(&k), held, "{k}");
            }
        }
    }

    #[test]
    fn the_ved_payer_test_answers_as_the_map_through_every_change_of_the_copy() {
        let mappings = [
            Mapping::RwVed,
            Mapping::RwUed,
            Mapping::RxUedVed,
            Mapping::RxUed,
        ];
        let start: HashMap<Pubkey, Account> = (0..1_000)
            .map(|i| (key(i), account(key(i), mappings[i as usize % 4])))
            .collect();
        let mut accounts = VedAccounts::new(start);
        answers_as_the_map(&accounts, (0..3_000).map(key));
        // Accounts come in (as the incoming ones at a boundary, RW-UED, then moved), change
        // mapping, and leave.
        for i in 1_000..2_000 {
            accounts.insert(account(key(i), Mapping::RwUed));
        }
        answers_as_the_map(&accounts, (0..3_000).map(key));
        for i in (1_000..2_000).step_by(3) {
            accounts.insert(account(key(i), Mapping::RwVed));
        }
        for i in (0..1_000).step_by(4) {
            accounts.insert(account(key(i), Mapping::RwUed));
        }
        for i in (1..2_000).step_by(5) {
            accounts.remove(&key(i));
        }
        answers_as_the_map(&accounts, (0..3_000).map(key));
        assert!((1_000..2_000).step_by(3).any(|i| accounts.is_ved(&key(i))));
    }

    /// A vote account of `stake` lamports, mapped `mapping`.
    fn vote_account(i: u32, stake: u64, mapping: Mapping) -> Account {
        let state = VoteState {
            stake,
            ..VoteState::new(key(i), key(i + 1), key(i + 2))
        };
        Account {
            owner: crate::sample::vote_program_id(),
            data: state.encode(),
            ..account(key(i), mapping)
        }
    }

    #[test]
    fn the_kept_ved_stake_follows_every_change_of_the_copy() {
        // Votes of 1..=10 lamports × 1,000, every other one RW-VED; payers besides them.
        let start: HashMap<Pubkey, Account> = (0..10)
            .map(|i| {
                let mapping = [Mapping::RwVed, Mapping::RwUed][i as usize % 2];
                vote_account(i * 10, u64::from(i + 1) * 1_000, mapping)
            })
            .chain((100..110).map(|i| account(key(i), Mapping::RwVed)))
            .map(|a| (a.pubkey, a))
            .collect();
        let mut accounts = VedAccounts::new(start);
        assert_eq!(accounts.ved_stake(), (1 + 3 + 5 + 7 + 9) * 1_000);
        // A vote's stake changes (rewards, a slash), one moves out, one moves in, one leaves,
        // one comes.
        accounts.insert(vote_account(0, 1_500, Mapping::RwVed));
        assert_eq!(accounts.ved_stake(), 25_500);
        accounts.insert(vote_account(20, 3_000, Mapping::RwUed));
        assert_eq!(accounts.ved_stake(), 22_500);
        accounts.insert(vote_account(10, 2_000, Mapping::RwVed));
        assert_eq!(accounts.ved_stake(), 24_500);
        accounts.remove(&key(40));
        accounts.remove(&key(100));
        assert_eq!(accounts.ved_stake(), 19_500);
        accounts.insert(vote_account(200, 500, Mapping::RwVed));
        // A vote account's data that does not decode brings nothing.
        let mut broken = vote_account(60, 7_000, Mapping::RwVed);
        broken.data.pop();
        accounts.insert(broken);
        assert_eq!(accounts.ved_stake(), 13_000);
        assert_eq!(accounts.ved_stake(), sum_ved_stake(accounts.values()));
    }

    #[test]
    fn the_keys_generation_changes_when_a_key_comes_to_be_held_as_ved_and_only_then() {
        let start: HashMap<Pubkey, Account> = [
            account(key(1), Mapping::RwVed),
            account(key(2), Mapping::RwUed),
        ]
        .into_iter()
        .map(|a| (a.pubkey, a))
        .collect();
        let mut accounts = VedAccounts::new(start.clone());
        assert_ne!(
            accounts.ved_keys_generation(),
            VedAccounts::new(start).ved_keys_generation(),
            "another copy's"
        );
        let same = |accounts: &mut VedAccounts, change: &dyn Fn(&mut VedAccounts), yes| {
            let before = accounts.ved_keys_generation();
            change(accounts);
            assert_eq!(accounts.ved_keys_generation() == before, yes);
        };
        // A VED key written again, a user account, a key leaving: no key came.
        let mut richer = account(key(1), Mapping::RwVed);
        richer.lamports += 1;
        same(&mut accounts, &|a| drop(a.insert(richer.clone())), true);
        same(
            &mut accounts,
            &|a| drop(a.insert(account(key(3), Mapping::RwUed))),
            true,
        );
        same(&mut accounts, &|a| drop(a.remove(&key(1))), true);
        // A key held as RW-VED that was not: a new one, one held as another mapping, one that
        // left and comes back (an undo).
        same(
            &mut accounts,
            &|a| drop(a.insert(account(key(4), Mapping::RwVed))),
            false,
        );
        same(
            &mut accounts,
            &|a| drop(a.insert(account(key(2), Mapping::RwVed))),
            false,
        );
        same(
            &mut accounts,
            &|a| a.restore(&key(1), Some(richer.clone())),
            false,
        );
    }
}
