//! Checks 1–4 of SPEC §2, decided for a whole block before the domain passes.
//!
//! None of them needs execution state: check 1 needs the signatures, check 2 the payer's
//! mapping (which changes only at epoch boundaries, processed before this), checks 3 and 4 the
//! two windows, which count blocks. So the blockhash and duplicate-signature windows are one for
//! both domains and are decided here, in block order, once per block: every transaction that
//! passes checks 1–3 enters the duplicate window whatever happens to it in its domain's pass
//! (so one that then fails `InsufficientFundsForFee` or `AccountFrozenForRemap` cannot be
//! included again), and no transaction can execute twice — in one domain, or in the other after
//! its payer moved.
//!
//! What this module must never do: read or write an account's balance or data (that is the
//! domain passes' work, which may run on other cores).

use super::RuntimeError;
use super::state::RuntimeState;
use super::status::TxStatus;
use crate::account::{Domain, Mapping, Pubkey};
use crate::ledger::Block;
use crate::tx::Transaction;
use tandem_kernels::Backend;

/// A block parsed, with its fee payers and check 1 (every signature valid) decided: all that
/// needs no runtime state, so it can be done ahead of execution (a pipeline's sigverify stage;
/// [`super::Runtime::execute_verified`]).
pub struct VerifiedBlock<'b> {
    pub(super) block: &'b Block,
    pub(super) transactions: Vec<Transaction<'b>>,
    pub(super) payers: Vec<Pubkey>,
    pub(super) valid: Vec<bool>,
}

impl<'b> VerifiedBlock<'b> {
    /// Parses every transaction of `block` (a malformed one — one without a writable signer as
    /// its fee payer included — makes the whole block malformed, SPEC §2) and verifies every
    /// signature in one batch on `backend`.
    pub fn new(block: &'b Block, backend: Backend) -> Result<VerifiedBlock<'b>, RuntimeError> {
        let slot = block.header.slot;
        let mut transactions = Vec::with_capacity(block.transactions.len());
        let mut payers = Vec::with_capacity(block.transactions.len());
        for (index, bytes) in block.transactions.iter().enumerate() {
            let malformed = |error| RuntimeError::MalformedTransaction { slot, index, error };
            let tx = Transaction::parse(bytes).map_err(malformed)?;
            payers.push(*tx.message().fee_payer().map_err(malformed)?);
            transactions.push(tx);
        }
        let valid = verify_signatures(backend, &transactions)?;
        Ok(VerifiedBlock {
            block,
            transactions,
            payers,
            valid,
        })
    }

    /// The block.
    pub fn block(&self) -> &'b Block {
        self.block
    }
}

/// What checks 1–4 decided for a block.
#[derive(Debug)]
pub struct Admission {
    /// `Some(status)` for each transaction that checks 1–4 decided; `None` for each that goes on
    /// to its domain's pass.
    pub statuses: Vec<Option<TxStatus>>,
    /// Each transaction's payer domain; `None` where checks 1 or 2 failed (no domain).
    pub payer_domain: Vec<Option<Domain>>,
}

/// Decides checks 1–4 for the transactions of `verified` in block order, and enters every
/// transaction that passes checks 1–3 into the duplicate window of its block. `mapping_of`
/// gives `dom(a)` after the epoch boundaries before this block.
pub fn admit(
    verified: &VerifiedBlock<'_>,
    mapping_of: impl Fn(&Pubkey) -> Mapping,
    state: &mut RuntimeState,
) -> Admission {
    let VerifiedBlock {
        block,
        transactions,
        payers,
        valid,
    } = verified;
    let slot = block.header.slot;
    let mut statuses = vec![None; transactions.len()];
    let mut payer_domain = vec![None; transactions.len()];
    state.signatures.begin_block(slot);
    for (i, tx) in transactions.iter().enumerate() {
        // Check 1.
        if !valid[i] {
            statuses[i] = Some(TxStatus::InvalidSignature);
            continue;
        }
        // Check 2: the payer is a writable signer (the parser's sanitize rules); a program
        // cannot pay.
        let domain = match mapping_of(&payers[i]) {
            Mapping::RwVed => Domain::Ved,
            Mapping::RwUed => Domain::Ued,
            Mapping::RxUed | Mapping::RxUedVed => {
                statuses[i] = Some(TxStatus::InvalidFeePayer);
                continue;
            }
        };
        payer_domain[i] = Some(domain);
        // Check 3.
        if !state
            .recent_blockhashes
            .contains(tx.message().recent_blockhash())
        {
            statuses[i] = Some(TxStatus::BlockhashNotFound);
            continue;
        }
        // Check 4; passing it enters the window.
        if !state.signatures.insert(tx.signatures()[0]) {
            statuses[i] = Some(TxStatus::DuplicateSignature);
        }
    }
    Admission {
        statuses,
        payer_domain,
    }
}

/// Whether every signature of each transaction is valid (check 1), in one batch on `backend`.
fn verify_signatures(
    backend: Backend,
    transactions: &[Transaction<'_>],
) -> Result<Vec<bool>, RuntimeError> {
    let mut signatures = Vec::new();
    let mut keys = Vec::new();
    let mut messages = Vec::new();
    for tx in transactions {
        let account_keys = tx.message().account_keys();
        for (i, signature) in tx.signatures().iter().enumerate() {
            signatures.push(*signature);
            keys.push(account_keys[i].0);
            messages.push(tx.message_bytes());
        }
    }
    let mut results = vec![0u8; signatures.len()];
    tandem_kernels::ed25519_verify_batch(backend, &signatures, &keys, &messages, &mut results)?;
    let mut at = 0;
    Ok(transactions
        .iter()
        .map(|tx| {
            let n = tx.signatures().len();
            let ok = results[at..at + n].iter().all(|&r| r == 1);
            at += n;
            ok
        })
        .collect())
}
