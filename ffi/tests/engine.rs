//! The engine through the C ABI, called as C calls it: the hashes of a ledger that crosses an
//! epoch boundary equal the sequential runtime's, a restart resumes, and every bad argument is
//! an error code with a message naming it (SPEC §8 "The engine").

mod common;

use std::ffi::{CStr, CString, c_char};
use std::path::Path;
use std::ptr;

use ::tandem_engine::genesis::Genesis;
use ::tandem_engine::ledger::Block;
use ::tandem_engine::runtime::BlockOutcome;
use ::tandem_engine::workload::{WorkloadConfig, generate_all};
use tandem::engine::{
    tandem_account_info, tandem_alert, tandem_engine, tandem_engine_account, tandem_engine_close,
    tandem_engine_config, tandem_engine_describe, tandem_engine_metrics, tandem_engine_open,
    tandem_engine_poll_alert, tandem_engine_submit_block, tandem_engine_tx_status,
    tandem_engine_ued_hash, tandem_engine_ved_hash, tandem_metrics, tandem_tx_status,
};
use tandem::{
    Backend, TANDEM_ERR_CORRUPT, TANDEM_ERR_INVALID_ARGUMENT, TANDEM_ERR_IO, TANDEM_ERR_NOT_FOUND,
    TANDEM_ERR_REJECTED, TANDEM_ERR_TIMEOUT, TANDEM_OK, TANDEM_TX_FINAL, TANDEM_TX_UNKNOWN,
    tandem_last_error,
};

