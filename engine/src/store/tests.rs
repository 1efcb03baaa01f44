//! The store's own tests of its commit, open and planner (the crash and corruption tests
//! drive it from `engine/tests/`).

use super::*;

/// Each region file's path and bytes now: what a power cut before the next commit's pages
/// reached the disk leaves of them.
fn region_bytes(store: &Store) -> Vec<(PathBuf, Vec<u8>)> {
    store
        .regions
        .iter()
        .map(|r| (r.path.clone(), std::fs::read(&r.path).unwrap()))
        .collect()
}

/// The disk after a power cut, in a copy of `dir`: every file as it is, but the regions'
/// pages as `before` holds them.
fn after_power_cut(dir: &Path, before: &[(PathBuf, Vec<u8>)]) -> tempfile::TempDir {
    let cut = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, cut.path().join(path.file_name().unwrap())).unwrap();
    }
    for (path, old) in before {
        let copy = cut.path().join(path.file_name().unwrap());
        let file = std::fs::OpenOptions::new().write(true).open(copy).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&file, old, 0).unwrap();
    }
    cut
}

#[test]
fn opening_a_path_to_nowhere_or_a_file_says_so() {
    // Each read "is not a tandem store: no superblock file" (a black-box test, stop 74).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"hi").unwrap();
    for (path, said) in [
        (
            dir.path().join("nowhere/x"),
            "is not a tandem store: no such directory",
        ),
        (
            file.join("x"),
            "no such directory (the path goes through a file)",
        ),
        (file, "is not a tandem store: a file, not a directory"),
    ] {
        let Err(err) = Store::open(&path) else {
            panic!("{}: opened", path.display());
        };
        assert!(err.to_string().ends_with(said), "{err}");
    }
}

#[test]
fn a_store_path_that_is_no_directory_is_said_to_be_what_it_is() {
    // Each read "create directory …: File exists (os error 17)" (a black-box test of paths,
    // stop 73).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"hi").unwrap();
    let (a, b) = (dir.path().join("loop-a"), dir.path().join("loop-b"));
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    let to_file = dir.path().join("to-file");
    std::os::unix::fs::symlink(&file, &to_file).unwrap();
    for (path, said) in [
        (&file, "a file, not a directory"),
        (&a, "a loop of symbolic links"),
        (&dangling, "nowhere, which does not exist"),
        (&to_file, "a-file, a file, not a directory"),
    ] {
        let Err(err) = Store::create(path) else {
            panic!("{}: created", path.display());
        };
        let err = err.to_string();
        assert!(err.contains(said) && !err.contains("File exists"), "{err}");
    }
    // A symbolic link to a directory serves.
    let target = dir.path().join("target");
    std::fs::create_dir(&target).unwrap();
    let to_dir = dir.path().join("to-dir");
    std::os::unix::fs::symlink(&target, &to_dir).unwrap();
    Store::create(&to_dir).expect("through the link");
}

/// Once open, no region's mapping reads ahead (`MADV_RANDOM`: the kernel marks it `rr` in
/// `/proc/self/smaps`), nor does a mapping made again when a region grows: a fault on a
/// page never written used to read ahead and zero megabytes of them.
#[cfg(target_os = "linux")]
#[test]
fn the_regions_are_mapped_without_readahead_once_open_and_after_growing() {
    fn random_read(store: &Store) -> Vec<bool> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        store
            .regions
            .iter()
            .map(|region| {
                let start = format!("{:x}-", region.map.bytes().as_ptr() as usize);
                let at = smaps
                    .lines()
                    .position(|l| l.starts_with(&start))
                    .expect("the region's mapping in smaps");
                let flags = smaps
                    .lines()
                    .skip(at)
                    .find(|l| l.starts_with("VmFlags:"))
                    .expect("its VmFlags");
                flags.split_ascii_whitespace().any(|f| f == "rr")
            })
            .collect()
    }
    let dir = tempfile::tempdir().unwrap();
    drop(Store::create(dir.path()).unwrap());
    let mut store = Store::open(dir.path()).unwrap();
    assert_eq!(random_read(&store), [true; 4]);
    let mut rng = crate::sample::SplitMix64::new(5);
    let mut changes = SlotChanges::new();
    for _ in 0..5_000 {
        changes.load(crate::sample::sample_account(&mut rng, Mapping::RwUed, 600));
    }
    let pages = store.regions[region_index(Mapping::RwUed)].page_count();
    store.commit(1, changes).unwrap();
    assert!(
        store.regions[region_index(Mapping::RwUed)].page_count() > pages,
        "it grew"
    );
    assert_eq!(random_read(&store), [true; 4]);
}

