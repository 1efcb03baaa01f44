//! Files written whole: what a command writes for people and other programs (reports, profiles,
//! ledgers) replaces the file at once, so that a failure part way — a full disk, a limit, a
//! crash — leaves the previous file as it was, never a part of the new one. And files read whole
//! (a genesis, a profile) within a bound, so that a wrong path (`/dev/zero`) is an error, not a
//! process that grows until memory runs out.
//!
//! The files beside the store that are replaced whole each slot (status files, confirmations,
//! the halt) are written through [`write_whole`] too; the store's pages and logs have their own
//! discipline (`store`, `runtime::segment_log`).
//!
//! Every large write here, in the store and in the runtime's logs goes to the kernel in pieces
//! of at most [`WRITE_PIECE`] bytes ([`write_pieces`], [`write_pieces_at`]): a kernel built
//! without preemption inside it (`preempt=none`, as some cloud guests run) lets a thread in one
//! system call keep its core until the call returns, and the UED's 1.6 MB status file written
//! in one `write` held the VED's core for 10–89 ms on such a guest
//! (`docs/measurements/issue-10.md`).
//! Between two pieces the thread is back in user space, where the scheduler can give the core
//! to the VED.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// [`std::fs::create_dir_all`], where `dir` is no directory saying what it is instead of the
/// OS's "File exists": a file, a symbolic link to a file or to nowhere, a loop of links. A
/// directory another process made meanwhile is no error.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    match std::fs::create_dir_all(dir) {
        Err(_) if std::fs::metadata(dir).is_ok_and(|m| m.is_dir()) => Ok(()),
        Err(e) => {
            let kind = e.kind();
            Err(not_a_directory(dir).map_or(e, |why| io::Error::new(kind, why)))
        }
        Ok(()) => Ok(()),
    }
}

/// What `dir` is where it is no directory: a file, a symbolic link that leads nowhere or round
/// in a loop (`None`: nothing of the sort, the OS's error says).
pub(crate) fn not_a_directory(dir: &Path) -> Option<String> {
    let link = std::fs::symlink_metadata(dir).ok()?;
    if !link.file_type().is_symlink() {
        return (!link.is_dir()).then(|| "a file, not a directory".to_owned());
    }
    let target = std::fs::read_link(dir).ok()?;
    Some(match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => return None,
        Ok(_) => format!(
            "a symbolic link to {}, a file, not a directory",
            target.display()
        ),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => "a loop of symbolic links".to_owned(),
        Err(_) => format!(
            "a symbolic link to {}, which does not exist (or cannot be reached)",
            target.display()
        ),
    })
}

/// Whether `found` (a file's first bytes) is a magic of the family of `known` (its formats,
/// newest first, one family: their first seven bytes; not empty) that none of them is —
/// another tandem's format, a newer build's after a downgrade, not damage: the eighth byte,
/// the format's number, a letter or digit (any other byte there is damage).
pub fn another_format(found: &[u8], known: &[&[u8; 8]]) -> bool {
    match (found.get(..8), known.first()) {
        (Some(magic), Some(newest)) => {
            magic.starts_with(&newest[..7])
                && magic[7].is_ascii_alphanumeric()
                && !known.iter().any(|k| magic == &k[..])
        }
        _ => false,
    }
}

/// Why a file whose first eight bytes are none of the `known` magics (as [`another_format`]
/// takes them) cannot be read: another tandem's format is named as such; any other magic is a
/// foreign or damaged file ("bad magic"). Before stop 73 only the runtime state files told the
/// two apart, and an older build called a newer build's logs and indexes damaged (an upgrade
/// test of that stop), which could send an operator to a backup instead of the newer binary.
pub fn unknown_format(found: &[u8], known: &[&[u8; 8]], what: &str) -> String {
    if !another_format(found, known) {
        return format!("not a {what} (bad magic)");
    }
    let names: Vec<String> = known.iter().map(|m| m.escape_ascii().to_string()).collect();
    let reads = match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.concat(),
    };
    format!(
        "a {what} of format {}, which this build does not read (it reads {reads}): written by \
         another tandem",
        found[..8].escape_ascii()
    )
}

