//! The two domain executors that let the VED run ahead of the UED (SPEC §4–§5; the pipeline in
//! [`crate::pipeline::engine`] runs each on its own pinned thread).
//!
//! Between epoch boundaries the domains share nothing they write: a VED transaction reads and
//! writes RW-VED accounts and programs only (anything else fails check 6), a UED transaction
//! never reads an RW-VED account, and a payer's domain changes only at a boundary. So:
//!
//! - the [`VedExecutor`] keeps its own copy of the RW-VED accounts and the programs (a few
//!   thousand accounts: vote accounts and their payers), the duplicate and blockhash windows,
//!   and the VED's LtHash and hash chain. For each block it decides which transactions are its
//!   own (payer in RW-VED), checks 1–4 for them, runs the VED pass and chains `hash_VED` — the
//!   vote point — without touching the store or waiting for the UED. It hands a [`VedSlot`] on.
//! - the UED executor is the [`Runtime`] itself, the owner of the store: for each slot, in order,
//!   [`Runtime::execute_ued`] enters the VED's window entries, decides checks 1–4 for the other
//!   transactions, runs the UED pass over the store with the VED's changes of the slot in front,
//!   and commits the slot — both domains' changes, and the runtime state whose hashes equal the
//!   sequential runtime's.
//!
//! At an epoch boundary the domains meet (SPEC §5), and the VED crosses it on its own whenever
//! the UED's state cannot change what the boundary does to the VED:
//!
//! - entering epoch `E + 1`, the VED needs the epoch bookkeeping the boundary into `E` decided
//!   for both domains: which accounts are frozen, which move where. The UED hands it over, as a
//!   message ([`EpochHandoff`], [`Runtime::epoch_handoff`]), once it has entered `E`: the VED
//!   waits for it only when the UED lags by a whole epoch — SPEC §5's backpressure point.
//! - an account moving *into* the VED brings its past with it: its state at the end of the epoch
//!   before (the freeze is total, SPEC §5, so it is the state the UED hands over once it has
//!   entered the epoch: [`EpochHandoff::incoming`]), and its transactions' entries in the
//!   duplicate-signature window (SPEC §2: one window for both domains, so that no signed
//!   transaction runs twice, even after its payer moved). The window needs no execution state
//!   (checks 1–3: signatures, a payer that is no program, the blockhash), so the VED decides
//!   those entries itself: the handoff carries the UED's entries of the incoming accounts up
//!   to the slot the UED had executed ([`EpochHandoff::incoming_entries`]), and for every
//!   later block the VED verifies the incoming accounts' transactions and enters those that
//!   pass checks 1–3, after the block's vote point ([`VedExecutor::go_over`],
//!   [`VedSlot::incoming_entries`]; the blocks it executed before the handoff came, once it
//!   has come). Check 4 is not needed
//!   for them: an entry is the same signature whether it passed check 4 or was in the window
//!   already, and a signature remembered longer than its block's window changes no answer (a
//!   transaction that could repeat it names a blockhash too old for check 3). It crosses alone
//!   when it holds the entries of every block up to the boundary; otherwise (the UED's window
//!   holding entries of unknown payers — read from a store of the formats before the payers
//!   were recorded, for 150 blocks — a gap in the blocks gone over, or a block with more of
//!   those transactions than it verifies for one, [`INCOMING_VERIFICATIONS_PER_BLOCK`]) the
//!   VED does not cross alone (below).
//!   Accounts moving out need nothing: the UED's window holds the VED's entries
//!   ([`VedSlot::entered`]).
//! - rewards, slashes and the VED's own remap requests read the VED's accounts only; a UED
//!   transaction can neither write an RW-VED account nor remap it (check 6).
//! - the VED state (membership) of an epoch counts the UED's vote accounts that join it too, which
//!   the VED's copy does not hold: the handoff carries the UED's membership sets, and the VED
//!   takes them (on its own vote accounts they must be its own), so that a vote account that
//!   joined from the UED is rewarded, and may leave, as the runtime decides.
//! - the membership of `E + 2` is computed from the state at the end of `E`. A vote account
//!   joining the VED freezes UED accounts only (an account of the VED that it uses stays put,
//!   even one that asked to leave: frozen by its own request either way, it is only its move
//!   that the UED's handoff turns back into the VED). But a vote account *leaving* the VED
//!   takes its voter and payer along unless a vote account staying in (or joining) the VED is
//!   them or uses them — and UED vote accounts and their voters and payers are the UED's state
//!   at the end of `E`. The VED knows that state well enough without executing the UED's
//!   transactions: the handoff names every voter and payer of the UED's vote accounts at its
//!   slot ([`EpochHandoff::ued_vote_names`]), and of the later blocks the VED goes over the
//!   UED's transactions, after each vote point ([`VedExecutor::go_over`]), for any that may
//!   change that — a vote `InitializeAccount`, the one instruction that sets whom a vote
//!   account names (the names are those of every UED vote account, eligible or not, so a stake
//!   delegated or an activation changes nothing here).
//!   Where no such transaction came and no name is one of the accounts leaving
//!   ([`epoch::EpochEntry`]), no vote account of the UED eligible at the end of `E` uses them,
//!   and they leave in the joined state too; otherwise the VED does not cross alone. (A UED
//!   vote account that asks to move into the VED and is not eligible stays out alone: it takes
//!   none of the VED's accounts with it, so the VED need not see it.)
//!
//! Where it does not, the [`Runtime`] executes the block whole once the UED has caught up, and
//! the VED executor is made afresh from it ([`Runtime::ved_executor`]), window included.
//!
//! The VED crosses with the runtime's own code ([`epoch::enter_epoch`]) over its copy; the UED
//! then executes the boundary block whole on the joined state
//! ([`Runtime::execute_crossed`]) and checks that the VED's hash and statuses are its own — a
//! disagreement stops the engine ([`RuntimeError::BoundaryMismatch`]) — and the VED checks, in
//! the UED's next handoff, that the freezes of its accounts are exactly the ones it executed
//! the epoch with and that every move it planned is there (or turned back into the VED).
//!
//! Every result — statuses, accounts, both hash chains — is the sequential runtime's
//! ([`Runtime::execute_block`]); the tests compare them block by block.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use hashbrown::{HashMap, HashSet};

