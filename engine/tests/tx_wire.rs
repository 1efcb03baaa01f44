//! The transaction wire format (SPEC §2): build → sign → parse round trips, one crafted input per
//! error variant, every truncation, and a deterministic mutation loop.

mod tx_common;

use std::collections::HashSet;

use ed25519_dalek::{Signature as DalekSignature, VerifyingKey};
use tandem_engine::Pubkey;
use tandem_engine::sample::{SYSTEM_PROGRAM_ID, SplitMix64};
use tandem_engine::tx::{
    AccountMeta, AddressLookupTable, BuildError, CompactU16Error, FeePayerProblem, Field, Message,
    MessageBuilder, MessageVersion, PACKET_DATA_SIZE, SignError, Transaction, TxError,
};
use tx_common::*;

fn parse_err(wire: &[u8]) -> TxError {
    Transaction::parse(wire).expect_err("the input is invalid")
}

/// The valid legacy transfer, edited.
fn with(edit: impl FnOnce(&mut RawMessage)) -> RawMessage {
    let mut raw = RawMessage::transfer();
    edit(&mut raw);
    raw
}

/// The valid v0 transfer (one lookup), edited.
fn with_v0(edit: impl FnOnce(&mut RawMessage)) -> RawMessage {
    let mut raw = RawMessage::transfer_v0();
    edit(&mut raw);
    raw
}

/// The three header bytes.
fn header_bytes(msg: &Message<'_>) -> [u8; 3] {
    let h = msg.header();
    [
        h.num_required_signatures,
        h.num_readonly_signed_accounts,
        h.num_readonly_unsigned_accounts,
    ]
}

fn assert_signatures_verify(tx: &Transaction<'_>) {
    for (signature, key) in tx.signatures().iter().zip(tx.message().account_keys()) {
        let key = VerifyingKey::from_bytes(&key.0).expect("sample keys are valid points");
        key.verify_strict(tx.message_bytes(), &DalekSignature::from_bytes(signature))
            .expect("the signature verifies over the message bytes");
    }
}

#[test]
fn legacy_round_trip() {
    let message = sample_builder().build_legacy(BLOCKHASH).unwrap();
    let wire = sign_sample(&message);
    let tx = Transaction::parse(&wire).unwrap();
    let msg = tx.message();
    let [payer, new, cosigner] = sample_signers().map(|s| key_of(&s));

    assert_eq!(tx.wire_bytes(), wire);
    assert_eq!(tx.message_bytes(), message);
    assert_eq!(tx.encode(), wire);
    assert_eq!(msg.version(), MessageVersion::Legacy);
    assert_eq!(
        msg.account_keys(),
        [
            payer,
            new,
            cosigner,
            key(0x10),
            key(0x11),
            SYSTEM_PROGRAM_ID,
            key(0x20),
            key(0x21),
            custom_program(),
        ]
    );
    assert_eq!(header_bytes(msg), [3, 1, 4]);
    assert_eq!(msg.recent_blockhash(), &BLOCKHASH);
    assert_eq!(tx.signatures().len(), 3);
    assert_signatures_verify(&tx);

    let signer: Vec<bool> = (0..10).map(|i| msg.is_signer(i)).collect();
    let writable: Vec<bool> = (0..10).map(|i| msg.is_writable(i)).collect();
    let (t, f) = (true, false);
    assert_eq!(signer, [t, t, t, f, f, f, f, f, f, f]);
    assert_eq!(writable, [t, t, f, t, t, f, f, f, f, f]);
    assert_eq!(msg.fee_payer(), Ok(&payer));

    let ixs = msg.instructions();
    assert_eq!(ixs.len(), 3);
    assert_eq!((ixs[0].program_id_index, ixs[0].accounts), (5, &[0, 1][..]));
    assert_eq!(
        ixs[0].data,
        create_account_data(1_000_000, 64, &custom_program())
    );
    assert_eq!((ixs[1].program_id_index, ixs[1].accounts), (5, &[0, 3][..]));
    assert_eq!(ixs[1].data, transfer_data(5_000));
    assert_eq!(
        (ixs[2].program_id_index, ixs[2].accounts),
        (8, &[2, 6, 7, 4][..])
    );
    assert_eq!(ixs[2].data, b"custom");
    assert!(msg.address_table_lookups().is_empty());
    assert_eq!(msg.num_loaded_addresses(), 0);
}

