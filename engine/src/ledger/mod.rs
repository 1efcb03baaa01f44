//! The ledger file (SPEC §9): a sequence of blocks, as a leader produced them.
//!
//! This module owns the binary format and nothing else: it writes and reads [`Block`]s, checking
//! that the bytes are well formed. It never judges what a block says (slot order, the clock rule,
//! whether a transaction parses): that is the runtime's job, which must see every block as it was
//! written to reject it with the right error.
//!
//! A block's transactions are kept as [`Transactions`]: their bytes back to back in one buffer,
//! so reading a block of 20,000 transactions is one growing allocation, not 20,000. One block
//! already in memory can also be read where it lies, in steps ([`EncodedBlock`]): the engine's
//! C ABI hands blocks over that way, so that their votes are read before the rest is copied.
//!
//! # Format (little-endian)
//!
//! ```text
//! magic            8 bytes  "TNDMLDG1"
//! then, per block, until the end of the file:
//!   slot           u64
//!   parent_slot    u64
//!   leader         32 bytes
//!   unix_timestamp_ms i64
//!   blockhash      32 bytes
//!   tx_count       u32
//!   per transaction: length u32, then `length` bytes (Solana's wire format)
//! ```
//!
//! # Reading untrusted files
//!
//! A transaction longer than [`MAX_TRANSACTION_LEN`] (1,232 bytes, Solana's packet limit) is
//! reported as corruption, since no valid transaction is longer; so no length read from the file
//! grows the block's buffer more than that ahead of the bytes actually read ([`Block::decode`],
//! whose input is one block already in memory, reserves at most that input's size at once). A transaction count is checked against the bytes left in
//! the file when the length is known ([`LedgerReader::open`]: the file must not grow while it is
//! read), and never preallocates more than a bounded number of entries otherwise.
//!
//! Every cut inside the magic, a header, a count, a length or a transaction's bytes is an error
//! naming the block, the part and the byte offset. A file that ends exactly after a block is a
//! valid ledger of fewer blocks: the format has no trailer, so a writer that stopped between two
//! blocks leaves a good, shorter ledger (write with [`LedgerWriter::finish`] to know it did not).

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use crate::account::Pubkey;
use crate::tx::PACKET_DATA_SIZE;

mod encoded;
pub mod transactions;

pub use encoded::EncodedBlock;
use encoded::Span;
pub use transactions::Transactions;

/// The 8 bytes every ledger starts with.
pub const LEDGER_MAGIC: [u8; 8] = *b"TNDMLDG1";

/// Bytes in a block header: slot, parent slot, leader, timestamp, blockhash.
pub const BLOCK_HEADER_LEN: usize = 8 + 8 + 32 + 8 + 32;

/// The longest transaction a ledger may hold: Solana's `PACKET_DATA_SIZE`, 1,232 bytes.
pub const MAX_TRANSACTION_LEN: usize = PACKET_DATA_SIZE;

/// At most this many transaction slots are reserved ahead of reading them, whatever the count
/// says; more are added as transactions are actually read.
const MAX_PREALLOCATED_TRANSACTIONS: usize = 4096;

/// A block's header (SPEC §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    /// The block's slot.
    pub slot: u64,
    /// Its parent's slot (0, genesis, for the first block).
    pub parent_slot: u64,
    /// The leader that produced it.
    pub leader: Pubkey,
    /// Its clock, in milliseconds since the Unix epoch.
    pub unix_timestamp_ms: i64,
    /// Its blockhash, which later transactions may name as their recent blockhash.
    pub blockhash: [u8; 32],
}

impl BlockHeader {
    fn to_bytes(self) -> [u8; BLOCK_HEADER_LEN] {
        let mut out = [0u8; BLOCK_HEADER_LEN];
        out[0..8].copy_from_slice(&self.slot.to_le_bytes());
        out[8..16].copy_from_slice(&self.parent_slot.to_le_bytes());
        out[16..48].copy_from_slice(&self.leader.0);
        out[48..56].copy_from_slice(&self.unix_timestamp_ms.to_le_bytes());
        out[56..88].copy_from_slice(&self.blockhash);
        out
    }

