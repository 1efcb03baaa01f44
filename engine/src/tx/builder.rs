//! Building messages from instructions, the way Solana's `Message::new` and
//! `v0::Message::try_compile` do, byte for byte.

use std::collections::BTreeMap;

use super::message::write_message;
use super::{
    AddressTableLookup, BuildError, Instruction, MAX_ACCOUNT_KEYS, MessageHeader, MessageVersion,
    PACKET_DATA_SIZE, SIGNATURE_LEN, compact_u16,
};
use crate::Pubkey;

/// An account an instruction uses, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountMeta {
    /// The account.
    pub pubkey: Pubkey,
    /// Whether it must sign the transaction.
    pub is_signer: bool,
    /// Whether the instruction may write it.
    pub is_writable: bool,
}

impl AccountMeta {
    /// A writable account (Solana's `AccountMeta::new`).
    pub const fn new(pubkey: Pubkey, is_signer: bool) -> Self {
        Self {
            pubkey,
            is_signer,
            is_writable: true,
        }
    }

    /// A read-only account (Solana's `AccountMeta::new_readonly`).
    pub const fn new_readonly(pubkey: Pubkey, is_signer: bool) -> Self {
        Self {
            pubkey,
            is_signer,
            is_writable: false,
        }
    }
}

/// The contents of an address lookup table, for [`MessageBuilder::build_v0`] (Solana's
/// `AddressLookupTableAccount`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressLookupTable {
    /// The table account.
    pub key: Pubkey,
    /// The addresses it holds, in order.
    pub addresses: Vec<Pubkey>,
}

/// Builds message bytes from instructions, ordering keys exactly as Solana's client crates do:
/// the payer, the other writable signers, read-only signers, writable non-signers, read-only
/// non-signers (programs among them, unless an instruction marks one writable), each group after
/// the payer in byte order of the keys. A key's flags are the union of its uses.
///
/// ```
/// use tandem_engine::Pubkey;
/// use tandem_engine::tx::{AccountMeta, MessageBuilder, Transaction};
/// use ed25519_dalek::SigningKey;
///
/// let payer = SigningKey::from_bytes(&[7; 32]);
/// let payer_key = Pubkey(payer.verifying_key().to_bytes());
/// let to = Pubkey([9; 32]);
/// let mut transfer = vec![2, 0, 0, 0];
/// transfer.extend(1_000u64.to_le_bytes());
/// let message = MessageBuilder::new(payer_key)
///     .instruction(
///         Pubkey([0; 32]), // the system program
///         &[AccountMeta::new(payer_key, true), AccountMeta::new(to, false)],
///         &transfer,
///     )
///     .build_legacy([1; 32])?;
/// let wire = Transaction::sign(&message, &[&payer])?;
/// let tx = Transaction::parse(&wire)?;
/// assert_eq!(tx.message().fee_payer()?, &payer_key);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBuilder {
    payer: Pubkey,
    instructions: Vec<(Pubkey, Vec<AccountMeta>, Vec<u8>)>,
}

/// What Solana's `CompiledKeyMeta` records about a key: the union of its uses.
#[derive(Debug, Default, Clone, Copy)]
struct KeyUse {
    signer: bool,
    writable: bool,
    invoked: bool,
}

impl MessageBuilder {
    /// A message paid for (and signed) by `payer`, which becomes account key 0.
    pub fn new(payer: Pubkey) -> Self {
        Self {
            payer,
            instructions: Vec::new(),
        }
    }

    /// Appends an instruction: `program_id` runs with `accounts` and `data`.
    pub fn instruction(
        mut self,
        program_id: Pubkey,
        accounts: &[AccountMeta],
        data: &[u8],
    ) -> Self {
        self.instructions
            .push((program_id, accounts.to_vec(), data.to_vec()));
        self
    }

    /// The legacy message bytes.
    pub fn build_legacy(&self, recent_blockhash: [u8; 32]) -> Result<Vec<u8>, BuildError> {
        self.build(MessageVersion::Legacy, recent_blockhash, &[])
    }

    /// The v0 message bytes. As Solana's `try_compile` does, every non-signer that is not a
    /// program and is found in one of `tables` is loaded from the first table that holds it
    /// (writable ones, then read-only ones) instead of being a static key; tables that load
    /// nothing are left out.
    pub fn build_v0(
        &self,
        recent_blockhash: [u8; 32],
        tables: &[AddressLookupTable],
    ) -> Result<Vec<u8>, BuildError> {
        self.build(MessageVersion::V0, recent_blockhash, tables)
    }

