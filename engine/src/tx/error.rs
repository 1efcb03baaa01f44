//! Why bytes are not a transaction, why a message could not be built, why it could not be signed.

use std::fmt;

use super::{MAX_ACCOUNT_KEYS, PACKET_DATA_SIZE};
use crate::Pubkey;

/// Why bytes are not a valid transaction (or message). Each wire or sanitize rule has its own
/// variant; the message names the rule and the numbers that break it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The transaction is longer than a packet.
    #[error("transaction is {len} bytes, longer than PACKET_DATA_SIZE ({PACKET_DATA_SIZE} bytes)")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// The bytes end inside a field.
    #[error("transaction truncated: the bytes end inside the {field} (at byte {offset})")]
    Truncated {
        /// The field being read.
        field: Field,
        /// Where that field (or its missing part) starts.
        offset: usize,
    },
    /// A compact-u16 length or count is malformed.
    #[error("the {field} (at byte {offset}) is not a valid compact-u16: {error}")]
    InvalidCompactU16 {
        /// The count or length being read.
        field: Field,
        /// Where it starts.
        offset: usize,
        /// What is wrong with it.
        error: CompactU16Error,
    },
    /// A versioned message of a version other than 0.
    #[error("message version {0} is not supported (only legacy and v0 messages are)")]
    UnsupportedVersion(u8),
    /// Bytes are left over after the message.
    #[error("{extra} trailing bytes after the message (which ends at byte {message_end})")]
    TrailingBytes {
        /// Where the message ends.
        message_end: usize,
        /// How many bytes follow it.
        extra: usize,
    },
    /// The header needs more signers and read-only unsigned keys than there are static keys.
    #[error(
        "num_required_signatures ({required}) + num_readonly_unsigned_accounts \
         ({readonly_unsigned}) is more than the {keys} account keys"
    )]
    HeaderExceedsKeys {
        /// `num_required_signatures`.
        required: u8,
        /// `num_readonly_unsigned_accounts`.
        readonly_unsigned: u8,
        /// The number of static account keys.
        keys: usize,
    },
    /// Every signer is read-only, so no key can pay the fee (this includes zero signers).
    #[error(
        "num_readonly_signed_accounts ({readonly_signed}) is not below num_required_signatures \
         ({required}): no writable signer to pay the fee"
    )]
    NoWritableSigner {
        /// `num_required_signatures`.
        required: u8,
        /// `num_readonly_signed_accounts`.
        readonly_signed: u8,
    },
    /// A v0 address-table lookup that loads no address.
    #[error("address table lookup {lookup} loads no addresses")]
    EmptyAddressTableLookup {
        /// Its position among the lookups.
        lookup: usize,
    },
    /// A v0 message addresses more keys (static plus loaded) than one-byte indices can reach.
    #[error(
        "the message addresses {count} account keys (static and loaded), more than {MAX_ACCOUNT_KEYS}"
    )]
    TooManyAccountKeys {
        /// Static keys plus loaded addresses.
        count: usize,
    },
    /// An instruction's program id index is not a static key.
    #[error(
        "instruction {instruction}: program id index {index} is out of range ({keys} static \
         account keys; program ids cannot come from lookups)"
    )]
    ProgramIdIndexOutOfRange {
        /// The instruction's position.
        instruction: usize,
        /// Its program id index.
        index: u8,
        /// The number of static account keys.
        keys: usize,
    },
    /// An instruction invokes the fee payer as its program.
    #[error(
        "instruction {instruction}: program id index 0 is the fee payer, which cannot be a program"
    )]
    ProgramIdIsFeePayer {
        /// The instruction's position.
        instruction: usize,
    },
    /// An instruction account index addresses no key.
    #[error(
        "instruction {instruction}: account index {index} is out of range ({keys} account keys, \
         static and loaded)"
    )]
    AccountIndexOutOfRange {
        /// The instruction's position.
        instruction: usize,
        /// The offending account index.
        index: u8,
        /// Static keys plus addresses the lookups load.
        keys: usize,
    },
    /// There are not exactly as many signatures as the header requires.
    #[error(
        "{signatures} signatures, but the header requires {required} (num_required_signatures)"
    )]
    SignatureCountMismatch {
        /// Signatures on the wire.
        signatures: usize,
        /// `num_required_signatures`.
        required: u8,
    },
    /// The same key appears twice among the static account keys.
    #[error("account key {key} appears twice, at indices {first} and {second}")]
    DuplicateAccountKey {
        /// The key.
        key: Pubkey,
        /// Its first index.
        first: usize,
        /// Its second index.
        second: usize,
    },
    /// The first account key is not a writable signer (SPEC §2 check 2: such a message breaks
    /// Solana's sanitize rules, so the transaction and its block are malformed).
    #[error("InvalidFeePayer: {0}")]
    InvalidFeePayer(FeePayerProblem),
}

