//! Orders of events between the engine's stages that timing alone makes rare, made to happen
//! every time by holding a stage at a fail point (`tandem_engine::fail_points`; this binary
//! needs the `fail-points` feature, which `make test` turns on for it).

mod chain;

use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tandem_engine::Domain;
use tandem_engine::cluster::Alert;
use tandem_engine::fail_points::{
    self, ANSWER_AFTER_THE_INDEX, RAISE_FIRST_BEFORE_THE_HALT_FILE,
    UED_BEFORE_ITS_HASH_JOINS_THE_CLUSTER_VIEW, VED_VOTE_AFTER_A_WHOLE_BOUNDARY,
    VED_VOTE_AFTER_THE_HALT_CHECK,
};
use tandem_engine::pipeline::{Engine, EngineConfig, EngineHooks, Vote, Waited};
use tandem_engine::runtime::TxStatus;
use tandem_engine::runtime::builtins::vote::VoteInstruction;
use tandem_engine::runtime::status_index::{Confirmation, ExecutionStatus, StatusIndex};

const MINUTE: Duration = Duration::from_secs(60);

/// Waits up to a minute for `engine` to have executed `slot` in `domain`.
fn reached(engine: &Engine, domain: Domain, slot: u64) {
    let waited = engine.wait_hash(domain, slot, MINUTE);
    assert!(
        matches!(waited, Ok(Waited::Hash(_))),
        "{domain:?} {slot}: {waited:?}"
    );
}

/// The next slot from `slots` that is `slot` (within a minute), those before it skipped.
fn next_of(slots: &Receiver<u64>, slot: u64) -> Option<u64> {
    std::iter::from_fn(|| slots.recv_timeout(MINUTE).ok()).find(|&s| s == slot)
}

/// Hooks that send the slot of each block the UED commits (after its files are written).
fn noting_commits() -> (EngineHooks, Receiver<u64>) {
    let (committed, committed_rx) = channel();
    let committed = Mutex::new(committed);
    let hooks = EngineHooks {
        on_vote: None,
        on_outcome: Some(Box::new(move |o| {
            let _ = committed.lock().unwrap().send(o.slot);
        })),
        on_alert: None,
    };
    (hooks, committed_rx)
}

/// Validator `n`'s vote for `slot` reporting `ued` (its VED hash is not the local one: only the
/// UED's reports halt).
fn vote_reporting(n: usize, slot: u64, ued: Option<(u64, [u8; 32])>, recent: [u8; 32]) -> Vec<u8> {
    let node = chain::key(&format!("validator-{n}"));
    let vote_account = chain::pk(&chain::key(&format!("vote-{n}")));
    let ix = VoteInstruction::Vote {
        slot,
        ved_hash: [1; 32],
        ued,
        timestamp_ms: 0,
    };
    chain::node_instruction(&node, vote_account, ix, recent)
}

/// A UED hash no slot has.
const OTHER: [u8; 32] = [0x66; 32];

/// Empty blocks at slots 1–6, then a block at 7 carrying `votes` (given the recent blockhash).
fn six_empty_blocks_then(votes: impl FnOnce([u8; 32]) -> Vec<Vec<u8>>) -> chain::Chain {
    let mut chain = chain::Chain::new();
    for _ in 1..=6 {
        chain.block(vec![]);
    }
    let outcome = chain.block(votes(chain.recent()));
    for tx in &outcome.transactions {
        assert_eq!(tx.status, TxStatus::Success, "the votes execute");
    }
    chain
}

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
    let (hooks, committed_rx) = noting_commits();
    let engine =
        Engine::open(&chain.genesis, dir.path(), EngineConfig::default(), hooks).expect("open");
    let held = fail_points::arm(VED_VOTE_AFTER_A_WHOLE_BOUNDARY);
    for (block, _) in &chain.history {
        engine.submit(block.clone()).expect("submit");
    }
    assert!(
        held.wait_reached(MINUTE),
        "the VED reaches its vote point after the boundary at 64, which the UED runs whole"
    );
    // The UED's commit of slot 64, with its write of the confirmations, comes first.
    let slot = next_of(&committed_rx, 64);
    assert_eq!(
        slot,
        Some(64),
        "the UED commits slot 64 while the VED is held"
    );
    held.release();
    reached(&engine, Domain::Ved, 64);
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

/// What the hooks saw, in order.
#[derive(Debug, PartialEq)]
enum Hooked {
    Vote(u64),
    Alert(String),
}

