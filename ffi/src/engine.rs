//! The engine through the C ABI (SPEC §8 "The engine"): argument checks and conversions over
//! `tandem_engine::pipeline::Engine`, the Rust API `tandem run` uses.
//!
//! Every export but `tandem_engine_close` takes the engine by shared reference, so any number
//! of threads may call them at once on one engine: the engine's own synchronisation (its
//! queues, mutexes and condition variable) is all there is; this module adds none.
//!
//! The C structs keep their C names (`tandem_engine_config`, …), as cbindgen writes them; the
//! engine crate is therefore named `::tandem_engine` here.

#![allow(non_camel_case_types)]

use std::ffi::{CStr, c_char};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ::tandem_engine::account::{Domain, Pubkey};
use ::tandem_engine::cluster::Alert;
use ::tandem_engine::genesis::Genesis;
use ::tandem_engine::ledger::EncodedBlock;
use ::tandem_engine::pipeline::metrics::MetricsSnapshot;
use ::tandem_engine::pipeline::{Engine, EngineConfig, EngineHooks, Survey, Waited};
use ::tandem_engine::runtime::Backend;
use ::tandem_engine::runtime::status_index::ExecutionStatus;

use crate::args::{apart, input_slice, output_slice, region};
use crate::boundary::boundary;
use crate::error::FfiError;
use crate::hash::kernel_backend;
use crate::stack::on_a_stack_of_its_own;
use crate::status::{
    TANDEM_ALERT_UED_DIVERGENCE, TANDEM_ALERT_UED_LAG, TANDEM_TX_FINAL, TANDEM_TX_HALTED,
    TANDEM_TX_PENDING, TANDEM_TX_UNKNOWN,
};

/// An engine: its store, its pipeline's threads and what it was opened with. Opaque to C.
pub struct tandem_engine {
    engine: Engine,
    /// `tandem_engine_describe`'s text, as at open.
    description: String,
    /// The backend asked for, where its kernels may run on the process's GPU (`auto` or `gpu`
    /// with an adapter found): the one whose failure `tandem_engine_describe` adds.
    gpu: Option<Backend>,
}

impl tandem_engine {
    /// The description at open, and a last line where the GPU its kernels use has failed
    /// since (lost, out of memory): it named the GPU for large batches still.
    fn description_now(&self) -> String {
        let failure = self
            .gpu
            .and_then(|backend| Some((backend, tandem_kernels::gpu::GpuContext::shared().ok()?)))
            .and_then(|(backend, gpu)| Some((backend, gpu.failure()?.to_owned())));
        match failure {
            None => self.description.clone(),
            Some((backend, why)) => {
                let since = match backend {
                    Backend::Gpu => "the engine stopped (TANDEM_ERR_BACKEND_UNAVAILABLE)",
                    _ => "signatures and hashes on the CPU since",
                };
                format!("{}gpu failed: {why}; {since}\n", self.description)
            }
        }
    }
}

// Every export shares the engine between the caller's threads.
const _: () = {
    const fn shared_between_threads<T: Send + Sync>() {}
    shared_between_threads::<tandem_engine>();
};

/// How `tandem_engine_open` runs the engine. Set `size` to `sizeof(tandem_engine_config)`: the
/// struct may grow at its end, and a library that knows fewer fields accepts a larger struct
/// only when the fields it does not know are zero (and up to 1024 bytes: a larger `size` is a
/// size left unset, refused before any byte past the known fields is read).
#[repr(C)]
pub struct tandem_engine_config {
    /// `sizeof(tandem_engine_config)`.
    pub size: u32,
    /// `TANDEM_BACKEND_*` for signatures and hashing.
    pub backend: u32,
    /// Threads of the UED pass; 0: one per PU of the placement's `ued` stage. At most 1024.
    pub ued_threads: u32,
    /// NULL: automatic placement; else as `tandem run --cores`, e.g.
    /// "sigverify=0-3;ved=4;ued=5-11". A core this machine lacks is an error naming it.
    pub cores: *const c_char,
}

/// An account as the UED's last committed slot left it (`tandem_engine_account`).
#[repr(C)]
pub struct tandem_account_info {
    /// Its balance.
    pub lamports: u64,
    /// The program that owns it.
    pub owner: [u8; 32],
    /// 1 for a program, 0 otherwise.
    pub executable: u8,
    /// Its domain mapping, SPEC §1's tag: 1 rx-ued, 2 rx-ued-ved, 3 rw-ved, 4 rw-ued.
    pub mapping: u8,
    /// Always set: the account's full data length.
    pub data_len: usize,
}

/// Where a transaction stands (`tandem_engine_tx_status`).
#[repr(C)]
pub struct tandem_tx_status {
    /// `TANDEM_TX_*`.
    pub state: u32,
    /// The slot of the block that holds it (0 for `TANDEM_TX_UNKNOWN`).
    pub slot: u64,
    /// 0 none (refused before its payer's domain was known, or unknown), 1 VED, 2 UED.
    pub domain: u32,
    /// `TANDEM_TX_FINAL` only (0 otherwise): 1 InvalidSignature, 2 InvalidFeePayer,
    /// 3 BlockhashNotFound, 4 DuplicateSignature, 5 InsufficientFundsForFee, 6 DomainViolation,
    /// 7 WritableProgram, 8 AccountFrozenForRemap, 9 UnsupportedAddressLookup, 10 Success,
    /// 11 ProgramError.
    pub status: u32,
    /// The code of ProgramError(code); 0 otherwise.
    pub program_error: u32,
}

