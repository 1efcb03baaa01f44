//! Where libtandem's log lines go: stderr by default, or a C callback
//! (`tandem_set_log_sink`, SPEC §8).
//!
//! The engine logs through the `log` facade (alerts, a stage that stops, the store it resumed);
//! so do the libraries under it (wgpu). This module is the process's `log::Log` inside
//! libtandem: installed on first use, it filters by the level the host chose and hands each line
//! to the sink. Calls into the sink are serialized by a mutex, so a sink is never called twice
//! at once, and once `tandem_set_log_sink` returns, the previous sink is not called again. A
//! line logged from inside the sink (the sink calling tandem) is dropped rather than deadlock.
//!
//! A thread that logs never waits for the sink: it queues its line, and whichever thread holds
//! the sink delivers every queued line, in order, before it lets go. A sink that calls tandem
//! and waits for one of tandem's threads (`tandem_engine_account` waits for the UED's) would
//! otherwise deadlock as soon as that thread logged a line. The queue holds
//! [`MAX_QUEUED_LINES`]; beyond, the oldest are dropped and counted in a warning.

use std::cell::Cell;
use std::collections::VecDeque;
use std::ffi::{CString, c_char, c_void};
use std::io::Write as _;
use std::sync::{Mutex, Once, PoisonError, TryLockError};

use log::{LevelFilter, Log, Metadata, Record};

use crate::boundary::boundary;
use crate::error::FfiError;

#[allow(non_camel_case_types)]
/// A log sink: `fn(ctx, level, message)`, level 1 error … 5 trace, `message` NUL-terminated
/// and valid only during the call.
pub type tandem_log_fn =
    Option<unsafe extern "C" fn(ctx: *mut c_void, level: u32, message: *const c_char)>;

/// The sink the lines go to: a callback and its context, or stderr.
#[derive(Clone, Copy)]
struct Sink {
    callback: tandem_log_fn,
    ctx: *mut c_void,
}

// SAFETY: the context pointer is the host's, handed back to its callback only; the host promised
// (in the header) that the callback may be called from any thread with it.
unsafe impl Send for Sink {}

/// The sink, held while a line is written so that lines never interleave and a replaced sink
/// is never called after `tandem_set_log_sink` returns.
static SINK: Mutex<Sink> = Mutex::new(Sink {
    callback: None,
    ctx: std::ptr::null_mut(),
});

/// Lines waiting for the thread that holds the sink (module docs).
pub const MAX_QUEUED_LINES: usize = 4096;

/// One line on its way to the sink.
struct Line {
    level: log::Level,
    target: String,
    text: String,
}

/// The queued lines, and how many were dropped because the queue was full.
static QUEUED: Mutex<(VecDeque<Line>, u64)> = Mutex::new((VecDeque::new(), 0));

/// Delivers the queued lines unless another thread holds the sink (it delivers them then).
fn deliver() {
    loop {
        let sink = match SINK.try_lock() {
            Ok(sink) => sink,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        loop {
            let next = {
                let mut queued = QUEUED.lock().unwrap_or_else(PoisonError::into_inner);
                let dropped = std::mem::take(&mut queued.1);
                let next = queued.0.pop_front();
                (dropped, next)
            };
            match next {
                (0, None) => break,
                (0, Some(line)) => write_line(*sink, &line),
                (dropped, line) => {
                    let text = format!("{dropped} log lines were dropped: the log sink was slow");
                    let warning = Line {
                        level: log::Level::Warn,
                        target: "tandem".into(),
                        text,
                    };
                    write_line(*sink, &warning);
                    if let Some(line) = line {
                        write_line(*sink, &line);
                    }
                }
            }
        }
        drop(sink);
        // A line queued while this thread held the sink found it busy: deliver it too.
        if QUEUED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .is_empty()
        {
            return;
        }
    }
}

/// Writes one line to `sink` (the caller holds the sink).
fn write_line(sink: Sink, line: &Line) {
    match sink.callback {
        Some(callback) => {
            // An interior NUL would cut the line short: write it as `\0`.
            let message = CString::new(line.text.replace('\0', "\\0")).unwrap_or_default();
            IN_SINK.with(|flag| flag.set(true));
            // SAFETY: the host registered callback and ctx together; message is a valid C
            // string for the duration of the call.
            unsafe { callback(sink.ctx, line.level as u32, message.as_ptr()) };
            IN_SINK.with(|flag| flag.set(false));
        }
        None => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "tandem: {} {}: {}",
                line.level,
                line.target,
                line.text
            );
        }
    }
}

