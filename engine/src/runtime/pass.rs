//! One domain's pass over a block (SPEC §2): checks 5 to 10 for every transaction whose payer
//! is in the domain and that checks 1–4 ([`super::ingest`]) left undecided, in block order,
//! through that domain's view of the store.

use super::RuntimeError;
use super::builtins::{self, Clock, Effect, InvokeContext, TxAccount};
use super::state::RuntimeState;
use super::status::TxStatus;
use crate::account::{Account, Domain, KeyPrefixFilter, Mapping, Pubkey};
use crate::pipeline::{Threads, spread_over};
use crate::sample::{SYSTEM_PROGRAM_ID, vote_program_id};
use crate::store::{Store, protection};
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

/// Where a pass reads the accounts of the state before its slot: the store (the sequential
/// runtime, the UED executor) or an executor's own copy of its domain (the VED executor of the
/// pipeline, which never touches the store between epoch boundaries).
pub trait AccountSource: Sync {
    /// `dom(a)` of SPEC §2 before the slot: RW-UED for an account that does not exist.
    fn mapping_of(&self, pubkey: &Pubkey) -> Mapping;
    /// The account as `domain` reads it before the slot; `None` when it does not exist. Only
    /// called for accounts readable by `domain` (check 6 comes first).
    fn load(&self, domain: Domain, pubkey: &Pubkey) -> Result<Option<Account>, RuntimeError>;
    /// The account whatever its mapping, as the runtime reads it at an epoch boundary; `None`
    /// when it does not exist (or, for an executor's copy, is not one of its domain's).
    fn account(&self, pubkey: &Pubkey) -> Option<Account>;
}

impl AccountSource for Store {
    fn mapping_of(&self, pubkey: &Pubkey) -> Mapping {
        Store::mapping_of(self, pubkey).unwrap_or(Mapping::RwUed)
    }

    fn load(&self, domain: Domain, pubkey: &Pubkey) -> Result<Option<Account>, RuntimeError> {
        Ok(self.view(domain).get(pubkey)?.map(|a| a.to_account()))
    }

    fn account(&self, pubkey: &Pubkey) -> Option<Account> {
        self.inspect(pubkey).map(|a| a.to_account())
    }
}

/// The accounts a slot has changed so far, over the store's state of the previous slot. A
/// zero-lamport account is deleted at commit.
///
/// A hash map: a slot of 4,000 transfers puts 8,000 accounts here, and into an ordered map each put
/// cost two searches of 32-byte key comparisons down the tree and a shift of the node's ~110-byte
/// values — the UED's pass about 5 ms on one thread, most of it those puts
/// (`docs/measurements/issue-10.md`, "The overlay"). Key order is wanted once, at commit
/// ([`Overlay::in_key_order`], [`Overlay::take_accounts`]), and sorted then. The map's iteration
/// order (its hasher is seeded per process) reaches nothing else.
///
/// Most keys a pass asks for were not written in the slot yet (a vote's accounts, a transfer's):
/// a filter of the written keys' first two bytes turns most of those away before the map is
/// asked (with the ordered map it took the VED's pass 2.3 → 1.4 ms). Every write goes through
/// [`Overlay::put`], which keeps the two together.
#[derive(Default)]
pub struct Overlay {
    /// The newest state of each changed account, and who last wrote it.
    accounts: hashbrown::HashMap<Pubkey, (Account, Writer)>,
    /// The keys of `accounts` (and of none since taken).
    written_keys: KeyPrefixFilter,
    /// The `RemapDomain` requests made this slot, in block order whatever the number of
    /// threads (also entered in the state's).
    pub remaps: Vec<(Pubkey, Mapping)>,
}

/// An account the slot changed, with who last wrote it, as [`Overlay::in_key_order`] lends it.
pub type Changed<'o> = (&'o Pubkey, &'o (Account, Writer));

impl Overlay {
    /// `dom(a)` of SPEC §2 as of now: RW-UED for an account that does not exist.
    pub fn mapping_of(&self, source: &impl AccountSource, pubkey: &Pubkey) -> Mapping {
        match self.written(pubkey) {
            Some((account, _)) => account.mapping,
            None => source.mapping_of(pubkey),
        }
    }

    /// The account as the runtime sees it (any domain).
    pub fn get(&self, source: &impl AccountSource, pubkey: &Pubkey) -> Option<Account> {
        match self.written(pubkey) {
            Some((account, _)) => Some(account.clone()),
            None => source.account(pubkey),
        }
    }

