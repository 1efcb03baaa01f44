//! SPEC §4: the clock rule, per-domain LtHashes kept incrementally, the hash chain and its
//! genesis value; and determinism: the same genesis and ledger give the same hashes in every run
//! and after a restart from the store.

mod chain;

use chain::*;
use sha2::{Digest, Sha256};
use tandem_engine::Domain::{self, Ued, Ved};
use tandem_engine::PerDomain;
use tandem_engine::account::Mapping;
use tandem_engine::genesis::Genesis;
use tandem_engine::ledger::Block;
use tandem_engine::runtime::builtins::system::SystemInstruction;
use tandem_engine::runtime::state::StateFileError;
use tandem_engine::runtime::{Runtime, RuntimeError, TxStatus};
use tandem_engine::sample::SYSTEM_PROGRAM_ID;
use tandem_engine::tx::{AccountMeta, Transaction};
use tandem_engine::workload::{WorkloadConfig, generate};
use tandem_kernels::hash::lthash::{AccountInput, LtHash};
use tandem_kernels::{Backend, lthash_accounts};

/// Every domain's LtHash recomputed from every account in the store.
fn recomputed(rt: &Runtime, domain: Domain) -> LtHash {
    let accounts: Vec<_> = rt
        .store()
        .keys()
        .filter(|(_, m)| m.readable_by(domain))
        .map(|(k, _)| rt.account(&k).expect("listed"))
        .collect();
    let inputs: Vec<AccountInput<'_>> = accounts
        .iter()
        .map(|a| AccountInput {
            pubkey: &a.pubkey.0,
            owner: &a.owner.0,
            lamports: a.lamports,
            executable: a.executable,
            data: &a.data,
        })
        .collect();
    let mut each = vec![LtHash::identity(); inputs.len()];
    lthash_accounts(Backend::Cpu, &inputs, &mut each).expect("cpu");
    let mut sum = LtHash::identity();
    for h in &each {
        sum.mix_in(h);
    }
    sum
}

#[test]
fn genesis_hash_is_sha256_of_tandem_domain_and_lthash() {
    let c = Chain::new();
    for (domain, name) in [(Ved, "VED"), (Ued, "UED")] {
        let lthash = recomputed(&c.rt, domain);
        assert_eq!(c.rt.lthash(domain), &lthash);
        let expected: [u8; 32] = Sha256::new()
            .chain_update(b"tandem:")
            .chain_update(name)
            .chain_update(lthash.to_bytes())
            .finalize()
            .into();
        assert_eq!(c.rt.hash(domain), expected);
    }
    // The builtins are RX-UED-VED: they count in both; vote-0 only in the VED.
    assert_ne!(c.rt.lthash(Ved), c.rt.lthash(Ued));
}

#[test]
fn each_slot_chains_sig_count_blockhash_and_the_incremental_lthash() {
    let mut c = Chain::new();
    let blocks = workload(40, 1, 1.0);
    for block in blocks {
        let previous = PerDomain::from_fn(|domain| c.rt.hash(domain));
        let out = c.run(block.clone()).expect("block");
        for domain in [Ved, Ued] {
            // The incremental LtHash equals a recomputation over the store.
            let lthash = recomputed(&c.rt, domain);
            assert_eq!(c.rt.lthash(domain), &lthash, "slot {} {domain}", out.slot);
            let h: [u8; 32] = Sha256::new()
                .chain_update(previous[domain])
                .chain_update(out.sig_counts[domain].to_le_bytes())
                .chain_update(block.header.blockhash)
                .finalize()
                .into();
            let expected: [u8; 32] = Sha256::new()
                .chain_update(h)
                .chain_update(lthash.to_bytes())
                .finalize()
                .into();
            assert_eq!(c.rt.hash(domain), expected);
        }
        // sig_count_D counts every signature of each transaction that executed or failed in D
        // (the ones that paid a fee), and nothing else.
        for domain in [Ved, Ued] {
            let counted: u64 = out
                .transactions
                .iter()
                .zip(&block.transactions)
                .filter(|(t, _)| t.domain == Some(domain) && t.status.fee_charged())
                .map(|(_, wire)| {
                    Transaction::parse(wire).expect("parses").signatures().len() as u64
                })
                .sum();
            assert_eq!(
                out.sig_counts[domain], counted,
                "slot {} {domain}",
                out.slot
            );
        }
    }
}

