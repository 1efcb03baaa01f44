//! The duplicate-signature window (SPEC §2, check 4): the first signatures of the last
//! [`WINDOW`] blocks, one window for both domains, each entry tagged with its payer, kept
//! in a table of numbers rather than of signatures.

use std::collections::VecDeque;

use hashbrown::hash_table::Entry;
use hashbrown::{DefaultHashBuilder, HashSet, HashTable};

use crate::account::Pubkey;

/// Blocks whose blockhashes a transaction may name, and blocks a first signature is remembered
/// for (SPEC §2): both windows count blocks, not slots.
pub const WINDOW: u64 = 150;

/// The first signatures of the last [`WINDOW`] blocks, this one included: one window for both
/// domains (SPEC §2, check 4).
///
/// Every transaction that passes checks 1–3 enters it, whatever happens to it next. Because the
/// window counts blocks exactly as the blockhash window does, a signature is remembered for as long
/// as the blockhash its message names can be used: a transaction naming the blockhash of block `B`
/// can be included in blocks `B + 1 ..= B + 150`, and each of those remembers everything since
/// `B + 1`. Skipped slots shorten neither window.
///
/// Each entry also keeps a tag of the account that paid for it ([`PayerTag`]), so that the
/// entries of the accounts moving into the VED can be handed to the VED executor at an epoch
/// boundary ([`SignatureWindow::entries_paid_by`]); two windows are equal when they hold the same
/// signatures in the same blocks, whatever their tags.
///
/// The signatures themselves are kept once, in their blocks' lists; the table that finds them
/// holds for each a number and 32 bits of its hash — 8 bytes, not the 64 of a signature. At a
/// user load of 20,000 transactions a slot the window holds 3 million signatures, and a table of
/// whole signatures took 256 MB, then 512 MB: the removed blocks' places used up, such a table
/// grows even when the window does not (hashbrown doubles a table more than half full), and its
/// growth — every signature moved into half a gigabyte of fresh pages — took seconds of the
/// UED's thread, most of it page faults (`perf`, a 700-slot `tandem bench isolation`,
/// 2026-12-05), at the slots where votes came late. The table of numbers does the same work
/// in about a seventh of the memory (9 bytes a place with its control byte, against 65).
#[derive(Clone, Debug, Default)]
pub struct SignatureWindow {
    /// The window's blocks, oldest first: each with its first signatures and their payers' tags.
    pub(super) blocks: VecDeque<WindowBlock>,
    /// Every signature in the blocks, by its number ([`Seen`]).
    seen: HashTable<Seen>,
    /// Hashes a signature for `seen` (seeded at random per window; never written anywhere).
    hasher: DefaultHashBuilder,
    /// The number the next signature entered takes.
    next: u32,
}

/// One block of the [`SignatureWindow`]: its slot and its entries, which are numbered in order
/// from `first`.
#[derive(Clone, Debug)]
pub(super) struct WindowBlock {
    pub(super) slot: u64,
    /// The number of the block's first entry (numbers wrap; a window holds fewer than 2³²).
    first: u32,
    pub(super) entries: Vec<WindowEntry>,
}

/// A signature in the window's table: its number (where its block's list holds it) and 32 bits
/// of its hash, which the table's own hash is spread from (so the table grows without reading
/// a signature).
#[derive(Clone, Copy, Debug)]
struct Seen {
    number: u32,
    hash: u32,
}

/// The signature numbered `number` in `blocks` (a [`SignatureWindow`]'s), if one holds it.
fn signature_numbered(blocks: &VecDeque<WindowBlock>, number: u32) -> Option<&[u8; 64]> {
    let oldest = blocks.front()?.first;
    let offset = number.wrapping_sub(oldest);
    // The last block whose first entry is at or before it.
    let after = blocks.partition_point(|b| b.first.wrapping_sub(oldest) <= offset);
    let block = &blocks[after.checked_sub(1)?];
    let at = offset - block.first.wrapping_sub(oldest);
    block.entries.get(at as usize).map(|(s, _)| s)
}