/// An alert: the engine halted (`tandem_engine_poll_alert`).
#[repr(C)]
pub struct tandem_alert {
    /// `TANDEM_ALERT_*`.
    pub kind: u32,
    /// UED_DIVERGENCE: the slot whose UED hash diverged; UED_LAG: the slot of the block that
    /// crosses the epoch boundary the VED waited at.
    pub slot: u64,
    /// UED_DIVERGENCE: the local UED hash of the slot; zero for UED_LAG.
    pub local_hash: [u8; 32],
    /// UED_DIVERGENCE: the other hash with the most stake behind it; zero for UED_LAG.
    pub other_hash: [u8; 32],
    /// UED_DIVERGENCE: the stake, in lamports, that reported a hash other than the local one;
    /// 0 for UED_LAG.
    pub other_stake: u64,
    /// UED_DIVERGENCE: the VED's total stake; 0 for UED_LAG.
    pub total_stake: u64,
}

/// The engine's metrics at one moment (`tandem_engine_metrics`). Set `size` to
/// `sizeof(tandem_metrics)` before the call.
#[repr(C)]
pub struct tandem_metrics {
    /// Set by the caller to `sizeof(tandem_metrics)`.
    pub size: u32,
    /// The last slot the VED executed.
    pub ved_slot: u64,
    /// The last slot the UED executed.
    pub ued_slot: u64,
    /// `ved_slot - ued_slot`.
    pub ued_lag_slots: u64,
    /// The largest lag since the engine opened.
    pub max_ued_lag_slots: u64,
    /// Median time from `tandem_engine_submit_block` to the block's VED hash, µs (0: none yet).
    pub time_to_vote_p50_us: u64,
    /// 99th percentile of the same, µs (0: none yet).
    pub time_to_vote_p99_us: u64,
    /// VED transactions per second over the last seconds.
    pub ved_tps: f64,
    /// UED transactions per second over the last seconds.
    pub ued_tps: f64,
    /// 1 once the engine has halted (SPEC §6).
    pub halted: u8,
}

/// The engine behind a C pointer, or `TANDEM_ERR_INVALID_ARGUMENT` for NULL.
///
/// # Safety
/// `engine` is NULL or a pointer `tandem_engine_open` returned and `tandem_engine_close` has not
/// freed.
unsafe fn engine_ref<'a>(engine: *const tandem_engine) -> Result<&'a tandem_engine, FfiError> {
    // SAFETY: the caller's promise; NULL is checked by as_ref.
    unsafe { engine.as_ref() }.ok_or_else(|| FfiError::invalid_argument("engine is NULL"))
}

/// One fixed-size array argument (`uint8_t pubkey[32]`), or an error naming it when NULL.
///
/// # Safety
/// `ptr` is NULL or points to `N` readable bytes.
unsafe fn fixed<'a, const N: usize>(ptr: *const u8, what: &str) -> Result<&'a [u8; N], FfiError> {
    // SAFETY: the caller's promise; NULL is checked by as_ref; [u8; N] has alignment 1.
    unsafe { ptr.cast::<[u8; N]>().as_ref() }
        .ok_or_else(|| FfiError::invalid_argument(format!("{what} is NULL")))
}

/// The struct an out-pointer names, or an error naming it when NULL or misaligned.
///
/// # Safety
/// `ptr` is NULL or points to a writable `T` nothing else uses during the call.
unsafe fn out<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T, FfiError> {
    if !ptr.is_aligned() {
        return Err(FfiError::invalid_argument(format!(
            "{what} is not aligned to {} bytes",
            align_of::<T>()
        )));
    }
    // SAFETY: aligned; the caller's promise: NULL (checked by as_mut) or writable, unaliased.
    unsafe { ptr.as_mut() }.ok_or_else(|| FfiError::invalid_argument(format!("{what} is NULL")))
}

/// A NUL-terminated path argument as a Rust path: NULL, invalid UTF-8 and the empty string
/// (which names no file: the OS's error would say nothing of the argument) are errors naming it.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string.
unsafe fn path_arg(ptr: *const c_char, what: &str) -> Result<PathBuf, FfiError> {
    // SAFETY: forwarded to the caller.
    match unsafe { utf8_arg(ptr, what) }? {
        "" => Err(FfiError::invalid_argument(format!("{what} is empty"))),
        path => Ok(PathBuf::from(path)),
    }
}

/// A NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string.
unsafe fn utf8_arg<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, FfiError> {
    if ptr.is_null() {
        return Err(FfiError::invalid_argument(format!("{what} is NULL")));
    }
    // SAFETY: the caller's promise: a NUL-terminated string.
    unsafe { CStr::from_ptr(ptr) }.to_str().map_err(|e| {
        FfiError::invalid_argument(format!(
            "{what} is not valid UTF-8 (byte {})",
            e.valid_up_to()
        ))
    })
}

