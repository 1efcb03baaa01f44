//! The live status index: the statuses of the recent blocks as the executors decide them — the
//! VED's at its vote point, every block's at the UED's commit — which
//! [`super::Engine::execution_status`] answers from before the store's status files have them.
//!
//! The VED enters its slot's statuses under the index's lock before it publishes the slot's
//! hash, so nothing here may hold that lock for long: the UED enters a committed block and
//! lets the oldest go [`INDEX_PART`] signatures at a time; the index's tables are many small
//! ones ([`ShardedMap`]), so that one growing never moves the whole index under the lock, and
//! the UED grows them ahead of their limits, a few under each hold ([`GROWTH_PART`]), so that
//! they do not all grow together inside the VED's inserts — their fresh memory allocated and
//! faulted in between holds, so that the lock is held for the moves alone ([`hold`]).
//!
//! The VED's statuses wait in tables of their own ([`LiveIndex::ved_ahead`]) until the UED
//! commits their slot: they hold the VED's blocks the UED has not committed yet — its own
//! block's size times the UED's lag, a few hundred kilobytes of entries, in tables of about
//! 2.9 MB in all (1,024 tables each made room in ahead for a few more entries than it holds,
//! 32 places of 88 bytes while it holds none) — while the committed index holds every
//! transaction of hundreds of blocks (tens of megabytes at 20,000 user transactions a slot). Entered there, the VED's inserts before each vote cost
//! what its own block costs, whatever the user load: entered into the committed index they
//! went to memory for each signature, 0.30 ms a block more with 20,000 user transfers a slot
//! than without (`perf`, `tandem bench isolation`, Zen 4 guest, 2026-12-05).

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::shared::Shared;
use crate::ledger::Block;
use crate::runtime::executor::VedSlot;
use crate::runtime::status_index::{IndexedTx, KEPT_BLOCKS};
use crate::runtime::ved_log::LoggedSlot;
use crate::runtime::{BlockOutcome, status_index};
use crate::sharded::ShardedMap;
use crate::tx::Transaction;

/// The statuses of the recent blocks, as the executors decide them: the VED's as soon as the VED
/// has run (SPEC §6: `ExecutionStatus` with X = 0 answers then), every block's at its commit.
/// The VED runs ahead of the UED, so entries come out of slot order; the index keeps the last
/// [`KEPT_BLOCKS`] slots it was given and as many more as the VED may be ahead, each
/// transaction by [`status_index::prefer`].
pub(super) struct LiveIndex {
    /// In many small tables: one entered under the lock never moves more than a small part of
    /// them ([`ShardedMap`]).
    pub(super) txs: ShardedMap<[u8; 64], IndexedTx>,
    /// Each slot's signatures in `txs`, and a place for each slot the VED entered (its
    /// statuses come with the UED's commit).
    pub(super) blocks: BTreeMap<u64, Vec<[u8; 64]>>,
    /// The VED's statuses of the slots the UED has not committed yet (module docs): answered
    /// with `txs` ([`LiveIndex::get`]), and gone when the UED commits their slot
    /// ([`LiveIndex::settle_ved`]).
    pub(super) ved_ahead: ShardedMap<[u8; 64], IndexedTx>,
    /// Each of those slots' signatures in `ved_ahead`.
    pub(super) ved_blocks: BTreeMap<u64, Vec<[u8; 64]>>,
    /// Blocks kept: the status index's window, and as many as the VED may run ahead of the UED
    /// (its entries come first), so that a slot the UED has just committed is never the one
    /// that leaves.
    pub(super) keep: usize,
}

impl Default for LiveIndex {
    fn default() -> Self {
        LiveIndex::ahead_by(0)
    }
}

impl LiveIndex {
    /// An index for an engine whose VED may run `ahead` blocks ahead of the UED.
    pub(super) fn ahead_by(ahead: usize) -> LiveIndex {
        LiveIndex {
            txs: ShardedMap::default(),
            blocks: BTreeMap::new(),
            ved_ahead: ShardedMap::default(),
            ved_blocks: BTreeMap::new(),
            keep: KEPT_BLOCKS + ahead,
        }
    }

