//! Every kernel export of the C ABI called from several threads at once, on each backend
//! (`TANDEM_BACKEND_CPU`, `_AUTO` and `_GPU`, mixed between the threads and rounds), each answer
//! checked against the reference crates (issue #9, item 3): C callers share the process-wide
//! kernels, so one caller must never see another's results.
//!
//! The GPU backend runs where an adapter exists (lavapipe in CI). Where none does, it fails where
//! `CI=true`, and elsewhere says that it was left out and runs the CPU and AUTO backends alone.
//! Batches stay small for lavapipe.

use std::ffi::CStr;

use tandem::hash::{tandem_blake3_many, tandem_lthash_accounts, tandem_lthash_accumulate};
use tandem::sigverify::tandem_ed25519_verify_batch;
use tandem::{Backend, TANDEM_OK, tandem_last_error};
use tandem_kernels::LtHash;
use tandem_kernels::gpu::GpuContext;
use tandem_kernels::testing::{SignedBatch, bytes, check_blake3, gpu_or_skip, hammer, messages};

const THREADS: usize = 4;

/// Runs `call(backend, thread, round)` on [`THREADS`] threads started together, `rounds` rounds
/// each, the backend changing with thread and round so that every backend runs beside every
/// other: CPU and AUTO always, GPU where there is one (see the module docs).
fn hammer_backends(
    what: &str,
    rounds: usize,
    call: impl Fn(Backend, usize, usize) -> Result<(), String> + Sync,
) {
    let mut backends = vec![Backend::Cpu, Backend::Auto];
    let gpu = format!("C ABI concurrency ({what}) on TANDEM_BACKEND_GPU");
    if gpu_or_skip(&gpu, GpuContext::shared()).is_some() {
        backends.push(Backend::Gpu);
    }
    hammer(what, THREADS, rounds, |t, r| {
        let backend = backends[(t + r) % backends.len()];
        call(backend, t, r).map_err(|why| format!("{backend:?}: {why}"))
    });
}

/// `Ok` for `TANDEM_OK`, else the status and the calling thread's last error.
fn status(code: i32) -> Result<(), String> {
    if code == TANDEM_OK {
        return Ok(());
    }
    // SAFETY: tandem_last_error returns a NUL-terminated string valid until the next call.
    let message = unsafe { CStr::from_ptr(tandem_last_error()) };
    Err(format!("status {code}: {}", message.to_string_lossy()))
}

/// A seed unique to one call of one thread, so no two calls see the same inputs.
fn seed(t: usize, r: usize) -> u64 {
    (t * 1_000_000 + r * 1_000) as u64
}

#[test]
fn concurrent_blake3_many_on_every_backend() {
    hammer_backends("tandem_blake3_many", 24, |backend, t, r| {
        let inputs = messages(seed(t, r), 40);
        let ptrs: Vec<*const u8> = inputs.iter().map(|v| v.as_ptr()).collect();
        let lens: Vec<usize> = inputs.iter().map(Vec::len).collect();
        let mut out = vec![[0u8; 32]; inputs.len()];
        // SAFETY: n pointers and lengths of live vectors, and n * 32 writable bytes.
        status(unsafe {
            tandem_blake3_many(
                backend as u32,
                inputs.len(),
                ptrs.as_ptr(),
                lens.as_ptr(),
                out.as_mut_ptr().cast(),
            )
        })?;
        check_blake3(&inputs, &out)
    });
}

/// The account arrays of the LtHash exports, unique to one call: one account without lamports.
struct Accounts {
    pubkeys: Vec<[u8; 32]>,
    owners: Vec<[u8; 32]>,
    lamports: Vec<u64>,
    executable: Vec<u8>,
    data: Vec<Vec<u8>>,
}

impl Accounts {
    fn new(t: usize, r: usize) -> Accounts {
        let n = 6u64;
        let s = seed(t, r);
        Accounts {
            pubkeys: (0..n)
                .map(|i| bytes(s + i, 32).try_into().unwrap())
                .collect(),
            owners: (0..n)
                .map(|i| bytes(s + 100 + i, 32).try_into().unwrap())
                .collect(),
            lamports: (0..n).map(|i| if i == 5 { 0 } else { s + i + 1 }).collect(),
            executable: (0..n).map(|i| (i % 2) as u8).collect(),
            data: (0..n)
                .map(|i| bytes(s + 200 + i, (i as usize * 71) % 400))
                .collect(),
        }
    }

