//! The two small files that make slot commits atomic: the superblock and the write-ahead log.
//!
//! **Superblock** (`superblock`): two copies, at byte 0 and byte 4096, each
//! `magic "TNDMSUP1" ‖ sequence u64 ‖ has_commit u8 ‖ 7 zero bytes ‖ slot u64 ‖ counts ‖ xxh3-64
//! of everything before it`, where `counts` is, per region in tag order, its page count (u32)
//! and then per region its account count (u64). The counts let `open` notice a file cut at a page
//! boundary or a page zeroed out, which would otherwise look like free space. A write goes to the copy the current one is not in, then is fsynced, so a
//! torn write can only damage the copy that was not current. The valid copy with the higher
//! sequence number is the truth.
//!
//! **Write-ahead log** (`wal`): the redo log of the one commit in flight:
//! `magic "TNDMWAL1" ‖ slot u64 ‖ entries u64 ‖ body length u64 ‖ body xxh3-64 ‖ counts after the
//! commit ‖ header xxh3-64` (96 bytes), then the body: per entry `region tag u8 ‖ 3 zero ‖ page u32 ‖ offset u16 ‖
//! length u16 ‖ bytes`. An entry is the final content of a byte range of one page; replaying is
//! copying, so it is idempotent. A log whose checksums do not match was never completely written,
//! and so was never applied: it is ignored.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::xxh3_64;

use super::error::StoreError;

const SUPER_MAGIC: &[u8; 8] = b"TNDMSUP1";
const COUNTS_LEN: usize = 48;
const SUPER_COPY_LEN: usize = 32 + COUNTS_LEN + 8;
const SUPER_COPY_STRIDE: u64 = 4096;
const WAL_MAGIC: &[u8; 8] = b"TNDMWAL1";
const WAL_HEADER_LEN: usize = 40 + COUNTS_LEN + 8;
/// Bytes of log an entry takes besides its data.
pub const WAL_ENTRY_HEADER_LEN: usize = 12;
const ENTRY_HEADER_LEN: usize = WAL_ENTRY_HEADER_LEN;

/// Per region (index = mapping tag − 1): how many pages its file has in use and how many
/// accounts it holds, as of a commit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Pages of each region file, the region header page included.
    pub pages: [u32; 4],
    /// Accounts in each region.
    pub accounts: [u64; 4],
}

impl Counts {
    fn encode(&self, out: &mut [u8]) {
        for (i, p) in self.pages.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&p.to_le_bytes());
        }
        for (i, a) in self.accounts.iter().enumerate() {
            out[16 + i * 8..24 + i * 8].copy_from_slice(&a.to_le_bytes());
        }
    }

    fn decode(b: &[u8]) -> Counts {
        let mut c = Counts::default();
        for i in 0..4 {
            c.pages[i] = u32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
            c.accounts[i] =
                u64::from_le_bytes(b[16 + i * 8..24 + i * 8].try_into().expect("8 bytes"));
        }
        c
    }
}

/// The committed state named by the superblock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SuperState {
    /// Incremented by every write.
    pub seq: u64,
    /// The last committed slot, if any slot was ever committed.
    pub committed: Option<u64>,
    /// Page and account counts as of that slot.
    pub counts: Counts,
}

fn encode_super(state: SuperState) -> [u8; SUPER_COPY_LEN] {
    let mut b = [0u8; SUPER_COPY_LEN];
    b[..8].copy_from_slice(SUPER_MAGIC);
    b[8..16].copy_from_slice(&state.seq.to_le_bytes());
    b[16] = u8::from(state.committed.is_some());
    b[24..32].copy_from_slice(&state.committed.unwrap_or(0).to_le_bytes());
    state.counts.encode(&mut b[32..32 + COUNTS_LEN]);
    let end = 32 + COUNTS_LEN;
    let sum = xxh3_64(&b[..end]);
    b[end..end + 8].copy_from_slice(&sum.to_le_bytes());
    b
}

fn decode_super(b: &[u8]) -> Option<SuperState> {
    let end = 32 + COUNTS_LEN;
    if b.len() < SUPER_COPY_LEN || &b[..8] != SUPER_MAGIC {
        return None;
    }
    let sum = u64::from_le_bytes(b[end..end + 8].try_into().ok()?);
    if sum != xxh3_64(&b[..end]) || b[16] > 1 || b[17..24].iter().any(|&x| x != 0) {
        return None;
    }
    let slot = u64::from_le_bytes(b[24..32].try_into().ok()?);
    Some(SuperState {
        seq: u64::from_le_bytes(b[8..16].try_into().ok()?),
        committed: (b[16] == 1).then_some(slot),
        counts: Counts::decode(&b[32..end]),
    })
}