#[test]
fn clock_rule_bounds_parent_to_parent_plus_1000_ms() {
    let mut c = Chain::new();
    c.block(vec![]);
    let at = |c: &Chain, delta: i64| {
        let mut b = c.make_block(c.rt.slot() + 1, vec![]);
        b.header.unix_timestamp_ms = c.ts + delta;
        b
    };
    let before = (c.rt.slot(), c.rt.hash(Ved), c.rt.hash(Ued));
    for delta in [-1, 1_001] {
        let err = c.run(at(&c, delta)).expect_err("clock rule");
        assert!(matches!(err, RuntimeError::ClockViolation { .. }), "{err}");
        assert!(err.to_string().contains("clock rule"), "{err}");
        assert_eq!(
            (c.rt.slot(), c.rt.hash(Ved), c.rt.hash(Ued)),
            before,
            "nothing changed"
        );
    }
    // The bounds themselves are allowed.
    c.run(at(&c, 0)).expect("ts = parent");
    c.run(at(&c, 1_000)).expect("ts = parent + 1000");
}

#[test]
fn blocks_must_follow_the_last_slot() {
    let mut c = Chain::new();
    let mut b = c.make_block(5, vec![]);
    b.header.parent_slot = 3;
    assert!(matches!(
        c.run(b).unwrap_err(),
        RuntimeError::ParentMismatch { .. }
    ));
    let mut b = c.make_block(0, vec![]);
    b.header.parent_slot = 0;
    assert!(matches!(
        c.run(b).unwrap_err(),
        RuntimeError::SlotNotAfterParent { .. }
    ));
    // A transaction that does not parse rejects the block, naming it; nothing changes.
    let b = c.make_block(1, vec![vec![1, 2, 3]]);
    let err = c.run(b).unwrap_err();
    assert!(err.to_string().contains("transaction 0"), "{err}");
    assert_eq!(c.rt.slot(), 0);
    c.block(vec![]);
}

