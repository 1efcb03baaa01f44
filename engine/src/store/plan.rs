//! A commit's plan: each changed account placed (in place when it keeps its cell class or
//! span length, else in a new cell or span), and the final image of every page it touches
//! built in memory, headers and checksums included, before anything is written.

use hashbrown::HashMap;

use super::layout::{
    self, PAGE_BODY_LEN, PAGE_HEADER_LEN, PAGE_SIZE, RECORD_HEADER_LEN, RecordHeader,
    cell_class_for, span_pages_for,
};
use super::region::{self, Region};
use super::{Location, Place, Store, StoreError, journal, region_index};
use crate::account::Account;

impl Store {
    /// Places `account` (in place when it keeps its cell class or span length) and writes its
    /// record into the plan.
    pub(super) fn place(&mut self, plan: &mut Plan, account: &Account) -> Result<(), StoreError> {
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
    pub(super) fn release(&mut self, plan: &mut Plan, old: Location) {
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
}

#[derive(Clone, Copy)]
enum Want {
    Cell(usize),
    Span(u32),
}

/// The final images of the pages one commit touches. The store keeps its buffers and the next
/// commit reuses them, so a commit does not fault in fresh memory for every page it writes.
#[derive(Default)]
pub(super) struct Plan {
    /// `(region, page)` → index of its image.
    index: HashMap<(usize, u32), usize>,
    /// `(region, page)` of each image.
    pub(super) keys: Vec<(usize, u32)>,
    /// The images, `PAGE_SIZE` bytes each, in the order of `keys`.
    arena: Vec<u8>,
    /// `(image, offset, len)` of every byte range this commit changes.
    pub(super) dirty: Vec<(u32, u16, u16)>,
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
    pub(super) fn clear(&mut self) {
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

    pub(super) fn page(&self, i: usize) -> &[u8] {
        &self.arena[i * PAGE_SIZE..(i + 1) * PAGE_SIZE]
    }

    pub(super) fn page_mut(&mut self, i: usize) -> &mut [u8] {
        &mut self.arena[i * PAGE_SIZE..(i + 1) * PAGE_SIZE]
    }

    /// Records that bytes `offset..offset + len` of image `i` changed.
    pub(super) fn mark(&mut self, i: usize, offset: usize, len: usize) {
        self.dirty.push((i as u32, offset as u16, len as u16));
    }

    /// Sorts the changed ranges by region, page and offset, and merges those that overlap or
    /// touch.
    pub(super) fn merge_dirty(&mut self) {
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
    pub(super) fn write_images(&mut self, regions: &[Region]) -> Result<[bool; 4], StoreError> {
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
    pub(super) fn log_len(&self) -> usize {
        self.dirty
            .iter()
            .map(|&(_, _, len)| journal::WAL_ENTRY_HEADER_LEN + len as usize)
            .sum()
    }

    pub(super) fn release_memory_if_large(&mut self) {
        if self.arena.capacity() > PLAN_RETAIN_BYTES {
            *self = Plan::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::Mapping;

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
}
