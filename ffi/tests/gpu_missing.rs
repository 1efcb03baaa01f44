//! Where no adapter exists, every kernel export on `TANDEM_BACKEND_GPU` answers
//! `TANDEM_ERR_BACKEND_UNAVAILABLE`, for an empty batch too (SPEC §7: no silent fallback):
//! `tandem_lthash_accounts` alone answered OK for `n = 0`. A separate test binary (process):
//! it hides every adapter by asking wgpu for a backend this build does not include.

use std::ptr;

use tandem::hash::{tandem_blake3_many, tandem_lthash_accounts, tandem_lthash_accumulate};
use tandem::sigverify::tandem_ed25519_verify_batch;
use tandem::{Backend, TANDEM_ERR_BACKEND_UNAVAILABLE};

#[test]
fn every_export_on_the_gpu_backend_without_an_adapter_is_refused_empty_batches_too() {
    // SAFETY: the only test in this binary, run before any thread reads the environment.
    unsafe { std::env::set_var("WGPU_BACKEND", "gl") };
    let gpu = Backend::Gpu as u32;
    let mut sum = [0u8; 2048];
    // SAFETY: n = 0: no array is read, no output written (NULL allowed); `sum` is 2048 bytes.
    let answers = unsafe {
        [
            tandem_ed25519_verify_batch(
                gpu,
                0,
                ptr::null(),
                ptr::null(),
                ptr::null(),
                ptr::null(),
                ptr::null_mut(),
            ),
            tandem_blake3_many(gpu, 0, ptr::null(), ptr::null(), ptr::null_mut()),
            tandem_lthash_accounts(
                gpu,
                0,
                ptr::null(),
                ptr::null(),
                ptr::null(),
                ptr::null(),
                ptr::null(),
                ptr::null(),
                ptr::null_mut(),
            ),
            tandem_lthash_accumulate(
                gpu,
                0,
                ptr::null(),
                ptr::null(),
                ptr::null(),
                ptr::null(),
                ptr::null(),
                ptr::null(),
                sum.as_mut_ptr(),
            ),
        ]
    };
    assert_eq!(answers, [TANDEM_ERR_BACKEND_UNAVAILABLE; 4]);
}
