//! Where no adapter exists, `Backend::Gpu` is an error and `Backend::Auto` hashes on the CPU
//! (SPEC §7). A separate test binary (process), because the GPU context is process-wide: it hides
//! every adapter by asking wgpu for a backend this build does not include.

use tandem_kernels::gpu::GpuError;
use tandem_kernels::{Backend, KernelError, LtHash};

#[test]
fn gpu_backend_without_an_adapter_is_an_error_and_auto_uses_the_cpu() {
    // SAFETY: the only test in this binary, run before any thread reads the environment.
    unsafe { std::env::set_var("WGPU_BACKEND", "gl") };
    let inputs: Vec<Vec<u8>> = (0..20_000u32).map(|i| i.to_le_bytes().to_vec()).collect();
    let refs: Vec<&[u8]> = inputs.iter().map(|v| v.as_slice()).collect();
    let mut out = vec![[0u8; 32]; refs.len()];
    let err = tandem_kernels::blake3_many(Backend::Gpu, &refs, &mut out).unwrap_err();
    assert!(
        matches!(err, KernelError::Gpu(GpuError::NoAdapter(_))),
        "{err:?}"
    );
    assert!(err.to_string().contains("no GPU adapter"), "{err}");
    let mut sum = LtHash::identity();
    assert!(tandem_kernels::lthash_accumulate(Backend::Gpu, &[], &mut sum).is_err());
    // Empty batches too, every kernel alike: `lthash_accounts` alone answered Ok.
    let mut none: [LtHash; 0] = [];
    assert!(tandem_kernels::lthash_accounts(Backend::Gpu, &[], &mut none).is_err());
    assert!(tandem_kernels::blake3_many(Backend::Gpu, &[], &mut []).is_err());

    // Auto, with a batch large enough to consider the GPU, quietly uses the CPU.
    tandem_kernels::blake3_many(Backend::Auto, &refs, &mut out).expect("Auto falls back");
    for (input, hash) in inputs.iter().zip(&out) {
        assert_eq!(hash, blake3::hash(input).as_bytes());
    }
}