fn last_error() -> String {
    // SAFETY: tandem_last_error returns a NUL-terminated string valid until the next call.
    unsafe { CStr::from_ptr(tandem_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn genesis_path() -> CString {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/genesis/default.toml");
    CString::new(path.to_str().unwrap()).unwrap()
}

/// 40 slots of the default cluster (32-slot epochs: one boundary) and their sequential outcomes.
fn ledger() -> (Vec<Block>, Vec<BlockOutcome>) {
    let scratch = tempfile::tempdir().unwrap();
    let config = WorkloadConfig {
        slots: 40,
        transfers: 30,
        ..WorkloadConfig::default()
    };
    generate_all(&Genesis::default_cluster(), &config, scratch.path()).unwrap()
}

fn config() -> tandem_engine_config {
    tandem_engine_config {
        size: size_of::<tandem_engine_config>() as u32,
        backend: Backend::Cpu as u32,
        ued_threads: 2,
        cores: ptr::null(),
    }
}

fn open(dir: &Path, config: &tandem_engine_config) -> Result<*mut tandem_engine, (i32, String)> {
    open_with(&genesis_path(), dir, config)
}

fn open_with(
    genesis: &CStr,
    dir: &Path,
    config: &tandem_engine_config,
) -> Result<*mut tandem_engine, (i32, String)> {
    let dir = CString::new(dir.to_str().unwrap()).unwrap();
    let mut engine = ptr::null_mut();
    // SAFETY: valid strings, config and out-pointer.
    let status = unsafe { tandem_engine_open(genesis.as_ptr(), dir.as_ptr(), config, &mut engine) };
    if status == TANDEM_OK {
        Ok(engine)
    } else {
        assert!(engine.is_null(), "a failed open leaves *engine_out NULL");
        Err((status, last_error()))
    }
}

fn submit(engine: *mut tandem_engine, block: &Block) -> i32 {
    let bytes = block.encode().unwrap();
    // SAFETY: an open engine, bytes.len() readable bytes.
    unsafe { tandem_engine_submit_block(engine, bytes.as_ptr(), bytes.len()) }
}

type Wait = unsafe extern "C" fn(*mut tandem_engine, u64, u32, *mut u8) -> i32;

fn hash(
    engine: *mut tandem_engine,
    wait: Wait,
    slot: u64,
    timeout_ms: u32,
) -> Result<[u8; 32], i32> {
    let mut out = [0u8; 32];
    // SAFETY: an open engine, 32 writable bytes.
    match unsafe { wait(engine, slot, timeout_ms, out.as_mut_ptr()) } {
        TANDEM_OK => Ok(out),
        status => Err(status),
    }
}

/// Both hashes of every slot of `outcomes`, as the engine gives them, equal the runtime's.
fn check_hashes(engine: *mut tandem_engine, outcomes: &[BlockOutcome]) {
    for o in outcomes {
        let ved = hash(engine, tandem_engine_ved_hash, o.slot, 60_000);
        let ued = hash(engine, tandem_engine_ued_hash, o.slot, 60_000);
        assert_eq!(
            (ved, ued),
            (Ok(o.ved_hash), Ok(o.ued_hash)),
            "slot {}",
            o.slot
        );
    }
}

#[test]
fn a_ledger_through_the_c_abi_gives_the_sequential_hashes_and_resumes() {
    let (blocks, outcomes) = ledger();
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), &config()).expect("open");
    for block in &blocks[..30] {
        assert_eq!(submit(engine, block), TANDEM_OK, "{}", last_error());
    }
    check_hashes(engine, &outcomes[..30]);
    // The same block again: its slot is executed already.
    assert_eq!(submit(engine, &blocks[29]), TANDEM_ERR_REJECTED);
    assert!(
        last_error().starts_with("tandem_engine_submit_block: the block of slot 30:"),
        "{}",
        last_error()
    );
    // Not there yet: a timeout; older than the engine opened at: not found.
    assert_eq!(
        hash(engine, tandem_engine_ved_hash, 31, 10),
        Err(TANDEM_ERR_TIMEOUT)
    );
    assert_eq!(
        last_error(),
        "tandem_engine_ved_hash: slot 31: no VED hash after 10 ms"
    );

    // What the engine says of itself.
    let mut metrics: tandem_metrics = unsafe { std::mem::zeroed() };
    metrics.size = size_of::<tandem_metrics>() as u32;
    // SAFETY: an open engine and a sized struct.
    assert_eq!(
        unsafe { tandem_engine_metrics(engine, &mut metrics) },
        TANDEM_OK
    );
    assert_eq!(
        (metrics.ved_slot, metrics.ued_slot, metrics.halted),
        (30, 30, 0)
    );
    assert!(metrics.time_to_vote_p50_us > 0);
    // A newer header's struct (16 bytes more), its bytes set: every byte not a field of this
    // library's is zero after the call, the padding inside the struct too — a field a newer
    // header put there (after `halted`, `sizeof` stays 80) read the padding's undefined bytes.
    let mut newer = [u64::from_ne_bytes([0xaa; 8]); 12];
    let at = newer.as_mut_ptr().cast::<tandem_metrics>();
    // SAFETY: 96 writable bytes, aligned for the struct; its size field set.
    unsafe { (&raw mut (*at).size).write(96) };
    // SAFETY: an open engine, 96 writable bytes.
    assert_eq!(unsafe { tandem_engine_metrics(engine, at) }, TANDEM_OK);
    let bytes: Vec<u8> = newer.iter().flat_map(|w| w.to_ne_bytes()).collect();
    let halted_at = std::mem::offset_of!(tandem_metrics, halted);
    assert_eq!(&bytes[4..8], [0; 4], "the padding after size");
    assert_eq!(
        &bytes[halted_at + 1..],
        [0; 96 - 73],
        "the padding after halted, and past"
    );
    let text = common::describe(engine);
    assert!(
        text.contains("backend: cpu\n") && text.contains("ued threads: 2\n"),
        "{text}"
    );
    // Its length out inside its buffer: refused, naming both (two live references to the
    // same bytes; the length landed in the text, or the text over the length, with OK).
    let mut words = [0usize; 8];
    let buf = words.as_mut_ptr().cast::<c_char>();
    // SAFETY: 64 writable bytes, len_out among them (the overlap the call checks).
    let rc =
        unsafe { tandem_engine_describe(engine, buf, size_of_val(&words), words.as_mut_ptr()) };
    assert_eq!(rc, TANDEM_ERR_INVALID_ARGUMENT);
    assert_eq!(last_error(), "tandem_engine_describe: len_out overlaps buf");
    assert_eq!(words, [0; 8], "nothing written");

    // A transaction of slot 30: final with X = 0, where it is.
    let tx = outcomes[29]
        .transactions
        .iter()
        .find(|t| t.signature.is_some())
        .unwrap();
    let mut status: tandem_tx_status = unsafe { std::mem::zeroed() };
    // SAFETY: an open engine, 64 readable bytes, a writable struct.
    let rc =
        unsafe { tandem_engine_tx_status(engine, tx.signature.unwrap().as_ptr(), 0, &mut status) };
    assert_eq!(rc, TANDEM_OK);
    assert_eq!((status.state, status.slot), (TANDEM_TX_FINAL, 30));
    // SAFETY: as above.
    let rc = unsafe { tandem_engine_tx_status(engine, [9u8; 64].as_ptr(), 0, &mut status) };
    assert_eq!(
        (rc, status.state, status.slot),
        (TANDEM_OK, TANDEM_TX_UNKNOWN, 0)
    );

    // An account of the genesis, and one that does not exist.
    let genesis = Genesis::default_cluster();
    let known = &genesis.accounts[0];
    let mut info: tandem_account_info = unsafe { std::mem::zeroed() };
    // SAFETY: an open engine, 32 readable bytes, a writable struct, no data asked for.
    let rc = unsafe {
        tandem_engine_account(
            engine,
            known.pubkey.0.as_ptr(),
            &mut info,
            ptr::null_mut(),
            0,
        )
    };
    assert_eq!(rc, TANDEM_OK, "{}", last_error());
    assert_eq!(info.mapping, known.mapping.tag());
    // SAFETY: as above.
    let rc = unsafe {
        tandem_engine_account(engine, [0xee; 32].as_ptr(), &mut info, ptr::null_mut(), 0)
    };
    assert_eq!(rc, TANDEM_ERR_NOT_FOUND);

    let mut alert: tandem_alert = unsafe { std::mem::zeroed() };
    let mut has = 9u8;
    // SAFETY: writable out-pointers.
    assert_eq!(
        unsafe { tandem_engine_poll_alert(engine, &mut alert, &mut has) },
        TANDEM_OK
    );
    assert_eq!(has, 0);
    // SAFETY: opened above, used by no other thread.
    unsafe { tandem_engine_close(engine) };

    // Resumed: the rest of the ledger, across the boundary at slot 32.
    let engine = open(dir.path(), &config()).expect("reopen");
    // SAFETY: an open engine and a sized struct.
    assert_eq!(
        unsafe { tandem_engine_metrics(engine, &mut metrics) },
        TANDEM_OK
    );
    assert_eq!(
        (
            metrics.ved_slot,
            metrics.ued_slot,
            metrics.max_ued_lag_slots
        ),
        (30, 30, 0),
        "a resumed engine has no lag"
    );
    assert_eq!(
        hash(engine, tandem_engine_ued_hash, 30, 0),
        Ok(outcomes[29].ued_hash)
    );
    assert_eq!(
        hash(engine, tandem_engine_ued_hash, 12, 0),
        Err(TANDEM_ERR_NOT_FOUND)
    );
    assert_eq!(
        last_error(),
        "tandem_engine_ued_hash: slot 12 has no UED hash: the engine remembers hashes from slot 30 on"
    );
    for block in &blocks[30..] {
        assert_eq!(submit(engine, block), TANDEM_OK, "{}", last_error());
    }
    check_hashes(engine, &outcomes[30..]);
    // SAFETY: opened above, used by no other thread.
    unsafe { tandem_engine_close(engine) };
}

#[test]
fn a_stopped_engine_answers_with_its_failure_what_it_will_not_decide_and_gives_no_hash() {
    // The UED fails committing slot 2 (its status file's place is a directory): a transaction
    // of slot 2 answered TANDEM_TX_PENDING for ever (found by a review of the engine's waits).
    let (blocks, outcomes) = ledger();
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), &config()).expect("open");
    std::fs::create_dir(dir.path().join("status-2.idx")).unwrap();
    for block in &blocks[..2] {
        assert_eq!(submit(engine, block), TANDEM_OK, "{}", last_error());
    }
    assert_eq!(
        hash(engine, tandem_engine_ued_hash, 2, 60_000),
        Err(TANDEM_ERR_IO)
    );
    let tx = outcomes[1]
        .transactions
        .iter()
        .find(|t| t.signature.is_some() && t.domain == Some(::tandem_engine::account::Domain::Ued))
        .unwrap();
    let mut status: tandem_tx_status = unsafe { std::mem::zeroed() };
    status.slot = 77;
    // SAFETY: an open engine, 64 readable bytes, a writable struct.
    let rc =
        unsafe { tandem_engine_tx_status(engine, tx.signature.unwrap().as_ptr(), 0, &mut status) };
    assert_eq!(rc, TANDEM_ERR_IO, "{}", last_error());
    assert!(last_error().contains("status-2.idx"), "{}", last_error());
    assert_eq!(status.slot, 77, "out untouched");
    // No more vote points: not even the hashes of the slot it executed before it stopped.
    assert_eq!(
        hash(engine, tandem_engine_ved_hash, 1, 0),
        Err(TANDEM_ERR_IO)
    );
    assert_eq!(
        hash(engine, tandem_engine_ued_hash, 1, 0),
        Err(TANDEM_ERR_IO)
    );
    // SAFETY: the engine, closed once.
    unsafe { tandem_engine_close(engine) };
}

