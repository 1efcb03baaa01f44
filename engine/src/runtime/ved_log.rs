//! The VED's durable commit point: a redo log of what the VED executor decided for each slot
//! (a [`VedSlot`]), written beside the store before the UED has committed that slot.
//!
//! The store commits a slot — both domains' writes — when the UED has executed it; the VED may
//! be many slots ahead. Each slot the VED executes is appended here and fsynced, so after a
//! crash the VED resumes from its own last logged slot: the [`VedExecutor`](super::executor::VedExecutor) is rebuilt from the
//! store (the UED's commit point) and the logged slots after it are applied
//! ([`VedExecutor::replay`](super::executor::VedExecutor::replay)) without executing anything again, and the UED catches up from them
//! as the blocks are submitted again. Slots the UED has committed are no longer needed: the log
//! is kept in segments (`ved-<first slot>.log`, a new one every [`SEGMENT_SLOTS`] slots), and
//! whole segments the store has passed are deleted.
//!
//! A segment ([`super::segment_log`]): magic `TNDMVED6`, then records, each `length (u64) ‖
//! body ‖ xxh3-64 of body` (segments of the earlier formats are still read: `TNDMVED5`, whose
//! records end before the VED's total stake at the slot — read without it, so a reader that
//! cannot rebuild the VED's state, `tandem status`, does not count their votes — `TNDMVED4`, whose
//! records list the indices of the block's transactions left to the UED — those the record
//! gives no status, which is how `TNDMVED5` reads them — `TNDMVED3`, whose records end before
//! what the VED knew of the UED's vote accounts as well, `TNDMVED2`, before the window entries
//! of the accounts moving into the VED, and `TNDMVED1`, before the slashes).
//! A crash can cut the last record of the last segment short; that tail is ignored (it was
//! never fsynced, so the VED's commit point is the record before it). A damaged record
//! anywhere else is an error naming the file and the slot after which it sits.

use std::path::{Path, PathBuf};

use super::executor::VedSlot;
use super::ingest::Admission;
use super::segment_log::{Appender, LogError, LogKind, Torn};
use super::state::{Reader, Writer};
use super::status::TxStatus;
use super::status_index::IndexedTx;
use crate::account::{Account, Domain, Pubkey};
use crate::cluster::VoteReport;
use tandem_kernels::LtHash;

/// Slots per segment.
pub const SEGMENT_SLOTS: u64 = 64;

const MAGIC: &[u8; 8] = b"TNDMVED6";

/// The format before the record gave the VED's total stake at its slot: read, never written.
const MAGIC_WITHOUT_TOTAL: &[u8; 8] = b"TNDMVED5";

/// The format whose records listed the UED's transactions (8 bytes each, 160 KB a block of
/// 20,000 transfers) besides giving the VED's their statuses: read, never written.
const MAGIC_LISTING_UED: &[u8; 8] = b"TNDMVED4";

/// The format before the record said what the VED knew of the UED's vote accounts
/// ([`VedSlot::ued_votes_gone_over`]): read, never written.
const MAGIC_WITHOUT_NAMES: &[u8; 8] = b"TNDMVED3";

/// The format before the incoming accounts' window entries were logged: read, never written.
const MAGIC_WITHOUT_INCOMING: &[u8; 8] = b"TNDMVED2";

/// The format before operator slashes were logged with their slot: read, never written.
const MAGIC_WITHOUT_SLASHES: &[u8; 8] = b"TNDMVED1";

/// What a record of a segment holds, by the segment's format (`LogKind::magics`' order).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Format {
    WithoutSlashes,
    WithoutIncoming,
    WithoutNames,
    ListingUed,
    WithoutTotal,
    Current,
}

impl Format {
    fn of(index: usize) -> Format {
        match index {
            0 => Format::Current,
            1 => Format::WithoutTotal,
            2 => Format::ListingUed,
            3 => Format::WithoutNames,
            4 => Format::WithoutIncoming,
            _ => Format::WithoutSlashes,
        }
    }
}

/// One logged slot: the block it came from and what the VED decided.
pub struct LoggedSlot {
    /// The block's parent slot.
    pub parent_slot: u64,
    /// The block's hash.
    pub blockhash: [u8; 32],
    /// The block's clock.
    pub unix_timestamp_ms: i64,
    /// What the VED decided.
    pub ved: VedSlot,
    /// The VED's total stake once it had executed the slot: what the cluster view judges the
    /// slot against ([`crate::cluster::Agreement::record_total`]). `None` in a record of a
    /// format before it (`TNDMVED5` and older); an engine rebuilds it by replaying the log.
    pub ved_stake: Option<u64>,
}

impl LoggedSlot {
    /// The record of the block with `header`, as the VED decided it (`ved`), the VED's total
    /// stake being `ved_stake` after it.
    pub fn of(header: &crate::ledger::BlockHeader, ved: VedSlot, ved_stake: u64) -> LoggedSlot {
        LoggedSlot {
            parent_slot: header.parent_slot,
            blockhash: header.blockhash,
            unix_timestamp_ms: header.unix_timestamp_ms,
            ved,
            ved_stake: Some(ved_stake),
        }
    }

