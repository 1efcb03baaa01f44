//! `tandem bench`: the bench suites over `tandem_bench` — the suite that writes a hardware
//! profile ([`suite`]), and the engine's `isolation` and `pipeline` on their own.

use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use serde::Serialize;
use tandem_bench::fixtures::ForgedPayers;
use tandem_bench::isolation::stalls::STALL_MS;
use tandem_bench::isolation::{Api, IsolationConfig, IsolationReport, IsolationRun, run_isolation};
use tandem_bench::pipeline::{PipelineReport, median_round, run_pipeline};
use tandem_bench::profile::Rate;
use tandem_bench::profile::{Profile, ProfileError};
use tandem_bench::suite::output::BenchJson;
use tandem_bench::suite::plots::short;
use tandem_bench::suite::{self as bench_suite, Progress, Size, SuiteConfig, SuiteName, machine};
use tandem_bench::validate::{validate as run_validation, validation_ledger};
use tandem_engine::ledger::LedgerReader;
use tandem_engine::runtime::Backend;

use crate::chain_cmd::load_genesis;
use crate::output::{self, progress_bar, table, write_json};
use crate::run_cmd::open_default_ledger;
use crate::topology_cmd::survey;
use tandem_engine::pipeline::Survey;

/// `tandem bench isolation`'s JSON: the suite's report and the machine it ran on.
#[derive(Serialize)]
struct IsolationJson {
    #[serde(flatten)]
    report: IsolationReport,
    /// The CPU model, as hwloc (or /proc/cpuinfo) names it.
    cpu: Option<String>,
    /// PUs on the machine.
    pus: usize,
}

/// A spinner showing the suite `what`'s phases (hidden when `quiet`).
fn spinner(quiet: bool, what: &str) -> Result<ProgressBar, String> {
    let bar = output::spinner(quiet, &format!("{{spinner}} {{elapsed}} {what}: {{msg}}"))?;
    output::steady_tick(
        &bar,
        std::time::Duration::from_millis(200),
        output::ticker_thread(),
    );
    Ok(bar)
}

/// `tandem bench isolation`.
pub fn isolation(
    mut config: IsolationConfig,
    cores: Option<&str>,
    json: Option<&Path>,
) -> Result<(), String> {
    let quiet = json == Some(Path::new("-"));
    let Survey {
        topology,
        placement,
        ..
    } = survey(cores)?;
    config.placement = Some(placement);
    let bar = spinner(quiet, "isolation")?;
    let report = run_isolation(&config, |phase| bar.set_message(phase.to_owned()))?;
    bar.finish_and_clear();
    let report = IsolationJson {
        report,
        cpu: topology.cpu_model().map(str::to_owned),
        pus: topology.pus().len(),
    };
    // The report first: a table that cannot be printed (a reader gone, a full device) loses
    // no report.
    if let Some(path) = json {
        write_json(path, &report)?;
    }
    if !quiet {
        print(&report, &config);
    }
    Ok(())
}

