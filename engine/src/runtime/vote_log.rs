//! What each committed slot tells the cluster view (SPEC §6), kept across restarts: the slot's
//! local hashes and what the votes it executed reported ([`SlotVotes`]).
//!
//! The agreement ([`crate::cluster::Agreement`]) sums, per slot, the stake behind each hash the
//! executed votes report, and compares it with the local hashes. It lives in the engine's
//! memory; this log lets a restarted engine start from what it knew. The runtime appends a
//! record for every slot it commits, fsynced *before* the slot's state file and store commit,
//! so a committed slot always has its record; a record of a later slot (written, then not
//! committed) is cut off when the runtime opens. The engine reads the records of the slots its
//! agreement keeps ([`kept_from`]) when it opens, and the VED's log supplies the votes of the
//! slots after the store's.
//!
//! A record holds what the slot's votes reported, summed: per domain, reported slot and hash, the
//! stake behind it — a few entries per slot however many validators vote (200 bytes a slot in
//! `make run`'s store: ~86 MB for a 432,000-slot epoch). (The sums are of every vote the slot executed; the vote program accepts
//! only increasing slots from a vote account, and a vote account cannot be closed, so they are
//! what [`Agreement::record_vote`](crate::cluster::Agreement::record_vote) counts.)
//!
//! Segments `votes-<first slot>.log` ([`super::segment_log`], magic `TNDMVOT2`, a new one every
//! [`SEGMENT_SLOTS`] slots); a record: the slot, `hash_VED`, `hash_UED`, the VED's total stake at
//! the slot (u64: what the slot is judged against, [`crate::cluster::Agreement::total_at`]), the
//! count of sums, then per sum its domain (1 VED, 2 UED), the reported slot, the hash and the
//! stake (u64). Little-endian throughout. Segments of the format before the total (`TNDMVOT1`)
//! are read, never written: their slots are judged against the total when the engine opens.

use std::collections::BTreeMap;
use std::path::Path;

use super::segment_log::{Appender, LogError, LogKind, Record, Torn};
use super::state::{Reader, Writer};
use super::status_index::{domain_from_tag, domain_tag};
use super::window::WINDOW;
use crate::account::{Domain, PerDomain};
use crate::cluster::agreement::ued_report_possible;
use crate::cluster::{Agreement, Halt, VoteReport};

/// Slots per segment.
pub const SEGMENT_SLOTS: u64 = 64;

/// The vote log's files and format.
pub static KIND: LogKind = LogKind {
    name: "vote log",
    prefix: "votes-",
    magics: &[b"TNDMVOT2", b"TNDMVOT1"],
    per_segment: SEGMENT_SLOTS,
    // The slot, its two hashes and the count of sums (`TNDMVOT1`, without the total).
    min_body: 8 + 32 + 32 + 8,
};

/// The first slot whose local hashes and reports the cluster view keeps once the UED has
/// committed `ued_slot`: a report can come for any slot within an epoch of it — other
/// validators' UEDs may lag theirs by up to an epoch (SPEC §5), and a divergence they report
/// must still halt (SPEC §6) — and at least the duplicate window; and every slot the status
/// index answers for (from `oldest_indexed`), so that a confirmed transaction stays confirmed.
pub fn kept_from(ued_slot: u64, slots_per_epoch: u64, oldest_indexed: Option<u64>) -> u64 {
    let reports = ued_slot.saturating_sub(slots_per_epoch.max(WINDOW));
    oldest_indexed.map_or(reports, |oldest| reports.min(oldest))
}

/// One committed slot, as the cluster view sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotVotes {
    /// The slot.
    pub slot: u64,
    /// `hash_VED` of the slot.
    pub ved_hash: [u8; 32],
    /// `hash_UED` of the slot.
    pub ued_hash: [u8; 32],
    /// The VED's total stake at the slot (`None` in a record of the format before it).
    pub ved_stake: Option<u64>,
    /// What its votes reported, summed, in order of domain, slot and hash.
    pub reported: Vec<Reported>,
}

/// The stake the votes of a slot put behind one hash of one slot of one domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reported {
    /// The domain.
    pub domain: Domain,
    /// The reported slot.
    pub slot: u64,
    /// The reported hash.
    pub hash: [u8; 32],
    /// The stake of the votes that reported it.
    pub stake: u64,
}

