//! `tandem status`: `ExecutionStatus(signature, stake = X)` (SPEC §6) from a store directory's
//! status index, without the engine.

use std::path::Path;

use serde::Serialize;
use tandem_engine::Domain;
use tandem_engine::cluster::{Agreement, Alert};
use tandem_engine::runtime::RuntimeError;
use tandem_engine::runtime::check::{
    check_window, has_runtime_files, window_and_ved_hash_of_state,
};
use tandem_engine::runtime::segment_log::LogError;
use tandem_engine::runtime::status_index::{Confirmation, StatusIndex};
use tandem_engine::runtime::ved_log::VedLog;
use tandem_engine::runtime::vote_log::VoteLog;
use tandem_engine::store::Store;

use crate::output::write_json;

/// Reads of the store's files again where a running engine committed in between.
const RETRIES: u32 = 20;

/// `tandem status`'s JSON.
#[derive(Serialize)]
struct StatusJson {
    signature: String,
    /// `Unknown`, `Pending`, `Halted` or the final status of SPEC §2.
    status: String,
    /// The transaction's slot, when the index holds it.
    slot: Option<u64>,
    /// The domain it executed in (`VED`, `UED`; none for a transaction decided at ingest).
    domain: Option<&'static str>,
    /// The stake asked for, in basis points.
    stake_bps: u16,
    /// The stake that reported the local hash of its domain and slot, in lamports.
    confirmed_stake: u64,
    /// The VED's total stake, in lamports.
    total_stake: u64,
    /// Why the engine halted, when it did.
    halted: Option<String>,
}