    /// What the slot decided for the VED's transactions that entered the duplicate window —
    /// every one of its transactions but those refused by checks 1–4 — by their first
    /// signatures, which the record keeps ([`VedSlot::entered`], in block order): what
    /// `ExecutionStatus` answers for them (SPEC §6) before the UED has committed the slot.
    /// The rest of the block (the UED's transactions, those refused at ingest) is not in the
    /// log. `None` for a record whose signatures and statuses do not pair up (not one the VED
    /// wrote).
    pub fn window_statuses(&self) -> Option<Vec<([u8; 64], IndexedTx)>> {
        let ved = &self.ved;
        let entered = self.entered_at();
        (entered.len() == ved.entered.len()).then(|| {
            entered
                .into_iter()
                .zip(&ved.entered)
                .map(|((_, status), signature)| {
                    let tx = IndexedTx {
                        slot: ved.slot,
                        domain: Some(Domain::Ved),
                        status,
                    };
                    (*signature, tx)
                })
                .collect()
        })
    }
}

impl LoggedSlot {
    /// Where in the block the VED's transactions that entered the window are, with their
    /// statuses: [`VedSlot::entered`]'s signatures, index by index.
    fn entered_at(&self) -> Vec<(usize, TxStatus)> {
        let admission = &self.ved.admission;
        (0..admission.statuses.len())
            .filter(|&i| admission.payer_domain[i] == Some(Domain::Ved))
            .filter_map(|i| Some((i, admission.statuses[i]?)))
            .filter(|(_, status)| {
                !matches!(
                    status,
                    TxStatus::BlockhashNotFound | TxStatus::DuplicateSignature
                )
            })
            .collect()
    }

    /// Whether this slot's VED hash chains from `parent_hash`, the VED hash of its parent
    /// slot (SPEC §4: `SHA-256(SHA-256(parent ‖ sig_count ‖ blockhash) ‖ LtHash_VED)`): a record
    /// logged over another history of its parent (the store moved on without the engine, a
    /// `tandem replay --store` since) does not.
    pub fn follows(&self, parent_hash: &[u8; 32]) -> bool {
        let ved = &self.ved;
        let hash =
            super::hash::chained_hash(parent_hash, ved.sig_count, &self.blockhash, &ved.ved_lthash);
        hash == ved.ved_hash
    }

    /// Whether `block` is the block this record logged: its header (parent, clock, blockhash),
    /// its number of transactions, and at each of the VED's transactions that entered the
    /// window the same first signature. A blockhash is the leader's to choose: a block with
    /// the logged header and other transactions stood in for the logged one after a restart
    /// (a VED transaction more: a panic indexing the record's statuses; a vote swapped for
    /// another: the logged state, silently). `Err` names the first difference.
    pub fn describes(&self, block: &crate::ledger::Block) -> Result<(), String> {
        let header = &block.header;
        if header.parent_slot != self.parent_slot {
            return Err(format!(
                "parent slot {} (logged: {})",
                header.parent_slot, self.parent_slot
            ));
        }
        if header.unix_timestamp_ms != self.unix_timestamp_ms {
            return Err(format!(
                "clock {} ms (logged: {} ms)",
                header.unix_timestamp_ms, self.unix_timestamp_ms
            ));
        }
        if header.blockhash != self.blockhash {
            return Err(format!(
                "blockhash {} (logged: {})",
                bs58::encode(header.blockhash).into_string(),
                bs58::encode(self.blockhash).into_string()
            ));
        }
        let logged = self.ved.admission.statuses.len();
        if block.transactions.len() != logged {
            return Err(format!(
                "{} transactions (logged: {logged})",
                block.transactions.len()
            ));
        }
        for ((i, _), signature) in self.entered_at().into_iter().zip(&self.ved.entered) {
            let first = crate::tx::Transaction::parse(&block.transactions[i])
                .ok()
                .and_then(|tx| tx.signatures().first().copied());
            if first.as_ref() != Some(signature) {
                return Err(format!(
                    "transaction {i} is not the VED transaction logged there"
                ));
            }
        }
        Ok(())
    }
}

/// Bytes per encoded vote.
const VOTE_BYTES: usize = 32 + 8 + 8 + 32 + 1 + 8 + 32;

/// Writes `votes`: their count, then each.
fn write_votes(w: &mut Writer, votes: &[VoteReport]) {
    w.u64(votes.len() as u64);
    for v in votes {
        w.bytes(&v.voter.0);
        w.u64(v.stake);
        w.u64(v.ved.0);
        w.bytes(&v.ved.1);
        let (flag, (slot, hash)) = match v.ued {
            Some(ued) => (1, ued),
            None => (0, (0, [0; 32])),
        };
        w.bytes(&[flag]);
        w.u64(slot);
        w.bytes(&hash);
    }
}

/// Reads what [`write_votes`] wrote.
fn read_votes(r: &mut Reader<'_>) -> Result<Vec<VoteReport>, String> {
    let mut votes = Vec::new();
    for _ in 0..r.count(VOTE_BYTES)? {
        let voter = Pubkey(r.array()?);
        let stake = r.u64()?;
        let ved = (r.u64()?, r.array()?);
        let flag = r.array::<1>()?[0];
        let ued = (r.u64()?, r.array()?);
        votes.push(VoteReport {
            voter,
            stake,
            ved,
            ued: match flag {
                0 => None,
                1 => Some(ued),
                other => return Err(format!("a vote's UED flag is {other}, not 0 or 1")),
            },
        });
    }
    Ok(votes)
}

