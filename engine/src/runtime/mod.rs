//! The VED/UED runtime (SPEC §2–§5): blocks executed in two domain passes over the domain-tagged
//! store, with fees, statuses, the blockhash and duplicate-signature windows, per-domain hashes
//! and epoch boundaries.
//!
//! [`Runtime::execute_block`] runs one block:
//!
//! 1. the block is checked — its parent is the last executed slot, its slot is after its
//!    parent's by at most `slots_per_epoch` (so it crosses at most one epoch boundary), its clock
//!    is within `parent ≤ ts ≤ parent + 1000 ms`, every transaction parses with a writable
//!    signer as its fee payer —
//!    and rejected with a [`RuntimeError`] that changes nothing otherwise;
//! 2. every epoch boundary since the last block is processed ([`epoch`]);
//! 3. checks 1–4 are decided for the whole block ([`ingest`]): every signature is verified (the
//!    kernels, on the runtime's [`Backend`]: the CPU by default), a program cannot pay, and the
//!    blockhash and duplicate-signature windows — one each for both domains, counted in blocks —
//!    are consulted and the duplicate window entered;
//! 4. the VED pass, then the UED pass ([`pass`]): each runs checks 5–10 on the transactions
//!    still undecided whose payer is in its domain, and skips the others without a trace,
//!    through its own [`DomainView`](crate::store::DomainView);
//! 5. every account the slot changed leaves and joins the domain LtHashes, `hash_D` is chained
//!    ([`hash`]), and the slot is committed: its status file ([`status_index`]) and its record
//!    in the vote log ([`vote_log`]), the runtime state file, then the store ([`state`]). The
//!    store's commit is planned in memory while the other UED threads compute the LtHashes
//!    ([`Store::plan_commit`], [`DomainHashes::apply_changes_beside`]) and written after the
//!    state file ([`crate::store::PlannedCommit::write`]: the log is the commit point).
//!
//! A block that holds a transaction that does not parse is rejected as a whole (as a Solana
//! validator rejects a block with a malformed entry); the error names the transaction.

pub mod builtins;
pub mod check;
pub mod epoch;
pub mod executor;
pub mod hash;
pub mod ingest;
pub mod pass;
pub mod segment_log;
pub mod state;
pub mod status;
pub mod status_index;
mod ved_accounts;
pub mod ved_log;
pub mod vote_log;
pub mod window;

use std::collections::{BTreeSet, VecDeque};

use sha2::Digest;
use std::path::{Path, PathBuf};

use crate::account::{Account, Domain, PerDomain, Pubkey};
use crate::cluster::VoteReport;
use crate::genesis::{ClusterParams, Genesis};
use crate::ledger::Block;
use crate::sample::{builtin_programs, vote_program_id};
use crate::store::{SlotChanges, Store, StoreError};
use crate::tx::{Transaction, TxError};
use builtins::vote::VoteState;
use hash::DomainHashes;
pub use ingest::VerifiedBlock;
use pass::{Overlay, PassInput, Writer};
use state::{RuntimeState, StateFileError, WindowFrom};
pub use status::TxStatus;
use tandem_kernels::AccountHasher;
pub use tandem_kernels::Backend;
use vote_log::{SlotVotes, VoteLog};

/// How far a block's clock may run ahead of its parent's (SPEC §4).
pub const MAX_CLOCK_STEP_MS: i64 = 1_000;

