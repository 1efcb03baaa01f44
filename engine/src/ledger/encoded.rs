//! One block in its encoding, checked and read in place: [`EncodedBlock`].
//!
//! A host that receives blocks as bytes (the C ABI's `tandem_engine_submit_block`) hands the
//! engine one block's encoding. Decoding it copies every transaction into a buffer the engine
//! keeps — a loaded block's 4.6 MB, 0.6–1.0 ms on a 2-vCPU Xeon guest, where memory copies run
//! at about 7 GB/s. Read in place, the block is checked whole (every length, nothing cut,
//! nothing after it) without copying anything, and each transaction is a slice of the host's
//! bytes: the engine copies the few it needs at once (the votes) and the rest later, off the
//! vote's path ([`crate::pipeline::Engine::submit_encoded`]).

use super::{Block, BlockHeader, LedgerError, LedgerReader, Transactions};

/// Where one transaction's bytes lie in a block's encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Span {
    pub(super) start: usize,
    pub(super) end: usize,
}

/// One block in the ledger's block encoding (SPEC §9, the magic left out), checked as
/// [`Block::decode`] checks it, its transactions read where they lie in `bytes`.
///
/// Read in steps: [`EncodedBlock::begin`] reads the header and the transaction count,
/// [`EncodedBlock::walk_to`] the transactions' lengths up to one (for a loaded block the walk is
/// the larger part: 21,000 lengths, each at a place the one before gives), so that a reader can
/// start on its first transactions before the walk reaches the last. [`EncodedBlock::parse`]
/// walks it whole.
pub struct EncodedBlock<'a> {
    /// The header.
    pub header: BlockHeader,
    count: u32,
    bytes: &'a [u8],
    /// Where the walk is: just past the last transaction walked.
    reader: LedgerReader<&'a [u8]>,
    /// The transactions walked, in order.
    spans: Vec<Span>,
    /// Where the first transaction starts: just past the count.
    first_transaction: usize,
}

