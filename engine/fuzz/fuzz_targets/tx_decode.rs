//! Fuzzes the transaction decoder (engine/src/tx): no input may panic, anything that decodes must
//! re-encode to the same bytes, every accessor must answer on whatever decodes, and the verdict's
//! fast check (`Transaction::checked_fee_payer`) must accept exactly what the parse accepts.
//!
//! Run: `cargo +nightly fuzz run tx_decode` from engine/ (seeds in corpus/tx_decode/seed-*).

#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_engine::tx::{Message, Transaction};

fuzz_target!(|wire: &[u8]| {
    let decoded = Transaction::decode(wire);
    let parsed = Transaction::parse(wire);
    assert_eq!(
        parsed.is_ok(),
        decoded.as_ref().is_ok_and(|tx| tx.sanitize().is_ok())
    );
    // The verdict's fast path answers as the parse does.
    assert_eq!(
        Transaction::checked_fee_payer(wire),
        parsed.as_ref().ok().map(|tx| tx.message().fee_payer().expect("sanitized"))
    );
    let Ok(tx) = decoded else { return };
    assert_eq!(tx.encode(), wire);
    assert_eq!(tx.wire_bytes(), wire);
    assert!(wire.ends_with(tx.message_bytes()));

    let msg = tx.message();
    assert_eq!(Message::decode(tx.message_bytes()).as_ref(), Ok(msg));
    let keys = msg.account_keys();
    let _ = (
        tx.signatures(),
        msg.version(),
        msg.header(),
        msg.recent_blockhash(),
    );
    for i in 0..=keys.len() + 1 {
        let _ = (msg.is_signer(i), msg.is_writable(i));
    }
    for ix in msg.instructions() {
        let _ = (ix.program_id_index, ix.accounts, ix.data);
    }
    for lookup in msg.address_table_lookups() {
        let _ = (
            lookup.account_key,
            lookup.writable_indexes,
            lookup.readonly_indexes,
        );
    }
    let loaded = msg.num_loaded_addresses();
    let payer = msg.fee_payer();
    if parsed.is_ok() {
        // What sanitize guarantees.
        assert_eq!(payer, Ok(&keys[0]));
        assert_eq!(
            tx.signatures().len(),
            usize::from(msg.header().num_required_signatures)
        );
        for ix in msg.instructions() {
            assert!(ix.program_id_index != 0 && usize::from(ix.program_id_index) < keys.len());
            assert!(
                ix.accounts
                    .iter()
                    .all(|&a| usize::from(a) < keys.len() + loaded)
            );
        }
    }
});
