//! `tandem bench`: the suite that measures this machine and writes its hardware profile (SPEC
//! §9, issue #13).
//!
//! Seven suites, one file each, every figure a [`Rate`] (the [`names`] the capacity planner
//! reads where one exists):
//! - [`sigverify`]: ed25519 verification of unique signers by thread count, of recurring
//!   signers (votes, the signer cache warm) on one thread, and by batch size on the CPU (all
//!   threads) and on the GPU where an adapter exists; the GPU crossover for `auto`;
//! - [`blake3`]: BLAKE3 of 128-byte messages, by thread count;
//! - [`lthash`]: account LtHashes accumulated, by thread count;
//! - [`store`]: account lookups through a domain view, and slot commits with their fsyncs;
//! - [`executors`]: the VED executor's votes per second, the UED's transfers per second by UED
//!   thread count;
//! - [`pipeline`]: the asynchronous engine's sustained rate, time-to-vote and UED lag;
//! - [`isolation`]: time-to-vote against the UED's load, and loaded ÷ idle.
//!
//! Each figure is the median of several runs — [`Size::runs`]: 3 `--quick`, 5 by default, 9
//! `--full` — with the smallest and largest run as its spread and a `how` that says exactly
//! what was measured. A run of a kernel calls it for at least [`Sizes::min_run_ms`] of timed
//! work after one untimed warm-up call. Scaling over threads runs t threads at once, each
//! pinned to a PU of its own (a core's first PU before any SMT sibling) with its own inputs;
//! the figure is their aggregate rate. The suite only measures: the CLI prints, and
//! [`output`] writes the files.

pub mod blake3;
pub mod executors;
pub mod isolation;
pub mod lthash;
pub mod machine;
pub mod output;
pub mod pipeline;
pub mod plots;
pub mod sigverify;
pub mod store;

use std::cell::OnceCell;
use std::fmt;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Barrier, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tandem_engine::pipeline::{GpuAdapter, Placement, Stage, Survey, pin_current_thread};

use crate::profile::{AutoThreshold, PipelineFigures, Rate};

#[cfg(doc)]
use crate::profile::names;

/// Why the suite could not run or write its results.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// `--suite` named a suite that does not exist.
    #[error("unknown suite `{name}`: the suites are {}", SuiteName::ALL.map(SuiteName::name).join(", "))]
    UnknownSuite {
        /// The name given.
        name: String,
    },
    /// `--kind` cannot name a profile file.
    #[error(
        "kind `{0}`: a machine kind names its profile file, so it is letters, digits, `-`, `_` and `.` only, not starting with `.`"
    )]
    BadKind(String),
    /// A figure could not be measured.
    #[error("{figure}: {reason}")]
    Measure {
        /// The figure.
        figure: String,
        /// What went wrong.
        reason: String,
    },
    /// A result could not be written.
    #[error("{path}: {reason}")]
    Write {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The profile written does not read back.
    #[error(transparent)]
    Profile(#[from] crate::profile::ProfileError),
}

/// How long the suite runs: how many runs each figure is the median of, how long each run
/// calls its kernel, and how large the workloads of the engine suites are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    /// Under a minute on two cores: 3 runs, small engine workloads, no software GPU.
    Quick,
    /// A few minutes on two cores: 5 runs.
    Default,
    /// Longer: 9 runs, the engine suites at full size.
    Full,
}

impl Size {
    /// "quick", "default" or "full" (the profile's `tandem.suite`).
    pub fn name(self) -> &'static str {
        match self {
            Size::Quick => "quick",
            Size::Default => "default",
            Size::Full => "full",
        }
    }

    /// The value of this size among three.
    pub fn pick<T>(self, quick: T, default: T, full: T) -> T {
        match self {
            Size::Quick => quick,
            Size::Default => default,
            Size::Full => full,
        }
    }

    /// Runs each figure is the median of.
    pub fn runs(self) -> usize {
        self.pick(3, 5, 9)
    }
}

/// One suite of `tandem bench` (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SuiteName {
    /// [`sigverify`].
    Sigverify,
    /// [`blake3`].
    Blake3,
    /// [`lthash`].
    Lthash,
    /// [`store`].
    Store,
    /// [`executors`].
    Executors,
    /// [`pipeline`].
    Pipeline,
    /// [`isolation`].
    Isolation,
}

impl SuiteName {
    /// Every suite, in the order `tandem bench` runs them.
    pub const ALL: [SuiteName; 7] = [
        SuiteName::Sigverify,
        SuiteName::Blake3,
        SuiteName::Lthash,
        SuiteName::Store,
        SuiteName::Executors,
        SuiteName::Pipeline,
        SuiteName::Isolation,
    ];