impl Hooked {
    fn alert(alert: &Alert) -> Hooked {
        Hooked::Alert(match alert {
            Alert::UedDivergence(h) => format!("divergence at {}", h.slot),
            Alert::UedLagging { boundary_slot, .. } => format!("lag at {boundary_slot}"),
        })
    }
}

/// Hooks that note votes (when `votes`) and alerts in `seen`, and send on the channel
/// returned at each alert.
fn noting(seen: &Arc<Mutex<Vec<Hooked>>>, votes: bool) -> (EngineHooks, Receiver<()>) {
    let (alerted, alert_rx) = channel();
    let alerted = Mutex::new(alerted);
    let (by_vote, by_alert) = (Arc::clone(seen), Arc::clone(seen));
    let on_vote = move |v: Vote| by_vote.lock().unwrap().push(Hooked::Vote(v.slot));
    let hooks = EngineHooks {
        on_vote: votes.then(|| Box::new(on_vote) as _),
        on_outcome: None,
        on_alert: Some(Box::new(move |a| {
            by_alert.lock().unwrap().push(Hooked::alert(a));
            let _ = alerted.lock().unwrap().send(());
        })),
    };
    (hooks, alert_rx)
}

#[test]
fn the_alert_hook_gets_the_alerts_in_the_order_they_were_raised() {
    // The VED, waiting at slot 64 for a UED held at slot 1 (a patience of 1 ms), raises the
    // lag's halt first (queued for `poll_alert`) and is held before writing its file; the UED,
    // let go, raises the divergence validator 1 reported for slot 5. Before, the UED handed
    // its alert to the hook first (the VED's waited for the file's fsync): the hook's order
    // was not `poll_alert`'s, against the README's "in the order alerts are raised".
    let _serial = fail_points::serial();
    let mut chain =
        six_empty_blocks_then(|recent| vec![vote_reporting(1, 6, Some((5, OTHER)), recent)]);
    chain.enter_epoch(1);
    chain.enter_epoch(2);
    let dir = tempfile::tempdir().expect("dir");
    let seen = Arc::default();
    let (hooks, alerted) = noting(&seen, false);
    let config = EngineConfig {
        boundary_patience: Some(Duration::from_millis(1)),
        ..EngineConfig::default()
    };
    let engine = Engine::open(&chain.genesis, dir.path(), config, hooks).expect("open");
    let ued = fail_points::arm(UED_BEFORE_ITS_HASH_JOINS_THE_CLUSTER_VIEW);
    let first = fail_points::arm(RAISE_FIRST_BEFORE_THE_HALT_FILE);
    for (block, _) in &chain.history {
        engine.submit(block.clone()).expect("submit");
    }
    assert!(ued.wait_reached(MINUTE), "the UED held at slot 1");
    assert!(first.wait_reached(MINUTE), "the VED raises the lag at 64");
    ued.release();
    // The UED raises the divergence as slot 5's hash comes, before it publishes it.
    reached(&engine, Domain::Ued, 5);
    assert!(
        seen.lock().unwrap().is_empty(),
        "no alert before the first's file"
    );
    first.release();
    for _ in 0..2 {
        alerted.recv_timeout(MINUTE).expect("an alert");
    }
    let polled: Vec<Hooked> = std::iter::from_fn(|| engine.poll_alert())
        .map(|a| Hooked::alert(&a))
        .collect();
    engine.finish().expect("finish");
    assert_eq!(
        *seen.lock().unwrap(),
        polled,
        "the hook's order is poll_alert's"
    );
    assert_eq!(polled[0], Hooked::Alert("lag at 64".into()));
}

