//! Every GPU kernel called from several threads at once, each call checked against the CPU
//! reference (issue #9, item 3). The kernels share one set of buffers per pipeline, so a call
//! that let go of them before its results were read back could return another caller's answers;
//! these tests make that happen often enough to see: every thread hashes or verifies inputs of
//! its own, started together, many rounds each, on the process-wide kernels that `Backend::Gpu`
//! uses. Batches stay small for lavapipe.
//!
//! No adapter: where `CI=true` the tests fail; elsewhere they say loudly that they did not run.

mod common;

use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Account, bytes};
use ed25519_dalek::{Signer, SigningKey};
use tandem_kernels::gpu::testing::gpu_or_skip;
use tandem_kernels::hash::gpu::GpuHashKernels;
use tandem_kernels::sigverify::gpu::GpuEd25519;
use tandem_kernels::sigverify::reference;
use tandem_kernels::{AccountInput, Backend, LtHash};

const THREADS: usize = 4;

/// Runs `call(thread, round)` for `rounds` rounds on each of [`THREADS`] threads started
/// together; `call` says whether its answer was right. Fails with the count of wrong answers, so
/// a race shows how often it struck.
fn hammer(what: &str, rounds: usize, call: impl Fn(usize, usize) -> bool + Sync) {
    let start = Barrier::new(THREADS);
    let wrong = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (start, wrong, call) = (&start, &wrong, &call);
            s.spawn(move || {
                start.wait();
                for r in 0..rounds {
                    if !call(t, r) {
                        wrong.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let wrong = wrong.into_inner();
    assert_eq!(
        wrong,
        0,
        "{what}: {wrong} of {} concurrent calls returned wrong answers",
        THREADS * rounds
    );
}

/// A seed unique to one call of one thread, so no two calls hash the same inputs.
fn seed(t: usize, r: usize) -> u64 {
    (t * 1_000_000 + r * 1_000) as u64
}

#[test]
fn concurrent_gpu_blake3_many_returns_each_callers_own_hashes() {
    if gpu_or_skip("GPU concurrency (blake3_many)", GpuHashKernels::shared()).is_none() {
        return;
    }
    hammer("blake3_many", 40, |t, r| {
        // Every thread's batch has the same size, so the shared buffers are reused, not regrown.
        let inputs: Vec<Vec<u8>> = (0..48)
            .map(|i| bytes(seed(t, r) + i, (i as usize * 37) % 300))
            .collect();
        let refs: Vec<&[u8]> = inputs.iter().map(|v| v.as_slice()).collect();
        let mut out = vec![[0u8; 32]; refs.len()];
        tandem_kernels::blake3_many(Backend::Gpu, &refs, &mut out).expect("Backend::Gpu");
        inputs
            .iter()
            .zip(&out)
            .all(|(input, hash)| hash == blake3::hash(input).as_bytes())
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
    hammer("lthash_accounts", 20, |t, r| {
        let accounts = accounts(t, r);
        let inputs: Vec<AccountInput<'_>> = accounts.iter().map(Account::input).collect();
        let mut each = vec![LtHash::identity(); inputs.len()];
        tandem_kernels::lthash_accounts(Backend::Gpu, &inputs, &mut each).expect("Backend::Gpu");
        accounts
            .iter()
            .zip(&each)
            .all(|(account, ours)| ours.0 == account.agave_lthash().0)
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
    hammer("lthash_accumulate", 20, |t, r| {
        let accounts = accounts(t, r);
        let inputs: Vec<AccountInput<'_>> = accounts.iter().map(Account::input).collect();
        let mut expected = solana_lattice_hash::lt_hash::LtHash::identity();
        for account in &accounts {
            expected.mix_in(&account.agave_lthash());
        }
        let mut sum = LtHash::identity();
        tandem_kernels::lthash_accumulate(Backend::Gpu, &inputs, &mut sum).expect("Backend::Gpu");
        sum.0 == expected.0
    });
}

#[test]
fn concurrent_gpu_ed25519_verify_returns_each_callers_own_results() {
    if gpu_or_skip("GPU concurrency (ed25519)", GpuEd25519::shared()).is_none() {
        return;
    }
    hammer("ed25519_verify_batch", 2, |t, r| {
        // Valid and tampered signatures at places that differ between calls, so one caller's
        // results read as another's are wrong.
        let mut sigs = Vec::new();
        let mut keys = Vec::new();
        let mut msgs = Vec::new();
        for i in 0..4u64 {
            let key = SigningKey::from_bytes(&bytes(seed(t, r) + i, 32).try_into().unwrap());
            let msg = bytes(seed(t, r) + 100 + i, 20 + 30 * i as usize);
            let mut sig = key.sign(&msg).to_bytes();
            if (seed(t, r) / 1_000 + i).is_multiple_of(3) {
                sig[(i as usize * 13) % 64] ^= 1;
            }
            sigs.push(sig);
            keys.push(key.verifying_key().to_bytes());
            msgs.push(msg);
        }
        let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
        let mut results = vec![9u8; sigs.len()];
        tandem_kernels::ed25519_verify_batch(Backend::Gpu, &sigs, &keys, &refs, &mut results)
            .expect("Backend::Gpu");
        (0..sigs.len())
            .all(|i| results[i] == u8::from(reference::verify(&sigs[i], &keys[i], &msgs[i])))
    });
}
