//! Fuzzes the genesis loader (engine/src/genesis.rs): no input may panic; whatever loads keeps the
//! rules of SPEC §1 and §5 the loader promises.
//!
//! Run: `cargo +nightly fuzz run genesis_parse` from engine/.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_engine::account::MAX_ACCOUNT_DATA_LEN;
use tandem_engine::genesis::Genesis;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(genesis) = Genesis::from_toml_str(text) else {
        return;
    };
    assert!(genesis.cluster.slots_per_epoch >= 1);
    for account in &genesis.accounts {
        assert!(account.mapping.admits(account.executable));
        assert!(account.data.len() <= MAX_ACCOUNT_DATA_LEN);
        assert!(account.lamports > 0);
    }
    for validator in &genesis.validators {
        let node = genesis.account(&validator.node).expect("a validator's node is listed");
        assert_eq!(node.mapping, validator.mapping());
    }
});