    /// The suite's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            SuiteName::Sigverify => "sigverify",
            SuiteName::Blake3 => "blake3",
            SuiteName::Lthash => "lthash",
            SuiteName::Store => "store",
            SuiteName::Executors => "executors",
            SuiteName::Pipeline => "pipeline",
            SuiteName::Isolation => "isolation",
        }
    }

    /// The suite named `name`; an unknown name is an error listing the suites.
    pub fn parse(name: &str) -> Result<SuiteName, SuiteError> {
        SuiteName::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| SuiteError::UnknownSuite {
                name: name.to_owned(),
            })
    }

    /// The figures this suite measures (run in order by [`run`]).
    fn figures<'a>(self, ctx: &'a Context) -> Vec<Figure<'a>> {
        match self {
            SuiteName::Sigverify => sigverify::figures(ctx),
            SuiteName::Blake3 => blake3::figures(ctx),
            SuiteName::Lthash => lthash::figures(ctx),
            SuiteName::Store => store::figures(ctx),
            SuiteName::Executors => executors::figures(ctx),
            SuiteName::Pipeline => pipeline::figures(ctx),
            SuiteName::Isolation => isolation::figures(ctx),
        }
    }
}

impl fmt::Display for SuiteName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The workloads of one suite size on this machine (all in `bench.json`).
#[derive(Clone, Debug, Serialize)]
pub struct Sizes {
    /// The size.
    pub size: Size,
    /// Runs each figure is the median of.
    pub runs: usize,
    /// Timed work of each run of a kernel, at least, in milliseconds.
    pub min_run_ms: u64,
    /// The thread counts of the scaling figures.
    pub threads: Vec<u32>,
    /// Signatures in each thread's batch of unique signers (200-byte messages).
    pub unique_signatures: usize,
    /// Recurring signers (a vote each, 100-byte messages).
    pub recurring_signers: usize,
    /// Batch sizes of the CPU-against-GPU figures.
    pub batches: Vec<u32>,
    /// Whether the GPU is measured at those batches (an adapter exists, and it is not a
    /// software rasterizer in a quick run).
    pub gpu_measured: bool,
    /// Messages (128 bytes) or accounts (200 bytes of data) per kernel call.
    pub hash_items: usize,
    /// Accounts in the store of the store suite (200 bytes of data each).
    pub store_accounts: usize,
    /// Lookups per timed call.
    pub store_lookups: usize,
    /// Accounts each commit modifies.
    pub store_commit_accounts: usize,
    /// Validators voting in the VED executor's blocks.
    pub ved_validators: usize,
    /// Blocks of votes the VED executor runs per timed call.
    pub ved_slots: u64,
    /// Independent transfers in the UED executor's block.
    pub ued_transfers: usize,
    /// Slots of the pipeline suite's ledger (`tandem gen`'s workload on the default cluster).
    pub pipeline_slots: u64,
    /// User transfers per slot of that ledger.
    pub pipeline_transfers: usize,
    /// Account creations per slot of that ledger.
    pub pipeline_creates: usize,
    /// Validators of the isolation suite (a vote each per slot).
    pub isolation_validators: usize,
    /// Its user payers.
    pub isolation_payers: usize,
    /// Its full UED load: user transfers per slot.
    pub isolation_transfers: usize,
    /// The loads measured, in percent of `isolation_transfers`.
    pub isolation_load_percents: Vec<u32>,
    /// Blocks measured per run (after the warm-up).
    pub isolation_slots: u64,
    /// Blocks each run starts with and does not measure.
    pub isolation_warmup_slots: u64,
    /// Milliseconds between blocks.
    pub isolation_pace_ms: u64,
}

impl Sizes {
    /// The workloads of `size` on a machine of `pus` PUs with `gpu` (its adapter, if any).
    pub fn new(size: Size, pus: usize, cores: usize, gpu: Option<&GpuAdapter>) -> Sizes {
        let software_gpu = gpu.is_some_and(|a| a.software);
        let batches: Vec<u32> = match (size, gpu.is_some() && !software_gpu) {
            (Size::Quick, true) => vec![1_024, 16_384],
            (Size::Default, true) => vec![256, 1_024, 4_096, 16_384, 65_536],
            (Size::Full, true) => vec![256, 1_024, 4_096, 16_384, 65_536, 262_144],
            // A software rasterizer verifies some thousands a second: small batches only.
            (Size::Full, false) => vec![64, 256, 1_024, 4_096],
            (_, false) => vec![64, 256, 1_024],
        };
        // The isolation suite's full load is `tandem bench isolation`'s (20,000 transfers per
        // slot from 4,000 payers, 1,000 votes); a quick run uses a tenth of it.
        let isolation = crate::isolation::IsolationConfig::default();
        Sizes {
            size,
            runs: size.runs(),
            min_run_ms: size.pick(50, 200, 500),
            threads: thread_counts(pus, cores, size == Size::Full),
            unique_signatures: 512,
            recurring_signers: 1_000,
            batches,
            gpu_measured: gpu.is_some() && !(software_gpu && size == Size::Quick),
            hash_items: 4_096,
            store_accounts: 100_000,
            store_lookups: 10_000,
            store_commit_accounts: 10_000,
            ved_validators: 1_000,
            ved_slots: size.pick(3, 6, 12),
            ued_transfers: 4_000,
            pipeline_slots: size.pick(6, 24, 96),
            pipeline_transfers: size.pick(1_000, 2_000, 2_000),
            pipeline_creates: size.pick(10, 20, 20),
            isolation_validators: size.pick(
                isolation.validators / 10,
                isolation.validators,
                isolation.validators,
            ),
            isolation_payers: size.pick(isolation.payers / 10, isolation.payers, isolation.payers),
            isolation_transfers: size.pick(
                isolation.ued_transfers / 10,
                isolation.ued_transfers,
                isolation.ued_transfers,
            ),
            isolation_load_percents: size.pick(
                vec![0, 25, 50, 100],
                vec![0, 25, 50, 100],
                vec![0, 25, 50, 75, 100],
            ),
            isolation_slots: size.pick(4, 5, 8),
            isolation_warmup_slots: size.pick(2, 2, 3),
            isolation_pace_ms: size.pick(100, isolation.pace_ms, isolation.pace_ms),
        }
    }

