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

/// The line a UED-lag halt adds to the halt file after its reason, so that an engine reopened
/// halted raises the same alert for a host that polls after the restart (a divergence is found
/// again from the vote log).
const LAG_RECORD: &str = "ued-lag";

impl Alert {
    /// What the halt file keeps: the reason on its first line, then, for a UED-lag halt, a
    /// line `ued-lag <boundary_slot> <ued_slot> <waited_ns>`.
    pub fn halt_record(&self) -> String {
        match self {
            Alert::UedDivergence(_) => self.to_string(),
            Alert::UedLagging {
                boundary_slot,
                ued_slot,
                waited,
            } => format!(
                "{self}\n{LAG_RECORD} {boundary_slot} {ued_slot} {}",
                waited.as_nanos()
            ),
        }
    }

    /// The UED-lag alert a halt file records ([`Alert::halt_record`]); `None` for any other
    /// halt, or a file written by hand.
    pub fn lag_from_halt_record(record: &str) -> Option<Alert> {
        let fields: Vec<&str> = record.lines().nth(1)?.split(' ').collect();
        let [LAG_RECORD, boundary_slot, ued_slot, waited_ns] = fields[..] else {
            return None;
        };
        let waited_ns: u128 = waited_ns.parse().ok()?;
        Some(Alert::UedLagging {
            boundary_slot: boundary_slot.parse().ok()?,
            ued_slot: ued_slot.parse().ok()?,
            waited: std::time::Duration::from_nanos(u64::try_from(waited_ns).ok()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lag_halt_record_gives_back_its_alert_and_only_a_lag_halt_does() {
        let lag = Alert::UedLagging {
            boundary_slot: 64,
            ued_slot: 31,
            waited: std::time::Duration::from_millis(6_400),
        };
        let record = lag.halt_record();
        assert_eq!(record.lines().next(), Some(lag.to_string().as_str()));
        assert_eq!(Alert::lag_from_halt_record(&record), Some(lag));
        for other in [
            "halted: UED divergence at slot 5",
            "halted: the UED cannot catch up\nued-lag 64 31",
            "halted: the UED cannot catch up\nued-lag 64 x 5",
            "",
        ] {
            assert_eq!(Alert::lag_from_halt_record(other), None, "{other:?}");
        }
    }
}
