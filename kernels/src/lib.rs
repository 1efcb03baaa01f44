#![doc = include_str!("../README.md")]
//!
//! # Overview
//!
//! | family | what | CPU | GPU |
//! |---|---|---|---|
//! | [`hash`] | BLAKE3 of many messages; account LtHash | portable (blake3 crate), AVX2 ×8, AVX-512 ×16 | WGSL via wgpu |
//! | [`sigverify`] | ed25519, exactly verify_strict | reference (ed25519-dalek), curve25519-dalek + signer cache (own variable-time fixed-base arithmetic), over the cores | WGSL via wgpu |
//!
//! Every accelerated kernel has a reference beside it and is tested against the crate everyone
//! trusts (blake3, solana-lattice-hash). [`Platform`] is the one CPU dispatch point; [`Backend`]
//! chooses between the CPU and the GPU ([`gpu::GpuContext`]).
//!
//! The functions at the crate root take a [`Backend`]:
//! - `Cpu`: the widest [`Platform`] of this CPU ([`Platform::detect`]);
//! - `Gpu`: the GPU; where there is no adapter this is [`KernelError::Gpu`], never a silent
//!   fallback;
//! - `Auto`: the GPU when there is a hardware adapter (not a software rasterizer such as lavapipe)
//!   and the batch has at least [`AUTO_GPU_MIN_ITEMS`] items; the CPU otherwise. It measures
//!   nothing at run time.

pub mod gpu;
pub mod hash;
pub mod platform;
pub mod sigverify;
#[doc(hidden)]
pub mod testing;

pub use hash::lthash::{AccountInput, LtHash};
pub use platform::Platform;

use std::sync::Arc;

use gpu::GpuError;
use hash::gpu::GpuHashKernels;

/// Where a batch kernel runs (SPEC §7; C ABI `TANDEM_BACKEND_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// The GPU for large batches on a hardware GPU, the CPU otherwise.
    Auto,
    /// The CPU, widest SIMD available.
    Cpu,
    /// The GPU; an error where there is none.
    Gpu,
}

/// Smallest batch (messages or accounts) that [`Backend::Auto`] sends to a hardware GPU.
///
/// Provisional: the crossover has not yet been measured on a hardware GPU (none was lent to the
/// session that wrote this); on lavapipe, a software rasterizer, the GPU never pays off and `Auto`
/// never picks it. 16,384 items is where one dispatch carries enough work to hide its fixed cost
/// (upload, submission, readback: about 100 µs) against the CPU's ~25 M short hashes per second.
pub const AUTO_GPU_MIN_ITEMS: usize = 16_384;

/// Why a kernel call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    /// The GPU backend is unavailable or failed.
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

/// Verifies ed25519 signatures exactly as ed25519-dalek's `verify_strict` does (SPEC §2);
/// `results[i]` is 1 when signature `i` by `public_keys[i]` over `messages[i]` is valid, else 0.
/// On the CPU, recurring signers are served from the process-wide
/// [`sigverify::cache::SignerCache`]; `Backend::Gpu` runs the WGSL verifier ([`sigverify::gpu`]).
///
/// # Panics
/// If the slices differ in length.
pub fn ed25519_verify_batch(
    backend: Backend,
    signatures: &[[u8; 64]],
    public_keys: &[[u8; 32]],
    messages: &[&[u8]],
    results: &mut [u8],
) -> Result<(), KernelError> {
    verify_batch(
        backend,
        CpuThreads::All,
        sigverify::cache::SignerCache::global(),
        signatures,
        public_keys,
        messages,
        results,
    )
}

/// [`ed25519_verify_batch`], with the CPU path on the calling thread alone and recurring
/// signers looked up in `cache`: for a pipeline stage whose thread is pinned to its cores (where
/// spawning unpinned helpers would put the work on cores that belong to other stages), with a
/// cache of its own (so one stream of signers — users — cannot evict another's — voters).
/// Same answers.
///
/// # Panics
/// If the slices differ in length.
pub fn ed25519_verify_batch_on_caller(
    backend: Backend,
    cache: &sigverify::cache::SignerCache,
    signatures: &[[u8; 64]],
    public_keys: &[[u8; 32]],
    messages: &[&[u8]],
    results: &mut [u8],
) -> Result<(), KernelError> {
    verify_batch(
        backend,
        CpuThreads::Caller,
        cache,
        signatures,
        public_keys,
        messages,
        results,
    )
}

