//! `tandem_engine_describe` once the GPU an engine's `gpu` backend uses has failed under it: its
//! text, fixed at open, went on naming the GPU; it now ends with a line that says the GPU failed
//! and what the engine does. A separate test binary (process): it destroys the process-wide
//! device.

mod common;

use std::ffi::CString;
use std::path::Path;
use std::ptr;

use common::describe;
use tandem::Backend;
use tandem::engine::{tandem_engine_close, tandem_engine_config, tandem_engine_open};
use tandem::status::TANDEM_OK;
use tandem_kernels::gpu::GpuContext;
use tandem_kernels::testing::gpu_or_skip;

#[test]
fn the_description_says_the_gpu_failed_since_the_engine_opened() {
    let Some(gpu) = gpu_or_skip("describe after a GPU failure", GpuContext::shared()) else {
        return;
    };
    let genesis = Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/genesis/default.toml");
    let genesis = CString::new(genesis.to_str().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = CString::new(dir.path().to_str().unwrap()).unwrap();
    let config = tandem_engine_config {
        size: size_of::<tandem_engine_config>() as u32,
        backend: Backend::Gpu as u32,
        ued_threads: 1,
        cores: ptr::null(),
    };
    let mut engine = ptr::null_mut();
    // SAFETY: valid strings, config and out-pointer.
    let status =
        unsafe { tandem_engine_open(genesis.as_ptr(), store.as_ptr(), &config, &mut engine) };
    assert_eq!(status, TANDEM_OK);
    let before = describe(engine);
    assert!(before.contains("backend: gpu\n"), "{before}");
    assert!(!before.contains("gpu failed"), "{before}");
    // The device is lost; the next kernel call on it records the failure.
    gpu.device().destroy();
    let inputs: [&[u8]; 1] = [b"after the loss"];
    let mut out = [[0u8; 32]; 1];
    let lost = tandem_kernels::blake3_many(tandem_kernels::Backend::Gpu, &inputs, &mut out);
    assert!(lost.is_err(), "a destroyed device answers an error");
    let after = describe(engine);
    assert!(after.starts_with(&before), "{after}");
    let added = &after[before.len()..];
    assert!(
        added.starts_with("gpu failed: ") && added.contains("the engine stopped"),
        "{added}"
    );
    // SAFETY: an open engine, used by no other thread.
    unsafe { tandem_engine_close(engine) };
}
