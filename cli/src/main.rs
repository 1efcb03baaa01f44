//! `tandem`: the command-line skin over the tandem Rust API. It parses arguments, calls the
//! engine, and prints tables for people and JSON for machines; it holds no logic of its own.

/// `eprintln!` that never panics: where standard error cannot be written (a pipe whose reader
/// has gone, a full device) the line is lost, not the process. `eprintln!` panicked there —
/// exit 101 for any error message, and in the log lines (`TANDEM_LOG`), written on the
/// engine's threads, the stage that logged died with it (the UED at a halt's alert).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        // A progress bar being drawn is cleared for the line, and drawn again after.
        $crate::output::beside_the_bars(|| {
            let _ = writeln!(std::io::stderr(), $($arg)*);
        });
    }};
}

mod bench_cmd;
mod chain_cmd;
mod cluster_cmd;
mod interrupt;
mod output;
mod plan_cmd;
mod run_cmd;
mod status_cmd;
mod store_cmd;
mod topology_cmd;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tandem_bench::fixtures::ForgedPayers;
use tandem_bench::isolation::{Api, IsolationConfig};
use tandem_bench::suite::{Size, SuiteName};
use tandem_engine::runtime::Backend;
use tandem_engine::workload::WorkloadConfig;

/// tandem: an asynchronous, two-domain execution engine for a Solana-style chain.
#[derive(Parser, Debug)]
#[command(name = "tandem", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The domain-tagged account store.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Generate a ledger for a genesis: every validator's vote per slot (real signatures and
    /// hashes), user transfers and account creations, and a share of the failure cases of
    /// SPEC §2. Deterministic from the seed.
    Gen {
        /// The genesis file (TOML, SPEC §9); the built-in default cluster when omitted.
        #[arg(long, value_name = "FILE")]
        genesis: Option<PathBuf>,
        /// Where to write the ledger.
        #[arg(long, value_name = "FILE", default_value = DEFAULT_LEDGER)]
        out: PathBuf,
        #[command(flatten)]
        workload: WorkloadArgs,
        /// Also write the report as JSON to this file ("-" for standard output).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Replay a ledger: the VED and UED passes block by block, per-slot hashes and a table of
    /// statuses per domain.
    Replay {
        /// The genesis file (TOML, SPEC §9); the built-in default cluster when omitted.
        #[arg(long, value_name = "FILE")]
        genesis: Option<PathBuf>,
        /// The ledger file.
        #[arg(long, value_name = "FILE")]
        ledger: PathBuf,
        /// Keep the accounts in this store directory (created from the genesis, or resumed
        /// after its last slot); a temporary one when omitted.
        #[arg(long, value_name = "DIR")]
        store: Option<PathBuf>,
        /// Where signatures are verified and LtHashes computed (SPEC §7): `gpu` without an
        /// adapter is an error; every backend gives the same hashes.
        #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
        backend: BackendArg,
        /// Threads of each block's UED pass (transactions that share no written account run
        /// side by side; the results are the same for any number).
        #[arg(long, value_name = "N", default_value_t = 1,
              value_parser = clap::value_parser!(u16).range(1..))]
        ued_threads: u16,
        /// Also write slots, transactions and status counts as JSON to this file ("-" for
        /// standard output).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Measure this machine and write its hardware profile.
    ///
    /// With no subcommand, runs the suite: the kernels (ed25519 by thread count and batch
    /// size, the GPU against the CPU where there is an adapter, BLAKE3, LtHash), the store
    /// (lookups, commits with fsync), the executors (VED votes, UED transfers by thread count),
    /// the engine (sustained rate, time-to-vote, UED lag) and time-to-vote against the UED's
    /// load. Every figure is the median of several runs (3 with --quick, 5, 9 with --full) with
    /// its spread. Prints a table and writes into --out: bench.json, the hardware profile
    /// <kind>.toml, scaling.svg, gpu-vs-cpu.svg and ttv-vs-load.svg.
    Bench(BenchArgs),
    /// N validators in one process: rotating leaders, votes exchanged as signed transactions
    /// inside the blocks, user transfers, and optionally faulty validators whose UED execution
    /// is nondeterministic; who halts (SPEC §6). Exit status 3 when an honest validator halts.
    Cluster(cluster_cmd::ClusterArgs),
    /// The main job: runs a ledger (by default a built-in workload on the default cluster)
    /// through the asynchronous engine — the VED ahead of the UED on their own cores — and
    /// prints the backends, the placement, the statuses, time-to-vote, the UED's lag, the
    /// stages' utilisation and the final hashes.
    Run {
        /// The genesis file (default: the built-in default cluster); needs --ledger.
        #[arg(long, value_name = "FILE")]
        genesis: Option<PathBuf>,
        /// The ledger to run (default: the built-in workload, generated once and cached).
        #[arg(long, value_name = "FILE")]
        ledger: Option<PathBuf>,
        /// Keep the state in DIR; run again after a kill, the same command resumes from the
        /// last committed slot and reaches the same final hashes.
        #[arg(long, value_name = "DIR")]
        store: Option<PathBuf>,
        #[command(flatten)]
        engine: EngineArgs,
        /// Feed a block every MS milliseconds, at most a minute (default: as fast as the
        /// engine takes them).
        #[arg(long, value_name = "MS")]
        pace: Option<u64>,
        /// Write the report as JSON to FILE ("-": standard output, and nothing else).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Serve the metrics in the Prometheus text format at ADDR (e.g. 127.0.0.1:9100; port 0:
        /// one the system chooses, printed as the run starts).
        #[arg(long, value_name = "ADDR", value_parser = parse_metrics_addr)]
        metrics_addr: Option<std::net::SocketAddr>,
    },
    /// Capacity planning from hardware profiles: per stage the load of a target, the capacity
    /// and the headroom; the bottleneck, the core split and whether a GPU is needed; with
    /// --cores, a projection onto another core count. Two profiles compare two machines.
    Plan(plan_cmd::PlanArgs),
    /// ExecutionStatus(signature, stake = X) of SPEC §6 from a store's status index: Unknown,
    /// Pending (until X basis points of the VED stake reported the hash of its domain and slot),
    /// its final status, or Halted.
    Status {
        /// The transaction's first signature (base58).
        signature: String,
        /// The stake to wait for, in basis points.
        #[arg(long, value_name = "BPS", default_value_t = 500)]
        stake: u16,
        /// The store directory (of `tandem run --store` or `tandem replay --store`).
        #[arg(long, value_name = "DIR")]
        store: PathBuf,
        /// Write the answer as JSON to FILE ("-": standard output, and nothing else).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Print the machine (CPU model, packages, NUMA nodes, cores, PUs, GPU, memory protection
    /// keys) as hwloc reads it, and the placement of the pipeline's stages on its cores.
    Topology {
        /// Move stages to these PUs (OS indices), e.g. "sigverify=0-3;ved=4;ued=5-11;hash=12";
        /// stages not named keep the automatic plan. Stages: sigverify, ved, ued, hash, gpu.
        #[arg(long, value_name = "SPEC")]
        cores: Option<String>,
        /// Also write the machine and the plan as JSON to this file ("-" for standard output).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
}

/// `tandem bench`: the suite, or one of the engine's suites on its own.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
struct BenchArgs {
    #[command(subcommand)]
    command: Option<BenchCommand>,
    #[command(flatten)]
    suite: SuiteArgs,
}

/// What the suite runs (`tandem bench` with no subcommand).
#[derive(clap::Args, Debug)]
struct SuiteArgs {
    /// A quick look: under a minute on two cores (3 runs a figure, small engine workloads, a
    /// software GPU not measured).
    #[arg(long, conflicts_with = "full")]
    quick: bool,
    /// Longer and larger: 9 runs a figure, the engine suites at full size.
    #[arg(long)]
    full: bool,
    /// Run only these suites (`--suite sigverify blake3`, or repeated): sigverify, blake3,
    /// lthash, store, executors, pipeline, isolation.
    #[arg(long = "suite", value_name = "NAME", value_parser = parse_suite, num_args = 1..)]
    suites: Vec<SuiteName>,
    /// Where the results go (and the store suite's scratch stores, so its commits show that
    /// disk).
    #[arg(long, value_name = "DIR", default_value = "target/bench")]
    out: PathBuf,
    /// The machine kind, the profile's file stem (default: from the CPU model, the PU count
    /// and a hardware GPU).
    #[arg(long, value_name = "NAME")]
    kind: Option<String>,
    /// Also write bench.json to FILE ("-": standard output, and nothing else).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// `--metrics-addr`: an IP address and a port ("invalid socket address syntax" said neither).
fn parse_metrics_addr(text: &str) -> Result<std::net::SocketAddr, String> {
    text.parse().map_err(|_| {
        format!(
            "{text:?} is not an IP address and a port: e.g. 127.0.0.1:9100, [::1]:9100, or port \
             0 for one the system chooses (a host name is not looked up)"
        )
    })
}

/// A `--suite` name; an unknown one is an error listing the suites.
fn parse_suite(name: &str) -> Result<SuiteName, String> {
    SuiteName::parse(name).map_err(|e| e.to_string())
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// How close the engine comes to its slowest stage: a ledger through the engine as fast as
    /// it takes blocks, each bulk stage alone on its cores, and sustained ÷ slowest.
    Pipeline {
        /// The genesis file (default: the built-in default cluster); needs --ledger.
        #[arg(long, value_name = "FILE")]
        genesis: Option<PathBuf>,
        /// The ledger (default: `tandem run`'s built-in workload).
        #[arg(long, value_name = "FILE")]
        ledger: Option<PathBuf>,
        /// Rounds, each measuring the engine, each stage alone and each beside the other in
        /// turn; the report is the round of the median efficiency, with every round's beside it.
        #[arg(long, value_name = "N", default_value_t = 1,
              value_parser = clap::value_parser!(u16).range(1..))]
        rounds: u16,
        #[command(flatten)]
        engine: EngineArgs,
        /// Write the report as JSON to FILE ("-": standard output, and nothing else).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Is the planner right? A plan from a hardware profile (measured on fewer cores, e.g.
    /// under `taskset -c 0`) predicts this machine's sustained pipeline rate on a ledger; the
    /// pipeline is measured, then paced at rising load to see which stage saturates first.
    Validate {
        /// The profile to plan from.
        #[arg(long, value_name = "FILE")]
        profile: PathBuf,
        /// The genesis file of --ledger (default: the built-in default cluster).
        #[arg(long, value_name = "FILE", requires = "ledger")]
        genesis: Option<PathBuf>,
        /// The ledger (default: 40 slots of 100 votes and 5,000 transfers from 1,000 payers,
        /// generated).
        #[arg(long, value_name = "FILE")]
        ledger: Option<PathBuf>,
        /// Threads of the UED pass.
        #[arg(long, value_name = "N", default_value_t = 1,
              value_parser = clap::value_parser!(u16).range(1..))]
        ued_threads: u16,
        /// Cores per stage (default: the plan `tandem topology` prints).
        #[arg(long, value_name = "SPEC")]
        cores: Option<String>,
        /// Write the report as JSON to FILE ("-": standard output, and nothing else).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Does user load delay votes? The same votes (one per validator per slot) at a fixed pace,
    /// alone and then with user transfers in every block: time-to-vote p50/p99 of both, and
    /// their ratio.
    Isolation {
        /// Validators, each voting once per slot.
        #[arg(long, default_value_t = IsolationConfig::default().validators)]
        validators: usize,
        /// User transfers per slot in the loaded run.
        #[arg(long, default_value_t = IsolationConfig::default().ued_transfers)]
        transfers: usize,
        /// Also a third run, "forged": the votes and N junk transactions per slot (no
        /// transfers) whose fee payers are the VED's (`--forged-payers`) and whose signatures
        /// are other keys' — a leader's attack on the vote path, each costing it a whole
        /// signature check (0: no such run).
        #[arg(long, value_name = "N", default_value_t = IsolationConfig::default().forged)]
        forged: usize,
        /// Whose keys the forged transactions name as fee payers: the validators' nodes (the
        /// voters, whose signer tables the engine builds when it starts) or their vote accounts
        /// (keys whose tables the VED's signer cache builds when they recur, on the vote path).
        /// (Default: nodes; only with `--forged`.)
        #[arg(long, value_enum, value_name = "WHOSE")]
        forged_payers: Option<ForgedPayersArg>,
        /// Distinct payers of the transfers.
        #[arg(long, default_value_t = IsolationConfig::default().payers)]
        payers: usize,
        /// Slots measured per kind of run (idle, loaded, forged), over all rounds.
        #[arg(long, default_value_t = IsolationConfig::default().slots)]
        slots: u64,
        /// Rounds, each running every kind on fresh engines, the order rotating.
        #[arg(long, default_value_t = IsolationConfig::default().rounds,
              value_parser = clap::value_parser!(u64).range(1..))]
        rounds: u64,
        /// Slots each run starts with and does not measure.
        #[arg(long, default_value_t = IsolationConfig::default().warmup_slots)]
        warmup: u64,
        /// Milliseconds between blocks, at most a minute.
        #[arg(long, value_name = "MS", default_value_t = IsolationConfig::default().pace_ms)]
        pace: u64,
        /// The API the engine is driven through: the Rust API, or the C ABI's exports as a
        /// validator client calls them (the genesis written to a file, each block encoded,
        /// time-to-vote from the submit call to the VED hash wait's return).
        #[arg(long, value_enum, default_value = "rust")]
        api: ApiArg,
        #[command(flatten)]
        engine: EngineArgs,
        /// Write the report as JSON to FILE ("-": standard output, and nothing else).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum StoreCommand {
    /// Verify every page of a store and print its last committed slot and accounts per mapping.
    /// Exits non-zero on any problem.
    Check {
        /// The store directory.
        dir: PathBuf,
        /// Also write the report as JSON to this file ("-" for standard output).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Create a store, fill it with generated accounts in both domains, commit slots of changes
    /// and remaps, reopen it and verify every account.
    Demo {
        /// Where to create the store.
        #[arg(long, default_value = "target/demo-store")]
        dir: PathBuf,
        /// Accounts written at genesis.
        #[arg(long, default_value_t = 50_000)]
        accounts: u64,
        /// Slots of changes after genesis.
        #[arg(long, default_value_t = 20)]
        slots: u64,
        /// Seed of the generated accounts.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Replace a tandem store already in DIR: its own files only, and only where DIR holds
        /// nothing else (a directory with other files is refused, nothing removed).
        #[arg(long)]
        replace: bool,
        /// Also write the report as JSON to this file ("-" for standard output).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
}

/// Whose keys forged transactions name as payers (`bench isolation --forged-payers`).
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum ForgedPayersArg {
    /// The validators' nodes.
    Nodes,
    /// The validators' vote accounts.
    Votes,
}

impl From<ForgedPayersArg> for ForgedPayers {
    fn from(p: ForgedPayersArg) -> Self {
        match p {
            ForgedPayersArg::Nodes => ForgedPayers::Nodes,
            ForgedPayersArg::Votes => ForgedPayers::Votes,
        }
    }
}

/// The API `bench isolation` drives the engine through (`--api`).
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum ApiArg {
    /// `tandem_engine::pipeline::Engine`.
    Rust,
    /// libtandem's exports (`tandem_engine_open`, `_submit_block`, `_ved_hash`).
    CAbi,
}

/// A kernel backend (SPEC §7).
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum BackendArg {
    /// The GPU for large batches on a hardware GPU, the CPU otherwise.
    Auto,
    /// The CPU, widest SIMD available.
    Cpu,
    /// The GPU; an error where there is none.
    Gpu,
}

impl From<BackendArg> for Backend {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::Auto => Backend::Auto,
            BackendArg::Cpu => Backend::Cpu,
            BackendArg::Gpu => Backend::Gpu,
        }
    }
}

