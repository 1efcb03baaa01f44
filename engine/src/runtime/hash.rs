//! Per-domain state hashes (SPEC §4): each domain's accounts lattice hash, kept incrementally,
//! and the chained `hash_D` of every slot.

use sha2::{Digest, Sha256};
use tandem_kernels::hash::lthash::{AccountInput, LtHash};
use tandem_kernels::{Backend, KernelError};

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

/// The LtHash of every account, on `backend`.
fn lthashes(backend: Backend, accounts: &[&Account]) -> Result<Vec<LtHash>, KernelError> {
    let inputs: Vec<AccountInput<'_>> = accounts.iter().map(|a| input(a)).collect();
    let mut out = vec![LtHash::identity(); inputs.len()];
    tandem_kernels::lthash_accounts(backend, &inputs, &mut out)?;
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
        for (account, h) in accounts.iter().zip(lthashes(backend, &accounts)?) {
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
    /// (`None`: deleted) joins every domain that can.
    pub fn apply_changes(
        &mut self,
        backend: Backend,
        changes: &[(Option<&Account>, Option<&Account>)],
    ) -> Result<(), KernelError> {
        let olds: Vec<&Account> = changes.iter().filter_map(|(old, _)| *old).collect();
        let news: Vec<&Account> = changes.iter().filter_map(|(_, new)| *new).collect();
        for (accounts, add) in [(olds, false), (news, true)] {
            for (account, h) in accounts.iter().zip(lthashes(backend, &accounts)?) {
                for domain in Domain::ALL {
                    if account.mapping.readable_by(domain) {
                        let sum = &mut self.lthash[domain];
                        if add { sum.mix_in(&h) } else { sum.mix_out(&h) }
                    }
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