use super::builtins::vote::{VoteInstruction, VoteState};
use super::epoch;
use super::hash::DomainHashes;
use super::hash::KeptJoins;
use super::ingest::{self, Admission, VerifiedBlock};
use super::pass::{self, AccountSource, Overlay, PassInput, Writer};
use super::state::{LeftTheWindow, PayerTag, RuntimeState};
use super::status::TxStatus;
use super::ved_accounts::VedAccounts;
use super::ved_log::LoggedSlot;
use super::{BlockOutcome, Runtime, RuntimeError, TxOutcome};
use crate::account::{Account, Domain, Mapping, PerDomain, Pubkey};
use crate::cluster::VoteReport;
use crate::genesis::ClusterParams;
use crate::ledger::Block;
use crate::pipeline::HelperPool;
use crate::sample::vote_program_id;
use crate::store::Store;
use crate::tx::Transaction;
use tandem_kernels::{AccountHasher, Backend, Ed25519Verifier, LtHash};

/// Whether the vote instruction in `data` may set which accounts a vote account names as its
/// voter and payer ([`VedExecutor::go_over`]). Every instruction is named, so that a new one
/// must be judged here before it builds.
fn names_may_change(data: &[u8]) -> bool {
    match VoteInstruction::decode(data) {
        Ok(VoteInstruction::InitializeAccount { .. }) => true,
        Ok(
            VoteInstruction::Vote { .. }
            | VoteInstruction::Activate
            | VoteInstruction::Deactivate
            | VoteInstruction::DelegateStake { .. },
        ) => false,
        // It fails, changing nothing.
        Err(_) => false,
    }
}

/// The most transactions of the accounts moving into the VED (ones that pass check 3) whose
/// signatures the VED executor verifies for one block, on its own thread after the block's
/// vote point ([`VedExecutor::go_over`]). Their payers are frozen, so such transactions cost
/// their senders nothing, and a block full of them would hold the VED's core for a slot; past
/// the limit the VED leaves that boundary to the UED (it waits for the UED there, as every
/// boundary with accounts moving in did before the VED decided their entries itself). An
/// honest account sends few while it is frozen: each fails. They are counted before their
/// signatures are checked, so anyone (a leader) can make the VED wait at such a boundary
/// with a block of forged ones naming a moving account as payer: a wait, no wrong answer.
pub const INCOMING_VERIFICATIONS_PER_BLOCK: usize = 256;

/// `accounts` by key.
fn by_key(accounts: Vec<Account>) -> HashMap<Pubkey, Account> {
    accounts.into_iter().map(|a| (a.pubkey, a)).collect()
}