/// The v1 config (the struct as this library knows it) from the caller's, whose `size` may be
/// larger (a newer header) when the fields this library does not know are zero.
///
/// # Safety
/// `config` is NULL or points to `config->size` readable bytes starting with a
/// `tandem_engine_config`.
unsafe fn read_config(config: *const tandem_engine_config) -> Result<Settings, FfiError> {
    // SAFETY: forwarded to the caller.
    let Some(config) = unsafe { config_prefix(config) }? else {
        return Ok(Settings::default());
    };
    let backend = kernel_backend(config.backend).map_err(|e| FfiError {
        message: format!("config->{}", e.message),
        ..e
    })?;
    let ued_threads = match config.ued_threads {
        0 => None,
        n @ 1..=1024 => Some(n as usize),
        n => {
            return Err(FfiError::invalid_argument(format!(
                "config->ued_threads = {n}: at most 1024"
            )));
        }
    };
    let cores = if config.cores.is_null() {
        None
    } else {
        // SAFETY: the caller's promise: cores is NULL or a NUL-terminated string.
        Some(unsafe { utf8_arg(config.cores, "config->cores") }?.to_owned())
    };
    Ok(Settings {
        backend,
        ued_threads,
        cores,
    })
}

/// The `size` a caller set in a struct that may grow at its end (`tandem_engine_config`,
/// `tandem_metrics`: `size` is their first field, a `uint32_t`), and this library's size of it,
/// after checking that the pointer is not NULL, is aligned, and that `size` is not smaller nor
/// above [`MAX_STRUCT_SIZE`].
/// (Each struct has one version so far. The version that adds a field, at the end, must accept
/// the v1 size that `tests/abi_layout.rs` freezes, and read or write only that prefix for it.)
///
/// # Safety
/// `ptr` is NULL or points to a struct whose first field is its `uint32_t` size.
unsafe fn versioned_size<T>(
    ptr: *const T,
    what: &str,
    c_name: &str,
) -> Result<(usize, usize), FfiError> {
    if ptr.is_null() {
        return Err(FfiError::invalid_argument(format!("{what} is NULL")));
    }
    if !ptr.is_aligned() {
        return Err(FfiError::invalid_argument(format!(
            "{what} is not aligned to {} bytes",
            align_of::<T>()
        )));
    }
    // SAFETY: non-NULL and aligned; the size is the first field of every version.
    let size = unsafe { ptr.cast::<u32>().read() } as usize;
    let known = size_of::<T>();
    if size < known {
        return Err(FfiError::invalid_argument(format!(
            "{what}->size = {size} is smaller than sizeof({c_name}) = {known}: set it to \
             sizeof({c_name})"
        )));
    }
    if size > MAX_STRUCT_SIZE {
        return Err(FfiError::invalid_argument(format!(
            "{what}->size = {size} is larger than any version of {c_name} will be \
             ({MAX_STRUCT_SIZE} bytes at most): set it to sizeof({c_name})"
        )));
    }
    Ok((size, known))
}

/// The largest `size` a struct that may grow at its end is accepted with: no version will come
/// near it (each is under 100 bytes), so a larger one is a `size` the caller left unset —
/// stack garbage, which trusted would have the library zero or read that many bytes past the
/// caller's struct.
const MAX_STRUCT_SIZE: usize = 1024;

/// Checks `config->size` and borrows the fields this library knows.
///
/// # Safety
/// As for [`read_config`].
unsafe fn config_prefix<'a>(
    config: *const tandem_engine_config,
) -> Result<Option<&'a tandem_engine_config>, FfiError> {
    if config.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded to the caller.
    let (size, known) = unsafe { versioned_size(config, "config", "tandem_engine_config") }?;
    // SAFETY: the caller's promise: config points to `size` readable bytes.
    let bytes = unsafe { input_slice(config.cast::<u8>(), size, "config", "config->size") }?;
    if let Some(at) = bytes[known..].iter().position(|&b| b != 0) {
        return Err(FfiError::invalid_argument(format!(
            "config->size = {size}: byte {} is set, in a field this library ({}) does not know",
            known + at,
            env!("CARGO_PKG_VERSION")
        )));
    }
    // SAFETY: non-NULL, aligned and at least `known` readable bytes.
    Ok(Some(unsafe { &*config }))
}

/// What the config says, in Rust.
struct Settings {
    backend: ::tandem_engine::runtime::Backend,
    ued_threads: Option<usize>,
    cores: Option<String>,
}

impl Default for Settings {
    /// A NULL config: `TANDEM_BACKEND_AUTO`, UED threads and placement from the plan.
    fn default() -> Self {
        Settings {
            backend: ::tandem_engine::runtime::Backend::Auto,
            ued_threads: None,
            cores: None,
        }
    }
}

