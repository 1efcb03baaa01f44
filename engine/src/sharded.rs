//! A hash map split into many small tables, so that no insert moves more than a small part of
//! it. The engine's live status index ([`crate::pipeline::engine`]) holds every transaction of
//! the recent blocks — millions at a user load of 20,000 a slot — under a lock the VED takes
//! before each vote point.
//!
//! One table grows by doubling, and the insert that crosses its load limit moves every entry
//! into a table twice the size, freshly allocated: at 1.8 million entries that was one insert
//! of 1.25 s (76,702 page faults on this 2-vCPU guest, `tandem bench isolation --api c-abi`,
//! 2026-12-04), with the lock held, so the vote of that slot waited for it. Here each key
//! goes to one of [`SHARDS`] tables by a hash with a per-map random seed (a leader cannot
//! choose signatures that crowd one table), and a table that grows moves only its own entries:
//! about 1/[`SHARDS`] of them. The work of growing is the same in all; it comes in pieces
//! small enough for any hold of the lock.
//!
//! Many small tables filled by keys spread evenly also fill *together*: each reaches its load
//! limit within a few blocks of the others, so a map of even tables grows (or, its removed
//! entries' places used up, rehashes) in a wave — every table within a few blocks, the whole
//! map's worth of moves again, at whichever inserts cross the limits. In the engine's index
//! those were the VED's own inserts before a vote (it enters its slot's statuses): 33–82 ms
//! of its thread in `status_index::enter` at slots 299–306 and 486–492 of a 700-slot run at
//! 21,000 transactions a slot (`perf`, 2026-12-04), with waves at 7.3 and 7.7 million entries.
//! [`ShardedMap::make_room`] takes the wave apart: the thread that holds the map anyway (the
//! UED, entering a committed block a part at a time) grows each table ahead of its limit, a
//! budget of entries per call, so that no insert finds a table full.
//!
//! Growing a table moves its entries into fresh memory, and fresh memory costs its first touch:
//! a page fault per 4 KiB page — 325 of them for one table of the live index at 5,700 entries
//! growing into 16,384 buckets of 80 bytes — at about 20 µs a fault in the engine's long runs
//! on a 2-vCPU KVM guest (Intel Xeon, 2026-12-05: 7.7 s of the kernel zeroing pages over some
//! 400,000 faults of a 400-slot run), some 6.5 ms a table. Under the lock the vote point takes,
//! the UED's making room held the VED that long, table after table, through the blocks of a
//! wave (the loaded votes at slots ~275–320 of a 400-slot `tandem bench isolation`, where the
//! index reaches 5.9 million entries). So the growth comes in steps that keep the faults out of
//! the lock: [`ShardedMap::room_wanted`] names the tables wanting room (under the lock),
//! [`RoomWanted::prepare`] allocates a fresh table for each with every page already written
//! once ([`Prefaulted`]; without the lock), [`ShardedMap::take_room`] moves the entries in
//! (under the lock: a move between pages already in memory), and the old tables are freed
//! after the lock is let go ([`Room`]). In a loop of the map alone, at the live index's shape
//! and fill: `take_room` p50 164 µs, max 471 µs, no fault, against 545 µs and 325 faults for
//! the whole growth where faults cost ~1 µs. [`ShardedMap::make_room`] is the three steps in
//! one call, for a map one thread keeps.
//!
//! The store's account index ([`crate::store`]) is one too, though one thread (the UED's
//! commits) keeps it: at millions of accounts one growth is hundreds of megabytes of fresh
//! memory at once (400 MB, 101,000 page faults in 0.2 s at 3.67 million), wherever it is put;
//! its commits make room a part at a time.
//!
//! Not for a smaller table one thread keeps to itself: with its entries spread over 1,024
//! tables an insert and a remove cost about 1.5× one table's (0.33–0.38 ms against 0.23 ms a
//! block of 1,000 in a window of 150 blocks, measured when a lookup hashed its key twice), and
//! there the growth can be moved to where it delays nothing instead — the duplicate-signature
//! window grows after the vote point
//! ([`crate::runtime::window::SignatureWindow::make_room_for_the_next_block`]).

use std::alloc::Layout;
use std::hash::{BuildHasher, Hash};
use std::ptr::NonNull;

