//! The access rules of SPEC §1 as the account store enforces them through its domain views, and
//! the store's data round trip: every account written reads back byte-identical after a commit
//! and after a reopen, whatever its size (empty, in a cell, spanning pages, 10 MiB).
//!
//! Each test builds its own store in a temporary directory; nothing is shared between tests.

mod common;

use common::{STORE_FILES, SplitMix, listing};

use std::collections::HashMap;

use tandem_engine::account::MAX_ACCOUNT_DATA_LEN;
use tandem_engine::store::{CreatePhase, SlotChanges, Store, StoreError};
use tandem_engine::{Account, Domain, Mapping, Pubkey};

const NATIVE_LOADER: &str = "NativeLoader1111111111111111111111111111111";
const VOTE_PROGRAM: &str = "Vote111111111111111111111111111111111111111";

/// Largest data that still fits a cell: the largest cell (4,032 bytes) minus the 80-byte record
/// header.
const CELL_MAX_DATA: usize = 4032 - 80;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A fixed, readable address for account number `n` of a fixture.
fn key(n: u64) -> Pubkey {
    let mut k = [0xA5u8; 32];
    k[..8].copy_from_slice(&n.to_le_bytes());
    Pubkey(k)
}

/// `len` deterministic bytes that differ per `seed`.
fn data(seed: u64, len: usize) -> Vec<u8> {
    SplitMix::new(seed.wrapping_mul(0x1000_0000_01B3)).bytes(len)
}

fn native_loader() -> Pubkey {
    Pubkey::from_base58(NATIVE_LOADER).unwrap()
}

fn program(pubkey: Pubkey, mapping: Mapping, data: Vec<u8>) -> Account {
    Account {
        pubkey,
        lamports: 1,
        owner: native_loader(),
        executable: true,
        data,
        mapping,
    }
}

fn plain(pubkey: Pubkey, mapping: Mapping, lamports: u64, data: Vec<u8>) -> Account {
    Account {
        pubkey,
        lamports,
        owner: Pubkey([0; 32]),
        executable: false,
        data,
        mapping,
    }
}

/// Every account of the store, copied out (read regardless of domain).
fn snapshot(store: &Store) -> HashMap<Pubkey, Account> {
    store
        .keys()
        .map(|(k, m)| {
            let account = store.inspect(&k).expect("a listed key exists").to_account();
            assert_eq!(account.mapping, m, "keys() and inspect() disagree on {k}");
            assert_eq!(account.pubkey, k, "record of {k} names another pubkey");
            (k, account)
        })
        .collect()
}

/// Asserts the store holds exactly `model`: same keys, byte-identical accounts, right counts.
fn assert_store_matches(store: &Store, model: &HashMap<Pubkey, Account>, when: &str) {
    assert_eq!(store.len(), model.len(), "{when}: number of accounts");
    assert_eq!(store.is_empty(), model.is_empty(), "{when}: is_empty");
    for (k, m) in store.keys() {
        let expected = model
            .get(&k)
            .unwrap_or_else(|| panic!("{when}: store holds {k}, the model does not"));
        assert_eq!(m, expected.mapping, "{when}: mapping of {k}");
    }
    for (k, expected) in model {
        let got = store
            .inspect(k)
            .unwrap_or_else(|| panic!("{when}: account {k} is missing from the store"));
        // Compare the cheap fields first so a failure message stays short for 10 MiB accounts.
        assert_eq!(
            (
                got.pubkey,
                got.lamports,
                got.owner,
                got.executable,
                got.mapping
            ),
            (
                expected.pubkey,
                expected.lamports,
                expected.owner,
                expected.executable,
                expected.mapping
            ),
            "{when}: fields of {k}"
        );
        assert_eq!(
            got.data.len(),
            expected.data.len(),
            "{when}: data length of {k}"
        );
        assert!(*got.data == *expected.data, "{when}: data of {k} differs");
        assert_eq!(store.mapping_of(k), Some(expected.mapping));
    }
    for mapping in Mapping::ALL {
        let n = model.values().filter(|a| a.mapping == mapping).count() as u64;
        assert_eq!(store.count(mapping), n, "{when}: count({mapping})");
    }
}

/// Commits `accounts` through the loader at `slot`.
fn load_all(store: &mut Store, slot: u64, accounts: &[Account]) {
    let mut changes = SlotChanges::new();
    for a in accounts {
        changes.load(a.clone());
    }
    store.commit(slot, changes).expect("loader commit");
}

// ---------------------------------------------------------------------------------------------
// The genesis fixture
// ---------------------------------------------------------------------------------------------

/// A store with a genesis commit (slot 0) holding accounts of every mapping and of every size
/// class the store distinguishes.
struct Fixture {
    dir: tempfile::TempDir,
    store: Store,
    accounts: Vec<(&'static str, Account)>,
}

impl Fixture {
    fn new() -> Fixture {
        let system = Pubkey([0; 32]);
        assert_eq!(system.to_string(), "11111111111111111111111111111111");
        let vote = Pubkey::from_base58(VOTE_PROGRAM).unwrap();
        let accounts: Vec<(&'static str, Account)> = vec![
            (
                "system",
                program(system, Mapping::RxUedVed, b"system_program".to_vec()),
            ),
            (
                "vote",
                program(vote, Mapping::RxUedVed, b"vote_program".to_vec()),
            ),
            // An RX-UED program big enough to span pages of the read-only region.
            ("program", program(key(10), Mapping::RxUed, data(10, 6_000))),
            (
                "program_small",
                program(key(11), Mapping::RxUed, data(11, 300)),
            ),
            (
                "ved_small",
                plain(key(20), Mapping::RwVed, 1_000_000, data(20, 100)),
            ),
            ("ved_empty", plain(key(21), Mapping::RwVed, 5, Vec::new())),
            (
                "ved_big",
                plain(key(22), Mapping::RwVed, 77, data(22, 100 * 1024)),
            ),
            (
                "ved_second",
                plain(key(23), Mapping::RwVed, 3, data(23, 40)),
            ),
            (
                "ued_small",
                plain(key(30), Mapping::RwUed, 42, data(30, 200)),
            ),
            ("ued_empty", plain(key(31), Mapping::RwUed, 0, Vec::new())),
            (
                "ued_cell_max",
                plain(key(32), Mapping::RwUed, 9, data(32, CELL_MAX_DATA)),
            ),
            (
                "ued_span_min",
                plain(key(33), Mapping::RwUed, 8, data(33, CELL_MAX_DATA + 1)),
            ),
            (
                "ued_max",
                plain(
                    key(34),
                    Mapping::RwUed,
                    u64::MAX,
                    data(34, MAX_ACCOUNT_DATA_LEN),
                ),
            ),
        ];
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(dir.path()).unwrap();
        assert_eq!(store.committed_slot(), None);
        assert!(store.is_empty());
        let list: Vec<Account> = accounts.iter().map(|(_, a)| a.clone()).collect();
        load_all(&mut store, 0, &list);
        assert_eq!(store.committed_slot(), Some(0));
        Fixture {
            dir,
            store,
            accounts,
        }
    }