/// Reads the superblock: the valid copy with the higher sequence number. Neither copy valid is
/// corruption.
pub fn read_superblock(file: &File, path: &Path) -> Result<SuperState, StoreError> {
    let len = file.metadata().map_err(StoreError::io("stat", path))?.len();
    if len < SUPER_COPY_STRIDE + SUPER_COPY_LEN as u64 {
        return Err(StoreError::Truncated {
            path: path.to_owned(),
            reason: format!(
                "{len} bytes, a superblock has {} (two copies)",
                SUPER_COPY_STRIDE + SUPER_COPY_LEN as u64
            ),
        });
    }
    choose_superblock(|b, at| file.read_exact_at(b, at), path)
}

/// The valid copy with the higher sequence number, each copy read through `read_at`. A copy
/// that cannot be read (an I/O error: the sector a power cut tore during its write) counts as
/// not valid, like one whose checksum fails — the torn write the two copies are there for —
/// where it failed the open with the other copy whole; only both unreadable is the error.
fn choose_superblock(
    read_at: impl Fn(&mut [u8], u64) -> std::io::Result<()>,
    path: &Path,
) -> Result<SuperState, StoreError> {
    let mut copies = [None, None];
    let mut unreadable = None;
    for (i, copy) in copies.iter_mut().enumerate() {
        let mut b = [0u8; SUPER_COPY_LEN];
        match read_at(&mut b, i as u64 * SUPER_COPY_STRIDE) {
            Ok(()) => *copy = decode_super(&b),
            Err(e) => {
                log::warn!(
                    "{}: superblock copy {i} cannot be read: {e}",
                    path.display()
                );
                unreadable = Some(e);
            }
        }
    }
    match (copies, unreadable) {
        ([Some(a), Some(b)], _) => Ok(if a.seq >= b.seq { a } else { b }),
        ([Some(a), None] | [None, Some(a)], _) => Ok(a),
        ([None, None], Some(e)) => Err(StoreError::io("read", path)(e)),
        ([None, None], None) => Err(StoreError::CorruptFile {
            path: path.to_owned(),
            reason: "neither superblock copy is valid".into(),
        }),
    }
}

/// Writes `state` into the copy `state.seq` selects (alternating) and fsyncs it.
pub fn write_superblock(file: &File, path: &Path, state: SuperState) -> Result<(), StoreError> {
    let offset = (state.seq % 2) * SUPER_COPY_STRIDE;
    file.write_all_at(&encode_super(state), offset)
        .map_err(StoreError::io("write", path))?;
    file.sync_data().map_err(StoreError::io("fsync", path))
}

/// Creates a fresh superblock file naming no committed slot.
pub fn init_superblock(file: &File, path: &Path, counts: Counts) -> Result<(), StoreError> {
    file.set_len(SUPER_COPY_STRIDE * 2)
        .map_err(StoreError::io("resize", path))?;
    let state = SuperState {
        seq: 0,
        committed: None,
        counts,
    };
    file.write_all_at(&encode_super(state), 0)
        .map_err(StoreError::io("write", path))?;
    file.write_all_at(&encode_super(state), SUPER_COPY_STRIDE)
        .map_err(StoreError::io("write", path))?;
    file.sync_all().map_err(StoreError::io("fsync", path))
}

/// One redo entry: the final bytes of a range of one page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalEntry<'a> {
    /// Mapping tag of the region file.
    pub region: u8,
    /// Page number in that file.
    pub page: u32,
    /// Byte offset in the page.
    pub offset: u16,
    /// The bytes.
    pub bytes: &'a [u8],
}

/// Builds a write-ahead log image in memory.
pub struct WalWriter {
    buf: Vec<u8>,
    entries: u64,
}

impl WalWriter {
    /// An empty log for `slot`, built in `buf` (cleared; its memory is reused) with room for
    /// `body_len` bytes of entries.
    pub fn new(slot: u64, mut buf: Vec<u8>, body_len: usize) -> Self {
        buf.clear();
        buf.reserve(WAL_HEADER_LEN + body_len);
        buf.resize(WAL_HEADER_LEN, 0);
        buf[..8].copy_from_slice(WAL_MAGIC);
        buf[8..16].copy_from_slice(&slot.to_le_bytes());
        WalWriter { buf, entries: 0 }
    }

    /// Appends one entry. `bytes` must lie within one page.
    pub fn push(&mut self, entry: WalEntry<'_>) {
        debug_assert!(entry.offset as usize + entry.bytes.len() <= super::layout::PAGE_SIZE);
        self.buf.push(entry.region);
        self.buf.extend_from_slice(&[0; 3]);
        self.buf.extend_from_slice(&entry.page.to_le_bytes());
        self.buf.extend_from_slice(&entry.offset.to_le_bytes());
        self.buf
            .extend_from_slice(&(entry.bytes.len() as u16).to_le_bytes());
        self.buf.extend_from_slice(entry.bytes);
        self.entries += 1;
    }