use allocator_api2::alloc::{AllocError, Allocator, Global};
use hashbrown::{DefaultHashBuilder, HashTable};

/// Tables in a [`ShardedMap`]: at 6.3 million entries (the index's 300 blocks of 21,000
/// transactions) each holds about 6,000, and one growing moves under a megabyte.
pub const SHARDS: usize = 1024;

// A table is picked by bits of the key's hash: a power of two, and more than one.
const _: () = assert!(SHARDS.is_power_of_two() && SHARDS > 1);

/// The first bit of a key's hash that picks its table. The tables use the same hash (a lookup
/// hashes its key once, not twice): a table finds a bucket by the hash's low bits (as many as
/// it has buckets, far fewer than 32) and keeps its top seven beside it as a tag, so the bits
/// that pick the table — which all its keys share — are ones no table looks at.
const PICK_SHIFT: u32 = 32;

const _: () = assert!(PICK_SHIFT + SHARDS.trailing_zeros() <= 57);

/// A page as [`Prefaulted`] touches memory: the smallest page of the CPUs the engine runs on.
const PAGE: usize = 4096;

/// An allocator whose blocks come with every page already faulted in: [`Global`]'s blocks,
/// written once a page before they are handed out. A table allocated with it outside a lock
/// takes its fresh memory's page faults there, not where its entries are moved in (module
/// docs). Every table of a [`ShardedMap`] is allocated with it: a table grown by an insert pays
/// the same faults either way, the rehash writing nearly every page of the new table.
#[derive(Clone, Copy, Debug, Default)]
pub struct Prefaulted;

// SAFETY: the blocks are Global's, handed out and taken back unchanged (the bytes written on
// each page are uninitialized memory to whoever gets the block, as Global's would be).
unsafe impl Allocator for Prefaulted {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let block = Global.allocate(layout)?;
        let start = block.cast::<u8>().as_ptr();
        let len = block.len();
        #[cfg(test)]
        ALLOCATED_HERE.with(|bytes| bytes.set(bytes.get() + len));
        // A byte on every page the block spans: one every PAGE bytes, and its last.
        for offset in (0..len).step_by(PAGE).chain(len.checked_sub(1)) {
            // SAFETY: offset < len: inside the block just allocated, which nothing else holds.
            unsafe { start.add(offset).write_volatile(0) };
        }
        Ok(block)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the caller's promise (a block of this allocator, with its layout) is
        // Global's: every block of this allocator is one of Global's.
        unsafe { Global.deallocate(ptr, layout) }
    }
}

