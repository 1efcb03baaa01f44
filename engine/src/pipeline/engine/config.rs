//! How a host sets the engine up: [`EngineConfig`] (backend, UED threads, placement, queue
//! depth, boundary patience, the user side's yield to the vote) and [`EngineHooks`], the
//! callbacks the stages call at each vote point, committed block and alert.

use std::time::Duration;

use super::Vote;
use crate::cluster::Alert;
use crate::pipeline::placement::Placement;
use crate::runtime::{Backend, BlockOutcome};

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
    /// chain is twisted as a nondeterministic validator's would be
    /// ([`Runtime::inject_ued_fault`](crate::runtime::Runtime::inject_ued_fault)).
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
    /// (`docs/measurements/issue-10.md`, "The user side yields to the vote", measured on a
    /// 2-vCPU machine). Every plan
    /// verifies them on the sigverify PUs where the votes' helpers run
    /// ([`Placement::user_sigverify`], [`Placement::vote_sigverify_helpers`]), so the limit
    /// applies whatever the machine; only the batches a GPU feeder sends to a hardware GPU
    /// leave those PUs, and whether they then slow the votes' (a GPU the votes share, or not)
    /// has not been measured. [`DEFAULT_UED_YIELD_LIMIT`] by default; zero: they never wait.
    /// Ingest yields for as long at most: it parses a block with user transactions (its
    /// verdict) once the block's votes' signatures are verified.
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

/// A callback for each vote point.
pub type VoteHook = Box<dyn FnMut(Vote) + Send>;

/// A callback for each committed block.
pub type OutcomeHook = Box<dyn FnMut(&BlockOutcome) + Send>;

/// A callback for each alert.
pub type AlertHook = Box<dyn FnMut(&Alert) + Send>;

/// Callbacks the stages call as slots complete: `on_vote` on the VED thread, `on_outcome` on the
/// UED thread after the slot is committed. Keep them short: they run on the stages. The engine's
/// calls that the UED's thread answers ([`Engine::account`](super::Engine::account)) are refused
/// from the hooks it runs ([`EngineError::OnTheUedThread`](super::EngineError::OnTheUedThread)),
/// and those that may wait for either executor ([`Engine::submit`](super::Engine::submit),
/// [`Engine::schedule_slash`](super::Engine::schedule_slash)) from the hooks of both
/// ([`EngineError::FromAnExecutorHook`](super::EngineError::FromAnExecutorHook)), rather than wait
/// for themselves.
///
/// A hook must return: nothing wakes a stage waiting in its hook, and
/// [`Engine::finish`](super::Engine::finish) and the engine's drop wait for every stage. Nor
/// may a hook finish or drop the engine (one it holds through an `Arc`, say): that joins the
/// hook's own thread. A hook that panics stops the engine (`Failure::Panicked`); an alert
/// raised meanwhile is still there for [`Engine::poll_alert`](super::Engine::poll_alert).
#[derive(Default)]
pub struct EngineHooks {
    /// Each vote point, in slot order. Given before the VED logs the slot (its durable commit
    /// point; no fsync on the vote's path): after a crash between the two, another block for
    /// that slot gets a vote point of its own. Not voting twice on a slot is the vote signer's
    /// rule (Agave's tower, saved before each vote), kept by the host.
    pub on_vote: Option<VoteHook>,
    /// Each committed block's outcome, in slot order.
    pub on_outcome: Option<OutcomeHook>,
    /// Each alert (a halt), in the order raised (that of
    /// [`Engine::poll_alert`](super::Engine::poll_alert)), on the stage that raised it — or,
    /// where two stages raise one at once, on the one whose alert is in the hook when the other
    /// comes (the raising stage does not wait for the hook), or on the VED's thread after the
    /// vote point it was handing out as the halt came (no vote point reaches `on_vote` after
    /// the halt's alert reached this hook). The first halt's alert comes after its file is
    /// written.
    pub on_alert: Option<AlertHook>,
}
