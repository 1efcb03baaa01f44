//! The two domain executors that let the VED run ahead of the UED (SPEC §4–§5; the pipeline in
//! [`crate::pipeline::engine`] runs each on its own pinned thread).
//!
//! Between epoch boundaries the domains share nothing they write: a VED transaction reads and
//! writes RW-VED accounts and programs only (anything else fails check 6), a UED transaction
//! never reads an RW-VED account, and a payer's domain changes only at a boundary (or from VED
//! to UED when a VED payer is emptied: deleted, it reads as RW-UED from the next block). So:
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
//!
//! Files: this one holds the types the two executors exchange and the VED executor's state;
//! `ved.rs` its blocks (picked, executed, undone, replayed from the log), `boundary.rs` its
//! epoch boundaries (handoffs, the blocks gone over, the crossing), `ued.rs` the UED side.

mod boundary;
mod ued;
mod ved;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use hashbrown::{HashMap, HashSet};

use super::TxOutcome;
use super::builtins::vote::{VoteInstruction, VoteState};
use super::hash::DomainHashes;
use super::hash::KeptJoins;
use super::ingest::Admission;
use super::state::RuntimeState;
use super::ved_accounts::VedAccounts;
use super::window::LeftTheWindow;
#[cfg(doc)]
use super::{Runtime, RuntimeError, epoch};
use crate::account::{Account, Domain, Mapping, Pubkey};
use crate::cluster::VoteReport;
use crate::genesis::ClusterParams;
use crate::ledger::Block;
use crate::pipeline::HelperPool;
use crate::sample::vote_program_id;
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
    /// The first signatures in the UED's duplicate window paid by the `incoming` accounts, up to
    /// `slot` (a superset: [`super::window::SignatureWindow::entries_paid_by`]); `None` when the
    /// window does not know its entries' payers (rebuilt at open from status files of the format
    /// before they were recorded, or read from a state file with the window inline), and the VED
    /// does not cross the next boundary alone.
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
    /// The accounts the boundary it crossed alone emptied (a slash taking a whole balance),
    /// for the boundary's block: as in the runtime, where the boundary and its block share one
    /// overlay, the block sees them as written (0 lamports, their mapping and data) and they
    /// go when it ends — or stay, paid again in the block. Absorbed at the boundary, they were
    /// gone for the block, which the runtime then executed otherwise (`BoundaryMismatch`).
    boundary_emptied: Vec<Account>,
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
    /// The generation of the RW-VED keys before the block
    /// ([`VedExecutor::ved_keys_generation`]).
    ved_keys_generation: u64,
    /// The boundary's emptied accounts the block took up ([`VedExecutor::boundary_emptied`]).
    boundary_emptied: Vec<Account>,
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
