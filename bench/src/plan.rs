//! The capacity planner behind `tandem plan`: from a hardware profile's measured rates to what a
//! machine sustains for a target load, and where it breaks.
//!
//! # The model
//!
//! A target is a shape of load: `tps` user transactions per second of `sigs_per_tx` signatures,
//! each writing `accounts_per_tx` accounts, beside `votes_per_slot` votes every `slot_ms`. The
//! pipeline's stages and what one unit of that load costs each:
//!
//! | stage | load | capacity on `c` cores (from the profile) |
//! |---|---|---|
//! | `sigverify` | `tps × sigs_per_tx` signatures/s | `sigverify.cpu.unique` at `c` threads; the `recurring_pct` share of them at `sigverify.cpu.recurring`, scaled by threads as the unique rate scales |
//! | `ved` | `votes_per_slot × 1000 / slot_ms` votes/s | one core: verifying a recurring signer (`sigverify.cpu.recurring`) then executing the vote (`executor.ved.votes`) |
//! | `ued` | `tps` transactions/s | `executor.ued.transfers` at `c` threads, less two LtHashes (old state and new) of each account a transaction writes beyond a transfer's two (`lthash.cpu.accounts` at `c` threads), in the time its slots leave: `1000 / slot_ms` slots/s at `executor.ued.slots` (its per-slot syncs) |
//!
//! The UED hashes its own accounts on its executor threads (the engine has no separate hashing
//! stage), so hashing is part of `ued`, and the split always gives `hash` 0 cores. Its per-slot
//! cost is measured apart, on the profile's disk, because `executor.ued.transfers` commits one
//! block of thousands of transfers on tmpfs: short slots on a real disk cost the UED far more
//! than that share. A profile without `executor.ued.slots` (written before it was measured) is
//! planned without it, and the plan's advice says so.
//!
//! How the cores are shared follows the engine's placement: the VED has a core of its own from 3
//! cores up, and the rest is split between sigverify and the UED (every split is tried, the best
//! kept); on 2 cores the UED runs on the VED's core in the time the VED leaves it (the engine runs
//! the UED's threads in `SCHED_IDLE`) and sigverify has the other; on 1 core every stage shares
//! it. A stage's capacity on more cores than the profile measured is projected from its last
//! measured efficiency per core (the measured 2-thread rate ÷ twice the 1-thread rate, …), and
//! the plan is then labelled a projection.
//!
//! `max_tps` is the largest `tps` of the target's shape every stage sustains; the `bottleneck` is
//! the stage that saturates first as `tps` rises (the VED when the votes alone exceed it).

use serde::Serialize;

use crate::profile::{Profile, ProfileError, names};

/// The load to plan for.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Target {
    /// User transactions per second.
    pub tps: f64,
    /// Votes per slot (one per VED validator).
    pub votes_per_slot: f64,
    /// The slot time, milliseconds.
    pub slot_ms: f64,
    /// Signatures per user transaction.
    pub sigs_per_tx: f64,
    /// Accounts each user transaction writes (a transfer writes 2).
    pub accounts_per_tx: f64,
    /// Percent of the user signatures by signers seen recently (the signer cache holds their
    /// tables: verified at the recurring rate).
    pub recurring_pct: f64,
}

impl Default for Target {
    /// 10,000 transfers per second beside 1,000 votes per 400 ms slot.
    fn default() -> Self {
        Target {
            tps: 10_000.0,
            votes_per_slot: 1_000.0,
            slot_ms: 400.0,
            sigs_per_tx: 1.0,
            accounts_per_tx: 2.0,
            recurring_pct: 0.0,
        }
    }
}

/// A target that cannot be planned for.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A field of the target is out of range.
    #[error("--{field}: {reason}")]
    Target {
        /// The option.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The profile lacks what the plan needs.
    #[error(transparent)]
    Profile(#[from] ProfileError),
}

/// One stage of a plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StagePlan {
    /// `sigverify`, `ved` or `ued`.
    pub name: &'static str,
    /// What the target asks of it, per second.
    pub load: f64,
    /// What it sustains with its cores (and share of a core), per second.
    pub capacity: f64,
    /// `(capacity − load) ÷ capacity`: the share of its capacity left (negative: over);
    /// `None` (JSON `null`) for a stage left no capacity at all that the target asks work of
    /// (the votes take the whole core it shares).
    pub headroom: Option<f64>,
    /// The unit of `load` and `capacity`.
    pub unit: &'static str,
    /// Cores given to it; a shared core counts for each stage on it.
    pub cores: u32,
    /// The stages it shares its cores with.
    pub shared_with: Vec<&'static str>,
}

/// How the cores are given to the stages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CoreSplit {
    /// Cores verifying user signatures.
    pub sigverify: u32,
    /// Cores of the VED (votes: their signatures and their execution).
    pub ved: u32,
    /// Cores of the UED (execution with its hashing).
    pub ued: u32,
    /// Cores hashing apart from the executors: always 0 (module docs).
    pub hash: u32,
    /// The stages that share a core, in words (empty when none do).
    pub shared: String,
}

