//! The VED executor at epoch boundaries: the UED's handoff taken, the blocks since it gone
//! over for the accounts moving in and the UED's vote accounts, and the boundary crossed on its
//! own where the UED's state cannot change what it does to the VED (the module docs of
//! [`super`] say when).

use std::collections::{BTreeSet, VecDeque};

use super::{
    BlockUndo, EpochHandoff, GoneOver, INCOMING_VERIFICATIONS_PER_BLOCK, UedVoteNames, VedExecutor,
    VedSlot, by_key, names_may_change, stays_in_the_copy,
};
use crate::account::{Account, Mapping, Pubkey};
use crate::ledger::Block;
use crate::runtime::RuntimeError;
use crate::runtime::epoch;
use crate::runtime::ingest;
use crate::runtime::pass::{AccountSource, Overlay, Writer};
use crate::runtime::window::PayerTag;
use crate::sample::vote_program_id;
use crate::tx::Transaction;

impl VedExecutor {
    /// Takes the UED's handoff for the executor's epoch (module docs): the epoch bookkeeping
    /// becomes the UED's, whose freezes of the VED's accounts must be exactly the VED's (it
    /// executed the epoch with them) and whose moves must include every move the VED planned,
    /// at the same epoch, to the same mapping or back into the VED.
    pub fn receive_handoff(&mut self, handoff: EpochHandoff) -> Result<(), RuntimeError> {
        let mismatch = |reason: String| RuntimeError::BoundaryMismatch {
            slot: self.state.slot,
            reason,
        };
        if handoff.epoch != self.state.epoch {
            return Err(mismatch(format!(
                "the UED handed over epoch {} while the VED is in epoch {}",
                handoff.epoch, self.state.epoch
            )));
        }
        // The freezes decided what the VED's transactions did in this epoch: on its accounts
        // they must be the UED's exactly.
        let ved_frozen = self.state.frozen.keys().chain(handoff.frozen.keys());
        for key in ved_frozen.filter(|k| self.accounts.mapping_of(k) == Mapping::RwVed) {
            let (ved, ued) = (self.state.frozen.get(key), handoff.frozen.get(key));
            if ved != ued {
                return Err(mismatch(format!(
                    "the VED froze its account {key} for epoch {ved:?}, the UED for {ued:?}"
                )));
            }
        }
        // Every move the VED planned is the UED's too, at the same epoch — to the same mapping,
        // or back into the VED: a vote account joining from the UED uses an account that asked
        // to leave (the membership outweighs the remap, and only the UED's state shows it).
        for (key, &(target, at)) in &self.state.moves {
            match handoff.moves.get(key) {
                Some(&(t, a)) if a == at && (t == target || t == Mapping::RwVed) => {}
                other => {
                    return Err(mismatch(format!(
                        "it moves {key} to {target:?} at epoch {at}, the UED's boundary {other:?}"
                    )));
                }
            }
        }
        // The membership is the UED's, which counts the UED's vote accounts too; on the VED's
        // own vote accounts it must be the VED's.
        let program = vote_program_id();
        let sets = [
            (&self.state.ved_members, &handoff.ved_members, "epoch"),
            (
                &self.state.ved_members_next,
                &handoff.ved_members_next,
                "next epoch",
            ),
        ];
        for (ved, ued, which) in sets {
            let own = ved.union(ued).filter(|k| {
                !self.forgotten.contains(*k)
                    && self.accounts.get(k).is_some_and(|a| {
                        a.mapping == Mapping::RwVed && a.owner == program && a.lamports > 0
                    })
            });
            for key in own {
                if ved.contains(key) != ued.contains(key) {
                    return Err(mismatch(format!(
                        "the VED has its vote account {key} a member of the {which}: {}, the \
                         UED: {}",
                        ved.contains(key),
                        ued.contains(key)
                    )));
                }
            }
        }
        let EpochHandoff {
            epoch,
            slot,
            frozen,
            moves,
            mut ved_members,
            mut ved_members_next,
            incoming,
            incoming_entries,
            ued_vote_names,
        } = handoff;
        for key in &self.forgotten {
            ved_members.remove(key);
            ved_members_next.remove(key);
        }
        self.state.ved_members = ved_members;
        self.state.ved_members_next = ved_members_next;
        self.state.frozen = frozen;
        self.state.moves = moves;
        self.incoming = Some((epoch, by_key(incoming)));
        self.incoming_through = None;
        if let Some(entries) = incoming_entries {
            for signature in entries {
                self.state.signatures.insert(signature, PayerTag::UNKNOWN);
            }
            self.incoming_through = Some(slot);
        }
        self.ued_votes = Some(UedVoteNames {
            through: slot,
            names: ued_vote_names.into_iter().collect(),
            changed: false,
        });
        self.take_up_log();
        Ok(())
    }

