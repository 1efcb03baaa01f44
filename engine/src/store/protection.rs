//! Memory protection keys on the domains' pages: the MMU keeping an executor out of the other
//! domain's pages, as a hypervisor keeps a guest out of another VMID's (SPEC §1: "where the OS
//! can enforce it, it does").
//!
//! # What it does
//!
//! Where the CPU and kernel have protection keys (x86 `pku` and `ospke`), the store tags the
//! pages each domain maps alone with a key of that domain's: the VED's key on the `rw-ved`
//! region, the UED's key on `rw-ued` and `rx-ued`; `rx-ued-ved`, which both domains map, keeps
//! the default key. What a thread may do with each key is in its own PKRU register, set here:
//!
//! | a thread …                                           | VED's key | UED's key |
//! |------------------------------------------------------|-----------|-----------|
//! | that has never read the store (the kernel's default) | none      | none      |
//! | anywhere else (bookkeeping, tools, the C ABI's host) | read      | read      |
//! | in a VED pass ([`confine_to`]), and threads it starts | read      | none      |
//! | in a UED pass, and threads it starts                 | none      | read      |
//!
//! No thread writes a store page through memory at all: every region is mapped read-only, on
//! every machine, and the store's commit writes its page images through the region files
//! (`pwrite`; `store::region::RegionMap` says why). So **no executor can write a store page**
//! — a pass stages its writes in memory, and only the commit writes pages — and, with keys,
//! **an executor cannot even read the other domain's pages**: a stray pointer faults (SIGSEGV)
//! instead of reading or corrupting them. Outside passes every thread that has read the store
//! may read. A thread is given read access the first time it reads the store's pages
//! (`ensure_readable`, one `RDPKRU` when it has it already), unless it is confined to a
//! domain; threads inherit their creator's PKRU, so a pass's worker threads are confined too.
//!
//! Elsewhere (no `pku`, another architecture, keys exhausted, or `TANDEM_PROTECTION_KEYS=off`)
//! nothing here does anything and the typed checks of the domain views stand alone; [`status`]
//! says which applies (`tandem topology` prints it).

use std::marker::PhantomData;
use std::sync::OnceLock;

use crate::account::{Domain, Mapping};

/// The environment variable that turns protection keys off (`off`); anything else, or nothing,
/// leaves them on where the machine has them.
pub const PROTECTION_KEYS_ENV: &str = "TANDEM_PROTECTION_KEYS";

/// The two protection keys of a process: one per domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomainKeys {
    /// The key of the pages only the VED maps (`rw-ved`).
    pub ved: u32,
    /// The key of the pages only the UED maps (`rw-ued`, `rx-ued`).
    pub ued: u32,
}

impl DomainKeys {
    /// The key of `domain`'s pages.
    pub fn of(&self, domain: Domain) -> u32 {
        match domain {
            Domain::Ved => self.ved,
            Domain::Ued => self.ued,
        }
    }

    /// The key that tags the pages of `mapping`: its domain's when only one domain maps it,
    /// `None` (the default key) when both do.
    pub fn of_mapping(&self, mapping: Mapping) -> Option<u32> {
        match (
            mapping.readable_by(Domain::Ved),
            mapping.readable_by(Domain::Ued),
        ) {
            (true, false) => Some(self.ved),
            (false, true) => Some(self.ued),
            _ => None,
        }
    }
}

/// Whether the store protects the domains' pages with keys in this process, allocating the keys
/// on first use: `Ok` with the keys, or `Err` with why not (for people). Every store of the
/// process shares the two keys (a process has at most 15; the kernel may keep one for itself).
/// `tandem topology` asks too, so it takes them even where no store opens.
pub fn status() -> &'static Result<DomainKeys, String> {
    static KEYS: OnceLock<Result<DomainKeys, String>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let keys = allocate();
        match &keys {
            Ok(keys) => log::debug!(
                "memory protection keys: rw-ved pages under key {}, rw-ued and rx-ued under key {}",
                keys.ved,
                keys.ued
            ),
            Err(reason) => log::debug!("memory protection keys not used: {reason}"),
        }
        keys
    })
}

/// The keys, when they apply.
#[inline]
fn active() -> Option<DomainKeys> {
    status().as_ref().ok().copied()
}