/// What `tandem gen` generates (`tandem_engine::workload::WorkloadConfig`).
/// How the asynchronous engine runs (`run`, `bench isolation`).
#[derive(clap::Args, Debug)]
struct EngineArgs {
    /// Threads of the UED pass (1 or more).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..))]
    ued_threads: u16,
    /// Where signatures are verified and LtHashes computed.
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    backend: BackendArg,
    /// Cores per stage, e.g. "sigverify=0-3;ved=4;ued=5-11;hash=12" (default: the plan
    /// `tandem topology` prints).
    #[arg(long, value_name = "SPEC")]
    cores: Option<String>,
    /// This machine's hardware profile (written by `tandem bench`): the `auto` backend sends
    /// batches to the GPU from its measured crossover (`[auto] gpu_min_items`) on.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
}

impl EngineArgs {
    /// Applies `--profile`: the measured GPU crossover becomes `auto`'s threshold.
    fn apply_profile(&self) -> Result<(), String> {
        let Some(path) = &self.profile else {
            return Ok(());
        };
        let profile = tandem_bench::profile::Profile::load(path).map_err(|e| e.to_string())?;
        // Measured elsewhere, its crossover is another machine's: used, and said.
        bench_cmd::warn_if_measured_elsewhere(path, &profile, "its GPU crossover");
        if let Some(items) = profile.auto.and_then(|a| a.gpu_min_items) {
            tandem_kernels::set_auto_gpu_min_items(items as usize);
        }
        Ok(())
    }
}

