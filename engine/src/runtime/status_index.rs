//! The status index (SPEC §6 `ExecutionStatus`): what became of each transaction of the recent
//! blocks, kept in the store directory so that it survives restarts.
//!
//! The runtime writes `status-<slot>.idx` for every slot it commits ([`StatusFiles`]), *before* the slot's state
//! file and store commit, so a committed slot always has its file (one for a later slot that a
//! crash left uncommitted is removed when the runtime opens). It keeps the files of the last
//! [`KEPT_BLOCKS`] blocks — the duplicate-signature window and as much again.
//!
//! Beside them the engine keeps `agreement.idx`: per recent slot and domain, the local hash's
//! stake and the VED's total stake as the executed votes reported them (the cluster view,
//! [`crate::cluster`]); and `halt` once it has halted. [`StatusIndex`] reads them all back:
//! `tandem status` answers from it without the engine.
//!
//! `status-<slot>.idx` (little-endian): magic `TNDMSTS2`, the slot, the count, then per
//! transaction its first signature (64 bytes), its domain (0 none, 1 VED, 2 UED), its status
//! (tag byte and code, as [`TxStatus::to_tag`]) and the tag of its payer in the duplicate
//! window (u64: [`PayerTag`]; 0 when it did not enter the window); then the xxh3-64 of
//! everything before. Files of the format before (`TNDMSTS1`, without the payers' tags) are
//! still read: the window rebuilt from them does not know whose entries it holds
//! ([`PayerTag::UNKNOWN`]).

use std::collections::{BTreeMap, VecDeque};

use hashbrown::HashMap;
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::xxh3_64;

use super::state::{self, Reader, StateFileError, Writer, numbered_files};
use super::status::TxStatus;
use super::window::{PayerTag, SignatureWindow, WINDOW, WindowShape};
use super::{RuntimeError, TxOutcome};
use crate::account::{Domain, Pubkey};

/// Blocks whose status files are kept: twice the duplicate-signature window.
pub const KEPT_BLOCKS: usize = 2 * WINDOW as usize;

const MAGIC: &[u8; 8] = b"TNDMSTS2";

/// The format before this one, read still: no payers' tags.
const MAGIC_NO_PAYERS: &[u8; 8] = b"TNDMSTS1";
const AGREEMENT_MAGIC: &[u8; 8] = b"TNDMAGR1";

/// What `ExecutionStatus(signature, stake = X)` answers (SPEC §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutionStatus {
    /// No block the index holds carries the signature.
    Unknown,
    /// Executed, but less than X of the stake has reported the same hash for its domain and
    /// slot (or not yet executed in its domain).
    Pending,
    /// Its final status (SPEC §2).
    Final(TxStatus),
    /// The engine halted (SPEC §6): it confirms nothing.
    Halted,
}

impl ExecutionStatus {
    /// The name tools print: `Unknown`, `Pending`, `Halted` or the status's.
    pub fn name(self) -> String {
        match self {
            ExecutionStatus::Unknown => "Unknown".into(),
            ExecutionStatus::Pending => "Pending".into(),
            ExecutionStatus::Halted => "Halted".into(),
            ExecutionStatus::Final(status) => status.name(),
        }
    }
}

/// Where one transaction stands in the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexedTx {
    /// Its block's slot.
    pub slot: u64,
    /// The domain it executed in (`None`: decided at ingest, no domain).
    pub domain: Option<Domain>,
    /// Its status.
    pub status: TxStatus,
}

/// The stake behind a slot's local hash in one domain, and the VED's total stake.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Confirmation {
    /// Stake that reported the local hash.
    pub stake: u64,
    /// The VED's total stake.
    pub total: u64,
}

/// Whether `confirmation` has at least `bps` basis points of the stake behind it. No stake at
/// all (a total of 0: no vote account in the VED) has no share of anything: only X = 0 is met
/// then, as where no confirmation is known — 0 of 0 met any X, and the engine's live answer
/// said `Final` where `tandem status` on the same store said `Pending` (found in review).
pub fn confirmed(confirmation: Confirmation, bps: u16) -> bool {
    if confirmation.total == 0 {
        return bps == 0;
    }
    u128::from(confirmation.stake) * 10_000 >= u128::from(confirmation.total) * u128::from(bps)
}

