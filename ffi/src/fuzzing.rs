//! Arbitrary bytes through the Rust side of `tandem_engine_submit_block` ([`submit_block`]): the
//! code the cargo-fuzz target `submit_block` (`ffi/fuzz`) and the stable test
//! `tests/submit_fuzz.rs` share — one engine that takes every input, the property every input
//! must keep, and the structure-aware mutations of a block.
//!
//! **The property.** Whatever the bytes, [`submit_block`] returns: `Ok` (the block was queued,
//! and it is then executed: its UED hash follows), `TANDEM_ERR_INVALID_ARGUMENT` (not exactly one
//! block in the encoding), `TANDEM_ERR_REJECTED` (a block SPEC §4 or §2 refuses; the engine goes
//! on unchanged) or `TANDEM_ERR_HALTED` (replayed votes made the engine halt, SPEC §6: a fresh
//! engine takes over). It never panics, on the caller's thread or on a stage, and never stops the
//! engine (which then answers the status of what stopped it: `TANDEM_ERR_IO`, `_INTERNAL`, …). [`Feeder::feed`] panics where that
//! breaks, which is what a fuzzer and a test want.
//!
//! **Getting past the framing and the header.** Mutated bytes seldom frame exactly one block
//! (a count and lengths that add up), and almost never follow the engine's last block, so most
//! inputs would stop at the decoder or the header check. [`Feeder::feed`] rewrites the slot,
//! parent and clock of three inputs in four to follow the last block accepted ([`follow`]), and
//! of two in four also repairs the framing ([`frame`]), so the transactions' parser and the
//! executors see what is left; [`steer`] decides from a hash of the input, so an input always
//! takes the same path.
//!
//! Not part of the API: hidden from the docs, and free to change with the fuzz target.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ::tandem_engine::account::Domain;
use ::tandem_engine::genesis::Genesis;
use ::tandem_engine::ledger::{BLOCK_HEADER_LEN, MAX_TRANSACTION_LEN};
use ::tandem_engine::pipeline::{Engine, EngineConfig, EngineHooks, Waited};
use ::tandem_engine::runtime::Backend;
use ::tandem_engine::sample::SplitMix64;

use crate::engine::submit_block;
use crate::error::FfiError;
use crate::status::{TANDEM_ERR_HALTED, TANDEM_ERR_INVALID_ARGUMENT, TANDEM_ERR_REJECTED};

/// Byte offsets of the header fields [`follow`] rewrites (SPEC §9: slot, parent slot, leader,
/// timestamp, blockhash).
const SLOT: usize = 0;
const PARENT_SLOT: usize = 8;
const TIMESTAMP_MS: usize = 48;
/// Where the transaction count starts.
const COUNT: usize = BLOCK_HEADER_LEN;

/// After this many accepted blocks, [`Feeder::feed`] waits until the UED has executed the last
/// one, so a block that was queued but wedged or killed a stage is caught near its input.
const DRAIN_EVERY: u64 = 64;

/// How long [`Feeder::drain`] waits for the UED before it calls the engine stuck.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);

/// What became of the inputs fed so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeedStats {
    /// Inputs fed.
    pub fed: u64,
    /// Inputs whose header [`follow`] rewrote.
    pub followed: u64,
    /// Of those, inputs whose framing [`frame`] repaired.
    pub framed: u64,
    /// Blocks queued (`Ok`).
    pub accepted: u64,
    /// `TANDEM_ERR_INVALID_ARGUMENT`: not one block.
    pub invalid: u64,
    /// `TANDEM_ERR_REJECTED`: a header or a transaction the engine refuses.
    pub rejected: u64,
    /// `TANDEM_ERR_HALTED`: the engine halted and a fresh one took over.
    pub halted: u64,
}

/// One engine of the default cluster (CPU backend, one UED thread, unpinned) taking input after
/// input, and where its last accepted block left the clock.
pub struct Feeder {
    base: PathBuf,
    genesis: Genesis,
    engine: Option<Engine>,
    /// Engines opened so far: the next one's directory is `base/engine-{opened}`.
    opened: u32,
    last_slot: u64,
    last_ms: i64,
    stats: FeedStats,
}

impl Feeder {
    /// Opens an engine on a fresh store under `base` (an existing, writable directory; each
    /// engine opened gets a directory of its own in it).
    ///
    /// # Panics
    /// Where the engine does not open.
    pub fn open(base: &Path) -> Feeder {
        let genesis = Genesis::default_cluster();
        let mut feeder = Feeder {
            base: base.to_owned(),
            last_slot: 0,
            last_ms: genesis.cluster.unix_timestamp_ms,
            genesis,
            engine: None,
            opened: 0,
            stats: FeedStats::default(),
        };
        feeder.start();
        feeder
    }