    fn get(&self, name: &str) -> &Account {
        &self
            .accounts
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no fixture account {name}"))
            .1
    }

    fn of(&self, mapping: Mapping) -> impl Iterator<Item = &Account> {
        self.accounts
            .iter()
            .map(|(_, a)| a)
            .filter(move |a| a.mapping == mapping)
    }

    fn model(&self) -> HashMap<Pubkey, Account> {
        self.accounts
            .iter()
            .map(|(_, a)| (a.pubkey, a.clone()))
            .collect()
    }

    /// Closes the store (releasing its lock) and opens the directory again.
    fn reopen(self) -> Fixture {
        let Fixture {
            dir,
            store,
            accounts,
        } = self;
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        Fixture {
            dir,
            store,
            accounts,
        }
    }
}

fn assert_not_readable(
    err: StoreError,
    domain: Domain,
    account: &Pubkey,
    mapping: Mapping,
    exists: bool,
) {
    let message = err.to_string();
    assert!(
        matches!(
            err,
            StoreError::NotReadable { domain: d, pubkey, mapping: m, exists: e }
                if d == domain && pubkey == *account && m == mapping && e == exists
        ),
        "expected NotReadable{{{domain}, {account}, {mapping}, exists: {exists}}}, got {err:?}"
    );
    assert!(
        message.contains(&format!(
            "{domain} may not read account {account}: it is mapped {mapping}"
        )),
        "{message}"
    );
    assert_eq!(message.contains("does not exist"), !exists, "{message}");
}

fn assert_not_writable(err: StoreError, domain: Domain, account: &Pubkey, mapping: Mapping) {
    let message = err.to_string();
    assert!(
        matches!(
            err,
            StoreError::NotWritable { domain: d, pubkey, mapping: m }
                if d == domain && pubkey == *account && m == mapping
        ),
        "expected NotWritable{{{domain}, {account}, {mapping}}}, got {err:?}"
    );
    assert!(
        message.contains(&format!(
            "{domain} may not write account {account}: it is mapped {mapping}"
        )),
        "{message}"
    );
}

fn assert_invalid_account(err: StoreError, account: &Pubkey, reason: &str) {
    let message = err.to_string();
    assert!(
        matches!(&err, StoreError::InvalidAccount { pubkey, .. } if pubkey == account),
        "expected InvalidAccount for {account}, got {err:?}"
    );
    assert!(
        message.contains(&format!("invalid account {account}")) && message.contains(reason),
        "message should name {account} and say '{reason}': {message}"
    );
}

// ---------------------------------------------------------------------------------------------
// Reads: every cell of the access table
// ---------------------------------------------------------------------------------------------

#[test]
fn ved_view_reads_rx_ued_ved_and_rw_ved_but_not_rx_ued_or_rw_ued() {
    let f = Fixture::new();
    let ved = f.store.view(Domain::Ved);
    assert_eq!(ved.domain(), Domain::Ved);
    let mut readable = 0;
    for a in f.of(Mapping::RxUedVed).chain(f.of(Mapping::RwVed)) {
        let got = ved.get(&a.pubkey).unwrap().expect("the account exists");
        assert!(got.to_account() == *a, "VED read of {} differs", a.pubkey);
        assert_eq!(ved.mapping_of(&a.pubkey), a.mapping);
        readable += 1;
    }
    assert_eq!(readable, 6);
    let mut refused = 0;
    for a in f.of(Mapping::RxUed).chain(f.of(Mapping::RwUed)) {
        let err = ved.get(&a.pubkey).unwrap_err();
        assert_not_readable(err, Domain::Ved, &a.pubkey, a.mapping, true);
        assert_eq!(ved.mapping_of(&a.pubkey), a.mapping);
        refused += 1;
    }
    assert_eq!(refused, 7);
}

#[test]
fn ued_view_reads_rx_ued_rx_ued_ved_and_rw_ued_but_not_rw_ved() {
    let f = Fixture::new();
    let ued = f.store.view(Domain::Ued);
    assert_eq!(ued.domain(), Domain::Ued);
    let mut readable = 0;
    for a in f
        .of(Mapping::RxUed)
        .chain(f.of(Mapping::RxUedVed))
        .chain(f.of(Mapping::RwUed))
    {
        let got = ued.get(&a.pubkey).unwrap().expect("the account exists");
        assert!(got.to_account() == *a, "UED read of {} differs", a.pubkey);
        readable += 1;
    }
    assert_eq!(readable, 9);
    for a in f.of(Mapping::RwVed) {
        let err = ued.get(&a.pubkey).unwrap_err();
        assert_not_readable(err, Domain::Ued, &a.pubkey, Mapping::RwVed, true);
    }
}

#[test]
fn builtin_programs_are_executable_rx_ued_ved_owned_by_the_native_loader_in_both_views() {
    let f = Fixture::new();
    for name in ["system", "vote"] {
        let a = f.get(name);
        for domain in Domain::ALL {
            let got = f.store.view(domain).get(&a.pubkey).unwrap().unwrap();
            assert!(got.executable);
            assert_eq!(got.mapping, Mapping::RxUedVed);
            assert_eq!(got.owner.to_string(), NATIVE_LOADER);
            assert_eq!(got.lamports, 1);
            assert_eq!(&*got.data, format!("{name}_program").as_bytes());
        }
    }
}

#[test]
fn missing_account_is_rw_ued_so_ued_reads_none_and_ved_may_not_read_it() {
    let f = Fixture::new();
    let missing = key(999);
    assert_eq!(f.store.mapping_of(&missing), None);
    assert!(f.store.inspect(&missing).is_none());
    for domain in Domain::ALL {
        assert_eq!(f.store.view(domain).mapping_of(&missing), Mapping::RwUed);
    }
    assert!(f.store.view(Domain::Ued).get(&missing).unwrap().is_none());
    let err = f.store.view(Domain::Ved).get(&missing).unwrap_err();
    assert_not_readable(err, Domain::Ved, &missing, Mapping::RwUed, false);
}

// ---------------------------------------------------------------------------------------------
// Writes and deletes
// ---------------------------------------------------------------------------------------------

#[test]
fn ved_may_write_an_existing_rw_ved_account_and_the_write_commits() {
    let mut f = Fixture::new();
    let mut changes = SlotChanges::new();
    let mut updated = f.get("ved_small").clone();
    updated.lamports -= 5_000;
    updated.data = data(200, 333);
    f.store
        .view(Domain::Ved)
        .stage_write(&mut changes, updated.clone())
        .unwrap();
    assert_eq!(changes.len(), 1);
    let stats = f.store.commit(1, changes).unwrap();
    assert_eq!(stats.slot, 1);
    assert_eq!(stats.accounts_changed, 1);
    assert!(stats.pages_written >= 1 && stats.wal_bytes > 0, "{stats:?}");
    let got = f
        .store
        .view(Domain::Ved)
        .get(&updated.pubkey)
        .unwrap()
        .unwrap();
    assert!(got.to_account() == updated);
    let mut model = f.model();
    model.insert(updated.pubkey, updated);
    assert_store_matches(&f.store, &model, "after the VED write");
}

#[test]
fn ued_may_create_and_write_rw_ued_accounts() {
    let mut f = Fixture::new();
    let mut changes = SlotChanges::new();
    let created = plain(key(500), Mapping::RwUed, 10, data(500, 70));
    let mut updated = f.get("ued_small").clone();
    updated.data.push(1);
    let ued = f.store.view(Domain::Ued);
    ued.stage_write(&mut changes, created.clone()).unwrap();
    ued.stage_write(&mut changes, updated.clone()).unwrap();
    f.store.commit(1, changes).unwrap();
    let mut model = f.model();
    model.insert(created.pubkey, created);
    model.insert(updated.pubkey, updated);
    assert_store_matches(&f.store, &model, "after the UED writes");
}

#[test]
fn ved_may_not_create_an_account_because_a_missing_account_is_rw_ued() {
    let f = Fixture::new();
    let mut changes = SlotChanges::new();
    let new = plain(key(600), Mapping::RwVed, 1, vec![1, 2, 3]);
    let err = f
        .store
        .view(Domain::Ved)
        .stage_write(&mut changes, new.clone())
        .unwrap_err();
    assert_not_writable(err, Domain::Ved, &new.pubkey, Mapping::RwUed);
    assert!(changes.is_empty(), "a refused write must stage nothing");
}

#[test]
fn ved_may_not_write_an_rw_ued_account() {
    let f = Fixture::new();
    let ved = f.store.view(Domain::Ved);
    let mut changes = SlotChanges::new();
    for name in ["ued_small", "ued_empty", "ued_span_min"] {
        // Whether the write keeps the account RW-UED or would move it to RW-VED.
        for target in [Mapping::RwUed, Mapping::RwVed] {
            let mut a = f.get(name).clone();
            a.mapping = target;
            a.lamports += 1;
            let err = ved.stage_write(&mut changes, a).unwrap_err();
            assert_not_writable(err, Domain::Ved, &f.get(name).pubkey, Mapping::RwUed);
        }
    }
    assert!(changes.is_empty());
}

#[test]
fn ued_may_not_write_an_rw_ved_account_or_give_an_account_the_rw_ved_mapping() {
    let f = Fixture::new();
    let ued = f.store.view(Domain::Ued);
    let mut changes = SlotChanges::new();
    // An existing RW-VED account.
    let mut a = f.get("ved_small").clone();
    a.lamports += 1;
    let err = ued.stage_write(&mut changes, a.clone()).unwrap_err();
    assert_not_writable(err, Domain::Ued, &a.pubkey, Mapping::RwVed);
    // A new account, mapped RW-VED.
    let new = plain(key(601), Mapping::RwVed, 1, vec![9; 10]);
    let err = ued.stage_write(&mut changes, new.clone()).unwrap_err();
    assert_not_writable(err, Domain::Ued, &new.pubkey, Mapping::RwVed);
    // An existing RW-UED account that the write would move to RW-VED.
    let mut moved = f.get("ued_small").clone();
    moved.mapping = Mapping::RwVed;
    let err = ued.stage_write(&mut changes, moved.clone()).unwrap_err();
    assert_not_writable(err, Domain::Ued, &moved.pubkey, Mapping::RwVed);
    assert!(changes.is_empty());
}

#[test]
fn no_view_may_write_or_delete_a_program() {
    let f = Fixture::new();
    let mut changes = SlotChanges::new();
    for domain in Domain::ALL {
        let view = f.store.view(domain);
        for name in ["system", "vote", "program", "program_small"] {
            let p = f.get(name);
            let mut changed = p.clone();
            changed.data.push(0);
            let err = view.stage_write(&mut changes, changed).unwrap_err();
            assert_not_writable(err, domain, &p.pubkey, p.mapping);
            let err = view.stage_delete(&mut changes, &p.pubkey).unwrap_err();
            assert_not_writable(err, domain, &p.pubkey, p.mapping);
        }
        // Creating a program through a view is refused for the mapping it would get.
        for mapping in [Mapping::RxUed, Mapping::RxUedVed] {
            let new = program(key(700), mapping, vec![1]);
            let err = view.stage_write(&mut changes, new.clone()).unwrap_err();
            if domain == Domain::Ved {
                // The VED cannot write the (missing, hence RW-UED) account at all.
                assert_not_writable(err, domain, &new.pubkey, Mapping::RwUed);
            } else {
                assert_not_writable(err, domain, &new.pubkey, mapping);
            }
        }
    }
    assert!(changes.is_empty());
}

#[test]
fn an_executable_account_with_an_rw_mapping_is_an_invalid_account() {
    let mut f = Fixture::new();
    let mut changes = SlotChanges::new();
    let mut a = f.get("ved_small").clone();
    a.executable = true;
    let err = f
        .store
        .view(Domain::Ved)
        .stage_write(&mut changes, a.clone())
        .unwrap_err();
    assert_invalid_account(err, &a.pubkey, "a program cannot be mapped rw-ved");
    let mut b = f.get("ued_small").clone();
    b.executable = true;
    let err = f
        .store
        .view(Domain::Ued)
        .stage_write(&mut changes, b.clone())
        .unwrap_err();
    assert_invalid_account(err, &b.pubkey, "a program cannot be mapped rw-ued");
    assert!(changes.is_empty());

    // The loader is checked at commit, and the whole commit fails before anything is written.
    let before = snapshot(&f.store);
    let mut changes = SlotChanges::new();
    changes.load(plain(key(800), Mapping::RwUed, 1, vec![1, 2]));
    changes.load(b.clone());
    let err = f.store.commit(1, changes).unwrap_err();
    assert_invalid_account(err, &b.pubkey, "a program cannot be mapped rw-ued");
    // ... and a non-executable account in an RX mapping likewise.
    let mut changes = SlotChanges::new();
    let mut c = f.get("ued_small").clone();
    c.mapping = Mapping::RxUed;
    changes.load(c.clone());
    let err = f.store.commit(1, changes).unwrap_err();
    assert_invalid_account(
        err,
        &c.pubkey,
        "a non-executable account cannot be mapped rx-ued",
    );
    assert_eq!(f.store.committed_slot(), Some(0));
    assert!(
        snapshot(&f.store) == before,
        "a refused commit changed the store"
    );
    // The store is still usable: slot 1 can be committed.
    let mut changes = SlotChanges::new();
    changes.load(plain(key(800), Mapping::RwUed, 1, vec![1, 2]));
    f.store.commit(1, changes).unwrap();
    assert_eq!(f.store.count(Mapping::RwUed), 6);
}

#[test]
fn data_longer_than_10_mib_is_an_invalid_account() {
    let mut f = Fixture::new();
    let mut changes = SlotChanges::new();
    let mut a = f.get("ued_small").clone();
    a.data = vec![7; MAX_ACCOUNT_DATA_LEN + 1];
    let err = f
        .store
        .view(Domain::Ued)
        .stage_write(&mut changes, a.clone())
        .unwrap_err();
    assert_invalid_account(
        err,
        &a.pubkey,
        &format!("{} bytes of data", MAX_ACCOUNT_DATA_LEN + 1),
    );
    assert!(changes.is_empty());
    let mut b = f.get("ved_small").clone();
    b.data = vec![7; MAX_ACCOUNT_DATA_LEN + 1];
    let err = f
        .store
        .view(Domain::Ved)
        .stage_write(&mut changes, b.clone())
        .unwrap_err();
    assert_invalid_account(err, &b.pubkey, "at most 10485760");
    assert!(changes.is_empty());

    // Exactly the maximum is fine (the fixture holds one); the loader is checked at commit.
    let mut exact = f.get("ued_small").clone();
    exact.data = vec![1; MAX_ACCOUNT_DATA_LEN];
    f.store
        .view(Domain::Ued)
        .stage_write(&mut changes, exact)
        .unwrap();
    let mut changes = SlotChanges::new();
    changes.load(a.clone());
    let err = f.store.commit(1, changes).unwrap_err();
    assert_invalid_account(err, &a.pubkey, "at most 10485760");
    assert_eq!(f.store.committed_slot(), Some(0));
    assert!(f.store.inspect(&a.pubkey).unwrap().to_account() == *f.get("ued_small"));
}

#[test]
fn stage_delete_follows_the_write_rules() {
    let mut f = Fixture::new();
    let ved = f.store.view(Domain::Ved);
    let ued = f.store.view(Domain::Ued);
    let mut changes = SlotChanges::new();
    let missing = key(4242);

    // VED: its own RW-VED accounts only.
    ved.stage_delete(&mut changes, &f.get("ved_second").pubkey)
        .unwrap();
    let err = ved
        .stage_delete(&mut changes, &f.get("ued_small").pubkey)
        .unwrap_err();
    assert_not_writable(err, Domain::Ved, &f.get("ued_small").pubkey, Mapping::RwUed);
    let err = ved.stage_delete(&mut changes, &missing).unwrap_err();
    assert_not_writable(err, Domain::Ved, &missing, Mapping::RwUed);

    // UED: RW-UED accounts, and a missing account (a no-op).
    ued.stage_delete(&mut changes, &f.get("ued_span_min").pubkey)
        .unwrap();
    ued.stage_delete(&mut changes, &missing).unwrap();
    let err = ued
        .stage_delete(&mut changes, &f.get("ved_big").pubkey)
        .unwrap_err();
    assert_not_writable(err, Domain::Ued, &f.get("ved_big").pubkey, Mapping::RwVed);
    assert_eq!(changes.len(), 3);

    f.store.commit(1, changes).unwrap();
    let mut model = f.model();
    model.remove(&f.get("ved_second").pubkey);
    model.remove(&f.get("ued_span_min").pubkey);
    assert_store_matches(&f.store, &model, "after the deletes");
    assert!(f.store.view(Domain::Ued).get(&missing).unwrap().is_none());
    let err = f
        .store
        .view(Domain::Ved)
        .get(&f.get("ved_second").pubkey)
        .unwrap_err();
    assert_not_readable(
        err,
        Domain::Ved,
        &f.get("ved_second").pubkey,
        Mapping::RwUed,
        false,
    );
    f = f.reopen();
    assert_store_matches(&f.store, &model, "after the deletes and a reopen");
}

// ---------------------------------------------------------------------------------------------
// Data round trip
// ---------------------------------------------------------------------------------------------

#[test]
fn every_account_reads_back_byte_identical_after_commit_and_after_reopen() {
    let mut f = Fixture::new();
    let model = f.model();
    assert_store_matches(&f.store, &model, "after genesis");
    assert_eq!(f.store.count(Mapping::RxUed), 2);
    assert_eq!(f.store.count(Mapping::RxUedVed), 2);
    assert_eq!(f.store.count(Mapping::RwVed), 4);
    assert_eq!(f.store.count(Mapping::RwUed), 5);
    // Through the views too, whichever may read each account.
    for (name, a) in &f.accounts {
        for domain in Domain::ALL {
            if a.mapping.readable_by(domain) {
                let got = f.store.view(domain).get(&a.pubkey).unwrap().unwrap();
                assert!(got.to_account() == *a, "{name} read by {domain}");
            }
        }
    }
    f = f.reopen();
    assert_eq!(f.store.committed_slot(), Some(0));
    assert_eq!(f.store.recovered_slot(), None);
    assert_store_matches(&f.store, &model, "after reopen");
    drop(f.store);
    let report = Store::check(f.dir.path()).unwrap();
    assert_eq!(report.committed_slot, Some(0));
    let accounts: Vec<(Mapping, u64)> = report
        .regions
        .iter()
        .map(|r| (r.mapping, r.accounts))
        .collect();
    assert_eq!(
        accounts,
        vec![
            (Mapping::RxUed, 2),
            (Mapping::RxUedVed, 2),
            (Mapping::RwVed, 4),
            (Mapping::RwUed, 5)
        ]
    );
    // RW-UED: the 10 MiB account spans ceil((10 MiB + 80) / 4032) = 2601 pages, the smallest
    // span 2, and three cell pages (classes 96, 288 and 4032) hold the other three accounts.
    let rw_ued = &report.regions[3];
    assert_eq!(rw_ued.file, "rw-ued.pages");
    assert_eq!(rw_ued.pages_used, 2601 + 2 + 3, "{rw_ued:?}");
    assert!(rw_ued.pages_total > rw_ued.pages_used, "{rw_ued:?}");
}

#[test]
fn an_account_grows_from_a_cell_into_a_span_and_shrinks_back() {
    let mut f = Fixture::new();
    let mut model = f.model();
    let neighbour = f.get("ued_empty").pubkey;
    let mut a = f.get("ued_small").clone();
    let pages_used = |store: &Store| store.report().regions[3].pages_used;
    let base_pages = pages_used(&f.store);
    let sizes = [
        CELL_MAX_DATA,     // the largest cell
        CELL_MAX_DATA + 1, // the smallest span (2 pages)
        100 * 1024,        // 26 pages
        100 * 1024 + 7,    // same span length, rewritten in place
        4032 * 3 - 80,     // exactly 3 full bodies
        4032 * 3 - 79,     // one byte into a 4th page
        500,               // back into a cell
        0,
        1,
        200,
    ];
    for (i, &len) in sizes.iter().enumerate() {
        let slot = i as u64 + 1;
        a.data = data(1000 + slot, len);
        a.lamports = slot;
        let mut changes = SlotChanges::new();
        f.store
            .view(Domain::Ued)
            .stage_write(&mut changes, a.clone())
            .unwrap();
        f.store.commit(slot, changes).unwrap();
        model.insert(a.pubkey, a.clone());
        assert_store_matches(&f.store, &model, &format!("slot {slot}: {len} bytes"));
        assert!(f.store.inspect(&neighbour).unwrap().to_account() == model[&neighbour]);
        if len == 100 * 1024 {
            // 26 span pages, and the account's old cell page (it was alone in it) is free.
            assert_eq!(pages_used(&f.store), base_pages - 1 + 26);
        }
    }
    // The span pages were given back once the account shrank into a cell again.
    assert_eq!(pages_used(&f.store), base_pages);
    f = f.reopen();
    assert_eq!(f.store.committed_slot(), Some(sizes.len() as u64));
    assert_store_matches(&f.store, &model, "after reopen");
}

#[test]
fn deletes_and_recreations_update_len_and_counts_and_survive_reopen() {
    let mut f = Fixture::new();
    let mut model = f.model();
    let mut changes = SlotChanges::new();
    for name in ["ved_small", "ved_big", "ved_empty"] {
        let k = f.get(name).pubkey;
        f.store
            .view(Domain::Ved)
            .stage_delete(&mut changes, &k)
            .unwrap();
        model.remove(&k);
    }
    for name in ["ued_max", "ued_cell_max"] {
        let k = f.get(name).pubkey;
        f.store
            .view(Domain::Ued)
            .stage_delete(&mut changes, &k)
            .unwrap();
        model.remove(&k);
    }
    f.store.commit(3, changes).unwrap();
    assert_eq!(f.store.len(), 8);
    assert_eq!(f.store.count(Mapping::RwVed), 1);
    assert_eq!(f.store.count(Mapping::RwUed), 3);
    assert_store_matches(&f.store, &model, "after deletes");
    f = f.reopen();
    assert_store_matches(&f.store, &model, "after deletes and reopen");

    // A deleted address can be created again, in the UED (where new accounts come into being).
    let again = plain(f.get("ved_big").pubkey, Mapping::RwUed, 1, data(77, 9000));
    let mut changes = SlotChanges::new();
    f.store
        .view(Domain::Ued)
        .stage_write(&mut changes, again.clone())
        .unwrap();
    f.store.commit(4, changes).unwrap();
    model.insert(again.pubkey, again);
    assert_store_matches(&f.store, &model, "after recreation");
    f = f.reopen();
    assert_store_matches(&f.store, &model, "after recreation and reopen");
}

// ---------------------------------------------------------------------------------------------
// Remap
// ---------------------------------------------------------------------------------------------

#[test]
fn remap_to_rw_ued_keeps_the_bytes_and_moves_the_account_out_of_the_ved() {
    let mut f = Fixture::new();
    let mut model = f.model();
    let small = f.get("ved_small").clone();
    let big = f.get("ved_big").clone();
    let mut changes = SlotChanges::new();
    changes.remap(small.pubkey, Mapping::RwUed);
    changes.remap(big.pubkey, Mapping::RwUed);
    f.store.commit(1, changes).unwrap();
    for a in [&small, &big] {
        let mut moved = a.clone();
        moved.mapping = Mapping::RwUed;
        model.insert(a.pubkey, moved);
    }
    let check = |store: &Store, model: &HashMap<Pubkey, Account>, when: &str| {
        assert_store_matches(store, model, when);
        for a in [&small, &big] {
            assert_eq!(store.mapping_of(&a.pubkey), Some(Mapping::RwUed));
            let err = store.view(Domain::Ved).get(&a.pubkey).unwrap_err();
            assert_not_readable(err, Domain::Ved, &a.pubkey, Mapping::RwUed, true);
            let got = store.view(Domain::Ued).get(&a.pubkey).unwrap().unwrap();
            assert_eq!(got.lamports, a.lamports);
            assert_eq!(got.owner, a.owner);
            assert!(*got.data == *a.data, "{when}: data changed by the remap");
            // The VED may no longer write it; the UED may.
            let mut changes = SlotChanges::new();
            let err = store
                .view(Domain::Ved)
                .stage_write(&mut changes, a.clone())
                .unwrap_err();
            assert_not_writable(err, Domain::Ved, &a.pubkey, Mapping::RwUed);
            let mut as_ued = a.clone();
            as_ued.mapping = Mapping::RwUed;
            store
                .view(Domain::Ued)
                .stage_write(&mut changes, as_ued)
                .unwrap();
        }
        assert_eq!(store.count(Mapping::RwVed), 2);
        assert_eq!(store.count(Mapping::RwUed), 7);
    };
    check(&f.store, &model, "after the remap");
    f = f.reopen();
    check(&f.store, &model, "after the remap and a reopen");

    // And back: the bytes still have not changed.
    let mut changes = SlotChanges::new();
    changes.remap(big.pubkey, Mapping::RwVed);
    f.store.commit(2, changes).unwrap();
    model.insert(big.pubkey, big.clone());
    assert_store_matches(&f.store, &model, "after remapping back");
    let got = f.store.view(Domain::Ved).get(&big.pubkey).unwrap().unwrap();
    assert!(got.to_account() == big);
}

#[test]
fn invalid_remaps_are_rejected_and_the_failed_commit_changes_nothing() {
    let mut f = Fixture::new();
    let before = snapshot(&f.store);
    let missing = key(31337);
    let ved_small = f.get("ved_small").pubkey;
    let ued_small = f.get("ued_small").pubkey;
    let cases: Vec<(Pubkey, Mapping, &str)> = vec![
        (missing, Mapping::RwUed, "does not exist"),
        (Pubkey([0; 32]), Mapping::RwUed, "not rx-ued-ved to rw-ued"),
        (
            f.get("program").pubkey,
            Mapping::RwVed,
            "not rx-ued to rw-ved",
        ),
        (
            f.get("vote").pubkey,
            Mapping::RxUed,
            "not rx-ued-ved to rx-ued",
        ),
        (ved_small, Mapping::RxUed, "not rw-ved to rx-ued"),
        (ued_small, Mapping::RxUedVed, "not rw-ued to rx-ued-ved"),
        (ued_small, Mapping::RwUed, "already mapped rw-ued"),
    ];
    for (pubkey, target, reason) in cases {
        let mut changes = SlotChanges::new();
        // A valid change in the same slot must not be applied either.
        let mut other = f.get("ued_empty").clone();
        other.lamports = 123_456;
        changes.load(other);
        changes.remap(pubkey, target);
        let err = f.store.commit(1, changes).unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(&err, StoreError::InvalidRemap { pubkey: p, .. } if *p == pubkey),
            "remap of {pubkey} to {target}: {err:?}"
        );
        assert!(
            message.contains(&format!("cannot remap account {pubkey}")) && message.contains(reason),
            "message should say '{reason}': {message}"
        );
        assert_eq!(f.store.committed_slot(), Some(0));
        assert!(
            snapshot(&f.store) == before,
            "a failed remap commit changed the store"
        );
    }
    f = f.reopen();
    assert_eq!(f.store.committed_slot(), Some(0));
    assert!(
        snapshot(&f.store) == before,
        "a failed remap commit changed the files"
    );
    // The store is not poisoned: slot 1 is still free to commit.
    let mut changes = SlotChanges::new();
    changes.remap(ved_small, Mapping::RwUed);
    f.store.commit(1, changes).unwrap();
    assert_eq!(f.store.mapping_of(&ved_small), Some(Mapping::RwUed));
}

