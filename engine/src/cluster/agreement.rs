//! Agreement tracking and the UED-divergence halt (SPEC §6).
//!
//! Every executed VED vote says what its validator computed: the VED hash of the slot it votes
//! on and, when it advanced, the newest UED `(slot, hash)`. [`Agreement`] sums, per slot and
//! domain, the stake behind each reported hash, and compares it with the local hashes as they
//! become known (the UED's later than the VED's). When validators holding at least 1/3 of the
//! VED stake report, for a slot, a UED hash other than the local one, it returns a [`Halt`]: the
//! engine stops voting and confirming statuses.
//!
//! A validator counts once per slot and domain (its first report; a later, different report for
//! the same slot is a validator contradicting itself, and does not move stake). The vote program
//! makes each vote account's reported slots increase (`VoteSlotTooOld`, `UedSlotRegressed`), so
//! the tracker keeps, per vote account, the last slot it counted in each domain, and counts a
//! report only for a later slot: that is "once per slot" for any account the program accepts
//! votes from (and, were a vote account ever made again, it still could not count twice).
//! Memory stays bounded — per slot, the stake behind each hash reported (one or two hashes, not
//! one entry per validator), and per vote account two slots — and [`Agreement::prune`] forgets
//! every slot before a given one. A UED report for the slot of the block that carries the vote,
//! or a later one, is no validator's (its UED cannot have executed a block still being built)
//! and is not kept.
//!
//! A slot is judged against the VED's total stake when the VED executed it, not the total of
//! whatever epoch the engine is in when reports arrive or a status is asked for. A report weighs
//! its voter's stake when the vote executed — the only stake of it known — as a share of the
//! larger of two totals: the reported slot's and that of the block the vote executed in. Where
//! the VED's stake grew between them (members joined, stake grew at a boundary), stake that
//! came after the slot then never counts for more than its share of the VED when it reported:
//! a newcomer holding a quarter of the VED does not halt the engine as a third of an older,
//! smaller total. Where the total did not change — within an epoch, the common case — the
//! share is exactly the stake over the slot's total. Shares are kept in units of 2^-64 of the
//! whole (`share_of`), summed per total so that a restarted engine, adding the vote log's
//! per-block sums, gets the very numbers the live one added vote by vote.
//!
//! **Confirmation through the hash chain.** A vote carries its validator's newest UED slot, so
//! where UEDs commit several slots between two votes most UED slots are named by no vote. But
//! `hash_D(t)` chains over `hash_D(s)` for every s < t (SPEC §4): a validator that reported
//! the local hash of t computed the local hash of every slot before it. The share of the stake
//! confirming slot s is therefore the largest share (of each slot's own total) behind the local
//! hash of any slot t ≥ s — a lower bound of the share that computed it (validators naming
//! different later slots are not added up), never more.
//!
//! **A block's reports, summed.** The votes of one block are summed per domain, slot and hash
//! and recorded in that order ([`Agreement::record_votes`]), as the vote log keeps them: a
//! restarted engine and `tandem status`, adding the log's sums, get the live engine's figures
//! (judged vote by vote, a halt said a third against where the log's sum said all of the
//! stake; found in review, stop 71). A report is judged when it comes if the local hash of its
//! slot is there, else when the hash comes: which slot a halt names, and its figures, can
//! then depend on how far the local UED lagged when the reports came (not whether it halts).
//! Judging in block order whatever the lag would wait behind every report of a slot the local
//! UED has not reached — the halt and the confirmations too, which a validator whose cluster
//! runs ahead of it would almost always have; it was tried and left (stop 71).

use std::collections::{BTreeMap, HashMap};

use super::hex;
use crate::account::{Domain, PerDomain, Pubkey};

/// What one executed vote reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoteReport {
    /// The vote account.
    pub voter: Pubkey,
    /// Its stake when the vote executed, in lamports.
    pub stake: u64,
    /// The slot voted on, with its VED hash.
    pub ved: (u64, [u8; 32]),
    /// The newest UED `(slot, hash)` the validator had, when the vote carries one.
    pub ued: Option<(u64, [u8; 32])>,
}

/// The stake behind each hash reported for one slot of one domain: one entry, two where
/// someone diverges (a list: a map's node would be ten times the size).
type SlotReports = Vec<([u8; 32], Behind)>;

/// A share of the VED's stake, in units of 2^-64 of the whole ([`WHOLE`]).
type Fraction = u128;

/// All of the VED's stake, as a [`Fraction`].
const WHOLE: Fraction = 1 << 64;

/// `stake`'s share of `total`, rounded up to the 2^-64: exact enough that three shares of a
/// third or more reach [`WHOLE`] and none of less does, and that [`stake_of`] gives `stake`
/// back from it (both for totals below 2^64). No total: no share.
fn share_of(stake: u64, total: u64) -> Fraction {
    if total == 0 {
        return 0;
    }
    (u128::from(stake.min(total)) << 64).div_ceil(u128::from(total))
}

