//! What the machine did while a slow vote waited: a block whose time-to-vote passes the
//! goal (a *stall*) is told apart by what Linux counted between its hand-over and its vote.
//!
//! At each block's hand-over (before the submit) and at its vote point (after the time-to-vote
//! is taken) the suite takes a [`Sample`]: from `/proc/stat`, each CPU's *steal* time (the
//! hypervisor running something else on this guest's vCPU while it was runnable) and its
//! interrupt time (hard and soft: a disk's or a network's completions); from
//! `/proc/self/task/*/schedstat`, each thread's time on a CPU and its time waiting on a run
//! queue (runnable, another thread of this guest on its PU), and from `/proc/self/task/*/stat`
//! its time in the kernel (system time: this guest's kernel is built to preempt no task inside
//! the kernel, so a thread long in a system call holds its PU against every waiting thread,
//! whatever its scheduling class); and from `getrusage`, the process's page faults and block
//! I/O. A stall's record ([`Stall`]) is the difference of its block's two samples. Steal and
//! interrupt times are kept by the kernel in ticks of `1/CLK_TCK` s (10 ms here), so they tell
//! tens of milliseconds apart, which a stall of the 50 ms goal is; threads' times are in
//! nanoseconds.
//!
//! Sampling costs about 0.1 ms (a directory of this process's threads read), outside every
//! time-to-vote: the feed takes it before the submit call, the vote hook after the vote point.
//! Where `/proc` is not there (another OS) there are no samples and no records.

use std::collections::HashMap;

use serde::Serialize;

/// Time-to-vote over which a block's vote is a stall: the p99 goal, an eighth of a
/// 400 ms slot.
pub const STALL_MS: f64 = 50.0;

/// Threads that ran and waited less than this are left out of a record.
const THREAD_FLOOR_MS: f64 = 0.05;

/// One CPU's counters of `/proc/stat`, in ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct CpuTicks {
    /// Time the hypervisor ran something else on this vCPU (`steal`).
    steal: u64,
    /// Time serving interrupts (`irq` + `softirq`).
    interrupts: u64,
}

/// What Linux had counted at one moment (module docs).
#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// Per CPU, in the order of `/proc/stat` (`cpu0`, `cpu1`, …).
    cpus: Vec<CpuTicks>,
    /// Each thread of this process: its id, its name, its time on a CPU and waiting on a
    /// run queue so far, in ns, and its time in the kernel, in ticks.
    threads: Vec<(u32, String, [u64; 3])>,
    /// Minor and major page faults, and blocks read and written, of the process.
    usage: [u64; 4],
    /// Ticks per second of the CPU counters.
    ticks_per_s: u64,
    /// When it was taken: `CLOCK_MONOTONIC`, ns (the clock `perf record -k CLOCK_MONOTONIC`
    /// stamps its events with).
    monotonic_ns: u64,
}

impl Sample {
    /// Takes a sample; `None` where the counters cannot be read.
    pub fn take() -> Option<Sample> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let cpus = parse_stat(&stat);
        if cpus.is_empty() {
            return None;
        }
        let mut threads = Vec::new();
        for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            let Some(tid) = entry.file_name().to_str().and_then(|t| t.parse().ok()) else {
                continue;
            };
            // A thread that ended between the listing and the read is left out.
            let (Ok(name), Ok(schedstat), Ok(stat)) = (
                std::fs::read_to_string(entry.path().join("comm")),
                std::fs::read_to_string(entry.path().join("schedstat")),
                std::fs::read_to_string(entry.path().join("stat")),
            ) else {
                continue;
            };
            if let (Some([on_cpu, waiting]), Some(kernel)) =
                (parse_schedstat(&schedstat), parse_system_ticks(&stat))
            {
                threads.push((tid, name.trim_end().to_owned(), [on_cpu, waiting, kernel]));
            }
        }
        Some(Sample {
            cpus,
            threads,
            usage: usage()?,
            ticks_per_s: ticks_per_second(),
            monotonic_ns: monotonic_ns()?,
        })
    }
}

/// `CLOCK_MONOTONIC` now, in ns.
fn monotonic_ns() -> Option<u64> {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a writable timespec.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) } != 0 {
        return None;
    }
    Some(u64::try_from(t.tv_sec).ok()? * 1_000_000_000 + u64::try_from(t.tv_nsec).ok()?)
}

