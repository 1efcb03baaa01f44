#![doc = include_str!("../README.md")]
//!
//! # Overview
//!
//! | family | what | CPU | GPU |
//! |---|---|---|---|
//! | [`hash`] | BLAKE3 of many messages; account LtHash | portable (blake3 crate), AVX2 ×8, AVX-512 ×16 | WGSL via wgpu |
//! | [`sigverify`] | ed25519, exactly verify_strict | reference (ed25519-dalek); portable (curve25519-dalek + signer cache on its own variable-time fixed-base arithmetic); lanes: AVX2 ×4, AVX-512 IFMA ×8 signatures at once; over the cores | WGSL via wgpu |
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
//!   and the batch has at least [`auto_gpu_min_items`] items (by default [`AUTO_GPU_MIN_ITEMS`]; a
//!   measured crossover replaces it); the CPU otherwise. It measures
//!   nothing at run time. A device that fails while in use ([`gpu::GpuError::Failed`]: lost,
//!   out of memory) is not used again: `Auto` does the failed call's work again on the CPU — the
//!   same answers — and every later one there, where `Gpu` returns the error.
//!
//! A pipeline stage holds its own [`Ed25519Verifier`] (its signer cache) and [`AccountHasher`]:
//! on the process-wide GPU device, or — the VED's, so that a vote never queues behind user work —
//! on one of its own (`dedicated`), opened at its first batch or ahead of it (`open_device`).
//! An empty batch opens no device.

pub mod gpu;
pub mod hash;
pub mod platform;
pub mod sigverify;
#[doc(hidden)]
pub mod testing;

pub use hash::lthash::{AccountInput, LtHash};
pub use platform::Platform;

use std::sync::{Arc, OnceLock};

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

/// The threshold [`Backend::Auto`] uses now: [`AUTO_GPU_MIN_ITEMS`] until a measured crossover
/// replaces it ([`set_auto_gpu_min_items`]).
static AUTO_THRESHOLD: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(AUTO_GPU_MIN_ITEMS);

/// The smallest batch [`Backend::Auto`] sends to a hardware GPU in this process.
pub fn auto_gpu_min_items() -> usize {
    AUTO_THRESHOLD.load(std::sync::atomic::Ordering::Relaxed)
}

/// Sets the smallest batch [`Backend::Auto`] sends to a hardware GPU: the crossover `tandem
/// bench` measured on this machine (a hardware profile's `[auto] gpu_min_items`, applied by
/// `tandem run --profile`). At least 1. It only moves where work runs, never what it computes.
pub fn set_auto_gpu_min_items(items: usize) {
    AUTO_THRESHOLD.store(items.max(1), std::sync::atomic::Ordering::Relaxed);
}

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
    let on_the_cpu = |results: &mut [u8]| {
        let cache = Some(sigverify::cache::SignerCache::global());
        sigverify::verify_batch_cpu(signatures, public_keys, messages, results, cache);
    };
    match Ed25519Verifier::shared(backend).gpu_for(signatures.len())? {
        Some(gpu) => {
            let verified = gpu.verify_batch(signatures, public_keys, messages, results);
            or_on_the_cpu(backend, verified, || on_the_cpu(results))
        }
        None => {
            on_the_cpu(results);
            Ok(())
        }
    }
}

/// A GPU call's outcome, where a device that failed while in use ([`GpuError::Failed`]) under
/// [`Backend::Auto`] has `cpu` do the work again (the same answers; the failed device is not
/// chosen again); under `Gpu`, and for every other error, the error is the caller's.
fn or_on_the_cpu<T>(
    backend: Backend,
    gpu: Result<T, GpuError>,
    cpu: impl FnOnce() -> T,
) -> Result<T, KernelError> {
    match gpu {
        Err(GpuError::Failed(_)) if backend == Backend::Auto => Ok(cpu()),
        gpu => Ok(gpu?),
    }
}

/// Whether a stage's own device (`own`; `None`: it has none) was opened and has not failed
/// since; `context` reads the kernels' device.
fn own_device_is_open<K>(
    own: Option<&OnceLock<Result<Arc<K>, GpuError>>>,
    context: impl Fn(&K) -> &Arc<gpu::GpuContext>,
) -> bool {
    let opened = own.and_then(OnceLock::get);
    opened.is_some_and(|k| k.as_ref().is_ok_and(|k| context(k).failure().is_none()))
}

/// Whether `Auto` may use a device: a hardware adapter that has not failed.
/// (Software adapters only where a test asked: [`testing::let_auto_use_software_adapters`].)
fn auto_may_use(ctx: &gpu::GpuContext) -> bool {
    ctx.failure().is_none() && auto_may_open()
}