/// Ingest's guess of which transactions of a block are the VED's, for
/// [`VedExecutor::execute_guessed`]: `ved[i]` is `true` where transaction `i`'s fee payer was
/// one of the RW-VED keys of [`VedExecutor::ved_keys_generation`] `generation` (the keys the
/// VED published, [`VedExecutor::ved_payers`]).
#[derive(Clone, Copy, Debug)]
pub struct PayerGuess<'a> {
    /// Each transaction guessed VED.
    pub ved: &'a [bool],
    /// The generation of the keys it was made with.
    pub generation: u64,
}

/// What the UED hands the VED once it has entered an epoch, so that the VED can cross the next
/// boundary on its own (module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochHandoff {
    /// The epoch the UED entered.
    pub epoch: u64,
    /// The accounts frozen, with the epoch they are frozen in, for both domains.
    pub frozen: BTreeMap<Pubkey, u64>,
    /// The moves scheduled, for both domains: target mapping and the epoch they happen at.
    pub moves: BTreeMap<Pubkey, (Mapping, u64)>,
    /// The UED's last executed slot when it handed the epoch over.
    pub slot: u64,
    /// The VED state of `epoch` and of `epoch + 1` as the boundary into `epoch` computed them
    /// ([`RuntimeState::ved_members`], [`RuntimeState::ved_members_next`]): the VED's copy
    /// computes them over its own vote accounts only, and a UED vote account joining the VED
    /// is a member too (it is rewarded as one, and may leave as one).
    pub ved_members: BTreeSet<Pubkey>,
    /// See `ved_members`.
    pub ved_members_next: BTreeSet<Pubkey>,
    /// The accounts of the UED that move into the VED at the start of `epoch + 1`, as they are
    /// now: frozen through the epoch, this is the state they move with (module docs).
    pub incoming: Vec<Account>,
    /// The first signatures in the UED's duplicate window paid by the `incoming` accounts, up
    /// to `slot` (a superset: [`super::state::SignatureWindow::entries_paid_by`]); `None` when the window
    /// does not know its entries' payers (rebuilt at open from status files of the format
    /// before they were recorded, or read from a state file with the window inline), and the
    /// VED does not cross the next boundary alone.
    pub incoming_entries: Option<Vec<[u8; 64]>>,
    /// Every account that a vote account of the UED (mapped RW-UED) names as its authorized
    /// voter or fee payer, at `slot`: of the VED's accounts that may leave it by membership at
    /// the next boundary, these are the ones a vote account of the UED could keep in (module
    /// docs).
    pub ued_vote_names: BTreeSet<Pubkey>,
}

/// What the VED executor knows of the UED's vote accounts for the next boundary (module docs):
/// the voters and payers they named at the handoff's slot, and whether a UED transaction of a
/// block since then may have changed that.
struct UedVoteNames {
    /// The last slot through which every block has been gone over
    /// ([`VedExecutor::go_over`]).
    through: u64,
    /// [`EpochHandoff::ued_vote_names`].
    names: HashSet<Pubkey>,
    /// Whether a transaction of a block gone over may have set whom a UED vote account names
    /// (a vote `InitializeAccount`).
    changed: bool,
}

/// The VED executor's own kernels: the LtHash of its accounts and the signatures it checks
/// itself (those the sigverify stage left to it), on GPU devices of their own where its
/// backend puts them on one, so the vote point never queues behind the UED's work on the
/// shared device (nor waits on the lock a UED batch holds through its readback). Devices open
/// at their first GPU batch; the VED keeps them across the executors it takes up
/// ([`VedExecutor::keeping_kernels_of`]).
pub struct VedKernels {
    hasher: AccountHasher,
    verifier: Ed25519Verifier,
}

/// Signers the VED executor's own verifier keeps: its batches are the few transactions of
/// payers moving into the VED (a boundary's), not the votes.
const VED_EXECUTOR_SIGNER_CACHE: usize = 256;

impl VedKernels {
    /// Kernels on `backend`, with devices of their own.
    pub fn dedicated(backend: Backend) -> VedKernels {
        VedKernels {
            hasher: AccountHasher::dedicated(backend),
            verifier: Ed25519Verifier::dedicated(backend, VED_EXECUTOR_SIGNER_CACHE),
        }
    }
}

