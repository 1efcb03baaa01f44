//! The system program (SPEC §3): Solana's `CreateAccount`, `Assign`, `Transfer` and `Allocate`
//! with their real encodings (bincode: a u32 little-endian variant index, then the fields), and
//! tandem's `RemapDomain`.
//!
//! Semantics follow Solana's system program: `CreateAccount` needs both accounts to sign and the
//! new one to be empty (no lamports, no data, system-owned); `Transfer` debits only a
//! system-owned account without data (checked in Solana's order: data, balance, then the owner
//! where the balance falls); `Allocate` and `Assign` need the account's signature, and
//! `Assign` a system-owned account whose data is all zeros.
//! Like Solana (bincode's legacy options), bytes after the fields are ignored.

use super::{Effect, InvokeContext, ProgramFailure, owner_may_move};
use crate::account::{MAX_ACCOUNT_DATA_LEN, Mapping, Pubkey};
use crate::sample::SYSTEM_PROGRAM_ID;

/// Variant index of tandem's `RemapDomain` ("td" 0001).
pub const REMAP_DOMAIN_VARIANT: u32 = 0x7464_0001;

/// A system program instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemInstruction {
    /// Variant 0: accounts `[from (signer, writable), new (signer, writable)]`.
    CreateAccount {
        /// Moved from `from` to the new account.
        lamports: u64,
        /// Bytes of data allocated.
        space: u64,
        /// The new account's owner program.
        owner: Pubkey,
    },
    /// Variant 1: accounts `[account (signer, writable)]`.
    Assign {
        /// The new owner program.
        owner: Pubkey,
    },
    /// Variant 2: accounts `[from (signer, writable), to (writable)]`.
    Transfer {
        /// Lamports moved.
        lamports: u64,
    },
    /// Variant 8: accounts `[account (signer, writable)]`.
    Allocate {
        /// Bytes of data allocated.
        space: u64,
    },
    /// Variant `0x7464_0001`: accounts `[account (signer, writable)]`; moves it to mapping
    /// `target` (3 = RW-VED, 4 = RW-UED) as SPEC §5 says.
    RemapDomain {
        /// The mapping tag.
        target: u8,
    },
}

impl SystemInstruction {
    /// The instruction's data bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(52);
        match *self {
            SystemInstruction::CreateAccount {
                lamports,
                space,
                owner,
            } => {
                out.extend_from_slice(&0u32.to_le_bytes());
                out.extend_from_slice(&lamports.to_le_bytes());
                out.extend_from_slice(&space.to_le_bytes());
                out.extend_from_slice(&owner.0);
            }
            SystemInstruction::Assign { owner } => {
                out.extend_from_slice(&1u32.to_le_bytes());
                out.extend_from_slice(&owner.0);
            }
            SystemInstruction::Transfer { lamports } => {
                out.extend_from_slice(&2u32.to_le_bytes());
                out.extend_from_slice(&lamports.to_le_bytes());
            }
            SystemInstruction::Allocate { space } => {
                out.extend_from_slice(&8u32.to_le_bytes());
                out.extend_from_slice(&space.to_le_bytes());
            }
            SystemInstruction::RemapDomain { target } => {
                out.extend_from_slice(&REMAP_DOMAIN_VARIANT.to_le_bytes());
                out.push(target);
            }
        }
        out
    }

    /// Decodes instruction data; unknown variants and short data are `InvalidInstructionData`.
    pub fn decode(data: &[u8]) -> Result<SystemInstruction, ProgramFailure> {
        let mut f = super::Fields::new(data);
        Ok(match f.u32()? {
            0 => SystemInstruction::CreateAccount {
                lamports: f.u64()?,
                space: f.u64()?,
                owner: f.pubkey()?,
            },
            1 => SystemInstruction::Assign { owner: f.pubkey()? },
            2 => SystemInstruction::Transfer { lamports: f.u64()? },
            8 => SystemInstruction::Allocate { space: f.u64()? },
            REMAP_DOMAIN_VARIANT => SystemInstruction::RemapDomain { target: f.u8()? },
            _ => return Err(ProgramFailure::InvalidInstructionData),
        })
    }
}

