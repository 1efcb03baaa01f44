//! What the runtime keeps besides accounts, and its file.
//!
//! The account store commits a slot atomically; this state (hashes, windows, epoch
//! bookkeeping) must match the store's slot exactly. It lives beside the store as
//! `runtime-<slot>.state`, written and fsynced *before* the store commits that slot, and the
//! previous slot's file is removed only after. Whatever a crash interrupts, the file for the
//! store's committed slot exists; a file for a later slot (written, then not committed) is
//! ignored and replaced.
//!
//! File format (little-endian): magic `TNDMRTS1`, the fields in the order of
//! [`RuntimeState::encode`], then the xxh3-64 of everything before it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};

use tandem_kernels::hash::lthash::LtHash;
use xxhash_rust::xxh3::xxh3_64;

use super::hash::DomainHashes;
use crate::account::{Mapping, Pubkey};

/// Blocks whose blockhashes a transaction may name, and slots a first signature is remembered
/// for (SPEC §2).
pub const WINDOW: u64 = 150;

const MAGIC: &[u8; 8] = b"TNDMRTS1";

/// The first signatures a domain charged a fee for, by slot (SPEC §2, check 4).
///
/// A signature charged in slot `t` is a duplicate in slot `s` when `s − t ≤ 150`: in this slot
/// or in the 150 slot numbers before it (skipped slots count, as they do in Solana's status
/// cache).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignatureWindow {
    by_slot: VecDeque<(u64, Vec<[u8; 64]>)>,
    seen: HashMap<[u8; 64], u64>,
}

impl SignatureWindow {
    /// Whether `signature` was charged within the window of `slot`.
    pub fn contains(&self, signature: &[u8; 64]) -> bool {
        self.seen.contains_key(signature)
    }

    /// Records a signature charged in `slot` (the newest slot so far).
    pub fn insert(&mut self, slot: u64, signature: [u8; 64]) {
        match self.by_slot.back_mut() {
            Some((s, list)) if *s == slot => list.push(signature),
            _ => self.by_slot.push_back((slot, vec![signature])),
        }
        self.seen.insert(signature, slot);
    }

    /// Forgets what falls out of the window of `slot`.
    pub fn advance_to(&mut self, slot: u64) {
        while let Some((s, _)) = self.by_slot.front() {
            if slot - s <= WINDOW {
                break;
            }
            let (_, list) = self.by_slot.pop_front().expect("front exists");
            for signature in list {
                self.seen.remove(&signature);
            }
        }
    }

    /// Signatures remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// The runtime's state beside the accounts, as of the last executed slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeState {
    /// The genesis blockhash (checks that a store belongs to the genesis it is opened with).
    pub genesis_hash: [u8; 32],
    /// The last executed slot (0: genesis).
    pub slot: u64,
    /// Its epoch.
    pub epoch: u64,
    /// Its timestamp (the genesis clock at slot 0).
    pub unix_timestamp_ms: i64,
    /// Per-domain LtHashes and hashes.
    pub hashes: DomainHashes,
    /// The blockhashes of the last [`WINDOW`] blocks, oldest first (the genesis hash counts).
    pub recent_blockhashes: VecDeque<[u8; 32]>,
    /// Per-domain duplicate-signature windows (VED, UED).
    pub signatures: [SignatureWindow; 2],
    /// Accounts frozen for a remap, with the epoch they are frozen in.
    pub frozen: BTreeMap<Pubkey, u64>,
    /// Accounts moving: the target mapping and the epoch at whose first slot they move.
    pub moves: BTreeMap<Pubkey, (Mapping, u64)>,
    /// `RemapDomain` requests of the current epoch.
    pub remap_requests: BTreeMap<Pubkey, Mapping>,
    /// Operator slashes for the next boundary: vote account and basis points of its stake.
    pub slashes: Vec<(Pubkey, u16)>,
}

/// Why a state file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    /// Reading failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The bytes are not a valid state file.
    #[error("{path}: corrupt runtime state: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The state file of `slot` in the store directory `dir`.
pub fn state_path(dir: &Path, slot: u64) -> PathBuf {
    dir.join(format!("runtime-{slot}.state"))
}

struct Writer(Vec<u8>);

impl Writer {
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("truncated at byte {}", self.at))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    /// A count of items of `size` bytes each, checked against the bytes left.
    fn count(&mut self, size: usize) -> Result<usize, String> {
        let n = self.u64()?;
        let left = (self.bytes.len() - self.at) as u64;
        if n.saturating_mul(size as u64) > left {
            return Err(format!(
                "a count of {n} at byte {} exceeds the file",
                self.at - 8
            ));
        }
        Ok(n as usize)
    }
    fn mapping(&mut self) -> Result<Mapping, String> {
        let tag = self.array::<1>()?[0];
        Mapping::from_tag(tag).map_err(|e| e.to_string())
    }
}