impl SlotVotes {
    /// The record of `slot`, with its hashes, the VED's total stake and the votes it executed
    /// (a UED report of this slot or a later one is left out, as the agreement leaves it out:
    /// [`crate::cluster::Agreement::record_vote`]).
    pub fn new(
        slot: u64,
        PerDomain {
            ved: ved_hash,
            ued: ued_hash,
        }: PerDomain<[u8; 32]>,
        ved_stake: u64,
        votes: &[VoteReport],
    ) -> Self {
        let mut sums: BTreeMap<(Domain, u64, [u8; 32]), u64> = BTreeMap::new();
        for vote in votes {
            let reports = [
                Some((Domain::Ved, vote.ved)),
                vote.ued
                    .filter(|&(ued_slot, _)| ued_report_possible(ued_slot, slot))
                    .map(|u| (Domain::Ued, u)),
            ];
            for (domain, (slot, hash)) in reports.into_iter().flatten() {
                let sum = sums.entry((domain, slot, hash)).or_default();
                *sum = sum.saturating_add(vote.stake);
            }
        }
        let reported = sums
            .into_iter()
            .map(|((domain, slot, hash), stake)| Reported {
                domain,
                slot,
                hash,
                stake,
            })
            .collect();
        SlotVotes {
            slot,
            ved_hash,
            ued_hash,
            ved_stake: Some(ved_stake),
            reported,
        }
    }
}

/// Bytes per encoded sum.
const REPORTED_BYTES: usize = 1 + 8 + 32 + 8;

fn encode(record: &SlotVotes) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(
        80 + record.reported.len() * REPORTED_BYTES,
    ));
    w.u64(record.slot);
    w.bytes(&record.ved_hash);
    w.bytes(&record.ued_hash);
    w.u64(record.ved_stake.expect("a record written has its total"));
    w.u64(record.reported.len() as u64);
    for r in &record.reported {
        w.bytes(&[domain_tag(Some(r.domain))]);
        w.u64(r.slot);
        w.bytes(&r.hash);
        w.u64(r.stake);
    }
    w.0
}

/// Decodes a record; `with_total` is false for a segment of the format before the total.
fn decode(body: &[u8], with_total: bool) -> Result<SlotVotes, String> {
    let mut r = Reader::new(body);
    let slot = r.u64()?;
    let ved_hash = r.array()?;
    let ued_hash = r.array()?;
    let ved_stake = if with_total { Some(r.u64()?) } else { None };
    let mut reported = Vec::new();
    for _ in 0..r.count(REPORTED_BYTES)? {
        let domain =
            domain_from_tag(r.array::<1>()?[0])?.ok_or("a sum without a domain (tag 0)")?;
        reported.push(Reported {
            domain,
            slot: r.u64()?,
            hash: r.array()?,
            stake: r.u64()?,
        });
    }
    r.end()?;
    // A record of the format before the total summed every UED report, those of its own slot
    // or later included (which no validator can have made): left out as the new format does.
    if !with_total {
        reported.retain(|s| s.domain == Domain::Ved || ued_report_possible(s.slot, slot));
    }
    Ok(SlotVotes {
        slot,
        ved_hash,
        ued_hash,
        ved_stake,
        reported,
    })
}

/// The records of the slots from `from`, decoded, their slots increasing.
fn decoded(records: Vec<Record>, from: u64) -> Result<Vec<SlotVotes>, LogError> {
    let mut out: Vec<SlotVotes> = Vec::new();
    for record in records.into_iter().filter(|r| r.slot >= from) {
        let previous = out.last().map(|r| r.slot);
        let decoded = decode(&record.body, record.format == 0).map_err(|reason| {
            KIND.corrupt(
                &record.path,
                format!("the record of slot {}: {reason}", record.slot),
            )
        })?;
        if previous.is_some_and(|p| decoded.slot <= p) {
            return Err(KIND.corrupt(
                &record.path,
                format!(
                    "slot {} comes after slot {}: slots must increase",
                    decoded.slot,
                    previous.expect("some")
                ),
            ));
        }
        out.push(decoded);
    }
    Ok(out)
}

/// The runtime's writer of the vote log.
pub struct VoteLog(Appender);