/// The answer for `tx` given its slot's confirmation in its domain (`None`: no stake is known
/// to have reported anything for it, so only X = 0 is met).
pub fn answer(
    tx: Option<IndexedTx>,
    confirmation: Option<Confirmation>,
    bps: u16,
) -> ExecutionStatus {
    let met = confirmation.map_or(bps == 0, |c| confirmed(c, bps));
    match tx {
        None => ExecutionStatus::Unknown,
        // Decided at ingest: no domain, no hash to agree on.
        Some(IndexedTx {
            domain: None,
            status,
            ..
        }) => ExecutionStatus::Final(status),
        Some(tx) if met => ExecutionStatus::Final(tx.status),
        Some(_) => ExecutionStatus::Pending,
    }
}

/// Which of two entries for one first signature `ExecutionStatus` answers for, `earlier` from an
/// older block than `later`: the transaction that entered the duplicate-signature window — the
/// one that ran (SPEC §2: within the window no other entry with its signature can enter it, and
/// beyond it its blockhash has expired) — else the later. So neither a replay of a transaction
/// (`DuplicateSignature`) nor a forged copy of its first signature in front of another message
/// (`InvalidSignature`, final at once) can hide what became of it. Where neither entered the
/// window, the earlier whose signature was valid (refused by check 2 or 3, or a duplicate): a
/// valid signature binds its message, and a later copy is the same transaction refused again
/// or a forgery — which answered for it once its block was committed, a final status that
/// changed (`Final(BlockhashNotFound)`, then `Final(InvalidSignature)`; found in review).
pub fn prefer(earlier: Option<IndexedTx>, later: Option<IndexedTx>) -> Option<IndexedTx> {
    match (earlier, later) {
        (Some(e), Some(l)) if e.status.entered_window() && !l.status.entered_window() => Some(e),
        (Some(e), Some(l))
            if !e.status.entered_window()
                && !l.status.entered_window()
                && e.status.signature_valid() =>
        {
            Some(e)
        }
        (e, l) => l.or(e),
    }
}

/// Enters `tx` into `txs` by [`prefer`] against the entry already there (of the same block, an
/// entry entered later wins).
pub(crate) fn enter(txs: &mut HashMap<[u8; 64], IndexedTx>, signature: [u8; 64], tx: IndexedTx) {
    enter_into(txs.entry(signature).or_insert(tx), tx);
}

/// [`enter`] where the signature's entry is found: `entry`, which is `tx` itself where the
/// signature had none.
pub(crate) fn enter_into(entry: &mut IndexedTx, tx: IndexedTx) {
    *entry = prefer_either(*entry, tx);
}

/// [`prefer`] between two entries for one first signature in either order: `entered` one
/// already there, `new` one coming (of the same block, the new one wins).
pub(crate) fn prefer_either(entered: IndexedTx, new: IndexedTx) -> IndexedTx {
    let (earlier, later) = if new.slot < entered.slot {
        (new, entered)
    } else {
        (entered, new)
    };
    prefer(Some(earlier), Some(later)).expect("an entry")
}

/// The status index as read from a store directory.
#[derive(Debug, Default)]
pub struct StatusIndex {
    txs: HashMap<[u8; 64], IndexedTx>,
    /// The slot of the oldest status file read.
    oldest: Option<u64>,
    confirmations: BTreeMap<(u8, u64), Confirmation>,
    halt: Option<String>,
}

/// A domain's tag in the index files and the vote log: 0 none, 1 VED, 2 UED.
pub(super) fn domain_tag(domain: Option<Domain>) -> u8 {
    match domain {
        None => 0,
        Some(Domain::Ved) => 1,
        Some(Domain::Ued) => 2,
    }
}

/// The domain of a tag [`domain_tag`] wrote.
pub(super) fn domain_from_tag(tag: u8) -> Result<Option<Domain>, String> {
    match tag {
        0 => Ok(None),
        1 => Ok(Some(Domain::Ved)),
        2 => Ok(Some(Domain::Ued)),
        other => Err(format!("unknown domain tag {other}")),
    }
}

fn status_path(dir: &Path, slot: u64) -> PathBuf {
    dir.join(format!("status-{slot}.idx"))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> RuntimeError + '_ {
    move |source| RuntimeError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `bytes` to `path` through a partial file beside it, fsynced, then renamed into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), RuntimeError> {
    crate::files::write_whole(path, bytes).map_err(io(path))
}

/// The status files in `dir`, by slot.
fn status_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>, RuntimeError> {
    numbered_files(dir, "status-", ".idx").map_err(io(dir))
}

/// The status files a runtime has written, oldest first: listed from the directory once, when
/// the runtime opens, then kept as it writes them.
#[derive(Debug)]
pub struct StatusFiles {
    slots: VecDeque<u64>,
}

