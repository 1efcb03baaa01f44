//! One run of the isolation suite through the C ABI: the engine a validator client embeds
//! (`libtandem`), driven by its exports as a host drives them — the same exports, linked into
//! this process as the `tandem` crate (its log lines go to this process's logger).
//!
//! The cluster is written to a genesis file ([`Genesis::to_toml`]) that
//! `tandem_engine_open` reads; each block goes in as the ledger's block encoding
//! (`tandem_engine_submit_block`, which decodes it), and the host waits for the block's VED
//! hash (`tandem_engine_ved_hash`). Time-to-vote is the host's: from before the submit call to
//! the wait's return — the decode of the whole block (user transactions included) and the
//! wake-up of the waiting thread count, which the Rust API's vote hook does not see. The feed
//! waits for each vote before the next block is due, so a block whose vote takes longer than
//! the pace delays the next one (the warm-up's cold blocks can; the Rust run hands the next
//! block over on time). The C ABI's queues are the engine's defaults: the UED may lag 64
//! blocks before a submit waits (the Rust run lets it lag the whole run). The C ABI shows no
//! stage's work, so the run reports none; and `tandem_engine_close` only logs a failure of
//! its last commits, so the run waits for the last slot's UED hash and checks that the engine
//! has not halted instead (the Rust run's `finish` reports such a failure).

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::path::Path;
use std::ptr;
use std::time::Instant;

use ::tandem_engine::genesis::Genesis;
use ::tandem_engine::ledger::Block;
use ::tandem_engine::runtime::Backend;
use tandem::engine::{
    tandem_engine as TandemEngine, tandem_engine_close, tandem_engine_config,
    tandem_engine_metrics, tandem_engine_open, tandem_engine_submit_block, tandem_engine_ued_hash,
    tandem_engine_ved_hash, tandem_metrics,
};
use tandem::{Backend as CBackend, TANDEM_OK, tandem_last_error};

use super::stalls::Sample;
use super::{IsolationConfig, Pace, RunResult};

/// How long the host waits for one slot's hash before the run fails.
const HASH_TIMEOUT_MS: u32 = 600_000;

/// An open engine, closed when dropped (on every path out of a run).
struct Handle(*mut TandemEngine);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: a pointer from tandem_engine_open, closed once, after every call returned.
        unsafe { tandem_engine_close(self.0) };
    }
}

/// An export failed with `status`: `tandem_last_error()` (which names the export), the
/// status, and `context` (", slot N", or nothing).
fn failed(status: i32, context: &str) -> String {
    // SAFETY: tandem_last_error returns a NUL-terminated string owned by this thread's slot.
    let message = unsafe { CStr::from_ptr(tandem_last_error()) };
    format!(
        "through the C ABI: {} (status {status}{context})",
        message.to_string_lossy()
    )
}

fn c_string(what: &str, text: &str) -> Result<CString, String> {
    CString::new(text).map_err(|_| format!("{what} {text:?} holds a NUL byte"))
}

fn path_c_string(what: &str, path: &Path) -> Result<CString, String> {
    let text = path
        .to_str()
        .ok_or_else(|| format!("{what} {} is not UTF-8", path.display()))?;
    c_string(what, text)
}

