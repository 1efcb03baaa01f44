//! SPEC §2 (classification, checks 1–10, fees, windows) and §3 (builtins), each test named after
//! the rule it holds the runtime to.

mod chain;

use chain::*;
use sha2::{Digest, Sha256};
use tandem_engine::Domain::{Ued, Ved};
use tandem_engine::account::{Mapping, Pubkey};
use tandem_engine::runtime::TxStatus::*;
use tandem_engine::runtime::builtins::system::SystemInstruction;
use tandem_engine::runtime::builtins::vote::VOTE_STATE_LEN;
use tandem_engine::sample::{SYSTEM_PROGRAM_ID, vote_program_id};
use tandem_engine::tx::{AccountMeta, AddressLookupTable, MessageBuilder, Transaction};

#[test]
fn classification_row_1_a_ved_payer_executes_in_the_ved() {
    let mut c = Chain::new();
    c.block(vec![]);
    let node = pk(&key("validator-0"));
    let before = c.lamports(&node);
    let out = c.block(vec![vote(0, 1, c.recent())]);
    assert_status(only(&out), Success, Some(Ved));
    assert_eq!(out.sig_counts, [1, 0]);
    assert_eq!(c.lamports(&node), before - FEE);
    assert_eq!(c.vote_state(0).last_voted_slot, 1);
}

#[test]
fn classification_row_1_a_ued_payer_executes_in_the_ued() {
    let mut c = Chain::new();
    let (from, to) = (key("user-0"), pk(&key("user-1")));
    let (a, b) = (c.lamports(&pk(&from)), c.lamports(&to));
    let out = c.block(vec![transfer(&from, to, 7 * SOL, c.recent())]);
    assert_status(only(&out), Success, Some(Ued));
    assert_eq!(out.sig_counts, [0, 1]);
    assert_eq!(c.lamports(&pk(&from)), a - 7 * SOL - FEE);
    assert_eq!(c.lamports(&to), b + 7 * SOL);
}

#[test]
fn classification_row_2_mixed_transactions_fail_with_domain_violation_in_the_payer_domain() {
    let mut c = Chain::new();
    // A VED payer naming a UED account, and a UED payer naming a VED account.
    let node = key("validator-0");
    let user = key("user-0");
    let (user1, vote0) = (pk(&key("user-1")), pk(&key("vote-0")));
    let (n0, u0, u1, v0) = (
        c.lamports(&pk(&node)),
        c.lamports(&pk(&user)),
        c.lamports(&user1),
        c.lamports(&vote0),
    );
    let out = c.block(vec![
        transfer(&node, user1, SOL, c.recent()),
        transfer(&user, vote0, SOL, c.recent()),
    ]);
    assert_status(&out.transactions[0], DomainViolation, Some(Ved));
    assert_status(&out.transactions[1], DomainViolation, Some(Ued));
    assert_eq!(
        out.sig_counts,
        [1, 1],
        "failed transactions count in sig_count_D"
    );
    // The fee is charged in the payer's domain; nothing else changes.
    assert_eq!(c.lamports(&pk(&node)), n0 - FEE);
    assert_eq!(c.lamports(&pk(&user)), u0 - FEE);
    assert_eq!((c.lamports(&user1), c.lamports(&vote0)), (u1, v0));
}

#[test]
fn classification_row_2_a_writable_program_fails_with_writable_program() {
    let mut c = Chain::new();
    let user = key("user-0");
    let u0 = c.lamports(&pk(&user));
    let out = c.block(vec![transfer_marking_a_program_writable(
        &user,
        pk(&key("user-1")),
        c.recent(),
    )]);
    assert_status(only(&out), WritableProgram, Some(Ued));
    assert_eq!(c.lamports(&pk(&user)), u0 - FEE);
}