/// Whether `Auto` may open a device at all, asked of the adapter before any device is opened
/// or shader built: a hardware adapter (or a software one where a test asked). On a machine
/// with only lavapipe, `Auto` never compiles the shaders (seconds of CPU) for nothing.
fn auto_may_open() -> bool {
    gpu::best_adapter_info()
        .is_ok_and(|info| !gpu::is_software(info) || testing::auto_on_software())
}

/// A signature verifier for one stream of work — a pipeline stage — that runs its CPU work on
/// the calling thread (a stage pinned to its cores must not spawn unpinned helpers onto cores
/// that belong to other stages) with a signer cache of its own or the process-wide one, and its
/// GPU work on a device of its own or the shared one. The VED's verifier owns both, so user
/// signers cannot evict voters' tables and a vote batch's GPU readback never waits behind user
/// batches queued on the shared device. Same answers as [`ed25519_verify_batch`].
pub struct Ed25519Verifier {
    backend: Backend,
    cache: VerifierCache,
    /// `Some`: a device of its own, opened at the first GPU batch.
    own_gpu: Option<OnceLock<Result<Arc<sigverify::gpu::GpuEd25519>, GpuError>>>,
}

enum VerifierCache {
    Global,
    Own(Arc<sigverify::cache::SignerCache>),
}

impl Ed25519Verifier {
    /// A verifier on `backend` with the process-wide signer cache and GPU device.
    pub fn shared(backend: Backend) -> Ed25519Verifier {
        Ed25519Verifier {
            backend,
            cache: VerifierCache::Global,
            own_gpu: None,
        }
    }

    /// A verifier on `backend` with a signer cache of `capacity` signers and a GPU device
    /// (its own queue) of its own.
    pub fn dedicated(backend: Backend, capacity: usize) -> Ed25519Verifier {
        Self::with_cache(
            backend,
            Arc::new(sigverify::cache::SignerCache::new(capacity)),
        )
    }

    /// A verifier on `backend` with the signer cache `cache` (which others may watch: its
    /// [`sigverify::cache::SignerCache::stats`]) and a GPU device of its own.
    pub fn with_cache(
        backend: Backend,
        cache: Arc<sigverify::cache::SignerCache>,
    ) -> Ed25519Verifier {
        Ed25519Verifier {
            backend,
            cache: VerifierCache::Own(cache),
            own_gpu: Some(OnceLock::new()),
        }
    }

    /// Builds the tables of signers known to recur — `keys` — in its cache now, in the form its
    /// CPU verifier uses ([`sigverify::prepare_signers`]), so that their first signatures are
    /// verified as fast as the later ones. On the `Gpu` backend, whose batches use no tables,
    /// it builds none. Returns how many of `keys` have a table.
    pub fn prepare_signers(&self, keys: &[[u8; 32]]) -> usize {
        if self.backend == Backend::Gpu {
            return 0;
        }
        sigverify::prepare_signers(Platform::detect(), self.cache(), keys)
    }

    /// Its signer cache.
    pub fn cache(&self) -> &sigverify::cache::SignerCache {
        match &self.cache {
            VerifierCache::Global => sigverify::cache::SignerCache::global(),
            VerifierCache::Own(cache) => cache,
        }
    }

    /// Opens the GPU device every batch goes to on the `Gpu` backend (its shaders built and
    /// checked), so that the first batch does not wait for it — seconds on a software adapter.
    /// On `Auto` a batch's size decides, and nothing is opened before one asks; on `Cpu`
    /// nothing is. A device that cannot be opened is the first batch's error, as before.
    pub fn open_device(&self) {
        if self.backend == Backend::Gpu {
            let _ = self.gpu_for(usize::MAX);
        }
    }

    /// Whether its own device (a [`Ed25519Verifier::dedicated`] one's) is open and usable.
    pub fn own_device_is_open(&self) -> bool {
        own_device_is_open(self.own_gpu.as_ref(), |v| v.context())
    }

    /// The GPU verifier a batch of `n` goes to under this verifier's backend, or `None` for the
    /// CPU: `Gpu` always (an error where there is none), `Auto` for large batches on a hardware
    /// adapter.
    fn gpu_for(&self, n: usize) -> Result<Option<Arc<sigverify::gpu::GpuEd25519>>, GpuError> {
        let gpu = || -> Result<Arc<sigverify::gpu::GpuEd25519>, GpuError> {
            match &self.own_gpu {
                None => sigverify::gpu::GpuEd25519::shared(),
                Some(own) => own
                    .get_or_init(|| {
                        let ctx = Arc::new(gpu::GpuContext::new()?);
                        Ok(Arc::new(sigverify::gpu::GpuEd25519::checked(ctx)?))
                    })
                    .clone(),
            }
        };
        Ok(match self.backend {
            Backend::Cpu => None,
            Backend::Gpu => Some(gpu()?),
            Backend::Auto if n < auto_gpu_min_items() || !auto_may_open() => None,
            Backend::Auto => gpu().ok().filter(|v| auto_may_use(v.context())),
        })
    }