    /// The shortest timed work of a run.
    pub fn min_run(&self) -> Duration {
        Duration::from_millis(self.min_run_ms)
    }
}

/// Thread counts to measure on `pus` PUs of `cores` cores: the powers of two below `pus`, the
/// core count (where SMT gives more PUs than cores) and `pus` itself, and with `more`, three times
/// each power of two too.
///
/// The core count is measured because the planner counts cores and leaves out the points past
/// them (they ran on SMT siblings): without it, a 6-core, 12-PU machine's plan for its own 6
/// cores would be a projection from the 4-thread point.
pub fn thread_counts(pus: usize, cores: usize, more: bool) -> Vec<u32> {
    let pus = pus.max(1) as u32;
    let mut counts: Vec<u32> = (0..32)
        .map(|k| 1u32 << k)
        .take_while(|&t| t < pus)
        .flat_map(|t| if more { vec![t, 3 * t] } else { vec![t] })
        .filter(|&t| t < pus)
        .collect();
    if (1..pus as usize).contains(&cores) {
        counts.push(cores as u32);
    }
    counts.push(pus);
    counts.sort_unstable();
    counts.dedup();
    counts
}

/// What the suite runs, and where.
#[derive(Clone, Debug)]
pub struct SuiteConfig {
    /// The suites, in the order given (every suite when empty).
    pub suites: Vec<SuiteName>,
    /// The workloads.
    pub sizes: Sizes,
    /// The PUs threads are pinned to, in order: each core's first PU, then the SMT siblings.
    pub pus: Vec<usize>,
    /// Where the engine's stages run (the pipeline and isolation suites).
    pub placement: Placement,
    /// The GPU adapter, if there is one.
    pub gpu: Option<GpuAdapter>,
    /// A directory on the disk whose speed the store's commits should show (stores are created
    /// in temporary directories below it and removed).
    pub scratch: PathBuf,
    /// The directory the figures name as the disk their stores are on: `scratch`, or where a
    /// command made `scratch` (`tandem bench --out`: a directory of its own inside it, removed
    /// on a signal, whose random name a profile should not carry).
    pub disk: PathBuf,
    /// A directory in memory (tmpfs) for the UED executor's stores, whose commits' fsyncs the
    /// executor figures must not count: `/dev/shm` where it is a directory; else `scratch`.
    pub memory_scratch: Option<PathBuf>,
}

impl SuiteConfig {
    /// The suite of `size` over `suites` on the machine `survey` describes, with stores under
    /// `scratch`.
    pub fn new(survey: &Survey, size: Size, suites: Vec<SuiteName>, scratch: PathBuf) -> Self {
        let gpu = survey.adapter.as_ref().ok().cloned();
        let cores = survey.topology.cores();
        let depth = cores.iter().map(|c| c.pus.len()).max().unwrap_or(0);
        let mut pus: Vec<usize> = (0..depth)
            .flat_map(|k| cores.iter().filter_map(move |c| c.pus.get(k).copied()))
            .collect();
        // No cores in the topology: its PUs as they are, or PU 0.
        if pus.is_empty() {
            pus = survey.topology.pus();
        }
        if pus.is_empty() {
            pus.push(0);
        }
        SuiteConfig {
            suites,
            sizes: Sizes::new(size, pus.len(), cores.len(), gpu.as_ref()),
            pus,
            placement: survey.placement.clone(),
            gpu,
            disk: scratch.clone(),
            scratch,
            memory_scratch: Some(PathBuf::from("/dev/shm")).filter(|shm| shm.is_dir()),
        }
    }

