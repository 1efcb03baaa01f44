//! Ctrl-C, `kill` and a closed terminal (SIGINT, SIGTERM, SIGHUP): the temporary stores the
//! command made ([`scratch_dir`]) and the partial files it is writing ([`remove_on_signal`])
//! are removed before it stops, as they are when it ends — the default action killed it at
//! once, and every interrupted `run`, `replay` or `cluster` left its store in the temporary
//! directory (271 MB for a `cluster` of 5,000 validators). A store named with `--store` is the
//! operator's, crash-safe, and kept, less the partial files the command is writing in it
//! ([`sweep_on_signal`]).
//!
//! The signals are blocked in every thread (those started later inherit the mask; a child
//! process starts with an empty one) and taken by one thread of their own with `sigwait`,
//! which can remove files and print, as a signal handler cannot. Then the process dies **by
//! the signal** (its default action restored and the signal raised again), so that a shell
//! loop stops on Ctrl-C and a service manager sees a clean SIGTERM. A signal the process was
//! started with ignored (`nohup` ignores SIGHUP; a background job of a script, SIGINT) is left
//! ignored: a blocked signal is not discarded, and `sigwait` would take it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tandem_engine::files::try_lock;

/// The directories and files to remove on a signal.
static SCRATCH: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The directories whose partial files of this process are removed on a signal (the stores
/// named with `--store`).
static SWEPT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Set once a signal came: the process is being stopped by the signal thread.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Whether a signal is stopping the process: the command's own failures from here on are the
/// removal's doing (an engine finding its store gone), not the operator's to read, and `main`
/// leaves the end to the signal thread.
pub fn stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

/// Waits for the signal thread to end the process (called once [`stopping`]).
pub fn wait_for_the_end() -> ! {
    loop {
        std::thread::park();
    }
}

/// Removes `path` (a directory, or a file) while the command's threads may still be writing
/// into it (a `cluster`'s engines): again until it is gone, for at most a second.
fn remove_while_written(path: &Path) -> bool {
    let began = Instant::now();
    loop {
        let removed = match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
            Ok(_) => std::fs::remove_file(path),
            Err(e) => Err(e),
        };
        match removed {
            Ok(()) => return true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return true,
            Err(_) if began.elapsed() < Duration::from_secs(1) => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => return false,
        }
    }
}

/// The signals taken.
const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// A path on one of the lists the signal thread acts on ([`SCRATCH`]: removed; [`SWEPT`]:
/// swept of this process's partial files), until this is dropped.
pub struct OnSignal {
    list: &'static Mutex<Vec<PathBuf>>,
    path: PathBuf,
}

/// Takes `path` off the list (held by the caller).
fn unlist(paths: &mut Vec<PathBuf>, path: &Path) {
    if let Some(i) = paths.iter().position(|p| p == path) {
        paths.remove(i);
    }
}

impl Drop for OnSignal {
    fn drop(&mut self) {
        unlist(
            &mut self.list.lock().unwrap_or_else(PoisonError::into_inner),
            &self.path,
        );
    }
}

/// Puts `path` on `list` until the guard is dropped.
fn listed(list: &'static Mutex<Vec<PathBuf>>, path: PathBuf) -> OnSignal {
    list.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(path.clone());
    OnSignal { list, path }
}

/// Registers `path` (a partial file being written) for removal on a signal, until the guard is
/// dropped.
pub fn remove_on_signal(path: PathBuf) -> OnSignal {
    listed(&SCRATCH, path)
}

/// Registers `dir` — a store named with `--store`, kept on a signal — to be swept on a signal
/// of the partial files ([`tandem_engine::files::partial_path`]) this process is writing there
/// (a status file is written whole each slot, and a signal left its partial file in the
/// store — unnamed while it is written now, named for the moment before it is renamed into
/// place — for the next open to remove), until the guard is dropped.
pub fn sweep_on_signal(dir: PathBuf) -> OnSignal {
    listed(&SWEPT, dir)
}