#[test]
fn a_remap_after_a_write_in_the_same_slot_moves_the_written_account() {
    let mut f = Fixture::new();
    let mut model = f.model();
    let mut changes = SlotChanges::new();
    let mut written = f.get("ued_small").clone();
    written.lamports = 999;
    written.data = data(4000, 5000);
    f.store
        .view(Domain::Ued)
        .stage_write(&mut changes, written.clone())
        .unwrap();
    changes.remap(written.pubkey, Mapping::RwVed);
    assert_eq!(changes.len(), 1);
    f.store.commit(1, changes).unwrap();
    written.mapping = Mapping::RwVed;
    model.insert(written.pubkey, written.clone());
    assert_store_matches(&f.store, &model, "after write + remap");
    let got = f
        .store
        .view(Domain::Ved)
        .get(&written.pubkey)
        .unwrap()
        .unwrap();
    assert!(got.to_account() == written);
    let err = f.store.view(Domain::Ued).get(&written.pubkey).unwrap_err();
    assert_not_readable(err, Domain::Ued, &written.pubkey, Mapping::RwVed, true);
    f = f.reopen();
    assert_store_matches(&f.store, &model, "after write + remap and a reopen");
}

#[test]
fn the_loader_may_redeploy_a_program_and_both_views_see_the_new_bytes() {
    let mut f = Fixture::new();
    let mut model = f.model();
    // In place (same cell), grown from a cell into a span, and a span rewritten shorter.
    let mut system = f.get("system").clone();
    system.data = b"system_program!".to_vec();
    let mut small = f.get("program_small").clone();
    small.data = data(5000, 20_000);
    let mut big = f.get("program").clone();
    big.data = data(5001, 4_100);
    let vote_like = program(key(12), Mapping::RxUedVed, data(12, 9_000));
    load_all(
        &mut f.store,
        1,
        &[
            system.clone(),
            small.clone(),
            big.clone(),
            vote_like.clone(),
        ],
    );
    for a in [&system, &small, &big, &vote_like] {
        model.insert(a.pubkey, a.clone());
    }
    assert_store_matches(&f.store, &model, "after redeploying");
    for domain in Domain::ALL {
        let view = f.store.view(domain);
        for a in [&system, &vote_like] {
            assert!(view.get(&a.pubkey).unwrap().unwrap().to_account() == *a);
        }
        for a in [&small, &big] {
            match view.get(&a.pubkey) {
                Ok(got) => {
                    assert_eq!(domain, Domain::Ued);
                    assert!(got.unwrap().to_account() == *a);
                }
                Err(err) => assert_not_readable(err, domain, &a.pubkey, Mapping::RxUed, true),
            }
        }
    }
    f = f.reopen();
    assert_store_matches(&f.store, &model, "after redeploying and a reopen");
}