/// One sentence for people, after "memory protection keys: ": what protects the domains' pages
/// in this process.
pub fn summary() -> String {
    match status() {
        Ok(keys) => format!(
            "applied: the VED's pages (rw-ved) carry key {}, the UED's (rw-ued, rx-ued) key {}; an executor reads only its own domain's pages (no thread writes any through memory: the mappings are read-only, the store's commit writes through the files; TANDEM_PROTECTION_KEYS=off turns the keys off)",
            keys.ved, keys.ued
        ),
        Err(reason) => format!("{reason}: the typed checks of the domain views stand"),
    }
}

fn allocate() -> Result<DomainKeys, String> {
    match std::env::var(PROTECTION_KEYS_ENV) {
        Ok(value) if value == "off" => {
            return Err(format!("turned off ({PROTECTION_KEYS_ENV}=off)"));
        }
        Ok(value) if !value.is_empty() && value != "on" => log::warn!(
            "{PROTECTION_KEYS_ENV}={value:?} is neither \"off\" nor \"on\": protection keys stay on where the machine has them"
        ),
        _ => {}
    }
    pkru::allocate_pair().map(|(ved, ued)| DomainKeys { ved, ued })
}

/// Tags the pages of the (read-only) mapping of `mapping`'s region with its domain's key.
/// Nothing to do where keys do not apply, or for the region both domains map.
pub(crate) fn tag(pages: &[u8], mapping: Mapping) -> Result<(), std::io::Error> {
    let Some(key) = active().and_then(|keys| keys.of_mapping(mapping)) else {
        return Ok(());
    };
    if pages.is_empty() {
        return Ok(());
    }
    pkru::protect(pages, libc::PROT_READ, key)
}

/// Gives the calling thread read access to both domains' pages if it has access to neither (a
/// thread that has never read the store). A thread confined to a domain ([`confine_to`]) keeps
/// its confinement. Called by every read of a region's pages.
#[inline]
pub(crate) fn ensure_readable() {
    if let Some(keys) = active() {
        let now = pkru::read();
        let none = pkru::access_disabled(keys.ved) | pkru::access_disabled(keys.ued);
        if now & none == none {
            pkru::write(pkru::read_only(pkru::read_only(now, keys.ved), keys.ued));
        }
    }
}

/// While alive, the calling thread may read `domain`'s pages (and those both domains map) and
/// no other store page, and may write none; threads it starts meanwhile inherit that. Dropping it
/// restores what the thread could do before. Not `Send`: the rights belong to the thread.
#[must_use = "the confinement ends when the guard is dropped"]
pub struct Confinement {
    _rights: Restore,
}

/// Puts back the thread's PKRU as it was when dropped (when there was anything to change).
/// Not `Send`: the register belongs to the thread.
struct Restore {
    before: Option<u32>,
    _thread: PhantomData<*const ()>,
}

impl Restore {
    /// Sets the thread's PKRU to `change(keys, now)` where keys apply; puts `now` back on drop.
    fn change(change: impl FnOnce(DomainKeys, u32) -> Option<u32>) -> Restore {
        let before = active().and_then(|keys| {
            let now = pkru::read();
            change(keys, now).map(|new| {
                pkru::write(new);
                now
            })
        });
        Restore {
            before,
            _thread: PhantomData,
        }
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        if let Some(before) = self.before {
            pkru::write(before);
        }
    }
}

/// While alive, the calling thread may read both domains' pages (and write none), whatever it
/// could before: the store's own reads that no domain's confinement governs — an inspection, a
/// commit's planning — so that they answer, not fault, on a thread confined to a domain (or
/// left confined by a guard forgotten or dropped out of order). Restores the rights on drop.
#[must_use = "the rights last until the guard is dropped"]
pub(crate) struct ReadingAll {
    _rights: Restore,
}

/// [`ReadingAll`] for the calling thread: changes nothing (no system call, one register read)
/// where keys do not apply or the thread reads both domains already.
pub(crate) fn reading_all() -> ReadingAll {
    // A thread that never read the store gets its lasting rights first (as any read gives
    // them): this guard widens only a confinement, for its own life.
    ensure_readable();
    let _rights = Restore::change(|keys, now| {
        let either = pkru::access_disabled(keys.ved) | pkru::access_disabled(keys.ued);
        (now & either != 0).then(|| pkru::read_only(pkru::read_only(now, keys.ved), keys.ued))
    });
    ReadingAll { _rights }
}

