//! The domain-tagged, memory-mapped account store (SPEC §1).
//!
//! # What it owns
//!
//! Every account of the chain, in fixed-size pages of memory-mapped files, and the guarantee that
//! the state on disk is always exactly the state after some committed slot. It never interprets
//! accounts (no fees, no programs, no hashes): that is the runtime's job.
//!
//! # Pages and VMIDs
//!
//! A store is a directory:
//!
//! ```text
//! superblock          last committed slot, page and account counts (two copies, see journal)
//! wal                 redo log of the commit in flight
//! rx-ued.pages        programs executable in the UED only          (tag 1)
//! rx-ued-ved.pages    programs executable in both domains           (tag 2)
//! rw-ved.pages        non-executable accounts of the VED           (tag 3)
//! rw-ued.pages        non-executable accounts of the UED           (tag 4)
//! creating            only while a create is under way, or after one was interrupted
//! superblock.new      likewise: the new store's superblock before it is renamed into place
//! ```
//!
//! Like a hypervisor that tags each physical page with the VM that owns it, every page carries
//! its mapping tag (the "VMID") in its header, with a checksum; and each mapping tag has a region
//! file of its own, so that the tag of a page is also a property of the address range it lives
//! in. Page format, cell classes and record layout: see [`layout`].
//!
//! Small accounts (record ≤ 4,032 bytes, i.e. data ≤ 3,952 bytes) live in a *cell* of a cell page:
//! a page cut into equal cells of one of 15 size classes (96 … 4,032 bytes, each at most 1.5× the
//! previous), with an occupancy bitmap in the header. Larger accounts (up to 10 MiB) *span* a run
//! of contiguous pages; every page of the span has its own header, VMID and checksum, and the
//! record continues from one page body to the next. An in-memory index maps each pubkey to its
//! location, in many small tables that each commit grows a few at a time ([`ShardedMap`]); it
//! and the free lists are rebuilt by scanning (and verifying) every page at open.
//!
//! # Domain views and what the OS enforces
//!
//! An executor sees the store only through a [`DomainView`] of its domain, which answers reads
//! and stages writes exactly as the table of SPEC §1 allows and returns a typed error otherwise.
//! Beneath the typed checks, the MMU enforces part of the table — what is true today:
//!
//! | region      | mapped            | in the VED view | in the UED view |
//! |-------------|-------------------|-----------------|-----------------|
//! | rx-ued      | read-only         | absent          | read-only       |
//! | rx-ued-ved  | read-only         | read-only       | read-only       |
//! | rw-ved      | read-only         | read-write      | absent          |
//! | rw-ued      | read-only         | absent          | read-write      |
//!
//! (A view's "read-write" is the types': a pass stages its writes in memory and the commit
//! writes them.)
//!
//! - **Every page is mapped `PROT_READ`**, for everyone, so a stray write through a pointer
//!   obtained from a view faults (SIGSEGV) instead of corrupting an account or a program (tests
//!   prove it in child processes). Pages are written only by a commit (and recovery at open),
//!   through the region files (`pwrite`) while the commit holds `&mut Store` — while no view can
//!   exist; the mappings show the new bytes at once (one page cache). Since 2026-12-04: the RW
//!   regions were mapped writable before, and the kernel's writeback of pages mapped writable
//!   cost an inter-processor TLB flush per page on the PUs of every other stage
//!   (`store::region::RegionMap` says more).
//! - **Where the CPU has protection keys** (`pku`; [`protection`]): the pages only one domain
//!   maps (rw-ved; rw-ued and rx-ued) carry that domain's key, and each thread's rights on the
//!   keys decide what it reads. A domain's pass (and the threads of its waves) can read only its
//!   own domain's pages — a stray pointer into the other domain's faults (SIGSEGV; tested in
//!   child processes) — and outside passes every thread reads.
//! - **Elsewhere the two domains' pages are not separated by the MMU for reads.** A pointer into
//!   either region reads from any thread. What keeps the domains apart is the type system: a
//!   view is built from the mappings its domain may read and nothing else, so no reference it
//!   hands out reaches the other domain's RW pages, and every other access is a typed error.
//!   `tandem topology` says which applies.
//!
//! # Atomic slot commits
//!
//! [`Store::commit`] makes all changes of one slot durable together:
//!
//! 1. plan: place every changed account (in place when it keeps its cell class or span length,
//!    else in a newly allocated cell or span), building the final image of every touched page in
//!    memory, headers and checksums included;
//! 2. log: write the changed byte ranges of those pages, and the counts after the commit, to the
//!    `wal` and fsync it — from here on the slot is committed;
//! 3. apply: write the changed pages' images into the region files (`pwrite`, one per run of
//!    consecutive pages; the read-only mappings show them) and start their writeback
//!    (`sync_file_range`), without waiting for it;
//! 4. record: make the pages durable (fdatasync of the regions written) and write the
//!    superblock (slot, counts) and fsync it — at the start of the *next* commit, before its log
//!    takes the place of this one, or when the store is dropped. The pages' writeback so runs
//!    while the next slot executes instead of on the committing thread (a commit of 10,000
//!    accounts, 715 pages, on a VM's ext4 disk: apply 2.9–3.4 ms against 4.1–4.6 ms when it
//!    synced them itself). Until then the superblock names the slot before, and the log this
//!    one: a crash there is a crash in step 3 or 4, below.
//!
//! A region grows (before step 2) with its blocks allocated (`posix_fallocate`) and synced, so a
//! full disk is an I/O error there — the commit fails before its log and the store goes on at
//! the last committed slot, its in-memory plan read back from the pages — never a failure of
//! step 3, after the log, for a hole it cannot fill (through a writable mapping, as the store
//! wrote until 2026-12-04, that was a SIGBUS). A failure after step 2 leaves the slot committed in the log:
//! the store refuses further use until reopened.
//!
//! Open reads the superblock; if the `wal` holds a complete log (both checksums match) of a later
//! slot, a crash hit step 3 or 4, and the log is replayed (writing its ranges again is
//! idempotent). A log that is incomplete was never fsynced, so step 3 never began and the pages
//! still hold the previous slot. Either way the store reopens at exactly the last committed
//! slot. A crash test runs a child process that creates the store, then commits slots, and kills
//! it with SIGKILL many times at points chosen by the progress the child reports (a phase of the
//! create, the start of an open, the n-th commit), so that where the kills land does not depend
//! on the machine's load.
//!
//! # Creating
//!
//! [`Store::create`] is crash-atomic: a kill at any moment leaves either no store (so that
//! creating again succeeds) or a complete empty store, never a half-store that `open` refuses.
//! A creation marker and a superblock renamed into place last make it so; the module `create`
//! has the protocol and why it was chosen over renaming a whole temporary directory. Open of a
//! directory that an interrupted create left says so in its [`StoreError::NotAStore`] and
//! changes nothing; creating again completes the store.
//!
//! # Corruption
//!
//! Nothing is repaired or dropped silently. Open verifies every page's checksum and structure,
//! that every page's VMID is its region's tag, that no page was written by a slot after the
//! committed one, that no file is shorter than the superblock recorded and that every region
//! holds the number of accounts the superblock recorded (so a page zeroed to look free is caught).
//! Every such failure is a [`StoreError`] naming the file and the page.