/// One run: feeds `blocks` at the pace through the C ABI and gathers each block's vote point.
/// `cores` is `tandem_engine_config.cores` (`None`: the automatic placement).
pub(super) fn run(
    genesis: &Genesis,
    config: &IsolationConfig,
    cores: Option<&str>,
    blocks: Vec<Block>,
) -> Result<RunResult, String> {
    let scratch = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let genesis_path = scratch.path().join("genesis.toml");
    std::fs::write(&genesis_path, genesis.to_toml())
        .map_err(|e| format!("writing {}: {e}", genesis_path.display()))?;
    let store = scratch.path().join("store");
    // Each block's bytes before the run: the host hands over what it received.
    let encoded = blocks
        .iter()
        .map(|b| {
            b.encode()
                .map(|bytes| (b.header.slot, bytes))
                .map_err(|e| format!("encoding the block of slot {}: {e}", b.header.slot))
        })
        .collect::<Result<Vec<_>, String>>()?;
    drop(blocks);

    let genesis_c = path_c_string("the genesis file", &genesis_path)?;
    let store_c = path_c_string("the store directory", &store)?;
    let cores_c = cores
        .map(|c| c_string("the cores setting", c))
        .transpose()?;
    let engine_config = tandem_engine_config {
        size: size_of::<tandem_engine_config>() as u32,
        backend: match config.backend {
            Backend::Auto => CBackend::Auto,
            Backend::Cpu => CBackend::Cpu,
            Backend::Gpu => CBackend::Gpu,
        } as u32,
        ued_threads: match u32::try_from(config.ued_threads) {
            // 0 would be the C ABI's "one per PU of the ued stage": not what was asked.
            Ok(0) | Err(_) => {
                return Err(format!(
                    "{} UED threads: the suite runs 1 or more (at most the C ABI's 1024)",
                    config.ued_threads
                ));
            }
            Ok(n) => n,
        },
        cores: cores_c.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
    };
    let mut engine = ptr::null_mut();
    // SAFETY: NUL-terminated strings and a sized config that outlive the call, and a writable
    // out-pointer.
    let status = unsafe {
        tandem_engine_open(
            genesis_c.as_ptr(),
            store_c.as_ptr(),
            &engine_config,
            &mut engine,
        )
    };
    if status != TANDEM_OK {
        return Err(failed(status, ""));
    }
    let engine = Handle(engine);

    let mut votes = Vec::with_capacity(encoded.len());
    let mut last_slot = 0;
    let mut pace = Pace::new(config.pace_ms);
    let (mut handed, mut voted) = (HashMap::new(), HashMap::new());
    // The host's receive buffer (module docs of `super`: the block received just before the
    // hand-over).
    let mut received: Vec<u8> = Vec::new();
    for (slot, bytes) in &encoded {
        received.clear();
        received.extend_from_slice(bytes);
        let bytes = &received;
        pace.wait();
        if let Some(sample) = Sample::take() {
            handed.insert(*slot, sample);
        }
        let start = Instant::now();
        // SAFETY: an open engine and `bytes.len()` readable bytes.
        let status = unsafe { tandem_engine_submit_block(engine.0, bytes.as_ptr(), bytes.len()) };
        if status != TANDEM_OK {
            return Err(failed(status, &format!(", slot {slot}")));
        }
        let mut hash = [0u8; 32];
        // SAFETY: an open engine and 32 writable bytes.
        let status =
            unsafe { tandem_engine_ved_hash(engine.0, *slot, HASH_TIMEOUT_MS, hash.as_mut_ptr()) };
        if status != TANDEM_OK {
            return Err(failed(status, &format!(", slot {slot}")));
        }
        votes.push((*slot, hash, start.elapsed()));
        if let Some(sample) = Sample::take() {
            voted.insert(*slot, sample);
        }

        last_slot = *slot;
        if *slot == config.warmup_slots {
            pace.after_warm_up();
        }
    }
    // The UED's load executed, as the Rust run's `finish` waits for it.
    let mut hash = [0u8; 32];
    // SAFETY: an open engine and 32 writable bytes.
    let status =
        unsafe { tandem_engine_ued_hash(engine.0, last_slot, HASH_TIMEOUT_MS, hash.as_mut_ptr()) };
    if status != TANDEM_OK {
        return Err(failed(status, &format!(", slot {last_slot}")));
    }
    // SAFETY: all-zero is a valid tandem_metrics (integers, a float and a flag).
    let mut metrics: tandem_metrics = unsafe { std::mem::zeroed() };
    metrics.size = size_of::<tandem_metrics>() as u32;
    // SAFETY: an open engine and a sized, writable struct.
    let status = unsafe { tandem_engine_metrics(engine.0, &mut metrics) };
    if status != TANDEM_OK {
        return Err(failed(status, ""));
    }
    if metrics.halted != 0 {
        return Err("the engine halted during the run (C ABI)".into());
    }
    drop(engine);
    Ok(RunResult {
        votes,
        // The host sees the hash alone.
        paths: HashMap::new(),
        max_ued_lag_slots: metrics.max_ued_lag_slots,
        vote_path_ms_per_slot: Vec::new(),
        round: 0,
        handed,
        voted,
    })
}