/// Errors and warnings go to stderr until the host says otherwise.
const DEFAULT_LEVEL: LevelFilter = LevelFilter::Warn;

thread_local! {
    /// Set while this thread is inside the sink: lines it logs then are dropped.
    static IN_SINK: Cell<bool> = const { Cell::new(false) };
}

struct Logger;

static LOGGER: Logger = Logger;
static INSTALL: Once = Once::new();

/// Installs libtandem's logger once (every export that may log calls this first). Where a Rust
/// host linked the rlib and installed its own logger, that one stays and gets the lines.
pub fn install() {
    INSTALL.call_once(|| {
        if log::set_logger(&LOGGER).is_ok() {
            log::set_max_level(DEFAULT_LEVEL);
        }
    });
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) || IN_SINK.with(Cell::get) {
            return;
        }
        let line = Line {
            level: record.level(),
            target: record.target().to_owned(),
            text: format!("{}", record.args()),
        };
        {
            let mut queued = QUEUED.lock().unwrap_or_else(PoisonError::into_inner);
            if queued.0.len() >= MAX_QUEUED_LINES {
                queued.0.pop_front();
                queued.1 += 1;
            }
            queued.0.push_back(line);
        }
        deliver();
    }

    fn flush(&self) {}
}

/// The level filter of `max_level` (0 nothing, 1 error … 5 trace).
fn level_filter(max_level: u32) -> Result<LevelFilter, FfiError> {
    Ok(match max_level {
        0 => LevelFilter::Off,
        1 => LevelFilter::Error,
        2 => LevelFilter::Warn,
        3 => LevelFilter::Info,
        4 => LevelFilter::Debug,
        5 => LevelFilter::Trace,
        _ => {
            return Err(FfiError::invalid_argument(format!(
                "max_level = {max_level} is not 0 (nothing) … 5 (trace)"
            )));
        }
    })
}