    /// Takes up what the log said it had gone over of the blocks of its epoch
    /// (`GoneOver`) once it knows the epoch's handoff: the window entries its records kept
    /// are in the window ([`VedExecutor::replay`]), so, where the handoff's own entries are
    /// known, the window is whole up to the last slot whose record says so; and the UED's
    /// vote accounts were gone over up to the last slot whose record says so (an executor made
    /// from the store at a slot of the epoch names what the UED's vote accounts named there,
    /// which no transaction since may have changed unless the record says one may).
    pub(super) fn take_up_log(&mut self) {
        if !self.knows_incoming() {
            return;
        }
        let GoneOver {
            incoming_through,
            ued_votes_through,
        } = std::mem::take(&mut self.from_log);
        if let (Some(known), Some(logged)) = (self.incoming_through, incoming_through)
            && logged > known
        {
            self.incoming_through = Some(logged);
        }
        if let (Some(votes), Some((logged, changed))) = (&mut self.ued_votes, ued_votes_through)
            && logged > votes.through
        {
            votes.through = logged;
            votes.changed |= changed;
        }
    }

    /// Whether the executor knows the accounts moving into the VED at the end of its epoch.
    pub fn knows_incoming(&self) -> bool {
        self.awaits_handoff().is_none()
    }

    /// The blockhashes check 3 accepts in the block after the last slot executed.
    pub fn recent_blockhashes(&self) -> &VecDeque<[u8; 32]> {
        &self.state.recent_blockhashes
    }

    /// Goes over `block`, a block the executor has executed, for what the next boundary needs
    /// of the UED's part of it (module docs) — after its vote point, or, for the blocks it
    /// executed before the UED's handoff of its epoch came, once the handoff has come: it
    /// enters into the window the entries of the transactions of the accounts moving into the
    /// VED, and notes whether a UED transaction may have changed the UED's vote accounts.
    /// `payers` are the block's fee payers, `recent` the blockhashes check 3 accepted in it
    /// ([`VedExecutor::recent_blockhashes`] before it executed). Blocks must come in order from
    /// the handoff's slot on; a block before that changes nothing, and a gap — or a block with
    /// more of the moving accounts' transactions than [`INCOMING_VERIFICATIONS_PER_BLOCK`] —
    /// leaves what it knows incomplete: the VED will not cross the next boundary alone where
    /// that is needed.
    pub fn go_over(
        &mut self,
        block: &Block,
        payers: &[Pubkey],
        recent: &VecDeque<[u8; 32]>,
    ) -> Result<(), RuntimeError> {
        if !self.knows_incoming() {
            return Ok(());
        }
        let (parent, slot) = (block.header.parent_slot, block.header.slot);
        if let Some(votes) = &self.ued_votes
            && votes.through == parent
        {
            let changed = votes.changed || self.may_change_ued_vote_names(block, payers)?;
            self.ued_votes = self.ued_votes.take().map(|votes| UedVoteNames {
                through: slot,
                changed,
                ..votes
            });
        }
        if self.incoming_through == Some(parent) {
            // Past the limit the entries stay incomplete until the boundary.
            self.incoming_through = None;
            if let Some(entries) = self.incoming_entries(block, payers, recent)? {
                for signature in &entries {
                    self.state.signatures.insert(*signature, PayerTag::UNKNOWN);
                }
                self.pending_entries.extend(entries);
                self.incoming_through = Some(slot);
            }
        }
        Ok(())
    }

