//! Every CPU backend of the hashing kernels against the crates everyone trusts: blake3 for
//! `blake3_many`, Agave's solana-lattice-hash for the account LtHash.

mod common;

use common::{Account, bytes, rand_u64};
use tandem_kernels::hash::{blake3_many, lthash};
use tandem_kernels::{AccountInput, LtHash, Platform};

/// Lengths at block (64), chunk (1024), lane-group and tree boundaries.
const LENGTHS: &[usize] = &[
    0,
    1,
    63,
    64,
    65,
    127,
    128,
    129,
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
    8191,
    8192,
    8193,
    16385,
    31744,
    65536 + 1,
    1 << 20,
    (1 << 20) + 1,
];

fn check_blake3_many(platform: Platform, inputs: &[Vec<u8>]) {
    let refs: Vec<&[u8]> = inputs.iter().map(|v| v.as_slice()).collect();
    let mut out = vec![[0u8; 32]; refs.len()];
    blake3_many(platform, &refs, &mut out);
    for (i, (input, hash)) in inputs.iter().zip(&out).enumerate() {
        assert_eq!(
            hash,
            blake3::hash(input).as_bytes(),
            "{platform}: message {i} of {} bytes",
            input.len()
        );
    }
}

#[test]
fn blake3_many_matches_the_blake3_crate_on_every_boundary_length() {
    for platform in tandem_kernels::testing::platforms_here() {
        for &len in LENGTHS {
            check_blake3_many(platform, &[bytes(len as u64, len)]);
        }
        // All lengths in one batch: lanes of different lengths side by side.
        let all: Vec<Vec<u8>> = LENGTHS.iter().map(|&l| bytes(l as u64 + 7, l)).collect();
        check_blake3_many(platform, &all);
    }
}

#[test]
fn blake3_many_matches_on_batches_of_equal_lengths() {
    // Full lane groups of one length take a separate path; cover whole and partial last blocks.
    for platform in tandem_kernels::testing::platforms_here() {
        for len in [0usize, 1, 63, 64, 100, 128, 129, 1000, 1023, 1024] {
            for n in [8usize, 16, 37] {
                let batch: Vec<Vec<u8>> =
                    (0..n).map(|i| bytes((len * 100 + i) as u64, len)).collect();
                check_blake3_many(platform, &batch);
            }
        }
    }
}

#[test]
fn blake3_many_matches_on_random_batches_of_every_size_around_the_lane_counts() {
    for platform in tandem_kernels::testing::platforms_here() {
        for n in [0usize, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100] {
            let batch: Vec<Vec<u8>> = (0..n)
                .map(|i| {
                    let seed = (n * 1000 + i) as u64;
                    let len = match rand_u64(seed) % 10 {
                        0..=5 => (rand_u64(seed + 1) % 300) as usize,
                        6..=8 => (rand_u64(seed + 1) % 2200) as usize,
                        _ => (rand_u64(seed + 1) % 40_000) as usize,
                    };
                    bytes(seed, len)
                })
                .collect();
            check_blake3_many(platform, &batch);
        }
    }
}

fn accounts() -> Vec<Account> {
    let mut out = Vec::new();
    let mut seed = 1;
    for len in [
        0usize,
        1,
        55,
        56,
        119,
        200,
        951,
        952,
        1000,
        3762,
        10 * 1024,
        70_000,
    ] {
        for _ in 0..3 {
            out.push(Account::random(seed, len));
            seed += 1;
        }
    }
    let mut zero = Account::random(seed, 200);
    zero.lamports = 0;
    out.push(zero);
    let mut exec = Account::random(seed + 1, 0);
    exec.executable = true;
    out.push(exec);
    out
}

#[test]
fn lthash_of_each_account_matches_solana_lattice_hash() {
    let accounts = accounts();
    let inputs: Vec<AccountInput<'_>> = accounts.iter().map(Account::input).collect();
    for platform in tandem_kernels::testing::platforms_here() {
        let mut out = vec![LtHash::identity(); inputs.len()];
        lthash::lthash_accounts(platform, &inputs, &mut out);
        for (i, (account, ours)) in accounts.iter().zip(&out).enumerate() {
            let agave = account.agave_lthash();
            assert_eq!(
                ours.0,
                agave.0,
                "{platform}: account {i} ({} bytes, {} lamports)",
                account.data.len(),
                account.lamports
            );
            assert_eq!(
                ours.checksum(),
                agave.checksum().0,
                "{platform}: checksum {i}"
            );
        }
    }
}

#[test]
fn the_largest_account_hashes_as_solana_does_on_every_platform() {
    // SPEC §1's largest account, 10 MiB of data (10,241 chunks with its other fields: odd
    // carries up BLAKE3's tree), alone and among small ones filling the lanes around it.
    let largest = Account::random(4_242, 10 * 1024 * 1024);
    let agave = largest.agave_lthash();
    let mut batch: Vec<Account> = (0..8).map(|i| Account::random(5_000 + i, 100)).collect();
    batch.insert(3, largest);
    let inputs: Vec<AccountInput<'_>> = batch.iter().map(Account::input).collect();
    for platform in tandem_kernels::testing::platforms_here() {
        let mut out = vec![LtHash::identity(); inputs.len()];
        lthash::lthash_accounts(platform, &inputs, &mut out);
        assert_eq!(out[3].0, agave.0, "{platform}: the 10 MiB account");
        for (i, account) in batch.iter().enumerate() {
            assert_eq!(
                out[i].0,
                account.agave_lthash().0,
                "{platform}: account {i}"
            );
        }
    }
}

#[test]
fn lthash_accumulate_matches_the_sum_of_solana_lattice_hashes() {
    let accounts = accounts();
    let inputs: Vec<AccountInput<'_>> = accounts.iter().map(Account::input).collect();
    let mut agave = solana_lattice_hash::lt_hash::LtHash::identity();
    for account in &accounts {
        agave.mix_in(&account.agave_lthash());
    }
    for platform in tandem_kernels::testing::platforms_here() {
        // Starting from a non-identity sum, and over every prefix size around the lane counts.
        for take in [0, 1, 7, 8, 9, 15, 16, 17, inputs.len()] {
            let mut ours = LtHash::identity();
            ours.0[5] = 77;
            lthash::lthash_accumulate(platform, &inputs[..take], &mut ours);
            let mut expected = solana_lattice_hash::lt_hash::LtHash::identity();
            expected.0[5] = 77;
            for account in &accounts[..take] {
                expected.mix_in(&account.agave_lthash());
            }
            assert_eq!(ours.0, expected.0, "{platform}: first {take} accounts");
        }
        let mut ours = LtHash::identity();
        lthash::lthash_accumulate(platform, &inputs, &mut ours);
        assert_eq!(ours.0, agave.0, "{platform}: all accounts");
    }
}

#[test]
fn lthash_mix_out_undoes_mix_in() {
    let a = Account::random(9, 100);
    let mut one = [LtHash::identity()];
    lthash::lthash_accounts(Platform::Portable, &[a.input()], &mut one);
    let mut sum = LtHash::identity();
    sum.mix_in(&one[0]);
    sum.mix_out(&one[0]);
    assert_eq!(sum, LtHash::identity());
}