/// Sends libtandem's log lines to `fn` instead of stderr (`fn` NULL: back to stderr), those of
/// `level <= max_level` only: 0 nothing, 1 error, 2 warn, 3 info, 4 debug, 5 trace. Until it is
/// called, errors and warnings go to stderr.
///
/// `fn` is called from any of tandem's threads (and the caller's), one call at a time, with
/// `ctx`, the line's level and the line as a NUL-terminated string valid only during the call.
/// It should not block for long: other lines queue behind it (up to 4,096, then the oldest are
/// dropped and counted in a warning), though the threads that log them never wait for it, so it
/// may call tandem and wait for it. Lines logged by tandem calls made from
/// inside `fn` are dropped. When this function returns, the previous sink is no longer called,
/// so its `ctx` may be freed. Calling this from inside a sink is refused
/// (`TANDEM_ERR_INVALID_ARGUMENT`). Thread-safe.
///
/// # Safety
/// `fn`, when not NULL, must be safe to call from any thread with `ctx` until it is replaced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tandem_set_log_sink(
    r#fn: tandem_log_fn,
    ctx: *mut c_void,
    max_level: u32,
) -> i32 {
    boundary("tandem_set_log_sink", || {
        let level = level_filter(max_level)?;
        if IN_SINK.with(Cell::get) {
            return Err(FfiError::invalid_argument(
                "called from inside the log sink: replace the sink from another place",
            ));
        }
        install();
        let mut sink = SINK.lock().unwrap_or_else(PoisonError::into_inner);
        *sink = Sink {
            callback: r#fn,
            ctx: if r#fn.is_some() {
                ctx
            } else {
                std::ptr::null_mut()
            },
        };
        log::set_max_level(level);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{TANDEM_ERR_INVALID_ARGUMENT, TANDEM_OK};
    use std::ffi::CStr;

    type Lines = Mutex<Vec<(u32, String)>>;

    unsafe extern "C" fn collect(ctx: *mut c_void, level: u32, message: *const c_char) {
        // SAFETY: ctx is the &Lines registered below, message a valid C string.
        let (lines, text) = unsafe { (&*(ctx as *const Lines), CStr::from_ptr(message)) };
        lines
            .lock()
            .unwrap()
            .push((level, text.to_string_lossy().into_owned()));
    }

    /// On its first line, waits (up to 10 s) for another thread that logs: the engine's
    /// threads log while a sink may be waiting for one of them (`tandem_engine_account`).
    unsafe extern "C" fn wait_for_a_logging_thread(
        ctx: *mut c_void,
        level: u32,
        message: *const c_char,
    ) {
        // SAFETY: as in collect.
        unsafe { collect(ctx, level, message) };
        // SAFETY: message is a valid C string.
        if unsafe { CStr::from_ptr(message) }.to_bytes() != b"first" {
            return;
        }
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            log::warn!("second, from the thread the sink waits for");
            let _ = done.send(());
        });
        let waited = finished.recv_timeout(std::time::Duration::from_secs(10));
        assert!(waited.is_ok(), "the logging thread waited for the sink");
    }

    unsafe extern "C" fn reenter(_: *mut c_void, _: u32, _: *const c_char) {
        // SAFETY: no callback: restores stderr, which this call must refuse from inside.
        let status = unsafe { tandem_set_log_sink(None, std::ptr::null_mut(), 1) };
        assert_eq!(status, TANDEM_ERR_INVALID_ARGUMENT);
        log::error!("logged from inside the sink: dropped");
    }

    /// One test for the whole sink: the logger is process-wide.
    #[test]
    fn lines_go_to_the_sink_at_its_level_and_a_sink_cannot_deadlock() {
        static LINES: Lines = Mutex::new(Vec::new());
        let ctx = &LINES as *const Lines as *mut c_void;
        // SAFETY: collect accepts this ctx from any thread for the rest of the process.
        let status = unsafe { tandem_set_log_sink(Some(collect), ctx, 3) };
        assert_eq!(status, TANDEM_OK);
        log::info!("opened");
        log::debug!("too detailed for level 3");
        std::thread::spawn(|| log::error!("from another thread"))
            .join()
            .unwrap();
        assert_eq!(
            *LINES.lock().unwrap(),
            [
                (3, "opened".to_owned()),
                (1, "from another thread".to_owned())
            ]
        );
        // SAFETY: as above.
        let status = unsafe { tandem_set_log_sink(Some(collect), ctx, 6) };
        assert_eq!(status, TANDEM_ERR_INVALID_ARGUMENT);
        assert_eq!(
            crate::error::last_error_message(),
            "tandem_set_log_sink: max_level = 6 is not 0 (nothing) … 5 (trace)"
        );
        // A sink that waits for a thread that logs: the thread goes on, its line comes after.
        LINES.lock().unwrap().clear();
        // SAFETY: as above.
        let status = unsafe { tandem_set_log_sink(Some(wait_for_a_logging_thread), ctx, 3) };
        assert_eq!(status, TANDEM_OK);
        log::error!("first");
        assert_eq!(
            *LINES.lock().unwrap(),
            [
                (1, "first".to_owned()),
                (2, "second, from the thread the sink waits for".to_owned())
            ]
        );
        // SAFETY: reenter takes no context.
        let status = unsafe { tandem_set_log_sink(Some(reenter), std::ptr::null_mut(), 1) };
        assert_eq!(status, TANDEM_OK);
        log::error!("reaches reenter");
        // SAFETY: back to stderr, nothing at all.
        let status = unsafe { tandem_set_log_sink(None, std::ptr::null_mut(), 0) };
        assert_eq!(status, TANDEM_OK);
        log::error!("nowhere");
        assert_eq!(LINES.lock().unwrap().len(), 2);
    }
}
