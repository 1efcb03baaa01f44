//! A transaction on the wire: signatures, then the message they sign.

use ed25519_dalek::{Signer, SigningKey};

use super::message::{end_of_message, write_len};
use super::reader::Reader;
use super::{Field, Message, PACKET_DATA_SIZE, SIGNATURE_LEN, SignError, Signature, TxError};
use crate::Pubkey;

/// A transaction borrowed from its wire bytes: a compact-u16 count of signatures, the
/// signatures, then the [`Message`] they sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction<'a> {
    wire: &'a [u8],
    signatures: &'a [Signature],
    message: Message<'a>,
}

impl<'a> Transaction<'a> {
    /// Decodes and sanitizes a transaction: what the engine accepts. Any failure is a typed error,
    /// never a panic.
    #[inline]
    pub fn parse(wire: &'a [u8]) -> Result<Self, TxError> {
        let transaction = Self::decode(wire)?;
        transaction.sanitize()?;
        Ok(transaction)
    }

    /// The first account key of the message — the fee payer of a transaction that parses —
    /// read without decoding the rest: a guess for routing work before [`Transaction::parse`]
    /// decides. `None` where the bytes do not reach it.
    pub fn peek_fee_payer(wire: &[u8]) -> Option<Pubkey> {
        let (signatures, mut at) = super::compact_u16::decode(wire).ok()?;
        at = at.checked_add(usize::from(signatures) * SIGNATURE_LEN)?;
        // A v0 message starts with its version byte; the header is 3 bytes either way.
        let first = *wire.get(at)?;
        at += if first & 0x80 != 0 { 4 } else { 3 };
        let (keys, len) = super::compact_u16::decode(wire.get(at..)?).ok()?;
        at += len;
        if keys == 0 {
            return None;
        }
        let key: [u8; 32] = wire.get(at..at + 32)?.try_into().ok()?;
        Some(Pubkey(key))
    }

    /// The first signature of a transaction, read without decoding the rest (`None` where the
    /// bytes hold none): the key of the status index and the duplicate window.
    pub fn peek_first_signature(wire: &[u8]) -> Option<[u8; 64]> {
        let (count, at) = super::compact_u16::decode(wire).ok()?;
        if count == 0 {
            return None;
        }
        wire.get(at..at + SIGNATURE_LEN)?.try_into().ok()
    }

    /// Decodes the wire format only: the length limit, every field present and well-formed, a
    /// supported version, nothing after the message. The numbers inside are not checked; see
    /// [`Transaction::sanitize`].
    #[inline]
    pub fn decode(wire: &'a [u8]) -> Result<Self, TxError> {
        if wire.len() > PACKET_DATA_SIZE {
            return Err(TxError::TooLong { len: wire.len() });
        }
        let mut reader = Reader::new(wire);
        let count = reader.compact_u16(Field::SignatureCount)?;
        let signatures = reader.arrays::<SIGNATURE_LEN>(count, Field::Signatures)?;
        let message = Message::read(&mut reader)?;
        end_of_message(&reader)?;
        Ok(Self {
            wire,
            signatures,
            message,
        })
    }

    /// Solana's `VersionedTransaction::sanitize`: the message's rules (see
    /// [`Message::sanitize`]), then exactly one signature per required signer.
    pub fn sanitize(&self) -> Result<(), TxError> {
        self.message.sanitize()?;
        let required = self.message.header().num_required_signatures;
        if self.signatures.len() != usize::from(required) {
            return Err(TxError::SignatureCountMismatch {
                signatures: self.signatures.len(),
                required,
            });
        }
        Ok(())
    }

    /// The whole transaction as it came off the wire.
    pub fn wire_bytes(&self) -> &'a [u8] {
        self.wire
    }

    /// The signatures; signature `i` is account key `i`'s.
    pub fn signatures(&self) -> &'a [Signature] {
        self.signatures
    }

    /// The message.
    pub fn message(&self) -> &Message<'a> {
        &self.message
    }

    /// The bytes the signatures sign: everything after them.
    pub fn message_bytes(&self) -> &'a [u8] {
        self.message.bytes()
    }

    /// Encodes the transaction again from its decoded parts; equal to [`Self::wire_bytes`] for
    /// anything that decodes, since every field has a single encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.wire.len());
        write_len(&mut out, self.signatures.len());
        out.extend(self.signatures.iter().flatten());
        self.message.encode(&mut out);
        out
    }

    /// Puts signatures in front of message bytes: the wire form, as is (no checks).
    pub fn assemble(signatures: &[Signature], message: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(3 + signatures.len() * SIGNATURE_LEN + message.len());
        write_len(&mut out, signatures.len());
        out.extend(signatures.iter().flatten());
        out.extend_from_slice(message);
        out
    }

    /// Signs `message` with `signers` (in any order) and returns the wire bytes. Every required
    /// signer of the message needs exactly its key; a key that is not a required signer is an
    /// error, as in Solana's `try_sign`. The message is decoded, not sanitized, so tests can sign
    /// messages that break the rules.
    pub fn sign(message: &[u8], signers: &[&SigningKey]) -> Result<Vec<u8>, SignError> {
        let decoded = Message::decode(message)?;
        let keys = decoded.account_keys();
        let required =
            &keys[..usize::from(decoded.header().num_required_signatures).min(keys.len())];
        if let Some(unexpected) = signers
            .iter()
            .map(|s| Pubkey(s.verifying_key().to_bytes()))
            .find(|key| !required.contains(key))
        {
            return Err(SignError::UnexpectedSigner { key: unexpected });
        }
        let signatures = required
            .iter()
            .enumerate()
            .map(|(index, key)| {
                signers
                    .iter()
                    .find(|s| s.verifying_key().as_bytes() == &key.0)
                    .map(|s| s.sign(message).to_bytes())
                    .ok_or(SignError::MissingSigner { index, key: *key })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::assemble(&signatures, message))
    }
}