/// Takes an exclusive `flock` on `file` without waiting: whether it was taken (`false`: another
/// open file holds it). The store's lock and the command's scratch directories take it.
pub fn try_lock(file: &File) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file descriptor `file` owns; no memory is passed.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EWOULDBLOCK) => Ok(false),
        _ => Err(err),
    }
}

/// Where the new contents of `path` are written before they replace it: beside it (a rename
/// stays on one file system), named for this process (two processes writing the same file each
/// write their own; the last rename wins).
pub fn partial_path(path: &Path) -> PathBuf {
    path.with_file_name(format!("{}{}", partial_prefix(path), std::process::id()))
}

/// The process number a partial file's name ends with ([`partial_path`]), if it is one.
pub fn partial_pid(name: &str) -> Option<u32> {
    let (_, pid) = name.rsplit_once(".partial-")?;
    (!pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
        .then(|| pid.parse().ok())
        .flatten()
}

/// Whether a process `pid` runs (Linux's `/proc`; elsewhere every one is taken to, and its
/// partial files kept).
pub fn process_alive(pid: u32) -> bool {
    !cfg!(target_os = "linux") || Path::new("/proc").join(pid.to_string()).exists()
}

/// The longest file name the file systems tandem writes to take (Linux's `NAME_MAX`).
const NAME_MAX: usize = 255;

/// The name of `path`'s partial files up to the process number: `.<name>.partial-`; for a name
/// too long to take 20 bytes more, its first bytes and a hash of the whole (`.<first
/// bytes>~<16 hex digits>.partial-`): a file named near `NAME_MAX` could not be written at
/// all ("File name too long", of a partial file the user never named).
fn partial_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // '.', ".partial-" and a process number of up to 10 digits.
    const ROOM: usize = 1 + 9 + 10;
    if name.len() + ROOM <= NAME_MAX {
        return format!(".{name}.partial-");
    }
    let hash = xxhash_rust::xxh3::xxh3_64(name.as_bytes());
    let mut keep = NAME_MAX - ROOM - 17; // '~' and 16 hex digits
    while !name.is_char_boundary(keep) {
        keep -= 1;
    }
    format!(".{}~{hash:016x}.partial-", &name[..keep])
}

/// Removes the partial files ([`partial_path`]) a killed process left in `dir`, and says how
/// many: each kill in a replace left one (a status file's 1.6 MB, every crash), and the next
/// process, another PID, never wrote over it. Only for a directory whose writer holds it alone
/// (a store, under its lock): another writer's file in progress would be removed too.
pub fn remove_partials(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let partial = name.starts_with('.') && partial_pid(&name).is_some();
        if partial && entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Writes `path` through `write` into [`partial_path`], flushes and fsyncs it, and renames it
/// over `path`. On any error the partial file is removed and `path` is untouched.
///
/// The rename is durable only once the directory is synced, which this does not do: a caller
/// whose file must outlive a power cut syncs the directory after (the runtime's state save does,
/// before the store's log, which makes the slot's status file rename durable with it).
///
/// A path that names no regular file — `/dev/null`, a pipe — or names an open descriptor —
/// `/dev/stdout`, `/proc/self/fd/2`, whatever file it has open — is written in place (nothing
/// can be renamed over a device: as root the rename would put a regular file where the device
/// was; nor over a descriptor's file, the caller's stream): `write` is given `path` itself
/// then, and a `write` that opens it to truncate cuts what the stream held — a caller whose
/// path may name a descriptor writes through [`open_stream`] instead (`tandem gen` does). A
/// symbolic link to a file is followed: its target is replaced, the link stays.
pub fn replace<T>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<T, String>,
) -> Result<T, String> {
    let written = replace_with(path, write, |e| {
        format!("cannot write {}: {e}", path.display())
    })?;
    // A command's output (not the files beside a store, written every slot through
    // `write_whole`: their directory is the store's, swept at open by `remove_partials`).
    forget_dead_partials(path);
    Ok(written)
}