impl StatusFiles {
    /// The status files in the store directory `dir`, whose store has committed `committed`
    /// (`None`: nothing). The file of a later slot was written before a commit a crash cut off:
    /// it is removed, so that a chain resumed on another fork, which skips that slot, never
    /// reads it as committed once it passes it.
    pub fn open(dir: &Path, committed: Option<u64>) -> Result<StatusFiles, RuntimeError> {
        let mut slots = VecDeque::new();
        for (slot, path) in status_files(dir)? {
            if committed.is_some_and(|c| slot <= c) {
                slots.push_back(slot);
            } else {
                std::fs::remove_file(&path).map_err(io(&path))?;
            }
        }
        Ok(StatusFiles { slots })
    }

    /// The slot of the oldest status file.
    pub fn oldest(&self) -> Option<u64> {
        self.slots.front().copied()
    }

    /// Writes the status file of `slot` (before the slot commits): `txs` in block order, and
    /// `payer_of(i)`, the fee payer of transaction `i`, whose tag is recorded for those that
    /// entered the duplicate window; [`StatusFiles::prune`] removes the old ones once it has.
    pub fn write(
        &mut self,
        dir: &Path,
        slot: u64,
        txs: &[TxOutcome],
        payer_of: impl Fn(usize) -> Pubkey,
    ) -> Result<(), RuntimeError> {
        let mut w = Writer(Vec::with_capacity(16 + txs.len() * RECORD_LEN));
        w.bytes(MAGIC);
        w.u64(slot);
        let signed = txs.iter().filter(|t| t.signature.is_some()).count();
        w.u64(signed as u64);
        for (i, tx) in txs.iter().enumerate() {
            let Some(signature) = &tx.signature else {
                continue;
            };
            let (tag, code) = tx.status.to_tag();
            let payer = if tx.status.entered_window() {
                PayerTag::of(&payer_of(i))
            } else {
                PayerTag::UNKNOWN
            };
            w.bytes(signature);
            w.bytes(&[domain_tag(tx.domain), tag]);
            w.bytes(&code.to_le_bytes());
            w.u64(payer.to_raw());
        }
        let sum = xxh3_64(&w.0);
        w.u64(sum);
        write_atomically(&status_path(dir, slot), &w.0)?;
        self.slots.retain(|&s| s != slot);
        self.slots.push_back(slot);
        Ok(())
    }

    /// Removes the status files older than the last [`KEPT_BLOCKS`] blocks: after the slot
    /// whose file came last has committed (before, a crash would leave the committed chain a
    /// block short of the window).
    pub fn prune(&mut self, dir: &Path) -> Result<(), RuntimeError> {
        while self.slots.len() > KEPT_BLOCKS {
            let old = self.slots.pop_front().expect("more than kept");
            let path = status_path(dir, old);
            std::fs::remove_file(&path).map_err(io(&path))?;
        }
        Ok(())
    }
}

/// Writes the confirmations of the recent slots (`agreement.idx`).
pub fn write_confirmations(
    dir: &Path,
    confirmations: &[(Domain, u64, Confirmation)],
) -> Result<(), RuntimeError> {
    let mut w = Writer(Vec::with_capacity(16 + confirmations.len() * 25));
    w.bytes(AGREEMENT_MAGIC);
    w.u64(confirmations.len() as u64);
    for (domain, slot, c) in confirmations {
        w.bytes(&[domain_tag(Some(*domain))]);
        w.u64(*slot);
        w.u64(c.stake);
        w.u64(c.total);
    }
    let sum = xxh3_64(&w.0);
    w.u64(sum);
    write_atomically(&dir.join("agreement.idx"), &w.0)
}

/// Removes from `agreement.idx` in `dir` the confirmations of the slots after `committed`, the
/// store's slot: those of slots a VED executed ahead of it, on a chain a run that moves the
/// store on without the VED's log (`tandem replay --store`) need not follow — kept, they stood
/// for the replay's own blocks of those slots, which nobody reported (SPEC §6; found in
/// review). Whether any was removed.
pub fn forget_confirmations_after(dir: &Path, committed: u64) -> Result<bool, RuntimeError> {
    let all = read_confirmations(dir)?;
    if all.keys().all(|&(_, slot)| slot <= committed) {
        return Ok(false);
    }
    let kept: Vec<_> = all
        .into_iter()
        .filter(|&((_, slot), _)| slot <= committed)
        .filter_map(|((tag, slot), c)| Some((domain_from_tag(tag).ok().flatten()?, slot, c)))
        .collect();
    write_confirmations(dir, &kept)?;
    Ok(true)
}

