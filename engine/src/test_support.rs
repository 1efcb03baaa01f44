//! Helpers the engine's unit tests share.

/// Page faults this thread has taken so far, minor and major (`getrusage`, `RUSAGE_THREAD`): a
/// test's count of the fresh memory (or unread file pages) a piece of work touched.
#[cfg(target_os = "linux")]
pub(crate) fn faults_of_this_thread() -> i64 {
    // SAFETY: all zeros is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes the struct it is given, nothing else.
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) },
        0
    );
    usage.ru_minflt + usage.ru_majflt
}