/// Replaces `path` with `bytes` ([`replace`]), written in [`write_pieces`]; the OS's error as
/// it is (the store directory's files, written through it too, name their path in their own
/// error type).
///
/// Where the file system can (Linux's `O_TMPFILE`: ext4, XFS, Btrfs, tmpfs), the bytes are
/// written and synced into a file with no name (`write_unnamed`), which a process killed
/// meanwhile leaves nowhere — the kernel frees it — and only then named as the partial file
/// and renamed over `path`: a status file's partial was left in the store by 6 of 39 signals
/// to `run --store`, a `kill -9` anywhere in the write too, for the next open to remove.
pub fn write_whole(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_whole_through(path, |file| write_pieces(file, bytes))
}

/// [`write_whole`], with the bytes written by `write` (twice where the unnamed file could not
/// be named: then through a named partial file).
fn write_whole_through(
    path: &Path,
    mut write: impl FnMut(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    if let Some(descriptor) = named_descriptor(path) {
        // The caller's stream: written where it stands (a truncating open would cut what it
        // holds, the command's own table before its report included).
        return write_to_stream(path, descriptor, &mut write);
    }
    if let Some(target) = replaced_file(path)
        && write_unnamed(&target, &mut write)?
    {
        return Ok(());
    }
    replace_with(
        path,
        |partial| {
            File::create(partial)
                .map_err(|e| of_the_partial(partial, e))
                .and_then(|mut f| write(&mut f))
        },
        |e| e,
    )
}

/// `e`, an error making `partial` (a partial file, [`partial_path`]), naming it: the caller
/// names the file it replaces, and the partial's path can fail where that one does not (its
/// name is longer: near `PATH_MAX`, "File name too long" of a path the user saw to be short
/// enough).
fn of_the_partial(partial: &Path, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("its partial file {}: {e}", partial.display()),
    )
}

/// Writes a file with no name in `path`'s directory (`O_TMPFILE`) through `write`, syncs it,
/// links it as `path`'s partial file ([`partial_path`]) and renames that over `path`.
/// `Ok(false)`, having changed nothing, where the file system or the kernel makes no unnamed
/// files, or where one cannot be linked (`/proc` missing and the process without the right
/// to link a descriptor): [`replace`]'s way serves then. On an error the unnamed file goes
/// with its descriptor, the partial file is removed and `path` is untouched.
fn write_unnamed(
    path: &Path,
    write: &mut impl FnMut(&mut File) -> io::Result<()>,
) -> io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::fd::AsRawFd;
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::OpenOptionsExt;

        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        // Mode 0666 less the umask, as `File::create` gives the named partial file.
        let Ok(mut file) = std::fs::OpenOptions::new()
            .write(true)
            .mode(0o666)
            .custom_flags(libc::O_TMPFILE)
            .open(dir)
        else {
            // No unnamed files here (EOPNOTSUPP; EISDIR from a kernel before 3.11), or a
            // directory that refuses any file: the named way says which.
            return Ok(false);
        };
        write(&mut file)?;
        file.sync_all()?;
        let partial = partial_path(path);
        let partial_c = CString::new(partial.as_os_str().as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let proc_fd = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))
            .expect("no NUL in a number");
        let link = || {
            // SAFETY: both strings are NUL-terminated and live across the calls; the
            // descriptor is `file`'s, open.
            let linked = unsafe {
                libc::linkat(
                    libc::AT_FDCWD,
                    proc_fd.as_ptr(),
                    libc::AT_FDCWD,
                    partial_c.as_ptr(),
                    libc::AT_SYMLINK_FOLLOW,
                ) == 0
                    || libc::linkat(
                        file.as_raw_fd(),
                        c"".as_ptr(),
                        libc::AT_FDCWD,
                        partial_c.as_ptr(),
                        libc::AT_EMPTY_PATH,
                    ) == 0
            };
            if linked {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        };
        let linked = match link() {
            // A partial file of this process number that a killed run left: written over, as
            // the named way writes over it.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                std::fs::remove_file(&partial)?;
                link()
            }
            other => other,
        };
        if linked.is_err() {
            return Ok(false);
        }
        if let Err(e) = std::fs::rename(&partial, path) {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        Ok(true)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (path, write);
        Ok(false)
    }
}

