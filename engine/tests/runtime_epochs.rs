//! SPEC §5: VED membership by stake and activation, freezes and moves at E+2 (remaps and
//! membership changes), rewards only in the VED, slashes in both domains.

mod chain;

use chain::*;
use tandem_engine::Domain::{Ued, Ved};
use tandem_engine::account::Mapping::{RwUed, RwVed, RxUedVed};
use tandem_engine::account::Pubkey;
use tandem_engine::runtime::TxStatus::*;
use tandem_engine::runtime::builtins::system::SystemInstruction;
use tandem_engine::runtime::builtins::vote::{VOTE_STATE_LEN, VoteInstruction};
use tandem_engine::sample::{SYSTEM_PROGRAM_ID, vote_program_id};
use tandem_engine::tx::AccountMeta;

/// A chain in whose epoch 0 validator-3's node (in the UED, 1,000 SOL staked: below the
/// threshold) delegates 5,000 SOL more — a stake of 6,000 SOL > 5,000 — and its node and
/// vote account.
fn vote_3_staked_to_6_000_sol() -> (Chain, ed25519_dalek::SigningKey, Pubkey) {
    let mut c = Chain::new();
    let (node3, vote3) = (key("validator-3"), pk(&key("vote-3")));
    assert_eq!(
        c.mapping(&vote3),
        Some(RwUed),
        "1,000 SOL: below the threshold"
    );
    c.block(vec![transfer(
        &key("user-0"),
        pk(&node3),
        6_000 * SOL,
        c.recent(),
    )]);
    let out = c.block(vec![delegate(&node3, vote3, 5_000 * SOL, c.recent())]);
    assert_status(only(&out), Success, Some(Ued));
    assert_eq!(c.vote_state(3).stake, 6_000 * SOL);
    (c, node3, vote3)
}

#[test]
fn membership_by_stake_joins_at_e_plus_2_frozen_in_e_plus_1() {
    let (mut c, node3, vote3) = vote_3_staked_to_6_000_sol();
    // Epoch 1: computed at the 0/1 boundary, frozen for epoch 1, still in the UED.
    c.enter_epoch(1);
    assert_eq!(c.mapping(&vote3), Some(RwUed));
    assert_eq!(c.rt.state().frozen.get(&vote3), Some(&1));
    let out = c.block(vec![vote(3, 32, c.recent())]);
    assert_status(only(&out), AccountFrozenForRemap, Some(Ued));
    // Epoch 2, first slot: vote account and node (voter and payer) are in the VED.
    let ved_before = c.rt.lthash(Ved).clone();
    c.enter_epoch(2);
    assert_eq!(
        (c.mapping(&vote3), c.mapping(&pk(&node3))),
        (Some(RwVed), Some(RwVed))
    );
    assert_ne!(
        c.rt.lthash(Ved),
        &ved_before,
        "the move adds them to the VED's LtHash"
    );
    let out = c.block(vec![vote(3, 64, c.recent())]);
    assert_status(only(&out), Success, Some(Ved));
    // Epoch 3: a member of the VED state during epoch 2, vote-3 is rewarded at the 2/3
    // boundary. The engine's VED crosses slot 64 alone (the accounts moving in are the UED's
    // handoff's), and slot 96 too: it must know vote-3 is a member, which its own copy (the
    // VED's vote accounts only) could not compute at slot 32 — the UED's handoff tells it.
    let before = c.lamports(&vote3);
    c.enter_epoch(3);
    assert_eq!(
        c.lamports(&vote3) - before,
        c.genesis.cluster.epoch_reward(6_000 * SOL),
        "vote-3's reward"
    );
    let metrics = c.assert_engine_agrees();
    assert_eq!(metrics.boundaries_crossed_alone, 3);
}

#[test]
fn a_joining_ued_vote_account_slashed_below_the_threshold_leaves_again_through_the_engine() {
    // vote-3 (6,000 SOL) is computed into the VED at the 0/1 boundary; a slash applied there
    // (50 %: 3,000 SOL) makes it ineligible at the next computation. It moves in at slot 64
    // and, as a member of the VED state of epoch 2 no longer eligible, is frozen to leave at
    // slot 96 with its node. The engine's VED, whose copy held no UED vote account when it
    // crossed slot 32, must know vote-3 is a member (the UED's handoff tells it) to freeze it.
    let (mut c, node3, vote3) = vote_3_staked_to_6_000_sol();
    c.schedule_slash(vote3, 5_000).expect("slash vote-3");
    c.enter_epoch(1);
    assert_eq!(c.vote_state(3).stake, 3_000 * SOL);
    c.enter_epoch(2);
    assert_eq!(c.mapping(&vote3), Some(RwVed));
    assert_eq!(c.rt.state().frozen.get(&vote3), Some(&2), "leaving again");
    let out = c.block(vec![vote(3, 64, c.recent())]);
    assert_status(only(&out), AccountFrozenForRemap, Some(Ved));
    c.enter_epoch(3);
    assert_eq!(
        (c.mapping(&vote3), c.mapping(&pk(&node3))),
        (Some(RwUed), Some(RwUed))
    );
    c.assert_engine_agrees();
}

#[test]
fn membership_needs_activation_and_deactivation_leaves_at_e_plus_2() {
    let mut c = Chain::new();
    // A new vote account: created by user-2 (its node), initialized, 6,000 SOL delegated.
    let node = key("user-2");
    let vote_key = fresh(10);
    let vote_account = pk(&vote_key);
    let out = c.block(new_vote_account(
        &node,
        &vote_key,
        pk(&node),
        6_000 * SOL,
        c.recent(),
    ));
    assert!(
        out.transactions.iter().all(|t| t.status == Success),
        "{out:?}"
    );
    // Inactive: not eligible at the 0/1 boundary.
    c.enter_epoch(1);
    assert!(!c.rt.state().frozen.contains_key(&vote_account));
    // Activated in epoch 1: computed at 1/2, moves at the first slot of 3.
    let out = c.block(vec![node_instruction(
        &node,
        vote_account,
        VoteInstruction::Activate,
        c.recent(),
    )]);
    assert_status(only(&out), Success, Some(Ued));
    c.enter_epoch(2);
    assert_eq!(c.mapping(&vote_account), Some(RwUed));
    c.enter_epoch(3);
    assert_eq!(
        (c.mapping(&vote_account), c.mapping(&pk(&node))),
        (Some(RwVed), Some(RwVed))
    );

    // validator-0 deactivates in epoch 3: frozen in 4, back in the UED at the first slot of 5.
    let node0 = key("validator-0");
    let vote0 = pk(&key("vote-0"));
    let out = c.block(vec![node_instruction(
        &node0,
        vote0,
        VoteInstruction::Deactivate,
        c.recent(),
    )]);
    assert_status(only(&out), Success, Some(Ved));
    c.enter_epoch(4);
    assert_eq!(c.mapping(&vote0), Some(RwVed));
    c.enter_epoch(5);
    assert_eq!(
        (c.mapping(&vote0), c.mapping(&pk(&node0))),
        (Some(RwUed), Some(RwUed))
    );
    c.assert_engine_agrees();
}