    /// Whether a transaction of `block` that is not the VED's (its payer, `payers[i]`, is no
    /// RW-VED account) may change which accounts the UED's vote accounts name: a vote
    /// `InitializeAccount` ([`names_may_change`]; whether it succeeds is not asked). Every other
    /// instruction leaves a vote account's voter and payer as they are, and the names the
    /// handoff carries are those of every UED vote account, eligible or not, so a stake
    /// delegated or an activation changes nothing the VED relies on. An account the system
    /// program gives the vote program holds zeros (`CreateAccount` allocates them, `Assign`
    /// succeeds only on an account whose data is all zeros), which is no vote state until
    /// `InitializeAccount`. Only transactions whose bytes hold the vote program's id are parsed
    /// (a program's id is never looked up from a table).
    fn may_change_ued_vote_names(
        &self,
        block: &Block,
        payers: &[Pubkey],
    ) -> Result<bool, RuntimeError> {
        let program = vote_program_id();
        let finder = memchr::memmem::Finder::new(&program.0);
        let slot = block.header.slot;
        for (index, wire) in block.transactions.iter().enumerate() {
            if finder.find(wire).is_none() || self.is_ved_payer(&payers[index]) {
                continue;
            }
            let tx = Transaction::parse(wire)
                .map_err(|error| RuntimeError::MalformedTransaction { slot, index, error })?;
            let message = tx.message();
            let keys = message.account_keys();
            let changes = message.instructions().iter().any(|ix| {
                keys[usize::from(ix.program_id_index)] == program && names_may_change(ix.data)
            });
            if changes {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The first signatures of the transactions of `block` paid by the incoming accounts that
    /// pass checks 1–3 (`recent`: the blockhashes check 3 accepts in it). Check 2 holds for
    /// them: an account that moves is no program. `None` when more than
    /// [`INCOMING_VERIFICATIONS_PER_BLOCK`] of them pass check 3: the executor does not verify
    /// them, and leaves the boundary to the UED.
    fn incoming_entries(
        &self,
        block: &Block,
        payers: &[Pubkey],
        recent: &VecDeque<[u8; 32]>,
    ) -> Result<Option<Vec<[u8; 64]>>, RuntimeError> {
        let incoming = match &self.incoming {
            Some((_, incoming)) if !incoming.is_empty() => incoming,
            _ => return Ok(Some(Vec::new())),
        };
        let slot = block.header.slot;
        let mut theirs = Vec::new();
        for index in (0..block.transactions.len()).filter(|&i| incoming.contains_key(&payers[i])) {
            let tx = Transaction::parse(&block.transactions[index])
                .map_err(|error| RuntimeError::MalformedTransaction { slot, index, error })?;
            if recent.contains(tx.message().recent_blockhash()) {
                if theirs.len() == INCOMING_VERIFICATIONS_PER_BLOCK {
                    return Ok(None);
                }
                theirs.push(tx);
            }
        }
        let valid = ingest::verify_signatures_with(&self.kernels.verifier, theirs.iter())?;
        Ok(Some(
            theirs
                .iter()
                .zip(valid)
                .filter(|(_, valid)| *valid)
                .map(|(tx, _)| tx.signatures()[0])
                .collect(),
        ))
    }

    /// Schedules the operator slashes that come with the next block, for the next boundary
    /// (as [`Runtime::schedule_slash`] does on the UED's side).
    ///
    /// [`Runtime::schedule_slash`]: crate::runtime::Runtime::schedule_slash
    pub fn schedule_slashes(&mut self, slashes: &[(Pubkey, u16)]) {
        self.state.slashes.extend_from_slice(slashes);
        self.block_slashes.extend_from_slice(slashes);
    }

    /// [`VedExecutor::schedule_slashes`] for the block the executor executed last, `done`,
    /// before ingest's verdict gave them: as if scheduled before it was executed (a block that
    /// crosses no boundary reads none).
    pub fn schedule_slashes_of_executed(&mut self, done: &mut VedSlot, slashes: &[(Pubkey, u16)]) {
        debug_assert_eq!(done.slot, self.state.slot);
        self.state.slashes.extend_from_slice(slashes);
        done.slashes.extend_from_slice(slashes);
    }

    /// Crosses the boundary into the epoch of `slot` on its own (module docs), with the
    /// runtime's boundary code over its copy. `Ok(false)` when it cannot know without the
    /// UED's state at the boundary: an account moves into the VED there and the window does
    /// not hold its entries for every block up to the boundary, or an account of the VED (a
    /// vote account, its voter or payer) may leave it by membership and it cannot rule out a
    /// vote account of the UED keeping it in. The block must then run on the joined state (and
    /// the executor is made afresh from it). Needs the handoff of its epoch
    /// ([`VedExecutor::awaits_handoff`]).
    pub fn enter_epoch(&mut self, slot: u64) -> Result<bool, RuntimeError> {
        self.cross(slot, false)
    }

    /// [`VedExecutor::enter_epoch`]; `logged`: the VED log says it crossed alone before a
    /// crash, with what it knew then.
    pub(super) fn cross(&mut self, slot: u64, logged: bool) -> Result<bool, RuntimeError> {
        let epoch = slot / self.cluster.slots_per_epoch;
        debug_assert_eq!(epoch, self.state.epoch + 1, "a block crosses one boundary");
        let Some((_, incoming)) = self
            .incoming
            .as_ref()
            .filter(|(e, _)| *e == self.state.epoch)
        else {
            return Err(RuntimeError::BoundaryMismatch {
                slot: self.state.slot,
                reason: format!(
                    "the UED has not handed epoch {} over to it",
                    self.state.epoch
                ),
            });
        };
        // An account moves in: its state is the handoff's, its window entries must be whole.
        if !logged && !incoming.is_empty() && self.incoming_through != Some(self.state.slot) {
            return Ok(false);
        }
        let incoming: Vec<Account> = incoming.values().cloned().collect();
        for account in &incoming {
            self.accounts.insert(account.clone());
        }
        let program = vote_program_id();
        let vote_accounts: BTreeSet<Pubkey> = self
            .accounts
            .values()
            .filter(|a| a.owner == program && a.lamports > 0)
            .map(|a| a.pubkey)
            .collect();
        // The bookkeeping a boundary changes, to put back if the VED cannot cross alone.
        let state = &self.state;
        let before = (
            state.frozen.clone(),
            state.moves.clone(),
            state.remap_requests.clone(),
            state.slashes.clone(),
            state.epoch,
            (state.ved_members.clone(), state.ved_members_next.clone()),
        );
        let mut overlay = Overlay::default();
        let entry = epoch::enter_epoch(
            epoch,
            &self.cluster,
            &self.accounts,
            &mut self.state,
            &mut overlay,
            &vote_accounts,
        )?;
        if !logged && !self.ued_keeps_none_of(&entry.members_leaving) {
            let state = &mut self.state;
            (
                state.frozen,
                state.moves,
                state.remap_requests,
                state.slashes,
                state.epoch,
                (state.ved_members, state.ved_members_next),
            ) = before;
            self.forget_unless_ved(&incoming);
            return Ok(false);
        }
        // The accounts it emptied stay as written for the boundary's block (the runtime's one
        // overlay): the block's execution takes them up.
        let (emptied, written): (Vec<_>, Vec<_>) = (overlay.take_accounts().into_iter())
            .partition(|(_, (account, _))| account.lamports == 0);
        self.absorb(written, None)?;
        self.boundary_emptied = emptied.into_iter().map(|(_, (a, _))| a).collect();
        self.forget_unless_ved(&incoming);
        // The next epoch's incoming accounts and the UED's vote accounts are not known yet; its
        // handoff will know of every deletion from the boundary's block on.
        self.incoming_through = None;
        self.ued_votes = None;
        self.from_log = GoneOver::default();
        self.forgotten.clear();
        Ok(true)
    }

    /// Whether no vote account of the UED can keep any of `leaving` (accounts of the VED that
    /// leave it by membership over the VED's accounts alone) in the VED at the boundary after
    /// the last slot (module docs): none names any of them at the handoff's slot, and no UED
    /// transaction of a block since then, up to the last slot, may have changed that.
    fn ued_keeps_none_of(&self, leaving: &BTreeSet<Pubkey>) -> bool {
        leaving.is_empty()
            || self.ued_votes.as_ref().is_some_and(|votes| {
                votes.through == self.state.slot
                    && !votes.changed
                    && leaving.iter().all(|key| !votes.names.contains(key))
            })
    }

    /// Drops from the executor's copy those of `accounts` that are not the VED's (an incoming
    /// account the boundary did not move in).
    fn forget_unless_ved(&mut self, accounts: &[Account]) {
        for account in accounts {
            let held = self.accounts.get(&account.pubkey);
            if held.is_some_and(|a| a.mapping != Mapping::RwVed) {
                self.accounts.remove(&account.pubkey);
            }
        }
    }

    /// Moves the executor's copy and `LtHash_VED` past `written` (a pass's or a boundary's
    /// overlay): an account with no lamports, or no longer the VED's, leaves the copy. Gives the
    /// accounts as written.
    pub(super) fn absorb(
        &mut self,
        written: Vec<(Pubkey, (Account, Writer))>,
        mut undo: Option<&mut BlockUndo>,
    ) -> Result<Vec<Account>, RuntimeError> {
        let held = &self.accounts;
        // In key order (`Overlay::take_accounts`'): the reuse of the last slot's joins walks
        // them in it.
        let pairs: Vec<(Option<&Account>, Option<&Account>)> = written
            .iter()
            .map(|(pubkey, (account, _))| {
                (held.get(pubkey), (account.lamports > 0).then_some(account))
            })
            .filter(|(old, new)| old != new)
            .collect();
        // On the VED's thread and its helpers: the vote point waits for it. The voters change
        // their accounts every slot, and those the last slot left as they are now (the copy
        // unchanged since) are not hashed again.
        let kept = self
            .kept_joins
            .take()
            .and_then(|(kept, stamp)| (stamp == held.stamp()).then_some(kept));
        let kept = self.state.hashes.apply_changes_keeping(
            &self.kernels.hasher,
            &pairs,
            &self.hash_helpers,
            kept,
            |key| held.get(key),
            stays_in_the_copy,
        )?;
        let mut changes = Vec::with_capacity(written.len());
        for (pubkey, (account, _)) in written {
            let was = if stays_in_the_copy(&account) {
                self.accounts.insert(account.clone())
            } else {
                self.accounts.remove(&pubkey)
            };
            if let Some(undo) = undo.as_deref_mut() {
                undo.accounts.push((pubkey, was));
            }
            if account.lamports == 0 {
                let state = &mut self.state;
                let member = (
                    pubkey,
                    state.ved_members.contains(&pubkey),
                    state.ved_members_next.contains(&pubkey),
                );
                state.forget_member(&pubkey); // as the runtime's commit does
                let forgotten = self.forgotten.insert(pubkey);
                if let Some(undo) = undo.as_deref_mut() {
                    undo.members.push(member);
                    if forgotten {
                        undo.forgotten.push(pubkey);
                    }
                }
            }
            changes.push(account);
        }
        self.kept_joins = kept.map(|kept| (kept, self.accounts.stamp()));
        Ok(changes)
    }

    /// Puts into `done`, the executor's last slot, what it has gone over since the slot
    /// before ([`VedExecutor::go_over`]): the incoming accounts' window entries decided, and
    /// whether the window holds them for every block up to it; and whether it has gone over
    /// every block up to it for the UED's vote accounts. Its record in the VED log keeps them,
    /// so that a restart does not go over those blocks again ([`VedExecutor::replay`]).
    pub fn finish_going_over(&mut self, done: &mut VedSlot) {
        done.incoming_entries = std::mem::take(&mut self.pending_entries);
        done.incoming_complete = self.incoming_through == Some(done.slot);
        done.ued_votes_gone_over = self
            .ued_votes
            .as_ref()
            .filter(|votes| votes.through == done.slot)
            .map(|votes| votes.changed);
    }
}