/// The most bytes one write system call is given: 128 KiB, written in well under a millisecond
/// where the kernel's page cache has room, and few enough calls (13 for a 1.6 MB status file)
/// that their cost does not show.
pub const WRITE_PIECE: usize = 128 * 1024;

/// Writes all of `bytes` to `out`, each [`WRITE_PIECE`] in its own call, so that a long write
/// returns to user space — where a kernel without preemption can reschedule — between pieces.
pub fn write_pieces(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    bytes
        .chunks(WRITE_PIECE)
        .try_for_each(|piece| out.write_all(piece))
}

/// Writes all of `bytes` at byte `at` of `file` (`pwrite`), each [`WRITE_PIECE`] in its own
/// call, as [`write_pieces`] does.
pub fn write_pieces_at(file: &impl FileExt, bytes: &[u8], at: u64) -> io::Result<()> {
    let mut offset = at;
    for piece in bytes.chunks(WRITE_PIECE) {
        file.write_all_at(piece, offset)?;
        offset += piece.len() as u64;
    }
    Ok(())
}

/// The file [`replace`] renames its partial file over: `path`, or a symbolic link's target;
/// `None` for a path that names no regular file, or names an open descriptor's
/// ([`through_a_descriptor`]), written in place.
fn replaced_file(path: &Path) -> Option<PathBuf> {
    if through_a_descriptor(path) {
        return None;
    }
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => return None,
        _ => {}
    }
    Some(match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
        }
        _ => path.to_owned(),
    })
}

/// Whether `path`, or a symbolic link on the way to its file, names an open descriptor
/// (`/dev/stdout`, `/dev/stderr`, `/dev/fd/N`, `/proc/<pid>/fd/N`) instead of a file by its
/// own name: whatever file the descriptor has open — a redirection's (`2>>app.log`) — is the
/// caller's stream, written in place, never replaced. Before stop 73 `--json /dev/stderr`
/// followed the links to `app.log` and renamed the report over it: the log was gone (a
/// black-box test of paths).
fn through_a_descriptor(path: &Path) -> bool {
    named_descriptor(path).is_some()
}

/// The descriptor `path` names ([`through_a_descriptor`]): `Some(Some(fd))` one of this
/// process's, `Some(None)` another process's, `None` none.
fn named_descriptor(path: &Path) -> Option<Option<i32>> {
    use std::path::Component;
    let own_pid = std::process::id().to_string();
    let named = |p: &Path| -> Option<Option<i32>> {
        if !p.has_root() {
            return None;
        }
        let parts: Vec<&str> = p
            .components()
            .filter_map(|c| match c {
                Component::Normal(name) => Some(name.to_str().unwrap_or("\u{fffd}")),
                _ => None,
            })
            .collect();
        let number = |n: &str| n.parse::<i32>().ok();
        let own = |who: &str| who == "self" || who == "thread-self" || who == own_pid;
        match parts.as_slice() {
            ["dev", "stdin"] => Some(Some(0)),
            ["dev", "stdout"] => Some(Some(1)),
            ["dev", "stderr"] => Some(Some(2)),
            ["dev", "fd", n] => Some(number(n)),
            ["proc", who, "fd", n] | ["proc", who, "task", _, "fd", n] if own(who) => {
                Some(number(n))
            }
            ["proc", .., "fd", _] => Some(None),
            _ => None,
        }
    };
    let mut hop = path.to_path_buf();
    // As the kernel follows links: at most 40 of them.
    for _ in 0..40 {
        if let Some(descriptor) = named(&hop) {
            return Some(descriptor);
        }
        match std::fs::read_link(&hop) {
            Ok(target) => {
                let from = hop.parent().unwrap_or(Path::new("/"));
                hop = from.join(target);
            }
            Err(_) => return None,
        }
    }
    None
}