/// The stake of `total` a share stands for, rounded down (a share past the whole is the whole).
fn stake_of(share: Fraction, total: u64) -> u64 {
    ((share.min(WHOLE) * u128::from(total)) >> 64) as u64
}

/// The stake behind one reported hash: per weighing total (module docs), the stake summed and
/// its share. One entry, two where the VED's total changed while reports came.
#[derive(Clone, Debug, Default)]
struct Behind(Vec<(u64, u64, Fraction)>);

impl Behind {
    /// Adds `stake` weighed by `total` (one division, on the vote's path: per vote, not per
    /// reading).
    fn add(&mut self, total: u64, stake: u64) {
        match self.0.iter_mut().find(|(t, ..)| *t == total) {
            Some((_, behind, share)) => {
                *behind = behind.saturating_add(stake);
                *share = share_of(*behind, total);
            }
            None => self.0.push((total, stake, share_of(stake, total))),
        }
    }

    /// The share of the VED's stake behind the hash: each total's stake weighed by it.
    fn share(&self) -> Fraction {
        self.0.iter().map(|&(.., share)| share).sum()
    }
}

/// Why the engine halted: a slot whose UED hash validators with at least 1/3 of the VED stake
/// reported differently from the local one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Halt {
    /// The slot.
    pub slot: u64,
    /// The local UED hash of the slot.
    pub local_hash: [u8; 32],
    /// The other hash with the most stake behind it.
    pub reported_hash: [u8; 32],
    /// Stake that reported a hash other than the local one.
    pub disagreeing_stake: u64,
    /// Stake that reported the local hash.
    pub agreeing_stake: u64,
    /// The VED stake the third is taken of.
    pub total_stake: u64,
}

impl std::fmt::Display for Halt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "UED divergence at slot {}: local hash {}, validators with {} of {} lamports of VED \
             stake report otherwise ({} behind {}), {} agree",
            self.slot,
            hex(&self.local_hash),
            self.disagreeing_stake,
            self.total_stake,
            self.disagreeing_stake,
            hex(&self.reported_hash),
            self.agreeing_stake
        )
    }
}

/// The agreement of the cluster with the local hashes (module docs).
#[derive(Clone, Debug, Default)]
pub struct Agreement {
    /// The VED's total stake now.
    total_stake: u64,
    /// The VED's total stake at each slot it executed: what the slot is judged against.
    totals: BTreeMap<u64, u64>,
    /// Per domain, the local hash of each slot.
    local: PerDomain<BTreeMap<u64, [u8; 32]>>,
    /// Per domain, what the votes reported for each slot.
    reports: PerDomain<BTreeMap<u64, SlotReports>>,
    /// Per domain, the share of the stake behind the local hash of slot t, kept only where it
    /// is more than every later slot's: the share confirming slot s (module docs) is that of
    /// the first entry at or after s.
    confirmed: PerDomain<BTreeMap<u64, Fraction>>,
    /// Per vote account, the last slot counted in each domain (module docs).
    counted: HashMap<Pubkey, PerDomain<Option<u64>>>,
    halt: Option<Halt>,
    /// The largest share of the stake that reported another UED hash for a slot, in basis
    /// points of the total.
    max_disagreement_bps: u64,
}

/// Whether a vote executed in the block of `in_slot` can report UED slot `ued_slot`: no
/// validator's UED has executed the block its vote is in, or a later one. Another report names
/// a slot nobody computed, and would be kept until the local UED got there (module docs).
pub fn ued_report_possible(ued_slot: u64, in_slot: u64) -> bool {
    ued_slot < in_slot
}

impl Agreement {
    /// An empty tracker.
    pub fn new() -> Agreement {
        Agreement::default()
    }

    /// Sets the VED's total stake (the sum over the vote accounts in the VED now).
    pub fn set_total_stake(&mut self, total: u64) {
        self.total_stake = total;
    }

    /// The halt, once there is one; it stays.
    pub fn halt(&self) -> Option<&Halt> {
        self.halt.as_ref()
    }

    /// Records a vote executed in the block of slot `in_slot`; returns a halt it causes (the
    /// first only). [`Agreement::record_votes`] of one vote.
    pub fn record_vote(&mut self, vote: &VoteReport, in_slot: u64) -> Option<Halt> {
        self.record_votes(std::slice::from_ref(vote), in_slot)
    }