/// Why a block (or the runtime) failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The block does not follow the last executed slot.
    #[error(
        "the block of slot {slot}: its parent is slot {parent}, but the last executed slot is \
         {last}{}",
        logged.map_or(String::new(), |logged| format!(
            " (the VED logged the blocks through slot {logged} before the engine restarted, \
             and they come again, from slot {}: the UED executes them, and the VED checks \
             them against its log)",
            last + 1
        ))
    )]
    ParentMismatch {
        /// The block's slot.
        slot: u64,
        /// Its parent slot.
        parent: u64,
        /// The last executed slot.
        last: u64,
        /// The last slot the VED had logged when the engine resumed, where the blocks up to it
        /// are still to come again (an engine's submit; `None` elsewhere).
        logged: Option<u64>,
    },
    /// The block's slot is not after its parent's.
    #[error("the block of slot {slot}: its slot is not after its parent slot {parent}")]
    SlotNotAfterParent {
        /// The block's slot.
        slot: u64,
        /// Its parent slot.
        parent: u64,
    },
    /// The block skips more than one epoch's worth of slots (SPEC §4).
    #[error(
        "the block of slot {slot}: it skips {} slots after its parent slot {parent}, more than \
         one epoch ({slots_per_epoch} slots): a block may cross at most one epoch boundary",
        slot - parent
    )]
    SlotGapTooLarge {
        /// The block's slot.
        slot: u64,
        /// Its parent slot.
        parent: u64,
        /// The cluster's `slots_per_epoch`, the largest gap allowed.
        slots_per_epoch: u64,
    },
    /// The block breaks the clock rule of SPEC §4.
    #[error(
        "the block of slot {slot}: timestamp {timestamp_ms} ms breaks the clock rule: it must lie \
         in [{parent_ms}, {parent_ms} + {MAX_CLOCK_STEP_MS}] ms (the parent's clock and 1 s after)"
    )]
    ClockViolation {
        /// The block's slot.
        slot: u64,
        /// Its timestamp.
        timestamp_ms: i64,
        /// The parent's timestamp.
        parent_ms: i64,
    },
    /// A transaction of the block does not parse.
    #[error("the block of slot {slot}: transaction {index} is malformed: {error}")]
    MalformedTransaction {
        /// The block's slot.
        slot: u64,
        /// The transaction's position in the block.
        index: usize,
        /// What is wrong.
        error: TxError,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The runtime state file failed.
    #[error(transparent)]
    StateFile(#[from] StateFileError),
    /// Writing the runtime state failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A runtime state file of an earlier slot was not removed after the store committed
    /// `slot` (which is committed, with its own state file): the engine stops rather than leave
    /// files behind it cannot remove.
    #[error(
        "{path}: not removed: {source} (the store committed slot {slot}, whose own state \
         file replaces this one: remove it and run again)"
    )]
    StateNotRemoved {
        /// The state file.
        path: PathBuf,
        /// The slot the store committed.
        slot: u64,
        /// The error.
        source: std::io::Error,
    },
    /// A file of the runtime's beside the store — a status file, the cluster view's index —
    /// failed its check (magic, checksum, contents): damaged, not an I/O failure.
    #[error("{path}: {reason}")]
    CorruptFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A kernel failed.
    #[error(transparent)]
    Kernel(#[from] tandem_kernels::KernelError),
    /// The vote log failed ([`vote_log`]).
    #[error(transparent)]
    Log(#[from] segment_log::LogError),
    /// The store was made from another genesis.
    #[error(
        "{path}: the store was made from genesis {stored}, not from the genesis given ({given})"
    )]
    GenesisMismatch {
        /// The store directory.
        path: PathBuf,
        /// The genesis hash the store records (base58).
        stored: String,
        /// The genesis hash given (base58).
        given: String,
    },
    /// The store was made from a genesis of the same hash (given explicitly) but other
    /// contents.
    #[error(
        "{path}: the store was made from another genesis of the same genesis_hash {hash}: the \
         genesis given differs from it in its cluster parameters (slots_per_epoch, \
         epoch_reward_rate, unix_timestamp_ms), accounts or validators"
    )]
    GenesisChanged {
        /// The store directory.
        path: PathBuf,
        /// The genesis hash both give (base58).
        hash: String,
    },
    /// A slash that cannot apply.
    #[error("slash of {vote_account}: {reason}")]
    InvalidSlash {
        /// The vote account.
        vote_account: Pubkey,
        /// Why.
        reason: String,
    },
    /// The VED executor crossed an epoch boundary on its own and the runtime's own crossing of
    /// it (or the UED's epoch handoff) disagrees: a fault in the engine, not in the block. The
    /// engine stops rather than vote on.
    #[error("slot {slot}: the VED crossed the epoch boundary on its own, but {reason}")]
    BoundaryMismatch {
        /// The slot the VED was at.
        slot: u64,
        /// What disagrees.
        reason: String,
    },
    /// An earlier failure left the runtime unusable until it is reopened.
    #[error("the runtime failed earlier and must be reopened: {0}")]
    Poisoned(String),
}

