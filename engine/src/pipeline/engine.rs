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
//! the votes found so far while ingest guesses the rest of a loaded block.
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

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError, RwLock, TryLockError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};

use super::guess::{GUESS_PART, VedPayers, guess_ved_part};
use super::metrics::{Activity, EngineMetrics, StageMetrics};
use super::pin::PinError;
use super::placement::{Placement, Stage};
use super::spread::spread;
use crate::account::{Account, Domain, Pubkey};
use crate::cluster::{Agreement, Alert, Halt, VoteReport};
use crate::genesis::Genesis;
use crate::ledger::{Block, Transactions};
use crate::runtime::builtins::vote::VoteState;
use crate::runtime::executor::{EpochHandoff, VedExecutor, VedSlot};
use crate::runtime::ingest::{self, VerifiedBlock};
use crate::runtime::segment_log::PruneSchedule;
use crate::runtime::state::WINDOW;
use crate::runtime::status_index::{
    self, Confirmation, ExecutionStatus, IndexedTx, KEPT_BLOCKS, StatusIndex,
};
use crate::runtime::ved_log::{LoggedSlot, SEGMENT_SLOTS, VedLog};
use crate::runtime::vote_log::{self, VoteLog};
use crate::runtime::{Backend, BlockOutcome, Runtime, RuntimeError, check_block_header};
use crate::sample::vote_program_id;
use crate::sharded::ShardedMap;
use crate::tx::Transaction;
use tandem_kernels::Ed25519Verifier;
use tandem_kernels::sigverify::cache::SignerCache;

/// The stages whose metrics the engine reports, in pipeline order.
pub const ENGINE_STAGES: [&str; 5] = ["ingest", "sigverify-ved", "sigverify-ued", "ved", "ued"];

/// How the engine runs.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Where signatures are verified and LtHashes computed (SPEC §7).
    pub backend: Backend,
    /// Threads of the UED pass (at least 1).
    pub ued_threads: usize,
    /// Where each stage's threads run; `None`: unpinned.
    pub placement: Option<Placement>,
    /// How many blocks the UED may lag the VED by before `submit` waits.
    pub ued_queue_blocks: usize,
    /// Simulations only (`tandem cluster --nondeterministic`): from this slot on, the UED's hash
    /// chain is twisted as a nondeterministic validator's would be ([`Runtime::inject_ued_fault`]).
    pub inject_ued_fault_from: Option<u64>,
    /// How long the VED waits at an epoch boundary for the UED before the engine halts with
    /// [`Alert::UedLagging`] (it goes on waiting, halted). `None`: half an epoch of 400 ms slots
    /// (SIMD-0165's limit), and at least ten minutes (the UED threads run in `SCHED_IDLE`: a
    /// machine busy with other work may hold them back for a while without anything being wrong).
    pub boundary_patience: Option<Duration>,
    /// How long, at most, the UED's sigverify stage lets a block's vote go first: it starts on
    /// the block's user signatures once the VED has published the block's hash (its vote point)
    /// or waits for the UED itself (at an epoch boundary), and after this long whatever the VED
    /// is doing. Checked beside the vote's own work, the user signatures slowed the votes'
    /// (README: "The user side yields to the vote", measured on a 2-vCPU machine). Every plan
    /// verifies them on the sigverify PUs where the votes' helpers run
    /// ([`Placement::user_sigverify`], [`Placement::vote_sigverify_helpers`]), so the limit
    /// applies whatever the machine; only the batches a GPU feeder sends to a hardware GPU
    /// leave those PUs, and whether they then slow the votes' (a GPU the votes share, or not)
    /// has not been measured. [`DEFAULT_UED_YIELD_LIMIT`] by default; zero: they never wait.
    pub ued_yield_limit: Duration,
}

/// [`EngineConfig::ued_yield_limit`]'s default: 50 ms, an eighth of a 400 ms slot — the
/// time-to-vote the engine aims to stay under at p99 (issue #10). A vote that takes longer
/// shares the machine with the user signatures again rather than hold the UED back further.
pub const DEFAULT_UED_YIELD_LIMIT: Duration = Duration::from_millis(50);

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            backend: Backend::Cpu,
            ued_threads: 1,
            placement: None,
            ued_queue_blocks: 64,
            inject_ued_fault_from: None,
            boundary_patience: None,
            ued_yield_limit: DEFAULT_UED_YIELD_LIMIT,
        }
    }
}

/// Why the engine refused a block or stopped.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The block was refused at ingest (SPEC §4 and §2); the engine goes on.
    #[error(transparent)]
    Rejected(RuntimeError),
    /// The store could not be opened (nothing started): I/O, a damaged store, a genesis that
    /// is not the store's.
    #[error(transparent)]
    Open(RuntimeError),
    /// The VED's log or the vote log could not be read back (nothing started).
    #[error(transparent)]
    OpenLog(crate::runtime::segment_log::LogError),
    /// A stage failed ([`Failure`]: the store, a log, a kernel, a bug): the engine stopped.
    /// Reopening the store resumes from the last committed slot.
    #[error("the engine stopped: {0}")]
    Failed(Arc<Failure>),
    /// A stage's thread could not be pinned to the cores its placement gives it (nothing
    /// started): the message names the stage and the setting to change.
    #[error("the engine did not start: {0}")]
    Pin(#[from] super::pin::PinError),
    /// A call that waits for the UED's thread was made on that thread (from a hook it runs:
    /// `on_outcome`, or `on_alert` for an alert the UED raised), where it would wait forever.
    #[error(
        "{0} was called on the UED's thread (from a hook), which answers it: it cannot wait for itself"
    )]
    OnTheUedThread(&'static str),
    /// A call that may wait for the executors ([`Engine::submit`], [`Engine::schedule_slash`])
    /// was made from a hook on an executor's thread (`on_vote`, `on_outcome`, `on_alert`),
    /// where it could wait for that very thread: a vote hook scheduling a slash while a submit
    /// waited on a full queue stopped the engine for good.
    #[error(
        "{call} was called from a hook on the {stage} executor's thread, which it may wait for: \
         call it from another thread"
    )]
    FromAnExecutorHook {
        /// The call.
        call: &'static str,
        /// The executor (`ved`, `ued`).
        stage: &'static str,
    },
}