#[test]
fn a_block_may_skip_at_most_one_epoch_of_slots() {
    // SPEC §4: slot − parent_slot ≤ slots_per_epoch (32 here), so a block crosses at most one
    // epoch boundary. Beyond it the block is refused at once, naming both slots, and nothing
    // changes — a block at slot 2^64 − 1 once made the boundary loop run ~10^17 times.
    let mut c = Chain::new();
    c.block(vec![]);
    let before = (c.rt.slot(), c.rt.epoch(), c.rt.hash(Ved), c.rt.hash(Ued));
    // Run where a hang fails the test instead of stalling the suite.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rejections: Vec<RuntimeError> = [u64::MAX, 1 + 33]
            .into_iter()
            .map(|slot| c.run(c.make_block(slot, vec![])).expect_err("refused"))
            .collect();
        let _ = tx.send((c, rejections));
    });
    let (mut c, rejections) = rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("the blocks were refused at once, not executed");
    for (err, slot) in rejections.iter().zip([u64::MAX, 34]) {
        assert!(matches!(err, RuntimeError::SlotGapTooLarge { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(&format!("the block of slot {slot}:")) && text.contains("parent slot 1"),
            "{text}"
        );
    }
    assert_eq!(
        (c.rt.slot(), c.rt.epoch(), c.rt.hash(Ved), c.rt.hash(Ued)),
        before,
        "nothing changed"
    );
    // A gap of exactly one epoch is allowed, and its one boundary is processed.
    let out = c.block_at(1 + 32, vec![]);
    assert_eq!((out.slot, c.rt.epoch()), (33, 1));
}

#[test]
fn a_reopened_runtime_rebuilds_the_duplicate_window_from_its_status_files() {
    // 170 blocks of transfers, one with a bad signature, and block 100 including block 10's
    // transfer again (a duplicate). The state file holds only the window's shape; reopened at
    // blocks 40, 80, 120, 160 and 170 — by 170 the original of the duplicate has left the
    // window, the duplicate's block has not — the runtime has the state it had, window
    // included. With a status file of the window gone, open says which shape it expected.
    let mut c = Chain::new();
    let (from, to) = (key("user-1"), pk(&key("user-2")));
    let mut first = Vec::new();
    for i in 0..170u64 {
        let mut txs = vec![transfer(&from, to, 1 + i, c.recent())];
        match i {
            10 => first = txs[0].clone(),
            50 => {
                let mut bad = transfer(&from, to, 7, c.recent());
                bad[5] ^= 1; // inside the signature
                txs.push(bad);
            }
            100 => txs.push(first.clone()),
            _ => {}
        }
        let out = c.block(txs);
        if i == 100 {
            assert_eq!(out.transactions[1].status, TxStatus::DuplicateSignature);
        }
    }
    let dir = tempfile::tempdir().expect("dir");
    let genesis = Genesis::default_cluster();
    let mut rt = Runtime::open(&genesis, dir.path()).expect("open");
    for (i, (block, _)) in c.history.iter().enumerate() {
        rt.execute_block(block).expect("block");
        if [39, 79, 119, 159, 169].contains(&i) {
            let before = rt.state().clone();
            drop(rt);
            rt = Runtime::open(&genesis, dir.path()).expect("reopen");
            assert!(
                rt.state() == &before,
                "block {i}: the state reopened differs"
            );
        }
    }
    assert_eq!(rt.state(), c.rt.state());
    let slot = rt.slot();
    drop(rt);
    std::fs::remove_file(dir.path().join(format!("status-{}.idx", slot - 3))).expect("remove");
    let err = Runtime::open(&genesis, dir.path()).err().expect("refused");
    let text = err.to_string();
    assert!(
        text.contains(&format!("runtime-{slot}.state"))
            && text.contains("150 blocks")
            && text.contains("status file is missing"),
        "{text}"
    );
}

#[test]
fn a_killed_runs_partial_files_are_removed_when_the_store_opens_again() {
    // Each kill during a replace left `.NAME.partial-PID` (a status file's 1.6 MB) that no
    // later run — another PID — wrote over or removed.
    let dir = tempfile::tempdir().expect("dir");
    drop(Runtime::open(&Genesis::default_cluster(), dir.path()).expect("open"));
    let left = [".status-5.idx.partial-4242", ".agreement.idx.partial-17"];
    let kept = [".status-5.idx.partial-", "notes.partial-3", ".x.partial-1a"];
    for name in left.iter().chain(&kept) {
        std::fs::write(dir.path().join(name), [0u8; 64]).expect("write");
    }
    drop(Runtime::open(&Genesis::default_cluster(), dir.path()).expect("reopen"));
    for name in left {
        assert!(!dir.path().join(name).exists(), "{name} left");
    }
    for name in kept {
        assert!(
            dir.path().join(name).exists(),
            "{name} is not a partial file: kept"
        );
    }
}

#[test]
fn a_runtime_state_file_of_the_retired_format_is_refused_by_name() {
    // TNDMRTS1 kept a duplicate window per domain, counted in slots; reading it as the one window
    // counted in blocks would forget signatures, so it is refused, not converted.
    let dir = tempfile::tempdir().expect("dir");
    drop(Runtime::open(&Genesis::default_cluster(), dir.path()).expect("open"));
    let path = dir.path().join("runtime-0.state");
    let mut bytes = std::fs::read(&path).expect("state file");
    bytes[..8].copy_from_slice(b"TNDMRTS1");
    std::fs::write(&path, &bytes).expect("write");
    let err = Runtime::open(&Genesis::default_cluster(), dir.path())
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("TNDMRTS1") && text.contains("TNDMRTS3") && text.contains("runtime-0.state"),
        "{text}"
    );
}

/// The blocks `tandem gen` writes for the default cluster.
fn workload(slots: u64, seed: u64, remap_pct: f64) -> Vec<Block> {
    let config = WorkloadConfig {
        slots,
        seed,
        remap_pct,
        ..WorkloadConfig::default()
    };
    chain::generated_blocks(&Genesis::default_cluster(), &config).0
}

#[test]
fn the_same_genesis_and_ledger_give_the_same_hashes_in_every_run_and_after_a_restart() {
    // 70 slots: three epochs, so remaps requested in epoch 0 move at the start of epoch 2.
    let blocks = workload(70, 7, 5.0);
    assert_eq!(
        blocks,
        workload(70, 7, 5.0),
        "the generator is deterministic"
    );
    let genesis = Genesis::default_cluster();
    let run = |dir: &std::path::Path, blocks: &[Block]| {
        let mut rt = Runtime::open(&genesis, dir).expect("open");
        let resumed = rt.slot();
        blocks
            .iter()
            .filter(|b| b.header.slot > resumed)
            .map(|b| {
                let out = rt.execute_block(b).expect("block");
                (out.slot, out.ved_hash, out.ued_hash)
            })
            .collect::<Vec<_>>()
    };
    let a = tempfile::tempdir().expect("dir");
    let b = tempfile::tempdir().expect("dir");
    let whole = run(a.path(), &blocks);
    assert_eq!(whole, run(b.path(), &blocks), "a second run");
    // Restart: 30 blocks, close, reopen the store, the rest.
    let r = tempfile::tempdir().expect("dir");
    let mut restarted = run(r.path(), &blocks[..30]);
    restarted.extend(run(r.path(), &blocks));
    assert_eq!(whole, restarted, "after a restart from the store");
    // The workload exercised both domains and the remaps.
    let fresh = tempfile::tempdir().expect("dir");
    let mut rt = Runtime::open(&genesis, fresh.path()).expect("open");
    let mut statuses = std::collections::BTreeSet::new();
    for b in &blocks {
        for t in rt.execute_block(b).expect("block").transactions {
            statuses.insert((t.domain.map(|d| d.name()), t.status.name()));
        }
    }
    for expected in [
        (Some("VED"), TxStatus::Success.name()),
        (Some("UED"), TxStatus::Success.name()),
        (Some("UED"), TxStatus::DomainViolation.name()),
        (Some("UED"), TxStatus::WritableProgram.name()),
        (Some("UED"), TxStatus::InsufficientFundsForFee.name()),
        (None, TxStatus::InvalidSignature.name()),
    ] {
        assert!(statuses.contains(&expected), "{expected:?} in {statuses:?}");
    }
}