fn encode(logged: &LoggedSlot) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(4096));
    write_head(&mut w, logged);
    write_rest(&mut w, &logged.ved);
    w.u64(logged.ved_stake.expect("a record written has its total"));
    w.0
}

/// Writes a record's first part, the block and the VED's statuses: what every format's record
/// starts with.
///
/// The UED's transactions are not listed (since `TNDMVED5`): they are those of the block the
/// record gives no status, as the VED decides every one of its own (and no other).
fn write_head(w: &mut Writer, logged: &LoggedSlot) {
    let LoggedSlot {
        parent_slot,
        blockhash,
        unix_timestamp_ms,
        ved,
        ved_stake: _,
    } = logged;
    debug_assert!(
        ved.ued_transactions
            .iter()
            .copied()
            .eq((0..ved.admission.statuses.len()).filter(|&i| ved.admission.statuses[i].is_none())),
        "the UED's transactions of slot {} are those the VED left undecided",
        ved.slot
    );
    w.u64(ved.slot);
    w.u64(*parent_slot);
    w.bytes(blockhash);
    w.u64(*unix_timestamp_ms as u64);
    w.bytes(&ved.ved_hash);
    w.bytes(&ved.ved_lthash.to_bytes());
    w.u64(ved.sig_count);
    let n = ved.admission.statuses.len();
    w.u64(n as u64);
    let decided: Vec<usize> = (0..n)
        .filter(|&i| ved.admission.statuses[i].is_some())
        .collect();
    w.u64(decided.len() as u64);
    for i in decided {
        let (tag, code) = ved.admission.statuses[i].expect("decided").to_tag();
        w.u64(i as u64);
        w.bytes(&[tag]);
        w.bytes(&code.to_le_bytes());
        w.bytes(&[u8::from(ved.admission.payer_domain[i] == Some(Domain::Ved))]);
    }
}

/// Writes the rest of a record after [`write_head`]'s part.
fn write_rest(w: &mut Writer, ved: &VedSlot) {
    w.u64(ved.verified.len() as u64);
    for &(i, ok) in &ved.verified {
        w.u64(i as u64);
        w.bytes(&[u8::from(ok)]);
    }
    w.u64(ved.entered.len() as u64);
    for signature in &ved.entered {
        w.bytes(signature);
    }
    w.u64(ved.changes.len() as u64);
    for a in &ved.changes {
        w.bytes(&a.pubkey.0);
        w.u64(a.lamports);
        w.bytes(&a.owner.0);
        w.bytes(&[u8::from(a.executable), a.mapping.tag()]);
        w.u64(a.data.len() as u64);
        w.bytes(&a.data);
    }
    w.u64(ved.remaps.len() as u64);
    for (key, mapping) in &ved.remaps {
        w.bytes(&key.0);
        w.bytes(&[mapping.tag()]);
    }
    write_votes(w, &ved.votes);
    w.u64(ved.slashes.len() as u64);
    for (vote_account, bps) in &ved.slashes {
        w.bytes(&vote_account.0);
        w.bytes(&bps.to_le_bytes());
    }
    w.u64(ved.incoming_entries.len() as u64);
    for signature in &ved.incoming_entries {
        w.bytes(signature);
    }
    w.bytes(&[u8::from(ved.incoming_complete)]);
    w.bytes(&[match ved.ued_votes_gone_over {
        None => 0,
        Some(false) => 1,
        Some(true) => 2,
    }]);
}

/// `n` copies of `None`, or an error naming `n` where the room cannot be had.
fn filled<T: Clone>(n: usize) -> Result<Vec<Option<T>>, String> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| format!("no room for a block of {n} transactions"))?;
    v.resize(n, None);
    Ok(v)
}

