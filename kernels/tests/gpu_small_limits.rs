//! The kernels on a device with small limits: a storage binding of 128 KiB and 4 workgroups per
//! dispatch dimension, so that batches a real device takes whole are cut into several
//! dispatches, each on a 2-D grid — the host code's splitting, offsets and result order, which
//! the full-limit tests never reach with a software driver's small batches. Answers against the
//! CPU references.

mod common;

use std::sync::Arc;

use common::{Account, bytes};
use ed25519_dalek::{Signer, SigningKey};
use tandem_kernels::gpu::{GpuContext, GpuError};
use tandem_kernels::hash::gpu::GpuHashKernels;
use tandem_kernels::sigverify::gpu::GpuEd25519;
use tandem_kernels::testing::{SignedBatch, gpu_or_skip};
use tandem_kernels::{AccountInput, LtHash, Platform};

const BINDING: u64 = 128 << 10;
const PER_DIMENSION: u32 = 4;

/// A binding whose half (a batch's most) is below the size rule's 64 KiB: an input of 17 KiB is
/// sent to the CPU because the device cannot take it, not by the size rule.
const TINY_BINDING: u64 = 32 << 10;

/// A device of the chosen adapter, opened with the small limits.
fn small_device() -> Result<Arc<GpuContext>, GpuError> {
    device_with(BINDING, PER_DIMENSION)
}

/// A device of the chosen adapter with a `binding`-byte storage binding and `per_dimension`
/// workgroups per dispatch dimension.
fn device_with(binding: u64, per_dimension: u32) -> Result<Arc<GpuContext>, GpuError> {
    let context = GpuContext::with_limits(|limits| wgpu::Limits {
        max_storage_buffer_binding_size: binding,
        max_compute_workgroups_per_dimension: per_dimension,
        ..limits
    })?;
    Ok(Arc::new(context))
}

#[test]
fn batches_small_in_bytes_are_cut_by_the_grid_too() {
    // A 2 × 2 grid of 64-invocation workgroups takes 256 messages a dispatch: 900 empty ones
    // fit the binding in one batch, but not the grid (the dispatch failed validation and
    // retired the device until 2026-12-06).
    let Some(ctx) = gpu_or_skip("a tiny grid", device_with(BINDING, 2)) else {
        return;
    };
    let kernels = GpuHashKernels::checked(Arc::clone(&ctx)).expect("kernels, checked");
    let empty: Vec<&[u8]> = vec![&[]; 900];
    let mut out = vec![[0u8; 32]; empty.len()];
    kernels.blake3_many(&empty, &mut out).expect("blake3_many");
    assert!(out.iter().all(|h| h == blake3::hash(&[]).as_bytes()));
    let accounts: Vec<Account> = (0..600u64).map(|i| Account::random(i, 8)).collect();
    let inputs: Vec<AccountInput<'_>> = accounts.iter().map(Account::input).collect();
    let mut sum = LtHash::identity();
    kernels
        .lthash_accumulate(&inputs, &mut sum)
        .expect("lthash_accumulate");
    let mut want = LtHash::identity();
    tandem_kernels::hash::lthash::lthash_accumulate(Platform::Portable, &inputs, &mut want);
    assert!(sum == want, "the accumulated LtHash");
    assert_eq!(ctx.usable(), Ok(()));
}

#[test]
fn hashing_cut_into_many_dispatches_matches_the_cpu() {
    let Some(ctx) = gpu_or_skip("small-limit hashing", small_device()) else {
        return;
    };
    assert_eq!(ctx.limits().max_storage_buffer_binding_size, BINDING);
    let kernels = GpuHashKernels::checked(Arc::clone(&ctx)).expect("kernels, checked");

    // 1,500 messages of 0–200 bytes (about 170 KiB padded: two or more batches of up to 64 KiB,
    // each of up to 16 workgroups on a 4 × 4 grid), and a few long ones between them.
    let inputs: Vec<Vec<u8>> = (0..1_500u64)
        .map(|i| match i {
            700 | 701 => bytes(i, 40_000),
            _ => bytes(i, (i * 37 % 201) as usize),
        })
        .collect();
    let refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
    let mut out = vec![[0u8; 32]; refs.len()];
    kernels.blake3_many(&refs, &mut out).expect("blake3_many");
    for (i, (input, hash)) in inputs.iter().zip(&out).enumerate() {
        assert_eq!(hash, blake3::hash(input).as_bytes(), "message {i}");
    }

    // 120 accounts: their 2 KiB outputs take several batches.
    let accounts: Vec<Account> = (0..120u64)
        .map(|i| Account::random(i, (i * 53 % 400) as usize))
        .collect();
    lthashes_as_the_cpu_gives_them(&kernels, &accounts);
    assert_eq!(ctx.usable(), Ok(()));
}

/// Each account's LtHash and their sum from `kernels`, as the portable CPU kernel gives them.
fn lthashes_as_the_cpu_gives_them(kernels: &GpuHashKernels, accounts: &[Account]) {
    let inputs: Vec<AccountInput<'_>> = accounts.iter().map(Account::input).collect();
    let mut each = vec![LtHash::identity(); inputs.len()];
    kernels
        .lthash_accounts(&inputs, &mut each)
        .expect("lthash_accounts");
    let mut want = vec![LtHash::identity(); inputs.len()];
    tandem_kernels::hash::lthash::lthash_accounts(Platform::Portable, &inputs, &mut want);
    assert!(each == want, "each account's LtHash");
    let mut sum = LtHash::identity();
    kernels
        .lthash_accumulate(&inputs, &mut sum)
        .expect("lthash_accumulate");
    let mut want_sum = LtHash::identity();
    tandem_kernels::hash::lthash::lthash_accumulate(Platform::Portable, &inputs, &mut want_sum);
    assert!(sum == want_sum, "the accumulated LtHash");
}