#[test]
fn a_store_from_another_genesis_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    Runtime::open(&Genesis::default_cluster(), dir.path()).expect("open");
    let other = Genesis::from_toml_str(
        &tandem_engine::genesis::DEFAULT_GENESIS_TOML
            .replace("slots_per_epoch = 32", "slots_per_epoch = 16"),
    )
    .expect("valid");
    let err = Runtime::open(&other, dir.path()).err().expect("refused");
    assert!(matches!(err, RuntimeError::GenesisMismatch { .. }), "{err}");
    // Named first, before anything else the store's files may have wrong (a status file of
    // the window gone gave "a status file is missing or damaged" for another genesis).
    let mut runtime = Runtime::open(&Genesis::default_cluster(), dir.path()).expect("open");
    for block in empty_blocks(1..=2) {
        runtime.execute_block(&block).expect("an empty block");
    }
    drop(runtime);
    std::fs::remove_file(dir.path().join("status-1.idx")).expect("slot 1's status file");
    let err = Runtime::open(&other, dir.path()).err().expect("refused");
    assert!(matches!(err, RuntimeError::GenesisMismatch { .. }), "{err}");
}

#[test]
fn a_genesis_of_the_same_hash_but_other_contents_is_refused() {
    // `genesis_hash` given explicitly (as `Genesis::to_toml` writes it) names the blockhash
    // only: a store made from it is not resumed with other cluster parameters, accounts or
    // validators that keep the hash; the same genesis written otherwise resumes it.
    let dir = tempfile::tempdir().expect("dir");
    let explicit = Genesis::default_cluster().to_toml();
    let genesis = Genesis::from_toml_str(&explicit).expect("valid");
    let mut runtime = Runtime::open(&genesis, dir.path()).expect("open");
    for block in empty_blocks(1..=2) {
        runtime.execute_block(&block).expect("an empty block");
    }
    drop(runtime);
    let changed = [
        explicit.replace("slots_per_epoch = 32", "slots_per_epoch = 16"),
        explicit.replace("unix_timestamp_ms = 1", "unix_timestamp_ms = 2"),
        explicit.replacen("lamports = ", "lamports = 1", 1),
    ];
    for text in changed {
        assert_ne!(text, explicit, "the replacement applies");
        let other = Genesis::from_toml_str(&text).expect("valid");
        assert_eq!(other.hash, genesis.hash, "the same genesis hash");
        let err = Runtime::open(&other, dir.path()).err().expect("refused");
        assert!(matches!(err, RuntimeError::GenesisChanged { .. }), "{err}");
        assert!(err.to_string().contains("slots_per_epoch"), "{err}");
    }
    let respaced = explicit.replace(" = ", "=").replace('\n', "\n\n");
    let same = Genesis::from_toml_str(&respaced).expect("valid");
    let runtime = Runtime::open(&same, dir.path()).expect("the same genesis resumes");
    assert_eq!(runtime.state().slot, 2);
}

#[test]
fn a_corrupt_runtime_state_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    drop(Runtime::open(&Genesis::default_cluster(), dir.path()).expect("open"));
    let path = dir.path().join("runtime-0.state");
    let mut bytes = std::fs::read(&path).expect("state file");
    bytes[40] ^= 1;
    std::fs::write(&path, &bytes).expect("write");
    let err = Runtime::open(&Genesis::default_cluster(), dir.path())
        .err()
        .expect("refused");
    assert!(err.to_string().contains("checksum"), "{err}");
    std::fs::write(&path, &bytes[..100]).expect("write");
    let err = Runtime::open(&Genesis::default_cluster(), dir.path())
        .err()
        .expect("refused");
    assert!(err.to_string().contains("runtime-0.state"), "{err}");
}