#[test]
fn no_vote_point_reaches_the_hook_after_the_halts_alert() {
    // SPEC §6: a halted engine stops producing votes. The VED finds the engine not halted at
    // slot 8's vote point and is held before its vote hook; the UED, let go, judges validator
    // 1's report for slot 5 (a third of the stake, another hash) and halts. Before, the alert
    // hook ran at once and the vote hook after it, with slot 8: a vote after the halt's
    // alert. The alert waits for the vote hook now.
    let _serial = fail_points::serial();
    let mut chain =
        six_empty_blocks_then(|recent| vec![vote_reporting(1, 6, Some((5, OTHER)), recent)]);
    chain.block(vec![]);
    let dir = tempfile::tempdir().expect("dir");
    let seen = Arc::default();
    let (hooks, alerted) = noting(&seen, true);
    let engine =
        Engine::open(&chain.genesis, dir.path(), EngineConfig::default(), hooks).expect("open");
    let ued = fail_points::arm(UED_BEFORE_ITS_HASH_JOINS_THE_CLUSTER_VIEW);
    for (block, _) in &chain.history[..7] {
        engine.submit(block.clone()).expect("submit");
    }
    assert!(ued.wait_reached(MINUTE), "the UED held at slot 1");
    reached(&engine, Domain::Ved, 7);
    let ved = fail_points::arm(VED_VOTE_AFTER_THE_HALT_CHECK);
    engine.submit(chain.history[7].0.clone()).expect("submit");
    assert!(ved.wait_reached(MINUTE), "the VED at slot 8's vote point");
    ued.release();
    reached(&engine, Domain::Ued, 5);
    assert!(engine.halted().is_some(), "halted by slot 5's reports");
    ved.release();
    alerted.recv_timeout(MINUTE).expect("the halt's alert");
    reached(&engine, Domain::Ued, 8);
    engine.finish().expect("finish");
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let votes = (1..=8).map(Hooked::Vote);
    let want: Vec<Hooked> = votes
        .chain([Hooked::Alert("divergence at 5".into())])
        .collect();
    assert_eq!(seen, want, "slot 8's vote, then the alert");
}

#[test]
fn a_confirmed_transaction_leaving_the_window_never_reads_pending() {
    // The UED moves the oldest slot the status index answers for on, then prunes the cluster
    // view below it; an answer that read the index before the one (the transaction found)
    // and the cluster view after the other found no confirmation: `Pending`, between `Final`
    // and `Unknown`, for a transaction the whole VED stake confirmed. It answers from the
    // index as it stands after the commit now.
    let _serial = fail_points::serial();
    let mut chain = chain::Chain::new();
    let one = chain.block(vec![]);
    let vote = |n: usize, slot: u64, ved_hash: [u8; 32], recent: [u8; 32]| {
        let node = chain::key(&format!("validator-{n}"));
        let vote_account = chain::pk(&chain::key(&format!("vote-{n}")));
        let ix = VoteInstruction::Vote {
            slot,
            ved_hash,
            ued: None,
            timestamp_ms: 0,
        };
        chain::node_instruction(&node, vote_account, ix, recent)
    };
    let two = chain.block(vec![vote(0, 1, one.ved_hash, chain.recent())]);
    assert_eq!(two.transactions[0].status, TxStatus::Success);
    let signature = two.transactions[0].signature.expect("signed");
    let recent = chain.recent();
    let three = chain.block((0..3).map(|n| vote(n, 2, two.ved_hash, recent)).collect());
    for tx in &three.transactions {
        assert_eq!(tx.status, TxStatus::Success);
    }
    // Slot 2 leaves the status files' window with the commit of slot 302.
    while chain.rt.slot() < 302 {
        chain.block(vec![]);
    }
    let dir = tempfile::tempdir().expect("dir");
    let (hooks, committed_rx) = noting_commits();
    let engine = Arc::new(
        Engine::open(&chain.genesis, dir.path(), EngineConfig::default(), hooks).expect("open"),
    );
    let (last, blocks) = chain.history.split_last().expect("blocks");
    for (block, _) in blocks {
        engine.submit(block.clone()).expect("submit");
    }
    assert_eq!(next_of(&committed_rx, 301), Some(301));
    let before = engine.transaction(&signature, 500).expect("answer");
    assert_eq!(before.status, ExecutionStatus::Final(TxStatus::Success));
    let held = fail_points::arm(ANSWER_AFTER_THE_INDEX);
    let asker = {
        let engine = Arc::clone(&engine);
        std::thread::spawn(move || engine.transaction(&signature, 500))
    };
    assert!(held.wait_reached(MINUTE), "the answer read the index");
    engine.submit(last.0.clone()).expect("submit");
    assert_eq!(
        next_of(&committed_rx, 302),
        Some(302),
        "committed and pruned"
    );
    held.release();
    let during = asker.join().expect("the asker").expect("answer");
    let after = engine.transaction(&signature, 500).expect("answer");
    let engine = Arc::into_inner(engine).expect("the last");
    engine.finish().expect("finish");
    assert_eq!(after.status, ExecutionStatus::Unknown);
    assert_eq!(during, after, "across the commit of slot 302");
}