#[cfg(test)]
thread_local! {
    /// Bytes [`Prefaulted`] allocated on this thread: where tests look for fresh tables.
    static ALLOCATED_HERE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Bytes of tables ([`Prefaulted`]) allocated on this thread so far (tests: whether a step
/// that must not allocate did).
#[cfg(test)]
pub(crate) fn allocated_here() -> usize {
    ALLOCATED_HERE.with(std::cell::Cell::get)
}

/// One table of a [`ShardedMap`].
type Table<K, V> = HashTable<(K, V), Prefaulted>;

/// A hash map of many small tables (module docs).
#[derive(Debug)]
pub struct ShardedMap<K, V> {
    shards: Box<[Table<K, V>]>,
    /// Hashes a key once, for its table and its place in it (seeded per map).
    hasher: DefaultHashBuilder,
    /// The table [`ShardedMap::make_room`] looks at next.
    next_to_make_room: usize,
}

impl<K: Hash + Eq, V> Default for ShardedMap<K, V> {
    fn default() -> Self {
        ShardedMap {
            shards: (0..SHARDS).map(|_| HashTable::new_in(Prefaulted)).collect(),
            hasher: DefaultHashBuilder::default(),
            next_to_make_room: 0,
        }
    }
}

/// The room [`ShardedMap::make_room`] keeps in a table of `len` entries: a quarter of them (and
/// a few), which an even fill takes tens of blocks to use — time enough to go round every
/// table at a budget of one large table a call.
fn room_kept(len: usize) -> usize {
    len / 4 + 8
}

/// Whether a table wants room: it has room for fewer than [`room_kept`] more of its entries.
fn wants_room<K, V>(table: &Table<K, V>) -> bool {
    table.capacity() - table.len() < room_kept(table.len())
}

/// The tables of a [`ShardedMap`] that want room, each with the room it is to have (entries):
/// what [`ShardedMap::room_wanted`] found, for [`RoomWanted::prepare`].
#[derive(Debug, Default)]
pub struct RoomWanted {
    /// (table, entries its fresh table has room for).
    tables: Vec<(usize, usize)>,
}

impl RoomWanted {
    /// Whether no table wants room.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// Allocates a fresh table for each table wanting room, every page of it faulted in
    /// ([`Prefaulted`]): the slow part of growing, done without the map (module docs).
    pub fn prepare<K, V>(self) -> Room<K, V> {
        let tables = self.tables.into_iter();
        Room {
            tables: tables
                .map(|(table, room)| (table, HashTable::with_capacity_in(room, Prefaulted)))
                .collect(),
        }
    }
}

/// Tables for a [`ShardedMap`]: fresh ones made by [`RoomWanted::prepare`], which
/// [`ShardedMap::take_room`] swaps for the map's own — the old, emptied tables it leaves here are
/// freed wherever this is dropped (after the map's lock is let go).
#[derive(Debug)]
pub struct Room<K, V> {
    /// (table of the map, table).
    tables: Vec<(usize, Table<K, V>)>,
}

/// The table a key of hash `hash` belongs to.
fn table_of(hash: u64) -> usize {
    (hash >> PICK_SHIFT) as usize & (SHARDS - 1)
}

impl<K: Hash + Eq, V> ShardedMap<K, V> {
    /// The hash of `key`.
    fn hash(&self, key: &K) -> u64 {
        self.hasher.hash_one(key)
    }

    /// `key`'s place in its table, found or to fill (a table that grows rehashes with the
    /// map's hasher).
    fn entry(&mut self, key: &K) -> hashbrown::hash_table::Entry<'_, (K, V), Prefaulted> {
        let hash = self.hash(key);
        let hasher = &self.hasher;
        self.shards[table_of(hash)].entry(hash, |(k, _)| k == key, |(k, _)| hasher.hash_one(k))
    }

    /// The value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        let hash = self.hash(key);
        let (_, value) = self.shards[table_of(hash)].find(hash, |(k, _)| k == key)?;
        Some(value)
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// The value of `key`, entered as `value` where it has none.
    pub fn get_or_insert(&mut self, key: K, value: V) -> &mut V {
        &mut self.entry(&key).or_insert((key, value)).into_mut().1
    }

    /// Enters `key`'s value; gives the value it had.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.entry(&key) {
            hashbrown::hash_table::Entry::Occupied(mut entry) => {
                Some(std::mem::replace(&mut entry.get_mut().1, value))
            }
            hashbrown::hash_table::Entry::Vacant(entry) => {
                entry.insert((key, value));
                None
            }
        }
    }

    /// Takes `key`'s value out.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.remove_if(key, |_| true)
    }

    /// Takes `key`'s value out where `wanted` says so of it.
    pub fn remove_if(&mut self, key: &K, wanted: impl FnOnce(&V) -> bool) -> Option<V> {
        let hash = self.hash(key);
        let entry = self.shards[table_of(hash)]
            .find_entry(hash, |(k, _)| k == key)
            .ok()?;
        if !wanted(&entry.get().1) {
            return None;
        }
        let ((_, value), _) = entry.remove();
        Some(value)
    }

    /// Takes every entry out (the tables keep their room).
    pub fn clear(&mut self) {
        self.shards.iter_mut().for_each(HashTable::clear);
    }

    /// Entries in all tables.
    pub fn len(&self) -> usize {
        self.shards.iter().map(HashTable::len).sum()
    }

    /// Whether no table holds an entry.
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(HashTable::is_empty)
    }

    /// Every entry, table by table.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards.iter().flatten().map(|(k, v)| (k, v))
    }

    /// Every key, table by table.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.iter().map(|(k, _)| k)
    }

    /// The most entries one table has room for: what its next growth moves, at most.
    pub fn largest_table(&self) -> usize {
        self.shards
            .iter()
            .map(HashTable::capacity)
            .max()
            .unwrap_or(0)
    }

    /// Makes room ahead of the inserts to come: goes round the tables from where the last call
    /// stopped, and grows (or rehashes, where removed entries' places are what is used up) each
    /// that has room for fewer than a quarter more of its entries, until it has moved about
    /// `budget` entries or looked at every table once. Gives the entries moved.
    ///
    /// Called often enough (a table's quarter outlasting a round of the tables), no insert
    /// finds its table full: the growth of an evenly filled map comes a table at a time, where
    /// the caller makes room, not in a wave at the inserts that cross the tables' limits
    /// together (module docs). A table larger than `budget` is still grown, alone: a call moves
    /// at most `budget` entries or one table's.
    ///
    /// The three steps of [`ShardedMap::room_wanted`], [`RoomWanted::prepare`] and
    /// [`ShardedMap::take_room`] in one: for a map no lock shares.
    pub fn make_room(&mut self, budget: usize) -> usize {
        let mut room = self.room_wanted(budget).prepare();
        self.take_room(&mut room)
    }

    /// The first step of [`ShardedMap::make_room`]: the tables it would grow, from where the
    /// last call stopped (this call goes on after them), for [`RoomWanted::prepare`] to make
    /// fresh tables for without the map.
    pub fn room_wanted(&mut self, budget: usize) -> RoomWanted {
        let mut wanted = RoomWanted::default();
        let mut moving = 0;
        for _ in 0..SHARDS {
            let table = &self.shards[self.next_to_make_room];
            if wants_room(table) {
                let len = table.len();
                if moving > 0 && moving + len > budget {
                    break; // this table first, next call
                }
                wanted
                    .tables
                    .push((self.next_to_make_room, len + room_kept(len) * 2));
                moving += len;
            }
            self.next_to_make_room = (self.next_to_make_room + 1) % SHARDS;
        }
        wanted
    }

    /// The last step of [`ShardedMap::make_room`]: moves the entries of each table `room` has
    /// a fresh one for into it, and leaves the old, emptied table in `room` in its place (freed
    /// where `room` is dropped). A table that has found room since (an insert grew it) keeps
    /// its own. Gives the entries moved.
    pub fn take_room(&mut self, room: &mut Room<K, V>) -> usize {
        let hasher = &self.hasher;
        let mut moved = 0;
        for (index, fresh) in &mut room.tables {
            let table = &mut self.shards[*index];
            if !wants_room(table) {
                continue;
            }
            for entry in table.drain() {
                moved += 1;
                fresh.insert_unique(hasher.hash_one(&entry.0), entry, |(k, _)| {
                    hasher.hash_one(k)
                });
            }
            std::mem::swap(table, fresh);
        }
        moved
    }

    /// Whether `key`'s table has room for one more entry without growing (the tests' look at
    /// [`ShardedMap::make_room`]'s work).
    #[cfg(test)]
    pub(crate) fn has_room_for(&self, key: &K) -> bool {
        let table = &self.shards[table_of(self.hash(key))];
        table.capacity() > table.len()
    }
}