#[test]
fn bad_configs_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let small = tandem_engine_config {
        size: 8,
        ..config()
    };
    let (status, message) = open(dir.path(), &small).unwrap_err();
    assert_eq!(status, TANDEM_ERR_INVALID_ARGUMENT);
    assert!(
        message.contains("config->size = 8 is smaller than sizeof(tandem_engine_config)"),
        "{message}"
    );
    let unknown = tandem_engine_config {
        backend: 7,
        ..config()
    };
    let (status, message) = open(dir.path(), &unknown).unwrap_err();
    assert_eq!(status, TANDEM_ERR_INVALID_ARGUMENT);
    assert!(message.contains("config->backend = 7"), "{message}");
    let cores = CString::new("ved=4096").unwrap();
    let missing = tandem_engine_config {
        cores: cores.as_ptr(),
        ..config()
    };
    let (status, message) = open(dir.path(), &missing).unwrap_err();
    assert_eq!(status, TANDEM_ERR_INVALID_ARGUMENT);
    assert!(
        message.contains("config->cores: ") && message.contains("4096"),
        "{message}"
    );
    // `engine_out` pointing at `config->cores` itself: its NULL, written first, cleared the
    // setting, and the call opened with automatic placement (TANDEM_OK). The setting is read
    // before anything is written now.
    let mut shared = tandem_engine_config {
        cores: cores.as_ptr(),
        ..config()
    };
    let store = CString::new(dir.path().to_str().unwrap()).unwrap();
    let config_at = &raw mut shared;
    // SAFETY: a field of the local above (no reference to it is made).
    let at_cores = unsafe { &raw mut (*config_at).cores }.cast::<*mut tandem_engine>();
    // SAFETY: valid strings; config and engine_out are the caller's, writable and aligned.
    let status = unsafe {
        tandem_engine_open(
            genesis_path().as_ptr(),
            store.as_ptr(),
            config_at.cast_const(),
            at_cores,
        )
    };
    assert_eq!(status, TANDEM_ERR_INVALID_ARGUMENT, "{}", last_error());
    assert!(last_error().contains("4096"), "{}", last_error());
    assert!(
        shared.cores.is_null(),
        "a failed open leaves *engine_out NULL"
    );
}

