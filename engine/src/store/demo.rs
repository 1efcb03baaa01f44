//! The store demonstration behind `make run` (until the pipeline exists): create a store, fill it
//! with generated accounts in both domains, commit a few slots of changes and remaps, reopen it
//! and verify every account against what was written.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use hashbrown::HashMap;

use super::{CheckReport, SlotChanges, Store, StoreError};
use crate::account::{Account, Domain, Mapping, Pubkey};
use crate::sample::{SplitMix64, builtin_programs, sample_account, sample_data_len};

/// What the demonstration does.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// Where the store is created.
    pub dir: PathBuf,
    /// Accounts written at genesis (slot 0).
    pub accounts: u64,
    /// Slots of changes committed after genesis.
    pub slots: u64,
    /// Seed of the generated accounts.
    pub seed: u64,
    /// Replace a store already in `dir` (only a tandem store is ever removed).
    pub replace: bool,
}

/// A progress report: `done` of `total` steps of `stage`.
#[derive(Clone, Copy, Debug)]
pub struct DemoProgress {
    /// "genesis", "slots" or "verify".
    pub stage: &'static str,
    /// Steps done.
    pub done: u64,
    /// Steps in the stage.
    pub total: u64,
}

/// What the demonstration measured and found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DemoReport {
    /// Accounts written at genesis.
    pub genesis_accounts: u64,
    /// Time to commit genesis.
    pub genesis_commit_ms: f64,
    /// Slots committed after genesis.
    pub slots: u64,
    /// Accounts changed (written, removed or moved) in those slots.
    pub accounts_changed: u64,
    /// Accounts moved between RW-VED and RW-UED.
    pub remaps: u64,
    /// Mean time to commit one of those slots.
    pub mean_slot_commit_ms: f64,
    /// Time to reopen the store (verify every page, rebuild the index).
    pub reopen_ms: f64,
    /// Accounts read back and found identical to what was written.
    pub verified_accounts: u64,
    /// The store after reopening.
    pub store: CheckReport,
}

