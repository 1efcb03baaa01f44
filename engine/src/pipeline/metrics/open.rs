//! Sections of time still open, charged as they pass: the lock-free piece that lets a counter of
//! time (a stage's busy, idle or blocked nanoseconds, the VED's waits at boundaries) move while a
//! thread is stuck inside one long section, instead of landing all at once when it ends.
//!
//! It owns [`OpenSections`], a fixed set of slots. A section's thread puts its start (and a
//! small tag saying which counter it feeds) in a free slot when it begins and takes it out when
//! it ends; a reader settles every open slot before it reads the counters — it charges the time
//! since the slot's start and moves the start to its own moment with one compare-and-swap. The
//! swap decides who charges each stretch of time, so every nanosecond is charged once: a counter
//! fed this way never goes down between two readings (Prometheus would take that for a reset)
//! and its final value is the sections' whole length. Nobody waits for anybody: the stage's
//! thread does one compare-and-swap at each end of a section, a reader one per open slot.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Bits of a slot's value that hold its tag.
const TAG_BITS: u32 = 2;

/// The largest tag a section may carry.
pub(crate) const MAX_TAG: u8 = (1 << TAG_BITS) - 1;

/// Nanoseconds since the first call in this process (monotonic, shared by every thread).
fn now_ns() -> u64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let origin = *ORIGIN.get_or_init(Instant::now);
    let ns = u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX);
    // 2^61 ns is 73 years: the shift below keeps the whole start.
    ns.min(u64::MAX >> (TAG_BITS + 1))
}

/// A slot's value for a section begun at `start` (ns) feeding counter `tag`: never 0, the free
/// slot's value.
fn encode(start: u64, tag: u8) -> u64 {
    ((start + 1) << TAG_BITS) | u64::from(tag & MAX_TAG)
}

/// The start (ns) and tag of a slot's value.
fn decode(value: u64) -> (u64, u8) {
    let tag = (value & u64::from(MAX_TAG)) as u8;
    ((value >> TAG_BITS) - 1, tag)
}

/// Up to `N` sections open at once, each tagged with the counter (0 ..= [`MAX_TAG`]) its time
/// goes to. A section begun while all `N` are taken is not tracked: its owner charges it whole
/// when it ends, as a counter did before this type.
#[derive(Debug)]
pub(crate) struct OpenSections<const N: usize> {
    slots: [AtomicU64; N],
}

