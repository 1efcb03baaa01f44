//! What the stages share: the [`Shared`] state behind every stage thread and the [`super::Engine`]
//! handle — the hashes published for waiters ([`Progress`]), the failure that stopped the
//! engine, the cluster view's agreement and the halts it raises, the keys the VED publishes for
//! the stages before it ([`VedKeys`]), the blocks in flight.
//!
//! A stage never waits here for another stage's work: every lock is held for a bounded, small
//! piece of work (the live index's, [`super::live_index`], by parts).

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::alerts::AlertDelivery;
use super::error::Failure;
use super::ingest::Ingested;
use super::live_index::LiveIndex;
use crate::account::Domain;
use crate::cluster::{Agreement, Alert, VoteReport};
use crate::fail_points;
use crate::pipeline::guess::VedPayers;
use crate::pipeline::metrics::EngineMetrics;
use crate::runtime::executor::VedExecutor;
use crate::runtime::status_index::StatusIndex;
use crate::runtime::{Runtime, status_index};
use crate::tx::Transaction;

/// What the stages publish for waiters: the newest slot of each domain and the hashes of the
/// recent ones.
#[derive(Default)]
pub(super) struct Progress {
    pub(super) ved: VecDeque<(u64, [u8; 32])>,
    pub(super) ued: VecDeque<(u64, [u8; 32])>,
    pub(super) failure: Option<Arc<Failure>>,
    pub(super) finished: bool,
    /// The VED waits for the UED (at an epoch boundary): no user work yields to it then.
    pub(super) ved_waits_for_ued: bool,
    /// Callers blocked in a hash wait now ([`Engine::hash_waiters`](super::Engine::hash_waiters)).
    pub(super) hash_waiters: usize,
}

impl Progress {
    /// What waiters can know when the engine opens: both hashes of the slot it resumed at
    /// (the store's committed slot; the VED republishes the slots it logged after it as they
    /// are submitted again).
    pub(super) fn resumed_at(runtime: &Runtime) -> Progress {
        let slot = runtime.slot();
        Progress {
            ved: VecDeque::from([(slot, runtime.hash(Domain::Ved))]),
            ued: VecDeque::from([(slot, runtime.hash(Domain::Ued))]),
            failure: None,
            finished: false,
            ved_waits_for_ued: false,
            hash_waiters: 0,
        }
    }
}

/// How many slots' hashes [`Engine::wait_hash`](super::Engine::wait_hash) can still answer for.
const RECENT_HASHES: usize = 4096;

pub(super) struct Shared {
    pub(super) progress: Mutex<Progress>,
    pub(super) changed: Condvar,
    pub(super) metrics: Arc<EngineMetrics>,
    /// What the executed votes report against the local hashes (SPEC §6).
    pub(super) agreement: Mutex<Agreement>,
    /// Alerts not yet polled ([`Engine::poll_alert`](super::Engine::poll_alert)).
    pub(super) alerts: Mutex<VecDeque<Alert>>,
    pub(super) on_alert: AlertDelivery,
    /// The store directory (the status index and the halt live there).
    pub(super) dir: PathBuf,
    /// The statuses of the recent blocks as the executors decide them.
    pub(super) live: Mutex<LiveIndex>,
    /// The status index as the store held it when the engine opened.
    pub(super) stored: StatusIndex,
    /// The oldest slot the store's status index answers for now (0: none yet): what `stored`
    /// holds of older slots the store has pruned since, and is not answered from.
    pub(super) oldest_indexed: std::sync::atomic::AtomicU64,
    /// The blocks accepted and not yet committed by the UED, by slot: their transactions are
    /// `Pending` (SPEC §6) until their domain's executor has decided them.
    pub(super) in_flight: Mutex<BTreeMap<u64, Arc<Ingested>>>,
    /// Why the engine halted, once it has (also after a restart).
    pub(super) halted: Mutex<Option<String>>,
    /// The RW-VED accounts and the voters' keys as the VED last published them.
    pub(super) ved_keys: RwLock<Arc<VedKeys>>,
    /// Rings the VED's sigverify stage when the VED publishes keys: it builds the tables of new
    /// voters while it waits for the next block.
    pub(super) ved_keys_published: Sender<()>,
    /// The transactions the VED's sigverify stage verified (the tests' view of its parts).
    #[cfg(test)]
    pub(super) ved_sigverified: std::sync::atomic::AtomicUsize,
    /// Makes the VED's sigverify stage fail its next part (the tests' kernel error).
    #[cfg(test)]
    pub(super) fail_vote_sigverify: std::sync::atomic::AtomicBool,
    /// The blocks the VED executed ahead of their verdict while only its own transactions were
    /// copied (the tests' view of an encoded block's copies).
    #[cfg(test)]
    pub(super) ved_ahead_on_a_view: std::sync::atomic::AtomicUsize,
    /// The blocks whose `submit` began to wait for the votes' answers (the tests' view of a
    /// waiting `submit`).
    #[cfg(test)]
    pub(super) waits_for_votes: std::sync::atomic::AtomicUsize,
    /// The blocks the VED executed ahead of a verdict that refused them, and undid.
    pub(super) ved_undone: std::sync::atomic::AtomicUsize,
}