/// The VED executor (module docs): runs the VED pass of each block on its own state.
pub struct VedExecutor {
    kernels: Arc<VedKernels>,
    cluster: ClusterParams,
    /// Its copy of the runtime state: the windows, the epoch bookkeeping and the VED's hashes
    /// are current; the UED's hashes are those of the last boundary, never read.
    state: RuntimeState,
    accounts: VedAccounts,
    /// What the executor keeps of the handoff of an epoch ([`EpochHandoff`]; its bookkeeping
    /// went into `state`): the epoch, and the accounts moving into the VED at its end.
    incoming: Option<(u64, HashMap<Pubkey, Account>)>,
    /// The last slot through which the window holds the entries of every transaction the
    /// `incoming` accounts paid for (module docs); `None` when it is not known.
    incoming_through: Option<u64>,
    /// Such entries decided since the last slot's [`VedExecutor::finish_going_over`], for the
    /// next slot's [`VedSlot::incoming_entries`].
    pending_entries: Vec<[u8; 64]>,
    /// The UED's vote accounts' voters and payers, from the handoff of the executor's epoch on;
    /// `None` when not known (then, where an account of the VED may leave it by membership,
    /// the VED does not cross the next boundary alone).
    ued_votes: Option<UedVoteNames>,
    /// The accounts whose membership ended (deleted) since it crossed the last boundary: the
    /// UED's handoff of the epoch, taken at the boundary's block, does not know of them.
    forgotten: HashSet<Pubkey>,
    /// The operator slashes scheduled with the block being executed (in its [`VedSlot`]).
    block_slashes: Vec<(Pubkey, u16)>,
    /// What the VED log says it had gone over in its epoch ([`VedExecutor::replay`]), until
    /// the executor takes it up: at once when it knows its epoch's handoff, else when the UED
    /// makes that handoff again.
    from_log: GoneOver,
    /// The helper threads that share the slot's LtHash with the executor's own thread
    /// ([`VedExecutor::with_hash_helpers`]); none: its thread alone. Shared with the
    /// executors that take over from it ([`VedExecutor::keeping_kernels_of`]).
    hash_helpers: Arc<HelperPool>,
    /// The last slot's joins to `LtHash_VED` that the copy holds as they joined, and the
    /// copy's stamp then ([`VedAccounts::stamp`]): reused while the copy has not changed
    /// since ([`super::hash::DomainHashes::apply_changes_keeping`]).
    kept_joins: Option<(KeptJoins, u64)>,
    /// What the last [`VedExecutor::execute`] changed, until its block's verdict settles it
    /// ([`VedExecutor::undo_last_block`], [`VedExecutor::settle_last_block`]).
    last_block: Option<Box<BlockUndo>>,
}

/// What executing a block changed in a [`VedExecutor`], as it was before: all that
/// [`VedExecutor::undo_last_block`] needs to leave the executor as if the block had never come
/// (ingest refused it after the VED executed it ahead of the verdict). Besides the accounts it
/// wrote — moved here, not copied — it is a few kilobytes: the windows' ends, the hashes.
#[derive(Debug, Default)]
struct BlockUndo {
    slot: u64,
    unix_timestamp_ms: i64,
    recent_blockhashes: VecDeque<[u8; 32]>,
    hashes: Option<DomainHashes>,
    remap_requests: BTreeMap<Pubkey, Mapping>,
    left_the_window: LeftTheWindow,
    /// Each account the block wrote, as the copy held it before (`None`: not held), in the
    /// order written.
    accounts: Vec<(Pubkey, Option<Account>)>,
    /// Members the block's deleted accounts ended: in `ved_members`, in `ved_members_next`.
    members: Vec<(Pubkey, bool, bool)>,
    /// Keys the block put into `forgotten`.
    forgotten: Vec<Pubkey>,
    /// The slashes the block took into its [`VedSlot`].
    block_slashes: Vec<(Pubkey, u16)>,
}

/// How far an executor had gone over the blocks of its epoch before a restart: the last of its
/// log's records of the epoch that says so ([`VedSlot::incoming_complete`],
/// [`VedSlot::ued_votes_gone_over`]). The knowledge is cumulative from where it began — the
/// UED's handoff of the epoch, made at the boundary's block, or the store's slot an executor
/// was made from after an earlier restart — which is never after the store's slot at a later
/// open (the store only moves on, and a logged crossing follows the store's last slot before
/// the boundary), nor after the slot a handoff made again is made at (the same boundary
/// block). So taking it up after a restart claims no block the original run had not gone
/// over.
#[derive(Default)]
struct GoneOver {
    /// The last slot whose record says the window held the incoming accounts' entries for
    /// every block up to it.
    incoming_through: Option<u64>,
    /// The last slot whose record says the blocks were gone over up to it for the UED's vote
    /// accounts, and whether one may have changed them.
    ued_votes_through: Option<(u64, bool)>,
}