    fn from_bytes(bytes: &[u8; BLOCK_HEADER_LEN]) -> BlockHeader {
        let array = |range: std::ops::Range<usize>| -> [u8; 8] {
            bytes[range].try_into().expect("8-byte field")
        };
        let key = |range: std::ops::Range<usize>| -> [u8; 32] {
            bytes[range].try_into().expect("32-byte field")
        };
        BlockHeader {
            slot: u64::from_le_bytes(array(0..8)),
            parent_slot: u64::from_le_bytes(array(8..16)),
            leader: Pubkey(key(16..48)),
            unix_timestamp_ms: i64::from_le_bytes(array(48..56)),
            blockhash: key(56..88),
        }
    }
}

/// A block: its header and its transactions' wire bytes, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// Each transaction's bytes, at most [`MAX_TRANSACTION_LEN`] each, in one buffer. They are
    /// not parsed here.
    pub transactions: Transactions,
}

impl Block {
    /// One block in the ledger's block encoding (SPEC §9, the magic left out), as the engine's
    /// C ABI takes it (`tandem_engine_submit_block`): exactly one block, every part checked as
    /// [`LedgerReader`] checks a file's, and nothing after it.
    pub fn decode(bytes: &[u8]) -> Result<Block, LedgerError> {
        Block::decode_into(bytes, Transactions::new())
    }

    /// [`Block::decode`] into `spare`, a buffer a block that went before left (emptied here):
    /// where its room suffices, the transactions take no allocation — and no fresh pages, which
    /// for a loaded block's megabytes cost more than the copy
    /// ([`crate::pipeline::Engine::spare_transactions`] hands them out). On an error `spare` is
    /// dropped.
    pub fn decode_into(bytes: &[u8], spare: Transactions) -> Result<Block, LedgerError> {
        Ok(EncodedBlock::parse(bytes)?.decode_into(spare))
    }

    /// The block in the ledger's block encoding (SPEC §9, the magic left out): what
    /// [`Block::decode`] reads. Refused as [`LedgerWriter::append`] refuses a block.
    pub fn encode(&self) -> Result<Vec<u8>, LedgerError> {
        let mut writer = LedgerWriter::new(Vec::new())?;
        writer.append(self)?;
        let mut bytes = writer.finish()?;
        bytes.drain(..LEDGER_MAGIC.len());
        Ok(bytes)
    }
}

/// A part of the file, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LedgerPart {
    /// The 8-byte magic.
    Magic,
    /// A block's header.
    Header,
    /// A block's transaction count.
    TransactionCount,
    /// The length of transaction `n` of a block.
    TransactionLength(u32),
    /// The bytes of transaction `n` of a block.
    TransactionBytes(u32),
}

impl fmt::Display for LedgerPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LedgerPart::Magic => f.write_str("the magic"),
            LedgerPart::Header => f.write_str("the header"),
            LedgerPart::TransactionCount => f.write_str("the transaction count"),
            LedgerPart::TransactionLength(n) => write!(f, "the length of transaction {n}"),
            LedgerPart::TransactionBytes(n) => write!(f, "the bytes of transaction {n}"),
        }
    }
}

impl LedgerPart {
    /// "the header of block 3", "the bytes of transaction 2 of block 3 (slot 57)" once the
    /// block's header was read; the magic belongs to no block.
    fn in_block(self, block: u64, slot: Option<u64>) -> String {
        match self {
            LedgerPart::Magic => self.to_string(),
            _ => format!("{self} of block {block}{}", at_slot(slot)),
        }
    }
}