/// The confirmations `agreement.idx` in `dir` holds, by domain tag and slot (none where there is
/// no such file).
fn read_confirmations(dir: &Path) -> Result<BTreeMap<(u8, u64), Confirmation>, RuntimeError> {
    let path = dir.join("agreement.idx");
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(io(&path)(e)),
    };
    let body = checked(&path, &bytes, AGREEMENT_MAGIC, &[AGREEMENT_MAGIC])?;
    let bad = |reason: String| RuntimeError::CorruptFile {
        path: path.clone(),
        reason,
    };
    let mut confirmations = BTreeMap::new();
    let mut r = Reader::new(body);
    for _ in 0..r.count(25).map_err(&bad)? {
        let [domain] = r.array().map_err(&bad)?;
        let slot = r.u64().map_err(&bad)?;
        let stake = r.u64().map_err(&bad)?;
        let total = r.u64().map_err(&bad)?;
        confirmations.insert((domain, slot), Confirmation { stake, total });
    }
    Ok(confirmations)
}

/// Records that the engine halted, and why (`halt`): it stays halted across restarts. The first
/// halt's reason stands: a later call leaves the file as it is.
pub fn write_halt(dir: &Path, why: &str) -> Result<(), RuntimeError> {
    if read_halt(dir)?.is_some() {
        return Ok(());
    }
    write_atomically(&dir.join("halt"), format!("{why}\n").as_bytes())?;
    // The rename made durable: no commit may follow to do it (a halt on a power loss must not
    // be forgotten; the slots' files are made durable by the state file's directory sync).
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

/// Why the engine in `dir` halted, if it did.
pub fn read_halt(dir: &Path) -> Result<Option<String>, RuntimeError> {
    let path = dir.join("halt");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text.trim_end().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&path)(e)),
    }
}

/// The body of the index file `bytes` read from `path`, checked: its magic `magic`, one of the
/// family's formats `known` (a newer one is named: [`crate::files::unknown_format`]), and its
/// checksum.
fn checked<'a>(
    path: &Path,
    bytes: &'a [u8],
    magic: &[u8; 8],
    known: &[&[u8; 8]],
) -> Result<&'a [u8], RuntimeError> {
    let corrupt = |reason: &str| RuntimeError::CorruptFile {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    if bytes.len() < 8 {
        let cut = format!("cut short: {} bytes, less than its magic", bytes.len());
        return Err(corrupt(&cut));
    }
    if bytes.get(..8) != Some(&magic[..]) {
        let what = "tandem index file";
        return Err(corrupt(&crate::files::unknown_format(bytes, known, what)));
    }
    if bytes.len() < 16 {
        return Err(corrupt("cut short after its magic (no checksum)"));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if xxh3_64(body).to_le_bytes() != sum {
        return Err(corrupt("checksum mismatch"));
    }
    Ok(&body[8..])
}

/// Bytes of one transaction's record in a status file.
const RECORD_LEN: usize = 78;

/// One transaction of a status file: its first signature, where it stands, and the tag of its
/// payer in the duplicate window ([`PayerTag::UNKNOWN`] when it did not enter it, or the file
/// is of the format without the tags).
type StatusRecord = ([u8; 64], IndexedTx, PayerTag);

/// The transactions of the status file of `slot` at `path`, in block order. A damaged file is
/// an error naming it.
fn read_status_file(path: &Path, slot: u64) -> Result<Vec<StatusRecord>, RuntimeError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    let with_payers = !bytes.starts_with(MAGIC_NO_PAYERS);
    let magic = if with_payers { MAGIC } else { MAGIC_NO_PAYERS };
    let body = checked(path, &bytes, magic, &[MAGIC, MAGIC_NO_PAYERS])?;
    let bad = |reason: String| RuntimeError::CorruptFile {
        path: path.to_owned(),
        reason,
    };
    let mut r = Reader::new(body);
    let read_slot = r.u64().map_err(&bad)?;
    if read_slot != slot {
        return Err(bad(format!("it records slot {read_slot}")));
    }
    let len = if with_payers {
        RECORD_LEN
    } else {
        RECORD_LEN - 8
    };
    (0..r.count(len).map_err(&bad)?)
        .map(|_| {
            let signature: [u8; 64] = r.array().map_err(&bad)?;
            let [domain, tag] = r.array().map_err(&bad)?;
            let code = u32::from_le_bytes(r.array().map_err(&bad)?);
            let tx = IndexedTx {
                slot,
                domain: domain_from_tag(domain).map_err(&bad)?,
                status: TxStatus::from_tag(tag, code).map_err(&bad)?,
            };
            let payer = if with_payers {
                // A payer's tag where the transaction entered the window, and only there.
                let raw = r.u64().map_err(&bad)?;
                let entered = tx.status.entered_window();
                PayerTag::from_raw(raw)
                    .filter(|tag| (*tag != PayerTag::UNKNOWN) == entered)
                    .ok_or_else(|| {
                        bad(format!(
                            "payer tag {raw:#x} for a transaction that {} the duplicate window",
                            if entered { "entered" } else { "did not enter" }
                        ))
                    })?
            } else {
                PayerTag::UNKNOWN
            };
            Ok((signature, tx, payer))
        })
        .collect()
}

