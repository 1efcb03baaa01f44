//! Checks 1–4 of SPEC §2, decided for a whole block before the domain passes.
//!
//! None of them needs execution state: check 1 needs the signatures, check 2 the payer's
//! mapping at the block's start (it changes at epoch boundaries, processed before this, and
//! within an epoch only when a RW-VED account is emptied: deleted, it reads as RW-UED, SPEC §1
//! — from the next block on, as a pass reads it), checks 3 and 4 the
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
use super::window::PayerTag;
use crate::account::{Domain, Mapping, Pubkey};
use crate::ledger::Block;
use crate::tx::Transaction;
use tandem_kernels::Backend;
use tandem_kernels::Ed25519Verifier;

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
        let (transactions, payers) = parse_block(block)?;
        let valid = verify_signatures(backend, &transactions)?;
        Ok(VerifiedBlock {
            block,
            transactions,
            payers,
            valid,
        })
    }

    /// A block whose signatures were verified elsewhere: `valid[i]` is check 1's answer for
    /// transaction `i` (the pipeline's sigverify stages). The block parses as in
    /// [`VerifiedBlock::new`].
    pub fn from_parts(
        block: &'b Block,
        valid: Vec<bool>,
    ) -> Result<VerifiedBlock<'b>, RuntimeError> {
        let (transactions, payers) = parse_block(block)?;
        assert_eq!(
            valid.len(),
            transactions.len(),
            "one answer per transaction"
        );
        Ok(VerifiedBlock {
            block,
            transactions,
            payers,
            valid,
        })
    }

    /// The parsed transactions.
    pub fn transactions(&self) -> &[Transaction<'b>] {
        &self.transactions
    }

    /// The block.
    pub fn block(&self) -> &'b Block {
        self.block
    }
}

/// Parses every transaction of `block` and finds its fee payer; a transaction that does not
/// parse, or has no writable signer to pay, makes the block malformed (SPEC §2).
pub fn parse_block(block: &Block) -> Result<(Vec<Transaction<'_>>, Vec<Pubkey>), RuntimeError> {
    (0..block.transactions.len())
        .map(|index| parse_transaction(block, index))
        .collect()
}

/// The verdict of [`parse_block`] and the fee payers, without keeping the parsed transactions:
/// what the pipeline's ingest decides for a block while its votes are being verified (the user
/// transactions are parsed again where they execute), so it costs that stage as little as it
/// can — each transaction checked by [`Transaction::checked_fee_payer`], which builds nothing,
/// and parsed only where that refuses it, for the parse's error.
pub fn fee_payers(block: &Block) -> Result<Vec<Pubkey>, RuntimeError> {
    let mut payers = Vec::with_capacity(block.transactions.len());
    for (index, wire) in block.transactions.iter().enumerate() {
        let checked = Transaction::checked_fee_payer(wire);
        // Debug builds (the tests) hold the check to the parse on every block they decide.
        #[cfg(debug_assertions)]
        assert_eq!(
            checked,
            parse_transaction(block, index)
                .ok()
                .map(|(_, payer)| payer)
                .as_ref(),
            "the verdict's check and the parse disagree on transaction {index}"
        );
        payers.push(match checked {
            Some(payer) => *payer,
            None => parse_transaction(block, index)?.1,
        });
    }
    Ok(payers)
}

/// Parses transaction `index` of `block` and finds its fee payer (see [`parse_block`]).
fn parse_transaction(
    block: &Block,
    index: usize,
) -> Result<(Transaction<'_>, Pubkey), RuntimeError> {
    let malformed = |error| RuntimeError::MalformedTransaction {
        slot: block.header.slot,
        index,
        error,
    };
    let tx = Transaction::parse(&block.transactions[index]).map_err(malformed)?;
    let payer = *tx.message().fee_payer().map_err(malformed)?;
    Ok((tx, payer))
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
    let n = verified.transactions.len();
    let mut admission = Admission {
        statuses: vec![None; n],
        payer_domain: vec![None; n],
    };
    state.signatures.begin_block(verified.block.header.slot);
    admit_some(
        &verified.transactions,
        &verified.payers,
        |i| verified.valid[i],
        0..n,
        mapping_of,
        state,
        &mut admission,
    );
    admission
}

