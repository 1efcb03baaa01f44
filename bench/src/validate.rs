//! Is the planner right? The experiment of issue #13: a plan made from a profile measured on
//! fewer cores predicts the pipeline's sustained rate on this machine, and the stage it names as
//! the bottleneck is the one that saturates first as the offered load rises.
//!
//! 1. The target's shape is read off the ledger: user transactions and votes per block, the
//!    signatures and written accounts of a transfer, and the share of user signatures by signers
//!    seen in an earlier block (the signer cache serves those: the recurring rate).
//! 2. The plan for this machine's cores, from the profile (measured with fewer: a projection),
//!    predicts `max_tps` and the bottleneck. The votes' rate follows the predicted block rate:
//!    the plan is made at the fixed point where the two agree (found by bisection).
//! 3. The pipeline runs the ledger as fast as it takes blocks ([`crate::pipeline`]): the measured
//!    sustained rate, against the prediction (the goal: within ±15 %).
//! 4. The engine runs the ledger again paced at rising shares of the predicted rate, and each
//!    stage's utilisation (busy time ÷ wall time, from the engine's metrics) is read at each
//!    step: the stage that first reaches 90 % (else the busiest at the last step) saturates
//!    first.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde::Serialize;
use tandem_engine::account::Pubkey;
use tandem_engine::genesis::Genesis;
use tandem_engine::ledger::Block;
use tandem_engine::pipeline::{Engine, EngineConfig, EngineHooks, Placement, Topology};
use tandem_engine::runtime::Backend;
use tandem_engine::tx::Transaction;

use crate::fixtures::VoteCluster;
use crate::pipeline::{genesis_voters, run_pipeline};
use crate::plan::{Plan, Target, plan};
use crate::profile::Profile;

/// The engine's stages that carry each planner stage's work.
const STAGE_OF: [(&str, &[&str]); 3] = [
    ("sigverify", &["sigverify-ued"]),
    ("ved", &["sigverify-ved", "ved"]),
    ("ued", &["ued"]),
];

/// A utilisation at which a stage counts as saturated.
const SATURATED: f64 = 0.9;

/// One step of the rising load.
#[derive(Clone, Debug, Serialize)]
pub struct LoadStep {
    /// The offered rate, as a share of the predicted `max_tps`.
    pub share: f64,
    /// The offered rate, user transactions per second.
    pub offered_tps: f64,
    /// Each planner stage's utilisation (its engine stages' busy time ÷ wall time).
    pub utilisation: Vec<(String, f64)>,
}

/// The experiment's result.
#[derive(Clone, Debug, Serialize)]
pub struct Validation {
    /// The target read off the ledger.
    pub target: Target,
    /// The plan for this machine from the profile.
    pub plan: Plan,
    /// The pipeline's measured sustained rate (user transactions per second).
    pub measured_tps: f64,
    /// `measured ÷ predicted − 1`.
    pub error: f64,
    /// Whether the prediction is within ±15 %.
    pub within_15_pct: bool,
    /// The rising load.
    pub steps: Vec<LoadStep>,
    /// The stage that saturated first.
    pub saturated_first: String,
    /// Whether it is the plan's bottleneck.
    pub bottleneck_agrees: bool,
}

/// The experiment's default ledger: `slots` blocks of [`VoteCluster`] — a vote by each of 100
/// validators and `transfers` user transfers from 1,000 payers, each payer in turn — so that the
/// user signers recur as the profile's `sigverify.cpu.recurring` figure's 1,000 voters do (the
/// signer cache holds 1,024): the rate the plan takes for them is the rate they run at. (`tandem
/// run`'s default workload has 8 users, whose tables stay in the CPU's caches: a recurring rate
/// half again as fast as a validator with many users sees.)
pub fn validation_ledger(slots: u64, transfers: usize) -> Result<(Genesis, Vec<Block>), String> {
    const VALIDATORS: usize = 100;
    const PAYERS: usize = 1_000;
    let cluster = VoteCluster::new(VALIDATORS, PAYERS);
    let payers: Vec<_> = (0..PAYERS).map(|i| VoteCluster::key("user", i)).collect();
    let mut blocks = cluster.vote_blocks(slots)?;
    for block in &mut blocks {
        let slot = block.header.slot;
        block
            .transactions
            .extend(cluster.transfers(&payers, slot, transfers));
    }
    Ok((cluster.genesis, blocks))
}