    /// Seals the header with the `counts` the store will have after this commit and writes the
    /// log to `file` — not fsynced: once the whole log is written it may reach the disk, so the
    /// caller counts the commit as logged before it syncs (an fsync error then cannot mean the
    /// slot before stands). Returns the bytes written and the buffer, for reuse.
    pub fn write(
        mut self,
        counts: Counts,
        file: &File,
        path: &Path,
    ) -> Result<(usize, Vec<u8>), StoreError> {
        let body_len = (self.buf.len() - WAL_HEADER_LEN) as u64;
        let body_sum = xxh3_64(&self.buf[WAL_HEADER_LEN..]);
        self.buf[16..24].copy_from_slice(&self.entries.to_le_bytes());
        self.buf[24..32].copy_from_slice(&body_len.to_le_bytes());
        self.buf[32..40].copy_from_slice(&body_sum.to_le_bytes());
        counts.encode(&mut self.buf[40..40 + COUNTS_LEN]);
        let end = 40 + COUNTS_LEN;
        let header_sum = xxh3_64(&self.buf[..end]);
        self.buf[end..end + 8].copy_from_slice(&header_sum.to_le_bytes());
        crate::files::write_pieces_at(file, &self.buf, 0).map_err(StoreError::io("write", path))?;
        Ok((self.buf.len(), self.buf))
    }
}

/// A complete write-ahead log read back from disk.
pub struct WalImage {
    /// The slot the log commits.
    pub slot: u64,
    /// The store's counts after the commit.
    pub counts: Counts,
    body: Vec<u8>,
    entries: u64,
    path: PathBuf,
}

/// Reads the log. `Ok(None)` means there is no complete log (empty, or torn by a crash before
/// its fsync returned), which is never an error: such a log was never applied.
pub fn read_wal(file: &File, path: &Path) -> Result<Option<WalImage>, StoreError> {
    let len = file.metadata().map_err(StoreError::io("stat", path))?.len();
    if len < WAL_HEADER_LEN as u64 {
        return Ok(None);
    }
    let mut header = [0u8; WAL_HEADER_LEN];
    file.read_exact_at(&mut header, 0)
        .map_err(StoreError::io("read", path))?;
    let field = |at: usize| u64::from_le_bytes(header[at..at + 8].try_into().expect("8 bytes"));
    let end = 40 + COUNTS_LEN;
    if &header[..8] != WAL_MAGIC || field(end) != xxh3_64(&header[..end]) {
        return Ok(None);
    }
    let body_len = field(24);
    if body_len > len - WAL_HEADER_LEN as u64 {
        return Ok(None);
    }
    let mut body = vec![0u8; body_len as usize];
    file.read_exact_at(&mut body, WAL_HEADER_LEN as u64)
        .map_err(StoreError::io("read", path))?;
    if xxh3_64(&body) != field(32) {
        return Ok(None);
    }
    Ok(Some(WalImage {
        slot: field(8),
        counts: Counts::decode(&header[40..end]),
        body,
        entries: field(16),
        path: path.to_owned(),
    }))
}

impl WalImage {
    /// The entries, in the order they were written. A log whose checksums match but whose
    /// entries do not parse is corruption (it was written by a broken program, not torn).
    pub fn entries(&self) -> Result<Vec<WalEntry<'_>>, StoreError> {
        let corrupt = |reason: String| StoreError::CorruptFile {
            path: self.path.clone(),
            reason,
        };
        // The count is the header's claim, checked below: room for as many as the body can hold.
        let most = (self.body.len() / ENTRY_HEADER_LEN) as u64;
        let mut out = Vec::with_capacity(self.entries.min(most) as usize);
        let mut at = 0usize;
        while at < self.body.len() {
            let head = self
                .body
                .get(at..at + ENTRY_HEADER_LEN)
                .ok_or_else(|| corrupt(format!("entry header cut at byte {at}")))?;
            let page = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
            let offset = u16::from_le_bytes([head[8], head[9]]);
            let len = u16::from_le_bytes([head[10], head[11]]) as usize;
            if offset as usize + len > super::layout::PAGE_SIZE {
                return Err(corrupt(format!("entry at byte {at} leaves its page")));
            }
            let bytes = self
                .body
                .get(at + ENTRY_HEADER_LEN..at + ENTRY_HEADER_LEN + len)
                .ok_or_else(|| corrupt(format!("entry at byte {at} is cut short")))?;
            out.push(WalEntry {
                region: head[0],
                page,
                offset,
                bytes,
            });
            at += ENTRY_HEADER_LEN + len;
        }
        if out.len() as u64 != self.entries {
            return Err(corrupt(format!(
                "header says {} entries, body holds {}",
                self.entries,
                out.len()
            )));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new empty file `name`, read and write, in a temporary directory (kept while held).
    fn new_file(name: &str) -> (tempfile::TempDir, PathBuf, File) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        (dir, path, file)
    }