fn print(json: &IsolationJson, config: &IsolationConfig) {
    let r = &json.report;
    println!(
        "time-to-vote (block handed to the engine → its VED hash), through the {}, one \
         block every {} ms, {} slots of each kind measured in {} rounds (each run after {} slots \
         of warm-up), on {} ({} PUs)",
        match config.api {
            Api::CAbi { .. } => "C ABI",
            Api::Rust => "Rust API",
        },
        r.pace_ms,
        r.idle.slots,
        config.rounds.max(1),
        config.warmup_slots,
        json.cpu.as_deref().unwrap_or("an unknown CPU"),
        json.pus
    );
    let mut runs = vec![("idle", &r.idle), ("loaded", &r.loaded)];
    if let Some(forged) = &r.forged {
        runs.push(("forged", forged));
    }
    // The forged column only where there is a forged run.
    let forged = r.forged.is_some();
    let row = |name: &str, run: &IsolationRun| {
        let mut row = vec![
            name.to_owned(),
            run.votes_per_slot.to_string(),
            run.ued_tx_per_slot.to_string(),
        ];
        if forged {
            row.push(run.forged_tx_per_slot.to_string());
        }
        row.extend([
            format!("{:.2} ms", run.p50_ms),
            format!("{:.2} ms", run.p99_ms),
            format!("{:.2} ms", run.max_ms),
            run.max_ued_lag_slots.to_string(),
        ]);
        row
    };
    let mut header = vec!["run", "votes/slot", "UED tx/slot"];
    if forged {
        header.push("forged tx/slot");
    }
    header.extend(["p50", "p99", "max", "max UED lag (slots)"]);
    println!(
        "{}",
        table(
            &header,
            runs.iter().map(|(name, run)| row(name, run)).collect()
        )
    );
    if let Api::CAbi { .. } = config.api {
        println!(
            "(through the C ABI: each block encoded and decoded by tandem_engine_submit_block, \
             handed over once the block before has its vote; the UED may lag 64 blocks)"
        );
    }
    println!(
        "loaded ÷ idle: p50 {:.3}, p99 {:.3}",
        r.ratio_p50, r.ratio_p99
    );
    if let (Some(p50), Some(p99)) = (r.forged_ratio_p50, r.forged_ratio_p99) {
        let payers = match r.forged_payers {
            Some(ForgedPayers::Votes) => "the validators' vote accounts",
            Some(ForgedPayers::Nodes) | None => "the validators' nodes",
        };
        println!(
            "forged ÷ idle: p50 {p50:.3}, p99 {p99:.3} (forged transactions paid by {payers})"
        );
    }
    let cold: Vec<String> = runs
        .iter()
        .map(|(name, run)| format!("{:.2} ms {name}", run.cold_max_ms))
        .collect();
    println!(
        "cold (the warm-up blocks of a fresh engine): longest time-to-vote {}",
        cold.join(", ")
    );
    for (name, run) in &runs {
        let steal = run.steal_ms_per_block.map_or_else(
            || "the machine's counters not read".to_owned(),
            |ms| format!("{ms:.2} ms stolen by the hypervisor per block"),
        );
        match run.stalls.len() {
            0 => println!("{name}: no block's vote over {STALL_MS} ms ({steal})"),
            n => {
                println!("{name}: {n} blocks' votes over {STALL_MS} ms ({steal}):");
                for stall in &run.stalls {
                    println!("  {}", stall.describe());
                }
            }
        }
    }
    for (name, run) in &runs {
        if let Some(path) = &run.vote_path_p50_ms {
            println!(
                "{name}: the vote's path (p50 from the hand-over): votes verified {:.2} ms, \
                 verdict {:.2} ms, VED executed {:.2} ms, vote point {:.2} ms",
                path.votes_verified, path.verdict, path.ved_executed, run.p50_ms
            );
        }
        if run.vote_path_ms_per_slot.is_empty() {
            println!("{name}: work per block on the vote's path: not shown through the C ABI");
            continue;
        }
        let path: Vec<String> = run
            .vote_path_ms_per_slot
            .iter()
            .map(|(stage, ms)| format!("{stage} {ms:.2} ms"))
            .collect();
        println!(
            "{name}: work per block on the vote's path: {}",
            path.join(", ")
        );
    }
}

/// `tandem bench pipeline`'s JSON: the suite's report and the machine it ran on.
#[derive(Serialize)]
struct PipelineJson {
    /// The round of the median efficiency ([`median_round`]).
    #[serde(flatten)]
    report: PipelineReport,
    /// Which round that is, from 1.
    median_round: usize,
    /// Every round, in the order run.
    rounds: Vec<PipelineReport>,
    /// The ledger measured.
    ledger: String,
    /// The CPU model.
    cpu: Option<String>,
    /// PUs on the machine.
    pus: usize,
    /// Cores on the machine (fewer than `pus` where cores have SMT siblings).
    cores: usize,
}

/// What `tandem bench pipeline` was asked.
pub struct PipelineArgs<'a> {
    /// The genesis (the default cluster when `None`).
    pub genesis: Option<&'a Path>,
    /// The ledger (`tandem run`'s built-in workload when `None`).
    pub ledger: Option<&'a Path>,
    /// Rounds of the suite (at least 1).
    pub rounds: usize,
    /// The kernels' backend.
    pub backend: Backend,
    /// Threads of the UED pass.
    pub ued_threads: usize,
    /// The `cores` setting.
    pub cores: Option<&'a str>,
    /// Where to write the JSON report.
    pub json: Option<&'a Path>,
}