/// The target's shape read off `blocks` (module docs, step 1), and the user transactions per
/// block.
pub fn target_of(genesis: &Genesis, blocks: &[Block]) -> Result<(Target, f64), String> {
    let voters = genesis_voters(genesis)?;
    let (mut users, mut votes, mut signatures, mut recurring) = (0_u64, 0_u64, 0_u64, 0_u64);
    let mut written = 0_u64;
    let mut seen: HashSet<Pubkey> = HashSet::new();
    for block in blocks {
        let mut fresh = Vec::new();
        for wire in &block.transactions {
            let Ok(tx) = Transaction::parse(wire) else {
                continue;
            };
            let Ok(&payer) = tx.message().fee_payer() else {
                continue;
            };
            if voters.contains(&payer) {
                votes += 1;
                continue;
            }
            users += 1;
            let keys = tx.message().account_keys();
            written += (0..keys.len())
                .filter(|&i| tx.message().is_writable(i))
                .count() as u64;
            let signers = tx.signatures().len().min(keys.len());
            signatures += signers as u64;
            for key in &keys[..signers] {
                if seen.contains(key) {
                    recurring += 1;
                } else {
                    fresh.push(*key);
                }
            }
        }
        seen.extend(fresh);
    }
    if users == 0 {
        return Err("the ledger has no user transactions".into());
    }
    let per_block = |n: u64| n as f64 / blocks.len() as f64;
    let target = Target {
        tps: 0.0, // set from the plan
        votes_per_slot: per_block(votes),
        slot_ms: 400.0, // set from the plan
        sigs_per_tx: signatures as f64 / users as f64,
        accounts_per_tx: written as f64 / users as f64,
        recurring_pct: 100.0 * recurring as f64 / signatures as f64,
    };
    Ok((target, per_block(users)))
}

/// Runs the experiment (module docs) on this machine with `placement` and `ued_threads`.
pub fn validate(
    profile: &Profile,
    profile_path: &str,
    genesis: &Genesis,
    blocks: &[Block],
    machine: Option<(&Topology, Placement)>,
    ued_threads: usize,
    mut progress: impl FnMut(&str),
) -> Result<Validation, String> {
    let cores = machine
        .as_ref()
        .map_or(1, |(topology, p)| cores_of(topology, p));
    let placement = machine.map(|(_, p)| p);
    progress("the target's shape and the plan");
    let (target, users_per_block) = target_of(genesis, blocks)?;
    // The votes' rate follows the block rate, so the plan is made at its fixed point: the user
    // rate whose blocks, one a slot, make slots for which the plan predicts that same rate.
    let predicted = fixed_point(&target, users_per_block, |target| {
        plan(profile, profile_path, target, Some(cores)).map_err(|e| e.to_string())
    })?
    .ok_or_else(|| {
        format!(
            "the plan sustains no user transactions of this ledger's shape on {cores} core{} \
             ({} votes and {users_per_block:.0} user transactions a block: the votes take the \
             VED's core at any block rate): a ledger with fewer votes a block can be validated",
            if cores == 1 { "" } else { "s" },
            target.votes_per_slot,
        )
    })?;
    let target = predicted.target;

    progress("the pipeline, as fast as it takes blocks");
    let report = run_pipeline(
        genesis,
        blocks,
        Backend::Cpu,
        ued_threads,
        placement.clone(),
        |_| {},
    )?;
    // The pipeline counts every transaction; the plan, user transactions.
    let user_share = users_per_block * blocks.len() as f64 / report.transactions as f64;
    let measured_tps = report.sustained_tps * user_share;
    let error = measured_tps / predicted.max_tps - 1.0;

    let mut steps = Vec::new();
    for share in [0.5, 0.8, 1.0, 1.2, 1.5] {
        progress(&format!(
            "paced at {:.0} % of the prediction",
            share * 100.0
        ));
        let offered_tps = predicted.max_tps * share;
        let pace = Duration::try_from_secs_f64(users_per_block / offered_tps)
            .map_err(|e| format!("pacing at {offered_tps} tps: {e}"))?;
        let utilisation = paced_utilisation(genesis, blocks, pace, ued_threads, placement.clone())?;
        steps.push(LoadStep {
            share,
            offered_tps,
            utilisation,
        });
    }
    let saturated_first = steps
        .iter()
        .find_map(|step| {
            step.utilisation
                .iter()
                .filter(|(_, u)| *u >= SATURATED)
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(name, _)| name.clone())
        })
        .or_else(|| {
            steps.last().and_then(|step| {
                step.utilisation
                    .iter()
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(name, _)| name.clone())
            })
        })
        .unwrap_or_default();
    Ok(Validation {
        bottleneck_agrees: saturated_first == predicted.bottleneck,
        target,
        measured_tps,
        error,
        within_15_pct: error.abs() <= 0.15,
        steps,
        saturated_first,
        plan: predicted,
    })
}

