//! `tandem plan`: printing over `tandem_bench::plan` — what a machine (a hardware profile)
//! sustains for a target load, stage by stage, and two machines side by side.

use std::path::{Path, PathBuf};

use serde::Serialize;
use tandem_bench::plan::{Plan, SLOT_MS_RANGE, Target, check_cores, percent, plan};
use tandem_bench::profile::Profile;
use tandem_bench::profile::compact;

use crate::output::{table, write_json};

/// What `tandem plan` was asked.
#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    /// A hardware profile (hwprofiles/*.toml, written by `tandem bench`); give two to compare.
    #[arg(long = "profile", value_name = "FILE", required = true)]
    pub profiles: Vec<PathBuf>,
    /// User transactions per second.
    #[arg(long, default_value_t = 10_000.0)]
    tps: f64,
    /// Votes per slot.
    #[arg(long, default_value_t = 1_000.0)]
    votes_per_slot: f64,
    /// The slot time, milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 400.0)]
    slot_ms: f64,
    /// Signatures per user transaction.
    #[arg(long, default_value_t = 1.0)]
    sigs_per_tx: f64,
    /// Accounts each user transaction writes (a transfer writes 2).
    #[arg(long, default_value_t = 2.0)]
    accounts_per_tx: f64,
    /// Percent of user signatures by recurring signers (verified from the signer cache).
    #[arg(long, value_name = "PCT", default_value_t = 0.0)]
    recurring_pct: f64,
    /// Plan for N cores instead of the profile's (projected from its measured scaling).
    #[arg(long, value_name = "N")]
    cores: Option<u64>,
    /// Write the plan as JSON to FILE ("-": standard output, and nothing else).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

impl PlanArgs {
    fn target(&self) -> Target {
        Target {
            tps: self.tps,
            votes_per_slot: self.votes_per_slot,
            slot_ms: self.slot_ms,
            sigs_per_tx: self.sigs_per_tx,
            accounts_per_tx: self.accounts_per_tx,
            recurring_pct: self.recurring_pct,
        }
    }
}

/// `tandem plan`'s JSON: one plan per profile, in the order given.
#[derive(Serialize)]
struct PlansJson<'a> {
    plans: &'a [Plan],
}

/// `tandem plan`.
pub fn plan_cmd(args: PlanArgs) -> Result<(), String> {
    if args.profiles.is_empty() || args.profiles.len() > 2 {
        return Err("--profile: give one profile, or two to compare".into());
    }
    if !SLOT_MS_RANGE.contains(&args.slot_ms) {
        return Err(format!(
            "--slot-ms: {} is out of range ({} ..= {} ms)",
            compact(args.slot_ms),
            compact(*SLOT_MS_RANGE.start()),
            compact(*SLOT_MS_RANGE.end())
        ));
    }
    // Read wider than the planner's u32 so that a number past it gets the planner's range,
    // not clap's 0 ..= 4294967295.
    let cores = args
        .cores
        .map(check_cores)
        .transpose()
        .map_err(|e| e.to_string())?;
    let plans = args
        .profiles
        .iter()
        .map(|path| {
            let shown = path.display().to_string();
            let profile = Profile::load(path).map_err(|e| e.to_string())?;
            plan(&profile, &shown, &args.target(), cores).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<Plan>, String>>()?;
    // The report first: a table that cannot be printed (a reader gone, a full device) loses
    // no report.
    if let Some(path) = &args.json {
        // One profile: the plan itself; two: {"plans": [...]}.
        match plans.as_slice() {
            [one] => write_json(path, one)?,
            many => write_json(path, &PlansJson { plans: many })?,
        }
    }
    if args.json.as_deref() != Some(Path::new("-")) {
        print(&plans);
    }
    Ok(())
}

fn rate(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn print(plans: &[Plan]) {
    let t = &plans[0].target;
    println!(
        "target: {} tps of {} signature(s) and {} written account(s) each, {} votes per {} ms slot",
        rate(t.tps),
        t.sigs_per_tx,
        t.accounts_per_tx,
        rate(t.votes_per_slot),
        t.slot_ms
    );
    for plan in plans {
        println!();
        println!(
            "{} on {} core{}{}",
            plan.profile,
            plan.cores,
            if plan.cores == 1 { "" } else { "s" },
            if plan.projection {
                " — a PROJECTION from what the profile measured (other cores or threads)"
            } else {
                ""
            }
        );
        let rows = plan
            .stages
            .iter()
            .map(|s| {
                vec![
                    s.name.to_owned(),
                    s.cores.to_string(),
                    if s.shared_with.is_empty() {
                        "-".to_owned()
                    } else {
                        s.shared_with.join(", ")
                    },
                    rate(s.load),
                    rate(s.capacity),
                    s.headroom.map_or("none".to_owned(), |h| percent(h * 100.0)),
                    s.unit.to_owned(),
                ]
            })
            .collect();
        println!(
            "{}",
            table(
                &[
                    "stage",
                    "cores",
                    "shares with",
                    "load",
                    "capacity",
                    "headroom",
                    "unit"
                ],
                rows
            )
        );
        let split = &plan.split;
        println!(
            "core split: sigverify {}, ved {}, ued {}, hash {} (hashing runs on the UED's cores){}",
            split.sigverify,
            split.ved,
            split.ued,
            split.hash,
            if split.shared.is_empty() {
                String::new()
            } else {
                format!("; {}", split.shared)
            }
        );
        println!(
            "bottleneck: {} · max {} tps of this shape · target {} · GPU needed: {}",
            plan.bottleneck,
            rate(plan.max_tps),
            if plan.meets_target { "met" } else { "MISSED" },
            if plan.gpu_needed { "yes" } else { "no" }
        );
        if let Some(measured) = plan.measured_sustained_tps {
            println!(
                "measured: the pipeline sustained {} tps of `tandem bench pipeline`'s workload",
                rate(measured)
            );
        }
        for line in &plan.advice {
            println!("  {line}");
        }
        for line in &plan.notes {
            println!("  note: {line}");
        }
    }
}