/// The plan for one profile and target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    /// The profile's machine kind.
    pub profile: String,
    /// Cores planned for.
    pub cores: u32,
    /// Whether a capacity was projected beyond what the profile measured (other cores than it
    /// had, or more threads than it ran).
    pub projection: bool,
    /// The target.
    pub target: Target,
    /// Each stage at the target.
    pub stages: Vec<StagePlan>,
    /// The stage that saturates first as the load rises.
    pub bottleneck: &'static str,
    /// The most user transactions per second of the target's shape the machine sustains.
    pub max_tps: f64,
    /// Whether the target is met.
    pub meets_target: bool,
    /// The core split that gives `max_tps`.
    pub split: CoreSplit,
    /// Whether a GPU is needed: the target is missed on the CPU, sigverify is the bottleneck, and
    /// the profile's GPU would carry it.
    pub gpu_needed: bool,
    /// The profile's measured sustained pipeline rate, for comparison.
    pub measured_sustained_tps: Option<f64>,
    /// What would meet a missed target, in words (empty when it is met).
    pub advice: Vec<String>,
    /// What the plan could not take into account, in words (a rate the profile lacks).
    pub notes: Vec<String>,
}

/// A rate that scales with threads: the measured points and how to go beyond them.
struct Scaling {
    points: Vec<(u32, f64)>,
}

impl Scaling {
    fn of(profile: &Profile, path: &str, name: &'static str) -> Result<Scaling, ProfileError> {
        let mut points = profile.scaling(name);
        // The plan counts cores. Points past the measuring machine's cores ran on SMT siblings,
        // which add far less than a core (the suite fills each core's first PU first): taken
        // for cores, an 8-core, 16-PU machine's 16-thread point, 1.25× its 8-thread one, made
        // 30 cores worth 30/16 of it instead of 30/8 of the 8-thread point — plans some 37 %
        // low on any SMT machine. Past the cores, the last point within them is projected.
        let cores = profile.machine.cores.max(1);
        points.retain(|&(threads, _)| threads <= cores);
        // A one-thread figure given without a thread count stands for the 1-thread point.
        if !points.iter().any(|&(t, _)| t == 1)
            && let Some(one) = profile.rate(name, None)
        {
            points.insert(0, (1, one.value));
        }
        if !points.iter().any(|&(t, _)| t == 1) {
            return Err(ProfileError::MissingRate {
                path: path.to_owned(),
                name: name.to_owned(),
                threads: " at 1 thread".to_owned(),
            });
        }
        Ok(Scaling { points })
    }

    /// The rate on `threads` threads, and whether it was projected: measured points are used
    /// as they are, between two the line through them, past the last the last efficiency per
    /// thread.
    fn at(&self, threads: u32) -> (f64, bool) {
        if let Some(&(_, v)) = self.points.iter().find(|&&(t, _)| t == threads) {
            return (v, false);
        }
        let below = self.points.iter().rev().find(|&&(t, _)| t < threads);
        let above = self.points.iter().find(|&&(t, _)| t > threads);
        match (below, above) {
            (Some(&(t0, v0)), Some(&(t1, v1))) => {
                let f = f64::from(threads - t0) / f64::from(t1 - t0);
                (v0 + f * (v1 - v0), false)
            }
            (Some(&(last, v)), None) => (v * f64::from(threads) / f64::from(last), true),
            // No point below `threads` ≥ 1 means threads = 0, never asked for.
            _ => (0.0, false),
        }
    }
}

/// The profile's rates the planner uses.
struct Rates {
    sigverify: Scaling,
    ued: Scaling,
    /// Recurring signers verified per second on one thread.
    recurring: f64,
    /// Votes per second on one core: verify then execute.
    ved: f64,
    /// LtHashes per second, by threads.
    lthash: Scaling,
    /// The GPU's verification rate at each batch measured (sorted by batch), where the profile
    /// has a hardware GPU.
    gpu_sigverify: Vec<(u32, f64)>,
    /// The UED's time per slot, whatever the slot holds (`executor.ued.slots`), seconds;
    /// `None` for a profile written before it was measured.
    slot_seconds: Option<f64>,
}

impl Rates {
    fn of(profile: &Profile, path: &str) -> Result<Rates, ProfileError> {
        // A one-thread figure, given with `threads = 1` or without a thread count.
        let one = |name: &'static str| {
            profile
                .rate(name, Some(1))
                .or_else(|| profile.rate(name, None))
                .map(|r| r.value)
                .ok_or_else(|| ProfileError::MissingRate {
                    path: path.to_owned(),
                    name: name.to_owned(),
                    threads: String::new(),
                })
        };
        let recurring = one(names::SIGVERIFY_RECURRING)?;
        let execute = one(names::VED_VOTES)?;
        let gpu_sigverify = if profile.machine.gpu_hardware {
            profile.by_batch(names::SIGVERIFY_GPU)
        } else {
            Vec::new()
        };
        Ok(Rates {
            sigverify: Scaling::of(profile, path, names::SIGVERIFY_UNIQUE)?,
            ued: Scaling::of(profile, path, names::UED_TRANSFERS)?,
            recurring,
            ved: 1.0 / (1.0 / recurring + 1.0 / execute),
            lthash: Scaling::of(profile, path, names::LTHASH)?,
            gpu_sigverify,
            slot_seconds: profile
                .rate(names::UED_SLOTS, None)
                .filter(|r| r.value > 0.0)
                .map(|r| 1.0 / r.value),
        })
    }
}