impl VoteLog {
    /// The vote log of the store directory `dir`, whose store has committed `committed`
    /// (`None`: nothing): the records after it, and the tail a crash cut short, are cut off.
    /// The next record starts a new segment.
    pub fn open(dir: &Path, committed: Option<u64>) -> Result<VoteLog, LogError> {
        let (records, torn) = Self::read_committed_whole(dir, committed)?;
        let after = records
            .iter()
            .find(|r| committed.is_none_or(|c| r.slot > c))
            .map(|r| (r.path.clone(), r.offset));
        if let Some(cut) = after.or(torn) {
            KIND.cut(dir, cut)?;
        }
        Ok(VoteLog(Appender::new(&KIND, dir)))
    }

    /// Checks the vote log of `dir` without changing it (`tandem store check`): every record
    /// decodes, slots increase, and no committed slot's record is damaged; how many records
    /// it holds.
    pub fn check(dir: &Path, committed: Option<u64>) -> Result<usize, LogError> {
        let (records, _) = Self::read_committed_whole(dir, committed)?;
        Ok(decoded(records, 0)?.len())
    }

    /// The log's records and the tail a crash cut short, refusing a damaged record of a
    /// committed slot.
    fn read_committed_whole(
        dir: &Path,
        committed: Option<u64>,
    ) -> Result<(Vec<Record>, Option<Torn>), LogError> {
        let (records, torn) = KIND.read(dir, None)?;
        let Some(committed) = committed else {
            return Ok((records, torn));
        };
        // Every committed slot's record was synced before its commit: a tail that does not read
        // whole after the last whole record, where that record is older than the committed
        // slot, holds a committed slot's record damaged — not a crash's tail — and cut, the
        // slot's local hashes were gone (a divergence reported for it then never halted).
        match (records.last(), &torn) {
            (Some(last), Some((path, _))) if last.slot < committed => {
                return Err(KIND.corrupt(
                    path,
                    format!(
                        "a damaged record after slot {}, where the store committed slot \
                         {committed}: the committed slots' records must read whole",
                        last.slot
                    ),
                ));
            }
            // And where the log reads whole but stops short of the committed slot, the segment
            // that held its record is gone (segments are pruned from the oldest, and the last
            // one is never removed). (Every segment gone is no damage: a store older than the
            // log, or an operator's resumption after a divergence, which removes them all.)
            (Some(last), None) if last.slot < committed => {
                return Err(KIND.corrupt(
                    &last.path,
                    format!(
                        "the log ends at slot {}, where the store committed slot {committed}: \
                         the records of the slots after it are missing (a segment removed?)",
                        last.slot
                    ),
                ));
            }
            // With no whole record at all, a segment cut short is a crash's tail where it was
            // made for a slot after the committed one (its first record, never synced); one
            // named for a committed slot held that slot's record, synced before its commit.
            (None, Some((path, _))) => {
                let first = KIND
                    .segments(dir)?
                    .into_iter()
                    .find(|(_, p)| p == path)
                    .map(|(first, _)| first);
                if let Some(first) = first.filter(|&first| first <= committed) {
                    return Err(KIND.corrupt(
                        path,
                        format!(
                            "the segment of slot {first} holds no whole record, where the store \
                             committed slot {committed}: the committed slots' records must \
                             read whole"
                        ),
                    ));
                }
            }
            _ => {}
        }
        Ok((records, torn))
    }

    /// Appends the record of a slot about to commit and makes it durable.
    pub fn append(&mut self, record: &SlotVotes) -> Result<(), LogError> {
        self.0.append(&encode(record))
    }

    /// The records of the slots from `from`, in order (of a log [`VoteLog::open`] has cut at
    /// the store's slot).
    pub fn read(dir: &Path, from: u64) -> Result<Vec<SlotVotes>, LogError> {
        let (records, _) = KIND.read(dir, None)?;
        decoded(records, from)
    }

    /// Feeds `agreement` what the records of the slots `from ..= through` told the cluster view
    /// — each slot's total stake, its local hashes and the hashes its votes reported — as the
    /// engine learned it executing them; the first halt (SPEC §6) they show.
    pub fn replay_into(
        agreement: &mut Agreement,
        dir: &Path,
        from: u64,
        through: u64,
    ) -> Result<Option<Halt>, LogError> {
        Ok(Self::feed(agreement, VoteLog::read(dir, from)?, through))
    }