#[test]
fn v0_round_trip_with_lookups() {
    let message = sample_builder()
        .build_v0(BLOCKHASH, &sample_tables())
        .unwrap();
    assert_eq!(message[0], 0x80);
    let wire = sign_sample(&message);
    let tx = Transaction::parse(&wire).unwrap();
    let msg = tx.message();
    let [payer, new, cosigner] = sample_signers().map(|s| key_of(&s));

    assert_eq!(tx.message_bytes(), message);
    assert_eq!(tx.encode(), wire);
    assert_eq!(msg.version(), MessageVersion::V0);
    // Non-signers found in a table are loaded, not static.
    assert_eq!(
        msg.account_keys(),
        [payer, new, cosigner, SYSTEM_PROGRAM_ID, custom_program()]
    );
    assert_eq!(header_bytes(msg), [3, 1, 2]);
    assert_signatures_verify(&tx);

    let lookups = msg.address_table_lookups();
    assert_eq!(lookups.len(), 2);
    assert_eq!(lookups[0].account_key, &key(0xa1));
    assert_eq!(
        (lookups[0].writable_indexes, lookups[0].readonly_indexes),
        (&[1][..], &[2][..])
    );
    assert_eq!(lookups[1].account_key, &key(0xa2));
    assert_eq!(
        (lookups[1].writable_indexes, lookups[1].readonly_indexes),
        (&[1][..], &[0][..])
    );
    assert_eq!(msg.num_loaded_addresses(), 4);
    // Loaded addresses come after the 5 static keys: writable 0x11, 0x10, then read-only 0x21, 0x20.
    let ixs = msg.instructions();
    assert_eq!((ixs[0].program_id_index, ixs[0].accounts), (3, &[0, 1][..]));
    assert_eq!((ixs[1].program_id_index, ixs[1].accounts), (3, &[0, 6][..]));
    assert_eq!(
        (ixs[2].program_id_index, ixs[2].accounts),
        (4, &[2, 8, 7, 5][..])
    );
    // Only static keys answer is_signer / is_writable.
    assert!(msg.is_writable(0) && msg.is_writable(1) && !msg.is_writable(2));
    assert!(!msg.is_writable(5) && !msg.is_signer(5));
}

#[test]
fn builder_merges_flags_and_keeps_the_payer_first() {
    let payer = key(0xff);
    let message = MessageBuilder::new(payer)
        // The payer listed read-only and unsigned, a key both read-only and writable, and a
        // program that an instruction marks writable (Solana keeps it writable: WritableProgram).
        .instruction(
            custom_program(),
            &[
                AccountMeta::new_readonly(payer, false),
                AccountMeta::new_readonly(key(5), false),
                AccountMeta::new(key(5), false),
                AccountMeta::new(SYSTEM_PROGRAM_ID, false),
            ],
            &[],
        )
        .instruction(SYSTEM_PROGRAM_ID, &[], &[])
        .build_legacy(BLOCKHASH)
        .unwrap();
    let msg = Message::decode(&message).unwrap();
    msg.sanitize().unwrap();
    assert_eq!(
        msg.account_keys(),
        [payer, SYSTEM_PROGRAM_ID, key(5), custom_program()]
    );
    assert_eq!(msg.fee_payer(), Ok(&payer));
    assert!(msg.is_writable(1) && msg.is_writable(2) && !msg.is_writable(3));
    assert_eq!(msg.instructions()[0].accounts, [0, 2, 2, 1]);
}

