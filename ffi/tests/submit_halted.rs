//! `tandem_engine_submit_block`'s Rust side where something else is wrong too: bytes that are
//! not one block are refused as such (`TANDEM_ERR_INVALID_ARGUMENT`) wherever the fault lies —
//! also past the first part the engine walks before the rest — on an engine that has halted
//! (SPEC §6; a sound block gets `TANDEM_ERR_HALTED`) and where the block's header breaks
//! SPEC §4 as well (a block sent again, say; a sound one gets `TANDEM_ERR_REJECTED`).

use std::time::Duration;

use ::tandem_engine::Domain;
use ::tandem_engine::genesis::Genesis;
use ::tandem_engine::ledger::Block;
use ::tandem_engine::ledger::{BLOCK_HEADER_LEN, MAX_TRANSACTION_LEN};
use ::tandem_engine::pipeline::{Engine, EngineConfig, EngineHooks};
use ::tandem_engine::workload::{WorkloadConfig, generate_all};
use tandem::engine::submit_block;
use tandem::{TANDEM_ERR_HALTED, TANDEM_ERR_INVALID_ARGUMENT, TANDEM_ERR_REJECTED};

#[test]
fn a_halted_engine_refuses_bytes_broken_past_their_count_as_not_one_block() {
    // This validator's UED computes other hashes than the cluster's from slot 5 on; the votes
    // of the slots after it report the cluster's, and the engine halts.
    let genesis = Genesis::default_cluster();
    let scratch = tempfile::tempdir().expect("dir");
    let config = WorkloadConfig {
        slots: 9,
        seed: 8,
        transfers: 120,
        remap_pct: 5.0,
        ..WorkloadConfig::default()
    };
    let (blocks, _) = generate_all(&genesis, &config, scratch.path()).expect("generated");
    let dir = tempfile::tempdir().expect("dir");
    let faulty = EngineConfig {
        inject_ued_fault_from: Some(5),
        ..EngineConfig::default()
    };
    let engine = Engine::open(&genesis, dir.path(), faulty, EngineHooks::default()).expect("open");
    for block in &blocks[..8] {
        engine.submit(block.clone()).expect("submit");
    }
    engine
        .wait_hash(Domain::Ued, 8, Duration::from_secs(60))
        .expect("no failure");
    assert!(engine.halted().is_some(), "the engine halted");

    let bytes = blocks[8].encode().expect("encodes");
    refused_as_not_one_block(&engine, &blocks[8], &bytes);
    let halted = submit_block(&engine, &bytes).expect_err("halted");
    assert_eq!(halted.code, TANDEM_ERR_HALTED, "{}", halted.message);
    drop(engine.finish().expect("a halt is not a failure"));
}

#[test]
fn bytes_not_one_block_are_refused_as_such_before_their_headers_check() {
    let genesis = Genesis::default_cluster();
    let scratch = tempfile::tempdir().expect("dir");
    let config = WorkloadConfig {
        slots: 3,
        seed: 9,
        transfers: 120,
        ..WorkloadConfig::default()
    };
    let (blocks, _) = generate_all(&genesis, &config, scratch.path()).expect("generated");
    let dir = tempfile::tempdir().expect("dir");
    let engine = Engine::open(
        &genesis,
        dir.path(),
        EngineConfig::default(),
        EngineHooks::default(),
    )
    .expect("open");
    for block in &blocks[..2] {
        submit_block(&engine, &block.encode().expect("encodes")).expect("submit");
    }
    // The last block again: its slot is not after the last one.
    let again = &blocks[1];
    let bytes = again.encode().expect("encodes");
    refused_as_not_one_block(&engine, again, &bytes);
    let rejected = submit_block(&engine, &bytes).expect_err("sent again");
    assert_eq!(rejected.code, TANDEM_ERR_REJECTED, "{}", rejected.message);
    submit_block(&engine, &blocks[2].encode().expect("encodes")).expect("the next block");
    engine
        .wait_hash(Domain::Ued, 3, Duration::from_secs(60))
        .expect("executed");
    drop(engine.finish().expect("stops"));
}

/// `block`'s encoding `bytes` broken two ways — the last transaction's length past the limit,
/// a byte after the block — each refused by `engine` as not one block.
fn refused_as_not_one_block(engine: &Engine, block: &Block, bytes: &[u8]) {
    let last = block.transactions.len() - 1;
    let field = BLOCK_HEADER_LEN
        + 4
        + block
            .transactions
            .iter()
            .take(last)
            .map(|w| 4 + w.len())
            .sum::<usize>();
    let mut oversized = bytes.to_vec();
    oversized[field..field + 4].copy_from_slice(&(MAX_TRANSACTION_LEN as u32 + 1).to_le_bytes());
    let mut trailing = bytes.to_vec();
    trailing.push(0);
    for broken in [&oversized, &trailing] {
        let refused = submit_block(engine, broken).expect_err("not one block");
        assert_eq!(
            refused.code, TANDEM_ERR_INVALID_ARGUMENT,
            "{}",
            refused.message
        );
        assert!(
            refused.message.starts_with("block: "),
            "{}",
            refused.message
        );
    }
}
