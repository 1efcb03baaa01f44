//! Printing helpers shared by every command: readable tables, JSON files and progress bars.

use std::path::{Path, PathBuf};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, Table};
use indicatif::{ProgressBar, ProgressStyle};

/// A table with a header row; a column whose every cell is a number (a unit may follow it) is
/// right-aligned.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> Table {
    let numeric: Vec<bool> = (0..header.len())
        .map(|i| {
            rows.iter().all(|row| {
                row.get(i)
                    .and_then(|cell| cell.split(' ').next())
                    .is_some_and(|n| n.parse::<f64>().is_ok())
            })
        })
        .collect();
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    for (i, _) in numeric.iter().enumerate().filter(|(_, n)| **n) {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

/// `items` per second over `seconds`; 0 over no time (a monotonic clock standing still, as
/// libfaketime's can, gave `items` ÷ 10⁻⁹: a black-box test of clocks, stop 74).
pub fn per_second(items: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        items as f64 / seconds
    } else {
        0.0
    }
}

/// Writes `value` as pretty JSON to `path`, or to standard output when `path` is "-".
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), String> {
    // Bytes, ended here: a copy of a whole report of `run` (81 MB for 500,000 transactions)
    // to add its line end before.
    let mut text = serde_json::to_vec_pretty(value).map_err(|e| format!("JSON: {e}"))?;
    text.push(b'\n');
    if path == Path::new("-") {
        // Not `println!`, which panics where the reader has gone (`| head`): an error.
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        return out
            .write_all(&text)
            .and_then(|()| out.flush())
            .map_err(|e| format!("writing the JSON to standard output: {e}"));
    }
    // Replaced whole: a write that fails leaves the file a previous run wrote (`main` says
    // so: `EarlierReport`).
    tandem_engine::files::write_whole(path, &text)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    tandem_engine::files::forget_dead_partials(path);
    Ok(())
}

/// What `println!` panics with where standard output cannot be written.
const PRINT_FAILED: &str = "failed printing to stdout";

/// Runs `command` with a failed write to standard output made an error naming it: `println!`
/// panics where the reader has gone (`tandem topology | head -1`) or the device is full, and
/// printed a panic (and, with `RUST_BACKTRACE`, a backtrace) where a person expects a line
/// saying what went wrong. Other panics go on as they are.
pub fn stdout_failures_as_errors(
    command: impl FnOnce() -> Result<(), String>,
) -> Result<(), String> {
    fn message(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
        (payload.downcast_ref::<String>().map(String::as_str))
            .or_else(|| payload.downcast_ref::<&str>().copied())
    }
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let on_main = std::thread::current().name() == Some("main");
        let print_failed = message(info.payload()).is_some_and(|m| m.starts_with(PRINT_FAILED));
        // A signal stopping the process: a thread that found its store gone is no news.
        if !(crate::interrupt::stopping() || on_main && print_failed) {
            default(info);
        }
    }));
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(command)) {
        Ok(result) => result,
        // Not unwound out of `main` (exit 101 while the signal thread still removes).
        Err(_) if crate::interrupt::stopping() => crate::interrupt::wait_for_the_end(),
        Err(payload) => match message(&*payload) {
            Some(m) if m.starts_with(PRINT_FAILED) => Err(format!(
                "writing to standard output{}",
                &m[PRINT_FAILED.len()..]
            )),
            _ => std::panic::resume_unwind(payload),
        },
    }
}

/// Fails, naming `path`, when a JSON report could not be written there (a missing directory, a
/// directory, no permission): checked before a command starts, so that minutes of work are not
/// lost to a mistyped path. Leaves no file behind that was not there before, and does not
/// truncate one that was.
pub fn check_writable(path: &Path) -> Result<(), String> {
    if path == Path::new("-") {
        return Ok(());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && parent
            .symlink_metadata()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
    {
        return Err(format!(
            "cannot write {}: the directory {} does not exist",
            path.display(),
            parent.display()
        ));
    }
    // A named pipe: opened here and closed, it gave its reader the end of the stream, and the
    // report's own open then waited for ever for another reader. Its permission is asked
    // instead (it is written in place, through no partial file).
    if path
        .metadata()
        .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_fifo(&m.file_type()))
    {
        return writable_in_place(path);
    }
    let existed = path.symlink_metadata().is_ok();
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    if !existed {
        // (Gone already: another process checking the same path at once removed it.)
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!("removing {}: {e}", path.display()));
            }
            _ => {}
        }
    }
    // The report is written beside it first and renamed over it: that file too.
    tandem_engine::files::check_replaceable(path).map_err(|e| {
        format!(
            "cannot write {} (through {}): {e}",
            path.display(),
            tandem_engine::files::partial_path(path).display()
        )
    })
}