#[test]
fn classification_row_3_the_other_domain_skips_a_transaction_without_a_trace() {
    // The same VED work with and without UED transactions beside it: the VED hash is the same.
    let run = |with_ued: bool| {
        let mut c = Chain::new();
        c.block(vec![]);
        let mut txs = vec![vote(0, 1, c.recent())];
        if with_ued {
            txs.push(transfer(
                &key("user-0"),
                pk(&key("user-1")),
                SOL,
                c.recent(),
            ));
            txs.push(transfer(
                &key("user-2"),
                pk(&key("vote-1")),
                SOL,
                c.recent(),
            ));
        }
        let out = c.block(txs);
        (out.ved_hash, out.ued_hash, out.sig_counts)
    };
    let (ved_a, ued_a, counts_a) = run(false);
    let (ved_b, ued_b, counts_b) = run(true);
    assert_eq!(ved_a, ved_b, "UED transactions leave no trace in the VED");
    assert_ne!(ued_a, ued_b);
    assert_eq!(counts_a, [1, 0]);
    assert_eq!(counts_b, [1, 2]);
}

#[test]
fn check_1_an_invalid_signature_is_charged_nothing_and_has_no_domain() {
    let mut c = Chain::new();
    let user = key("user-0");
    let u0 = c.lamports(&pk(&user));
    let mut wire = transfer(&user, pk(&key("user-1")), SOL, c.recent());
    wire[10] ^= 1;
    let out = c.block(vec![wire]);
    assert_status(only(&out), InvalidSignature, None);
    assert_eq!(out.sig_counts, [0, 0]);
    assert_eq!(c.lamports(&pk(&user)), u0);
}

#[test]
fn check_2_a_program_as_fee_payer_is_an_invalid_fee_payer() {
    let mut c = Chain::new();
    let program = key("program-0");
    assert!(c.account(&pk(&program)).expect("program").executable);
    let out = c.block(vec![transfer(&program, pk(&key("user-1")), 1, c.recent())]);
    assert_status(only(&out), InvalidFeePayer, None);
}

#[test]
fn check_3_the_recent_blockhash_must_be_one_of_the_150_blocks_before() {
    let mut c = Chain::new();
    let user = key("user-0");
    let genesis_hash = c.genesis.hash;
    let u0 = c.lamports(&pk(&user));
    let out = c.block(vec![transfer(&user, pk(&key("user-1")), 1, [9; 32])]);
    assert_status(only(&out), BlockhashNotFound, Some(Ued));
    assert_eq!(c.lamports(&pk(&user)), u0, "no fee");
    // The genesis hash counts as the block before the first: valid for blocks 1..=150.
    for _ in 2..150 {
        c.block(vec![]);
    }
    let out = c.block(vec![transfer(&user, pk(&key("user-1")), 1, genesis_hash)]);
    assert_eq!(out.slot, 150);
    assert_status(only(&out), Success, Some(Ued));
    let out = c.block(vec![transfer(&user, pk(&key("user-1")), 2, genesis_hash)]);
    assert_status(only(&out), BlockhashNotFound, Some(Ued));
}

#[test]
fn check_4_a_first_signature_is_a_duplicate_in_this_block_and_the_149_before_it() {
    let mut c = Chain::new();
    let user = key("user-0");
    let wire = transfer(&user, pk(&key("user-1")), SOL, c.recent());
    let out = c.block(vec![wire.clone(), wire.clone()]);
    assert_status(&out.transactions[0], Success, Some(Ued));
    assert_status(&out.transactions[1], DuplicateSignature, Some(Ued));
    assert_eq!(out.sig_counts, [0, 1], "a duplicate is not counted");
    let u = c.lamports(&pk(&user));
    // Blocks 2 ..= 150, each skipping 31 slots (the most a block may skip is one epoch, 32):
    // the window counts blocks, as the blockhash window does, so the signature is remembered
    // for as long as its blockhash (the genesis hash, valid for blocks 1 ..= 150) can be named,
    // however many slots go by. (A window of 150 slots forgot it at slot 152, in block 6.)
    for block in 2..=150u64 {
        let slot = c.rt.slot() + 32;
        let out = c.block_at(slot, vec![wire.clone()]);
        assert_status(only(&out), DuplicateSignature, Some(Ued));
        assert_eq!(out.sig_counts, [0, 0], "block {block}");
    }
    assert_eq!(c.lamports(&pk(&user)), u, "no fee for a duplicate");
    assert_eq!(c.rt.state().signatures.blocks(), 150);
    // Block 151: the blockhash has expired, so check 3 refuses it before the window would.
    let out = c.block_at(c.rt.slot() + 32, vec![wire]);
    assert_status(only(&out), BlockhashNotFound, Some(Ued));
}

