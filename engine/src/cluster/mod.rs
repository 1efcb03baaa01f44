//! The cluster view (SPEC §6, issue #11): what the other validators computed, as their executed
//! votes report it, against the local hashes.
//!
//! What it owns: [`agreement`] — the stake behind each reported VED and UED hash per slot, and
//! the UED-divergence halt; [`sim`] — a cluster of engines in one process with rotating leaders
//! (`tandem cluster`). `ExecutionStatus` and its index live in
//! [`crate::runtime::status_index`]; the engine answers it.

pub mod agreement;
pub mod sim;

pub use agreement::{Agreement, Halt, VoteReport};

/// What the engine raises for its operator: a log line, an event the C ABI polls, a CLI exit
/// status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Alert {
    /// Validators with at least 1/3 of the VED stake computed another UED hash: the engine
    /// halted (SPEC §6).
    UedDivergence(Halt),
    /// The UED could not catch up: the VED waited at an epoch boundary (SPEC §5) longer than
    /// the engine's patience for the UED to finish the epoch before it (SIMD-0165 stops block
    /// production at half an epoch of lag): the engine halted.
    UedLagging {
        /// The slot of the block that crosses the boundary.
        boundary_slot: u64,
        /// The UED's last committed slot then.
        ued_slot: u64,
        /// How long the VED had waited.
        waited: std::time::Duration,
    },
}

impl std::fmt::Display for Alert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Alert::UedDivergence(halt) => write!(f, "halted: {halt}"),
            Alert::UedLagging {
                boundary_slot,
                ued_slot,
                waited,
            } => write!(
                f,
                "halted: the UED cannot catch up: the VED has waited {:.1} s at the epoch \
                 boundary of slot {boundary_slot}; the UED is at slot {ued_slot}",
                waited.as_secs_f64()
            ),
        }
    }
}