/// " (slot 57)" for a block whose header was read, else nothing: a block's index in its file
/// (0 for a block given alone) is not the slot a host knows it by.
fn at_slot(slot: Option<u64>) -> String {
    slot.map_or_else(String::new, |slot| format!(" (slot {slot})"))
}

/// Why a ledger could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The OS failed a read, a write or an fsync.
    #[error("ledger {ledger}: {source}")]
    Io {
        /// The file's path, or `<stream>` for a reader or writer made with `new`.
        ledger: String,
        /// The OS error.
        source: io::Error,
    },
    /// The file does not start with [`LEDGER_MAGIC`].
    #[error("{ledger} is not a tandem ledger: it starts with \"{}\", not the magic \"TNDMLDG1\"", found.escape_ascii())]
    BadMagic {
        /// The file's path, or `<stream>`.
        ledger: String,
        /// The first 8 bytes.
        found: [u8; 8],
    },
    /// The file ends inside a part.
    #[error(
        "ledger {ledger} truncated: {} at byte {offset}: {needed} bytes needed, only {got} \
         remain",
        part.in_block(*block, *slot)
    )]
    Truncated {
        /// The file's path, or `<stream>`.
        ledger: String,
        /// The index of the block in the file, from 0 (0 for the magic).
        block: u64,
        /// The block's slot, where its header was read.
        slot: Option<u64>,
        /// The part that is cut short.
        part: LedgerPart,
        /// The byte offset where that part starts.
        offset: u64,
        /// The bytes the part needs.
        needed: u64,
        /// The bytes that were there.
        got: u64,
    },
    /// A transaction claims to be longer than any valid transaction.
    #[error(
        "corrupt ledger {ledger}: transaction {transaction} of block {block}{} claims {len} \
         bytes at byte {offset}; no transaction is longer than {MAX_TRANSACTION_LEN} bytes",
        at_slot(*slot)
    )]
    OversizedTransaction {
        /// The file's path, or `<stream>`.
        ledger: String,
        /// The index of the block in the file.
        block: u64,
        /// The block's slot.
        slot: Option<u64>,
        /// The transaction's index in its block.
        transaction: u32,
        /// The length it claims.
        len: u32,
        /// The byte offset of the length field.
        offset: u64,
    },
    /// A block claims more transactions than the rest of the file could hold.
    #[error(
        "corrupt ledger {ledger}: block {block}{} claims {count} transactions at byte \
         {offset}, but only {remaining} bytes follow (each transaction takes at least 4)",
        at_slot(*slot)
    )]
    ImpossibleCount {
        /// The file's path, or `<stream>`.
        ledger: String,
        /// The index of the block in the file.
        block: u64,
        /// The block's slot.
        slot: Option<u64>,
        /// The count it claims.
        count: u32,
        /// The byte offset of the count field.
        offset: u64,
        /// The bytes left in the file after the count.
        remaining: u64,
    },
    /// [`Block::decode`] was given no bytes.
    #[error("the block is empty: a block takes at least {} bytes (its header and count)", BLOCK_HEADER_LEN + 4)]
    EmptyBlock,
    /// [`Block::decode`] was given more bytes than one block.
    #[error("{extra} bytes follow the block's {used} bytes: give exactly one block")]
    TrailingBytes {
        /// The bytes the block took.
        used: u64,
        /// The bytes after it.
        extra: u64,
    },
    /// [`LedgerWriter::append`] was given a block the format cannot hold; nothing was written.
    #[error("cannot write block {block}: {reason}")]
    UnwritableBlock {
        /// The index the block would have had in the file.
        block: u64,
        /// What is wrong with it.
        reason: String,
    },
}

// ---- writing ---------------------------------------------------------------------------------

/// Writes a ledger: the magic at creation, then one block per [`LedgerWriter::append`].
pub struct LedgerWriter<W: Write> {
    sink: W,
    name: String,
    /// Makes the written bytes durable after the flush; set for files.
    sync: Option<fn(&mut W) -> io::Result<()>>,
    blocks: u64,
}