impl std::fmt::Debug for EncodedBlock<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodedBlock")
            .field("header", &self.header)
            .field("transactions", &self.count)
            .field("walked", &self.spans.len())
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl<'a> EncodedBlock<'a> {
    /// Exactly one block in `bytes`, every part checked as [`Block::decode`] checks it (and
    /// refused with the same errors), nothing copied.
    pub fn parse(bytes: &'a [u8]) -> Result<EncodedBlock<'a>, LedgerError> {
        let mut block = EncodedBlock::begin(bytes)?;
        block.walk_to(block.len())?;
        Ok(block)
    }

    /// The block in `bytes` with its header and transaction count read and checked, none of
    /// its transactions walked yet: the errors [`Block::decode`] gives for those parts.
    pub fn begin(bytes: &'a [u8]) -> Result<EncodedBlock<'a>, LedgerError> {
        let mut reader = LedgerReader {
            source: bytes,
            name: "<block>".to_owned(),
            len: Some(bytes.len() as u64),
            offset: 0,
            blocks: 0,
            slot: None,
            done: false,
        };
        let start = reader.next_block_start()?.ok_or(LedgerError::EmptyBlock)?;
        // Room for every transaction the count claims (the count passed the reader's check
        // against the input's length, but a span takes 16 bytes to a transaction's 4 at the
        // least: up to four times the input) where the allocator gives it, else grown as the
        // walk goes: a claim is never a reason to abort.
        let mut spans = Vec::new();
        let _ = spans.try_reserve_exact(start.count as usize);
        let first_transaction = reader.offset as usize;
        let mut block = EncodedBlock {
            header: start.header,
            count: start.count,
            bytes,
            reader,
            spans,
            first_transaction,
        };
        if block.count == 0 {
            block.end()?;
        }
        Ok(block)
    }

    /// Walks the transactions up to `end` (at most [`EncodedBlock::len`]; those walked
    /// already stay), checking each length; past the last one, that nothing follows it. On an
    /// error the walk stays before the transaction at fault (the last one, where bytes follow
    /// it): the bytes are not one block, and walking again gives the same error.
    pub fn walk_to(&mut self, end: usize) -> Result<(), LedgerError> {
        let end = end.min(self.len());
        while self.spans.len() < end {
            let n = self.spans.len() as u32;
            let span = match self.reader.next_transaction_in_place(n) {
                Ok(span) => span,
                Err(e) => return Err(self.walk_failed(e)),
            };
            self.spans.push(span);
            if self.spans.len() == self.len()
                && let Err(e) = self.end()
            {
                // Not counted as walked: the block is not walked whole.
                self.spans.pop();
                return Err(self.walk_failed(e));
            }
        }
        Ok(())
    }

    /// Puts the walk back where it was before the transaction at fault, and gives `e`.
    #[cold]
    fn walk_failed(&mut self, e: LedgerError) -> LedgerError {
        let at = self
            .spans
            .last()
            .map_or(self.first_transaction, |span| span.end);
        self.reader.source = &self.bytes[at..];
        self.reader.offset = at as u64;
        e
    }

    /// After the last transaction: nothing may follow.
    fn end(&mut self) -> Result<(), LedgerError> {
        let used = self.reader.offset;
        match self.bytes.len() as u64 - used {
            0 => {
                self.reader.blocks += 1;
                Ok(())
            }
            extra => Err(LedgerError::TrailingBytes { used, extra }),
        }
    }

    /// How many transactions it holds (its count, walked or not).
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// How many transactions are walked: those [`EncodedBlock::get`] gives.
    pub fn walked(&self) -> usize {
        self.spans.len()
    }

    /// Transaction `index`'s bytes, where they lie in the encoding, if it is walked.
    pub fn get(&self, index: usize) -> Option<&'a [u8]> {
        let bytes: &'a [u8] = self.bytes;
        self.spans.get(index).map(|s| &bytes[s.start..s.end])
    }

    /// Each walked transaction's bytes, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + '_ {
        let bytes: &'a [u8] = self.bytes;
        self.spans.iter().map(move |s| &bytes[s.start..s.end])
    }

    /// The block, its transactions copied into `spare` (a buffer a block that went before left,
    /// emptied here; its room kept where it suffices): [`Block::decode_into`].
    ///
    /// # Panics
    /// If the block is not walked whole ([`EncodedBlock::walk_to`]).
    pub fn decode_into(&self, spare: Transactions) -> Block {
        self.copy_into(spare, |_| true)
    }

    /// The block with only the transactions `keep` picks copied into `spare`, each other one
    /// left empty in its place: the same count, every kept transaction at its index. For the
    /// readers of a block that need a few of its transactions before the rest is copied.
    pub fn decode_some_into(&self, spare: Transactions, keep: impl Fn(usize) -> bool) -> Block {
        self.copy_into(spare, keep)
    }

    fn copy_into(&self, mut spare: Transactions, keep: impl Fn(usize) -> bool) -> Block {
        assert_eq!(self.walked(), self.len(), "a block walked whole");
        spare.clear();
        let kept = (0..self.len()).filter(|&i| keep(i));
        let bytes = kept.map(|i| self.spans[i].end - self.spans[i].start).sum();
        spare.try_reserve_exact(self.len(), bytes);
        for (i, wire) in self.iter().enumerate() {
            spare.push(if keep(i) { wire } else { &[][..] });
        }
        Block {
            header: self.header,
            transactions: spare,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::Pubkey;
    use crate::ledger::BLOCK_HEADER_LEN;

    fn block() -> Block {
        Block {
            header: BlockHeader {
                slot: 7,
                parent_slot: 6,
                leader: Pubkey([3; 32]),
                unix_timestamp_ms: 1_000,
                blockhash: [4; 32],
            },
            transactions: (0..5u8).map(|i| vec![i; 10 + usize::from(i)]).collect(),
        }
    }

    #[test]
    fn a_block_read_in_place_holds_the_decoded_blocks_transactions_where_they_lie() {
        let block = block();
        let bytes = block.encode().expect("encodes");
        let encoded = EncodedBlock::parse(&bytes).expect("one block");
        assert_eq!(encoded.header, block.header);
        assert_eq!(encoded.len(), 5);
        assert!(encoded.iter().eq(block.transactions.iter()));
        assert_eq!(encoded.get(4), block.transactions.get(4));
        assert_eq!(encoded.get(5), None);
        // A slice of the input, not a copy.
        let wire = encoded.get(2).expect("the third");
        let within = bytes.as_ptr_range();
        assert!(within.contains(&wire.as_ptr()));
        let spare: Transactions = vec![vec![9u8; 400]; 3].into();
        assert_eq!(encoded.decode_into(spare), block);
    }

    #[test]
    fn a_block_decoded_in_part_keeps_each_picked_transaction_at_its_index() {
        let block = block();
        let bytes = block.encode().expect("encodes");
        let encoded = EncodedBlock::parse(&bytes).expect("one block");
        let odd = encoded.decode_some_into(Transactions::new(), |i| i % 2 == 1);
        assert_eq!(odd.header, block.header);
        assert_eq!(odd.transactions.len(), 5);
        for (i, wire) in odd.transactions.iter().enumerate() {
            let want: &[u8] = if i % 2 == 1 {
                &block.transactions[i]
            } else {
                &[]
            };
            assert_eq!(wire, want, "transaction {i}");
        }
    }

    #[test]
    fn more_than_one_block_or_none_is_refused_as_decode_refuses_it() {
        let bytes = block().encode().expect("encodes");
        let mut two = bytes.clone();
        two.extend_from_slice(&bytes);
        assert!(matches!(
            EncodedBlock::parse(&two),
            Err(LedgerError::TrailingBytes { extra, .. }) if extra == bytes.len() as u64
        ));
        assert!(matches!(
            EncodedBlock::parse(&[]),
            Err(LedgerError::EmptyBlock)
        ));
    }

    /// A walk that failed stays failed: walked again, the bytes give the same error, and the
    /// block never counts as walked whole (its copy would be a block the bytes are not).
    #[test]
    fn a_walk_that_failed_gives_the_same_error_when_walked_again() {
        let block = block();
        let bytes = block.encode().expect("encodes");
        let mut trailing = bytes.clone();
        trailing.push(0);
        let mut oversized = bytes.clone();
        // The third transaction's length field.
        let field = BLOCK_HEADER_LEN + 4 + (4 + 10) + (4 + 11);
        oversized[field..field + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut cut = bytes.clone();
        cut.truncate(bytes.len() - 3);
        for broken in [&trailing, &oversized, &cut] {
            let decoded = Block::decode(broken)
                .expect_err("not one block")
                .to_string();
            let mut encoded = EncodedBlock::begin(broken).expect("its header and count");
            for attempt in 0..3 {
                let walked = encoded.walk_to(encoded.len()).expect_err("not one block");
                assert_eq!(walked.to_string(), decoded, "attempt {attempt}");
                assert!(encoded.walked() < encoded.len(), "attempt {attempt}");
            }
        }
    }
}