impl RuntimeError {
    /// Whether the block itself is at fault (SPEC §4's checks, a malformed transaction, an
    /// invalid slash): an error a front end names by the block's place in its ledger, and the C
    /// ABI answers `TANDEM_ERR_REJECTED` — not the store's, a file's or the engine's, which are
    /// no block's (a replay's full disk read "LEDGER: block 48, at byte 2320783: grow …", as if
    /// the ledger were bad; stop 73). Every variant is named, so a new one is decided here.
    pub fn is_the_blocks_fault(&self) -> bool {
        match self {
            RuntimeError::ParentMismatch { .. }
            | RuntimeError::SlotNotAfterParent { .. }
            | RuntimeError::SlotGapTooLarge { .. }
            | RuntimeError::ClockViolation { .. }
            | RuntimeError::MalformedTransaction { .. }
            | RuntimeError::InvalidSlash { .. } => true,
            RuntimeError::Store(_)
            | RuntimeError::StateFile(_)
            | RuntimeError::Io { .. }
            | RuntimeError::StateNotRemoved { .. }
            | RuntimeError::CorruptFile { .. }
            | RuntimeError::Kernel(_)
            | RuntimeError::Log(_)
            | RuntimeError::GenesisMismatch { .. }
            | RuntimeError::GenesisChanged { .. }
            | RuntimeError::BoundaryMismatch { .. }
            | RuntimeError::Poisoned(_) => false,
        }
    }
}

/// The block checks of SPEC §4 for a block that should follow the slot `last_slot`, whose clock
/// was `last_ms`: its parent is that slot, its slot is after it by at most `slots_per_epoch`,
/// its clock is within `[last_ms, last_ms + 1000]`.
pub fn check_block_header(
    header: &crate::ledger::BlockHeader,
    last_slot: u64,
    last_ms: i64,
    slots_per_epoch: u64,
) -> Result<(), RuntimeError> {
    let (slot, parent) = (header.slot, header.parent_slot);
    if parent != last_slot {
        return Err(RuntimeError::ParentMismatch {
            slot,
            parent,
            last: last_slot,
            logged: None,
        });
    }
    if slot <= parent {
        return Err(RuntimeError::SlotNotAfterParent { slot, parent });
    }
    if slot - parent > slots_per_epoch {
        return Err(RuntimeError::SlotGapTooLarge {
            slot,
            parent,
            slots_per_epoch,
        });
    }
    let ts = header.unix_timestamp_ms;
    if ts < last_ms || ts > last_ms.saturating_add(MAX_CLOCK_STEP_MS) {
        return Err(RuntimeError::ClockViolation {
            slot,
            timestamp_ms: ts,
            parent_ms: last_ms,
        });
    }
    Ok(())
}

/// What became of one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxOutcome {
    /// Its first signature (none when it carries none).
    pub signature: Option<[u8; 64]>,
    /// The payer's domain: `None` for `InvalidSignature` and `InvalidFeePayer`.
    pub domain: Option<Domain>,
    /// Its status.
    pub status: TxStatus,
}

/// What a block produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockOutcome {
    /// The block's slot.
    pub slot: u64,
    /// `hash_VED` of the slot.
    pub ved_hash: [u8; 32],
    /// `hash_UED` of the slot.
    pub ued_hash: [u8; 32],
    /// `sig_count_D` of each domain.
    pub sig_counts: PerDomain<u64>,
    /// Every transaction, in block order.
    pub transactions: Vec<TxOutcome>,
    /// The votes the block executed (its successful `Vote` instructions in the VED), with their
    /// voters' stake after the block: what the cluster view learns from it.
    pub votes: Vec<VoteReport>,
    /// Accounts the slot changed.
    pub accounts_changed: usize,
}

/// The runtime over one store.
pub struct Runtime {
    store: Store,
    backend: Backend,
    cluster: ClusterParams,
    state: RuntimeState,
    vote_accounts: BTreeSet<Pubkey>,
    poisoned: Option<String>,
    ued_threads: usize,
    /// Threads the slot's LtHash updates use beside the UED's.
    extra_hash_threads: usize,
    ued_fault_from: Option<u64>,
    status_files: status_index::StatusFiles,
    vote_log: VoteLog,
    /// When the vote log is pruned next.
    vote_log_pruning: segment_log::PruneSchedule,
}

impl Runtime {
    /// Opens the runtime in `dir` on the CPU kernels ([`Runtime::open_with`]).
    pub fn open(genesis: &Genesis, dir: impl AsRef<Path>) -> Result<Runtime, RuntimeError> {
        Runtime::open_with(genesis, dir, Backend::Cpu)
    }