/// Opens an engine on the store in `store_dir`: creates the store from the genesis
/// (`genesis_toml_path`, SPEC §9) where the directory is new or empty, or resumes it from its
/// last committed slot (the genesis must be the store's): the blocks after that slot
/// (`tandem_engine_metrics`' `ued_slot`) are submitted again, those the VED had logged ahead of
/// it (up to `ved_slot`) included — their VED hashes are there at once, from its log. Surveys
/// the machine — the CPUs the process may run on (its main thread's affinity mask, as
/// `taskset` or a cpuset sets it), not the calling thread's, which a host may have pinned —
/// places the stages (automatically on those CPUs, or as `config->cores` says, which may name
/// the machine's other PUs too) and starts them.
///
/// `config` may be NULL (defaults: `TANDEM_BACKEND_AUTO`, automatic placement). On success
/// `*engine_out` is the engine, which the caller frees with `tandem_engine_close`; on failure it
/// is set to NULL.
///
/// Errors: `TANDEM_ERR_INVALID_ARGUMENT` (a NULL, empty or non-UTF-8 path, a bad config: its
/// size, an unknown backend, a `cores` setting that does not parse or names a core this machine
/// lacks; a genesis that is not the store's), `TANDEM_ERR_BACKEND_UNAVAILABLE`
/// (`TANDEM_BACKEND_GPU` without a GPU adapter), `TANDEM_ERR_IO` (also a stage thread the OS
/// refused to start: named, with the limits that may be the cause),
/// `TANDEM_ERR_CORRUPT` (a damaged store or an invalid genesis file). Thread-safe; one engine
/// per store directory at a time. The engine is opened on a thread of its own, which the call
/// waits for: it takes a few KiB of the calling thread's stack (a host thread of 64 KiB opens
/// and closes one; since stop 73).
///
/// # Safety
/// The strings are NULL or NUL-terminated; `config` is NULL or points to `config->size` bytes;
/// `engine_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tandem_engine_open(
    genesis_toml_path: *const c_char,
    store_dir: *const c_char,
    config: *const tandem_engine_config,
    engine_out: *mut *mut tandem_engine,
) -> i32 {
    boundary("tandem_engine_open", || {
        // Written once every input is read (into owned values): `*engine_out` cleared first
        // cleared `config->cores` where a caller pointed `engine_out` at it, and the call
        // opened with automatic placement — and a reference to it beside the config's was
        // undefined behaviour. NULL and alignment are checked before anything else.
        if !engine_out.is_aligned() || engine_out.is_null() {
            // SAFETY: NULL or misaligned: `out` answers the error and borrows nothing.
            unsafe { out(engine_out, "engine_out") }?;
        }
        // Every failure from here on, a caught panic included, leaves NULL there.
        let cleared = NullUnlessOpened(engine_out);
        // SAFETY (three): the caller's promises on the strings and the config.
        let genesis_path = unsafe { path_arg(genesis_toml_path, "genesis_toml_path") }?;
        let dir = unsafe { path_arg(store_dir, "store_dir") }?;
        let settings = unsafe { read_config(config) }?;
        #[cfg(test)]
        let panic_in_open = tests::PANIC_IN_OPEN.with(std::cell::Cell::get);
        let engine = on_a_stack_of_its_own("tandem-engine", || {
            #[cfg(test)]
            if panic_in_open {
                panic!("the test's panic in tandem_engine_open");
            }
            open_engine(&genesis_path, &dir, &settings).map(Box::new)
        })?;
        // SAFETY: the caller's promise: engine_out is writable (checked not NULL, aligned);
        // nothing of the inputs is borrowed any more.
        unsafe { engine_out.write(Box::into_raw(engine)) };
        std::mem::forget(cleared);
        Ok(())
    })
}

/// Sets `*engine_out` to NULL when dropped: [`tandem_engine_open`]'s every failure — an error
/// returned, a panic unwinding to the boundary (`TANDEM_ERR_INTERNAL`) — leaves NULL there, as
/// the header promises; forgotten once the engine is written.
struct NullUnlessOpened(*mut *mut tandem_engine);

impl Drop for NullUnlessOpened {
    fn drop(&mut self) {
        // SAFETY: checked not NULL and aligned before the guard was made; the caller's
        // promise: writable. No reference to the inputs it may overlap lives any more (the
        // guard is dropped after them, or as a panic has unwound past them).
        unsafe { self.0.write(std::ptr::null_mut()) };
    }
}

/// [`tandem_engine_open`]'s engine, from its arguments read.
fn open_engine(
    genesis_path: &Path,
    dir: &Path,
    settings: &Settings,
) -> Result<tandem_engine, FfiError> {
    let genesis = Genesis::load(genesis_path)?;
    let survey = Survey::take_for(settings.cores.as_deref(), settings.backend)?;
    let backends = survey.backends(settings.backend)?;
    let ued_threads = settings.ued_threads.unwrap_or_else(|| survey.ued_threads());
    let description = survey.describe(&backends, ued_threads);
    let gpu = (settings.backend != Backend::Cpu && backends.gpu_adapter.is_some())
        .then_some(settings.backend);
    let config = EngineConfig {
        backend: settings.backend,
        ued_threads,
        placement: Some(survey.placement),
        ..EngineConfig::default()
    };
    let engine = Engine::open(&genesis, dir, config, EngineHooks::default())?;
    Ok(tandem_engine {
        engine,
        description,
        gpu,
    })
}