#[test]
fn the_files_a_crash_left_past_the_stores_commit_are_passed_over_and_written_again() {
    // The runtime writes a slot's status file, vote log record and state file before the store
    // commits it: a crash in between leaves them for a slot the store does not have — here
    // cut short, as a crash mid-write leaves them. The reopened runtime stands at the store's
    // slot, executes that slot again and writes its files anew: it reopens there, with the
    // hashes of a run that never crashed.
    let blocks: Vec<_> = empty_blocks(1..=4).collect();
    let reference = tempfile::tempdir().expect("dir");
    let mut whole = Runtime::open(&Genesis::default_cluster(), reference.path()).expect("open");
    let last = blocks
        .iter()
        .map(|b| whole.execute_block(b).expect("block"))
        .last();
    let last = last.expect("blocks");

    let dir = tempfile::tempdir().expect("dir");
    let mut runtime = Runtime::open(&Genesis::default_cluster(), dir.path()).expect("open");
    for block in &blocks[..3] {
        runtime.execute_block(block).expect("block");
    }
    drop(runtime);
    let state_3 = std::fs::read(dir.path().join("runtime-3.state")).expect("slot 3's state");
    std::fs::write(
        dir.path().join("runtime-4.state"),
        &state_3[..state_3.len() / 2],
    )
    .expect("a torn state file of slot 4");
    let status_3 = std::fs::read(dir.path().join("status-3.idx")).expect("slot 3's statuses");
    std::fs::write(dir.path().join("status-4.idx"), &status_3[..10]).expect("a torn one");
    let mut runtime = Runtime::open(&Genesis::default_cluster(), dir.path()).expect("reopens");
    assert_eq!(runtime.slot(), 3);
    let again = runtime.execute_block(&blocks[3]).expect("slot 4 again");
    assert_eq!(
        (again.ved_hash, again.ued_hash),
        (last.ved_hash, last.ued_hash)
    );
    drop(runtime);
    let runtime = Runtime::open(&Genesis::default_cluster(), dir.path()).expect("reopens at 4");
    assert_eq!(runtime.slot(), 4);
    assert_eq!(runtime.hash(Domain::Ued), last.ued_hash);
}