/// `tandem bench pipeline`.
pub fn pipeline(args: PipelineArgs<'_>) -> Result<(), String> {
    let quiet = args.json == Some(Path::new("-"));
    if args.genesis.is_some() && args.ledger.is_none() {
        return Err(
            "--genesis needs --ledger (the built-in workload is for the default cluster)".into(),
        );
    }
    let genesis = load_genesis(args.genesis)?;
    let Survey {
        topology,
        placement,
        ..
    } = survey(args.cores)?;
    let (ledger, reader) = match args.ledger {
        Some(path) => (
            path.to_owned(),
            LedgerReader::open(path).map_err(|e| e.to_string())?,
        ),
        None => open_default_ledger(&genesis, quiet)?,
    };
    let blocks = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let bar = spinner(quiet, "pipeline")?;
    let mut rounds = Vec::with_capacity(args.rounds);
    for round in 1..=args.rounds {
        rounds.push(run_pipeline(
            &genesis,
            &blocks,
            args.backend,
            args.ued_threads,
            Some(placement.clone()),
            |phase| bar.set_message(format!("round {round}/{}: {phase}", args.rounds)),
        )?);
    }
    bar.finish_and_clear();
    let median = median_round(&rounds).ok_or("--rounds must be at least 1")?;
    let json = PipelineJson {
        report: rounds[median].clone(),
        median_round: median + 1,
        rounds,
        ledger: ledger.display().to_string(),
        cpu: topology.cpu_model().map(str::to_owned),
        pus: topology.pus().len(),
        cores: topology.cores().len(),
    };
    // The report first: a table that cannot be printed (a reader gone, a full device) loses
    // no report.
    if let Some(path) = args.json {
        write_json(path, &json)?;
    }
    if !quiet {
        let r = &json.report;
        println!(
            "{} blocks, {} transactions of {}, on {} ({} PUs)",
            r.blocks,
            r.transactions,
            json.ledger,
            json.cpu.as_deref().unwrap_or("an unknown CPU"),
            json.pus
        );
        if json.rounds.len() > 1 {
            let each: Vec<String> = json
                .rounds
                .iter()
                .map(|r| format!("{:.3}", r.efficiency))
                .collect();
            println!(
                "round {} of {}, the median efficiency's, below (every round's efficiency: {})",
                json.median_round,
                json.rounds.len(),
                each.join(" / ")
            );
        }
        let secs = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.2} s"));
        let mut rows: Vec<Vec<String>> = r
            .stages
            .iter()
            .map(|s| {
                let e = &s.in_engine;
                vec![
                    format!("{} alone", s.name),
                    format!("{:.2} s", s.seconds),
                    format!("{:.0}", s.capacity_tps),
                    secs(s.cpu_seconds),
                    secs(s.beside_seconds),
                    format!(
                        "{:.2} s / {:.2} s ({})",
                        e.busy_seconds, e.busy_cpu_seconds, e.stage
                    ),
                ]
            })
            .collect();
        rows.push(vec![
            "the engine (sustained)".into(),
            format!("{:.2} s", r.seconds),
            format!("{:.0}", r.sustained_tps),
            String::new(),
            String::new(),
            String::new(),
        ]);
        println!(
            "{}",
            table(
                &[
                    "",
                    "time",
                    "transactions/s",
                    "of it on CPU",
                    "beside the other",
                    "in the engine: busy / on CPU",
                ],
                rows
            )
        );
        println!(
            "pipeline efficiency: {:.3} (sustained ÷ {}, the slowest stage alone)",
            r.efficiency, r.bottleneck
        );
        match &r.factors {
            Some(f) => println!(
                "  = {:.3} beside the other stage × {:.3} the engine's own work × {:.3} on its PU \
                 while busy × {:.3} kept busy",
                f.beside, f.own_work, f.on_cpu, f.kept_busy
            ),
            None => println!(
                "  (not split into factors: the slowest stage was not timed beside the other, or \
                 its engine stage works on more than one thread)"
            ),
        }
        let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.2} ms"));
        println!(
            "the engine's time-to-vote: p50 {}, p99 {}; the UED's largest lag: {} slots",
            ms(r.time_to_vote_p50_ms),
            ms(r.time_to_vote_p99_ms),
            r.max_ued_lag_slots
        );
    }
    Ok(())
}