#[test]
fn check_4_the_window_is_one_for_both_domains_and_outlives_a_move_of_the_payer() {
    // user-1 asks to move to the VED in epoch 0 (frozen in 1, moved at the first slot of 2).
    // A transfer it paid in the UED in epoch 0 is replayed in epoch 2, when it pays in the VED,
    // naming a blockhash that is still recent: with a window per domain it ran again there.
    let mut c = Chain::new();
    let user = key("user-1");
    let remap = remap(&user, 3, c.recent());
    let node0 = pk(&key("validator-0"));
    let wire = transfer(&user, node0, SOL, c.recent());
    let out = c.block(vec![remap, wire.clone()]);
    assert_status(&out.transactions[0], Success, Some(Ued));
    // In the UED, the VED node is out of reach: the fee is charged, nothing else changes.
    assert_status(&out.transactions[1], DomainViolation, Some(Ued));
    c.enter_epoch(2);
    assert_eq!(c.mapping(&pk(&user)), Some(Mapping::RwVed));
    let (u, n) = (c.lamports(&pk(&user)), c.lamports(&node0));
    let out = c.block(vec![wire]);
    assert_status(only(&out), DuplicateSignature, Some(Ved));
    assert_eq!(out.sig_counts, [0, 0]);
    assert_eq!((c.lamports(&pk(&user)), c.lamports(&node0)), (u, n));
}

#[test]
fn check_5_a_payer_that_cannot_pay_changes_nothing_but_enters_the_duplicate_window() {
    let mut c = Chain::new();
    let poor = fresh(1);
    let wire = transfer(&poor, pk(&key("user-1")), 1, c.recent());
    let lthash = c.rt.lthash(Ued).clone();
    let out = c.block(vec![wire.clone()]);
    assert_status(only(&out), InsufficientFundsForFee, Some(Ued));
    assert_eq!(out.sig_counts, [0, 0]);
    assert_eq!(c.rt.lthash(Ued), &lthash, "nothing changed");
    assert!(c.account(&pk(&poor)).is_none());
    // Funded, the same transaction cannot be included again: it must be signed anew.
    c.block(vec![transfer(&key("user-0"), pk(&poor), SOL, c.recent())]);
    let out = c.block(vec![wire]);
    assert_status(only(&out), DuplicateSignature, Some(Ued));
    assert_eq!(c.lamports(&pk(&poor)), SOL, "no fee");
    let resigned = transfer(&poor, pk(&key("user-1")), 1, c.recent());
    let out = c.block(vec![resigned]);
    assert_status(only(&out), Success, Some(Ued));
}

#[test]
fn check_4_a_transaction_that_fails_check_3_does_not_enter_the_window() {
    let mut c = Chain::new();
    let user = key("user-0");
    // A transaction naming block 1's blockhash, submitted in block 1 (too early: check 3) and
    // again in block 2 (now recent): the first attempt left no trace in the window.
    let future: [u8; 32] = Sha256::digest(b"block 1").into();
    let wire = transfer(&user, pk(&key("user-1")), 1, future);
    let out = c.block(vec![wire.clone()]);
    assert_eq!(out.slot, 1);
    assert_status(only(&out), BlockhashNotFound, Some(Ued));
    assert_eq!(c.recent(), future, "block 1's blockhash");
    let out = c.block(vec![wire]);
    assert_status(only(&out), Success, Some(Ued));
}

