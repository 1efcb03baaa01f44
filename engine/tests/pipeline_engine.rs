//! The asynchronous engine gives the sequential runtime's results: statuses, accounts and both
//! hash chains, block by block, for any number of UED threads, across epoch boundaries (remaps,
//! moves, rewards), after a restart; and it refuses bad blocks at ingest without stopping.

mod chain;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tandem_engine::Domain;
use tandem_engine::genesis::Genesis;
use tandem_engine::ledger::Block;
use tandem_engine::pipeline::{Engine, EngineConfig, EngineError, EngineHooks, Vote};
use tandem_engine::runtime::{BlockOutcome, Runtime, RuntimeError, TxStatus};
use tandem_engine::workload::{WorkloadConfig, generate};

/// A generated ledger, with remap requests from both domains added in epoch 0 (a validator's
/// node asks to leave the VED, a user to join it: both move at the start of epoch 2), and the
/// sequential runtime's outcome of each block.
fn ledger(slots: u64, seed: u64) -> (Vec<Block>, Vec<BlockOutcome>) {
    let scratch = tempfile::tempdir().expect("dir");
    let genesis = Genesis::default_cluster();
    let mut blocks = Vec::new();
    generate(
        &genesis,
        &WorkloadConfig {
            slots,
            seed,
            transfers: 120,
            remap_pct: 5.0,
            ..WorkloadConfig::default()
        },
        scratch.path(),
        |b| {
            blocks.push(b.clone());
            Ok(())
        },
        |_| {},
    )
    .expect("generate");
    if blocks.len() > 4 {
        blocks[3]
            .transactions
            .push(chain::remap(&chain::key("validator-2"), 4, genesis.hash));
        blocks[4]
            .transactions
            .push(chain::remap(&chain::key("user-5"), 3, genesis.hash));
    }
    let dir = tempfile::tempdir().expect("dir");
    let mut runtime = Runtime::open(&genesis, dir.path()).expect("open");
    let outcomes = blocks
        .iter()
        .map(|b| runtime.execute_block(b).expect("block"))
        .collect();
    (blocks, outcomes)
}

type Seen = Arc<Mutex<(Vec<BlockOutcome>, Vec<Vote>)>>;

fn open(dir: &std::path::Path, ued_threads: usize) -> (Engine, Seen) {
    let seen: Seen = Arc::default();
    let (a, b) = (Arc::clone(&seen), Arc::clone(&seen));
    let hooks = EngineHooks {
        on_vote: Some(Box::new(move |v| a.lock().unwrap().1.push(v))),
        on_outcome: Some(Box::new(move |o| b.lock().unwrap().0.push(o.clone()))),
    };
    let config = EngineConfig {
        ued_threads,
        ued_queue_blocks: 8,
        ..EngineConfig::default()
    };
    let engine = Engine::open(&Genesis::default_cluster(), dir, config, hooks).expect("open");
    (engine, seen)
}

#[test]
fn the_engine_gives_the_sequential_results_on_any_number_of_ued_threads() {
    // 100 slots of 32-slot epochs: three boundaries, remaps requested in epoch 0 moving at 2.
    let (blocks, sequential) = ledger(100, 5);
    let statuses: Vec<TxStatus> = sequential
        .iter()
        .flat_map(|o| o.transactions.iter().map(|t| t.status))
        .collect();
    let moved = sequential[3].transactions.last().unwrap();
    assert_eq!(
        (moved.domain, moved.status),
        (Some(Domain::Ved), TxStatus::Success)
    );
    let joined = sequential[4].transactions.last().unwrap();
    assert_eq!(
        (joined.domain, joined.status),
        (Some(Domain::Ued), TxStatus::Success)
    );
    for status in [
        TxStatus::Success,
        TxStatus::DomainViolation,
        TxStatus::InvalidSignature,
        TxStatus::InsufficientFundsForFee,
    ] {
        assert!(statuses.contains(&status), "the ledger has no {status:?}");
    }
    for threads in [1, 2, 4] {
        let dir = tempfile::tempdir().expect("dir");
        let (engine, seen) = open(dir.path(), threads);
        for block in &blocks {
            engine.submit(block.clone()).expect("submit");
        }
        let summary = engine.finish().expect("finish");
        let (outcomes, votes) = std::mem::take(&mut *seen.lock().unwrap());
        assert_eq!(outcomes.len(), sequential.len(), "{threads} threads");
        for (got, want) in outcomes.iter().zip(&sequential) {
            assert!(got == want, "{threads} threads: slot {} differs", want.slot);
        }
        let vote_hashes: Vec<(u64, [u8; 32])> =
            votes.iter().map(|v| (v.slot, v.ved_hash)).collect();
        let want: Vec<(u64, [u8; 32])> = sequential.iter().map(|o| (o.slot, o.ved_hash)).collect();
        assert_eq!(vote_hashes, want, "{threads} threads: the vote points");
        let last = sequential.last().unwrap();
        assert_eq!(summary.slot, last.slot);
        assert_eq!(summary.hashes, [last.ved_hash, last.ued_hash]);
    }
}