/// Confines the calling thread to `domain`'s pages for as long as the guard lives: a domain's
/// pass runs under it. Does nothing where keys do not apply. Guards are dropped in the reverse
/// order of their making (each puts back the rights it found); the store's typed reads answer
/// under any confinement — a view's with [`super::StoreError::NotReadable`] for the pages the
/// thread may not read, [`super::Store::inspect`] and the commit reading what they need.
pub fn confine_to(domain: Domain) -> Confinement {
    let _rights = Restore::change(|keys, now| {
        let own = pkru::read_only(now, keys.of(domain));
        Some(pkru::no_access(own, keys.of(domain.other())))
    });
    Confinement { _rights }
}

/// The domain the calling thread is confined to by its rights on the keys (it can read one
/// domain's pages and not the other's); `None` when keys do not apply or it is not confined.
pub fn confined_to() -> Option<Domain> {
    let keys = active()?;
    let now = pkru::read();
    let readable = |domain: Domain| now & pkru::access_disabled(keys.of(domain)) == 0;
    match (readable(Domain::Ved), readable(Domain::Ued)) {
        (true, false) => Some(Domain::Ved),
        (false, true) => Some(Domain::Ued),
        _ => None,
    }
}

/// The PKRU register and the key system calls: two bits per key, "access disabled" (bit 2k)
/// and "write disabled" (bit 2k+1).
mod pkru {
    /// The AD bit of `key`.
    pub(super) const fn access_disabled(key: u32) -> u32 {
        1 << (2 * key)
    }

    pub(super) const fn write_disabled(key: u32) -> u32 {
        1 << (2 * key + 1)
    }

    /// `pkru` with `key` readable and not writable.
    pub(super) const fn read_only(pkru: u32, key: u32) -> u32 {
        (pkru & !access_disabled(key)) | write_disabled(key)
    }

    /// `pkru` with `key` neither readable nor writable.
    pub(super) const fn no_access(pkru: u32, key: u32) -> u32 {
        pkru | access_disabled(key) | write_disabled(key)
    }

    #[cfg(target_arch = "x86_64")]
    pub(super) fn read() -> u32 {
        let pkru: u32;
        // SAFETY: RDPKRU reads the thread's PKRU register; it is only executed once keys were
        // allocated, which the kernel allows only where the CPU has PKU and it enabled it.
        unsafe {
            std::arch::asm!("rdpkru", in("ecx") 0u32, out("eax") pkru, out("edx") _,
                options(nomem, nostack, preserves_flags));
        }
        pkru
    }

    #[cfg(target_arch = "x86_64")]
    pub(super) fn write(pkru: u32) {
        // SAFETY: as for `read`; WRPKRU changes only which keyed pages this thread may access
        // (the asm is not `nomem`: memory accesses must not move across it).
        unsafe {
            std::arch::asm!("wrpkru", in("eax") pkru, in("ecx") 0u32, in("edx") 0u32,
                options(nostack, preserves_flags));
        }
    }

