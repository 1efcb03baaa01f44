//! What the C ABI costs (issue #9, item 10): each batch export of libtandem called as a C caller
//! calls it (`extern "C"`, raw pointer arrays), beside the same work through the Rust API of
//! tandem-kernels, in one run, on the CPU backend. The two must stay within a few percent of each
//! other: the C ABI is a skin of argument checks, and any per-item allocation or formatting on its
//! success path shows up here. `tandem_lthash_accounts` writes the caller's buffer in place where
//! it is 2-byte aligned (as the bench's is); a misaligned buffer is staged and copied, about 1.1x.
//!
//! The batch kernels run on the calling thread, except ed25519 verification, which spreads over
//! `available_parallelism()` threads on both paths alike; run under `taskset -c N` to compare on
//! one core.

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::rust_beside_c;
use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::{Signer, SigningKey};
use tandem::hash::{tandem_blake3_many, tandem_lthash_accounts, tandem_lthash_accumulate};
use tandem::sigverify::tandem_ed25519_verify_batch;
use tandem::{Backend as CBackend, TANDEM_OK};
use tandem_kernels::sigverify::cache::SignerCache;
use tandem_kernels::testing::bytes;
use tandem_kernels::{AccountInput, Backend, LtHash};

/// The `uint32_t backend` a C caller passes for the CPU.
const CPU: u32 = CBackend::Cpu as u32;

fn bench_blake3_many(c: &mut Criterion) {
    for n in [1024usize, 4096] {
        let owned: Vec<Vec<u8>> = (0..n).map(|i| bytes(i as u64, 128)).collect();
        // The Rust caller's slices, and the C caller's two arrays describing the same bytes.
        let inputs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        let ptrs: Vec<*const u8> = owned.iter().map(|m| m.as_ptr()).collect();
        let lens: Vec<usize> = owned.iter().map(Vec::len).collect();
        let mut out = vec![[0u8; 32]; n];
        let mut c_out = vec![0u8; 32 * n];

        // Both paths must compute the same hashes, or the comparison means nothing.
        tandem_kernels::blake3_many(Backend::Cpu, &inputs, &mut out).expect("CPU backend");
        // SAFETY: ptrs/lens describe n live messages; c_out holds n * 32 writable bytes.
        let status =
            unsafe { tandem_blake3_many(CPU, n, ptrs.as_ptr(), lens.as_ptr(), c_out.as_mut_ptr()) };
        assert_eq!(status, TANDEM_OK);
        assert_eq!(c_out, out.concat());

        rust_beside_c(
            c,
            &format!("ffi/blake3_many/128B-x{n}"),
            n,
            100,
            || {
                tandem_kernels::blake3_many(Backend::Cpu, black_box(&inputs), &mut out)
                    .expect("CPU backend")
            },
            || {
                // SAFETY: as above.
                let status = unsafe {
                    tandem_blake3_many(
                        CPU,
                        n,
                        black_box(ptrs.as_ptr()),
                        lens.as_ptr(),
                        c_out.as_mut_ptr(),
                    )
                };
                assert_eq!(status, TANDEM_OK);
            },
        );
    }
}

/// 200-byte accounts as a C caller lays them out: one array per field.
struct Accounts {
    pubkeys: Vec<u8>,
    owners: Vec<u8>,
    lamports: Vec<u64>,
    executable: Vec<u8>,
    data: Vec<Vec<u8>>,
    data_ptrs: Vec<*const u8>,
    data_lens: Vec<usize>,
}

impl Accounts {
    fn new(n: usize) -> Accounts {
        let data: Vec<Vec<u8>> = (0..n).map(|i| bytes(1 << 32 | i as u64, 200)).collect();
        Accounts {
            pubkeys: (0..n).flat_map(|i| bytes(2 << 32 | i as u64, 32)).collect(),
            owners: (0..n).flat_map(|i| bytes(3 << 32 | i as u64, 32)).collect(),
            lamports: (1..=n as u64).collect(),
            executable: (0..n).map(|i| u8::from(i % 7 == 0)).collect(),
            data_ptrs: data.iter().map(|d| d.as_ptr()).collect(),
            data_lens: data.iter().map(Vec::len).collect(),
            data,
        }
    }

