//! Per-domain state hashes (SPEC §4): each domain's accounts lattice hash, kept incrementally,
//! and the chained `hash_D` of every slot.

use sha2::{Digest, Sha256};
use tandem_kernels::hash::lthash::{AccountInput, LtHash};
use tandem_kernels::{AccountHasher, Backend, KernelError};

use crate::account::{Account, Domain, PerDomain, Pubkey};
use crate::pipeline::{HelperPool, Threads, spread_in_chunks_beside};

/// Each domain's LtHash and latest `hash_D`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainHashes {
    /// `LtHash_D`.
    pub lthash: PerDomain<LtHash>,
    /// `hash_D` of the last slot (or genesis).
    pub hash: PerDomain<[u8; 32]>,
}

/// The LtHash input of an account.
fn input(account: &Account) -> AccountInput<'_> {
    AccountInput {
        pubkey: &account.pubkey.0,
        owner: &account.owner.0,
        lamports: account.lamports,
        executable: account.executable,
        data: &account.data,
    }
}

/// Accounts a part (what a thread takes at a time), and per thread started for a batch: with
/// fewer, hashing stays on the calling thread (starting one costs more).
const MIN_ACCOUNTS_PER_THREAD: usize = 256;

/// The LtHash of every account, by `hasher` (on the calling thread, or its GPU).
fn lthashes(hasher: &AccountHasher, accounts: &[&Account]) -> Result<Vec<LtHash>, KernelError> {
    let inputs: Vec<AccountInput<'_>> = accounts.iter().map(|a| input(a)).collect();
    let mut out = vec![LtHash::identity(); inputs.len()];
    hasher.lthash_accounts(&inputs, &mut out)?;
    Ok(out)
}

/// A slot's changed accounts summed by group, on the CPU: for each sign of the change
/// (`[removed, added]`) and each set of readers (`[the VED only, the UED only, both]`), the sum
/// of the LtHashes of the accounts in it.
type GroupSums = [[LtHash; 3]; 2];

/// The joins of an executor's last slot that its copy still holds as they joined: their sum
/// by group of readers, and their keys ([`DomainHashes::apply_changes_keeping`]).
#[derive(Clone, Debug, Default)]
pub struct KeptJoins {
    /// Their LtHashes summed by group (the joins of [`GroupSums`]).
    sums: [LtHash; 3],
    /// Their keys, ascending.
    keys: Vec<Pubkey>,
}