    /// Opens the runtime in `dir`: resumes the store there (which must come from `genesis`), or
    /// creates one from `genesis` where there is none. Signatures are verified and LtHashes
    /// computed on `backend` (SPEC §7); every backend gives the same answers.
    pub fn open_with(
        genesis: &Genesis,
        dir: impl AsRef<Path>,
        backend: Backend,
    ) -> Result<Runtime, RuntimeError> {
        let dir = dir.as_ref();
        let store = match Store::open(dir) {
            Ok(store) => store,
            // No store yet, or a create that was interrupted: creating completes it. Where there
            // is a store after all (a superblock, but a missing region file), open's answer is the
            // one that says what is wrong, not create's "already exists".
            Err(not_a_store @ StoreError::NotAStore { .. }) => match Store::create(dir) {
                Ok(store) => store,
                // Or another process created it meanwhile: open again, to open it or to say who
                // holds it (open's first answer, "no superblock", was no longer true).
                Err(StoreError::AlreadyExists(_)) => match Store::open(dir) {
                    Ok(store) => store,
                    Err(StoreError::NotAStore { .. }) => return Err(not_a_store.into()),
                    Err(e) => return Err(e.into()),
                },
                Err(e) => return Err(e.into()),
            },
            Err(e) => return Err(e.into()),
        };
        let (store, state) = match store.committed_slot() {
            None => Runtime::load_genesis(store, genesis, backend)?,
            Some(slot) => {
                let (mut state, window, members) = RuntimeState::load(dir, slot)?;
                // Another genesis first: whatever else is wrong with the store is then beside
                // the point.
                if state.genesis_hash != genesis.hash {
                    return Err(RuntimeError::GenesisMismatch {
                        path: dir.to_owned(),
                        stored: bs58::encode(state.genesis_hash).into_string(),
                        given: bs58::encode(genesis.hash).into_string(),
                    });
                }
                let digest = genesis.digest();
                if state.genesis_digest.is_some_and(|stored| stored != digest) {
                    return Err(RuntimeError::GenesisChanged {
                        path: dir.to_owned(),
                        hash: bs58::encode(genesis.hash).into_string(),
                    });
                }
                // A state written before digests were kept was checked by the hash alone; its
                // next file keeps the digest of the genesis it resumed with.
                state.genesis_digest = Some(digest);
                if !members {
                    // A state file of a build that decided the VED state by mapping: it stands
                    // for what that build would have decided.
                    (state.ved_members, state.ved_members_next) =
                        state::members_by_mapping(&store, &state);
                }
                if let WindowFrom::StatusFiles(shape) = window {
                    state.signatures = status_index::signature_window_of_shape(dir, slot, shape)?;
                }
                (store, state)
            }
        };
        // The store's lock is held: a partial file here is a killed run's, never to be used.
        match crate::files::remove_partials(dir) {
            Ok(0) => {}
            Ok(n) => log::info!(
                "{}: removed {n} partial files of a run that was killed",
                dir.display()
            ),
            Err(e) => log::warn!(
                "{}: partial files of a killed run not removed: {e}",
                dir.display()
            ),
        }
        // State files of other slots than the committed one: the commit before the last's,
        // whose removal a power loss undid, or a later slot's, written and never committed.
        // The next commit removes them; a resume with nothing left to run left them.
        if let Some(slot) = store.committed_slot()
            && let Err(e) = RuntimeState::remove_others(dir, slot)
        {
            log::warn!("{}: {e}", dir.display());
        }
        let status_files = status_index::StatusFiles::open(dir, store.committed_slot())?;
        let vote_log = VoteLog::open(dir, store.committed_slot())?;
        let vote_program = vote_program_id();
        let vote_accounts = store
            .keys()
            .map(|(k, _)| k)
            .filter(|k| store.inspect(k).is_some_and(|a| a.owner == vote_program))
            .collect();
        Ok(Runtime {
            store,
            backend,
            cluster: genesis.cluster,
            state,
            vote_accounts,
            poisoned: None,
            ued_threads: 1,
            extra_hash_threads: 0,
            ued_fault_from: None,
            status_files,
            vote_log,
            vote_log_pruning: segment_log::PruneSchedule::default(),
        })
    }

