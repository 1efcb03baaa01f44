//! The asynchronous engine gives the sequential runtime's results: statuses, accounts and both
//! hash chains, block by block, for any number of UED threads, across epoch boundaries (remaps,
//! moves, rewards), after a restart; and it refuses bad blocks at ingest without stopping.

mod chain;

use std::sync::{Arc, Mutex};

use std::time::{Duration, Instant};

use tandem_engine::Domain;
use tandem_engine::account::Mapping;
use tandem_engine::cluster::Alert;
use tandem_engine::genesis::Genesis;
use tandem_engine::ledger::Block;
use tandem_engine::pipeline::{
    Engine, EngineConfig, EngineError, EngineHooks, Failure, Vote, Waited,
};
use tandem_engine::runtime::builtins::vote::VoteInstruction;
use tandem_engine::runtime::executor::{EpochHandoff, VedSlot};
use tandem_engine::runtime::{BlockOutcome, Runtime, RuntimeError, TxStatus};
use tandem_engine::tx::Transaction;
use tandem_engine::workload::WorkloadConfig;

/// A generated ledger, with remap requests from both domains added in epoch 0 (a validator's
/// node asks to leave the VED, a user to join it: both move at the start of epoch 2), and the
/// sequential runtime's outcome of each block.
fn ledger(slots: u64, seed: u64) -> (Vec<Block>, Vec<BlockOutcome>) {
    generated(slots, seed, true)
}

/// A generated ledger — with the remap requests of [`ledger`] added when `edit` (the votes then
/// carry the generator's hashes, no longer the ledger's) — and its sequential outcomes.
fn generated(slots: u64, seed: u64, edit: bool) -> (Vec<Block>, Vec<BlockOutcome>) {
    let remaps: &[(&str, u8)] = if edit {
        &[("validator-2", 4), ("user-5", 3)]
    } else {
        &[]
    };
    generated_with(slots, seed, 5.0, edit, remaps)
}

/// A generated ledger whose user transactions are `remap_pct` % remap requests; when `edit`,
/// the votes report no UED hash and `remaps` (key name, target mapping) are requested in
/// blocks 4, 5, … (epoch 0: they move at the start of epoch 2). With its sequential outcomes.
fn generated_with(
    slots: u64,
    seed: u64,
    remap_pct: f64,
    edit: bool,
    remaps: &[(&str, u8)],
) -> (Vec<Block>, Vec<BlockOutcome>) {
    generated_with_transfers(slots, seed, 120, remap_pct, edit, remaps)
}

/// [`generated_with`], with `transfers` user transfers a slot.
fn generated_with_transfers(
    slots: u64,
    seed: u64,
    transfers: usize,
    remap_pct: f64,
    edit: bool,
    remaps: &[(&str, u8)],
) -> (Vec<Block>, Vec<BlockOutcome>) {
    let genesis = Genesis::default_cluster();
    let config = WorkloadConfig {
        slots,
        seed,
        transfers,
        remap_pct,
        ..WorkloadConfig::default()
    };
    let (mut blocks, _) = chain::generated_blocks(&genesis, &config);
    if edit {
        // The edits change the chain's hashes from the generator's, so the votes would report
        // other UED hashes than these blocks give (and halt the engine, SPEC §6): they report
        // none instead.
        for block in &mut blocks {
            for n in 0..4 {
                if let Some(edited) = with_vote_ued(block, n, |_| None) {
                    *block = edited;
                }
            }
        }
    }
    if edit {
        for (i, &(name, target)) in remaps.iter().enumerate() {
            blocks[3 + i]
                .transactions
                .push(chain::remap(&chain::key(name), target, genesis.hash));
        }
    }
    let outcomes = sequential_outcomes(&blocks);
    (blocks, outcomes)
}

/// The sequential runtime's outcome of each block.
fn sequential_outcomes(blocks: &[Block]) -> Vec<BlockOutcome> {
    let dir = tempfile::tempdir().expect("dir");
    let mut runtime = Runtime::open(&Genesis::default_cluster(), dir.path()).expect("open");
    blocks
        .iter()
        .map(|b| runtime.execute_block(b).expect("block"))
        .collect()
}

/// Once the UED has committed `slot`: the epoch boundaries the VED crossed alone, and its
/// waits at boundaries.
fn crossings_by(engine: &Engine, slot: u64) -> (u64, u64) {
    engine
        .wait_hash(Domain::Ued, slot, Duration::from_secs(60))
        .expect("no failure");
    let metrics = engine.metrics().snapshot();
    (metrics.boundaries_crossed_alone, metrics.boundary_waits)
}

/// The domain and status of a block's last transaction.
fn last_tx(outcome: &BlockOutcome) -> (Option<Domain>, TxStatus) {
    let tx = outcome.transactions.last().expect("a transaction");
    (tx.domain, tx.status)
}

type Seen = Arc<Mutex<(Vec<BlockOutcome>, Vec<Vote>)>>;

fn open(dir: &std::path::Path, ued_threads: usize) -> (Engine, Seen) {
    let seen: Seen = Arc::default();
    let (a, b) = (Arc::clone(&seen), Arc::clone(&seen));
    let hooks = EngineHooks {
        on_vote: Some(Box::new(move |v| a.lock().unwrap().1.push(v))),
        on_outcome: Some(Box::new(move |o| b.lock().unwrap().0.push(o.clone()))),
        on_alert: None,
    };
    let config = EngineConfig {
        ued_threads,
        ued_queue_blocks: 8,
        ..EngineConfig::default()
    };
    let engine = Engine::open(&Genesis::default_cluster(), dir, config, hooks).expect("open");
    (engine, seen)
}

/// An engine of the default cluster and configuration with `hooks`.
fn open_with_hooks(dir: &std::path::Path, hooks: EngineHooks) -> Engine {
    Engine::open(
        &Genesis::default_cluster(),
        dir,
        EngineConfig::default(),
        hooks,
    )
    .expect("open")
}

#[test]
fn the_engine_gives_the_sequential_results_on_any_number_of_ued_threads() {
    // 100 slots of 32-slot epochs: three boundaries, remaps requested in epoch 0 moving at 2.
    let (blocks, sequential) = ledger(100, 5);
    let statuses: Vec<TxStatus> = sequential
        .iter()
        .flat_map(|o| o.transactions.iter().map(|t| t.status))
        .collect();
    assert_eq!(
        last_tx(&sequential[3]),
        (Some(Domain::Ved), TxStatus::Success)
    );
    assert_eq!(
        last_tx(&sequential[4]),
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
fn blocks_decoded_into_the_buffers_of_blocks_before_give_the_same_results() {
    let (blocks, sequential) = ledger(40, 11);
    let dir = tempfile::tempdir().expect("dir");
    let (engine, seen) = open(dir.path(), 2);
    let mut reused = 0;
    for (n, block) in blocks.iter().enumerate() {
        // A buffer comes back once the engine is done with its block: soon after the UED
        // committed it (the VED keeps the blocks of a boundary until the next block).
        if let Some(before) = n.checked_sub(2).map(|k| &sequential[k]) {
            let waited = engine.wait_hash(Domain::Ued, before.slot, Duration::from_secs(60));
            assert_eq!(waited.expect("no failure").hash(), Some(before.ued_hash));
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        let spare = loop {
            let spare = engine.spare_transactions();
            if spare.byte_capacity() > 0 || n < 2 || Instant::now() > deadline {
                break spare;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let room = spare.byte_capacity();
        reused += usize::from(room > 0);
        assert!(spare.is_empty(), "a spare holds no transactions");
        let decoded =
            Block::decode_into(&block.encode().expect("encodes"), spare).expect("decodes");
        assert_eq!(&decoded, block);
        if room >= block.transactions.total_bytes() {
            assert_eq!(
                decoded.transactions.byte_capacity(),
                room,
                "decoded in the spare"
            );
        }
        engine.submit(decoded).expect("submit");
    }
    assert!(reused >= blocks.len() / 2, "{reused} buffers reused");
    let summary = engine.finish().expect("finish");
    let outcomes = std::mem::take(&mut seen.lock().unwrap().0);
    assert!(
        outcomes == sequential,
        "the outcomes of blocks in reused buffers"
    );
    let last = sequential.last().unwrap();
    assert_eq!(summary.hashes, [last.ved_hash, last.ued_hash]);
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
            logged: None,
        })) => {}
        other => panic!("{other:?}"),
    }
    // A transaction that does not parse.
    let mut garbage = blocks[1].clone();
    garbage.transactions.replace(3, [1, 2, 3]);
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
            .hash()
    };
    assert_eq!(wait(Domain::Ved), Some(last.ved_hash));
    assert_eq!(wait(Domain::Ued), Some(last.ued_hash));
    // Reads come from the UED's committed state, with its slot.
    let user = chain::pk(&chain::key("user-0"));
    let (slot, account) = engine.account(&user).expect("a read");
    assert_eq!(slot, last.slot);
    assert!(account.is_some_and(|a| a.pubkey == user && a.lamports > 0));
    assert_eq!(
        engine
            .account(&tandem_engine::Pubkey([0xfe; 32]))
            .expect("a read")
            .1,
        None
    );
    assert_eq!(
        engine.finish().expect("finish").hashes,
        [last.ved_hash, last.ued_hash]
    );
}

/// Executes `blocks` on a VED executor made from the store in `dir` and logs each, as the VED
/// stage does — crossing an epoch boundary on its own, with `slashes` (block index, vote
/// account, basis points) scheduled with their blocks, and going over each block after its
/// vote point — then stops, as a crash would, with the store still at its slot.
fn log_ved_ahead(dir: &std::path::Path, blocks: &[Block]) {
    log_ved_ahead_with(dir, blocks, &[], None);
}

/// [`log_ved_ahead`]; `handoff`: the UED's handoff of the epoch the VED crossed into, taken
/// after the block of that index (the VED goes over the blocks it kept meanwhile then, as its
/// stage does; without one it goes over none after a boundary).
fn log_ved_ahead_with(
    dir: &std::path::Path,
    blocks: &[Block],
    slashes: &[(usize, tandem_engine::Pubkey, u16)],
    handoff: Option<(usize, EpochHandoff)>,
) {
    use tandem_engine::runtime::ved_log::{LoggedSlot, VedLog};
    let runtime = Runtime::open(&Genesis::default_cluster(), dir).expect("open");
    let mut ahead = VedAhead::new(runtime.ved_executor());
    let mut log = VedLog::new(dir);
    for (i, block) in blocks.iter().enumerate() {
        let with: Vec<_> = slashes
            .iter()
            .filter(|(at, ..)| *at == i)
            .map(|&(_, key, bps)| (key, bps))
            .collect();
        ahead.ved.schedule_slashes(&with);
        let handoff = handoff.as_ref().filter(|(at, _)| *at == i);
        let done = ahead.step(block, handoff.map(|(_, h)| h.clone()));
        log.append(&LoggedSlot::of(&block.header, done, ahead.ved.ved_stake()))
            .expect("log");
    }
}

/// A VED executor driven block by block as the VED stage drives it, outside an engine.
struct VedAhead {
    ved: tandem_engine::runtime::executor::VedExecutor,
    /// The blocks executed and not gone over yet, with the blockhashes check 3 accepted in each.
    kept: Vec<(Block, std::collections::VecDeque<[u8; 32]>)>,
}

impl VedAhead {
    fn new(ved: tandem_engine::runtime::executor::VedExecutor) -> VedAhead {
        VedAhead {
            ved,
            kept: Vec::new(),
        }
    }

    /// Executes `block` — crossing an epoch boundary on its own — and, after its vote point,
    /// takes `handoff` and goes over the blocks kept once the executor knows its epoch's
    /// handoff: the slot as its record in the VED log keeps it.
    fn step(&mut self, block: &Block, handoff: Option<EpochHandoff>) -> VedSlot {
        use tandem_engine::runtime::ingest::parse_block;
        let ved = &mut self.ved;
        if ved.crosses_boundary(block) {
            assert!(ved.enter_epoch(block.header.slot).expect("enter"), "alone");
        }
        let recent = ved.recent_blockhashes().clone();
        let mut done = chain::ved_executes(ved, block);
        // After the vote point, as the VED stage does.
        self.kept.push((block.clone(), recent));
        if let Some(handoff) = handoff {
            ved.receive_handoff(handoff).expect("handoff");
        }
        if ved.knows_incoming() {
            for (block, recent) in self.kept.drain(..) {
                let (_, payers) = parse_block(&block).expect("parses");
                ved.go_over(&block, &payers, &recent).expect("gone over");
            }
        }
        ved.finish_going_over(&mut done);
        done
    }
}

#[test]
fn a_slash_of_an_account_that_stopped_being_a_vote_account_is_dropped_as_the_runtime_drops_it() {
    // Slot 1 makes a vote account V of 10,000 lamports; slot 2 drains it with two failing
    // transactions it pays for (it is deleted); a slash of V rides slot 3 — the engine checked
    // V when the UED had committed slot 1 only (here: taken from the VED's log, as a restart
    // finds it). The runtime refuses a slash of V before slot 3; the engine's UED failed, and
    // the engine stopped. It drops the slash now, and gives the runtime's results.
    use tandem_engine::runtime::builtins::system::SystemInstruction;
    use tandem_engine::runtime::builtins::vote::{VOTE_STATE_LEN, VoteInstruction};
    use tandem_engine::sample::{SYSTEM_PROGRAM_ID, vote_program_id};
    use tandem_engine::tx::AccountMeta;
    let mut c = chain::Chain::new();
    let (user, v) = (chain::key("user-0"), chain::fresh(77));
    let (user_pk, v_pk) = (chain::pk(&user), chain::pk(&v));
    let create = chain::tx(
        &[&user, &v],
        SYSTEM_PROGRAM_ID,
        &[
            AccountMeta::new(user_pk, true),
            AccountMeta::new(v_pk, true),
        ],
        &SystemInstruction::CreateAccount {
            lamports: 10_000,
            space: VOTE_STATE_LEN as u64,
            owner: vote_program_id(),
        }
        .encode(),
        c.recent(),
    );
    let initialize = chain::tx(
        &[&user],
        vote_program_id(),
        &[
            AccountMeta::new(v_pk, false),
            AccountMeta::new_readonly(user_pk, true),
        ],
        &VoteInstruction::InitializeAccount {
            node: user_pk,
            authorized_voter: user_pk,
            fee_payer: user_pk,
        }
        .encode(),
        c.recent(),
    );
    c.block(vec![create, initialize]);
    assert_eq!(c.account(&v_pk).map(|a| a.owner), Some(vote_program_id()));
    let paid_by_v = |lamports: u64, recent: [u8; 32]| {
        chain::tx(
            &[&v],
            SYSTEM_PROGRAM_ID,
            &[
                AccountMeta::new(v_pk, true),
                AccountMeta::new(user_pk, false),
            ],
            &SystemInstruction::Transfer { lamports }.encode(),
            recent,
        )
    };
    c.block(vec![paid_by_v(1, c.recent()), paid_by_v(2, c.recent())]);
    assert_eq!(c.account(&v_pk), None, "drained by its fees");
    assert!(
        c.rt.schedule_slash(v_pk, 100).is_err(),
        "the runtime refuses"
    );
    c.block(vec![]);
    let (blocks, sequential): (Vec<Block>, Vec<BlockOutcome>) = c.history.iter().cloned().unzip();

    let dir = tempfile::tempdir().expect("dir");
    let (engine, _) = open(dir.path(), 1);
    engine.submit(blocks[0].clone()).expect("submit");
    assert_eq!(engine.finish().expect("finish").slot, 1);
    log_ved_ahead_with(dir.path(), &blocks[1..], &[(1, v_pk, 100)], None);
    let (engine, seen) = open(dir.path(), 1);
    for block in &blocks[1..] {
        engine.submit(block.clone()).expect("submit");
    }
    let summary = engine.finish().expect("the engine goes on");
    let last = sequential.last().unwrap();
    assert_eq!(summary.hashes, [last.ved_hash, last.ued_hash]);
    assert!(seen.lock().unwrap().0[..] == sequential[1..]);
}