/// What the VED publishes of its accounts for the stages before it, after each boundary it
/// crosses.
pub(super) struct VedKeys {
    /// The RW-VED accounts: the sigverify split's guess of each transaction's domain.
    pub(super) payers: VedPayers,
    /// The keys that sign its votes ([`VedExecutor::vote_signers`]): the VED's verifier builds
    /// their tables before their votes come.
    pub(super) signers: Vec<[u8; 32]>,
    /// The generation of the RW-VED keys `payers` holds ([`VedExecutor::ved_keys_generation`]):
    /// while the VED's is the same, a guess made with them is one it can use
    /// ([`VedExecutor::execute_guessed`]).
    pub(super) generation: u64,
}

impl VedKeys {
    pub(super) fn of(ved: &VedExecutor) -> Arc<VedKeys> {
        Arc::new(VedKeys {
            payers: VedPayers::new(ved.ved_payers()),
            signers: ved.vote_signers().into_iter().map(|k| k.0).collect(),
            generation: ved.ved_keys_generation(),
        })
    }
}

impl Shared {
    /// Notes that the VED waits for the UED (`true`) or no longer does: the user side, which
    /// yields to the VED's votes ([`Shared::yield_to_vote`]), must not wait for it then.
    pub(super) fn set_ved_waits_for_ued(&self, waits: bool) {
        let mut p = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        p.ved_waits_for_ued = waits;
        drop(p);
        self.changed.notify_all();
    }

    /// Lets the vote of `slot` go first
    /// ([`EngineConfig::ued_yield_limit`](super::EngineConfig::ued_yield_limit)): returns once the
    /// VED has published the hash of `slot` or a later one, waits for the UED, or failed, or after
    /// `limit`. Gives how long it waited; `None` when it did not have to. (A block the UED's
    /// sigverify stage holds was accepted, so the VED publishes its hash — executed, or from its
    /// log after a restart, after the blocks it holds, however the engine stops — unless it fails
    /// or hands the block to the UED at a boundary, waiting for it then.)
    pub(super) fn yield_to_vote(&self, slot: u64, limit: Duration) -> Option<Duration> {
        let began = Instant::now();
        let goes_first = |p: &mut Progress| {
            let voted = p.ved.back().is_some_and(|&(voted, _)| voted >= slot);
            !(voted || p.ved_waits_for_ued || p.failure.is_some())
        };
        let mut p = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        if !goes_first(&mut p) {
            return None;
        }
        let (p, _) = self
            .changed
            .wait_timeout_while(p, limit, goes_first)
            .unwrap_or_else(PoisonError::into_inner);
        drop(p);
        Some(began.elapsed())
    }

    pub(super) fn publish(&self, domain: Domain, slot: u64, hash: [u8; 32]) {
        let mut p = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        let list = match domain {
            Domain::Ved => &mut p.ved,
            Domain::Ued => &mut p.ued,
        };
        list.push_back((slot, hash));
        while list.len() > RECENT_HASHES {
            list.pop_front();
        }
        drop(p);
        self.changed.notify_all();
    }