#[test]
fn the_engine_resumes_a_store_and_reaches_the_same_hashes() {
    let (blocks, sequential) = ledger(45, 9);
    let dir = tempfile::tempdir().expect("dir");
    let (engine, _) = open(dir.path(), 2);
    for block in &blocks[..20] {
        engine.submit(block.clone()).expect("submit");
    }
    assert_eq!(
        engine.finish().expect("finish").slot,
        blocks[19].header.slot
    );
    let (engine, seen) = open(dir.path(), 2);
    assert_eq!(engine.resumed_slot(), blocks[19].header.slot);
    for block in &blocks[20..] {
        engine.submit(block.clone()).expect("submit");
    }
    let summary = engine.finish().expect("finish");
    let last = sequential.last().unwrap();
    assert_eq!(summary.hashes, [last.ved_hash, last.ued_hash]);
    let outcomes = &seen.lock().unwrap().0;
    assert!(outcomes[..] == sequential[20..]);
}

#[test]
fn a_bad_block_is_refused_at_ingest_and_the_engine_goes_on() {
    let (blocks, sequential) = ledger(6, 3);
    let dir = tempfile::tempdir().expect("dir");
    let (engine, _) = open(dir.path(), 1);
    engine.submit(blocks[0].clone()).expect("submit");
    // Not the next block.
    match engine.submit(blocks[2].clone()) {
        Err(EngineError::Rejected(RuntimeError::ParentMismatch {
            slot: 3,
            parent: 2,
            last: 1,
        })) => {}
        other => panic!("{other:?}"),
    }
    // A transaction that does not parse.
    let mut garbage = blocks[1].clone();
    garbage.transactions[3] = vec![1, 2, 3];
    match engine.submit(garbage) {
        Err(EngineError::Rejected(RuntimeError::MalformedTransaction {
            slot: 2,
            index: 3,
            ..
        })) => {}
        other => panic!("{other:?}"),
    }
    // A clock that runs backwards.
    let mut early = blocks[1].clone();
    early.header.unix_timestamp_ms -= 10_000;
    assert!(matches!(
        engine.submit(early),
        Err(EngineError::Rejected(RuntimeError::ClockViolation {
            slot: 2,
            ..
        }))
    ));
    for block in &blocks[1..] {
        engine.submit(block.clone()).expect("submit");
    }
    let last = sequential.last().unwrap();
    let wait = |d| {
        engine
            .wait_hash(d, last.slot, Duration::from_secs(60))
            .expect("no failure")
    };
    assert_eq!(wait(Domain::Ved), Some(last.ved_hash));
    assert_eq!(wait(Domain::Ued), Some(last.ued_hash));
    assert_eq!(
        engine.finish().expect("finish").hashes,
        [last.ved_hash, last.ued_hash]
    );
}