/// The cores `placement`'s stages run on: what the planner (and `tandem plan`) counts — a core
/// whose SMT siblings are both taken is one core, not two. PUs the topology places in no core
/// count one each.
fn cores_of(topology: &Topology, placement: &Placement) -> u32 {
    let pus: HashSet<usize> = placement
        .stages()
        .iter()
        .flat_map(|s| s.cpus.iter().copied())
        .collect();
    let cores = topology.cores();
    let in_cores = cores
        .iter()
        .filter(|c| c.pus.iter().any(|pu| pus.contains(pu)))
        .count();
    let alone = pus
        .iter()
        .filter(|pu| !cores.iter().any(|c| c.pus.contains(pu)))
        .count();
    (in_cores + alone).max(1) as u32
}

/// The plan at the user rate `tps` whose blocks of `users_per_block`, one a slot, give slots for
/// which `plan` predicts `tps` again; `None` when no rate above zero is such a point (the
/// votes of a block take the VED's core however long the slot). The predicted rate falls as the
/// offered one rises (shorter slots carry more votes a second), so bisection finds it; iterating
/// the plan on its own prediction swings between none and some when the votes weigh.
fn fixed_point(
    target: &Target,
    users_per_block: f64,
    plan: impl Fn(&Target) -> Result<Plan, String>,
) -> Result<Option<Plan>, String> {
    let at = |tps: f64| {
        plan(&Target {
            tps,
            slot_ms: 1000.0 * users_per_block / tps,
            ..*target
        })
    };
    // A rate so low that its slots carry next to no votes a second: the most there is.
    let (mut low, mut high) = (0.0, at(users_per_block / 3600.0)?.max_tps);
    for _ in 0..60 {
        let mid = (low + high) / 2.0;
        if mid <= 0.0 {
            break;
        }
        if at(mid)?.max_tps >= mid {
            low = mid;
        } else {
            high = mid;
        }
    }
    // Below one user transaction a second there is nothing to pace or to measure.
    if low < 1.0 {
        return Ok(None);
    }
    at(low).map(Some)
}