    /// Opens the next engine, from the genesis.
    fn start(&mut self) {
        let dir = self.base.join(format!("engine-{}", self.opened));
        let config = EngineConfig {
            backend: Backend::Cpu,
            ued_threads: 1,
            ..EngineConfig::default()
        };
        let engine = Engine::open(&self.genesis, &dir, config, EngineHooks::default())
            .unwrap_or_else(|e| panic!("opening the engine in {}: {e}", dir.display()));
        self.engine = Some(engine);
        self.opened += 1;
        self.last_slot = 0;
        self.last_ms = self.genesis.cluster.unix_timestamp_ms;
    }

    fn engine(&self) -> &Engine {
        self.engine.as_ref().expect("open between start and finish")
    }

    /// Submits `input` (steered as [`steer`] says) and checks the property of the module docs;
    /// returns the outcome.
    ///
    /// # Panics
    /// Where the property breaks: a panic in [`submit_block`], an outcome other than those
    /// allowed, or an accepted block the engine does not execute.
    pub fn feed(&mut self, input: &[u8]) -> Result<(), FfiError> {
        self.stats.fed += 1;
        let mut bytes = input.to_vec();
        let steer = steer(input);
        if steer != Steer::AsIs && follow(&mut bytes, self.last_slot, self.last_ms) {
            self.stats.followed += 1;
            if steer == Steer::FollowAndFrame {
                frame(&mut bytes);
                self.stats.framed += 1;
            }
        }
        let outcome = submit_block(self.engine(), &bytes);
        match &outcome {
            Ok(()) => {
                self.stats.accepted += 1;
                // Accepted, so it holds a whole header.
                self.last_slot = u64::from_le_bytes(field(&bytes, SLOT));
                self.last_ms = i64::from_le_bytes(field(&bytes, TIMESTAMP_MS));
                if self.stats.accepted.is_multiple_of(DRAIN_EVERY) {
                    self.drain();
                }
            }
            Err(e) if e.code == TANDEM_ERR_INVALID_ARGUMENT => self.stats.invalid += 1,
            Err(e) if e.code == TANDEM_ERR_REJECTED => self.stats.rejected += 1,
            Err(e) if e.code == TANDEM_ERR_HALTED => {
                self.stats.halted += 1;
                self.restart();
            }
            Err(e) => panic!(
                "submit_block broke the property: code {} ({}) for {} bytes of input",
                e.code,
                e.message,
                input.len()
            ),
        }
        outcome
    }

    /// Waits until the UED has executed the last block accepted.
    ///
    /// # Panics
    /// Where it has not after two minutes, or the engine failed, unless it halted.
    pub fn drain(&self) {
        let engine = self.engine();
        if self.last_slot == 0 {
            return;
        }
        let waited = engine.wait_hash(Domain::Ued, self.last_slot, DRAIN_TIMEOUT);
        match waited {
            Ok(Waited::Hash(_)) => {}
            _ if engine.halted().is_some() => {}
            other => panic!(
                "slot {} was accepted but the UED did not execute it: {other:?}",
                self.last_slot
            ),
        }
    }

    /// Replaces a halted engine with a fresh one, in a directory of its own; the old store is
    /// removed.
    fn restart(&mut self) {
        let engine = self.engine.take().expect("open");
        let dir = self.base.join(format!("engine-{}", self.opened - 1));
        if let Err(e) = engine.finish() {
            panic!("a halted engine failed to finish: {e}");
        }
        // A store left behind only costs disk space.
        let _ = std::fs::remove_dir_all(dir);
        self.start();
    }

    /// What became of the inputs so far.
    pub fn stats(&self) -> FeedStats {
        self.stats
    }

    /// The slot and clock of the last block accepted: what a block must follow.
    pub fn last(&self) -> (u64, i64) {
        (self.last_slot, self.last_ms)
    }

    /// Stops the engine after the UED has executed everything accepted.
    ///
    /// # Panics
    /// Where it does not stop cleanly.
    pub fn finish(mut self) {
        self.drain();
        if let Err(e) = self.engine.take().expect("open").finish() {
            panic!("the engine failed to finish: {e}");
        }
    }
}

