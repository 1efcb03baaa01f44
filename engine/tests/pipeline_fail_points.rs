//! Orders of events between the engine's stages that timing alone makes rare, made to happen
//! every time by holding a stage at a fail point (`tandem_engine::fail_points`; this binary
//! needs the `fail-points` feature, which `make test` turns on for it).

mod chain;

use std::sync::Mutex;
use std::time::Duration;

use tandem_engine::Domain;
use tandem_engine::fail_points::{self, VED_VOTE_AFTER_A_WHOLE_BOUNDARY};
use tandem_engine::pipeline::{Engine, EngineConfig, EngineHooks, Waited};
use tandem_engine::runtime::TxStatus;
use tandem_engine::runtime::builtins::vote::VoteInstruction;
use tandem_engine::runtime::status_index::{Confirmation, StatusIndex};

/// A chain whose boundary at slot 64 the UED executes whole: validator 1's vote account is
/// deactivated in epoch 1 (its node leaves the VED at 64 by membership), and a UED vote
/// account naming that node as its fee payer is made in the blocks after the UED's handoff of
/// epoch 1, so whether the node stays is the UED's state at the end of the epoch (SPEC §5).
fn a_chain_whose_boundary_at_64_the_ued_executes_whole() -> chain::Chain {
    let mut chain = chain::Chain::new();
    chain.block(vec![]);
    chain.enter_epoch(1);
    let (node_1, user_2) = (chain::key("validator-1"), chain::key("user-2"));
    let names = (chain::pk(&user_2), chain::pk(&node_1));
    let stake = 6_000 * chain::SOL;
    let recent = chain.recent();
    let make_v = chain::vote_account_for(&user_2, &chain::fresh(41), names, stake, true, recent);
    let made = chain.block_at(40, make_v);
    let vote_1 = chain::pk(&chain::key("vote-1"));
    let deactivate = VoteInstruction::Deactivate;
    let deactivate = chain::node_instruction(&node_1, vote_1, deactivate, chain.recent());
    let deactivated = chain.block_at(42, vec![deactivate]);
    for outcome in [&made, &deactivated] {
        for tx in &outcome.transactions {
            assert_eq!(tx.status, TxStatus::Success, "slot {}", outcome.slot);
        }
    }
    chain.block_at(63, vec![]);
    chain.enter_epoch(2);
    chain
}

#[test]
fn the_confirmations_stored_at_the_end_hold_the_veds_vote_point_after_a_boundary_run_whole() {
    // The UED answers the boundary block at slot 64, which it executes whole, commits it and
    // writes `agreement.idx`; the VED, held before its vote point, feeds the cluster view
    // slot 64's hash (and its votes) only after that write. The stored confirmations must
    // still hold it when the engine stops: they are what a store whose vote log is gone
    // answers from. Before, the file lacked the slot where the UED's write came first (3 of
    // 16 resumed runs in review).
    let _serial = fail_points::serial();
    let chain = a_chain_whose_boundary_at_64_the_ued_executes_whole();
    let dir = tempfile::tempdir().expect("dir");
    let (committed, committed_rx) = std::sync::mpsc::channel();
    let committed = Mutex::new(committed);
    let hooks = EngineHooks {
        on_vote: None,
        on_outcome: Some(Box::new(move |o| {
            let _ = committed.lock().unwrap().send(o.slot);
        })),
        on_alert: None,
    };
    let engine =
        Engine::open(&chain.genesis, dir.path(), EngineConfig::default(), hooks).expect("open");
    let held = fail_points::arm(VED_VOTE_AFTER_A_WHOLE_BOUNDARY);
    for (block, _) in &chain.history {
        engine.submit(block.clone()).expect("submit");
    }
    assert!(
        held.wait_reached(Duration::from_secs(60)),
        "the VED reaches its vote point after the boundary at 64, which the UED runs whole"
    );
    // The UED's commit of slot 64, with its write of the confirmations, comes first.
    let slot = std::iter::from_fn(|| committed_rx.recv_timeout(Duration::from_secs(60)).ok())
        .find(|&slot| slot == 64);
    assert_eq!(
        slot,
        Some(64),
        "the UED commits slot 64 while the VED is held"
    );
    held.release();
    let waited = engine.wait_hash(Domain::Ved, 64, Duration::from_secs(60));
    assert!(matches!(waited, Ok(Waited::Hash(_))), "{waited:?}");
    let (stake, total) = engine.agreement(Domain::Ved, 64);
    assert!(total > 0, "the VED's stake at slot 64");
    engine.finish().expect("finish");
    let stored = StatusIndex::load(dir.path(), 64).expect("the status index");
    assert_eq!(
        stored.confirmation(Domain::Ved, 64),
        Some(Confirmation { stake, total }),
        "agreement.idx holds the VED's vote point of slot 64"
    );
}
