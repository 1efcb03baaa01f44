//! The ingest stage, on the host's thread inside [`super::Engine::submit`]: the block checks of
//! SPEC §4, the guess of each transaction's domain part by part (the VED's sigverify stage takes
//! each part as it comes), the parse of every fee payer (SPEC §2) and the verdict, then the
//! hand-over of the [`Ingested`] block to both sigverify stages — the VED's first, the UED's
//! after the verdict. A loaded block's parse waits until its votes' signatures are verified,
//! and runs on the sigverify PUs that are not the VED's, while the VED executes the block ahead
//! of the verdict ([`super::ved`]): the parse of 20,000 user transactions then takes no PU
//! from the votes' checks nor from the VED. It also keeps the spare block buffers a host decodes the next blocks into.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, PoisonError};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, bounded};

use super::error::EngineError;
use super::{Cursor, Engine, refused_on_an_executor};
use crate::account::Pubkey;
use crate::ledger::{Block, Transactions};
use crate::pipeline::guess::{GUESS_PART, guess_ved_part_with};
use crate::pipeline::metrics::Activity;
use crate::runtime::executor::PayerGuess;
use crate::runtime::{check_block_header, ingest};

/// How many block buffers the engine keeps for the blocks to come once it is done with their
/// blocks ([`Engine::spare_transactions`]): one for the block the host decodes next, others for
/// hosts that decode on several threads. Kept only once the host has asked for one.
///
/// Memory: at most this many spares are kept, each with the room of the largest block it has
/// held, and a block decoded into a spare keeps that room while it is in flight. So after a
/// large block, the blocks in flight (at most the UED's queue and the few the stages hold) may
/// each hold a large block's room instead of their own size — no more than as many large
/// blocks in flight would take.
pub const SPARE_BLOCK_BUFFERS: usize = 4;

/// A block on its way: shared by the stages, each parses the transactions it needs. Its buffer
/// goes back to the engine's spares when the last stage lets it go.
pub(super) struct Ingested {
    pub(super) block: Block,
    /// Where its transactions' buffer goes when it is dropped (`None` until the host asks for
    /// spares).
    pub(super) spares: Option<Sender<Transactions>>,
    pub(super) submitted: Instant,
    /// The sigverify split's guess of each transaction's domain: `true` for the VED. Whole once
    /// ingest has guessed every part, before its verdict: the user side sees whole guesses.
    pub(super) ved_guess: OnceLock<Vec<bool>>,
    /// The generation of the VED's keys the guess was made with
    /// ([`VedExecutor::ved_keys_generation`](crate::runtime::executor::VedExecutor::ved_keys_generation)).
    pub(super) guess_generation: u64,
    /// Each transaction's first account key, as the guess read it, set with the whole guess:
    /// `None` where one's bytes do not reach it (the verdict refuses the block). For the VED
    /// executing ahead of the verdict: the verdict's fee payers of a block it accepts.
    pub(super) first_keys: OnceLock<Option<Vec<Pubkey>>>,
    /// The transactions guessed VED, part by part as ingest guesses them ([`GUESS_PART`]),
    /// for the VED's sigverify stage; they end when ingest has guessed the block (or stopped).
    pub(super) ved_parts: Receiver<Vec<usize>>,
    /// Ingest's verdict, given while the VED's signatures are being verified: `None` when the
    /// block was refused.
    pub(super) verdict: OnceLock<Option<Accepted>>,
    /// Rung by the VED's sigverify stage once it has verified the block's votes: ingest parses
    /// the rest of a loaded block after that ([`Engine::submit`]).
    pub(super) votes_checked: (Sender<()>, Receiver<()>),
}

impl Drop for Ingested {
    fn drop(&mut self) {
        // Kept unless the spares are full (or the engine is gone): a loaded block's megabytes
        // are then written again in place, instead of fresh pages faulted in and zeroed for
        // each block and returned to the OS after it.
        if let Some(spares) = &self.spares {
            let mut buffer = std::mem::take(&mut self.block.transactions);
            buffer.clear();
            let _ = spares.try_send(buffer);
        }
    }
}