/// Hands one block to the engine, in the ledger's block encoding (SPEC §9 without the magic:
/// the header fields of §4, a u32 transaction count, each transaction as a u32 length and its
/// bytes, little-endian). Returns once the block is queued: its VED hash follows
/// (`tandem_engine_ved_hash`), then its UED hash. Waits while the UED lags by as many blocks as
/// the engine queues.
///
/// Errors: `TANDEM_ERR_INVALID_ARGUMENT` (NULL, or bytes that are not exactly one block: cut
/// short, garbage, trailing bytes — whatever else is wrong, the engine halted or stopped
/// included), `TANDEM_ERR_REJECTED` with the reason in
/// `tandem_last_error()` for a block that breaks SPEC §4 (it does not follow the last block
/// accepted, e.g. a slot already executed; its clock) or holds a transaction that does not parse
/// (SPEC §2) — the engine goes on, unchanged; `TANDEM_ERR_HALTED` once the engine has halted;
/// when the engine stopped, the status of what stopped it (`TANDEM_ERR_IO`: its store or logs
/// failed, reopen it; `TANDEM_ERR_CORRUPT`: a damaged file, or blocks after a restart that are
/// not the chain its logs hold; `TANDEM_ERR_BACKEND_UNAVAILABLE`: the GPU failed on the `gpu`
/// backend; `TANDEM_ERR_INTERNAL`: a caught panic) — never a status that means the engine goes
/// on. Thread-safe: blocks
/// from several threads are taken one at a time, each checked against the last one accepted.
///
/// # Safety
/// `engine` is an open engine; `block` is NULL or points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tandem_engine_submit_block(
    engine: *mut tandem_engine,
    block: *const u8,
    len: usize,
) -> i32 {
    boundary("tandem_engine_submit_block", || {
        // SAFETY: the caller's promises.
        let engine = unsafe { engine_ref(engine) }?;
        let bytes = unsafe { input_slice(block, len, "block", "len") }?;
        submit_block(&engine.engine, bytes)
    })
}

/// The Rust side of `tandem_engine_submit_block`: check the encoding's header and count in
/// place ([`EncodedBlock::begin`]), refuse on a halted engine, submit it encoded
/// ([`Engine::submit_encoded`]: the engine walks the transactions part by part as it guesses
/// them, copies the votes first and a loaded block's user transactions after their signatures
/// are checked; bytes that are not one block are refused as a decode refuses them). The
/// block's time-to-vote (`tandem_metrics`) counts from here, its walk and copies included.
/// Public for the fuzz target, which feeds it arbitrary bytes.
pub fn submit_block(engine: &Engine, bytes: &[u8]) -> Result<(), FfiError> {
    let received = Instant::now();
    let mut block = EncodedBlock::begin(bytes)?;
    if let Some(why) = engine.halted() {
        // Refused all the same: bytes that are not one block say so first, as ever. (The
        // halt read once: read again after the walk, a halt between the two reads answered
        // broken bytes with it.)
        block.walk_to(block.len())?;
        return Err(FfiError::halted(why));
    }
    engine.submit_encoded(block, received)?;
    Ok(())
}

/// The body of the two hash waits.
///
/// # Safety
/// As for `tandem_engine_ved_hash`.
unsafe fn wait_hash(
    engine: *mut tandem_engine,
    domain: Domain,
    slot: u64,
    timeout_ms: u32,
    out: *mut u8,
) -> Result<(), FfiError> {
    // SAFETY: the caller's promises.
    let engine = unsafe { engine_ref(engine) }?;
    let out = unsafe { self::out(out.cast::<[u8; 32]>(), "out") }?;
    let timeout = Duration::from_millis(u64::from(timeout_ms));
    match engine
        .engine
        .wait_hash_unless_halted(domain, slot, timeout)?
    {
        Waited::Hash(hash) => {
            *out = hash;
            Ok(())
        }
        Waited::NotFound(why) => Err(FfiError::not_found(format!(
            "slot {slot} has no {} hash: {why}",
            domain.name()
        ))),
        Waited::TimedOut => Err(FfiError::timeout(format!(
            "slot {slot}: no {} hash after {timeout_ms} ms",
            domain.name()
        ))),
        Waited::Halted => Err(FfiError::halted(engine.engine.halted().unwrap_or_else(
            || "the engine halted (its reason is being recorded)".to_owned(),
        ))),
    }
}

/// Waits up to `timeout_ms` (0: do not wait) for the VED to have executed `slot` and copies its
/// VED hash — the vote point — into `out`.
///
/// Errors: `TANDEM_ERR_TIMEOUT` when it is not there by then (it may be later);
/// `TANDEM_ERR_NOT_FOUND` for a slot that never will be: skipped (a later slot executed without
/// it), before the slot the engine resumed at, or older than the last 4,096 slots it remembers;
/// `TANDEM_ERR_HALTED` once the engine has halted (it votes no more), also when it halts while
/// the call waits; when the engine stopped, the status of what stopped it (as
/// `tandem_engine_submit_block`), for every slot, those it executed before it stopped included
/// (a stopped engine gives no more vote points); `TANDEM_ERR_INVALID_ARGUMENT` for NULL. `out`
/// is written only on success.
/// Thread-safe: any number of threads may wait at once.
///
/// # Safety
/// `engine` is an open engine; `out` is NULL or 32 writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tandem_engine_ved_hash(
    engine: *mut tandem_engine,
    slot: u64,
    timeout_ms: u32,
    out: *mut u8,
) -> i32 {
    boundary("tandem_engine_ved_hash", || {
        // SAFETY: the caller's promises.
        unsafe { wait_hash(engine, Domain::Ved, slot, timeout_ms, out) }
    })
}

/// As `tandem_engine_ved_hash`, for the UED: its hash of `slot` once the UED has executed and
/// committed it.
///
/// # Safety
/// `engine` is an open engine; `out` is NULL or 32 writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tandem_engine_ued_hash(
    engine: *mut tandem_engine,
    slot: u64,
    timeout_ms: u32,
    out: *mut u8,
) -> i32 {
    boundary("tandem_engine_ued_hash", || {
        // SAFETY: the caller's promises.
        unsafe { wait_hash(engine, Domain::Ued, slot, timeout_ms, out) }
    })
}

