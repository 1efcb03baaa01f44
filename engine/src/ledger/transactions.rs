//! A block's transactions in one buffer: [`Transactions`].
//!
//! A loaded block carries some 20,000 transactions. Kept as a `Vec` each, decoding it was 20,000
//! allocations and dropping it 20,000 frees — 4.8–5.7 ms for a 4.6 MB block on a Zen 3 core,
//! the decode on the vote's path when the block arrives encoded (the C ABI's
//! `tandem_engine_submit_block`), the frees on the UED's thread. Here the wire bytes lie back to
//! back in one buffer, with where each transaction ends beside them: [`crate::ledger::Block::decode`]
//! allocates the two once and copies each transaction in (0.40–0.46 ms, drop included), and every
//! reader still sees each transaction as its own `&[u8]`.

use std::fmt;
use std::iter::FusedIterator;
use std::ops::{Index, Range};

/// A block's transactions' wire bytes, in order, in one buffer.
///
/// Indexing gives one transaction's bytes; iterating gives each in order. Equal when the
/// transactions are, one by one.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Transactions {
    /// Every transaction's bytes, back to back.
    bytes: Vec<u8>,
    /// Where transaction `i` ends in `bytes`; it starts where transaction `i - 1` ends (at 0
    /// for the first).
    ends: Vec<usize>,
}

impl Transactions {
    /// No transactions.
    pub fn new() -> Transactions {
        Transactions::default()
    }

    /// No transactions, with room for `count` of them holding `bytes` bytes in all.
    pub fn with_capacity(count: usize, bytes: usize) -> Transactions {
        Transactions {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(count),
        }
    }

    /// Reserves room for `count` more transactions holding `bytes` more bytes, where the
    /// allocator can give it; where it cannot, nothing more is reserved, the room left unused
    /// is given back, and the buffers grow as transactions are pushed (a reservation is a guess
    /// from untrusted input, never a reason to abort). An empty buffer whose room is too small
    /// — a spare from a smaller block — is replaced, not grown: growing it would copy the old
    /// block's bytes for nothing.
    pub(super) fn try_reserve_exact(&mut self, count: usize, bytes: usize) {
        if self.ends.is_empty() && self.ends.capacity() < count {
            self.ends = Vec::new();
        }
        if self.bytes.is_empty() && self.bytes.capacity() < bytes {
            self.bytes = Vec::new();
        }
        if self.ends.try_reserve_exact(count).is_err()
            || self.bytes.try_reserve_exact(bytes).is_err()
        {
            self.ends.shrink_to_fit();
            self.bytes.shrink_to_fit();
        }
    }

    /// How many transactions there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Every transaction's bytes together: the sum of their lengths.
    pub fn total_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Transaction `index`'s bytes, if there is one.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        self.span(index).map(|span| &self.bytes[span])
    }

    /// Each transaction's bytes, in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            transactions: self,
            front: 0,
            back: self.len(),
        }
    }

    /// Appends one transaction.
    pub fn push(&mut self, transaction: impl AsRef<[u8]>) {
        self.bytes.extend_from_slice(transaction.as_ref());
        self.ends.push(self.bytes.len());
    }

    /// Appends one transaction of `len` bytes, zeroed, and returns them to be filled in: the
    /// reader of a ledger reads straight into the buffer.
    pub(super) fn push_zeroed(&mut self, len: usize) -> &mut [u8] {
        let start = self.bytes.len();
        self.bytes.resize(start + len, 0);
        self.ends.push(self.bytes.len());
        &mut self.bytes[start..]
    }

    /// Drops every transaction and keeps the room they took, for the next block's.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    /// How many bytes of transactions it holds room for without growing.
    pub fn byte_capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// Keeps the first `len` transactions and drops the rest (nothing when there are no more).
    pub fn truncate(&mut self, len: usize) {
        if len < self.len() {
            self.bytes.truncate(self.start(len));
            self.ends.truncate(len);
        }
    }

    /// Replaces transaction `index`'s bytes with `transaction`'s; the others stay as they are.
    ///
    /// # Panics
    ///
    /// If there is no transaction `index`.
    pub fn replace(&mut self, index: usize, transaction: impl AsRef<[u8]>) {
        let Some(span) = self.span(index) else {
            panic!("no transaction {index} of {}", self.len());
        };
        let transaction = transaction.as_ref();
        let (old, new) = (span.len(), transaction.len());
        self.bytes.splice(span, transaction.iter().copied());
        for end in &mut self.ends[index..] {
            *end = *end - old + new;
        }
    }

    /// Keeps only the transactions for which `keep` says `true`, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&[u8]) -> bool) {
        let kept: Transactions = self.iter().filter(|tx| keep(tx)).collect();
        *self = kept;
    }

    /// Room reserved and not used: transactions, bytes.
    #[cfg(test)]
    fn spare(&self) -> (usize, usize) {
        (
            self.ends.capacity() - self.ends.len(),
            self.bytes.capacity() - self.bytes.len(),
        )
    }

    fn start(&self, index: usize) -> usize {
        match index {
            0 => 0,
            _ => self.ends[index - 1],
        }
    }

    fn span(&self, index: usize) -> Option<Range<usize>> {
        let end = *self.ends.get(index)?;
        Some(self.start(index)..end)
    }
}