#[test]
fn check_9_address_table_lookups_fail_with_unsupported_address_lookup_fee_charged() {
    let mut c = Chain::new();
    let user = key("user-0");
    let u0 = c.lamports(&pk(&user));
    let to = pk(&key("user-1"));
    let message = MessageBuilder::new(pk(&user))
        .instruction(
            SYSTEM_PROGRAM_ID,
            &[
                AccountMeta::new(pk(&user), true),
                AccountMeta::new(to, false),
            ],
            &SystemInstruction::Transfer { lamports: 1 }.encode(),
        )
        .build_v0(
            c.recent(),
            &[AddressLookupTable {
                key: Pubkey([77; 32]),
                addresses: vec![to],
            }],
        )
        .expect("v0 message");
    let out = c.block(vec![Transaction::sign(&message, &[&user]).expect("sign")]);
    assert_status(only(&out), UnsupportedAddressLookup, Some(Ued));
    assert_eq!(c.lamports(&pk(&user)), u0 - FEE);
    // A v0 message without lookups executes.
    let message = MessageBuilder::new(pk(&user))
        .instruction(
            SYSTEM_PROGRAM_ID,
            &[
                AccountMeta::new(pk(&user), true),
                AccountMeta::new(to, false),
            ],
            &SystemInstruction::Transfer { lamports: 1 }.encode(),
        )
        .build_v0(c.recent(), &[])
        .expect("v0 message");
    let out = c.block(vec![Transaction::sign(&message, &[&user]).expect("sign")]);
    assert_status(only(&out), Success, Some(Ued));
}

#[test]
fn check_10_a_failing_instruction_undoes_every_instruction_and_keeps_the_fee() {
    let mut c = Chain::new();
    let user = key("user-0");
    let to = pk(&key("user-1"));
    let (u0, t0) = (c.lamports(&pk(&user)), c.lamports(&to));
    let metas = [
        AccountMeta::new(pk(&user), true),
        AccountMeta::new(to, false),
    ];
    let message = MessageBuilder::new(pk(&user))
        .instruction(
            SYSTEM_PROGRAM_ID,
            &metas,
            &SystemInstruction::Transfer { lamports: SOL }.encode(),
        )
        .instruction(
            SYSTEM_PROGRAM_ID,
            &metas,
            &SystemInstruction::Transfer { lamports: u64::MAX }.encode(),
        )
        .build_legacy(c.recent())
        .expect("message");
    let out = c.block(vec![Transaction::sign(&message, &[&user]).expect("sign")]);
    assert_status(only(&out), ProgramError(1), Some(Ued));
    assert_eq!(out.sig_counts, [0, 1]);
    assert_eq!((c.lamports(&pk(&user)), c.lamports(&to)), (u0 - FEE, t0));
}

#[test]
fn fees_are_5000_lamports_per_signature_and_burned() {
    let mut c = Chain::new();
    let user = key("user-0");
    let new = fresh(2);
    let u0 = c.lamports(&pk(&user));
    let create = create_account(&user, &new, (SOL, 0, SYSTEM_PROGRAM_ID), c.recent());
    let out = c.block(vec![create]);
    assert_status(only(&out), Success, Some(Ued));
    assert_eq!(out.sig_counts, [0, 2]);
    assert_eq!(c.lamports(&pk(&user)), u0 - SOL - 2 * FEE);
    assert_eq!(c.lamports(&pk(&new)), SOL);
    assert_eq!(
        c.mapping(&pk(&new)),
        Some(Mapping::RwUed),
        "new accounts are born in the UED"
    );
}