impl LedgerWriter<BufWriter<File>> {
    /// Creates (or truncates) the file at `path` and writes the magic; `finish` fsyncs it
    /// where it is a regular file.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, LedgerError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file = File::create(path).map_err(|source| LedgerError::Io {
            ledger: name.clone(),
            source,
        })?;
        // A file is made durable; a stream — a pipe, `/dev/null`, a terminal — cannot be
        // (fsync refuses it with EINVAL, and failed the writing of the whole ledger).
        let regular = file.metadata().is_ok_and(|m| m.is_file());
        let mut writer = LedgerWriter::named(BufWriter::new(file), name)?;
        if regular {
            writer.sync = Some(|w: &mut BufWriter<File>| w.get_ref().sync_all());
        }
        Ok(writer)
    }
}

impl<W: Write> LedgerWriter<W> {
    /// A writer onto `sink`; writes the magic.
    pub fn new(sink: W) -> Result<Self, LedgerError> {
        LedgerWriter::named(sink, "<stream>".to_owned())
    }

    /// A writer onto `sink`, named `name` in its errors (a path that names a stream,
    /// `/dev/stdout`); writes the magic.
    pub fn named(sink: W, name: String) -> Result<Self, LedgerError> {
        let mut writer = LedgerWriter {
            sink,
            name,
            sync: None,
            blocks: 0,
        };
        writer.write(&LEDGER_MAGIC)?;
        Ok(writer)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), LedgerError> {
        self.sink
            .write_all(bytes)
            .map_err(|source| LedgerError::Io {
                ledger: self.name.clone(),
                source,
            })
    }

    /// Appends one block. A block with more than `u32::MAX` transactions or a transaction longer
    /// than [`MAX_TRANSACTION_LEN`] is refused before anything is written, so the writer never
    /// produces a ledger the reader rejects. An I/O error may leave part of the block written.
    pub fn append(&mut self, block: &Block) -> Result<(), LedgerError> {
        let unwritable = |reason: String| LedgerError::UnwritableBlock {
            block: self.blocks,
            reason,
        };
        let count = u32::try_from(block.transactions.len()).map_err(|_| {
            unwritable(format!(
                "{} transactions, more than a u32 count",
                block.transactions.len()
            ))
        })?;
        if let Some((n, tx)) = block
            .transactions
            .iter()
            .enumerate()
            .find(|(_, tx)| tx.len() > MAX_TRANSACTION_LEN)
        {
            return Err(unwritable(format!(
                "transaction {n} is {} bytes, more than {MAX_TRANSACTION_LEN}",
                tx.len()
            )));
        }

        self.write(&block.header.to_bytes())?;
        self.write(&count.to_le_bytes())?;
        for tx in &block.transactions {
            // Checked above: at most MAX_TRANSACTION_LEN.
            self.write(&(tx.len() as u32).to_le_bytes())?;
            self.write(tx)?;
        }
        self.blocks += 1;
        Ok(())
    }

    /// Flushes, and for a file made by [`LedgerWriter::create`] fsyncs it; returns the sink.
    /// Dropping a writer without calling this may lose the last blocks silently.
    pub fn finish(mut self) -> Result<W, LedgerError> {
        let io = |name: &str, source| LedgerError::Io {
            ledger: name.to_owned(),
            source,
        };
        self.sink.flush().map_err(|e| io(&self.name, e))?;
        if let Some(sync) = self.sync {
            sync(&mut self.sink).map_err(|e| io(&self.name, e))?;
        }
        Ok(self.sink)
    }
}

// ---- reading ---------------------------------------------------------------------------------

