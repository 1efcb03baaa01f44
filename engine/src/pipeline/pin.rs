//! Pinning a thread to one PU, with core_affinity. A failure names the core and the setting
//! to change, because the fix is always a different `cores` setting.

use super::placement::Stage;

/// A thread could not be pinned; the message names the core and the setting to change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot pin {} thread to core {pu}: {reason}; choose another core{} in the cores setting (--cores)",
    stage.map_or("a".to_owned(), |s| format!("a {s}")),
    stage.map_or(String::new(), |s| format!(" for {s}="))
)]
pub struct PinError {
    /// The stage the thread belongs to, where known.
    pub stage: Option<Stage>,
    /// The PU asked for.
    pub pu: usize,
    /// Why it failed.
    pub reason: &'static str,
}

/// The largest PU number the affinity call can express: Linux's `cpu_set_t` holds
/// `CPU_SETSIZE` bits; core_affinity elsewhere uses a 64-bit mask.
#[cfg(target_os = "linux")]
const AFFINITY_LIMIT: usize = libc::CPU_SETSIZE as usize;
#[cfg(not(target_os = "linux"))]
const AFFINITY_LIMIT: usize = 64;

/// Pins the calling thread to one PU (OS index), so the scheduler never moves it.
pub fn pin_current_thread(pu: usize) -> Result<(), PinError> {
    // core_affinity indexes a fixed-size mask and would panic beyond it.
    if pu >= AFFINITY_LIMIT {
        return Err(PinError {
            stage: None,
            pu,
            reason: "beyond the CPU numbers an affinity mask holds",
        });
    }
    if core_affinity::set_for_current(core_affinity::CoreId { id: pu }) {
        Ok(())
    } else {
        Err(PinError {
            stage: None,
            pu,
            reason: "the kernel refused (no such CPU, offline, or outside this process's allowed CPUs)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{CoreSpec, Placement, Topology};

    #[test]
    fn pinning_to_pu_0_works_and_to_a_missing_pu_fails_naming_it() {
        // Pin in threads of their own, so the test harness's threads keep their affinity.
        std::thread::spawn(|| {
            pin_current_thread(0).expect("pin to PU 0");
            let missing = Topology::detect().pus().last().copied().unwrap_or(0) + 1;
            let err = pin_current_thread(missing).unwrap_err();
            assert_eq!(err.pu, missing);
            assert!(
                err.to_string()
                    .starts_with(&format!("cannot pin a thread to core {missing}:")),
                "{err}"
            );
            assert!(err.to_string().contains("cores setting"), "{err}");
            let err = pin_current_thread(1 << 20).unwrap_err();
            assert!(err.to_string().contains("affinity mask"), "{err}");
        })
        .join()
        .unwrap();
        std::thread::spawn(|| {
            let topology = Topology::detect();
            let spec = CoreSpec::parse("ved=0").unwrap();
            let placement = Placement::with_cores(&topology, false, &spec).unwrap();
            assert_eq!(placement.pin_stage_thread(Stage::Ved, 0), Ok(0));
            let gpu = placement.pin_stage_thread(Stage::GpuFeeder, 0).unwrap_err();
            assert!(gpu.to_string().contains("gpu="), "{gpu}");
        })
        .join()
        .unwrap();
    }
}
