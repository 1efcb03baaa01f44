//! Interop with Solana's own crates: transactions they build and sign parse in tandem with the same
//! fields and verifiable signatures; tandem's builder and signer produce their bytes exactly; and
//! on mutated inputs tandem accepts exactly what Solana's deserialize + sanitize (+ the account
//! lock's duplicate check) accepts.

mod tx_common;

use bincode::Options;
use ed25519_dalek::{Signature as DalekSignature, VerifyingKey};
use solana_hash::Hash;
use solana_keypair::Keypair;
use solana_message::{AddressLookupTableAccount, VersionedMessage, v0};
use solana_signer::Signer;
use solana_system_interface::instruction as system_instruction;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::{Address, Instruction as SolInstruction, Transaction as SolTransaction};
use tandem_engine::Pubkey;
use tandem_engine::sample::SplitMix64;
use tandem_engine::tx::{
    AccountMeta, AddressLookupTable, MessageBuilder, PACKET_DATA_SIZE, Transaction, TxError,
};
use tx_common::*;

fn keypair(seed: u8) -> Keypair {
    Keypair::new_from_array([seed; 32])
}

fn address(key: &Pubkey) -> Address {
    Address::new_from_array(key.0)
}

fn pubkey(address: &Address) -> Pubkey {
    Pubkey(address.to_bytes())
}

fn blockhash() -> Hash {
    Hash::new_from_array(BLOCKHASH)
}

/// Solana's wire encoding: bincode 1 with fixed-width integers, as `bincode::serialize` writes.
fn solana_wire(tx: &VersionedTransaction) -> Vec<u8> {
    bincode::serialize(tx).expect("a transaction serializes")
}

/// Solana's decoding, strict about trailing bytes like tandem.
fn solana_decode(wire: &[u8]) -> Option<VersionedTransaction> {
    bincode::options()
        .with_fixint_encoding()
        .reject_trailing_bytes()
        .deserialize(wire)
        .ok()
}

/// Asserts that tandem's view of `wire` is field for field Solana's `expected`, message bytes and
/// signatures included, and that it re-encodes to `wire`.
fn assert_same(wire: &[u8], expected: &VersionedTransaction) {
    let tx = Transaction::parse(wire).expect("tandem parses Solana's transaction");
    let msg = tx.message();
    let header = expected.message.header();
    assert_eq!(
        (
            msg.header().num_required_signatures,
            msg.header().num_readonly_signed_accounts,
            msg.header().num_readonly_unsigned_accounts
        ),
        (
            header.num_required_signatures,
            header.num_readonly_signed_accounts,
            header.num_readonly_unsigned_accounts
        )
    );
    let keys: Vec<Pubkey> = expected
        .message
        .static_account_keys()
        .iter()
        .map(pubkey)
        .collect();
    assert_eq!(msg.account_keys(), keys);
    assert_eq!(
        msg.recent_blockhash(),
        &expected.message.recent_blockhash().to_bytes()
    );
    let ixs = expected.message.instructions();
    assert_eq!(msg.instructions().len(), ixs.len());
    for (ours, theirs) in msg.instructions().iter().zip(ixs) {
        assert_eq!(ours.program_id_index, theirs.program_id_index);
        assert_eq!(ours.accounts, theirs.accounts);
        assert_eq!(ours.data, theirs.data);
    }
    let lookups = expected.message.address_table_lookups().unwrap_or_default();
    assert_eq!(msg.address_table_lookups().len(), lookups.len());
    for (ours, theirs) in msg.address_table_lookups().iter().zip(lookups) {
        assert_eq!(ours.account_key, &pubkey(&theirs.account_key));
        assert_eq!(ours.writable_indexes, theirs.writable_indexes);
        assert_eq!(ours.readonly_indexes, theirs.readonly_indexes);
    }
    for i in 0..keys.len() {
        assert_eq!(
            msg.is_signer(i),
            expected.message.is_signer(i),
            "is_signer({i})"
        );
    }
    assert_eq!(msg.fee_payer(), Ok(&keys[0]));

    assert_eq!(tx.message_bytes(), expected.message.serialize());
    let signatures: Vec<[u8; 64]> = expected.signatures.iter().map(|s| (*s).into()).collect();
    assert_eq!(tx.signatures(), signatures);
    assert_eq!(tx.encode(), wire);
}