#[test]
fn after_a_crash_the_ved_resumes_from_its_own_log_and_the_ued_catches_up() {
    // The store commits slot 20; the VED had executed and logged up to slot 30 (a crash stops
    // it there). Reopened, the VED starts at 30 without executing 21..30 again, the UED catches
    // up from the log as the blocks are submitted again, and everything equals the sequential
    // runtime. A torn record at the log's end (a crash mid-append) is cut off.
    let (blocks, sequential) = ledger(31, 4);
    let dir = committed_through(&blocks, 20);
    log_ved_ahead(dir.path(), &blocks[20..30]);
    let segment = tandem_engine::runtime::ved_log::VedLog::segments(dir.path())
        .unwrap()
        .pop()
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
    engine
        .wait_hash(Domain::Ued, 31, Duration::from_secs(60))
        .expect("no failure");
    // Only slot 31 was voted on in this process: the logged ones are no time-to-vote, and
    // their VED transactions count as the statuses reported do.
    let metrics = engine.metrics().snapshot();
    assert_eq!(
        metrics.time_to_vote.count, 1,
        "time-to-vote of slot 31 alone"
    );
    assert_eq!(
        metrics.vote_path.steps().map(|(_, s)| s.count),
        [1; 3],
        "the vote path's steps of slot 31 alone"
    );
    let ved_statuses = sequential[20..]
        .iter()
        .flat_map(|o| &o.transactions)
        .filter(|t| t.domain == Some(Domain::Ved))
        .count() as u64;
    assert_eq!(metrics.ved_transactions, ved_statuses);
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
    let paths: Vec<(u64, bool)> = votes.iter().map(|v| (v.slot, v.path.is_some())).collect();
    let want: Vec<(u64, bool)> = (21..=31).map(|slot| (slot, slot == 31)).collect();
    assert_eq!(
        paths, want,
        "the steps of the slot executed in this process alone"
    );
    // And the log reads cleanly once more.
    drop(summary);
    let (engine, _) = open(dir.path(), 1);
    assert_eq!((engine.resumed_slot(), engine.ved_resumed_slot()), (31, 31));
    engine.finish().expect("finish");
}

/// An engine (one UED thread) on a store committed through block 20 of a ledger of `slots`
/// slots of `seed`, whose VED had logged blocks 21..=30 ahead of it: the blocks, their
/// sequential outcomes, the store and the engine.
fn resumed_at_20_with_the_ved_at_30(
    slots: u64,
    seed: u64,
) -> (Vec<Block>, Vec<BlockOutcome>, tempfile::TempDir, Engine) {
    let (blocks, sequential) = ledger(slots, seed);
    let dir = committed_through(&blocks, 20);
    log_ved_ahead(dir.path(), &blocks[20..30]);
    let (engine, _) = open(dir.path(), 1);
    (blocks, sequential, dir, engine)
}

#[test]
fn a_stopped_engine_leaves_no_ved_log_segment_its_store_has_passed() {
    // Resumed with the VED ahead (slots 21..30 logged in ved-21.log), the VED's segments start
    // at 31 and 95 while the prunes, a segment's worth of slots apart, came at the commits of
    // 21 and 85: the engine stopped at 100 left ved-31.log, all of whose slots it had passed.
    let (blocks, sequential, dir, engine) = resumed_at_20_with_the_ved_at_30(100, 6);
    for block in &blocks[20..] {
        engine.submit(block.clone()).expect("submit");
    }
    let summary = engine.finish().expect("finish");
    let last = sequential.last().unwrap();
    assert_eq!(summary.hashes, [last.ved_hash, last.ued_hash]);
    let segments = tandem_engine::runtime::ved_log::VedLog::segments(dir.path()).unwrap();
    let names: Vec<_> = segments
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["ved-95.log"], "the segment of the last slots alone");
}

#[test]
fn a_block_after_the_veds_logged_ones_too_soon_is_refused_saying_which_come_again() {
    // Resumed with the store at 20 and the VED's log at 30 (`ved_slot` 30 in the metrics), a
    // host going on with slot 31 was told only "the last executed slot is 20".
    let (blocks, sequential, _dir, engine) = resumed_at_20_with_the_ved_at_30(31, 4);
    // At once, and after five of the logged blocks came again (the review of the first fix
    // found it saying the engine resumed at 25).
    for (from, last) in [(20, 20), (20, 25)] {
        for block in &blocks[from..last] {
            engine.submit(block.clone()).expect("submit");
        }
        let refused = engine.submit(blocks[30].clone());
        match &refused {
            Err(EngineError::Rejected(RuntimeError::ParentMismatch {
                slot: 31,
                parent: 30,
                last: l,
                logged: Some(30),
            })) if *l == last as u64 => {}
            other => panic!("{other:?}"),
        }
        let text = refused.unwrap_err().to_string();
        let next = format!("come again, from slot {}:", last + 1);
        assert!(
            text.contains("through slot 30") && text.contains(&next),
            "{text}"
        );
    }
    for block in &blocks[25..] {
        engine.submit(block.clone()).expect("submit");
    }
    let summary = engine.finish().expect("finish");
    let last = sequential.last().unwrap();
    assert_eq!(summary.hashes, [last.ved_hash, last.ued_hash]);
}

#[test]
fn a_ved_log_over_another_history_than_the_stores_is_refused() {
    // The engine stopped with the store at slot 5 and the VED logged through 10. A sequential
    // runtime (`tandem replay --store`) then executed another slot 6 (validator 0's vote
    // alone) and slot 7: the log's slots 8..10 follow slot 7 by number, but their VED hashes
    // chain from the first history's. Resuming over them gave slot 8 the VED hash of a block
    // the store never executed; the engine refuses, naming them.
    let (blocks, _) = ledger(10, 4);
    let dir = committed_through(&blocks, 5);
    log_ved_ahead(dir.path(), &blocks[5..10]);
    let other_6 = with_validator_0_voting_alone(&blocks[5]);
    let mut runtime = Runtime::open(&Genesis::default_cluster(), dir.path()).expect("open");
    for block in [&other_6, &blocks[6]] {
        runtime
            .execute_block(block)
            .expect("the other history executes");
    }
    drop(runtime);
    let opened = Engine::open(
        &Genesis::default_cluster(),
        dir.path(),
        EngineConfig::default(),
        EngineHooks::default(),
    );
    let err = opened.err().expect("refused");
    let message = err.to_string();
    assert!(
        message.contains("slot 8 was logged over another history of slot 7"),
        "{message}"
    );
}

/// `blocks` executed by the sequential runtime with `slash` (block index, vote account, basis
/// points) scheduled before its block: the outcomes, and the runtime after them with the
/// directory of its store.
fn sequential_with_a_slash(
    blocks: &[Block],
    (at, vote_account, bps): (usize, tandem_engine::Pubkey, u16),
) -> (Vec<BlockOutcome>, Runtime, tempfile::TempDir) {
    let scratch = tempfile::tempdir().expect("dir");
    let mut runtime = Runtime::open(&Genesis::default_cluster(), scratch.path()).expect("open");
    let mut sequential = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        if i == at {
            runtime.schedule_slash(vote_account, bps).expect("slash");
        }
        sequential.push(runtime.execute_block(block).expect("block"));
    }
    (sequential, runtime, scratch)
}

#[test]
fn a_ved_logged_past_an_epoch_boundary_resumes_there_with_the_slashes_it_took() {
    // The store commits slot 28; the VED had crossed into epoch 1 on its own and logged up to
    // slot 40, with a slash of vote-0 scheduled with slot 30 (before the crash, so it is in the
    // log, not in the store). Reopened, the VED crosses the boundary again from its log, the
    // UED applies the logged slash at slot 32 — the blocks submitted again carry none — and
    // everything equals the sequential runtime.
    let (blocks, _) = ledger(45, 4);
    let vote_0 = chain::pk(&chain::key("vote-0"));
    let (sequential, ..) = sequential_with_a_slash(&blocks, (29, vote_0, 2_500));
    let dir = committed_through(&blocks, 28);
    log_ved_ahead_with(dir.path(), &blocks[28..40], &[(1, vote_0, 2_500)], None);

    let (engine, seen) = open(dir.path(), 2);
    assert_eq!((engine.resumed_slot(), engine.ved_resumed_slot()), (28, 40));
    for block in &blocks[28..] {
        engine.submit(block.clone()).expect("submit");
    }
    engine
        .wait_hash(Domain::Ued, 45, Duration::from_secs(60))
        .expect("no failure");
    // The logged slots before the slash are judged against the stake before it (the slot
    // committed before the restart has it from the vote log), those after against the stake
    // after it: not all against the stake of the executor that replayed the log.
    let total = |slot| engine.agreement(Domain::Ved, slot).1;
    assert_eq!(total(31), total(20), "slot 31, logged, before the slash");
    assert_eq!(
        total(33) + 2_500_000_000_000,
        total(31),
        "vote-0's 10,000 SOL less 25 %"
    );
    let summary = engine.finish().expect("finish");
    let last = sequential.last().unwrap();
    assert_eq!(summary.hashes, [last.ved_hash, last.ued_hash]);
    assert!(seen.lock().unwrap().0[..] == sequential[28..]);
}

/// A store in a new directory that committed the first `n` of `blocks` (an engine given them,
/// then finished).
fn committed_through(blocks: &[Block], n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    let (engine, _) = open(dir.path(), 1);
    for block in &blocks[..n] {
        engine.submit(block.clone()).expect("submit");
    }
    assert_eq!(engine.finish().expect("finish").slot, n as u64);
    dir
}

/// Reopens the store in `dir`, whose VED logged ahead of it (`resumed`: the store's slot and
/// the VED's), submits `blocks` again from the store's slot on, and checks that everything
/// equals `sequential`: every outcome, and the final hashes. Gives the epoch boundaries the VED
/// crossed alone after the restart, and its waits at boundaries.
fn resumed_to_the_sequential_results(
    dir: &std::path::Path,
    blocks: &[Block],
    resumed: (u64, u64),
    sequential: &[BlockOutcome],
) -> (u64, u64) {
    let (engine, seen) = open(dir, 2);
    assert_eq!((engine.resumed_slot(), engine.ved_resumed_slot()), resumed);
    let from = resumed.0 as usize;
    for block in &blocks[from..] {
        engine.submit(block.clone()).expect("submit");
    }
    let crossings = crossings_by(&engine, blocks.len() as u64);
    let summary = engine.finish().expect("finish");
    let last = sequential.last().unwrap();
    assert_eq!(summary.hashes, [last.ved_hash, last.ued_hash]);
    assert!(seen.lock().unwrap().0[..] == sequential[from..]);
    crossings
}

/// A ledger of 70 blocks in which vote-1, slashed by 60 % before slot 21, is frozen at slot 64
/// to leave the VED with its node (no vote account of the UED names the node, so the VED
/// crosses there on its own); its sequential outcomes; and a store in a new directory that
/// committed its first `committed` blocks, the slash scheduled as the runtime's was.
fn vote_1_leaving_at_64_committed_through(
    committed: usize,
) -> (Vec<Block>, Vec<BlockOutcome>, tempfile::TempDir) {
    let (blocks, _) = ledger(70, 14);
    let vote_1 = chain::pk(&chain::key("vote-1"));
    let (sequential, runtime, _scratch) = sequential_with_a_slash(&blocks, (20, vote_1, 6_000));
    assert_eq!(
        runtime.state().frozen.get(&vote_1),
        Some(&2),
        "vote-1 frozen at slot 64 to leave"
    );
    let dir = tempfile::tempdir().expect("dir");
    let (engine, _) = open(dir.path(), 1);
    for (i, block) in blocks[..committed].iter().enumerate() {
        if i == 20 {
            engine
                .wait_hash(Domain::Ued, 20, Duration::from_secs(60))
                .expect("no failure");
            engine.schedule_slash(vote_1, 6_000).expect("slash");
        }
        engine.submit(block.clone()).expect("submit");
    }
    assert_eq!(engine.finish().expect("finish").slot, committed as u64);
    (blocks, sequential, dir)
}

/// The UED's handoff of the epoch of `blocks[at]`'s slot, made where the runtime executes
/// that block (`slash`, as [`sequential_with_a_slash`] takes it).
fn handoff_at(
    blocks: &[Block],
    at: usize,
    slash: Option<(usize, tandem_engine::Pubkey, u16)>,
) -> EpochHandoff {
    let scratch = tempfile::tempdir().expect("dir");
    let mut runtime = Runtime::open(&Genesis::default_cluster(), scratch.path()).expect("open");
    for (i, block) in blocks[..=at].iter().enumerate() {
        if let Some((when, key, bps)) = slash
            && when == i
        {
            runtime.schedule_slash(key, bps).expect("slash");
        }
        runtime.execute_block(block).expect("block");
    }
    runtime.epoch_handoff()
}

#[test]
fn a_ved_logged_across_a_boundary_where_a_member_left_resumes_from_its_log() {
    // The store commits slot 50; the VED had crossed slot 64 alone, vote-1 and its node leaving
    // it, and logged up to slot 68. Reopened, it crosses slot 64 again from its log, and
    // everything equals the sequential runtime.
    let (blocks, sequential, dir) = vote_1_leaving_at_64_committed_through(50);
    log_ved_ahead(dir.path(), &blocks[50..68]);
    resumed_to_the_sequential_results(dir.path(), &blocks, (50, 68), &sequential);
}

#[test]
fn after_a_restart_the_ved_takes_up_from_its_log_the_blocks_it_went_over_and_crosses_alone() {
    // The store commits slot 40; the VED had logged up to slot 60, going over the UED's
    // transactions of each block for one that could make a UED vote account name vote-1's
    // node, and its log says so. Reopened, it takes that up from the log, goes over slots
    // 61–63 as it executes them, and crosses slot 64 alone, where vote-1 and its node leave
    // it. (Before its records said what it had gone over, it waited at 64.)
    let (blocks, sequential, dir) = vote_1_leaving_at_64_committed_through(40);
    log_ved_ahead(dir.path(), &blocks[40..60]);
    let crossings = resumed_to_the_sequential_results(dir.path(), &blocks, (40, 60), &sequential);
    assert_eq!(crossings.0, 1, "alone at slot 64");
}

#[test]
fn a_handoff_made_again_after_a_restart_takes_up_what_the_log_went_over_since_it() {
    // The store commits slot 28; the VED had crossed slot 32 alone, taken the UED's handoff of
    // epoch 1 (made at slot 32) after slot 37, gone over the blocks since, and logged up to
    // slot 45. Reopened, it crosses 32 again from its log and, once the UED has made that
    // handoff again, takes up from the log where its records went over the blocks to, so it
    // crosses slot 64 alone where vote-1 leaves. (Without it, it would have gone over nothing
    // past slot 32 and waited.)
    let (blocks, sequential, dir) = vote_1_leaving_at_64_committed_through(28);
    let vote_1 = chain::pk(&chain::key("vote-1"));
    let handoff = handoff_at(&blocks, 31, Some((20, vote_1, 6_000)));
    log_ved_ahead_with(dir.path(), &blocks[28..45], &[], Some((8, handoff)));
    let crossings = resumed_to_the_sequential_results(dir.path(), &blocks, (28, 45), &sequential);
    assert_eq!(crossings.0, 1, "alone at slot 64 (32 was logged)");
}

/// An engine restarted after committing `first` with `logged` in its VED's log, ahead of the
/// store (as a crash leaves it), and the directory it runs in.
fn restarted_with_the_ved_ahead(first: &Block, logged: &[Block]) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().expect("dir");
    let (engine, _) = open(dir.path(), 1);
    engine.submit(first.clone()).expect("submit");
    engine.finish().expect("finish");
    log_ved_ahead(dir.path(), logged);
    let (engine, _) = open(dir.path(), 1);
    (dir, engine)
}

/// Why `engine` stopped before giving the VED hash of `slot`.
fn failure_at(engine: Engine, slot: u64) -> String {
    let wait = engine.wait_hash(Domain::Ved, slot, Duration::from_secs(60));
    match (wait, engine.finish()) {
        (Err(e), _) | (_, Err(e)) => e.to_string(),
        other => panic!("the engine went on: {:?}", other.0),
    }
}

#[test]
fn a_block_before_the_first_one_the_ved_logged_stops_the_engine_naming_it() {
    // The VED logged slot 3 (its block skipped slot 2) before the restart; slot 2 comes.
    let (blocks, _) = ledger(8, 6);
    let mut skipping = blocks[2].clone();
    skipping.header.parent_slot = 1;
    let (_dir, engine) = restarted_with_the_ved_ahead(&blocks[0], &[skipping]);
    engine
        .submit(blocks[1].clone())
        .expect("the header follows");
    let message = failure_at(engine, 2);
    assert!(
        message.contains("the block of slot 2 comes before slot 3") && message.contains("logged"),
        "{message}"
    );
}

#[test]
fn no_slash_is_scheduled_while_the_blocks_the_ved_logged_come_again() {
    // After a restart with slots 2..4 logged, a slash with slot 2 would apply where the log
    // decided without it: refused, naming why, until slot 4 is submitted.
    let (blocks, _) = ledger(8, 6);
    let (_dir, engine) = restarted_with_the_ved_ahead(&blocks[0], &blocks[1..4]);
    let vote0 = chain::pk(&chain::key("vote-0"));
    for block in &blocks[1..4] {
        let refused = engine.schedule_slash(vote0, 100).expect_err("refused");
        assert!(
            refused.to_string().contains("logged before the restart"),
            "{refused}"
        );
        engine.submit(block.clone()).expect("submit");
    }
    engine.schedule_slash(vote0, 100).expect("after slot 4");
    engine.submit(blocks[4].clone()).expect("submit");
    engine.finish().expect("finish");
}

#[test]
fn a_block_other_than_the_one_the_ved_logged_stops_the_engine_naming_it() {
    let (blocks, _) = ledger(8, 6);
    let (_dir, engine) = restarted_with_the_ved_ahead(&blocks[0], &blocks[1..4]);
    let mut other = blocks[1].clone();
    other.header.blockhash = [0xab; 32];
    engine.submit(other).expect("the header follows");
    let message = failure_at(engine, 2);
    assert!(
        message.contains("the block of slot 2 (blockhash") && message.contains("logged"),
        "{message}"
    );
}