/// Runs the demonstration. Any mismatch between what was written and what is read back is an
/// error, not a line in the report.
pub fn run_demo(
    config: &DemoConfig,
    progress: &mut dyn FnMut(DemoProgress),
) -> Result<DemoReport, StoreError> {
    let superblock = config.dir.join("superblock");
    if config.replace && superblock.exists() {
        // Under the store's lock, as an open takes it: a store an engine has open is refused
        // (removed under it, the engine went on committing into deleted files, and its next
        // start opened the demonstration's accounts).
        // Only a tandem store, and only its own files: the directory, and anything else in it,
        // is not the demonstration's to remove (it removed the whole directory: a file named
        // `superblock` was enough to lose everything beside it).
        let held = std::fs::File::open(&superblock).map_err(StoreError::io("open", &superblock))?;
        super::lock_exclusive(&held, &config.dir)?;
        super::create::remove_store(&config.dir, &held)?;
    }
    let mut store = Store::create(&config.dir)?;
    let mut rng = SplitMix64::new(config.seed);
    // What each account must read back as: its mapping and a digest of its bytes.
    let mut expected: HashMap<Pubkey, (Mapping, u64)> = HashMap::new();
    let mut keys: Vec<Pubkey> = Vec::new();

    let mut genesis = SlotChanges::new();
    let mut put = |changes: &mut SlotChanges, account: Account, keys: &mut Vec<Pubkey>| {
        if !expected.contains_key(&account.pubkey) && !account.executable {
            keys.push(account.pubkey);
        }
        expected.insert(account.pubkey, (account.mapping, digest(&account)));
        changes.load(account);
    };
    for program in builtin_programs() {
        put(&mut genesis, program, &mut keys);
    }
    for _ in 0..4 {
        let len = 16 * 1024 + rng.below(64 * 1024) as usize;
        put(
            &mut genesis,
            sample_account(&mut rng, Mapping::RxUed, len),
            &mut keys,
        );
    }
    for i in 0..config.accounts {
        // One account in ten is a VED account: a vote account (3,762 bytes) or its payer.
        let account = match i % 20 {
            0 => sample_account(&mut rng, Mapping::RwVed, 3762),
            1 => sample_account(&mut rng, Mapping::RwVed, 0),
            _ => {
                let len = sample_data_len(&mut rng, 256 * 1024);
                sample_account(&mut rng, Mapping::RwUed, len)
            }
        };
        put(&mut genesis, account, &mut keys);
        if i % 4096 == 0 {
            progress(DemoProgress {
                stage: "genesis",
                done: i,
                total: config.accounts,
            });
        }
    }
    let start = Instant::now();
    store.commit(0, genesis)?;
    let genesis_commit = start.elapsed();
    progress(DemoProgress {
        stage: "genesis",
        done: config.accounts,
        total: config.accounts,
    });

    let mut accounts_changed = 0;
    let mut remaps = 0;
    let mut slot_time = Duration::ZERO;
    for slot in 1..=config.slots {
        let mut changes = SlotChanges::new();
        let mut touched = hashbrown::HashSet::new();
        let per_slot = (keys.len() as u64 / 100).max(1);
        for _ in 0..per_slot {
            let key = keys[rng.below(keys.len() as u64) as usize];
            if !touched.insert(key) {
                continue;
            }
            let mut account = store.inspect(&key).expect("a live key").to_account();
            let domain = if account.mapping == Mapping::RwVed {
                Domain::Ved
            } else {
                Domain::Ued
            };
            if rng.below(50) == 0 {
                let target = match account.mapping {
                    Mapping::RwVed => Mapping::RwUed,
                    _ => Mapping::RwVed,
                };
                changes.remap(key, target);
                expected.insert(
                    key,
                    (
                        target,
                        digest(&Account {
                            mapping: target,
                            ..account
                        }),
                    ),
                );
                remaps += 1;
            } else {
                account.lamports = account.lamports.wrapping_add(rng.below(1_000_000));
                rng.fill(&mut account.data);
                expected.insert(key, (account.mapping, digest(&account)));
                store.view(domain).stage_write(&mut changes, account)?;
            }
        }
        // New user accounts come into being in the UED.
        for _ in 0..per_slot / 10 {
            let len = sample_data_len(&mut rng, 64 * 1024);
            let account = sample_account(&mut rng, Mapping::RwUed, len);
            keys.push(account.pubkey);
            expected.insert(account.pubkey, (account.mapping, digest(&account)));
            store.view(Domain::Ued).stage_write(&mut changes, account)?;
        }
        accounts_changed += changes.len() as u64;
        let start = Instant::now();
        store.commit(slot, changes)?;
        slot_time += start.elapsed();
        progress(DemoProgress {
            stage: "slots",
            done: slot,
            total: config.slots,
        });
    }
    drop(store);

    let start = Instant::now();
    let store = Store::open(&config.dir)?;
    let reopen = start.elapsed();
    let total = expected.len() as u64;
    if store.len() as u64 != total {
        return Err(mismatch(format!(
            "reopened store holds {} accounts, {total} were written",
            store.len()
        )));
    }
    for (i, (key, (mapping, sum))) in expected.iter().enumerate() {
        let found = store
            .inspect(key)
            .ok_or_else(|| mismatch(format!("account {key} is missing after reopening")))?
            .to_account();
        if found.mapping != *mapping || digest(&found) != *sum {
            return Err(mismatch(format!(
                "account {key} reads back different bytes"
            )));
        }
        if i % 4096 == 0 {
            progress(DemoProgress {
                stage: "verify",
                done: i as u64,
                total,
            });
        }
    }
    progress(DemoProgress {
        stage: "verify",
        done: total,
        total,
    });

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok(DemoReport {
        genesis_accounts: config.accounts,
        genesis_commit_ms: ms(genesis_commit),
        slots: config.slots,
        accounts_changed,
        remaps,
        mean_slot_commit_ms: if config.slots == 0 {
            0.0
        } else {
            ms(slot_time) / config.slots as f64
        },
        reopen_ms: ms(reopen),
        verified_accounts: total,
        store: store.report(),
    })
}

fn digest(account: &Account) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&account.pubkey.0);
    h.update(&account.lamports.to_le_bytes());
    h.update(&account.owner.0);
    h.update(&[u8::from(account.executable), account.mapping.tag()]);
    h.update(&account.data);
    h.digest()
}

