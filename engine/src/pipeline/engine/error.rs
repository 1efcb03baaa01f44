//! What goes wrong: [`EngineError`], what a call into the engine returns, and [`Failure`], what
//! stopped a running engine, kept whole so that a host (the C ABI among them) can tell a disk
//! from a bug.

use std::sync::Arc;

use crate::pipeline::pin::PinError;
use crate::runtime::RuntimeError;

/// Why the engine refused a block or stopped.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The block was refused at ingest (SPEC §4 and §2); the engine goes on.
    #[error(transparent)]
    Rejected(RuntimeError),
    /// The bytes of a block handed over encoded ([`Engine::submit_encoded`](super::Engine::submit_encoded))
    /// are not one block in the ledger's encoding, found as ingest walked them: the block was
    /// refused, as [`Block::decode`](crate::ledger::Block::decode) refuses them; the engine
    /// goes on.
    #[error("block: {0}")]
    Undecodable(crate::ledger::LedgerError),
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
    Pin(#[from] crate::pipeline::pin::PinError),
    /// A call that waits for the UED's thread was made on that thread (from a hook it runs:
    /// `on_outcome`, or `on_alert` for an alert the UED raised), where it would wait forever.
    #[error(
        "{0} was called on the UED's thread (from a hook), which answers it: it cannot wait for itself"
    )]
    OnTheUedThread(&'static str),
    /// A call that may wait for the executors ([`Engine::submit`](super::Engine::submit),
    /// [`Engine::schedule_slash`](super::Engine::schedule_slash)) was made from a hook on an
    /// executor's thread (`on_vote`, `on_outcome`, `on_alert`), where it could wait for that very
    /// thread: a vote hook scheduling a slash while a submit waited on a full queue stopped the
    /// engine for good.
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