/// Reads a ledger block by block, as an iterator of `Result<Block, LedgerError>`.
///
/// The magic is checked when the reader is made. After the first error the iterator ends.
pub struct LedgerReader<R: Read> {
    source: R,
    name: String,
    /// The file's length, when known; bounds the counts read from it.
    len: Option<u64>,
    /// Bytes consumed so far.
    offset: u64,
    /// Blocks read so far: the index of the next one.
    blocks: u64,
    /// The slot of the block being read, once its header is.
    slot: Option<u64>,
    done: bool,
}

impl LedgerReader<BufReader<File>> {
    /// Opens the ledger at `path` and checks its magic.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, LedgerError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let io = |source| LedgerError::Io {
            ledger: name.clone(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        // A pipe or a FIFO has no length to check counts against (its metadata says 0).
        let metadata = file.metadata().map_err(io)?;
        let len = metadata.is_file().then_some(metadata.len());
        LedgerReader::named(BufReader::new(file), name, len)
    }
}

impl<R: Read> LedgerReader<R> {
    /// A reader of `source`, whose length is not known; checks the magic.
    pub fn new(source: R) -> Result<Self, LedgerError> {
        LedgerReader::named(source, "<stream>".to_owned(), None)
    }

    fn named(source: R, name: String, len: Option<u64>) -> Result<Self, LedgerError> {
        let mut reader = LedgerReader {
            source,
            name,
            len,
            offset: 0,
            blocks: 0,
            slot: None,
            done: false,
        };
        let mut magic = [0u8; 8];
        reader.read_part(&mut magic, LedgerPart::Magic)?;
        if magic != LEDGER_MAGIC {
            return Err(LedgerError::BadMagic {
                ledger: reader.name,
                found: magic,
            });
        }
        Ok(reader)
    }

    /// Where the next block starts, for errors about it ("LEDGER: block 7, at byte 15150"): a
    /// block the runtime refuses is named in the file it came from, as a framing error is.
    pub fn next_block_place(&self) -> String {
        format!(
            "{}: block {}, at byte {}",
            self.name, self.blocks, self.offset
        )
    }

