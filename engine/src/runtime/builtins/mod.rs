//! The builtin programs (SPEC §3): the system program with Solana's encodings plus tandem's
//! `RemapDomain`, and the vote program with tandem's own encoding.
//!
//! A program sees one instruction: its accounts (copies owned by the transaction, with the
//! signer and writable flags of the message), its data, and the clock of the block. It changes
//! the copies only; the runtime keeps them when every instruction of the transaction succeeded
//! and drops them otherwise. Requests that take effect later (a remap) are returned as
//! [`Effect`]s, kept or dropped with the accounts.
//!
//! # Error codes
//!
//! A failing instruction gives `ProgramError(code)` (SPEC §2), the code being the program's own:
//!
//! | code | name | raised when |
//! |---|---|---|
//! | 0 | `AccountAlreadyInUse` | system: `CreateAccount` to an account with lamports, `Allocate`/`CreateAccount` of one with data or a non-system owner (Solana's `SystemError`) |
//! | 1 | `ResultWithNegativeLamports` | system: a transfer of more than the balance (Solana's `SystemError`) |
//! | 2 | `InvalidProgramId` | reserved: Solana's `SystemError` number, which its system program (and so tandem's) raises nowhere |
//! | 3 | `InvalidAccountDataLength` | system: `space` above 10 MiB (Solana's `SystemError`) |
//! | 256 | `InvalidInstructionData` | data that does not decode, an unknown variant, a remap target other than 3 or 4 |
//! | 257 | `NotEnoughAccountKeys` | fewer accounts than the instruction needs |
//! | 258 | `MissingRequiredSignature` | an account that must sign did not |
//! | 259 | `ReadonlyAccountModified` | an account that must be writable is not |
//! | 260 | `UnsupportedProgram` | the program is not a builtin (tandem runs no on-chain programs yet) |
//! | 261 | `InvalidAccountOwner` | debiting or reassigning an account the program does not own (Solana's `ExternalAccountLamportSpend`, `ModifiedProgramId`), or reassigning one whose data is not all zeros |
//! | 262 | `InvalidArgument` | `from` carries data; a remap to the current mapping, of a frozen or already moving account, or to a domain where its owner does not run |
//! | 512 | `VoteAccountAlreadyInitialized` | vote: `InitializeAccount` twice |
//! | 513 | `VoteAccountUninitialized` | vote: anything but `InitializeAccount` on a fresh account, or data of the wrong size |
//! | 514 | `VoteSlotTooOld` | vote: a slot not after the last one voted |
//! | 515 | `VoteSlotNotPast` | vote: a slot (the VED's, or the UED's reported) not before the block's own |
//! | 516 | `UnauthorizedVoter` | vote: the signer is not the authorized voter (or, for `Activate`, `Deactivate`, `InitializeAccount`, not the node) |
//! | 517 | `UedSlotRegressed` | vote: a UED `(slot, hash)` not newer than the last one reported |
//! | 518 | `InsufficientFundsForStake` | vote: `DelegateStake` of more than the funder has |

pub mod system;
pub mod vote;

use crate::account::{Account, Mapping, Pubkey};
use crate::sample::{SYSTEM_PROGRAM_ID, vote_program_id};

/// Why an instruction failed; [`ProgramFailure::code`] is the code `ProgramError(code)` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // each variant is documented by the table of the module docs
pub enum ProgramFailure {
    AccountAlreadyInUse,
    ResultWithNegativeLamports,
    InvalidProgramId,
    InvalidAccountDataLength,
    InvalidInstructionData,
    NotEnoughAccountKeys,
    MissingRequiredSignature,
    ReadonlyAccountModified,
    UnsupportedProgram,
    InvalidAccountOwner,
    InvalidArgument,
    VoteAccountAlreadyInitialized,
    VoteAccountUninitialized,
    VoteSlotTooOld,
    VoteSlotNotPast,
    UnauthorizedVoter,
    UedSlotRegressed,
    InsufficientFundsForStake,
}

impl ProgramFailure {
    /// The code of `ProgramError(code)` (the table in the module docs).
    pub const fn code(self) -> u32 {
        use ProgramFailure::*;
        match self {
            AccountAlreadyInUse => 0,
            ResultWithNegativeLamports => 1,
            InvalidProgramId => 2,
            InvalidAccountDataLength => 3,
            InvalidInstructionData => 256,
            NotEnoughAccountKeys => 257,
            MissingRequiredSignature => 258,
            ReadonlyAccountModified => 259,
            UnsupportedProgram => 260,
            InvalidAccountOwner => 261,
            InvalidArgument => 262,
            VoteAccountAlreadyInitialized => 512,
            VoteAccountUninitialized => 513,
            VoteSlotTooOld => 514,
            VoteSlotNotPast => 515,
            UnauthorizedVoter => 516,
            UedSlotRegressed => 517,
            InsufficientFundsForStake => 518,
        }
    }
}

/// The clock a builtin reads: the block being executed (tandem keeps no sysvar accounts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    /// The block's slot.
    pub slot: u64,
    /// Its epoch.
    pub epoch: u64,
    /// Its timestamp.
    pub unix_timestamp_ms: i64,
}

/// One account as a transaction holds it while it executes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxAccount {
    /// The account (a system-owned, empty, zero-lamport RW-UED account when it does not exist).
    pub account: Account,
    /// Whether it signed the transaction.
    pub is_signer: bool,
    /// Whether the message marks it writable.
    pub is_writable: bool,
    /// Whether it is frozen for a remap or already moving (SPEC §5): it may not be remapped.
    pub remap_locked: bool,
}

