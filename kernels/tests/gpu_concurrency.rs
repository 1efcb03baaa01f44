//! Every GPU kernel called from several threads at once, each call checked against the CPU
//! reference (issue #9, item 3). The kernels share one set of buffers per pipeline, so a call
//! that let go of them before its results were read back could return another caller's answers;
//! these tests make that happen often enough to see: every thread hashes or verifies inputs of
//! its own, started together, many rounds each, on the process-wide kernels that `Backend::Gpu`
//! uses. Batches stay small for lavapipe.
//!
//! No adapter: where `CI=true` the tests fail; elsewhere they say loudly that they did not run.

mod common;

use common::Account;
use tandem_kernels::hash::gpu::GpuHashKernels;
use tandem_kernels::sigverify::gpu::GpuEd25519;
use tandem_kernels::testing::{SignedBatch, check_blake3, gpu_or_skip, hammer, messages};
use tandem_kernels::{AccountInput, Backend, LtHash};

const THREADS: usize = 4;

/// A seed unique to one call of one thread, so no two calls hash the same inputs.
fn seed(t: usize, r: usize) -> u64 {
    (t * 1_000_000 + r * 1_000) as u64
}

#[test]
fn concurrent_gpu_blake3_many_returns_each_callers_own_hashes() {
    if gpu_or_skip("GPU concurrency (blake3_many)", GpuHashKernels::shared()).is_none() {
        return;
    }
    hammer("blake3_many", THREADS, 40, |t, r| {
        // Every thread's batch has the same size, so the shared buffers are reused, not regrown.
        let inputs = messages(seed(t, r), 48);
        let refs: Vec<&[u8]> = inputs.iter().map(|v| v.as_slice()).collect();
        let mut out = vec![[0u8; 32]; refs.len()];
        tandem_kernels::blake3_many(Backend::Gpu, &refs, &mut out).expect("Backend::Gpu");
        check_blake3(&inputs, &out)
    });
}

/// Accounts unique to one call: some without lamports (the identity), data of 0..400 bytes.
fn accounts(t: usize, r: usize) -> Vec<Account> {
    (0..6)
        .map(|i| {
            let mut account = Account::random(seed(t, r) + i, (i as usize * 71) % 400);
            if i == 5 {
                account.lamports = 0;
            } else {
                account.lamports |= 1;
            }
            account
        })
        .collect()
}

#[test]
fn concurrent_gpu_lthash_accounts_returns_each_callers_own_hashes() {
    if gpu_or_skip(
        "GPU concurrency (lthash_accounts)",
        GpuHashKernels::shared(),
    )
    .is_none()
    {
        return;
    }
    hammer("lthash_accounts", THREADS, 20, |t, r| {
        let accounts = accounts(t, r);
        let inputs: Vec<AccountInput<'_>> = accounts.iter().map(Account::input).collect();
        let mut each = vec![LtHash::identity(); inputs.len()];
        tandem_kernels::lthash_accounts(Backend::Gpu, &inputs, &mut each).expect("Backend::Gpu");
        match accounts
            .iter()
            .zip(&each)
            .position(|(account, ours)| ours.0 != account.agave_lthash().0)
        {
            Some(i) => Err(format!("account {i}'s LtHash is not Agave's")),
            None => Ok(()),
        }
    });
}

#[test]
fn concurrent_gpu_lthash_accumulate_returns_each_callers_own_sum() {
    if gpu_or_skip(
        "GPU concurrency (lthash_accumulate)",
        GpuHashKernels::shared(),
    )
    .is_none()
    {
        return;
    }
    hammer("lthash_accumulate", THREADS, 20, |t, r| {
        let accounts = accounts(t, r);
        let inputs: Vec<AccountInput<'_>> = accounts.iter().map(Account::input).collect();
        let mut expected = solana_lattice_hash::lt_hash::LtHash::identity();
        for account in &accounts {
            expected.mix_in(&account.agave_lthash());
        }
        let mut sum = LtHash::identity();
        tandem_kernels::lthash_accumulate(Backend::Gpu, &inputs, &mut sum).expect("Backend::Gpu");
        if sum.0 == expected.0 {
            Ok(())
        } else {
            Err("the sum is not Agave's".to_string())
        }
    });
}

#[test]
fn concurrent_gpu_ed25519_verify_returns_each_callers_own_results() {
    if gpu_or_skip("GPU concurrency (ed25519)", GpuEd25519::shared()).is_none() {
        return;
    }
    hammer("ed25519_verify_batch", THREADS, 2, |t, r| {
        let batch = SignedBatch::new(seed(t, r), 4);
        let mut results = vec![9u8; batch.signatures.len()];
        tandem_kernels::ed25519_verify_batch(
            Backend::Gpu,
            &batch.signatures,
            &batch.public_keys,
            &batch.message_refs(),
            &mut results,
        )
        .expect("Backend::Gpu");
        batch.check(&results)
    });
}