/// Checks 1–4 for the transactions `indices` (in block order) of a block whose duplicate window
/// block is begun already: what [`admit`] does for a whole block, done by the pipeline's domain
/// executors for their own transactions. `valid(i)` is check 1's answer for transaction `i`.
/// Returns the signatures entered into the window.
///
/// Deciding one domain's transactions apart from the other's gives the answers of block order:
/// two transactions share a first signature only when they are the same signed message (a valid
/// ed25519 signature binds its message; an invalid one never enters the window), so they have
/// the same fee payer, and within a block a payer's domain is the one it had at the block's
/// start (it changes at epoch boundaries, and from VED to UED when a VED account is emptied —
/// effective from the next block, whose UED window holds every entry the VED made).
pub fn admit_some(
    transactions: &[Transaction<'_>],
    payers: &[Pubkey],
    valid: impl Fn(usize) -> bool,
    indices: impl IntoIterator<Item = usize>,
    mapping_of: impl Fn(&Pubkey) -> Mapping,
    state: &mut RuntimeState,
    admission: &mut Admission,
) -> Vec<[u8; 64]> {
    let Admission {
        statuses,
        payer_domain,
    } = admission;
    let mut entered = Vec::new();
    for i in indices {
        let tx = &transactions[i];
        // Check 1.
        if !valid(i) {
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
        let signature = tx.signatures()[0];
        if state.signatures.insert(signature, PayerTag::of(&payers[i])) {
            entered.push(signature);
        } else {
            statuses[i] = Some(TxStatus::DuplicateSignature);
        }
    }
    entered
}

/// Whether every signature of each transaction is valid (check 1), in one batch on `backend`.
pub fn verify_signatures(
    backend: Backend,
    transactions: &[Transaction<'_>],
) -> Result<Vec<bool>, RuntimeError> {
    check_signatures(transactions.iter(), |s, k, m, r| {
        tandem_kernels::ed25519_verify_batch(backend, s, k, m, r)
    })
}

/// [`verify_signatures`] for some transactions with `verifier` — a pipeline stage's, whose CPU
/// work runs on the calling thread ([`Ed25519Verifier`]).
pub fn verify_signatures_with<'t, 'a: 't>(
    verifier: &Ed25519Verifier,
    transactions: impl Iterator<Item = &'t Transaction<'a>> + Clone,
) -> Result<Vec<bool>, RuntimeError> {
    check_signatures(transactions, |s, k, m, r| verifier.verify(s, k, m, r))
}

fn check_signatures<'t, 'a: 't>(
    transactions: impl Iterator<Item = &'t Transaction<'a>> + Clone,
    kernel: impl FnOnce(
        &[[u8; 64]],
        &[[u8; 32]],
        &[&[u8]],
        &mut [u8],
    ) -> Result<(), tandem_kernels::KernelError>,
) -> Result<Vec<bool>, RuntimeError> {
    let mut signatures = Vec::new();
    let mut keys = Vec::new();
    let mut messages = Vec::new();
    for tx in transactions.clone() {
        let account_keys = tx.message().account_keys();
        for (i, signature) in tx.signatures().iter().enumerate() {
            signatures.push(*signature);
            keys.push(account_keys[i].0);
            messages.push(tx.message_bytes());
        }
    }
    let mut results = vec![0u8; signatures.len()];
    kernel(&signatures, &keys, &messages, &mut results)?;
    let mut at = 0;
    Ok(transactions
        .map(|tx| {
            let n = tx.signatures().len();
            let ok = results[at..at + n].iter().all(|&r| r == 1);
            at += n;
            ok
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::BlockHeader;
    use crate::sample::{SplitMix64, transfer_message};

    /// A transaction from `payer` (the signature is not checked here: all zeros).
    fn unsigned(payer: Pubkey, to: Pubkey) -> Vec<u8> {
        let message = transfer_message(payer, to, 1, [7; 32]);
        let mut wire = vec![1];
        wire.extend([0; 64]);
        wire.extend(message);
        wire
    }

    fn block(transactions: Vec<Vec<u8>>) -> Block {
        Block {
            header: BlockHeader {
                slot: 5,
                parent_slot: 4,
                leader: Pubkey([9; 32]),
                unix_timestamp_ms: 0,
                blockhash: [1; 32],
            },
            transactions: transactions.into(),
        }
    }

    #[test]
    fn the_verdict_alone_decides_as_the_whole_parse() {
        let mut rng = SplitMix64::new(10);
        let payers: Vec<Pubkey> = (0..6).map(|_| rng.pubkey()).collect();
        let good = block(payers.iter().map(|&p| unsigned(p, rng.pubkey())).collect());
        let (transactions, parsed) = parse_block(&good).expect("parses");
        assert_eq!(transactions.len(), 6);
        assert_eq!(parsed, payers);
        assert_eq!(fee_payers(&good).expect("parses"), payers);

        // One malformed transaction refuses the block, and both name it.
        for (index, bad) in [
            (0, vec![]),
            (3, vec![1, 2, 3]),
            (5, {
                let mut trailing = unsigned(payers[5], payers[0]);
                trailing.push(0);
                trailing
            }),
        ] {
            let mut block = good.clone();
            block.transactions.replace(index, bad);
            let named = |r: Result<(), RuntimeError>| match r {
                Err(RuntimeError::MalformedTransaction {
                    slot: 5,
                    index: i,
                    error,
                }) => (i, error),
                other => panic!("{other:?}"),
            };
            let whole = named(parse_block(&block).map(drop));
            let verdict = named(fee_payers(&block).map(drop));
            assert_eq!(whole, verdict);
            assert_eq!(whole.0, index);
        }
    }
}