#[test]
fn a_block_with_the_logged_header_and_other_transactions_stops_the_engine_naming_it() {
    // A blockhash is the leader's choice: the logged header over other transactions — one
    // more (the VED's thread panicked indexing the record), or the same ones in another order
    // (the logged state stood, silently) — is not the block the VED logged.
    let (blocks, _) = ledger(8, 6);
    let mut one_more = blocks[1].clone();
    let n = one_more.transactions.len();
    let last = one_more
        .transactions
        .get(n - 1)
        .expect("transactions")
        .to_vec();
    one_more.transactions.push(last);
    let mut reordered = blocks[1].clone();
    let mut reversed: Vec<Vec<u8>> = blocks[1].transactions.iter().map(<[u8]>::to_vec).collect();
    reversed.reverse();
    reordered.transactions = reversed.into();
    for (other, difference) in [
        (one_more, "transactions (logged: "),
        (reordered, "transaction "),
    ] {
        let (_dir, engine) = restarted_with_the_ved_ahead(&blocks[0], &blocks[1..4]);
        engine.submit(other).expect("the header follows");
        let message = failure_at(engine, 2);
        assert!(
            message.contains("the block of slot 2 (blockhash")
                && message.contains("logged as slot 2")
                && message.contains(difference),
            "{message}"
        );
    }
}

/// `block` with validator `n`'s vote replaced by one whose UED report is `ued(old report)`
/// (the rest of the vote unchanged), signed by its node; `None` where `n` does not vote in it.
fn with_vote_ued(
    block: &Block,
    n: usize,
    ued: impl FnOnce(Option<(u64, [u8; 32])>) -> Option<(u64, [u8; 32])>,
) -> Option<Block> {
    use tandem_engine::runtime::builtins::vote::VoteInstruction;
    use tandem_engine::tx::{AccountMeta, Transaction};
    let node = chain::key(&format!("validator-{n}"));
    let mut block = block.clone();
    let at = block
        .transactions
        .iter()
        .position(|w| Transaction::peek_fee_payer(w) == Some(chain::pk(&node)))?;
    let tx = Transaction::parse(&block.transactions[at]).expect("parses");
    let message = tx.message();
    let keys = message.account_keys();
    let ix = &message.instructions()[0];
    let Ok(VoteInstruction::Vote {
        slot,
        ved_hash,
        ued: reported,
        timestamp_ms,
    }) = VoteInstruction::decode(ix.data)
    else {
        panic!("a vote");
    };
    let data = VoteInstruction::Vote {
        slot,
        ved_hash,
        ued: ued(reported),
        timestamp_ms,
    }
    .encode();
    let metas = [
        AccountMeta::new(keys[usize::from(ix.accounts[0])], false),
        AccountMeta::new_readonly(chain::pk(&node), true),
    ];
    let recent = *message.recent_blockhash();
    let program = keys[usize::from(ix.program_id_index)];
    block
        .transactions
        .replace(at, chain::tx(&[&node], program, &metas, &data, recent));
    Some(block)
}

/// `block` with validator `n`'s vote reporting `ued_hash` for the UED slot it carries, and that
/// slot.
fn with_vote_reporting(block: &Block, n: usize, ued_hash: [u8; 32]) -> (Block, u64) {
    let mut slot = None;
    let block = with_vote_ued(block, n, |ued| {
        let (s, _) = ued.expect("a vote carrying a UED hash");
        slot = Some(s);
        Some((s, ued_hash))
    })
    .expect("the validator votes in the block");
    (block, slot.expect("set"))
}

#[test]
fn after_a_restart_the_cluster_view_is_still_pruned() {
    // The engine keeps the agreement of the slots its status index answers for (and an
    // epoch); after a restart it held on to every slot since the one it opened at, the
    // confirmations file growing with each commit.
    use tandem_engine::runtime::status_index::{KEPT_BLOCKS, StatusIndex};
    let dir = tempfile::tempdir().expect("dir");
    let engine = open_with_hooks(dir.path(), EngineHooks::default());
    for block in chain::empty_blocks(1..=5) {
        engine.submit(block).expect("submit");
    }
    engine.finish().expect("finish");
    let engine = open_with_hooks(dir.path(), EngineHooks::default());
    let last = 5 + 2 * KEPT_BLOCKS as u64 + 100;
    for block in chain::empty_blocks(6..=last) {
        engine.submit(block).expect("submit");
    }
    engine.finish().expect("finish");
    let index = StatusIndex::load(dir.path(), last).expect("load");
    let first = index
        .confirmations()
        .map(|(_, s, _)| s)
        .min()
        .expect("some");
    assert!(
        first > last - 2 * KEPT_BLOCKS as u64,
        "the confirmations still hold slot {first} of {last}"
    );
}

#[test]
fn a_vote_point_waited_for_before_the_halt_is_not_given_after_it() {
    // The UED has its hashes of slots 1..=6 when block 7 comes with validator 1 reporting
    // another UED hash (a third of the stake): the VED's thread halts on it, then publishes
    // slot 7's VED hash. A waiter for slot 7's vote point, begun before, gets `Halted`, not a
    // hash to vote with (SPEC §6: a halted engine stops producing votes); `wait_hash` still
    // answers the hash, which the engine did compute.
    let (blocks, _) = generated(8, 8, false);
    let (bad, _) = with_vote_reporting(&blocks[6], 1, [0x66; 32]);
    let dir = tempfile::tempdir().expect("dir");
    // A slow alert hook: the alert is there to poll as soon as the halt shows.
    let hooks = EngineHooks {
        on_alert: Some(Box::new(|_| std::thread::sleep(Duration::from_millis(500)))),
        ..EngineHooks::default()
    };
    let engine = Arc::new(open_with_hooks(dir.path(), hooks));
    for block in &blocks[..6] {
        engine.submit(block.clone()).expect("submit");
    }
    let sixth = blocks[5].header.slot;
    let waited = engine.wait_hash(Domain::Ued, sixth, Duration::from_secs(60));
    assert!(matches!(waited, Ok(Waited::Hash(_))), "{waited:?}");
    let seventh = bad.header.slot;
    let waiter = {
        let engine = Arc::clone(&engine);
        std::thread::spawn(move || {
            engine.wait_hash_unless_halted(Domain::Ved, seventh, Duration::from_secs(60))
        })
    };
    // The waiter is waiting (a late thread let the halt come first, and the test pass without
    // its case, before the engine counted its waiters).
    while engine.hash_waiters() == 0 && !waiter.is_finished() {
        std::thread::sleep(Duration::from_millis(1));
    }
    engine.submit(bad).expect("submit");
    let waited = waiter.join().expect("the waiter");
    assert!(matches!(waited, Ok(Waited::Halted)), "{waited:?}");
    assert!(engine.poll_alert().is_some(), "the alert of the halt");
    assert!(engine.halt().is_some());
    let computed = engine.wait_hash(Domain::Ved, seventh, Duration::from_secs(60));
    assert!(matches!(computed, Ok(Waited::Hash(_))), "{computed:?}");
    let later = engine.wait_hash_unless_halted(Domain::Ved, seventh + 1, Duration::ZERO);
    assert!(matches!(later, Ok(Waited::Halted)), "{later:?}");
}

#[test]
fn a_halt_whose_file_is_being_written_holds_back_no_status_answer() {
    // The first halt's file was written and fsynced under the lock every status answer and
    // submit takes (`Engine::halted`), so they waited for the disk. Here the write waits on a
    // FIFO planted where the halt file goes (its reader blocks until a writer comes).
    let (blocks, _) = generated(8, 8, false);
    let (bad, _) = with_vote_reporting(&blocks[6], 1, [0x66; 32]);
    let dir = tempfile::tempdir().expect("dir");
    let engine = Arc::new(open_with_hooks(dir.path(), EngineHooks::default()));
    for block in &blocks[..6] {
        engine.submit(block.clone()).expect("submit");
    }
    let sixth = blocks[5].header.slot;
    let waited = engine.wait_hash(Domain::Ued, sixth, Duration::from_secs(60));
    assert!(matches!(waited, Ok(Waited::Hash(_))), "{waited:?}");
    let fifo = dir.path().join("halt");
    let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid path string.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
    engine.submit(bad).expect("submit");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !engine.metrics().is_halted() {
        assert!(std::time::Instant::now() < deadline, "no halt");
        std::thread::sleep(Duration::from_millis(1));
    }
    let (sender, answered) = std::sync::mpsc::channel();
    {
        // (The flag shows before the reason: asked until the reason is there.)
        let engine = Arc::clone(&engine);
        std::thread::spawn(move || {
            let halted = loop {
                if let Some(why) = engine.halted() {
                    break Some(why);
                }
                std::thread::sleep(Duration::from_millis(1));
            };
            let _ = sender.send(halted);
        });
    }
    let answer = answered.recv_timeout(Duration::from_secs(10));
    // The halt's write goes on: a writer comes and goes, the reader finds nothing there.
    drop(
        std::fs::OpenOptions::new()
            .write(true)
            .open(&fifo)
            .expect("the FIFO"),
    );
    assert!(
        matches!(answer, Ok(Some(_))),
        "{answer:?}: the answer waited for the halt file"
    );
}

#[test]
fn honest_votes_agree_and_a_third_of_the_ved_stake_reporting_another_ued_hash_halts() {
    // The default cluster: three VED validators of 10,000 SOL. With the generated votes (true
    // hashes) every UED slot has the whole VED stake behind the local hash; when validator 1
    // reports another UED hash — exactly a third of the stake — the engine halts with an alert
    // naming the slot, votes no more, and still executes and commits every block.
    let (blocks, sequential) = generated(12, 8, false);
    let dir = tempfile::tempdir().expect("dir");
    let (engine, _) = open(dir.path(), 1);
    for block in &blocks {
        engine.submit(block.clone()).expect("submit");
    }
    let last = sequential.last().unwrap().slot;
    engine
        .wait_hash(Domain::Ued, last, Duration::from_secs(60))
        .expect("no failure");
    let (agreeing, total) = engine.agreement(Domain::Ued, 8);
    assert_eq!((agreeing, total), (30_000_000_000_000, 30_000_000_000_000));
    assert_eq!(engine.halt(), None);
    assert_eq!(engine.poll_alert(), None);
    drop(engine);

    let (bad, diverged) = with_vote_reporting(&blocks[6], 1, [0x66; 32]);
    let dir = tempfile::tempdir().expect("dir");
    let alerts = Arc::new(Mutex::new(Vec::new()));
    let seen_alerts = Arc::clone(&alerts);
    let seen: Seen = Arc::default();
    let (a, b) = (Arc::clone(&seen), Arc::clone(&seen));
    let hooks = EngineHooks {
        on_vote: Some(Box::new(move |v| a.lock().unwrap().1.push(v))),
        on_outcome: Some(Box::new(move |o| b.lock().unwrap().0.push(o.clone()))),
        on_alert: Some(Box::new(move |alert| {
            seen_alerts.lock().unwrap().push(alert.clone())
        })),
    };
    let engine = open_with_hooks(dir.path(), hooks);
    // The halt comes when the UED has its own hash of the slot; the votes stop from then on.
    for (i, block) in blocks[..7].iter().enumerate() {
        engine
            .submit(if i == 6 { bad.clone() } else { block.clone() })
            .expect("submit");
    }
    let halted_at = blocks[6].header.slot;
    let halt = {
        engine
            .wait_hash(Domain::Ued, halted_at, Duration::from_secs(60))
            .expect("no failure");
        engine.halt().expect("halted")
    };
    for block in &blocks[7..] {
        engine
            .submit(block.clone())
            .expect("a halted engine still takes blocks");
    }
    engine
        .wait_hash(Domain::Ued, last, Duration::from_secs(60))
        .expect("no failure");
    assert_eq!(halt.slot, diverged);
    assert_eq!(halt.reported_hash, [0x66; 32]);
    assert_eq!(halt.disagreeing_stake * 3, halt.total_stake);
    assert!(matches!(engine.poll_alert(), Some(Alert::UedDivergence(h)) if h == halt));
    assert_eq!(engine.poll_alert(), None);
    let summary = engine.finish().expect("a halt is not a failure");
    assert_eq!(summary.slot, last, "every block still executes and commits");
    assert_eq!(alerts.lock().unwrap().len(), 1);
    let (outcomes, votes) = &*seen.lock().unwrap();
    assert_eq!(outcomes.len(), blocks.len());
    assert!(
        votes.iter().all(|v| v.slot <= halted_at),
        "no vote after the halt: {:?}",
        votes.iter().map(|v| v.slot).collect::<Vec<_>>()
    );
    // It stays halted when reopened: nothing is confirmed.
    drop(summary);
    let (engine, _) = open(dir.path(), 1);
    let why = engine.halted().expect("still halted");
    assert!(why.contains(&format!("slot {diverged}")), "{why}");
    let signature =
        tandem_engine::tx::Transaction::peek_first_signature(&blocks[2].transactions[0])
            .expect("signed");
    assert_eq!(
        engine.execution_status(&signature, 0).unwrap(),
        tandem_engine::runtime::status_index::ExecutionStatus::Halted
    );
    assert!(engine.metrics().snapshot().halted);
    // A host that polls alerts learns why: the divergence, as the halt file records it.
    assert!(
        matches!(engine.poll_alert(), Some(Alert::UedDivergence(h)) if h == halt),
        "no alert after the restart"
    );
    // Also once the votes that showed it are gone from the vote log (an engine that ran on
    // halted for more than about an epoch has pruned them): it raised nothing then.
    drop(engine.finish().expect("finish"));
    for entry in std::fs::read_dir(dir.path()).expect("the store's directory") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with("votes-") && name.ends_with(".log") {
            std::fs::remove_file(&path).expect("removed");
        }
    }
    let (engine, _) = open(dir.path(), 1);
    assert!(engine.halted().is_some(), "still halted");
    assert!(
        matches!(engine.poll_alert(), Some(Alert::UedDivergence(h)) if h == halt),
        "no alert after the restart without the votes"
    );
}

/// The first signature of the first transaction of `block` that the default cluster's `payer`
/// pays for.
fn signature_paid_by(block: &Block, payer: &str) -> Option<[u8; 64]> {
    use tandem_engine::tx::Transaction;
    let payer = chain::pk(&chain::key(payer));
    block
        .transactions
        .iter()
        .find(|w| Transaction::peek_fee_payer(w) == Some(payer))
        .and_then(Transaction::peek_first_signature)
}

/// Slot 5's (the fifth block's) transactions: validator-0's vote (VED) and a user's transfer
/// (UED), by their first signatures.
fn slot_5_signatures(blocks: &[Block]) -> ([u8; 64], [u8; 64]) {
    let ved = signature_paid_by(&blocks[4], "validator-0").expect("a vote in slot 5");
    let ued = (0..8)
        .find_map(|i| signature_paid_by(&blocks[4], &format!("user-{i}")))
        .expect("a user's transaction in slot 5");
    (ved, ued)
}

/// An engine on a new store, once it has committed the first five blocks of `blocks` (slots
/// 1–5), with its store directory and slot 5's UED hash.
fn committed_through_5(blocks: &[Block]) -> (tempfile::TempDir, Engine, [u8; 32]) {
    let dir = tempfile::tempdir().expect("dir");
    let (engine, _) = open(dir.path(), 1);
    for block in &blocks[..5] {
        engine.submit(block.clone()).expect("submit");
    }
    let hash_5 = engine
        .wait_hash(Domain::Ued, 5, Duration::from_secs(60))
        .expect("no failure")
        .hash()
        .expect("slot 5 executed");
    (dir, engine, hash_5)
}

/// `block` with validator 0's vote alone (those of validators 1 and 2 taken out): a third of
/// the default cluster's VED stake.
fn with_validator_0_voting_alone(block: &Block) -> Block {
    use tandem_engine::tx::Transaction;
    let mut partial = block.clone();
    for other in ["validator-1", "validator-2"] {
        let payer = chain::pk(&chain::key(other));
        partial
            .transactions
            .retain(|w| Transaction::peek_fee_payer(w) != Some(payer));
    }
    partial
}

