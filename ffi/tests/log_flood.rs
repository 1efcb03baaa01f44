//! A sink slower than the lines coming: the host can still replace it (to stop the flood, say)
//! — the call waits for the lines logged before it, not for the flood to end. A test binary of
//! its own: the sink and the log thread are the process's.

use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tandem::log::tandem_set_log_sink;

static CALLS: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" fn slow_sink(_: *mut c_void, _: u32, _: *const c_char) {
    CALLS.fetch_add(1, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(1));
}

#[test]
fn a_sink_is_replaced_while_lines_keep_coming() {
    // SAFETY: a function that is safe to call from any thread, and a context it never reads.
    assert_eq!(
        unsafe { tandem_set_log_sink(Some(slow_sink), std::ptr::null_mut(), 1) },
        0
    );
    let stop = AtomicBool::new(false);
    let flooding = AtomicBool::new(true);
    std::thread::scope(|scope| {
        // Faster than the sink, for as long as the test lasts (60 s at most).
        scope.spawn(|| {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                log::error!("flood");
                std::thread::sleep(Duration::from_micros(200));
            }
            flooding.store(false, Ordering::Relaxed);
        });
        let waited = Instant::now();
        while CALLS.load(Ordering::Relaxed) == 0 {
            assert!(
                waited.elapsed() < Duration::from_secs(30),
                "the sink is in use"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let started = Instant::now();
        // SAFETY: NULL: back to standard error, nothing logged.
        let replaced = unsafe { tandem_set_log_sink(None, std::ptr::null_mut(), 0) };
        let took = started.elapsed();
        // The lines queued before it (at most the queue's 4,096, a millisecond each), not the
        // flood: the call returns while the flood goes on (it waited for the flood to end
        // before, 24 s).
        assert!(
            flooding.load(Ordering::Relaxed),
            "the call returned only once the flood ended ({took:?})"
        );
        stop.store(true, Ordering::Relaxed);
        assert_eq!(replaced, 0);
        // The old sink is not called again.
        let calls = CALLS.load(Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(CALLS.load(Ordering::Relaxed), calls);
    });
}