#[test]
fn a_damaged_status_file_or_a_missing_state_file_is_corruption_not_an_io_failure() {
    // A status file failing its checksum and a state file of the committed slot gone were
    // `RuntimeError::Io` (TANDEM_ERR_IO through the C ABI: "an operating-system I/O error"),
    // where a damaged state file was already corruption.
    let blocks: Vec<_> = empty_blocks(1..=3).collect();
    let dir = tempfile::tempdir().expect("dir");
    let mut runtime = Runtime::open(&Genesis::default_cluster(), dir.path()).expect("open");
    for block in &blocks {
        runtime.execute_block(block).expect("block");
    }
    drop(runtime);
    let status = dir.path().join("status-2.idx");
    let mut bytes = std::fs::read(&status).expect("slot 2's statuses");
    bytes[20] ^= 0x5a;
    std::fs::write(&status, &bytes).expect("damaged");
    let err = Runtime::open(&Genesis::default_cluster(), dir.path())
        .err()
        .expect("refused");
    assert!(
        matches!(&err, RuntimeError::CorruptFile { path, .. } if *path == status),
        "{err:?}"
    );
    bytes[20] ^= 0x5a;
    std::fs::write(&status, &bytes).expect("mended");
    std::fs::remove_file(dir.path().join("runtime-3.state")).expect("removed");
    let err = Runtime::open(&Genesis::default_cluster(), dir.path())
        .err()
        .expect("refused");
    assert!(
        matches!(
            &err,
            RuntimeError::StateFile(StateFileError::Corrupt { .. })
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(
            "runtime-3.state: corrupt runtime state: missing: the store committed slot 3"
        ),
        "{err}"
    );
}

#[test]
fn a_store_missing_a_region_file_is_reported_as_such_not_recreated() {
    let dir = tempfile::tempdir().expect("dir");
    drop(Runtime::open(&Genesis::default_cluster(), dir.path()).expect("open"));
    let region = std::fs::read_dir(dir.path())
        .expect("store dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".pages"))
        .expect("a region file");
    std::fs::remove_file(&region).expect("remove");
    let err = Runtime::open(&Genesis::default_cluster(), dir.path())
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("is missing") && !text.contains("already holds"),
        "{text}"
    );
}

#[test]
fn the_ued_pass_gives_the_sequential_results_on_any_number_of_threads() {
    // A block of 300 independent transfers (one wave, decided on several threads), with
    // conflicting ones (a payer twice, a recipient that pays later), an unfunded payer and a
    // mixed transaction among them; then 70 slots of the generated workload (remaps, moves,
    // creations: waves with dependencies). Statuses, accounts and hashes equal the sequential
    // ones for 1, 2 and 4 threads.
    let run = |threads: usize| {
        let mut c = Chain::new();
        c.rt.set_ued_threads(threads);
        assert_eq!(c.rt.ued_threads(), threads);
        let funders: Vec<_> = (0..300).map(fresh).collect();
        let fund = funders
            .iter()
            .map(|k| transfer(&key("user-0"), pk(k), SOL, c.recent()))
            .collect();
        let mut outcomes = vec![c.block(fund)];
        let mut txs: Vec<Vec<u8>> = funders
            .iter()
            .enumerate()
            .map(|(i, k)| transfer(k, pk(&fresh(1_000 + i as u64)), SOL / 2, c.recent()))
            .collect();
        txs.insert(
            7,
            transfer(&funders[9], pk(&fresh(2_000)), SOL / 4, c.recent()),
        );
        txs.insert(
            50,
            transfer(&fresh(1_003), pk(&fresh(2_001)), 1, c.recent()),
        );
        txs.push(transfer(&fresh(5_000), pk(&fresh(2_002)), 1, c.recent()));
        txs.push(transfer(&funders[1], pk(&key("vote-0")), 1, c.recent()));
        // Dependencies within the block, each behind the large first wave (found uncovered in
        // review): a payer its own transfers and fees empty to exactly 0, then refused, paid
        // again, and paying; a transfer failing (ProgramError) whose payer pays after it; an
        // account asking to move twice (the second refused) and a transfer to it after.
        let emptied = &funders[20];
        let (left, to) = (SOL / 2 - FEE, pk(&fresh(2_003)));
        txs.push(transfer(emptied, to, left - FEE, c.recent()));
        txs.push(transfer(emptied, to, 1, c.recent()));
        txs.push(transfer(&funders[21], pk(emptied), SOL / 8, c.recent()));
        txs.push(transfer(emptied, to, 2, c.recent()));
        txs.push(transfer(&funders[22], to, 2 * SOL, c.recent()));
        txs.push(transfer(&funders[22], to, 3, c.recent()));
        let to_ved = SystemInstruction::RemapDomain {
            target: Mapping::RwVed.tag(),
        };
        txs.push(remap(&funders[23], Mapping::RwVed.tag(), c.recent()));
        // The same request in another message (an account more): refused (262,
        // `InvalidArgument`), one is pending.
        let again = [
            AccountMeta::new(pk(&funders[23]), true),
            AccountMeta::new_readonly(pk(&fresh(2_004)), false),
        ];
        let (program, data) = (SYSTEM_PROGRAM_ID, to_ved.encode());
        txs.push(tx(&[&funders[23]], program, &again, &data, c.recent()));
        txs.push(transfer(&funders[24], pk(&funders[23]), 4, c.recent()));
        outcomes.push(c.block(txs));
        for mut block in workload(70, 3, 5.0) {
            // The generated blocks start at slot 1 on their own chain: continue after ours.
            block.header.slot += 2;
            block.header.parent_slot += 2;
            block.header.unix_timestamp_ms = c.ts + 400;
            outcomes.push(c.run(block).expect("block"));
        }
        let mut accounts: Vec<_> =
            c.rt.store()
                .keys()
                .map(|(k, _)| c.rt.account(&k).expect("listed"))
                .collect();
        accounts.sort_by_key(|a| a.pubkey);
        (outcomes, accounts)
    };
    let (sequential, accounts) = run(1);
    let statuses = |outcomes: &[tandem_engine::runtime::BlockOutcome]| -> Vec<TxStatus> {
        outcomes
            .iter()
            .flat_map(|o| o.transactions.iter().map(|t| t.status))
            .collect()
    };
    let all = statuses(&sequential);
    // The dependencies' statuses, in block order (the last nine transactions of block 2).
    let block = &sequential[1].transactions;
    let dependent: Vec<TxStatus> = block[block.len() - 9..].iter().map(|t| t.status).collect();
    use TxStatus::*;
    assert_eq!(
        dependent,
        [
            Success,
            InsufficientFundsForFee,
            Success,
            Success,
            ProgramError(1),
            Success,
            Success,
            ProgramError(262),
            Success,
        ],
        "{dependent:?}"
    );
    assert!(all.contains(&TxStatus::InsufficientFundsForFee), "{all:?}");
    assert!(all.contains(&TxStatus::DomainViolation), "{all:?}");
    assert!(all.iter().filter(|s| **s == TxStatus::Success).count() > 500);
    for threads in [2, 4] {
        let (outcomes, others) = run(threads);
        assert!(outcomes == sequential, "{threads} threads: other outcomes");
        assert!(others == accounts, "{threads} threads: other accounts");
    }
}

#[test]
fn a_status_file_a_crash_left_past_the_commit_is_removed_when_the_runtime_opens() {
    // A crash after the status file of slot 4 was written, before the store committed slot 4:
    // the chain then resumes on another fork that skips slot 4. Read as committed once the
    // chain passed it, the leftover file put its signatures in the duplicate window a second
    // time, and the store could not be opened again.
    let dir = tempfile::tempdir().expect("dir");
    let genesis = Genesis::default_cluster();
    let mut c = Chain::new();
    let user = key("user-0");
    for n in 0..3 {
        c.block(vec![transfer(&user, pk(&fresh(n)), SOL, c.recent())]);
    }
    let mut rt = Runtime::open(&genesis, dir.path()).expect("open");
    for (block, _) in &c.history {
        rt.execute_block(block).expect("block");
    }
    drop(rt);
    let mut leftover = std::fs::read(dir.path().join("status-3.idx")).expect("slot 3's file");
    leftover[8..16].copy_from_slice(&4u64.to_le_bytes());
    let end = leftover.len() - 8;
    let sum = xxhash_rust::xxh3::xxh3_64(&leftover[..end]);
    leftover[end..].copy_from_slice(&sum.to_le_bytes());
    let path = dir.path().join("status-4.idx");
    std::fs::write(&path, &leftover).expect("write");
    let mut rt = Runtime::open(&genesis, dir.path()).expect("open");
    let next = c.make_block(5, vec![transfer(&user, pk(&fresh(9)), SOL, c.recent())]);
    rt.execute_block(&next).expect("slot 5, skipping 4");
    drop(rt);
    let rt = Runtime::open(&genesis, dir.path()).expect("reopens after slot 5");
    assert_eq!(rt.slot(), 5);
    assert!(!path.exists(), "removed at open");
}

#[test]
fn a_damaged_vote_log_is_an_error_naming_its_segment_and_a_cut_short_record_is_not() {
    // 70 blocks: the vote log's first segment (slots 1–64) is whole, the second holds the rest.
    let mut c = Chain::new();
    let (from, to) = (key("user-1"), pk(&key("user-2")));
    for i in 0..70u64 {
        c.block(vec![transfer(&from, to, 1 + i, c.recent())]);
    }
    let dir = tempfile::tempdir().expect("dir");
    let genesis = Genesis::default_cluster();
    let mut rt = Runtime::open(&genesis, dir.path()).expect("open");
    for (block, _) in &c.history {
        rt.execute_block(block).expect("block");
    }
    drop(rt);
    // Slot 71's record cut short by a crash mid-append (never committed): opening cuts it off.
    let last = dir.path().join("votes-65.log");
    let whole = std::fs::read(&last).expect("the second segment");
    let mut torn = std::fs::OpenOptions::new()
        .append(true)
        .open(&last)
        .expect("open");
    std::io::Write::write_all(&mut torn, &[200, 1, 0, 0, 0, 0, 0, 0, 71, 0]).expect("append");
    drop(torn);
    drop(Runtime::open(&genesis, dir.path()).expect("a torn tail is not damage"));
    assert_eq!(
        std::fs::read(&last).expect("read"),
        whole,
        "cut back to slot 70's record"
    );
    // A damaged record before the end: the runtime does not open, and says where.
    let first = dir.path().join("votes-1.log");
    let mut bytes = std::fs::read(&first).expect("the first segment");
    bytes[100] ^= 1;
    std::fs::write(&first, bytes).expect("write");
    let err = Runtime::open(&genesis, dir.path()).err().expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("votes-1.log") && text.contains("damaged vote log"),
        "{text}"
    );
}