/// Decodes a record of a segment of `format`.
fn decode(body: &[u8], format: Format) -> Result<LoggedSlot, String> {
    let mut r = Reader::new(body);
    let slot = r.u64()?;
    let parent_slot = r.u64()?;
    let blockhash = r.array()?;
    let unix_timestamp_ms = r.u64()? as i64;
    let ved_hash = r.array()?;
    let ved_lthash = LtHash::from_bytes(&r.array()?);
    let sig_count = r.u64()?;
    // The block's transaction count: the UED's transactions take no bytes of the record, so
    // its size bounds nothing (a block of 17,745 transfers and no vote was refused as damaged
    // until 2026-12-06, and with it the store). SPEC §9 counts a block's transactions in a u32;
    // the room for them is asked for, not assumed.
    let count = r.u64()?;
    let n = usize::try_from(count)
        .ok()
        .filter(|_| count <= u64::from(u32::MAX))
        .ok_or_else(|| {
            format!("a block of {count} transactions: a block holds at most 2^32 - 1")
        })?;
    let mut admission = Admission {
        statuses: filled(n)?,
        payer_domain: filled(n)?,
    };
    let index = |i: u64| -> Result<usize, String> {
        usize::try_from(i)
            .ok()
            .filter(|&i| i < n)
            .ok_or_else(|| format!("transaction index {i} of a block of {n}"))
    };
    for _ in 0..r.count(14)? {
        let i = index(r.u64()?)?;
        let [tag] = r.array()?;
        let code = u32::from_le_bytes(r.array()?);
        let [ved] = r.array()?;
        admission.statuses[i] = Some(TxStatus::from_tag(tag, code)?);
        admission.payer_domain[i] = (ved == 1).then_some(Domain::Ved);
    }
    let ued_transactions = if format <= Format::ListingUed {
        (0..r.count(8)?)
            .map(|_| index(r.u64()?))
            .collect::<Result<_, _>>()?
    } else {
        (0..n)
            .filter(|&i| admission.statuses[i].is_none())
            .collect()
    };
    let verified = (0..r.count(9)?)
        .map(|_| Ok((index(r.u64()?)?, r.array::<1>()?[0] == 1)))
        .collect::<Result<_, String>>()?;
    let entered = (0..r.count(64)?)
        .map(|_| r.array())
        .collect::<Result<_, _>>()?;
    let mut changes = Vec::new();
    for _ in 0..r.count(82)? {
        let pubkey = Pubkey(r.array()?);
        let lamports = r.u64()?;
        let owner = Pubkey(r.array()?);
        let [executable] = r.array()?;
        let mapping = r.mapping()?;
        let len = r.count(1)?;
        changes.push(Account {
            pubkey,
            lamports,
            owner,
            executable: executable == 1,
            data: r.take(len)?.to_vec(),
            mapping,
        });
    }
    let remaps = (0..r.count(33)?)
        .map(|_| Ok((Pubkey(r.array()?), r.mapping()?)))
        .collect::<Result<_, String>>()?;
    let votes = read_votes(&mut r)?;
    let mut slashes = Vec::new();
    if format >= Format::WithoutIncoming {
        for _ in 0..r.count(34)? {
            slashes.push((Pubkey(r.array()?), u16::from_le_bytes(r.array()?)));
        }
    }
    let (mut incoming_entries, mut incoming_complete) = (Vec::new(), false);
    if format >= Format::WithoutNames {
        incoming_entries = (0..r.count(64)?)
            .map(|_| r.array())
            .collect::<Result<_, _>>()?;
        let [complete] = r.array()?;
        incoming_complete = match complete {
            0 => false,
            1 => true,
            other => return Err(format!("{other} where a flag (0 or 1) belongs")),
        };
    }
    let mut ued_votes_gone_over = None;
    if format >= Format::ListingUed {
        let [gone_over] = r.array()?;
        ued_votes_gone_over = match gone_over {
            0 => None,
            1 => Some(false),
            2 => Some(true),
            other => {
                return Err(format!(
                    "{other} where what the VED knew of the UED's vote accounts (0, 1 or 2) \
                     belongs"
                ));
            }
        };
    }
    let ved_stake = if format >= Format::Current {
        Some(r.u64()?)
    } else {
        None
    };
    r.end()?;
    Ok(LoggedSlot {
        parent_slot,
        blockhash,
        unix_timestamp_ms,
        ved_stake,
        ved: VedSlot {
            slot,
            ved_hash,
            ved_lthash,
            sig_count,
            admission,
            ued_transactions,
            verified,
            entered,
            changes,
            remaps,
            votes,
            slashes,
            incoming_entries,
            incoming_complete,
            ued_votes_gone_over,
        },
    })
}

/// The VED log's files and formats.
pub static KIND: LogKind = LogKind {
    name: "VED log",
    prefix: "ved-",
    magics: &[
        MAGIC,
        MAGIC_WITHOUT_TOTAL,
        MAGIC_LISTING_UED,
        MAGIC_WITHOUT_NAMES,
        MAGIC_WITHOUT_INCOMING,
        MAGIC_WITHOUT_SLASHES,
    ],
    per_segment: SEGMENT_SLOTS,
    // Every format's head: slot, parent slot, blockhash, clock, VED hash, LtHash, signature
    // count, the block's transaction count and the count of those the VED decided.
    min_body: 8 + 8 + 32 + 8 + 32 + LtHash::BYTES + 8 + 8 + 8,
};

/// The VED's log writer: appends and fsyncs a record per slot.
pub struct VedLog(Appender);

impl VedLog {
    /// A writer for the store directory `dir`; the first record starts a new segment.
    pub fn new(dir: impl Into<PathBuf>) -> VedLog {
        VedLog(Appender::new(&KIND, dir))
    }

    /// Appends `logged` and makes it durable: from here on, a crash resumes the VED after it.
    pub fn append(&mut self, logged: &LoggedSlot) -> Result<(), LogError> {
        self.0.append(&encode(logged))
    }

    /// Reads the logged slots after `committed` (the store's slot), in order, and cuts off the
    /// tail a crash left short in the last segment (it was never synced), so that the records
    /// appended next follow the last whole one. Damage anywhere else is an error.
    pub fn recover(dir: &Path, committed: u64) -> Result<Vec<LoggedSlot>, LogError> {
        let (slots, torn) = Self::read_after(dir, committed)?;
        if let Some(torn) = torn {
            KIND.cut(dir, torn)?;
        }
        Ok(slots)
    }

