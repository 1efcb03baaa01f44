//! A region: the file holding every page of one mapping tag, its memory mapping, and the
//! in-memory allocator of its pages and cells (rebuilt from the page headers at open).

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::{Mmap, MmapOptions};

use super::error::StoreError;
use super::layout::{CELL_CLASSES, PAGE_SIZE, PageKind, cells_per_page};
use super::protection;
use crate::account::Mapping;

/// A region file mapped into memory: `PROT_READ`, `MAP_SHARED`, every region alike.
///
/// No page is ever written through a mapping: the commit and recovery write a region's pages
/// through its file ([`write_pages`]), and the page cache they write is the one mapped, so
/// readers see the new bytes at once. A write into a store page through any pointer — a view's,
/// a stray one — faults in the MMU instead of corrupting it, on every machine. Where protection
/// keys apply, the pages only one domain maps carry that domain's key besides, and a thread's
/// rights on the keys decide which domain's pages it may read ([`protection`]); elsewhere only
/// the types keep a view from reaching the other domain's pages.
///
/// Why not write through a writable mapping (as the store did until 2026-12-04): the kernel's
/// writeback of a page mapped writable write-protects it again (`page_mkclean`), which flushes
/// that page from the TLB of every PU running a thread of the process — an inter-processor
/// interrupt per page written back, landing on the PUs of the stages that share nothing with
/// the commit (on this 2-vCPU VM, ~28,000 in one `tandem bench pipeline`, nearly all on the
/// sigverify PU) — and the next write into it faults (`page_mkwrite`, an ext4 journal handle).
pub(crate) struct RegionMap(Mmap);

impl RegionMap {
    /// The mapped pages, for reading: the calling thread is given read access to them first
    /// where protection keys apply ([`protection::ensure_readable`]).
    pub(crate) fn bytes(&self) -> &[u8] {
        protection::ensure_readable();
        &self.0
    }

    /// Asks the kernel to read no page of the file ahead of a fault on this mapping
    /// (`madvise(MADV_RANDOM)`): the store reads it at random (an account's page found through
    /// the index), and a region grows by unwritten extents, so a fault on a page never written
    /// made the kernel read ahead a window of large folios over them and zero it — megabytes
    /// for one fault, 90–145 ms of the UED's thread at a time on the 2-vCPU Xeon guest
    /// (`perf record -a -g`, 2026-12-05). A hint: where it fails, reads are as before.
    pub(crate) fn read_without_readahead(&self) {
        if let Err(e) = self.0.advise(memmap2::Advice::Random) {
            log::debug!("madvise(MADV_RANDOM) on a region mapping: {e}");
        }
    }
}

/// One region file and its allocator.
pub(crate) struct Region {
    pub(crate) mapping: Mapping,
    pub(crate) path: PathBuf,
    pub(crate) file: File,
    pub(crate) map: RegionMap,
    /// Kind of every page; index 0 is the region header and is never allocated.
    pub(crate) pages: Vec<PageKind>,
    /// Per cell class: the cell pages that have at least one free cell.
    open_cells: Vec<BTreeSet<u32>>,
    /// Free pages.
    free: BTreeSet<u32>,
    /// Every page from this one on is all zeros on the disk: never written since the region
    /// grew over it (a region grows by unwritten extents, which read as zeros). A commit's image
    /// of such a page starts as zeros rather than as a copy read through the mapping — a fault
    /// that makes the kernel fill a fresh page-cache page with zeros for the commit's write to
    /// cover (with readahead, megabytes for one fault). Only ever too high, never too low: a page
    /// below it may be zeros too (then the copy is of zeros), but a page at or above it that
    /// is not would make the image differ from the disk where the commit's log does not cover
    /// it, and recovery from the log would then build another page than the commit wrote.
    pub(crate) zeros_from: u32,
}

/// Pages added to a region file at least when it grows.
const MIN_GROWTH_PAGES: u32 = 64;

impl Region {
    /// Wraps an open region file whose length is a whole number of pages, at least
    /// `page_count` (both checked by the caller): the region's pages are its first
    /// `page_count`; any after them are [`Region::cut_unrecorded_pages`]'s.
    pub(crate) fn new(
        mapping: Mapping,
        path: PathBuf,
        file: File,
        page_count: u32,
    ) -> Result<Region, StoreError> {
        let map = map_region(mapping, &file, &path, page_count)?;
        let page_count = page_count as usize;
        Ok(Region {
            mapping,
            path,
            file,
            map,
            pages: vec![PageKind::Free; page_count],
            open_cells: vec![BTreeSet::new(); CELL_CLASSES.len()],
            free: BTreeSet::new(),
            // Nothing known until the scan has looked at the pages.
            zeros_from: page_count as u32,
        })
    }