/// What is wrong with a fee payer ([`TxError::InvalidFeePayer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FeePayerProblem {
    /// The message has no account keys at all.
    #[error("the message has no account keys")]
    NoAccountKeys,
    /// The first key does not sign.
    #[error("the first account key is not a signer")]
    NotSigner,
    /// The first key signs but is read-only.
    #[error("the first account key is a read-only signer")]
    NotWritable,
}

/// Why a compact-u16 could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CompactU16Error {
    /// The bytes end before the last byte of the encoding.
    #[error("the bytes end inside it")]
    Truncated,
    /// A zero byte after the first: an alias of a shorter encoding.
    #[error("non-canonical encoding (a zero byte after the first aliases a shorter one)")]
    NonCanonical,
    /// The third byte has its continuation bit set.
    #[error("longer than 3 bytes")]
    TooLong,
    /// The value does not fit in 16 bits.
    #[error("value {0} is above u16::MAX")]
    Overflow(u32),
}

/// A field of the wire format, named in [`TxError::Truncated`] and [`TxError::InvalidCompactU16`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The compact-u16 number of signatures.
    SignatureCount,
    /// The signatures.
    Signatures,
    /// The version prefix and the three header bytes.
    MessageHeader,
    /// The compact-u16 number of account keys.
    AccountKeyCount,
    /// The account keys.
    AccountKeys,
    /// The 32-byte recent blockhash.
    RecentBlockhash,
    /// The compact-u16 number of instructions.
    InstructionCount,
    /// An instruction's program id index.
    ProgramIdIndex,
    /// The compact-u16 number of an instruction's account indices.
    InstructionAccountCount,
    /// An instruction's account indices.
    InstructionAccounts,
    /// The compact-u16 length of an instruction's data.
    InstructionDataLength,
    /// An instruction's data.
    InstructionData,
    /// The compact-u16 number of address-table lookups.
    LookupCount,
    /// A lookup's 32-byte table account key.
    LookupTableKey,
    /// The compact-u16 number of a lookup's writable indices.
    LookupWritableCount,
    /// A lookup's writable indices.
    LookupWritableIndexes,
    /// The compact-u16 number of a lookup's read-only indices.
    LookupReadonlyCount,
    /// A lookup's read-only indices.
    LookupReadonlyIndexes,
}

impl Field {
    /// The field's name in error messages.
    pub const fn name(self) -> &'static str {
        match self {
            Field::SignatureCount => "signature count",
            Field::Signatures => "signatures",
            Field::MessageHeader => "message header",
            Field::AccountKeyCount => "account key count",
            Field::AccountKeys => "account keys",
            Field::RecentBlockhash => "recent blockhash",
            Field::InstructionCount => "instruction count",
            Field::ProgramIdIndex => "instruction's program id index",
            Field::InstructionAccountCount => "instruction's account count",
            Field::InstructionAccounts => "instruction's account indices",
            Field::InstructionDataLength => "instruction's data length",
            Field::InstructionData => "instruction's data",
            Field::LookupCount => "address table lookup count",
            Field::LookupTableKey => "lookup's table account key",
            Field::LookupWritableCount => "lookup's writable index count",
            Field::LookupWritableIndexes => "lookup's writable indices",
            Field::LookupReadonlyCount => "lookup's read-only index count",
            Field::LookupReadonlyIndexes => "lookup's read-only indices",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why [`MessageBuilder`](super::MessageBuilder) could not build a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// More distinct keys (static plus loaded) than one-byte indices can reach.
    #[error("the instructions use {count} distinct account keys, more than {MAX_ACCOUNT_KEYS}")]
    TooManyAccountKeys {
        /// Distinct keys.
        count: usize,
    },
    /// The signed transaction would not fit in a packet.
    #[error(
        "the signed transaction would be {len} bytes, longer than PACKET_DATA_SIZE \
         ({PACKET_DATA_SIZE} bytes)"
    )]
    TooLong {
        /// Its length (at least; counting stops at the first field that cannot fit).
        len: usize,
    },
    /// A key is found in a lookup table beyond the 256 entries a one-byte index reaches.
    #[error("key {key} is at position {position} of lookup table {table}, beyond index 255")]
    LookupIndexOverflow {
        /// The table's account key.
        table: Pubkey,
        /// The key found in it.
        key: Pubkey,
        /// Its position in the table.
        position: usize,
    },
}

/// Why [`Transaction::sign`](super::Transaction::sign) could not sign a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The bytes to sign are not a message.
    #[error("the bytes to sign are not a message: {0}")]
    Message(#[from] TxError),
    /// No signing key was given for a required signer.
    #[error("no signing key for required signer {key} (account key {index})")]
    MissingSigner {
        /// The signer's account key index.
        index: usize,
        /// Its key.
        key: Pubkey,
    },
    /// A signing key was given whose public key is not a required signer of the message.
    #[error("signing key {key} is not a required signer of the message")]
    UnexpectedSigner {
        /// The signing key's public key.
        key: Pubkey,
    },
}