    /// Enters `entries` of `slot` and lets the oldest blocks leave, as many as it takes.
    #[cfg(test)]
    pub(super) fn insert(
        &mut self,
        slot: u64,
        entries: impl IntoIterator<Item = ([u8; 64], IndexedTx)>,
    ) {
        self.enter(slot, entries);
        while self.evict(usize::MAX) {}
    }

    /// Enters `entries` of `slot` (more may come for it) and lets nothing leave; gives how many.
    fn enter(
        &mut self,
        slot: u64,
        entries: impl IntoIterator<Item = ([u8; 64], IndexedTx)>,
    ) -> usize {
        enter_slot(&mut self.txs, &mut self.blocks, slot, entries)
    }

    /// The VED's entries of `slot`, before its vote point: entered into its own tables
    /// ([`LiveIndex::ved_ahead`]), the slot given its place among the blocks kept, and nothing
    /// let go. Gives the VED's share of the oldest blocks to let go after the vote point: as
    /// many as it entered (and a part). The blocks that leave are the UED's to let go, a part
    /// at a time ([`index_outcome`]); the VED's share keeps its work its own block's size and
    /// the index bounded.
    pub(super) fn enter_before_vote(
        &mut self,
        slot: u64,
        entries: impl IntoIterator<Item = ([u8; 64], IndexedTx)>,
    ) -> usize {
        self.blocks.entry(slot).or_default();
        enter_slot(&mut self.ved_ahead, &mut self.ved_blocks, slot, entries).max(INDEX_PART)
    }

    /// The entry `ExecutionStatus` answers for: the committed index's and the VED's, by
    /// [`status_index::prefer`].
    pub(super) fn get(&self, signature: &[u8; 64]) -> Option<IndexedTx> {
        let committed = self.txs.get(signature).copied();
        let ved = self.ved_ahead.get(signature).copied();
        match (committed, ved) {
            (Some(committed), Some(ved)) => Some(status_index::prefer_either(committed, ved)),
            (committed, ved) => committed.or(ved),
        }
    }

    /// Lets the VED's entries `signatures` of the committed `slot` go from its tables: the
    /// committed index holds the slot's statuses. One it lacks (none the UED committed should
    /// be) moves into it instead of being lost.
    pub(super) fn settle_ved(&mut self, slot: u64, signatures: &[[u8; 64]]) {
        for signature in signatures {
            // (The signature's entry of a later slot stays: that slot is not committed yet.)
            let Some(tx) = self.ved_ahead.remove_if(signature, |ved| ved.slot == slot) else {
                continue;
            };
            if self.txs.get(signature).is_none_or(|t| t.slot != slot) {
                status_index::enter_into(self.txs.get_or_insert(*signature, tx), tx);
                self.blocks.entry(slot).or_default().push(*signature);
            }
        }
    }

    /// Lets at most `most` signatures of the blocks past the ones kept leave, oldest block
    /// first (a block may leave in parts); whether more are to leave.
    pub(super) fn evict(&mut self, most: usize) -> bool {
        let mut budget = most;
        while self.blocks.len() > self.keep && budget > 0 {
            let mut oldest = self.blocks.first_entry().expect("more blocks than kept");
            let old_slot = *oldest.key();
            let signatures = oldest.get_mut();
            let leaving = signatures.len().min(budget);
            for signature in signatures.drain(signatures.len() - leaving..) {
                // Only the entry of the block that leaves: a later block's stays.
                if self.txs.get(&signature).is_some_and(|t| t.slot == old_slot) {
                    self.txs.remove(&signature);
                }
            }
            budget -= leaving;
            if signatures.is_empty() {
                oldest.remove();
            }
        }
        self.blocks.len() > self.keep
    }
}

/// Enters `entries` of `slot` into `txs` by [`status_index::prefer`], each signature listed under
/// its slot in `blocks`; gives how many. (The committed index and the VED's tables alike.)
fn enter_slot(
    txs: &mut ShardedMap<[u8; 64], IndexedTx>,
    blocks: &mut BTreeMap<u64, Vec<[u8; 64]>>,
    slot: u64,
    entries: impl IntoIterator<Item = ([u8; 64], IndexedTx)>,
) -> usize {
    let signatures = blocks.entry(slot).or_default();
    let before = signatures.len();
    for (signature, tx) in entries {
        signatures.push(signature);
        status_index::enter_into(txs.get_or_insert(signature, tx), tx);
    }
    signatures.len() - before
}