#[test]
fn execution_status_waits_for_the_stake_asked_for_and_survives_a_restart() {
    use tandem_engine::runtime::status_index::ExecutionStatus;
    let (blocks, _) = generated(7, 12, false);
    let (ved_tx, ued_tx) = slot_5_signatures(&blocks);
    let (dir, engine, _) = committed_through_5(&blocks);
    let status = |engine: &Engine, tx: &[u8; 64], bps| engine.execution_status(tx, bps).unwrap();
    for tx in [&ved_tx, &ued_tx] {
        // Executed: final with X = 0; nobody has voted on slot 5 yet.
        assert_eq!(
            status(&engine, tx, 0),
            ExecutionStatus::Final(TxStatus::Success)
        );
        assert_eq!(status(&engine, tx, 500), ExecutionStatus::Pending);
    }
    assert_eq!(status(&engine, &[7; 64], 0), ExecutionStatus::Unknown);
    // Where each is: slot 5, its payer's domain; nowhere for an unknown signature.
    for (tx, domain) in [(&ved_tx, Domain::Ved), (&ued_tx, Domain::Ued)] {
        let view = engine.transaction(tx, 500).unwrap();
        assert_eq!(
            (view.status, view.slot, view.domain),
            (ExecutionStatus::Pending, Some(5), Some(domain))
        );
    }
    let unknown = engine.transaction(&[7; 64], 0).unwrap();
    assert_eq!((unknown.slot, unknown.domain), (None, None));
    // Slot 6 with only validator-0's vote on slot 5: a third of the VED stake.
    let partial = with_validator_0_voting_alone(&blocks[5]);
    engine.submit(partial).expect("submit");
    engine
        .wait_hash(Domain::Ued, 6, Duration::from_secs(60))
        .expect("no failure");
    let answers = |engine: &Engine| -> Vec<ExecutionStatus> {
        [&ved_tx, &ued_tx]
            .into_iter()
            .flat_map(|tx| [0, 500, 3_333, 6_667].map(|bps| status(engine, tx, bps)))
            .collect()
    };
    let success = ExecutionStatus::Final(TxStatus::Success);
    let pending = ExecutionStatus::Pending;
    let expected = [success, success, success, pending].repeat(2);
    assert_eq!(
        answers(&engine),
        expected,
        "X = 0, 500, 3333, 6667; VED then UED"
    );
    drop(engine.finish().expect("finish"));
    // Reopened: the same answers, from the status index in the store directory.
    let (engine, _) = open(dir.path(), 1);
    assert_eq!(answers(&engine), expected, "after a restart");
    assert_eq!(status(&engine, &[7; 64], 0), ExecutionStatus::Unknown);
    // A slot committed after the restart keeps the confirmations of those before it (its
    // agreement.idx was written from the reopened engine's votes alone).
    engine.submit(blocks[6].clone()).expect("submit");
    engine
        .wait_hash(Domain::Ued, 7, Duration::from_secs(60))
        .expect("no failure");
    drop(engine.finish().expect("finish"));
    let (engine, _) = open(dir.path(), 1);
    // Slot 7's votes (every validator's) name UED slot 6, whose hash chains over slot 5's: the
    // UED transaction of slot 5 is confirmed by all of the stake through it. (Their VED hashes
    // of slot 6 are the generator's, which the partial slot 6 changed: no VED confirmation.)
    let mut after_slot_7 = expected;
    after_slot_7[7] = success;
    assert_eq!(answers(&engine), after_slot_7, "after a second restart");
    let (confirming, total) = engine.agreement(Domain::Ued, 5);
    assert_eq!(
        (confirming, total),
        engine.agreement(Domain::Ued, 6),
        "through slot 6"
    );
}

/// A user's transaction of `block` (its wire bytes) and its first signature.
fn a_users_transaction(block: &Block) -> (Vec<u8>, [u8; 64]) {
    let ran = block
        .transactions
        .iter()
        .find(|w| {
            let payer = Transaction::peek_fee_payer(w).expect("a payer");
            (0..8).any(|i| payer == chain::pk(&chain::key(&format!("user-{i}"))))
        })
        .expect("a user's transaction")
        .to_vec();
    let signature = Transaction::peek_first_signature(&ran).expect("signed");
    (ran, signature)
}

#[test]
fn execution_status_answers_for_the_transaction_that_ran_not_a_replay_or_a_forgery() {
    use tandem_engine::runtime::status_index::ExecutionStatus;
    let (mut blocks, _) = generated(6, 12, false);
    // A user's transfer that succeeds in slot 5 ...
    let (ran, signature) = a_users_transaction(&blocks[4]);
    // ... comes again in slot 6 (a duplicate), and so does its first signature in front of
    // another message (a forgery anyone can make: it fails check 1 and has no domain).
    let mut forged = ran.clone();
    *forged.last_mut().expect("bytes") ^= 1;
    blocks[5].transactions.push(ran);
    blocks[5].transactions.push(forged);
    let dir = tempfile::tempdir().expect("dir");
    let (engine, seen) = open(dir.path(), 1);
    for block in &blocks {
        engine.submit(block.clone()).expect("submit");
    }
    engine
        .wait_hash(Domain::Ued, 6, Duration::from_secs(60))
        .expect("no failure");
    let answer = |engine: &Engine| {
        let view = engine.transaction(&signature, 0).unwrap();
        (view.status, view.slot, view.domain)
    };
    let ran_in_slot_5 = (
        ExecutionStatus::Final(TxStatus::Success),
        Some(5),
        Some(Domain::Ued),
    );
    assert_eq!(answer(&engine), ran_in_slot_5);
    drop(engine.finish().expect("finish"));
    let statuses: Vec<(u64, TxStatus)> = {
        let (outcomes, _) = &*seen.lock().unwrap();
        let all = outcomes
            .iter()
            .flat_map(|o| o.transactions.iter().map(|t| (o.slot, t)));
        let same = all.filter(|(_, t)| t.signature == Some(signature));
        same.map(|(slot, t)| (slot, t.status)).collect()
    };
    assert_eq!(
        statuses,
        [
            (5, TxStatus::Success),
            (6, TxStatus::DuplicateSignature),
            (6, TxStatus::InvalidSignature)
        ],
        "the transaction, its replay and the forgery, as the slots decided them"
    );
    // Reopened: the stored index answers the same.
    let (engine, _) = open(dir.path(), 1);
    assert_eq!(answer(&engine), ran_in_slot_5, "after a restart");
}

#[test]
fn a_forgery_the_ved_decided_ahead_does_not_answer_for_a_transaction_still_pending() {
    // A user's transfer in slot 5, the UED held back after slot 4; in slot 6, then in slot 5
    // itself, its first signature in front of another message whose fee payer is a
    // validator's node (a forgery anyone can make: the VED's by the guess, it fails check 1
    // and has no domain). The VED, ahead, decides the forgery's slot: the transfer was
    // answered `Final(InvalidSignature)` of that slot — the in-flight blocks were searched
    // after the forgery's slot only, then all but its own — and `Final(Success)` of slot 5
    // once the UED ran it, a final status that changed. Found in reviews.
    use tandem_engine::runtime::status_index::ExecutionStatus;
    for forged_in in [5usize, 4] {
        let (mut blocks, _) = generated(6, 12, false);
        let (ran, signature) = a_users_transaction(&blocks[4]);
        let node = Transaction::peek_fee_payer(&blocks[5].transactions[0]).expect("a vote's payer");
        let user = Transaction::peek_fee_payer(&ran)
            .expect("a payer")
            .to_bytes();
        let payer_at = ran
            .windows(32)
            .position(|k| k == user)
            .expect("the payer's key");
        let mut forged = ran.clone();
        forged[payer_at..payer_at + 32].copy_from_slice(&node.to_bytes());
        assert_eq!(Transaction::peek_fee_payer(&forged), Some(node));
        blocks[forged_in].transactions.push(forged);
        let dir = tempfile::tempdir().expect("dir");
        let (engine, _, release) = open_holding(dir.path(), 4, EngineConfig::default());
        for block in &blocks {
            engine.submit(block.clone()).expect("submit");
        }
        engine
            .wait_hash(Domain::Ved, 6, Duration::from_secs(60))
            .expect("the VED decided slot 6");
        let answer = |engine: &Engine| {
            let view = engine.transaction(&signature, 0).unwrap();
            (view.status, view.slot, view.domain)
        };
        assert_eq!(
            answer(&engine),
            (ExecutionStatus::Pending, Some(5), None),
            "forged in slot {}: slot 5 not executed by the UED yet",
            forged_in + 1
        );
        drop(release);
        engine
            .wait_hash(Domain::Ued, 6, Duration::from_secs(60))
            .expect("no failure");
        assert_eq!(
            answer(&engine),
            (
                ExecutionStatus::Final(TxStatus::Success),
                Some(5),
                Some(Domain::Ued)
            )
        );
        drop(engine.finish().expect("finish"));
    }
}

#[test]
fn a_confirmed_transaction_stays_confirmed_while_the_index_holds_it() {
    use tandem_engine::runtime::status_index::ExecutionStatus;
    // Slot 5's transactions, confirmed by the votes of slot 6, once the UED is 160 slots on —
    // past the duplicate window, within the status index (which answered `Pending` again once
    // the agreement had forgotten slot 5).
    let (blocks, _) = generated(160, 12, false);
    let (ved_tx, ued_tx) = slot_5_signatures(&blocks);
    let dir = tempfile::tempdir().expect("dir");
    let (engine, _) = open(dir.path(), 1);
    for block in &blocks {
        engine.submit(block.clone()).expect("submit");
    }
    engine
        .wait_hash(Domain::Ued, 160, Duration::from_secs(120))
        .expect("no failure");
    let success = ExecutionStatus::Final(TxStatus::Success);
    for tx in [&ved_tx, &ued_tx] {
        assert_eq!(engine.execution_status(tx, 500).unwrap(), success);
    }
    drop(engine.finish().expect("finish"));
    let (engine, _) = open(dir.path(), 1);
    for tx in [&ved_tx, &ued_tx] {
        assert_eq!(
            engine.execution_status(tx, 500).unwrap(),
            success,
            "after a restart"
        );
    }
}

#[test]
fn a_stage_that_panics_fails_the_engine_and_its_waiters_at_once() {
    // The UED's outcome hook panics at slot 2: a waiter for slot 3 learns the failure, naming
    // the thread and the panic, instead of waiting out its timeout; `finish` joins every
    // thread and passes the panic on.
    let (blocks, _) = generated(4, 12, false);
    let hooks = EngineHooks {
        on_vote: None,
        on_outcome: Some(Box::new(|o| assert!(o.slot != 2, "hook fails at slot 2"))),
        on_alert: None,
    };
    let dir = tempfile::tempdir().expect("dir");
    let engine = open_with_hooks(dir.path(), hooks);
    for block in &blocks {
        if let Err(e) = engine.submit(block.clone()) {
            // The engine stopped: submit says why (it said "a stage stopped" when it found the
            // UED's queue closed before the panic was recorded).
            assert!(
                matches!(&e, EngineError::Failed(f) if matches!(**f, Failure::Panicked { .. })),
                "{e}"
            );
            break;
        }
    }
    let waited = engine.wait_hash(Domain::Ued, 3, Duration::from_secs(300));
    let Err(EngineError::Failed(why)) = waited else {
        panic!("{waited:?}");
    };
    // A bug, told apart from a disk (the C ABI's TANDEM_ERR_INTERNAL, not TANDEM_ERR_IO).
    assert!(
        matches!(&*why, Failure::Panicked { thread, what }
            if thread == "tandem-ued" && what.contains("hook fails at slot 2")),
        "{why}"
    );
    assert!(why.to_string().contains("panicked"), "{why}");
    let finished = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.finish()));
    assert!(finished.is_err(), "finish passes the panic on");
}

#[test]
fn the_stake_behind_a_slot_adds_up_across_a_restart() {
    use tandem_engine::runtime::status_index::ExecutionStatus;
    // Validator 0 reports slot 5's UED hash before a restart, validator 1 after it: two thirds
    // of the VED stake stand behind it, as without the restart.
    let (blocks, _) = generated(7, 12, false);
    let (_, ued_tx) = slot_5_signatures(&blocks);
    let (dir, engine, hash_5) = committed_through_5(&blocks);
    // Slot 6 with validator 0's vote alone: it reports UED slot 5.
    let partial = with_validator_0_voting_alone(&blocks[5]);
    engine.submit(partial).expect("submit");
    engine
        .wait_hash(Domain::Ued, 6, Duration::from_secs(60))
        .expect("no failure");
    let (third, total) = (10_000_000_000_000, 30_000_000_000_000);
    assert_eq!(engine.agreement(Domain::Ued, 5), (third, total));
    drop(engine.finish().expect("finish"));

    let (engine, _) = open(dir.path(), 1);
    assert_eq!(
        engine.agreement(Domain::Ued, 5),
        (third, total),
        "the reports committed before the restart"
    );
    // Slot 7, where validator 1 reports UED slot 5 (its last report was slot 4's).
    let late = with_vote_ued(&blocks[6], 1, |_| Some((5, hash_5))).expect("a vote");
    engine.submit(late).expect("submit");
    engine
        .wait_hash(Domain::Ued, 7, Duration::from_secs(60))
        .expect("no failure");
    assert_eq!(engine.agreement(Domain::Ued, 5), (2 * third, total));
    assert_eq!(
        engine.execution_status(&ued_tx, 6_666).unwrap(),
        ExecutionStatus::Final(TxStatus::Success)
    );
}

#[test]
fn a_divergence_committed_before_a_restart_halts_when_the_votes_reporting_it_come_after() {
    // This validator's UED computes other hashes than the cluster's from slot 5 on. It commits
    // slot 5 and restarts before any vote reports slot 5; the votes of slot 6 then do: they
    // are judged against the hash committed before the restart, and the engine halts naming
    // slot 5 — not the first wrong slot it executed after the restart.
    let (blocks, _) = generated(8, 8, false);
    let faulty = |dir: &std::path::Path| {
        let config = EngineConfig {
            inject_ued_fault_from: Some(5),
            ..EngineConfig::default()
        };
        let genesis = Genesis::default_cluster();
        Engine::open(&genesis, dir, config, EngineHooks::default()).expect("open")
    };
    let dir = tempfile::tempdir().expect("dir");
    let engine = faulty(dir.path());
    for block in &blocks[..5] {
        engine.submit(block.clone()).expect("submit");
    }
    engine
        .wait_hash(Domain::Ued, 5, Duration::from_secs(60))
        .expect("no failure");
    assert_eq!(engine.halt(), None, "no vote has reported slot 5 yet");
    drop(engine.finish().expect("finish"));

    let engine = faulty(dir.path());
    for block in &blocks[5..] {
        engine
            .submit(block.clone())
            .expect("a halted engine still takes blocks");
    }
    engine
        .wait_hash(Domain::Ued, 8, Duration::from_secs(60))
        .expect("no failure");
    let halt = engine.halt().expect("halted");
    assert_eq!(halt.slot, 5, "{halt}");
    // Judged on the block's reports, summed as the vote log keeps them: all of the stake
    // (before stop 71, at the first vote: a third, where the log then said all of it).
    assert_eq!(halt.disagreeing_stake, halt.total_stake);
    drop(engine.finish().expect("a halt is not a failure"));
    // Had a crash come before the halt was written, the committed slots would still show it,
    // in the same words.
    std::fs::remove_file(dir.path().join("halt")).expect("the halt was written");
    let engine = faulty(dir.path());
    let why = engine.halted().expect("halted again at open");
    assert!(why.contains(&halt.to_string()), "{why} / {halt}");
    drop(engine.finish().expect("a halt is not a failure"));
    // An operator resumes voting by deleting the halt and the vote log (README).
    std::fs::remove_file(dir.path().join("halt")).expect("the halt was written again");
    for entry in std::fs::read_dir(dir.path()).expect("the store directory") {
        let path = entry.expect("an entry").path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("votes-")
        {
            std::fs::remove_file(path).expect("remove");
        }
    }
    let engine = faulty(dir.path());
    assert_eq!(engine.halted(), None);
    drop(engine.finish().expect("finish"));
}

#[test]
fn a_user_transaction_is_pending_while_the_ued_has_not_run_its_block() {
    use tandem_engine::runtime::status_index::ExecutionStatus;
    let (blocks, _) = generated(6, 12, false);
    let (ved_tx, ued_tx) = slot_5_signatures(&blocks);
    // The UED holds after slot 3; the VED runs slots 4 and 5.
    let dir = tempfile::tempdir().expect("dir");
    let (engine, _, release) = open_holding(dir.path(), 3, EngineConfig::default());
    for block in &blocks[..5] {
        engine.submit(block.clone()).expect("submit");
    }
    engine
        .wait_hash(Domain::Ved, 5, Duration::from_secs(60))
        .expect("no failure");
    let view = |tx: &[u8; 64]| {
        let v = engine.transaction(tx, 0).unwrap();
        (v.status, v.slot, v.domain)
    };
    let success = ExecutionStatus::Final(TxStatus::Success);
    assert_eq!(view(&ved_tx), (success, Some(5), Some(Domain::Ved)));
    assert_eq!(view(&ued_tx), (ExecutionStatus::Pending, Some(5), None));
    assert_eq!(view(&[7; 64]).0, ExecutionStatus::Unknown);
    drop(release);
    engine
        .wait_hash(Domain::Ued, 5, Duration::from_secs(60))
        .expect("no failure");
    assert_eq!(view(&ued_tx), (success, Some(5), Some(Domain::Ued)));
    drop(engine.finish().expect("finish"));
}