/// Which threads the CPU path of a batch verification uses.
#[derive(Clone, Copy)]
enum CpuThreads {
    /// One per available core, spawned for the call (large batches).
    All,
    /// The calling thread only.
    Caller,
}

fn verify_batch(
    backend: Backend,
    threads: CpuThreads,
    cache: &sigverify::cache::SignerCache,
    signatures: &[[u8; 64]],
    public_keys: &[[u8; 32]],
    messages: &[&[u8]],
    results: &mut [u8],
) -> Result<(), KernelError> {
    let gpu = match backend {
        Backend::Cpu => None,
        Backend::Gpu => Some(sigverify::gpu::GpuEd25519::shared()?),
        Backend::Auto if signatures.len() < AUTO_GPU_MIN_ITEMS => None,
        Backend::Auto => sigverify::gpu::GpuEd25519::shared()
            .ok()
            .filter(|v| !v.context().is_software()),
    };
    let cache = Some(cache);
    match (gpu, threads) {
        (Some(gpu), _) => Ok(gpu.verify_batch(signatures, public_keys, messages, results)?),
        (None, CpuThreads::All) => {
            sigverify::verify_batch_cpu(signatures, public_keys, messages, results, cache);
            Ok(())
        }
        (None, CpuThreads::Caller) => {
            sigverify::cpu::verify_many(signatures, public_keys, messages, results, cache);
            Ok(())
        }
    }
}

/// The GPU kernels a call should use, or `None` for the CPU.
fn choose(backend: Backend, items: usize) -> Result<Option<Arc<GpuHashKernels>>, KernelError> {
    match backend {
        Backend::Cpu => Ok(None),
        Backend::Gpu => Ok(Some(GpuHashKernels::shared()?)),
        Backend::Auto if items < AUTO_GPU_MIN_ITEMS => Ok(None),
        Backend::Auto => Ok(GpuHashKernels::shared()
            .ok()
            .filter(|k| !k.context().is_software())),
    }
}

/// BLAKE3 of every input; `out[i]` receives the hash of `inputs[i]`.
///
/// # Panics
/// If `out` and `inputs` differ in length.
pub fn blake3_many(
    backend: Backend,
    inputs: &[&[u8]],
    out: &mut [[u8; 32]],
) -> Result<(), KernelError> {
    match choose(backend, inputs.len())? {
        Some(gpu) => Ok(gpu.blake3_many(inputs, out)?),
        None => {
            hash::blake3_many(Platform::detect(), inputs, out);
            Ok(())
        }
    }
}

/// Each account's own LtHash; `out[i]` receives that of `accounts[i]`.
///
/// # Panics
/// If the lengths differ.
pub fn lthash_accounts(
    backend: Backend,
    accounts: &[AccountInput<'_>],
    out: &mut [LtHash],
) -> Result<(), KernelError> {
    match choose(backend, accounts.len())? {
        Some(gpu) => Ok(gpu.lthash_accounts(accounts, out)?),
        None => {
            hash::lthash::lthash_accounts(Platform::detect(), accounts, out);
            Ok(())
        }
    }
}

/// Adds every account's LtHash to `sum` (wrapping u16 addition).
pub fn lthash_accumulate(
    backend: Backend,
    accounts: &[AccountInput<'_>],
    sum: &mut LtHash,
) -> Result<(), KernelError> {
    match choose(backend, accounts.len())? {
        Some(gpu) => Ok(gpu.lthash_accumulate(accounts, sum)?),
        None => {
            hash::lthash::lthash_accumulate(Platform::detect(), accounts, sum);
            Ok(())
        }
    }
}