impl<K: Hash + Eq, V> std::ops::Index<&K> for ShardedMap<K, V> {
    type Output = V;

    fn index(&self, key: &K) -> &V {
        self.get(key).expect("no entry for the key")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_answers_as_one_map() {
        let mut map: ShardedMap<u64, u64> = ShardedMap::default();
        assert!(map.is_empty());
        for k in 0..10_000 {
            map.insert(k, k * 2);
        }
        assert_eq!(map.len(), 10_000);
        assert_eq!(map.insert(77, 0), Some(154));
        assert_eq!(map.insert(77, 154), Some(0));
        assert_eq!(map.iter().filter(|(k, v)| **v == **k * 2).count(), 10_000);
        assert_eq!(map[&77], 154);
        assert!(map.contains_key(&9_999) && !map.contains_key(&10_000));
        assert_eq!(map.remove(&77), Some(154));
        assert_eq!(map.get(&77), None);
        let mut keys: Vec<u64> = map.keys().copied().collect();
        keys.sort_unstable();
        assert_eq!(keys.len(), 9_999);
        assert_eq!(keys[..3], [0, 1, 2]);
        map.clear();
        assert!(map.is_empty() && map.get(&1).is_none());
    }

    /// Inserts that found their table full (grew it, or rehashed it in place) while an evenly
    /// filled map churned: blocks of `block` keys in, the oldest of `kept` blocks out, in parts
    /// of 1,024, with `make_room` (or not) after each part, as the engine's UED does.
    fn full_tables_found(make_room: bool, block: usize, kept: usize, blocks: usize) -> usize {
        let mut map: ShardedMap<u64, u64> = ShardedMap::default();
        let mut key = 0u64;
        let mut found_full = 0;
        for b in 0..blocks {
            for part in 0..block.div_ceil(1024) {
                for _ in 0..1024.min(block - part * 1024) {
                    key += 1;
                    // (The first block fills empty tables: none has room yet.)
                    if b > 0 && !map.has_room_for(&key) {
                        found_full += 1;
                    }
                    map.insert(key, key);
                }
                if make_room {
                    map.make_room(8 * 1024);
                }
            }
            if b >= kept {
                let oldest = ((b - kept) * block) as u64;
                for part in (1..=block as u64).collect::<Vec<_>>().chunks(1024) {
                    for k in part {
                        map.remove(&(oldest + k));
                    }
                    if make_room {
                        map.make_room(8 * 1024);
                    }
                }
            }
        }
        assert_eq!(map.len(), block * kept.min(blocks));
        found_full
    }

    /// An evenly filled map reaches its tables' limits together; made room for a budget at a
    /// time, no insert finds its table full — growth and in-place rehashes alike come where
    /// room is made (before, a wave of them came at the inserts, the VED's among them).
    #[test]
    fn made_room_for_no_insert_finds_its_table_full() {
        let (block, kept, blocks) = (3_000, 40, 160);
        assert_eq!(full_tables_found(true, block, kept, blocks), 0);
        assert!(
            full_tables_found(false, block, kept, blocks) > SHARDS,
            "without room made, every table grows inside an insert, and more than once"
        );
    }

    #[test]
    fn making_room_moves_about_its_budget_and_goes_on_where_it_stopped() {
        let filled = || {
            // Every table exactly 100 entries (a random fill spreads them, and rarely left
            // fewer than half the tables wanting room: a flaky start, seen once in CI).
            let mut map: ShardedMap<u64, u64> = ShardedMap::default();
            let mut k = 0u64;
            while map.len() < SHARDS * 100 {
                if map.shards[table_of(map.hash(&k))].len() < 100 {
                    map.insert(k, k);
                }
                k += 1;
            }
            map
        };
        let mut map = filled();
        let wanting = |map: &ShardedMap<u64, u64>| {
            let tables = map.shards.iter();
            tables
                .filter(|t| t.capacity() - t.len() < room_kept(t.len()))
                .count()
        };
        // Tables of about 100 entries, nearly full (room for 112): a budget of 1,000 entries
        // grows about ten of them, within a table's worth of it, and the next call goes on at
        // the table it stopped before.
        assert!(wanting(&map) > SHARDS / 2);
        let moved = map.make_room(1_000);
        assert!((1_000 - 110..=1_000).contains(&moved), "{moved}");
        assert!((5..20).contains(&map.next_to_make_room));
        let mut calls = 1;
        while map.make_room(1_000) > 0 {
            calls += 1;
            assert!(
                calls <= SHARDS,
                "every call grows a table while one wants room"
            );
        }
        assert_eq!(wanting(&map), 0, "room everywhere");
        // A table larger than the budget is still grown, alone.
        let moved = filled().make_room(10);
        assert!(moved > 10 && moved < 200, "{moved}");
    }

    /// Room made in steps (as under a lock: the tables named, their fresh tables made apart,
    /// the entries moved in) keeps every entry, leaves no table wanting room, and leaves a
    /// table an insert grew in between as it is.
    #[test]
    fn room_made_in_steps_keeps_every_entry_and_a_table_grown_in_between() {
        let mut map: ShardedMap<u64, u64> = ShardedMap::default();
        let entries = 200_000u64;
        for k in 0..entries {
            map.insert(k, k * 3);
        }
        let wanted = map.room_wanted(usize::MAX);
        assert!(wanted.tables.len() > 1, "some tables want room");
        let (first, _) = wanted.tables[0];
        let mut room: Room<u64, u64> = wanted.prepare();
        // Inserts into the first table until it grows by itself.
        let mut k = entries;
        let mut extra = Vec::new();
        while wants_room(&map.shards[first]) {
            if table_of(map.hash(&k)) == first {
                map.insert(k, k * 3);
                extra.push(k);
            }
            k += 1;
        }
        let grown = map.shards[first].capacity();
        let others: usize = room.tables[1..]
            .iter()
            .map(|&(t, _)| map.shards[t].len())
            .sum();
        assert_eq!(map.take_room(&mut room), others);
        assert_eq!(map.shards[first].capacity(), grown, "kept its own table");
        assert!(!map.shards.iter().any(wants_room), "room everywhere");
        assert_eq!(map.len(), entries as usize + extra.len());
        assert!(
            (0..entries)
                .chain(extra)
                .all(|k| map.get(&k) == Some(&(k * 3)))
        );
        // The old tables, emptied, are what the room holds now.
        assert!(room.tables[1..].iter().all(|(_, t)| t.is_empty()));
    }

    /// A block of [`Prefaulted`] comes with every page in memory: writing each page of it
    /// faults none in. (64 MiB: more than glibc's malloc ever keeps, so a fresh mapping of
    /// pages never touched, not memory it had freed.) Without the writes in `allocate`, a
    /// fault a page (or a huge page): the faults a table growing under a lock took there.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_prefaulted_block_faults_nothing_in_where_it_is_used() {
        use crate::test_support::faults_of_this_thread;

        let len = 64 << 20;
        let layout = Layout::from_size_align(len, 64).unwrap();
        let before = faults_of_this_thread();
        let block = Prefaulted.allocate(layout).unwrap();
        let allocated = faults_of_this_thread() - before;
        let start = block.cast::<u8>().as_ptr();
        let before = faults_of_this_thread();
        for offset in (0..len).step_by(PAGE) {
            // SAFETY: offset < len, inside the block.
            unsafe { start.add(offset).write_volatile(1) };
        }
        let used = faults_of_this_thread() - before;
        // SAFETY: the block and layout `allocate` was given.
        unsafe { Prefaulted.deallocate(block.cast(), layout) };
        assert!(allocated >= 32, "{allocated} faults allocating 64 MiB");
        assert!(used < 8, "{used} faults writing the block's pages");
    }