    /// Whether a batch of `n` signatures goes to the GPU: under `Gpu`, and under `Auto` for a
    /// large batch on a hardware GPU that has not failed. A caller that spreads CPU work over
    /// threads hands such a batch over whole (one dispatch, not one per thread's part).
    pub fn uses_gpu_for(&self, n: usize) -> bool {
        self.gpu_for(n).is_ok_and(|gpu| gpu.is_some())
    }

    /// Verifies a batch as [`ed25519_verify_batch`] does, on the calling thread (CPU) or this
    /// verifier's GPU device.
    ///
    /// # Panics
    /// If the slices differ in length.
    pub fn verify(
        &self,
        signatures: &[[u8; 64]],
        public_keys: &[[u8; 32]],
        messages: &[&[u8]],
        results: &mut [u8],
    ) -> Result<(), KernelError> {
        // Nothing to verify asks for no device (the VED's own verifier, asked every block
        // whether anything is left to it, opened its device inside the first block's vote).
        if [public_keys.len(), messages.len(), results.len()] == [signatures.len(); 3]
            && signatures.is_empty()
        {
            return Ok(());
        }
        let on_the_cpu = |results: &mut [u8]| {
            let cache = Some(self.cache());
            sigverify::verify_many(
                Platform::detect(),
                signatures,
                public_keys,
                messages,
                results,
                cache,
            );
        };
        match self.gpu_for(signatures.len())? {
            Some(gpu) => {
                let verified = gpu.verify_batch(signatures, public_keys, messages, results);
                or_on_the_cpu(self.backend, verified, || on_the_cpu(results))
            }
            None => {
                on_the_cpu(results);
                Ok(())
            }
        }
    }
}

/// The GPU kernels a call should use, or `None` for the CPU (on the shared device).
fn choose(backend: Backend, items: usize) -> Result<Option<Arc<GpuHashKernels>>, KernelError> {
    choose_on(backend, items, GpuHashKernels::shared)
}

/// [`choose`] with the kernels `gpu` opens.
fn choose_on(
    backend: Backend,
    items: usize,
    gpu: impl FnOnce() -> Result<Arc<GpuHashKernels>, GpuError>,
) -> Result<Option<Arc<GpuHashKernels>>, KernelError> {
    match backend {
        Backend::Cpu => Ok(None),
        Backend::Gpu => Ok(Some(gpu()?)),
        Backend::Auto if items < auto_gpu_min_items() || !auto_may_open() => Ok(None),
        Backend::Auto => Ok(gpu().ok().filter(|k| auto_may_use(k.context()))),
    }
}

/// Account hashing for one stream of work — a pipeline stage — with its GPU work on the shared
/// device or on one of its own. The VED executor owns one, so the LtHash its vote point waits
/// for never queues behind the UED's hashing (nor waits on the lock a UED batch holds through
/// its readback) on the shared device. Same answers as [`lthash_accounts`].
pub struct AccountHasher {
    backend: Backend,
    /// `Some`: a device of its own, opened at the first GPU batch.
    own_gpu: Option<OnceLock<Result<Arc<GpuHashKernels>, GpuError>>>,
}

impl AccountHasher {
    /// A hasher on `backend` with the process-wide GPU device.
    pub fn shared(backend: Backend) -> AccountHasher {
        AccountHasher {
            backend,
            own_gpu: None,
        }
    }

    /// A hasher on `backend` with a GPU device (its own queue) of its own, opened at its first
    /// GPU batch (never, on the CPU backend or for batches `Auto` keeps on the CPU).
    pub fn dedicated(backend: Backend) -> AccountHasher {
        AccountHasher {
            backend,
            own_gpu: Some(OnceLock::new()),
        }
    }

    /// Its backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Opens the GPU device every batch goes to on the `Gpu` backend
    /// ([`Ed25519Verifier::open_device`]).
    pub fn open_device(&self) {
        if self.backend == Backend::Gpu {
            let _ = self.gpu_for(usize::MAX);
        }
    }

    /// Whether its own device (a [`AccountHasher::dedicated`] one's) is open and usable.
    pub fn own_device_is_open(&self) -> bool {
        own_device_is_open(self.own_gpu.as_ref(), |k| k.context())
    }

