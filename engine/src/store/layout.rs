//! The on-disk format of region files: the region header, page headers, cell classes and records.
//!
//! Everything here is pure encoding and decoding of byte slices; it never touches a file. All
//! integers are little-endian.
//!
//! ```text
//! region file  = region header page (page 0) ‖ page 1 ‖ page 2 ‖ …        (each PAGE_SIZE bytes)
//!
//! region header (first 64 bytes of page 0, rest zero):
//!   0  8  magic "TNDMREG1"      8  4  format version (1)    12 4  page size (4096)
//!   16 1  mapping tag of every page in this file            17..56 zero
//!   56 8  checksum: xxh3-64 of bytes 0..56
//!
//! page header (first 64 bytes of every page; an all-zero header is a free page):
//!   0  4  magic "TPG1"          4  1  VMID: the mapping tag (1..=4), equal to the region's
//!   5  1  kind: 1 cells, 2 span head, 3 span continuation
//!   6  2  cell size (kind 1), else 0
//!   8  8  occupancy bitmap of the cells (kind 1), else 0
//!   16 4  span length in pages (kinds 2, 3), else 0
//!   20 4  index of this page in its span (0 for the head), else 0
//!   24 8  page number of this page in its file (catches misplaced pages)
//!   32 8  slot of the commit that last wrote this page
//!   40 16 zero
//!   56 8  checksum: xxh3-64 of bytes 0..56 and of the 4,032-byte body
//!
//! record (in a cell, or at the start of a span's body, continued in the span's later bodies):
//!   0  32 pubkey   32 32 owner   64 8 lamports   72 4 data length   76 1 executable (0/1)
//!   77 1  mapping tag (equal to the page's VMID)   78 2 zero   80.. data
//! ```

use crate::account::{Mapping, Pubkey};

/// Size of a store page in bytes.
pub const PAGE_SIZE: usize = 4096;
/// Size of a page header.
pub const PAGE_HEADER_LEN: usize = 64;
/// Bytes of a page after its header.
pub const PAGE_BODY_LEN: usize = PAGE_SIZE - PAGE_HEADER_LEN;
/// Size of a record header (the fields before the data).
pub const RECORD_HEADER_LEN: usize = 80;
/// On-disk format version of region files.
pub const FORMAT_VERSION: u32 = 1;

const REGION_MAGIC: &[u8; 8] = b"TNDMREG1";
const PAGE_MAGIC: &[u8; 4] = b"TPG1";
const CHECKSUM_AT: usize = 56;

/// Cell sizes of cell pages, smallest first. Each is `PAGE_BODY_LEN / cells` rounded down to 8
/// bytes, for a cell count chosen so that consecutive classes differ by at most 1.5× (at most a
/// third of a cell is wasted). The last step, 2,016 → 4,032, is 2×, but a class between them would
/// still hold one cell per page and waste the same page. Records larger than the body span whole
/// pages instead.
pub const CELL_CLASSES: [u16; 15] = [
    96, 112, 144, 168, 224, 288, 336, 448, 576, 672, 800, 1008, 1344, 2016, 4032,
];

/// The smallest cell class that holds a record of `record_len` bytes, or `None` when the record
/// must span pages.
pub fn cell_class_for(record_len: usize) -> Option<usize> {
    CELL_CLASSES.iter().position(|&c| record_len <= c as usize)
}

/// Number of cells in a page of class `class`.
pub const fn cells_per_page(class: usize) -> usize {
    PAGE_BODY_LEN / CELL_CLASSES[class] as usize
}

/// Number of pages a spanning record of `record_len` bytes occupies.
pub const fn span_pages_for(record_len: usize) -> usize {
    record_len.div_ceil(PAGE_BODY_LEN)
}

/// Page kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageKind {
    /// Not in use (all-zero header).
    Free,
    /// A page of equal cells, each holding at most one record.
    Cells {
        /// Index into [`CELL_CLASSES`].
        class: usize,
        /// Bit `i` set: cell `i` holds a record.
        bitmap: u64,
    },
    /// Page `index` of a span of `len` pages holding one large record.
    Span {
        /// Pages in the span.
        len: u32,
        /// This page's position in the span (0 = head, which starts the record).
        index: u32,
    },
}