/// An engine whose UED stops after committing slot `hold_at` until the returned sender is
/// dropped or sent to (the outcome hook waits on the UED's thread).
fn open_holding(
    dir: &std::path::Path,
    hold_at: u64,
    config: EngineConfig,
) -> (Engine, Seen, std::sync::mpsc::Sender<()>) {
    let seen: Seen = Arc::default();
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let gate = Mutex::new(gate);
    let (a, b) = (Arc::clone(&seen), Arc::clone(&seen));
    let hooks = EngineHooks {
        on_vote: Some(Box::new(move |v| a.lock().unwrap().1.push(v))),
        on_outcome: Some(Box::new(move |o| {
            b.lock().unwrap().0.push(o.clone());
            if o.slot == hold_at {
                let _ = gate.lock().unwrap().recv();
            }
        })),
        on_alert: None,
    };
    let engine = Engine::open(&Genesis::default_cluster(), dir, config, hooks).expect("open");
    (engine, seen, release)
}

#[test]
fn a_restarted_engine_answers_the_ved_hashes_and_confirmations_its_log_holds() {
    // Store at slot 3, slots 4 and 5 in the VED's log (a crash with the UED behind). Before
    // the host submits them again the engine answers as it did before the crash: the VED
    // hashes of 4 and 5 (its metrics said VED slot 5, and a wait timed out), and the stake
    // slot 5's votes put behind slot 4's VED hash (0, `Pending` at X > 0, until they came
    // again). Found in review.
    let (blocks, sequential) = generated(6, 12, false);
    let dir = committed_through(&blocks, 3);
    log_ved_ahead(dir.path(), &blocks[3..5]);
    let (engine, _) = open(dir.path(), 1);
    assert_eq!(engine.metrics().snapshot().ved_slot, 5);
    for slot in [4u64, 5] {
        let waited = engine.wait_hash(Domain::Ved, slot, Duration::ZERO);
        let want = sequential[slot as usize - 1].ved_hash;
        assert!(
            matches!(waited, Ok(Waited::Hash(h)) if h == want),
            "{slot}: {waited:?}"
        );
    }
    let (confirmed, total) = engine.agreement(Domain::Ved, 4);
    assert!(total > 0 && confirmed == total, "{confirmed} of {total}");
    // The blocks come again: the same answers, nothing counted twice.
    for block in &blocks[3..6] {
        engine.submit(block.clone()).expect("submit");
    }
    let last = engine.finish().expect("finish");
    assert_eq!(last.hashes.ved, sequential[5].ved_hash);
}

#[test]
fn a_logged_slot_answers_its_ved_statuses_at_its_vote_point() {
    // Restarted with slots 4 and 5 in the VED's log, ahead of the store (3), and the UED held
    // at slot 4: slot 5's vote point is republished from the log, and the VED's statuses of
    // slot 5 must be there for a waiter woken by it (SPEC §6, X = 0: once the VED has run) —
    // before, they came only when the UED committed the slot.
    use tandem_engine::runtime::status_index::ExecutionStatus;
    let (blocks, _) = generated(6, 12, false);
    let (ved_tx, _) = slot_5_signatures(&blocks);
    let dir = committed_through(&blocks, 3);
    log_ved_ahead(dir.path(), &blocks[3..5]);
    let (engine, _, release) = open_holding(dir.path(), 4, EngineConfig::default());
    for block in &blocks[3..5] {
        engine.submit(block.clone()).expect("submit");
    }
    let waited = engine.wait_hash(Domain::Ved, 5, Duration::from_secs(60));
    assert!(matches!(waited, Ok(Waited::Hash(_))), "{waited:?}");
    let view = engine.transaction(&ved_tx, 0).unwrap();
    assert_eq!(
        (view.status, view.domain),
        (ExecutionStatus::Final(TxStatus::Success), Some(Domain::Ved))
    );
    release.send(()).expect("release");
    engine.finish().expect("finish");
}

#[test]
fn the_ved_crosses_epoch_boundaries_while_the_ued_is_still_in_the_epoch_before() {
    // The UED stops at slot 60 (epoch 1); the VED goes on into epoch 2 — the boundary at slot
    // 64 moves a validator's node out of the VED (a remap of epoch 0) — with the UED's handoff
    // of epoch 1, and votes there without waiting. Then the UED catches up, executes each
    // boundary block whole and finds the VED's hashes and statuses its own.
    let (blocks, sequential) = generated_with(70, 5, 0.0, true, &[("validator-2", 4)]);
    let dir = tempfile::tempdir().expect("dir");
    let config = EngineConfig {
        ued_queue_blocks: 16,
        ..EngineConfig::default()
    };
    let (engine, seen, release) = open_holding(dir.path(), 60, config);
    for block in &blocks {
        engine.submit(block.clone()).expect("submit");
    }
    let last = sequential.last().unwrap();
    let voted = engine
        .wait_hash(Domain::Ved, last.slot, Duration::from_secs(60))
        .expect("no failure")
        .hash();
    assert_eq!(
        voted,
        Some(last.ved_hash),
        "the VED voted past the boundary"
    );
    let metrics = engine.metrics().snapshot();
    assert!(metrics.ued_slot <= 60, "while the UED waited in epoch 1");
    assert_eq!(
        (metrics.boundaries_crossed_alone, metrics.boundary_waits),
        (2, 0)
    );
    release.send(()).unwrap();
    let summary = engine.finish().expect("finish");
    assert_eq!(summary.hashes, [last.ved_hash, last.ued_hash]);
    let (outcomes, votes) = &*seen.lock().unwrap();
    assert!(outcomes[..] == sequential[..], "the sequential outcomes");
    let points: Vec<(u64, [u8; 32])> = votes.iter().map(|v| (v.slot, v.ved_hash)).collect();
    let want: Vec<(u64, [u8; 32])> = sequential.iter().map(|o| (o.slot, o.ved_hash)).collect();
    assert_eq!(points, want);
}

/// The domain and status of the transaction of `outcome` whose first signature is `signature`.
fn tx_status(outcome: &BlockOutcome, signature: &[u8; 64]) -> (Option<Domain>, TxStatus) {
    let tx = outcome
        .transactions
        .iter()
        .find(|t| t.signature.as_ref() == Some(signature))
        .expect("the transaction is in the block");
    (tx.domain, tx.status)
}

/// A ledger of 68 slots in which user-5 asks to join the VED in epoch 0 (it moves at slot 64)
/// and, for each `(first, second)` of `plan`, a transfer user-5 signed comes in slot `first`
/// and again in slot `second`; and a fresh transfer of user-5 in slot 67. Checks the
/// sequential runtime's answers — a duplicate in the VED each second time — and gives the
/// blocks and their sequential outcomes.
fn user_5_moving_in_with_transfers_again(plan: &[(u64, u64)]) -> (Vec<Block>, Vec<BlockOutcome>) {
    let (mut blocks, _) = generated_with(68, 21, 0.0, true, &[("user-5", 3)]);
    let user_5 = chain::key("user-5");
    let to = chain::pk(&chain::key("user-6"));
    let signed_at = |blocks: &[Block], slot: u64, lamports: u64| {
        chain::transfer(
            &user_5,
            to,
            lamports,
            blocks[slot as usize - 2].header.blockhash,
        )
    };
    let mut again = Vec::new();
    for (k, &(first, second)) in plan.iter().enumerate() {
        let tx = signed_at(&blocks, first, 1_000_000 + k as u64);
        blocks[first as usize - 1].transactions.push(tx.clone());
        blocks[second as usize - 1].transactions.push(tx.clone());
        again.push((
            first,
            second,
            Transaction::parse(&tx).unwrap().signatures()[0],
        ));
    }
    let fresh = signed_at(&blocks, 67, 2_000_000);
    let fresh_signature = Transaction::parse(&fresh).unwrap().signatures()[0];
    blocks[66].transactions.push(fresh);
    let sequential = sequential_outcomes(&blocks);
    let duplicate = (Some(Domain::Ved), TxStatus::DuplicateSignature);
    for &(first, second, signature) in &again {
        let want = if first < 32 {
            (Some(Domain::Ued), TxStatus::Success)
        } else {
            (Some(Domain::Ued), TxStatus::AccountFrozenForRemap)
        };
        assert_eq!(tx_status(&sequential[first as usize - 1], &signature), want);
        assert_eq!(
            tx_status(&sequential[second as usize - 1], &signature),
            duplicate
        );
    }
    assert_eq!(
        tx_status(&sequential[66], &fresh_signature),
        (Some(Domain::Ved), TxStatus::DomainViolation)
    );
    (blocks, sequential)
}

#[test]
fn after_a_restart_the_ved_crosses_alone_where_accounts_move_in() {
    // The engine stops at slot 40 and opens again: the UED's duplicate window is rebuilt from
    // the status files, which record whose entries it holds, so the UED's handoff of epoch 2
    // carries the window entries of the accounts moving into the VED at slot 96, and the VED
    // crosses that boundary alone, as it crosses slot 64. (Before the status files recorded
    // payers, a window rebuilt at open knew none for 150 blocks, and the VED waited at 96.)
    let (blocks, sequential) = ledger(100, 21);
    let scratch = tempfile::tempdir().expect("dir");
    let mut runtime = Runtime::open(&Genesis::default_cluster(), scratch.path()).expect("open");
    for block in &blocks[..64] {
        runtime.execute_block(block).expect("block");
    }
    let moving_in = |at: u64| {
        let moves = &runtime.state().moves;
        moves.values().any(|&(m, e)| m == Mapping::RwVed && e == at)
    };
    assert!(moving_in(3), "an account moves into the VED at slot 96");
    let dir = committed_through(&blocks, 40);
    let (engine, seen) = open(dir.path(), 2);
    for block in &blocks[40..] {
        engine.submit(block.clone()).expect("submit");
    }
    // (A wait for the UED's handoff at a boundary would count too: the UED an epoch behind.)
    assert_eq!(crossings_by(&engine, 100).0, 2, "alone at slots 64 and 96");
    let summary = engine.finish().expect("finish");
    let last = sequential.last().unwrap();
    assert_eq!(summary.hashes, [last.ved_hash, last.ued_hash]);
    assert!(seen.lock().unwrap().0[..] == sequential[40..]);
}

/// An engine in `dir` given `blocks`, its UED held at slot 31 until the VED has executed slot 45
/// (the UED's handoff of epoch 1 comes late, made at slot 32), with what it has reported.
fn submitted_with_the_ued_held_at_31_until_slot_45(
    dir: &std::path::Path,
    blocks: &[Block],
) -> (Engine, Seen) {
    // The user signatures wait for each block's vote longer than the tests wait for a hash:
    // where the VED waits for the UED at a boundary, they must not wait for it (the UED
    // executes the block whole and needs them), or the VED would wait out the limit.
    let config = EngineConfig {
        ued_queue_blocks: 16,
        ued_yield_limit: Duration::from_secs(90),
        ..EngineConfig::default()
    };
    let (engine, seen, release) = open_holding(dir, 31, config);
    for block in &blocks[..45] {
        engine.submit(block.clone()).expect("submit");
    }
    engine
        .wait_hash(Domain::Ved, 45, Duration::from_secs(60))
        .expect("no failure");
    assert!(
        engine.metrics().snapshot().ued_slot <= 31,
        "the UED is held"
    );
    release.send(()).unwrap();
    for block in &blocks[45..] {
        engine.submit(block.clone()).expect("submit");
    }
    (engine, seen)
}

#[test]
fn an_account_moving_into_the_ved_brings_its_window_entries_and_the_ved_crosses_alone() {
    // user-5 asks to join the VED in epoch 0 and moves at slot 64. Its transactions in the UED
    // entered the one duplicate window, and the VED must know them to refuse them again once
    // user-5 pays in the VED. The UED is held at slot 31 until the VED has executed slot 45, so
    // the VED learns of user-5's move (the UED's handoff once it has executed slot 32) late: it
    // takes the entries up to slot 32 from the handoff, decides those of the blocks it executed
    // meanwhile from the blocks it kept, and those of the later blocks as it executes them —
    // and crosses slot 64 alone, voting before the UED gets there. Three transfers user-5
    // signed — in epoch 0 (executed), and twice in epoch 1 (frozen: refused, but in the
    // window) — come again in epoch 2 and are refused as duplicates in the VED, as the runtime
    // refuses them; a fresh one passes check 4 there (and fails check 6: its payee is a user's).
    let (blocks, sequential) =
        user_5_moving_in_with_transfers_again(&[(20, 65), (40, 66), (56, 66)]);

    let dir = tempfile::tempdir().expect("dir");
    let (engine, seen) = submitted_with_the_ued_held_at_31_until_slot_45(dir.path(), &blocks);
    assert_eq!(
        crossings_by(&engine, 68),
        (2, 0),
        "alone at slots 32 and 64, no wait"
    );
    engine.finish().expect("finish");
    let (outcomes, votes) = &*seen.lock().unwrap();
    assert!(outcomes[..] == sequential[..], "the sequential outcomes");
    let points: Vec<(u64, [u8; 32])> = votes.iter().map(|v| (v.slot, v.ved_hash)).collect();
    let want: Vec<(u64, [u8; 32])> = sequential.iter().map(|o| (o.slot, o.ved_hash)).collect();
    assert_eq!(points, want);
}

/// A ledger of 68 blocks: in slot 40 user-2 makes vote account V (6,000 SOL, active) whose
/// fee payer is validator-1's node; in slot 42 validator-1 deactivates vote-1. At slot 64
/// vote-1 leaves the VED, but its node stays: V, eligible, uses it (had the VED frozen the
/// node, the node's transfer in slot 66 would have failed in the VED). With its sequential
/// outcomes.
fn a_ued_vote_account_naming_node_1_made_at_40() -> (Vec<Block>, Vec<BlockOutcome>) {
    let (mut blocks, _) = generated_with(68, 21, 0.0, true, &[]);
    let genesis = Genesis::default_cluster();
    let (node_1, user_2) = (chain::key("validator-1"), chain::key("user-2"));
    let v_key = chain::fresh(41);
    let companions = (chain::pk(&user_2), chain::pk(&node_1));
    let stake = 6_000 * chain::SOL;
    let recent = |blocks: &[Block], slot: usize| blocks[slot - 2].header.blockhash;
    let make_v = chain::vote_account_for(&user_2, &v_key, companions, stake, true, genesis.hash);
    blocks[39].transactions.extend(make_v);
    let vote_1 = chain::pk(&chain::key("vote-1"));
    let deactivate = VoteInstruction::Deactivate;
    let deactivate = chain::node_instruction(&node_1, vote_1, deactivate, recent(&blocks, 42));
    blocks[41].transactions.push(deactivate);
    let to = chain::pk(&chain::key("validator-0"));
    let pay = chain::transfer(&node_1, to, chain::SOL, recent(&blocks, 66));
    blocks[65].transactions.push(pay.clone());
    let sequential = sequential_outcomes(&blocks);
    let signature = Transaction::parse(&pay).unwrap().signatures()[0];
    assert_eq!(
        tx_status(&sequential[65], &signature),
        (Some(Domain::Ved), TxStatus::Success),
        "the node stays, unfrozen"
    );
    (blocks, sequential)
}

#[test]
fn a_ued_vote_account_made_after_the_handoff_keeps_a_leaving_payer_and_the_ved_waits() {
    // The UED is held at slot 31 until the VED has executed slot 45, so its handoff of epoch 1
    // (made at slot 32) names no vote account V, and the VED learns of V only by going over
    // the blocks it kept meanwhile: it must not cross slot 64 alone.
    let (blocks, sequential) = a_ued_vote_account_naming_node_1_made_at_40();
    let dir = tempfile::tempdir().expect("dir");
    let (engine, seen) = submitted_with_the_ued_held_at_31_until_slot_45(dir.path(), &blocks);
    let (alone, waits) = crossings_by(&engine, 68);
    assert_eq!(alone, 1, "alone at slot 32 only");
    assert!(waits >= 1, "a wait at slot 64");
    engine.finish().expect("finish");
    let outcomes = &seen.lock().unwrap().0;
    assert!(outcomes[..] == sequential[..], "the sequential outcomes");
}

#[test]
fn a_ued_vote_account_made_in_a_logged_slot_keeps_a_leaving_payer_after_a_restart() {
    // The store commits slot 35; the VED had logged up to slot 50, and its record of slot 40
    // says a UED transaction there may have changed whom a UED vote account names (V's
    // `InitializeAccount`). Reopened, the VED is made from the store at slot 35, where no vote
    // account names validator-1's node, and takes up the log: it must not cross slot 64 alone.
    let (blocks, sequential) = a_ued_vote_account_naming_node_1_made_at_40();
    let dir = committed_through(&blocks, 35);
    log_ved_ahead(dir.path(), &blocks[35..50]);
    let crossings = resumed_to_the_sequential_results(dir.path(), &blocks, (35, 50), &sequential);
    assert_eq!(crossings.0, 0, "not alone at slot 64");
    assert!(crossings.1 >= 1, "a wait at slot 64");
}