    /// [`VoteLog::replay_into`] of every slot through `committed`, the store's slot, from a
    /// log read once and checked as [`VoteLog::check`] checks it (a reader of a store, `tandem
    /// status`: a log that stops short of the committed slot is refused).
    pub fn replay_committed_into(
        agreement: &mut Agreement,
        dir: &Path,
        committed: u64,
    ) -> Result<Option<Halt>, LogError> {
        let (records, _) = Self::read_committed_whole(dir, Some(committed))?;
        Ok(Self::feed(agreement, decoded(records, 0)?, committed))
    }

    /// Feeds `agreement` the records through slot `through`; the first halt they show.
    fn feed(agreement: &mut Agreement, records: Vec<SlotVotes>, through: u64) -> Option<Halt> {
        let mut halt = None;
        for record in records.into_iter().take_while(|r| r.slot <= through) {
            // Each slot judged against its own total (a record of the earlier format has none:
            // the agreement's total stands for it).
            if let Some(total) = record.ved_stake {
                agreement.record_total(record.slot, total);
            }
            halt = halt.or(agreement.record_local(Domain::Ved, record.slot, record.ved_hash));
            for r in &record.reported {
                halt =
                    halt.or(agreement.record_stake(r.domain, r.slot, r.hash, r.stake, record.slot));
            }
            halt = halt.or(agreement.record_local(Domain::Ued, record.slot, record.ued_hash));
        }
        halt
    }

    /// Deletes the segments whose every slot is before `keep_from`.
    pub fn prune(dir: &Path, keep_from: u64) -> Result<(), LogError> {
        KIND.prune(dir, keep_from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::Pubkey;

    fn record(slot: u64) -> SlotVotes {
        let votes = [
            (1, 10, [2; 32], Some((slot - 2, [3; 32]))),
            (4, 20, [5; 32], None),
            (6, 30, [2; 32], Some((slot - 2, [3; 32]))),
        ];
        let votes: Vec<VoteReport> = votes
            .into_iter()
            .map(|(voter, stake, ved_hash, ued)| VoteReport {
                voter: Pubkey([voter; 32]),
                stake,
                ved: (slot - 1, ved_hash),
                ued,
            })
            .collect();
        SlotVotes::new(
            slot,
            PerDomain::new([slot as u8; 32], [!(slot as u8); 32]),
            60,
            &votes,
        )
    }

    #[test]
    fn a_report_of_the_records_slot_or_later_is_left_out() {
        let vote = |ued_slot| VoteReport {
            voter: Pubkey([1; 32]),
            stake: 10,
            ved: (8, [2; 32]),
            ued: Some((ued_slot, [3; 32])),
        };
        let sums = |ued_slot| {
            let record = SlotVotes::new(9, PerDomain::default(), 60, &[vote(ued_slot)]);
            record
                .reported
                .iter()
                .filter(|r| r.domain == Domain::Ued)
                .count()
        };
        assert_eq!((sums(8), sums(9), sums(u64::MAX)), (1, 0, 0));
    }

    #[test]
    fn a_segment_of_the_format_before_the_total_is_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut old = record(3);
        let mut body = encode(&old);
        body.drain(72..80); // that format has no total after the hashes
        let mut bytes = b"TNDMVOT1".to_vec();
        bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(&body).to_le_bytes());
        std::fs::write(KIND.segment_path(dir.path(), 3), bytes).unwrap();
        old.ved_stake = None;
        assert_eq!(VoteLog::read(dir.path(), 0).unwrap(), [old]);
        // Read as this format, the same bytes are damaged.
        assert!(decode(&body, true).is_err());
        // A record written now has its total.
        assert_eq!(
            decode(&encode(&record(3)), true).unwrap().ved_stake,
            Some(60)
        );
    }

    #[test]
    fn a_record_sums_the_stake_behind_each_reported_hash() {
        let sums: Vec<(Domain, u64, u8, u64)> = record(9)
            .reported
            .iter()
            .map(|r| (r.domain, r.slot, r.hash[0], r.stake))
            .collect();
        assert_eq!(
            sums,
            [
                (Domain::Ved, 8, 2, 40),
                (Domain::Ved, 8, 5, 20),
                (Domain::Ued, 7, 3, 40)
            ]
        );
    }