    #[test]
    fn superblock_picks_the_newest_valid_copy() {
        let (_dir, path, file) = new_file("superblock");
        init_superblock(&file, &path, Counts::default()).unwrap();
        assert_eq!(read_superblock(&file, &path).unwrap().committed, None);
        for (seq, slot) in [(1, 5), (2, 9)] {
            let s = SuperState {
                seq,
                committed: Some(slot),
                counts: Counts {
                    pages: [1, 2, 3, 4],
                    accounts: [slot, 0, 7, 1 << 40],
                },
            };
            write_superblock(&file, &path, s).unwrap();
            assert_eq!(read_superblock(&file, &path).unwrap(), s);
        }
        // Tear the newest copy (seq 2 lives at copy 0): the older one stands.
        file.write_all_at(&[0xff], 3).unwrap();
        assert_eq!(read_superblock(&file, &path).unwrap().committed, Some(5));
        file.write_all_at(&[0xff], SUPER_COPY_STRIDE + 3).unwrap();
        assert!(matches!(
            read_superblock(&file, &path),
            Err(StoreError::CorruptFile { .. })
        ));
    }

    #[test]
    fn a_superblock_copy_that_cannot_be_read_counts_as_torn() {
        // The newest copy's sector answers EIO (a power cut during its write): the other copy
        // stands, as for a checksum that fails; it failed the open.
        let (_dir, path, file) = new_file("superblock");
        init_superblock(&file, &path, Counts::default()).unwrap();
        for (seq, slot) in [(1, 5), (2, 9)] {
            let state = SuperState {
                seq,
                committed: Some(slot),
                counts: Counts::default(),
            };
            write_superblock(&file, &path, state).unwrap();
        }
        let file = &file;
        let failing_at = |bad: u64| {
            move |b: &mut [u8], at: u64| {
                if at == bad {
                    Err(std::io::Error::from_raw_os_error(libc::EIO))
                } else {
                    file.read_exact_at(b, at)
                }
            }
        };
        let chosen = choose_superblock(failing_at(0), &path).expect("the other copy");
        assert_eq!(chosen.committed, Some(5));
        let chosen = choose_superblock(failing_at(SUPER_COPY_STRIDE), &path).expect("copy 0");
        assert_eq!(chosen.committed, Some(9));
        // Both unreadable: the I/O error, naming the file.
        let neither = choose_superblock(
            |_: &mut [u8], _| Err(std::io::Error::from_raw_os_error(libc::EIO)),
            &path,
        )
        .expect_err("no copy");
        assert!(neither.to_string().contains("superblock"), "{neither}");
    }

    #[test]
    fn wal_round_trip_and_torn_logs_are_ignored() {
        let (_dir, path, file) = new_file("wal");
        assert!(read_wal(&file, &path).unwrap().is_none());
        let mut w = WalWriter::new(77, Vec::new(), 0);
        w.push(WalEntry {
            region: 3,
            page: 5,
            offset: 64,
            bytes: &[1, 2, 3],
        });
        w.push(WalEntry {
            region: 4,
            page: 1,
            offset: 0,
            bytes: &[9; 64],
        });
        let counts = Counts {
            pages: [3, 1, 4, 1],
            accounts: [5, 9, 2, 6],
        };
        let (written, _) = w.write(counts, &file, &path).unwrap();
        let image = read_wal(&file, &path).unwrap().unwrap();
        assert_eq!(image.slot, 77);
        assert_eq!(image.counts, counts);
        let entries = image.entries().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].bytes, &[1, 2, 3]);
        assert_eq!(entries[1].region, 4);
        // Any torn byte makes the whole log invisible.
        for at in [0, 20, 95, 96, written as u64 - 1] {
            let mut b = [0u8];
            file.read_exact_at(&mut b, at).unwrap();
            file.write_all_at(&[b[0] ^ 0x40], at).unwrap();
            assert!(read_wal(&file, &path).unwrap().is_none(), "byte {at}");
            file.write_all_at(&b, at).unwrap();
        }
        file.set_len(written as u64 - 1).unwrap();
        assert!(read_wal(&file, &path).unwrap().is_none());
    }
}
