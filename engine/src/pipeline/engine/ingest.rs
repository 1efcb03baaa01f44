//! The ingest stage, on the host's thread inside [`super::Engine::submit`]: the block checks of
//! SPEC §4, the guess of each transaction's domain part by part (the VED's sigverify stage takes
//! each part as it comes), the parse of every fee payer (SPEC §2) and the verdict, then the
//! hand-over of the [`Ingested`] block to both sigverify stages — the VED's first, the UED's
//! after the verdict. It also keeps the spare block buffers a host decodes the next blocks into.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, PoisonError};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, bounded};

use super::error::EngineError;
use super::{Cursor, Engine, refused_on_an_executor};
use crate::account::Pubkey;
use crate::ledger::{Block, Transactions};
use crate::pipeline::guess::{GUESS_PART, guess_ved_part};
use crate::pipeline::metrics::Activity;
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
    /// The transactions guessed VED, part by part as ingest guesses them ([`GUESS_PART`]),
    /// for the VED's sigverify stage; they end when ingest has guessed the block (or stopped).
    pub(super) ved_parts: Receiver<Vec<usize>>,
    /// Ingest's verdict, given while the VED's signatures are being verified: `None` when the
    /// block was refused.
    pub(super) verdict: OnceLock<Option<Accepted>>,
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
    /// The VED's signatures are verified while the block is parsed here: its transactions are
    /// guessed from their first account key
    /// ([`Transaction::peek_fee_payer`](crate::tx::Transaction::peek_fee_payer)) and handed to the
    /// VED's sigverify stage at once; the VED executes nothing before the verdict.
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
        let mut guess_part = |transactions: &Transactions, range: std::ops::Range<usize>| {
            let start = range.start;
            let part = guess_ved_part(transactions, range, &keys.payers);
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
                ved_parts,
                verdict: OnceLock::new(),
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
        // The parts end: the VED's sigverify stage has them all.
        drop(part_sender);
        let parsed = self.ingest.busy(|| ingest::fee_payers(&ingested.block));
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
