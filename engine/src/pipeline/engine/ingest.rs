//! The ingest stage, on the host's thread inside [`super::Engine::submit`]: the block checks of
//! SPEC §4, the guess of each transaction's domain part by part (the VED's sigverify stage takes
//! each part as it comes), the parse of every fee payer (SPEC §2) and the verdict, then the
//! hand-over of the [`Ingested`] block to both sigverify stages — the VED's first, the UED's
//! after the verdict. A loaded block's parse waits until its votes' signatures are verified,
//! and runs on the sigverify PUs that are not the VED's, while the VED executes the block ahead
//! of the verdict ([`super::ved`]): the parse of 20,000 user transactions then takes no PU
//! from the votes' checks nor from the VED. It also keeps the spare block buffers a host decodes the next blocks into.
//!
//! A block the host holds encoded ([`Engine::submit_encoded`], the C ABI's way) is read where
//! its bytes lie: the guess reads them there, each part's transactions guessed VED are copied
//! for the VED's sigverify stage as they are guessed, and the VED executes ahead on a view of
//! the block with its own transactions alone ([`Ingested::ved_view`]). The rest — a loaded
//! block's 4.6 MB — is copied where its parse runs, after the votes' signatures are checked:
//! copied first, it was 0.6–1.0 ms before the first vote could be checked, and the C ABI's
//! time-to-vote under load 1.14–1.23× the idle one on the model-207 Xeon guest (2026-12-06).

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};

use super::error::EngineError;
use super::{Cursor, Engine, refused_on_an_executor};
use crate::account::{PerDomain, Pubkey};
#[cfg(test)]
use crate::ledger::LedgerError;
use crate::ledger::{Block, BlockHeader, EncodedBlock, Transactions};
use crate::pipeline::guess::{GUESS_PART, guess_ved_wires};
use crate::pipeline::metrics::Activity;
use crate::runtime::executor::PayerGuess;
use crate::runtime::{RuntimeError, check_block_header, ingest};

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
    pub(super) header: BlockHeader,
    /// How many transactions it holds.
    pub(super) count: usize,
    /// The block whole: from the start where the host handed it decoded ([`Engine::submit`]);
    /// where it handed its encoding with user transactions in it
    /// ([`Engine::submit_encoded`]), copied once the votes' signatures are checked, beside
    /// the VED executing ahead, and always before the verdict.
    block: OnceLock<Block>,
    /// For the VED executing before the verdict, while the block is not whole yet: the block
    /// with only the transactions guessed VED copied, each other one left empty in its place
    /// ([`EncodedBlock::decode_some_into`]). `None` where the block is whole from the start.
    /// Set with the whole guess.
    ved_view: OnceLock<Option<Block>>,
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
    pub(super) ved_parts: Receiver<Part>,
    /// Ingest's verdict, given while the VED's signatures are being verified: `None` when the
    /// block was refused.
    pub(super) verdict: OnceLock<Option<Accepted>>,
    /// Rung by the VED's sigverify stage once it has verified the block's votes: ingest parses
    /// the rest of a loaded block after that ([`Engine::submit`]).
    pub(super) votes_checked: (Sender<()>, Receiver<()>),
    /// Set by the VED as it begins to wait for the verdict, having executed the block ahead of
    /// it (or begun to: a transaction of its own that does not parse stops it): the moment a
    /// test holding the verdict back waits for.
    #[cfg(test)]
    pub(super) went_ahead: std::sync::atomic::AtomicBool,
}

impl Drop for Ingested {
    fn drop(&mut self) {
        // Kept unless the spares are full (or the engine is gone): a loaded block's megabytes
        // are then written again in place, instead of fresh pages faulted in and zeroed for
        // each block and returned to the OS after it.
        if let (Some(spares), Some(block)) = (&self.spares, self.block.take()) {
            let mut buffer = block.transactions;
            buffer.clear();
            let _ = spares.try_send(buffer);
        }
    }
}

/// Transactions of a block a sigverify stage verifies together.
pub(super) struct Part {
    /// Their indices in the block, in order.
    pub(super) indices: Vec<usize>,
    /// Their bytes, in the same order, where the block is not whole yet (copied from the
    /// host's encoding of it); `None`: read them in the block.
    pub(super) wires: Option<Transactions>,
}

impl Ingested {
    /// The block whole, as the stages after the verdict read it.
    ///
    /// # Panics
    /// Before ingest's verdict on an encoded block with user transactions (it is copied
    /// whole before the verdict).
    pub(super) fn block(&self) -> &Block {
        self.block
            .get()
            .expect("a block is whole before ingest's verdict")
    }

    /// The block as the VED may read it before the verdict: whole, or with only the
    /// transactions guessed VED in it ([`Ingested::ved_view`]'s field) — `Some(true)` then.
    /// `None` before the whole guess, and where ingest stopped before it.
    pub(super) fn ved_view(&self) -> Option<(&Block, bool)> {
        match self.ved_view.get()? {
            Some(view) => Some((view, true)),
            None => self.block.get().map(|block| (block, false)),
        }
    }