#[test]
fn rewards_go_to_vote_accounts_in_the_ved_only() {
    let mut c = Chain::new();
    let (vote0, vote3) = (pk(&key("vote-0")), pk(&key("vote-3")));
    let (v0, v3) = (c.lamports(&vote0), c.lamports(&vote3));
    c.enter_epoch(1);
    // 10,000 SOL × 0.0001 = 1 SOL.
    assert_eq!(c.lamports(&vote0), v0 + SOL);
    assert_eq!(c.lamports(&vote3), v3, "vote-3 is in the UED");
    // Each boundary pays once.
    c.enter_epoch(3);
    assert_eq!(c.lamports(&vote0), v0 + 3 * SOL);
    c.assert_engine_agrees();
}

#[test]
fn a_reward_past_what_a_balance_can_hold_fills_it_to_u64_max() {
    // SPEC §5 credits `stake × epoch_reward_rate` at every boundary and says nothing of a
    // balance it would take past u64::MAX (a genesis may hold up to u64::MAX lamports, and
    // rewards add to the supply): the credit stops at u64::MAX, alike on every path.
    let mut genesis = tandem_engine::genesis::Genesis::default_cluster();
    genesis.cluster.epoch_reward_rate_ppb = 1_000_000_000; // a rate of 1.0
    genesis.validators[0].stake = 10_000_000_000_000_000_000; // 10¹⁹ lamports
    let mut c = Chain::with_genesis(genesis);
    let vote0 = pk(&key("vote-0"));
    assert_eq!(c.lamports(&vote0), 10_000_000_000_000_000_000);
    c.enter_epoch(1);
    assert_eq!(c.lamports(&vote0), u64::MAX);
    c.enter_epoch(2);
    assert_eq!(c.lamports(&vote0), u64::MAX);
    c.assert_engine_agrees();
}

#[test]
fn rewards_for_e_are_paid_at_the_boundary_e_e1_to_the_ved_of_e_before_that_boundarys_moves() {
    let mut c = Chain::new();
    let (node0, vote0) = (key("validator-0"), pk(&key("vote-0")));
    let (node3, vote3) = (key("validator-3"), pk(&key("vote-3")));
    // Epoch 0: validator-0 deactivates (leaves: frozen in 1, in the UED from the first slot of
    // 2); validator-3 reaches 6,000 SOL (joins: frozen in 1, in the VED from the first slot of 2).
    c.block(vec![transfer(
        &key("user-0"),
        pk(&node3),
        6_000 * SOL,
        c.recent(),
    )]);
    let out = c.block(vec![
        node_instruction(&node0, vote0, VoteInstruction::Deactivate, c.recent()),
        delegate(&node3, vote3, 5_000 * SOL, c.recent()),
    ]);
    assert!(
        out.transactions.iter().all(|t| t.status == Success),
        "{out:?}"
    );
    let reward = |stake_sol: u64| stake_sol * SOL / 10_000; // epoch_reward_rate 0.0001
    let (v0, v3) = (c.lamports(&vote0), c.lamports(&vote3));
    // Boundary 0/1: vote-0 was in the VED during 0, vote-3 was not.
    c.enter_epoch(1);
    assert_eq!(c.lamports(&vote0), v0 + reward(10_000));
    assert_eq!(c.lamports(&vote3), v3);
    // Boundary 1/2: vote-0 was still in the VED during 1 (frozen there): paid, then moved with
    // the reward in its balance. vote-3 joins at this boundary: not yet paid.
    c.enter_epoch(2);
    assert_eq!(c.mapping(&vote0), Some(RwUed));
    assert_eq!(c.lamports(&vote0), v0 + 2 * reward(10_000));
    assert_eq!(c.mapping(&vote3), Some(RwVed));
    assert_eq!(c.lamports(&vote3), v3);
    // Boundary 2/3: vote-3 was in the VED during 2; vote-0 was not.
    c.enter_epoch(3);
    assert_eq!(c.lamports(&vote0), v0 + 2 * reward(10_000));
    assert_eq!(c.lamports(&vote3), v3 + reward(6_000));
    c.assert_engine_agrees();
}

#[test]
fn an_operator_slash_applies_after_the_boundarys_moves_wherever_the_account_went() {
    let mut c = Chain::new();
    let (node0, vote0) = (key("validator-0"), pk(&key("vote-0")));
    let out = c.block(vec![node_instruction(
        &node0,
        vote0,
        VoteInstruction::Deactivate,
        c.recent(),
    )]);
    assert_status(only(&out), Success, Some(Ved));
    c.enter_epoch(1);
    let v0 = c.lamports(&vote0);
    // Scheduled in epoch 1, applied at 1/2: after the reward of epoch 1 (on the whole stake) and
    // after the move of vote-0 into the UED.
    c.schedule_slash(vote0, 2_500).expect("slash vote-0"); // 25 %
    c.enter_epoch(2);
    assert_eq!(c.mapping(&vote0), Some(RwUed));
    assert_eq!(c.vote_state(0).stake, 7_500 * SOL);
    assert_eq!(c.lamports(&vote0), v0 + SOL - 2_500 * SOL);
    c.assert_engine_agrees();
}