#[test]
fn system_program_create_allocate_assign_and_their_errors() {
    let mut c = Chain::new();
    let user = key("user-0");
    let new = fresh(3);
    let create = |space: u64, owner: Pubkey, recent| {
        create_account(&user, &new, (SOL, space, owner), recent)
    };
    // Too much data: InvalidAccountDataLength (3).
    let out = c.block(vec![create(
        10 * 1024 * 1024 + 1,
        vote_program_id(),
        c.recent(),
    )]);
    assert_status(only(&out), ProgramError(3), Some(Ued));
    let out = c.block(vec![create(
        VOTE_STATE_LEN as u64,
        vote_program_id(),
        c.recent(),
    )]);
    assert_status(only(&out), Success, Some(Ued));
    let account = c.account(&pk(&new)).expect("created");
    assert_eq!(
        (account.owner, account.data.len()),
        (vote_program_id(), VOTE_STATE_LEN)
    );
    // Again: AccountAlreadyInUse (0).
    let out = c.block(vec![create(0, SYSTEM_PROGRAM_ID, c.recent())]);
    assert_status(only(&out), ProgramError(0), Some(Ued));
    // Allocate and Assign on a fresh system account.
    let other = fresh(4);
    c.block(vec![transfer(&user, pk(&other), SOL, c.recent())]);
    let one = |ix: SystemInstruction, recent| {
        tx(
            &[&other],
            SYSTEM_PROGRAM_ID,
            &[AccountMeta::new(pk(&other), true)],
            &ix.encode(),
            recent,
        )
    };
    let out = c.block(vec![one(
        SystemInstruction::Allocate { space: 16 },
        c.recent(),
    )]);
    assert_status(only(&out), Success, Some(Ued));
    let out = c.block(vec![one(
        SystemInstruction::Assign {
            owner: vote_program_id(),
        },
        c.recent(),
    )]);
    assert_status(only(&out), Success, Some(Ued));
    let account = c.account(&pk(&other)).expect("exists");
    assert_eq!((account.owner, account.data.len()), (vote_program_id(), 16));
    // No longer system-owned: it can neither be reassigned nor debited by the system program.
    let out = c.block(vec![one(
        SystemInstruction::Assign {
            owner: SYSTEM_PROGRAM_ID,
        },
        c.recent(),
    )]);
    assert_status(only(&out), ProgramError(261), Some(Ued));
    // A transfer without the sender's signature: MissingRequiredSignature (258).
    let unsigned = tx(
        &[&user],
        SYSTEM_PROGRAM_ID,
        &[
            AccountMeta::new(pk(&key("user-1")), false),
            AccountMeta::new(pk(&user), false),
        ],
        &SystemInstruction::Transfer { lamports: 1 }.encode(),
        c.recent(),
    );
    let out = c.block(vec![unsigned]);
    assert_status(only(&out), ProgramError(258), Some(Ued));
    // Unknown variant: InvalidInstructionData (256); a program that is not a builtin (260).
    let out = c.block(vec![tx(
        &[&user],
        SYSTEM_PROGRAM_ID,
        &[AccountMeta::new(pk(&user), true)],
        &[9, 0, 0, 0],
        c.recent(),
    )]);
    assert_status(only(&out), ProgramError(256), Some(Ued));
    let out = c.block(vec![tx(
        &[&user],
        pk(&key("program-0")),
        &[AccountMeta::new(pk(&user), true)],
        &[],
        c.recent(),
    )]);
    assert_status(only(&out), ProgramError(260), Some(Ued));
}

#[test]
fn system_transfer_and_assign_check_in_solanas_order() {
    // Solana's transfer checks the balance before the owner, and the owner only where the
    // balance falls (ExternalAccountLamportSpend); set_owner needs the data zeroed
    // (ModifiedProgramId). Here those are ResultWithNegativeLamports (1) and
    // InvalidAccountOwner (261).
    let mut genesis = tandem_engine::genesis::Genesis::default_cluster();
    let with_data = fresh(31);
    genesis.accounts.push(tandem_engine::account::Account {
        pubkey: pk(&with_data),
        lamports: SOL,
        owner: SYSTEM_PROGRAM_ID,
        executable: false,
        data: vec![1, 0],
        mapping: Mapping::RwUed,
    });
    let mut c = Chain::with_genesis(genesis);
    let user = key("user-0");
    // An account without data that the system program no longer owns.
    let owned = fresh(32);
    c.block(vec![transfer(&user, pk(&owned), SOL, c.recent())]);
    let assign = |key: &ed25519_dalek::SigningKey, recent| {
        tx(
            &[&user, key],
            SYSTEM_PROGRAM_ID,
            &[AccountMeta::new(pk(key), true)],
            &SystemInstruction::Assign {
                owner: vote_program_id(),
            }
            .encode(),
            recent,
        )
    };
    let out = c.block(vec![assign(&owned, c.recent())]);
    assert_status(only(&out), Success, Some(Ued));
    let send = |lamports: u64, recent| {
        tx(
            &[&user, &owned],
            SYSTEM_PROGRAM_ID,
            &[
                AccountMeta::new(pk(&owned), true),
                AccountMeta::new(pk(&user), false),
            ],
            &SystemInstruction::Transfer { lamports }.encode(),
            recent,
        )
    };
    let out = c.block(vec![send(2 * SOL, c.recent())]);
    assert_status(only(&out), ProgramError(1), Some(Ued));
    let out = c.block(vec![send(0, c.recent())]);
    assert_status(only(&out), Success, Some(Ued));
    let out = c.block(vec![send(1, c.recent())]);
    assert_status(only(&out), ProgramError(261), Some(Ued));
    assert_eq!(c.lamports(&pk(&owned)), SOL);
    // The owner it already has: no work, asked of no signature and no writable account
    // (Solana's `assign` returns first) — the transaction's other instructions stand.
    let same_owner = tx(
        &[&user],
        SYSTEM_PROGRAM_ID,
        &[AccountMeta::new_readonly(pk(&with_data), false)],
        &SystemInstruction::Assign {
            owner: SYSTEM_PROGRAM_ID,
        }
        .encode(),
        c.recent(),
    );
    let out = c.block(vec![same_owner]);
    assert_status(only(&out), Success, Some(Ued));
    // CreateAccount of a funded account: in use (0) before the missing signatures (258).
    let unsigned_create = tx(
        &[&user],
        SYSTEM_PROGRAM_ID,
        &[
            AccountMeta::new(pk(&user), true),
            AccountMeta::new(pk(&with_data), false),
        ],
        &SystemInstruction::CreateAccount {
            lamports: 1,
            space: 0,
            owner: SYSTEM_PROGRAM_ID,
        }
        .encode(),
        c.recent(),
    );
    let out = c.block(vec![unsigned_create]);
    assert_status(only(&out), ProgramError(0), Some(Ued));
    // A system account whose data is not all zeros cannot be assigned.
    let out = c.block(vec![assign(&with_data, c.recent())]);
    assert_status(only(&out), ProgramError(261), Some(Ued));
    assert_eq!(
        c.account(&pk(&with_data)).expect("exists").owner,
        SYSTEM_PROGRAM_ID
    );
}

