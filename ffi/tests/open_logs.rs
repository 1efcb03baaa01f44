//! The lines `tandem_engine_open` logs reach the host's sink before it returns, as every
//! export's do (SPEC §8, the header): since open runs on a thread of its own (stop 73, a
//! host's small stack), its lines were that thread's, which the export's flush did not wait
//! for — "engine opened on …" could reach the sink after open had returned (found in stop
//! 74's review). A test binary of its own: the sink is the process's.

mod common;

use std::ffi::{CStr, c_char, c_void};
use std::sync::Mutex;
use std::time::Duration;

use common::open_default_engine;
use tandem::Backend;
use tandem::engine::tandem_engine_close;
use tandem::log::tandem_set_log_sink;

/// The lines the sink got.
static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// A slow sink: each line takes it 100 ms, so a line still queued as open returns is seen.
unsafe extern "C" fn slow_sink(_: *mut c_void, _: u32, message: *const c_char) {
    std::thread::sleep(Duration::from_millis(100));
    // SAFETY: the library passes a NUL-terminated line valid during the call.
    let line = unsafe { CStr::from_ptr(message) }
        .to_string_lossy()
        .into_owned();
    LINES.lock().unwrap().push(line);
}

#[test]
fn the_lines_open_logs_reach_the_sink_before_it_returns() {
    // SAFETY: a valid function pointer and a context it never reads; level 3, info.
    assert_eq!(
        unsafe { tandem_set_log_sink(Some(slow_sink), std::ptr::null_mut(), 3) },
        0
    );
    let (_dir, engine) = open_default_engine(Backend::Cpu);
    let seen = LINES.lock().unwrap().clone();
    assert!(
        seen.iter().any(|l| l.contains("engine opened on")),
        "open returned before its line reached the sink: {seen:?}"
    );
    // SAFETY: an open engine, used by no other thread.
    unsafe { tandem_engine_close(engine) };
}
