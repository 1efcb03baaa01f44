//! The engine's setup: [`super::Engine::open`] and [`super::Engine::start`] recover each
//! domain's commit point (the store's slot, then the VED's log), rebuild the cluster view and the
//! live index, make the bounded queues and start the stage threads ([`StageThread`]: named,
//! pinned to their placement's PUs, the UED side at a lower priority, a panic turned into a
//! [`super::Failure`]). `start` returns once every stage is pinned and the vote path's devices
//! and voters' tables are ready; a stage that cannot start stops the ones started before it.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, bounded};
use tandem_kernels::Ed25519Verifier;
use tandem_kernels::sigverify::cache::SignerCache;

use super::alerts::AlertDelivery;
use super::config::{EngineConfig, EngineHooks};
use super::error::{EngineError, Failure};
use super::ingest::{Ingested, SPARE_BLOCK_BUFFERS};
use super::jobs::{AccountRead, UedJob, UedSigs, VedJob};
use super::live_index::LiveIndex;
use super::shared::{Progress, Shared, VedKeys};
use super::sigverify::{SigverifySide, VOTE_SIGNER_CACHE, prepare_vote_signers, sigverify_loop};
use super::ued::{UedLinks, ued_loop};
use super::ved::{VedStart, ved_loop};
use super::{Cursor, ENGINE_STAGES, Engine};
use crate::account::PerDomain;
use crate::cluster::{Agreement, Alert};
use crate::genesis::Genesis;
use crate::pipeline::HelperPool;
use crate::pipeline::metrics::EngineMetrics;
use crate::pipeline::pin::PinError;
use crate::pipeline::placement::{Placement, Stage};
use crate::runtime::executor::EpochHandoff;
use crate::runtime::status_index::StatusIndex;
use crate::runtime::ved_log::VedLog;
use crate::runtime::vote_log::VoteLog;
use crate::runtime::window::WINDOW;
use crate::runtime::{Runtime, vote_log};

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
        VedLog::check_chain(&dir, &logged, runtime.hash(crate::account::Domain::Ved))
            .map_err(EngineError::OpenLog)?;
        let mut ved = runtime.ved_executor();
        // The VED's total stake at each logged slot, as it executed it (the slot is judged
        // against it when its block comes again; the executor is past them all by then).
        let mut logged_totals = Vec::with_capacity(logged.len());
        for record in &logged {
            ved.replay(record).map_err(EngineError::Open)?;
            // The total the record gives is the one its VED had; replayed, the executor must
            // come to the same (`tandem status` reads the record's).
            debug_assert!(
                record
                    .ved_stake
                    .is_none_or(|logged| logged == ved.ved_stake()),
                "slot {}: the VED's total stake replayed differs from the one logged",
                record.ved.slot
            );
            logged_totals.push((record.ved.slot, ved.ved_stake()));
        }
        let ved_resumed_slot = ved.slot();
        let stored = StatusIndex::load(&dir, runtime.slot()).map_err(EngineError::Open)?;
        let halted = stored.halt().map(str::to_owned);
        let recorded_halt = stored.halt_record().and_then(Alert::from_halt_record);
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
        let mut halt = VoteLog::replay_into(&mut agreement, &dir, kept, u64::MAX)
            .map_err(EngineError::OpenLog)?;
        // Then the logged slots, as the engine saw them at their vote points before the
        // restart: each slot's total, its local VED hash and what its votes reported (their
        // blocks coming again count nothing twice), so that a status confirmed then is
        // confirmed now, not `Pending` until the host has submitted them again.
        for (record, &(slot, total)) in logged.iter().zip(&logged_totals) {
            agreement.record_total(slot, total);
            halt = halt.or(agreement.record_local(
                crate::account::Domain::Ved,
                slot,
                record.ved.ved_hash,
            ));
            halt = halt.or(agreement.record_votes(&record.ved.votes, slot));
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
            #[cfg(test)]
            fail_vote_sigverify: Default::default(),
            #[cfg(test)]
            ved_ahead_on_a_view: Default::default(),
            #[cfg(test)]
            waits_for_votes: Default::default(),
            ved_undone: Default::default(),
        });
        for record in &logged {
            shared.index_logged(record);
            // Its VED hash answers as it did before the restart (the metrics' VED slot says
            // so): the block that comes again must be the one logged.
            shared.publish(
                crate::account::Domain::Ved,
                record.ved.slot,
                record.ved.ved_hash,
            );
        }
        // The halt recorded before the restart is raised again, so that a host that polls
        // alerts after a restart learns why the engine it reopened is halted (the halt file
        // keeps the first reason); failing a record (a crash kept the halt from being
        // written, or a file of an earlier build), a divergence the kept votes show.
        if let Some(recorded) = recorded_halt {
            shared.raise(recorded);
        } else if let Some(halt) = halt {
            shared.raise(Alert::UedDivergence(halt));
        }
        let resumed_slot = runtime.slot();
        let resumed_blockhash = runtime.last_blockhash();
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
        let (ued_alive_tx, ued_alive_rx) = bounded::<()>(0);
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
            sigverify_stages: PerDomain::new(stage("sigverify-ved"), stage("sigverify-ued")),
            shared: Arc::clone(&shared),
            cursor,
            slots_per_epoch,
            ved_sigs: Some(ved_sigs_tx),
            ued_sigs: Some(ued_sigs_tx),
            threads: Vec::new(),
            ued_thread: None,
            reads: reads_tx,
            ued_alive: ued_alive_rx,
            slashes: Mutex::new(Vec::new()),
            ued_yield_limit: yield_limit,
            parse_pus: placement
                .as_ref()
                .map_or_else(Vec::new, |p| p.vote_sigverify_helpers()),
            resumed_slot,
            resumed_blockhash,
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
            let ved_m = stage("ved");
            // Sized to the voters when their tables are prepared, below and at each boundary.
            let vote_signers = Arc::new(SignerCache::new(VOTE_SIGNER_CACHE));
            shared.metrics.watch_vote_signers(Arc::clone(&vote_signers));
            engine.threads.push(
                (spawn("sigverify-ved", Stage::Ved, false).spawn(move || {
                    let voters = Ed25519Verifier::with_cache(backend, vote_signers);
                    let helpers = HelperPool::new(&vote_helpers);
                    voters.open_device();
                    // The voters' tables too, before `start` returns: no vote of the
                    // first blocks waits for them.
                    let keys = shared.ved_keys();
                    m.busy(|| prepare_vote_signers(&voters, &helpers, &keys.signers));
                    drop(votes_device_open);
                    sigverify_loop(
                        &shared,
                        &m,
                        SigverifySide {
                            verifier: &voters,
                            helpers: &helpers,
                            ved: true,
                            voters: Some(ved_keys_rung),
                            yield_limit: Duration::ZERO,
                        },
                        ved_sigs_rx,
                        |ingested, verified| {
                            let verified_at = Instant::now();
                            let job = VedJob {
                                ingested,
                                verified,
                                verified_at,
                            };
                            // The VED's queue as it fills: a VED stuck in one slot (its
                            // hook, a boundary) shows it, not the depth it last took from.
                            let sent = ved_tx.send(job).is_ok();
                            ved_m.set_queue_depth(ved_tx.len() as u64);
                            sent
                        },
                    )
                }))?,
            );
        }
        {
            let shared = Arc::clone(&shared);
            let m = stage("sigverify-ued");
            engine.threads.push(
                (spawn("sigverify-ued", user_stage, true).spawn(move || {
                    // Started on this thread: in its scheduling class (module docs).
                    let helpers = HelperPool::new(&user_helpers);
                    sigverify_loop(
                        &shared,
                        &m,
                        SigverifySide {
                            verifier: &Ed25519Verifier::shared(backend),
                            helpers: &helpers,
                            ved: false,
                            voters: None,
                            yield_limit,
                        },
                        ued_sigs_rx,
                        |ingested, verified| {
                            let slot = ingested.header.slot;
                            ued_ready_tx.send(UedSigs { slot, verified }).is_ok()
                        },
                    )
                }))?,
            );
        }
        {
            let ved_devices_open = devices_open.clone();
            let shared = Arc::clone(&shared);
            let m = stage("ved");
            engine.threads.push(
                (spawn("ved", Stage::Ved, false).spawn(move || {
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
                }))?,
            );
        }
        engine.ued_thread = Some({
            let shared = Arc::clone(&shared);
            let m = stage("ued");
            spawn("ued", Stage::Ued, true).spawn(move || {
                ued_loop(
                    &shared,
                    &m,
                    runtime,
                    UedLinks {
                        input: ued_rx,
                        sigs: ued_ready_rx,
                        reads: reads_rx,
                        handoffs: handoffs_tx,
                        alive: ued_alive_tx,
                    },
                    on_outcome,
                )
            })?
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
    /// Starts the thread; one the OS refuses is a [`Failure::Start`] naming it.
    pub(super) fn spawn<T: Send + 'static>(
        self,
        body: impl FnOnce() -> T + Send + 'static,
    ) -> Result<JoinHandle<T>, Failure> {
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
        let thread = name.clone();
        let refused = move |e: std::io::Error| Failure::Start(not_started(&thread, &e));
        #[cfg(test)]
        if tests::REFUSED_STAGE.with(|r| r.get()) == Some(name.as_str()) {
            return Err(refused(std::io::Error::from_raw_os_error(libc::EAGAIN)));
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
                    crate::pipeline::pin::lower_priority();
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
            .map_err(refused)
    }
}

/// What [`Failure::Start`] says of the thread `name` the OS refused to start with `error`: the
/// thread, and for `EAGAIN` the limits that answer it — of threads, or of memory for the
/// thread's stack (glibc answers a failed stack mapping with `EAGAIN` too).
fn not_started(name: &str, error: &std::io::Error) -> String {
    let limit = match error.kind() {
        std::io::ErrorKind::WouldBlock => {
            " (a limit of threads — `ulimit -u`, which counts the user's threads, a cgroup's \
             `pids.max`: systemd's TasksMax, docker's --pids-limit — or of memory, `ulimit -v`)"
        }
        _ => "",
    };
    format!("the thread {name} cannot be started: {error}{limit}")
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    use crate::runtime::Backend;

    thread_local! {
        /// The stage thread (`tandem-ved`, `tandem-ued`, …) `Engine::start` is refused, as by
        /// an OS out of threads.
        pub(super) static REFUSED_STAGE: std::cell::Cell<Option<&'static str>> =
            const { std::cell::Cell::new(None) };
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
            // Named, with the limit a refusal like this one (EAGAIN) meets.
            let said = error.to_string();
            assert!(
                said.contains(&format!(
                    "starting the engine: the thread {refused} cannot be started: "
                )) && said.contains("`ulimit -u`"),
                "{said}"
            );
            // Whether its thread started or not, the hook is gone once `open` returns.
            assert!(
                ended.load(Ordering::SeqCst),
                "{refused}: open returned with a stage before it still running"
            );
        }
    }
}