    /// Each transaction of `part` with its index: from the part's own bytes, or the block's.
    pub(super) fn wires_of<'s>(
        &'s self,
        part: &'s Part,
    ) -> impl Iterator<Item = (usize, &'s [u8])> + 's {
        // The part's own bytes lie in its order, the block's at the indices.
        let (source, own) = match &part.wires {
            Some(wires) => (wires, true),
            None => (&self.block().transactions, false),
        };
        let at = move |k: usize, i: usize| if own { k } else { i };
        (part.indices.iter().enumerate()).map(move |(k, &i)| (i, &source[at(k, i)]))
    }

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
        let _ = self.0.ved_view.set(None);
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

    /// Waits until the VED's sigverify stage has verified `ingested`'s votes, for at most
    /// `limit`, or until a stage has failed: the VED's sigverify stage rings when it fails
    /// itself, but one that stops because the VED failed drops the blocks queued to it
    /// unrung, and `submit` waited out the whole limit (an hour in some tests), the cursor
    /// held, every other `submit` waiting behind it. Found in review.
    fn wait_for_the_votes(&self, ingested: &Ingested, limit: Duration) {
        /// How often a failure is looked for meanwhile.
        const LOOK: Duration = Duration::from_millis(10);
        #[cfg(test)]
        self.shared.waits_for_votes.fetch_add(1, Ordering::Relaxed);
        let began = Instant::now();
        loop {
            let left = limit.saturating_sub(began.elapsed());
            match ingested.votes_checked.1.recv_timeout(left.min(LOOK)) {
                Err(RecvTimeoutError::Timeout)
                    if !left.is_zero() && self.shared.failure().is_none() => {}
                _ => return,
            }
        }
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
        self.submit_incoming(Incoming::Decoded(block), received)
    }

    /// As [`Engine::submit_received`], for a block the host holds encoded
    /// ([`EncodedBlock::begin`], as `tandem_engine_submit_block` does): the engine copies
    /// its transactions itself, the VED's as it guesses them and the rest after their
    /// signatures are checked (where the block has user transactions), so that a loaded
    /// block's megabytes are not copied before its votes are verified. Into a block buffer
    /// the engine spares ([`Engine::spare_transactions`]).
    ///
    /// `block` may be walked in part ([`EncodedBlock::begin`]): ingest walks the rest part by
    /// part as it guesses them, and a block whose bytes it finds are not one block is refused
    /// ([`EngineError::Undecodable`]) and changes nothing.
    pub fn submit_encoded(
        &self,
        block: EncodedBlock<'_>,
        received: Instant,
    ) -> Result<(), EngineError> {
        // Its copies go into the spares, and back there after it.
        self.recycling.store(true, Ordering::Relaxed);
        self.submit_incoming(Incoming::Encoded(block), received)
    }

    /// [`Engine::submit_received`] and [`Engine::submit_encoded`].
    fn submit_incoming(
        &self,
        mut block: Incoming<'_>,
        received: Instant,
    ) -> Result<(), EngineError> {
        let entered = Instant::now();
        if let Err(e) = refused_on_an_executor("Engine::submit") {
            return Err(block.undecodable_first(e));
        }
        if let Some(failure) = self.shared.failure() {
            return Err(block.undecodable_first(EngineError::Failed(failure)));
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
        incoming: Incoming<'_>,
        submitted: Instant,
        cursor: &mut Cursor,
    ) -> Result<(), EngineError> {
        let header = *incoming.header();
        // The votes' signatures wait for the guess: the VED's sigverify stage takes the block
        // after its first part, and each part after as ingest guesses it.
        let n = incoming.len();
        let (part_sender, ved_parts) = bounded(n.div_ceil(GUESS_PART).max(1));
        let keys = self.shared.ved_keys();
        // Room for the count's claim where the allocator gives it (an encoded block's count is
        // checked against its bytes' length only, and a first key takes 32 bytes to a
        // transaction's 4 at the least), else grown as the parts are guessed.
        let mut ved_guess = Vec::new();
        let _ = ved_guess.try_reserve_exact(n);
        let mut first_key_room = Vec::new();
        let _ = first_key_room.try_reserve_exact(n);
        let mut first_keys = Some(first_key_room);
        // An encoded block until it is copied whole.
        let mut copying = false;
        let (block, mut encoded) = match incoming {
            Incoming::Decoded(block) => (Some(block), None),
            Incoming::Encoded(encoded) => (None, Some(encoded)),
        };
        let mut guess_part = |wires: Wires<'_>, range: std::ops::Range<usize>| {
            let start = range.start;
            let part = guess_ved_wires(range.map(|i| wires.get(i)), &keys.payers, |key| {
                match (&mut first_keys, key) {
                    (Some(keys), Some(key)) => keys.push(key),
                    (keys, _) => *keys = None,
                }
            });
            let mine = (start..).zip(&part).filter(|(_, v)| **v).map(|(i, _)| i);
            let mine = mine.collect::<Vec<usize>>();
            ved_guess.extend(part);
            mine
        };
        // A part of a block not whole yet takes its transactions' bytes along, copied from the
        // host's encoding as they are guessed. Never full (a place per part), nor closed while
        // `ingested` lives.
        let send_part = |indices: Vec<usize>, pending: Option<&EncodedBlock<'_>>| {
            let wires =
                pending.map(|e| indices.iter().map(|&i| Wires::Encoded(e).get(i)).collect());
            let _ = part_sender.try_send(Part { indices, wires });
        };
        let ingested = self.ingest.busy(|| {
            check_block_header(
                &header,
                cursor.slot,
                cursor.unix_timestamp_ms,
                self.slots_per_epoch,
            )
            .map_err(|e| match e {
                // Resumed with the VED ahead, a host that went on after the VED's slot (its
                // `ved_slot` metric) was told only the UED's: say which blocks come again.
                RuntimeError::ParentMismatch {
                    slot, parent, last, ..
                } if last < self.ved_resumed_slot => RuntimeError::ParentMismatch {
                    slot,
                    parent,
                    last,
                    logged: Some(self.ved_resumed_slot),
                },
                e => e,
            })
            .map_err(|e| undecodable_first(encoded.as_mut(), EngineError::Rejected(e)))?;
            let first_part = 0..n.min(GUESS_PART);
            if let Some(encoded) = &mut encoded {
                encoded
                    .walk_to(first_part.end)
                    .map_err(EngineError::Undecodable)?;
            }
            let wires = match (&encoded, &block) {
                (Some(encoded), _) => Wires::Encoded(encoded),
                (None, block) => Wires::Decoded(&block.as_ref().expect("decoded").transactions),
            };
            let first = guess_part(wires, first_part);
            // An encoded block of votes alone in one part (no user load): copied whole at once.
            let block = match &encoded {
                Some(encoded) if n <= GUESS_PART && first.len() == n => {
                    Some(encoded.decode_into(self.spare_transactions()))
                }
                _ => block,
            };
            copying = encoded.is_some() && block.is_none();
            send_part(first, encoded.as_ref().filter(|_| copying));
            Ok::<_, EngineError>(Arc::new(Ingested {
                header,
                count: n,
                block: block.map_or_else(OnceLock::new, OnceLock::from),
                ved_view: OnceLock::new(),
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
                #[cfg(test)]
                went_ahead: Default::default(),
            }))
        })?;
        // Each queue's depth as ingest fills it: a stage stuck on one block shows its queue
        // growing, not the depth it last took from.
        let send = |queue: &Option<Sender<Arc<Ingested>>>,
                    stage: &crate::pipeline::metrics::StageMetrics| {
            let queue = queue.as_ref().expect("open until finish");
            let sent = self.ingest.blocked(|| queue.send(Arc::clone(&ingested)));
            stage.set_queue_depth(queue.len() as u64);
            sent.map_err(|_| self.stopped())
        };
        let PerDomain {
            ved: ved_sigverify,
            ued: ued_sigverify,
        } = &self.sigverify_stages;
        send(&self.ved_sigs, ved_sigverify).map_err(|e| undecodable_first(encoded.as_mut(), e))?;
        // The VED waits for the verdict before anything else: a panic from here to it (a parser
        // bug) gives it one, the block refused, instead of leaving it (and `finish`, and the
        // engine's drop) waiting for ever.
        let _refused_unless_decided = RefusedUnlessDecided(&ingested);
        #[cfg(test)]
        if tests::PANIC_AFTER_THE_VED_COPY.with(std::cell::Cell::get) {
            panic!("the test's panic after the VED's copy");
        }
        let walked = self.ingest.busy(|| {
            // An encoded block's later parts are walked and guessed over the host's bytes,
            // cold where the copy used to warm them (0.4–0.5 ms for a loaded block): on the
            // votes' helper PUs, as the parse after them, not on the VED's sigverify thread's.
            let later_parts = copying && n > GUESS_PART;
            let pus: &[usize] = if later_parts { &self.parse_pus } else { &[] };
            let _there = crate::pipeline::pin::confine_current_thread(pus);
            for start in (GUESS_PART..n).step_by(GUESS_PART) {
                let part = start..n.min(start + GUESS_PART);
                if let Some(encoded) = &mut encoded {
                    encoded.walk_to(part.end)?;
                }
                let wires = match &encoded {
                    Some(encoded) => Wires::Encoded(encoded),
                    None => Wires::Decoded(&ingested.block().transactions),
                };
                let mine = guess_part(wires, part);
                send_part(mine, encoded.as_ref().filter(|_| copying));
            }
            Ok(())
        });
        if let Err(e) = walked {
            // Not one block: refused (the VED executes nothing before the guess is whole).
            let _ = ingested.verdict.set(None);
            return Err(EngineError::Undecodable(e));
        }
        let pending = encoded.as_ref().filter(|_| copying);
        self.ingest.busy(|| {
            // An encoded block of votes alone is copied whole now (its parse follows at once);
            // one with user transactions gives the VED a view of its own transactions until
            // the rest is copied, after their signatures are checked.
            let view = match pending {
                Some(encoded) if ved_guess.contains(&false) => {
                    Some(encoded.decode_some_into(Transactions::new(), |i| ved_guess[i]))
                }
                Some(encoded) => {
                    let spare = self.spare_transactions();
                    let _ = ingested.block.set(encoded.decode_into(spare));
                    None
                }
                None => None,
            };
            let _ = ingested.ved_view.set(view);
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
            self.wait_for_the_votes(&ingested, limit);
            self.ingest.add_time(Activity::Idle, waited.elapsed());
        }
        #[cfg(test)]
        if tests::HOLD_THE_VERDICT.with(std::cell::Cell::get) {
            let held = Instant::now();
            let went_ahead = || ingested.went_ahead.load(Ordering::Relaxed);
            while !went_ahead() && held.elapsed() < std::time::Duration::from_secs(60) {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            assert!(went_ahead(), "the VED went ahead of the held verdict");
        }
        let parsed = self.ingest.busy(|| {
            let pus: &[usize] = if beside_the_ved { &self.parse_pus } else { &[] };
            let _there = crate::pipeline::pin::confine_current_thread(pus);
            // The rest of an encoded block, copied where its parse runs.
            if let Some(encoded) = pending {
                let _ = ingested
                    .block
                    .get_or_init(|| encoded.decode_into(self.spare_transactions()));
            }
            ingest::fee_payers(ingested.block())
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
                    .insert(header.slot, Arc::clone(&ingested));
                let _ = ingested.verdict.set(Some(Accepted {
                    payers: payers.into(),
                    slashes,
                    decided: Instant::now(),
                }));
            }
        }
        cursor.slot = header.slot;
        cursor.unix_timestamp_ms = header.unix_timestamp_ms;
        // The UED's copy after the verdict: the UED side sees accepted blocks only, and a block
        // reaches the VED's executor only when the UED side holds it, so the UED can always
        // finish what the VED hands it (no stage waits on a queue behind it).
        send(&self.ued_sigs, ued_sigverify)?;
        self.ingest.add_items(1);
        Ok(())
    }
}

/// `refused`, unless `encoded`'s bytes are not one block: that error then, as a decode before
/// the submit gave it first (the C ABI answered `TANDEM_ERR_INVALID_ARGUMENT` to such bytes
/// before it handed blocks over encoded, whatever else was wrong). Walked on the way to an
/// error only.
fn undecodable_first(encoded: Option<&mut EncodedBlock<'_>>, refused: EngineError) -> EngineError {
    match encoded.map(|block| block.walk_to(block.len())) {
        Some(Err(broken)) => EngineError::Undecodable(broken),
        _ => refused,
    }
}

/// A block as the host hands it to [`Engine::submit`] or [`Engine::submit_encoded`].
enum Incoming<'b> {
    /// Decoded: every transaction in the engine's buffer from the start.
    Decoded(Block),
    /// Read where its encoding lies, in the host's bytes for the call.
    Encoded(EncodedBlock<'b>),
}

impl Incoming<'_> {
    /// [`undecodable_first`] for the block.
    fn undecodable_first(&mut self, refused: EngineError) -> EngineError {
        match self {
            Incoming::Decoded(_) => refused,
            Incoming::Encoded(encoded) => undecodable_first(Some(encoded), refused),
        }
    }

    fn header(&self) -> &BlockHeader {
        match self {
            Incoming::Decoded(block) => &block.header,
            Incoming::Encoded(encoded) => &encoded.header,
        }
    }

    fn len(&self) -> usize {
        match self {
            Incoming::Decoded(block) => block.transactions.len(),
            Incoming::Encoded(encoded) => encoded.len(),
        }
    }
}