impl RuntimeState {
    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(8192));
        w.bytes(MAGIC);
        w.bytes(&self.genesis_hash);
        w.u64(self.slot);
        w.u64(self.epoch);
        w.u64(self.unix_timestamp_ms as u64);
        for d in 0..2 {
            w.bytes(&self.hashes.hash[d]);
            w.bytes(&self.hashes.lthash[d].to_bytes());
        }
        w.u64(self.recent_blockhashes.len() as u64);
        for h in &self.recent_blockhashes {
            w.bytes(h);
        }
        for window in &self.signatures {
            w.u64(window.by_slot.len() as u64);
            for (slot, list) in &window.by_slot {
                w.u64(*slot);
                w.u64(list.len() as u64);
                for s in list {
                    w.bytes(s);
                }
            }
        }
        w.u64(self.frozen.len() as u64);
        for (k, epoch) in &self.frozen {
            w.bytes(&k.0);
            w.u64(*epoch);
        }
        w.u64(self.moves.len() as u64);
        for (k, (mapping, epoch)) in &self.moves {
            w.bytes(&k.0);
            w.bytes(&[mapping.tag()]);
            w.u64(*epoch);
        }
        w.u64(self.remap_requests.len() as u64);
        for (k, mapping) in &self.remap_requests {
            w.bytes(&k.0);
            w.bytes(&[mapping.tag()]);
        }
        w.u64(self.slashes.len() as u64);
        for (k, bps) in &self.slashes {
            w.bytes(&k.0);
            w.bytes(&bps.to_le_bytes());
        }
        let sum = xxh3_64(&w.0);
        w.u64(sum);
        w.0
    }

    /// Decodes a state file's bytes.
    pub fn decode(bytes: &[u8]) -> Result<RuntimeState, String> {
        if bytes.len() < MAGIC.len() + 8 || &bytes[..8] != MAGIC {
            return Err("not a runtime state file (bad magic)".into());
        }
        let (body, sum) = bytes.split_at(bytes.len() - 8);
        if xxh3_64(body).to_le_bytes() != sum {
            return Err("checksum mismatch".into());
        }
        let mut r = Reader { bytes: body, at: 8 };
        let genesis_hash = r.array()?;
        let slot = r.u64()?;
        let epoch = r.u64()?;
        let unix_timestamp_ms = r.u64()? as i64;
        let mut hash = [[0u8; 32]; 2];
        let mut lthash = [LtHash::identity(), LtHash::identity()];
        for d in 0..2 {
            hash[d] = r.array()?;
            lthash[d] = LtHash::from_bytes(&r.array()?);
        }
        let n = r.count(32)?;
        let recent_blockhashes = (0..n).map(|_| r.array()).collect::<Result<_, _>>()?;
        let mut signatures: [SignatureWindow; 2] = Default::default();
        for window in &mut signatures {
            for _ in 0..r.count(16)? {
                let slot = r.u64()?;
                for _ in 0..r.count(64)? {
                    window.insert(slot, r.array()?);
                }
            }
        }
        let mut frozen = BTreeMap::new();
        for _ in 0..r.count(40)? {
            frozen.insert(Pubkey(r.array()?), r.u64()?);
        }
        let mut moves = BTreeMap::new();
        for _ in 0..r.count(41)? {
            let k = Pubkey(r.array()?);
            moves.insert(k, (r.mapping()?, r.u64()?));
        }
        let mut remap_requests = BTreeMap::new();
        for _ in 0..r.count(33)? {
            let k = Pubkey(r.array()?);
            remap_requests.insert(k, r.mapping()?);
        }
        let mut slashes = Vec::new();
        for _ in 0..r.count(34)? {
            let k = Pubkey(r.array()?);
            slashes.push((k, u16::from_le_bytes(r.array()?)));
        }
        if r.at != body.len() {
            return Err(format!("{} unexpected bytes at the end", body.len() - r.at));
        }
        Ok(RuntimeState {
            genesis_hash,
            slot,
            epoch,
            unix_timestamp_ms,
            hashes: DomainHashes { lthash, hash },
            recent_blockhashes,
            signatures,
            frozen,
            moves,
            remap_requests,
            slashes,
        })
    }

    /// Writes the state file of `self.slot` in `dir` and fsyncs it and the directory (so the
    /// file survives a power loss, not only a process crash).
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let path = state_path(dir, self.slot);
        let mut file = std::fs::File::create(&path)?;
        file.write_all(&self.encode())?;
        file.sync_all()?;
        std::fs::File::open(dir)?.sync_all()
    }

    /// Reads the state file of `slot` in `dir`.
    pub fn load(dir: &Path, slot: u64) -> Result<RuntimeState, StateFileError> {
        let path = state_path(dir, slot);
        let bytes = std::fs::read(&path).map_err(|source| StateFileError::Io {
            path: path.clone(),
            source,
        })?;
        let state = RuntimeState::decode(&bytes).map_err(|reason| StateFileError::Corrupt {
            path: path.clone(),
            reason,
        })?;
        if state.slot != slot {
            return Err(StateFileError::Corrupt {
                path,
                reason: format!("it records slot {}, the store slot {slot}", state.slot),
            });
        }
        Ok(state)
    }

    /// Removes every state file in `dir` but the one of `keep`.
    pub fn remove_others(dir: &Path, keep: u64) -> std::io::Result<()> {
        let keep_name = format!("runtime-{keep}.state");
        for entry in std::fs::read_dir(dir)? {
            let name = entry?.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("runtime-") && name.ends_with(".state") && name != keep_name {
                std::fs::remove_file(dir.join(&*name))?;
            }
        }
        Ok(())
    }
}
