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
//! A thread that logs never calls the sink, nor waits for it: it queues its line, and one thread
//! of libtandem's own (`tandem-log`) delivers the queued lines, in order. A sink that calls
//! tandem and waits for one of tandem's threads (`tandem_engine_account` waits for the UED's,
//! a hash wait for the VED's) would otherwise deadlock as soon as that thread logged a line and
//! had to call the sink itself. The queue holds `MAX_QUEUED_LINES`; beyond, the oldest are
//! dropped and counted in a warning. Every export waits, before it returns, until the lines
//! its thread logged have reached the sink (`flush`), so the lines a call logged are delivered
//! by the time it returns, as a host reading them after the call expects. A call that logged
//! nothing waits for nothing: waiting for every thread's lines made each call wait for the
//! slowest sink call made for any other thread, and deadlocked a host whose sink takes a lock
//! the calling thread holds while another thread (an engine's stage) had a line queued. A call
//! that logs (opening an engine; a failure) waits for its lines, and they are delivered in order,
//! after the lines other threads queued before them: such a call must not be made holding a lock
//! the sink takes. `tandem_set_log_sink` and `tandem_engine_close` deliver every line queued
//! before they return, whoever logged it (close: the stages' last lines).

use std::cell::Cell;
use std::collections::VecDeque;
use std::ffi::{CString, c_char, c_void};
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, Once, PoisonError};

use log::{LevelFilter, Log, Metadata, Record};

use crate::boundary::boundary;
use crate::error::FfiError;

#[allow(non_camel_case_types)]
/// A log sink: `fn(ctx, level, message)`, level 1 error … 5 trace, `message` NUL-terminated
/// and valid only during the call.
pub type tandem_log_fn =
    Option<unsafe extern "C" fn(ctx: *mut c_void, level: u32, message: *const c_char)>;

/// The sink the lines go to: a callback and its context, or stderr, and the most detailed
/// level it takes.
#[derive(Clone, Copy)]
struct Sink {
    callback: tandem_log_fn,
    ctx: *mut c_void,
    /// Lines are filtered as they are logged, at the level of the sink of that moment; lines
    /// queued under a more detailed one, still waiting when a sink of a lower level replaces
    /// it, are filtered again here (a sink of `max_level` 1, or 0, got debug lines).
    max_level: LevelFilter,
}

// SAFETY: the context pointer is the host's, handed back to its callback only; the host promised
// (in the header) that the callback may be called from any thread with it.
unsafe impl Send for Sink {}

/// The sink, held while a line is written so that lines never interleave and a replaced sink
/// is never called after `tandem_set_log_sink` returns.
static SINK: Mutex<Sink> = Mutex::new(Sink {
    callback: None,
    ctx: std::ptr::null_mut(),
    max_level: DEFAULT_LEVEL,
});

/// Lines waiting for the log thread (module docs).
pub(crate) const MAX_QUEUED_LINES: usize = 4096;

/// One line on its way to the sink.
struct Line {
    level: log::Level,
    target: String,
    text: String,
}

/// The lines on their way to the sink.
#[derive(Default)]
struct Queue {
    lines: VecDeque<Line>,
    /// Lines dropped because the queue was full, not yet reported.
    dropped: u64,
    /// Lines queued since the process started (line `n` is the `n`-th queued, from 1).
    queued: u64,
    /// Lines taken off the queue's front, in order — delivered, dropped, or the one being
    /// delivered: the queue's front is line `taken + 1`.
    taken: u64,
    /// The line being delivered (taken off the queue, its sink call not returned yet).
    in_flight: Option<u64>,
    /// Whether the log thread runs.
    thread: bool,
}

impl Queue {
    /// Queues `line`, dropping the oldest waiting one where the queue is full; gives the line's
    /// number.
    fn push(&mut self, line: Line) -> u64 {
        if self.lines.len() >= MAX_QUEUED_LINES {
            self.lines.pop_front();
            self.dropped += 1;
            self.taken += 1;
        }
        self.lines.push_back(line);
        self.queued += 1;
        self.queued
    }