/// Where ingest's guess reads a block's transactions.
#[derive(Clone, Copy)]
enum Wires<'w> {
    Decoded(&'w Transactions),
    Encoded(&'w EncodedBlock<'w>),
}

impl<'w> Wires<'w> {
    fn get(self, index: usize) -> &'w [u8] {
        match self {
            Wires::Decoded(transactions) => &transactions[index],
            Wires::Encoded(encoded) => encoded.get(index).expect("a transaction of the block"),
        }
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
        /// Holds `submit` back, before it parses the block for its verdict, until the VED has
        /// executed the block ahead of the verdict ([`Ingested::went_ahead`]), however late its
        /// thread comes (60 s at most: then `submit` panics, the case not reached).
        pub(super) static HOLD_THE_VERDICT: std::cell::Cell<bool> =
            const { std::cell::Cell::new(false) };
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

    /// The default cluster, the blocks of `config`'s workload, and the VED and UED hashes the
    /// runtime behind `tandem replay` reaches after them.
    fn blocks_and_their_hashes(
        config: crate::workload::WorkloadConfig,
    ) -> (crate::genesis::Genesis, Vec<Block>, [[u8; 32]; 2]) {
        let genesis = crate::genesis::Genesis::default_cluster();
        let scratch = tempfile::tempdir().expect("dir");
        let (blocks, _) =
            crate::workload::generate_all(&genesis, &config, scratch.path()).expect("generated");
        let reference = tempfile::tempdir().expect("dir");
        let mut runtime = crate::runtime::Runtime::open(&genesis, reference.path()).expect("open");
        let last = blocks
            .iter()
            .map(|b| runtime.execute_block(b).expect("block"))
            .last()
            .expect("blocks");
        (genesis, blocks, [last.ved_hash, last.ued_hash])
    }