    fn len(&self) -> usize {
        self.lamports.len()
    }

    /// The same accounts as the Rust API takes them.
    fn inputs(&self) -> Vec<AccountInput<'_>> {
        (0..self.len())
            .map(|i| AccountInput {
                pubkey: self.pubkeys[32 * i..32 * i + 32]
                    .try_into()
                    .expect("32 bytes"),
                owner: self.owners[32 * i..32 * i + 32]
                    .try_into()
                    .expect("32 bytes"),
                lamports: self.lamports[i],
                executable: self.executable[i] == 1,
                data: &self.data[i],
            })
            .collect()
    }

    /// Calls `export` (`tandem_lthash_accounts` or `tandem_lthash_accumulate`, which take the
    /// same arguments) on every account, writing to `out`.
    ///
    /// # Safety
    ///
    /// `out` must hold what `export` writes: n * 2048 bytes or 2048 bytes.
    unsafe fn call(&self, export: LtHashExport, out: *mut u8) -> i32 {
        // SAFETY: every array holds len() elements and each data pointer its length in bytes;
        // the caller vouches for out, which is apart from the inputs.
        unsafe {
            export(
                CPU,
                self.len(),
                self.pubkeys.as_ptr(),
                self.owners.as_ptr(),
                self.lamports.as_ptr(),
                self.executable.as_ptr(),
                self.data_ptrs.as_ptr(),
                self.data_lens.as_ptr(),
                out,
            )
        }
    }

    /// `tandem_lthash_accounts` over every account into `out`.
    fn c_accounts(&self, out: &mut [u8]) -> i32 {
        assert_eq!(out.len(), self.len() * LtHash::BYTES);
        // SAFETY: out holds the n * 2048 bytes just checked.
        unsafe { self.call(tandem_lthash_accounts, out.as_mut_ptr()) }
    }

    /// `tandem_lthash_accumulate` of every account into `sum`.
    fn c_accumulate(&self, sum: &mut [u8; LtHash::BYTES]) -> i32 {
        // SAFETY: sum holds 2048 bytes.
        unsafe { self.call(tandem_lthash_accumulate, sum.as_mut_ptr()) }
    }
}

/// The signature shared by `tandem_lthash_accounts` and `tandem_lthash_accumulate`.
type LtHashExport = unsafe extern "C" fn(
    u32,
    usize,
    *const u8,
    *const u8,
    *const u64,
    *const u8,
    *const *const u8,
    *const usize,
    *mut u8,
) -> i32;

fn bench_lthash(c: &mut Criterion) {
    let n = 1024;
    let accounts = Accounts::new(n);
    let inputs = accounts.inputs();
    let mut out = vec![LtHash::identity(); n];
    let mut c_out = vec![0u8; n * LtHash::BYTES];

    tandem_kernels::lthash_accounts(Backend::Cpu, &inputs, &mut out).expect("CPU backend");
    assert_eq!(accounts.c_accounts(&mut c_out), TANDEM_OK);
    assert_eq!(
        c_out,
        out.iter().flat_map(LtHash::to_bytes).collect::<Vec<u8>>()
    );

    rust_beside_c(
        c,
        "ffi/lthash_accounts/200B-x1024",
        n,
        100,
        || {
            tandem_kernels::lthash_accounts(Backend::Cpu, black_box(&inputs), &mut out)
                .expect("CPU backend")
        },
        || assert_eq!(accounts.c_accounts(black_box(&mut c_out)), TANDEM_OK),
    );

    let mut sum = LtHash::identity();
    tandem_kernels::lthash_accumulate(Backend::Cpu, &inputs, &mut sum).expect("CPU backend");
    let mut c_sum = [0u8; LtHash::BYTES];
    assert_eq!(accounts.c_accumulate(&mut c_sum), TANDEM_OK);
    assert_eq!(c_sum, sum.to_bytes());

    rust_beside_c(
        c,
        "ffi/lthash_accumulate/200B-x1024",
        n,
        100,
        || {
            tandem_kernels::lthash_accumulate(Backend::Cpu, black_box(&inputs), &mut sum)
                .expect("CPU backend")
        },
        || assert_eq!(accounts.c_accumulate(black_box(&mut c_sum)), TANDEM_OK),
    );
}