/// Whether this process may write `path` (`access(2)`, `W_OK`), without opening it.
fn writable_in_place(path: &Path) -> Result<(), String> {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| format!("cannot write {}: a NUL byte in its name", path.display()))?;
    // SAFETY: `name` is NUL-terminated and lives across the call, which only reads it.
    if unsafe { libc::access(name.as_ptr(), libc::W_OK) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    Ok(())
}

/// The report an earlier run left where a command writes its own (`--json F`), as it was when
/// the command started. A command that fails keeps it — nothing is lost, and the exit status
/// says the run failed — and says on standard error that the file at `F` is an earlier run's,
/// so that a person (or a log) reading after a failure does not take its figures for this
/// run's. A report this run wrote (renamed over `F`: another inode) is not named.
pub struct EarlierReport {
    path: PathBuf,
    /// `F`'s device and inode when the command started.
    identity: (u64, u64),
}

impl EarlierReport {
    /// The regular file at `path` now, if there is one (standard output, "-", is none; nor is
    /// a link, which the report replaces rather than writes through, nor anything else).
    pub fn at(path: &Path) -> Option<EarlierReport> {
        use std::os::unix::fs::MetadataExt;
        if path == Path::new("-") {
            return None;
        }
        let meta = path.symlink_metadata().ok()?;
        meta.is_file().then(|| EarlierReport {
            path: path.to_path_buf(),
            identity: (meta.dev(), meta.ino()),
        })
    }

    /// After a failure: says that the file at the path is the earlier run's, if it still is.
    pub fn say_after_a_failure(self) {
        use std::os::unix::fs::MetadataExt;
        let still = self
            .path
            .symlink_metadata()
            .is_ok_and(|m| (m.dev(), m.ino()) == self.identity);
        if still {
            say!(
                "tandem: {} is an earlier run's report, kept: this run wrote none",
                self.path.display()
            );
        }
    }
}

/// Fails when writing `output` would replace one of a command's inputs: the same file as one
/// of `files` (a ledger, a genesis, a profile — `replay --ledger L --json L` replaced the
/// ledger with its own report), or a file inside one of `dirs` (a store, whose files a report
/// would corrupt). Standard output ("-") replaces nothing.
pub fn check_not_an_input(output: &Path, files: &[&Path], dirs: &[&Path]) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    if output == Path::new("-") {
        return Ok(());
    }
    let written = output.metadata();
    let resolved = resolved(output);
    for input in files {
        let same_inode = |read: std::fs::Metadata| {
            written
                .as_ref()
                .is_ok_and(|w| (read.dev(), read.ino()) == (w.dev(), w.ino()))
        };
        if input.metadata().is_ok_and(same_inode)
            || resolved.is_some() && resolved == self::resolved(input)
        {
            return Err(format!(
                "{} is {}, which the command reads",
                output.display(),
                input.display()
            ));
        }
    }
    let Some(resolved) = resolved else {
        return Ok(()); // (check_writable names a missing directory)
    };
    for dir in dirs {
        // A store not made yet too: `run --store S --json S` ran the whole ledger into the new
        // store and then failed, S a directory.
        if let Some(dir) = self::resolved(dir)
            && resolved.starts_with(&dir)
        {
            return Err(format!(
                "{} is inside the store {}, which the command reads",
                output.display(),
                dir.display()
            ));
        }
    }
    Ok(())
}

/// Fails when the suite's `--json` would take the place of a file the suite writes in its
/// `--out` directory beside `bench.json`: its profile (a `.toml`) or a plot. The report went
/// over the profile it had just written, which `tandem plan` then refused (a black-box test of
/// paths, stop 73); `bench.json` itself gets the same bytes and is allowed.
pub fn check_not_a_bench_output(json: &Path, out: &Path) -> Result<(), String> {
    if json == Path::new("-") {
        return Ok(());
    }
    let absolute = |p: &Path| std::path::absolute(p).ok();
    let (Some(json_at), Some(out_at)) = (
        resolved(json).or_else(|| absolute(json)),
        resolved(out).or_else(|| absolute(out)),
    ) else {
        return Ok(());
    };
    let name = json_at.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let what = if name.ends_with(".toml") {
        "the hardware profile"
    } else if tandem_bench::suite::plots::PLOTS.contains(&name) {
        "a plot"
    } else {
        return Ok(());
    };
    if json_at.parent() == Some(out_at.as_path()) {
        return Err(format!(
            "{} is where the bench writes {what} in --out {}: name another file (or \
             bench.json, which holds the same report)",
            json.display(),
            out.display()
        ));
    }
    Ok(())
}

