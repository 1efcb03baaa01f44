//! The vote program (SPEC §3) with tandem's own encoding.
//!
//! # Instructions
//!
//! Data is a u32 little-endian variant index, then the fields, little-endian:
//!
//! | variant | instruction | fields | accounts |
//! |---|---|---|---|
//! | 0 | `InitializeAccount` | `node [32]`, `authorized_voter [32]`, `fee_payer [32]` | vote account (writable, vote-owned, [`VOTE_STATE_LEN`] bytes of zeros), node (signer) |
//! | 1 | `Vote` | `slot u64`, `ved_hash [32]`, `ued` (u8 0 = none, 1 = some, then `slot u64`, `hash [32]`), `timestamp_ms i64` | vote account (writable), authorized voter (signer) |
//! | 2 | `Activate` | — | vote account (writable), node (signer) |
//! | 3 | `Deactivate` | — | vote account (writable), node (signer) |
//! | 4 | `DelegateStake` | `lamports u64` | vote account (writable), funder (signer, writable, system-owned) |
//!
//! A vote's slot must be after the account's last voted slot and before the block's slot; its
//! UED `(slot, hash)`, when present, must be newer than the last one reported. New vote accounts
//! start inactive; `Activate` makes them eligible for the VED at the next epoch computation and
//! `Deactivate` drops them at the next one (SPEC §5). `DelegateStake` moves lamports from the
//! funder into the vote account and adds them to its stake.
//!
//! # Vote account data ([`VoteState`], [`VOTE_STATE_LEN`] = 194 bytes)
//!
//! | offset | field |
//! |---|---|
//! | 0 | version u8 (1; 0 = not initialized) |
//! | 1 | node `[u8; 32]` |
//! | 33 | authorized voter `[u8; 32]` |
//! | 65 | fee payer `[u8; 32]` |
//! | 97 | stake u64 |
//! | 105 | active u8 (0 or 1) |
//! | 106 | last voted slot u64 (0 = never) |
//! | 114 | VED hash of that vote `[u8; 32]` |
//! | 146 | newest UED slot reported u64 (0 = never) |
//! | 154 | its UED hash `[u8; 32]` |
//! | 186 | timestamp of the last vote, ms, i64 |

use super::{Fields, InvokeContext, ProgramFailure};
use crate::account::{Mapping, Pubkey};
use crate::sample::{SYSTEM_PROGRAM_ID, vote_program_id};

/// Bytes of a vote account's data.
pub const VOTE_STATE_LEN: usize = 194;

/// A vote program instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteInstruction {
    /// Variant 0.
    InitializeAccount {
        /// The validator's identity.
        node: Pubkey,
        /// Who signs votes.
        authorized_voter: Pubkey,
        /// Who pays for votes.
        fee_payer: Pubkey,
    },
    /// Variant 1.
    Vote {
        /// The slot voted on.
        slot: u64,
        /// Its VED hash as the voter computed it.
        ved_hash: [u8; 32],
        /// The newest UED `(slot, hash)`, when it advanced since the last vote.
        ued: Option<(u64, [u8; 32])>,
        /// The voter's clock.
        timestamp_ms: i64,
    },
    /// Variant 2.
    Activate,
    /// Variant 3.
    Deactivate,
    /// Variant 4.
    DelegateStake {
        /// Lamports added to the stake.
        lamports: u64,
    },
}

impl VoteInstruction {
    /// The instruction's data bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        match *self {
            VoteInstruction::InitializeAccount {
                node,
                authorized_voter,
                fee_payer,
            } => {
                out.extend_from_slice(&0u32.to_le_bytes());
                for key in [node, authorized_voter, fee_payer] {
                    out.extend_from_slice(&key.0);
                }
            }
            VoteInstruction::Vote {
                slot,
                ved_hash,
                ued,
                timestamp_ms,
            } => {
                out.extend_from_slice(&1u32.to_le_bytes());
                out.extend_from_slice(&slot.to_le_bytes());
                out.extend_from_slice(&ved_hash);
                match ued {
                    None => out.push(0),
                    Some((ued_slot, hash)) => {
                        out.push(1);
                        out.extend_from_slice(&ued_slot.to_le_bytes());
                        out.extend_from_slice(&hash);
                    }
                }
                out.extend_from_slice(&timestamp_ms.to_le_bytes());
            }
            VoteInstruction::Activate => out.extend_from_slice(&2u32.to_le_bytes()),
            VoteInstruction::Deactivate => out.extend_from_slice(&3u32.to_le_bytes()),
            VoteInstruction::DelegateStake { lamports } => {
                out.extend_from_slice(&4u32.to_le_bytes());
                out.extend_from_slice(&lamports.to_le_bytes());
            }
        }
        out
    }

    /// Decodes instruction data.
    pub fn decode(data: &[u8]) -> Result<VoteInstruction, ProgramFailure> {
        let mut f = Fields::new(data);
        Ok(match f.u32()? {
            0 => VoteInstruction::InitializeAccount {
                node: f.pubkey()?,
                authorized_voter: f.pubkey()?,
                fee_payer: f.pubkey()?,
            },
            1 => VoteInstruction::Vote {
                slot: f.u64()?,
                ved_hash: f.take()?,
                ued: match f.u8()? {
                    0 => None,
                    1 => Some((f.u64()?, f.take()?)),
                    _ => return Err(ProgramFailure::InvalidInstructionData),
                },
                timestamp_ms: f.i64()?,
            },
            2 => VoteInstruction::Activate,
            3 => VoteInstruction::Deactivate,
            4 => VoteInstruction::DelegateStake { lamports: f.u64()? },
            _ => return Err(ProgramFailure::InvalidInstructionData),
        })
    }
}