/// A decoded page header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageHeader {
    /// The VMID (mapping tag) of a used page.
    pub vmid: u8,
    /// What the page holds.
    pub kind: PageKind,
    /// The page's own number in its file.
    pub page_no: u64,
    /// The slot of the commit that last wrote the page.
    pub slot: u64,
}

/// Why a page could not be decoded. The store adds the file and page number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageDefect {
    /// The stored checksum does not match the page's bytes.
    Checksum {
        /// Checksum in the header.
        stored: u64,
        /// Checksum of the bytes.
        computed: u64,
    },
    /// The VMID is not a mapping tag.
    InvalidTag(u8),
    /// Any other broken header field.
    Header(String),
}

/// The checksum of a page: xxh3-64 of the header before the checksum field, then the body.
pub fn page_checksum(page: &[u8]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&page[..CHECKSUM_AT]);
    h.update(&page[PAGE_HEADER_LEN..PAGE_SIZE]);
    h.digest()
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

impl PageHeader {
    /// Whether the header of `page` is all zeros: a free page — one no commit ever wrote, or one
    /// a commit freed (its header cleared, its body keeping the old cells).
    pub fn is_blank(page: &[u8]) -> bool {
        page[..PAGE_HEADER_LEN].iter().all(|&b| b == 0)
    }

    /// Decodes and verifies the header of `page` (exactly [`PAGE_SIZE`] bytes): magic, VMID,
    /// kind-specific fields and the checksum. An all-zero header decodes as a free page.
    pub fn decode(page: &[u8]) -> Result<PageHeader, PageDefect> {
        debug_assert_eq!(page.len(), PAGE_SIZE);
        let header = &page[..PAGE_HEADER_LEN];
        if PageHeader::is_blank(page) {
            return Ok(PageHeader {
                vmid: 0,
                kind: PageKind::Free,
                page_no: 0,
                slot: 0,
            });
        }
        let stored = u64_at(header, CHECKSUM_AT);
        let computed = page_checksum(page);
        if stored != computed {
            return Err(PageDefect::Checksum { stored, computed });
        }
        if &header[..4] != PAGE_MAGIC {
            return Err(PageDefect::Header(format!(
                "bad page magic {:02x?}",
                &header[..4]
            )));
        }
        let vmid = header[4];
        Mapping::from_tag(vmid).map_err(|_| PageDefect::InvalidTag(vmid))?;
        let cell_size = u16_at(header, 6);
        let bitmap = u64_at(header, 8);
        let span_len = u32_at(header, 16);
        let span_index = u32_at(header, 20);
        let kind = match header[5] {
            1 => {
                let class = CELL_CLASSES
                    .iter()
                    .position(|&c| c == cell_size)
                    .ok_or_else(|| PageDefect::Header(format!("unknown cell size {cell_size}")))?;
                let cells = cells_per_page(class);
                if cells < 64 && bitmap >> cells != 0 {
                    return Err(PageDefect::Header(format!(
                        "occupancy bitmap {bitmap:#x} marks cells beyond the {cells} of the page"
                    )));
                }
                if bitmap == 0 {
                    return Err(PageDefect::Header("cell page with no cell in use".into()));
                }
                if span_len != 0 || span_index != 0 {
                    return Err(PageDefect::Header("cell page with span fields".into()));
                }
                PageKind::Cells { class, bitmap }
            }
            2 | 3 => {
                let head = header[5] == 2;
                if span_len < 2 || span_index >= span_len || head != (span_index == 0) {
                    return Err(PageDefect::Header(format!(
                        "bad span fields: page {span_index} of {span_len}"
                    )));
                }
                if cell_size != 0 || bitmap != 0 {
                    return Err(PageDefect::Header("span page with cell fields".into()));
                }
                PageKind::Span {
                    len: span_len,
                    index: span_index,
                }
            }
            other => return Err(PageDefect::Header(format!("unknown page kind {other}"))),
        };
        if header[40..56].iter().any(|&b| b != 0) {
            return Err(PageDefect::Header(
                "reserved header bytes are not zero".into(),
            ));
        }
        Ok(PageHeader {
            vmid,
            kind,
            page_no: u64_at(header, 24),
            slot: u64_at(header, 32),
        })
    }

