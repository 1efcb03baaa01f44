//! The structs of SPEC §8 keep the layout C callers were compiled against: every field at its
//! offset, every struct at its size (64-bit targets, C's rules: each field at the next multiple
//! of its alignment). Regenerating the header (`TANDEM_BLESS_HEADER=1`) follows any change of
//! the Rust structs; this test does not, so a reordered, retyped or inserted field fails here
//! before it breaks every compiled caller.
//!
//! `tandem_engine_config` and `tandem_metrics` may grow, at their end only, and the sizes below
//! remain the smallest `size` the library accepts (a caller built against the first header), so
//! they are the v1 sizes, not today's. A field added at the end may land in the padding after
//! the last field (a `uint32_t` after `tandem_metrics::halted` at 76, `sizeof` still 80): the
//! library writes that padding as zero (every byte it does not know is zero), and a newer
//! header's struct of the same size reads zero there; its own `size` field is what tells the
//! versions apart only where the size grows.

#![cfg(target_pointer_width = "64")]

use std::mem::{align_of, offset_of, size_of};

use tandem::engine::{
    tandem_account_info, tandem_alert, tandem_engine_config, tandem_metrics, tandem_tx_status,
};

#[test]
fn the_engine_structs_keep_their_v1_layout() {
    assert_eq!(offset_of!(tandem_engine_config, size), 0);
    assert_eq!(offset_of!(tandem_engine_config, backend), 4);
    assert_eq!(offset_of!(tandem_engine_config, ued_threads), 8);
    assert_eq!(offset_of!(tandem_engine_config, cores), 16);
    assert_eq!(size_of::<tandem_engine_config>(), 24);

    assert_eq!(offset_of!(tandem_account_info, lamports), 0);
    assert_eq!(offset_of!(tandem_account_info, owner), 8);
    assert_eq!(offset_of!(tandem_account_info, executable), 40);
    assert_eq!(offset_of!(tandem_account_info, mapping), 41);
    assert_eq!(offset_of!(tandem_account_info, data_len), 48);
    assert_eq!(size_of::<tandem_account_info>(), 56);

    assert_eq!(offset_of!(tandem_tx_status, state), 0);
    assert_eq!(offset_of!(tandem_tx_status, slot), 8);
    assert_eq!(offset_of!(tandem_tx_status, domain), 16);
    assert_eq!(offset_of!(tandem_tx_status, status), 20);
    assert_eq!(offset_of!(tandem_tx_status, program_error), 24);
    assert_eq!(size_of::<tandem_tx_status>(), 32);

    assert_eq!(offset_of!(tandem_alert, kind), 0);
    assert_eq!(offset_of!(tandem_alert, slot), 8);
    assert_eq!(offset_of!(tandem_alert, local_hash), 16);
    assert_eq!(offset_of!(tandem_alert, other_hash), 48);
    assert_eq!(offset_of!(tandem_alert, other_stake), 80);
    assert_eq!(offset_of!(tandem_alert, total_stake), 88);
    assert_eq!(size_of::<tandem_alert>(), 96);

    assert_eq!(offset_of!(tandem_metrics, size), 0);
    assert_eq!(offset_of!(tandem_metrics, ved_slot), 8);
    assert_eq!(offset_of!(tandem_metrics, ued_slot), 16);
    assert_eq!(offset_of!(tandem_metrics, ued_lag_slots), 24);
    assert_eq!(offset_of!(tandem_metrics, max_ued_lag_slots), 32);
    assert_eq!(offset_of!(tandem_metrics, time_to_vote_p50_us), 40);
    assert_eq!(offset_of!(tandem_metrics, time_to_vote_p99_us), 48);
    assert_eq!(offset_of!(tandem_metrics, ved_tps), 56);
    assert_eq!(offset_of!(tandem_metrics, ued_tps), 64);
    assert_eq!(offset_of!(tandem_metrics, halted), 72);
    assert_eq!(size_of::<tandem_metrics>(), 80);

    // Each holds a 64-bit field or a pointer: arrays of them step by their size.
    assert_eq!(align_of::<tandem_engine_config>(), 8);
    assert_eq!(align_of::<tandem_account_info>(), 8);
    assert_eq!(align_of::<tandem_tx_status>(), 8);
    assert_eq!(align_of::<tandem_alert>(), 8);
    assert_eq!(align_of::<tandem_metrics>(), 8);
}