/// What [`Feeder::feed`] does to an input before it submits it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Steer {
    /// Nothing: the bytes go as they are (one input in four).
    AsIs,
    /// The header is made to follow the last block accepted ([`follow`]) (one in four).
    Follow,
    /// That, and the framing repaired ([`frame`]) (two in four).
    FollowAndFrame,
}

/// How [`Feeder::feed`] steers `input`, by a hash of its bytes (FNV-1a), so the same input
/// always takes the same path.
pub fn steer(input: &[u8]) -> Steer {
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    match hash % 4 {
        0 => Steer::AsIs,
        1 => Steer::Follow,
        _ => Steer::FollowAndFrame,
    }
}

/// Rewrites the header of `block` in place to follow a block of `last_slot` at `last_ms`:
/// parent `last_slot`, slot 1 to 3 after it, a clock 0 to 1,000 ms after it (SPEC §4), each
/// step taken from the field's old value, so the fuzzer still steers them. Returns false, and
/// leaves the bytes alone, when they are too short to hold a header.
pub fn follow(block: &mut [u8], last_slot: u64, last_ms: i64) -> bool {
    if block.len() < BLOCK_HEADER_LEN {
        return false;
    }
    let slot = u64::from_le_bytes(field(block, SLOT));
    let ms = i64::from_le_bytes(field(block, TIMESTAMP_MS));
    let new_slot = last_slot + 1 + slot % 3;
    let new_ms = last_ms.saturating_add(ms.rem_euclid(1001));
    block[SLOT..SLOT + 8].copy_from_slice(&new_slot.to_le_bytes());
    block[PARENT_SLOT..PARENT_SLOT + 8].copy_from_slice(&last_slot.to_le_bytes());
    block[TIMESTAMP_MS..TIMESTAMP_MS + 8].copy_from_slice(&new_ms.to_le_bytes());
    true
}

/// Makes the bytes after a block's header frame exactly one block: the transactions whose
/// length and bytes are whole (up to the first that is cut short or longer than
/// [`MAX_TRANSACTION_LEN`]) stay, the bytes after them go, and the count says how many there
/// are. Bytes too short for a header are left alone.
pub fn frame(block: &mut Vec<u8>) {
    if block.len() < BLOCK_HEADER_LEN {
        return;
    }
    let (mut end, mut count) = (COUNT + 4, 0u32);
    for (len_at, range) in Layout::of(block).transactions {
        if range.len() != declared_len(block, len_at) || range.len() > MAX_TRANSACTION_LEN {
            break;
        }
        end = range.end;
        count += 1;
    }
    block.resize(end, 0);
    block[COUNT..COUNT + 4].copy_from_slice(&count.to_le_bytes());
}

/// The u32 length field at `at`.
fn declared_len(block: &[u8], at: usize) -> usize {
    u32::from_le_bytes(block[at..at + 4].try_into().expect("4 bytes")) as usize
}

/// The 8 bytes of a header field.
fn field(bytes: &[u8], at: usize) -> [u8; 8] {
    bytes[at..at + 8].try_into().expect("8 bytes")
}

/// Where the length fields and the transactions of a block's bytes are, as far as the bytes go
/// (a cut or garbage block has fewer than its count says).
struct Layout {
    /// The offset of each transaction's u32 length, and the range of its bytes that are there.
    transactions: Vec<(usize, std::ops::Range<usize>)>,
}

impl Layout {
    fn of(block: &[u8]) -> Layout {
        let mut transactions = Vec::new();
        let mut at = COUNT + 4;
        while at + 4 <= block.len() {
            let len = declared_len(block, at);
            let start = at + 4;
            let end = start.saturating_add(len);
            // A transaction cut short keeps its length field and the bytes that are there.
            transactions.push((at, start..end.min(block.len())));
            if end > block.len() {
                break;
            }
            at = end;
        }
        Layout { transactions }
    }

    /// Every u32 length field: the count's offset (when the bytes reach it) and each
    /// transaction's.
    fn length_fields(&self, block: &[u8]) -> Vec<usize> {
        let count = (block.len() >= COUNT + 4).then_some(COUNT);
        count
            .into_iter()
            .chain(self.transactions.iter().map(|(at, _)| *at))
            .collect()
    }
}

/// Adds `delta` to the transaction count, when the bytes hold one.
fn bump_count(block: &mut [u8], delta: u32) {
    if let Some(count) = block.get_mut(COUNT..COUNT + 4) {
        let n = u32::from_le_bytes((&*count).try_into().expect("4 bytes")).wrapping_add(delta);
        count.copy_from_slice(&n.to_le_bytes());
    }
}

