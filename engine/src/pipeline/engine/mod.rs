//! The asynchronous engine: the VED and the UED on their own pinned threads, linked by bounded
//! queues, so a vote never waits for user transactions (SPEC §4–§5, issue #10).
//!
//! ```text
//!             submit (ingest: header, parse, guess each payer's domain)
//!                 │                                 │
//!        [ued sigs queue]                    [ved sigs queue]
//!                 │                                 │
//!     sigverify-ued thread (nice)        sigverify-ved thread
//!                 │                                 │
//!                 │                          [ved queue]
//!                 │                                 │
//!                 │                           VED thread ── hash_VED: the vote point
//!                 │                                 │
//!        [ued sigs queue] ─────────┐        [ued queue]
//!                                  ▼                ▼
//!                            UED thread (nice): checks 1–4, UED pass (waves on the UED
//!                            threads), LtHash, hash_UED, commit of the slot
//! ```
//!
//! Every queue is a bounded crossbeam channel. The VED thread runs [`VedExecutor`] on its own
//! copy of the RW-VED accounts and crosses epoch boundaries on its own too, with the UED's
//! [`EpochHandoff`] of the epoch before (sent after the UED executed that epoch's first block;
//! the UED executes every boundary block whole and checks the VED's results). It waits for the
//! UED only at a boundary, counted in the metrics: when the handoff has not come (the UED lags
//! by a whole epoch: SPEC §5's backpressure point), and where it cannot tell the boundary
//! without the UED's state — an account moves into the VED and it lacks that account's window
//! entries of a block (a store of an earlier format, more blocks kept than its limit, or a block
//! with more of its transactions than the VED verifies for one), or one of its accounts may
//! leave it by membership and a UED vote account may keep it in (the UED's handoff names it,
//! or a UED transaction since initialized a vote account, or the VED has not gone over every
//! block since: more blocks kept than its limit) — then the UED executes the block
//! whole once it has caught up and answers with a fresh VED executor
//! ([`crate::runtime::executor`] says why).
//! The UED may otherwise lag the VED by as many blocks as its queues hold
//! ([`EngineConfig::ued_queue_blocks`]); when they are full, `submit` waits.
//!
//! Ingest hands a block to the VED's sigverify stage once it has guessed the payers of its
//! first [`GUESS_PART`] transactions, and each part after as it guesses it: that stage verifies
//! the votes found so far while ingest guesses the rest of a loaded block. Ingest parses a
//! block with user transactions for its verdict once the votes' signatures are verified (for
//! at most [`EngineConfig::ued_yield_limit`]), on the sigverify PUs that are not the VED's, while
//! the VED executes the block ahead of the verdict; the vote waits for the verdict, and a block
//! it refuses is undone in the VED ([`VedExecutor::undo_last_block`]).
//!
//! Placement: the VED thread and the VED's sigverify thread run on the `ved` stage's PUs (votes
//! never queue behind user signatures), the UED's sigverify thread on the `gpu` feeder's (it
//! hands the GPU the user signatures) or else the `sigverify` stage's, with helpers on the other
//! sigverify PUs ([`Placement::user_sigverify`]), the UED thread and its pass threads on the
//! `ued` stage's; the per-slot hashing runs on each domain's
//! executor thread (`hash_VED` is the vote point, so it cannot wait for another stage), the
//! VED's shared with a helper on each of the sigverify stage's PUs that are not the VED's
//! ([`VedExecutor::with_hash_helpers`]). The
//! UED-side threads run in the `SCHED_IDLE` class (nice 10 where it is refused), so on a
//! machine where stages share cores the kernel runs a vote's work first; the VED's signatures
//! are also verified on the sigverify stage's PUs, by helpers at the VED's priority. A
//! priority shares no caches, though: the UED's sigverify stage also lets each block's vote go
//! first, beginning the block's user signatures once the VED has published its hash (or waits
//! for the UED), for at most [`EngineConfig::ued_yield_limit`]. The VED's
//! verifier builds its voters' signer tables before the first block and, between blocks, for
//! the voters an epoch boundary brings ([`VedExecutor::vote_signers`]).
//!
//! Results are the sequential runtime's, block by block (the tests compare them): the same
//! statuses and hashes as `tandem replay`, for any number of UED threads and any backend.
//!
//! [`EpochHandoff`]: crate::runtime::executor::EpochHandoff
//! [`GUESS_PART`]: crate::pipeline::guess::GUESS_PART
//! [`Placement::user_sigverify`]: crate::pipeline::Placement::user_sigverify
//! [`VedExecutor`]: crate::runtime::executor::VedExecutor
//! [`VedExecutor::vote_signers`]: crate::runtime::executor::VedExecutor::vote_signers
//! [`VedExecutor::undo_last_block`]: crate::runtime::executor::VedExecutor::undo_last_block
//! [`VedExecutor::with_hash_helpers`]: crate::runtime::executor::VedExecutor::with_hash_helpers