/// Signatures a stage enters into (or lets leave) the live index under one hold of its lock.
/// The VED takes that lock to index its slot before it publishes the slot's hash (the vote
/// point a host waits for); the UED, indexing a committed block of tens of thousands of
/// transactions, holds it for one part at a time (tens of microseconds), never for the whole
/// block (milliseconds).
const INDEX_PART: usize = 1024;

/// Entries the UED moves, at most (beyond one table), to make room in the index's tables under
/// each hold of its lock ([`ShardedMap::make_room`]'s steps): a table or a few of them — where
/// the index's tables all reaching their limits together used to grow inside the VED's
/// inserts before a vote.
const GROWTH_PART: usize = 8 * INDEX_PART;

impl Shared {
    /// Enters the statuses the VED decided for `block` into the live index, and lets nothing
    /// go: gives how many signatures of the oldest blocks the VED lets go after its vote point
    /// ([`Shared::let_oldest_go`]).
    pub(super) fn index_ved(&self, block: &Block, done: &VedSlot) -> usize {
        let slot = block.header.slot;
        let decided = (0..block.transactions.len()).filter_map(|i| {
            let status = done.admission.statuses[i]?;
            let signature = Transaction::peek_first_signature(&block.transactions[i])?;
            let domain = if status.has_domain() {
                done.admission.payer_domain[i]
            } else {
                None
            };
            Some((
                signature,
                IndexedTx {
                    slot,
                    domain,
                    status,
                },
            ))
        });
        let mut live = lock(&self.live);
        live.enter_before_vote(slot, decided)
    }

    /// Lets at most `most` signatures of the oldest blocks past the ones kept leave the live
    /// index: the VED's share, after its vote point. Before the vote it was more than half of
    /// the VED's time in the index — the lookups of the oldest block's signatures, the index's
    /// coldest entries: 0.48–0.52 ms a block (median) against 0.33–0.36 ms for its inserts,
    /// at 1,000 votes and 20,000 transfers a slot once the index holds its blocks (a loop of
    /// the index alone, 700 slots, Zen 4 guest, 2026-12-04) — and nothing a waiter woken by
    /// the hash needs.
    pub(super) fn let_oldest_go(&self, most: usize) {
        let mut live = lock(&self.live);
        live.evict(most);
    }

    /// Indexes what a slot the VED logged before a restart decided for its own transactions
    /// ([`LoggedSlot::window_statuses`]), so that they answer after the restart as they did
    /// before it (`Final` at X = 0), not `Unknown` until the block comes again. The rest of
    /// the block answers once the block is submitted again.
    pub(super) fn index_logged(&self, record: &LoggedSlot) {
        let Some(decided) = record.window_statuses() else {
            log::warn!(
                "slot {}: the VED's log record does not pair its signatures with its statuses; \
                 they answer once the block comes again",
                record.ved.slot
            );
            return;
        };
        // At open, before any vote point: the VED's share let go at once.
        let mut live = lock(&self.live);
        let leaving = live.enter_before_vote(record.ved.slot, decided);
        live.evict(leaving);
    }
}

/// Enters a committed slot's statuses, every domain's, into the live index, and lets the
/// oldest blocks leave it: [`INDEX_PART`] signatures under each hold of the lock, which the
/// VED takes before each vote point it publishes. (A reader between two parts finds a
/// transaction of the block either entered or still as the VED, the in-flight blocks or the
/// stored index tell it: the block is committing, its hash not yet published.)
pub(super) fn index_outcome(shared: &Shared, outcome: &BlockOutcome) {
    let slot = outcome.slot;
    let entries: Vec<([u8; 64], IndexedTx)> = outcome
        .transactions
        .iter()
        .filter_map(|t| {
            let tx = IndexedTx {
                slot,
                domain: t.domain,
                status: t.status,
            };
            t.signature.map(|s| (s, tx))
        })
        .collect();
    enter_committed(&shared.live, slot, &entries);
}

