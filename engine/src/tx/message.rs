//! A message (the bytes every signature signs), decoded in place: legacy or v0.

use bytemuck::TransparentWrapper;

use super::reader::Reader;
use super::{FeePayerProblem, Field, MAX_ACCOUNT_KEYS, TxError, VERSION_PREFIX, compact_u16};
use crate::Pubkey;

/// The message format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageVersion {
    /// The original format, without a version prefix or lookups.
    Legacy,
    /// Version 0: a `0x80` prefix, then the legacy fields, then address-table lookups.
    V0,
}

/// The three header bytes: how many keys sign, and how many signing and non-signing keys are
/// read-only. Keys are ordered writable signers, read-only signers, writable non-signers,
/// read-only non-signers, so these three numbers say what each key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MessageHeader {
    /// The number of signatures the transaction carries; the first keys are the signers.
    pub num_required_signatures: u8,
    /// How many of the signers (the last ones) are read-only.
    pub num_readonly_signed_accounts: u8,
    /// How many of the non-signers (the last ones) are read-only.
    pub num_readonly_unsigned_accounts: u8,
}

/// One compiled instruction: indices into the message's keys, and the program's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instruction<'a> {
    /// The index of the program to run among the static account keys.
    pub program_id_index: u8,
    /// The indices of the accounts it is given, in order.
    pub accounts: &'a [u8],
    /// Its input.
    pub data: &'a [u8],
}

/// One v0 address-table lookup: which entries of an on-chain table to load, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressTableLookup<'a> {
    /// The lookup table account.
    pub account_key: &'a Pubkey,
    /// Table entries loaded writable.
    pub writable_indexes: &'a [u8],
    /// Table entries loaded read-only.
    pub readonly_indexes: &'a [u8],
}

/// A message borrowed from wire bytes. [`Message::decode`] checks only that the bytes have the
/// wire format's shape; [`Message::sanitize`] then applies Solana's rules to the numbers in it.
/// The decoded parts borrow from the input; only the small lists of instruction and lookup
/// descriptors are allocated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    bytes: &'a [u8],
    version: MessageVersion,
    header: MessageHeader,
    account_keys: &'a [Pubkey],
    recent_blockhash: &'a [u8; 32],
    instructions: Vec<Instruction<'a>>,
    address_table_lookups: Vec<AddressTableLookup<'a>>,
}

impl<'a> Message<'a> {
    /// Decodes a whole message (no signatures before it, nothing after it).
    pub fn decode(bytes: &'a [u8]) -> Result<Self, TxError> {
        let mut reader = Reader::new(bytes);
        let message = Self::read(&mut reader)?;
        end_of_message(&reader)?;
        Ok(message)
    }

    /// Reads a message from the cursor onwards, and leaves the cursor after it.
    #[inline]
    pub(super) fn read(reader: &mut Reader<'a>) -> Result<Self, TxError> {
        let start = reader.pos();
        let first = reader.u8(Field::MessageHeader)?;
        let (version, num_required_signatures) = match first {
            VERSION_PREFIX => (MessageVersion::V0, reader.u8(Field::MessageHeader)?),
            versioned if versioned & VERSION_PREFIX != 0 => {
                return Err(TxError::UnsupportedVersion(versioned & !VERSION_PREFIX));
            }
            legacy => (MessageVersion::Legacy, legacy),
        };
        let header = MessageHeader {
            num_required_signatures,
            num_readonly_signed_accounts: reader.u8(Field::MessageHeader)?,
            num_readonly_unsigned_accounts: reader.u8(Field::MessageHeader)?,
        };
        let key_count = reader.compact_u16(Field::AccountKeyCount)?;
        let account_keys = Pubkey::wrap_slice(reader.arrays::<32>(key_count, Field::AccountKeys)?);
        let recent_blockhash = reader.array::<32>(Field::RecentBlockhash)?;

        // Each instruction takes at least 3 bytes and each lookup 34: a forged count cannot make
        // us reserve more than the input could hold.
        let count = reader.compact_u16(Field::InstructionCount)?;
        let mut instructions = Vec::with_capacity(count.min(reader.rest().len() / 3));
        for _ in 0..count {
            instructions.push(Instruction {
                program_id_index: reader.u8(Field::ProgramIdIndex)?,
                accounts: reader
                    .short_vec(Field::InstructionAccountCount, Field::InstructionAccounts)?,
                data: reader.short_vec(Field::InstructionDataLength, Field::InstructionData)?,
            });
        }

        let mut address_table_lookups = Vec::new();
        if version == MessageVersion::V0 {
            let count = reader.compact_u16(Field::LookupCount)?;
            address_table_lookups.reserve(count.min(reader.rest().len() / 34));
            for _ in 0..count {
                address_table_lookups.push(AddressTableLookup {
                    account_key: Pubkey::wrap_ref(reader.array::<32>(Field::LookupTableKey)?),
                    writable_indexes: reader
                        .short_vec(Field::LookupWritableCount, Field::LookupWritableIndexes)?,
                    readonly_indexes: reader
                        .short_vec(Field::LookupReadonlyCount, Field::LookupReadonlyIndexes)?,
                });
            }
        }

        Ok(Self {
            bytes: reader.since(start),
            version,
            header,
            account_keys,
            recent_blockhash,
            instructions,
            address_table_lookups,
        })
    }