#[test]
fn the_freeze_is_total_a_frozen_payer_pays_nothing_and_moves_with_its_state_at_the_end_of_e() {
    let mut c = Chain::new();
    let user = key("user-1");
    let out = c.block(vec![remap(&user, 3, c.recent())]);
    assert_status(only(&out), Success, Some(Ued));
    let end_of_0 = c.account(&pk(&user)).expect("exists");
    // Epoch 1: frozen. As payer it fails check 5: no fee, not counted, nothing changes.
    c.enter_epoch(1);
    let ued = c.rt.lthash(Ued).clone();
    let wire = transfer(&user, pk(&key("user-2")), SOL, c.recent());
    let out = c.block(vec![wire.clone()]);
    assert_status(only(&out), AccountFrozenForRemap, Some(Ued));
    assert_eq!(out.sig_counts, [0, 0], "not counted");
    assert_eq!(c.rt.lthash(Ued), &ued, "nothing changed, not even a fee");
    // Epoch 2: moved exactly as it was at the end of epoch 0.
    c.enter_epoch(2);
    let moved = c.account(&pk(&user)).expect("exists");
    assert_eq!(moved.mapping, RwVed);
    assert_eq!(
        (moved.lamports, moved.data, moved.owner),
        (end_of_0.lamports, end_of_0.data, end_of_0.owner)
    );
    // The refused transaction entered the duplicate window: it cannot run now in the VED.
    let out = c.block(vec![wire]);
    assert_status(only(&out), DuplicateSignature, Some(Ved));
    c.assert_engine_agrees();
}

#[test]
fn a_slash_below_the_threshold_takes_a_vote_account_out_at_the_next_computation() {
    // Slashed at the 0/1 boundary from 10,000 to 4,000 SOL: the membership computed at that
    // boundary reads the state at the end of epoch 0 (SPEC §5), where vote-0 still had 10,000
    // — it stays for epoch 2; the computation at 1/2 finds 4,000 and takes it out at 3.
    let mut c = Chain::new();
    let vote0 = pk(&key("vote-0"));
    c.schedule_slash(vote0, 6_000).expect("slash vote-0"); // 60 %
    c.enter_epoch(1);
    assert_eq!(c.vote_state(0).stake, 4_000 * SOL);
    assert_eq!(
        c.rt.state().frozen.get(&vote0),
        None,
        "not frozen in epoch 1"
    );
    c.enter_epoch(2);
    assert_eq!(c.mapping(&vote0), Some(RwVed));
    assert_eq!(c.rt.state().frozen.get(&vote0), Some(&2));
    c.enter_epoch(3);
    assert_eq!(c.mapping(&vote0), Some(RwUed));
    c.assert_engine_agrees();
}

#[test]
fn an_operator_slash_reaches_vote_accounts_in_either_domain() {
    let mut c = Chain::new();
    let (vote0, vote3) = (pk(&key("vote-0")), pk(&key("vote-3")));
    c.schedule_slash(vote0, 1_000).expect("slash vote-0"); // 10 %
    c.schedule_slash(vote3, 5_000).expect("slash vote-3"); // 50 %
    assert!(
        c.schedule_slash(pk(&key("user-0")), 1).is_err(),
        "not a vote account"
    );
    let (v0, v3) = (c.lamports(&vote0), c.lamports(&vote3));
    c.block(vec![]);
    c.enter_epoch(1);
    assert_eq!(c.vote_state(0).stake, 9_000 * SOL);
    assert_eq!(c.vote_state(3).stake, 500 * SOL);
    // vote-0 is also rewarded on its stake before the slash: 1 SOL.
    assert_eq!(c.lamports(&vote0), v0 + SOL - 1_000 * SOL);
    assert_eq!(c.lamports(&vote3), v3 - 500 * SOL);
    c.assert_engine_agrees();
}

#[test]
fn remap_domain_freezes_in_e_plus_1_and_moves_at_the_first_slot_of_e_plus_2() {
    let mut c = Chain::new();
    let user = key("user-1");
    // Target must be 3 or 4; remapping to the current mapping is an error.
    let out = c.block(vec![remap(&user, 1, c.recent())]);
    assert_status(only(&out), ProgramError(256), Some(Ued));
    let out = c.block(vec![remap(&user, 4, c.recent())]);
    assert_status(only(&out), ProgramError(262), Some(Ued));
    let out = c.block(vec![remap(&user, 3, c.recent())]);
    assert_status(only(&out), Success, Some(Ued));
    // The rest of epoch 0: writes still go through; a second request is refused.
    let out = c.block(vec![transfer(&key("user-2"), pk(&user), SOL, c.recent())]);
    assert_status(only(&out), Success, Some(Ued));
    let out = c.block(vec![remap(&user, 3, c.recent())]);
    assert_status(only(&out), ProgramError(262), Some(Ued));
    let state_at_end_of_0 = c.account(&pk(&user)).expect("exists");
    // Epoch 1: frozen in its current domain.
    c.enter_epoch(1);
    let out = c.block(vec![transfer(&key("user-2"), pk(&user), SOL, c.recent())]);
    assert_status(only(&out), AccountFrozenForRemap, Some(Ued));
    assert_eq!(c.mapping(&pk(&user)), Some(RwUed));
    // Epoch 2: moved with its state at the end of epoch 0, out of the UED's LtHash, into the VED's.
    let (ved, ued) = (c.rt.lthash(Ved).clone(), c.rt.lthash(Ued).clone());
    c.enter_epoch(2);
    let moved = c.account(&pk(&user)).expect("exists");
    assert_eq!(moved.mapping, RwVed);
    assert_eq!(
        (moved.lamports, moved.data),
        (state_at_end_of_0.lamports, state_at_end_of_0.data)
    );
    assert_ne!(c.rt.lthash(Ved), &ved);
    assert_ne!(c.rt.lthash(Ued), &ued);
    // Now it pays in the VED, and a UED account is out of its reach.
    let out = c.block(vec![transfer(
        &user,
        pk(&key("validator-0")),
        1,
        c.recent(),
    )]);
    assert_status(only(&out), Success, Some(Ved));
    let out = c.block(vec![transfer(&user, pk(&key("user-2")), 1, c.recent())]);
    assert_status(only(&out), DomainViolation, Some(Ved));
    c.assert_engine_agrees();
}

