//! The isolation suite, at a reduced size: time-to-vote against the UED's load.
//!
//! The workload of `tandem bench isolation` ([`crate::isolation`]: a vote by every validator
//! each slot, fed at a leader's pace through the asynchronous engine on the placement plan)
//! runs with several loads of user transfers in every block — 0, 25, 50 and 100 % of the full
//! load (`tandem bench isolation`'s 20,000 a slot; a tenth of it in a quick run) — each load
//! once per round, the order rotating ([`crate::isolation::run_load_sweep`]). Its figures, per
//! load (`ued_tx_per_slot`), are the median over the rounds of each round's p50
//! ([`TIME_TO_VOTE_P50`]) and p99 ([`TIME_TO_VOTE_P99`]) time-to-vote, and per round the full
//! load's over the idle one's ([`LOADED_OVER_IDLE_P50`], [`LOADED_OVER_IDLE_P99`]).

use tandem_engine::runtime::Backend;

use super::{At, Context, Figure, Recorder};
use crate::fixtures::ForgedPayers;
use crate::isolation::{Api, IsolationConfig, IsolationRun, LoadPoint, run_load_sweep};

/// The median time-to-vote of the blocks at one UED load, milliseconds.
pub const TIME_TO_VOTE_P50: &str = "isolation.time_to_vote_p50";
/// Their 99th-percentile time-to-vote, milliseconds.
pub const TIME_TO_VOTE_P99: &str = "isolation.time_to_vote_p99";
/// The full load's median time-to-vote ÷ the idle one's.
pub const LOADED_OVER_IDLE_P50: &str = "isolation.loaded_over_idle_p50";
/// The full load's 99th-percentile time-to-vote ÷ the idle one's.
pub const LOADED_OVER_IDLE_P99: &str = "isolation.loaded_over_idle_p99";

/// The suite's one figure.
pub(crate) fn figures<'a>(ctx: &'a Context<'a>) -> Vec<Figure<'a>> {
    vec![Figure::new(
        "isolation: time-to-vote against UED load",
        move |rec: &mut Recorder, phase: &mut dyn FnMut(&str)| {
            let sizes = ctx.sizes();
            let rounds = sizes.runs as u64;
            let config = IsolationConfig {
                validators: sizes.isolation_validators,
                ued_transfers: sizes.isolation_transfers,
                forged: 0,
                forged_payers: ForgedPayers::Nodes,
                payers: sizes.isolation_payers,
                slots: sizes.isolation_slots * rounds,
                rounds,
                warmup_slots: sizes.isolation_warmup_slots,
                pace_ms: sizes.isolation_pace_ms,
                ued_threads: 1,
                backend: Backend::Cpu,
                placement: Some(ctx.config.placement.clone()),
                api: Api::Rust,
            };
            let loads: Vec<usize> = sizes
                .isolation_load_percents
                .iter()
                .map(|&p| sizes.isolation_transfers * p as usize / 100)
                .collect();
            let points = run_load_sweep(&config, &loads, |p| phase(p))?;
            record(ctx, rec, &config, &points);
            Ok(())
        },
    )]
}

/// Records the sweep's figures.
fn record(ctx: &Context<'_>, rec: &mut Recorder, config: &IsolationConfig, points: &[LoadPoint]) {
    let workload = format!(
        "{} validators voting every slot (all in the VED), a block every {} ms through the asynchronous engine on the CPU backend and the placement plan, 1 UED thread; each load once per round on a fresh engine, the order rotating; {} blocks measured per run after {} of warm-up",
        config.validators,
        config.pace_ms,
        config.slots / config.rounds.max(1),
        config.warmup_slots
    );
    let runs = ctx.median_of();
    let per_round = |point: &LoadPoint, f: fn(&IsolationRun) -> f64| -> Vec<f64> {
        point.rounds.iter().map(f).collect()
    };
    for point in points {
        let load = point.ued_tx_per_slot;
        let how = |q: &str| {
            format!(
                "{q} time-to-vote (a block handed to the engine -> its VED hash) with {load} user transfers in every block ({} payers); {workload}; {runs} (rounds) of each run's nearest-rank {q}",
                config.payers
            )
        };
        let at = At::UedLoad(load as u32);
        rec.rate(
            TIME_TO_VOTE_P50,
            at,
            "ms",
            &per_round(point, |r| r.p50_ms),
            how("median"),
        );
        rec.rate(
            TIME_TO_VOTE_P99,
            at,
            "ms",
            &per_round(point, |r| r.p99_ms),
            how("99th-percentile"),
        );
    }
    let (Some(idle), Some(loaded)) = (
        points.iter().find(|p| p.ued_tx_per_slot == 0),
        points.iter().max_by_key(|p| p.ued_tx_per_slot),
    ) else {
        return;
    };
    if loaded.ued_tx_per_slot == 0 {
        return;
    }
    let ratio = |f: fn(&IsolationRun) -> f64| -> Vec<f64> {
        idle.rounds
            .iter()
            .zip(&loaded.rounds)
            .map(|(i, l)| f(l) / f(i))
            .collect()
    };
    for (name, q, f) in [
        (
            LOADED_OVER_IDLE_P50,
            "median",
            (|r| r.p50_ms) as fn(&IsolationRun) -> f64,
        ),
        (LOADED_OVER_IDLE_P99, "99th-percentile", |r| r.p99_ms),
    ] {
        rec.rate(
            name,
            At::Whole,
            "ratio",
            &ratio(f),
            format!(
                "the {q} time-to-vote with {} user transfers in every block ÷ with none, per round; {workload}; {runs} (rounds)",
                loaded.ued_tx_per_slot
            ),
        );
    }
}
