//! The UED stage: executes the UED part of each block the VED handed over (a boundary block
//! whole), with check 1's answers from the UED's sigverify stage, commits the slot, indexes its
//! statuses, feeds the cluster view and writes its confirmations; between blocks it answers
//! account reads from its committed state. It is the only stage that touches the store.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use crossbeam_channel::{Receiver, Sender};

use super::EXECUTOR_THREAD;
use super::config::OutcomeHook;
use super::jobs::{AccountRead, BoundaryDone, UedJob, UedSigs};
use super::live_index::index_outcome;
use super::shared::Shared;
use crate::account::Domain;
use crate::pipeline::metrics::{Activity, StageMetrics};
use crate::runtime::executor::EpochHandoff;
use crate::runtime::ingest::VerifiedBlock;
use crate::runtime::segment_log::PruneSchedule;
use crate::runtime::status_index::Confirmation;
use crate::runtime::ved_log::{SEGMENT_SLOTS, VedLog};
use crate::runtime::{BlockOutcome, Runtime, RuntimeError, ingest, status_index, vote_log};

/// The UED stage's queues.
pub(super) struct UedLinks {
    /// The blocks, from the VED.
    pub(super) input: Receiver<UedJob>,
    /// Check 1's answers for the UED's transactions, in block order.
    pub(super) sigs: Receiver<UedSigs>,
    /// Account reads ([`Engine::account`](super::Engine::account)).
    pub(super) reads: Receiver<AccountRead>,
    /// The epoch handoffs to the VED.
    pub(super) handoffs: Sender<EpochHandoff>,
    /// Held while the stage runs and dropped as it stops (unwinding too): a reader waiting for
    /// an answer learns that none is coming. (A read queued as the stage stops is never taken:
    /// a crossbeam channel keeps its messages, and their reply senders, until both ends go.)
    pub(super) alive: Sender<()>,
}

