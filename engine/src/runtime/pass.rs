//! One domain's pass over a block (SPEC §2): checks 5 to 10 for every transaction whose payer
//! is in the domain and that checks 1–4 ([`super::ingest`]) left undecided, in block order,
//! through that domain's view of the store.

use std::collections::BTreeMap;

use super::RuntimeError;
use super::builtins::{self, Clock, Effect, InvokeContext, TxAccount};
use super::state::RuntimeState;
use super::status::TxStatus;
use crate::account::{Account, Domain, Mapping, Pubkey};
use crate::sample::SYSTEM_PROGRAM_ID;
use crate::store::{DomainView, Store};
use crate::tx::Transaction;

/// Lamports charged per signature (SPEC §2).
pub const FEE_PER_SIGNATURE: u64 = 5_000;

/// Who wrote an account this slot: a domain's executor (through its view) or the runtime itself
/// at an epoch boundary (rewards, slashes, moves).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    /// The runtime, outside the domain views.
    Runtime,
    /// A domain's executor.
    Domain(Domain),
}

/// The accounts a slot has changed so far, over the store's state of the previous slot. A
/// zero-lamport account is deleted at commit.
#[derive(Default)]
pub struct Overlay {
    /// The newest state of each changed account, and who last wrote it.
    pub accounts: BTreeMap<Pubkey, (Account, Writer)>,
}

impl Overlay {
    /// `dom(a)` of SPEC §2 as of now: RW-UED for an account that does not exist.
    pub fn mapping_of(&self, store: &Store, pubkey: &Pubkey) -> Mapping {
        match self.accounts.get(pubkey) {
            Some((account, _)) => account.mapping,
            None => store.mapping_of(pubkey).unwrap_or(Mapping::RwUed),
        }
    }

    /// The account as the runtime sees it (any domain).
    pub fn get(&self, store: &Store, pubkey: &Pubkey) -> Option<Account> {
        match self.accounts.get(pubkey) {
            Some((account, _)) => Some(account.clone()),
            None => store.inspect(pubkey).map(|a| a.to_account()),
        }
    }

    /// Writes an account.
    pub fn put(&mut self, account: Account, writer: Writer) {
        let writer = match (self.accounts.get(&account.pubkey), writer) {
            // An account the runtime moved this slot is not yet where a view would find it.
            (Some((_, Writer::Runtime)), _) => Writer::Runtime,
            (_, w) => w,
        };
        self.accounts.insert(account.pubkey, (account, writer));
    }
}

/// Reads an account through `view` (the overlay first); `None` when it does not exist.
fn load(
    overlay: &Overlay,
    view: &DomainView<'_>,
    pubkey: &Pubkey,
) -> Result<Option<Account>, RuntimeError> {
    if let Some((account, _)) = overlay.accounts.get(pubkey) {
        return Ok(Some(account.clone()));
    }
    Ok(view.get(pubkey)?.map(|a| a.to_account()))
}

/// A new account as a transaction sees one that does not exist.
fn empty_account(pubkey: Pubkey) -> Account {
    Account {
        pubkey,
        lamports: 0,
        owner: SYSTEM_PROGRAM_ID,
        executable: false,
        data: Vec::new(),
        mapping: Mapping::RwUed,
    }
}

/// What a pass needs of the block.
pub struct PassInput<'b, 'a> {
    /// The block's parsed transactions.
    pub transactions: &'b [Transaction<'a>],
    /// Each transaction's payer domain, `None` when checks 1 or 2 decided its status already.
    pub payer_domain: &'b [Option<Domain>],
    /// The block's clock.
    pub clock: Clock,
}