    /// The GPU kernels a batch of `items` goes to, or `None` for the CPU.
    fn gpu_for(&self, items: usize) -> Result<Option<Arc<GpuHashKernels>>, KernelError> {
        choose_on(self.backend, items, || match &self.own_gpu {
            None => GpuHashKernels::shared(),
            Some(own) => own
                .get_or_init(|| {
                    let ctx = Arc::new(gpu::GpuContext::new()?);
                    Ok(Arc::new(GpuHashKernels::checked(ctx)?))
                })
                .clone(),
        })
    }

    /// Whether a batch of `items` goes to the GPU ([`hash_uses_gpu_for`]).
    pub fn uses_gpu_for(&self, items: usize) -> bool {
        self.gpu_for(items).is_ok_and(|gpu| gpu.is_some())
    }

    /// Each account's own LtHash ([`lthash_accounts`]).
    ///
    /// # Panics
    /// If the lengths differ.
    pub fn lthash_accounts(
        &self,
        accounts: &[AccountInput<'_>],
        out: &mut [LtHash],
    ) -> Result<(), KernelError> {
        if accounts.is_empty() && out.is_empty() {
            return Ok(()); // no device asked for nothing
        }
        let on_the_cpu =
            |out: &mut [LtHash]| hash::lthash::lthash_accounts(Platform::detect(), accounts, out);
        match self.gpu_for(accounts.len())? {
            Some(gpu) => {
                let hashed = gpu.lthash_accounts(accounts, out);
                or_on_the_cpu(self.backend, hashed, || on_the_cpu(out))
            }
            None => {
                on_the_cpu(out);
                Ok(())
            }
        }
    }

    /// Adds every account's LtHash to `sum` ([`lthash_accumulate`]), on this hasher's backend
    /// and device: no 2 KiB output per account, for a caller that needs only their sum.
    pub fn lthash_accumulate(
        &self,
        accounts: &[AccountInput<'_>],
        sum: &mut LtHash,
    ) -> Result<(), KernelError> {
        if accounts.is_empty() {
            return Ok(()); // no device asked for nothing
        }
        let on_the_cpu =
            |sum: &mut LtHash| hash::lthash::lthash_accumulate(Platform::detect(), accounts, sum);
        match self.gpu_for(accounts.len())? {
            Some(gpu) => {
                // (`sum` is as it was when the device fails: the CPU's answer is the whole one.)
                let mixed = gpu.lthash_accumulate(accounts, sum);
                or_on_the_cpu(self.backend, mixed, || on_the_cpu(sum))
            }
            None => {
                on_the_cpu(sum);
                Ok(())
            }
        }
    }
}

/// Whether a hashing call of `items` inputs goes to the GPU under `backend`: `Gpu`, and `Auto`
/// for a large batch on a hardware GPU that has not failed. A caller that spreads CPU work
/// over threads hands such a batch over whole.
pub fn hash_uses_gpu_for(backend: Backend, items: usize) -> bool {
    choose(backend, items).is_ok_and(|gpu| gpu.is_some())
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
    let on_the_cpu = |out: &mut [[u8; 32]]| hash::blake3_many(Platform::detect(), inputs, out);
    match choose(backend, inputs.len())? {
        Some(gpu) => {
            let hashed = gpu.blake3_many(inputs, out);
            or_on_the_cpu(backend, hashed, || on_the_cpu(out))
        }
        None => {
            on_the_cpu(out);
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
    // `Gpu` without a device is an error for an empty batch too, as for every other kernel
    // function here (SPEC §7: no silent fallback; the C ABI's export answered OK). A stage's
    // own hasher asks for no device for nothing: it opens its own ahead of its first batch,
    // not inside the first block's vote.
    if accounts.is_empty() && backend == Backend::Gpu {
        choose(backend, 0)?;
    }
    AccountHasher::shared(backend).lthash_accounts(accounts, out)
}

/// Adds every account's LtHash to `sum` (wrapping u16 addition).
pub fn lthash_accumulate(
    backend: Backend,
    accounts: &[AccountInput<'_>],
    sum: &mut LtHash,
) -> Result<(), KernelError> {
    let on_the_cpu =
        |sum: &mut LtHash| hash::lthash::lthash_accumulate(Platform::detect(), accounts, sum);
    match choose(backend, accounts.len())? {
        Some(gpu) => {
            // (`sum` is as it was when the device fails: the CPU's answer is the whole one.)
            let mixed = gpu.lthash_accumulate(accounts, sum);
            or_on_the_cpu(backend, mixed, || on_the_cpu(sum))
        }
        None => {
            on_the_cpu(sum);
            Ok(())
        }
    }
}
