//! What a call into the engine through the C ABI costs, beside the same call through the Rust
//! API (`tandem_engine::pipeline::Engine`), in one run: the per-call overhead of the skin.
//!
//! - `ffi_engine/submit/*`: `tandem_engine_submit_block` (bytes in the ledger's block encoding,
//!   read where they lie by the engine) beside `Engine::submit` (a `Block`), for small blocks of successive
//!   slots with valid clocks: header only, and one vote. Only the calls are timed. The engine
//!   must not fall behind, or a call would wait for a full queue and the figure would be the
//!   pipeline's speed, not the call's: the VED's first queue holds 4 blocks, so the blocks go in
//!   bursts of 4 and, untimed between two bursts, the bench waits for the UED hash of the last
//!   one. Every timed call thus meets an idle engine with room in its queues, on both sides.
//! - `ffi_engine/decode/*`: `Block::decode` of those blocks' bytes, the part of the C path's
//!   extra work that grows with the block (the rest is the panic boundary and the argument
//!   checks, which the hash wait below shows). The submit calls themselves vary by hundreds of
//!   nanoseconds (a call wakes the next stage's thread), more than the C ABI adds.
//! - `ffi_engine/decode/loaded-block`: `Block::decode` of a block the size of the isolation
//!   suite's loaded one (21,000 transactions of 219 bytes, 4.6 MB), and the drop of what it
//!   returns: the work `tandem_engine_submit_block` did before the engine saw the block's
//!   votes until it handed blocks over encoded (2026-12-06), which grows with the user load
//!   (decode reads lengths and bytes, not transactions, so the bytes need not parse).
//! - `ffi_engine/walk/loaded-block`: `EncodedBlock::parse` of that block — what the export
//!   does instead since it hands blocks over encoded: every length walked where the bytes lie
//!   (in parts, the first before the votes' checks), nothing copied.
//! - `ffi_engine/ved_hash/executed-slot`: `tandem_engine_ved_hash(engine, slot, 0, out)` beside
//!   `Engine::wait_hash(Domain::Ved, slot, Duration::ZERO)` for the newest slot the engine has
//!   executed (the lookup scans the recent hashes from the newest: the same first hit on both
//!   sides).
//!
//! Each side has its own engine, opened alike (default cluster, CPU backend, one UED thread, the
//! automatic placement `tandem_engine_open` uses), each store in a temporary directory (on tmpfs
//! where there is one). The
//! engine crate is named `::tandem_engine` here: the C ABI's opaque struct has that name too.

mod common;

use std::cell::RefCell;
use std::ffi::CString;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::ptr;
use std::time::{Duration, Instant};

use ::tandem_engine::account::{Domain, Pubkey};
use ::tandem_engine::genesis::{Genesis, default_keypair_seed};
use ::tandem_engine::ledger::{Block, BlockHeader, EncodedBlock};
use ::tandem_engine::pipeline::{Engine, EngineConfig, EngineHooks, Survey, Waited};
use ::tandem_engine::runtime::Backend;
use ::tandem_engine::runtime::builtins::vote::VoteInstruction;
use ::tandem_engine::tx::Transaction;
use common::{rust_beside_c, rust_beside_c_timed};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use tandem::engine::{
    tandem_engine, tandem_engine_close, tandem_engine_config, tandem_engine_open,
    tandem_engine_submit_block, tandem_engine_ued_hash, tandem_engine_ved_hash,
};
use tandem::{Backend as CBackend, TANDEM_OK};
use tandem_bench::fixtures::vote_message;

/// Blocks submitted between two drains: the capacity of the VED's first queue.
const BURST: u64 = 4;

/// How long a drain may wait for the UED before the bench fails.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

fn genesis_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/genesis/default.toml")
}

/// Where one engine's blocks stand: the next slot and its clock.
#[derive(Clone)]
struct Chain {
    leader: Pubkey,
    next_slot: u64,
    next_ms: i64,
    /// The transactions every block carries.
    transactions: Vec<Vec<u8>>,
}

impl Chain {
    fn new(genesis: &Genesis, transactions: Vec<Vec<u8>>) -> Chain {
        Chain {
            leader: genesis.validators[0].node,
            next_slot: 1,
            next_ms: genesis.cluster.unix_timestamp_ms + 400,
            transactions,
        }
    }

    /// The next block: the slot after the last one, 400 ms later (SPEC §4's default step).
    fn next(&mut self) -> Block {
        let slot = self.next_slot;
        let mut blockhash = [0u8; 32];
        blockhash[..8].copy_from_slice(&slot.to_le_bytes());
        let block = Block {
            header: BlockHeader {
                slot,
                parent_slot: slot - 1,
                leader: self.leader,
                unix_timestamp_ms: self.next_ms,
                blockhash,
            },
            transactions: self.transactions.iter().collect(),
        };
        self.next_slot += 1;
        self.next_ms += 400;
        block
    }