mod alerts;
mod config;
mod error;
mod ingest;
mod jobs;
mod live_index;
mod shared;
mod sigverify;
mod start;
mod ued;
mod ved;

pub use config::{
    AlertHook, DEFAULT_UED_YIELD_LIMIT, EngineConfig, EngineHooks, OutcomeHook, VoteHook,
};
pub use error::{EngineError, Failure};
pub use ingest::SPARE_BLOCK_BUFFERS;
pub use sigverify::{VOTE_SIGNER_CACHE, vote_signer_places};

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::account::{Account, Domain, PerDomain, Pubkey};
use crate::cluster::{Alert, Halt};
use crate::ledger::Transactions;
use crate::pipeline::metrics::{EngineMetrics, StageMetrics, VotePathTimes};
use crate::runtime::builtins::vote::VoteState;
use crate::runtime::status_index::{Confirmation, ExecutionStatus, IndexedTx};
use crate::runtime::{Runtime, RuntimeError, status_index};
use crate::sample::vote_program_id;
use ingest::Ingested;
use jobs::AccountRead;
use shared::Shared;

/// The stages whose metrics the engine reports, in pipeline order.
pub const ENGINE_STAGES: [&str; 5] = ["ingest", "sigverify-ved", "sigverify-ued", "ved", "ued"];

/// A vote point: the VED hash of a slot, and how long after its hand-over it was ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vote {
    /// The slot.
    pub slot: u64,
    /// `hash_VED` of the slot.
    pub ved_hash: [u8; 32],
    /// From `submit` to the hash (for a slot the VED executed before a restart, to its logged
    /// hash handed on: no time-to-vote in the metrics).
    pub time_to_vote: Duration,
    /// The steps of that time, each from `submit` (`None` where the VED did not execute the
    /// block itself: a slot logged before a restart, or one the UED executed whole at an
    /// epoch boundary).
    pub path: Option<VotePathTimes>,
}

/// Where a transaction stands ([`Engine::transaction`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxView {
    /// `ExecutionStatus` (SPEC §6).
    pub status: ExecutionStatus,
    /// The slot of the block that holds it; `None` when no recent block does.
    pub slot: Option<u64>,
    /// The domain that executed it; `None` when unknown, not executed yet, or refused before
    /// its payer's domain was known (checks 1 and 2).
    pub domain: Option<Domain>,
}

/// The answer of [`Engine::wait_hash`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waited {
    /// The domain's hash of the slot.
    Hash([u8; 32]),
    /// The domain has not executed the slot and never will.
    NotFound(NotFound),
    /// The slot was not executed by the deadline (it may be later, or never be submitted).
    TimedOut,
    /// The engine halted (SPEC §6), before or while waiting: only from
    /// [`Engine::wait_hash_unless_halted`].
    Halted,
}

impl Waited {
    /// The hash, if there is one.
    pub fn hash(self) -> Option<[u8; 32]> {
        match self {
            Waited::Hash(hash) => Some(hash),
            Waited::NotFound(_) | Waited::TimedOut | Waited::Halted => None,
        }
    }
}

