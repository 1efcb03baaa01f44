//! Per-domain state hashes (SPEC §4): each domain's accounts lattice hash, kept incrementally,
//! and the chained `hash_D` of every slot.

use sha2::{Digest, Sha256};
use tandem_kernels::hash::lthash::{AccountInput, LtHash};
use tandem_kernels::{AccountHasher, Backend, KernelError};

use crate::account::{Account, Domain, PerDomain};

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

/// Accounts per thread below which hashing stays on the calling thread: spawning costs more.
const MIN_ACCOUNTS_PER_THREAD: usize = 256;

/// The LtHash of every account, by `hasher`, spread over `threads` threads (the caller's and
/// scoped ones, which run where the caller may: the UED's PUs) where the batch goes to the CPU
/// and is large enough. Each account's hash is the same however the batch is cut.
fn lthashes(
    hasher: &AccountHasher,
    accounts: &[&Account],
    threads: usize,
) -> Result<Vec<LtHash>, KernelError> {
    let inputs: Vec<AccountInput<'_>> = accounts.iter().map(|a| input(a)).collect();
    let mut out = vec![LtHash::identity(); inputs.len()];
    let on_the_cpu = !hasher.uses_gpu_for(inputs.len());
    let threads = threads.min(inputs.len() / MIN_ACCOUNTS_PER_THREAD).max(1);
    if !on_the_cpu || threads == 1 {
        hasher.lthash_accounts(&inputs, &mut out)?;
        return Ok(out);
    }
    let per_thread = inputs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut parts = inputs.chunks(per_thread).zip(out.chunks_mut(per_thread));
        let (first_in, first_out) = parts.next().expect("at least one part");
        let spawned: Vec<_> = parts
            .map(|(part, hashes)| scope.spawn(move || hasher.lthash_accounts(part, hashes)))
            .collect();
        let mine = hasher.lthash_accounts(first_in, first_out);
        for handle in spawned {
            handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        }
        mine
    })?;
    Ok(out)
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
        for (account, h) in
            accounts
                .iter()
                .zip(lthashes(&AccountHasher::shared(backend), &accounts, 1)?)
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
        let olds = changes
            .iter()
            .filter_map(|(old, _)| old.map(|a| (a, false)));
        let news = changes.iter().filter_map(|(_, new)| new.map(|a| (a, true)));
        let (accounts, adds): (Vec<&Account>, Vec<bool>) = olds.chain(news).unzip();
        let hashes = lthashes(hasher, &accounts, threads)?;
        for ((account, h), add) in accounts.iter().zip(&hashes).zip(adds) {
            for domain in Domain::ALL {
                if account.mapping.readable_by(domain) {
                    let sum = &mut self.lthash[domain];
                    if add { sum.mix_in(h) } else { sum.mix_out(h) }
                }
            }
        }
        Ok(())
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
        let hash = &mut self.hash[domain];
        let h: [u8; 32] = Sha256::new()
            .chain_update(*hash)
            .chain_update(sig_count.to_le_bytes())
            .chain_update(blockhash)
            .finalize()
            .into();
        *hash = Sha256::new()
            .chain_update(h)
            .chain_update(self.lthash[domain].to_bytes())
            .finalize()
            .into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::{Mapping, Pubkey};

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
    fn the_sums_are_the_same_on_any_number_of_threads() {
        // 3,000 changes — creations, updates, deletions, in both RW regions — enough for the
        // batch to be cut over four threads.
        let olds: Vec<Account> = (0..3_000)
            .map(|n| {
                account(
                    n,
                    [Mapping::RwVed, Mapping::RwUed][n as usize % 2],
                    10 + n as u64,
                )
            })
            .collect();
        let news: Vec<Account> = (0..3_000)
            .map(|n| account(n, Mapping::RwUed, 20 + n as u64))
            .collect();
        let pairs: Vec<(Option<&Account>, Option<&Account>)> = (0..3_000)
            .map(|i| match i % 3 {
                0 => (None, Some(&news[i])),
                1 => (Some(&olds[i]), Some(&news[i])),
                _ => (Some(&olds[i]), None),
            })
            .collect();
        let start = DomainHashes::genesis(Backend::Cpu, olds.iter().step_by(7)).unwrap();
        let sums: Vec<PerDomain<LtHash>> = [1, 2, 4]
            .into_iter()
            .map(|threads| {
                let mut hashes = start.clone();
                let cpu = AccountHasher::shared(Backend::Cpu);
                hashes.apply_changes(&cpu, &pairs, threads).unwrap();
                hashes.lthash
            })
            .collect();
        assert_ne!(sums[0], start.lthash, "the changes count");
        assert_eq!(sums[0], sums[1]);
        assert_eq!(sums[0], sums[2]);
    }
}
