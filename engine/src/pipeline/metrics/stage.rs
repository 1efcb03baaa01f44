//! The counters one pipeline stage writes: items, busy, idle and blocked time, the CPU time of
//! its busy sections, queue depth.
//!
//! It owns [`StageMetrics`], plain atomics a stage thread updates with relaxed operations (a few
//! nanoseconds each, plus one `Instant::now()` per timed section and, for a busy one, two reads
//! of the thread's CPU clock — [`thread_cpu_time`], a system call of well under a microsecond),
//! and the [`SectionTimer`] guard that charges a section's time to one [`Activity`]. A busy
//! section's wall time against its CPU time tells work from time the thread spent off its PU
//! while busy: preempted by a thread of higher priority, or its vCPU stolen by the hypervisor.
//! It must never lock, allocate or block: a stage's loop calls it on every item. Readers take a
//! [`StageSnapshot`] at any time; the fields are read one by one, so a snapshot taken while the
//! stage runs may be a few nanoseconds or an item apart between fields, never torn within one.
//! A section's wall time counts as it passes (`OpenSections`): a stage stuck in one section
//! (the VED waiting at a boundary, a sigverify stage on a huge batch) shows its time moving, and
//! no reading is ever below the one before. A busy section's CPU time lands when it ends (only
//! the thread itself reads its CPU clock).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::open::OpenSections;

/// How many sections of one stage are followed as they pass: more than the threads any stage
/// of the pipeline times at once. A section begun while all are open counts when it ends.
const FOLLOWED_SECTIONS: usize = 16;

/// What a stage's thread is doing during a timed section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activity {
    /// Working on items it has received.
    Busy,
    /// Waiting for input: its input queue is empty.
    Idle,
    /// Waiting to hand on output: the next stage's queue is full (backpressure).
    Blocked,
}

impl Activity {
    /// The tag of a section of this activity among the open ones.
    fn tag(self) -> u8 {
        match self {
            Activity::Busy => 0,
            Activity::Idle => 1,
            Activity::Blocked => 2,
        }
    }

    /// The activity of a tag [`Activity::tag`] gave.
    fn of_tag(tag: u8) -> Activity {
        match tag {
            0 => Activity::Busy,
            1 => Activity::Idle,
            _ => Activity::Blocked,
        }
    }
}

/// The counters of one pipeline stage; shared (`Arc`) between the stage's threads and readers.
///
/// A stage with several threads (e.g. the UED's workers) may share one `StageMetrics`: the
/// times are then sums over its threads, so busy + idle + blocked is threads × wall time.
#[derive(Debug, Default)]
pub struct StageMetrics {
    items: AtomicU64,
    busy_ns: AtomicU64,
    busy_cpu_ns: AtomicU64,
    idle_ns: AtomicU64,
    blocked_ns: AtomicU64,
    queue_depth: AtomicU64,
    max_queue_depth: AtomicU64,
    /// The timed sections in progress, tagged with their [`Activity`].
    open: OpenSections<FOLLOWED_SECTIONS>,
}