/// A commit's image of a page past the region's written pages starts as zeros, without a
/// read through the mapping: on this thread, touching 256 such pages faults (next to) no
/// page in. Before, each was copied from the mapping — a fault per page that makes the
/// kernel zero a fresh page-cache page (on tmpfs, a fault per 16 pages mapped around).
/// The scan at open finds where a region's zeros begin by the pages' bytes, not their
/// headers: a freed page's header is blank but its body keeps its old cells, and an image
/// of it started as zeros would differ from the disk where the log does not cover it.
#[test]
fn the_zeros_a_region_ends_with_are_found_by_the_pages_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let mut rng = crate::sample::SplitMix64::new(31);
    let r = region_index(Mapping::RwUed);
    let small = crate::sample::sample_account(&mut rng, Mapping::RwUed, 10);
    let mut large = crate::sample::sample_account(&mut rng, Mapping::RwUed, 10);
    large.data = vec![5; 3 * PAGE_SIZE];
    let mut changes = SlotChanges::new();
    changes.load(small);
    changes.load(large.clone());
    store.commit(1, changes).unwrap();
    let written_end = store.regions[r].zeros_from;
    let Place::Span { len } = store.index[&large.pubkey].place else {
        panic!("a span");
    };
    assert_eq!(written_end, store.index[&large.pubkey].page + len);
    let mut changes = SlotChanges::new();
    changes.delete(large.pubkey);
    store.commit(2, changes).unwrap();
    drop(store);

    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.regions[r].zeros_from, written_end,
        "the freed span's pages hold their old bytes"
    );
    assert!(store.regions[r].page_count() > written_end, "zeros after");
}

/// A power cut after a commit's log, before its pages reach the disk: the next open
/// completes the commit from the log over the pages as they were. The commit wrote fresh
/// pages (images started as zeros) and reused a freed page whose old cell is still on the
/// disk (its image copied): each image must equal the disk wherever the log does not cover
/// it, or the page completed from the log differs from the one the commit wrote (its
/// checksum then fails at open).
#[test]
fn a_commit_on_fresh_and_reused_pages_is_completed_from_its_log_after_a_power_cut() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let mut rng = crate::sample::SplitMix64::new(41);
    let small = crate::sample::sample_account(&mut rng, Mapping::RwUed, 10);
    let mut freed = crate::sample::sample_account(&mut rng, Mapping::RwUed, 10);
    freed.data = vec![5; 1_900]; // alone in a page of 2,016-byte cells, the last page
    let mut changes = SlotChanges::new();
    changes.load(small.clone());
    changes.load(freed.clone());
    store.commit(1, changes).unwrap();
    let mut changes = SlotChanges::new();
    changes.delete(freed.pubkey);
    store.commit(2, changes).unwrap();
    drop(store);

    let mut store = Store::open(dir.path()).unwrap();
    let pages_of_slot_2 = region_bytes(&store);
    // The same cell class, a shorter record: the freed cell's old bytes stay after it.
    let mut reusing = crate::sample::sample_account(&mut rng, Mapping::RwUed, 10);
    reusing.data = vec![6; 1_400];
    let fresh: Vec<Account> = (0..200)
        .map(|_| crate::sample::sample_account(&mut rng, Mapping::RwUed, 300))
        .collect();
    let mut changes = SlotChanges::new();
    changes.load(reusing.clone());
    for account in &fresh {
        changes.load(account.clone());
    }
    store.commit(3, changes).unwrap();
    assert_eq!(
        store.index[&reusing.pubkey].page, 2,
        "the freed page, used again"
    );

    let cut = after_power_cut(dir.path(), &pages_of_slot_2);
    drop(store);

    let reopened = Store::open(cut.path()).unwrap();
    assert_eq!(
        reopened.recovered_slot(),
        Some(3),
        "slot 3 came from its log"
    );
    let read = |key: &Pubkey| reopened.inspect(key).map(|a| a.to_account());
    assert_eq!(read(&small.pubkey), Some(small.clone()));
    assert_eq!(read(&reusing.pubkey), Some(reusing.clone()));
    for account in &fresh {
        assert_eq!(read(&account.pubkey).as_ref(), Some(account));
    }
    assert_eq!(read(&freed.pubkey), None);
}