/// [`index_outcome`]'s work on the index: `entries` of the committed `slot` entered, the VED's
/// entries of the slot let go from its tables ([`LiveIndex::settle_ved`]), and the oldest
/// blocks let go, [`INDEX_PART`] signatures under each hold of the lock; how many holds it
/// took.
fn enter_committed(live: &Mutex<LiveIndex>, slot: u64, entries: &[([u8; 64], IndexedTx)]) -> usize {
    // An empty block still has its place among the blocks kept. (The VED's signatures of the
    // slot, taken here, keep their entries in its tables until the slot's are entered.)
    let ved = hold(live, |live| {
        live.enter(slot, []);
        live.ved_blocks.remove(&slot).unwrap_or_default()
    });
    let mut holds = 1;
    for part in entries.chunks(INDEX_PART) {
        hold(live, |live| live.enter(slot, part.iter().copied()));
        holds += 1;
    }
    // The VED's entries of the slot go from its tables once the slot's are all entered here.
    for part in ved.chunks(INDEX_PART) {
        hold(live, |live| live.settle_ved(slot, part));
        holds += 1;
    }
    loop {
        holds += 1;
        if !hold(live, |live| live.evict(INDEX_PART)) {
            return holds;
        }
    }
}

/// One hold of the index's lock by the UED: `work`, then room made in the index's tables ahead
/// of the inserts to come, the VED's among them ([`GROWTH_PART`]). The fresh tables are
/// allocated, and their memory faulted in, between two holds, and the old ones freed after
/// the second: under the lock, only the moves of the entries ([`ShardedMap::take_room`]).
fn hold<T>(live: &Mutex<LiveIndex>, work: impl FnOnce(&mut LiveIndex) -> T) -> T {
    let (done, txs_wanted, ved_wanted) = {
        let mut live = lock(live);
        let done = work(&mut live);
        let txs_wanted = live.txs.room_wanted(GROWTH_PART);
        (done, txs_wanted, live.ved_ahead.room_wanted(GROWTH_PART))
    };
    if txs_wanted.is_empty() && ved_wanted.is_empty() {
        return done;
    }
    let (mut txs_room, mut ved_room) = (txs_wanted.prepare(), ved_wanted.prepare());
    {
        let mut live = lock(live);
        live.txs.take_room(&mut txs_room);
        live.ved_ahead.take_room(&mut ved_room);
    }
    drop((txs_room, ved_room)); // the old tables, freed without the lock
    done
}

/// The index's lock, as every hold of it here takes it. (Tests count the tables' memory
/// allocated while it is held: [`Held`].)
fn lock(live: &Mutex<LiveIndex>) -> Held<'_> {
    Held {
        #[cfg(test)]
        allocated_before: crate::sharded::allocated_here(),
        guard: live.lock().unwrap_or_else(PoisonError::into_inner),
    }
}

/// The live index, held ([`lock`]).
struct Held<'a> {
    guard: MutexGuard<'a, LiveIndex>,
    /// The bytes of tables this thread had allocated when it took the lock.
    #[cfg(test)]
    allocated_before: usize,
}

impl Deref for Held<'_> {
    type Target = LiveIndex;

    fn deref(&self) -> &LiveIndex {
        &self.guard
    }
}

impl DerefMut for Held<'_> {
    fn deref_mut(&mut self) -> &mut LiveIndex {
        &mut self.guard
    }
}