impl KeptJoins {
    /// How many accounts it stands for.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it stands for none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The group of `account`'s readers in [`GroupSums`], or `None` when no domain reads it (then
/// it is in no LtHash).
fn readers(account: &Account) -> Option<usize> {
    match Domain::ALL.map(|d| account.mapping.readable_by(d)) {
        [true, false] => Some(0),
        [false, true] => Some(1),
        [true, true] => Some(2),
        [false, false] => None,
    }
}

/// The [`GroupSums`] of `changed` (each account and whether it joins, else leaves), on
/// `threads`: each takes parts of the list as they come and sums them by group in the
/// kernels' lanes, and the parts' sums are added (the same sums however the list is cut).
fn group_sums(
    hasher: &AccountHasher,
    changed: &[(&Account, bool)],
    threads: Threads<'_>,
) -> Result<GroupSums, KernelError> {
    group_sums_beside(hasher, changed, threads, || ()).0
}

/// [`group_sums`] while the calling thread first does `side` ([`spread_in_chunks_beside`]).
fn group_sums_beside<R>(
    hasher: &AccountHasher,
    changed: &[(&Account, bool)],
    threads: Threads<'_>,
    side: impl FnOnce() -> R,
) -> (Result<GroupSums, KernelError>, R) {
    let sum_part = |part: &[(&Account, bool)]| -> Result<GroupSums, KernelError> {
        let mut groups: [[Vec<AccountInput<'_>>; 3]; 2] = Default::default();
        for &(account, add) in part {
            if let Some(group) = readers(account) {
                groups[usize::from(add)][group].push(input(account));
            }
        }
        let mut sums = GroupSums::default();
        for (sums, groups) in sums.iter_mut().zip(&groups) {
            for (sum, inputs) in sums.iter_mut().zip(groups) {
                hasher.lthash_accumulate(inputs, sum)?;
            }
        }
        Ok(sums)
    };
    // Threads started for the batch cost their start: each gets a whole part's worth.
    let threads = match threads {
        Threads::Started(n) => {
            Threads::Started(n.min(changed.len() / MIN_ACCOUNTS_PER_THREAD).max(1))
        }
        pool => pool,
    };
    let (parts, side) = spread_in_chunks_beside(
        threads,
        changed,
        MIN_ACCOUNTS_PER_THREAD,
        |part| sum_part(part).map(|sums| vec![sums]),
        side,
    );
    let sums = parts.map(|parts| {
        let mut sums = GroupSums::default();
        for part in &parts {
            for (sum, part) in sums.iter_mut().flatten().zip(part.iter().flatten()) {
                sum.mix_in(part);
            }
        }
        sums
    });
    (sums, side)
}

impl DomainHashes {
    /// The genesis values over `accounts`: each domain's LtHash sums the accounts it may read,
    /// and `hash_D(genesis) = SHA-256("tandem:" ‖ "VED"|"UED" ‖ LtHash_D)`.
    pub fn genesis<'a>(
        backend: Backend,
        accounts: impl Iterator<Item = &'a Account>,
    ) -> Result<DomainHashes, KernelError> {
        let accounts: Vec<&Account> = accounts.collect();
        let mut lthash = PerDomain::from_fn(|_| LtHash::identity());
        for (account, h) in accounts
            .iter()
            .zip(lthashes(&AccountHasher::shared(backend), &accounts)?)
        {
            for domain in Domain::ALL {
                if account.mapping.readable_by(domain) {
                    lthash[domain].mix_in(&h);
                }
            }
        }
        let hash = PerDomain::from_fn(|domain| {
            let mut h = Sha256::new();
            h.update(b"tandem:");
            h.update(domain.name().as_bytes());
            h.update(lthash[domain].to_bytes());
            h.finalize().into()
        });
        Ok(DomainHashes { lthash, hash })
    }

    /// Applies the changes of a slot: for each changed account, its old state (`None`: it did
    /// not exist) leaves the LtHash of every domain that could read it, and its new state
    /// (`None`: deleted) joins every domain that can. The accounts are hashed on `threads`
    /// threads where the batch is large and goes to the CPU (the UED's pass threads; mixing
    /// commutes, so the sums are the same on any number), by `hasher` (its backend and device).
    pub fn apply_changes(
        &mut self,
        hasher: &AccountHasher,
        changes: &[(Option<&Account>, Option<&Account>)],
        threads: usize,
    ) -> Result<(), KernelError> {
        self.apply_changes_beside(hasher, changes, threads, || ()).0
    }

    /// [`DomainHashes::apply_changes`] while the calling thread first does `side`, work of its
    /// own that does not wait for the hashes (a commit's planning of the store's writes): the
    /// other threads hash from the start, the caller joins them once `side` returns. On one
    /// thread, or where the batch goes to the GPU, `side` runs first and then the hashing. The
    /// sums are the same. Gives the hashing's result and `side`'s.
    pub fn apply_changes_beside<R>(
        &mut self,
        hasher: &AccountHasher,
        changes: &[(Option<&Account>, Option<&Account>)],
        threads: usize,
        side: impl FnOnce() -> R,
    ) -> (Result<(), KernelError>, R) {
        self.apply_changes_split(hasher, changes, Threads::Started(threads), side)
    }

    /// [`DomainHashes::apply_changes`] on the calling thread and the threads of `helpers`,
    /// each pinned to its PU (the VED's: its vote point waits for its LtHash, and its thread is on its
    /// PU). The same sums on any number of helpers.
    pub fn apply_changes_on_helpers(
        &mut self,
        hasher: &AccountHasher,
        changes: &[(Option<&Account>, Option<&Account>)],
        helpers: &HelperPool,
    ) -> Result<(), KernelError> {
        self.apply_changes_split(hasher, changes, Threads::Pool(helpers), || ())
            .0
    }

    /// [`DomainHashes::apply_changes_on_helpers`] for an executor whose slots change mostly
    /// the accounts its last slot changed (the VED: every voter's vote account and payer, every
    /// slot), reusing `kept`, the joins of its last call: an account of `kept` that leaves now
    /// leaves in the state it joined in, so the kept sum stands for it and it is not hashed
    /// again; an account of `kept` that does not change now is hashed in its state in `held`
    /// and taken out of the kept sum. A slot of the same voters so hashes each account once,
    /// not twice. The sums are the same as without `kept` (wrapping sums commute).
    ///
    /// The caller's part: `held` gives every account of `kept` in the state it joined in (an
    /// executor drops `kept` when its copy changed in any other way). When it lacks one, every
    /// change is hashed, as is a batch that goes to the GPU. `changes` name a key once, in
    /// ascending order for one walk to match them with `kept`'s keys (out of order, fewer are
    /// reused; the sums are the same).
    ///
    /// Gives the joins to keep for the next slot: those `stays_held` says the caller's copy
    /// holds as they join (`None` after a GPU batch).
    pub fn apply_changes_keeping<'a>(
        &mut self,
        hasher: &AccountHasher,
        changes: &[(Option<&'a Account>, Option<&'a Account>)],
        helpers: &HelperPool,
        kept: Option<KeptJoins>,
        held: impl Fn(&Pubkey) -> Option<&'a Account>,
        stays_held: impl Fn(&Account) -> bool,
    ) -> Result<Option<KeptJoins>, KernelError> {
        let count = changes
            .iter()
            .map(|(old, new)| usize::from(old.is_some()) + usize::from(new.is_some()))
            .sum();
        if hasher.uses_gpu_for(count) {
            self.apply_changes_on_helpers(hasher, changes, helpers)?;
            return Ok(None);
        }
        let key = |change: &(Option<&'a Account>, Option<&'a Account>)| {
            change.0.or(change.1).map(|a| a.pubkey)
        };
        let reused = kept.unwrap_or_default();
        // `hashed`: the leaves the kept sum does not stand for, and the joins to keep;
        // `others`: the kept accounts that stay (as leaves, out of the kept sum), and the
        // joins not kept. One walk over both key orders.
        let (mut hashed, mut others) = (Vec::with_capacity(count), Vec::new());
        let mut keys = Vec::with_capacity(changes.len());
        let mut stayers = reused.keys.iter().peekable();
        let mut stale = false;
        // A stayer's state now, out of the kept sum; `false` when `held` lacks it.
        let stay = |k: &Pubkey, others: &mut Vec<(&'a Account, bool)>| {
            held(k)
                .map(|account| others.push((account, false)))
                .is_some()
        };
        for change in changes {
            let Some(k) = key(change) else { continue };
            while let Some(stayer) = stayers.next_if(|s| **s < k) {
                stale |= !stay(stayer, &mut others);
            }
            let covered = stayers.next_if(|s| **s == k).is_some();
            match change.0 {
                Some(old) if !covered => hashed.push((old, false)),
                // A kept account with no state now: not as it joined.
                None if covered => stale = true,
                _ => {}
            }
            if let Some(new) = change.1 {
                if stays_held(new) {
                    hashed.push((new, true));
                    keys.push(k);
                } else {
                    others.push((new, true));
                }
            }
        }
        for stayer in stayers {
            stale |= !stay(stayer, &mut others);
        }
        if stale {
            self.apply_changes_on_helpers(hasher, changes, helpers)?;
            return Ok(None);
        }
        let threads = Threads::Pool(helpers);
        let [mut leaves, joins] = group_sums(hasher, &hashed, threads)?;
        let [stay_sums, other_joins] = if others.is_empty() {
            GroupSums::default()
        } else {
            group_sums(hasher, &others, threads)?
        };
        let mut all_joins = joins.clone();
        for group in 0..3 {
            leaves[group].mix_in(&reused.sums[group]);
            leaves[group].mix_out(&stay_sums[group]);
            all_joins[group].mix_in(&other_joins[group]);
        }
        self.mix_group_sums(&[leaves, all_joins]);
        Ok(Some(KeptJoins { sums: joins, keys }))
    }

    fn apply_changes_split<R>(
        &mut self,
        hasher: &AccountHasher,
        changes: &[(Option<&Account>, Option<&Account>)],
        threads: Threads<'_>,
        side: impl FnOnce() -> R,
    ) -> (Result<(), KernelError>, R) {
        // Each account that leaves (its old state) or joins (its new one).
        let olds = changes
            .iter()
            .filter_map(|(old, _)| old.map(|a| (a, false)));
        let news = changes.iter().filter_map(|(_, new)| new.map(|a| (a, true)));
        let changed: Vec<(&Account, bool)> = olds.chain(news).collect();
        if hasher.uses_gpu_for(changed.len()) {
            // One dispatch for the slot: each account's hash, mixed here.
            let accounts: Vec<&Account> = changed.iter().map(|&(account, _)| account).collect();
            // (A device takes the batch whole.)
            let side = side();
            let hashes = match lthashes(hasher, &accounts) {
                Ok(hashes) => hashes,
                Err(e) => return (Err(e), side),
            };
            for (&(account, add), h) in changed.iter().zip(&hashes) {
                for domain in Domain::ALL {
                    if account.mapping.readable_by(domain) {
                        let sum = &mut self.lthash[domain];
                        if add { sum.mix_in(h) } else { sum.mix_out(h) }
                    }
                }
            }
            return (Ok(()), side);
        }
        // On the CPU the kernels sum each group of accounts that leave or join the same domains
        // in their lanes: no 2 KiB hash per account to write, zero and mix (wrapping sums
        // commute, so the LtHashes are the same).
        let (sums, side) = group_sums_beside(hasher, &changed, threads, side);
        (sums.map(|sums| self.mix_group_sums(&sums)), side)
    }

    /// Mixes each group's sums out of (leaves) or into (joins) the LtHash of every domain
    /// whose readers the group has.
    fn mix_group_sums(&mut self, sums: &GroupSums) {
        for (add, sums) in [false, true].into_iter().zip(sums) {
            for (group, sum) in sums.iter().enumerate() {
                for (d, domain) in Domain::ALL.into_iter().enumerate() {
                    if group == d || group == 2 {
                        let total = &mut self.lthash[domain];
                        if add {
                            total.mix_in(sum)
                        } else {
                            total.mix_out(sum)
                        }
                    }
                }
            }
        }
    }

    /// Chains the slot's hash for every domain:
    /// `h = SHA-256(hash_D(parent) ‖ sig_count_D (u64 LE) ‖ blockhash)`,
    /// `hash_D = SHA-256(h ‖ LtHash_D)`.
    pub fn chain(&mut self, sig_count: PerDomain<u64>, blockhash: &[u8; 32]) {
        for domain in Domain::ALL {
            self.chain_domain(domain, sig_count[domain], blockhash);
        }
    }

    /// Chains `hash_D` of one domain over its LtHash now ([`DomainHashes::chain`] does both):
    /// the pipeline's VED executor chains the VED's as soon as its pass is done, the vote point.
    pub fn chain_domain(&mut self, domain: Domain, sig_count: u64, blockhash: &[u8; 32]) {
        self.hash[domain] = chained_hash(
            &self.hash[domain],
            sig_count,
            blockhash,
            &self.lthash[domain],
        );
    }
}

/// A domain's hash of a slot from its parent's (SPEC §4):
/// `SHA-256(SHA-256(parent ‖ sig_count (u64 LE) ‖ blockhash) ‖ LtHash)`.
pub fn chained_hash(
    parent: &[u8; 32],
    sig_count: u64,
    blockhash: &[u8; 32],
    lthash: &LtHash,
) -> [u8; 32] {
    let h: [u8; 32] = Sha256::new()
        .chain_update(parent)
        .chain_update(sig_count.to_le_bytes())
        .chain_update(blockhash)
        .finalize()
        .into();
    Sha256::new()
        .chain_update(h)
        .chain_update(lthash.to_bytes())
        .finalize()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::{Mapping, Pubkey};
    use hashbrown::HashMap;

    fn account(n: u32, mapping: Mapping, lamports: u64) -> Account {
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(&n.to_le_bytes());
        Account {
            pubkey: Pubkey(key),
            lamports,
            owner: Pubkey([7; 32]),
            executable: false,
            data: vec![n as u8; (n % 300) as usize],
            mapping,
        }
    }

    #[test]
    fn the_sums_are_each_accounts_hash_mixed_in_and_out_on_any_number_of_threads() {
        // 6,000 changes — creations, updates, deletions and moves, between every mapping (the
        // RX-UED-VED accounts count in both LtHashes) — enough for the batch to be cut over
        // four threads.
        let mapping = |n: u32| Mapping::ALL[n as usize % Mapping::ALL.len()];
        // Some with no lamports (in no LtHash's sum: the kernels skip them).
        let lamports = |n: u32, base: u64| {
            if n.is_multiple_of(11) {
                0
            } else {
                base + n as u64
            }
        };
        let olds: Vec<Account> = (0..6_000)
            .map(|n| account(n, mapping(n), lamports(n, 10)))
            .collect();
        let news: Vec<Account> = (0..6_000)
            .map(|n| account(n, mapping(n / 4), lamports(n / 2, 20)))
            .collect();
        let pairs: Vec<(Option<&Account>, Option<&Account>)> = (0..6_000)
            .map(|i| match i % 3 {
                0 => (None, Some(&news[i])),
                1 => (Some(&olds[i]), Some(&news[i])),
                _ => (Some(&olds[i]), None),
            })
            .collect();
        let start = DomainHashes::genesis(Backend::Cpu, olds.iter().step_by(7)).unwrap();
        let cpu = AccountHasher::shared(Backend::Cpu);
        // The definition: each account's own hash leaves and joins every domain that reads it.
        let mut want = start.lthash.clone();
        for &(old, new) in &pairs {
            for (account, add) in [(old, false), (new, true)] {
                let Some(account) = account else { continue };
                let h = &lthashes(&cpu, &[account]).unwrap()[0];
                for domain in Domain::ALL {
                    if account.mapping.readable_by(domain) {
                        if add {
                            want[domain].mix_in(h)
                        } else {
                            want[domain].mix_out(h)
                        }
                    }
                }
            }
        }
        assert_ne!(want, start.lthash, "the changes count");
        for threads in [1, 2, 4] {
            let mut hashes = start.clone();
            hashes.apply_changes(&cpu, &pairs, threads).unwrap();
            assert_eq!(hashes.lthash, want, "{threads} threads");
        }
        // Helpers pinned to PU 0 (where a cpuset leaves it out, they run where they may),
        // taking parts as they come.
        for pus in [&[][..], &[0], &[0, 0, 0]] {
            let helpers = HelperPool::new(pus);
            let mut hashes = start.clone();
            hashes
                .apply_changes_on_helpers(&cpu, &pairs, &helpers)
                .unwrap();
            assert_eq!(hashes.lthash, want, "{} helpers", pus.len());
        }
    }

    /// Whether the executor of [`reusing_the_last_slots_joins_gives_the_sums_of_hashing_every_change`]
    /// keeps an account in its copy: it has lamports and the VED writes it.
    fn stays_held(account: &Account) -> bool {
        account.lamports > 0 && account.mapping == Mapping::RwVed
    }

    #[test]
    fn reusing_the_last_slots_joins_gives_the_sums_of_hashing_every_change() {
        // 600 accounts over 12 slots, as an executor sees them: most change every slot (its
        // voters), some skip slots (kept, then stay), some are created or deleted, some move to
        // another mapping (joins not kept), and between some slots another hand changes an
        // account (the copy changed: the executor drops what it kept).
        let cpu = AccountHasher::shared(Backend::Cpu);
        let mut world: Vec<Option<Account>> = (0..600)
            .map(|n| Some(account(n, Mapping::RwVed, 1_000 + u64::from(n))))
            .collect();
        let start = DomainHashes::genesis(Backend::Cpu, world.iter().flatten()).unwrap();
        let (mut full, mut reusing) = (start.clone(), start);
        let mut kept: Option<KeptJoins> = None;
        let mut rng = crate::sample::SplitMix64::new(7);
        let mut reused = 0;
        for slot in 0..12u64 {
            if slot % 4 == 3 {
                let n = rng.below(600) as usize;
                let old = world[n].clone();
                let mut new = old
                    .clone()
                    .unwrap_or_else(|| account(n as u32, Mapping::RwVed, 5));
                new.lamports += 1;
                let pair = [(old.as_ref(), Some(&new))];
                full.apply_changes(&cpu, &pair, 1).unwrap();
                reusing.apply_changes(&cpu, &pair, 1).unwrap();
                world[n] = Some(new);
                kept = None;
            }
            let mut news: Vec<(usize, Option<Account>)> = Vec::new();
            for (n, held) in world.iter().enumerate() {
                let roll = rng.below(100);
                if roll < 80 || n < 50 {
                    let mut a = held
                        .clone()
                        .unwrap_or_else(|| account(n as u32, Mapping::RwVed, 1));
                    a.lamports += slot + 1;
                    a.data.push(slot as u8);
                    if roll == 1 {
                        a.mapping = Mapping::ALL[(slot % 4) as usize];
                    }
                    news.push((n, Some(a)));
                } else if roll < 83 {
                    news.push((n, None));
                }
            }
            // In key order, as the executor's overlay gives them.
            news.sort_by_key(|(n, _)| account(*n as u32, Mapping::RwVed, 0).pubkey);
            let pairs: Vec<(Option<&Account>, Option<&Account>)> = news
                .iter()
                .map(|(n, new)| (world[*n].as_ref(), new.as_ref()))
                .filter(|(old, new)| old != new)
                .collect();
            full.apply_changes(&cpu, &pairs, 1).unwrap();
            let by_key: HashMap<Pubkey, &Account> = world
                .iter()
                .flatten()
                .filter(|a| stays_held(a))
                .map(|a| (a.pubkey, a))
                .collect();
            reused += kept.as_ref().map_or(0, KeptJoins::len);
            kept = reusing
                .apply_changes_keeping(
                    &cpu,
                    &pairs,
                    &HelperPool::none(),
                    kept,
                    |key| by_key.get(key).copied(),
                    stays_held,
                )
                .unwrap();
            assert_eq!(reusing, full, "slot {slot}");
            drop(by_key);
            for (n, new) in news {
                world[n] = new;
            }
        }
        assert!(reused > 3_000, "the joins were reused ({reused})");

        // Every account changes once more, in four ways of calling.
        let kept = kept.expect("joins kept");
        let changed: Vec<Account> = world
            .iter()
            .flatten()
            .map(|a| Account {
                lamports: a.lamports + 1,
                ..a.clone()
            })
            .collect();
        let mut ascending: Vec<(Option<&Account>, Option<&Account>)> = world
            .iter()
            .flatten()
            .zip(&changed)
            .map(|(old, new)| (Some(old), Some(new)))
            .collect();
        ascending.sort_by_key(|(old, _)| old.map(|a| a.pubkey));
        let by_key: HashMap<Pubkey, &Account> =
            world.iter().flatten().map(|a| (a.pubkey, a)).collect();
        let first_kept = ascending
            .iter()
            .position(|(old, _)| kept.keys.contains(&old.unwrap().pubkey))
            .expect("a kept account changes");
        let descending: Vec<_> = ascending.iter().rev().copied().collect();
        // A kept account that does not change (a stayer).
        let mut one_stays = ascending.clone();
        one_stays.remove(first_kept);
        // A kept account with no state before its change: the caller broke its part.
        let mut no_old = ascending.clone();
        no_old[first_kept].0 = None;
        let cases = [
            // Out of key order: fewer reused, the same sums.
            ("descending keys", &descending, true),
            // The stayer's state from the copy, or every change hashed when it lacks it.
            ("a stayer", &one_stays, true),
            ("a stayer the copy lacks", &one_stays, false),
            ("a kept account with no old state", &no_old, true),
        ];
        for (case, pairs, held) in cases {
            let mut want = reusing.clone();
            want.apply_changes(&cpu, pairs, 1).unwrap();
            let mut hashes = reusing.clone();
            hashes
                .apply_changes_keeping(
                    &cpu,
                    pairs,
                    &HelperPool::none(),
                    Some(kept.clone()),
                    |key| held.then(|| by_key.get(key).copied()).flatten(),
                    stays_held,
                )
                .unwrap();
            assert_eq!(hashes, want, "{case}");
        }
        // The caller's part: a kept account changed by another hand and the joins not dropped
        // gives other sums (the kept sum stands for the state it joined in).
        let other = Account {
            lamports: ascending[first_kept].0.unwrap().lamports + 7,
            ..ascending[first_kept].0.unwrap().clone()
        };
        let mut tampered = ascending.clone();
        tampered[first_kept].0 = Some(&other);
        let mut want = reusing.clone();
        want.apply_changes(&cpu, &tampered, 1).unwrap();
        let mut hashes = reusing.clone();
        hashes
            .apply_changes_keeping(
                &cpu,
                &tampered,
                &HelperPool::none(),
                Some(kept),
                |key| by_key.get(key).copied(),
                stays_held,
            )
            .unwrap();
        assert_ne!(hashes, want, "the kept sum stands for the kept states");
    }
}
