//! The one rule for GPU tests and benches in every crate of the workspace: run on the adapter
//! there is, and where there is none, fail where `CI=true` (the GPU path must be proven there)
//! or say loudly that nothing ran. Public only so that the test binaries, benches and the C ABI's
//! tests of other crates share it; hidden from the docs, it is not part of the API.

use super::{GpuContext, GpuError};

/// The environment variable that marks a CI run, where a missing adapter is a failure.
pub const CI_ENV: &str = "CI";

/// Whether this is a CI run (`CI=true`).
pub fn in_ci() -> bool {
    std::env::var(CI_ENV).is_ok_and(|v| v == "true")
}

/// `Some(found)` when the GPU kernels (or context) `what` needs were built, after printing the
/// adapter they run on. Where they were not: panics when `CI=true`, else prints that `what` did
/// not run and returns `None`, so the caller returns early (a skip, said aloud, never silent).
///
/// `found` is the outcome of a `shared()` constructor ([`GpuContext::shared`],
/// `GpuHashKernels::shared`, `GpuEd25519::shared`): all of them run on the process-wide context,
/// whose adapter is the one printed.
pub fn gpu_or_skip<T>(what: &str, found: Result<T, GpuError>) -> Option<T> {
    match found {
        Ok(found) => {
            if let Ok(ctx) = GpuContext::shared() {
                let info = ctx.info();
                eprintln!(
                    "{what} on {} ({:?}, {:?}, driver {} {})",
                    info.name, info.backend, info.device_type, info.driver, info.driver_info
                );
            }
            Some(found)
        }
        Err(e) if in_ci() => panic!("{CI_ENV}=true and no GPU for {what}: {e}"),
        Err(e) => {
            eprintln!("*** {what} DID NOT RUN: {e} ***");
            None
        }
    }
}
