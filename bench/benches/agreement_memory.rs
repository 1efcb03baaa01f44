//! The cluster view's memory: the bytes an agreement holds per slot of votes, counted by a
//! global allocator that tracks live bytes. Each validator votes every slot, reporting the VED
//! hash of the slot before and the UED hash of the one before that (as the cluster bench does);
//! the agreement keeps every slot (no prune), as it keeps an epoch of them in a running engine.
//!
//! `cargo bench -p tandem-bench --bench agreement_memory` prints, per cluster size, the bytes
//! held per slot and what an epoch of Solana's 432,000 slots would hold.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

mod cluster_votes;

use cluster_votes::vote;
use tandem_engine::Domain;
use tandem_engine::cluster::Agreement;

/// The system allocator, counting the bytes live.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's layout, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's pointer and layout, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's pointer, layout and size, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Slots recorded per cluster size.
const SLOTS: u64 = 2_000;

/// Slots in a Solana epoch.
const EPOCH: u64 = 432_000;

fn main() {
    println!(
        "the agreement's memory, {SLOTS} slots recorded (no prune), every validator voting every slot"
    );
    for voters in [100usize, 1_000] {
        let before = LIVE.load(Ordering::Relaxed);
        let mut agreement = Agreement::new();
        agreement.set_total_stake(voters as u64 * 10_000_000_000_000);
        for slot in 3..3 + SLOTS {
            for voter in 0..voters {
                agreement.record_vote(&vote(voter, slot), slot);
            }
            agreement.record_local(Domain::Ved, slot - 1, [slot as u8; 32]);
            agreement.record_local(Domain::Ued, slot - 2, [(slot - 2) as u8; 32]);
        }
        let held = LIVE.load(Ordering::Relaxed) - before;
        let per_slot = held as f64 / SLOTS as f64;
        println!(
            "{voters:>5} validators: {:>10.0} bytes a slot; an epoch of {EPOCH} slots: {:.2} GB",
            per_slot,
            per_slot * EPOCH as f64 / 1e9
        );
        assert!(agreement.halt().is_none());
    }
}
