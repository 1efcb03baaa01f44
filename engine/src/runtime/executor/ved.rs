//! The VED executor's blocks: its own transactions picked by their payers, executed, hashed
//! to the vote point, undone where the verdict refuses the block, and replayed from the VED
//! log after a restart.

use hashbrown::HashSet;

use super::{BlockUndo, PayerGuess, VedExecutor, VedSlot, executed_votes};
use crate::account::{Domain, Mapping, Pubkey};
use crate::ledger::Block;
use crate::runtime::RuntimeError;
use crate::runtime::builtins::vote::VoteState;
use crate::runtime::ingest::{self, Admission};
use crate::runtime::pass::{self, AccountSource, Overlay, PassInput, Writer};
use crate::runtime::status::TxStatus;
use crate::runtime::ved_log::LoggedSlot;
use crate::runtime::window::PayerTag;
use crate::sample::vote_program_id;
use crate::tx::Transaction;

impl VedExecutor {
    /// Whether `payer` pays in the VED now (the RW-VED accounts the executor holds).
    pub fn is_ved_payer(&self, payer: &Pubkey) -> bool {
        self.accounts.is_ved(payer)
    }

    /// The RW-VED accounts now (the sigverify stage's guess of each transaction's domain).
    pub fn ved_payers(&self) -> HashSet<Pubkey> {
        self.accounts
            .values()
            .filter(|a| a.mapping == Mapping::RwVed)
            .map(|a| a.pubkey)
            .collect()
    }