/// Commits that each add thousands of new accounts fill the index's tables evenly, so
/// they reach their limits together; the commits make room ahead of them, so no new
/// account finds its table full — no commit grows the whole index (or a wave of its
/// tables) at once. Before, one table held every account, and the commit that crossed its
/// limit moved them all into a table twice the size.
#[test]
fn a_commits_new_accounts_find_room_made_in_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let mut rng = crate::sample::SplitMix64::new(23);
    let (per_commit, commits) = (2_000, 100);
    let mut found_full = 0;
    for slot in 1..=commits {
        let mut changes = SlotChanges::new();
        for _ in 0..per_commit {
            let account = crate::sample::sample_account(&mut rng, Mapping::RwUed, 8);
            // (The first commits fill empty tables: none has room yet.)
            if slot > 2 && !store.index.has_room_for(&account.pubkey) {
                found_full += 1;
            }
            changes.load(account);
        }
        store.commit(slot, changes).unwrap();
    }
    assert_eq!(store.len(), (per_commit * commits) as usize);
    assert_eq!(
        found_full, 0,
        "new accounts found their table of the index full"
    );
    assert!(
        store.index.largest_table() <= store.len() / 256,
        "one table has room for {} of {} accounts",
        store.index.largest_table(),
        store.len()
    );
}

#[test]
fn an_account_read_in_place_is_an_account_exactly_when_its_copy_equals_it() {
    // The commit skips an account the slot wrote back unchanged by comparing the store's
    // record in place (`AccountRef::is`): every field must count, as in the copy's `==`.
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let mut rng = crate::sample::SplitMix64::new(3);
    let account = crate::sample::sample_account(&mut rng, Mapping::RwUed, 40);
    let mut changes = SlotChanges::new();
    changes.load(account.clone());
    store.commit(1, changes).unwrap();
    let stored = store.inspect(&account.pubkey).unwrap();
    let mut others = Vec::new();
    let mut other = account.clone();
    other.pubkey.0[31] ^= 1;
    others.push(other);
    let mut other = account.clone();
    other.lamports += 1;
    others.push(other);
    let mut other = account.clone();
    other.owner.0[0] ^= 1;
    others.push(other);
    let mut other = account.clone();
    other.executable = !other.executable;
    others.push(other);
    let mut other = account.clone();
    other.mapping = Mapping::RwVed;
    others.push(other);
    let mut other = account.clone();
    other.data[0] ^= 1;
    others.push(other);
    let mut other = account.clone();
    other.data.push(0);
    others.push(other);
    assert!(stored.is(&account));
    for other in &others {
        assert_eq!(stored.is(other), stored.to_account() == *other, "{other:?}");
        assert!(!stored.is(other), "{other:?}");
    }
}