/// Every way a genesis file fails names the argument it came from: a syntax error or a bad
/// field says nothing of the file by itself.
#[test]
fn a_genesis_that_does_not_load_is_refused_naming_the_argument() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let cases = [
        ("missing.toml", None, TANDEM_ERR_IO),
        ("garbage.toml", Some("not [ toml"), TANDEM_ERR_CORRUPT),
        (
            "invalid.toml",
            Some("[cluster]\nslots_per_epoch = \"many\"\n"),
            TANDEM_ERR_CORRUPT,
        ),
    ];
    for (name, text, code) in cases {
        let path = dir.path().join(name);
        if let Some(text) = text {
            std::fs::write(&path, text).unwrap();
        }
        let genesis = CString::new(path.to_str().unwrap()).unwrap();
        let (status, message) = open_with(&genesis, &store, &config()).unwrap_err();
        assert_eq!(status, code, "{name}: {message}");
        assert!(
            message.starts_with("tandem_engine_open: genesis_toml_path: "),
            "{name}: {message}"
        );
        assert!(!store.exists(), "{name}: a refused open creates no store");
    }
}

/// An empty path names no file: refused as the argument it is, not as an I/O error about "".
#[test]
fn empty_paths_are_refused_naming_the_argument() {
    let dir = tempfile::tempdir().unwrap();
    let store = CString::new(dir.path().join("store").to_str().unwrap()).unwrap();
    let genesis = genesis_path();
    for (genesis, store, name) in [
        (c"", store.as_c_str(), "genesis_toml_path"),
        (genesis.as_c_str(), c"", "store_dir"),
    ] {
        let mut engine = ptr::null_mut();
        // SAFETY: valid strings, config and out-pointer.
        let status =
            unsafe { tandem_engine_open(genesis.as_ptr(), store.as_ptr(), &config(), &mut engine) };
        assert_eq!(status, TANDEM_ERR_INVALID_ARGUMENT, "{}", last_error());
        assert_eq!(last_error(), format!("tandem_engine_open: {name} is empty"));
        assert!(engine.is_null());
    }
}
