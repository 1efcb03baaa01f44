//! The runtime's files beside a store — the state file of the committed slot, the status files,
//! the cluster view's index, the vote log and the VED log — checked as
//! [`Runtime::open`](super::Runtime::open) reads them, without opening the runtime (no genesis needed) and
//! without changing a file (a crash's short tail is left for the open to cut): `tandem store
//! check` vouches for a store an engine can resume, not only for its pages.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::state::{RuntimeState, WindowFrom, numbered_files};
use super::status_index::{self, StatusIndex};
use super::ved_log::VedLog;
use super::vote_log::{self, VoteLog};
use super::{RuntimeError, ved_log};
use crate::account::Domain;

/// What [`check_files`] read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FilesReport {
    /// The slot of the state file read: the store's committed slot.
    pub slot: u64,
    /// Status files read (the index `tandem status` answers from, and the duplicate window's
    /// source), each whole.
    pub status_files: usize,
    /// Records of the vote log (the cluster view's source after a restart).
    pub vote_log_records: usize,
    /// Slots a stopped engine's VED log holds past the store's slot, chained from it.
    pub ved_logged_slots: usize,
}

/// The duplicate window's shape the state file of the committed slot `committed` of the store
/// directory `dir` recorded, to check the status files against ([`check_window`]), and the VED
/// hash of that slot, which the VED's log must chain from ([`VedLog::check_chain`]); a missing
/// state file is an error naming it. A reader beside a running engine reads it first: the
/// engine keeps the state file of its last commit alone, and the status files of a window for
/// a whole window more.
pub fn window_and_ved_hash_of_state(
    dir: &Path,
    committed: u64,
) -> Result<(WindowFrom, [u8; 32]), RuntimeError> {
    let (state, window, _) = RuntimeState::load(dir, committed)?;
    Ok((window, state.hashes.hash[Domain::Ved]))
}

/// The status files of the duplicate window after the committed slot `committed` of the store
/// directory `dir` checked against `window`, the state file's record of it (blocks, first slot,
/// signatures): a status file removed or damaged is an error naming the state file. The status
/// files answer `ExecutionStatus`, so without this check a removed one answers its
/// transactions `Unknown`; `tandem status`, beside a running engine, reads the state file
/// first ([`window_and_ved_hash_of_state`]) and the status files after.
pub fn check_window(dir: &Path, committed: u64, window: WindowFrom) -> Result<(), RuntimeError> {
    if let WindowFrom::StatusFiles(shape) = window {
        status_index::signature_window_of_shape(dir, committed, shape)?;
    }
    Ok(())
}

/// Whether the store directory `dir` holds any of a runtime's files: none where only accounts
/// were committed (`tandem store demo`), or nothing at all.
pub fn has_runtime_files(dir: &Path) -> Result<bool, RuntimeError> {
    Ok(runtime_files(dir)?.any())
}

/// The numbered files of a runtime in a store directory.
struct RuntimeFiles {
    states: Vec<(u64, PathBuf)>,
    statuses: Vec<(u64, PathBuf)>,
    logs: Vec<Vec<(u64, PathBuf)>>,
    agreement: bool,
}

impl RuntimeFiles {
    fn any(&self) -> bool {
        !self.states.is_empty()
            || !self.statuses.is_empty()
            || self.logs.iter().any(|l| !l.is_empty())
            || self.agreement
    }
}

fn runtime_files(dir: &Path) -> Result<RuntimeFiles, RuntimeError> {
    let io = |source| RuntimeError::Io {
        path: dir.to_owned(),
        source,
    };
    let logs = [vote_log::KIND.prefix, ved_log::KIND.prefix]
        .into_iter()
        .map(|prefix| numbered_files(dir, prefix, ".log").map_err(io))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RuntimeFiles {
        states: numbered_files(dir, "runtime-", ".state").map_err(io)?,
        statuses: numbered_files(dir, "status-", ".idx").map_err(io)?,
        logs,
        agreement: dir.join("agreement.idx").exists(),
    })
}

/// Checks the runtime's files in the store directory `dir`, whose store has committed
/// `committed`: `None` where there are none (a store of accounts alone, as `tandem store demo`
/// writes, or one that never committed), else what was read; an error names the file
/// [`Runtime::open`](super::Runtime::open) would refuse.
pub fn check_files(
    dir: &Path,
    committed: Option<u64>,
) -> Result<Option<FilesReport>, RuntimeError> {
    let files = runtime_files(dir)?;
    let Some(slot) = committed.filter(|_| files.any()) else {
        return Ok(None);
    };
    // The state file of the committed slot (a missing one is an error naming it), and the
    // duplicate window the status files must give it.
    let (state, window, _) = RuntimeState::load(dir, slot)?;
    check_window(dir, slot, window)?;
    // Every status file of a committed slot whole, and the cluster view's index.
    StatusIndex::load(dir, slot)?;
    let vote_log_records = VoteLog::check(dir, Some(slot))?;
    let logged = VedLog::read(dir, slot)?;
    VedLog::check_chain(dir, &logged, state.hashes.hash[Domain::Ved])?;
    Ok(Some(FilesReport {
        slot,
        status_files: files.statuses.iter().filter(|(s, _)| *s <= slot).count(),
        vote_log_records,
        ved_logged_slots: logged.len(),
    }))
}