/// Why [`Engine::wait_hash`] will never have a slot's hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotFound {
    /// A later slot was executed without it: no block of that slot was accepted (SPEC §4).
    #[error("the slot was skipped: the next slot executed is {next}")]
    Skipped {
        /// The next slot the domain executed.
        next: u64,
    },
    /// It is older than the recent slots the engine remembers (or than the slot it resumed at).
    #[error("the engine remembers hashes from slot {oldest} on")]
    Forgotten {
        /// The oldest slot whose hash the engine still holds.
        oldest: u64,
    },
    /// The engine finished before the slot was submitted.
    #[error("the engine finished before the slot was executed")]
    Finished,
}

/// Where the ingest check stands: the header of the last block accepted.
struct Cursor {
    slot: u64,
    unix_timestamp_ms: i64,
    /// When the last `submit` returned (the engine's start before the first): ingest is idle
    /// from then until the next, the caller's time (reading its ledger, pacing).
    returned: Instant,
}

/// The asynchronous engine over one store (module docs).
pub struct Engine {
    shared: Arc<Shared>,
    cursor: Mutex<Cursor>,
    slots_per_epoch: u64,
    ved_sigs: Option<Sender<Arc<Ingested>>>,
    ued_sigs: Option<Sender<Arc<Ingested>>>,
    threads: Vec<JoinHandle<()>>,
    ued_thread: Option<JoinHandle<Runtime>>,
    reads: Sender<AccountRead>,
    /// Disconnected once the UED's stage has stopped (nothing is ever sent).
    ued_alive: Receiver<()>,
    /// Slashes scheduled since the last block submitted.
    slashes: Mutex<Vec<(Pubkey, u16)>>,
    ingest: Arc<StageMetrics>,
    /// The sigverify stages' metrics (the VED's, the UED's), whose queues ingest fills and
    /// records the depth of.
    sigverify_stages: PerDomain<Arc<StageMetrics>>,
    /// [`EngineConfig::ued_yield_limit`]: also how long ingest lets a loaded block's votes be
    /// verified before it parses the rest.
    ued_yield_limit: Duration,
    /// The PUs ingest parses a loaded block on, beside the VED executing it ahead of the
    /// verdict: the sigverify PUs that are not the VED's (none: wherever the host's thread runs).
    parse_pus: Vec<usize>,
    resumed_slot: u64,
    /// The blockhash of the block at `resumed_slot` ([`Runtime::last_blockhash`]).
    resumed_blockhash: [u8; 32],
    ved_resumed_slot: u64,
    /// The buffers of blocks the engine is done with ([`SPARE_BLOCK_BUFFERS`]), and where
    /// those it is done with next go.
    spares: (Sender<Transactions>, Receiver<Transactions>),
    /// Whether the host has asked for a spare: until it does, no buffer is kept.
    recycling: std::sync::atomic::AtomicBool,
}

/// The engine's state after [`Engine::finish`].
pub struct EngineSummary {
    /// The last committed slot.
    pub slot: u64,
    /// `hash_VED` and `hash_UED` of the last committed slot.
    pub hashes: PerDomain<[u8; 32]>,
    /// The runtime, for reading the final state.
    pub runtime: Runtime,
    /// The UED divergence the engine halted on (SPEC §6), when it did.
    pub halt: Option<Halt>,
    /// Why the engine halted, for any halt (a divergence, a UED that could not catch up, or a
    /// halt before it was reopened).
    pub halted: Option<String>,
}

impl Engine {
    /// The slot the engine started after: its store's last committed slot when opened (the
    /// UED's commit point). Blocks are submitted from the one after it.
    pub fn resumed_slot(&self) -> u64 {
        self.resumed_slot
    }

    /// The blockhash of the block at [`Engine::resumed_slot`] (the genesis blockhash when it
    /// is 0): what a host resuming from a ledger checks that ledger's block against.
    pub fn resumed_blockhash(&self) -> [u8; 32] {
        self.resumed_blockhash
    }

    /// The VED's own commit point when opened: the last slot it logged (at least
    /// [`Engine::resumed_slot`]). Blocks up to it are not executed by the VED again; their
    /// logged results are handed to the UED as the blocks are submitted again.
    pub fn ved_resumed_slot(&self) -> u64 {
        self.ved_resumed_slot
    }