/// The duplicate-signature window after the committed slot `committed` of the store directory
/// `dir` (SPEC §2), rebuilt from the status files of the last [`WINDOW`] blocks up to it: in
/// block order, the first signature of every transaction that entered it
/// ([`TxStatus::entered_window`]). A signature entered twice is an error naming the file.
pub fn signature_window(dir: &Path, committed: u64) -> Result<SignatureWindow, RuntimeError> {
    let files: Vec<(u64, PathBuf)> = status_files(dir)?
        .into_iter()
        .filter(|(slot, _)| *slot <= committed)
        .collect();
    let mut window = SignatureWindow::default();
    for (slot, path) in &files[files.len().saturating_sub(WINDOW as usize)..] {
        window.begin_block(*slot);
        for (signature, tx, payer) in read_status_file(path, *slot)? {
            if tx.status.entered_window() && !window.insert(signature, payer) {
                return Err(RuntimeError::CorruptFile {
                    path: path.clone(),
                    reason: "a signature that entered the duplicate window twice".to_owned(),
                });
            }
        }
    }
    Ok(window)
}

/// [`signature_window`], which must have the `shape` the state file of slot `committed`
/// recorded: a status file missing or damaged is an error naming the state file.
pub fn signature_window_of_shape(
    dir: &Path,
    committed: u64,
    shape: WindowShape,
) -> Result<SignatureWindow, RuntimeError> {
    let window = signature_window(dir, committed)?;
    let rebuilt = window.shape();
    if rebuilt != shape {
        // Where to look: the first block's file where it is gone, else the files between it
        // and the committed slot's (a slot without a block has none, so which of them is gone
        // cannot be told; and where the chain is longer than the window, a file gone inside it
        // makes the rebuild start a block earlier, with the first block's file there).
        let name = |slot: u64| format!("status-{slot}.idx");
        let which = if !dir.join(name(shape.first_slot)).exists() {
            format!(
                " ({}, the window's first block's, is not there)",
                name(shape.first_slot)
            )
        } else {
            format!(
                " (look among the files {} ..= {})",
                name(shape.first_slot),
                name(committed)
            )
        };
        return Err(StateFileError::Corrupt {
            path: state::state_path(dir, committed),
            reason: format!(
                "its duplicate-signature window has {} blocks from slot {} holding {} \
                 signatures, but the status files give {} blocks from slot {} holding {}: a \
                 status file is missing or damaged{which}",
                shape.blocks,
                shape.first_slot,
                shape.signatures,
                rebuilt.blocks,
                rebuilt.first_slot,
                rebuilt.signatures
            ),
        }
        .into());
    }
    Ok(window)
}

