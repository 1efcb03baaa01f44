//! Pinning a thread to one PU, with core_affinity. A failure names the core and the setting
//! to change, because the fix is always a different `cores` setting.

use super::placement::Stage;

/// A thread could not be pinned; the message names the core and the setting to change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    /// The affinity call failed for this PU.
    #[error(
        "cannot pin {} thread to core {pu}: {reason}; choose another core{} in the cores setting (--cores)",
        stage.map_or("a".to_owned(), |s| format!("a {s}")),
        stage.map_or(String::new(), |s| format!(" for {s}="))
    )]
    Refused {
        /// The stage the thread belongs to, where known.
        stage: Option<Stage>,
        /// The PU asked for.
        pu: usize,
        /// Why it failed.
        reason: &'static str,
    },
    /// The plan gives the stage no PUs (the GPU feeder where no GPU is in use).
    #[error(
        "cannot pin a {stage} thread: the plan gives {stage} no cores; give it some with {stage}= in the cores setting (--cores)"
    )]
    NoCores {
        /// The stage.
        stage: Stage,
    },
}

/// The largest PU number the affinity call can express: Linux's `cpu_set_t` holds
/// `CPU_SETSIZE` bits; core_affinity elsewhere uses a 64-bit mask.
impl PinError {
    /// The error naming `stage`, whose thread it is, so the message says which setting to change.
    pub(crate) fn of_stage(self, stage: Stage) -> PinError {
        match self {
            PinError::Refused { pu, reason, .. } => PinError::Refused {
                stage: Some(stage),
                pu,
                reason,
            },
            other => other,
        }
    }
}

#[cfg(target_os = "linux")]
const AFFINITY_LIMIT: usize = libc::CPU_SETSIZE as usize;
#[cfg(not(target_os = "linux"))]
const AFFINITY_LIMIT: usize = 64;

/// Pins the calling thread to one PU (OS index), so the scheduler never moves it.
pub fn pin_current_thread(pu: usize) -> Result<(), PinError> {
    // core_affinity indexes a fixed-size mask and would panic beyond it.
    if pu >= AFFINITY_LIMIT {
        return Err(PinError::Refused {
            stage: None,
            pu,
            reason: "beyond the CPU numbers an affinity mask holds",
        });
    }
    if core_affinity::set_for_current(core_affinity::CoreId { id: pu }) {
        Ok(())
    } else {
        Err(PinError::Refused {
            stage: None,
            pu,
            reason: "the kernel refused (no such CPU, offline, or outside this process's allowed CPUs)",
        })
    }
}

