//! The MMU on the store's pages: a stray write into either RW region faults on every machine
//! (every region is mapped read-only; the commit writes through the files), and, with memory
//! protection keys (`store::protection`), an executor confined to its domain faults on a read of
//! the other domain's pages, as a guest would on another VMID's page.
//!
//! Each fault is provoked in a child process — this test binary re-run on the `#[ignore]`d
//! `child` test with an environment variable naming the scenario and the store — and the parent
//! checks that it died of SIGSEGV at the access, and that the store is intact after. Where the
//! machine has no protection keys (or `TANDEM_PROTECTION_KEYS=off`), the tests of reads say
//! they skipped.

mod common;

use common::assert_faulted;
use std::path::Path;
use std::process::{Command, Output};

use tandem_engine::sample::{SplitMix64, builtin_programs, sample_account};
use tandem_engine::store::protection::{self, confine_to};
use tandem_engine::store::{SlotChanges, Store, StoreError};
use tandem_engine::{Account, Domain, Mapping};

const CHILD_ENV: &str = "TANDEM_TEST_PKEY_CHILD";

/// One account of each RW region, small enough to sit in a cell (so a view lends its bytes
/// straight from the mapped page).
fn accounts() -> [Account; 2] {
    let mut rng = SplitMix64::new(0x706b_6579);
    [
        sample_account(&mut rng, Mapping::RwVed, 40),
        sample_account(&mut rng, Mapping::RwUed, 40),
    ]
}

/// Whether keys apply here; prints why the test skips when they do not.
fn keys_apply() -> bool {
    match protection::status() {
        Ok(_) => true,
        Err(reason) => {
            tandem_kernels::say_skipped!("skipped: {reason}");
            false
        }
    }
}

/// Runs `scenario` in a child process on a store in `dir`, with protection keys where the
/// machine has them, or off (`keys: false`).
fn run_child(scenario: &str, dir: &Path, keys: bool) -> Output {
    let mut child = Command::new(std::env::current_exe().expect("test binary path"));
    child
        .args([
            "--exact",
            "child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{scenario}:{}", dir.display()));
    match keys {
        true => child.env_remove(protection::PROTECTION_KEYS_ENV),
        false => child.env(protection::PROTECTION_KEYS_ENV, "off"),
    };
    child.output().expect("spawn child test process")
}

/// Runs `scenario` (keys as [`run_child`]), which must die of SIGSEGV after printing
/// "accessing"; then the store opens with both accounts as they were committed.
fn assert_faults_with(scenario: &str, keys: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store_dir = dir.path().join("store");
    let output = run_child(scenario, &store_dir, keys);
    assert_faulted(&output, "accessing", scenario);
    let store = Store::open(&store_dir).expect("reopen");
    for account in accounts() {
        let stored = store.inspect(&account.pubkey).expect("still there");
        assert_eq!(stored.to_account(), updated(&account), "{scenario}: intact");
    }
}

/// [`assert_faults_with`] with protection keys where the machine has them.
fn assert_faults(scenario: &str) {
    assert_faults_with(scenario, true);
}

/// The account as the child's second commit leaves it.
fn updated(account: &Account) -> Account {
    let mut account = account.clone();
    account.lamports += 1;
    account
}

/// The mappings are read-only: with keys or without (where the machine has none, both runs
/// are without), a write through a pointer into an account's page faults.
#[test]
fn a_stray_write_into_either_rw_region_faults_with_keys_or_without() {
    for keys in [true, false] {
        assert_faults_with("write-ved", keys);
        assert_faults_with("write-ued", keys);
    }
}

#[test]
fn an_executor_cannot_read_the_other_domains_pages() {
    if keys_apply() {
        assert_faults("ved-reads-ued");
        assert_faults("ued-reads-ved");
        assert_faults("ued-worker-reads-ved");
        // rx-ued: the programs only the UED maps carry its key.
        assert_faults("ved-reads-ued-program");
    }
}

/// The control: the same child reads what it may — a confined executor its own domain's pages,
/// a thread started before the store was opened any page — and commits after a confinement.
#[test]
fn an_executor_reads_its_own_pages_and_any_thread_reads_outside_passes() {
    if !keys_apply() {
        return;
    }
    assert_survives("allowed");
}

/// The store's typed reads under a confinement answer, never fault: a view's read of a page the
/// thread may not read is `NotReadable` (it died of SIGSEGV until 2026-12-06), an inspection
/// copies the account out, and a commit on a thread a forgotten guard left confined plans and
/// writes.
#[test]
fn typed_reads_under_a_confinement_answer_and_never_fault() {
    if !keys_apply() {
        return;
    }
    assert_survives("typed");
}