/// The CPU time the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`): time it ran on a PU,
/// not time it waited, was preempted, or had its vCPU stolen. `None` where the clock cannot be
/// read (not Linux, or the kernel refused).
pub fn thread_cpu_time() -> Option<Duration> {
    #[cfg(target_os = "linux")]
    {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec, which `now` is, and reads nothing else.
        let read = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
        if read != 0 {
            return None;
        }
        let secs = u64::try_from(now.tv_sec).ok()?;
        let nanos = u32::try_from(now.tv_nsec).ok()?;
        Some(Duration::new(secs, nanos))
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Saturating conversion of a section's length to nanoseconds (584 years fit in a `u64`).
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl StageMetrics {
    /// Counters at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts `n` more items processed.
    pub fn add_items(&self, n: u64) {
        self.items.fetch_add(n, Ordering::Relaxed);
    }

    /// Charges `duration` to `activity` (for a section the caller timed itself).
    pub fn add_time(&self, activity: Activity, duration: Duration) {
        self.charge(activity, nanos(duration));
    }

    fn charge(&self, activity: Activity, ns: u64) {
        let counter = match activity {
            Activity::Busy => &self.busy_ns,
            Activity::Idle => &self.idle_ns,
            Activity::Blocked => &self.blocked_ns,
        };
        counter.fetch_add(ns, Ordering::Relaxed);
    }

    /// Records the depth of the stage's input queue, sampled by the stage (e.g. `rx.len()` after
    /// each receive); the highest sample is kept as well.
    pub fn set_queue_depth(&self, depth: u64) {
        self.queue_depth.store(depth, Ordering::Relaxed);
        self.max_queue_depth.fetch_max(depth, Ordering::Relaxed);
    }

    /// Starts timing a section charged to `activity`; the time is added when the guard drops.
    /// A busy section's CPU time — the calling thread's, not that of helpers it hands work to —
    /// is added too.
    pub fn time(&self, activity: Activity) -> SectionTimer<'_> {
        // The CPU clock read inside the wall clock's reads, at both ends.
        let started = Instant::now();
        let followed = self.open.open(activity.tag());
        SectionTimer {
            metrics: self,
            activity,
            followed,
            cpu_started: (activity == Activity::Busy).then(thread_cpu_time).flatten(),
            started,
        }
    }

    /// Runs `work` and charges its time to [`Activity::Busy`].
    pub fn busy<R>(&self, work: impl FnOnce() -> R) -> R {
        let _timer = self.time(Activity::Busy);
        work()
    }

    /// Runs `wait` (typically a blocking receive) and charges its time to [`Activity::Idle`].
    pub fn idle<R>(&self, wait: impl FnOnce() -> R) -> R {
        let _timer = self.time(Activity::Idle);
        wait()
    }

    /// Runs `send` (typically a blocking send on a bounded queue) and charges its time to
    /// [`Activity::Blocked`].
    pub fn blocked<R>(&self, send: impl FnOnce() -> R) -> R {
        let _timer = self.time(Activity::Blocked);
        send()
    }

    /// The counters as plain numbers, under the stage's `name`; the sections in progress count
    /// up to now.
    pub fn snapshot(&self, name: &str) -> StageSnapshot {
        self.open
            .settle(|tag, ns| self.charge(Activity::of_tag(tag), ns));
        StageSnapshot {
            name: name.to_owned(),
            items: self.items.load(Ordering::Relaxed),
            busy_ns: self.busy_ns.load(Ordering::Relaxed),
            busy_cpu_ns: self.busy_cpu_ns.load(Ordering::Relaxed),
            idle_ns: self.idle_ns.load(Ordering::Relaxed),
            blocked_ns: self.blocked_ns.load(Ordering::Relaxed),
            queue_depth: self.queue_depth.load(Ordering::Relaxed),
            max_queue_depth: self.max_queue_depth.load(Ordering::Relaxed),
        }
    }
}

/// Times one section of a stage's loop; charges the elapsed time to its activity when dropped
/// (so an early return or a `?` still counts).
#[must_use = "the section is timed until the guard drops"]
#[derive(Debug)]
pub struct SectionTimer<'a> {
    metrics: &'a StageMetrics,
    activity: Activity,
    /// The section's slot among those followed as they pass, if it got one.
    followed: Option<usize>,
    /// The thread's CPU clock at the start of a busy section.
    cpu_started: Option<Duration>,
    started: Instant,
}

impl Drop for SectionTimer<'_> {
    fn drop(&mut self) {
        let ran = self
            .cpu_started
            .and_then(|at| Some(thread_cpu_time()?.saturating_sub(at)));
        let elapsed = self.started.elapsed();
        // What readers have not charged yet, or the whole section if none could see it.
        match self.followed.and_then(|slot| self.metrics.open.close(slot)) {
            Some((_, rest)) => self.metrics.charge(self.activity, rest),
            None => self.metrics.add_time(self.activity, elapsed),
        }
        if let Some(ran) = ran {
            // A thread runs no longer than the section lasts: more is the two clocks' skew
            // (the thread's CPU clock and the monotonic one tick apart; a 20 ms section once
            // counted 3.5 µs more CPU than wall time on a KVM guest, its utilisation over 1).
            (self.metrics.busy_cpu_ns).fetch_add(nanos(ran.min(elapsed)), Ordering::Relaxed);
        }
    }
}