    /// Takes the next line to deliver (in flight until [`Queue::delivered`]), and the count of
    /// lines dropped since the last take.
    fn take(&mut self) -> (u64, Option<Line>) {
        let line = self.lines.pop_front();
        if line.is_some() {
            self.taken += 1;
            self.in_flight = Some(self.taken);
        }
        (std::mem::take(&mut self.dropped), line)
    }

    /// The line in flight reached the sink.
    fn delivered(&mut self) {
        self.in_flight = None;
    }

    /// The lines numbered up to it are done with: delivered or dropped. Not `taken` while a
    /// line is in its sink call: a full queue drops the lines after it meanwhile, and counted
    /// as done those had let a flush for it return before it reached the sink (found in
    /// review).
    fn done_through(&self) -> u64 {
        self.in_flight.map_or(self.taken, |line| line - 1)
    }
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    lines: VecDeque::new(),
    dropped: 0,
    queued: 0,
    taken: 0,
    in_flight: None,
    thread: false,
});
/// Signalled when a line is queued (the log thread waits on it).
static ARRIVED: Condvar = Condvar::new();
/// Signalled when lines are done with (`flush` waits on it).
static DELIVERED: Condvar = Condvar::new();

/// Queues `line` for the log thread, starting it on first use. Never waits for the sink.
fn enqueue(line: Line) {
    let mut queue = QUEUE.lock().unwrap_or_else(PoisonError::into_inner);
    let number = queue.push(line);
    LAST_QUEUED.with(|last| last.set(number));
    start_log_thread(&mut queue);
    drop(queue);
    ARRIVED.notify_one();
}

/// Starts the log thread unless it runs. Where no thread can be started, the lines wait for the
/// next `flush` or sink change, which deliver them on the caller's thread (and the next line
/// tries again).
fn start_log_thread(queue: &mut Queue) {
    if !queue.thread {
        queue.thread = std::thread::Builder::new()
            .name("tandem-log".into())
            .spawn(log_thread)
            .is_ok();
    }
}

/// The log thread: delivers queued lines to the sink, in order, one at a time. It starts on
/// the host's thread, at the first call that installs the logger ([`install`]): started by
/// the first thread that logged — often an engine's stage thread, pinned to the VED's PU or
/// in `SCHED_IDLE` — it inherited that class, which a process without the privilege cannot
/// leave, and a host's `tandem_engine_close` waited seconds for the lines of a failure under
/// load (found by a review of the engine's waits). Should it start elsewhere all the same (no
/// thread could be started then), it first drops what it inherited of that thread where it may:
/// the host's sink runs neither beside the votes nor starved behind every other thread.
fn log_thread() {
    tandem_engine::pipeline::unpin_current_thread();
    loop {
        {
            let queue = QUEUE.lock().unwrap_or_else(PoisonError::into_inner);
            let _queue = ARRIVED
                .wait_while(queue, |q| q.lines.is_empty() && q.dropped == 0)
                .unwrap_or_else(PoisonError::into_inner);
        }
        // The sink is held a line at a time, and let go to a caller that wants it: held
        // until the queue emptied, a host could not replace a sink slower than the lines
        // coming (to stop the flood, say) — its call waited as long as they came.
        loop {
            while SINK_WANTED.load(Ordering::Acquire) > 0 {
                std::thread::yield_now();
            }
            let sink = SINK.lock().unwrap_or_else(PoisonError::into_inner);
            if !deliver_next(*sink, u64::MAX) {
                break;
            }
        }
    }
}

/// Callers waiting for the sink other than the log thread (which lets them have it first).
static SINK_WANTED: AtomicUsize = AtomicUsize::new(0);

/// The sink, for a caller other than the log thread.
fn sink_for_a_caller() -> std::sync::MutexGuard<'static, Sink> {
    SINK_WANTED.fetch_add(1, Ordering::AcqRel);
    let sink = SINK.lock().unwrap_or_else(PoisonError::into_inner);
    SINK_WANTED.fetch_sub(1, Ordering::AcqRel);
    sink
}

/// Delivers the queued lines numbered up to `through` to `sink` (the caller holds the sink);
/// those queued after them wait for the next delivery.
fn deliver_through(sink: Sink, through: u64) {
    while deliver_next(sink, through) {}
}