/// One batch of signatures, each by a signer of its own, over a 200-byte message.
struct SigBatch {
    sigs: Vec<[u8; 64]>,
    keys: Vec<[u8; 32]>,
    msgs: Vec<Vec<u8>>,
    msg_ptrs: Vec<*const u8>,
    msg_lens: Vec<usize>,
}

impl SigBatch {
    fn new(first_signer: u64, n: usize) -> SigBatch {
        let (mut sigs, mut keys, mut msgs) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n as u64 {
            let seed = first_signer + i;
            let signer = SigningKey::from_bytes(&bytes(seed, 32).try_into().expect("32 bytes"));
            let msg = bytes(seed | 1 << 63, 200);
            sigs.push(signer.sign(&msg).to_bytes());
            keys.push(*signer.verifying_key().as_bytes());
            msgs.push(msg);
        }
        SigBatch {
            msg_ptrs: msgs.iter().map(|m| m.as_ptr()).collect(),
            msg_lens: msgs.iter().map(Vec::len).collect(),
            sigs,
            keys,
            msgs,
        }
    }
}

fn bench_sigverify(c: &mut Criterion) {
    // Unique signers: the process-wide signer cache gives a key a table on its second sighting
    // and forgets sightings after 16 x 1,024 distinct keys, so cycling through 32,768 distinct
    // signers (more than that between two sightings of any one key) keeps every key uncached,
    // checked after the run.
    const PER_BATCH: usize = 512;
    const BATCHES: usize = 64;
    let batches: Vec<SigBatch> = (0..BATCHES)
        .map(|b| SigBatch::new((b * PER_BATCH) as u64, PER_BATCH))
        .collect();
    let msgs: Vec<Vec<&[u8]>> = batches
        .iter()
        .map(|b| b.msgs.iter().map(Vec::as_slice).collect())
        .collect();
    let next = AtomicUsize::new(0);

    // Both closures write results; they run one after the other, so each borrows it in turn.
    let results = std::cell::RefCell::new(vec![0u8; PER_BATCH]);
    rust_beside_c(
        c,
        "ffi/ed25519_verify_batch/unique-signers-x512",
        PER_BATCH,
        20,
        || {
            let i = next.fetch_add(1, Ordering::Relaxed) % BATCHES;
            let batch = &batches[i];
            let results = &mut results.borrow_mut();
            tandem_kernels::ed25519_verify_batch(
                Backend::Cpu,
                &batch.sigs,
                &batch.keys,
                &msgs[i],
                results,
            )
            .expect("CPU backend");
            assert!(results.iter().all(|&r| r == 1));
        },
        || {
            let batch = &batches[next.fetch_add(1, Ordering::Relaxed) % BATCHES];
            let results = &mut results.borrow_mut();
            // SAFETY: every array holds PER_BATCH elements, each message pointer its length in
            // bytes, and results PER_BATCH writable bytes apart from the inputs.
            let status = unsafe {
                tandem_ed25519_verify_batch(
                    CPU,
                    PER_BATCH,
                    batch.sigs.as_ptr().cast(),
                    batch.keys.as_ptr().cast(),
                    batch.msg_ptrs.as_ptr(),
                    batch.msg_lens.as_ptr(),
                    results.as_mut_ptr(),
                )
            };
            assert_eq!(status, TANDEM_OK);
            assert!(results.iter().all(|&r| r == 1));
        },
    );
    let cached = SignerCache::global().len();
    eprintln!("signer cache after the sigverify benches: {cached} tables (0 = signers unique)");
    assert_eq!(cached, 0, "the 'unique signers' bench hit cached signers");
}

criterion_group!(benches, bench_blake3_many, bench_lthash, bench_sigverify);
criterion_main!(benches);