    /// Checks that each of `logged` ([`VedLog::recover`]'s) chains from the one before it, the
    /// first from `store_hash`, the VED hash of the store's slot ([`LoggedSlot::follows`]): a
    /// record logged over another history than the store's (the store moved on without the
    /// engine) would give its slot the VED hash of a block the store did not execute.
    pub fn check_chain(
        dir: &Path,
        logged: &[LoggedSlot],
        store_hash: [u8; 32],
    ) -> Result<(), LogError> {
        let mut parent_hash = store_hash;
        for record in logged {
            if !record.follows(&parent_hash) {
                return Err(KIND.corrupt(
                    dir,
                    format!(
                        "slot {} was logged over another history of slot {} than the store's \
                         (its VED hash does not chain from the store's): the store moved on \
                         without the engine; remove the ved-*.log files to execute the slots \
                         after {} again",
                        record.ved.slot, record.parent_slot, record.parent_slot
                    ),
                ));
            }
            parent_hash = record.ved.ved_hash;
        }
        Ok(())
    }

    /// The logged slots after `committed`, as [`VedLog::recover`] reads them, but changing
    /// nothing: a short tail of the last segment is left as it is (an engine may be writing it
    /// now) — for a reader beside a running engine (`tandem status`).
    pub fn read(dir: &Path, committed: u64) -> Result<Vec<LoggedSlot>, LogError> {
        Ok(Self::read_after(dir, committed)?.0)
    }

    /// The logged slots after `committed`, and the short tail of the last segment if any.
    fn read_after(dir: &Path, committed: u64) -> Result<(Vec<LoggedSlot>, Option<Torn>), LogError> {
        let (records, torn) = KIND.read(dir, Some(committed))?;
        let mut slots: Vec<LoggedSlot> = Vec::new();
        for record in records {
            let previous = slots.last().map_or(committed, |s| s.ved.slot);
            let logged = decode(&record.body, Format::of(record.format)).map_err(|reason| {
                KIND.corrupt(
                    &record.path,
                    format!("the record after slot {previous}: {reason}"),
                )
            })?;
            if logged.ved.slot > committed {
                slots.push(logged);
            }
        }
        // The slots after the store's must follow one another from it.
        let mut parent = committed;
        for logged in &slots {
            if logged.parent_slot != parent {
                return Err(KIND.corrupt(
                    dir,
                    format!(
                        "the VED log's slot {} follows slot {}, not slot {parent}",
                        logged.ved.slot, logged.parent_slot
                    ),
                ));
            }
            parent = logged.ved.slot;
        }
        Ok((slots, torn))
    }

    /// The log's segment files in `dir`, oldest first (the last one is where records are
    /// appended).
    pub fn segments(dir: &Path) -> Result<Vec<PathBuf>, LogError> {
        Ok(KIND
            .segments(dir)?
            .into_iter()
            .map(|(_, path)| path)
            .collect())
    }

    /// Deletes the whole log, for a runtime about to move the store on without it (`tandem
    /// replay --store`): the slots it logged past the store's would otherwise describe another
    /// history than the one the store goes on with, if the blocks differ. Nothing is lost: an
    /// engine opening the store executes the VED from the store's slot again. How many segment
    /// files there were.
    pub fn discard(dir: &Path) -> Result<usize, LogError> {
        KIND.remove_all(dir)
    }