/// A value for a u32 length field near the edges a decoder must get right.
fn edge_length(rng: &mut SplitMix64, old: u32) -> u32 {
    let max = MAX_TRANSACTION_LEN as u32;
    let edges = [
        0,
        1,
        old.wrapping_sub(1),
        old.wrapping_add(1),
        old.wrapping_mul(2),
        max,
        max + 1,
        0x7fff_ffff,
        u32::MAX,
    ];
    match rng.below(edges.len() as u64 + 1) as usize {
        i if i < edges.len() => edges[i],
        _ => rng.next_u64() as u32,
    }
}

/// One structure-aware mutation of a block's bytes, chosen by `rng`: flipped bits, a cut, an
/// edited length field (the count or a transaction's), random bytes written over, inserted in or
/// removed from a transaction, or a transaction duplicated or made up and the count raised to
/// match. The result may be any bytes at all; most are not a valid block.
pub fn mutate(rng: &mut SplitMix64, block: &[u8]) -> Vec<u8> {
    let mut out = block.to_vec();
    let layout = Layout::of(block);
    // A byte inside a transaction when there is one, anywhere otherwise.
    let pick_offset = |rng: &mut SplitMix64, len: usize| -> usize {
        let txs = &layout.transactions;
        match txs.get(rng.below(txs.len() as u64 + 1) as usize) {
            Some((_, range)) if !range.is_empty() => {
                range.start + rng.below(range.len() as u64) as usize
            }
            _ => rng.below(len as u64 + 1) as usize,
        }
    };
    match rng.below(8) {
        0 if !out.is_empty() => {
            for _ in 0..=rng.below(8) {
                let at = rng.below(out.len() as u64) as usize;
                out[at] ^= 1 << rng.below(8);
            }
        }
        1 => out.truncate(rng.below(out.len() as u64 + 1) as usize),
        2 => {
            let fields = layout.length_fields(block);
            if let Some(&at) = fields.get(rng.below(fields.len().max(1) as u64) as usize) {
                let new = edge_length(rng, declared_len(&out, at) as u32);
                out[at..at + 4].copy_from_slice(&new.to_le_bytes());
            }
        }
        3 => {
            let at = pick_offset(rng, out.len());
            let end = (at + 1 + rng.below(16) as usize).min(out.len());
            rng.fill(&mut out[at..end]);
        }
        4 => {
            let at = pick_offset(rng, out.len());
            let mut extra = vec![0u8; 1 + rng.below(8) as usize];
            rng.fill(&mut extra);
            out.splice(at..at, extra);
        }
        5 => {
            let at = pick_offset(rng, out.len());
            let end = (at + 1 + rng.below(8) as usize).min(out.len());
            out.drain(at..end);
        }
        6 if !layout.transactions.is_empty() => {
            let txs = &layout.transactions;
            let (len_at, range) = &txs[rng.below(txs.len() as u64) as usize];
            out.extend_from_slice(&block[*len_at..range.end]);
            bump_count(&mut out, 1);
        }
        _ => {
            let mut tx = vec![0u8; rng.below(300) as usize];
            rng.fill(&mut tx);
            out.extend_from_slice(&(tx.len() as u32).to_le_bytes());
            out.extend_from_slice(&tx);
            bump_count(&mut out, 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header (slot 5, parent 4, clock 1,000 ms) and two transactions of 3 and 0 bytes.
    fn block() -> Vec<u8> {
        let mut bytes = vec![0u8; BLOCK_HEADER_LEN];
        bytes[SLOT..SLOT + 8].copy_from_slice(&5u64.to_le_bytes());
        bytes[PARENT_SLOT..PARENT_SLOT + 8].copy_from_slice(&4u64.to_le_bytes());
        bytes[TIMESTAMP_MS..TIMESTAMP_MS + 8].copy_from_slice(&1000i64.to_le_bytes());
        bytes.extend_from_slice(&2u32.to_le_bytes());
        bytes.extend_from_slice(&3u32.to_le_bytes());
        bytes.extend_from_slice(&[7, 8, 9]);
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes
    }

    #[test]
    fn follow_rewrites_the_header_to_follow_the_last_block() {
        let mut bytes = block();
        assert!(follow(&mut bytes, 40, 2_000));
        // Slot 5 steps by 1 + 5 % 3 = 3; the clock by 1,000 % 1,001.
        assert_eq!(u64::from_le_bytes(field(&bytes, SLOT)), 43);
        assert_eq!(u64::from_le_bytes(field(&bytes, PARENT_SLOT)), 40);
        assert_eq!(i64::from_le_bytes(field(&bytes, TIMESTAMP_MS)), 3_000);
        assert_eq!(bytes[COUNT..], block()[COUNT..]);
        let mut short = vec![1u8; BLOCK_HEADER_LEN - 1];
        assert!(!follow(&mut short, 40, 2_000));
        assert_eq!(short, vec![1u8; BLOCK_HEADER_LEN - 1]);
    }

    #[test]
    fn frame_keeps_the_whole_transactions_and_sets_the_count() {
        let whole = block();
        let mut bytes = whole.clone();
        frame(&mut bytes);
        assert_eq!(bytes, whole);
        // Trailing garbage goes.
        let mut bytes = [whole.as_slice(), &[1, 2, 3]].concat();
        frame(&mut bytes);
        assert_eq!(bytes, whole);
        // Cut inside the second transaction's length: one transaction stays.
        let first_end = COUNT + 4 + 4 + 3;
        let mut bytes = whole[..first_end + 2].to_vec();
        frame(&mut bytes);
        assert_eq!(bytes.len(), first_end);
        assert_eq!(declared_len(&bytes, COUNT), 1);
        // A length over the limit ends the block before it.
        let mut bytes = whole.clone();
        bytes[COUNT + 4..COUNT + 8]
            .copy_from_slice(&(MAX_TRANSACTION_LEN as u32 + 1).to_le_bytes());
        bytes.resize(COUNT + 8 + MAX_TRANSACTION_LEN + 1, 0);
        frame(&mut bytes);
        assert_eq!((bytes.len(), declared_len(&bytes, COUNT)), (COUNT + 4, 0));
        // A header cut before its count gets an empty one; shorter bytes stay as they are.
        let mut bytes = whole[..COUNT + 2].to_vec();
        frame(&mut bytes);
        assert_eq!(bytes, [&whole[..COUNT], &[0, 0, 0, 0]].concat());
        let mut bytes = whole[..COUNT - 1].to_vec();
        frame(&mut bytes);
        assert_eq!(bytes, whole[..COUNT - 1]);
    }

    #[test]
    fn steering_depends_on_the_bytes_alone_and_takes_every_path() {
        let inputs: Vec<Vec<u8>> = (0u32..400).map(|i| i.to_le_bytes().to_vec()).collect();
        let steers: Vec<Steer> = inputs.iter().map(|i| steer(i)).collect();
        assert_eq!(steers, inputs.iter().map(|i| steer(i)).collect::<Vec<_>>());
        let share = |s: Steer| steers.iter().filter(|&&t| t == s).count();
        assert!(
            (60..140).contains(&share(Steer::AsIs)),
            "{}",
            share(Steer::AsIs)
        );
        assert!((60..140).contains(&share(Steer::Follow)));
        assert!((160..240).contains(&share(Steer::FollowAndFrame)));
    }

    #[test]
    fn the_layout_finds_every_length_field_the_bytes_reach() {
        let bytes = block();
        let layout = Layout::of(&bytes);
        let first = COUNT + 4;
        assert_eq!(
            layout.transactions,
            vec![
                (first, first + 4..first + 7),
                (first + 7, first + 11..first + 11)
            ]
        );
        assert_eq!(layout.length_fields(&bytes), vec![COUNT, first, first + 7]);
        // Cut inside the first transaction: the count, its length and one of its bytes remain.
        let cut = &bytes[..first + 5];
        assert_eq!(
            Layout::of(cut).transactions,
            vec![(first, first + 4..first + 5)]
        );
        assert_eq!(Layout::of(cut).length_fields(cut), vec![COUNT, first]);
        assert!(Layout::of(&[]).length_fields(&[]).is_empty());
    }

    #[test]
    fn mutations_are_deterministic_and_varied() {
        let bytes = block();
        let run = |seed| {
            let mut rng = SplitMix64::new(seed);
            (0..200)
                .map(|_| mutate(&mut rng, &bytes))
                .collect::<Vec<_>>()
        };
        let mutants = run(7);
        assert_eq!(mutants, run(7));
        let changed = mutants.iter().filter(|m| **m != bytes).count();
        assert!(changed > 150, "{changed} of 200 mutants differ");
        assert!(mutants.iter().any(|m| m.len() < bytes.len()));
        assert!(mutants.iter().any(|m| m.len() > bytes.len()));
        // Empty input is fine too.
        let mut rng = SplitMix64::new(1);
        for _ in 0..100 {
            mutate(&mut rng, &[]);
        }
    }
}