/// The state a vote account keeps (layout in the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct VoteState {
    /// The validator's identity.
    pub node: Pubkey,
    /// Who signs votes.
    pub authorized_voter: Pubkey,
    /// Who pays for votes.
    pub fee_payer: Pubkey,
    /// Stake, lamports.
    pub stake: u64,
    /// Eligible for the VED at the next epoch computation.
    pub active: bool,
    /// The last slot voted on (0: never).
    pub last_voted_slot: u64,
    /// The VED hash of that vote.
    pub ved_hash: [u8; 32],
    /// The newest UED slot reported (0: never).
    pub ued_slot: u64,
    /// Its UED hash.
    pub ued_hash: [u8; 32],
    /// The timestamp of the last vote.
    pub timestamp_ms: i64,
}

impl VoteState {
    /// The stake an account with this owner, mapping and data brings to the VED's total: a vote
    /// account's, where it is mapped RW-VED.
    pub fn ved_stake_of(owner: &Pubkey, mapping: Mapping, data: &[u8]) -> Option<u64> {
        (*owner == vote_program_id() && mapping == Mapping::RwVed)
            .then(|| VoteState::decode(data))?
            .map(|v| v.stake)
    }

    /// A new, inactive vote state.
    pub fn new(node: Pubkey, authorized_voter: Pubkey, fee_payer: Pubkey) -> Self {
        VoteState {
            node,
            authorized_voter,
            fee_payer,
            ..VoteState::default()
        }
    }

    /// The account data.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(VOTE_STATE_LEN);
        out.push(1);
        for key in [self.node, self.authorized_voter, self.fee_payer] {
            out.extend_from_slice(&key.0);
        }
        out.extend_from_slice(&self.stake.to_le_bytes());
        out.push(u8::from(self.active));
        out.extend_from_slice(&self.last_voted_slot.to_le_bytes());
        out.extend_from_slice(&self.ved_hash);
        out.extend_from_slice(&self.ued_slot.to_le_bytes());
        out.extend_from_slice(&self.ued_hash);
        out.extend_from_slice(&self.timestamp_ms.to_le_bytes());
        debug_assert_eq!(out.len(), VOTE_STATE_LEN);
        out
    }

    /// Decodes account data: `None` unless it is an initialized vote state.
    pub fn decode(data: &[u8]) -> Option<VoteState> {
        if data.len() != VOTE_STATE_LEN || data[0] != 1 {
            return None;
        }
        let mut f = Fields::new(&data[1..]);
        let mut read = || -> Result<VoteState, ProgramFailure> {
            Ok(VoteState {
                node: f.pubkey()?,
                authorized_voter: f.pubkey()?,
                fee_payer: f.pubkey()?,
                stake: f.u64()?,
                active: match f.u8()? {
                    0 => false,
                    1 => true,
                    _ => return Err(ProgramFailure::VoteAccountUninitialized),
                },
                last_voted_slot: f.u64()?,
                ved_hash: f.take()?,
                ued_slot: f.u64()?,
                ued_hash: f.take()?,
                timestamp_ms: f.i64()?,
            })
        };
        read().ok()
    }
}