/// The UED stage: the UED part of each block, after the VED's, and the commit of the slot.
pub(super) fn ued_loop(
    shared: &Shared,
    metrics: &StageMetrics,
    mut runtime: Runtime,
    links: UedLinks,
    mut on_outcome: Option<OutcomeHook>,
) -> Runtime {
    EXECUTOR_THREAD.set(Some("ued"));
    let UedLinks {
        input,
        sigs,
        reads,
        handoffs,
        alive: _alive,
    } = links;
    // Between blocks, the UED answers account reads from its committed state.
    let next_job = |runtime: &Runtime| {
        let mut reads = Some(&reads);
        let never = crossbeam_channel::never();
        loop {
            crossbeam_channel::select! {
                recv(input) -> job => return job,
                recv(reads.unwrap_or(&never)) -> read => match read {
                    Ok(AccountRead { pubkey, reply }) => {
                        let _ = reply.send((runtime.slot(), runtime.account(&pubkey)));
                    }
                    Err(_) => reads = None, // the engine is closing
                },
            }
        }
    };
    let mut ved_log_pruning = PruneSchedule::default();
    let mut committed = false;
    while let Ok(job) = metrics.idle(|| next_job(&runtime)) {
        metrics.set_queue_depth(input.len() as u64);
        let ingested = match &job {
            UedJob::Slot { ingested, .. } | UedJob::Boundary { ingested, .. } => {
                Arc::clone(ingested)
            }
        };
        let boundary = matches!(job, UedJob::Boundary { .. });
        let block = ingested.block();
        let slot = block.header.slot;
        let Ok(ued_sigs) = metrics.idle(|| sigs.recv()) else {
            break;
        };
        assert_eq!(ued_sigs.slot, slot, "the sigverify stage keeps block order");
        let result = metrics.busy(|| -> Result<BlockOutcome, RuntimeError> {
            // The slashes the VED took with the block (or logged with it before a restart).
            let slashes = match &job {
                UedJob::Slot { ved, .. } => &ved.slashes,
                UedJob::Boundary { .. } => &ingested.accepted().slashes,
            };
            for &(vote_account, bps) in slashes {
                // Checked when scheduled against the UED's last committed slot; the account may
                // have stopped being a vote account in the blocks before this one (drained by
                // its own fees): then the slash goes, as `Runtime::schedule_slash` before this
                // block refuses it, and the engine goes on, as the runtime would.
                match runtime.schedule_slash(vote_account, bps) {
                    Err(RuntimeError::InvalidSlash { reason, .. }) => {
                        log::warn!(
                            "slot {slot}: the slash of {vote_account} ({bps} bps) is dropped: \
                             {reason}"
                        );
                    }
                    other => other?,
                }
            }
            match job {
                UedJob::Slot { ved, .. } if runtime.epoch_of(slot) != runtime.epoch() => {
                    // The VED crossed this boundary on its own: the block runs whole here,
                    // and the VED gets what it needs for the next one.
                    let outcome = runtime.execute_crossed(block, *ved, |i| ued_sigs.verified[i])?;
                    let _ = handoffs.send(runtime.epoch_handoff()); // the VED may have stopped
                    Ok(outcome)
                }
                UedJob::Slot { ved, .. } => {
                    let (transactions, payers) = ingest::parse_block(block)?;
                    runtime.execute_ued(block, &transactions, &payers, *ved, |i| {
                        ued_sigs.verified[i]
                    })
                }
                UedJob::Boundary {
                    verified, reply, ..
                } => {
                    let valid = verified
                        .iter()
                        .zip(&ued_sigs.verified)
                        .map(|(v, u)| v.or(*u).expect("each transaction is verified once"))
                        .collect();
                    let verified = VerifiedBlock::from_parts(block, valid)?;
                    let outcome = runtime.execute_verified(&verified);
                    if let Ok(o) = &outcome {
                        // Before the VED's vote point, which the answer lets it publish.
                        index_outcome(shared, o);
                    }
                    let answer = match &outcome {
                        Ok(o) => Ok(BoundaryDone {
                            executor: runtime.ved_executor(),
                            ved_hash: o.ved_hash,
                            votes: o.votes.clone(),
                        }),
                        Err(e) => Err(e.to_string()),
                    };
                    let _ = reply.send(answer);
                    outcome
                }
            }
        });
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(e) => {
                shared.fail(e);
                break;
            }
        };
        // What follows the slot's execution — indexing, the cluster view, its files — is the
        // UED's work too (it holds the next block back).
        let _bookkeeping = metrics.time(Activity::Busy);
        // The VED counted its own transactions, except in a block the UED executed whole.
        let counted = if boundary {
            &Domain::ALL[..]
        } else {
            &[Domain::Ued][..]
        };
        for &domain in counted {
            let executed = outcome.transactions.iter();
            let executed = executed.filter(|t| t.domain == Some(domain)).count();
            shared.metrics.add_executed(domain, executed as u64);
        }
        // The statuses first: a waiter woken by the hash finds them (a block the UED executed
        // whole has them already).
        if !boundary {
            index_outcome(shared, &outcome);
        }
        shared
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&slot);
        crate::fail_points::hold(crate::fail_points::UED_BEFORE_ITS_HASH_JOINS_THE_CLUSTER_VIEW);
        shared.agree(Some((Domain::Ued, slot, outcome.ued_hash)), &[], None);
        shared.metrics.publish_ued_slot(slot);
        shared.publish(Domain::Ued, slot, outcome.ued_hash);
        // The oldest slot the status index answers for: its files now (not those read at
        // open, which would hold the cluster view at the slot the engine opened at).
        let oldest_indexed = runtime.oldest_indexed_slot();
        shared
            .oldest_indexed
            .store(oldest_indexed.unwrap_or(0), Ordering::Relaxed);
        if let Err(e) = store_confirmations(shared, &runtime) {
            shared.fail(e);
            break;
        }
        committed = true;
        // The VED's log segments the store has passed are no longer needed: looked for once a
        // segment's worth of slots, not at every commit.
        if ved_log_pruning.due(slot, SEGMENT_SLOTS)
            && let Err(e) = VedLog::prune(runtime.store().dir(), slot)
        {
            shared.fail(e);
            break;
        }
        if let Some(on_outcome) = &mut on_outcome {
            on_outcome(&outcome);
        }
        metrics.add_items(1);
    }
    // Once more as the stage ends, when the VED has stopped (it holds the other end of
    // `input`): after a boundary the UED executed whole the VED counts its votes after the
    // UED's answer, and the commit's write may have come first — the last slot's confirmations
    // were lost with the vote log (found in review, stop 70).
    if committed
        && shared.failure().is_none()
        && let Err(e) = store_confirmations(shared, &runtime)
    {
        shared.fail(e);
    }
    // A stopped engine keeps no segment its store has passed: the schedule looks once a
    // segment's worth of slots from the first commit, and the VED's segments, restarted with
    // it ahead, need not line up with it (one was left before 2026-12-07).
    if shared.failure().is_none()
        && let Err(e) = VedLog::prune(runtime.store().dir(), runtime.slot())
    {
        shared.fail(e);
    }
    runtime
}

/// Writes `agreement.idx` for the slot the UED committed last: the cluster view's
/// confirmations of the slots the status index answers for, with those stored before the
/// engine opened.
fn store_confirmations(shared: &Shared, runtime: &Runtime) -> Result<(), RuntimeError> {
    let slot = runtime.slot();
    let oldest_indexed = runtime.oldest_indexed_slot();
    let confirmations = {
        let mut agreement = shared.agreement();
        let slots_per_epoch = runtime.cluster().slots_per_epoch;
        agreement.prune(vote_log::kept_from(slot, slots_per_epoch, oldest_indexed));
        // Only the slots the status index answers for: the agreement keeps up to an epoch.
        agreement.confirmations_from(oldest_indexed.unwrap_or(0))
    };
    // Those of the slots the status index answers for, with the ones stored before the engine
    // opened (a store written before the vote log existed has only these): a restart forgets
    // no confirmation.
    let indexed = |slot: u64| oldest_indexed.is_none_or(|oldest| slot >= oldest);
    let mut merged: BTreeMap<(Domain, u64), Confirmation> = shared
        .stored
        .confirmations()
        .filter(|(_, s, _)| indexed(*s))
        .map(|(d, s, c)| ((d, s), c))
        .collect();
    for (d, s, stake, total) in confirmations {
        if indexed(s) {
            let c = merged.entry((d, s)).or_default();
            (c.stake, c.total) = (c.stake.max(stake), c.total.max(total));
        }
    }
    let confirmations: Vec<_> = merged.into_iter().map(|((d, s), c)| (d, s, c)).collect();
    status_index::write_confirmations(&shared.dir, &confirmations)
}