    /// The newest state of `pubkey` and who wrote it, where the slot changed it.
    #[inline]
    pub fn written(&self, pubkey: &Pubkey) -> Option<&(Account, Writer)> {
        if !self.written_keys.may_hold(pubkey) {
            return None;
        }
        self.accounts.get(pubkey)
    }

    /// Every account the slot changed, with who last wrote it, in no particular order: for
    /// work whose result does not depend on it.
    pub fn changed(&self) -> impl Iterator<Item = Changed<'_>> {
        self.accounts.iter()
    }

    /// Every account the slot changed, with who last wrote it, in key order.
    pub fn in_key_order(&self) -> Vec<Changed<'_>> {
        // Sorted as a compact list of each key's first 8 bytes and its entry's place, the whole
        // keys compared only where those bytes are equal: a comparison of two keys through
        // their references would reach into the map's scattered entries ~13 times an account
        // (+0.7–0.9 ms a slot of 4,000 transfers on the Xeon guest), and sorting the entries
        // with a 16-byte prefix beside each moved 40 bytes at every step (0.60 → 0.45 ms).
        let entries: Vec<Changed<'_>> = self.accounts.iter().collect();
        let prefix = |key: &Pubkey| u64::from_be_bytes(key.0[..8].try_into().expect("8 bytes"));
        let mut order: Vec<(u64, u32)> = (entries.iter().enumerate())
            .map(|(i, c)| (prefix(c.0), i as u32))
            .collect();
        order.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| entries[a.1 as usize].0.cmp(entries[b.1 as usize].0))
        });
        order
            .into_iter()
            .map(|(_, i)| entries[i as usize])
            .collect()
    }

    /// Takes the accounts the slot changed, in key order ([`Overlay::in_key_order`]), leaving
    /// none.
    pub fn take_accounts(&mut self) -> Vec<(Pubkey, (Account, Writer))> {
        self.written_keys = KeyPrefixFilter::new();
        // The keys sorted, not the entries: an account is ~110 bytes to move at each step.
        let mut keys: Vec<Pubkey> = self.accounts.keys().copied().collect();
        keys.sort_unstable();
        let mut accounts = std::mem::take(&mut self.accounts);
        keys.into_iter()
            .map(|key| {
                let changed = accounts.remove(&key).expect("a key of the map");
                (key, changed)
            })
            .collect()
    }

    /// Writes an account.
    pub fn put(&mut self, account: Account, writer: Writer) {
        let writer = match (self.written(&account.pubkey), writer) {
            // An account the runtime moved this slot is not yet where a view would find it.
            (Some((_, Writer::Runtime)), _) => Writer::Runtime,
            (_, w) => w,
        };
        self.written_keys.add(&account.pubkey);
        self.accounts.insert(account.pubkey, (account, writer));
    }
}

/// Reads an account as `domain` sees it (the overlay first); `None` when it does not exist.
/// One an earlier transaction of the slot left at 0 lamports reads as a new account
/// ([`TxEffect::apply`] wrote it so).
fn load(
    overlay: &Overlay,
    source: &impl AccountSource,
    domain: Domain,
    pubkey: &Pubkey,
) -> Result<Option<Account>, RuntimeError> {
    if let Some((account, _)) = overlay.written(pubkey) {
        return Ok(Some(account.clone()));
    }
    source.load(domain, pubkey)
}

/// A deallocated account, as the next transaction reads it: new, in its mapping.
fn made_afresh(account: &Account) -> Account {
    Account {
        mapping: account.mapping,
        ..empty_account(account.pubkey)
    }
}

/// Whether `account` is as [`made_afresh`] makes one (whatever its lamports and mapping).
fn is_afresh(account: &Account) -> bool {
    account.owner == SYSTEM_PROGRAM_ID && account.data.is_empty() && !account.executable
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

impl<'b, 'a> PassInput<'b, 'a> {
    /// The input of a pass over `transactions` of the block with `header`, in `epoch`.
    pub fn new(
        transactions: &'b [Transaction<'a>],
        payer_domain: &'b [Option<Domain>],
        header: &crate::ledger::BlockHeader,
        epoch: u64,
    ) -> Self {
        PassInput {
            transactions,
            payer_domain,
            clock: Clock {
                slot: header.slot,
                epoch,
                unix_timestamp_ms: header.unix_timestamp_ms,
            },
        }
    }
}