    /// Writes this header into the first [`PAGE_HEADER_LEN`] bytes of `page` and seals the page
    /// with its checksum; a free page gets an all-zero header.
    pub fn encode_and_seal(&self, page: &mut [u8]) {
        debug_assert_eq!(page.len(), PAGE_SIZE);
        let header = &mut page[..PAGE_HEADER_LEN];
        header.fill(0);
        let (kind, cell_size, bitmap, span_len, span_index) = match self.kind {
            PageKind::Free => return,
            PageKind::Cells { class, bitmap } => (1u8, CELL_CLASSES[class], bitmap, 0, 0),
            PageKind::Span { len, index } => (if index == 0 { 2 } else { 3 }, 0, 0, len, index),
        };
        header[..4].copy_from_slice(PAGE_MAGIC);
        header[4] = self.vmid;
        header[5] = kind;
        header[6..8].copy_from_slice(&cell_size.to_le_bytes());
        header[8..16].copy_from_slice(&bitmap.to_le_bytes());
        header[16..20].copy_from_slice(&span_len.to_le_bytes());
        header[20..24].copy_from_slice(&span_index.to_le_bytes());
        header[24..32].copy_from_slice(&self.page_no.to_le_bytes());
        header[32..40].copy_from_slice(&self.slot.to_le_bytes());
        let sum = page_checksum(page);
        page[CHECKSUM_AT..PAGE_HEADER_LEN].copy_from_slice(&sum.to_le_bytes());
    }
}

/// Encodes the region header of a region holding pages of `mapping` into `page0`.
pub fn encode_region_header(mapping: Mapping, page0: &mut [u8]) {
    page0.fill(0);
    page0[..8].copy_from_slice(REGION_MAGIC);
    page0[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    page0[12..16].copy_from_slice(&(PAGE_SIZE as u32).to_le_bytes());
    page0[16] = mapping.tag();
    let sum = xxhash_rust::xxh3::xxh3_64(&page0[..CHECKSUM_AT]);
    page0[CHECKSUM_AT..64].copy_from_slice(&sum.to_le_bytes());
}

/// Decodes a region header and checks it describes a region of `expected` pages.
pub fn decode_region_header(page0: &[u8], expected: Mapping) -> Result<(), String> {
    if &page0[..8] != REGION_MAGIC {
        return Err("not a tandem region file (bad magic)".into());
    }
    let stored = u64_at(page0, CHECKSUM_AT);
    let computed = xxhash_rust::xxh3::xxh3_64(&page0[..CHECKSUM_AT]);
    if stored != computed {
        return Err(format!(
            "region header checksum mismatch (stored {stored:#018x}, computed {computed:#018x})"
        ));
    }
    let version = u32_at(page0, 8);
    if version != FORMAT_VERSION {
        return Err(format!(
            "format version {version}, this build reads {FORMAT_VERSION}"
        ));
    }
    let page_size = u32_at(page0, 12);
    if page_size as usize != PAGE_SIZE {
        return Err(format!(
            "page size {page_size}, this build uses {PAGE_SIZE}"
        ));
    }
    if let Some(at) = page0[64..].iter().position(|&b| b != 0) {
        return Err(format!(
            "byte {} after the region header is not zero",
            64 + at
        ));
    }
    match Mapping::from_tag(page0[16]) {
        Ok(m) if m == expected => Ok(()),
        Ok(m) => Err(format!("region holds {m} pages, expected {expected}")),
        Err(e) => Err(e.to_string()),
    }
}

/// The fixed fields of a record, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    /// The account's address.
    pub pubkey: Pubkey,
    /// The owner program.
    pub owner: Pubkey,
    /// The balance.
    pub lamports: u64,
    /// The data length in bytes.
    pub data_len: u32,
    /// The executable flag byte (must be 0 or 1).
    pub executable: u8,
    /// The mapping tag byte.
    pub mapping: u8,
}

impl RecordHeader {
    /// Decodes the first [`RECORD_HEADER_LEN`] bytes of `bytes`.
    pub fn decode(bytes: &[u8]) -> RecordHeader {
        RecordHeader {
            pubkey: Pubkey(bytes[0..32].try_into().expect("32 bytes")),
            owner: Pubkey(bytes[32..64].try_into().expect("32 bytes")),
            lamports: u64_at(bytes, 64),
            data_len: u32_at(bytes, 72),
            executable: bytes[76],
            mapping: bytes[77],
        }
    }