#[test]
fn vote_program_rules() {
    let mut c = Chain::new();
    c.block(vec![]);
    c.block(vec![]);
    // Not past: a vote for the block's own slot (3).
    let out = c.block(vec![vote(0, 3, c.recent())]);
    assert_status(only(&out), ProgramError(515), Some(Ved));
    let out = c.block(vec![vote(0, 2, c.recent())]);
    assert_status(only(&out), Success, Some(Ved));
    // Too old: not after the last vote.
    let out = c.block(vec![vote(0, 2, c.recent())]);
    assert_status(only(&out), ProgramError(514), Some(Ved));
    // Another validator's node signing for vote-0: UnauthorizedVoter.
    let node1 = key("validator-1");
    let out = c.block(vec![tx(
        &[&node1],
        vote_program_id(),
        &[
            AccountMeta::new(pk(&key("vote-0")), false),
            AccountMeta::new_readonly(pk(&node1), true),
        ],
        &tandem_engine::runtime::builtins::vote::VoteInstruction::Vote {
            slot: 4,
            ved_hash: [0; 32],
            ued: None,
            timestamp_ms: 0,
        }
        .encode(),
        c.recent(),
    )]);
    assert_status(only(&out), ProgramError(516), Some(Ved));
    assert_eq!(c.vote_state(0).last_voted_slot, 2);
    // A UED report for a slot not before the block's own fails as the VED's does: no
    // validator can have that UED hash yet, and once stored it would refuse every honest report
    // after it (517) for good.
    let ued_vote = |slot: u64, ued_slot: u64, recent: [u8; 32]| {
        let ix = tandem_engine::runtime::builtins::vote::VoteInstruction::Vote {
            slot,
            ved_hash: [1; 32],
            ued: Some((ued_slot, [2; 32])),
            timestamp_ms: 0,
        };
        node_instruction(&key("validator-0"), pk(&key("vote-0")), ix, recent)
    };
    for ahead in [0, 1, u64::MAX] {
        let slot = c.history.last().expect("blocks").0.header.slot + 1;
        let out = c.block(vec![ued_vote(
            slot - 1,
            slot.saturating_add(ahead),
            c.recent(),
        )]);
        assert_status(only(&out), ProgramError(515), Some(Ved));
    }
    assert_eq!(c.vote_state(0).ued_slot, 0);
    let slot = c.history.last().expect("blocks").0.header.slot + 1;
    let out = c.block(vec![ued_vote(slot - 1, slot - 1, c.recent())]);
    assert_status(only(&out), Success, Some(Ved));
    assert_eq!(c.vote_state(0).ued_slot, slot - 1);
}

