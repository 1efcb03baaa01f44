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
//! Not for a table one thread keeps to itself: with its entries spread over 1,024 tables an
//! insert and a remove cost about 1.5× one table's (0.33–0.38 ms against 0.23 ms a block of
//! 1,000 in a window of 150 blocks, measured), and there the growth can be moved to where it
//! delays nothing instead — the duplicate-signature window grows after the vote point
//! ([`crate::runtime::state::SignatureWindow::make_room_for_the_next_block`]).

use std::hash::{BuildHasher, Hash};

use hashbrown::{DefaultHashBuilder, HashMap};

/// Tables in a [`ShardedMap`]: at 6.3 million entries (the index's 300 blocks of 21,000
/// transactions) each holds about 6,000, and one growing moves under a megabyte.
pub const SHARDS: usize = 1024;

// A table is picked by the hash's high bits: a power of two, and more than one.
const _: () = assert!(SHARDS.is_power_of_two() && SHARDS > 1);

/// A hash map of many small tables (module docs).
#[derive(Debug)]
pub struct ShardedMap<K, V> {
    shards: Box<[HashMap<K, V>]>,
    /// Picks a key's table (seeded apart from the tables' own hashers).
    pick: DefaultHashBuilder,
}

impl<K: Hash + Eq, V> Default for ShardedMap<K, V> {
    fn default() -> Self {
        ShardedMap {
            shards: (0..SHARDS).map(|_| HashMap::new()).collect(),
            pick: DefaultHashBuilder::default(),
        }
    }
}

impl<K: Hash + Eq, V> ShardedMap<K, V> {
    /// The table `key` goes to.
    fn table_of(&self, key: &K) -> usize {
        // The hash's high bits: a table's own hasher is seeded apart, so its buckets stay spread.
        (self.pick.hash_one(key) >> (64 - SHARDS.trailing_zeros())) as usize
    }

    /// The table `key` belongs to, to enter or change it.
    pub fn shard_mut(&mut self, key: &K) -> &mut HashMap<K, V> {
        let i = self.table_of(key);
        &mut self.shards[i]
    }

    /// The value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.shards[self.table_of(key)].get(key)
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// Takes `key`'s value out.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.shard_mut(key).remove(key)
    }

    /// Entries in all tables.
    pub fn len(&self) -> usize {
        self.shards.iter().map(HashMap::len).sum()
    }

    /// Whether no table holds an entry.
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(HashMap::is_empty)
    }

    /// Every key, table by table.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.shards.iter().flat_map(HashMap::keys)
    }

    /// The most entries one table has room for: what its next growth moves, at most.
    pub fn largest_table(&self) -> usize {
        self.shards.iter().map(HashMap::capacity).max().unwrap_or(0)
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
            map.shard_mut(&k).insert(k, k * 2);
        }
        assert_eq!(map.len(), 10_000);
        assert_eq!(map[&77], 154);
        assert!(map.contains_key(&9_999) && !map.contains_key(&10_000));
        assert_eq!(map.remove(&77), Some(154));
        assert_eq!(map.get(&77), None);
        let mut keys: Vec<u64> = map.keys().copied().collect();
        keys.sort_unstable();
        assert_eq!(keys.len(), 9_999);
        assert_eq!(keys[..3], [0, 1, 2]);
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
            map.shard_mut(&signature).insert(signature, i);
        }
        assert_eq!(map.len(), entries);
        // At most 1/256 of the entries move at once (with 1,024 tables, a share is 1/1,024).
        assert!(
            map.largest_table() <= entries / 256,
            "the largest table has room for {} of {entries} entries",
            map.largest_table()
        );
    }
}