#[test]
fn the_loader_may_move_an_account_between_mappings_by_rewriting_it() {
    let mut f = Fixture::new();
    let mut model = f.model();
    // RW-VED to RW-UED, RW-UED to RW-VED (a span), and an RW-UED account replaced by a program.
    let mut a = f.get("ved_small").clone();
    a.mapping = Mapping::RwUed;
    let mut b = f.get("ued_span_min").clone();
    b.mapping = Mapping::RwVed;
    let mut c = f.get("ued_empty").clone();
    c.mapping = Mapping::RxUed;
    c.executable = true;
    c.data = b"deployed".to_vec();
    load_all(&mut f.store, 1, &[a.clone(), b.clone(), c.clone()]);
    for x in [&a, &b, &c] {
        model.insert(x.pubkey, x.clone());
    }
    assert_store_matches(&f.store, &model, "after moving");
    assert_eq!(f.store.count(Mapping::RxUed), 3);
    assert_eq!(f.store.count(Mapping::RwVed), 4);
    assert_eq!(f.store.count(Mapping::RwUed), 4);
    f = f.reopen();
    assert_store_matches(&f.store, &model, "after moving and a reopen");
}

// ---------------------------------------------------------------------------------------------
// Commit and open rules
// ---------------------------------------------------------------------------------------------