/// Delivers the next queued line to `sink` (the caller holds the sink) where it is numbered
/// up to `through`, after a warning of the lines dropped before it; whether it delivered one.
fn deliver_next(sink: Sink, through: u64) -> bool {
    let (dropped, line) = {
        let mut queue = QUEUE.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.taken >= through {
            return false;
        }
        queue.take()
    };
    if dropped > 0 {
        let text = format!("{dropped} log lines were dropped: the log sink was slow");
        let warning = Line {
            level: log::Level::Warn,
            target: "tandem".into(),
            text,
        };
        write_line(sink, &warning);
    }
    let Some(line) = line else { return false };
    write_line(sink, &line);
    QUEUE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .delivered();
    DELIVERED.notify_all();
    true
}

/// Waits until every line this thread queued has reached the sink (or was dropped); from inside
/// the sink (where that would wait for itself), returns at once. Every export calls it before it
/// returns (`boundary`), so the lines a call logged reach the sink before the call returns.
pub fn flush() {
    flush_until(LAST_QUEUED.with(Cell::get));
}

/// Whether this thread is inside the sink (its lines are dropped).
pub(crate) fn in_sink() -> bool {
    IN_SINK.with(Cell::get)
}

/// Makes this thread drop its lines as one inside the sink does (a thread working for one that
/// is: `crate::stack`).
pub(crate) fn set_in_sink(inside: bool) {
    IN_SINK.with(|in_sink| in_sink.set(inside));
}

/// The number of the last line this thread queued (0: none).
pub(crate) fn queued_by_this_thread() -> u64 {
    LAST_QUEUED.with(Cell::get)
}

/// Counts the line numbered `last` (queued by a thread that worked for this one:
/// `crate::stack`) as this thread's, so that its [`flush`] waits for it.
pub(crate) fn count_as_queued_here(last: u64) {
    LAST_QUEUED.with(|mine| mine.set(mine.get().max(last)));
}

/// Waits until every line queued so far, by any thread, has reached the sink.
pub fn flush_all() {
    let queued = QUEUE.lock().unwrap_or_else(PoisonError::into_inner).queued;
    flush_until(queued);
}

/// Waits until the lines numbered below `target` are done with (lines are delivered in order).
fn flush_until(target: u64) {
    if IN_SINK.with(Cell::get) {
        return;
    }
    let queue = QUEUE.lock().unwrap_or_else(PoisonError::into_inner);
    if queue.done_through() >= target {
        return;
    }
    if !queue.thread {
        drop(queue);
        deliver_through(*sink_for_a_caller(), target);
        return;
    }
    drop(
        DELIVERED
            .wait_while(queue, |q| q.done_through() < target)
            .unwrap_or_else(PoisonError::into_inner),
    );
}