    /// The suites to run: those given, or every one.
    pub fn suites(&self) -> Vec<SuiteName> {
        if self.suites.is_empty() {
            return SuiteName::ALL.to_vec();
        }
        // A suite named twice runs once (twice, its figures would be given twice).
        let mut suites = self.suites.clone();
        let mut seen = Vec::new();
        suites.retain(|s| {
            !seen.contains(s) && {
                seen.push(*s);
                true
            }
        });
        suites
    }

    /// Threads of the UED pass in the engine suites: one per PU of the `ued` stage.
    fn ued_threads(&self) -> usize {
        self.placement
            .cpus(Stage::Ued)
            .map_or(1, |cpus| cpus.len().max(1))
    }
}

/// What the suite measured.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SuiteReport {
    /// Every figure, in the order measured.
    pub rates: Vec<Rate>,
    /// The pipeline's sustained rate (the pipeline suite).
    pub pipeline: Option<PipelineFigures>,
    /// The GPU crossover (a hardware GPU only).
    pub auto: Option<AutoThreshold>,
    /// What a reader should know: figures skipped and why, thresholds not set and why.
    pub notes: Vec<String>,
    /// Seconds the suite took.
    pub seconds: f64,
    /// The figures that could not be measured (`figure: reason`), each also in `notes`: the
    /// suite goes on past them, and what it measured is written, the command failing after.
    #[serde(skip)]
    pub failures: Vec<String>,
}

/// Where the suite is, for a progress bar.
#[derive(Clone, Copy, Debug)]
pub enum Progress<'a> {
    /// The suite will measure this many figures.
    Planned(usize),
    /// Figure `index` (from 0) starts.
    Figure {
        /// Its place in the plan.
        index: usize,
        /// What it measures.
        label: &'a str,
    },
    /// The current figure moved to a phase of its own (a run, a workload being built).
    Phase(&'a str),
}

/// The median of some runs, with the smallest and the largest.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// The median (the mean of the middle two for an even count).
    pub median: f64,
    /// The smallest run.
    pub min: f64,
    /// The largest run.
    pub max: f64,
    /// How many runs.
    pub runs: usize,
}

/// The median and spread of `samples`; `None` when there are none.
pub fn median_spread(samples: &[f64]) -> Option<Spread> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = match n {
        0 => return None,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    };
    Some(Spread {
        median,
        min: sorted[0],
        max: sorted[n - 1],
        runs: n,
    })
}

/// `v` to 4 significant digits: what a run-to-run spread of a percent or more leaves of it.
/// Rounded in decimal (the formatter's correctly rounded `{:.3e}`), which is monotonic, so a
/// rounded median stays within its rounded spread. (A binary scale by 10^k is not exact: it
/// rounded 99,996,000 to 1e8 and 100,004,000 to just below it.)
fn significant(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    format!("{v:.3e}")
        .parse()
        .expect("a formatted finite f64 parses")
}

/// What a figure's point is measured at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum At {
    /// Nothing that varies (a whole-engine figure).
    Whole,
    /// A thread count.
    Threads(u32),
    /// A batch size.
    Batch(u32),
    /// User transfers per block.
    UedLoad(u32),
}

/// Where the figures go as they are measured.
#[derive(Default)]
pub(crate) struct Recorder {
    report: SuiteReport,
}

impl Recorder {
    /// Records the figure `name` at `at`: the median of `samples` with their spread. A profile
    /// holds positive figures only: a median that is not is left out, with a note.
    pub(crate) fn rate(&mut self, name: &str, at: At, unit: &str, samples: &[f64], how: String) {
        let Some(spread) = median_spread(samples) else {
            return;
        };
        if !(spread.median.is_finite() && spread.median > 0.0) {
            self.note(format!(
                "{name}{}: the median of the runs is {} {unit}, not a positive figure: not recorded",
                match at {
                    At::Whole => String::new(),
                    At::Threads(t) => format!(" at {t} threads"),
                    At::Batch(b) => format!(" at batches of {b}"),
                    At::UedLoad(l) => format!(" at {l} user transfers a block"),
                },
                spread.median
            ));
            return;
        }
        let (threads, batch, ued_tx_per_slot) = match at {
            At::Whole => (None, None, None),
            At::Threads(t) => (Some(t), None, None),
            At::Batch(b) => (None, Some(b), None),
            At::UedLoad(l) => (None, None, Some(l)),
        };
        self.report.rates.push(Rate {
            name: name.to_owned(),
            threads,
            batch,
            ued_tx_per_slot,
            value: significant(spread.median),
            unit: unit.to_owned(),
            spread: Some([significant(spread.min), significant(spread.max)]),
            runs: Some(spread.runs as u32),
            how,
        });
    }

    /// Records something a reader should know.
    pub(crate) fn note(&mut self, text: String) {
        self.report.notes.push(text);
    }

    /// The figures recorded so far.
    pub(crate) fn rates(&self) -> &[Rate] {
        &self.report.rates
    }

