//! The numbers of the C ABI contract (SPEC §8): status codes and backend selectors.
//!
//! These values are the contract with C callers; they never change meaning. Adding a code is
//! fine, renumbering one is a breaking change of `libtandem`.

/// Success.
pub const TANDEM_OK: i32 = 0;
/// A NULL pointer where data was required, a length that does not fit, or an unknown value.
pub const TANDEM_ERR_INVALID_ARGUMENT: i32 = -1;
/// The requested backend (e.g. `TANDEM_BACKEND_GPU`) is not available on this machine.
pub const TANDEM_ERR_BACKEND_UNAVAILABLE: i32 = -2;
/// An operating-system I/O error (file, directory, memory map).
pub const TANDEM_ERR_IO: i32 = -3;
/// Stored or supplied data failed a consistency check.
pub const TANDEM_ERR_CORRUPT: i32 = -4;
/// The input is well formed but breaks a rule, e.g. a block that breaks the clock rule.
pub const TANDEM_ERR_REJECTED: i32 = -5;
/// A wait ran out of time.
pub const TANDEM_ERR_TIMEOUT: i32 = -6;
/// The engine has halted (SPEC §6) and accepts no more work.
pub const TANDEM_ERR_HALTED: i32 = -7;
/// What was asked for does not exist: an account, or the hash of a slot that was skipped, never
/// submitted before the engine opened, or is older than the slots the engine remembers.
pub const TANDEM_ERR_NOT_FOUND: i32 = -8;
/// A bug inside tandem, e.g. a caught Rust panic; `tandem_last_error()` says where.
pub const TANDEM_ERR_INTERNAL: i32 = -99;

/// Which implementation runs a batch kernel: the `uint32_t backend` argument of the batch
/// functions.
///
/// Functions take a plain `uint32_t`, not this enum, so that any other value is reported as
/// `TANDEM_ERR_INVALID_ARGUMENT` instead of being undefined behaviour.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Let tandem choose: the GPU where one is available and worth it, the CPU otherwise.
    Auto = 0,
    /// The CPU kernels (widest SIMD the machine supports).
    Cpu = 1,
    /// The GPU kernels; `TANDEM_ERR_BACKEND_UNAVAILABLE` when no GPU adapter is found.
    Gpu = 2,
}

/// `tandem_tx_status.state`: no recent block holds the transaction.
pub const TANDEM_TX_UNKNOWN: u32 = 0;
/// `tandem_tx_status.state`: not yet executed in its domain, or less of the stake asked for has
/// reported the same hash for its domain and slot.
pub const TANDEM_TX_PENDING: u32 = 1;
/// `tandem_tx_status.state`: its final status is in `status` (and `program_error`).
pub const TANDEM_TX_FINAL: u32 = 2;
/// `tandem_tx_status.state`: the engine has halted (SPEC §6) and confirms nothing.
pub const TANDEM_TX_HALTED: u32 = 3;

/// `tandem_alert.kind`: validators with at least 1/3 of the VED stake reported another UED hash
/// for `slot`: the engine halted (SPEC §6).
pub const TANDEM_ALERT_UED_DIVERGENCE: u32 = 1;
/// `tandem_alert.kind`: the UED could not catch up; the VED waited at the epoch boundary of
/// `slot` longer than the engine's patience: the engine halted.
pub const TANDEM_ALERT_UED_LAG: u32 = 2;