/// Reads an account as the UED's last committed slot left it (SPEC §6: what this validator
/// knows of user balances) into `*info_out`, and copies `min(info_out->data_len, data_cap)`
/// bytes of its data into `data` (which may be NULL when `data_cap` is 0: call once to learn
/// `data_len`, again with a buffer that large).
///
/// Errors: `TANDEM_ERR_NOT_FOUND` for an account that does not exist (nothing written);
/// `TANDEM_ERR_INVALID_ARGUMENT` for NULL; when the engine stopped, the status of what stopped it
/// (as `tandem_engine_submit_block`).
/// Thread-safe; answered between blocks, so it may wait for the block the UED has in hand.
/// `info_out` and `data` must not overlap (`TANDEM_ERR_INVALID_ARGUMENT` where they do).
///
/// # Safety
/// `engine` is an open engine; `pubkey` is NULL or 32 readable bytes; `info_out` NULL or
/// writable; `data` NULL or `data_cap` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tandem_engine_account(
    engine: *mut tandem_engine,
    pubkey: *const u8,
    info_out: *mut tandem_account_info,
    data: *mut u8,
    data_cap: usize,
) -> i32 {
    boundary("tandem_engine_account", || {
        // SAFETY (four): the caller's promises.
        let engine = unsafe { engine_ref(engine) }?;
        let pubkey = Pubkey(*unsafe { fixed::<32>(pubkey, "pubkey") }?);
        apart(
            region("data", data, data_cap),
            region("info_out", info_out, 1),
        )?;
        let info = unsafe { out(info_out, "info_out") }?;
        let data = unsafe { output_slice(data, data_cap, "data", "data_cap") }?;
        let (slot, account) = engine.engine.account(&pubkey)?;
        let account = account.ok_or_else(|| {
            FfiError::not_found(format!(
                "account {pubkey} does not exist (as of slot {slot})"
            ))
        })?;
        *info = tandem_account_info {
            lamports: account.lamports,
            owner: account.owner.0,
            executable: u8::from(account.executable),
            mapping: account.mapping.tag(),
            data_len: account.data.len(),
        };
        let n = account.data.len().min(data.len());
        data[..n].copy_from_slice(&account.data[..n]);
        Ok(())
    })
}

/// `ExecutionStatus(signature, stake = stake_bps)` (SPEC §6) of the transaction whose first
/// signature is `signature`, into `*out`: `TANDEM_TX_UNKNOWN` when no recent block holds it;
/// `TANDEM_TX_PENDING` until validators holding `stake_bps` basis points of the VED stake have
/// reported the local hash of its domain and slot (0: as soon as its domain's executor has run;
/// SPEC's default is 500); then `TANDEM_TX_FINAL` with its status; `TANDEM_TX_HALTED` once the
/// engine has halted. `slot` and `domain` say where it is whenever it is known.
///
/// Errors: `TANDEM_ERR_INVALID_ARGUMENT` for NULL or `stake_bps` above 10,000; once the engine
/// stopped on a failure, where the answer would be `TANDEM_TX_PENDING` (it will not be decided),
/// the status of what stopped it (as `tandem_engine_submit_block`); `*out` is then untouched.
/// Thread-safe; never waits for the pipeline.
/// `out` must not overlap `signature` (`TANDEM_ERR_INVALID_ARGUMENT` where it does).
///
/// # Safety
/// `engine` is an open engine; `signature` NULL or 64 readable bytes; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tandem_engine_tx_status(
    engine: *mut tandem_engine,
    signature: *const u8,
    stake_bps: u32,
    out: *mut tandem_tx_status,
) -> i32 {
    boundary("tandem_engine_tx_status", || {
        // SAFETY (three): the caller's promises.
        let engine = unsafe { engine_ref(engine) }?;
        apart(region("out", out, 1), region("signature", signature, 64))?;
        let signature = unsafe { fixed::<64>(signature, "signature") }?;
        let answer = unsafe { self::out(out, "out") }?;
        let bps = u16::try_from(stake_bps)
            .ok()
            .filter(|&bps| bps <= 10_000)
            .ok_or_else(|| {
                FfiError::invalid_argument(format!(
                    "stake_bps = {stake_bps}: basis points are 0 ..= 10,000"
                ))
            })?;
        let view = engine.engine.transaction(signature, bps)?;
        let (state, (status, program_error)) = match view.status {
            ExecutionStatus::Unknown => (TANDEM_TX_UNKNOWN, (0, 0)),
            ExecutionStatus::Pending => (TANDEM_TX_PENDING, (0, 0)),
            ExecutionStatus::Final(status) => {
                let (tag, code) = status.to_tag();
                (TANDEM_TX_FINAL, (u32::from(tag), code))
            }
            ExecutionStatus::Halted => (TANDEM_TX_HALTED, (0, 0)),
        };
        *answer = tandem_tx_status {
            state,
            slot: view.slot.unwrap_or(0),
            domain: match view.domain {
                None => 0,
                Some(Domain::Ved) => 1,
                Some(Domain::Ued) => 2,
            },
            status,
            program_error,
        };
        Ok(())
    })
}