/// What `tandem bench validate` was asked.
pub struct ValidateArgs<'a> {
    /// The profile to plan from.
    pub profile: &'a Path,
    /// The genesis (the default cluster when `None`).
    pub genesis: Option<&'a Path>,
    /// The ledger (`tandem run`'s built-in workload when `None`).
    pub ledger: Option<&'a Path>,
    /// Threads of the UED pass.
    pub ued_threads: usize,
    /// The `cores` setting.
    pub cores: Option<&'a str>,
    /// Where to write the JSON report.
    pub json: Option<&'a Path>,
}

/// Warns where the profile at `path` was measured on another CPU than this machine's: `what`
/// (its figures, its GPU crossover) may not hold here.
pub fn warn_if_measured_elsewhere(path: &Path, profile: &Profile, what: &str) {
    let here = tandem_engine::pipeline::Topology::detect();
    if let Some(model) = here.cpu_model()
        && model != profile.machine.cpu_model
    {
        log::warn!(
            "--profile {}: measured on {}, not on this machine's {model}: {what} may not hold \
             here (`tandem bench` measures this one)",
            path.display(),
            profile.machine.cpu_model
        );
    }
}

/// `tandem bench validate`: the planner's prediction against the pipeline on this machine.
pub fn validate(args: ValidateArgs<'_>) -> Result<(), String> {
    let quiet = args.json == Some(Path::new("-"));
    let profile = Profile::load(args.profile).map_err(|e| e.to_string())?;
    // Validating another machine's plan here measures this one against it.
    warn_if_measured_elsewhere(args.profile, &profile, "its plan");
    let Survey {
        placement,
        topology,
        ..
    } = survey(args.cores)?;
    let bar = spinner(quiet, "validate")?;
    let (genesis, blocks) = match args.ledger {
        Some(path) => {
            let genesis = load_genesis(args.genesis)?;
            let blocks = LedgerReader::open(path)
                .map_err(|e| e.to_string())?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            (genesis, blocks)
        }
        None => {
            bar.set_message("generating the validation ledger (1,000 payers, 100 voters)");
            validation_ledger(40, 5_000)?
        }
    };
    let report = run_validation(
        &profile,
        &args.profile.display().to_string(),
        &genesis,
        &blocks,
        Some((&topology, placement)),
        args.ued_threads,
        |phase| bar.set_message(phase.to_owned()),
    )?;
    bar.finish_and_clear();
    // The report first: a table that cannot be printed (a reader gone, a full device) loses
    // no report.
    if let Some(path) = args.json {
        write_json(path, &report)?;
    }
    if !quiet {
        let t = &report.target;
        let p = &report.plan;
        println!(
            "the ledger's shape: {:.1} signature(s) per user transaction, {:.1} % by recurring \
             signers, {:.1} votes per block",
            t.sigs_per_tx, t.recurring_pct, t.votes_per_slot
        );
        println!(
            "plan from {} ({}) for {} cores{}: max {:.0} tps, bottleneck {}",
            args.profile.display(),
            p.profile,
            p.cores,
            if p.projection { ", a projection" } else { "" },
            p.max_tps,
            p.bottleneck
        );
        // What the plan could not take into account (a rate the profile lacks): the error
        // below may be its doing.
        for note in &p.notes {
            println!("- {note}");
        }
        println!(
            "measured: {:.0} user tps sustained; error {:+.1} % ({} the ±15 % goal)",
            report.measured_tps,
            report.error * 100.0,
            if report.within_15_pct {
                "within"
            } else {
                "OUTSIDE"
            }
        );
        let stages: Vec<&str> = report.steps[0]
            .utilisation
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        let mut header = vec!["offered", "tps"];
        header.extend(stages.iter().copied());
        let rows = report
            .steps
            .iter()
            .map(|step| {
                let mut row = vec![
                    format!("{:.0} %", step.share * 100.0),
                    format!("{:.0}", step.offered_tps),
                ];
                row.extend(
                    step.utilisation
                        .iter()
                        .map(|(_, u)| format!("{:.0} %", u * 100.0)),
                );
                row
            })
            .collect();
        println!("stage utilisation (busy ÷ wall) as the load rises:");
        println!("{}", table(&header, rows));
        println!(
            "saturates first: {} — the plan's bottleneck is {} ({})",
            report.saturated_first,
            p.bottleneck,
            if report.bottleneck_agrees {
                "agrees"
            } else {
                "DISAGREES"
            }
        );
    }
    Ok(())
}