    /// The RW-VED accounts the sigverify stages guess payer domains from: `ved`'s, after it
    /// crossed an epoch boundary.
    pub(super) fn publish_ved_keys(&self, ved: &VedExecutor) {
        let keys = VedKeys::of(ved);
        *self
            .ved_keys
            .write()
            .unwrap_or_else(PoisonError::into_inner) = keys;
        // Full: a ring not yet heard, which this one joins.
        let _ = self.ved_keys_published.try_send(());
    }

    /// The keys the VED published last.
    pub(super) fn ved_keys(&self) -> Arc<VedKeys> {
        Arc::clone(&self.ved_keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Stops the engine on `failure`, the first stage's to fail: it is the error the engine
    /// answers from here on, and the one "stopped" line. Another stage's failure after it (two
    /// stages on one full disk) is logged as such, a warning: it stops nothing more. Both are
    /// logged under the progress lock, so no caller reads the failure before its line is out.
    pub(super) fn fail(&self, failure: impl Into<Failure>) {
        let failure = failure.into();
        let mut p = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        match &p.failure {
            None => {
                log::error!("the engine stopped: {failure}");
                p.failure = Some(Arc::new(failure));
            }
            Some(first) => {
                log::warn!("after the engine stopped ({first}), another stage failed: {failure}")
            }
        }
        drop(p);
        self.changed.notify_all();
    }

    /// Raises `alert`: the engine is halted from here on, across restarts too.
    pub(super) fn raise(&self, alert: Alert) {
        log::error!("ALERT: {alert}"); // the log line of SPEC §6
        // Queued before anything shows the halt: whoever sees it (a waiter, `Engine::halted`,
        // the metrics) finds the alert with `poll_alert`. Queued for the hook in the same
        // order, under the same lock; the first halt holds the hook's deliveries (its own and
        // any raised meanwhile) until its file is written.
        let (first, held) = {
            let mut alerts = self.alerts.lock().unwrap_or_else(PoisonError::into_inner);
            alerts.push_back(alert.clone());
            self.metrics.set_halted();
            // The first halt's reason stands, on disk too; the VED's and the UED's threads may
            // both raise one, and the first writes the file — outside the locks, which every
            // status answer and submit takes (`Engine::halted`): held across the file's write
            // and fsync, they waited for the disk (found by a review of the engine's waits).
            let mut halted = self.halted.lock().unwrap_or_else(PoisonError::into_inner);
            let first = halted.is_none();
            if first {
                *halted = Some(alert.to_string());
            }
            let record = first.then(|| alert.halt_record());
            (record, self.on_alert.enqueue(alert, first))
        };
        if first.is_some() {
            fail_points::hold(fail_points::RAISE_FIRST_BEFORE_THE_HALT_FILE);
        }
        if let Some(record) = first
            && let Err(e) = status_index::write_halt(&self.dir, &record)
        {
            self.fail(e);
        }
        // Wakes the waiters that stop at a halt (`Engine::wait_hash_unless_halted`); they read
        // the halt under the progress lock, so none misses it.
        drop(self.progress.lock().unwrap_or_else(PoisonError::into_inner));
        self.changed.notify_all();
        match held {
            Some(hold) => drop(hold), // delivers
            None => self.on_alert.deliver_queued(),
        }
    }

    /// The cluster view, locked (held for its own bookkeeping only: never across a wait).
    pub(super) fn agreement(&self) -> MutexGuard<'_, Agreement> {
        self.agreement
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Feeds the cluster view with a slot's local hash and what its votes report; raises the
    /// halt they cause.
    pub(super) fn agree(
        &self,
        local: Option<(Domain, u64, [u8; 32])>,
        votes: &[VoteReport],
        total: Option<u64>,
    ) {
        let halt = {
            let mut agreement = self.agreement();
            if let Some(total) = total {
                agreement.set_total_stake(total);
            }
            let mut halt = local.and_then(|(d, slot, hash)| agreement.record_local(d, slot, hash));
            // Votes come with the local VED hash of the block that executed them.
            if !votes.is_empty() {
                let (_, in_slot, _) = local.expect("votes come with their block's slot");
                halt = halt.or(agreement.record_votes(votes, in_slot));
            }
            self.metrics
                .record_ued_disagreement(agreement.max_disagreement_bps());
            halt
        };
        if let Some(halt) = halt {
            self.raise(Alert::UedDivergence(halt));
        }
    }

    /// The slot of the first block accepted and not yet committed that holds a transaction
    /// whose first signature is `signature` — the block of slot `besides` (the index entry's
    /// own) only where it holds two: the entry is one of them, and the other may be still to
    /// run (a forged copy in front of another message, decided by the VED ahead, beside the
    /// user's transaction of the same block: answered final, it changed when the UED ran it).
    pub(super) fn in_flight_slot(&self, signature: &[u8; 64], besides: Option<u64>) -> Option<u64> {
        // The blocks are searched after the lock is let go: `submit` takes it before the
        // verdict the VED waits for, and a search of full blocks is long.
        let blocks: Vec<Arc<Ingested>> = {
            let in_flight = self
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            in_flight.values().map(Arc::clone).collect()
        };
        blocks
            .iter()
            .find(|ingested| {
                let needed = if Some(ingested.header.slot) == besides {
                    2
                } else {
                    1
                };
                let transactions = ingested.block().transactions.iter();
                let signed =
                    |w: &&[u8]| Transaction::peek_first_signature(w).as_ref() == Some(signature);
                transactions.filter(signed).take(needed).count() == needed
            })
            .map(|ingested| ingested.header.slot)
    }

    pub(super) fn failure(&self) -> Option<Arc<Failure>> {
        let p = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        p.failure.clone()
    }

    /// What stopped a stage whose queue closed under a caller: the stage records its failure
    /// as it stops, but may close its queues first (a panic unwinds through them before it is
    /// caught; the UED answers the VED's boundary request before it records the error), so the
    /// record is waited for — up to 10 s, not for ever: the UED's and its sigverify's threads
    /// are `SCHED_IDLE`, and on a busy machine wait that long for a PU (2 s was seen short
    /// under a loaded test run) — before the stop is called unexplained.
    pub(super) fn failure_of_a_stop(&self) -> Arc<Failure> {
        let p = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        let (p, _) = self
            .changed
            .wait_timeout_while(p, Duration::from_secs(10), |p| p.failure.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        p.failure
            .clone()
            .unwrap_or_else(|| Arc::new(Failure::StageStopped))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::super::cpu_engine;
    use super::*;

    /// The lines logged with `marker` in them, by level (this test binary's logger).
    static LINES: Mutex<Vec<(log::Level, String)>> = Mutex::new(Vec::new());

    struct Capture;

    impl log::Log for Capture {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            let line = record.args().to_string();
            if line.contains("two-stage-test") {
                LINES.lock().unwrap().push((record.level(), line));
            }
        }
        fn flush(&self) {}
    }

    #[test]
    fn a_second_stage_failing_after_the_first_is_a_warning_not_another_stop() {
        static CAPTURE: Capture = Capture;
        log::set_logger(&CAPTURE).expect("the only logger of this test binary");
        // (Warnings and errors only: every other test of this binary logs through it too.)
        log::set_max_level(log::LevelFilter::Warn);
        let genesis = crate::genesis::Genesis::default_cluster();
        let dir = tempfile::tempdir().expect("dir");
        let engine = cpu_engine(&genesis, dir.path());
        // Any failure serves: the engine's reaction is the same.
        let failure =
            |stage: &str| Failure::NotTheLoggedChain(format!("two-stage-test: the {stage} failed"));
        engine.shared.fail(failure("ued"));
        engine.shared.fail(failure("ved"));
        let lines = LINES.lock().unwrap().clone();
        assert_eq!(
            lines,
            [
                (
                    log::Level::Error,
                    "the engine stopped: two-stage-test: the ued failed".to_string()
                ),
                (
                    log::Level::Warn,
                    "after the engine stopped (two-stage-test: the ued failed), another stage \
                     failed: two-stage-test: the ved failed"
                        .to_string()
                ),
            ]
        );
        let error = engine.finish().err().expect("the engine failed");
        assert!(error.to_string().contains("the ued failed"), "{error}");
    }
}