/// Where `path` is, resolved whole where it exists — a link's target, which a report replaces
/// (`files::replace`): a link into a store named the store's superblock, unseen — else its
/// directory resolved (the file itself may not exist yet); `None` where the directory does not
/// exist.
fn resolved(path: &Path) -> Option<std::path::PathBuf> {
    if let Ok(whole) = path.canonicalize() {
        return Some(whole);
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(parent.canonicalize().ok()?.join(path.file_name()?))
}

/// A progress bar of `len` steps drawn with `template` (indicatif's), hidden when `quiet`
/// (JSON on standard output).
pub fn progress_bar(quiet: bool, len: u64, template: &str) -> Result<ProgressBar, String> {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        shown(ProgressBar::new(len))
    };
    bar.set_style(
        ProgressStyle::with_template(template)
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
    );
    Ok(bar)
}

/// Whether `path` is `/dev/null` (the device, by any name): what is written there mixes with
/// nothing.
pub fn is_the_null_device(path: &Path) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    match (std::fs::metadata(path), std::fs::metadata("/dev/null")) {
        (Ok(a), Ok(null)) => a.file_type().is_char_device() && a.rdev() == null.rdev(),
        _ => false,
    }
}

/// The bars drawn on standard error ([`progress_bar`], [`spinner`]): what [`beside_the_bars`]
/// clears for a line.
static SHOWN: std::sync::Mutex<Vec<indicatif::WeakProgressBar>> = std::sync::Mutex::new(Vec::new());

/// `bar`, listed among those [`beside_the_bars`] clears.
fn shown(bar: ProgressBar) -> ProgressBar {
    let mut shown = SHOWN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    shown.retain(|weak| weak.upgrade().is_some());
    shown.push(bar.downgrade());
    bar
}

/// Runs `write` (a line on standard error: `say!`, the library's log lines) with the bar being
/// drawn cleared and drawn again after: on a terminal a line written beside a bar began where
/// the bar ended (`cluster`'s `tandem: ALERT: …` after `slot 8/30`; a black-box test of the
/// standard streams, stop 74).
pub fn beside_the_bars(write: impl FnOnce()) {
    thread_local! {
        /// Set while this thread writes beside a bar: the bar's lock is held (indicatif's
        /// `suspend`), and a line written meanwhile — a log line of the write's own — must not
        /// ask for it again (that waited for ever: `replay --store` dropping a `run`'s VED log,
        /// found in review, stop 74).
        static BESIDE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if BESIDE.with(std::cell::Cell::get) {
        return write();
    }
    let drawn = {
        let shown = SHOWN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (shown.iter())
            .filter_map(indicatif::WeakProgressBar::upgrade)
            .find(|bar| !bar.is_finished() && !bar.is_hidden())
    };
    match drawn {
        Some(bar) => bar.suspend(|| {
            BESIDE.with(|beside| beside.set(true));
            // Cleared however `write` ends (a panic unwinding through it too).
            struct Clear;
            impl Drop for Clear {
                fn drop(&mut self) {
                    BESIDE.with(|beside| beside.set(false));
                }
            }
            let _clear = Clear;
            write()
        }),
        None => write(),
    }
}

/// A spinner drawn with `template`, hidden when `quiet`.
pub fn spinner(quiet: bool, template: &str) -> Result<ProgressBar, String> {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        shown(ProgressBar::new_spinner())
    };
    bar.set_style(ProgressStyle::with_template(template).map_err(|e| e.to_string())?);
    Ok(bar)
}

/// Ticks `bar` every `every` on a thread of its own (built by `ticker`) until the bar is
/// finished or dropped, as indicatif's `enable_steady_tick` does — whose thread, where it
/// could not start (a process at its thread limit), panicked: `tandem bench` ended there
/// (stop 73's resource-limit test). Here the bar then moves only as it is updated, saying so.
pub fn steady_tick(bar: &ProgressBar, every: std::time::Duration, ticker: std::thread::Builder) {
    let weak = bar.downgrade();
    let ticking = ticker.spawn(move || {
        while let Some(bar) = weak.upgrade() {
            if bar.is_finished() {
                break;
            }
            bar.tick();
            drop(bar);
            std::thread::sleep(every);
        }
    });
    if let Err(e) = ticking {
        say!(
            "tandem: warning: the progress display ticks only as it moves: its thread cannot \
             be started: {e}"
        );
    }
}