#[test]
fn transactions_built_with_solanas_own_crates_execute_as_solana_would() {
    use solana_hash::Hash;
    use solana_keypair::Keypair;
    use solana_signer::Signer;
    use solana_system_interface::instruction as system;
    use solana_transaction::{Address, Transaction as SolTransaction};

    let mut c = Chain::new();
    let payer = Keypair::new_from_array(tandem_engine::genesis::default_keypair_seed("user-0"));
    let new = Keypair::new_from_array([42; 32]);
    let to = Address::new_from_array(pk(&key("user-1")).0);
    let payer_key = Pubkey(payer.pubkey().to_bytes());
    let new_key = Pubkey(new.pubkey().to_bytes());
    let (p0, t0) = (c.lamports(&payer_key), c.lamports(&pk(&key("user-1"))));
    let recent = Hash::new_from_array(c.recent());
    let transfer = SolTransaction::new_signed_with_payer(
        &[system::transfer(&payer.pubkey(), &to, 3 * SOL)],
        Some(&payer.pubkey()),
        &[&payer],
        recent.clone(),
    );
    let create = SolTransaction::new_signed_with_payer(
        &[system::create_account(
            &payer.pubkey(),
            &new.pubkey(),
            2 * SOL,
            64,
            &Address::new_from_array(vote_program_id().0),
        )],
        Some(&payer.pubkey()),
        &[&payer, &new],
        recent,
    );
    let out = c.block(vec![
        bincode::serialize(&transfer).expect("serialize"),
        bincode::serialize(&create).expect("serialize"),
    ]);
    assert_status(&out.transactions[0], Success, Some(Ued));
    assert_status(&out.transactions[1], Success, Some(Ued));
    assert_eq!(c.lamports(&payer_key), p0 - 3 * SOL - 2 * SOL - 3 * FEE);
    assert_eq!(c.lamports(&pk(&key("user-1"))), t0 + 3 * SOL);
    let created = c.account(&new_key).expect("created");
    assert_eq!(
        (created.lamports, created.data, created.owner),
        (2 * SOL, vec![0; 64], vote_program_id())
    );
    // Solana's create_account of an account in use fails with SystemError::AccountAlreadyInUse.
    let again = SolTransaction::new_signed_with_payer(
        &[system::create_account(
            &payer.pubkey(),
            &new.pubkey(),
            SOL,
            0,
            &Address::new_from_array([0; 32]),
        )],
        Some(&payer.pubkey()),
        &[&payer, &new],
        Hash::new_from_array(c.recent()),
    );
    let out = c.block(vec![bincode::serialize(&again).expect("serialize")]);
    assert_status(only(&out), ProgramError(0), Some(Ued));
}

#[test]
fn checks_run_in_order_and_the_first_failure_gives_the_status() {
    let mut c = Chain::new();
    let user = key("user-0");
    let u0 = c.lamports(&pk(&user));
    let poor = fresh(5);
    // Check 3 before 6: an unknown blockhash on a mixed transaction.
    let mixed_stale = transfer(&user, pk(&key("vote-0")), 1, [3; 32]);
    // Check 5 before 6: an unfunded payer naming a VED account.
    let mixed_unfunded = transfer(&poor, pk(&key("vote-0")), 1, c.recent());
    // Check 6 before 7: a mixed transaction that also marks a program writable.
    let mixed_writable = transfer_marking_a_program_writable(&user, pk(&key("vote-0")), c.recent());
    let out = c.block(vec![mixed_stale, mixed_unfunded, mixed_writable.clone()]);
    let statuses: Vec<_> = out.transactions.iter().map(|t| t.status).collect();
    assert_eq!(
        statuses,
        [BlockhashNotFound, InsufficientFundsForFee, DomainViolation]
    );
    assert_eq!(
        c.lamports(&pk(&user)),
        u0 - FEE,
        "only the failure after check 5 paid"
    );
    // A transaction whose fee was charged entered the window, failed or not: check 4 now.
    let out = c.block(vec![mixed_writable]);
    assert_status(only(&out), DuplicateSignature, Some(Ued));
    assert_eq!(c.lamports(&pk(&user)), u0 - FEE);
}