#[test]
fn a_commit_slot_must_be_greater_than_the_last_committed_slot() {
    let mut f = Fixture::new();
    let before = snapshot(&f.store);
    let staged = || {
        let mut changes = SlotChanges::new();
        changes.load(plain(key(900), Mapping::RwUed, 1, vec![1]));
        changes
    };
    let err = f.store.commit(0, staged()).unwrap_err();
    assert!(
        matches!(err, StoreError::SlotNotIncreasing { last: 0, slot: 0 }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("slot 0 cannot be committed after slot 0"),
        "{err}"
    );
    f.store.commit(5, SlotChanges::new()).unwrap();
    assert_eq!(f.store.committed_slot(), Some(5));
    for slot in [3, 5] {
        let err = f.store.commit(slot, staged()).unwrap_err();
        assert!(
            matches!(err, StoreError::SlotNotIncreasing { last: 5, slot: s } if s == slot),
            "{err:?}"
        );
    }
    assert!(snapshot(&f.store) == before);
    f.store.commit(6, staged()).unwrap();
    assert_eq!(f.store.committed_slot(), Some(6));
    f = f.reopen();
    assert_eq!(f.store.committed_slot(), Some(6));
    let err = f.store.commit(6, staged()).unwrap_err();
    assert!(
        matches!(err, StoreError::SlotNotIncreasing { last: 6, slot: 6 }),
        "{err:?}"
    );
}

/// Whether Linux's `/proc/locks` lists a lock on `file` by its device and inode as `stat` gives
/// them (on btrfs they differ, and the holder cannot be told).
fn listed_in_proc_locks(file: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(file).unwrap();
    let id = format!(
        "{:02x}:{:02x}:{}",
        libc::major(meta.dev()),
        libc::minor(meta.dev()),
        meta.ino()
    );
    std::fs::read_to_string("/proc/locks").is_ok_and(|locks| {
        locks
            .lines()
            .any(|line| line.split_whitespace().nth(5) == Some(id.as_str()))
    })
}

#[test]
fn a_store_open_twice_at_once_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path()).unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(
        matches!(&err, StoreError::Locked { dir: p, .. } if p == dir.path()),
        "{err:?}"
    );
    assert!(err.to_string().contains(&dir.path().display().to_string()));
    // Linux's /proc/locks names the holder: here, this process's other open (where the file
    // system's device numbers let the lock be found there: ext4, tmpfs, not btrfs).
    assert!(
        !listed_in_proc_locks(&dir.path().join("superblock"))
            || err
                .to_string()
                .contains("locked by another open store, held by this process"),
        "{err}"
    );
    let err = Store::check(dir.path()).unwrap_err();
    assert!(
        matches!(&err, StoreError::Locked { dir: p, .. } if p == dir.path()),
        "{err:?}"
    );
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert!(matches!(
        Store::open(dir.path()),
        Err(StoreError::Locked { .. })
    ));
    drop(store);
    Store::open(dir.path()).unwrap();
}