/// Removes the partial files of this process in `dir` (best effort: a store another process
/// holds is not this one's, and none of its files end with this process number).
fn sweep(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let ours = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let partial = name.to_str().and_then(tandem_engine::files::partial_pid);
        if name.to_string_lossy().starts_with('.') && partial == Some(ours) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// A temporary directory for a command's scratch store: removed when dropped, and on a signal.
/// Named `tandem-scratch-…` and held, while the command lives, by a `flock` on the directory
/// itself: a command killed where nothing can remove it (SIGKILL, a power loss) left its
/// directory behind under a name nothing recognised (2.9 MB for a `replay` of 5,000 slots;
/// found by a soak test, stop 71) — the next scratch made in the same place removes this
/// user's `tandem-scratch-…` directories whose lock is free.
pub struct Scratch(Option<(tempfile::TempDir, std::fs::File)>);

impl Scratch {
    /// The directory (empty when made).
    pub fn path(&self) -> &Path {
        self.0.as_ref().expect("held until dropped").0.path()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Removed with the list held: a signal meanwhile waits for it, and does not find the
        // directory off the list while half of it is still there.
        let mut paths = SCRATCH.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((dir, _held)) = self.0.take() {
            let path = dir.path().to_owned();
            let _ = dir.close();
            unlist(&mut paths, &path);
        }
    }
}

/// The names of scratch directories ([`Scratch`]) start with this.
const SCRATCH_PREFIX: &str = "tandem-scratch-";

/// A new temporary directory ([`Scratch`]), made with the list held (a signal between its
/// making and its listing left it behind).
pub fn scratch_dir() -> Result<Scratch, String> {
    // Where it cannot be made, the error says where it was looked for and how else to run (it
    // named the directory only: an operator with a TMPDIR gone stale had no lead).
    scratch_dir_in(&tempfile::env::temp_dir()).map_err(|e| {
        format!("{e} (the temporary directory: set TMPDIR, or name a store with --store)")
    })
}

/// [`scratch_dir`] in `parent`, after removing the scratch directories there that no living
/// command holds.
pub fn scratch_dir_in(parent: &Path) -> Result<Scratch, String> {
    remove_abandoned_scratch(parent);
    let mut paths = SCRATCH.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let dir = tempfile::Builder::new()
            .prefix(SCRATCH_PREFIX)
            .tempdir_in(parent)
            .map_err(|e| format!("a temporary directory in {}: {e}", parent.display()))?;
        if let Some(held) = held_if_still_there(dir.path())? {
            paths.push(dir.path().to_owned());
            return Ok(Scratch(Some((dir, held))));
        }
    }
}