/// What the VED did with one block: everything the UED executor needs besides the signatures
/// of its own transactions.
pub struct VedSlot {
    /// The slot.
    pub slot: u64,
    /// `hash_VED` of the slot: the vote point.
    pub ved_hash: [u8; 32],
    /// `LtHash_VED` after the slot.
    pub ved_lthash: LtHash,
    /// `sig_count_VED` of the slot.
    pub sig_count: u64,
    /// Statuses and payer domains of the VED's transactions (the others are undecided).
    pub admission: Admission,
    /// The transactions left to the UED executor, in block order.
    pub ued_transactions: Vec<usize>,
    /// Check 1's answers the UED needs from the VED side: for transactions the sigverify
    /// stage guessed to be the VED's but whose payer left it (filled by the pipeline).
    pub verified: Vec<(usize, bool)>,
    /// The signatures the VED's transactions entered into the duplicate window, in order.
    pub entered: Vec<[u8; 64]>,
    /// The accounts the VED pass wrote, as it left them (zero lamports: deleted).
    pub changes: Vec<Account>,
    /// The `RemapDomain` requests of the VED's transactions, in order.
    pub remaps: Vec<(Pubkey, Mapping)>,
    /// The votes the VED executed (successful `Vote` instructions), with their voters' stake:
    /// what the cluster view ([`crate::cluster`]) learns from the slot.
    pub votes: Vec<VoteReport>,
    /// The operator slashes scheduled with the block ([`VedExecutor::schedule_slashes`]): the
    /// UED schedules these, so that a slot logged before a crash keeps its slashes.
    pub slashes: Vec<(Pubkey, u16)>,
    /// The first signatures the VED entered into its window for transactions of the UED's
    /// accounts moving into the VED at the next boundary (module docs), since the last slot;
    /// the UED decides those transactions itself and does not enter these.
    pub incoming_entries: Vec<[u8; 64]>,
    /// Whether, after this slot, the VED held those entries for every block up to it.
    pub incoming_complete: bool,
    /// What the VED knew, after this slot, of the UED's vote accounts for the next boundary
    /// (module docs): `Some(changed)` when it had gone over every block up to this slot from
    /// where its knowledge of them began — the UED's handoff of its epoch (made at the
    /// boundary's block), or the store's slot it was made from — `changed` saying whether a
    /// UED transaction of those blocks may have changed whom they name; `None` when it had
    /// not.
    pub ued_votes_gone_over: Option<bool>,
}

/// What became of each transaction, from the statuses both passes decided.
pub(super) fn tx_outcomes(
    transactions: &[Transaction<'_>],
    admission: Admission,
) -> Vec<TxOutcome> {
    transactions
        .iter()
        .zip(admission.statuses)
        .zip(admission.payer_domain)
        .map(|((tx, status), domain)| {
            let status = status.expect("every transaction has a status after both passes");
            TxOutcome {
                signature: tx.signatures().first().copied(),
                domain: if status.has_domain() { domain } else { None },
                status,
            }
        })
        .collect()
}

/// The successful `Vote` instructions among `transactions` (`succeeded(i)` tells which
/// transactions succeeded), each with its vote account's stake (`stake_of`).
pub fn executed_votes<'t, 'a: 't>(
    transactions: impl IntoIterator<Item = &'t Transaction<'a>>,
    succeeded: impl Fn(usize) -> bool,
    stake_of: impl Fn(&Pubkey) -> Option<u64>,
) -> Vec<VoteReport> {
    let program = vote_program_id();
    let mut votes = Vec::new();
    for (i, tx) in transactions.into_iter().enumerate() {
        if !succeeded(i) {
            continue;
        }
        let message = tx.message();
        let keys = message.account_keys();
        for ix in message.instructions() {
            if keys[usize::from(ix.program_id_index)] != program {
                continue;
            }
            let Ok(VoteInstruction::Vote {
                slot,
                ved_hash,
                ued,
                ..
            }) = VoteInstruction::decode(ix.data)
            else {
                continue;
            };
            let Some(&account) = ix.accounts.first() else {
                continue;
            };
            let voter = keys[usize::from(account)];
            if let Some(stake) = stake_of(&voter) {
                votes.push(VoteReport {
                    voter,
                    stake,
                    ved: (slot, ved_hash),
                    ued,
                });
            }
        }
    }
    votes
}

