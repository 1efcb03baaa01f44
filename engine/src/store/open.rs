//! Opening a store: the superblock read, an interrupted commit completed from its log
//! ([`replay`]), every page verified and the index and free lists rebuilt ([`Store::scan`]).

use std::fs::File;
use std::path::{Path, PathBuf};

use super::journal::SuperState;
use super::layout::{
    self, PAGE_BODY_LEN, PAGE_HEADER_LEN, PAGE_SIZE, PageDefect, PageHeader, PageKind,
    RecordHeader, span_pages_for,
};
use super::plan::Plan;
use super::region::{self, Region};
use super::{
    Access, CheckReport, Location, Place, SUPERBLOCK_FILE, Store, StoreError, WAL_FILE, create,
    journal, lock_exclusive, open_file, region_file_name, region_index,
};
use crate::account::{MAX_ACCOUNT_DATA_LEN, Mapping};
use crate::sharded::ShardedMap;

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
        // The log first: a commit writes the superblock of the slot before (its step 4) and
        // then its own log, so a log read half written is of a commit whose slot before the
        // superblock read after it names. Read the other way round, an engine committing in
        // between gave the slot before that (its superblock read before its step 4, its log
        // read torn): one whose runtime state the engine had already pruned.
        let wal_path = dir.join(WAL_FILE);
        let logged = match wal_path.exists() {
            true => journal::read_wal(&read_only(&wal_path)?, &wal_path)?.map(|image| image.slot),
            false => None,
        };
        let committed = journal::read_superblock(&read_only(&super_path)?, &super_path)?.committed;
        Ok(committed.max(logged))
    }

    /// Opens the store in `dir`: completes a commit a crash interrupted, then verifies every page
    /// and rebuilds the index. Only one `Store` may have a directory open at a time.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store, StoreError> {
        Store::open_in(dir.as_ref(), Access::Write)
    }

    /// [`Store::open`] with `access`: where it is [`Access::Read`], no file is opened for
    /// writing nor changed — no creation marker removed, no page cut — and a commit the log
    /// must complete is an error ([`StoreError::ReadOnlyRecovery`]); such a store takes no
    /// commit.
    pub(super) fn open_in(dir: &Path, access: Access) -> Result<Store, StoreError> {
        let dir = dir.to_owned();
        let super_path = dir.join(SUPERBLOCK_FILE);
        if !super_path.exists() {
            let reason = create::missing_superblock_reason(&dir);
            return Err(StoreError::NotAStore { path: dir, reason });
        }
        let open_file = |path: &Path| open_file(path, access);
        let superblock = open_file(&super_path)?;
        lock_exclusive(&superblock, &dir)?;
        if access == Access::Write {
            create::remove_finished_marker(&dir)?;
        }
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
            if access == Access::Read {
                return Err(StoreError::ReadOnlyRecovery {
                    path: dir,
                    slot: image.slot,
                });
            }
            replay(&image, &wal_path, &files, &super_state.counts)?;
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
            if recorded == 0 {
                // (No region is without its header page: a superblock or log saying so was
                // written by no commit.)
                return Err(StoreError::CorruptFile {
                    path: super_path.clone(),
                    reason: format!(
                        "it records no page for {} (a region has its header page at least)",
                        path.display()
                    ),
                });
            }
            if pages < recorded {
                return Err(StoreError::Truncated {
                    path,
                    reason: format!(
                        "{pages} pages, but the last commit recorded {recorded} (pages {pages}..{recorded} are missing)"
                    ),
                });
            }
            // Pages past the recorded ones (a commit that never completed grew the file by
            // them) are neither scanned nor given a page table here; they are cut off once the
            // scan has accepted the rest — where it refuses the store, no page is cut. (What a
            // refused writable open may have changed is the recovery above: a finished create's
            // marker removed, and the commit its log holds whole completed, which replays the
            // same bytes however often it runs.)
            regions.push(Region::new(mapping, path, file, recorded as u32)?);
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
        if access == Access::Write {
            for region in &mut store.regions {
                region.cut_unrecorded_pages()?;
            }
        }
        // From here the mappings are read at random (the scan read the files in order).
        for region in &store.regions {
            region.map.read_without_readahead();
        }
        Ok(store)
    }

    /// Opens the store (completing an interrupted commit, as [`Store::open`] does), verifies
    /// every page and reports what it holds. Any problem is the error.
    /// Where the store's files cannot be opened for writing (a read-only file system, no write
    /// permission) it is checked as they are, changing nothing — refused where its last commit
    /// is to be completed from the log (it could not be opened for writing at all before: an
    /// operator asking whether a store on a disk gone read-only is whole got an I/O error).
    pub fn check(dir: impl AsRef<Path>) -> Result<CheckReport, StoreError> {
        Ok(Store::open_to_check(dir.as_ref())?.report())
    }

    /// The store opened as [`Store::check`] opens it, and held (its lock keeps an engine from
    /// committing while the caller reads the files beside it).
    ///
    /// It falls back to a read-only open where a file cannot be opened for writing or a
    /// finished create's marker cannot be removed (a directory the user may not write, or an
    /// immutable one): an operator asking whether the store is whole gets the answer, not the
    /// permission error (before 2026-12-07, a marker it could not remove was that error).
    pub fn open_to_check(dir: &Path) -> Result<Store, StoreError> {
        match Store::open(dir) {
            Err(StoreError::Io { op, source, .. })
                if matches!(op, "open" | "remove")
                    && matches!(
                        source.raw_os_error(),
                        Some(libc::EROFS | libc::EACCES | libc::EPERM)
                    ) =>
            {
                Store::open_in(dir, Access::Read)
            }
            opened => opened,
        }
    }

    /// Reads the index, the counts and the allocators back from the pages, as `open` does: after
    /// a commit that failed before its log was written, whose plan had changed them in memory
    /// only.
    pub(super) fn reload(&mut self) -> Result<(), StoreError> {
        self.plan = Plan::default();
        self.index.clear();
        self.accounts = [0; 4];
        for region in &mut self.regions {
            region.pages.fill(PageKind::Free);
        }
        self.scan()
    }

    /// Verifies every page of every region and rebuilds the index and the free lists.
    pub(super) fn scan(&mut self) -> Result<(), StoreError> {
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
            let mut reader = PageReader::new(region);
            let mut kinds = Vec::new();
            let mut found = Vec::new();
            // The pages after the last one that is not all zeros (a freed page has a blank
            // header but keeps its old cells: its body is looked at too).
            let mut zeros_from = 1u32;
            let mut page = 1u32;
            while page < region.page_count() {
                let bytes = reader.page(page)?;
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
                            let next = PageHeader::decode(reader.page(p)?)
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

/// Reads a region's pages for the scan through its file (`pread`, a chunk of
/// [`PageReader::CHUNK_PAGES`] at a time), not through its mapping: a medium error, or a file
/// another process cut short under the open store, is then an error naming the file and the
/// page, where a read through the mapping is a SIGBUS that kills the process. (The runtime's
/// reads of accounts stay mapped.)
struct PageReader<'a> {
    region: &'a Region,
    /// The pages read last, from page `first` on.
    chunk: Vec<u8>,
    first: u32,
}

impl<'a> PageReader<'a> {
    /// Pages read at once: 1 MiB, in the order the scan reads them.
    const CHUNK_PAGES: u32 = 256;

    fn new(region: &'a Region) -> PageReader<'a> {
        PageReader {
            region,
            chunk: Vec::new(),
            first: 0,
        }
    }

    /// The bytes of page `page` (below the region's page count).
    fn page(&mut self, page: u32) -> Result<&[u8], StoreError> {
        use std::os::unix::fs::FileExt;
        let held = (self.chunk.len() / PAGE_SIZE) as u32;
        if !(self.first..self.first + held).contains(&page) {
            let pages = Self::CHUNK_PAGES.min(self.region.page_count() - page);
            self.chunk.resize(pages as usize * PAGE_SIZE, 0);
            let at = page as u64 * PAGE_SIZE as u64;
            if let Err(e) = self.region.file.read_exact_at(&mut self.chunk, at) {
                self.chunk.clear();
                let path = self.region.path.clone();
                return Err(match e.kind() {
                    std::io::ErrorKind::UnexpectedEof => {
                        let len = self.region.file.metadata().map_or(0, |m| m.len());
                        StoreError::Truncated {
                            path,
                            reason: format!(
                                "{} pages, but the store holds {} (the file was cut short \
                                 while open)",
                                len / PAGE_SIZE as u64,
                                self.region.page_count()
                            ),
                        }
                    }
                    _ => StoreError::Io {
                        op: "read",
                        path,
                        source: std::io::Error::new(
                            e.kind(),
                            format!("pages {page}..{}: {e}", page + pages),
                        ),
                    },
                });
            }
            self.first = page;
        }
        let at = (page - self.first) as usize * PAGE_SIZE;
        Ok(&self.chunk[at..at + PAGE_SIZE])
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
    committed: &journal::Counts,
) -> Result<(), StoreError> {
    // A region never shrinks: a log whose count of a region's pages is below the last
    // commit's lies, and taken up, open cut that region's file to it — its accounts gone,
    // and the store then opened without a word where the log also lowered the accounts.
    for (r, (&after, &before)) in image.counts.pages.iter().zip(&committed.pages).enumerate() {
        if after < before {
            return Err(StoreError::CorruptFile {
                path: wal_path.to_owned(),
                reason: format!(
                    "the log of slot {} gives {} {after} pages, fewer than the {before} of the \
                     last commit (a region never shrinks)",
                    image.slot,
                    Mapping::from_tag(r as u8 + 1)
                        .map_or_else(|_| format!("region {r}"), |m| m.to_string()),
                ),
            });
        }
    }
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