    /// Records the votes the block of slot `in_slot` executed; returns a halt they cause (the
    /// first only). The block's reports are summed per domain, slot and hash and recorded in
    /// that order ([`Agreement::record_stake`]), as the vote log keeps and gives them back
    /// ([`crate::runtime::vote_log::SlotVotes`]): a halt and its figures are the same whether
    /// the engine counted the votes as they executed or a reader (a restarted engine,
    /// `tandem status`) adds the log's sums.
    pub fn record_votes(&mut self, votes: &[VoteReport], in_slot: u64) -> Option<Halt> {
        let mut sums: BTreeMap<(Domain, u64, [u8; 32]), u64> = BTreeMap::new();
        for vote in votes {
            let ued = vote
                .ued
                .filter(|&(slot, _)| ued_report_possible(slot, in_slot));
            let counted = self.counted.entry(vote.voter).or_default();
            let mut count = |domain: Domain, slot: u64| {
                let last = &mut counted[domain];
                let first = last.is_none_or(|last| slot > last);
                if first {
                    *last = Some(slot);
                }
                first
            };
            let ved = count(Domain::Ved, vote.ved.0).then_some((Domain::Ved, vote.ved));
            let ued = ued
                .filter(|&(slot, _)| count(Domain::Ued, slot))
                .map(|ued| (Domain::Ued, ued));
            for (domain, (slot, hash)) in [ved, ued].into_iter().flatten() {
                let sum = sums.entry((domain, slot, hash)).or_default();
                *sum = sum.saturating_add(vote.stake);
            }
        }
        let mut halt = None;
        for ((domain, slot, hash), stake) in sums {
            halt = halt.or(self.record_stake(domain, slot, hash, stake, in_slot));
        }
        halt
    }

    /// Records `stake`, reported by votes the block of `in_slot` executed, behind `hash` for
    /// `slot` in `domain`, counted already (by [`Agreement::record_vote`] before a restart: the
    /// vote log's sums, each block's record after that block's total); returns a halt it
    /// causes (the first only).
    pub fn record_stake(
        &mut self,
        domain: Domain,
        slot: u64,
        hash: [u8; 32],
        stake: u64,
        in_slot: u64,
    ) -> Option<Halt> {
        // Weighed by the larger of the slot's total and the voting block's (module docs).
        let total = self.total_at(slot).max(self.total_at(in_slot));
        let reports = self.reports[domain]
            .entry(slot)
            .or_insert_with(|| Vec::with_capacity(1));
        let behind = match reports.iter_mut().find(|(h, _)| *h == hash) {
            Some((_, behind)) => behind,
            None => {
                reports.push((hash, Behind::default()));
                &mut reports.last_mut().expect("just pushed").1
            }
        };
        behind.add(total, stake);
        let behind = behind.share();
        if self.local[domain].get(&slot) == Some(&hash) {
            self.raise_confirmed(domain, slot, behind);
        }
        match domain {
            Domain::Ued => self.check(slot),
            Domain::Ved => None,
        }
    }

    /// Records the local hash of `slot` in `domain`; returns a halt it causes (the first only).
    pub fn record_local(&mut self, domain: Domain, slot: u64, hash: [u8; 32]) -> Option<Halt> {
        self.local[domain].insert(slot, hash);
        if domain == Domain::Ved {
            // (One recorded before, from the vote log at open, was the slot's own.)
            self.totals.entry(slot).or_insert(self.total_stake);
        }
        let behind = self.share_behind(domain, slot, &hash);
        self.raise_confirmed(domain, slot, behind);
        match domain {
            Domain::Ued => self.check(slot),
            Domain::Ved => None,
        }
    }

    /// The stake that reported `hash` for `slot` in `domain`, as stake of the slot's total
    /// (its share of the VED, module docs).
    pub fn stake_behind(&self, domain: Domain, slot: u64, hash: &[u8; 32]) -> u64 {
        stake_of(self.share_behind(domain, slot, hash), self.total_at(slot))
    }

    /// The share of the VED's stake that reported `hash` for `slot` in `domain`.
    fn share_behind(&self, domain: Domain, slot: u64, hash: &[u8; 32]) -> Fraction {
        self.reports[domain]
            .get(&slot)
            .and_then(|r| r.iter().find(|(h, _)| h == hash))
            .map_or(0, |(_, behind)| behind.share())
    }

    /// Whether the local hash of `slot` in `domain` is known (and not pruned).
    pub fn has_local(&self, domain: Domain, slot: u64) -> bool {
        self.local[domain].contains_key(&slot)
    }

    /// The stake that reported the local hash of `slot` in `domain` (0 while it is not known).
    pub fn stake_behind_local(&self, domain: Domain, slot: u64) -> u64 {
        self.local[domain]
            .get(&slot)
            .map_or(0, |hash| self.stake_behind(domain, slot, hash))
    }

    /// The stake confirming `slot` in `domain`, of its total ([`Agreement::total_at`]): the
    /// largest share behind the local hash of any slot from it on (module docs; 0 while there
    /// is none).
    pub fn confirmed_stake(&self, domain: Domain, slot: u64) -> u64 {
        let Some((_, &share)) = self.confirmed[domain].range(slot..).next() else {
            return 0;
        };
        stake_of(share, self.total_at(slot))
    }