/// One stage's counters at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageSnapshot {
    /// The stage's name (`"ved"`, `"sigverify"`, …), the `stage` label in Prometheus.
    pub name: String,
    /// Items processed since start.
    pub items: u64,
    /// Nanoseconds spent working.
    pub busy_ns: u64,
    /// Of those, nanoseconds the stage's own threads ran on a PU (their CPU clocks over the busy
    /// sections they timed; helper threads they hand work to are not counted). Busy minus this
    /// is time a busy thread was off its PU: preempted, or its vCPU stolen.
    #[serde(default)]
    pub busy_cpu_ns: u64,
    /// Nanoseconds spent waiting for input.
    pub idle_ns: u64,
    /// Nanoseconds spent waiting on a full output queue.
    pub blocked_ns: u64,
    /// The last sampled depth of the stage's input queue.
    pub queue_depth: u64,
    /// The highest sampled depth of the stage's input queue since start.
    pub max_queue_depth: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up() {
        let m = StageMetrics::new();
        m.add_items(3);
        m.add_items(2);
        m.add_time(Activity::Busy, Duration::from_micros(7));
        m.add_time(Activity::Idle, Duration::from_nanos(11));
        m.add_time(Activity::Blocked, Duration::from_millis(2));
        m.add_time(Activity::Busy, Duration::from_nanos(1));
        m.set_queue_depth(9);
        m.set_queue_depth(4);
        assert_eq!(
            m.snapshot("ved"),
            StageSnapshot {
                name: "ved".into(),
                items: 5,
                busy_ns: 7_001,
                busy_cpu_ns: 0,
                idle_ns: 11,
                blocked_ns: 2_000_000,
                queue_depth: 4,
                max_queue_depth: 9,
            }
        );
    }

    #[test]
    fn helpers_charge_their_section_and_return_its_value() {
        let m = StageMetrics::new();
        let nap = Duration::from_millis(2);
        assert_eq!(m.busy(|| 41 + 1), 42);
        m.idle(|| std::thread::sleep(nap));
        let sent: Result<(), &str> = m.blocked(|| Err("queue closed"));
        assert!(sent.is_err());
        let s = m.snapshot("hash");
        assert!(s.idle_ns >= nanos(nap), "the idle section slept {nap:?}");
        assert_eq!(s.items, 0, "timing a section does not count items");
    }

    #[test]
    fn a_busy_section_counts_the_cpu_time_its_thread_ran_not_the_time_it_waited() {
        // Linux has one (`CLOCK_THREAD_CPUTIME_ID`): its absence there is a fault.
        #[cfg(target_os = "linux")]
        assert!(thread_cpu_time().is_some(), "no thread CPU clock on Linux");
        if thread_cpu_time().is_none() {
            eprintln!("skipped: no thread CPU clock on this platform");
            return;
        }
        let spin = |work: Duration| {
            let start = thread_cpu_time().unwrap();
            while thread_cpu_time().unwrap() - start < work {}
        };
        let m = StageMetrics::new();
        let work = Duration::from_millis(20);
        m.busy(|| spin(work));
        let ran = m.snapshot("sigverify");
        assert!(ran.busy_cpu_ns >= nanos(work), "{ran:?}");
        assert!(ran.busy_ns >= ran.busy_cpu_ns, "{ran:?}");
        // Asleep in a busy section: wall time, next to no CPU time.
        m.busy(|| std::thread::sleep(Duration::from_millis(50)));
        let slept = m.snapshot("sigverify");
        assert!(slept.busy_ns - ran.busy_ns >= 50_000_000, "{slept:?}");
        assert!(
            slept.busy_cpu_ns - ran.busy_cpu_ns < 10_000_000,
            "a sleeping thread ran: {slept:?}"
        );
        // Only busy sections are clocked.
        m.idle(|| spin(work));
        assert_eq!(m.snapshot("sigverify").busy_cpu_ns, slept.busy_cpu_ns);
    }

    #[test]
    fn the_guard_charges_on_early_exit() {
        fn stage_step(m: &StageMetrics, fail: bool) -> Result<(), ()> {
            let _timer = m.time(Activity::Blocked);
            std::thread::sleep(Duration::from_millis(1));
            if fail {
                return Err(());
            }
            Ok(())
        }
        let m = StageMetrics::new();
        assert!(stage_step(&m, true).is_err());
        let s = m.snapshot("commit");
        assert!(s.blocked_ns >= 1_000_000);
        assert_eq!((s.busy_ns, s.idle_ns), (0, 0));
    }

    #[test]
    fn a_stage_stuck_in_one_section_shows_its_time_moving() {
        let m = StageMetrics::new();
        let (entered, in_section) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        std::thread::scope(|s| {
            // Owned here: a failed assertion drops it, which releases the stage.
            let release = release;
            let m = &m;
            s.spawn(move || {
                m.idle(|| {
                    entered.send(()).expect("the test waits");
                    let _ = released.recv();
                })
            });
            in_section.recv().expect("the stage entered its section");
            std::thread::sleep(Duration::from_millis(20));
            let stuck = m.snapshot("ved");
            assert!(stuck.idle_ns >= 20_000_000, "{stuck:?}");
            std::thread::sleep(Duration::from_millis(5));
            let later = m.snapshot("ved");
            assert!(
                later.idle_ns >= stuck.idle_ns + 5_000_000,
                "{later:?} after {stuck:?}"
            );
            release.send(()).expect("the stage waits");
        });
        let ended = m.snapshot("ved");
        assert!(ended.idle_ns >= 25_000_000, "{ended:?}");
        assert_eq!((ended.busy_ns, ended.blocked_ns), (0, 0), "{ended:?}");
    }

    #[test]
    fn readings_never_go_down_while_sections_open_and_close() {
        // The writers open and close sections until the reader has taken its readings (so
        // that they overlap however the threads are scheduled).
        let m = StageMetrics::new();
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            for activity in [Activity::Busy, Activity::Idle, Activity::Blocked] {
                let (m, done) = (&m, &done);
                s.spawn(move || {
                    while !done.load(Ordering::Relaxed) {
                        let _section = m.time(activity);
                        std::hint::spin_loop();
                    }
                });
            }
            s.spawn(|| {
                // The writers stop however this thread ends.
                struct Stop<'a>(&'a std::sync::atomic::AtomicBool);
                impl Drop for Stop<'_> {
                    fn drop(&mut self) {
                        self.0.store(true, Ordering::Relaxed);
                    }
                }
                let _stop = Stop(&done);
                let began = std::time::Instant::now();
                let first = m.snapshot("ued");
                let mut last = first.clone();
                // At least 20,000 readings, and on until every counter has moved since the
                // first (the writers ran while they were taken).
                let mut readings = 0;
                while readings < 20_000
                    || last.busy_ns == first.busy_ns
                    || last.idle_ns == first.idle_ns
                    || last.blocked_ns == first.blocked_ns
                {
                    assert!(
                        began.elapsed() < Duration::from_secs(60),
                        "the writers did not run: {last:?}"
                    );
                    let now = m.snapshot("ued");
                    assert!(now.busy_ns >= last.busy_ns, "{now:?} after {last:?}");
                    assert!(now.idle_ns >= last.idle_ns, "{now:?} after {last:?}");
                    assert!(now.blocked_ns >= last.blocked_ns, "{now:?} after {last:?}");
                    last = now;
                    readings += 1;
                }
            });
        });
    }

    #[test]
    fn sections_beyond_those_followed_still_count_whole() {
        let m = StageMetrics::new();
        let nap = Duration::from_millis(2);
        let sections: Vec<_> = (0..FOLLOWED_SECTIONS + 2)
            .map(|_| m.time(Activity::Blocked))
            .collect();
        std::thread::sleep(nap);
        let open = m.snapshot("hash");
        assert!(
            open.blocked_ns >= FOLLOWED_SECTIONS as u64 * nanos(nap),
            "{open:?}"
        );
        drop(sections);
        let closed = m.snapshot("hash");
        assert!(
            closed.blocked_ns >= (FOLLOWED_SECTIONS as u64 + 2) * nanos(nap),
            "{closed:?}"
        );
    }

    #[test]
    fn several_threads_share_one_stage() {
        let m = StageMetrics::new();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1_000 {
                        m.add_items(1);
                        m.add_time(Activity::Busy, Duration::from_nanos(3));
                    }
                });
            }
        });
        let s = m.snapshot("ued");
        assert_eq!((s.items, s.busy_ns), (4_000, 12_000));
    }
}