#[test]
fn an_account_a_transaction_left_at_zero_lamports_is_made_afresh_for_the_next() {
    // Agave's account loader: an account an earlier transaction of the slot left at 0 lamports
    // was deallocated, and the next transaction naming it gets a new system account. It kept
    // its owner and data until the slot's commit: re-funded in the same block, a drained
    // account kept the data it was given and its funds were stuck (a black-box test of
    // conflicting transactions, 2026-12-07).
    let mut c = Chain::new();
    let user = key("user-0");
    let (x, y) = (fresh(41), fresh(42));
    c.block(vec![
        transfer(&user, pk(&x), SOL, c.recent()),
        transfer(&user, pk(&y), SOL, c.recent()),
    ]);
    let system = SystemInstruction::Transfer {
        lamports: SOL - FEE,
    };
    // `key` gives its whole balance to user-0, then `then` on itself: one transaction.
    let drain = |key: &ed25519_dalek::SigningKey, then: SystemInstruction, recent| {
        let message = MessageBuilder::new(pk(key))
            .instruction(
                SYSTEM_PROGRAM_ID,
                &[
                    AccountMeta::new(pk(key), true),
                    AccountMeta::new(pk(&user), false),
                ],
                &system.encode(),
            )
            .instruction(
                SYSTEM_PROGRAM_ID,
                &[AccountMeta::new(pk(key), true)],
                &then.encode(),
            )
            .build_legacy(recent)
            .expect("message");
        Transaction::sign(&message, &[key]).expect("sign")
    };
    let recent = c.recent();
    let make_y = create_account(&user, &y, (SOL, 0, SYSTEM_PROGRAM_ID), recent);
    let out = c.block(vec![
        drain(&x, SystemInstruction::Allocate { space: 16 }, recent),
        drain(
            &y,
            SystemInstruction::Assign {
                owner: vote_program_id(),
            },
            recent,
        ),
        transfer(&user, pk(&x), 2 * SOL, recent),
        // From a system account without data: it was given its 16 bytes before it was drained.
        transfer(&x, pk(&user), SOL, recent),
        // To an account with no lamports: it was assigned before it was drained.
        make_y,
    ]);
    for t in &out.transactions {
        assert_status(t, Success, Some(Ued));
    }
    let x = c.account(&pk(&x)).expect("x");
    assert_eq!(
        (x.lamports, x.owner, x.data.len()),
        (SOL - FEE, SYSTEM_PROGRAM_ID, 0)
    );
    let y = c.account(&pk(&y)).expect("y");
    assert_eq!((y.lamports, y.owner), (SOL, SYSTEM_PROGRAM_ID));
    c.assert_engine_agrees();
}

#[test]
fn a_payer_its_fee_leaves_at_zero_lamports_is_made_afresh_too() {
    // The fee of a transaction whose instruction fails takes the payer's last lamports (the
    // data it was given stays with it): deallocated like any account a transaction empties, so
    // paid again later in the block, it can send (a system transfer refuses an account with
    // data). Found in review, 2026-12-07.
    let mut c = Chain::new();
    let user = key("user-0");
    let p = fresh(51);
    c.block(vec![transfer(&user, pk(&p), 2 * FEE, c.recent())]);
    let recent = c.recent();
    let allocate = tx(
        &[&p],
        SYSTEM_PROGRAM_ID,
        &[AccountMeta::new(pk(&p), true)],
        &SystemInstruction::Allocate { space: 16 }.encode(),
        recent,
    );
    let out = c.block(vec![
        allocate,
        transfer(&p, pk(&user), FEE, recent), // from an account with data: only the fee
        transfer(&user, pk(&p), SOL, recent),
        transfer(&p, pk(&user), 1, recent),
    ]);
    let statuses: Vec<_> = out.transactions.iter().map(|t| t.status).collect();
    assert_eq!(statuses, [Success, ProgramError(262), Success, Success]);
    let p = c.account(&pk(&p)).expect("p");
    assert_eq!((p.lamports, p.data.len()), (SOL - FEE - 1, 0));
    c.assert_engine_agrees();
}