mod changes;
mod create;
pub mod demo;
mod error;
mod journal;
pub mod layout;
pub mod protection;
mod region;
mod view;

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hashbrown::HashMap;

pub use changes::SlotChanges;
pub use create::CreatePhase;
pub use error::StoreError;
pub use view::{AccountRef, DomainView};

use changes::Change;
use journal::{Counts, SuperState, WalWriter};
use layout::{
    PAGE_BODY_LEN, PAGE_HEADER_LEN, PAGE_SIZE, PageDefect, PageHeader, PageKind, RECORD_HEADER_LEN,
    RecordHeader, cell_class_for, span_pages_for,
};
use region::Region;

use crate::account::{Account, Domain, MAX_ACCOUNT_DATA_LEN, Mapping, Pubkey};
use crate::sharded::ShardedMap;

const SUPERBLOCK_FILE: &str = "superblock";
const WAL_FILE: &str = "wal";

/// Entries of the account index a commit may move, per account it changed, to make room in
/// the index's tables for the commits to come ([`ShardedMap::make_room`]), and at least
/// [`INDEX_ROOM_FLOOR`]. One table of every account grew by doubling inside the commit whose
/// new accounts crossed its limit: at 3.67 million accounts (a 240-slot run of 20,000 transfers
/// a slot, many to new accounts) one commit of the UED moved them all into 400 MB of fresh
/// table (8 M buckets of 48-byte entries), 101,000 page faults in 0.2 s (`perf record -e
/// page-faults`, 2-vCPU Xeon guest, 2026-12-05), and twice that at the next doubling. Split
/// into tables that the commits grow a few at a time, that work comes in parts of at most
/// eight moves per change. Four keep up where every change is a new account: a table is made
/// room in once less than a quarter of its entries' worth is left, so every table (every
/// entry) must be gone round within a quarter of the index's size in inserts; eight is twice
/// that.
const INDEX_ROOM_PER_CHANGE: usize = 8;

/// See [`INDEX_ROOM_PER_CHANGE`].
const INDEX_ROOM_FLOOR: usize = 4_096;

/// File name of the region that holds pages of `mapping`.
pub fn region_file_name(mapping: Mapping) -> String {
    format!("{}.pages", mapping.name())
}

pub(crate) fn region_index(mapping: Mapping) -> usize {
    mapping.tag() as usize - 1
}

/// Where an account's record lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Location {
    pub(crate) mapping: Mapping,
    pub(crate) page: u32,
    pub(crate) place: Place,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    Cell { class: u8, cell: u8 },
    Span { len: u32 },
}

/// What one commit did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// The committed slot.
    pub slot: u64,
    /// Accounts written, removed or moved.
    pub accounts_changed: usize,
    /// Pages whose bytes changed.
    pub pages_written: usize,
    /// Bytes written to the write-ahead log.
    pub wal_bytes: usize,
    /// Time spent placing accounts and sealing page images (no I/O).
    pub plan: Duration,
    /// Time spent writing and fsyncing the log.
    pub log: Duration,
    /// Time spent copying into the mapped pages and starting their writeback.
    pub apply: Duration,
    /// Time spent, before this commit's plan, on the commit before's step 4: its pages made
    /// durable (what their writeback had left) and its superblock written and fsynced.
    pub record: Duration,
}

/// A commit of the store planned in memory and not written yet ([`Store::plan_commit`]). It
/// holds the store until [`PlannedCommit::write`]; dropped unwritten, it leaves the store at
/// the last committed slot.
#[must_use = "a planned commit is written by `write`; dropped, it is abandoned"]
pub struct PlannedCommit<'s> {
    store: &'s mut Store,
    /// `None` once written.
    planned: Option<Planned>,
}

impl PlannedCommit<'_> {
    /// Writes the planned commit: steps 2–3 of [`Store::commit`], which documents what a
    /// failure leaves.
    pub fn write(mut self) -> Result<CommitStats, StoreError> {
        let planned = self
            .planned
            .take()
            .expect("a commit is planned until written");
        let result = self.store.write_planned(planned);
        if let Err(e) = &result {
            self.store.after_failed_commit(e);
        }
        result
    }
}

impl Drop for PlannedCommit<'_> {
    fn drop(&mut self) {
        if self.planned.take().is_some() {
            // Abandoned before its log: what it planned is read back from the pages.
            let abandoned = StoreError::Poisoned("a planned commit was abandoned".into());
            self.store.after_failed_commit(&abandoned);
        }
    }
}

/// What [`Store::plan_writes`] planned: the page images and the log to write.
struct Planned {
    slot: u64,
    accounts_changed: usize,
    plan: Plan,
    wal: WalWriter,
    counts: Counts,
    /// How long the plan took.
    took: Duration,
    /// How long the commit before's step 4 took.
    recorded: Duration,
}

/// What [`Store::check`] found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CheckReport {
    /// The store directory.
    pub dir: PathBuf,
    /// The last committed slot (`None` for a store nothing was committed to).
    pub committed_slot: Option<u64>,
    /// The slot whose logged commit was completed while opening, if the last run crashed in it.
    pub recovered_slot: Option<u64>,
    /// Per mapping: accounts, pages in use and pages in the file.
    pub regions: Vec<RegionReport>,
}

/// One region of a [`CheckReport`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RegionReport {
    /// The mapping the region holds.
    pub mapping: Mapping,
    /// Its file name.
    pub file: String,
    /// Accounts in it.
    pub accounts: u64,
    /// Pages holding records.
    pub pages_used: u64,
    /// Pages of the file, the header page included.
    pub pages_total: u64,
}

/// The account store. See the module documentation for the design.
pub struct Store {
    dir: PathBuf,
    superblock: File,
    super_state: SuperState,
    wal: File,
    regions: [Region; 4],
    /// Each account's place, in many small tables that grow a few at a time, room made at
    /// each commit ([`INDEX_ROOM_PER_CHANGE`]).
    index: ShardedMap<Pubkey, Location>,
    accounts: [u64; 4],
    recovered_slot: Option<u64>,
    poisoned: Option<String>,
    /// Whether the commit under way has written its log (the slot is committed from there).
    logged: bool,
    /// The last commit's step 4, not yet taken: the regions whose pages it applied, and the
    /// superblock that records it ([`Store::record_last_commit`]).
    unrecorded: Option<Unrecorded>,
    /// Tests: the next fsync of the log fails (no file system here fails one on demand).
    #[cfg(test)]
    fail_log_sync: bool,
    /// Buffers reused from one commit to the next.
    plan: Plan,
    wal_buf: Vec<u8>,
}

/// A store closed after a commit takes that commit's step 4 (its pages durable, its superblock
/// written), so that the next open finds the slot recorded, not to be completed from the log.
/// Where that fails the log still holds the slot, and the next open completes it.
impl Drop for Store {
    fn drop(&mut self) {
        if self.poisoned.is_some() {
            return;
        }
        if let Err(e) = self.record_last_commit() {
            log::warn!(
                "{}: the last commit was not recorded at close ({e}); the next open completes it \
                 from the write-ahead log",
                self.dir.display()
            );
        }
    }
}