impl Rates {
    /// The GPU's verification rate for the target's batches: the engine hands the GPU one
    /// block's user signatures at a time, so the best rate measured at a batch no larger than
    /// a block's (`None`: no hardware GPU, or none measured at so small a batch).
    fn gpu_sigverify_for(&self, target: &Target) -> Option<f64> {
        let per_block = target.tps * target.sigs_per_tx * target.slot_ms / 1000.0;
        self.gpu_sigverify
            .iter()
            .filter(|&&(batch, _)| f64::from(batch) <= per_block)
            .map(|&(_, rate)| rate)
            .reduce(f64::max)
    }

    /// User signatures verified per second on `threads` threads, the target's share of them by
    /// recurring signers: the unique rate at `threads` times 1 ÷ ((1 − r) + r × unique ÷
    /// recurring), both at one thread.
    fn sigverify_mix(&self, threads: u32, target: &Target) -> (f64, bool) {
        let (unique, projected) = self.sigverify.at(threads);
        let r = target.recurring_pct / 100.0;
        let (unique_1, _) = self.sigverify.at(1);
        (
            unique / ((1.0 - r) + r * unique_1 / self.recurring),
            projected,
        )
    }
}

/// Where the cores go: each group of stages shares its cores.
#[derive(Clone, Copy, Debug)]
enum Layout {
    /// One core for everything.
    OneCore,
    /// The VED and the UED on one core, sigverify on the other.
    TwoCores,
    /// The VED alone on a core, `sigverify` cores verifying, the rest the UED's.
    Apart { sigverify: u32, ued: u32 },
}

impl Layout {
    fn all(cores: u32) -> Vec<Layout> {
        match cores {
            0 | 1 => vec![Layout::OneCore],
            2 => vec![Layout::TwoCores],
            n => (1..n - 1)
                .map(|s| Layout::Apart {
                    sigverify: s,
                    ued: n - 1 - s,
                })
                .collect(),
        }
    }