/// Runs one vote instruction.
pub fn process(ctx: &mut InvokeContext<'_>) -> Result<(), ProgramFailure> {
    let instruction = VoteInstruction::decode(ctx.data)?;
    let (owner, data) = {
        let vote_account = &ctx.account_mut(0)?.account;
        (vote_account.owner, vote_account.data.clone())
    };
    if owner != vote_program_id() {
        return Err(ProgramFailure::InvalidAccountOwner);
    }
    if let VoteInstruction::InitializeAccount {
        node,
        authorized_voter,
        fee_payer,
    } = instruction
    {
        if data.len() != VOTE_STATE_LEN {
            return Err(ProgramFailure::VoteAccountUninitialized);
        }
        if data[0] != 0 {
            return Err(ProgramFailure::VoteAccountAlreadyInitialized);
        }
        let signer = ctx.signer(1)?;
        if signer.account.pubkey != node {
            return Err(ProgramFailure::UnauthorizedVoter);
        }
        let state = VoteState::new(node, authorized_voter, fee_payer);
        ctx.account_mut(0)?.account.data = state.encode();
        return Ok(());
    }
    let mut state = VoteState::decode(&data).ok_or(ProgramFailure::VoteAccountUninitialized)?;
    match instruction {
        VoteInstruction::InitializeAccount { .. } => unreachable!("handled above"),
        VoteInstruction::Vote {
            slot,
            ved_hash,
            ued,
            timestamp_ms,
        } => {
            if ctx.signer(1)?.account.pubkey != state.authorized_voter {
                return Err(ProgramFailure::UnauthorizedVoter);
            }
            if slot <= state.last_voted_slot {
                return Err(ProgramFailure::VoteSlotTooOld);
            }
            if slot >= ctx.clock.slot {
                return Err(ProgramFailure::VoteSlotNotPast);
            }
            if let Some((ued_slot, ued_hash)) = ued {
                if ued_slot <= state.ued_slot {
                    return Err(ProgramFailure::UedSlotRegressed);
                }
                // Like the VED's slot: no UED hash of the block's own slot or a later one
                // exists yet (the cluster view drops such a report), and one stored would
                // refuse every honest report after it.
                if ued_slot >= ctx.clock.slot {
                    return Err(ProgramFailure::VoteSlotNotPast);
                }
                state.ued_slot = ued_slot;
                state.ued_hash = ued_hash;
            }
            state.last_voted_slot = slot;
            state.ved_hash = ved_hash;
            state.timestamp_ms = timestamp_ms;
        }
        VoteInstruction::Activate | VoteInstruction::Deactivate => {
            if ctx.signer(1)?.account.pubkey != state.node {
                return Err(ProgramFailure::UnauthorizedVoter);
            }
            state.active = instruction == VoteInstruction::Activate;
        }
        VoteInstruction::DelegateStake { lamports } => {
            let funder = ctx.signer(1)?;
            if funder.account.owner != SYSTEM_PROGRAM_ID || !funder.account.data.is_empty() {
                return Err(ProgramFailure::InvalidAccountOwner);
            }
            if funder.account.lamports < lamports {
                return Err(ProgramFailure::InsufficientFundsForStake);
            }
            ctx.move_lamports(1, 0, lamports)?;
            state.stake = state
                .stake
                .checked_add(lamports)
                .ok_or(ProgramFailure::InvalidArgument)?;
        }
    }
    ctx.account_mut(0)?.account.data = state.encode();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_and_state_round_trip() {
        for ix in [
            VoteInstruction::InitializeAccount {
                node: Pubkey([1; 32]),
                authorized_voter: Pubkey([2; 32]),
                fee_payer: Pubkey([3; 32]),
            },
            VoteInstruction::Vote {
                slot: 7,
                ved_hash: [4; 32],
                ued: Some((5, [6; 32])),
                timestamp_ms: -1,
            },
            VoteInstruction::Vote {
                slot: 7,
                ved_hash: [4; 32],
                ued: None,
                timestamp_ms: 9,
            },
            VoteInstruction::Activate,
            VoteInstruction::Deactivate,
            VoteInstruction::DelegateStake { lamports: 11 },
        ] {
            assert_eq!(VoteInstruction::decode(&ix.encode()), Ok(ix));
        }
        let state = VoteState {
            stake: 5,
            active: true,
            last_voted_slot: 3,
            ued_slot: 2,
            timestamp_ms: 8,
            ..VoteState::new(Pubkey([1; 32]), Pubkey([2; 32]), Pubkey([3; 32]))
        };
        let bytes = state.encode();
        assert_eq!(bytes.len(), VOTE_STATE_LEN);
        assert_eq!(VoteState::decode(&bytes), Some(state));
        assert_eq!(VoteState::decode(&[0; VOTE_STATE_LEN]), None);
    }
}
