//! The transaction wire format (SPEC §2): Solana's, legacy and v0, byte for byte.
//!
//! This module owns the bytes of a transaction: reading them ([`Transaction::parse`]: decode, then
//! sanitize exactly as Solana's `VersionedTransaction::sanitize`;
//! [`Transaction::checked_fee_payer`]: the same yes or no, and the fee payer, building nothing),
//! writing them ([`MessageBuilder`], [`Transaction::sign`]), and the compact-u16 integers inside
//! them ([`compact_u16`]). Decoding borrows from the input: signatures, account keys, the
//! blockhash and instruction data are slices of it, never copies.
//!
//! It never panics on any input, and it knows nothing about accounts, domains or fees: whether a
//! signature verifies, whether the payer is a program or can pay, and what the instructions do are
//! the runtime's questions (SPEC §2 checks 1–10). The one exception is the shape of the fee payer
//! ([`Message::fee_payer`]), which the header alone decides.
//!
//! Decisions, where Solana leaves a choice or SPEC differs from Solana:
//! - **Duplicate account keys** are a sanitize error here ([`TxError::DuplicateAccountKey`]).
//!   Solana accepts them at sanitize and rejects the transaction when it locks its accounts
//!   (`AccountLoadedTwice`): it never executes and pays no fee. tandem has no separate lock step
//!   and SPEC §2 gives such a transaction no status, so it is malformed bytes, like the rest.
//!   Only static keys are compared; addresses behind lookups are not known here.
//! - **Zero signers, zero keys**: as in Solana, `num_readonly_signed_accounts <
//!   num_required_signatures` is required even when both are 0, so a sanitized message has at
//!   least one signer, hence at least one key, and its first key is always a writable signer.
//!   [`Message::fee_payer`] still checks the rule itself (with [`FeePayerProblem::NoAccountKeys`]
//!   for an empty key list), because it is also asked of merely decoded messages.
//! - **Writability** is the header's ([`Message::is_writable`]). Solana additionally demotes
//!   program ids and reserved accounts to read-only at run time; tandem does not, because SPEC §2
//!   check 7 fails a transaction that marks a program writable (`WritableProgram`).
//! - **Size**: at most [`PACKET_DATA_SIZE`] bytes (Solana's packet limit; SPEC §2 says only
//!   "Solana's" wire format). [`Transaction::parse`] refuses a longer one, and the ledger
//!   format refuses a length field claiming more before reading it (`crate::ledger`).
//! - **Lookups** (v0) are decoded and sanitized, never resolved: loaded addresses count towards
//!   the index range of instruction accounts, but [`Message::account_keys`],
//!   [`Message::is_signer`] and [`Message::is_writable`] speak of the static keys only. The
//!   runtime fails such a transaction with `UnsupportedAddressLookup` (SPEC §2 check 9).

mod builder;
mod check;
pub mod compact_u16;
mod error;
mod message;
mod reader;
mod transaction;

pub use builder::{AccountMeta, AddressLookupTable, MessageBuilder};
pub use error::{BuildError, CompactU16Error, FeePayerProblem, Field, SignError, TxError};
pub use message::{AddressTableLookup, Instruction, Message, MessageHeader, MessageVersion};
pub use transaction::Transaction;

/// The largest transaction on the wire, in bytes: Solana's `PACKET_DATA_SIZE` (the IPv6 minimum
/// MTU of 1280 minus 40 bytes of IPv6 header and 8 of UDP header).
pub const PACKET_DATA_SIZE: usize = 1232;

/// The length of an ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// An ed25519 signature as it sits on the wire: R (32 bytes) then S (32 bytes).
pub type Signature = [u8; SIGNATURE_LEN];

/// The most account keys a message can address, static and loaded together: indices are one byte.
pub const MAX_ACCOUNT_KEYS: usize = 256;

/// The byte that marks a versioned message: its high bit is set, the low seven bits are the
/// version. A legacy message starts with `num_required_signatures`, which is below it.
pub const VERSION_PREFIX: u8 = 0x80;
