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
//! **Policy.** Building a table costs about two verifications and each use of it saves about half
//! of one, so a table pays for itself after about four uses; the cache builds one only when that is
//! likely, and a budget bounds what it loses when it guesses wrong (issue #9, README figures):
//!
//! 1. *Frequency.* A key becomes a candidate on its second sighting. Sightings of keys without a
//!    table are counted in a map bounded to 16 × `capacity` entries, cleared when it fills.
//! 2. *No thrashing.* At most `capacity` signers are kept, each with a table made on its first
//!    use in the form of the verifier that uses it: 30 KiB on the portable path (256 affine
//!    Niels points of 120 bytes), 35 KiB in the IFMA lanes, 69 KiB in the AVX2 lanes (a signer
//!    verified by two of them holds both). The default, 1,024 signers, bounds the cache at about
//!    30–70 MiB for one verifier. When it is full, a
//!    candidate replaces the least recently used table only if that table has gone unused for a
//!    whole window of 16 × `capacity` sightings (its key then starts over from "seen once").
//!    Plain LRU is at its worst on signers recurring in a cycle longer than the cache: every table
//!    is evicted just before its key returns, so a table is built on every second sighting and
//!    none is ever used — half the rate of no cache at all, and anyone can send that pattern. With
//!    the window, such a working set keeps a stable subset of tables that is used every cycle.
//! 3. *Budget.* Builds spend credit; each use of a table earns its saving, and each sighting
//!    without one a small allowance (1/64 of a verification). Credit starts at, and is capped to,
//!    what filling the empty cache costs. Whatever the pattern of keys, the time lost to tables
//!    that never pay back is thus at most one fill of the cache plus 1/64 of a verification per
//!    sighting: the policy may guess wrong, it cannot be expensive.
//! 4. *Known signers.* A caller that knows which keys will recur — the engine knows its voters
//!    when it starts and at each epoch boundary — builds their tables ahead of their first
//!    signature with [`SignerCache::prepare`] (and [`super::prepare_signers`], which also builds
//!    the form its verifier uses), outside the budget. Known signers outrank guessed ones: a
//!    prepared key takes a free place, the place of a table idle for a whole window, or else
//!    the place of the least recently used table the policy built, in use or not — never that
//!    of another known signer in use. Otherwise whoever sends signatures under keys of their
//!    choosing (a leader's junk) could keep every spare place in use, and the members joining
//!    the VED at the next boundary would be verified without their tables for a whole window.
//!
//! Keys that are not valid points or are of small order are never cached. The cache is shared by
//! every verifying thread (a read-write lock; lookups take the read side).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;

use super::fixed_base::{
    ExtendedPoint, FixedBaseTable, compress_batch, double_fixed_base_mul, is_small_order_encoding,
};
#[cfg(target_arch = "x86_64")]
use super::lanes::{LaneField, verify::LaneTable};

/// Default number of signers whose tables are kept.
pub const DEFAULT_CAPACITY: usize = 1024;

/// The sighting window, per slot of capacity: sightings are counted over about this many, and a
/// table unused for this many may be replaced (longer than any cycle the counting map can follow,
/// so a cyclic working set it counts keeps its tables).
const WINDOW_PER_SLOT: u64 = 16;

/// The cost model of the budget, in 64ths of a verification without a table: building a table
/// (256 additions and doublings and a batched inversion: about two verifications) …
const BUILD_COST: i64 = 128;
/// … what one use of a table saves (about half a verification) …
const HIT_SAVING: i64 = 32;
/// … and the allowance each sighting without a table adds: the most a wasted build may cost.
const MISS_ALLOWANCE: i64 = 1;

/// What the cache knows of one signer with a table.
pub struct Signer {
    /// −A.
    minus_a: ExtendedPoint,
    /// The fixed-base table of −A for the portable path, made on its first use there.
    table: OnceLock<FixedBaseTable>,
    /// The same table in each lane field's form, made on its first use there.
    #[cfg(target_arch = "x86_64")]
    lanes: [OnceLock<LaneTable>; 2],
    last_use: AtomicU64,
    /// Prepared ([`SignerCache::prepare`]): a signer the caller knows, not one the policy
    /// guessed.
    known: AtomicBool,
}