/// What `tandem bench` (the suite) was asked.
pub struct SuiteRun {
    /// The suite's size.
    pub size: Size,
    /// The suites to run (every one when empty).
    pub suites: Vec<SuiteName>,
    /// The output directory.
    pub out: PathBuf,
    /// The machine kind, if given.
    pub kind: Option<String>,
    /// Where to write bench.json as well.
    pub json: Option<PathBuf>,
}

/// The room `bench --out` must have before the suite runs: its profile, plots and reports take
/// tens of KB; a MiB leaves a margin.
const OUT_ROOM: usize = 1 << 20;

/// Fails, naming `dir`, when [`OUT_ROOM`] bytes cannot be written and synced there: a full disk
/// or a file size limit fails before minutes of measuring, not after (an empty file, as the
/// check made until 2026-12-07, needs no room). Leaves nothing behind. The file is this
/// process's own: two benches started at once on one `--out` each removed the other's.
fn check_room(dir: &Path) -> Result<(), String> {
    use std::io::Write;
    let path = dir.join(format!(".tandem-write-check-{}", std::process::id()));
    let _removed_on_a_signal = crate::interrupt::remove_on_signal(path.clone());
    // Not zeros, nor a short pattern, which a compressing file system (ZFS, btrfs) stores in
    // little room: xorshift's bytes.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let bytes: Vec<u8> = (0..OUT_ROOM)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let written = std::fs::File::create(&path).and_then(|mut file| {
        file.write_all(&bytes)?;
        file.sync_all()
    });
    let removed = std::fs::remove_file(&path);
    written.map_err(|e| {
        format!(
            "cannot write {} KiB to {} (its files need about that): {e}",
            OUT_ROOM >> 10,
            dir.display()
        )
    })?;
    removed.map_err(|e| format!("removing {}: {e}", path.display()))
}