#[test]
fn past_its_limit_of_verifications_a_block_leaves_the_boundary_to_the_ued() {
    // user-5 moves into the VED at slot 64. Slot 40 carries as many of its transactions as the
    // VED verifies for one block (frozen, they cost user-5 nothing, and would hold the VED's
    // core), and then one more: at the limit the VED still crosses slot 64 alone; past it, it
    // stops deciding user-5's window entries and leaves the block to the UED — it waits there,
    // as before it decided those entries itself. Every outcome is the runtime's.
    use tandem_engine::runtime::executor::INCOMING_VERIFICATIONS_PER_BLOCK;
    let limit = INCOMING_VERIFICATIONS_PER_BLOCK as u64;
    let user_5 = chain::key("user-5");
    let (generated, _) = generated_with(68, 21, 0.0, true, &[("user-5", 3)]);
    // The workload's own transactions of user-5 in slot 40 count too.
    let own = generated[39]
        .transactions
        .iter()
        .filter(|wire| Transaction::peek_fee_payer(wire) == Some(chain::pk(&user_5)))
        .count() as u64;
    for (sent, alone) in [(limit - own, 2), (limit - own + 1, 1)] {
        let mut blocks = generated.clone();
        let to = chain::pk(&chain::key("user-6"));
        let recent = blocks[38].header.blockhash;
        let flood: Vec<Vec<u8>> = (0..sent)
            .map(|n| chain::transfer(&user_5, to, 1 + n, recent))
            .collect();
        blocks[39].transactions.extend(flood.iter().cloned());
        let sequential = sequential_outcomes(&blocks);
        for wire in &flood {
            let signature = Transaction::parse(wire).unwrap().signatures()[0];
            assert_eq!(
                tx_status(&sequential[39], &signature),
                (Some(Domain::Ued), TxStatus::AccountFrozenForRemap)
            );
        }
        let dir = tempfile::tempdir().expect("dir");
        let (engine, seen) = open(dir.path(), 1);
        for block in &blocks {
            engine.submit(block.clone()).expect("submit");
        }
        // (A wait for the UED's handoff would count too: the UED an epoch behind.)
        assert_eq!(crossings_by(&engine, 68).0, alone, "{sent} sent");
        engine.finish().expect("finish");
        assert!(seen.lock().unwrap().0[..] == sequential[..]);
    }
}

#[test]
fn a_handoff_made_again_after_a_restart_takes_up_the_window_entries_the_log_kept_since_it() {
    // user-5 moves into the VED at slot 64. The store commits slot 28; the VED had crossed
    // slot 32 alone, taken the UED's handoff of epoch 1 after slot 37 (with user-5's window
    // entries up to slot 32), decided user-5's entries of the blocks since, and logged them
    // with its slots up to 45. Reopened, once the UED has made that handoff again, the VED's
    // window is whole up to slot 45 (the handoff's entries and the log's), and it crosses
    // slot 64 alone; user-5's transfer of slot 40 comes again in slot 66 and is refused as a
    // duplicate, as the runtime refuses it.
    let (blocks, sequential) = user_5_moving_in_with_transfers_again(&[(40, 66)]);
    let dir = committed_through(&blocks, 28);
    let handoff = handoff_at(&blocks, 31, None);
    let user_5 = chain::pk(&chain::key("user-5"));
    assert!(handoff.incoming.iter().any(|a| a.pubkey == user_5));
    log_ved_ahead_with(dir.path(), &blocks[28..45], &[], Some((8, handoff)));
    let crossings = resumed_to_the_sequential_results(dir.path(), &blocks, (28, 45), &sequential);
    assert_eq!(crossings.0, 1, "alone at slot 64 (32 was logged)");
}

#[test]
fn a_handoff_made_again_without_its_window_entries_takes_up_none_of_the_logged_ones() {
    // As above, but the handoff made again after the restart does not know its window entries
    // (a store whose status files did not record the payers): the log's entries since the
    // handoff are whole, those before it are not in the VED's window, so it must not cross
    // slot 64 alone; with them it does.
    use tandem_engine::runtime::ved_log::VedLog;
    let (blocks, _) = user_5_moving_in_with_transfers_again(&[(40, 66)]);
    let dir = committed_through(&blocks, 28);
    let handoff = handoff_at(&blocks, 31, None);
    log_ved_ahead_with(dir.path(), &blocks[28..45], &[], Some((8, handoff.clone())));
    for entries_known in [true, false] {
        let runtime = Runtime::open(&Genesis::default_cluster(), dir.path()).expect("open");
        let mut ahead = VedAhead::new(runtime.ved_executor());
        for record in VedLog::recover(dir.path(), 28).expect("the log") {
            ahead.ved.replay(&record).expect("replay");
        }
        let mut again = handoff.clone();
        if !entries_known {
            again.incoming_entries = None;
        }
        ahead.ved.receive_handoff(again).expect("the handoff again");
        for block in &blocks[45..63] {
            ahead.step(block, None);
        }
        assert_eq!(ahead.ved.slot(), 63);
        let alone = ahead.ved.enter_epoch(64).expect("enter");
        assert_eq!(alone, entries_known, "entries known: {entries_known}");
    }
}

#[test]
fn a_ved_logged_across_a_boundary_an_account_moved_in_at_resumes_with_its_window_entries() {
    // The store commits slot 44; the VED, which knew user-5 moves in at slot 64, had decided
    // user-5's window entries of slots 45–63 and logged them with its slots, crossed slot 64
    // alone and logged up to slot 66 before the crash. Reopened, it crosses again from its log
    // with those entries: the transfer user-5 signed in slot 50 comes again in slot 67, which
    // the VED executes after the restart, and is refused as a duplicate, as the runtime refuses
    // it (without the logged entries the VED would run it).
    let (blocks, sequential) = user_5_moving_in_with_transfers_again(&[(20, 65), (50, 67)]);
    let dir = committed_through(&blocks, 44);
    log_ved_ahead(dir.path(), &blocks[44..66]);

    let (engine, seen) = open(dir.path(), 2);
    assert_eq!((engine.resumed_slot(), engine.ved_resumed_slot()), (44, 66));
    for block in &blocks[44..] {
        engine.submit(block.clone()).expect("submit");
    }
    let summary = engine.finish().expect("finish");
    let last = sequential.last().unwrap();
    assert_eq!(summary.hashes, [last.ved_hash, last.ued_hash]);
    assert!(seen.lock().unwrap().0[..] == sequential[44..]);
}

#[test]
fn a_ved_slot_entering_a_signature_the_window_holds_stops_the_ued_naming_it() {
    // The UED enters the VED's window entries before its own: one the joined window holds
    // already means the VED's window lacked an entry and ran a transaction a second time. The
    // UED refuses the slot (the engine stops) rather than commit it.
    use tandem_engine::runtime::Backend;
    use tandem_engine::runtime::ingest::{parse_block, verify_signatures};
    let (blocks, _) = generated(2, 7, false);
    let dir = tempfile::tempdir().expect("dir");
    let mut runtime = Runtime::open(&Genesis::default_cluster(), dir.path()).expect("open");
    let first = runtime.execute_block(&blocks[0]).expect("block 1");
    let old = first
        .transactions
        .iter()
        .find(|t| t.status.entered_window())
        .and_then(|t| t.signature)
        .expect("a transaction of slot 1 in the window");
    let mut ved = runtime.ved_executor();
    let (txs, payers) = parse_block(&blocks[1]).expect("parses");
    let verified: Vec<Option<bool>> = verify_signatures(Backend::Cpu, &txs)
        .expect("verify")
        .into_iter()
        .map(Some)
        .collect();
    let mut done = ved.execute(&blocks[1], &payers, &verified).expect("VED");
    done.entered.push(old);
    let error = runtime
        .execute_ued(&blocks[1], &txs, &payers, done, |i| verified[i])
        .expect_err("refused");
    assert!(
        matches!(error, RuntimeError::BoundaryMismatch { slot: 2, .. }),
        "{error}"
    );
    let text = error.to_string();
    assert!(text.contains(&bs58::encode(old).into_string()), "{text}");
}

#[test]
fn the_ved_tells_its_transactions_by_ingests_guess_only_while_its_keys_are_the_guesss() {
    // A block of votes and transfers, executed from the same state by three executors: alone,
    // with the guess ingest makes of it, and with a guess missing every VED payer (one made
    // before they came, as at a boundary that brought keys in) under another generation of
    // the keys — which the executor must not use. All three give the same slot.
    use tandem_engine::runtime::Backend;
    use tandem_engine::runtime::executor::PayerGuess;
    use tandem_engine::runtime::ingest::{parse_block, verify_signatures};
    let (blocks, _) = generated(2, 11, false);
    let dir = tempfile::tempdir().expect("dir");
    let mut runtime = Runtime::open(&Genesis::default_cluster(), dir.path()).expect("open");
    runtime.execute_block(&blocks[0]).expect("block 1");
    let block = &blocks[1];
    let (txs, payers) = parse_block(block).expect("parses");
    let verified: Vec<Option<bool>> = verify_signatures(Backend::Cpu, &txs)
        .expect("verify")
        .into_iter()
        .map(Some)
        .collect();
    let mut alone = runtime.ved_executor();
    let want = alone.execute(block, &payers, &verified).expect("VED");
    assert!(
        !want.ued_transactions.is_empty() && want.ued_transactions.len() < payers.len(),
        "votes and user transactions"
    );

    let mut guessed = runtime.ved_executor();
    let keys = guessed.ved_payers();
    let guess: Vec<bool> = payers.iter().map(|p| keys.contains(p)).collect();
    let generation = guessed.ved_keys_generation();
    let ved = &guess;
    let got = guessed
        .execute_guessed(block, &payers, &verified, PayerGuess { ved, generation })
        .expect("VED");

    let mut stale = runtime.ved_executor();
    let none = vec![false; payers.len()];
    let old = PayerGuess {
        ved: &none,
        generation: stale.ved_keys_generation().wrapping_add(1),
    };
    let not_used = stale
        .execute_guessed(block, &payers, &verified, old)
        .expect("VED");
    for (what, done) in [("the guess", &got), ("a stale guess", &not_used)] {
        assert_eq!(done.ved_hash, want.ved_hash, "{what}");
        assert_eq!(done.ued_transactions, want.ued_transactions, "{what}");
        assert_eq!(done.admission.statuses, want.admission.statuses, "{what}");
    }
}

#[test]
fn an_executor_taken_over_at_a_boundary_keeps_the_veds_hash_helpers() {
    // The UED answers a boundary it executes whole with a fresh executor; the VED's helpers
    // (and devices) go on with it, or every slot after the first such boundary would hash on
    // the VED's thread alone.
    let dir = tempfile::tempdir().expect("dir");
    let runtime = Runtime::open(&Genesis::default_cluster(), dir.path()).expect("open");
    let ved = runtime.ved_executor().with_hash_helpers(vec![0, 0]);
    let fresh = runtime.ved_executor();
    assert!(fresh.hash_helpers().is_empty());
    assert_eq!(fresh.keeping_kernels_of(&ved).hash_helpers(), [0, 0]);
}

#[test]
fn a_ued_that_lags_a_whole_epoch_halts_the_engine_at_the_boundary_with_its_own_alert() {
    // The UED stops at slot 1. The VED crosses into epoch 1 on its own, but entering epoch 2
    // it needs the UED to have entered epoch 1 (SPEC §5): with a patience of a nanosecond the
    // engine halts there, naming slot 64, and — the UED released — still executes everything.
    let (blocks, sequential) = generated_with(66, 13, 0.0, false, &[]);
    let dir = tempfile::tempdir().expect("dir");
    let config = EngineConfig {
        boundary_patience: Some(Duration::from_nanos(1)),
        ..EngineConfig::default()
    };
    let (engine, _, release) = open_holding(dir.path(), 1, config);
    for block in &blocks {
        engine.submit(block.clone()).expect("submit");
    }
    let alert = (0..600)
        .find_map(|_| {
            let alert = engine.poll_alert();
            if alert.is_none() {
                std::thread::sleep(Duration::from_millis(100));
            }
            alert
        })
        .expect("an alert within a minute");
    match alert {
        Alert::UedLagging { boundary_slot, .. } => assert_eq!(boundary_slot, 64),
        other => panic!("{other:?}"),
    }
    let why = engine.halted().expect("halted");
    assert!(
        why.contains("cannot catch up") && why.contains("slot 64"),
        "{why}"
    );
    release.send(()).unwrap();
    let last = sequential.last().unwrap();
    assert_eq!(crossings_by(&engine, last.slot), (2, 1));
    let summary = engine.finish().expect("a halt is not a failure");
    assert_eq!(
        summary.hashes,
        [last.ved_hash, last.ued_hash],
        "it still executes everything"
    );
    // Reopened, it is still halted, and a host that polls after the restart learns why.
    drop(summary); // (it holds the store)
    let (engine, _) = open(dir.path(), 1);
    assert_eq!(engine.halted(), Some(why));
    assert_eq!(engine.poll_alert(), Some(alert));
    assert_eq!(engine.poll_alert(), None);
    engine.finish().expect("finish");
}

#[test]
fn slashes_scheduled_through_the_engine_apply_as_the_runtime_applies_them() {
    // vote-0 (VED) by 25 % and vote-3 (UED) by 50 %, scheduled before slot 11: applied at the
    // boundary into epoch 1 (slot 32), in whichever domain each account is, exactly as
    // `Runtime::schedule_slash` before the same block; the VED crosses that boundary on its
    // own. vote-1 (VED) by 60 %, before slot 21: applied at slot 32 too, after the membership
    // computed there (from the state at the end of epoch 0, SPEC §5); at slot 64 the computation
    // finds its stake under the VED's threshold, so it leaves the VED with its node. Whether the
    // node stays depends on the UED's vote accounts: none names it, and no UED transaction of
    // epoch 1 could have made one do so, so the VED crosses that boundary on its own too.
    let (blocks, _) = ledger(70, 14);
    let slashes_at = |i: usize| match i {
        10 => vec![(0, 2_500), (3, 5_000)],
        20 => vec![(1, 6_000)],
        _ => Vec::new(),
    };
    let vote = |n: usize| chain::pk(&chain::key(&format!("vote-{n}")));
    let dir = tempfile::tempdir().expect("dir");
    let mut runtime = Runtime::open(&Genesis::default_cluster(), dir.path()).expect("open");
    let mut sequential = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        for (n, bps) in slashes_at(i) {
            runtime.schedule_slash(vote(n), bps).expect("slash");
        }
        sequential.push(runtime.execute_block(block).expect("block"));
    }
    let slashed = runtime.account(&vote(3)).expect("vote-3").lamports;

    let dir = tempfile::tempdir().expect("dir");
    let (engine, seen) = open(dir.path(), 2);
    for (i, block) in blocks.iter().enumerate() {
        for (n, bps) in slashes_at(i) {
            engine
                .wait_hash(Domain::Ued, i as u64, Duration::from_secs(60))
                .expect("no failure");
            engine.schedule_slash(vote(n), bps).expect("slash");
        }
        if i == 10 {
            for (bad, bps) in [(vote(0), 0), (chain::pk(&chain::key("user-0")), 100)] {
                match engine.schedule_slash(bad, bps) {
                    Err(EngineError::Rejected(RuntimeError::InvalidSlash { .. })) => {}
                    other => panic!("{other:?}"),
                }
            }
            // A block refused at ingest takes none of the slashes with it: they apply with the
            // next block accepted, as the runtime applies them.
            let mut malformed = block.clone();
            malformed.transactions.push(vec![1, 2, 3]);
            match engine.submit(malformed) {
                Err(EngineError::Rejected(RuntimeError::MalformedTransaction { .. })) => {}
                other => panic!("{other:?}"),
            }
        }
        engine.submit(block.clone()).expect("submit");
    }
    // (A wait for the UED's handoff at slot 64 would count too: the UED a whole epoch behind.)
    assert_eq!(crossings_by(&engine, 70).0, 2, "alone at slots 32 and 64");
    let summary = engine.finish().expect("finish");
    let outcomes = &seen.lock().unwrap().0;
    assert!(
        outcomes[..] == sequential[..],
        "the engine's outcomes are the runtime's"
    );
    let vote_1 = summary.runtime.account(&vote(1)).expect("vote-1");
    assert_eq!(
        vote_1.mapping,
        tandem_engine::Mapping::RwVed,
        "frozen, moving at 96"
    );
    assert!(summary.runtime.state().moves.contains_key(&vote(1)));
    assert_eq!(
        summary.runtime.account(&vote(3)).expect("vote-3").lamports,
        slashed
    );
}

/// An engine its own hooks call back into: `hooks` makes them, given the slot the engine is put
/// in once open; `body` runs with it; then the hooks let it go and it is closed.
fn with_an_engine_its_hooks_call(
    hooks: impl FnOnce(Arc<Mutex<Option<Arc<Engine>>>>) -> EngineHooks,
    body: impl FnOnce(&Engine),
) {
    let engine: Arc<Mutex<Option<Arc<Engine>>>> = Arc::default();
    let hooks = hooks(Arc::clone(&engine));
    let dir = tempfile::tempdir().expect("dir");
    let opened = Arc::new(open_with_hooks(dir.path(), hooks));
    *engine.lock().unwrap() = Some(Arc::clone(&opened));
    body(&opened);
    engine.lock().unwrap().take();
    let Ok(opened) = Arc::try_unwrap(opened) else {
        panic!("the hook let the engine go");
    };
    opened.finish().expect("finish");
}