    /// The VED's total stake when it executed `slot` (its total now for a slot it has not
    /// recorded: one from before the engine opened that the vote log did not give).
    pub fn total_at(&self, slot: u64) -> u64 {
        self.totals.get(&slot).copied().unwrap_or(self.total_stake)
    }

    /// Records the VED's total stake at `slot`, as the vote log kept it (before the slot's
    /// local hash is recorded again at open).
    pub fn record_total(&mut self, slot: u64, total: u64) {
        self.totals.insert(slot, total);
    }

    /// Every slot from `first` on with a local hash, per domain: the stake confirming it and the
    /// total stake it is judged against (what the status index keeps across restarts).
    pub fn confirmations_from(&self, first: u64) -> Vec<(Domain, u64, u64, u64)> {
        let mut out = Vec::new();
        for domain in Domain::ALL {
            for &slot in self.local[domain].range(first..).map(|(s, _)| s) {
                out.push((
                    domain,
                    slot,
                    self.confirmed_stake(domain, slot),
                    self.total_at(slot),
                ));
            }
        }
        out
    }

    /// Notes that a `share` of the stake is behind the local hash of `slot` (module docs: it is
    /// kept only where it is more than every later slot's, and then the earlier entries it is
    /// not less than are not needed).
    fn raise_confirmed(&mut self, domain: Domain, slot: u64, share: Fraction) {
        let share = share.min(WHOLE);
        let staircase = &mut self.confirmed[domain];
        if share == 0
            || staircase
                .range(slot..)
                .next()
                .is_some_and(|(_, &later)| later >= share)
        {
            return;
        }
        staircase.insert(slot, share);
        let covered: Vec<u64> = staircase
            .range(..slot)
            .rev()
            .take_while(|(_, earlier)| share >= **earlier)
            .map(|(&t, _)| t)
            .collect();
        for t in covered {
            staircase.remove(&t);
        }
    }

    /// The largest share of the VED stake, in basis points, that reported for a slot a UED hash
    /// other than the local one (0: the cluster always agreed).
    pub fn max_disagreement_bps(&self) -> u64 {
        self.max_disagreement_bps
    }

    /// The total VED stake the tracker measures against.
    pub fn total_stake(&self) -> u64 {
        self.total_stake
    }

    /// Forgets every slot before `slot`, reports and local hashes alike.
    pub fn prune(&mut self, slot: u64) {
        for (_, map) in self.reports.iter_mut() {
            *map = map.split_off(&slot);
        }
        for (_, map) in self.local.iter_mut() {
            *map = map.split_off(&slot);
        }
        for (_, map) in self.confirmed.iter_mut() {
            *map = map.split_off(&slot);
        }
        self.totals = self.totals.split_off(&slot);
    }

    /// Slots with reports or local hashes held now (the memory bound's measure).
    pub fn slots_held(&self) -> usize {
        self.reports.iter().map(|(_, m)| m.len()).sum::<usize>()
            + self.local.iter().map(|(_, m)| m.len()).sum::<usize>()
    }