/// The lock on a scratch directory just made at `path`, or `None` where another command's
/// sweep between the making and the lock holds it or has removed it (make another). A file
/// system without `flock` keeps it unlocked, and no sweep there can take a lock to remove it.
fn held_if_still_there(path: &Path) -> Result<Option<std::fs::File>, String> {
    let held = match std::fs::File::open(path) {
        Ok(held) => held,
        // Removed before it could be opened: this failed a CI run of two benches started at
        // once ("…/tandem-scratch-KXdxlb: No such file or directory").
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let taken = matches!(try_lock(&held), Ok(false)) || !same_file(&held, path);
    Ok((!taken).then_some(held))
}

/// Whether `file` is still what `path` names (not removed, nor replaced).
fn same_file(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

/// Removes the scratch directories in `parent` that are this user's and that no command holds
/// locked (best effort: another user's, a link, or one another sweep holds is left).
fn remove_abandoned_scratch(parent: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .starts_with(SCRATCH_PREFIX)
        {
            continue;
        }
        // Not followed: a link is nobody's scratch.
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_dir() || meta.uid() != me {
            continue;
        }
        let dir = entry.path();
        let Ok(held) = std::fs::File::open(&dir) else {
            continue;
        };
        // The name checked once the lock is held: a directory another sweep removed while this
        // one waited to lock it is not looked for again under its name.
        if try_lock(&held).unwrap_or(false) && same_file(&held, &dir) {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// For a command whose library makes temporary directories of its own (`tandem bench`'s
/// suites: their stores): a [`Scratch`] directory made the process's temporary directory (for
/// `tempfile`, which the library makes them with), so that a signal removes them with it —
/// every interrupted bench left its stores behind. Held for the command's length; once per
/// process. Where the temporary directory cannot be used and the command writes to a
/// directory of its own (`fallback`: the suite's `--out`), the directory is made there, and a
/// line on stderr says so (a bench with a good `--out` failed on a stale `TMPDIR`).
pub fn scratch_for_the_process(fallback: Option<&Path>) -> Result<Scratch, String> {
    let scratch = match scratch_dir_in(&tempfile::env::temp_dir()) {
        Ok(scratch) => scratch,
        Err(e) => {
            let unusable = format!("{e} (the temporary directory: set TMPDIR)");
            let out = fallback.ok_or_else(|| unusable.clone())?;
            let scratch = (std::fs::create_dir_all(out).ok())
                .and_then(|()| scratch_dir_in(out).ok())
                .ok_or(unusable)?;
            say!(
                "tandem: the temporary directory cannot be used ({e}): the suites' stores go \
                 below {} instead",
                out.display()
            );
            scratch
        }
    };
    tempfile::env::override_temp_dir(scratch.path()).map_err(|already| {
        format!(
            "the temporary directory was set already, to {}",
            already.display()
        )
    })?;
    Ok(scratch)
}

/// Whether `signal`'s disposition is to be ignored (as the process was started).
fn ignored(signal: libc::c_int) -> bool {
    // SAFETY: sigaction with a NULL new action only reads the current one into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Ignores SIGXFSZ, the signal a write past the file size limit (`ulimit -f`, systemd's
/// `LimitFSIZE=`) raises: its default action killed the process without a word — a `run`
/// growing its store, `gen` writing a ledger, `bench` its profile — where the write now fails
/// with `EFBIG`, which every write path reports naming its file ("grow S/rw-ued.pages: File
/// too large"). The store was safe either way (a kill is a crash); the operator was told
/// nothing. Called in `main` before any other thread starts.
pub fn ignore_file_size_signal() {
    // SAFETY: `signal` with SIG_IGN installs no handler; no other thread exists yet.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Blocks the signals not ignored in this thread (and so in every thread it starts after) and
/// starts the thread that takes them: it removes what is registered, says so, and lets the
/// signal end the process. Called in `main` before any other thread starts.
pub fn install() -> Result<(), String> {
    let taken: Vec<libc::c_int> = SIGNALS.into_iter().filter(|&s| !ignored(s)).collect();
    if taken.is_empty() {
        return Ok(());
    }
    // SAFETY: `set` is a local sigset_t, initialised by sigemptyset before any other use;
    // pthread_sigmask only reads it.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &signal in &taken {
            libc::sigaddset(&mut set, signal);
        }
        let blocked = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if blocked != 0 {
            return Err(format!(
                "blocking SIGINT, SIGTERM and SIGHUP: {}",
                std::io::Error::from_raw_os_error(blocked)
            ));
        }
        set
    };
    std::thread::Builder::new()
        .name("tandem-signals".into())
        .spawn(move || {
            let mut signal: libc::c_int = 0;
            // SAFETY: `set` lives in this closure; `signal` is a local the call writes.
            while unsafe { libc::sigwait(&set, &mut signal) } != 0 {}
            STOPPING.store(true, Ordering::SeqCst);
            // Held to the end: a directory dropped meanwhile is removed here too.
            let paths = SCRATCH.lock().unwrap_or_else(PoisonError::into_inner);
            let removed = paths.iter().filter(|p| remove_while_written(p)).count();
            // Not counted: the store stays, and the operator's files with it.
            for dir in SWEPT.lock().unwrap_or_else(PoisonError::into_inner).iter() {
                sweep(dir);
            }
            let name = match signal {
                libc::SIGINT => "SIGINT",
                libc::SIGTERM => "SIGTERM",
                _ => "SIGHUP",
            };
            let said = match removed {
                0 => format!("tandem: {name}: stopped\n"),
                _ => format!("tandem: {name}: stopped; its temporary files removed\n"),
            };
            say_without_waiting(said);
            die_by(signal)
        })
        .map_err(|e| format!("the signal thread: {e}"))?;
    Ok(())
}

/// How long the signal thread waits for its line to be written before the process dies
/// without it.
const SAYING_PATIENCE: Duration = Duration::from_millis(250);

/// Writes `line` on standard error, waiting at most [`SAYING_PATIENCE`] for it: standard error
/// can be a pipe nobody reads (`2>&1 | less` left open, a stalled log collector), where the
/// write waits for ever — SIGTERM, SIGINT and SIGHUP then never ended the process (a black-box
/// test of the standard streams, stop 74). The write is a thread's of its own, straight to the
/// descriptor: `std::io::stderr()`'s lock can be held by a thread blocked in the same write.
/// Not `eprintln!` either, which panics where standard error is gone (a closed terminal, `|
/// tee` killed by the same Ctrl-C): the process must end all the same.
fn say_without_waiting(line: String) {
    fn write_all(mut bytes: &[u8]) {
        while !bytes.is_empty() {
            // SAFETY: write(2) of a live buffer's bytes to descriptor 2.
            let n = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
            match n {
                n if n > 0 => bytes = &bytes[n as usize..],
                _ if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
                _ => return,
            }
        }
    }
    let (said, saying) = std::sync::mpsc::channel();
    let written = line.clone();
    let writer = std::thread::Builder::new()
        .name("tandem-saying".into())
        .spawn(move || {
            write_all(written.as_bytes());
            let _ = said.send(());
        });
    match writer {
        Ok(_) => {
            let _ = saying.recv_timeout(SAYING_PATIENCE);
        }
        // No thread to spare (a thread limit): the line only where it cannot block.
        Err(_) => {
            let mut stderr = libc::pollfd {
                fd: 2,
                events: libc::POLLOUT,
                revents: 0,
            };
            // SAFETY: poll(2) of one pollfd that lives across the call.
            if unsafe { libc::poll(&mut stderr, 1, 0) } == 1 && stderr.revents & libc::POLLOUT != 0
            {
                // SAFETY: write(2) of a live buffer's bytes to descriptor 2; a pipe with room
                // for one page takes a line this short whole, without blocking.
                let _ = unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
            }
        }
    }
}

/// Ends the process by `signal`'s default action (as if it had not been taken), or, where that
/// does not end it, with 128 + its number.
fn die_by(signal: libc::c_int) -> ! {
    // SAFETY: restoring the default action, unblocking the signal in this thread and raising
    // it to this thread take no pointers but to locals.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(signal);
    }
    std::process::exit(128 + signal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scratch_directory_removed_before_its_lock_is_made_again_not_an_error() {
        let parent = tempfile::tempdir().unwrap();
        let gone = parent.path().join("tandem-scratch-gone");
        std::fs::create_dir(&gone).unwrap();
        std::fs::remove_dir(&gone).unwrap();
        assert!(matches!(held_if_still_there(&gone), Ok(None)));
        // One another sweep holds is taken too; one nobody holds is this command's.
        std::fs::create_dir(&gone).unwrap();
        let other = std::fs::File::open(&gone).unwrap();
        assert!(try_lock(&other).unwrap());
        assert!(matches!(held_if_still_there(&gone), Ok(None)));
        drop(other);
        assert!(matches!(held_if_still_there(&gone), Ok(Some(_))));
    }

    #[test]
    fn scratch_directories_made_while_others_sweep_beside_them_are_all_made() {
        // Each making sweeps the directory first: one thread's sweep runs between another's
        // making and its lock.
        let parent = tempfile::tempdir().unwrap();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..200 {
                        let scratch = scratch_dir_in(parent.path()).unwrap();
                        assert!(scratch.path().is_dir());
                    }
                });
            }
        });
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
    }
}