    /// Records the pipeline's sustained rate.
    pub(crate) fn pipeline(&mut self, figures: PipelineFigures) {
        self.report.pipeline = Some(figures);
    }

    /// Records the GPU crossover.
    pub(crate) fn auto(&mut self, gpu_min_items: Option<u32>) {
        self.report.auto = Some(AutoThreshold { gpu_min_items });
    }
}

/// The measuring work of one figure: it records its rates (and notes), telling its phases.
type Measure<'a> = Box<dyn FnOnce(&mut Recorder, &mut dyn FnMut(&str)) -> Result<(), String> + 'a>;

/// One figure of the plan: its label (for the progress bar and errors) and its measuring work.
pub(crate) struct Figure<'a> {
    label: String,
    measure: Measure<'a>,
}

impl<'a> Figure<'a> {
    /// The figure `label`, measured by `measure`.
    pub(crate) fn new(
        label: impl Into<String>,
        measure: impl FnOnce(&mut Recorder, &mut dyn FnMut(&str)) -> Result<(), String> + 'a,
    ) -> Figure<'a> {
        Figure {
            label: label.into(),
            measure: Box::new(measure),
        }
    }
}

/// What every suite's figures read: the configuration.
pub(crate) struct Context<'c> {
    pub(crate) config: &'c SuiteConfig,
}

impl Context<'_> {
    /// The workloads.
    pub(crate) fn sizes(&self) -> &Sizes {
        &self.config.sizes
    }

    /// "median of 5 runs", for the `how` strings.
    pub(crate) fn median_of(&self) -> String {
        format!("median of {} runs", self.sizes().runs)
    }

    /// The `how` of a kernel's figure at `threads` threads: `what` each call does, then how
    /// the threads ran and the runs were taken.
    pub(crate) fn kernel_how(&self, threads: u32, what: &str) -> String {
        format!(
            "{what}; {threads} thread{} at once ({}), each with inputs of its own, calling for >= {} ms of timed work after one untimed call; aggregate rate, {}",
            if threads == 1 { "" } else { "s" },
            self.pus_label(threads as usize),
            self.sizes().min_run_ms,
            self.median_of()
        )
    }

    /// The PUs `threads` threads are pinned to, as a list for the `how` strings.
    pub(crate) fn pus_label(&self, threads: usize) -> String {
        let pus: Vec<String> = self.config.pus[..threads.min(self.config.pus.len())]
            .iter()
            .map(usize::to_string)
            .collect();
        format!(
            "PU{} {}",
            if threads == 1 { "" } else { "s" },
            pus.join(",")
        )
    }
}

/// A fixture built by the first figure that needs it and shared with the suite's others.
pub(crate) struct Shared<T>(Rc<OnceCell<T>>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(Rc::clone(&self.0))
    }
}

impl<T> Shared<T> {
    /// A fixture not built yet.
    pub(crate) fn new() -> Shared<T> {
        Shared(Rc::new(OnceCell::new()))
    }

    /// The fixture, built by `build` the first time.
    pub(crate) fn get(&self, build: impl FnOnce() -> Result<T, String>) -> Result<&T, String> {
        if let Some(value) = self.0.get() {
            return Ok(value);
        }
        let value = build()?;
        Ok(self.0.get_or_init(|| value))
    }
}

/// `runs` runs of `run`, each giving one sample.
pub(crate) fn samples(
    runs: usize,
    mut run: impl FnMut() -> Result<f64, String>,
) -> Result<Vec<f64>, String> {
    (0..runs).map(|_| run()).collect()
}

/// Calls `call` (which returns the items it did and the time they took) once untimed, then
/// until the timed work reaches `min`: items per second.
pub(crate) fn rate_over(
    min: Duration,
    mut call: impl FnMut() -> Result<(u64, Duration), String>,
) -> Result<f64, String> {
    call()?;
    timed_rate(min, call)
}

/// Calls without a nanosecond of timed work after which the clock is taken to stand still.
const CALLS_WITHOUT_TIME: u32 = 100_000;

/// Calls `call` until the timed work reaches `min` (once at least): items per second. An error
/// where [`CALLS_WITHOUT_TIME`] calls took no time at all: a monotonic clock standing still
/// (libfaketime's can) kept the suite calling for ever (a black-box test of clocks, stop 74).
fn timed_rate(
    min: Duration,
    mut call: impl FnMut() -> Result<(u64, Duration), String>,
) -> Result<f64, String> {
    let (mut items, mut busy, mut calls) = (0u64, Duration::ZERO, 0u32);
    loop {
        let (n, took) = call()?;
        items += n;
        busy += took;
        calls = calls.saturating_add(1);
        if busy >= min {
            return Ok(items as f64 / busy.as_secs_f64());
        }
        if busy.is_zero() && calls >= CALLS_WITHOUT_TIME {
            return Err(format!(
                "{calls} calls took no time: the monotonic clock does not advance"
            ));
        }
    }
}