    /// Allocates two keys, the calling thread allowed to read (not write) under both.
    #[cfg(target_arch = "x86_64")]
    pub(super) fn allocate_pair() -> Result<(u32, u32), String> {
        // CPUID.(EAX=7, ECX=0):ECX bit 4, OSPKE: the CPU has keys and the kernel enabled them.
        // Without it pkey_alloc answers ENOSPC (the kernel counts key 0 as the only one), which
        // would read as "no key is free".
        let ospke = std::arch::x86_64::__cpuid_count(7, 0).ecx & (1 << 4) != 0;
        if !ospke {
            return Err("the CPU or kernel offers none (no OSPKE)".into());
        }
        let first = alloc()?;
        match alloc() {
            Ok(second) => Ok((first, second)),
            Err(reason) => {
                // SAFETY: a key this process allocated and tagged nothing with.
                unsafe { libc::syscall(libc::SYS_pkey_free, first as libc::c_long) };
                Err(reason)
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    fn alloc() -> Result<u32, String> {
        /// `PKEY_DISABLE_WRITE`: the allocating thread may read.
        const DISABLE_WRITE: libc::c_long = 2;
        // SAFETY: pkey_alloc(flags = 0, rights) touches no memory of ours.
        let key = unsafe { libc::syscall(libc::SYS_pkey_alloc, 0 as libc::c_long, DISABLE_WRITE) };
        if key >= 0 {
            return Ok(key as u32);
        }
        let error = std::io::Error::last_os_error();
        Err(match error.raw_os_error() {
            Some(libc::ENOSPC) => {
                format!("no key is free in this process (pkey_alloc: {error})")
            }
            _ => format!("the CPU or kernel offers none (pkey_alloc: {error})"),
        })
    }

    /// `pkey_mprotect` over `pages`.
    #[cfg(target_arch = "x86_64")]
    pub(super) fn protect(pages: &[u8], prot: libc::c_int, key: u32) -> std::io::Result<()> {
        // SAFETY: `pages` is a whole mapping of ours (page-aligned, as mmap returned it); the
        // call changes its protection to what it already is, plus the key.
        let done = unsafe {
            libc::syscall(
                libc::SYS_pkey_mprotect,
                pages.as_ptr(),
                pages.len(),
                prot as libc::c_long,
                key as libc::c_long,
            )
        };
        match done {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub(super) fn read() -> u32 {
        0
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub(super) fn write(_pkru: u32) {}

    #[cfg(not(target_arch = "x86_64"))]
    pub(super) fn allocate_pair() -> Result<(u32, u32), String> {
        Err("used on x86-64 only".into())
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub(super) fn protect(_pages: &[u8], _prot: libc::c_int, _key: u32) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_bits() {
        // Key 1: AD is bit 2, WD bit 3; the other keys' bits are untouched.
        let all_off = 0x5555_5554;
        assert_eq!(pkru::read_only(all_off, 1), 0x5555_5558);
        assert_eq!(pkru::no_access(0, 2), 0b11_0000);
        assert_eq!(pkru::access_disabled(15), 1 << 30);
    }

    #[test]
    fn each_domain_tags_the_regions_it_maps_alone() {
        let keys = DomainKeys { ved: 3, ued: 7 };
        assert_eq!(keys.of_mapping(Mapping::RwVed), Some(3));
        assert_eq!(keys.of_mapping(Mapping::RwUed), Some(7));
        assert_eq!(keys.of_mapping(Mapping::RxUed), Some(7));
        assert_eq!(keys.of_mapping(Mapping::RxUedVed), None);
    }

    /// Confinement and the first read's grant, through the register (the faults
    /// themselves are tested in child processes, `engine/tests/protection_keys.rs`).
    #[test]
    fn rights_follow_the_guards() {
        let Ok(keys) = *status() else {
            tandem_kernels::say_skipped!("skipped: {}", summary());
            return;
        };
        // A fresh thread (the kernel's default: no access) is given read access by a read.
        std::thread::spawn(move || {
            pkru::write(pkru::no_access(
                pkru::no_access(pkru::read(), keys.ved),
                keys.ued,
            ));
            ensure_readable();
            let now = pkru::read();
            for key in [keys.ved, keys.ued] {
                assert_eq!(now & pkru::access_disabled(key), 0, "key {key} readable");
                assert_ne!(now & pkru::write_disabled(key), 0, "key {key} not writable");
            }
            assert_eq!(confined_to(), None);
            {
                let _ved = confine_to(Domain::Ved);
                assert_eq!(confined_to(), Some(Domain::Ved));
                // A read does not lift the confinement, and a thread started now inherits it.
                ensure_readable();
                assert_eq!(confined_to(), Some(Domain::Ved));
                let inherited = std::thread::spawn(confined_to).join().unwrap();
                assert_eq!(inherited, Some(Domain::Ved));
                let _ued = confine_to(Domain::Ued);
                assert_eq!(confined_to(), Some(Domain::Ued));
            }
            assert_eq!(pkru::read(), now, "dropping the guards restores the rights");
        })
        .join()
        .unwrap();
    }
}