#[test]
fn a_vote_account_made_in_the_ved_counts_in_its_slots_total_stake() {
    // Two user accounts move into the VED; there one becomes a vote account the other stakes,
    // all in one slot. The total stake the vote log keeps for that slot (what the cluster view
    // judges it by after a restart) is the VED executor's, the new stake in it; the runtime
    // summed only the vote accounts known before the slot until 2026-12-06.
    let mut c = Chain::new();
    let (made, node) = (key("user-1"), key("user-2"));
    for k in [&made, &node] {
        let out = c.block(vec![remap(k, 3, c.recent())]);
        assert_status(only(&out), Success, Some(Ued));
    }
    c.enter_epoch(1);
    c.enter_epoch(2);
    assert_eq!(c.mapping(&pk(&made)), Some(RwVed));
    let system = |ix: SystemInstruction, recent| {
        tx(
            &[&made],
            SYSTEM_PROGRAM_ID,
            &[AccountMeta::new(pk(&made), true)],
            &ix.encode(),
            recent,
        )
    };
    let recent = c.recent();
    let stake = 7 * SOL;
    let out = c.block(vec![
        system(
            SystemInstruction::Allocate {
                space: VOTE_STATE_LEN as u64,
            },
            recent,
        ),
        system(
            SystemInstruction::Assign {
                owner: vote_program_id(),
            },
            recent,
        ),
        node_instruction(
            &node,
            pk(&made),
            VoteInstruction::InitializeAccount {
                node: pk(&node),
                authorized_voter: pk(&node),
                fee_payer: pk(&node),
            },
            recent,
        ),
        delegate(&node, pk(&made), stake, recent),
    ]);
    for (i, done) in out.transactions.iter().enumerate() {
        assert_eq!((i, done.status, done.domain), (i, Success, Some(Ved)));
    }
    let slot = c.history.last().expect("blocks").0.header.slot;
    let ved_total = c.rt.ved_executor().ved_stake();
    let logged = tandem_engine::runtime::vote_log::VoteLog::read(c.dir.path(), slot).expect("read");
    let record = logged
        .iter()
        .find(|r| r.slot == slot)
        .expect("the slot logged");
    assert_eq!(record.ved_stake, Some(ved_total));
    c.assert_engine_agrees();
}

#[test]
fn only_accounts_whose_owner_runs_in_the_target_domain_can_move() {
    let mut c = Chain::new();
    let user = key("user-0");
    let owned = fresh(20);
    // An account owned by a program that runs only in the UED (RX-UED).
    let out = c.block(vec![tx(
        &[&user, &owned],
        SYSTEM_PROGRAM_ID,
        &[
            AccountMeta::new(pk(&user), true),
            AccountMeta::new(pk(&owned), true),
        ],
        &SystemInstruction::CreateAccount {
            lamports: SOL,
            space: 0,
            owner: pk(&key("program-0")),
        }
        .encode(),
        c.recent(),
    )]);
    assert_status(only(&out), Success, Some(Ued));
    let out = c.block(vec![remap(&owned, 3, c.recent())]);
    assert_status(only(&out), ProgramError(262), Some(Ued));
    assert!(c.rt.state().remap_requests.is_empty());
    c.assert_engine_agrees();
}

#[test]
fn an_account_given_another_owner_after_asking_to_move_does_not_move() {
    // user-0 asks to move into the VED while system-owned, then assigns itself to an owner no
    // domain runs (Assign takes any address), in the same epoch: at the boundary the request
    // lapses — no freeze, no move — as RemapDomain would have been refused (SPEC §3).
    let mut c = Chain::new();
    let user = key("user-0");
    let ask = remap(&user, 3, c.recent());
    let assign = tx(
        &[&user],
        SYSTEM_PROGRAM_ID,
        &[AccountMeta::new(pk(&user), true)],
        &SystemInstruction::Assign {
            owner: Pubkey([9; 32]),
        }
        .encode(),
        c.recent(),
    );
    all_succeed(&mut c, vec![ask, assign]);
    assert_eq!(c.rt.state().remap_requests.len(), 1, "asked");
    c.enter_epoch(1);
    assert!(!c.rt.state().frozen.contains_key(&pk(&user)), "not frozen");
    c.enter_epoch(2);
    assert_eq!(c.mapping(&pk(&user)), Some(RwUed), "not moved");
    // Paying in the UED still: a transfer of its own now fails (not system-owned), its fee paid.
    let out = c.block(vec![transfer(&user, pk(&key("user-1")), 1, c.recent())]);
    assert_eq!(only(&out).domain, Some(Ued));
    c.assert_engine_agrees();
}

#[test]
fn a_ved_account_owned_by_no_builtin_cannot_move_out() {
    // user-5, in the VED, assigns itself to an owner that is no program at all (Assign takes
    // any address): no domain executes that owner, and only system- and vote-owned accounts
    // move (SPEC §3), so RemapDomain to the UED fails and requests nothing.
    let (mut c, user5) = user_5_in_the_ved();
    let assign = tx(
        &[&user5],
        SYSTEM_PROGRAM_ID,
        &[AccountMeta::new(pk(&user5), true)],
        &SystemInstruction::Assign {
            owner: Pubkey([7; 32]),
        }
        .encode(),
        c.recent(),
    );
    let out = c.block(vec![assign]);
    assert_status(only(&out), Success, Some(Ved));
    let out = c.block(vec![remap(&user5, 4, c.recent())]);
    assert_status(only(&out), ProgramError(262), Some(Ved));
    assert!(c.rt.state().remap_requests.is_empty());
    c.assert_engine_agrees();
}

#[test]
fn a_payer_that_a_joining_ued_vote_account_uses_stays_in_the_ved_when_its_own_leaves() {
    // Epoch 0: validator-1 deactivates vote-1, and user-2 makes a UED vote account (6,000 SOL,
    // activated) whose fee payer is validator-1's node. At the 0/1 boundary vote-1 leaves
    // the VED, but its node stays: a vote account joining the VED uses it. Only the UED's
    // state tells that, so the engine's VED cannot cross slot 32 on its own: it waits there.
    // At slot 64, where accounts move into the VED, it crosses alone.
    let mut c = Chain::new();
    let node1 = key("validator-1");
    let vote1 = pk(&key("vote-1"));
    let user = key("user-2");
    let vote_key = fresh(11);
    let vote_account = pk(&vote_key);
    let mut txs = new_vote_account(&user, &vote_key, pk(&node1), 6_000 * SOL, c.recent());
    txs.push(node_instruction(
        &user,
        vote_account,
        VoteInstruction::Activate,
        c.recent(),
    ));
    txs.push(node_instruction(
        &node1,
        vote1,
        VoteInstruction::Deactivate,
        c.recent(),
    ));
    let out = c.block(txs);
    assert!(
        out.transactions.iter().all(|t| t.status == Success),
        "{out:?}"
    );
    c.enter_epoch(2);
    assert_eq!(
        (
            c.mapping(&vote1),
            c.mapping(&pk(&node1)),
            c.mapping(&vote_account),
            c.mapping(&pk(&user))
        ),
        (Some(RwUed), Some(RwVed), Some(RwVed), Some(RwVed))
    );
    let metrics = c.assert_engine_agrees();
    assert_eq!(
        (metrics.boundaries_crossed_alone, metrics.boundary_waits),
        (1, 1)
    );
}

