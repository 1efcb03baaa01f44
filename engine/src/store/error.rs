//! The store's typed errors. Every error that concerns a file names the file, and every error
//! that concerns a page names its page number, so an operator can find what is wrong.

use std::path::PathBuf;

use crate::account::{Domain, Mapping, Pubkey};

/// Everything that can go wrong in the account store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An operating-system call failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done ("open", "write", "fsync", "map", …).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// `create` found a store already there.
    #[error("{0} already holds a tandem store")]
    AlreadyExists(PathBuf),
    /// `create` was given a directory that holds something other than an interrupted create's
    /// leftovers; it refuses rather than write store files among foreign ones.
    #[error(
        "{path} is not empty (it holds {entry}): a store is created only in a new or empty directory, or over the leftovers of an interrupted create"
    )]
    NotEmpty {
        /// The directory.
        path: PathBuf,
        /// The first foreign entry found.
        entry: String,
    },
    /// A store to be replaced shares its directory with files that are not the store's: only
    /// the store's own files are ever removed, so it is refused.
    #[error(
        "{path} holds {entry}, which is not a file of a store of accounts: only a store's own files are replaced, and a directory holding anything else (a runtime's files, a ledger, a report) is left as it is"
    )]
    NotOnlyAStore {
        /// The directory.
        path: PathBuf,
        /// The first entry that is not the store's.
        entry: String,
    },
    /// Another process is creating a store in the same directory right now.
    #[error("{0}: another process is creating a store there")]
    CreateInProgress(PathBuf),
    /// `open` found no store.
    #[error("{path} is not a tandem store: {reason}")]
    NotAStore {
        /// The directory.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// Another process (or another `Store` in this one) has the store open.
    #[error(
        "{dir} is locked by another open store{} (one process at a time may open a store)",
        .holder.as_deref().map(|h| format!(", {h}")).unwrap_or_default()
    )]
    Locked {
        /// The store's directory.
        dir: PathBuf,
        /// Who holds it, where Linux's `/proc/locks` tells: "held by process 4242 (tandem
        /// store check S)", or "held by this process".
        holder: Option<String>,
    },
    /// A domain view was asked to read an account its domain may not read.
    #[error("{domain} may not read account {pubkey}: it is mapped {mapping}{}", if *.exists { "" } else { " (it does not exist, and accounts that do not exist are rw-ued)" })]
    NotReadable {
        /// The view's domain.
        domain: Domain,
        /// The account.
        pubkey: Pubkey,
        /// Its mapping (rw-ued for an account that does not exist).
        mapping: Mapping,
        /// Whether the account exists.
        exists: bool,
    },
    /// A domain view was asked to write an account its domain may not write.
    #[error("{domain} may not write account {pubkey}: it is mapped {mapping}")]
    NotWritable {
        /// The view's domain.
        domain: Domain,
        /// The account.
        pubkey: Pubkey,
        /// The mapping the write concerns (the account's current one, or the one it would get).
        mapping: Mapping,
    },
    /// An account breaks an invariant of SPEC §1 (executable flag vs mapping, data length).
    #[error("invalid account {pubkey}: {reason}")]
    InvalidAccount {
        /// The account.
        pubkey: Pubkey,
        /// Which invariant.
        reason: String,
    },
    /// A remap that SPEC §5 does not allow.
    #[error("cannot remap account {pubkey}: {reason}")]
    InvalidRemap {
        /// The account.
        pubkey: Pubkey,
        /// Why not.
        reason: String,
    },
    /// A commit for a slot not after the last committed one.
    #[error("slot {slot} cannot be committed after slot {last}: slots must increase")]
    SlotNotIncreasing {
        /// The last committed slot.
        last: u64,
        /// The slot asked for.
        slot: u64,
    },
    /// A file is shorter than its contents require, or not a whole number of pages.
    #[error("{path} is truncated: {reason}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// A page's checksum does not match its bytes.
    #[error(
        "{path}: page {page} is corrupt: checksum mismatch (stored {stored:#018x}, computed {computed:#018x})"
    )]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// The page number.
        page: u64,
        /// The checksum in the page header.
        stored: u64,
        /// The checksum of the page's bytes.
        computed: u64,
    },
    /// A page carries a byte that is not a mapping tag.
    #[error("{path}: page {page} has invalid mapping tag {tag}")]
    InvalidMappingTag {
        /// The file.
        path: PathBuf,
        /// The page number.
        page: u64,
        /// The tag found.
        tag: u8,
    },
    /// A page or record breaks a structural invariant.
    #[error("{path}: page {page} is corrupt: {reason}")]
    CorruptPage {
        /// The file.
        path: PathBuf,
        /// The page number (0 is the region header).
        page: u64,
        /// Which invariant.
        reason: String,
    },
    /// The superblock or the write-ahead log cannot be trusted.
    #[error("{path} is corrupt: {reason}")]
    CorruptFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// What was read back differs from what was committed (found by a verifying reader such as
    /// the demonstration).
    #[error("read-back verification failed: {0}")]
    ReadBackMismatch(String),
    /// A file of the open store was removed (unlinked) from its directory: writes to it reach
    /// no file an open would find, so no commit can be made durable.
    #[error(
        "{path} was removed while the store was open: its commits would reach no file an open \
         finds"
    )]
    Removed {
        /// The file.
        path: PathBuf,
    },
    /// A store opened to read only whose last commit is to be completed from its log.
    #[error(
        "{path}: its last commit (slot {slot}) is to be completed from the write-ahead log, \
         which an open that may not write cannot do: check it where it can be written (any \
         open of an engine completes it)"
    )]
    ReadOnlyRecovery {
        /// The store's directory.
        path: PathBuf,
        /// The slot of the commit to complete.
        slot: u64,
    },
    /// An earlier commit failed half-way; the in-memory state no longer matches the files.
    #[error(
        "the store is unusable after a failed commit ({0}); reopen it to recover the last committed slot"
    )]
    Poisoned(String),
}

impl StoreError {
    /// Whether the error says the files on disk are damaged (as opposed to a bad request or an
    /// OS failure).
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            StoreError::Truncated { .. }
                | StoreError::ChecksumMismatch { .. }
                | StoreError::InvalidMappingTag { .. }
                | StoreError::CorruptPage { .. }
                | StoreError::CorruptFile { .. }
                | StoreError::ReadBackMismatch(_)
        )
    }

    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { op, path, source }
    }
}