    fn appended(dir: &Path, slots: impl IntoIterator<Item = u64>) {
        let mut log = VoteLog::open(dir, None).unwrap();
        for slot in slots {
            log.append(&record(slot)).unwrap();
        }
    }

    fn slots(dir: &Path, from: u64) -> Vec<u64> {
        let read = VoteLog::read(dir, from).unwrap();
        read.iter().map(|r| r.slot).collect()
    }

    #[test]
    fn records_round_trip_from_a_slot() {
        let dir = tempfile::tempdir().unwrap();
        appended(dir.path(), 2..200);
        let read = VoteLog::read(dir.path(), 150).unwrap();
        assert_eq!(read.len(), 50);
        assert_eq!(read[0], record(150));
        assert_eq!(read[49], record(199));
    }

    #[test]
    fn open_cuts_the_records_the_store_did_not_commit_and_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        appended(dir.path(), 2..100);
        // Slots 96..99 were written, then a crash came before the store committed them.
        VoteLog::open(dir.path(), Some(95)).unwrap();
        assert_eq!(slots(dir.path(), 0), (2..=95).collect::<Vec<_>>());
        // The chain resumes on a fork that skips slot 96: its record never reads as committed.
        let mut log = VoteLog::open(dir.path(), Some(95)).unwrap();
        log.append(&record(97)).unwrap();
        drop(log);
        let newest = KIND.segments(dir.path()).unwrap().pop().unwrap().1;
        let len = std::fs::metadata(&newest).unwrap().len();
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&newest)
            .unwrap();
        file.set_len(len - 3).unwrap(); // a crash cut the last record short
        VoteLog::open(dir.path(), Some(95)).unwrap();
        assert_eq!(*slots(dir.path(), 90), [90, 91, 92, 93, 94, 95]);
        // Nothing committed: nothing kept.
        VoteLog::open(dir.path(), None).unwrap();
        assert!(slots(dir.path(), 0).is_empty());
    }

    #[test]
    fn a_damaged_last_record_of_a_committed_slot_is_an_error_not_a_torn_tail() {
        // Slots 2..=3 committed, and slot 3's record damaged since (nothing after it): it read
        // as a crash's tail and was cut, slot 3's local hashes with it.
        let dir = tempfile::tempdir().unwrap();
        appended(dir.path(), 2..=3);
        let newest = KIND.segments(dir.path()).unwrap().pop().unwrap().1;
        let mut bytes = std::fs::read(&newest).unwrap();
        let at = bytes.len() - 20;
        bytes[at] ^= 1;
        std::fs::write(&newest, &bytes).unwrap();
        let Err(error) = VoteLog::open(dir.path(), Some(3)) else {
            panic!("slot 3's damaged record was cut as a crash's tail");
        };
        assert!(
            error.to_string().contains("a damaged record after slot 2"),
            "{error}"
        );
        assert_eq!(std::fs::read(&newest).unwrap(), bytes, "nothing cut");
        // Committed through slot 2 only, the same bytes are slot 3's torn append: cut.
        VoteLog::open(dir.path(), Some(2)).unwrap();
        assert_eq!(slots(dir.path(), 0), [2]);
    }

    #[test]
    fn a_segment_a_crash_left_with_only_its_magic_is_cut_and_pruning_keeps_what_follows() {
        let dir = tempfile::tempdir().unwrap();
        appended(dir.path(), 2..=65); // one whole segment, votes-2.log
        // The next block was at slot 70; a crash came after its segment was created, before
        // its record.
        std::fs::write(dir.path().join("votes-70.log"), KIND.magics[0]).unwrap();
        // The chain resumes on a fork whose next block is at slot 67.
        let mut log = VoteLog::open(dir.path(), Some(65)).unwrap();
        for slot in 67..=80 {
            log.append(&record(slot)).unwrap();
        }
        drop(log);
        VoteLog::prune(dir.path(), 75).unwrap();
        // The empty segment, left, would have ended votes-67.log at slot 70 for the pruning.
        assert_eq!(slots(dir.path(), 0), (67..=80).collect::<Vec<_>>());
    }

    #[test]
    fn a_segment_a_crash_left_before_its_magic_was_synced_is_cut_and_another_bad_magic_is_not() {
        // A crash before the new segment's magic reached the disk, on a file system that
        // extended the file with zeros: the engine refused to open ("bad magic"), though no
        // record of it was ever synced. Found in review.
        let dir = tempfile::tempdir().unwrap();
        appended(dir.path(), 2..=65); // one whole segment, votes-2.log
        let newest = dir.path().join("votes-70.log");
        for zeros in [8, 8 + 30] {
            std::fs::write(&newest, vec![0; zeros]).unwrap();
            VoteLog::open(dir.path(), Some(65)).expect("a create's torn tail");
            assert!(!newest.exists(), "cut");
            assert_eq!(slots(dir.path(), 0), (2..=65).collect::<Vec<_>>());
        }
        // Zeros with a whole record after them (synced, so the magic was): damage, named —
        // one record alone was cut as a create's tail (found in review).
        appended(dir.path(), 66..=66);
        let one = dir.path().join("votes-66.log");
        let mut bytes = std::fs::read(&one).unwrap();
        bytes[..8].fill(0);
        std::fs::write(&one, &bytes).unwrap();
        let Err(error) = VoteLog::open(dir.path(), Some(66)) else {
            panic!("a zeroed magic before a synced record was cut");
        };
        assert!(error.to_string().contains("bad magic"), "{error}");
        std::fs::remove_file(&one).unwrap();
        // Not the last segment, or not zeros: damage, named.
        let mut bytes = KIND.magics[0].to_vec();
        bytes[0] ^= 1;
        std::fs::write(&newest, &bytes).unwrap();
        let Err(error) = VoteLog::open(dir.path(), Some(65)) else {
            panic!("a damaged magic opened");
        };
        assert!(error.to_string().contains("bad magic"), "{error}");
        std::fs::write(&newest, [0; 8]).unwrap();
        std::fs::write(dir.path().join("votes-80.log"), KIND.magics[0]).unwrap();
        let Err(error) = VoteLog::open(dir.path(), Some(65)) else {
            panic!("a zeroed magic before the last segment opened");
        };
        assert!(error.to_string().contains("bad magic"), "{error}");
    }

    #[test]
    fn a_segment_of_a_newer_format_is_named_as_one_not_called_damaged() {
        // An older build opening a newer one's store (a downgrade) said "damaged vote log:
        // … bad magic", as of a damaged file (stop 73's upgrade test and its review).
        let dir = tempfile::tempdir().unwrap();
        appended(dir.path(), 2..=65);
        let newest = dir.path().join("votes-2.log");
        let mut bytes = std::fs::read(&newest).unwrap();
        bytes[7] = b'9';
        std::fs::write(&newest, &bytes).unwrap();
        let Err(error) = VoteLog::open(dir.path(), Some(65)) else {
            panic!("a newer format opened");
        };
        let said = error.to_string();
        assert!(
            said.contains("of format TNDMVOT9, which this build does not read")
                && said.contains("written by another tandem")
                && !said.contains("bad magic")
                && !said.contains("damaged"),
            "{said}"
        );
    }

    #[test]
    fn damage_before_the_end_is_an_error_naming_the_file_and_pruning_keeps_what_is_asked() {
        let dir = tempfile::tempdir().unwrap();
        appended(dir.path(), 2..=200);
        VoteLog::prune(dir.path(), 131).unwrap();
        let kept = slots(dir.path(), 0);
        assert_eq!(
            kept.first(),
            Some(&130),
            "whole segments only: 130..=193 holds 131"
        );
        assert_eq!(kept.last(), Some(&200));
        let (_, first) = KIND.segments(dir.path()).unwrap().remove(0);
        let mut bytes = std::fs::read(&first).unwrap();
        bytes[30] ^= 1;
        std::fs::write(&first, bytes).unwrap();
        let error = VoteLog::read(dir.path(), 0)
            .expect_err("damaged")
            .to_string();
        assert!(error.contains("votes-130.log"), "{error}");
        assert!(error.contains("damaged vote log"), "{error}");
        let Err(error) = VoteLog::open(dir.path(), Some(200)) else {
            panic!("a damaged log opened");
        };
        assert!(
            error.to_string().contains("a damaged record at its start"),
            "{error}"
        );
    }

    #[test]
    fn damage_inside_the_last_segment_is_an_error_not_a_torn_tail() {
        // Slots 2..=10 in one segment, all committed: a flipped bit in slot 2's record is
        // damage (the records after it were synced), not the tail of a crash; cutting there
        // would drop eight committed slots' votes. Zeros after the last record are a tail.
        let dir = tempfile::tempdir().unwrap();
        appended(dir.path(), 2..=10);
        let (_, path) = KIND.segments(dir.path()).unwrap().pop().unwrap();
        let whole = std::fs::read(&path).unwrap();
        let mut zeros = whole.clone();
        zeros.extend_from_slice(&[0; 100]);
        std::fs::write(&path, &zeros).unwrap();
        VoteLog::open(dir.path(), Some(10)).unwrap();
        assert_eq!(slots(dir.path(), 0), (2..=10).collect::<Vec<_>>());
        let mut damaged = whole;
        damaged[8 + 8 + 20] ^= 1;
        std::fs::write(&path, &damaged).unwrap();
        let Err(error) = VoteLog::open(dir.path(), Some(10)) else {
            panic!("a damaged log opened");
        };
        assert!(
            error.to_string().contains("a damaged record at its start"),
            "{error}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), damaged, "nothing was cut");
        // A length damaged to run past the end looks like a record a crash cut short, but whole
        // records follow it: damage too (it cut slots 3..=10 away, fsynced, and opened).
        let mut damaged = std::fs::read(&path).unwrap();
        damaged[8 + 8 + 20] ^= 1; // slot 2's body whole again
        let second = 8 + record_len(&damaged, 8);
        damaged[second + 6] = 0x01; // slot 3's length: 2^48 and more
        std::fs::write(&path, &damaged).unwrap();
        let Err(error) = VoteLog::open(dir.path(), Some(10)) else {
            panic!("a log with a damaged length opened");
        };
        assert!(
            error.to_string().contains("a damaged record after slot 2"),
            "{error}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), damaged, "nothing was cut");
    }

    /// A crash cuts the last record short after bytes that read as a record of their own (a
    /// vote's hash can hold one: 24 bytes); and a power cut leaves a hole where the last
    /// record's length was, with later bytes of it written. Both are the tail of a crash, cut
    /// at open, not damage that refuses the log.
    #[test]
    fn a_torn_record_holding_a_record_or_missing_its_length_is_a_torn_tail() {
        // A record of slot 6 whose body holds a record of slot 7, cut 50 bytes after it.
        let (dir, path, whole) = torn_around_a_hidden_record(0, 50);
        // Slot 5's record with its length gone (zeros), the rest of it there.
        let last = {
            let mut at = 8;
            while at + record_len(&whole, at) < whole.len() {
                at += record_len(&whole, at);
            }
            at
        };
        let mut holed = whole.clone();
        holed[last..last + 8].fill(0);
        std::fs::write(&path, &holed).unwrap();
        VoteLog::open(dir.path(), Some(4)).unwrap();
        assert_eq!(slots(dir.path(), 0), (2..=4).collect::<Vec<_>>());
    }

    /// A black-box test found a vote log cut to a part of its first record, or emptied, passing
    /// `tandem store check` and read as a crash's tail: the committed slots' votes, and the
    /// halt they showed, were gone. A log that stops short of the committed slot is damage;
    /// every segment gone is not (an operator resuming after a divergence removes them all),
    /// nor a first segment, made for the slot after the committed one, cut short.
    #[test]
    fn a_log_missing_committed_slots_is_damage_and_no_log_is_not() {
        let dir = tempfile::tempdir().unwrap();
        appended(dir.path(), 2..=5);
        let (_, path) = KIND.segments(dir.path()).unwrap().pop().unwrap();
        let whole = std::fs::read(&path).unwrap();
        for keep in [0, 4, 8, 20, 100] {
            std::fs::write(&path, &whole[..keep]).unwrap();
            let refused = VoteLog::check(dir.path(), Some(5)).err();
            assert!(
                refused
                    .as_ref()
                    .is_some_and(|e| e.to_string().contains("votes-2.log")),
                "cut to {keep} bytes: {refused:?}"
            );
            assert!(
                VoteLog::open(dir.path(), Some(5)).is_err(),
                "cut to {keep} bytes"
            );
            assert_eq!(std::fs::read(&path).unwrap(), &whole[..keep], "nothing cut");
        }
        // Every segment gone: no damage (nothing to count).
        std::fs::remove_file(&path).unwrap();
        assert_eq!(VoteLog::check(dir.path(), Some(5)).unwrap(), 0);
        // The first record after that, torn by a crash before its slot committed: cut.
        appended(dir.path(), [6]);
        let (_, path) = KIND.segments(dir.path()).unwrap().pop().unwrap();
        let six = std::fs::read(&path).unwrap();
        std::fs::write(&path, &six[..six.len() - 9]).unwrap();
        VoteLog::open(dir.path(), Some(5)).unwrap();
        assert!(
            KIND.segments(dir.path()).unwrap().is_empty(),
            "the torn create cut"
        );
        // The last segment of two removed: the log stops short of the committed slot.
        appended(dir.path(), 2..=71);
        let segments = KIND.segments(dir.path()).unwrap();
        assert_eq!(segments.len(), 2);
        std::fs::remove_file(&segments[1].1).unwrap();
        let refused = VoteLog::check(dir.path(), Some(71)).err();
        assert!(
            refused
                .as_ref()
                .is_some_and(|e| e.to_string().contains("ends at slot 65")),
            "{refused:?}"
        );
        VoteLog::check(dir.path(), Some(65)).unwrap();
    }

    /// The review's case: a crash cuts the last record exactly where a short record hidden in
    /// its body (a vote's hashes can hold one) ends, so whole records run to the end of the
    /// file. Still the tail of a crash: no record of this log is that short.
    #[test]
    fn a_torn_record_cut_right_after_a_record_in_its_body_is_a_torn_tail() {
        torn_around_a_hidden_record(13, 0);
    }

    /// A log of slots 2..=5 whose last segment ends in a torn record of slot 6 holding the
    /// shortest record of slot 7 after `before` bytes of its body, cut `after` bytes past that
    /// record: opened, it is a crash's tail, cut back to slot 5's record. The log's directory,
    /// its last segment and that segment's whole bytes.
    fn torn_around_a_hidden_record(
        before: usize,
        after: usize,
    ) -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        appended(dir.path(), 2..=5);
        let (_, path) = KIND.segments(dir.path()).unwrap().pop().unwrap();
        let whole = std::fs::read(&path).unwrap();
        let inner = shortest_record(7);
        let mut body = 6u64.to_le_bytes().to_vec();
        body.extend(std::iter::repeat_n(0xCD, before));
        body.extend_from_slice(&inner);
        body.extend_from_slice(&[0xAB; 200]);
        let mut torn = whole.clone();
        torn.extend_from_slice(&(body.len() as u64).to_le_bytes());
        torn.extend_from_slice(&body[..8 + before + inner.len() + after]);
        std::fs::write(&path, &torn).unwrap();
        VoteLog::open(dir.path(), Some(5)).unwrap();
        assert_eq!(slots(dir.path(), 0), (2..=5).collect::<Vec<_>>());
        assert_eq!(std::fs::read(&path).unwrap(), whole, "the torn record cut");
        (dir, path, whole)
    }

    /// The shortest record there can be, framed: its body the slot `slot` alone (`len ‖ slot ‖
    /// xxh3(slot)`, 24 bytes) — what bytes others choose (a vote's hash) can hold.
    fn shortest_record(slot: u64) -> Vec<u8> {
        let body = slot.to_le_bytes();
        let mut record = 8u64.to_le_bytes().to_vec();
        record.extend_from_slice(&body);
        record.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(&body).to_le_bytes());
        record
    }

    /// The size of the record at `at` (its length field, body and checksum).
    fn record_len(bytes: &[u8], at: usize) -> usize {
        16 + u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize
    }

    #[test]
    fn the_cluster_view_keeps_an_epoch_of_reports_and_every_slot_the_index_answers_for() {
        // At least the window, at least an epoch, and every indexed slot.
        assert_eq!(kept_from(1_000, 32, None), 1_000 - WINDOW);
        assert_eq!(kept_from(1_000, 432_000, None), 0);
        assert_eq!(kept_from(500_000, 432_000, None), 68_000);
        assert_eq!(kept_from(1_000, 32, Some(700)), 700);
        assert_eq!(kept_from(1_000, 32, Some(900)), 1_000 - WINDOW);
    }
}
