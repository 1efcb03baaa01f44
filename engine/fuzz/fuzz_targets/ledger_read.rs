//! Fuzzes the ledger reader (engine/src/ledger/): no input may panic or allocate from an
//! untrusted length; a file that reads without error must write back to the same bytes.
//!
//! Run: `cargo +nightly fuzz run ledger_read` from engine/.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_engine::ledger::{LedgerReader, LedgerWriter};

fuzz_target!(|bytes: &[u8]| {
    let Ok(reader) = LedgerReader::new(bytes) else {
        return;
    };
    let mut blocks = Vec::new();
    for block in reader {
        match block {
            Ok(block) => blocks.push(block),
            Err(_) => return,
        }
    }
    let mut writer = LedgerWriter::new(Vec::new()).expect("a Vec takes the magic");
    for block in &blocks {
        writer.append(block).expect("a block that was read can be written");
    }
    assert_eq!(writer.finish().expect("flush"), bytes);
});