    /// Each account's LtHash by the reference: Agave's own (`solana-lattice-hash` over the
    /// blake3 crate's XOF, its account hash's field order), not tandem's portable kernel — which
    /// is the CPU backend itself on a CPU without AVX2.
    fn reference(&self) -> Vec<LtHash> {
        (0..self.lamports.len())
            .map(|i| {
                if self.lamports[i] == 0 {
                    return LtHash::identity();
                }
                let mut hasher = blake3::Hasher::new();
                hasher.update(&self.lamports[i].to_le_bytes());
                hasher.update(&self.data[i]);
                hasher.update(&[self.executable[i]]);
                hasher.update(&self.owners[i]);
                hasher.update(&self.pubkeys[i]);
                LtHash(solana_lattice_hash::lt_hash::LtHash::with(&hasher).0)
            })
            .collect()
    }

    /// Calls `export` (either LtHash export: they take the same arrays) with `out`.
    fn call(&self, backend: Backend, out: *mut u8, export: LtHashExport) -> Result<(), String> {
        let ptrs: Vec<*const u8> = self.data.iter().map(|v| v.as_ptr()).collect();
        let lens: Vec<usize> = self.data.iter().map(Vec::len).collect();
        // SAFETY: n elements in every array, and `out` as large as the export writes.
        status(unsafe {
            export(
                backend as u32,
                self.lamports.len(),
                self.pubkeys.as_ptr().cast(),
                self.owners.as_ptr().cast(),
                self.lamports.as_ptr(),
                self.executable.as_ptr(),
                ptrs.as_ptr(),
                lens.as_ptr(),
                out,
            )
        })
    }
}

/// The signature `tandem_lthash_accounts` and `tandem_lthash_accumulate` share.
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

#[test]
fn concurrent_lthash_accounts_on_every_backend() {
    hammer_backends("tandem_lthash_accounts", 12, |backend, t, r| {
        let accounts = Accounts::new(t, r);
        let mut out = vec![[0u8; LtHash::BYTES]; accounts.lamports.len()];
        accounts.call(backend, out.as_mut_ptr().cast(), tandem_lthash_accounts)?;
        match accounts
            .reference()
            .iter()
            .zip(&out)
            .position(|(expected, ours)| expected.to_bytes() != *ours)
        {
            Some(i) => Err(format!("LtHash of account {i} is not the reference's")),
            None => Ok(()),
        }
    });
}

#[test]
fn concurrent_lthash_accumulate_on_every_backend() {
    hammer_backends("tandem_lthash_accumulate", 12, |backend, t, r| {
        let accounts = Accounts::new(t, r);
        // Start from a sum unique to the call, as a caller adding to its own running sum does.
        let mut sum =
            LtHash::from_bytes(&bytes(seed(t, r) + 999, LtHash::BYTES).try_into().unwrap());
        let mut expected = sum.clone();
        for hash in accounts.reference() {
            expected.mix_in(&hash);
        }
        let mut bytes_inout = sum.to_bytes();
        accounts.call(backend, bytes_inout.as_mut_ptr(), tandem_lthash_accumulate)?;
        sum = LtHash::from_bytes(&bytes_inout);
        if sum == expected {
            Ok(())
        } else {
            Err("the sum is not the reference's".to_string())
        }
    });
}

#[test]
fn concurrent_ed25519_verify_batch_on_every_backend() {
    // Few rounds: one GPU verification takes lavapipe a second or more.
    hammer_backends("tandem_ed25519_verify_batch", 3, |backend, t, r| {
        let batch = SignedBatch::new(seed(t, r), 4);
        let ptrs: Vec<*const u8> = batch.messages.iter().map(|m| m.as_ptr()).collect();
        let lens: Vec<usize> = batch.messages.iter().map(Vec::len).collect();
        let mut results = vec![9u8; batch.signatures.len()];
        // SAFETY: n signatures, keys, message pointers and lengths, and n writable results.
        status(unsafe {
            tandem_ed25519_verify_batch(
                backend as u32,
                results.len(),
                batch.signatures.as_ptr().cast(),
                batch.public_keys.as_ptr().cast(),
                ptrs.as_ptr(),
                lens.as_ptr(),
                results.as_mut_ptr(),
            )
        })?;
        batch.check(&results)
    });
}
