//! The pipeline suite: `tandem bench pipeline` ([`crate::pipeline::run_pipeline`]) once per run
//! on a ledger of `tandem gen`'s workload for the default cluster (votes, transfers, account
//! creations and a few percent of each failure case; generated in memory first), the stages on
//! the placement plan, the CPU backend. Its figures:
//! - the sustained rate, first submit to last commit (`Profile.pipeline.sustained_tps` and
//!   [`SUSTAINED`]), each bulk stage alone and the efficiency, and the efficiency's factor of
//!   sharing the machine ([`EFFICIENCY_BESIDE`]);
//! - from the engine's metrics, the time-to-vote ([`TIME_TO_VOTE_P50`], [`TIME_TO_VOTE_P99`])
//!   and the UED's largest lag behind the VED ([`MAX_UED_LAG`]).

use tandem_engine::genesis::Genesis;
use tandem_engine::pipeline::topology::format_cpus;
use tandem_engine::runtime::Backend;
use tandem_engine::workload::{WorkloadConfig, generate_all};

use super::{At, Context, Figure, Recorder};
use crate::pipeline::{PipelineReport, run_pipeline};
use crate::profile::PipelineFigures;

/// Transactions per second through the engine, as fast as it takes blocks.
pub const SUSTAINED: &str = "pipeline.sustained";
/// The engine's median time-to-vote in that run, milliseconds.
pub const TIME_TO_VOTE_P50: &str = "pipeline.time_to_vote_p50";
/// Its 99th percentile, milliseconds.
pub const TIME_TO_VOTE_P99: &str = "pipeline.time_to_vote_p99";
/// The UED's largest lag behind the VED in that run, slots.
pub const MAX_UED_LAG: &str = "pipeline.max_ued_lag";
/// Sustained ÷ the slowest bulk stage alone.
pub const EFFICIENCY: &str = "pipeline.efficiency";
/// The efficiency's first factor: the slowest stage alone ÷ the same stage beside the other,
/// that one running on its own PUs — what sharing the machine costs, whatever the pipeline.
pub const EFFICIENCY_BESIDE: &str = "pipeline.efficiency_beside";
/// The user transactions' signature verification alone, on the sigverify PUs.
pub const SIGVERIFY_UED_ALONE: &str = "pipeline.sigverify_ued_alone";
/// The runtime's execution alone (signatures verified beforehand), on the UED PUs.
pub const EXECUTOR_ALONE: &str = "pipeline.executor_alone";

/// The suite's one figure.
pub(crate) fn figures<'a>(ctx: &'a Context<'a>) -> Vec<Figure<'a>> {
    vec![Figure::new(
        "pipeline: the engine as fast as it takes blocks",
        move |rec: &mut Recorder, phase: &mut dyn FnMut(&str)| {
            let sizes = ctx.sizes();
            let workload = WorkloadConfig {
                slots: sizes.pipeline_slots,
                transfers: sizes.pipeline_transfers,
                creates: sizes.pipeline_creates,
                ..WorkloadConfig::default()
            };
            phase("generating the ledger");
            let genesis = Genesis::default_cluster();
            let scratch = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
            let (blocks, _) =
                generate_all(&genesis, &workload, scratch.path()).map_err(|e| e.to_string())?;
            let ued_threads = ctx.config.ued_threads();
            let mut reports: Vec<PipelineReport> = Vec::new();
            for run in 1..=sizes.runs {
                phase(&format!("run {run}/{}", sizes.runs));
                reports.push(run_pipeline(
                    &genesis,
                    &blocks,
                    Backend::Cpu,
                    ued_threads,
                    Some(ctx.config.placement.clone()),
                    |_| {},
                )?);
            }
            record(ctx, rec, &reports, &workload, ued_threads);
            Ok(())
        },
    )]
}