    /// An account as the UED's last committed slot left it, with that slot: what a leader knows
    /// of user balances (SPEC §6: only as far as the UED has executed). Answered by the UED
    /// between blocks, so it may wait for the block in hand.
    pub fn account(&self, pubkey: &Pubkey) -> Result<(u64, Option<Account>), EngineError> {
        if EXECUTOR_THREAD.get() == Some("ued") {
            return Err(EngineError::OnTheUedThread("Engine::account"));
        }
        let (reply, answer) = bounded(1);
        let read = AccountRead {
            pubkey: *pubkey,
            reply,
        };
        self.reads.send(read).map_err(|_| self.stopped())?;
        // The UED may stop with the read queued: then no answer comes, and its reply sender
        // stays in the queue (waited on alone, this waited for ever).
        crossbeam_channel::select! {
            recv(answer) -> answered => answered.map_err(|_| self.stopped()),
            recv(self.ued_alive) -> _ => answer.try_recv().map_err(|_| self.stopped()),
        }
    }

    /// Schedules an operator slash of `bps` basis points of `vote_account`'s stake (SPEC §5),
    /// applied at the next epoch boundary whichever domain the account is in: it goes with the
    /// next block submitted and accepted (a block refused at ingest leaves it scheduled), as
    /// [`Runtime::schedule_slash`] before that block would. Refused
    /// (and not scheduled) for basis points outside 1 ..= 10,000, an account that is not a
    /// vote account as of the UED's last committed slot, or while the blocks the VED logged
    /// before a restart are submitted again (up to [`Engine::ved_resumed_slot`]).
    pub fn schedule_slash(&self, vote_account: Pubkey, bps: u16) -> Result<(), EngineError> {
        let invalid = |reason: String| {
            EngineError::Rejected(RuntimeError::InvalidSlash {
                vote_account,
                reason,
            })
        };
        refused_on_an_executor("Engine::schedule_slash")?;
        if bps == 0 || bps > 10_000 {
            return Err(invalid("basis points must be 1 ..= 10,000".into()));
        }
        let (slot, account) = self.account(&vote_account)?;
        let is_vote_account = account.is_some_and(|a| {
            a.owner == vote_program_id() && a.lamports > 0 && VoteState::decode(&a.data).is_some()
        });
        if !is_vote_account {
            return Err(invalid(format!("not a vote account (as of slot {slot})")));
        }
        // The blocks the VED logged before a restart were decided without it: a slash cannot
        // come with one of them (it would apply at a boundary the log has crossed already).
        let cursor = self.cursor.lock().unwrap_or_else(PoisonError::into_inner);
        if cursor.slot < self.ved_resumed_slot {
            return Err(invalid(format!(
                "the engine is taking the blocks its VED logged before the restart again (up \
                 to slot {}, now at {}): schedule it once they are submitted",
                self.ved_resumed_slot, cursor.slot
            )));
        }
        let mut slashes = self.slashes.lock().unwrap_or_else(PoisonError::into_inner);
        slashes.push((vote_account, bps));
        Ok(())
    }

    /// Why the engine halted (SPEC §6), once it has.
    pub fn halt(&self) -> Option<Halt> {
        let agreement = self.shared.agreement();
        agreement.halt().cloned()
    }