/// Runs `scenario` in a child with keys on and checks that it lived through its accesses.
fn assert_survives(scenario: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run_child(scenario, &dir.path().join("store"), true);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("survived"),
        "{scenario}: {:?}: {stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The child: a store with one account per RW region, committed twice, then the access the
/// scenario names.
#[test]
#[ignore = "child process of the tests above"]
fn child() {
    let Some(spec) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let spec = spec.to_string_lossy().into_owned();
    let (scenario, dir) = spec.split_once(':').expect("scenario:dir");
    // Started before the store exists: the kernel's default rights, no access to keyed pages.
    let (go, wait) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
    let early = std::thread::spawn(move || wait.recv().map(|job| job()).is_ok());

    let mut store = Store::create(dir).expect("create store");
    let [ved, ued] = accounts();
    let mut changes = SlotChanges::new();
    for program in builtin_programs() {
        changes.load(program);
    }
    let ued_program = sample_account(&mut SplitMix64::new(7), Mapping::RxUed, 40);
    changes.load(ued_program.clone());
    changes.load(ved.clone());
    changes.load(ued.clone());
    store.commit(0, changes).expect("commit 0");
    let mut changes = SlotChanges::new();
    changes.load(updated(&ved));
    changes.load(updated(&ued));
    store.commit(1, changes).expect("commit 1");
    let page = |account: &Account| {
        let read = store.inspect(&account.pubkey).expect("exists");
        assert_eq!(read.data, account.data, "read through the mapping");
        assert!(
            matches!(read.data, std::borrow::Cow::Borrowed(_)),
            "lent from the page"
        );
        read.data.as_ptr() as usize
    };
    let (ved_at, ued_at, program_at) = (page(&ved), page(&ued), page(&ued_program));
    let read = |at: usize| {
        // SAFETY: a live mapping of the open store; whether this thread may read it is what
        // the test is about.
        unsafe { (at as *const u8).read_volatile() }
    };
    let write = |at: usize| {
        // SAFETY: deliberately unsound: this models a buggy executor scribbling through a
        // pointer it got from the store. Protection keys must stop the process here.
        unsafe { (at as *mut u8).write_volatile(0xAA) }
    };
    println!("accessing");
    match scenario {
        "write-ved" => write(ved_at),
        "write-ued" => write(ued_at),
        "ved-reads-ued" => {
            let _confined = confine_to(Domain::Ved);
            read(ued_at);
        }
        "ved-reads-ued-program" => {
            let _confined = confine_to(Domain::Ved);
            read(program_at);
        }
        "ued-reads-ved" => {
            let _confined = confine_to(Domain::Ued);
            read(ved_at);
        }
        "ued-worker-reads-ved" => {
            let _confined = confine_to(Domain::Ued);
            std::thread::scope(|s| {
                s.spawn(|| read(ved_at));
            });
        }
        "allowed" => {
            {
                let _confined = confine_to(Domain::Ved);
                assert_eq!(read(ved_at), ved.data[0]);
            }
            {
                let _confined = confine_to(Domain::Ued);
                assert_eq!(read(ued_at), ued.data[0]);
            }
            let mut changes = SlotChanges::new();
            changes.load(updated(&updated(&ved)));
            store
                .commit(2, changes)
                .expect("commit 2, after the confinements");
            // The early thread reads through the store (which gives it read access), then by
            // pointer.
            let store_ref: &'static Store = Box::leak(Box::new(store));
            let (ved_key, expected) = (ved.pubkey, ved.data[0]);
            go.send(Box::new(move || {
                let read_back = store_ref.inspect(&ved_key).expect("exists").data[0];
                assert_eq!(read_back, expected);
                // SAFETY: as `read` above.
                assert_eq!(unsafe { (ved_at as *const u8).read_volatile() }, expected);
            }))
            .expect("early thread waits");
            assert!(early.join().expect("early thread"), "the early thread ran");
        }
        "typed" => {
            {
                let _confined = confine_to(Domain::Ved);
                let refused = store.view(Domain::Ued).get(&ued.pubkey);
                assert!(
                    matches!(refused, Err(StoreError::NotReadable { .. })),
                    "{:?}",
                    refused.map(|a| a.map(|a| a.pubkey))
                );
                let own = store.view(Domain::Ved).get(&ved.pubkey).expect("readable");
                assert_eq!(own.expect("exists").data[0], ved.data[0]);
                let inspected = store.inspect(&ued.pubkey).expect("exists");
                assert_eq!(inspected.data[..], ued.data[..]);
            }
            // Left confined to the UED for good; the commit rewrites a RW-VED page.
            std::mem::forget(confine_to(Domain::Ued));
            let mut changes = SlotChanges::new();
            changes.load(updated(&updated(&ved)));
            store.commit(2, changes).expect("commit 2, confined");
            let read = store.inspect(&ved.pubkey).expect("exists");
            assert_eq!(read.data[..], updated(&updated(&ved)).data[..]);
        }
        other => panic!("unknown scenario {other}"),
    }
    println!("survived");
}