/// Runs `domain`'s pass: fills `statuses[i]` for every transaction whose payer is in the domain
/// and whose status checks 1–4 left open (`None`), and returns the number of signatures that
/// count in `sig_count_D`.
pub fn run_pass(
    domain: Domain,
    store: &Store,
    state: &mut RuntimeState,
    overlay: &mut Overlay,
    input: &PassInput<'_, '_>,
    statuses: &mut [Option<TxStatus>],
) -> Result<u64, RuntimeError> {
    let view = store.view(domain);
    let mut sig_count = 0u64;
    for (i, tx) in input.transactions.iter().enumerate() {
        if input.payer_domain[i] != Some(domain) || statuses[i].is_some() {
            continue; // another domain's (no trace here), or decided by checks 1–4
        }
        let (status, charged) = execute(domain, &view, store, state, overlay, tx, input.clock)?;
        if charged {
            sig_count += tx.signatures().len() as u64;
        }
        statuses[i] = Some(status);
    }
    Ok(sig_count)
}

/// Checks 5 to 10 for one transaction in its payer's domain; returns its status and whether the
/// fee was charged.
fn execute(
    domain: Domain,
    view: &DomainView<'_>,
    store: &Store,
    state: &mut RuntimeState,
    overlay: &mut Overlay,
    tx: &Transaction<'_>,
    clock: Clock,
) -> Result<(TxStatus, bool), RuntimeError> {
    let message = tx.message();
    let keys = message.account_keys();
    let frozen = |key: &Pubkey| state.frozen.get(key) == Some(&clock.epoch);
    // Check 5. The freeze is total (SPEC §5): a frozen payer pays nothing, so the state that
    // moves at E+2 is its state at the end of E.
    let payer_key = keys[0];
    if frozen(&payer_key) {
        return Ok((TxStatus::AccountFrozenForRemap, false));
    }
    let fee = FEE_PER_SIGNATURE * tx.signatures().len() as u64;
    let mut payer = load(overlay, view, &payer_key)?.unwrap_or_else(|| empty_account(payer_key));
    if payer.lamports < fee {
        return Ok((TxStatus::InsufficientFundsForFee, false));
    }
    payer.lamports -= fee;
    overlay.put(payer, Writer::Domain(domain));

    // Checks 6 to 9, fee kept.
    if keys
        .iter()
        .any(|k| !overlay.mapping_of(store, k).readable_by(domain))
    {
        return Ok((TxStatus::DomainViolation, true));
    }
    let writable = |i: usize| message.is_writable(i);
    // Programs, and only programs, hold the RX mappings (SPEC §1; the store enforces it).
    if (0..keys.len())
        .any(|i| writable(i) && overlay.mapping_of(store, &keys[i]).is_program_mapping())
    {
        return Ok((TxStatus::WritableProgram, true));
    }
    if (0..keys.len()).any(|i| writable(i) && frozen(&keys[i])) {
        return Ok((TxStatus::AccountFrozenForRemap, true));
    }
    if !message.address_table_lookups().is_empty() {
        return Ok((TxStatus::UnsupportedAddressLookup, true));
    }

    // Check 10: every instruction on copies, kept only if all succeed.
    let mut accounts = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let account = load(overlay, view, key)?.unwrap_or_else(|| empty_account(*key));
        accounts.push(TxAccount {
            account,
            is_signer: message.is_signer(i),
            is_writable: writable(i),
            remap_locked: state.frozen.contains_key(key)
                || state.moves.contains_key(key)
                || state.remap_requests.contains_key(key),
        });
    }
    let mut effects = Vec::new();
    for ix in message.instructions() {
        let program_id = keys[usize::from(ix.program_id_index)];
        let mut ctx = InvokeContext::new(&mut accounts, ix.accounts, ix.data, clock, &mut effects);
        if let Err(failure) = builtins::invoke(&program_id, &mut ctx) {
            return Ok((TxStatus::ProgramError(failure.code()), true));
        }
    }
    for held in accounts.into_iter().filter(|a| a.is_writable) {
        overlay.put(held.account, Writer::Domain(domain));
    }
    for effect in effects {
        match effect {
            Effect::Remap { pubkey, target } => {
                state.remap_requests.insert(pubkey, target);
            }
        }
    }
    Ok((TxStatus::Success, true))
}