    /// Whether `slot`'s UED reports now halt the engine.
    fn check(&mut self, slot: u64) -> Option<Halt> {
        if self.halt.is_some() {
            return None;
        }
        let local = *self.local[Domain::Ued].get(&slot)?;
        let reports = self.reports[Domain::Ued].get(&slot)?;
        let agreeing = reports
            .iter()
            .find(|(h, _)| *h == local)
            .map_or(0, |(_, b)| b.share());
        let others = reports.iter().filter(|(h, _)| *h != local);
        // Every other hash's stake, summed per weighing total before it is weighed: one
        // rounding up per total, not one per hash (many hashes of just under a third in all,
        // each rounded up, passed it).
        let mut against = Behind::default();
        for (_, behind) in others.clone() {
            for &(total, stake, _) in &behind.0 {
                against.add(total, stake);
            }
        }
        let disagreeing = against.share();
        let bps = ((disagreeing.min(WHOLE) * 10_000) >> 64) as u64;
        self.max_disagreement_bps = self.max_disagreement_bps.max(bps);
        // At least a third: 3 × share ≥ the whole ([`share_of`]: exact for one total).
        if disagreeing * 3 < WHOLE {
            return None;
        }
        // The total the halt names: the slot's, or where the VED had no stake then (stake
        // joined after it), the largest its reports were weighed by.
        let total = match self.total_at(slot) {
            0 => against
                .0
                .iter()
                .map(|&(total, ..)| total)
                .max()
                .unwrap_or(0),
            total => total,
        };
        // The most stake; between equals, the greatest hash (whatever order reports came in).
        let (reported, _) = others.max_by_key(|(h, b)| (b.share(), *h))?;
        let halt = Halt {
            slot,
            local_hash: local,
            reported_hash: *reported,
            disagreeing_stake: stake_of(disagreeing, total),
            agreeing_stake: stake_of(agreeing, total),
            total_stake: total,
        };
        self.halt = Some(halt.clone());
        Some(halt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Agreement {
        /// [`Agreement::record_vote`] in the block after the slot voted on.
        fn record_vote_in(&mut self, vote: &VoteReport) -> Option<Halt> {
            self.record_vote(vote, vote.ved.0 + 1)
        }
    }

    fn vote(n: u8, stake: u64, slot: u64, ued_hash: u8) -> VoteReport {
        VoteReport {
            voter: Pubkey([n; 32]),
            stake,
            ved: (slot + 1, [0xee; 32]),
            ued: Some((slot, [ued_hash; 32])),
        }
    }

    /// The validators of `stakes`, the ones in `faulty` reporting a wrong UED hash for slot 5,
    /// seen from a validator whose local hash is the honest one (or the faulty one).
    fn halts(stakes: &[u64], faulty: &[usize], local_faulty: bool) -> Option<Halt> {
        let mut a = Agreement::new();
        a.set_total_stake(stakes.iter().sum());
        let (good, bad) = (1u8, 2u8);
        a.record_local(Domain::Ued, 5, [if local_faulty { bad } else { good }; 32]);
        let mut halt = None;
        for (i, &stake) in stakes.iter().enumerate() {
            let hash = if faulty.contains(&i) { bad } else { good };
            halt = halt.or(a.record_vote_in(&vote(i as u8, stake, 5, hash)));
        }
        halt
    }

    #[test]
    fn the_scenarios_of_the_issue() {
        // 4 equal, 1 faulty: honest ones go on, the faulty one halts.
        assert_eq!(halts(&[10; 4], &[3], false), None);
        // (It halts as soon as a third disagrees: after the second honest vote.)
        let halt = halts(&[10; 4], &[3], true).expect("the faulty one halts");
        assert_eq!(
            (halt.slot, halt.disagreeing_stake, halt.total_stake),
            (5, 20, 40)
        );
        // 4 equal, 2 faulty: everyone halts.
        assert!(halts(&[10; 4], &[2, 3], false).is_some());
        assert!(halts(&[10; 4], &[2, 3], true).is_some());
        // 50/30/20 with the 30 faulty: nobody honest halts (the disagreement shows), 40/34/26
        // with the 34 faulty: they do.
        assert_eq!(halts(&[50, 30, 20], &[1], false), None);
        let mut a = Agreement::new();
        a.set_total_stake(100);
        a.record_local(Domain::Ued, 5, [1; 32]);
        for (i, (stake, hash)) in [(50, 1), (30, 2), (20, 1)].into_iter().enumerate() {
            assert_eq!(a.record_vote_in(&vote(i as u8, stake, 5, hash)), None);
        }
        assert_eq!(a.max_disagreement_bps(), 3_000);
        assert!(halts(&[40, 34, 26], &[1], false).is_some());
        // Exactly a third halts ("at least 1/3").
        assert!(halts(&[10, 10, 10], &[2], false).is_some());
    }

    #[test]
    fn reports_before_the_local_hash_are_kept_and_judged_when_it_arrives() {
        let mut a = Agreement::new();
        a.set_total_stake(30);
        assert_eq!(a.record_vote_in(&vote(1, 10, 7, 9)), None);
        assert_eq!(a.record_vote_in(&vote(2, 10, 7, 9)), None);
        assert_eq!(a.stake_behind(Domain::Ued, 7, &[9; 32]), 20);
        let halt = a
            .record_local(Domain::Ued, 7, [4; 32])
            .expect("halts when the UED gets there");
        assert_eq!((halt.local_hash, halt.reported_hash), ([4; 32], [9; 32]));
        assert!(halt.to_string().contains("slot 7"), "{halt}");
        // A halt stays, and is reported once.
        assert_eq!(a.record_vote_in(&vote(3, 10, 7, 9)), None);
        assert!(a.halt().is_some());
    }

    #[test]
    fn a_report_counts_only_after_the_voters_last_counted_slot() {
        // The vote program accepts only increasing slots from a vote account; were one made
        // again, it would start over, and must not count for a slot it counted already.
        let mut a = Agreement::new();
        a.set_total_stake(100);
        a.record_local(Domain::Ued, 7, [1; 32]);
        a.record_vote_in(&vote(1, 10, 7, 2));
        a.record_vote_in(&vote(1, 10, 6, 2)); // made again: slot 6 and VED slot 7
        a.record_vote_in(&vote(1, 10, 7, 2));
        assert_eq!(a.stake_behind(Domain::Ued, 7, &[2; 32]), 10);
        assert_eq!(a.stake_behind(Domain::Ued, 6, &[2; 32]), 0);
        assert_eq!(a.stake_behind(Domain::Ved, 7, &[0xee; 32]), 0);
        // Sums counted before (the vote log's) add without a voter, and judge as votes do.
        assert_eq!(a.record_stake(Domain::Ued, 7, [2; 32], 20, 8), None);
        let halt = a
            .record_stake(Domain::Ued, 7, [2; 32], 5, 9)
            .expect("a third");
        assert_eq!((halt.disagreeing_stake, halt.total_stake), (35, 100));
    }

    #[test]
    fn the_halt_names_the_same_reported_hash_whatever_order_reports_came_in() {
        // Two other hashes with equal stake: a restarted engine, adding the vote log's sums in
        // hash order, names the hash the live one named.
        let halt = |order: [u8; 2]| {
            let mut a = Agreement::new();
            a.set_total_stake(30);
            a.record_local(Domain::Ued, 7, [1; 32]);
            for (i, hash) in order.into_iter().enumerate() {
                a.record_vote_in(&vote(i as u8, 5, 7, hash));
            }
            a.halt().expect("a third disagrees").reported_hash
        };
        assert_eq!(halt([2, 3]), [3; 32]);
        assert_eq!(halt([3, 2]), [3; 32]);
    }

    #[test]
    fn a_validator_counts_once_per_slot_and_pruning_bounds_memory() {
        let mut a = Agreement::new();
        a.set_total_stake(100);
        a.record_local(Domain::Ued, 3, [1; 32]);
        for _ in 0..5 {
            a.record_vote_in(&vote(1, 10, 3, 2));
        }
        assert_eq!(a.stake_behind(Domain::Ued, 3, &[2; 32]), 10);
        assert_eq!(a.stake_behind(Domain::Ved, 4, &[0xee; 32]), 10);
        for slot in 10..20 {
            a.record_vote_in(&vote(1, 10, slot, 1));
            a.record_local(Domain::Ued, slot, [1; 32]);
        }
        assert_eq!(a.stake_behind_local(Domain::Ued, 15), 10);
        let before = a.slots_held();
        a.prune(15);
        assert!(a.slots_held() < before);
        assert_eq!(a.stake_behind(Domain::Ued, 3, &[2; 32]), 0);
        assert_eq!(a.stake_behind_local(Domain::Ued, 15), 10);
    }

    #[test]
    fn a_slot_no_vote_names_is_confirmed_through_a_later_slot() {
        // The UEDs commit 10 and 11 between two votes: every vote names 11.
        let mut a = Agreement::new();
        a.set_total_stake(30);
        for slot in [10, 11] {
            a.record_local(Domain::Ued, slot, [slot as u8; 32]);
        }
        for voter in 0..3 {
            a.record_vote_in(&vote(voter, 10, 11, 11));
        }
        assert_eq!(a.stake_behind_local(Domain::Ued, 10), 0);
        assert_eq!(a.confirmed_stake(Domain::Ued, 10), 30);
        assert_eq!(a.confirmed_stake(Domain::Ued, 11), 30);
        assert_eq!(a.confirmed_stake(Domain::Ued, 12), 0);
        // A report of a hash other than the local one confirms nothing before it.
        a.record_local(Domain::Ued, 12, [12; 32]);
        a.record_vote_in(&vote(0, 10, 12, 99));
        assert_eq!(a.confirmed_stake(Domain::Ued, 12), 0);
        assert_eq!(a.confirmed_stake(Domain::Ued, 10), 30);
        let rows = a.confirmations_from(11);
        assert_eq!(
            rows.iter().filter(|r| r.0 == Domain::Ued).count(),
            2,
            "{rows:?}"
        );
        assert!(rows.contains(&(Domain::Ued, 11, 30, 30)), "{rows:?}");
    }

    #[test]
    fn the_confirmation_is_the_most_stake_behind_any_later_slot() {
        // Against a brute force over reports in a scrambled order (local hashes, matching and
        // other reports, slots in any order).
        let mut rng = crate::sample::SplitMix64::new(0x2026_1201);
        let mut next = |n: u64| rng.below(n);
        for _ in 0..50 {
            let mut a = Agreement::new();
            a.set_total_stake(1_000);
            let mut behind = [0u64; 20];
            let mut local = [false; 20];
            for _ in 0..60 {
                let slot = next(20);
                if next(3) == 0 {
                    a.record_local(Domain::Ued, slot, [1; 32]);
                    local[slot as usize] = true;
                } else {
                    let (hash, stake) = ([1 + (next(4) == 0) as u8; 32], 1 + next(50));
                    a.record_stake(Domain::Ued, slot, hash, stake, slot + 1);
                    if hash == [1; 32] {
                        behind[slot as usize] += stake;
                    }
                }
            }
            for s in 0..20 {
                let want = (s..20)
                    .filter(|&t| local[t])
                    .map(|t| behind[t])
                    .max()
                    .unwrap_or(0);
                assert_eq!(a.confirmed_stake(Domain::Ued, s as u64), want, "slot {s}");
            }
        }
    }

    #[test]
    fn a_slot_is_judged_against_the_stake_of_its_own_time() {
        let mut a = Agreement::new();
        a.set_total_stake(30);
        a.record_local(Domain::Ved, 5, [0xee; 32]);
        a.record_local(Domain::Ued, 5, [1; 32]);
        a.record_local(Domain::Ved, 6, [0xee; 32]);
        // Stake joins after block 6: slot 5 is still judged against 30.
        a.set_total_stake(60);
        a.record_local(Domain::Ved, 7, [0xee; 32]);
        assert_eq!((a.total_at(5), a.total_at(6), a.total_at(7)), (30, 30, 60));
        // 10 of 30 report another hash for slot 5 in block 6, of the same total: a third.
        let halt = a
            .record_vote(&vote(1, 10, 5, 2), 6)
            .expect("a third of slot 5's stake");
        assert_eq!((halt.disagreeing_stake, halt.total_stake), (10, 30));
        assert_eq!(
            a.confirmations_from(0)
                .iter()
                .find(|r| r.1 == 5 && r.0 == Domain::Ued)
                .map(|r| r.3),
            Some(30)
        );
    }

    #[test]
    fn stake_that_joined_after_a_slot_counts_as_its_share_of_the_ved_when_it_reports() {
        // Three members of 10; a fourth of 10 joins at a boundary (30 → 40) and, its UED
        // lagging, reports another hash for a slot of before. It holds a quarter of the VED
        // (and held none of slot 5's): no halt — as a third of slot 5's 30 it halted the engine
        // (found in review, 2026-12-06).
        let mut a = Agreement::new();
        a.set_total_stake(30);
        a.record_local(Domain::Ved, 5, [0xee; 32]);
        a.record_local(Domain::Ued, 5, [1; 32]);
        a.set_total_stake(40);
        a.record_local(Domain::Ved, 9, [0xee; 32]);
        assert_eq!(a.record_vote(&vote(4, 10, 5, 2), 9), None);
        assert_eq!(a.max_disagreement_bps(), 2_500);
        // A member of before reporting the same: 10 + 10 of 40, half — a halt, its stake
        // named as slot 5's stake (15 of its 30).
        let halt = a
            .record_vote(&vote(1, 10, 5, 2), 9)
            .expect("half the VED now");
        assert_eq!((halt.disagreeing_stake, halt.total_stake), (15, 30));
        // A restarted engine, adding the vote log's sum of block 9, decides alike.
        let mut b = Agreement::new();
        b.set_total_stake(40);
        b.record_total(5, 30);
        b.record_total(9, 40);
        b.record_local(Domain::Ved, 5, [0xee; 32]);
        b.record_local(Domain::Ued, 5, [1; 32]);
        assert_eq!(b.record_stake(Domain::Ued, 5, [2; 32], 20, 9), Some(halt));
    }

    #[test]
    fn many_hashes_of_just_under_a_third_in_all_do_not_halt() {
        // Each share rounds up to the 2^-64: two other hashes whose stakes sum to just under a
        // third of a total near 2^64 passed it, weighed one by one (found in review).
        let total = u64::MAX - 1;
        let (a, b) = (3_074_457_345_618_258_601, 3_074_457_345_618_258_603);
        assert!(3 * (u128::from(a) + u128::from(b)) < u128::from(total));
        let mut x = Agreement::new();
        x.set_total_stake(total);
        x.record_local(Domain::Ved, 5, [0xee; 32]);
        x.record_local(Domain::Ued, 5, [1; 32]);
        assert_eq!(x.record_stake(Domain::Ued, 5, [2; 32], a, 6), None);
        assert_eq!(x.record_stake(Domain::Ued, 5, [3; 32], b, 6), None);
        // One lamport more and they are a third.
        assert!(x.record_stake(Domain::Ued, 5, [3; 32], 1, 7).is_some());
    }

    #[test]
    fn a_slot_of_no_ved_stake_is_judged_by_the_stake_that_reports_it() {
        // The VED had no stake at slot 5 (a genesis of no staked validator); 30 joined, and a
        // third of it reports another hash for slot 5: a halt, named against 30 (it was never
        // judged: the slot's total of 0 ended the check).
        let mut a = Agreement::new();
        a.set_total_stake(0);
        a.record_local(Domain::Ved, 5, [0xee; 32]);
        a.record_local(Domain::Ued, 5, [1; 32]);
        a.set_total_stake(30);
        a.record_local(Domain::Ved, 9, [0xee; 32]);
        assert_eq!(a.record_vote(&vote(1, 5, 5, 2), 9), None);
        let halt = a
            .record_vote(&vote(2, 5, 5, 2), 9)
            .expect("a third of the VED");
        assert_eq!((halt.disagreeing_stake, halt.total_stake), (10, 30));
    }

    #[test]
    fn shares_are_exact_at_a_third_and_give_the_stake_back() {
        for total in [1, 2, 3, 30, 1_000_003, u64::MAX / 7, u64::MAX - 1, u64::MAX] {
            for stake in [
                0,
                1,
                total / 3,
                total / 3 + 1,
                total.div_ceil(3),
                total - 1,
                total,
            ] {
                let share = share_of(stake, total);
                assert_eq!(stake_of(share, total), stake, "{stake} of {total}");
                let third = u128::from(stake) * 3 >= u128::from(total);
                assert_eq!(share * 3 >= WHOLE, third, "{stake} of {total}");
            }
        }
        assert_eq!(share_of(5, 0), 0);
        assert_eq!(
            share_of(50, 40),
            WHOLE,
            "a share past the whole is the whole"
        );
    }

    #[test]
    fn a_later_slots_confirmation_counts_as_its_share_of_that_slots_stake() {
        // Slot 5 of an epoch with 30 of stake; 20 more join, and the newcomer alone reports
        // slot 9 (50 in all): 40 % of the stake, which is 12 of slot 5's 30 — not 20 (67 %).
        let mut a = Agreement::new();
        a.set_total_stake(30);
        a.record_local(Domain::Ved, 5, [0xee; 32]);
        a.record_local(Domain::Ued, 5, [5; 32]);
        a.set_total_stake(50);
        a.record_local(Domain::Ved, 9, [0xee; 32]);
        a.record_local(Domain::Ued, 9, [9; 32]);
        a.record_stake(Domain::Ued, 9, [9; 32], 20, 10);
        assert_eq!(a.confirmed_stake(Domain::Ued, 9), 20);
        assert_eq!(a.confirmed_stake(Domain::Ued, 5), 12);
        // Slot 5's own reports (votes of block 6, before the 20 joined), a larger share of its
        // total, stand for it.
        a.record_total(6, 30);
        a.record_stake(Domain::Ued, 5, [5; 32], 25, 6);
        assert_eq!(a.confirmed_stake(Domain::Ued, 5), 25);
    }

    #[test]
    fn a_ued_report_of_the_votes_block_or_later_is_not_kept() {
        let mut a = Agreement::new();
        a.set_total_stake(30);
        // A late vote on slot 6 in the block of slot 20, with the validator's UED at 19: kept.
        let mut late = vote(1, 10, 5, 1);
        late.ued = Some((19, [1; 32]));
        a.record_vote(&late, 20);
        assert_eq!(a.stake_behind(Domain::Ued, 19, &[1; 32]), 10);
        // Its block's slot, or any after it: nobody computed it.
        for ued_slot in [20, 1_000_000_000_000] {
            let mut future = vote(2, 10, 5, 1);
            future.ued = Some((ued_slot, [1; 32]));
            a.record_vote(&future, 20);
            assert_eq!(a.stake_behind(Domain::Ued, ued_slot, &[1; 32]), 0);
        }
        assert_eq!(a.slots_held(), 2, "the VED slot voted on and UED slot 19");
    }

    #[test]
    fn a_blocks_votes_are_judged_as_the_vote_log_gives_them_back() {
        // Validator 1 reports another hash for slot 5, validators 2 and 3 the local one, in
        // one block. Judged vote by vote, the halt said no stake agreed; the vote log keeps
        // the block's sums, and a restarted engine or `tandem status` said two thirds did.
        use crate::runtime::vote_log::SlotVotes;
        let (local, other) = ([1; 32], [2; 32]);
        let votes = [vote(1, 10, 5, 2), vote(2, 10, 5, 1), vote(3, 10, 5, 1)];
        let mut live = Agreement::new();
        live.set_total_stake(30);
        live.record_local(Domain::Ued, 5, local);
        let halt = live
            .record_votes(&votes, 6)
            .expect("a third reports otherwise");
        assert_eq!((halt.disagreeing_stake, halt.agreeing_stake), (10, 20));
        let mut logged = Agreement::new();
        logged.set_total_stake(30);
        logged.record_local(Domain::Ued, 5, local);
        let hashes = crate::account::PerDomain {
            ved: [0xee; 32],
            ued: other,
        };
        let record = SlotVotes::new(6, hashes, 30, &votes);
        let mut from_log = None;
        for r in &record.reported {
            from_log = from_log.or(logged.record_stake(r.domain, r.slot, r.hash, r.stake, 6));
        }
        assert_eq!(from_log, Some(halt));
    }
}