    /// Cuts the file back to the region's pages: a commit grows a region's file before it logs
    /// (so that a log entry never points past its end), and one that never completed left
    /// pages that belong to no committed slot. Called once the scan at open has accepted the
    /// region's pages (a file grown to 15 TiB once aborted an open that gave them a page
    /// table).
    pub(crate) fn cut_unrecorded_pages(&mut self) -> Result<(), StoreError> {
        let len = self
            .file
            .metadata()
            .map_err(StoreError::io("stat", &self.path))?
            .len();
        let pages = len / PAGE_SIZE as u64;
        let recorded = self.page_count() as u64;
        if pages <= recorded {
            return Ok(());
        }
        // Not damage: the growth of a commit a crash or a full disk stopped before its log.
        log::warn!(
            "{}: {pages} pages where the last commit recorded {recorded}: the {} pages a commit \
             that did not complete (stopped by a crash or a full disk) grew it by hold nothing \
             committed, and are cut off",
            self.path.display(),
            pages - recorded
        );
        self.file
            .set_len(recorded * PAGE_SIZE as u64)
            .and_then(|()| self.file.sync_all())
            .map_err(StoreError::io("truncate", &self.path))?;
        // (The mapping never covered them: `Region::new` maps the region's pages.)
        Ok(())
    }

    /// Records the kind of page `page` found by the scan at open.
    pub(crate) fn set_scanned(&mut self, page: u32, kind: PageKind) {
        self.pages[page as usize] = kind;
    }

    /// Builds the free lists from the page kinds (after the scan).
    pub(crate) fn rebuild_free_lists(&mut self) {
        self.free.clear();
        for set in &mut self.open_cells {
            set.clear();
        }
        for (i, kind) in self.pages.iter().enumerate().skip(1) {
            match *kind {
                PageKind::Free => {
                    self.free.insert(i as u32);
                }
                PageKind::Cells { class, bitmap } => {
                    if bitmap.count_ones() < cells_per_page(class) as u32 {
                        self.open_cells[class].insert(i as u32);
                    }
                }
                PageKind::Span { .. } => {}
            }
        }
    }

    /// Records that a commit writes `page`: it is no longer known to be zeros.
    pub(crate) fn note_written(&mut self, page: u32) {
        self.zeros_from = self.zeros_from.max(page + 1);
    }

    /// Pages in the file, the header page included.
    pub(crate) fn page_count(&self) -> u32 {
        self.pages.len() as u32
    }

    /// The bytes of page `page`.
    pub(crate) fn page(&self, page: u32) -> &[u8] {
        let at = page as usize * PAGE_SIZE;
        &self.map.bytes()[at..at + PAGE_SIZE]
    }

    /// Grows the file to at least `pages` pages and remaps it.
    pub(crate) fn ensure_pages(&mut self, pages: u32) -> Result<(), StoreError> {
        let have = self.page_count();
        if pages <= have {
            return Ok(());
        }
        let target = pages.max(have + (have / 2).max(MIN_GROWTH_PAGES));
        allocate(&self.file, target as u64 * PAGE_SIZE as u64)
            .map_err(StoreError::io("grow", &self.path))?;
        // The new length must survive a power loss before a log entry may point past the old one.
        self.file
            .sync_all()
            .map_err(StoreError::io("fsync", &self.path))?;
        self.map = map_region(self.mapping, &self.file, &self.path, target)?;
        self.map.read_without_readahead();
        for page in have..target {
            self.pages.push(PageKind::Free);
            self.free.insert(page);
        }
        Ok(())
    }

    /// Takes a free cell of `class`; returns `(page, cell)`.
    pub(crate) fn alloc_cell(&mut self, class: usize) -> Result<(u32, u32), StoreError> {
        let page = match self.open_cells[class].first() {
            Some(&page) => page,
            None => {
                let page = self.alloc_pages(1)?;
                self.pages[page as usize] = PageKind::Cells { class, bitmap: 0 };
                self.open_cells[class].insert(page);
                page
            }
        };
        let PageKind::Cells { bitmap, .. } = &mut self.pages[page as usize] else {
            unreachable!("open_cells holds only cell pages");
        };
        let cell = (!*bitmap).trailing_zeros();
        *bitmap |= 1 << cell;
        if bitmap.count_ones() == cells_per_page(class) as u32 {
            self.open_cells[class].remove(&page);
        }
        Ok((page, cell))
    }