#[test]
fn crafted_inputs_trigger_every_parse_error() {
    let valid = RawMessage::transfer();
    assert!(Transaction::parse(&valid.wire()).is_ok());
    assert!(Transaction::parse(&RawMessage::transfer_v0().wire()).is_ok());

    // Wire shape.
    assert_eq!(
        parse_err(&vec![0; PACKET_DATA_SIZE + 1]),
        TxError::TooLong {
            len: PACKET_DATA_SIZE + 1
        }
    );
    assert!(
        parse_err(&vec![0; PACKET_DATA_SIZE + 1])
            .to_string()
            .contains("PACKET_DATA_SIZE (1232")
    );
    assert_eq!(
        parse_err(&[]),
        TxError::Truncated {
            field: Field::SignatureCount,
            offset: 0
        }
    );
    for (count, error) in [
        (&[0x80, 0x00][..], CompactU16Error::NonCanonical),
        (&[0xff, 0xff, 0x04], CompactU16Error::Overflow(0x1_3fff)),
        (&[0x80, 0x80, 0x80], CompactU16Error::TooLong),
    ] {
        let mut wire = count.to_vec();
        wire.extend(valid.bytes());
        assert_eq!(
            parse_err(&wire),
            TxError::InvalidCompactU16 {
                field: Field::SignatureCount,
                offset: 0,
                error
            }
        );
    }
    // An overlong instruction-data length deep inside the message.
    let mut wire = valid.wire();
    let data_len_at = wire.len() - 1 - transfer_data(7).len();
    wire[data_len_at] = 0x8c;
    wire.insert(data_len_at + 1, 0x00);
    assert_eq!(
        parse_err(&wire),
        TxError::InvalidCompactU16 {
            field: Field::InstructionDataLength,
            offset: data_len_at,
            error: CompactU16Error::NonCanonical
        }
    );
    for (version, expect) in [(1, 1), (0x7f, 0x7f)] {
        assert_eq!(
            parse_err(&with(|r| r.version = Some(version)).wire()),
            TxError::UnsupportedVersion(expect)
        );
    }
    let mut wire = valid.wire();
    let message_end = wire.len();
    wire.extend([0, 0]);
    assert_eq!(
        parse_err(&wire),
        TxError::TrailingBytes {
            message_end,
            extra: 2
        }
    );

    // Sanitize, in Solana's order.
    assert_eq!(
        parse_err(&with(|r| r.header = [2, 0, 2]).wire()),
        TxError::HeaderExceedsKeys {
            required: 2,
            readonly_unsigned: 2,
            keys: 3
        }
    );
    assert_eq!(
        parse_err(&with(|r| r.header = [1, 1, 1]).wire()),
        TxError::NoWritableSigner {
            required: 1,
            readonly_signed: 1
        }
    );
    // Zero signers: no fee payer, rejected like Solana does (0 >= 0).
    assert_eq!(
        parse_err(&with(|r| r.header = [0, 0, 1]).wire()),
        TxError::NoWritableSigner {
            required: 0,
            readonly_signed: 0
        }
    );
    // No keys at all fails the first rule only if the header asks for any; else the second.
    assert_eq!(
        parse_err(
            &with(|r| {
                r.header = [0, 0, 0];
                r.keys.clear();
                r.instructions.clear();
            })
            .wire()
        ),
        TxError::NoWritableSigner {
            required: 0,
            readonly_signed: 0
        }
    );
    assert_eq!(
        parse_err(&with_v0(|r| r.lookups.push((key(0xa2), vec![], vec![]))).wire()),
        TxError::EmptyAddressTableLookup { lookup: 1 }
    );
    assert_eq!(
        parse_err(&with_v0(|r| r.lookups[0].1 = (0..=254).collect()).wire()),
        TxError::TooManyAccountKeys { count: 3 + 255 + 1 }
    );
    assert_eq!(
        parse_err(&with(|r| r.instructions[0].0 = 3).wire()),
        TxError::ProgramIdIndexOutOfRange {
            instruction: 0,
            index: 3,
            keys: 3
        }
    );
    // Program ids cannot be loaded: index 3 is a loaded address in the v0 message.
    assert_eq!(
        parse_err(&with_v0(|r| r.instructions[0].0 = 3).wire()),
        TxError::ProgramIdIndexOutOfRange {
            instruction: 0,
            index: 3,
            keys: 3
        }
    );
    assert_eq!(
        parse_err(&with(|r| r.instructions.push((0, vec![], vec![]))).wire()),
        TxError::ProgramIdIsFeePayer { instruction: 1 }
    );
    assert_eq!(
        parse_err(&with(|r| r.instructions[0].1 = vec![0, 3]).wire()),
        TxError::AccountIndexOutOfRange {
            instruction: 0,
            index: 3,
            keys: 3
        }
    );
    // In v0 the range includes the two loaded addresses: 3 and 4 are in, 5 is out.
    assert!(Transaction::parse(&with_v0(|r| r.instructions[0].1 = vec![0, 3, 4]).wire()).is_ok());
    assert_eq!(
        parse_err(&with_v0(|r| r.instructions[0].1 = vec![0, 5]).wire()),
        TxError::AccountIndexOutOfRange {
            instruction: 0,
            index: 5,
            keys: 5
        }
    );
    for count in [0, 2] {
        assert_eq!(
            parse_err(&valid.wire_with_signatures(count)),
            TxError::SignatureCountMismatch {
                signatures: count,
                required: 1
            }
        );
    }
    assert_eq!(
        parse_err(&with(|r| r.keys[1] = key(1)).wire()),
        TxError::DuplicateAccountKey {
            key: key(1),
            first: 0,
            second: 1
        }
    );
}