impl Command {
    /// The engine settings of the commands that run an engine.
    fn engine_args(&self) -> Option<&EngineArgs> {
        match self {
            Command::Run { engine, .. }
            | Command::Bench(BenchArgs {
                command:
                    Some(
                        BenchCommand::Pipeline { engine, .. }
                        | BenchCommand::Isolation { engine, .. },
                    ),
                ..
            }) => Some(engine),
            _ => None,
        }
    }

    /// What the command reads: files (a genesis, a ledger, a profile) and directories (a
    /// store), which none of its outputs may replace.
    fn inputs(&self) -> (Vec<&Path>, Vec<&Path>) {
        fn some<'a>(paths: &[&'a Option<PathBuf>]) -> Vec<&'a Path> {
            paths.iter().filter_map(|p| p.as_deref()).collect()
        }
        match self {
            Command::Gen { genesis, .. } => (some(&[genesis]), Vec::new()),
            Command::Replay {
                genesis,
                ledger,
                store,
                ..
            } => {
                let mut files = some(&[genesis]);
                files.push(ledger);
                (files, some(&[store]))
            }
            Command::Run {
                genesis,
                ledger,
                store,
                engine,
                ..
            } => (some(&[genesis, ledger, &engine.profile]), some(&[store])),
            Command::Status { store, .. } => (Vec::new(), vec![store]),
            Command::Store(StoreCommand::Check { dir, .. } | StoreCommand::Demo { dir, .. }) => {
                (Vec::new(), vec![dir])
            }
            Command::Bench(BenchArgs {
                command:
                    Some(BenchCommand::Pipeline {
                        genesis,
                        ledger,
                        engine,
                        ..
                    }),
                ..
            }) => (some(&[genesis, ledger, &engine.profile]), Vec::new()),
            Command::Bench(BenchArgs {
                command:
                    Some(BenchCommand::Validate {
                        profile,
                        genesis,
                        ledger,
                        ..
                    }),
                ..
            }) => {
                let mut files = some(&[genesis, ledger]);
                files.push(profile);
                (files, Vec::new())
            }
            Command::Bench(BenchArgs {
                command: Some(BenchCommand::Isolation { engine, .. }),
                ..
            }) => (some(&[&engine.profile]), Vec::new()),
            Command::Plan(args) => (
                args.profiles.iter().map(PathBuf::as_path).collect(),
                Vec::new(),
            ),
            Command::Bench(BenchArgs { command: None, .. })
            | Command::Cluster(_)
            | Command::Topology { .. } => (Vec::new(), Vec::new()),
        }
    }

    /// The files the command writes, with the flag that names each: its JSON report, and
    /// `gen`'s ledger.
    fn outputs(&self) -> Vec<(&'static str, &Path)> {
        let mut outputs: Vec<(&'static str, &Path)> = self
            .json_path()
            .map(|p| ("--json", p))
            .into_iter()
            .collect();
        if let Command::Gen { out, .. } = self {
            outputs.push(("--out", out));
        }
        outputs
    }

    /// Where the command writes its JSON report, if anywhere.
    fn json_path(&self) -> Option<&Path> {
        match self {
            Command::Store(StoreCommand::Check { json, .. } | StoreCommand::Demo { json, .. })
            | Command::Gen { json, .. }
            | Command::Replay { json, .. }
            | Command::Run { json, .. }
            | Command::Status { json, .. }
            | Command::Topology { json, .. }
            | Command::Bench(BenchArgs {
                command:
                    Some(
                        BenchCommand::Pipeline { json, .. }
                        | BenchCommand::Validate { json, .. }
                        | BenchCommand::Isolation { json, .. },
                    ),
                ..
            }) => json.as_deref(),
            Command::Bench(BenchArgs {
                command: None,
                suite,
            }) => suite.json.as_deref(),
            Command::Cluster(args) => args.json.as_deref(),
            Command::Plan(args) => args.json.as_deref(),
        }
    }
}

