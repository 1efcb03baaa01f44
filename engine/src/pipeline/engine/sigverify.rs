//! The two sigverify stages: each verifies the transactions of each block guessed to be its
//! side's, with its own verifier (signer cache, GPU device), on its own thread and helpers
//! pinned to the sigverify PUs. The VED's takes a block's votes part by part as ingest guesses
//! them and builds the voters' signer tables ahead of their votes; the UED's lets each block's
//! vote go first ([`super::EngineConfig::ued_yield_limit`]).

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;
use tandem_kernels::Ed25519Verifier;

use super::ingest::{Ingested, Part};
use super::shared::Shared;
use crate::pipeline::metrics::StageMetrics;
use crate::pipeline::spread::{HelperPool, spread};
use crate::runtime::{RuntimeError, ingest};
use crate::tx::Transaction;

/// Voters whose signature tables the VED's signer cache keeps, at the least: the VED's verifier
/// has a cache (and a GPU device) of its own, so user signers never evict voters' and vote
/// batches never queue behind user batches on the GPU. A voter's tables, built before its
/// first vote, take 30 KiB (portable) plus 35 KiB (IFMA lanes) or 69 KiB (AVX2 lanes): 100 MiB
/// for 1,000 voters on AVX2. A larger VED gets more places ([`vote_signer_places`]).
pub const VOTE_SIGNER_CACHE: usize = 2048;

/// The places of the VED's signer cache for a VED whose votes `signers` keys sign: twice that
/// (members come at epoch boundaries while a key that left keeps its place until a whole window
/// passes without it, and the VED's other keys — vote accounts — may pay junk, whose tables give
/// way to the voters the engine prepares), and at least
/// [`VOTE_SIGNER_CACHE`]. The cache grows to it when the engine opens and whenever the VED
/// publishes its keys (it never shrinks). A voter the cache has no place for is verified
/// without a table on every vote — about three times a tabled check on the vote's path
/// (2026-12-02, Zen 3: 2,500 voters with 2,048 places voted at p50 44–45 ms, 2,048 voters at
/// 29 ms). The memory is the tables built: each voter's, 99 KiB with the AVX2 lanes' form, and
/// at most as many more as junk paid by VED keys fills — at most the places × 99 KiB, about
/// 580 MiB for 3,000 voters.
pub fn vote_signer_places(signers: usize) -> usize {
    VOTE_SIGNER_CACHE.max(signers.saturating_mul(2))
}

/// What one sigverify stage verifies, and with what.
pub(super) struct SigverifySide<'a> {
    /// Its side's verifier (signer cache, GPU device).
    pub(super) verifier: &'a Ed25519Verifier,
    /// Helpers to spread each batch over besides the stage's own thread.
    pub(super) helpers: &'a HelperPool,
    /// The VED's side (`true`) or the UED's.
    pub(super) ved: bool,
    /// The VED's side: the ring of the VED's publishing its keys, whose voters' tables the
    /// stage builds.
    pub(super) voters: Option<Receiver<()>>,
    /// The UED's side: how long each block's user signatures let its vote go first
    /// ([`EngineConfig::ued_yield_limit`](super::EngineConfig::ued_yield_limit)).
    pub(super) yield_limit: Duration,
}