#[test]
fn error_messages_name_what_is_wrong() {
    let truncated = parse_err(&[1, 0]).to_string();
    assert!(truncated.contains("signatures"), "{truncated}");
    let dup = parse_err(&with(|r| r.keys[1] = key(1)).wire()).to_string();
    assert!(
        dup.contains("appears twice") && dup.contains(&key(1).to_string()),
        "{dup}"
    );
    let version = TxError::UnsupportedVersion(1).to_string();
    assert!(version.contains("version 1"), "{version}");
}

#[test]
fn fee_payer_check_on_decoded_messages() {
    // Sanitized messages always have a writable signer first; merely decoded ones need not.
    let decoded = |header: [u8; 3], keys: Vec<Pubkey>| {
        let raw = RawMessage {
            header,
            keys,
            instructions: vec![],
            ..RawMessage::transfer()
        };
        Message::decode(&raw.bytes()).unwrap().fee_payer().copied()
    };
    assert_eq!(
        decoded([0, 0, 0], vec![]),
        Err(TxError::InvalidFeePayer(FeePayerProblem::NoAccountKeys))
    );
    assert_eq!(
        decoded([0, 0, 0], vec![key(1)]),
        Err(TxError::InvalidFeePayer(FeePayerProblem::NotSigner))
    );
    assert_eq!(
        decoded([1, 1, 0], vec![key(1)]),
        Err(TxError::InvalidFeePayer(FeePayerProblem::NotWritable))
    );
    assert_eq!(decoded([1, 0, 0], vec![key(1)]), Ok(key(1)));
    assert!(
        TxError::InvalidFeePayer(FeePayerProblem::NotSigner)
            .to_string()
            .starts_with("InvalidFeePayer")
    );
}

#[test]
fn every_truncation_is_an_error_naming_its_field() {
    let mut fields = HashSet::new();
    for wire in [legacy_wire(), v0_wire()] {
        assert!(Transaction::parse(&wire).is_ok());
        for len in 0..wire.len() {
            match Transaction::parse(&wire[..len]) {
                Err(TxError::Truncated { field, offset }) => {
                    assert!(offset <= len, "offset {offset} beyond the {len} bytes");
                    fields.insert(field);
                }
                other => panic!("prefix of {len} bytes: {other:?}"),
            }
        }
    }
    // The sample transactions have every field, so every field's truncation was seen.
    assert_eq!(fields.len(), 18, "{fields:?}");
}