/// Writes through `write` to the stream `path` names, `descriptor` ([`named_descriptor`]): one
/// of this process's descriptors through a duplicate of it — one file position with everything
/// else the process writes there (standard output flushed first), so that nothing written
/// before or after is written over; another process's (`None`) opened to append.
fn write_to_stream(
    path: &Path,
    descriptor: Option<i32>,
    write: &mut impl FnMut(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let mut stream = stream_of(path, descriptor)?;
    write(&mut stream)?;
    stream.flush()
}

/// The stream `path` names where it names a descriptor (`/dev/stdout`, `/dev/fd/N`,
/// `/proc/self/fd/N`, another process's), to be written where it stands as [`write_whole`]
/// writes it — never opened to truncate, which cut what the stream held (`tandem gen --out
/// /dev/stdout >> f` wrote its ledger over f's start); `None` where `path` names no
/// descriptor.
pub fn open_stream(path: &Path) -> io::Result<Option<File>> {
    named_descriptor(path)
        .map(|descriptor| stream_of(path, descriptor))
        .transpose()
}

/// Whether `path` names a descriptor (`/dev/stdout`, `/dev/fd/N`, `/proc/<pid>/fd/N`, through
/// links too): a stream, not a file a later command can read again by that name.
pub fn names_a_stream(path: &Path) -> bool {
    named_descriptor(path).is_some()
}

/// [`write_to_stream`]'s stream.
fn stream_of(path: &Path, descriptor: Option<i32>) -> io::Result<File> {
    Ok(match descriptor {
        Some(fd) => {
            use std::os::fd::FromRawFd;
            io::stdout().flush()?;
            // SAFETY: fcntl duplicates `fd` where it is open (EBADF where not) and touches
            // nothing else.
            let duplicate = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
            if duplicate < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: a descriptor fcntl just made, owned by nothing else.
            unsafe { File::from_raw_fd(duplicate) }
        }
        None => std::fs::OpenOptions::new().append(true).open(path)?,
    })
}

/// Fails as [`replace`] would when it creates its partial file for `path` (a directory that
/// does not let it, a name too long with the partial's suffix), creating and removing that file:
/// checked before a command starts its work. (Whether `path` itself may be written is the
/// caller's check: a device is written in place.)
pub fn check_replaceable(path: &Path) -> io::Result<()> {
    let Some(target) = replaced_file(path) else {
        return Ok(());
    };
    let partial = partial_path(&target);
    // As the write will (one a killed run of the same process id left is written over).
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&partial)?;
    std::fs::remove_file(&partial)
}

