//! Commits: a slot's changes checked, planned in memory ([`super::plan`]), logged (the
//! commit point) and written into the region files; the step 4 of each commit taken at the
//! start of the next. The module documentation of [`super`] gives the protocol.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use super::changes::Change;
use super::journal::{self, Counts, SuperState, WalWriter};
use super::layout::{PAGE_HEADER_LEN, PageHeader};
use super::plan::Plan;
use super::{SUPERBLOCK_FILE, SlotChanges, Store, StoreError, WAL_FILE};

/// Entries of the account index a commit may move, per account it changed, to make room in
/// the index's tables for the commits to come
/// ([`ShardedMap::make_room`](crate::sharded::ShardedMap::make_room)), and at least
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
pub(super) const INDEX_ROOM_PER_CHANGE: usize = 8;

/// See [`INDEX_ROOM_PER_CHANGE`].
const INDEX_ROOM_FLOOR: usize = 4_096;

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

/// A commit logged and applied whose pages may not be on the disk yet, nor its superblock.
#[derive(Debug)]
pub(super) struct Unrecorded {
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
        self.check_still_linked()?;
        if let Some(last) = self.super_state.committed
            && slot <= last
        {
            return Err(StoreError::SlotNotIncreasing { last, slot });
        }
        self.validate_changes(&changes)?;
        // The commit reads the pages it rewrites, of both domains, on whatever thread calls it.
        let _all = super::protection::reading_all();
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
    pub(super) fn record_last_commit(&mut self) -> Result<(), StoreError> {
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

    /// An error where a file of the store was removed while it is open (its link count 0):
    /// writes to it reach no file an open would find, and commits went on reporting success
    /// for a store no open could find again (`rm superblock` beside `tandem replay --store`,
    /// exit 0; found by black-box testing, 2026-12-07). Six `fstat`s a commit, at its start
    /// (before the step 4 of the commit before), and at the close that takes a last step 4.
    pub(super) fn check_still_linked(&self) -> Result<(), StoreError> {
        let (superblock, wal) = (self.dir.join(SUPERBLOCK_FILE), self.dir.join(WAL_FILE));
        let files = [(&superblock, &self.superblock), (&wal, &self.wal)]
            .into_iter()
            .chain(self.regions.iter().map(|r| (&r.path, &r.file)));
        for (path, file) in files {
            let meta = file.metadata().map_err(StoreError::io("stat", path))?;
            if meta.nlink() == 0 {
                return Err(StoreError::Removed { path: path.clone() });
            }
        }
        Ok(())
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
}