    /// Slot 0: the builtin programs, the listed accounts and the validators' vote accounts.
    fn load_genesis(
        mut store: Store,
        genesis: &Genesis,
        backend: Backend,
    ) -> Result<(Store, RuntimeState), RuntimeError> {
        let mut accounts: Vec<Account> = builtin_programs().to_vec();
        accounts.extend(genesis.accounts.iter().cloned());
        for v in &genesis.validators {
            let vote = VoteState {
                stake: v.stake,
                active: v.active,
                ..VoteState::new(v.node, v.node, v.node)
            };
            accounts.push(Account {
                pubkey: v.vote_account,
                lamports: v.stake,
                owner: vote_program_id(),
                executable: false,
                data: vote.encode(),
                mapping: v.mapping(),
            });
        }
        let hashes = DomainHashes::genesis(backend, accounts.iter())?;
        let state = RuntimeState {
            genesis_hash: genesis.hash,
            genesis_digest: Some(genesis.digest()),
            slot: 0,
            epoch: 0,
            unix_timestamp_ms: genesis.cluster.unix_timestamp_ms,
            hashes,
            recent_blockhashes: VecDeque::from([genesis.hash]),
            signatures: Default::default(),
            frozen: Default::default(),
            moves: Default::default(),
            remap_requests: Default::default(),
            slashes: Vec::new(),
            // The validators that start in the VED are in its state for epochs 0 and 1.
            ved_members: genesis.ved_validators().map(|v| v.vote_account).collect(),
            ved_members_next: genesis.ved_validators().map(|v| v.vote_account).collect(),
        };
        let mut changes = SlotChanges::new();
        for account in accounts {
            changes.load(account);
        }
        let dir = store.dir().to_owned();
        state.save(&dir).map_err(|source| RuntimeError::Io {
            path: state::state_path(&dir, 0),
            source,
        })?;
        store.commit(0, changes)?;
        Ok((store, state))
    }

    /// Runs each block's UED pass on `threads` threads (at least 1; 1 by default): its
    /// transactions go in waves of ones that share no written account ([`pass::waves`]), and the
    /// results are the sequential ones for any thread count.
    pub fn set_ued_threads(&mut self, threads: usize) {
        self.ued_threads = threads.max(1);
    }

    /// Makes this runtime a *faulty* validator for simulations (`tandem cluster
    /// --nondeterministic`): from `slot` on, its UED hash chain takes a twist no other validator
    /// takes, as a nondeterministic UED execution would. Never set outside a simulation.
    pub fn inject_ued_fault(&mut self, slot: u64) {
        self.ued_fault_from = Some(slot);
    }

    /// The threads of the UED pass.
    pub fn ued_threads(&self) -> usize {
        self.ued_threads
    }

    /// Threads the slot's LtHash updates use besides the UED's: the engine gives one per PU of
    /// the placement's `hash` stage beside the UED's.
    pub fn set_extra_hash_threads(&mut self, threads: usize) {
        self.extra_hash_threads = threads;
    }

    /// The last executed slot (0: genesis).
    pub fn slot(&self) -> u64 {
        self.state.slot
    }

    /// The blockhash of the last executed block (the genesis blockhash before any): what a
    /// host resuming a store from a ledger checks that ledger's block at [`Runtime::slot`]
    /// against, so that it does not go on with another ledger's blocks.
    pub fn last_blockhash(&self) -> [u8; 32] {
        *self
            .state
            .recent_blockhashes
            .back()
            .expect("the window holds at least the genesis blockhash")
    }

    /// The oldest slot the status index answers for: of the status files of the last
    /// [`status_index::KEPT_BLOCKS`] committed blocks (`None` before any block).
    pub fn oldest_indexed_slot(&self) -> Option<u64> {
        self.status_files.oldest()
    }

    /// The epoch of the last executed slot.
    pub fn epoch(&self) -> u64 {
        self.state.epoch
    }

    /// `hash_D` of the last executed slot.
    pub fn hash(&self, domain: Domain) -> [u8; 32] {
        self.state.hashes.hash[domain]
    }

    /// `LtHash_D` now.
    pub fn lthash(&self, domain: Domain) -> &tandem_kernels::LtHash {
        &self.state.hashes.lthash[domain]
    }

    /// The cluster parameters.
    pub fn cluster(&self) -> &ClusterParams {
        &self.cluster
    }

    /// The state beside the accounts (windows, freezes, moves).
    pub fn state(&self) -> &RuntimeState {
        &self.state
    }