    /// Applies Solana's `Message::sanitize` (legacy) or `v0::Message::sanitize`, in their order,
    /// then rejects duplicate static keys (see the module docs for why here).
    pub fn sanitize(&self) -> Result<(), TxError> {
        let header = self.header;
        let keys = self.account_keys.len();
        let required = usize::from(header.num_required_signatures);
        if required + usize::from(header.num_readonly_unsigned_accounts) > keys {
            return Err(TxError::HeaderExceedsKeys {
                required: header.num_required_signatures,
                readonly_unsigned: header.num_readonly_unsigned_accounts,
                keys,
            });
        }
        if header.num_readonly_signed_accounts >= header.num_required_signatures {
            return Err(TxError::NoWritableSigner {
                required: header.num_required_signatures,
                readonly_signed: header.num_readonly_signed_accounts,
            });
        }
        if let Some(lookup) = self
            .address_table_lookups
            .iter()
            .position(|l| l.writable_indexes.is_empty() && l.readonly_indexes.is_empty())
        {
            return Err(TxError::EmptyAddressTableLookup { lookup });
        }
        let all_keys = keys + self.num_loaded_addresses();
        // Legacy messages have no such rule in Solana; within a packet they cannot break it.
        if all_keys > MAX_ACCOUNT_KEYS {
            return Err(TxError::TooManyAccountKeys { count: all_keys });
        }
        for (instruction, ix) in self.instructions.iter().enumerate() {
            if usize::from(ix.program_id_index) >= keys {
                return Err(TxError::ProgramIdIndexOutOfRange {
                    instruction,
                    index: ix.program_id_index,
                    keys,
                });
            }
            if ix.program_id_index == 0 {
                return Err(TxError::ProgramIdIsFeePayer { instruction });
            }
            if let Some(&index) = ix.accounts.iter().find(|&&a| usize::from(a) >= all_keys) {
                return Err(TxError::AccountIndexOutOfRange {
                    instruction,
                    index,
                    keys: all_keys,
                });
            }
        }
        // The rule by the keyed table; only a message that breaks it is searched pair by pair,
        // for the two places its error names.
        if !super::check::has_duplicate_key(Pubkey::peel_slice(self.account_keys)) {
            return Ok(());
        }
        for (second, key) in self.account_keys.iter().enumerate() {
            if let Some(first) = self.account_keys[..second].iter().position(|k| k == key) {
                return Err(TxError::DuplicateAccountKey {
                    key: *key,
                    first,
                    second,
                });
            }
        }
        Ok(())
    }

    /// The message bytes: exactly what every signature signs.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Legacy or v0.
    pub fn version(&self) -> MessageVersion {
        self.version
    }

    /// The header.
    pub fn header(&self) -> MessageHeader {
        self.header
    }

    /// The static account keys, signers first (loaded addresses are not among them).
    pub fn account_keys(&self) -> &'a [Pubkey] {
        self.account_keys
    }

    /// The recent blockhash the transaction was built against.
    pub fn recent_blockhash(&self) -> &'a [u8; 32] {
        self.recent_blockhash
    }

    /// The instructions, in order.
    pub fn instructions(&self) -> &[Instruction<'a>] {
        &self.instructions
    }

    /// The address-table lookups (always empty for a legacy message).
    pub fn address_table_lookups(&self) -> &[AddressTableLookup<'a>] {
        &self.address_table_lookups
    }

    /// How many addresses the lookups would load; instruction account indices from
    /// `account_keys().len()` on address them, writable ones first.
    pub fn num_loaded_addresses(&self) -> usize {
        self.address_table_lookups
            .iter()
            .map(|l| l.writable_indexes.len() + l.readonly_indexes.len())
            .sum()
    }

    /// Whether static key `index` signs the message (false for any other index).
    pub fn is_signer(&self, index: usize) -> bool {
        index < usize::from(self.header.num_required_signatures).min(self.account_keys.len())
    }

    /// Whether static key `index` is writable by the header's rule: a signer before the
    /// read-only signers, or a non-signer before the read-only non-signers. False for any index
    /// that is not a static key.
    pub fn is_writable(&self, index: usize) -> bool {
        let header = self.header;
        let required = usize::from(header.num_required_signatures);
        let keys = self.account_keys.len();
        if index >= keys {
            return false;
        }
        if index < required {
            index < required.saturating_sub(usize::from(header.num_readonly_signed_accounts))
        } else {
            index < keys.saturating_sub(usize::from(header.num_readonly_unsigned_accounts))
        }
    }

    /// The fee payer, the first key, if it is a writable signer (SPEC §2 check 2, without the
    /// "not a program" part, which needs the account). Always `Ok` for a sanitized message.
    pub fn fee_payer(&self) -> Result<&'a Pubkey, TxError> {
        let payer = self
            .account_keys
            .first()
            .ok_or(TxError::InvalidFeePayer(FeePayerProblem::NoAccountKeys))?;
        if !self.is_signer(0) {
            return Err(TxError::InvalidFeePayer(FeePayerProblem::NotSigner));
        }
        if !self.is_writable(0) {
            return Err(TxError::InvalidFeePayer(FeePayerProblem::NotWritable));
        }
        Ok(payer)
    }

    /// Appends the message's encoding, written from its decoded parts, to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        write_message(
            out,
            self.version,
            self.header,
            self.account_keys,
            self.recent_blockhash,
            &self.instructions,
            &self.address_table_lookups,
        );
    }
}