    /// Signatures a leader could choose, alike but for their last bytes, spread over the tables
    /// as well as random ones: no table holds more than a small multiple of its share, so no
    /// insert moves more than that (one table of them all moved every entry at once).
    #[test]
    fn no_table_grows_past_a_small_part_of_the_entries_even_for_chosen_keys() {
        let entries = 400_000usize;
        let mut map: ShardedMap<[u8; 64], u32> = ShardedMap::default();
        for i in 0..entries as u32 {
            let mut signature = [0xAB; 64];
            signature[60..].copy_from_slice(&i.to_le_bytes());
            map.insert(signature, i);
        }
        assert_eq!(map.len(), entries);
        // At most 1/256 of the entries move at once (with 1,024 tables, a share is 1/1,024).
        assert!(
            map.largest_table() <= entries / 256,
            "the largest table has room for {} of {entries} entries",
            map.largest_table()
        );
    }

    /// Many inserts (tables growing by themselves) and removals between the room's two steps:
    /// every entry kept, every removed one gone.
    #[test]
    fn room_taken_after_inserts_and_removals_in_between_keeps_every_entry() {
        let mut map: ShardedMap<u64, u64> = ShardedMap::default();
        for k in 0..200_000u64 {
            map.insert(k, k);
        }
        let mut room: Room<u64, u64> = map.room_wanted(usize::MAX).prepare();
        for k in 200_000..600_000u64 {
            map.insert(k, k);
        }
        for k in (0..200_000u64).step_by(3) {
            map.remove(&k);
        }
        map.take_room(&mut room);
        drop(room);
        let kept = || (0..600_000u64).filter(|k| *k >= 200_000 || k % 3 != 0);
        assert_eq!(map.len(), kept().count());
        assert!(kept().all(|k| map.get(&k) == Some(&k)));
        assert!((0..200_000u64).step_by(3).all(|k| map.get(&k).is_none()));
    }
}