/// The process's minor and major faults, blocks read and written (`getrusage`).
fn usage() -> Option<[u64; 4]> {
    // SAFETY: all-zero is a valid rusage (integers and timevals).
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return None;
    }
    let n = |v: libc::c_long| u64::try_from(v).unwrap_or(0);
    Some([
        n(u.ru_minflt),
        n(u.ru_majflt),
        n(u.ru_inblock),
        n(u.ru_oublock),
    ])
}

fn ticks_per_second() -> u64 {
    // SAFETY: sysconf reads a constant of the system.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100)
}

/// Each CPU's line of `/proc/stat` (`cpuN user nice system idle iowait irq softirq steal …`),
/// in order; the line of all CPUs together is left out.
fn parse_stat(text: &str) -> Vec<CpuTicks> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_ascii_whitespace();
            let name = fields.next()?;
            let number = name.strip_prefix("cpu")?;
            if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let ticks: Vec<u64> = fields.map(|f| f.parse().unwrap_or(0)).collect();
            let at = |i: usize| ticks.get(i).copied().unwrap_or(0);
            Some(CpuTicks {
                steal: at(7),
                interrupts: at(5) + at(6),
            })
        })
        .collect()
}

/// A thread's time on a CPU and waiting on a run queue, of its `schedstat` (`on-CPU ns`,
/// `waiting ns`, `time slices`).
fn parse_schedstat(text: &str) -> Option<[u64; 2]> {
    let mut fields = text.split_ascii_whitespace().map(str::parse::<u64>);
    Some([fields.next()?.ok()?, fields.next()?.ok()?])
}

/// A thread's time in the kernel (`stime`, ticks) of its `stat` line (`tid (comm) state …`,
/// the 15th field; the name may hold spaces and parentheses, so the fields count from the last
/// `)`).
fn parse_system_ticks(text: &str) -> Option<u64> {
    let (_, fields) = text.rsplit_once(')')?;
    fields.split_ascii_whitespace().nth(12)?.parse().ok()
}

/// A thread's time during a stall.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ThreadTime {
    /// The thread's name as the OS keeps it (at most 15 bytes: `tandem-ved`).
    pub thread: String,
    /// Milliseconds it ran on a CPU.
    pub on_cpu_ms: f64,
    /// Milliseconds it was runnable and not running (on a run queue).
    pub waiting_ms: f64,
    /// Milliseconds of its time on a CPU spent in the kernel (system calls, page faults), in
    /// steps of a tick (module docs).
    pub kernel_ms: f64,
}

/// A block whose time-to-vote passed [`STALL_MS`], and what the machine did meanwhile (module
/// docs).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stall {
    /// The round of the run, from 1.
    pub round: u64,
    /// The block's slot.
    pub slot: u64,
    /// Its time-to-vote, milliseconds.
    pub time_to_vote_ms: f64,
    /// When its block was handed over: `CLOCK_MONOTONIC`, seconds — to find the stall in a
    /// trace of the same run (`perf record -k CLOCK_MONOTONIC`, whose `perf script` times are
    /// this clock's).
    pub handed_over_s: f64,
    /// Milliseconds the hypervisor ran something else on each vCPU (`cpu0`, `cpu1`, …).
    pub steal_ms_by_cpu: Vec<f64>,
    /// Milliseconds each CPU served interrupts.
    pub interrupts_ms_by_cpu: Vec<f64>,
    /// This process's threads that ran or waited on a run queue, the longest on a CPU first
    /// (module docs).
    pub threads: Vec<ThreadTime>,
    /// The process's page faults served without I/O.
    pub minor_faults: u64,
    /// Its page faults that read a disk.
    pub major_faults: u64,
    /// Its blocks (512 bytes) read and written.
    pub blocks_read: u64,
    /// See `blocks_read`.
    pub blocks_written: u64,
}

