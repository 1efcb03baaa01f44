//! `tandem_engine_describe` once the GPU an engine's `gpu` backend uses has failed under it: its
//! text, fixed at open, went on naming the GPU; it now ends with a line that says the GPU failed
//! and what the engine does. A separate test binary (process): it destroys the process-wide
//! device.

mod common;

use common::{describe, open_default_engine};
use tandem::Backend;
use tandem::engine::tandem_engine_close;
use tandem_kernels::gpu::GpuContext;
use tandem_kernels::testing::gpu_or_skip;

#[test]
fn the_description_says_the_gpu_failed_since_the_engine_opened() {
    let Some(gpu) = gpu_or_skip("describe after a GPU failure", GpuContext::shared()) else {
        return;
    };
    let (_dir, engine) = open_default_engine(Backend::Gpu);
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