/// A commit logged and applied whose pages may not be on the disk yet, nor its superblock.
#[derive(Debug)]
struct Unrecorded {
    /// By region index: its pages were written.
    regions: [bool; 4],
    /// The superblock that records the commit.
    state: SuperState,
}

/// Starts the writeback of `file`'s dirty pages without waiting for it (Linux's
/// `sync_file_range(SYNC_FILE_RANGE_WRITE)`), so that the fdatasync that makes them durable later
/// finds them written or under way. A hint: where it fails or does not exist, that fdatasync
/// writes them.
fn start_writeback(file: &File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: sync_file_range reads nothing from memory; the descriptor is `file`'s, open for
        // the call's length. Offset 0 and length 0 mean the whole file.
        unsafe {
            libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

impl Store {
    /// The last slot the store in `dir` has committed — its superblock's, or a later one its
    /// log holds whole (which the next open completes) — read without opening the store: no
    /// lock (an engine may have it open and be committing), no page read. For tools that only
    /// read the files beside the store (`tandem status`).
    pub fn committed_slot_in(dir: impl AsRef<Path>) -> Result<Option<u64>, StoreError> {
        let dir = dir.as_ref();
        let super_path = dir.join(SUPERBLOCK_FILE);
        if !super_path.exists() {
            let reason = create::missing_superblock_reason(dir);
            return Err(StoreError::NotAStore {
                path: dir.to_owned(),
                reason,
            });
        }
        let read_only = |path: &Path| File::open(path).map_err(StoreError::io("open", path));
        let committed = journal::read_superblock(&read_only(&super_path)?, &super_path)?.committed;
        let wal_path = dir.join(WAL_FILE);
        let logged = match wal_path.exists() {
            true => journal::read_wal(&read_only(&wal_path)?, &wal_path)?.map(|image| image.slot),
            false => None,
        };
        Ok(committed.max(logged))
    }

    /// Opens the store in `dir`: completes a commit a crash interrupted, then verifies every page
    /// and rebuilds the index. Only one `Store` may have a directory open at a time.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store, StoreError> {
        let dir = dir.as_ref().to_owned();
        let super_path = dir.join(SUPERBLOCK_FILE);
        if !super_path.exists() {
            let reason = create::missing_superblock_reason(&dir);
            return Err(StoreError::NotAStore { path: dir, reason });
        }
        let superblock = open_file(&super_path)?;
        lock_exclusive(&superblock, &dir)?;
        create::remove_finished_marker(&dir)?;
        let mut super_state = journal::read_superblock(&superblock, &super_path)?;

        let mut files = Vec::with_capacity(4);
        for mapping in Mapping::ALL {
            let path = dir.join(region_file_name(mapping));
            if !path.exists() {
                return Err(StoreError::NotAStore {
                    path: dir.clone(),
                    reason: format!("region file {} is missing", path.display()),
                });
            }
            let file = open_file(&path)?;
            check_region_file(&file, &path, mapping)?;
            files.push((mapping, path, file));
        }

        let wal_path = dir.join(WAL_FILE);
        if !wal_path.exists() {
            return Err(StoreError::NotAStore {
                path: dir.clone(),
                reason: format!("the write-ahead log {} is missing", wal_path.display()),
            });
        }
        let wal = open_file(&wal_path)?;
        let mut recovered_slot = None;
        if let Some(image) = journal::read_wal(&wal, &wal_path)?
            && super_state.committed.is_none_or(|c| image.slot > c)
        {
            replay(&image, &wal_path, &files)?;
            super_state = SuperState {
                seq: super_state.seq + 1,
                committed: Some(image.slot),
                counts: image.counts,
            };
            journal::write_superblock(&superblock, &super_path, super_state)?;
            recovered_slot = Some(image.slot);
        }

        let mut regions = Vec::with_capacity(4);
        for (mapping, path, file) in files {
            let len = file
                .metadata()
                .map_err(StoreError::io("stat", &path))?
                .len();
            let pages = len / PAGE_SIZE as u64;
            let recorded = super_state.counts.pages[region_index(mapping)] as u64;
            if pages < recorded {
                return Err(StoreError::Truncated {
                    path,
                    reason: format!(
                        "{pages} pages, but the last commit recorded {recorded} (pages {pages}..{recorded} are missing)"
                    ),
                });
            }
            if pages > recorded {
                // A commit grows a region's file before it logs (so a log entry never points
                // past its end); one that never completed left pages that belong to no
                // committed slot. They are cut off: open neither scans nor keeps a page table
                // for them (a file grown to 15 TiB aborted open on a 96 GB allocation).
                log::warn!(
                    "{}: {pages} pages, the last commit recorded {recorded}: the {} pages a \
                     commit that never completed grew it by are cut off",
                    path.display(),
                    pages - recorded
                );
                file.set_len(recorded * PAGE_SIZE as u64)
                    .and_then(|()| file.sync_all())
                    .map_err(StoreError::io("truncate", &path))?;
            }
            regions.push(Region::new(mapping, path, file)?);
        }
        let regions: [Region; 4] = regions.try_into().unwrap_or_else(|_| unreachable!());

        let mut store = Store {
            dir,
            superblock,
            super_state,
            wal,
            regions,
            index: ShardedMap::default(),
            accounts: [0; 4],
            recovered_slot,
            poisoned: None,
            logged: false,
            unrecorded: None,
            #[cfg(test)]
            fail_log_sync: false,
            plan: Plan::default(),
            wal_buf: Vec::new(),
        };
        store.scan()?;
        // The scan read every page in order (readahead helps it); from here reads are random.
        for region in &store.regions {
            region.map.read_without_readahead();
        }
        Ok(store)
    }

    /// Opens the store (completing an interrupted commit, as [`Store::open`] does), verifies
    /// every page and reports what it holds. Any problem is the error.
    pub fn check(dir: impl AsRef<Path>) -> Result<CheckReport, StoreError> {
        let store = Store::open(dir)?;
        Ok(store.report())
    }

    /// What the store holds, per mapping.
    pub fn report(&self) -> CheckReport {
        let regions = self
            .regions
            .iter()
            .map(|r| RegionReport {
                mapping: r.mapping,
                file: region_file_name(r.mapping),
                accounts: self.accounts[region_index(r.mapping)],
                pages_used: r
                    .pages
                    .iter()
                    .skip(1)
                    .filter(|k| **k != PageKind::Free)
                    .count() as u64,
                pages_total: r.page_count() as u64,
            })
            .collect();
        CheckReport {
            dir: self.dir.clone(),
            committed_slot: self.committed_slot(),
            recovered_slot: self.recovered_slot,
            regions,
        }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last committed slot, `None` if nothing was ever committed.
    pub fn committed_slot(&self) -> Option<u64> {
        self.super_state.committed
    }

    /// The slot whose interrupted commit `open` completed, if any.
    pub fn recovered_slot(&self) -> Option<u64> {
        self.recovered_slot
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the store holds no account.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Number of accounts of `mapping`.
    pub fn count(&self, mapping: Mapping) -> u64 {
        self.accounts[region_index(mapping)]
    }

    /// The mapping of an existing account.
    pub fn mapping_of(&self, pubkey: &Pubkey) -> Option<Mapping> {
        self.index.get(pubkey).map(|l| l.mapping)
    }

    /// Every account's address and mapping, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = (Pubkey, Mapping)> + '_ {
        self.index.iter().map(|(k, l)| (*k, l.mapping))
    }

    /// The view of `domain`.
    pub fn view(&self, domain: Domain) -> DomainView<'_> {
        DomainView::new(self, domain)
    }

    /// Reads any account regardless of domain: for tools (check, demo, replay inspection) and
    /// tests. Executors read through a [`DomainView`].
    ///
    /// After a commit failed past its log it answers `None` for every account until the store
    /// is reopened (which completes the commit): the index may point at pages the commit never
    /// wrote (reading one panicked, or sliced garbage).
    pub fn inspect(&self, pubkey: &Pubkey) -> Option<AccountRef<'_>> {
        if self.poisoned.is_some() {
            return None;
        }
        let location = *self.index.get(pubkey)?;
        let map = &self.regions[region_index(location.mapping)].map;
        Some(Store::record_in(map.bytes(), location))
    }

    /// Reads the record at `location` from the bytes of its region file.
    pub(crate) fn record_in(region: &[u8], location: Location) -> AccountRef<'_> {
        let page_at = location.page as usize * PAGE_SIZE;
        match location.place {
            Place::Cell { class, cell } => {
                let size = layout::CELL_CLASSES[class as usize] as usize;
                let at = page_at + PAGE_HEADER_LEN + cell as usize * size;
                let header = RecordHeader::decode(&region[at..at + RECORD_HEADER_LEN]);
                let data_at = at + RECORD_HEADER_LEN;
                account_ref(
                    header,
                    Cow::Borrowed(&region[data_at..data_at + header.data_len as usize]),
                )
            }
            Place::Span { len } => {
                let body = |i: u32| {
                    let at = page_at + i as usize * PAGE_SIZE + PAGE_HEADER_LEN;
                    &region[at..at + PAGE_BODY_LEN]
                };
                let header = RecordHeader::decode(body(0));
                let mut data = Vec::with_capacity(header.data_len as usize);
                let mut remaining = header.data_len as usize;
                for i in 0..len {
                    let chunk = if i == 0 {
                        &body(0)[RECORD_HEADER_LEN..]
                    } else {
                        body(i)
                    };
                    let take = remaining.min(chunk.len());
                    data.extend_from_slice(&chunk[..take]);
                    remaining -= take;
                }
                account_ref(header, Cow::Owned(data))
            }
        }
    }

    /// Checks the invariants of SPEC §1 every stored account must keep.
    pub(crate) fn validate_account(account: &Account) -> Result<(), StoreError> {
        let invalid = |reason: String| StoreError::InvalidAccount {
            pubkey: account.pubkey,
            reason,
        };
        if account.data.len() > MAX_ACCOUNT_DATA_LEN {
            return Err(invalid(format!(
                "{} bytes of data, at most {MAX_ACCOUNT_DATA_LEN} are allowed",
                account.data.len()
            )));
        }
        if !account.mapping.admits(account.executable) {
            return Err(invalid(if account.executable {
                format!("a program cannot be mapped {}", account.mapping)
            } else {
                format!(
                    "a non-executable account cannot be mapped {}",
                    account.mapping
                )
            }));
        }
        Ok(())
    }

    /// Makes every change of `slot` durable, atomically. `slot` must be after the last committed
    /// slot. A change that breaks an invariant fails the whole commit before anything is
    /// written. An I/O error before the slot's log is written (growing a region file on a full
    /// disk, say) leaves the store as it was: what the commit had planned in memory is read
    /// back from the pages, and the store goes on at the last committed slot. One after it (the
    /// slot may or may not be committed) makes the store refuse further use, reads through a
    /// view included, until it is reopened, which completes the commit from its log.
    pub fn commit(&mut self, slot: u64, changes: SlotChanges) -> Result<CommitStats, StoreError> {
        self.plan_commit(slot, changes)?.write()
    }

    /// [`Store::commit`] in two steps: this one checks the changes, takes the step 4 of the
    /// commit before, and plans this one in memory — the accounts placed, the touched pages
    /// sealed, the log built — writing nothing of it; [`PlannedCommit::write`] then writes
    /// the log (the commit point) and the pages. In between the caller does what must come
    /// before the commit point (a runtime writes the slot's statuses and state files, whose
    /// hashes it computes meanwhile), while the planned commit holds the store: nothing reads
    /// it in between, where its index already points at pages not yet written. A planned
    /// commit dropped unwritten leaves the store at the last committed slot, as a commit that
    /// failed before its log does.
    pub fn plan_commit(
        &mut self,
        slot: u64,
        changes: SlotChanges,
    ) -> Result<PlannedCommit<'_>, StoreError> {
        self.usable()?;
        if let Some(last) = self.super_state.committed
            && slot <= last
        {
            return Err(StoreError::SlotNotIncreasing { last, slot });
        }
        self.validate_changes(&changes)?;
        // The last commit's pages durable and its superblock written, before this commit's log
        // takes the place of that one's. A failure leaves that slot committed in the log only,
        // its pages' fate unknown (after a failed fdatasync the kernel may have dropped them):
        // no further use until a reopen completes it from the log.
        let recording = Instant::now();
        if let Err(e) = self.record_last_commit() {
            self.poisoned = Some(e.to_string());
            return Err(e);
        }
        let recorded = recording.elapsed();
        self.logged = false;
        match self.plan_writes(slot, changes, recorded) {
            Ok(planned) => Ok(PlannedCommit {
                store: self,
                planned: Some(planned),
            }),
            Err(e) => {
                self.after_failed_commit(&e);
                Err(e)
            }
        }
    }

    /// After a commit failed with `e`: one that had not written its log leaves the store at
    /// the last committed slot (what it had planned in memory read back from the pages); one
    /// that had, or a store that cannot be read back, is refused further use.
    fn after_failed_commit(&mut self, e: &StoreError) {
        let recovered = !self.logged && self.reload().is_ok();
        if !recovered {
            self.poisoned = Some(e.to_string());
        }
    }

    /// Step 4 of the last commit, if it has not been taken: makes the pages it applied durable
    /// (fdatasync of each region it wrote) and writes the superblock that records it.
    fn record_last_commit(&mut self) -> Result<(), StoreError> {
        let Some(last) = self.unrecorded.take() else {
            return Ok(());
        };
        for (region, _) in self.regions.iter().zip(last.regions).filter(|(_, w)| *w) {
            region
                .file
                .sync_data()
                .map_err(StoreError::io("fsync", &region.path))?;
        }
        journal::write_superblock(
            &self.superblock,
            &self.dir.join(SUPERBLOCK_FILE),
            last.state,
        )
    }

    /// Reads the index, the counts and the allocators back from the pages, as `open` does: after
    /// a commit that failed before its log was written, whose plan had changed them in memory
    /// only.
    fn reload(&mut self) -> Result<(), StoreError> {
        self.plan = Plan::default();
        self.index.clear();
        self.accounts = [0; 4];
        for region in &mut self.regions {
            region.pages.fill(PageKind::Free);
        }
        self.scan()
    }

    /// Refuses use after a commit failed past its log (see [`Store::commit`]).
    pub(crate) fn usable(&self) -> Result<(), StoreError> {
        match &self.poisoned {
            Some(reason) => Err(StoreError::Poisoned(reason.clone())),
            None => Ok(()),
        }
    }

    fn validate_changes(&self, changes: &SlotChanges) -> Result<(), StoreError> {
        for (pubkey, change) in &changes.ops {
            match change {
                Change::Put(account) => Store::validate_account(account)?,
                Change::Delete => {}
                Change::Remap(target) => {
                    let invalid = |reason: String| StoreError::InvalidRemap {
                        pubkey: *pubkey,
                        reason,
                    };
                    let current = self
                        .mapping_of(pubkey)
                        .ok_or_else(|| invalid("the account does not exist".into()))?;
                    if current.is_program_mapping() || target.is_program_mapping() {
                        return Err(invalid(format!(
                            "only rw-ved and rw-ued accounts move, not {current} to {target}"
                        )));
                    }
                    if current == *target {
                        return Err(invalid(format!("it is already mapped {target}")));
                    }
                }
            }
        }
        Ok(())
    }

    /// Step 1 of the commit of `slot` — the plan, in memory; `recorded`: how long the commit
    /// before's step 4 took.
    fn plan_writes(
        &mut self,
        slot: u64,
        changes: SlotChanges,
        recorded: Duration,
    ) -> Result<Planned, StoreError> {
        let accounts_changed = changes.len();
        let started = Instant::now();
        let pages_before: [u32; 4] = std::array::from_fn(|r| self.regions[r].page_count());
        let mut plan = std::mem::take(&mut self.plan);
        plan.clear();
        for (pubkey, change) in changes.ops {
            match change {
                Change::Put(account) => self.place(&mut plan, &account)?,
                Change::Delete => {
                    if let Some(old) = self.index.remove(&pubkey) {
                        self.release(&mut plan, old);
                    }
                }
                Change::Remap(target) => {
                    let old = self.index[&pubkey];
                    let mut account = self
                        .inspect(&pubkey)
                        .expect("validated: the account exists")
                        .to_account();
                    account.mapping = target;
                    self.release(&mut plan, old);
                    self.index.remove(&pubkey);
                    self.place(&mut plan, &account)?;
                }
            }
        }
        self.index
            .make_room((accounts_changed * INDEX_ROOM_PER_CHANGE).max(INDEX_ROOM_FLOOR));
        for (region, before) in self.regions.iter().zip(pages_before) {
            if region.page_count() != before {
                log::debug!(
                    "store: slot {slot}: the {} region grew from {before} to {} pages (allocated, synced and mapped again)",
                    region.mapping,
                    region.page_count()
                );
            }
        }

        // Seal every touched page and log its changed ranges.
        for i in 0..plan.keys.len() {
            let (r, page) = plan.keys[i];
            // (Before the log: a commit that fails before its pages are written leaves the
            // mark too high, never too low.)
            self.regions[r].note_written(page);
            let region = &self.regions[r];
            PageHeader {
                vmid: region.mapping.tag(),
                kind: region.pages[page as usize],
                page_no: page as u64,
                slot,
            }
            .encode_and_seal(plan.page_mut(i));
            plan.mark(i, 0, PAGE_HEADER_LEN);
        }
        plan.merge_dirty();
        let mut wal = WalWriter::new(slot, std::mem::take(&mut self.wal_buf), plan.log_len());
        for &(i, offset, len) in &plan.dirty {
            let (r, page) = plan.keys[i as usize];
            let image = plan.page(i as usize);
            wal.push(journal::WalEntry {
                region: self.regions[r].mapping.tag(),
                page,
                offset,
                bytes: &image[offset as usize..offset as usize + len as usize],
            });
        }
        let counts = Counts {
            pages: std::array::from_fn(|i| self.regions[i].page_count()),
            accounts: self.accounts,
        };
        Ok(Planned {
            slot,
            accounts_changed,
            plan,
            wal,
            counts,
            took: started.elapsed(),
            recorded,
        })
    }

    /// Steps 2 and 3 of a planned commit: its log written and synced (the commit point), then
    /// its pages written.
    fn write_planned(&mut self, planned: Planned) -> Result<CommitStats, StoreError> {
        let Planned {
            slot,
            accounts_changed,
            mut plan,
            wal,
            counts,
            took,
            recorded,
        } = planned;
        let planned = Instant::now();
        let wal_path = self.dir.join(WAL_FILE);
        let (wal_bytes, wal_buf) = wal.write(counts, &self.wal, &wal_path)?;
        // Written whole: it may be on the disk whatever the fsync says, and the next open would
        // complete the slot from it, so from here a failure cannot leave the store at the slot
        // before (a failed fsync of a whole log used to, and a reopen then committed a slot the
        // caller had been told failed).
        self.logged = true;
        let synced = self.wal.sync_data();
        #[cfg(test)]
        let synced = match std::mem::take(&mut self.fail_log_sync) {
            true => Err(std::io::Error::other("injected")),
            false => synced,
        };
        synced.map_err(StoreError::io("fsync", &wal_path))?;
        self.wal_buf = wal_buf;
        let logged = Instant::now();

        // Committed. Write the changed pages into each region's file (its read-only mapping
        // shows them at once) and start their writeback; the next commit (or the drop) waits
        // for it, then records the slot.
        let written = plan.write_images(&self.regions)?;
        for (region, _) in self.regions.iter().zip(written).filter(|(_, w)| *w) {
            start_writeback(&region.file);
        }
        let pages_written = plan.keys.len();
        plan.release_memory_if_large();
        self.plan = plan;

        let state = SuperState {
            seq: self.super_state.seq + 1,
            committed: Some(slot),
            counts,
        };
        self.super_state = state;
        self.unrecorded = Some(Unrecorded {
            regions: written,
            state,
        });
        Ok(CommitStats {
            slot,
            accounts_changed,
            pages_written,
            wal_bytes,
            plan: took,
            log: logged - planned,
            apply: logged.elapsed(),
            record: recorded,
        })
    }

    /// Places `account` (in place when it keeps its cell class or span length) and writes its
    /// record into the plan.
    fn place(&mut self, plan: &mut Plan, account: &Account) -> Result<(), StoreError> {
        let record_len = RECORD_HEADER_LEN + account.data.len();
        let wanted = match cell_class_for(record_len) {
            Some(class) => Want::Cell(class),
            None => Want::Span(span_pages_for(record_len) as u32),
        };
        let old = self.index.get(&account.pubkey).copied();
        let reuse = old.filter(|o| {
            o.mapping == account.mapping
                && match (o.place, wanted) {
                    (Place::Cell { class, .. }, Want::Cell(c)) => class as usize == c,
                    (Place::Span { len }, Want::Span(l)) => len == l,
                    _ => false,
                }
        });
        let location = match reuse {
            Some(location) => location,
            None => {
                if let Some(old) = old {
                    self.release(plan, old);
                }
                let r = region_index(account.mapping);
                self.accounts[r] += 1;
                let region = &mut self.regions[r];
                match wanted {
                    Want::Cell(class) => {
                        let (page, cell) = region.alloc_cell(class)?;
                        Location {
                            mapping: account.mapping,
                            page,
                            place: Place::Cell {
                                class: class as u8,
                                cell: cell as u8,
                            },
                        }
                    }
                    Want::Span(len) => Location {
                        mapping: account.mapping,
                        page: region.alloc_span(len)?,
                        place: Place::Span { len },
                    },
                }
            }
        };
        if reuse.is_none() {
            self.index.insert(account.pubkey, location);
        }

        let header = RecordHeader {
            pubkey: account.pubkey,
            owner: account.owner,
            lamports: account.lamports,
            data_len: account.data.len() as u32,
            executable: u8::from(account.executable),
            mapping: account.mapping.tag(),
        };
        let r = region_index(account.mapping);
        match location.place {
            Place::Cell { class, cell } => {
                let i = plan.touch(&self.regions[r], r, location.page);
                let at =
                    PAGE_HEADER_LEN + cell as usize * layout::CELL_CLASSES[class as usize] as usize;
                let image = plan.page_mut(i);
                header.encode(&mut image[at..at + RECORD_HEADER_LEN]);
                image[at + RECORD_HEADER_LEN..at + record_len].copy_from_slice(&account.data);
                plan.mark(i, at, record_len);
            }
            Place::Span { len } => {
                let mut rest: &[u8] = &account.data;
                for p in 0..len {
                    let i = plan.touch(&self.regions[r], r, location.page + p);
                    let body = &mut plan.page_mut(i)[PAGE_HEADER_LEN..];
                    let start = if p == 0 {
                        header.encode(&mut body[..RECORD_HEADER_LEN]);
                        RECORD_HEADER_LEN
                    } else {
                        0
                    };
                    let take = rest.len().min(PAGE_BODY_LEN - start);
                    body[start..start + take].copy_from_slice(&rest[..take]);
                    body[start + take..].fill(0);
                    rest = &rest[take..];
                    plan.mark(i, PAGE_HEADER_LEN, PAGE_BODY_LEN);
                }
            }
        }
        Ok(())
    }

    /// Frees the cell or span at `old`; the touched pages get new headers.
    fn release(&mut self, plan: &mut Plan, old: Location) {
        let r = region_index(old.mapping);
        self.accounts[r] -= 1;
        match old.place {
            Place::Cell { cell, .. } => {
                plan.touch(&self.regions[r], r, old.page);
                self.regions[r].free_cell(old.page, cell as u32);
            }
            Place::Span { len } => {
                for i in 0..len {
                    plan.touch(&self.regions[r], r, old.page + i);
                }
                self.regions[r].free_span(old.page, len);
            }
        }
    }

    /// Verifies every page of every region and rebuilds the index and the free lists.
    fn scan(&mut self) -> Result<(), StoreError> {
        let committed = self.super_state.committed;
        for r in 0..4 {
            let region = &self.regions[r];
            let corrupt = |page: u32, reason: String| StoreError::CorruptPage {
                path: region.path.clone(),
                page: page as u64,
                reason,
            };
            // No page, a span's continuation pages included, was written by a later slot.
            let written_by_a_committed_slot = |page: u32, slot: u64| {
                if committed.is_none_or(|c| slot > c) {
                    return Err(corrupt(
                        page,
                        format!(
                            "written by slot {slot}, after the last committed slot ({})",
                            committed.map_or("none".into(), |c| c.to_string())
                        ),
                    ));
                }
                Ok(())
            };
            let mut kinds = Vec::new();
            let mut found = Vec::new();
            // The pages after the last one that is not all zeros (a freed page has a blank
            // header but keeps its old cells: its body is looked at too).
            let mut zeros_from = 1u32;
            let mut page = 1u32;
            while page < region.page_count() {
                let bytes = region.page(page);
                if bytes.iter().any(|&b| b != 0) {
                    zeros_from = page + 1;
                }
                let header = PageHeader::decode(bytes)
                    .map_err(|defect| page_error(&region.path, page, defect))?;
                if header.kind == PageKind::Free {
                    page += 1;
                    continue;
                }
                if header.vmid != region.mapping.tag() {
                    return Err(corrupt(
                        page,
                        format!(
                            "page tagged {} in the {} region",
                            Mapping::from_tag(header.vmid).map_or("?", |m| m.name()),
                            region.mapping
                        ),
                    ));
                }
                if header.page_no != page as u64 {
                    return Err(corrupt(
                        page,
                        format!("header names page {}: a misplaced page", header.page_no),
                    ));
                }
                written_by_a_committed_slot(page, header.slot)?;
                match header.kind {
                    PageKind::Free => unreachable!("handled above"),
                    PageKind::Cells { class, bitmap } => {
                        let size = layout::CELL_CLASSES[class] as usize;
                        for cell in (0..64).filter(|c| bitmap & (1u64 << c) != 0) {
                            let at = PAGE_HEADER_LEN + cell * size;
                            let record = RecordHeader::decode(&bytes[at..]);
                            check_record(&record, region.mapping, size)
                                .map_err(|e| corrupt(page, format!("cell {cell}: {e}")))?;
                            found.push((
                                record.pubkey,
                                Location {
                                    mapping: region.mapping,
                                    page,
                                    place: Place::Cell {
                                        class: class as u8,
                                        cell: cell as u8,
                                    },
                                },
                            ));
                        }
                        kinds.push((page, header.kind));
                        page += 1;
                    }
                    PageKind::Span { len, index } => {
                        if index != 0 {
                            return Err(corrupt(
                                page,
                                format!("page {index} of a span without its head page"),
                            ));
                        }
                        let record = RecordHeader::decode(&bytes[PAGE_HEADER_LEN..]);
                        check_record(&record, region.mapping, usize::MAX)
                            .map_err(|e| corrupt(page, e))?;
                        if span_pages_for(record.record_len()) as u32 != len
                            || record.record_len() <= PAGE_BODY_LEN
                        {
                            return Err(corrupt(
                                page,
                                format!(
                                    "a record of {} bytes in a span of {len} pages",
                                    record.record_len()
                                ),
                            ));
                        }
                        if page as u64 + len as u64 > region.page_count() as u64 {
                            return Err(StoreError::Truncated {
                                path: region.path.clone(),
                                reason: format!(
                                    "the span at page {page} needs {len} pages, the file ends at page {}",
                                    region.page_count()
                                ),
                            });
                        }
                        kinds.push((page, header.kind));
                        for i in 1..len {
                            let p = page + i;
                            let next = PageHeader::decode(region.page(p))
                                .map_err(|defect| page_error(&region.path, p, defect))?;
                            if next.vmid != region.mapping.tag()
                                || next.page_no != p as u64
                                || next.kind != (PageKind::Span { len, index: i })
                            {
                                return Err(corrupt(
                                    p,
                                    format!(
                                        "expected page {i} of the span at page {page}, found {next:?}"
                                    ),
                                ));
                            }
                            written_by_a_committed_slot(p, next.slot)?;
                            kinds.push((p, next.kind));
                        }
                        found.push((
                            record.pubkey,
                            Location {
                                mapping: region.mapping,
                                page,
                                place: Place::Span { len },
                            },
                        ));
                        page += len;
                        zeros_from = page;
                    }
                }
            }
            let recorded = self.super_state.counts.accounts[r];
            if found.len() as u64 != recorded {
                return Err(StoreError::CorruptFile {
                    path: region.path.clone(),
                    reason: format!(
                        "the last commit recorded {recorded} accounts in this region, its pages hold {} (a page was lost or zeroed)",
                        found.len()
                    ),
                });
            }
            let region = &mut self.regions[r];
            for (page, kind) in kinds {
                region.set_scanned(page, kind);
            }
            region.zeros_from = zeros_from;
            region.rebuild_free_lists();
            self.accounts[r] = found.len() as u64;
            for (pubkey, location) in found {
                if let Some(other) = self.index.insert(pubkey, location) {
                    return Err(StoreError::CorruptPage {
                        path: region.path.clone(),
                        page: location.page as u64,
                        reason: format!(
                            "account {pubkey} is stored twice (also in {} page {})",
                            region_file_name(other.mapping),
                            other.page
                        ),
                    });
                }
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("committed_slot", &self.committed_slot())
            .field("accounts", &self.accounts)
            .finish()
    }
}

#[derive(Clone, Copy)]
enum Want {
    Cell(usize),
    Span(u32),
}

/// The final images of the pages one commit touches. The store keeps its buffers and the next
/// commit reuses them, so a commit does not fault in fresh memory for every page it writes.
#[derive(Default)]
struct Plan {
    /// `(region, page)` → index of its image.
    index: HashMap<(usize, u32), usize>,
    /// `(region, page)` of each image.
    keys: Vec<(usize, u32)>,
    /// The images, `PAGE_SIZE` bytes each, in the order of `keys`.
    arena: Vec<u8>,
    /// `(image, offset, len)` of every byte range this commit changes.
    dirty: Vec<(u32, u16, u16)>,
    /// The last page touched: consecutive accounts usually share a page.
    last: Option<((usize, u32), usize)>,
    /// The images of a run of consecutive pages, gathered for one write.
    run: Vec<u8>,
}

/// Buffers larger than this are freed after a commit rather than kept for the next.
const PLAN_RETAIN_BYTES: usize = 64 << 20;

/// The most pages [`Plan::write_images`] gathers into one write (which goes to the kernel in
/// pieces of [`crate::files::WRITE_PIECE`]: [`region::write_pages`]).
const RUN_PAGES: usize = 256;

impl Plan {
    fn clear(&mut self) {
        self.index.clear();
        self.keys.clear();
        self.arena.clear();
        self.dirty.clear();
        self.last = None;
        self.run.clear();
    }

    /// The index of the image of `page`, which starts as the committed page: a copy of it, or
    /// zeros where the region knows it is zeros ([`Region::zeros_from`]).
    fn touch(&mut self, region: &Region, r: usize, page: u32) -> usize {
        if let Some((key, i)) = self.last
            && key == (r, page)
        {
            return i;
        }
        let i = *self.index.entry((r, page)).or_insert_with(|| {
            self.keys.push((r, page));
            if page >= region.zeros_from {
                // Known zeros on the disk: not read through the mapping (see `zeros_from`).
                self.arena.resize(self.arena.len() + PAGE_SIZE, 0);
            } else {
                self.arena.extend_from_slice(region.page(page));
            }
            self.keys.len() - 1
        });
        self.last = Some(((r, page), i));
        i
    }

    fn page(&self, i: usize) -> &[u8] {
        &self.arena[i * PAGE_SIZE..(i + 1) * PAGE_SIZE]
    }

    fn page_mut(&mut self, i: usize) -> &mut [u8] {
        &mut self.arena[i * PAGE_SIZE..(i + 1) * PAGE_SIZE]
    }

    /// Records that bytes `offset..offset + len` of image `i` changed.
    fn mark(&mut self, i: usize, offset: usize, len: usize) {
        self.dirty.push((i as u32, offset as u16, len as u16));
    }

    /// Sorts the changed ranges by region, page and offset, and merges those that overlap or
    /// touch.
    fn merge_dirty(&mut self) {
        let keys = &self.keys;
        self.dirty
            .sort_unstable_by_key(|&(i, offset, _)| (keys[i as usize], offset));
        let mut merged = 0;
        for k in 0..self.dirty.len() {
            let (i, offset, len) = self.dirty[k];
            if merged > 0 {
                let (pi, po, pl) = self.dirty[merged - 1];
                if pi == i && po as u32 + pl as u32 >= offset as u32 {
                    let end = (offset as u32 + len as u32).max(po as u32 + pl as u32);
                    self.dirty[merged - 1].2 = (end - po as u32) as u16;
                    continue;
                }
            }
            self.dirty[merged] = (i, offset, len);
            merged += 1;
        }
        self.dirty.truncate(merged);
    }

    /// Writes the whole image of every page with a changed range (after [`Plan::merge_dirty`])
    /// into its region's file: one `pwrite` per run of consecutive pages of a region, up to
    /// [`RUN_PAGES`]. Whole pages rather than the ranges: an image is the page's final content
    /// (it started as a copy of the committed page), the page cache writes back whole pages
    /// anyway, and a commit of 10,000 accounts changes ~10,000 ranges on ~700 pages — a system
    /// call per range cost more than the commit's copy. Gives the regions written, by index.
    fn write_images(&mut self, regions: &[Region]) -> Result<[bool; 4], StoreError> {
        let mut written = [false; 4];
        let mut run = std::mem::take(&mut self.run);
        run.clear();
        // The run gathered in `run`: its region and first page.
        let mut start: Option<(usize, u32)> = None;
        let flush = |(r, page): (usize, u32), run: &[u8]| {
            let region = &regions[r];
            let at = u64::from(page) * PAGE_SIZE as u64;
            region::write_pages(&region.file, &region.path, at, run)
        };
        let mut previous = None;
        for &(i, _, _) in &self.dirty {
            // The ranges are sorted by region, page and offset: a page's come together.
            if previous.replace(i) == Some(i) {
                continue;
            }
            let (r, page) = self.keys[i as usize];
            if let Some((run_r, first)) = start {
                let pages = run.len() / PAGE_SIZE;
                if run_r != r || first + pages as u32 != page || pages == RUN_PAGES {
                    flush((run_r, first), &run)?;
                    run.clear();
                    start = None;
                }
            }
            start.get_or_insert((r, page));
            run.extend_from_slice(self.page(i as usize));
            written[r] = true;
        }
        if let Some(first) = start {
            flush(first, &run)?;
        }
        run.clear();
        self.run = run;
        Ok(written)
    }

    /// Bytes of log the merged ranges take.
    fn log_len(&self) -> usize {
        self.dirty
            .iter()
            .map(|&(_, _, len)| journal::WAL_ENTRY_HEADER_LEN + len as usize)
            .sum()
    }

    fn release_memory_if_large(&mut self) {
        if self.arena.capacity() > PLAN_RETAIN_BYTES {
            *self = Plan::default();
        }
    }
}

/// The error for a page that failed to decode.
fn page_error(path: &Path, page: u32, defect: PageDefect) -> StoreError {
    let (path, page) = (path.to_owned(), page as u64);
    match defect {
        PageDefect::Checksum { stored, computed } => StoreError::ChecksumMismatch {
            path,
            page,
            stored,
            computed,
        },
        PageDefect::InvalidTag(tag) => StoreError::InvalidMappingTag { path, page, tag },
        PageDefect::Header(reason) => StoreError::CorruptPage { path, page, reason },
    }
}

fn account_ref(header: RecordHeader, data: Cow<'_, [u8]>) -> AccountRef<'_> {
    AccountRef {
        pubkey: header.pubkey,
        lamports: header.lamports,
        owner: header.owner,
        executable: header.executable == 1,
        mapping: Mapping::from_tag(header.mapping).expect("checked at scan"),
        data,
    }
}

/// Checks a record found by the scan; `room` is the cell size (or `usize::MAX` for a span).
fn check_record(record: &RecordHeader, region: Mapping, room: usize) -> Result<(), String> {
    let mapping = Mapping::from_tag(record.mapping)
        .map_err(|e| format!("record of {}: {e}", record.pubkey))?;
    if mapping != region {
        return Err(format!(
            "record of {} says {mapping} in the {region} region",
            record.pubkey
        ));
    }
    if record.executable > 1 {
        return Err(format!(
            "record of {} has executable byte {}",
            record.pubkey, record.executable
        ));
    }
    if !mapping.admits(record.executable == 1) {
        return Err(format!(
            "record of {} is {} but mapped {mapping}",
            record.pubkey,
            if record.executable == 1 {
                "a program"
            } else {
                "not a program"
            }
        ));
    }
    if record.data_len as usize > MAX_ACCOUNT_DATA_LEN {
        return Err(format!(
            "record of {} claims {} bytes of data, more than {MAX_ACCOUNT_DATA_LEN}",
            record.pubkey, record.data_len
        ));
    }
    if record.record_len() > room {
        return Err(format!(
            "record of {} ({} bytes) overflows its {room}-byte cell",
            record.pubkey,
            record.record_len()
        ));
    }
    Ok(())
}

/// Replays a complete write-ahead log into the region files. Every entry is checked before any is
/// written, so a log that is complete but malformed changes nothing.
fn replay(
    image: &journal::WalImage,
    wal_path: &Path,
    files: &[(Mapping, PathBuf, File)],
) -> Result<(), StoreError> {
    let entries = image.entries()?;
    let mut targets = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let mapping = Mapping::from_tag(entry.region).map_err(|e| StoreError::CorruptFile {
            path: wal_path.to_owned(),
            reason: format!("entry {i} is for a region with {e}"),
        })?;
        if entry.page == 0 {
            return Err(StoreError::CorruptFile {
                path: wal_path.to_owned(),
                reason: format!("entry {i} writes the region header page"),
            });
        }
        // A page past those the log says the region has after the commit: the log lies, and
        // growing the file to it could make the store unopenable.
        let pages = image.counts.pages[region_index(mapping)];
        if entry.page >= pages {
            return Err(StoreError::CorruptFile {
                path: wal_path.to_owned(),
                reason: format!(
                    "entry {i} writes page {} of {mapping}, which has {pages} pages after the commit",
                    entry.page
                ),
            });
        }
        targets.push(region_index(mapping));
    }
    // A commit grows its region files (and syncs them) before it writes its log: a file shorter
    // than the log's page count was damaged since. Refused before anything is written.
    for (mapping, path, file) in files {
        let len = file.metadata().map_err(StoreError::io("stat", path))?.len();
        let recorded = image.counts.pages[region_index(*mapping)];
        if len < recorded as u64 * PAGE_SIZE as u64 {
            return Err(StoreError::Truncated {
                path: path.clone(),
                reason: format!(
                    "{} pages, but the log of slot {} records {recorded}",
                    len / PAGE_SIZE as u64,
                    image.slot
                ),
            });
        }
    }
    let mut written = [false; 4];
    for (entry, &r) in entries.iter().zip(&targets) {
        let (_, path, file) = &files[r];
        let at = u64::from(entry.page) * PAGE_SIZE as u64 + u64::from(entry.offset);
        region::write_pages(file, path, at, entry.bytes)?;
        written[r] = true;
    }
    for ((_, path, file), _) in files.iter().zip(written).filter(|(_, w)| *w) {
        file.sync_all().map_err(StoreError::io("fsync", path))?;
    }
    Ok(())
}

fn check_region_file(file: &File, path: &Path, mapping: Mapping) -> Result<(), StoreError> {
    let len = file.metadata().map_err(StoreError::io("stat", path))?.len();
    if len < PAGE_SIZE as u64 || len % PAGE_SIZE as u64 != 0 {
        return Err(StoreError::Truncated {
            path: path.to_owned(),
            reason: format!(
                "{len} bytes is not a whole number of {PAGE_SIZE}-byte pages (page {} is cut short)",
                len / PAGE_SIZE as u64
            ),
        });
    }
    let mut page0 = vec![0u8; PAGE_SIZE];
    std::os::unix::fs::FileExt::read_exact_at(file, &mut page0, 0)
        .map_err(StoreError::io("read", path))?;
    layout::decode_region_header(&page0, mapping).map_err(|reason| StoreError::CorruptPage {
        path: path.to_owned(),
        page: 0,
        reason,
    })
}

fn open_file(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(StoreError::io("open", path))
}

fn create_file(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(StoreError::io("create", path))
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io("fsync", dir))
}