/// `tandem bench`: runs the suite with a progress bar over its figures, writes its files and
/// prints the table.
pub fn suite(args: SuiteRun) -> Result<(), String> {
    let quiet = args.json.as_deref() == Some(Path::new("-"));
    // The output directory is made and tried before the suite runs, not after.
    // (`create_dir_all` of a file, or of a loop of links, answers "File exists".)
    tandem_engine::files::create_dir_all(&args.out)
        .map_err(|e| format!("--out: cannot create {}: {e}", args.out.display()))?;
    check_room(&args.out).map_err(|e| format!("--out: {e}"))?;
    let survey = survey(None)?;
    let machine = machine::machine(&survey, args.kind.as_deref()).map_err(|e| e.to_string())?;
    // And the profile's own path (a directory there, a name too long): not after minutes of
    // measuring.
    let profile_path = args.out.join(format!("{}.toml", machine.kind));
    output::check_writable(&profile_path).map_err(|e| format!("--kind: {e}"))?;
    // The store suite's stores go on --out's disk, the executors' in memory: each below a
    // directory a signal removes (an interrupted bench left them behind).
    // (Where /dev/shm takes no directory — read-only, full — the executors' go on the disk.)
    let mut config = SuiteConfig::new(&survey, args.size, args.suites, args.out.clone());
    let out_scratch = crate::interrupt::scratch_dir_in(&args.out)?;
    config.scratch = out_scratch.path().to_owned();
    let memory_scratch = (config.memory_scratch.as_deref())
        .and_then(|shm| crate::interrupt::scratch_dir_in(shm).ok());
    config.memory_scratch = memory_scratch.as_ref().map(|s| s.path().to_owned());
    let bar = progress_bar(quiet, 0, "{elapsed:>4} [{bar:30}] {pos}/{len} {msg}")?;
    output::steady_tick(
        &bar,
        std::time::Duration::from_millis(200),
        output::ticker_thread(),
    );
    let mut figure = String::new();
    let report = bench_suite::run(&config, |p| match p {
        Progress::Planned(n) => bar.set_length(n as u64),
        Progress::Figure { index, label } => {
            bar.set_position(index as u64);
            figure = label.to_owned();
            bar.set_message(figure.clone());
        }
        Progress::Phase(phase) => bar.set_message(format!("{figure}: {phase}")),
    });
    bar.finish_and_clear();
    let profile = bench_suite::output::profile(machine, machine::build(args.size), &report);
    // A run of some suites updates their figures in the profile there, keeping the others.
    let at = args.out.join(format!("{}.toml", profile.machine.kind));
    let (profile, kept) =
        bench_suite::output::keeping_suites_not_run(profile, &config.suites(), &at);
    let mut json = BenchJson::new(&profile, &config, &report);
    json.notes.extend(kept);
    // A run that could not measure every figure writes what it measured beside the profile,
    // never over it: it replaced an earlier run's good profile with one lacking those figures
    // (and a GPU crossover decided without them). Found in review.
    if !report.failures.is_empty() {
        json.files.profile = format!("{}.partial.toml", profile.machine.kind);
        json.notes.push(format!(
            "not every figure was measured: what was is in {}; {} (an earlier run's, where there              is one) is kept as it was",
            json.files.profile,
            at.display()
        ));
    }
    // A run of some suites into a directory without a full profile writes one `tandem plan`
    // refuses: said now, not when the plan is asked.
    let target = tandem_bench::plan::Target::default();
    if let Err(tandem_bench::plan::PlanError::Profile(e @ ProfileError::MissingRate { .. })) =
        tandem_bench::plan::plan(&profile, &at.display().to_string(), &target, None)
    {
        json.notes.push(format!(
            "not a profile `tandem plan` can use yet ({e}): the suites run measure part of \
             what it needs; `tandem bench` without --suite measures the rest"
        ));
    }
    let written =
        bench_suite::output::write(&args.out, &profile, &json).map_err(|e| e.to_string())?;
    if let Some(path) = &args.json {
        write_json(path, &json)?;
    }
    // What was measured is written above; a figure that could not be measured fails the
    // command after (it failed before anything was written, every figure measured lost).
    let failed = || -> Result<(), String> {
        match report.failures.as_slice() {
            [] => Ok(()),
            failures => Err(format!(
                "{} figure{} not measured ({}); the others are written to {}",
                failures.len(),
                if failures.len() == 1 { "" } else { "s" },
                failures.join("; "),
                args.out.display()
            )),
        }
    };
    if quiet {
        return failed();
    }
    let m = &profile.machine;
    println!(
        "{} suite on {} ({} cores, {} PUs{}), tandem {} ({}), {:.0} s",
        args.size.name(),
        m.cpu_model,
        m.cores,
        m.pus,
        m.gpu_adapter
            .as_deref()
            .map_or(String::new(), |a| format!(", GPU {a}")),
        profile.tandem.version,
        profile.tandem.commit,
        report.seconds
    );
    println!(
        "{}",
        table(
            &["figure", "threads/batch", "median", "spread", "unit"],
            report.rates.iter().map(row).collect()
        )
    );
    for note in &json.notes {
        println!("- {note}");
    }
    if let Some(threshold) = profile.auto.as_ref().and_then(|a| a.gpu_min_items) {
        println!("- auto.gpu_min_items = {threshold}");
    }
    println!("wrote:");
    for path in written {
        println!("  {}", path.display());
    }
    failed()
}

/// A figure's row of the table.
fn row(rate: &Rate) -> Vec<String> {
    let at = match (rate.threads, rate.batch, rate.ued_tx_per_slot) {
        (Some(t), ..) => format!("{t} thread{}", if t == 1 { "" } else { "s" }),
        (_, Some(b), _) => format!("batch {b}"),
        (.., Some(l)) => format!("{l} tx/slot"),
        _ => String::new(),
    };
    let spread = rate.spread.map_or(String::new(), |[lo, hi]| {
        format!("{} – {}", short(lo), short(hi))
    });
    vec![
        rate.name.clone(),
        at,
        short(rate.value),
        spread,
        rate.unit.clone(),
    ]
}
