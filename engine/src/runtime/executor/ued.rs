//! The UED executor — the [`Runtime`], owner of the store — and what it hands the VED: the
//! VED executor made from it, the epoch handoffs, and each slot's UED pass and commit.

use std::collections::BTreeSet;
use std::sync::Arc;

use hashbrown::{HashMap, HashSet};

use super::{
    EpochHandoff, GoneOver, UedVoteNames, VedExecutor, VedKernels, VedSlot, by_key,
    in_the_ved_copy, tx_outcomes,
};
use crate::account::{Account, Domain, Mapping, PerDomain, Pubkey};
use crate::cluster::VoteReport;
use crate::ledger::Block;
use crate::pipeline::HelperPool;
use crate::runtime::builtins::vote::VoteState;
use crate::runtime::ingest::{self, VerifiedBlock};
use crate::runtime::pass::{self, AccountSource, Overlay, PassInput, Writer};
use crate::runtime::status::TxStatus;
use crate::runtime::ved_accounts::VedAccounts;
use crate::runtime::window::PayerTag;
use crate::runtime::{BlockOutcome, Runtime, RuntimeError, TxOutcome};
use crate::sample::vote_program_id;
use crate::store::Store;
use crate::tx::Transaction;

impl Runtime {
    /// A VED executor starting at the runtime's last executed slot (module docs).
    pub fn ved_executor(&self) -> VedExecutor {
        let accounts = self
            .store
            .keys()
            .filter(|(_, mapping)| in_the_ved_copy(*mapping))
            .filter_map(|(key, _)| self.store.inspect(&key).map(|a| (key, a.to_account())))
            .collect();
        VedExecutor {
            kernels: Arc::new(VedKernels::dedicated(self.backend)),
            cluster: self.cluster,
            state: self.state.clone(),
            accounts: VedAccounts::new(accounts),
            incoming: Some((
                self.state.epoch,
                by_key(self.incoming_images(&self.incoming_to_ved())),
            )),
            // Its window is the runtime's: whole up to the runtime's slot.
            incoming_through: Some(self.state.slot),
            pending_entries: Vec::new(),
            ued_votes: Some(UedVoteNames {
                through: self.state.slot,
                names: self.ued_vote_names().into_iter().collect(),
                changed: false,
            }),
            forgotten: HashSet::new(),
            block_slashes: Vec::new(),
            from_log: GoneOver::default(),
            hash_helpers: Arc::new(HelperPool::none()),
            kept_joins: None,
            last_block: None,
            boundary_emptied: Vec::new(),
        }
    }

    /// The accounts `keys` as the store holds them.
    fn incoming_images(&self, keys: &[Pubkey]) -> Vec<Account> {
        keys.iter()
            .filter_map(|key| self.store.inspect(key).map(|a| a.to_account()))
            .collect()
    }

    /// What the VED needs from the UED to cross the next boundary on its own (module docs):
    /// the epoch bookkeeping now, and the accounts moving into the VED at the next boundary.
    pub fn epoch_handoff(&self) -> EpochHandoff {
        let incoming = self.incoming_to_ved();
        let incoming_entries = if incoming.is_empty() {
            Some(Vec::new())
        } else {
            let tags = incoming.iter().map(PayerTag::of).collect();
            self.state.signatures.entries_paid_by(&tags)
        };
        EpochHandoff {
            epoch: self.state.epoch,
            slot: self.state.slot,
            ved_members: self.state.ved_members.clone(),
            ved_members_next: self.state.ved_members_next.clone(),
            frozen: self.state.frozen.clone(),
            moves: self.state.moves.clone(),
            incoming: self.incoming_images(&incoming),
            incoming_entries,
            ued_vote_names: self.ued_vote_names(),
        }
    }

    /// Every account a vote account of the UED names as its authorized voter or fee payer now
    /// ([`EpochHandoff::ued_vote_names`]).
    fn ued_vote_names(&self) -> BTreeSet<Pubkey> {
        let mut names = BTreeSet::new();
        for key in &self.vote_accounts {
            let Some(account) = self.store.inspect(key) else {
                continue;
            };
            let program = vote_program_id();
            if account.mapping != Mapping::RwUed
                || account.owner != program
                || account.lamports == 0
            {
                continue;
            }
            if let Some(vote) = VoteState::decode(&account.data) {
                names.extend([vote.authorized_voter, vote.fee_payer]);
            }
        }
        names
    }

    /// The UED's accounts that move into the VED at the next boundary.
    fn incoming_to_ved(&self) -> Vec<Pubkey> {
        let next = self.state.epoch + 1;
        self.state
            .moves
            .iter()
            .filter(|(_, (target, at))| *target == Mapping::RwVed && *at <= next)
            .filter(|(key, _)| {
                Store::mapping_of(&self.store, key).is_some_and(|m| m != Mapping::RwVed)
            })
            .map(|(key, _)| *key)
            .collect()
    }