#[test]
fn a_store_reopened_every_few_slots_still_prunes_its_vote_log() {
    // The vote log was pruned once every 64 commits of one process: a store opened for fewer
    // (a C ABI host opening per session, a crash loop) kept every segment, one per open.
    let genesis = Genesis::default_cluster();
    let dir = tempfile::tempdir().unwrap();
    let mut blocks = empty_blocks(1..=500);
    for _ in 0..50 {
        let mut rt = Runtime::open(&genesis, dir.path()).unwrap();
        for block in blocks.by_ref().take(10) {
            rt.execute_block(&block).unwrap();
        }
    }
    let mut firsts: Vec<u64> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            name.to_str()?
                .strip_prefix("votes-")?
                .strip_suffix(".log")?
                .parse()
                .ok()
        })
        .collect();
    firsts.sort_unstable();
    // 500 slots committed; the status index answers for the last 300 (201..=500), and the
    // cluster view keeps their reports: segments wholly before slot 201 are gone.
    assert!(
        firsts[0] > 150,
        "votes-{}.log is still there ({} segments)",
        firsts[0],
        firsts.len()
    );
}

#[test]
fn the_generator_refuses_a_clock_it_cannot_advance_and_any_slot_count() {
    use tandem_engine::genesis::DEFAULT_GENESIS_TOML;
    use tandem_engine::workload::WorkloadError;
    // A genesis clock at the end of i64: the first slot's clock does not fit (it panicked in
    // debug builds, wrapped in release).
    let text = DEFAULT_GENESIS_TOML.replace(
        "unix_timestamp_ms = 1_700_000_000_000",
        "unix_timestamp_ms = 9_223_372_036_854_775_807",
    );
    let genesis = Genesis::from_toml_str(&text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = WorkloadConfig {
        slots: 1,
        ..WorkloadConfig::default()
    };
    let result = generate(&genesis, &config, dir.path(), |_, _| Ok(()), |_| {});
    assert!(
        matches!(result, Err(WorkloadError::ClockOverflow { slot: 1, .. })),
        "{:?}",
        result.err()
    );
    // Any number of slots: the sink may stop the run (it allocated u64::MAX outcomes once).
    let config = WorkloadConfig {
        slots: u64::MAX,
        transfers: 0,
        creates: 0,
        ..WorkloadConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let result = generate(
        &Genesis::default_cluster(),
        &config,
        dir.path(),
        |_, _| Err(WorkloadError::Sink("stop".into())),
        |_| {},
    );
    assert!(
        matches!(result, Err(WorkloadError::Sink(_))),
        "{:?}",
        result.err()
    );
}

#[test]
fn a_state_file_the_store_passed_that_cannot_be_removed_is_named() {
    // An old state file the commit could not remove (`chattr +i` gave EPERM) stopped the
    // engine with an error naming the store's directory only.
    let dir = tempfile::tempdir().expect("dir");
    let mut runtime = Runtime::open(&Genesis::default_cluster(), dir.path()).expect("open");
    let stale = dir.path().join("runtime-7.state");
    std::fs::create_dir(&stale).expect("a directory where a state file was");
    std::fs::write(stale.join("x"), b"x").expect("not empty");
    let block = empty_blocks(1..=1).next().expect("block");
    let err = runtime.execute_block(&block).expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains("runtime-7.state: not removed") && text.contains("committed slot 1"),
        "{text}"
    );
    drop(runtime);
    std::fs::remove_dir_all(&stale).expect("removed by hand");
    let runtime = Runtime::open(&Genesis::default_cluster(), dir.path()).expect("reopens");
    assert_eq!(
        runtime.slot(),
        1,
        "the slot was committed before the removal"
    );
}

#[test]
fn a_reopened_runtime_keeps_the_state_file_of_its_committed_slot_alone() {
    // A power loss can undo the removal of the commit before the last's state file, and a run
    // killed between writing a slot's state file and committing it leaves that one: a resume
    // with nothing left to run kept both (found by the power-loss test of stop 70).
    let dir = tempfile::tempdir().expect("dir");
    let mut runtime = Runtime::open(&Genesis::default_cluster(), dir.path()).expect("open");
    for block in empty_blocks(1..=3) {
        runtime.execute_block(&block).expect("block");
    }
    drop(runtime);
    let state_3 = std::fs::read(dir.path().join("runtime-3.state")).expect("slot 3's state");
    for stale in ["runtime-2.state", "runtime-4.state"] {
        std::fs::write(dir.path().join(stale), &state_3).expect("a stale state file");
    }
    let runtime = Runtime::open(&Genesis::default_cluster(), dir.path()).expect("reopens");
    assert_eq!(runtime.slot(), 3);
    let mut states: Vec<String> = std::fs::read_dir(dir.path())
        .expect("the store directory")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.starts_with("runtime-"))
        .collect();
    states.sort();
    assert_eq!(states, ["runtime-3.state"]);
}