#[test]
fn create_on_an_existing_store_fails_with_already_exists() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    load_all(&mut store, 0, &[plain(key(1), Mapping::RwUed, 1, vec![1])]);
    // While it is open, and after it is closed.
    let err = Store::create(dir.path()).unwrap_err();
    assert!(
        matches!(&err, StoreError::AlreadyExists(p) if p == dir.path()),
        "{err:?}"
    );
    drop(store);
    let err = Store::create(dir.path()).unwrap_err();
    assert!(
        matches!(&err, StoreError::AlreadyExists(p) if p == dir.path()),
        "{err:?}"
    );
    assert!(err.to_string().contains("already holds a tandem store"));
    // The existing store was not touched.
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.committed_slot(), Some(0));
    assert_eq!(store.len(), 1);
}

#[test]
fn open_of_an_empty_or_missing_directory_is_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    for path in [dir.path().to_owned(), dir.path().join("nowhere")] {
        let err = Store::open(&path).unwrap_err();
        assert!(
            matches!(&err, StoreError::NotAStore { path: p, .. } if *p == path),
            "{err:?}"
        );
        let message = err.to_string();
        // The missing one as such (it read "no superblock file" before stop 74).
        let why = if path.exists() {
            "superblock"
        } else {
            "no such directory"
        };
        assert!(
            message.contains(&path.display().to_string()) && message.contains(why),
            "{message}"
        );
        assert!(matches!(
            Store::check(&path),
            Err(StoreError::NotAStore { .. })
        ));
    }
    // Nothing was created by the failed opens.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// The names and contents of the files in `dir`.