    /// The stages `stage` shares its cores with.
    fn shared_with(self, stage: &'static str) -> Vec<&'static str> {
        let groups: &[&[&'static str]] = match self {
            Layout::OneCore => &[&["sigverify", "ved", "ued"]],
            Layout::TwoCores => &[&["ved", "ued"]],
            Layout::Apart { .. } => &[],
        };
        groups
            .iter()
            .find(|group| group.contains(&stage))
            .map(|group| group.iter().copied().filter(|&s| s != stage).collect())
            .unwrap_or_default()
    }

    fn split(self) -> CoreSplit {
        let (sigverify, ved, ued, shared) = match self {
            Layout::OneCore => (1, 1, 1, "sigverify, ved and ued share the one core"),
            Layout::TwoCores => (1, 1, 1, "ued runs on the ved's core, in the time it leaves"),
            Layout::Apart { sigverify, ued } => (sigverify, 1, ued, ""),
        };
        CoreSplit {
            sigverify,
            ved,
            ued,
            hash: 0,
            shared: shared.to_owned(),
        }
    }
}

/// One layout evaluated.
struct Evaluated {
    layout: Layout,
    max_tps: f64,
    bottleneck: &'static str,
    projected: bool,
    stages: Vec<StagePlan>,
}

/// `cores` as a count the planner takes: 1 ..= [`MAX_CORES`] (a wider number, as a command
/// line gives it, is said as given).
pub fn check_cores(cores: u64) -> Result<u32, PlanError> {
    match u32::try_from(cores) {
        Ok(n) if (1..=MAX_CORES).contains(&n) => Ok(n),
        _ => Err(PlanError::Target {
            field: "cores",
            reason: format!("{cores} is out of range (1 ..= {MAX_CORES})"),
        }),
    }
}

/// Makes the plan of `target` on `cores` cores (the profile's own when `None`) from `profile`,
/// read from `path` (named in errors).
pub fn plan(
    profile: &Profile,
    path: &str,
    target: &Target,
    cores: Option<u32>,
) -> Result<Plan, PlanError> {
    check_target(target)?;
    let rates = Rates::of(profile, path)?;
    let cores = check_cores(cores.unwrap_or(profile.machine.cores).into())?;
    let best = best_layout(&rates, target, cores, &|c| rates.sigverify_mix(c, target));
    let projection = cores != profile.machine.cores || best.projected;
    // (An overloaded VED sustains no user transactions: a target of none is not met either.)
    let meets_target = best.max_tps >= target.tps && best.bottleneck != "ved";
    let mut notes = Vec::new();
    if rates.slot_seconds.is_none() {
        notes.push(format!(
            "the profile has no `{}`: the UED's per-slot cost is not charged, so short slots \
             are planned too high (`tandem bench` measures it since this rate was added)",
            names::UED_SLOTS
        ));
    }
    let mut advice = Vec::new();
    let mut gpu_needed = false;
    if !meets_target {
        if best.max_tps > 0.0 {
            advice.push(format!(
                "the target is {} beyond what this machine sustains ({:.0} tps of this shape)",
                percent((target.tps / best.max_tps - 1.0) * 100.0),
                best.max_tps
            ));
        } else {
            advice.push("this machine sustains none of this shape".to_owned());
        }
        if best.bottleneck == "ved" {
            advice.push(
                "the votes alone exceed the VED's core: a faster core, or fewer votes per slot"
                    .to_owned(),
            );
        } else {
            if let Some(gpu) = rates.gpu_sigverify_for(target)
                && best.bottleneck == "sigverify"
            {
                let with_gpu = best_layout(&rates, target, cores, &|_| (gpu, false));
                if with_gpu.max_tps >= target.tps {
                    gpu_needed = true;
                    advice.push(format!(
                        "the GPU verifying the user signatures carries it ({:.0} tps)",
                        with_gpu.max_tps
                    ));
                }
            }
            match cores_needed(&rates, target, cores) {
                Some(n) => advice.push(format!(
                    "{n} cores would meet it (projected from the profile's scaling)"
                )),
                None => advice.push(
                    "no number of cores up to 1,024 meets it on this CPU (projected)".to_owned(),
                ),
            }
        }
    }
    Ok(Plan {
        profile: profile.machine.kind.clone(),
        cores,
        projection,
        target: *target,
        stages: best.stages,
        bottleneck: best.bottleneck,
        max_tps: best.max_tps,
        meets_target,
        split: best.layout.split(),
        gpu_needed,
        measured_sustained_tps: profile.pipeline.as_ref().map(|p| p.sustained_tps),
        advice,
        notes,
    })
}

/// The slot times `tandem plan --slot-ms` takes, in milliseconds: a millisecond to an hour (a
/// slot of 1e-300 ms planned a vote load of 306 digits, one of 1e300 ms a target line of 300).
pub const SLOT_MS_RANGE: std::ops::RangeInclusive<f64> = 1.0..=3.6e6;

/// `p` percent for people: whole where it is 1 or more, else to its first significant digit
/// (a target 0.001 % past the machine read "0 % beyond", a headroom of -0.001 % "-0 %").
pub fn percent(p: f64) -> String {
    let p = p + 0.0; // -0.0 is 0
    let digits = if p == 0.0 || p.abs() >= 1.0 {
        0
    } else {
        (-p.abs().log10().floor()).min(6.0) as usize
    };
    format!("{p:.digits$} %")
}

/// The most cores a plan is made for (every split of them is tried).
pub const MAX_CORES: u32 = 1024;

/// Sigverify's capacity on `c` cores, and whether it is projected.
type SigverifyCapacity<'a> = &'a dyn Fn(u32) -> (f64, bool);

/// The most a target asks, per field: past any validator's load (a trillion transactions a
/// second, a billion votes a slot) or any transaction (1,232 bytes hold 19 signatures and 38
/// keys; a few times that leaves room for other formats), so that a mistyped exponent is
/// refused by name rather than planned as numbers of 300 digits.
const TARGET_MAX: [(&str, f64); 5] = [
    ("tps", 1e12),
    ("votes-per-slot", 1e9),
    ("sigs-per-tx", 64.0),
    ("accounts-per-tx", 256.0),
    ("recurring-pct", 100.0),
];

fn check_target(target: &Target) -> Result<(), PlanError> {
    // (field, value, the least it may be, whether that least is allowed)
    let fields: [(&'static str, f64, f64, bool); 6] = [
        ("tps", target.tps, 0.0, true),
        ("votes-per-slot", target.votes_per_slot, 0.0, true),
        // (Any slot above 0: `bench validate` asks for slots of a fraction of a millisecond;
        // the `--slot-ms` flag has its own range, `SLOT_MS_RANGE`.)
        ("slot-ms", target.slot_ms, 0.0, false),
        ("sigs-per-tx", target.sigs_per_tx, 1.0, true),
        ("accounts-per-tx", target.accounts_per_tx, 1.0, true),
        ("recurring-pct", target.recurring_pct, 0.0, true),
    ];
    // (Large and small numbers as 1e300 and 1e-300, not as 300 digits.)
    let number = crate::profile::compact;
    for (field, value, ..) in fields {
        if let Some(&(_, max)) = TARGET_MAX.iter().find(|(f, _)| *f == field)
            && value > max
        {
            return Err(PlanError::Target {
                field,
                reason: format!("{} is more than {}", number(value), number(max)),
            });
        }
    }
    for (field, value, min, min_allowed) in fields {
        let in_range = if min_allowed {
            value >= min
        } else {
            value > min
        };
        if !value.is_finite() || !in_range {
            let bound = if min_allowed { "at least" } else { "more than" };
            return Err(PlanError::Target {
                field,
                reason: format!("{} is out of range ({bound} {min})", number(value)),
            });
        }
    }
    // Bounded fields can still make an infinite load (votes in slots of 1e-300 ms): the plan
    // would print `inf` and write `null`.
    if !(target.votes_per_slot * 1000.0 / target.slot_ms).is_finite() {
        return Err(PlanError::Target {
            field: "slot-ms",
            reason: format!(
                "{:e} makes the votes of a slot a load past any number (an infinite one)",
                target.slot_ms
            ),
        });
    }
    Ok(())
}

/// The fewest cores (above `cores`, up to 1,024) on which the target is met.
fn cores_needed(rates: &Rates, target: &Target, cores: u32) -> Option<u32> {
    (cores + 1..=MAX_CORES).find(|&n| {
        let best = best_layout(rates, target, n, &|c| rates.sigverify_mix(c, target));
        best.max_tps >= target.tps
    })
}

/// The layout of `cores` with the highest `max_tps`.
fn best_layout(
    rates: &Rates,
    target: &Target,
    cores: u32,
    sigverify: SigverifyCapacity<'_>,
) -> Evaluated {
    Layout::all(cores)
        .into_iter()
        .map(|layout| evaluate(rates, target, layout, sigverify))
        .reduce(|a, b| if b.max_tps > a.max_tps { b } else { a })
        .expect("every core count has a layout")
}

/// The stages, `max_tps` and bottleneck of one layout.
fn evaluate(
    rates: &Rates,
    target: &Target,
    layout: Layout,
    sigverify: SigverifyCapacity<'_>,
) -> Evaluated {
    let votes = target.votes_per_slot * 1000.0 / target.slot_ms;
    // One user transaction's UED time on `threads` threads: the transfer as measured there,
    // plus two LtHashes (its old state out, its new one in) of every account written beyond
    // a transfer's two, which the engine hashes over the UED's threads at the LtHash rate
    // measured on that many (or projected as the UED's rate is).
    let ued_per_core = |threads: u32| {
        let (rate, projected) = rates.ued.at(threads);
        let extra = (target.accounts_per_tx - 2.0).max(0.0);
        let (lthash, lthash_projected) = rates.lthash.at(threads);
        let per_tx = 1.0 / rate + 2.0 * extra / lthash;
        (1.0 / per_tx, projected || (extra > 0.0 && lthash_projected))
    };
    let k = target.sigs_per_tx;
    let ved_share = votes / rates.ved; // of one core
    let left = (1.0 - ved_share).max(0.0); // of the VED's core
    // The UED's per-slot work (its syncs) runs on its thread whatever the slot holds: that
    // share of its time is gone before any transaction.
    let slot_share = rates.slot_seconds.unwrap_or(0.0) * 1000.0 / target.slot_ms;
    // Each stage's capacity in its own unit (sigverify, ued), whether projected, and the tps
    // each allows.
    let (sig_cap, ued_cap, projected, tps_by_stage) = match layout {
        Layout::OneCore => {
            let ((sig1, p1), (ued1, p2)) = (sigverify(1), ued_per_core(1));
            // Every stage on one core: k/sig1 + 1/ued1 seconds per tps unit, in the time the
            // votes and the UED's slots leave. The stages saturate together; the one named is
            // the one that takes the larger share of the core (the UED's per-slot time is its).
            let tps = (left - slot_share).max(0.0) / (k / sig1 + 1.0 / ued1);
            let sigverify_share = tps * k / sig1;
            let ued_share = tps / ued1 + slot_share;
            let by_stage = if ued_share > sigverify_share {
                [("ued", tps), ("sigverify", tps)]
            } else {
                [("sigverify", tps), ("ued", tps)]
            };
            (tps * k, tps, p1 || p2, by_stage)
        }
        Layout::TwoCores => {
            let ((sig, p1), (ued1, p2)) = (sigverify(1), ued_per_core(1));
            let ued = ued1 * (left - slot_share).max(0.0);
            (sig, ued, p1 || p2, [("sigverify", sig / k), ("ued", ued)])
        }
        Layout::Apart {
            sigverify: s,
            ued: u,
        } => {
            let ((sig, p1), (ued, p2)) = (sigverify(s), ued_per_core(u));
            let ued = ued * (1.0 - slot_share).max(0.0);
            (sig, ued, p1 || p2, [("sigverify", sig / k), ("ued", ued)])
        }
    };
    let (mut bottleneck, mut max_tps) = tps_by_stage
        .into_iter()
        .reduce(|a, b| if b.1 < a.1 { b } else { a })
        .expect("two stages");
    if votes > rates.ved {
        (bottleneck, max_tps) = ("ved", 0.0);
    }
    let split = layout.split();
    let stage =
        |name, load: f64, capacity: f64, unit, cores, shared_with: Vec<&'static str>| StagePlan {
            name,
            load,
            capacity,
            headroom: if capacity > 0.0 {
                Some((capacity - load) / capacity)
            } else if load > 0.0 {
                None
            } else {
                Some(0.0)
            },
            unit,
            cores,
            shared_with,
        };
    // In the shared layouts a stage's capacity is what it gets at the target's load of the
    // others; at one core that is the whole core's budget spread in the target's proportions.
    let stages = vec![
        stage(
            "sigverify",
            target.tps * k,
            sig_cap,
            "signatures/s",
            split.sigverify,
            layout.shared_with("sigverify"),
        ),
        stage(
            "ved",
            votes,
            rates.ved,
            "votes/s",
            split.ved,
            layout.shared_with("ved"),
        ),
        stage(
            "ued",
            target.tps,
            ued_cap,
            "transactions/s",
            split.ued,
            layout.shared_with("ued"),
        ),
    ];
    Evaluated {
        layout,
        max_tps,
        bottleneck,
        projected,
        stages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Rate;
    use crate::profile::testing::{profile, rate};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-6 * b.abs().max(1.0)
    }

    #[test]
    fn percentages_keep_their_first_significant_digit() {
        assert_eq!(percent(26.4), "26 %");
        assert_eq!(percent(-0.0011), "-0.001 %");
        assert_eq!(percent(0.5), "0.5 %");
        assert_eq!(percent(-0.0), "0 %");
        assert_eq!(percent(0.0), "0 %");
    }

    #[test]
    fn points_on_smt_siblings_are_not_taken_for_cores() {
        // Two cores, four PUs: the 4-thread point ran two threads on SMT siblings.
        let mut p = profile(2);
        p.machine.pus = 4;
        p.rates
            .push(rate(names::SIGVERIFY_UNIQUE, Some(4), 45_000.0));
        let sigverify = Scaling::of(&p, "p", names::SIGVERIFY_UNIQUE).unwrap();
        assert_eq!(sigverify.at(2), (36_000.0, false));
        // Four and eight cores: the 2-core point's efficiency per core, projected (the SMT
        // point made them 45,000 measured and 90,000).
        assert_eq!(sigverify.at(4), (72_000.0, true));
        assert_eq!(sigverify.at(8), (144_000.0, true));
        // Without SMT the same point is four cores' own.
        p.machine.cores = 4;
        let four_cores = Scaling::of(&p, "p", names::SIGVERIFY_UNIQUE).unwrap();
        assert_eq!(four_cores.at(4), (45_000.0, false));
    }

    #[test]
    fn loads_capacities_and_the_bottleneck_on_four_cores() {
        // 1,000 votes per 400 ms = 2,500 votes/s; 10,000 tps of one signature.
        let plan = plan(&profile(4), "p", &Target::default(), None).unwrap();
        assert!(!plan.projection);
        // Splits of the 3 cores beside the VED: sigverify 1 + ued 2 → min(20,000, 180,000);
        // sigverify 2 + ued 1 → min(36,000, 100,000) = 36,000: the best.
        assert_eq!(
            (plan.split.sigverify, plan.split.ved, plan.split.ued),
            (2, 1, 1)
        );
        assert!(close(plan.max_tps, 36_000.0), "{}", plan.max_tps);
        assert_eq!(plan.bottleneck, "sigverify");
        let sig = &plan.stages[0];
        assert_eq!((sig.name, sig.load), ("sigverify", 10_000.0));
        assert!(close(sig.capacity, 36_000.0));
        assert!(close(sig.headroom.unwrap(), 26_000.0 / 36_000.0));
        let ved = &plan.stages[1];
        assert!(close(ved.load, 2_500.0) && close(ved.capacity, 40_000.0));
        assert!(plan.meets_target && plan.advice.is_empty() && !plan.gpu_needed);
    }

    #[test]
    fn two_cores_put_the_ued_in_the_time_the_ved_leaves() {
        let plan = plan(&profile(2), "p", &Target::default(), None).unwrap();
        // The VED takes 2,500 / 40,000 of its core; the UED gets the rest: 93,750 tps.
        let ued = &plan.stages[2];
        assert!(close(ued.capacity, 100_000.0 * (1.0 - 2_500.0 / 40_000.0)));
        assert_eq!(ued.shared_with, ["ved"]);
        assert!(close(plan.max_tps, 20_000.0) && plan.bottleneck == "sigverify");
    }

    #[test]
    fn the_ueds_slots_take_their_share_of_its_time_first() {
        // 100 slots/s measured (10 ms each); 400 ms slots are 2.5 slots/s: 2.5 % of the UED's
        // time, then 10 % at 100 ms slots.
        let with_slots = |cores| {
            let mut p = profile(cores);
            p.rates.push(rate(names::UED_SLOTS, None, 100.0));
            p
        };
        let without = plan(&profile(2), "p", &Target::default(), None).unwrap();
        assert!(
            without.notes.len() == 1 && without.notes[0].contains(names::UED_SLOTS),
            "{:?}",
            without.notes
        );
        let two = plan(&with_slots(2), "p", &Target::default(), None).unwrap();
        assert!(two.notes.is_empty());
        let left = 1.0 - 2_500.0 / 40_000.0;
        assert!(close(two.stages[2].capacity, 100_000.0 * (left - 0.025)));
        let short = Target {
            slot_ms: 100.0,
            votes_per_slot: 250.0, // the same 2,500 votes/s
            ..Target::default()
        };
        let two = plan(&with_slots(2), "p", &short, None).unwrap();
        assert!(close(two.stages[2].capacity, 100_000.0 * (left - 0.1)));
        // Apart (4 cores: 1 verifying, 2 for the UED): its threads' rate less the share.
        let four = plan(&with_slots(4), "p", &short, None).unwrap();
        let ued = &four.stages[2];
        let rate = if ued.cores == 2 { 180_000.0 } else { 100_000.0 };
        assert!(close(ued.capacity, rate * 0.9), "{}", ued.capacity);
        // One core: the slots' share leaves the core before the per-transaction work.
        let one = plan(&with_slots(1), "p", &short, None).unwrap();
        let per_tps = 1.0 / 20_000.0 + 1.0 / 100_000.0;
        assert!(close(one.max_tps, (1.0 - 1.0 / 16.0 - 0.1) / per_tps));
    }

    #[test]
    fn one_core_shares_its_time() {
        let plan = plan(&profile(1), "p", &Target::default(), None).unwrap();
        // (1 − 1/16) ÷ (1/20,000 + 1/100,000) = 15,625.
        assert!(close(plan.max_tps, 15_625.0), "{}", plan.max_tps);
    }

    #[test]
    fn more_cores_than_measured_are_a_projection() {
        let plan = plan(&profile(4), "p", &Target::default(), Some(8)).unwrap();
        assert!(plan.projection);
        // 8 cores: the VED's, then s + u = 7. sigverify past its 2 measured threads: 18,000 per
        // thread (the 2-thread efficiency). s = 5, u = 2: min(90,000, 180,000) = 90,000;
        // s = 6, u = 1: min(108,000, 100,000) = 100,000, the best.
        assert!(close(plan.max_tps, 100_000.0), "{}", plan.max_tps);
        assert_eq!((plan.split.sigverify, plan.split.ued), (6, 1));
        assert_eq!(plan.bottleneck, "ued");
    }

    #[test]
    fn a_missed_target_says_by_how_much_and_what_would_meet_it() {
        let target = Target {
            tps: 50_000.0,
            ..Target::default()
        };
        let plan = plan(&profile(4), "p", &target, None).unwrap();
        assert!(!plan.meets_target);
        assert!(plan.advice[0].contains("39 % beyond"), "{:?}", plan.advice);
        // 5 cores: s = 3 (54,000), u = 1 (100,000): 54,000 ≥ 50,000.
        assert!(plan.advice[1].starts_with("5 cores"), "{:?}", plan.advice);
    }

    #[test]
    fn a_hardware_gpu_that_carries_a_missed_target_is_needed() {
        let mut p = profile(4);
        let target = Target {
            tps: 60_000.0,
            ..Target::default()
        };
        // No GPU: missed (36,000 on the CPU), and no GPU to name.
        let cpu = plan(&p, "p", &target, None).unwrap();
        assert!(!cpu.meets_target && !cpu.gpu_needed);
        // A hardware GPU verifying 80,000/s at a batch of 16,384: a block of the target holds
        // 24,000 user signatures, so sigverify is carried, and the UED (2 cores beside the VED
        // and the GPU's feeder: 180,000/s) is not the limit.
        p.machine.gpu_hardware = true;
        for (batch, value) in [(1_024, 30_000.0), (16_384, 80_000.0), (262_144, 900_000.0)] {
            p.rates.push(Rate {
                batch: Some(batch),
                ..rate(names::SIGVERIFY_GPU, None, value)
            });
        }
        let gpu = plan(&p, "p", &target, None).unwrap();
        assert!(gpu.gpu_needed, "{:?}", gpu.advice);
        assert!(gpu.advice.iter().any(|a| a.contains("the GPU")));
        // Its rate at batches larger than a block's is not what the engine gets: at 100 ms
        // slots a block holds 6,000 signatures, and 30,000/s at 1,024 carries nothing.
        let short_slots = Target {
            slot_ms: 100.0,
            votes_per_slot: 250.0,
            ..target
        };
        let gpu = plan(&p, "p", &short_slots, None).unwrap();
        assert!(!gpu.gpu_needed, "{:?}", gpu.advice);
        // A software GPU never counts.
        p.machine.gpu_hardware = false;
        assert!(!plan(&p, "p", &target, None).unwrap().gpu_needed);
    }

    #[test]
    fn too_many_votes_make_the_ved_the_bottleneck() {
        let target = Target {
            votes_per_slot: 20_000.0, // 50,000 votes/s > 40,000
            ..Target::default()
        };
        let plan = plan(&profile(4), "p", &target, None).unwrap();
        assert_eq!((plan.bottleneck, plan.max_tps), ("ved", 0.0));
        assert_eq!(plan.advice[0], "this machine sustains none of this shape");
        assert!(plan.advice[1].contains("votes alone"));
        // Votes alone (no user transactions asked) are not met either.
        let votes_only = Target { tps: 0.0, ..target };
        let two = plan_on(2, &votes_only);
        assert!(!two.meets_target && two.bottleneck == "ved", "{two:?}");
        // On two cores the UED, on the VED's core, is left nothing: no headroom to speak of,
        // not an infinity (JSON has none: it wrote null unannounced).
        let two = plan_on(2, &target);
        assert_eq!(two.stages[2].capacity, 0.0);
        assert_eq!(two.stages[2].headroom, None);
        let json = serde_json::to_value(&two).unwrap();
        assert!(json["stages"][2]["headroom"].is_null());
        assert!(json["stages"][0]["headroom"].is_number());
    }

    fn plan_on(cores: u32, target: &Target) -> Plan {
        plan(&profile(cores), "p", target, None).unwrap()
    }

    #[test]
    fn on_one_core_the_bottleneck_is_the_stage_that_takes_more_of_it() {
        // Transfers: a signature costs 1/20,000 s, the UED's share 1/100,000: sigverify.
        assert_eq!(plan_on(1, &Target::default()).bottleneck, "sigverify");
        // 34 accounts written: 32 LtHashes more, 1/100,000 + 32/400,000 s > 1/20,000 s.
        let wide = Target {
            accounts_per_tx: 34.0,
            ..Target::default()
        };
        assert_eq!(plan_on(1, &wide).bottleneck, "ued");
    }

    #[test]
    fn the_cores_that_would_meet_a_target_are_planned_as_the_target_is() {
        // With recurring signers sigverify goes further per core; the advice must count them
        // as the plan does, or it asks for more cores than a plan on them needs.
        for recurring_pct in [0.0, 50.0, 90.0] {
            let target = Target {
                tps: 150_000.0,
                recurring_pct,
                ..Target::default()
            };
            let missed = plan_on(4, &target);
            assert!(!missed.meets_target);
            let advised = missed
                .advice
                .iter()
                .find_map(|a| {
                    a.split(" cores would")
                        .next()
                        .filter(|_| a.contains("cores would"))
                })
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or_else(|| panic!("no core count in {:?}", missed.advice));
            let on = |n| plan(&profile(4), "p", &target, Some(n)).unwrap();
            assert!(
                on(advised).meets_target,
                "{recurring_pct} %: {advised} cores"
            );
            assert!(
                !on(advised - 1).meets_target,
                "{recurring_pct} %: {advised} − 1 cores"
            );
        }
    }

    #[test]
    fn accounts_beyond_two_cost_their_lthash() {
        let target = Target {
            accounts_per_tx: 6.0,
            ..Target::default()
        };
        let plan = plan(&profile(4), "p", &target, Some(3)).unwrap();
        // 3 cores: sigverify 1 (20,000), ued 1: 1/(1/100,000 + 2 × 4/400,000) = 33,333.
        assert!(close(plan.stages[2].capacity, 100_000.0 / 3.0), "{plan:?}");
        assert!(close(plan.max_tps, 20_000.0));
        // 5 cores, the UED on 2 threads (180,000 transfers/s) hashing over both:
        // 1/(1/180,000 + 2 × 4/(2 × 400,000)) = 64,286.
        let plan = super::plan(&profile(4), "p", &target, Some(5)).unwrap();
        assert_eq!(plan.stages[2].cores, 2, "{plan:?}");
        assert!(
            close(plan.stages[2].capacity, 1.0 / (1.0 / 180_000.0 + 1e-5)),
            "{plan:?}"
        );
    }

    #[test]
    fn the_lthash_cost_on_two_threads_is_the_measured_two_thread_rate() {
        let target = Target {
            accounts_per_tx: 6.0,
            ..Target::default()
        };
        // Two threads hash 600,000 accounts/s, not twice the one thread's 400,000.
        let mut two = profile(5);
        two.rates.push(rate(names::LTHASH, Some(2), 600_000.0));
        let plan = plan(&two, "p", &target, None).unwrap();
        // Beside the VED: sigverify 2 (36,000) and the UED 2, every rate measured.
        assert_eq!((plan.split.sigverify, plan.split.ued), (2, 2), "{plan:?}");
        // 1/(1/180,000 + 2 × 4/600,000) = 53,571, where 1-thread scaling gives 64,286.
        assert!(
            close(
                plan.stages[2].capacity,
                1.0 / (1.0 / 180_000.0 + 8.0 / 600_000.0)
            ),
            "{plan:?}"
        );
        assert!(!plan.projection, "{plan:?}");
        // The same machine with the LtHash measured on one thread only: the UED's capacity on
        // two is a projection, and the plan says so.
        let plan = super::plan(&profile(5), "p", &target, None).unwrap();
        assert_eq!((plan.split.sigverify, plan.split.ued), (2, 2), "{plan:?}");
        assert!(plan.projection, "{plan:?}");
    }

    #[test]
    fn recurring_signers_are_verified_at_their_rate() {
        let target = Target {
            recurring_pct: 50.0,
            ..Target::default()
        };
        let plan = plan(&profile(2), "p", &target, None).unwrap();
        // Half at 20,000/s, half at 50,000/s: 1 / (0.5/20,000 + 0.5/50,000) = 28,571.4.
        assert!(close(
            plan.stages[0].capacity,
            1.0 / (0.5 / 20_000.0 + 0.5 / 50_000.0)
        ));
        let too_many = Target {
            recurring_pct: 101.0,
            ..Target::default()
        };
        assert!(plan_err(&too_many).starts_with("--recurring-pct: 101 is more than 100"));
    }

    fn plan_err(target: &Target) -> String {
        plan(&profile(2), "p", target, None)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_profile_without_a_rate_names_it() {
        let mut p = profile(4);
        p.rates.retain(|r| r.name != names::VED_VOTES);
        let e = plan(&p, "hw.toml", &Target::default(), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "hw.toml: no rate `executor.ved.votes` (measure it with `tandem bench`)"
        );
        let bad = Target {
            slot_ms: 0.0,
            ..Target::default()
        };
        let e = plan(&profile(4), "p", &bad, None).unwrap_err();
        assert_eq!(e.to_string(), "--slot-ms: 0 is out of range (more than 0)");
        let e = plan(&profile(4), "p", &Target::default(), Some(u32::MAX)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--cores: 4294967295 is out of range (1 ..= 1024)"
        );
        let bad = Target {
            sigs_per_tx: 0.5,
            ..Target::default()
        };
        let e = plan(&profile(4), "p", &bad, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--sigs-per-tx: 0.5 is out of range (at least 1)"
        );
        // Past any load or transaction: refused naming the field that is (a huge
        // --accounts-per-tx was refused as "--tps: … makes a load"; a --tps of 1e300 was
        // planned, its advice a percentage of 300 digits).
        for (bad, field) in [
            (
                Target {
                    tps: 1e300,
                    ..Target::default()
                },
                "--tps: 1e300 is more than 1e12",
            ),
            (
                Target {
                    accounts_per_tx: 1e308,
                    ..Target::default()
                },
                "--accounts-per-tx: ",
            ),
            (
                Target {
                    sigs_per_tx: 1e305,
                    ..Target::default()
                },
                "--sigs-per-tx: ",
            ),
            (
                Target {
                    recurring_pct: 101.0,
                    ..Target::default()
                },
                "--recurring-pct: 101 is more than 100",
            ),
        ] {
            let e = plan(&profile(4), "p", &bad, None).unwrap_err();
            assert!(e.to_string().starts_with(field), "{e}");
        }
        // Bounded, but an infinite load.
        let bad = Target {
            slot_ms: 1e-310,
            ..Target::default()
        };
        let e = plan(&profile(4), "p", &bad, None).unwrap_err();
        assert!(e.to_string().starts_with("--slot-ms: "), "{e}");
    }
}