#[test]
fn verification_cut_into_many_dispatches_matches_the_cpu() {
    let Some(ctx) = gpu_or_skip("small-limit verification", small_device()) else {
        return;
    };
    let verifier = GpuEd25519::checked(Arc::clone(&ctx)).expect("verifier, checked");
    // 1,200 signatures over messages of up to 200 bytes (some 300 KiB of SHA-512 input: five or
    // more batches of up to 64 KiB, up to 8 workgroups each on a 4 × 2 grid).
    let mut batch = SignedBatch {
        signatures: Vec::new(),
        public_keys: Vec::new(),
        messages: Vec::new(),
    };
    let keys: Vec<SigningKey> = (0..16u64)
        .map(|k| SigningKey::from_bytes(&bytes(k, 32).try_into().unwrap()))
        .collect();
    for i in 0..1_200u64 {
        let key = &keys[(i % 16) as usize];
        let message = bytes(5_000 + i, (i * 37 % 201) as usize);
        let mut signature = key.sign(&message).to_bytes();
        if i % 3 == 1 {
            signature[(i % 64) as usize] ^= 1; // R or S
        }
        batch.signatures.push(signature);
        batch.public_keys.push(key.verifying_key().to_bytes());
        batch.messages.push(message);
    }
    let messages = batch.message_refs();
    let mut results = vec![2u8; messages.len()];
    verifier
        .verify_batch(
            &batch.signatures,
            &batch.public_keys,
            &messages,
            &mut results,
        )
        .expect("verify_batch");
    let mut want = vec![2u8; messages.len()];
    tandem_kernels::sigverify::verify_batch_cpu(
        &batch.signatures,
        &batch.public_keys,
        &messages,
        &mut want,
        None,
    );
    assert_eq!(results, want);
    assert!(want.contains(&0) && want.contains(&1));
    assert_eq!(ctx.usable(), Ok(()));
}

#[test]
fn an_account_larger_than_the_device_can_bind_is_hashed_all_the_same() {
    // Past half the device's storage binding a message or an account cannot go to the GPU:
    // beside small ones, each alone and summed, as the CPU kernels give them. (On every adapter: a device
    // opened with a 32 KiB binding; before 2026-12-06 the test needed one binding at most
    // 256 MiB, so it ran on software drivers only.)
    let Some(ctx) = gpu_or_skip(
        "an oversized account",
        device_with(TINY_BINDING, PER_DIMENSION),
    ) else {
        return;
    };
    // `checked` hashes messages up to 65,464 bytes: those past the binding too (it failed
    // validation on such a device until 2026-12-06: `blake3_many` kept the size rule only).
    let kernels = GpuHashKernels::checked(Arc::clone(&ctx)).expect("kernels, checked");
    let messages: [&[u8]; 3] = [b"abc", &[0x5a; 17 << 10], &[7; 1_000]];
    let mut out = [[0u8; 32]; 3];
    kernels
        .blake3_many(&messages, &mut out)
        .expect("blake3_many");
    for (message, hash) in messages.iter().zip(&out) {
        assert_eq!(hash, blake3::hash(message).as_bytes());
    }
    let mut accounts = vec![Account::random(1, 200), Account::random(2, 0)];
    accounts.push(Account {
        data: vec![0x5a; 17 << 10],
        ..Account::random(3, 0)
    });
    accounts.push(Account::random(4, 951));
    lthashes_as_the_cpu_gives_them(&kernels, &accounts);
    assert_eq!(ctx.usable(), Ok(()));
}

#[test]
fn a_message_larger_than_the_device_can_bind_is_verified_all_the_same() {
    // Past half the device's storage binding a message cannot go to the GPU (wgpu refused the
    // binding and the call panicked, once): beside small ones, valid and not.
    let Some(ctx) = gpu_or_skip(
        "an oversized message",
        device_with(TINY_BINDING, PER_DIMENSION),
    ) else {
        return;
    };
    let verifier = GpuEd25519::checked(Arc::clone(&ctx)).expect("verifier, checked");
    let key = SigningKey::from_bytes(&bytes(7, 32).try_into().unwrap());
    let public = key.verifying_key().to_bytes();
    let big = vec![0x5a; 17 << 10];
    let small = bytes(8, 100);
    let mut tampered = key.sign(&small).to_bytes();
    tampered[3] ^= 1;
    let mut wrong_big = key.sign(&big).to_bytes();
    wrong_big[40] ^= 1;
    let signatures = [
        key.sign(&small).to_bytes(),
        key.sign(&big).to_bytes(),
        tampered,
        wrong_big,
    ];
    let messages: [&[u8]; 4] = [&small, &big, &small, &big];
    let mut results = vec![9u8; 4];
    verifier
        .verify_batch(&signatures, &[public; 4], &messages, &mut results)
        .expect("verify_batch");
    assert_eq!(results, [1, 1, 0, 0]);
    assert_eq!(ctx.usable(), Ok(()));
}