    /// Returns a cell; a page left empty becomes free.
    pub(crate) fn free_cell(&mut self, page: u32, cell: u32) {
        let PageKind::Cells { class, bitmap } = &mut self.pages[page as usize] else {
            unreachable!("the index points at cell pages only");
        };
        let class = *class;
        *bitmap &= !(1 << cell);
        if *bitmap == 0 {
            self.pages[page as usize] = PageKind::Free;
            self.open_cells[class].remove(&page);
            self.free.insert(page);
        } else {
            self.open_cells[class].insert(page);
        }
    }

    /// Takes `len` contiguous free pages for a span and marks them; returns the first.
    pub(crate) fn alloc_span(&mut self, len: u32) -> Result<u32, StoreError> {
        let first = self.alloc_pages(len)?;
        for i in 0..len {
            self.pages[(first + i) as usize] = PageKind::Span { len, index: i };
        }
        Ok(first)
    }

    /// Returns the pages of the span starting at `first`.
    pub(crate) fn free_span(&mut self, first: u32, len: u32) {
        for page in first..first + len {
            self.pages[page as usize] = PageKind::Free;
            self.free.insert(page);
        }
    }

    /// Removes `len` contiguous pages from the free list (lowest first), growing the file if no
    /// run is long enough.
    fn alloc_pages(&mut self, len: u32) -> Result<u32, StoreError> {
        let first = match self.find_free_run(len) {
            Some(first) => first,
            None => {
                // Extend from the free run that ends the file, if any, else from the end.
                let end = self.page_count();
                let mut first = end;
                while first > 1 && self.free.contains(&(first - 1)) {
                    first -= 1;
                }
                self.ensure_pages(first + len)?;
                first
            }
        };
        for page in first..first + len {
            self.free.remove(&page);
        }
        Ok(first)
    }

    fn find_free_run(&self, len: u32) -> Option<u32> {
        if len == 1 {
            return self.free.first().copied();
        }
        let mut run_start = None;
        let mut prev = None;
        for &page in &self.free {
            if prev.is_none_or(|p: u32| p + 1 != page) {
                run_start = Some(page);
            }
            prev = Some(page);
            if let Some(start) = run_start
                && page + 1 - start >= len
            {
                return Some(start);
            }
        }
        None
    }
}

/// Maps the first `pages` pages of a region file (at most its length), read-only
/// ([`RegionMap`]), tagged with their domain's key where protection keys apply.
pub(crate) fn map_region(
    mapping: Mapping,
    file: &File,
    path: &Path,
    pages: u32,
) -> Result<RegionMap, StoreError> {
    // SAFETY: the store holds an exclusive flock on its directory for as long as it is open, so no
    // other process of ours changes the file under the mapping; the mapping is replaced (never
    // just resized) whenever this process grows the file, and never covers the pages past a
    // region's own that open cuts off (`Region::cut_unrecorded_pages`); and this process writes
    // the file only through `write_pages`, from the commit and recovery, which hold the store
    // exclusively (`&mut Store`, or before it exists): no slice of the mapping is alive then.
    let len = pages as usize * PAGE_SIZE;
    let map =
        unsafe { MmapOptions::new().len(len).map(file) }.map_err(StoreError::io("map", path))?;
    protection::tag(&map, mapping).map_err(StoreError::io("pkey_mprotect", path))?;
    Ok(RegionMap(map))
}

/// Writes `bytes` at byte `at` of a region file (`pwrite`, in pieces:
/// [`crate::files::write_pieces_at`]), as the commit and recovery put page images into the
/// pages: the region's mapping shows them at once (one page cache).
pub(crate) fn write_pages(
    file: &File,
    path: &Path,
    at: u64,
    bytes: &[u8],
) -> Result<(), StoreError> {
    crate::files::write_pieces_at(file, bytes, at).map_err(StoreError::io("write", path))
}

/// Grows `file` to `len` bytes with its blocks allocated (`posix_fallocate`), so that a full
/// disk is an error here, before the commit's log, rather than when the commit writes the new
/// pages after it (a hole that cannot be filled; through a mapping, as the store once wrote,
/// a SIGBUS). Where the file system cannot allocate ahead, the file is only extended, as
/// before.
fn allocate(file: &File, len: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let off_len = libc::off_t::try_from(len)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "file too large"))?;
    // SAFETY: a valid open descriptor; the call reads nothing of ours.
    let code = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, off_len) };
    match code {
        0 => Ok(()),
        libc::EOPNOTSUPP | libc::EINVAL => file.set_len(len),
        code => Err(std::io::Error::from_raw_os_error(code)),
    }
}