    /// The last slot handed out.
    fn last_slot(&self) -> u64 {
        self.next_slot - 1
    }
}

/// One signed vote of validator-0 on slot 0. Every block carries the same one: after the first
/// block it is a duplicate the VED refuses at check 4, but `submit` parses it and guesses its
/// payer's domain all the same, which is the work a call does.
fn vote(genesis: &Genesis) -> Vec<u8> {
    let validator = &genesis.validators[0];
    let node = SigningKey::from_bytes(&default_keypair_seed("validator-0"));
    let vote = VoteInstruction::Vote {
        slot: 0,
        ved_hash: [0; 32],
        ued: None,
        timestamp_ms: genesis.cluster.unix_timestamp_ms,
    };
    let message = vote_message(validator.node, validator.vote_account, &vote, genesis.hash);
    Transaction::sign(&message, &[&node]).expect("validator-0 signs its vote")
}

/// The engine a Rust caller opens, configured as `tandem_engine_open` configures its own.
fn rust_engine(genesis: &Genesis, dir: &Path) -> Engine {
    let survey = Survey::take(None).expect("automatic placement");
    let config = EngineConfig {
        backend: Backend::Cpu,
        ued_threads: 1,
        placement: Some(survey.placement),
        ..EngineConfig::default()
    };
    Engine::open(genesis, dir, config, EngineHooks::default()).expect("open the engine")
}

/// The engine a C caller opens.
fn c_engine(dir: &Path) -> *mut tandem_engine {
    let genesis = CString::new(genesis_path().to_str().expect("UTF-8 path")).expect("no NUL");
    let dir = CString::new(dir.to_str().expect("UTF-8 path")).expect("no NUL");
    let config = tandem_engine_config {
        size: size_of::<tandem_engine_config>() as u32,
        backend: CBackend::Cpu as u32,
        ued_threads: 1,
        cores: ptr::null(),
    };
    let mut engine = ptr::null_mut();
    // SAFETY: NUL-terminated strings, a sized config and a writable out-pointer.
    let status =
        unsafe { tandem_engine_open(genesis.as_ptr(), dir.as_ptr(), &config, &mut engine) };
    assert_eq!(status, TANDEM_OK, "tandem_engine_open");
    engine
}

/// `calls` blocks of `chain` through `submit`, in bursts of [`BURST`]; only the calls are
/// timed, and after each burst `drain` waits (untimed) for the UED to execute its last slot.
/// `prepare` turns a block into what `submit` takes (outside the timing).
fn bursts<T>(
    calls: u64,
    chain: &RefCell<Chain>,
    prepare: impl Fn(Block) -> T,
    mut submit: impl FnMut(T),
    mut drain: impl FnMut(u64),
) -> Duration {
    let mut timed = Duration::ZERO;
    let mut left = calls;
    while left > 0 {
        let n = left.min(BURST);
        let inputs: Vec<T> = {
            let mut chain = chain.borrow_mut();
            (0..n).map(|_| prepare(chain.next())).collect()
        };
        let start = Instant::now();
        for input in inputs {
            submit(input);
        }
        timed += start.elapsed();
        drain(chain.borrow().last_slot());
        left -= n;
    }
    timed
}

/// Both engines, and where each one's blocks stand.
struct Engines {
    rust: Engine,
    c: *mut tandem_engine,
    rust_chain: RefCell<Chain>,
    c_chain: RefCell<Chain>,
}

impl Engines {
    fn rust_drain(&self, slot: u64) {
        let waited = self.rust.wait_hash(Domain::Ued, slot, DRAIN_TIMEOUT);
        assert!(
            matches!(waited, Ok(Waited::Hash(_))),
            "slot {slot}: {waited:?}"
        );
    }

    fn c_drain(&self, slot: u64) {
        let mut out = [0u8; 32];
        let timeout_ms = DRAIN_TIMEOUT.as_millis() as u32;
        // SAFETY: an open engine and 32 writable bytes.
        let status = unsafe { tandem_engine_ued_hash(self.c, slot, timeout_ms, out.as_mut_ptr()) };
        assert_eq!(status, TANDEM_OK, "slot {slot}");
    }

    /// Sets both chains' transactions.
    fn carry(&self, transactions: &[Vec<u8>]) {
        for chain in [&self.rust_chain, &self.c_chain] {
            chain.borrow_mut().transactions = transactions.to_vec();
        }
    }
}

