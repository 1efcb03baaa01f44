//! A commit that fails before its log is written — a region file that cannot grow, as on a full
//! disk — leaves the store as it was and usable. Its own test binary: it lowers the process's
//! file size limit (`RLIMIT_FSIZE`) to make the growth fail.

use tandem_engine::store::{SlotChanges, Store, StoreError};
use tandem_engine::{Account, Domain, Mapping, Pubkey};

fn plain(n: u8, len: usize) -> Account {
    Account {
        pubkey: Pubkey([n; 32]),
        lamports: 1,
        owner: Pubkey([0; 32]),
        executable: false,
        data: vec![n; len],
        mapping: Mapping::RwUed,
    }
}

fn read(store: &Store, n: u8) -> Option<Account> {
    let view = store.view(Domain::Ued);
    let found = view.get(&Pubkey([n; 32])).expect("readable");
    found.map(|a| a.to_account())
}

#[test]
fn a_commit_that_cannot_grow_a_region_leaves_the_store_at_the_slot_before() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let mut changes = SlotChanges::new();
    changes.load(plain(1, 10));
    changes.load(plain(2, 10));
    store.commit(1, changes).unwrap();
    // SAFETY: plain libc calls on this process; SIGXFSZ ignored so that the growth past the
    // limit fails with EFBIG instead of killing the process.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let mut limit: libc::rlimit = std::mem::zeroed();
        assert_eq!(libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit), 0);
        limit.rlim_cur = 1 << 20;
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
    // Account 1 moves to a larger cell on a fresh page; account 3 needs a span the file cannot
    // grow to hold: the plan had pointed account 1 at a page never written.
    let mut changes = SlotChanges::new();
    changes.load(plain(1, 500));
    changes.load(plain(3, 2 << 20));
    let failed = store.commit(2, changes);
    assert!(
        matches!(failed, Err(StoreError::Io { op: "grow", .. })),
        "{failed:?}"
    );
    // As before the commit: no panic, no half-planned slot.
    assert_eq!(store.committed_slot(), Some(1));
    assert_eq!(read(&store, 1), Some(plain(1, 10)));
    assert_eq!(read(&store, 3), None);
    assert_eq!(store.len(), 2);
    // And it goes on.
    let mut changes = SlotChanges::new();
    changes.load(plain(1, 500));
    store.commit(2, changes).unwrap();
    assert_eq!(read(&store, 1), Some(plain(1, 500)));
    drop(store);
    let reopened = Store::open(dir.path()).unwrap();
    assert_eq!(reopened.committed_slot(), Some(2));
    assert_eq!(read(&reopened, 1), Some(plain(1, 500)));
    assert_eq!(read(&reopened, 2), Some(plain(2, 10)));
}