fn dir_contents(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    listing(dir)
        .into_iter()
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).unwrap();
            (n, bytes)
        })
        .collect()
}

#[test]
fn create_refuses_foreign_files_and_store_files_without_a_marker_and_touches_nothing() {
    // Store files without a superblock and without the creation marker are what a damaged store
    // looks like: they may be someone's accounts, so they are refused like any foreign file.
    // (files, the ones create may name as foreign)
    type Case = (
        &'static [(&'static str, &'static [u8])],
        &'static [&'static str],
    );
    let cases: [Case; 3] = [
        (&[("notes.txt", b"mine")], &["notes.txt"]),
        (
            &[("wal", b"log"), ("rw-ued.pages", b"accounts")],
            &["wal", "rw-ued.pages"],
        ),
        // With the marker, the store files are leftovers; the runtime's file is not.
        (
            &[
                ("creating", b""),
                ("wal", b""),
                ("runtime-3.state", b"state"),
            ],
            &["runtime-3.state"],
        ),
    ];
    for (files, foreign) in cases {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in files {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let before = dir_contents(dir.path());
        let err = Store::create(dir.path()).unwrap_err();
        assert!(
            matches!(&err, StoreError::NotEmpty { path, entry }
                if path == dir.path() && foreign.contains(&entry.as_str())),
            "{files:?}: {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&dir.path().display().to_string()) && message.contains("not empty"),
            "{message}"
        );
        assert_eq!(
            dir_contents(dir.path()),
            before,
            "{files:?}: the directory was touched"
        );
    }
}

#[test]
fn create_in_an_existing_empty_directory_and_a_missing_one() {
    let parent = tempfile::tempdir().unwrap();
    let nested = parent.path().join("a").join("store");
    for dir in [parent.path(), nested.as_path()] {
        let store = Store::create(dir).unwrap();
        assert_eq!(store.committed_slot(), None);
        drop(store);
        assert!(
            !dir.join("creating").exists(),
            "the creation marker must be gone"
        );
        Store::open(dir).unwrap();
    }
}

/// An interrupted create, at every phase: `open` either finds no store, says why, and changes
/// nothing, or (once the superblock is in place) opens the complete store and removes the
/// leftover marker; a later create completes what the interrupted one began. The interruption is
/// a panic out of the progress callback, which leaves the files exactly as a kill at that phase
/// does (creation has no clean-up on unwind); `store_crash.rs` does the same with real kills.
#[test]
fn open_and_create_after_an_interrupted_create_at_every_phase() {
    for phase in CreatePhase::ALL {
        let dir = tempfile::tempdir().unwrap();
        let interrupted = std::panic::catch_unwind(|| {
            Store::create_with_progress(dir.path(), |p| {
                if p == phase {
                    panic!("interrupted at {p}");
                }
            })
            .map(drop)
        });
        assert!(
            interrupted.is_err(),
            "{phase}: the create was not interrupted"
        );
        assert!(dir.path().join("creating").exists(), "{phase}");

        if phase == CreatePhase::InPlace {
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(store.committed_slot(), None);
            assert!(store.is_empty());
            drop(store);
            assert!(
                !dir.path().join("creating").exists(),
                "open must remove the marker beside a complete store"
            );
            assert!(matches!(
                Store::create(dir.path()),
                Err(StoreError::AlreadyExists(_))
            ));
            continue;
        }

        let before = dir_contents(dir.path());
        let err = Store::open(dir.path()).unwrap_err();
        assert!(
            matches!(&err, StoreError::NotAStore { path, .. } if path == dir.path()),
            "{phase}: {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("no superblock file")
                && message.contains("interrupted")
                // A reader beside a process still creating the store (`tandem status`) is not
                // told the creation was interrupted.
                && message.contains("a store is being created here, or its creation was")
                && message.contains("creating the store again completes it"),
            "{phase}: {message}"
        );
        assert_eq!(
            dir_contents(dir.path()),
            before,
            "{phase}: a failed open changed the directory"
        );

        let mut store = Store::create(dir.path())
            .unwrap_or_else(|e| panic!("{phase}: create over the leftovers: {e}"));
        assert_eq!(store.committed_slot(), None);
        load_all(&mut store, 0, &[plain(key(1), Mapping::RwUed, 1, vec![1])]);
        drop(store);
        assert_eq!(listing(dir.path()), STORE_FILES, "{phase}");
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.committed_slot(), Some(0), "{phase}");
        assert_eq!(store.len(), 1, "{phase}");
    }
}