#[test]
fn a_planned_commit_abandoned_leaves_the_store_at_its_last_slot_and_one_written_commits() {
    // A planned commit has placed its accounts in the index, over pages it has not written
    // (a grown account's new cell on a fresh page): dropped unwritten, the store must read
    // as it was and take the next commit; written, it is the commit.
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let mut rng = crate::sample::SplitMix64::new(5);
    let [small, other] =
        std::array::from_fn(|_| crate::sample::sample_account(&mut rng, Mapping::RwUed, 10));
    let mut grown = small.clone();
    grown.data = vec![7; 500];
    let mut changes = SlotChanges::new();
    changes.load(small.clone());
    store.commit(1, changes).unwrap();
    let changes_of_slot_2 = || {
        let mut changes = SlotChanges::new();
        changes.load(grown.clone());
        changes.load(other.clone());
        changes
    };
    drop(store.plan_commit(2, changes_of_slot_2()).unwrap());
    store
        .usable()
        .expect("an abandoned plan leaves the store usable");
    assert_eq!(store.committed_slot(), Some(1));
    assert_eq!(store.len(), 1);
    assert!(store.inspect(&small.pubkey).map(|a| a.to_account()) == Some(small.clone()));
    assert!(store.inspect(&other.pubkey).is_none());
    let stats = store
        .plan_commit(2, changes_of_slot_2())
        .unwrap()
        .write()
        .unwrap();
    assert_eq!((stats.slot, stats.accounts_changed), (2, 2));
    assert!(store.inspect(&small.pubkey).map(|a| a.to_account()) == Some(grown.clone()));
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.committed_slot(), Some(2));
    assert!(store.inspect(&small.pubkey).map(|a| a.to_account()) == Some(grown));
    assert!(store.inspect(&other.pubkey).map(|a| a.to_account()) == Some(other));
    drop(store);
    assert_eq!(Store::check(dir.path()).unwrap().committed_slot, Some(2));
}

#[test]
fn a_log_written_whole_whose_fsync_fails_is_a_commit_the_store_cannot_go_on_past() {
    // The log of slot 2 is written whole, its fsync fails: it may be on the disk, and the
    // next open completes slot 2 from it. The store must not go on at slot 1 (it did: the
    // caller, told slot 2 failed, could commit another slot 2, or close and find it done),
    // nor read through an index that points at pages the commit never wrote.
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let mut rng = crate::sample::SplitMix64::new(7);
    let [small, other, third] =
        std::array::from_fn(|_| crate::sample::sample_account(&mut rng, Mapping::RwUed, 10));
    let mut grown = small.clone();
    grown.data = vec![9; 500]; // a bigger cell: a fresh page the commit never wrote
    let mut changes = SlotChanges::new();
    changes.load(small.clone());
    store.commit(1, changes).unwrap();
    store.fail_log_sync = true;
    let mut changes = SlotChanges::new();
    changes.load(grown.clone());
    changes.load(other);
    let failed = store.commit(2, changes);
    assert!(
        matches!(failed, Err(StoreError::Io { op: "fsync", .. })),
        "{failed:?}"
    );
    assert!(matches!(store.usable(), Err(StoreError::Poisoned(_))));
    assert!(store.inspect(&small.pubkey).is_none());
    let mut changes = SlotChanges::new();
    changes.load(third);
    assert!(store.commit(2, changes).is_err(), "no other slot 2");
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.committed_slot(), Some(2));
    assert!(store.inspect(&small.pubkey).map(|a| a.to_account()) == Some(grown));
}