#[test]
fn build_errors() {
    let payer = key(1);
    let many: Vec<AccountMeta> = (0..=255)
        .map(|i| {
            let mut k = [0xdd; 32];
            k[0] = i;
            AccountMeta::new(Pubkey(k), false)
        })
        .collect();
    let err = MessageBuilder::new(payer)
        .instruction(SYSTEM_PROGRAM_ID, &many, &[])
        .build_legacy(BLOCKHASH)
        .unwrap_err();
    // 256 accounts, the payer and the program.
    assert_eq!(err, BuildError::TooManyAccountKeys { count: 258 });

    let err = MessageBuilder::new(payer)
        .instruction(SYSTEM_PROGRAM_ID, &[], &[0; PACKET_DATA_SIZE])
        .build_legacy(BLOCKHASH)
        .unwrap_err();
    assert!(
        matches!(err, BuildError::TooLong { len } if len > PACKET_DATA_SIZE),
        "{err:?}"
    );

    let mut addresses = vec![key(0xee); 256];
    addresses.push(key(7));
    let err = MessageBuilder::new(payer)
        .instruction(SYSTEM_PROGRAM_ID, &[AccountMeta::new(key(7), false)], &[])
        .build_v0(
            BLOCKHASH,
            &[AddressLookupTable {
                key: key(0xaa),
                addresses,
            }],
        )
        .unwrap_err();
    assert_eq!(
        err,
        BuildError::LookupIndexOverflow {
            table: key(0xaa),
            key: key(7),
            position: 256
        }
    );

    // The largest transfer that fits builds; its signed form parses and is within the limit.
    let fits = |len| {
        MessageBuilder::new(key_of(&signer(1)))
            .instruction(SYSTEM_PROGRAM_ID, &[], &vec![0; len])
            .build_legacy(BLOCKHASH)
    };
    let largest = (0..PACKET_DATA_SIZE)
        .rev()
        .find(|&len| fits(len).is_ok())
        .unwrap();
    let wire = Transaction::sign(&fits(largest).unwrap(), &[&signer(1)]).unwrap();
    assert_eq!(wire.len(), PACKET_DATA_SIZE);
    assert!(Transaction::parse(&wire).is_ok());
}

#[test]
fn sign_errors() {
    let message = sample_builder().build_legacy(BLOCKHASH).unwrap();
    let [a, b, c] = sample_signers();
    assert_eq!(
        Transaction::sign(&message, &[&a, &c]),
        Err(SignError::MissingSigner {
            index: 1,
            key: key_of(&b)
        })
    );
    let stranger = signer(9);
    assert_eq!(
        Transaction::sign(&message, &[&a, &b, &c, &stranger]),
        Err(SignError::UnexpectedSigner {
            key: key_of(&stranger)
        })
    );
    assert!(matches!(
        Transaction::sign(&message[..10], &[&a]),
        Err(SignError::Message(TxError::Truncated { .. }))
    ));
    // Signers in any order give the same bytes.
    assert_eq!(
        Transaction::sign(&message, &[&c, &a, &b]).unwrap(),
        Transaction::sign(&message, &[&a, &b, &c]).unwrap()
    );
}

