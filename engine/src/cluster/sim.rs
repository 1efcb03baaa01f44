//! A cluster in one process (`tandem cluster`, issue #11): N validators, each with its own
//! [`Engine`] and store, rotating leaders, votes exchanged as real signed vote transactions
//! inside the blocks, user transfers from a generator — and, optionally, faulty validators whose
//! UED execution is nondeterministic from a given slot on ([`EngineConfig::inject_ued_fault_from`]).
//!
//! Per slot: the leader (slot mod N, skipped while halted) waits until every validator that is
//! not halted has executed the parent in the VED — not the UED, which lags as it will — gathers
//! their votes on it (each carrying that validator's VED hash of the parent and the next UED
//! `(slot, hash)` it has committed and not yet reported), adds user transfers judged
//! by the balances its own UED has committed ([`Engine::account`]) — among them a payer that
//! sweeps its balance and pays again in the same block, which the leader misjudges: that
//! transaction executes as `InsufficientFundsForFee` inside a valid block — and hands the block
//! to every validator. The clock advances 400 ms a block, never more than SPEC §4's
//! second after the parent. The engines judge the votes (SPEC §6): an honest validator halts
//! when a third of the VED stake reports other UED hashes, a faulty one when a third disagrees
//! with its own. After the configured slots, blocks of votes alone follow until every validator
//! still voting has reported the UED of the last one, however far the UEDs lagged.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

use crate::account::{Account, Domain, Mapping, Pubkey};
use crate::genesis::{ClusterParams, Genesis, GenesisValidator};
use crate::ledger::{Block, BlockHeader, Transactions};
use crate::pipeline::{Engine, EngineConfig, EngineHooks};
use crate::runtime::builtins::vote::VoteInstruction;
use crate::runtime::pass::FEE_PER_SIGNATURE;
use crate::sample::{SYSTEM_PROGRAM_ID, SplitMix64, transfer_message, vote_program_id};
use crate::tx::{AccountMeta, MessageBuilder, Transaction};

/// Lamports per SOL.
const SOL: u64 = 1_000_000_000;

/// How long the leader waits for a validator to execute a slot before giving up on the run.
const PATIENCE: Duration = Duration::from_secs(600);

/// What to simulate.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// Each validator's stake, in SOL (a validator above 5,000 SOL starts in the VED).
    pub stakes_sol: Vec<u64>,
    /// The validators (by index) whose UED execution is nondeterministic.
    pub faulty: Vec<usize>,
    /// The first slot the faulty validators compute differently.
    pub fault_slot: u64,
    /// Slots to run.
    pub slots: u64,
    /// User transfers per block.
    pub transfers: usize,
    /// The seed of the user workload.
    pub seed: u64,
}

/// One validator at the end of a run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ValidatorReport {
    /// Its index.
    pub index: usize,
    /// Its stake, in lamports.
    pub stake: u64,
    /// Whether it was made faulty.
    pub faulty: bool,
    /// Whether it halted.
    pub halted: bool,
    /// The first divergent slot its halt named.
    pub halt_slot: Option<u64>,
    /// Its last slot's VED hash (hex).
    pub final_ved_hash: String,
    /// Its last slot's UED hash (hex).
    pub final_ued_hash: String,
    /// The stake behind its VED hash of the last slot voted on, in lamports.
    pub ved_agreement: u64,
    /// The stake behind its UED hash of the last UED slot the votes reported, in lamports.
    pub ued_agreement: u64,
    /// Its time-to-vote median, in microseconds.
    pub time_to_vote_p50_us: Option<u64>,
    /// The largest share of the VED stake, in basis points, that reported a UED hash other than
    /// its own for a slot (its metrics' `max_ued_disagreement_bps`).
    pub max_ued_disagreement_bps: u64,
}