/// Feeds `blocks` one every `pace` and returns each planner stage's utilisation.
fn paced_utilisation(
    genesis: &Genesis,
    blocks: &[Block],
    pace: Duration,
    ued_threads: usize,
    placement: Option<Placement>,
) -> Result<Vec<(String, f64)>, String> {
    let scratch = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let config = EngineConfig {
        backend: Backend::Cpu,
        ued_threads,
        placement,
        ..EngineConfig::default()
    };
    let engine = Engine::open(genesis, scratch.path(), config, EngineHooks::default())
        .map_err(|e| e.to_string())?;
    let before = engine.metrics().snapshot();
    let started = Instant::now();
    for (k, block) in blocks.iter().enumerate() {
        let due = started + pace.mul_f64(k as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        engine.submit(block.clone()).map_err(|e| e.to_string())?;
    }
    let last = blocks.last().map_or(0, |b| b.header.slot);
    let waited = engine
        .wait_hash(
            tandem_engine::account::Domain::Ued,
            last,
            Duration::from_secs(600),
        )
        .map_err(|e| e.to_string())?;
    // Utilisation over a run that did not reach its last slot would be no figure of it.
    if waited.hash().is_none() {
        return Err(format!(
            "the paced run did not execute slot {last} in its UED: {waited:?}"
        ));
    }
    let wall = started.elapsed().as_nanos().max(1) as f64;
    let after = engine.metrics().snapshot();
    engine.finish().map_err(|e| e.to_string())?;
    let busy = |name: &str| {
        let of = |s: &tandem_engine::pipeline::metrics::MetricsSnapshot| {
            s.stages
                .iter()
                .find(|st| st.name == name)
                .map_or(0, |st| st.busy_ns)
        };
        of(&after).saturating_sub(of(&before)) as f64
    };
    Ok(STAGE_OF
        .iter()
        .map(|(stage, engine_stages)| {
            let busy: f64 = engine_stages.iter().map(|s| busy(s)).sum();
            ((*stage).to_owned(), busy / wall)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::names;

    #[test]
    fn votes_that_leave_no_user_rate_are_an_error_not_a_panic() {
        // The one-core profile with a VED that takes two seconds a vote: 100 votes a block
        // leave under one user transaction a second at any block rate (iterating the plan on
        // its own prediction swung between none and some, and paced the ledger at 1/0 s).
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../hwprofiles/kvm-epyc-zen4-1core.toml"
        );
        let mut profile = Profile::load(path).expect("the 1-core profile");
        for rate in &mut profile.rates {
            if rate.name == names::VED_VOTES {
                rate.value = 0.5;
            }
        }
        let (genesis, blocks) = validation_ledger(3, 50).expect("ledger");
        let e = validate(&profile, path, &genesis, &blocks, None, 1, |_| {})
            .expect_err("nothing to validate");
        assert!(e.contains("sustains no user transactions"), "{e}");
    }

    fn machine(pus_per_core: usize) -> Topology {
        Topology::synthetic(tandem_engine::pipeline::SyntheticShape {
            numa_nodes: 1,
            cores_per_node: 2,
            pus_per_core,
            gpu: None,
        })
    }

    #[test]
    fn the_plan_counts_cores_not_their_smt_siblings() {
        // Two cores of two PUs each: the planner's machine has 2 cores, as `tandem plan` says.
        let smt = machine(2);
        assert_eq!(cores_of(&smt, &Placement::plan(&smt, false)), 2);
        let plain = machine(1);
        assert_eq!(cores_of(&plain, &Placement::plan(&plain, false)), 2);
    }

    #[test]
    fn the_target_writes_what_the_ledgers_transactions_write() {
        use tandem_engine::runtime::builtins::system::SystemInstruction::Transfer;
        let (genesis, mut blocks) = validation_ledger(2, 20).expect("ledger");
        let (target, _) = target_of(&genesis, &blocks).expect("a target");
        assert_eq!(
            target.accounts_per_tx, 2.0,
            "transfers write payer and recipient"
        );
        // The same payers, each paying three recipients in one transaction: 4 accounts written.
        let cluster = VoteCluster::new(100, 1_000);
        for block in &mut blocks {
            let recent = cluster.recent_blockhash(block.header.slot);
            let wide: Vec<Vec<u8>> = (0..20u64)
                .map(|i| {
                    let payer = VoteCluster::key("user", i as usize);
                    let from = Pubkey(payer.verifying_key().to_bytes());
                    let mut message = tandem_engine::tx::MessageBuilder::new(from);
                    for k in 0..3u8 {
                        let to = Pubkey([k + 1; 32]);
                        message = message.instruction(
                            tandem_engine::sample::SYSTEM_PROGRAM_ID,
                            &[
                                tandem_engine::tx::AccountMeta::new(from, true),
                                tandem_engine::tx::AccountMeta::new(to, false),
                            ],
                            &Transfer { lamports: 1 }.encode(),
                        );
                    }
                    let message = message.build_legacy(recent).expect("a small message");
                    Transaction::sign(&message, &[&payer]).expect("one signer")
                })
                .collect();
            let users = block.transactions.len() - 20;
            block.transactions.truncate(users);
            block.transactions.extend(wide);
        }
        let (target, _) = target_of(&genesis, &blocks).expect("a target");
        assert_eq!(target.accounts_per_tx, 4.0);
    }
}
