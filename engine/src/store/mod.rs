//! The domain-tagged, memory-mapped account store (SPEC §1).
//!
//! # What it owns
//!
//! Every account of the chain, in fixed-size pages of memory-mapped files, and the guarantee that
//! the state on disk is always exactly the state after some committed slot. It never interprets
//! accounts (no fees, no programs, no hashes): that is the runtime's job.
//!
//! One file per job: this one is the store's face (its reads, its views, what it reports);
//! `open.rs` opens a store, completing a commit a crash interrupted and verifying every page;
//! `commit.rs` makes a slot's changes durable, from the plan `plan.rs` builds in memory;
//! `create.rs` makes a new store, crash-atomically; `journal.rs` holds the superblock's and
//! the log's formats, [`layout`] the pages', `region.rs` a region file and its mapping, and
//! `view.rs` what an executor of one domain may read and write ([`DomainView`]).
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
mod commit;
mod create;
pub mod demo;
mod error;
mod journal;
pub mod layout;
mod open;
mod plan;
pub mod protection;
mod region;
mod view;

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

pub use changes::SlotChanges;
pub use commit::{CommitStats, PlannedCommit};
pub use create::CreatePhase;
pub use error::StoreError;
pub use view::{AccountRef, DomainView};

use commit::Unrecorded;
use journal::SuperState;
use layout::{
    PAGE_BODY_LEN, PAGE_HEADER_LEN, PAGE_SIZE, PageKind, RECORD_HEADER_LEN, RecordHeader,
};
use plan::Plan;
use region::Region;

use crate::account::{Account, Domain, MAX_ACCOUNT_DATA_LEN, Mapping, Pubkey};
use crate::sharded::ShardedMap;

const SUPERBLOCK_FILE: &str = "superblock";
const WAL_FILE: &str = "wal";

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

/// What [`Store::check`] found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CheckReport {
    /// The store directory (in JSON its text, a byte that is not UTF-8 as U+FFFD: before stop
    /// 73 such a name failed the whole report).
    #[serde(serialize_with = "lossy_path")]
    pub dir: PathBuf,
    /// The last committed slot (`None` for a store nothing was committed to).
    pub committed_slot: Option<u64>,
    /// The slot whose logged commit was completed while opening, if the last run crashed in it.
    pub recovered_slot: Option<u64>,
    /// Per mapping: accounts, pages in use and pages in the file.
    pub regions: Vec<RegionReport>,
}

/// A path as text for a report: lossy where the name is not UTF-8 (serde's own refuses it).
fn lossy_path<S: serde::Serializer>(path: &Path, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&path.to_string_lossy())
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
    /// each commit ([`INDEX_ROOM_PER_CHANGE`](commit::INDEX_ROOM_PER_CHANGE)).
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
        let recorded = match self.unrecorded {
            Some(_) => self
                .check_still_linked()
                .and_then(|()| self.record_last_commit()),
            None => Ok(()),
        };
        if let Err(e) = recorded {
            log::warn!(
                "{}: the last commit was not recorded at close ({e}); the next open completes it \
                 from the write-ahead log",
                self.dir.display()
            );
        }
    }
}

impl Store {
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
        // Under a domain's confinement too: the other domain's account is copied out while
        // the thread may read its page (the caller reads what is lent after the guard).
        // (Widened only for a page the confinement forbids: any other read gets its rights
        // from the region's bytes, as every read does.)
        let forbidden =
            protection::confined_to().is_some_and(|domain| !location.mapping.readable_by(domain));
        if !forbidden {
            return Some(Store::record_in(map.bytes(), location));
        }
        let _all = protection::reading_all();
        let mut record = Store::record_in(map.bytes(), location);
        record.data = Cow::Owned(record.data.into_owned());
        Some(record)
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

    /// Refuses use after a commit failed past its log (see [`Store::commit`]).
    pub(crate) fn usable(&self) -> Result<(), StoreError> {
        match &self.poisoned {
            Some(reason) => Err(StoreError::Poisoned(reason.clone())),
            None => Ok(()),
        }
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

fn open_file(path: &Path, access: Access) -> Result<File, StoreError> {
    OpenOptions::new()
        .read(true)
        .write(access == Access::Write)
        .open(path)
        .map_err(StoreError::io("open", path))
}

/// How [`Store::open_in`] opens a store's files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// To commit (every open but a check's where writing is refused).
    Write,
    /// To read only, changing nothing.
    Read,
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
        Err(StoreError::Locked {
            dir: dir.to_owned(),
            holder: lock_holder(file),
        })
    }
}

/// Who holds the `flock` on `file`, as Linux's `/proc/locks` lists it: "held by process 4242
/// (tandem store check S)", "held by this process"; `None` where it cannot be told (no
/// `/proc`, a holder in another PID namespace, a file system whose device numbers differ).
fn lock_holder(file: &File) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata().ok()?;
    let id = format!(
        "{:02x}:{:02x}:{}",
        libc::major(meta.dev()),
        libc::minor(meta.dev()),
        meta.ino()
    );
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    // "1: FLOCK  ADVISORY  WRITE 4242 fd:00:1234 0 EOF"; a waiter's line has "->" after the id.
    let pid = locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields[..] {
            [_, "FLOCK", _, _, pid, file_id, ..] if file_id == id => pid.parse::<u32>().ok(),
            _ => None,
        }
    })?;
    if pid == 0 {
        return None;
    }
    if pid == std::process::id() {
        return Some("held by this process".into());
    }
    let command = std::fs::read(format!("/proc/{pid}/cmdline"))
        .ok()
        .map(|bytes| {
            let words: Vec<String> = bytes
                .split(|&b| b == 0)
                .filter(|word| !word.is_empty())
                .map(|word| String::from_utf8_lossy(word).into_owned())
                .collect();
            words.join(" ")
        })
        .filter(|command| !command.is_empty());
    Some(match command {
        Some(command) => format!("held by process {pid} ({command})"),
        None => format!("held by process {pid}"),
    })
}

/// Takes an exclusive `flock` without waiting: `Ok(false)` if another open file holds it. Errors
/// name `path`.
fn try_lock(file: &File, path: &Path) -> Result<bool, StoreError> {
    crate::files::try_lock(file).map_err(StoreError::io("lock", path))
}

#[cfg(test)]
mod tests;