/// Lets the calling thread run on any PU of `pus` (and only those): for a stage whose threads
/// spread over several PUs, like the UED's pass threads, which inherit the mask. Where the
/// platform has no affinity masks of several PUs, pins to the first.
pub fn pin_current_thread_to_set(pus: &[usize]) -> Result<(), PinError> {
    let Some(&first) = pus.first() else {
        return Err(PinError::Refused {
            stage: None,
            pu: 0,
            reason: "no PU given",
        });
    };
    if let Some(&pu) = pus.iter().find(|&&pu| pu >= AFFINITY_LIMIT) {
        return Err(PinError::Refused {
            stage: None,
            pu,
            reason: "beyond the CPU numbers an affinity mask holds",
        });
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET writes inside it for numbers
        // below CPU_SETSIZE (checked above); sched_setaffinity(0, …) reads it for this thread.
        let refused = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            for &pu in pus {
                libc::CPU_SET(pu, &mut set);
            }
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0
        };
        if refused {
            return Err(PinError::Refused {
                stage: None,
                pu: first,
                reason: "the kernel refused (no such CPU, offline, or outside this process's allowed CPUs)",
            });
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    pin_current_thread(first)
}

/// The calling thread's own affinity mask, given back when dropped
/// ([`widen_current_thread`], [`confine_current_thread`]). Not `Send`: it restores the mask of
/// the thread that drops it.
pub(crate) struct OwnMask {
    #[cfg(target_os = "linux")]
    own: Option<libc::cpu_set_t>,
    _this_thread: std::marker::PhantomData<*const ()>,
}

/// Lets the calling thread run on `pus` as well as its own PUs until the guard drops, when it
/// gets its own mask back. For a thread about to spawn helpers that pin themselves to `pus`:
/// a new thread inherits its spawner's mask, so a helper spawned by a thread pinned to one PU
/// can run nowhere else — not even to pin itself elsewhere — until its spawner is preempted,
/// a scheduler timeslice later (about 3 ms measured on the 2-vCPU guest, with the spawner
/// busy on its own part of the batch: the helper took 1–5 of 16 chunks). With the wider mask
/// it starts on an idle PU of `pus` at once. Where the mask cannot be read or set, or already
/// holds `pus`, nothing changes. (A mask another thread sets for this one meanwhile is
/// overwritten by the restore; nothing in tandem does.)
#[must_use = "the mask is given back when the guard drops"]
pub(crate) fn widen_current_thread(pus: &[usize]) -> OwnMask {
    set_current_thread_mask(pus, true)
}

/// Lets the calling thread run only on `pus` until the guard drops, when it gets its own mask
/// back: for work on a thread the engine does not own (the host's, in
/// [`Engine::submit`](super::Engine::submit)) that should leave the other PUs to the stages
/// there. Where the mask cannot be read or set, `pus` is empty, or the mask is `pus` already,
/// nothing changes.
#[must_use = "the mask is given back when the guard drops"]
pub(crate) fn confine_current_thread(pus: &[usize]) -> OwnMask {
    set_current_thread_mask(pus, false)
}

/// The calling thread's mask set to its own and `pus` (`widen`), or to `pus` alone.
fn set_current_thread_mask(pus: &[usize], widen: bool) -> OwnMask {
    #[cfg(target_os = "linux")]
    {
        let size = std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: sched_getaffinity/sched_setaffinity on the calling thread (pid 0) write and
        // read only the cpu_set_t passed, of the size given; CPU_SET writes inside the set for
        // numbers below CPU_SETSIZE (checked).
        let own = unsafe {
            let mut own: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, size, &mut own) != 0 {
                return OwnMask {
                    own: None,
                    _this_thread: std::marker::PhantomData,
                };
            }
            let mut wide = if widen { own } else { std::mem::zeroed() };
            for &pu in pus.iter().filter(|&&pu| pu < libc::CPU_SETSIZE as usize) {
                libc::CPU_SET(pu, &mut wide);
            }
            let empty = libc::CPU_COUNT(&wide) == 0;
            let changes = !empty && !libc::CPU_EQUAL(&own, &wide);
            (changes && libc::sched_setaffinity(0, size, &wide) == 0).then_some(own)
        };
        OwnMask {
            own,
            _this_thread: std::marker::PhantomData,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (pus, widen);
        OwnMask {
            _this_thread: std::marker::PhantomData,
        }
    }
}

impl Drop for OwnMask {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some(own) = &self.own {
            // SAFETY: as in `widen_current_thread`: the set read there, for this thread.
            let refused = unsafe {
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), own) != 0
            };
            if refused {
                log::warn!(
                    "a thread could not get its own CPU mask back after starting helpers: it \
                     may run on the helpers' PUs too"
                );
            }
        }
    }
}

/// The PUs the calling thread may run on but for the one it runs on now, in the order that
/// follows it (wrapping round): where threads it starts to share a batch with it should run.
/// A new thread starts where the kernel puts it, and on a 2-vCPU KVM guest that was its
/// starter's PU for 79 of 100 threads started after 5 ms of quiet (the other PU idle), where
/// it waited until its starter, busy with its own part, blocked: 2.0 ms for a 2 ms part,
/// against 84 µs for a thread started on the other PU (a C program, 2026-12-06). Empty where
/// the mask holds one PU or cannot be read.
pub(crate) fn pus_beside_current_thread() -> Vec<usize> {
    #[cfg(target_os = "linux")]
    {
        // core_affinity reads the calling thread's mask.
        let Some(allowed) = core_affinity::get_core_ids() else {
            return Vec::new();
        };
        let allowed = allowed.into_iter().map(|id| id.id).collect();
        // SAFETY: sched_getcpu takes no arguments; -1 (an error) reads as unknown below.
        let here = unsafe { libc::sched_getcpu() };
        beside(allowed, usize::try_from(here).ok())
    }
    #[cfg(not(target_os = "linux"))]
    Vec::new()
}