#[test]
fn mutated_transactions_never_panic_and_ok_results_re_encode_identically() {
    let bases = [
        legacy_wire(),
        v0_wire(),
        RawMessage::transfer().wire(),
        RawMessage::transfer_v0().wire(),
    ];
    let mut rng = SplitMix64::new(0x7a_6e_64_65_6d);
    let (mut decoded, mut parsed) = (0, 0);
    for round in 0..60_000 {
        let input = mutate(&mut rng, &bases[round % bases.len()]);
        if let Ok(tx) = Transaction::decode(&input) {
            decoded += 1;
            assert_eq!(tx.encode(), input, "re-encoding {input:02x?}");
            let msg = tx.message();
            let _ = (msg.fee_payer(), msg.is_signer(0), msg.is_writable(255));
            if tx.sanitize().is_ok() {
                parsed += 1;
                assert!(msg.fee_payer().is_ok());
                let keys = msg.account_keys().len() + msg.num_loaded_addresses();
                for ix in msg.instructions() {
                    assert!(usize::from(ix.program_id_index) < msg.account_keys().len());
                    assert!(ix.accounts.iter().all(|&a| usize::from(a) < keys));
                }
            }
            assert_eq!(Transaction::parse(&input).is_ok(), tx.sanitize().is_ok());
        }
    }
    // The loop must reach deep: plenty of mutants still decode, and some still sanitize.
    assert!(
        decoded > 3_000 && parsed > 1_000,
        "decoded {decoded}, parsed {parsed}"
    );
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = SplitMix64::new(1);
    for _ in 0..20_000 {
        let mut input = vec![0; rng.below(300) as usize];
        rng.fill(&mut input);
        // Small counts make random bytes decode further.
        if let Some(first) = input.first_mut() {
            *first %= 3;
        }
        if let Ok(tx) = Transaction::decode(&input) {
            assert_eq!(tx.encode(), input);
        }
    }
}

/// The seed corpus of the `tx_decode` fuzz target (engine/fuzz): each file parses. Regenerate
/// with `cargo test -p tandem-engine --test tx_wire -- --ignored write_fuzz_seed_corpus`.
#[test]
fn fuzz_seed_corpus_parses() {
    let seeds = seed_corpus();
    for (name, bytes) in &seeds {
        assert!(Transaction::parse(bytes).is_ok(), "{name}");
        let path = corpus_dir().join(name);
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            &on_disk,
            bytes,
            "{} is stale: regenerate it",
            path.display()
        );
    }
}

#[test]
#[ignore = "writes the fuzz seed corpus into the source tree"]
fn write_fuzz_seed_corpus() {
    std::fs::create_dir_all(corpus_dir()).unwrap();
    for (name, bytes) in seed_corpus() {
        std::fs::write(corpus_dir().join(name), bytes).unwrap();
    }
}

fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/tx_decode")
}

fn seed_corpus() -> Vec<(&'static str, Vec<u8>)> {
    let payer = signer(1);
    let transfer = MessageBuilder::new(key_of(&payer))
        .instruction(
            SYSTEM_PROGRAM_ID,
            &[
                AccountMeta::new(key_of(&payer), true),
                AccountMeta::new(key(2), false),
            ],
            &transfer_data(1),
        )
        .build_legacy(BLOCKHASH)
        .unwrap();
    vec![
        ("seed-legacy-sample", legacy_wire()),
        ("seed-v0-sample", v0_wire()),
        (
            "seed-legacy-transfer",
            Transaction::sign(&transfer, &[&payer]).unwrap(),
        ),
        ("seed-legacy-raw", RawMessage::transfer().wire()),
        ("seed-v0-raw", RawMessage::transfer_v0().wire()),
    ]
}

#[test]
fn peek_fee_payer_reads_the_payer_of_a_parsed_transaction_and_none_of_a_truncated_one() {
    for wire in [with(|_| {}).wire(), with_v0(|_| {}).wire()] {
        let tx = Transaction::parse(&wire).expect("valid");
        let payer = *tx.message().fee_payer().expect("a payer");
        assert_eq!(Transaction::peek_fee_payer(&wire), Some(payer));
        // Every truncation before the payer's last byte: no guess, and no panic.
        let payer_end = (0..wire.len())
            .find(|&n| Transaction::peek_fee_payer(&wire[..n]).is_some())
            .expect("some prefix holds the payer");
        assert!(wire[payer_end - 32..payer_end] == payer.0);
        for n in 0..payer_end {
            assert_eq!(Transaction::peek_fee_payer(&wire[..n]), None, "{n} bytes");
        }
    }
    // No account keys at all.
    assert_eq!(Transaction::peek_fee_payer(&[0, 1, 0, 0, 0]), None);
}
