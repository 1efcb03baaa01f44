//! Creating a store, crash-atomically.
//!
//! # What it owns
//!
//! The protocol that turns a new or empty directory into an empty store, such that a kill (or a
//! power loss) at any moment leaves the directory in one of two states only:
//!
//! - **no store**: [`Store::open`] answers [`StoreError::NotAStore`], and [`Store::create`]
//!   succeeds on the directory (this is what `Runtime::open_with` and `tandem replay --store DIR`
//!   rely on: they create a store where `open` finds none);
//! - **a complete store** at "nothing committed", which `open` opens.
//!
//! It never writes into a directory that holds anything but an interrupted create's own files:
//! foreign files are refused ([`StoreError::NotEmpty`]), never clobbered, and a store is never
//! created over a store ([`StoreError::AlreadyExists`]).
//!
//! # The decision: a creation marker, and the superblock renamed into place last
//!
//! The superblock is what makes a directory a store: `open` looks for it first. So it is the one
//! file whose appearance must be atomic. Create:
//!
//! 1. claims the directory: checks it holds no superblock and nothing foreign, creates the
//!    marker file `creating`, locks it (`flock`) and fsyncs the directory;
//! 2. writes the region files and the empty write-ahead log, fsyncing each;
//! 3. writes the superblock, complete, under the name `superblock.new` and fsyncs it and the
//!    directory;
//! 4. renames `superblock.new` to `superblock` and fsyncs the directory — the store now exists;
//! 5. removes the marker.
//!
//! A kill before step 4 leaves the marker beside some of the files of steps 2–3, and no
//! `superblock`: `open` reports "not a store" (its message says a create was interrupted), and the
//! next create recognises the leftovers by the marker and writes them anew. A kill after step 4
//! leaves a complete store, perhaps still with the marker, which `open` removes. Without the
//! marker, store files without a superblock are what a *damaged* store looks like, so create
//! refuses them instead of overwriting what may be someone's accounts.
//!
//! The marker's lock keeps two processes from creating in one directory at once (the second gets
//! [`StoreError::CreateInProgress`]); a marker left by a killed process is unlocked, because the
//! kernel drops a dead process's locks.
//!
//! The alternative — building the store in a sibling temporary directory and renaming the whole
//! directory into place — was rejected: `rename(2)` cannot replace a mount point (an operator's
//! empty volume given as `--store`), it needs write permission on the parent, it replaces the
//! operator's empty directory with a new one (losing its owner and mode), and the stale sibling
//! directories a kill leaves behind need a cleaning rule of their own. The marker keeps every file
//! inside the directory the operator named.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::journal::{self, Counts};
use super::layout::{self, PAGE_SIZE};
use super::{
    SUPERBLOCK_FILE, Store, StoreError, WAL_FILE, create_file, region_file_name, sync_dir, try_lock,
};
use crate::account::Mapping;

/// The creation marker: present while a create is under way or was interrupted.
pub(super) const MARKER_FILE: &str = "creating";
/// The superblock while it is written, before it is renamed into place.
const STAGED_SUPERBLOCK_FILE: &str = "superblock.new";
/// What an ext4 file system keeps at its root: an operator's freshly formatted volume has it.
const LOST_AND_FOUND: &str = "lost+found";

/// The steps of [`Store::create_with_progress`], reported in this order as each completes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CreatePhase {
    /// The directory exists and is claimed for the new store (the creation marker is in place);
    /// no store file is written yet.
    Claimed,
    /// The four region files are written and fsynced.
    RegionsWritten,
    /// The empty write-ahead log exists.
    WalCreated,
    /// The superblock file exists, under its staging name, but holds nothing yet.
    SuperblockCreated,
    /// The superblock is written and fsynced, still under its staging name.
    SuperblockWritten,
    /// The superblock is in place: from here [`Store::open`] finds a complete store.
    InPlace,
}

impl CreatePhase {
    /// Every phase, in the order they happen.
    pub const ALL: [CreatePhase; 6] = [
        CreatePhase::Claimed,
        CreatePhase::RegionsWritten,
        CreatePhase::WalCreated,
        CreatePhase::SuperblockCreated,
        CreatePhase::SuperblockWritten,
        CreatePhase::InPlace,
    ];

    /// The phase's name in logs and test protocols (`regions-written`, …).
    pub fn name(self) -> &'static str {
        match self {
            CreatePhase::Claimed => "claimed",
            CreatePhase::RegionsWritten => "regions-written",
            CreatePhase::WalCreated => "wal-created",
            CreatePhase::SuperblockCreated => "superblock-created",
            CreatePhase::SuperblockWritten => "superblock-written",
            CreatePhase::InPlace => "in-place",
        }
    }
}