#[derive(clap::Args, Debug)]
struct WorkloadArgs {
    /// Slots (blocks) to generate.
    #[arg(long, default_value_t = WorkloadConfig::default().slots)]
    slots: u64,
    /// User transfers per slot.
    #[arg(long, default_value_t = WorkloadConfig::default().transfers)]
    transfers: usize,
    /// Account creations per slot.
    #[arg(long, default_value_t = WorkloadConfig::default().creates)]
    creates: usize,
    /// Percent of user transactions that are mixed-domain.
    #[arg(long, default_value_t = WorkloadConfig::default().mixed_pct)]
    mixed_pct: f64,
    /// Percent that mark a program writable.
    #[arg(long, default_value_t = WorkloadConfig::default().writable_program_pct)]
    writable_program_pct: f64,
    /// Percent with a bad signature.
    #[arg(long, default_value_t = WorkloadConfig::default().bad_signature_pct)]
    bad_signature_pct: f64,
    /// Percent paid by an unfunded payer.
    #[arg(long, default_value_t = WorkloadConfig::default().unfunded_pct)]
    unfunded_pct: f64,
    /// Percent that are RemapDomain requests.
    #[arg(long, default_value_t = WorkloadConfig::default().remap_pct)]
    remap_pct: f64,
    /// The seed.
    #[arg(long, default_value_t = WorkloadConfig::default().seed)]
    seed: u64,
}