/// Runs `domain`'s pass: fills `statuses[i]` for every transaction whose payer is in the domain
/// and whose status checks 1–4 left open (`None`), and returns the number of signatures that
/// count in `sig_count_D`.
///
/// With `threads` > 1 the transactions run in waves ([`waves`]): a wave holds transactions that
/// touch no account another of the wave writes, so each is decided against the state before the
/// wave, on its own thread, and the wave's writes are then applied in block order. The result —
/// statuses, accounts, hashes — is the sequential one for any thread count.
pub fn run_pass(
    domain: Domain,
    store: &impl AccountSource,
    state: &mut RuntimeState,
    overlay: &mut Overlay,
    input: &PassInput<'_, '_>,
    statuses: &mut [Option<TxStatus>],
    threads: usize,
) -> Result<u64, RuntimeError> {
    // Where protection keys apply, the pass (and the threads of its waves, which inherit it)
    // can read only its domain's pages and write none: its writes go to the overlay.
    let _confined = protection::confine_to(domain);
    // Another domain's transactions leave no trace here; checks 1–4 decided some already.
    let mine: Vec<usize> = (0..input.transactions.len())
        .filter(|&i| input.payer_domain[i] == Some(domain) && statuses[i].is_none())
        .collect();
    let mut sig_count = 0u64;
    let mut finish =
        |i: usize, effect: TxEffect, state: &mut RuntimeState, overlay: &mut Overlay| {
            if effect.charged {
                sig_count += input.transactions[i].signatures().len() as u64;
            }
            statuses[i] = Some(effect.status);
            effect.apply(domain, state, overlay);
        };
    if threads <= 1 {
        for i in mine {
            let tx = &input.transactions[i];
            let effect = evaluate(domain, store, state, overlay, tx, input.clock)?;
            finish(i, effect, state, overlay);
        }
        return Ok(sig_count);
    }
    // The remaps come in the waves' order: put back in block order after them, as one thread
    // leaves them (`Overlay::remaps`).
    let first_remap = overlay.remaps.len();
    let mut remap_order = Vec::new();
    for wave in waves(input.transactions, &mine) {
        let effects = evaluate_wave(domain, store, state, overlay, input, &wave, threads)?;
        for (i, effect) in wave.into_iter().zip(effects) {
            remap_order.extend(std::iter::repeat_n(i, effect.remaps.len()));
            finish(i, effect, state, overlay);
        }
    }
    let mut made: Vec<_> = remap_order
        .into_iter()
        .zip(overlay.remaps.drain(first_remap..))
        .collect();
    made.sort_by_key(|&(i, _)| i);
    overlay
        .remaps
        .extend(made.into_iter().map(|(_, remap)| remap));
    Ok(sig_count)
}

/// Decides every transaction of `wave` against the state before it, on `threads` threads in
/// all (the caller's and threads started beside it: [`Threads::Started`]), which take the
/// wave's transactions a few at a time; the effects come back in the wave's order. Small
/// waves stay on the calling thread.
fn evaluate_wave(
    domain: Domain,
    store: &impl AccountSource,
    state: &RuntimeState,
    overlay: &Overlay,
    input: &PassInput<'_, '_>,
    wave: &[usize],
    threads: usize,
) -> Result<Vec<TxEffect>, RuntimeError> {
    let decide = |part: &[usize]| -> Result<Vec<TxEffect>, RuntimeError> {
        part.iter()
            .map(|&i| {
                let tx = &input.transactions[i];
                evaluate(domain, store, state, overlay, tx, input.clock)
            })
            .collect()
    };
    spread_over(Threads::Started(threads), wave, decide)
}