/// The signatures of the transactions the store in `dir` executed at `slot`, in block order, as
/// its status file records them; `None` where it keeps no file for that slot (slot 0, or one
/// out of the window). A damaged file is an error naming it.
pub fn slot_signatures(dir: &Path, slot: u64) -> Result<Option<Vec<[u8; 64]>>, RuntimeError> {
    let path = status_path(dir, slot);
    match read_status_file(&path, slot) {
        Err(RuntimeError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        read => Ok(Some(
            read?.into_iter().map(|(signature, ..)| signature).collect(),
        )),
    }
}

impl StatusIndex {
    /// Reads the index of the store directory `dir`, whose last committed slot is `committed`
    /// (files of later slots were never committed and are ignored). A damaged file is an error
    /// naming it.
    pub fn load(dir: &Path, committed: u64) -> Result<StatusIndex, RuntimeError> {
        let mut index = StatusIndex::default();
        for (slot, path) in status_files(dir)? {
            if slot > committed {
                continue;
            }
            let records = match read_status_file(&path, slot) {
                // Listed, then gone: a commit beside this reader (`tandem status` beside a
                // running engine) pruned it, a slot out of the window since.
                Err(RuntimeError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    continue;
                }
                read => read?,
            };
            index.oldest = Some(index.oldest.map_or(slot, |o| o.min(slot)));
            for (signature, tx, _) in records {
                enter(&mut index.txs, signature, tx);
            }
        }
        index.confirmations = read_confirmations(dir)?;
        index.halt = read_halt(dir)?;
        Ok(index)
    }

    /// Adds the answers of a slot the store has not committed (a slot the VED logged:
    /// [`crate::runtime::ved_log::LoggedSlot::window_statuses`]), as an engine opened on the
    /// store answers them.
    pub fn add_uncommitted(&mut self, entries: impl IntoIterator<Item = ([u8; 64], IndexedTx)>) {
        for (signature, tx) in entries {
            enter(&mut self.txs, signature, tx);
        }
    }

    /// Records a halt found elsewhere (a divergence the vote log shows, which an engine opened
    /// on the store would halt on), unless the index has one already.
    pub fn add_halt(&mut self, why: String) {
        self.halt.get_or_insert(why);
    }

    /// Adds confirmations learned elsewhere (a cluster view rebuilt from the vote log); where
    /// the index has one for the same domain and slot, the larger stake and total stand, as
    /// when the engine merges its own.
    pub fn add_confirmations(
        &mut self,
        confirmations: impl IntoIterator<Item = (Domain, u64, Confirmation)>,
    ) {
        for (domain, slot, c) in confirmations {
            // A slot with no total (a record of the vote log's first format, read without the
            // VED's stake) confirms nothing: 0 of 0 would pass any share.
            if c.total == 0 {
                continue;
            }
            let kept = self
                .confirmations
                .entry((domain_tag(Some(domain)), slot))
                .or_default();
            (kept.stake, kept.total) = (kept.stake.max(c.stake), kept.total.max(c.total));
        }
    }

    /// Where `signature` stands in the index.
    pub fn get(&self, signature: &[u8; 64]) -> Option<IndexedTx> {
        self.txs.get(signature).copied()
    }

    /// The stored confirmation of `slot` in `domain`; `None` when the index holds none (a
    /// store `tandem replay` wrote, or a slot the engine had no local hash of).
    pub fn confirmation(&self, domain: Domain, slot: u64) -> Option<Confirmation> {
        self.confirmations
            .get(&(domain_tag(Some(domain)), slot))
            .copied()
    }

    /// The oldest slot whose status file the index read.
    pub fn oldest_slot(&self) -> Option<u64> {
        self.oldest
    }

    /// Every stored confirmation: domain, slot and the stake behind its local hash.
    pub fn confirmations(&self) -> impl Iterator<Item = (Domain, u64, Confirmation)> + '_ {
        self.confirmations.iter().filter_map(|(&(tag, slot), &c)| {
            let domain = domain_from_tag(tag).ok().flatten()?;
            Some((domain, slot, c))
        })
    }

    /// Why the engine halted, when it did.
    pub fn halt(&self) -> Option<&str> {
        // (A halt file emptied by hand still halts.)
        self.halt
            .as_deref()
            .map(|text| text.lines().next().unwrap_or_default())
    }

    /// The halt file whole: the reason and what a halt adds after it
    /// ([`crate::cluster::Alert::halt_record`]).
    pub fn halt_record(&self) -> Option<&str> {
        self.halt.as_deref()
    }

    /// `ExecutionStatus(signature, stake = bps)` from the stored index.
    pub fn execution_status(&self, signature: &[u8; 64], bps: u16) -> ExecutionStatus {
        if self.halt.is_some() {
            return ExecutionStatus::Halted;
        }
        let tx = self.get(signature);
        let confirmation = tx.and_then(|t| t.domain.and_then(|d| self.confirmation(d, t.slot)));
        answer(tx, confirmation, bps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With no VED stake at all, the engine's live confirmation is 0 of 0: it meets X = 0
    /// alone, as the stored index (which keeps no such confirmation) answers.
    #[test]
    fn no_stake_at_all_meets_only_a_share_of_zero() {
        let none = Confirmation { stake: 0, total: 0 };
        let tx = IndexedTx {
            slot: 5,
            domain: Some(Domain::Ued),
            status: TxStatus::Success,
        };
        for bps in [0, 1, 500, 10_000] {
            assert_eq!(confirmed(none, bps), bps == 0, "{bps} bps");
            assert_eq!(
                answer(Some(tx), Some(none), bps),
                answer(Some(tx), None, bps),
                "{bps} bps: the live answer is the stored one"
            );
        }
    }

    #[test]
    fn a_transaction_refused_with_a_valid_signature_answers_before_a_later_copy() {
        let at = |slot, status| IndexedTx {
            slot,
            domain: (status != TxStatus::InvalidSignature).then_some(Domain::Ued),
            status,
        };
        let refused = at(5, TxStatus::BlockhashNotFound);
        let forged = at(8, TxStatus::InvalidSignature);
        let replayed = at(9, TxStatus::BlockhashNotFound);
        assert_eq!(prefer(Some(refused), Some(forged)), Some(refused));
        assert_eq!(prefer(Some(refused), Some(replayed)), Some(refused));
        // A forgery first answers until the transaction comes (it cannot be told from one).
        let ran = at(9, TxStatus::Success);
        assert_eq!(prefer(Some(forged), Some(ran)), Some(ran));
        assert_eq!(
            prefer(Some(forged), Some(at(9, TxStatus::BlockhashNotFound)))
                .unwrap()
                .slot,
            9
        );
        // The one that ran answers before any copy, as before.
        assert_eq!(
            prefer(Some(at(4, TxStatus::Success)), Some(forged))
                .unwrap()
                .slot,
            4
        );
    }

    #[test]
    fn a_confirmation_with_no_total_confirms_nothing() {
        // A slot of the vote log's first format, read without the VED's stake: 0 of 0 would
        // be Final at any stake asked for.
        let mut index = StatusIndex::default();
        let none = Confirmation { stake: 0, total: 0 };
        let some = Confirmation {
            stake: 10,
            total: 30,
        };
        index.add_confirmations([(Domain::Ued, 5, none), (Domain::Ued, 6, some)]);
        assert_eq!(index.confirmation(Domain::Ued, 5), None);
        assert_eq!(index.confirmation(Domain::Ued, 6), Some(some));
    }

    #[test]
    fn the_window_rebuilt_from_status_files_knows_its_payers_unless_they_are_of_the_old_format() {
        use crate::account::Pubkey;
        let dir = tempfile::tempdir().unwrap();
        let mut files = StatusFiles::open(dir.path(), None).unwrap();
        let (user, vote, refused) = ([1; 64], [2; 64], [3; 64]);
        let payers = [Pubkey([7; 32]), Pubkey([8; 32]), Pubkey([9; 32])];
        let outcome = |signature, domain, status| TxOutcome {
            signature: Some(signature),
            domain,
            status,
        };
        let txs = [
            outcome(user, Some(Domain::Ued), TxStatus::Success),
            outcome(vote, Some(Domain::Ved), TxStatus::Success),
            outcome(refused, None, TxStatus::InvalidSignature),
        ];
        files.write(dir.path(), 1, &txs, |i| payers[i]).unwrap();
        let window = signature_window(dir.path(), 1).unwrap();
        let payers = [PayerTag::of(&payers[0])].into_iter().collect();
        assert_eq!(window.entries_paid_by(&payers), Some(vec![user]));
        assert_eq!(window.len(), 2);
        // A tag that does not fit its record's status is a damaged file, named.
        let path = status_path(dir.path(), 1);
        let good = std::fs::read(&path).unwrap();
        for (record, tag) in [(0, 0u64), (0, 2), (2, 7)] {
            let mut bytes = good.clone();
            let at = 24 + record * RECORD_LEN + RECORD_LEN - 8;
            bytes[at..at + 8].copy_from_slice(&tag.to_le_bytes());
            let end = bytes.len() - 8;
            let sum = xxh3_64(&bytes[..end]);
            bytes[end..].copy_from_slice(&sum.to_le_bytes());
            std::fs::write(&path, &bytes).unwrap();
            let err = signature_window(dir.path(), 1).unwrap_err().to_string();
            assert!(
                err.contains("status-1.idx") && err.contains("payer tag"),
                "{err}"
            );
        }
        std::fs::write(&path, &good).unwrap();
        // The same file as the format before wrote it: no payers' tags. The window holds the
        // same signatures, and does not know whose.
        let bytes = good;
        let mut old = MAGIC_NO_PAYERS.to_vec();
        old.extend_from_slice(&bytes[8..24]);
        for record in bytes[24..bytes.len() - 8].chunks(RECORD_LEN) {
            old.extend_from_slice(&record[..RECORD_LEN - 8]);
        }
        let sum = xxh3_64(&old);
        old.extend_from_slice(&sum.to_le_bytes());
        std::fs::write(&path, &old).unwrap();
        let window = signature_window(dir.path(), 1).unwrap();
        assert_eq!(window.entries_paid_by(&payers), None);
        assert!(window.contains(&user) && window.contains(&vote) && !window.contains(&refused));
        let index = StatusIndex::load(dir.path(), 1).unwrap();
        assert_eq!(index.get(&user).map(|t| t.status), Some(TxStatus::Success));
        // A format after this build's is named as one (stop 73: "bad magic" before), a
        // stranger's file and one cut after its magic as damage.
        for (bytes, said) in [
            (
                b"TNDMSTS3 and the rest".to_vec(),
                "of format TNDMSTS3, which this build",
            ),
            (
                b"ELF, not an index".to_vec(),
                "not a tandem index file (bad magic)",
            ),
            (MAGIC.to_vec(), "cut short after its magic"),
            (
                b"TNDMSTS".to_vec(),
                "cut short: 7 bytes, less than its magic",
            ),
        ] {
            std::fs::write(&path, &bytes).unwrap();
            let Err(err) = StatusIndex::load(dir.path(), 1) else {
                panic!("{said}: opened");
            };
            let err = err.to_string();
            assert!(err.contains("status-1.idx") && err.contains(said), "{err}");
        }
    }

    #[test]
    fn a_status_file_pruned_after_the_listing_is_passed_over() {
        // The oldest file goes between the listing and its reading (a commit of the engine
        // beside `tandem status`): made here by a listed name that opens nothing.
        let dir = tempfile::tempdir().unwrap();
        let mut files = StatusFiles::open(dir.path(), None).unwrap();
        let ok = TxOutcome {
            signature: Some([4; 64]),
            domain: Some(Domain::Ued),
            status: TxStatus::Success,
        };
        files
            .write(dir.path(), 2, &[ok], |_| crate::account::Pubkey([7; 32]))
            .unwrap();
        std::os::unix::fs::symlink(dir.path().join("gone"), status_path(dir.path(), 1)).unwrap();
        let index = StatusIndex::load(dir.path(), 2).unwrap();
        assert_eq!(index.get(&[4; 64]).map(|t| t.slot), Some(2));
        assert_eq!(index.oldest_slot(), Some(2));
    }

    #[test]
    fn the_first_halts_reason_stands() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_halt(dir.path()).unwrap(), None);
        write_halt(dir.path(), "UED divergence at slot 5").unwrap();
        write_halt(dir.path(), "the UED cannot catch up at slot 64").unwrap();
        let why = read_halt(dir.path()).unwrap();
        assert_eq!(why.as_deref(), Some("UED divergence at slot 5"));
    }

    #[test]
    fn the_oldest_status_file_stays_until_the_slot_after_the_window_commits() {
        // A crash after slot 301's status file, before its commit: the committed chain (300
        // slots) still has every file of its window.
        let dir = tempfile::tempdir().unwrap();
        let mut files = StatusFiles::open(dir.path(), None).unwrap();
        for slot in 1..=KEPT_BLOCKS as u64 {
            files
                .write(dir.path(), slot, &[], |_| unreachable!())
                .unwrap();
            files.prune(dir.path()).unwrap();
        }
        files
            .write(dir.path(), KEPT_BLOCKS as u64 + 1, &[], |_| unreachable!())
            .unwrap();
        let reopened = StatusFiles::open(dir.path(), Some(KEPT_BLOCKS as u64)).unwrap();
        assert_eq!(reopened.oldest(), Some(1));
        // Once it has committed, the oldest goes.
        files.prune(dir.path()).unwrap();
        let reopened = StatusFiles::open(dir.path(), Some(KEPT_BLOCKS as u64 + 1)).unwrap();
        assert_eq!(reopened.oldest(), Some(2));
    }

    #[test]
    fn without_a_known_confirmation_only_x_0_is_met() {
        let tx = Some(IndexedTx {
            slot: 4,
            domain: Some(Domain::Ued),
            status: TxStatus::Success,
        });
        let success = ExecutionStatus::Final(TxStatus::Success);
        // No stake known to have reported (a store `tandem replay` wrote): final with X = 0 only.
        assert_eq!(answer(tx, None, 0), success);
        assert_eq!(answer(tx, None, 1), ExecutionStatus::Pending);
        // Known: X basis points of the total.
        let third = Confirmation {
            stake: 10,
            total: 30,
        };
        assert_eq!(answer(tx, Some(third), 3_333), success);
        assert_eq!(answer(tx, Some(third), 3_334), ExecutionStatus::Pending);
        assert_eq!(answer(None, Some(third), 0), ExecutionStatus::Unknown);
    }
}