#[test]
fn a_stage_stuck_on_a_block_shows_its_queue_filling() {
    // The VED held in its vote hook at slot 1 while slots 2..4 come: its queue depth was the
    // one it saw when it took slot 1 (0), however full the queue grew behind it.
    let (blocks, _) = generated(4, 21, false);
    let (release, held) = std::sync::mpsc::channel::<()>();
    let held = Mutex::new(held);
    let hooks = EngineHooks {
        on_vote: Some(Box::new(move |v| {
            if v.slot == 1 {
                let _ = held.lock().unwrap().recv_timeout(Duration::from_secs(60));
            }
        })),
        ..EngineHooks::default()
    };
    let dir = tempfile::tempdir().expect("dir");
    let engine = open_with_hooks(dir.path(), hooks);
    for block in &blocks {
        engine.submit(block.clone()).expect("submit");
    }
    let ved_depth = || {
        let snapshot = engine.metrics().snapshot();
        let ved = snapshot
            .stages
            .iter()
            .find(|s| s.name == "ved")
            .expect("the VED");
        ved.queue_depth
    };
    let began = std::time::Instant::now();
    while ved_depth() < 3 && began.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(10));
    }
    // Recorded by the stage that fills the queue, at each send: 3, or 4 where the VED took
    // slot 1 only after slot 4 was sent (a loaded machine: CI failed once on 4).
    let depth = ved_depth();
    assert!(
        (3..=4).contains(&depth),
        "slots 2..4 wait behind the VED's slot 1: depth {depth}"
    );
    release.send(()).expect("the hook waits");
    let waited = engine.wait_hash(Domain::Ued, 4, Duration::from_secs(120));
    assert!(matches!(waited, Ok(Waited::Hash(_))), "{waited:?}");
    engine.finish().expect("finish");
}

#[test]
fn an_account_read_queued_as_the_ued_stops_is_answered_with_the_failure() {
    // The UED's hook holds its thread at slot 1 until a read is queued, then panics: the read
    // is never taken. Engine::account waited on its answer for ever; it learns the failure.
    // (The hook waited 500 ms for the read once: a reader later than that found the engine
    // failed before it queued anything, and the case was not reached.)
    let (blocks, _) = generated(2, 14, false);
    let (reached, at_slot_1) = std::sync::mpsc::channel();
    let reached = Mutex::new(reached);
    let handle = Arc::new(std::sync::OnceLock::<std::sync::Weak<Engine>>::new());
    let hook_handle = Arc::clone(&handle);
    let hooks = EngineHooks {
        on_outcome: Some(Box::new(move |o| {
            if o.slot == 1 {
                let _ = reached.lock().unwrap().send(());
                let began = std::time::Instant::now();
                while hook_handle
                    .get()
                    .and_then(std::sync::Weak::upgrade)
                    .is_some_and(|engine| engine.queued_account_reads() == 0)
                {
                    assert!(began.elapsed() < Duration::from_secs(120), "no read came");
                    std::thread::sleep(Duration::from_millis(1));
                }
                panic!("the hook stops the UED with a read queued");
            }
        })),
        ..EngineHooks::default()
    };
    let dir = tempfile::tempdir().expect("dir");
    let engine = Arc::new(open_with_hooks(dir.path(), hooks));
    handle
        .set(Arc::downgrade(&engine))
        .expect("set once, before the first block");
    engine.submit(blocks[0].clone()).expect("submit");
    at_slot_1
        .recv_timeout(Duration::from_secs(120))
        .expect("slot 1's outcome");
    let (answered, answer) = std::sync::mpsc::channel();
    // (A thread of its own, not scoped: were the read left waiting, the test fails, not hangs.)
    let reader = Arc::clone(&engine);
    std::thread::spawn(move || {
        let node = chain::pk(&chain::key("validator-0"));
        let _ = answered.send(reader.account(&node));
    });
    let answer = answer
        .recv_timeout(Duration::from_secs(60))
        .expect("answered, not left waiting");
    let Err(EngineError::Failed(why)) = answer else {
        panic!("{answer:?}");
    };
    assert!(matches!(&*why, Failure::Panicked { .. }), "{why}");
}

#[test]
fn a_hook_on_the_ueds_thread_asking_for_an_account_is_refused_not_left_waiting() {
    // Engine::account is answered by the UED's thread between blocks; asked from on_outcome,
    // which that thread runs, it waited for itself, and the engine with it, for ever.
    use tandem_engine::pipeline::EngineError;
    let (blocks, _) = generated(2, 3, false);
    let answers = Arc::new(Mutex::new(Vec::new()));
    let hooks = |engine: Arc<Mutex<Option<Arc<Engine>>>>| {
        let answers = Arc::clone(&answers);
        EngineHooks {
            on_outcome: Some(Box::new(move |_| {
                let node = chain::pk(&chain::key("validator-0"));
                let engine = engine.lock().unwrap().clone().expect("set");
                let answer = engine.account(&node);
                answers.lock().unwrap().push(answer.map(|(slot, _)| slot));
            })),
            ..EngineHooks::default()
        }
    };
    with_an_engine_its_hooks_call(hooks, |opened| {
        opened.submit(blocks[0].clone()).expect("submit");
        let waited = opened.wait_hash(Domain::Ued, 1, Duration::from_secs(60));
        assert!(matches!(waited, Ok(Waited::Hash(_))), "{waited:?}");
        // From any other thread it is answered.
        let (slot, account) = opened
            .account(&chain::pk(&chain::key("validator-0")))
            .expect("answered");
        assert_eq!((slot, account.is_some()), (1, true));
        let answers = answers.lock().unwrap();
        assert!(
            matches!(answers[..], [Err(EngineError::OnTheUedThread(_))]),
            "{answers:?}"
        );
    });
}

#[test]
fn a_vote_hook_that_submits_schedules_a_slash_or_waits_is_refused_not_left_waiting() {
    // From on_vote (the VED's thread): schedule_slash waited for the UED, then for the submit
    // lock that a submit blocked on a full queue held — a queue only the VED drains: the
    // engine stopped for good, and its close with it. Both calls are refused there.
    let (blocks, _) = generated(2, 3, false);
    let answers = Arc::new(Mutex::new(Vec::new()));
    let hooks = |engine: Arc<Mutex<Option<Arc<Engine>>>>| {
        let answers = Arc::clone(&answers);
        let again = blocks[1].clone();
        EngineHooks {
            on_vote: Some(Box::new(move |_| {
                let engine = engine.lock().unwrap().clone().expect("set");
                let vote0 = chain::pk(&chain::key("vote-0"));
                let mut answers = answers.lock().unwrap();
                answers.push(engine.schedule_slash(vote0, 100).err());
                answers.push(engine.submit(again.clone()).err());
                // The UED's hash of the slot voted on: the UED has not been handed it yet.
                let slot = engine.metrics().snapshot().ved_slot;
                let waited = engine.wait_hash(Domain::Ued, slot, Duration::from_secs(1));
                answers.push(waited.err());
            })),
            ..EngineHooks::default()
        }
    };
    with_an_engine_its_hooks_call(hooks, |opened| {
        opened.submit(blocks[0].clone()).expect("submit");
        let waited = opened.wait_hash(Domain::Ved, 1, Duration::from_secs(60));
        assert!(matches!(waited, Ok(Waited::Hash(_))), "{waited:?}");
        let answers = answers.lock().unwrap();
        assert!(
            matches!(
                answers[..],
                [
                    Some(EngineError::FromAnExecutorHook {
                        call: "Engine::schedule_slash",
                        stage: "ved"
                    }),
                    Some(EngineError::FromAnExecutorHook {
                        call: "Engine::submit",
                        stage: "ved"
                    }),
                    Some(EngineError::FromAnExecutorHook {
                        call: "Engine::wait_hash",
                        stage: "ved"
                    })
                ]
            ),
            "{answers:?}"
        );
    });
}

#[test]
fn a_skipped_slot_names_the_next_slot_executed_not_the_newest() {
    use tandem_engine::pipeline::NotFound;
    let (mut blocks, _) = generated(5, 9, false);
    // Slot 3 is skipped: the blocks after it move up a slot (1, 2, 4, 5, 6).
    for (i, block) in blocks.iter_mut().enumerate().skip(2) {
        block.header.slot = i as u64 + 2;
        block.header.parent_slot = if i == 2 { 2 } else { i as u64 + 1 };
    }
    let dir = tempfile::tempdir().expect("dir");
    let (engine, _) = open(dir.path(), 1);
    for block in &blocks {
        engine.submit(block.clone()).expect("submit");
    }
    let long = Duration::from_secs(60);
    assert!(
        engine
            .wait_hash(Domain::Ued, 6, long)
            .unwrap()
            .hash()
            .is_some()
    );
    for domain in [Domain::Ved, Domain::Ued] {
        assert_eq!(
            engine.wait_hash(domain, 3, Duration::ZERO).unwrap(),
            Waited::NotFound(NotFound::Skipped { next: 4 }),
            "{domain:?}"
        );
    }
    engine.finish().expect("finish");
}

/// `wait_hash` tells a slot that will never come (skipped, older than the engine remembers)
/// from one that is not there yet (a timeout), and answers for the slot it resumed at.
#[test]
fn wait_hash_tells_not_found_from_timed_out() {
    use tandem_engine::pipeline::NotFound;
    let (mut blocks, _) = generated(4, 9, false);
    // Slot 3 is skipped: the third block moves to slot 4.
    blocks[2].header.slot = 4;
    blocks[3].header.parent_slot = 4;
    blocks[3].header.slot = 5;
    let dir = tempfile::tempdir().expect("dir");
    let (engine, _) = open(dir.path(), 1);
    let at_genesis = engine.wait_hash(Domain::Ued, 0, Duration::ZERO).unwrap();
    assert!(matches!(at_genesis, Waited::Hash(_)), "{at_genesis:?}");
    for block in &blocks[..3] {
        engine.submit(block.clone()).expect("submit");
    }
    let long = Duration::from_secs(60);
    let ued4 = engine.wait_hash(Domain::Ued, 4, long).unwrap().hash();
    assert!(ued4.is_some());
    for domain in [Domain::Ved, Domain::Ued] {
        assert_eq!(
            engine.wait_hash(domain, 3, long).unwrap(),
            Waited::NotFound(NotFound::Skipped { next: 4 })
        );
        assert_eq!(
            engine
                .wait_hash(domain, 5, Duration::from_millis(20))
                .unwrap(),
            Waited::TimedOut,
            "slot 5 is not submitted yet"
        );
    }
    engine.finish().expect("finish");
    let (engine, _) = open(dir.path(), 1);
    assert_eq!(
        engine
            .wait_hash(Domain::Ued, 4, Duration::ZERO)
            .unwrap()
            .hash(),
        ued4
    );
    assert_eq!(
        engine.wait_hash(Domain::Ved, 2, long).unwrap(),
        Waited::NotFound(NotFound::Forgotten { oldest: 4 })
    );
    engine.submit(blocks[3].clone()).expect("submit");
    assert!(
        engine
            .wait_hash(Domain::Ved, 5, long)
            .unwrap()
            .hash()
            .is_some()
    );

    engine.finish().expect("finish");
}

#[test]
fn a_stage_that_cannot_be_pinned_refuses_the_open_naming_its_setting() {
    use tandem_engine::pipeline::{CoreSpec, Placement, Stage, SyntheticShape, Topology};
    // A made-up machine whose last PU this one lacks: the VED's thread cannot run there.
    const PUS: usize = 1024;
    let pu = PUS - 1;
    if std::thread::available_parallelism().map_or(0, usize::from) > pu {
        tandem_kernels::say_skipped!("skipped: this machine has PU {pu}");
        return;
    }
    let topology = Topology::synthetic(SyntheticShape {
        numa_nodes: 1,
        cores_per_node: PUS,
        pus_per_core: 1,
        gpu: None,
    });
    // The other stages on a PU this process may run on (a cpuset may lack PU 0).
    let allowed = Topology::detect().pus()[0];
    let spec: CoreSpec = format!("sigverify={allowed};ved={pu};ued={allowed};hash={allowed}")
        .parse()
        .expect("cores");
    let placement = Placement::with_cores(&topology, false, &spec).expect("placement");
    assert_eq!(placement.cpus(Stage::Ved), Some(&[pu][..]));
    let dir = tempfile::tempdir().expect("dir");
    let config = EngineConfig {
        placement: Some(placement),
        ..EngineConfig::default()
    };
    let opened = Engine::open(
        &Genesis::default_cluster(),
        dir.path(),
        config,
        EngineHooks::default(),
    );
    let Err(e @ EngineError::Pin(_)) = opened else {
        panic!("the engine opened with its VED on PU {pu}, which this machine lacks");
    };
    let message = e.to_string();
    assert!(
        message.contains(&format!("core {pu}")) && message.contains("ved="),
        "{message}"
    );
}

#[test]
fn user_signatures_spread_over_the_sigverify_cores_give_the_sequential_results() {
    use tandem_engine::pipeline::{CoreSpec, Placement, Topology};
    // Sigverify on both PUs of this machine: the UED's sigverify thread and a helper share each
    // block's user signatures (blocks of 300 transfers, past a helper's least share), and
    // the votes get a helper on the PU the VED does not have.
    let topology = Topology::detect();
    if topology.pus().len() < 2 {
        tandem_kernels::say_skipped!("skipped: this machine has one PU");
        return;
    }
    let [first, second] = [topology.pus()[0], topology.pus()[1]];
    let spec: CoreSpec =
        format!("sigverify={first},{second};ved={first};ued={second};hash={first}")
            .parse()
            .expect("cores");
    let placement = Placement::with_cores(&topology, false, &spec).expect("placement");
    assert_eq!(placement.user_sigverify().1, [second]);
    let (blocks, sequential) = generated_with_transfers(40, 17, 300, 5.0, false, &[]);
    let invalid = sequential
        .iter()
        .flat_map(|o| &o.transactions)
        .filter(|t| t.status == TxStatus::InvalidSignature)
        .count();
    assert!(invalid > 0, "the ledger has no bad signature to find");
    let seen: Seen = Arc::default();
    let outcomes = Arc::clone(&seen);
    let hooks = EngineHooks {
        on_outcome: Some(Box::new(move |o| {
            outcomes.lock().unwrap().0.push(o.clone())
        })),
        ..EngineHooks::default()
    };
    let config = EngineConfig {
        placement: Some(placement),
        ued_threads: 2,
        ..EngineConfig::default()
    };
    let dir = tempfile::tempdir().expect("dir");
    let engine =
        Engine::open(&Genesis::default_cluster(), dir.path(), config, hooks).expect("open");
    for block in &blocks {
        engine.submit(block.clone()).expect("submit");
    }
    let summary = engine.finish().expect("finish");
    let got = &seen.lock().unwrap().0;
    assert_eq!(got.len(), sequential.len());
    for (got, want) in got.iter().zip(&sequential) {
        assert!(got == want, "slot {} differs", want.slot);
    }
    let last = sequential.last().unwrap();
    assert_eq!(summary.hashes, [last.ved_hash, last.ued_hash]);
}

/// An engine whose VED, in the vote hook of `slot`, says so on the first receiver and waits
/// until the returned sender is dropped or sent to; it records every outcome and vote.
fn open_holding_the_vote_of(
    dir: &std::path::Path,
    slot: u64,
    config: EngineConfig,
) -> (
    Engine,
    Seen,
    std::sync::mpsc::Receiver<()>,
    std::sync::mpsc::Sender<()>,
) {
    let seen: Seen = Arc::default();
    let (entered_tx, entered) = std::sync::mpsc::channel::<()>();
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let held = Mutex::new((entered_tx, gate));
    let (a, b) = (Arc::clone(&seen), Arc::clone(&seen));
    let hooks = EngineHooks {
        on_vote: Some(Box::new(move |v| {
            if v.slot == slot {
                let held = held.lock().unwrap();
                let _ = held.0.send(());
                let _ = held.1.recv();
            }
            a.lock().unwrap().1.push(v);
        })),
        on_outcome: Some(Box::new(move |o| b.lock().unwrap().0.push(o.clone()))),
        on_alert: None,
    };
    let engine = Engine::open(&Genesis::default_cluster(), dir, config, hooks).expect("open");
    (engine, seen, entered, release)
}

/// Blocks the UED's sigverify stage has verified the user signatures of.
fn user_sigverify_items(engine: &Engine) -> u64 {
    let metrics = engine.metrics().snapshot();
    let stage = metrics.stages.iter().find(|s| s.name == "sigverify-ued");
    stage.expect("the stage").items
}