/// Runs one system instruction.
pub fn process(ctx: &mut InvokeContext<'_>) -> Result<(), ProgramFailure> {
    match SystemInstruction::decode(ctx.data)? {
        SystemInstruction::CreateAccount {
            lamports,
            space,
            owner,
        } => {
            // Solana's order: a funded account is in use before any signature is asked; the
            // new account signs for its allocation, the funder for the transfer after it.
            if ctx.account(1)?.account.lamports > 0 {
                return Err(ProgramFailure::AccountAlreadyInUse);
            }
            ctx.signer(1)?;
            allocate(ctx, 1, space)?;
            assign(ctx, 1, owner)?;
            ctx.signer(0)?;
            transfer(ctx, 0, 1, lamports)
        }
        SystemInstruction::Assign { owner } => {
            // Solana's `assign`: the owner it already has is no work, asked of no signature
            // (and, since nothing is set, of no writable account).
            if ctx.account(0)?.account.owner == owner {
                return Ok(());
            }
            ctx.signer(0)?;
            assign(ctx, 0, owner)
        }
        SystemInstruction::Transfer { lamports } => {
            ctx.signer(0)?;
            transfer(ctx, 0, 1, lamports)
        }
        SystemInstruction::Allocate { space } => {
            ctx.signer(0)?;
            allocate(ctx, 0, space)
        }
        SystemInstruction::RemapDomain { target } => remap(ctx, target),
    }
}

fn allocate(ctx: &mut InvokeContext<'_>, n: usize, space: u64) -> Result<(), ProgramFailure> {
    let account = &mut ctx.account_mut(n)?.account;
    if !account.data.is_empty() || account.owner != SYSTEM_PROGRAM_ID {
        return Err(ProgramFailure::AccountAlreadyInUse);
    }
    if space > MAX_ACCOUNT_DATA_LEN as u64 {
        return Err(ProgramFailure::InvalidAccountDataLength);
    }
    account.data = vec![0; space as usize];
    Ok(())
}

fn assign(ctx: &mut InvokeContext<'_>, n: usize, owner: Pubkey) -> Result<(), ProgramFailure> {
    let account = &mut ctx.account_mut(n)?.account;
    if account.owner == owner {
        return Ok(());
    }
    // Solana's `set_owner`: only the owner, and only over zeroed data (`ModifiedProgramId`).
    if account.owner != SYSTEM_PROGRAM_ID || account.data.iter().any(|&b| b != 0) {
        return Err(ProgramFailure::InvalidAccountOwner);
    }
    account.owner = owner;
    Ok(())
}

fn transfer(
    ctx: &mut InvokeContext<'_>,
    from: usize,
    to: usize,
    lamports: u64,
) -> Result<(), ProgramFailure> {
    // Solana's order: data, then the balance, then — only where the balance falls — the owner
    // (`ExternalAccountLamportSpend`, raised when the lamports are set).
    let source = &ctx.account(from)?.account;
    if !source.data.is_empty() {
        return Err(ProgramFailure::InvalidArgument);
    }
    if lamports > source.lamports {
        return Err(ProgramFailure::ResultWithNegativeLamports);
    }
    if lamports > 0 && source.owner != SYSTEM_PROGRAM_ID {
        return Err(ProgramFailure::InvalidAccountOwner);
    }
    ctx.move_lamports(from, to, lamports)
}

fn remap(ctx: &mut InvokeContext<'_>, target: u8) -> Result<(), ProgramFailure> {
    let target = match Mapping::from_tag(target) {
        Ok(m @ (Mapping::RwVed | Mapping::RwUed)) => m,
        _ => return Err(ProgramFailure::InvalidInstructionData),
    };
    ctx.signer(0)?;
    let held = ctx.account_mut(0)?;
    let account = &held.account;
    if account.lamports == 0
        || account.mapping == target
        || held.remap_locked
        || !owner_may_move(&account.owner)
    {
        return Err(ProgramFailure::InvalidArgument);
    }
    let pubkey = account.pubkey;
    ctx.request(Effect::Remap { pubkey, target });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_round_trip_and_match_solanas_layout() {
        let owner = Pubkey([7; 32]);
        for ix in [
            SystemInstruction::CreateAccount {
                lamports: 1,
                space: 2,
                owner,
            },
            SystemInstruction::Assign { owner },
            SystemInstruction::Transfer { lamports: 42 },
            SystemInstruction::Allocate { space: 9 },
            SystemInstruction::RemapDomain { target: 3 },
        ] {
            assert_eq!(SystemInstruction::decode(&ix.encode()), Ok(ix));
        }
        // Transfer: variant 2 as u32 LE, then the u64.
        assert_eq!(
            SystemInstruction::Transfer { lamports: 1 }.encode(),
            [2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            SystemInstruction::decode(&[3, 0, 0, 0]),
            Err(ProgramFailure::InvalidInstructionData)
        );
        assert_eq!(
            SystemInstruction::decode(&[2, 0, 0, 0, 1]),
            Err(ProgramFailure::InvalidInstructionData)
        );
    }
}