#[test]
fn a_ved_vote_account_deactivated_leaves_with_its_node_and_the_engine_crosses_alone() {
    // Epoch 0: validator-1 deactivates vote-1; the UED is busy meanwhile — a user's transfer,
    // vote-3's votes, stake delegated to vote-3, vote-3 deactivated and activated again (none
    // changes whom a UED vote account names). At the 0/1 boundary vote-1 leaves the VED with
    // its node (out at 2). No vote account of the UED names the node, and no UED transaction
    // could have made one (no `InitializeAccount`): the engine's VED crosses both boundaries
    // alone.
    let mut c = Chain::new();
    let node1 = key("validator-1");
    let vote1 = pk(&key("vote-1"));
    let deactivate = node_instruction(&node1, vote1, VoteInstruction::Deactivate, c.recent());
    all_succeed(&mut c, vec![deactivate]);
    let (node3, vote3) = (key("validator-3"), pk(&key("vote-3")));
    for ix in [VoteInstruction::Deactivate, VoteInstruction::Activate] {
        let user = transfer(&key("user-0"), pk(&key("user-1")), SOL, c.recent());
        let stake = delegate(&key("user-2"), vote3, SOL, c.recent());
        let node = node_instruction(&node3, vote3, ix, c.recent());
        let out = c.block(vec![user, vote(3, c.rt.slot(), c.recent()), stake, node]);
        assert!(
            out.transactions
                .iter()
                .all(|t| t.domain == Some(Ued) && t.status == Success),
            "{out:?}"
        );
    }
    c.enter_epoch(1);
    assert_eq!(c.rt.state().frozen.get(&pk(&node1)), Some(&1));
    c.enter_epoch(2);
    assert_eq!(
        (c.mapping(&vote1), c.mapping(&pk(&node1))),
        (Some(RwUed), Some(RwUed))
    );
    // (It may wait at slot 64 for the UED's handoff of epoch 1 — the UED a whole epoch behind
    // — before crossing alone.)
    let metrics = c.assert_engine_agrees();
    assert_eq!(metrics.boundaries_crossed_alone, 2, "{metrics:?}");
}

#[test]
fn a_ued_vote_account_named_in_the_handoff_keeps_a_leaving_payer_and_the_ved_waits() {
    // Epoch 0: user-2 makes vote account V (6,000 SOL, inactive) whose fee payer is
    // validator-1's node. The boundary block into epoch 1 activates V; later in epoch 1
    // validator-1 deactivates vote-1. At the 1/2 boundary vote-1 leaves, but its node stays:
    // V, eligible now, uses it (V joins at 3). The UED's handoff of epoch 1, made after that
    // boundary block, names the node, so the engine's VED cannot cross slot 64 alone — had it
    // frozen the node, the node's transfer in epoch 2 would have failed there. It crosses 32
    // and 96 (where V moves in) alone.
    let mut c = Chain::new();
    let node1 = key("validator-1");
    let vote1 = pk(&key("vote-1"));
    let user = key("user-2");
    let v_key = fresh(31);
    let v = pk(&v_key);
    let payers = (pk(&user), pk(&node1));
    let txs = vote_account_for(&user, &v_key, payers, 6_000 * SOL, false, c.recent());
    all_succeed(&mut c, txs);
    let activate = node_instruction(&user, v, VoteInstruction::Activate, c.recent());
    let boundary = c.block_at(32, vec![activate]);
    assert_status(only(&boundary), Success, Some(Ued));
    let deactivate = node_instruction(&node1, vote1, VoteInstruction::Deactivate, c.recent());
    all_succeed(&mut c, vec![deactivate]);
    c.enter_epoch(2);
    assert_eq!(c.rt.state().frozen.get(&pk(&node1)), None);
    let to = pk(&key("validator-0"));
    let out = c.block(vec![transfer(&node1, to, SOL, c.recent())]);
    assert_status(only(&out), Success, Some(Ved));
    c.enter_epoch(3);
    assert_eq!(
        (c.mapping(&vote1), c.mapping(&pk(&node1)), c.mapping(&v)),
        (Some(RwUed), Some(RwVed), Some(RwVed))
    );
    let metrics = c.assert_engine_agrees();
    assert_eq!(metrics.boundaries_crossed_alone, 2, "{metrics:?}");
    assert!(metrics.boundary_waits >= 1, "{metrics:?}");
}

/// Runs `txs` in the next block; each must succeed.
fn all_succeed(c: &mut Chain, txs: Vec<Vec<u8>>) {
    let out = c.block(txs);
    assert!(
        out.transactions.iter().all(|t| t.status == Success),
        "{out:?}"
    );
}

#[test]
fn an_eligible_vote_account_that_is_anothers_voter_stays_when_that_one_leaves() {
    // Epoch 0: user-3 makes vote account L (6,000 SOL, active) whose voter is vote-0 — an
    // eligible validator of the VED. L joins at 2; in epoch 2 user-3 deactivates it, and at
    // the 2/3 boundary L leaves with its payer user-3 — but not vote-0, which is eligible (it
    // was taken out, frozen through epoch 3, and back in at 5).
    let mut c = Chain::new();
    let (user, vote0) = (key("user-3"), pk(&key("vote-0")));
    let l_key = fresh(21);
    let l = pk(&l_key);
    let txs = vote_account_for(
        &user,
        &l_key,
        (vote0, pk(&user)),
        6_000 * SOL,
        true,
        c.recent(),
    );
    all_succeed(&mut c, txs);
    c.enter_epoch(2);
    assert_eq!(
        (c.mapping(&l), c.mapping(&pk(&user))),
        (Some(RwVed), Some(RwVed))
    );
    let deactivate = node_instruction(&user, l, VoteInstruction::Deactivate, c.recent());
    all_succeed(&mut c, vec![deactivate]);
    c.enter_epoch(3);
    assert_eq!(
        c.rt.state().frozen.get(&vote0),
        None,
        "vote-0 is not frozen"
    );
    let out = c.block(vec![vote(0, c.rt.slot(), c.recent())]);
    assert_status(only(&out), Success, Some(Ved));
    c.enter_epoch(4);
    assert_eq!(
        (c.mapping(&vote0), c.mapping(&l), c.mapping(&pk(&user))),
        (Some(RwVed), Some(RwUed), Some(RwUed))
    );
    let metrics = c.assert_engine_agrees();
    assert!(metrics.boundary_waits >= 1, "the VED waits where L leaves");
}