/// Takes the oldest alert not yet read: `*has_alert = 1` and the alert in `*out`, or
/// `*has_alert = 0` (and `*out` untouched) when there is none. An alert is also a log line
/// (level 1). Thread-safe: each alert goes to one caller.
/// `out` and `has_alert` must not overlap (`TANDEM_ERR_INVALID_ARGUMENT` where they do).
///
/// # Safety
/// `engine` is an open engine; `out` and `has_alert` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tandem_engine_poll_alert(
    engine: *mut tandem_engine,
    out: *mut tandem_alert,
    has_alert: *mut u8,
) -> i32 {
    boundary("tandem_engine_poll_alert", || {
        // SAFETY (three): the caller's promises.
        let engine = unsafe { engine_ref(engine) }?;
        apart(region("has_alert", has_alert, 1), region("out", out, 1))?;
        let out = unsafe { self::out(out, "out") }?;
        let has_alert = unsafe { self::out(has_alert, "has_alert") }?;
        *has_alert = 0;
        if let Some(alert) = engine.engine.poll_alert() {
            *out = match alert {
                Alert::UedDivergence(halt) => tandem_alert {
                    kind: TANDEM_ALERT_UED_DIVERGENCE,
                    slot: halt.slot,
                    local_hash: halt.local_hash,
                    other_hash: halt.reported_hash,
                    other_stake: halt.disagreeing_stake,
                    total_stake: halt.total_stake,
                },
                Alert::UedLagging { boundary_slot, .. } => tandem_alert {
                    kind: TANDEM_ALERT_UED_LAG,
                    slot: boundary_slot,
                    local_hash: [0; 32],
                    other_hash: [0; 32],
                    other_stake: 0,
                    total_stake: 0,
                },
            };
            *has_alert = 1;
        }
        Ok(())
    })
}

/// The fields of `tandem_metrics` from a snapshot.
fn metrics_of(m: &MetricsSnapshot) -> tandem_metrics {
    tandem_metrics {
        size: size_of::<tandem_metrics>() as u32,
        ved_slot: m.ved_slot,
        ued_slot: m.ued_slot,
        ued_lag_slots: m.ued_lag_slots,
        max_ued_lag_slots: m.max_ued_lag_slots,
        time_to_vote_p50_us: m.time_to_vote.p50_us.unwrap_or(0),
        time_to_vote_p99_us: m.time_to_vote.p99_us.unwrap_or(0),
        ved_tps: m.ved_tps,
        ued_tps: m.ued_tps,
        halted: u8::from(m.halted),
    }
}

/// A snapshot of the engine's metrics into `*out`. Set `out->size = sizeof(tandem_metrics)`
/// first: a smaller size is `TANDEM_ERR_INVALID_ARGUMENT`; a larger one (a newer header) gets
/// the fields this library knows and zero after them, up to 1024 bytes (a larger size is a
/// size left unset: `TANDEM_ERR_INVALID_ARGUMENT`, nothing written). `size` is left as the
/// caller set it. Thread-safe; cheap enough to call every slot (more metrics, per stage:
/// `tandem run --metrics-addr`).
///
/// # Safety
/// `engine` is an open engine; `out` NULL or `out->size` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tandem_engine_metrics(
    engine: *mut tandem_engine,
    out: *mut tandem_metrics,
) -> i32 {
    boundary("tandem_engine_metrics", || {
        // SAFETY: the caller's promise.
        let engine = unsafe { engine_ref(engine) }?;
        // SAFETY: the caller's promise: out is NULL or `out->size` bytes.
        let (size, _) = unsafe { versioned_size(out, "out", "tandem_metrics") }?;
        // SAFETY: the caller's promise: out points to `size` writable bytes.
        let bytes = unsafe { output_slice(out.cast::<u8>(), size, "out", "out->size") }?;
        // Every byte zero first, the padding between and after the fields too, and then each
        // field written alone: a whole struct written copies its padding's undefined bytes,
        // and a newer header's field placed in the padding (a `uint32_t` after `halted` keeps
        // `sizeof` at 80) would read them, where the header promises zero.
        bytes.fill(0);
        let m = tandem_metrics {
            size: size as u32,
            ..metrics_of(&engine.engine.metrics().snapshot())
        };
        // SAFETY: out is valid for `size` bytes, at least `sizeof(tandem_metrics)` (checked
        // above), aligned, and not otherwise borrowed once `bytes` is no longer used; each
        // place is a field of it.
        unsafe {
            (&raw mut (*out).size).write(m.size);
            (&raw mut (*out).ved_slot).write(m.ved_slot);
            (&raw mut (*out).ued_slot).write(m.ued_slot);
            (&raw mut (*out).ued_lag_slots).write(m.ued_lag_slots);
            (&raw mut (*out).max_ued_lag_slots).write(m.max_ued_lag_slots);
            (&raw mut (*out).time_to_vote_p50_us).write(m.time_to_vote_p50_us);
            (&raw mut (*out).time_to_vote_p99_us).write(m.time_to_vote_p99_us);
            (&raw mut (*out).ved_tps).write(m.ved_tps);
            (&raw mut (*out).ued_tps).write(m.ued_tps);
            (&raw mut (*out).halted).write(m.halted);
        }
        Ok(())
    })
}