/// What stopped a running engine, kept whole so that a host can tell a disk from a bug: the
/// C ABI gives each its own status (`TANDEM_ERR_IO`, `_CORRUPT`, `_BACKEND_UNAVAILABLE`,
/// `_INTERNAL` for a caught panic, …).
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The runtime failed: the store or a file of it, a kernel (a GPU that failed on the `gpu`
    /// backend), or a check of the engine's parts against each other.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The VED's log could not be written or pruned.
    #[error(transparent)]
    Log(#[from] crate::runtime::segment_log::LogError),
    /// A stage's thread panicked: a bug in tandem (or in a Rust host's hook).
    #[error("the {thread} thread panicked: {what}")]
    Panicked {
        /// The stage's thread (`tandem-ued`).
        thread: String,
        /// The panic's message.
        what: String,
    },
    /// After a restart, a block other than the one the VED executed and logged for its slot
    /// (or before the first it logged): not the chain the engine was on.
    #[error("{0}")]
    NotTheLoggedChain(String),
    /// A stage's thread could not be pinned where its placement puts it.
    #[error("pinning the {stage} stage: {error}")]
    Pin {
        /// The stage's setting name.
        stage: &'static str,
        /// Why.
        error: PinError,
    },
    /// A stage stopped without saying why (its queue closed under it).
    #[error("a stage stopped")]
    StageStopped,
    /// The engine could not start a stage (the OS refused a thread) or its metrics.
    #[error("starting the engine: {0}")]
    Start(String),
}

impl From<Failure> for EngineError {
    fn from(failure: Failure) -> Self {
        EngineError::Failed(Arc::new(failure))
    }
}

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

/// What the stages publish for waiters: the newest slot of each domain and the hashes of the
/// recent ones.
#[derive(Default)]
struct Progress {
    ved: VecDeque<(u64, [u8; 32])>,
    ued: VecDeque<(u64, [u8; 32])>,
    failure: Option<Arc<Failure>>,
    finished: bool,
    /// The VED waits for the UED (at an epoch boundary): no user work yields to it then.
    ved_waits_for_ued: bool,
}

impl Progress {
    /// What waiters can know when the engine opens: both hashes of the slot it resumed at
    /// (the store's committed slot; the VED republishes the slots it logged after it as they
    /// are submitted again).
    fn resumed_at(runtime: &Runtime) -> Progress {
        let slot = runtime.slot();
        Progress {
            ved: VecDeque::from([(slot, runtime.hash(Domain::Ved))]),
            ued: VecDeque::from([(slot, runtime.hash(Domain::Ued))]),
            failure: None,
            finished: false,
            ved_waits_for_ued: false,
        }
    }
}

/// Voters whose signature tables the VED's signer cache keeps, at the least: the VED's verifier
/// has a cache (and a GPU device) of its own, so user signers never evict voters' and vote
/// batches never queue behind user batches on the GPU. A voter's tables, built before its
/// first vote, take 30 KiB (portable) plus 35 KiB (IFMA lanes) or 69 KiB (AVX2 lanes): 100 MiB
/// for 1,000 voters on AVX2. A larger VED gets more places ([`vote_signer_places`]).
pub const VOTE_SIGNER_CACHE: usize = 2048;

/// The places of the VED's signer cache for a VED whose votes `signers` keys sign: twice that
/// (members come at epoch boundaries while a key that left keeps its place until a whole window
/// passes without it, and the VED's other keys — vote accounts — may pay junk, whose tables give
/// way to the voters the engine prepares), and at least
/// [`VOTE_SIGNER_CACHE`]. The cache grows to it when the engine opens and whenever the VED
/// publishes its keys (it never shrinks). A voter the cache has no place for is verified
/// without a table on every vote — about three times a tabled check on the vote's path
/// (2026-12-02, Zen 3: 2,500 voters with 2,048 places voted at p50 44–45 ms, 2,048 voters at
/// 29 ms). The memory is the tables built: each voter's, 99 KiB with the AVX2 lanes' form, and
/// at most as many more as junk paid by VED keys fills — at most the places × 99 KiB, about
/// 580 MiB for 3,000 voters.
pub fn vote_signer_places(signers: usize) -> usize {
    VOTE_SIGNER_CACHE.max(signers.saturating_mul(2))
}

/// The statuses of the recent blocks, as the executors decide them: the VED's as soon as the VED
/// has run (SPEC §6: `ExecutionStatus` with X = 0 answers then), every block's at its commit.
/// The VED runs ahead of the UED, so entries come out of slot order; the index keeps the last
/// [`KEPT_BLOCKS`] slots it was given and as many more as the VED may be ahead, each
/// transaction by [`status_index::prefer`].
struct LiveIndex {
    /// In many small tables: one entered under the lock never moves more than a small part of
    /// them ([`ShardedMap`]).
    txs: ShardedMap<[u8; 64], IndexedTx>,
    blocks: BTreeMap<u64, Vec<[u8; 64]>>,
    /// Blocks kept: the status index's window, and as many as the VED may run ahead of the UED
    /// (its entries come first), so that a slot the UED has just committed is never the one
    /// that leaves.
    keep: usize,
}

impl Default for LiveIndex {
    fn default() -> Self {
        LiveIndex::ahead_by(0)
    }
}

impl LiveIndex {
    /// An index for an engine whose VED may run `ahead` blocks ahead of the UED.
    fn ahead_by(ahead: usize) -> LiveIndex {
        LiveIndex {
            txs: ShardedMap::default(),
            blocks: BTreeMap::new(),
            keep: KEPT_BLOCKS + ahead,
        }
    }

    /// Enters `entries` of `slot` and lets the oldest blocks leave, as many as it takes.
    #[cfg(test)]
    fn insert(&mut self, slot: u64, entries: impl IntoIterator<Item = ([u8; 64], IndexedTx)>) {
        self.enter(slot, entries);
        while self.evict(usize::MAX) {}
    }

    /// Enters `entries` of `slot` (more may come for it) and lets nothing leave; gives how many.
    fn enter(
        &mut self,
        slot: u64,
        entries: impl IntoIterator<Item = ([u8; 64], IndexedTx)>,
    ) -> usize {
        let signatures = self.blocks.entry(slot).or_default();
        let before = signatures.len();
        for (signature, tx) in entries {
            signatures.push(signature);
            status_index::enter(self.txs.shard_mut(&signature), signature, tx);
        }
        signatures.len() - before
    }

    /// Lets at most `most` signatures of the blocks past the ones kept leave, oldest block
    /// first (a block may leave in parts); whether more are to leave.
    fn evict(&mut self, most: usize) -> bool {
        let mut budget = most;
        while self.blocks.len() > self.keep && budget > 0 {
            let mut oldest = self.blocks.first_entry().expect("more blocks than kept");
            let old_slot = *oldest.key();
            let signatures = oldest.get_mut();
            let leaving = signatures.len().min(budget);
            for signature in signatures.drain(signatures.len() - leaving..) {
                // Only the entry of the block that leaves: a later block's stays.
                if self.txs.get(&signature).is_some_and(|t| t.slot == old_slot) {
                    self.txs.remove(&signature);
                }
            }
            budget -= leaving;
            if signatures.is_empty() {
                oldest.remove();
            }
        }
        self.blocks.len() > self.keep
    }
}

/// Signatures a stage enters into (or lets leave) the live index under one hold of its lock.
/// The VED takes that lock to index its slot before it publishes the slot's hash (the vote
/// point a host waits for); the UED, indexing a committed block of tens of thousands of
/// transactions, holds it for one part at a time (tens of microseconds), never for the whole
/// block (milliseconds).
const INDEX_PART: usize = 1024;

/// How many slots' hashes [`Engine::wait_hash`] can still answer for.
const RECENT_HASHES: usize = 4096;

struct Shared {
    progress: Mutex<Progress>,
    changed: Condvar,
    metrics: Arc<EngineMetrics>,
    /// What the executed votes report against the local hashes (SPEC §6).
    agreement: Mutex<Agreement>,
    /// Alerts not yet polled ([`Engine::poll_alert`]).
    alerts: Mutex<VecDeque<Alert>>,
    on_alert: AlertDelivery,
    /// The store directory (the status index and the halt live there).
    dir: PathBuf,
    /// The statuses of the recent blocks as the executors decide them.
    live: Mutex<LiveIndex>,
    /// The status index as the store held it when the engine opened.
    stored: StatusIndex,
    /// The oldest slot the store's status index answers for now (0: none yet): what `stored`
    /// holds of older slots the store has pruned since, and is not answered from.
    oldest_indexed: std::sync::atomic::AtomicU64,
    /// The blocks accepted and not yet committed by the UED, by slot: their transactions are
    /// `Pending` (SPEC §6) until their domain's executor has decided them.
    in_flight: Mutex<BTreeMap<u64, Arc<Ingested>>>,
    /// Why the engine halted, once it has (also after a restart).
    halted: Mutex<Option<String>>,
    /// The RW-VED accounts and the voters' keys as the VED last published them.
    ved_keys: RwLock<Arc<VedKeys>>,
    /// Rings the VED's sigverify stage when the VED publishes keys: it builds the tables of new
    /// voters while it waits for the next block.
    ved_keys_published: Sender<()>,
    /// The transactions the VED's sigverify stage verified (the tests' view of its parts).
    #[cfg(test)]
    ved_sigverified: std::sync::atomic::AtomicUsize,
}

/// What the VED publishes of its accounts for the stages before it, after each boundary it
/// crosses.
struct VedKeys {
    /// The RW-VED accounts: the sigverify split's guess of each transaction's domain.
    payers: VedPayers,
    /// The keys that sign its votes ([`VedExecutor::vote_signers`]): the VED's verifier builds
    /// their tables before their votes come.
    signers: Vec<[u8; 32]>,
}

impl VedKeys {
    fn of(ved: &VedExecutor) -> Arc<VedKeys> {
        Arc::new(VedKeys {
            payers: VedPayers::new(ved.ved_payers()),
            signers: ved.vote_signers().into_iter().map(|k| k.0).collect(),
        })
    }
}

impl Shared {
    /// Notes that the VED waits for the UED (`true`) or no longer does: the user side, which
    /// yields to the VED's votes ([`Shared::yield_to_vote`]), must not wait for it then.
    fn set_ved_waits_for_ued(&self, waits: bool) {
        let mut p = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        p.ved_waits_for_ued = waits;
        drop(p);
        self.changed.notify_all();
    }

    /// Lets the vote of `slot` go first ([`EngineConfig::ued_yield_limit`]): returns once the
    /// VED has published the hash of `slot` or a later one, waits for the UED, or failed, or
    /// after `limit`. Gives how long it waited; `None` when it did not have to. (A block the
    /// UED's sigverify stage holds was accepted, so the VED publishes its hash — executed, or
    /// from its log after a restart, after the blocks it holds, however the engine stops —
    /// unless it fails or hands the block to the UED at a boundary, waiting for it then.)
    fn yield_to_vote(&self, slot: u64, limit: Duration) -> Option<Duration> {
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

    fn publish(&self, domain: Domain, slot: u64, hash: [u8; 32]) {
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
    fn publish_ved_keys(&self, ved: &VedExecutor) {
        let keys = VedKeys::of(ved);
        *self
            .ved_keys
            .write()
            .unwrap_or_else(PoisonError::into_inner) = keys;
        // Full: a ring not yet heard, which this one joins.
        let _ = self.ved_keys_published.try_send(());
    }

    /// The keys the VED published last.
    fn ved_keys(&self) -> Arc<VedKeys> {
        Arc::clone(&self.ved_keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn fail(&self, failure: impl Into<Failure>) {
        let failure = failure.into();
        log::error!("the engine stopped: {failure}");
        let mut p = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        p.failure.get_or_insert(Arc::new(failure));
        drop(p);
        self.changed.notify_all();
    }

    /// Raises `alert`: the engine is halted from here on, across restarts too.
    fn raise(&self, alert: Alert) {
        log::error!("ALERT: {alert}"); // the log line of SPEC §6
        // Queued before anything shows the halt: whoever sees it (a waiter, `Engine::halted`,
        // the metrics) finds the alert with `poll_alert`.
        self.alerts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(alert.clone());
        self.metrics.set_halted();
        // The first halt's reason stands, on disk too; the VED's and the UED's threads may both
        // raise one, and write the file one at a time.
        let mut halted = self.halted.lock().unwrap_or_else(PoisonError::into_inner);
        if halted.is_none() {
            if let Err(e) = status_index::write_halt(&self.dir, &alert.halt_record()) {
                self.fail(e);
            }
            *halted = Some(alert.to_string());
        }
        drop(halted);
        // Wakes the waiters that stop at a halt (`Engine::wait_hash_unless_halted`); they read
        // the halt under the progress lock, so none misses it.
        drop(self.progress.lock().unwrap_or_else(PoisonError::into_inner));
        self.changed.notify_all();
        self.on_alert.deliver(alert);
    }

    /// Feeds the cluster view with a slot's local hash and what its votes report; raises the
    /// halt they cause.
    fn agree(
        &self,
        local: Option<(Domain, u64, [u8; 32])>,
        votes: &[VoteReport],
        total: Option<u64>,
    ) {
        let halt = {
            let mut agreement = self
                .agreement
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(total) = total {
                agreement.set_total_stake(total);
            }
            let mut halt = local.and_then(|(d, slot, hash)| agreement.record_local(d, slot, hash));
            // Votes come with the local VED hash of the block that executed them.
            let in_slot = local.map(|(_, slot, _)| slot);
            for vote in votes {
                let in_slot = in_slot.expect("votes come with their block's slot");
                halt = halt.or(agreement.record_vote(vote, in_slot));
            }
            self.metrics
                .record_ued_disagreement(agreement.max_disagreement_bps());
            halt
        };
        if let Some(halt) = halt {
            self.raise(Alert::UedDivergence(halt));
        }
    }

    /// Enters the statuses the VED decided for `block` into the live index.
    fn index_ved(&self, block: &Block, done: &VedSlot) {
        let slot = block.header.slot;
        let decided = (0..block.transactions.len()).filter_map(|i| {
            let status = done.admission.statuses[i]?;
            let signature = Transaction::peek_first_signature(&block.transactions[i])?;
            let domain = if status.has_domain() {
                done.admission.payer_domain[i]
            } else {
                None
            };
            Some((
                signature,
                IndexedTx {
                    slot,
                    domain,
                    status,
                },
            ))
        });
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        let entered = live.enter(slot, decided);
        // The blocks that leave are the UED's to let go, a part at a time
        // ([`index_outcome`]); the VED lets go at most as many as it entered (and a part), so
        // its share of the work stays its own block's size and the index stays bounded.
        live.evict(entered.max(INDEX_PART));
    }

    /// Indexes what a slot the VED logged before a restart decided for its own transactions
    /// ([`LoggedSlot::window_statuses`]), so that they answer after the restart as they did
    /// before it (`Final` at X = 0), not `Unknown` until the block comes again. The rest of
    /// the block answers once the block is submitted again.
    fn index_logged(&self, record: &LoggedSlot) {
        let Some(decided) = record.window_statuses() else {
            log::warn!(
                "slot {}: the VED's log record does not pair its signatures with its statuses; \
                 they answer once the block comes again",
                record.ved.slot
            );
            return;
        };
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        let entered = live.enter(record.ved.slot, decided);
        live.evict(entered.max(INDEX_PART));
    }

    /// The slot of the first block accepted and not yet committed, after `after`, that holds
    /// a transaction whose first signature is `signature`.
    fn in_flight_slot(&self, signature: &[u8; 64], after: Option<u64>) -> Option<u64> {
        // The blocks are searched after the lock is let go: `submit` takes it before the
        // verdict the VED waits for, and a search of full blocks is long.
        let blocks: Vec<Arc<Ingested>> = {
            let in_flight = self
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let from = after.map_or(Bound::Unbounded, Bound::Excluded);
            in_flight
                .range((from, Bound::Unbounded))
                .map(|(_, ingested)| Arc::clone(ingested))
                .collect()
        };
        blocks
            .iter()
            .find(|ingested| {
                let mut transactions = ingested.block.transactions.iter();
                transactions
                    .any(|w| Transaction::peek_first_signature(w).as_ref() == Some(signature))
            })
            .map(|ingested| ingested.block.header.slot)
    }

    fn failure(&self) -> Option<Arc<Failure>> {
        let p = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        p.failure.clone()
    }

    /// What stopped a stage whose queue closed under a caller: the stage records its failure
    /// as it stops, but may close its queues first (a panic unwinds through them before it is
    /// caught; the UED answers the VED's boundary request before it records the error), so the
    /// record is waited for — a moment, not for ever — before the stop is called unexplained.
    fn failure_of_a_stop(&self) -> Arc<Failure> {
        let p = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        let (p, _) = self
            .changed
            .wait_timeout_while(p, Duration::from_secs(2), |p| p.failure.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        p.failure
            .clone()
            .unwrap_or_else(|| Arc::new(Failure::StageStopped))
    }
}

/// How many block buffers the engine keeps for the blocks to come once it is done with their
/// blocks ([`Engine::spare_transactions`]): one for the block the host decodes next, others for
/// hosts that decode on several threads. Kept only once the host has asked for one.
///
/// Memory: at most this many spares are kept, each with the room of the largest block it has
/// held, and a block decoded into a spare keeps that room while it is in flight. So after a
/// large block, the blocks in flight (at most the UED's queue and the few the stages hold) may
/// each hold a large block's room instead of their own size — no more than as many large
/// blocks in flight would take.
pub const SPARE_BLOCK_BUFFERS: usize = 4;

/// A block on its way: shared by the stages, each parses the transactions it needs. Its buffer
/// goes back to the engine's spares when the last stage lets it go.
struct Ingested {
    block: Block,
    /// Where its transactions' buffer goes when it is dropped (`None` until the host asks for
    /// spares).
    spares: Option<Sender<Transactions>>,
    submitted: Instant,
    /// The sigverify split's guess of each transaction's domain: `true` for the VED. Whole once
    /// ingest has guessed every part, before its verdict: the user side sees whole guesses.
    ved_guess: OnceLock<Vec<bool>>,
    /// The transactions guessed VED, part by part as ingest guesses them ([`GUESS_PART`]),
    /// for the VED's sigverify stage; they end when ingest has guessed the block (or stopped).
    ved_parts: Receiver<Vec<usize>>,
    /// Ingest's verdict, given while the VED's signatures are being verified: `None` when the
    /// block was refused.
    verdict: OnceLock<Option<Accepted>>,
}

impl Drop for Ingested {
    fn drop(&mut self) {
        // Kept unless the spares are full (or the engine is gone): a loaded block's megabytes
        // are then written again in place, instead of fresh pages faulted in and zeroed for
        // each block and returned to the OS after it.
        if let Some(spares) = &self.spares {
            let mut buffer = std::mem::take(&mut self.block.transactions);
            buffer.clear();
            let _ = spares.try_send(buffer);
        }
    }
}

impl Ingested {
    /// The whole guess of a block the user side sees: an accepted one.
    fn whole_guess(&self) -> &[bool] {
        self.ved_guess
            .get()
            .expect("ingest guesses a block whole before its verdict")
    }

    /// The verdict of a block the stages after the VED see: an accepted one.
    fn accepted(&self) -> &Accepted {
        self.verdict
            .get()
            .and_then(Option::as_ref)
            .expect("only accepted blocks pass the VED")
    }
}

/// What an accepted block carries from ingest.
struct Accepted {
    /// Every transaction's fee payer.
    payers: Arc<[Pubkey]>,
    /// Operator slashes scheduled before the block was accepted ([`Engine::schedule_slash`]):
    /// the UED enters them into the runtime before executing it, as `Runtime::schedule_slash`
    /// would. A refused block takes none.
    slashes: Vec<(Pubkey, u16)>,
}

struct VedJob {
    ingested: Arc<Ingested>,
    /// Check 1's answers for the transactions guessed VED.
    verified: Vec<Option<bool>>,
}

struct UedSigs {
    slot: u64,
    /// Check 1's answers for the transactions guessed UED.
    verified: Vec<Option<bool>>,
}

/// A read of one account from the UED's committed state ([`Engine::account`]).
struct AccountRead {
    pubkey: Pubkey,
    reply: Sender<(u64, Option<Account>)>,
}

/// The UED's answer to a block that crossed an epoch boundary: a fresh VED executor, the
/// block's VED hash and the votes it executed in the VED.
struct BoundaryDone {
    executor: VedExecutor,
    ved_hash: [u8; 32],
    votes: Vec<VoteReport>,
}

enum UedJob {
    /// A block the VED executed.
    Slot {
        ingested: Arc<Ingested>,
        ved: Box<VedSlot>,
    },
    /// A block that crosses an epoch boundary: the UED executes it whole and answers with a
    /// fresh VED executor.
    Boundary {
        ingested: Arc<Ingested>,
        verified: Vec<Option<bool>>,
        reply: Sender<Result<BoundaryDone, String>>,
    },
}

/// A callback for each vote point.
pub type VoteHook = Box<dyn FnMut(Vote) + Send>;

/// A callback for each committed block.
pub type OutcomeHook = Box<dyn FnMut(&BlockOutcome) + Send>;

/// A callback for each alert.
pub type AlertHook = Box<dyn FnMut(&Alert) + Send>;

/// Calls the host's alert hook ([`EngineHooks::on_alert`]) with each alert, in the order they
/// were raised, without making the thread that raises one wait for the hook: a thread finding
/// the hook busy (another thread's alert in it) leaves its alert to that thread, which calls
/// the hook again once it returns. Before, a raise waited for the hook's lock: a VED hook
/// asking for an account ([`Engine::account`], which the UED's thread answers) while the UED
/// raised an alert of its own waited for ever.
struct AlertDelivery {
    hook: Mutex<Option<AlertHook>>,
    queue: Mutex<VecDeque<Alert>>,
}

impl AlertDelivery {
    fn new(hook: Option<AlertHook>) -> AlertDelivery {
        AlertDelivery {
            hook: Mutex::new(hook),
            queue: Mutex::new(VecDeque::new()),
        }
    }

    /// Hands `alert` to the hook, now on this thread or soon on the one calling it.
    fn deliver(&self, alert: Alert) {
        let queue = || self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue().push_back(alert);
        // An alert queued after the holder's last look at the queue, but before it let go of
        // the hook, finds the hook free on the next turn.
        while !queue().is_empty() {
            let mut hook = match self.hook.try_lock() {
                Ok(hook) => hook,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => return, // the holder delivers it
            };
            loop {
                // (Its own statement: the queue's lock is let go before the hook runs.)
                let next = queue().pop_front();
                let Some(alert) = next else { break };
                if let Some(hook) = hook.as_mut() {
                    hook(&alert);
                }
            }
        }
    }
}

/// Callbacks the stages call as slots complete: `on_vote` on the VED thread, `on_outcome` on
/// the UED thread after the slot is committed. Keep them short: they run on the stages. The
/// engine's calls that the UED's thread answers ([`Engine::account`]) are refused from the
/// hooks it runs ([`EngineError::OnTheUedThread`]), and those that may wait for either executor
/// ([`Engine::submit`], [`Engine::schedule_slash`]) from the hooks of both
/// ([`EngineError::FromAnExecutorHook`]), rather than wait for themselves.
#[derive(Default)]
pub struct EngineHooks {
    /// Each vote point, in slot order.
    pub on_vote: Option<VoteHook>,
    /// Each committed block's outcome, in slot order.
    pub on_outcome: Option<OutcomeHook>,
    /// Each alert (a halt), in the order raised, on the stage that raised it — or, where two
    /// stages raise one at once, on the one whose alert is in the hook when the other comes
    /// (the raising stage does not wait for the hook).
    pub on_alert: Option<AlertHook>,
}

/// Gives a block handed to the VED the verdict "refused" when dropped before ingest gave its
/// own (a verdict is given once: the first stands).
struct RefusedUnlessDecided<'a>(&'a Ingested);

impl Drop for RefusedUnlessDecided<'_> {
    fn drop(&mut self) {
        let _ = self.0.verdict.set(None);
    }
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
    /// Slashes scheduled since the last block submitted.
    slashes: Mutex<Vec<(Pubkey, u16)>>,
    ingest: Arc<StageMetrics>,
    resumed_slot: u64,
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
    pub hashes: [[u8; 32]; 2],
    /// The runtime, for reading the final state.
    pub runtime: Runtime,
    /// The UED divergence the engine halted on (SPEC §6), when it did.
    pub halt: Option<Halt>,
    /// Why the engine halted, for any halt (a divergence, a UED that could not catch up, or a
    /// halt before it was reopened).
    pub halted: Option<String>,
}

impl Engine {
    /// Opens the engine on the store in `dir` (created from `genesis` where there is none,
    /// resumed from its last committed slot otherwise) and starts its stages. It returns once
    /// the vote path is ready: its GPU devices open (on the `Gpu` backend) and the VED's
    /// voters' signer tables built, so that no vote of the first blocks waits for them.
    pub fn open(
        genesis: &Genesis,
        dir: impl AsRef<Path>,
        config: EngineConfig,
        hooks: EngineHooks,
    ) -> Result<Engine, EngineError> {
        let mut runtime =
            Runtime::open_with(genesis, dir, config.backend).map_err(EngineError::Open)?;
        runtime.set_ued_threads(config.ued_threads);
        if let Some(placement) = &config.placement {
            runtime.set_extra_hash_threads(placement.hash_cpus_beside_the_ued());
        }
        if let Some(slot) = config.inject_ued_fault_from {
            runtime.inject_ued_fault(slot);
        }
        Engine::start(runtime, config, hooks)
    }

    /// Starts the stages over an open runtime.
    pub fn start(
        runtime: Runtime,
        config: EngineConfig,
        hooks: EngineHooks,
    ) -> Result<Engine, EngineError> {
        let metrics = Arc::new(
            EngineMetrics::new(&ENGINE_STAGES).map_err(|e| Failure::Start(e.to_string()))?,
        );
        let stage = |name| metrics.stage(name).expect("an engine stage");
        // The VED resumes from its own commit point: the store's slot, then the slots it logged
        // after it.
        let dir = runtime.store().dir().to_owned();
        let logged = VedLog::recover(&dir, runtime.slot()).map_err(EngineError::OpenLog)?;
        let mut ved = runtime.ved_executor();
        // The VED's total stake at each logged slot, as it executed it (the slot is judged
        // against it when its block comes again; the executor is past them all by then).
        let mut logged_totals = Vec::with_capacity(logged.len());
        for record in &logged {
            ved.replay(record).map_err(EngineError::Open)?;
            logged_totals.push((record.ved.slot, ved.ved_stake()));
        }
        let ved_resumed_slot = ved.slot();
        let stored = StatusIndex::load(&dir, runtime.slot()).map_err(EngineError::Open)?;
        let halted = stored.halt().map(str::to_owned);
        let lag_halt = stored.halt_record().and_then(Alert::lag_from_halt_record);
        // The cluster view starts from what the committed slots told it (the VED's log gives
        // the votes of the slots after them, as their blocks come again).
        let mut agreement = Agreement::new();
        agreement.set_total_stake(ved.ved_stake());
        let kept = vote_log::kept_from(
            runtime.slot(),
            runtime.cluster().slots_per_epoch,
            stored.oldest_slot(),
        );
        // (Open cut the log at the store's slot.)
        let halt = VoteLog::replay_into(&mut agreement, &dir, kept, u64::MAX)
            .map_err(EngineError::OpenLog)?;
        for (slot, total) in logged_totals {
            agreement.record_total(slot, total);
        }
        metrics.record_ued_disagreement(agreement.max_disagreement_bps());
        if halted.is_some() {
            metrics.set_halted(); // it halted before the restart: it stays halted
        }
        let EngineHooks {
            on_vote,
            on_outcome,
            on_alert,
        } = hooks;
        let (ved_keys_published, ved_keys_rung) = bounded::<()>(1);
        let shared = Arc::new(Shared {
            progress: Mutex::new(Progress::resumed_at(&runtime)),
            changed: Condvar::new(),
            metrics: Arc::clone(&metrics),
            agreement: Mutex::new(agreement),
            alerts: Mutex::new(VecDeque::new()),
            on_alert: AlertDelivery::new(on_alert),
            // The VED is ahead of the UED's commits by at most the UED's queue, the block the
            // UED holds and the one the VED is handing over.
            live: Mutex::new(LiveIndex::ahead_by(config.ued_queue_blocks.max(1) + 2)),
            in_flight: Mutex::default(),
            stored,
            oldest_indexed: std::sync::atomic::AtomicU64::new(
                runtime.oldest_indexed_slot().unwrap_or(0),
            ),
            halted: Mutex::new(halted),
            dir: dir.clone(),
            ved_keys: RwLock::new(VedKeys::of(&ved)),
            ved_keys_published,
            #[cfg(test)]
            ved_sigverified: Default::default(),
        });
        for record in &logged {
            shared.index_logged(record);
        }
        // A divergence the committed slots show: raised again (a crash may have kept it from
        // being raised; and a host that polls alerts after a restart learns why the engine it
        // reopened is halted — the halt file keeps the first reason).
        // A UED-lag halt is raised again from the halt file's record of it.
        if let Some(halt) = halt {
            shared.raise(Alert::UedDivergence(halt));
        } else if let Some(lag) = lag_halt {
            shared.raise(lag);
        }
        let resumed_slot = runtime.slot();
        log::info!(
            "engine opened on {}: the UED resumes after slot {resumed_slot}, the VED after slot \
             {ved_resumed_slot}{}",
            dir.display(),
            if shared.metrics.is_halted() {
                " (halted before: it stays halted)"
            } else {
                ""
            }
        );
        // The UED's slot first: the other order would count the whole resumed chain as lag.
        metrics.publish_ued_slot(resumed_slot);
        metrics.publish_ved_slot(ved_resumed_slot);
        let cursor = Mutex::new(Cursor {
            returned: Instant::now(),
            slot: runtime.slot(),
            unix_timestamp_ms: runtime.state().unix_timestamp_ms,
        });
        let slots_per_epoch = runtime.cluster().slots_per_epoch;
        let yield_limit = config.ued_yield_limit;
        let patience = config.boundary_patience.unwrap_or_else(|| {
            let half_epoch = Duration::from_millis(200)
                .saturating_mul(u32::try_from(slots_per_epoch).unwrap_or(u32::MAX));
            half_epoch.max(Duration::from_secs(600))
        });
        let depth = config.ued_queue_blocks.max(1);
        // The VED side keeps a few blocks in flight; the UED side as many as it may lag.
        let (ved_sigs_tx, ved_sigs_rx) = bounded::<Arc<Ingested>>(4);
        let (ued_sigs_tx, ued_sigs_rx) = bounded::<Arc<Ingested>>(depth);
        let (ved_tx, ved_rx) = bounded::<VedJob>(4);
        let (ued_ready_tx, ued_ready_rx) = bounded::<UedSigs>(depth);
        let (ued_tx, ued_rx) = bounded::<UedJob>(depth);
        let (reads_tx, reads_rx) = bounded::<AccountRead>(16);
        // One handoff per boundary the VED crossed alone, taken at its next boundary, which the
        // UED cannot reach first: never more than one waits.
        let (handoffs_tx, handoffs_rx) = bounded::<EpochHandoff>(2);
        let backend = config.backend;
        let placement = config.placement.map(Arc::new);
        // Each stage thread says whether it could be pinned before the engine is handed out.
        let (pinned_tx, pinned_rx) = bounded::<Result<(), PinError>>(STAGE_THREADS);
        // Made before its stages: a stage the OS refuses to start drops it, which closes the
        // queues and joins the stages started before (they used to be left running, unjoined).
        let mut engine = Engine {
            ingest: stage("ingest"),
            shared: Arc::clone(&shared),
            cursor,
            slots_per_epoch,
            ved_sigs: Some(ved_sigs_tx),
            ued_sigs: Some(ued_sigs_tx),
            threads: Vec::new(),
            ued_thread: None,
            reads: reads_tx,
            slashes: Mutex::new(Vec::new()),
            resumed_slot,
            ved_resumed_slot,
            spares: bounded(SPARE_BLOCK_BUFFERS),
            recycling: std::sync::atomic::AtomicBool::new(false),
        };
        let spawn = |name: &str, stage: Stage, low_priority: bool| StageThread {
            name: thread_name(name),
            stage,
            low_priority,
            placement: placement.clone(),
            shared: Arc::clone(&shared),
            pinned: pinned_tx.clone(),
        };
        let started = |r: std::io::Result<JoinHandle<()>>| {
            r.map_err(|e| EngineError::from(Failure::Start(format!("a stage: {e}"))))
        };
        // Votes are verified first on every sigverify core too (at the VED's priority); user
        // signatures on all of them, by the thread that feeds the GPU and its helpers.
        let vote_helpers = placement
            .as_ref()
            .map_or_else(Vec::new, |p| p.vote_sigverify_helpers());
        // The slot's LtHash shares the PUs the votes' signatures do.
        let ved = ved.with_hash_helpers(vote_helpers.clone());
        let (user_stage, user_helpers) = placement
            .as_ref()
            .map_or((Stage::Sigverify, Vec::new()), |p| p.user_sigverify());
        // The vote path's GPU devices (the votes' verifier, the VED's LtHash) open on their
        // stages' threads, side by side, before `start` returns: on the `Gpu` backend no block's
        // time-to-vote waits for one (seconds each on a software adapter, its shaders built and
        // checked). Each thread drops its sender once they are open.
        let (devices_open, devices_opened) = bounded::<()>(1);
        {
            let votes_device_open = devices_open.clone();
            let shared = Arc::clone(&shared);
            let m = stage("sigverify-ved");
            // Sized to the voters when their tables are prepared, below and at each boundary.
            let vote_signers = Arc::new(SignerCache::new(VOTE_SIGNER_CACHE));
            shared.metrics.watch_vote_signers(Arc::clone(&vote_signers));
            engine
                .threads
                .push(started(spawn("sigverify-ved", Stage::Ved, false).spawn(
                    move || {
                        let voters = Ed25519Verifier::with_cache(backend, vote_signers);
                        voters.open_device();
                        // The voters' tables too, before `start` returns: no vote of the
                        // first blocks waits for them.
                        let keys = shared.ved_keys();
                        m.busy(|| prepare_vote_signers(&voters, &vote_helpers, &keys.signers));
                        drop(votes_device_open);
                        sigverify_loop(
                            &shared,
                            &m,
                            SigverifySide {
                                verifier: &voters,
                                helpers: &vote_helpers,
                                ved: true,
                                voters: Some(ved_keys_rung),
                                yield_limit: Duration::ZERO,
                            },
                            ved_sigs_rx,
                            |ingested, verified| ved_tx.send(VedJob { ingested, verified }).is_ok(),
                        )
                    },
                ))?);
        }
        {
            let shared = Arc::clone(&shared);
            let m = stage("sigverify-ued");
            engine
                .threads
                .push(started(spawn("sigverify-ued", user_stage, true).spawn(
                    move || {
                        sigverify_loop(
                            &shared,
                            &m,
                            SigverifySide {
                                verifier: &Ed25519Verifier::shared(backend),
                                helpers: &user_helpers,
                                ved: false,
                                voters: None,
                                yield_limit,
                            },
                            ued_sigs_rx,
                            |ingested, verified| {
                                let slot = ingested.block.header.slot;
                                ued_ready_tx.send(UedSigs { slot, verified }).is_ok()
                            },
                        )
                    },
                ))?);
        }
        {
            let ved_devices_open = devices_open.clone();
            let shared = Arc::clone(&shared);
            let m = stage("ved");
            engine
                .threads
                .push(started(spawn("ved", Stage::Ved, false).spawn(move || {
                    ved.open_devices();
                    drop(ved_devices_open);
                    let start = VedStart {
                        executor: ved,
                        logged: logged.into(),
                        log: VedLog::new(dir),
                        handoffs: handoffs_rx,
                        patience,
                        // The VED runs at most the UED's queue (and the blocks in hand) ahead of
                        // the UED, which hands the epoch over once it has executed its first block.
                        retain_limit: (depth + 2).max(WINDOW as usize),
                    };
                    ved_loop(&shared, &m, start, ved_rx, ued_tx, on_vote)
                }))?);
        }
        engine.ued_thread = Some({
            let shared = Arc::clone(&shared);
            let m = stage("ued");
            spawn("ued", Stage::Ued, true)
                .spawn(move || {
                    ued_loop(
                        &shared,
                        &m,
                        runtime,
                        UedLinks {
                            input: ued_rx,
                            sigs: ued_ready_rx,
                            reads: reads_rx,
                            handoffs: handoffs_tx,
                        },
                        on_outcome,
                    )
                })
                .map_err(|e| Failure::Start(format!("the ued stage: {e}")))?
        });
        drop(pinned_tx);
        // A stage that cannot run where the placement says is the operator's setting to fix:
        // refused here, not at the first block (dropping the engine stops the other stages).
        // (Every thread drops its sender once it has reported: the loop ends with the last.)
        for pinned in pinned_rx.iter() {
            pinned?;
        }
        drop(devices_open);
        let _ = devices_opened.recv(); // every sender dropped: the devices are open
        Ok(engine)
    }

    /// The slot the engine started after: its store's last committed slot when opened (the
    /// UED's commit point). Blocks are submitted from the one after it.
    pub fn resumed_slot(&self) -> u64 {
        self.resumed_slot
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
        answer.recv().map_err(|_| self.stopped())
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
        let agreement = self
            .shared
            .agreement
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
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
    pub fn execution_status(&self, signature: &[u8; 64], bps: u16) -> ExecutionStatus {
        self.transaction(signature, bps).status
    }

    /// [`Engine::execution_status`] with where the transaction is: its block's slot and the
    /// domain that executed it (none for a transaction refused before its payer's domain was
    /// known).
    pub fn transaction(&self, signature: &[u8; 64], bps: u16) -> TxView {
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
            status_index::prefer(stored, live.txs.get(signature).copied().filter(kept))
        };
        let decided = |tx: Option<IndexedTx>| tx.is_some_and(|t| t.status.entered_window());
        let mut tx = indexed();
        // Not decided yet in its domain, in a block accepted after the last entry: `Pending`
        // (unless the entry is the transaction that ran).
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
        let status = if self.halted().is_some() {
            ExecutionStatus::Halted
        } else {
            let confirmation =
                tx.and_then(|t| t.domain.map(|d| (d, t.slot)))
                    .and_then(|(d, slot)| {
                        let agreement = self
                            .shared
                            .agreement
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner);
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
                    });
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
        let agreement = self
            .shared
            .agreement
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
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

    /// An empty buffer for the next block's transactions: one a block the engine is done with
    /// left (its room kept), or else a new one. A host that decodes blocks from bytes decodes
    /// into it ([`Block::decode_into`], as `tandem_engine_submit_block` does), so that a block
    /// no larger than those before takes no allocation: a loaded block's megabytes are then
    /// written into pages already in memory, not faulted in afresh for each block. The engine
    /// keeps buffers from the first call on ([`SPARE_BLOCK_BUFFERS`] says what they hold).
    pub fn spare_transactions(&self) -> Transactions {
        self.recycling.store(true, Ordering::Relaxed);
        self.spares.1.try_recv().unwrap_or_default()
    }

    /// Hands a block to the engine. The block checks of SPEC §4 (it follows the last block
    /// accepted; its clock) and the parse of every transaction (SPEC §2) are decided here, and
    /// a block that fails them is refused ([`EngineError::Rejected`]) and changes nothing.
    /// Waits while the UED lags by as many blocks as its queue holds.
    ///
    /// The VED's signatures are verified while the block is parsed here: its transactions are
    /// guessed from their first account key ([`Transaction::peek_fee_payer`]) and handed to the
    /// VED's sigverify stage at once; the VED executes nothing before the verdict.
    pub fn submit(&self, block: Block) -> Result<(), EngineError> {
        self.submit_received(block, Instant::now())
    }

    /// As [`Engine::submit`], with the block's time-to-vote counted from `received` (a moment
    /// after this call counts as the call's start): when the host took the block in, before
    /// the work that made a [`Block`] of it — the C ABI's decode of the block's bytes, which
    /// its time-to-vote includes.
    pub fn submit_received(&self, block: Block, received: Instant) -> Result<(), EngineError> {
        let entered = Instant::now();
        refused_on_an_executor("Engine::submit")?;
        if let Some(failure) = self.shared.failure() {
            return Err(EngineError::Failed(failure));
        }
        let mut cursor = self.cursor.lock().unwrap_or_else(PoisonError::into_inner);
        let idle = entered.saturating_duration_since(cursor.returned);
        self.ingest.add_time(Activity::Idle, idle);
        let result = self.ingest_block(block, received.min(entered), &mut cursor);
        cursor.returned = Instant::now();
        result
    }

    /// [`Engine::submit`]'s work, under the cursor's lock.
    fn ingest_block(
        &self,
        block: Block,
        submitted: Instant,
        cursor: &mut Cursor,
    ) -> Result<(), EngineError> {
        // The votes' signatures wait for the guess: the VED's sigverify stage takes the block
        // after its first part, and each part after as ingest guesses it.
        let n = block.transactions.len();
        let (part_sender, ved_parts) = bounded(n.div_ceil(GUESS_PART).max(1));
        let keys = self.shared.ved_keys();
        let mut ved_guess = Vec::with_capacity(n);
        let mut guess_part = |transactions: &Transactions, range: std::ops::Range<usize>| {
            let start = range.start;
            let part = guess_ved_part(transactions, range, &keys.payers);
            let mine = (start..).zip(&part).filter(|(_, v)| **v).map(|(i, _)| i);
            // Never full (a place per part), nor closed while `ingested` lives.
            let _ = part_sender.try_send(mine.collect());
            ved_guess.extend(part);
        };
        let ingested = self.ingest.busy(|| {
            check_block_header(
                &block.header,
                cursor.slot,
                cursor.unix_timestamp_ms,
                self.slots_per_epoch,
            )
            .map_err(EngineError::Rejected)?;
            guess_part(&block.transactions, 0..n.min(GUESS_PART));
            Ok::<_, EngineError>(Arc::new(Ingested {
                block,
                spares: self
                    .recycling
                    .load(Ordering::Relaxed)
                    .then(|| self.spares.0.clone()),
                submitted,
                ved_guess: OnceLock::new(),
                ved_parts,
                verdict: OnceLock::new(),
            }))
        })?;
        let send = |queue: &Option<Sender<Arc<Ingested>>>| {
            let queue = queue.as_ref().expect("open until finish");
            self.ingest
                .blocked(|| queue.send(Arc::clone(&ingested)))
                .map_err(|_| self.stopped())
        };
        send(&self.ved_sigs)?;
        // The VED waits for the verdict before anything else: a panic from here to it (a parser
        // bug) gives it one, the block refused, instead of leaving it (and `finish`, and the
        // engine's drop) waiting for ever.
        let _refused_unless_decided = RefusedUnlessDecided(&ingested);
        #[cfg(test)]
        if tests::PANIC_AFTER_THE_VED_COPY.with(std::cell::Cell::get) {
            panic!("the test's panic after the VED's copy");
        }
        self.ingest.busy(|| {
            let transactions = &ingested.block.transactions;
            for start in (GUESS_PART..n).step_by(GUESS_PART) {
                guess_part(transactions, start..n.min(start + GUESS_PART));
            }
        });
        let _ = ingested.ved_guess.set(ved_guess);
        // The parts end: the VED's sigverify stage has them all.
        drop(part_sender);
        let parsed = self.ingest.busy(|| ingest::fee_payers(&ingested.block));
        match parsed {
            Err(e) => {
                let _ = ingested.verdict.set(None);
                return Err(EngineError::Rejected(e));
            }
            Ok(payers) => {
                let slashes = std::mem::take(
                    &mut *self.slashes.lock().unwrap_or_else(PoisonError::into_inner),
                );
                // In flight before the verdict lets the VED execute it: a waiter woken by its
                // VED hash finds the block's other transactions pending, not unknown.
                self.shared
                    .in_flight
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(ingested.block.header.slot, Arc::clone(&ingested));
                let _ = ingested.verdict.set(Some(Accepted {
                    payers: payers.into(),
                    slashes,
                }));
            }
        }
        cursor.slot = ingested.block.header.slot;
        cursor.unix_timestamp_ms = ingested.block.header.unix_timestamp_ms;
        // The UED's copy after the verdict: the UED side sees accepted blocks only, and a block
        // reaches the VED's executor only when the UED side holds it, so the UED can always
        // finish what the VED hands it (no stage waits on a queue behind it).
        send(&self.ued_sigs)?;
        self.ingest.add_items(1);
        Ok(())
    }

    fn stopped(&self) -> EngineError {
        EngineError::Failed(self.shared.failure_of_a_stop())
    }

    /// Waits up to `timeout` for `hash_D` of `slot`: [`Waited::Hash`] once the domain has
    /// executed it; [`Waited::NotFound`] when it never will (a later slot executed without it:
    /// it was skipped; older than the slots the engine remembers; the engine finished);
    /// [`Waited::TimedOut`] when it is not there by then (it may come later, or never be
    /// submitted). A failure of the engine is an error.
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
            if let Some(failure) = &p.failure {
                return Err(EngineError::Failed(Arc::clone(failure)));
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
            p = self
                .shared
                .changed
                .wait_timeout(p, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
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
        let halt = self
            .shared
            .agreement
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .halt()
            .cloned();
        let halted = self.halted();
        Ok(EngineSummary {
            slot: runtime.slot(),
            hashes: [runtime.hash(Domain::Ved), runtime.hash(Domain::Ued)],
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

/// How a stage's thread starts: named, pinned to its stage's first PU, and at a lower priority
/// for the UED side.
struct StageThread {
    /// The thread's name ([`thread_name`]).
    name: String,
    stage: Stage,
    low_priority: bool,
    placement: Option<Arc<Placement>>,
    shared: Arc<Shared>,
    /// Where the thread reports whether it could be pinned (before its body runs).
    pinned: Sender<Result<(), PinError>>,
}

/// The stage threads [`Engine::start`] spawns (sigverify for each domain, the VED, the UED): the
/// capacity of the channel they report their pinning on.
const STAGE_THREADS: usize = 4;

impl StageThread {
    fn spawn<T: Send + 'static>(
        self,
        body: impl FnOnce() -> T + Send + 'static,
    ) -> std::io::Result<JoinHandle<T>> {
        let StageThread {
            name,
            stage,
            low_priority,
            placement,
            shared,
            pinned,
        } = self;
        debug_assert!(
            name.len() <= MAX_THREAD_NAME,
            "{name}: the OS would show it cut short"
        );
        #[cfg(test)]
        if tests::REFUSED_STAGE.with(|r| r.get()) == Some(name.as_str()) {
            return Err(std::io::Error::other("refused by the test"));
        }
        std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                let pin = placement
                    .as_ref()
                    .map_or(Ok(()), |p| p.pin_thread_to_stage(stage));
                if let Err(e) = &pin {
                    // Nobody submits before `start` has heard every stage: this only stops the
                    // stages, which then wait for their queues to close.
                    shared.fail(Failure::Pin {
                        stage: stage.setting_name(),
                        error: e.clone(),
                    });
                }
                let _ = pinned.send(pin);
                drop(pinned);
                if low_priority {
                    super::pin::lower_priority();
                }
                // A panic stops the engine like any failure (waiters learn it at once, naming the
                // thread), and goes on to `finish`.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or_else(
                    |panic| {
                        let what = panic
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "a panic".into());
                        shared.fail(Failure::Panicked {
                            thread: name.to_owned(),
                            what,
                        });
                        std::panic::resume_unwind(panic)
                    },
                )
            })
    }
}

/// The bytes of a thread's name the OS keeps (Linux's `TASK_COMM_LEN` less its NUL).
const MAX_THREAD_NAME: usize = 15;

/// The name of the thread of the stage `label` (its name in the metrics): `tandem-` and the
/// label, `sigverify` shortened to `sigv` — the OS keeps 15 bytes of a thread's name, which
/// `top -H`, `ps -L` and `/proc/<pid>/task/*/comm` show, so both sigverify threads would be
/// `tandem-sigverif` there.
fn thread_name(label: &str) -> String {
    // (A helper's name, `tandem-helper-<PU>`, fits up to PU 99,999.)
    format!("tandem-{}", label.replace("sigverify", "sigv"))
}

/// What one sigverify stage verifies, and with what.
struct SigverifySide<'a> {
    /// Its side's verifier (signer cache, GPU device).
    verifier: &'a Ed25519Verifier,
    /// PUs to spread each batch over besides the stage's own thread.
    helpers: &'a [usize],
    /// The VED's side (`true`) or the UED's.
    ved: bool,
    /// The VED's side: the ring of the VED's publishing its keys, whose voters' tables the
    /// stage builds.
    voters: Option<Receiver<()>>,
    /// The UED's side: how long each block's user signatures let its vote go first
    /// ([`EngineConfig::ued_yield_limit`]).
    yield_limit: Duration,
}

/// A sigverify stage: verifies the transactions of each block guessed to be its side's
/// (`ved`: the VED's), on its own thread with its side's signer cache, and hands the answers
/// on.
fn sigverify_loop(
    shared: &Shared,
    metrics: &StageMetrics,
    side: SigverifySide<'_>,
    input: Receiver<Arc<Ingested>>,
    mut send: impl FnMut(Arc<Ingested>, Vec<Option<bool>>) -> bool,
) {
    let SigverifySide {
        verifier,
        helpers,
        ved,
        voters,
        yield_limit,
    } = side;
    let prepares = voters.is_some();
    let published = voters.unwrap_or_else(crossbeam_channel::never);
    loop {
        // A block, or (`None`) the VED's ring — heard first when both are there, so a new
        // voter's table is built before the block with its first vote is verified (a block
        // the stage took before the VED published is verified without it); the input's end
        // stops the stage.
        let next = if published.try_recv().is_ok() {
            Ok(None)
        } else {
            metrics.idle(|| {
                crossbeam_channel::select! {
                    recv(input) -> block => block.map(Some),
                    recv(published) -> _ => Ok(None),
                }
            })
        };
        let Ok(next) = next else {
            return;
        };
        let Some(ingested) = next else {
            // The VED published keys: the voters' tables, while there is no block to verify
            // (every voter's: one that found no place before may find one now; those with a
            // table cost a lookup).
            if prepares {
                let keys = shared.ved_keys();
                metrics.busy(|| prepare_vote_signers(verifier, helpers, &keys.signers));
            }
            continue;
        };
        metrics.set_queue_depth(input.len() as u64);
        // The user side (the VED's has no limit) lets the block's vote go first, when the block
        // has work for it.
        if !ved && !yield_limit.is_zero() && ingested.whole_guess().contains(&false) {
            let slot = ingested.block.header.slot;
            if let Some(waited) = metrics.idle(|| shared.yield_to_vote(slot, yield_limit)) {
                shared.metrics.record_ued_yield(waited);
            }
        }
        let wires = &ingested.block.transactions;
        let mut verified = vec![None; wires.len()];
        // This side's transactions: the user's whole; the VED's part by part as ingest guesses
        // them (the parts there by then at once), until the parts end.
        let user = (!ved).then(|| {
            let guess = ingested.whole_guess();
            (0..guess.len())
                .filter(|&i| !guess[i])
                .collect::<Vec<usize>>()
        });
        let ved_parts = std::iter::from_fn(|| {
            if !ved {
                return None;
            }
            let mut mine = metrics.idle(|| ingested.ved_parts.recv()).ok()?;
            mine.extend(ingested.ved_parts.try_iter().flatten());
            Some(mine)
        });
        for mine in user.into_iter().chain(ved_parts) {
            let done = metrics.busy(|| {
                // One that does not parse is left unverified (ingest refuses its block).
                let (mine, transactions): (Vec<usize>, Vec<Transaction<'_>>) = mine
                    .into_iter()
                    .filter_map(|i| Transaction::parse(&wires[i]).ok().map(|tx| (i, tx)))
                    .unzip();
                let answers = verify_spread(verifier, helpers, &transactions)?;
                #[cfg(test)]
                if ved {
                    let count = answers.len();
                    shared.ved_sigverified.fetch_add(count, Ordering::Relaxed);
                }
                for (i, ok) in mine.into_iter().zip(answers) {
                    verified[i] = Some(ok);
                }
                Ok::<_, RuntimeError>(())
            });
            if let Err(e) = done {
                return shared.fail(e);
            }
        }
        metrics.add_items(1);
        if !metrics.blocked(|| send(ingested, verified)) {
            return;
        }
    }
}

/// Verifies `transactions` on the calling thread and, when `helpers` names PUs, on one more
/// thread pinned to each of them ([`spread`]). A batch the verifier sends to the GPU goes whole,
/// from the calling thread.
fn verify_spread(
    verifier: &Ed25519Verifier,
    helpers: &[usize],
    transactions: &[Transaction<'_>],
) -> Result<Vec<bool>, RuntimeError> {
    let verify = |part: &[Transaction<'_>]| ingest::verify_signatures_with(verifier, part.iter());
    let signatures = transactions.iter().map(|tx| tx.signatures().len()).sum();
    if verifier.uses_gpu_for(signatures) {
        return verify(transactions);
    }
    spread(helpers, transactions, verify)
}

/// Builds the tables of the voters' keys `signers` in the VED's verifier
/// ([`Ed25519Verifier::prepare_signers`]) on the calling thread and the helpers' PUs: at start,
/// and after a boundary that brought new voters, so that no vote waits for its signer's table
/// (a thousand voters' tables cost about four blocks' worth of their signatures).
fn prepare_vote_signers(verifier: &Ed25519Verifier, helpers: &[usize], signers: &[[u8; 32]]) {
    // The places follow the VED's voters (they only grow): room for every one before its table.
    verifier.cache().grow_to(vote_signer_places(signers.len()));
    let prepare =
        |part: &[[u8; 32]]| Ok::<_, std::convert::Infallible>(vec![verifier.prepare_signers(part)]);
    let Ok(counts) = spread(helpers, signers, prepare);
    let prepared: usize = counts.into_iter().sum();
    log::debug!(
        "the VED's verifier holds the tables of {prepared} of its {} voters' keys",
        signers.len()
    );
}

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
struct VedStart {
    executor: VedExecutor,
    logged: VecDeque<LoggedSlot>,
    log: VedLog,
    /// The UED's epoch handoffs ([`EpochHandoff`]), one per boundary the VED crossed alone.
    handoffs: Receiver<EpochHandoff>,
    /// How long it waits at a boundary before the engine halts.
    patience: Duration,
    /// The most blocks it keeps for the accounts moving into the VED while it waits for the
    /// handoff that names them ([`Retained`]).
    retain_limit: usize,
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
    fn keep(&mut self, ingested: &Arc<Ingested>, recent: VecDeque<[u8; 32]>) {
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
            ved.go_over(&ingested.block, payers, &recent)?;
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

/// Waits for the UED's answer at the boundary of `slot`; past `patience` the engine halts
/// ([`Alert::UedLagging`]) and goes on waiting. `None` when the UED stopped.
fn wait_for_ued<T>(
    shared: &Shared,
    metrics: &StageMetrics,
    answer: &Receiver<T>,
    patience: Duration,
    slot: u64,
) -> Option<T> {
    let waited = Instant::now();
    shared.metrics.begin_boundary_wait();
    shared.set_ved_waits_for_ued(true);
    let answer = metrics.blocked(|| match answer.recv_timeout(patience) {
        Err(RecvTimeoutError::Timeout) => {
            // Once: an engine halted already (by this, at an earlier boundary, or by a
            // divergence) stays halted, and says so once.
            if !shared.metrics.is_halted() {
                shared.raise(Alert::UedLagging {
                    boundary_slot: slot,
                    ued_slot: shared.metrics.snapshot().ued_slot,
                    waited: waited.elapsed(),
                });
            }
            answer.recv().ok()
        }
        other => other.ok(),
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

/// The VED stage: executes each block's VED part, publishes its hash (the vote point) and logs
/// it (the VED's durable commit point). A block it logged before a restart is not executed
/// again: its record stands for it. At an epoch boundary it crosses on its own when it can
/// ([`crate::runtime::executor`]); otherwise the UED executes the block whole.
fn ved_loop(
    shared: &Shared,
    metrics: &StageMetrics,
    start: VedStart,
    input: Receiver<VedJob>,
    output: Sender<UedJob>,
    mut on_vote: Option<VoteHook>,
) {
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
    while let Ok(VedJob { ingested, verified }) = metrics.idle(|| input.recv()) {
        metrics.set_queue_depth(input.len() as u64);
        let Some(accepted) = metrics.idle(|| ingested.verdict.wait()) else {
            continue; // refused at ingest: nothing happened
        };
        let payers = &accepted.payers;
        let block = &ingested.block;
        let header = &block.header;
        let slot = header.slot;
        let record = match logged.front() {
            // The VED logged a later slot next: this chain is not the one it executed.
            Some(record) if slot < record.ved.slot => {
                return shared.fail(Failure::NotTheLoggedChain(format!(
                    "block {slot} comes before slot {}, the next block the VED executed and \
                     logged before the restart: not the chain it executed",
                    record.ved.slot
                )));
            }
            // Executed and logged before the restart: the record stands for it.
            Some(record) if record.ved.slot <= slot => {
                let record = logged.pop_front().expect("a front record");
                if record.ved.slot != slot || record.blockhash != header.blockhash {
                    return shared.fail(Failure::NotTheLoggedChain(format!(
                        "block {slot} (blockhash {}) is not the block the VED executed and \
                         logged as slot {} before the restart",
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
                ved.schedule_slashes(&accepted.slashes);
                if ved.crosses_boundary(block) {
                    if ved.awaits_handoff().is_some() {
                        // Here unless the UED has not entered the VED's epoch yet (it lags by
                        // a whole epoch): then SPEC §5's wait.
                        let handoff = handoffs
                            .try_recv()
                            .ok()
                            .or_else(|| wait_for_ued(shared, metrics, &handoffs, patience, slot));
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
                            if metrics.blocked(|| output.send(job)).is_err() {
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
                            let local = Some((Domain::Ved, slot, done.ved_hash));
                            shared.agree(local, &done.votes, Some(ved.ved_stake()));
                            vote(
                                shared,
                                &ingested,
                                (slot, done.ved_hash),
                                &mut on_vote,
                                || {},
                                true,
                            );
                            metrics.add_items(1);
                            continue;
                        }
                        Err(e) => return shared.fail(e),
                    }
                }
                let recent = ved.recent_blockhashes().clone();
                let result = metrics.busy(|| ved.execute(block, payers, &verified));
                let mut done = match result {
                    Ok(done) => done,
                    Err(e) => return shared.fail(e),
                };
                // The UED needs check 1's answers for transactions guessed VED that are its
                // own.
                done.verified = guessed_ued(&done, &verified);
                // The vote point is now; the log and the hand-over to the UED follow.
                let local = Some((Domain::Ved, slot, done.ved_hash));
                shared.agree(local, &done.votes, Some(ved.ved_stake()));
                vote(
                    shared,
                    &ingested,
                    (slot, done.ved_hash),
                    &mut on_vote,
                    || {
                        shared.index_ved(block, &done);
                    },
                    true,
                );
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
                metrics.busy(|| ved.make_room_for_the_next_block());
                ved.finish_going_over(&mut done);
                let record = LoggedSlot {
                    parent_slot: header.parent_slot,
                    blockhash: header.blockhash,
                    unix_timestamp_ms: header.unix_timestamp_ms,
                    ved: done,
                };
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
                if metrics.blocked(|| output.send(job)).is_err() {
                    return;
                }
                continue;
            }
        };
        // This run's guess, not the logged run's: an account that moved into the VED after the
        // block (the log crossed the boundary before the restart) was guessed VED now, so the
        // UED's sigverify left its transactions in this block to the VED's.
        done.verified = guessed_ued(&done, &verified);
        let hash = done.ved_hash;
        shared.agree(
            Some((Domain::Ved, slot, hash)),
            &done.votes,
            Some(ved.ved_stake()),
        );
        let index = || shared.index_ved(&ingested.block, &done);
        vote(shared, &ingested, (slot, hash), &mut on_vote, index, false);
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
        if metrics.blocked(|| output.send(job)).is_err() {
            return;
        }
    }
}

/// The vote point of `slot`: its time-to-vote and the vote hook first (unless the engine is
/// halted), then `index` (the statuses a waiter woken by the hash must find), then the hash
/// published to waiters. Nothing the vote waits for takes a lock the UED's threads hold for long.
/// `executed` is false for a slot the VED executed before a restart (its log's record stands
/// for it): its vote point is handed on, but it is no time-to-vote.
fn vote(
    shared: &Shared,
    ingested: &Ingested,
    (slot, ved_hash): (u64, [u8; 32]),
    on_vote: &mut Option<VoteHook>,
    index: impl FnOnce(),
    executed: bool,
) {
    let time_to_vote = ingested.submitted.elapsed();
    // A halted engine executes on (its store stays inspectable) but votes no more.
    if !shared.metrics.is_halted() {
        if executed {
            shared.metrics.record_time_to_vote(time_to_vote);
        }
        if let Some(on_vote) = on_vote {
            on_vote(Vote {
                slot,
                ved_hash,
                time_to_vote,
            });
        }
    }
    index();
    shared.metrics.publish_ved_slot(slot);
    shared.publish(Domain::Ved, slot, ved_hash);
}

/// The transactions of a slot the VED executed (its payer in the VED).
fn ved_executed(done: &VedSlot) -> u64 {
    let domains = done.admission.payer_domain.iter();
    domains.filter(|d| **d == Some(Domain::Ved)).count() as u64
}

/// Enters a committed slot's statuses, every domain's, into the live index, and lets the
/// oldest blocks leave it: [`INDEX_PART`] signatures under each hold of the lock, which the
/// VED takes before each vote point it publishes. (A reader between two parts finds a
/// transaction of the block either entered or still as the VED, the in-flight blocks or the
/// stored index tell it: the block is committing, its hash not yet published.)
fn index_outcome(shared: &Shared, outcome: &BlockOutcome) {
    let slot = outcome.slot;
    let entries: Vec<([u8; 64], IndexedTx)> = outcome
        .transactions
        .iter()
        .filter_map(|t| {
            let tx = IndexedTx {
                slot,
                domain: t.domain,
                status: t.status,
            };
            t.signature.map(|s| (s, tx))
        })
        .collect();
    enter_committed(&shared.live, slot, &entries);
}

/// [`index_outcome`]'s work on the index: `entries` of the committed `slot` entered, and the
/// oldest blocks let go, [`INDEX_PART`] signatures under each hold of the lock; how many
/// holds it took.
fn enter_committed(live: &Mutex<LiveIndex>, slot: u64, entries: &[([u8; 64], IndexedTx)]) -> usize {
    let live = || live.lock().unwrap_or_else(PoisonError::into_inner);
    // An empty block still has its place among the blocks kept.
    live().enter(slot, []);
    let mut holds = 1;
    for part in entries.chunks(INDEX_PART) {
        live().enter(slot, part.iter().copied());
        holds += 1;
    }
    loop {
        holds += 1;
        if !live().evict(INDEX_PART) {
            return holds;
        }
    }
}

/// The UED stage's queues.
struct UedLinks {
    /// The blocks, from the VED.
    input: Receiver<UedJob>,
    /// Check 1's answers for the UED's transactions, in block order.
    sigs: Receiver<UedSigs>,
    /// Account reads ([`Engine::account`]).
    reads: Receiver<AccountRead>,
    /// The epoch handoffs to the VED.
    handoffs: Sender<EpochHandoff>,
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

/// The UED stage: the UED part of each block, after the VED's, and the commit of the slot.
fn ued_loop(
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
    while let Ok(job) = metrics.idle(|| next_job(&runtime)) {
        metrics.set_queue_depth(input.len() as u64);
        let ingested = match &job {
            UedJob::Slot { ingested, .. } | UedJob::Boundary { ingested, .. } => {
                Arc::clone(ingested)
            }
        };
        let boundary = matches!(job, UedJob::Boundary { .. });
        let block = &ingested.block;
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
        shared.agree(Some((Domain::Ued, slot, outcome.ued_hash)), &[], None);
        shared.metrics.publish_ued_slot(slot);
        shared.publish(Domain::Ued, slot, outcome.ued_hash);
        // The oldest slot the status index answers for: its files now (not those read at
        // open, which would hold the cluster view at the slot the engine opened at).
        let oldest_indexed = runtime.oldest_indexed_slot();
        shared
            .oldest_indexed
            .store(oldest_indexed.unwrap_or(0), Ordering::Relaxed);
        let confirmations = {
            let mut agreement = shared
                .agreement
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let slots_per_epoch = runtime.cluster().slots_per_epoch;
            agreement.prune(vote_log::kept_from(slot, slots_per_epoch, oldest_indexed));
            // Only the slots the status index answers for: the agreement keeps up to an epoch.
            agreement.confirmations_from(oldest_indexed.unwrap_or(0))
        };
        // Those of the slots the status index answers for, with the ones stored before the
        // engine opened (a store written before the vote log existed has only these): a
        // restart forgets no confirmation.
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
        if let Err(e) = status_index::write_confirmations(&shared.dir, &confirmations) {
            shared.fail(e);
            break;
        }
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
    runtime
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// Makes `submit` panic right after it handed the block to the VED's sigverify stage.
        pub(super) static PANIC_AFTER_THE_VED_COPY: std::cell::Cell<bool> =
            const { std::cell::Cell::new(false) };
        /// The stage thread (`tandem-ved`, `tandem-ued`, …) `Engine::start` is refused, as by
        /// an OS out of threads.
        pub(super) static REFUSED_STAGE: std::cell::Cell<Option<&'static str>> =
            const { std::cell::Cell::new(None) };
    }

    #[test]
    fn the_vote_signer_cache_has_a_place_for_every_voter_and_room_for_more() {
        assert_eq!(vote_signer_places(0), VOTE_SIGNER_CACHE);
        assert_eq!(vote_signer_places(1_000), VOTE_SIGNER_CACHE);
        assert_eq!(
            vote_signer_places(VOTE_SIGNER_CACHE / 2 + 1),
            VOTE_SIGNER_CACHE + 2
        );
        // 2,500 voters once had 2,048 places: 452 of them verified without a table every slot.
        assert_eq!(vote_signer_places(2_500), 5_000);
        assert_eq!(vote_signer_places(usize::MAX), usize::MAX);
    }

    #[test]
    fn preparing_the_voters_grows_their_cache_to_the_places_they_need() {
        let cache = Arc::new(SignerCache::new(VOTE_SIGNER_CACHE));
        let verifier = Ed25519Verifier::with_cache(Backend::Cpu, Arc::clone(&cache));
        let voter = ed25519_dalek::SigningKey::from_bytes(&[7; 32])
            .verifying_key()
            .to_bytes();
        // As many signers as a VED of 1,200 voters brings (one key, one table: a quick test).
        prepare_vote_signers(&verifier, &[], &vec![voter; 1_200]);
        assert_eq!(cache.capacity(), 2_400);
        assert!(
            cache.get(&voter).is_some(),
            "the voter's table, in its place"
        );
        // A VED that shrinks leaves the places as they are.
        prepare_vote_signers(&verifier, &[], &[voter]);
        assert_eq!(cache.capacity(), 2_400);
    }

    /// Sets a flag when dropped, a while after: what a stage thread holds goes when it ends.
    struct SetWhenDropped(Arc<std::sync::atomic::AtomicBool>);

    impl Drop for SetWhenDropped {
        fn drop(&mut self) {
            std::thread::sleep(Duration::from_millis(200));
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn every_stage_thread_has_a_name_the_os_shows_whole_and_apart() {
        let names: Vec<String> = ["sigverify-ved", "sigverify-ued", "ved", "ued"]
            .into_iter()
            .map(thread_name)
            .collect();
        for name in &names {
            assert!(name.len() <= MAX_THREAD_NAME, "{name}");
        }
        let cut: std::collections::HashSet<&str> = names
            .iter()
            .map(|n| &n[..n.len().min(MAX_THREAD_NAME)])
            .collect();
        assert_eq!(cut.len(), names.len(), "{names:?}");
        assert_eq!(names[0], "tandem-sigv-ved");
    }

    #[test]
    fn a_stage_the_os_refuses_to_start_stops_and_joins_the_stages_started_before_it() {
        let genesis = crate::genesis::Genesis::default_cluster();
        for refused in ["tandem-sigv-ued", "tandem-ved", "tandem-ued"] {
            let dir = tempfile::tempdir().expect("dir");
            // The VED's thread holds the vote hook: it is dropped when that thread ends.
            let ended = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let held = SetWhenDropped(Arc::clone(&ended));
            let hooks = EngineHooks {
                on_vote: Some(Box::new(move |_| {
                    let _ = &held;
                })),
                ..EngineHooks::default()
            };
            let config = EngineConfig {
                backend: Backend::Cpu,
                ..EngineConfig::default()
            };
            REFUSED_STAGE.with(|r| r.set(Some(refused)));
            let opened = Engine::open(&genesis, dir.path(), config, hooks);
            REFUSED_STAGE.with(|r| r.set(None));
            let Err(error) = opened else {
                panic!("{refused}: the engine started without that stage");
            };
            assert!(error.to_string().contains("refused by the test"), "{error}");
            // Whether its thread started or not, the hook is gone once `open` returns.
            assert!(
                ended.load(Ordering::SeqCst),
                "{refused}: open returned with a stage before it still running"
            );
        }
    }

    /// An engine on the CPU backend over `genesis`, its store in `dir`.
    fn cpu_engine(genesis: &crate::genesis::Genesis, dir: &Path) -> Engine {
        let config = EngineConfig {
            backend: Backend::Cpu,
            ..EngineConfig::default()
        };
        Engine::open(genesis, dir, config, EngineHooks::default()).expect("engine")
    }

    #[test]
    fn the_votes_of_every_part_of_a_block_are_verified_by_the_veds_sigverify_stage() {
        // Blocks of more than three guess parts, the VED's transactions (the votes) moved to
        // the last part: the VED's sigverify stage waits for the parts ingest guesses after
        // handing the block over, verifies every one of them (none is left to the VED's
        // thread), and the results are the sequential runtime's.
        use crate::workload::{WorkloadConfig, generate_all};
        let genesis = crate::genesis::Genesis::default_cluster();
        let scratch = tempfile::tempdir().expect("dir");
        let config = WorkloadConfig {
            slots: 2,
            transfers: 3 * GUESS_PART + 100,
            seed: 11,
            ..WorkloadConfig::default()
        };
        let (blocks, _) = generate_all(&genesis, &config, scratch.path()).expect("generated");
        let dir = tempfile::tempdir().expect("dir");
        let engine = cpu_engine(&genesis, dir.path());
        let payers = engine.shared.ved_keys();
        let mut ved = 0;
        let blocks: Vec<Block> = blocks
            .into_iter()
            .map(|mut block| {
                let guess = super::super::guess::guess_ved(&block.transactions, &payers.payers);
                let (mine, user): (Vec<_>, Vec<_>) =
                    block.transactions.iter().zip(guess).partition(|(_, v)| *v);
                ved += mine.len();
                block.transactions = user.into_iter().chain(mine).map(|(w, _)| w).collect();
                block
            })
            .collect();
        assert!(ved > 0 && blocks.iter().all(|b| b.transactions.len() > 3 * GUESS_PART));
        let scratch = tempfile::tempdir().expect("dir");
        let mut runtime = crate::runtime::Runtime::open(&genesis, scratch.path()).expect("open");
        let want = blocks
            .iter()
            .map(|b| runtime.execute_block(b).expect("block"))
            .last()
            .expect("blocks");
        for block in blocks {
            engine.submit(block).expect("submit");
        }
        let shared = Arc::clone(&engine.shared);
        let summary = engine.finish().expect("finish");
        assert_eq!(summary.hashes, [want.ved_hash, want.ued_hash]);
        assert_eq!(shared.ved_sigverified.load(Ordering::Relaxed), ved);
    }

    #[test]
    fn a_panic_in_submit_after_the_veds_copy_does_not_leave_the_ved_waiting() {
        let genesis = crate::genesis::Genesis::default_cluster();
        let dir = tempfile::tempdir().expect("dir");
        let engine = cpu_engine(&genesis, dir.path());
        let block = Block {
            header: crate::ledger::BlockHeader {
                slot: 1,
                parent_slot: 0,
                leader: genesis.validators[0].node,
                unix_timestamp_ms: genesis.cluster.unix_timestamp_ms + 400,
                blockhash: [9; 32],
            },
            transactions: Transactions::new(),
        };
        PANIC_AFTER_THE_VED_COPY.with(|p| p.set(true));
        let submitted =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.submit(block)));
        PANIC_AFTER_THE_VED_COPY.with(|p| p.set(false));
        assert!(submitted.is_err(), "the test's panic");
        // Dropping the engine closes its queues and joins its stages: the VED had a verdict.
        let (dropped, was_dropped) = bounded::<()>(1);
        std::thread::spawn(move || {
            drop(engine);
            let _ = dropped.send(());
        });
        assert!(
            was_dropped.recv_timeout(Duration::from_secs(60)).is_ok(),
            "the VED waited for the block's verdict for ever"
        );
    }

    #[test]
    fn a_stage_raising_an_alert_while_the_hook_runs_another_does_not_wait_for_it() {
        // Stage A's alert is in the hook, which waits (as a hook asking the UED's thread for an
        // account would); stage B raises another: it goes on at once, and the hook gets both,
        // in order, on A's thread. Before, B waited for the hook's lock.
        let lag = |slot| Alert::UedLagging {
            boundary_slot: slot,
            ued_slot: 0,
            waited: Duration::from_secs(1),
        };
        let (entered, hook_entered) = bounded::<()>(1);
        let (release, released) = bounded::<()>(1);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen_by_hook = Arc::clone(&seen);
        let delivery = Arc::new(AlertDelivery::new(Some(Box::new(move |alert: &Alert| {
            let Alert::UedLagging { boundary_slot, .. } = alert else {
                unreachable!("lag alerts only")
            };
            seen_by_hook.lock().unwrap().push(*boundary_slot);
            if *boundary_slot == 32 {
                entered.send(()).unwrap();
                released.recv().unwrap();
            }
        }))));
        let a = {
            let delivery = Arc::clone(&delivery);
            std::thread::spawn(move || delivery.deliver(lag(32)))
        };
        hook_entered.recv().unwrap();
        let (done, b_done) = bounded::<()>(1);
        let b = {
            let delivery = Arc::clone(&delivery);
            std::thread::spawn(move || {
                delivery.deliver(lag(64));
                done.send(()).unwrap();
            })
        };
        assert!(
            b_done.recv_timeout(Duration::from_secs(10)).is_ok(),
            "stage B waited for the hook"
        );
        release.send(()).unwrap();
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(*seen.lock().unwrap(), [32, 64]);
    }
    use crate::runtime::TxStatus;
    use crate::sample::{SplitMix64, transfer_message};
    use ed25519_dalek::SigningKey;

    /// `n` signed transfers; those at `forged` carry another message's signature.
    fn transfers(n: usize, forged: &[usize]) -> Vec<Vec<u8>> {
        let mut rng = SplitMix64::new(3);
        let mut wires: Vec<Vec<u8>> = (0..n)
            .map(|_| {
                let mut seed = [0; 32];
                rng.fill(&mut seed);
                let payer = SigningKey::from_bytes(&seed);
                let from = Pubkey(payer.verifying_key().to_bytes());
                let message = transfer_message(from, rng.pubkey(), 1, [7; 32]);
                Transaction::sign(&message, &[&payer]).expect("signs")
            })
            .collect();
        for &i in forged {
            let other = wires[(i + 1) % n][1..65].to_vec();
            wires[i][1..65].copy_from_slice(&other);
        }
        wires
    }

    #[test]
    fn the_live_index_answers_for_the_transaction_that_ran() {
        let tx = |slot, domain, status| IndexedTx {
            slot,
            domain,
            status,
        };
        let ran = tx(5, Some(Domain::Ued), TxStatus::Success);
        let mut live = LiveIndex::default();
        // The VED, ahead, decides a forged copy of the signature in slot 7 (no domain: final at
        // once) before the UED commits slot 5, where the transaction ran; then slot 8 replays it.
        live.insert(7, [([1; 64], tx(7, None, TxStatus::InvalidSignature))]);
        live.insert(5, [([1; 64], ran)]);
        live.insert(
            8,
            [(
                [1; 64],
                tx(8, Some(Domain::Ued), TxStatus::DuplicateSignature),
            )],
        );
        assert_eq!(live.txs[&[1; 64]], ran);
        // A forged copy first, the transaction after: the transaction.
        live.insert(9, [([2; 64], tx(9, None, TxStatus::InvalidSignature))]);
        live.insert(
            10,
            [([2; 64], tx(10, Some(Domain::Ved), TxStatus::Success))],
        );
        assert_eq!(live.txs[&[2; 64]].slot, 10);
        // Slot 9 leaving the index takes nothing of slot 10's with it; slot 10 leaving does.
        for slot in 11..(9 + KEPT_BLOCKS as u64) {
            live.insert(slot, []);
        }
        assert!(live.blocks.contains_key(&9));
        live.insert(9 + KEPT_BLOCKS as u64, []);
        assert!(!live.blocks.contains_key(&9));
        assert_eq!(live.txs[&[2; 64]].slot, 10);
        live.insert(10 + KEPT_BLOCKS as u64, []);
        assert!(!live.txs.contains_key(&[2; 64]));
    }

    #[test]
    fn the_oldest_blocks_leave_the_live_index_a_part_at_a_time() {
        let tx = |slot| IndexedTx {
            slot,
            domain: Some(Domain::Ued),
            status: TxStatus::Success,
        };
        let signature = |slot: u64, i: u16| {
            let mut s = [0; 64];
            s[..8].copy_from_slice(&slot.to_le_bytes());
            s[8..10].copy_from_slice(&i.to_le_bytes());
            s
        };
        let mut live = LiveIndex::default();
        let entered = live.enter(1, (0..2_500).map(|i| (signature(1, i), tx(1))));
        assert_eq!(entered, 2_500);
        for slot in 2..=1 + KEPT_BLOCKS as u64 {
            assert_eq!(live.enter(slot, []), 0);
        }
        live.enter(2, [(signature(2, 0), tx(2))]);
        // Slot 1 is past the blocks kept: it leaves a part at a time, the others stay.
        assert!(live.evict(INDEX_PART));
        assert_eq!(live.txs.len(), 2_501 - INDEX_PART);
        assert!(live.evict(INDEX_PART));
        assert!(!live.evict(INDEX_PART), "the last part");
        assert!(!live.blocks.contains_key(&1));
        assert_eq!(live.blocks.len(), KEPT_BLOCKS);
        assert_eq!(live.txs.keys().collect::<Vec<_>>(), [&signature(2, 0)]);
        assert!(!live.evict(INDEX_PART), "nothing more to leave");

        // A committed block of 2,500 statuses, entered by the UED: a part per hold of the lock
        // the VED takes before each vote point (it was one hold for the whole block), and the
        // oldest block let go the same way.
        let live = Mutex::new(LiveIndex::default());
        let block = |slot: u64| -> Vec<([u8; 64], IndexedTx)> {
            (0..2_500).map(|i| (signature(slot, i), tx(slot))).collect()
        };
        // (An empty block's place, 3 parts, and a look for blocks to let go: none yet.)
        assert_eq!(enter_committed(&live, 1, &block(1)), 5);
        for slot in 2..=KEPT_BLOCKS as u64 {
            enter_committed(&live, slot, &[]);
        }
        // (The empty block's place, then slot 1 leaving in 3 parts, the last one its end.)
        assert_eq!(enter_committed(&live, 1 + KEPT_BLOCKS as u64, &[]), 4);
        let live = live.into_inner().unwrap();
        assert!(!live.blocks.contains_key(&1) && live.txs.is_empty());
    }

    #[test]
    fn a_slot_the_ued_just_committed_stays_however_far_ahead_the_ved_is() {
        // The VED indexes slots 400..=800 (its queue to the UED is 400 deep), then the UED
        // commits slot 399: with only the status window kept, slot 399 was the lowest and left
        // at once, and its transactions answered Unknown right after their UED hash.
        let depth = 400;
        let mut live = LiveIndex::ahead_by(depth + 2);
        let tx = |slot| IndexedTx {
            slot,
            domain: Some(Domain::Ued),
            status: TxStatus::Success,
        };
        for slot in 400..=800 {
            live.insert(slot, [([2; 64], tx(slot))]);
        }
        live.insert(399, [([1; 64], tx(399))]);
        assert_eq!(live.txs.get(&[1; 64]), Some(&tx(399)));
        let mut narrow = LiveIndex::ahead_by(0);
        for slot in 400..=800 {
            narrow.insert(slot, []);
        }
        narrow.insert(399, [([1; 64], tx(399))]);
        assert_eq!(narrow.txs.get(&[1; 64]), None, "what the window alone did");
    }

    #[test]
    fn spread_verification_answers_in_block_order() {
        let forged = [0, 33, 64, 65, 150, 199];
        let wires = transfers(200, &forged);
        let transactions: Vec<Transaction<'_>> = wires
            .iter()
            .map(|w| Transaction::parse(w).expect("parses"))
            .collect();
        let verifier = Ed25519Verifier::dedicated(Backend::Cpu, 16);
        let alone = verify_spread(&verifier, &[], &transactions).expect("verifies");
        let expected: Vec<bool> = (0..200).map(|i| !forged.contains(&i)).collect();
        assert_eq!(alone, expected);
        // Three helpers (all on PU 0: every machine has it) take chunks as they come.
        let spread = verify_spread(&verifier, &[0, 0, 0], &transactions).expect("verifies");
        assert_eq!(spread, expected);
    }
}