impl std::fmt::Display for CreatePhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Store {
    /// Creates an empty store in `dir`: a directory that does not exist yet, one that is empty,
    /// or one that holds what an interrupted create left. Fails if a store is already there
    /// ([`StoreError::AlreadyExists`]) or if anything else is ([`StoreError::NotEmpty`]).
    /// Crash-atomic: see the module `create` for the protocol.
    pub fn create(dir: impl AsRef<Path>) -> Result<Store, StoreError> {
        Store::create_with_progress(dir, |_| {})
    }

    /// [`Store::create`], calling `progress` as each [`CreatePhase`] completes: for tools that
    /// report progress, and for crash tests that kill the process at a chosen phase instead of
    /// after a delay whose meaning depends on the machine's load.
    pub fn create_with_progress(
        dir: impl AsRef<Path>,
        mut progress: impl FnMut(CreatePhase),
    ) -> Result<Store, StoreError> {
        let dir = dir.as_ref();
        let marker = claim(dir)?;
        progress(CreatePhase::Claimed);

        for mapping in Mapping::ALL {
            let path = dir.join(region_file_name(mapping));
            let file = create_file(&path)?;
            let mut page0 = vec![0u8; PAGE_SIZE];
            layout::encode_region_header(mapping, &mut page0);
            std::io::Write::write_all(&mut &file, &page0)
                .map_err(StoreError::io("write", &path))?;
            file.sync_all().map_err(StoreError::io("fsync", &path))?;
        }
        progress(CreatePhase::RegionsWritten);

        let wal_path = dir.join(WAL_FILE);
        create_file(&wal_path)?
            .sync_all()
            .map_err(StoreError::io("fsync", &wal_path))?;
        progress(CreatePhase::WalCreated);

        let staged = dir.join(STAGED_SUPERBLOCK_FILE);
        let superblock = create_file(&staged)?;
        progress(CreatePhase::SuperblockCreated);
        let counts = Counts {
            pages: [1; 4],
            accounts: [0; 4],
        };
        journal::init_superblock(&superblock, &staged, counts)?;
        drop(superblock);
        // Every other file's name must be durable before the superblock can name a store.
        sync_dir(dir)?;
        progress(CreatePhase::SuperblockWritten);

        let super_path = dir.join(SUPERBLOCK_FILE);
        std::fs::rename(&staged, &super_path).map_err(StoreError::io("rename", &staged))?;
        sync_dir(dir)?;
        progress(CreatePhase::InPlace);

        // Not fsynced: a marker that survives a power loss beside a complete store is harmless,
        // and the next open removes it.
        remove_marker(dir)?;
        drop(marker);
        Store::open(dir)
    }
}

/// Step 1: makes sure `dir` exists and may receive a store, then creates and locks the marker.
/// Returns the locked marker; the lock lasts until it is dropped.
fn claim(dir: &Path) -> Result<File, StoreError> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .collect();
    // Made meanwhile by another process creating a store there is no error: its marker
    // decides below.
    crate::files::create_dir_all(dir).map_err(StoreError::io("create directory", dir))?;
    // Each new directory's name must be durable before anything in it is.
    for created in missing.iter().rev() {
        sync_dir(&parent_of(created))?;
    }
    check_claimable(dir)?;
    let path = dir.join(MARKER_FILE);
    let marker = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(StoreError::io("create", &path))?;
    if !try_lock(&marker, &path)? {
        return Err(StoreError::CreateInProgress(dir.to_owned()));
    }
    // Another creator may have finished between the check and the lock.
    if dir.join(SUPERBLOCK_FILE).exists() {
        return Err(StoreError::AlreadyExists(dir.to_owned()));
    }
    // The marker must be durable before any store file, or a power loss could leave store files
    // without it, which is what a damaged store looks like.
    sync_dir(dir)?;
    Ok(marker)
}

/// The names of a store's own files: its regions, its log, its superblock (and the staged one),
/// and the creation marker.
fn store_file_names() -> Vec<String> {
    Mapping::ALL
        .into_iter()
        .map(region_file_name)
        .chain(
            [
                WAL_FILE,
                STAGED_SUPERBLOCK_FILE,
                MARKER_FILE,
                SUPERBLOCK_FILE,
            ]
            .map(str::to_owned),
        )
        .collect()
}

/// The entries of `dir`, by name.
fn entries_of(dir: &Path) -> Result<Vec<String>, StoreError> {
    std::fs::read_dir(dir)
        .and_then(|entries| {
            entries
                .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect::<std::io::Result<Vec<String>>>()
        })
        .map_err(StoreError::io("list", dir))
}