    /// The UED executor's part of a block the VED executor crossed an epoch boundary with on
    /// its own (module docs): the whole block on the joined state, check 1's answers taken from
    /// the VED's statuses, its `verified` and `ued_valid`, then the VED's hash and statuses
    /// checked against the runtime's.
    pub fn execute_crossed(
        &mut self,
        block: &Block,
        ved: VedSlot,
        ued_valid: impl Fn(usize) -> Option<bool>,
    ) -> Result<BlockOutcome, RuntimeError> {
        let slot = block.header.slot;
        assert_eq!(ved.slot, slot, "the VED's slot is the block's");
        let verified: HashMap<usize, bool> = ved.verified.iter().copied().collect();
        let valid = (0..block.transactions.len())
            .map(|i| match ved.admission.statuses[i] {
                Some(status) => status != TxStatus::InvalidSignature,
                None => verified
                    .get(&i)
                    .copied()
                    .or_else(|| ued_valid(i))
                    .expect("every UED transaction is verified"),
            })
            .collect();
        let outcome = self.execute_verified(&VerifiedBlock::from_parts(block, valid)?)?;
        let mismatch = |reason: String| RuntimeError::BoundaryMismatch { slot, reason };
        if outcome.ved_hash != ved.ved_hash {
            return Err(mismatch(format!(
                "its hash {} is not the runtime's {}",
                bs58::encode(ved.ved_hash).into_string(),
                bs58::encode(outcome.ved_hash).into_string()
            )));
        }
        for (i, status) in ved.admission.statuses.iter().enumerate() {
            if let Some(status) = status
                && outcome.transactions[i].status != *status
            {
                return Err(mismatch(format!(
                    "it gave transaction {i} {status:?}, the runtime {:?}",
                    outcome.transactions[i].status
                )));
            }
        }
        Ok(outcome)
    }

    /// The UED executor's part of `block` (module docs), after the VED's `ved`: checks 1–4 for
    /// the transactions the VED left (`ued_valid(i)` is check 1's answer for those the VED did
    /// not verify), the UED pass on the runtime's UED threads, the hashes and the commit of the
    /// slot. Gives the block's outcome, as [`Runtime::execute_block`] does.
    pub fn execute_ued(
        &mut self,
        block: &Block,
        transactions: &[Transaction<'_>],
        payers: &[Pubkey],
        ved: VedSlot,
        ued_valid: impl Fn(usize) -> Option<bool>,
    ) -> Result<BlockOutcome, RuntimeError> {
        self.changing(block, |rt| {
            rt.run_ued(block, transactions, payers, ved, ued_valid)
        })
    }

    fn run_ued(
        &mut self,
        block: &Block,
        transactions: &[Transaction<'_>],
        payers: &[Pubkey],
        ved: VedSlot,
        ued_valid: impl Fn(usize) -> Option<bool>,
    ) -> Result<BlockOutcome, RuntimeError> {
        let header = &block.header;
        let slot = header.slot;
        assert_eq!(ved.slot, slot, "the VED's slot is the block's");
        let VedSlot {
            ved_hash,
            ved_lthash,
            sig_count: ved_sig_count,
            mut admission,
            ued_transactions,
            verified,
            entered,
            changes,
            remaps,
            votes,
            ..
        } = ved;

        // The window as the VED entered it, then checks 1–4 for the UED's transactions,
        // against the accounts before the slot.
        self.state.signatures.begin_block(slot);
        for signature in entered {
            // The VED decided check 4 against its own window, which must hold every entry of
            // its payers (those of accounts that moved in included): one the joined window
            // holds already is a transaction about to run twice — the engine stops instead.
            if !self.state.signatures.insert(signature, PayerTag::VED_PAYER) {
                return Err(RuntimeError::BoundaryMismatch {
                    slot,
                    reason: format!(
                        "the VED ran a transaction whose first signature {} the duplicate \
                         window holds already",
                        bs58::encode(signature).into_string()
                    ),
                });
            }
        }
        let verified: HashMap<usize, bool> = verified.into_iter().collect();
        let store = &self.store;
        ingest::admit_some(
            transactions,
            payers,
            |i| {
                verified
                    .get(&i)
                    .copied()
                    .or_else(|| ued_valid(i))
                    .expect("every UED transaction is verified")
            },
            ued_transactions,
            |key| AccountSource::mapping_of(store, key),
            &mut self.state,
            &mut admission,
        );
        for (pubkey, target) in remaps {
            self.state.remap_requests.insert(pubkey, target);
        }

        // The UED pass, with the VED's changes of the slot in front of the store.
        let mut overlay = Overlay::default();
        for account in changes {
            overlay.put(account, Writer::Domain(Domain::Ved));
        }
        let epoch = self.epoch_of(slot);
        let input = PassInput::new(transactions, &admission.payer_domain, header, epoch);
        let ued_sig_count = pass::run_pass(
            Domain::Ued,
            &self.store,
            &mut self.state,
            &mut overlay,
            &input,
            &mut admission.statuses,
            self.ued_threads,
        )?;
        let sig_counts = PerDomain {
            ved: ved_sig_count,
            ued: ued_sig_count,
        };
        let txs = tx_outcomes(transactions, admission);
        let accounts_changed = self.commit(
            slot,
            overlay,
            sig_counts,
            header,
            Some((ved_lthash, ved_hash)),
            transactions,
            &txs,
            &votes,
        )?;
        Ok(self.outcome(slot, txs, sig_counts, accounts_changed, votes))
    }

    /// A block's outcome: its transactions' (from [`tx_outcomes`]) and the hashes now.
    pub(in crate::runtime) fn outcome(
        &self,
        slot: u64,
        transactions: Vec<TxOutcome>,
        sig_counts: PerDomain<u64>,
        accounts_changed: usize,
        votes: Vec<VoteReport>,
    ) -> BlockOutcome {
        BlockOutcome {
            votes,
            slot,
            ved_hash: self.hash(Domain::Ved),
            ued_hash: self.hash(Domain::Ued),
            sig_counts,
            transactions,
            accounts_changed,
        }
    }
}
