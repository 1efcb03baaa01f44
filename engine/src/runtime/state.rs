//! What the runtime keeps besides accounts, and its file. (The duplicate-signature window it
//! holds is [`super::window`]'s.)
//!
//! The account store commits a slot atomically; this state (hashes, windows, epoch
//! bookkeeping) must match the store's slot exactly. It lives beside the store as
//! `runtime-<slot>.state`, written and fsynced *before* the store commits that slot, and the
//! previous slot's file is removed only after. Whatever a crash interrupts, the file for the
//! store's committed slot exists; a file for a later slot (written, then not committed) is
//! ignored and replaced. [`Runtime::open`](super::Runtime::open) removes every file but the
//! committed slot's (the one before it survives a power loss that undid its removal).
//!
//! File format (little-endian): magic `TNDMRTS5`, the fields in the order of
//! [`RuntimeState::encode`], then the xxh3-64 of everything before it. The duplicate-signature
//! window is not in it, only its shape ([`WindowShape`]): the window is up to 150 blocks of
//! first signatures — megabytes — and the file is written and synced every slot, so the window
//! is rebuilt at open from the slots' status files, which hold every transaction's first
//! signature and status ([`super::status_index::signature_window`]), and checked against the
//! shape. `TNDMRTS4` files (no genesis digest: [`RuntimeState::genesis_digest`] is `None`, the
//! store then checked by its genesis hash alone), `TNDMRTS3` files (no VED membership: [`RuntimeState::ved_members`] is then taken from the
//! store, as that build decided membership — by mapping) and `TNDMRTS2` files (the window inline,
//! no membership either) are still read. A file of an earlier format
//! (`TNDMRTS1`: per-domain duplicate windows counted in slots) is refused with
//! [`StateFileError::RetiredFormat`], never read as if it were this one.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use std::path::{Path, PathBuf};

use tandem_kernels::hash::lthash::LtHash;
use xxhash_rust::xxh3::xxh3_64;

use super::hash::DomainHashes;
use super::window::{PayerTag, SignatureWindow, WINDOW, WindowShape};
use crate::account::{Domain, Mapping, PerDomain, Pubkey};

/// The file format this build writes and reads.
const MAGIC: &[u8; 8] = b"TNDMRTS5";

/// The format before this one, read still: no genesis digest.
const MAGIC_NO_DIGEST: &[u8; 8] = b"TNDMRTS4";

/// The format before this one, read still: no VED membership (the caller derives it).
const MAGIC_NO_MEMBERS: &[u8; 8] = b"TNDMRTS3";

/// The format before this one, read still: the duplicate window inline.
const MAGIC_WINDOW_INLINE: &[u8; 8] = b"TNDMRTS2";

/// The formats this build reads, newest first.
const FORMATS: [&[u8; 8]; 4] = [
    MAGIC,
    MAGIC_NO_DIGEST,
    MAGIC_NO_MEMBERS,
    MAGIC_WINDOW_INLINE,
];

/// Formats of earlier builds that this one refuses by name rather than misreads.
const RETIRED_FORMATS: [(&[u8; 8], &str); 1] = [(
    b"TNDMRTS1",
    "a duplicate-signature window per domain, counted in slots",
)];

/// Where a state file's duplicate window comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowFrom {
    /// The file held it (`TNDMRTS2`).
    Inline,
    /// The status files, which must give this shape (`TNDMRTS3` and later).
    StatusFiles(WindowShape),
}