/// Removes the store in `dir` so that a new one can be created there, the directory and a
/// `lost+found` kept: its own files only, and only where it holds nothing else
/// ([`StoreError::NotOnlyAStore`] names the first other entry; nothing is removed then). The
/// caller holds `superblock`, the store's superblock file, locked, and it must be a tandem
/// superblock.
///
/// The creation marker is made (and made durable) before the superblock goes, so that a crash
/// part way leaves what an interrupted create leaves, which the next create completes — not
/// store files without a superblock, which is what a damaged store looks like — and held
/// locked until it is removed, last.
pub(super) fn remove_store(dir: &Path, superblock: &File) -> Result<(), StoreError> {
    journal::read_superblock(superblock, &dir.join(SUPERBLOCK_FILE))?;
    let ours = store_file_names();
    let entries = entries_of(dir)?;
    if let Some(entry) = entries
        .iter()
        .find(|name| !ours.contains(name) && name.as_str() != LOST_AND_FOUND)
    {
        return Err(StoreError::NotOnlyAStore {
            path: dir.to_owned(),
            entry: entry.clone(),
        });
    }
    // Held, as a creator holds it, until it is removed with the rest: a create racing this
    // (`run --store` on the directory) finds a create in progress, not leftovers to claim
    // while their names are still being removed under it.
    let marker_path = dir.join(MARKER_FILE);
    let marker = create_file(&marker_path)?;
    if !try_lock(&marker, &marker_path)? {
        return Err(StoreError::CreateInProgress(dir.to_owned()));
    }
    sync_dir(dir)?;
    remove_if_there(&dir.join(SUPERBLOCK_FILE))?;
    sync_dir(dir)?;
    // The marker last (the names are in that order, and a racing create waits on it).
    for name in ours
        .iter()
        .filter(|n| n.as_str() != SUPERBLOCK_FILE && n.as_str() != MARKER_FILE)
    {
        remove_if_there(&dir.join(name))?;
    }
    remove_if_there(&marker_path)?;
    drop(marker);
    sync_dir(dir)
}

/// Refuses a directory that holds a store, or anything but an interrupted create's leftovers.
fn check_claimable(dir: &Path) -> Result<(), StoreError> {
    if dir.join(SUPERBLOCK_FILE).exists() {
        return Err(StoreError::AlreadyExists(dir.to_owned()));
    }
    let entries = entries_of(dir)?;
    // Looked for after the listing, not before: a creator racing this one makes its marker
    // before any store file and removes it only once its superblock is in place, so a marker
    // here now covers every store file the listing saw (looked for first, a marker made just
    // after was listed as a foreign file: "not empty (it holds creating)", 11 races in 20).
    let interrupted =
        entries.iter().any(|name| name == MARKER_FILE) || dir.join(MARKER_FILE).exists();
    // A racing creator that finished meanwhile (its superblock, once there, stays).
    if dir.join(SUPERBLOCK_FILE).exists() {
        return Err(StoreError::AlreadyExists(dir.to_owned()));
    }
    let leftovers = store_file_names();
    for name in entries {
        let ours = interrupted && leftovers.contains(&name);
        if !ours && name != LOST_AND_FOUND {
            return Err(StoreError::NotEmpty {
                path: dir.to_owned(),
                entry: name,
            });
        }
    }
    Ok(())
}

/// What [`Store::open`] does with a marker beside a complete store (a create killed after its
/// superblock was in place): removes it, unless a creator still holds it (it is about to remove
/// it itself).
pub(super) fn remove_finished_marker(dir: &Path) -> Result<(), StoreError> {
    let path = dir.join(MARKER_FILE);
    let marker = match File::open(&path) {
        Ok(marker) => marker,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StoreError::io("open", &path)(e)),
    };
    if try_lock(&marker, &path)? {
        remove_marker(dir)?;
    }
    Ok(())
}

/// Why [`Store::open`] found no superblock, for its [`StoreError::NotAStore`].
pub(super) fn missing_superblock_reason(dir: &Path) -> String {
    // Said as what it is: a path to nowhere read "no superblock file" (stop 74).
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return "no such directory".to_owned();
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
            return "no such directory (the path goes through a file)".to_owned();
        }
        _ => {}
    }
    if let Some(what) = crate::files::not_a_directory(dir) {
        return what;
    }
    if dir.join(MARKER_FILE).exists() {
        format!(
            "no {SUPERBLOCK_FILE} file: a store is being created here, or its creation was \
             interrupted (the marker {MARKER_FILE} is there); once no process creates it, \
             creating the store again completes it"
        )
    } else {
        format!("no {SUPERBLOCK_FILE} file")
    }
}

fn remove_marker(dir: &Path) -> Result<(), StoreError> {
    remove_if_there(&dir.join(MARKER_FILE))
}

/// Removes the file `path`; one already gone is no error.
fn remove_if_there(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(StoreError::io("remove", path)(e))
        }
        _ => Ok(()),
    }
}

/// The directory that holds `dir` (`.` for a bare relative name).
fn parent_of(dir: &Path) -> PathBuf {
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    }
}
