//! The signer cache: precomputed multiples of recurring signers' public keys.
//!
//! Votes come from the same few thousand keys every slot, so the work that depends only on the
//! key — decompressing A, checking its order, and a table of multiples of −A — is done once and
//! kept. The table is a radix-16 fixed-base table of −A ([`FixedBaseTable`]: `j·16^(2i)·(−A)` in
//! affine Niels form), used with the base point's table of the same shape, so `[s]B − [k]A` is 128
//! variable-time mixed additions and four doublings — no chain of 253 doublings, no
//! constant-time table scans ([`super::fixed_base`] says why variable time is right here).
//! Earlier designs, measured on the same machine (README): curve25519-dalek's constant-time
//! `EdwardsBasepointTable` of −A (1.51× verify_strict), its `VartimeEdwardsPrecomputation` of
//! `[B, −A]` (1.14×, keeps the doublings), radix-16 tables of full Edwards points (1.47×).
//!
//! **Policy.** A key earns a table on its second sighting (building one costs a few
//! verifications, so a key seen once would not repay it). At most `capacity` tables are kept,
//! 30 KiB each (256 affine Niels points of 120 bytes): the default, 1,024 signers, bounds the
//! cache at about 30 MiB. When full, the least recently used table is dropped (its key starts over from "seen
//! once"). Sightings of keys without a table are counted in a map bounded to 16 × `capacity`
//! entries, cleared when it fills. Keys that are not valid points or are of small order are never
//! cached. The cache is shared by every verifying thread (a read-write lock; lookups take the read
//! side).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;

use super::fixed_base::{ExtendedPoint, FixedBaseTable, double_fixed_base_mul};

/// Default number of signers whose tables are kept.
pub const DEFAULT_CAPACITY: usize = 1024;

/// What the cache knows of one signer with a table.
pub struct Signer {
    /// The fixed-base table of −A.
    minus_a: FixedBaseTable,
    last_use: AtomicU64,
}

impl Signer {
    /// `[s]B − [k]A`, both on fixed-base tables, not yet encoded.
    pub fn mul(&self, s: &Scalar, k: &Scalar) -> ExtendedPoint {
        double_fixed_base_mul(
            FixedBaseTable::basepoint(),
            s.as_bytes(),
            &self.minus_a,
            k.as_bytes(),
        )
    }
}

/// What the cache has done since it was made: the figures that show whether its tables pay
/// for themselves (a table costs about two verifications to build and saves about half of one
/// per use).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Verifications that used a table.
    pub hits: u64,
    /// Sightings of valid keys without a table (verified without one).
    pub misses: u64,
    /// Tables built.
    pub builds: u64,
    /// Tables dropped to make room for another.
    pub evictions: u64,
}

/// The counters behind [`CacheStats`].
#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    builds: AtomicU64,
    evictions: AtomicU64,
}

/// The cache (see the module docs).
pub struct SignerCache {
    capacity: usize,
    tables: RwLock<HashMap<[u8; 32], Arc<Signer>>>,
    sightings: RwLock<HashMap<[u8; 32], u32>>,
    clock: AtomicU64,
    counters: Counters,
}

impl SignerCache {
    /// A cache keeping at most `capacity` signers' tables.
    pub fn new(capacity: usize) -> SignerCache {
        SignerCache {
            capacity,
            tables: RwLock::new(HashMap::new()),
            sightings: RwLock::new(HashMap::new()),
            clock: AtomicU64::new(0),
            counters: Counters::default(),
        }
    }

    /// The counts of hits, misses, table builds and evictions so far.
    pub fn stats(&self) -> CacheStats {
        let c = &self.counters;
        CacheStats {
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            builds: c.builds.load(Ordering::Relaxed),
            evictions: c.evictions.load(Ordering::Relaxed),
        }
    }

    /// The process-wide cache of [`DEFAULT_CAPACITY`] signers.
    pub fn global() -> &'static SignerCache {
        static GLOBAL: OnceLock<SignerCache> = OnceLock::new();
        GLOBAL.get_or_init(|| SignerCache::new(DEFAULT_CAPACITY))
    }

    /// Signers with a table.
    pub fn len(&self) -> usize {
        self.tables.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no signer has a table.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The table of `key` if it has one.
    pub fn get(&self, key: &[u8; 32]) -> Option<Arc<Signer>> {
        let tables = self.tables.read().unwrap_or_else(|e| e.into_inner());
        let signer = tables.get(key)?;
        signer.last_use.store(
            self.clock.fetch_add(1, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        self.counters.hits.fetch_add(1, Ordering::Relaxed);
        Some(Arc::clone(signer))
    }

    /// Records a sighting of `key`, which was found to decompress to a point of large order; on
    /// its second sighting the key gets a table.
    pub fn observe(&self, key: &[u8; 32]) {
        self.counters.misses.fetch_add(1, Ordering::Relaxed);
        if self.capacity == 0 {
            return;
        }
        let seen = {
            let mut sightings = self.sightings.write().unwrap_or_else(|e| e.into_inner());
            if sightings.len() >= 16 * self.capacity {
                sightings.clear();
            }
            let n = sightings.entry(*key).or_insert(0);
            *n += 1;
            *n
        };
        if seen < 2 {
            return;
        }
        let Some(a) = ExtendedPoint::decompress(key) else {
            return; // unreachable for keys that curve25519-dalek decompressed; never cached
        };
        let signer = Arc::new(Signer {
            minus_a: FixedBaseTable::new(&a.neg()),
            last_use: AtomicU64::new(self.clock.fetch_add(1, Ordering::Relaxed)),
        });
        let mut tables = self.tables.write().unwrap_or_else(|e| e.into_inner());
        if tables.len() >= self.capacity && !tables.contains_key(key) {
            let oldest = tables
                .iter()
                .min_by_key(|(_, s)| s.last_use.load(Ordering::Relaxed))
                .map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                tables.remove(&oldest);
                self.counters.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
        tables.insert(*key, signer);
        self.counters.builds.fetch_add(1, Ordering::Relaxed);
        self.sightings
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// Decompresses a public key as curve25519-dalek does.
pub fn decompress(key: &[u8; 32]) -> Option<EdwardsPoint> {
    CompressedEdwardsY(*key).decompress()
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;

    #[test]
    fn a_key_gets_a_table_on_its_second_sighting_and_the_oldest_is_evicted() {
        let cache = SignerCache::new(2);
        let points: Vec<(EdwardsPoint, [u8; 32])> = (1u64..=3)
            .map(|i| {
                let p = ED25519_BASEPOINT_POINT * Scalar::from(i);
                (p, p.compress().to_bytes())
            })
            .collect();
        cache.observe(&points[0].1);
        assert!(cache.get(&points[0].1).is_none());
        cache.observe(&points[0].1);
        assert!(cache.get(&points[0].1).is_some());
        for (_, k) in &points[1..] {
            cache.observe(k);
            cache.observe(k);
        }
        assert_eq!(cache.len(), 2);
        assert!(
            cache.get(&points[0].1).is_none(),
            "the least recently used went"
        );
        assert!(cache.get(&points[2].1).is_some());
    }
}