/// Fails unless the cursor is at the end of the input.
pub(super) fn end_of_message(reader: &Reader<'_>) -> Result<(), TxError> {
    match reader.rest().len() {
        0 => Ok(()),
        extra => Err(TxError::TrailingBytes {
            message_end: reader.pos(),
            extra,
        }),
    }
}

/// Writes a message; the one encoder behind [`Message::encode`] and the builder. Counts above
/// `u16::MAX` are the caller's to prevent (the builder checks sizes; a decoded message has none).
pub(super) fn write_message(
    out: &mut Vec<u8>,
    version: MessageVersion,
    header: MessageHeader,
    account_keys: &[Pubkey],
    recent_blockhash: &[u8; 32],
    instructions: &[Instruction<'_>],
    address_table_lookups: &[AddressTableLookup<'_>],
) {
    if version == MessageVersion::V0 {
        out.push(VERSION_PREFIX);
    }
    out.extend_from_slice(&[
        header.num_required_signatures,
        header.num_readonly_signed_accounts,
        header.num_readonly_unsigned_accounts,
    ]);
    write_len(out, account_keys.len());
    out.extend(account_keys.iter().flat_map(|k| k.0));
    out.extend_from_slice(recent_blockhash);
    write_len(out, instructions.len());
    for ix in instructions {
        out.push(ix.program_id_index);
        write_bytes(out, ix.accounts);
        write_bytes(out, ix.data);
    }
    if version == MessageVersion::V0 {
        write_len(out, address_table_lookups.len());
        for lookup in address_table_lookups {
            out.extend_from_slice(&lookup.account_key.0);
            write_bytes(out, lookup.writable_indexes);
            write_bytes(out, lookup.readonly_indexes);
        }
    }
}

/// Writes a compact-u16 length; saturates at `u16::MAX`, which only a caller that skipped its
/// size check can reach (and whose output then fails to decode).
pub(super) fn write_len(out: &mut Vec<u8>, len: usize) {
    compact_u16::encode(u16::try_from(len).unwrap_or(u16::MAX), out);
}

fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A legacy message with `keys` distinct keys, the header `[required, ro_signed, ro_unsigned]`
    /// and no instructions.
    fn message(header: [u8; 3], keys: u8) -> Vec<u8> {
        let mut bytes = header.to_vec();
        write_len(&mut bytes, keys.into());
        bytes.extend((0..keys).flat_map(|k| [k; 32]));
        bytes.extend([0; 32]);
        bytes.push(0);
        bytes
    }

    #[test]
    fn signer_and_writable_follow_solanas_header_rule_for_every_small_header() {
        for required in 0..5 {
            for ro_signed in 0..5 {
                for ro_unsigned in 0..5 {
                    for keys in 0..6u8 {
                        let bytes = message([required, ro_signed, ro_unsigned], keys);
                        let msg = Message::decode(&bytes).unwrap();
                        let (req, ros, rou) =
                            (required.into(), ro_signed.into(), ro_unsigned.into());
                        let n = usize::from(keys);
                        for i in 0..8 {
                            // Solana's `is_writable_index`, for indices that are keys.
                            let writable = i < n
                                && (i < usize::saturating_sub(req, ros)
                                    || (i >= req && i < n.saturating_sub(rou)));
                            assert_eq!(msg.is_writable(i), writable, "{bytes:?} {i}");
                            assert_eq!(msg.is_signer(i), i < req.min(n), "{bytes:?} {i}");
                        }
                        if msg.sanitize().is_ok() {
                            assert!(msg.fee_payer().is_ok(), "{bytes:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn decode_reports_trailing_bytes_and_encode_reproduces_the_input() {
        let bytes = message([1, 0, 0], 1);
        let msg = Message::decode(&bytes).unwrap();
        let mut out = Vec::new();
        msg.encode(&mut out);
        assert_eq!(out, bytes);
        assert_eq!(msg.bytes(), bytes);
        let mut longer = bytes.clone();
        longer.push(7);
        assert_eq!(
            Message::decode(&longer),
            Err(TxError::TrailingBytes {
                message_end: bytes.len(),
                extra: 1
            })
        );
    }
}