impl Ingested {
    /// The whole guess of a block the user side sees: an accepted one.
    pub(super) fn whole_guess(&self) -> &[bool] {
        self.ved_guess
            .get()
            .expect("ingest guesses a block whole before its verdict")
    }

    /// The whole guess, as the VED executor takes it.
    pub(super) fn payer_guess(&self) -> PayerGuess<'_> {
        PayerGuess {
            ved: self.whole_guess(),
            generation: self.guess_generation,
        }
    }

    /// The verdict of a block the stages after the VED see: an accepted one.
    pub(super) fn accepted(&self) -> &Accepted {
        self.verdict
            .get()
            .and_then(Option::as_ref)
            .expect("only accepted blocks pass the VED")
    }
}

/// What an accepted block carries from ingest.
pub(super) struct Accepted {
    /// Every transaction's fee payer.
    pub(super) payers: Arc<[Pubkey]>,
    /// Operator slashes scheduled before the block was accepted ([`Engine::schedule_slash`]):
    /// the UED enters them into the runtime before executing it, as `Runtime::schedule_slash`
    /// would. A refused block takes none.
    pub(super) slashes: Vec<(Pubkey, u16)>,
    /// When ingest gave the verdict (a step of the vote's path).
    pub(super) decided: Instant,
}

/// Gives a block handed to the VED the verdict "refused" when dropped before ingest gave its
/// own (a verdict is given once: the first stands).
struct RefusedUnlessDecided<'a>(&'a Ingested);

impl Drop for RefusedUnlessDecided<'_> {
    fn drop(&mut self) {
        let _ = self.0.verdict.set(None);
    }
}

impl Engine {
    /// An empty buffer for the next block's transactions: one a block the engine is done with
    /// left (its room kept), or else a new one. A host that decodes blocks from bytes decodes
    /// into it ([`Block::decode_into`], as `tandem_engine_submit_block` does), so that a block
    /// no larger than those before takes no allocation: a loaded block's megabytes are then
    /// written into pages already in memory, not faulted in afresh for each block. The engine
    /// keeps buffers from the first call on ([`SPARE_BLOCK_BUFFERS`] says what they hold).
    pub fn spare_transactions(&self) -> Transactions {
        self.recycling.store(true, Ordering::Relaxed);
        self.spares.1.try_recv().unwrap_or_default()
    }

    /// Hands a block to the engine. The block checks of SPEC §4 (it follows the last block
    /// accepted; its clock) and the parse of every transaction (SPEC §2) are decided here, and a
    /// block that fails them is refused ([`EngineError::Rejected`]) and changes nothing. Waits
    /// while the UED lags by as many blocks as its queue holds.
    ///
    /// The VED's signatures are verified first: its transactions are guessed from their first
    /// account key ([`Transaction::peek_fee_payer`](crate::tx::Transaction::peek_fee_payer)) and
    /// handed to the VED's sigverify stage part by part, and a block with user transactions is
    /// parsed once the votes' signatures are verified (or after
    /// [`EngineConfig::ued_yield_limit`](super::EngineConfig::ued_yield_limit)), while the VED
    /// executes it; its vote waits for the verdict, and a refused block's execution is undone.
    pub fn submit(&self, block: Block) -> Result<(), EngineError> {
        self.submit_received(block, Instant::now())
    }