#[test]
fn a_commit_whose_pages_never_reached_the_disk_is_completed_from_its_log() {
    // A commit returns once its log is on the disk; its pages are written back while the
    // next slot executes, and recorded at the next commit. A power cut before then loses
    // the pages' writeback: the disk holds the slot's log, the superblock of the slot
    // before, and pages as they were. The next open must bring the slot back whole.
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let mut rng = crate::sample::SplitMix64::new(11);
    let [moved, kept, new] =
        std::array::from_fn(|_| crate::sample::sample_account(&mut rng, Mapping::RwUed, 40));
    let mut changes = SlotChanges::new();
    changes.load(moved.clone());
    changes.load(kept.clone());
    store.commit(1, changes).unwrap();
    let pages_of_slot_1 = region_bytes(&store);
    let mut updated = moved.clone();
    updated.lamports += 1;
    updated.data = vec![7; 40];
    let mut changes = SlotChanges::new();
    changes.load(updated.clone());
    changes.load(new.clone());
    store.commit(2, changes).unwrap();

    // The disk after the power cut: every file as it is, but the regions' pages of slot 1.
    let cut = after_power_cut(dir.path(), &pages_of_slot_1);
    drop(store);

    let reopened = Store::open(cut.path()).unwrap();
    assert_eq!(reopened.committed_slot(), Some(2));
    assert_eq!(
        reopened.recovered_slot(),
        Some(2),
        "slot 2 came from its log"
    );
    let read = |key: &Pubkey| reopened.inspect(key).map(|a| a.to_account());
    assert_eq!(read(&moved.pubkey), Some(updated));
    assert_eq!(read(&kept.pubkey), Some(kept.clone()));
    assert_eq!(read(&new.pubkey), Some(new));
    drop(reopened);
    // Closed after its last commit, the store itself records it: nothing to complete.
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        (store.committed_slot(), store.recovered_slot()),
        (Some(2), None)
    );
}

/// The scan reads pages through the region files, not the mappings: a region file another
/// process cuts short under an open store is an error naming it when the store reads its
/// pages back (a failed commit's reload, as at open) — through the mapping, a SIGBUS that
/// killed the process.
#[test]
fn a_region_file_cut_short_under_the_store_is_an_error_when_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let mut rng = crate::sample::SplitMix64::new(7);
    let mut changes = SlotChanges::new();
    for _ in 0..2_000 {
        changes.load(crate::sample::sample_account(&mut rng, Mapping::RwUed, 600));
    }
    store.commit(1, changes).unwrap();
    let region = &store.regions[region_index(Mapping::RwUed)];
    assert!(region.page_count() > 300, "{} pages", region.page_count());
    let path = region.path.clone();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(3 * PAGE_SIZE as u64)
        .unwrap();
    let err = store.reload().expect_err("refused");
    assert!(matches!(err, StoreError::Truncated { .. }), "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert!(
        err.to_string().contains("3 pages, but the store holds"),
        "{err}"
    );
}

#[test]
fn a_store_whose_file_was_removed_while_open_commits_no_more() {
    // `rm superblock` (or a region file, or the log) beside a running `tandem replay --store`:
    // every later commit reported success into a file no open would find again, and the run
    // exited 0 over a store that no longer opened.
    for removed in [SUPERBLOCK_FILE, WAL_FILE, "rw-ued.pages"] {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(dir.path()).unwrap();
        let mut rng = crate::sample::SplitMix64::new(9);
        let mut account = || crate::sample::sample_account(&mut rng, Mapping::RwUed, 10);
        let mut changes = SlotChanges::new();
        changes.load(account());
        store.commit(1, changes).unwrap();
        std::fs::remove_file(dir.path().join(removed)).unwrap();
        let mut changes = SlotChanges::new();
        changes.load(account());
        let refused = store.commit(2, changes);
        assert!(
            matches!(&refused, Err(StoreError::Removed { path }) if path.ends_with(removed)),
            "{removed}: {refused:?}"
        );
        assert_eq!(store.committed_slot(), Some(1), "{removed}");
    }
}