    /// Why the engine halted — also when it halted before it was reopened.
    pub fn halted(&self) -> Option<String> {
        self.shared
            .halted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// `ExecutionStatus(signature, stake = bps)` (SPEC §6): `Unknown` when no recent block holds
    /// the transaction; `Pending` while its block is accepted but its domain's executor has not
    /// run it, and until validators holding `bps` basis points of the VED stake have reported
    /// the local hash of its domain and slot (at once with 0: as soon as its domain's executor
    /// has run); then its final status; `Halted` once the engine has halted.
    ///
    /// Once the engine has stopped on a failure, an answer that would be `Pending` is that
    /// failure ([`EngineError::Failed`]): the transaction will not be decided by this engine,
    /// and a host polling until it is would poll for ever (it answered `Pending` before
    /// 2026-12-07). Final answers, `Unknown` and `Halted` stay answers.
    pub fn execution_status(
        &self,
        signature: &[u8; 64],
        bps: u16,
    ) -> Result<ExecutionStatus, EngineError> {
        Ok(self.transaction(signature, bps)?.status)
    }

    /// [`Engine::execution_status`] with where the transaction is: its block's slot and the
    /// domain that executed it (none for a transaction refused before its payer's domain was
    /// known).
    pub fn transaction(&self, signature: &[u8; 64], bps: u16) -> Result<TxView, EngineError> {
        let view = self.answer(signature, bps);
        // The failure looked for only where it changes the answer (it takes the lock the
        // stages publish their progress under).
        if view.status == ExecutionStatus::Pending
            && let Some(failure) = self.shared.failure()
        {
            return Err(EngineError::Failed(failure));
        }
        Ok(view)
    }

    /// [`Engine::transaction`]'s answer from the indexes, whether the engine runs or not.
    fn answer(&self, signature: &[u8; 64], bps: u16) -> TxView {
        let indexed = || {
            let live = self
                .shared
                .live
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // The stored index holds the blocks before the live one's, of which the store has
            // since pruned the oldest (`tandem status` and a restarted engine know them no more).
            let oldest = self.shared.oldest_indexed.load(Ordering::Relaxed);
            let kept = |t: &IndexedTx| t.slot >= oldest;
            let stored = self.shared.stored.get(signature).filter(kept);
            status_index::prefer(stored, live.get(signature).filter(kept))
        };
        // Decided: the transaction that ran. (Not one refused with a valid signature: an
        // earlier copy still in flight may be the one that runs — the VED, ahead, refuses a
        // replay in a block after an epoch boundary whose payer moved into it, while the
        // transaction itself waits in the UED's queue; found in review.)
        let decided = |tx: Option<IndexedTx>| tx.is_some_and(|t| t.status.entered_window());
        let mut tx = indexed();
        // Not decided yet in its domain, in a block accepted and not committed: `Pending`
        // (unless the entry is the transaction that ran: its own block counts where it holds
        // the signature twice). An earlier block is searched too: the VED, ahead, decides a
        // forged copy of the signature in a later block (final at once, no domain) before the
        // UED has run the transaction — answered final, with a status that changed when it
        // ran; and the same within one block.
        let in_flight = if decided(tx) {
            None
        } else {
            self.shared.in_flight_slot(signature, tx.map(|t| t.slot))
        };
        if in_flight.is_none() && !decided(tx) {
            // The UED indexes a block's statuses, then lets the block go: between the two
            // looks it may have done both, so the index is read again.
            tx = indexed();
        }
        if let Some(slot) = in_flight {
            let status = if self.halted().is_some() {
                ExecutionStatus::Halted
            } else {
                ExecutionStatus::Pending
            };
            return TxView {
                status,
                slot: Some(slot),
                domain: None,
            };
        }
        let confirmed = |tx: Option<IndexedTx>| {
            let (d, slot) = tx.and_then(|t| t.domain.map(|d| (d, t.slot)))?;
            let agreement = self.shared.agreement();
            let live = agreement.has_local(d, slot).then(|| Confirmation {
                stake: agreement.confirmed_stake(d, slot),
                total: agreement.total_at(slot),
            });
            let stored = self.shared.stored.confirmation(d, slot);
            match (live, stored) {
                (Some(l), Some(s)) => Some(Confirmation {
                    stake: l.stake.max(s.stake),
                    total: l.total.max(s.total),
                }),
                (l, s) => l.or(s),
            }
        };
        crate::fail_points::hold(crate::fail_points::ANSWER_AFTER_THE_INDEX);
        let status = if self.halted().is_some() {
            ExecutionStatus::Halted
        } else {
            // The UED moves the oldest slot the index answers for on, then prunes the cluster
            // view below it: a transaction read from the index before the one and its
            // confirmation after the other lacked it (`Pending` for a transaction confirmed,
            // between `Final` and `Unknown`; found in review, stop 71). Its slot gone from the
            // window, the answer is the index's now.
            let mut confirmation = confirmed(tx);
            let oldest = || self.shared.oldest_indexed.load(Ordering::Relaxed);
            while tx.is_some_and(|t| t.slot < oldest()) {
                tx = indexed();
                confirmation = confirmed(tx);
            }
            status_index::answer(tx, confirmation, bps)
        };
        TxView {
            status,
            slot: tx.map(|t| t.slot),
            domain: tx.and_then(|t| t.domain),
        }
    }

    /// The oldest alert not yet polled.
    pub fn poll_alert(&self) -> Option<Alert> {
        let mut alerts = self
            .shared
            .alerts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        alerts.pop_front()
    }

    /// The stake confirming the local hash of `slot` in `domain` (reported for it, or for a
    /// later slot whose hash chains over it: [`crate::cluster::agreement`]), and the VED's total
    /// stake at `slot` (0 and the total while the local hash or the reports are not there yet).
    pub fn agreement(&self, domain: Domain, slot: u64) -> (u64, u64) {
        let agreement = self.shared.agreement();
        let confirmed = if agreement.has_local(domain, slot) {
            agreement.confirmed_stake(domain, slot)
        } else {
            0 // (a skipped slot has no hash of its own to confirm)
        };
        (confirmed, agreement.total_at(slot))
    }

    /// The metrics of every stage and of the engine.
    pub fn metrics(&self) -> &Arc<EngineMetrics> {
        &self.shared.metrics
    }

    fn stopped(&self) -> EngineError {
        EngineError::Failed(self.shared.failure_of_a_stop())
    }

    /// Waits up to `timeout` for `hash_D` of `slot`: [`Waited::Hash`] once the domain has
    /// executed it; [`Waited::NotFound`] when it never will (a later slot executed without it:
    /// it was skipped; older than the slots the engine remembers; the engine finished);
    /// [`Waited::TimedOut`] when it is not there by then (it may come later, or never be
    /// submitted). A failure of the engine is an error, for every slot, the ones it executed
    /// before it stopped included — as a halted engine answers [`Waited::Halted`] for every
    /// slot in [`Engine::wait_hash_unless_halted`]: a stopped engine gives no more vote points
    /// (before 2026-12-07 it answered the hashes it had; after a restart with the VED ahead,
    /// the VED hash of a slot whose logged block the host had just contradicted). So is a call
    /// from a hook on an executor's thread ([`EngineError::FromAnExecutorHook`]), which the
    /// slot may need.
    pub fn wait_hash(
        &self,
        domain: Domain,
        slot: u64,
        timeout: Duration,
    ) -> Result<Waited, EngineError> {
        self.wait(domain, slot, timeout, false)
    }

    /// As [`Engine::wait_hash`], but [`Waited::Halted`] once the engine has halted — before the
    /// wait, or while it waits (it wakes then): what a validator asking for vote points wants,
    /// since a halted engine votes no more (SPEC §6). The C ABI's hash waits.
    pub fn wait_hash_unless_halted(
        &self,
        domain: Domain,
        slot: u64,
        timeout: Duration,
    ) -> Result<Waited, EngineError> {
        self.wait(domain, slot, timeout, true)
    }

    fn wait(
        &self,
        domain: Domain,
        slot: u64,
        timeout: Duration,
        stop_at_halt: bool,
    ) -> Result<Waited, EngineError> {
        // From a hook on an executor's thread the slot may need that very thread (the VED
        // hands a slot to the UED only after its vote hook returns): refused, not a stall.
        refused_on_an_executor(if stop_at_halt {
            "Engine::wait_hash_unless_halted"
        } else {
            "Engine::wait_hash"
        })?;
        let deadline = Instant::now().checked_add(timeout);
        let mut p = self
            .shared
            .progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            // The flag, not the reason: `raise` takes the progress lock after setting it.
            if stop_at_halt && self.shared.metrics.is_halted() {
                return Ok(Waited::Halted);
            }
            if let Some(failure) = &p.failure {
                return Err(EngineError::Failed(Arc::clone(failure)));
            }
            let list = match domain {
                Domain::Ved => &p.ved,
                Domain::Ued => &p.ued,
            };
            if let Some(&(_, hash)) = list.iter().rev().find(|(s, _)| *s == slot) {
                return Ok(Waited::Hash(hash));
            }
            if let Some(&(oldest, _)) = list.front().filter(|(s, _)| slot < *s) {
                return Ok(Waited::NotFound(NotFound::Forgotten { oldest }));
            }
            if let Some(&(next, _)) = list.iter().find(|(s, _)| *s > slot) {
                return Ok(Waited::NotFound(NotFound::Skipped { next }));
            }
            if p.finished {
                return Ok(Waited::NotFound(NotFound::Finished));
            }
            let now = Instant::now();
            let left = match deadline {
                Some(deadline) if now >= deadline => return Ok(Waited::TimedOut),
                Some(deadline) => deadline - now,
                None => Duration::from_secs(3600), // "forever": wait an hour at a time
            };
            p.hash_waiters += 1;
            p = self
                .shared
                .changed
                .wait_timeout(p, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            p.hash_waiters -= 1;
        }
    }

    /// How many callers are blocked in [`Engine::wait_hash`] or
    /// [`Engine::wait_hash_unless_halted`] now: a client's threads waiting for hashes the
    /// engine has not published (a diagnostic for an embedding client, and the handshake of
    /// tests that must act while a caller waits).
    pub fn hash_waiters(&self) -> usize {
        self.shared
            .progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .hash_waiters
    }

    /// How many [`Engine::account`] reads wait in the UED's queue now, not yet taken: the reads
    /// the block in hand holds back (a diagnostic for an embedding client, and the handshake of
    /// tests that must act while a read waits).
    pub fn queued_account_reads(&self) -> usize {
        self.reads.len()
    }

    /// Closes the queues, lets every stage finish the blocks it holds, and returns the final
    /// state; the error of a stage that failed.
    pub fn finish(mut self) -> Result<EngineSummary, EngineError> {
        self.ved_sigs = None;
        self.ued_sigs = None;
        // Every thread is joined before a panic goes on: none is left running on the store.
        let mut panicked = None;
        for thread in self.threads.drain(..) {
            if let Err(panic) = thread.join() {
                panicked.get_or_insert(panic);
            }
        }
        let ued = self.ued_thread.take().expect("joined once").join();
        let runtime = match (ued, panicked) {
            (Ok(runtime), None) => runtime,
            (Err(panic), _) | (Ok(_), Some(panic)) => std::panic::resume_unwind(panic),
        };
        {
            let mut p = self
                .shared
                .progress
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            p.finished = true;
        }
        self.shared.changed.notify_all();
        if let Some(failure) = self.shared.failure() {
            return Err(EngineError::Failed(failure));
        }
        let halt = self.shared.agreement().halt().cloned();
        let halted = self.halted();
        Ok(EngineSummary {
            slot: runtime.slot(),
            hashes: PerDomain::from_fn(|d| runtime.hash(d)),
            runtime,
            halt,
            halted,
        })
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Unfinished: close the queues and wait, so the store is left at a committed slot.
        self.ved_sigs = None;
        self.ued_sigs = None;
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        if let Some(thread) = self.ued_thread.take() {
            let _ = thread.join();
        }
    }
}

thread_local! {
    /// The executor whose thread this is (`"ved"`, `"ued"`), where hooks run: [`Engine::account`]
    /// is answered on the UED's, and [`Engine::submit`] and [`Engine::schedule_slash`] may wait
    /// for either (a full queue only they drain; the submit lock a blocked submit holds), so
    /// none of them can be asked there.
    static EXECUTOR_THREAD: std::cell::Cell<Option<&'static str>> =
        const { std::cell::Cell::new(None) };
}

/// Refuses `call` on an executor's thread (from a hook it runs), where it could wait for that
/// very thread.
fn refused_on_an_executor(call: &'static str) -> Result<(), EngineError> {
    match EXECUTOR_THREAD.get() {
        Some(stage) => Err(EngineError::FromAnExecutorHook { call, stage }),
        None => Ok(()),
    }
}

/// An engine on the CPU backend over `genesis`, its store in `dir`.
#[cfg(test)]
fn cpu_engine(genesis: &crate::genesis::Genesis, dir: &std::path::Path) -> Engine {
    let config = EngineConfig {
        backend: crate::runtime::Backend::Cpu,
        ..EngineConfig::default()
    };
    Engine::open(genesis, dir, config, EngineHooks::default()).expect("engine")
}