/// Two creates racing in one new directory: one makes the store, the other is refused as a
/// create under way or a store already there — never as a directory holding a foreign file
/// (the marker was looked for before the listing, and one made between was "not empty (it
/// holds creating)": 11 races in 20 between two `replay --store` processes).
#[test]
fn two_creates_racing_refuse_the_loser_for_the_right_reason() {
    let parent = tempfile::tempdir().unwrap();
    for round in 0..100 {
        let dir = parent.path().join(format!("s{round}"));
        let start = std::sync::Barrier::new(2);
        let results: Vec<Result<Store, StoreError>> = std::thread::scope(|s| {
            let racers: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        Store::create(&dir)
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let made = results.iter().filter(|r| r.is_ok()).count();
        assert!(made >= 1, "round {round}: {results:?}");
        for result in &results {
            if let Err(err) = result {
                assert!(
                    matches!(
                        err,
                        StoreError::CreateInProgress(_) | StoreError::AlreadyExists(_)
                    ),
                    "round {round}: {err}"
                );
            }
        }
    }
}

/// Two creates in one directory at once: the second is refused while the first holds the
/// marker, and an open while the first finishes leaves the marker to it.
#[test]
fn a_create_under_way_refuses_a_second_create_and_keeps_its_marker_from_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = Vec::new();
    let store = Store::create_with_progress(dir.path(), |phase| match phase {
        CreatePhase::Claimed => {
            let err = Store::create(dir.path()).unwrap_err();
            assert!(
                matches!(&err, StoreError::CreateInProgress(p) if p == dir.path()),
                "{err:?}"
            );
            assert!(err.to_string().contains("another process is creating"));
            checked.push(phase);
        }
        CreatePhase::InPlace => {
            let store = Store::open(dir.path()).expect("the store is in place");
            assert_eq!(store.committed_slot(), None);
            drop(store);
            assert!(
                dir.path().join("creating").exists(),
                "open removed the marker of a create still under way"
            );
            checked.push(phase);
        }
        _ => {}
    })
    .unwrap();
    assert_eq!(checked, [CreatePhase::Claimed, CreatePhase::InPlace]);
    assert_eq!(store.committed_slot(), None);
    assert!(!dir.path().join("creating").exists());
}

// ---------------------------------------------------------------------------------------------
// Many accounts against a model
// ---------------------------------------------------------------------------------------------

#[test]
fn thousands_of_random_accounts_match_a_model_across_commits_and_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let mut rng = SplitMix::new(0x5EED_0F7A_4DE1);
    let mut model: HashMap<Pubkey, Account> = HashMap::new();
    let mut keys: Vec<Pubkey> = Vec::new();
    let random_len = |rng: &mut SplitMix| {
        if rng.chance(1) {
            5 * 1024 + rng.below(55 * 1024) as usize
        } else {
            rng.below(601) as usize
        }
    };
    let random_account = |rng: &mut SplitMix| {
        let pubkey = rng.pubkey();
        let mapping = if rng.chance(30) {
            Mapping::RwVed
        } else {
            Mapping::RwUed
        };
        let len = random_len(rng);
        plain(pubkey, mapping, rng.next(), rng.bytes(len))
    };

    // Genesis: programs and the first 3,000 accounts, through the loader.
    let mut changes = SlotChanges::new();
    for (i, mapping) in [
        (0u64, Mapping::RxUedVed),
        (1, Mapping::RxUed),
        (2, Mapping::RxUed),
    ] {
        let p = program(key(i), mapping, data(i, 64 + 100 * i as usize));
        model.insert(p.pubkey, p.clone());
        changes.load(p);
    }
    for _ in 0..3_000 {
        let a = random_account(&mut rng);
        keys.push(a.pubkey);
        model.insert(a.pubkey, a.clone());
        changes.load(a);
    }
    store.commit(0, changes).unwrap();
    assert_store_matches(&store, &model, "slot 0");

    // Slots 1..=6: creations, updates, deletes and remaps, through the views.
    for slot in 1..=6u64 {
        let mut changes = SlotChanges::new();
        let mut staged: HashMap<Pubkey, Option<Account>> = HashMap::new();
        for _ in 0..350 {
            let a = random_account(&mut rng);
            if a.mapping == Mapping::RwVed {
                // New accounts come into being in the UED; the VED may not create them.
                let err = store
                    .view(Domain::Ved)
                    .stage_write(&mut changes, a.clone())
                    .unwrap_err();
                assert!(matches!(
                    err,
                    StoreError::NotWritable {
                        mapping: Mapping::RwUed,
                        ..
                    }
                ));
                changes.load(a.clone());
            } else {
                store
                    .view(Domain::Ued)
                    .stage_write(&mut changes, a.clone())
                    .unwrap();
            }
            keys.push(a.pubkey);
            staged.insert(a.pubkey, Some(a));
        }
        for _ in 0..600 {
            let k = keys[rng.below(keys.len() as u64) as usize];
            if staged.contains_key(&k) {
                continue;
            }
            let Some(current) = model.get(&k).cloned() else {
                continue;
            };
            let view = store.view(match current.mapping {
                Mapping::RwVed => Domain::Ved,
                _ => Domain::Ued,
            });
            let roll = rng.below(100);
            if roll < 60 {
                let mut updated = current.clone();
                updated.lamports = rng.next();
                let len = if rng.chance(50) {
                    updated.data.len()
                } else {
                    random_len(&mut rng)
                };
                updated.data = rng.bytes(len);
                view.stage_write(&mut changes, updated.clone()).unwrap();
                staged.insert(k, Some(updated));
            } else if roll < 85 {
                view.stage_delete(&mut changes, &k).unwrap();
                staged.insert(k, None);
            } else {
                let target = match current.mapping {
                    Mapping::RwVed => Mapping::RwUed,
                    _ => Mapping::RwVed,
                };
                changes.remap(k, target);
                let mut moved = current;
                moved.mapping = target;
                staged.insert(k, Some(moved));
            }
        }
        assert_eq!(changes.len(), staged.len());
        let stats = store.commit(slot, changes).unwrap();
        assert_eq!(stats.accounts_changed, staged.len());
        for (k, a) in staged {
            match a {
                Some(a) => model.insert(k, a),
                None => model.remove(&k),
            };
        }
        assert_eq!(store.committed_slot(), Some(slot));
        assert_store_matches(&store, &model, &format!("slot {slot}"));
        if slot == 3 {
            drop(store);
            store = Store::open(dir.path()).unwrap();
            assert_store_matches(&store, &model, "reopen after slot 3");
        }
    }
    assert!(model.len() > 4_000, "{} accounts", model.len());
    assert!(model.values().filter(|a| a.data.len() > 4_000).count() >= 10);
    drop(store);
    let report = Store::check(dir.path()).unwrap();
    assert_eq!(report.committed_slot, Some(6));
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.committed_slot(), Some(6));
    assert_store_matches(&store, &model, "final reopen");
}