/// Whether the VED executor's copy holds accounts of `mapping`: the RW-VED accounts and every
/// program.
fn in_the_ved_copy(mapping: Mapping) -> bool {
    mapping == Mapping::RwVed || mapping.is_program_mapping()
}

/// Whether the VED executor's copy holds `account` as written: it has lamports and a mapping
/// the copy holds.
fn stays_in_the_copy(account: &Account) -> bool {
    account.lamports > 0 && in_the_ved_copy(account.mapping)
}

impl VedExecutor {
    /// Opens, on the `Gpu` backend, the device of the LtHash every slot's vote point waits for
    /// (its shaders built and checked: seconds on a software adapter), so that the first block
    /// does not wait for it. The verifier's opens at its first signature: it checks only the
    /// transactions of payers moving into the VED, after a boundary (an empty batch opens
    /// nothing).
    pub fn open_devices(&self) {
        self.kernels.hasher.open_device();
    }

    /// This executor with the kernels — the GPU devices — of `before`, the executor it takes
    /// over from (one the UED made afresh at a boundary): a device is opened once per VED,
    /// not at the first block after each boundary the VED waited at. Its hash helpers too.
    pub fn keeping_kernels_of(mut self, before: &VedExecutor) -> VedExecutor {
        self.kernels = Arc::clone(&before.kernels);
        self.hash_helpers = Arc::clone(&before.hash_helpers);
        self
    }

    /// This executor with a helper thread on each of `pus` for the slot's LtHash, beside its
    /// own thread: the engine gives it the sigverify stage's PUs that are not the VED's, where
    /// the votes' signatures are verified too, at the same priority (this block's are done by
    /// the time the VED executes it; the next block's, when blocks come faster than the VED
    /// takes them, share those PUs with the helpers), and the UED's work runs in `SCHED_IDLE`.
    /// The helpers are threads of their own, started here and parked between slots
    /// ([`HelperPool`]). The sums are the same on any number.
    pub fn with_hash_helpers(mut self, pus: Vec<usize>) -> VedExecutor {
        self.hash_helpers = Arc::new(HelperPool::new(&pus));
        self
    }

    /// The PUs of its hash helpers ([`VedExecutor::with_hash_helpers`]).
    pub fn hash_helpers(&self) -> &[usize] {
        self.hash_helpers.pus()
    }

    /// The last slot the VED executed.
    pub fn slot(&self) -> u64 {
        self.state.slot
    }

    /// `hash_VED` of the last slot the VED executed.
    pub fn hash(&self) -> [u8; 32] {
        self.state.hashes.hash[Domain::Ved]
    }

    /// Whether `block` crosses an epoch boundary: [`VedExecutor::enter_epoch`] first.
    pub fn crosses_boundary(&self, block: &Block) -> bool {
        block.header.slot / self.cluster.slots_per_epoch != self.state.epoch
    }

    /// The epoch whose [`EpochHandoff`] the executor needs before it can cross the next
    /// boundary; `None` when it has it.
    pub fn awaits_handoff(&self) -> Option<u64> {
        let epoch = self.state.epoch;
        (self.incoming.as_ref().map(|(e, _)| *e) != Some(epoch)).then_some(epoch)
    }

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
    fn take_up_log(&mut self) {
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
    fn cross(&mut self, slot: u64, logged: bool) -> Result<bool, RuntimeError> {
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
        self.absorb(overlay.take_accounts(), None)?;
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
    fn absorb(
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
    /// [`SignatureWindow::make_room_for_the_next_block`]: super::state::SignatureWindow::make_room_for_the_next_block
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
        } = undo;
        for (key, was) in accounts.into_iter().rev() {
            self.accounts.restore(&key, was);
        }
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

    /// The stake of the vote account `key` in the VED now; `None` for any other account.
    pub fn stake_of(&self, key: &Pubkey) -> Option<u64> {
        let account = self.accounts.get(key)?;
        if account.owner != vote_program_id() {
            return None;
        }
        VoteState::decode(&account.data).map(|v| v.stake)
    }

    /// The VED's total stake now: the stake of every vote account in it.
    pub fn ved_stake(&self) -> u64 {
        self.accounts.ved_stake()
    }
}

impl VedExecutor {
    /// Moves the executor past a slot it executed before a crash, from the slot's record in the
    /// VED log ([`super::ved_log`]) instead of executing it again: its writes, its window
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
    pub(super) fn outcome(
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