    /// The keys that sign the VED's votes: the authorized voter and the fee payer of every
    /// RW-VED vote account, once each, in key order — the signers whose tables the VED's
    /// verifier builds ahead of their votes.
    pub fn vote_signers(&self) -> Vec<Pubkey> {
        let program = vote_program_id();
        let mut keys: Vec<Pubkey> = self
            .accounts
            .values()
            .filter(|a| a.mapping == Mapping::RwVed && a.owner == program)
            .filter_map(|a| VoteState::decode(&a.data))
            .flat_map(|v| [v.authorized_voter, v.fee_payer])
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// Executes the VED's part of `block` (which follows the last slot, crosses no epoch
    /// boundary, and parses: the ingest checked its header and every transaction). `payers[i]`
    /// is transaction `i`'s fee payer; `verified[i]` check 1's answer where the sigverify stage
    /// gave one. The VED parses only its own transactions (those whose payer is RW-VED now),
    /// and verifies, on the calling thread, any of them the sigverify stage left to the UED.
    pub fn execute(
        &mut self,
        block: &Block,
        payers: &[Pubkey],
        verified: &[Option<bool>],
    ) -> Result<VedSlot, RuntimeError> {
        self.execute_with(block, payers, verified, None)
    }

    /// [`VedExecutor::execute`], telling its own transactions from the user's with `guess`
    /// where it still holds (the RW-VED keys it was made with are those of
    /// [`VedExecutor::ved_keys_generation`] now): then only the transactions guessed VED are
    /// looked up, not every payer of the block (in a loaded block, 20,000 user payers read on
    /// the vote's path). Otherwise, as `execute`. The same results either way.
    pub fn execute_guessed(
        &mut self,
        block: &Block,
        payers: &[Pubkey],
        verified: &[Option<bool>],
        guess: PayerGuess<'_>,
    ) -> Result<VedSlot, RuntimeError> {
        self.execute_with(block, payers, verified, Some(guess))
    }

    /// The RW-VED keys the executor holds, as a number that changes whenever one more comes
    /// (at epoch boundaries; a fresh executor has its own): a [`PayerGuess`] made with the keys
    /// of the same number knows every payer in the VED now.
    pub fn ved_keys_generation(&self) -> u64 {
        self.accounts.ved_keys_generation()
    }

    /// The transactions of a block the VED executes: their indices, in order, and the others'
    /// (the UED's). With a `guess` that holds, among those guessed VED alone.
    fn own_transactions(
        &self,
        payers: &[Pubkey],
        guess: Option<PayerGuess<'_>>,
    ) -> (Vec<usize>, Vec<usize>) {
        let n = payers.len();
        let holds =
            |g: &PayerGuess<'_>| g.generation == self.ved_keys_generation() && g.ved.len() == n;
        // Without a guess that holds every payer is looked up; with one, only the guessed.
        let guess = guess.filter(holds);
        let guessed = |i: usize| guess.as_ref().is_none_or(|g| g.ved[i]);
        (0..n).partition(|&i| guessed(i) && self.is_ved_payer(&payers[i]))
    }

    fn execute_with(
        &mut self,
        block: &Block,
        payers: &[Pubkey],
        verified: &[Option<bool>],
        guess: Option<PayerGuess<'_>>,
    ) -> Result<VedSlot, RuntimeError> {
        let header = &block.header;
        let slot = header.slot;
        debug_assert_eq!(header.parent_slot, self.state.slot);
        debug_assert!(!self.crosses_boundary(block));
        let n = block.transactions.len();
        debug_assert_eq!(payers.len(), n, "a fee payer per transaction");
        let (mine, ued_transactions) = self.own_transactions(payers, guess);
        let transactions = mine
            .iter()
            .map(|&index| {
                Transaction::parse(&block.transactions[index])
                    .map_err(|error| RuntimeError::MalformedTransaction { slot, index, error })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let my_payers: Vec<Pubkey> = mine.iter().map(|&i| payers[i]).collect();

        // Check 1 for the VED's transactions the sigverify stage did not verify.
        let unverified: Vec<usize> = (0..mine.len())
            .filter(|&k| verified[mine[k]].is_none())
            .collect();
        let late = ingest::verify_signatures_with(
            &self.kernels.verifier,
            unverified.iter().map(|&k| &transactions[k]),
        )?;
        let mut valid: Vec<Option<bool>> = mine.iter().map(|&i| verified[i]).collect();
        for (&k, ok) in unverified.iter().zip(late) {
            valid[k] = Some(ok);
        }

        let mut compact = Admission {
            statuses: vec![None; mine.len()],
            payer_domain: vec![None; mine.len()],
        };
        // As the executor is now, for a verdict that refuses the block after this.
        let state = &self.state;
        let mut undo = Box::new(BlockUndo {
            slot: state.slot,
            unix_timestamp_ms: state.unix_timestamp_ms,
            recent_blockhashes: state.recent_blockhashes.clone(),
            hashes: Some(state.hashes.clone()),
            remap_requests: state.remap_requests.clone(),
            ved_keys_generation: self.accounts.ved_keys_generation(),
            boundary_emptied: self.boundary_emptied.clone(),
            ..BlockUndo::default()
        });
        undo.left_the_window = self.state.signatures.begin_block_undoably(slot);
        let accounts = &self.accounts;
        let entered = ingest::admit_some(
            &transactions,
            &my_payers,
            |k| valid[k].expect("every VED transaction is verified"),
            0..mine.len(),
            |key| accounts.mapping_of(key),
            &mut self.state,
            &mut compact,
        );

        let input = PassInput::new(
            &transactions,
            &compact.payer_domain,
            header,
            self.state.epoch,
        );
        let mut overlay = Overlay::default();
        // The accounts the boundary just crossed emptied, as written (see the field).
        for account in std::mem::take(&mut self.boundary_emptied) {
            overlay.put(account, Writer::Domain(Domain::Ved));
        }
        let sig_count = pass::run_pass(
            Domain::Ved,
            &self.accounts,
            &mut self.state,
            &mut overlay,
            &input,
            &mut compact.statuses,
            1,
        )?;
        let mut admission = Admission {
            statuses: vec![None; n],
            payer_domain: vec![None; n],
        };
        for (k, &i) in mine.iter().enumerate() {
            admission.statuses[i] = compact.statuses[k];
            admission.payer_domain[i] = compact.payer_domain[k];
        }

        // Its copy and LtHash move to the slot; its hash is the vote point.
        debug_assert!(
            overlay
                .changed()
                .all(|(_, (_, writer))| *writer == Writer::Domain(Domain::Ved))
        );
        let changes = self.absorb(overlay.take_accounts(), Some(&mut undo))?;
        self.state
            .hashes
            .chain_domain(Domain::Ved, sig_count, &header.blockhash);
        let state = &mut self.state;
        state.advance(slot, header.blockhash, header.unix_timestamp_ms);

        let votes = executed_votes(
            &transactions,
            |k| compact.statuses[k] == Some(TxStatus::Success),
            |key| self.stake_of(key),
        );
        let slashes = std::mem::take(&mut self.block_slashes);
        undo.block_slashes.clone_from(&slashes);
        self.last_block = Some(undo);
        let state = &self.state;
        Ok(VedSlot {
            slot,
            ved_hash: state.hashes.hash[Domain::Ved],
            ved_lthash: state.hashes.lthash[Domain::Ved].clone(),
            sig_count,
            admission,
            ued_transactions,
            verified: Vec::new(),
            entered,
            changes,
            remaps: overlay.remaps,
            votes,
            slashes,
            // Filled by `finish_going_over`, after the vote point.
            incoming_entries: Vec::new(),
            incoming_complete: false,
            ued_votes_gone_over: None,
        })
    }

    /// Grows the duplicate window now if a block like the last would make it grow
    /// ([`SignatureWindow::make_room_for_the_next_block`]): for after the vote point.
    ///
    /// [`SignatureWindow::make_room_for_the_next_block`]: crate::runtime::window::SignatureWindow::make_room_for_the_next_block
    pub fn make_room_for_the_next_block(&mut self) {
        self.state.signatures.make_room_for_the_next_block();
    }

    /// Leaves the executor as it was before its last [`VedExecutor::execute`]: for a block the
    /// VED executed before ingest's verdict, which then refused it. Its slashes
    /// ([`VedExecutor::schedule_slashes`] before it) are scheduled again with the next block.
    ///
    /// # Panics
    /// If the last block was settled ([`VedExecutor::settle_last_block`]) or undone already.
    pub fn undo_last_block(&mut self) {
        let undo = *self
            .last_block
            .take()
            .expect("a block executed and not settled");
        let BlockUndo {
            slot,
            unix_timestamp_ms,
            recent_blockhashes,
            hashes,
            remap_requests,
            left_the_window,
            accounts,
            members,
            forgotten,
            block_slashes,
            ved_keys_generation,
            boundary_emptied,
        } = undo;
        self.boundary_emptied = boundary_emptied;
        for (key, was) in accounts.into_iter().rev() {
            self.accounts.restore(&key, was);
        }
        // The RW-VED keys are the ones held before the block again: so is their generation. A
        // key the block deleted came back through an insert, which gave a fresh one, and every
        // guess made with the generation before (the next blocks', published at the boundary)
        // would have been refused until the next boundary — the VED waiting for each block's
        // verdict instead of executing ahead (found in review). Nothing reads the generation
        // between the block and its undo: both are on the VED's thread, and keys are published
        // at boundaries, which no block executed ahead crosses.
        self.accounts
            .restore_ved_keys_generation(ved_keys_generation);
        let state = &mut self.state;
        for (key, member, next) in members.into_iter().rev() {
            if member {
                state.ved_members.insert(key);
            }
            if next {
                state.ved_members_next.insert(key);
            }
        }
        for key in &forgotten {
            self.forgotten.remove(key);
        }
        state.signatures.undo_block(left_the_window);
        state.slot = slot;
        state.unix_timestamp_ms = unix_timestamp_ms;
        state.recent_blockhashes = recent_blockhashes;
        state.hashes = hashes.expect("the hashes before the block");
        state.remap_requests = remap_requests;
        // The slashes stay scheduled (in `state.slashes`), for the block that comes instead.
        self.block_slashes = block_slashes;
        // The last slot's joins were of the block undone.
        self.kept_joins = None;
    }

    /// Lets go of what the last [`VedExecutor::execute`] kept to undo it: its block was
    /// accepted (after its vote point: the accounts it replaced are freed here).
    pub fn settle_last_block(&mut self) {
        self.last_block = None;
    }
}

impl VedExecutor {
    /// Moves the executor past a slot it executed before a crash, from the slot's record in the
    /// VED log ([`crate::runtime::ved_log`]) instead of executing it again: its writes, its window
    /// entries, its remap requests, its slashes and its hashes; a slot that crossed an epoch
    /// boundary crosses it again, as it did then; and how far it had gone over the blocks of
    /// its epoch for the next boundary (`GoneOver`), taken up now or when the UED hands the
    /// epoch over again. The result is the state executing the block gave (the tests compare
    /// them).
    pub fn replay(&mut self, logged: &LoggedSlot) -> Result<(), RuntimeError> {
        let ved = &logged.ved;
        self.schedule_slashes(&ved.slashes);
        self.block_slashes.clear();
        if ved.slot / self.cluster.slots_per_epoch != self.state.epoch {
            // It crossed alone before the crash, knowing the UED's state could not change the
            // boundary: the window entries of the accounts moving in of the blocks the store
            // has are in its window, the others in this record and those before it.
            self.cross(ved.slot, true)?;
            // The block took up what the boundary emptied: its changes below hold them.
            self.boundary_emptied.clear();
        }
        let state = &mut self.state;
        debug_assert_eq!(logged.parent_slot, state.slot);
        state.signatures.begin_block(ved.slot);
        for signature in ved.entered.iter().chain(&ved.incoming_entries) {
            state.signatures.insert(*signature, PayerTag::UNKNOWN);
        }
        for (pubkey, target) in &ved.remaps {
            state.remap_requests.insert(*pubkey, *target);
        }
        for account in &ved.changes {
            if account.lamports == 0 {
                self.accounts.remove(&account.pubkey);
                state.forget_member(&account.pubkey);
                self.forgotten.insert(account.pubkey);
            } else {
                self.accounts.insert(account.clone());
            }
        }
        state.hashes.lthash[Domain::Ved] = ved.ved_lthash.clone();
        state.hashes.hash[Domain::Ved] = ved.ved_hash;
        state.advance(ved.slot, logged.blockhash, logged.unix_timestamp_ms);
        if ved.incoming_complete {
            self.from_log.incoming_through = Some(ved.slot);
        }
        if let Some(changed) = ved.ued_votes_gone_over {
            // A change seen once stays seen (the records of one run carry it on already).
            let before = self.from_log.ued_votes_through.is_some_and(|(_, c)| c);
            self.from_log.ued_votes_through = Some((ved.slot, changed || before));
        }
        self.take_up_log();
        Ok(())
    }
}