#[cfg(test)]
thread_local! {
    /// Bytes of tables this thread allocated while it held the index's lock.
    static ALLOCATED_UNDER_LOCK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
impl Drop for Held<'_> {
    fn drop(&mut self) {
        // (Before the guard's own drop: the lock is still held.)
        let allocated = crate::sharded::allocated_here() - self.allocated_before;
        ALLOCATED_UNDER_LOCK.with(|bytes| bytes.set(bytes.get() + allocated));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sharded;

    /// A signature told apart by its slot and its place in the block.
    fn signature(slot: u64, i: u32) -> [u8; 64] {
        let mut s = [0; 64];
        s[..8].copy_from_slice(&slot.to_le_bytes());
        s[8..12].copy_from_slice(&i.to_le_bytes());
        s
    }

    /// A UED transfer of `slot` that succeeded.
    fn succeeded(slot: u64) -> IndexedTx {
        IndexedTx {
            slot,
            domain: Some(Domain::Ued),
            status: TxStatus::Success,
        }
    }
    use crate::account::Domain;
    use crate::runtime::TxStatus;

    #[test]
    fn the_live_index_answers_for_the_transaction_that_ran() {
        let tx = |slot, domain, status| IndexedTx {
            slot,
            domain,
            status,
        };
        let ran = tx(5, Some(Domain::Ued), TxStatus::Success);
        let mut live = LiveIndex::default();
        // The VED, ahead, decides a forged copy of the signature in slot 7 (no domain: final at
        // once) before the UED commits slot 5, where the transaction ran; then slot 8 replays it.
        live.insert(7, [([1; 64], tx(7, None, TxStatus::InvalidSignature))]);
        live.insert(5, [([1; 64], ran)]);
        live.insert(
            8,
            [(
                [1; 64],
                tx(8, Some(Domain::Ued), TxStatus::DuplicateSignature),
            )],
        );
        assert_eq!(live.txs[&[1; 64]], ran);
        // A forged copy first, the transaction after: the transaction.
        live.insert(9, [([2; 64], tx(9, None, TxStatus::InvalidSignature))]);
        live.insert(
            10,
            [([2; 64], tx(10, Some(Domain::Ved), TxStatus::Success))],
        );
        assert_eq!(live.txs[&[2; 64]].slot, 10);
        // Slot 9 leaving the index takes nothing of slot 10's with it; slot 10 leaving does.
        for slot in 11..(9 + KEPT_BLOCKS as u64) {
            live.insert(slot, []);
        }
        assert!(live.blocks.contains_key(&9));
        live.insert(9 + KEPT_BLOCKS as u64, []);
        assert!(!live.blocks.contains_key(&9));
        assert_eq!(live.txs[&[2; 64]].slot, 10);
        live.insert(10 + KEPT_BLOCKS as u64, []);
        assert!(!live.txs.contains_key(&[2; 64]));
    }

    #[test]
    fn the_oldest_blocks_leave_the_live_index_a_part_at_a_time() {
        let tx = succeeded;
        let mut live = LiveIndex::default();
        let entered = live.enter(1, (0..2_500).map(|i| (signature(1, i), tx(1))));
        assert_eq!(entered, 2_500);
        for slot in 2..=1 + KEPT_BLOCKS as u64 {
            assert_eq!(live.enter(slot, []), 0);
        }
        live.enter(2, [(signature(2, 0), tx(2))]);
        // Slot 1 is past the blocks kept: it leaves a part at a time, the others stay.
        assert!(live.evict(INDEX_PART));
        assert_eq!(live.txs.len(), 2_501 - INDEX_PART);
        assert!(live.evict(INDEX_PART));
        assert!(!live.evict(INDEX_PART), "the last part");
        assert!(!live.blocks.contains_key(&1));
        assert_eq!(live.blocks.len(), KEPT_BLOCKS);
        assert_eq!(live.txs.keys().collect::<Vec<_>>(), [&signature(2, 0)]);
        assert!(!live.evict(INDEX_PART), "nothing more to leave");

        // A committed block of 2,500 statuses, entered by the UED: a part per hold of the lock
        // the VED takes before each vote point (it was one hold for the whole block), and the
        // oldest block let go the same way.
        let live = Mutex::new(LiveIndex::default());
        let block = |slot: u64| -> Vec<([u8; 64], IndexedTx)> {
            (0..2_500).map(|i| (signature(slot, i), tx(slot))).collect()
        };
        // (An empty block's place, 3 parts, and a look for blocks to let go: none yet.)
        assert_eq!(enter_committed(&live, 1, &block(1)), 5);
        for slot in 2..=KEPT_BLOCKS as u64 {
            enter_committed(&live, slot, &[]);
        }
        // (The empty block's place, then slot 1 leaving in 3 parts, the last one its end.)
        assert_eq!(enter_committed(&live, 1 + KEPT_BLOCKS as u64, &[]), 4);
        let live = live.into_inner().unwrap();
        assert!(!live.blocks.contains_key(&1) && live.txs.is_empty());
    }

    #[test]
    fn a_slot_the_ued_just_committed_stays_however_far_ahead_the_ved_is() {
        // The VED indexes slots 400..=800 (its queue to the UED is 400 deep), then the UED
        // commits slot 399: with only the status window kept, slot 399 was the lowest and left
        // at once, and its transactions answered Unknown right after their UED hash.
        let depth = 400;
        let mut live = LiveIndex::ahead_by(depth + 2);
        let tx = succeeded;
        for slot in 400..=800 {
            live.insert(slot, [([2; 64], tx(slot))]);
        }
        live.insert(399, [([1; 64], tx(399))]);
        assert_eq!(live.txs.get(&[1; 64]), Some(&tx(399)));
        let mut narrow = LiveIndex::ahead_by(0);
        for slot in 400..=800 {
            narrow.insert(slot, []);
        }
        narrow.insert(399, [([1; 64], tx(399))]);
        assert_eq!(narrow.txs.get(&[1; 64]), None, "what the window alone did");
    }

    /// Before its vote point the VED only enters its statuses: the oldest block's signatures,
    /// the index's coldest entries, leave after it. Before, the VED let them go before its
    /// vote, half of its time in the index at 21,000 transactions a slot.
    #[test]
    fn the_ved_lets_nothing_go_before_its_vote_point() {
        let tx = succeeded;
        let mut live = LiveIndex::ahead_by(0);
        for slot in 1..=KEPT_BLOCKS as u64 {
            live.insert(slot, (0..10).map(|i| (signature(slot, i), tx(slot))));
        }
        let slot = KEPT_BLOCKS as u64 + 1;
        let leaving = live.enter_before_vote(slot, [(signature(slot, 0), tx(slot))]);
        assert_eq!(
            live.blocks.len(),
            KEPT_BLOCKS + 1,
            "nothing left before the vote"
        );
        assert!(live.txs.contains_key(&signature(1, 0)));
        assert_eq!(leaving, INDEX_PART, "one entered, and a part");
        assert!(
            !live.evict(leaving),
            "after the vote point, the oldest block left whole"
        );
        assert_eq!(live.blocks.len(), KEPT_BLOCKS);
        assert!(!live.txs.contains_key(&signature(1, 0)));
    }

    /// The VED's statuses wait in its own tables, a few blocks of votes, until the UED commits
    /// their slot; they answer at once, as the committed ones do after. Before, the VED entered
    /// them among every committed transaction of the blocks kept: at 20,000 user transfers a
    /// slot, tables of tens of megabytes, a trip to memory for each vote.
    #[test]
    fn the_veds_statuses_wait_in_tables_of_their_own_until_their_slot_commits() {
        let live = Mutex::new(LiveIndex::ahead_by(4));
        let vote = |slot, i| {
            let tx = IndexedTx {
                domain: Some(Domain::Ved),
                ..succeeded(slot)
            };
            (signature(slot, 50_000 + i), tx)
        };
        let block = |slot: u64, votes: u32| -> Vec<([u8; 64], IndexedTx)> {
            let transfers = (0..2_000).map(|i| (signature(slot, i), succeeded(slot)));
            (0..votes).map(|i| vote(slot, i)).chain(transfers).collect()
        };
        for slot in 1..=20 {
            enter_committed(&live, slot, &block(slot, 10));
        }
        let mut index = live.lock().unwrap();
        let committed = index.txs.len();
        assert_eq!(committed, 20 * 2_010);
        // Slots 21 and 22 at their vote points, the UED behind.
        for slot in [21, 22] {
            index.enter_before_vote(slot, (0..10).map(|i| vote(slot, i)));
        }
        assert_eq!(
            index.txs.len(),
            committed,
            "nothing entered among the committed"
        );
        assert_eq!(index.ved_ahead.len(), 20);
        assert_eq!(index.get(&vote(21, 3).0), Some(vote(21, 3).1));
        assert_eq!(index.get(&vote(5, 3).0), Some(vote(5, 3).1));
        assert!(index.blocks.contains_key(&22), "the slot has its place");
        // A signature the VED decides again in slot 22 (a replay): the one that ran answers.
        let replay = IndexedTx {
            status: crate::runtime::TxStatus::DuplicateSignature,
            ..vote(22, 0).1
        };
        index.enter_before_vote(22, [(vote(21, 0).0, replay)]);
        assert_eq!(index.get(&vote(21, 0).0), Some(vote(21, 0).1));
        drop(index);
        // The UED commits slot 21 (the replay's slot 22 not yet), but without one of the
        // VED's statuses (none should be missing): it moves into the committed index.
        let mut committed_21 = block(21, 10);
        committed_21.retain(|(s, _)| *s != vote(21, 9).0);
        enter_committed(&live, 21, &committed_21);
        let index = live.lock().unwrap();
        // (The replay never took the place of the slot-21 entry that ran.)
        assert_eq!(index.ved_ahead.len(), 10, "slot 22's votes");
        assert_eq!(index.txs.get(&vote(21, 9).0), Some(&vote(21, 9).1));
        assert_eq!(index.get(&vote(21, 0).0), Some(vote(21, 0).1));
        assert!(!index.ved_blocks.contains_key(&21));
    }

    /// The VED enters its slot's statuses (its part of the block) before the UED commits the
    /// block whole; the UED makes room in the index's tables as it enters and lets go, so over
    /// a run long enough for the tables to reach their limits many times (and to use up their
    /// removed entries' places), none of the VED's inserts finds its table full. Before, they
    /// did: the tables all grew at once, inside the VED's inserts before a vote (33–82 ms at
    /// 21,000 transactions a slot). And the fresh tables are allocated (their pages faulted in)
    /// while nobody holds the lock: before, the UED grew them under it, and the VED waited
    /// for their page faults before its vote (a 52.8 ms vote at 21,000 transactions a slot).
    #[test]
    fn the_veds_inserts_never_find_a_table_of_the_index_full() {
        let tx = succeeded;
        let (votes, transfers, lag) = (100u32, 1_500u32, 2);
        let live = Mutex::new(LiveIndex::ahead_by(lag as usize));
        let mut found_full = 0;
        // Counted once the first blocks have given every table its first memory (inserts
        // into empty tables allocate wherever they run).
        let counted_from = 8;
        let mut allocated = (0, 0);
        for slot in 1..=(KEPT_BLOCKS as u64 + 120) {
            if slot == counted_from {
                allocated = (sharded::allocated_here(), allocated_under_lock());
            }
            {
                // As `Shared::index_ved`.
                let mut live = lock(&live);
                let entries = (0..votes).map(|i| (signature(slot, i), tx(slot)));
                let entries: Vec<_> = entries.collect();
                // (The first blocks fill empty tables: none has room yet.)
                let full = entries
                    .iter()
                    .filter(|(s, _)| !live.ved_ahead.has_room_for(s));
                found_full += if slot > 2 { full.count() } else { 0 };
                let leaving = live.enter_before_vote(slot, entries);
                live.evict(leaving);
            }
            if let Some(committed) = slot.checked_sub(lag) {
                let entries: Vec<_> = (0..votes + transfers)
                    .map(|i| (signature(committed, i), tx(committed)))
                    .collect();
                enter_committed(&live, committed, &entries);
            }
        }
        assert_eq!(found_full, 0);
        assert_eq!(
            live.lock().unwrap().blocks.len(),
            KEPT_BLOCKS + lag as usize
        );
        let grown = sharded::allocated_here() - allocated.0;
        let grown_under_lock = allocated_under_lock() - allocated.1;
        assert!(grown > 1 << 20, "the tables grew: {grown} bytes");
        assert_eq!(
            grown_under_lock, 0,
            "bytes of tables allocated under the lock"
        );
    }

    /// Bytes of tables this thread allocated under the index's lock so far ([`Held`]).
    fn allocated_under_lock() -> usize {
        ALLOCATED_UNDER_LOCK.with(std::cell::Cell::get)
    }

    /// After a restart a logged slot is entered twice — from the VED log, then by the VED
    /// executing its block again — and once the UED commits it nothing of it is left ahead.
    #[test]
    fn a_logged_slot_entered_again_leaves_nothing_behind_once_committed() {
        let live = Mutex::new(LiveIndex::ahead_by(4));
        let votes: Vec<_> = (0..10).map(|i| (signature(7, i), succeeded(7))).collect();
        {
            let mut held = lock(&live);
            let most = held.enter_before_vote(7, votes.clone());
            held.evict(most);
        }
        lock(&live).enter_before_vote(7, votes.clone());
        enter_committed(&live, 7, &votes);
        let live = live.lock().expect("not poisoned");
        assert!(live.ved_ahead.is_empty(), "no status left ahead");
        assert!(live.ved_blocks.is_empty(), "no slot left ahead");
        assert!(votes.iter().all(|(s, t)| live.get(s) == Some(*t)));
    }
}