/// Times `work`, which does `items` items.
pub(crate) fn timed(items: usize, work: impl FnOnce()) -> (u64, Duration) {
    let started = Instant::now();
    work();
    (items as u64, started.elapsed())
}

/// The aggregate rate of `threads` threads at once, thread `i` pinned to `pus[i]` and calling
/// `per_thread(i)` (built on that thread, so its inputs are its own and local) as
/// [`rate_over`] does: the sum of their rates. A thread that cannot be started (a process at
/// its thread limit) makes it an error naming that, the others let go (`tandem bench`
/// panicked there before stop 73).
pub(crate) fn scaled<F, G>(
    pus: &[usize],
    threads: usize,
    min: Duration,
    per_thread: F,
) -> Result<f64, String>
where
    F: Fn(usize) -> G + Sync,
    G: FnMut() -> Result<(u64, Duration), String>,
{
    scaled_on(pus, threads, min, per_thread, std::thread::Builder::new)
}

/// [`scaled`] on threads `builder` makes.
fn scaled_on<F, G>(
    pus: &[usize],
    threads: usize,
    min: Duration,
    per_thread: F,
    builder: impl Fn() -> std::thread::Builder,
) -> Result<f64, String>
where
    F: Fn(usize) -> G + Sync,
    G: FnMut() -> Result<(u64, Duration), String>,
{
    if threads == 0 || threads > pus.len() {
        return Err(format!("{threads} threads on {} PUs", pus.len()));
    }
    let start = Barrier::new(threads);
    // Whether every thread started: the started ones wait for it before their barrier, which
    // one missing would hold for ever.
    let all_started = (Mutex::new(None::<bool>), Condvar::new());
    let go = || {
        let (started, told) = &all_started;
        let mut started = started.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            match *started {
                Some(go) => return go,
                None => started = told.wait(started).unwrap_or_else(PoisonError::into_inner),
            }
        }
    };
    std::thread::scope(|scope| {
        let mut workers = Vec::new();
        let mut refused = None;
        for (i, &pu) in pus[..threads].iter().enumerate() {
            let (start, per_thread, go) = (&start, &per_thread, &go);
            let worker = builder().spawn_scoped(scope, move || {
                if !go() {
                    return Ok(0.0);
                }
                let pinned = pin_current_thread(pu).map_err(|e| e.to_string());
                let mut call = per_thread(i);
                let warm = call();
                // Every thread reaches the barrier, even one that failed, so none waits
                // forever.
                start.wait();
                pinned?;
                warm?;
                timed_rate(min, call)
            });
            match worker {
                Ok(worker) => workers.push(worker),
                Err(e) => {
                    refused = Some((i, e));
                    break;
                }
            }
        }
        let (started, told) = &all_started;
        *started.lock().unwrap_or_else(PoisonError::into_inner) = Some(refused.is_none());
        told.notify_all();
        let rates = workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .sum::<Result<f64, String>>();
        match refused {
            Some((i, e)) => Err(format!(
                "thread {} of {threads} cannot be started: {e}",
                i + 1
            )),
            None => rates,
        }
    })
}

/// A kernel's figures by thread count (`label` for the progress bar, `name` and `unit` of its
/// rates, `what` one call does), each thread calling `per_thread(i)` as [`scaled`] does.
pub(crate) fn by_threads<'a, F, G>(
    ctx: &'a Context<'a>,
    label: &'a str,
    (name, unit): (&'static str, &'static str),
    what: String,
    per_thread: F,
) -> Vec<Figure<'a>>
where
    F: Fn(usize) -> G + Sync + Clone + 'a,
    G: FnMut() -> Result<(u64, Duration), String>,
{
    let sizes = ctx.sizes();
    sizes
        .threads
        .iter()
        .map(|&threads| {
            let (per_thread, what) = (per_thread.clone(), what.clone());
            Figure::new(
                format!("{label}, {threads} threads"),
                move |rec: &mut Recorder, _: &mut dyn FnMut(&str)| {
                    let runs = samples(sizes.runs, || {
                        scaled(
                            &ctx.config.pus,
                            threads as usize,
                            sizes.min_run(),
                            &per_thread,
                        )
                    })?;
                    let how = ctx.kernel_how(threads, &what);
                    rec.rate(name, At::Threads(threads), unit, &runs, how);
                    Ok(())
                },
            )
        })
        .collect()
}

