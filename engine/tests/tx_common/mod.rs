//! Helpers shared by the transaction wire-format tests: signers, sample transactions, a raw
//! message writer independent of the engine's encoder, and a byte mutator.

#![allow(dead_code)] // each test binary uses a different subset

use ed25519_dalek::SigningKey;
use tandem_engine::Pubkey;
use tandem_engine::sample::{SYSTEM_PROGRAM_ID, SplitMix64};
use tandem_engine::tx::{
    AccountMeta, AddressLookupTable, MessageBuilder, Transaction, compact_u16,
};

/// A deterministic signing key.
pub fn signer(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// The public key of `signer` as an account key.
pub fn key_of(signer: &SigningKey) -> Pubkey {
    Pubkey(signer.verifying_key().to_bytes())
}

/// A key from a one-byte seed (not a signer).
pub fn key(seed: u8) -> Pubkey {
    Pubkey([seed; 32])
}

pub const BLOCKHASH: [u8; 32] = [0xb1; 32];

/// A custom (non-builtin) program id.
pub fn custom_program() -> Pubkey {
    key(0xc0)
}

/// System `Transfer{lamports}` data.
pub fn transfer_data(lamports: u64) -> Vec<u8> {
    let mut data = 2u32.to_le_bytes().to_vec();
    data.extend(lamports.to_le_bytes());
    data
}

/// System `CreateAccount{lamports, space, owner}` data.
pub fn create_account_data(lamports: u64, space: u64, owner: &Pubkey) -> Vec<u8> {
    let mut data = 0u32.to_le_bytes().to_vec();
    data.extend(lamports.to_le_bytes());
    data.extend(space.to_le_bytes());
    data.extend(owner.0);
    data
}

/// The builder of the sample transactions: a create_account by the payer for a new (signing)
/// account, a transfer to a third account, and a custom program reading a read-only signer and
/// two read-only non-signers and writing a fourth account.
pub fn sample_builder() -> MessageBuilder {
    let (payer, new, cosigner) = (key_of(&signer(1)), key_of(&signer(2)), key_of(&signer(3)));
    MessageBuilder::new(payer)
        .instruction(
            SYSTEM_PROGRAM_ID,
            &[AccountMeta::new(payer, true), AccountMeta::new(new, true)],
            &create_account_data(1_000_000, 64, &custom_program()),
        )
        .instruction(
            SYSTEM_PROGRAM_ID,
            &[
                AccountMeta::new(payer, true),
                AccountMeta::new(key(0x10), false),
            ],
            &transfer_data(5_000),
        )
        .instruction(
            custom_program(),
            &[
                AccountMeta::new_readonly(cosigner, true),
                AccountMeta::new_readonly(key(0x20), false),
                AccountMeta::new_readonly(key(0x21), false),
                AccountMeta::new(key(0x11), false),
            ],
            b"custom",
        )
}

/// The signers of [`sample_builder`]'s messages.
pub fn sample_signers() -> [SigningKey; 3] {
    [signer(1), signer(2), signer(3)]
}

/// Lookup tables holding some of [`sample_builder`]'s non-signers.
pub fn sample_tables() -> Vec<AddressLookupTable> {
    vec![
        AddressLookupTable {
            key: key(0xa1),
            addresses: vec![key(0x99), key(0x11), key(0x21)],
        },
        AddressLookupTable {
            key: key(0xa2),
            addresses: vec![key(0x20), key(0x10)],
        },
    ]
}

/// Signs message bytes with the sample signers.
pub fn sign_sample(message: &[u8]) -> Vec<u8> {
    let signers = sample_signers();
    let refs: Vec<&SigningKey> = signers.iter().collect();
    Transaction::sign(message, &refs).expect("the sample signers sign the sample messages")
}

/// The sample legacy transaction, signed.
pub fn legacy_wire() -> Vec<u8> {
    sign_sample(
        &sample_builder()
            .build_legacy(BLOCKHASH)
            .expect("sample builds"),
    )
}

/// The sample v0 transaction with lookups, signed.
pub fn v0_wire() -> Vec<u8> {
    sign_sample(
        &sample_builder()
            .build_v0(BLOCKHASH, &sample_tables())
            .expect("sample builds"),
    )
}

/// A message written field by field, without the engine's encoder, so tests can write any
/// combination of numbers (valid or not).
#[derive(Clone, Debug)]
pub struct RawMessage {
    /// `None` for legacy, `Some(v)` for a versioned message of version `v`.
    pub version: Option<u8>,
    pub header: [u8; 3],
    pub keys: Vec<Pubkey>,
    pub blockhash: [u8; 32],
    pub instructions: Vec<(u8, Vec<u8>, Vec<u8>)>,
    pub lookups: Vec<(Pubkey, Vec<u8>, Vec<u8>)>,
}

impl RawMessage {
    /// A valid legacy message: one signer (the payer), a recipient and the system program, one
    /// transfer.
    pub fn transfer() -> Self {
        Self {
            version: None,
            header: [1, 0, 1],
            keys: vec![key(1), key(2), SYSTEM_PROGRAM_ID],
            blockhash: BLOCKHASH,
            instructions: vec![(2, vec![0, 1], transfer_data(7))],
            lookups: vec![],
        }
    }

    /// The same as a v0 message, with one lookup loading a writable and a read-only address.
    pub fn transfer_v0() -> Self {
        Self {
            version: Some(0),
            lookups: vec![(key(0xa1), vec![0], vec![1])],
            ..Self::transfer()
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(version) = self.version {
            out.push(0x80 | version);
        }
        out.extend(self.header);
        shortvec(&mut out, self.keys.len());
        for k in &self.keys {
            out.extend(k.0);
        }
        out.extend(self.blockhash);
        shortvec(&mut out, self.instructions.len());
        for (program, accounts, data) in &self.instructions {
            out.push(*program);
            shortvec(&mut out, accounts.len());
            out.extend(accounts);
            shortvec(&mut out, data.len());
            out.extend(data);
        }
        if self.version.is_some() {
            shortvec(&mut out, self.lookups.len());
            for (table, writable, readonly) in &self.lookups {
                out.extend(table.0);
                shortvec(&mut out, writable.len());
                out.extend(writable);
                shortvec(&mut out, readonly.len());
                out.extend(readonly);
            }
        }
        out
    }

    /// The wire form with as many (zero) signatures as the header asks for.
    pub fn wire(&self) -> Vec<u8> {
        self.wire_with_signatures(usize::from(self.header[0]))
    }

    /// The wire form with `count` (zero) signatures.
    pub fn wire_with_signatures(&self, count: usize) -> Vec<u8> {
        Transaction::assemble(&vec![[0; 64]; count], &self.bytes())
    }
}

fn shortvec(out: &mut Vec<u8>, len: usize) {
    compact_u16::encode(u16::try_from(len).expect("test lengths fit u16"), out);
}

/// One to four random edits of `bytes`: overwrite, flip a bit, insert, delete, truncate, or copy
/// a run over another spot. Small edits keep most of the structure, so decoding goes deep.
pub fn mutate(rng: &mut SplitMix64, bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = out.len() as u64;
        let at = |rng: &mut SplitMix64| rng.below(len.max(1)) as usize;
        match rng.below(6) {
            0 if len > 0 => {
                let i = at(rng);
                out[i] = rng.next_u64() as u8;
            }
            1 if len > 0 => {
                let i = at(rng);
                out[i] ^= 1 << rng.below(8);
            }
            2 => {
                let i = rng.below(len + 1) as usize;
                out.insert(i, rng.next_u64() as u8);
            }
            3 if len > 0 => {
                let i = at(rng);
                out.remove(i);
            }
            4 => out.truncate(rng.below(len + 1) as usize),
            _ if len > 1 => {
                let (from, to) = (at(rng), at(rng));
                let run = (rng.below(40) as usize).min(out.len() - from.max(to));
                out.copy_within(from..from + run, to);
            }
            _ => {}
        }
    }
    out
}
