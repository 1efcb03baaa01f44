//! The VED stage: executes each block's VED part, publishes its hash — the vote point — and
//! logs the slot (the VED's durable commit point), then hands the slot to the UED. It crosses
//! epoch boundaries on its own when it can, and waits for the UED only where SPEC §5 needs the
//! UED's state (the one backpressure point, counted in the metrics).
//!
//! Nothing on the vote's path waits long for user work: what can grow (the duplicate-signature
//! window) makes its room after the vote point, the blocks kept for the next boundary are gone
//! over after it too, and the live index the vote point enters its statuses into is held by the
//! UED a part at a time ([`super::live_index`]). Nor does it wait for ingest's parse of the user
//! transactions: the VED executes a block as soon as its votes are verified, ahead of the
//! verdict, and only the vote point waits for it ([`execute_ahead`]); a block the verdict
//! refuses is undone, as if it had never come.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};

use super::config::VoteHook;
use super::error::Failure;
use super::ingest::Ingested;
use super::jobs::{UedJob, VedJob};
use super::shared::Shared;
use super::{EXECUTOR_THREAD, Vote};
use crate::account::Domain;
use crate::cluster::{Alert, VoteReport};
use crate::fail_points;
use crate::pipeline::metrics::{StageMetrics, VotePathTimes};
use crate::runtime::RuntimeError;
use crate::runtime::executor::{EpochHandoff, VedExecutor, VedSlot};
use crate::runtime::ved_log::{LoggedSlot, VedLog};

/// Check 1's answers the sigverify stage gave, as guessed VED, for the transactions `done`
/// leaves to the UED.
fn guessed_ued(done: &VedSlot, verified: &[Option<bool>]) -> Vec<(usize, bool)> {
    done.ued_transactions
        .iter()
        .filter_map(|&i| verified[i].map(|ok| (i, ok)))
        .collect()
}

/// What the VED stage starts from: the executor, the slots logged before a restart that the
/// store has not committed yet (in order), and the log it appends to.
pub(super) struct VedStart {
    pub(super) executor: VedExecutor,
    pub(super) logged: VecDeque<LoggedSlot>,
    pub(super) log: VedLog,
    /// The UED's epoch handoffs ([`EpochHandoff`]), one per boundary the VED crossed alone.
    pub(super) handoffs: Receiver<EpochHandoff>,
    /// How long it waits at a boundary before the engine halts.
    pub(super) patience: Duration,
    /// The most blocks it keeps for the accounts moving into the VED while it waits for the
    /// handoff that names them ([`Retained`]).
    pub(super) retain_limit: usize,
}

/// The blocks the VED executed that it has not gone over yet for the next boundary
/// ([`VedExecutor::go_over`]: the window entries of the accounts moving into the VED at the end
/// of its epoch, and the UED's transactions that may change a UED vote account): each block
/// after its vote point, and the blocks it executed in an epoch it crossed into alone before the
/// UED's handoff of the epoch came, once it has come — so that it can cross the next boundary
/// alone. Those are the boundary's block and blocks the UED has not executed yet, held
/// by its queue anyway. Past the limit it keeps none until the next boundary (the VED then does
/// not cross it alone where an account moves in or one of its accounts may leave).
struct Retained {
    blocks: Vec<(Arc<Ingested>, VecDeque<[u8; 32]>)>,
    limit: usize,
    gave_up: bool,
}

impl Retained {
    /// Keeps `ingested`, which the VED has executed; `recent` are the blockhashes its check 3
    /// accepted ([`VedExecutor::recent_blockhashes`] before it executed the block).
    pub(super) fn keep(&mut self, ingested: &Arc<Ingested>, recent: VecDeque<[u8; 32]>) {
        if self.gave_up {
            return;
        }
        if self.blocks.len() >= self.limit {
            self.blocks.clear();
            self.gave_up = true;
            return;
        }
        self.blocks.push((Arc::clone(ingested), recent));
    }

    /// Goes over the kept blocks, in order, once `ved` has the handoff of its epoch.
    fn go_over(&mut self, ved: &mut VedExecutor) -> Result<(), RuntimeError> {
        if !ved.knows_incoming() {
            return Ok(());
        }
        for (ingested, recent) in self.blocks.drain(..) {
            let payers = &ingested.accepted().payers;
            ved.go_over(ingested.block(), payers, &recent)?;
        }
        Ok(())
    }

    /// Starts again at a boundary (or with a new executor).
    fn reset(&mut self) {
        self.blocks.clear();
        self.gave_up = false;
    }
}