impl From<WorkloadArgs> for WorkloadConfig {
    fn from(a: WorkloadArgs) -> Self {
        WorkloadConfig {
            slots: a.slots,
            transfers: a.transfers,
            creates: a.creates,
            mixed_pct: a.mixed_pct,
            writable_program_pct: a.writable_program_pct,
            bad_signature_pct: a.bad_signature_pct,
            unfunded_pct: a.unfunded_pct,
            remap_pct: a.remap_pct,
            seed: a.seed,
        }
    }
}

/// The exit status of a run whose engine halted (SPEC §6).
const HALTED: u8 = 3;

/// Where `tandem gen` writes its ledger unless `--out` says otherwise.
const DEFAULT_LEDGER: &str = "target/default.ledger";

/// Mesa's Vulkan drivers, which the GPU adapter probe loads, print "error: XDG_RUNTIME_DIR is
/// invalid or not set in the environment." where the variable is missing (a bare container, CI)
/// although nothing here needs it: point it at a private directory of ours instead, so the
/// output holds tandem's own lines only.
fn quiet_gpu_probe() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return;
    }
    // The user's own (tandem-runtime-dir-<uid>, 0700, its owner checked): a shared fixed
    // name another user could have made, or linked elsewhere, first.
    let made = output::private_dir_in(&std::env::temp_dir(), "tandem-runtime-dir");
    if let Ok(dir) = made {
        // SAFETY: called first thing in main, before any thread exists that could read the
        // environment concurrently.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
    }
}