/// Whether a table entry is `signature`, whose hash's 32 bits are `hash`: the bits agree, and
/// then the signature its number gives in `blocks`.
fn is<'a>(
    blocks: &'a VecDeque<WindowBlock>,
    signature: &'a [u8; 64],
    hash: u32,
) -> impl Fn(&Seen) -> bool + 'a {
    move |seen| seen.hash == hash && signature_numbered(blocks, seen.number) == Some(signature)
}

/// The table's hash of a signature whose hash's 32 bits are `hash`: spread over 64 bits, since
/// the table takes a bucket from the low bits and a tag from the top seven.
fn table_hash(hash: u32) -> u64 {
    u64::from(hash).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A first signature in the window, with the tag of its payer.
type WindowEntry = ([u8; 64], PayerTag);

/// The blocks that left the [`SignatureWindow`] when a block began in it, oldest first: what
/// [`SignatureWindow::undo_block`] puts back.
#[derive(Debug, Default)]
pub struct LeftTheWindow(Vec<WindowBlock>);

impl PartialEq for SignatureWindow {
    fn eq(&self, other: &SignatureWindow) -> bool {
        let signatures = |w: &SignatureWindow| {
            w.blocks
                .iter()
                .map(|b| {
                    (
                        b.slot,
                        b.entries.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
                    )
                })
                .collect::<Vec<_>>()
        };
        signatures(self) == signatures(other)
    }
}

impl Eq for SignatureWindow {}

/// Who paid for a transaction whose first signature is in the [`SignatureWindow`], as far as
/// the window knows: the first eight bytes of the payer's key (a tag, not the key: two payers
/// may share one, and an extract by tag gives a superset, which changes no answer — see
/// [`SignatureWindow::entries_paid_by`]), "a payer of the VED", or unknown (a window rebuilt
/// from status files of the format that did not record payers, or read from a state file with
/// the window inline).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PayerTag(u64);

impl PayerTag {
    /// The payer is not known.
    pub const UNKNOWN: PayerTag = PayerTag(0);
    /// Decided by the VED executor: the payer was an account of the VED then.
    pub const VED_PAYER: PayerTag = PayerTag(2);

    /// The tag of `payer` (odd, so never one of the constants).
    pub fn of(payer: &Pubkey) -> PayerTag {
        let prefix: [u8; 8] = payer.0[..8].try_into().expect("a key has 32 bytes");
        PayerTag(u64::from_le_bytes(prefix) | 1)
    }

    /// The tag as a status file records it.
    pub(super) fn to_raw(self) -> u64 {
        self.0
    }

    /// The tag a status file recorded: a payer's (odd), or [`PayerTag::UNKNOWN`] for a
    /// transaction that did not enter the window; `None` for any other value (a status file
    /// never records the other constant).
    pub(super) fn from_raw(raw: u64) -> Option<PayerTag> {
        (raw & 1 == 1 || raw == PayerTag::UNKNOWN.0).then_some(PayerTag(raw))
    }
}

impl SignatureWindow {
    /// The 32 bits of `signature`'s hash the table keeps.
    fn hash_of(&self, signature: &[u8; 64]) -> u32 {
        use std::hash::BuildHasher;
        self.hasher.hash_one(signature) as u32
    }

    /// Whether `signature` entered the window in one of its blocks.
    pub fn contains(&self, signature: &[u8; 64]) -> bool {
        let hash = self.hash_of(signature);
        self.seen
            .find(table_hash(hash), is(&self.blocks, signature, hash))
            .is_some()
    }

    /// Takes a block's entries out of the table.
    fn forget(&mut self, block: &WindowBlock) {
        for (at, (signature, _)) in block.entries.iter().enumerate() {
            let number = block.first.wrapping_add(at as u32);
            let hash = self.hash_of(signature);
            if let Ok(entry) = self
                .seen
                .find_entry(table_hash(hash), |seen| seen.number == number)
            {
                entry.remove();
            }
        }
    }

    /// Puts a block's entries in the table (each is in no other block).
    fn remember(&mut self, block: &WindowBlock) {
        for (at, (signature, _)) in block.entries.iter().enumerate() {
            let hash = self.hash_of(signature);
            self.enter(block.first.wrapping_add(at as u32), hash);
        }
    }

    /// Enters the signature numbered `number`, whose hash's 32 bits are `hash`, in the table.
    fn enter(&mut self, number: u32, hash: u32) {
        self.seen
            .insert_unique(table_hash(hash), Seen { number, hash }, |s| {
                table_hash(s.hash)
            });
    }

    /// Opens the window of the block at `slot` (after every block in it): the oldest block leaves
    /// when the window already holds [`WINDOW`] blocks, so it covers this block and the 149
    /// before it.
    pub fn begin_block(&mut self, slot: u64) {
        self.begin_block_undoably(slot);
    }

    /// [`SignatureWindow::begin_block`], giving the blocks that left the window, for
    /// [`SignatureWindow::undo_block`].
    pub fn begin_block_undoably(&mut self, slot: u64) -> LeftTheWindow {
        let mut left = Vec::new();
        while self.blocks.len() >= WINDOW as usize {
            let block = self.blocks.pop_front().expect("the window is not empty");
            self.forget(&block);
            left.push(block);
        }
        self.blocks.push_back(WindowBlock {
            slot,
            first: self.next,
            entries: Vec::new(),
        });
        LeftTheWindow(left)
    }

    /// Undoes the newest block: its signatures leave the window, and the blocks `left` (its
    /// [`SignatureWindow::begin_block_undoably`]) come back, as if it had never begun.
    pub fn undo_block(&mut self, left: LeftTheWindow) {
        if let Some(newest) = self.blocks.pop_back() {
            self.forget(&newest);
            self.next = newest.first;
        }
        for block in left.0.into_iter().rev() {
            self.remember(&block);
            self.blocks.push_front(block);
        }
    }

    /// Makes room in the window's table now for a next block as large as the newest: where it
    /// has too little left, the table grows (every entry moved into a table twice the size:
    /// 9–13 ms at 115,000 entries on a Zen 4 guest) or, with the removed blocks' places, is
    /// rehashed in place — work the next block's inserts would otherwise do. The VED executor
    /// calls this after its vote point, where it delays no vote.
    pub fn make_room_for_the_next_block(&mut self) {
        let newest = self.blocks.back().map_or(0, |b| b.entries.len());
        // The oldest block leaves before the next one's entries come in, once the window is full.
        let leaving = match self.blocks.front() {
            Some(b) if self.blocks.len() >= WINDOW as usize => b.entries.len(),
            _ => 0,
        };
        self.seen
            .reserve(newest.saturating_sub(leaving), |s| table_hash(s.hash));
    }

    /// Records `signature`, paid by `payer`, in the newest block; `false` (and nothing changes)
    /// when it is already in the window. Call [`SignatureWindow::begin_block`] first.
    pub fn insert(&mut self, signature: [u8; 64], payer: PayerTag) -> bool {
        if self.blocks.is_empty() {
            // No block to enter it in yet: open one (the table is empty: nothing is found).
            self.begin_block(0);
        }
        let hash = self.hash_of(&signature);
        // One probe of the table finds the signature or the place it goes.
        let found = self
            .seen
            .entry(table_hash(hash), is(&self.blocks, &signature, hash), |s| {
                table_hash(s.hash)
            });
        let Entry::Vacant(place) = found else {
            return false;
        };
        place.insert(Seen {
            number: self.next,
            hash,
        });
        self.next = self.next.wrapping_add(1);
        self.blocks
            .back_mut()
            .expect("a block to enter it in")
            .entries
            .push((signature, payer));
        true
    }

    /// The signatures in the window whose payer's tag is one of `payers`, oldest first; `None`
    /// when the window holds an entry whose payer it does not know (rebuilt at open from
    /// status files of the format without the payers' tags, or read from a state file of the
    /// format with the window inline: for the next [`WINDOW`] blocks).
    ///
    /// A superset (another payer with the same tag) changes no answer of check 4 for the
    /// accounts asked about: a valid signature binds its message, so a transaction shares its
    /// first signature only with the same signed message, paid by the same account.
    pub fn entries_paid_by(&self, payers: &HashSet<PayerTag>) -> Option<Vec<[u8; 64]>> {
        let mut entries = Vec::new();
        for (signature, payer) in self.blocks.iter().flat_map(|b| &b.entries) {
            if *payer == PayerTag::UNKNOWN {
                return None;
            }
            if payers.contains(payer) {
                entries.push(*signature);
            }
        }
        Some(entries)
    }

    /// Signatures remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Blocks in the window (at most [`WINDOW`]).
    pub fn blocks(&self) -> usize {
        self.blocks.len()
    }

    /// What a state file records of the window ([`WindowShape`]).
    pub fn shape(&self) -> WindowShape {
        WindowShape {
            blocks: self.blocks.len(),
            first_slot: self.blocks.front().map_or(0, |b| b.slot),
            signatures: self.seen.len(),
        }
    }
}

/// What a state file records of the duplicate window, to check the window rebuilt from the
/// status files against: its blocks, the slot of the oldest, and the signatures it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowShape {
    /// Blocks in the window.
    pub blocks: usize,
    /// The slot of its oldest block (0 when it has none).
    pub first_slot: u64,
    /// Signatures it holds.
    pub signatures: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_undone_leaves_the_window_as_it_was_also_when_blocks_left_it() {
        let signature = |slot: u64, i: u64| {
            let mut s = [0u8; 64];
            s[..8].copy_from_slice(&slot.to_le_bytes());
            s[8..16].copy_from_slice(&i.to_le_bytes());
            s
        };
        let tag = PayerTag::of(&Pubkey([7; 32]));
        let mut window = SignatureWindow::default();
        for slot in 1..=WINDOW + 3 {
            // Another block of the slot first, entered and undone: past the window's length,
            // the oldest block left the window when it began, and comes back.
            let before = window.clone();
            let left = window.begin_block_undoably(slot);
            for i in 0..3 {
                assert!(window.insert(signature(slot, 100 + i), tag));
            }
            assert_eq!(left.0.len(), usize::from(slot > WINDOW));
            window.undo_block(left);
            assert_eq!(window, before, "slot {slot}");
            assert_eq!(window.len(), before.len());
            assert!((1..slot).all(|s| window.contains(&signature(s, 0)) == (s + WINDOW >= slot)));
            assert!(!window.contains(&signature(slot, 100)));
            // The block that stays.
            window.begin_block(slot);
            for i in 0..2 {
                assert!(window.insert(signature(slot, i), tag));
            }
        }
        assert_eq!(window.blocks(), WINDOW as usize);
    }

    /// The window against a plain model (a list of blocks, each a list of signatures), over
    /// random blocks that repeat signatures of blocks in and out of the window, undo blocks
    /// past the window's length, and have entry numbers that wrap past 2³² — every answer the
    /// same as the model's.
    #[test]
    fn the_window_answers_as_a_list_of_its_blocks_would_across_undos_and_wrapping_numbers() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut random = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        // Signatures drawn from a small space, so that repeats are common.
        let signature = |k: u64| {
            let mut s = [0u8; 64];
            s[..8].copy_from_slice(&k.to_le_bytes());
            s
        };
        let tag = PayerTag::of(&Pubkey([3; 32]));
        let mut window = SignatureWindow {
            next: u32::MAX - 1_000,
            ..SignatureWindow::default()
        };
        let mut model: VecDeque<Vec<u64>> = VecDeque::new();
        let in_model = |model: &VecDeque<Vec<u64>>, k: u64| model.iter().any(|b| b.contains(&k));
        for slot in 1..=2 * WINDOW + 40 {
            let undone = random(4) == 0;
            let before = window.clone();
            let left = window.begin_block_undoably(slot);
            let mut block = model.clone();
            while block.len() >= WINDOW as usize {
                block.pop_front();
            }
            block.push_back(Vec::new());
            for _ in 0..random(40) {
                let k = random(6_000);
                let fresh = !in_model(&block, k);
                assert_eq!(window.insert(signature(k), tag), fresh, "slot {slot}, {k}");
                if fresh {
                    block.back_mut().expect("a block").push(k);
                }
            }
            if undone {
                window.undo_block(left);
                assert_eq!(window, before, "slot {slot}");
            } else {
                model = block;
                window.make_room_for_the_next_block();
            }
            let held: usize = model.iter().map(Vec::len).sum();
            assert_eq!(window.len(), held, "slot {slot}");
            for k in (slot % 5..6_000).step_by(5) {
                assert_eq!(window.contains(&signature(k)), in_model(&model, k), "{k}");
            }
        }
        assert!(
            window.next < 1_000_000,
            "the numbers wrapped: next {}",
            window.next
        );
    }

    /// The window's table keeps a number and part of a hash per signature (8 bytes), not the
    /// signature (64): at 20,000 transactions a slot the window holds 3 million signatures, and
    /// the table of whole signatures grew to 512 MB in the UED's thread (type docs).
    #[test]
    fn the_windows_table_takes_a_few_bytes_a_signature_not_the_signature() {
        let mut window = SignatureWindow::default();
        for slot in 1..=WINDOW + 10 {
            window.begin_block(slot);
            for i in 0..500u64 {
                let mut s = [0u8; 64];
                s[..8].copy_from_slice(&slot.to_le_bytes());
                s[8..16].copy_from_slice(&i.to_le_bytes());
                assert!(window.insert(s, PayerTag::VED_PAYER));
            }
            window.make_room_for_the_next_block();
        }
        assert_eq!(window.len(), 75_000);
        // Each place of the table: its entry and a control byte, over the table's load limit
        // (7/8); whole signatures took 74.
        let per_place = window.seen.allocation_size() as f64 / window.seen.capacity() as f64;
        assert!(
            per_place < 16.0,
            "{per_place:.1} bytes a place in the table"
        );
    }

    /// Made room for after a block, the window takes a block as large without its table
    /// growing or rehashing in place (it does either only when an insert finds no room left:
    /// `capacity - len`, which a remove never lowers), where without it a block's inserts
    /// would — every entry moved, on the vote's path.
    #[test]
    fn room_made_after_a_block_takes_the_next_block_like_it_without_a_rehash() {
        let signature = |slot: u64, i: u64| {
            let mut s = [0; 64];
            s[..8].copy_from_slice(&slot.to_le_bytes());
            s[8..16].copy_from_slice(&i.to_le_bytes());
            s
        };
        for made_room in [true, false] {
            let mut window = SignatureWindow::default();
            let mut short = 0;
            for slot in 1..=3 * WINDOW {
                if made_room {
                    window.make_room_for_the_next_block();
                }
                window.begin_block(slot);
                // (The first block has no block before it to go by.)
                if slot > 1 && window.seen.capacity() - window.seen.len() < 1_000 {
                    short += 1;
                }
                for i in 0..1_000 {
                    assert!(window.insert(signature(slot, i), PayerTag::VED_PAYER));
                }
            }
            assert_eq!(window.len(), 150_000);
            if made_room {
                assert_eq!(short, 0, "blocks that found too little room");
            } else {
                assert!(short > 0, "without it, blocks find too little room");
            }
        }
    }
}