fn bench_submit(c: &mut Criterion, engines: &Engines, name: &str, transactions: &[Vec<u8>]) {
    engines.carry(transactions);
    rust_beside_c_timed(
        c,
        &format!("ffi_engine/submit/{name}"),
        1,
        20,
        |calls| {
            bursts(
                calls,
                &engines.rust_chain,
                |block| block,
                |block| engines.rust.submit(block).expect("a valid block"),
                |slot| engines.rust_drain(slot),
            )
        },
        |calls| {
            bursts(
                calls,
                &engines.c_chain,
                |block| block.encode().expect("a small block encodes"),
                |bytes| {
                    // SAFETY: an open engine and bytes.len() readable bytes.
                    let status = unsafe {
                        tandem_engine_submit_block(engines.c, bytes.as_ptr(), bytes.len())
                    };
                    assert_eq!(status, TANDEM_OK);
                },
                |slot| engines.c_drain(slot),
            )
        },
    );
    // The one step of the C path with a cost that grows with the block: decoding its bytes.
    let block = engines.c_chain.borrow().clone().next();
    let bytes = block.encode().expect("a small block encodes");
    c.bench_function(&format!("ffi_engine/decode/{name}"), |b| {
        b.iter(|| Block::decode(black_box(&bytes)).expect("a valid block"))
    });
}

/// `Block::decode` (and the drop) of a block of the isolation suite's loaded size, and
/// `EncodedBlock::parse` of it: the walk over its lengths that `tandem_engine_submit_block`
/// does where the bytes lie, part by part, before and beside the votes' checks.
fn bench_decode_loaded(c: &mut Criterion) {
    let block = Block {
        header: BlockHeader {
            slot: 1,
            parent_slot: 0,
            leader: Pubkey([1; 32]),
            unix_timestamp_ms: 0,
            blockhash: [2; 32],
        },
        transactions: (0..21_000u32)
            .map(|i| {
                let mut tx = vec![0u8; 219];
                tx[..4].copy_from_slice(&i.to_le_bytes());
                tx
            })
            .collect(),
    };
    let bytes = block.encode().expect("a loaded block encodes");
    let mut group = c.benchmark_group("ffi_engine/decode");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("loaded-block", |b| {
        b.iter(|| Block::decode(black_box(&bytes)).expect("a valid block"))
    });
    group.finish();
    let mut group = c.benchmark_group("ffi_engine/walk");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("loaded-block", |b| {
        b.iter(|| EncodedBlock::parse(black_box(&bytes)).expect("a valid block"))
    });
    group.finish();
}

fn bench_ved_hash(c: &mut Criterion, engines: &Engines) {
    let rust_slot = engines.rust_chain.borrow().last_slot();
    let c_slot = engines.c_chain.borrow().last_slot();
    engines.rust_drain(rust_slot);
    engines.c_drain(c_slot);
    let mut out = [0u8; 32];
    rust_beside_c(
        c,
        "ffi_engine/ved_hash/executed-slot",
        1,
        100,
        || {
            let waited = engines
                .rust
                .wait_hash(Domain::Ved, black_box(rust_slot), Duration::ZERO);
            assert!(matches!(waited, Ok(Waited::Hash(_))));
        },
        || {
            // SAFETY: an open engine and 32 writable bytes.
            let status = unsafe {
                tandem_engine_ved_hash(engines.c, black_box(c_slot), 0, out.as_mut_ptr())
            };
            assert_eq!(status, TANDEM_OK);
        },
    );
}

/// A temporary directory for a store, on tmpfs where there is one: the drains between bursts
/// are not timed, but they wait for the UED to commit each slot, and on a disk those commits'
/// fsyncs would make the run many times longer.
fn store_dir() -> tempfile::TempDir {
    tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .expect("a temporary directory")
}

fn benches(c: &mut Criterion) {
    // Before the engines open: their pinned threads and the PUs they take would be in the
    // figures of work that runs before the engine sees a block.
    bench_decode_loaded(c);
    let genesis = Genesis::load(genesis_path()).expect("the default genesis");
    let (rust_dir, c_dir) = (store_dir(), store_dir());
    let engines = Engines {
        rust: rust_engine(&genesis, rust_dir.path()),
        c: c_engine(c_dir.path()),
        rust_chain: RefCell::new(Chain::new(&genesis, Vec::new())),
        c_chain: RefCell::new(Chain::new(&genesis, Vec::new())),
    };
    bench_submit(c, &engines, "header-only", &[]);
    bench_submit(c, &engines, "one-vote", &[vote(&genesis)]);
    bench_ved_hash(c, &engines);
    let Engines { rust, c, .. } = engines;
    rust.finish().expect("the Rust side's engine stops cleanly");
    // SAFETY: opened above; no other thread uses it.
    unsafe { tandem_engine_close(c) };
}

criterion_group!(ffi_engine, benches);
criterion_main!(ffi_engine);