#[test]
fn a_program_named_as_voter_or_payer_of_a_joining_vote_account_stays_a_program() {
    // Epoch 0: user-3 makes vote account L (6,000 SOL, active) whose voter is the vote program
    // and whose fee payer is the system program — InitializeAccount takes any address. L joins
    // the VED at 2; the programs stay where they are (SPEC §1: RX only), and the chain goes on.
    let mut c = Chain::new();
    let user = key("user-3");
    let l_key = fresh(41);
    let l = pk(&l_key);
    let txs = vote_account_for(
        &user,
        &l_key,
        (vote_program_id(), SYSTEM_PROGRAM_ID),
        6_000 * SOL,
        true,
        c.recent(),
    );
    all_succeed(&mut c, txs);
    c.enter_epoch(2);
    let out = c.block(vec![vote(0, c.rt.slot(), c.recent())]);
    assert_status(only(&out), Success, Some(Ved));
    assert_eq!(
        (
            c.mapping(&l),
            c.mapping(&SYSTEM_PROGRAM_ID),
            c.mapping(&vote_program_id())
        ),
        (Some(RwVed), Some(RxUedVed), Some(RxUedVed))
    );
    assert_eq!(c.rt.state().frozen.get(&SYSTEM_PROGRAM_ID), None);
    c.assert_engine_agrees();
}

/// A chain in epoch 2 where user-5 is in the VED (it asked in epoch 0), nobody's voter or payer.
fn user_5_in_the_ved() -> (Chain, ed25519_dalek::SigningKey) {
    let mut c = Chain::new();
    let user5 = key("user-5");
    let ask_in = remap(&user5, 3, c.recent());
    all_succeed(&mut c, vec![ask_in]);
    c.enter_epoch(2);
    assert_eq!(c.mapping(&pk(&user5)), Some(RwVed));
    (c, user5)
}

#[test]
fn a_ued_vote_account_asking_into_the_ved_takes_nothing_of_the_veds_out() {
    // user-5 moves into the VED (asked in epoch 0, in at 2): nobody's voter or payer. In epoch
    // 2 user-6 makes an inactive vote account L whose fee payer is user-5, and L asks to move
    // into the VED. L is not eligible: it stays out — alone. user-5, which was never L's
    // companion in the VED, is not frozen in epoch 3 (it was, in the runtime; and the engine's
    // VED, which cannot see L, disagreed with it silently).
    let (mut c, user5) = user_5_in_the_ved();
    let user6 = key("user-6");
    let l_key = fresh(22);
    let l = pk(&l_key);
    let payers = (pk(&user6), pk(&user5));
    let txs = vote_account_for(&user6, &l_key, payers, SOL, false, c.recent());
    all_succeed(&mut c, txs);
    let ask_in = tx(
        &[&user6, &l_key],
        SYSTEM_PROGRAM_ID,
        &[AccountMeta::new(l, true)],
        &SystemInstruction::RemapDomain { target: 3 }.encode(),
        c.recent(),
    );
    all_succeed(&mut c, vec![ask_in]);
    c.enter_epoch(3);
    assert_eq!(c.rt.state().frozen.get(&pk(&user5)), None);
    let to = pk(&key("validator-0")); // a VED account
    let out = c.block(vec![transfer(&user5, to, 1, c.recent())]);
    assert_status(only(&out), Success, Some(Ved));
    c.enter_epoch(4);
    assert_eq!(
        (c.mapping(&pk(&user5)), c.mapping(&l)),
        (Some(RwVed), Some(RwUed))
    );
    c.assert_engine_agrees();
}

#[test]
fn a_ved_account_asking_out_stays_for_a_joining_vote_account_that_uses_it() {
    // user-5 moves into the VED (in at 2). In epoch 2 it asks to move back out, and user-6
    // makes an eligible vote account V whose fee payer is user-5: membership outweighs the
    // remap, so user-5 stays (frozen in 3 either way) and V and user-6 join at 4. The engine's
    // VED crosses slot 96 alone, planning user-5's move out; the UED's handoff keeps it in.
    let (mut c, user5) = user_5_in_the_ved();
    let user6 = key("user-6");
    let v_key = fresh(23);
    let v = pk(&v_key);
    let payers = (pk(&user6), pk(&user5));
    let mut txs = vote_account_for(&user6, &v_key, payers, 6_000 * SOL, true, c.recent());
    txs.push(remap(&user5, 4, c.recent()));
    all_succeed(&mut c, txs);
    c.enter_epoch(3);
    assert_eq!(c.rt.state().frozen.get(&pk(&user5)), Some(&3));
    c.enter_epoch(4);
    assert_eq!(
        (
            c.mapping(&pk(&user5)),
            c.mapping(&v),
            c.mapping(&pk(&user6))
        ),
        (Some(RwVed), Some(RwVed), Some(RwVed))
    );
    let metrics = c.assert_engine_agrees();
    assert!(metrics.boundaries_crossed_alone >= 1, "{metrics:?}");
}

/// user-5 and user-6 in the VED at epoch 2 (both asked in epoch 0); in the first block of
/// epoch 2 user-6 turns itself into a vote account in place — allocate, assign, initialize —
/// naming user-5 its voter and fee payer, and, when `staked`, delegates 6,000 SOL and
/// activates it. user-6 was never in the VED state.
fn a_vote_account_made_in_the_ved(staked: bool) -> (Chain, Pubkey, Pubkey) {
    let mut c = Chain::new();
    let (user5, user6) = (key("user-5"), key("user-6"));
    let asks = vec![remap(&user5, 3, c.recent()), remap(&user6, 3, c.recent())];
    all_succeed(&mut c, asks);
    c.enter_epoch(2);
    let (u5, u6) = (pk(&user5), pk(&user6));
    assert_eq!((c.mapping(&u5), c.mapping(&u6)), (Some(RwVed), Some(RwVed)));
    let itself = |ix: SystemInstruction, recent| {
        tx(
            &[&user6],
            SYSTEM_PROGRAM_ID,
            &[AccountMeta::new(u6, true)],
            &ix.encode(),
            recent,
        )
    };
    let mut txs = vec![
        itself(
            SystemInstruction::Allocate {
                space: VOTE_STATE_LEN as u64,
            },
            c.recent(),
        ),
        itself(
            SystemInstruction::Assign {
                owner: vote_program_id(),
            },
            c.recent(),
        ),
        node_instruction(
            &user6,
            u6,
            VoteInstruction::InitializeAccount {
                node: u6,
                authorized_voter: u5,
                fee_payer: u5,
            },
            c.recent(),
        ),
    ];
    if staked {
        txs.push(delegate(&user5, u6, 6_000 * SOL, c.recent()));
        txs.push(node_instruction(
            &user6,
            u6,
            VoteInstruction::Activate,
            c.recent(),
        ));
    }
    all_succeed(&mut c, txs);
    (c, u5, u6)
}