/// A run's outcome.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ClusterReport {
    /// Every validator.
    pub validators: Vec<ValidatorReport>,
    /// Blocks produced (slots whose leader had halted are skipped), the blocks of votes alone
    /// after the configured slots included (they let every UED slot be reported).
    pub blocks: u64,
    /// The VED's total stake, in lamports.
    pub ved_stake: u64,
    /// The last slot voted on by the cluster (the VED agreement column is for it).
    pub last_voted_slot: u64,
    /// The last UED slot the votes reported (the UED agreement column is for it).
    pub last_reported_ued_slot: u64,
    /// Whether any validator not made faulty halted.
    pub honest_halted: bool,
    /// The statuses of every transaction the first validator executed, by name (the user
    /// transfers from payers the leader could not know to be unfunded show as
    /// `InsufficientFundsForFee`).
    pub status_counts: BTreeMap<String, u64>,
}

fn key(kind: &str, i: usize) -> SigningKey {
    generated_key("cluster", kind, i)
}

fn pubkey(key: &SigningKey) -> Pubkey {
    Pubkey(key.verifying_key().to_bytes())
}

fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The signing key a generated cluster labelled `label` gives its `kind` number `i` (`node`,
/// `vote`, `user`): SHA-256 of `tandem:<label>:<kind>` and the number.
pub fn generated_key(label: &str, kind: &str, i: usize) -> SigningKey {
    let seed: [u8; 32] = Sha256::new()
        .chain_update(b"tandem:")
        .chain_update(label.as_bytes())
        .chain_update(b":")
        .chain_update(kind.as_bytes())
        .chain_update((i as u64).to_le_bytes())
        .finalize()
        .into();
    SigningKey::from_bytes(&seed)
}

/// A generated cluster's genesis (simulations and benches): a validator per stake of
/// `stakes_sol` (active; its node funded with 100 SOL for its votes, in the domain its vote
/// account starts in), `users` user accounts of `user_sol` each, keys from
/// [`generated_key`]`(label, …)`, and epochs long enough that no run crosses a boundary.
pub fn generated_genesis(label: &str, stakes_sol: &[u64], users: usize, user_sol: u64) -> Genesis {
    let funded = |pubkey, lamports, mapping| Account {
        pubkey,
        lamports,
        owner: SYSTEM_PROGRAM_ID,
        executable: false,
        data: Vec::new(),
        mapping,
    };
    let mut accounts = Vec::new();
    let mut validators = Vec::new();
    for (i, &stake) in stakes_sol.iter().enumerate() {
        let v = GenesisValidator {
            node: pubkey(&generated_key(label, "node", i)),
            vote_account: pubkey(&generated_key(label, "vote", i)),
            stake: stake * SOL,
            active: true,
        };
        accounts.push(funded(v.node, 100 * SOL, v.mapping()));
        validators.push(v);
    }
    for j in 0..users {
        let user = pubkey(&generated_key(label, "user", j));
        accounts.push(funded(user, user_sol * SOL, Mapping::RwUed));
    }
    let mut h = Sha256::new()
        .chain_update(b"tandem:generated-genesis:")
        .chain_update(label.as_bytes())
        .chain_update((users as u64).to_le_bytes());
    for &stake in stakes_sol {
        h.update(stake.to_le_bytes());
    }
    Genesis {
        cluster: ClusterParams {
            slots_per_epoch: 1 << 20,
            epoch_reward_rate_ppb: 0,
            unix_timestamp_ms: 1_700_000_000_000,
        },
        hash: h.finalize().into(),
        accounts,
        validators,
    }
}

/// Funded users the transfers come from.
const USERS: usize = 16;

/// The cluster's genesis: the validators with their stakes and 16 users of 1,000 SOL.
pub fn genesis(config: &ClusterConfig) -> Genesis {
    generated_genesis("cluster", &config.stakes_sol, USERS, 1_000)
}

struct Validator {
    index: usize,
    node: SigningKey,
    vote_account: Pubkey,
    stake: u64,
    faulty: bool,
    engine: Engine,
}

impl Validator {
    fn wait(&self, domain: Domain, slot: u64) -> Result<[u8; 32], String> {
        self.engine
            .wait_hash(domain, slot, PATIENCE)
            .map_err(|e| format!("validator {}: {e}", self.index))?
            .hash()
            .ok_or_else(|| {
                format!(
                    "validator {} did not execute slot {slot} in the {} within {PATIENCE:?}",
                    self.index,
                    domain.name()
                )
            })
    }

    /// Its vote on `parent` once its VED has executed it, signed by its node, carrying its UED
    /// hash of `ued_slot` when given (a slot its UED has committed).
    fn vote(
        &self,
        parent: u64,
        parent_ms: i64,
        recent: [u8; 32],
        ued_slot: Option<u64>,
    ) -> Result<Vec<u8>, String> {
        let ved_hash = self.wait(Domain::Ved, parent)?;
        let ued = match ued_slot {
            Some(slot) => Some((slot, self.wait(Domain::Ued, slot)?)),
            None => None,
        };
        let node = pubkey(&self.node);
        let ix = VoteInstruction::Vote {
            slot: parent,
            ved_hash,
            ued,
            timestamp_ms: parent_ms,
        }
        .encode();
        let message = MessageBuilder::new(node)
            .instruction(
                vote_program_id(),
                &[
                    AccountMeta::new(self.vote_account, false),
                    AccountMeta::new_readonly(node, true),
                ],
                &ix,
            )
            .build_legacy(recent)
            .map_err(|e| e.to_string())?;
        Transaction::sign(&message, &[&self.node]).map_err(|e| e.to_string())
    }
}

/// Runs the cluster in `dir` (a store per validator beneath it); `progress` is told each slot.
pub fn run_cluster(
    config: &ClusterConfig,
    dir: &Path,
    mut progress: impl FnMut(u64),
) -> Result<ClusterReport, String> {
    let n = config.stakes_sol.len();
    if n == 0 {
        return Err("--validators: a cluster needs at least one validator".into());
    }
    // Lamports, summed: wrapped silently before (18446744074 SOL was 0.29 SOL).
    let stake_lamports = config.stakes_sol.iter().try_fold(0u64, |sum, &sol| {
        (sol >= 1)
            .then(|| sol.checked_mul(SOL))
            .flatten()
            .and_then(|lamports| sum.checked_add(lamports))
    });
    if stake_lamports.is_none() {
        // As the flag is written (`10000,0`), not as a Rust list.
        let written: Vec<String> = config.stakes_sol.iter().map(u64::to_string).collect();
        return Err(format!(
            "--stakes {}: each stake is 1 ..= {} SOL, and all of them together at most that",
            written.join(","),
            u64::MAX / SOL
        ));
    }
    if let Some(&bad) = config.faulty.iter().find(|&&i| i >= n) {
        return Err(format!(
            "--faulty {bad}: there are {n} validators (0 ..= {})",
            n - 1
        ));
    }
    let twice = (1..config.faulty.len()).find(|&i| config.faulty[..i].contains(&config.faulty[i]));
    if let Some(i) = twice {
        return Err(format!(
            "--faulty: validator {} is named twice",
            config.faulty[i]
        ));
    }
    // Faulty validators whose fault comes after the last slot compute as the others do: the
    // table said "faulty yes" beside 100 % agreement.
    if !config.faulty.is_empty() && config.fault_slot > config.slots {
        return Err(format!(
            "--fault-slot {}: after the last slot ({}), so the faulty validators would never \
             compute differently",
            config.fault_slot, config.slots
        ));
    }
    let genesis = genesis(config);
    let ved_stake: u64 = genesis
        .validators
        .iter()
        .filter(|v| v.starts_in_ved())
        .map(|v| v.stake)
        .sum();
    if ved_stake == 0 {
        return Err(
            "no validator starts in the VED: stakes must exceed 5,000 SOL (--stakes is in SOL)"
                .into(),
        );
    }
    let status_counts = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let mut validators = Vec::with_capacity(n);
    for (index, v) in genesis.validators.iter().enumerate() {
        let faulty = config.faulty.contains(&index);
        let config = EngineConfig {
            inject_ued_fault_from: faulty.then_some(config.fault_slot),
            ..EngineConfig::default()
        };
        let store = dir.join(format!("validator-{index}"));
        let mut hooks = EngineHooks::default();
        if index == 0 {
            let counts = Arc::clone(&status_counts);
            hooks.on_outcome = Some(Box::new(move |outcome| {
                let mut counts = counts.lock().unwrap_or_else(PoisonError::into_inner);
                for tx in &outcome.transactions {
                    *counts.entry(tx.status.name()).or_default() += 1;
                }
            }));
        }
        let engine = Engine::open(&genesis, &store, config, hooks)
            .map_err(|e| format!("validator {index}: {e}"))?;
        validators.push(Validator {
            index,
            node: key("node", index),
            vote_account: v.vote_account,
            stake: v.stake,
            faulty,
            engine,
        });
    }

    let users: Vec<SigningKey> = (0..USERS).map(|j| key("user", j)).collect();
    let mut rng = SplitMix64::new(config.seed);
    let (mut parent, mut parent_ms, mut parent_hash) =
        (0u64, genesis.cluster.unix_timestamp_ms, genesis.hash);
    let mut blocks = 0u64;
    let mut produced: Vec<u64> = Vec::new();
    let mut ued_reported = 0u64;
    let mut last_voted_slot = 0u64;
    // After the configured slots, blocks of votes alone go on until every validator still voting
    // has reported the UED of the last of them (the UEDs may lag far on a busy machine).
    let mut slot = 0u64;
    let mut last_user_slot = 0u64;
    loop {
        slot += 1;
        let draining = slot > config.slots;
        if draining {
            let all_halted = validators.iter().all(|v| v.engine.halted().is_some());
            if ued_reported >= last_user_slot || all_halted {
                break;
            }
            if slot > 4 * config.slots + 64 {
                return Err(format!(
                    "the validators' UEDs did not report slot {last_user_slot} by slot {slot}"
                ));
            }
        } else {
            progress(slot);
        }
        let transfers = if draining { 0 } else { config.transfers };
        let leader = &validators[slot as usize % n];
        if leader.engine.halted().is_some() {
            continue; // a halted validator produces no block: the slot is skipped
        }
        // The leader builds on the parent once the validators have executed it, with their votes.
        let mut transactions = Transactions::new();
        // It starts once the VEDs have executed the parent: the votes need nothing more. They
        // report the next UED slot once every validator still voting has committed it — all in
        // the same block, so every validator sees every other's report of a slot at once, and a
        // divergence is named at its first slot however far the UEDs lag.
        if parent > 0 {
            let voting: Vec<&Validator> = validators
                .iter()
                .filter(|v| v.engine.halted().is_none())
                .collect();
            let next = produced.iter().copied().find(|&s| s > ued_reported);
            let mut ued_slot = None;
            if let Some(next) = next {
                let mut committed = true;
                for v in &voting {
                    let hash = v.engine.wait_hash(Domain::Ued, next, Duration::ZERO);
                    committed &= hash
                        .map_err(|e| format!("validator {}: {e}", v.index))?
                        .hash()
                        .is_some();
                }
                if committed {
                    ued_slot = Some(next);
                    ued_reported = next;
                }
            }
            for v in voting {
                transactions.push(v.vote(parent, parent_ms, parent_hash, ued_slot)?);
            }
            last_voted_slot = parent;
        }
        let leader = &validators[slot as usize % n];
        // User transfers, judged by the balances the leader's UED has committed (SPEC §6): each
        // block, one user sweeps what the leader believes it holds, then pays again — a payer
        // the leader misjudges, whose second transaction fails `InsufficientFundsForFee`
        // inside a valid block.
        let mut known = Vec::with_capacity(USERS);
        for user in &users {
            let (_, account) = leader
                .engine
                .account(&pubkey(user))
                .map_err(|e| format!("validator {}: {e}", leader.index))?;
            known.push(account.map_or(0, |a| a.lamports));
        }
        let transfer = |from: &SigningKey, to: usize, lamports: u64| -> Result<Vec<u8>, String> {
            let message = transfer_message(pubkey(from), pubkey(&users[to]), lamports, parent_hash);
            Transaction::sign(&message, &[from]).map_err(|e| e.to_string())
        };
        if transfers > 0 {
            let sweeper = slot as usize % USERS;
            let to = (sweeper + 1) % USERS;
            if known[sweeper] > 2 * FEE_PER_SIGNATURE {
                let all = known[sweeper] - FEE_PER_SIGNATURE;
                transactions.push(transfer(&users[sweeper], to, all)?);
                transactions.push(transfer(&users[sweeper], to, SOL / 1_000)?);
                known[sweeper] = 0;
            }
        }
        for _ in 0..transfers.saturating_sub(2) {
            let from = rng.below(USERS as u64) as usize;
            let to = rng.below(USERS as u64) as usize;
            let lamports = SOL / 1_000 * (1 + rng.below(100));
            if known[from] >= lamports + FEE_PER_SIGNATURE {
                known[from] -= lamports + FEE_PER_SIGNATURE;
                transactions.push(transfer(&users[from], to, lamports)?);
            }
        }
        let gap = slot - parent;
        let unix_timestamp_ms = parent_ms + (400 * gap as i64).min(1_000);
        let blockhash: [u8; 32] = Sha256::new()
            .chain_update(b"tandem:cluster:block")
            .chain_update(config.seed.to_le_bytes())
            .chain_update(slot.to_le_bytes())
            .finalize()
            .into();
        let block = Block {
            header: BlockHeader {
                slot,
                parent_slot: parent,
                leader: pubkey(&leader.node),
                unix_timestamp_ms,
                blockhash,
            },
            transactions,
        };
        for v in &validators {
            v.engine
                .submit(block.clone())
                .map_err(|e| format!("validator {}: {e}", v.index))?;
        }
        (parent, parent_ms, parent_hash) = (slot, unix_timestamp_ms, blockhash);
        produced.push(slot);
        if !draining {
            last_user_slot = slot;
        }
        blocks += 1;
    }

    // The UED columns are for the last UED slot the votes reported.
    let ued_slot = ued_reported;
    let mut reports = Vec::with_capacity(n);
    for v in validators {
        v.wait(Domain::Ued, parent)?;
        let (ved_agreement, _) = v.engine.agreement(Domain::Ved, last_voted_slot);
        let (ued_agreement, _) = v.engine.agreement(Domain::Ued, ued_slot);
        let halted = v.engine.halted().is_some();
        let halt_slot = v.engine.halt().map(|h| h.slot);
        let metrics = v.engine.metrics().snapshot();
        let summary = v
            .engine
            .finish()
            .map_err(|e| format!("validator {}: {e}", v.index))?;
        reports.push(ValidatorReport {
            index: v.index,
            stake: v.stake,
            faulty: v.faulty,
            halted,
            halt_slot,
            final_ved_hash: hex(&summary.hashes.ved),
            final_ued_hash: hex(&summary.hashes.ued),
            ved_agreement,
            ued_agreement,
            time_to_vote_p50_us: metrics.time_to_vote.p50_us,
            max_ued_disagreement_bps: metrics.max_ued_disagreement_bps,
        });
    }
    let status_counts =
        std::mem::take(&mut *status_counts.lock().unwrap_or_else(PoisonError::into_inner));
    Ok(ClusterReport {
        status_counts,
        honest_halted: reports.iter().any(|r| r.halted && !r.faulty),
        validators: reports,
        blocks,
        ved_stake,
        last_voted_slot,
        last_reported_ued_slot: ued_slot,
    })
}