/// Waits up to a minute for the UED's sigverify stage to have done `blocks` blocks.
fn user_sigverify_reaches(engine: &Engine, blocks: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while user_sigverify_items(engine) < blocks {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// Submits the blocks after the held vote's, finishes, and checks every outcome and vote
/// point against the sequential runtime's.
fn finished_as_the_sequential_runtime(
    engine: Engine,
    seen: &Seen,
    rest: &[Block],
    sequential: &[BlockOutcome],
) {
    for block in rest {
        engine.submit(block.clone()).expect("submit");
    }
    let summary = engine.finish().expect("finish");
    let (outcomes, votes) = &*seen.lock().unwrap();
    assert!(outcomes[..] == sequential[..], "the sequential outcomes");
    let points: Vec<(u64, [u8; 32])> = votes.iter().map(|v| (v.slot, v.ved_hash)).collect();
    let want: Vec<(u64, [u8; 32])> = sequential.iter().map(|o| (o.slot, o.ved_hash)).collect();
    assert_eq!(points, want);
    let last = sequential.last().unwrap();
    assert_eq!(summary.hashes, [last.ved_hash, last.ued_hash]);
}

#[test]
fn a_blocks_user_signatures_wait_for_its_vote() {
    // The VED holds slot 3's vote point (in the vote hook): the UED's sigverify stage, which
    // verified the user signatures of slots 1 and 2 once their votes were out, leaves slot 3's
    // alone until the vote is out too — however long that takes (an hour's limit here).
    let (blocks, sequential) = generated(6, 12, false);
    let dir = tempfile::tempdir().expect("dir");
    let config = EngineConfig {
        ued_yield_limit: Duration::from_secs(3600),
        ..EngineConfig::default()
    };
    let (engine, seen, entered, release) = open_holding_the_vote_of(dir.path(), 3, config);
    for block in &blocks[..3] {
        engine.submit(block.clone()).expect("submit");
    }
    entered.recv().expect("the VED at slot 3's vote point");
    assert!(user_sigverify_reaches(&engine, 2), "slots 1 and 2 verified");
    // Slots 1 and 2's waits are counted before their signatures are verified.
    let before = engine.metrics().snapshot();
    // A stage that did not wait verifies slot 3's 120 transfers in a few milliseconds.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        user_sigverify_items(&engine),
        2,
        "slot 3's wait for its vote"
    );
    drop(release);
    assert!(
        user_sigverify_reaches(&engine, 3),
        "slot 3 verified once voted"
    );
    // Slot 3 waited, and for its vote: a wait is counted only where the stage found the vote
    // not out (a stage that came late, `SCHED_IDLE` on a busy machine, after the release,
    // would count none — and the items' count above would have proved nothing).
    let metrics = engine.metrics().snapshot();
    assert_eq!(
        metrics.ued_yields,
        before.ued_yields + 1,
        "slot 3's wait counted: {metrics:?}"
    );
    assert!(metrics.ued_yield_ns > before.ued_yield_ns, "{metrics:?}");
    finished_as_the_sequential_runtime(engine, &seen, &blocks[3..], &sequential);
}

#[test]
fn past_its_limit_a_blocks_user_signatures_no_longer_wait_for_its_vote() {
    // The same vote held, with the default limit: slot 3's user signatures are verified while
    // its vote is still held, the limit after they began to wait.
    let (blocks, sequential) = generated(6, 12, false);
    let dir = tempfile::tempdir().expect("dir");
    let (engine, seen, entered, release) =
        open_holding_the_vote_of(dir.path(), 3, EngineConfig::default());
    for block in &blocks[..3] {
        engine.submit(block.clone()).expect("submit");
    }
    entered.recv().expect("the VED at slot 3's vote point");
    assert!(
        user_sigverify_reaches(&engine, 3),
        "slot 3 verified, its vote still held"
    );
    let metrics = engine.metrics().snapshot();
    assert!(metrics.ued_yields >= 1, "slot 3 waited first: {metrics:?}");
    drop(release);
    finished_as_the_sequential_runtime(engine, &seen, &blocks[3..], &sequential);
}

#[test]
fn every_slot_is_judged_against_its_own_total_stake_across_a_restart() {
    // Slashes at the boundaries into epochs 1 and 2 change the VED's total stake: slots of
    // each epoch have their own. The vote log keeps each slot's total (the runtime's sum of the
    // RW-VED vote accounts), so a reopened engine judges every slot as the running one did.
    let (blocks, _) = ledger(100, 5);
    let dir = tempfile::tempdir().expect("dir");
    let (engine, _) = open(dir.path(), 2);
    let vote = |n: usize| chain::pk(&chain::key(&format!("vote-{n}")));
    for (i, block) in blocks.iter().enumerate() {
        match i {
            10 => engine.schedule_slash(vote(0), 2_500).expect("slash"),
            40 => engine.schedule_slash(vote(2), 1_000).expect("slash"),
            _ => {}
        }
        engine.submit(block.clone()).expect("submit");
    }
    let last = blocks.last().unwrap().header.slot;
    engine
        .wait_hash(Domain::Ued, last, Duration::from_secs(60))
        .expect("no failure");
    let slots: Vec<u64> = blocks.iter().map(|b| b.header.slot).collect();
    let totals = |engine: &Engine| -> Vec<u64> {
        slots
            .iter()
            .map(|&s| engine.agreement(Domain::Ved, s).1)
            .collect()
    };
    let live = totals(&engine);
    let distinct: std::collections::BTreeSet<u64> = live.iter().copied().collect();
    assert!(
        distinct.len() >= 3,
        "the total changes at each boundary: {distinct:?}"
    );
    engine.finish().expect("finish");
    let (engine, _) = open(dir.path(), 1);
    assert_eq!(totals(&engine), live);
}

#[test]
fn ingest_is_idle_between_submits() {
    // The caller's time between blocks (reading its ledger, pacing) is ingest's idle time.
    let (blocks, _) = generated(2, 3, false);
    let dir = tempfile::tempdir().expect("dir");
    let (engine, _) = open(dir.path(), 1);
    engine.submit(blocks[0].clone()).expect("submit");
    std::thread::sleep(Duration::from_millis(300));
    engine.submit(blocks[1].clone()).expect("submit");
    let ingest = engine
        .metrics()
        .snapshot()
        .stages
        .into_iter()
        .find(|s| s.name == "ingest")
        .expect("the ingest stage");
    assert!(ingest.idle_ns >= 300_000_000, "{ingest:?}");
    engine.finish().expect("finish");
}

#[test]
fn a_transaction_the_store_has_pruned_is_unknown_to_the_engine_as_to_the_store() {
    // The engine kept the status index it opened with, and answered from it for slots the
    // store pruned since: `Final` where `tandem status` (and the engine after a restart) say
    // `Unknown`.
    use tandem_engine::runtime::status_index::{ExecutionStatus, KEPT_BLOCKS, StatusIndex};
    let (blocks, _) = generated(6, 12, false);
    let (_, ued_tx) = slot_5_signatures(&blocks);
    let dir = tempfile::tempdir().expect("dir");
    let engine = open_with_hooks(dir.path(), EngineHooks::default());
    for block in &blocks {
        engine.submit(block.clone()).expect("submit");
    }
    engine.finish().expect("finish");
    let engine = open_with_hooks(dir.path(), EngineHooks::default());
    assert_eq!(
        engine.execution_status(&ued_tx, 0).unwrap(),
        ExecutionStatus::Final(TxStatus::Success)
    );
    let last = 6 + KEPT_BLOCKS as u64 + 10;
    for block in chain::empty_blocks(7..=last) {
        engine.submit(block).expect("submit");
    }
    engine
        .wait_hash(Domain::Ued, last, Duration::from_secs(60))
        .expect("no failure");
    let store = StatusIndex::load(dir.path(), last).expect("load");
    assert_eq!(store.execution_status(&ued_tx, 0), ExecutionStatus::Unknown);
    assert_eq!(
        engine.execution_status(&ued_tx, 0).unwrap(),
        ExecutionStatus::Unknown
    );
    engine.finish().expect("finish");
}

#[test]
fn the_voters_tables_are_built_before_their_first_votes_and_for_voters_a_boundary_brings() {
    // user-2's new vote account (user-2 its voter and fee payer), activated in epoch 1: it
    // joins the VED at the first slot of epoch 3 (SPEC §5), and its voter with it.
    let mut c = chain::Chain::new();
    let node = chain::key("user-2");
    let vote_key = chain::fresh(10);
    let vote_account = chain::pk(&vote_key);
    c.block(chain::new_vote_account(
        &node,
        &vote_key,
        chain::pk(&node),
        6_000 * chain::SOL,
        c.recent(),
    ));
    c.block(vec![
        chain::vote(0, 1, c.recent()),
        chain::vote(1, 1, c.recent()),
    ]);
    c.enter_epoch(1);
    c.block(vec![chain::node_instruction(
        &node,
        vote_account,
        VoteInstruction::Activate,
        c.recent(),
    )]);
    let boundary = c.enter_epoch(3).slot;
    assert_eq!(c.mapping(&chain::pk(&node)), Some(Mapping::RwVed));
    // user-2's first vote, in the VED.
    let first_vote = VoteInstruction::Vote {
        slot: boundary,
        ved_hash: [1; 32],
        ued: None,
        timestamp_ms: 0,
    };
    let out = c.block(vec![chain::node_instruction(
        &node,
        vote_account,
        first_vote,
        c.recent(),
    )]);
    assert_eq!(last_tx(&out).0, Some(Domain::Ved), "{out:?}");

    let voters = c.genesis.ved_validators().count() as u64;
    let dir = tempfile::tempdir().expect("dir");
    let engine = open_with_hooks(dir.path(), EngineHooks::default());
    let at_start = engine.metrics().snapshot().vote_signers;
    assert_eq!(
        (at_start.tables, at_start.prepared),
        (voters, voters),
        "every VED voter's table, before the first block"
    );
    for (block, _) in &c.history {
        engine.submit(block.clone()).expect("submit");
        engine
            .wait_hash(Domain::Ved, block.header.slot, Duration::from_secs(60))
            .expect("no failure");
        if block.header.slot == boundary {
            // The VED published user-2 as a voter when it crossed: the sigverify stage builds
            // its table while it waits for the next block (a block's time away, in a cluster).
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while engine.metrics().snapshot().vote_signers.prepared < voters + 1 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "user-2's table never came"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
    let after = engine.metrics().snapshot().vote_signers;
    assert_eq!(
        after.without_table, 0,
        "every vote's signature was verified with its voter's table, user-2's first one \
         included: {after:?}"
    );
    // validator-0's and validator-1's votes, then user-2's.
    assert_eq!(after.with_table, 3, "{after:?}");
    assert_eq!(
        (after.tables, after.prepared),
        (voters + 1, voters + 1),
        "user-2's table, built once it joined the VED"
    );
    engine.finish().expect("finish");
}

#[test]
fn after_a_restart_the_ved_transactions_of_the_logged_slots_answer_as_before_the_crash() {
    use tandem_engine::runtime::status_index::ExecutionStatus;
    // The store commits slot 20; the VED had logged up to slot 30. Reopened, the VED's own
    // transactions of slots 21..30 answer from the log at once (X = 0: as soon as their
    // domain's executor ran — before the crash), the UED's only once their blocks come again.
    let (blocks, sequential) = ledger(31, 4);
    let dir = committed_through(&blocks, 20);
    log_ved_ahead(dir.path(), &blocks[20..30]);
    let logged: Vec<_> = sequential[20..30]
        .iter()
        .flat_map(|o| &o.transactions)
        .filter_map(|t| Some((t.signature?, t.domain, t.status)))
        .collect();
    let ved: Vec<_> = logged
        .iter()
        .filter(|(_, domain, _)| *domain == Some(Domain::Ved))
        .collect();
    assert!(ved.len() >= 20, "votes in every logged slot");
    let (engine, _) = open(dir.path(), 1);
    assert_eq!(engine.ved_resumed_slot(), 30);
    for (signature, _, status) in &ved {
        assert_eq!(
            engine.execution_status(signature, 0).unwrap(),
            ExecutionStatus::Final(*status),
            "a VED transaction of a logged slot"
        );
    }
    let (ued_signature, ..) = logged
        .iter()
        .find(|(_, domain, _)| *domain == Some(Domain::Ued))
        .expect("user transactions");
    assert_eq!(
        engine.execution_status(ued_signature, 0).unwrap(),
        ExecutionStatus::Unknown,
        "not in the VED's log"
    );
    for block in &blocks[20..] {
        engine.submit(block.clone()).expect("submit");
    }
    engine
        .wait_hash(Domain::Ued, 31, Duration::from_secs(60))
        .expect("no failure");
    for (signature, _, status) in &logged {
        assert_eq!(
            engine.execution_status(signature, 0).unwrap(),
            ExecutionStatus::Final(*status),
            "once the blocks came again"
        );
    }
    engine.finish().expect("finish");
}

/// `submit_received` counts a block's time-to-vote from when the host took it in (the C ABI:
/// before it decoded the block's bytes); a moment after the call counts as the call's start.
#[test]
fn time_to_vote_counts_from_when_the_block_was_received() {
    let (blocks, _) = generated(3, 7, false);
    let dir = tempfile::tempdir().expect("dir");
    let (engine, seen) = open(dir.path(), 1);
    let back = Duration::from_secs(5);
    let now = Instant::now();
    let began = Instant::now();
    engine.submit(blocks[0].clone()).expect("submit");
    engine
        .submit_received(blocks[1].clone(), now.checked_sub(back).unwrap_or(now))
        .expect("submit_received");
    engine
        .submit_received(blocks[2].clone(), Instant::now() + back)
        .expect("submit_received, a later moment");
    engine.finish().expect("finish");
    // Blocks 0 and 2 count from within the run (the later moment as the call's start), block 1
    // from `back` before it: bounded by the run's own span, not by a time a busy machine may
    // pass.
    let span = began.elapsed();
    let votes = std::mem::take(&mut seen.lock().unwrap().1);
    let ttv: Vec<Duration> = votes.iter().map(|v| v.time_to_vote).collect();
    assert_eq!(ttv.len(), 3);
    assert!(ttv[1] >= back, "{ttv:?}");
    assert!(
        ttv[0] <= span && ttv[2] <= span,
        "{ttv:?} in a run of {span:?}"
    );
    assert!(ttv[2] > Duration::ZERO, "{ttv:?}");
    // The steps of each vote's path, from the same moment, within its time: the votes
    // verified before the VED executes; the VED's execution and the verdict in either order
    // (the VED executes a block with user transactions ahead of its verdict), the vote point
    // after both.
    for vote in &votes {
        let path = vote.path.expect("executed by the VED");
        assert!(path.votes_verified <= path.ved_executed, "{vote:?}");
        assert!(path.verdict <= vote.time_to_vote, "{vote:?}");
        assert!(path.ved_executed <= vote.time_to_vote, "{vote:?}");
    }
    assert!(votes[1].path.unwrap().votes_verified >= back, "{votes:?}");
}

#[test]
fn a_block_at_the_last_slot_there_is_commits_and_the_engine_goes_on() {
    // SPEC §4 lets a block skip to slot u64::MAX where an epoch is that long. The UED's
    // commit of it pruned the VED's log from slot `committed + 1`: an overflow that stopped
    // the engine (the UED's thread panicked) in a build with overflow checks, and pruned from
    // slot 0 in one without.
    let mut genesis = Genesis::default_cluster();
    genesis.cluster.slots_per_epoch = u64::MAX;
    let block = Block {
        header: tandem_engine::ledger::BlockHeader {
            slot: u64::MAX,
            parent_slot: 0,
            leader: tandem_engine::Pubkey([1; 32]),
            unix_timestamp_ms: genesis.cluster.unix_timestamp_ms,
            blockhash: [0xab; 32],
        },
        transactions: vec![].into(),
    };
    let dir = tempfile::tempdir().expect("dir");
    let engine = Engine::open(
        &genesis,
        dir.path(),
        EngineConfig::default(),
        EngineHooks::default(),
    )
    .expect("open");
    engine.submit(block).expect("submit");
    let waited = engine.wait_hash(Domain::Ued, u64::MAX, Duration::from_secs(60));
    assert!(matches!(waited, Ok(Waited::Hash(_))), "{waited:?}");
    engine.finish().expect("a clean finish");
}

#[test]
fn a_block_at_slot_0_is_refused() {
    // Slot 0 is genesis (SPEC §4: a block's slot is after its parent's).
    let dir = tempfile::tempdir().expect("dir");
    let (engine, _) = open(dir.path(), 1);
    let (blocks, _) = generated(1, 8, false);
    let mut block = blocks[0].clone();
    block.header.slot = 0;
    let refused = engine.submit(block);
    assert!(
        matches!(
            refused,
            Err(EngineError::Rejected(RuntimeError::SlotNotAfterParent {
                slot: 0,
                ..
            }))
        ),
        "{refused:?}"
    );
    engine
        .submit(blocks[0].clone())
        .expect("the block at its own slot");
    let waited = engine.wait_hash(Domain::Ued, blocks[0].header.slot, Duration::from_secs(60));
    assert!(matches!(waited, Ok(Waited::Hash(_))), "{waited:?}");
}