fn main() -> ExitCode {
    // (It sets the environment: before any thread starts, the signal thread's too.)
    quiet_gpu_probe();
    interrupt::ignore_file_size_signal();
    // Before any other thread starts: they inherit the mask that leaves the signals to one.
    if let Err(e) = interrupt::install() {
        say!("tandem: error: {e}");
        return ExitCode::FAILURE;
    }
    if let Err(e) = output::install_logger() {
        say!("tandem: error: {e}");
        return ExitCode::FAILURE;
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // `--help` and `--version`, on standard output: a write that fails is an error there
        // too (clap's exit status was 0 with a full device; stop 74).
        Err(e) if !e.use_stderr() => {
            use std::io::Write;
            return match e.print().and_then(|()| std::io::stdout().flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(failed) => {
                    say!("tandem: error: writing to standard output: {failed}");
                    ExitCode::FAILURE
                }
            };
        }
        Err(e) => e.exit(),
    };
    // A CPU platform asked for that cannot be had is the operator's mistake: said, not ignored.
    if let Err(e) = tandem_kernels::Platform::from_env() {
        say!("tandem: error: {e}");
        return ExitCode::FAILURE;
    }
    if let Some(Err(e)) = cli.command.engine_args().map(EngineArgs::apply_profile) {
        say!("tandem: error: --profile: {e}");
        return ExitCode::FAILURE;
    }
    // A report that cannot be written fails now, not after the work it would have reported.
    if let Some(Err(e)) = cli.command.json_path().map(output::check_writable) {
        say!("tandem: error: --json: {e}");
        return ExitCode::FAILURE;
    }
    // Nor a ledger `gen` writes; its default place, `target/`, is made where it is missing (as
    // `store demo` makes it).
    if let Command::Gen { out, .. } = &cli.command {
        if out == Path::new(DEFAULT_LEDGER)
            && let Err(e) = std::fs::create_dir_all("target")
        {
            say!("tandem: error: --out: creating the directory target: {e}");
            return ExitCode::FAILURE;
        }
        if let Err(e) = output::check_writable(out) {
            say!("tandem: error: --out: {e}");
            return ExitCode::FAILURE;
        }
    }
    // Nor may a report (or a generated ledger) take the place of what the command reads.
    let (files, dirs) = cli.command.inputs();
    for (flag, output) in cli.command.outputs() {
        if let Err(e) = output::check_not_an_input(output, &files, &dirs) {
            say!("tandem: error: {flag}: {e}");
            return ExitCode::FAILURE;
        }
    }
    // `gen --out /dev/stdout --json -`: the ledger and the report mixed in one stream (into a
    // file, the report written over the ledger's start: a black-box test, stop 74).
    if let [(_, json), (_, out)] = cli.command.outputs()[..]
        && json == Path::new("-")
        && chain_cmd::is_standard_output(out)
        && !output::is_the_null_device(out)
    {
        say!(
            "tandem: error: --json - and --out {} both write to standard output",
            out.display()
        );
        return ExitCode::FAILURE;
    }
    if let [(_, a), (_, b)] = cli.command.outputs()[..]
        && output::check_not_an_input(a, &[b], &[]).is_err()
    {
        say!(
            "tandem: error: --json and --out name the same file: {}",
            a.display()
        );
        return ExitCode::FAILURE;
    }
    if let Command::Bench(BenchArgs {
        command: None,
        suite: SuiteArgs {
            json: Some(json),
            out,
            ..
        },
    }) = &cli.command
        && let Err(e) = output::check_not_a_bench_output(json, out)
    {
        say!("tandem: error: --json: {e}");
        return ExitCode::FAILURE;
    }
    // What a failure below names as an earlier run's.
    let earlier_report = cli.command.json_path().and_then(output::EarlierReport::at);
    // Set by the commands whose engine can halt (SPEC §6: their own exit status).
    let mut halted = false;
    // A table printed to a reader that went away (`| head`) or a full device: an error, not
    // `println!`'s panic.
    let result = output::stdout_failures_as_errors(|| dispatch(cli.command, &mut halted));
    // A signal stops the process: what failed since is the removal's doing, and the signal
    // thread exits (128 + the signal) once the scratch stores are gone.
    if interrupt::stopping() {
        interrupt::wait_for_the_end();
    }
    match result {
        Ok(()) if halted => ExitCode::from(HALTED),
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            say!("tandem: error: {message}");
            if let Some(report) = earlier_report {
                report.say_after_a_failure();
            }
            ExitCode::FAILURE
        }
    }
}