/// Splits `indices` (transactions of one pass, in block order) into waves by the accounts their
/// messages lock: a transaction goes into the wave after the last one holding an account it
/// writes (read or written there) or reads (written there). Each wave keeps block order, and
/// applying the waves one after another gives the state of block order: two transactions whose
/// order differs between the two share no account either writes.
pub fn waves(transactions: &[Transaction<'_>], indices: &[usize]) -> Vec<Vec<usize>> {
    /// The first wave after the last one that wrote the key and after the last one that read
    /// it (0: none did).
    #[derive(Clone, Copy, Default)]
    struct Lock {
        after_written: u32,
        after_read: u32,
    }
    // Each key's lock has a place in `locks`, found by one search of hashbrown's map (foldhash)
    // a key and transaction: the transaction's wave is read from its keys' locks, then written
    // back through the places found (a get and then an entry, two searches, and locks of two
    // `Option<usize>` in the map took 0.53–0.67 ms for 4,000 transfers on the Xeon guest of
    // 2026-12-06; std's SipHash map, grown as it filled, as long as the wave's evaluation on
    // two threads). Sized once.
    let mut places: hashbrown::HashMap<Pubkey, u32> =
        hashbrown::HashMap::with_capacity(3 * indices.len());
    let mut locks: Vec<Lock> = Vec::with_capacity(3 * indices.len());
    let mut found: Vec<u32> = Vec::new();
    let mut waves: Vec<Vec<usize>> = Vec::new();
    for &i in indices {
        let message = transactions[i].message();
        let keys = message.account_keys();
        // A builtin program marked writable is locked as read: genesis always makes both (SPEC
        // §1, RX-UED-VED for good), so such a transaction fails check 7 and writes no program.
        // Locked as a write, each one put every later transaction naming the program — every
        // system instruction — a wave after it: a leader splitting a block of 4,000 transfers
        // into 801 waves with 10 % of them marking the system program writable, one thread
        // doing them all (found by a black-box test, 2026-12-07). (Any other program: only the
        // transactions naming it, which all fail, queue behind each other.)
        let writes = |k: usize| {
            message.is_writable(k) && keys[k] != SYSTEM_PROGRAM_ID && keys[k] != vote_program_id()
        };
        found.clear();
        let mut wave: u32 = 0;
        for (k, key) in keys.iter().enumerate() {
            let next = u32::try_from(locks.len()).expect("fewer than 2^32 keys in a block");
            let place = *places.entry(*key).or_insert(next);
            if place == next {
                locks.push(Lock::default());
            }
            let lock = locks[place as usize];
            let earliest = if writes(k) {
                lock.after_written.max(lock.after_read)
            } else {
                lock.after_written
            };
            wave = wave.max(earliest);
            found.push(place);
        }
        for (k, &place) in found.iter().enumerate() {
            let lock = &mut locks[place as usize];
            let after = if writes(k) {
                &mut lock.after_written
            } else {
                &mut lock.after_read
            };
            *after = (*after).max(wave + 1);
        }
        let wave = wave as usize;
        if waves.len() <= wave {
            waves.resize_with(wave + 1, Vec::new);
        }
        waves[wave].push(i);
    }
    waves
}

/// What one transaction does, decided against the state before it: its status, whether it paid,
/// and the writes that [`TxEffect::apply`] makes.
struct TxEffect {
    status: TxStatus,
    charged: bool,
    /// The accounts it writes: the payer alone (its fee) when it failed after check 5.
    writes: Vec<Account>,
    /// `RemapDomain` requests it made.
    remaps: Vec<(Pubkey, Mapping)>,
}

impl TxEffect {
    /// A status that changes nothing.
    fn nothing(status: TxStatus) -> TxEffect {
        TxEffect {
            status,
            charged: false,
            writes: Vec::new(),
            remaps: Vec::new(),
        }
    }

    /// Makes the transaction's writes.
    fn apply(self, domain: Domain, state: &mut RuntimeState, overlay: &mut Overlay) {
        for account in self.writes {
            let account = match account.lamports {
                0 => deallocated(overlay, account),
                _ => account,
            };
            overlay.put(account, Writer::Domain(domain));
        }
        for (pubkey, target) in self.remaps {
            state.remap_requests.insert(pubkey, target);
            overlay.remaps.push((pubkey, target));
        }
    }
}

/// What a transaction writing `account` at 0 lamports leaves of it for the rest of the slot.
///
/// Where it emptied it, a deallocated account, as Agave's account loader has it: the next
/// transaction reads a new system account (no data, the system program its owner), which the
/// commit deletes unless a later transaction funds it (a 0-lamport account's data and owner
/// reach no hash: its LtHash is zeros, and the commit deletes it). Its mapping stays until that
/// commit, as `dom(a)` reads it (check 6): the VED never makes an account of the UED. (It kept
/// its owner and data to the slot's end: re-funded in the same block, a drained account kept
/// the data it was given, and its funds were stuck, where the same transactions over two
/// blocks succeeded; found by a black-box test, 2026-12-07.)
///
/// The boundary's own changes are no transaction's: a vote account a slash empties is read by
/// the boundary's block as the slash left it, its vote state included, on every path (the
/// runtime's one overlay, the engine's VED crossing alone) — an account already at 0 lamports
/// in the slot and not made afresh is one the boundary emptied, and stays as written (its
/// first vote made it afresh, so a second vote, or a payment after the vote, found no vote
/// state; found in review, 2026-12-07). Written so, a deallocation costs the hot paths one
/// compare (its first form, a set of keys looked up at every write, cost the vote executor
/// some 3 % of its rate).
#[cold]
#[inline(never)]
fn deallocated(overlay: &Overlay, account: Account) -> Account {
    let boundary_left = overlay
        .written(&account.pubkey)
        .is_some_and(|(before, _)| before.lamports == 0 && !is_afresh(before));
    if boundary_left {
        account
    } else {
        made_afresh(&account)
    }
}

/// Checks 5 to 10 for one transaction in its payer's domain, against the state before it; writes
/// nothing.
fn evaluate(
    domain: Domain,
    store: &impl AccountSource,
    state: &RuntimeState,
    overlay: &Overlay,
    tx: &Transaction<'_>,
    clock: Clock,
) -> Result<TxEffect, RuntimeError> {
    let message = tx.message();
    let keys = message.account_keys();
    let frozen = |key: &Pubkey| state.frozen.get(key) == Some(&clock.epoch);
    // Check 5. The freeze is total (SPEC §5): a frozen payer pays nothing, so the state that
    // moves at E+2 is its state at the end of E.
    let payer_key = keys[0];
    if frozen(&payer_key) {
        return Ok(TxEffect::nothing(TxStatus::AccountFrozenForRemap));
    }
    let fee = FEE_PER_SIGNATURE * tx.signatures().len() as u64;
    let mut payer =
        load(overlay, store, domain, &payer_key)?.unwrap_or_else(|| empty_account(payer_key));
    if payer.lamports < fee {
        return Ok(TxEffect::nothing(TxStatus::InsufficientFundsForFee));
    }
    payer.lamports -= fee;
    let fee_only = |status, payer: Account| TxEffect {
        status,
        charged: true,
        writes: vec![payer],
        remaps: Vec::new(),
    };

    // Checks 6 to 9, fee kept.
    if keys
        .iter()
        .any(|k| !overlay.mapping_of(store, k).readable_by(domain))
    {
        return Ok(fee_only(TxStatus::DomainViolation, payer));
    }
    let writable = |i: usize| message.is_writable(i);
    // Programs, and only programs, hold the RX mappings (SPEC §1; the store enforces it).
    if (0..keys.len())
        .any(|i| writable(i) && overlay.mapping_of(store, &keys[i]).is_program_mapping())
    {
        return Ok(fee_only(TxStatus::WritableProgram, payer));
    }
    if (0..keys.len()).any(|i| writable(i) && frozen(&keys[i])) {
        return Ok(fee_only(TxStatus::AccountFrozenForRemap, payer));
    }
    if !message.address_table_lookups().is_empty() {
        return Ok(fee_only(TxStatus::UnsupportedAddressLookup, payer));
    }

    // Check 10: every instruction on copies (the payer with its fee paid), kept only if all
    // succeed.
    let mut accounts = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let account = if i == 0 {
            payer.clone()
        } else {
            load(overlay, store, domain, key)?.unwrap_or_else(|| empty_account(*key))
        };
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
            return Ok(fee_only(TxStatus::ProgramError(failure.code()), payer));
        }
    }
    Ok(TxEffect {
        status: TxStatus::Success,
        charged: true,
        writes: accounts
            .into_iter()
            .filter(|a| a.is_writable)
            .map(|a| a.account)
            .collect(),
        remaps: effects
            .into_iter()
            .map(|effect| match effect {
                Effect::Remap { pubkey, target } => (pubkey, target),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::account::Pubkey;
    use crate::tx::{AccountMeta, MessageBuilder, Transaction};

    /// A transaction by payer `payer` (a key seed) that writes `writes` and reads `reads`
    /// (account names), through one instruction of a made-up program.
    fn tx(payer: u8, writes: &[u8], reads: &[u8]) -> Vec<u8> {
        let key = SigningKey::from_bytes(&[payer; 32]);
        let account = |n: u8| Pubkey([n; 32]);
        let metas: Vec<AccountMeta> = writes
            .iter()
            .map(|&n| AccountMeta::new(account(n), false))
            .chain(
                reads
                    .iter()
                    .map(|&n| AccountMeta::new_readonly(account(n), false)),
            )
            .collect();
        let message = MessageBuilder::new(Pubkey(key.verifying_key().to_bytes()))
            .instruction(Pubkey([0xfe; 32]), &metas, &[])
            .build_legacy([0; 32])
            .expect("message");
        Transaction::sign(&message, &[&key]).expect("signed")
    }

    fn waves_of(wires: &[Vec<u8>]) -> Vec<Vec<usize>> {
        let transactions: Vec<Transaction<'_>> = wires
            .iter()
            .map(|w| Transaction::parse(w).expect("parses"))
            .collect();
        let indices: Vec<usize> = (0..transactions.len()).collect();
        waves(&transactions, &indices)
    }

    #[test]
    fn transactions_sharing_a_written_account_keep_block_order_across_waves() {
        let wires = [
            tx(1, &[10], &[]),     // 0 writes 10
            tx(2, &[], &[10]),     // 1 reads 10 after 0 wrote it: after 0
            tx(3, &[], &[10]),     // 2 reads 10 too: beside 1
            tx(4, &[10], &[]),     // 3 writes 10 after 1 and 2 read it: after both
            tx(5, &[11], &[12]),   // 4 shares nothing with the others: the first wave
            tx(6, &[], &[12]),     // 5 reads 12, which 4 only reads: the first wave
            tx(1, &[13], &[]),     // 6 is paid by 0's payer (written): after 0
            tx(7, &[12, 14], &[]), // 7 writes 12, which 4 and 5 read: after them
        ];
        assert_eq!(
            waves_of(&wires),
            [vec![0, 4, 5], vec![1, 2, 6, 7], vec![3]],
            "each wave in block order; no two in one wave share an account either writes"
        );
    }

    #[test]
    fn a_builtin_program_marked_writable_does_not_split_the_block() {
        // Every tenth transaction marks the system program (account 0 here) writable, the
        // others read it: one wave, where a write lock made a wave of each.
        let wires: Vec<Vec<u8>> = (0..40u8)
            .map(|n| match n % 10 {
                0 => tx(n + 100, &[0], &[]),
                _ => tx(n + 100, &[n + 10], &[0]),
            })
            .collect();
        assert_eq!(waves_of(&wires), vec![(0..40).collect::<Vec<usize>>()]);
        // Another account so marked still orders its readers after it.
        let wires = [tx(1, &[9], &[]), tx(2, &[10], &[9])];
        assert_eq!(waves_of(&wires), vec![vec![0], vec![1]]);
    }

    #[test]
    fn applying_the_waves_in_turn_is_block_order_for_every_account() {
        // Random read and write sets over few accounts: for every pair of transactions that
        // share an account one of them writes, the earlier one's wave comes first.
        let mut rng = crate::sample::SplitMix64::new(0x5eed);
        let mut next = |n: u64| rng.below(n) as u8;
        for _ in 0..40 {
            let sets: Vec<(u8, Vec<u8>, Vec<u8>)> = (0..30)
                .map(|_| {
                    let mut writes: Vec<u8> = (0..next(3)).map(|_| 20 + next(6)).collect();
                    writes.sort_unstable();
                    writes.dedup();
                    let reads: Vec<u8> = (0..next(3))
                        .map(|_| 20 + next(6))
                        .filter(|r| !writes.contains(r))
                        .collect::<std::collections::BTreeSet<u8>>()
                        .into_iter()
                        .collect();
                    (1 + next(4), writes, reads)
                })
                .collect();
            let wires: Vec<Vec<u8>> = sets.iter().map(|(p, w, r)| tx(*p, w, r)).collect();
            let waves = waves_of(&wires);
            let wave_of = |i: usize| waves.iter().position(|w| w.contains(&i)).expect("placed");
            let touches = |i: usize| {
                let (payer, writes, reads) = &sets[i];
                let payer = 0x100 + u16::from(*payer); // a payer is written
                let writes = writes.iter().map(|&a| u16::from(a)).chain([payer]);
                (
                    writes.collect::<Vec<u16>>(),
                    reads.iter().map(|&a| u16::from(a)).collect::<Vec<u16>>(),
                )
            };
            for j in 0..sets.len() {
                for i in 0..j {
                    let ((wi, ri), (wj, rj)) = (touches(i), touches(j));
                    let conflict = wi.iter().any(|a| wj.contains(a) || rj.contains(a))
                        || ri.iter().any(|a| wj.contains(a));
                    if conflict {
                        assert!(wave_of(i) < wave_of(j), "{i} and {j}: {sets:?} → {waves:?}");
                    }
                }
            }
            for wave in &waves {
                assert!(
                    wave.windows(2).all(|w| w[0] < w[1]),
                    "block order within a wave"
                );
            }
        }
    }

    /// A runtime state of slot 0 with nothing in it.
    fn empty_state() -> RuntimeState {
        RuntimeState {
            genesis_hash: [1; 32],
            genesis_digest: None,
            slot: 0,
            epoch: 0,
            unix_timestamp_ms: 0,
            hashes: super::super::hash::DomainHashes {
                lthash: crate::account::PerDomain::from_fn(|_| tandem_kernels::LtHash::identity()),
                hash: crate::account::PerDomain::from_fn(|_| [0; 32]),
            },
            recent_blockhashes: Default::default(),
            signatures: Default::default(),
            frozen: Default::default(),
            moves: Default::default(),
            remap_requests: Default::default(),
            slashes: Vec::new(),
            ved_members: Default::default(),
            ved_members_next: Default::default(),
        }
    }

    /// The clock of slot 1.
    const CLOCK: Clock = Clock {
        slot: 1,
        epoch: 0,
        unix_timestamp_ms: 0,
    };

    /// An account source where every key is a funded RW-UED system account.
    struct Funded;

    impl Funded {
        fn funded(pubkey: Pubkey) -> Account {
            Account {
                lamports: 1_000_000_000,
                ..empty_account(pubkey)
            }
        }
    }

    impl AccountSource for Funded {
        fn mapping_of(&self, _: &Pubkey) -> Mapping {
            Mapping::RwUed
        }

        fn load(&self, _: Domain, key: &Pubkey) -> Result<Option<Account>, RuntimeError> {
            Ok(Some(Funded::funded(*key)))
        }

        fn account(&self, key: &Pubkey) -> Option<Account> {
            Some(Funded::funded(*key))
        }
    }

    /// The remaps a UED pass makes are in block order on any number of threads, though the
    /// waves decide them in another: X transfers, then asks to move (the wave after, as it
    /// writes X again), and Y asks to move in the first wave.
    #[test]
    fn a_pass_keeps_its_remaps_in_block_order_on_any_number_of_threads() {
        use super::super::builtins::system::SystemInstruction;
        let system = |seed: u8, to: Option<Pubkey>, ix: SystemInstruction| {
            let key = SigningKey::from_bytes(&[seed; 32]);
            let me = Pubkey(key.verifying_key().to_bytes());
            let mut metas = vec![AccountMeta::new(me, true)];
            metas.extend(to.map(|to| AccountMeta::new(to, false)));
            let message = MessageBuilder::new(me)
                .instruction(SYSTEM_PROGRAM_ID, &metas, &ix.encode())
                .build_legacy([0; 32])
                .expect("message");
            (me, Transaction::sign(&message, &[&key]).expect("signed"))
        };
        let to_ved = SystemInstruction::RemapDomain {
            target: Mapping::RwVed.tag(),
        };
        let (x, pay) = system(
            1,
            Some(Pubkey([9; 32])),
            SystemInstruction::Transfer { lamports: 5 },
        );
        let (_, x_moves) = system(1, None, to_ved);
        let (y, y_moves) = system(2, None, to_ved);
        let wires = [pay, x_moves, y_moves];
        assert_eq!(waves_of(&wires), vec![vec![0, 2], vec![1]]);
        let transactions: Vec<Transaction<'_>> = wires
            .iter()
            .map(|w| Transaction::parse(w).expect("parses"))
            .collect();
        for threads in [1, 2] {
            let mut overlay = Overlay::default();
            let mut statuses = vec![None; transactions.len()];
            let input = PassInput {
                transactions: &transactions,
                payer_domain: &[Some(Domain::Ued); 3],
                clock: CLOCK,
            };
            let mut state = empty_state();
            run_pass(
                Domain::Ued,
                &Funded,
                &mut state,
                &mut overlay,
                &input,
                &mut statuses,
                threads,
            )
            .expect("pass");
            assert_eq!(statuses, [Some(TxStatus::Success); 3], "{threads} threads");
            assert_eq!(
                overlay.remaps,
                [(x, Mapping::RwVed), (y, Mapping::RwVed)],
                "{threads} threads"
            );
        }
    }

    /// An account source that notes, at every read, the domain the reading thread is confined
    /// to by its protection keys. Each read takes a millisecond, so that the threads started
    /// beside the caller find transactions left to take.
    struct Confinements(std::sync::Mutex<Vec<(std::thread::ThreadId, Option<Domain>)>>);

    impl AccountSource for Confinements {
        fn mapping_of(&self, _: &Pubkey) -> Mapping {
            Mapping::RwUed
        }

        fn load(&self, _: Domain, _: &Pubkey) -> Result<Option<Account>, RuntimeError> {
            let seen = (std::thread::current().id(), protection::confined_to());
            self.0.lock().unwrap().push(seen);
            std::thread::sleep(std::time::Duration::from_millis(1));
            Ok(None)
        }

        fn account(&self, _: &Pubkey) -> Option<Account> {
            None
        }
    }

    /// Where protection keys apply, a pass reads as its domain only, on every thread of its
    /// waves.
    #[test]
    fn a_pass_and_its_wave_threads_are_confined_to_its_domain() {
        if let Err(reason) = protection::status() {
            tandem_kernels::say_skipped!("skipped: {reason}");
            return;
        }
        // Two threads' worth of transactions (64 each at least: `spread`), in one wave: none
        // writes an account another touches (the made-up program's, 0xfe, included).
        let wires: Vec<Vec<u8>> = (1..=128u8).map(|payer| tx(payer, &[payer], &[])).collect();
        let transactions: Vec<Transaction<'_>> = wires
            .iter()
            .map(|w| Transaction::parse(w).expect("parses"))
            .collect();
        let all: Vec<usize> = (0..transactions.len()).collect();
        assert_eq!(waves(&transactions, &all), vec![all.clone()], "one wave");
        let mut state = empty_state();
        for domain in Domain::ALL {
            let payer_domain = vec![Some(domain); transactions.len()];
            let input = PassInput {
                transactions: &transactions,
                payer_domain: &payer_domain,
                clock: CLOCK,
            };
            let source = Confinements(Default::default());
            let mut statuses = vec![None; transactions.len()];
            run_pass(
                domain,
                &source,
                &mut state,
                &mut Overlay::default(),
                &input,
                &mut statuses,
                2,
            )
            .expect("pass");
            let seen = source.0.into_inner().unwrap();
            assert_eq!(seen.len(), transactions.len(), "one payer read each");
            assert!(
                seen.iter().all(|(_, confined)| *confined == Some(domain)),
                "{domain}: {seen:?}"
            );
            let threads: std::collections::HashSet<_> = seen.iter().map(|(t, _)| t).collect();
            assert!(threads.len() >= 2, "the wave ran on worker threads");
            assert_eq!(
                protection::confined_to(),
                None,
                "the pass ended its confinement"
            );
        }
    }

    #[test]
    fn the_overlay_answers_as_its_map_for_keys_written_and_keys_sharing_their_first_bytes() {
        let account = |key: Pubkey, lamports: u64| Account {
            lamports,
            ..empty_account(key)
        };
        // Keys in four first-two-byte groups, several to a group, so that the filter lets
        // keys that were never written pass.
        let key = |group: u8, n: u8| {
            let mut k = [n; 32];
            k[..2].copy_from_slice(&[group, 7]);
            Pubkey(k)
        };
        let mut keys: Vec<Pubkey> = (0..4)
            .flat_map(|g| (0..5).map(move |n| key(g, n)))
            .collect();
        // And keys whose first 16 bytes are the same (the key order's sort is told apart by
        // the rest), written in the last steps of each round.
        let deep = |n: u8| {
            let mut k = [3; 32];
            k[20] = 9 - n;
            k[31] = n;
            Pubkey(k)
        };
        keys.extend((0..4).map(deep));
        let mut overlay = Overlay::default();
        let mut reference: std::collections::BTreeMap<Pubkey, (Account, Writer)> =
            std::collections::BTreeMap::new();
        let mut rng = crate::sample::SplitMix64::new(7);
        for round in 0..3 {
            for step in 0..200u64 {
                // The first two groups' keys and two of the third's: the third's others share
                // written keys' first bytes, the fourth's none.
                let k = match step {
                    196.. => keys[20 + (step - 196) as usize],
                    _ => keys[rng.below(12) as usize],
                };
                let writer = match rng.below(16) {
                    0 => Writer::Runtime,
                    _ => Writer::Domain(Domain::Ued),
                };
                let kept = match (reference.get(&k), writer) {
                    (Some((_, Writer::Runtime)), _) => Writer::Runtime,
                    (_, w) => w,
                };
                reference.insert(k, (account(k, step), kept));
                overlay.put(account(k, step), writer);
                for k in &keys {
                    assert_eq!(overlay.written(k), reference.get(k), "round {round}");
                }
            }
            let in_order: Vec<_> = overlay.in_key_order();
            assert_eq!(in_order, reference.iter().collect::<Vec<_>>());
            let mut unordered: Vec<_> = overlay.changed().collect();
            unordered.sort_unstable_by(|a, b| a.0.cmp(b.0));
            assert_eq!(unordered, in_order);
            assert_eq!(overlay.changed().count(), reference.len());
            let taken = overlay.take_accounts();
            assert_eq!(
                taken,
                std::mem::take(&mut reference)
                    .into_iter()
                    .collect::<Vec<_>>()
            );
            assert_eq!(overlay.changed().count(), 0);
            assert!(
                keys.iter().all(|k| overlay.written(k).is_none()),
                "none left"
            );
        }
    }
}