    /// Encodes into the first [`RECORD_HEADER_LEN`] bytes of `out`.
    pub fn encode(&self, out: &mut [u8]) {
        out[0..32].copy_from_slice(&self.pubkey.0);
        out[32..64].copy_from_slice(&self.owner.0);
        out[64..72].copy_from_slice(&self.lamports.to_le_bytes());
        out[72..76].copy_from_slice(&self.data_len.to_le_bytes());
        out[76] = self.executable;
        out[77] = self.mapping;
        out[78..80].fill(0);
    }

    /// Total record length: header plus data.
    pub fn record_len(&self) -> usize {
        RECORD_HEADER_LEN + self.data_len as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_classes_are_sorted_fit_the_body_and_grow_at_most_1_5x() {
        for w in CELL_CLASSES.windows(2) {
            assert!(w[0] < w[1]);
            let one_per_page = w[1] as usize * 2 > PAGE_BODY_LEN;
            assert!(one_per_page || w[1] as f64 / w[0] as f64 <= 1.5, "{w:?}");
        }
        for (class, &size) in CELL_CLASSES.iter().enumerate() {
            assert_eq!(size % 8, 0);
            assert!(cells_per_page(class) <= 64);
            assert!(cells_per_page(class) * size as usize <= PAGE_BODY_LEN);
        }
        assert_eq!(*CELL_CLASSES.last().unwrap() as usize, PAGE_BODY_LEN);
        assert!(RECORD_HEADER_LEN <= CELL_CLASSES[0] as usize);
        assert_eq!(cell_class_for(RECORD_HEADER_LEN), Some(0));
        assert_eq!(cell_class_for(280), Some(5)); // a 200-byte account
        assert_eq!(cell_class_for(PAGE_BODY_LEN), Some(CELL_CLASSES.len() - 1));
        assert_eq!(cell_class_for(PAGE_BODY_LEN + 1), None);
        assert_eq!(span_pages_for(PAGE_BODY_LEN + 1), 2);
    }

    #[test]
    fn page_header_round_trips_and_detects_every_flipped_bit() {
        let mut page = vec![0u8; PAGE_SIZE];
        page[100] = 7;
        let header = PageHeader {
            vmid: 3,
            kind: PageKind::Cells {
                class: 5,
                bitmap: 0b1011,
            },
            page_no: 9,
            slot: 42,
        };
        header.encode_and_seal(&mut page);
        assert_eq!(PageHeader::decode(&page), Ok(header));
        for bit in [
            0,
            4 * 8,
            5 * 8,
            9 * 8 + 3,
            33 * 8,
            100 * 8,
            PAGE_SIZE * 8 - 1,
        ] {
            let mut bad = page.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(
                matches!(PageHeader::decode(&bad), Err(PageDefect::Checksum { .. })),
                "bit {bit}"
            );
        }
    }

    #[test]
    fn sealed_page_with_an_invalid_tag_is_rejected_as_such() {
        let mut page = vec![0u8; PAGE_SIZE];
        let mut header = PageHeader {
            vmid: 9,
            kind: PageKind::Span { len: 2, index: 1 },
            page_no: 1,
            slot: 1,
        };
        header.encode_and_seal(&mut page);
        assert_eq!(PageHeader::decode(&page), Err(PageDefect::InvalidTag(9)));
        header.vmid = 0;
        header.encode_and_seal(&mut page);
        assert_eq!(PageHeader::decode(&page), Err(PageDefect::InvalidTag(0)));
    }

    #[test]
    fn region_header_round_trip_and_mismatch() {
        let mut page0 = vec![0u8; PAGE_SIZE];
        encode_region_header(Mapping::RwVed, &mut page0);
        assert!(decode_region_header(&page0, Mapping::RwVed).is_ok());
        assert!(
            decode_region_header(&page0, Mapping::RwUed)
                .unwrap_err()
                .contains("holds rw-ved pages")
        );
        page0[20] = 1;
        assert!(
            decode_region_header(&page0, Mapping::RwVed)
                .unwrap_err()
                .contains("checksum")
        );
    }
}