    /// Reads into `buf` until it is full or the source ends; returns the bytes read.
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize, LedgerError> {
        let mut got = 0;
        while got < buf.len() {
            match self.source.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(LedgerError::Io {
                        ledger: self.name.clone(),
                        source,
                    });
                }
            }
        }
        self.offset += got as u64;
        Ok(got)
    }

    /// Reads exactly `buf.len()` bytes of `part`, or reports where the file was cut.
    fn read_part(&mut self, buf: &mut [u8], part: LedgerPart) -> Result<(), LedgerError> {
        let offset = self.offset;
        let got = self.fill(buf)?;
        if got < buf.len() {
            return Err(LedgerError::Truncated {
                ledger: self.name.clone(),
                block: self.blocks,
                slot: self.slot,
                part,
                offset,
                needed: buf.len() as u64,
                got: got as u64,
            });
        }
        Ok(())
    }

    fn read_u32(&mut self, part: LedgerPart) -> Result<u32, LedgerError> {
        let mut bytes = [0u8; 4];
        self.read_part(&mut bytes, part)?;
        Ok(u32::from_le_bytes(bytes))
    }

    /// The next block, `None` at a clean end of file, its transactions in `transactions`
    /// (emptied first; its room kept), room for a bounded number of them reserved ahead.
    fn next_block(&mut self, transactions: Transactions) -> Result<Option<Block>, LedgerError> {
        let next = self.next_block_with(
            transactions,
            |transactions, count, _| {
                transactions.clear();
                transactions.try_reserve_exact(count.min(MAX_PREALLOCATED_TRANSACTIONS), 0);
            },
            |reader, transactions, len, part| reader.read_part(transactions.push_zeroed(len), part),
        )?;
        Ok(next.map(|(header, transactions)| Block {
            header,
            transactions,
        }))
    }

    /// The next block's header and transactions, `None` at a clean end of file: the
    /// transactions gathered `into` what `prepare(into, count, bytes)` readies for them
    /// (`bytes`: at most the transactions' bytes in all, where the input's length is known),
    /// each taken by `take(reader, into, len, part)`: the next `len` bytes of the input, or the
    /// error of [`LedgerReader::read_part`] where they are cut.
    fn next_block_with<T>(
        &mut self,
        mut into: T,
        prepare: impl FnOnce(&mut T, usize, Option<usize>),
        mut take: impl FnMut(&mut Self, &mut T, usize, LedgerPart) -> Result<(), LedgerError>,
    ) -> Result<Option<(BlockHeader, T)>, LedgerError> {
        let Some(BlockStart {
            header,
            count,
            bytes,
        }) = self.next_block_start()?
        else {
            return Ok(None);
        };
        prepare(&mut into, count as usize, bytes);
        for n in 0..count {
            let len = self.next_transaction_len(n)?;
            take(self, &mut into, len, LedgerPart::TransactionBytes(n))?;
        }
        self.blocks += 1;
        Ok(Some((header, into)))
    }

    /// The next block's header and transaction count, checked; `None` at a clean end of file.
    fn next_block_start(&mut self) -> Result<Option<BlockStart>, LedgerError> {
        self.slot = None;
        let start = self.offset;
        let mut header = [0u8; BLOCK_HEADER_LEN];
        let got = self.fill(&mut header)?;
        if got == 0 {
            return Ok(None);
        }
        if got < BLOCK_HEADER_LEN {
            return Err(LedgerError::Truncated {
                ledger: self.name.clone(),
                block: self.blocks,
                slot: self.slot,
                part: LedgerPart::Header,
                offset: start,
                needed: BLOCK_HEADER_LEN as u64,
                got: got as u64,
            });
        }
        let header = BlockHeader::from_bytes(&header);
        self.slot = Some(header.slot);

        let count_offset = self.offset;
        let count = self.read_u32(LedgerPart::TransactionCount)?;
        let mut bytes = None;
        if let Some(len) = self.len {
            let remaining = len.saturating_sub(self.offset);
            if u64::from(count) * 4 > remaining {
                return Err(LedgerError::ImpossibleCount {
                    ledger: self.name.clone(),
                    block: self.blocks,
                    slot: self.slot,
                    count,
                    offset: count_offset,
                    remaining,
                });
            }
            // The count passed the check: the transactions' bytes are at most what remains
            // less their lengths' fields — exactly that in a valid block.
            bytes = usize::try_from(remaining - u64::from(count) * 4).ok();
        }
        Ok(Some(BlockStart {
            header,
            count,
            bytes,
        }))
    }

    /// The length of the block's transaction `n`, read next, checked against
    /// [`MAX_TRANSACTION_LEN`].
    fn next_transaction_len(&mut self, n: u32) -> Result<usize, LedgerError> {
        let len_offset = self.offset;
        let len = self.read_u32(LedgerPart::TransactionLength(n))?;
        if len as usize > MAX_TRANSACTION_LEN {
            return Err(LedgerError::OversizedTransaction {
                ledger: self.name.clone(),
                block: self.blocks,
                slot: self.slot,
                transaction: n,
                len,
                offset: len_offset,
            });
        }
        Ok(len as usize)
    }

    /// Bytes consumed so far: after a block is returned, the byte offset of the next one.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

/// A block's header and transaction count, as [`LedgerReader::next_block_start`] read them.
struct BlockStart {
    header: BlockHeader,
    count: u32,
    /// At most the transactions' bytes in all, where the input's length is known.
    bytes: Option<usize>,
}

impl LedgerReader<&[u8]> {
    /// The place of the block's transaction `n` in the whole input, read next where it lies
    /// (nothing copied): for [`EncodedBlock`]. A cut input gives the reader's error.
    fn next_transaction_in_place(&mut self, n: u32) -> Result<Span, LedgerError> {
        let len = self.next_transaction_len(n)?;
        match self.source.split_at_checked(len) {
            Some((_, rest)) => {
                prefetch_ahead(rest);
                let start = self.offset as usize;
                self.source = rest;
                self.offset += len as u64;
                Ok(Span {
                    start,
                    end: start + len,
                })
            }
            None => {
                self.read_part(&mut vec![0; len], LedgerPart::TransactionBytes(n))?;
                unreachable!("a cut part is an error")
            }
        }
    }
}

