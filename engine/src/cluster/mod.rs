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
/// halted raises the same alert for a host that polls after the restart.
const LAG_RECORD: &str = "ued-lag";

/// The line a UED-divergence halt adds to the halt file after its reason, for the same: found
/// again from the vote log only while its slots are kept there (an engine that ran on halted
/// for more than about an epoch had pruned them, and raised nothing after a restart — found in
/// review, 2026-12-06).
const DIVERGENCE_RECORD: &str = "ued-divergence";

fn hex(hash: &[u8; 32]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut hash = [0u8; 32];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(hash)
}

impl Alert {
    /// What the halt file keeps: the reason on its first line, then a line with the alert's
    /// fields — `ued-divergence <slot> <local hash> <reported hash> <disagreeing stake>
    /// <agreeing stake> <total stake>` (hashes in hex) or `ued-lag <boundary_slot> <ued_slot>
    /// <waited_ns>`.
    pub fn halt_record(&self) -> String {
        match self {
            Alert::UedDivergence(halt) => format!(
                "{self}\n{DIVERGENCE_RECORD} {} {} {} {} {} {}",
                halt.slot,
                hex(&halt.local_hash),
                hex(&halt.reported_hash),
                halt.disagreeing_stake,
                halt.agreeing_stake,
                halt.total_stake
            ),
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

    /// The alert a halt file records ([`Alert::halt_record`]); `None` for a file of a build
    /// that recorded none (a divergence before 2026-12-06) or one written by hand.
    pub fn from_halt_record(record: &str) -> Option<Alert> {
        let fields: Vec<&str> = record.lines().nth(1)?.split(' ').collect();
        match fields[..] {
            [LAG_RECORD, boundary_slot, ued_slot, waited_ns] => {
                let waited_ns: u128 = waited_ns.parse().ok()?;
                Some(Alert::UedLagging {
                    boundary_slot: boundary_slot.parse().ok()?,
                    ued_slot: ued_slot.parse().ok()?,
                    waited: std::time::Duration::from_nanos(u64::try_from(waited_ns).ok()?),
                })
            }
            [
                DIVERGENCE_RECORD,
                slot,
                local,
                reported,
                disagreeing,
                agreeing,
                total,
            ] => Some(Alert::UedDivergence(Halt {
                slot: slot.parse().ok()?,
                local_hash: from_hex(local)?,
                reported_hash: from_hex(reported)?,
                disagreeing_stake: disagreeing.parse().ok()?,
                agreeing_stake: agreeing.parse().ok()?,
                total_stake: total.parse().ok()?,
            })),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_halt_record_gives_back_its_alert_and_nothing_else_does() {
        let lag = Alert::UedLagging {
            boundary_slot: 64,
            ued_slot: 31,
            waited: std::time::Duration::from_millis(6_400),
        };
        let divergence = Alert::UedDivergence(Halt {
            slot: 9,
            local_hash: [0xa5; 32],
            reported_hash: std::array::from_fn(|i| i as u8),
            disagreeing_stake: 20,
            agreeing_stake: 30,
            total_stake: 50,
        });
        for alert in [lag, divergence] {
            let record = alert.halt_record();
            assert_eq!(record.lines().next(), Some(alert.to_string().as_str()));
            assert_eq!(Alert::from_halt_record(&record), Some(alert));
        }
        for other in [
            "halted: UED divergence at slot 5",
            "halted: the UED cannot catch up\nued-lag 64 31",
            "halted: the UED cannot catch up\nued-lag 64 x 5",
            "halted: UED divergence\nued-divergence 9 aa bb 1 2 3",
            "",
        ] {
            assert_eq!(Alert::from_halt_record(other), None, "{other:?}");
        }
    }
}