/// Runs `command`; `halted` is set where its engine halted (SPEC §6).
fn dispatch(command: Command, halted: &mut bool) -> Result<(), String> {
    // `tandem bench`'s suites make their stores themselves: in a directory a signal removes.
    let _bench_scratch = match &command {
        Command::Bench(bench) => Some(interrupt::scratch_for_the_process(
            // The suite's --out, where the temporary directory cannot be used.
            bench.command.is_none().then_some(bench.suite.out.as_path()),
        )?),
        _ => None,
    };
    match command {
        Command::Store(StoreCommand::Check { dir, json }) => {
            store_cmd::check(&dir, json.as_deref())
        }
        Command::Store(StoreCommand::Demo {
            dir,
            accounts,
            slots,
            seed,
            replace,
            json,
        }) => store_cmd::demo(
            tandem_engine::store::demo::DemoConfig {
                dir,
                accounts,
                slots,
                seed,
                replace,
            },
            json.as_deref(),
        ),
        Command::Gen {
            genesis,
            out,
            workload,
            json,
        } => chain_cmd::generate(genesis.as_deref(), &out, workload.into(), json.as_deref()),
        Command::Replay {
            genesis,
            ledger,
            store,
            backend,
            ued_threads,
            json,
        } => chain_cmd::replay(
            genesis.as_deref(),
            &ledger,
            store.as_deref(),
            backend.into(),
            usize::from(ued_threads),
            json.as_deref(),
        ),
        Command::Bench(BenchArgs {
            command: None,
            suite,
        }) => bench_cmd::suite(bench_cmd::SuiteRun {
            size: match (suite.quick, suite.full) {
                (true, _) => Size::Quick,
                (_, true) => Size::Full,
                _ => Size::Default,
            },
            suites: suite.suites,
            out: suite.out,
            kind: suite.kind,
            json: suite.json,
        }),
        Command::Bench(BenchArgs {
            command:
                Some(BenchCommand::Validate {
                    profile,
                    genesis,
                    ledger,
                    ued_threads,
                    cores,
                    json,
                }),
            ..
        }) => bench_cmd::validate(bench_cmd::ValidateArgs {
            profile: &profile,
            genesis: genesis.as_deref(),
            ledger: ledger.as_deref(),
            ued_threads: usize::from(ued_threads),
            cores: cores.as_deref(),
            json: json.as_deref(),
        }),
        Command::Bench(BenchArgs {
            command:
                Some(BenchCommand::Pipeline {
                    genesis,
                    ledger,
                    rounds,
                    engine,
                    json,
                }),
            ..
        }) => bench_cmd::pipeline(bench_cmd::PipelineArgs {
            genesis: genesis.as_deref(),
            ledger: ledger.as_deref(),
            rounds: usize::from(rounds),
            backend: engine.backend.into(),
            ued_threads: usize::from(engine.ued_threads),
            cores: engine.cores.as_deref(),
            json: json.as_deref(),
        }),
        Command::Bench(BenchArgs {
            command:
                Some(BenchCommand::Isolation {
                    validators,
                    transfers,
                    forged,
                    forged_payers,
                    payers,
                    slots,
                    rounds,
                    warmup,
                    pace,
                    api,
                    engine,
                    json,
                }),
            ..
        }) => bench_cmd::isolation(
            IsolationConfig {
                validators,
                ued_transfers: transfers,
                forged,
                forged_payers: match (forged_payers, forged) {
                    (Some(_), 0) => {
                        return Err("--forged-payers names the payers of the forged run: it \
                                    needs --forged N with N > 0"
                            .to_owned());
                    }
                    (payers, _) => payers.map_or(ForgedPayers::Nodes, Into::into),
                },
                payers,
                slots,
                rounds,
                warmup_slots: warmup,
                pace_ms: pace,
                ued_threads: usize::from(engine.ued_threads),
                backend: engine.backend.into(),
                placement: None,
                api: match api {
                    ApiArg::Rust => Api::Rust,
                    ApiArg::CAbi => Api::CAbi {
                        cores: engine.cores.clone(),
                    },
                },
            },
            engine.cores.as_deref(),
            json.as_deref(),
        ),
        Command::Cluster(args) => cluster_cmd::cluster(args).map(|h| *halted = h),
        Command::Run {
            genesis,
            ledger,
            store,
            engine,
            pace,
            json,
            metrics_addr,
        } => run_cmd::run(run_cmd::RunArgs {
            genesis,
            ledger,
            store,
            ued_threads: usize::from(engine.ued_threads),
            backend: engine.backend.into(),
            cores: engine.cores,
            pace_ms: pace,
            json,
            metrics_addr,
        })
        .map(|h| *halted = h),
        Command::Status {
            signature,
            stake,
            store,
            json,
        } => status_cmd::status(&signature, stake, &store, json.as_deref()),
        Command::Plan(args) => plan_cmd::plan_cmd(args),
        Command::Topology { cores, json } => {
            topology_cmd::topology(cores.as_deref(), json.as_deref())
        }
    }
}