/// How far ahead of the walk over a block in memory its bytes are fetched into the cache: a
/// few transactions' worth.
const PREFETCH_AHEAD: usize = 2048;

/// Asks the CPU to fetch the bytes [`PREFETCH_AHEAD`] into `rest` into its caches, where they
/// exist. The walk over a block's lengths ([`EncodedBlock::walk_to`]) reads one
/// field every transaction, each at a place the field before gives: from memory left cold, a
/// chain of misses the hardware's prefetchers do not run ahead of — 1.2 ms for a loaded block
/// (21,000 transactions, 4.6 MB) on the 2-vCPU Xeon guest, more than copying it.
#[inline]
fn prefetch_ahead(rest: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(ahead) = rest.get(PREFETCH_AHEAD) {
        // SAFETY: a prefetch is a hint that never faults; the address is in `rest`.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                (ahead as *const u8).cast(),
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = rest;
}

impl<R: Read> Iterator for LedgerReader<R> {
    type Item = Result<Block, LedgerError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_block(Transactions::new()).transpose();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

impl<R: Read> std::iter::FusedIterator for LedgerReader<R> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that gives at most 7 bytes a read: the reader's general path.
    struct Dribble<'a>(&'a [u8]);

    impl Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(7).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// A reader of one block's `bytes` (no magic), of their length, at the start.
    fn reader<R: Read>(source: R, len: usize) -> LedgerReader<R> {
        LedgerReader {
            source,
            name: "<block>".to_owned(),
            len: Some(len as u64),
            offset: 0,
            blocks: 0,
            slot: None,
            done: false,
        }
    }

    #[test]
    fn a_block_in_memory_reads_as_the_general_reader_reads_it_whole_cut_or_oversized() {
        let lens = [0, 1, 176, 600, MAX_TRANSACTION_LEN, 215];
        let block = Block {
            header: BlockHeader::from_bytes(&[3; BLOCK_HEADER_LEN]),
            transactions: (0..30)
                .map(|n| vec![n as u8; lens[n % lens.len()]])
                .collect::<Vec<_>>()
                .into(),
        };
        let bytes = block.encode().expect("encodes");
        // A length past the limit, in the fourth transaction's field.
        let mut oversized = bytes.clone();
        let fourth = BLOCK_HEADER_LEN + 4 + lens[..3].iter().map(|l| 4 + l).sum::<usize>();
        let field = (MAX_TRANSACTION_LEN as u32 + 1).to_le_bytes();
        oversized[fourth..fourth + 4].copy_from_slice(&field);
        let inputs = (0..=bytes.len())
            .map(|cut| &bytes[..cut])
            .chain([&oversized[..]]);
        for input in inputs {
            let general = reader(Dribble(input), input.len())
                .next_block(Transactions::new())
                .map_err(|e| format!("{e:?}"));
            let spare: Transactions = vec![vec![9u8; 40]; 3].into();
            let in_memory = match EncodedBlock::parse(input) {
                Ok(encoded) => Ok(Some(encoded.decode_into(spare))),
                Err(LedgerError::EmptyBlock) => Ok(None),
                Err(e) => Err(e),
            }
            .map_err(|e| format!("{e:?}"));
            assert_eq!(in_memory, general, "{} bytes", input.len());
        }
        assert_eq!(Block::decode(&bytes).expect("whole"), block);
        assert!(matches!(
            Block::decode(&oversized),
            Err(LedgerError::OversizedTransaction { transaction: 3, .. })
        ));
    }
}
