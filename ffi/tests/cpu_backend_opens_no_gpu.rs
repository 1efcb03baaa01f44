//! An engine of the CPU backend opened through the C ABI looks for no GPU: opening an adapter
//! started its driver's threads (Mesa's software rasterizer's `llvmpipe-*` among them), which
//! stayed for the life of the host's process after `tandem_engine_close` — six threads and 240
//! mappings for an engine that never used the device (found by black-box testing of an
//! embedding client, 2026-12-07). A separate test binary (process), so that no other test's
//! GPU work is among its threads.

use std::ffi::CString;
use std::path::Path;
use std::ptr;

use tandem::Backend;
use tandem::engine::{tandem_engine_close, tandem_engine_config, tandem_engine_open};
use tandem::status::TANDEM_OK;

/// The names of this process's threads.
fn threads() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .map(|task| {
            let comm = task.expect("a task").path().join("comm");
            std::fs::read_to_string(comm)
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .collect()
}

#[test]
fn an_engine_of_the_cpu_backend_leaves_no_thread_behind() {
    let genesis = Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/genesis/default.toml");
    let genesis = CString::new(genesis.to_str().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = CString::new(dir.path().to_str().unwrap()).unwrap();
    let config = tandem_engine_config {
        size: size_of::<tandem_engine_config>() as u32,
        backend: Backend::Cpu as u32,
        ued_threads: 1,
        cores: ptr::null(),
    };
    let before = threads();
    let mut engine = ptr::null_mut();
    // SAFETY: valid strings, config and out-pointer.
    let status =
        unsafe { tandem_engine_open(genesis.as_ptr(), store.as_ptr(), &config, &mut engine) };
    assert_eq!(status, TANDEM_OK);
    // SAFETY: an open engine, used by no other thread.
    unsafe { tandem_engine_close(engine) };
    let after = threads();
    let mut left: Vec<&String> = after.iter().collect();
    for name in &before {
        if let Some(i) = left.iter().position(|n| *n == name) {
            left.remove(i);
        }
    }
    assert!(left.is_empty(), "threads left after close: {left:?}");
}