    /// An account as of the last executed slot.
    pub fn account(&self, pubkey: &Pubkey) -> Option<Account> {
        self.store.inspect(pubkey).map(|a| a.to_account())
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The epoch of `slot`.
    pub fn epoch_of(&self, slot: u64) -> u64 {
        slot / self.cluster.slots_per_epoch
    }

    /// Schedules an operator slash of `bps` basis points of `vote_account`'s stake, applied at
    /// the next epoch boundary whichever domain the account is in (SPEC §5). It is recorded with
    /// the next block's state.
    pub fn schedule_slash(&mut self, vote_account: Pubkey, bps: u16) -> Result<(), RuntimeError> {
        let invalid = |reason: &str| RuntimeError::InvalidSlash {
            vote_account,
            reason: reason.to_owned(),
        };
        if bps == 0 || bps > 10_000 {
            return Err(invalid("basis points must be 1 ..= 10,000"));
        }
        if !self.vote_accounts.contains(&vote_account) {
            return Err(invalid("not a vote account"));
        }
        self.state.slashes.push((vote_account, bps));
        Ok(())
    }

    /// Executes one block (module docs). A rejected block changes nothing.
    pub fn execute_block(&mut self, block: &Block) -> Result<BlockOutcome, RuntimeError> {
        // The header first: a block that cannot follow is refused before its signatures cost
        // anything.
        self.check_header(block)?;
        let verified = VerifiedBlock::new(block, self.backend)?;
        self.execute_verified(&verified)
    }

    /// Parses `block` and verifies its signatures on the runtime's backend, touching no state:
    /// the work [`Runtime::execute_verified`] needs done beforehand.
    pub fn verify<'b>(&self, block: &'b Block) -> Result<VerifiedBlock<'b>, RuntimeError> {
        VerifiedBlock::new(block, self.backend)
    }

    /// Executes a block whose transactions were parsed and signatures verified beforehand
    /// ([`Runtime::verify`]), as [`Runtime::execute_block`] does. A rejected block changes nothing.
    pub fn execute_verified(
        &mut self,
        verified: &VerifiedBlock<'_>,
    ) -> Result<BlockOutcome, RuntimeError> {
        self.changing(verified.block(), |rt| rt.run_block(verified))
    }

    /// Checks `block`'s header, then runs `change`: from there on the runtime changes, and a
    /// failure poisons it (reopening recovers the last committed slot from disk) — a panic as
    /// well as an error: it is raised again, and a caller that catches it finds the runtime
    /// refusing further blocks (its windows had already taken the block's signatures in).
    fn changing(
        &mut self,
        block: &Block,
        change: impl FnOnce(&mut Runtime) -> Result<BlockOutcome, RuntimeError>,
    ) -> Result<BlockOutcome, RuntimeError> {
        self.check_header(block)?;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| change(self)));
        let result = result.unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            self.poisoned = Some(format!(
                "executing the block of slot {} panicked: {what}",
                block.header.slot
            ));
            std::panic::resume_unwind(panic)
        });
        if let Err(e) = &result {
            self.poisoned = Some(e.to_string());
        }
        result
    }

    /// The block checks of SPEC §4 against the last executed slot.
    fn check_header(&self, block: &Block) -> Result<(), RuntimeError> {
        if let Some(reason) = &self.poisoned {
            return Err(RuntimeError::Poisoned(reason.clone()));
        }
        check_block_header(
            &block.header,
            self.state.slot,
            self.state.unix_timestamp_ms,
            self.cluster.slots_per_epoch,
        )
    }

    fn run_block(&mut self, verified: &VerifiedBlock<'_>) -> Result<BlockOutcome, RuntimeError> {
        let header = &verified.block().header;
        let transactions = &verified.transactions[..];
        let slot = header.slot;
        let epoch = self.epoch_of(slot);
        let mut overlay = Overlay::default();
        for e in self.state.epoch + 1..=epoch {
            epoch::enter_epoch(
                e,
                &self.cluster,
                &self.store,
                &mut self.state,
                &mut overlay,
                &self.vote_accounts,
            )?;
        }
        // Checks 1–4, for the whole block.
        let ingest::Admission {
            mut statuses,
            payer_domain,
        } = ingest::admit(
            verified,
            |key| overlay.mapping_of(&self.store, key),
            &mut self.state,
        );

        // The two passes.
        let input = PassInput::new(transactions, &payer_domain, header, epoch);
        let mut sig_counts = PerDomain::default();
        for domain in Domain::ALL {
            sig_counts[domain] = pass::run_pass(
                domain,
                &self.store,
                &mut self.state,
                &mut overlay,
                &input,
                &mut statuses,
                if domain == Domain::Ued {
                    self.ued_threads
                } else {
                    1
                },
            )?;
        }

        // Hashes and commit.
        let admission = ingest::Admission {
            statuses,
            payer_domain,
        };
        let txs = executor::tx_outcomes(transactions, admission);
        let votes = executor::executed_votes(
            transactions,
            |i| txs[i].status == TxStatus::Success && txs[i].domain == Some(Domain::Ved),
            |key| {
                let account = overlay.get(&self.store, key)?;
                (account.lamports > 0).then(|| {
                    VoteState::ved_stake_of(&account.owner, account.mapping, &account.data)
                })?
            },
        );
        let accounts_changed = self.commit(
            slot,
            overlay,
            sig_counts,
            header,
            None,
            transactions,
            &txs,
            &votes,
        )?;
        Ok(self.outcome(slot, txs, sig_counts, accounts_changed, votes))
    }

    /// The VED's total stake once `overlay` (a slot's changes) is applied: the stake of every
    /// vote account mapped RW-VED, as the VED executor sums it
    /// ([`executor::VedExecutor::ved_stake`]) — what the cluster view judges the slot against.
    fn ved_stake(&self, overlay: &Overlay) -> u64 {
        // Read in place (no copy of each account): the vote accounts the slot left alone as the
        // store has them, and every account it wrote as it leaves them — a vote account made in
        // the slot counts, one it emptied does not (the VED executor's copy holds no account
        // without lamports), as the VED executor sums them.
        let unchanged = (self.vote_accounts.iter())
            .filter(|key| overlay.written(key).is_none())
            .filter_map(|key| {
                let a = self.store.inspect(key)?;
                VoteState::ved_stake_of(&a.owner, a.mapping, &a.data)
            });
        let written = (overlay.changed())
            .filter(|(_, (a, _))| a.lamports > 0)
            .filter_map(|(_, (a, _))| VoteState::ved_stake_of(&a.owner, a.mapping, &a.data));
        unchanged.chain(written).sum()
    }

    /// Updates the LtHashes with the slot's changes, chains the hashes, and commits the slot
    /// with its statuses `txs` (of `transactions`, whose payers the status file tags) and
    /// `votes` ([`vote_log`]). With `ved` (the VED executor's `LtHash_VED` and `hash_VED` of
    /// the slot), the VED's own writes are committed but not hashed again.
    #[allow(clippy::too_many_arguments)]
    fn commit(
        &mut self,
        slot: u64,
        overlay: Overlay,
        sig_counts: PerDomain<u64>,
        header: &crate::ledger::BlockHeader,
        ved: Option<(tandem_kernels::LtHash, [u8; 32])>,
        transactions: &[Transaction<'_>],
        txs: &[TxOutcome],
        votes: &[VoteReport],
    ) -> Result<usize, RuntimeError> {
        // Read before the store's commit is planned, which holds the store until it is written.
        let ved_stake = self.ved_stake(&overlay);
        let epoch = self.epoch_of(slot);
        let dir = self.store.dir().to_owned();
        let changed = overlay.in_key_order();
        let mut olds = Vec::with_capacity(changed.len());
        let mut news = Vec::with_capacity(changed.len());
        // Staged in key order: appended, no map of the keys built (`SlotChanges`).
        let mut changes = SlotChanges::with_capacity(changed.len());
        let ved_view = self.store.view(Domain::Ved);
        let ued_view = self.store.view(Domain::Ued);
        for &(pubkey, (account, writer)) in &changed {
            let new = (account.lamports > 0).then_some(account);
            // Its state before the slot, copied only where the slot changed it.
            let old = match (self.store.inspect(pubkey), new) {
                (None, None) => continue,
                (Some(old), Some(new)) if old.is(new) => continue,
                (old, _) => old.map(|a| a.to_account()),
            };
            if new.is_none() {
                self.state.forget_member(pubkey);
            }
            match (writer, new) {
                (Writer::Domain(d), Some(new)) => {
                    let view = if *d == Domain::Ved {
                        &ved_view
                    } else {
                        &ued_view
                    };
                    view.stage_write(&mut changes, new.clone())?;
                }
                (Writer::Domain(d), None) => {
                    let view = if *d == Domain::Ved {
                        &ved_view
                    } else {
                        &ued_view
                    };
                    view.stage_delete(&mut changes, pubkey)?;
                }
                (Writer::Runtime, Some(new)) => changes.load(new.clone()),
                (Writer::Runtime, None) => changes.delete(*pubkey),
            }
            if ved.is_some() && *writer == Writer::Domain(Domain::Ved) {
                continue;
            }
            olds.push(old);
            news.push(new);
        }
        let pairs: Vec<(Option<&Account>, Option<&Account>)> =
            olds.iter().map(Option::as_ref).zip(news).collect();
        // The store's writes are planned on this thread while the others hash (the plan needs
        // no hash, the hashes no store: the old states are copies), and written after the
        // slot's statuses and state, which need the hashes.
        let accounts_changed = changes.len();
        let store = &mut self.store;
        let (hashed, planned) = self.state.hashes.apply_changes_beside(
            &AccountHasher::shared(self.backend),
            &pairs,
            self.ued_threads + self.extra_hash_threads,
            || store.plan_commit(slot, changes),
        );
        let planned = planned?;
        hashed?;
        match ved {
            None => self.state.hashes.chain(sig_counts, &header.blockhash),
            Some((lthash, hash)) => {
                let hashes = &mut self.state.hashes;
                hashes.chain_domain(Domain::Ued, sig_counts.ued, &header.blockhash);
                hashes.lthash[Domain::Ved] = lthash;
                hashes.hash[Domain::Ved] = hash;
            }
        }
        if self.ued_fault_from.is_some_and(|from| slot >= from) {
            // A nondeterministic validator, simulated (`inject_ued_fault`).
            let hash = &mut self.state.hashes.hash[Domain::Ued];
            *hash = sha2::Sha256::new()
                .chain_update(b"tandem:injected-ued-fault")
                .chain_update(*hash)
                .finalize()
                .into();
        }
        let vote_program = vote_program_id();
        for &(pubkey, (account, _)) in &changed {
            if account.owner == vote_program && account.lamports > 0 {
                self.vote_accounts.insert(*pubkey);
            } else {
                self.vote_accounts.remove(pubkey);
            }
        }
        self.state
            .advance(slot, header.blockhash, header.unix_timestamp_ms);
        self.state.epoch = epoch;

        // The slot's statuses and votes first: a committed slot always has them.
        let payer_of = |i: usize| transactions[i].message().account_keys()[0];
        self.status_files.write(&dir, slot, txs, payer_of)?;
        let record = SlotVotes::new(slot, self.state.hashes.hash, ved_stake, votes);
        self.vote_log.append(&record)?;
        self.state.save(&dir).map_err(|source| RuntimeError::Io {
            path: state::state_path(&dir, slot),
            source,
        })?;
        planned.write()?;
        RuntimeState::remove_others(&dir, slot)?;
        self.status_files.prune(&dir)?;
        // The votes the cluster view keeps: looked for once a segment, not at every commit.
        if self.vote_log_pruning.due(slot, vote_log::SEGMENT_SLOTS) {
            let oldest_indexed = self.oldest_indexed_slot();
            let keep = vote_log::kept_from(slot, self.cluster.slots_per_epoch, oldest_indexed);
            VoteLog::prune(&dir, keep)?;
        }
        Ok(accounts_changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic while a block changes the runtime poisons it, as an error does: a caller that
    /// catches it (a library host) gets `Poisoned` for the next block, not a runtime whose
    /// windows took in half a block.
    #[test]
    fn a_panic_while_executing_poisons_the_runtime() {
        let dir = tempfile::tempdir().expect("dir");
        let mut runtime = Runtime::open(&Genesis::default_cluster(), dir.path()).expect("open");
        let block = Block {
            header: crate::ledger::BlockHeader {
                slot: 1,
                parent_slot: 0,
                leader: Pubkey([1; 32]),
                unix_timestamp_ms: Genesis::default_cluster().cluster.unix_timestamp_ms + 400,
                blockhash: [7; 32],
            },
            transactions: Default::default(),
        };
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime.changing(&block, |_| panic!("a fault in a builtin"))
        }));
        assert!(caught.is_err(), "the panic is raised again");
        let err = runtime.execute_block(&block).expect_err("poisoned");
        assert!(matches!(err, RuntimeError::Poisoned(_)), "{err}");
        assert!(err.to_string().contains("a fault in a builtin"), "{err}");
    }
}