/// `tandem status SIGNATURE [--stake BPS] --store DIR [--json FILE]`.
pub fn status(signature: &str, bps: u16, store: &Path, json: Option<&Path>) -> Result<(), String> {
    if bps > 10_000 {
        return Err(format!("--stake {bps}: basis points are 0 ..= 10000"));
    }
    let most = tandem_engine::account::base58_max_len(64);
    if signature.len() > most {
        return Err(format!(
            "the signature is {} characters long: a base58 signature has at most {most}",
            signature.len()
        ));
    }
    let bytes = bs58::decode(signature)
        .into_vec()
        .map_err(|e| format!("signature {signature:?} is not base58: {e}"))?;
    let key: [u8; 64] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| format!("signature {signature:?} is {} bytes, not 64", bytes.len()))?;
    // The store's files as they are, without opening it (nor changing any): an engine may be
    // running on it. With the VED's own transactions of the slots it logged past the store's
    // (an engine that crashed, or runs, with the UED behind), as an engine opened on the store
    // answers them. A running engine commits and prunes meanwhile: a log that no longer
    // follows the slot read (or a segment listed and then gone) is read again, from the
    // store's slot then; a log that cannot be read is said, and the committed slots answer.
    // The status files are checked against the window the state file of the slot recorded:
    // one removed answered its transactions `Unknown`. The engine keeps the state file of its
    // last commit alone, so it is read first, beside the slot; a commit in between (the file
    // gone, the slot moved on) is read again from the new slot — as often as the engine
    // commits meanwhile, within a bound.
    let mut attempts = 0;
    let (committed, mut index, logged) = loop {
        let committed = Store::committed_slot_in(store)
            .map_err(|e| e.to_string())?
            .unwrap_or(0);
        let moved_on = || -> Result<bool, String> {
            let now = Store::committed_slot_in(store).map_err(|e| e.to_string())?;
            Ok(now != Some(committed))
        };
        let unanswerable = |e: RuntimeError| {
            format!(
                "{e}: the store's statuses cannot be answered (`tandem store check` reads every \
                 file)"
            )
        };
        let state = match has_runtime_files(store).map_err(|e| e.to_string())? {
            false => None,
            true => match window_and_ved_hash_of_state(store, committed) {
                Ok(state) => Some(state),
                Err(_) if attempts < RETRIES && moved_on()? => {
                    attempts += 1;
                    continue;
                }
                Err(e) => return Err(unanswerable(e)),
            },
        };
        let mut index = StatusIndex::load(store, committed).map_err(|e| e.to_string())?;
        if let Some((window, _)) = state
            && let Err(e) = check_window(store, committed, window)
        {
            if attempts < RETRIES && moved_on()? {
                attempts += 1;
                continue;
            }
            return Err(unanswerable(e));
        }
        // The log must chain from the store's VED hash, as an engine's open checks: one written
        // over another history (a `tandem replay --store` since) describes blocks the store
        // never ran, and its votes and statuses are not the store's.
        let read = VedLog::read(store, committed).and_then(|logged| match state {
            Some((_, ved_hash)) => VedLog::check_chain(store, &logged, ved_hash).map(|_| logged),
            None => Ok(logged),
        });
        match read {
            Ok(logged) => {
                for record in &logged {
                    index.add_uncommitted(record.window_statuses().into_iter().flatten());
                }
                break (committed, index, logged);
            }
            // A log the engine moved on from (pruned, or no longer following the slot): read
            // again; one that stays unreadable is said.
            Err(_) if attempts < RETRIES && moved_on()? => attempts += 1,
            Err(e) => {
                say!(
                    "warning: the VED's log is not read ({e}): the slots after {committed} \
                     answer Unknown"
                );
                break (committed, index, Vec::new());
            }
        }
    };
    // What the committed slots' votes reported, from the vote log: the engine keeps its cluster
    // view's confirmations beside it, `tandem replay` (the sequential runtime) only the log.
    // A running engine prunes old segments: one listed and then gone is read again.
    let mut attempts = 0;
    let (mut agreement, mut halt) = loop {
        let mut agreement = Agreement::new();
        // A log that stops short of the committed slot lost votes that may have halted: the
        // answers would change with it, so it is refused, as the store's check refuses it.
        match VoteLog::replay_committed_into(&mut agreement, store, committed) {
            Err(LogError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound && attempts < RETRIES =>
            {
                attempts += 1;
            }
            read => break (agreement, read.map_err(|e| e.to_string())?),
        }
    };
    // Then the slots the VED logged past the store's, as an engine reopened on the store counts
    // them: each slot's total, its VED hash and what its votes reported. A record of a format
    // before the total (which only replaying the VED gives) is left out: its slot's votes count
    // once the UED has committed it.
    for record in &logged {
        let Some(total) = record.ved_stake else {
            continue;
        };
        let (slot, ved) = (record.ved.slot, &record.ved);
        agreement.record_total(slot, total);
        halt = halt.or(agreement.record_local(Domain::Ved, slot, ved.ved_hash));
        halt = halt.or(agreement.record_votes(&ved.votes, slot));
    }
    // In the words an engine's halt file keeps, so that one halt reads the same whichever
    // command wrote the store (`replay` writes no halt file).
    if let Some(halt) = halt {
        index.add_halt(Alert::UedDivergence(halt).to_string());
    }
    index.add_confirmations(
        agreement
            .confirmations_from(0)
            .into_iter()
            .map(|(domain, slot, stake, total)| (domain, slot, Confirmation { stake, total })),
    );
    let answer = index.execution_status(&key, bps);
    let tx = index.get(&key);
    let confirmation = tx
        .and_then(|t| t.domain.and_then(|d| index.confirmation(d, t.slot)))
        .unwrap_or_default();
    let report = StatusJson {
        signature: signature.to_owned(),
        status: answer.name(),
        slot: tx.map(|t| t.slot),
        domain: tx.and_then(|t| t.domain.map(|d| d.name())),
        stake_bps: bps,
        confirmed_stake: confirmation.stake,
        total_stake: confirmation.total,
        halted: index.halt().map(str::to_owned),
    };
    // The report first: a table that cannot be printed (a reader gone, a full device) loses
    // no report.
    if let Some(path) = json {
        write_json(path, &report)?;
    }
    if json != Some(Path::new("-")) {
        let share = |stake: u64| {
            if confirmation.total == 0 {
                0.0
            } else {
                100.0 * stake as f64 / confirmation.total as f64
            }
        };
        match tx {
            None => println!("{signature}: {}", report.status),
            Some(t) => println!(
                "{signature}: {} (slot {}, {}; {:.2} % of the VED stake reported its hash, {:.2} % asked)",
                report.status,
                t.slot,
                report.domain.unwrap_or("no domain"),
                share(confirmation.stake),
                f64::from(bps) / 100.0
            ),
        }
        if let Some(why) = &report.halted {
            println!("the engine halted: {why}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use tandem_engine::Domain;
    use tandem_engine::genesis::Genesis;
    use tandem_engine::pipeline::{Engine, EngineConfig, EngineHooks};
    use tandem_engine::runtime::ingest::{parse_block, verify_signatures};
    use tandem_engine::runtime::ved_log::{LoggedSlot, VedLog};
    use tandem_engine::runtime::{Backend, Runtime, TxStatus};
    use tandem_engine::workload::{WorkloadConfig, generate_all};

    /// A store at genesis whose VED logged slots 1 to 3 (a crash with the UED behind), the
    /// first record's VED hash flipped where `another_history` (a log written over another
    /// history of the store); and what the blocks did.
    fn ved_logged_ahead(
        genesis: &Genesis,
        another_history: bool,
    ) -> (tempfile::TempDir, Vec<tandem_engine::runtime::BlockOutcome>) {
        let scratch = tempfile::tempdir().unwrap();
        let config = WorkloadConfig {
            slots: 3,
            ..WorkloadConfig::default()
        };
        let (blocks, outcomes) = generate_all(genesis, &config, scratch.path()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let runtime = Runtime::open(genesis, dir.path()).unwrap();
        let mut ved = runtime.ved_executor();
        let mut log = VedLog::new(dir.path());
        for (i, block) in blocks.iter().enumerate() {
            let (txs, payers) = parse_block(block).unwrap();
            let verified: Vec<Option<bool>> = verify_signatures(Backend::Cpu, &txs)
                .unwrap()
                .into_iter()
                .map(Some)
                .collect();
            let mut done = ved.execute(block, &payers, &verified).unwrap();
            if another_history && i == 0 {
                done.ved_hash[0] ^= 1;
            }
            log.append(&LoggedSlot {
                parent_slot: block.header.parent_slot,
                blockhash: block.header.blockhash,
                unix_timestamp_ms: block.header.unix_timestamp_ms,
                ved: done,
                ved_stake: Some(ved.ved_stake()),
            })
            .unwrap();
        }
        (dir, outcomes)
    }

    /// `tandem status SIGNATURE --stake BPS --store DIR`'s answer.
    fn answer_at(dir: &std::path::Path, signature: &[u8; 64], bps: u16) -> String {
        let json = dir.join("status.json");
        let base58 = bs58::encode(signature).into_string();
        super::status(&base58, bps, dir, Some(&json)).unwrap();
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        report["status"].as_str().unwrap().to_owned()
    }

    #[test]
    fn a_ved_log_over_another_history_is_not_counted() {
        // The engine refuses to open on it, and `store check` refuses it: status answered from
        // it, its statuses and its votes, blocks the store never ran.
        let genesis = Genesis::default_cluster();
        let (dir, outcomes) = ved_logged_ahead(&genesis, true);
        let vote = outcomes[1]
            .transactions
            .iter()
            .find(|t| t.domain == Some(Domain::Ved) && t.status == TxStatus::Success)
            .and_then(|t| t.signature)
            .expect("a vote");
        assert_eq!(answer_at(dir.path(), &vote, 0), "Unknown");
        assert!(
            Engine::open(
                &genesis,
                dir.path(),
                EngineConfig::default(),
                EngineHooks::default()
            )
            .is_err(),
            "the engine refuses it too"
        );
    }

    #[test]
    fn a_vote_of_a_slot_the_ved_logged_past_the_store_answers_as_the_engine_does() {
        let genesis = Genesis::default_cluster();
        let (dir, outcomes) = ved_logged_ahead(&genesis, false);
        // And a record being appended (an engine running on the store): left as it is.
        let segment = VedLog::segments(dir.path())
            .unwrap()
            .pop()
            .expect("a segment");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&segment)
            .unwrap();
        std::io::Write::write_all(&mut file, &[200, 1, 0, 0]).unwrap();
        drop(file);
        let before = std::fs::read(&segment).unwrap();

        let answer = |signature: &[u8; 64]| answer_at(dir.path(), signature, 0);
        let vote = outcomes[1]
            .transactions
            .iter()
            .find(|t| t.domain == Some(Domain::Ved) && t.status == TxStatus::Success)
            .expect("a vote");
        assert_eq!(answer(&vote.signature.unwrap()), "Success");
        let user = outcomes[1]
            .transactions
            .iter()
            .find(|t| t.domain == Some(Domain::Ued))
            .expect("a user transaction");
        assert_eq!(
            answer(&user.signature.unwrap()),
            "Unknown",
            "not in the VED's log"
        );
        assert_eq!(
            std::fs::read(&segment).unwrap(),
            before,
            "the VED's log is read, not cut"
        );
        // At a stake: slot 2's votes are confirmed by the votes of slot 3, which only the VED's
        // log holds — counted, as a reopened engine counts them (they read `Pending` before).
        let vote = vote.signature.unwrap();
        let asked = [0, 3_333, 5_000, 6_667, 10_000];
        let ours: Vec<String> = asked
            .iter()
            .map(|&bps| answer_at(dir.path(), &vote, bps))
            .collect();
        assert_eq!(ours[2], "Success", "{ours:?}");
        let engine = Engine::open(
            &genesis,
            dir.path(),
            EngineConfig::default(),
            EngineHooks::default(),
        )
        .unwrap();
        let engines: Vec<String> = asked
            .iter()
            .map(|&bps| engine.execution_status(&vote, bps).unwrap().name())
            .collect();
        assert_eq!(ours, engines);
    }
}
