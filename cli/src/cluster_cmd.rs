//! `tandem cluster`: N validators in one process over `tandem_engine::cluster::sim`.

use std::path::{Path, PathBuf};

use tandem_engine::cluster::sim::{ClusterConfig, run_cluster};

use crate::output::{progress_bar, table, write_json};

/// What `tandem cluster` was asked.
#[derive(clap::Args, Debug)]
pub struct ClusterArgs {
    /// Validators.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub validators: usize,
    /// Each validator's stake in SOL, comma-separated (default: 10,000 each); above 5,000 SOL a
    /// validator is in the VED.
    #[arg(long, value_name = "A,B,C", value_delimiter = ',')]
    pub stakes: Option<Vec<u64>>,
    /// The last K validators are faulty.
    #[arg(long, value_name = "K")]
    pub nondeterministic: Option<usize>,
    /// The faulty validators by index, comma-separated (instead of --nondeterministic).
    #[arg(long, value_name = "I,J", value_delimiter = ',')]
    pub faulty: Option<Vec<usize>>,
    /// The first slot the faulty validators compute differently.
    #[arg(long, value_name = "S", default_value_t = 5)]
    pub fault_slot: u64,
    /// Slots to run.
    #[arg(long, value_name = "S", default_value_t = 20)]
    pub slots: u64,
    /// User transfers per block.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub transfers: usize,
    /// Write the report as JSON to FILE ("-": standard output, and nothing else).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// The memory a simulated cluster takes per pair of validators (one's store holding the
/// other's vote account, its votes executed), rounded up from the measurements in
/// [`cluster`].
const BYTES_PER_VALIDATOR_PAIR: u64 = 80 << 10;

/// `tandem cluster`; `Ok(true)` when an honest validator halted (exit status 3).
pub fn cluster(args: ClusterArgs) -> Result<bool, String> {
    let quiet = args.json.as_deref() == Some(Path::new("-"));
    // Each validator keeps every validator's vote account and executes every vote: memory
    // grows with the square (measured, 2 slots: 100 validators 1.6 GB peak, 200 4.6 GB, 400
    // 14.6 GB; a Xeon guest, 2026-12-06): 5,000 met the OOM killer.
    let n = args.validators as u64;
    crate::chain_cmd::check_memory(
        "--validators",
        &format!("a cluster of {n} validators"),
        " (each keeps every validator's vote account: ~80 KB per pair of validators, and 8 MB \
         per validator)",
        n.saturating_mul(
            n.saturating_mul(BYTES_PER_VALIDATOR_PAIR)
                .saturating_add(8 << 20),
        ),
    )?;
    let stakes = match args.stakes {
        Some(stakes) if stakes.len() != args.validators => {
            return Err(format!(
                "--stakes gives {} stakes for --validators {}",
                stakes.len(),
                args.validators
            ));
        }
        Some(stakes) => stakes,
        None => vec![10_000; args.validators],
    };
    let faulty = match (args.faulty, args.nondeterministic) {
        (Some(_), Some(_)) => {
            return Err("--faulty and --nondeterministic name the same thing: give one".into());
        }
        (Some(faulty), None) => faulty,
        (None, Some(k)) if k > args.validators => {
            return Err(format!(
                "--nondeterministic {k}: there are {} validators",
                args.validators
            ));
        }
        (None, Some(k)) => (args.validators - k..args.validators).collect(),
        (None, None) => Vec::new(),
    };
    crate::chain_cmd::check_block_fits(
        &format!("--transfers {}", args.transfers),
        (args.transfers as u64).saturating_add(args.validators as u64),
    )?;
    let config = ClusterConfig {
        stakes_sol: stakes,
        faulty,
        fault_slot: args.fault_slot,
        slots: args.slots,
        transfers: args.transfers,
        seed: 1,
    };
    let dir = crate::interrupt::scratch_dir()?;
    let bar = progress_bar(
        quiet,
        args.slots,
        "cluster [{bar:40}] slot {pos}/{len} {elapsed}",
    )?;
    let report = run_cluster(&config, dir.path(), |slot| bar.set_position(slot))?;
    bar.finish_and_clear();
    // The report first: a table that cannot be printed (a reader gone, a full device) loses
    // no report.
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    if !quiet {
        let share = |stake: u64| format!("{:.1} %", 100.0 * stake as f64 / report.ved_stake as f64);
        let rows = report
            .validators
            .iter()
            .map(|v| {
                vec![
                    v.index.to_string(),
                    format!("{} SOL", v.stake / 1_000_000_000),
                    if v.faulty { "yes" } else { "no" }.to_owned(),
                    share(v.ved_agreement),
                    share(v.ued_agreement),
                    v.time_to_vote_p50_us
                        .map_or("-".into(), |us| format!("{:.2} ms", us as f64 / 1e3)),
                    match (v.halted, v.halt_slot) {
                        (false, _) => "no".to_owned(),
                        (true, Some(slot)) => format!("at slot {slot}"),
                        (true, None) => "yes".to_owned(),
                    },
                ]
            })
            .collect();
        println!(
            "{} validators, {} blocks; agreement: the VED stake behind each validator's own hashes \
             of slot {} for the VED, of slot {} (the last the votes reported) for the UED",
            report.validators.len(),
            report.blocks,
            report.last_voted_slot,
            report.last_reported_ued_slot
        );
        println!(
            "{}",
            table(
                &[
                    "validator",
                    "stake",
                    "faulty",
                    "VED agreement",
                    "UED agreement",
                    "time-to-vote p50",
                    "halted",
                ],
                rows
            )
        );
        println!(
            "{}",
            if report.honest_halted {
                "an honest validator halted (exit status 3)"
            } else {
                "no honest validator halted"
            }
        );
    }
    Ok(report.honest_halted)
}