/// [`replace`], with `io_error` making the caller's error of the sync's or the rename's.
fn replace_with<T, E>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<T, E>,
    io_error: impl FnOnce(io::Error) -> E,
) -> Result<T, E> {
    let Some(target) = replaced_file(path) else {
        return write(path);
    };
    let path = target.as_path();
    let partial = partial_path(path);
    let written = write(&partial).and_then(|value| {
        File::open(&partial)
            .and_then(|f| f.sync_all())
            .and_then(|()| std::fs::rename(&partial, path))
            .map_err(io_error)?;
        Ok(value)
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// Removes the partial files of `path` ([`partial_path`]) that processes no longer running left
/// (a `kill -9` while a report or a ledger was written left one for good, 17 MB of a 37 MB
/// report); another process's still being written is kept. Best effort, and only where
/// Linux's `/proc` tells which processes run (a writer in another PID namespace, or on
/// another host of a network file system, looks gone: its partial file would be removed, and
/// its rename fail).
pub fn forget_dead_partials(path: &Path) {
    let Some(dir) = path.parent() else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = partial_prefix(path);
    if !cfg!(target_os = "linux") {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let entry_name = entry.file_name();
        let ours = entry_name
            .to_str()
            .filter(|n| n.starts_with(&prefix))
            .and_then(partial_pid);
        let dead = ours.is_some_and(|pid| !process_alive(pid));
        if dead && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Reads the file at `path` whole, refusing one longer than `limit` bytes — or endless, as
/// `/dev/zero` — with an error that says so, after reading at most `limit + 1` bytes.
pub fn read_bounded(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    File::open(path)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("longer than {limit} bytes, more than a file of its kind holds"),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::os::unix::fs::OpenOptionsExt;

    #[test]
    fn a_partial_file_the_os_refuses_is_named() {
        // Near `PATH_MAX` a status file's write failed "File name too long", naming the file,
        // whose path was short enough: its partial file's was not (a black-box test of paths,
        // stop 73).
        const PATH_MAX: usize = 4096; // Linux's, its NUL included
        let base = tempfile::tempdir().unwrap();
        let name = "status-1.idx";
        let mut dir = base.path().to_owned();
        // The file's path 4,090 bytes long; its partial's (".status-1.idx.partial-<pid>")
        // beyond `PATH_MAX`.
        let want = PATH_MAX - 6 - 1 - name.len();
        while dir.as_os_str().len() < want {
            let room = want - dir.as_os_str().len() - 1; // its '/'
            dir.push("d".repeat(room.min(200)));
        }
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        assert!(
            path.as_os_str().len() < PATH_MAX,
            "the file's path itself is allowed"
        );
        assert!(partial_path(&path).as_os_str().len() >= PATH_MAX);
        let err = write_whole(&path, b"x").unwrap_err();
        assert_eq!(err.raw_os_error(), None, "wrapped: {err}");
        let said = err.to_string();
        let partial = partial_path(&path).display().to_string();
        assert!(
            said.starts_with(&format!("its partial file {partial}: ")),
            "{said}"
        );
        assert!(said.contains("too long"), "{said}");
        assert!(!path.exists());
    }

    #[test]
    fn a_descriptors_file_is_added_to_in_place_never_replaced() {
        // `--json /dev/stderr 2>>app.log` renamed the report over app.log (stop 73).
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        std::fs::write(&log, b"an old line\n").unwrap();
        let inode = std::fs::metadata(&log).unwrap().ino();
        let held = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        let through_fd = PathBuf::from(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&held)
        ));
        let link = dir.path().join("stream");
        std::os::unix::fs::symlink(&through_fd, &link).unwrap();
        write_whole(&through_fd, b"the report\n").unwrap();
        write_whole(&link, b"again\n").unwrap();
        assert_eq!(
            std::fs::read(&log).unwrap(),
            b"an old line\nthe report\nagain\n"
        );
        assert_eq!(
            std::fs::metadata(&log).unwrap().ino(),
            inode,
            "not replaced"
        );
        for (path, names) in [
            ("/dev/stdout", true),
            ("/dev/stderr", true),
            ("/dev/fd/3", true),
            ("/proc/self/fd/1", true),
            ("/proc/12/task/13/fd/2", true),
            ("/dev/shm/report.json", false),
            ("/proc/self/status", false),
            ("dev/stdout", false),
        ] {
            assert_eq!(through_a_descriptor(Path::new(path)), names, "{path}");
        }
        // A file of its own name is still replaced whole.
        let own = dir.path().join("own.json");
        std::fs::write(&own, b"old").unwrap();
        write_whole(&own, b"new").unwrap();
        assert_eq!(std::fs::read(&own).unwrap(), b"new");
    }

    #[test]
    fn a_format_of_the_family_is_named_and_a_foreign_magic_is_bad() {
        let known: [&[u8; 8]; 2] = [b"TNDMXYZ2", b"TNDMXYZ1"];
        let newer = unknown_format(b"TNDMXYZ3 and more", &known, "thing");
        assert_eq!(
            newer,
            "a thing of format TNDMXYZ3, which this build does not read (it reads TNDMXYZ2 and \
             TNDMXYZ1): written by another tandem"
        );
        assert!(another_format(b"TNDMXYZa", &known[..1]));
        assert!(!another_format(b"TNDMXYZ2", &known) && !another_format(b"TNDMXYZ3", &[]));
        // A format's number is a letter or digit: another byte there, or a cut file, is
        // damage; so is a magic of another family.
        for foreign in [
            &b"TNDMXY"[..],
            b"TNDMXYZ\xff",
            b"TNDMXYZ\0",
            b"\0\0\0\0\0\0\0\0",
            b"ELF\x7f1234",
        ] {
            assert!(!another_format(foreign, &known));
            assert_eq!(
                unknown_format(foreign, &known, "thing"),
                "not a thing (bad magic)"
            );
        }
    }

    /// A writer that takes at most `short` bytes a call (as a kernel may) and records each
    /// call's length and offset, and the bytes where they went.
    #[derive(Default)]
    struct Recorder {
        short: usize,
        calls: RefCell<Vec<(u64, usize)>>,
        bytes: RefCell<Vec<u8>>,
    }

    impl Recorder {
        fn take(&self, buf: &[u8], at: u64) -> usize {
            let n = buf.len().min(self.short);
            self.calls.borrow_mut().push((at, buf.len()));
            let mut bytes = self.bytes.borrow_mut();
            let end = at as usize + n;
            if bytes.len() < end {
                bytes.resize(end, 0);
            }
            bytes[at as usize..end].copy_from_slice(&buf[..n]);
            n
        }
    }

    impl Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let at = self.bytes.borrow().len() as u64;
            Ok(self.take(buf, at))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl FileExt for Recorder {
        fn read_at(&self, _: &mut [u8], _: u64) -> io::Result<usize> {
            unreachable!("only written")
        }
        fn write_at(&self, buf: &[u8], at: u64) -> io::Result<usize> {
            Ok(self.take(buf, at))
        }
    }

    #[test]
    fn a_large_write_goes_to_the_kernel_in_pieces_and_whole() {
        let bytes: Vec<u8> = (0..1_638_032u32).map(|i| (i * 7 + i / 251) as u8).collect();
        // Whole calls: 12 full pieces and the rest; then a writer that takes 100,000 bytes a
        // call (the rest of a piece goes in the next call, never more than a piece).
        for short in [usize::MAX, 100_000] {
            let mut out = Recorder {
                short,
                ..Recorder::default()
            };
            write_pieces(&mut out, &bytes).unwrap();
            let at = Recorder {
                short,
                bytes: RefCell::new(vec![0xee; 5]),
                ..Recorder::default()
            };
            write_pieces_at(&at, &bytes, 5).unwrap();
            for (recorder, from) in [(&out, 0), (&at, 5)] {
                let calls = recorder.calls.borrow();
                assert!(
                    calls.iter().all(|&(_, len)| len <= WRITE_PIECE),
                    "{calls:?}"
                );
                assert_eq!(calls[0].0, from);
                assert_eq!(&recorder.bytes.borrow()[from as usize..], &bytes[..]);
                if short == usize::MAX {
                    assert_eq!(calls.len(), bytes.len().div_ceil(WRITE_PIECE));
                }
            }
        }
        // Nothing to write: no call.
        let mut out = Recorder::default();
        write_pieces(&mut out, &[]).unwrap();
        assert!(out.calls.borrow().is_empty());
    }

    #[test]
    fn a_partial_file_a_killed_run_left_does_not_fail_the_check() {
        // A run killed while writing, with this process id (PID 1 in a container, every time):
        // the write would replace its partial file, and the check refused the report.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(partial_path(&path), b"half a report").unwrap();
        check_replaceable(&path).expect("the write would succeed");
        assert!(!partial_path(&path).exists(), "nothing left behind");
        assert!(!path.exists());
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_partial_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write_whole(&path, b"old").unwrap();
        let failed = replace(&path, |partial| -> Result<(), String> {
            std::fs::write(partial, b"half of the ne").unwrap();
            Err("the disk is full".into())
        });
        assert_eq!(failed, Err("the disk is full".into()));
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["report.json"], "no partial file left");
        write_whole(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn a_write_removes_the_partial_files_dead_processes_left_and_keeps_a_live_ones() {
        // A `kill -9` while a report was written left its partial file for good.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        // No process has a number past the kernel's limit (at most 2^22); process 1 runs.
        let dead = dir.path().join(".report.json.partial-4294967295");
        let live = dir.path().join(".report.json.partial-1");
        let other = dir.path().join(".other.json.partial-4294967295");
        for file in [&dead, &live, &other] {
            std::fs::write(file, b"half").unwrap();
        }
        replace(&path, |partial| {
            std::fs::write(partial, b"new").map_err(|e| e.to_string())
        })
        .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert!(!dead.exists(), "a dead process's partial file is removed");
        assert!(live.exists(), "a running process's is kept");
        assert!(
            other.exists(),
            "another file's is not this write's to remove"
        );
    }

    /// The names in `dir`, sorted.
    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_file_written_whole_has_no_name_until_it_is_written_and_synced() {
        // A signal or a `kill -9` while a status file was written left its partial file in the
        // store (6 of 39 signals to `run --store`): the file has no name while it is written.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("status-7.idx");
        write_whole(&path, b"old").unwrap();
        let unnamed = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_TMPFILE)
            .open(dir.path());
        if let Err(e) = unnamed {
            eprintln!("skipped: no unnamed files in {}: {e}", dir.path().display());
            return;
        }
        let mut while_written = Vec::new();
        write_whole_through(&path, |file| {
            while_written = names_in(dir.path());
            file.write_all(b"new")
        })
        .unwrap();
        assert_eq!(while_written, ["status-7.idx"], "no partial file named");
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        // With the mode a named file gets (0666 less the umask).
        let named = dir.path().join("named");
        File::create(&named).unwrap();
        let mode = |p: &Path| {
            std::os::unix::fs::PermissionsExt::mode(&p.metadata().unwrap().permissions())
        };
        assert_eq!(mode(&path), mode(&named));
        std::fs::remove_file(&named).unwrap();
        assert_eq!(names_in(dir.path()), ["status-7.idx"]);
        // A partial file of this process number a killed run left is written over.
        std::fs::write(partial_path(&path), b"half").unwrap();
        write_whole(&path, b"newer").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"newer");
        assert_eq!(names_in(dir.path()), ["status-7.idx"]);
        // A write that fails leaves the old file, and no name.
        let failed = write_whole_through(&path, |file| {
            file.write_all(b"half of the ne")?;
            Err(io::Error::other("the disk is full"))
        });
        assert_eq!(failed.unwrap_err().to_string(), "the disk is full");
        assert_eq!(std::fs::read(&path).unwrap(), b"newer");
        assert_eq!(names_in(dir.path()), ["status-7.idx"]);
    }

    #[test]
    fn a_file_named_near_the_longest_name_can_be_replaced() {
        // Its partial file's name, ".partial-" and the process number longer, was "File name
        // too long": a report named with 241 to 255 bytes could not be written at all.
        let dir = tempfile::tempdir().unwrap();
        for len in [235, 236, 254, 255] {
            let name = "é".repeat(len / 2) + &"r".repeat(len % 2);
            assert_eq!(name.len(), len);
            let path = dir.path().join(&name);
            write_whole(&path, b"old").unwrap();
            replace(&path, |partial| {
                assert!(
                    partial.file_name().unwrap().len() <= NAME_MAX,
                    "{partial:?}"
                );
                std::fs::write(partial, b"new").map_err(|e| e.to_string())
            })
            .unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), b"new", "{len} bytes");
            // The partial files of two long names that share their first bytes differ.
            let other = dir.path().join(name.clone() + "x");
            if other.file_name().unwrap().len() <= NAME_MAX {
                assert_ne!(partial_path(&path), partial_path(&other));
            }
        }
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().len())
            .collect();
        assert_eq!(names.len(), 4, "no partial file left: {names:?}");
    }

    #[test]
    fn a_device_a_pipe_or_a_link_is_written_through_never_replaced() {
        use std::os::unix::fs::FileTypeExt;
        // (Not /dev/null itself: run as root, a regression would replace it.)
        let dir = tempfile::tempdir().unwrap();
        // A link to a file: the file gets the new bytes, the link stays a link.
        let file = dir.path().join("file");
        let link = dir.path().join("link");
        std::fs::write(&file, b"old").unwrap();
        std::os::unix::fs::symlink(&file, &link).unwrap();
        write_whole(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&file).unwrap(), b"new");
        // A pipe (a reader on the other end): written into, still a pipe after.
        let fifo = dir.path().join("fifo");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string; mkfifo creates the node.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write_whole(&fifo, b"through the pipe").unwrap();
        assert!(
            std::fs::metadata(&fifo).unwrap().file_type().is_fifo(),
            "replaced"
        );
        assert_eq!(reader.join().unwrap(), b"through the pipe");
    }

    #[test]
    fn an_endless_file_is_refused_after_its_limit() {
        let error = read_bounded(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(
            error.to_string().contains("longer than 1048576 bytes"),
            "{error}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("small");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_bounded(&path, 5).unwrap(), b"12345");
        assert!(read_bounded(&path, 4).is_err());
    }
}