/// Gives `ved` the UED's `handoff` at a boundary, then goes over the blocks it kept for it
/// (late: the UED lagged, and this is on the vote's path).
fn take_handoff(
    ved: &mut VedExecutor,
    handoff: EpochHandoff,
    retained: &mut Retained,
) -> Result<(), RuntimeError> {
    ved.receive_handoff(handoff)?;
    retained.go_over(ved)
}

/// How often the VED waiting at a boundary looks for a failure of the engine.
const BOUNDARY_WAIT_SLICE: Duration = Duration::from_millis(10);

/// Waits for the UED's answer at the boundary of `slot`; past `patience` the engine halts
/// ([`Alert::UedLagging`]) and goes on waiting. `None` when the UED stopped or the engine
/// failed.
pub(super) fn wait_for_ued<T>(
    shared: &Shared,
    metrics: &StageMetrics,
    answer: &Receiver<T>,
    patience: Duration,
    slot: u64,
) -> Option<T> {
    let waited = Instant::now();
    shared.metrics.begin_boundary_wait();
    shared.set_ved_waits_for_ued(true);
    let mut lagging_raised = false;
    // In slices, a failure looked for between them: a UED that failed may never answer nor
    // let the answer's channel close — a boundary's job, which holds the reply's sender, stays
    // in the UED's queue, kept open by the VED's own sender — and the VED waited for ever
    // (a resumed run whose UED ran out of disk before a boundary never exited).
    let answer = metrics.blocked(|| {
        loop {
            match answer.recv_timeout(BOUNDARY_WAIT_SLICE) {
                Ok(answer) => break Some(answer),
                Err(RecvTimeoutError::Disconnected) => break None,
                Err(RecvTimeoutError::Timeout) if shared.failure().is_some() => break None,
                Err(RecvTimeoutError::Timeout) => {
                    // Once: an engine halted already (by this, at an earlier boundary, or by a
                    // divergence) stays halted, and says so once.
                    if !lagging_raised && waited.elapsed() >= patience {
                        lagging_raised = true;
                        if !shared.metrics.is_halted() {
                            shared.raise(Alert::UedLagging {
                                boundary_slot: slot,
                                ued_slot: shared.metrics.snapshot().ued_slot,
                                waited: waited.elapsed(),
                            });
                        }
                    }
                }
            }
        }
    });
    // (Also when the UED stopped: the wait is over.)
    shared.set_ved_waits_for_ued(false);
    shared.metrics.record_boundary_wait(waited.elapsed());
    let answer = answer?;
    log::debug!(
        "slot {slot}: the VED waited {:.1} ms at the epoch boundary for the UED",
        waited.elapsed().as_secs_f64() * 1e3
    );
    Some(answer)
}

/// A block's VED part executed ahead of ingest's verdict, which accepted it: the slot, and the
/// blockhashes check 3 accepted ([`Retained::keep`]).
struct Ahead {
    recent: VecDeque<[u8; 32]>,
    done: VedSlot,
    /// When its execution ended: its hash known, before the verdict came.
    executed_at: Instant,
}