/// Executes `blocks` on a VED executor made from the store in `dir` and logs each, as the VED
/// stage does — then stops, as a crash would, with the store still at its slot.
fn log_ved_ahead(dir: &std::path::Path, blocks: &[Block]) {
    use tandem_engine::runtime::ingest::{parse_block, verify_signatures};
    use tandem_engine::runtime::ved_log::{LoggedSlot, VedLog};
    let runtime = Runtime::open(&Genesis::default_cluster(), dir).expect("open");
    let mut ved = runtime.ved_executor();
    let mut log = VedLog::new(dir);
    for block in blocks {
        let (txs, payers) = parse_block(block).expect("parses");
        let verified: Vec<Option<bool>> =
            verify_signatures(tandem_engine::runtime::Backend::Cpu, &txs)
                .expect("verify")
                .into_iter()
                .map(Some)
                .collect();
        let done = ved.execute(block, &payers, &verified).expect("VED");
        let header = &block.header;
        let record = LoggedSlot {
            parent_slot: header.parent_slot,
            blockhash: header.blockhash,
            unix_timestamp_ms: header.unix_timestamp_ms,
            ved: done,
        };
        log.append(&record).expect("log");
    }
}

#[test]
fn after_a_crash_the_ved_resumes_from_its_own_log_and_the_ued_catches_up() {
    // The store commits slot 20; the VED had executed and logged up to slot 30 (a crash stops
    // it there). Reopened, the VED starts at 30 without executing 21..30 again, the UED catches
    // up from the log as the blocks are submitted again, and everything equals the sequential
    // runtime. A torn record at the log's end (a crash mid-append) is cut off.
    let (blocks, sequential) = ledger(31, 4);
    let dir = tempfile::tempdir().expect("dir");
    let (engine, _) = open(dir.path(), 1);
    for block in &blocks[..20] {
        engine.submit(block.clone()).expect("submit");
    }
    assert_eq!(engine.finish().expect("finish").slot, 20);
    log_ved_ahead(dir.path(), &blocks[20..30]);
    let segment = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("ved-"))
        .max()
        .expect("a log segment");
    let mut torn = std::fs::OpenOptions::new()
        .append(true)
        .open(&segment)
        .unwrap();
    std::io::Write::write_all(&mut torn, &[200, 1, 0, 0, 0, 0, 0, 0, 9, 9]).unwrap();
    drop(torn);

    let (engine, seen) = open(dir.path(), 2);
    assert_eq!(engine.resumed_slot(), 20);
    assert_eq!(engine.ved_resumed_slot(), 30);
    for block in &blocks[20..] {
        engine.submit(block.clone()).expect("submit");
    }
    let summary = engine.finish().expect("finish");
    let last = sequential.last().unwrap();
    assert_eq!(summary.hashes, [last.ved_hash, last.ued_hash]);
    let (outcomes, votes) = &*seen.lock().unwrap();
    assert!(
        outcomes[..] == sequential[20..],
        "the UED caught up from the log"
    );
    let points: Vec<(u64, [u8; 32])> = votes.iter().map(|v| (v.slot, v.ved_hash)).collect();
    let want: Vec<(u64, [u8; 32])> = sequential[20..]
        .iter()
        .map(|o| (o.slot, o.ved_hash))
        .collect();
    assert_eq!(points, want, "the vote points, logged ones included");
    // And the log reads cleanly once more.
    drop(summary);
    let (engine, _) = open(dir.path(), 1);
    assert_eq!((engine.resumed_slot(), engine.ved_resumed_slot()), (31, 31));
    engine.finish().expect("finish");
}

#[test]
fn a_block_other_than_the_one_the_ved_logged_stops_the_engine_naming_it() {
    let (blocks, _) = ledger(8, 6);
    let dir = tempfile::tempdir().expect("dir");
    let (engine, _) = open(dir.path(), 1);
    engine.submit(blocks[0].clone()).expect("submit");
    engine.finish().expect("finish");
    log_ved_ahead(dir.path(), &blocks[1..4]);
    let (engine, _) = open(dir.path(), 1);
    let mut other = blocks[1].clone();
    other.header.blockhash = [0xab; 32];
    engine.submit(other).expect("the header follows");
    let wait = engine.wait_hash(Domain::Ved, 2, Duration::from_secs(60));
    let message = match (wait, engine.finish()) {
        (Err(e), _) | (_, Err(e)) => e.to_string(),
        other => panic!("the engine went on: {:?}", other.0),
    };
    assert!(
        message.contains("block 2") && message.contains("logged"),
        "{message}"
    );
}