/// What an instruction asks of the runtime beyond its accounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// `RemapDomain`: move the account to `target` as SPEC §5 says.
    Remap {
        /// The account.
        pubkey: Pubkey,
        /// Its new mapping, RW-VED or RW-UED.
        target: Mapping,
    },
}

/// One instruction's view of its transaction.
pub struct InvokeContext<'t> {
    accounts: &'t mut [TxAccount],
    indices: &'t [u8],
    /// The instruction's input.
    pub data: &'t [u8],
    /// The block's clock.
    pub clock: Clock,
    effects: &'t mut Vec<Effect>,
}

impl<'t> InvokeContext<'t> {
    /// The context of an instruction whose accounts are `indices` into `accounts`.
    pub fn new(
        accounts: &'t mut [TxAccount],
        indices: &'t [u8],
        data: &'t [u8],
        clock: Clock,
        effects: &'t mut Vec<Effect>,
    ) -> Self {
        InvokeContext {
            accounts,
            indices,
            data,
            clock,
            effects,
        }
    }

    /// The position in the transaction of the instruction's `n`-th account.
    fn slot_of(&self, n: usize) -> Result<usize, ProgramFailure> {
        let index = *self
            .indices
            .get(n)
            .ok_or(ProgramFailure::NotEnoughAccountKeys)?;
        let index = usize::from(index);
        if index < self.accounts.len() {
            Ok(index)
        } else {
            Err(ProgramFailure::NotEnoughAccountKeys)
        }
    }

    /// The instruction's `n`-th account.
    pub fn account(&self, n: usize) -> Result<&TxAccount, ProgramFailure> {
        Ok(&self.accounts[self.slot_of(n)?])
    }

    /// The instruction's `n`-th account, to change: it must be writable.
    pub fn account_mut(&mut self, n: usize) -> Result<&mut TxAccount, ProgramFailure> {
        let slot = self.slot_of(n)?;
        let account = &mut self.accounts[slot];
        if !account.is_writable {
            return Err(ProgramFailure::ReadonlyAccountModified);
        }
        Ok(account)
    }

    /// The instruction's `n`-th account, which must have signed.
    pub fn signer(&self, n: usize) -> Result<&TxAccount, ProgramFailure> {
        let account = self.account(n)?;
        if !account.is_signer {
            return Err(ProgramFailure::MissingRequiredSignature);
        }
        Ok(account)
    }

    /// Moves `lamports` from the `from`-th to the `to`-th account (both writable; the same
    /// account for both is allowed and changes nothing).
    pub fn move_lamports(
        &mut self,
        from: usize,
        to: usize,
        lamports: u64,
    ) -> Result<(), ProgramFailure> {
        let source = self.account_mut(from)?;
        source.account.lamports = source
            .account
            .lamports
            .checked_sub(lamports)
            .ok_or(ProgramFailure::ResultWithNegativeLamports)?;
        // On failure the transaction's copies are dropped, so the debit above is undone too.
        let destination = self.account_mut(to)?;
        destination.account.lamports = destination
            .account
            .lamports
            .checked_add(lamports)
            .ok_or(ProgramFailure::InvalidArgument)?;
        Ok(())
    }

    /// Records an effect for the runtime.
    pub fn request(&mut self, effect: Effect) {
        self.effects.push(effect);
    }
}

/// Runs one instruction of `program_id`.
pub fn invoke(program_id: &Pubkey, ctx: &mut InvokeContext<'_>) -> Result<(), ProgramFailure> {
    if *program_id == SYSTEM_PROGRAM_ID {
        system::process(ctx)
    } else if *program_id == vote_program_id() {
        vote::process(ctx)
    } else {
        Err(ProgramFailure::UnsupportedProgram)
    }
}

/// Whether an account owned by `owner` may move (`RemapDomain`, SPEC §3): "only if the account's
/// owner program is executable in the target domain (so only system- and vote-owned accounts
/// can move)". The builtins are RX-UED-VED, executable in both domains; whatever else an
/// account names as its owner (`Assign` takes any address) is not moved, into either domain.
pub fn owner_may_move(owner: &Pubkey) -> bool {
    *owner == SYSTEM_PROGRAM_ID || *owner == vote_program_id()
}

/// Reads little-endian fields off instruction data.
pub(crate) struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Fields(data)
    }

    pub(crate) fn take<const N: usize>(&mut self) -> Result<[u8; N], ProgramFailure> {
        if self.0.len() < N {
            return Err(ProgramFailure::InvalidInstructionData);
        }
        let (head, rest) = self.0.split_at(N);
        self.0 = rest;
        Ok(head.try_into().expect("N bytes"))
    }

    pub(crate) fn u8(&mut self) -> Result<u8, ProgramFailure> {
        Ok(self.take::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, ProgramFailure> {
        Ok(u32::from_le_bytes(self.take()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, ProgramFailure> {
        Ok(u64::from_le_bytes(self.take()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, ProgramFailure> {
        Ok(i64::from_le_bytes(self.take()?))
    }

    pub(crate) fn pubkey(&mut self) -> Result<Pubkey, ProgramFailure> {
        Ok(Pubkey(self.take()?))
    }
}