/// Writes one line to `sink` (the caller holds the sink), unless it is more detailed than the
/// sink takes.
fn write_line(sink: Sink, line: &Line) {
    if line.level > sink.max_level {
        return;
    }
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
    /// The number of the last line this thread queued (`Queue::queued` after it): what its
    /// `flush` waits for.
    static LAST_QUEUED: Cell<u64> = const { Cell::new(0) };
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
            // On the host's thread, before any stage thread can log ([`log_thread`]).
            start_log_thread(&mut QUEUE.lock().unwrap_or_else(PoisonError::into_inner));
        }
    });
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        tandem_engine::logging::passes(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) || IN_SINK.with(Cell::get) {
            return;
        }
        enqueue(Line {
            level: record.level(),
            target: record.target().to_owned(),
            text: format!("{}", record.args()),
        });
    }

    fn flush(&self) {
        flush();
    }
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
/// `level <= max_level` only: 0 nothing, 1 error, 2 warn, 3 info, 4 debug, 5 trace; those of the
/// libraries under it (wgpu's shader compiler, at debug, logs thousands) errors only. Until it is
/// called, errors and warnings go to stderr.
///
/// `fn` is called from libtandem's log thread (and from the caller of this function, with the
/// lines queued before it), one call at a time, with `ctx`, the line's level and the line as a
/// NUL-terminated string valid only during the call. It should not block for long: other lines
/// queue behind it (up to 4,096, then the oldest are dropped and counted in a warning), though
/// the threads that log them never wait for it, so it may call tandem and wait for it. Every
/// tandem call returns after the lines its thread logged have reached `fn` — delivered in
/// order, so after the lines other threads queued before them: a call that logs (opening an
/// engine, a failure) must not be made holding a lock `fn` takes; one that logs nothing waits for
/// nothing. This call, and `tandem_engine_close`, deliver every line queued before them, from any
/// thread (this one to the previous sink) — not those queued meanwhile: lines coming faster
/// than `fn` takes them do not hold this call (it replaces a slow sink in a flood). Lines logged by
/// tandem calls made from inside `fn` are dropped. When this function returns, the previous sink
/// is no longer called, so its `ctx` may be freed. Calling this from inside a sink is refused
/// (`TANDEM_ERR_INVALID_ARGUMENT`). Thread-safe.
///
/// The log thread starts at the first tandem call of the process (any function but
/// `tandem_version` and `tandem_last_error`), and an engine starts more: a child process forked
/// after it must not call tandem before it `exec`s (as with any library that keeps threads), or
/// its first logged line waits for a thread the child does not have.
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
        // What was logged before this call goes where it was meant to (not what others log
        // meanwhile: a flood would hold the call for as long as it lasts).
        let before = QUEUE.lock().unwrap_or_else(PoisonError::into_inner).queued;
        let mut sink = sink_for_a_caller();
        deliver_through(*sink, before);
        *sink = Sink {
            callback: r#fn,
            ctx: if r#fn.is_some() {
                ctx
            } else {
                std::ptr::null_mut()
            },
            max_level: level,
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
    use std::sync::atomic::{AtomicBool, Ordering};

    type Lines = Mutex<Vec<(u32, String)>>;

    unsafe extern "C" fn collect(ctx: *mut c_void, level: u32, message: *const c_char) {
        // SAFETY: ctx is the &Lines registered below, message a valid C string.
        let (lines, text) = unsafe { (&*(ctx as *const Lines), CStr::from_ptr(message)) };
        // (Never a panic here: it cannot unwind out of an extern "C" function.)
        lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
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

    static LOGGER_WENT_ON: AtomicBool = AtomicBool::new(false);
    static SINK_SAW_IT_GO_ON: AtomicBool = AtomicBool::new(false);

    /// Waits (up to 2 s) for the thread that logged the line to go on.
    unsafe extern "C" fn wait_for_the_logger(ctx: *mut c_void, level: u32, message: *const c_char) {
        // SAFETY: as in collect.
        unsafe { collect(ctx, level, message) };
        let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while !LOGGER_WENT_ON.load(Ordering::SeqCst) && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        SINK_SAW_IT_GO_ON.store(LOGGER_WENT_ON.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// The host's lock that its sink takes.
    static HOST_LOCK: Mutex<()> = Mutex::new(());

    unsafe extern "C" fn take_the_host_lock(ctx: *mut c_void, level: u32, message: *const c_char) {
        let _held = HOST_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        // SAFETY: as in collect.
        unsafe { collect(ctx, level, message) };
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
        // The libraries' lines, errors only (wgpu's shader compiler floods a debug sink).
        log::warn!(target: "wgpu_core::device", "a library's warning");
        std::thread::spawn(|| log::error!("from another thread"))
            .join()
            .unwrap();
        flush_all();
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
        flush(); // "first" delivered: the sink returned once "second" was queued
        flush_all(); // "second", another thread's
        assert_eq!(
            *LINES.lock().unwrap(),
            [
                (1, "first".to_owned()),
                (2, "second, from the thread the sink waits for".to_owned())
            ]
        );
        // The thread that logs does not call the sink itself (the UED's thread, logging, would
        // wait for a sink that waits for the UED): it goes on while the sink holds its line.
        // SAFETY: as above.
        let status = unsafe { tandem_set_log_sink(Some(wait_for_the_logger), ctx, 3) };
        assert_eq!(status, TANDEM_OK);
        std::thread::spawn(|| {
            log::error!("from a stage");
            LOGGER_WENT_ON.store(true, Ordering::SeqCst);
        })
        .join()
        .unwrap();
        flush_all();
        assert!(
            SINK_SAW_IT_GO_ON.load(Ordering::SeqCst),
            "the thread that logged waited for the sink"
        );
        // A call waits for its own thread's lines only: with a line of another thread queued
        // behind a sink that waits for a lock this thread holds, a call made under the lock
        // returns (it waited for every thread's lines, and never returned).
        // SAFETY: as above.
        let status = unsafe { tandem_set_log_sink(Some(take_the_host_lock), ctx, 3) };
        assert_eq!(status, TANDEM_OK);
        let (returned, under_the_lock) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let held = HOST_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
            // Queued once the thread is joined (a thread that logs only queues its line).
            std::thread::spawn(|| log::error!("from an engine's stage"))
                .join()
                .unwrap();
            flush(); // what every export does before it returns
            let _ = returned.send(());
            drop(held);
        });
        assert!(
            under_the_lock
                .recv_timeout(std::time::Duration::from_secs(10))
                .is_ok(),
            "a call under the host's lock waited for another thread's line"
        );
        flush_all();
        let lines = LINES.lock().unwrap_or_else(PoisonError::into_inner).clone();
        assert!(
            lines.contains(&(1, "from an engine's stage".to_owned())),
            "{lines:?}"
        );
        // SAFETY: reenter takes no context.
        let status = unsafe { tandem_set_log_sink(Some(reenter), std::ptr::null_mut(), 1) };
        assert_eq!(status, TANDEM_OK);
        log::error!("reaches reenter");
        // SAFETY: back to stderr, nothing at all.
        let status = unsafe { tandem_set_log_sink(None, std::ptr::null_mut(), 0) };
        assert_eq!(status, TANDEM_OK);
        log::error!("nowhere");
        flush_all();
        let lines = LINES.lock().unwrap_or_else(PoisonError::into_inner).clone();
        assert_eq!(lines.len(), 4, "{lines:?}");
    }

    /// A line more detailed than its sink takes is not written: lines queued under a sink of
    /// a more detailed level, still waiting when one of a lower level replaced it, reached the
    /// new sink (`max_level` 1 got debug lines, and 0 the dropped lines' warning).
    #[test]
    fn a_sink_gets_no_line_past_its_level() {
        static LINES: Lines = Mutex::new(Vec::new());
        let line = |level, text: &str| Line {
            level,
            target: "tandem".into(),
            text: text.into(),
        };
        let sink = |max_level| Sink {
            callback: Some(collect),
            ctx: &LINES as *const Lines as *mut c_void,
            max_level,
        };
        write_line(
            sink(LevelFilter::Error),
            &line(log::Level::Debug, "queued at level 4"),
        );
        write_line(
            sink(LevelFilter::Off),
            &line(log::Level::Warn, "lines were dropped"),
        );
        write_line(
            sink(LevelFilter::Error),
            &line(log::Level::Error, "an error"),
        );
        assert_eq!(*LINES.lock().unwrap(), [(1, "an error".to_owned())]);
    }

    /// A line in its sink call is not done with while a full queue drops the lines after it:
    /// a flush waiting for it waits on (counting the dropped ones as done had let it return).
    #[test]
    fn a_line_in_the_sink_is_not_done_while_a_full_queue_drops_later_ones() {
        let line = || Line {
            level: log::Level::Info,
            target: "test".into(),
            text: "a line".into(),
        };
        let mut queue = Queue::default();
        for _ in 0..MAX_QUEUED_LINES {
            queue.push(line());
        }
        let (_, first) = queue.take();
        assert!(first.is_some());
        assert_eq!(queue.done_through(), 0, "line 1 in the sink");
        // The queue fills again; the next lines drop lines 2 and 3.
        for _ in 0..3 {
            queue.push(line());
        }
        assert_eq!(queue.taken, 3);
        assert_eq!(queue.done_through(), 0, "line 1 still in the sink");
        queue.delivered();
        assert_eq!(queue.done_through(), 3, "line 1 delivered, 2 and 3 dropped");
        let (dropped, next) = queue.take();
        assert_eq!((dropped, queue.in_flight), (2, Some(4)));
        assert!(next.is_some());
        assert_eq!(queue.done_through(), 3);
    }
}
