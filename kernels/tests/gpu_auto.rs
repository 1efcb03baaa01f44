//! `Backend::Auto` asks the adapter before it opens anything: on a software adapter (lavapipe,
//! CI's) a batch large enough for the GPU opens no device and builds no shaders — seconds of CPU
//! in a pipeline stage, for kernels it would then not use. A separate test binary (process):
//! nothing here lets `Auto` use software adapters.

use tandem_kernels::gpu;
use tandem_kernels::testing::gpu_or_skip;
use tandem_kernels::{AccountHasher, Backend, Ed25519Verifier, auto_gpu_min_items};

#[test]
fn auto_opens_a_device_only_on_a_hardware_adapter() {
    let Some(info) = gpu_or_skip("Auto's adapter check", gpu::best_adapter_info()) else {
        return;
    };
    let hardware = !gpu::is_software(info);
    let large = auto_gpu_min_items();

    let hasher = AccountHasher::dedicated(Backend::Auto);
    assert_eq!(hasher.uses_gpu_for(large), hardware, "{}", info.name);
    assert_eq!(hasher.own_device_is_open(), hardware, "{}", info.name);

    let verifier = Ed25519Verifier::dedicated(Backend::Auto, 16);
    assert_eq!(verifier.uses_gpu_for(large), hardware, "{}", info.name);
    assert_eq!(verifier.own_device_is_open(), hardware, "{}", info.name);

    // Asked for by name, the software adapter is opened (and its shaders built).
    let named = AccountHasher::dedicated(Backend::Gpu);
    assert!(named.uses_gpu_for(1));
    assert!(named.own_device_is_open());
}