fn mismatch(reason: String) -> StoreError {
    StoreError::ReadBackMismatch(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_round_trips_a_small_store() {
        let dir = tempfile::tempdir().unwrap();
        let config = DemoConfig {
            dir: dir.path().join("store"),
            accounts: 300,
            slots: 3,
            seed: 1,
            replace: false,
        };
        let report = run_demo(&config, &mut |_| {}).unwrap();
        assert_eq!(report.store.committed_slot, Some(3));
        assert!(report.verified_accounts >= 300 + 6);
        let per_mapping: u64 = report.store.regions.iter().map(|r| r.accounts).sum();
        assert_eq!(per_mapping, report.verified_accounts);
        // A second run without `replace` refuses to touch the existing store.
        assert!(matches!(
            run_demo(&config, &mut |_| {}),
            Err(StoreError::AlreadyExists(_))
        ));
        let replaced = run_demo(
            &DemoConfig {
                replace: true,
                ..config
            },
            &mut |_| {},
        );
        assert!(replaced.is_ok());
    }

    #[test]
    fn replacing_removes_the_stores_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let config = replacing(&dir, 3);
        run_demo(&config, &mut |_| {}).unwrap();
        // A file beside the store: refused, and nothing removed.
        let precious = config.dir.join("precious");
        std::fs::write(&precious, b"keep me").unwrap();
        let before = listing(&config.dir);
        let refused = run_demo(&config, &mut |_| {});
        assert!(
            matches!(&refused, Err(StoreError::NotOnlyAStore { entry, .. }) if entry == "precious"),
            "{refused:?}"
        );
        assert_eq!(listing(&config.dir), before, "nothing removed");
        assert_eq!(Store::open(&config.dir).unwrap().committed_slot(), Some(1));
        // The store alone (and a lost+found): replaced, in the same directory.
        std::fs::remove_file(&precious).unwrap();
        std::fs::create_dir(config.dir.join("lost+found")).unwrap();
        let inode =
            || std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&config.dir).unwrap());
        let was = inode();
        run_demo(&config, &mut |_| {}).unwrap();
        assert_eq!(inode(), was, "the directory itself is kept");
        assert!(config.dir.join("lost+found").is_dir());
    }

    #[test]
    fn a_file_named_superblock_is_not_a_store_to_replace() {
        let dir = tempfile::tempdir().unwrap();
        let config = DemoConfig {
            dir: dir.path().to_owned(),
            accounts: 20,
            slots: 1,
            seed: 4,
            replace: true,
        };
        std::fs::write(dir.path().join("superblock"), b"not a tandem superblock").unwrap();
        std::fs::write(dir.path().join("precious"), b"keep me").unwrap();
        let before = listing(dir.path());
        assert!(run_demo(&config, &mut |_| {}).is_err());
        assert_eq!(listing(dir.path()), before, "nothing removed");
    }

    #[test]
    fn a_replace_cut_short_after_the_superblock_went_is_completed_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let config = replacing(&dir, 5);
        run_demo(&config, &mut |_| {}).unwrap();
        // What a crash right after the superblock's removal leaves: the marker and the rest.
        std::fs::write(config.dir.join(super::super::create::MARKER_FILE), b"").unwrap();
        std::fs::remove_file(config.dir.join("superblock")).unwrap();
        run_demo(&config, &mut |_| {}).unwrap();
        assert_eq!(Store::open(&config.dir).unwrap().committed_slot(), Some(1));
    }

    #[test]
    fn a_replace_holds_the_creation_marker_as_a_creator_does() {
        // A review: the marker was made and not locked, so a create racing the removal (`run
        // --store` on the directory) could claim it while its names were still being removed.
        // Locked by another here, the replace is refused, nothing removed.
        let dir = tempfile::tempdir().unwrap();
        let config = replacing(&dir, 6);
        run_demo(&config, &mut |_| {}).unwrap();
        let marker = config.dir.join(super::super::create::MARKER_FILE);
        let held = std::fs::File::create(&marker).unwrap();
        // SAFETY: flock on a descriptor this test owns.
        assert_eq!(
            unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&held), libc::LOCK_EX) },
            0
        );
        let before = listing(&config.dir);
        let refused = run_demo(&config, &mut |_| {});
        assert!(
            matches!(refused, Err(StoreError::CreateInProgress(_))),
            "{refused:?}"
        );
        assert_eq!(listing(&config.dir), before, "nothing removed");
    }

    /// A demo of 20 accounts and one slot of seed `seed` into `dir/store`, replacing what
    /// is there.
    fn replacing(dir: &tempfile::TempDir, seed: u64) -> DemoConfig {
        DemoConfig {
            dir: dir.path().join("store"),
            accounts: 20,
            slots: 1,
            seed,
            replace: true,
        }
    }

    /// The names in `dir` with their contents, sorted.
    fn listing(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap_or_default(),
                )
            })
            .collect();
        entries.sort();
        entries
    }

    #[test]
    fn a_store_open_elsewhere_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let config = replacing(&dir, 2);
        run_demo(&config, &mut |_| {}).unwrap();
        let open = Store::open(&config.dir).unwrap();
        assert!(matches!(
            run_demo(&config, &mut |_| {}),
            Err(StoreError::Locked { .. })
        ));
        assert_eq!(open.committed_slot(), Some(1));
        assert!(config.dir.join("superblock").exists(), "left as it was");
    }
}
