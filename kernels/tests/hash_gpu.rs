//! The GPU hashing kernels against the crates everyone trusts, on whatever adapter exists: in CI,
//! Mesa's software Vulkan driver (lavapipe). Batches stay small for a software rasterizer; the big
//! ones are in the benches.
//!
//! No adapter: where `CI=true` the tests fail (the GPU path must be proven there); elsewhere they
//! say loudly that they did not run.

mod common;

use std::sync::Arc;

use common::{Account, bytes};
use tandem_kernels::gpu::GpuContext;
use tandem_kernels::hash::gpu::{GPU_MAX_MESSAGE_BYTES, GpuHashKernels};
use tandem_kernels::testing::gpu_or_skip;
use tandem_kernels::{AccountInput, Backend, LtHash};

fn kernels() -> Option<Arc<GpuHashKernels>> {
    gpu_or_skip("GPU hash tests", GpuHashKernels::shared())
}

#[test]
fn gpu_blake3_many_matches_the_blake3_crate() {
    let Some(k) = kernels() else { return };
    // Block, chunk and tree boundaries, and lengths past the size rule (hashed on the CPU).
    let lengths = [
        0,
        1,
        63,
        64,
        65,
        1023,
        1024,
        1025,
        2047,
        2048,
        2049,
        3072,
        3073,
        4096,
        5120,
        8193,
        16385,
        31744,
        GPU_MAX_MESSAGE_BYTES,
        GPU_MAX_MESSAGE_BYTES + 1,
        (1 << 20) + 1,
    ];
    let mut inputs: Vec<Vec<u8>> = lengths.iter().map(|&l| bytes(l as u64, l)).collect();
    // And a few hundred short ones, more than one workgroup.
    inputs.extend((0..300).map(|i| bytes(1000 + i, (i as usize * 7) % 300)));
    let refs: Vec<&[u8]> = inputs.iter().map(|v| v.as_slice()).collect();
    let mut out = vec![[0u8; 32]; refs.len()];
    k.blake3_many(&refs, &mut out).expect("GPU blake3_many");
    for (i, (input, hash)) in inputs.iter().zip(&out).enumerate() {
        assert_eq!(
            hash,
            blake3::hash(input).as_bytes(),
            "message {i} of {} bytes",
            input.len()
        );
    }
    // Through the public Backend::Gpu entry point too, and an empty batch.
    let mut again = vec![[0u8; 32]; refs.len()];
    tandem_kernels::blake3_many(Backend::Gpu, &refs, &mut again).expect("Backend::Gpu");
    assert_eq!(again, out);
    tandem_kernels::blake3_many(Backend::Gpu, &[], &mut []).expect("empty batch");
}

#[test]
fn gpu_lthash_at_the_size_rule_and_up_to_the_largest_account_matches_agave() {
    // Hash inputs (data + 73 bytes) of exactly 64 KiB (the GPU's) and just past it, 128 KiB,
    // 1 MiB and SPEC §1's 10 MiB (the CPU's, by the size rule), lamports u64::MAX and 1, both
    // executable flags: each as Agave hashes it, alone and summed, beside a small one.
    let Some(k) = kernels() else { return };
    let lens = [
        GPU_MAX_MESSAGE_BYTES - 73,
        GPU_MAX_MESSAGE_BYTES - 72,
        (128 << 10) - 73,
        1 << 20,
        10 << 20,
        2_048 - 73,
    ];
    let accounts: Vec<Account> = lens
        .iter()
        .enumerate()
        .map(|(i, &len)| Account {
            lamports: if i % 2 == 0 { u64::MAX } else { 1 },
            executable: i % 3 == 0,
            ..Account::random(900 + i as u64, len)
        })
        .collect();
    let inputs: Vec<AccountInput<'_>> = accounts.iter().map(Account::input).collect();
    let mut each = vec![LtHash::identity(); inputs.len()];
    k.lthash_accounts(&inputs, &mut each).expect("GPU");
    let mut expected = LtHash::identity();
    for (i, (account, ours)) in accounts.iter().zip(&each).enumerate() {
        let agave = account.agave_lthash();
        assert_eq!(ours.0, agave.0, "account {i}, {} bytes", account.data.len());
        expected.mix_in(&LtHash(agave.0));
    }
    let mut sum = LtHash::identity();
    k.lthash_accumulate(&inputs, &mut sum).expect("GPU");
    assert_eq!(sum, expected);
}

fn accounts() -> Vec<Account> {
    let lens = [0usize, 1, 200, 951, 952, 3762, 10 * 1024, 20_000];
    let mut out = Vec::new();
    for (i, &len) in lens.iter().cycle().take(80).enumerate() {
        let b = bytes(i as u64 + 77, 64);
        out.push(Account {
            pubkey: b[..32].try_into().unwrap(),
            owner: b[32..].try_into().unwrap(),
            lamports: if i % 11 == 3 {
                0
            } else {
                1 + i as u64 * 1_000_003
            },
            executable: i % 5 == 0,
            data: bytes(i as u64, len),
        });
    }
    out
}

#[test]
fn gpu_lthash_accounts_and_accumulate_match_solana_lattice_hash() {
    let Some(k) = kernels() else { return };
    let accounts = accounts();
    let inputs: Vec<AccountInput<'_>> = accounts.iter().map(Account::input).collect();
    let mut each = vec![LtHash::identity(); inputs.len()];
    k.lthash_accounts(&inputs, &mut each)
        .expect("GPU lthash_accounts");
    let mut expected_sum = solana_lattice_hash::lt_hash::LtHash::identity();
    for (i, (account, ours)) in accounts.iter().zip(&each).enumerate() {
        let agave = account.agave_lthash();
        assert_eq!(
            ours.0,
            agave.0,
            "account {i} ({} bytes, {} lamports)",
            account.data.len(),
            account.lamports
        );
        expected_sum.mix_in(&agave);
    }
    let mut sum = LtHash::identity();
    k.lthash_accumulate(&inputs, &mut sum)
        .expect("GPU lthash_accumulate");
    assert_eq!(sum.0, expected_sum.0);
    // Through Backend::Gpu, starting from a non-identity sum.
    let mut sum2 = LtHash::identity();
    sum2.0[0] = 9;
    tandem_kernels::lthash_accumulate(Backend::Gpu, &inputs, &mut sum2).expect("Backend::Gpu");
    expected_sum.0[0] = expected_sum.0[0].wrapping_add(9);
    assert_eq!(sum2.0, expected_sum.0);
}

#[test]
fn a_context_can_be_built_from_a_caller_device() {
    let Some(k) = kernels() else { return };
    // Device setup is separate from execution: a second context on the same adapter works too.
    let ctx = GpuContext::new().expect("a second context");
    let own = GpuHashKernels::new(Arc::new(ctx));
    let mut out = [[0u8; 32]];
    own.blake3_many(&[b"abc"], &mut out).unwrap();
    assert_eq!(&out[0], blake3::hash(b"abc").as_bytes());
    drop(k);
}