/// The thread that ticks a progress display ([`steady_tick`]).
pub fn ticker_thread() -> std::thread::Builder {
    std::thread::Builder::new().name("tandem-ticker".into())
}

/// The variable that sets how much the library logs to standard error: `error`, `warn` (the
/// default), `info`, `debug`, `trace` or `off`.
pub const LOG_ENV: &str = "TANDEM_LOG";

/// Where the library's log lines go in the `tandem` command: standard error, `tandem: ` first —
/// among them SPEC §6's alert line (`tandem: ALERT: …`), a stage that stopped, a slash dropped.
/// tandem's own lines at the level of [`LOG_ENV`]; the libraries' under it (wgpu's), errors only.
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        tandem_engine::logging::passes(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        // A signal is stopping the process: an engine finding its removed store is no news.
        if !self.enabled(record.metadata()) || crate::interrupt::stopping() {
            return;
        }
        match record.level() {
            log::Level::Error => say!("tandem: {}", record.args()),
            level => say!(
                "tandem: {}: {}",
                level.as_str().to_ascii_lowercase(),
                record.args()
            ),
        }
    }

    fn flush(&self) {}
}

/// Installs [`StderrLog`] at the level [`LOG_ENV`] names (an unknown one is an error naming it).
pub fn install_logger() -> Result<(), String> {
    static LOGGER: StderrLog = StderrLog;
    let level = match std::env::var(LOG_ENV) {
        Ok(text) => text.parse::<log::LevelFilter>().map_err(|_| {
            format!("{LOG_ENV}={text}: not one of off, error, warn, info, debug, trace")
        })?,
        Err(_) => log::LevelFilter::Warn,
    };
    log::set_logger(&LOGGER).map_err(|e| e.to_string())?;
    log::set_max_level(level);
    Ok(())
}

/// `<name>-<uid>` in `parent`, made with mode 0700 if missing; refused when it is not a
/// directory this user owns and alone may enter (a name another user could make, or link
/// elsewhere, first).
pub(crate) fn private_dir_in(parent: &Path, name: &str) -> Result<PathBuf, String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    // SAFETY: geteuid reads the process's effective user id; it cannot fail.
    let uid = unsafe { libc::geteuid() };
    let dir = parent.join(format!("{name}-{uid}"));
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    }
    let meta = std::fs::symlink_metadata(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{}: must be a directory of this user's alone (mode 0700), and is not: remove it",
            dir.display()
        ));
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A terminal that takes everything and shows nothing: a bar drawn on it is not hidden.
    #[derive(Debug)]
    struct Blind;

    impl indicatif::TermLike for Blind {
        fn width(&self) -> u16 {
            80
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, _: &str) -> std::io::Result<()> {
            Ok(())
        }
        fn write_str(&self, _: &str) -> std::io::Result<()> {
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_line_written_beside_a_bar_may_write_a_line_of_its_own() {
        // The write holds the bar's lock (indicatif's `suspend`); a line it writes (a log line
        // of its own, or `say!` inside an outer suspend, as `replay --store` had) asked for
        // the lock again and waited for ever (found in review, stop 74).
        let target = indicatif::ProgressDrawTarget::term_like(Box::new(Blind));
        let bar = shown(ProgressBar::with_draw_target(Some(10), target));
        assert!(!bar.is_hidden());
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            beside_the_bars(|| beside_the_bars(|| ()));
            let _ = done.send(());
        });
        let waited = finished.recv_timeout(std::time::Duration::from_secs(30));
        assert!(waited.is_ok(), "a line beside a line waited for ever");
        drop(bar);
    }

    #[test]
    #[cfg(target_pointer_width = "64")] // testing::unstartable_thread
    fn a_ticker_that_cannot_start_leaves_the_bar_without_one() {
        // The start fails, as at a thread limit (indicatif's own ticker panicked there).
        let unstartable = tandem_kernels::testing::unstartable_thread();
        let bar = ProgressBar::hidden();
        steady_tick(&bar, std::time::Duration::from_millis(1), unstartable);
        bar.inc(1);
        bar.finish();
        // And one that starts ends with its bar.
        let bar = ProgressBar::hidden();
        steady_tick(&bar, std::time::Duration::from_millis(1), ticker_thread());
        bar.finish();
    }
}