/// Executes the VED part of `ingested` before ingest's verdict on it, if that is still to
/// come: ingest parses a loaded block's every transaction after the votes' signatures are
/// verified ([`super::ingest`]), so that the parse takes no PU from them, and the VED executes
/// meanwhile. The vote waits for the verdict all the same: one that refuses the block undoes
/// what the VED did ([`VedExecutor::undo_last_block`]), as if it had never come. `None` when
/// the verdict came first, at a boundary's block, where a transaction's first account key
/// cannot be read (the verdict will refuse the block), and when it refused the block.
///
/// The fee payers are each transaction's first account key as ingest's guess read it
/// ([`Ingested::first_keys`]): the verdict's own for a block it accepts, in which every
/// transaction parses.
fn execute_ahead(
    shared: &Shared,
    ved: &mut VedExecutor,
    ingested: &Ingested,
    verified: &[Option<bool>],
    metrics: &StageMetrics,
) -> Result<Option<Ahead>, RuntimeError> {
    // Read with the guess (a block's VED parts are all guessed before its votes are verified).
    let (Some(Some(payers)), Some((block, partial))) =
        (ingested.first_keys.get(), ingested.ved_view())
    else {
        return Ok(None);
    };
    if ingested.verdict.get().is_some() || ved.crosses_boundary(block) {
        return Ok(None);
    }
    // A view of the VED's transactions alone (the rest of the block not copied yet) serves
    // while the guess holds: the executor then reads only the transactions guessed VED. After
    // a boundary brought new VED payers it would read others, and waits for the verdict.
    if partial && ingested.guess_generation != ved.ved_keys_generation() {
        return Ok(None);
    }
    let recent = ved.recent_blockhashes().clone();
    let guess = ingested.payer_guess();
    let executed = metrics.busy(|| ved.execute_guessed(block, payers, verified, guess));
    let executed_at = Instant::now();
    #[cfg(test)]
    if partial && executed.is_ok() {
        shared
            .ved_ahead_on_a_view
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    #[cfg(test)]
    ingested
        .went_ahead
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let Some(accepted) = metrics.idle(|| ingested.verdict.wait()) else {
        // Refused: whatever the executor did goes. A transaction of the VED's that does not
        // parse stopped it before it changed anything.
        match executed {
            Ok(_) => {
                metrics.busy(|| ved.undo_last_block());
                shared
                    .ved_undone
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Err(RuntimeError::MalformedTransaction { .. }) => {}
            Err(e) => return Err(e),
        }
        return Ok(None);
    };
    let mut done = executed?;
    debug_assert_eq!(payers[..], accepted.payers[..], "the verdict's payers");
    ved.schedule_slashes_of_executed(&mut done, &accepted.slashes);
    Ok(Some(Ahead {
        recent,
        done,
        executed_at,
    }))
}

/// The VED stage: executes each block's VED part, publishes its hash (the vote point) and logs
/// it (the VED's durable commit point). A block it logged before a restart is not executed
/// again: its record stands for it. At an epoch boundary it crosses on its own when it can
/// ([`crate::runtime::executor`]); otherwise the UED executes the block whole.
pub(super) fn ved_loop(
    shared: &Shared,
    metrics: &StageMetrics,
    start: VedStart,
    input: Receiver<VedJob>,
    output: Sender<UedJob>,
    mut on_vote: Option<VoteHook>,
) {
    // The UED's queue as the VED leaves it, each time it hands a slot on: a UED stuck in one
    // slot shows its queue filling (its own count comes only as it takes the next).
    let ued_metrics = shared.metrics.stage("ued");
    let ued_depth = |output: &Sender<UedJob>| {
        if let Some(m) = &ued_metrics {
            m.set_queue_depth(output.len() as u64);
        }
        true
    };
    EXECUTOR_THREAD.set(Some("ved"));
    let VedStart {
        executor: mut ved,
        mut logged,
        mut log,
        handoffs,
        patience,
        retain_limit,
    } = start;
    let mut retained = Retained {
        blocks: Vec::new(),
        limit: retain_limit,
        gave_up: false,
    };
    while let Ok(VedJob {
        ingested,
        verified,
        verified_at,
    }) = metrics.idle(|| input.recv())
    {
        metrics.set_queue_depth(input.len() as u64);
        // Ahead of ingest's verdict where it can, else after it.
        let ahead = if logged.is_empty() {
            match execute_ahead(shared, &mut ved, &ingested, &verified, metrics) {
                Ok(ahead) => ahead,
                Err(e) => return shared.fail(e),
            }
        } else {
            None
        };
        let Some(accepted) = metrics.idle(|| ingested.verdict.wait()) else {
            continue; // refused at ingest: nothing happened (or was undone)
        };
        let payers = &accepted.payers;
        let block = ingested.block();
        let header = &block.header;
        let slot = header.slot;
        let record = match logged.front() {
            // The VED logged a later slot next: this chain is not the one it executed.
            Some(record) if slot < record.ved.slot => {
                return shared.fail(Failure::NotTheLoggedChain(format!(
                    "the block of slot {slot} comes before slot {}, the next block the VED \
                     executed and logged before the restart: not the chain it executed",
                    record.ved.slot
                )));
            }
            // Executed and logged before the restart: the record stands for it.
            Some(record) if record.ved.slot <= slot => {
                let record = logged.pop_front().expect("a front record");
                let differs = if record.ved.slot == slot {
                    record.describes(block).err()
                } else {
                    Some(format!("slot {slot}"))
                };
                if let Some(difference) = differs {
                    return shared.fail(Failure::NotTheLoggedChain(format!(
                        "the block of slot {slot} (blockhash {}) is not the block the VED \
                         executed and logged as slot {} before the restart: {difference}",
                        bs58::encode(header.blockhash).into_string(),
                        record.ved.slot
                    )));
                }
                Some(record)
            }
            _ => None,
        };
        let mut done = match record {
            Some(record) => record.ved,
            None => {
                let (recent, result, executed_at) = match ahead {
                    Some(Ahead {
                        recent,
                        done,
                        executed_at,
                    }) => (recent, Ok(done), executed_at),
                    None => {
                        ved.schedule_slashes(&accepted.slashes);
                        if ved.crosses_boundary(block) {
                            if ved.awaits_handoff().is_some() {
                                // Here unless the UED has not entered the VED's epoch yet (it lags by
                                // a whole epoch): then SPEC §5's wait.
                                let handoff = handoffs.try_recv().ok().or_else(|| {
                                    wait_for_ued(shared, metrics, &handoffs, patience, slot)
                                });
                                let Some(handoff) = handoff else {
                                    return; // the UED stopped
                                };
                                if let Err(e) =
                                    metrics.busy(|| take_handoff(&mut ved, handoff, &mut retained))
                                {
                                    return shared.fail(e);
                                }
                            }
                            retained.reset();
                            match metrics.busy(|| ved.enter_epoch(slot)) {
                                Ok(true) => {
                                    shared.metrics.record_boundary_crossed_alone();
                                    log::debug!(
                                        "slot {slot}: the VED crossed the epoch boundary on its own, \
                                         the UED {} slots behind",
                                        shared.metrics.ued_lag_slots()
                                    );
                                    shared.publish_ved_keys(&ved);
                                }
                                Ok(false) => {
                                    // The boundary needs the UED's state (`enter_epoch` says when):
                                    // the UED executes the block whole on the joined state, and the VED
                                    // starts again from it.
                                    let (reply, answer) = bounded(1);
                                    let job = UedJob::Boundary {
                                        ingested: Arc::clone(&ingested),
                                        verified,
                                        reply,
                                    };
                                    if metrics.blocked(|| output.send(job)).is_err()
                                        || !ued_depth(&output)
                                    {
                                        return;
                                    }
                                    // The UED failed (it says why) or stopped.
                                    let Some(Ok(done)) =
                                        wait_for_ued(shared, metrics, &answer, patience, slot)
                                    else {
                                        return;
                                    };
                                    ved = done.executor.keeping_kernels_of(&ved);
                                    retained.reset();
                                    shared.publish_ved_keys(&ved);
                                    fail_points::hold(fail_points::VED_VOTE_AFTER_A_WHOLE_BOUNDARY);
                                    let point = VotePoint {
                                        slot,
                                        ved_hash: done.ved_hash,
                                        votes: &done.votes,
                                        ved_stake: ved.ved_stake(),
                                        path: None,
                                    };
                                    vote(shared, &ingested, point, &mut on_vote, || 0, true);
                                    metrics.add_items(1);
                                    continue;
                                }
                                Err(e) => return shared.fail(e),
                            }
                        }
                        let recent = ved.recent_blockhashes().clone();
                        let guess = ingested.payer_guess();
                        let result =
                            metrics.busy(|| ved.execute_guessed(block, payers, &verified, guess));
                        (recent, result, Instant::now())
                    }
                };
                let mut done = match result {
                    Ok(done) => done,
                    Err(e) => return shared.fail(e),
                };
                let since_submit = |at: Instant| at.saturating_duration_since(ingested.submitted);
                let path = VotePathTimes {
                    votes_verified: since_submit(verified_at),
                    verdict: since_submit(accepted.decided),
                    ved_executed: since_submit(executed_at),
                };
                // The UED needs check 1's answers for transactions guessed VED that are its
                // own.
                done.verified = guessed_ued(&done, &verified);
                // The vote point is now; the log and the hand-over to the UED follow.
                let point = VotePoint::of(&done, ved.ved_stake(), Some(path));
                let index = || shared.index_ved(block, &done);
                vote(shared, &ingested, point, &mut on_vote, index, true);
                // After the vote point: the UED's handoff, once it has entered the VED's epoch
                // (the accounts moving into the VED at its end are known then), and the blocks
                // gone over for the next boundary (off the vote's path): those accounts' window
                // entries, which the record keeps, and the UED's vote-account changes.
                retained.keep(&ingested, recent);
                let entered = metrics.busy(|| {
                    if ved.awaits_handoff().is_some()
                        && let Ok(handoff) = handoffs.try_recv()
                    {
                        ved.receive_handoff(handoff)?;
                    }
                    retained.go_over(&mut ved)
                });
                if let Err(e) = entered {
                    return shared.fail(e);
                }
                // The window grows here, if it must, not inside the next block's time-to-vote.
                metrics.busy(|| {
                    ved.settle_last_block();
                    ved.make_room_for_the_next_block();
                });
                ved.finish_going_over(&mut done);
                let record = LoggedSlot::of(header, done, ved.ved_stake());
                if let Err(e) = metrics.busy(|| log.append(&record)) {
                    return shared.fail(e);
                }
                let done = record.ved;
                shared
                    .metrics
                    .add_executed(Domain::Ved, ved_executed(&done));
                metrics.add_items(1);
                let job = UedJob::Slot {
                    ingested: Arc::clone(&ingested),
                    ved: Box::new(done),
                };
                if metrics.blocked(|| output.send(job)).is_err() || !ued_depth(&output) {
                    return;
                }
                continue;
            }
        };
        // This run's guess, not the logged run's: an account that moved into the VED after the
        // block (the log crossed the boundary before the restart) was guessed VED now, so the
        // UED's sigverify left its transactions in this block to the VED's.
        done.verified = guessed_ued(&done, &verified);
        let point = VotePoint::of(&done, ved.ved_stake(), None);
        let index = || shared.index_ved(ingested.block(), &done);
        vote(shared, &ingested, point, &mut on_vote, index, false);
        // Executed before the restart, and counted by that process: this one's count of the
        // statuses it reports (`tandem run`'s table) counts them too.
        shared
            .metrics
            .add_executed(Domain::Ved, ved_executed(&done));
        let job = UedJob::Slot {
            ingested: Arc::clone(&ingested),
            ved: Box::new(done),
        };
        metrics.add_items(1);
        if metrics.blocked(|| output.send(job)).is_err() || !ued_depth(&output) {
            return;
        }
    }
}

/// A slot's VED hash and what the votes it executed report, with the VED's stake then, and
/// the steps of its path where the VED executed the block.
struct VotePoint<'a> {
    slot: u64,
    ved_hash: [u8; 32],
    votes: &'a [VoteReport],
    ved_stake: u64,
    path: Option<VotePathTimes>,
}

impl<'a> VotePoint<'a> {
    /// The vote point of the slot `done`, the VED's stake `ved_stake` then, and the steps of
    /// its path where the VED executed it now.
    fn of(done: &'a VedSlot, ved_stake: u64, path: Option<VotePathTimes>) -> VotePoint<'a> {
        VotePoint {
            slot: done.slot,
            ved_hash: done.ved_hash,
            votes: &done.votes,
            ved_stake,
            path,
        }
    }
}

/// The vote point of `slot`: the cluster view fed with its hash and its votes' reports
/// ([`Shared::agree`]), its time-to-vote and the vote hook (unless the engine is halted), then
/// `index` (the statuses a waiter woken by the hash must find), then the hash published to
/// waiters; after it, the oldest blocks' signatures `index` gives let go of the live index
/// ([`Shared::let_oldest_go`]). Nothing the vote waits for takes a lock the UED's threads hold
/// for long.
/// `executed` is false for a slot the VED executed before a restart (its log's record stands
/// for it): its vote point is handed on, but it is no time-to-vote.
fn vote(
    shared: &Shared,
    ingested: &Ingested,
    point: VotePoint<'_>,
    on_vote: &mut Option<VoteHook>,
    index: impl FnOnce() -> usize,
    executed: bool,
) {
    let VotePoint {
        slot,
        ved_hash,
        votes,
        ved_stake,
        path,
    } = point;
    shared.agree(Some((Domain::Ved, slot, ved_hash)), votes, Some(ved_stake));
    let time_to_vote = ingested.submitted.elapsed();
    // A halted engine executes on (its store stays inspectable) but votes no more. The alerts
    // are held back from the check to the vote hook's return: a halt raised between the two
    // (the UED's) reaches the alert hook after this vote, never before it (found in review,
    // stop 71); the engine is halted for the next vote point.
    let held = on_vote.is_some().then(|| shared.on_alert.hold());
    if !shared.metrics.is_halted() {
        fail_points::hold(fail_points::VED_VOTE_AFTER_THE_HALT_CHECK);
        if executed {
            shared.metrics.record_time_to_vote(time_to_vote);
            if let Some(path) = path {
                shared.metrics.record_vote_path(path);
            }
        }
        if let Some(on_vote) = on_vote {
            on_vote(Vote {
                slot,
                ved_hash,
                time_to_vote,
                path,
            });
        }
    }
    drop(held); // delivers an alert raised meanwhile
    let leaving = index();
    shared.metrics.publish_ved_slot(slot);
    shared.publish(Domain::Ved, slot, ved_hash);
    if leaving > 0 {
        shared.let_oldest_go(leaving);
    }
}

/// The transactions of a slot the VED executed (its payer in the VED).
fn ved_executed(done: &VedSlot) -> u64 {
    let domains = done.admission.payer_domain.iter();
    domains.filter(|d| **d == Some(Domain::Ved)).count() as u64
}