impl Stall {
    /// The record of a block of `slot` in `round` whose vote took `time_to_vote_ms`, between
    /// its hand-over's sample and its vote's.
    pub fn between(
        round: u64,
        slot: u64,
        time_to_vote_ms: f64,
        before: &Sample,
        after: &Sample,
    ) -> Stall {
        let ms = |ticks: u64| ticks as f64 * 1e3 / after.ticks_per_s.max(1) as f64;
        let per_cpu = |f: fn(&CpuTicks) -> u64| -> Vec<f64> {
            after
                .cpus
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let b = before.cpus.get(i).map_or(0, f);
                    ms(f(a).saturating_sub(b))
                })
                .collect()
        };
        let earlier: HashMap<u32, [u64; 3]> =
            before.threads.iter().map(|(t, _, w)| (*t, *w)).collect();
        let mut threads: Vec<ThreadTime> = after
            .threads
            .iter()
            .map(|(tid, name, times)| {
                // A thread started since the hand-over spent all its time in the stall.
                let was = earlier.get(tid).copied().unwrap_or([0; 3]);
                let spent = |i: usize| times[i].saturating_sub(was[i]);
                ThreadTime {
                    thread: name.clone(),
                    on_cpu_ms: spent(0) as f64 / 1e6,
                    waiting_ms: spent(1) as f64 / 1e6,
                    kernel_ms: ms(spent(2)),
                }
            })
            .filter(|t| t.on_cpu_ms.max(t.waiting_ms) >= THREAD_FLOOR_MS)
            .collect();
        threads.sort_by(|a, b| b.on_cpu_ms.total_cmp(&a.on_cpu_ms));
        let used = |i: usize| after.usage[i].saturating_sub(before.usage[i]);
        Stall {
            round,
            slot,
            time_to_vote_ms,
            handed_over_s: before.monotonic_ns as f64 / 1e9,
            steal_ms_by_cpu: per_cpu(|c| c.steal),
            interrupts_ms_by_cpu: per_cpu(|c| c.interrupts),
            threads,
            minor_faults: used(0),
            major_faults: used(1),
            blocks_read: used(2),
            blocks_written: used(3),
        }
    }

    /// Milliseconds stolen from all vCPUs together.
    pub fn steal_ms(&self) -> f64 {
        self.steal_ms_by_cpu.iter().sum()
    }

    /// One line a person reads: `round 2, slot 17: 144.5 ms — stolen …`.
    pub fn describe(&self) -> String {
        let cpus = |v: &[f64]| -> String {
            v.iter()
                .enumerate()
                .map(|(i, ms)| format!("cpu{i} {ms:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let threads = if self.threads.is_empty() {
            "none".to_owned()
        } else {
            self.threads
                .iter()
                .take(4)
                .map(|t| {
                    format!(
                        "{} {:.1}/{:.1} (kernel {:.0})",
                        t.thread, t.on_cpu_ms, t.waiting_ms, t.kernel_ms
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "round {}, slot {}: {:.1} ms — stolen by the hypervisor {:.0} ms ({}), interrupts \
             ({}) ms, threads on a CPU/waiting for one (ms, of which in the kernel): {threads}; {} minor / {} major faults, {} blocks read, \
             {} written; handed over at {:.3} s (CLOCK_MONOTONIC)",
            self.round,
            self.slot,
            self.time_to_vote_ms,
            self.steal_ms(),
            cpus(&self.steal_ms_by_cpu),
            cpus(&self.interrupts_ms_by_cpu),
            self.minor_faults,
            self.major_faults,
            self.blocks_read,
            self.blocks_written,
            self.handed_over_s
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  1420026 56124 227633 6861000 44233 0 9147 3926 0 0\n\
                        cpu0 649660 30251 104493 3499750 22370 0 186 1907 0 0\n\
                        cpu1 770366 25872 123140 3361249 21862 3 8961 2018 0 0\n\
                        intr 123 4 5\n\
                        cpufreq 1\n";

    #[test]
    fn each_cpus_steal_and_interrupts_are_read_and_the_total_left_out() {
        assert_eq!(
            parse_stat(STAT),
            vec![
                CpuTicks {
                    steal: 1907,
                    interrupts: 186
                },
                CpuTicks {
                    steal: 2018,
                    interrupts: 8964
                }
            ]
        );
        assert_eq!(parse_schedstat("832779 41000 1\n"), Some([832_779, 41_000]));
        assert_eq!(parse_schedstat("832779\n"), None);
    }

    #[test]
    fn a_threads_kernel_time_counts_its_fields_from_the_names_last_parenthesis() {
        let line = "4242 (tandem (x) 1) R 1 4200 4200 0 -1 4194368 512 0 3 0 731 96 0 0 39 19 \
                    22 0 123 0 0\n";
        assert_eq!(parse_system_ticks(line), Some(96));
        assert_eq!(parse_system_ticks("4242 (tandem-ued) R 1 2"), None);
        assert_eq!(parse_system_ticks("no name at all"), None);
    }

    fn sample(steal: [u64; 2], threads: &[(u32, &str, [u64; 3])], usage: [u64; 4]) -> Sample {
        Sample {
            cpus: steal
                .iter()
                .map(|&s| CpuTicks {
                    steal: s,
                    interrupts: 2 * s,
                })
                .collect(),
            threads: threads
                .iter()
                .map(|&(t, n, w)| (t, n.to_owned(), w))
                .collect(),
            usage,
            ticks_per_s: 100,
            monotonic_ns: 1_000 * (steal[0] + steal[1]),
        }
    }

    #[test]
    fn a_stalls_record_is_what_was_counted_between_its_hand_over_and_its_vote() {
        let before = sample(
            [100, 200],
            &[
                (7, "tandem-ved", [9_000_000, 5_000_000, 40]),
                (9, "tandem-ued", [0, 0, 3]),
            ],
            [10, 1, 0, 8],
        );
        let after = sample(
            [106, 201],
            &[
                (7, "tandem-ved", [9_030_000, 5_020_000, 40]),
                (9, "tandem-ued", [120_000_000, 3_000_000, 12]),
                (11, "tandem-helper-1", [0, 400_000, 0]),
            ],
            [25, 1, 0, 24],
        );
        let stall = Stall::between(2, 17, 144.5, &before, &after);
        // The hand-over's moment, not the vote's.
        assert_eq!(stall.handed_over_s, 300e-6);
        assert_eq!(stall.steal_ms_by_cpu, vec![60.0, 10.0]);
        assert_eq!(stall.steal_ms(), 70.0);
        assert_eq!(stall.interrupts_ms_by_cpu, vec![120.0, 20.0]);
        // The VED's 0.03 / 0.02 ms are under the floor; a thread started since counts from 0.
        assert_eq!(
            stall.threads,
            vec![
                ThreadTime {
                    thread: "tandem-ued".into(),
                    on_cpu_ms: 120.0,
                    waiting_ms: 3.0,
                    kernel_ms: 90.0
                },
                ThreadTime {
                    thread: "tandem-helper-1".into(),
                    on_cpu_ms: 0.0,
                    waiting_ms: 0.4,
                    kernel_ms: 0.0
                }
            ]
        );
        assert_eq!(
            (
                stall.minor_faults,
                stall.major_faults,
                stall.blocks_read,
                stall.blocks_written
            ),
            (15, 0, 0, 16)
        );
        let line = stall.describe();
        assert!(line.starts_with("round 2, slot 17: 144.5 ms"), "{line}");
        assert!(
            line.contains("stolen by the hypervisor 70 ms (cpu0 60, cpu1 10)"),
            "{line}"
        );
        assert!(line.contains("tandem-ued 120.0/3.0 (kernel 90)"), "{line}");
        assert!(
            line.ends_with("handed over at 0.000 s (CLOCK_MONOTONIC)"),
            "{line}"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_sample_on_linux_sees_every_cpu_and_this_thread() {
        let sample = Sample::take().expect("/proc is read on Linux");
        let online = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert!(sample.cpus.len() >= online, "{} CPUs", sample.cpus.len());
        // SAFETY: gettid has no preconditions.
        let me = unsafe { libc::gettid() } as u32;
        assert!(sample.threads.iter().any(|(t, ..)| *t == me));
        // A thread that has only begun may have no tick in the kernel yet; the field is read.
        let own = std::fs::read_to_string("/proc/thread-self/stat").expect("own stat");
        assert!(parse_system_ticks(&own).is_some(), "{own}");
        assert!(sample.ticks_per_s > 0);
        let later = Sample::take().expect("a second sample");
        assert!(
            sample.monotonic_ns > 0 && later.monotonic_ns >= sample.monotonic_ns,
            "{} then {}",
            sample.monotonic_ns,
            later.monotonic_ns
        );
    }
}
