//! Ctrl-C, `kill` and a closed terminal (SIGINT, SIGTERM, SIGHUP): the temporary stores the
//! command made ([`scratch_dir`]) are removed before it exits, as they are when it ends — the
//! default action killed it at once, and every interrupted `run`, `replay` or `cluster` left its
//! store in the temporary directory (271 MB for a `cluster` of 5,000 validators). A store named
//! with `--store` is the operator's, crash-safe, and kept.
//!
//! The three signals are blocked in every thread (those started later inherit the mask; a
//! child process starts with an empty one) and taken by one thread of their own with
//! `sigwait`, which can remove directories and print, as a signal handler cannot.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The temporary directories to remove on a signal.
static SCRATCH: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Set once a signal came: the process is being stopped by the signal thread.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Whether a signal is stopping the process: the command's own failures from here on are the
/// removal's doing (an engine finding its store gone), not the operator's to read, and `main`
/// leaves the exit to the signal thread.
pub fn stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

/// Removes `dir` while the command's threads may still be writing into it (a `cluster`'s
/// engines): again until it is gone, for at most a second.
fn remove_while_written(dir: &Path) -> bool {
    let began = Instant::now();
    loop {
        match std::fs::remove_dir_all(dir) {
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

/// A temporary directory for a command's scratch store: removed when dropped, and on a signal.
pub struct Scratch(tempfile::TempDir);

impl Scratch {
    /// The directory.
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let mut dirs = SCRATCH.lock().unwrap_or_else(PoisonError::into_inner);
        dirs.retain(|d| d != self.0.path());
    }
}

/// A new temporary directory ([`Scratch`]).
pub fn scratch_dir() -> Result<Scratch, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let mut dirs = SCRATCH.lock().unwrap_or_else(PoisonError::into_inner);
    dirs.push(dir.path().to_owned());
    Ok(Scratch(dir))
}

/// Blocks the signals in this thread (and so in every thread it starts after) and starts the
/// thread that takes them: it removes the scratch directories, says so, and exits with 128 +
/// the signal's number, as a shell reports a process the signal killed. Called first in `main`.
pub fn install() -> Result<(), String> {
    // SAFETY: `set` is a local sigset_t, initialised by sigemptyset before any other use;
    // pthread_sigmask only reads it.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in SIGNALS {
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
            loop {
                let mut signal: libc::c_int = 0;
                // SAFETY: `set` lives in this closure; `signal` is a local the call writes.
                if unsafe { libc::sigwait(&set, &mut signal) } != 0 {
                    continue;
                }
                STOPPING.store(true, Ordering::SeqCst);
                // Held to the exit: a scratch directory dropped meanwhile is removed here too.
                let dirs = SCRATCH.lock().unwrap_or_else(PoisonError::into_inner);
                let removed = dirs.iter().filter(|d| remove_while_written(d)).count();
                let name = match signal {
                    libc::SIGINT => "SIGINT",
                    libc::SIGTERM => "SIGTERM",
                    _ => "SIGHUP",
                };
                if removed > 0 {
                    eprintln!("tandem: {name}: stopped; its temporary store removed");
                } else {
                    eprintln!("tandem: {name}: stopped");
                }
                std::process::exit(128 + signal);
            }
        })
        .map_err(|e| format!("the signal thread: {e}"))?;
    Ok(())
}