#[test]
fn a_vote_account_made_in_the_ved_takes_no_one_out_who_never_was_in_the_ved_state() {
    // SPEC §5: only a membership change moves an account. user-6, a vote account never in the
    // VED state and not eligible, changes nothing at the 2/3 boundary: neither it nor the
    // user-5 it names is frozen or moved (user-5 was frozen in 3 and put in the UED at 4:
    // anyone in the VED could evict another account of it).
    let (mut c, u5, u6) = a_vote_account_made_in_the_ved(false);
    c.enter_epoch(3);
    assert_eq!(c.rt.state().frozen.get(&u5), None, "user-5 frozen");
    assert_eq!(c.rt.state().frozen.get(&u6), None, "user-6 frozen");
    c.enter_epoch(4);
    assert_eq!((c.mapping(&u5), c.mapping(&u6)), (Some(RwVed), Some(RwVed)));
    c.assert_engine_agrees();
}

#[test]
fn a_vote_account_made_in_the_ved_is_rewarded_from_the_epoch_it_is_in_the_ved_state() {
    // user-6, made a vote account in epoch 2 (6,000 SOL, active), is eligible at the 2/3
    // computation: in the VED state for epoch 4, rewarded first at the 4/5 boundary — not at
    // 2/3 or 3/4 for epochs it was not in the VED state of (it was, for being mapped RW-VED).
    let (mut c, _, u6) = a_vote_account_made_in_the_ved(true);
    let reward = 6_000 * SOL / 10_000; // the default cluster's rate, 0.0001
    let mut lamports = c.lamports(&u6);
    for (epoch, rewarded) in [(3, false), (4, false), (5, true)] {
        c.enter_epoch(epoch);
        let now = c.lamports(&u6);
        let fees = if rewarded { reward } else { 0 };
        assert_eq!(now, lamports + fees, "entering epoch {epoch}");
        lamports = now;
    }
    c.assert_engine_agrees();
}

/// A chain of the default cluster without rewards: a vote account's balance is its stake, so a
/// slash of all of it takes the whole balance.
fn chain_without_rewards() -> Chain {
    let text = tandem_engine::genesis::DEFAULT_GENESIS_TOML
        .replace("epoch_reward_rate = 0.0001", "epoch_reward_rate = 0.0");
    Chain::with_genesis(tandem_engine::genesis::Genesis::from_toml_str(&text).unwrap())
}

#[test]
fn a_vote_account_made_again_after_a_slash_deleted_it_is_a_new_one_not_a_member() {
    // No rewards (rate 0): a slash of all of vote-0's stake at the 0/1 boundary takes its whole
    // balance, and it is deleted — after the 0/1 computation counted it in the VED state of
    // epoch 2. In epoch 1 its key makes it again in the UED, inactive, naming user-5 (in the VED
    // from 2, on its own request) its voter and payer. At the 1/2 boundary the new vote-0 is no member
    // leaving: user-5 stays (it was frozen and taken out, by a key that was a member once).
    let mut c = chain_without_rewards();
    let (user5, vote0_key) = (key("user-5"), key("vote-0"));
    let vote0 = pk(&vote0_key);
    let ask_in = remap(&user5, 3, c.recent());
    all_succeed(&mut c, vec![ask_in]);
    c.schedule_slash(vote0, 10_000).unwrap();
    c.enter_epoch(1);
    assert_eq!(c.account(&vote0), None, "deleted with its whole balance");
    // (A new account is RW-UED: a user makes it.)
    let mut again = vote_account_for(
        &key("user-0"),
        &vote0_key,
        (pk(&user5), pk(&user5)),
        SOL,
        false,
        c.recent(),
    );
    again.truncate(2); // made and initialized, nothing staked
    all_succeed(&mut c, again);
    c.enter_epoch(2);
    assert_eq!(c.mapping(&pk(&user5)), Some(RwVed));
    assert_eq!(c.rt.state().frozen.get(&pk(&user5)), None, "user-5 frozen");
    c.enter_epoch(3);
    assert_eq!(c.mapping(&pk(&user5)), Some(RwVed));
    c.assert_engine_agrees();
}

#[test]
fn a_vote_account_a_boundary_slash_empties_is_seen_alike_by_the_boundarys_block_on_every_path() {
    // No rewards: a slash of all of vote-0's stake at the 0/1 boundary takes its whole balance.
    // The runtime executes the boundary and its block in one overlay: the block sees vote-0 as
    // the slash left it (0 lamports, RW-VED, its data) — its own vote succeeds; paid again it
    // stays, else it goes at the commit. The VED crossing alone absorbed the boundary first, so
    // that vote-0 was gone for the block: the vote failed `DomainViolation`, and the engine
    // stopped with `BoundaryMismatch` (found by a review, 2026-12-06). Both blocks, both paths.
    // In any order with a payment, and twice: the boundary's emptying is no transaction's, and
    // the block's first vote writing vote-0 at 0 lamports took it for one (a second vote, or a
    // payment after the vote, then found a system account with no vote state; found in review,
    // 2026-12-07).
    for case in ["vote", "vote, paid", "paid, vote", "vote, vote"] {
        let mut c = chain_without_rewards();
        let vote0 = pk(&key("vote-0"));
        c.block(vec![]);
        c.schedule_slash(vote0, 10_000).unwrap();
        let last = c.history.last().expect("a block").0.header.slot;
        let recent = c.recent();
        let paid = || transfer(&key("validator-0"), vote0, SOL, recent);
        let txs = match case {
            "vote" => vec![vote(0, last, recent)],
            "vote, paid" => vec![vote(0, last, recent), paid()],
            "paid, vote" => vec![paid(), vote(0, last, recent)],
            _ => vec![vote(0, last, recent), vote(0, last + 1, recent)],
        };
        let out = c.block_at(32, txs);
        for done in &out.transactions {
            assert_eq!((done.status, done.domain), (Success, Some(Ved)), "{case}");
        }
        let held = c.account(&vote0);
        assert_eq!(held.is_some(), case.contains("paid"), "{case}: {held:?}");
        if let Some(held) = held {
            assert_eq!(
                (held.owner, held.data.len()),
                (vote_program_id(), VOTE_STATE_LEN),
                "{case}: the vote state stays"
            );
        }
        c.assert_engine_agrees();
    }
}