/// Asserts that every signature of `wire` verifies (verify_strict) over the message bytes tandem
/// returns for it.
fn assert_signatures_verify(wire: &[u8]) {
    let tx = Transaction::parse(wire).expect("tandem parses it");
    for (signature, key) in tx.signatures().iter().zip(tx.message().account_keys()) {
        VerifyingKey::from_bytes(&key.0)
            .expect("a valid key")
            .verify_strict(tx.message_bytes(), &DalekSignature::from_bytes(signature))
            .expect("the signature verifies over tandem's message bytes");
    }
}

/// The same instructions through tandem's builder.
fn tandem_builder(payer: &Address, instructions: &[SolInstruction]) -> MessageBuilder {
    instructions
        .iter()
        .fold(MessageBuilder::new(pubkey(payer)), |builder, ix| {
            let metas: Vec<AccountMeta> = ix
                .accounts
                .iter()
                .map(|m| AccountMeta {
                    pubkey: pubkey(&m.pubkey),
                    is_signer: m.is_signer,
                    is_writable: m.is_writable,
                })
                .collect();
            builder.instruction(pubkey(&ix.program_id), &metas, &ix.data)
        })
}

/// Checks a signed Solana transaction both ways: tandem parses it, and tandem's builder and
/// signer, given the same instructions and keys, write the very same bytes (ed25519 signatures
/// are deterministic).
fn check_legacy(instructions: &[SolInstruction], signers: &[&Keypair]) {
    let payer = signers[0].pubkey();
    let solana =
        SolTransaction::new_signed_with_payer(instructions, Some(&payer), signers, blockhash());
    let solana = VersionedTransaction::from(solana);
    let wire = solana_wire(&solana);
    assert_same(&wire, &solana);
    assert_signatures_verify(&wire);

    let message = tandem_builder(&payer, instructions)
        .build_legacy(BLOCKHASH)
        .unwrap();
    assert_eq!(
        message,
        solana.message.serialize(),
        "tandem's builder orders keys as Solana"
    );
    let dalek: Vec<_> = signers
        .iter()
        .map(|k| ed25519_dalek::SigningKey::from_bytes(k.secret_bytes()))
        .collect();
    let refs: Vec<_> = dalek.iter().collect();
    assert_eq!(Transaction::sign(&message, &refs).unwrap(), wire);
}

#[test]
fn system_transfer() {
    let from = keypair(1);
    let ix = system_instruction::transfer(&from.pubkey(), &address(&key(2)), 42);
    check_legacy(&[ix], &[&from]);
}

#[test]
fn create_account_then_transfer() {
    let (from, new) = (keypair(1), keypair(2));
    let owner = address(&custom_program());
    let ixs = [
        system_instruction::create_account(&from.pubkey(), &new.pubkey(), 1_000_000, 128, &owner),
        system_instruction::transfer(&from.pubkey(), &address(&key(3)), 7),
        system_instruction::transfer(&new.pubkey(), &address(&key(4)), 1),
    ];
    check_legacy(&ixs, &[&from, &new]);
}

#[test]
fn mixed_signers_and_read_only_accounts() {
    let (payer, cosigner) = (keypair(5), keypair(6));
    let ix = SolInstruction::new_with_bytes(
        address(&custom_program()),
        b"any data",
        vec![
            solana_transaction::AccountMeta::new_readonly(cosigner.pubkey(), true),
            solana_transaction::AccountMeta::new_readonly(address(&key(0x21)), false),
            solana_transaction::AccountMeta::new(address(&key(0x20)), false),
            solana_transaction::AccountMeta::new_readonly(address(&key(0x01)), false),
        ],
    );
    let transfer = system_instruction::transfer(&payer.pubkey(), &address(&key(0x30)), 9);
    check_legacy(&[ix, transfer], &[&payer, &cosigner]);
}