impl Signer {
    /// `[s]B − [k]A`, both on fixed-base tables, not yet encoded.
    pub fn mul(&self, s: &Scalar, k: &Scalar) -> ExtendedPoint {
        double_fixed_base_mul(
            FixedBaseTable::basepoint(),
            s.as_bytes(),
            self.table(),
            k.as_bytes(),
        )
    }

    /// The fixed-base table of −A for the portable path, made on its first use.
    pub(crate) fn table(&self) -> &FixedBaseTable {
        self.table
            .get_or_init(|| FixedBaseTable::new(&self.minus_a))
    }

    /// The table of −A in the lane field `F`'s form.
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn lane_table<const N: usize, F: LaneField<N>>(&self) -> &LaneTable {
        self.lanes[F::SLOT].get_or_init(|| match self.table.get() {
            Some(table) => LaneTable::new::<N, F>(table),
            None => LaneTable::new::<N, F>(&FixedBaseTable::new(&self.minus_a)),
        })
    }

    /// Which of its tables are built: the portable one, and each lane field's (by `SLOT`).
    #[cfg(test)]
    pub(crate) fn built(&self) -> (bool, [bool; 2]) {
        #[cfg(target_arch = "x86_64")]
        let lanes = self.lanes.each_ref().map(|t| t.get().is_some());
        #[cfg(not(target_arch = "x86_64"))]
        let lanes = [false; 2];
        (self.table.get().is_some(), lanes)
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
    /// Of the tables built, those built ahead of their first use by [`SignerCache::prepare`].
    pub prepared: u64,
}

/// The counters behind [`CacheStats`].
#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    builds: AtomicU64,
    evictions: AtomicU64,
    prepared: AtomicU64,
}

/// Who asks for a table: the policy, on a key's sightings, or a caller that knows the key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Insert {
    Guessed,
    Known,
}

/// The cache (see the module docs).
pub struct SignerCache {
    /// The most tables kept; it only grows ([`SignerCache::grow_to`]).
    capacity: AtomicUsize,
    tables: RwLock<HashMap<[u8; 32], Arc<Signer>>>,
    sightings: RwLock<HashMap<[u8; 32], u32>>,
    /// Sightings so far, with and without a table: the time scale of `last_use` and the window.
    clock: AtomicU64,
    /// A lower bound on every table's `last_use` (refreshed by each scan), so that a candidate
    /// is usually turned away without scanning the tables.
    oldest_use: AtomicU64,
    /// Build credit, in 64ths of a verification (see the module docs).
    credit: AtomicI64,
    counters: Counters,
}