/// The PUs of `allowed` but `here`, those after it first, then those before (wrapping round);
/// all of them, in order, where the thread's PU is unknown.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn beside(allowed: Vec<usize>, here: Option<usize>) -> Vec<usize> {
    let Some(here) = here else {
        return allowed;
    };
    let (before, after): (Vec<usize>, Vec<usize>) = allowed
        .into_iter()
        .filter(|&pu| pu != here)
        .partition(|&pu| pu < here);
    after.into_iter().chain(before).collect()
}

/// Moves the thread `started` to `pu` alone, from the thread that started it (before it has
/// run, it is moved without running first behind its starter: [`pus_beside_current_thread`]).
/// Where the OS refuses, the thread runs where it is, which changes only how soon (logged).
pub(crate) fn move_started_thread(started: &impl std::os::unix::thread::JoinHandleExt, pu: usize) {
    #[cfg(target_os = "linux")]
    {
        if pu >= AFFINITY_LIMIT {
            return;
        }
        // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET writes inside it (pu checked
        // above); pthread_setaffinity_np reads it for a thread that has not been joined (the
        // handle is borrowed).
        let refused = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(pu, &mut set);
            libc::pthread_setaffinity_np(
                started.as_pthread_t(),
                std::mem::size_of::<libc::cpu_set_t>(),
                &set,
            ) != 0
        };
        if refused {
            log::debug!("a thread started for a batch could not be moved to PU {pu}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (started, pu);
}

/// Puts the calling thread in the `SCHED_IDLE` class (Linux): it runs only on a PU no normal
/// thread wants, so on a machine where stages share cores a vote's work always runs first, and
/// user work takes every cycle left. Where the class is refused, nice 10 instead. Threads it
/// spawns inherit it.
pub(crate) fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sched_setscheduler and setpriority on the calling thread (pid 0 / its tid)
        // read only the parameter struct passed; a refusal changes nothing.
        unsafe {
            let param = libc::sched_param { sched_priority: 0 };
            if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
                let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
                libc::setpriority(libc::PRIO_PROCESS, tid, 10);
            }
        }
    }
}