/// Records the runs' figures.
fn record(
    ctx: &Context<'_>,
    rec: &mut Recorder,
    reports: &[PipelineReport],
    workload: &WorkloadConfig,
    ued_threads: usize,
) {
    let Some(first) = reports.first() else {
        return;
    };
    let ledger = format!(
        "a ledger of tandem gen's workload for the default cluster ({} slots, {} transactions: every validator's vote, {} transfers and {} account creations a slot, a few percent of each failure case)",
        first.blocks, first.transactions, workload.transfers, workload.creates
    );
    let placement = ctx
        .config
        .placement
        .stages()
        .iter()
        .map(|s| format!("{}={}", s.stage, format_cpus(&s.cpus)))
        .collect::<Vec<_>>()
        .join(" ");
    let engine = format!(
        "the asynchronous engine on the CPU backend, {ued_threads} UED thread{}, stages placed {placement}",
        if ued_threads == 1 { "" } else { "s" }
    );
    let runs = ctx.median_of();
    let of = |f: fn(&PipelineReport) -> Option<f64>| -> Vec<f64> {
        reports.iter().filter_map(f).collect()
    };
    let sustained = of(|r| Some(r.sustained_tps));
    let sustained_how = format!(
        "{ledger} submitted as fast as {engine} takes it, from the first submit to the last commit; {runs}"
    );
    rec.rate(
        SUSTAINED,
        At::Whole,
        "transactions/s",
        &sustained,
        sustained_how.clone(),
    );
    if let Some(spread) = super::median_spread(&sustained) {
        rec.pipeline(PipelineFigures {
            sustained_tps: spread.median,
            how: Some(sustained_how),
        });
    }
    let ttv = |q: &str| {
        format!(
            "{q} time-to-vote (a block handed to the engine -> its VED hash, the engine's histogram) of every block of {ledger} submitted as fast as {engine} takes it; {runs} of each run's {q}"
        )
    };
    rec.rate(
        TIME_TO_VOTE_P50,
        At::Whole,
        "ms",
        &of(|r| r.time_to_vote_p50_ms),
        ttv("median"),
    );
    rec.rate(
        TIME_TO_VOTE_P99,
        At::Whole,
        "ms",
        &of(|r| r.time_to_vote_p99_ms),
        ttv("99th-percentile"),
    );
    rec.rate(
        MAX_UED_LAG,
        At::Whole,
        "slots",
        &of(|r| Some(r.max_ued_lag_slots as f64)),
        format!("the UED's largest lag behind the VED while {engine} ran {ledger} as fast as it took blocks; {runs}"),
    );
    let stage = |name: &'static str| -> Vec<f64> {
        reports
            .iter()
            .filter_map(|r| r.stages.iter().find(|s| s.name == name))
            .map(|s| s.capacity_tps)
            .collect()
    };
    rec.rate(
        SIGVERIFY_UED_ALONE,
        At::Whole,
        "transactions/s",
        &stage("sigverify-ued"),
        format!("the signatures of {ledger}'s user transactions verified block by block on one thread pinned to the sigverify PUs with the UED's signer cache (warm from the engine's run), nothing else running; the ledger's transactions per second; {runs}"),
    );
    rec.rate(
        EXECUTOR_ALONE,
        At::Whole,
        "transactions/s",
        &stage("executor"),
        format!("Runtime::execute_verified of each block of {ledger} (signatures verified beforehand, not timed; both passes, LtHash, hash chain, commit) on one thread pinned to the UED PUs, {ued_threads} UED threads; the ledger's transactions per second; {runs}"),
    );
    rec.rate(
        EFFICIENCY,
        At::Whole,
        "ratio",
        &of(|r| Some(r.efficiency)),
        format!("the sustained rate ÷ the slowest bulk stage alone, per run; {runs}"),
    );
    rec.rate(
        EFFICIENCY_BESIDE,
        At::Whole,
        "ratio",
        &of(|r| r.factors.as_ref().map(|f| f.beside)),
        format!("the slowest bulk stage alone ÷ the same stage timed again beside the other, that one running over and over on its own PUs (the efficiency's first factor: what sharing the machine costs), per run; {runs}"),
    );
}