    /// As [`Engine::submit`], with the block's time-to-vote counted from `received` (a moment
    /// after this call counts as the call's start): when the host took the block in, before
    /// the work that made a [`Block`] of it — the C ABI's decode of the block's bytes, which
    /// its time-to-vote includes.
    pub fn submit_received(&self, block: Block, received: Instant) -> Result<(), EngineError> {
        let entered = Instant::now();
        refused_on_an_executor("Engine::submit")?;
        if let Some(failure) = self.shared.failure() {
            return Err(EngineError::Failed(failure));
        }
        let mut cursor = self.cursor.lock().unwrap_or_else(PoisonError::into_inner);
        let idle = entered.saturating_duration_since(cursor.returned);
        self.ingest.add_time(Activity::Idle, idle);
        let result = self.ingest_block(block, received.min(entered), &mut cursor);
        cursor.returned = Instant::now();
        result
    }

    /// [`Engine::submit`]'s work, under the cursor's lock.
    fn ingest_block(
        &self,
        block: Block,
        submitted: Instant,
        cursor: &mut Cursor,
    ) -> Result<(), EngineError> {
        // The votes' signatures wait for the guess: the VED's sigverify stage takes the block
        // after its first part, and each part after as ingest guesses it.
        let n = block.transactions.len();
        let (part_sender, ved_parts) = bounded(n.div_ceil(GUESS_PART).max(1));
        let keys = self.shared.ved_keys();
        let mut ved_guess = Vec::with_capacity(n);
        let mut first_keys = Some(Vec::with_capacity(n));
        let mut guess_part = |transactions: &Transactions, range: std::ops::Range<usize>| {
            let start = range.start;
            let part = guess_ved_part_with(transactions, range, &keys.payers, |key| {
                match (&mut first_keys, key) {
                    (Some(keys), Some(key)) => keys.push(key),
                    (keys, _) => *keys = None,
                }
            });
            let mine = (start..).zip(&part).filter(|(_, v)| **v).map(|(i, _)| i);
            // Never full (a place per part), nor closed while `ingested` lives.
            let _ = part_sender.try_send(mine.collect());
            ved_guess.extend(part);
        };
        let ingested = self.ingest.busy(|| {
            check_block_header(
                &block.header,
                cursor.slot,
                cursor.unix_timestamp_ms,
                self.slots_per_epoch,
            )
            .map_err(EngineError::Rejected)?;
            guess_part(&block.transactions, 0..n.min(GUESS_PART));
            Ok::<_, EngineError>(Arc::new(Ingested {
                block,
                spares: self
                    .recycling
                    .load(Ordering::Relaxed)
                    .then(|| self.spares.0.clone()),
                submitted,
                ved_guess: OnceLock::new(),
                guess_generation: keys.generation,
                first_keys: OnceLock::new(),
                ved_parts,
                verdict: OnceLock::new(),
                votes_checked: bounded(1),
            }))
        })?;
        let send = |queue: &Option<Sender<Arc<Ingested>>>| {
            let queue = queue.as_ref().expect("open until finish");
            self.ingest
                .blocked(|| queue.send(Arc::clone(&ingested)))
                .map_err(|_| self.stopped())
        };
        send(&self.ved_sigs)?;
        // The VED waits for the verdict before anything else: a panic from here to it (a parser
        // bug) gives it one, the block refused, instead of leaving it (and `finish`, and the
        // engine's drop) waiting for ever.
        let _refused_unless_decided = RefusedUnlessDecided(&ingested);
        #[cfg(test)]
        if tests::PANIC_AFTER_THE_VED_COPY.with(std::cell::Cell::get) {
            panic!("the test's panic after the VED's copy");
        }
        self.ingest.busy(|| {
            let transactions = &ingested.block.transactions;
            for start in (GUESS_PART..n).step_by(GUESS_PART) {
                guess_part(transactions, start..n.min(start + GUESS_PART));
            }
        });
        let _ = ingested.ved_guess.set(ved_guess);
        let _ = ingested.first_keys.set(first_keys);
        // The parts end: the VED's sigverify stage has them all.
        drop(part_sender);
        // A block with user transactions: their parse waits until the votes' signatures are
        // verified, so that it takes no PU from them — the VED executes ahead of the verdict
        // meanwhile ([`super::ved`]) — for at most the limit of the user side's yielding.
        // A block of votes alone is parsed at once, wherever the host's thread runs (its parse is
        // short, and confined it would share the votes' helper PU).
        let limit = self.ued_yield_limit;
        let beside_the_ved = !limit.is_zero() && ingested.whole_guess().contains(&false);
        if beside_the_ved {
            let waited = Instant::now();
            let _ = ingested.votes_checked.1.recv_timeout(limit);
            self.ingest.add_time(Activity::Idle, waited.elapsed());
        }
        #[cfg(test)]
        std::thread::sleep(tests::DELAY_THE_VERDICT.with(std::cell::Cell::get));
        let parsed = self.ingest.busy(|| {
            let pus: &[usize] = if beside_the_ved { &self.parse_pus } else { &[] };
            let _there = crate::pipeline::pin::confine_current_thread(pus);
            ingest::fee_payers(&ingested.block)
        });
        match parsed {
            Err(e) => {
                let _ = ingested.verdict.set(None);
                return Err(EngineError::Rejected(e));
            }
            Ok(payers) => {
                let slashes = std::mem::take(
                    &mut *self.slashes.lock().unwrap_or_else(PoisonError::into_inner),
                );
                // In flight before the verdict lets the VED execute it: a waiter woken by its
                // VED hash finds the block's other transactions pending, not unknown.
                self.shared
                    .in_flight
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(ingested.block.header.slot, Arc::clone(&ingested));
                let _ = ingested.verdict.set(Some(Accepted {
                    payers: payers.into(),
                    slashes,
                    decided: Instant::now(),
                }));
            }
        }
        cursor.slot = ingested.block.header.slot;
        cursor.unix_timestamp_ms = ingested.block.header.unix_timestamp_ms;
        // The UED's copy after the verdict: the UED side sees accepted blocks only, and a block
        // reaches the VED's executor only when the UED side holds it, so the UED can always
        // finish what the VED hands it (no stage waits on a queue behind it).
        send(&self.ued_sigs)?;
        self.ingest.add_items(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::Duration;

    use super::super::cpu_engine;

    thread_local! {
        /// Makes `submit` panic right after it handed the block to the VED's sigverify stage.
        pub(super) static PANIC_AFTER_THE_VED_COPY: std::cell::Cell<bool> =
            const { std::cell::Cell::new(false) };
        /// Holds `submit` back this long before it parses the block for its verdict: the VED
        /// then executes it ahead of the verdict.
        pub(super) static DELAY_THE_VERDICT: std::cell::Cell<Duration> =
            const { std::cell::Cell::new(Duration::ZERO) };
    }

    /// `block` with its transaction `index` cut short after its first account key: the guess
    /// reads the key, the verdict's parse refuses the block.
    fn cut_after_the_first_key(block: &Block, index: usize) -> Block {
        let wire = block.transactions.get(index).expect("the transaction");
        // One signature (its count, 64 bytes), the 3-byte header, the keys' count, one key.
        assert_eq!(wire[0], 1, "a transaction with one signature");
        let cut = &wire[..1 + 64 + 3 + 1 + 32];
        assert!(crate::tx::Transaction::peek_fee_payer(cut).is_some());
        let mut block = block.clone();
        block.transactions.replace(index, cut);
        block
    }

    #[test]
    fn a_block_the_ved_executed_ahead_of_a_verdict_that_refused_it_is_undone() {
        use std::sync::atomic::Ordering::Relaxed;

        use crate::runtime::{Runtime, RuntimeError};
        use crate::workload::{WorkloadConfig, generate_all};

        let genesis = crate::genesis::Genesis::default_cluster();
        let scratch = tempfile::tempdir().expect("dir");
        let config = WorkloadConfig {
            slots: 4,
            transfers: 200,
            seed: 5,
            ..WorkloadConfig::default()
        };
        let (blocks, _) = generate_all(&genesis, &config, scratch.path()).expect("generated");
        let reference = tempfile::tempdir().expect("dir");
        let mut runtime = Runtime::open(&genesis, reference.path()).expect("open");
        let want = blocks
            .iter()
            .map(|b| runtime.execute_block(b).expect("block"))
            .last()
            .expect("blocks");
        let dir = tempfile::tempdir().expect("dir");
        let engine = cpu_engine(&genesis, dir.path());
        let shared = Arc::clone(&engine.shared);
        engine.submit(blocks[0].clone()).expect("submit");
        let guess =
            crate::pipeline::guess::guess_ved(&blocks[1].transactions, &shared.ved_keys().payers);
        let user = guess.iter().position(|v| !v).expect("a user transaction");
        let vote = guess.iter().position(|v| *v).expect("a vote");
        // The verdict held back until the VED has executed the block (its votes are verified
        // before ingest parses the rest) and waits for it: the cut transfer refuses the block,
        // and the VED undoes it; a cut vote stops the VED before it changes anything.
        let refused_at = |cut: Block| {
            DELAY_THE_VERDICT.with(|d| d.set(Duration::from_secs(2)));
            let refused = engine.submit(cut);
            DELAY_THE_VERDICT.with(|d| d.set(Duration::ZERO));
            match refused {
                Err(EngineError::Rejected(RuntimeError::MalformedTransaction {
                    slot: 2,
                    index,
                    ..
                })) => index,
                other => panic!("{other:?}"),
            }
        };
        // (The VED undoes the block after `submit` gave the verdict.)
        let undone = |want: usize| {
            let began = std::time::Instant::now();
            while shared.ved_undone.load(Relaxed) < want && began.elapsed().as_secs() < 60 {
                std::thread::sleep(Duration::from_millis(1));
            }
            shared.ved_undone.load(Relaxed)
        };
        assert_eq!(refused_at(cut_after_the_first_key(&blocks[1], user)), user);
        assert_eq!(undone(1), 1, "executed ahead, undone");
        assert_eq!(refused_at(cut_after_the_first_key(&blocks[1], vote)), vote);
        // The chain goes on from block 1 as if neither had come.
        for block in &blocks[1..] {
            engine.submit(block.clone()).expect("submit");
        }
        let summary = engine.finish().expect("finish");
        assert_eq!(summary.hashes, [want.ved_hash, want.ued_hash]);
        assert_eq!(
            shared.ved_undone.load(Relaxed),
            1,
            "nothing to undo after the cut vote"
        );
    }

    #[test]
    fn a_panic_in_submit_after_the_veds_copy_does_not_leave_the_ved_waiting() {
        let genesis = crate::genesis::Genesis::default_cluster();
        let dir = tempfile::tempdir().expect("dir");
        let engine = cpu_engine(&genesis, dir.path());
        let block = Block {
            header: crate::ledger::BlockHeader {
                slot: 1,
                parent_slot: 0,
                leader: genesis.validators[0].node,
                unix_timestamp_ms: genesis.cluster.unix_timestamp_ms + 400,
                blockhash: [9; 32],
            },
            transactions: Transactions::new(),
        };
        PANIC_AFTER_THE_VED_COPY.with(|p| p.set(true));
        let submitted =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.submit(block)));
        PANIC_AFTER_THE_VED_COPY.with(|p| p.set(false));
        assert!(submitted.is_err(), "the test's panic");
        // Dropping the engine closes its queues and joins its stages: the VED had a verdict.
        let (dropped, was_dropped) = bounded::<()>(1);
        std::thread::spawn(move || {
            drop(engine);
            let _ = dropped.send(());
        });
        assert!(
            was_dropped.recv_timeout(Duration::from_secs(60)).is_ok(),
            "the VED waited for the block's verdict for ever"
        );
    }
}