    /// Deletes the segments whose every slot is at or before `committed` (the store has them).
    pub fn prune(dir: &Path, committed: u64) -> Result<(), LogError> {
        KIND.prune(dir, committed.saturating_add(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::Mapping;
    use crate::cluster::VoteReport;
    use xxhash_rust::xxh3::xxh3_64;

    fn record(slot: u64, parent_slot: u64) -> LoggedSlot {
        let statuses = [
            TxStatus::InvalidSignature,
            TxStatus::Success,
            TxStatus::ProgramError(7),
            TxStatus::AccountFrozenForRemap,
        ];
        let mut admission = Admission {
            statuses: vec![None; 6],
            payer_domain: vec![None; 6],
        };
        for (i, s) in statuses.into_iter().enumerate() {
            admission.statuses[i] = Some(s);
            admission.payer_domain[i] = s.has_domain().then_some(Domain::Ved);
        }
        LoggedSlot {
            parent_slot,
            blockhash: [slot as u8; 32],
            unix_timestamp_ms: 1_700_000_000_000 + slot as i64,
            ved: VedSlot {
                slot,
                ved_hash: [3; 32],
                ved_lthash: LtHash::identity(),
                sig_count: 4,
                admission,
                ued_transactions: vec![4, 5],
                verified: vec![(5, false)],
                entered: vec![[9; 64]],
                changes: vec![Account {
                    pubkey: Pubkey([1; 32]),
                    lamports: 0,
                    owner: Pubkey([2; 32]),
                    executable: false,
                    data: vec![1, 2, 3],
                    mapping: Mapping::RwVed,
                }],
                remaps: vec![(Pubkey([4; 32]), Mapping::RwUed)],
                votes: vec![
                    VoteReport {
                        voter: Pubkey([5; 32]),
                        stake: 77,
                        ved: (slot.saturating_sub(1), [6; 32]),
                        ued: Some((slot.saturating_sub(2), [7; 32])),
                    },
                    VoteReport {
                        voter: Pubkey([8; 32]),
                        stake: 1,
                        ved: (slot.saturating_sub(1), [6; 32]),
                        ued: None,
                    },
                ],
                slashes: vec![(Pubkey([5; 32]), 2_500)],
                incoming_entries: vec![[10; 64], [11; 64]],
                incoming_complete: true,
                ued_votes_gone_over: Some(true),
            },
            ved_stake: Some(60),
        }
    }

    /// A segment of `magic` holding `body`, the record `old` in that format.
    fn write_old_segment(dir: &Path, magic: &[u8; 8], slot: u64, body: &[u8]) {
        let mut bytes = magic.to_vec();
        bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
        bytes.extend_from_slice(body);
        bytes.extend_from_slice(&xxh3_64(body).to_le_bytes());
        std::fs::write(KIND.segment_path(dir, slot), bytes).unwrap();
    }

    /// Bytes at the end of this format's record past `TNDMVED3`'s: what the VED knew of the
    /// UED's vote accounts.
    const NAMES_TAIL: usize = 1;

    /// Bytes at the end of `TNDMVED3`'s record past `TNDMVED2`'s: the incoming entries' count
    /// (none here) and the flag.
    const INCOMING_TAIL: usize = 8 + 1;

    fn same(a: &LoggedSlot, b: &LoggedSlot) -> bool {
        (a.parent_slot, a.blockhash, a.unix_timestamp_ms)
            == (b.parent_slot, b.blockhash, b.unix_timestamp_ms)
            && encode(a) == encode(b)
            && a.ved.admission.statuses == b.ved.admission.statuses
            && a.ved.admission.payer_domain == b.ved.admission.payer_domain
            && a.ved.ued_transactions == b.ved.ued_transactions
    }

    /// `logged`'s record as `TNDMVED4` wrote it: the UED's transactions listed after the
    /// statuses.
    fn encode_listing_ued(logged: &LoggedSlot) -> Vec<u8> {
        let mut w = Writer(Vec::new());
        write_head(&mut w, logged);
        let head = w.0.len();
        w.u64(logged.ved.ued_transactions.len() as u64);
        for &i in &logged.ved.ued_transactions {
            w.u64(i as u64);
        }
        w.bytes(&encode(logged)[head..]);
        w.0
    }

    /// `old` written as the one record of a segment of `magic` (a format before this one),
    /// less its last `cut` bytes (what that format's record lacks), and read back: the record
    /// read, equal to `old`, and the bytes written.
    fn read_back_as(magic: &[u8; 8], old: &LoggedSlot, cut: usize) -> (LoggedSlot, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let mut body = encode_listing_ued(old);
        body.truncate(body.len() - cut - TOTAL_TAIL);
        read_back(dir.path(), magic, old, body)
    }

    /// `body`, `old`'s record in the format of `magic`, before the total, read back from a
    /// segment of its own in `dir`.
    fn read_back(
        dir: &Path,
        magic: &[u8; 8],
        old: &LoggedSlot,
        body: Vec<u8>,
    ) -> (LoggedSlot, Vec<u8>) {
        write_old_segment(dir, magic, old.ved.slot, &body);
        let mut read = VedLog::recover(dir, old.parent_slot).unwrap();
        assert_eq!(read.len(), 1);
        let mut read = read.remove(0);
        assert_eq!(read.ved_stake, None, "a format without the total");
        read.ved_stake = old.ved_stake;
        assert!(same(&read, old));
        read.ved_stake = None;
        (read, body)
    }

    /// Bytes at the end of this format's record past `TNDMVED5`'s: the VED's total stake.
    const TOTAL_TAIL: usize = 8;

    #[test]
    fn a_segment_of_the_format_before_the_total_is_still_read() {
        let old = record(3, 2);
        let dir = tempfile::tempdir().unwrap();
        let mut body = encode(&old);
        body.truncate(body.len() - TOTAL_TAIL);
        let (read, body) = read_back(dir.path(), MAGIC_WITHOUT_TOTAL, &old, body);
        assert_eq!(read.ved.ued_transactions, [4, 5]);
        assert!(decode(&body, Format::Current).is_err());
        // Written now, the record has it.
        let dir = tempfile::tempdir().unwrap();
        VedLog::new(dir.path()).append(&old).unwrap();
        assert_eq!(
            VedLog::recover(dir.path(), 2).unwrap()[0].ved_stake,
            Some(60)
        );
    }

    #[test]
    fn a_segment_of_the_format_before_slashes_is_still_read() {
        let mut old = record(3, 2);
        old.ved.slashes.clear();
        old.ved.incoming_entries.clear();
        old.ved.incoming_complete = false;
        old.ved.ued_votes_gone_over = None;
        // That format ends before the slashes' count.
        let cut = 8 + INCOMING_TAIL + NAMES_TAIL;
        let (_, body) = read_back_as(MAGIC_WITHOUT_SLASHES, &old, cut);
        // Read as a later format, the same bytes are damaged.
        assert!(decode(&body, Format::WithoutIncoming).is_err());
        assert!(decode(&body, Format::Current).is_err());
    }

    #[test]
    fn a_segment_of_the_format_before_the_incoming_entries_is_still_read() {
        let mut old = record(3, 2);
        old.ved.incoming_entries.clear();
        old.ved.incoming_complete = false;
        old.ved.ued_votes_gone_over = None;
        let cut = INCOMING_TAIL + NAMES_TAIL;
        let (read, body) = read_back_as(MAGIC_WITHOUT_INCOMING, &old, cut);
        assert_eq!(read.ved.slashes, old.ved.slashes);
        assert!(!read.ved.incoming_complete);
        assert!(decode(&body, Format::WithoutNames).is_err());
        assert!(decode(&body, Format::Current).is_err());
    }

    #[test]
    fn a_segment_of_the_format_before_the_ued_vote_accounts_is_still_read() {
        // Read with nothing known of the UED's vote accounts: after the restart the VED waits
        // where a member of it leaves, as the build that wrote it did.
        let mut old = record(3, 2);
        old.ved.ued_votes_gone_over = None;
        let (read, body) = read_back_as(MAGIC_WITHOUT_NAMES, &old, NAMES_TAIL);
        assert_eq!(read.ved.incoming_entries, old.ved.incoming_entries);
        assert!(read.ved.incoming_complete);
        assert_eq!(read.ved.ued_votes_gone_over, None);
        assert!(decode(&body, Format::ListingUed).is_err());
        assert!(decode(&body, Format::Current).is_err());
    }

    #[test]
    fn a_segment_listing_the_ued_transactions_is_still_read() {
        let old = record(3, 2);
        let (read, body) = read_back_as(MAGIC_LISTING_UED, &old, 0);
        assert_eq!(read.ved.ued_transactions, [4, 5]);
        assert_eq!(read.ved.ued_votes_gone_over, Some(true));
        assert!(decode(&body, Format::WithoutTotal).is_err());
        assert!(decode(&body, Format::Current).is_err());
    }

    #[test]
    fn the_ued_transactions_cost_the_record_nothing_and_come_back_from_the_statuses() {
        // The same VED slot in a block of 6 transactions and in one with 20,000 more, all of
        // them the UED's.
        let small = record(3, 2);
        let mut loaded = record(3, 2);
        let admission = &mut loaded.ved.admission;
        admission.statuses.resize(20_006, None);
        admission.payer_domain.resize(20_006, None);
        loaded.ved.ued_transactions = (4..20_006).collect();
        assert_eq!(encode(&loaded).len(), encode(&small).len());
        let dir = tempfile::tempdir().unwrap();
        VedLog::new(dir.path()).append(&loaded).unwrap();
        let read = VedLog::recover(dir.path(), 2).unwrap();
        assert!(same(&read[0], &loaded));
        assert_eq!(read[0].ved.ued_transactions.len(), 20_002);
    }

    #[test]
    fn a_large_block_the_ved_decided_nothing_of_is_read_back() {
        // 20,000 user transfers and no vote: the smallest record (2,226 bytes) for a block
        // larger than any bound on the record's size allowed before.
        let mut empty = record(3, 2);
        empty.ved.admission = Admission {
            statuses: vec![None; 20_000],
            payer_domain: vec![None; 20_000],
        };
        empty.ved.ued_transactions = (0..20_000).collect();
        let ved = &mut empty.ved;
        ved.sig_count = 0;
        ved.verified.clear();
        ved.entered.clear();
        ved.changes.clear();
        ved.remaps.clear();
        ved.votes.clear();
        ved.slashes.clear();
        ved.incoming_entries.clear();
        let dir = tempfile::tempdir().unwrap();
        VedLog::new(dir.path()).append(&empty).unwrap();
        let read = VedLog::recover(dir.path(), 2).unwrap();
        assert!(same(&read[0], &empty));
        // A count no block can hold is named.
        let mut body = encode(&empty);
        let at = 8 + 8 + 32 + 8 + 32 + LtHash::BYTES + 8;
        body[at..at + 8].copy_from_slice(&(1u64 << 32).to_le_bytes());
        let err = decode(&body, Format::Current).err().expect("refused");
        assert!(err.contains("4294967296 transactions"), "{err}");
    }

    #[test]
    fn what_the_ved_knew_of_the_ued_vote_accounts_round_trips_and_a_bad_byte_is_named() {
        for known in [None, Some(false), Some(true)] {
            let mut written = record(3, 2);
            written.ved.ued_votes_gone_over = known;
            let body = encode(&written);
            let read = decode(&body, Format::Current).unwrap();
            assert_eq!(read.ved.ued_votes_gone_over, known);
        }
        let mut body = encode(&record(3, 2));
        let at = body.len() - 1 - TOTAL_TAIL;
        body[at] = 3;
        let err = decode(&body, Format::Current).err().expect("refused");
        assert!(err.contains("UED's vote accounts"), "{err}");
    }

    #[test]
    fn window_statuses_pair_the_entered_signatures_with_the_transactions_that_entered() {
        // A block: refused at check 1 (no domain), executed, the UED's, refused at checks 3
        // and 4, failed in execution, the UED's; two entered the window.
        let statuses = [
            Some(TxStatus::InvalidSignature),
            Some(TxStatus::Success),
            None,
            Some(TxStatus::BlockhashNotFound),
            Some(TxStatus::DuplicateSignature),
            Some(TxStatus::ProgramError(7)),
            None,
        ];
        let mut written = record(5, 4);
        written.ved.admission = Admission {
            payer_domain: statuses
                .iter()
                .map(|s| s.filter(|s| s.has_domain()).map(|_| Domain::Ved))
                .collect(),
            statuses: statuses.to_vec(),
        };
        written.ved.ued_transactions = vec![2, 6];
        written.ved.entered = vec![[1; 64], [5; 64]];
        let dir = tempfile::tempdir().unwrap();
        VedLog::new(dir.path()).append(&written).unwrap();
        let read = VedLog::read(dir.path(), 4).unwrap();
        let tx = |status| IndexedTx {
            slot: 5,
            domain: Some(Domain::Ved),
            status,
        };
        assert_eq!(
            read[0].window_statuses(),
            Some(vec![
                ([1; 64], tx(TxStatus::Success)),
                ([5; 64], tx(TxStatus::ProgramError(7)))
            ])
        );
        written.ved.entered.pop();
        assert_eq!(
            written.window_statuses(),
            None,
            "signatures that do not pair up"
        );
    }

    #[test]
    fn reading_beside_a_running_engine_changes_no_file() {
        // A whole record, then a record cut short (an append in progress).
        let dir = tempfile::tempdir().unwrap();
        let mut log = VedLog::new(dir.path());
        log.append(&record(2, 1)).unwrap();
        let segment = VedLog::segments(dir.path())
            .unwrap()
            .pop()
            .expect("a segment");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&segment)
            .unwrap();
        std::io::Write::write_all(&mut file, &[200, 1, 0, 0, 0, 0, 0, 0, 9]).unwrap();
        drop(file);
        let before = std::fs::read(&segment).unwrap();
        let read = VedLog::read(dir.path(), 1).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(std::fs::read(&segment).unwrap(), before, "the tail is left");
        // Recovery at open cuts it.
        assert_eq!(VedLog::recover(dir.path(), 1).unwrap().len(), 1);
        assert!(std::fs::read(&segment).unwrap().len() < before.len());
    }

    #[test]
    fn records_round_trip_and_only_the_slots_after_the_store_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = VedLog::new(dir.path());
        let written: Vec<LoggedSlot> = (2..=6).map(|s| record(s, s - 1)).collect();
        for r in &written {
            log.append(r).unwrap();
        }
        let read = VedLog::recover(dir.path(), 3).unwrap();
        assert_eq!(read.len(), 3);
        assert!(read.iter().zip(&written[2..]).all(|(a, b)| same(a, b)));
        assert_eq!(read[0].ved.votes, written[2].ved.votes);
        assert_eq!(
            read[0].ved.incoming_entries,
            written[2].ved.incoming_entries
        );
        assert!(read[0].ved.incoming_complete);
        assert!(VedLog::recover(dir.path(), 6).unwrap().is_empty());
    }

    #[test]
    fn a_damaged_record_before_the_end_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = VedLog::new(dir.path());
        for s in 1..=3 {
            log.append(&record(s, s - 1)).unwrap();
        }
        let path = KIND.segment_path(dir.path(), 1);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[8 + 8 + 20] ^= 1; // inside the first record's body
        std::fs::write(&path, &bytes).unwrap();
        // A later segment makes the damage not a crash's tail.
        let mut next = VedLog::new(dir.path());
        next.append(&record(4, 3)).unwrap();
        let err = VedLog::recover(dir.path(), 0)
            .err()
            .expect("damage is an error");
        let text = err.to_string();
        assert!(
            text.contains("ved-1.log") && text.contains("after slot 0"),
            "{text}"
        );
    }

    #[test]
    fn segments_the_store_has_passed_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = VedLog::new(dir.path());
        for s in 1..=(2 * SEGMENT_SLOTS + 3) {
            log.append(&record(s, s - 1)).unwrap();
        }
        let names = || {
            KIND.segments(dir.path())
                .unwrap()
                .into_iter()
                .map(|(s, _)| s)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(), [1, SEGMENT_SLOTS + 1, 2 * SEGMENT_SLOTS + 1]);
        VedLog::prune(dir.path(), SEGMENT_SLOTS - 1).unwrap();
        assert_eq!(
            names().len(),
            3,
            "slot {SEGMENT_SLOTS} is not committed yet"
        );
        VedLog::prune(dir.path(), 2 * SEGMENT_SLOTS + 2).unwrap();
        assert_eq!(names(), [2 * SEGMENT_SLOTS + 1]);
        let read = VedLog::recover(dir.path(), 2 * SEGMENT_SLOTS + 1).unwrap();
        assert_eq!(read.len(), 2);
    }
}
