//! A GPU that fails while in use (lost, or refusing an operation) is an error of the call, not
//! a panic of the calling thread (wgpu's default), and is not used again; `Backend::Auto` does
//! the work on the CPU instead, with the same answers. A separate test binary (process): it
//! destroys the process-wide device, and lets `Auto` choose lavapipe (which it never does in
//! production) so that `Auto`'s GPU path runs on machines without a GPU.

use std::sync::Arc;

use tandem_kernels::gpu::{GpuContext, GpuError};
use tandem_kernels::hash::gpu::GpuHashKernels;
use tandem_kernels::sigverify::gpu::GpuEd25519;
use tandem_kernels::testing::{SignedBatch, gpu_or_skip, let_auto_use_software_adapters};
use tandem_kernels::{AccountInput, Backend, Ed25519Verifier, KernelError, LtHash, Platform};

#[test]
fn a_failed_device_is_an_error_never_a_panic_and_auto_answers_on_the_cpu() {
    let Some(kernels) = gpu_or_skip("the failing-device test", GpuHashKernels::shared()) else {
        return;
    };
    let Some(verifier) = gpu_or_skip("the failing-device test", GpuEd25519::shared()) else {
        return;
    };
    let_auto_use_software_adapters();
    tandem_kernels::set_auto_gpu_min_items(1);

    let messages: Vec<Vec<u8>> = (0..64u32).map(|i| i.to_le_bytes().repeat(9)).collect();
    let inputs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let want: Vec<[u8; 32]> = inputs.iter().map(|m| *blake3::hash(m).as_bytes()).collect();
    let owner = [7u8; 32];
    let pubkeys: Vec<[u8; 32]> = (0..64u8).map(|i| [i; 32]).collect();
    let accounts: Vec<AccountInput<'_>> = inputs
        .iter()
        .zip(&pubkeys)
        .enumerate()
        .map(|(i, (data, pubkey))| AccountInput {
            lamports: i as u64 + 1,
            data,
            executable: i % 2 == 0,
            owner: &owner,
            pubkey,
        })
        .collect();
    let mut want_each = vec![LtHash::identity(); accounts.len()];
    tandem_kernels::hash::lthash::lthash_accounts(Platform::Portable, &accounts, &mut want_each);
    let batch = SignedBatch::new(20_261_201, 48);
    let (sigs, keys, signed) = (&batch.signatures, &batch.public_keys, batch.message_refs());
    // Before the failure, Auto runs on this (software) device and answers as the reference.
    let mut out = vec![[0u8; 32]; inputs.len()];
    tandem_kernels::blake3_many(Backend::Auto, &inputs, &mut out).expect("auto on the gpu");
    assert_eq!(out, want);

    GpuContext::shared()
        .expect("the shared context")
        .device()
        .destroy();

    // The first call after it finds the failure inside the GPU path: Auto does it again on the
    // CPU; later calls do not choose the device at all.
    let mut out = vec![[0u8; 32]; inputs.len()];
    tandem_kernels::blake3_many(Backend::Auto, &inputs, &mut out).expect("auto after the failure");
    assert_eq!(out, want);
    let failure = kernels.context().failure().map(str::to_owned);
    assert!(failure.is_some(), "the context did not record the failure");
    // What an engine's survey asks before it plans a GPU feeder or accepts `--backend gpu`.
    let usable = GpuContext::shared().expect("the shared context").usable();
    assert!(matches!(usable, Err(GpuError::Failed(_))), "{usable:?}");
    assert!(
        !failure.as_deref().unwrap_or_default().contains('\n'),
        "{failure:?}"
    );

    let mut each = vec![LtHash::identity(); accounts.len()];
    tandem_kernels::lthash_accounts(Backend::Auto, &accounts, &mut each).expect("auto lthash");
    assert!(each == want_each);
    let mut sum = want_each[0].clone();
    tandem_kernels::lthash_accumulate(Backend::Auto, &accounts, &mut sum).expect("auto sum");
    let mut want_sum = want_each[0].clone();
    for hash in &want_each {
        want_sum.mix_in(hash);
    }
    assert!(sum == want_sum);
    for verify in [
        |s: &[[u8; 64]], k: &[[u8; 32]], m: &[&[u8]], r: &mut [u8]| {
            tandem_kernels::ed25519_verify_batch(Backend::Auto, s, k, m, r)
        },
        |s: &[[u8; 64]], k: &[[u8; 32]], m: &[&[u8]], r: &mut [u8]| {
            Ed25519Verifier::shared(Backend::Auto).verify(s, k, m, r)
        },
    ] {
        let mut valid = vec![2u8; sigs.len()];
        verify(sigs, keys, &signed, &mut valid).expect("auto verify");
        batch
            .check(&valid)
            .expect("auto's answers after the failure");
    }

    // The GPU backend says what happened, and leaves the caller's sum as it was.
    let gpu_failed = |r: Result<(), KernelError>| {
        assert!(
            matches!(r, Err(KernelError::Gpu(GpuError::Failed(_)))),
            "{r:?}"
        );
    };
    gpu_failed(tandem_kernels::blake3_many(Backend::Gpu, &inputs, &mut out));
    let mut sum = want_each[0].clone();
    gpu_failed(tandem_kernels::lthash_accumulate(
        Backend::Gpu,
        &accounts,
        &mut sum,
    ));
    assert!(sum == want_each[0], "a failed GPU sum changed the caller's");
    let mut valid = vec![2u8; sigs.len()];
    gpu_failed(tandem_kernels::ed25519_verify_batch(
        Backend::Gpu,
        sigs,
        keys,
        &signed,
        &mut valid,
    ));
    let direct = verifier.verify_batch(sigs, keys, &signed, &mut valid);
    assert!(matches!(direct, Err(GpuError::Failed(_))), "{direct:?}");
    let direct = kernels.blake3_many(&inputs, &mut out);
    assert!(matches!(direct, Err(GpuError::Failed(_))), "{direct:?}");
}

#[test]
fn a_context_of_its_own_fails_alone() {
    // A device the caller opened fails with its context; the process-wide one is not touched.
    let Some(ctx) = gpu_or_skip("the failing-device test", GpuContext::new()) else {
        return;
    };
    let ctx = Arc::new(ctx);
    let kernels = GpuHashKernels::checked(Arc::clone(&ctx)).expect("kernels on a new device");
    ctx.device().destroy();
    let inputs: Vec<&[u8]> = vec![b"abc"; 4];
    let mut out = vec![[0u8; 32]; 4];
    let failed = kernels.blake3_many(&inputs, &mut out);
    assert!(matches!(failed, Err(GpuError::Failed(_))), "{failed:?}");
    // Failed for good: the next call refuses before it touches the device.
    assert_eq!(kernels.blake3_many(&inputs, &mut out), failed);
}

#[test]
fn a_wrong_read_back_is_the_callers_mistake_not_the_devices_failure() {
    // A length wgpu would refuse (not a multiple of 4, past the buffer) panics at the call;
    // the device stays usable for every kernel on it.
    let Some(ctx) = gpu_or_skip("the read-back argument test", GpuContext::new()) else {
        return;
    };
    let buffer = ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("sixteen bytes"),
        size: 16,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    for len in [2, 20] {
        let read =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ctx.read_back(&buffer, len)));
        assert!(read.is_err(), "{len} bytes");
        assert_eq!(ctx.usable(), Ok(()), "{len} bytes");
    }
    assert_eq!(ctx.read_back(&buffer, 0), Ok(Vec::new()));
    assert_eq!(ctx.read_back(&buffer, 16), Ok(vec![0; 16]));
    assert_eq!(ctx.usable(), Ok(()));
}