/// Runs `work` on a thread allowed on `pus` only (the threads it starts inherit that).
pub(crate) fn on_pus<R: Send>(
    pus: &[usize],
    work: impl FnOnce() -> Result<R, String> + Send,
) -> Result<R, String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tandem_engine::pipeline::pin::pin_current_thread_to_set(pus)
                    .map_err(|e| e.to_string())?;
                work()
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// Runs the suites of `config`, telling `progress` where it is. A figure that cannot be
/// measured is left out and named in the report's `failures` (and `notes`).
pub fn run(config: &SuiteConfig, progress: impl FnMut(Progress<'_>)) -> SuiteReport {
    let started = Instant::now();
    let ctx = Context { config };
    let figures: Vec<Figure<'_>> = config
        .suites()
        .into_iter()
        .flat_map(|suite| suite.figures(&ctx))
        .collect();
    let mut report = measure_all(figures, progress);
    report.seconds = started.elapsed().as_secs_f64();
    report
}

/// Measures every figure in turn. A figure that fails is noted and the suite goes on: the first
/// failure returned at once, and every figure measured before it (a whole default run's, where
/// the last suite's device or disk failed) was lost with it.
fn measure_all(figures: Vec<Figure<'_>>, mut progress: impl FnMut(Progress<'_>)) -> SuiteReport {
    progress(Progress::Planned(figures.len()));
    let mut recorder = Recorder::default();
    for (index, Figure { label, measure }) in figures.into_iter().enumerate() {
        progress(Progress::Figure {
            index,
            label: &label,
        });
        if let Err(reason) = measure(&mut recorder, &mut |phase| progress(Progress::Phase(phase))) {
            let failed = SuiteError::Measure {
                figure: label,
                reason,
            }
            .to_string();
            recorder
                .report
                .notes
                .push(format!("not measured: {failed}"));
            recorder.report.failures.push(failed);
        }
    }
    recorder.report
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_clock_that_stands_still_is_an_error_not_a_loop_for_ever() {
        let stood = super::timed_rate(super::Duration::from_millis(50), || {
            Ok((1, super::Duration::ZERO))
        });
        assert!(stood.unwrap_err().contains("does not advance"));
        let mut ticks = 0;
        let moved = super::timed_rate(super::Duration::from_millis(50), || {
            ticks += 1;
            Ok((10, super::Duration::from_millis(10)))
        });
        assert_eq!((moved.unwrap(), ticks), (1000.0, 5));
    }

    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")] // testing::unstartable_thread
    fn a_scaled_rate_whose_second_thread_cannot_start_is_an_error_not_a_hang() {
        // The second start fails, as at a thread limit: the first, started, waited at the barrier for it for ever before stop 73 —
        // or the suite panicked in the start.
        let work = |_| || Ok((1, Duration::from_millis(1)));
        let (sender, ended) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let made = std::sync::atomic::AtomicUsize::new(0);
            let builder = || match made.fetch_add(1, std::sync::atomic::Ordering::Relaxed) {
                0 => std::thread::Builder::new(),
                _ => tandem_kernels::testing::unstartable_thread(),
            };
            let _ = sender.send(scaled_on(
                &[0, 0],
                2,
                Duration::from_millis(5),
                work,
                builder,
            ));
        });
        let ended = ended
            .recv_timeout(Duration::from_secs(60))
            .expect("no hang");
        assert_eq!(
            ended.unwrap_err().split(": Resource").next(),
            Some("thread 2 of 2 cannot be started")
        );
        // With both started, the rate of both.
        let both = scaled_on(
            &[0, 0],
            2,
            Duration::from_millis(5),
            work,
            std::thread::Builder::new,
        );
        assert!(both.expect("measured") > 0.0);
    }

    #[test]
    fn a_figure_that_fails_is_noted_and_the_others_are_kept() {
        let figure = |label: &str, fails: bool| {
            let name = label.to_owned();
            Figure::new(
                label,
                move |recorder: &mut Recorder, _: &mut dyn FnMut(&str)| {
                    if fails {
                        return Err("the device was lost".to_owned());
                    }
                    recorder.rate(
                        &name,
                        At::Whole,
                        "things/s",
                        &[1.0, 2.0, 3.0],
                        "made".into(),
                    );
                    Ok(())
                },
            )
        };
        let figures = vec![
            figure("before", false),
            figure("failing", true),
            figure("after", false),
        ];
        let report = measure_all(figures, |_| {});
        let names: Vec<&str> = report.rates.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["before", "after"],
            "measured on both sides of the failure"
        );
        assert_eq!(report.failures, ["failing: the device was lost"]);
        assert!(
            report
                .notes
                .contains(&"not measured: failing: the device was lost".to_owned())
        );
    }

    #[test]
    fn the_median_is_the_middle_run_and_the_spread_the_extremes() {
        assert_eq!(median_spread(&[]), None);
        assert_eq!(
            median_spread(&[7.0]),
            Some(Spread {
                median: 7.0,
                min: 7.0,
                max: 7.0,
                runs: 1
            })
        );
        assert_eq!(
            median_spread(&[3.0, 1.0, 2.0, 9.0, 4.0]),
            Some(Spread {
                median: 3.0,
                min: 1.0,
                max: 9.0,
                runs: 5
            })
        );
        let even = median_spread(&[4.0, 1.0, 2.0, 10.0]).expect("four runs");
        assert_eq!((even.median, even.min, even.max), (3.0, 1.0, 10.0));
    }

    #[test]
    fn a_rate_carries_its_median_spread_and_point() {
        let mut recorder = Recorder::default();
        recorder.rate(
            "x",
            At::Threads(2),
            "items/s",
            &[10.0, 30.0, 20.0],
            "test".into(),
        );
        recorder.rate("y", At::UedLoad(0), "ms", &[1.0], "test".into());
        recorder.rate("z", At::Whole, "slots", &[0.0, 0.0, 1.0], "test".into());
        let rates = recorder.rates();
        assert_eq!(rates[0].threads, Some(2));
        assert_eq!(rates[0].batch, None);
        assert_eq!(rates[0].value, 20.0);
        assert_eq!(rates[0].spread, Some([10.0, 30.0]));
        assert_eq!(rates[0].runs, Some(3));
        assert_eq!(rates[1].ued_tx_per_slot, Some(0));
        assert_eq!(rates[1].threads, None);
        assert_eq!(rates.len(), 2, "a median of 0 is no figure");
        assert_eq!(
            recorder.report.notes,
            ["z: the median of the runs is 0 slots, not a positive figure: not recorded"]
        );
    }

    #[test]
    fn figures_keep_four_significant_digits() {
        assert_eq!(significant(32_226_968.4), 32_230_000.0);
        assert_eq!(significant(43.0249), 43.02);
        assert_eq!(significant(0.012_345), 0.012_35);
        assert_eq!(significant(0.0), 0.0);
        // Monotonic where a binary scale is not exact: a spread keeps its median.
        assert_eq!(significant(99_996_000.0), 100_000_000.0);
        assert_eq!(significant(100_004_000.0), 100_000_000.0);
        assert_eq!(significant(999_960_000_000.0), 1e12);
        assert_eq!(significant(1_000_040_000_000.0), 1e12);
        assert_eq!(significant(-43.0249), -43.02);
    }

    #[test]
    fn a_suite_named_twice_runs_once() {
        let config = SuiteConfig {
            suites: vec![SuiteName::Blake3, SuiteName::Lthash, SuiteName::Blake3],
            sizes: Sizes::new(Size::Quick, 2, 2, None),
            pus: vec![0, 1],
            placement: Placement::plan(
                &tandem_engine::pipeline::Topology::synthetic(
                    tandem_engine::pipeline::SyntheticShape {
                        numa_nodes: 1,
                        cores_per_node: 2,
                        pus_per_core: 1,
                        gpu: None,
                    },
                ),
                false,
            ),
            gpu: None,
            scratch: std::env::temp_dir(),
            disk: std::env::temp_dir(),
            memory_scratch: None,
        };
        assert_eq!(config.suites(), [SuiteName::Blake3, SuiteName::Lthash]);
    }

    #[test]
    fn unknown_suites_are_refused_naming_every_suite() {
        for suite in SuiteName::ALL {
            assert_eq!(SuiteName::parse(suite.name()).ok(), Some(suite));
        }
        let error = SuiteName::parse("sigverfy")
            .expect_err("unknown")
            .to_string();
        assert_eq!(
            error,
            "unknown suite `sigverfy`: the suites are sigverify, blake3, lthash, store, \
             executors, pipeline, isolation"
        );
    }

    #[test]
    fn thread_counts_are_powers_of_two_and_every_pu() {
        assert_eq!(thread_counts(1, 1, false), [1]);
        assert_eq!(thread_counts(2, 2, false), [1, 2]);
        assert_eq!(thread_counts(12, 12, false), [1, 2, 4, 8, 12]);
        assert_eq!(thread_counts(12, 12, true), [1, 2, 3, 4, 6, 8, 12]);
        assert_eq!(thread_counts(0, 0, false), [1]);
    }

    #[test]
    fn an_smt_machine_is_measured_at_its_core_count() {
        // 6 cores, 12 PUs: the planner keeps the points within the cores, so 6 is measured.
        assert_eq!(thread_counts(12, 6, false), [1, 2, 4, 6, 8, 12]);
        assert_eq!(thread_counts(16, 8, false), [1, 2, 4, 8, 16]);
        assert_eq!(thread_counts(2, 1, false), [1, 2]);
        // No cores found (a topology of PUs only): the PUs as before.
        assert_eq!(thread_counts(4, 0, false), [1, 2, 4]);
    }

    #[test]
    fn a_run_calls_once_untimed_then_until_the_timed_work_suffices() {
        let mut calls = 0;
        let rate = rate_over(Duration::from_millis(30), || {
            calls += 1;
            Ok((100, Duration::from_millis(10)))
        })
        .expect("no error");
        assert_eq!(calls, 4);
        assert!((rate - 10_000.0).abs() < 1e-6, "{rate}");
    }
}