/// The backends and the placement the engine runs with, as text for people (one fact per
/// line). Copies at most `cap - 1` bytes and a NUL into `buf` (nothing when `cap` is 0; `buf`
/// may then be NULL) and sets `*len_out` to the full length without the NUL: call with
/// `cap = 0` to learn it, then with a buffer of `*len_out + 1` bytes. The text is the one of
/// the engine's open, with one line more once the GPU its `auto` or `gpu` backend uses has
/// failed (`gpu failed: …`; between the two calls it may grow by that line). Thread-safe.
/// `len_out` must not lie in `buf` (`TANDEM_ERR_INVALID_ARGUMENT` where it does).
///
/// # Safety
/// `engine` is an open engine; `buf` NULL or `cap` writable bytes; `len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tandem_engine_describe(
    engine: *mut tandem_engine,
    buf: *mut c_char,
    cap: usize,
    len_out: *mut usize,
) -> i32 {
    boundary("tandem_engine_describe", || {
        // SAFETY (three): the caller's promises.
        let engine = unsafe { engine_ref(engine) }?;
        apart(region("len_out", len_out, 1), region("buf", buf, cap))?;
        let buf = unsafe { output_slice(buf.cast::<u8>(), cap, "buf", "cap") }?;
        let len_out = unsafe { out(len_out, "len_out") }?;
        let text = engine.description_now();
        let text = text.as_bytes();
        *len_out = text.len();
        if let Some(room) = cap.checked_sub(1) {
            let n = text.len().min(room);
            buf[..n].copy_from_slice(&text[..n]);
            buf[n] = 0;
        }
        Ok(())
    })
}

/// Stops the engine and frees it: closes its queues, lets every stage finish the blocks it
/// holds (each is committed to the store), and joins its threads. NULL: nothing. The pointer
/// must not be used afterwards, by any thread (as with `free`): call it once every other call
/// on this engine has returned. A failure while stopping is logged (level 1); the store then
/// resumes from its last committed slot when opened again. Returns once every log line queued
/// before, the stages' last ones included, has reached the log sink. Like
/// `tandem_engine_open`, it stops the engine on a thread of its own, the caller waiting.
///
/// # Safety
/// `engine` is NULL or an open engine no other thread is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tandem_engine_close(engine: *mut tandem_engine) {
    if engine.is_null() {
        // A call that did what it says: the last error says so (it kept an earlier call's).
        crate::error::clear_last_error();
        return;
    }
    // SAFETY: the caller's promise: a pointer from tandem_engine_open, used by no one else.
    let engine = unsafe { Box::from_raw(engine) };
    let status = boundary("tandem_engine_close", move || {
        // (What it returns is of a pointer's size: the summary, left here, is large.)
        on_a_stack_of_its_own("tandem-engine", move || {
            engine.engine.finish().map(drop).map_err(Box::new)
        })
        .map_err(|e| *e)?;
        Ok(())
    });
    if status != crate::status::TANDEM_OK {
        log::error!("{}", crate::error::last_error_message());
    }
    // The stages' last lines (and this call's) reach the sink before the engine is gone.
    crate::log::flush_all();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{TANDEM_ERR_INTERNAL, TANDEM_ERR_INVALID_ARGUMENT};
    use std::ffi::CString;

    thread_local! {
        /// Makes `tandem_engine_open` panic once its inputs are read.
        pub(super) static PANIC_IN_OPEN: std::cell::Cell<bool> =
            const { std::cell::Cell::new(false) };
    }

    /// Every failure of `tandem_engine_open` leaves `*engine_out` NULL, a caught panic
    /// (`TANDEM_ERR_INTERNAL`) too: the NULL was written only on an error returned, and a
    /// host that closes what is not NULL closed whatever the pointer held before. Found in
    /// review.
    #[test]
    fn a_failed_open_leaves_null_a_panic_too() {
        let genesis = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../engine/genesis/default.toml"
        );
        let genesis = CString::new(genesis).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = CString::new(dir.path().to_str().unwrap()).unwrap();
        let stale = std::ptr::NonNull::<tandem_engine>::dangling().as_ptr();
        let open = |store: &CString| {
            let mut engine = stale;
            // SAFETY: valid strings, no config, a writable out-pointer.
            let status = unsafe {
                tandem_engine_open(
                    genesis.as_ptr(),
                    store.as_ptr(),
                    std::ptr::null(),
                    &mut engine,
                )
            };
            (status, engine)
        };
        let empty = CString::new("").unwrap();
        assert_eq!(
            open(&empty),
            (TANDEM_ERR_INVALID_ARGUMENT, std::ptr::null_mut())
        );
        PANIC_IN_OPEN.with(|p| p.set(true));
        let panicked = open(&store);
        PANIC_IN_OPEN.with(|p| p.set(false));
        assert_eq!(panicked, (TANDEM_ERR_INTERNAL, std::ptr::null_mut()));
    }

    /// `tandem_engine_close(NULL)` does what it says, nothing, and succeeds: the last error
    /// is "" after it, as after every call that succeeded (it kept the call before's; a
    /// black-box test of the C ABI).
    #[test]
    fn closing_null_leaves_no_last_error() {
        crate::error::set_last_error("an earlier call failed");
        // SAFETY: NULL is allowed.
        unsafe { tandem_engine_close(std::ptr::null_mut()) };
        assert_eq!(crate::error::last_error_message(), "");
    }
}
