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
}

impl std::fmt::Display for Alert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Alert::UedDivergence(halt) => write!(f, "halted: {halt}"),
        }
    }
}