    /// [`submit_as`] with ingest's verdict held back until the VED has executed the block
    /// ahead of it ([`HOLD_THE_VERDICT`]).
    fn submit_with_a_late_verdict(
        engine: &Engine,
        block: Block,
        encoded: bool,
    ) -> Result<(), EngineError> {
        HOLD_THE_VERDICT.with(|d| d.set(true));
        let submitted = submit_as(engine, block, encoded);
        HOLD_THE_VERDICT.with(|d| d.set(false));
        submitted
    }

    /// The blocks the VED of `engine` has undone, once there are `want` (or after 60 s: the
    /// VED undoes a block after `submit` gave the verdict).
    fn undone(engine: &Engine, want: usize) -> usize {
        use std::sync::atomic::Ordering::Relaxed;
        let began = std::time::Instant::now();
        while engine.shared.ved_undone.load(Relaxed) < want && began.elapsed().as_secs() < 60 {
            std::thread::sleep(Duration::from_millis(1));
        }
        engine.shared.ved_undone.load(Relaxed)
    }

    /// Hands `block` to `engine` decoded ([`Engine::submit`]) or `encoded`
    /// ([`Engine::submit_encoded`], as the C ABI does).
    fn submit_as(engine: &Engine, block: Block, encoded: bool) -> Result<(), EngineError> {
        if !encoded {
            return engine.submit(block);
        }
        let bytes = block.encode().expect("encodes");
        let block = EncodedBlock::begin(&bytes).expect("a header and a count");
        engine.submit_encoded(block, Instant::now())
    }