/// A sigverify stage: verifies the transactions of each block guessed to be its side's
/// (`ved`: the VED's), on its own thread with its side's signer cache, and hands the answers
/// on.
pub(super) fn sigverify_loop(
    shared: &Shared,
    metrics: &StageMetrics,
    side: SigverifySide<'_>,
    input: Receiver<Arc<Ingested>>,
    mut send: impl FnMut(Arc<Ingested>, Vec<Option<bool>>) -> bool,
) {
    let SigverifySide {
        verifier,
        helpers,
        ved,
        voters,
        yield_limit,
    } = side;
    let prepares = voters.is_some();
    let published = voters.unwrap_or_else(crossbeam_channel::never);
    loop {
        // A block, or (`None`) the VED's ring — heard first when both are there, so a new
        // voter's table is built before the block with its first vote is verified (a block
        // the stage took before the VED published is verified without it); the input's end
        // stops the stage.
        let next = if published.try_recv().is_ok() {
            Ok(None)
        } else {
            metrics.idle(|| {
                crossbeam_channel::select! {
                    recv(input) -> block => block.map(Some),
                    recv(published) -> _ => Ok(None),
                }
            })
        };
        let Ok(next) = next else {
            return;
        };
        let Some(ingested) = next else {
            // The VED published keys: the voters' tables, while there is no block to verify
            // (every voter's: one that found no place before may find one now; those with a
            // table cost a lookup).
            if prepares {
                let keys = shared.ved_keys();
                metrics.busy(|| prepare_vote_signers(verifier, helpers, &keys.signers));
            }
            continue;
        };
        metrics.set_queue_depth(input.len() as u64);
        // The user side (the VED's has no limit) lets the block's vote go first, when the block
        // has work for it.
        if !ved && !yield_limit.is_zero() && ingested.whole_guess().contains(&false) {
            let slot = ingested.header.slot;
            if let Some(waited) = metrics.idle(|| shared.yield_to_vote(slot, yield_limit)) {
                shared.metrics.record_ued_yield(waited);
            }
        }
        let mut verified = vec![None; ingested.count];
        // This side's transactions: the user's whole; the VED's part by part as ingest guesses
        // them (the parts there by then at once), until the parts end.
        let user = (!ved).then(|| {
            let guess = ingested.whole_guess();
            let indices = (0..guess.len()).filter(|&i| !guess[i]).collect();
            vec![Part {
                indices,
                wires: None,
            }]
        });
        let ved_parts = std::iter::from_fn(|| {
            if !ved {
                return None;
            }
            let first = metrics.idle(|| ingested.ved_parts.recv()).ok()?;
            Some(
                std::iter::once(first)
                    .chain(ingested.ved_parts.try_iter())
                    .collect(),
            )
        });
        for parts in user.into_iter().chain(ved_parts) {
            let done = metrics.busy(|| {
                // One that does not parse is left unverified (ingest refuses its block).
                let (mine, transactions): (Vec<usize>, Vec<Transaction<'_>>) = parts
                    .iter()
                    .flat_map(|part| ingested.wires_of(part))
                    .filter_map(|(i, wire)| Transaction::parse(wire).ok().map(|tx| (i, tx)))
                    .unzip();
                let answers = verify_spread(verifier, helpers, &transactions)?;
                #[cfg(test)]
                if ved
                    && shared
                        .fail_vote_sigverify
                        .load(std::sync::atomic::Ordering::Relaxed)
                {
                    let failed = tandem_kernels::gpu::GpuError::Failed("the test's".into());
                    return Err(RuntimeError::Kernel(failed.into()));
                }
                #[cfg(test)]
                if ved {
                    let count = answers.len();
                    shared
                        .ved_sigverified
                        .fetch_add(count, std::sync::atomic::Ordering::Relaxed);
                }
                for (i, ok) in mine.into_iter().zip(answers) {
                    verified[i] = Some(ok);
                }
                Ok::<_, RuntimeError>(())
            });
            if let Err(e) = done {
                // Ingest may wait for the votes' answers (up to its yield limit): rung, it
                // learns the failure now instead of waiting the limit out.
                if ved {
                    let _ = ingested.votes_checked.0.try_send(());
                }
                return shared.fail(e);
            }
        }
        metrics.add_items(1);
        // Ingest parses the rest of the block now (the first answer rings; it never fills).
        if ved {
            let _ = ingested.votes_checked.0.try_send(());
        }
        if !metrics.blocked(|| send(ingested, verified)) {
            return;
        }
    }
}

/// Verifies `transactions` on the calling thread and, when `helpers` has threads, on them too
/// ([`spread`]). A batch the verifier sends to the GPU goes whole,
/// from the calling thread.
fn verify_spread(
    verifier: &Ed25519Verifier,
    helpers: &HelperPool,
    transactions: &[Transaction<'_>],
) -> Result<Vec<bool>, RuntimeError> {
    let verify = |part: &[Transaction<'_>]| ingest::verify_signatures_with(verifier, part.iter());
    let signatures = transactions.iter().map(|tx| tx.signatures().len()).sum();
    if verifier.uses_gpu_for(signatures) {
        return verify(transactions);
    }
    spread(helpers, transactions, verify)
}

/// Builds the tables of the voters' keys `signers` in the VED's verifier
/// ([`Ed25519Verifier::prepare_signers`]) on the calling thread and the helpers' PUs: at start,
/// and after a boundary that brought new voters, so that no vote waits for its signer's table
/// (a thousand voters' tables cost about four blocks' worth of their signatures).
pub(super) fn prepare_vote_signers(
    verifier: &Ed25519Verifier,
    helpers: &HelperPool,
    signers: &[[u8; 32]],
) {
    // The places follow the VED's voters (they only grow): room for every one before its table.
    verifier.cache().grow_to(vote_signer_places(signers.len()));
    let prepare =
        |part: &[[u8; 32]]| Ok::<_, std::convert::Infallible>(vec![verifier.prepare_signers(part)]);
    let Ok(counts) = spread(helpers, signers, prepare);
    let prepared: usize = counts.into_iter().sum();
    log::debug!(
        "the VED's verifier holds the tables of {prepared} of its {} voters' keys",
        signers.len()
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    use ed25519_dalek::SigningKey;
    use tandem_kernels::sigverify::cache::SignerCache;

    use super::super::cpu_engine;
    use crate::account::Pubkey;
    use crate::ledger::Block;
    use crate::pipeline::guess::GUESS_PART;
    use crate::runtime::Backend;
    use crate::sample::{SplitMix64, transfer_message};

    #[test]
    fn the_vote_signer_cache_has_a_place_for_every_voter_and_room_for_more() {
        assert_eq!(vote_signer_places(0), VOTE_SIGNER_CACHE);
        assert_eq!(vote_signer_places(1_000), VOTE_SIGNER_CACHE);
        assert_eq!(
            vote_signer_places(VOTE_SIGNER_CACHE / 2 + 1),
            VOTE_SIGNER_CACHE + 2
        );
        // 2,500 voters once had 2,048 places: 452 of them verified without a table every slot.
        assert_eq!(vote_signer_places(2_500), 5_000);
        assert_eq!(vote_signer_places(usize::MAX), usize::MAX);
    }

    #[test]
    fn preparing_the_voters_grows_their_cache_to_the_places_they_need() {
        let cache = Arc::new(SignerCache::new(VOTE_SIGNER_CACHE));
        let verifier = Ed25519Verifier::with_cache(Backend::Cpu, Arc::clone(&cache));
        let voter = ed25519_dalek::SigningKey::from_bytes(&[7; 32])
            .verifying_key()
            .to_bytes();
        // As many signers as a VED of 1,200 voters brings (one key, one table: a quick test).
        prepare_vote_signers(&verifier, &HelperPool::none(), &vec![voter; 1_200]);
        assert_eq!(cache.capacity(), 2_400);
        assert!(
            cache.get(&voter).is_some(),
            "the voter's table, in its place"
        );
        // A VED that shrinks leaves the places as they are.
        prepare_vote_signers(&verifier, &HelperPool::none(), &[voter]);
        assert_eq!(cache.capacity(), 2_400);
    }

    #[test]
    fn the_votes_of_every_part_of_a_block_are_verified_by_the_veds_sigverify_stage() {
        // Blocks of more than three guess parts, the VED's transactions (the votes) moved to
        // the last part: the VED's sigverify stage waits for the parts ingest guesses after
        // handing the block over, verifies every one of them (none is left to the VED's
        // thread), and the results are the sequential runtime's.
        use crate::workload::{WorkloadConfig, generate_all};

        let genesis = crate::genesis::Genesis::default_cluster();
        let scratch = tempfile::tempdir().expect("dir");
        let config = WorkloadConfig {
            slots: 2,
            transfers: 3 * GUESS_PART + 100,
            seed: 11,
            ..WorkloadConfig::default()
        };
        let (blocks, _) = generate_all(&genesis, &config, scratch.path()).expect("generated");
        let dir = tempfile::tempdir().expect("dir");
        let engine = cpu_engine(&genesis, dir.path());
        let payers = engine.shared.ved_keys();
        let mut ved = 0;
        let blocks: Vec<Block> = blocks
            .into_iter()
            .map(|mut block| {
                let guess = crate::pipeline::guess::guess_ved(&block.transactions, &payers.payers);
                let (mine, user): (Vec<_>, Vec<_>) =
                    block.transactions.iter().zip(guess).partition(|(_, v)| *v);
                ved += mine.len();
                block.transactions = user.into_iter().chain(mine).map(|(w, _)| w).collect();
                block
            })
            .collect();
        assert!(ved > 0 && blocks.iter().all(|b| b.transactions.len() > 3 * GUESS_PART));
        let scratch = tempfile::tempdir().expect("dir");
        let mut runtime = crate::runtime::Runtime::open(&genesis, scratch.path()).expect("open");
        let want = blocks
            .iter()
            .map(|b| runtime.execute_block(b).expect("block"))
            .last()
            .expect("blocks");
        for block in blocks {
            engine.submit(block).expect("submit");
        }
        let shared = Arc::clone(&engine.shared);
        let summary = engine.finish().expect("finish");
        assert_eq!(summary.hashes, [want.ved_hash, want.ued_hash]);
        assert_eq!(shared.ved_sigverified.load(Ordering::Relaxed), ved);
    }

    /// `n` signed transfers; those at `forged` carry another message's signature.
    fn transfers(n: usize, forged: &[usize]) -> Vec<Vec<u8>> {
        let mut rng = SplitMix64::new(3);
        let mut wires: Vec<Vec<u8>> = (0..n)
            .map(|_| {
                let mut seed = [0; 32];
                rng.fill(&mut seed);
                let payer = SigningKey::from_bytes(&seed);
                let from = Pubkey(payer.verifying_key().to_bytes());
                let message = transfer_message(from, rng.pubkey(), 1, [7; 32]);
                Transaction::sign(&message, &[&payer]).expect("signs")
            })
            .collect();
        for &i in forged {
            let other = wires[(i + 1) % n][1..65].to_vec();
            wires[i][1..65].copy_from_slice(&other);
        }
        wires
    }

    #[test]
    fn spread_verification_answers_in_block_order() {
        let forged = [0, 33, 64, 65, 150, 199];
        let wires = transfers(200, &forged);
        let transactions: Vec<Transaction<'_>> = wires
            .iter()
            .map(|w| Transaction::parse(w).expect("parses"))
            .collect();
        let verifier = Ed25519Verifier::dedicated(Backend::Cpu, 16);
        let alone = verify_spread(&verifier, &HelperPool::none(), &transactions).expect("verifies");
        let expected: Vec<bool> = (0..200).map(|i| !forged.contains(&i)).collect();
        assert_eq!(alone, expected);
        // Three helpers (all on PU 0: every machine has it) take chunks as they come.
        let spread = verify_spread(&verifier, &HelperPool::new(&[0, 0, 0]), &transactions)
            .expect("verifies");
        assert_eq!(spread, expected);
    }
}