impl<const N: usize> Default for OpenSections<N> {
    fn default() -> Self {
        Self {
            slots: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl<const N: usize> OpenSections<N> {
    /// Opens a section feeding counter `tag` that starts now; its slot, or `None` when every
    /// slot is taken (the caller then charges the section whole when it ends).
    pub(crate) fn open(&self, tag: u8) -> Option<usize> {
        debug_assert!(tag <= MAX_TAG, "tag {tag} above {MAX_TAG}");
        let value = encode(now_ns(), tag);
        self.slots.iter().position(|slot| {
            slot.compare_exchange(0, value, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        })
    }

    /// Closes the section in `slot`: its tag and the nanoseconds no reader has charged yet (from
    /// its start, or the last reader's moment, to now). `None` if the slot holds no section.
    pub(crate) fn close(&self, slot: usize) -> Option<(u8, u64)> {
        // The slot is emptied before the clock is read: a reader that moved the start did so
        // before this swap, at a moment the clock read after it cannot precede.
        let value = self.slots[slot].swap(0, Ordering::AcqRel);
        if value == 0 {
            return None;
        }
        let (start, tag) = decode(value);
        Some((tag, now_ns().saturating_sub(start)))
    }

    /// Charges every open section up to now: `charge(tag, ns)` for each stretch this call took
    /// (a section closed meanwhile is its owner's to charge, never both).
    pub(crate) fn settle(&self, mut charge: impl FnMut(u8, u64)) {
        let now = now_ns();
        for slot in &self.slots {
            let value = slot.load(Ordering::Acquire);
            if value == 0 {
                continue;
            }
            let (start, tag) = decode(value);
            if start >= now {
                // Begun after this reader's moment: nothing of it to charge yet.
                continue;
            }
            let moved =
                slot.compare_exchange(value, encode(now, tag), Ordering::AcqRel, Ordering::Relaxed);
            if moved.is_ok() {
                charge(tag, now - start);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_value_keeps_its_start_and_tag_and_is_never_free() {
        for (start, tag) in [(0, 0), (0, MAX_TAG), (12_345, 2), (u64::MAX >> 3, 1)] {
            assert_ne!(encode(start, tag), 0);
            assert_eq!(decode(encode(start, tag)), (start, tag));
        }
    }

    #[test]
    fn a_section_is_charged_once_whoever_charges_it() {
        let open = OpenSections::<2>::default();
        let slot = open.open(1).expect("a free slot");
        std::thread::sleep(Duration::from_millis(5));
        let mut settled = 0;
        open.settle(|tag, ns| {
            assert_eq!(tag, 1);
            settled += ns;
        });
        assert!(settled >= 5_000_000, "{settled}");
        std::thread::sleep(Duration::from_millis(5));
        let (tag, rest) = open.close(slot).expect("the section is open");
        assert_eq!(tag, 1);
        assert!(rest >= 5_000_000, "{rest}");
        // Closed: nothing left to settle, and a second close finds nothing.
        open.settle(|_, _| panic!("a closed section was charged"));
        assert_eq!(open.close(slot), None);
    }

    #[test]
    fn sections_beyond_the_slots_are_not_tracked() {
        let open = OpenSections::<1>::default();
        assert_eq!(open.open(0), Some(0));
        assert_eq!(open.open(0), None);
        assert!(open.close(0).is_some());
        assert_eq!(open.open(3), Some(0), "a closed slot is free again");
    }

    #[test]
    fn readers_racing_owners_charge_every_nanosecond_once() {
        // Owners open and close sections, readers settle them, all at once: the sum of what
        // readers and owners charged is the sections' total length, measured by the owners,
        // and readers did charge some of it.
        let open = OpenSections::<4>::default();
        let charged = AtomicU64::new(0);
        let by_readers = AtomicU64::new(0);
        let (lengths, inner) = (AtomicU64::new(0), AtomicU64::new(0));
        let done = AtomicBool::new(false);
        let began = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    while !done.load(Ordering::Relaxed) {
                        open.settle(|_, ns| {
                            charged.fetch_add(ns, Ordering::Relaxed);
                            by_readers.fetch_add(ns, Ordering::Relaxed);
                        });
                    }
                });
            }
            let owners: Vec<_> = (0..3)
                .map(|_| {
                    s.spawn(|| {
                        // At least 2,000 sections, and on until readers have settled some.
                        for n in 0.. {
                            if n >= 2_000 && by_readers.load(Ordering::Relaxed) > 0 {
                                break;
                            }
                            assert!(
                                began.elapsed() < Duration::from_secs(60),
                                "no reader settled an open section in a minute"
                            );
                            let before = now_ns();
                            let slot = open.open(0).expect("a slot per owner");
                            let opened = now_ns();
                            for _ in 0..100 {
                                std::hint::spin_loop();
                            }
                            let closing = now_ns();
                            let (_, rest) = open.close(slot).expect("open");
                            let after = now_ns();
                            charged.fetch_add(rest, Ordering::Relaxed);
                            lengths.fetch_add(after - before, Ordering::Relaxed);
                            inner.fetch_add(closing - opened, Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            let ended: Vec<_> = owners.into_iter().map(|owner| owner.join()).collect();
            // The readers stop before an owner's failure is raised.
            done.store(true, Ordering::Relaxed);
            for owner in ended {
                owner.expect("owner thread");
            }
        });
        let (charged, lengths, inner) = (
            charged.into_inner(),
            lengths.into_inner(),
            inner.into_inner(),
        );
        // Each section's charge lies within the owner's clock reads around it (none charged
        // twice) and covers those inside it (none lost).
        assert!(charged <= lengths, "charged {charged} ns of {lengths} ns");
        assert!(
            charged >= inner,
            "charged {charged} ns, less than {inner} ns"
        );
        assert!(by_readers.into_inner() > 0);
    }
}