    #[test]
    fn a_failing_vote_sigverify_does_not_leave_ingest_waiting_out_its_limit() {
        // Ingest parses a loaded block's user part once the votes' signatures are verified, or
        // after its yield limit: the VED's sigverify stage failing rang nothing, and ingest
        // (its submit) waited the whole limit — for ever at Duration::MAX.
        use crate::workload::WorkloadConfig;
        let (genesis, blocks, _) = blocks_and_their_hashes(WorkloadConfig {
            slots: 2,
            transfers: 200,
            seed: 8,
            ..WorkloadConfig::default()
        });
        let dir = tempfile::tempdir().expect("dir");
        let config = crate::pipeline::EngineConfig {
            backend: crate::runtime::Backend::Cpu,
            ued_yield_limit: Duration::from_secs(120),
            ..crate::pipeline::EngineConfig::default()
        };
        let engine = Engine::open(&genesis, dir.path(), config, Default::default()).expect("open");
        engine
            .shared
            .fail_vote_sigverify
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let began = Instant::now();
        let _ = engine.submit(blocks[0].clone());
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "submit waited {:?} for the votes' answers",
            began.elapsed()
        );
        assert!(
            engine.finish().is_err(),
            "the engine stopped on the kernel error"
        );
    }

    #[test]
    fn a_submit_waiting_for_its_votes_learns_at_once_that_the_ved_failed() {
        // The VED held in its vote hook at slot 2 with its queue full (slots 3 to 6) and its
        // sigverify stage holding slot 7; slot 8's submit waits for its votes' answers, with a
        // limit of two minutes. The VED then fails (its hook panics): its sigverify stage stops
        // on its send and drops slot 8 unrung, and the submit waited out its limit.
        use crate::workload::WorkloadConfig;

        let (genesis, blocks, _) = blocks_and_their_hashes(WorkloadConfig {
            slots: 8,
            transfers: 50,
            seed: 13,
            ..WorkloadConfig::default()
        });
        let (entered, at_the_vote) = bounded::<()>(1);
        let (release, gate) = bounded::<()>(0);
        let hooks = crate::pipeline::EngineHooks {
            on_vote: Some(Box::new(move |vote: crate::pipeline::Vote| {
                if vote.slot == 2 {
                    let _ = entered.send(());
                    let _ = gate.recv();
                    panic!("the test's VED failure");
                }
            })),
            ..Default::default()
        };
        let config = crate::pipeline::EngineConfig {
            backend: crate::runtime::Backend::Cpu,
            ued_yield_limit: Duration::from_secs(120),
            ..crate::pipeline::EngineConfig::default()
        };
        let dir = tempfile::tempdir().expect("dir");
        let engine = Engine::open(&genesis, dir.path(), config, hooks).expect("engine");
        for block in &blocks[..2] {
            submit_as(&engine, block.clone(), false).expect("submit");
        }
        at_the_vote
            .recv_timeout(Duration::from_secs(60))
            .expect("the VED at slot 2's vote");
        for block in &blocks[2..7] {
            submit_as(&engine, block.clone(), false).expect("submit");
        }
        let waits = || engine.shared.waits_for_votes.load(Ordering::Relaxed);
        let before = waits();
        std::thread::scope(|scope| {
            let waiting = scope.spawn(|| {
                let began = Instant::now();
                (
                    submit_as(&engine, blocks[7].clone(), false),
                    began.elapsed(),
                )
            });
            let began = Instant::now();
            while waits() == before && began.elapsed() < Duration::from_secs(60) {
                std::thread::sleep(Duration::from_millis(1));
            }
            assert_eq!(waits(), before + 1, "slot 8's submit waits for its votes");
            drop(release);
            // Accepted or refused as the failure's moment decides: not after an hour.
            let (_, took) = waiting.join().expect("no panic");
            assert!(took < Duration::from_secs(60), "submit waited {took:?}");
        });
        let finished = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.finish()));
        assert!(finished.is_err(), "finish passes the VED's panic on");
    }

    #[test]
    fn a_block_the_ved_executed_ahead_of_a_verdict_that_refused_it_is_undone() {
        executed_ahead_refused_and_undone(false);
    }

    /// The same through the encoding: the VED executes the block ahead of the verdict while
    /// only its own transactions are copied (the rest is copied after the votes' signatures
    /// are checked, where the verdict's parse runs).
    #[test]
    fn an_encoded_block_executed_ahead_on_the_veds_transactions_alone_is_undone_when_refused() {
        executed_ahead_refused_and_undone(true);
    }

    fn executed_ahead_refused_and_undone(encoded: bool) {
        use std::sync::atomic::Ordering::Relaxed;

        use crate::runtime::RuntimeError;
        use crate::workload::WorkloadConfig;

        let (genesis, blocks, want) = blocks_and_their_hashes(WorkloadConfig {
            slots: 4,
            transfers: 200,
            seed: 5,
            ..WorkloadConfig::default()
        });
        let dir = tempfile::tempdir().expect("dir");
        let engine = cpu_engine(&genesis, dir.path());
        let shared = Arc::clone(&engine.shared);
        submit_as(&engine, blocks[0].clone(), encoded).expect("submit");
        let guess =
            crate::pipeline::guess::guess_ved(&blocks[1].transactions, &shared.ved_keys().payers);
        let user = guess.iter().position(|v| !v).expect("a user transaction");
        let vote = guess.iter().position(|v| *v).expect("a vote");
        // The verdict held back until the VED has executed the block (its votes are verified
        // before ingest parses the rest) and waits for it: the cut transfer refuses the block,
        // and the VED undoes it; a cut vote stops the VED before it changes anything.
        let refused_at = |cut: Block| match submit_with_a_late_verdict(&engine, cut, encoded) {
            Err(EngineError::Rejected(RuntimeError::MalformedTransaction {
                slot: 2,
                index,
                ..
            })) => index,
            other => panic!("{other:?}"),
        };
        let on_a_view = || shared.ved_ahead_on_a_view.load(Relaxed);
        let before = on_a_view();
        assert_eq!(refused_at(cut_after_the_first_key(&blocks[1], user)), user);
        assert_eq!(undone(&engine, 1), 1, "executed ahead, undone");
        // Encoded, the VED went ahead on its own transactions, the user's not copied yet.
        let went_ahead = on_a_view() - before;
        assert_eq!(went_ahead, usize::from(encoded), "executed ahead on a view");
        assert_eq!(refused_at(cut_after_the_first_key(&blocks[1], vote)), vote);
        // The chain goes on from block 1 as if neither had come.
        for block in &blocks[1..] {
            submit_as(&engine, block.clone(), encoded).expect("submit");
        }
        let summary = engine.finish().expect("finish");
        assert_eq!(summary.hashes, want);
        assert_eq!(
            shared.ved_undone.load(Relaxed),
            1,
            "nothing to undo after the cut vote"
        );
    }

    /// Bytes whose header and count are sound but that are not one block past the first part
    /// ingest walks — an oversized length, a cut, a byte after the block — are refused with the
    /// error a decode gives them, after the VED's sigverify stage took the first part, and the
    /// chain goes on as if they had not come.
    #[test]
    fn an_encoding_broken_past_its_first_part_is_refused_as_a_decode_refuses_it() {
        use crate::ledger::{BLOCK_HEADER_LEN, MAX_TRANSACTION_LEN};
        use crate::workload::WorkloadConfig;

        let (genesis, blocks, want) = blocks_and_their_hashes(WorkloadConfig {
            slots: 2,
            transfers: GUESS_PART + 100,
            seed: 11,
            ..WorkloadConfig::default()
        });
        let dir = tempfile::tempdir().expect("dir");
        let engine = cpu_engine(&genesis, dir.path());
        let shared = Arc::clone(&engine.shared);
        submit_as(&engine, blocks[0].clone(), true).expect("submit");
        let block = &blocks[1];
        let late = GUESS_PART + 50;
        assert!(
            block.transactions.len() > late,
            "a block of more than one part"
        );
        let bytes = block.encode().expect("encodes");
        // Transaction `late`'s length field, past the first part.
        let field = BLOCK_HEADER_LEN
            + 4
            + block
                .transactions
                .iter()
                .take(late)
                .map(|w| 4 + w.len())
                .sum::<usize>();
        let mut oversized = bytes.clone();
        oversized[field..field + 4]
            .copy_from_slice(&(MAX_TRANSACTION_LEN as u32 + 1).to_le_bytes());
        let mut trailing = bytes.clone();
        trailing.push(0);
        let cut = &bytes[..field + 2];
        let sigverified = || shared.ved_sigverified.load(Ordering::Relaxed);
        for broken in [&oversized[..], &trailing[..], cut] {
            let decoded = Block::decode(broken)
                .expect_err("not one block")
                .to_string();
            let before = sigverified();
            let encoded = EncodedBlock::begin(broken).expect("a sound header and count");
            match engine.submit_encoded(encoded, Instant::now()) {
                Err(EngineError::Undecodable(e)) => assert_eq!(e.to_string(), decoded),
                other => panic!("{other:?}"),
            }
            // The VED's sigverify stage had the first part before the walk found the fault.
            let began = Instant::now();
            while sigverified() == before && began.elapsed().as_secs() < 60 {
                std::thread::sleep(Duration::from_millis(1));
            }
            assert!(sigverified() > before, "the first part's votes went ahead");
        }
        submit_as(&engine, block.clone(), true).expect("the sound block");
        let summary = engine.finish().expect("finish");
        assert_eq!(summary.hashes, want);
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

    /// An engine whose UED failed (its outcome hook panics) on the first of two blocks,
    /// submitted `encoded` or not; a waiter for the next slot has learnt the failure. With its
    /// store and the blocks.
    fn an_engine_whose_ued_failed(encoded: bool) -> (tempfile::TempDir, Engine, Vec<Block>) {
        let config = crate::workload::WorkloadConfig {
            slots: 2,
            seed: 5,
            transfers: 40,
            ..crate::workload::WorkloadConfig::default()
        };
        let (genesis, blocks, _) = blocks_and_their_hashes(config);
        let hooks = super::super::EngineHooks {
            on_outcome: Some(Box::new(|o| assert!(o.slot != 1, "the test's UED fails"))),
            ..super::super::EngineHooks::default()
        };
        let dir = tempfile::tempdir().expect("dir");
        let config = super::super::EngineConfig {
            backend: crate::runtime::Backend::Cpu,
            ..super::super::EngineConfig::default()
        };
        let engine = Engine::open(&genesis, dir.path(), config, hooks).expect("engine");
        submit_as(&engine, blocks[0].clone(), encoded).expect("the first block");
        // A waiter for the next slot learns the failure.
        let waited = engine.wait_hash(crate::account::Domain::Ued, 2, Duration::from_secs(60));
        assert!(matches!(waited, Err(EngineError::Failed(_))), "{waited:?}");
        (dir, engine, blocks)
    }

    /// A UED that fails while the VED waits for it at an epoch boundary stops the VED's wait:
    /// the boundary's job, which holds the reply's sender, stays in the UED's queue, kept open
    /// by the VED's own sender, so the reply never closed, and the VED waited out its patience
    /// (ten minutes by default) and then for ever (a black-box test's resumed run, its UED out
    /// of disk before the boundary of slot 64, never exited). Here the reply's sender is kept
    /// as that queue kept it, on an engine whose UED failed.
    #[test]
    fn a_wait_at_a_boundary_ends_when_the_engine_fails() {
        let (_dir, engine, _) = an_engine_whose_ued_failed(false);
        let shared = std::sync::Arc::clone(&engine.shared);
        let (answered, answer) = crossbeam_channel::bounded::<()>(1);
        let (done, ended) = crossbeam_channel::bounded(1);
        std::thread::spawn(move || {
            let metrics = shared.metrics.stage("ved").expect("the VED's metrics");
            let patience = Duration::from_secs(600);
            let _ = done.send(super::super::ved::wait_for_ued(
                &shared, &metrics, &answer, patience, 64,
            ));
        });
        let ended = ended.recv_timeout(Duration::from_secs(60));
        assert!(matches!(ended, Ok(None)), "{ended:?}: the wait went on");
        drop(answered);
        let finished = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.finish()));
        assert!(finished.is_err(), "finish passes the panic on");
    }

    /// A failed engine answers a transaction that would stay `Pending` with its failure: it
    /// answered `Pending` for ever, and a host polling for the final status never stopped
    /// (found by a review of the engine's waits). A final answer stays one. And it gives no
    /// hash, not even of a slot it executed before it failed (a black-box test of the C ABI:
    /// restarted with the VED ahead, the logged VED hash of a slot whose block the host had
    /// just contradicted).
    #[test]
    fn a_failed_engine_answers_with_its_failure_what_it_will_not_decide_and_gives_no_hash() {
        use crate::runtime::status_index::ExecutionStatus;
        let (_dir, engine, blocks) = an_engine_whose_ued_failed(false);
        let ued_tx = blocks[0]
            .transactions
            .iter()
            .filter_map(crate::tx::Transaction::peek_first_signature)
            .find(|signature| {
                let view = engine.transaction(signature, 0).expect("decided");
                view.domain == Some(crate::account::Domain::Ued)
            })
            .expect("a UED transaction in the committed block");
        assert!(matches!(
            engine.execution_status(&ued_tx, 0),
            Ok(ExecutionStatus::Final(_))
        ));
        // No validator's vote confirms it, and none will come.
        let waiting = engine.execution_status(&ued_tx, 10_000);
        assert!(
            matches!(waiting, Err(EngineError::Failed(_))),
            "{waiting:?}"
        );
        // Nor does it give the hashes it published before it failed: no more vote points.
        for domain in [crate::account::Domain::Ved, crate::account::Domain::Ued] {
            for waited in [
                engine.wait_hash(domain, 1, Duration::ZERO),
                engine.wait_hash_unless_halted(domain, 1, Duration::ZERO),
            ] {
                assert!(
                    matches!(waited, Err(EngineError::Failed(_))),
                    "{domain:?}: {waited:?}"
                );
            }
        }
        let finished = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.finish()));
        assert!(finished.is_err(), "finish passes the panic on");
    }

    /// On an engine that has failed, bytes that are not one block are refused as such, as a
    /// decode before the submit refused them first; sound bytes get the failure.
    #[test]
    fn a_failed_engine_refuses_bytes_not_one_block_as_such() {
        let (_dir, engine, blocks) = an_engine_whose_ued_failed(true);
        let mut bytes = blocks[1].encode().expect("encodes");
        let sound = EncodedBlock::begin(&bytes).expect("a header and a count");
        let failed = engine.submit_encoded(sound, Instant::now());
        assert!(matches!(failed, Err(EngineError::Failed(_))), "{failed:?}");
        bytes.push(0);
        let broken = EncodedBlock::begin(&bytes).expect("a header and a count");
        let refused = engine.submit_encoded(broken, Instant::now());
        assert!(
            matches!(
                refused,
                Err(EngineError::Undecodable(LedgerError::TrailingBytes {
                    extra: 1,
                    ..
                }))
            ),
            "{refused:?}"
        );
        let finished = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.finish()));
        assert!(finished.is_err(), "finish passes the panic on");
    }

    /// A refused block that deleted an account of the VED (a payer sending all it has), undone,
    /// leaves the VED's keys as they were — and their generation: the next block still goes
    /// ahead of its verdict on the VED's own transactions (it waited for every verdict until
    /// the next boundary when the undo gave the keys a fresh generation).
    #[test]
    fn a_refused_block_that_deleted_a_ved_account_leaves_the_next_one_going_ahead() {
        use std::sync::atomic::Ordering::Relaxed;

        use crate::genesis::default_keypair_seed;
        use crate::runtime::RuntimeError;
        use crate::workload::WorkloadConfig;

        let (genesis, blocks, want) = blocks_and_their_hashes(WorkloadConfig {
            slots: 3,
            transfers: 200,
            seed: 6,
            ..WorkloadConfig::default()
        });
        let dir = tempfile::tempdir().expect("dir");
        let engine = cpu_engine(&genesis, dir.path());
        let shared = Arc::clone(&engine.shared);
        submit_as(&engine, blocks[0].clone(), true).expect("submit");
        // Validator 0's node sends validator 1's all it has but the fee, after the fees of its
        // transactions before (its votes, one signature each): deleted when executed.
        let node = genesis.validators[0].node;
        let fee = crate::runtime::pass::FEE_PER_SIGNATURE;
        let its_votes = blocks[..2]
            .iter()
            .flat_map(|b| b.transactions.iter())
            .filter(|w| crate::tx::Transaction::peek_fee_payer(w) == Some(node))
            .count() as u64;
        assert!(its_votes >= 1, "validator 0 votes in block 2");
        let lamports = genesis.account(&node).expect("listed").lamports - fee * its_votes;
        let message = crate::sample::transfer_message(
            node,
            genesis.validators[1].node,
            lamports - fee,
            blocks[0].header.blockhash,
        );
        let key = ed25519_dalek::SigningKey::from_bytes(&default_keypair_seed("validator-0"));
        let drain = crate::tx::Transaction::sign(&message, &[&key]).expect("signed");
        let mut refused = blocks[1].clone();
        refused.transactions.push(&drain);
        let guess =
            crate::pipeline::guess::guess_ved(&refused.transactions, &shared.ved_keys().payers);
        assert!(guess.last() == Some(&true), "the drain is the VED's");
        let user = guess.iter().position(|v| !v).expect("a user transaction");
        let on_a_view = || shared.ved_ahead_on_a_view.load(Relaxed);
        let submit_late = |block: Block| submit_with_a_late_verdict(&engine, block, true);
        let before = on_a_view();
        match submit_late(cut_after_the_first_key(&refused, user)) {
            Err(EngineError::Rejected(RuntimeError::MalformedTransaction { index, .. })) => {
                assert_eq!(index, user);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(on_a_view(), before + 1, "the refused block went ahead");
        assert_eq!(undone(&engine, 1), 1, "and was undone");
        submit_late(blocks[1].clone()).expect("submit");
        assert_eq!(on_a_view(), before + 2, "the next block went ahead too");
        submit_as(&engine, blocks[2].clone(), true).expect("submit");
        assert_eq!(engine.finish().expect("finish").hashes, want);
    }

    #[test]
    fn a_ved_payer_drained_in_an_accepted_block_pays_as_the_ueds_from_the_next() {
        // Validator 0's node drains itself in block 2 (deleted: RW-UED from then on, SPEC §1)
        // and signs again in block 3 — its vote and a transfer, guessed the VED's by a guess
        // whose generation still matches. The engine, encoded and decoded, gives replay's
        // statuses and hashes: both fail InsufficientFundsForFee, in the UED.
        use crate::genesis::default_keypair_seed;
        use crate::runtime::{Runtime, TxStatus};
        use crate::workload::WorkloadConfig;

        let (genesis, mut blocks, _) = blocks_and_their_hashes(WorkloadConfig {
            slots: 3,
            transfers: 50,
            seed: 9,
            ..WorkloadConfig::default()
        });
        let node = genesis.validators[0].node;
        let fee = crate::runtime::pass::FEE_PER_SIGNATURE;
        let paid = |b: &Block| {
            (b.transactions.iter())
                .filter(|w| crate::tx::Transaction::peek_fee_payer(w) == Some(node))
                .count() as u64
        };
        let its_votes = paid(&blocks[0]) + paid(&blocks[1]);
        assert!(paid(&blocks[2]) >= 1, "validator 0 votes in block 3");
        let lamports = genesis.account(&node).expect("listed").lamports - fee * its_votes;
        let key = ed25519_dalek::SigningKey::from_bytes(&default_keypair_seed("validator-0"));
        let send = |lamports: u64, recent: [u8; 32]| {
            let message =
                crate::sample::transfer_message(node, genesis.validators[1].node, lamports, recent);
            crate::tx::Transaction::sign(&message, &[&key]).expect("signed")
        };
        let drain = send(lamports - fee, blocks[0].header.blockhash);
        let again = send(1, blocks[1].header.blockhash);
        blocks[1].transactions.push(&drain);
        blocks[2].transactions.push(&again);
        let reference = tempfile::tempdir().expect("dir");
        let mut runtime = Runtime::open(&genesis, reference.path()).expect("open");
        let outcomes: Vec<_> = (blocks.iter())
            .map(|b| runtime.execute_block(b).expect("block"))
            .collect();
        let last = outcomes.last().expect("blocks");
        let failed = last.transactions.last().expect("the transfer");
        assert_eq!(failed.status, TxStatus::InsufficientFundsForFee);
        assert_eq!(failed.domain, Some(crate::account::Domain::Ued));
        for encoded in [true, false] {
            let dir = tempfile::tempdir().expect("dir");
            let engine = cpu_engine(&genesis, dir.path());
            for block in &blocks {
                submit_as(&engine, block.clone(), encoded).expect("submit");
            }
            let signature = failed.signature.expect("signed");
            let hashes = engine.finish().expect("finish").hashes;
            assert_eq!(hashes, [last.ved_hash, last.ued_hash], "encoded: {encoded}");
            let stored = crate::runtime::status_index::StatusIndex::load(dir.path(), 3)
                .expect("the store's statuses");
            let tx = stored.get(&signature).expect("indexed");
            assert_eq!((tx.status, tx.domain), (failed.status, failed.domain));
        }
    }

    /// A host that never asks for a spare buffer ([`Engine::spare_transactions`]) has none
    /// kept: each block's buffer is freed when the engine is done with it, and one that asks
    /// has them kept. Read once `finish` has joined every stage, which let every block go (it
    /// was read after a fixed 300 ms, which a late stage made pass with the blocks still held).
    #[test]
    fn an_engine_keeps_no_buffers_for_a_host_that_never_asks_for_them() {
        use crossbeam_channel::TryRecvError;

        let (genesis, blocks, want) = blocks_and_their_hashes(crate::workload::WorkloadConfig {
            slots: 4,
            transfers: 200,
            seed: 11,
            ..crate::workload::WorkloadConfig::default()
        });
        for asks in [false, true] {
            let dir = tempfile::tempdir().expect("dir");
            let engine = cpu_engine(&genesis, dir.path());
            let kept = engine.spares.1.clone();
            if asks {
                assert_eq!(engine.spare_transactions().byte_capacity(), 0, "none yet");
            }
            for block in &blocks {
                submit_as(&engine, block.clone(), false).expect("submit");
            }
            assert_eq!(engine.finish().expect("finish").hashes, want);
            match kept.try_recv() {
                Err(TryRecvError::Disconnected) => assert!(!asks, "a buffer kept for the host"),
                Ok(buffer) => {
                    assert!(asks, "a buffer kept for a host that never asked");
                    assert!(buffer.byte_capacity() > 0, "a block's buffer");
                }
                Err(TryRecvError::Empty) => unreachable!("the engine's own sender is gone"),
            }
        }
    }

    /// A block the VED executed ahead of a late verdict: the vote path's `ved_executed` step
    /// is when its execution ended, before the verdict — not the later of the two (it was
    /// read after the VED had waited for the verdict).
    #[test]
    fn the_vote_paths_executed_step_of_a_block_executed_ahead_comes_before_its_verdict() {
        let (genesis, blocks, _) = blocks_and_their_hashes(crate::workload::WorkloadConfig {
            slots: 2,
            transfers: 200,
            seed: 7,
            ..crate::workload::WorkloadConfig::default()
        });
        let dir = tempfile::tempdir().expect("dir");
        let (votes, paths) = crossbeam_channel::unbounded();
        let hooks = crate::pipeline::EngineHooks {
            on_vote: Some(Box::new(move |vote: crate::pipeline::Vote| {
                let _ = votes.send((vote.slot, vote.path));
            })),
            ..Default::default()
        };
        let config = crate::pipeline::EngineConfig {
            backend: crate::runtime::Backend::Cpu,
            ..crate::pipeline::EngineConfig::default()
        };
        let engine = Engine::open(&genesis, dir.path(), config, hooks).expect("engine");
        submit_as(&engine, blocks[0].clone(), true).expect("submit");
        submit_with_a_late_verdict(&engine, blocks[1].clone(), true).expect("submit");
        drop(engine.finish().expect("finish"));
        let (slot, path) = paths.iter().last().expect("votes");
        assert_eq!(slot, 2, "both blocks voted on");
        // The verdict held until the VED executed the block: it comes after the execution.
        let path = path.expect("the VED executed the block");
        assert!(
            path.ved_executed < path.verdict,
            "executed {:?} after the hand-over, the verdict {:?}",
            path.ved_executed,
            path.verdict
        );
    }
}
