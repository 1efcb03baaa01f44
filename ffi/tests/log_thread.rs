//! The log thread starts on the host's thread at its first call into the library, not on the
//! first thread that logs — in an engine, often a stage thread pinned to the VED's PU or in
//! `SCHED_IDLE`, whose class a process without the privilege cannot leave (this test failed
//! when run as another user than root before 2026-12-07): the host's sink runs where the
//! process's threads run, in the normal class. A test binary of its own: the log thread starts
//! once per process.

use std::ffi::{c_char, c_void};
use std::time::{Duration, Instant};

use tandem::log::tandem_set_log_sink;

/// Lines the sink got.
static SEEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

unsafe extern "C" fn count_line(_: *mut c_void, _: u32, _: *const c_char) {
    SEEN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

/// The affinity mask and scheduling policy of thread `tid` (0: the caller).
fn placement_of(tid: libc::pid_t) -> (Vec<usize>, i32) {
    // SAFETY: sched_getaffinity writes the cpu_set_t passed, of the size given; CPU_ISSET and
    // sched_getscheduler only read.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        assert_eq!(
            libc::sched_getaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &mut set),
            0
        );
        let cpus = (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect();
        (cpus, libc::sched_getscheduler(tid))
    }
}

/// The id of this process's thread named `name`, if it exists.
fn thread_named(name: &str) -> Option<libc::pid_t> {
    std::fs::read_dir("/proc/self/task").ok()?.find_map(|task| {
        let task = task.ok()?;
        let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
        (comm.trim_end() == name).then(|| task.file_name().to_str()?.parse().ok())?
    })
}

#[test]
fn the_log_thread_runs_where_the_process_runs_whoever_started_it() {
    let (process_cpus, _) = placement_of(0);
    // SAFETY: a valid function pointer and a context it never reads.
    let set = unsafe { tandem_set_log_sink(Some(count_line), std::ptr::null_mut(), 2) };
    assert_eq!(set, 0);
    // Started by that call, on this thread, before any line (as root, where the log thread
    // may leave SCHED_IDLE, this is what tells).
    let deadline = Instant::now() + Duration::from_secs(10);
    while thread_named("tandem-log").is_none() {
        assert!(
            Instant::now() < deadline,
            "no log thread before the first line"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // The first line comes from a thread pinned to one PU, in SCHED_IDLE.
    std::thread::spawn(|| {
        // SAFETY: as above; the calling thread's own mask and class.
        unsafe {
            let mut one: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(placement_of(0).0[0], &mut one);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &one);
            let param = libc::sched_param { sched_priority: 0 };
            assert_eq!(libc::sched_setscheduler(0, libc::SCHED_IDLE, &param), 0);
        }
        // (tandem's target: the libraries' lines pass at error only.)
        log::warn!(target: "tandem::stage", "the first line, from a pinned SCHED_IDLE thread");
    })
    .join()
    .unwrap();
    tandem::log::flush_all();
    assert_eq!(
        SEEN.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the line reached the sink"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(tid) = thread_named("tandem-log") {
            let (cpus, policy) = placement_of(tid);
            if (&cpus, policy) == (&process_cpus, libc::SCHED_OTHER) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the log thread runs on {cpus:?} in policy {policy}, the process on \
                 {process_cpus:?} (SCHED_OTHER is {})",
                libc::SCHED_OTHER
            );
        }
        assert!(Instant::now() < deadline, "no tandem-log thread");
        std::thread::sleep(Duration::from_millis(20));
    }
}