#[test]
fn a_store_opened_to_read_only_is_checked_as_it_is_and_changes_no_file() {
    // `tandem store check` opened every file for writing: on a file system gone read-only (or
    // without write permission) it could not tell an operator whether the store was whole.
    let dir = tempfile::tempdir().unwrap();
    let files = |dir: &Path| {
        let mut all: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
            .collect();
        all.sort();
        all
    };
    let mut store = Store::create(dir.path()).unwrap();
    let mut rng = crate::sample::SplitMix64::new(11);
    let mut account = || crate::sample::sample_account(&mut rng, Mapping::RwUed, 40);
    for slot in 1..=2 {
        let mut changes = SlotChanges::new();
        changes.load(account());
        store.commit(slot, changes).unwrap();
    }
    drop(store);
    let before = files(dir.path());
    let read = Store::open_in(dir.path(), Access::Read).unwrap().report();
    assert_eq!(files(dir.path()), before, "a read-only open changed a file");
    assert_eq!(read, Store::check(dir.path()).unwrap());
    assert_eq!(read.committed_slot, Some(2));
    // A commit whose step 4 a crash cut off (the log holds slot 3; the superblock slot 2):
    // completing it would write, so a read-only open refuses, naming the slot.
    let mut store = Store::open(dir.path()).unwrap();
    let mut changes = SlotChanges::new();
    changes.load(account());
    store.commit(3, changes).unwrap();
    // The files as a kill leaves them now (its step 4 not taken), copied while it is open.
    let crashed = tempfile::tempdir().unwrap();
    for (path, bytes) in files(dir.path()) {
        std::fs::write(crashed.path().join(path.file_name().unwrap()), bytes).unwrap();
    }
    drop(store);
    let before = files(crashed.path());
    let refused = Store::open_in(crashed.path(), Access::Read);
    assert!(
        matches!(refused, Err(StoreError::ReadOnlyRecovery { slot: 3, .. })),
        "{:?}",
        refused.err()
    );
    assert_eq!(files(crashed.path()), before);
    assert_eq!(
        Store::check(crashed.path()).unwrap().committed_slot,
        Some(3)
    );
}

/// Keeps `dir`'s entries from being removed while it lives: an immutable directory (root,
/// `chattr +i`: `EPERM`) or one without write permission (another user: `EACCES`). `None`,
/// having said why, where neither can be made.
struct EntriesKept<'d> {
    dir: &'d Path,
    immutable: bool,
}

impl<'d> EntriesKept<'d> {
    fn new(dir: &'d Path) -> Option<Self> {
        use std::os::unix::fs::PermissionsExt;
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
            return Some(Self {
                dir,
                immutable: false,
            });
        }
        let made = std::process::Command::new("chattr")
            .arg("+i")
            .arg(dir)
            .output();
        match made {
            Ok(out) if out.status.success() => Some(Self {
                dir,
                immutable: true,
            }),
            // A file system without the flag (overlayfs, say): a missing capability of the
            // machine, not of the code, as a CPU feature is.
            other => {
                tandem_kernels::testing::say_skipped(format_args!(
                    "*** `chattr +i` failed here ({other:?}): the check beside an undeletable \
                     marker was not run as root ***"
                ));
                None
            }
        }
    }
}

impl Drop for EntriesKept<'_> {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.immutable {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(self.dir)
                .status();
        } else {
            let _ = std::fs::set_permissions(self.dir, std::fs::Permissions::from_mode(0o755));
        }
    }
}

#[test]
fn a_finished_creates_marker_that_cannot_be_removed_is_checked_read_only() {
    // `tandem store check` by a user who could write the store's files but not its directory,
    // beside a finished create's marker: the marker's removal failed (EACCES; EPERM where the
    // directory is immutable) and the check reported that error instead of checking.
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path()).unwrap();
    let mut changes = SlotChanges::new();
    let mut rng = crate::sample::SplitMix64::new(5);
    changes.load(crate::sample::sample_account(&mut rng, Mapping::RwUed, 40));
    store.commit(1, changes).unwrap();
    drop(store);
    let marker = dir.path().join(create::MARKER_FILE);
    std::fs::write(&marker, b"").unwrap();
    let Some(kept) = EntriesKept::new(dir.path()) else {
        return;
    };
    let checked = Store::check(dir.path());
    assert!(
        marker.exists(),
        "the marker stays where it cannot be removed"
    );
    drop(kept);
    assert_eq!(checked.unwrap().committed_slot, Some(1));
    // A writable open removes it, as before.
    drop(Store::open(dir.path()).unwrap());
    assert!(!marker.exists());
}