#[test]
fn a_boundarys_emptied_account_comes_back_from_the_ved_log_as_the_ved_executed_it() {
    // A restart replays the VED's record of the boundary block: the record's changes hold what
    // the boundary emptied and the block took up, so the replayed executor is the one that
    // executed it — its hash, and the next block (a transfer to the emptied vote-0, which its
    // VED payer cannot reach: vote-0 is gone) executed alike.
    use tandem_engine::runtime::ved_log::LoggedSlot;
    let mut c = chain_without_rewards();
    let vote0 = pk(&key("vote-0"));
    c.block(vec![]);
    c.schedule_slash(vote0, 10_000).unwrap();
    let (mut executed, mut replayed) = (c.rt.ved_executor(), c.rt.ved_executor());
    let recent = c.recent();
    c.block_at(32, vec![vote(0, 1, recent)]);
    let recent = c.recent();
    c.block(vec![transfer(&key("validator-0"), vote0, SOL, recent)]);
    let blocks: Vec<_> = c.history[1..]
        .iter()
        .map(|(b, o)| (b.clone(), o.clone()))
        .collect();
    let (boundary, outcome) = &blocks[0];
    assert!(executed.enter_epoch(32).expect("crossed"), "alone");
    let done = ved_executes(&mut executed, boundary);
    assert_eq!(done.ved_hash, outcome.ved_hash, "the runtime's");
    replayed
        .replay(&LoggedSlot::of(
            &boundary.header,
            done,
            executed.ved_stake(),
        ))
        .expect("replayed");
    assert_eq!(replayed.hash(), executed.hash());
    assert_eq!(replayed.ved_stake(), executed.ved_stake());
    let (next, outcome) = &blocks[1];
    let (a, b) = (
        ved_executes(&mut executed, next),
        ved_executes(&mut replayed, next),
    );
    assert_eq!(
        (a.ved_hash, b.ved_hash),
        (outcome.ved_hash, outcome.ved_hash)
    );
}

/// A small deterministic generator for the random histories below (SplitMix64).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

#[test]
fn random_epoch_histories_give_the_runtimes_results_through_the_engine() {
    // Five epochs of random traffic around the boundaries — transfers from the VED's nodes and
    // the users, remap requests both ways (of vote accounts too), stake delegated, vote accounts activated and
    // deactivated, votes, operator slashes, skipped slots, and transactions included again
    // (duplicates, also after their payer moved) — run by the runtime and by the engine, which
    // crosses some boundaries on its own and waits at others: every outcome and vote point
    // must be the runtime's.
    let signers: Vec<_> = (0..4)
        .map(|n| key(&format!("validator-{n}")))
        .chain((0..8).map(|n| key(&format!("user-{n}"))))
        .collect();
    let votes: Vec<Pubkey> = (0..4).map(|n| pk(&key(&format!("vote-{n}")))).collect();
    let (mut alone, mut waits) = (0, 0);
    for seed in 0..8 {
        // Odd seeds remap out of the VED only: no account moves in, more crossings alone.
        let targets = if seed % 2 == 0 { 2 } else { 1 };
        let mut rng = Rng(seed);
        let mut c = Chain::new();
        let mut sent: Vec<Vec<u8>> = Vec::new();
        while c.rt.slot() < 5 * 32 {
            let mut txs = Vec::new();
            for _ in 0..rng.below(5) {
                let signer = &signers[rng.below(signers.len() as u64) as usize];
                let n = rng.below(4) as usize;
                let recent = c.recent();
                txs.push(match rng.below(12) {
                    0..=3 => {
                        let to = pk(&signers[rng.below(signers.len() as u64) as usize]);
                        transfer(signer, to, 1 + rng.below(SOL), recent)
                    }
                    4 if rng.below(3) == 0 => {
                        // A vote account asks to move (its node pays): its membership may
                        // outweigh the request, or take its companions along.
                        let target = 4 - rng.below(targets) as u8;
                        tx(
                            &[&key(&format!("validator-{n}")), &key(&format!("vote-{n}"))],
                            SYSTEM_PROGRAM_ID,
                            &[AccountMeta::new(votes[n], true)],
                            &SystemInstruction::RemapDomain { target }.encode(),
                            recent,
                        )
                    }
                    4 => remap(signer, 4 - rng.below(targets) as u8, recent),
                    5 => {
                        let user = key(&format!("user-{}", rng.below(8)));
                        delegate(&user, votes[n], rng.below(4_000) * SOL, recent)
                    }
                    6 => {
                        let ix = if rng.below(2) == 0 {
                            VoteInstruction::Activate
                        } else {
                            VoteInstruction::Deactivate
                        };
                        node_instruction(&key(&format!("validator-{n}")), votes[n], ix, recent)
                    }
                    7 | 8 if !sent.is_empty() => {
                        let back = sent.len().min(200) as u64;
                        sent[sent.len() - 1 - rng.below(back) as usize].clone()
                    }
                    _ => vote(n, c.rt.slot(), recent),
                });
            }
            if rng.below(40) == 0 {
                let n = rng.below(4) as usize;
                c.schedule_slash(votes[n], 1 + rng.below(6_000) as u16)
                    .expect("slash");
            }
            let step = if rng.below(10) == 0 {
                2 + rng.below(8)
            } else {
                1
            };
            c.block_at(c.rt.slot() + step, txs.clone());
            sent.extend(txs);
        }
        let metrics = c.assert_engine_agrees();
        alone += metrics.boundaries_crossed_alone;
        waits += metrics.boundary_waits;
    }
    // Both kinds of boundary happened.
    assert!(
        alone > 0 && waits > 0,
        "{alone} crossed alone, {waits} waits"
    );
}