impl Index<usize> for Transactions {
    type Output = [u8];

    fn index(&self, index: usize) -> &[u8] {
        match self.get(index) {
            Some(tx) => tx,
            None => panic!("no transaction {index} of {}", self.len()),
        }
    }
}

impl fmt::Debug for Transactions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: AsRef<[u8]>> FromIterator<T> for Transactions {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Transactions {
        let mut out = Transactions::new();
        out.extend(iter);
        out
    }
}

impl<T: AsRef<[u8]>> Extend<T> for Transactions {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for tx in iter {
            self.push(tx.as_ref());
        }
    }
}

impl From<Vec<Vec<u8>>> for Transactions {
    fn from(transactions: Vec<Vec<u8>>) -> Transactions {
        let bytes = transactions.iter().map(Vec::len).sum();
        let mut out = Transactions::with_capacity(transactions.len(), bytes);
        out.extend(transactions);
        out
    }
}

impl<'a> IntoIterator for &'a Transactions {
    type Item = &'a [u8];
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The iterator of [`Transactions::iter`].
#[derive(Clone)]
pub struct Iter<'a> {
    transactions: &'a Transactions,
    /// The next transaction from the front.
    front: usize,
    /// One past the next transaction from the back.
    back: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.front == self.back {
            return None;
        }
        self.front += 1;
        self.transactions.get(self.front - 1)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.back - self.front;
        (left, Some(left))
    }

    fn nth(&mut self, n: usize) -> Option<&'a [u8]> {
        self.front = self.front.saturating_add(n).min(self.back);
        self.next()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        self.transactions.get(self.back)
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl FusedIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Vec<u8>> {
        vec![vec![1, 2, 3], vec![], vec![4], vec![5, 6]]
    }

    #[test]
    fn each_transaction_reads_back_as_it_went_in() {
        let txs = Transactions::from(sample());
        assert_eq!(txs.len(), 4);
        assert_eq!(txs.total_bytes(), 6);
        for (i, tx) in sample().iter().enumerate() {
            assert_eq!(&txs[i], &tx[..], "transaction {i}");
        }
        assert_eq!(txs.get(4), None);
        let forward: Vec<&[u8]> = txs.iter().collect();
        assert_eq!(forward, [&[1, 2, 3][..], &[], &[4], &[5, 6]]);
        let backward: Vec<&[u8]> = txs.iter().rev().collect();
        assert_eq!(backward, [&[5, 6][..], &[4], &[], &[1, 2, 3]]);
        let mut it = txs.iter();
        assert_eq!(it.len(), 4);
        assert_eq!(it.nth(2), Some(&[4][..]));
        assert_eq!(it.len(), 1);
        assert_eq!(it.next_back(), Some(&[5, 6][..]));
        assert_eq!(it.next(), None);
        assert_eq!(it.nth(7), None);
    }

    #[test]
    fn truncate_replace_and_retain_keep_the_others() {
        let txs = Transactions::from(sample());
        let mut replaced = txs.clone();
        replaced.replace(1, [9, 9]);
        assert_eq!(
            replaced,
            [&[1, 2, 3][..], &[9, 9], &[4], &[5, 6]]
                .into_iter()
                .collect()
        );
        let mut cut = replaced.clone();
        cut.truncate(2);
        assert_eq!(cut, [&[1, 2, 3][..], &[9, 9]].into_iter().collect());
        cut.truncate(5);
        assert_eq!(cut.len(), 2);
        cut.push([7]);
        assert_eq!(&cut[2], &[7]);
        assert_eq!(cut.total_bytes(), 6);
        let mut shorter = txs.clone();
        shorter.replace(0, []);
        shorter.replace(3, [8, 8, 8, 8]);
        assert_eq!(
            shorter,
            [&[][..], &[], &[4], &[8, 8, 8, 8]].into_iter().collect()
        );
        shorter.retain(|tx| !tx.is_empty());
        assert_eq!(shorter, [&[4][..], &[8, 8, 8, 8]].into_iter().collect());
        // Equality is transaction by transaction: the same bytes cut differently differ.
        let other: Transactions = [&[1, 2][..], &[3, 9, 9]].into_iter().collect();
        assert_ne!(other, cut.iter().take(2).collect());
    }

    #[test]
    fn a_decoded_block_holds_no_spare_room_and_takes_none_in_a_spare_one() {
        use crate::account::Pubkey;
        use crate::ledger::{Block, BlockHeader};
        let block = Block {
            header: BlockHeader {
                slot: 3,
                parent_slot: 2,
                leader: Pubkey([4; 32]),
                unix_timestamp_ms: 5,
                blockhash: [6; 32],
            },
            transactions: (0..5000u32)
                .map(|i| vec![i as u8; 100 + i as usize % 200])
                .collect(),
        };
        let decoded = Block::decode(&block.encode().expect("encodes")).expect("decodes");
        assert_eq!(decoded, block);
        // Decoded afresh, one allocation each, of exactly the block's size: kept until the UED
        // drops the block.
        assert_eq!(decoded.transactions.spare(), (0, 0));

        // Decoded into the buffer a block left, a block no larger takes no allocation: the
        // same bytes' buffer, emptied of the old block.
        let smaller = Block {
            transactions: block.transactions.iter().skip(100).collect(),
            ..block.clone()
        };
        let spare = decoded.transactions;
        let room = (spare.bytes.capacity(), spare.ends.capacity());
        let at = (spare.bytes.as_ptr(), spare.ends.as_ptr());
        let again =
            Block::decode_into(&smaller.encode().expect("encodes"), spare).expect("decodes");
        assert_eq!(again, smaller);
        let kept = &again.transactions;
        assert_eq!((kept.bytes.as_ptr(), kept.ends.as_ptr()), at);
        assert_eq!((kept.bytes.capacity(), kept.ends.capacity()), room);
        // A larger block than the spare had room for takes fresh room of exactly its size (the
        // spare is not grown: that would copy its old bytes); a bad one is an error as ever.
        let small = Block::decode_into(&smaller.encode().expect("encodes"), Transactions::new())
            .expect("decodes");
        let larger = Block::decode_into(&block.encode().expect("encodes"), small.transactions)
            .expect("decodes");
        assert_eq!(larger, block);
        assert_eq!(larger.transactions.spare(), (0, 0));
        let mut truncated = block.encode().expect("encodes");
        truncated.pop();
        assert!(Block::decode_into(&truncated, larger.transactions).is_err());
    }

    #[test]
    #[should_panic(expected = "no transaction 4 of 4")]
    fn indexing_past_the_end_names_the_count() {
        let _ = &Transactions::from(sample())[4];
    }
}