/// The runtime's state beside the accounts, as of the last executed slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeState {
    /// The genesis blockhash (checks that a store belongs to the genesis it is opened with).
    pub genesis_hash: [u8; 32],
    /// The whole genesis's [`crate::genesis::Genesis::digest`]: a genesis that gives the same
    /// `genesis_hash` explicitly but other parameters, accounts or validators is another
    /// cluster. `None` in a state file written before it was kept (`TNDMRTS4` and earlier).
    pub genesis_digest: Option<[u8; 32]>,
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
    /// The duplicate-signature window, one for both domains.
    pub signatures: SignatureWindow,
    /// Accounts frozen for a remap, with the epoch they are frozen in.
    pub frozen: BTreeMap<Pubkey, u64>,
    /// Accounts moving: the target mapping and the epoch at whose first slot they move.
    pub moves: BTreeMap<Pubkey, (Mapping, u64)>,
    /// `RemapDomain` requests of the current epoch.
    pub remap_requests: BTreeMap<Pubkey, Mapping>,
    /// Operator slashes for the next boundary: vote account and basis points of its stake.
    pub slashes: Vec<(Pubkey, u16)>,
    /// The vote accounts in the VED state (SPEC §5) during the current epoch: those rewarded at
    /// the next boundary. Decided by the computations at the boundaries, not by where an account
    /// is mapped (a vote account made in the VED, or moved there by a remap, was never in it).
    pub ved_members: BTreeSet<Pubkey>,
    /// The vote accounts in the VED state for the next epoch, computed at the boundary into the
    /// current one: those that no longer qualify at the next computation leave the VED.
    pub ved_members_next: BTreeSet<Pubkey>,
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
    /// The file was written by an earlier build in a format this one no longer reads.
    #[error(
        "{path}: runtime state format {format} ({what}) was written by an earlier tandem; this \
         build reads {current} only: replay the ledger into a new store"
    )]
    RetiredFormat {
        /// The file.
        path: PathBuf,
        /// The format's magic, as text.
        format: String,
        /// What that format kept differently.
        what: &'static str,
        /// The format this build reads.
        current: String,
    },
    /// A state file of another tandem's format (a newer build's): not damage
    /// ([`crate::files::another_format`]).
    #[error("{path}: {reason}")]
    OtherFormat {
        /// The file.
        path: PathBuf,
        /// Its format, and the formats this build reads.
        reason: String,
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

/// The files `<prefix><slot><suffix>` in `dir` (the runtime's per-slot files: state files, VED log
/// segments, status files), by slot.
pub fn numbered_files(
    dir: &Path,
    prefix: &str,
    suffix: &str,
) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(slot) = name
            .strip_prefix(prefix)
            .and_then(|n| n.strip_suffix(suffix))
            .and_then(|n| n.parse::<u64>().ok())
        {
            found.push((slot, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// The state file of `slot` in the store directory `dir`.
pub fn state_path(dir: &Path, slot: u64) -> PathBuf {
    dir.join(format!("runtime-{slot}.state"))
}

pub(super) struct Writer(pub(super) Vec<u8>);

impl Writer {
    pub(super) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(super) fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
}

pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    /// Every byte was read: anything after the last field is an error.
    pub(super) fn end(&self) -> Result<(), String> {
        match self.bytes.len() - self.at {
            0 => Ok(()),
            n => Err(format!("{n} unexpected bytes at the end")),
        }
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("truncated at byte {}", self.at))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }
    pub(super) fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    /// A count of items of `size` bytes each, checked against the bytes left.
    pub(super) fn count(&mut self, size: usize) -> Result<usize, String> {
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
    pub(super) fn mapping(&mut self) -> Result<Mapping, String> {
        let tag = self.array::<1>()?[0];
        Mapping::from_tag(tag).map_err(|e| e.to_string())
    }
}

impl RuntimeState {
    /// The file's bytes (the window's shape, not the window: module docs).
    pub fn encode(&self) -> Vec<u8> {
        self.encode_as(MAGIC)
    }

    /// The file's bytes in the format of `magic`: this one, or (for tests of reading it) the
    /// one with the window inline.
    fn encode_as(&self, magic: &[u8; 8]) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(8192));
        w.bytes(magic);
        w.bytes(&self.genesis_hash);
        if magic == MAGIC {
            // All zeros: not known (no SHA-256 gives them).
            w.bytes(&self.genesis_digest.unwrap_or([0; 32]));
        }
        w.u64(self.slot);
        w.u64(self.epoch);
        w.u64(self.unix_timestamp_ms as u64);
        for domain in Domain::ALL {
            w.bytes(&self.hashes.hash[domain]);
            w.bytes(&self.hashes.lthash[domain].to_bytes());
        }
        w.u64(self.recent_blockhashes.len() as u64);
        for h in &self.recent_blockhashes {
            w.bytes(h);
        }
        if magic == MAGIC_WINDOW_INLINE {
            w.u64(self.signatures.blocks.len() as u64);
            for block in &self.signatures.blocks {
                w.u64(block.slot);
                w.u64(block.entries.len() as u64);
                for (s, _) in &block.entries {
                    w.bytes(s);
                }
            }
        } else {
            let shape = self.signatures.shape();
            w.u64(shape.blocks as u64);
            w.u64(shape.first_slot);
            w.u64(shape.signatures as u64);
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
        if magic == MAGIC || magic == MAGIC_NO_DIGEST {
            for members in [&self.ved_members, &self.ved_members_next] {
                w.u64(members.len() as u64);
                for k in members {
                    w.bytes(&k.0);
                }
            }
        }
        let sum = xxh3_64(&w.0);
        w.u64(sum);
        w.0
    }

    /// Decodes a state file's bytes: the state, its duplicate window empty unless the file held
    /// it, where the window comes from, and whether the file held the VED membership (a file of
    /// an earlier format did not: its sets are empty, for the caller to derive).
    pub fn decode(bytes: &[u8]) -> Result<(RuntimeState, WindowFrom, bool), String> {
        let inline = bytes.starts_with(MAGIC_WINDOW_INLINE);
        let digest = bytes.starts_with(MAGIC);
        let members = digest || bytes.starts_with(MAGIC_NO_DIGEST);
        let known = inline || members || bytes.starts_with(MAGIC_NO_MEMBERS);
        if !known {
            // Another format of this family (a newer build's) is named, not called foreign.
            let what = "runtime state file";
            return Err(crate::files::unknown_format(bytes, &FORMATS, what));
        }
        if bytes.len() < MAGIC.len() + 8 {
            return Err(format!("truncated: {} bytes", bytes.len()));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 8);
        if xxh3_64(body).to_le_bytes() != sum {
            return Err("checksum mismatch".into());
        }
        let mut r = Reader { bytes: body, at: 8 };
        let genesis_hash = r.array()?;
        let genesis_digest = match digest {
            true => Some(r.array()?).filter(|d| *d != [0; 32]),
            false => None,
        };
        let slot = r.u64()?;
        let epoch = r.u64()?;
        let unix_timestamp_ms = r.u64()? as i64;
        let mut hash = PerDomain::default();
        let mut lthash = PerDomain::from_fn(|_| LtHash::identity());
        for domain in Domain::ALL {
            hash[domain] = r.array()?;
            lthash[domain] = LtHash::from_bytes(&r.array()?);
        }
        let n = r.count(32)?;
        // At least the genesis blockhash, at most the window's: a state without one has no
        // blockhash for its last block (the runtime's `last_blockhash` reads it).
        if n == 0 || n > WINDOW as usize {
            return Err(format!(
                "{n} recent blockhashes: a state holds from 1 to {WINDOW}"
            ));
        }
        let recent_blockhashes = (0..n).map(|_| r.array()).collect::<Result<_, _>>()?;
        let mut signatures = SignatureWindow::default();
        let window = if inline {
            let blocks = r.count(16)?;
            if blocks > WINDOW as usize {
                return Err(format!(
                    "the signature window holds {blocks} blocks, more than {WINDOW}"
                ));
            }
            for _ in 0..blocks {
                let slot = r.u64()?;
                // At most WINDOW blocks: none leaves.
                signatures.begin_block(slot);
                for _ in 0..r.count(64)? {
                    if !signatures.insert(r.array()?, PayerTag::UNKNOWN) {
                        return Err(format!(
                            "a signature appears twice in the window (block of slot {slot})"
                        ));
                    }
                }
            }
            WindowFrom::Inline
        } else {
            let shape = WindowShape {
                blocks: r.u64()? as usize,
                first_slot: r.u64()?,
                signatures: r.u64()? as usize,
            };
            if shape.blocks > WINDOW as usize {
                return Err(format!(
                    "the signature window holds {} blocks, more than {WINDOW}",
                    shape.blocks
                ));
            }
            WindowFrom::StatusFiles(shape)
        };
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
        let (mut ved_members, mut ved_members_next) = (BTreeSet::new(), BTreeSet::new());
        if members {
            for set in [&mut ved_members, &mut ved_members_next] {
                for _ in 0..r.count(32)? {
                    set.insert(Pubkey(r.array()?));
                }
            }
        }
        r.end()?;
        let state = RuntimeState {
            genesis_hash,
            genesis_digest,
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
            ved_members,
            ved_members_next,
        };
        Ok((state, window, members))
    }

    /// A vote account deleted (no lamports left: a slash took its whole balance) is in the VED
    /// state no more: its key, made again, is a new vote account, not a member — it would be
    /// rewarded as one, and take the voter and payer it names out of the VED when it leaves.
    pub fn forget_member(&mut self, pubkey: &Pubkey) {
        self.ved_members.remove(pubkey);
        self.ved_members_next.remove(pubkey);
    }

    /// Moves the state past `slot`, whose block has `blockhash` and clock `unix_timestamp_ms`:
    /// the blockhash window (the last [`WINDOW`] blocks) and the clock.
    pub fn advance(&mut self, slot: u64, blockhash: [u8; 32], unix_timestamp_ms: i64) {
        self.recent_blockhashes.push_back(blockhash);
        while self.recent_blockhashes.len() > WINDOW as usize {
            self.recent_blockhashes.pop_front();
        }
        self.slot = slot;
        self.unix_timestamp_ms = unix_timestamp_ms;
    }

    /// Writes the state file of `self.slot` in `dir` (in pieces: [`crate::files::write_pieces`])
    /// and fsyncs it and the directory (so the file survives a power loss, not only a process
    /// crash).
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let path = state_path(dir, self.slot);
        let mut file = std::fs::File::create(&path)?;
        crate::files::write_pieces(&mut file, &self.encode())?;
        file.sync_all()?;
        std::fs::File::open(dir)?.sync_all()
    }

    /// Reads the state file of `slot` in `dir`, where its duplicate window comes from, and
    /// whether it held the VED membership ([`RuntimeState::decode`]).
    pub fn load(dir: &Path, slot: u64) -> Result<(RuntimeState, WindowFrom, bool), StateFileError> {
        let path = state_path(dir, slot);
        let bytes = std::fs::read(&path).map_err(|source| match source.kind() {
            // The store committed the slot, and the state written before that commit is gone:
            // a damaged store, not a failing disk.
            std::io::ErrorKind::NotFound => StateFileError::Corrupt {
                path: path.clone(),
                reason: format!(
                    "missing: the store committed slot {slot}, whose runtime state this file is"
                ),
            },
            _ => StateFileError::Io {
                path: path.clone(),
                source,
            },
        })?;
        if let Some((magic, what)) = RETIRED_FORMATS
            .iter()
            .find(|(magic, _)| bytes.starts_with(&magic[..]))
        {
            return Err(StateFileError::RetiredFormat {
                path,
                format: String::from_utf8_lossy(&magic[..]).into_owned(),
                what,
                current: format!(
                    "{} (and {}, {}, {})",
                    String::from_utf8_lossy(MAGIC),
                    String::from_utf8_lossy(MAGIC_NO_DIGEST),
                    String::from_utf8_lossy(MAGIC_NO_MEMBERS),
                    String::from_utf8_lossy(MAGIC_WINDOW_INLINE)
                ),
            });
        }
        let (state, window, members) = RuntimeState::decode(&bytes).map_err(|reason| {
            let path = path.clone();
            match crate::files::another_format(&bytes, &FORMATS) {
                true => StateFileError::OtherFormat { path, reason },
                false => StateFileError::Corrupt { path, reason },
            }
        })?;
        if state.slot != slot {
            return Err(StateFileError::Corrupt {
                path,
                reason: format!("it records slot {}, the store slot {slot}", state.slot),
            });
        }
        Ok((state, window, members))
    }

    /// Removes every state file in `dir` but the one of `keep`, the slot the store committed:
    /// an error names the file that was not removed ([`super::RuntimeError::StateNotRemoved`]),
    /// or `dir` where it could not be listed.
    pub fn remove_others(dir: &Path, keep: u64) -> Result<(), super::RuntimeError> {
        use super::RuntimeError;
        let found =
            numbered_files(dir, "runtime-", ".state").map_err(|source| RuntimeError::Io {
                path: dir.to_owned(),
                source,
            })?;
        for (slot, path) in found {
            if slot != keep {
                std::fs::remove_file(&path).map_err(|source| RuntimeError::StateNotRemoved {
                    path,
                    slot: keep,
                    source,
                })?;
            }
        }
        Ok(())
    }
}

/// The VED membership a state file of the format before `TNDMRTS4` stands for: that build took
/// the vote accounts mapped RW-VED as the VED state, and for the next epoch those, with the
/// vote accounts moving in and without those moving out.
pub fn members_by_mapping(
    store: &crate::store::Store,
    state: &RuntimeState,
) -> (BTreeSet<Pubkey>, BTreeSet<Pubkey>) {
    let program = crate::sample::vote_program_id();
    let current: BTreeSet<Pubkey> = store
        .keys()
        .filter(|&(_, mapping)| mapping == Mapping::RwVed)
        .map(|(k, _)| k)
        .filter(|k| store.inspect(k).is_some_and(|a| a.owner == program))
        .collect();
    let mut next = current.clone();
    for (key, (target, _)) in &state.moves {
        if store.inspect(key).is_some_and(|a| a.owner == program) {
            match target {
                Mapping::RwVed => next.insert(*key),
                _ => next.remove(key),
            };
        }
    }
    (current, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state whose window holds three blocks (one without signatures).
    fn state() -> RuntimeState {
        let mut signatures = SignatureWindow::default();
        for (slot, n) in [(4u64, 2u8), (6, 0), (7, 3)] {
            signatures.begin_block(slot);
            for k in 0..n {
                assert!(signatures.insert([slot as u8 * 16 + k; 64], PayerTag::UNKNOWN));
            }
        }
        RuntimeState {
            genesis_hash: [1; 32],
            genesis_digest: Some([2; 32]),
            slot: 7,
            epoch: 0,
            unix_timestamp_ms: 1_700_000_000_000,
            hashes: DomainHashes {
                lthash: PerDomain::from_fn(|_| LtHash::identity()),
                hash: PerDomain::from_fn(|_| [9; 32]),
            },
            recent_blockhashes: VecDeque::from(vec![[2; 32], [3; 32]]),
            signatures,
            frozen: BTreeMap::from([(Pubkey([5; 32]), 1)]),
            moves: BTreeMap::from([(Pubkey([5; 32]), (Mapping::RwVed, 2))]),
            remap_requests: BTreeMap::from([(Pubkey([6; 32]), Mapping::RwUed)]),
            slashes: vec![(Pubkey([7; 32]), 100)],
            ved_members: BTreeSet::from([Pubkey([8; 32])]),
            ved_members_next: BTreeSet::from([Pubkey([8; 32]), Pubkey([9; 32])]),
        }
    }

    #[test]
    fn the_genesis_digest_is_kept_and_a_file_before_it_reads_without_one() {
        let state = state();
        let (read, _, members) = RuntimeState::decode(&state.encode()).unwrap();
        assert_eq!(read.genesis_digest, Some([2; 32]));
        assert!(members);
        let (old, _, members) = RuntimeState::decode(&state.encode_as(MAGIC_NO_DIGEST)).unwrap();
        assert_eq!(old.genesis_digest, None, "TNDMRTS4 keeps none");
        assert!(members, "TNDMRTS4 keeps the membership");
        assert_eq!(old.ved_members_next, state.ved_members_next);
    }

    #[test]
    fn the_file_holds_the_windows_shape_and_everything_else() {
        let state = state();
        let (read, window, members) = RuntimeState::decode(&state.encode()).unwrap();
        assert!(members);
        let shape = WindowShape {
            blocks: 3,
            first_slot: 4,
            signatures: 5,
        };
        assert_eq!(window, WindowFrom::StatusFiles(shape));
        assert_eq!(state.signatures.shape(), shape);
        assert_eq!(read.signatures, SignatureWindow::default());
        assert_eq!(
            RuntimeState {
                signatures: state.signatures.clone(),
                ..read
            },
            state
        );
    }

    #[test]
    fn a_state_without_a_blockhash_or_of_a_newer_format_is_refused_naming_it() {
        // Checksummed but without its last blockhash: opening it panicked in `last_blockhash`.
        let mut empty = state();
        empty.recent_blockhashes.clear();
        let err = RuntimeState::decode(&empty.encode()).expect_err("refused");
        assert!(err.contains("0 recent blockhashes"), "{err}");
        // A newer build's format is named, not "bad magic"; a cut file is "truncated".
        let mut newer = state().encode();
        newer[..8].copy_from_slice(b"TNDMRTS9");
        let err = RuntimeState::decode(&newer).expect_err("refused");
        assert!(
            err.contains("format TNDMRTS9") && err.contains("another tandem"),
            "{err}"
        );
        let err = RuntimeState::decode(&state().encode()[..12]).expect_err("refused");
        assert!(err.contains("truncated"), "{err}");
        let err = RuntimeState::decode(b"not a state at all").expect_err("refused");
        assert!(err.contains("bad magic"), "{err}");
        // Loaded from a store, the newer format is not called corrupt (stop 73's review).
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("runtime-7.state"), &newer).unwrap();
        let err = RuntimeState::load(dir.path(), 7).expect_err("refused");
        assert!(matches!(err, StateFileError::OtherFormat { .. }), "{err}");
        assert!(!err.to_string().contains("corrupt"), "{err}");
    }

    #[test]
    fn a_file_with_the_window_inline_is_still_read_whole() {
        let state = state();
        let bytes = state.encode_as(MAGIC_WINDOW_INLINE);
        let without_members = RuntimeState {
            genesis_digest: None,
            ved_members: BTreeSet::new(),
            ved_members_next: BTreeSet::new(),
            ..state.clone()
        };
        assert_eq!(
            RuntimeState::decode(&bytes).unwrap(),
            (without_members.clone(), WindowFrom::Inline, false)
        );
        // The format before this one: the window's shape, no membership.
        let (read, window, members) =
            RuntimeState::decode(&state.encode_as(MAGIC_NO_MEMBERS)).unwrap();
        assert!(!members);
        assert!(matches!(window, WindowFrom::StatusFiles(_)));
        assert_eq!(
            RuntimeState {
                signatures: state.signatures.clone(),
                ..read
            },
            without_members
        );
    }

    #[test]
    fn a_store_of_the_format_before_the_membership_opens_with_the_membership_by_mapping() {
        use crate::genesis::Genesis;
        use crate::ledger::{Block, BlockHeader, Transactions};
        let genesis = Genesis::default_cluster();
        let dir = tempfile::tempdir().unwrap();
        let mut runtime = super::super::Runtime::open(&genesis, dir.path()).unwrap();
        let block = Block {
            header: BlockHeader {
                slot: 1,
                parent_slot: 0,
                leader: Pubkey([0; 32]),
                unix_timestamp_ms: genesis.cluster.unix_timestamp_ms + 400,
                blockhash: [3; 32],
            },
            transactions: Transactions::new(),
        };
        runtime.execute_block(&block).unwrap();
        let members = runtime.state().ved_members.clone();
        let in_ved: BTreeSet<Pubkey> = genesis.ved_validators().map(|v| v.vote_account).collect();
        assert_eq!(members, in_ved);
        assert_eq!(runtime.state().ved_members_next, in_ved);
        // The same state written as the build before wrote it: no membership in the file.
        let old = runtime.state().encode_as(MAGIC_NO_MEMBERS);
        drop(runtime);
        std::fs::write(state_path(dir.path(), 1), old).unwrap();
        let runtime = super::super::Runtime::open(&genesis, dir.path()).unwrap();
        assert_eq!(
            runtime.state().ved_members,
            in_ved,
            "the vote accounts mapped RW-VED"
        );
        assert_eq!(runtime.state().ved_members_next, in_ved);
        // With moves pending: the next epoch's members gain the vote accounts moving in and
        // lose those moving out; an account that is no vote account changes nothing.
        let outside = genesis
            .validators
            .iter()
            .map(|v| v.vote_account)
            .find(|k| !in_ved.contains(k))
            .expect("a validator outside the VED");
        let leaving = *in_ved.first().unwrap();
        let mut state = runtime.state().clone();
        state.moves.insert(outside, (Mapping::RwVed, 2));
        state.moves.insert(leaving, (Mapping::RwUed, 2));
        state
            .moves
            .insert(genesis.validators[0].node, (Mapping::RwVed, 2));
        let (now, next) = members_by_mapping(runtime.store(), &state);
        assert_eq!(now, in_ved);
        let mut expected = in_ved.clone();
        expected.insert(outside);
        expected.remove(&leaving);
        assert_eq!(next, expected);
    }
}