    fn build(
        &self,
        version: MessageVersion,
        recent_blockhash: [u8; 32],
        tables: &[AddressLookupTable],
    ) -> Result<Vec<u8>, BuildError> {
        let keys = self.compile_keys(tables)?;
        // Every key of every instruction is in `index` (once: the keys are distinct).
        let index: BTreeMap<Pubkey, u8> = keys.all.iter().copied().zip(0..=u8::MAX).collect();
        let accounts: Vec<Vec<u8>> = self
            .instructions
            .iter()
            .map(|(_, metas, _)| metas.iter().map(|m| index[&m.pubkey]).collect())
            .collect();
        let instructions: Vec<Instruction<'_>> = self
            .instructions
            .iter()
            .zip(&accounts)
            .map(|((program_id, _, data), accounts)| Instruction {
                program_id_index: index[program_id],
                accounts,
                data,
            })
            .collect();
        let lookups: Vec<AddressTableLookup<'_>> = keys
            .lookups
            .iter()
            .map(|(key, writable, readonly)| AddressTableLookup {
                account_key: key,
                writable_indexes: writable,
                readonly_indexes: readonly,
            })
            .collect();
        let mut message = Vec::new();
        write_message(
            &mut message,
            version,
            keys.header,
            &keys.all[..keys.num_static],
            &recent_blockhash,
            &instructions,
            &lookups,
        );

        let signers = usize::from(keys.header.num_required_signatures);
        let len = compact_u16::encoded_len(keys.header.num_required_signatures.into())
            + signers * SIGNATURE_LEN
            + message.len();
        if len > PACKET_DATA_SIZE {
            return Err(BuildError::TooLong { len });
        }
        Ok(message)
    }

    /// Solana's `CompiledKeys`: the union of each key's uses, the keys lookups load, then the
    /// static keys in their groups.
    fn compile_keys(&self, tables: &[AddressLookupTable]) -> Result<CompiledKeys, BuildError> {
        let mut uses = BTreeMap::<Pubkey, KeyUse>::new();
        for (program_id, accounts, _) in &self.instructions {
            uses.entry(*program_id).or_default().invoked = true;
            for meta in accounts {
                let key = uses.entry(meta.pubkey).or_default();
                key.signer |= meta.is_signer;
                key.writable |= meta.is_writable;
            }
        }
        // The payer signs and is writable whatever the instructions say, and always comes first.
        uses.remove(&self.payer);

        let mut lookups = Vec::new();
        let (mut loaded_writable, mut loaded_readonly) = (Vec::new(), Vec::new());
        for table in tables {
            let writable = drain_found(&mut uses, table, |u| u.writable)?;
            let readonly = drain_found(&mut uses, table, |u| !u.writable)?;
            if writable.is_empty() && readonly.is_empty() {
                continue;
            }
            let (writable_indexes, keys): (Vec<u8>, Vec<Pubkey>) = writable.into_iter().unzip();
            loaded_writable.extend(keys);
            let (readonly_indexes, keys): (Vec<u8>, Vec<Pubkey>) = readonly.into_iter().unzip();
            loaded_readonly.extend(keys);
            lookups.push((table.key, writable_indexes, readonly_indexes));
        }

        let group = |signer: bool, writable: bool| {
            uses.iter()
                .filter(move |(_, u)| u.signer == signer && u.writable == writable)
                .map(|(key, _)| *key)
        };
        let mut all = vec![self.payer];
        all.extend(group(true, true));
        let writable_signers = all.len();
        all.extend(group(true, false));
        let signers = all.len();
        all.extend(group(false, true));
        let readonly_unsigned = group(false, false).count();
        all.extend(group(false, false));
        let num_static = all.len();
        all.extend(loaded_writable);
        all.extend(loaded_readonly);
        if all.len() > MAX_ACCOUNT_KEYS {
            return Err(BuildError::TooManyAccountKeys { count: all.len() });
        }

        // At most 256 keys and a payer: every group but the signers fits a byte, and 256 signers
        // would need 16 KiB of signatures, so the caller's packet-size check rejects them.
        let byte = |n: usize| u8::try_from(n).unwrap_or(u8::MAX);
        Ok(CompiledKeys {
            header: MessageHeader {
                num_required_signatures: byte(signers),
                num_readonly_signed_accounts: byte(signers - writable_signers),
                num_readonly_unsigned_accounts: byte(readonly_unsigned),
            },
            all,
            num_static,
            lookups,
        })
    }
}

/// The keys of a message being built.
struct CompiledKeys {
    header: MessageHeader,
    /// Static keys, then loaded writable, then loaded read-only: the order of account indices.
    all: Vec<Pubkey>,
    num_static: usize,
    /// Per table that loads anything: its key, writable and read-only indices.
    lookups: Vec<(Pubkey, Vec<u8>, Vec<u8>)>,
}

/// Removes from `uses` the keys that a lookup may load (non-signers that are not programs) and
/// that pass `filter` and are found in `table`; returns each one's table index and the key, in key
/// order.
fn drain_found(
    uses: &mut BTreeMap<Pubkey, KeyUse>,
    table: &AddressLookupTable,
    filter: impl Fn(&KeyUse) -> bool,
) -> Result<Vec<(u8, Pubkey)>, BuildError> {
    let mut found = Vec::new();
    for (key, _) in uses
        .iter()
        .filter(|(_, u)| !u.signer && !u.invoked && filter(u))
    {
        if let Some(position) = table.addresses.iter().position(|a| a == key) {
            let index = u8::try_from(position).map_err(|_| BuildError::LookupIndexOverflow {
                table: table.key,
                key: *key,
                position,
            })?;
            found.push((index, *key));
        }
    }
    for (_, key) in &found {
        uses.remove(key);
    }
    Ok(found)
}