fn lock_exclusive(file: &File, dir: &Path) -> Result<(), StoreError> {
    if try_lock(file, dir)? {
        Ok(())
    } else {
        Err(StoreError::Locked(dir.to_owned()))
    }
}

/// Takes an exclusive `flock` without waiting: `Ok(false)` if another open file holds it. Errors
/// name `path`.
fn try_lock(file: &File, path: &Path) -> Result<bool, StoreError> {
    // SAFETY: flock on a file descriptor we own; no memory is passed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(StoreError::io("lock", path)(err))
    }
}

#[cfg(test)]
mod tests {
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
    #[cfg(target_os = "linux")]
    #[test]
    fn a_commit_reads_no_page_the_region_knows_is_zeros() {
        use crate::test_support::faults_of_this_thread;
        let dir = tempfile::tempdir().unwrap();
        drop(Store::create(dir.path()).unwrap());
        let mut store = Store::open(dir.path()).unwrap();
        let r = region_index(Mapping::RwUed);
        let first = store.regions[r].zeros_from;
        assert_eq!(
            first,
            store.regions[r].page_count(),
            "a new store's region holds no page but its header"
        );
        let pages = 256u32;
        store.regions[r].ensure_pages(first + pages).unwrap();
        // The plan's own memory faulted in beforehand, as a store's reused plan has it.
        let mut plan = Plan::default();
        for page in 0..pages {
            plan.keys.push((r, page));
            plan.index.insert((usize::MAX, page), 0);
        }
        plan.arena.resize(pages as usize * PAGE_SIZE, 1);
        plan.clear();

        let before = faults_of_this_thread();
        for page in first..first + pages {
            let i = plan.touch(&store.regions[r], r, page);
            assert!(plan.page(i).iter().all(|&b| b == 0));
        }
        let faults = faults_of_this_thread() - before;
        assert!(
            faults < 8,
            "{faults} page faults touching {pages} pages known to be zeros"
        );
    }

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
}