impl std::fmt::Debug for SignerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignerCache")
            .field("capacity", &self.capacity())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl SignerCache {
    /// A cache keeping at most `capacity` signers' tables.
    pub fn new(capacity: usize) -> SignerCache {
        SignerCache {
            capacity: AtomicUsize::new(capacity),
            tables: RwLock::new(HashMap::new()),
            sightings: RwLock::new(HashMap::new()),
            clock: AtomicU64::new(0),
            oldest_use: AtomicU64::new(0),
            credit: AtomicI64::new(Self::credit_cap(capacity)),
            counters: Counters::default(),
        }
    }

    /// The most tables it keeps.
    pub fn capacity(&self) -> usize {
        self.capacity.load(Ordering::Relaxed)
    }

    /// Keeps at most `capacity` tables from now on, if that is more than it kept (it never
    /// shrinks: no table goes for it). The window and the credit's cap grow with it; the credit
    /// itself does not (a caller growing it knows which keys recur, and prepares them outside
    /// the budget). The engine grows the voters' cache when the VED's voters outgrow it.
    pub fn grow_to(&self, capacity: usize) {
        self.capacity.fetch_max(capacity, Ordering::Relaxed);
    }

    /// The most credit the budget holds: what filling the empty cache costs.
    fn credit_cap(capacity: usize) -> i64 {
        i64::try_from(capacity)
            .unwrap_or(i64::MAX)
            .saturating_mul(BUILD_COST)
    }

    /// Sightings over which keys are counted and after which an unused table may go.
    fn window(&self) -> u64 {
        WINDOW_PER_SLOT.saturating_mul(self.capacity() as u64)
    }

    /// Adds `amount` to the build credit, up to its cap.
    fn earn(&self, amount: i64) {
        let cap = Self::credit_cap(self.capacity());
        // Most hits find the budget full: a load, no write to the shared line.
        if self.credit.load(Ordering::Relaxed) >= cap {
            return;
        }
        let _ = self
            .credit
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                Some(c.saturating_add(amount).min(cap))
            });
    }

    /// Takes the cost of one build from the credit; false (and nothing taken) when short.
    fn spend(&self) -> bool {
        self.credit
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                (c >= BUILD_COST).then_some(c - BUILD_COST)
            })
            .is_ok()
    }

    /// Whether a table built at time `now` would find a place: a free slot, or a least recently
    /// used table idle for more than the window — or, for a `known` signer's, a table the
    /// policy built ([`SignerCache::victim`]).
    fn has_place(&self, now: u64, known: bool) -> bool {
        let tables = self.tables.read().unwrap_or_else(|e| e.into_inner());
        if tables.len() < self.capacity() {
            return true;
        }
        if known {
            return Self::victim(&tables, now, self.window(), known).is_some();
        }
        if now.saturating_sub(self.oldest_use.load(Ordering::Relaxed)) <= self.window() {
            return false;
        }
        let oldest = tables
            .values()
            .map(|s| s.last_use.load(Ordering::Relaxed))
            .min()
            .unwrap_or(now);
        self.oldest_use.store(oldest, Ordering::Relaxed);
        now.saturating_sub(oldest) > self.window()
    }

    /// The counts of hits, misses, table builds (those prepared among them) and evictions so
    /// far.
    pub fn stats(&self) -> CacheStats {
        let c = &self.counters;
        CacheStats {
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            // (Relaxed: a table replaced while this reads may be counted as evicted and not yet
            // built, or the other way round.)
            builds: c.builds.load(Ordering::Relaxed),
            evictions: c.evictions.load(Ordering::Relaxed),
            prepared: c.prepared.load(Ordering::Relaxed),
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
        self.earn(HIT_SAVING);
        Some(Arc::clone(signer))
    }

    /// Records a sighting of `key` without a table (the key was found to decompress to a point
    /// of large order); builds its table when the policy of the module docs admits it.
    pub fn observe(&self, key: &[u8; 32]) {
        let now = self.clock.fetch_add(1, Ordering::Relaxed);
        self.counters.misses.fetch_add(1, Ordering::Relaxed);
        if self.capacity() == 0 {
            return;
        }
        self.earn(MISS_ALLOWANCE);
        let seen = {
            let mut sightings = self.sightings.write().unwrap_or_else(|e| e.into_inner());
            if sightings.len() as u64 >= self.window() {
                sightings.clear();
            }
            let n = sightings.entry(*key).or_insert(0);
            *n = n.saturating_add(1);
            *n
        };
        if seen < 2 {
            return;
        }
        let _ = self.insert(key, now, Insert::Guessed);
    }

    /// Gives `key` a table now, whatever its sightings and the build credit: for signers the
    /// caller knows will recur (a validator's voters, known when the engine starts). Returns
    /// its signer — the one it had, or a new one — or `None` when the key is not a point of
    /// large order (never cached) or the cache is full of known signers' tables used within
    /// the window: a prepared key takes the place of a table the policy built, in use or not,
    /// never that of another known signer in use (the module docs). A key that had a table
    /// from the policy is known from now on. [`super::prepare_signers`] also builds the table
    /// in the form a verifier uses.
    pub fn prepare(&self, key: &[u8; 32]) -> Option<Arc<Signer>> {
        if let Some(signer) = self
            .tables
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
        {
            signer.known.store(true, Ordering::Relaxed);
            return Some(Arc::clone(signer));
        }
        let now = self.clock.load(Ordering::Relaxed);
        let (signer, built) = self.insert(key, now, Insert::Known)?;
        if built {
            self.counters.prepared.fetch_add(1, Ordering::Relaxed);
        }
        Some(signer)
    }

    /// Makes `key`'s signer and puts it in the cache, in a free place or the place of a table
    /// idle for more than the window — for a known signer's, else in the place of a table the
    /// policy built ([`SignerCache::victim`]); paying a build from the credit for a guessed one
    /// (the policy's builds; taken once the key is valid and a place is likely, given back when
    /// the signer is not kept): the signer, and whether it was built now (`false`: another
    /// thread put the key's in meanwhile). `None` when the key is not a point of large order,
    /// there is no place, or the credit is short.
    fn insert(&self, key: &[u8; 32], now: u64, kind: Insert) -> Option<(Arc<Signer>, bool)> {
        let (spend, known) = (kind == Insert::Guessed, kind == Insert::Known);
        if self.capacity() == 0 || !self.has_place(now, known) {
            return None;
        }
        let a = ExtendedPoint::decompress(key)?;
        // A hit skips the verifier's small-order check: such a key is never cached, whoever
        // calls this (a table for the identity would verify `R = [S]B` under it).
        if is_small_order_encoding(&compress_batch(&[a])[0]) || (spend && !self.spend()) {
            return None;
        }
        // Its tables are built on their first use: a signer not kept cost nothing yet.
        let refund = || {
            if spend {
                self.earn(BUILD_COST);
            }
        };
        let signer = Arc::new(Signer {
            minus_a: a.neg(),
            table: OnceLock::new(),
            #[cfg(target_arch = "x86_64")]
            lanes: Default::default(),
            last_use: AtomicU64::new(now),
            known: AtomicBool::new(known),
        });
        let mut tables = self.tables.write().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = tables.get(key).map(Arc::clone) {
            // Another thread made it meanwhile: its table stays, this one is dropped.
            if known {
                existing.known.store(true, Ordering::Relaxed);
            }
            drop(tables);
            self.forget_sightings(key);
            refund();
            return Some((existing, false));
        }
        if tables.len() >= self.capacity() {
            // Again under the write lock: another thread may have taken the place meanwhile
            // (then this signer is dropped).
            match Self::victim(&tables, now, self.window(), known) {
                Some(victim) => {
                    tables.remove(&victim);
                    self.counters.evictions.fetch_add(1, Ordering::Relaxed);
                }
                None => {
                    drop(tables);
                    refund();
                    return None;
                }
            }
        }
        tables.insert(*key, Arc::clone(&signer));
        self.counters.builds.fetch_add(1, Ordering::Relaxed);
        drop(tables);
        self.forget_sightings(key);
        Some((signer, true))
    }

    /// The table whose place a new one takes in the full cache `tables` at time `now`: the
    /// least recently used if it has been idle for more than `window`; for a `known` signer's,
    /// else the least recently used of those the policy built. `None` when there is none.
    fn victim(
        tables: &HashMap<[u8; 32], Arc<Signer>>,
        now: u64,
        window: u64,
        known: bool,
    ) -> Option<[u8; 32]> {
        let least_recent = |guessed_only: bool| {
            tables
                .iter()
                .filter(|(_, s)| !(guessed_only && s.known.load(Ordering::Relaxed)))
                .map(|(k, s)| (s.last_use.load(Ordering::Relaxed), *k))
                .min()
        };
        match least_recent(false) {
            Some((last_use, key)) if now.saturating_sub(last_use) > window => Some(key),
            _ if known => least_recent(true).map(|(_, key)| key),
            _ => None,
        }
    }

    /// Drops the count of `key`'s sightings: it has a table (and starts over from "seen once"
    /// if that table is ever evicted).
    fn forget_sightings(&self, key: &[u8; 32]) {
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

    fn keys(n: u64) -> Vec<[u8; 32]> {
        (1..=n)
            .map(|i| {
                (ED25519_BASEPOINT_POINT * Scalar::from(i))
                    .compress()
                    .to_bytes()
            })
            .collect()
    }

    #[test]
    fn a_key_gets_a_table_on_its_second_sighting_and_only_an_idle_one_is_replaced() {
        let cache = SignerCache::new(2);
        let k = keys(3);
        cache.observe(&k[0]);
        assert!(cache.get(&k[0]).is_none());
        cache.observe(&k[0]);
        assert!(cache.get(&k[0]).is_some());
        cache.observe(&k[1]);
        cache.observe(&k[1]);
        assert_eq!(cache.len(), 2);
        // Full, and k[0] was used just now: k[2] is turned away.
        cache.observe(&k[2]);
        cache.observe(&k[2]);
        assert!(cache.get(&k[2]).is_none());
        // k[1] keeps being used for a whole window while k[0] is not: k[0]'s place goes.
        for _ in 0..=cache.window() {
            assert!(cache.get(&k[1]).is_some());
        }
        cache.observe(&k[2]);
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&k[0]).is_none(), "the idle table went");
        assert!(cache.get(&k[2]).is_some());
        assert_eq!(cache.stats().evictions, 1);
    }

    #[test]
    fn a_prepared_key_gets_a_table_at_once_without_credit_and_never_evicts_a_known_one_in_use() {
        let cache = SignerCache::new(2);
        cache.credit.store(0, Ordering::Relaxed);
        let k = keys(3);
        assert!(cache.prepare(&k[0]).is_some(), "no sighting, no credit");
        assert!(cache.get(&k[0]).is_some());
        assert!(cache.prepare(&k[0]).is_some(), "again: the same table");
        assert!(cache.prepare(&k[1]).is_some());
        let stats = cache.stats();
        assert_eq!((stats.builds, stats.prepared, cache.len()), (2, 2, 2));
        // Full, both used within the window: k[2] gets none, and nothing is evicted.
        assert!(cache.prepare(&k[2]).is_none());
        assert_eq!(cache.stats().evictions, 0);
        // k[1] used for a whole window while k[0] is not: k[0]'s place may go to a prepared key.
        for _ in 0..=cache.window() {
            assert!(cache.get(&k[1]).is_some());
        }
        assert!(cache.prepare(&k[2]).is_some());
        assert!(cache.get(&k[0]).is_none(), "the idle table went");
        assert_eq!(cache.stats().evictions, 1);
        assert!(SignerCache::new(0).prepare(&k[0]).is_none(), "no capacity");
    }

    #[test]
    fn a_known_signer_takes_the_place_of_a_guessed_table_in_use_never_of_a_known_one() {
        let cache = SignerCache::new(3);
        let k = keys(6);
        // k[0] known; k[1] and k[2] guessed by the policy (their second sighting); all three
        // used, in that order.
        assert!(cache.prepare(&k[0]).is_some());
        for key in &k[1..3] {
            cache.observe(key);
            cache.observe(key);
        }
        for key in &k[..3] {
            assert!(cache.get(key).is_some());
        }
        // A guessed key finds no place: every table is in use.
        cache.observe(&k[3]);
        cache.observe(&k[3]);
        assert!(cache.get(&k[3]).is_none());
        // A known one takes the place of the least recently used guessed table, k[1]'s.
        assert!(cache.prepare(&k[4]).is_some());
        assert!(cache.get(&k[1]).is_none(), "the guessed table went");
        assert!(cache.get(&k[0]).is_some() && cache.get(&k[2]).is_some());
        // Prepared, k[2]'s table is a known signer's: none is left that a known key may take.
        assert!(cache.prepare(&k[2]).is_some());
        assert!(
            cache.prepare(&k[5]).is_none(),
            "known signers' tables, all in use"
        );
        assert_eq!((cache.len(), cache.stats().evictions), (3, 1));
        // A whole window later, with k[4] alone used, the others' places are free to anyone.
        for _ in 0..=cache.window() {
            assert!(cache.get(&k[4]).is_some());
        }
        assert!(cache.prepare(&k[5]).is_some());
        cache.observe(&k[3]);
        cache.observe(&k[3]);
        assert!(
            cache.get(&k[3]).is_some(),
            "a guessed key takes an idle known signer's place"
        );
    }

    #[test]
    fn a_grown_cache_takes_the_keys_it_had_no_place_for_and_never_shrinks() {
        let cache = SignerCache::new(1);
        let k = keys(3);
        assert!(cache.prepare(&k[0]).is_some());
        assert!(cache.prepare(&k[1]).is_none(), "full, its table in use");
        let window = cache.window();
        cache.grow_to(3);
        assert_eq!(cache.capacity(), 3);
        assert_eq!(cache.window(), 3 * window, "the window follows");
        assert!(cache.prepare(&k[1]).is_some());
        assert!(cache.prepare(&k[2]).is_some());
        cache.grow_to(1);
        assert_eq!(cache.capacity(), 3, "never shrinks");
        assert_eq!((cache.len(), cache.stats().evictions), (3, 0));
    }

    #[test]
    fn builds_stop_when_the_credit_is_spent() {
        let cache = SignerCache::new(4);
        cache.credit.store(BUILD_COST, Ordering::Relaxed);
        let k = keys(2);
        for key in &k {
            cache.observe(key);
            cache.observe(key);
        }
        assert_eq!(cache.stats().builds, 1, "one build's worth of credit");
        assert_eq!(cache.len(), 1);
        // Sightings without a table earn the allowance: enough of them buy the next build.
        for _ in 0..BUILD_COST / MISS_ALLOWANCE {
            cache.observe(&k[1]);
        }
        assert_eq!(cache.len(), 2);
    }
}