/// Puts the calling thread back where a process's threads start: on the PUs of the process's
/// first thread (its affinity mask, as the host set it) and in the normal scheduling class at
/// the first thread's nice value. For a thread started on behalf of the whole process from
/// whichever thread happened to ask — a stage thread, pinned to the VED's PU or in
/// `SCHED_IDLE`, passes both on to the threads it spawns. Best effort: a refusal leaves the
/// thread as it was.
pub fn unpin_current_thread() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sched_getaffinity/sched_setaffinity read and write the cpu_set_t passed, of
        // the size given; sched_setscheduler and get/setpriority read only their arguments;
        // pid 0 and the thread's own id name the calling thread, getpid() the first thread.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            let size = std::mem::size_of::<libc::cpu_set_t>();
            if libc::sched_getaffinity(libc::getpid(), size, &mut set) == 0 {
                libc::sched_setaffinity(0, size, &set);
            }
            let param = libc::sched_param { sched_priority: 0 };
            libc::sched_setscheduler(0, libc::SCHED_OTHER, &param);
            *libc::__errno_location() = 0;
            let nice = libc::getpriority(libc::PRIO_PROCESS, libc::getpid() as libc::id_t);
            if *libc::__errno_location() == 0 {
                let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
                libc::setpriority(libc::PRIO_PROCESS, tid, nice);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{CoreSpec, Placement, Topology};

    #[test]
    fn the_pus_beside_a_thread_start_after_its_own_and_wrap_round() {
        assert_eq!(beside(vec![0, 1, 2, 3], Some(2)), [3, 0, 1]);
        assert_eq!(beside(vec![0, 1], Some(0)), [1]);
        assert_eq!(
            beside(vec![4], Some(4)),
            [0usize; 0],
            "one PU: none beside it"
        );
        assert_eq!(
            beside(vec![1, 5, 9], Some(3)),
            [5, 9, 1],
            "its PU outside the mask"
        );
        assert_eq!(beside(vec![1, 5], None), [1, 5], "its PU unknown");
    }

    /// The first PU this process may run on: 0 on an ordinary machine, another where a
    /// container's cpuset leaves 0 out.
    fn first_allowed_pu() -> usize {
        core_affinity::get_core_ids()
            .and_then(|ids| ids.first().map(|id| id.id))
            .expect("the affinity mask is readable")
    }

    /// The PUs the calling thread may run on, in order.
    #[cfg(target_os = "linux")]
    fn allowed_pus() -> Vec<usize> {
        let mut pus: Vec<usize> = core_affinity::get_core_ids()
            .unwrap_or_default()
            .into_iter()
            .map(|id| id.id)
            .collect();
        pus.sort_unstable();
        pus
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_thread_spawned_while_widened_may_start_on_the_helpers_pu_and_the_spawner_gets_its_own_back()
     {
        let mask = allowed_pus;
        let allowed = mask();
        let [own, helper, ..] = allowed[..] else {
            tandem_kernels::say_skipped!("one PU allowed: no other PU to start a helper on");
            return;
        };
        std::thread::spawn(move || {
            pin_current_thread(own).expect("pin");
            // Without widening, a new thread inherits its spawner's one PU: a helper could
            // not run, even to pin itself elsewhere, until the spawner is preempted.
            assert_eq!(std::thread::spawn(mask).join().unwrap(), [own]);
            let widened = widen_current_thread(&[helper]);
            let child = std::thread::spawn(mask).join().unwrap();
            drop(widened);
            assert_eq!(
                child,
                [own, helper],
                "the helper's PU in the new thread's mask"
            );
            assert_eq!(mask(), [own], "the spawner's own mask back");
        })
        .join()
        .unwrap();
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_confined_thread_runs_only_on_the_pus_given_and_gets_its_own_mask_back() {
        let mask = allowed_pus;
        let allowed = mask();
        let [_, other, ..] = allowed[..] else {
            tandem_kernels::say_skipped!("one PU allowed: nothing to confine a thread from");
            return;
        };
        std::thread::spawn(move || {
            let confined = confine_current_thread(&[other]);
            assert_eq!(mask(), [other], "only the PU given");
            drop(confined);
            assert_eq!(mask(), allowed, "its own mask back");
            // No PUs: nothing changes.
            let unchanged = confine_current_thread(&[]);
            assert_eq!(mask(), allowed);
            drop(unchanged);
            assert_eq!(mask(), allowed);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn pinning_to_pu_0_works_and_to_a_missing_pu_fails_naming_it() {
        // Pin in threads of their own, so the test harness's threads keep their affinity.
        std::thread::spawn(|| {
            let pu = first_allowed_pu();
            // A PU past every one of the machine's, in the process's mask or not.
            let missing = Topology::detect()
                .machine_pus()
                .last()
                .copied()
                .unwrap_or(0)
                + 1;
            pin_current_thread(pu).expect("pin to the first PU");
            let mask: Vec<usize> = core_affinity::get_core_ids()
                .unwrap_or_default()
                .into_iter()
                .map(|id| id.id)
                .collect();
            assert_eq!(mask, [pu], "the thread now runs on that PU only");
            let err = pin_current_thread(missing).unwrap_err();
            assert!(matches!(err, PinError::Refused { pu, .. } if pu == missing));
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
            let pu = first_allowed_pu();
            let topology = Topology::detect();
            let spec = CoreSpec::parse(&format!("ved={pu}")).unwrap();
            let placement = Placement::with_cores(&topology, false, &spec).unwrap();
            assert_eq!(placement.pin_stage_thread(Stage::Ved, 0), Ok(pu));
            let gpu = placement.pin_stage_thread(Stage::GpuFeeder, 0).unwrap_err();
            // A plan made for a bigger machine (PU 63 is not here): the error names the stage's
            // key in the setting.
            let big = Topology::synthetic(crate::pipeline::SyntheticShape {
                numa_nodes: 1,
                cores_per_node: 64,
                pus_per_core: 1,
                gpu: None,
            });
            if !topology.on_machine(63) {
                let spec = CoreSpec::parse("ved=63").unwrap();
                let placement = Placement::with_cores(&big, false, &spec).unwrap();
                let err = placement.pin_stage_thread(Stage::Ved, 0).unwrap_err();
                assert!(
                    err.to_string().starts_with("cannot pin a ved thread to core 63:")
                        && err.to_string().contains("choose another core for ved= in the cores setting"),
                    "{err}"
                );
            }
            assert_eq!(
                gpu.to_string(),
                "cannot pin a gpu thread: the plan gives gpu no cores; give it some with gpu= in the cores setting (--cores)"
            );
        })
        .join()
        .unwrap();
    }
}
