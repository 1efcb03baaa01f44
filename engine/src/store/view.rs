//! [`DomainView`]: what one execution domain sees of the store.

use std::borrow::Cow;

use super::changes::{Change, SlotChanges};
use super::error::StoreError;
use super::region::RegionMap;
use super::{Store, region_index};
use crate::account::{Account, Domain, Mapping, Pubkey};

/// An account read from the store, borrowing its bytes from the mapped pages where it can (an
/// account that spans pages is assembled into an owned buffer).
///
/// Where protection keys apply ([`super::protection`]), borrowed bytes can be read only by a
/// thread with read access to their pages: the thread that read them, the threads it starts
/// after, any thread that has read the store itself — not a thread of a pool started before
/// (the kernel's default is no access), nor one confined to the other domain. Copy the account
/// out ([`AccountRef::to_account`]) to hand it elsewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRef<'a> {
    /// Its address.
    pub pubkey: Pubkey,
    /// Its balance.
    pub lamports: u64,
    /// Its owner program.
    pub owner: Pubkey,
    /// Whether it is a program.
    pub executable: bool,
    /// Its mapping.
    pub mapping: Mapping,
    /// Its data.
    pub data: Cow<'a, [u8]>,
}

impl AccountRef<'_> {
    /// Whether it is `account`, field for field (no copy made).
    pub fn is(&self, account: &Account) -> bool {
        self.pubkey == account.pubkey
            && self.lamports == account.lamports
            && self.owner == account.owner
            && self.executable == account.executable
            && self.mapping == account.mapping
            && *self.data == *account.data
    }

    /// Copies the account out of the store.
    pub fn to_account(&self) -> Account {
        Account {
            pubkey: self.pubkey,
            lamports: self.lamports,
            owner: self.owner,
            executable: self.executable,
            data: self.data.to_vec(),
            mapping: self.mapping,
        }
    }
}

/// The store as one execution domain sees it (SPEC §1).
///
/// A view reaches only the regions its domain may read: the VED view RW-VED and RX-UED-VED, the
/// UED view RW-UED, RX-UED and RX-UED-VED (every region is mapped read-only by the process; the
/// commit writes through the files, and with protection keys a thread confined to a domain
/// cannot read the other's pages at all). It holds no reference to the other domain's RW
/// region, so no pointer it hands out can reach it. Reads the table does not allow — or that the
/// calling thread's confinement does not ([`super::protection::confine_to`]) — and writes to
/// programs or to the other domain's accounts, are [`StoreError::NotReadable`] and
/// [`StoreError::NotWritable`].
pub struct DomainView<'s> {
    store: &'s Store,
    domain: Domain,
    maps: [Option<&'s RegionMap>; 4],
}

impl<'s> DomainView<'s> {
    pub(crate) fn new(store: &'s Store, domain: Domain) -> Self {
        let maps = std::array::from_fn(|i| {
            let region = &store.regions[i];
            region.mapping.readable_by(domain).then_some(&region.map)
        });
        DomainView {
            store,
            domain,
            maps,
        }
    }

    /// The view's domain.
    pub fn domain(&self) -> Domain {
        self.domain
    }

    /// `dom(a)` of SPEC §2: the account's mapping, RW-UED when it does not exist.
    pub fn mapping_of(&self, pubkey: &Pubkey) -> Mapping {
        self.store.mapping_of(pubkey).unwrap_or(Mapping::RwUed)
    }

    /// Reads an account. `Ok(None)` only in the UED, for an account that does not exist; the VED
    /// may not read an account that does not exist (it counts as RW-UED). A store whose last
    /// commit failed past its log refuses ([`StoreError::Poisoned`]).
    pub fn get(&self, pubkey: &Pubkey) -> Result<Option<AccountRef<'s>>, StoreError> {
        self.store.usable()?;
        let Some(location) = self.store.index.get(pubkey).copied() else {
            return if Mapping::RwUed.readable_by(self.domain) {
                Ok(None)
            } else {
                Err(self.not_readable(pubkey, Mapping::RwUed, false))
            };
        };
        // A thread confined to a domain (a pass) reads only that domain's pages, whatever the
        // view: the other's is refused here, not faulted on.
        let confined = super::protection::confined_to();
        let allowed = confined.is_none_or(|domain| location.mapping.readable_by(domain));
        match self.maps[region_index(location.mapping)] {
            Some(map) if allowed => Ok(Some(Store::record_in(map.bytes(), location))),
            _ => Err(self.not_readable(pubkey, location.mapping, true)),
        }
    }

    /// Stages a write of `account` for the slot: allowed when its domain may write the account's
    /// current mapping (RW-UED for a new account) and the mapping the write gives it.
    pub fn stage_write(
        &self,
        changes: &mut SlotChanges,
        account: Account,
    ) -> Result<(), StoreError> {
        self.check_writable(&account.pubkey)?;
        if !account.mapping.writable_by(self.domain) {
            return Err(StoreError::NotWritable {
                domain: self.domain,
                pubkey: account.pubkey,
                mapping: account.mapping,
            });
        }
        Store::validate_account(&account)?;
        changes.set(account.pubkey, Change::Put(account));
        Ok(())
    }

    /// Stages the removal of an account its domain may write. Removing an account that does not
    /// exist is allowed in the UED and changes nothing.
    pub fn stage_delete(
        &self,
        changes: &mut SlotChanges,
        pubkey: &Pubkey,
    ) -> Result<(), StoreError> {
        self.check_writable(pubkey)?;
        changes.set(*pubkey, Change::Delete);
        Ok(())
    }

    fn check_writable(&self, pubkey: &Pubkey) -> Result<(), StoreError> {
        let current = self.mapping_of(pubkey);
        if current.writable_by(self.domain) {
            Ok(())
        } else {
            Err(StoreError::NotWritable {
                domain: self.domain,
                pubkey: *pubkey,
                mapping: current,
            })
        }
    }

    fn not_readable(&self, pubkey: &Pubkey, mapping: Mapping, exists: bool) -> StoreError {
        StoreError::NotReadable {
            domain: self.domain,
            pubkey: *pubkey,
            mapping,
            exists,
        }
    }
}

impl std::fmt::Debug for DomainView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DomainView")
            .field("domain", &self.domain)
            .field("store", &self.store.dir)
            .finish()
    }
}