#[test]
fn v0_with_lookup_tables() {
    let (payer, new) = (keypair(1), keypair(2));
    let ixs = [
        system_instruction::create_account(
            &payer.pubkey(),
            &new.pubkey(),
            5,
            0,
            &address(&custom_program()),
        ),
        system_instruction::transfer(&payer.pubkey(), &address(&key(0x10)), 3),
        SolInstruction::new_with_bytes(
            address(&custom_program()),
            &[1, 2, 3],
            vec![
                solana_transaction::AccountMeta::new_readonly(address(&key(0x20)), false),
                solana_transaction::AccountMeta::new(address(&key(0x11)), false),
            ],
        ),
    ];
    let tables = sample_tables();
    let solana_tables: Vec<AddressLookupTableAccount> = tables
        .iter()
        .map(|t| AddressLookupTableAccount {
            key: address(&t.key),
            addresses: t.addresses.iter().map(address).collect(),
        })
        .collect();
    let message = v0::Message::try_compile(&payer.pubkey(), &ixs, &solana_tables, blockhash())
        .expect("Solana compiles the v0 message");
    let solana = VersionedTransaction::try_new(VersionedMessage::V0(message), &[&payer, &new])
        .expect("Solana signs it");
    let wire = solana_wire(&solana);
    assert_eq!(wire[1 + 2 * 64], 0x80);
    assert_same(&wire, &solana);
    assert_signatures_verify(&wire);
    assert_eq!(
        Transaction::parse(&wire)
            .unwrap()
            .message()
            .num_loaded_addresses(),
        3
    );

    let ours = tandem_builder(&payer.pubkey(), &ixs)
        .build_v0(BLOCKHASH, &tables)
        .unwrap();
    assert_eq!(
        ours,
        solana.message.serialize(),
        "tandem compiles lookups as Solana"
    );
    let skip_empty: Vec<AddressLookupTable> = vec![AddressLookupTable {
        key: key(0xa9),
        addresses: vec![key(0x77)],
    }];
    // A table that holds none of the keys is left out, as in Solana.
    assert_eq!(
        tandem_builder(&payer.pubkey(), &ixs)
            .build_v0(BLOCKHASH, &skip_empty)
            .unwrap(),
        v0::Message::try_compile(&payer.pubkey(), &ixs, &[], blockhash())
            .unwrap()
            .serialize()
    );
}

#[test]
fn tandem_transactions_deserialize_and_sanitize_in_solana() {
    for wire in [legacy_wire(), v0_wire()] {
        let solana = solana_decode(&wire).expect("Solana decodes tandem's bytes");
        solana.sanitize().expect("Solana's sanitize accepts them");
        assert_same(&wire, &solana);
        assert_eq!(solana_wire(&solana), wire);
    }
}

/// What Solana accepts, in tandem's terms: deserializes (legacy or v0; v1 is another format), fits
/// a packet, sanitizes, and has no duplicate static key (Solana's account lock would refuse it).
fn solana_accepts(wire: &[u8]) -> bool {
    let Some(tx) = solana_decode(wire) else {
        return false;
    };
    let keys = tx.message.static_account_keys();
    let duplicates = keys.iter().enumerate().any(|(i, k)| keys[..i].contains(k));
    wire.len() <= PACKET_DATA_SIZE
        && !matches!(tx.message, VersionedMessage::V1(_))
        && tx.sanitize().is_ok()
        && !duplicates
}

#[test]
fn mutated_inputs_are_accepted_exactly_when_solana_accepts_them() {
    let from = keypair(1);
    let solana_transfer = VersionedTransaction::from(SolTransaction::new_signed_with_payer(
        &[system_instruction::transfer(
            &from.pubkey(),
            &address(&key(2)),
            42,
        )],
        Some(&from.pubkey()),
        &[&from],
        blockhash(),
    ));
    let bases = [
        legacy_wire(),
        v0_wire(),
        RawMessage::transfer().wire(),
        RawMessage::transfer_v0().wire(),
        solana_wire(&solana_transfer),
    ];
    let mut rng = SplitMix64::new(0x5015);
    let mut accepted = 0;
    for round in 0..30_000 {
        let input = mutate(&mut rng, &bases[round % bases.len()]);
        let ours = Transaction::parse(&input);
        assert_eq!(
            ours.is_ok(),
            solana_accepts(&input),
            "tandem says {ours:?} for {input:02x?}"
        );
        if let Ok(tx) = ours {
            accepted += 1;
            let solana = solana_decode(&input).expect("accepted by both");
            assert_same(tx.wire_bytes(), &solana);
        }
    }
    assert!(accepted > 1_000, "only {accepted} mutants were valid");
}

#[test]
fn v1_messages_are_an_unsupported_version() {
    // Solana's serde decoder reads v1 messages; tandem reports them as an unsupported version.
    let mut wire = RawMessage::transfer().wire();
    wire[65] = 0x81;
    assert!(matches!(
        Transaction::parse(&wire),
        Err(TxError::UnsupportedVersion(1))
    ));
}
